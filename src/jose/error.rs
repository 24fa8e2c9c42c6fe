//! The JOSE layer's errors. Each names the check that failed and nothing else: never the
//! token, a claim value, a `kid` or key material
//! ([RFC 7517 §9.2](https://www.rfc-editor.org/rfc/rfc7517#section-9.2)).

/// Why a JWT was refused.
///
/// The variants are the checks of the JWS and JWT layers in the order they run. Map them to
/// the use's protocol error (`invalid_token`, `invalid_client`, `invalid_dpop_proof`, ...);
/// the `Display` text is safe to log and to put in an `error_description`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JwtError {
    /// The input is longer than this use allows (checked before any decoding).
    #[error("the JWT is longer than allowed")]
    TooLarge,
    /// Not a JWS in compact serialization: not three segments, a character outside
    /// base64url, padding, an empty signature.
    #[error("the JWT is not a compact JWS")]
    Malformed,
    /// The JOSE header is not one strict JSON object, or a header parameter has the wrong
    /// type.
    #[error("the JOSE header is malformed")]
    InvalidHeader,
    /// `alg` is missing or not in this use's allow-list (`none` never is).
    #[error("the signature algorithm is not allowed")]
    AlgorithmNotAllowed,
    /// The header has `crit`: no critical extension is understood.
    #[error("the JWT uses a critical header extension")]
    CriticalHeader,
    /// A nested (`cty: JWT`) or encrypted JWT: not supported.
    #[error("nested or encrypted JWTs are not supported")]
    Unsupported,
    /// `typ` does not fit this use (a token of another kind, or an untyped one where a type
    /// is required).
    #[error("the JWT type does not fit this use")]
    WrongType,
    /// The header offers a key or a place to fetch one (`jwk`, `jku`, `x5u`, `x5c`), which
    /// this use does not accept, or an embedded `jwk` that is private or malformed.
    #[error("the JWT header carries a key or key URL")]
    KeyInHeader,
    /// No key of the trusted set has this `kid` (or, without a `kid`, none fits `alg`): if
    /// the set came from a remote JWKS, it may be time to fetch it again.
    #[error("no key in the key set matches the JWT")]
    UnknownKey,
    /// Several keys fit and the header does not say which.
    #[error("several keys match the JWT")]
    AmbiguousKey,
    /// The key named by `kid` is for another algorithm than `alg`.
    #[error("the key does not fit the signature algorithm")]
    KeyMismatch,
    /// The signature does not verify.
    #[error("the signature does not verify")]
    BadSignature,
    /// The claims set is not one strict JSON object.
    #[error("the claims set is malformed")]
    InvalidClaims,
    /// A claim this use needs is absent.
    #[error("a required claim is missing: {0}")]
    MissingClaim(&'static str),
    /// A claim has the wrong JSON type or format.
    #[error("a claim is malformed: {0}")]
    InvalidClaim(&'static str),
    /// `exp` has passed (beyond the leeway).
    #[error("the JWT has expired")]
    Expired,
    /// `nbf` is still ahead (beyond the leeway).
    #[error("the JWT is not valid yet")]
    NotYetValid,
    /// `iat` is in the future (beyond the leeway).
    #[error("the JWT was issued in the future")]
    IssuedInFuture,
    /// `iat` is older than this use's maximum age.
    #[error("the JWT is too old")]
    TooOld,
    /// `iss` is not the expected issuer.
    #[error("the JWT issuer does not match")]
    WrongIssuer,
    /// `aud` does not contain the expected audience (or, where a sole audience is
    /// required, contains another one too).
    #[error("the JWT audience does not match")]
    WrongAudience,
    /// `sub` is not the expected subject.
    #[error("the JWT subject does not match")]
    WrongSubject,
}

impl JwtError {
    /// Whether the key set may be stale: the JWT names a key the set does not have. The
    /// host may fetch the issuer's JWKS again (at most once a minute,
    /// [`AccessTokenVerifier::refetch_due`](super::AccessTokenVerifier::refetch_due)).
    pub fn is_unknown_key(self) -> bool {
        matches!(self, Self::UnknownKey)
    }
}

/// Why key material was refused: a JWK, a JWK Set, a private key or an HMAC key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The input is longer than allowed (a JWK Set: 64 KiB).
    #[error("the key document is too large")]
    TooLarge,
    /// Not one strict JSON object (or, for a JWK Set, `keys` is not an array of objects).
    #[error("the key document is not valid JSON of the expected shape")]
    InvalidJson,
    /// A JWK Set with more than 100 keys.
    #[error("the JWK Set has too many keys")]
    TooManyKeys,
    /// A key type, curve or algorithm the crate does not support (skipped inside a JWK
    /// Set).
    #[error("unsupported key type, curve or algorithm")]
    Unsupported,
    /// A member the key type requires is absent (such a key is skipped inside a JWK Set).
    #[error("a required key member is missing: {0}")]
    MissingMember(&'static str),
    /// A member has the wrong type or encoding.
    #[error("a key member is malformed: {0}")]
    InvalidMember(&'static str),
    /// A public key was expected and private or symmetric members (`d`, `p`, `q`, `dp`,
    /// `dq`, `qi`, `oth`, `k`) are present.
    #[error("private key material where a public key was expected")]
    PrivateKey,
    /// An RSA key shorter than 2048 bits, or an HMAC key shorter than 32 bytes.
    #[error("the key is too short")]
    WeakKey,
    /// The key material is inconsistent: a point not on the curve, a modulus the backend
    /// refuses, a private key whose public half does not match.
    #[error("the key material is invalid")]
    InvalidKey,
    /// Two keys of a JWK Set share a `kid` and an algorithm, so a JWT could not say which
    /// one it means.
    #[error("two keys share a kid and an algorithm")]
    DuplicateKid,
    /// The key is for another algorithm than the one asked for.
    #[error("the key does not fit the algorithm")]
    WrongAlgorithm,
    /// The backend failed to generate or export a key.
    #[error("the crypto backend failed")]
    Backend,
}
