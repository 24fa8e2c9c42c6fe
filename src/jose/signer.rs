//! Signing: the async [`Signer`] plug-in, its in-memory implementation [`SigningKey`], and
//! the symmetric [`HmacKey`] of `client_secret_jwt`.

use std::fmt;

use async_trait::async_trait;
use aws_lc_rs::encoding::AsDer as _;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _, RSA_PKCS1_SHA256,
    RSA_PSS_SHA256, RsaKeyPair, RsaPublicKeyComponents,
};
use base64::Engine as _;
use serde_json::Value;
use zeroize::Zeroizing;

use super::alg::Algorithm;
use super::error::KeyError;
use super::jwk::{MIN_RSA_BITS, PublicJwk};
use super::{b64, json};

/// Signing failed: the key is unavailable, the KMS refused, the backend failed. The
/// message never holds key material.
#[derive(Debug, thiserror::Error)]
#[error("signing failed")]
pub struct SignError(#[source] Option<Box<dyn std::error::Error + Send + Sync + 'static>>);

impl SignError {
    /// Wraps the cause (a KMS client's error, say).
    pub fn new(source: impl Into<Box<dyn std::error::Error + Send + Sync + 'static>>) -> Self {
        Self(Some(source.into()))
    }

    fn backend() -> Self {
        Self(None)
    }
}

/// Signs JWS signing inputs with one private key. A plug-in: the in-memory
/// [`SigningKey`] is the default, and a KMS or HSM client implements it to keep the private
/// key out of the process.
///
/// The contract:
/// - [`public_key`](Self::public_key) is the public half of the signing key, bound to the
///   one algorithm this signer signs with. Its RFC 7638 thumbprint is the key's `kid`.
/// - [`sign`](Self::sign) returns the signature in its JWS form
///   ([RFC 7518 §3](https://www.rfc-editor.org/rfc/rfc7518#section-3)): for ES256 the
///   64 octets `R ‖ S` (a KMS that answers in DER must convert), for EdDSA 64 octets, for
///   RS256 and PS256 as many octets as the modulus. The crate checks the length before
///   using a signature.
/// - RSA signing must be constant-time (a KMS or HSM, or the crate's backend): never an
///   implementation with a timing side channel on the private key.
/// - Neither the private key nor anything derived from it appears in `Debug`, errors or
///   logs.
#[async_trait]
pub trait Signer: Send + Sync + fmt::Debug {
    /// The public half of the key, bound to the algorithm this signer signs with.
    fn public_key(&self) -> &PublicJwk;

    /// Signs `message` (a JWS signing input, `header.payload`).
    ///
    /// # Errors
    /// [`SignError`] when the signature could not be made.
    async fn sign(&self, message: &[u8]) -> Result<Vec<u8>, SignError>;
}

/// An in-memory private key: generated, or loaded from PKCS#8 or a private JWK. The
/// default [`Signer`].
///
/// The backend is aws-lc-rs: ECDSA P-256 (hedged nonces), Ed25519, and RSA with
/// constant-time arithmetic and blinding. The key lives inside the backend, which wipes it
/// when it is freed; the crate's own copies (a decoded private JWK, an exported PKCS#8
/// document) are wiped on drop too. `Debug` shows the algorithm and the `kid` only.
///
/// ```
/// use grantflow::jose::{Algorithm, SigningKey};
///
/// let key = SigningKey::generate(Algorithm::Es256)?;
/// assert_eq!(key.algorithm(), Algorithm::Es256);
/// assert_eq!(key.kid(), key.public_key().thumbprint());
/// let pkcs8 = key.to_pkcs8_der()?;
/// let again = SigningKey::from_pkcs8_der(Algorithm::Es256, pkcs8.expose_secret())?;
/// assert_eq!(again.public_key(), key.public_key());
/// assert!(!format!("{key:?}").contains(&format!("{:?}", pkcs8.expose_secret())));
/// # Ok::<(), grantflow::jose::KeyError>(())
/// ```
pub struct SigningKey {
    public: PublicJwk,
    pair: Pair,
}

enum Pair {
    Ecdsa(EcdsaKeyPair),
    Ed25519(Ed25519KeyPair),
    Rsa(RsaKeyPair),
}

impl SigningKey {
    /// Generates a key for `algorithm` (RSA: 2048 bits).
    ///
    /// # Errors
    /// [`KeyError::Backend`] when the backend fails.
    pub fn generate(algorithm: Algorithm) -> Result<Self, KeyError> {
        Self::generate_rsa_or(algorithm, KeySize::Rsa2048)
    }

    /// Generates an RSA key of `bits` (2048, 3072 or 4096) for RS256 or PS256.
    ///
    /// # Errors
    /// [`KeyError::WrongAlgorithm`] for a non-RSA algorithm, [`KeyError::Unsupported`] for
    /// another size, [`KeyError::Backend`] when the backend fails.
    pub fn generate_rsa(algorithm: Algorithm, bits: usize) -> Result<Self, KeyError> {
        if !algorithm.is_rsa() {
            return Err(KeyError::WrongAlgorithm);
        }
        let size = match bits {
            2048 => KeySize::Rsa2048,
            3072 => KeySize::Rsa3072,
            4096 => KeySize::Rsa4096,
            _ => return Err(KeyError::Unsupported),
        };
        Self::generate_rsa_or(algorithm, size)
    }

    fn generate_rsa_or(algorithm: Algorithm, size: KeySize) -> Result<Self, KeyError> {
        let pair = match algorithm {
            Algorithm::Es256 => Pair::Ecdsa(
                EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING)
                    .map_err(|_| KeyError::Backend)?,
            ),
            Algorithm::EdDsa => {
                Pair::Ed25519(Ed25519KeyPair::generate().map_err(|_| KeyError::Backend)?)
            }
            Algorithm::Rs256 | Algorithm::Ps256 => {
                Pair::Rsa(RsaKeyPair::generate(size).map_err(|_| KeyError::Backend)?)
            }
        };
        Self::new(algorithm, pair)
    }

    /// Loads an unencrypted PKCS#8 private key (DER) for `algorithm`: an EC P-256 key for
    /// ES256, an Ed25519 key for EdDSA, an RSA key of at least 2048 bits for RS256 and
    /// PS256.
    ///
    /// # Errors
    /// [`KeyError::InvalidKey`] when the document is not such a key,
    /// [`KeyError::WeakKey`] for a short RSA key.
    pub fn from_pkcs8_der(algorithm: Algorithm, der: &[u8]) -> Result<Self, KeyError> {
        let pair = match algorithm {
            Algorithm::Es256 => Pair::Ecdsa(
                EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der)
                    .map_err(|_| KeyError::InvalidKey)?,
            ),
            Algorithm::EdDsa => {
                Pair::Ed25519(Ed25519KeyPair::from_pkcs8(der).map_err(|_| KeyError::InvalidKey)?)
            }
            Algorithm::Rs256 | Algorithm::Ps256 => {
                Pair::Rsa(RsaKeyPair::from_pkcs8(der).map_err(rsa_rejected)?)
            }
        };
        Self::new(algorithm, pair)
    }

    /// Loads a PEM `PRIVATE KEY` (unencrypted PKCS#8) for `algorithm`; see
    /// [`from_pkcs8_der`](Self::from_pkcs8_der).
    ///
    /// # Errors
    /// [`KeyError::InvalidMember`] when the text is not one PEM `PRIVATE KEY` block, and the
    /// errors of [`from_pkcs8_der`](Self::from_pkcs8_der).
    pub fn from_pkcs8_pem(algorithm: Algorithm, pem: &str) -> Result<Self, KeyError> {
        const BEGIN: &str = "-----BEGIN PRIVATE KEY-----";
        const END: &str = "-----END PRIVATE KEY-----";
        let body = pem
            .trim()
            .strip_prefix(BEGIN)
            .and_then(|rest| rest.strip_suffix(END))
            .ok_or(KeyError::InvalidMember("pem"))?;
        let compact: Zeroizing<String> =
            Zeroizing::new(body.chars().filter(|c| !c.is_ascii_whitespace()).collect());
        let der = Zeroizing::new(
            base64::engine::general_purpose::STANDARD
                .decode(compact.as_bytes())
                .map_err(|_| KeyError::InvalidMember("pem"))?,
        );
        Self::from_pkcs8_der(algorithm, &der)
    }

    /// Loads a private JWK: EC P-256 (`d`, `x`, `y`), OKP Ed25519 (`d`, `x`) or RSA (`n`,
    /// `e`, `d`, `p`, `q`, `dp`, `dq`, `qi`). The algorithm is the JWK's `alg`, or the one
    /// its type allows (RS256 for RSA). The public members must match the private ones.
    ///
    /// # Errors
    /// [`KeyError`] for a malformed or inconsistent key, or an unsupported type.
    pub fn from_jwk(json: &[u8]) -> Result<Self, KeyError> {
        if json.len() > super::jwks::MAX_JWKS_BYTES {
            return Err(KeyError::TooLarge);
        }
        let map = json::parse_object(json).ok_or(KeyError::InvalidJson)?;
        let text = |name: &'static str| match map.get(name) {
            Some(Value::String(s)) => Ok(s.as_str()),
            Some(_) => Err(KeyError::InvalidMember(name)),
            None => Err(KeyError::MissingMember(name)),
        };
        let secret = |name: &'static str| -> Result<Zeroizing<Vec<u8>>, KeyError> {
            b64::decode(text(name)?)
                .map(Zeroizing::new)
                .ok_or(KeyError::InvalidMember(name))
        };
        let public =
            |name: &'static str| b64::decode(text(name)?).ok_or(KeyError::InvalidMember(name));
        if map.contains_key("oth") || map.contains_key("k") {
            return Err(KeyError::Unsupported);
        }
        let stated = match map.get("alg") {
            None => None,
            Some(Value::String(name)) => {
                Some(Algorithm::from_name(name).ok_or(KeyError::Unsupported)?)
            }
            Some(_) => return Err(KeyError::InvalidMember("alg")),
        };
        let (algorithm, pair) = match text("kty")? {
            "EC" => {
                if text("crv")? != "P-256" {
                    return Err(KeyError::Unsupported);
                }
                let mut point = vec![0x04];
                point.extend(public("x")?);
                point.extend(public("y")?);
                let pair = EcdsaKeyPair::from_private_key_and_public_key(
                    &ECDSA_P256_SHA256_FIXED_SIGNING,
                    &secret("d")?,
                    &point,
                )
                .map_err(|_| KeyError::InvalidKey)?;
                (Algorithm::Es256, Pair::Ecdsa(pair))
            }
            "OKP" => {
                if text("crv")? != "Ed25519" {
                    return Err(KeyError::Unsupported);
                }
                let pair = Ed25519KeyPair::from_seed_and_public_key(&secret("d")?, &public("x")?)
                    .map_err(|_| KeyError::InvalidKey)?;
                (Algorithm::EdDsa, Pair::Ed25519(pair))
            }
            "RSA" => {
                let components = aws_lc_rs::rsa::KeyPairComponents {
                    public_key: RsaPublicKeyComponents {
                        n: public("n")?,
                        e: public("e")?,
                    },
                    d: secret("d")?,
                    p: secret("p")?,
                    q: secret("q")?,
                    dP: secret("dp")?,
                    dQ: secret("dq")?,
                    qInv: secret("qi")?,
                };
                let pair = RsaKeyPair::from_components(&components).map_err(rsa_rejected)?;
                (stated.unwrap_or(Algorithm::Rs256), Pair::Rsa(pair))
            }
            _ => return Err(KeyError::Unsupported),
        };
        if stated.is_some_and(|stated| stated != algorithm) {
            return Err(KeyError::WrongAlgorithm);
        }
        Self::new(algorithm, pair)
    }

    fn new(algorithm: Algorithm, pair: Pair) -> Result<Self, KeyError> {
        let public = match &pair {
            Pair::Ecdsa(pair) => PublicJwk::from_p256_point(pair.public_key().as_ref())?,
            Pair::Ed25519(pair) => PublicJwk::from_ed25519(pair.public_key().as_ref())?,
            Pair::Rsa(pair) => {
                if pair.public_modulus_len() * 8 < MIN_RSA_BITS {
                    return Err(KeyError::WeakKey);
                }
                let (n, e) = rsa_public_components(pair.public_key().as_ref())
                    .ok_or(KeyError::InvalidKey)?;
                PublicJwk::from_rsa(n, e, algorithm)?
            }
        };
        if public.algorithm() != algorithm {
            return Err(KeyError::WrongAlgorithm);
        }
        Ok(Self {
            public: public.with_thumbprint_kid(),
            pair,
        })
    }

    /// The algorithm this key signs with.
    pub fn algorithm(&self) -> Algorithm {
        self.public.algorithm()
    }

    /// The key's `kid`: its RFC 7638 thumbprint.
    pub fn kid(&self) -> &str {
        self.public.thumbprint()
    }

    /// The public half, with the thumbprint as `kid`.
    pub fn public_key(&self) -> &PublicJwk {
        &self.public
    }

    /// The private key as an unencrypted PKCS#8 document (DER), to store in the host's
    /// secret manager and load on every instance.
    ///
    /// # Errors
    /// [`KeyError::Backend`] when the backend fails.
    pub fn to_pkcs8_der(&self) -> Result<Pkcs8Der, KeyError> {
        let der = match &self.pair {
            Pair::Ecdsa(pair) => pair.to_pkcs8v1().map(|d| d.as_ref().to_vec()),
            Pair::Ed25519(pair) => pair.to_pkcs8v1().map(|d| d.as_ref().to_vec()),
            Pair::Rsa(pair) => pair.as_der().map(|d| d.as_ref().to_vec()),
        }
        .map_err(|_| KeyError::Backend)?;
        Ok(Pkcs8Der(Zeroizing::new(der)))
    }

    /// Signs `message` now, on this thread.
    pub(crate) fn sign_now(&self, message: &[u8]) -> Result<Vec<u8>, SignError> {
        let rng = aws_lc_rs::rand::SystemRandom::new();
        match &self.pair {
            Pair::Ecdsa(pair) => pair
                .sign(&rng, message)
                .map(|s| s.as_ref().to_vec())
                .map_err(|_| SignError::backend()),
            Pair::Ed25519(pair) => Ok(pair.sign(message).as_ref().to_vec()),
            Pair::Rsa(pair) => {
                let padding: &'static dyn aws_lc_rs::signature::RsaEncoding =
                    if self.algorithm() == Algorithm::Ps256 {
                        &RSA_PSS_SHA256
                    } else {
                        &RSA_PKCS1_SHA256
                    };
                let mut signature = vec![0u8; pair.public_modulus_len()];
                pair.sign(padding, &rng, message, &mut signature)
                    .map_err(|_| SignError::backend())?;
                Ok(signature)
            }
        }
    }
}

