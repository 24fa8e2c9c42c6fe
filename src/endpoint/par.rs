//! The pushed authorization request endpoint
//! ([RFC 9126](https://www.rfc-editor.org/rfc/rfc9126)): a client sends its authorization
//! request straight to the server, authenticated, and gets a `request_uri` to send the
//! user's browser to the authorization endpoint with.

use std::sync::Arc;

use crate::clock::expiry;
use crate::endpoint::authorize::{AuthorizeError, Object, Params, REQUEST_URI_PREFIX, Via};
use crate::endpoint::{Authenticated, TokenStyleEndpoint};
use crate::error::{Error, ErrorCode, OAuthError, Rejection};
use crate::http::{HttpRequest, HttpResponse, Status};
use crate::observe::call::{Call, Endpoint};
use crate::params::Form;
use crate::render::JsonObject;
use crate::secret::{TokenHash, random_secret};
use crate::server::Server;
#[cfg(feature = "jwt")]
use crate::store::Consumption;
use crate::store::{PushedRequest, PushedRequestStore};

/// The client's credentials, which are not part of the authorization request and are
/// never stored with it.
const CREDENTIALS: [&str; 4] = [
    "client_id",
    "client_secret",
    "client_assertion",
    "client_assertion_type",
];

impl Server {
    /// The pushed authorization request endpoint: `POST /par`
    /// ([RFC 9126 §2](https://www.rfc-editor.org/rfc/rfc9126#section-2)), on with
    /// [`ServerBuilder::pushed_authorization`](crate::ServerBuilder::pushed_authorization).
    ///
    /// In order: the token-style front (POST only, form body, no credentials in the query,
    /// no repeated parameter, [RFC 9126 §2.1]); no `request_uri` in the body; client authentication
    /// exactly as at the token endpoint, any method the client is registered for
    /// ([RFC 9126 §2.1]); then the whole authorization request is validated as
    /// [`Server::authorize`] validates it, by the same code, and any refusal comes back as
    /// a JSON error: `invalid_request` for a redirect URI problem ([RFC 9126 §2.3]).
    ///
    /// A request object (`request`, feature `jwt`, [RFC 9126 §3]) is verified as the
    /// authorization endpoint verifies it, for the authenticated client, and its `jti`
    /// used up; its parameters alone are the pushed request. A failure is 400
    /// `invalid_request_object`. Without the `jwt` feature, `request` is
    /// `request_not_supported`.
    ///
    /// On success, `201 Created` with `request_uri`
    /// (`urn:ietf:params:oauth:request_uri:` followed by 256 random bits) and `expires_in`
    /// ([`ServerBuilder::pushed_request_ttl`](crate::ServerBuilder::pushed_request_ttl),
    /// [RFC 9126 §2.2]). The request is stored under the digest of the `request_uri`,
    /// bound to the client, without the client's credentials.
    ///
    /// With DPoP on ([`ServerBuilder::dpop`](crate::ServerBuilder::dpop)), a `DPoP` header
    /// is checked as a proof for `POST` to this endpoint and binds the code to its key as
    /// `dpop_jkt` does; a `dpop_jkt` naming another key is `invalid_request`
    /// ([RFC 9449 §10.1](https://www.rfc-editor.org/rfc/rfc9449#section-10.1)).
    ///
    /// When pushed requests are not enabled, every request gets 400 `invalid_request`.
    ///
    /// # Errors
    /// Only storage faults; every protocol outcome is an `Ok` response.
    ///
    /// [RFC 9126 §2.1]: https://www.rfc-editor.org/rfc/rfc9126#section-2.1
    /// [RFC 9126 §2.2]: https://www.rfc-editor.org/rfc/rfc9126#section-2.2
    /// [RFC 9126 §2.3]: https://www.rfc-editor.org/rfc/rfc9126#section-2.3
    /// [RFC 9126 §3]: https://www.rfc-editor.org/rfc/rfc9126#section-3
    pub async fn pushed_authorization(&self, request: &HttpRequest) -> Result<HttpResponse, Error> {
        self.token_style::<PushedAuthorization>(request).await
    }

    /// The URL of the pushed authorization request endpoint, when it is enabled.
    pub fn pushed_authorization_request_endpoint(&self) -> Option<&str> {
        let pushed = &self.config().pushed;
        pushed.is_enabled().then_some(pushed.endpoint.as_str())
    }
}

/// The pushed authorization request endpoint, run by [`Server::token_style`].
pub(crate) enum PushedAuthorization {}

impl TokenStyleEndpoint for PushedAuthorization {
    const ENDPOINT: Endpoint = Endpoint::PushedAuthorization;
    type Route<'s> = &'s Arc<dyn PushedRequestStore>;

