//! The client credentials grant (RFC 6749 §4.4): CC-01..CC-04, the success shape (TE-11)
//! and scope handling (SC-01..SC-04), black-box through `Server::token`.

use crate::support::token::*;
use grantflow::store::{TokenKind, TokenStore as _};

// ---------------------------------------------------------------------------------------
// CC-01: confidential clients only, and they must authenticate
// ---------------------------------------------------------------------------------------

#[test]
fn cc_01_confidential_client_gets_a_token() {
    let h = Harness::new();
    let response = h.token(&backend_cc());
    let token = assert_token(&response, "read");
    assert!(h.record(&token).is_some());
    assert_eq!(h.stored(), 1);
}

#[test]
fn cc_01_public_client_is_refused_and_nothing_is_stored() {
    let h = Harness::new();
    // A public client identifies itself with `none` (client_id only).
    let response = h.token(&post_form(format!("{CC}&client_id={SPA}")));
    assert_error(&response, 400, "unauthorized_client");
    // ... or tries to pass a secret it does not have.
    let response = h.token(&post_request(SPA, "made-up", &cc_body(None)));
    assert_error(&response, 401, "invalid_client");
    let response = h.token(&basic_request(SPA, "", cc_body(None)));
    assert_error(&response, 401, "invalid_client");
    assert_eq!(h.stored(), 0);
}

#[test]
fn cc_01_request_without_credentials_is_invalid_client() {
    let h = Harness::new();
    let response = h.token(&post_form(cc_body(Some("read"))));
    assert_error(&response, 401, "invalid_client");
    assert_basic_challenge(&response);
    assert_eq!(h.stored(), 0);
}

#[test]
fn cc_01_confidential_client_without_its_secret_is_invalid_client() {
    let h = Harness::new();
    let response = h.token(&post_form(format!("{CC}&client_id={}", BACKEND.0)));
    assert_error(&response, 401, "invalid_client");
    let response = h.token(&basic_request(BACKEND.0, "wrong", cc_body(None)));
    assert_error(&response, 401, "invalid_client");
    assert_eq!(h.stored(), 0);
}

// ---------------------------------------------------------------------------------------
// CC-02: no refresh token
// ---------------------------------------------------------------------------------------

#[test]
fn cc_02_no_refresh_token_is_issued_or_stored() {
    // The fixture clients are registered with refresh tokens enabled (the default), so
    // leaving it out is the grant's doing.
    let h = Harness::new();
    let response = h.token(&backend(cc_body(Some("read write"))));
    let body = json(&response);
    assert!(!body.contains_key("refresh_token"), "{body:?}");
    let token = assert_token(&response, "read write");
    assert_eq!(h.stored(), 1, "only the access token is stored");
    assert_eq!(h.record(&token).map(|r| r.kind), Some(TokenKind::Access));
}

// ---------------------------------------------------------------------------------------
// CC-03: scope limited to the client's allow-list
// ---------------------------------------------------------------------------------------

#[test]
fn cc_03_scope_outside_the_allow_list_is_invalid_scope() {
    let h = Harness::new();
    for scope in ["admin", "read admin", "read write admin", "READ"] {
        let response = h.token(&backend(cc_body(Some(scope))));
        assert_error(&response, 400, "invalid_scope");
    }
    assert_eq!(h.stored(), 0);
    // The same client gets what it is allowed.
    assert_token(&h.token(&backend(cc_body(Some("write")))), "write");
}

// ---------------------------------------------------------------------------------------
// CC-04: the token identifies the client, not a user
// ---------------------------------------------------------------------------------------

#[test]
fn cc_04_stored_record_has_no_subject() {
    let h = Harness::new();
    let response = h.token(&backend(cc_body(Some("write read"))));
    let token = assert_token(&response, "read write");
    let record = block_on(h.tokens.find(&grantflow::secret::TokenHash::of(&token)))
        .expect("memory store")
        .expect("the issued token is stored under its digest");
    assert_eq!(record.subject, None);
    assert_eq!(record.client_id.as_str(), BACKEND.0);
    assert_eq!(record.kind, TokenKind::Access);
    assert_eq!(record.scope.as_str(), "read write");
    assert_eq!(record.issued_at, t0());
    assert_eq!(record.expires_at, t0() + TTL);
}

