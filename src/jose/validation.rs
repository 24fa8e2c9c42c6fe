//! Verifying a JWT for one use: the JWS checks, the signature, then the claims.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use super::alg::AlgorithmSet;
use super::claims::Claims;
use super::error::JwtError;
use super::jwk::PublicJwk;
use super::jwks::JwkSet;
use super::jws::{self, Compact, HeaderAlg, HeaderRules, KeySource, TypRule};
use super::signer::HmacKey;
use super::{b64, json};
use crate::types::ClientId;

/// The default clock leeway for `exp`, `nbf` and `iat`.
pub(crate) const DEFAULT_LEEWAY: Duration = Duration::from_secs(30);
/// The largest leeway a [`Validation`] accepts.
pub(crate) const MAX_LEEWAY: Duration = Duration::from_secs(300);
/// The longest JWT accepted for tokens, request objects and ID-token hints.
const LONG_JWT: usize = 16 * 1024;
/// The longest JWT accepted for DPoP proofs and client assertions.
const SHORT_JWT: usize = 8 * 1024;

/// The kinds of JWT the crate signs or verifies. Each has its own `typ`, size limit and
/// required claims, and the validators are mutually exclusive: a JWT of one kind is
/// refused as any other ([RFC 8725 §3.12](https://www.rfc-editor.org/rfc/rfc8725#section-3.12)).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum JwtUse {
    /// An access token ([RFC 9068](https://www.rfc-editor.org/rfc/rfc9068)): `typ`
    /// `at+jwt` (or `application/at+jwt`) required.
    AccessToken,
    /// An OpenID Connect ID token: written with `typ: JWT`; verified untyped or `JWT`.
    IdToken,
    /// A client assertion ([RFC 7523 §3](https://www.rfc-editor.org/rfc/rfc7523#section-3)):
    /// `client-authentication+jwt`, `JWT` or untyped.
    ClientAssertion,
    /// A DPoP proof ([RFC 9449 §4.2](https://www.rfc-editor.org/rfc/rfc9449#section-4.2)):
    /// `dpop+jwt` required, the key is the header's public `jwk`.
    DpopProof,
    /// A request object ([RFC 9101 §10.8](https://www.rfc-editor.org/rfc/rfc9101#section-10.8)):
    /// `oauth-authz-req+jwt`, `JWT` or untyped.
    RequestObject,
    /// A signed UserInfo response: written with `typ: JWT`; verified untyped or `JWT`.
    UserInfo,
}

impl JwtUse {
    /// The `typ` the crate writes when it signs a JWT of this kind.
    pub const fn typ(self) -> &'static str {
        match self {
            Self::AccessToken => "at+jwt",
            Self::IdToken | Self::UserInfo => "JWT",
            Self::ClientAssertion => "client-authentication+jwt",
            Self::DpopProof => "dpop+jwt",
            Self::RequestObject => "oauth-authz-req+jwt",
        }
    }

    fn typ_rule(self) -> TypRule {
        match self {
            Self::AccessToken => TypRule::Exactly("at+jwt"),
            Self::DpopProof => TypRule::Exactly("dpop+jwt"),
            Self::ClientAssertion => TypRule::OwnOrGeneric("client-authentication+jwt"),
            Self::RequestObject => TypRule::OwnOrGeneric("oauth-authz-req+jwt"),
            Self::IdToken | Self::UserInfo => TypRule::Generic,
        }
    }

    /// The default size limit.
    const fn max_len(self) -> usize {
        match self {
            Self::DpopProof | Self::ClientAssertion => SHORT_JWT,
            _ => LONG_JWT,
        }
    }
}

/// Registered claims a use requires, as bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Required(u8);

impl Required {
    const ISS: Self = Self(1);
    const SUB: Self = Self(2);
    const AUD: Self = Self(4);
    const EXP: Self = Self(8);
    const IAT: Self = Self(16);
    const JTI: Self = Self(32);

    const fn and(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }

    const fn has(self, other: Self) -> bool {
        self.0 & other.0 != 0
    }
}

