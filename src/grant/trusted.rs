//! Issuers the host trusts to sign JWTs that an extension grant accepts: subject and actor
//! tokens of a token exchange, assertions of the JWT bearer grant.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::jose::{AlgorithmSet, JwkSet, JwtError, Validation, VerifiedJwt};

/// An issuer of JWTs that the host trusts: its issuer identifier and its public keys.
///
/// A JWT is checked only with the keys of the issuer its `iss` names, compared exactly
/// ([RFC 8725 §3.8](https://www.rfc-editor.org/rfc/rfc8725#section-3.8)), with an
/// algorithm of the issuer's allow-list (never `none`), and must be untyped or `typ: JWT`:
/// a JWT of another kind (an access token `at+jwt`, a client assertion, a DPoP proof) is
/// refused ([RFC 8725 §3.11](https://www.rfc-editor.org/rfc/rfc8725#section-3.11)).
/// `iss`, `sub`, `aud`, `exp` and `iat` are required, and `aud` must name this server: its
/// issuer identifier (for the JWT bearer grant, also its token endpoint URL; for token
/// exchange, also any [`audience`](Self::audience) given here).
///
/// ```
/// use grantflow::grant::TrustedIssuer;
/// use grantflow::jose::JwkSet;
///
/// let keys = JwkSet::parse(br#"{"keys":[]}"#)?;
/// let idp = TrustedIssuer::new("https://idp.example.com", keys);
/// assert_eq!(idp.issuer(), "https://idp.example.com");
/// # Ok::<(), grantflow::jose::KeyError>(())
/// ```
#[derive(Clone)]
pub struct TrustedIssuer {
    issuer: Arc<str>,
    keys: JwkSet,
    audiences: Vec<Arc<str>>,
    algorithms: AlgorithmSet,
}

impl fmt::Debug for TrustedIssuer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TrustedIssuer")
            .field("issuer", &self.issuer)
            .field("keys", &self.keys.keys().len())
            .finish_non_exhaustive()
    }
}

impl TrustedIssuer {
    /// Trusts `issuer`, whose JWTs are signed with one of `keys`.
    pub fn new(issuer: &str, keys: JwkSet) -> Self {
        Self {
            issuer: Arc::from(issuer),
            keys,
            audiences: Vec::new(),
            algorithms: AlgorithmSet::ALL,
        }
    }

    /// For token exchange: accepts subject and actor tokens whose `aud` names `audience`
    /// (an ID token's client, say), besides this server's issuer identifier.
    #[must_use]
    pub fn audience(mut self, audience: &str) -> Self {
        self.audiences.push(Arc::from(audience));
        self
    }

    /// Limits the signature algorithms accepted from this issuer (default: every
    /// algorithm the JOSE layer supports; never `none`).
    #[must_use]
    pub fn algorithms(mut self, algorithms: AlgorithmSet) -> Self {
        self.algorithms = algorithms;
        self
    }

    /// The issuer identifier.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The audiences given with [`audience`](Self::audience).
    pub(crate) fn extra_audiences(&self) -> impl Iterator<Item = &str> + '_ {
        self.audiences.iter().map(|a| &**a)
    }

    /// Verifies `jwt` as a JWT of this issuer at `now`: signature with this issuer's keys,
    /// `typ`, and the registered claims, with `aud` naming one of `audiences`, and `iat` at
    /// most `max_age` old when given.
    pub(crate) fn verify<'a>(
        &self,
        jwt: &str,
        now: SystemTime,
        audiences: impl IntoIterator<Item = &'a str>,
        max_age: Option<Duration>,
    ) -> Result<VerifiedJwt, JwtError> {
        let mut last = JwtError::WrongAudience;
        for audience in audiences {
            let mut validation =
                Validation::trusted_jwt(&self.issuer, audience).algorithms(self.algorithms);
            if let Some(max_age) = max_age {
                validation = validation.max_age(max_age);
            }
            match validation.verify(jwt, &self.keys, now) {
                Ok(verified) => return Ok(verified),
                Err(JwtError::WrongAudience) => {}
                Err(other) => last = other,
            }
        }
        Err(last)
    }
}

/// Finds the trusted issuer that `jwt` names in its `iss`, before any verification. The
/// claim only selects which keys to verify with; a JWT whose claims cannot be read, or
/// that names no trusted issuer, gets `None`.
pub(crate) fn issuer_of<'t>(trusted: &'t [TrustedIssuer], jwt: &str) -> Option<&'t TrustedIssuer> {
    let iss = unverified_issuer(jwt)?;
    trusted.iter().find(|t| *t.issuer == *iss)
}

/// The `iss` claim of `jwt`, read before any verification: it may only choose which keys
/// to verify with.
pub(crate) fn unverified_issuer(jwt: &str) -> Option<String> {
    // Bounded before decoding, as the JOSE layer bounds it again when it verifies.
    if jwt.len() > 16 * 1024 {
        return None;
    }
    let mut parts = jwt.split('.');
    let payload = parts.nth(1)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload).ok()?;
    #[derive(serde::Deserialize)]
    struct Iss<'a> {
        #[serde(borrow)]
        iss: Option<std::borrow::Cow<'a, str>>,
    }
    let claims: Iss<'_> = serde_json::from_slice(&bytes).ok()?;
    claims.iss.map(std::borrow::Cow::into_owned)
}
