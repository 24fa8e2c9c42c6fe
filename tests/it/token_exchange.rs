//! Token exchange (RFC 8693): TX-01..TX-14, the MUSTs of §2.1–§2.3 and §4, the Appendix A
//! examples as far as they apply. Subject tokens come from this server's stores (opaque
//! access and refresh tokens) and from a trusted issuer (JWTs signed by `jsonwebtoken`, an
//! independent JOSE library).

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use grantflow::grant::{
    Exchange, ExchangeDecision, ExchangePolicy, Issuance, TokenExchange, TokenType, TrustedIssuer,
};
use grantflow::jose::{Algorithm, JwkSet, SigningKey};
use grantflow::{HttpResponse, MemoryTokenStore, Scope, StorageError, Subject};
use serde_json::{Value, json};

use crate::support::resource::*;

const TX: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const AT: &str = "urn:ietf:params:oauth:token-type:access_token";
const RT: &str = "urn:ietf:params:oauth:token-type:refresh_token";
const JWT: &str = "urn:ietf:params:oauth:token-type:jwt";
const IDT: &str = "urn:ietf:params:oauth:token-type:id_token";
/// The exchanging back-end services (confidential, token exchange allowed).
const SVC_A: (&str, &str) = ("svc-a", "svc-a-secret-1");
const SVC_B: (&str, &str) = ("svc-b", "svc-b-secret-2");
const SVC_C: (&str, &str) = ("svc-c", "svc-c-secret-3");
/// A public client allowed the grant type (which it still may not use: TX-01).
const PUBLIC: &str = "public-exchanger";
/// The trusted identity provider of the JWT subject tokens.
const IDP: &str = "https://idp.example.com";

/// A row of the policy refusal table: the parameter, the client, the form, the error.
type Case<'a> = (
    &'static str,
    (&'static str, &'static str),
    Vec<(&'a str, &'a str)>,
    &'static str,
);

type Decide = dyn Fn(&Exchange<'_>) -> ExchangeDecision + Send + Sync;

/// A policy given as a closure.
struct Policy(Box<Decide>);

impl std::fmt::Debug for Policy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Policy")
    }
}

#[async_trait]
impl ExchangePolicy for Policy {
    async fn decide(&self, exchange: &Exchange<'_>) -> Result<ExchangeDecision, StorageError> {
        Ok((self.0)(exchange))
    }
}