/// How to verify a JWT for one [`JwtUse`]: the algorithm allow-list, the expected issuer,
/// audience and subject, the clock leeway and maximum age, the size limit.
///
/// Built for a use with its constructor (every required expectation is a parameter), then
/// refined with the setters. Verification runs the checks in this order and stops at the
/// first failure: size, compact shape, header (strict JSON, `alg` in the allow-list, no
/// `crit`, no nesting, `typ`, no key in the header), key selection (`kid` chooses the key,
/// the key's algorithm must be the header's), signature over the received bytes, claims
/// (strict JSON, types, required claims, `exp`/`nbf`/`iat` with the leeway, maximum age,
/// `iss`, `aud`, `sub`).
///
/// ```
/// use std::time::Duration;
/// use grantflow::jose::{Algorithm, AlgorithmSet, JwtUse, Validation};
///
/// let validation = Validation::access_token("https://as.example.com", "https://rs.example.com")
///     .algorithms(AlgorithmSet::only(Algorithm::Es256))
///     .leeway(Duration::from_secs(10));
/// assert_eq!(validation.jwt_use(), JwtUse::AccessToken);
/// ```
#[derive(Clone, Debug)]
pub struct Validation {
    jwt_use: JwtUse,
    algorithms: AlgorithmSet,
    issuer: Option<Arc<str>>,
    audience: Option<Arc<str>>,
    subject: Option<Arc<str>>,
    sole_audience: bool,
    leeway: Duration,
    max_age: Option<Duration>,
    max_len: usize,
    required: Required,
    /// Whether `exp` is left unchecked (ID-token hints only).
    accept_expired: bool,
}

impl Validation {
    fn new(jwt_use: JwtUse, required: Required) -> Self {
        Self {
            jwt_use,
            algorithms: AlgorithmSet::ALL,
            issuer: None,
            audience: None,
            subject: None,
            sole_audience: false,
            leeway: DEFAULT_LEEWAY,
            max_age: None,
            max_len: jwt_use.max_len(),
            required,
            accept_expired: false,
        }
    }

    /// Access tokens ([RFC 9068 §4](https://www.rfc-editor.org/rfc/rfc9068#section-4)):
    /// `typ` `at+jwt`; `iss` equal to `issuer`; `aud` containing `audience` (this resource
    /// server); `iss`, `exp`, `aud`, `sub`, `iat` and `jti` required. Up to 16 KiB.
    pub fn access_token(issuer: &str, audience: &str) -> Self {
        let mut v = Self::new(
            JwtUse::AccessToken,
            Required::ISS
                .and(Required::SUB)
                .and(Required::AUD)
                .and(Required::EXP)
                .and(Required::IAT)
                .and(Required::JTI),
        );
        v.issuer = Some(Arc::from(issuer));
        v.audience = Some(Arc::from(audience));
        v
    }

    /// ID tokens this server issued (an `id_token_hint`): untyped or `JWT`; `iss` equal to
    /// `issuer`; `aud` containing `client_id`; `iss`, `sub`, `aud`, `exp` and `iat`
    /// required. Up to 16 KiB.
    pub fn id_token(issuer: &str, client_id: &ClientId) -> Self {
        Self::trusted_jwt(issuer, client_id.as_str())
    }

    /// JWTs of another issuer the host trusts (token exchange subjects, JWT bearer
    /// assertions): verified as [`id_token`](Self::id_token) is, untyped or `JWT`, with
    /// `aud` containing `audience`.
    pub(crate) fn trusted_jwt(issuer: &str, audience: &str) -> Self {
        let mut v = Self::new(
            JwtUse::IdToken,
            Required::ISS
                .and(Required::SUB)
                .and(Required::AUD)
                .and(Required::EXP)
                .and(Required::IAT),
        );
        v.issuer = Some(Arc::from(issuer));
        v.audience = Some(Arc::from(audience));
        v
    }

    /// ID tokens this server issued, presented back as hints: the `id_token_hint` of an
    /// authentication request
    /// ([OpenID Connect Core §3.1.2.1](https://openid.net/specs/openid-connect-core-1_0.html#AuthRequest))
    /// or of a logout request
    /// ([RP-Initiated Logout §2](https://openid.net/specs/openid-connect-rpinitiated-1_0.html#RPLogout)).
    /// As [`id_token`](Self::id_token), except that the audience is any client (the caller
    /// reads it) and that `exp` is not checked: both specifications ask the OpenID Provider
    /// to accept an expired ID token as a hint, which the signature and `iss` still tie to
    /// this server. A hint signed by a key that is no longer published fails. Up to 16 KiB.
    pub fn id_token_hint(issuer: &str) -> Self {
        let mut v = Self::new(
            JwtUse::IdToken,
            Required::ISS
                .and(Required::SUB)
                .and(Required::AUD)
                .and(Required::IAT),
        );
        v.issuer = Some(Arc::from(issuer));
        v.accept_expired = true;
        v
    }

