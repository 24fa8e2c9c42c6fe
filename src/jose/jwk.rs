//! Public JWKs ([RFC 7517](https://www.rfc-editor.org/rfc/rfc7517)): EC P-256, OKP
//! Ed25519 and RSA of at least 2048 bits, parsed strictly, rendered with public members
//! only, and identified by their RFC 7638 thumbprint.

use std::fmt;
use std::sync::Arc;

use aws_lc_rs::signature::{ParsedPublicKey, RsaPublicKeyComponents};
use serde_json::{Map, Value};
use sha2::{Digest as _, Sha256};

use super::alg::Algorithm;
use super::error::KeyError;
use super::{b64, json};
use crate::render::JsonObject;

/// Members that only private or symmetric keys have
/// ([RFC 7518 §6.2.2, §6.3.2, §6.4](https://www.rfc-editor.org/rfc/rfc7518#section-6.2.2)).
pub(crate) const PRIVATE_MEMBERS: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/// The smallest RSA modulus accepted, in bits
/// ([RFC 7518 §3.3](https://www.rfc-editor.org/rfc/rfc7518#section-3.3)).
pub(crate) const MIN_RSA_BITS: usize = 2048;
/// The largest RSA modulus accepted, in bits (the backend's limit).
pub(crate) const MAX_RSA_BITS: usize = 8192;
/// The longest `kid` a key may have.
const MAX_KID_LEN: usize = 1024;

/// A public key as a JWK, bound to exactly one [`Algorithm`]
/// ([RFC 8725 §3.1](https://www.rfc-editor.org/rfc/rfc8725#section-3.1)).
///
/// The algorithm is the JWK's `alg`, or the only one its type allows (ES256 for EC P-256,
/// EdDSA for Ed25519); an RSA key without `alg` takes the algorithm the parser is told
/// (RS256 by default). Parsing checks everything a verification will rely on: the point
/// is on the curve, the RSA modulus has 2048 to 8192 bits, and no private member is
/// present. Cheap to clone.
///
/// ```
/// use grantflow::jose::{Algorithm, PublicJwk};
///
/// // RFC 8037 Appendix A.2.
/// let jwk = PublicJwk::parse(
///     br#"{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#,
/// )?;
/// assert_eq!(jwk.algorithm(), Algorithm::EdDsa);
/// // RFC 8037 Appendix A.3.
/// assert_eq!(jwk.thumbprint(), "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");
/// # Ok::<(), grantflow::jose::KeyError>(())
/// ```
#[derive(Clone)]
pub struct PublicJwk(Arc<Inner>);

struct Inner {
    params: Params,
    algorithm: Algorithm,
    kid: Option<String>,
    thumbprint: String,
    key: ParsedPublicKey,
}

#[derive(PartialEq, Eq)]
enum Params {
    Ec { x: [u8; 32], y: [u8; 32] },
    Ed25519 { x: [u8; 32] },
    Rsa { n: Vec<u8>, e: Vec<u8> },
}

/// How the parser picks a key's algorithm.
#[derive(Clone, Copy, Debug)]
pub(crate) enum AlgChoice {
    /// The JWK's `alg`, or the only one its type allows; for RSA without `alg`, this one
    /// (or skip the key when `None`).
    FromJwk { rsa_default: Option<Algorithm> },
    /// Exactly this one (a DPoP proof's header names it); a JWK `alg` must agree.
    Exactly(Algorithm),
}

/// What parsing one JWK object found: a usable key, or a key to skip inside a JWK Set
/// (unsupported type, curve, use or algorithm; a missing member; a weak RSA key).
pub(crate) enum Parsed {
    Key(PublicJwk),
    Skip(KeyError),
}

