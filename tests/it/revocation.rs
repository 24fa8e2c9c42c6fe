//! Token revocation (RFC 7009): RV-01..RV-07.

use std::time::Duration;

use crate::support::resource::*;
use grantflow::{HttpRequest, Method};
use serde_json::json;

fn assert_revoked_ok(response: &grantflow::HttpResponse) {
    assert_eq!(response.status.as_u16(), 200);
    assert!(response.body.is_empty());
    assert_eq!(response.header("cache-control"), Some("no-store"));
}

#[test]
fn rv_01_missing_token_is_invalid_request() {
    let h = Harness::new();
    let response = h.revoke(&basic(BACKEND).with_body("token_type_hint=access_token"));
    assert_eq!(response.status.as_u16(), 400);
    assert_json_no_store(&response);
    assert_eq!(
        json(&response),
        json!({"error":"invalid_request","error_description":"token required"})
    );
}

#[test]
fn rv_01_get_is_refused_with_405() {
    let h = Harness::new();
    let token = h.cc_token(BACKEND, "read");
    let response = h.revoke(
        &HttpRequest::new(Method::Get)
            .with_query(format!("token={token}"))
            .with_header("authorization", basic_header(BACKEND.0, BACKEND.1)),
    );
    assert_eq!(response.status.as_u16(), 405);
    assert_eq!(response.header("allow"), Some("POST"));
    assert!(h.is_active(&token));
}

#[test]
fn rv_01_token_in_query_is_refused() {
    let h = Harness::new();
    let token = h.cc_token(BACKEND, "read");
    let response = h.revoke(
        &basic(BACKEND)
            .with_query(format!("token={token}"))
            .with_body(""),
    );
    assert_eq!(response.status.as_u16(), 400);
    assert_eq!(json(&response)["error"], "invalid_request");
    assert!(h.is_active(&token));
}

#[test]
fn rv_01_confidential_client_must_authenticate() {
    let h = Harness::new();
    let token = h.cc_token(BACKEND, "read");
    // No credentials at all.
    let response = h.revoke(&form().with_body(format!("token={token}")));
    assert_eq!(response.status.as_u16(), 401);
    assert_eq!(json(&response)["error"], "invalid_client");
    // client_id alone, for a confidential client.
    let response = h.revoke(&form().with_body(format!("token={token}&client_id={}", BACKEND.0)));
    assert_eq!(response.status.as_u16(), 401);
    // Wrong secret through Basic: 401 with a Basic challenge.
    let response = h.revoke(&basic((BACKEND.0, "wrong")).with_body(format!("token={token}")));
    assert_eq!(response.status.as_u16(), 401);
    assert_eq!(
        response.header("www-authenticate"),
        Some("Basic realm=\"https://as.example.com\", charset=\"UTF-8\"")
    );
    assert!(h.is_active(&token));
}

#[test]
fn rv_01_public_client_revokes_with_client_id_only() {
    let h = Harness::new();
    let (access, refresh) = h.spa_tokens();
    let response = h.revoke(&form().with_body(format!("token={refresh}&client_id={SPA}")));
    assert_revoked_ok(&response);
    assert!(!h.is_active(&refresh));
    assert!(!h.is_active(&access));
}

#[test]
fn rv_01_client_secret_post_works() {
    let h = Harness::new();
    let response = h.token(&form().with_body(format!(
        "grant_type=client_credentials&client_id={}&client_secret={}",
        POSTER.0, POSTER.1
    )));
    let token = json(&response)["access_token"].as_str().unwrap().to_owned();
    let response = h.revoke(&form().with_body(format!(
        "token={token}&client_id={}&client_secret={}",
        POSTER.0, POSTER.1
    )));
    assert_revoked_ok(&response);
    assert!(!h.is_active(&token));
}

