//! `private_key_jwt` and `client_secret_jwt` at the token endpoint (CA-01..CA-09), end to
//! end on memory stores. Two modes, by the first byte:
//!
//! - the rest is the `client_assertion` value, sent as is for one of the two clients:
//!   nothing panics, nothing is 5xx, nothing authenticates (the key is generated at start,
//!   so no input carries a valid signature), and no error description repeats the input;
//! - the rest is a JOSE header and a claims set (split at the first `0xff`), signed with the
//!   `private_key_jwt` client's ES256 key, so the fuzzer reaches the checks behind the
//!   signature: what authenticates must satisfy every CA rule (the client as `iss` and
//!   `sub`, the issuer as the sole audience, at most five minutes of life, a `jti` of
//!   1..=256 characters), and the same assertion sent again is refused.
#![no_main]

use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use grantflow::clock::ManualClock;
use grantflow::jose::{Algorithm, JwkSet, SigningKey};
use grantflow::{
    AuthMethod, Client, ClientSecret, ClientType, GrantType, HttpRequest, HttpResponse,
    MemoryClientRegistry, MemoryTokenStore, Method, Server,
};
use grantflow_fuzz::{block_on, signed_by};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

const ISSUER: &str = "https://as.example.com";
const PKJ: &str = "pkj";
const CSJ: &str = "csj";
const SECRET: &str = "a-client-secret-of-thirty-two-bytes-or-more";
const JWT_BEARER: &str = "urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer";

struct World {
    key: SigningKey,
    registry: Arc<MemoryClientRegistry>,
}

/// 2023-11-14T22:13:20Z.
fn now() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_700_000_000)
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let key = SigningKey::generate(Algorithm::Es256).expect("key");
        let registry = Arc::new(MemoryClientRegistry::new());
        let cc = |b: grantflow::ClientBuilder| {
            b.grant_type(GrantType::CLIENT_CREDENTIALS)
                .allowed_scope("read")
                .default_scope("read")
        };
        let pkj = cc(Client::builder(PKJ, ClientType::Confidential)
            .auth_method(AuthMethod::PrivateKeyJwt)
            .jwks(JwkSet::from_keys([key.public_key().clone()]).expect("set")));
        let csj = cc(Client::builder(CSJ, ClientType::Confidential)
            .auth_method(AuthMethod::ClientSecretJwt)
            .assertion_secret(&ClientSecret::from_presented(SECRET.to_owned())));
        for client in [pkj, csj] {
            registry
                .insert(client.build().expect("client"))
                .expect("unique");
        }
        World { key, registry }
    })
}

/// A fresh server per input (its replay store and limiter start empty).
fn server() -> Server {
    Server::builder(
        ISSUER,
        world().registry.clone(),
        Arc::new(MemoryTokenStore::new()),
    )
    .clock(Arc::new(ManualClock::new(now())))
    .private_key_jwt(true)
    .client_secret_jwt(true)
    .build()
    .expect("server")
}

fn token(server: &Server, client: &str, assertion: &str) -> HttpResponse {
    let encoded: String = url::form_urlencoded::byte_serialize(assertion.as_bytes()).collect();
    let body = format!(
        "grant_type=client_credentials&client_id={client}&client_assertion_type={JWT_BEARER}&client_assertion={encoded}"
    );
    let request = HttpRequest::new(Method::Post)
        .with_header("content-type", "application/x-www-form-urlencoded")
        .with_body(body.into_bytes());
    let response = block_on(server.token(&request)).expect("memory stores never fail");
    assert!(response.status.as_u16() < 500, "{response:?}");
    response
}

/// Every `invalid_client` description names a category: one of these fixed texts.
const DESCRIPTIONS: [&str; 10] = [
    "client authentication failed",
    "client assertion expired",
    "client assertion audience is not the issuer",
    "client assertion signature does not verify",
    "client assertion algorithm not allowed",
    "client assertion invalid",
    "client assertion lifetime too long",
    "client assertion jti invalid",
    "client assertion already used",
    "too many failed authentication attempts",
];

/// A refusal is `invalid_client` with one of the fixed [`DESCRIPTIONS`], or
/// `invalid_request` (a malformed form) whose description does not repeat the assertion.
fn refused(response: &HttpResponse, assertion: &str) {
    let body: Value = serde_json::from_slice(&response.body).expect("JSON");
    let description = body["error_description"].as_str().unwrap_or_default();
    match body["error"].as_str() {
        Some("invalid_client") => {
            assert!(DESCRIPTIONS.contains(&description), "{description}");
        }
        Some("invalid_request") => {
            assert!(
                assertion.len() < 16 || !description.contains(assertion),
                "{description}"
            );
        }
        other => panic!("refused with {other:?}"),
    }
}

/// Whether verified claims satisfy every CA rule at [`now`].
fn satisfies_the_rules(claims: &Value) -> bool {
    let now = now()
        .duration_since(UNIX_EPOCH)
        .expect("epoch")
        .as_secs_f64();
    let number = |name: &str| claims.get(name).and_then(Value::as_f64);
    let aud_ok = match &claims["aud"] {
        Value::String(aud) => aud == ISSUER,
        Value::Array(auds) => auds.len() == 1 && auds[0] == ISSUER,
        _ => false,
    };
    let Some(exp) = number("exp") else {
        return false;
    };
    let start = number("iat").unwrap_or(now);
    let jti_ok = claims["jti"]
        .as_str()
        .is_some_and(|jti| !jti.is_empty() && jti.len() <= 256);
    claims["iss"] == PKJ
        && claims["sub"] == PKJ
        && aud_ok
        && exp + 30.0 > now
        && exp - start <= 300.0 + 1.0
        && now - start <= 300.0 + 1.0
        && jti_ok
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let server = server();
    if mode & 1 == 0 {
        let Ok(assertion) = std::str::from_utf8(rest) else {
            return;
        };
        for client in [PKJ, CSJ] {
            let response = token(&server, client, assertion);
            assert_ne!(
                response.status.as_u16(),
                200,
                "a forged assertion authenticated"
            );
            refused(&response, assertion);
        }
        return;
    }
    let (assertion, claims) = signed_by(&world().key, rest);
    let response = token(&server, PKJ, &assertion);
    if response.status.as_u16() == 200 {
        let claims: Value = serde_json::from_slice(claims).expect("accepted claims are JSON");
        assert!(satisfies_the_rules(&claims), "accepted: {claims}");
        let replay = token(&server, PKJ, &assertion);
        assert_eq!(replay.status.as_u16(), 401, "a replay was accepted");
    } else {
        refused(&response, &assertion);
    }
});
