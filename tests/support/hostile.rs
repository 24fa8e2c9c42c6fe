//! The hostile-input world shared by `tests/it/hostile_corpus.rs` and the fuzz targets in
//! `fuzz/` (which include this file by path): a server on memory stores holding live
//! artifacts (tokens, a code, a device request) under known values, and the invariants
//! every response to hostile input must keep. A broken invariant panics.
//!
//! - no panic, and never `Err` (memory stores do not fail);
//! - a 2xx or 4xx status, never 5xx (and a 3xx only from the authorization endpoint);
//! - token-style responses: `Content-Type: application/json`, `Cache-Control: no-store`,
//!   and for errors a JSON object with only `error` / `error_description` / `error_uri`,
//!   all strings in the ER-02 character set, reflecting no markup (SEC-06);
//! - no refused request's response carries a live secret (ER-05);
//! - nothing is stored by a refused request (store counts before and after).

use std::sync::Arc;
use std::time::Duration;

use grantflow::authorize::AuthorizeError;
use grantflow::device::{DeviceVerificationError, EnteredUserCode};
use grantflow::guard::GuardRejection;
use grantflow::pkce::{CodeChallenge, PkceMethod};
use grantflow::resource::{ResourceUri, Resources};
use grantflow::secret::TokenHash;
use grantflow::store::{
    AuthorizationGrant, DeviceRecord, DeviceStore as _, GrantId, TokenKind, TokenRecord,
    TokenStore as _,
};
use grantflow::{
    AuthMethod, Client, ClientId, ClientSecret, ClientType, CodeStore as _, GrantType, HttpRequest,
    HttpResponse, MemoryClientRegistry, MemoryDeviceStore, Method, Scope, ServerBuilder, Subject,
};

pub use super::harness::{CHALLENGE, ISSUER, VERIFIER, block_on, is_er02, t0};
use super::harness::{Harness, register};

/// The server under attack: [`clients`] behind a [`StrictRegistry`], every grant on, and
/// the live artifacts below in place.
pub type World = Harness<Hostile>;

/// The hostile-input world's area of [`Harness`].
#[derive(Debug)]
pub enum Hostile {}

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
/// A live authorization code of [`SPA`], bound to [`LOOPBACK_REDIRECT`] and [`VERIFIER`]
/// (RFC 7636 Appendix B).
pub const CODE: &str = "live-authorization-code-P0oI9uY8tR7eW6qA5sD4fG3h";
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

/// The registered clients: [`CONF`], [`POST`], [`SPA`] and [`RS`].
pub fn clients() -> MemoryClientRegistry {
    let secret = |s: &str| ClientSecret::from_presented(s.to_owned());
    register([
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
            .introspection(true),
        Client::builder(POST.0, ClientType::Confidential)
            .secret(&secret(POST.1))
            .auth_method(AuthMethod::ClientSecretPost)
            .grant_type(GrantType::CLIENT_CREDENTIALS)
            .grant_type(GrantType::DEVICE_CODE)
            .allowed_scope("read"),
        Client::builder(SPA, ClientType::Public)
            .name("<b>Spa</b> \"app\"")
            .grant_type(GrantType::AUTHORIZATION_CODE)
            .grant_type(GrantType::REFRESH_TOKEN)
            .grant_type(GrantType::DEVICE_CODE)
            .redirect_uri(SPA_REDIRECT)
            .redirect_uri(LOOPBACK_REDIRECT)
            .redirect_uri("http://localhost/cb")
            .allowed_scope("read write")
            .default_scope("read"),
        Client::builder(RS.0, ClientType::Confidential)
            .secret(&secret(RS.1))
            .grant_type(GrantType::CLIENT_CREDENTIALS)
            .introspection(true)
            .resource_audience(RS_AUDIENCE),
    ])
}

