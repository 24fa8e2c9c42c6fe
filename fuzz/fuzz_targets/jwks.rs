//! The JWK and JWK Set parsers (feature `jwt`, JW-17, JW-18, JW-20), and the private-JWK
//! loader: they never panic; a set holds at most 100 usable keys, none with a private
//! member, no two sharing a `kid` and an algorithm; every parsed key renders to JSON that
//! parses back to the same key with the same thumbprint.
#![no_main]

use grantflow::jose::{JwkSet, PublicJwk, SigningKey};
use libfuzzer_sys::fuzz_target;

fn round_trips(key: &PublicJwk) {
    let json = key.to_json();
    let value: serde_json::Value = serde_json::from_str(&json).expect("rendered JSON");
    for private in ["d", "p", "q", "dp", "dq", "qi", "oth", "k"] {
        assert!(value.get(private).is_none(), "{private} rendered");
    }
    let again = PublicJwk::parse(json.as_bytes()).expect("a rendered key parses");
    assert_eq!(&again, key);
    assert_eq!(again.thumbprint(), key.thumbprint());
    assert_eq!(again.thumbprint().len(), 43);
}

fuzz_target!(|data: &[u8]| {
    if let Ok(set) = JwkSet::parse(data) {
        assert!(set.keys().len() + set.skipped() <= 100);
        for (i, key) in set.keys().iter().enumerate() {
            round_trips(key);
            if let Some(kid) = key.kid() {
                assert!(
                    !set.keys()[..i]
                        .iter()
                        .any(|k| k.kid() == Some(kid) && k.algorithm() == key.algorithm()),
                    "two keys share a kid and an algorithm"
                );
            }
        }
        let rendered = set.to_json();
        let again = JwkSet::parse(rendered.as_bytes()).expect("a rendered set parses");
        assert_eq!(again.keys(), set.keys());
    }
    if let Ok(key) = PublicJwk::parse(data) {
        round_trips(&key);
    }
    if let Ok(key) = SigningKey::from_jwk(data) {
        assert_eq!(key.kid(), key.public_key().thumbprint());
        round_trips(key.public_key());
        assert!(!format!("{key:?}").contains("\"d\""));
    }
});
