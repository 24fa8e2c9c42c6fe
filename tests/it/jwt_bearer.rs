//! The JWT bearer authorization grant (RFC 7523 §2.1, §3; RFC 7521 §4.1): JB-01..JB-12.
//! Assertions are signed by `jsonwebtoken`, an independent JOSE library.

use std::sync::Arc;
use std::time::SystemTime;

use async_trait::async_trait;
use grantflow::grant::{Assertion, AssertionPolicy, JwtBearer, MappedSubject, TrustedIssuer};
use grantflow::jose::{Algorithm, JwkSet, SigningKey};
use grantflow::store::MemorySingleUseStore;
use grantflow::{HttpRequest, HttpResponse, Scope, StorageError, Subject};
use serde_json::{Value, json};

use crate::support::race::{race, runtime};
use crate::support::resource::*;

const JB: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/// The workload identity system the server trusts.
const WORKLOADS: &str = "https://workloads.example.com";
const TOKEN_ENDPOINT: &str = "https://as.example.com/token";
/// A confidential client allowed the grant.
const AGENT: (&str, &str) = ("agent", "agent-secret-5");
/// A public client allowed the grant type (which it still may not use).
const PUBLIC: &str = "public-agent";

/// Maps `spiffe://…/job/<name>` subjects to `job:<name>` with scope `jobs:run jobs:read`;
/// refuses everyone else.
#[derive(Debug)]
struct Jobs;

#[async_trait]
impl AssertionPolicy for Jobs {
    async fn map(&self, a: &Assertion<'_>) -> Result<Option<MappedSubject>, StorageError> {
        assert_eq!(a.issuer, WORKLOADS);
        Ok(a.subject
            .strip_prefix("spiffe://example.com/job/")
            .map(|name| {
                MappedSubject::new(
                    Subject::new(&format!("job:{name}")),
                    Scope::parse("jobs:run jobs:read").unwrap(),
                )
            }))
    }
}

struct Jb {
    h: Harness,
    key: Arc<SigningKey>,
}

fn jb() -> Jb {
    let clients = registry();
    add_grant_client(
        &clients,
        AGENT.0,
        Some(AGENT.1),
        JB,
        "jobs:run jobs:read admin",
    );
    add_grant_client(&clients, PUBLIC, None, JB, "jobs:read");
    let key = Arc::new(SigningKey::generate(Algorithm::Es256).unwrap());
    let grant = JwtBearer::new(Arc::new(MemorySingleUseStore::new()), Arc::new(Jobs))
        .trust(TrustedIssuer::new(
            WORKLOADS,
            JwkSet::from_keys([key.public_key().clone()]).unwrap(),
        ))
        .token_endpoint(TOKEN_ENDPOINT);
    let h =
        Harness::builder(clients).build(|b| b.access_token_ttl(TTL).grant_handler(Arc::new(grant)));
    Jb { h, key }
}

/// A JWT signed by `jsonwebtoken` with `key` and `header`, claims over the defaults.
fn sign_with(
    key: &SigningKey,
    header: jsonwebtoken::Header,
    claims: Value,
    now: SystemTime,
) -> String {
    let mut all = json!({
        "iss": WORKLOADS, "sub": "spiffe://example.com/job/backup", "aud": ISSUER,
        "iat": secs(now), "exp": secs(now) + 300, "jti": format!("{:?}", std::time::Instant::now()),
    });
    for (k, v) in claims.as_object().unwrap() {
        if v.is_null() {
            all.as_object_mut().unwrap().remove(k);
        } else {
            all[k] = v.clone();
        }
    }
    let der = key.to_pkcs8_der().unwrap();
    let encoding = jsonwebtoken::EncodingKey::from_ec_der(der.expose_secret());
    jsonwebtoken::encode(&header, &all, &encoding).unwrap()
}

fn es256() -> jsonwebtoken::Header {
    jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256)
}

impl Jb {
    fn assertion(&self, claims: Value) -> String {
        sign_with(&self.key, es256(), claims, self.h.now())
    }

    fn grant(&self, client: (&str, &str), assertion: &str, extra: &str) -> HttpResponse {
        self.h.token(&basic(client).with_body(format!(
            "grant_type={}&assertion={}{extra}",
            enc(JB),
            enc(assertion)
        )))
    }
}

fn assert_invalid_grant(response: &HttpResponse) {
    assert_token_error(response, 400, "invalid_grant");
}

