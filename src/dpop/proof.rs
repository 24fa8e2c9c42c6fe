//! The DPoP proof checker ([RFC 9449 §4.3](https://www.rfc-editor.org/rfc/rfc9449#section-4.3)).

use std::fmt;
use std::time::{Duration, SystemTime};

use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;

use super::{DpopNonces, htu};
use crate::error::{ErrorCode, OAuthError, StorageError};
use crate::http::HttpRequest;
use crate::jose::{Algorithm, AlgorithmSet, JwtError, PublicJwk, Validation};
use crate::store::{Consumption, SingleUseKind, SingleUseStore};

/// The longest `jti` a proof may carry.
pub const MAX_JTI_LEN: usize = 256;

/// The default maximum age of a proof's `iat`: 60 seconds.
pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(60);

/// The default clock leeway for an `iat` in the future: 30 seconds, as for every JWT the
/// crate checks.
pub const DEFAULT_LEEWAY: Duration = Duration::from_secs(30);

/// The request a proof must have been made for: its method and target URI, and at a
/// resource server the access token it travels with.
///
/// The target URI is the one the server knows itself by (its configured endpoint URL),
/// never one rebuilt from the request's `Host` or `X-Forwarded-*` headers, which the
/// client controls.
#[derive(Clone, Copy)]
pub struct ProofTarget<'a> {
    method: &'a str,
    uri: &'a str,
    access_token: Option<&'a str>,
    nonces: Option<&'a DpopNonces>,
}

impl<'a> ProofTarget<'a> {
    /// A request with `method` (as sent, case-sensitive: `POST`) to `uri` (absolute; any
    /// query or fragment is ignored).
    pub fn new(method: &'a str, uri: &'a str) -> Self {
        Self {
            method,
            uri,
            access_token: None,
            nonces: None,
        }
    }

    /// Requires a server-provided nonce that `nonces` accepts
    /// ([RFC 9449 §8](https://www.rfc-editor.org/rfc/rfc9449#section-8)): a proof without
    /// one, or with one that is not this server's or no longer fresh, is refused with
    /// [`DpopError::NonceRequired`] or [`DpopError::StaleNonce`] (`use_dpop_nonce`).
    #[must_use]
    pub fn with_nonces(mut self, nonces: &'a DpopNonces) -> Self {
        self.nonces = Some(nonces);
        self
    }

    /// The access token presented with the proof: the proof must then carry its hash as
    /// `ath` ([RFC 9449 §4.3](https://www.rfc-editor.org/rfc/rfc9449#section-4.3), item 12).
    #[must_use]
    pub fn with_access_token(mut self, access_token: &'a str) -> Self {
        self.access_token = Some(access_token);
        self
    }
}

impl fmt::Debug for ProofTarget<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProofTarget")
            .field("method", &self.method)
            .field("uri", &self.uri)
            .field("access_token", &self.access_token.map(|_| "<redacted>"))
            .field("nonces", &self.nonces.is_some())
            .finish()
    }
}

/// Checks DPoP proofs ([RFC 9449 §4.3](https://www.rfc-editor.org/rfc/rfc9449#section-4.3)):
/// exactly one `DPoP` header holding a JWT with `typ: dpop+jwt`, signed with an allowed
/// asymmetric algorithm (never `none`, never HMAC) by the public `jwk` of its own header
/// (a private key there is refused); `htm` equal to the request method; `htu` equal to the
/// target URI after normalization; `iat` no older than the maximum age and no further in
/// the future than the leeway; `ath` the hash of the access token, where there is one; and
/// a `jti` of at most 256 characters, accepted once per target URI through a
/// [`SingleUseStore`], which keeps only a digest of it.
///
/// ```
/// # fn block_on<F: std::future::Future>(f: F) -> F::Output {
/// #     let mut f = std::pin::pin!(f);
/// #     let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
/// #     loop { if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) { return v; } }
/// # }
/// # block_on(async {
/// use std::time::SystemTime;
/// use grantflow::dpop::{DpopError, ProofChecker, ProofTarget};
/// use grantflow::store::MemorySingleUseStore;
/// use grantflow::{HttpRequest, Method};
///
/// let checker = ProofChecker::new();
/// let replay = MemorySingleUseStore::new();
/// let request = HttpRequest::new(Method::Post);
/// let target = ProofTarget::new("POST", "https://as.example.com/token");
/// let verdict = checker.verify(&request, &target, &replay, SystemTime::now()).await;
/// assert_eq!(verdict.unwrap().unwrap_err(), DpopError::Missing);
/// # })
/// ```
#[derive(Clone, Debug)]
pub struct ProofChecker {
    algorithms: AlgorithmSet,
    max_age: Duration,
    leeway: Duration,
}

