//! Harness of the end-to-end suite: starts an example server on a free loopback port,
//! discovers its endpoints from the metadata, and talks to it over real HTTP, with the
//! `oauth2` crate as the client and `reqwest` for raw requests, plus a scripted browser
//! (a cookie and the page forms) for the sign-in, consent and device pages.

use std::future::Future;
use std::net::{IpAddr, TcpListener};
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

/// The limits an example server runs with: the axum example's type. Each example has its
/// own copy of the demo, and so of this type; [`serve!`] copies the fields across.
/// `Limits::default()` is the examples' production default.
pub(crate) use crate::example_servers::axum_server::Limits;

/// The access token format an example server issues: the axum example's type, copied
/// across like [`Limits`].
pub(crate) use crate::example_servers::axum_server::AccessTokens;

/// Starts `$module`'s server on `$listener` with `$limits` and `$tokens` copied into its
/// own types.
macro_rules! serve {
    ($module:ident, $listener:expr, $limits:expr, $tokens:expr) => {{
        let limits = $limits;
        crate::example_servers::$module::serve(
            $listener,
            crate::example_servers::$module::Limits {
                head_timeout: limits.head_timeout,
                body_timeout: limits.body_timeout,
                max_connections: limits.max_connections,
                anonymous_sessions: limits.anonymous_sessions,
                sessions_per_user: limits.sessions_per_user,
            },
            match $tokens {
                AccessTokens::Opaque => crate::example_servers::$module::AccessTokens::Opaque,
                AccessTokens::Jwt => crate::example_servers::$module::AccessTokens::Jwt,
            },
        )
    }};
}

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
    /// Starts `framework`'s example server on a free port, in the test's runtime, with the
    /// examples' default limits, and fetches its metadata.
    pub async fn start(framework: Framework) -> Self {
        Self::start_with(framework, Limits::default()).await
    }

    /// [`start`](Self::start) with `limits`.
    pub async fn start_with(framework: Framework, limits: Limits) -> Self {
        Self::start_issuing(framework, limits, AccessTokens::Opaque).await
    }

    /// [`start`](Self::start) in JWT mode (`ACCESS_TOKENS=jwt`): JWT access tokens, the
    /// JWK Set at `/jwks`, `/api/data` verifying offline.
    pub async fn start_jwt(framework: Framework) -> Self {
        Self::start_issuing(framework, Limits::default(), AccessTokens::Jwt).await
    }

    /// [`start`](Self::start) with `limits`, issuing `tokens`.
    async fn start_issuing(framework: Framework, limits: Limits, tokens: AccessTokens) -> Self {
        log_buffer();
        let listener = TcpListener::bind("127.0.0.1:0").expect("a free loopback port");
        let addr = listener.local_addr().expect("bound");
        match framework {
            Framework::Axum => spawn(serve!(axum_server, listener, limits, tokens)),
            Framework::Actix => spawn(serve!(actix_server, listener, limits, tokens)),
            Framework::Hyper => spawn(serve!(hyper_server, listener, limits, tokens)),
        }
        let http = http_client(None);
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

    /// `POST /token` with a form body and no Basic credentials.
    pub async fn post_token(&self, fields: &[(&str, &str)]) -> Reply {
        self.post_form("/token", None, fields).await
    }

    /// `demo-spa` redeems `code` with `verifier` at `/token`.
    pub async fn spa_code_exchange(&self, code: &str, verifier: &str) -> Reply {
        self.post_token(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", SPA_REDIRECT),
            ("client_id", "demo-spa"),
            ("code_verifier", verifier),
        ])
        .await
    }

    /// `demo-spa` presents `refresh_token` at `/token`.
    pub async fn spa_refresh(&self, refresh_token: &str) -> Reply {
        self.post_token(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
            ("client_id", "demo-spa"),
        ])
        .await
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

    /// `host:port` of the server.
    pub fn address(&self) -> &str {
        self.base.trim_start_matches("http://")
    }

    /// Sends `head` and `body` over a plain TCP connection and reads the answer until the
    /// server closes the connection. Unlike an HTTP client library it keeps reading when
    /// the server answers before the body is sent (as curl does), which is how a server
    /// refuses a body too large to read.
    pub async fn raw(&self, head: &str, body: &[u8]) -> RawReply {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let mut stream = tokio::net::TcpStream::connect(self.address())
            .await
            .expect("connect");
        let _ = stream.write_all(head.as_bytes()).await;
        let _ = stream.write_all(body).await;
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer).await;
        RawReply::parse(&answer)
            .unwrap_or_else(|| panic!("no HTTP answer: {:?}", String::from_utf8_lossy(&answer)))
    }

    /// The status of [`raw`](Self::raw)'s answer.
    pub async fn raw_status(&self, head: &str, body: &[u8]) -> u16 {
        self.raw(head, body).await.status
    }

    /// A browser with no cookie yet.
    pub fn browser(&self) -> Browser<'_> {
        Browser {
            demo: self,
            http: self.http.clone(),
            cookie: None,
        }
    }

    /// A browser with no cookie yet, connecting from `local` (any address of 127.0.0.0/8
    /// reaches the loopback server), so the server sees another client address.
    pub fn browser_from(&self, local: IpAddr) -> Browser<'_> {
        Browser {
            demo: self,
            http: http_client(Some(local)),
            cookie: None,
        }
    }
}