/// The fixture clients behind a registry as strict as a database: an id that no client can
/// have (empty, over 255 bytes, or outside printable ASCII, such as a NUL byte, which
/// PostgreSQL refuses in text) is a backend error, as it would be there. The server must
/// never ask a registry for one.
#[derive(Debug)]
pub struct StrictRegistry(Arc<MemoryClientRegistry>);

#[async_trait::async_trait]
impl grantflow::ClientRegistry for StrictRegistry {
    async fn find(
        &self,
        client_id: &ClientId,
    ) -> Result<Option<Arc<Client>>, grantflow::StorageError> {
        if !ClientId::is_valid(client_id.as_str()) {
            return Err(grantflow::StorageError::new(
                "invalid byte sequence in a text column",
            ));
        }
        self.0.find(client_id).await
    }
}

/// Accepts alice / "correct horse" for the password grant.
#[derive(Debug)]
pub struct Users;

#[async_trait::async_trait]
impl grantflow::grant::ResourceOwnerVerifier for Users {
    async fn verify(
        &self,
        _client: &Client,
        username: &str,
        password: &grantflow::secret::ResourceOwnerPassword,
    ) -> Result<Option<Subject>, grantflow::StorageError> {
        let ok = username == "alice" && password.expose_secret() == "correct horse";
        Ok(ok.then(|| Subject::new("alice")))
    }
}

impl World {
    /// A fresh server with the live artifacts stored and the default guards.
    pub fn new() -> Self {
        Self::with(|builder| builder)
    }

    /// Like [`World::new`], with the server builder adjusted by `configure`.
    pub fn with(configure: impl FnOnce(ServerBuilder) -> ServerBuilder) -> Self {
        let clients = Arc::new(clients());
        let world = Self::builder(clients.clone())
            .client_registry(Arc::new(StrictRegistry(clients)))
            .device_store(Arc::new(MemoryDeviceStore::new()))
            .build(|builder| configure(builder.password_grant(Arc::new(Users))));
        let now = t0();
        let hour = now + Duration::from_secs(3600);
        let id = |s: &str| ClientId::new(s).expect("fixture id");
        let scope = |s: &str| Scope::parse(s).expect("fixture scope");
        let conf_grant = GrantId::generate();
        let spa_grant = GrantId::generate();
        let record = |kind, grant, client: &str, expires| {
            TokenRecord::new(kind, grant, id(client), scope("read write"), now, expires)
        };
        let stored = block_on(world.tokens.insert(vec![
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
                    .with_audience(Resources::one(
                        ResourceUri::parse(RS_AUDIENCE).expect("resource"),
                    )),
            ),
            (
                TokenHash::of(SPA_REFRESH_TOKEN),
                record(TokenKind::Refresh, spa_grant, SPA, hour)
                    .with_subject(Some(Subject::new("bob"))),
            ),
        ]));
        assert!(matches!(stored, Ok(grantflow::store::Insert::Stored)));
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
        block_on(world.codes.insert(TokenHash::of(CODE), grant)).expect("memory store");
        let device = DeviceRecord::new(
            GrantId::generate(),
            id(SPA),
            scope("read"),
            USER_CODE.to_owned(),
            now,
            now + Duration::from_secs(600),
            Duration::from_secs(5),
        );
        block_on(world.devices().insert(TokenHash::of(DEVICE_CODE), device)).expect("memory store");
        world
    }

    /// The store counts: (tokens, codes, device requests).
    pub fn counts(&self) -> (usize, usize, usize) {
        (self.tokens.len(), self.codes.len(), self.devices().len())
    }
}

// ---------------------------------------------------------------------------------------
// Invariants
// ---------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------
// One check per endpoint: call it, then hold the response to every invariant
// ---------------------------------------------------------------------------------------

