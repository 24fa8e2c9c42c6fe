//! RP-initiated logout
//! ([OpenID Connect RP-Initiated Logout 1.0](https://openid.net/specs/openid-connect-rpinitiated-1_0.html)):
//! two phases, like the authorization endpoint. [`Server::end_session`] checks the
//! request and stops with a [`PendingLogout`]; the host asks the user to confirm, ends
//! its session, and sends [`PendingLogout::confirm`]'s redirect if there is one.

use std::fmt;
use std::sync::Arc;

use crate::endpoint::authorize::state_is_echoable;
use crate::endpoint::is_form_content_type;
use crate::error::StorageError;
use crate::http::{HttpRequest, HttpResponse, Method, Status};
use crate::jose::Validation;
use crate::observe::call::{Call, Endpoint, Outcome};
use crate::oidc::authorize::key_set_fault;
use crate::oidc::subject_identifier;
use crate::params::{Form, FormLimits};
use crate::server::Server;
use crate::store::find_presented_client;
use crate::types::{Client, LocalhostPort, Subject};

/// Why [`Server::end_session`] did not produce a [`PendingLogout`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LogoutError {
    /// The request is invalid: a hint that is not an ID token of this server, a
    /// `client_id` that is not the hint's audience, a `post_logout_redirect_uri` that is
    /// not registered (or without a hint to tie it to a client), a malformed `state` or
    /// form. Show an error page; never redirect
    /// ([RP-Initiated Logout §4](https://openid.net/specs/openid-connect-rpinitiated-1_0.html#ErrorHandling)).
    /// Do not log the user out without asking them.
    #[error("logout request rejected: {0}")]
    Rejected(&'static str),
    /// The client registry or the key set failed. Show an error page.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// A checked logout request waiting for the host
/// ([RP-Initiated Logout §2](https://openid.net/specs/openid-connect-rpinitiated-1_0.html#RPLogout)).
///
/// The host should ask the user to confirm the logout, and must when
/// [`needs_confirmation`](Self::needs_confirmation) says so (no valid `id_token_hint`, or
/// a hint for another user than the one signed in). Then it ends its session and sends
/// [`confirm`](Self::confirm)'s redirect, or its own "signed out" page when there is no
/// redirect. Logging out a user who is not signed in is not an error.
pub struct PendingLogout {
    client: Option<Arc<Client>>,
    hinted_sub: Option<String>,
    redirect: Option<String>,
    state: Option<String>,
    logout_hint: Option<String>,
    ui_locales: Option<String>,
    see_other: bool,
    server: Server,
}

impl fmt::Debug for PendingLogout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PendingLogout")
            .field("client_id", &self.client.as_ref().map(|c| c.id().clone()))
            .field("redirect", &self.redirect)
            .finish_non_exhaustive()
    }
}

impl PendingLogout {
    /// The client the request came from: the audience of a valid `id_token_hint`, or the
    /// registered client `client_id` names.
    pub fn client(&self) -> Option<&Client> {
        self.client.as_deref()
    }

    /// Whether the request carried a valid `id_token_hint`.
    pub fn has_valid_hint(&self) -> bool {
        self.hinted_sub.is_some()
    }

    /// Whether the hint names `subject` (the user signed in at the host): `false` without
    /// a hint.
    pub fn is_for(&self, subject: &Subject) -> bool {
        let (Some(client), Some(hinted)) = (&self.client, &self.hinted_sub) else {
            return false;
        };
        let secret = self.server.config().openid.pairwise_secret.as_ref();
        subject_identifier(client, subject, secret).is_ok_and(|sub| sub == *hinted)
    }

    /// Whether the host must ask the user before logging them out: always without a valid
    /// hint, or when the hint is for someone else than `signed_in`.
    pub fn needs_confirmation(&self, signed_in: Option<&Subject>) -> bool {
        signed_in.is_some_and(|subject| !self.is_for(subject)) || !self.has_valid_hint()
    }

    /// `logout_hint`: which user the client asks to log out.
    ///
    /// # Security
    /// The client's text: escape it when rendering.
    pub fn logout_hint(&self) -> Option<&str> {
        self.logout_hint.as_deref()
    }

    /// `ui_locales`, as sent.
    pub fn ui_locales(&self) -> Option<&str> {
        self.ui_locales.as_deref()
    }

    /// Whether the logout will redirect back to the client.
    pub fn redirect_uri(&self) -> Option<&str> {
        self.redirect.as_deref()
    }

    /// The user is logged out (or was not signed in): the redirect to the registered
    /// `post_logout_redirect_uri` with `state`, or `None` when the request named none
    /// ([RP-Initiated Logout §3](https://openid.net/specs/openid-connect-rpinitiated-1_0.html#RedirectionAfterLogout)).
    /// Answers a POST (the host's confirmation form) with 303.
    pub fn confirm(self) -> Option<HttpResponse> {
        let redirect = self.redirect?;
        let mut location = redirect.clone();
        if let Some(state) = &self.state {
            let separator = match redirect.find('?') {
                None => "?",
                Some(i) if i + 1 == redirect.len() || redirect.ends_with('&') => "",
                Some(_) => "&",
            };
            location.push_str(separator);
            let start = location.len();
            let mut query = url::form_urlencoded::Serializer::for_suffix(location, start);
            query.append_pair("state", state);
            location = query.finish();
        }
        let status = if self.see_other {
            Status::SEE_OTHER
        } else {
            Status::FOUND
        };
        Some(
            HttpResponse::new(status)
                .with_header("location", location)
                .with_header("cache-control", "no-store"),
        )
    }