fn policy(
    decide: impl Fn(&Exchange<'_>) -> ExchangeDecision + Send + Sync + 'static,
) -> Arc<Policy> {
    Arc::new(Policy(Box::new(decide)))
}

/// The resources the server registers: the targets of the exchanges below.
const RESOURCES: [&str; 6] = [
    API,
    "https://x.example/api?v=1",
    "urn:example:r",
    "https://forbidden.example/",
    "https://backend.example.com/api",
    "urn:example:cooperation-context",
];

/// Delegation for every exchange, audience as requested.
fn delegate_all() -> Arc<Policy> {
    policy(|_| Issuance::delegation().into())
}

struct Tx {
    h: Harness,
    idp_key: Arc<SigningKey>,
}

/// The resource harness plus the exchangers, with token exchange over its token store,
/// `decide` as the policy (none: the default), and [`IDP`] trusted.
fn tx_with(decide: Option<Arc<Policy>>) -> Tx {
    tx_configured(decide, |b| b)
}

/// [`tx_with`], the server builder adjusted by `configure`.
fn tx_configured(
    decide: Option<Arc<Policy>>,
    configure: impl FnOnce(grantflow::ServerBuilder) -> grantflow::ServerBuilder,
) -> Tx {
    let clients = registry();
    for (id, secret) in [SVC_A, SVC_B, SVC_C] {
        add_grant_client(&clients, id, Some(secret), TX, "read write");
    }
    add_grant_client(&clients, PUBLIC, None, TX, "read");
    let idp_key = Arc::new(SigningKey::generate(Algorithm::Es256).unwrap());
    let idp = TrustedIssuer::new(
        IDP,
        JwkSet::from_keys([idp_key.public_key().clone()]).unwrap(),
    );
    let tokens = Arc::new(MemoryTokenStore::new());
    let mut exchange = TokenExchange::new(tokens.clone()).trust(idp);
    if let Some(decide) = decide {
        exchange = exchange.policy(decide);
    }
    let h = Harness::builder(clients)
        .token_store(tokens.clone(), tokens)
        .build(|b| {
            let mut b = b;
            // RFC 8707: the resources the tests exchange tokens for are registered, as
            // for every grant.
            for resource in RESOURCES {
                b = b.resource(resource);
            }
            configure(
                b.access_token_ttl(TTL)
                    .grant_handler(Arc::new(UserGrant))
                    .grant_handler(Arc::new(exchange)),
            )
        });
    Tx { h, idp_key }
}

fn tx() -> Tx {
    tx_with(Some(delegate_all()))
}

impl Tx {
    /// A token exchange request by `client` with the form `fields`.
    fn exchange(&self, client: (&str, &str), fields: &[(&str, &str)]) -> HttpResponse {
        let mut body = format!("grant_type={}", enc(TX));
        for (name, value) in fields {
            body.push_str(&format!("&{name}={}", enc(value)));
        }
        self.h.token(&basic(client).with_body(body))
    }

    /// Exchanges `subject` (an access token) and returns the issued token.
    fn exchanged(&self, client: (&str, &str), fields: &[(&str, &str)]) -> String {
        let response = self.exchange(client, fields);
        assert_eq!(response.status.as_u16(), 200, "{:?}", json(&response));
        json(&response)["access_token"].as_str().unwrap().to_owned()
    }

    /// A JWT from [`IDP`], signed by `jsonwebtoken` with the IdP's key, with `claims`
    /// over the defaults (iss, sub alice, aud = this server, iat now, exp now + 10 min).
    fn idp_jwt(&self, claims: Value) -> String {
        sign(&self.idp_key, IDP, claims, self.h.now())
    }
}

/// A JWT signed by `jsonwebtoken` with `key`, claims over the defaults.
fn sign(key: &SigningKey, iss: &str, claims: Value, now: SystemTime) -> String {
    let mut all = json!({
        "iss": iss, "sub": "alice", "aud": ISSUER,
        "iat": secs(now), "exp": secs(now) + 600,
    });
    for (k, v) in claims.as_object().unwrap() {
        all[k] = v.clone();
    }
    let der = key.to_pkcs8_der().unwrap();
    let encoding = jsonwebtoken::EncodingKey::from_ec_der(der.expose_secret());
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
    header.kid = key.public_key().kid().map(str::to_owned);
    jsonwebtoken::encode(&header, &all, &encoding).unwrap()
}

fn subject<'a>(token: &'a str, token_type: &'static str) -> Vec<(&'a str, &'a str)> {
    vec![("subject_token", token), ("subject_token_type", token_type)]
}

/// A user's (alice's) access and refresh token of the front end [`SPA`], scope `read write`.
fn front_end_tokens(t: &Tx) -> (String, String) {
    t.h.spa_tokens_with("scope=read+write")
}

