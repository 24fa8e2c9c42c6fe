//! The guard on the offline verifier (feature `jwt`): JWT access tokens checked with the
//! authorization server's published keys
//! ([RFC 9068 §4](https://www.rfc-editor.org/rfc/rfc9068#section-4)), which the guard keeps
//! fresh through a [`JwksSource`].

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::{BearerGuard, Observer, TokenInfo, Tokens};
use crate::clock::SystemClock;
use crate::config::UrlSchemes;
use crate::error::{ConfigError, Error, StorageError};
use crate::jose::{AccessTokenVerifier, JwkSet, JwksSource, Validation, VerifiedAccessToken};
use crate::observe::Events;
use crate::params::FormLimits;
use crate::render::is_error_char;
use crate::server::Server;
use crate::types::{ResourceUri, Resources};

/// The shortest time a fetched JWK Set is kept before it is fetched again, whatever its
/// `max-age` says: a source answering `max-age=0` must not be asked on every request.
const MIN_KEYS_AGE: Duration = Duration::from_secs(60);
/// The longest, so a removed key's tokens fail within a day at the latest.
const MAX_KEYS_AGE: Duration = Duration::from_secs(86_400);
/// How long after a failed refresh the next one is tried.
const RETRY_AFTER: Duration = Duration::from_secs(60);

/// What an offline guard holds: the verifier (its keys and its cache of verified tokens),
/// where to fetch the keys again, and when.
#[derive(Debug)]
pub(super) struct OfflineTokens {
    verifier: AccessTokenVerifier,
    /// The verifier's audience as a resource, what a token's [`TokenInfo`] reports when
    /// the guard names no resource of its own; empty if it is not a resource identifier.
    audience: Resources,
    source: Option<Arc<dyn JwksSource>>,
    /// When the keys are to be fetched again, in seconds since the epoch: 0 at the first
    /// check.
    refresh_after: AtomicU64,
    /// Whether a check is fetching the keys because they aged: the others go on with the
    /// keys they have.
    refreshing: AtomicBool,
}

impl OfflineTokens {
    fn new(verifier: AccessTokenVerifier, source: Option<Arc<dyn JwksSource>>) -> Self {
        let audience = verifier
            .audience()
            .and_then(|aud| ResourceUri::parse(aud).ok())
            .map_or_else(Resources::empty, Resources::one);
        Self {
            verifier,
            audience,
            source,
            refresh_after: AtomicU64::new(0),
            refreshing: AtomicBool::new(false),
        }
    }

    /// Verifies `token` at `now`: `Ok(None)` for any JWT failure ([RFC 9068 §4]: all of them are
    /// `invalid_token`), and for a token whose `aud` lacks the guard's own `resource` when
    /// one is set. `Err` only when the source failed to fetch the keys a token needs.
    ///
    /// [RFC 9068 §4]: https://www.rfc-editor.org/rfc/rfc9068#section-4
    pub(super) async fn check(
        &self,
        token: &str,
        resource: &Resources,
        now: SystemTime,
    ) -> Result<Option<TokenInfo>, StorageError> {
        if let Some(source) = &self.source {
            if seconds(now) >= self.refresh_after.load(Ordering::Acquire) {
                self.refresh(&**source, now).await;
            }
        }
        let verified = match self.verifier.verify(token, now) {
            Ok(verified) => verified,
            // A key the guard does not know yet: the authorization server may have
            // rotated. Ask the source again, at most once a minute (JW-20).
            Err(error) if error.is_unknown_key() => match &self.source {
                Some(source) if self.verifier.refetch_due(now) => {
                    self.fetch(&**source, now).await?;
                    match self.verifier.verify(token, now) {
                        Ok(verified) => verified,
                        Err(_) => return Ok(None),
                    }
                }
                _ => return Ok(None),
            },
            Err(_) => return Ok(None),
        };
        let audience = match resource.as_slice().first() {
            Some(mine) if !verified.audience.iter().any(|aud| **aud == *mine.as_str()) => {
                return Ok(None);
            }
            Some(_) => resource.clone(),
            None => self.audience.clone(),
        };
        Ok(Some(token_info(verified, audience)))
    }

