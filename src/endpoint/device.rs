//! The device authorization grant ([RFC 8628](https://www.rfc-editor.org/rfc/rfc8628)):
//! the device authorization endpoint, the host's verification side, and polling at the
//! token endpoint.
//!
//! ```text
//!  device                       grantflow                        user's browser + host
//!    | POST /device_authorization  |                                     |
//!    |---------------------------->| device_authorization               |
//!    |<-- device_code, user_code --|                                     |
//!    |    shows user_code + URI    |       host page at verification_uri |
//!    |                             |<--- device_verification(input) ----|
//!    |                             |---- PendingDeviceAuthorization --->| shows client,
//!    |                             |<---------- approve / deny ---------| scope, code
//!    | POST /token (device_code)   |                                     |
//!    |---------------------------->| authorization_pending / slow_down   |
//!    |<------ tokens, once --------|                                     |
//! ```

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::endpoint::read_token_style_form;
use crate::error::{ConfigError, Error, ErrorCode, OAuthError, StorageError};
use crate::grant::GrantHandler;
use crate::grant::device::UserCodeFormat;
use crate::grant::device::handler::DeviceCodeGrant;
use crate::grant::resolve_scope;
use crate::http::{HttpRequest, HttpResponse, Status};
use crate::limiter::{AttemptLimiter, Outcome, limited};
use crate::params::Form;
use crate::secret::{DeviceCode, TokenHash};
use crate::server::Server;
use crate::store::MemoryAttemptLimiter;
use crate::store::{
    DeviceDecision, DeviceInsert, DeviceRecord, DeviceState, DeviceStore, TokenStore,
};
use crate::types::{Client, ClientId, GrantId, GrantType, Scope, Subject};

/// How many fresh user codes a device authorization request tries before giving up on a
/// collision streak (each collision is unlikely: live codes / 20^8 with the default).
const USER_CODE_ATTEMPTS: usize = 8;

/// The device grant settings a [`ServerBuilder`](crate::ServerBuilder) collects.
#[derive(Debug)]
pub(crate) struct DeviceSettings {
    pub(crate) store: Option<Arc<dyn DeviceStore>>,
    pub(crate) code_ttl: Duration,
    pub(crate) interval: Duration,
    pub(crate) verification_uri: Option<String>,
    pub(crate) endpoint: Option<String>,
    pub(crate) user_code_format: UserCodeFormat,
    pub(crate) limiter: Arc<dyn AttemptLimiter>,
}

impl Default for DeviceSettings {
    fn default() -> Self {
        Self {
            store: None,
            code_ttl: Duration::from_secs(600),
            interval: Duration::from_secs(5),
            verification_uri: None,
            endpoint: None,
            user_code_format: UserCodeFormat::default(),
            limiter: Arc::new(MemoryAttemptLimiter::new(5, Duration::from_secs(600))),
        }
    }
}

/// The device grant configuration of a built [`Server`].
#[derive(Debug)]
pub(crate) struct DeviceConfig {
    store: Arc<dyn DeviceStore>,
    code_ttl: Duration,
    interval: Duration,
    verification_uri: String,
    pub(crate) endpoint: String,
    user_code_format: UserCodeFormat,
    limiter: Arc<dyn AttemptLimiter>,
}

impl DeviceSettings {
    /// Validates the settings. `None` when no device store was given: the grant is off.
    pub(crate) fn build(
        self,
        issuer: &str,
        allow_http: bool,
    ) -> Result<Option<DeviceConfig>, ConfigError> {
        let Some(store) = self.store else {
            return Ok(None);
        };
        if self.code_ttl < Duration::from_secs(60) || self.code_ttl > Duration::from_secs(3600) {
            return Err(ConfigError::Setting(
                "device_code_ttl must be between 60 s and 1 hour",
            ));
        }
        if self.interval < Duration::from_secs(1)
            || self.interval > Duration::from_secs(60)
            || self.interval.subsec_nanos() != 0
        {
            return Err(ConfigError::Setting(
                "device_poll_interval must be whole seconds between 1 and 60",
            ));
        }
        let base = issuer.trim_end_matches('/');
        let verification_uri = self
            .verification_uri
            .unwrap_or_else(|| format!("{base}/device"));
        validate_uri(&verification_uri, allow_http)?;
        let endpoint = self
            .endpoint
            .unwrap_or_else(|| format!("{base}/device_authorization"));
        validate_uri(&endpoint, allow_http)?;
        Ok(Some(DeviceConfig {
            store,
            code_ttl: self.code_ttl,
            interval: self.interval,
            verification_uri,
            endpoint,
            user_code_format: self.user_code_format,
            limiter: self.limiter,
        }))
    }
}