#[test]
fn rv_02_revoked_refresh_token_is_gone() {
    let h = Harness::new();
    let (_, refresh) = h.user_tokens(BACKEND, "sub=alice");
    assert!(h.is_active(&refresh));
    let response = h.revoke(&basic(BACKEND).with_body(format!("token={refresh}")));
    assert_revoked_ok(&response);
    assert!(!h.is_active(&refresh));
    assert_eq!(h.tokens.len(), 0);
}

#[test]
fn rv_02_access_tokens_can_be_revoked() {
    let h = Harness::new();
    let token = h.cc_token(BACKEND, "read");
    let response = h.revoke(&basic(BACKEND).with_body(format!("token={token}")));
    assert_revoked_ok(&response);
    assert!(!h.is_active(&token));
}

#[test]
fn rv_03_unknown_and_malformed_tokens_answer_200() {
    let h = Harness::new();
    for token in ["garbage", "%C3%A9%22%5C", "a%20b", &"x".repeat(4000)] {
        let response = h.revoke(&basic(BACKEND).with_body(format!("token={token}")));
        assert_revoked_ok(&response);
    }
}

#[test]
fn rv_03_expired_token_answers_200() {
    let h = Harness::new();
    let token = h.cc_token(BACKEND, "read");
    h.advance(TTL + Duration::from_secs(1));
    let response = h.revoke(&basic(BACKEND).with_body(format!("token={token}")));
    assert_revoked_ok(&response);
}

#[test]
fn rv_03_already_revoked_token_answers_200() {
    let h = Harness::new();
    let token = h.cc_token(BACKEND, "read");
    for _ in 0..2 {
        let response = h.revoke(&basic(BACKEND).with_body(format!("token={token}")));
        assert_revoked_ok(&response);
    }
}

#[test]
fn rv_03_invalid_hint_is_ignored_and_token_revoked() {
    let h = Harness::new();
    let token = h.cc_token(BACKEND, "read");
    let response =
        h.revoke(&basic(BACKEND).with_body(format!("token={token}&token_type_hint=foo")));
    assert_revoked_ok(&response);
    assert!(!h.is_active(&token));
}

#[test]
fn rv_04_refresh_token_with_access_token_hint_is_revoked() {
    let h = Harness::new();
    let (_, refresh) = h.user_tokens(BACKEND, "sub=alice");
    let response = h
        .revoke(&basic(BACKEND).with_body(format!("token={refresh}&token_type_hint=access_token")));
    assert_revoked_ok(&response);
    assert!(!h.is_active(&refresh));
}

#[test]
fn rv_04_access_token_with_refresh_token_hint_is_revoked() {
    let h = Harness::new();
    let (access, refresh) = h.user_tokens(BACKEND, "sub=alice");
    let response = h
        .revoke(&basic(BACKEND).with_body(format!("token={access}&token_type_hint=refresh_token")));
    assert_revoked_ok(&response);
    assert!(!h.is_active(&access));
    // Revoking an access token leaves the refresh token of its grant alone.
    assert!(h.is_active(&refresh));
}

#[test]
fn rv_05_another_client_cannot_revoke_and_gets_invalid_grant() {
    let h = Harness::new();
    let (access, refresh) = h.user_tokens(BACKEND, "sub=alice");
    for token in [&refresh, &access] {
        let response = h.revoke(&basic(OTHER).with_body(format!("token={token}")));
        assert_eq!(response.status.as_u16(), 400);
        assert_json_no_store(&response);
        assert_eq!(json(&response)["error"], "invalid_grant");
    }
    assert!(h.is_active(&refresh));
    assert!(h.is_active(&access));
    // The public client cannot revoke a confidential client's token either.
    let response = h.revoke(&form().with_body(format!("token={refresh}&client_id={SPA}")));
    assert_eq!(response.status.as_u16(), 400);
    assert!(h.is_active(&refresh));
}

#[test]
fn rv_05_hiding_alternative_answers_200_without_revoking() {
    let h = Harness::with(|b| b.revocation_hides_foreign_tokens(true));
    let (access, refresh) = h.user_tokens(BACKEND, "sub=alice");
    let response = h.revoke(&basic(OTHER).with_body(format!("token={refresh}")));
    assert_revoked_ok(&response);
    assert!(h.is_active(&refresh));
    assert!(h.is_active(&access));
}

