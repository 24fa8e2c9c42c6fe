//! Signed request objects (RFC 9101): by value at the authorization endpoint and pushed
//! (JR-01 to JR-09, JR-12, JR-14, JR-15). Every object is signed by an independent JWT
//! library (`jsonwebtoken` on RustCrypto), right and hostile ones: `alg: none`, another
//! client's key, HS256 keyed with the public key, a wrong `client_id`, `iss` or `aud`,
//! expired or too long-lived, replayed, nested references, wrong types, oversized.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use grantflow::authorize::{AuthorizeError, PendingAuthorization};
use grantflow::jose::{Algorithm, JwkSet};
use grantflow::store::MemoryPushedRequestStore;
use grantflow::*;
use jsonwebtoken::{EncodingKey, Header};
use serde_json::{Value, json};

use crate::client_assertion::{Keys, sign_with};
use crate::support::authz::{
    CHALLENGE, CONF_SECRET, Harness, PKCE, VERIFIER, assert_location_error, basic, block_on, enc,
    json, location, location_param, post_form, redirect_error, register, rejected,
};
use crate::support::harness::ISSUER;
use crate::support::token::assert_error;

/// A public client whose objects may use any asymmetric algorithm (ES256 and PS256 keys).
const PUB: &str = "jar-public";
const PUB_CB: &str = "https://pub.example.com/cb";
/// A confidential client (`client_secret_basic`) registered for ES256 objects.
const CONF: &str = "jar-conf";
const CONF_CB: &str = "https://conf.example.com/cb";
/// A public client with the PS256 key only: "another client".
const OTHER: &str = "jar-other";
/// A confidential client held to signed request objects.
const STRICT: &str = "jar-strict";
/// A public client without keys.
const PLAIN: &str = "jar-plain";

struct Fixture {
    h: Harness,
    keys: Keys,
}

fn fixture_with(configure: impl FnOnce(ServerBuilder) -> ServerBuilder) -> Fixture {
    let keys = Keys::new();
    let both = keys.both();
    let secret = ClientSecret::from_presented(CONF_SECRET.to_owned());
    let code = |b: ClientBuilder, cb: &str| {
        b.grant_type(GrantType::AUTHORIZATION_CODE)
            .allowed_scope("read write admin")
            .default_scope("read")
            .redirect_uri(cb)
    };
    let registry = register([
        code(Client::builder(PUB, ClientType::Public), PUB_CB).jwks(both.clone()),
        code(Client::builder(CONF, ClientType::Confidential), CONF_CB)
            .secret(&secret)
            .jwks(both)
            .request_object_signing_alg(Algorithm::Es256),
        code(Client::builder(OTHER, ClientType::Public), PUB_CB)
            .jwks(JwkSet::from_keys([keys.ps256.public_key().clone()]).unwrap()),
        code(Client::builder(STRICT, ClientType::Confidential), CONF_CB)
            .secret(&secret)
            .jwks(JwkSet::from_keys([keys.es256.public_key().clone()]).unwrap())
            .require_signed_request_object(true),
        code(Client::builder(PLAIN, ClientType::Public), PUB_CB),
    ]);
    let store = Arc::new(MemoryPushedRequestStore::new());
    let h =
        Harness::builder(Arc::new(registry)).build(|b| configure(b.pushed_authorization(store)));
    Fixture { h, keys }
}

fn fixture() -> Fixture {
    fixture_with(|b| b)
}

fn secs(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH).unwrap().as_secs()
}

/// The claims of a good request object of `client` to `cb` at `now`.
fn claims(client: &str, cb: &str, now: SystemTime) -> Value {
    json!({
        "iss": client,
        "aud": ISSUER,
        "client_id": client,
        "response_type": "code",
        "redirect_uri": cb,
        "scope": "read",
        "state": "s-obj",
        "code_challenge": CHALLENGE,
        "code_challenge_method": "S256",
        "iat": secs(now),
        "exp": secs(now) + 60,
        "jti": format!("jti-{}", rand::random::<u64>()),
    })
}

fn set(mut claims: Value, name: &str, value: Value) -> Value {
    claims[name] = value;
    claims
}

fn without(mut claims: Value, name: &str) -> Value {
    claims.as_object_mut().unwrap().remove(name);
    claims
}

