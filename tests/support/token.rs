//! Harness shared by the black-box tests: memory stores, a [`ManualClock`], a tiny
//! `block_on`, a fixture registry of clients, request builders and JSON helpers.
//!
//! Everything goes through `HttpRequest` in and `HttpResponse` out; the stores are held
//! here only so tests can check what was (or was not) stored.

#![allow(
    dead_code,
    unreachable_pub,
    reason = "each test binary uses a different part of the harness"
)]

use std::future::Future;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use grantflow::{
    AuthMethod, Client, ClientSecret, ClientType, GrantType, HttpRequest, HttpResponse,
    ManualClock, MemoryClientRegistry, MemoryTokenStore, Method, Server, ServerBuilder, TokenHash,
    TokenRecord, TokenStore as _,
};
use serde_json::{Map, Value};

/// The issuer (and so the default Basic realm) of every test server.
pub const ISSUER: &str = "https://as.example.com";

/// The access token lifetime the harness configures: not the default, so a test can tell
/// that `expires_in` follows the configuration.
pub const TTL: Duration = Duration::from_secs(900);

/// The form content type.
pub const FORM: &str = "application/x-www-form-urlencoded";

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

/// The start of every test: 2023-11-14T22:13:20Z.
pub fn t0() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_700_000_000)
}

/// Drives a future that never waits on I/O (the memory stores never return `Pending`).
pub fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(value) = future.as_mut().poll(&mut cx) {
            return value;
        }
    }
}

fn confidential(id: &str, secrets: &[&str], method: AuthMethod) -> grantflow::ClientBuilder {
    let mut builder = Client::builder(id, ClientType::Confidential).auth_method(method);
    for secret in secrets {
        builder = builder.secret(&ClientSecret::from_presented((*secret).to_owned()));
    }
    builder
}

fn cc_client(id: &str, secrets: &[&str], method: AuthMethod) -> Client {
    confidential(id, secrets, method)
        .grant_type(GrantType::CLIENT_CREDENTIALS)
        .allowed_scope("read write")
        .default_scope("read")
        .build()
        .expect("fixture client")
}

/// The fixture registry (see the constants above).
pub fn fixture_registry() -> MemoryClientRegistry {
    use AuthMethod::{ClientSecretBasic as Basic, ClientSecretPost as Post};
    let registry = MemoryClientRegistry::new();
    let mut clients = vec![
        cc_client(BACKEND.0, &[BACKEND.1], Basic),
        cc_client(POSTER.0, &[POSTER.1], Post),
        cc_client(OTHER.0, &[OTHER.1], Basic),
        cc_client(APPENDIX_B.0, &[APPENDIX_B.1], Post),
        cc_client(RFC_CLIENT, &[RFC_SECRET_1, RFC_SECRET_2], Basic),
        confidential(NO_DEFAULT.0, &[NO_DEFAULT.1], Basic)
            .grant_type(GrantType::CLIENT_CREDENTIALS)
            .allowed_scope("read write")
            .build()
            .expect("fixture client"),
        confidential(CASE.0, &[CASE.1], Basic)
            .grant_type(GrantType::CLIENT_CREDENTIALS)
            .allowed_scope("read READ write")
            .default_scope("read")
            .build()
            .expect("fixture client"),
        confidential(CODE_ONLY.0, &[CODE_ONLY.1], Basic)
            .grant_type(GrantType::AUTHORIZATION_CODE)
            .redirect_uri("https://code-only.example/cb")
            .allowed_scope("read write")
            .default_scope("read")
            .build()
            .expect("fixture client"),
        Client::builder(SPA, ClientType::Public)
            .grant_type(GrantType::AUTHORIZATION_CODE)
            .redirect_uri("https://spa.example/cb")
            .allowed_scope("read write")
            .default_scope("read")
            .build()
            .expect("fixture client"),
    ];
    for (id, secret) in V_BASIC_CLIENTS.iter().skip(2) {
        clients.push(cc_client(id, &[secret], Basic));
    }
    for client in clients {
        registry.insert(client).expect("unique fixture ids");
    }
    registry
}

