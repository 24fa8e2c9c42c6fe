//! The authorization endpoint
//! ([RFC 6749 §3.1](https://www.rfc-editor.org/rfc/rfc6749#section-3.1),
//! [§4.1.1](https://www.rfc-editor.org/rfc/rfc6749#section-4.1.1)) as a two-phase API:
//! [`Server::authorize`] validates and stops with a
//! [`PendingAuthorization`] that the host resolves after it has authenticated the user and
//! asked for consent.
//!
//! # Keeping the request across login and consent pages
//!
//! A [`PendingAuthorization`] is deliberately not serialisable. To carry a request across
//! the host's login and consent pages, keep the **original raw query string** (in the
//! session, or in a hidden field of the consent form protected by the host's CSRF token)
//! and call [`Server::authorize`] again with it when the user comes back, then approve or
//! deny the fresh value.
//!
//! Why re-validation rather than a serialised pending value:
//! - nothing that crossed the browser is trusted: the client, its redirect URI, PKCE
//!   challenge and scope are checked again against the registry *as it is now* (a client
//!   disabled or a redirect URI unregistered in between no longer gets a code);
//! - there is no server-side state to expire, share between instances or protect with a
//!   MAC, and no format to version;
//! - validation is cheap (a registry lookup and string checks, no writes).
//!
//! The raw query holds no secret (the PKCE challenge is a hash; `state` is the client's own
//! value), so keeping it in a session or a form field leaks nothing the browser did not
//! already have. What binds the approval to *this* user is the host's session and CSRF
//! protection of its consent form ([RFC 6749 §10.12]), which the crate cannot do for it.
//!
//! [RFC 6749 §10.12]: https://www.rfc-editor.org/rfc/rfc6749#section-10.12

use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

use crate::endpoint::is_form_content_type;
use crate::error::{ErrorCode, OAuthError, StorageError};
use crate::grant::resolve_scope;
use crate::grant::resource::{Requested, resolve_resources};
use crate::http::{HttpRequest, HttpResponse, Method, Status};
use crate::observe::EventKind;
use crate::observe::call::{Call, Endpoint, Outcome};
use crate::params::{FormLimits, Pairs, first_repeated, parse_pairs};
use crate::pkce::{CodeChallenge, PkceMethod};
use crate::secret::{AuthorizationCode, TokenHash};
use crate::server::Server;
use crate::store::{AuthorizationGrant, Consumption, OpenIdContext, find_presented_client};
use crate::types::{
    Client, ClientId, GrantId, GrantType, LocalhostPort, Resources, Scope, Subject,
};

/// The longest `state` accepted ([RFC 6749 App. A.5]). Longer values are a local error: they
/// cannot be
/// echoed safely.
///
/// [RFC 6749 App. A.5]: https://www.rfc-editor.org/rfc/rfc6749#appendix-A.5
pub(crate) const MAX_STATE_LEN: usize = 2048;

/// A validated authorization request waiting for the resource owner's decision.
///
/// Resolve it with [`approve`](Self::approve) after the host has authenticated the user
/// and obtained consent, or with [`deny`](Self::deny). Nothing is redirected before that,
/// so the end-user is always authenticated at the authorization server before the
/// browser goes back to the client ([RFC 9700 §4.11.2],
/// [RFC 9700 §4.11.2](https://www.rfc-editor.org/rfc/rfc9700#section-4.11.2)).
///
/// It is not `Serialize`: to survive login and consent pages, keep the original query and
/// call [`Server::authorize`] again (see the [module notes](crate::Server::authorize)).
///
/// `Debug` shows the client, redirect URI and scope, never the PKCE challenge.
///
/// [RFC 9700 §4.11.2]: https://www.rfc-editor.org/rfc/rfc9700#section-4.11.2
#[must_use = "an authorization request must be approved or denied"]
pub struct PendingAuthorization {
    /// The server that validated the request, which stores the code.
    pub(crate) server: Server,
    pub(crate) client: Arc<Client>,
    redirect_uri: String,
    redirect_uri_sent: bool,
    pub(crate) scope: Scope,
    resources: Resources,
    state: Option<String>,
    challenge: Option<CodeChallenge>,
    issuer: Arc<str>,
    see_other: bool,
    /// The digest of the pushed request's `request_uri`, used up on approval.
    pushed: Option<TokenHash>,
    /// The DPoP key the code is to be bound to (`dpop_jkt`), when DPoP is on.
    dpop_jkt: Option<String>,
    /// The single-use key of the request object's `jti` and until when it is kept, used
    /// up on approval.
    object_jti: Option<(TokenHash, SystemTime)>,
    /// The OpenID Connect parameters of an OpenID request (feature `oidc`).
    #[cfg(feature = "oidc")]
    pub(crate) openid: Option<crate::oidc::OpenIdRequest>,
}

/// The `request_uri` prefix of pushed authorization requests
/// ([RFC 9126 §2.2](https://www.rfc-editor.org/rfc/rfc9126#section-2.2)).
pub(crate) const REQUEST_URI_PREFIX: &str = "urn:ietf:params:oauth:request_uri:";

/// Whether an authorization request came as a signed request object
/// ([RFC 9101](https://www.rfc-editor.org/rfc/rfc9101)).
#[derive(Clone, Copy, Debug)]
pub(crate) enum Object {
    /// Plain parameters.
    Plain,
    /// A request object whose signature and claims verified: the content problem to
    /// refuse through the redirect URI, if any, and its `jti` to use up on approval.
    #[cfg_attr(not(feature = "jwt"), allow(dead_code))]
    Signed {
        problem: Option<&'static str>,
        jti: Option<(TokenHash, SystemTime)>,
    },
}

/// How an authorization request reached [`Server::validate_authorization`].
#[derive(Clone, Copy, Debug)]
pub(crate) enum Via {
    /// The front channel, with its parameters in the query or form.
    Front,
    /// Being pushed, at the pushed authorization request endpoint.
    Pushing,
    /// Through the `request_uri` whose digest this is.
    Pushed(TokenHash),
}

impl fmt::Debug for PendingAuthorization {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PendingAuthorization")
            .field("client_id", self.client.id())
            .field("redirect_uri", &self.redirect_uri)
            .field("scope", &self.scope)
            .field("resources", &self.resources)
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

impl PendingAuthorization {
    /// The requesting client's identifier.
    pub fn client_id(&self) -> &ClientId {
        self.client.id()
    }

    /// Whether the client was registered by no administrator: it was resolved from a
    /// client ID metadata document, or it registered itself
    /// ([`Client::is_self_registered`](crate::Client::is_self_registered)), so everything
    /// it says about itself is self-asserted. Say so on the consent page, with
    /// [`client_id_host`](Self::client_id_host) when there is one.
    pub fn is_unregistered_client(&self) -> bool {
        self.client.metadata_document().is_some() || self.client.is_self_registered()
    }

    /// The host of the `client_id` URL of a client resolved from a client ID metadata
    /// document: the one name on the consent page the client cannot choose freely
    /// ([client ID metadata documents §6.4](https://datatracker.ietf.org/doc/draft-ietf-oauth-client-id-metadata-document/)).
    /// `None` for registered clients.
    pub fn client_id_host(&self) -> Option<&str> {
        self.client
            .metadata_document()
            .map(|document| document.host())
    }

    /// The client's display name for the consent page, if registered.
    ///
    /// # Security
    /// Chosen by whoever registered the client: escape it when rendering.
    pub fn client_name(&self) -> Option<&str> {
        self.client.name()
    }

    /// The client's registration.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The scope the client asked for (or its default scope), already checked against the
    /// client's allowed scope.
    pub fn requested_scope(&self) -> &Scope {
        &self.scope
    }

