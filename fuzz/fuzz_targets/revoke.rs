//! `Server::revoke` end to end: never a panic or 5xx, 200 with an empty body or an RFC
//! error, no secret echoed, never a token stored (RV-01..RV-07).
#![no_main]

use grantflow_fuzz::*;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|request: FuzzRequest| {
    let world = World::new();
    request.advance_clock(&world);
    check_revoke(&world, &request.to_http());
});