/// `Server::token`: the token-style invariants; a 200 stores its access token and nothing
/// else, a refusal stores nothing.
pub fn check_token(world: &World, request: &HttpRequest) -> HttpResponse {
    let before = world.counts();
    let response = block_on(world.server.token(request)).expect("memory stores never fail");
    let body = assert_token_style(&response);
    let after = world.counts();
    if response.status.as_u16() == 200 {
        let token = body["access_token"].as_str().expect("an access token");
        assert!(!SECRETS.contains(&token));
        let stored = block_on(world.tokens.find(&TokenHash::of(token)));
        assert!(matches!(stored, Ok(Some(_))), "the issued token is stored");
        assert!(after.1 <= before.1 && after.2 <= before.2);
    } else {
        assert_nothing_stored(before, after);
    }
    response
}

/// `Server::revoke`: 200 with an empty body or a token-style error; never stores.
pub fn check_revoke(world: &World, request: &HttpRequest) -> HttpResponse {
    let before = world.counts();
    let response = block_on(world.server.revoke(request)).expect("memory stores never fail");
    let body = assert_token_style(&response);
    if response.status.as_u16() == 200 {
        assert!(body.is_null(), "revocation answers with an empty body");
    }
    assert_no_secret(&response);
    assert_nothing_stored(before, world.counts());
    response
}

/// `Server::introspect`: `{"active":false}` exactly, an active answer, or a token-style
/// error; never stores.
pub fn check_introspect(world: &World, request: &HttpRequest) -> HttpResponse {
    let before = world.counts();
    let response = block_on(world.server.introspect(request)).expect("memory stores never fail");
    let status = response.status.as_u16();
    let body = assert_token_style(&response);
    assert_no_secret(&response);
    if status == 200 {
        let object = body.as_object().expect("an object");
        match object.get("active") {
            Some(serde_json::Value::Bool(false)) => assert_eq!(object.len(), 1, "{body}"),
            Some(serde_json::Value::Bool(true)) => {
                assert!(object["client_id"].is_string() && object["exp"].is_u64());
            }
            other => panic!("active is {other:?}"),
        }
    } else {
        assert!(matches!(status, 400 | 401 | 403 | 405 | 429), "{status}");
    }
    assert_nothing_stored(before, world.counts());
    response
}

/// `Server::device_authorization`: one request stored when it answers 200, none otherwise.
pub fn check_device_authorization(world: &World, request: &HttpRequest) -> HttpResponse {
    let before = world.counts();
    let response =
        block_on(world.server.device_authorization(request)).expect("memory stores never fail");
    let body = assert_token_style(&response);
    let after = world.counts();
    if response.status.as_u16() == 200 {
        // One request stored (the count may also drop: an insert purges expired ones).
        let code = body["device_code"].as_str().expect("a device code");
        let stored = block_on(world.devices().find(&TokenHash::of(code)));
        assert!(
            matches!(stored, Ok(Some(_))),
            "the device request is stored"
        );
        assert!(after.2 <= before.2 + 1, "{before:?} -> {after:?}");
        assert_eq!((after.0, after.1), (before.0, before.1));
        assert!(!SECRETS.contains(&code));
        assert!(body["user_code"].is_string() && body["interval"].is_u64());
    } else {
        assert_nothing_stored(before, after);
    }
    response
}

/// `DeviceVerifier::verify` with whatever the user typed: a pending request only for
/// the live user code or `issued` (DG-06), a typed refusal otherwise, nothing stored.
/// Returns whether a request was found.
pub fn check_device_verification(
    world: &World,
    user_code: &str,
    limiter_key: &str,
    issued: Option<&str>,
) -> bool {
    let before = world.counts();
    let verifier = world
        .server
        .device_verifier()
        .expect("the device grant is on");
    let entered = EnteredUserCode::new(user_code);
    let found = match block_on(verifier.verify(entered, limiter_key)) {
        Ok(pending) => {
            let format = world
                .server
                .user_code_format()
                .expect("the device grant is on");
            let normalized = format.normalize(user_code);
            let issued = issued.map(|code| format.normalize(code));
            assert!(
                normalized == USER_CODE || issued.as_deref() == Some(normalized.as_str()),
                "{user_code:?} found {}",
                pending.user_code()
            );
            let _ = block_on(pending.deny());
            true
        }
        Err(
            DeviceVerificationError::InvalidUserCode | DeviceVerificationError::Throttled { .. },
        ) => false,
        Err(other) => panic!("unexpected verification error: {other}"),
    };
    assert_nothing_stored(before, world.counts());
    found
}