    /// The resources the client asked access to (`resource`,
    /// [RFC 8707 §2.1](https://www.rfc-editor.org/rfc/rfc8707#section-2.1)), or the
    /// server's default resource, already checked against the registered resources and
    /// the client's. Show them on the consent page ([RFC 8707 §2](https://www.rfc-editor.org/rfc/rfc8707#section-2)): the grant, and every token of
    /// it, is for these resources only. Empty when the request named none and there is no
    /// default.
    pub fn requested_resources(&self) -> &Resources {
        &self.resources
    }

    /// The verified redirect URI the response will go to.
    pub fn redirect_uri(&self) -> &str {
        &self.redirect_uri
    }

    /// The client's `state`, if any.
    ///
    /// # Security
    /// Untrusted input ([OAuth 2.1 §4.1.1]): escape it if it is ever rendered.
    ///
    /// [OAuth 2.1 §4.1.1]: https://datatracker.ietf.org/doc/html/draft-ietf-oauth-v2-1-15#section-4.1.1
    pub fn state(&self) -> Option<&str> {
        self.state.as_deref()
    }

    /// Whether the client's identity is assured well enough to approve a repeated request
    /// without asking the user again ([OAuth 2.1 §7.3],
    /// [OAuth 2.1 §7.3.1](https://datatracker.ietf.org/doc/html/draft-ietf-oauth-v2-1-15#section-7.3.1)).
    /// `true` for confidential clients, whose code is useless without their credentials;
    /// `false` for public clients, which anybody can impersonate at this endpoint: show
    /// them the consent screen every time.
    ///
    /// [OAuth 2.1 §7.3]: https://datatracker.ietf.org/doc/html/draft-ietf-oauth-v2-1-15#section-7.3
    pub fn identity_assured(&self) -> bool {
        !self.client.is_public()
    }

    /// Answers with `303 See Other` instead of `302 Found`: use it when the response
    /// answers a POST (a login or consent form), so the browser follows with a GET
    /// ([RFC 9700 §4.12], [RFC 9700 §4.12](https://www.rfc-editor.org/rfc/rfc9700#section-4.12)).
    /// Requests that reached [`Server::authorize`] as a POST answer with 303 already.
    ///
    /// [RFC 9700 §4.12]: https://www.rfc-editor.org/rfc/rfc9700#section-4.12
    pub fn see_other(mut self) -> Self {
        self.see_other = true;
        self
    }

    /// The resource owner `subject` approved: issues an authorization code bound to the
    /// client, redirect URI, PKCE challenge, subject and granted scope ([RFC 6749 §10.10]) and
    /// redirects to the client with `code`, `state` and `iss` ([RFC 6749 §3.1.2], [RFC 9207 §2]).
    ///
    /// `granted` is what the user consented to, which must be within the
    /// [`requested_scope`](Self::requested_scope): the user may narrow the request, never
    /// widen it. A scope token that was not requested is refused, not dropped: it means the
    /// consent page offered something the client did not ask for (or a tampered form), and
    /// issuing anything for it would hide that. The rule is the same for
    /// [`PendingDeviceAuthorization::approve`](crate::device::PendingDeviceAuthorization::approve).
    /// An empty `granted` grants nothing: the answer is the `access_denied` redirect of
    /// [`deny`](Self::deny), never a code for an empty scope. The code goes to the code
    /// store of the [`Server`] that validated the request.
    ///
    /// # Errors
    /// [`ApproveError`] when `granted` is broader than the request
    /// ([`ApproveError::is_scope_not_requested`]) or the code store fails. Log it and send
    /// [`ApproveError::into_response`], a `server_error` (or `temporarily_unavailable`)
    /// redirect to the client ([RFC 6749 §4.1.2.1]).
    ///
    /// For an OpenID Connect request (feature `oidc`), this is
    /// [`approve_authentication`](Self::approve_authentication) with an
    /// [`Authentication`](crate::authorize::Authentication) that says only who the user is.
    ///
    /// [RFC 6749 §10.10]: https://www.rfc-editor.org/rfc/rfc6749#section-10.10
    /// [RFC 6749 §3.1.2]: https://www.rfc-editor.org/rfc/rfc6749#section-3.1.2
    /// [RFC 9207 §2]: https://www.rfc-editor.org/rfc/rfc9207#section-2
    /// [RFC 6749 §4.1.2.1]: https://www.rfc-editor.org/rfc/rfc6749#section-4.1.2.1
    pub async fn approve(
        self,
        subject: Subject,
        granted: Scope,
    ) -> Result<HttpResponse, ApproveError> {
        #[cfg(feature = "oidc")]
        if self.openid.is_some() {
            let authentication = crate::oidc::Authentication::new(subject);
            return self.approve_authentication(authentication, granted).await;
        }
        let server = self.server.clone();
        let call = server.decision_call(&self);
        let decided = call
            .run(self.issue_code(subject, granted, None, &call))
            .await;
        finish_decision(call, &decided);
        decided
    }

    /// Issues the code of [`approve`](Self::approve), with the OpenID Connect context of
    /// an OpenID request.
    pub(crate) async fn issue_code(
        self,
        subject: Subject,
        granted: Scope,
        openid: Option<Arc<OpenIdContext>>,
        call: &Call<'_>,
    ) -> Result<HttpResponse, ApproveError> {
        if !granted.is_subset_of(&self.scope) {
            let response = self
                .target()
                .error(&OAuthError::new(ErrorCode::SERVER_ERROR));
            return Err(ApproveError {
                cause: ApproveCause::ScopeNotRequested,
                response,
            });
        }
        if granted.is_empty() {
            return Ok(self.refuse_in(ErrorCode::ACCESS_DENIED, call));
        }
        let config = self.server.config();
        let now = self.server.now();
        // RFC 9126 §4: a pushed request is used once, when the user approves it.
        if let Some(key) = &self.pushed {
            let consumed = match &config.pushed.store {
                Some(store) => store.consume(key, now).await,
                None => Ok(false),
            };
            match consumed {
                Ok(true) => {}
                Ok(false) => {
                    let response = self.target().error(
                        &OAuthError::new(ErrorCode::INVALID_REQUEST)
                            .with_description("request_uri expired or already used"),
                    );
                    return Err(ApproveError {
                        cause: ApproveCause::PushedRequestUsed,
                        response,
                    });
                }
                Err(source) => return Err(self.storage_failure(source)),
            }
        }
        // RFC 9101 §6: a request object with a `jti` is used once, when the user approves it.
        if let Some((key, until)) = &self.object_jti {
            match config.clients.single_use.consume(key, *until, now).await {
                Ok(Consumption::First) => {}
                Ok(_) => {
                    let response = self.target().error(
                        &OAuthError::new(ErrorCode::INVALID_REQUEST_OBJECT)
                            .with_description("request object already used"),
                    );
                    return Err(ApproveError {
                        cause: ApproveCause::RequestObjectUsed,
                        response,
                    });
                }
                Err(source) => return Err(self.storage_failure(source)),
            }
        }
        let random = &*config.random;
        let code = AuthorizationCode::generate_with(random);
        let grant = AuthorizationGrant {
            grant_id: GrantId::generate_with(random),
            client_id: self.client.id().clone(),
            redirect_uri: self
                .redirect_uri_sent
                .then(|| Arc::from(self.redirect_uri.as_str())),
            challenge: self.challenge,
            subject,
            scope: granted,
            resources: self.resources,
            issuer: Arc::clone(&self.issuer),
            issued_at: now,
            // A clock too far in the future to add the lifetime issues a code that is
            // already expired, rather than panicking.
            expires_at: now.checked_add(config.code_flow.code_ttl).unwrap_or(now),
            openid,
            dpop_jkt: self.dpop_jkt,
        };
        let target = Target {
            redirect_uri: &self.redirect_uri,
            state: self.state.as_deref(),
            issuer: &self.issuer,
            see_other: self.see_other,
        };
        let consent = EventKind::ConsentGranted {
            client_id: grant.client_id.clone(),
            subject: grant.subject.clone(),
            grant_id: grant.grant_id,
            scope: grant.scope.clone(),
        };
        match config.code_flow.store.insert(code.hash(), grant).await {
            Ok(()) => {
                call.emit(now, || consent);
                Ok(target.respond(&[("code", code.expose_secret())]))
            }
            Err(source) => {
                let code = if source.is_transient() {
                    ErrorCode::TEMPORARILY_UNAVAILABLE
                } else {
                    ErrorCode::SERVER_ERROR
                };
                let response = target.error(&OAuthError::new(code));
                Err(ApproveError {
                    cause: ApproveCause::Storage(source),
                    response,
                })
            }
        }
    }

