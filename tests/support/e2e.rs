//! Harness of the end-to-end suite: starts an example server on a free loopback port,
//! discovers its endpoints from the metadata, and talks to it over real HTTP, with the
//! `oauth2` crate as the client and `reqwest` for raw requests, plus a scripted browser
//! (a cookie and the page forms) for the sign-in, consent and device pages.

use std::future::Future;
use std::net::TcpListener;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use oauth2::basic::BasicClient;
use oauth2::{
    AuthUrl, ClientId, ClientSecret, DeviceAuthorizationUrl, EndpointSet, IntrospectionUrl,
    RedirectUrl, RevocationUrl, TokenUrl,
};
use reqwest::header::HeaderMap;
use serde_json::Value;

/// The `oauth2` crate refuses a revocation endpoint that is not `https` (RFC 7009 §2, a
/// client rule). A deployment terminates TLS in front of the server; this client plays
/// that part for the loopback servers: the oauth2 client is given the `https` URL, and
/// the request goes to the same address over plain HTTP.
#[derive(Debug)]
pub struct LoopbackTls(pub reqwest::Client);

impl<'c> oauth2::AsyncHttpClient<'c> for LoopbackTls {
    type Error = <reqwest::Client as oauth2::AsyncHttpClient<'c>>::Error;
    type Future = <reqwest::Client as oauth2::AsyncHttpClient<'c>>::Future;

    fn call(&'c self, mut request: oauth2::HttpRequest) -> Self::Future {
        let uri = request.uri().to_string();
        if let Some(rest) = uri.strip_prefix("https://127.0.0.1:") {
            if let Ok(plain) = format!("http://127.0.0.1:{rest}").parse() {
                *request.uri_mut() = plain;
            }
        }
        self.0.call(request)
    }
}

/// The framework an example server runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Framework {
    Axum,
    Actix,
    Hyper,
}

/// The demo user.
pub const USER: (&str, &str) = ("alice", "alice-password");

/// A PKCE pair from RFC 7636 Appendix B, for raw requests.
pub use super::harness::{CHALLENGE, VERIFIER};

/// `demo-spa`'s loopback redirect URI, on an arbitrary port (RFC 8252 §7.3).
pub const SPA_REDIRECT: &str = "http://127.0.0.1:49152/callback";
/// `demo-web`'s registered redirect URI.
pub const WEB_REDIRECT: &str = "http://localhost:3000/callback";

/// An `oauth2` client with every endpoint set.
pub type OAuthClient = BasicClient<EndpointSet, EndpointSet, EndpointSet, EndpointSet, EndpointSet>;

/// A running example server and an HTTP client for it.
pub struct Demo {
    /// `http://127.0.0.1:<port>`, which is also the issuer.
    pub base: String,
    pub http: reqwest::Client,
    /// [`Self::http`] behind a pretend TLS terminator, for revocation through `oauth2`.
    pub tls: LoopbackTls,
    /// The metadata document, fetched at start.
    pub metadata: Value,
}

/// Everything the example servers log, at every level: the servers run in this process,
/// so the test can read their logs.
pub fn server_logs() -> String {
    let logs = log_buffer().lock().unwrap_or_else(PoisonError::into_inner);
    String::from_utf8_lossy(&logs).into_owned()
}

fn log_buffer() -> &'static Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let logs = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&logs);
        // Only the examples' own events (this test crate's targets): what the demo and the
        // adapters log, not what the HTTP client library does.
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(
                "it::example_servers=trace",
            ))
            .with_ansi(false)
            .with_writer(move || LogSink(Arc::clone(&sink)))
            .try_init();
        logs
    })
}

