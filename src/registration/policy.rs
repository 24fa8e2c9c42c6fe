//! Who may register a client: the host's [`RegistrationPolicy`], and the two common ones,
//! [`OpenRegistration`] (rate limited) and [`InitialAccessTokens`].

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use subtle::ConstantTimeEq as _;

use super::ClientMetadata;
use crate::error::StorageError;
use crate::http::HttpRequest;
use crate::limiter::{AttemptKey, AttemptLimiter, Outcome, Throttle};
use crate::secret::TokenHash;
use crate::types::ClientId;

/// Decides whether a registration (or an update of one) goes ahead
/// ([RFC 7591 §3](https://www.rfc-editor.org/rfc/rfc7591#section-3): the server may
/// require an initial access token, or accept open registration and limit it,
/// [RFC 7591 §5](https://www.rfc-editor.org/rfc/rfc7591#section-5)). It sees the request,
/// its initial access token if any, and the metadata after validation, so it can also
/// restrict what a client may register (only some scopes, only some redirect hosts, a
/// suspicious `software_id`).
///
/// [`OpenRegistration`] and [`InitialAccessTokens`] are the two common policies; write
/// one for anything else.
///
/// ```
/// use async_trait::async_trait;
/// use grantflow::StorageError;
/// use grantflow::registration::{Admission, AdmissionRequest, RegistrationPolicy};
///
/// /// Registrations only for redirect URIs on our own domain.
/// #[derive(Debug)]
/// struct OwnDomain;
///
/// #[async_trait]
/// impl RegistrationPolicy for OwnDomain {
///     async fn admit(&self, request: &AdmissionRequest<'_>) -> Result<Admission, StorageError> {
///         let own = request.metadata().redirect_uris().iter()
///             .all(|uri| uri.as_str().starts_with("https://apps.example.com/"));
///         Ok(if own { Admission::Admit } else { Admission::Refuse("redirect URIs must be on apps.example.com") })
///     }
/// }
/// ```
#[async_trait]
pub trait RegistrationPolicy: Send + Sync + fmt::Debug {
    /// Whether `request` may register (or, when
    /// [`updating`](AdmissionRequest::updating) names a client, update) its metadata.
    ///
    /// # Errors
    /// [`StorageError`] when the decision could not be made (a backend of the host's);
    /// the client sees `server_error` or `temporarily_unavailable`.
    async fn admit(&self, request: &AdmissionRequest<'_>) -> Result<Admission, StorageError>;
}

/// What a [`RegistrationPolicy`] looks at. `Debug` leaves out the initial access token.
pub struct AdmissionRequest<'a> {
    pub(crate) http: &'a HttpRequest,
    pub(crate) initial_access_token: Option<&'a str>,
    pub(crate) metadata: &'a ClientMetadata,
    pub(crate) updating: Option<&'a ClientId>,
    pub(crate) now: SystemTime,
}

impl AdmissionRequest<'_> {
    /// The HTTP request, for what the host's adapter put in its headers (a client
    /// address, an authenticated caller).
    pub fn http(&self) -> &HttpRequest {
        self.http
    }

    /// The `Bearer` token of a registration request, its initial access token
    /// ([RFC 7591 §3](https://www.rfc-editor.org/rfc/rfc7591#section-3)); `None` on
    /// updates, which carry the client's registration access token instead.
    ///
    /// # Security
    /// A credential: compare its digest in constant time, never log it.
    pub fn initial_access_token(&self) -> Option<&str> {
        self.initial_access_token
    }

    /// The validated metadata.
    pub fn metadata(&self) -> &ClientMetadata {
        self.metadata
    }

    /// The client whose registration is being updated
    /// ([RFC 7592 §2.2](https://www.rfc-editor.org/rfc/rfc7592#section-2.2)), or `None`
    /// for a new registration.
    pub fn updating(&self) -> Option<&ClientId> {
        self.updating
    }

    /// The time of the request.
    pub fn now(&self) -> SystemTime {
        self.now
    }
}

impl fmt::Debug for AdmissionRequest<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AdmissionRequest")
            .field(
                "initial_access_token",
                &self.initial_access_token.map(|_| "<redacted>"),
            )
            .field("updating", &self.updating)
            .field("now", &self.now)
            .finish_non_exhaustive()
    }
}

/// A [`RegistrationPolicy`]'s decision.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Admission {
    /// Go ahead.
    Admit,
    /// 401 with a `Bearer` challenge
    /// ([RFC 6750 §3.1](https://www.rfc-editor.org/rfc/rfc6750#section-3.1)): without an
    /// error code when no initial access token was presented, with `invalid_token` when
    /// the one presented is not valid.
    Unauthorized,
    /// 400 `invalid_client_metadata` with this description (printable ASCII): the policy
    /// does not accept this metadata.
    Refuse(&'static str),
    /// 429 with `Retry-After`: too many registrations.
    Throttle {
        /// When registrations are accepted again.
        retry_after: Duration,
    },
}

