//! `Server::introspect` end to end: never a panic or 5xx; an active answer only for a
//! live token and an authorised caller, `{"active":false}` otherwise, no secret echoed,
//! nothing stored (IN-01..IN-05).
#![no_main]

use grantflow_fuzz::*;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|request: FuzzRequest| {
    let world = World::new();
    request.advance_clock(&world);
    let before = world.counts();
    let response =
        block_on(world.server.introspect(&request.to_http())).expect("memory stores never fail");
    let status = response.status.as_u16();
    let body = assert_token_style(&response);
    assert_no_secret(&response);
    if status == 200 {
        let object = body.as_object().expect("an object");
        match object.get("active") {
            Some(serde_json::Value::Bool(false)) => assert_eq!(object.len(), 1, "{body}"),
            Some(serde_json::Value::Bool(true)) => {
                assert!(object["client_id"].is_string() && object["exp"].is_u64());
            }
            other => panic!("active is {other:?}"),
        }
    } else {
        assert!(matches!(status, 400 | 401 | 403 | 405 | 429), "{status}");
    }
    assert_nothing_stored(before, world.counts());
});