struct LogSink(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for LogSink {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        let mut logs = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        logs.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Demo {
    /// Starts `framework`'s example server on a free port, in the test's runtime, and
    /// fetches its metadata.
    pub async fn start(framework: Framework) -> Self {
        log_buffer();
        let listener = TcpListener::bind("127.0.0.1:0").expect("a free loopback port");
        let addr = listener.local_addr().expect("bound");
        match framework {
            Framework::Axum => spawn(crate::example_servers::axum_server::serve(listener)),
            Framework::Actix => spawn(crate::example_servers::actix_server::serve(listener)),
            Framework::Hyper => spawn(crate::example_servers::hyper_server::serve(listener)),
        }
        let http = reqwest::Client::builder()
            // The oauth2 crate's advice: never follow redirects from the server.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("an HTTP client");
        let base = format!("http://{addr}");
        let mut demo = Self {
            base,
            tls: LoopbackTls(http.clone()),
            http,
            metadata: Value::Null,
        };
        let reply = demo.get("/.well-known/oauth-authorization-server").await;
        assert_eq!(reply.status, 200, "{framework:?}: metadata");
        demo.metadata = reply.json();
        demo
    }

    /// `path` on this server.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A metadata member that is a URL.
    pub fn endpoint(&self, member: &str) -> String {
        self.metadata[member]
            .as_str()
            .unwrap_or_else(|| panic!("metadata has no {member}"))
            .to_owned()
    }

    /// An `oauth2` client for `client_id`, every endpoint discovered from the metadata.
    pub fn oauth(&self, client_id: &str, secret: Option<&str>, redirect: &str) -> OAuthClient {
        let client = BasicClient::new(ClientId::new(client_id.to_owned()))
            .set_auth_uri(AuthUrl::new(self.endpoint("authorization_endpoint")).expect("url"))
            .set_token_uri(TokenUrl::new(self.endpoint("token_endpoint")).expect("url"))
            .set_device_authorization_url(
                DeviceAuthorizationUrl::new(self.endpoint("device_authorization_endpoint"))
                    .expect("url"),
            )
            .set_introspection_url(
                IntrospectionUrl::new(self.endpoint("introspection_endpoint")).expect("url"),
            )
            // Through [`LoopbackTls`]: see there.
            .set_revocation_url(
                RevocationUrl::new(
                    self.endpoint("revocation_endpoint")
                        .replacen("http://", "https://", 1),
                )
                .expect("url"),
            )
            .set_redirect_uri(RedirectUrl::new(redirect.to_owned()).expect("url"));
        match secret {
            Some(secret) => client.set_client_secret(ClientSecret::new(secret.to_owned())),
            None => client,
        }
    }

    /// `GET path` (with its query).
    pub async fn get(&self, path: &str) -> Reply {
        self.send(self.http.get(self.url(path))).await
    }

    /// `GET` with `Authorization: Bearer <token>`.
    pub async fn get_with_bearer(&self, path: &str, token: &str) -> Reply {
        self.send(self.http.get(self.url(path)).bearer_auth(token))
            .await
    }

    /// `POST path` with a form body built from `fields`, and Basic credentials if given.
    pub async fn post_form(
        &self,
        path: &str,
        basic: Option<(&str, &str)>,
        fields: &[(&str, &str)],
    ) -> Reply {
        let mut request = self
            .http
            .post(self.url(path))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form(fields));
        if let Some((id, secret)) = basic {
            request = request.basic_auth(id, Some(secret));
        }
        self.send(request).await
    }

    /// Sends a request built on [`Self::http`].
    pub async fn send(&self, request: reqwest::RequestBuilder) -> Reply {
        let response = request.send().await.expect("the server answers");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.text().await.expect("a body");
        Reply {
            status,
            headers,
            body,
        }
    }

    /// Sends `head` and `body` over a plain TCP connection and returns the status of the
    /// answer. Unlike an HTTP client library it keeps reading when the server answers
    /// before the body is sent (as curl does), which is how a server refuses a body too
    /// large to read.
    pub async fn raw_status(&self, head: &str, body: &[u8]) -> u16 {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let address = self.base.trim_start_matches("http://");
        let mut stream = tokio::net::TcpStream::connect(address)
            .await
            .expect("connect");
        let _ = stream.write_all(head.as_bytes()).await;
        let _ = stream.write_all(body).await;
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer).await;
        let answer = String::from_utf8_lossy(&answer);
        answer
            .strip_prefix("HTTP/1.1 ")
            .and_then(|rest| rest.get(..3))
            .and_then(|code| code.parse().ok())
            .unwrap_or_else(|| panic!("no HTTP answer: {answer:?}"))
    }

    /// A browser with no cookie yet.
    pub fn browser(&self) -> Browser<'_> {
        Browser {
            demo: self,
            cookie: None,
        }
    }
}