fn error(response: &HttpResponse) -> String {
    json(response)["error"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

// ------------------------------------------------------------------------------------
// TX-01, TX-08: who may exchange
// ------------------------------------------------------------------------------------

#[test]
fn tx_01_public_client_is_unauthorized_and_unauthenticated_is_invalid_client() {
    let t = tx();
    let (access, _) = front_end_tokens(&t);
    let body = format!(
        "grant_type={}&client_id={PUBLIC}&subject_token={access}&subject_token_type={}",
        enc(TX),
        enc(AT)
    );
    assert_token_error(&t.h.token(&body), 400, "unauthorized_client");
    // No credentials at all for a confidential client's id: invalid_client.
    let body = format!(
        "grant_type={}&client_id=svc-a&subject_token={access}&subject_token_type={}",
        enc(TX),
        enc(AT)
    );
    assert_eq!(error(&t.h.token(&body)), "invalid_client");
}

#[test]
fn tx_01_metadata_lists_the_grant_only_when_enabled() {
    assert!(tx().h.advertises_grant_type(TX));
    assert!(!Harness::new().advertises_grant_type(TX));
}

#[test]
fn tx_08_without_a_policy_every_exchange_is_unauthorized_client() {
    let t = tx_with(None);
    let (access, _) = front_end_tokens(&t);
    let response = t.exchange(SVC_A, &subject(&access, AT));
    assert_token_error(&response, 400, "unauthorized_client");
    // Even a malformed one: nothing is looked at.
    assert_token_error(&t.exchange(SVC_A, &[]), 400, "unauthorized_client");
    // And the grant type is not allowed to a client without it: unauthorized_client.
    let t = tx();
    let response = t.exchange(BACKEND, &subject(&access, AT));
    assert_token_error(&response, 400, "unauthorized_client");
}

// ------------------------------------------------------------------------------------
// TX-02..TX-04: the request (RFC 8693 §2.1)
// ------------------------------------------------------------------------------------

#[test]
fn tx_02_missing_subject_token_or_type_is_invalid_request() {
    let t = tx();
    let (access, _) = front_end_tokens(&t);
    for request in [
        vec![("subject_token", access.as_str())],
        vec![("subject_token_type", AT)],
        vec![],
    ] {
        assert_token_error(&t.exchange(SVC_A, &request), 400, "invalid_request");
    }
}

#[test]
fn tx_02_actor_token_type_without_actor_token_is_invalid_request() {
    let t = tx();
    let (access, _) = front_end_tokens(&t);
    let mut request = subject(&access, AT);
    request.push(("actor_token_type", AT));
    assert_token_error(&t.exchange(SVC_A, &request), 400, "invalid_request");
    let mut request = subject(&access, AT);
    request.push(("actor_token", &access));
    assert_token_error(&t.exchange(SVC_A, &request), 400, "invalid_request");
}

#[test]
fn tx_03_audience_and_resource_may_repeat() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let t = tx_with(Some(policy(move |e| {
        log.lock().unwrap().push((
            e.audiences
                .iter()
                .map(|s| s.to_string())
                .collect::<Vec<_>>(),
            e.resources
                .iter()
                .map(|s| s.to_string())
                .collect::<Vec<_>>(),
        ));
        // The policy maps the logical names onto a registered resource.
        Issuance::delegation().audience("urn:example:r").into()
    })));
    let (access, _) = front_end_tokens(&t);
    let mut request = subject(&access, AT);
    request.extend([
        ("audience", "a"),
        ("audience", "b"),
        ("resource", "https://x.example/api?v=1"),
        ("resource", "urn:example:r"),
    ]);
    let response = t.exchange(SVC_A, &request);
    assert_eq!(response.status.as_u16(), 200, "{:?}", json(&response));
    assert_eq!(
        seen.lock().unwrap()[0],
        (
            vec!["a".to_owned(), "b".to_owned()],
            vec![
                "https://x.example/api?v=1".to_owned(),
                "urn:example:r".to_owned()
            ]
        )
    );
    // A repeated parameter that may not repeat is still refused.
    let mut request = subject(&access, AT);
    request.extend([("scope", "read"), ("scope", "read")]);
    assert_token_error(&t.exchange(SVC_A, &request), 400, "invalid_request");
}

#[test]
fn tx_03_a_resource_with_a_fragment_is_invalid_target() {
    let t = tx();
    let (access, _) = front_end_tokens(&t);
    for bad in ["https://x/#f", "not-a-uri"] {
        let mut request = subject(&access, AT);
        request.push(("resource", bad));
        assert_token_error(&t.exchange(SVC_A, &request), 400, "invalid_target");
    }
}

#[test]
fn tx_04_saml_and_unknown_token_types_are_invalid_request() {
    let t = tx();
    let (access, _) = front_end_tokens(&t);
    for token_type in [
        "urn:ietf:params:oauth:token-type:saml2",
        "urn:ietf:params:oauth:token-type:saml1",
        "urn:ietf:params:oauth:token-type:ACCESS_TOKEN",
        "urn:example:custom",
    ] {
        let response = t.exchange(
            SVC_A,
            &[
                ("subject_token", &access),
                ("subject_token_type", token_type),
            ],
        );
        assert_token_error(&response, 400, "invalid_request");
    }
    let mut request = subject(&access, AT);
    request.push(("requested_token_type", IDT));
    assert_token_error(&t.exchange(SVC_A, &request), 400, "invalid_request");
    // The one supported requested type is accepted.
    let mut request = subject(&access, AT);
    request.push(("requested_token_type", AT));
    assert_eq!(t.exchange(SVC_A, &request).status.as_u16(), 200);
}

// ------------------------------------------------------------------------------------
// TX-05, TX-06: validation of the subject and actor tokens (RFC 8693 §2.1, §2.2.2)
// ------------------------------------------------------------------------------------

#[test]
fn tx_05_revoked_expired_unknown_or_mistyped_subject_tokens_are_invalid_request() {
    let t = tx();
    let (access, refresh) = front_end_tokens(&t);
    // A refresh token presented as an access token, and the reverse.
    assert_token_error(
        &t.exchange(SVC_A, &subject(&refresh, AT)),
        400,
        "invalid_request",
    );
    assert_token_error(
        &t.exchange(SVC_A, &subject(&access, RT)),
        400,
        "invalid_request",
    );
    // Unknown.
    assert_token_error(
        &t.exchange(SVC_A, &subject("no-such-token", AT)),
        400,
        "invalid_request",
    );
    // Revoked (by the client it was issued to).
    let (access2, _) = front_end_tokens(&t);
    let revoked =
        t.h.revoke(&form().with_body(format!("token={access2}&client_id={SPA}")));
    assert_eq!(revoked.status.as_u16(), 200);
    let response = t.exchange(SVC_A, &subject(&access2, AT));
    assert_token_error(&response, 400, "invalid_request");
    // Expired.
    t.h.advance(TTL);
    let response = t.exchange(SVC_A, &subject(&access, AT));
    assert_eq!(
        json(&response)["error"],
        "invalid_request",
        "not invalid_grant"
    );
}

#[test]
fn tx_05_a_rotated_out_refresh_token_is_invalid_request() {
    let t = tx();
    let (_, refresh) = front_end_tokens(&t);
    let rotated = t.h.token(&format!(
        "grant_type=refresh_token&refresh_token={refresh}&client_id={SPA}"
    ));
    assert_eq!(rotated.status.as_u16(), 200);
    let response = t.exchange(SVC_A, &subject(&refresh, RT));
    assert_token_error(&response, 400, "invalid_request");
    let fresh = json(&rotated)["refresh_token"].as_str().unwrap().to_owned();
    assert_eq!(t.exchange(SVC_A, &subject(&fresh, RT)).status.as_u16(), 200);
}

#[test]
fn tx_05_jwt_subject_from_a_trusted_issuer_is_accepted_and_mapped_by_policy() {
    let t = tx_with(Some(policy(|e| {
        let sub = e.subject.subject.as_ref().unwrap().as_str();
        assert!(!e.subject.is_local());
        assert_eq!(&*e.subject.issuer, IDP);
        Issuance::impersonation()
            .subject(Subject::new(&format!("idp|{sub}")))
            .scope(Scope::parse("read").unwrap())
            .into()
    })));
    let jwt = t.idp_jwt(json!({}));
    let token = t.exchanged(SVC_A, &subject(&jwt, JWT));
    let info = t.h.introspect_as_rs(&token);
    assert_eq!(info["sub"], "idp|alice");
    assert_eq!(info["client_id"], SVC_A.0);
    // The same JWT as an ID token type is accepted as well.
    assert_eq!(t.exchange(SVC_A, &subject(&jwt, IDT)).status.as_u16(), 200);
}

#[test]
fn tx_05_jwts_of_untrusted_issuers_keys_or_audiences_are_invalid_request() {
    let t = tx();
    let stranger = SigningKey::generate(Algorithm::Es256).unwrap();
    let now = t.h.now();
    for jwt in [
        // Signed by a key the trusted issuer does not have.
        sign(&stranger, IDP, json!({}), now),
        // An issuer nobody trusts, with its own key.
        sign(&stranger, "https://idp.unknown", json!({}), now),
        // The trusted issuer's key, for another audience.
        t.idp_jwt(json!({"aud": "https://other-as.example"})),
        // Expired.
        t.idp_jwt(json!({"exp": secs(now) - 120})),
        // An access token typed for another use is not a plain JWT: no `sub`.
        t.idp_jwt(json!({"sub": null})),
    ] {
        let response = t.exchange(SVC_A, &subject(&jwt, JWT));
        assert_token_error(&response, 400, "invalid_request");
    }
    // A garbled token.
    let response = t.exchange(SVC_A, &subject("a.b.c", JWT));
    assert_token_error(&response, 400, "invalid_request");
}

#[test]
fn tx_05_a_foreign_subject_the_policy_does_not_map_is_invalid_request() {
    let t = tx();
    let jwt = t.idp_jwt(json!({}));
    let response = t.exchange(SVC_A, &subject(&jwt, JWT));
    assert_token_error(&response, 400, "invalid_request");
}

#[test]
fn tx_06_a_policy_refusal_for_every_parameter() {
    // The policy refuses when one parameter has a given value; each row sends it.
    let t = tx_with(Some(policy(|e| {
        if e.subject
            .subject
            .as_ref()
            .is_some_and(|s| s.as_str() == "mallory")
        {
            return ExchangeDecision::Refuse;
        }
        if e.actor
            .is_some_and(|a| a.client_id.as_ref().is_some_and(|c| c.as_str() == OTHER.0))
        {
            return ExchangeDecision::Refuse;
        }
        if e.resources.contains(&"https://forbidden.example/") || e.audiences.contains(&"forbidden")
        {
            return ExchangeDecision::RefuseTarget;
        }
        if e.scope.is_some_and(|s| s.contains("write")) {
            return ExchangeDecision::Refuse;
        }
        if e.client.id().as_str() == SVC_C.0 {
            return ExchangeDecision::RefuseClient;
        }
        assert_eq!(e.requested_token_type, TokenType::AccessToken);
        Issuance::delegation().into()
    })));
    let (access, _) = front_end_tokens(&t);
    let (mallory, _) = t.h.user_tokens(BACKEND, "sub=mallory");
    let (other, _) = t.h.user_tokens(OTHER, "sub=bob");
    let base = subject(&access, AT);
    let with = |extra: &[(&'static str, &'static str)]| {
        let mut request = base.clone();
        request.extend_from_slice(extra);
        request
    };
    let mut with_actor = base.clone();
    with_actor.extend([("actor_token", other.as_str()), ("actor_token_type", AT)]);
    let cases: [Case<'_>; 6] = [
        (
            "subject_token",
            SVC_A,
            subject(&mallory, AT),
            "invalid_request",
        ),
        ("actor_token", SVC_A, with_actor, "invalid_request"),
        (
            "resource",
            SVC_A,
            with(&[("resource", "https://forbidden.example/")]),
            "invalid_target",
        ),
        (
            "audience",
            SVC_A,
            with(&[("audience", "forbidden")]),
            "invalid_target",
        ),
        (
            "scope",
            SVC_A,
            with(&[("scope", "read write")]),
            "invalid_request",
        ),
        ("client", SVC_C, base.clone(), "unauthorized_client"),
    ];
    for (parameter, client, request, expected) in cases {
        let response = t.exchange(client, &request);
        assert_eq!(error(&response), expected, "{parameter}");
        assert_eq!(response.status.as_u16(), 400, "{parameter}");
    }
    // And without any of them, the exchange goes through.
    assert_eq!(t.exchange(SVC_A, &base).status.as_u16(), 200);
}

#[test]
fn tx_06_several_targets_without_a_policy_choice_are_invalid_target() {
    let t = tx();
    let (access, _) = front_end_tokens(&t);
    let mut request = subject(&access, AT);
    request.extend([("audience", "a"), ("audience", "b")]);
    assert_token_error(&t.exchange(SVC_A, &request), 400, "invalid_target");
    // One target becomes the audience.
    let mut request = subject(&access, AT);
    request.push(("resource", API));
    let token = t.exchanged(SVC_A, &request);
    assert_eq!(
        t.h.record(&token)
            .unwrap()
            .audience
            .iter()
            .collect::<Vec<_>>(),
        [API]
    );
}

// ------------------------------------------------------------------------------------
// TX-07, TX-09: the response and narrowing (RFC 8693 §2.2.1)
// ------------------------------------------------------------------------------------

#[test]
fn tx_07_success_response_members_and_headers() {
    let t = tx();
    let (access, _) = front_end_tokens(&t);
    let mut request = subject(&access, AT);
    request.push(("scope", "read"));
    let response = t.exchange(SVC_A, &request);
    assert_eq!(response.status.as_u16(), 200);
    assert_token_headers(&response);
    let body = json(&response);
    assert_eq!(body["issued_token_type"], AT);
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["scope"], "read");
    assert!(body["expires_in"].as_u64().unwrap() > 0);
    assert!(
        body.get("refresh_token").is_none(),
        "no refresh token by default"
    );
}

