//! The harness shared by the fuzz targets: a [`World`] of memory stores holding live
//! artifacts (tokens, a code, a device request) under known values, a structured request
//! ([`FuzzRequest`]) decoded from the fuzzer's bytes, and the invariants every response
//! must keep. A broken invariant panics, which libFuzzer reports as a crash.
//!
//! Invariants checked for every endpoint:
//! - no panic, and `Err` never (memory stores do not fail);
//! - a 2xx or 4xx status, never 5xx (and a 3xx only from the authorization endpoint);
//! - token-style responses: `Content-Type: application/json`, `Cache-Control: no-store`,
//!   and for errors a JSON object with only `error` / `error_description` / `error_uri`,
//!   all strings in the ER-02 character set;
//! - no response carries a live secret (client secrets, tokens, codes) except the fresh
//!   tokens of a success;
//! - nothing is stored by a refused request (store counts before and after).

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use grantflow::{
    AuthMethod, AuthorizationGrant, Client, ClientId, ClientSecret, ClientType, CodeChallenge,
    CodeStore as _, DeviceRecord, DeviceStore as _, GrantId, GrantType, HttpRequest, HttpResponse,
    ManualClock, MemoryClientRegistry, MemoryCodeStore, MemoryDeviceStore, MemoryTokenStore,
    Method, PkceMethod, Scope, Server, Subject, TokenHash, TokenKind, TokenRecord, TokenStore as _,
};
pub use libfuzzer_sys::arbitrary::{self, Arbitrary, Unstructured};

/// The issuer of the fuzzed server.
pub const ISSUER: &str = "https://as.example.com";
/// A confidential `client_secret_basic` client with every grant, introspection allowed.
pub const CONF: (&str, &str) = ("conf", "conf-secret-Vq81xZ");
/// A confidential `client_secret_post` client: client credentials and device grant.
pub const POST: (&str, &str) = ("post", "post-secret-3kPq0");
/// A public client: code, refresh and device grants.
pub const SPA: &str = "spa";
/// A resource server allowed to introspect, with its own audience.
pub const RS: (&str, &str) = ("rs", "rs-secret-Mm5tY");
/// The audience of [`RS`].
pub const RS_AUDIENCE: &str = "https://rs.example";
/// Redirect URIs registered for [`CONF`] and [`SPA`].
pub const CONF_REDIRECT: &str = "https://conf.example/cb";
/// The loopback redirect of [`SPA`] (any port).
pub const LOOPBACK_REDIRECT: &str = "http://127.0.0.1/cb";
/// The redirect of [`SPA`], with a registered query.
pub const SPA_REDIRECT: &str = "https://spa.example/cb?tenant=a";

/// A live access token of [`CONF`], scope `read write`.
pub const ACCESS_TOKEN: &str = "live-access-token-Q4dZr8LbX2mN7pVt0wYc1eHs9uKj3fGa";
/// A live access token restricted to [`RS_AUDIENCE`].
pub const AUDIENCE_TOKEN: &str = "live-audience-token-Z8xW2vB6nM4qR1tY7uI0oP3aS5dF";
/// A live refresh token of [`CONF`].
pub const REFRESH_TOKEN: &str = "live-refresh-token-H6jK9lL2zX5cV8bN1mQ4wE7rT0yU";
/// A live refresh token of [`SPA`].
pub const SPA_REFRESH_TOKEN: &str = "live-spa-refresh-token-A1sD4fG7hJ0kL3zX6cV9bN2m";
/// A live authorization code of [`SPA`], bound to [`LOOPBACK_REDIRECT`] and [`VERIFIER`].
pub const CODE: &str = "live-authorization-code-P0oI9uY8tR7eW6qA5sD4fG3h";
/// The PKCE verifier of [`CODE`] (RFC 7636 Appendix B).
pub const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
/// Its S256 challenge.
pub const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
/// A pending device code of [`SPA`].
pub const DEVICE_CODE: &str = "live-device-code-J2kL5zX8cV1bN4mQ7wE0rT3yU6iO9pA";
/// Its user code.
pub const USER_CODE: &str = "WDJBMJHT";