fn spawn(server: impl Future<Output = std::io::Result<()>> + Send + 'static) {
    tokio::spawn(async move {
        if let Err(error) = server.await {
            panic!("the example server stopped: {error}");
        }
    });
}

/// `fields` form-encoded.
pub fn form(fields: &[(&str, &str)]) -> String {
    let mut out = url::form_urlencoded::Serializer::new(String::new());
    out.extend_pairs(fields);
    out.finish()
}

/// An answer, read to the end.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: String,
}

impl Reply {
    /// The first value of header `name`.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The body as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    /// The `error` member of a JSON error body.
    pub fn error(&self) -> String {
        self.json()["error"].as_str().unwrap_or("").to_owned()
    }

    /// The `Location` header, parsed.
    pub fn location(&self) -> url::Url {
        let location = self
            .header("location")
            .unwrap_or_else(|| panic!("no Location: {} {}", self.status, self.body));
        url::Url::parse(location).expect("an absolute Location")
    }

    /// The value of the hidden or visible input `name` in the page's form (empty when it
    /// has none), or `None` when the form has no such input.
    pub fn input(&self, name: &str) -> Option<String> {
        let marker = format!("name=\"{name}\"");
        let at = self.body.find(&marker)?;
        let tag_start = self.body[..at].rfind('<')?;
        let tag_end = at + self.body[at..].find('>')?;
        let tag = &self.body[tag_start..tag_end];
        if !tag.starts_with("<input") {
            return None;
        }
        let value = tag
            .split("value=\"")
            .nth(1)
            .and_then(|v| v.split('"').next())
            .unwrap_or("");
        Some(unescape(value))
    }

    /// The `(name, value)` of every input of the page's form, as a browser would send
    /// them untouched (empty when an input has no value).
    pub fn form_inputs(&self) -> Vec<(String, String)> {
        self.body
            .split("<input ")
            .skip(1)
            .filter_map(|tag| {
                let tag = tag.split('>').next()?;
                let name = tag.split("name=\"").nth(1)?.split('"').next()?;
                let value = tag
                    .split("value=\"")
                    .nth(1)
                    .and_then(|v| v.split('"').next())
                    .unwrap_or("");
                Some((unescape(name), unescape(value)))
            })
            .collect()
    }

    /// The page form's `action`, unescaped.
    pub fn form_action(&self) -> Option<String> {
        let at = self.body.find("<form method=\"post\" action=\"")?;
        let rest = &self.body[at + "<form method=\"post\" action=\"".len()..];
        Some(unescape(rest.split('"').next()?))
    }
}

