//! Signature algorithms and per-use allow-lists.

use std::fmt;

use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED, ED25519, RSA_PKCS1_2048_8192_SHA256, RSA_PSS_2048_8192_SHA256,
    VerificationAlgorithm,
};

/// An asymmetric JWS signature algorithm
/// ([RFC 7518 §3.1](https://www.rfc-editor.org/rfc/rfc7518#section-3.1),
/// [RFC 8037 §3.1](https://www.rfc-editor.org/rfc/rfc8037#section-3.1)).
///
/// There is no `none` and no HMAC algorithm here: an [`AlgorithmSet`] can only ever allow
/// signatures by a public key, so no allow-list can let a public key serve as an HMAC
/// secret ([RFC 8725 §2.1](https://www.rfc-editor.org/rfc/rfc8725#section-2.1)). HMAC,
/// for `client_secret_jwt` only, has its own path
/// ([`Validation::verify_hmac`](super::Validation::verify_hmac) with an
/// [`HmacKey`](super::HmacKey)).
///
/// ```
/// use grantflow::jose::Algorithm;
///
/// assert_eq!(Algorithm::from_name("ES256"), Some(Algorithm::Es256));
/// assert_eq!(Algorithm::from_name("es256"), None); // exact, case-sensitive
/// assert_eq!(Algorithm::from_name("none"), None);
/// assert_eq!(Algorithm::EdDsa.name(), "EdDSA");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Algorithm {
    /// ECDSA with P-256 and SHA-256; the signature is `R ‖ S`, 64 octets. The default.
    Es256,
    /// EdDSA with Ed25519.
    EdDsa,
    /// RSASSA-PKCS1-v1_5 with SHA-256, keys of 2048 to 8192 bits. OpenID Providers must
    /// support it for ID tokens.
    Rs256,
    /// RSASSA-PSS with SHA-256 and MGF1, salt of 32 octets, keys of 2048 to 8192 bits.
    Ps256,
}

impl Algorithm {
    /// Every algorithm, in the order of [`AlgorithmSet::iter`].
    pub const ALL: [Self; 4] = [Self::Es256, Self::EdDsa, Self::Rs256, Self::Ps256];

    /// The `alg` value.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Es256 => "ES256",
            Self::EdDsa => "EdDSA",
            Self::Rs256 => "RS256",
            Self::Ps256 => "PS256",
        }
    }

    /// The algorithm named exactly `name` (case-sensitive,
    /// [RFC 7515 §4.1.1](https://www.rfc-editor.org/rfc/rfc7515#section-4.1.1)), or `None`.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|alg| alg.name() == name)
    }

    /// Whether this algorithm signs with an RSA key.
    pub const fn is_rsa(self) -> bool {
        matches!(self, Self::Rs256 | Self::Ps256)
    }

    const fn bit(self) -> u8 {
        match self {
            Self::Es256 => 1,
            Self::EdDsa => 2,
            Self::Rs256 => 4,
            Self::Ps256 => 8,
        }
    }

    /// The backend's verification algorithm.
    pub(crate) fn verification(self) -> &'static dyn VerificationAlgorithm {
        match self {
            Self::Es256 => &ECDSA_P256_SHA256_FIXED,
            Self::EdDsa => &ED25519,
            Self::Rs256 => &RSA_PKCS1_2048_8192_SHA256,
            Self::Ps256 => &RSA_PSS_2048_8192_SHA256,
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An allow-list of [`Algorithm`]s for one use of JWTs
/// ([RFC 8725 §3.1](https://www.rfc-editor.org/rfc/rfc8725#section-3.1)): a header `alg`
/// outside it is refused before any key is looked at.
///
/// ```
/// use grantflow::jose::{Algorithm, AlgorithmSet};
///
/// let set = AlgorithmSet::EMPTY.with(Algorithm::Es256).with(Algorithm::EdDsa);
/// assert!(set.contains(Algorithm::EdDsa) && !set.contains(Algorithm::Rs256));
/// assert_eq!(set.to_string(), "ES256 EdDSA");
/// assert_eq!(AlgorithmSet::ALL.iter().count(), 4);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct AlgorithmSet(u8);

impl AlgorithmSet {
    /// No algorithm: every JWT is refused.
    pub const EMPTY: Self = Self(0);
    /// ES256, EdDSA, RS256 and PS256: what the crate signs and verifies.
    pub const ALL: Self = Self(15);
    /// The set holding only `alg`.
    pub const fn only(alg: Algorithm) -> Self {
        Self(alg.bit())
    }

    /// This set and `alg`.
    #[must_use]
    pub const fn with(self, alg: Algorithm) -> Self {
        Self(self.0 | alg.bit())
    }

    /// This set without `alg`.
    #[must_use]
    pub const fn without(self, alg: Algorithm) -> Self {
        Self(self.0 & !alg.bit())
    }

    /// This set narrowed to `registered` (a client's registered algorithm), if given:
    /// that one algorithm when the set holds it, else none.
    pub(crate) fn restricted_to(self, registered: Option<Algorithm>) -> Self {
        match registered {
            Some(alg) if self.contains(alg) => Self::only(alg),
            Some(_) => Self::EMPTY,
            None => self,
        }
    }

    /// Whether `alg` is allowed.
    pub const fn contains(self, alg: Algorithm) -> bool {
        self.0 & alg.bit() != 0
    }

    /// Whether no algorithm is allowed.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The allowed algorithms, in [`Algorithm::ALL`] order.
    pub fn iter(self) -> impl Iterator<Item = Algorithm> {
        Algorithm::ALL
            .into_iter()
            .filter(move |alg| self.contains(*alg))
    }
}

impl FromIterator<Algorithm> for AlgorithmSet {
    fn from_iter<I: IntoIterator<Item = Algorithm>>(iter: I) -> Self {
        iter.into_iter().fold(Self::EMPTY, Self::with)
    }
}

/// The names, space-separated (the form of `algs` challenges and metadata lists).
impl fmt::Display for AlgorithmSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, alg) in self.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            f.write_str(alg.name())?;
        }
        Ok(())
    }
}

impl fmt::Debug for AlgorithmSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}