    /// Client assertions ([RFC 7523 §3](https://www.rfc-editor.org/rfc/rfc7523#section-3)):
    /// `client-authentication+jwt`, `JWT` or untyped; `iss` and `sub` equal to `client_id`;
    /// `aud` containing `audience` (the server's issuer identifier); `exp` and `jti`
    /// required. Up to 8 KiB.
    pub fn client_assertion(client_id: &ClientId, audience: &str) -> Self {
        let mut v = Self::new(
            JwtUse::ClientAssertion,
            Required::ISS
                .and(Required::SUB)
                .and(Required::AUD)
                .and(Required::EXP)
                .and(Required::JTI),
        );
        v.issuer = Some(Arc::from(client_id.as_str()));
        v.subject = Some(Arc::from(client_id.as_str()));
        v.audience = Some(Arc::from(audience));
        v
    }

    /// DPoP proofs ([RFC 9449 §4.3](https://www.rfc-editor.org/rfc/rfc9449#section-4.3)):
    /// `typ` `dpop+jwt`; verified with the header's public `jwk` (see
    /// [`verify_embedded_key`](Self::verify_embedded_key)); `jti` and `iat` required, and
    /// `iat` at most 60 s old by default. Up to 8 KiB. `htm`, `htu`, `ath` and the nonce are
    /// the caller's to check.
    pub fn dpop_proof() -> Self {
        let mut v = Self::new(JwtUse::DpopProof, Required::JTI.and(Required::IAT));
        v.max_age = Some(Duration::from_secs(60));
        v
    }

    /// Request objects ([RFC 9101 §6](https://www.rfc-editor.org/rfc/rfc9101#section-6)):
    /// `oauth-authz-req+jwt`, `JWT` or untyped; `iss` equal to `client_id`; `aud`
    /// containing `audience` (the server's issuer identifier). Up to 16 KiB.
    pub fn request_object(client_id: &ClientId, audience: &str) -> Self {
        let mut v = Self::new(JwtUse::RequestObject, Required::ISS.and(Required::AUD));
        v.issuer = Some(Arc::from(client_id.as_str()));
        v.audience = Some(Arc::from(audience));
        v
    }

    /// Signed UserInfo responses: untyped or `JWT`; `iss` equal to `issuer`; `aud`
    /// containing `client_id`; `sub` required. Up to 16 KiB.
    pub fn userinfo(issuer: &str, client_id: &ClientId) -> Self {
        let mut v = Self::new(
            JwtUse::UserInfo,
            Required::ISS.and(Required::SUB).and(Required::AUD),
        );
        v.issuer = Some(Arc::from(issuer));
        v.audience = Some(Arc::from(client_id.as_str()));
        v
    }

    /// The use this validation is for.
    pub fn jwt_use(&self) -> JwtUse {
        self.jwt_use
    }

    /// Allows only these algorithms (default: ES256, EdDSA, RS256, PS256). For client
    /// assertions and request objects, the client's registered algorithm.
    #[must_use]
    pub fn algorithms(mut self, algorithms: AlgorithmSet) -> Self {
        self.algorithms = algorithms;
        self
    }

