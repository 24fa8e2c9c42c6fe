//! The audit events: one typed, secret-free value per security-relevant outcome ([RFC 9700
//! §4.14.2],
//! ), the one source of the `tracing` events, the audit sink and the event metrics.
//!
//! [RFC 9700 §4.14.2]: https://www.rfc-editor.org/rfc/rfc9700#section-4.14.2

use std::sync::Arc;
use std::time::SystemTime;

use super::text::Claimed;
use crate::error::ErrorCode;
use crate::store::TokenKind;
use crate::types::{AuthMethod, ClientId, GrantId, GrantType, Scope, Subject};

/// One security-relevant outcome, as the audit sink receives it
/// ([RFC 9700 §4.14.2](https://www.rfc-editor.org/rfc/rfc9700#section-4.14.2),
/// [RFC 6819 §5.1.3](https://www.rfc-editor.org/rfc/rfc6819#section-5.1.3)).
///
/// It holds identifiers only: the client, the subject (the host's local user identifier),
/// the grant id, scopes and reason categories; never a token, code, secret, password,
/// assertion or request body. Every event that concerns a grant carries its
/// [`GrantId`], so one grant's history (consent, issue, refreshes, revocation) can be
/// rebuilt from the sink in the order it happened.
///
/// ```
/// use grantflow::observe::{AuditEvent, EventKind};
///
/// /// What a sink might write: one line per event, keyed by the grant where there is one.
/// fn line(event: &AuditEvent) -> String {
///     let grant = event.kind.grant_id().map(|id| id.to_string()).unwrap_or_default();
///     match &event.kind {
///         EventKind::RefreshReuseDetected { client_id, .. } => {
///             format!("ALERT {} grant={grant} client={client_id}", event.kind.name())
///         }
///         other => format!("{} grant={grant}", other.name()),
///     }
/// }
/// # let _ = line;
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AuditEvent {
    /// When it happened, by the server's [`Clock`](crate::clock::Clock).
    pub at: SystemTime,
    /// The issuer identifier of the server that recorded it: the tenant, for a host that
    /// runs several.
    pub issuer: Arc<str>,
    /// What happened.
    pub kind: EventKind,
}