#[async_trait]
impl Signer for SigningKey {
    fn public_key(&self) -> &PublicJwk {
        &self.public
    }

    async fn sign(&self, message: &[u8]) -> Result<Vec<u8>, SignError> {
        self.sign_now(message)
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("alg", &self.algorithm())
            .field("kid", &self.kid())
            .finish_non_exhaustive()
    }
}

/// A private key exported as PKCS#8 DER ([`SigningKey::to_pkcs8_der`]). Redacted in
/// `Debug`, no `Display` or `Serialize`, wiped on drop.
pub struct Pkcs8Der(Zeroizing<Vec<u8>>);

impl Pkcs8Der {
    /// The DER bytes.
    ///
    /// # Security
    /// This is the private key. Store it only where the host keeps its secrets.
    pub fn expose_secret(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Pkcs8Der {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Pkcs8Der(<redacted>)")
    }
}

/// A symmetric key for HS256, HS384 and HS512, the `client_secret_jwt` method only
/// ([RFC 7523 §3](https://www.rfc-editor.org/rfc/rfc7523#section-3),
/// [RFC 7518 §3.2](https://www.rfc-editor.org/rfc/rfc7518#section-3.2)). It is a type of its
/// own, made only from the client's shared secret: no public key, JWK or
/// [`AlgorithmSet`](super::AlgorithmSet) can turn into one. Redacted in `Debug`; the
/// tag comparison is constant-time.
pub struct HmacKey {
    sha256: aws_lc_rs::hmac::Key,
    /// Only for a secret of at least 48 bytes.
    sha384: Option<aws_lc_rs::hmac::Key>,
    /// Only for a secret of at least 64 bytes.
    sha512: Option<aws_lc_rs::hmac::Key>,
}

impl HmacKey {
    /// The key for `secret`, which must be at least 32 bytes (the SHA-256 output size). It
    /// verifies HS384 only if the secret has at least 48 bytes, and HS512 only with at least
    /// 64 ([RFC 7518 §3.2](https://www.rfc-editor.org/rfc/rfc7518#section-3.2)).
    ///
    /// # Errors
    /// [`KeyError::WeakKey`] for a secret shorter than 32 bytes.
    pub fn new(secret: &[u8]) -> Result<Self, KeyError> {
        use aws_lc_rs::hmac::{HMAC_SHA256, HMAC_SHA384, HMAC_SHA512, Key};
        if secret.len() < 32 {
            return Err(KeyError::WeakKey);
        }
        Ok(Self {
            sha256: Key::new(HMAC_SHA256, secret),
            sha384: (secret.len() >= 48).then(|| Key::new(HMAC_SHA384, secret)),
            sha512: (secret.len() >= 64).then(|| Key::new(HMAC_SHA512, secret)),
        })
    }

