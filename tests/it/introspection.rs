//! Token introspection (RFC 7662): IN-01..IN-05.

use std::time::Duration;

use crate::support::resource::*;
use grantflow::{HttpRequest, Method};
use serde_json::json;

fn introspect_as(h: &Harness, client: (&str, &str), body: &str) -> grantflow::HttpResponse {
    h.introspect(&basic(client).with_body(body.to_owned()))
}

#[test]
fn in_01_get_is_refused_with_405() {
    let h = Harness::new();
    let token = h.cc_token(BACKEND, "read");
    let response = h.introspect(
        &HttpRequest::new(Method::Get)
            .with_query(format!("token={token}"))
            .with_header("authorization", basic_header(RS.0, RS.1)),
    );
    assert_eq!(response.status.as_u16(), 405);
    assert_eq!(response.header("allow"), Some("POST"));
}

#[test]
fn in_01_missing_token_is_invalid_request() {
    let h = Harness::new();
    let response = introspect_as(&h, RS, "token_type_hint=access_token");
    assert_eq!(response.status.as_u16(), 400);
    assert_json_no_store(&response);
    assert_eq!(json(&response)["error"], "invalid_request");
}

#[test]
fn in_01_wrong_hint_still_finds_the_token() {
    let h = Harness::new();
    let (access, refresh) = h.user_tokens(BACKEND, "sub=alice");
    for (token, hint) in [
        (&access, "refresh_token"),
        (&refresh, "access_token"),
        (&access, "foo"),
    ] {
        let response = introspect_as(&h, RS, &format!("token={token}&token_type_hint={hint}"));
        assert_eq!(json(&response)["active"], true, "{hint}");
    }
}

#[test]
fn in_02_no_credentials_is_401() {
    let h = Harness::new();
    let token = h.cc_token(BACKEND, "read");
    let response = h.introspect(&form().with_body(format!("token={token}")));
    assert_eq!(response.status.as_u16(), 401);
    assert_json_no_store(&response);
    assert_eq!(json(&response)["error"], "invalid_client");
    assert!(response.header("www-authenticate").is_some());
}

#[test]
fn in_02_wrong_secret_is_401() {
    let h = Harness::new();
    let token = h.cc_token(BACKEND, "read");
    let response = introspect_as(&h, (RS.0, "wrong"), &format!("token={token}"));
    assert_eq!(response.status.as_u16(), 401);
    assert_eq!(
        response.header("www-authenticate"),
        Some("Basic realm=\"https://as.example.com\", charset=\"UTF-8\"")
    );
    assert_eq!(json(&response)["error"], "invalid_client");
}

#[test]
fn in_02_public_client_is_403() {
    let h = Harness::new();
    let token = h.cc_token(BACKEND, "read");
    // `none` is not enough for introspection: public clients are never resource servers.
    let response = h.introspect(&form().with_body(format!("token={token}&client_id={SPA}")));
    assert_eq!(response.status.as_u16(), 403);
    assert_eq!(json(&response)["error"], "unauthorized_client");
}

#[test]
fn in_02_client_not_marked_as_resource_server_is_403() {
    let h = Harness::new();
    let token = h.cc_token(BACKEND, "read");
    let response = introspect_as(&h, BACKEND, &format!("token={token}"));
    assert_eq!(response.status.as_u16(), 403);
    assert_json_no_store(&response);
    assert_eq!(
        json(&response),
        json!({"error":"unauthorized_client","error_description":"the client may not introspect tokens"})
    );
}