/// What an [`AuditEvent`] reports. Each variant has a stable [`name`](Self::name), the one
/// the logs and the metrics use too.
///
/// Fields named `client_id` hold the client the server accepted for the request: one that
/// authenticated with its registered method (`none` for a public client), or, at the
/// authorization endpoint, the registered client whose redirect URI was verified. An
/// identifier nobody has verified is a `client_id_claimed`, capped and escaped
/// ([`Claimed`]). A user appears only as the [`Subject`] the host gave the approval.
///
/// New kinds of events are added as the server learns new flows (client registration,
/// signing key rotation, DPoP): match with a wildcard arm.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum EventKind {
    /// `token_issued`: the token endpoint issued an access token, and a refresh token
    /// when `refresh_token` says so, for any grant but a refresh.
    #[non_exhaustive]
    TokenIssued {
        /// The grant type of the request.
        grant_type: GrantType,
        /// The client the tokens were issued to.
        client_id: ClientId,
        /// The resource owner, or `None` for a client acting for itself.
        subject: Option<Subject>,
        /// The grant the tokens belong to.
        grant_id: GrantId,
        /// The scope of the access token.
        scope: Scope,
        /// Whether a refresh token was issued too.
        refresh_token: bool,
        /// Whether an OpenID Connect ID token was issued too
        /// ([Core §3.1.3.3](https://openid.net/specs/openid-connect-core-1_0.html#TokenResponse)).
        id_token: bool,
    },
    /// `token_refreshed`: a refresh token was rotated out for new tokens
    /// ([RFC 6749 §6](https://www.rfc-editor.org/rfc/rfc6749#section-6)).
    #[non_exhaustive]
    TokenRefreshed {
        /// The client.
        client_id: ClientId,
        /// The resource owner, if any.
        subject: Option<Subject>,
        /// The grant.
        grant_id: GrantId,
        /// The scope of the new access token.
        scope: Scope,
        /// Whether a successor refresh token was issued.
        refresh_token: bool,
        /// Whether a new ID token was issued
        /// ([Core §12.2](https://openid.net/specs/openid-connect-core-1_0.html#RefreshTokenResponse)).
        id_token: bool,
    },
    /// `refresh_reuse_detected`: a refresh token that was already rotated out came back
    /// ([RFC 9700 §4.14.2](https://www.rfc-editor.org/rfc/rfc9700#section-4.14.2)). The
    /// request was refused with `invalid_grant`; a `grant_revoked` event follows when the
    /// grant was revoked for it.
    #[non_exhaustive]
    RefreshReuseDetected {
        /// The client that presented the token.
        client_id: ClientId,
        /// The grant of the token.
        grant_id: GrantId,
        /// `false` when the reuse came within the
        /// [grace period](crate::ServerBuilder::refresh_reuse_grace) and only the request
        /// was refused.
        revoked: bool,
    },
    /// `code_replay_detected`: an authorization code or device code was redeemed a second
    /// time ([RFC 6749 §4.1.2](https://www.rfc-editor.org/rfc/rfc6749#section-4.1.2)). The
    /// request was refused with `invalid_grant`, and a `grant_revoked` event follows.
    #[non_exhaustive]
    CodeReplayDetected {
        /// The client that presented the code.
        client_id: ClientId,
        /// The grant of the code.
        grant_id: GrantId,
        /// Which kind of code.
        code: ReplayedCode,
    },
    /// `grant_revoked`: every token of a grant was revoked.
    #[non_exhaustive]
    GrantRevoked {
        /// The grant.
        grant_id: GrantId,
        /// The client of the request that caused it.
        client_id: ClientId,
        /// Why.
        cause: RevocationCause,
    },
    /// `client_authentication_failed`: a token-style request failed client authentication
    /// ([RFC 6749 §2.3](https://www.rfc-editor.org/rfc/rfc6749#section-2.3)) and was
    /// answered with `invalid_client`.
    #[non_exhaustive]
    ClientAuthenticationFailed {
        /// The client identifier the request presented, if any.
        client_id_claimed: Option<Claimed>,
        /// The method the request used, if it used one the server supports.
        method: Option<AuthMethod>,
        /// Why it failed.
        reason: AuthFailure,
    },
    /// `locked_out`: an attempt was refused because its key has used up the failures its
    /// [`AttemptLimiter`](crate::limiter::AttemptLimiter) allows (each refused attempt is
    /// one event).
    #[non_exhaustive]
    LockedOut {
        /// Which limiter.
        limiter: Limiter,
        /// The client the request was accepted from (the password grant's), if any.
        client_id: Option<ClientId>,
        /// The client whose secret is guessed, for the client secret limiter.
        client_id_claimed: Option<Claimed>,
    },
    /// `consent_granted`: the host approved an authorization request and a code was
    /// issued for it.
    #[non_exhaustive]
    ConsentGranted {
        /// The client.
        client_id: ClientId,
        /// The resource owner who approved.
        subject: Subject,
        /// The new grant.
        grant_id: GrantId,
        /// The scope granted.
        scope: Scope,
    },
    /// `consent_denied`: the host denied an authorization request (the client is sent
    /// `access_denied`).
    #[non_exhaustive]
    ConsentDenied {
        /// The client.
        client_id: ClientId,
    },
    /// `device_code_approved`: a user approved a device authorization request
    /// ([RFC 8628 §3.3](https://www.rfc-editor.org/rfc/rfc8628#section-3.3)).
    #[non_exhaustive]
    DeviceCodeApproved {
        /// The device's client.
        client_id: ClientId,
        /// The resource owner who approved.
        subject: Subject,
        /// The grant of the device code.
        grant_id: GrantId,
        /// The scope granted.
        scope: Scope,
    },
    /// `device_code_denied`: a user denied a device authorization request.
    #[non_exhaustive]
    DeviceCodeDenied {
        /// The device's client.
        client_id: ClientId,
        /// The grant of the device code.
        grant_id: GrantId,
    },
    /// `token_revoked`: a client revoked one of its tokens
    /// ([RFC 7009](https://www.rfc-editor.org/rfc/rfc7009)). For a refresh token a
    /// `grant_revoked` event follows.
    #[non_exhaustive]
    TokenRevoked {
        /// The client.
        client_id: ClientId,
        /// The grant of the token.
        grant_id: GrantId,
        /// Which kind of token.
        kind: TokenKind,
    },
    /// `introspection_refused`: an authenticated client that may not introspect tokens
    /// tried to ([RFC 7662 §2.1](https://www.rfc-editor.org/rfc/rfc7662#section-2.1)).
    #[non_exhaustive]
    IntrospectionRefused {
        /// The client.
        client_id: ClientId,
    },
}