#[test]
fn tx_09_scope_beyond_the_subject_token_is_invalid_scope() {
    let t = tx();
    let (access, _) = t.h.spa_tokens_with("scope=read");
    let mut request = subject(&access, AT);
    request.push(("scope", "read write"));
    assert_token_error(&t.exchange(SVC_A, &request), 400, "invalid_scope");
    // Without `scope`: the subject token's scope.
    let response = t.exchange(SVC_A, &subject(&access, AT));
    assert_eq!(json(&response)["scope"], "read");
}

#[test]
fn tx_09_the_exchanged_token_does_not_outlive_the_subject_token_unless_the_policy_says_so() {
    let t = tx();
    let (access, _) = front_end_tokens(&t);
    // The subject token has 5 minutes left.
    t.h.advance(TTL - Duration::from_secs(300));
    let response = t.exchange(SVC_A, &subject(&access, AT));
    assert!(json(&response)["expires_in"].as_u64().unwrap() <= 300);
    let token = json(&response)["access_token"].as_str().unwrap().to_owned();
    assert!(t.h.record(&token).unwrap().expires_at <= t.h.record(&access).unwrap().expires_at);
    // Explicitly allowed: the full lifetime, and a wider scope.
    let t2 = tx_with(Some(policy(|_| {
        Issuance::impersonation()
            .outliving_subject()
            .scope(Scope::parse("read write").unwrap())
            .into()
    })));
    let (access, _) = t2.h.spa_tokens_with("scope=read");
    t2.h.advance(TTL - Duration::from_secs(300));
    let response = t2.exchange(SVC_A, &subject(&access, AT));
    assert_eq!(json(&response)["expires_in"].as_u64(), Some(TTL.as_secs()));
    assert_eq!(json(&response)["scope"], "read write");
    // The exchange itself leaves the subject token alone.
    assert!(t2.h.is_active(&access));
}

