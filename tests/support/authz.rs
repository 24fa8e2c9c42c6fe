//! The code flow's fixtures (the authorization code, PKCE, refresh token and password
//! grant suites, and the authorization endpoint): public and confidential clients with
//! their redirect URIs, the flow from authorization request to tokens, and response
//! readers.

use std::collections::BTreeMap;
use std::sync::Arc;

use grantflow::authorize::{AuthorizeError, PendingAuthorization};
use grantflow::*;

pub use super::harness::basic_header as basic;
pub use super::harness::t0 as start;
pub use super::harness::*;

/// The harness of the code flow suites: [`clients`], the default lifetimes.
pub type Harness = super::harness::Harness<Authz>;

/// The code flow suites' area of [`Harness`].
#[derive(Debug)]
pub enum Authz {}

/// The query parameters of the Appendix B challenge.
pub const PKCE: &str =
    "code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256";
pub const CONF_SECRET: &str = "conf-secret-value";

/// The members of a token response with a refresh token (RFC 6749 §5.1), in order.
pub const TOKEN_MEMBERS: [&str; 5] = [
    "access_token",
    "expires_in",
    "refresh_token",
    "scope",
    "token_type",
];

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
            .dangerous(|d| d.allow_missing_pkce())
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
    Arc::new(register(all))
}

/// A server over [`clients`].
pub fn harness() -> Harness {
    harness_with(|b| b)
}

/// Like [`harness`], the server builder adjusted by `configure` before `build`.
pub fn harness_with(configure: impl FnOnce(ServerBuilder) -> ServerBuilder) -> Harness {
    Harness::builder(clients()).build(configure)
}

pub fn get(query: &str) -> HttpRequest {
    HttpRequest::new(Method::Get).with_query(query)
}

/// The query parameters of the response's `Location`, in order.
pub fn location_params(response: &HttpResponse) -> Vec<(String, String)> {
    let url = url::Url::parse(location(response)).expect("an absolute Location");
    url.query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// The response's `Location`; fails the test if it has none.
#[track_caller]
pub fn location(response: &HttpResponse) -> &str {
    response.header("location").expect("a Location header")
}

/// The `error` parameter of the response's `Location` is `error`.
#[track_caller]
pub fn assert_location_error(response: &HttpResponse, error: &str) {
    let location = location(response);
    assert_eq!(
        location_param(response, "error").as_deref(),
        Some(error),
        "{location}"
    );
}

/// No CORS header on an authorization endpoint response (it is a navigation, never read by
/// script).
#[track_caller]
pub fn assert_no_cors(response: &HttpResponse) {
    let cors = |h: &Header| h.name.starts_with("access-control-");
    assert!(!response.headers.iter().any(cors), "{response:?}");
}

pub fn location_param(response: &HttpResponse, name: &str) -> Option<String> {
    location_params(response)
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

pub fn json_map(response: &HttpResponse) -> BTreeMap<String, serde_json::Value> {
    serde_json::from_slice(&response.body).expect("a JSON object")
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

    pub fn token_basic(&self, id: &str, secret: &str, body: &str) -> HttpResponse {
        self.token(&post_form(body).with_header("authorization", basic(id, secret)))
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
}
