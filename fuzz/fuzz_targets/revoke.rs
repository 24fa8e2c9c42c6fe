//! `Server::revoke` end to end: never a panic or 5xx, 200 with an empty body or an RFC
//! error, no secret echoed, never a token stored (RV-01..RV-07).
#![no_main]

use grantflow_fuzz::*;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|request: FuzzRequest| {
    let world = World::new();
    request.advance_clock(&world);
    let before = world.counts();
    let response =
        block_on(world.server.revoke(&request.to_http())).expect("memory stores never fail");
    let body = assert_token_style(&response);
    if response.status.as_u16() == 200 {
        assert!(body.is_null(), "revocation answers with an empty body");
    }
    assert_no_secret(&response);
    assert_nothing_stored(before, world.counts());
});