/// Every live secret: no refused request may echo one.
pub const SECRETS: [&str; 11] = [
    CONF.1,
    POST.1,
    RS.1,
    ACCESS_TOKEN,
    AUDIENCE_TOKEN,
    REFRESH_TOKEN,
    SPA_REFRESH_TOKEN,
    CODE,
    VERIFIER,
    DEVICE_CODE,
    USER_CODE,
];

/// Drives a future that never waits on I/O (the memory stores never return `Pending`).
pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    loop {
        if let std::task::Poll::Ready(value) = future.as_mut().poll(&mut cx) {
            return value;
        }
    }
}

/// The server and its stores, with the live artifacts above in place.
pub struct World {
    /// The server under test.
    pub server: Server,
    /// Its token store.
    pub tokens: Arc<MemoryTokenStore>,
    /// Its code store.
    pub codes: Arc<MemoryCodeStore>,
    /// Its device store.
    pub devices: Arc<MemoryDeviceStore>,
    /// Its clock.
    pub clock: ManualClock,
}

/// The start time: 2023-11-14T22:13:20Z.
pub fn t0() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_700_000_000)
}

fn clients() -> MemoryClientRegistry {
    let registry = MemoryClientRegistry::new();
    let secret = |s: &str| ClientSecret::from_presented(s.to_owned());
    let clients = [
        Client::builder(CONF.0, ClientType::Confidential)
            .secret(&secret(CONF.1))
            .grant_type(GrantType::AUTHORIZATION_CODE)
            .grant_type(GrantType::REFRESH_TOKEN)
            .grant_type(GrantType::CLIENT_CREDENTIALS)
            .grant_type(GrantType::DEVICE_CODE)
            .grant_type(GrantType::PASSWORD)
            .redirect_uri(CONF_REDIRECT)
            .allowed_scope("read write")
            .default_scope("read")
            .introspection(true)
            .build(),
        Client::builder(POST.0, ClientType::Confidential)
            .secret(&secret(POST.1))
            .auth_method(AuthMethod::ClientSecretPost)
            .grant_type(GrantType::CLIENT_CREDENTIALS)
            .grant_type(GrantType::DEVICE_CODE)
            .allowed_scope("read")
            .build(),
        Client::builder(SPA, ClientType::Public)
            .name("<b>Spa</b> \"app\"")
            .grant_type(GrantType::AUTHORIZATION_CODE)
            .grant_type(GrantType::REFRESH_TOKEN)
            .grant_type(GrantType::DEVICE_CODE)
            .redirect_uri(SPA_REDIRECT)
            .redirect_uri(LOOPBACK_REDIRECT)
            .redirect_uri("http://localhost/cb")
            .allowed_scope("read write")
            .default_scope("read")
            .build(),
        Client::builder(RS.0, ClientType::Confidential)
            .secret(&secret(RS.1))
            .grant_type(GrantType::CLIENT_CREDENTIALS)
            .introspection(true)
            .resource_audience(RS_AUDIENCE)
            .build(),
    ];
    for client in clients {
        if let Ok(client) = client {
            let _ = registry.insert(client);
        }
    }
    registry
}

/// Accepts alice / "correct horse" for the password grant.
#[derive(Debug)]
struct Users;

#[async_trait::async_trait]
impl grantflow::ResourceOwnerVerifier for Users {
    async fn verify(
        &self,
        _client: &Client,
        username: &str,
        password: &grantflow::ResourceOwnerPassword,
    ) -> Result<Option<Subject>, grantflow::StorageError> {
        let ok = username == "alice" && password.expose_secret() == "correct horse";
        Ok(ok.then(|| Subject::new("alice")))
    }
}