// ------------------------------------------------------------------------------------
// TX-10: lineage
// ------------------------------------------------------------------------------------

#[test]
fn tx_10_revoking_the_subjects_grant_revokes_the_exchanged_token() {
    let t = tx();
    let (access, refresh) = front_end_tokens(&t);
    let exchanged = t.exchanged(SVC_A, &subject(&access, AT));
    assert!(t.h.is_active(&exchanged));
    // Revoking the front end's refresh token revokes its grant.
    let revoked =
        t.h.revoke(&form().with_body(format!("token={refresh}&client_id={SPA}")));
    assert_eq!(revoked.status.as_u16(), 200);
    assert_eq!(t.h.introspect_as_rs(&exchanged)["active"], false);
}

#[test]
fn tx_10_refresh_token_reuse_revokes_the_exchanged_token() {
    let t = tx();
    let (access, refresh) = front_end_tokens(&t);
    let exchanged = t.exchanged(SVC_A, &subject(&access, AT));
    let refresh_once = format!("grant_type=refresh_token&refresh_token={refresh}&client_id={SPA}");
    assert_eq!(t.h.token(&refresh_once).status.as_u16(), 200);
    t.h.advance(Duration::from_secs(120));
    assert_eq!(t.h.token(&refresh_once).status.as_u16(), 400);
    assert!(!t.h.is_active(&exchanged));
}