impl Default for ProofChecker {
    fn default() -> Self {
        Self::new()
    }
}

impl ProofChecker {
    /// A checker accepting ES256, EdDSA, PS256 and RS256, proofs up to 60 s old and 30 s
    /// in the future.
    pub fn new() -> Self {
        Self {
            algorithms: AlgorithmSet::ALL,
            max_age: DEFAULT_MAX_AGE,
            leeway: DEFAULT_LEEWAY,
        }
    }

    /// Accepts only these algorithms. Publish the same set as
    /// `dpop_signing_alg_values_supported`.
    #[must_use]
    pub fn algorithms(mut self, algorithms: AlgorithmSet) -> Self {
        self.algorithms = algorithms;
        self
    }

    /// Refuses proofs whose `iat` is older than `max_age` (default 60 s). The `jti` of an
    /// accepted proof is remembered that long.
    #[must_use]
    pub fn max_age(mut self, max_age: Duration) -> Self {
        self.max_age = max_age;
        self
    }

    /// Accepts an `iat` up to `leeway` in the future (default 30 s, at most 300 s).
    #[must_use]
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway.min(Duration::from_secs(300));
        self
    }

    /// The algorithms accepted.
    pub fn supported_algorithms(&self) -> AlgorithmSet {
        self.algorithms
    }

    /// The maximum age of a proof.
    pub fn max_age_value(&self) -> Duration {
        self.max_age
    }

    /// Checks the proof of `request` for `target` at `now`, and consumes its `jti` in
    /// `replay`.
    ///
    /// # Errors
    /// The outer `Err` is a failure of the replay store, the proof then not accepted; the
    /// inner one the reason the proof is refused, which the caller answers with
    /// `invalid_dpop_proof` ([`DpopError::to_oauth_error`]).
    pub async fn verify(
        &self,
        request: &HttpRequest,
        target: &ProofTarget<'_>,
        replay: &dyn SingleUseStore,
        now: SystemTime,
    ) -> Result<Result<DpopProof, DpopError>, StorageError> {
        let checked = match self.check(request, target, now) {
            Ok(checked) => checked,
            Err(error) => return Ok(Err(error)),
        };
        let key = SingleUseKind::DpopProof.key(&checked.htu, &checked.proof.jti);
        // Remembered as long as the proof could be accepted: until `iat` ages out.
        let until = checked
            .proof
            .issued_at
            .max(now)
            .checked_add(self.max_age + Duration::from_secs(1))
            .unwrap_or(now);
        Ok(match replay.consume(&key, until, now).await? {
            Consumption::First => Ok(checked.proof),
            Consumption::Replayed => Err(DpopError::Replayed),
        })
    }

    /// Every check but the replay one.
    pub(crate) fn check(
        &self,
        request: &HttpRequest,
        target: &ProofTarget<'_>,
        now: SystemTime,
    ) -> Result<Checked, DpopError> {
        let proof = match request.header_count("dpop") {
            0 => return Err(DpopError::Missing),
            1 => request
                .header("dpop")
                .ok_or(DpopError::Invalid(JwtError::Malformed))?,
            _ => return Err(DpopError::Repeated),
        };
        self.check_value(proof, target, now)
    }

    /// The checks of one `DPoP` header value.
    pub(crate) fn check_value(
        &self,
        proof: &str,
        target: &ProofTarget<'_>,
        now: SystemTime,
    ) -> Result<Checked, DpopError> {
        let verified = Validation::dpop_proof()
            .algorithms(self.algorithms)
            .max_age(self.max_age)
            .leeway(self.leeway)
            .verify_embedded_key(proof, now)
            .map_err(DpopError::Invalid)?;
        let claims = verified.claims();
        let string = |name: &'static str| match claims.get(name) {
            None => Err(DpopError::MissingClaim(name)),
            Some(serde_json::Value::String(value)) => Ok(value.as_str()),
            Some(_) => Err(DpopError::InvalidClaim(name)),
        };
        if string("htm")? != target.method {
            return Err(DpopError::WrongMethod);
        }
        let htu = string("htu")?;
        if htu::has_query_or_fragment(htu) {
            return Err(DpopError::InvalidClaim("htu"));
        }
        let htu = htu::normalize(htu).ok_or(DpopError::InvalidClaim("htu"))?;
        if htu::normalize(target.uri).as_deref() != Some(htu.as_str()) {
            return Err(DpopError::WrongUri);
        }
        let jti = claims.jwt_id().ok_or(DpopError::MissingClaim("jti"))?;
        if jti.is_empty() || jti.chars().count() > MAX_JTI_LEN {
            return Err(DpopError::InvalidClaim("jti"));
        }
        if let Some(token) = target.access_token {
            let expected = crate::jose::b64::encode(&Sha256::digest(token.as_bytes()));
            let ath = string("ath")?;
            if !bool::from(ath.as_bytes().ct_eq(expected.as_bytes())) {
                return Err(DpopError::WrongAccessTokenHash);
            }
        }
        let nonce = match claims.get("nonce") {
            None => None,
            Some(serde_json::Value::String(nonce)) if !nonce.is_empty() => Some(nonce.clone()),
            Some(_) => return Err(DpopError::InvalidClaim("nonce")),
        };
        // EX-09: with nonces on, every proof carries a fresh one of this server's.
        if let Some(nonces) = target.nonces {
            match &nonce {
                None => return Err(DpopError::NonceRequired),
                Some(nonce) if !nonces.accepts(nonce, now) => return Err(DpopError::StaleNonce),
                Some(_) => {}
            }
        }
        let (Some(key), Some(issued_at), Some(algorithm)) = (
            verified.key(),
            claims.issued_at(),
            Algorithm::from_name(verified.algorithm()),
        ) else {
            return Err(DpopError::Invalid(JwtError::MissingClaim("iat")));
        };
        Ok(Checked {
            htu,
            proof: DpopProof {
                key: key.clone(),
                jti: jti.to_owned(),
                issued_at,
                nonce,
                algorithm,
            },
        })
    }
}