/// An HTTP client that never follows redirects (the oauth2 crate's advice), connecting
/// from `local` if given.
fn http_client(local: Option<IpAddr>) -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .local_address(local)
        .build()
        .expect("an HTTP client")
}

/// An answer read off a raw connection.
#[derive(Debug)]
pub struct RawReply {
    pub status: u16,
    /// Header lines, names in lower case.
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl RawReply {
    /// The first HTTP/1.1 response in `bytes`, if any.
    pub fn parse(bytes: &[u8]) -> Option<Self> {
        let text = String::from_utf8_lossy(bytes);
        let (head, rest) = text.split_once("\r\n\r\n")?;
        let mut lines = head.split("\r\n");
        let status = lines
            .next()?
            .strip_prefix("HTTP/1.1 ")?
            .get(..3)?
            .parse()
            .ok()?;
        let headers: Vec<(String, String)> = lines
            .filter_map(|line| line.split_once(':'))
            .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
            .collect();
        let length = headers
            .iter()
            .find(|(name, _)| name == "content-length")
            .and_then(|(_, value)| value.parse().ok())
            .unwrap_or(rest.len());
        let body = rest.get(..length).unwrap_or(rest).to_owned();
        Some(Self {
            status,
            headers,
            body,
        })
    }

    /// The first value of header `name` (lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
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
    /// The `WWW-Authenticate` challenge, or an empty string.
    pub fn challenge(&self) -> &str {
        self.header("www-authenticate").unwrap_or("")
    }

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

    /// The forms of the page, in order.
    pub fn forms(&self) -> Vec<PageForm> {
        self.body
            .split("<form ")
            .skip(1)
            .filter_map(|form| {
                let form = form.split("</form>").next()?;
                let action = form.split("action=\"").nth(1)?.split('"').next()?;
                Some(PageForm {
                    action: unescape(action),
                    inputs: tags(form, "<input ")
                        .into_iter()
                        .map(|tag| {
                            let value = attribute(tag, "value").unwrap_or_default();
                            (
                                attribute(tag, "name").unwrap_or_default(),
                                value,
                                tag.to_owned(),
                            )
                        })
                        .collect(),
                    buttons: tags(form, "<button ")
                        .into_iter()
                        .map(|tag| {
                            (
                                attribute(tag, "name").unwrap_or_default(),
                                attribute(tag, "value").unwrap_or_default(),
                            )
                        })
                        .collect(),
                })
            })
            .collect()
    }

    /// Whether the page has a button that sends `decision=value`.
    pub fn has_button(&self, value: &str) -> bool {
        self.forms()
            .iter()
            .any(|form| form.buttons.iter().any(|(_, v)| v == value))
    }
}

/// A form of a page.
#[derive(Debug)]
pub struct PageForm {
    pub action: String,
    /// `(name, value, whole tag)` of every input.
    pub inputs: Vec<(String, String, String)>,
    /// `(name, value)` of every submit button, in order: the first is the one implicit
    /// submission (Enter in a text field) presses.
    pub buttons: Vec<(String, String)>,
}

impl PageForm {
    /// `(name, value)` of every input.
    pub fn fields(&self) -> Vec<(String, String)> {
        self.inputs
            .iter()
            .map(|(name, value, _)| (name.clone(), value.clone()))
            .collect()
    }

