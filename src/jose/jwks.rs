//! JWK Sets ([RFC 7517 §5](https://www.rfc-editor.org/rfc/rfc7517#section-5)): parsing a
//! set fetched from an issuer, and choosing the key a JWT names.

use std::sync::Arc;

use serde_json::Value;

use super::alg::Algorithm;
use super::error::{JwtError, KeyError};
use super::json;
use super::jwk::{AlgChoice, Parsed, PublicJwk, parse_object};

/// The largest JWK Set document accepted, in bytes.
pub(crate) const MAX_JWKS_BYTES: usize = 64 * 1024;
/// The most keys a JWK Set may list (supported or not).
pub(crate) const MAX_JWKS_KEYS: usize = 100;

/// A set of public verification keys: an issuer's JWKS, or the published keys of a
/// [`KeySet`](super::KeySet). Cheap to clone.
///
/// Parsing tolerates what a JWKS may legitimately hold ([RFC 7517
/// §5](https://www.rfc-editor.org/rfc/rfc7517#section-5)): unknown members, and keys
/// this crate cannot use (another key type or curve, `use: enc`, an unsupported `alg`,
/// a missing member, an RSA key under 2048 bits), which are skipped and counted. It
/// refuses the whole set when it is malformed: more than 64 KiB or 100 keys, not strict
/// JSON, a key with private members (`d`, `k`, ...), a malformed member, a point not on
/// its curve, or two keys sharing a `kid` and an algorithm.
///
/// ```
/// use grantflow::jose::{Algorithm, JwkSet};
///
/// let set = JwkSet::parse(br#"{"keys":[
///     {"kty":"OKP","crv":"Ed25519","kid":"a","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"},
///     {"kty":"EC","crv":"P-384","kid":"b","x":"AA","y":"AA"}
/// ],"extra":true}"#)?;
/// assert_eq!(set.keys().len(), 1);
/// assert_eq!(set.skipped(), 1);
/// assert_eq!(set.keys()[0].algorithm(), Algorithm::EdDsa);
/// assert!(JwkSet::parse(br#"{"keys":[{"kty":"oct","k":"c2VjcmV0"}]}"#).is_err());
/// # Ok::<(), grantflow::jose::KeyError>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct JwkSet {
    keys: Arc<[PublicJwk]>,
    skipped: usize,
}

impl JwkSet {
    /// Parses a JWK Set document. RSA keys without `alg` are bound to RS256.
    ///
    /// # Errors
    /// [`KeyError`] when the set is malformed (see the type's docs).
    pub fn parse(json: &[u8]) -> Result<Self, KeyError> {
        Self::parse_with(json, Algorithm::Rs256)
    }

    /// Parses a JWK Set document, binding RSA keys without `alg` to `rsa_algorithm` (a key
    /// verifies with exactly one algorithm,
    /// [RFC 8725 §3.1](https://www.rfc-editor.org/rfc/rfc8725#section-3.1)). A non-RSA
    /// `rsa_algorithm` makes such keys skipped.
    ///
    /// # Errors
    /// [`KeyError`] when the set is malformed (see the type's docs).
    pub fn parse_with(json: &[u8], rsa_algorithm: Algorithm) -> Result<Self, KeyError> {
        if json.len() > MAX_JWKS_BYTES {
            return Err(KeyError::TooLarge);
        }
        let map = json::parse_object(json).ok_or(KeyError::InvalidJson)?;
        let Some(Value::Array(entries)) = map.get("keys") else {
            return Err(KeyError::InvalidJson);
        };
        if entries.len() > MAX_JWKS_KEYS {
            return Err(KeyError::TooManyKeys);
        }
        let choice = AlgChoice::FromJwk {
            rsa_default: rsa_algorithm.is_rsa().then_some(rsa_algorithm),
        };
        let mut keys = Vec::with_capacity(entries.len());
        let mut skipped = 0;
        for entry in entries {
            let Value::Object(object) = entry else {
                return Err(KeyError::InvalidJson);
            };
            match parse_object(object, choice)? {
                Parsed::Key(key) => keys.push(key),
                Parsed::Skip(_) => skipped += 1,
            }
        }
        let mut set = Self::from_keys(keys)?;
        set.skipped = skipped;
        Ok(set)
    }

