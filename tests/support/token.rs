//! The token endpoint's fixtures (client authentication, client credentials, the wire
//! format, the RFC vectors): confidential clients of every authentication method, the
//! RFC 6749 §2.3.1 Basic vectors, request builders and exact response checks.
//!
//! Everything goes through `HttpRequest` in and `HttpResponse` out; the stores are held in
//! the [`Harness`] only so tests can check what was (or was not) stored.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use grantflow::{
    AuthMethod, Client, ClientSecret, ClientType, GrantType, HttpRequest, HttpResponse,
    MemoryClientRegistry, Method, ServerBuilder,
};
use serde_json::{Map, Value};

pub use super::harness::basic_header as basic;
pub use super::harness::*;

/// The harness of the token endpoint suites: [`fixture_registry`] and [`TTL`].
pub type Harness = super::harness::Harness<Token>;

/// The token endpoint suites' area of [`Harness`].
#[derive(Debug)]
pub enum Token {}

/// The access token lifetime the harness configures: not the default, so a test can tell
/// that `expires_in` follows the configuration.
pub const TTL: Duration = Duration::from_secs(900);

/// A confidential `client_secret_basic` client: client_credentials, allowed `read write`,
/// default `read`.
pub const BACKEND: (&str, &str) = ("backend", "backend-secret-Zq3vX0");
/// A confidential `client_secret_post` client, otherwise like [`BACKEND`].
pub const POSTER: (&str, &str) = ("poster", "poster-secret-9sLk2");
/// A second `client_secret_basic` client, otherwise like [`BACKEND`] (for "another client is
/// unaffected" checks).
pub const OTHER: (&str, &str) = ("other-backend", "other-secret-77aQ");
/// Like [`BACKEND`] but without a default scope.
pub const NO_DEFAULT: (&str, &str) = ("no-default", "no-default-secret-1");
/// Like [`BACKEND`] but allowed `read READ write` (scope tokens are case-sensitive).
pub const CASE: (&str, &str) = ("case-sensitive", "case-secret-4");
/// A confidential `client_secret_basic` client registered for authorization_code only.
pub const CODE_ONLY: (&str, &str) = ("code-only", "code-only-secret-2");
/// A public client (`none`), authorization_code only.
pub const SPA: &str = "spa";
/// A `client_secret_post` client whose secret is the RFC 6749 Appendix B characters
/// (U+0020 U+0025 U+0026 U+002B U+00A3 U+20AC).
pub const APPENDIX_B: (&str, &str) = ("appendix-b", " %&+\u{a3}\u{20ac}");

/// RFC 6749 §2.3.1 client (V-BASIC-1); it also holds the V-BASIC-2 secret, registered as a
/// second (rotated) secret because one `client_id` can be registered only once.
pub const RFC_CLIENT: &str = "s6BhdRkqt3";
/// V-BASIC-1 secret.
pub const RFC_SECRET_1: &str = "7Fjfp0ZBr1KtDRbnfVdmIw";
/// V-BASIC-2 secret (RFC 6749 §4.1.3, §4.4.2).
pub const RFC_SECRET_2: &str = "gX1fBat3bV";

/// The `client_secret_basic` clients of CHECKLIST §24.2, as decoded (id, secret).
pub const V_BASIC_CLIENTS: [(&str, &str); 7] = [
    (RFC_CLIENT, RFC_SECRET_1),
    (RFC_CLIENT, RFC_SECRET_2),
    ("Aladdin", "open sesame"),
    ("urn:example:client", "s3cr3t/with+plus&amp=eq%"),
    ("client id with spaces", "p@ss:w0rd!"),
    ("c~1", "s~2"),
    ("test", "123\u{a3}"),
];

/// CHECKLIST §24.2 verbatim: (vector, `Authorization` value, the id it must authenticate).
pub const V_BASIC: [(&str, &str, &str); 9] = [
    (
        "V-BASIC-1",
        "Basic czZCaGRSa3F0Mzo3RmpmcDBaQnIxS3REUmJuZlZkbUl3",
        RFC_CLIENT,
    ),
    (
        "V-BASIC-2",
        "Basic czZCaGRSa3F0MzpnWDFmQmF0M2JW",
        RFC_CLIENT,
    ),
    ("V-BASIC-3", "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==", "Aladdin"),
    (
        "V-BASIC-3b",
        "Basic QWxhZGRpbjpvcGVuK3Nlc2FtZQ==",
        "Aladdin",
    ),
    (
        "V-BASIC-4",
        "Basic dXJuJTNBZXhhbXBsZSUzQWNsaWVudDpzM2NyM3QlMkZ3aXRoJTJCcGx1cyUyNmFtcCUzRGVxJTI1",
        "urn:example:client",
    ),
    (
        "V-BASIC-5",
        "Basic Y2xpZW50K2lkK3dpdGgrc3BhY2VzOnAlNDBzcyUzQXcwcmQlMjE=",
        "client id with spaces",
    ),
    ("V-BASIC-6", "Basic Y34xOnMlN0Uy", "c~1"),
    ("V-BASIC-7", "Basic dGVzdDoxMjPCow==", "test"),
    (
        "V-BASIC-7 (OAuth-encoded)",
        "Basic dGVzdDoxMjMlQzIlQTM=",
        "test",
    ),
];

