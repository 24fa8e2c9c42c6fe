//! `Server::introspect` end to end: never a panic or 5xx; an active answer only for a
//! live token and an authorised caller, `{"active":false}` otherwise, no secret echoed,
//! nothing stored (IN-01..IN-05).
#![no_main]

use grantflow_fuzz::*;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|request: FuzzRequest| {
    let world = World::new();
    request.advance_clock(&world);
    check_introspect(&world, &request.to_http());
});