    /// The endpoint must be enabled, and the body must not carry a `request_uri`
    /// ([RFC 9126 §2.1](https://www.rfc-editor.org/rfc/rfc9126#section-2.1)).
    fn route<'s>(
        server: &'s Server,
        _: &HttpRequest,
        form: &Form<'_>,
        _: &Call<'_>,
    ) -> Result<&'s Arc<dyn PushedRequestStore>, Rejection> {
        let store = server.config().pushed.store.as_ref().ok_or_else(|| {
            OAuthError::new(ErrorCode::INVALID_REQUEST)
                .with_description("pushed authorization requests are not enabled")
        })?;
        if form.contains("request_uri") {
            return Err(OAuthError::new(ErrorCode::INVALID_REQUEST)
                .with_description("request_uri must not be pushed")
                .into());
        }
        #[cfg(not(feature = "jwt"))]
        if form.contains("request") {
            return Err(OAuthError::new(ErrorCode::REQUEST_NOT_SUPPORTED).into());
        }
        Ok(store)
    }

    async fn serve<'s>(
        server: &'s Server,
        call: Authenticated<'_>,
        store: &'s Arc<dyn PushedRequestStore>,
    ) -> Result<HttpResponse, Rejection> {
        let config = server.config();
        // EX-13: a proof on the pushed request binds the code to its key, as `dpop_jkt`
        // would (RFC 9449 §10.1); a `dpop_jkt` naming another key is refused.
        #[cfg(feature = "dpop")]
        let proven = server
            .dpop_proof(call.request, &config.pushed.endpoint, call.now)
            .await?
            .map(|proof| proof.jkt().to_owned());
        #[cfg(not(feature = "dpop"))]
        let proven: Option<String> = None;
        let (parameters, object) = match call.form.get("request") {
            #[cfg(feature = "jwt")]
            Some(token) => {
                let (parameters, object) = pushed_object(server, &call, token).await?;
                (bind_proven(parameters, proven.as_deref())?, object)
            }
            #[cfg(not(feature = "jwt"))]
            Some(_) => return Err(OAuthError::new(ErrorCode::REQUEST_NOT_SUPPORTED).into()),
            None => {
                if let (Some(proven), Some(sent)) = (&proven, call.form.get("dpop_jkt")) {
                    if proven != sent {
                        return Err(other_key().into());
                    }
                }
                (stored_parameters(&call, proven.as_deref()), Object::Plain)
            }
        };
        // Validated exactly as the authorization endpoint will validate it.
        let params = Params::parse(parameters.as_bytes(), &config.http.form_limits)?;
        let client = Arc::clone(&call.client);
        match server
            .validate_authorization(&params, client, false, Via::Pushing, object, None)
            .await
        {
            Ok(_pending) => {}
            Err(AuthorizeError::Rejected(error)) => return Err(error.into()),
            Err(AuthorizeError::Redirect(error)) => return Err(error.error().clone().into()),
            Err(AuthorizeError::Storage(fault)) => return Err(fault.into()),
        }
        let request_uri = format!("{REQUEST_URI_PREFIX}{}", random_secret(&*config.random));
        let expires_at = expiry(call.now, config.pushed.ttl)?;
        let record = PushedRequest::new(call.client.id().clone(), parameters, expires_at);
        store.insert(&TokenHash::of(&request_uri), record).await?;
        let mut body = JsonObject::with_capacity(128);
        body.string("request_uri", &request_uri)
            .number("expires_in", config.pushed.ttl.as_secs());
        let response = HttpResponse::json(Status::CREATED, body.finish());
        #[cfg(feature = "dpop")]
        if proven.is_some() {
            return Ok(server.with_next_dpop_nonce(response, call.now));
        }
        Ok(response)
    }
}

/// A pushed request object ([RFC 9126 §3](https://www.rfc-editor.org/rfc/rfc9126#section-3)):
/// verified as at the authorization endpoint, for the authenticated client, its `jti` used
/// up now; its parameters alone are the request (every other form parameter is the
/// client's authentication or ignored). Failures are `invalid_request_object`.
#[cfg(feature = "jwt")]
async fn pushed_object(
    server: &Server,
    call: &Authenticated<'_>,
    token: &str,
) -> Result<(String, Object), Rejection> {
    let invalid = |description| {
        Rejection::from(
            OAuthError::new(ErrorCode::INVALID_REQUEST_OBJECT).with_description(description),
        )
    };
    let object = server
        .object_check()
        .verify(&call.client, token)
        .await
        .map_err(invalid)?;
    if let Some((key, until)) = &object.jti {
        let single_use = &server.config().clients.single_use;
        if single_use.consume(key, *until, call.now).await? != Consumption::First {
            return Err(invalid("request object already used"));
        }
    }
    let signed = Object::Signed {
        problem: object.problem,
        jti: None,
    };
    Ok((object.parameters, signed))
}

/// The refusal of a `dpop_jkt` that names another key than the request's DPoP proof.
fn other_key() -> OAuthError {
    OAuthError::new(ErrorCode::INVALID_REQUEST)
        .with_description("dpop_jkt is not the key of the DPoP proof")
}

/// A pushed request object's parameters bound to the `proven` key of the request's DPoP
/// proof: its own `dpop_jkt` must name that key, or it is added.
#[cfg(feature = "jwt")]
fn bind_proven(mut parameters: String, proven: Option<&str>) -> Result<String, Rejection> {
    let Some(proven) = proven else {
        return Ok(parameters);
    };
    let named = url::form_urlencoded::parse(parameters.as_bytes())
        .find(|(name, _)| name == "dpop_jkt")
        .map(|(_, value)| value.into_owned());
    match named {
        Some(named) if named != proven => return Err(other_key().into()),
        Some(_) => {}
        None => {
            // A thumbprint is base64url: nothing to escape.
            parameters.push_str("&dpop_jkt=");
            parameters.push_str(proven);
        }
    }
    Ok(parameters)
}

/// The request as stored: the authenticated client's id, then every parameter but the
/// credentials, form-encoded, and `dpop_jkt` set to the `proven` key of the request's DPoP
/// proof when it did not name one itself.
fn stored_parameters(call: &Authenticated<'_>, proven: Option<&str>) -> String {
    let mut parameters = url::form_urlencoded::Serializer::new(String::with_capacity(256));
    parameters.append_pair("client_id", call.client.id().as_str());
    for (name, value) in call.form.iter() {
        if !CREDENTIALS.contains(&name) {
            parameters.append_pair(name, value);
        }
    }
    if let Some(jkt) = proven.filter(|_| !call.form.contains("dpop_jkt")) {
        parameters.append_pair("dpop_jkt", jkt);
    }
    parameters.finish()
}