    /// The resource owner refused (or the host decided against the request): redirects
    /// with `error=access_denied`, `state` and `iss` ([RFC 6749 §4.1.2.1]). A pushed request
    /// is left to expire: it can still only lead to a code through an approval.
    ///
    /// [RFC 6749 §4.1.2.1]: https://www.rfc-editor.org/rfc/rfc6749#section-4.1.2.1
    pub fn deny(self) -> HttpResponse {
        let server = self.server.clone();
        let call = server.decision_call(&self);
        let response = call.run_now(|| self.refuse_in(ErrorCode::ACCESS_DENIED, &call));
        call.finish(Outcome::Success);
        response
    }

    /// The redirect with the error `code`, during the decision `call`; `access_denied`
    /// records the user's refusal as a `consent_denied` event.
    pub(crate) fn refuse_in(&self, code: ErrorCode, call: &Call<'_>) -> HttpResponse {
        if code == ErrorCode::ACCESS_DENIED {
            call.emit(self.server.now(), || EventKind::ConsentDenied {
                client_id: self.client.id().clone(),
            });
        }
        let response = self.target().error(&OAuthError::new(code.clone()));
        call.refused(code);
        response
    }

    /// The `server_error` (or `temporarily_unavailable`) redirect of a store failure.
    fn storage_failure(&self, source: StorageError) -> ApproveError {
        let response = self
            .target()
            .error(&OAuthError::new(if source.is_transient() {
                ErrorCode::TEMPORARILY_UNAVAILABLE
            } else {
                ErrorCode::SERVER_ERROR
            }));
        ApproveError {
            cause: ApproveCause::Storage(source),
            response,
        }
    }

    pub(crate) fn target(&self) -> Target<'_> {
        Target {
            redirect_uri: &self.redirect_uri,
            state: self.state.as_deref(),
            issuer: &self.issuer,
            see_other: self.see_other,
        }
    }
}

impl Server {
    /// Starts observing the resource owner's decision on `pending`.
    pub(crate) fn decision_call(&self, pending: &PendingAuthorization) -> Call<'_> {
        let call = self.call(Endpoint::AuthorizationDecision);
        call.accepted(pending.client.id());
        call
    }
}

/// Ends the decision `call`, which `decided`: a refusal redirect was recorded by
/// [`PendingAuthorization::refuse_in`]; an approval the server could not take is the
/// `server_error` redirect the client sees, or the fault of the code store.
pub(crate) fn finish_decision(call: Call<'_>, decided: &Result<HttpResponse, ApproveError>) {
    call.finish(match decided {
        Ok(_) => Outcome::Success,
        Err(ApproveError {
            cause: ApproveCause::Storage(fault),
            ..
        }) => Outcome::StorageFault(fault),
        Err(_) => Outcome::Refused(Some("server_error")),
    });
}

/// Why [`Server::authorize`] did not produce a [`PendingAuthorization`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthorizeError {
    /// The client or its redirect URI could not be verified, or the request cannot be
    /// answered safely (a malformed `state`). Show an error page to the user; **never**
    /// redirect ([RFC 6749 §4.1.2.1](https://www.rfc-editor.org/rfc/rfc6749#section-4.1.2.1),
    /// [RFC 6749 §4.1.2.1], [RFC 6749 §3.1.2.3]): this variant has no redirect to offer.
    /// [`OAuthError::to_response`] gives a plain 400 without `Location`.
    ///
    /// [RFC 6749 §4.1.2.1]: https://www.rfc-editor.org/rfc/rfc6749#section-4.1.2.1
    /// [RFC 6749 §3.1.2.3]: https://www.rfc-editor.org/rfc/rfc6749#section-3.1.2.3
    #[error("authorization request rejected: {0}")]
    Rejected(OAuthError),
    /// The client and redirect URI are verified, and the request is invalid. The value can
    /// redirect the error to the client, but only call
    /// [`RedirectError::into_response`] **after the user has authenticated** at the
    /// authorization server ([RFC 9700 §4.11.2]): otherwise a registered but hostile client can
    /// use the
    /// endpoint as an open redirector for phishing. Before login, show the login page (and
    /// re-run [`Server::authorize`] after it) or render the error locally.
    ///
    /// [RFC 9700 §4.11.2]: https://www.rfc-editor.org/rfc/rfc9700#section-4.11.2
    #[error("authorization request failed: {}", .0.error())]
    Redirect(RedirectError),
    /// The client registry failed while looking up the client; nothing can be redirected
    /// yet. Log it and show an error page.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// A protocol error to redirect to a verified redirect URI, with `error`, `state` and
/// `iss` in the query ([RFC 6749 §4.1.2.1], [RFC 9207 §2], [RFC 6749 §3.1]). See
/// [`AuthorizeError::Redirect`] for when to
/// send it.
///
/// [RFC 6749 §4.1.2.1]: https://www.rfc-editor.org/rfc/rfc6749#section-4.1.2.1
/// [RFC 9207 §2]: https://www.rfc-editor.org/rfc/rfc9207#section-2
/// [RFC 6749 §3.1]: https://www.rfc-editor.org/rfc/rfc6749#section-3.1
pub struct RedirectError(Box<RedirectParts>);

/// Boxed so that `Result<PendingAuthorization, AuthorizeError>` stays small.
struct RedirectParts {
    error: OAuthError,
    redirect_uri: String,
    state: Option<String>,
    issuer: Arc<str>,
    see_other: bool,
}

impl fmt::Debug for RedirectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedirectError")
            .field("error", &self.0.error)
            .field("redirect_uri", &self.0.redirect_uri)
            .finish_non_exhaustive()
    }
}

impl RedirectError {
    /// The error that will be sent.
    pub fn error(&self) -> &OAuthError {
        &self.0.error
    }

    /// The verified redirect URI.
    pub fn redirect_uri(&self) -> &str {
        &self.0.redirect_uri
    }

    /// Answers with `303 See Other` instead of `302 Found` (when answering a POST).
    #[must_use]
    pub fn see_other(mut self) -> Self {
        self.0.see_other = true;
        self
    }

    /// The redirect: `302` (or `303`) with `Location: <redirect_uri>?error=...&state=...&iss=...`.
    /// Call it only once the end-user has authenticated ([RFC 9700 §4.11.2]).
    ///
    /// [RFC 9700 §4.11.2]: https://www.rfc-editor.org/rfc/rfc9700#section-4.11.2
    pub fn into_response(self) -> HttpResponse {
        let parts = &self.0;
        Target {
            redirect_uri: &parts.redirect_uri,
            state: parts.state.as_deref(),
            issuer: &parts.issuer,
            see_other: parts.see_other,
        }
        .error(&parts.error)
    }
}

