//! HTTP-facing flows: what an adapter calls. Each endpoint parses its request once into
//! typed data, lets [`Server`](crate::Server) drive the stores and the pure rule checks,
//! and renders the exact response.

pub(crate) mod authorize;
pub(crate) mod cors;
pub(crate) mod device;
pub(crate) mod introspect;
#[cfg(feature = "jwt")]
pub(crate) mod jwks;
pub(crate) mod par;
pub(crate) mod registration;
pub(crate) mod revoke;
pub(crate) mod token;

use std::sync::Arc;
use std::time::SystemTime;

use crate::client_auth::{self, Authenticator};
use crate::error::{Error, ErrorCode, OAuthError, Rejection};
use crate::http::{HttpRequest, HttpResponse, Method, Status};
use crate::observe::call::{Call, Endpoint, Outcome};
use crate::observe::{AuthFailure, Claimed, EventKind};
use crate::params::{Form, FormError, FormLimits, query_names_any};
use crate::server::Server;
use crate::types::Client;

/// Parameters that carry a credential or a grant. Token-style endpoints refuse a request
/// whose URL query holds any of them: a secret in a URL ends up in logs and `Referer`
/// headers, and RFC 6749 §2.3.1 forbids credentials in the request URI ([RFC 6749 §2.3.1]).
///
/// [RFC 6749 §2.3.1]: https://www.rfc-editor.org/rfc/rfc6749#section-2.3.1
const SECRET_PARAMETERS: [&str; 8] = [
    "client_secret",
    "client_assertion",
    "code",
    "code_verifier",
    "refresh_token",
    "password",
    "device_code",
    "token",
];

/// The common front of every token-style endpoint (token, revocation, introspection,
/// device authorization): POST only ([RFC 6749 §3.2]), no secret in the query ([RFC 6749 §2.3.1])
/// and the rest
/// of the query ignored, an
/// `application/x-www-form-urlencoded` UTF-8 body ([RFC 6749 §4.1.3]), parsed with duplicates
/// refused
/// and size bounds applied ([RFC 6749 §3.2]). Refusals are rendered here, JSON with `no-store`.
///
/// [RFC 6749 §3.2]: https://www.rfc-editor.org/rfc/rfc6749#section-3.2
/// [RFC 6749 §2.3.1]: https://www.rfc-editor.org/rfc/rfc6749#section-2.3.1
/// [RFC 6749 §4.1.3]: https://www.rfc-editor.org/rfc/rfc6749#section-4.1.3
pub(crate) fn read_token_style_form<'a>(
    request: &'a HttpRequest,
    limits: &FormLimits,
    realm: &str,
) -> Result<Form<'a>, HttpResponse> {
    if request.method() != Method::Post {
        // TE-01: 405 with `Allow`, and the usual JSON error body.
        let error =
            OAuthError::new(ErrorCode::INVALID_REQUEST).with_description("method not allowed");
        return Err(
            HttpResponse::json(Status::METHOD_NOT_ALLOWED, error.to_json())
                .with_header("allow", "POST"),
        );
    }
    if let Some(query) = request.query() {
        if query.len() > limits.max_body_bytes {
            return Err(OAuthError::from(FormError::TooLarge).to_response());
        }
        // The rest of the query is the endpoint URL's own business (RFC 6749 §3.2).
        if query_names_any(query, &SECRET_PARAMETERS) {
            return Err(OAuthError::new(ErrorCode::INVALID_REQUEST)
                .with_description("credentials must not be sent in the URL query")
                .to_response());
        }
    }
    if !is_form_content_type(request.header("content-type")) {
        return Err(OAuthError::new(ErrorCode::INVALID_REQUEST)
            .with_description("content type must be application/x-www-form-urlencoded in UTF-8")
            .to_response());
    }
    Form::parse(request.body(), limits).map_err(|e| match e {
        // CA-09: a second assertion is a second authentication, refused as RFC 7521 §4.2.1
        // says (`invalid_client`), not as a repeated parameter.
        FormError::Repeated(name) if ASSERTION_PARAMETERS.contains(&name.as_str()) => {
            client_auth::invalid_client(realm, "more than one client authentication method")
                .to_response()
        }
        other => OAuthError::from(other).to_response(),
    })
}