    /// A set of the given keys.
    ///
    /// # Errors
    /// [`KeyError::DuplicateKid`] when two keys share a `kid` and an algorithm
    /// ([RFC 7517 §4.5](https://www.rfc-editor.org/rfc/rfc7517#section-4.5): keys sharing a
    /// `kid` must differ in what a JWT's header can tell apart).
    pub fn from_keys(keys: impl IntoIterator<Item = PublicJwk>) -> Result<Self, KeyError> {
        let keys: Vec<PublicJwk> = keys.into_iter().collect();
        for (i, key) in keys.iter().enumerate() {
            let twin = |k: &PublicJwk| k.kid() == key.kid() && k.algorithm() == key.algorithm();
            if key.kid().is_some() && keys[..i].iter().any(twin) {
                return Err(KeyError::DuplicateKid);
            }
        }
        Ok(Self {
            keys: keys.into(),
            skipped: 0,
        })
    }

    /// The usable keys, in document order.
    pub fn keys(&self) -> &[PublicJwk] {
        &self.keys
    }

    /// How many keys of the document were skipped as unusable.
    pub fn skipped(&self) -> usize {
        self.skipped
    }

    /// Whether the set has no usable key.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The document `{"keys":[…]}` with each key's public members only.
    pub fn to_json(&self) -> String {
        let mut out = String::with_capacity(16 + self.keys.len() * 256);
        out.push_str(r#"{"keys":["#);
        for (i, key) in self.keys.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(&key.to_json());
        }
        out.push_str("]}");
        out
    }