impl PublicJwk {
    /// Parses one public JWK (a JSON object). An RSA key without `alg` is bound to RS256.
    ///
    /// # Errors
    /// [`KeyError`]: not a strict JSON object, private members present, an unsupported
    /// type, curve, `use` or algorithm, a missing or malformed member, an invalid point,
    /// an RSA modulus shorter than 2048 bits.
    pub fn parse(json: &[u8]) -> Result<Self, KeyError> {
        if json.len() > super::jwks::MAX_JWKS_BYTES {
            return Err(KeyError::TooLarge);
        }
        let map = json::parse_object(json).ok_or(KeyError::InvalidJson)?;
        match parse_object(
            &map,
            AlgChoice::FromJwk {
                rsa_default: Some(Algorithm::Rs256),
            },
        )? {
            Parsed::Key(key) => Ok(key),
            Parsed::Skip(why) => Err(why),
        }
    }

    /// The one algorithm this key verifies.
    pub fn algorithm(&self) -> Algorithm {
        self.0.algorithm
    }

    /// The key's `kid`, if it has one. Keys of a [`KeySet`](super::KeySet) have their
    /// thumbprint as `kid`.
    pub fn kid(&self) -> Option<&str> {
        self.0.kid.as_deref()
    }

    /// The key type: `EC`, `OKP` or `RSA`.
    pub fn key_type(&self) -> &'static str {
        match self.0.params {
            Params::Ec { .. } => "EC",
            Params::Ed25519 { .. } => "OKP",
            Params::Rsa { .. } => "RSA",
        }
    }

    /// The [RFC 7638](https://www.rfc-editor.org/rfc/rfc7638) JWK thumbprint (SHA-256,
    /// base64url): the hash of the required public members only, so `kid`, `alg` and `use`
    /// do not change it. It is the `kid` of the crate's own keys, and the `jkt` of DPoP
    /// ([RFC 9449 §6.1](https://www.rfc-editor.org/rfc/rfc9449#section-6.1)).
    pub fn thumbprint(&self) -> &str {
        &self.0.thumbprint
    }

    /// The JWK as JSON: `kty`, the public members, `kid` when there is one, `use: sig` and
    /// `alg`. Never a private member.
    pub fn to_json(&self) -> String {
        let mut out = JsonObject::with_capacity(256);
        let mut x_text = String::new();
        let mut y_text = String::new();
        match &self.0.params {
            Params::Ec { x, y } => {
                b64::encode_into(x, &mut x_text);
                b64::encode_into(y, &mut y_text);
                out.string("kty", "EC")
                    .string("crv", "P-256")
                    .string("x", &x_text)
                    .string("y", &y_text);
            }
            Params::Ed25519 { x } => {
                b64::encode_into(x, &mut x_text);
                out.string("kty", "OKP")
                    .string("crv", "Ed25519")
                    .string("x", &x_text);
            }
            Params::Rsa { n, e } => {
                b64::encode_into(n, &mut x_text);
                b64::encode_into(e, &mut y_text);
                out.string("kty", "RSA")
                    .string("n", &x_text)
                    .string("e", &y_text);
            }
        }
        out.optional_string("kid", self.kid())
            .string("use", "sig")
            .string("alg", self.0.algorithm.name());
        // The writer escapes every string it is given, so the bytes are UTF-8.
        String::from_utf8(out.finish()).unwrap_or_default()
    }

    /// Whether `signature` is a valid signature of `message` by this key (with its one
    /// algorithm).
    pub(crate) fn verifies(&self, message: &[u8], signature: &[u8]) -> bool {
        if self.0.algorithm == Algorithm::Es256 && signature.len() != 64 {
            // R ‖ S only; a DER-encoded ECDSA signature is refused (RFC 7518 §3.4).
            return false;
        }
        self.0.key.verify_sig(message, signature).is_ok()
    }

    /// The length of this key's signatures.
    pub(crate) fn signature_len(&self) -> usize {
        match &self.0.params {
            Params::Ec { .. } | Params::Ed25519 { .. } => 64,
            Params::Rsa { n, .. } => n.len(),
        }
    }

    /// The same key with `kid` set to its thumbprint.
    pub(crate) fn with_thumbprint_kid(&self) -> Self {
        if self.kid() == Some(self.thumbprint()) {
            return self.clone();
        }
        Self(Arc::new(Inner {
            params: match &self.0.params {
                Params::Ec { x, y } => Params::Ec { x: *x, y: *y },
                Params::Ed25519 { x } => Params::Ed25519 { x: *x },
                Params::Rsa { n, e } => Params::Rsa {
                    n: n.clone(),
                    e: e.clone(),
                },
            },
            algorithm: self.0.algorithm,
            kid: Some(self.0.thumbprint.clone()),
            thumbprint: self.0.thumbprint.clone(),
            key: self.0.key.clone(),
        }))
    }

    /// An EC P-256 key from its uncompressed point (`0x04 ‖ x ‖ y`).
    pub(crate) fn from_p256_point(point: &[u8]) -> Result<Self, KeyError> {
        match point {
            [0x04, rest @ ..] if rest.len() == 64 => {
                let mut x = [0u8; 32];
                let mut y = [0u8; 32];
                x.copy_from_slice(&rest[..32]);
                y.copy_from_slice(&rest[32..]);
                build(Params::Ec { x, y }, Algorithm::Es256, None)
            }
            _ => Err(KeyError::InvalidKey),
        }
    }

    /// An Ed25519 key from its 32 bytes.
    pub(crate) fn from_ed25519(x: &[u8]) -> Result<Self, KeyError> {
        let x = <[u8; 32]>::try_from(x).map_err(|_| KeyError::InvalidKey)?;
        build(Params::Ed25519 { x }, Algorithm::EdDsa, None)
    }

    /// An RSA key from its modulus and exponent (big-endian, no leading zeros).
    pub(crate) fn from_rsa(n: &[u8], e: &[u8], algorithm: Algorithm) -> Result<Self, KeyError> {
        check_rsa(n, e)?;
        build(
            Params::Rsa {
                n: n.to_vec(),
                e: e.to_vec(),
            },
            algorithm,
            None,
        )
    }
}

