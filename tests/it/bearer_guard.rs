//! The bearer-token guard for resource servers (RFC 6750): BT-01..BT-09.

use std::collections::HashMap;
use std::time::Duration;

use crate::support::resource::*;
use grantflow::guard::{BearerGuard, GuardRejection, TokenInfo};
use grantflow::{HttpRequest, HttpResponse, Method, Scope};

const REALM: &str = "example";

fn guard(h: &Harness) -> BearerGuard {
    h.server.bearer_guard().realm(REALM).unwrap()
}

fn scope(text: &str) -> Scope {
    Scope::parse(text).unwrap()
}

fn check(
    guard: &BearerGuard,
    request: &HttpRequest,
    required: &str,
) -> Result<TokenInfo, HttpResponse> {
    block_on(guard.check(request, &scope(required))).map_err(|rejection| match rejection {
        GuardRejection::Refused(response) => response,
        fault => panic!("no storage fault: {fault}"),
    })
}

/// The guard's refusal of `request` for `required`, which must have `status`.
#[track_caller]
fn refused(
    guard: &BearerGuard,
    request: &HttpRequest,
    required: &str,
    status: u16,
) -> HttpResponse {
    let denied = check(guard, request, required).unwrap_err();
    assert_eq!(denied.status.as_u16(), status, "{denied:?}");
    denied
}

fn challenge(response: &HttpResponse) -> &str {
    let all = headers(response, "www-authenticate");
    assert_eq!(all.len(), 1, "exactly one challenge");
    all[0]
}

/// Parses `Bearer a="b", c="d"` into (scheme, attributes), refusing repeats (BT-08).
fn parse_challenge(value: &str) -> (String, HashMap<String, String>) {
    let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
    let mut attributes = HashMap::new();
    let mut rest = rest.trim();
    while !rest.is_empty() {
        let (name, after) = rest.split_once("=\"").expect("name=\"value\"");
        let end = after.find('"').expect("closing quote");
        let value = &after[..end];
        assert!(
            is_error_text(value),
            "attribute value {value:?} outside the ER-02 set"
        );
        assert!(
            attributes
                .insert(name.trim().to_owned(), value.to_owned())
                .is_none(),
            "attribute {name} repeated"
        );
        rest = after[end + 1..].trim_start_matches(',').trim();
    }
    (scheme.to_owned(), attributes)
}

fn invalid_token_challenge() -> String {
    format!(
        "Bearer realm=\"{REALM}\", error=\"invalid_token\", error_description=\"the access token is not active\""
    )
}

#[test]
fn bt_01_bearer_scheme_is_case_insensitive() {
    let h = Harness::new();
    let token = h.cc_token(BACKEND, "read");
    for scheme in ["Bearer", "bearer", "BEARER", "bEaReR"] {
        let request =
            HttpRequest::new(Method::Get).with_header("Authorization", format!("{scheme} {token}"));
        let info = check(&guard(&h), &request, "read").expect("accepted");
        assert_eq!(info.client_id.as_str(), "backend");
    }
}

#[test]
fn bt_01_token_info_describes_the_token_without_its_value() {
    let h = Harness::new();
    let (access, _) = h.user_tokens(BACKEND, "sub=alice&scope=read%20write");
    let info = check(&guard(&h), &bearer(&access), "write").expect("accepted");
    assert_eq!(info.client_id.as_str(), "backend");
    assert_eq!(info.subject.as_ref().map(|s| s.as_str()), Some("alice"));
    assert_eq!(info.scope, scope("read write"));
    assert_eq!(info.issued_at, h.now());
    assert_eq!(info.expires_at, h.now() + TTL);
    assert!(info.audience.is_empty());
    assert!(!format!("{info:?}").contains(&access));
}

#[test]
fn bt_01_malformed_token_is_invalid_token() {
    let h = Harness::new();
    for bad in ["a\"b", "==", "a,b"] {
        let denied = refused(&guard(&h), &bearer(bad), "read", 401);
        assert_eq!(challenge(&denied), invalid_token_challenge());
    }
    // A header value that is not visible ASCII is no token at all but a malformed
    // request (RFC 9110 §5.5 obs-text): 400 `invalid_request`.
    let denied = refused(&guard(&h), &bearer("caf\u{e9}"), "read", 400);
    assert_eq!(
        parse_challenge(challenge(&denied)).1["error"],
        "invalid_request"
    );
}