    /// The tag of input `name`, if any.
    pub fn input_tag(&self, name: &str) -> Option<&str> {
        self.inputs
            .iter()
            .find(|(n, _, _)| n == name)
            .map(|(_, _, tag)| tag.as_str())
    }
}

/// The text of every `start…>` tag in `html` (without the closing `>`).
fn tags<'h>(html: &'h str, start: &str) -> Vec<&'h str> {
    html.split(start)
        .skip(1)
        .filter_map(|tag| tag.split('>').next())
        .collect()
}

/// The unescaped value of attribute `name` in `tag`.
fn attribute(tag: &str, name: &str) -> Option<String> {
    let marker = format!(" {name}=\"");
    let value = format!(" {tag}")
        .split(&marker)
        .nth(1)?
        .split('"')
        .next()?
        .to_owned();
    Some(unescape(&value))
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
    http: reqwest::Client,
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
        let request = self.with_cookie(self.http.get(url));
        self.keep_cookie(self.demo.send(request).await)
    }

    /// `HEAD url` with the browser's cookie.
    pub async fn head(&mut self, url: &str) -> Reply {
        let request = self.with_cookie(self.http.head(self.demo.url(url)));
        self.keep_cookie(self.demo.send(request).await)
    }

    /// Submits a form of `page` as a browser would: its inputs (the CSRF token among
    /// them) with `fields` filled in, and `fields`' button. The form is the one with
    /// that button (`decision=…`), or the first.
    pub async fn submit(&mut self, page: &Reply, fields: &[(&str, &str)]) -> Reply {
        let forms = page.forms();
        let pressed = fields.iter().find(|(name, _)| *name == "decision");
        // The form with the pressed button; without one, the first form with the button
        // value sent anyway, as a crafted request could.
        let form = forms
            .iter()
            .find(|form| {
                pressed.is_none_or(|(_, value)| form.buttons.iter().any(|(_, v)| v == value))
            })
            .or(forms.first())
            .unwrap_or_else(|| panic!("no form on the page: {}", page.body));
        let action = form.action.clone();
        let inputs = form.fields();
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

    /// Submits the first form of `page` the way pressing Enter in one of its text fields
    /// does (implicit submission): its inputs with `fields` filled in, and its default
    /// button, the first submit button in the form.
    pub async fn press_enter(&mut self, page: &Reply, fields: &[(&str, &str)]) -> Reply {
        let form = page
            .forms()
            .into_iter()
            .next()
            .unwrap_or_else(|| panic!("no form on the page: {}", page.body));
        let mut all: Vec<(String, String)> = form
            .fields()
            .into_iter()
            .filter(|(name, _)| !fields.iter().any(|(n, _)| n == name))
            .collect();
        all.extend(
            fields
                .iter()
                .map(|(n, v)| ((*n).to_owned(), (*v).to_owned())),
        );
        if let Some((name, value)) = form.buttons.first() {
            all.push((name.clone(), value.clone()));
        }
        let all: Vec<(&str, &str)> = all.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
        self.post(&form.action, &all).await
    }

    /// Posts `fields` as a form to `path`, with the browser's cookie.
    pub async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Reply {
        let request = self
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

    /// Submits `page`'s sign-in form as the demo user, pressing `decision`.
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

    /// Opens `authorize_url`, signs in as the demo user on the sign-in page, then approves
    /// on the consent page it leads to: the 303 back to the client.
    pub async fn sign_in_and_approve(&mut self, authorize_url: &str) -> Reply {
        let page = self.open(authorize_url).await;
        assert_eq!(page.status, 200, "{}", page.body);
        let consent = if page.input("password").is_some() {
            let signed_in = self.sign_in(&page, "continue").await;
            match signed_in.header("location") {
                Some(location) if location.starts_with('/') => self.follow(&signed_in).await,
                // An invalid request goes back to the client once the user has signed in.
                _ => return signed_in,
            }
        } else {
            page
        };
        assert!(consent.has_button("approve"), "{}", consent.body);
        self.submit(&consent, &[("decision", "approve")]).await
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