impl PartialEq for PublicJwk {
    fn eq(&self, other: &Self) -> bool {
        self.0.params == other.0.params
            && self.0.algorithm == other.0.algorithm
            && self.0.kid == other.0.kid
    }
}

impl Eq for PublicJwk {}

impl fmt::Debug for PublicJwk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PublicJwk")
            .field("kty", &self.key_type())
            .field("alg", &self.0.algorithm)
            .field("kid", &self.0.kid)
            .field("thumbprint", &self.0.thumbprint)
            .finish()
    }
}

/// Parses one JWK object. `Err` for what makes the key (and a JWK Set holding it)
/// malformed; `Ok(Parsed::Skip)` for a well-formed key this crate cannot use.
pub(crate) fn parse_object(
    map: &Map<String, Value>,
    choice: AlgChoice,
) -> Result<Parsed, KeyError> {
    if PRIVATE_MEMBERS.iter().any(|name| map.contains_key(*name)) {
        return Err(KeyError::PrivateKey);
    }
    let string = |name: &'static str| json::opt_str(map, name, KeyError::InvalidMember(name));
    let Some(kty) = string("kty")? else {
        return Ok(Parsed::Skip(KeyError::MissingMember("kty")));
    };
    let kid = string("kid")?;
    if kid.is_some_and(|kid| kid.len() > MAX_KID_LEN) {
        return Err(KeyError::InvalidMember("kid"));
    }
    if string("use")?.is_some_and(|key_use| key_use != "sig") {
        return Ok(Parsed::Skip(KeyError::Unsupported));
    }
    match map.get("key_ops") {
        None => {}
        Some(Value::Array(ops)) => {
            if ops.iter().any(|op| !op.is_string()) {
                return Err(KeyError::InvalidMember("key_ops"));
            }
            if !ops.iter().any(|op| op == "verify") {
                return Ok(Parsed::Skip(KeyError::Unsupported));
            }
        }
        Some(_) => return Err(KeyError::InvalidMember("key_ops")),
    }
    let stated = match string("alg")? {
        None => None,
        Some(name) => match Algorithm::from_name(name) {
            Some(alg) => Some(alg),
            None => return Ok(Parsed::Skip(KeyError::Unsupported)),
        },
    };
    let (params, natural) = match kty {
        "EC" => {
            match string("crv")? {
                None => return Ok(Parsed::Skip(KeyError::MissingMember("crv"))),
                Some("P-256") => {}
                Some(_) => return Ok(Parsed::Skip(KeyError::Unsupported)),
            }
            let (Some(x), Some(y)) = (string("x")?, string("y")?) else {
                return Ok(Parsed::Skip(KeyError::MissingMember("x")));
            };
            let x = b64::decode_array::<32>(x).ok_or(KeyError::InvalidMember("x"))?;
            let y = b64::decode_array::<32>(y).ok_or(KeyError::InvalidMember("y"))?;
            (Params::Ec { x, y }, Some(Algorithm::Es256))
        }
        "OKP" => {
            match string("crv")? {
                None => return Ok(Parsed::Skip(KeyError::MissingMember("crv"))),
                Some("Ed25519") => {}
                Some(_) => return Ok(Parsed::Skip(KeyError::Unsupported)),
            }
            let Some(x) = string("x")? else {
                return Ok(Parsed::Skip(KeyError::MissingMember("x")));
            };
            let x = b64::decode_array::<32>(x).ok_or(KeyError::InvalidMember("x"))?;
            (Params::Ed25519 { x }, Some(Algorithm::EdDsa))
        }
        "RSA" => {
            let (Some(n), Some(e)) = (string("n")?, string("e")?) else {
                return Ok(Parsed::Skip(KeyError::MissingMember("n")));
            };
            // Bound the work before decoding: 8192 bits are 1366 characters.
            if n.len() > (MAX_RSA_BITS / 8 * 4).div_ceil(3) + 1 || e.len() > 12 {
                return Ok(Parsed::Skip(KeyError::Unsupported));
            }
            let n = b64::decode(n).ok_or(KeyError::InvalidMember("n"))?;
            let e = b64::decode(e).ok_or(KeyError::InvalidMember("e"))?;
            match check_rsa(&n, &e) {
                Ok(()) => {}
                Err(KeyError::WeakKey) => return Ok(Parsed::Skip(KeyError::WeakKey)),
                Err(KeyError::Unsupported) => return Ok(Parsed::Skip(KeyError::Unsupported)),
                Err(other) => return Err(other),
            }
            (Params::Rsa { n, e }, None)
        }
        _ => return Ok(Parsed::Skip(KeyError::Unsupported)),
    };
    let fits = |alg: Algorithm| match params {
        Params::Ec { .. } => alg == Algorithm::Es256,
        Params::Ed25519 { .. } => alg == Algorithm::EdDsa,
        Params::Rsa { .. } => alg.is_rsa(),
    };
    let algorithm = match (choice, stated) {
        (AlgChoice::Exactly(wanted), Some(stated)) if stated != wanted => {
            return Err(KeyError::WrongAlgorithm);
        }
        (AlgChoice::Exactly(wanted), _) => wanted,
        (AlgChoice::FromJwk { .. }, Some(stated)) => stated,
        (AlgChoice::FromJwk { rsa_default }, None) => match natural.or(rsa_default) {
            Some(alg) => alg,
            None => return Ok(Parsed::Skip(KeyError::Unsupported)),
        },
    };
    if !fits(algorithm) {
        return Err(KeyError::WrongAlgorithm);
    }
    build(params, algorithm, kid.map(str::to_owned)).map(Parsed::Key)
}

