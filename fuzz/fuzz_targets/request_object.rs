//! Signed request objects (RFC 9101, JR-02 to JR-09) at the authorization endpoint, end to
//! end on memory stores. Two modes, by the first byte:
//!
//! - the rest is the `request` value, sent as is: nothing panics, no request is accepted
//!   (the key is generated at start, so no input carries a valid signature), every refusal
//!   is local (no redirect before the object verified), and no description repeats the
//!   input;
//! - the rest is a JOSE header and a claims set (split at the first `0xff`), signed with the
//!   client's ES256 key, so the fuzzer reaches the checks behind the signature: what is
//!   accepted must satisfy every rule (the client as `iss` and `client_id`, the issuer in
//!   `aud`, `exp` not passed, at most ten minutes of life), and a redirect goes only to the
//!   client's registered redirect URI.
#![no_main]

use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use grantflow::authorize::{AuthorizeError, PendingAuthorization};
use grantflow::clock::ManualClock;
use grantflow::jose::{Algorithm, JwkSet, SigningKey};
use grantflow::{
    Client, ClientType, GrantType, HttpRequest, MemoryClientRegistry, MemoryTokenStore, Method,
    Server,
};
use grantflow_fuzz::{block_on, signed_by};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

const ISSUER: &str = "https://as.example.com";
const CLIENT: &str = "jar";
const CALLBACK: &str = "https://client.example.com/cb";

struct World {
    key: SigningKey,
    server: Server,
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
        let client = Client::builder(CLIENT, ClientType::Public)
            .grant_type(GrantType::AUTHORIZATION_CODE)
            .allowed_scope("read write")
            .default_scope("read")
            .redirect_uri(CALLBACK)
            .jwks(JwkSet::from_keys([key.public_key().clone()]).expect("set"))
            .build()
            .expect("client");
        registry.insert(client).expect("unique");
        // Validation writes nothing (the `jti` is consumed on approval): one server serves
        // every input.
        let server = Server::builder(ISSUER, registry, Arc::new(MemoryTokenStore::new()))
            .clock(Arc::new(ManualClock::new(now())))
            .build()
            .expect("server");
        World { key, server }
    })
}

fn authorize(object: &str) -> Result<PendingAuthorization, AuthorizeError> {
    let encoded: String = url::form_urlencoded::byte_serialize(object.as_bytes()).collect();
    let request = HttpRequest::new(Method::Get).with_query(format!(
        "client_id={CLIENT}&scope=write&state=q&request={encoded}"
    ));
    block_on(world().server.authorize(&request))
}

/// A local refusal: `invalid_request_object` or `invalid_request` (a malformed query),
/// whose description does not repeat the input when it looks like a JWS.
fn refused_locally(result: &Result<PendingAuthorization, AuthorizeError>, input: &str) {
    match result {
        Err(AuthorizeError::Rejected(error)) => {
            let code = error.code().as_str();
            assert!(
                code == "invalid_request_object" || code == "invalid_request",
                "{code}"
            );
            let description = error.description().unwrap_or("");
            // A leaked object would be a JWS (two dots); no description has two.
            let jws_like = input.len() >= 16 && input.matches('.').count() >= 2;
            assert!(!jws_like || !description.contains(input), "{description}");
        }
        other => panic!("expected a local refusal, got {other:?}"),
    }
}

/// Whether verified claims satisfy every rule at [`now`].
fn satisfies_the_rules(claims: &Value) -> bool {
    let now = now()
        .duration_since(UNIX_EPOCH)
        .expect("epoch")
        .as_secs_f64();
    let number = |name: &str| claims.get(name).and_then(Value::as_f64);
    let aud_ok = match &claims["aud"] {
        Value::String(aud) => aud == ISSUER,
        Value::Array(auds) => auds.iter().any(|aud| aud == ISSUER),
        _ => false,
    };
    let Some(exp) = number("exp") else {
        return false;
    };
    let start = number("nbf").or(number("iat")).unwrap_or(now);
    claims["iss"] == CLIENT
        && claims["client_id"] == CLIENT
        && aud_ok
        && exp + 30.0 > now
        && exp - start <= 600.0 + 1.0
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    if mode & 1 == 0 {
        let Ok(object) = std::str::from_utf8(rest) else {
            return;
        };
        refused_locally(&authorize(object), object);
        return;
    }
    let (object, claims) = signed_by(&world().key, rest);
    match authorize(&object) {
        Ok(pending) => {
            let claims: Value = serde_json::from_slice(claims).expect("accepted claims are JSON");
            assert!(satisfies_the_rules(&claims), "accepted: {claims}");
            assert_eq!(pending.redirect_uri(), CALLBACK);
            // Only the object counts: the query's state never leaks in.
            let state = claims["state"].as_str().filter(|s| !s.is_empty());
            assert_eq!(pending.state(), state);
        }
        Err(AuthorizeError::Redirect(error)) => {
            let claims: Value = serde_json::from_slice(claims).expect("verified claims are JSON");
            assert!(satisfies_the_rules(&claims), "redirected: {claims}");
            assert_eq!(error.redirect_uri(), CALLBACK);
        }
        Err(AuthorizeError::Storage(fault)) => panic!("memory stores never fail: {fault}"),
        rejected => refused_locally(&rejected, &object),
    }
});
