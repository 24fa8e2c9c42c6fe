//! The FAPI 2.0 Security Profile switch (FP-01 … FP-19 where they fall on the authorization
//! server): what `build()` refuses, what the metadata says, and the profile's rules at the
//! endpoints, with every assertion and request object made by an independent JWT library
//! (`jsonwebtoken`).

use std::sync::Arc;
use std::time::Duration;

use grantflow::jose::{Algorithm, JwkSet};
use grantflow::store::MemoryPushedRequestStore;
use grantflow::*;
use serde_json::{Value, json};

use crate::client_assertion::{Keys, assertion_params, good_claims, sign_with};
use crate::support::authz::{
    CHALLENGE, CONF_SECRET, Harness, PKCE, VERIFIER, assert_location_error, basic, block_on, enc,
    json, location_param, post_form, redirect_error, register,
};
use crate::support::harness::ISSUER;
use crate::support::token::assert_error;

/// The FAPI client: confidential, `private_key_jwt` with an ES256 and a PS256 key.
const FAPI: &str = "fapi-client";
const FAPI_CB: &str = "https://fapi.example.com/cb";
/// A confidential `client_secret_basic` client.
const BASIC: &str = "fapi-basic";
/// A public client.
const PUBLIC: &str = "fapi-public";

struct Fixture {
    h: Harness,
    keys: Keys,
}

fn clients(keys: &Keys) -> Vec<ClientBuilder> {
    let code = |b: ClientBuilder| {
        b.grant_type(GrantType::AUTHORIZATION_CODE)
            .grant_type(GrantType::REFRESH_TOKEN)
            .grant_type(GrantType::CLIENT_CREDENTIALS)
            .allowed_scope("read")
            .default_scope("read")
            .redirect_uri(FAPI_CB)
    };
    vec![
        code(Client::builder(FAPI, ClientType::Confidential))
            .auth_method(AuthMethod::PrivateKeyJwt)
            .jwks(keys.both()),
        code(Client::builder(BASIC, ClientType::Confidential))
            .secret(&ClientSecret::from_presented(CONF_SECRET.to_owned())),
        Client::builder(PUBLIC, ClientType::Public)
            .grant_type(GrantType::AUTHORIZATION_CODE)
            .allowed_scope("read")
            .redirect_uri(FAPI_CB),
    ]
}

fn fapi_builder(b: ServerBuilder) -> ServerBuilder {
    b.fapi2_security_profile()
        .pushed_authorization(Arc::new(MemoryPushedRequestStore::new()))
}

fn fixture() -> Fixture {
    let keys = Keys::new();
    let h = Harness::builder(Arc::new(register(clients(&keys)))).build(fapi_builder);
    Fixture { h, keys }
}

fn es256(f: &Fixture, claims: &Value) -> String {
    sign_with(&f.keys.es256, jsonwebtoken::Algorithm::ES256, None, claims)
}

impl Fixture {
    /// A good assertion of the FAPI client (ES256, `aud` the issuer as a string).
    fn assertion(&self) -> String {
        es256(self, &good_claims(FAPI, self.h.now()))
    }

    /// `POST /par` with `body` and the FAPI client's `assertion`.
    fn push(&self, body: &str, assertion: &str) -> HttpResponse {
        let request = post_form(format!("{body}&{}", assertion_params(assertion)));
        block_on(self.h.server.pushed_authorization(&request)).unwrap()
    }

    fn par_request() -> String {
        format!(
            "response_type=code&redirect_uri={}&scope=read&state=s-fapi&{PKCE}",
            enc(FAPI_CB)
        )
    }
}

/// The server of a FAPI builder adjusted by `configure`, or its error text.
fn build(configure: impl FnOnce(ServerBuilder) -> ServerBuilder) -> Result<Server, String> {
    let keys = Keys::new();
    let registry = Arc::new(register(clients(&keys)));
    let builder = Server::builder(ISSUER, registry, Arc::new(MemoryTokenStore::new()));
    configure(builder).build().map_err(|e| e.to_string())
}

// ---------------------------------------------------------------------------------------
// FP-01: the switch and what build() refuses
// ---------------------------------------------------------------------------------------

