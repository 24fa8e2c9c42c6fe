//! The HTTP boundary: what an adapter hands in ([`HttpRequest`]) and sends back
//! ([`HttpResponse`]). Plain data, no framework types.

use std::borrow::Cow;
use std::fmt;

/// The request method, as far as OAuth cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Method {
    /// `GET`
    Get,
    /// `POST`
    Post,
    /// `PUT`
    Put,
    /// `DELETE`
    Delete,
    /// `HEAD`
    Head,
    /// `OPTIONS`
    Options,
    /// Any other method.
    Other,
}

impl Method {
    /// Maps a method name (case-sensitive, as in HTTP) to a [`Method`].
    ///
    /// ```
    /// use grantflow::Method;
    /// assert_eq!(Method::from_name("POST"), Method::Post);
    /// assert_eq!(Method::from_name("PATCH"), Method::Other);
    /// ```
    pub fn from_name(name: &str) -> Self {
        match name {
            "GET" => Self::Get,
            "POST" => Self::Post,
            "PUT" => Self::Put,
            "DELETE" => Self::Delete,
            "HEAD" => Self::Head,
            "OPTIONS" => Self::Options,
            _ => Self::Other,
        }
    }
}

/// The parts of an HTTP request that OAuth reads. Adapters build it; the crate parses it.
///
/// Pass the raw query string and the raw body: the crate parses them itself so that
/// repeated parameters are rejected ([RFC 6749 §3.1](https://www.rfc-editor.org/rfc/rfc6749#section-3.1)).
/// Framework extractors that collect parameters into a map drop duplicates silently.
///
/// `Debug` prints the method, the query's parameter *names*, the header names and the body
/// length, never a value: bodies and `Authorization` headers carry secrets.
///
/// A header value that is not visible ASCII (bytes of `obs-text` or control characters,
/// which [RFC 9110 §5.5](https://www.rfc-editor.org/rfc/rfc9110#section-5.5) tells
/// recipients to treat as opaque) is kept as *unreadable*: [`header`](Self::header) does not
/// return it, but it is still there. So a repeated `Authorization` header is refused however
/// its copies are written, and an unreadable `Authorization` header is refused too, by
/// client authentication ([RFC 6749 §2.3](https://www.rfc-editor.org/rfc/rfc6749#section-2.3):
/// one method) and by the bearer guard
/// ([RFC 6750 §2](https://www.rfc-editor.org/rfc/rfc6750#section-2): one way), rather than
/// ignored.
///
/// ```
/// use grantflow::{HttpRequest, Method};
///
/// let request = HttpRequest::new(Method::Post)
///     .with_header("Content-Type", "application/x-www-form-urlencoded")
///     .with_header("Authorization", "Basic czZCaGRSa3F0MzpnWDFmQmF0M2JW")
///     .with_body("grant_type=client_credentials");
/// assert_eq!(request.header("content-type"), Some("application/x-www-form-urlencoded"));
/// let shown = format!("{request:?}");
/// assert!(!shown.contains("czZCaGRS") && !shown.contains("client_credentials"));
/// ```
#[derive(Clone)]
pub struct HttpRequest {
    method: Method,
    query: Option<String>,
    /// Every header name (lower-cased) and readable value, back to back: one allocation
    /// however many headers the request has.
    header_text: String,
    /// Where each header is in `header_text`.
    header_spans: Vec<HeaderSpan>,
    body: Vec<u8>,
}

/// Where one header is in [`HttpRequest::header_text`]: its name starts at `start`, its
/// value at `value_start` (the name's end) and ends at `end`. An unreadable value is not
/// stored (`value_start == end`).
#[derive(Clone, Copy)]
struct HeaderSpan {
    start: usize,
    value_start: usize,
    end: usize,
    readable: bool,
}

/// Whether a header value can be read as text: visible ASCII, spaces and tabs only
/// (`field-content` without `obs-text`,
/// [RFC 9110 §5.5](https://www.rfc-editor.org/rfc/rfc9110#section-5.5)), as
/// `http::HeaderValue::to_str` accepts.
fn is_readable(value: &[u8]) -> bool {
    // Branch-free over the bytes (no early exit), so the compiler checks many at once:
    // header values are short and almost always readable.
    value.iter().fold(true, |ok, &b| {
        ok & ((0x20..=0x7e).contains(&b) | (b == b'\t'))
    })
}

impl HttpRequest {
    /// An empty request with `method`.
    pub fn new(method: Method) -> Self {
        Self {
            method,
            query: None,
            header_text: String::new(),
            header_spans: Vec::new(),
            body: Vec::new(),
        }
    }