#[test]
fn bt_02_form_body_token_is_ignored_by_default() {
    let h = Harness::new();
    let token = h.cc_token(BACKEND, "read");
    let request = form().with_body(format!("access_token={token}"));
    let denied = refused(&guard(&h), &request, "read", 401);
    assert_eq!(challenge(&denied), format!("Bearer realm=\"{REALM}\""));
}

#[test]
fn bt_02_application_forms_the_parser_would_refuse_carry_no_token() {
    let h = Harness::new();
    let token = h.cc_token(BACKEND, "read");
    let guard = guard(&h).form_body_tokens(true);
    // The application's own form repeats a field: not the guard's business, the header
    // token still works.
    let request = form()
        .with_header("authorization", format!("Bearer {token}"))
        .with_body("tag=a&tag=b");
    assert!(check(&guard, &request, "read").is_ok());
    // A repeated access_token is the client's mistake: BT-04.
    let twice = form().with_body(format!("access_token={token}&access_token={token}"));
    refused(&guard, &twice, "read", 400);
}

#[test]
fn bt_02_form_body_token_accepted_when_enabled() {
    let h = Harness::new();
    let token = h.cc_token(BACKEND, "read");
    let guard = guard(&h).form_body_tokens(true);
    let request = form().with_body(format!("access_token={token}&other=1"));
    assert!(check(&guard, &request, "read").is_ok());
    // Never on GET, and only in a form-encoded body.
    let get = HttpRequest::new(Method::Get)
        .with_header("content-type", FORM)
        .with_body(format!("access_token={token}"));
    refused(&guard, &get, "read", 401);
    let json_body = HttpRequest::new(Method::Post)
        .with_header("content-type", "application/json")
        .with_body(format!("access_token={token}"));
    refused(&guard, &json_body, "read", 401);
    let multipart = HttpRequest::new(Method::Post)
        .with_header("content-type", "multipart/form-data; boundary=x")
        .with_body(format!("access_token={token}"));
    refused(&guard, &multipart, "read", 401);
}

#[test]
fn bt_03_query_token_is_ignored() {
    let h = Harness::new();
    let token = h.cc_token(BACKEND, "read");
    let request = HttpRequest::new(Method::Get).with_query(format!("access_token={token}"));
    let denied = refused(&guard(&h), &request, "read", 401);
    assert_eq!(challenge(&denied), format!("Bearer realm=\"{REALM}\""));
    assert!(denied.body.is_empty());
    // Even with form-body tokens enabled.
    let denied = check(&guard(&h).form_body_tokens(true), &request, "read").unwrap_err();
    assert_eq!(challenge(&denied), format!("Bearer realm=\"{REALM}\""));
}

#[test]
fn bt_04_token_sent_two_ways_is_invalid_request() {
    let h = Harness::new();
    let token = h.cc_token(BACKEND, "read");
    let guard = guard(&h).form_body_tokens(true);
    let request = form()
        .with_header("authorization", format!("Bearer {token}"))
        .with_body(format!("access_token={token}"));
    let denied = refused(&guard, &request, "read", 400);
    let (scheme, attributes) = parse_challenge(challenge(&denied));
    assert_eq!(scheme, "Bearer");
    assert_eq!(attributes["error"], "invalid_request");
    assert_eq!(attributes["realm"], REALM);
}

#[test]
fn bt_04_repeated_authorization_header_is_invalid_request() {
    let h = Harness::new();
    let token = h.cc_token(BACKEND, "read");
    let request = bearer(&token).with_header("authorization", format!("Bearer {token}"));
    let denied = refused(&guard(&h), &request, "read", 400);
    assert_eq!(
        parse_challenge(challenge(&denied)).1["error"],
        "invalid_request"
    );
}