#[test]
fn fp_01_build_refuses_a_configuration_that_contradicts_the_profile() {
    build(fapi_builder).expect("the profile with a pushed request store");
    let cases: [(&str, Box<dyn FnOnce(ServerBuilder) -> ServerBuilder>); 6] = [
        (
            "code_ttl",
            Box::new(|b| fapi_builder(b).code_ttl(Duration::from_secs(120))),
        ),
        ("pushed", Box::new(|b| b.fapi2_security_profile())),
        (
            "pushed",
            Box::new(|b| fapi_builder(b).require_pushed_authorization_requests(false)),
        ),
        (
            "private_key_jwt",
            Box::new(|b| fapi_builder(b).client_secret_jwt(true)),
        ),
        (
            "refresh tokens",
            Box::new(|b| fapi_builder(b).refresh_token_rotation(true)),
        ),
        (
            "PKCE",
            Box::new(|b| fapi_builder(b).dangerous(|d| d.allow_plain_pkce())),
        ),
    ];
    for (rule, configure) in cases {
        let error = build(configure).expect_err(rule);
        assert!(error.contains("FAPI 2.0"), "{rule}: {error}");
        assert!(error.contains(rule), "{rule}: {error}");
    }
    // FP-21: an http issuer, even with the development flag.
    let http = Server::builder(
        "http://localhost:8080",
        Arc::new(MemoryClientRegistry::new()),
        Arc::new(MemoryTokenStore::new()),
    )
    .dangerous(|d| d.allow_http_issuer())
    .fapi2_security_profile()
    .pushed_authorization(Arc::new(MemoryPushedRequestStore::new()))
    .build()
    .map(|_| ())
    .unwrap_err()
    .to_string();
    assert!(http.contains("https"), "{http}");
}

#[test]
fn fp_01_fp_03_the_password_grant_cannot_be_on() {
    #[derive(Debug)]
    struct Nobody;
    #[async_trait::async_trait]
    impl grantflow::grant::ResourceOwnerVerifier for Nobody {
        async fn verify(
            &self,
            _: &Client,
            _: &str,
            _: &grantflow::secret::ResourceOwnerPassword,
        ) -> Result<Option<Subject>, StorageError> {
            Ok(None)
        }
    }
    let error = build(|b| fapi_builder(b).password_grant(Arc::new(Nobody))).unwrap_err();
    assert!(error.contains("password"), "{error}");
}

// ---------------------------------------------------------------------------------------
// FP-02, FP-05, FP-13, FP-19: metadata
// ---------------------------------------------------------------------------------------

#[test]
fn fp_05_fp_13_fp_19_metadata_reflects_the_profile() {
    let f = fixture();
    let metadata = json(&f.h.server.metadata());
    for member in [
        "token_endpoint_auth_methods_supported",
        "revocation_endpoint_auth_methods_supported",
        "introspection_endpoint_auth_methods_supported",
    ] {
        assert_eq!(metadata[member], json!(["private_key_jwt"]), "{member}");
    }
    for member in [
        "token_endpoint_auth_signing_alg_values_supported",
        "request_object_signing_alg_values_supported",
    ] {
        let mut algorithms: Vec<&str> = metadata[member]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        algorithms.sort_unstable();
        assert_eq!(algorithms, ["ES256", "EdDSA", "PS256"], "{member}");
    }
    assert_eq!(metadata["require_pushed_authorization_requests"], true);
    assert_eq!(
        metadata["code_challenge_methods_supported"],
        json!(["S256"])
    );
    assert_eq!(
        metadata["authorization_response_iss_parameter_supported"],
        true
    );
}

// ---------------------------------------------------------------------------------------
// FP-03, FP-05, FP-06, FP-11, FP-19: client authentication
// ---------------------------------------------------------------------------------------

#[test]
fn fp_03_fp_05_shared_secrets_and_public_clients_are_refused() {
    let f = fixture();
    let basic_request = post_form("grant_type=client_credentials")
        .with_header("authorization", basic(BASIC, CONF_SECRET));
    assert_error(&f.h.token(&basic_request), 401, "invalid_client");
    let post =
        format!("grant_type=client_credentials&client_id={BASIC}&client_secret={CONF_SECRET}");
    assert_error(&f.h.token(&post), 401, "invalid_client");
    // A public client cannot push (FP-13: PAR needs client authentication) ...
    let pushed = block_on(f.h.server.pushed_authorization(&post_form(format!(
        "client_id={PUBLIC}&{}",
        Fixture::par_request()
    ))))
    .unwrap();
    assert_error(&pushed, 401, "invalid_client");
    // ... nor use the token endpoint.
    let public =
        format!("grant_type=authorization_code&code=x&client_id={PUBLIC}&code_verifier={VERIFIER}");
    assert_error(&f.h.token(&public), 401, "invalid_client");
    // FP-03: no password grant.
    let password = post_form(format!(
        "grant_type=password&username=a&password=b&{}",
        assertion_params(&f.assertion())
    ));
    assert_error(&f.h.token(&password), 400, "unsupported_grant_type");
}