/// The parameters of a client assertion
/// ([RFC 7521 §4.2](https://www.rfc-editor.org/rfc/rfc7521#section-4.2)).
const ASSERTION_PARAMETERS: [&str; 2] = ["client_assertion", "client_assertion_type"];

/// An endpoint that reads a form and authenticates the client sending it the way the token
/// endpoint does ([RFC 6749 §2.3](https://www.rfc-editor.org/rfc/rfc6749#section-2.3),
/// [§3.2](https://www.rfc-editor.org/rfc/rfc6749#section-3.2)): the token endpoint itself,
/// device authorization, revocation and introspection. A new one (pushed authorization
/// requests, client registration) implements this and calls [`Server::token_style`], which
/// runs the same steps for all of them, in this order:
///
/// 1. the form front of [`read_token_style_form`] (POST, no credentials in the query, a
///    UTF-8 form body, no repeated parameter);
/// 2. [`route`](Self::route): the endpoint's checks whose refusal must win over a failed
///    client authentication (the token endpoint's `grant_type`);
/// 3. client authentication: exactly one method, the registered one, throttled on
///    failures;
/// 4. [`serve`](Self::serve), with the authenticated client;
/// 5. rendering: a [`Rejection::Refused`] becomes the JSON error response with
///    `Cache-Control: no-store`, a [`Rejection::Fault`] the endpoint's `Err`.
pub(crate) trait TokenStyleEndpoint {
    /// The endpoint, as its span and metrics name it.
    const ENDPOINT: Endpoint;

    /// Whether a browser-based client may call the endpoint cross-origin, when
    /// [`ServerBuilder::cors`](crate::ServerBuilder::cors) allows it (see [`cors`]).
    const CORS: bool = false;

    /// What [`route`](Self::route) found, handed to [`serve`](Self::serve).
    type Route<'s>;

    /// The checks before client authentication.
    fn route<'s>(
        server: &'s Server,
        request: &HttpRequest,
        form: &Form<'_>,
        call: &Call<'_>,
    ) -> Result<Self::Route<'s>, Rejection>;

    /// The endpoint's own work, for an authenticated client.
    async fn serve<'s>(
        server: &'s Server,
        call: Authenticated<'_>,
        route: Self::Route<'s>,
    ) -> Result<HttpResponse, Rejection>;
}

/// A [`TokenStyleEndpoint`] without checks before client authentication (revocation,
/// introspection): it only serves an authenticated client.
pub(crate) trait AuthenticatedEndpoint {
    /// The endpoint, as its span and metrics name it.
    const ENDPOINT: Endpoint;

    /// As [`TokenStyleEndpoint::CORS`].
    const CORS: bool = false;

    /// The endpoint's work, for an authenticated client.
    async fn serve(server: &Server, call: Authenticated<'_>) -> Result<HttpResponse, Rejection>;
}

impl<E: AuthenticatedEndpoint> TokenStyleEndpoint for E {
    const ENDPOINT: Endpoint = <E as AuthenticatedEndpoint>::ENDPOINT;
    const CORS: bool = <E as AuthenticatedEndpoint>::CORS;

    type Route<'s> = ();

    fn route(_: &Server, _: &HttpRequest, _: &Form<'_>, _: &Call<'_>) -> Result<(), Rejection> {
        Ok(())
    }