/// [`PendingAuthorization::approve`] issued no code: the granted scope was broader than
/// the request, a pushed request ([RFC 9126 §4](https://www.rfc-editor.org/rfc/rfc9126#section-4))
/// had expired or was already used, or a store failed. The client is owed the redirect
/// [`into_response`](Self::into_response) is: `invalid_request` for the pushed request,
/// `server_error` otherwise.
#[derive(Debug)]
pub struct ApproveError {
    cause: ApproveCause,
    response: HttpResponse,
}

#[derive(Debug)]
enum ApproveCause {
    ScopeNotRequested,
    /// The pushed request expired, or another approval used it first.
    PushedRequestUsed,
    /// The request object's `jti` was used before.
    RequestObjectUsed,
    Storage(StorageError),
    /// The OpenID request needs what the host did not say (feature `oidc`).
    #[cfg(feature = "oidc")]
    Authentication(&'static str),
}

impl fmt::Display for ApproveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.cause {
            ApproveCause::ScopeNotRequested => {
                "the granted scope is not within the requested scope"
            }
            ApproveCause::PushedRequestUsed => "the pushed request expired or was already used",
            ApproveCause::RequestObjectUsed => "the request object was already used",
            ApproveCause::Storage(_) => "could not issue the authorization code",
            #[cfg(feature = "oidc")]
            ApproveCause::Authentication(what) => what,
        })
    }
}

impl std::error::Error for ApproveError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.cause {
            ApproveCause::Storage(source) => Some(source),
            _ => None,
        }
    }
}

impl ApproveError {
    /// Whether the granted scope had a token the client did not request: a fault of the
    /// consent page (or a tampered form), not of storage.
    pub fn is_scope_not_requested(&self) -> bool {
        matches!(self.cause, ApproveCause::ScopeNotRequested)
    }

    /// The storage failure, for the host's logs, when that was the cause.
    pub fn storage_error(&self) -> Option<&StorageError> {
        match &self.cause {
            ApproveCause::Storage(source) => Some(source),
            _ => None,
        }
    }

    /// An approval the OpenID request cannot take: the host did not say what the request
    /// needs (feature `oidc`). The client gets `server_error`.
    #[cfg(feature = "oidc")]
    pub(crate) fn authentication(pending: &PendingAuthorization, what: &'static str) -> Self {
        Self {
            cause: ApproveCause::Authentication(what),
            response: pending
                .target()
                .error(&OAuthError::new(ErrorCode::SERVER_ERROR)),
        }
    }

    /// The redirect to send: `error=server_error` (or `temporarily_unavailable` for a
    /// transient storage failure) with `state` and `iss`, no internal detail ([RFC 6749 §4.1.2.1]).
    ///
    /// [RFC 6749 §4.1.2.1]: https://www.rfc-editor.org/rfc/rfc6749#section-4.1.2.1
    pub fn into_response(self) -> HttpResponse {
        self.response
    }
}

/// Where and how an authorization response goes.
pub(crate) struct Target<'a> {
    redirect_uri: &'a str,
    state: Option<&'a str>,
    issuer: &'a str,
    see_other: bool,
}

impl Target<'_> {
    pub(crate) fn error(&self, error: &OAuthError) -> HttpResponse {
        let mut params: Vec<(&str, &str)> = Vec::with_capacity(3);
        params.push(("error", error.code().as_str()));
        if let Some(description) = error.description() {
            params.push(("error_description", description));
        }
        self.respond(&params)
    }

    /// The redirect with `params`, then `state` and `iss`, appended to the redirect URI's
    /// query, which is kept ([RFC 6749 §3.1.2], [RFC 6749 §3.1]). Values are form-encoded.
    ///
    /// [RFC 6749 §3.1.2]: https://www.rfc-editor.org/rfc/rfc6749#section-3.1.2
    /// [RFC 6749 §3.1]: https://www.rfc-editor.org/rfc/rfc6749#section-3.1
    fn respond(&self, params: &[(&str, &str)]) -> HttpResponse {
        let mut location = String::with_capacity(self.redirect_uri.len() + 160);
        location.push_str(self.redirect_uri);
        match self.redirect_uri.find('?') {
            None => location.push('?'),
            Some(i) if i + 1 == self.redirect_uri.len() || self.redirect_uri.ends_with('&') => {}
            Some(_) => location.push('&'),
        }
        let start = location.len();
        let mut query = url::form_urlencoded::Serializer::for_suffix(location, start);
        for (name, value) in params {
            query.append_pair(name, value);
        }
        if let Some(state) = self.state {
            query.append_pair("state", state);
        }
        query.append_pair("iss", self.issuer);
        let location = query.finish();
        let status = if self.see_other {
            Status::SEE_OTHER
        } else {
            Status::FOUND
        };
        // The Location carries the code and the state: keep it out of logs.
        HttpResponse::new(status)
            .with_sensitive_header("location", location)
            .with_header("cache-control", "no-store")
    }
}

/// All parameters of the request, duplicates and empty values kept, so that stage A can
/// tell a repeated `client_id` from a repeated `scope`.
pub(crate) struct Params<'a> {
    pairs: Pairs<'a>,
}

impl<'a> Params<'a> {
    pub(crate) fn parse(input: &'a [u8], limits: &FormLimits) -> Result<Self, OAuthError> {
        let pairs = parse_pairs(input, limits).map_err(OAuthError::from)?;
        Ok(Self { pairs })
    }

    /// How often `name` appears, empty or not.
    fn count(&self, name: &str) -> usize {
        self.pairs.iter().filter(|(n, _)| n == name).count()
    }

    /// Every non-empty value of `name`, for the parameters that may repeat
    /// ([RFC 8707 §2](https://www.rfc-editor.org/rfc/rfc8707#section-2)).
    fn get_all<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'s str> + 's {
        self.pairs
            .iter()
            .filter(move |(n, v)| n == name && !v.is_empty())
            .map(|(_, v)| v.as_ref())
    }

    /// The non-empty value of `name` ([RFC 6749 §3.1]: empty counts as absent).
    ///
    /// [RFC 6749 §3.1]: https://www.rfc-editor.org/rfc/rfc6749#section-3.1
    fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(n, v)| n == name && !v.is_empty())
            .map(|(_, v)| v.as_ref())
    }

    /// A name that appears more than once, if any.
    fn repeated(&self) -> Option<&str> {
        first_repeated(&self.pairs)
    }
}

/// A local `invalid_request_object` ([RFC 9101 §6.2](https://www.rfc-editor.org/rfc/rfc9101#section-6.2)):
/// the object did not verify, so its redirect URI is not trusted.
#[cfg(feature = "jwt")]
fn invalid_object(description: &'static str) -> AuthorizeError {
    AuthorizeError::Rejected(
        OAuthError::new(ErrorCode::INVALID_REQUEST_OBJECT).with_description(description),
    )
}

fn rejected(description: &'static str) -> AuthorizeError {
    AuthorizeError::Rejected(
        OAuthError::new(ErrorCode::INVALID_REQUEST).with_description(description),
    )
}

/// [RFC 6749 App. A.5]: `state` is `1*VSCHAR` and at most [`MAX_STATE_LEN`] bytes.
///
/// [RFC 6749 App. A.5]: https://www.rfc-editor.org/rfc/rfc6749#appendix-A.5
pub(crate) fn state_is_echoable(state: &str) -> bool {
    state.len() <= MAX_STATE_LEN && state.bytes().all(|b| (0x20..=0x7e).contains(&b))
}