/// The inverse of the pages' HTML escaping.
pub fn unescape(text: &str) -> String {
    text.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The value of query parameter `name` in `url`.
pub fn query_param(url: &url::Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// A scripted browser: keeps the session cookie and submits the pages' forms.
pub struct Browser<'a> {
    demo: &'a Demo,
    cookie: Option<String>,
}

impl Browser<'_> {
    /// Opens `url` (absolute, or a path on the server).
    pub async fn open(&mut self, url: &str) -> Reply {
        let url = if url.starts_with("http") {
            url.to_owned()
        } else {
            self.demo.url(url)
        };
        let request = self.with_cookie(self.demo.http.get(url));
        self.keep_cookie(self.demo.send(request).await)
    }

    /// Submits the form of `page` as a browser would: its inputs (the CSRF token among
    /// them) with `fields` filled in, and `fields`' button.
    pub async fn submit(&mut self, page: &Reply, fields: &[(&str, &str)]) -> Reply {
        let action = page
            .form_action()
            .unwrap_or_else(|| panic!("no form on the page: {}", page.body));
        let inputs = page.form_inputs();
        assert!(
            inputs.iter().any(|(name, _)| name == "csrf_token"),
            "SEC-03: every form carries a CSRF token"
        );
        let mut all: Vec<(&str, &str)> = inputs
            .iter()
            .filter(|(name, _)| !fields.iter().any(|(n, _)| n == name))
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        all.extend_from_slice(fields);
        self.post(&action, &all).await
    }

    /// Posts `fields` as a form to `path`, with the browser's cookie.
    pub async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Reply {
        let request = self
            .demo
            .http
            .post(self.demo.url(path))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form(fields));
        let request = self.with_cookie(request);
        self.keep_cookie(self.demo.send(request).await)
    }

    /// Follows a 303 to a page on this server.
    pub async fn follow(&mut self, reply: &Reply) -> Reply {
        assert_eq!(reply.status, 303, "{}", reply.body);
        let location = reply.header("location").expect("Location").to_owned();
        self.open(&location).await
    }

    fn with_cookie(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.cookie {
            Some(cookie) => request.header("cookie", cookie),
            None => request,
        }
    }

    fn keep_cookie(&mut self, reply: Reply) -> Reply {
        if let Some(set) = reply.header("set-cookie") {
            self.cookie = set.split(';').next().map(str::to_owned);
        }
        reply
    }

    /// Submits `page`'s form signed in as the demo user, pressing `decision`.
    pub async fn sign_in(&mut self, page: &Reply, decision: &str) -> Reply {
        self.submit(
            page,
            &[
                ("username", USER.0),
                ("password", USER.1),
                ("decision", decision),
            ],
        )
        .await
    }

    /// Opens `authorize_url`, signs in as the demo user and approves: the 303 back to the
    /// client.
    pub async fn sign_in_and_approve(&mut self, authorize_url: &str) -> Reply {
        let page = self.open(authorize_url).await;
        assert_eq!(page.status, 200, "{}", page.body);
        self.sign_in(&page, "approve").await
    }

    /// [`sign_in_and_approve`](Self::sign_in_and_approve), then the code in the redirect,
    /// after checking `state` and `iss`.
    pub async fn authorization_code(&mut self, authorize_url: &str, state: &str) -> String {
        let reply = self.sign_in_and_approve(authorize_url).await;
        assert_eq!(reply.status, 303, "SEC-04: the consent POST answers 303");
        let location = reply.location();
        assert_eq!(query_param(&location, "state").as_deref(), Some(state));
        assert_eq!(
            query_param(&location, "iss").as_deref(),
            Some(self.demo.base.as_str())
        );
        query_param(&location, "code").expect("a code")
    }
}

impl Demo {
    /// Checks that `reply` redirects error `error` to the client (ER-04): in the query,
    /// with `state` (when one was sent) and `iss` (IS-01), never a code or a token.
    pub fn assert_error_redirect(&self, reply: &Reply, error: &str, state: Option<&str>) {
        assert!([302, 303].contains(&reply.status), "{}", reply.status);
        let location = reply.location();
        assert_eq!(query_param(&location, "error").as_deref(), Some(error));
        assert_eq!(query_param(&location, "state").as_deref(), state);
        assert_eq!(
            query_param(&location, "iss").as_deref(),
            Some(self.base.as_str())
        );
        assert!(location.fragment().is_none());
        for member in ["code", "access_token"] {
            assert!(query_param(&location, member).is_none(), "{member}");
        }
    }
}

/// A raw authorization request for `demo-spa` with the RFC 7636 challenge, plus `extra`.
pub fn spa_authorize_path(extra: &str) -> String {
    format!(
        "/authorize?response_type=code&client_id=demo-spa&scope=profile+read%3Adata\
         &redirect_uri={}&state=s-123&code_challenge={CHALLENGE}&code_challenge_method=S256{extra}",
        url::form_urlencoded::byte_serialize(SPA_REDIRECT.as_bytes()).collect::<String>()
    )
}