    async fn serve(
        server: &Server,
        call: Authenticated<'_>,
        (): (),
    ) -> Result<HttpResponse, Rejection> {
        <E as AuthenticatedEndpoint>::serve(server, call).await
    }
}

/// The `token` parameter of revocation and introspection requests, which both require it
/// ([RFC 7009 §2.1](https://www.rfc-editor.org/rfc/rfc7009#section-2.1),
/// [RFC 7662 §2.1](https://www.rfc-editor.org/rfc/rfc7662#section-2.1)).
pub(crate) fn token_parameter<'f>(form: &'f Form<'_>) -> Result<&'f str, Rejection> {
    form.get("token").ok_or_else(|| {
        OAuthError::new(ErrorCode::INVALID_REQUEST)
            .with_description("token required")
            .into()
    })
}

/// A token-style request whose client is authenticated.
pub(crate) struct Authenticated<'a> {
    /// The request, for its headers (a `DPoP` proof).
    #[cfg_attr(not(feature = "dpop"), allow(dead_code))]
    pub(crate) request: &'a HttpRequest,
    pub(crate) form: &'a Form<'a>,
    pub(crate) client: Arc<Client>,
    /// The time of the request, read once.
    pub(crate) now: SystemTime,
    /// The call, observed: its span and its events.
    pub(crate) call: &'a Call<'a>,
}

impl Server {
    /// Runs the token-style endpoint `E` on `request` (see [`TokenStyleEndpoint`]), in
    /// one span, with one outcome counted at the end.
    pub(crate) async fn token_style<E: TokenStyleEndpoint>(
        &self,
        request: &HttpRequest,
    ) -> Result<HttpResponse, Error> {
        let config = self.config();
        let cors = E::CORS && config.http.cors;
        if cors && request.method() == Method::Options {
            return Ok(cors::preflight(request, "POST"));
        }
        let call = self.call(E::ENDPOINT);
        let mut allowed_origin = None;
        let served = call
            .run(self.serve_token_style::<E>(request, &call, cors, &mut allowed_origin))
            .await;
        let outcome = match &served {
            Ok(_) => Outcome::Success,
            Err(Rejection::Refused(error)) => Outcome::Refused(Some(error.code().as_str())),
            Err(Rejection::Fault(fault)) => Outcome::Fault(fault),
        };
        call.finish(outcome);
        let response = served.or_else(Rejection::into_response)?;
        Ok(if cors {
            cors::per_client(response, allowed_origin)
        } else {
            response
        })
    }