/// A proof that passed every check but the replay one, with its normalized `htu`.
#[derive(Debug)]
pub(crate) struct Checked {
    pub(crate) htu: String,
    pub(crate) proof: DpopProof,
}

/// A DPoP proof that passed every check: what the request proved.
#[derive(Clone, PartialEq)]
#[non_exhaustive]
pub struct DpopProof {
    key: PublicJwk,
    jti: String,
    issued_at: SystemTime,
    nonce: Option<String>,
    algorithm: Algorithm,
}

impl DpopProof {
    /// The RFC 7638 thumbprint of the proof's key: the `jkt` a bound token carries in its
    /// `cnf` claim ([RFC 9449 §6.1](https://www.rfc-editor.org/rfc/rfc9449#section-6.1)).
    pub fn jkt(&self) -> &str {
        self.key.thumbprint()
    }

    /// The proof's public key.
    pub fn key(&self) -> &PublicJwk {
        &self.key
    }

    /// `jti`.
    pub fn jti(&self) -> &str {
        &self.jti
    }

    /// `iat`.
    pub fn issued_at(&self) -> SystemTime {
        self.issued_at
    }

    /// The server-provided `nonce`, if the proof has one.
    pub fn nonce(&self) -> Option<&str> {
        self.nonce.as_deref()
    }

    /// The signature algorithm.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }
}

impl fmt::Debug for DpopProof {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DpopProof")
            .field("jkt", &self.jkt())
            .field("algorithm", &self.algorithm)
            .field("issued_at", &self.issued_at)
            .field("nonce", &self.nonce.as_ref().map(|_| "<present>"))
            .finish_non_exhaustive()
    }
}

