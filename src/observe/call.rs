//! One endpoint call, observed: its span (target `grantflow`, fields filled in
//! once known), and at its end the request metrics. Every endpoint of the crate goes
//! through a [`Call`].

use std::future::Future;
use std::sync::OnceLock;
#[cfg(feature = "metrics")]
use std::time::SystemTime;

use super::Events;
use super::event::EventKind;
#[cfg(feature = "tracing")]
use super::text::Untrusted;
use crate::error::{Error, ErrorCode, StorageError};
use crate::server::Server;
use crate::types::{ClientId, GrantId, GrantType};

/// The endpoints, as the `endpoint` field and label name them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Endpoint {
    /// [`Server::token`].
    Token,
    /// [`Server::device_authorization`].
    DeviceAuthorization,
    /// [`Server::pushed_authorization`].
    PushedAuthorization,
    /// The host's lookup of an entered user code.
    DeviceVerification,
    /// [`Server::revoke`].
    Revocation,
    /// [`Server::introspect`].
    Introspection,
    /// The bearer guard of a resource server.
    Bearer,
    /// [`Server::authorize`]: the validation of an authorization request.
    Authorization,
    /// The resource owner's decision on an authorization request: approve or deny.
    AuthorizationDecision,
    /// The user's decision on a device authorization request: approve or deny.
    DeviceDecision,
    /// The JWK Set endpoint.
    #[cfg_attr(not(feature = "jwt"), allow(dead_code))]
    Jwks,
    /// The RFC 8414 authorization server metadata.
    Metadata,
    /// The OpenID Provider configuration document.
    #[cfg_attr(not(feature = "oidc"), allow(dead_code))]
    OpenidConfiguration,
    /// The OpenID Connect UserInfo endpoint.
    #[cfg_attr(not(feature = "oidc"), allow(dead_code))]
    Userinfo,
    /// The OpenID Connect end-session (logout) endpoint.
    #[cfg_attr(not(feature = "oidc"), allow(dead_code))]
    EndSession,
}

impl Endpoint {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Token => "token",
            Self::DeviceAuthorization => "device_authorization",
            Self::PushedAuthorization => "pushed_authorization",
            Self::DeviceVerification => "device_verification",
            Self::Revocation => "revocation",
            Self::Introspection => "introspection",
            Self::Bearer => "bearer",
            Self::Authorization => "authorization",
            Self::AuthorizationDecision => "authorization_decision",
            Self::DeviceDecision => "device_decision",
            Self::Jwks => "jwks",
            Self::Metadata => "metadata",
            Self::OpenidConfiguration => "openid_configuration",
            Self::Userinfo => "userinfo",
            Self::EndSession => "end_session",
        }
    }
}

/// How a call ended, as the client saw it.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Outcome<'a> {
    /// Served (or refused with the code given to [`Call::refused`]).
    Success,
    /// Refused with this OAuth error code (`None`: a bearer challenge without an `error`
    /// attribute, for a request without credentials).
    Refused(Option<&'a str>),
    /// A store or plug-in fault: the client saw `server_error` or
    /// `temporarily_unavailable`.
    Fault(&'a Error),
    /// A fault of a store, where the endpoint reports the storage error itself.
    StorageFault(&'a StorageError),
}

/// The error codes a label may name: the codes of RFC 6749, RFC 6750, RFC 8628 and
/// OpenID Connect Core §3.1.2.6; anything else is `other`.
const KNOWN_ERRORS: [&str; 21] = [
    "invalid_request",
    "invalid_client",
    "invalid_grant",
    "unauthorized_client",
    "unsupported_grant_type",
    "invalid_scope",
    "access_denied",
    "unsupported_response_type",
    "server_error",
    "temporarily_unavailable",
    "authorization_pending",
    "slow_down",
    "expired_token",
    "invalid_token",
    "insufficient_scope",
    "unsupported_token_type",
    "login_required",
    "consent_required",
    "interaction_required",
    "account_selection_required",
    "unmet_authentication_requirements",
];

/// `code` as a label value: itself when it is a defined code, else `other`.
fn error_label(code: &str) -> &'static str {
    KNOWN_ERRORS
        .into_iter()
        .find(|known| *known == code)
        .unwrap_or("other")
}

/// The [`GrantType`] of `value`, a registered grant type: the built-in ones without an
/// allocation.
pub(crate) fn grant_type_of(value: &str) -> GrantType {
    // A `match` compares lengths first: cheaper than a search through the constants
    // (callgrind, `benches/README.md`).
    match value {
        "authorization_code" => GrantType::AUTHORIZATION_CODE,
        "refresh_token" => GrantType::REFRESH_TOKEN,
        "client_credentials" => GrantType::CLIENT_CREDENTIALS,
        "password" => GrantType::PASSWORD,
        _ if value == GrantType::DEVICE_CODE.as_str() => GrantType::DEVICE_CODE,
        _ => GrantType::new(value.to_owned()),
    }
}

/// One endpoint call in progress: its span, and what the request metrics will say about it.
/// Methods take `&self`, so the call can be shared with the endpoint's body; each value is
/// set once.
pub(crate) struct Call<'s> {
    events: &'s Events,
    endpoint: Endpoint,
    #[cfg(feature = "tracing")]
    span: tracing::Span,
    #[cfg(feature = "metrics")]
    clock: &'s dyn crate::clock::Clock,
    #[cfg(feature = "metrics")]
    started: SystemTime,
    /// The client the server accepted for the request.
    client: OnceLock<ClientId>,
    /// The grant type of the request: a registered one, or `other`.
    grant_type: OnceLock<GrantType>,
    /// The error of a refusal rendered without a [`Rejection`](crate::grant::Rejection)
    /// (`None`: a refusal without an error code, such as a 404).
    refusal: OnceLock<Option<ErrorCode>>,
}