    /// The steps of [`TokenStyleEndpoint`], up to the response or the rejection.
    async fn serve_token_style<'r, E: TokenStyleEndpoint>(
        &self,
        request: &'r HttpRequest,
        call: &Call<'_>,
        cors: bool,
        allowed_origin: &mut Option<&'r str>,
    ) -> Result<HttpResponse, Rejection> {
        let config = self.config();
        let form =
            match read_token_style_form(request, &config.http.form_limits, &config.http.realm) {
                Ok(form) => form,
                Err(response) if response.status == Status::UNAUTHORIZED => {
                    call.refused(ErrorCode::INVALID_CLIENT);
                    call.emit(self.now(), || EventKind::ClientAuthenticationFailed {
                        client_id_claimed: None,
                        method: None,
                        reason: AuthFailure::UnsupportedMethod,
                    });
                    return Ok(response);
                }
                Err(response) => {
                    call.refused(ErrorCode::INVALID_REQUEST);
                    return Ok(response);
                }
            };
        let route = E::route(self, request, &form, call)?;
        let now = self.now();
        let client = self.authenticate_client(request, &form, now, call).await?;
        call.accepted(client.id());
        if cors {
            let localhost = config.code_flow.localhost_port;
            *allowed_origin = cors::allowed_origin(request, &client, &config.issuer, localhost)?;
        }
        let authenticated = Authenticated {
            request,
            form: &form,
            client,
            now,
            call,
        };
        E::serve(self, authenticated, route).await
    }

    /// Client authentication as at the token endpoint: exactly one method ([RFC 6749 §2.3.1]..[RFC
    /// 6749 §2.3]),
    /// the registered one, throttled on failures ([RFC 6749 §2.3.1]). A failure is a
    /// `client_authentication_failed` event (or `locked_out`), with the identifier the
    /// request claimed, apart from any accepted one.
    ///
    /// [RFC 6749 §2.3.1]: https://www.rfc-editor.org/rfc/rfc6749#section-2.3.1
    /// [RFC 6749 §2.3]: https://www.rfc-editor.org/rfc/rfc6749#section-2.3
    async fn authenticate_client(
        &self,
        request: &HttpRequest,
        form: &Form<'_>,
        now: SystemTime,
        call: &Call<'_>,
    ) -> Result<Arc<Client>, Rejection> {
        let config = self.config();
        let realm = &config.http.realm;
        let credentials = match client_auth::extract(request, form, realm) {
            Ok(credentials) => credentials,
            Err((error, failure)) => {
                if let Some(reason) = failure {
                    let claimed = form.get("client_id");
                    if let Some(claimed) = claimed {
                        call.claimed(claimed);
                    }
                    call.emit(now, || EventKind::ClientAuthenticationFailed {
                        client_id_claimed: claimed.map(Claimed::new),
                        method: None,
                        reason,
                    });
                }
                return Err(error.into());
            }
        };
        call.claimed(credentials.id());
        Authenticator {
            registry: &*config.clients.registry,
            limiter: &*config.clients.secret_limiter,
            realm,
            now,
            #[cfg(feature = "jwt")]
            single_use: &*config.clients.single_use,
            #[cfg(feature = "jwt")]
            issuer: &config.issuer,
            #[cfg(feature = "jwt")]
            private_key_jwt: config.clients.private_key_jwt,
            #[cfg(feature = "jwt")]
            client_secret_jwt: config.clients.client_secret_jwt,
            #[cfg(feature = "jwt")]
            assertion_algorithms: config.clients.client_jwt_algorithms,
            #[cfg(feature = "jwt")]
            remote_keys: config.clients.remote_source(),
            call,
        }
        .authenticate(credentials)
        .await
    }
}

/// `application/x-www-form-urlencoded`, case-insensitive, with an optional `charset` that
/// must be UTF-8 (RFC 6749 Appendix B, [RFC 6749 §4.1.3]).
///
/// [RFC 6749 §4.1.3]: https://www.rfc-editor.org/rfc/rfc6749#section-4.1.3
pub(crate) fn is_form_content_type(value: Option<&str>) -> bool {
    is_utf8_media_type(value, "application/x-www-form-urlencoded")
}

/// Whether a `Content-Type` value is `media_type`, case-insensitive, with an optional
/// `charset` that must be UTF-8.
pub(crate) fn is_utf8_media_type(value: Option<&str>, media_type: &str) -> bool {
    let Some(value) = value else { return false };
    let mut parts = value.split(';');
    let given = parts.next().unwrap_or("").trim();
    if !given.eq_ignore_ascii_case(media_type) {
        return false;
    }
    parts.all(|parameter| match parameter.split_once('=') {
        Some((name, value)) if name.trim().eq_ignore_ascii_case("charset") => {
            value.trim().trim_matches('"').eq_ignore_ascii_case("utf-8")
        }
        Some(_) => true,
        None => parameter.trim().is_empty(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn te_02_content_type_rules() {
        assert!(is_form_content_type(Some(
            "application/x-www-form-urlencoded"
        )));
        assert!(is_form_content_type(Some(
            "application/x-www-form-urlencoded;charset=UTF-8"
        )));
        assert!(is_form_content_type(Some(
            "Application/X-WWW-Form-Urlencoded; charset=\"utf-8\""
        )));
        assert!(!is_form_content_type(Some(
            "application/x-www-form-urlencoded; charset=iso-8859-1"
        )));
        assert!(!is_form_content_type(Some("application/json")));
        assert!(!is_form_content_type(Some(
            "multipart/form-data; boundary=x"
        )));
        assert!(!is_form_content_type(None));
    }
}
