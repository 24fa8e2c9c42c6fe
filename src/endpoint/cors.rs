//! Cross-origin requests from browser-based clients
//! ([Fetch, CORS protocol](https://fetch.spec.whatwg.org/#http-cors-protocol)), on the
//! endpoints such a client calls: the token and revocation endpoints (per client) and the
//! metadata (a public document, any origin). Off unless
//! [`ServerBuilder::cors`](crate::ServerBuilder::cors) turns it on, and never at the
//! authorization endpoint, which is navigated to, not fetched ([RFC 9700 §2.6]).
//!
//! The design of the peers (node-oidc-provider's client-based CORS):
//! - a preflight (`OPTIONS`) carries no body, so no client: it is answered for any
//!   well-formed origin and reveals nothing but the methods and headers the endpoint takes;
//! - the actual request names its client; once the client is authenticated (or, for a
//!   public client, declared), its `Origin` must be one of the client's origins, which are
//!   those of its registered redirect URIs (a browser-based app's redirect URI is on its
//!   own origin). Only then does the response carry `Access-Control-Allow-Origin`. A
//!   request from another origin is refused with `invalid_request` before the endpoint
//!   does anything (no code redeemed, no refresh token rotated), and without CORS headers;
//! - `Access-Control-Allow-Credentials` is never sent: these endpoints take no cookies,
//!   and a browser client sends its credentials (if any) in the request;
//! - every response that depends on `Origin` says `Vary: Origin`.
//!
//! Later browser-facing endpoints (userinfo, JWKS, registration) reuse these functions.
//!
//! [RFC 9700 §2.6]: https://www.rfc-editor.org/rfc/rfc9700#section-2.6

use crate::error::{ErrorCode, OAuthError, Rejection};
use crate::http::{HttpRequest, HttpResponse, Status};
use crate::types::{Client, LocalhostPort};

/// How long a browser may cache a preflight answer, in seconds.
const PREFLIGHT_MAX_AGE: &str = "600";

/// The request headers a browser client may send to a token-style endpoint.
const ALLOWED_HEADERS: &str = "authorization, content-type, dpop";

/// The response headers a browser client may read besides the CORS-safelisted ones.
const EXPOSED_HEADERS: &str = "www-authenticate, retry-after, dpop-nonce";

/// The request's one `Origin`, if it is a well-formed serialised origin; `Err` if the
/// request has an `Origin` that is not (repeated, unreadable, `null`, or with a path).
fn origin(request: &HttpRequest) -> Result<Option<&str>, ()> {
    match request.header_count("origin") {
        0 => return Ok(None),
        1 => {}
        _ => return Err(()),
    }
    let Some(value) = request.header("origin") else {
        return Err(());
    };
    match url::Url::parse(value) {
        Ok(url)
            if matches!(url.scheme(), "https" | "http")
                && url.origin().ascii_serialization() == value =>
        {
            Ok(Some(value))
        }
        _ => Err(()),
    }
}

/// The answer to an `OPTIONS` request at a per-client endpoint taking `methods`: 204, and
/// for a well-formed `Origin`, that origin allowed with the methods and headers the
/// endpoint takes. Which clients may use the origin is decided on the actual request.
pub(crate) fn preflight(request: &HttpRequest, methods: &'static str) -> HttpResponse {
    let response = HttpResponse::new(Status::NO_CONTENT)
        .with_header("allow", methods)
        .with_header("vary", "origin");
    match origin(request) {
        Ok(Some(origin)) => response
            .with_header("access-control-allow-origin", origin.to_owned())
            .with_header("access-control-allow-methods", methods)
            .with_header("access-control-allow-headers", ALLOWED_HEADERS)
            .with_header("access-control-max-age", PREFLIGHT_MAX_AGE),
        _ => response,
    }
}

/// The request's `Origin` if `client` may be called from it: `Ok(None)` for a request
/// without `Origin` (not from a browser) or from the server's own origin (not
/// cross-origin).
///
/// # Errors
/// `invalid_request` for an origin that is not one of the client's, or not a well-formed
/// origin.
pub(crate) fn allowed_origin<'r>(
    request: &'r HttpRequest,
    client: &Client,
    issuer: &str,
    localhost: LocalhostPort,
) -> Result<Option<&'r str>, Rejection> {
    let refused = || -> Rejection {
        OAuthError::new(ErrorCode::INVALID_REQUEST)
            .with_description("this client may not be called from this origin")
            .into()
    };
    let Some(origin) = origin(request).map_err(|()| refused())? else {
        return Ok(None);
    };
    if url::Url::parse(issuer).is_ok_and(|url| url.origin().ascii_serialization() == origin) {
        return Ok(None);
    }
    let localhost = if client.is_public() {
        localhost
    } else {
        LocalhostPort::Exact
    };
    if client
        .redirect_uris()
        .iter()
        .any(|uri| uri.is_origin_of(origin, localhost))
    {
        Ok(Some(origin))
    } else {
        Err(refused())
    }
}

/// Adds the headers of a per-client CORS response: `Vary: Origin` always, and for an
/// allowed `origin` the origin itself and the headers the client may read.
pub(crate) fn per_client(response: HttpResponse, origin: Option<&str>) -> HttpResponse {
    let response = response.with_header("vary", "origin");
    match origin {
        Some(origin) => response
            .with_header("access-control-allow-origin", origin.to_owned())
            .with_header("access-control-expose-headers", EXPOSED_HEADERS),
        None => response,
    }
}

/// Adds the headers of a public document's response: any origin may read it.
pub(crate) fn public(response: HttpResponse) -> HttpResponse {
    response.with_header("access-control-allow-origin", "*")
}

/// The answer to an `OPTIONS` request for a public document read with `GET`.
pub(crate) fn public_preflight() -> HttpResponse {
    public(HttpResponse::new(Status::NO_CONTENT).with_header("allow", "GET, HEAD"))
        .with_header("access-control-allow-methods", "GET, HEAD")
        .with_header("access-control-max-age", PREFLIGHT_MAX_AGE)
}
