//! Client authentication with signed JWTs (`private_key_jwt`, `client_secret_jwt`): the CA
//! rules at the token, revocation and introspection endpoints, with every assertion made by
//! an independent JWT library (`jsonwebtoken` on RustCrypto), right and hostile ones, and
//! the `jti` replay race (64 concurrent copies of one assertion, exactly one accepted) on
//! the memory store here and on PostgreSQL in `postgres.rs`.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use grantflow::jose::{Algorithm, JwkSet, SigningKey};
use grantflow::store::MemorySingleUseStore;
use grantflow::{
    AuthMethod, Client, ClientError, ClientSecret, ClientType, GrantType, HttpRequest,
    HttpResponse, Server,
};
use jsonwebtoken::{EncodingKey, Header};
use serde_json::{Value, json};

use crate::support::harness::{Harness, ISSUER, block_on, enc, post_form, register};
use crate::support::race::{race_async, runtime};
use crate::support::token::{TTL, assert_error, assert_token, basic};

/// The area of these tests' [`Harness`].
#[derive(Debug)]
pub(crate) enum Assertions {}

/// A `private_key_jwt` client registered for ES256.
const PKJ: &str = "pkj-client";
/// A `private_key_jwt` client without a registered algorithm (any asymmetric one).
const ANY_ALG: &str = "pkj-any-alg";
/// A `client_secret_jwt` client.
const CSJ: &str = "csj-client";
const CSJ_SECRET: &str = "csj-secret-of-at-least-thirty-two-bytes-0123";
/// A `client_secret_basic` client.
const BASIC: (&str, &str) = ("basic-client", "basic-secret-77");
const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// The clients' keys: the ES256 key of [`PKJ`] and the RSA (PS256) key of [`ANY_ALG`].
pub(crate) struct Keys {
    pub(crate) es256: SigningKey,
    pub(crate) ps256: SigningKey,
}

impl Keys {
    pub(crate) fn new() -> Self {
        Self {
            es256: SigningKey::generate(Algorithm::Es256).unwrap(),
            ps256: SigningKey::generate_rsa(Algorithm::Ps256, 2048).unwrap(),
        }
    }

    /// Both public keys as one set.
    pub(crate) fn both(&self) -> JwkSet {
        JwkSet::from_keys([
            self.es256.public_key().clone(),
            self.ps256.public_key().clone(),
        ])
        .unwrap()
    }
}

fn cc(builder: grantflow::ClientBuilder) -> grantflow::ClientBuilder {
    builder
        .grant_type(GrantType::CLIENT_CREDENTIALS)
        .allowed_scope("read write")
        .default_scope("read")
}

/// The registrations of these tests: [`PKJ`], [`ANY_ALG`], [`CSJ`] and [`BASIC`].
pub(crate) fn clients(keys: &Keys) -> Vec<grantflow::ClientBuilder> {
    let jwks = |key: &SigningKey| JwkSet::from_keys([key.public_key().clone()]).unwrap();
    vec![
        cc(Client::builder(PKJ, ClientType::Confidential)
            .auth_method(AuthMethod::PrivateKeyJwt)
            .jwks(jwks(&keys.es256))
            .token_endpoint_auth_signing_alg(Algorithm::Es256))
        .grant_type(GrantType::DEVICE_CODE)
        .introspection(true),
        cc(Client::builder(ANY_ALG, ClientType::Confidential)
            .auth_method(AuthMethod::PrivateKeyJwt)
            .jwks(keys.both())),
        cc(Client::builder(CSJ, ClientType::Confidential)
            .auth_method(AuthMethod::ClientSecretJwt)
            .assertion_secret(&ClientSecret::from_presented(CSJ_SECRET.to_owned()))),
        cc(Client::builder(BASIC.0, ClientType::Confidential)
            .secret(&ClientSecret::from_presented(BASIC.1.to_owned()))),
    ]
}

struct Fixture {
    h: Harness<Assertions>,
    keys: Keys,
}

fn fixture_with(
    configure: impl FnOnce(grantflow::ServerBuilder) -> grantflow::ServerBuilder,
) -> Fixture {
    let keys = Keys::new();
    let registry = Arc::new(register(clients(&keys)));
    let h = Harness::builder(registry)
        .build(|b| configure(b.access_token_ttl(TTL).private_key_jwt(true)));
    Fixture { h, keys }
}

fn fixture() -> Fixture {
    fixture_with(|b| b)
}

fn secs(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH).unwrap().as_secs()
}

/// Claims of a good assertion by `client` at `now`: `iss` = `sub` = the client, `aud` the
/// issuer, one minute of life, a fresh `jti`.
pub(crate) fn good_claims(client: &str, now: SystemTime) -> Value {
    json!({
        "iss": client,
        "sub": client,
        "aud": ISSUER,
        "iat": secs(now),
        "exp": secs(now) + 60,
        "jti": format!("jti-{}", rand::random::<u64>()),
    })
}

/// The judge's ES256 or PS256 signing key for one of our generated keys.
fn judge_key(key: &SigningKey) -> EncodingKey {
    let der = key.to_pkcs8_der().unwrap();
    match key.algorithm() {
        Algorithm::Es256 => EncodingKey::from_ec_der(der.expose_secret()),
        _ => {
            use base64::Engine as _;
            let body = base64::engine::general_purpose::STANDARD.encode(der.expose_secret());
            let pem = format!("-----BEGIN PRIVATE KEY-----\n{body}\n-----END PRIVATE KEY-----\n");
            EncodingKey::from_rsa_pem(pem.as_bytes()).unwrap()
        }
    }
}