    /// Whether `tag` is the HMAC of `message` under `alg`, compared in constant time.
    ///
    /// # Errors
    /// [`JwtError::AlgorithmNotAllowed`](super::JwtError::AlgorithmNotAllowed) when the
    /// secret is shorter than `alg`'s hash output.
    pub(crate) fn verifies(
        &self,
        alg: super::jws::HmacAlg,
        message: &[u8],
        tag: &[u8],
    ) -> Result<bool, super::JwtError> {
        use super::jws::HmacAlg;
        let key = match alg {
            HmacAlg::Hs256 => Some(&self.sha256),
            HmacAlg::Hs384 => self.sha384.as_ref(),
            HmacAlg::Hs512 => self.sha512.as_ref(),
        }
        .ok_or(super::JwtError::AlgorithmNotAllowed)?;
        Ok(aws_lc_rs::hmac::verify(key, message, tag).is_ok())
    }
}

impl fmt::Debug for HmacKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("HmacKey(<redacted>)")
    }
}

/// An RSA key the backend refused: too short, or not RSA at all.
fn rsa_rejected(error: aws_lc_rs::error::KeyRejected) -> KeyError {
    if error.description_() == "TooSmall" {
        KeyError::WeakKey
    } else {
        KeyError::InvalidKey
    }
}

