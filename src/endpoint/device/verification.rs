//! The host's verification side
//! ([RFC 8628 §3.3](https://www.rfc-editor.org/rfc/rfc8628#section-3.3)): a user enters a
//! user code, sees which client asks for what, and approves or denies.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::error::{Error, ErrorCode};
use crate::limiter::{AttemptKey, Limited, Outcome, limited};
use crate::observe::call::{Call, Endpoint, Outcome as CallOutcome};
use crate::observe::{EventKind, Limiter};
use crate::secret::TokenHash;
use crate::server::Server;
use crate::store::{DeviceDecision, DeviceState, DeviceStore};
use crate::types::{Client, ClientId, GrantId, Resources, Scope, Subject};

impl Server {
    /// The host's side of the device grant
    /// ([RFC 8628 §3.3](https://www.rfc-editor.org/rfc/rfc8628#section-3.3)), or `None`
    /// when the grant is not enabled
    /// ([`ServerBuilder::device_store`](crate::ServerBuilder::device_store)). Take it once
    /// when wiring the verification page: a [`DeviceVerifier`] is a cheap clone of the
    /// server, and a server without the grant is found out at startup, not when a user
    /// enters a code.
    pub fn device_verifier(&self) -> Option<DeviceVerifier> {
        let store = self.config().device.store.as_ref()?;
        Some(DeviceVerifier {
            server: self.clone(),
            store: Arc::clone(store),
        })
    }
}

/// What a user entered as a user code on the verification page: what they typed, or
/// the `user_code` query parameter of `verification_uri_complete`. The server normalises
/// it ([RFC 8628 §6.1](https://www.rfc-editor.org/rfc/rfc8628#section-6.1)). `Debug`
/// leaves it out: while its request is pending, a user code approves it.
#[derive(Clone, Copy)]
pub struct EnteredUserCode<'a>(&'a str);

impl<'a> EnteredUserCode<'a> {
    /// The entry as it came in, not yet normalised.
    pub fn new(entered: &'a str) -> Self {
        Self(entered)
    }
}

impl fmt::Debug for EnteredUserCode<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EnteredUserCode(<redacted>)")
    }
}

/// The host's side of the device grant, from [`Server::device_verifier`]: it finds the
/// request a user code belongs to, for the user to approve or deny.
#[derive(Debug, Clone)]
pub struct DeviceVerifier {
    server: Server,
    store: Arc<dyn DeviceStore>,
}

impl DeviceVerifier {
    /// The host's verification step: looks up the device authorization request a user
    /// code belongs to ([RFC 8628 §3.3](https://www.rfc-editor.org/rfc/rfc8628#section-3.3)).
    ///
    /// `user_code` is normalised first: upper-cased, everything outside the alphabet
    /// dropped, so `wdjb mjht`, `WDJB-MJHT` and `wdjb–mjht` all find the same request
    /// ([RFC 8628 §6.1]).
    ///
    /// `entered_by` names who is guessing, for the rate limit on entries ([RFC 8628 §5.1]): the
    /// user's session id or account, or the client IP. Every wrong entry is counted under
    /// [`AttemptKey::user_code_entry`] of it by the
    /// [`user_code_limiter`](crate::ServerBuilder::user_code_limiter), by default 5 per 10
    /// minutes; once they are used up, entries are refused without a lookup, and the
    /// answer to an entry is given only if the limiter admits it, so concurrent guesses
    /// get at most 5 wrong answers. A correct entry counts nothing and clears nothing: a
    /// user who connects one device after another (each looked up twice, to show it and
    /// to decide) is never locked out, and someone holding one valid code (their own
    /// device's) cannot use it to refresh a guessing budget.
    ///
    /// # How a host uses it
    /// 1. Serve a page at [`verification_uri`](Self::verification_uri). The user signs in
    ///    (the host's own login), then enters the code; if the page was opened through
    ///    `verification_uri_complete`, prefill the field from the `user_code` query
    ///    parameter but still ask the user to confirm it ([RFC 8628 §3.3]).
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
    /// [`DeviceVerificationError::Internal`] for a storage fault.
    ///
    /// # Security
    /// The page must send anti-framing headers ([RFC 9700 §4.16]) and protect its forms against
    /// CSRF ([RFC 6749 §10.12]): approving is what gives the device access to the user's account.
    ///
    /// [RFC 8628 §6.1]: https://www.rfc-editor.org/rfc/rfc8628#section-6.1
    /// [RFC 8628 §5.1]: https://www.rfc-editor.org/rfc/rfc8628#section-5.1
    /// [RFC 8628 §3.3]: https://www.rfc-editor.org/rfc/rfc8628#section-3.3
    /// [RFC 9700 §4.16]: https://www.rfc-editor.org/rfc/rfc9700#section-4.16
    /// [RFC 6749 §10.12]: https://www.rfc-editor.org/rfc/rfc6749#section-10.12
    pub async fn verify(
        &self,
        user_code: EnteredUserCode<'_>,
        entered_by: &str,
    ) -> Result<PendingDeviceAuthorization, DeviceVerificationError> {
        let call = self.server.call(Endpoint::DeviceVerification);
        let verified = call.run(self.lookup(user_code, entered_by, &call)).await;
        call.finish(match &verified {
            Ok(_) => CallOutcome::Success,
            Err(DeviceVerificationError::Internal(fault)) => CallOutcome::Fault(fault),
            Err(_) => CallOutcome::Refused(Some("invalid_request")),
        });
        verified
    }

