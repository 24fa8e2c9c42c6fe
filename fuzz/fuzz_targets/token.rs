//! `Server::token` end to end on memory stores, with live codes and refresh tokens to
//! reach every grant: never a panic or 5xx, RFC error JSON within ER-02, no secret
//! echoed, nothing stored on a refusal (TE-01..TE-12, ER-02, ER-05).
#![no_main]

use grantflow_fuzz::*;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|requests: (FuzzRequest, Option<FuzzRequest>)| {
    let world = World::new();
    for request in std::iter::once(&requests.0).chain(requests.1.as_ref()) {
        request.advance_clock(&world);
        check_token(&world, &request.to_http());
    }
});