/// V-BASIC-NEG: V-BASIC-4 sent without form-encoding.
pub const V_BASIC_NEG: &str = "Basic dXJuOmV4YW1wbGU6Y2xpZW50OnMzY3IzdC93aXRoK3BsdXMmYW1wPWVxJQ==";

fn confidential(id: &str, secrets: &[&str], method: AuthMethod) -> grantflow::ClientBuilder {
    let mut builder = Client::builder(id, ClientType::Confidential).auth_method(method);
    for secret in secrets {
        builder = builder.secret(&ClientSecret::from_presented((*secret).to_owned()));
    }
    builder
}

fn cc_client(id: &str, secrets: &[&str], method: AuthMethod) -> grantflow::ClientBuilder {
    confidential(id, secrets, method)
        .grant_type(GrantType::CLIENT_CREDENTIALS)
        .allowed_scope("read write")
        .default_scope("read")
}

/// The fixture registry (see the constants above).
pub fn fixture_registry() -> MemoryClientRegistry {
    use AuthMethod::{ClientSecretBasic as Basic, ClientSecretPost as Post};
    let mut clients = vec![
        cc_client(BACKEND.0, &[BACKEND.1], Basic),
        cc_client(POSTER.0, &[POSTER.1], Post),
        cc_client(OTHER.0, &[OTHER.1], Basic),
        cc_client(APPENDIX_B.0, &[APPENDIX_B.1], Post),
        cc_client(RFC_CLIENT, &[RFC_SECRET_1, RFC_SECRET_2], Basic),
        confidential(NO_DEFAULT.0, &[NO_DEFAULT.1], Basic)
            .grant_type(GrantType::CLIENT_CREDENTIALS)
            .allowed_scope("read write"),
        confidential(CASE.0, &[CASE.1], Basic)
            .grant_type(GrantType::CLIENT_CREDENTIALS)
            .allowed_scope("read READ write")
            .default_scope("read"),
        confidential(CODE_ONLY.0, &[CODE_ONLY.1], Basic)
            .grant_type(GrantType::AUTHORIZATION_CODE)
            .redirect_uri("https://code-only.example/cb")
            .allowed_scope("read write")
            .default_scope("read"),
        Client::builder(SPA, ClientType::Public)
            .grant_type(GrantType::AUTHORIZATION_CODE)
            .redirect_uri("https://spa.example/cb")
            .allowed_scope("read write")
            .default_scope("read"),
    ];
    for (id, secret) in V_BASIC_CLIENTS.iter().skip(2) {
        clients.push(cc_client(id, &[secret], Basic));
    }
    register(clients)
}

impl Harness {
    /// A server over the fixture registry with access tokens living [`TTL`], and the
    /// default attempt limiter.
    pub fn new() -> Self {
        Self::with(|builder| builder)
    }

    /// Like [`Harness::new`], the server builder adjusted by `configure` before `build`.
    pub fn with(configure: impl FnOnce(ServerBuilder) -> ServerBuilder) -> Self {
        Self::builder(Arc::new(fixture_registry()))
            .build(|builder| configure(builder.access_token_ttl(TTL)))
    }
}

// ---------------------------------------------------------------------------------------
// Request builders
// ---------------------------------------------------------------------------------------

/// `Basic base64(raw)`, for plain RFC 7617 credentials and malformed ones.
pub fn basic_raw(raw: impl AsRef<[u8]>) -> String {
    format!("Basic {}", STANDARD.encode(raw))
}

/// A token request authenticated with `client_secret_basic`.
pub fn basic_request(id: &str, secret: &str, body: impl AsRef<[u8]>) -> HttpRequest {
    post_form(body).with_header("Authorization", basic(id, secret))
}

/// A server builder over [`fixture_registry`] and a fresh token store, with nothing else
/// set (the harness's clock and lifetimes included).
pub fn fixture_server() -> ServerBuilder {
    let tokens = Arc::new(grantflow::MemoryTokenStore::new());
    grantflow::Server::builder(ISSUER, Arc::new(fixture_registry()), tokens)
}

/// A request of `backend` with its right Basic credentials and `body`.
pub fn backend(body: impl AsRef<[u8]>) -> HttpRequest {
    basic_request(BACKEND.0, BACKEND.1, body)
}

/// A token request authenticated with `client_secret_post`: `body` followed by the
/// form-encoded `client_id` and `client_secret`.
pub fn post_request(id: &str, secret: &str, body: &str) -> HttpRequest {
    post_form(format!(
        "{body}&client_id={}&client_secret={}",
        enc(id),
        enc(secret)
    ))
}

