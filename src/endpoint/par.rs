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
        let (parameters, object) = match call.form.get("request") {
            #[cfg(feature = "jwt")]
            Some(token) => pushed_object(server, &call, token).await?,
            #[cfg(not(feature = "jwt"))]
            Some(_) => return Err(OAuthError::new(ErrorCode::REQUEST_NOT_SUPPORTED).into()),
            None => (stored_parameters(&call), Object::Plain),
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
        Ok(HttpResponse::json(Status::CREATED, body.finish()))
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

/// The request as stored: the authenticated client's id, then every parameter but the
/// credentials, form-encoded.
fn stored_parameters(call: &Authenticated<'_>) -> String {
    let mut parameters = url::form_urlencoded::Serializer::new(String::with_capacity(256));
    parameters.append_pair("client_id", call.client.id().as_str());
    for (name, value) in call.form.iter() {
        if !CREDENTIALS.contains(&name) {
            parameters.append_pair(name, value);
        }
    }
    parameters.finish()
}
