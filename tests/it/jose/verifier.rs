//! The offline access-token verifier: its verified-token cache and key replacement.

use std::sync::Arc;

use grantflow::jose::{AccessTokenVerifier, Algorithm, JwtError, Validation};

use super::support::{
    ISSUER, RS, at, at_claims, at_header, b64, before, cid, forge, jwks, key, unb64,
};

fn verifier(keys: grantflow::jose::JwkSet, capacity: usize) -> AccessTokenVerifier {
    AccessTokenVerifier::with_cache_capacity(Validation::access_token(ISSUER, RS), keys, capacity)
        .unwrap()
}

#[test]
fn a_repeated_token_is_answered_from_the_cache() {
    let k = key(Algorithm::Es256);
    let token = forge(&at_header(&k), &at_claims(before(10), at(600)), &k);
    let v = verifier(jwks(&[&k]), 64);
    let first = v.verify(&token, at(0)).unwrap();
    let second = v.verify(&token, at(1)).unwrap();
    assert!(
        Arc::ptr_eq(&first, &second),
        "the second answer came from the cache"
    );
    // Without a cache, every call verifies anew.
    let uncached = verifier(jwks(&[&k]), 0);
    let a = uncached.verify(&token, at(0)).unwrap();
    let b = uncached.verify(&token, at(0)).unwrap();
    assert!(!Arc::ptr_eq(&a, &b));
    assert_eq!(a, b);
}

#[test]
fn ex_08_a_cached_token_still_expires() {
    let k = key(Algorithm::Es256);
    let token = forge(&at_header(&k), &at_claims(before(10), at(100)), &k);
    let v = verifier(jwks(&[&k]), 64);
    assert!(v.verify(&token, at(0)).is_ok());
    assert!(v.verify(&token, at(129)).is_ok());
    assert_eq!(v.verify(&token, at(130)).unwrap_err(), JwtError::Expired);
    // A token not valid yet is not cached as valid earlier either.
    let claims = at_claims(before(10), at(600)).replacen(
        '{',
        &format!(r#"{{"nbf":{},"#, super::support::secs(at(50))),
        1,
    );
    let later = forge(&at_header(&k), &claims, &k);
    assert!(v.verify(&later, at(25)).is_ok());
    assert_eq!(v.verify(&later, at(0)).unwrap_err(), JwtError::NotYetValid);
}

#[test]
fn the_cache_matches_whole_tokens_only() {
    let k = key(Algorithm::Es256);
    let token = forge(&at_header(&k), &at_claims(before(10), at(600)), &k);
    let v = verifier(jwks(&[&k]), 64);
    assert!(v.verify(&token, at(0)).is_ok());
    // The cached token's signature under another payload (same cache slot).
    let (header, rest) = token.split_once('.').unwrap();
    let (_, signature) = rest.split_once('.').unwrap();
    let forged_claims = at_claims(before(10), at(600)).replace("read write", "admin");
    let forged = format!("{header}.{}.{signature}", b64(forged_claims.as_bytes()));
    assert_eq!(
        v.verify(&forged, at(0)).unwrap_err(),
        JwtError::BadSignature
    );
    // One byte of the signature changed.
    let mut bytes = unb64(signature);
    bytes[63] ^= 0x80;
    let (input, _) = token.rsplit_once('.').unwrap();
    assert_eq!(
        v.verify(&format!("{input}.{}", b64(&bytes)), at(0))
            .unwrap_err(),
        JwtError::BadSignature
    );
    assert!(v.verify(&token, at(0)).is_ok());
}

#[test]
fn jw_19_replacing_the_keys_empties_the_cache() {
    let old = key(Algorithm::Es256);
    let new = key(Algorithm::EdDsa);
    let token = forge(&at_header(&old), &at_claims(before(10), at(600)), &old);
    let v = verifier(jwks(&[&old, &new]), 64);
    assert!(v.verify(&token, at(0)).is_ok());
    assert!(v.verify(&token, at(1)).is_ok());
    // The old key is no longer published: its tokens fail, cached or not.
    v.replace_keys(jwks(&[&new]), at(2));
    assert_eq!(v.verify(&token, at(3)).unwrap_err(), JwtError::UnknownKey);
    assert_eq!(v.keys(), jwks(&[&new]));
}

#[test]
fn a_verifier_is_for_access_tokens_only() {
    let keys = jwks(&[&key(Algorithm::Es256)]);
    assert!(
        AccessTokenVerifier::new(Validation::id_token(ISSUER, &cid(RS)), keys.clone()).is_err()
    );
    assert!(
        AccessTokenVerifier::with_cache_capacity(
            Validation::access_token(ISSUER, RS),
            keys,
            1 << 21
        )
        .is_err()
    );
}

#[test]
fn concurrent_verifications_share_one_verifier() {
    let k = key(Algorithm::Es256);
    let tokens: Vec<String> = (0..8)
        .map(|i| forge(&at_header(&k), &at_claims(before(10 + i), at(600)), &k))
        .collect();
    let v = verifier(jwks(&[&k]), 4);
    std::thread::scope(|scope| {
        for t in 0..4 {
            let v = v.clone();
            let tokens = &tokens;
            scope.spawn(move || {
                for round in 0..200 {
                    let token = &tokens[(t + round) % tokens.len()];
                    let verified = v.verify(token, at(0)).unwrap();
                    assert_eq!(verified.subject.as_str(), "alice");
                }
            });
        }
    });
}