#[test]
fn tx_10_a_subject_token_revoked_between_two_exchanges() {
    let t = tx();
    let (access, _) = front_end_tokens(&t);
    let first = t.exchanged(SVC_A, &subject(&access, AT));
    let revoked =
        t.h.revoke(&form().with_body(format!("token={access}&client_id={SPA}")));
    assert_eq!(revoked.status.as_u16(), 200);
    let response = t.exchange(SVC_A, &subject(&access, AT));
    assert_token_error(&response, 400, "invalid_request");
    // Revoking one access token is not revoking the grant: the first exchange stands.
    assert!(t.h.is_active(&first));
}

#[test]
fn tx_10_revoking_the_exchanged_token_leaves_the_subject_alone() {
    let t = tx();
    let (access, _) = front_end_tokens(&t);
    let exchanged = t.exchanged(SVC_A, &subject(&access, AT));
    let revoked =
        t.h.revoke(&basic(SVC_A).with_body(format!("token={exchanged}")));
    assert_eq!(revoked.status.as_u16(), 200);
    assert!(!t.h.is_active(&exchanged));
    assert!(t.h.is_active(&access));
}

// ------------------------------------------------------------------------------------
// TX-11..TX-14: act, may_act, claims (RFC 8693 §4)
// ------------------------------------------------------------------------------------

/// Three delegations in turn: A exchanges the user's token, B exchanges A's, C exchanges
/// B's.
fn chain_of_three(t: &Tx) -> String {
    let (access, _) = front_end_tokens(t);
    let by_a = t.exchanged(SVC_A, &subject(&access, AT));
    let by_b = t.exchanged(SVC_B, &subject(&by_a, AT));
    t.exchanged(SVC_C, &subject(&by_b, AT))
}

