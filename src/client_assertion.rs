//! Client authentication with signed JWTs
//! ([RFC 7523 §2.2 and §3](https://www.rfc-editor.org/rfc/rfc7523#section-3), OpenID Connect
//! Core §9): `private_key_jwt` and `client_secret_jwt`, one step of the one client
//! authentication ([`client_auth`](crate::client_auth)).
//!
//! Rules, in order: the client is registered for the method; the signature verifies with
//! the client's registered key and algorithm (asymmetric for `private_key_jwt`, HS256,
//! HS384 or HS512 with the secret for `client_secret_jwt`, never `none`); `iss` and `sub` are the client, the
//! issuer identifier is the sole audience (draft-ietf-oauth-rfc7523bis §4); `exp` is
//! required, the assertion lives at most five minutes and is at most five minutes old; the
//! `jti` is required, at most 256 characters, and accepted once until `exp` plus the
//! leeway, in the server's shared [`SingleUseStore`].

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use crate::error::Rejection;
use crate::fetch::{FetchRequest, Fetcher, check_response, freshness};
use crate::jose::{AlgorithmSet, JwkSet, JwtError, Validation, VerifiedJwt};
use crate::store::{Consumption, SingleUseKind, SingleUseStore};
use crate::types::{AuthMethod, Client};

/// The one accepted `client_assertion_type`
/// ([RFC 7523 §2.2](https://www.rfc-editor.org/rfc/rfc7523#section-2.2)).
pub(crate) const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// The longest life (`exp` − `iat`, or `exp` − now without `iat`) and the greatest age of an
/// assertion.
const MAX_LIFETIME: Duration = Duration::from_secs(300);

/// The longest `jti` accepted.
const MAX_JTI: usize = 256;

/// The clock leeway for `exp`, `nbf` and `iat`, and how long past `exp` a `jti` stays
/// recorded.
const LEEWAY: Duration = Duration::from_secs(30);

/// Why an assertion was refused: a category for `error_description`, never a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AssertionFailure {
    /// The client is not registered for a JWT method, or the method is off.
    Method,
    /// A JOSE or claim check failed.
    Jwt(JwtError),
    /// The assertion lives too long or is too old.
    Lifetime,
    /// The `jti` is too long.
    JwtId,
    /// The `jti` was used before.
    Replayed,
}

impl AssertionFailure {
    /// The `error_description`.
    pub(crate) fn description(self) -> &'static str {
        match self {
            Self::Method => "client authentication failed",
            Self::Jwt(JwtError::Expired) => "client assertion expired",
            Self::Jwt(JwtError::WrongAudience) => "client assertion audience is not the issuer",
            Self::Jwt(JwtError::BadSignature | JwtError::UnknownKey | JwtError::KeyMismatch) => {
                "client assertion signature does not verify"
            }
            Self::Jwt(JwtError::AlgorithmNotAllowed) => "client assertion algorithm not allowed",
            Self::Jwt(_) => "client assertion invalid",
            Self::Lifetime => "client assertion lifetime too long",
            Self::JwtId => "client assertion jti invalid",
            Self::Replayed => "client assertion already used",
        }
    }
}

/// What checking an assertion needs from the server.
pub(crate) struct AssertionCheck<'a> {
    /// The issuer identifier: the one accepted audience.
    pub(crate) issuer: &'a str,
    /// The server's algorithms for `private_key_jwt` (the client's registered one must be
    /// among them).
    pub(crate) algorithms: AlgorithmSet,
    pub(crate) now: SystemTime,
}

impl AssertionCheck<'_> {
    /// Verifies the signature and the claims of `assertion` for `client`, whose method the
    /// caller found enabled (the part that the attempt limiter counts): `Ok` with the
    /// verified JWT, or why it failed.
    pub(crate) fn verify(
        &self,
        client: &Client,
        assertion: &str,
        remote: Option<&JwkSet>,
    ) -> Result<VerifiedJwt, AssertionFailure> {
        let keys = client.keys();
        let validation = Validation::client_assertion(client.id(), self.issuer)
            .sole_audience()
            .leeway(LEEWAY);
        let verified = match client.auth_method() {
            AuthMethod::PrivateKeyJwt => {
                let jwks = keys
                    .jwks
                    .as_ref()
                    .or(remote)
                    .ok_or(AssertionFailure::Method)?;
                let algorithms = self.algorithms.restricted_to(keys.signing_alg);
                validation
                    .algorithms(algorithms)
                    .verify(assertion, jwks, self.now)
            }
            AuthMethod::ClientSecretJwt => {
                let key = keys.hmac.as_ref().ok_or(AssertionFailure::Method)?;
                validation.verify_hmac(assertion, key, self.now)
            }
            _ => return Err(AssertionFailure::Method),
        }
        .map_err(AssertionFailure::Jwt)?;
        let claims = verified.claims();
        let exp = claims
            .expires_at()
            .ok_or(AssertionFailure::Jwt(JwtError::MissingClaim("exp")))?;
        let start = match claims.issued_at() {
            Some(iat) => {
                if self.now.duration_since(iat).unwrap_or_default() > MAX_LIFETIME {
                    return Err(AssertionFailure::Lifetime);
                }
                iat
            }
            None => self.now,
        };
        if exp.duration_since(start).unwrap_or_default() > MAX_LIFETIME {
            return Err(AssertionFailure::Lifetime);
        }
        match claims.jwt_id() {
            Some(jti) if !jti.is_empty() && jti.len() <= MAX_JTI => Ok(verified),
            _ => Err(AssertionFailure::JwtId),
        }
    }

    /// Records the verified assertion's `jti` for `client` until `exp` plus the leeway:
    /// `Ok(false)` when it was used before.
    pub(crate) async fn consume(
        &self,
        store: &dyn SingleUseStore,
        client: &Client,
        verified: &VerifiedJwt,
    ) -> Result<bool, Rejection> {
        let claims = verified.claims();
        let (Some(jti), Some(exp)) = (claims.jwt_id(), claims.expires_at()) else {
            return Ok(false);
        };
        let key = SingleUseKind::ClientAssertion.key(client.id().as_str(), jti);
        let consumed = store.consume(&key, exp + LEEWAY, self.now).await?;
        Ok(consumed == Consumption::First)
    }
}