#[test]
fn bt_04_an_unreadable_authorization_header_is_invalid_request() {
    let h = Harness::new();
    let token = h.cc_token(BACKEND, "read");
    let unreadable: &[u8] = b"Bearer \xff\xfe";
    // A live token plus an unreadable copy: two ways, whatever the second one says.
    let twice = bearer(&token).with_header_bytes("authorization", unreadable);
    // An unreadable header alone: malformed, not "no credentials".
    let alone = HttpRequest::new(Method::Get).with_header_bytes("authorization", unreadable);
    // The same through the `http` conversion the axum and hyper adapters use.
    let (parts, ()) = http::Request::get("/api")
        .header("authorization", format!("Bearer {token}"))
        .header(
            "authorization",
            http::HeaderValue::from_bytes(unreadable).unwrap(),
        )
        .body(())
        .unwrap()
        .into_parts();
    let converted = HttpRequest::from_http_parts(&parts, Vec::new());
    for (request, description) in [
        (&twice, "repeated Authorization header"),
        (&alone, "unreadable Authorization header"),
        (&converted, "repeated Authorization header"),
    ] {
        let denied = refused(&guard(&h), request, "read", 400);
        let (_, attributes) = parse_challenge(challenge(&denied));
        assert_eq!(attributes["error"], "invalid_request");
        assert_eq!(attributes["error_description"], description);
    }
}

#[test]
fn bt_04_empty_bearer_credential_is_invalid_request() {
    let h = Harness::new();
    let request = HttpRequest::new(Method::Get).with_header("authorization", "Bearer ");
    refused(&guard(&h), &request, "read", 400);
}

#[test]
fn bt_05_no_credentials_is_401_without_error_attribute() {
    let h = Harness::new();
    let denied = refused(&guard(&h), &HttpRequest::new(Method::Get), "read", 401);
    assert_eq!(challenge(&denied), "Bearer realm=\"example\"");
    assert!(denied.body.is_empty());
}

#[test]
fn bt_05_other_scheme_counts_as_no_credentials() {
    let h = Harness::new();
    let request =
        HttpRequest::new(Method::Get).with_header("authorization", basic_header("a", "b"));
    let denied = refused(&guard(&h), &request, "read", 401);
    assert_eq!(challenge(&denied), "Bearer realm=\"example\"");
}

#[test]
fn bt_05_default_realm_is_the_server_realm() {
    let h = Harness::new();
    let denied = check(
        &h.server.bearer_guard(),
        &HttpRequest::new(Method::Get),
        "read",
    )
    .unwrap_err();
    assert_eq!(
        challenge(&denied),
        "Bearer realm=\"https://as.example.com\""
    );
    assert!(h.server.bearer_guard().realm("bad\"realm").is_err());
}

#[test]
fn bt_06_expired_token_is_invalid_token() {
    let h = Harness::new();
    let token = h.cc_token(BACKEND, "read");
    h.advance(TTL - Duration::from_secs(1));
    assert!(check(&guard(&h), &bearer(&token), "read").is_ok());
    h.advance(Duration::from_secs(1));
    let denied = refused(&guard(&h), &bearer(&token), "read", 401);
    assert_eq!(challenge(&denied), invalid_token_challenge());
}

#[test]
fn bt_06_in_03_a_token_issued_in_the_future_is_invalid_beyond_the_clock_skew() {
    // Another instance whose clock is a few seconds ahead issued it: still accepted.
    let h = Harness::new();
    let token = h.cc_token(BACKEND, "read");
    h.clock.set(h.now() - Duration::from_secs(5));
    assert!(check(&guard(&h), &bearer(&token), "read").is_ok());
    // A clock set back by minutes: the token is not yet valid.
    h.clock.set(h.now() - Duration::from_secs(300));
    let denied = check(&guard(&h), &bearer(&token), "read").unwrap_err();
    assert_eq!(challenge(&denied), invalid_token_challenge());
}

#[test]
fn bt_06_revoked_unknown_and_refresh_tokens_are_invalid_token() {
    let h = Harness::new();
    let (access, refresh) = h.user_tokens(BACKEND, "sub=alice");
    h.revoke(&basic(BACKEND).with_body(format!("token={access}")));
    for token in [access.as_str(), refresh.as_str(), "unknown-token"] {
        let denied = refused(&guard(&h), &bearer(token), "read", 401);
        // The same description whatever the reason (ER-05).
        assert_eq!(challenge(&denied), invalid_token_challenge());
    }
}

