//! Errors: protocol errors the client may see ([`OAuthError`]) and faults of the host's
//! storage or configuration ([`Error`]), with the one mapping between them and the wire.

use std::borrow::Cow;
use std::fmt;

use crate::http::{HttpResponse, Status};
use crate::params::{FormError, is_plain_name};
use crate::render::{JsonObject, is_error_char};

/// An OAuth error code, the `error` member of an error response.
///
/// The set is open: RFC 6749 defines the core codes and extensions (RFC 6750, RFC 7009,
/// RFC 8628) register more, so this is a newtype with constants rather than an enum (the
/// same shape as `http::StatusCode`).
///
/// ```
/// use grantflow::ErrorCode;
///
/// assert_eq!(ErrorCode::INVALID_CLIENT.as_str(), "invalid_client");
/// let custom = ErrorCode::extension("use_dpop_nonce")?;
/// assert_eq!(custom.to_string(), "use_dpop_nonce");
/// assert!(ErrorCode::extension("bad \"code\"").is_err());
/// # Ok::<(), grantflow::grant::InvalidErrorCode>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ErrorCode(Cow<'static, str>);

impl ErrorCode {
    /// A code the crate knows to be valid (a constant of RFC 6750 or another
    /// specification without a constant here).
    #[cfg(feature = "oidc")]
    pub(crate) const fn from_static(code: &'static str) -> Self {
        Self(Cow::Borrowed(code))
    }