/// Which kind of code was replayed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ReplayedCode {
    /// An authorization code
    /// ([RFC 6749 §4.1.2](https://www.rfc-editor.org/rfc/rfc6749#section-4.1.2)).
    AuthorizationCode,
    /// A device code ([RFC 8628 §3.5](https://www.rfc-editor.org/rfc/rfc8628#section-3.5)).
    DeviceCode,
}

/// Why a grant was revoked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RevocationCause {
    /// A code of the grant was replayed.
    CodeReplay,
    /// A rotated-out refresh token of the grant was reused.
    RefreshReuse,
    /// The client revoked a refresh token of the grant
    /// ([RFC 7009 §2.1](https://www.rfc-editor.org/rfc/rfc7009#section-2.1)).
    RefreshTokenRevoked,
}

/// Why client authentication failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AuthFailure {
    /// The request presented no client credentials at all.
    NoCredentials,
    /// The `Authorization: Basic` credentials could not be decoded.
    Malformed,
    /// The request used a method the server does not support (another `Authorization`
    /// scheme, a client assertion).
    UnsupportedMethod,
    /// No client is registered under the presented identifier.
    UnknownClient,
    /// The client is registered with another authentication method.
    MethodNotRegistered,
    /// The secret was wrong.
    WrongSecret,
    /// A client assertion failed a check: its signature, algorithm, type, audience,
    /// lifetime or `jti` ([RFC 7523 §3](https://www.rfc-editor.org/rfc/rfc7523#section-3)).
    InvalidAssertion,
    /// A client assertion whose `jti` was already used: a replay.
    AssertionReplayed,
}

/// Which [`AttemptLimiter`](crate::limiter::AttemptLimiter) refused an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Limiter {
    /// Guesses of a client's secret.
    ClientSecret,
    /// Guesses of a user's password at the password grant.
    Password,
    /// User codes entered at the device verification page.
    UserCode,
}