#[test]
fn bt_07_missing_scope_is_403_insufficient_scope() {
    let h = Harness::new();
    let token = h.cc_token(BACKEND, "read");
    let denied = refused(&guard(&h), &bearer(&token), "write", 403);
    assert_eq!(
        challenge(&denied),
        "Bearer realm=\"example\", error=\"insufficient_scope\", scope=\"write\""
    );
    // Scope tokens are case-sensitive, and every required token must be granted.
    refused(&guard(&h), &bearer(&token), "READ", 403);
    let denied = check(&guard(&h), &bearer(&token), "write read").unwrap_err();
    assert_eq!(parse_challenge(challenge(&denied)).1["scope"], "read write");
    // An empty requirement needs only a valid token.
    assert!(check(&guard(&h), &bearer(&token), "").is_ok());
}

#[test]
fn bt_08_challenge_attributes_are_unique_and_clean() {
    let h = Harness::new();
    let token = h.cc_token(BACKEND, "read");
    let guard = guard(&h).form_body_tokens(true);
    let cases = [
        HttpRequest::new(Method::Get),
        bearer("unknown"),
        bearer("a\"b"),
        bearer(&token),
        bearer(&token).with_header("authorization", "Bearer x"),
        form()
            .with_header("authorization", format!("Bearer {token}"))
            .with_body(format!("access_token={token}")),
        form().with_body("access_token=a&access_token=b"),
    ];
    for request in &cases {
        let denied = check(&guard, request, "write admin:all").unwrap_err();
        let (scheme, attributes) = parse_challenge(challenge(&denied));
        assert_eq!(scheme, "Bearer");
        assert_eq!(attributes["realm"], REALM);
        if let Some(scope) = attributes.get("scope") {
            assert!(!scope.contains("  ") && !scope.starts_with(' ') && !scope.ends_with(' '));
        }
    }
}

#[test]
fn bt_09_token_for_another_audience_is_invalid_token() {
    let h = Harness::new();
    let (for_other, _) =
        h.user_tokens(BACKEND, &format!("aud={}", enc("https://other-rs.example")));
    let (for_api, _) = h.user_tokens(BACKEND, &format!("aud={}", enc(API)));
    let (unrestricted, _) = h.user_tokens(BACKEND, "sub=alice");
    let api_guard = guard(&h).resource(API).expect("resource identifier");
    let denied = refused(&api_guard, &bearer(&for_other), "read", 401);
    assert_eq!(challenge(&denied), invalid_token_challenge());
    let info = check(&api_guard, &bearer(&for_api), "read").expect("own audience");
    assert_eq!(info.audience.iter().collect::<Vec<_>>(), [API]);
    assert!(check(&api_guard, &bearer(&unrestricted), "read").is_ok());
    // A guard that names no audience refuses audience-restricted tokens.
    refused(&guard(&h), &bearer(&for_api), "read", 401);
}

#[test]
fn bt_09_expiry_and_scope_are_checked_on_every_request() {
    let h = Harness::new();
    let token = h.cc_token(BACKEND, "read");
    let guard = guard(&h);
    assert!(check(&guard, &bearer(&token), "read").is_ok());
    assert!(check(&guard, &bearer(&token), "read").is_ok());
    h.revoke(&basic(BACKEND).with_body(format!("token={token}")));
    refused(&guard, &bearer(&token), "read", 401);
}

#[test]
fn bt_01_guard_and_endpoint_futures_are_send() {
    fn assert_send<T: Send>(_: &T) {}
    fn assert_send_sync<T: Send + Sync + Clone + std::fmt::Debug>() {}
    assert_send_sync::<BearerGuard>();
    assert_send_sync::<TokenInfo>();
    let h = Harness::new();
    let guard = guard(&h);
    let request = HttpRequest::new(Method::Get);
    let required = scope("read");
    let check = guard.check(&request, &required);
    assert_send(&check);
    let revoke = h.server.revoke(&request);
    assert_send(&revoke);
    let introspect = h.server.introspect(&request);
    assert_send(&introspect);
}