impl World {
    /// A fresh server with the live artifacts stored.
    pub fn new() -> Self {
        let tokens = Arc::new(MemoryTokenStore::new());
        let codes = Arc::new(MemoryCodeStore::new());
        let devices = Arc::new(MemoryDeviceStore::new());
        let clock = ManualClock::new(t0());
        let server = Server::builder(ISSUER, Arc::new(clients()), tokens.clone())
            .clock(Arc::new(clock.clone()))
            .code_store(codes.clone())
            .device_store(devices.clone())
            .password_grant(Arc::new(Users))
            .build()
            .expect("the fuzz configuration is valid");
        let now = t0();
        let hour = now + Duration::from_secs(3600);
        let id = |s: &str| ClientId::new(s).expect("fixture id");
        let scope = |s: &str| Scope::parse(s).expect("fixture scope");
        let conf_grant = GrantId::generate();
        let spa_grant = GrantId::generate();
        let record = |kind, grant, client: &str, expires| {
            TokenRecord::new(kind, grant, id(client), scope("read write"), now, expires)
        };
        let stored = block_on(tokens.insert(vec![
            (
                TokenHash::of(ACCESS_TOKEN),
                record(TokenKind::Access, conf_grant, CONF.0, hour)
                    .with_subject(Some(Subject::new("alice"))),
            ),
            (
                TokenHash::of(REFRESH_TOKEN),
                record(TokenKind::Refresh, conf_grant, CONF.0, hour)
                    .with_subject(Some(Subject::new("alice"))),
            ),
            (
                TokenHash::of(AUDIENCE_TOKEN),
                record(TokenKind::Access, GrantId::generate(), CONF.0, hour)
                    .with_audience(Some(RS_AUDIENCE.into())),
            ),
            (
                TokenHash::of(SPA_REFRESH_TOKEN),
                record(TokenKind::Refresh, spa_grant, SPA, hour)
                    .with_subject(Some(Subject::new("bob"))),
            ),
        ]));
        assert!(matches!(stored, Ok(grantflow::Insert::Stored)));
        let grant = AuthorizationGrant::new(
            GrantId::generate(),
            id(SPA),
            Subject::new("bob"),
            scope("read"),
            ISSUER,
            now,
            now + Duration::from_secs(60),
        )
        .with_redirect_uri(Some(LOOPBACK_REDIRECT))
        .with_challenge(CodeChallenge::new(PkceMethod::S256, CHALLENGE));
        block_on(codes.insert(TokenHash::of(CODE), grant)).expect("memory store");
        let device = DeviceRecord::new(
            GrantId::generate(),
            id(SPA),
            scope("read"),
            USER_CODE.to_owned(),
            now,
            now + Duration::from_secs(600),
            Duration::from_secs(5),
        );
        block_on(devices.insert(TokenHash::of(DEVICE_CODE), device)).expect("memory store");
        Self {
            server,
            tokens,
            codes,
            devices,
            clock,
        }
    }

    /// The store counts: (tokens, codes, device requests).
    pub fn counts(&self) -> (usize, usize, usize) {
        (self.tokens.len(), self.codes.len(), self.devices.len())
    }
}

impl Default for World {
    fn default() -> Self {
        Self::new()
    }
}

// ---------------------------------------------------------------------------------------
// Structured requests
// ---------------------------------------------------------------------------------------

/// A parameter name: the ones the endpoints read, or anything.
#[derive(Arbitrary, Debug, Clone)]
pub enum Name {
    /// `grant_type`
    GrantType,
    /// `client_id`
    ClientId,
    /// `client_secret`
    ClientSecret,
    /// `code`
    Code,
    /// `redirect_uri`
    RedirectUri,
    /// `code_verifier`
    CodeVerifier,
    /// `refresh_token`
    RefreshToken,
    /// `scope`
    Scope,
    /// `state`
    State,
    /// `response_type`
    ResponseType,
    /// `code_challenge`
    CodeChallenge,
    /// `code_challenge_method`
    CodeChallengeMethod,
    /// `token`
    Token,
    /// `token_type_hint`
    TokenTypeHint,
    /// `device_code`
    DeviceCode,
    /// `username`
    Username,
    /// `password`
    Password,
    /// `access_token`
    AccessToken,
    /// `client_assertion`
    ClientAssertion,
    /// `client_assertion_type`
    ClientAssertionType,
    /// Any other text, sent as is.
    Raw(String),
}

