//! The JWS/JWT parser and checks (feature `jwt`, JW-01..JW-16). Two modes, by the first
//! byte:
//!
//! - the rest is a token, handed to every validator: it never panics, and never verifies
//!   (the keys are generated at start, so no input can carry a valid signature), and no
//!   error text repeats the token;
//! - the rest is a header and a claims set (split at the first `0xff`), signed with the
//!   harness's key for the header's algorithm (ES256 or EdDSA), so the fuzzer reaches the
//!   header rules and the claim checks behind the signature: what verifies must satisfy
//!   every rule the validator promises, and a signature by the key the header names (or,
//!   without a `kid`, the only key of its algorithm) always verifies.
#![no_main]

use std::collections::HashSet;
use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use grantflow::jose::{
    AccessTokenVerifier, Algorithm, HmacKey, JwkSet, JwtError, Signer as _, SigningKey, Validation,
};
use libfuzzer_sys::fuzz_target;

const ISSUER: &str = "https://as.example.com";
const RS: &str = "https://rs.example.com";

struct World {
    es256: SigningKey,
    eddsa: SigningKey,
    keys: JwkSet,
    hmac: HmacKey,
    verifier: AccessTokenVerifier,
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let es256 = SigningKey::generate(Algorithm::Es256).expect("key");
        let eddsa = SigningKey::generate(Algorithm::EdDsa).expect("key");
        let rs256 = SigningKey::generate(Algorithm::Rs256).expect("key");
        let keys = JwkSet::from_keys(
            [&es256, &eddsa, &rs256]
                .into_iter()
                .map(|k| k.public_key().clone()),
        )
        .expect("set");
        let verifier = AccessTokenVerifier::with_cache_capacity(
            Validation::access_token(ISSUER, RS),
            keys.clone(),
            8,
        )
        .expect("verifier");
        World {
            es256,
            eddsa,
            keys,
            hmac: HmacKey::new(&[0x5a; 32]).expect("key"),
            verifier,
        }
    })
}

/// 2023-11-14T22:13:20Z: claims near it are live.
fn now() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_700_000_000)
}

fn cid(id: &str) -> grantflow::ClientId {
    grantflow::ClientId::new(id).expect("client id")
}

fn validations() -> [Validation; 5] {
    [
        Validation::access_token(ISSUER, RS),
        Validation::id_token(ISSUER, &cid("client")),
        Validation::client_assertion(&cid("client"), ISSUER),
        Validation::request_object(&cid("client"), ISSUER),
        Validation::userinfo(ISSUER, &cid("client")),
    ]
}