    /// `invalid_request`: a parameter is missing, repeated, malformed or unsupported
    /// ([RFC 6749 §5.2](https://www.rfc-editor.org/rfc/rfc6749#section-5.2)).
    pub const INVALID_REQUEST: Self = Self(Cow::Borrowed("invalid_request"));
    /// `invalid_client`: client authentication failed (HTTP 401).
    pub const INVALID_CLIENT: Self = Self(Cow::Borrowed("invalid_client"));
    /// `invalid_grant`: the grant (code, refresh token, credentials) is invalid, expired,
    /// revoked or was issued to another client.
    pub const INVALID_GRANT: Self = Self(Cow::Borrowed("invalid_grant"));
    /// `unauthorized_client`: the client may not use this grant or response type.
    pub const UNAUTHORIZED_CLIENT: Self = Self(Cow::Borrowed("unauthorized_client"));
    /// `unsupported_grant_type`: the server does not support this `grant_type`.
    pub const UNSUPPORTED_GRANT_TYPE: Self = Self(Cow::Borrowed("unsupported_grant_type"));
    /// `invalid_scope`: the scope is malformed, unknown or exceeds what is allowed.
    pub const INVALID_SCOPE: Self = Self(Cow::Borrowed("invalid_scope"));
    /// `access_denied`: the resource owner or the server refused the request.
    pub const ACCESS_DENIED: Self = Self(Cow::Borrowed("access_denied"));
    /// `unsupported_response_type`: the authorization endpoint does not support the
    /// `response_type`.
    pub const UNSUPPORTED_RESPONSE_TYPE: Self = Self(Cow::Borrowed("unsupported_response_type"));
    /// `server_error`: an unexpected condition (HTTP 500 where a status can be sent).
    pub const SERVER_ERROR: Self = Self(Cow::Borrowed("server_error"));
    /// `temporarily_unavailable`: overload or maintenance (HTTP 503 where a status can be
    /// sent).
    pub const TEMPORARILY_UNAVAILABLE: Self = Self(Cow::Borrowed("temporarily_unavailable"));
    /// `authorization_pending`: the user has not yet approved or denied a device
    /// authorization request; the device keeps polling
    /// ([RFC 8628 §3.5](https://www.rfc-editor.org/rfc/rfc8628#section-3.5)).
    pub const AUTHORIZATION_PENDING: Self = Self(Cow::Borrowed("authorization_pending"));
    /// `slow_down`: the device polls faster than its interval; the interval for this device
    /// code grows by 5 seconds ([RFC 8628 §3.5](https://www.rfc-editor.org/rfc/rfc8628#section-3.5)).
    pub const SLOW_DOWN: Self = Self(Cow::Borrowed("slow_down"));
    /// `expired_token`: the device code expired; the device may start a new request
    /// ([RFC 8628 §3.5](https://www.rfc-editor.org/rfc/rfc8628#section-3.5)).
    pub const EXPIRED_TOKEN: Self = Self(Cow::Borrowed("expired_token"));
    /// `login_required`: the request asked for no user interaction (`prompt=none`), and the
    /// user must sign in
    /// ([OpenID Connect Core §3.1.2.6](https://openid.net/specs/openid-connect-core-1_0.html#AuthError)).
    pub const LOGIN_REQUIRED: Self = Self(Cow::Borrowed("login_required"));
    /// `consent_required`: no user interaction was allowed, and consent is needed (Core
    /// §3.1.2.6).
    pub const CONSENT_REQUIRED: Self = Self(Cow::Borrowed("consent_required"));
    /// `interaction_required`: no user interaction was allowed, and some is needed (Core
    /// §3.1.2.6).
    pub const INTERACTION_REQUIRED: Self = Self(Cow::Borrowed("interaction_required"));
    /// `account_selection_required`: no user interaction was allowed, and the user must
    /// choose among several accounts (Core §3.1.2.6).
    pub const ACCOUNT_SELECTION_REQUIRED: Self = Self(Cow::Borrowed("account_selection_required"));
    /// `unmet_authentication_requirements`: the authentication cannot meet what the
    /// request made essential, such as an `acr` value
    /// ([OpenID Connect Core Error Code unmet_authentication_requirements](https://openid.net/specs/openid-connect-unmet-authentication-requirements-1_0.html)).
    pub const UNMET_AUTHENTICATION_REQUIREMENTS: Self =
        Self(Cow::Borrowed("unmet_authentication_requirements"));
    /// `request_not_supported`: the server does not accept request objects by value (Core
    /// §3.1.2.6).
    pub const REQUEST_NOT_SUPPORTED: Self = Self(Cow::Borrowed("request_not_supported"));
    /// `request_uri_not_supported`: the server does not accept request objects by
    /// reference (Core §3.1.2.6).
    pub const REQUEST_URI_NOT_SUPPORTED: Self = Self(Cow::Borrowed("request_uri_not_supported"));
    /// `invalid_request_uri`: the `request_uri` is unknown, expired or already used
    /// ([RFC 9101 §7](https://www.rfc-editor.org/rfc/rfc9101#section-7)).
    pub const INVALID_REQUEST_URI: Self = Self(Cow::Borrowed("invalid_request_uri"));
    /// `invalid_request_object`: the request object (`request`) is invalid: its signature,
    /// its claims or its contents
    /// ([RFC 9101 §6.2, §6.3](https://www.rfc-editor.org/rfc/rfc9101#section-6.3)).
    pub const INVALID_REQUEST_OBJECT: Self = Self(Cow::Borrowed("invalid_request_object"));
    /// `registration_not_supported`: the server does not accept the `registration`
    /// parameter (Core §3.1.2.6).
    pub const REGISTRATION_NOT_SUPPORTED: Self = Self(Cow::Borrowed("registration_not_supported"));
    /// `invalid_target`: a `resource` is malformed, unknown, not allowed for the client, or
    /// not granted ([RFC 8707 §2](https://www.rfc-editor.org/rfc/rfc8707#section-2)).
    pub const INVALID_TARGET: Self = Self(Cow::Borrowed("invalid_target"));
    /// The DPoP proof is invalid
    /// ([RFC 9449 §5](https://www.rfc-editor.org/rfc/rfc9449#section-5)).
    pub const INVALID_DPOP_PROOF: Self = Self(Cow::Borrowed("invalid_dpop_proof"));
    /// The DPoP proof must carry the nonce the server provides in `DPoP-Nonce`
    /// ([RFC 9449 §8](https://www.rfc-editor.org/rfc/rfc9449#section-8)).
    pub const USE_DPOP_NONCE: Self = Self(Cow::Borrowed("use_dpop_nonce"));

    /// `invalid_redirect_uri`: a registered redirect URI is not acceptable
    /// ([RFC 7591 §3.2.2](https://www.rfc-editor.org/rfc/rfc7591#section-3.2.2)).
    pub const INVALID_REDIRECT_URI: Self = Self(Cow::Borrowed("invalid_redirect_uri"));
    /// `invalid_client_metadata`: a registered metadata value is not acceptable
    /// ([RFC 7591 §3.2.2](https://www.rfc-editor.org/rfc/rfc7591#section-3.2.2)).
    pub const INVALID_CLIENT_METADATA: Self = Self(Cow::Borrowed("invalid_client_metadata"));