impl Name {
    fn text(&self) -> &str {
        match self {
            Self::GrantType => "grant_type",
            Self::ClientId => "client_id",
            Self::ClientSecret => "client_secret",
            Self::Code => "code",
            Self::RedirectUri => "redirect_uri",
            Self::CodeVerifier => "code_verifier",
            Self::RefreshToken => "refresh_token",
            Self::Scope => "scope",
            Self::State => "state",
            Self::ResponseType => "response_type",
            Self::CodeChallenge => "code_challenge",
            Self::CodeChallengeMethod => "code_challenge_method",
            Self::Token => "token",
            Self::TokenTypeHint => "token_type_hint",
            Self::DeviceCode => "device_code",
            Self::Username => "username",
            Self::Password => "password",
            Self::AccessToken => "access_token",
            Self::ClientAssertion => "client_assertion",
            Self::ClientAssertionType => "client_assertion_type",
            Self::Raw(raw) => raw,
        }
    }
}

/// A value the endpoints know, so the fuzzer reaches the paths behind them.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum Known {
    /// `client_credentials`
    ClientCredentials,
    /// `authorization_code`
    AuthorizationCode,
    /// `refresh_token`
    RefreshTokenGrant,
    /// The device grant type.
    DeviceGrant,
    /// `password`
    PasswordGrant,
    /// A client id.
    Conf,
    /// Its secret.
    ConfSecret,
    /// A client id.
    Post,
    /// Its secret.
    PostSecret,
    /// A client id.
    Spa,
    /// A client id.
    Rs,
    /// Its secret.
    RsSecret,
    /// A live token.
    AccessToken,
    /// A live token.
    AudienceToken,
    /// A live token.
    RefreshToken,
    /// A live token.
    SpaRefreshToken,
    /// The live code.
    Code,
    /// Its verifier.
    Verifier,
    /// Its challenge.
    Challenge,
    /// `S256`
    S256,
    /// `plain`
    Plain,
    /// `code`
    CodeResponseType,
    /// `token`
    TokenResponseType,
    /// `read`
    Read,
    /// `read write`
    ReadWrite,
    /// `admin`
    Admin,
    /// A registered redirect.
    ConfRedirect,
    /// A registered redirect.
    SpaRedirect,
    /// The loopback redirect with a port.
    Loopback(u16),
    /// `http://localhost:<port>/cb`
    Localhost(u16),
    /// The live device code.
    DeviceCode,
    /// Its user code.
    UserCode,
    /// `access_token`
    HintAccess,
    /// `refresh_token`
    HintRefresh,
    /// `alice`
    Alice,
    /// `correct horse`
    AlicePassword,
    /// HTML metacharacters.
    Html,
    /// SQL metacharacters.
    Sql,
}