#[test]
fn jb_01_missing_assertion_is_invalid_request_and_a_malformed_one_invalid_grant() {
    let t = jb();
    let response =
        t.h.token(&basic(AGENT).with_body(format!("grant_type={}", enc(JB))));
    assert_token_error(&response, 400, "invalid_request");
    for bad in ["a.b.c.d.e", "a.b.c", "not a jwt", "e30.e30."] {
        assert_invalid_grant(&t.grant(AGENT, bad, ""));
    }
}

#[test]
fn jb_01_metadata_lists_the_grant_only_when_enabled() {
    assert!(jb().h.advertises_grant_type(JB));
    assert!(!Harness::new().advertises_grant_type(JB));
}

#[test]
fn jb_02_credentials_are_validated_and_required() {
    let t = jb();
    let assertion = t.assertion(json!({}));
    let response = t.grant((AGENT.0, "wrong-secret"), &assertion, "");
    assert_token_error(&response, 401, "invalid_client");
    let body = format!(
        "grant_type={}&assertion={assertion}&client_id={PUBLIC}",
        enc(JB)
    );
    assert_token_error(&t.h.token(&body), 400, "unauthorized_client");
    // Not allowed the grant type.
    assert_token_error(
        &t.grant(BACKEND, &assertion, ""),
        400,
        "unauthorized_client",
    );
}

#[test]
fn jb_03_unknown_issuer_or_another_issuers_key_is_invalid_grant() {
    let t = jb();
    let stranger = SigningKey::generate(Algorithm::Es256).unwrap();
    let now = t.h.now();
    assert_invalid_grant(&t.grant(
        AGENT,
        &sign_with(
            &stranger,
            es256(),
            json!({"iss": "https://idp.unknown"}),
            now,
        ),
        "",
    ));
    assert_invalid_grant(&t.grant(AGENT, &sign_with(&stranger, es256(), json!({}), now), ""));
    // An issuer differing only in case is another issuer.
    assert_invalid_grant(&t.grant(
        AGENT,
        &t.assertion(json!({"iss": "https://Workloads.example.com"})),
        "",
    ));
}

#[test]
fn jb_04_the_subject_is_mapped_by_the_host_or_refused() {
    let t = jb();
    let response = t.grant(AGENT, &t.assertion(json!({})), "");
    assert_eq!(response.status.as_u16(), 200, "{:?}", json(&response));
    let token = json(&response)["access_token"].as_str().unwrap().to_owned();
    let record = t.h.record(&token).unwrap();
    assert_eq!(
        record.subject.as_ref().map(|s| s.as_str()),
        Some("job:backup")
    );
    assert_eq!(record.client_id.as_str(), AGENT.0);
    assert_invalid_grant(&t.grant(AGENT, &t.assertion(json!({"sub": "alice"})), ""));
    assert_invalid_grant(&t.grant(AGENT, &t.assertion(json!({"sub": null})), ""));
}

#[test]
fn jb_05_audience_is_the_issuer_or_the_token_endpoint_exactly() {
    let t = jb();
    assert_eq!(
        t.grant(AGENT, &t.assertion(json!({"aud": TOKEN_ENDPOINT})), "")
            .status
            .as_u16(),
        200
    );
    assert_eq!(
        t.grant(AGENT, &t.assertion(json!({"aud": [ISSUER]})), "")
            .status
            .as_u16(),
        200
    );
    for aud in [
        json!("https://other-as.example"),
        json!(format!("{ISSUER}/")),
        json!(null),
    ] {
        assert_invalid_grant(&t.grant(AGENT, &t.assertion(json!({"aud": aud})), ""));
    }
}

#[test]
fn jb_06_expired_future_old_or_not_yet_valid_assertions_are_invalid_grant() {
    let t = jb();
    let now = secs(t.h.now());
    for claims in [
        json!({"exp": now - 120}),
        json!({"exp": null}),
        json!({"exp": now + 3601}),
        json!({"iat": now - 3601}),
        json!({"nbf": now + 120}),
    ] {
        assert_invalid_grant(&t.grant(AGENT, &t.assertion(claims.clone()), ""));
    }
}

#[test]
fn jb_07_jti_is_required_and_single_use() {
    let t = jb();
    assert_invalid_grant(&t.grant(AGENT, &t.assertion(json!({"jti": null})), ""));
    let assertion = t.assertion(json!({"jti": "once"}));
    assert_eq!(t.grant(AGENT, &assertion, "").status.as_u16(), 200);
    assert_invalid_grant(&t.grant(AGENT, &assertion, ""));
}