    /// An extension error code.
    ///
    /// # Errors
    /// [`InvalidErrorCode`] when `code` is empty or has a character outside the RFC 6749
    /// §5.2 set (`%x20-21 / %x23-5B / %x5D-7E`).
    pub fn extension(code: impl Into<Cow<'static, str>>) -> Result<Self, InvalidErrorCode> {
        let code = code.into();
        if code.is_empty() || !code.chars().all(is_error_char) {
            return Err(InvalidErrorCode(()));
        }
        Ok(Self(code))
    }

    /// The code as sent on the wire.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The HTTP status that goes with this code in a token-style (JSON) response:
    /// 401 for `invalid_client`, 500 for `server_error`, 503 for
    /// `temporarily_unavailable`, 400 for everything else
    /// ([RFC 6749 §5.2](https://www.rfc-editor.org/rfc/rfc6749#section-5.2)).
    pub fn status(&self) -> Status {
        match self.as_str() {
            "invalid_client" => Status::UNAUTHORIZED,
            "server_error" => Status::INTERNAL_SERVER_ERROR,
            "temporarily_unavailable" => Status::SERVICE_UNAVAILABLE,
            _ => Status::BAD_REQUEST,
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The text given to [`ErrorCode::extension`] is not a valid error code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("an OAuth error code must be non-empty printable ASCII without '\"' or '\\'")]
pub struct InvalidErrorCode(());

/// A protocol error the client is allowed to see
/// ([RFC 6749 §4.1.2.1](https://www.rfc-editor.org/rfc/rfc6749#section-4.1.2.1),
/// [§5.2](https://www.rfc-editor.org/rfc/rfc6749#section-5.2)).
///
/// The description is for developers. It is cleaned on construction: characters outside
/// the RFC 6749 §5.2 set are dropped and it is cut to 256 characters, so echoing user input
/// into it can never produce an invalid or injected response ([RFC 6749 §4.1.2.1]). It must still
/// never
/// carry a secret or an internal detail ([RFC 6749 §5.2]); the crate's own descriptions are fixed
/// strings.
///
/// ```
/// use grantflow::{ErrorCode, OAuthError};
///
/// let err = OAuthError::new(ErrorCode::INVALID_SCOPE).with_description("unknown scope \"café\"");
/// assert_eq!(err.description(), Some("unknown scope caf"));
/// let response = err.to_response();
/// assert_eq!(response.status.as_u16(), 400);
/// assert_eq!(response.header("cache-control"), Some("no-store"));
/// ```
///
/// [RFC 6749 §4.1.2.1]: https://www.rfc-editor.org/rfc/rfc6749#section-4.1.2.1
/// [RFC 6749 §5.2]: https://www.rfc-editor.org/rfc/rfc6749#section-5.2
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthError {
    code: ErrorCode,
    description: Option<Cow<'static, str>>,
    uri: Option<String>,
    retry_after: Option<u64>,
    /// Headers of the response beyond the usual ones, boxed: most errors have none.
    headers: Option<Box<ErrorHeaders>>,
}

/// The rarer headers of an [`OAuthError`] response.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct ErrorHeaders {
    /// `WWW-Authenticate`, after a failed `Authorization` header attempt.
    www_authenticate: Option<String>,
    /// `DPoP-Nonce`, the nonce a `use_dpop_nonce` answer asks the client to use.
    dpop_nonce: Option<String>,
}

/// The longest `error_description` the crate sends.
const MAX_DESCRIPTION: usize = 256;

impl OAuthError {
    /// An error with `code` and no description.
    pub fn new(code: ErrorCode) -> Self {
        Self {
            code,
            description: None,
            uri: None,
            retry_after: None,
            headers: None,
        }
    }

    /// Adds an `error_description`, cleaned to the allowed characters ([RFC 6749 §4.1.2.1]).
    ///
    /// [RFC 6749 §4.1.2.1]: https://www.rfc-editor.org/rfc/rfc6749#section-4.1.2.1
    #[must_use]
    pub fn with_description(mut self, description: impl Into<Cow<'static, str>>) -> Self {
        let description = description.into();
        let clean =
            if description.len() <= MAX_DESCRIPTION && description.chars().all(is_error_char) {
                description
            } else {
                Cow::Owned(
                    description
                        .chars()
                        .filter(|c| is_error_char(*c))
                        .take(MAX_DESCRIPTION)
                        .collect(),
                )
            };
        self.description = if clean.is_empty() { None } else { Some(clean) };
        self
    }