impl EventKind {
    /// The stable name of the event (`token_issued`, `refresh_reuse_detected`, ...): the
    /// `event` field of the log event and the `event` label of the metrics.
    pub fn name(&self) -> &'static str {
        match self {
            Self::TokenIssued { .. } => "token_issued",
            Self::TokenRefreshed { .. } => "token_refreshed",
            Self::RefreshReuseDetected { .. } => "refresh_reuse_detected",
            Self::CodeReplayDetected { .. } => "code_replay_detected",
            Self::GrantRevoked { .. } => "grant_revoked",
            Self::ClientAuthenticationFailed { .. } => "client_authentication_failed",
            Self::LockedOut { .. } => "locked_out",
            Self::ConsentGranted { .. } => "consent_granted",
            Self::ConsentDenied { .. } => "consent_denied",
            Self::DeviceCodeApproved { .. } => "device_code_approved",
            Self::DeviceCodeDenied { .. } => "device_code_denied",
            Self::TokenRevoked { .. } => "token_revoked",
            Self::IntrospectionRefused { .. } => "introspection_refused",
        }
    }

    /// The grant the event concerns, if any.
    pub fn grant_id(&self) -> Option<GrantId> {
        self.fields().grant_id
    }

    /// The client the server accepted for the request, if any (see the type's notes).
    pub fn client_id(&self) -> Option<&ClientId> {
        self.fields().client_id
    }

    /// The resource owner, when known.
    pub fn subject(&self) -> Option<&Subject> {
        self.fields().subject
    }

    /// The OAuth error the request was answered with, for the events of refused requests.
    pub fn error(&self) -> Option<ErrorCode> {
        match self {
            Self::RefreshReuseDetected { .. } | Self::CodeReplayDetected { .. } => {
                Some(ErrorCode::INVALID_GRANT)
            }
            Self::ClientAuthenticationFailed { .. }
            | Self::LockedOut {
                limiter: Limiter::ClientSecret,
                ..
            } => Some(ErrorCode::INVALID_CLIENT),
            Self::LockedOut {
                limiter: Limiter::Password,
                ..
            } => Some(ErrorCode::INVALID_GRANT),
            Self::ConsentDenied { .. } | Self::DeviceCodeDenied { .. } => {
                Some(ErrorCode::ACCESS_DENIED)
            }
            Self::IntrospectionRefused { .. } => Some(ErrorCode::UNAUTHORIZED_CLIENT),
            _ => None,
        }
    }

    /// Whether the event may be an attack in progress, worth an operator's attention:
    /// logged at `WARN`, the others at `INFO`.
    #[cfg_attr(not(feature = "tracing"), allow(dead_code))]
    pub(crate) fn is_alert(&self) -> bool {
        matches!(
            self,
            Self::RefreshReuseDetected { .. }
                | Self::CodeReplayDetected { .. }
                | Self::ClientAuthenticationFailed { .. }
                | Self::LockedOut { .. }
                | Self::IntrospectionRefused { .. }
                | Self::GrantRevoked {
                    cause: RevocationCause::CodeReplay | RevocationCause::RefreshReuse,
                    ..
                }
        )
    }

    /// Every field, as the log event records it: one view of all the kinds, so that a new
    /// kind needs one arm here and nothing else.
    pub(crate) fn fields(&self) -> Fields<'_> {
        let mut fields = Fields::default();
        match self {
            Self::TokenIssued {
                grant_type,
                client_id,
                subject,
                grant_id,
                scope,
                refresh_token,
                id_token,
            } => {
                fields.grant_type = Some(grant_type.as_str());
                fields.client_id = Some(client_id);
                fields.subject = subject.as_ref();
                fields.grant_id = Some(*grant_id);
                fields.scope = Some(scope);
                fields.refresh_token = Some(*refresh_token);
                fields.id_token = Some(*id_token);
            }
            Self::TokenRefreshed {
                client_id,
                subject,
                grant_id,
                scope,
                refresh_token,
                id_token,
            } => {
                fields.client_id = Some(client_id);
                fields.subject = subject.as_ref();
                fields.grant_id = Some(*grant_id);
                fields.scope = Some(scope);
                fields.refresh_token = Some(*refresh_token);
                fields.id_token = Some(*id_token);
            }
            Self::RefreshReuseDetected {
                client_id,
                grant_id,
                revoked,
            } => {
                fields.client_id = Some(client_id);
                fields.grant_id = Some(*grant_id);
                fields.revoked = Some(*revoked);
            }
            Self::CodeReplayDetected {
                client_id,
                grant_id,
                code,
            } => {
                fields.client_id = Some(client_id);
                fields.grant_id = Some(*grant_id);
                fields.code = Some(code.as_str());
            }
            Self::GrantRevoked {
                grant_id,
                client_id,
                cause,
            } => {
                fields.client_id = Some(client_id);
                fields.grant_id = Some(*grant_id);
                fields.cause = Some(cause.as_str());
            }
            Self::ClientAuthenticationFailed {
                client_id_claimed,
                method,
                reason,
            } => {
                fields.client_id_claimed = client_id_claimed.as_ref();
                fields.method = method.map(AuthMethod::as_str);
                fields.reason = Some(reason.as_str());
            }
            Self::LockedOut {
                limiter,
                client_id,
                client_id_claimed,
            } => {
                fields.limiter = Some(limiter.as_str());
                fields.client_id = client_id.as_ref();
                fields.client_id_claimed = client_id_claimed.as_ref();
            }
            Self::ConsentGranted {
                client_id,
                subject,
                grant_id,
                scope,
            }
            | Self::DeviceCodeApproved {
                client_id,
                subject,
                grant_id,
                scope,
            } => {
                fields.client_id = Some(client_id);
                fields.subject = Some(subject);
                fields.grant_id = Some(*grant_id);
                fields.scope = Some(scope);
            }
            Self::ConsentDenied { client_id } | Self::IntrospectionRefused { client_id } => {
                fields.client_id = Some(client_id);
            }
            Self::DeviceCodeDenied {
                client_id,
                grant_id,
            } => {
                fields.client_id = Some(client_id);
                fields.grant_id = Some(*grant_id);
            }
            Self::TokenRevoked {
                client_id,
                grant_id,
                kind,
            } => {
                fields.client_id = Some(client_id);
                fields.grant_id = Some(*grant_id);
                fields.token_type = Some(match kind {
                    TokenKind::Access => "access_token",
                    TokenKind::Refresh => "refresh_token",
                });
            }
        }
        fields
    }
}