impl DeviceConfig {
    /// The token endpoint handler for the device grant.
    pub(crate) fn grant_handler(
        &self,
        tokens: Arc<dyn TokenStore>,
        revoked_for: Duration,
    ) -> Arc<dyn GrantHandler> {
        Arc::new(DeviceCodeGrant {
            store: Arc::clone(&self.store),
            tokens,
            revoked_for,
        })
    }
}

/// An absolute `https` URL (or `http` in development) with a host, no query, fragment or
/// user information. For `verification_uri` the missing query is the point of DG-12: the
/// user code goes only into `verification_uri_complete`.
fn validate_uri(uri: &str, allow_http: bool) -> Result<(), ConfigError> {
    const MESSAGE: &str =
        "device URIs must be absolute https URLs without query, fragment or user information";
    let url = url::Url::parse(uri).map_err(|_| ConfigError::Setting(MESSAGE))?;
    let scheme_ok = url.scheme() == "https" || (allow_http && url.scheme() == "http");
    if !scheme_ok
        || url.host().is_none()
        || uri.contains(['?', '#'])
        || !url.username().is_empty()
        || !uri
            .chars()
            .all(|c| c.is_ascii_graphic() && c != '"' && c != '\\')
    {
        return Err(ConfigError::Setting(MESSAGE));
    }
    Ok(())
}

/// The success body of the device authorization endpoint
/// ([RFC 8628 §3.2](https://www.rfc-editor.org/rfc/rfc8628#section-3.2), DG-02), written
/// directly: every string is known to need no JSON escaping (base64url, the user code
/// alphabet and `-`, and URIs that [`validate_uri`] limited to printable ASCII without `"`
/// or `\`), and this is the hot path of the endpoint.
fn device_authorization_json(
    device_code: &str,
    user_code: &str,
    verification_uri: &str,
    verification_uri_complete: &str,
    expires_in: u64,
    interval: u64,
) -> Vec<u8> {
    use std::fmt::Write as _;

    let mut out =
        String::with_capacity(160 + device_code.len() + 2 * verification_uri_complete.len());
    for (name, value) in [
        ("{\"device_code\":\"", device_code),
        ("\",\"user_code\":\"", user_code),
        ("\",\"verification_uri\":\"", verification_uri),
        (
            "\",\"verification_uri_complete\":\"",
            verification_uri_complete,
        ),
    ] {
        out.push_str(name);
        out.push_str(value);
    }
    // Writing integers into a String cannot fail.
    let _ = write!(
        out,
        "\",\"expires_in\":{expires_in},\"interval\":{interval}}}"
    );
    out.into_bytes()
}

impl Server {
    /// The device authorization endpoint: `POST /device_authorization`
    /// ([RFC 8628 §3.1](https://www.rfc-editor.org/rfc/rfc8628#section-3.1)).
    ///
    /// Checked in order, as at the token endpoint: POST only (else 405), no credentials in
    /// the query, a form body in UTF-8, no repeated parameter, empty values absent, unknown
    /// ones ignored (DG-01); client authentication, where a public client sends only
    /// `client_id` and a confidential one authenticates with its registered method; the
    /// client must be registered for
    /// [`GrantType::DEVICE_CODE`] (else `unauthorized_client`); the `scope` must be allowed
    /// (else `invalid_scope`; absent means the client's default scope). Errors use the
    /// token endpoint's format (DG-03).
    ///
    /// On success, 200 JSON with `device_code` (256 random bits, stored only as a digest
    /// and bound to the client, DG-04), `user_code` (DG-05, see [`UserCodeFormat`]),
    /// `verification_uri`, `verification_uri_complete` (the URI with `?user_code=`),
    /// `expires_in` and `interval` (DG-02), with `Cache-Control: no-store`.
    ///
    /// When the grant is not enabled (no
    /// [`ServerBuilder::device_store`](crate::ServerBuilder::device_store)), every request
    /// gets 400 `unsupported_grant_type`.
    ///
    /// # Errors
    /// Only storage faults. A full [`MemoryDeviceStore`](crate::MemoryDeviceStore) is a
    /// transient fault, which [`Error::to_response`] renders as 503
    /// `temporarily_unavailable`.
    ///
    /// # Security
    /// A public device client's `client_id` ships in every device, so anyone can start
    /// requests for it, and every pending request holds a slot in the device store until
    /// it expires. A full store refuses new requests (503) rather than dropping pending
    /// ones, so a flood denies service but never cancels a user's flow. The library does
    /// not see client addresses: rate-limit this endpoint per address in the host, and
    /// size the store for the peak of pending requests
    /// ([`MemoryDeviceStore::with_capacity`](crate::MemoryDeviceStore::with_capacity)).
    pub async fn device_authorization(&self, request: &HttpRequest) -> Result<HttpResponse, Error> {
        let form = match read_token_style_form(request, &self.inner.form_limits) {
            Ok(form) => form,
            Err(response) => return Ok(response),
        };
        match self.device_authorization_with_form(request, &form).await? {
            Ok(response) => Ok(response),
            Err(error) => Ok(error.to_response()),
        }
    }