    /// The work of [`verify`](Self::verify), inside its span.
    async fn lookup(
        &self,
        user_code: EnteredUserCode<'_>,
        entered_by: &str,
        call: &Call<'_>,
    ) -> Result<PendingDeviceAuthorization, DeviceVerificationError> {
        let config = self.server.config();
        let format = &config.device.user_code_format;
        let now = self.server.now();
        let key = AttemptKey::user_code_entry(entered_by);
        let normalized = format.normalize(user_code.0);
        // OB-02: the keyed fingerprint of the entered code, never the code.
        call.user_code(&normalized);
        // DG-07: wrong entries count, right ones neither count nor clear anything (the
        // limiter's contract), so an honest user is never locked out and a valid code
        // cannot refresh a guessing budget; a locked-out key gets no lookup, and an
        // entry's answer is given only if the limiter lets it (`limiter::limited`).
        let lookup = async {
            if !format.fits(&normalized) {
                return Ok::<_, Error>((Outcome::Failure, None));
            }
            let found = match self.store.find_by_user_code(&normalized).await? {
                Some((hash, record))
                    if record.state == DeviceState::Pending && !record.is_expired(now) =>
                {
                    config
                        .clients
                        .registry
                        .find(&record.client_id)
                        .await?
                        .map(|client| (hash, record, client))
                }
                _ => None,
            };
            let outcome = if found.is_some() {
                Outcome::Success
            } else {
                Outcome::Failure
            };
            Ok((outcome, found))
        };
        let found = match limited(&*config.device.limiter, &key, now, lookup).await? {
            Limited::Answer(found) => found,
            Limited::Throttled(retry_after) => {
                call.emit(now, || EventKind::LockedOut {
                    limiter: Limiter::UserCode,
                    client_id: None,
                    client_id_claimed: None,
                });
                return Err(DeviceVerificationError::Throttled { retry_after });
            }
        };
        let Some((device_code, record, client)) = found else {
            return Err(DeviceVerificationError::InvalidUserCode);
        };
        call.accepted(client.id());
        call.grant_id(record.grant_id);
        Ok(PendingDeviceAuthorization {
            grant_id: record.grant_id,
            verifier: self.clone(),
            device_code,
            client,
            scope: record.scope,
            resources: record.resources,
            user_code: format.display(&normalized),
            expires_at: record.expires_at,
        })
    }

    /// The `verification_uri` sent to devices: the page to serve. It never has a query
    /// string ([RFC 8628 §4]).
    ///
    /// [RFC 8628 §4]: https://www.rfc-editor.org/rfc/rfc8628#section-4
    pub fn verification_uri(&self) -> &str {
        &self.server.config().device.verification_uri
    }

    /// The user code format, for pages that normalise or display codes themselves.
    pub fn user_code_format(&self) -> &crate::grant::device::UserCodeFormat {
        &self.server.config().device.user_code_format
    }
}

/// Why [`DeviceVerifier::verify`] or a decision on a [`PendingDeviceAuthorization`]
/// failed. The host shows its own page for each.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DeviceVerificationError {
    /// The code is malformed, unknown, expired or already decided. Counted as a wrong
    /// entry.
    #[error("invalid, expired or already used user code")]
    InvalidUserCode,
    /// Too many entries for this limiter key ([RFC 8628 §5.1]): refused without a lookup, or, when
    /// concurrent entries used up the limit meanwhile, without an answer from it.
    ///
    /// [RFC 8628 §5.1]: https://www.rfc-editor.org/rfc/rfc8628#section-5.1
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
    /// A storage fault.
    #[error(transparent)]
    Internal(#[from] Error),
}