impl Server {
    /// Whether `client`'s authorization requests must be signed request objects, by the
    /// server's setting or its registration
    /// ([RFC 9101 §10.5](https://www.rfc-editor.org/rfc/rfc9101#section-10.5)).
    fn requires_object(&self, client: &Client) -> bool {
        #[cfg(feature = "jwt")]
        return self.config().clients.require_signed_request_object
            || client.requires_signed_request_object();
        #[cfg(not(feature = "jwt"))]
        {
            let _ = client;
            false
        }
    }

    /// The PKCE methods the authorization endpoint accepts, for the metadata member
    /// `code_challenge_methods_supported` ([RFC 9700 §2.1.1]): `["S256"]` unless `plain` was
    /// enabled
    /// through [`Dangerous::allow_plain_pkce`](crate::Dangerous::allow_plain_pkce).
    ///
    /// [RFC 9700 §2.1.1]: https://www.rfc-editor.org/rfc/rfc9700#section-2.1.1
    pub fn code_challenge_methods(&self) -> &'static [&'static str] {
        self.config().dangerous.code_challenge_methods()
    }

    /// The authorization endpoint: validates `GET /authorize` (or the same parameters as
    /// a form `POST`, [RFC 6749 §3.1]) in the order of the checklist's §3, and stops with a
    /// [`PendingAuthorization`] for the host to approve or deny.
    ///
    /// Stage A, local errors ([`AuthorizeError::Rejected`], never a redirect): the method;
    /// `client_id` present once and registered ([RFC 6749 §4.1.2.1]); the redirect URI present at
    /// most
    /// once, without fragment, exactly matching a registered one ([RFC 9700 §2.1]..[RFC 8252
    /// §8.3]), or
    /// absent with exactly one registered ([RFC 6749 §3.1.2.3], [OAuth 2.1 §2.3.2]); `state`
    /// echoable ([RFC 6749 App. A.5]); no
    /// `response_mode` but `query`.
    ///
    /// Stage B, redirect errors ([`AuthorizeError::Redirect`]): a repeated parameter
    /// ([RFC 6749 §3.1]; `resource` may repeat, [RFC 8707 §2]); `response_type` missing, not
    /// exactly `code` (implicit and hybrid types are refused with
    /// `unsupported_response_type`, [OAuth 2.1 §10.1], [RFC 9700 §2.1.2]) or not allowed for
    /// the client ([RFC 6749 §3.1.1]); PKCE ([RFC 7636 §4.4.1]..[RFC 7636 §4.2]); the scope
    /// ([RFC 6749 §3.3]); the resources (`invalid_target`, [RFC 8707 §2]).
    ///
    /// No response of this endpoint carries CORS headers ([RFC 9700 §2.6]).
    ///
    /// # Pushed requests
    ///
    /// With [`ServerBuilder::pushed_authorization`](crate::ServerBuilder::pushed_authorization),
    /// a request may be `client_id` and a `request_uri` from
    /// [`Server::pushed_authorization`] ([RFC 9126 §4](https://www.rfc-editor.org/rfc/rfc9126#section-4)):
    /// the pushed parameters are then the request, and every other query parameter is
    /// ignored. Any other `request_uri` is refused with a `request_uri_not_supported`
    /// redirect. A pushed one that expired, was used or was pushed by another client is a
    /// local error (`invalid_request_uri`). Loading the request uses nothing up: the host may call
    /// `authorize` again after login and consent, and
    /// [`approve`](PendingAuthorization::approve) consumes the pushed request, once. A
    /// client held to pushed requests (by the server or its registration) that sends a
    /// plain request gets an `invalid_request` redirect.
    ///
    /// # DPoP
    ///
    /// With [`ServerBuilder::dpop`](crate::ServerBuilder::dpop), a `dpop_jkt` parameter
    /// ([RFC 9449 §10](https://www.rfc-editor.org/rfc/rfc9449#section-10)) binds the code
    /// to that key: the token request must carry a proof by it, else `invalid_grant`. A
    /// value that is not a base64url SHA-256 JWK thumbprint gets an `invalid_request`
    /// redirect. With DPoP off the parameter is ignored.
    ///
    /// # Request objects
    ///
    /// With the `jwt` feature, a request may be `client_id` and `request`, a request object
    /// signed by that client ([RFC 9101 §5](https://www.rfc-editor.org/rfc/rfc9101#section-5)):
    /// verified with the client's registered keys and `request_object_signing_alg` (never
    /// `none` or HMAC), `iss` the client, `aud` the issuer, `exp` required and at most 10
    /// minutes of life, its `client_id` the query's. Only the object's parameters are the
    /// request; every other query parameter is ignored. A failed check is a local
    /// `invalid_request_object`; a member of a verified object of the wrong type (or a
    /// `request_uri` inside it) is an `invalid_request_object` redirect. An object with a
    /// `jti` is used once, on approval. A client held to request objects (by the server or
    /// its registration, `require_signed_request_object`) that sends plain parameters gets an
    /// `invalid_request` redirect.
    ///
    /// # Keeping the request across login and consent pages
    ///
    /// Keep the original raw query (session or CSRF-protected hidden field) and call
    /// `authorize` again when the user returns: nothing that crossed the browser is
    /// trusted, the registry is consulted as it is now, and no server-side state needs
    /// sharing or expiry. Validation is cheap and has no side effects.
    ///
    /// # Errors
    /// [`AuthorizeError`]: `Rejected` (show locally), `Redirect` (send after login) or
    /// `Storage` (the registry failed).
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
    /// use grantflow::authorize::AuthorizeError;
    ///
    /// let clients = Arc::new(MemoryClientRegistry::new());
    /// clients.insert(
    ///     Client::builder("app", ClientType::Public)
    ///         .redirect_uri("https://app.example/cb")
    ///         .grant_type(GrantType::AUTHORIZATION_CODE)
    ///         .allowed_scope("read")
    ///         .build()?,
    /// )?;
    /// let server = Server::builder("https://as.example.com", clients, Arc::new(MemoryTokenStore::new()))
    ///     .build()?;
    /// let request = HttpRequest::new(Method::Get).with_query(
    ///     "response_type=code&client_id=app&scope=read&state=xyz\
    ///      &code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256",
    /// );
    /// let pending = match server.authorize(&request).await {
    ///     Ok(pending) => pending,
    ///     // Once the user has logged in: send the error back to the client.
    ///     Err(AuthorizeError::Redirect(error)) => {
    ///         let _response: HttpResponse = error.into_response();
    ///         return Ok(());
    ///     }
    ///     // Unknown client or unregistered redirect URI: an error page, never a redirect.
    ///     Err(other) => return Err(other.into()),
    /// };
    /// // ... the host authenticates the user and asks for consent ...
    /// let granted = pending.requested_scope().clone();
    /// let response = pending.approve(Subject::new("alice"), granted).await?;
    /// assert_eq!(response.status, Status::FOUND);
    /// assert!(response.header("location").unwrap().starts_with("https://app.example/cb?code="));
    /// # Ok(()) }) }
    /// ```
    ///
    /// [RFC 6749 §3.1]: https://www.rfc-editor.org/rfc/rfc6749#section-3.1
    /// [RFC 6749 §4.1.2.1]: https://www.rfc-editor.org/rfc/rfc6749#section-4.1.2.1
    /// [RFC 9700 §2.1]: https://www.rfc-editor.org/rfc/rfc9700#section-2.1
    /// [RFC 8252 §8.3]: https://www.rfc-editor.org/rfc/rfc8252#section-8.3
    /// [RFC 6749 §3.1.2.3]: https://www.rfc-editor.org/rfc/rfc6749#section-3.1.2.3
    /// [OAuth 2.1 §2.3.2]: https://datatracker.ietf.org/doc/html/draft-ietf-oauth-v2-1-15#section-2.3.2
    /// [RFC 6749 App. A.5]: https://www.rfc-editor.org/rfc/rfc6749#appendix-A.5
    /// [OAuth 2.1 §10.1]: https://datatracker.ietf.org/doc/html/draft-ietf-oauth-v2-1-15#section-10.1
    /// [RFC 9700 §2.1.2]: https://www.rfc-editor.org/rfc/rfc9700#section-2.1.2
    /// [RFC 6749 §3.1.1]: https://www.rfc-editor.org/rfc/rfc6749#section-3.1.1
    /// [RFC 7636 §4.4.1]: https://www.rfc-editor.org/rfc/rfc7636#section-4.4.1
    /// [RFC 7636 §4.2]: https://www.rfc-editor.org/rfc/rfc7636#section-4.2
    /// [RFC 6749 §3.3]: https://www.rfc-editor.org/rfc/rfc6749#section-3.3
    /// [RFC 8707 §2]: https://www.rfc-editor.org/rfc/rfc8707#section-2
    /// [RFC 9700 §2.6]: https://www.rfc-editor.org/rfc/rfc9700#section-2.6
    pub async fn authorize(
        &self,
        request: &HttpRequest,
    ) -> Result<PendingAuthorization, AuthorizeError> {
        let call = self.call(Endpoint::Authorization);
        let validated = call.run(self.authorize_in(request, &call)).await;
        call.finish(match &validated {
            Ok(_) => Outcome::Success,
            Err(AuthorizeError::Rejected(error)) => Outcome::Refused(Some(error.code().as_str())),
            Err(AuthorizeError::Redirect(error)) => {
                Outcome::Refused(Some(error.error().code().as_str()))
            }
            Err(AuthorizeError::Storage(fault)) => Outcome::StorageFault(fault),
        });
        validated
    }

    /// The work of [`authorize`](Self::authorize), inside its span.
    async fn authorize_in(
        &self,
        request: &HttpRequest,
        call: &Call<'_>,
    ) -> Result<PendingAuthorization, AuthorizeError> {
        let (raw, is_post) = request_parameters(request)?;
        let params = Params::parse(raw, &self.config().http.form_limits)
            .map_err(AuthorizeError::Rejected)?;
        // A pushed request's reference (RFC 9126 §4); any other `request_uri` is refused in
        // stage B, through the redirect (`request_uri_not_supported`).
        let pushed = params
            .get("request_uri")
            .is_some_and(|uri| uri.starts_with(REQUEST_URI_PREFIX));
        if pushed && self.config().pushed.is_enabled() {
            return self.authorize_pushed(&params, is_post, call).await;
        }
        #[cfg(feature = "jwt")]
        if params.count("request") > 0 {
            return self.authorize_object(&params, is_post, call).await;
        }
        let client = self.requesting_client(&params, call).await?;
        self.validate_authorization(
            &params,
            client,
            is_post,
            Via::Front,
            Object::Plain,
            Some(call),
        )
        .await
    }

    /// An authorization request by value ([RFC 9101 §5]): `client_id` and `request` (a
    /// request object signed by that client), nothing else counts. Until the object's
    /// signature, claims and `client_id` verified, nothing in it is trusted: failures are
    /// local `invalid_request_object` errors. Then the object's parameters are the request
    /// (every other query parameter is ignored, [RFC 9101 §6.3]), validated like any
    /// other. Nothing is used up: the object's `jti` is consumed when the user approves.
    ///
    /// [RFC 9101 §5]: https://www.rfc-editor.org/rfc/rfc9101#section-5
    /// [RFC 9101 §6.3]: https://www.rfc-editor.org/rfc/rfc9101#section-6.3
    #[cfg(feature = "jwt")]
    async fn authorize_object(
        &self,
        params: &Params<'_>,
        is_post: bool,
        call: &Call<'_>,
    ) -> Result<PendingAuthorization, AuthorizeError> {
        if params.count("request") > 1 {
            return Err(rejected("repeated request"));
        }
        if params.count("request_uri") > 0 {
            return Err(rejected("request and request_uri are mutually exclusive"));
        }
        let client = self.requesting_client(params, call).await?;
        let Some(token) = params.get("request") else {
            return Err(invalid_object("request object required"));
        };
        let object = self
            .object_check()
            .verify(&client, token)
            .await
            .map_err(invalid_object)?;
        let inner = Params::parse(
            object.parameters.as_bytes(),
            &self.config().http.form_limits,
        )
        .map_err(|_| invalid_object("request object has too many parameters"))?;
        let signed = Object::Signed {
            problem: object.problem,
            jti: object.jti,
        };
        self.validate_authorization(&inner, client, is_post, Via::Front, signed, Some(call))
            .await
    }

    /// What verifying a request object needs from this server.
    #[cfg(feature = "jwt")]
    pub(crate) fn object_check(&self) -> crate::request_object::ObjectCheck<'_> {
        let config = self.config();
        crate::request_object::ObjectCheck {
            issuer: &config.issuer,
            algorithms: config.clients.client_jwt_algorithms,
            remote: config.clients.remote_source(),
            now: self.now(),
        }
    }

    /// The checks of [`authorize`](Self::authorize) from A3 on, for the request `params`
    /// of `client`: the one validation of every authorization request, whether it comes
    /// through the front channel, is pushed ([RFC 9126 §2.1]) or is used through its
    /// `request_uri`.
    ///
    /// [RFC 9126 §2.1]: https://www.rfc-editor.org/rfc/rfc9126#section-2.1
    pub(crate) async fn validate_authorization(
        &self,
        params: &Params<'_>,
        client: Arc<Client>,
        is_post: bool,
        via: Via,
        object: Object,
        call: Option<&Call<'_>>,
    ) -> Result<PendingAuthorization, AuthorizeError> {
        // Stage A: errors are shown locally, never redirected.
        let (redirect_uri, redirect_uri_sent) = self.verified_redirect_uri(params, &client)?;
        // The client is the registered one whose redirect URI was verified (OB-05).
        if let Some(call) = call {
            call.accepted(client.id());
        }
        let state = echoable_state(params)?;
        check_response_mode(params)?;

        // Stage B: errors from here on go back to the client, after login (AZ-07).
        let issuer: Arc<str> = Arc::from(self.issuer());
        let redirect = |error| {
            AuthorizeError::Redirect(RedirectError(Box::new(RedirectParts {
                error,
                redirect_uri: redirect_uri.clone(),
                state: state.map(str::to_owned),
                issuer: Arc::clone(&issuer),
                see_other: is_post,
            })))
        };
        // EX-03: a client held to pushed requests sends nothing else.
        let pushed = &self.config().pushed;
        if matches!(via, Via::Front)
            && (pushed.required || client.requires_pushed_authorization_requests())
        {
            return Err(redirect(invalid_request(
                "pushed authorization request required",
            )));
        }
        let object_jti = match object {
            // RFC 9101 §6.3: the object verified, its redirect URI too: its problems go back.
            Object::Signed {
                problem: Some(problem),
                ..
            } => {
                return Err(redirect(
                    OAuthError::new(ErrorCode::INVALID_REQUEST_OBJECT).with_description(problem),
                ));
            }
            Object::Signed { problem: None, jti } => jti,
            // RFC 9101 §10.5: no downgrade to plain parameters. A pushed request was held
            // to it when it was pushed.
            Object::Plain if !matches!(via, Via::Pushed(_)) && self.requires_object(&client) => {
                return Err(redirect(invalid_request("signed request object required")));
            }
            Object::Plain => None,
        };
        let (challenge, scope, resources) =
            self.check_request(params, &client).map_err(redirect)?;
        let dpop_jkt = self.requested_dpop_jkt(params).map_err(redirect)?;
        // An OpenID Connect request (feature `oidc`): its own parameters.
        #[cfg(feature = "oidc")]
        let openid = self
            .openid_request(
                |name| params.get(name),
                &client,
                redirect_uri_sent,
                challenge.is_none(),
                &scope,
                &redirect,
            )
            .await?;

        Ok(PendingAuthorization {
            server: self.clone(),
            client,
            redirect_uri,
            redirect_uri_sent,
            scope,
            resources,
            state: state.map(str::to_owned),
            challenge,
            issuer,
            see_other: is_post,
            pushed: match via {
                Via::Pushed(key) => Some(key),
                Via::Front | Via::Pushing => None,
            },
            dpop_jkt,
            object_jti,
            #[cfg(feature = "oidc")]
            openid,
        })
    }

    /// An authorization request by `request_uri` ([RFC 9126 §4]): only a `request_uri` this
    /// server issued, unexpired and unused, with the `client_id` of the client that pushed
    /// it. Every other query parameter is ignored: the pushed parameters are the request,
    /// validated again against the registry as it is now. Every failure here is a local
    /// error: no redirect URI is trusted yet. Nothing is used up: the request is consumed
    /// when the user approves it.
    ///
    /// [RFC 9126 §4]: https://www.rfc-editor.org/rfc/rfc9126#section-4
    async fn authorize_pushed(
        &self,
        params: &Params<'_>,
        is_post: bool,
        call: &Call<'_>,
    ) -> Result<PendingAuthorization, AuthorizeError> {
        let local = |code: ErrorCode, description: &'static str| {
            AuthorizeError::Rejected(OAuthError::new(code).with_description(description))
        };
        if params.count("request_uri") > 1 {
            return Err(rejected("repeated request_uri"));
        }
        if params.count("request") > 0 {
            return Err(rejected("request and request_uri are mutually exclusive"));
        }
        let (Some(store), Some(request_uri)) =
            (&self.config().pushed.store, params.get("request_uri"))
        else {
            return Err(local(
                ErrorCode::REQUEST_URI_NOT_SUPPORTED,
                "only pushed authorization requests' request_uri values are supported",
            ));
        };
        if !request_uri.starts_with(REQUEST_URI_PREFIX) {
            return Err(local(
                ErrorCode::REQUEST_URI_NOT_SUPPORTED,
                "only pushed authorization requests' request_uri values are supported",
            ));
        }
        let client = self.requesting_client(params, call).await?;
        let key = TokenHash::of(request_uri);
        let Some(record) = store.find(&key, self.now()).await? else {
            return Err(local(
                ErrorCode::INVALID_REQUEST_URI,
                "request_uri unknown, expired or already used",
            ));
        };
        if record.client_id != *client.id() {
            return Err(local(
                ErrorCode::INVALID_REQUEST_URI,
                "request_uri unknown, expired or already used",
            ));
        }
        let pushed = Params::parse(
            record.parameters.as_bytes(),
            &self.config().http.form_limits,
        )
        .map_err(AuthorizeError::Rejected)?;
        self.validate_authorization(
            &pushed,
            client,
            is_post,
            Via::Pushed(key),
            Object::Plain,
            Some(call),
        )
        .await
    }

    /// `dpop_jkt` ([RFC 9449 §10](https://www.rfc-editor.org/rfc/rfc9449#section-10)), when
    /// DPoP is on: a base64url SHA-256 JWK thumbprint (43 characters), else
    /// `invalid_request`. With DPoP off the parameter is ignored, as any unknown one.
    fn requested_dpop_jkt(&self, params: &Params<'_>) -> Result<Option<String>, OAuthError> {
        #[cfg(feature = "dpop")]
        if self.config().dpop.checker.is_some() {
            return match params.get("dpop_jkt") {
                None => Ok(None),
                Some(jkt) if crate::dpop::is_thumbprint(jkt) => Ok(Some(jkt.to_owned())),
                Some(_) => Err(invalid_request(
                    "dpop_jkt must be a base64url SHA-256 JWK thumbprint",
                )),
            };
        }
        let _ = params;
        Ok(None)
    }

    /// A2: `client_id` present once and registered ([RFC 6749 §4.1.2.1]).
    ///
    /// [RFC 6749 §4.1.2.1]: https://www.rfc-editor.org/rfc/rfc6749#section-4.1.2.1
    async fn requesting_client(
        &self,
        params: &Params<'_>,
        call: &Call<'_>,
    ) -> Result<Arc<Client>, AuthorizeError> {
        if params.count("client_id") > 1 {
            return Err(rejected("repeated client_id"));
        }
        let Some(client_id) = params.get("client_id") else {
            return Err(rejected("client_id required"));
        };
        call.claimed(client_id);
        match find_presented_client(&*self.config().clients.registry, client_id).await? {
            Some(client) => Ok(client),
            None => Err(rejected("unknown client")),
        }
    }

    /// A3: the redirect URI ([RFC 6749 §3.1.2.3], [RFC 9700 §2.1]..[OAuth 2.1 §2.3.2]): present at
    /// most once, without fragment,
    /// exactly matching a registered one; or absent with exactly one registered. Also says
    /// whether the request sent it (the token request must then repeat it, [RFC 6749 §4.1.3]).
    ///
    /// [RFC 6749 §3.1.2.3]: https://www.rfc-editor.org/rfc/rfc6749#section-3.1.2.3
    /// [RFC 9700 §2.1]: https://www.rfc-editor.org/rfc/rfc9700#section-2.1
    /// [OAuth 2.1 §2.3.2]: https://datatracker.ietf.org/doc/html/draft-ietf-oauth-v2-1-15#section-2.3.2
    /// [RFC 6749 §4.1.3]: https://www.rfc-editor.org/rfc/rfc6749#section-4.1.3
    fn verified_redirect_uri(
        &self,
        params: &Params<'_>,
        client: &Client,
    ) -> Result<(String, bool), AuthorizeError> {
        if params.count("redirect_uri") > 1 {
            return Err(rejected("repeated redirect_uri"));
        }
        let Some(requested) = params.get("redirect_uri") else {
            return match client.redirect_uris() {
                [only] => Ok((only.as_str().to_owned(), false)),
                [] => Err(rejected("the client has no registered redirect_uri")),
                _ => Err(rejected("redirect_uri required")),
            };
        };
        if requested.contains('#') {
            return Err(rejected("redirect_uri must not have a fragment"));
        }
        // RU-07: the localhost port switch applies to public (native) clients only.
        let localhost = if client.is_public() {
            self.config().code_flow.localhost_port
        } else {
            LocalhostPort::Exact
        };
        if !client
            .redirect_uris()
            .iter()
            .any(|registered| registered.matches(requested, localhost))
        {
            return Err(rejected("redirect_uri is not registered for this client"));
        }
        Ok((requested.to_owned(), true))
    }

    /// Stage B, in order: a repeated parameter other than `resource` ([RFC 6749 §3.1],
    /// [RFC 8707 §2]); the response type ([RFC 6749 §3.1.1], [OAuth 2.1 §10.1],
    /// [RFC 9700 §2.1.2]); PKCE ([RFC 7636 §4.4.1]..[RFC 7636 §4.2]); the scope
    /// ([RFC 6749 §3.3]); the resources ([RFC 8707 §2]). Returns the PKCE challenge, and the
    /// scope and resources to ask the user for.
    ///
    /// [RFC 6749 §3.1]: https://www.rfc-editor.org/rfc/rfc6749#section-3.1
    /// [RFC 8707 §2]: https://www.rfc-editor.org/rfc/rfc8707#section-2
    /// [RFC 6749 §3.1.1]: https://www.rfc-editor.org/rfc/rfc6749#section-3.1.1
    /// [OAuth 2.1 §10.1]: https://datatracker.ietf.org/doc/html/draft-ietf-oauth-v2-1-15#section-10.1
    /// [RFC 9700 §2.1.2]: https://www.rfc-editor.org/rfc/rfc9700#section-2.1.2
    /// [RFC 7636 §4.4.1]: https://www.rfc-editor.org/rfc/rfc7636#section-4.4.1
    /// [RFC 7636 §4.2]: https://www.rfc-editor.org/rfc/rfc7636#section-4.2
    /// [RFC 6749 §3.3]: https://www.rfc-editor.org/rfc/rfc6749#section-3.3
    fn check_request(
        &self,
        params: &Params<'_>,
        client: &Client,
    ) -> Result<(Option<CodeChallenge>, Scope, Resources), OAuthError> {
        if params.repeated().is_some() {
            return Err(invalid_request("repeated parameter"));
        }
        // JR-01: request objects by reference are only the pushed ones.
        if params.get("request_uri").is_some() {
            if params.get("request").is_some() {
                return Err(invalid_request(
                    "request and request_uri are mutually exclusive",
                ));
            }
            return Err(
                OAuthError::new(ErrorCode::REQUEST_URI_NOT_SUPPORTED).with_description(
                    "only request_uri values of pushed authorization requests are supported",
                ),
            );
        }
        #[cfg(not(feature = "jwt"))]
        if params.get("request").is_some() {
            return Err(OAuthError::new(ErrorCode::REQUEST_NOT_SUPPORTED)
                .with_description("request objects are not supported"));
        }
        check_response_type(params, client)?;
        let challenge = self.code_challenge(params, client)?;
        let scope = resolve_scope(client, params.get("scope"))?;
        let resources = resolve_resources(
            &self.config().resources,
            client,
            params.get_all("resource"),
            &scope,
            Requested::Grant,
        )?;
        Ok((challenge, scope, resources))
    }

    /// B3: PKCE ([RFC 7636 §4.4.1]..[RFC 7636 §4.2]). `None` only for a confidential client
    /// exempted from PKCE
    /// that sent no challenge.
    ///
    /// [RFC 7636 §4.4.1]: https://www.rfc-editor.org/rfc/rfc7636#section-4.4.1
    /// [RFC 7636 §4.2]: https://www.rfc-editor.org/rfc/rfc7636#section-4.2
    fn code_challenge(
        &self,
        params: &Params<'_>,
        client: &Client,
    ) -> Result<Option<CodeChallenge>, OAuthError> {
        let allow_plain = self.config().dangerous.plain_pkce();
        let method = params.get("code_challenge_method");
        let Some(value) = params.get("code_challenge") else {
            return match method {
                Some(_) => Err(invalid_request(
                    "code_challenge_method without code_challenge",
                )),
                None if client.is_pkce_exempt() && !client.is_public() => Ok(None),
                None => Err(invalid_request("code challenge required")),
            };
        };
        // PK-04: an absent method means `plain`, never S256.
        let method = match method {
            None if allow_plain => PkceMethod::Plain,
            None => {
                return Err(invalid_request(
                    "code_challenge_method required: plain is not supported",
                ));
            }
            Some(name) => match PkceMethod::parse(name) {
                Some(PkceMethod::Plain) if !allow_plain => {
                    return Err(invalid_request("transform algorithm not supported"));
                }
                Some(method) => method,
                None => return Err(invalid_request("transform algorithm not supported")),
            },
        };
        CodeChallenge::new(method, value)
            .map(Some)
            .ok_or_else(|| invalid_request("malformed code_challenge"))
    }
}