/// `n` and `e` of a DER `RSAPublicKey` ([RFC 8017 §A.1.1](https://www.rfc-editor.org/rfc/rfc8017#appendix-A.1.1)):
/// `SEQUENCE { INTEGER n, INTEGER e }`, without the sign octets.
fn rsa_public_components(der: &[u8]) -> Option<(&[u8], &[u8])> {
    /// One definite-length TLV with tag `tag`: its contents and what follows.
    fn tlv(input: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
        let (&first, rest) = input.split_first()?;
        if first != tag {
            return None;
        }
        let (&len, rest) = rest.split_first()?;
        let (len, rest) = if len < 0x80 {
            (usize::from(len), rest)
        } else {
            let count = usize::from(len & 0x7f);
            if count == 0 || count > 4 || rest.len() < count {
                return None;
            }
            let (digits, rest) = rest.split_at(count);
            (
                digits
                    .iter()
                    .fold(0usize, |n, &d| (n << 8) | usize::from(d)),
                rest,
            )
        };
        (rest.len() >= len).then(|| rest.split_at(len))
    }
    let (sequence, rest) = tlv(der, 0x30)?;
    if !rest.is_empty() {
        return None;
    }
    let (n, rest) = tlv(sequence, 0x02)?;
    let (e, rest) = tlv(rest, 0x02)?;
    if !rest.is_empty() {
        return None;
    }
    let unsigned = |int: &[u8]| -> Option<usize> {
        match int {
            [0, next, ..] if *next >= 0x80 => Some(1),
            [first, ..] if *first < 0x80 && *first != 0 => Some(0),
            _ => None,
        }
    };
    let n = &n[unsigned(n)?..];
    let e = &e[unsigned(e)?..];
    Some((n, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_algorithm_signs_and_verifies() {
        for alg in Algorithm::ALL {
            let key = SigningKey::generate(alg).unwrap();
            let signature = key.sign_now(b"message").unwrap();
            assert!(key.public_key().verifies(b"message", &signature), "{alg}");
            assert!(!key.public_key().verifies(b"massage", &signature), "{alg}");
            let der = key.to_pkcs8_der().unwrap();
            let again = SigningKey::from_pkcs8_der(alg, der.expose_secret()).unwrap();
            assert_eq!(again.public_key(), key.public_key(), "{alg}");
            assert!(
                SigningKey::from_pkcs8_der(
                    if alg == Algorithm::Es256 {
                        Algorithm::EdDsa
                    } else {
                        Algorithm::Es256
                    },
                    der.expose_secret()
                )
                .is_err()
            );
        }
    }

    #[test]
    fn jw_21_debug_shows_no_key_material() {
        let key = SigningKey::generate(Algorithm::Es256).unwrap();
        let der = key.to_pkcs8_der().unwrap();
        assert_eq!(format!("{der:?}"), "Pkcs8Der(<redacted>)");
        let shown = format!("{key:?}");
        assert!(shown.contains(key.kid()) && shown.contains("Es256"));
        let hmac = HmacKey::new(&[7u8; 32]).unwrap();
        assert_eq!(format!("{hmac:?}"), "HmacKey(<redacted>)");
        assert_eq!(HmacKey::new(&[7u8; 31]).unwrap_err(), KeyError::WeakKey);
    }

    #[test]
    fn rsa_public_key_der() {
        assert_eq!(
            rsa_public_components(&[0x30, 0x08, 0x02, 0x02, 0x00, 0x80, 0x02, 0x02, 0x01, 0x01]),
            Some((&[0x80u8][..], &[0x01u8, 0x01][..]))
        );
        assert_eq!(rsa_public_components(&[0x30, 0x03, 0x02, 0x01, 0x00]), None);
        assert_eq!(rsa_public_components(&[0x30, 0x80]), None);
    }
}