#[test]
fn cc_04_each_request_is_its_own_grant() {
    let h = Harness::new();
    let a = assert_token(&h.token(&backend_cc()), "read");
    let b = assert_token(&h.token(&backend_cc()), "read");
    let (a, b) = (h.record(&a).unwrap(), h.record(&b).unwrap());
    assert_ne!(a.grant_id, b.grant_id);
    assert_eq!(a.subject, None);
    assert_eq!(b.subject, None);
}

#[test]
fn cc_04_stored_record_is_keyed_by_digest_not_by_token_text() {
    let h = Harness::new();
    let token = assert_token(&h.token(&backend_cc()), "read");
    // Looking the token up by the digest of some other text finds nothing; the digest of
    // the token finds it. (The store API only takes digests.)
    assert!(h.record(&token).is_some());
    assert!(h.record(&format!("{token}x")).is_none());
}

/// What the issuer saw: client id, subject, scope, expiry.
type Claimed = (String, Option<String>, String, std::time::SystemTime);

/// A token issuer that records the claims it was asked to sign.
#[derive(Debug, Default)]
struct RecordingIssuer {
    seen: std::sync::Mutex<Vec<Claimed>>,
}

#[async_trait::async_trait]
impl grantflow::TokenIssuer for RecordingIssuer {
    async fn access_token(
        &self,
        claims: &grantflow::issuer::TokenClaims<'_>,
        random: &dyn grantflow::random::Random,
    ) -> Result<grantflow::secret::AccessToken, grantflow::issuer::IssueError> {
        self.seen.lock().unwrap().push((
            claims.client_id.as_str().to_owned(),
            claims.subject.map(|s| s.as_str().to_owned()),
            claims.scope.as_str().to_owned(),
            claims.expires_at,
        ));
        Ok(grantflow::secret::AccessToken::generate_with(random))
    }

    async fn refresh_token(
        &self,
        _claims: &grantflow::issuer::TokenClaims<'_>,
        _random: &dyn grantflow::random::Random,
    ) -> Result<grantflow::secret::RefreshToken, grantflow::issuer::IssueError> {
        panic!("CC-02: no refresh token is minted for client_credentials")
    }
}

#[test]
fn cc_04_issuer_claims_identify_the_client_not_a_user() {
    let issuer = std::sync::Arc::new(RecordingIssuer::default());
    let h = Harness::with(|b| b.token_issuer(issuer.clone()));
    assert_token(&h.token(&backend(cc_body(Some("write")))), "write");
    let seen = issuer.seen.lock().unwrap();
    assert_eq!(
        *seen,
        vec![(BACKEND.0.to_owned(), None, "write".to_owned(), t0() + TTL)]
    );
}

#[test]
fn token_store_purges_expired_records_on_later_issuance() {
    let h = Harness::new();
    let old: Vec<String> = (0..10)
        .map(|_| assert_token(&h.token(&backend_cc()), "read"))
        .collect();
    assert_eq!(h.stored(), 10);
    // Still there one second before expiry.
    h.clock.advance(TTL - std::time::Duration::from_secs(1));
    assert_token(&h.token(&backend_cc()), "read");
    assert_eq!(h.stored(), 11);
    // Past expiry, later issuance purges the expired records.
    h.clock.advance(std::time::Duration::from_secs(1));
    for _ in 0..10 {
        assert_token(&h.token(&backend_cc()), "read");
    }
    assert!(
        old.iter().all(|t| h.record(t).is_none()),
        "expired records purged"
    );
    assert_eq!(h.stored(), 11);
}

// ---------------------------------------------------------------------------------------
// TE-11: success shape
// ---------------------------------------------------------------------------------------

#[test]
fn te_11_success_response_has_exact_members_and_json_types() {
    let h = Harness::new();
    let response = h.token(&backend_cc());
    // assert_token checks: 200, JSON headers, exactly access_token / token_type /
    // expires_in / scope, token_type "Bearer", expires_in a number equal to the TTL,
    // scope a string, no nulls.
    let token = assert_token(&response, "read");
    assert!(is_token_text(&token), "{token:?}");
    let body = json(&response);
    assert!(body["access_token"].is_string());
    assert!(body["scope"].is_string());
    assert!(body["expires_in"].is_u64());
}

