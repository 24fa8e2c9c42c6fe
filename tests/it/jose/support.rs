//! Helpers of the JOSE tests: fixed times, key sets, and hand-made JWTs.

#![allow(
    dead_code,
    unreachable_pub,
    reason = "each module uses a different part of the helpers"
)]

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use grantflow::jose::{
    AccessTokenClaims, Algorithm, JwkSet, KeySet, MemoryKeySetStore, Signer as _, SigningKey,
};
use grantflow::{ClientId, Scope, Subject};

/// The issuer of every test key set is the harness's.
pub use crate::support::harness::{ISSUER, block_on};
/// The resource server of the access-token tests.
pub const RS: &str = "https://rs.example.com";

/// The EC P-256 key of RFC 7515 Appendix A.3: `x`, `y` and the private `d`.
pub const A3_X: &str = "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU";
pub const A3_Y: &str = "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0";
pub const A3_D: &str = "jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI";

/// The RFC 7515 A.3 key as a JWK: public, or with `d` when given.
pub fn a3_jwk(d: Option<&str>) -> String {
    let private = d.map_or_else(String::new, |d| format!(r#","d":"{d}""#));
    format!(r#"{{"kty":"EC","crv":"P-256","x":"{A3_X}","y":"{A3_Y}"{private}}}"#)
}

/// 2023-11-14T22:13:20Z plus `seconds`.
pub fn at(seconds: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_700_000_000 + seconds)
}

/// `at(0)` minus `seconds`.
pub fn before(seconds: u64) -> SystemTime {
    at(0) - Duration::from_secs(seconds)
}

/// Seconds since the epoch, as a JWT NumericDate.
pub use crate::support::harness::secs;

pub fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

pub fn unb64(text: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD.decode(text).unwrap()
}

/// A compact JWS of exactly these header and claims bytes, signed by `key` (whatever the
/// header says).
pub fn forge(header: &str, claims: &str, key: &SigningKey) -> String {
    let input = format!("{}.{}", b64(header.as_bytes()), b64(claims.as_bytes()));
    let signature = block_on(key.sign(input.as_bytes())).unwrap();
    format!("{input}.{}", b64(&signature))
}

/// The header `{"alg":…,"kid":…,"typ":"at+jwt"}` for `key`.
pub fn at_header(key: &SigningKey) -> String {
    format!(
        r#"{{"alg":"{}","kid":"{}","typ":"at+jwt"}}"#,
        key.algorithm().name(),
        key.kid()
    )
}

/// RFC 9068 claims for [`RS`], issued at `iat`, expiring at `exp`.
pub fn at_claims(iat: SystemTime, exp: SystemTime) -> String {
    format!(
        r#"{{"iss":"{ISSUER}","sub":"alice","aud":"{RS}","client_id":"reporting","iat":{},"exp":{},"jti":"j-{}","scope":"read write"}}"#,
        secs(iat),
        secs(exp),
        secs(iat)
    )
}

/// The client id `id`.
pub fn cid(id: &str) -> ClientId {
    ClientId::new(id).unwrap()
}

/// A key set over a fresh memory store whose first key is `key`, signing from `now`.
pub fn key_set_with(key: Arc<SigningKey>, now: SystemTime) -> KeySet {
    let set = KeySet::builder(ISSUER, Arc::new(MemoryKeySetStore::new()))
        .default_algorithm(key.algorithm())
        .build()
        .unwrap();
    block_on(set.bootstrap(key, now)).unwrap();
    set
}

/// A fresh key of `algorithm`.
pub fn key(algorithm: Algorithm) -> Arc<SigningKey> {
    Arc::new(SigningKey::generate(algorithm).unwrap())
}

/// The JWK Set holding exactly the public half of each key.
pub fn jwks(keys: &[&SigningKey]) -> JwkSet {
    JwkSet::from_keys(keys.iter().map(|k| k.public_key().clone())).unwrap()
}

/// Access token claims for [`RS`], client `reporting`, subject alice, scope `read write`.
pub fn access_claims(now: SystemTime, lifetime: u64) -> AccessTokenClaims {
    AccessTokenClaims::new(
        RS,
        &ClientId::new("reporting").unwrap(),
        Some(&Subject::new("alice")),
        now,
        Duration::from_secs(lifetime),
    )
    .with_scope(&Scope::parse("read write").unwrap())
}

/// The decoded JSON of a JWT's header and claims.
pub fn decode(jwt: &str) -> (serde_json::Value, serde_json::Value) {
    let mut parts = jwt.split('.');
    let header = serde_json::from_slice(&unb64(parts.next().unwrap())).unwrap();
    let claims = serde_json::from_slice(&unb64(parts.next().unwrap())).unwrap();
    (header, claims)
}