    /// Adds an `error_uri`. A URI with characters outside `%x21 / %x23-5B / %x5D-7E` is
    /// ignored ([RFC 6749 §4.1.2.1]).
    ///
    /// [RFC 6749 §4.1.2.1]: https://www.rfc-editor.org/rfc/rfc6749#section-4.1.2.1
    #[must_use]
    pub fn with_uri(mut self, uri: &url::Url) -> Self {
        let text = uri.as_str();
        if text.chars().all(|c| c != ' ' && is_error_char(c)) {
            self.uri = Some(text.to_owned());
        }
        self
    }

    /// Marks the error as the answer to a failed `Authorization` header attempt: the
    /// response carries `WWW-Authenticate` with this challenge ([RFC 6749 §5.2]).
    ///
    /// [RFC 6749 §5.2]: https://www.rfc-editor.org/rfc/rfc6749#section-5.2
    pub(crate) fn with_challenge(mut self, challenge: String) -> Self {
        self.headers.get_or_insert_default().www_authenticate = Some(challenge);
        self
    }

    /// Adds `Retry-After` (throttling, [RFC 6749 §2.3.1]). The status stays the code's: a throttled
    /// `invalid_client` after an `Authorization` header attempt is still 401 with its
    /// challenge, as [RFC 6749 §5.2](https://www.rfc-editor.org/rfc/rfc6749#section-5.2)
    /// requires, and any other throttled token error still 400.
    ///
    /// [RFC 6749 §2.3.1]: https://www.rfc-editor.org/rfc/rfc6749#section-2.3.1
    pub(crate) fn with_retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds);
        self
    }

    /// Adds the `DPoP-Nonce` header the client must use in its next proof
    /// ([RFC 9449 §8](https://www.rfc-editor.org/rfc/rfc9449#section-8)).
    #[cfg_attr(not(feature = "dpop"), allow(dead_code))]
    pub(crate) fn with_dpop_nonce(mut self, nonce: String) -> Self {
        self.headers.get_or_insert_default().dpop_nonce = Some(nonce);
        self
    }

    /// The error code.
    pub fn code(&self) -> &ErrorCode {
        &self.code
    }

    /// The cleaned description, if any.
    pub fn description(&self) -> Option<&str> {
        self.description.as_deref()
    }

    /// The `error_uri`, if any.
    pub fn uri(&self) -> Option<&str> {
        self.uri.as_deref()
    }

    /// The HTTP status of the JSON response: [`ErrorCode::status`], whether or not the
    /// request was throttled. [RFC 6749 §5.2](https://www.rfc-editor.org/rfc/rfc6749#section-5.2)
    /// fixes the status of every token error (400, and 401 for `invalid_client` after an
    /// `Authorization` header attempt); a throttled one says when to retry with
    /// `Retry-After` instead.
    pub fn status(&self) -> Status {
        self.code.status()
    }

    /// The JSON body `{"error":…,"error_description":…,"error_uri":…}`, members left out
    /// rather than `null`.
    pub fn to_json(&self) -> Vec<u8> {
        let mut body = JsonObject::with_capacity(96);
        body.string("error", self.code.as_str())
            .optional_string("error_description", self.description())
            .optional_string("error_uri", self.uri());
        body.finish()
    }

    /// Renders the error as a token-style response
    /// ([RFC 6749 §5.2](https://www.rfc-editor.org/rfc/rfc6749#section-5.2)): JSON body,
    /// `Content-Type: application/json`, `Cache-Control: no-store`, `Pragma: no-cache`
    /// ([RFC 6749 §5.1], [RFC 6749 §5.2]), `WWW-Authenticate` after a failed header attempt ([RFC
    /// 6749 §5.2]) and
    /// `Retry-After` when throttled.
    ///
    /// [RFC 6749 §5.1]: https://www.rfc-editor.org/rfc/rfc6749#section-5.1
    /// [RFC 6749 §5.2]: https://www.rfc-editor.org/rfc/rfc6749#section-5.2
    pub fn to_response(&self) -> HttpResponse {
        let mut response = HttpResponse::json(self.status(), self.to_json());
        let headers = self.headers.as_deref();
        if let Some(challenge) = headers.and_then(|h| h.www_authenticate.as_ref()) {
            response.push_header("www-authenticate", challenge.clone());
        }
        if let Some(seconds) = self.retry_after {
            response.push_header("retry-after", seconds.to_string());
        }
        if let Some(nonce) = headers.and_then(|h| h.dpop_nonce.as_ref()) {
            response.push_header("dpop-nonce", nonce.clone());
        }
        response
    }
}