impl Fixture {
    fn claims(&self, client: &str) -> Value {
        let cb = if client == CONF || client == STRICT {
            CONF_CB
        } else {
            PUB_CB
        };
        claims(client, cb, self.h.now())
    }

    /// `claims` signed ES256 by the ES256 key, typed `oauth-authz-req+jwt`.
    fn es256(&self, claims: &Value) -> String {
        sign_with(
            &self.keys.es256,
            jsonwebtoken::Algorithm::ES256,
            Some("oauth-authz-req+jwt"),
            claims,
        )
    }

    fn ps256(&self, claims: &Value) -> String {
        sign_with(
            &self.keys.ps256,
            jsonwebtoken::Algorithm::PS256,
            None,
            claims,
        )
    }

    /// `/authorize?client_id=<client>&request=<object>` and `extra`.
    fn authorize(
        &self,
        client: &str,
        object: &str,
        extra: &str,
    ) -> Result<PendingAuthorization, AuthorizeError> {
        self.h
            .authorize(&format!("client_id={client}&request={object}{extra}"))
    }

    /// `POST /par` as `client` (Basic) with `body`.
    fn push(&self, client: &str, body: &str) -> HttpResponse {
        let request = post_form(body).with_header("authorization", basic(client, CONF_SECRET));
        block_on(self.h.server.pushed_authorization(&request)).unwrap()
    }
}

/// A local `invalid_request_object` whose description shows no part of the object.
#[track_caller]
fn local_object_error(result: Result<PendingAuthorization, AuthorizeError>) {
    let error = rejected(result);
    assert_eq!(error.code().as_str(), "invalid_request_object", "{error:?}");
    assert!(!error.description().unwrap_or("").contains("eyJ"));
    assert!(error.to_response().header("location").is_none());
}

fn approve(
    pending: PendingAuthorization,
) -> Result<HttpResponse, grantflow::authorize::ApproveError> {
    let scope = pending.requested_scope().clone();
    block_on(pending.approve(Subject::new("alice"), scope))
}

// ---------------------------------------------------------------------------------------
// The happy paths: only the object counts
// ---------------------------------------------------------------------------------------

#[test]
fn jr_05_the_object_is_the_request_and_leads_to_tokens() {
    let f = fixture();
    let object = f.es256(&f.claims(PUB));
    // The query's scope, state and redirect URI are ignored.
    let pending = f
        .authorize(
            PUB,
            &object,
            "&scope=admin&state=q&response_type=token&redirect_uri=https%3A%2F%2Fevil.example",
        )
        .expect("the signed request");
    assert_eq!(pending.requested_scope().as_str(), "read");
    assert_eq!(pending.state(), Some("s-obj"));
    assert_eq!(pending.redirect_uri(), PUB_CB);
    let response = approve(pending).unwrap();
    assert!(location(&response).starts_with(PUB_CB));
    assert_eq!(location_param(&response, "state").as_deref(), Some("s-obj"));
    let code = location_param(&response, "code").unwrap();
    let token = f.h.token(&format!(
        "grant_type=authorization_code&code={code}&client_id={PUB}&code_verifier={VERIFIER}&redirect_uri={}",
        enc(PUB_CB)
    ));
    assert_eq!(token.status.as_u16(), 200, "{}", json(&token));
}

#[test]
fn jr_05_query_only_parameters_are_not_merged() {
    let f = fixture();
    let object = f.es256(&without(f.claims(PUB), "state"));
    let pending = f.authorize(PUB, &object, "&state=q").unwrap();
    assert_eq!(pending.state(), None);
    let response = approve(pending).unwrap();
    assert_eq!(location_param(&response, "state"), None);
}

#[test]
fn jr_09_explicit_generic_and_absent_types_are_accepted() {
    let f = fixture();
    for typ in [Some("oauth-authz-req+jwt"), Some("JWT"), None] {
        let object = sign_with(
            &f.keys.es256,
            jsonwebtoken::Algorithm::ES256,
            typ,
            &f.claims(PUB),
        );
        drop(f.authorize(PUB, &object, "").expect("accepted"));
    }
}