/// `claims` signed by `key` with the judge, the header naming its `kid`.
pub(crate) fn sign_with(
    key: &SigningKey,
    alg: jsonwebtoken::Algorithm,
    typ: Option<&str>,
    claims: &Value,
) -> String {
    let mut header = Header::new(alg);
    header.kid = Some(key.kid().to_owned());
    header.typ = typ.map(str::to_owned);
    jsonwebtoken::encode(&header, claims, &judge_key(key)).unwrap()
}

/// An ES256 assertion of `claims` by `key`, typed `client-authentication+jwt`.
pub(crate) fn es256(key: &SigningKey, claims: &Value) -> String {
    sign_with(
        key,
        jsonwebtoken::Algorithm::ES256,
        Some("client-authentication+jwt"),
        claims,
    )
}

/// An HS256 assertion of `claims` keyed with `secret`.
fn hs256(secret: &[u8], claims: &Value) -> String {
    jsonwebtoken::encode(
        &Header::new(jsonwebtoken::Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(secret).unwrap(),
    )
    .unwrap()
}

/// The body parameters of `assertion`.
pub(crate) fn assertion_params(assertion: &str) -> String {
    format!(
        "client_assertion_type={}&client_assertion={assertion}",
        enc(JWT_BEARER)
    )
}

/// A client-credentials token request authenticated by `assertion`.
pub(crate) fn cc_request(assertion: &str) -> HttpRequest {
    post_form(format!(
        "grant_type=client_credentials&{}",
        assertion_params(assertion)
    ))
}

#[track_caller]
fn refused(response: &HttpResponse) {
    let body = assert_error(response, 401, "invalid_client");
    let description = body["error_description"].as_str().unwrap_or_default();
    assert!(!description.contains("eyJ"), "{description}");
}

// ---------------------------------------------------------------------------------------
// The happy paths
// ---------------------------------------------------------------------------------------

#[test]
fn ca_02_private_key_jwt_authenticates_at_the_token_endpoint() {
    let f = fixture();
    let assertion = es256(&f.keys.es256, &good_claims(PKJ, f.h.now()));
    let token = assert_token(&f.h.token(&cc_request(&assertion)), "read");
    assert_eq!(f.h.record(&token).unwrap().client_id.as_str(), PKJ);
}

#[test]
fn ca_06_a_client_without_a_registered_algorithm_may_use_any_asymmetric_one() {
    let f = fixture();
    let ps256 = sign_with(
        &f.keys.ps256,
        jsonwebtoken::Algorithm::PS256,
        None,
        &good_claims(ANY_ALG, f.h.now()),
    );
    assert_token(&f.h.token(&cc_request(&ps256)), "read");
    let es = es256(&f.keys.es256, &good_claims(ANY_ALG, f.h.now()));
    assert_token(&f.h.token(&cc_request(&es)), "read");
}

#[test]
fn ca_07_client_secret_jwt_authenticates_when_enabled_and_is_off_by_default() {
    let off = fixture();
    let claims = good_claims(CSJ, off.h.now());
    refused(
        &off.h
            .token(&cc_request(&hs256(CSJ_SECRET.as_bytes(), &claims))),
    );

    let on = fixture_with(|b| b.client_secret_jwt(true));
    let claims = good_claims(CSJ, on.h.now());
    assert_token(
        &on.h
            .token(&cc_request(&hs256(CSJ_SECRET.as_bytes(), &claims))),
        "read",
    );
    let wrong = good_claims(CSJ, on.h.now());
    refused(&on.h.token(&cc_request(&hs256(
        b"another-secret-of-thirty-two-bytes-or-more",
        &wrong,
    ))));
}

#[test]
fn ca_07_ca_12_registrations_without_usable_keys_are_refused() {
    let no_keys = Client::builder("k", ClientType::Confidential)
        .auth_method(AuthMethod::PrivateKeyJwt)
        .grant_type(GrantType::CLIENT_CREDENTIALS)
        .build();
    assert_eq!(no_keys.unwrap_err(), ClientError::MissingKeys);
    let empty = Client::builder("k", ClientType::Confidential)
        .auth_method(AuthMethod::PrivateKeyJwt)
        .jwks(JwkSet::from_keys([]).unwrap())
        .grant_type(GrantType::CLIENT_CREDENTIALS)
        .build();
    assert_eq!(empty.unwrap_err(), ClientError::MissingKeys);
    // A digest cannot key an HMAC: the secret itself is needed.
    let digest_only = Client::builder("s", ClientType::Confidential)
        .auth_method(AuthMethod::ClientSecretJwt)
        .secret(&ClientSecret::from_presented(CSJ_SECRET.to_owned()))
        .grant_type(GrantType::CLIENT_CREDENTIALS)
        .build();
    assert_eq!(
        digest_only.unwrap_err(),
        ClientError::MissingAssertionSecret
    );
    let short = Client::builder("s", ClientType::Confidential)
        .auth_method(AuthMethod::ClientSecretJwt)
        .assertion_secret(&ClientSecret::from_presented("too-short".to_owned()))
        .grant_type(GrantType::CLIENT_CREDENTIALS)
        .build();
    assert_eq!(short.unwrap_err(), ClientError::WeakAssertionSecret);
    let public = Client::builder("p", ClientType::Public)
        .auth_method(AuthMethod::PrivateKeyJwt)
        .grant_type(GrantType::AUTHORIZATION_CODE)
        .build();
    assert_eq!(public.unwrap_err(), ClientError::AuthMethodMismatch);
}

// ---------------------------------------------------------------------------------------
// CA-01: the parameters
// ---------------------------------------------------------------------------------------

#[test]
fn ca_01_assertion_parameters() {
    let f = fixture();
    let assertion = es256(&f.keys.es256, &good_claims(PKJ, f.h.now()));
    // Another assertion type.
    let saml = post_form(format!(
        "grant_type=client_credentials&client_assertion_type={}&client_assertion={assertion}",
        enc("urn:ietf:params:oauth:client-assertion-type:saml2-bearer")
    ));
    refused(&f.h.token(&saml));
    // One of the two without the other.
    let alone = post_form(format!(
        "grant_type=client_credentials&client_assertion={assertion}"
    ));
    assert_error(&f.h.token(&alone), 400, "invalid_request");
    let type_alone = post_form(format!(
        "grant_type=client_credentials&client_assertion_type={}",
        enc(JWT_BEARER)
    ));
    assert_error(&f.h.token(&type_alone), 400, "invalid_request");
    // A client_id naming another client than the assertion.
    let other = post_form(format!(
        "grant_type=client_credentials&client_id={ANY_ALG}&{}",
        assertion_params(&assertion)
    ));
    refused(&f.h.token(&other));
    // The same client_id as the assertion is fine.
    let fresh = es256(&f.keys.es256, &good_claims(PKJ, f.h.now()));
    let same = post_form(format!(
        "grant_type=client_credentials&client_id={PKJ}&{}",
        assertion_params(&fresh)
    ));
    assert_token(&f.h.token(&same), "read");
    // Not a JWT at all.
    refused(&f.h.token(&cc_request("not-a-jwt")));
}

// ---------------------------------------------------------------------------------------
// CA-02: iss, sub and the registered method
// ---------------------------------------------------------------------------------------

#[test]
fn ca_02_iss_and_sub_are_the_client_registered_for_the_method() {
    let f = fixture();
    let mut claims = good_claims(PKJ, f.h.now());
    claims["sub"] = json!(ANY_ALG);
    refused(&f.h.token(&cc_request(&es256(&f.keys.es256, &claims))));
    // A client registered for client_secret_basic presenting an assertion.
    let basic_client = es256(&f.keys.es256, &good_claims(BASIC.0, f.h.now()));
    refused(&f.h.token(&cc_request(&basic_client)));
    // An unknown client.
    let unknown = es256(&f.keys.es256, &good_claims("nobody", f.h.now()));
    refused(&f.h.token(&cc_request(&unknown)));
}

// ---------------------------------------------------------------------------------------
// CA-03: the issuer is the sole audience
// ---------------------------------------------------------------------------------------

#[test]
fn ca_03_the_issuer_is_the_only_accepted_audience() {
    let f = fixture();
    for (aud, accepted) in [
        (json!(ISSUER), true),
        (json!([ISSUER]), true),
        (json!(format!("{ISSUER}/token")), false),
        (json!([ISSUER, "https://other.example.com"]), false),
        (json!(format!("{ISSUER}/")), false),
        (json!("https://other.example.com"), false),
    ] {
        let mut claims = good_claims(PKJ, f.h.now());
        claims["aud"] = aud.clone();
        let response = f.h.token(&cc_request(&es256(&f.keys.es256, &claims)));
        if accepted {
            assert_token(&response, "read");
        } else {
            refused(&response);
        }
    }
}

// ---------------------------------------------------------------------------------------
// CA-04: lifetime
// ---------------------------------------------------------------------------------------

#[test]
fn ca_04_lifetime_limits() {
    let f = fixture();
    let now = secs(f.h.now());
    let cases = [
        (
            "an hour of life",
            json!({"iat": now, "exp": now + 3600}),
            false,
        ),
        (
            "issued ten minutes ago",
            json!({"iat": now - 600, "exp": now + 60}),
            false,
        ),
        (
            "expired beyond the leeway",
            json!({"iat": now - 120, "exp": now - 60}),
            false,
        ),
        (
            "issued in the future",
            json!({"iat": now + 120, "exp": now + 180}),
            false,
        ),
        ("no exp", json!({"iat": now, "exp": null}), false),
        (
            "not yet valid",
            json!({"nbf": now + 120, "exp": now + 200, "iat": now}),
            false,
        ),
        (
            "five minutes, no iat",
            json!({"iat": null, "exp": now + 290}),
            true,
        ),
        (
            "six minutes, no iat",
            json!({"iat": null, "exp": now + 360}),
            false,
        ),
        (
            "within the leeway",
            json!({"iat": now - 20, "exp": now - 10}),
            true,
        ),
    ];
    for (case, times, accepted) in cases {
        let mut claims = good_claims(PKJ, f.h.now());
        for (name, value) in times.as_object().unwrap() {
            if value.is_null() {
                claims.as_object_mut().unwrap().remove(name);
            } else {
                claims[name] = value.clone();
            }
        }
        let response = f.h.token(&cc_request(&es256(&f.keys.es256, &claims)));
        if accepted {
            assert_eq!(response.status.as_u16(), 200, "{case}: {response:?}");
        } else {
            assert_eq!(response.status.as_u16(), 401, "{case}: {response:?}");
            refused(&response);
        }
    }
}

// ---------------------------------------------------------------------------------------
// CA-05 and CA-10: single use, everywhere
// ---------------------------------------------------------------------------------------

#[test]
fn ca_05_an_assertion_is_accepted_once() {
    let f = fixture();
    let assertion = es256(&f.keys.es256, &good_claims(PKJ, f.h.now()));
    assert_token(&f.h.token(&cc_request(&assertion)), "read");
    let replay = f.h.token(&cc_request(&assertion));
    refused(&replay);
    assert_eq!(
        crate::support::token::json(&replay)["error_description"],
        "client assertion already used"
    );
    // The same jti in a newly signed assertion is a replay too.
    let claims: Value = {
        let payload = assertion.split('.').nth(1).unwrap();
        use base64::Engine as _;
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap();
        serde_json::from_slice(&bytes).unwrap()
    };
    refused(&f.h.token(&cc_request(&es256(&f.keys.es256, &claims))));
    // But another client may use the same jti value.
    let mut other = good_claims(ANY_ALG, f.h.now());
    other["jti"] = claims["jti"].clone();
    assert_token(
        &f.h.token(&cc_request(&es256(&f.keys.es256, &other))),
        "read",
    );
}

#[test]
fn ca_05_jti_is_required_and_bounded() {
    let f = fixture();
    let mut missing = good_claims(PKJ, f.h.now());
    missing.as_object_mut().unwrap().remove("jti");
    refused(&f.h.token(&cc_request(&es256(&f.keys.es256, &missing))));
    let mut long = good_claims(PKJ, f.h.now());
    long["jti"] = json!("j".repeat(257));
    refused(&f.h.token(&cc_request(&es256(&f.keys.es256, &long))));
    let mut empty = good_claims(PKJ, f.h.now());
    empty["jti"] = json!("");
    refused(&f.h.token(&cc_request(&es256(&f.keys.es256, &empty))));
    let mut longest = good_claims(PKJ, f.h.now());
    longest["jti"] = json!("j".repeat(256));
    assert_token(
        &f.h.token(&cc_request(&es256(&f.keys.es256, &longest))),
        "read",
    );
}

/// `tasks` concurrent token requests carrying one assertion, spread over `servers` (as
/// over instances): how many got a token, and how many `invalid_client`.
pub(crate) async fn replay_race(
    servers: &[Server],
    assertion: &str,
    tasks: usize,
) -> (usize, usize) {
    let outcomes = race_async(tasks, |i| {
        let (server, request) = (servers[i % servers.len()].clone(), cc_request(assertion));
        async move { server.token(&request).await.unwrap() }
    })
    .await;
    let ok = outcomes.iter().filter(|r| r.status.as_u16() == 200).count();
    let refused = outcomes
        .iter()
        .filter(|r| {
            r.status.as_u16() == 401 && String::from_utf8_lossy(&r.body).contains("invalid_client")
        })
        .count();
    (ok, refused)
}

#[test]
fn ca_05_64_concurrent_copies_of_one_assertion_give_one_token() {
    let f = fixture_with(|b| b.single_use_store(Arc::new(MemorySingleUseStore::new())));
    let assertion = es256(&f.keys.es256, &good_claims(PKJ, f.h.now()));
    let outcome = runtime(4).block_on(replay_race(
        std::slice::from_ref(&f.h.server),
        &assertion,
        64,
    ));
    assert_eq!(outcome, (1, 63));
    assert_eq!(f.h.stored(), 1);
}

#[test]
fn ca_10_an_assertion_used_at_one_endpoint_is_refused_at_every_other() {
    let f = fixture();
    let assertion = es256(&f.keys.es256, &good_claims(PKJ, f.h.now()));
    let token = assert_token(&f.h.token(&cc_request(&assertion)), "read");
    let introspect = post_form(format!("token={token}&{}", assertion_params(&assertion)));
    refused(&block_on(f.h.server.introspect(&introspect)).unwrap());
    let revoke = post_form(format!("token={token}&{}", assertion_params(&assertion)));
    refused(&block_on(f.h.server.revoke(&revoke)).unwrap());
    // Fresh assertions work at both.
    let fresh = es256(&f.keys.es256, &good_claims(PKJ, f.h.now()));
    let introspect = post_form(format!("token={token}&{}", assertion_params(&fresh)));
    let response = block_on(f.h.server.introspect(&introspect)).unwrap();
    assert_eq!(response.status.as_u16(), 200, "{response:?}");
    assert!(String::from_utf8_lossy(&response.body).contains(r#""active":true"#));
    let fresh = es256(&f.keys.es256, &good_claims(PKJ, f.h.now()));
    let revoke = post_form(format!("token={token}&{}", assertion_params(&fresh)));
    assert_eq!(
        block_on(f.h.server.revoke(&revoke))
            .unwrap()
            .status
            .as_u16(),
        200
    );
    assert!(!f.h.is_live(&token));
}

// ---------------------------------------------------------------------------------------
// CA-06: keys and algorithms
// ---------------------------------------------------------------------------------------

#[test]
fn ca_06_hostile_signatures_are_refused() {
    let f = fixture();
    let claims = || good_claims(PKJ, f.h.now());
    // HS256 keyed with the client's public JWK, in two encodings.
    let public_jwk = f.keys.es256.public_key().to_json();
    refused(&f.h.token(&cc_request(&hs256(public_jwk.as_bytes(), &claims()))));
    let jwk: Value = serde_json::from_str(&public_jwk).unwrap();
    let mut point = vec![4u8];
    for coordinate in ["x", "y"] {
        use base64::Engine as _;
        point.extend(
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(jwk[coordinate].as_str().unwrap())
                .unwrap(),
        );
    }
    refused(&f.h.token(&cc_request(&hs256(&point, &claims()))));
    // PS256 from a client registered for ES256 (its key is not even in the set).
    let ps = sign_with(
        &f.keys.ps256,
        jsonwebtoken::Algorithm::PS256,
        None,
        &claims(),
    );
    refused(&f.h.token(&cc_request(&ps)));
    // Signed by a stranger's key that carries the client's kid.
    let stranger = SigningKey::generate(Algorithm::Es256).unwrap();
    let mut header = Header::new(jsonwebtoken::Algorithm::ES256);
    header.kid = Some(f.keys.es256.kid().to_owned());
    let forged = jsonwebtoken::encode(&header, &claims(), &judge_key(&stranger)).unwrap();
    refused(&f.h.token(&cc_request(&forged)));
    // `alg: none`, in any spelling.
    for alg in ["none", "None", "NONE"] {
        use base64::Engine as _;
        let b64 =
            |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
        let unsigned = format!("{}.{}.", b64(&json!({"alg": alg})), b64(&claims()));
        refused(&f.h.token(&cc_request(&unsigned)));
    }
    // The stranger's public key embedded in the header (JW-08).
    let mut embedded = Header::new(jsonwebtoken::Algorithm::ES256);
    embedded.jwk = Some(serde_json::from_str(&stranger.public_key().to_json()).unwrap());
    let with_jwk = jsonwebtoken::encode(&embedded, &claims(), &judge_key(&stranger)).unwrap();
    refused(&f.h.token(&cc_request(&with_jwk)));
    // An asymmetric assertion from a client_secret_jwt client.
    let on = fixture_with(|b| b.client_secret_jwt(true));
    let asymmetric = es256(&on.keys.es256, &good_claims(CSJ, on.h.now()));
    refused(&on.h.token(&cc_request(&asymmetric)));
}

// ---------------------------------------------------------------------------------------
// CA-08: explicit types
// ---------------------------------------------------------------------------------------

#[test]
fn ca_08_types_of_other_kinds_are_refused_untyped_is_accepted() {
    let f = fixture();
    for (typ, accepted) in [
        (None, true),
        (Some("client-authentication+jwt"), true),
        (Some("JWT"), true),
        (Some("oauth-authz-req+jwt"), false),
        (Some("dpop+jwt"), false),
        (Some("at+jwt"), false),
        (Some("logout+jwt"), false),
    ] {
        let assertion = sign_with(
            &f.keys.es256,
            jsonwebtoken::Algorithm::ES256,
            typ,
            &good_claims(PKJ, f.h.now()),
        );
        let response = f.h.token(&cc_request(&assertion));
        if accepted {
            assert_eq!(response.status.as_u16(), 200, "{typ:?}: {response:?}");
        } else {
            refused(&response);
        }
    }
}

// ---------------------------------------------------------------------------------------
// CA-09: errors, and one method per request
// ---------------------------------------------------------------------------------------

#[test]
fn ca_09_an_assertion_beside_another_method_is_invalid_client() {
    let f = fixture();
    let assertion = es256(&f.keys.es256, &good_claims(PKJ, f.h.now()));
    let with_basic = post_form(format!(
        "grant_type=client_credentials&{}",
        assertion_params(&assertion)
    ))
    .with_header("Authorization", basic(BASIC.0, BASIC.1));
    refused(&f.h.token(&with_basic));
    let with_secret = post_form(format!(
        "grant_type=client_credentials&client_id={PKJ}&client_secret=x&{}",
        assertion_params(&assertion)
    ));
    refused(&f.h.token(&with_secret));
    let type_with_basic = post_form(format!(
        "grant_type=client_credentials&client_assertion_type={}",
        enc(JWT_BEARER)
    ))
    .with_header("Authorization", basic(BASIC.0, BASIC.1));
    refused(&f.h.token(&type_with_basic));
    // None of these consumed the assertion: it still authenticates alone.
    assert_token(&f.h.token(&cc_request(&assertion)), "read");
    assert_eq!(f.h.stored(), 1);
}

#[test]
fn ca_09_failures_answer_401_with_a_challenge_and_no_value() {
    let f = fixture();
    let mut claims = good_claims(PKJ, f.h.now());
    claims["exp"] = json!(secs(f.h.now()) - 3600);
    let response = f.h.token(&cc_request(&es256(&f.keys.es256, &claims)));
    let body = assert_error(&response, 401, "invalid_client");
    assert_eq!(body["error_description"], "client assertion expired");
    assert!(response.header("www-authenticate").is_some());
}

// ---------------------------------------------------------------------------------------
// CA-11: metadata
// ---------------------------------------------------------------------------------------

#[test]
fn ca_11_metadata_lists_the_enabled_jwt_methods_and_their_algorithms() {
    let metadata =
        |f: &Fixture| -> Value { serde_json::from_slice(&f.h.server.metadata().body).unwrap() };
    let pkj = metadata(&fixture());
    for member in [
        "token_endpoint_auth_methods_supported",
        "revocation_endpoint_auth_methods_supported",
        "introspection_endpoint_auth_methods_supported",
    ] {
        let methods = pkj[member].as_array().unwrap();
        assert!(methods.contains(&json!("private_key_jwt")), "{member}");
        assert!(!methods.contains(&json!("client_secret_jwt")), "{member}");
    }
    for member in [
        "token_endpoint_auth_signing_alg_values_supported",
        "revocation_endpoint_auth_signing_alg_values_supported",
        "introspection_endpoint_auth_signing_alg_values_supported",
    ] {
        assert_eq!(
            pkj[member],
            json!(["ES256", "EdDSA", "RS256", "PS256"]),
            "{member}"
        );
    }
    let both = metadata(&fixture_with(|b| b.client_secret_jwt(true)));
    assert!(
        both["token_endpoint_auth_methods_supported"]
            .as_array()
            .unwrap()
            .contains(&json!("client_secret_jwt"))
    );
    let algorithms = both["token_endpoint_auth_signing_alg_values_supported"]
        .as_array()
        .unwrap();
    for hmac in ["HS256", "HS384", "HS512"] {
        assert!(algorithms.contains(&json!(hmac)), "{hmac}");
    }
    assert!(
        !algorithms
            .iter()
            .any(|a| a.as_str().unwrap().eq_ignore_ascii_case("none"))
    );
}

#[test]
fn ca_11_a_method_that_is_not_enabled_is_neither_advertised_nor_accepted() {
    let off = fixture_with(|b| b.private_key_jwt(false));
    let document: Value = serde_json::from_slice(&off.h.server.metadata().body).unwrap();
    assert!(
        !document["token_endpoint_auth_methods_supported"]
            .as_array()
            .unwrap()
            .contains(&json!("private_key_jwt"))
    );
    assert!(
        document
            .get("token_endpoint_auth_signing_alg_values_supported")
            .is_none()
    );
    let assertion = es256(&off.keys.es256, &good_claims(PKJ, off.h.now()));
    refused(&off.h.token(&cc_request(&assertion)));
}

#[test]
fn ca_09_throttled_after_repeated_bad_assertions() {
    let f = fixture();
    let stranger = SigningKey::generate(Algorithm::Es256).unwrap();
    let mut last = None;
    for _ in 0..12 {
        let mut header = Header::new(jsonwebtoken::Algorithm::ES256);
        header.kid = Some(f.keys.es256.kid().to_owned());
        let forged =
            jsonwebtoken::encode(&header, &good_claims(PKJ, f.h.now()), &judge_key(&stranger))
                .unwrap();
        last = Some(f.h.token(&cc_request(&forged)));
    }
    let last = last.unwrap();
    assert_error(&last, 401, "invalid_client");
    assert!(last.header("retry-after").is_some(), "{last:?}");
}

// ---------------------------------------------------------------------------------------
// OB: every refusal is one event, with the reason and without the assertion
// ---------------------------------------------------------------------------------------

/// An audit sink that keeps what it receives.
#[derive(Debug, Default)]
struct Recorded(std::sync::Mutex<Vec<grantflow::observe::AuditEvent>>);

#[async_trait::async_trait]
impl grantflow::observe::AuditSink for Recorded {
    async fn record(
        &self,
        event: &grantflow::observe::AuditEvent,
    ) -> Result<(), grantflow::StorageError> {
        self.0.lock().unwrap().push(event.clone());
        Ok(())
    }
}

#[test]
fn ca_05_ca_09_refused_and_replayed_assertions_are_audited_without_the_assertion() {
    use grantflow::observe::{AuthFailure, EventKind};
    let sink = Arc::new(Recorded::default());
    let f = fixture_with(|b| b.audit_sink(sink.clone()));
    let mut delivery = Box::pin(f.h.server.audit_delivery().unwrap().run());
    let assertion = es256(&f.keys.es256, &good_claims(PKJ, f.h.now()));
    assert_token(&f.h.token(&cc_request(&assertion)), "read");
    refused(&f.h.token(&cc_request(&assertion)));
    let mut claims = good_claims(PKJ, f.h.now());
    claims["aud"] = json!(format!("{ISSUER}/token"));
    let wrong_audience = es256(&f.keys.es256, &claims);
    refused(&f.h.token(&cc_request(&wrong_audience)));
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    assert!(delivery.as_mut().poll(&mut cx).is_pending());
    let events = sink.0.lock().unwrap().clone();
    let reasons: Vec<AuthFailure> = events
        .iter()
        .filter_map(|event| match &event.kind {
            EventKind::ClientAuthenticationFailed { reason, .. } => Some(*reason),
            _ => None,
        })
        .collect();
    assert_eq!(
        reasons,
        [
            AuthFailure::AssertionReplayed,
            AuthFailure::InvalidAssertion
        ]
    );
    let shown = format!("{events:?}");
    for jwt in [&assertion, &wrong_audience] {
        for segment in jwt.split('.') {
            assert!(!shown.contains(segment), "{shown}");
        }
    }
}

#[test]
fn ca_10_the_device_authorization_endpoint_accepts_assertions_once() {
    let keys = Keys::new();
    let registry = Arc::new(register(clients(&keys)));
    let h: Harness<Assertions> = Harness::builder(registry)
        .device_store(Arc::new(grantflow::MemoryDeviceStore::new()))
        .build(|b| b.private_key_jwt(true));
    let assertion = es256(&keys.es256, &good_claims(PKJ, h.now()));
    let request = post_form(format!("scope=read&{}", assertion_params(&assertion)));
    let response = block_on(h.server.device_authorization(&request)).unwrap();
    assert_eq!(response.status.as_u16(), 200, "{response:?}");
    refused(&block_on(h.server.device_authorization(&request)).unwrap());
}

// ---------------------------------------------------------------------------------------
// Keys published at a `jwks_uri`
// ---------------------------------------------------------------------------------------

/// A `private_key_jwt` client whose keys are at [`JWKS_URI`].
const REMOTE: &str = "pkj-remote";
const JWKS_URI: &str = "https://remote.example/jwks.json";

/// A fetcher serving one key set at [`JWKS_URI`] (or a failure), counting its fetches.
#[derive(Debug, Default)]
struct KeyHost {
    served: std::sync::Mutex<Option<grantflow::fetch::FetchResponse>>,
    fetches: std::sync::atomic::AtomicUsize,
}

impl KeyHost {
    fn publish(&self, keys: &[&SigningKey]) {
        let set = JwkSet::from_keys(keys.iter().map(|k| k.public_key().clone())).unwrap();
        *self.served.lock().unwrap() = Some(
            grantflow::fetch::FetchResponse::new(200, set.to_json().into_bytes())
                .with_content_type("application/jwk-set+json")
                .with_cache_control("max-age=600"),
        );
    }

    fn fetches(&self) -> usize {
        self.fetches.load(std::sync::atomic::Ordering::SeqCst)
    }
}

#[async_trait::async_trait]
impl grantflow::fetch::Fetcher for KeyHost {
    async fn fetch(
        &self,
        request: &grantflow::fetch::FetchRequest,
    ) -> Result<grantflow::fetch::FetchResponse, grantflow::fetch::FetchError> {
        assert_eq!(request.url(), JWKS_URI);
        self.fetches
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.served
            .lock()
            .unwrap()
            .clone()
            .ok_or_else(|| grantflow::fetch::FetchError::new("unreachable"))
    }
}

fn remote_fixture(host: &Arc<KeyHost>) -> Fixture {
    let keys = Keys::new();
    let registry = Arc::new(register(
        clients(&keys)
            .into_iter()
            .chain([cc(Client::builder(REMOTE, ClientType::Confidential)
                .auth_method(AuthMethod::PrivateKeyJwt)
                .jwks_uri(JWKS_URI))]),
    ));
    let fetcher: Arc<dyn grantflow::fetch::Fetcher> = host.clone();
    let h = Harness::builder(registry).build(|b| {
        b.access_token_ttl(TTL)
            .private_key_jwt(true)
            .fetcher(fetcher)
    });
    Fixture { h, keys }
}

#[test]
fn ca_13_jw_20_keys_at_a_jwks_uri_rotate_with_one_fetch_per_minute() {
    let host = Arc::new(KeyHost::default());
    let k1 = SigningKey::generate(Algorithm::Es256).unwrap();
    let k2 = SigningKey::generate(Algorithm::Es256).unwrap();
    let k3 = SigningKey::generate(Algorithm::Es256).unwrap();
    host.publish(&[&k1]);
    let f = remote_fixture(&host);
    let token = |key: &SigningKey| {
        let assertion = es256(key, &good_claims(REMOTE, f.h.now()));
        f.h.token(&cc_request(&assertion))
    };
    assert_token(&token(&k1), "read");
    assert_token(&token(&k1), "read");
    assert_eq!(host.fetches(), 1, "the fresh set is cached");
    // The client adds K2; within a minute of the last fetch an unknown kid fetches nothing.
    host.publish(&[&k1, &k2]);
    refused(&token(&k2));
    refused(&token(&k2));
    assert_eq!(host.fetches(), 1);
    // A minute later the unknown kid fetches the set once, and K2 works.
    f.h.clock.advance(std::time::Duration::from_secs(61));
    assert_token(&token(&k2), "read");
    assert_eq!(host.fetches(), 2);
    refused(&token(&k3));
    assert_eq!(
        host.fetches(),
        2,
        "an unknown kid right after a fetch fetches nothing"
    );
    // K1 is removed: it works until the cached copy expires, then never again.
    host.publish(&[&k2]);
    assert_token(&token(&k1), "read");
    f.h.clock.advance(std::time::Duration::from_secs(601));
    refused(&token(&k1));
    assert_eq!(host.fetches(), 3);
    assert_token(&token(&k2), "read");
    assert_eq!(host.fetches(), 3);
}

#[test]
fn jw_20_an_unusable_key_set_authenticates_nobody() {
    let host = Arc::new(KeyHost::default());
    let k1 = SigningKey::generate(Algorithm::Es256).unwrap();
    let f = remote_fixture(&host);
    let token = || {
        let assertion = es256(&k1, &good_claims(REMOTE, f.h.now()));
        f.h.token(&cc_request(&assertion))
    };
    // Unreachable, then a redirect, then HTML, then a set with a private key.
    refused(&token());
    *host.served.lock().unwrap() = Some(grantflow::fetch::FetchResponse::new(302, Vec::new()));
    refused(&token());
    host.publish(&[&k1]);
    let mut html = host.served.lock().unwrap().clone().unwrap();
    html = grantflow::fetch::FetchResponse::new(200, html.body().to_vec())
        .with_content_type("text/html");
    *host.served.lock().unwrap() = Some(html);
    refused(&token());
    // RFC 8037 A.1: an Ed25519 key with its private member.
    *host.served.lock().unwrap() = Some(
        grantflow::fetch::FetchResponse::new(
            200,
            br#"{"keys":[{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"}]}"#.to_vec(),
        )
        .with_content_type("application/json"),
    );
    refused(&token());
    // Failures are not cached: the published set works at once.
    host.publish(&[&k1]);
    assert_token(&token(), "read");
}

#[test]
fn jw_20_a_jwks_uri_client_without_a_fetcher_cannot_authenticate() {
    let keys = Keys::new();
    let k1 = SigningKey::generate(Algorithm::Es256).unwrap();
    let registry = Arc::new(register([cc(Client::builder(
        REMOTE,
        ClientType::Confidential,
    )
    .auth_method(AuthMethod::PrivateKeyJwt)
    .jwks_uri(JWKS_URI))]));
    let h: Harness<Assertions> =
        Harness::builder(registry).build(|b| b.access_token_ttl(TTL).private_key_jwt(true));
    let _ = keys;
    refused(&h.token(&cc_request(&es256(&k1, &good_claims(REMOTE, h.now())))));
}

#[test]
fn ca_12_jwks_uri_registrations_are_checked() {
    let keys = Keys::new();
    let pkj = || {
        Client::builder(REMOTE, ClientType::Confidential)
            .auth_method(AuthMethod::PrivateKeyJwt)
            .grant_type(GrantType::CLIENT_CREDENTIALS)
    };
    let both = pkj()
        .jwks(JwkSet::from_keys([keys.es256.public_key().clone()]).unwrap())
        .jwks_uri(JWKS_URI)
        .build();
    assert_eq!(both.err(), Some(ClientError::KeySources));
    for uri in [
        "http://remote.example/jwks",
        "https://127.0.0.1/jwks",
        "https://169.254.169.254/latest",
        "https://user@remote.example/jwks",
        "https://remote.example/jwks#k",
    ] {
        assert_eq!(
            pkj().jwks_uri(uri).build().err(),
            Some(ClientError::JwksUri),
            "{uri}"
        );
    }
    let client = pkj().jwks_uri(JWKS_URI).build().unwrap();
    assert_eq!(client.jwks_uri(), Some(JWKS_URI));
    assert!(client.jwks().is_none());
}

// ---------------------------------------------------------------------------------------
// CA-07: HS384 and HS512; CA-09: a second assertion
// ---------------------------------------------------------------------------------------

/// `claims` MACed by the judge with `alg` and `secret`.
fn hmac_with(alg: jsonwebtoken::Algorithm, secret: &[u8], claims: &Value) -> String {
    jsonwebtoken::encode(
        &Header::new(alg),
        claims,
        &EncodingKey::from_secret(secret).unwrap(),
    )
    .unwrap()
}

#[test]
fn ca_07_hs384_and_hs512_need_a_secret_as_long_as_their_hash() {
    use jsonwebtoken::Algorithm::{HS256, HS384, HS512};
    // 64 bytes: every HMAC algorithm; 48 bytes: HS256 and HS384.
    let long = "csj-secret-sixty-four-bytes-long-0123456789-abcdefghijklmnopqrst";
    let medium = "csj-secret-forty-eight-bytes-long-0123456789-abc";
    assert_eq!((long.len(), medium.len()), (64, 48));
    let registry = Arc::new(register([
        cc(Client::builder("csj-long", ClientType::Confidential)
            .auth_method(AuthMethod::ClientSecretJwt)
            .assertion_secret(&ClientSecret::from_presented(long.to_owned()))),
        cc(Client::builder("csj-medium", ClientType::Confidential)
            .auth_method(AuthMethod::ClientSecretJwt)
            .assertion_secret(&ClientSecret::from_presented(medium.to_owned()))),
    ]));
    let h: Harness<Assertions> =
        Harness::builder(registry).build(|b| b.access_token_ttl(TTL).client_secret_jwt(true));
    for alg in [HS256, HS384, HS512] {
        let claims = good_claims("csj-long", h.now());
        assert_token(
            &h.token(&cc_request(&hmac_with(alg, long.as_bytes(), &claims))),
            "read",
        );
        let wrong = good_claims("csj-long", h.now());
        refused(&h.token(&cc_request(&hmac_with(alg, medium.as_bytes(), &wrong))));
    }
    for alg in [HS256, HS384] {
        let claims = good_claims("csj-medium", h.now());
        assert_token(
            &h.token(&cc_request(&hmac_with(alg, medium.as_bytes(), &claims))),
            "read",
        );
    }
    // A 48-byte secret is too short for HS512, even with the right MAC.
    let claims = good_claims("csj-medium", h.now());
    let response = h.token(&cc_request(&hmac_with(HS512, medium.as_bytes(), &claims)));
    refused(&response);
    assert_eq!(
        json_body(&response)["error_description"],
        "client assertion algorithm not allowed"
    );
}

fn json_body(response: &HttpResponse) -> Value {
    serde_json::from_slice(&response.body).unwrap()
}

#[test]
fn ca_09_a_second_assertion_is_invalid_client() {
    let f = fixture();
    let first = es256(&f.keys.es256, &good_claims(PKJ, f.h.now()));
    let second = es256(&f.keys.es256, &good_claims(PKJ, f.h.now()));
    let twice = post_form(format!(
        "grant_type=client_credentials&{}&client_assertion={second}",
        assertion_params(&first)
    ));
    let response = f.h.token(&twice);
    refused(&response);
    assert!(response.header("www-authenticate").is_some());
    // The same assertion twice, and the type twice, too.
    let same = post_form(format!(
        "grant_type=client_credentials&{}&client_assertion={first}",
        assertion_params(&first)
    ));
    refused(&f.h.token(&same));
    let type_twice = post_form(format!(
        "grant_type=client_credentials&{}&client_assertion_type={}",
        assertion_params(&first),
        enc(JWT_BEARER)
    ));
    refused(&f.h.token(&type_twice));
    // At every endpoint that authenticates clients.
    refused(&block_on(f.h.server.revoke(&twice)).unwrap());
    refused(&block_on(f.h.server.introspect(&twice)).unwrap());
    // Neither assertion was consumed: each still authenticates alone.
    assert_token(&f.h.token(&cc_request(&first)), "read");
    assert_token(&f.h.token(&cc_request(&second)), "read");
    // Another repeated parameter stays invalid_request.
    let scope_twice = post_form(format!(
        "grant_type=client_credentials&scope=read&scope=read&{}",
        assertion_params(&es256(&f.keys.es256, &good_claims(PKJ, f.h.now())))
    ));
    assert_error(&f.h.token(&scope_twice), 400, "invalid_request");
}
