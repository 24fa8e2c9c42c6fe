//! `Server::authorize` end to end, then `approve` / `deny` / the redirect error: never a
//! panic; a refusal before the client and redirect URI are verified never redirects
//! (AZ-02, AZ-03); every redirect goes to a registered URI with a well-formed query
//! holding `error` or `code`, the exact `state` and `iss` (AZ-04, ER-04, ST-01, IS-01);
//! descriptions keep to ER-02; no code is stored before approval.
#![no_main]

use grantflow::{AuthorizeError, HttpResponse, Scope, Subject};
use grantflow_fuzz::*;
use libfuzzer_sys::fuzz_target;

/// The sent `state`, exactly as the endpoint decoded it (empty counts as absent).
fn sent_state(request: &grantflow::HttpRequest) -> Option<String> {
    let raw: &[u8] = match request.method() {
        grantflow::Method::Post => request.body(),
        _ => request.query().unwrap_or("").as_bytes(),
    };
    url::form_urlencoded::parse(raw)
        .find(|(n, _)| n == "state")
        .map(|(_, v)| v.into_owned())
        .filter(|v| !v.is_empty())
}

fn assert_redirect(response: &HttpResponse, state: Option<&str>, success: bool) {
    let status = response.status.as_u16();
    assert!(status == 302 || status == 303, "{status}");
    assert!(response.body.is_empty());
    let location = response.header("location").expect("a Location");
    let registered = [
        CONF_REDIRECT,
        SPA_REDIRECT,
        "http://127.0.0.1",
        "http://localhost",
        "http://[::1]",
    ];
    assert!(
        registered.iter().any(|r| location.starts_with(r)),
        "{location}"
    );
    assert!(!location.contains('#'), "{location}");
    assert!(
        location.bytes().all(|b| b > b' ' && b < 0x7f),
        "{location:?}"
    );
    let url = url::Url::parse(location).expect("an absolute URL");
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .map(|(n, v)| (n.into_owned(), v.into_owned()))
        .collect();
    let get = |name: &str| {
        let found: Vec<&String> = pairs
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v)
            .collect();
        assert!(found.len() <= 1, "{name} repeated in {location}");
        found.first().map(|v| v.as_str())
    };
    assert_eq!(get("state"), state, "state not echoed exactly");
    assert_eq!(get("iss"), Some(ISSUER));
    if success {
        assert!(get("code").is_some() && get("error").is_none());
    } else {
        let error = get("error").expect("an error");
        assert!(!error.is_empty() && is_er02(error));
        if let Some(description) = get("error_description") {
            assert!(is_er02(description), "{description:?}");
            assert!(!reflects_markup(description), "{description:?}");
        }
        assert!(get("code").is_none());
    }
    for secret in SECRETS {
        // `state` is the client's own value; anything else must not echo a secret.
        if state.is_none_or(|s| !s.contains(secret)) {
            assert!(!location.contains(secret), "{location}");
        }
    }
}

fuzz_target!(|input: (FuzzRequest, u8)| {
    let (request, decision) = input;
    let world = World::new();
    request.advance_clock(&world);
    let http = request.to_http();
    let state = sent_state(&http);
    let before = world.counts();
    match block_on(world.server.authorize(&http)) {
        Ok(pending) => {
            assert_eq!(world.counts(), before, "validation stores nothing");
            assert!(state.as_deref() == pending.state());
            let pending = if decision & 1 == 1 {
                pending.see_other()
            } else {
                pending
            };
            match decision >> 1 & 3 {
                0 => assert_redirect(&pending.deny(), state.as_deref(), false),
                1 => {
                    let granted = pending.requested_scope().clone();
                    let response =
                        block_on(pending.approve(&world.server, Subject::new("alice"), granted))
                            .expect("memory stores never fail");
                    assert_redirect(&response, state.as_deref(), true);
                    assert_eq!(world.counts().1, before.1 + 1, "one code stored");
                }
                _ => {
                    let granted = Scope::parse("admin").expect("scope");
                    let response =
                        block_on(pending.approve(&world.server, Subject::new("alice"), granted))
                            .expect("memory stores never fail");
                    // Nothing requested was granted: access_denied, no code.
                    assert_redirect(&response, state.as_deref(), false);
                    assert_eq!(world.counts(), before);
                }
            }
        }
        Err(AuthorizeError::Rejected(error)) => {
            assert!(
                error
                    .description()
                    .is_none_or(|d| is_er02(d) && !reflects_markup(d))
            );
            let response = error.to_response();
            assert!(response.header("location").is_none());
            assert_eq!(response.status.as_u16(), 400);
            assert_no_secret(&response);
            assert_eq!(world.counts(), before);
        }
        Err(AuthorizeError::Redirect(redirect)) => {
            let redirect = if decision & 1 == 1 {
                redirect.see_other()
            } else {
                redirect
            };
            assert_redirect(&redirect.into_response(), state.as_deref(), false);
            assert_eq!(world.counts(), before);
        }
        Err(other) => panic!("memory stores never fail: {other}"),
    }
});