    async fn device_authorization_with_form(
        &self,
        request: &HttpRequest,
        form: &Form<'_>,
    ) -> Result<Result<HttpResponse, OAuthError>, Error> {
        let Some(device) = &self.inner.device else {
            return Ok(Err(OAuthError::new(ErrorCode::UNSUPPORTED_GRANT_TYPE)
                .with_description(
                    "the device authorization grant is not enabled",
                )));
        };
        let now = self.now();
        let client = match self.authenticate_client(request, form, now).await? {
            Ok(client) => client,
            Err(error) => return Ok(Err(error)),
        };
        if !client.allows_grant_type(GrantType::DEVICE_CODE.as_str()) {
            return Ok(Err(OAuthError::new(ErrorCode::UNAUTHORIZED_CLIENT)
                .with_description(
                    "the client may not use the device authorization grant",
                )));
        }
        let scope = match resolve_scope(&client, form.get("scope")) {
            Ok(scope) => scope,
            Err(error) => return Ok(Err(error)),
        };
        let device_code = DeviceCode::generate();
        let hash = device_code.hash();
        let expires_at = crate::clock::expiry(now, device.code_ttl)?;
        let grant_id = GrantId::generate();
        for _ in 0..USER_CODE_ATTEMPTS {
            let user_code = device.user_code_format.generate();
            // `verification_uri_complete` holds the display form of the user code at its
            // end; `user_code` in the response is that slice. The alphabet is upper-case
            // letters and digits, grouped with '-': URL-safe as is.
            let mut complete = String::with_capacity(device.verification_uri.len() + 32);
            complete.push_str(&device.verification_uri);
            complete.push_str("?user_code=");
            let shown_at = complete.len();
            device
                .user_code_format
                .display_into(&user_code, &mut complete);
            let record = DeviceRecord::new(
                grant_id,
                client.id().clone(),
                scope.clone(),
                user_code,
                now,
                expires_at,
                device.interval,
            );
            if device.store.insert(hash, record).await? == DeviceInsert::UserCodeTaken {
                continue;
            }
            let json = device_authorization_json(
                device_code.expose_secret(),
                &complete[shown_at..],
                &device.verification_uri,
                &complete,
                device.code_ttl.as_secs(),
                device.interval.as_secs(),
            );
            return Ok(Ok(HttpResponse::json(Status::OK, json)));
        }
        Err(StorageError::transient("no free user code").into())
    }