    /// Fetches the keys because they aged, unless another check is at it. A failure keeps
    /// the keys in use, and the next try comes a minute later.
    async fn refresh(&self, source: &dyn JwksSource, now: SystemTime) {
        if self.refreshing.swap(true, Ordering::AcqRel) {
            return;
        }
        // Cleared however this future ends, even dropped half-way.
        let _busy = ClearOnDrop(&self.refreshing);
        if self.fetch(source, now).await.is_err() {
            self.refresh_after
                .store(seconds(now) + RETRY_AFTER.as_secs(), Ordering::Release);
        }
    }

    /// Fetches and parses the keys, hands them to the verifier (which empties its cache
    /// when they changed), and schedules the next fetch after the document's `max-age`.
    async fn fetch(&self, source: &dyn JwksSource, now: SystemTime) -> Result<(), StorageError> {
        let document = source.fetch(now).await?;
        let keys = JwkSet::parse(&document.body).map_err(StorageError::new)?;
        self.verifier.replace_keys(keys, now);
        let age = document.max_age.clamp(MIN_KEYS_AGE, MAX_KEYS_AGE);
        self.refresh_after
            .store(seconds(now) + age.as_secs(), Ordering::Release);
        Ok(())
    }
}

/// Resets a flag when dropped.
struct ClearOnDrop<'a>(&'a AtomicBool);

impl Drop for ClearOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