impl From<FormError> for OAuthError {
    /// A refused form is `invalid_request`, with a fixed description.
    fn from(error: FormError) -> Self {
        let refusal = Self::new(ErrorCode::INVALID_REQUEST);
        match error {
            FormError::TooLarge => refusal.with_description("request too large"),
            FormError::TooManyParameters => refusal.with_description("too many parameters"),
            FormError::ValueTooLong => refusal.with_description("parameter value too long"),
            FormError::Malformed => refusal.with_description("malformed form encoding"),
            // The name is echoed only when it looks like a protocol parameter name:
            // anything else is attacker-chosen text, which an error response must not
            // reflect, even cleaned to the ER-02 characters (`<script>` is within them;
            // SEC-06).
            FormError::Repeated(name) if is_plain_name(&name) => {
                refusal.with_description(format!("repeated parameter: {name}"))
            }
            FormError::Repeated(_) => refusal.with_description("repeated parameter"),
        }
    }
}

impl fmt::Display for OAuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code.as_str())?;
        if let Some(description) = &self.description {
            write!(f, ": {description}")?;
        }
        Ok(())
    }
}

impl std::error::Error for OAuthError {}

/// A storage backend failed. Opaque on the wire; keeps its cause for the host's logs
/// through [`std::error::Error::source`].
///
/// ```
/// use grantflow::StorageError;
///
/// let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "db down");
/// let err = StorageError::new(io);
/// assert_eq!(err.to_string(), "storage backend error");
/// assert!(std::error::Error::source(&err).is_some());
/// ```
#[derive(Debug, thiserror::Error)]
#[error("storage backend error")]
pub struct StorageError {
    #[source]
    source: Box<dyn std::error::Error + Send + Sync + 'static>,
    transient: bool,
}

impl StorageError {
    /// Wraps a backend error. The response to the client will be `server_error`.
    pub fn new(source: impl Into<Box<dyn std::error::Error + Send + Sync + 'static>>) -> Self {
        Self {
            source: source.into(),
            transient: false,
        }
    }

    /// Wraps a backend error that is expected to pass (overload, failover, a timeout).
    /// The response to the client will be `temporarily_unavailable`.
    pub fn transient(
        source: impl Into<Box<dyn std::error::Error + Send + Sync + 'static>>,
    ) -> Self {
        Self {
            source: source.into(),
            transient: true,
        }
    }

    /// Whether the failure is expected to pass.
    pub fn is_transient(&self) -> bool {
        self.transient
    }
}