    /// The host's verification step: looks up the device authorization request a user
    /// code belongs to ([RFC 8628 §3.3](https://www.rfc-editor.org/rfc/rfc8628#section-3.3)).
    ///
    /// `user_code` is what the user typed (or what arrived in the `user_code` query
    /// parameter of `verification_uri_complete`); it is normalised first: upper-cased,
    /// everything outside the alphabet dropped, so `wdjb mjht`, `WDJB-MJHT` and
    /// `wdjb–mjht` all find the same request (DG-06).
    ///
    /// `limiter_key` names who is guessing, for the rate limit on entries (DG-07): the
    /// user's session id or account, or the client IP. Every entry is counted under
    /// `user_code:<limiter_key>` by the
    /// [`user_code_limiter`](crate::ServerBuilder::user_code_limiter), by default 5 per 10
    /// minutes; once they are used up, entries are refused without a lookup, and the
    /// answer to an entry is given only if the limiter counted it, so concurrent guesses
    /// get at most 5 answers. A correct entry counts too, so someone holding one valid code
    /// (their own device's) cannot use it to refresh their guessing budget.
    ///
    /// # How a host uses it
    /// 1. Serve a page at [`device_verification_uri`](Self::device_verification_uri). The
    ///    user signs in (the host's own login), then enters the code; if the page was
    ///    opened through `verification_uri_complete`, prefill the field from the
    ///    `user_code` query parameter but still ask the user to confirm it (DG-08).
    /// 2. On submit (a POST with the host's CSRF protection), call this method. On
    ///    success, show [`PendingDeviceAuthorization::client_name`] (or client id),
    ///    [`requested_scope`](PendingDeviceAuthorization::requested_scope) and
    ///    [`user_code`](PendingDeviceAuthorization::user_code), and ask the user to check
    ///    that the code matches the one on the device.
    /// 3. On the user's answer (another CSRF-protected POST, which looks the code up again
    ///    with this method), call [`approve`](PendingDeviceAuthorization::approve) with the
    ///    signed-in user and the scope they granted, or
    ///    [`deny`](PendingDeviceAuthorization::deny). Nothing is ever approved
    ///    automatically.
    ///
    /// # Errors
    /// [`DeviceVerificationError::Throttled`] after too many wrong entries,
    /// [`DeviceVerificationError::InvalidUserCode`] for a code that is malformed, unknown,
    /// expired or already decided (one answer for all, so guessing learns nothing), and
    /// [`DeviceVerificationError::Internal`] for a storage fault or when the device grant
    /// is not enabled.
    ///
    /// # Security
    /// The page must send anti-framing headers (SEC-02) and protect its forms against
    /// CSRF (SEC-03): approving is what gives the device access to the user's account.
    pub async fn device_verification(
        &self,
        user_code: &str,
        limiter_key: &str,
    ) -> Result<PendingDeviceAuthorization, DeviceVerificationError> {
        let Some(device) = &self.inner.device else {
            return Err(not_enabled().into());
        };
        let now = self.now();
        let mut key = String::with_capacity(10 + limiter_key.len());
        key.push_str("user_code:");
        key.push_str(limiter_key);
        let normalized = device.user_code_format.normalize(user_code);
        // DG-07: every entry counts, a right one too (a valid code must not refresh a
        // guessing budget); a locked-out key gets no lookup, and an entry's answer is given
        // only if the limiter lets it (`limiter::limited`).
        let lookup = async {
            if !device.user_code_format.fits(&normalized) {
                return Ok::<_, Error>((Outcome::Failure, None));
            }
            let found = match device.store.find_by_user_code(&normalized).await? {
                Some((hash, record))
                    if record.state == DeviceState::Pending && !record.is_expired(now) =>
                {
                    self.inner
                        .clients
                        .find(record.client_id.as_str())
                        .await?
                        .map(|client| (hash, record, client))
                }
                _ => None,
            };
            Ok((Outcome::Failure, found))
        };
        let found = match limited(&*device.limiter, &key, now, lookup).await? {
            Ok(found) => found,
            Err(retry_after) => return Err(DeviceVerificationError::Throttled { retry_after }),
        };
        let Some((device_code, record, client)) = found else {
            return Err(DeviceVerificationError::InvalidUserCode);
        };
        Ok(PendingDeviceAuthorization {
            server: self.clone(),
            device_code,
            client,
            scope: record.scope,
            user_code: device.user_code_format.display(&normalized),
            expires_at: record.expires_at,
        })
    }

    /// The URL of the device authorization endpoint, for the metadata member
    /// `device_authorization_endpoint` ([RFC 8628 §4](https://www.rfc-editor.org/rfc/rfc8628#section-4),
    /// DG-12). `None` when the device grant is not enabled. Default: the issuer followed by
    /// `/device_authorization`.
    pub fn device_authorization_endpoint(&self) -> Option<&str> {
        self.inner.device.as_ref().map(|d| d.endpoint.as_str())
    }

    /// The `verification_uri` sent to devices: the host's verification page. It never
    /// has a query string (DG-12); the user code goes only into
    /// `verification_uri_complete`. `None` when the device grant is not enabled. Default:
    /// the issuer followed by `/device`.
    pub fn device_verification_uri(&self) -> Option<&str> {
        self.inner
            .device
            .as_ref()
            .map(|d| d.verification_uri.as_str())
    }