/// A1: the parameters of a `GET` (the query), or of a `POST` with a form body, which
/// behaves exactly the same ([RFC 6749 §3.1]); and whether it was a `POST`.
///
/// [RFC 6749 §3.1]: https://www.rfc-editor.org/rfc/rfc6749#section-3.1
fn request_parameters(request: &HttpRequest) -> Result<(&[u8], bool), AuthorizeError> {
    match request.method() {
        Method::Get => Ok((request.query().unwrap_or("").as_bytes(), false)),
        Method::Post if is_form_content_type(request.header("content-type")) => {
            Ok((request.body(), true))
        }
        Method::Post => Err(rejected(
            "content type must be application/x-www-form-urlencoded",
        )),
        _ => Err(rejected("method not allowed")),
    }
}

/// [RFC 6749 App. A.5]: a `state` that cannot be echoed safely makes every redirect unsafe, so it
/// is a
/// local error.
///
/// [RFC 6749 App. A.5]: https://www.rfc-editor.org/rfc/rfc6749#appendix-A.5
fn echoable_state<'p>(params: &'p Params<'_>) -> Result<Option<&'p str>, AuthorizeError> {
    if params.count("state") > 1 {
        return Err(rejected("repeated state"));
    }
    let state = params.get("state");
    if state.is_some_and(|s| !state_is_echoable(s)) {
        return Err(rejected(
            "state must be at most 2048 printable ASCII characters",
        ));
    }
    Ok(state)
}