#[test]
fn rv_06_revoking_refresh_token_revokes_the_grants_access_tokens() {
    let h = Harness::new();
    let (access, refresh) = h.user_tokens(BACKEND, "sub=alice");
    let (other_access, other_refresh) = h.user_tokens(BACKEND, "sub=bob");
    let response = h.revoke(&basic(BACKEND).with_body(format!("token={refresh}")));
    assert_revoked_ok(&response);
    assert_eq!(h.introspect_as_rs(&access), json!({"active": false}));
    // Other grants are untouched.
    assert!(h.is_active(&other_access));
    assert!(h.is_active(&other_refresh));
    // And the bearer guard refuses the access token at once.
    let guard = h.server.bearer_guard();
    let request = bearer(&access);
    let scope = grantflow::Scope::parse("read").unwrap();
    let denied = block_on(guard.check(&request, &scope))
        .unwrap_err()
        .into_response();
    assert_eq!(denied.status.as_u16(), 401);
}

#[test]
fn rv_07_revocation_is_throttled_like_the_token_endpoint() {
    let h = Harness::new();
    let token = h.cc_token(BACKEND, "read");
    let mut statuses = Vec::new();
    for _ in 0..11 {
        let response = h.revoke(&basic((BACKEND.0, "guess")).with_body(format!("token={token}")));
        statuses.push((
            response.status.as_u16(),
            response.header("retry-after").is_some(),
        ));
    }
    // Throttled or not, a failed Basic attempt is 401 with the challenge; only the
    // 11th carries `Retry-After`.
    assert!(statuses.iter().all(|(s, _)| *s == 401), "{statuses:?}");
    assert!(
        statuses[..10].iter().all(|(_, retry)| !retry),
        "{statuses:?}"
    );
    assert!(statuses[10].1);
    // Even the right secret is refused while throttled, and nothing is revoked.
    let response = h.revoke(&basic(BACKEND).with_body(format!("token={token}")));
    assert_eq!(response.status.as_u16(), 401);
    assert!(response.header("www-authenticate").is_some());
    assert!(response.header("retry-after").is_some());
    assert!(h.is_active(&token));
}

#[test]
fn rv_07_metadata_lists_revocation_auth_methods_including_none() {
    let h = Harness::new();
    let body = json(&h.server.metadata());
    assert_eq!(body["revocation_endpoint"], "https://as.example.com/revoke");
    assert_eq!(
        body["revocation_endpoint_auth_methods_supported"],
        json!(["client_secret_basic", "client_secret_post", "none"])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rv_06_concurrent_revocation_and_use_stay_consistent() {
    let h = Harness::new();
    let mut grants = Vec::new();
    for n in 0..20 {
        grants.push(h.user_tokens(BACKEND, &format!("sub=user{n}")));
    }
    let mut tasks = Vec::new();
    for (access, refresh) in grants.clone() {
        for _ in 0..2 {
            let server = h.server.clone();
            let refresh = refresh.clone();
            tasks.push(tokio::spawn(async move {
                let request = basic(BACKEND).with_body(format!("token={refresh}"));
                server.revoke(&request).await.map(|r| r.status.as_u16())
            }));
        }
        let server = h.server.clone();
        tasks.push(tokio::spawn(async move {
            let request = bearer(&access);
            let scope = grantflow::Scope::parse("read").unwrap();
            // Either outcome is fine while the revocation races; it must not fail.
            match server.bearer_guard().check(&request, &scope).await {
                Err(grantflow::guard::GuardRejection::Fault(error)) => Err(error),
                _ => Ok(200),
            }
        }));
    }
    for task in tasks {
        assert_eq!(task.await.unwrap().unwrap(), 200);
    }
    for (access, refresh) in &grants {
        assert!(!h.is_active(access));
        assert!(!h.is_active(refresh));
    }
    assert!(h.tokens.is_empty());
}