/// RSA parameters in their minimal encoding, with a modulus of 2048 to 8192 bits.
fn check_rsa(n: &[u8], e: &[u8]) -> Result<(), KeyError> {
    // RFC 7518 §6.3.1.1 and §6.3.1.2: the minimum number of octets.
    match (n.first(), e.first()) {
        (Some(0), _) | (None, _) => return Err(KeyError::InvalidMember("n")),
        (_, Some(0)) | (_, None) => return Err(KeyError::InvalidMember("e")),
        _ => {}
    }
    let leading = n.first().map_or(0, |b| b.leading_zeros() as usize);
    let bits = n.len() * 8 - leading;
    if bits < MIN_RSA_BITS {
        return Err(KeyError::WeakKey);
    }
    if bits > MAX_RSA_BITS || e.len() > 8 {
        return Err(KeyError::Unsupported);
    }
    Ok(())
}

/// Checks the key with the backend and computes its thumbprint.
fn build(params: Params, algorithm: Algorithm, kid: Option<String>) -> Result<PublicJwk, KeyError> {
    let key = match &params {
        Params::Ec { x, y } => {
            let mut point = [0u8; 65];
            point[0] = 0x04;
            point[1..33].copy_from_slice(x);
            point[33..].copy_from_slice(y);
            ParsedPublicKey::new(algorithm.verification(), point)
        }
        Params::Ed25519 { x } => ParsedPublicKey::new(algorithm.verification(), x),
        Params::Rsa { n, e } => {
            let params = match algorithm {
                Algorithm::Ps256 => &aws_lc_rs::signature::RSA_PSS_2048_8192_SHA256,
                _ => &aws_lc_rs::signature::RSA_PKCS1_2048_8192_SHA256,
            };
            RsaPublicKeyComponents { n, e }.to_parsed_public_key(params)
        }
    }
    .map_err(|_| KeyError::InvalidKey)?;
    let thumbprint = thumbprint(&params);
    Ok(PublicJwk(Arc::new(Inner {
        params,
        algorithm,
        kid,
        thumbprint,
        key,
    })))
}