/// The `state` the authorization endpoint decodes from `request` (empty counts as absent).
pub fn sent_state(request: &HttpRequest) -> Option<String> {
    let raw: &[u8] = match request.method() {
        Method::Post => request.body(),
        _ => request.query().unwrap_or("").as_bytes(),
    };
    url::form_urlencoded::parse(raw)
        .find(|(n, _)| n == "state")
        .map(|(_, v)| v.into_owned())
        .filter(|v| !v.is_empty())
}

/// An authorization response redirect: 302 or 303 to a registered URI, visible ASCII only
/// (so `state` and every other value went out percent-encoded, ST-02, SEC-06), a query
/// with each parameter once, `state` exactly as sent (ST-01), `iss` (IS-01), and `code` on
/// success or an ER-02 `error` otherwise (AZ-04, ER-04).
pub fn assert_redirect(response: &HttpResponse, state: Option<&str>, success: bool) {
    let status = response.status.as_u16();
    assert!(status == 302 || status == 303, "{status}");
    assert!(response.body.is_empty());
    let location = response.header("location").expect("a Location");
    let registered = [
        CONF_REDIRECT,
        SPA_REDIRECT,
        "http://127.0.0.1:",
        "http://127.0.0.1/",
        "http://localhost:",
        "http://localhost/",
    ];
    assert!(
        registered.iter().any(|r| location.starts_with(r)),
        "{location}"
    );
    assert!(!location.contains('#'), "{location}");
    assert!(
        location
            .bytes()
            .all(|b| b > b' ' && b < 0x7f && !matches!(b, b'<' | b'>' | b'"' | b'\\' | b'\'')),
        "unescaped text in {location:?}"
    );
    let url = url::Url::parse(location).expect("an absolute URL");
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .map(|(n, v)| (n.into_owned(), v.into_owned()))
        .collect();
    let get = |name: &str| {
        let found: Vec<&String> = pairs
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v)
            .collect();
        assert!(found.len() <= 1, "{name} repeated in {location}");
        found.first().map(|v| v.as_str())
    };
    assert_eq!(get("state"), state, "state not echoed exactly");
    assert_eq!(get("iss"), Some(ISSUER));
    if success {
        assert!(get("code").is_some() && get("error").is_none());
    } else {
        let error = get("error").expect("an error");
        assert!(!error.is_empty() && is_er02(error));
        if let Some(description) = get("error_description") {
            assert!(is_er02(description), "{description:?}");
            assert!(!reflects_markup(description), "{description:?}");
        }
        assert!(get("code").is_none());
    }
    for secret in SECRETS {
        // `state` is the client's own value; nothing else may echo a secret.
        if state.is_none_or(|s| !s.contains(secret)) {
            assert!(!location.contains(secret), "{location}");
        }
    }
}

