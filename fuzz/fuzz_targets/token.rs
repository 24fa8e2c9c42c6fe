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
        let before = world.counts();
        let response =
            block_on(world.server.token(&request.to_http())).expect("memory stores never fail");
        let body = assert_token_style(&response);
        let after = world.counts();
        if response.status.as_u16() == 200 {
            let token = body["access_token"].as_str().expect("an access token");
            assert!(!SECRETS.contains(&token));
            let stored = block_on(grantflow::TokenStore::find(
                &*world.tokens,
                &grantflow::TokenHash::of(token),
            ));
            assert!(matches!(stored, Ok(Some(_))), "the issued token is stored");
            assert!(after.1 <= before.1 && after.2 <= before.2);
        } else {
            assert_nothing_stored(before, after);
        }
    }
});