/// The RFC 7638 §3 thumbprint: SHA-256 over the required members in lexicographic order,
/// no whitespace.
fn thumbprint(params: &Params) -> String {
    let mut input = String::with_capacity(800);
    match params {
        Params::Ec { x, y } => {
            input.push_str(r#"{"crv":"P-256","kty":"EC","x":""#);
            b64::encode_into(x, &mut input);
            input.push_str(r#"","y":""#);
            b64::encode_into(y, &mut input);
        }
        Params::Ed25519 { x } => {
            input.push_str(r#"{"crv":"Ed25519","kty":"OKP","x":""#);
            b64::encode_into(x, &mut input);
        }
        Params::Rsa { n, e } => {
            input.push_str(r#"{"e":""#);
            b64::encode_into(e, &mut input);
            input.push_str(r#"","kty":"RSA","n":""#);
            b64::encode_into(n, &mut input);
        }
    }
    input.push_str(r#""}"#);
    b64::encode(&Sha256::digest(input.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7638 §3.1.
    const RFC7638_N: &str = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";

    #[test]
    fn jw_18_rsa_thumbprint_is_rfc7638_example() {
        let json = format!(
            r#"{{"kty":"RSA","n":"{RFC7638_N}","e":"AQAB","alg":"RS256","kid":"2011-04-29"}}"#
        );
        let key = PublicJwk::parse(json.as_bytes()).unwrap();
        assert_eq!(
            key.thumbprint(),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
        assert_eq!(key.kid(), Some("2011-04-29"));
        let bare = format!(r#"{{"kty":"RSA","n":"{RFC7638_N}","e":"AQAB"}}"#);
        assert_eq!(
            PublicJwk::parse(bare.as_bytes()).unwrap().thumbprint(),
            key.thumbprint()
        );
    }

    #[test]
    fn jw_17_rendering_has_public_members_only() {
        let json = format!(r#"{{"kty":"RSA","n":"{RFC7638_N}","e":"AQAB"}}"#);
        let key = PublicJwk::parse(json.as_bytes()).unwrap();
        let rendered: Value = serde_json::from_str(&key.to_json()).unwrap();
        assert_eq!(rendered["alg"], "RS256");
        assert_eq!(rendered["use"], "sig");
        assert_eq!(rendered["n"], RFC7638_N);
        let again = PublicJwk::parse(key.to_json().as_bytes()).unwrap();
        assert_eq!(again, key);
    }

    #[test]
    fn rsa_keys_use_minimal_encodings_and_2048_bits() {
        let padded = format!(r#"{{"kty":"RSA","n":"AA{RFC7638_N}","e":"AQAB"}}"#);
        assert!(PublicJwk::parse(padded.as_bytes()).is_err());
        let short = r#"{"kty":"RSA","n":"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQ","e":"AQAB"}"#;
        assert_eq!(PublicJwk::parse(short.as_bytes()), Err(KeyError::WeakKey));
    }
}