    /// The clock leeway for `exp`, `nbf` and `iat`
    /// ([RFC 7519 §4.1.4](https://www.rfc-editor.org/rfc/rfc7519#section-4.1.4)). Default
    /// 30 s; values above 300 s are taken as 300 s.
    #[must_use]
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway.min(MAX_LEEWAY);
        self
    }

    /// Refuses JWTs whose `iat` is older than `max_age` (and then requires `iat`).
    #[must_use]
    pub fn max_age(mut self, max_age: Duration) -> Self {
        self.max_age = Some(max_age);
        self.required = self.required.and(Required::IAT);
        self
    }

    /// Refuses JWTs longer than `bytes` before decoding anything. Default: 8 KiB for DPoP
    /// proofs and client assertions, 16 KiB otherwise.
    #[must_use]
    pub fn max_len(mut self, bytes: usize) -> Self {
        self.max_len = bytes;
        self
    }

    /// Requires `aud` to be the expected audience alone: a JWT whose `aud` lists any other
    /// value is refused.
    #[must_use]
    pub fn sole_audience(mut self) -> Self {
        self.sole_audience = true;
        self
    }

    /// Requires a `jti` claim.
    #[must_use]
    pub fn require_jwt_id(mut self) -> Self {
        self.required = self.required.and(Required::JTI);
        self
    }

    /// The leeway in force.
    pub(crate) fn leeway_value(&self) -> Duration {
        self.leeway
    }

    /// The expected audience, if any.
    pub(crate) fn audience_value(&self) -> Option<&Arc<str>> {
        self.audience.as_ref()
    }

    /// The expected issuer, if any.
    pub(crate) fn issuer_value(&self) -> Option<&Arc<str>> {
        self.issuer.as_ref()
    }

    fn rules(&self, key_source: KeySource, hmac: bool) -> HeaderRules {
        HeaderRules {
            max_len: self.max_len,
            algorithms: self.algorithms,
            hmac,
            typ: self.jwt_use.typ_rule(),
            key_source,
        }
    }

    /// Verifies `token` with a key of `keys`, chosen by the header's `kid` and `alg`, and
    /// checks its claims at `now`.
    ///
    /// # Errors
    /// [`JwtError`] naming the first check that failed; [`JwtError::KeyInHeader`] for a
    /// DPoP proof validation (its key is in the header: use
    /// [`verify_embedded_key`](Self::verify_embedded_key)).
    pub fn verify(
        &self,
        token: &str,
        keys: &JwkSet,
        now: SystemTime,
    ) -> Result<VerifiedJwt, JwtError> {
        if self.jwt_use == JwtUse::DpopProof {
            return Err(JwtError::KeyInHeader);
        }
        let compact = jws::parse(token, &self.rules(KeySource::Trusted, false))?;
        let HeaderAlg::Signature(alg) = compact.alg else {
            return Err(JwtError::AlgorithmNotAllowed);
        };
        let key = keys.select(compact.kid.as_deref(), alg)?;
        if !key.verifies(compact.signing_input, &compact.signature) {
            return Err(JwtError::BadSignature);
        }
        self.finish(compact, Some(key.clone()), now)
    }

    /// Verifies a DPoP proof with the public `jwk` of its own header (which must be there,
    /// public, and of the header's algorithm), and checks its claims at `now`. The key is
    /// then [`VerifiedJwt::key`]; its [`thumbprint`](PublicJwk::thumbprint) is the `jkt`.
    ///
    /// # Errors
    /// [`JwtError`] naming the first check that failed; [`JwtError::KeyInHeader`] for any
    /// use but DPoP proofs.
    pub fn verify_embedded_key(
        &self,
        token: &str,
        now: SystemTime,
    ) -> Result<VerifiedJwt, JwtError> {
        if self.jwt_use != JwtUse::DpopProof {
            return Err(JwtError::KeyInHeader);
        }
        let mut compact = jws::parse(token, &self.rules(KeySource::Embedded, false))?;
        let key = compact.jwk.take().ok_or(JwtError::KeyInHeader)?;
        if !key.verifies(compact.signing_input, &compact.signature) {
            return Err(JwtError::BadSignature);
        }
        self.finish(compact, Some(key), now)
    }

    /// Verifies an HMAC client assertion (`client_secret_jwt`,
    /// [RFC 7523 §3](https://www.rfc-editor.org/rfc/rfc7523#section-3)) with the client's
    /// symmetric `key`, and checks its claims at `now`. The header's `alg` must be exactly
    /// `HS256`, `HS384` or `HS512`, and the secret at least as long as that hash's output
    /// ([RFC 7518 §3.2](https://www.rfc-editor.org/rfc/rfc7518#section-3.2)); no asymmetric
    /// algorithm is accepted on this path, and no other path accepts HMAC.
    ///
    /// # Errors
    /// [`JwtError`] naming the first check that failed;
    /// [`JwtError::AlgorithmNotAllowed`] for any use but client assertions, and for an
    /// algorithm whose hash is longer than the secret.
    pub fn verify_hmac(
        &self,
        token: &str,
        key: &HmacKey,
        now: SystemTime,
    ) -> Result<VerifiedJwt, JwtError> {
        if self.jwt_use != JwtUse::ClientAssertion {
            return Err(JwtError::AlgorithmNotAllowed);
        }
        let rules = HeaderRules {
            algorithms: AlgorithmSet::EMPTY,
            ..self.rules(KeySource::Trusted, true)
        };
        let compact = jws::parse(token, &rules)?;
        let HeaderAlg::Hmac(alg) = compact.alg else {
            return Err(JwtError::AlgorithmNotAllowed);
        };
        if !key.verifies(alg, compact.signing_input, &compact.signature)? {
            return Err(JwtError::BadSignature);
        }
        self.finish(compact, None, now)
    }

    /// Decodes and checks the claims of a JWT whose signature verified.
    fn finish(
        &self,
        compact: Compact<'_>,
        key: Option<PublicJwk>,
        now: SystemTime,
    ) -> Result<VerifiedJwt, JwtError> {
        let payload = b64::decode(compact.payload).ok_or(JwtError::Malformed)?;
        let claims = json::parse_object(&payload).ok_or(JwtError::InvalidClaims)?;
        let claims = Claims::from_object(claims)?;
        self.check_claims(&claims, now)?;
        Ok(VerifiedJwt {
            algorithm: compact.alg.name(),
            kid: compact.kid,
            typ: compact.typ,
            key,
            claims,
        })
    }

    /// The claim checks, in order: presence, times, issuer, audience, subject.
    pub(crate) fn check_claims(&self, claims: &Claims, now: SystemTime) -> Result<(), JwtError> {
        for (bit, present, name) in [
            (Required::ISS, claims.issuer().is_some(), "iss"),
            (Required::SUB, claims.subject().is_some(), "sub"),
            (Required::AUD, !claims.audience().is_empty(), "aud"),
            (Required::EXP, claims.expires_at().is_some(), "exp"),
            (Required::IAT, claims.issued_at().is_some(), "iat"),
            (Required::JTI, claims.jwt_id().is_some(), "jti"),
        ] {
            if self.required.has(bit) && !present {
                return Err(JwtError::MissingClaim(name));
            }
        }
        check_times(claims, now, self.leeway, self.max_age, !self.accept_expired)?;
        if self
            .issuer
            .as_deref()
            .is_some_and(|issuer| claims.issuer() != Some(issuer))
        {
            return Err(JwtError::WrongIssuer);
        }
        if let Some(audience) = &self.audience {
            let audiences = claims.audience();
            let ok = if self.sole_audience {
                audiences.len() == 1 && audiences[0] == **audience
            } else {
                audiences.iter().any(|a| **a == **audience)
            };
            if !ok {
                return Err(JwtError::WrongAudience);
            }
        }
        if self
            .subject
            .as_deref()
            .is_some_and(|subject| claims.subject() != Some(subject))
        {
            return Err(JwtError::WrongSubject);
        }
        Ok(())
    }
}