#[test]
fn jr_04_a_client_without_a_registered_algorithm_may_use_any_asymmetric_one() {
    let f = fixture();
    drop(
        f.authorize(PUB, &f.ps256(&f.claims(PUB)), "")
            .expect("PS256"),
    );
    drop(
        f.authorize(PUB, &f.es256(&f.claims(PUB)), "")
            .expect("ES256"),
    );
}

#[test]
fn jr_06_numbers_objects_and_arrays_keep_their_types() {
    let f = fixture();
    let object = f.es256(&set(
        f.claims(PUB),
        "resource",
        json!(["https://rs.example.com/a"]),
    ));
    // An unknown resource: the request is judged on the object's `resource` array.
    let response = redirect_error(f.authorize(PUB, &object, ""));
    assert_location_error(&response, "invalid_target");
}

// ---------------------------------------------------------------------------------------
// JR-01, JR-02: support and error routing
// ---------------------------------------------------------------------------------------

#[test]
fn jr_01_request_and_request_uri_together_are_a_local_invalid_request() {
    let f = fixture();
    let object = f.es256(&f.claims(PUB));
    let error = rejected(f.authorize(
        PUB,
        &object,
        "&request_uri=urn%3Aietf%3Aparams%3Aoauth%3Arequest_uri%3Aabc",
    ));
    assert_eq!(error.code().as_str(), "invalid_request");
    let error = rejected(f.authorize(PUB, &object, &format!("&request={object}")));
    assert_eq!(error.code().as_str(), "invalid_request");
}

#[test]
fn jr_02_client_id_is_required_beside_the_object() {
    let f = fixture();
    let object = f.es256(&f.claims(PUB));
    let error = rejected(f.h.authorize(&format!("request={object}")));
    assert_eq!(error.code().as_str(), "invalid_request");
}

#[test]
fn jr_02_jr_04_an_object_signed_with_another_clients_key_is_a_local_error() {
    let f = fixture();
    // OTHER's key signs an object for a client that registered only the ES256 key...
    let registry = register([Client::builder("es-only", ClientType::Public)
        .grant_type(GrantType::AUTHORIZATION_CODE)
        .allowed_scope("read")
        .redirect_uri(PUB_CB)
        .jwks(JwkSet::from_keys([f.keys.es256.public_key().clone()]).unwrap())]);
    let h = Harness::builder(Arc::new(registry)).build(|b| b);
    let object = f.ps256(&claims("es-only", PUB_CB, h.now()));
    local_object_error(block_on(h.server.authorize(&crate::support::authz::get(
        &format!("client_id=es-only&request={object}"),
    ))));
    // ... and a client's object presented for another client fails on iss and client_id.
    let theirs = f.ps256(&f.claims(OTHER));
    local_object_error(f.authorize(PUB, &theirs, ""));
}

#[test]
fn jr_04_alg_none_is_refused() {
    let f = fixture();
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"oauth-authz-req+jwt"}"#);
    let payload = URL_SAFE_NO_PAD.encode(f.claims(PUB).to_string());
    for object in [
        format!("{header}.{payload}."),
        format!("{header}.{payload}.c2ln"),
    ] {
        local_object_error(f.authorize(PUB, &object, ""));
    }
}

#[test]
fn jr_04_hs256_keyed_with_the_clients_public_key_is_refused() {
    let f = fixture();
    for secret in [
        f.keys.es256.public_key().to_json(),
        JwkSet::from_keys([f.keys.es256.public_key().clone()])
            .unwrap()
            .to_json(),
    ] {
        let object = jsonwebtoken::encode(
            &Header::new(jsonwebtoken::Algorithm::HS256),
            &f.claims(PUB),
            &EncodingKey::from_secret(secret.as_bytes()).unwrap(),
        )
        .unwrap();
        local_object_error(f.authorize(PUB, &object, ""));
    }
}

#[test]
fn jr_04_the_registered_algorithm_is_the_only_one() {
    let f = fixture();
    // CONF registered ES256; its set also holds the PS256 key.
    local_object_error(f.authorize(CONF, &f.ps256(&f.claims(CONF)), ""));
    drop(
        f.authorize(CONF, &f.es256(&f.claims(CONF)), "")
            .expect("ES256"),
    );
}

