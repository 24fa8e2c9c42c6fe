//! Test harness for the authorization code, PKCE and refresh token suites: memory stores,
//! a manual clock, a tiny `block_on`, request builders and response readers.

#![allow(
    dead_code,
    unreachable_pub,
    missing_docs,
    reason = "each test file uses a different part of the harness"
)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use grantflow::*;

pub const ISSUER: &str = "https://as.example.com";
/// RFC 7636 Appendix B.
pub const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
pub const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
pub const PKCE: &str =
    "code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256";
pub const CONF_SECRET: &str = "conf-secret-value";

/// Drives a future that never waits (the memory stores never return `Pending`).
pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    loop {
        if let std::task::Poll::Ready(value) = future.as_mut().poll(&mut cx) {
            return value;
        }
    }
}

pub struct Harness {
    pub server: Server,
    pub clock: ManualClock,
    pub clients: Arc<MemoryClientRegistry>,
    pub tokens: Arc<MemoryTokenStore>,
    pub codes: Arc<MemoryCodeStore>,
}

pub fn start() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_700_000_000)
}

fn secret() -> ClientSecret {
    ClientSecret::from_presented(CONF_SECRET.to_owned())
}

/// The registered clients:
/// - `app`: public, `https://client.example.com/cb`, code + refresh, scope `read write`
///   (default `read`);
/// - `conf`: confidential (`client_secret_basic`), `https://conf.example.com/cb?tenant=a`;
/// - `exempt`: confidential, PKCE-exempt, `https://exempt.example.com/cb`;
/// - `norefresh`: public, refresh tokens off;
/// - `cc`: confidential, client credentials only, `https://cc.example.com/cb`;
/// - `multi`: public with two redirect URIs;
/// - `vru`: public, the V-RU registrations;
/// - `native`: public, `http://localhost/cb`; `nativeconf`: confidential, same URI.
pub fn clients() -> Arc<MemoryClientRegistry> {
    let clients = Arc::new(MemoryClientRegistry::new());
    let code_refresh = |b: ClientBuilder| {
        b.grant_type(GrantType::AUTHORIZATION_CODE)
            .grant_type(GrantType::REFRESH_TOKEN)
            .allowed_scope("read write")
            .default_scope("read")
    };
    let all = [
        code_refresh(Client::builder("app", ClientType::Public))
            .redirect_uri("https://client.example.com/cb")
            .name("Example App"),
        code_refresh(Client::builder("app2", ClientType::Public))
            .redirect_uri("https://client.example.com/cb"),
        code_refresh(Client::builder("conf", ClientType::Confidential))
            .secret(&secret())
            .redirect_uri("https://conf.example.com/cb?tenant=a"),
        code_refresh(Client::builder("exempt", ClientType::Confidential))
            .secret(&secret())
            .pkce_exempt(true)
            .redirect_uri("https://exempt.example.com/cb"),
        code_refresh(Client::builder("norefresh", ClientType::Public))
            .issue_refresh_tokens(false)
            .redirect_uri("https://norefresh.example.com/cb"),
        Client::builder("cc", ClientType::Confidential)
            .secret(&secret())
            .grant_type(GrantType::CLIENT_CREDENTIALS)
            .allowed_scope("read")
            .redirect_uri("https://cc.example.com/cb"),
        Client::builder("coderonly", ClientType::Public)
            .grant_type(GrantType::AUTHORIZATION_CODE)
            .allowed_scope("read")
            .default_scope("read")
            .redirect_uri("https://coderonly.example.com/cb"),
        code_refresh(Client::builder("multi", ClientType::Public))
            .redirect_uri("https://as1.client.example/cb")
            .redirect_uri("https://as2.client.example/cb"),
        code_refresh(Client::builder("vru", ClientType::Public))
            .redirect_uri("https://client.example.com/cb")
            .redirect_uri("http://127.0.0.1/callback")
            .redirect_uri("http://[::1]:8080/cb"),
        code_refresh(Client::builder("native", ClientType::Public))
            .redirect_uri("http://localhost/cb"),
        code_refresh(Client::builder("nativeconf", ClientType::Confidential))
            .secret(&secret())
            .redirect_uri("http://localhost/cb"),
    ];
    for builder in all {
        clients.insert(builder.build().unwrap()).unwrap();
    }
    clients
}

pub fn harness() -> Harness {
    harness_with(|b| b)
}

pub fn harness_with(configure: impl FnOnce(ServerBuilder) -> ServerBuilder) -> Harness {
    let clock = ManualClock::new(start());
    let clients = clients();
    let tokens = Arc::new(MemoryTokenStore::new());
    let codes = Arc::new(MemoryCodeStore::new());
    let builder = Server::builder(ISSUER, clients.clone(), tokens.clone())
        .clock(Arc::new(clock.clone()))
        .code_store(codes.clone());
    let server = configure(builder).build().unwrap();
    Harness {
        server,
        clock,
        clients,
        tokens,
        codes,
    }
}

pub fn get(query: &str) -> HttpRequest {
    HttpRequest::new(Method::Get).with_query(query)
}