impl std::fmt::Debug for Call<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Call")
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

impl Server {
    /// Starts observing a call of `endpoint`.
    pub(crate) fn call(&self, endpoint: Endpoint) -> Call<'_> {
        let state = self.state();
        Call::new(&state.events, &*state.config.clock, endpoint)
    }
}

impl<'s> Call<'s> {
    /// Starts observing a call of `endpoint`, whose events go to `events`.
    #[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
    pub(crate) fn new(
        events: &'s Events,
        clock: &'s dyn crate::clock::Clock,
        endpoint: Endpoint,
    ) -> Self {
        Call {
            events,
            endpoint,
            #[cfg(feature = "tracing")]
            span: tracing::info_span!(
                target: "grantflow",
                "endpoint",
                endpoint = endpoint.as_str(),
                client_id = tracing::field::Empty,
                client_id_claimed = tracing::field::Empty,
                grant_type = tracing::field::Empty,
                grant_id = tracing::field::Empty,
                token_fp = tracing::field::Empty,
                user_code_fp = tracing::field::Empty,
                outcome = tracing::field::Empty,
                error = tracing::field::Empty,
            ),
            #[cfg(feature = "metrics")]
            clock,
            #[cfg(feature = "metrics")]
            started: clock.now(),
            client: OnceLock::new(),
            grant_type: OnceLock::new(),
            refusal: OnceLock::new(),
        }
    }
}

impl<'s> Call<'s> {
    /// Records `value` in the span's `field`, if a subscriber takes the span: a disabled
    /// span costs one check, not a dispatch.
    #[cfg(feature = "tracing")]
    fn record(&self, field: &str, value: impl tracing::Value) {
        if !self.span.is_disabled() {
            self.span.record(field, value);
        }
    }

    /// Runs `future` inside the call's span.
    #[cfg(feature = "tracing")]
    pub(crate) fn run<F: Future>(&self, future: F) -> tracing::instrument::Instrumented<F> {
        tracing::Instrument::instrument(future, self.span.clone())
    }

    /// Runs `future` (without `tracing`, there is no span to enter).
    #[cfg(not(feature = "tracing"))]
    pub(crate) fn run<F: Future>(&self, future: F) -> F {
        future
    }

    /// Runs `work`, which does not wait, inside the call's span.
    pub(crate) fn run_now<R>(&self, work: impl FnOnce() -> R) -> R {
        #[cfg(feature = "tracing")]
        return self.span.in_scope(work);
        #[cfg(not(feature = "tracing"))]
        work()
    }

    /// The client identifier the request claims, before anyone verified it:
    /// recorded capped and escaped ([RFC 6749 §10.14]).
    ///
    /// [RFC 6749 §10.14]: https://www.rfc-editor.org/rfc/rfc6749#section-10.14
    #[cfg_attr(not(feature = "tracing"), allow(unused_variables))]
    pub(crate) fn claimed(&self, client_id: &str) {
        #[cfg(feature = "tracing")]
        self.record(
            "client_id_claimed",
            tracing::field::debug(Untrusted(client_id)),
        );
    }