impl Known {
    fn text(self) -> String {
        let fixed = match self {
            Self::ClientCredentials => "client_credentials",
            Self::AuthorizationCode => "authorization_code",
            Self::RefreshTokenGrant => "refresh_token",
            Self::DeviceGrant => "urn:ietf:params:oauth:grant-type:device_code",
            Self::PasswordGrant => "password",
            Self::Conf => CONF.0,
            Self::ConfSecret => CONF.1,
            Self::Post => POST.0,
            Self::PostSecret => POST.1,
            Self::Spa => SPA,
            Self::Rs => RS.0,
            Self::RsSecret => RS.1,
            Self::AccessToken => ACCESS_TOKEN,
            Self::AudienceToken => AUDIENCE_TOKEN,
            Self::RefreshToken => REFRESH_TOKEN,
            Self::SpaRefreshToken => SPA_REFRESH_TOKEN,
            Self::Code => CODE,
            Self::Verifier => VERIFIER,
            Self::Challenge => CHALLENGE,
            Self::S256 => "S256",
            Self::Plain => "plain",
            Self::CodeResponseType => "code",
            Self::TokenResponseType => "token",
            Self::Read => "read",
            Self::ReadWrite => "read write",
            Self::Admin => "admin",
            Self::ConfRedirect => CONF_REDIRECT,
            Self::SpaRedirect => SPA_REDIRECT,
            Self::Loopback(port) => return format!("http://127.0.0.1:{port}/cb"),
            Self::Localhost(port) => return format!("http://localhost:{port}/cb"),
            Self::DeviceCode => DEVICE_CODE,
            Self::UserCode => "WDJB-MJHT",
            Self::HintAccess => "access_token",
            Self::HintRefresh => "refresh_token",
            Self::Alice => "alice",
            Self::AlicePassword => "correct horse",
            Self::Html => "<script>alert(\"x\")</script>&<img src=x onerror=1>",
            Self::Sql => "' OR '1'='1'; DROP TABLE tokens; --\\",
        };
        fixed.to_owned()
    }
}

/// A parameter value.
#[derive(Arbitrary, Debug, Clone)]
pub enum Value {
    /// A known value.
    Known(Known),
    /// Any text.
    Raw(String),
    /// Any bytes (sent percent-encoded, so invalid UTF-8 reaches the decoder).
    Bytes(Vec<u8>),
    /// A long run of one character.
    Long(u16, char),
}

impl Value {
    fn decoded(&self) -> Vec<u8> {
        match self {
            Self::Known(known) => known.text().into_bytes(),
            Self::Raw(raw) => raw.clone().into_bytes(),
            Self::Bytes(bytes) => bytes.clone(),
            Self::Long(n, c) => std::iter::repeat_n(*c, usize::from(*n) % 6000)
                .collect::<String>()
                .into_bytes(),
        }
    }
}

/// How a name or value is written into the form.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum Encoding {
    /// Form-encoded, as a client would.
    Encoded,
    /// As is (bytes that are not UTF-8 are encoded anyway).
    Plain,
    /// Encoded twice.
    Double,
}

fn encode(bytes: &[u8], encoding: Encoding) -> String {
    let once: String = url::form_urlencoded::byte_serialize(bytes).collect();
    match encoding {
        Encoding::Encoded => once,
        Encoding::Plain => String::from_utf8(bytes.to_vec()).unwrap_or(once),
        Encoding::Double => url::form_urlencoded::byte_serialize(once.as_bytes()).collect(),
    }
}

/// One `name=value` pair and what follows it.
#[derive(Arbitrary, Debug, Clone)]
pub struct Param {
    name: Name,
    value: Value,
    encoding: Encoding,
    /// No `=` at all.
    bare: bool,
    /// `&&` instead of `&`.
    double_separator: bool,
}

fn form(params: &[Param]) -> Vec<u8> {
    let mut out = String::new();
    for param in params {
        if !out.is_empty() {
            out.push('&');
            if param.double_separator {
                out.push('&');
            }
        }
        out.push_str(&encode(param.name.text().as_bytes(), param.encoding));
        if !param.bare {
            out.push('=');
            out.push_str(&encode(&param.value.decoded(), param.encoding));
        }
    }
    out.into_bytes()
}

/// A request body.
#[derive(Arbitrary, Debug, Clone)]
pub enum Body {
    /// A form.
    Form(Vec<Param>),
    /// Raw bytes.
    Raw(Vec<u8>),
    /// A form followed by raw bytes.
    FormThenRaw(Vec<Param>, Vec<u8>),
}

/// The `Content-Type` header.
#[derive(Arbitrary, Debug, Clone)]
pub enum ContentType {
    /// `application/x-www-form-urlencoded`
    Form,
    /// With `charset=UTF-8`.
    FormUtf8,
    /// With a charset the endpoints refuse.
    FormLatin1,
    /// `application/json`
    Json,
    /// Any text.
    Raw(String),
}