    /// The user code format, for hosts that normalise or display codes themselves.
    /// `None` when the device grant is not enabled.
    pub fn user_code_format(&self) -> Option<&UserCodeFormat> {
        self.inner.device.as_ref().map(|d| &d.user_code_format)
    }
}

fn not_enabled() -> Error {
    Error::Config(ConfigError::Setting(
        "the device authorization grant is not enabled (ServerBuilder::device_store)",
    ))
}

/// Why [`Server::device_verification`] or a decision on a
/// [`PendingDeviceAuthorization`] failed. The host shows its own page for each.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DeviceVerificationError {
    /// The code is malformed, unknown, expired or already decided. Counted as a wrong
    /// entry.
    #[error("invalid, expired or already used user code")]
    InvalidUserCode,
    /// Too many entries for this limiter key (DG-07): refused without a lookup, or, when
    /// concurrent entries used up the limit meanwhile, without an answer from it.
    #[error("too many wrong user codes")]
    Throttled {
        /// How long until entries are accepted again.
        retry_after: Duration,
    },
    /// The request expired or was decided while the user was looking at it.
    #[error("the device authorization request is no longer pending")]
    NoLongerPending,
    /// The scope given to [`PendingDeviceAuthorization::approve`] has a scope the device
    /// did not request. The user may only narrow the request.
    #[error("the granted scope is not within the requested scope")]
    ScopeNotRequested,
    /// A storage fault, or the device grant is not enabled.
    #[error(transparent)]
    Internal(#[from] Error),
}

/// A device authorization request found by its user code, waiting for the user's
/// decision ([RFC 8628 §3.3](https://www.rfc-editor.org/rfc/rfc8628#section-3.3), DG-08).
///
/// Show the user which client is asking ([`client_name`](Self::client_name) or
/// [`client_id`](Self::client_id)), the [`requested_scope`](Self::requested_scope) it asks
/// for, and the [`user_code`](Self::user_code) to compare with the device's screen; then call
/// [`approve`](Self::approve) or [`deny`](Self::deny).
///
/// ```
/// # fn block_on<F: std::future::Future>(f: F) -> F::Output {
/// #     let mut f = std::pin::pin!(f);
/// #     let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
/// #     loop { if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) { return v; } }
/// # }
/// # fn main() -> Result<(), Box<dyn std::error::Error>> { block_on(async {
/// use std::sync::Arc;
/// use grantflow::*;
///
/// let clients = Arc::new(MemoryClientRegistry::new());
/// clients.insert(
///     Client::builder("living-room-tv", ClientType::Public)
///         .name("Living room TV")
///         .grant_type(GrantType::DEVICE_CODE)
///         .allowed_scope("profile videos")
///         .build()?,
/// )?;
/// let server = Server::builder("https://as.example.com", clients, Arc::new(MemoryTokenStore::new()))
///     .device_store(Arc::new(MemoryDeviceStore::new()))
///     .build()?;
///
/// // The device asks for codes.
/// let response = server
///     .device_authorization(
///         &HttpRequest::new(Method::Post)
///             .with_header("content-type", "application/x-www-form-urlencoded")
///             .with_body("client_id=living-room-tv&scope=profile videos"),
///     )
///     .await?;
/// let body: serde_json::Value = serde_json::from_slice(&response.body)?;
/// let user_code = body["user_code"].as_str().ok_or("no user code")?;
///
/// // The host's verification page, after the user signed in and typed the code.
/// let pending = server
///     .device_verification(&user_code.to_lowercase(), "session:4f1c")
///     .await?;
/// assert_eq!(pending.client_name(), Some("Living room TV"));
/// assert_eq!(pending.user_code(), user_code);
/// // The user confirmed the code matches and granted only part of the request.
/// pending.approve(Subject::new("alice"), Scope::parse("profile")?).await?;
/// # Ok(()) }) }
/// ```
#[must_use = "a pending device authorization must be approved or denied"]
pub struct PendingDeviceAuthorization {
    server: Server,
    device_code: TokenHash,
    client: Arc<Client>,
    scope: Scope,
    user_code: String,
    expires_at: SystemTime,
}

impl PendingDeviceAuthorization {
    /// The client asking for access.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The client's identifier.
    pub fn client_id(&self) -> &ClientId {
        self.client.id()
    }