    /// Sets the raw, still percent-encoded query string, without the leading `?`.
    #[must_use]
    pub fn with_query(mut self, raw: impl Into<String>) -> Self {
        self.query = Some(raw.into());
        self
    }

    /// Adds a header. The name is matched case-insensitively; repeated headers are kept
    /// (and a repeated `Authorization` header is refused by the endpoints). A value that is
    /// not visible ASCII is kept as unreadable (see the type's notes), as by
    /// [`with_header_bytes`](Self::with_header_bytes).
    #[must_use]
    pub fn with_header(self, name: &str, value: impl AsRef<str>) -> Self {
        self.with_header_bytes(name, value.as_ref().as_bytes())
    }

    /// Adds a header whose value arrived as raw bytes, as HTTP carries it: an adapter
    /// passes every header this way, whatever its bytes, so that the endpoints see the
    /// request's headers as they are. A value of visible ASCII (with spaces and tabs) reads
    /// as text; any other is kept as unreadable: [`header`](Self::header) does not return
    /// it, [`header_count`](Self::header_count) counts it, and an unreadable
    /// `Authorization` header is refused by every endpoint rather than ignored.
    ///
    /// ```
    /// use grantflow::{HttpRequest, Method};
    ///
    /// let request = HttpRequest::new(Method::Post)
    ///     .with_header_bytes("authorization", b"Basic \xff\xfe")
    ///     .with_header_bytes("content-type", b"application/x-www-form-urlencoded");
    /// assert_eq!(request.header("authorization"), None);
    /// assert_eq!(request.header_count("authorization"), 1);
    /// assert_eq!(request.header("content-type"), Some("application/x-www-form-urlencoded"));
    /// ```
    #[must_use]
    pub fn with_header_bytes(mut self, name: &str, value: &[u8]) -> Self {
        self.add_header(name, value);
        self
    }

    fn add_header(&mut self, name: &str, value: &[u8]) {
        let readable = is_readable(value);
        let stored = if readable { value.len() } else { 0 };
        if self.header_text.capacity() == 0 {
            // A typical request's headers fit, so the buffer rarely grows.
            self.header_text.reserve(256.max(name.len() + stored));
            self.header_spans.reserve(8);
        } else {
            self.header_text.reserve(name.len() + stored);
        }
        let start = self.header_text.len();
        self.header_text.push_str(name);
        if let Some(added) = self.header_text.get_mut(start..) {
            added.make_ascii_lowercase();
        }
        let value_start = self.header_text.len();
        if readable {
            // Visible ASCII is UTF-8 as it is.
            self.header_text
                .push_str(std::str::from_utf8(value).unwrap_or_default());
        }
        self.header_spans.push(HeaderSpan {
            start,
            value_start,
            end: self.header_text.len(),
            readable,
        });
    }

    /// The values of the headers named `name` (case-insensitive), in order: `None` for an
    /// unreadable one.
    fn values<'s, 'n>(
        &'s self,
        name: &'n str,
    ) -> impl Iterator<Item = Option<&'s str>> + use<'s, 'n> {
        // Stored names are lower case, as callers' names mostly are: try the plain
        // comparison first.
        self.headers()
            .filter(move |(stored, _)| *stored == name || stored.eq_ignore_ascii_case(name))
            .map(|(_, value)| value)
    }

    /// Every header as (lower-cased name, value or `None` when unreadable), in the order
    /// they were added.
    fn headers(&self) -> impl Iterator<Item = (&str, Option<&str>)> + Clone + '_ {
        self.header_spans.iter().map(|span| {
            let text = |from, to| self.header_text.get(from..to).unwrap_or("");
            (
                text(span.start, span.value_start),
                span.readable.then(|| text(span.value_start, span.end)),
            )
        })
    }

    /// Sets the raw body.
    #[must_use]
    pub fn with_body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }

    /// The method.
    pub fn method(&self) -> Method {
        self.method
    }

    /// The raw query string, if any.
    pub fn query(&self) -> Option<&str> {
        self.query.as_deref()
    }

    /// The raw body.
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// The value of header `name`, matched case-insensitively. With several headers of that
    /// name the first is returned; use [`header_count`](Self::header_count) to detect
    /// repeats. `None` when there is no such header, or when the first one is unreadable
    /// (not visible ASCII).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.values(name).next().flatten()
    }

    /// How many headers named `name` (case-insensitive) the request has, unreadable ones
    /// included.
    pub fn header_count(&self, name: &str) -> usize {
        self.values(name).count()
    }

    /// The one `Authorization` header
    /// ([RFC 9110 §11.6.2](https://www.rfc-editor.org/rfc/rfc9110#section-11.6.2)), split
    /// into its scheme and credentials: the crate's only reader of the header, for client
    /// authentication and the bearer guard alike. `Ok(None)` without one; a repeated or an
    /// unreadable header is refused by every endpoint.
    pub(crate) fn authorization(&self) -> Result<Option<Authorization<'_>>, BadAuthorization> {
        let mut values = self.values("authorization");
        let Some(value) = values.next() else {
            return Ok(None);
        };
        if values.next().is_some() {
            return Err(BadAuthorization::Repeated);
        }
        let value = value.ok_or(BadAuthorization::Unreadable)?;
        let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
        Ok(Some(Authorization {
            scheme,
            credentials: rest.trim_start_matches(' '),
        }))
    }
}