pub fn post_form(body: &str) -> HttpRequest {
    HttpRequest::new(Method::Post)
        .with_header("content-type", "application/x-www-form-urlencoded")
        .with_body(body.to_owned())
}

/// `Basic` credentials for `conf`-style clients (ids and secrets here need no encoding).
pub fn basic(id: &str, secret: &str) -> String {
    use base64::Engine as _;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"))
    )
}

pub fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// The query parameters of the response's `Location`, in order.
pub fn location_params(response: &HttpResponse) -> Vec<(String, String)> {
    let location = response.header("location").expect("a Location header");
    let url = url::Url::parse(location).expect("an absolute Location");
    url.query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

pub fn location_param(response: &HttpResponse, name: &str) -> Option<String> {
    location_params(response)
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

pub fn json(response: &HttpResponse) -> serde_json::Value {
    serde_json::from_slice(&response.body).expect("a JSON body")
}

pub fn json_map(response: &HttpResponse) -> BTreeMap<String, serde_json::Value> {
    serde_json::from_slice(&response.body).expect("a JSON object")
}

/// Asserts a token-style error: status, exact `error`, JSON and no-store headers.
#[track_caller]
pub fn assert_token_error(response: &HttpResponse, status: u16, error: &str) {
    assert_eq!(response.status.as_u16(), status, "{:?}", json(response));
    assert_eq!(json(response)["error"], error);
    assert_eq!(response.header("content-type"), Some("application/json"));
    assert_eq!(response.header("cache-control"), Some("no-store"));
    assert_eq!(response.header("pragma"), Some("no-cache"));
}

/// The redirect error carried by `result`, rendered (as the host does after login).
#[track_caller]
pub fn redirect_error(result: Result<PendingAuthorization, AuthorizeError>) -> HttpResponse {
    match result {
        Err(AuthorizeError::Redirect(e)) => e.into_response(),
        other => panic!("expected a redirect error, got {other:?}"),
    }
}

/// The local error carried by `result`.
#[track_caller]
pub fn rejected(result: Result<PendingAuthorization, AuthorizeError>) -> OAuthError {
    match result {
        Err(AuthorizeError::Rejected(e)) => e,
        other => panic!("expected a local rejection, got {other:?}"),
    }
}

impl Harness {
    pub fn authorize(&self, query: &str) -> Result<PendingAuthorization, AuthorizeError> {
        block_on(self.server.authorize(&get(query)))
    }

    pub fn approve(
        &self,
        pending: PendingAuthorization,
        subject: &str,
        scope: &str,
    ) -> HttpResponse {
        block_on(pending.approve(Subject::new(subject), Scope::parse(scope).unwrap())).unwrap()
    }

    /// Authorizes `client_id` with the Appendix B challenge and approves `read` for alice;
    /// returns the code.
    pub fn code_for(&self, client_id: &str) -> String {
        self.code_with(&format!(
            "response_type=code&client_id={client_id}&scope=read&state=s1&{PKCE}"
        ))
    }

    /// Authorizes with `query`, approves the requested scope for alice; returns the code.
    pub fn code_with(&self, query: &str) -> String {
        let pending = self.authorize(query).expect("a valid request");
        let scope = pending.requested_scope().to_string();
        let response = self.approve(pending, "alice", &scope);
        location_param(&response, "code").expect("a code")
    }

    pub fn token(&self, body: &str) -> HttpResponse {
        block_on(self.server.token(&post_form(body))).unwrap()
    }

    pub fn token_basic(&self, id: &str, secret: &str, body: &str) -> HttpResponse {
        let request = post_form(body).with_header("authorization", basic(id, secret));
        block_on(self.server.token(&request)).unwrap()
    }

    /// Exchanges a code of public client `client_id` with the Appendix B verifier.
    pub fn exchange(&self, client_id: &str, code: &str) -> HttpResponse {
        self.token(&format!(
            "grant_type=authorization_code&code={code}&client_id={client_id}&code_verifier={VERIFIER}"
        ))
    }

    /// A full code flow for public `app`: (access token, refresh token).
    pub fn tokens_for(&self, client_id: &str, scope: &str) -> (String, String) {
        let code = self.code_with(&format!(
            "response_type=code&client_id={client_id}&scope={}&{PKCE}",
            enc(scope)
        ));
        let response = self.exchange(client_id, &code);
        assert_eq!(response.status, Status::OK, "{:?}", json(&response));
        let body = json(&response);
        (
            body["access_token"].as_str().unwrap().to_owned(),
            body["refresh_token"].as_str().unwrap().to_owned(),
        )
    }

    pub fn refresh(
        &self,
        client_id: &str,
        refresh_token: &str,
        scope: Option<&str>,
    ) -> HttpResponse {
        let mut body =
            format!("grant_type=refresh_token&refresh_token={refresh_token}&client_id={client_id}");
        if let Some(scope) = scope {
            body.push_str("&scope=");
            body.push_str(&enc(scope));
        }
        self.token(&body)
    }

    /// Whether the token store still holds `token`.
    pub fn is_live(&self, token: &str) -> bool {
        block_on(self.tokens.find(&TokenHash::of(token)))
            .unwrap()
            .is_some()
    }
}