    /// The client's registered display name, if any.
    pub fn client_name(&self) -> Option<&str> {
        self.client.name()
    }

    /// The scope the device asked for (or the client's default scope), already checked
    /// against the client's allowed scope.
    pub fn requested_scope(&self) -> &Scope {
        &self.scope
    }

    /// The user code in display form (`WDJB-MJHT`), for the user to compare with the
    /// device's screen (DG-08).
    pub fn user_code(&self) -> &str {
        &self.user_code
    }

    /// When the request expires.
    pub fn expires_at(&self) -> SystemTime {
        self.expires_at
    }

    /// Approves the request for `subject` with `scope`, which must be within the requested
    /// [`requested_scope`](Self::requested_scope) (the user may narrow it). The device's
    /// next poll receives the tokens. An empty `scope` grants nothing: the request is
    /// denied as by [`deny`](Self::deny), never approved for an empty scope.
    ///
    /// # Errors
    /// [`DeviceVerificationError::ScopeNotRequested`] for a broader scope,
    /// [`DeviceVerificationError::NoLongerPending`] when the request expired or was decided
    /// meanwhile, [`DeviceVerificationError::Internal`] for a storage fault.
    pub async fn approve(
        self,
        subject: Subject,
        scope: Scope,
    ) -> Result<(), DeviceVerificationError> {
        if !scope.is_subset_of(&self.scope) {
            return Err(DeviceVerificationError::ScopeNotRequested);
        }
        let decision = if scope.is_empty() {
            DeviceDecision::Deny
        } else {
            DeviceDecision::Approve { subject, scope }
        };
        self.decide(decision).await
    }

    /// Denies the request; the device's next poll gets `access_denied`.
    ///
    /// # Errors
    /// [`DeviceVerificationError::NoLongerPending`] when the request expired or was
    /// decided meanwhile, [`DeviceVerificationError::Internal`] for a storage fault.
    pub async fn deny(self) -> Result<(), DeviceVerificationError> {
        self.decide(DeviceDecision::Deny).await
    }

    async fn decide(self, decision: DeviceDecision) -> Result<(), DeviceVerificationError> {
        let Some(device) = &self.server.inner.device else {
            return Err(not_enabled().into());
        };
        let now = self.server.now();
        if device
            .store
            .decide(&self.device_code, decision, now)
            .await
            .map_err(Error::from)?
        {
            Ok(())
        } else {
            Err(DeviceVerificationError::NoLongerPending)
        }
    }
}

impl fmt::Debug for PendingDeviceAuthorization {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The user code stays out: while pending it lets anyone approve the request.
        f.debug_struct("PendingDeviceAuthorization")
            .field("client_id", self.client.id())
            .field("scope", &self.scope)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dg_12_device_uris_have_no_query_or_fragment() {
        assert!(validate_uri("https://as.example.com/device", false).is_ok());
        assert!(validate_uri("https://as.example.com/device?user_code=X", false).is_err());
        assert!(validate_uri("https://as.example.com/device#x", false).is_err());
        assert!(validate_uri("http://as.example.com/device", false).is_err());
        assert!(validate_uri("http://127.0.0.1/device", true).is_ok());
        assert!(validate_uri("https://u@as.example.com/device", false).is_err());
        assert!(validate_uri("/device", false).is_err());
        assert!(validate_uri("https://as.example.com/de\"vice", false).is_err());
        assert!(validate_uri("https://as.example.com/de\\vice", false).is_err());
    }

    #[test]
    fn dg_02_hand_written_json_is_valid_json() {
        let json = device_authorization_json(
            "GmRhmhcxhwAzkoEqiMEg_DnyEysNkuNhszIySk9eS",
            "WDJB-MJHT",
            "https://example.com/device",
            "https://example.com/device?user_code=WDJB-MJHT",
            1800,
            5,
        );
        let value: serde_json::Value = serde_json::from_slice(&json).unwrap();
        assert_eq!(
            value,
            serde_json::json!({
                "device_code": "GmRhmhcxhwAzkoEqiMEg_DnyEysNkuNhszIySk9eS",
                "user_code": "WDJB-MJHT",
                "verification_uri": "https://example.com/device",
                "verification_uri_complete": "https://example.com/device?user_code=WDJB-MJHT",
                "expires_in": 1800,
                "interval": 5
            })
        );
    }
}
