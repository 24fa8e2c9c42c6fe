//! CORS for browser-based clients (`ServerBuilder::cors`): the token and revocation
//! endpoints per client, the metadata for any origin, never the authorization endpoint
//! (AZ-10), never with credentials.

use crate::support::authz::*;
use grantflow::*;

/// The origin of `app`'s registered redirect URI `https://client.example.com/cb`.
const APP_ORIGIN: &str = "https://client.example.com";

fn cors_harness() -> Harness {
    harness_with(|b| b.cors(true))
}

fn with_origin(request: HttpRequest, origin: &str) -> HttpRequest {
    request.with_header("origin", origin)
}

fn exchange_body(code: &str) -> String {
    format!("grant_type=authorization_code&code={code}&client_id=app&code_verifier={VERIFIER}")
}

fn revoke(h: &Harness, request: &HttpRequest) -> HttpResponse {
    block_on(h.server.revoke(request)).unwrap()
}

#[track_caller]
fn assert_no_cors(response: &HttpResponse) {
    for header in &response.headers {
        assert!(
            !header.name.starts_with("access-control-"),
            "{}: {}",
            header.name,
            header.value
        );
    }
}

#[track_caller]
fn assert_never_credentials(response: &HttpResponse) {
    assert_eq!(response.header("access-control-allow-credentials"), None);
}

#[test]
fn cors_preflight_is_answered_for_any_origin_and_reveals_nothing() {
    let h = cors_harness();
    for origin in [APP_ORIGIN, "https://evil.example", "http://127.0.0.1:5173"] {
        let preflight = with_origin(HttpRequest::new(Method::Options), origin)
            .with_header("access-control-request-method", "POST")
            .with_header("access-control-request-headers", "content-type");
        for response in [h.token(&preflight), revoke(&h, &preflight)] {
            assert_eq!(response.status.as_u16(), 204);
            assert_eq!(response.header("access-control-allow-origin"), Some(origin));
            assert_eq!(
                response.header("access-control-allow-methods"),
                Some("POST")
            );
            assert!(
                response
                    .header("access-control-allow-headers")
                    .is_some_and(|h| h.contains("content-type"))
            );
            assert_eq!(response.header("vary"), Some("origin"));
            assert_never_credentials(&response);
            assert!(response.body.is_empty());
        }
    }
    // A malformed or opaque origin is not echoed.
    for origin in ["null", "https://a.example/path", "javascript:alert(1)"] {
        let preflight = with_origin(HttpRequest::new(Method::Options), origin)
            .with_header("access-control-request-method", "POST");
        let response = h.token(&preflight);
        assert_eq!(response.status.as_u16(), 204);
        assert_no_cors(&response);
    }
}

#[test]
fn cors_token_request_from_the_clients_origin_is_allowed() {
    let h = cors_harness();
    let code = h.code_for("app");
    let response = h.token(&with_origin(post_form(exchange_body(&code)), APP_ORIGIN));
    assert_eq!(response.status, Status::OK);
    assert_eq!(
        response.header("access-control-allow-origin"),
        Some(APP_ORIGIN)
    );
    assert_eq!(response.header("vary"), Some("origin"));
    assert_never_credentials(&response);
    // Its refresh token and revocation work from the same origin.
    let refresh = json(&response)["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let revocation = with_origin(
        post_form(format!("token={refresh}&client_id=app")),
        APP_ORIGIN,
    );
    let revoked = revoke(&h, &revocation);
    assert_eq!(revoked.status, Status::OK);
    assert_eq!(
        revoked.header("access-control-allow-origin"),
        Some(APP_ORIGIN)
    );
    // An error for an allowed origin is readable too (the client must see why).
    let again = h.token(&with_origin(post_form(exchange_body(&code)), APP_ORIGIN));
    assert_token_error(&again, 400, "invalid_grant");
    assert_eq!(
        again.header("access-control-allow-origin"),
        Some(APP_ORIGIN)
    );
}

#[test]
fn cors_another_origin_is_refused_before_anything_is_done() {
    let h = cors_harness();
    let code = h.code_for("app");
    for origin in [
        "https://evil.example",
        "https://client.example.com:8443",
        "http://client.example.com",
        "null",
        "https://client.example.com/cb",
    ] {
        let response = h.token(&with_origin(post_form(exchange_body(&code)), origin));
        assert_token_error(&response, 400, "invalid_request");
        assert_no_cors(&response);
        assert_eq!(response.header("vary"), Some("origin"));
    }
    // Two Origin headers are not an origin either.
    let twice = with_origin(post_form(exchange_body(&code)), APP_ORIGIN)
        .with_header("origin", "https://evil.example");
    assert_token_error(&h.token(&twice), 400, "invalid_request");
    // Nothing was done: the code is still redeemable from the right origin.
    let response = h.token(&with_origin(post_form(exchange_body(&code)), APP_ORIGIN));
    assert_eq!(response.status, Status::OK);
}

