//! The bearer guard end to end (BT-01..BT-09): never a panic; access granted only for a
//! live access token carrying the required scope; every refusal a 400 / 401 / 403 with one
//! well-formed `WWW-Authenticate: Bearer` challenge; nothing stored.
#![no_main]

use grantflow_fuzz::*;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: (FuzzRequest, u8)| {
    let (request, options) = input;
    let world = World::new();
    request.advance_clock(&world);
    check_bearer(&world, &request.to_http(), options);
});
