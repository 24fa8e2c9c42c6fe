//! The device grant's inputs end to end: `Server::device_authorization` (never a panic or
//! 5xx, one request stored exactly when it answers 200, RFC error JSON otherwise) and
//! `Server::device_verification` with any typed user code and limiter key (a pending
//! request only for the live user code, nothing stored, DG-06, DG-07).
#![no_main]

use grantflow::DeviceVerificationError;
use grantflow_fuzz::*;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: (FuzzRequest, String, String)| {
    let (request, user_code, limiter_key) = input;
    let world = World::new();
    request.advance_clock(&world);
    let before = world.counts();
    let response = block_on(world.server.device_authorization(&request.to_http()))
        .expect("memory stores never fail");
    let body = assert_token_style(&response);
    let after = world.counts();
    if response.status.as_u16() == 200 {
        assert_eq!(after.2, before.2 + 1, "one request stored");
        assert_eq!((after.0, after.1), (before.0, before.1));
        let code = body["device_code"].as_str().expect("a device code");
        assert!(!SECRETS.contains(&code));
        assert!(body["user_code"].is_string() && body["interval"].is_u64());
    } else {
        assert_nothing_stored(before, after);
    }

    let before = world.counts();
    match block_on(world.server.device_verification(&user_code, &limiter_key)) {
        Ok(pending) => {
            let format = world
                .server
                .user_code_format()
                .expect("the device grant is on");
            let normalized = format.normalize(&user_code);
            // Only the live user code, or the one just issued, finds a request (DG-06).
            let issued = format.normalize(body["user_code"].as_str().unwrap_or(""));
            assert!(
                normalized == USER_CODE || (!issued.is_empty() && normalized == issued),
                "{user_code:?} found {}",
                pending.user_code()
            );
            let _ = block_on(pending.deny());
        }
        Err(
            DeviceVerificationError::InvalidUserCode | DeviceVerificationError::Throttled { .. },
        ) => {}
        Err(other) => panic!("unexpected verification error: {other}"),
    }
    assert_nothing_stored(before, world.counts());
});