#[test]
fn jr_04_a_client_without_keys_cannot_send_objects() {
    let f = fixture();
    local_object_error(f.authorize(PLAIN, &f.es256(&f.claims(PLAIN)), ""));
}

#[test]
fn jr_02_a_tampered_payload_is_a_local_error() {
    let f = fixture();
    let object = f.es256(&f.claims(PUB));
    let mut parts: Vec<String> = object.split('.').map(str::to_owned).collect();
    parts[1] = URL_SAFE_NO_PAD.encode(set(f.claims(PUB), "scope", json!("admin")).to_string());
    local_object_error(f.authorize(PUB, &parts.join("."), ""));
}

// ---------------------------------------------------------------------------------------
// JR-03, JR-07, JR-08, JR-09: claims, freshness, encryption, type
// ---------------------------------------------------------------------------------------

#[test]
fn jr_03_client_id_must_match_the_query() {
    let f = fixture();
    // Signed by PUB's key, `iss` PUB, but naming OTHER as client_id.
    let object = f.es256(&set(f.claims(PUB), "client_id", json!(OTHER)));
    local_object_error(f.authorize(PUB, &object, ""));
    let object = f.es256(&without(f.claims(PUB), "client_id"));
    local_object_error(f.authorize(PUB, &object, ""));
    // The query names another client than the object.
    let object = f.es256(&f.claims(PUB));
    local_object_error(f.authorize(OTHER, &object, ""));
}

#[test]
fn jr_03_iss_and_aud_are_checked() {
    let f = fixture();
    for claims in [
        set(f.claims(PUB), "iss", json!(OTHER)),
        without(f.claims(PUB), "iss"),
        set(f.claims(PUB), "aud", json!(format!("{ISSUER}/token"))),
        set(f.claims(PUB), "aud", json!("https://other.example.com")),
        without(f.claims(PUB), "aud"),
    ] {
        local_object_error(f.authorize(PUB, &f.es256(&claims), ""));
    }
    // The issuer inside an array is accepted.
    let object = f.es256(&set(
        f.claims(PUB),
        "aud",
        json!([ISSUER, "https://other.example.com"]),
    ));
    drop(
        f.authorize(PUB, &object, "")
            .expect("aud array with the issuer"),
    );
}

#[test]
fn jr_07_expired_unbounded_and_long_lived_objects_are_refused() {
    let f = fixture();
    let now = secs(f.h.now());
    for claims in [
        set(f.claims(PUB), "exp", json!(now - 60)),
        without(f.claims(PUB), "exp"),
        set(f.claims(PUB), "exp", json!(now + 3600)),
        set(
            set(f.claims(PUB), "nbf", json!(now)),
            "exp",
            json!(now + 601),
        ),
        set(f.claims(PUB), "nbf", json!(now + 120)),
        set(f.claims(PUB), "iat", json!(now + 120)),
        set(f.claims(PUB), "jti", json!("j".repeat(257))),
    ] {
        local_object_error(f.authorize(PUB, &f.es256(&claims), ""));
    }
    let ten_minutes = set(
        set(f.claims(PUB), "nbf", json!(now)),
        "exp",
        json!(now + 600),
    );
    drop(
        f.authorize(PUB, &f.es256(&ten_minutes), "")
            .expect("a ten-minute object"),
    );
}

#[test]
fn jr_07_the_jti_is_used_once_on_approval() {
    let f = fixture();
    let object = f.es256(&f.claims(PUB));
    // Loading the request twice (login, consent) uses nothing up...
    let first = f.authorize(PUB, &object, "").unwrap();
    let second = f.authorize(PUB, &object, "").unwrap();
    approve(first).expect("the first approval");
    // ... the second approval of the same object is refused.
    let error = approve(second).expect_err("a replay");
    let response = error.into_response();
    assert_location_error(&response, "invalid_request_object");
    assert!(location(&response).starts_with(PUB_CB));
    // An object without a jti can be approved again (RFC 9101 does not require one).
    let no_jti = f.es256(&without(f.claims(PUB), "jti"));
    approve(f.authorize(PUB, &no_jti, "").unwrap()).unwrap();
    approve(f.authorize(PUB, &no_jti, "").unwrap()).unwrap();
}