/// `Server::authorize`, then what the host would do with the result: `decision` picks deny,
/// approve, or an approval of nothing requested (bit 0: answer with 303). A refusal before
/// the client and redirect URI are verified never redirects (AZ-02, AZ-03); validation
/// stores nothing; approval stores one code. Returns which way it went: `"pending"`,
/// `"rejected"` or `"redirect"`.
pub fn check_authorize(world: &World, request: &HttpRequest, decision: u8) -> &'static str {
    let state = sent_state(request);
    let before = world.counts();
    match block_on(world.server.authorize(request)) {
        Ok(pending) => {
            assert_eq!(world.counts(), before, "validation stores nothing");
            assert!(state.as_deref() == pending.state());
            let pending = if decision & 1 == 1 {
                pending.see_other()
            } else {
                pending
            };
            match decision >> 1 & 3 {
                0 => assert_redirect(&pending.deny(), state.as_deref(), false),
                1 => {
                    let granted = pending.requested_scope().clone();
                    let response = block_on(pending.approve(Subject::new("alice"), granted))
                        .expect("memory stores never fail");
                    assert_redirect(&response, state.as_deref(), true);
                    assert_eq!(world.counts().1, before.1 + 1, "one code stored");
                }
                _ => {
                    let granted = Scope::parse("admin").expect("scope");
                    let refused = block_on(pending.approve(Subject::new("alice"), granted))
                        .expect_err("a scope that was not requested is refused");
                    assert!(refused.is_scope_not_requested());
                    // Nothing requested was granted: an error redirect, no code.
                    assert_redirect(&refused.into_response(), state.as_deref(), false);
                    assert_eq!(world.counts(), before);
                }
            }
            "pending"
        }
        Err(AuthorizeError::Rejected(error)) => {
            assert!(
                error
                    .description()
                    .is_none_or(|d| is_er02(d) && !reflects_markup(d))
            );
            let response = error.to_response();
            assert!(response.header("location").is_none());
            assert_eq!(response.status.as_u16(), 400);
            assert_no_secret(&response);
            assert_eq!(world.counts(), before);
            "rejected"
        }
        Err(AuthorizeError::Redirect(redirect)) => {
            let redirect = if decision & 1 == 1 {
                redirect.see_other()
            } else {
                redirect
            };
            assert_redirect(&redirect.into_response(), state.as_deref(), false);
            assert_eq!(world.counts(), before);
            "redirect"
        }
        Err(other) => panic!("memory stores never fail: {other}"),
    }
}

/// The bearer guard (BT-01..BT-09), configured by `options` (bit 0: body tokens, bit 1: an
/// audience, bits 2-3: the required scope): access only for a live access token with the
/// required scope; a refusal is 400 / 401 / 403 with one well-formed challenge; nothing
/// stored. Returns the status (200 for access).
pub fn check_bearer(world: &World, request: &HttpRequest, options: u8) -> u16 {
    let mut guard = world
        .server
        .bearer_guard()
        .form_body_tokens(options & 1 == 1);
    if options & 2 == 2 {
        guard = guard.resource(RS_AUDIENCE).expect("resource identifier");
    }
    let required = match options >> 2 & 3 {
        0 => Scope::empty(),
        1 => Scope::parse("read").expect("scope"),
        2 => Scope::parse("read write").expect("scope"),
        _ => Scope::parse("admin").expect("scope"),
    };
    let before = world.counts();
    let status = match block_on(guard.check(request, &required)) {
        Ok(info) => {
            assert!(required.is_subset_of(&info.scope));
            let header = request.header("authorization").unwrap_or("");
            let body = String::from_utf8_lossy(request.body());
            assert!(
                [ACCESS_TOKEN, AUDIENCE_TOKEN]
                    .iter()
                    .any(|t| header.contains(t) || body.contains(t)),
                "access without a live token"
            );
            200
        }
        Err(GuardRejection::Fault(error)) => panic!("memory stores never fail: {error}"),
        Err(rejection) => {
            let response = rejection.into_response();
            let status = response.status.as_u16();
            assert!(matches!(status, 400 | 401 | 403), "{status}");
            assert!(response.body.is_empty());
            let challenges: Vec<_> = response
                .headers
                .iter()
                .filter(|h| h.name == "www-authenticate")
                .collect();
            assert_eq!(challenges.len(), 1);
            assert!(challenges[0].value.starts_with("Bearer realm=\""));
            assert_challenge(&challenges[0].value);
            assert!(!reflects_markup(&challenges[0].value));
            assert_no_secret(&response);
            status
        }
    };
    assert_nothing_stored(before, world.counts());
    status
}