/// An `Authorization` header.
#[derive(Arbitrary, Debug, Clone)]
pub enum Auth {
    /// `Basic` with an id and a secret, form-encoded as RFC 6749 §2.3.1 says.
    Basic(Value, Value),
    /// `Basic` with base64 of raw bytes.
    BasicRaw(Vec<u8>),
    /// `Bearer` with a value.
    Bearer(Value),
    /// Any text.
    Raw(String),
}

impl Auth {
    fn header(&self) -> String {
        match self {
            Self::Basic(id, secret) => {
                let pair = format!(
                    "{}:{}",
                    encode(&id.decoded(), Encoding::Encoded),
                    encode(&secret.decoded(), Encoding::Encoded)
                );
                format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(pair)
                )
            }
            Self::BasicRaw(raw) => format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(raw)
            ),
            Self::Bearer(value) => {
                format!("Bearer {}", String::from_utf8_lossy(&value.decoded()))
            }
            Self::Raw(raw) => raw.clone(),
        }
    }
}

/// The request method.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum FuzzMethod {
    /// `POST`
    Post,
    /// `GET`
    Get,
    /// `HEAD`
    Head,
    /// `OPTIONS`
    Options,
    /// Anything else.
    Other,
}

/// A whole request, decoded from the fuzzer's bytes.
#[derive(Arbitrary, Debug, Clone)]
pub struct FuzzRequest {
    method: FuzzMethod,
    content_type: Option<ContentType>,
    authorization: Vec<Auth>,
    query: Option<Vec<Param>>,
    raw_query: Option<String>,
    body: Body,
    /// Seconds the clock moves before the request (so expiry paths are reached).
    advance: u16,
}

impl FuzzRequest {
    /// The request as an adapter would build it.
    pub fn to_http(&self) -> HttpRequest {
        let method = match self.method {
            FuzzMethod::Post => Method::Post,
            FuzzMethod::Get => Method::Get,
            FuzzMethod::Head => Method::Head,
            FuzzMethod::Options => Method::Options,
            FuzzMethod::Other => Method::Other,
        };
        let mut request = HttpRequest::new(method);
        if let Some(content_type) = &self.content_type {
            let value = match content_type {
                ContentType::Form => "application/x-www-form-urlencoded".to_owned(),
                ContentType::FormUtf8 => {
                    "application/x-www-form-urlencoded; charset=UTF-8".to_owned()
                }
                ContentType::FormLatin1 => {
                    "application/x-www-form-urlencoded; charset=ISO-8859-1".to_owned()
                }
                ContentType::Json => "application/json".to_owned(),
                ContentType::Raw(raw) => raw.clone(),
            };
            request = request.with_header("Content-Type", value);
        }
        for auth in self.authorization.iter().take(3) {
            request = request.with_header("Authorization", auth.header());
        }
        match (&self.query, &self.raw_query) {
            (Some(params), _) => {
                request = request.with_query(String::from_utf8_lossy(&form(params)).into_owned());
            }
            (None, Some(raw)) => request = request.with_query(raw.clone()),
            (None, None) => {}
        }
        let body = match &self.body {
            Body::Form(params) => form(params),
            Body::Raw(raw) => raw.clone(),
            Body::FormThenRaw(params, raw) => {
                let mut body = form(params);
                body.extend_from_slice(raw);
                body
            }
        };
        request.with_body(body)
    }

    /// Moves the world's clock as the request asks.
    pub fn advance_clock(&self, world: &World) {
        world
            .clock
            .advance(Duration::from_secs(u64::from(self.advance) % 4000));
    }
}

// ---------------------------------------------------------------------------------------
// Invariants
// ---------------------------------------------------------------------------------------