/// The backend's right client credentials request (Basic, default scope) sent with
/// `method` and `content_type`.
pub fn backend_cc_as(method: Method, content_type: Option<&str>) -> HttpRequest {
    let auth = basic(BACKEND.0, BACKEND.1);
    raw_request(
        method,
        content_type,
        &[("Authorization", &auth)],
        cc_body(None).as_bytes(),
    )
}

/// A raw request: any method, optional content type, extra headers, raw body bytes.
pub fn raw_request(
    method: Method,
    content_type: Option<&str>,
    headers: &[(&str, &str)],
    body: &[u8],
) -> HttpRequest {
    let mut request = HttpRequest::new(method);
    if let Some(content_type) = content_type {
        request = request.with_header("Content-Type", content_type);
    }
    for (name, value) in headers {
        request = request.with_header(name, *value);
    }
    request.with_body(body.to_vec())
}

/// The body of a client credentials request without a scope.
pub const CC: &str = "grant_type=client_credentials";

/// `grant_type=client_credentials`, plus `scope` when given (form-encoded).
pub fn cc_body(scope: Option<&str>) -> String {
    match scope {
        Some(scope) => format!("grant_type=client_credentials&scope={}", enc(scope)),
        None => CC.to_owned(),
    }
}

/// A valid client-credentials request by [`BACKEND`] with `client_secret_basic`.
pub fn backend_cc() -> HttpRequest {
    basic_request(BACKEND.0, BACKEND.1, cc_body(None))
}

// ---------------------------------------------------------------------------------------
// Response checks
// ---------------------------------------------------------------------------------------

/// The body as a JSON object; fails the test if it is not one.
pub fn json(response: &HttpResponse) -> Map<String, Value> {
    match serde_json::from_slice::<Value>(&response.body) {
        Ok(Value::Object(map)) => map,
        other => panic!(
            "body is not a JSON object: {other:?} ({:?})",
            String::from_utf8_lossy(&response.body)
        ),
    }
}

/// An RFC 6749 §5.2 error response: `status`, the JSON headers, `error == code`, only the
/// §5.2 members, all strings, and an `error_description` within ER-02. Returns the body.
#[track_caller]
pub fn assert_error(response: &HttpResponse, status: u16, code: &str) -> Map<String, Value> {
    assert_eq!(
        response.status.as_u16(),
        status,
        "{response:?} {:?}",
        String::from_utf8_lossy(&response.body)
    );
    assert_token_headers(response);
    let body = json(response);
    assert_eq!(
        body.get("error").and_then(Value::as_str),
        Some(code),
        "{body:?}"
    );
    for (name, value) in &body {
        assert!(
            ["error", "error_description", "error_uri"].contains(&name.as_str()),
            "unexpected member {name} in {body:?}"
        );
        let text = value
            .as_str()
            .unwrap_or_else(|| panic!("{name} is not a string"));
        if name != "error_uri" {
            assert!(is_er02(text), "{name} breaks ER-02: {text:?}");
        }
    }
    body
}

/// TE-11: a 200 token response with exactly `access_token`, `token_type: "Bearer"`,
/// `expires_in` equal to [`TTL`] and `scope` equal to `scope`, no `refresh_token`, no nulls.
/// Returns the access token.
#[track_caller]
pub fn assert_token(response: &HttpResponse, scope: &str) -> String {
    assert_eq!(
        response.status.as_u16(),
        200,
        "{response:?} {:?}",
        String::from_utf8_lossy(&response.body)
    );
    assert_token_headers(response);
    let body = json(response);
    let mut names: Vec<&str> = body.keys().map(String::as_str).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        ["access_token", "expires_in", "scope", "token_type"],
        "{body:?}"
    );
    assert!(body.values().all(|v| !v.is_null()));
    assert_eq!(body["token_type"], Value::String("Bearer".into()));
    assert_eq!(body["expires_in"].as_u64(), Some(TTL.as_secs()));
    assert!(body["expires_in"].is_number());
    assert_eq!(body["scope"].as_str(), Some(scope));
    body["access_token"]
        .as_str()
        .expect("access_token is a string")
        .to_owned()
}

/// The `www-authenticate` value of a failed header attempt (TE-09).
#[track_caller]
pub fn assert_basic_challenge(response: &HttpResponse) -> String {
    let challenge = response
        .header("www-authenticate")
        .unwrap_or_else(|| panic!("no www-authenticate in {response:?}"));
    assert!(
        challenge.starts_with("Basic realm=\""),
        "challenge {challenge:?}"
    );
    challenge.to_owned()
}

/// Whether `s` is a 256-bit base64url token without padding.
pub fn is_token_text(s: &str) -> bool {
    s.len() == 43
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}
