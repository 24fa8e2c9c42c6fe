//! Error response format across every endpoint of this branch (token, revocation,
//! introspection, bearer guard): ER-01, ER-02, ER-03, ER-05. (ER-04 concerns the
//! authorization endpoint's redirects.)

use std::sync::Arc;

use crate::support::faults::{DETAIL, FailingClients, FailingTokens, causes};
use crate::support::resource::*;
use grantflow::guard::GuardRejection;
use grantflow::{Error, HttpRequest, HttpResponse, Method, Scope, Server, StorageError};
use serde_json::Value;

/// The error codes RFC 6749 §5.2 defines for the token endpoint, plus the RFC 7009
/// `unsupported_token_type` for revocation and `server_error`/`temporarily_unavailable`.
const TOKEN_STYLE_CODES: [&str; 9] = [
    "invalid_request",
    "invalid_client",
    "invalid_grant",
    "unauthorized_client",
    "unsupported_grant_type",
    "invalid_scope",
    "unsupported_token_type",
    "server_error",
    "temporarily_unavailable",
];

/// The RFC 6750 §3.1 codes.
const BEARER_CODES: [&str; 3] = ["invalid_request", "invalid_token", "insufficient_scope"];

#[derive(Clone, Copy, Debug)]
enum Endpoint {
    Token,
    Revoke,
    Introspect,
}

fn call(h: &Harness, endpoint: Endpoint, request: &HttpRequest) -> HttpResponse {
    match endpoint {
        Endpoint::Token => h.token(request),
        Endpoint::Revoke => h.revoke(request),
        Endpoint::Introspect => h.introspect(request),
    }
}

/// Every rule a token-style error response follows (ER-01, ER-02, ER-03, ER-05).
fn assert_clean_error(response: &HttpResponse, expected: (u16, &str), context: &str) {
    assert_eq!(response.status.as_u16(), expected.0, "{context}");
    assert_json_no_store(response);
    let body = json(response);
    let error = body["error"].as_str().expect("an error member");
    assert_eq!(error, expected.1, "{context}");
    assert!(TOKEN_STYLE_CODES.contains(&error), "{context}: {error}");
    assert!(is_error_text(error));
    for (name, value) in body.as_object().unwrap() {
        assert!(
            ["error", "error_description", "error_uri"].contains(&name.as_str()),
            "{context}: unexpected member {name}"
        );
        let text = value.as_str().expect("string members");
        assert!(is_error_text(text), "{context}: {name} = {text:?}");
        for secret in ["hunter2", BACKEND.1, RS.1, "s3cret-in-url", "wrong-secret"] {
            assert!(!text.contains(secret), "{context}: {text}");
        }
    }
}

/// (endpoint, request, expected status, expected error), for every negative case of the
/// token-style endpoints.
fn negative_cases(h: &Harness) -> Vec<(Endpoint, HttpRequest, u16, &'static str)> {
    let token = h.cc_token(BACKEND, "read");
    let mut cases = Vec::new();
    let mut expect = |endpoint, status, error, requests: Vec<HttpRequest>| {
        cases.extend(requests.into_iter().map(|r| (endpoint, r, status, error)));
    };
    for endpoint in [Endpoint::Token, Endpoint::Revoke, Endpoint::Introspect] {
        let caller = match endpoint {
            Endpoint::Introspect => RS,
            _ => BACKEND,
        };
        let good = match endpoint {
            Endpoint::Token => "grant_type=client_credentials".to_owned(),
            _ => format!("token={token}"),
        };
        let typed = |content_type: &str| {
            HttpRequest::new(Method::Post)
                .with_header("content-type", content_type)
                .with_header("authorization", basic_header(caller.0, caller.1))
        };
        let repeated = "caf%C3%A9%22%5C%09x=1&caf%C3%A9%22%5C%09x=2";
        expect(
            endpoint,
            400,
            "invalid_request",
            vec![
                typed("text/plain").with_body(good.clone()),
                typed("application/json").with_body("{}"),
                basic(caller).with_body(format!("{good}&x=1&x=2")),
                basic(caller).with_body(format!("{good}&{repeated}")),
                basic(caller)
                    .with_query("client_secret=s3cret-in-url")
                    .with_body(good.clone()),
                basic(caller).with_body(format!("{good}&client_secret={}", caller.1)),
                form().with_body(format!("{good}&client_secret=x")),
                basic(caller).with_body("x".repeat(20_000)),
            ],
        );
        expect(
            endpoint,
            401,
            "invalid_client",
            vec![
                basic((caller.0, "wrong-secret")).with_body(good.clone()),
                basic(("no-such-client", "x")).with_body(good.clone()),
                form().with_body(good.clone()),
                form()
                    .with_header("authorization", "Basic !!!notbase64")
                    .with_body(good.clone()),
            ],
        );
    }
    let cc = "grant_type=client_credentials";
    expect(
        Endpoint::Token,
        400,
        "invalid_request",
        vec![basic(BACKEND).with_body("scope=read")],
    );
    expect(
        Endpoint::Token,
        400,
        "unsupported_grant_type",
        vec![
            basic(BACKEND).with_body("grant_type=implicit"),
            basic(BACKEND).with_body("grant_type=password"),
        ],
    );
    expect(
        Endpoint::Token,
        400,
        "invalid_scope",
        vec![
            basic(BACKEND).with_body(format!("{cc}&scope=caf%C3%A9%22x")),
            basic(BACKEND).with_body(format!("{cc}&scope=admin")),
        ],
    );
    let hint_only = "token_type_hint=access_token";
    expect(
        Endpoint::Revoke,
        400,
        "invalid_request",
        vec![basic(BACKEND).with_body(hint_only)],
    );
    expect(
        Endpoint::Revoke,
        400,
        "invalid_grant",
        vec![basic(OTHER).with_body(format!("token={token}"))],
    );
    expect(
        Endpoint::Introspect,
        400,
        "invalid_request",
        vec![basic(RS).with_body(hint_only)],
    );
    expect(
        Endpoint::Introspect,
        403,
        "unauthorized_client",
        vec![basic(BACKEND).with_body(format!("token={token}"))],
    );
    cases
}