#[test]
fn tx_11_three_delegations_nest_the_act_chain_in_introspection() {
    let t = tx();
    let by_c = chain_of_three(&t);
    let info = t.h.introspect_as_rs(&by_c);
    assert_eq!(info["sub"], "alice");
    assert_eq!(
        info["act"],
        json!({"sub": "svc-c", "act": {"sub": "svc-b", "act": {"sub": "svc-a"}}})
    );
    // Identity claims only inside `act`.
    let mut act = &info["act"];
    while act.is_object() {
        assert!(act.get("exp").is_none() && act.get("aud").is_none() && act.get("nbf").is_none());
        act = &act["act"];
    }
}

#[test]
fn tx_11_jwt_access_tokens_carry_the_nested_act_chain() {
    use grantflow::jose::{JwtAccessTokens, KeySet, MemoryKeySetStore};
    let keys = KeySet::builder(ISSUER, Arc::new(MemoryKeySetStore::new()))
        .build()
        .unwrap();
    block_on(keys.bootstrap(
        Arc::new(SigningKey::generate(Algorithm::Es256).unwrap()),
        t0(),
    ))
    .unwrap();
    let t = tx_configured(Some(delegate_all()), |b| {
        b.signing_keys(keys)
            .jwt_access_tokens(JwtAccessTokens::new("https://default.example"))
    });
    let by_c = chain_of_three(&t);
    let payload = by_c.split('.').nth(1).unwrap();
    let claims: Value = serde_json::from_slice(
        &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, payload)
            .unwrap(),
    )
    .unwrap();
    assert_eq!(claims["sub"], "alice");
    assert_eq!(claims["client_id"], SVC_C.0);
    assert_eq!(
        claims["act"],
        json!({"sub": "svc-c", "act": {"sub": "svc-b", "act": {"sub": "svc-a"}}})
    );
    // TX-12 at a resource server verifying offline: the current actor, and the chain apart.
    let guard = block_on(t.h.server.jwt_bearer_guard("https://default.example")).unwrap();
    let request = bearer(&by_c);
    let info = block_on(guard.check(&request, &Scope::parse("read").unwrap())).unwrap();
    assert_eq!(info.actor().map(|a| a.subject), Some("svc-c"));
    assert_eq!(info.actor_chain().count(), 3);
}

#[test]
fn tx_11_impersonation_issues_no_act() {
    let t = tx_with(Some(policy(|_| Issuance::impersonation().into())));
    let (access, _) = front_end_tokens(&t);
    let token = t.exchanged(SVC_A, &subject(&access, AT));
    let info = t.h.introspect_as_rs(&token);
    assert!(info.get("act").is_none());
    assert_eq!(info["sub"], "alice");
}

#[test]
fn tx_11_the_actor_token_subject_is_the_actor() {
    let t = tx();
    let (access, _) = front_end_tokens(&t);
    let (actor, _) = t.h.user_tokens(BACKEND, "sub=robot-7");
    let mut request = subject(&access, AT);
    request.extend([("actor_token", actor.as_str()), ("actor_token_type", AT)]);
    let token = t.exchanged(SVC_A, &request);
    assert_eq!(
        t.h.introspect_as_rs(&token)["act"],
        json!({"sub": "robot-7"})
    );
}

#[test]
fn tx_12_the_guard_exposes_the_current_actor_and_the_chain_apart() {
    let t = tx();
    let by_c = chain_of_three(&t);
    let request = bearer(&by_c);
    let info = block_on(
        t.h.server
            .bearer_guard()
            .check(&request, &Scope::parse("read").unwrap()),
    )
    .unwrap();
    assert_eq!(info.actor().map(|a| a.subject), Some("svc-c"));
    let chain: Vec<_> = info.actor_chain().map(|a| a.subject).collect();
    assert_eq!(chain, ["svc-c", "svc-b", "svc-a"]);
}

#[test]
fn tx_13_may_act_must_name_the_actor() {
    let t = tx_with(Some(policy(|e| {
        Issuance::delegation()
            .subject(Subject::new(e.subject.subject.as_ref().unwrap().as_str()))
            .scope(Scope::parse("read").unwrap())
            .into()
    })));
    let jwt = t.idp_jwt(json!({"may_act": {"sub": "admin@example.com"}}));
    let (bob, _) = t.h.user_tokens(BACKEND, "sub=bob@example.com");
    let (admin, _) = t.h.user_tokens(BACKEND, "sub=admin@example.com");
    let mut request = subject(&jwt, JWT);
    request.extend([("actor_token", bob.as_str()), ("actor_token_type", AT)]);
    assert_token_error(&t.exchange(SVC_A, &request), 400, "invalid_request");
    let mut request = subject(&jwt, JWT);
    request.extend([("actor_token", admin.as_str()), ("actor_token_type", AT)]);
    let token = t.exchanged(SVC_A, &request);
    assert_eq!(
        t.h.introspect_as_rs(&token)["act"],
        json!({"sub": "admin@example.com"})
    );
    // Without an actor token the actor is the client, which may_act does not name.
    assert_token_error(
        &t.exchange(SVC_A, &subject(&jwt, JWT)),
        400,
        "invalid_request",
    );
}