#[test]
fn jr_08_a_five_part_object_is_refused() {
    let f = fixture();
    local_object_error(f.authorize(PUB, "eyJhbGciOiJSU0EtT0FFUCJ9.a.b.c.d", ""));
    local_object_error(f.authorize(PUB, "not-a-jwt", ""));
}

#[test]
fn jr_09_types_of_other_kinds_are_refused() {
    let f = fixture();
    for typ in ["dpop+jwt", "client-authentication+jwt", "at+jwt"] {
        let object = sign_with(
            &f.keys.es256,
            jsonwebtoken::Algorithm::ES256,
            Some(typ),
            &f.claims(PUB),
        );
        local_object_error(f.authorize(PUB, &object, ""));
    }
}

#[test]
fn jr_02_an_oversized_object_is_refused_before_it_is_read() {
    let f = fixture();
    let big = set(f.claims(PUB), "login_hint", json!("x".repeat(20_000)));
    let error = rejected(f.authorize(PUB, &f.es256(&big), ""));
    assert!(
        ["invalid_request", "invalid_request_object"].contains(&error.code().as_str()),
        "{error:?}"
    );
    assert!(error.to_response().header("location").is_none());
}

// ---------------------------------------------------------------------------------------
// JR-06: contents, redirected once the object verified
// ---------------------------------------------------------------------------------------

#[test]
fn jr_06_nested_references_and_wrong_types_are_redirected_invalid_request_object() {
    let f = fixture();
    for claims in [
        set(
            f.claims(PUB),
            "request_uri",
            json!("https://rp.example/r.jwt"),
        ),
        set(f.claims(PUB), "request", json!("a.b.c")),
        set(f.claims(PUB), "max_age", json!("60")),
        set(f.claims(PUB), "scope", json!(["read"])),
        set(f.claims(PUB), "claims", json!("{}")),
    ] {
        let response = redirect_error(f.authorize(PUB, &f.es256(&claims), ""));
        assert_location_error(&response, "invalid_request_object");
        assert!(location(&response).starts_with(PUB_CB));
        assert_eq!(location_param(&response, "state").as_deref(), Some("s-obj"));
    }
}

#[test]
fn jr_06_the_extracted_request_is_validated_like_a_plain_one() {
    let f = fixture();
    let object = f.es256(&without(f.claims(PUB), "code_challenge"));
    let response = redirect_error(f.authorize(PUB, &object, &format!("&{PKCE}")));
    assert_location_error(&response, "invalid_request");
    // An unregistered redirect URI inside a valid object: a local error.
    let object = f.es256(&set(
        f.claims(PUB),
        "redirect_uri",
        json!("https://evil.example/cb"),
    ));
    let error = rejected(f.authorize(PUB, &object, ""));
    assert_eq!(error.code().as_str(), "invalid_request");
}

// ---------------------------------------------------------------------------------------
// JR-12: no downgrade
// ---------------------------------------------------------------------------------------

#[test]
fn jr_12_a_client_held_to_objects_cannot_send_plain_parameters() {
    let f = fixture();
    let plain = format!(
        "response_type=code&client_id={STRICT}&redirect_uri={}&scope=read&state=s&{PKCE}",
        enc(CONF_CB)
    );
    assert_location_error(&redirect_error(f.h.authorize(&plain)), "invalid_request");
    drop(
        f.authorize(STRICT, &f.es256(&f.claims(STRICT)), "")
            .expect("a signed request"),
    );
    // Pushed: plain parameters are refused at the endpoint, an object is accepted.
    let pushed = f.push(
        STRICT,
        &format!(
            "response_type=code&redirect_uri={}&scope=read&{PKCE}",
            enc(CONF_CB)
        ),
    );
    assert_error(&pushed, 400, "invalid_request");
    let pushed = f.push(STRICT, &format!("request={}", f.es256(&f.claims(STRICT))));
    assert_eq!(pushed.status.as_u16(), 201, "{}", json(&pushed));
    // Other clients still may send plain requests.
    drop(
        f.h.authorize(&format!(
            "response_type=code&client_id={PUB}&scope=read&{PKCE}"
        ))
        .expect("a plain request of another client"),
    );
}