/// Every error text is one of the crate's fixed texts: none carries anything of the token
/// (JW-21).
fn quiet(error: JwtError) {
    static KNOWN: OnceLock<HashSet<String>> = OnceLock::new();
    let known = KNOWN.get_or_init(|| {
        let claims = [
            "iss",
            "sub",
            "aud",
            "exp",
            "nbf",
            "iat",
            "jti",
            "client_id",
            "scope",
            "auth_time",
            "acr",
        ];
        [
            JwtError::TooLarge,
            JwtError::Malformed,
            JwtError::InvalidHeader,
            JwtError::AlgorithmNotAllowed,
            JwtError::CriticalHeader,
            JwtError::Unsupported,
            JwtError::WrongType,
            JwtError::KeyInHeader,
            JwtError::UnknownKey,
            JwtError::AmbiguousKey,
            JwtError::KeyMismatch,
            JwtError::BadSignature,
            JwtError::InvalidClaims,
            JwtError::Expired,
            JwtError::NotYetValid,
            JwtError::IssuedInFuture,
            JwtError::TooOld,
            JwtError::WrongIssuer,
            JwtError::WrongAudience,
            JwtError::WrongSubject,
        ]
        .into_iter()
        .chain(claims.iter().map(|c| JwtError::MissingClaim(c)))
        .chain(claims.iter().map(|c| JwtError::InvalidClaim(c)))
        .map(|e| e.to_string())
        .collect()
    });
    let text = error.to_string();
    assert!(known.contains(&text), "an error text of its own: {text}");
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let w = world();
    let now = now();
    if mode & 1 == 0 {
        let Ok(token) = std::str::from_utf8(rest) else {
            return;
        };
        for validation in validations() {
            let error = validation
                .verify(token, &w.keys, now)
                .expect_err("a forged token verified");
            quiet(error);
        }
        let error = w
            .verifier
            .verify(token, now)
            .expect_err("a forged access token verified");
        quiet(error);
        let error = Validation::client_assertion(&cid("client"), ISSUER)
            .verify_hmac(token, &w.hmac, now)
            .expect_err("a forged HS256 assertion verified");
        quiet(error);
        // A DPoP proof carries its own key, so a fuzzed one may verify: only no panic.
        if let Err(error) = Validation::dpop_proof().verify_embedded_key(token, now) {
            quiet(error);
        }
        return;
    }
    let (header, claims) = match rest.iter().position(|&b| b == 0xff) {
        Some(at) => (&rest[..at], &rest[at + 1..]),
        None => (rest, &b"{}"[..]),
    };
    // Signed by the harness's key for the header's algorithm (ES256 for any other), so
    // the signature verifies whenever the header names that key, or no key.
    let named: Option<serde_json::Value> = serde_json::from_slice(header).ok();
    let alg = named
        .as_ref()
        .and_then(|h| h.get("alg"))
        .and_then(|a| a.as_str());
    let signer = if alg == Some("EdDSA") {
        &w.eddsa
    } else {
        &w.es256
    };
    let kid = named.as_ref().and_then(|h| h.get("kid"));
    let ours = alg == Some(signer.algorithm().name())
        && kid.is_none_or(|kid| kid.as_str() == Some(signer.kid()));
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(claims)
    );
    let signature = {
        let mut future = std::pin::pin!(signer.sign(input.as_bytes()));
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        match future.as_mut().poll(&mut cx) {
            std::task::Poll::Ready(signature) => signature.expect("signature"),
            std::task::Poll::Pending => return,
        }
    };
    let token = format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature));
    for validation in validations() {
        match validation.verify(&token, &w.keys, now) {
            Ok(verified) => {
                let header: serde_json::Value =
                    serde_json::from_slice(header).expect("a verified header is JSON");
                assert_eq!(header["alg"], signer.algorithm().name());
                for refused in ["crit", "jku", "x5u", "x5c", "jwk", "enc", "zip"] {
                    assert!(header.get(refused).is_none(), "{refused} passed");
                }
                let claims = verified.claims();
                if let Some(exp) = claims.expires_at() {
                    assert!(now < exp + Duration::from_secs(30));
                }
                if let Some(nbf) = claims.not_before() {
                    assert!(nbf <= now + Duration::from_secs(30));
                }
                if let Some(iat) = claims.issued_at() {
                    assert!(iat <= now + Duration::from_secs(30));
                }
                let (issuer, audience) = match validation.jwt_use() {
                    grantflow::jose::JwtUse::AccessToken => (ISSUER, RS),
                    grantflow::jose::JwtUse::IdToken | grantflow::jose::JwtUse::UserInfo => {
                        (ISSUER, "client")
                    }
                    _ => ("client", ISSUER),
                };
                assert_eq!(claims.issuer(), Some(issuer));
                assert!(claims.audience().iter().any(|a| a == audience));
            }
            Err(error) => {
                if ours {
                    assert_ne!(error, JwtError::BadSignature, "our own signature failed");
                }
                quiet(error);
            }
        }
    }
    match w.verifier.verify(&token, now) {
        Ok(verified) => {
            assert_eq!(verified.issuer, ISSUER);
            assert!(verified.audience.iter().any(|a| a == RS));
            assert!(now < verified.expires_at + Duration::from_secs(30));
            // Again, from the cache: the same answer.
            let again = w
                .verifier
                .verify(&token, now)
                .expect("a cached token verifies");
            assert_eq!(*again, *verified);
        }
        Err(error) => quiet(error),
    }
});