#[test]
fn fp_06_the_assertion_audience_is_the_issuer_as_a_string() {
    let f = fixture();
    let cc = |assertion: &str| {
        post_form(format!(
            "grant_type=client_credentials&{}",
            assertion_params(assertion)
        ))
    };
    let array = json!({"aud": [ISSUER]});
    let mut claims = good_claims(FAPI, f.h.now());
    claims["aud"] = array["aud"].clone();
    assert_error(&f.h.token(&cc(&es256(&f, &claims))), 401, "invalid_client");
    let response = f.h.token(&cc(&f.assertion()));
    assert_eq!(response.status.as_u16(), 200, "{}", json(&response));
}

#[test]
fn fp_19_rs256_assertions_are_refused_ps256_accepted() {
    let f = fixture();
    let cc = |assertion: &str| {
        post_form(format!(
            "grant_type=client_credentials&{}",
            assertion_params(assertion)
        ))
    };
    let claims = good_claims(FAPI, f.h.now());
    let rs256 = sign_with(&f.keys.ps256, jsonwebtoken::Algorithm::RS256, None, &claims);
    assert_error(&f.h.token(&cc(&rs256)), 401, "invalid_client");
    let claims = good_claims(FAPI, f.h.now());
    let ps256 = sign_with(&f.keys.ps256, jsonwebtoken::Algorithm::PS256, None, &claims);
    assert_eq!(f.h.token(&cc(&ps256)).status.as_u16(), 200);
}

#[test]
fn fp_11_clock_skew_of_received_jwts() {
    let f = fixture();
    let cc = |assertion: &str| {
        post_form(format!(
            "grant_type=client_credentials&{}",
            assertion_params(assertion)
        ))
    };
    let now =
        f.h.now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
    let at = |iat: u64| {
        let mut claims = good_claims(FAPI, f.h.now());
        claims["iat"] = json!(iat);
        claims["exp"] = json!(iat + 60);
        es256(&f, &claims)
    };
    assert_eq!(f.h.token(&cc(&at(now + 9))).status.as_u16(), 200);
    assert_error(&f.h.token(&cc(&at(now + 61))), 401, "invalid_client");
}

// ---------------------------------------------------------------------------------------
// FP-10, FP-13, FP-14, FP-15, FP-16: the code flow through PAR
// ---------------------------------------------------------------------------------------

#[test]
fn fp_13_an_authorization_request_without_par_is_refused() {
    let f = fixture();
    let plain = format!(
        "response_type=code&client_id={FAPI}&redirect_uri={}&scope=read&state=s&{PKCE}",
        enc(FAPI_CB)
    );
    assert_location_error(&redirect_error(f.h.authorize(&plain)), "invalid_request");
}

#[test]
fn fp_14_par_needs_a_redirect_uri_and_a_challenge() {
    let f = fixture();
    let without_redirect = format!("response_type=code&scope=read&{PKCE}");
    assert_error(
        &f.push(&without_redirect, &f.assertion()),
        400,
        "invalid_request",
    );
    let without_challenge = format!(
        "response_type=code&scope=read&redirect_uri={}",
        enc(FAPI_CB)
    );
    assert_error(
        &f.push(&without_challenge, &f.assertion()),
        400,
        "invalid_request",
    );
    let plain = format!(
        "response_type=code&scope=read&redirect_uri={}&code_challenge={CHALLENGE}&code_challenge_method=plain",
        enc(FAPI_CB)
    );
    assert_error(&f.push(&plain, &f.assertion()), 400, "invalid_request");
}

