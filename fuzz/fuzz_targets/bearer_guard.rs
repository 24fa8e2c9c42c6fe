//! The bearer guard end to end (BT-01..BT-09): never a panic; access granted only for a
//! live access token carrying the required scope; every refusal a 400 / 401 / 403 with one
//! well-formed `WWW-Authenticate: Bearer` challenge; nothing stored.
#![no_main]

use grantflow::Scope;
use grantflow_fuzz::*;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: (FuzzRequest, u8)| {
    let (request, options) = input;
    let world = World::new();
    request.advance_clock(&world);
    let mut guard = world
        .server
        .bearer_guard()
        .form_body_tokens(options & 1 == 1);
    if options & 2 == 2 {
        guard = guard.audience(RS_AUDIENCE);
    }
    let required = match options >> 2 & 3 {
        0 => Scope::empty(),
        1 => Scope::parse("read").expect("scope"),
        2 => Scope::parse("read write").expect("scope"),
        _ => Scope::parse("admin").expect("scope"),
    };
    let before = world.counts();
    let http = request.to_http();
    match block_on(guard.check(&http, &required)).expect("memory stores never fail") {
        Ok(info) => {
            assert!(required.is_subset_of(&info.scope));
            let header = http.header("authorization").unwrap_or("");
            let body = String::from_utf8_lossy(http.body());
            assert!(
                [ACCESS_TOKEN, AUDIENCE_TOKEN]
                    .iter()
                    .any(|t| header.contains(t) || body.contains(t)),
                "access without a live token"
            );
        }
        Err(response) => {
            let status = response.status.as_u16();
            assert!(matches!(status, 400 | 401 | 403), "{status}");
            assert!(response.body.is_empty());
            let challenges: Vec<_> = response
                .headers
                .iter()
                .filter(|h| h.name == "www-authenticate")
                .collect();
            assert_eq!(challenges.len(), 1);
            assert!(challenges[0].value.starts_with("Bearer realm=\""));
            assert_challenge(&challenges[0].value);
            assert_no_secret(&response);
        }
    }
    assert_nothing_stored(before, world.counts());
});