/// Where the public keys of clients registered with a `jwks_uri` come from: the host's
/// fetcher and the cache of fetched sets.
pub(crate) type RemoteSource<'a> = Option<(&'a dyn Fetcher, &'a RemoteKeys)>;

/// Runs `verify` (a JWT check by `client`'s registered public keys) with the right key
/// set: `None` for a client whose keys are inline (`jwks`), or without a fetcher; else the
/// set of its `jwks_uri`, from the cache while fresh. When the check fails because the
/// JWT names a key the cached set lacks (`unknown_key`), the set is fetched again (at most
/// once a minute per URL) and the check runs once more, so that clients can rotate keys
/// ([RFC 7591 §2](https://www.rfc-editor.org/rfc/rfc7591#section-2)).
pub(crate) async fn verify_with_client_keys<T, E>(
    client: &Client,
    remote: RemoteSource<'_>,
    now: SystemTime,
    verify: impl Fn(Option<&JwkSet>) -> Result<T, E>,
    unknown_key: impl Fn(&E) -> bool,
) -> Result<T, E> {
    let (Some(uri), Some((fetcher, cache))) = (client.jwks_uri(), remote) else {
        return verify(None);
    };
    let keys = cache.keys(fetcher, uri, now, false).await;
    match verify(keys.as_ref()) {
        Err(failure) if unknown_key(&failure) => {
            let keys = cache.keys(fetcher, uri, now, true).await;
            verify(keys.as_ref())
        }
        other => other,
    }
}

/// The largest client key set fetched, in bytes (the JWK Set parser's own limit).
const MAX_REMOTE_JWKS_BYTES: usize = 64 * 1024;
/// The shortest time a fetched key set is kept, and the least time between two fetches
/// of one URL.
const REMOTE_KEYS_FLOOR: Duration = Duration::from_secs(60);
/// The longest time a fetched key set is kept.
const REMOTE_KEYS_CEILING: Duration = Duration::from_secs(86_400);
/// The most key sets kept at once.
const REMOTE_KEYS_CAPACITY: usize = 1024;

/// A key set fetched from a `jwks_uri`.
#[derive(Debug)]
struct RemoteSet {
    keys: JwkSet,
    until: SystemTime,
    fetched: SystemTime,
}

/// The key sets of clients registered with a `jwks_uri`
/// ([RFC 7591 §2](https://www.rfc-editor.org/rfc/rfc7591#section-2)), fetched through the
/// host's fetcher and kept within their HTTP freshness (1 minute to 1 day). A URL is
/// fetched at most once a minute, whatever assertions name, and a failed fetch keeps
/// nothing (an expired set is not used).
#[derive(Debug, Default)]
pub(crate) struct RemoteKeys {
    sets: Mutex<HashMap<Box<str>, RemoteSet>>,
}

impl RemoteKeys {
    /// The key set of `uri`: the cached one while fresh, unless `refresh` asks for a new
    /// copy (a key the cached set lacks) and the last fetch is a minute old; else fetched.
    pub(crate) async fn keys(
        &self,
        fetcher: &dyn Fetcher,
        uri: &str,
        now: SystemTime,
        refresh: bool,
    ) -> Option<JwkSet> {
        let cached = self.sets.lock().ok().and_then(|sets| {
            sets.get(uri).map(|set| {
                let fresh = set.until > now;
                let recent = now
                    .duration_since(set.fetched)
                    .map_or(true, |age| age < REMOTE_KEYS_FLOOR);
                (fresh.then(|| set.keys.clone()), recent)
            })
        });
        let fallback = match cached {
            Some((Some(keys), recent)) if !refresh || recent => return Some(keys),
            Some((keys, _)) => keys,
            None => None,
        };
        match self.fetch(fetcher, uri, now).await {
            Some(keys) => Some(keys),
            // A failed refetch leaves the fresh set in use.
            None => fallback,
        }
    }

    async fn fetch(&self, fetcher: &dyn Fetcher, uri: &str, now: SystemTime) -> Option<JwkSet> {
        let request = FetchRequest::new(uri, MAX_REMOTE_JWKS_BYTES).ok()?;
        let response = fetcher.fetch(&request).await.ok()?;
        check_response(&response, MAX_REMOTE_JWKS_BYTES).ok()?;
        let keys = JwkSet::parse(response.body()).ok()?;
        let until =
            now.checked_add(freshness(&response, REMOTE_KEYS_FLOOR, REMOTE_KEYS_CEILING))?;
        if let Ok(mut sets) = self.sets.lock() {
            if sets.len() >= REMOTE_KEYS_CAPACITY && !sets.contains_key(uri) {
                sets.retain(|_, set| set.until > now);
                if sets.len() >= REMOTE_KEYS_CAPACITY {
                    sets.clear();
                }
            }
            sets.insert(
                uri.into(),
                RemoteSet {
                    keys: keys.clone(),
                    until,
                    fetched: now,
                },
            );
        }
        Some(keys)
    }
}