/// A4: `response_mode` ([OpenID Connect Core 1.0 §3.1.2.1]). The only mode is `query`, the default
/// of `code`
/// ([OAuth 2.0 Multiple Response Types §2.1](https://openid.net/specs/oauth-v2-multiple-response-types-1_0.html#ResponseModes)),
/// as the metadata's `response_modes_supported` says. Another mode (`fragment`,
/// `form_post`, ...) is a local error: the client asked not to be answered in the query,
/// and there is no other way to answer it.
///
/// [OpenID Connect Core 1.0 §3.1.2.1]: https://openid.net/specs/openid-connect-core-1_0.html
fn check_response_mode(params: &Params<'_>) -> Result<(), AuthorizeError> {
    if params.count("response_mode") > 1 {
        return Err(rejected("repeated response_mode"));
    }
    match params.get("response_mode") {
        None | Some("query") => Ok(()),
        Some(_) => Err(rejected("only response_mode=query is supported")),
    }
}

/// B2: `response_type` ([RFC 6749 §3.1.1], [OAuth 2.1 §10.1], [RFC 9700 §2.1.2]). The only
/// response type is exactly `code`:
/// any other value, including a list that names `code` twice, is refused with
/// `unsupported_response_type`, and only for a client allowed the code flow.
///
/// [RFC 6749 §3.1.1]: https://www.rfc-editor.org/rfc/rfc6749#section-3.1.1
/// [OAuth 2.1 §10.1]: https://datatracker.ietf.org/doc/html/draft-ietf-oauth-v2-1-15#section-10.1
/// [RFC 9700 §2.1.2]: https://www.rfc-editor.org/rfc/rfc9700#section-2.1.2
fn check_response_type(params: &Params<'_>, client: &Client) -> Result<(), OAuthError> {
    let Some(response_type) = params.get("response_type") else {
        return Err(invalid_request("response_type required"));
    };
    if response_type != "code" {
        return Err(OAuthError::new(ErrorCode::UNSUPPORTED_RESPONSE_TYPE)
            .with_description("only response_type=code is supported"));
    }

    if !client.allows_grant_type(GrantType::AUTHORIZATION_CODE.as_str()) {
        return Err(OAuthError::new(ErrorCode::UNAUTHORIZED_CLIENT)
            .with_description("the client may not use the authorization code flow"));
    }
    Ok(())
}

/// An `invalid_request` to redirect (stage B).
fn invalid_request(description: &'static str) -> OAuthError {
    OAuthError::new(ErrorCode::INVALID_REQUEST).with_description(description)
}