#[test]
fn in_03_expired_token_is_exactly_inactive() {
    let h = Harness::new();
    let token = h.cc_token(BACKEND, "read");
    h.advance(TTL);
    let response = introspect_as(&h, RS, &format!("token={token}"));
    assert_eq!(response.status.as_u16(), 200);
    assert_json_no_store(&response);
    assert_eq!(response.body, br#"{"active":false}"#);
}

#[test]
fn in_03_unknown_token_is_exactly_inactive() {
    let h = Harness::new();
    for token in ["garbage", "%C3%A9", &"x".repeat(3000)] {
        let response = introspect_as(&h, RS, &format!("token={token}"));
        assert_eq!(response.status.as_u16(), 200);
        assert_eq!(response.body, br#"{"active":false}"#);
    }
}

#[test]
fn in_03_revoked_token_is_exactly_inactive() {
    let h = Harness::new();
    let token = h.cc_token(BACKEND, "read");
    h.revoke(&basic(BACKEND).with_body(format!("token={token}")));
    let response = introspect_as(&h, RS, &format!("token={token}"));
    assert_eq!(response.body, br#"{"active":false}"#);
}

#[test]
fn in_03_token_for_another_audience_is_inactive() {
    let h = Harness::new();
    let (for_api, _) = h.user_tokens(BACKEND, &format!("aud={}", enc(API)));
    let (for_other, _) = h.user_tokens(BACKEND, &format!("aud={}", enc("https://other.example")));
    // The API resource server sees its own token ...
    let response = introspect_as(&h, RS_API, &format!("token={for_api}"));
    assert_eq!(json(&response)["active"], true);
    assert_eq!(json(&response)["aud"], API);
    // ... and not another audience's.
    let response = introspect_as(&h, RS_API, &format!("token={for_other}"));
    assert_eq!(response.body, br#"{"active":false}"#);
}

#[test]
fn in_03_audience_token_is_inactive_for_a_caller_without_an_audience() {
    // RS has no registered audience: like a bearer guard without one, it sees only tokens
    // meant for any resource server, never one restricted to an audience.
    let h = Harness::new();
    let (for_api, _) = h.user_tokens(BACKEND, &format!("aud={}", enc(API)));
    let response = introspect_as(&h, RS, &format!("token={for_api}"));
    assert_eq!(response.body, br#"{"active":false}"#);
    let plain = h.cc_token(BACKEND, "read");
    assert_eq!(
        json(&introspect_as(&h, RS, &format!("token={plain}")))["active"],
        true
    );
}

#[test]
fn in_04_active_access_token_has_typed_members() {
    let h = Harness::new();
    let token = h.cc_token(BACKEND, "read%20write");
    h.advance(Duration::from_secs(10));
    let response = introspect_as(&h, RS, &format!("token={token}"));
    assert_eq!(response.status.as_u16(), 200);
    assert_json_no_store(&response);
    let body = json(&response);
    assert_eq!(
        body,
        json!({
            "active": true,
            "scope": "read write",
            "client_id": "backend",
            "iss": ISSUER,
            "exp": START + TTL.as_secs(),
            "iat": START,
            "token_type": "Bearer",
        })
    );
    assert!(body["exp"].is_u64() && body["iat"].is_u64());
    // Client credentials tokens have no subject (CC-04): no `sub` member at all.
    assert!(body.get("sub").is_none());
}

#[test]
fn in_04_user_tokens_carry_sub_and_refresh_tokens_no_token_type() {
    let h = Harness::new();
    let (access, refresh) = h.user_tokens(BACKEND, "sub=alice&scope=write");
    let body = h.introspect_as_rs(&access);
    assert_eq!(body["sub"], "alice");
    assert_eq!(body["scope"], "write");
    assert_eq!(body["token_type"], "Bearer");
    let body = h.introspect_as_rs(&refresh);
    assert_eq!(body["active"], true);
    assert_eq!(body["sub"], "alice");
    assert_eq!(body["client_id"], "backend");
    assert!(body.get("token_type").is_none());
    assert!(body["exp"].as_u64().unwrap() > START + TTL.as_secs());
}

#[test]
fn in_05_revoked_grant_makes_access_token_inactive() {
    let h = Harness::new();
    let (access, refresh) = h.user_tokens(BACKEND, "sub=alice");
    assert!(h.is_active(&access));
    h.revoke(&basic(BACKEND).with_body(format!("token={refresh}")));
    assert_eq!(h.introspect_as_rs(&access), json!({"active": false}));
}

#[test]
fn in_05_expiry_is_checked_to_the_second() {
    let h = Harness::new();
    let token = h.cc_token(BACKEND, "read");
    h.advance(TTL - Duration::from_secs(1));
    assert!(h.is_active(&token));
    h.advance(Duration::from_secs(1));
    assert_eq!(h.introspect_as_rs(&token), json!({"active": false}));
}

#[test]
fn in_05_token_issued_in_the_future_is_inactive() {
    let h = Harness::new();
    let token = h.cc_token(BACKEND, "read");
    // Another instance's clock a few seconds ahead issued it: within the allowed skew.
    h.clock.set(h.now() - Duration::from_secs(5));
    assert!(h.is_active(&token));
    // The clock steps back by minutes (e.g. corrected): the token is not yet valid.
    h.clock.set(h.now() - Duration::from_secs(300));
    assert_eq!(h.introspect_as_rs(&token), json!({"active": false}));
}