/// An `Authorization` header: `<scheme> <credentials>`.
#[derive(Clone, Copy)]
pub(crate) struct Authorization<'r> {
    scheme: &'r str,
    /// What follows the scheme, leading spaces removed.
    pub(crate) credentials: &'r str,
}

impl Authorization<'_> {
    /// Whether the scheme is `scheme`, compared case-insensitively
    /// ([RFC 9110 §11.1](https://www.rfc-editor.org/rfc/rfc9110#section-11.1)).
    pub(crate) fn is(&self, scheme: &str) -> bool {
        self.scheme.eq_ignore_ascii_case(scheme)
    }
}

/// Why a request's `Authorization` header cannot be used: every endpoint refuses such a
/// request with `invalid_request`, whatever the rest of it says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BadAuthorization {
    /// More than one `Authorization` header.
    Repeated,
    /// A value that is not visible ASCII.
    Unreadable,
}

impl BadAuthorization {
    /// The `error_description` of the refusal.
    pub(crate) fn description(self) -> &'static str {
        match self {
            Self::Repeated => "repeated Authorization header",
            Self::Unreadable => "unreadable Authorization header",
        }
    }
}

impl fmt::Debug for HttpRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        struct Names<'a, I: Iterator<Item = &'a str> + Clone>(I);
        impl<'a, I: Iterator<Item = &'a str> + Clone> fmt::Debug for Names<'a, I> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_list().entries(self.0.clone()).finish()
            }
        }
        let query_names = self
            .query
            .as_deref()
            .unwrap_or("")
            .split('&')
            .filter(|p| !p.is_empty());
        // Only what looks like a parameter name is shown: a bare `?<token>` would otherwise
        // print the token itself.
        let query_names = query_names.map(|p| match p.split('=').next().unwrap_or("") {
            name if crate::params::is_plain_name(name) => name,
            _ => "<not a name>",
        });
        f.debug_struct("HttpRequest")
            .field("method", &self.method)
            .field("query_parameters", &Names(query_names))
            .field("headers", &Names(self.headers().map(|(n, _)| n)))
            .field("body_len", &self.body.len())
            .finish()
    }
}

/// An HTTP status code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Status(u16);

impl Status {
    /// 200 OK
    pub const OK: Self = Self(200);
    /// 201 Created
    pub const CREATED: Self = Self(201);
    /// 204 No Content
    pub const NO_CONTENT: Self = Self(204);
    /// 302 Found
    pub const FOUND: Self = Self(302);
    /// 303 See Other
    pub const SEE_OTHER: Self = Self(303);
    /// 400 Bad Request
    pub const BAD_REQUEST: Self = Self(400);
    /// 401 Unauthorized
    pub const UNAUTHORIZED: Self = Self(401);
    /// 403 Forbidden
    pub const FORBIDDEN: Self = Self(403);
    /// 404 Not Found
    pub const NOT_FOUND: Self = Self(404);
    /// 405 Method Not Allowed
    pub const METHOD_NOT_ALLOWED: Self = Self(405);
    /// 408 Request Timeout ([RFC 9110 §15.5.9](https://www.rfc-editor.org/rfc/rfc9110#section-15.5.9)):
    /// for adapters that stop waiting for a body that does not arrive in time.
    pub const REQUEST_TIMEOUT: Self = Self(408);
    /// 413 Content Too Large ([RFC 9110 §15.5.14](https://www.rfc-editor.org/rfc/rfc9110#section-15.5.14)):
    /// for adapters that stop reading a body over their size limit.
    pub const CONTENT_TOO_LARGE: Self = Self(413);
    /// 429 Too Many Requests
    pub const TOO_MANY_REQUESTS: Self = Self(429);
    /// 500 Internal Server Error
    pub const INTERNAL_SERVER_ERROR: Self = Self(500);
    /// 503 Service Unavailable
    pub const SERVICE_UNAVAILABLE: Self = Self(503);

