//! HTTP-facing flows: what an adapter calls. Each endpoint parses its request once into
//! typed data, lets [`Server`](crate::Server) drive the stores and the pure rule checks,
//! and renders the exact response.

pub(crate) mod authorize;
pub(crate) mod device;
pub(crate) mod introspect;
pub(crate) mod revoke;
pub(crate) mod token;

use std::sync::Arc;
use std::time::SystemTime;

use crate::client_auth::{self, Authenticator};
use crate::error::{Error, ErrorCode, OAuthError};
use crate::http::{HttpRequest, HttpResponse, Method};
use crate::params::{Form, FormLimits};
use crate::server::Server;
use crate::types::Client;

/// Parameters that carry a credential or a grant. Token-style endpoints refuse a request
/// whose URL query holds any of them: a secret in a URL ends up in logs and `Referer`
/// headers, and RFC 6749 §2.3.1 forbids credentials in the request URI (TE-04).
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
/// device authorization): POST only (TE-01), no secret in the query (TE-04), an
/// `application/x-www-form-urlencoded` UTF-8 body (TE-02), parsed with duplicates refused
/// and size bounds applied (TE-03). Refusals are rendered here, JSON with `no-store`.
pub(crate) fn read_token_style_form<'a>(
    request: &'a HttpRequest,
    limits: &FormLimits,
) -> Result<Form<'a>, HttpResponse> {
    if request.method() != Method::Post {
        return Err(HttpResponse::method_not_allowed("POST"));
    }
    if let Some(query) = request.query() {
        let query =
            Form::parse(query.as_bytes(), limits).map_err(|e| e.into_oauth().to_response())?;
        if SECRET_PARAMETERS.iter().any(|name| query.contains(name)) {
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
    Form::parse(request.body(), limits).map_err(|e| e.into_oauth().to_response())
}

impl Server {
    /// Client authentication as at the token endpoint, shared by every token-style
    /// endpoint that authenticates clients: exactly one method (TE-06..TE-08), the
    /// registered one, throttled on failures (TE-10). The inner `Err` is the protocol
    /// refusal to render.
    pub(crate) async fn authenticate_client(
        &self,
        request: &HttpRequest,
        form: &Form<'_>,
        now: SystemTime,
    ) -> Result<Result<Arc<Client>, OAuthError>, Error> {
        let inner = &self.inner;
        let credentials = match client_auth::extract(request, form, &inner.realm) {
            Ok(credentials) => credentials,
            Err(error) => return Ok(Err(error)),
        };
        Authenticator {
            registry: &*inner.clients,
            limiter: &*inner.limiter,
            realm: &inner.realm,
            now,
        }
        .authenticate(credentials)
        .await
    }
}

/// `application/x-www-form-urlencoded`, case-insensitive, with an optional `charset` that
/// must be UTF-8 (RFC 6749 Appendix B, TE-02).
pub(crate) fn is_form_content_type(value: Option<&str>) -> bool {
    let Some(value) = value else { return false };
    let mut parts = value.split(';');
    let media_type = parts.next().unwrap_or("").trim();
    if !media_type.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
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