/// A device authorization request found by its user code, waiting for the user's
/// decision ([RFC 8628 §3.3](https://www.rfc-editor.org/rfc/rfc8628#section-3.3), [RFC 8628 §3.3]).
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
/// use grantflow::device::EnteredUserCode;
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
/// let verifier = server.device_verifier().ok_or("the device grant is enabled")?;
/// let typed = user_code.to_lowercase();
/// let pending = verifier.verify(EnteredUserCode::new(&typed), "session:4f1c").await?;
/// assert_eq!(pending.client_name(), Some("Living room TV"));
/// assert_eq!(pending.user_code(), user_code);
/// // The user confirmed the code matches and granted only part of the request.
/// pending.approve(Subject::new("alice"), Scope::parse("profile")?).await?;
/// # Ok(()) }) }
/// ```
///
/// [RFC 8628 §3.3]: https://www.rfc-editor.org/rfc/rfc8628#section-3.3
#[must_use = "a pending device authorization must be approved or denied"]
pub struct PendingDeviceAuthorization {
    verifier: DeviceVerifier,
    grant_id: GrantId,
    device_code: TokenHash,
    client: Arc<Client>,
    scope: Scope,
    resources: Resources,
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

    /// The resources the device asked access to (`resource`,
    /// [RFC 8707 §2](https://www.rfc-editor.org/rfc/rfc8707#section-2)), or the server's
    /// default resource; empty when it named none. Show them with the scope: every token of
    /// the grant is for these resources only.
    pub fn requested_resources(&self) -> &Resources {
        &self.resources
    }

    /// The user code in display form (`WDJB-MJHT`), for the user to compare with the
    /// device's screen ([RFC 8628 §3.3]).
    ///
    /// [RFC 8628 §3.3]: https://www.rfc-editor.org/rfc/rfc8628#section-3.3
    pub fn user_code(&self) -> &str {
        &self.user_code
    }

    /// When the request expires.
    pub fn expires_at(&self) -> SystemTime {
        self.expires_at
    }

    /// Approves the request for `subject` with `scope`, which must be within the
    /// [`requested_scope`](Self::requested_scope): the user may narrow the request, never
    /// widen it, and a scope token that was not requested is refused rather than dropped,
    /// the same rule as [`PendingAuthorization::approve`](crate::authorize::PendingAuthorization::approve).
    /// The device's next poll receives the tokens. An empty `scope` grants nothing: the
    /// request is denied as by [`deny`](Self::deny), never approved for an empty scope.
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
        let server = self.verifier.server.clone();
        let call = server.call(Endpoint::DeviceDecision);
        call.accepted(self.client.id());
        call.grant_id(self.grant_id);
        if matches!(decision, DeviceDecision::Deny) {
            call.refused(ErrorCode::ACCESS_DENIED);
        }
        let decided = call.run(self.record_decision(decision, &call)).await;
        call.finish(match &decided {
            Ok(()) => CallOutcome::Success,
            Err(DeviceVerificationError::Internal(fault)) => CallOutcome::Fault(fault),
            Err(_) => CallOutcome::Refused(Some("invalid_request")),
        });
        decided
    }

    /// The work of [`decide`](Self::decide), inside its span.
    async fn record_decision(
        self,
        decision: DeviceDecision,
        call: &Call<'_>,
    ) -> Result<(), DeviceVerificationError> {
        let now = self.verifier.server.now();
        let (client_id, grant_id) = (self.client.id().clone(), self.grant_id);
        let event = match &decision {
            DeviceDecision::Approve { subject, scope } => EventKind::DeviceCodeApproved {
                client_id,
                subject: subject.clone(),
                grant_id,
                scope: scope.clone(),
            },
            DeviceDecision::Deny => EventKind::DeviceCodeDenied {
                client_id,
                grant_id,
            },
        };
        if self
            .verifier
            .store
            .decide(&self.device_code, decision, now)
            .await
            .map_err(Error::from)?
        {
            call.emit(now, || event);
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
            .field("resources", &self.resources)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}