/// Open registration
/// ([RFC 7591 §3](https://www.rfc-editor.org/rfc/rfc7591#section-3)), limited: every
/// registration counts as an attempt in an [`AttemptLimiter`], and once its limit is reached
/// within its window, registrations get 429 until the window ends
/// ([RFC 7591 §5](https://www.rfc-editor.org/rfc/rfc7591#section-5)). Updates of existing
/// registrations are not counted.
///
/// By default every registration counts against one key, so the limit is the server's rate;
/// [`per_source`](Self::per_source) counts per value of a request header instead (one the
/// host's adapter or proxy sets to the client's address, never one a client can choose).
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
/// use grantflow::limiter::MemoryAttemptLimiter;
/// use grantflow::registration::OpenRegistration;
///
/// // 20 registrations per address per hour.
/// let policy = OpenRegistration::new(Arc::new(MemoryAttemptLimiter::new(20, Duration::from_secs(3600))))
///     .per_source("x-client-address");
/// # let _ = policy;
/// ```
#[derive(Debug)]
pub struct OpenRegistration {
    limiter: Arc<dyn AttemptLimiter>,
    source: Option<&'static str>,
}

impl OpenRegistration {
    /// Open registration, limited by `limiter` (its `max_attempts` per window).
    pub fn new(limiter: Arc<dyn AttemptLimiter>) -> Self {
        Self {
            limiter,
            source: None,
        }
    }

    /// Counts registrations per value of the request header `header` (lower case); a
    /// request without it counts against one shared key.
    #[must_use]
    pub fn per_source(mut self, header: &'static str) -> Self {
        self.source = Some(header);
        self
    }
}

#[async_trait]
impl RegistrationPolicy for OpenRegistration {
    async fn admit(&self, request: &AdmissionRequest<'_>) -> Result<Admission, StorageError> {
        if request.updating.is_some() {
            return Ok(Admission::Admit);
        }
        let source = self
            .source
            .and_then(|name| request.http.header(name))
            .unwrap_or("*");
        let key = AttemptKey::custom("registration", source);
        // Every registration is counted: `Failure` is the outcome the limiter counts.
        Ok(
            match self
                .limiter
                .record(&key, Outcome::Failure, request.now)
                .await?
            {
                Throttle::Allow => Admission::Admit,
                Throttle::Deny { retry_after } => Admission::Throttle { retry_after },
            },
        )
    }
}

/// Registration with an initial access token
/// ([RFC 7591 §3](https://www.rfc-editor.org/rfc/rfc7591#section-3)): the request must
/// carry one of the configured tokens as a `Bearer` token
/// ([RFC 6750 §2.1](https://www.rfc-editor.org/rfc/rfc6750#section-2.1)). Only their
/// SHA-256 digests are kept, compared in constant time. Updates are admitted (they carry a
/// registration access token, checked by the server).
///
/// ```
/// use grantflow::registration::InitialAccessTokens;
///
/// let policy = InitialAccessTokens::new().token("a-long-random-token-given-to-developers");
/// # let _ = policy;
/// ```
#[derive(Default)]
pub struct InitialAccessTokens {
    digests: Vec<TokenHash>,
}

impl InitialAccessTokens {
    /// A policy that admits no one until tokens are added.
    pub fn new() -> Self {
        Self::default()
    }

    /// Accepts `token` (generate it with at least 128 bits of entropy).
    #[must_use]
    pub fn token(mut self, token: &str) -> Self {
        self.digests.push(TokenHash::of(token));
        self
    }
}

impl fmt::Debug for InitialAccessTokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InitialAccessTokens")
            .field("tokens", &self.digests.len())
            .finish()
    }
}

#[async_trait]
impl RegistrationPolicy for InitialAccessTokens {
    async fn admit(&self, request: &AdmissionRequest<'_>) -> Result<Admission, StorageError> {
        if request.updating.is_some() {
            return Ok(Admission::Admit);
        }
        let Some(token) = request.initial_access_token else {
            return Ok(Admission::Unauthorized);
        };
        let presented = TokenHash::of(token);
        // Every digest is compared, so the time does not say which one matched.
        let matched = self.digests.iter().fold(0u8, |found, digest| {
            found | presented.as_bytes().ct_eq(digest.as_bytes()).unwrap_u8()
        });
        Ok(if matched == 1 {
            Admission::Admit
        } else {
            Admission::Unauthorized
        })
    }
}