#[test]
fn er_01_er_03_every_negative_case_uses_a_defined_code_as_json_no_store() {
    let h = Harness::new();
    for (endpoint, request, status, error) in negative_cases(&h) {
        let response = call(&h, endpoint, &request);
        assert_clean_error(
            &response,
            (status, error),
            &format!("{endpoint:?} {request:?}"),
        );
    }
}

#[test]
fn er_01_method_not_allowed_is_json_too() {
    let h = Harness::new();
    for endpoint in [Endpoint::Token, Endpoint::Revoke, Endpoint::Introspect] {
        let response = call(&h, endpoint, &HttpRequest::new(Method::Get));
        assert_clean_error(
            &response,
            (405, "invalid_request"),
            &format!("{endpoint:?}"),
        );
        assert_eq!(response.header("allow"), Some("POST"));
    }
}

#[test]
fn er_01_bearer_guard_uses_only_rfc_6750_codes() {
    let h = Harness::new();
    let token = h.cc_token(BACKEND, "read");
    let guard = h.server.bearer_guard().form_body_tokens(true);
    let write = Scope::parse("write").unwrap();
    let cases = [
        HttpRequest::new(Method::Get).with_header("authorization", "Bearer unknown"),
        HttpRequest::new(Method::Get).with_header("authorization", "Bearer caf\u{e9}\"\\"),
        bearer(&token),
        HttpRequest::new(Method::Get).with_header("authorization", "Bearer "),
        form()
            .with_header("authorization", format!("Bearer {token}"))
            .with_body(format!("access_token={token}")),
        form().with_body("access_token=caf%C3%A9%22&access_token=x"),
    ];
    for request in &cases {
        let denied = block_on(guard.check(request, &write))
            .unwrap_err()
            .into_response();
        let challenge = denied.header("www-authenticate").expect("a challenge");
        // Every quoted attribute value is within the ER-02 set.
        for (i, part) in challenge.split('"').enumerate() {
            if i % 2 == 1 {
                assert!(is_error_text(part), "{challenge}");
            }
        }
        let error = challenge
            .split("error=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .expect("an error attribute");
        assert!(BEARER_CODES.contains(&error), "{error}");
        assert!(!challenge.contains(&token));
    }
}

/// ER-02, SEC-06: a repeated parameter whose name has '"', '\', a tab and non-ASCII is
/// not echoed at all (nor cleaned into something that still reflects input); a plain
/// protocol name is.
#[test]
fn er_02_sec_06_echoed_input_is_dropped_v_err() {
    let h = Harness::new();
    let response =
        h.revoke(&basic(BACKEND).with_body("token=a&caf%C3%A9%22%5C%09x=1&caf%C3%A9%22%5C%09x=2"));
    let body = json(&response);
    let description = body["error_description"].as_str().unwrap();
    assert!(is_error_text(description), "{description:?}");
    assert_eq!(description, "repeated parameter");
    let response = h.revoke(&basic(BACKEND).with_body("token=a&token=b"));
    assert_eq!(
        json(&response)["error_description"],
        "repeated parameter: token"
    );
    // The raw JSON has no escape sequences at all: nothing needed escaping.
    assert!(!response.body.contains(&b'\\'));
}

#[test]
fn er_05_no_description_repeats_a_secret_or_token() {
    let h = Harness::new();
    let token = h.cc_token(BACKEND, "read");
    for endpoint in [Endpoint::Token, Endpoint::Revoke, Endpoint::Introspect] {
        for request in [
            basic((BACKEND.0, "the-wrong-secret-value"))
                .with_body(format!("token={token}&grant_type=client_credentials")),
            basic(BACKEND)
                .with_query(format!("token={token}"))
                .with_body(""),
            basic(BACKEND).with_body(format!("token={token}&token={token}")),
        ] {
            let response = call(&h, endpoint, &request);
            let text = String::from_utf8(response.body.clone()).unwrap();
            assert!(!text.contains(&token), "{endpoint:?}: {text}");
            assert!(
                !text.contains("the-wrong-secret-value"),
                "{endpoint:?}: {text}"
            );
            for header in &response.headers {
                assert!(!header.value.contains(&token));
            }
        }
    }
}

#[test]
fn er_05_inactive_tokens_get_no_reason() {
    let h = Harness::new();
    let expired = h.cc_token(BACKEND, "read");
    let revoked = h.cc_token(BACKEND, "read");
    h.revoke(&basic(BACKEND).with_body(format!("token={revoked}")));
    h.advance(TTL);
    let bodies: Vec<Value> = [expired.as_str(), revoked.as_str(), "never-issued"]
        .iter()
        .map(|t| h.introspect_as_rs(t))
        .collect();
    assert!(
        bodies
            .iter()
            .all(|b| *b == serde_json::json!({"active": false}))
    );
}

#[track_caller]
fn assert_opaque(result: Result<HttpResponse, Error>, (status, code): (u16, &str)) {
    let error = result.expect_err("a storage fault");
    assert!(!error.to_string().contains("hunter2"));
    let response = error.to_response();
    assert_eq!(response.status.as_u16(), status);
    assert_json_no_store(&response);
    assert_eq!(
        response.body,
        format!("{{\"error\":\"{code}\"}}").into_bytes()
    );
    // The detail stays available to the host's logs only.
    assert!(causes(&error).contains("hunter2"));
}

#[test]
fn er_05_failing_store_text_never_reaches_the_client() {
    let tokens = Arc::new(FailingTokens(|| StorageError::new(DETAIL)));
    let server = Server::builder(ISSUER, registry(), tokens).build().unwrap();
    let token_request = basic(BACKEND).with_body("grant_type=client_credentials");
    assert_opaque(
        block_on(server.token(&token_request)),
        (500, "server_error"),
    );
    let revoke_request = basic(BACKEND).with_body("token=abc");
    assert_opaque(
        block_on(server.revoke(&revoke_request)),
        (500, "server_error"),
    );
    let introspect_request = basic(RS).with_body("token=abc");
    assert_opaque(
        block_on(server.introspect(&introspect_request)),
        (500, "server_error"),
    );
    let guarded = HttpRequest::new(Method::Get).with_header("authorization", "Bearer abc");
    let result = block_on(server.bearer_guard().check(&guarded, &Scope::empty()));
    let Err(GuardRejection::Fault(error)) = result else {
        panic!("a storage fault");
    };
    assert_eq!(error.to_response().body, br#"{"error":"server_error"}"#);
}

#[test]
fn er_05_failing_registry_text_never_reaches_the_client() {
    let clients = Arc::new(FailingClients(|| StorageError::transient(DETAIL)));
    let tokens = Arc::new(grantflow::MemoryTokenStore::new());
    let server = Server::builder(ISSUER, clients, tokens).build().unwrap();
    let request = basic(BACKEND).with_body("grant_type=client_credentials&token=abc");
    let unavailable = (503, "temporarily_unavailable");
    assert_opaque(block_on(server.token(&request)), unavailable);
    assert_opaque(block_on(server.revoke(&request)), unavailable);
    assert_opaque(block_on(server.introspect(&request)), unavailable);
}