/// Seconds since the Unix epoch; times before it count as 0.
fn seconds(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// What the guard reports of a verified token. A token whose `sub` is its `client_id` was
/// issued to the client for itself (client credentials, [RFC 9068
/// §2.2](https://www.rfc-editor.org/rfc/rfc9068#section-2.2)): it has no resource owner.
/// The server never signs a token for a resource owner whose subject is the client's id,
/// so the two cannot be confused.
fn token_info(verified: Arc<VerifiedAccessToken>, audience: Resources) -> TokenInfo {
    let subject = (verified.subject.as_str() != verified.client_id.as_str())
        .then(|| verified.subject.clone());
    TokenInfo {
        client_id: verified.client_id.clone(),
        subject,
        scope: verified.scope.clone(),
        issued_at: verified.issued_at,
        expires_at: verified.expires_at,
        grant_id: None,
        audience,
        act: verified
            .claims
            .get("act")
            .and_then(crate::types::Actor::from_claim),
        // RFC 9449 §6.1: the key the token is bound to.
        dpop_jkt: verified
            .claims
            .get("cnf")
            .and_then(|cnf| cnf.get("jkt"))
            .and_then(serde_json::Value::as_str)
            .map(str::to_owned),
        jwt: Some(verified),
    }
}

impl BearerGuard {
    /// A guard that verifies JWT access tokens offline
    /// ([RFC 9068 §4](https://www.rfc-editor.org/rfc/rfc9068#section-4)), for a resource
    /// server anywhere: `verifier` holds the expected issuer and this resource server's
    /// audience, the authorization server's keys and a cache of verified tokens, so a
    /// repeated token costs no signature check.
    ///
    /// With a `source`, the guard fetches the keys again when its copy is older than the
    /// document's `max-age` (within 1 minute..1 day; the first check fetches), and when a
    /// token names an unknown `kid`, at most once a minute. Without one, the keys are the
    /// verifier's, which the host may replace
    /// ([`AccessTokenVerifier::replace_keys`]).
    ///
    /// Any failure of the JWT (signature, `typ`, `iss`, `aud`, lifetime, format) is a 401
    /// `invalid_token`; a missing scope is a 403 `insufficient_scope`
    /// ([RFC 6750 §3.1](https://www.rfc-editor.org/rfc/rfc6750#section-3.1)). The realm
    /// defaults to the verifier's audience, when it is a valid realm. The clock is the
    /// system's ([`clock`](Self::clock) replaces it). A [`resource`](Self::resource)
    /// identifier is an `https` URL, or also `http` when the verifier's issuer is one; the
    /// [published metadata](Self::publish_metadata) names the verifier's issuer as the
    /// authorization server.
    ///
    /// Opaque tokens fail here: a resource server that meets both formats asks the token
    /// store ([`Server::bearer_guard`]) or introspection for the others.
    ///
    /// ```
    /// # fn block_on<F: std::future::Future>(f: F) -> F::Output {
    /// #     let mut f = std::pin::pin!(f);
    /// #     let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    /// #     loop { if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) { return v; } }
    /// # }
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> { block_on(async {
    /// use std::time::{Duration, SystemTime};
    /// use grantflow::guard::BearerGuard;
    /// use grantflow::jose::{AccessTokenVerifier, JwkSet, Validation};
    /// use grantflow::{HttpRequest, Method, Scope, Status};
    ///
    /// // The JWKS the resource server fetched from the authorization server at startup.
    /// let jwks = JwkSet::parse(br#"{"keys":[]}"#)?;
    /// let verifier = AccessTokenVerifier::new(
    ///     Validation::access_token("https://as.example.com", "https://api.example.com"),
    ///     jwks,
    /// )?;
    /// let guard = BearerGuard::jwt(verifier, None);
    ///
    /// let request = HttpRequest::new(Method::Get).with_header("authorization", "Bearer e30.e30.c2ln");
    /// let refused = guard.check(&request, &Scope::parse("read")?).await.unwrap_err();
    /// let response = refused.into_response();
    /// assert_eq!(response.status, Status::UNAUTHORIZED);
    /// assert!(response.header("www-authenticate").unwrap().contains("error=\"invalid_token\""));
    /// # Ok(()) }) }
    /// ```
    pub fn jwt(verifier: AccessTokenVerifier, source: Option<Arc<dyn JwksSource>>) -> Self {
        let realm = verifier
            .audience()
            .filter(|aud| !aud.is_empty() && aud.chars().all(is_error_char))
            .map_or_else(|| Arc::from("api"), Arc::clone);
        let issuer = verifier.issuer().cloned();
        // A development deployment whose authorization server is on `http` may have its
        // resources there too, as the server itself allows with `allow_http_issuer`.
        let schemes = if issuer.as_deref().is_some_and(|i| i.starts_with("http://")) {
            UrlSchemes::HttpAllowed
        } else {
            UrlSchemes::HttpsOnly
        };
        Self {
            observer: Observer::Alone(Arc::new(Events::standalone())),
            tokens: Tokens::Offline(Arc::new(OfflineTokens::new(verifier, source))),
            clock: Arc::new(SystemClock),
            realm,
            issuer,
            schemes,
            resource: Resources::empty(),
            form_body: false,
            form_limits: FormLimits::default(),
            metadata: None,
            #[cfg(feature = "dpop")]
            dpop: None,
        }
    }
}

impl Server {
    /// A [`BearerGuard`] that verifies this server's JWT access tokens offline, for the
    /// resource server `audience` in this process: with the server's own published keys
    /// (its [`signing_keys`](crate::ServerBuilder::signing_keys)), fetched now and again
    /// after the JWK Set's `max-age` or when a token names a key not seen yet, and with a
    /// cache of verified tokens; the server's clock, realm and form limits. The token store
    /// is never asked: see [`BearerGuard::jwt`]. To publish the resource's metadata, name
    /// the same identifier with [`BearerGuard::resource`] too.
    ///
    /// # Errors
    /// [`Error::Config`] when the server has no signing keys; [`Error::Storage`] when the
    /// keys could not be read.
    pub async fn jwt_bearer_guard(&self, audience: &str) -> Result<BearerGuard, Error> {
        let Some(keys) = &self.config().jwt.keys else {
            return Err(ConfigError::Setting(
                "the server has no signing keys (ServerBuilder::signing_keys)",
            )
            .into());
        };
        let verifier = AccessTokenVerifier::new(
            Validation::access_token(self.issuer(), audience),
            JwkSet::default(),
        )?;
        let source: Arc<dyn JwksSource> = Arc::new(keys.clone());
        let offline = OfflineTokens::new(verifier, Some(Arc::clone(&source)));
        offline.fetch(&*source, self.now()).await?;
        Ok(BearerGuard::with_tokens(
            Tokens::Offline(Arc::new(offline)),
            self,
        ))
    }
}