    /// Answers with `303 See Other` (when the confirmation is a POST form).
    #[must_use]
    pub fn see_other(mut self) -> Self {
        self.see_other = true;
        self
    }
}

/// The parameters of a logout request: the query of a GET, the form of a POST.
fn parameters<'r>(request: &'r HttpRequest, limits: &FormLimits) -> Result<Form<'r>, LogoutError> {
    let raw = match request.method() {
        Method::Get => request.query().unwrap_or("").as_bytes(),
        Method::Post if is_form_content_type(request.header("content-type")) => request.body(),
        Method::Post => return Err(LogoutError::Rejected("the body must be a form")),
        _ => return Err(LogoutError::Rejected("method not allowed")),
    };
    Form::parse(raw, limits).map_err(|_| LogoutError::Rejected("malformed parameters"))
}

impl Server {
    /// The end-session endpoint of RP-initiated logout, GET or POST
    /// ([RP-Initiated Logout §2](https://openid.net/specs/openid-connect-rpinitiated-1_0.html#RPLogout)):
    /// checks `id_token_hint` (an ID token this server issued, expired or not),
    /// `client_id` (the hint's audience, when both are sent), `post_logout_redirect_uri`
    /// (an exact match of one the client registered, with a valid hint that names the
    /// client: `client_id` alone does not allow a redirect) and `state`, and stops with a
    /// [`PendingLogout`] for the host.
    ///
    /// # Errors
    /// [`LogoutError::Rejected`] for an invalid request (show an error page, never
    /// redirect), [`LogoutError::Storage`] when the registry or key set fails.
    pub async fn end_session(&self, request: &HttpRequest) -> Result<PendingLogout, LogoutError> {
        let call = self.call(Endpoint::EndSession);
        let checked = call.run(self.check_logout(request, &call)).await;
        call.finish(match &checked {
            Ok(_) => Outcome::Success,
            Err(LogoutError::Rejected(_)) => Outcome::Refused(Some("invalid_request")),
            Err(LogoutError::Storage(fault)) => Outcome::StorageFault(fault),
        });
        checked
    }

    /// The work of [`end_session`](Self::end_session), inside its span: neither
    /// `id_token_hint` nor `state` is recorded.
    async fn check_logout(
        &self,
        request: &HttpRequest,
        call: &Call<'_>,
    ) -> Result<PendingLogout, LogoutError> {
        let config = self.config();
        let form = parameters(request, &config.http.form_limits)?;
        if let Some(claimed) = form.get("client_id") {
            call.claimed(claimed);
        }
        let state = form.get("state");
        if state.is_some_and(|s| !state_is_echoable(s)) {
            return Err(LogoutError::Rejected("state must be printable ASCII"));
        }
        let (hinted_sub, audience) = match (form.get("id_token_hint"), &config.jwt.keys) {
            (None, _) => (None, None),
            (Some(_), None) => {
                return Err(LogoutError::Rejected("id_token_hint cannot be checked"));
            }
            (Some(hint), Some(keys)) => {
                let now = self.now();
                let published = keys.public_keys(now).await.map_err(key_set_fault)?;
                let verified = Validation::id_token_hint(&config.issuer)
                    .verify(hint, &published, now)
                    .map_err(|_| {
                        LogoutError::Rejected("id_token_hint is not an ID token of this server")
                    })?;
                let claims = verified.claims();
                let [audience] = claims.audience() else {
                    return Err(LogoutError::Rejected("id_token_hint has several audiences"));
                };
                (claims.subject().map(str::to_owned), Some(audience.clone()))
            }
        };
        let client_id = match (form.get("client_id"), audience.as_deref()) {
            (Some(sent), Some(aud)) if sent != aud => {
                return Err(LogoutError::Rejected(
                    "client_id is not the audience of id_token_hint",
                ));
            }
            (sent, aud) => aud.or(sent),
        };
        let client = match client_id {
            Some(id) => find_presented_client(&*config.clients.registry, id).await?,
            None => None,
        };
        if client_id.is_some() && client.is_none() {
            return Err(LogoutError::Rejected("unknown client"));
        }
        // The client is accepted when a verified ID token names it (OB-05).
        if let (Some(client), Some(_)) = (&client, &hinted_sub) {
            call.accepted(client.id());
        }
        let redirect = match form.get("post_logout_redirect_uri") {
            None => None,
            Some(requested) => {
                let registered = match (&client, &hinted_sub) {
                    (Some(client), Some(_)) => client
                        .post_logout_redirect_uris()
                        .iter()
                        .any(|uri| uri.matches(requested, LocalhostPort::Exact)),
                    _ => false,
                };
                if !registered {
                    return Err(LogoutError::Rejected(
                        "post_logout_redirect_uri is not registered for the client of id_token_hint",
                    ));
                }
                Some(requested.to_owned())
            }
        };
        Ok(PendingLogout {
            client,
            hinted_sub,
            redirect,
            state: state.map(str::to_owned),
            logout_hint: form.get("logout_hint").map(str::to_owned),
            ui_locales: form.get("ui_locales").map(str::to_owned),
            see_other: request.method() == Method::Post,
            server: self.clone(),
        })
    }
}