#[test]
fn tx_13_a_jwt_subjects_own_act_chain_is_nested() {
    let t = tx_with(Some(policy(|_| {
        Issuance::delegation()
            .subject(Subject::new("alice"))
            .scope(Scope::parse("read").unwrap())
            .into()
    })));
    let jwt = t.idp_jwt(json!({"act": {"sub": "gateway", "exp": 1}}));
    let token = t.exchanged(SVC_A, &subject(&jwt, JWT));
    // The claim's non-identity members are dropped.
    assert_eq!(
        t.h.introspect_as_rs(&token)["act"],
        json!({"sub": "svc-a", "act": {"sub": "gateway"}})
    );
    // A malformed act claim makes the subject token invalid.
    let bad = t.idp_jwt(json!({"act": "gateway"}));
    assert_token_error(
        &t.exchange(SVC_A, &subject(&bad, JWT)),
        400,
        "invalid_request",
    );
}

#[test]
fn tx_14_the_exchanged_token_belongs_to_the_requesting_client() {
    let t = tx();
    let (access, _) = front_end_tokens(&t);
    let token = t.exchanged(SVC_A, &subject(&access, AT));
    let info = t.h.introspect_as_rs(&token);
    assert_eq!(info["client_id"], SVC_A.0);
    assert_eq!(t.h.introspect_as_rs(&access)["client_id"], SPA);
}

// ------------------------------------------------------------------------------------
// RFC 8693 Appendix A
// ------------------------------------------------------------------------------------

/// A.1 (impersonation): a resource server exchanges the access token it received for one
/// to call a back-end, `resource=https://backend.example.com/api`.
#[test]
fn rfc8693_a_1_impersonation_for_a_backend_resource() {
    let t = tx_with(Some(policy(|e| {
        if e.resources == ["https://backend.example.com/api"] {
            Issuance::impersonation().into()
        } else {
            ExchangeDecision::RefuseTarget
        }
    })));
    let (access, _) = front_end_tokens(&t);
    let response = t.exchange(
        SVC_A,
        &[
            ("resource", "https://backend.example.com/api"),
            ("subject_token", &access),
            ("subject_token_type", AT),
        ],
    );
    assert_eq!(response.status.as_u16(), 200);
    let body = json(&response);
    assert_eq!(body["issued_token_type"], AT);
    assert_eq!(body["token_type"], "Bearer");
    let token = body["access_token"].as_str().unwrap();
    let record = t.h.record(token).unwrap();
    assert_eq!(
        record.audience.iter().collect::<Vec<_>>(),
        ["https://backend.example.com/api"]
    );
    assert_eq!(record.actor, None);
}

/// A.2 (delegation): a subject token and an actor token, the issued token records the
/// actor in `act`.
#[test]
fn rfc8693_a_2_delegation_with_an_actor_token() {
    let t = tx();
    let (access, _) = front_end_tokens(&t);
    let (actor, _) =
        t.h.user_tokens(BACKEND, "sub=https://service16.example.com");
    let response = t.exchange(
        SVC_A,
        &[
            ("audience", "urn:example:cooperation-context"),
            ("subject_token", &access),
            ("subject_token_type", AT),
            ("actor_token", &actor),
            ("actor_token_type", AT),
        ],
    );
    assert_eq!(response.status.as_u16(), 200, "{:?}", json(&response));
    let token = json(&response)["access_token"].as_str().unwrap().to_owned();
    // Restricted to its audience, so introspected as the record holds it.
    let record = t.h.record(&token).unwrap();
    assert_eq!(
        record.audience.iter().collect::<Vec<_>>(),
        ["urn:example:cooperation-context"]
    );
    assert_eq!(
        record.actor.map(|a| a.to_json()).as_deref(),
        Some(r#"{"sub":"https://service16.example.com"}"#)
    );
}