/// The server configuration is inconsistent or insecure. Returned by
/// [`ServerBuilder::build`](crate::ServerBuilder::build) and by client registration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The issuer is not an absolute `https` URL without query or fragment ([RFC 8414 §2], [RFC
    /// 6749 §3.1]).
    ///
    /// [RFC 8414 §2]: https://www.rfc-editor.org/rfc/rfc8414#section-2
    /// [RFC 6749 §3.1]: https://www.rfc-editor.org/rfc/rfc6749#section-3.1
    #[error("invalid issuer: {0}")]
    Issuer(&'static str),
    /// A lifetime or limit is zero or out of range.
    #[error("invalid setting: {0}")]
    Setting(&'static str),
    /// A client registration was refused.
    #[error("invalid client registration: {0}")]
    Client(#[from] crate::types::ClientError),
    /// Two grant handlers claim the same `grant_type`.
    #[error("two grant handlers for the same grant_type")]
    DuplicateGrantHandler,
}

/// Everything a [`Server`](crate::Server) endpoint can fail with.
///
/// Protocol failures are not errors: a rejected request is an `Ok` response with its RFC
/// status. An `Err` means the host's storage or a plug-in failed; send
/// [`Error::to_response`] and log the error (its `source()` chain has the cause, which
/// never reaches the client).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A storage backend failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// The configuration is broken.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The token issuer plug-in failed.
    #[error(transparent)]
    Issue(#[from] crate::token_issuer::IssueError),
}

impl Error {
    /// The single place where internal errors become wire errors: a description-less
    /// `server_error`, or `temporarily_unavailable` for a transient storage failure.
    /// Nothing internal leaks.
    pub fn to_oauth_error(&self) -> OAuthError {
        match self {
            Self::Storage(e) if e.is_transient() => {
                OAuthError::new(ErrorCode::TEMPORARILY_UNAVAILABLE)
            }
            Self::Storage(_) | Self::Config(_) | Self::Issue(_) => {
                OAuthError::new(ErrorCode::SERVER_ERROR)
            }
        }
    }

    /// [`to_oauth_error`](Self::to_oauth_error) rendered as a JSON response (500 or 503,
    /// `Cache-Control: no-store`).
    pub fn to_response(&self) -> HttpResponse {
        self.to_oauth_error().to_response()
    }
}

/// Why a request was not served: a protocol refusal the client sees, or a fault of the
/// host's storage or a plug-in.
///
/// Every endpoint body of the crate returns `Result<_, Rejection>`, with a `?` per check,
/// and the endpoint renders the rejection once, at its edge: a [`Refused`](Self::Refused)
/// becomes the RFC error response (an `Ok` [`HttpResponse`]), a [`Fault`](Self::Fault) the
/// endpoint's `Err` ([`Error`]). Extension grants return it from
/// [`GrantHandler::handle`](crate::grant::GrantHandler::handle): `?` converts an [`OAuthError`]
/// into a refusal, and a [`StorageError`], [`IssueError`](crate::issuer::IssueError) or [`Error`]
/// into a fault.
///
/// ```
/// use grantflow::{ErrorCode, OAuthError, StorageError};
/// use grantflow::grant::Rejection;
///
/// fn check(code: Option<&str>) -> Result<&str, Rejection> {
///     let code = code.ok_or_else(|| OAuthError::new(ErrorCode::INVALID_REQUEST))?;
///     if code == "db-down" {
///         Err(StorageError::new("connection refused"))?;
///     }
///     Ok(code)
/// }
///
/// assert!(matches!(check(None), Err(Rejection::Refused(_))));
/// assert!(matches!(check(Some("db-down")), Err(Rejection::Fault(_))));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Rejection {
    /// Refuse the request with this error (`invalid_grant`, `invalid_scope`, ...).
    #[error(transparent)]
    Refused(OAuthError),
    /// A storage or plug-in fault; the client sees `server_error` (or
    /// `temporarily_unavailable`), the host gets the [`Error`].
    #[error(transparent)]
    Fault(Error),
}

impl Rejection {
    /// The edge of a token-style endpoint: a refusal is answered with its JSON error
    /// response, a fault is the endpoint's `Err`.
    pub(crate) fn into_response(self) -> Result<HttpResponse, Error> {
        match self {
            Self::Refused(error) => Ok(error.to_response()),
            Self::Fault(error) => Err(error),
        }
    }
}

impl From<OAuthError> for Rejection {
    fn from(error: OAuthError) -> Self {
        Self::Refused(error)
    }
}

impl From<Error> for Rejection {
    fn from(error: Error) -> Self {
        Self::Fault(error)
    }
}

impl From<StorageError> for Rejection {
    fn from(error: StorageError) -> Self {
        Self::Fault(error.into())
    }
}

impl From<crate::token_issuer::IssueError> for Rejection {
    fn from(error: crate::token_issuer::IssueError) -> Self {
        Self::Fault(error.into())
    }
}

impl From<ConfigError> for Rejection {
    fn from(error: ConfigError) -> Self {
        Self::Fault(error.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v_err_description_charset() {
        assert!("Invalid scope: foo".chars().all(is_error_char));
        assert!("#$%&'()*+,-./:;<=>?@[]^_`{|}~".chars().all(is_error_char));
        for bad in ["bad \"quote\"", "back\\slash", "café", "tab\there"] {
            assert!(!bad.chars().all(is_error_char), "{bad}");
            let err = OAuthError::new(ErrorCode::INVALID_REQUEST).with_description(bad.to_owned());
            assert!(err.description().unwrap_or("").chars().all(is_error_char));
        }
    }

    #[test]
    fn description_is_capped() {
        let err = OAuthError::new(ErrorCode::INVALID_REQUEST).with_description("x".repeat(5000));
        assert_eq!(err.description().map(str::len), Some(MAX_DESCRIPTION));
    }

    #[test]
    fn storage_errors_map_to_opaque_codes() {
        let e = Error::from(StorageError::new("secret detail"));
        let wire = e.to_response();
        assert_eq!(wire.status, Status::INTERNAL_SERVER_ERROR);
        assert_eq!(wire.body, br#"{"error":"server_error"}"#);
        let e = Error::from(StorageError::transient("timeout"));
        assert_eq!(e.to_response().status, Status::SERVICE_UNAVAILABLE);
    }
}