/// Every field an [`EventKind`] may have, each `None` where the kind has none.
#[derive(Debug, Default)]
pub(crate) struct Fields<'a> {
    pub(crate) grant_id: Option<GrantId>,
    pub(crate) client_id: Option<&'a ClientId>,
    pub(crate) client_id_claimed: Option<&'a Claimed>,
    pub(crate) subject: Option<&'a Subject>,
    pub(crate) scope: Option<&'a Scope>,
    pub(crate) grant_type: Option<&'a str>,
    pub(crate) refresh_token: Option<bool>,
    pub(crate) id_token: Option<bool>,
    pub(crate) revoked: Option<bool>,
    pub(crate) code: Option<&'static str>,
    pub(crate) cause: Option<&'static str>,
    pub(crate) method: Option<&'static str>,
    pub(crate) reason: Option<&'static str>,
    pub(crate) limiter: Option<&'static str>,
    pub(crate) token_type: Option<&'static str>,
}

impl ReplayedCode {
    /// `authorization_code` or `device_code`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AuthorizationCode => "authorization_code",
            Self::DeviceCode => "device_code",
        }
    }
}

impl RevocationCause {
    /// `code_replay`, `refresh_reuse` or `refresh_token_revoked`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CodeReplay => "code_replay",
            Self::RefreshReuse => "refresh_reuse",
            Self::RefreshTokenRevoked => "refresh_token_revoked",
        }
    }
}

impl AuthFailure {
    /// The reason as logged: `no_credentials`, `malformed`, `unsupported_method`,
    /// `unknown_client`, `method_not_registered`, `wrong_secret`, `invalid_assertion` or
    /// `assertion_replayed`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NoCredentials => "no_credentials",
            Self::Malformed => "malformed",
            Self::UnsupportedMethod => "unsupported_method",
            Self::UnknownClient => "unknown_client",
            Self::MethodNotRegistered => "method_not_registered",
            Self::WrongSecret => "wrong_secret",
            Self::InvalidAssertion => "invalid_assertion",
            Self::AssertionReplayed => "assertion_replayed",
        }
    }
}

impl Limiter {
    /// `client_secret`, `password` or `user_code`: also the `limiter` label of the lockout
    /// metric.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ClientSecret => "client_secret",
            Self::Password => "password",
            Self::UserCode => "user_code",
        }
    }
}
