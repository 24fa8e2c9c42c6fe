//! `Server::authorize` end to end, then `approve` / `deny` / the redirect error: never a
//! panic; a refusal before the client and redirect URI are verified never redirects
//! (AZ-02, AZ-03); every redirect goes to a registered URI with a well-formed query
//! holding `error` or `code`, the exact `state` and `iss` (AZ-04, ER-04, ST-01, IS-01);
//! descriptions keep to ER-02; no code is stored before approval.
#![no_main]

use grantflow_fuzz::*;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: (FuzzRequest, u8)| {
    let (request, decision) = input;
    let world = World::new();
    request.advance_clock(&world);
    check_authorize(&world, &request.to_http(), decision);
});