#[test]
fn jr_12_the_server_wide_switch_holds_every_client() {
    let f = fixture_with(|b| b.require_signed_request_object(true));
    let plain = format!("response_type=code&client_id={PUB}&scope=read&state=s&{PKCE}");
    assert_location_error(&redirect_error(f.h.authorize(&plain)), "invalid_request");
    drop(f.authorize(PUB, &f.es256(&f.claims(PUB)), "").unwrap());
    let metadata = json(&f.h.server.metadata());
    assert_eq!(metadata["require_signed_request_object"], true);
}

// ---------------------------------------------------------------------------------------
// JR-14: request objects at the pushed authorization request endpoint
// ---------------------------------------------------------------------------------------

#[test]
fn jr_14_a_pushed_object_carries_only_its_parameters() {
    let f = fixture();
    let object = f.es256(&f.claims(CONF));
    let response = f.push(CONF, &format!("request={object}&scope=admin&state=ignored"));
    assert_eq!(response.status.as_u16(), 201, "{}", json(&response));
    let uri = json(&response)["request_uri"].as_str().unwrap().to_owned();
    let pending =
        f.h.authorize(&format!("client_id={CONF}&request_uri={}", enc(&uri)))
            .unwrap();
    assert_eq!(pending.requested_scope().as_str(), "read");
    assert_eq!(pending.state(), Some("s-obj"));
    let response = approve(pending).unwrap();
    assert!(location_param(&response, "code").is_some());
}

#[test]
fn jr_14_pushed_objects_that_fail_are_json_invalid_request_object() {
    let f = fixture();
    let now = secs(f.h.now());
    for object in [
        f.ps256(&f.claims(CONF)),
        f.es256(&set(f.claims(CONF), "exp", json!(now - 60))),
        f.es256(&set(f.claims(CONF), "client_id", json!(PUB))),
        f.es256(&set(f.claims(CONF), "request_uri", json!("urn:x"))),
    ] {
        let response = f.push(CONF, &format!("request={object}"));
        let body = assert_error(&response, 400, "invalid_request_object");
        assert!(!Value::Object(body).to_string().contains("eyJ"));
    }
}

#[test]
fn jr_14_a_pushed_objects_jti_is_used_once() {
    let f = fixture();
    let object = f.es256(&f.claims(CONF));
    let first = f.push(CONF, &format!("request={object}"));
    assert_eq!(first.status.as_u16(), 201);
    assert_error(
        &f.push(CONF, &format!("request={object}")),
        400,
        "invalid_request_object",
    );
}

#[test]
fn jr_13_a_pushed_object_must_be_the_authenticated_clients() {
    let f = fixture();
    // STRICT authenticates and pushes CONF's object (same key): iss and client_id differ.
    let object = f.es256(&f.claims(CONF));
    assert_error(
        &f.push(STRICT, &format!("request={object}")),
        400,
        "invalid_request_object",
    );
}

// ---------------------------------------------------------------------------------------
// JR-15: metadata
// ---------------------------------------------------------------------------------------

#[test]
fn jr_15_metadata_reflects_request_objects() {
    let f = fixture();
    let metadata = json(&f.h.server.metadata());
    assert_eq!(metadata["request_parameter_supported"], true);
    assert_eq!(metadata["request_uri_parameter_supported"], false);
    let algorithms = metadata["request_object_signing_alg_values_supported"]
        .as_array()
        .unwrap();
    assert!(!algorithms.is_empty());
    for alg in algorithms {
        assert!(
            ["ES256", "EdDSA", "RS256", "PS256"].contains(&alg.as_str().unwrap()),
            "{alg}"
        );
    }
    assert!(metadata.get("require_signed_request_object").is_none());
    assert!(
        !metadata
            .as_object()
            .unwrap()
            .keys()
            .any(|k| k.starts_with("request_object_encryption"))
    );
}

#[test]
fn jr_12_a_client_held_to_objects_needs_keys() {
    let built = Client::builder("nokeys", ClientType::Public)
        .grant_type(GrantType::AUTHORIZATION_CODE)
        .redirect_uri(PUB_CB)
        .require_signed_request_object(true)
        .build();
    assert!(matches!(built, Err(ClientError::MissingKeys)), "{built:?}");
}