/// `exp`, `nbf` and `iat` against `now` with `leeway`
/// ([RFC 7519 §4.1.4–4.1.6](https://www.rfc-editor.org/rfc/rfc7519#section-4.1.4)), and
/// the maximum age. `exp` is checked only when `check_expiry` says so.
pub(crate) fn check_times(
    claims: &Claims,
    now: SystemTime,
    leeway: Duration,
    max_age: Option<Duration>,
    check_expiry: bool,
) -> Result<(), JwtError> {
    let late_now = now.checked_add(leeway).unwrap_or(now);
    let expired = |exp: SystemTime| exp.checked_add(leeway).is_some_and(|limit| now >= limit);
    if check_expiry && claims.expires_at().is_some_and(expired) {
        return Err(JwtError::Expired);
    }
    if claims.not_before().is_some_and(|nbf| nbf > late_now) {
        return Err(JwtError::NotYetValid);
    }
    if let Some(iat) = claims.issued_at() {
        if iat > late_now {
            return Err(JwtError::IssuedInFuture);
        }
        let too_old = |max_age: Duration| now.duration_since(iat).is_ok_and(|age| age > max_age);
        if max_age.is_some_and(too_old) {
            return Err(JwtError::TooOld);
        }
    }
    Ok(())
}

/// A JWT whose signature verified and whose claims passed the checks of its use.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct VerifiedJwt {
    algorithm: &'static str,
    kid: Option<String>,
    typ: Option<String>,
    key: Option<PublicJwk>,
    claims: Claims,
}

impl VerifiedJwt {
    /// The header's `alg`.
    pub fn algorithm(&self) -> &'static str {
        self.algorithm
    }

    /// The header's `kid`, if any.
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// The header's `typ`, if any, as written.
    pub fn typ(&self) -> Option<&str> {
        self.typ.as_deref()
    }

    /// The public key that verified the signature (`None` for HS256).
    pub fn key(&self) -> Option<&PublicJwk> {
        self.key.as_ref()
    }

    /// The claims set.
    pub fn claims(&self) -> &Claims {
        &self.claims
    }

    /// The claims set, by value.
    pub fn into_claims(self) -> Claims {
        self.claims
    }
}

/// The `iss` claim of a client assertion before any verification, to find the client whose
/// keys will verify it: `None` unless `token` is within the assertion size limit, has three
/// segments and a strict JSON claims set with a string `iss`. Nothing read here is trusted;
/// the verification that follows checks `iss` again.
pub(crate) fn unverified_assertion_issuer(token: &str) -> Option<String> {
    if token.len() > JwtUse::ClientAssertion.max_len() {
        return None;
    }
    let mut segments = token.split('.');
    let (_, payload, _) = (segments.next()?, segments.next()?, segments.next()?);
    if segments.next().is_some() {
        return None;
    }
    let claims = json::parse_object(&b64::decode(payload)?)?;
    match claims.get("iss") {
        Some(serde_json::Value::String(iss)) => Some(iss.clone()),
        _ => None,
    }
}