/// Whether `s` keeps to the `error` / `error_description` characters (ER-02).
pub fn is_er02(s: &str) -> bool {
    s.chars()
        .all(|c| matches!(c, '\x20'..='\x21' | '\x23'..='\x5b' | '\x5d'..='\x7e'))
}

/// Whether `text` carries HTML or SQL metacharacters, which only reflected input could put
/// there: the crate's own descriptions have none (SEC-06).
pub fn reflects_markup(text: &str) -> bool {
    text.contains(['<', '>', '\'', '`'])
}

/// Panics unless no live secret appears anywhere in `response`.
pub fn assert_no_secret(response: &HttpResponse) {
    let body = String::from_utf8_lossy(&response.body);
    for secret in SECRETS {
        assert!(!body.contains(secret), "secret in body: {body}");
        for header in &response.headers {
            assert!(
                !header.value.contains(secret),
                "secret in header {}: {}",
                header.name,
                header.value
            );
        }
    }
}

/// The checks every token-style response passes (token, device authorization,
/// revocation, introspection); returns the parsed body (`Null` when empty).
pub fn assert_token_style(response: &HttpResponse) -> serde_json::Value {
    let status = response.status.as_u16();
    assert!(
        (200..300).contains(&status) || (400..500).contains(&status),
        "status {status}: {response:?}"
    );
    assert_eq!(
        response.header("cache-control"),
        Some("no-store"),
        "{response:?}"
    );
    if response.body.is_empty() {
        assert_eq!(status, 200, "an error without a body: {response:?}");
        return serde_json::Value::Null;
    }
    assert_eq!(
        response.header("content-type"),
        Some("application/json"),
        "{response:?}"
    );
    let body: serde_json::Value = serde_json::from_slice(&response.body).expect("the body is JSON");
    let object = body.as_object().expect("the body is a JSON object");
    if status >= 400 {
        for (name, value) in object {
            assert!(
                ["error", "error_description", "error_uri"].contains(&name.as_str()),
                "unexpected member {name}"
            );
            let text = value.as_str().expect("error members are strings");
            assert!(!text.is_empty(), "empty {name}");
            if name != "error_uri" {
                assert!(is_er02(text), "{name} breaks ER-02: {text:?}");
                assert!(!reflects_markup(text), "{name} reflects markup: {text:?}");
            }
        }
        assert!(object.contains_key("error"), "no error member");
        assert_no_secret(response);
        if status == 401 {
            assert!(
                response.header("www-authenticate").is_some(),
                "{response:?}"
            );
        }
        if status == 405 {
            assert_eq!(response.header("allow"), Some("POST"));
        }
    }
    body
}

/// Panics unless a refused request stored nothing: no store grew.
pub fn assert_nothing_stored(before: (usize, usize, usize), after: (usize, usize, usize)) {
    assert!(
        after.0 <= before.0,
        "tokens stored: {before:?} -> {after:?}"
    );
    assert!(after.1 <= before.1, "codes stored: {before:?} -> {after:?}");
    assert!(
        after.2 <= before.2,
        "device requests stored: {before:?} -> {after:?}"
    );
}

/// Parses a `WWW-Authenticate` challenge's attributes and panics unless each appears once
/// with a value in the ER-02 set (BT-08).
pub fn assert_challenge(challenge: &str) {
    let (scheme, rest) = challenge.split_once(' ').unwrap_or((challenge, ""));
    assert!(
        scheme == "Bearer" || scheme == "Basic",
        "scheme {scheme:?} in {challenge:?}"
    );
    let mut seen: Vec<&str> = Vec::new();
    let mut rest = rest;
    while !rest.is_empty() {
        let (name, after) = rest.split_once("=\"").expect("attribute=\"value\"");
        let (value, after) = after.split_once('"').expect("closing quote");
        let name = name.trim_start_matches(", ");
        assert!(!seen.contains(&name), "{name} repeated in {challenge:?}");
        seen.push(name);
        assert!(is_er02(value), "{name} breaks ER-02: {value:?}");
        rest = after;
    }
}