#[test]
fn jb_07_64_concurrent_copies_of_one_assertion_succeed_exactly_once() {
    let t = jb();
    let assertion = t.assertion(json!({"jti": "raced"}));
    let request: HttpRequest =
        basic(AGENT).with_body(format!("grant_type={}&assertion={assertion}", enc(JB)));
    let server = t.h.server.clone();
    let statuses = race(&runtime(4), 64, |_| {
        let (server, request) = (server.clone(), request.clone());
        async move {
            let response = server.token(&request).await.unwrap();
            (response.status.as_u16(), json(&response)["error"].clone())
        }
    });
    assert_eq!(statuses.iter().filter(|(s, _)| *s == 200).count(), 1);
    assert!(
        statuses
            .iter()
            .filter(|(s, _)| *s != 200)
            .all(|(s, e)| *s == 400 && e == "invalid_grant")
    );
}

#[test]
fn jb_08_unsigned_or_otherwise_typed_assertions_are_invalid_grant() {
    let t = jb();
    let now = t.h.now();
    // alg none.
    let good = t.assertion(json!({}));
    let payload = good.split('.').nth(1).unwrap();
    let none = format!("{}.{payload}.", base64_url(br#"{"alg":"none"}"#));
    assert_invalid_grant(&t.grant(AGENT, &none, ""));
    for typ in ["client-authentication+jwt", "at+jwt", "dpop+jwt"] {
        let mut header = es256();
        header.typ = Some(typ.to_owned());
        assert_invalid_grant(&t.grant(AGENT, &sign_with(&t.key, header, json!({}), now), ""));
    }
    let mut header = es256();
    header.typ = Some("JWT".to_owned());
    assert_eq!(
        t.grant(AGENT, &sign_with(&t.key, header, json!({}), now), "")
            .status
            .as_u16(),
        200
    );
}

fn base64_url(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

#[test]
fn jb_09_failures_reveal_no_secret() {
    let t = jb();
    let assertion = t.assertion(json!({"aud": "https://other-as.example"}));
    let response = t.grant(AGENT, &assertion, "");
    let text = String::from_utf8(response.body.clone()).unwrap();
    assert!(!text.contains(&assertion[..20]));
    assert!(is_error_text(
        json(&response)["error_description"].as_str().unwrap()
    ));
}

#[test]
fn jb_10_scope_is_limited_by_the_mapping_and_the_client() {
    let t = jb();
    let response = t.grant(AGENT, &t.assertion(json!({})), "&scope=admin");
    assert_token_error(&response, 400, "invalid_scope");
    let response = t.grant(AGENT, &t.assertion(json!({})), "&scope=jobs%3Aread");
    assert_eq!(json(&response)["scope"], "jobs:read");
    let response = t.grant(AGENT, &t.assertion(json!({})), "");
    assert_eq!(json(&response)["scope"], "jobs:read jobs:run");
}

#[test]
fn jb_11_the_token_lives_at_most_the_assertion_plus_five_minutes_without_refresh() {
    let t = jb();
    let now = secs(t.h.now());
    let response = t.grant(AGENT, &t.assertion(json!({"exp": now + 600})), "");
    let body = json(&response);
    assert!(body["expires_in"].as_u64().unwrap() <= 900);
    assert!(body.get("refresh_token").is_none());
    let response = t.grant(AGENT, &t.assertion(json!({"exp": now + 60})), "");
    assert_eq!(json(&response)["expires_in"].as_u64(), Some(360));
}

#[test]
fn jb_12_grant_and_client_assertions_do_not_stand_in_for_each_other() {
    let t = jb();
    let now = t.h.now();
    // A client assertion (iss = sub = the client, typed) presented as the grant.
    let mut header = es256();
    header.typ = Some("client-authentication+jwt".to_owned());
    let client_assertion = sign_with(
        &t.key,
        header,
        json!({"iss": AGENT.0, "sub": AGENT.0, "aud": ISSUER}),
        now,
    );
    assert_invalid_grant(&t.grant(AGENT, &client_assertion, ""));
    // A grant assertion presented as client authentication.
    let grant_assertion = t.assertion(json!({}));
    let body = format!(
        "grant_type={}&assertion={grant_assertion}&client_id={}\
         &client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer\
         &client_assertion={grant_assertion}",
        enc(JB),
        AGENT.0
    );
    assert_token_error(&t.h.token(&body), 401, "invalid_client");
}