/// Why a DPoP proof was refused. The `Display` text names the failed check and nothing of
/// the proof; it is safe to log and to send as `error_description`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DpopError {
    /// The request has no `DPoP` header.
    #[error("no DPoP header")]
    Missing,
    /// The request has more than one `DPoP` header.
    #[error("more than one DPoP header")]
    Repeated,
    /// The JWT failed a JWS or JWT check: size, shape, `typ`, `alg`, the embedded key, the
    /// signature, `iat`.
    #[error("{0}")]
    Invalid(JwtError),
    /// A claim the proof needs is absent (`htm`, `htu`, `jti`, `ath`).
    #[error("the DPoP proof has no {0} claim")]
    MissingClaim(&'static str),
    /// A claim is malformed: not a string, an `htu` that is not an absolute `http(s)` URI
    /// or that has a query or fragment, an empty or overlong `jti`.
    #[error("the DPoP proof's {0} claim is malformed")]
    InvalidClaim(&'static str),
    /// `htm` is not the request method.
    #[error("the DPoP proof is for another HTTP method")]
    WrongMethod,
    /// `htu` is not the target URI.
    #[error("the DPoP proof is for another URI")]
    WrongUri,
    /// `ath` is not the hash of the presented access token.
    #[error("the DPoP proof is for another access token")]
    WrongAccessTokenHash,
    /// The proof's `jti` was already accepted for this URI.
    #[error("the DPoP proof was already used")]
    Replayed,
    /// The server requires a nonce and the proof has none.
    #[error("the DPoP proof must carry the server's nonce")]
    NonceRequired,
    /// The proof's nonce is not one this server issued recently.
    #[error("the DPoP proof's nonce is not a current one")]
    StaleNonce,
}

impl DpopError {
    /// The error code of the refusal: `use_dpop_nonce` for a missing or stale nonce
    /// ([RFC 9449 §8](https://www.rfc-editor.org/rfc/rfc9449#section-8)), else
    /// `invalid_dpop_proof` ([RFC 9449 §5](https://www.rfc-editor.org/rfc/rfc9449#section-5)).
    pub fn error_code(self) -> ErrorCode {
        match self {
            Self::NonceRequired | Self::StaleNonce => ErrorCode::USE_DPOP_NONCE,
            _ => ErrorCode::INVALID_DPOP_PROOF,
        }
    }

    /// The token-endpoint error of the refusal, with this text as its description.
    pub fn to_oauth_error(self) -> OAuthError {
        OAuthError::new(self.error_code()).with_description(self.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::Method;
    use crate::jose::SigningKey;
    use crate::jose::b64;
    use crate::store::MemorySingleUseStore;
    use crate::test_support::block_on;

    const TOKEN: &str = "https://as.example.com/token";

    fn now() -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000)
    }

    fn sign(key: &SigningKey, header: &str, claims: &serde_json::Value) -> String {
        let input = format!(
            "{}.{}",
            b64::encode(header.as_bytes()),
            b64::encode(claims.to_string().as_bytes())
        );
        let signature = key.sign_now(input.as_bytes()).unwrap();
        format!("{input}.{}", b64::encode(&signature))
    }

    fn header(key: &SigningKey) -> String {
        format!(
            r#"{{"typ":"dpop+jwt","alg":"{}","jwk":{}}}"#,
            key.algorithm().name(),
            key.public_key().to_json()
        )
    }

    fn claims(jti: &str) -> serde_json::Value {
        serde_json::json!({
            "jti": jti, "htm": "POST", "htu": TOKEN, "iat": 1_700_000_000u64,
        })
    }

    fn with(proof: &str) -> HttpRequest {
        HttpRequest::new(Method::Post).with_header("DPoP", proof)
    }

    fn check(proof: &str) -> Result<Checked, DpopError> {
        ProofChecker::new().check(&with(proof), &ProofTarget::new("POST", TOKEN), now())
    }

    fn edit(change: impl FnOnce(&mut serde_json::Value)) -> Result<Checked, DpopError> {
        let key = SigningKey::generate(Algorithm::Es256).unwrap();
        let mut c = claims("j1");
        change(&mut c);
        check(&sign(&key, &header(&key), &c))
    }

    #[test]
    fn ex_04_a_valid_proof_names_its_key() {
        for alg in [Algorithm::Es256, Algorithm::EdDsa] {
            let key = SigningKey::generate(alg).unwrap();
            let checked = check(&sign(&key, &header(&key), &claims("j1"))).unwrap();
            assert_eq!(checked.proof.jkt(), key.public_key().thumbprint());
            assert_eq!(checked.proof.jti(), "j1");
            assert_eq!(checked.proof.algorithm(), alg);
            assert_eq!(checked.htu, TOKEN);
        }
    }

    #[test]
    fn ex_04_exactly_one_header() {
        let key = SigningKey::generate(Algorithm::Es256).unwrap();
        let proof = sign(&key, &header(&key), &claims("j1"));
        let target = ProofTarget::new("POST", TOKEN);
        let checker = ProofChecker::new();
        let none = HttpRequest::new(Method::Post);
        assert_eq!(
            checker.check(&none, &target, now()).unwrap_err(),
            DpopError::Missing
        );
        let two = with(&proof).with_header("dpop", &proof);
        assert_eq!(
            checker.check(&two, &target, now()).unwrap_err(),
            DpopError::Repeated
        );
        let unreadable = HttpRequest::new(Method::Post).with_header_bytes("dpop", b"\xff");
        assert_eq!(
            checker.check(&unreadable, &target, now()).unwrap_err(),
            DpopError::Invalid(JwtError::Malformed)
        );
    }

    #[test]
    fn ex_04_typ_alg_and_key_rules() {
        let key = SigningKey::generate(Algorithm::Es256).unwrap();
        let jwk = key.public_key().to_json();
        let c = claims("j1");
        let refused = |h: String| check(&sign(&key, &h, &c)).unwrap_err();
        assert_eq!(
            refused(format!(r#"{{"typ":"JWT","alg":"ES256","jwk":{jwk}}}"#)),
            DpopError::Invalid(JwtError::WrongType)
        );
        assert_eq!(
            refused(r#"{"typ":"dpop+jwt","alg":"ES256"}"#.to_owned()),
            DpopError::Invalid(JwtError::KeyInHeader)
        );
        assert_eq!(
            refused(format!(r#"{{"typ":"dpop+jwt","alg":"HS256","jwk":{jwk}}}"#)),
            DpopError::Invalid(JwtError::AlgorithmNotAllowed)
        );
        assert_eq!(
            refused(format!(r#"{{"typ":"dpop+jwt","alg":"none","jwk":{jwk}}}"#)),
            DpopError::Invalid(JwtError::AlgorithmNotAllowed)
        );
        // A private member in the embedded key.
        let private = jwk.replacen('{', r#"{"d":"AAAA","#, 1);
        assert_eq!(
            refused(format!(
                r#"{{"typ":"dpop+jwt","alg":"ES256","jwk":{private}}}"#
            )),
            DpopError::Invalid(JwtError::KeyInHeader)
        );
        // Another key than the one that signed.
        let other = SigningKey::generate(Algorithm::Es256).unwrap();
        assert_eq!(
            refused(header(&other)),
            DpopError::Invalid(JwtError::BadSignature)
        );
        // An allow-list without ES256.
        let only_ed = ProofChecker::new().algorithms(AlgorithmSet::only(Algorithm::EdDsa));
        let proof = sign(&key, &header(&key), &c);
        assert_eq!(
            only_ed
                .check(&with(&proof), &ProofTarget::new("POST", TOKEN), now())
                .unwrap_err(),
            DpopError::Invalid(JwtError::AlgorithmNotAllowed)
        );
    }

    #[test]
    fn ex_15_htm_and_htu() {
        assert_eq!(
            edit(|c| c["htm"] = "post".into()).unwrap_err(),
            DpopError::WrongMethod
        );
        assert_eq!(
            edit(|c| c["htm"] = "GET".into()).unwrap_err(),
            DpopError::WrongMethod
        );
        assert!(edit(|c| c["htu"] = "https://AS.example.com:443/token".into()).is_ok());
        assert!(edit(|c| c["htu"] = "https://as.example.com/%74oken".into()).is_ok());
        assert_eq!(
            edit(|c| c["htu"] = "https://as.example.com/token2".into()).unwrap_err(),
            DpopError::WrongUri
        );
        assert_eq!(
            edit(|c| c["htu"] = "https://as.example.com/token?x=1".into()).unwrap_err(),
            DpopError::InvalidClaim("htu")
        );
        assert_eq!(
            edit(|c| c["htu"] = "/token".into()).unwrap_err(),
            DpopError::InvalidClaim("htu")
        );
        assert_eq!(
            edit(|c| c["htu"] = 1.into()).unwrap_err(),
            DpopError::InvalidClaim("htu")
        );
        assert_eq!(
            edit(|c| {
                c.as_object_mut().unwrap().remove("htm");
            })
            .unwrap_err(),
            DpopError::MissingClaim("htm")
        );
    }

    #[test]
    fn ex_14_iat_window_and_jti_length() {
        assert_eq!(
            edit(|c| c["iat"] = (1_700_000_000u64 - 600).into()).unwrap_err(),
            DpopError::Invalid(JwtError::TooOld)
        );
        assert!(edit(|c| c["iat"] = (1_700_000_000u64 - 60).into()).is_ok());
        assert!(edit(|c| c["iat"] = (1_700_000_000u64 + 5).into()).is_ok());
        assert_eq!(
            edit(|c| c["iat"] = (1_700_000_000u64 + 120).into()).unwrap_err(),
            DpopError::Invalid(JwtError::IssuedInFuture)
        );
        assert_eq!(
            edit(|c| {
                c.as_object_mut().unwrap().remove("iat");
            })
            .unwrap_err(),
            DpopError::Invalid(JwtError::MissingClaim("iat"))
        );
        assert!(edit(|c| c["jti"] = "é".repeat(256).into()).is_ok());
        assert_eq!(
            edit(|c| c["jti"] = "a".repeat(257).into()).unwrap_err(),
            DpopError::InvalidClaim("jti")
        );
    }

    #[test]
    fn ex_06_ath_binds_the_access_token() {
        let key = SigningKey::generate(Algorithm::Es256).unwrap();
        let ath = b64::encode(&Sha256::digest(b"the-token"));
        let mut c = claims("j1");
        c["ath"] = ath.into();
        let proof = sign(&key, &header(&key), &c);
        let target = ProofTarget::new("POST", TOKEN);
        let checker = ProofChecker::new();
        assert!(
            checker
                .check(&with(&proof), &target.with_access_token("the-token"), now())
                .is_ok()
        );
        assert_eq!(
            checker
                .check(&with(&proof), &target.with_access_token("another"), now())
                .unwrap_err(),
            DpopError::WrongAccessTokenHash
        );
        let bare = sign(&key, &header(&key), &claims("j2"));
        assert_eq!(
            checker
                .check(&with(&bare), &target.with_access_token("the-token"), now())
                .unwrap_err(),
            DpopError::MissingClaim("ath")
        );
    }

    #[test]
    fn ex_14_jti_is_single_use_per_uri() {
        let key = SigningKey::generate(Algorithm::Es256).unwrap();
        let proof = sign(&key, &header(&key), &claims("j1"));
        let store = MemorySingleUseStore::new();
        let checker = ProofChecker::new();
        let target = ProofTarget::new("POST", TOKEN);
        let verify = |at| block_on(checker.verify(&with(&proof), &target, &store, at)).unwrap();
        assert!(verify(now()).is_ok());
        assert_eq!(verify(now()).unwrap_err(), DpopError::Replayed);
        // Once the proof has aged out, it is refused for its age.
        assert_eq!(
            verify(now() + Duration::from_secs(61)).unwrap_err(),
            DpopError::Invalid(JwtError::TooOld)
        );
    }

    #[test]
    fn errors_and_debug_leak_nothing() {
        let key = SigningKey::generate(Algorithm::Es256).unwrap();
        let checked = check(&sign(&key, &header(&key), &claims("secret-jti"))).unwrap();
        let debug = format!("{:?}", checked.proof);
        assert!(!debug.contains("secret-jti"), "{debug}");
        let target = ProofTarget::new("POST", TOKEN).with_access_token("secret-token");
        assert!(!format!("{target:?}").contains("secret-token"));
        assert_eq!(
            DpopError::Replayed.to_oauth_error().code().as_str(),
            "invalid_dpop_proof"
        );
    }
}