#[test]
fn te_11_expires_in_follows_the_configured_ttl() {
    let h = Harness::with(|b| b.access_token_ttl(std::time::Duration::from_secs(42)));
    let response = h.token(&backend_cc());
    assert_eq!(response.status.as_u16(), 200);
    assert_eq!(json(&response)["expires_in"], serde_json::json!(42));
    let token = json(&response)["access_token"].as_str().unwrap().to_owned();
    assert_eq!(
        h.record(&token).unwrap().expires_at,
        t0() + std::time::Duration::from_secs(42)
    );
}

#[test]
fn te_11_default_ttl_is_an_hour() {
    let server = fixture_server().build().unwrap();
    let response = block_on(server.token(&backend_cc())).unwrap();
    assert_eq!(json(&response)["expires_in"], serde_json::json!(3600));
}

// ---------------------------------------------------------------------------------------
// SC-01..SC-04: scope
// ---------------------------------------------------------------------------------------

#[test]
fn sc_01_malformed_scope_is_invalid_scope() {
    let h = Harness::new();
    // Raw form bodies, so each forbidden byte arrives exactly as written.
    for scope in [
        "re%22ad",      // '"'
        "re%5Cad",      // '\'
        "caf%C3%A9",    // non-ASCII
        "read%09write", // tab
        "read%7F",      // DEL
        "+",            // only a space: no scope token at all
        "read++write%0A",
    ] {
        let response = h.token(
            &post_form(format!("grant_type=client_credentials&scope={scope}"))
                .with_header("Authorization", basic(BACKEND.0, BACKEND.1)),
        );
        assert_error(&response, 400, "invalid_scope");
    }
    assert_eq!(h.stored(), 0);
}

#[test]
fn sc_01_scope_tokens_are_case_sensitive() {
    let h = Harness::new();
    let response = h.token(&basic_request(CASE.0, CASE.1, cc_body(Some("read READ"))));
    let token = assert_token(&response, "READ read");
    assert_eq!(h.record(&token).unwrap().scope.iter().count(), 2);
    // BACKEND has `read` but not `READ`.
    let response = h.token(&backend(cc_body(Some("READ"))));
    assert_error(&response, 400, "invalid_scope");
}

#[test]
fn sc_01_extra_spaces_between_tokens_are_tolerated() {
    let h = Harness::new();
    let response = h.token(&backend(cc_body(Some(" write  read "))));
    assert_token(&response, "read write");
}

#[test]
fn sc_02_disallowed_scope_is_invalid_scope_and_nothing_is_stored() {
    let h = Harness::new();
    let response = h.token(&post_request(
        POSTER.0,
        POSTER.1,
        &cc_body(Some("read admin")),
    ));
    let body = assert_error(&response, 400, "invalid_scope");
    // The description must not echo anything beyond ER-02 (checked) and nothing is issued.
    assert!(!body.contains_key("access_token"));
    assert_eq!(h.stored(), 0);
}

#[test]
fn sc_03_absent_scope_uses_the_client_default() {
    let h = Harness::new();
    assert_token(&h.token(&backend_cc()), "read");
    // An empty value counts as absent (TE-03).
    let response = h.token(&backend("grant_type=client_credentials&scope="));
    assert_token(&response, "read");
}

#[test]
fn sc_03_absent_scope_without_a_default_is_invalid_scope() {
    let h = Harness::new();
    let response = h.token(&basic_request(NO_DEFAULT.0, NO_DEFAULT.1, cc_body(None)));
    assert_error(&response, 400, "invalid_scope");
    assert_eq!(h.stored(), 0);
    // With a scope it works.
    let response = h.token(&basic_request(
        NO_DEFAULT.0,
        NO_DEFAULT.1,
        cc_body(Some("write")),
    ));
    assert_token(&response, "write");
}

#[test]
fn sc_04_scope_is_always_in_the_response_in_canonical_form() {
    let h = Harness::new();
    for (requested, issued) in [
        (Some("read"), "read"),
        (Some("write"), "write"),
        (Some("write read"), "read write"),
        (Some("read write read write"), "read write"),
        (Some("read read"), "read"),
        (Some(" read"), "read"),
        (Some("read "), "read"),
        (Some("read  write"), "read write"),
        (Some("write write read"), "read write"),
        (None, "read"),
    ] {
        let response = h.token(&backend(cc_body(requested)));
        let token = assert_token(&response, issued);
        assert_eq!(h.record(&token).unwrap().scope.as_str(), issued);
    }
}