    /// The client the server accepted for the request.
    #[cfg_attr(
        not(any(feature = "tracing", feature = "metrics")),
        allow(unused_variables)
    )]
    pub(crate) fn accepted(&self, client_id: &ClientId) {
        #[cfg(feature = "tracing")]
        self.record("client_id", client_id.as_str());
        #[cfg(feature = "metrics")]
        let _ = self.client.set(client_id.clone());
    }

    /// The grant type of the request: `registered` is the grant type of the handler that
    /// serves it, `None` when no handler does (recorded as `other`).
    #[cfg_attr(
        not(any(feature = "tracing", feature = "metrics")),
        allow(unused_variables)
    )]
    pub(crate) fn grant_type(&self, registered: Option<&str>) {
        #[cfg(feature = "tracing")]
        self.record("grant_type", registered.unwrap_or("other"));
        #[cfg(feature = "metrics")]
        let _ = self
            .grant_type
            .set(registered.map_or(GrantType::new("other"), grant_type_of));
    }

    /// Records `kind`, which happened at `at` during this call, in the server's event
    /// stream, and its grant in the call's span.
    pub(crate) fn emit(&self, at: std::time::SystemTime, kind: impl FnOnce() -> EventKind) {
        self.events.emit(at, || {
            let kind = kind();
            #[cfg(feature = "tracing")]
            if !self.span.is_disabled() {
                if let Some(grant_id) = kind.grant_id() {
                    self.grant_id(grant_id);
                }
            }
            kind
        });
    }

    /// The grant the request concerns, once known.
    #[cfg_attr(not(feature = "tracing"), allow(unused_variables))]
    pub(crate) fn grant_id(&self, grant_id: GrantId) {
        #[cfg(feature = "tracing")]
        self.record("grant_id", tracing::field::display(grant_id));
    }

    /// The fingerprint of the presented token, computed only if a subscriber
    /// records it.
    #[cfg_attr(not(feature = "tracing"), allow(unused_variables))]
    pub(crate) fn token(&self, token: &str) {
        #[cfg(feature = "tracing")]
        self.record(
            "token_fp",
            tracing::field::display(super::fingerprint::LazyFingerprint {
                key: &self.events.log_key,
                credential: token,
            }),
        );
    }

    /// The fingerprint of an entered user code, computed only if a subscriber
    /// records it.
    #[cfg_attr(not(feature = "tracing"), allow(unused_variables))]
    pub(crate) fn user_code(&self, user_code: &str) {
        #[cfg(feature = "tracing")]
        self.record(
            "user_code_fp",
            tracing::field::display(super::fingerprint::LazyFingerprint {
                key: &self.events.log_key,
                credential: user_code,
            }),
        );
    }

    /// The call was refused with `code` (`None`: without an error code, such as a 404),
    /// rendered without a rejection (a 403 of its own).
    pub(crate) fn refused(&self, code: impl Into<Option<ErrorCode>>) {
        let _ = self.refusal.set(code.into());
    }

    /// Ends a call that answered `response`: a success below 400, else a refusal (with the
    /// code given to [`refused`](Self::refused), if any).
    pub(crate) fn finish_with(self, response: &crate::http::HttpResponse) {
        if response.status.as_u16() >= 400 {
            let _ = self.refusal.set(None);
        }
        self.finish(Outcome::Success);
    }

    /// Ends the call: fills the span's `outcome` and `error`, logs a fault, and counts the
    /// request.
    pub(crate) fn finish(self, outcome: Outcome<'_>) {
        let endpoint = self.endpoint.as_str();
        match outcome {
            Outcome::Fault(fault) => {
                if matches!(fault, Error::Storage(_)) {
                    super::metrics::store_error(endpoint);
                }
                super::trace::fault(endpoint, fault);
            }
            Outcome::StorageFault(fault) => {
                super::metrics::store_error(endpoint);
                super::trace::fault(endpoint, fault);
            }
            Outcome::Success | Outcome::Refused(_) => {}
        }
        #[cfg(feature = "tracing")]
        let observed = cfg!(feature = "metrics") || !self.span.is_disabled();
        #[cfg(not(feature = "tracing"))]
        let observed = cfg!(feature = "metrics");
        if !observed {
            return;
        }
        let refusal = self.refusal.get().cloned();
        let outcome = match (outcome, &refusal) {
            (Outcome::Success, Some(code)) => {
                Outcome::Refused(code.as_ref().map(ErrorCode::as_str))
            }
            (outcome, _) => outcome,
        };
        let (outcome_label, error) = match outcome {
            Outcome::Success => ("success", "none"),
            Outcome::Refused(code) => ("refused", code.map_or("none", error_label)),
            Outcome::Fault(fault) => ("fault", error_label(fault.to_oauth_error().code().as_str())),
            Outcome::StorageFault(fault) if fault.is_transient() => {
                ("fault", "temporarily_unavailable")
            }
            Outcome::StorageFault(_) => ("fault", "server_error"),
        };
        #[cfg(feature = "tracing")]
        {
            self.record("outcome", outcome_label);
            self.record("error", error);
        }
        #[cfg(feature = "metrics")]
        let seconds = self
            .clock
            .now()
            .duration_since(self.started)
            .ok()
            .map(|elapsed| elapsed.as_secs_f64());
        #[cfg(not(feature = "metrics"))]
        let seconds = None;
        let grant_type = self.grant_type.get().map_or("none", GrantType::as_str);
        super::metrics::request(
            &super::metrics::RequestLabels {
                endpoint,
                grant_type,
                outcome: outcome_label,
                error,
                client: self.events.client_label(self.client.get()),
            },
            seconds,
        );
    }
}