#[test]
fn fp_08_fp_10_fp_15_fp_16_the_code_flow_through_par() {
    let f = fixture();
    let pushed = f.push(&Fixture::par_request(), &f.assertion());
    assert_eq!(pushed.status.as_u16(), 201, "{}", json(&pushed));
    let body = json(&pushed);
    // FP-16: under 600 s.
    assert!(body["expires_in"].as_u64().unwrap() < 600);
    let uri = body["request_uri"].as_str().unwrap();
    let pending =
        f.h.authorize(&format!("client_id={FAPI}&request_uri={}", enc(uri)))
            .unwrap();
    let response =
        block_on(pending.approve(Subject::new("alice"), Scope::parse("read").unwrap())).unwrap();
    // FP-15: `iss` in the authorization response.
    assert_eq!(location_param(&response, "iss").as_deref(), Some(ISSUER));
    let code = location_param(&response, "code").unwrap();
    let redeem = |code: &str| {
        post_form(format!(
            "grant_type=authorization_code&code={code}&redirect_uri={}&code_verifier={VERIFIER}&{}",
            enc(FAPI_CB),
            assertion_params(&f.assertion())
        ))
    };
    // FP-10: a code lives at most 60 s.
    f.h.clock.advance(Duration::from_secs(61));
    assert_error(&f.h.token(&redeem(&code)), 400, "invalid_grant");

    let pushed = f.push(&Fixture::par_request(), &f.assertion());
    let uri = json(&pushed)["request_uri"].as_str().unwrap().to_owned();
    let pending =
        f.h.authorize(&format!("client_id={FAPI}&request_uri={}", enc(&uri)))
            .unwrap();
    let response =
        block_on(pending.approve(Subject::new("alice"), Scope::parse("read").unwrap())).unwrap();
    let code = location_param(&response, "code").unwrap();
    let tokens = f.h.token(&redeem(&code));
    assert_eq!(tokens.status.as_u16(), 200, "{}", json(&tokens));
    // FP-08: the refresh token is not rotated: two refreshes with it both succeed.
    let refresh = json(&tokens)["refresh_token"].as_str().unwrap().to_owned();
    for _ in 0..2 {
        let response = f.h.token(&post_form(format!(
            "grant_type=refresh_token&refresh_token={refresh}&{}",
            assertion_params(&f.assertion())
        )));
        assert_eq!(response.status.as_u16(), 200, "{}", json(&response));
        assert!(json(&response).get("refresh_token").is_none());
    }
    // FP-10: single use (and the replay revokes the grant).
    assert_error(&f.h.token(&redeem(&code)), 400, "invalid_grant");
}

// ---------------------------------------------------------------------------------------
// JR-03 in FAPI mode: request objects name the issuer alone, as a string
// ---------------------------------------------------------------------------------------

#[test]
fn jr_03_fp_06_a_pushed_request_object_with_an_audience_array_is_refused() {
    let f = fixture();
    let now =
        f.h.now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
    let object = |aud: Value| {
        es256(
            &f,
            &json!({
                "iss": FAPI, "aud": aud, "client_id": FAPI, "response_type": "code",
                "redirect_uri": FAPI_CB, "scope": "read", "code_challenge": CHALLENGE,
                "code_challenge_method": "S256", "iat": now, "exp": now + 60,
            }),
        )
    };
    let refused = f.push(
        &format!("request={}", object(json!([ISSUER]))),
        &f.assertion(),
    );
    assert_error(&refused, 400, "invalid_request_object");
    let accepted = f.push(
        &format!("request={}", object(json!(ISSUER))),
        &f.assertion(),
    );
    assert_eq!(accepted.status.as_u16(), 201, "{}", json(&accepted));
}

#[test]
fn fp_19_a_client_registered_for_rs256_cannot_authenticate() {
    let keys = Keys::new();
    let mut all = clients(&keys);
    all.push(
        Client::builder("rs256", ClientType::Confidential)
            .auth_method(AuthMethod::PrivateKeyJwt)
            .jwks(JwkSet::from_keys([keys.ps256.public_key().clone()]).unwrap())
            .token_endpoint_auth_signing_alg(Algorithm::Rs256)
            .grant_type(GrantType::CLIENT_CREDENTIALS)
            .allowed_scope("read"),
    );
    let h = Harness::builder(Arc::new(register(all))).build(fapi_builder);
    let claims = good_claims("rs256", h.now());
    let rs256 = sign_with(&keys.ps256, jsonwebtoken::Algorithm::RS256, None, &claims);
    let response = h.token(&post_form(format!(
        "grant_type=client_credentials&{}",
        assertion_params(&rs256)
    )));
    assert_error(&response, 401, "invalid_client");
}