    /// The numeric code.
    pub const fn as_u16(self) -> u16 {
        self.0
    }
}

/// One response header.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Header {
    /// The header name, lower case.
    pub name: &'static str,
    /// The header value.
    pub value: Cow<'static, str>,
    /// Whether the value carries a credential (a `Location` with `?code=`); adapters should
    /// mark such values sensitive (for example `http::HeaderValue::set_sensitive`) and keep
    /// them out of logs.
    pub sensitive: bool,
}

impl fmt::Debug for Header {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let value: &dyn fmt::Debug = if self.sensitive {
            &"<redacted>"
        } else {
            &self.value
        };
        f.debug_struct("Header")
            .field("name", &self.name)
            .field("value", value)
            .finish()
    }
}

/// What the adapter must send back: status, headers and body, exactly.
///
/// The answer to a `HEAD` request is the `GET` answer, body included, so that the
/// `Content-Length` sent is the one `GET` would send
/// ([RFC 9110 §9.3.2](https://www.rfc-editor.org/rfc/rfc9110#section-9.3.2),
/// [§8.6](https://www.rfc-editor.org/rfc/rfc9110#section-8.6)). hyper, axum and actix-web
/// send the headers of a `HEAD` response without its body by themselves; an adapter that
/// writes HTTP on its own must leave the body out.
///
/// `Debug` prints the status, the headers (sensitive values redacted) and the body length;
/// a token response body is never printed.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct HttpResponse {
    /// The status.
    pub status: Status,
    /// The headers, names in lower case.
    pub headers: Vec<Header>,
    /// The body: JSON for token-style endpoints, empty for redirects.
    pub body: Vec<u8>,
}

/// Answers a request for a resource read with `GET`: `GET` and `HEAD` get `get()` (a
/// resource that answers `GET` answers `HEAD`,
/// [RFC 9110 §9.1](https://www.rfc-editor.org/rfc/rfc9110#section-9.1); see
/// [`HttpResponse`] for the body of a `HEAD` answer), another method 405 with
/// `Allow: GET, HEAD`.
pub(crate) fn serve_get(request: &HttpRequest, get: impl FnOnce() -> HttpResponse) -> HttpResponse {
    match request.method() {
        Method::Get | Method::Head => get(),
        _ => HttpResponse::new(Status::METHOD_NOT_ALLOWED).with_header("allow", "GET, HEAD"),
    }
}

impl HttpResponse {
    /// A JSON response with the headers every token-style response carries:
    /// `Content-Type: application/json`, `Cache-Control: no-store` and `Pragma: no-cache`
    /// ([RFC 6749 §5.1](https://www.rfc-editor.org/rfc/rfc6749#section-5.1), [RFC 6749 §5.1]).
    ///
    /// [RFC 6749 §5.1]: https://www.rfc-editor.org/rfc/rfc6749#section-5.1
    pub(crate) fn json(status: Status, body: Vec<u8>) -> Self {
        Self {
            status,
            headers: vec![
                Header {
                    name: "content-type",
                    value: "application/json".into(),
                    sensitive: false,
                },
                Header {
                    name: "cache-control",
                    value: "no-store".into(),
                    sensitive: false,
                },
                Header {
                    name: "pragma",
                    value: "no-cache".into(),
                    sensitive: false,
                },
            ],
            body,
        }
    }

    /// An empty response with `status`, no headers and no body. With
    /// [`with_header`](Self::with_header) and [`with_body`](Self::with_body) it builds the
    /// host's own responses (login and consent pages, errors of its routing) in the same
    /// shape as the crate's, so one adapter sends both.
    ///
    /// ```
    /// use grantflow::{HttpResponse, Status};
    ///
    /// let page = HttpResponse::new(Status::OK)
    ///     .with_header("content-type", "text/html; charset=utf-8")
    ///     .with_body(b"<!doctype html><title>Sign in</title>".to_vec());
    /// assert_eq!(page.header("Content-Type"), Some("text/html; charset=utf-8"));
    /// ```
    pub fn new(status: Status) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// Adds a header, builder style. `name` must be lower case (HTTP/2 requires it, and
    /// [`header`](Self::header) lookups are case-insensitive either way).
    #[must_use]
    pub fn with_header(mut self, name: &'static str, value: impl Into<Cow<'static, str>>) -> Self {
        self.push_header(name, value);
        self
    }