/// A server over the fixture registry, a fresh [`MemoryTokenStore`] and a [`ManualClock`]
/// at [`t0`], with the default attempt limiter.
#[derive(Debug, Clone)]
pub struct Harness {
    pub server: Server,
    pub clients: Arc<MemoryClientRegistry>,
    pub tokens: Arc<MemoryTokenStore>,
    pub clock: ManualClock,
}

impl Harness {
    /// The default harness.
    pub fn new() -> Self {
        Self::with(|builder| builder)
    }

    /// A harness whose server builder is adjusted by `configure` before `build`.
    pub fn with(configure: impl FnOnce(ServerBuilder) -> ServerBuilder) -> Self {
        let clients = Arc::new(fixture_registry());
        let tokens = Arc::new(MemoryTokenStore::new());
        let clock = ManualClock::new(t0());
        let builder = Server::builder(ISSUER, clients.clone(), tokens.clone())
            .clock(Arc::new(clock.clone()))
            .access_token_ttl(TTL);
        let server = configure(builder).build().expect("test server config");
        Self {
            server,
            clients,
            tokens,
            clock,
        }
    }

    /// Calls the token endpoint; memory stores never fail, so an `Err` fails the test.
    pub fn token(&self, request: &HttpRequest) -> HttpResponse {
        block_on(self.server.token(request)).expect("memory stores never fail")
    }

    /// How many records the token store holds.
    pub fn stored(&self) -> usize {
        self.tokens.len()
    }

    /// The stored record of `access_token`, looked up by its digest.
    pub fn record(&self, access_token: &str) -> Option<TokenRecord> {
        block_on(self.tokens.find(&TokenHash::of(access_token))).expect("memory store")
    }
}

impl Default for Harness {
    fn default() -> Self {
        Self::new()
    }
}

// ---------------------------------------------------------------------------------------
// Request builders
// ---------------------------------------------------------------------------------------

/// Form-url-encodes `s` (the WHATWG serializer: `+` for a space, `%XX` for the rest).
pub fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// `Basic base64(formenc(id) ":" formenc(secret))`, as RFC 6749 §2.3.1 says.
pub fn basic(id: &str, secret: &str) -> String {
    format!(
        "Basic {}",
        STANDARD.encode(format!("{}:{}", enc(id), enc(secret)))
    )
}

/// `Basic base64(raw)`, for plain RFC 7617 credentials and malformed ones.
pub fn basic_raw(raw: impl AsRef<[u8]>) -> String {
    format!("Basic {}", STANDARD.encode(raw))
}

/// `POST` with the form content type and `body`.
pub fn post_form(body: impl Into<Vec<u8>>) -> HttpRequest {
    HttpRequest::new(Method::Post)
        .with_header("Content-Type", FORM)
        .with_body(body)
}

/// A token request authenticated with `client_secret_basic`.
pub fn basic_request(id: &str, secret: &str, body: impl Into<Vec<u8>>) -> HttpRequest {
    post_form(body).with_header("Authorization", basic(id, secret))
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

/// `grant_type=client_credentials`, plus `scope` when given (form-encoded).
pub fn cc_body(scope: Option<&str>) -> String {
    match scope {
        Some(scope) => format!("grant_type=client_credentials&scope={}", enc(scope)),
        None => "grant_type=client_credentials".to_owned(),
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

/// Whether `s` uses only the `error` / `error_description` characters of RFC 6749 §5.2
/// (`%x20-21 / %x23-5B / %x5D-7E`, ER-02).
pub fn is_er02(s: &str) -> bool {
    s.chars()
        .all(|c| matches!(c, '\x20'..='\x21' | '\x23'..='\x5b' | '\x5d'..='\x7e'))
}

/// TE-12 / ER-03: the headers of every token endpoint response.
pub fn assert_token_headers(response: &HttpResponse) {
    assert_eq!(
        response.header("content-type"),
        Some("application/json"),
        "{response:?}"
    );
    assert_eq!(
        response.header("cache-control"),
        Some("no-store"),
        "{response:?}"
    );
    assert_eq!(response.header("pragma"), Some("no-cache"), "{response:?}");
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
