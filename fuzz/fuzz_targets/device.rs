//! The device grant's inputs end to end: `Server::device_authorization` (never a panic or
//! 5xx, one request stored exactly when it answers 200, RFC error JSON otherwise) and
//! `DeviceVerifier::verify` with any typed user code and limiter key (a pending
//! request only for the live user code, nothing stored, DG-06, DG-07).
#![no_main]

use grantflow_fuzz::*;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: (FuzzRequest, String, String)| {
    let (request, user_code, limiter_key) = input;
    let world = World::new();
    request.advance_clock(&world);
    let response = check_device_authorization(&world, &request.to_http());
    let issued: Option<String> = serde_json::from_slice::<serde_json::Value>(&response.body)
        .ok()
        .and_then(|body| body["user_code"].as_str().map(str::to_owned));
    check_device_verification(&world, &user_code, &limiter_key, issued.as_deref());
});