    /// Adds a header whose value carries a credential (see [`Header::sensitive`]), such as
    /// a `Set-Cookie` with a session id.
    #[must_use]
    pub fn with_sensitive_header(
        mut self,
        name: &'static str,
        value: impl Into<Cow<'static, str>>,
    ) -> Self {
        self.headers.push(Header {
            name,
            value: value.into(),
            sensitive: true,
        });
        self
    }

    /// Sets the body, builder style.
    #[must_use]
    pub fn with_body(mut self, body: Vec<u8>) -> Self {
        self.body = body;
        self
    }

    pub(crate) fn push_header(&mut self, name: &'static str, value: impl Into<Cow<'static, str>>) {
        self.headers.push(Header {
            name,
            value: value.into(),
            sensitive: false,
        });
    }

    /// The value of the first header named `name`, matched case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| h.value.as_ref())
    }
}

impl fmt::Debug for HttpResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpResponse")
            .field("status", &self.status)
            .field("headers", &self.headers)
            .field("body_len", &self.body.len())
            .finish()
    }
}

/// Conversions to and from the [`http`](https://docs.rs/http) crate's types, which axum
/// and hyper use: an adapter for them is a few lines.
#[cfg(feature = "http")]
#[cfg_attr(docsrs, doc(cfg(feature = "http")))]
mod http_crate {
    use super::{HttpRequest, HttpResponse, Method};

    impl HttpRequest {
        /// Builds a request from the head of an `http::Request` and its collected body.
        ///
        /// Every header is kept, as by [`with_header_bytes`](Self::with_header_bytes): a
        /// repeated header stays repeated and a value that is not visible ASCII is kept as
        /// unreadable, so a duplicated or unreadable `Authorization` header is refused by
        /// the endpoints.
        ///
        /// ```
        /// use grantflow::HttpRequest;
        ///
        /// let request = http::Request::post("/token?x=1")
        ///     .header("content-type", "application/x-www-form-urlencoded")
        ///     .body(())
        ///     .expect("valid request");
        /// let (parts, ()) = request.into_parts();
        /// let request = HttpRequest::from_http_parts(&parts, b"grant_type=client_credentials".to_vec());
        /// assert_eq!(request.query(), Some("x=1"));
        /// assert_eq!(request.header("content-type"), Some("application/x-www-form-urlencoded"));
        /// ```
        pub fn from_http_parts(parts: &http::request::Parts, body: Vec<u8>) -> Self {
            let method = Method::from_name(parts.method.as_str());
            let mut request = Self::new(method).with_body(body);
            if let Some(query) = parts.uri.query() {
                request = request.with_query(query);
            }
            // One allocation for the text of all headers, one for their positions.
            let text: usize = parts
                .headers
                .iter()
                .map(|(name, value)| name.as_str().len() + value.len())
                .sum();
            request.header_text.reserve_exact(text);
            request.header_spans.reserve_exact(parts.headers.len());
            for (name, value) in &parts.headers {
                request.add_header(name.as_str(), value.as_bytes());
            }
            request
        }
    }

    impl HttpResponse {
        /// Converts the response into an `http::Response` with the body as bytes. Header
        /// values marked [`sensitive`](super::Header::sensitive) are flagged sensitive, so
        /// HTTP/2 encoders and well-behaved loggers leave them alone.
        ///
        /// ```
        /// use grantflow::{ErrorCode, OAuthError};
        ///
        /// let response = OAuthError::new(ErrorCode::INVALID_REQUEST).to_response().into_http();
        /// assert_eq!(response.status(), 400);
        /// assert_eq!(response.headers()["cache-control"], "no-store");
        /// ```
        pub fn into_http(self) -> http::Response<Vec<u8>> {
            let mut response = http::Response::new(self.body);
            *response.status_mut() = http::StatusCode::from_u16(self.status.as_u16())
                .unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
            let headers = response.headers_mut();
            for header in self.headers {
                // The crate only emits visible-ASCII header values; anything else is dropped
                // rather than sent malformed.
                let name = http::header::HeaderName::from_bytes(header.name.as_bytes());
                if let (Ok(name), Ok(mut value)) =
                    (name, http::HeaderValue::from_str(&header.value))
                {
                    value.set_sensitive(header.sensitive);
                    headers.append(name, value);
                }
            }
            response
        }
    }
}