#[test]
fn cors_loopback_redirect_uri_allows_its_origin_on_any_port() {
    let h = cors_harness();
    // `vru` registers http://127.0.0.1/callback: a browser app on any loopback port.
    let body = "grant_type=refresh_token&refresh_token=unknown&client_id=vru";
    let allowed = h.token(&with_origin(post_form(body), "http://127.0.0.1:5173"));
    assert_token_error(&allowed, 400, "invalid_grant");
    assert_eq!(
        allowed.header("access-control-allow-origin"),
        Some("http://127.0.0.1:5173")
    );
    let refused = h.token(&with_origin(post_form(body), "http://localhost:5173"));
    assert_token_error(&refused, 400, "invalid_request");
    assert_no_cors(&refused);
}

#[test]
fn cors_requests_without_origin_and_same_origin_are_unaffected() {
    let h = cors_harness();
    let code = h.code_for("app");
    let response = h.token(&post_form(exchange_body(&code)));
    assert_eq!(response.status, Status::OK);
    assert_eq!(response.header("access-control-allow-origin"), None);
    let code = h.code_for("app");
    let same = h.token(&with_origin(
        post_form(exchange_body(&code)),
        "https://as.example.com",
    ));
    assert_eq!(same.status, Status::OK);
    assert_eq!(same.header("access-control-allow-origin"), None);
}

#[test]
fn cors_is_off_by_default() {
    let h = harness();
    let code = h.code_for("app");
    let response = h.token(&with_origin(post_form(exchange_body(&code)), APP_ORIGIN));
    assert_eq!(response.status, Status::OK);
    assert_no_cors(&response);
    let preflight = with_origin(HttpRequest::new(Method::Options), APP_ORIGIN)
        .with_header("access-control-request-method", "POST");
    let response = h.token(&preflight);
    assert_eq!(response.status.as_u16(), 405);
    assert_no_cors(&response);
    let path = h.server.metadata_path().to_owned();
    let metadata = h
        .server
        .serve_metadata(&HttpRequest::new(Method::Get), &path);
    assert_no_cors(&metadata);
}

#[test]
fn cors_metadata_is_readable_from_any_origin() {
    let h = cors_harness();
    let path = h.server.metadata_path().to_owned();
    for method in [Method::Get, Method::Head] {
        let request = with_origin(HttpRequest::new(method), "https://anyone.example");
        let response = h.server.serve_metadata(&request, &path);
        assert_eq!(response.status, Status::OK);
        assert_eq!(response.header("access-control-allow-origin"), Some("*"));
        assert_never_credentials(&response);
    }
    let preflight = with_origin(HttpRequest::new(Method::Options), "https://anyone.example")
        .with_header("access-control-request-method", "GET");
    let response = h.server.serve_metadata(&preflight, &path);
    assert_eq!(response.status.as_u16(), 204);
    assert_eq!(response.header("access-control-allow-origin"), Some("*"));
}

#[test]
fn az_10_no_cors_at_the_authorization_endpoint_even_with_cors_on() {
    let h = cors_harness();
    let request = with_origin(
        get(&format!("response_type=code&client_id=app&{PKCE}")),
        APP_ORIGIN,
    );
    let pending = block_on(h.server.authorize(&request)).unwrap();
    let response = h.approve(pending, "alice", "read");
    assert_no_cors(&response);
    let preflight = with_origin(HttpRequest::new(Method::Options), APP_ORIGIN)
        .with_header("access-control-request-method", "GET");
    assert!(block_on(h.server.authorize(&preflight)).is_err());
}

#[test]
fn cors_is_not_offered_where_browser_clients_do_not_go() {
    // Introspection is for resource servers, device authorization for devices.
    let h = cors_harness();
    let preflight = with_origin(HttpRequest::new(Method::Options), APP_ORIGIN)
        .with_header("access-control-request-method", "POST");
    let response = block_on(h.server.introspect(&preflight)).unwrap();
    assert_eq!(response.status.as_u16(), 405);
    assert_no_cors(&response);
}