    /// The key a JWT's header names ([RFC 7515 §4.1.4](https://www.rfc-editor.org/rfc/rfc7515#section-4.1.4)):
    /// with a `kid`, the key with exactly that `kid` (compared as a case-sensitive string,
    /// never interpreted) and the header's algorithm; without one, the only key for that
    /// algorithm. `kid` chooses the key, never the algorithm.
    ///
    /// # Errors
    /// [`JwtError::UnknownKey`] when no key has this `kid` (or, without a `kid`, none fits);
    /// [`JwtError::KeyMismatch`] when the `kid`'s key is for another algorithm;
    /// [`JwtError::AmbiguousKey`] when, without a `kid`, several keys fit.
    pub fn select(&self, kid: Option<&str>, alg: Algorithm) -> Result<&PublicJwk, JwtError> {
        match kid {
            Some(kid) => {
                let mut named = self.keys.iter().filter(|k| k.kid() == Some(kid)).peekable();
                if named.peek().is_none() {
                    return Err(JwtError::UnknownKey);
                }
                // `from_keys` allows one key per (kid, algorithm).
                named
                    .find(|k| k.algorithm() == alg)
                    .ok_or(JwtError::KeyMismatch)
            }
            None => {
                let mut fitting = self.keys.iter().filter(|k| k.algorithm() == alg);
                match (fitting.next(), fitting.next()) {
                    (Some(key), None) => Ok(key),
                    (None, _) => Err(JwtError::UnknownKey),
                    (Some(_), Some(_)) => Err(JwtError::AmbiguousKey),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ED_X: &str = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";
    /// RFC 9449 §4.1 / V-JOSE-4.
    const EC_X: &str = "l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs";
    const EC_Y: &str = "9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA";

    fn set(keys: &str) -> Result<JwkSet, KeyError> {
        JwkSet::parse(format!(r#"{{"keys":[{keys}]}}"#).as_bytes())
    }

    #[test]
    fn jw_20_unusable_keys_are_skipped() {
        let parsed = set(&format!(
            r#"{{"kty":"OKP","crv":"Ed25519","x":"{ED_X}"}},
               {{"kty":"OKP","crv":"X25519","x":"{ED_X}"}},
               {{"kty":"EC","crv":"P-256","x":"{EC_X}","y":"{EC_Y}","use":"enc"}},
               {{"kty":"EC","crv":"P-256","x":"{EC_X}","y":"{EC_Y}","alg":"ES384"}},
               {{"kty":"EC","crv":"P-256","x":"{EC_X}"}},
               {{"kty":"EC","crv":"P-256","x":"{EC_X}","y":"{EC_Y}","key_ops":["encrypt"]}},
               {{"kty":"PQ","x":"y","extra":1}},
               {{"x":"no kty"}}"#
        ))
        .unwrap();
        assert_eq!(parsed.keys().len(), 1);
        assert_eq!(parsed.skipped(), 7);
    }

    #[test]
    fn jw_20_malformed_sets_are_refused() {
        let ok = format!(r#"{{"kty":"EC","crv":"P-256","x":"{EC_X}","y":"{EC_Y}"}}"#);
        assert!(set(&ok).is_ok());
        for (bad, why) in [
            (
                format!(r#"{{"kty":"EC","crv":"P-256","x":"{EC_X}","y":"{EC_Y}","d":"AA"}}"#),
                KeyError::PrivateKey,
            ),
            (
                r#"{"kty":"oct","k":"AAAA"}"#.to_owned(),
                KeyError::PrivateKey,
            ),
            (
                format!(r#"{{"kty":"EC","crv":"P-256","x":"{EC_X}=","y":"{EC_Y}"}}"#),
                KeyError::InvalidMember("x"),
            ),
            (
                format!(r#"{{"kty":"EC","crv":"P-256","x":"{EC_X}","y":"{EC_X}"}}"#),
                KeyError::InvalidKey,
            ),
            (
                format!(r#"{{"kty":"EC","crv":"P-256","x":"{EC_X}","y":"{EC_Y}","alg":"RS256"}}"#),
                KeyError::WrongAlgorithm,
            ),
            (
                format!(r#"{{"kty":"OKP","crv":"Ed25519","x":"{ED_X}","kid":7}}"#),
                KeyError::InvalidMember("kid"),
            ),
            (r#""not an object""#.to_owned(), KeyError::InvalidJson),
        ] {
            assert_eq!(set(&bad), Err(why), "{bad}");
        }
        assert_eq!(JwkSet::parse(b"{}"), Err(KeyError::InvalidJson));
        assert_eq!(JwkSet::parse(br#"{"keys":{}}"#), Err(KeyError::InvalidJson));
        assert_eq!(
            JwkSet::parse(br#"{"keys":[],"keys":[]}"#),
            Err(KeyError::InvalidJson)
        );
        let many = vec![ok.as_str(); MAX_JWKS_KEYS + 1].join(",");
        assert_eq!(set(&many), Err(KeyError::TooManyKeys));
        let huge = vec![0x20u8; MAX_JWKS_BYTES + 1];
        assert_eq!(JwkSet::parse(&huge), Err(KeyError::TooLarge));
    }

    #[test]
    fn jw_07_duplicate_kids_are_told_apart_by_algorithm() {
        let ec = format!(r#"{{"kty":"EC","crv":"P-256","kid":"k","x":"{EC_X}","y":"{EC_Y}"}}"#);
        let ed = format!(r#"{{"kty":"OKP","crv":"Ed25519","kid":"k","x":"{ED_X}"}}"#);
        let both = set(&format!("{ec},{ed}")).unwrap();
        assert_eq!(
            both.select(Some("k"), Algorithm::EdDsa)
                .unwrap()
                .algorithm(),
            Algorithm::EdDsa
        );
        assert_eq!(
            both.select(Some("k"), Algorithm::Es256)
                .unwrap()
                .algorithm(),
            Algorithm::Es256
        );
        assert_eq!(
            both.select(Some("k"), Algorithm::Rs256),
            Err(JwtError::KeyMismatch)
        );
        assert_eq!(set(&format!("{ec},{ec}")), Err(KeyError::DuplicateKid));
    }

    #[test]
    fn jw_07_without_kid_only_a_single_fitting_key() {
        let a = format!(r#"{{"kty":"EC","crv":"P-256","kid":"a","x":"{EC_X}","y":"{EC_Y}"}}"#);
        let b = format!(r#"{{"kty":"EC","crv":"P-256","kid":"b","x":"{EC_X}","y":"{EC_Y}"}}"#);
        let ed = format!(r#"{{"kty":"OKP","crv":"Ed25519","x":"{ED_X}"}}"#);
        let one = set(&format!("{a},{ed}")).unwrap();
        assert!(one.select(None, Algorithm::Es256).is_ok());
        assert!(one.select(None, Algorithm::EdDsa).is_ok());
        assert_eq!(
            one.select(None, Algorithm::Rs256),
            Err(JwtError::UnknownKey)
        );
        let two = set(&format!("{a},{b}")).unwrap();
        assert_eq!(
            two.select(None, Algorithm::Es256),
            Err(JwtError::AmbiguousKey)
        );
        assert_eq!(
            two.select(Some("../../k"), Algorithm::Es256),
            Err(JwtError::UnknownKey)
        );
        assert_eq!(
            two.select(Some("A"), Algorithm::Es256),
            Err(JwtError::UnknownKey),
            "kid is case-sensitive"
        );
    }
}
