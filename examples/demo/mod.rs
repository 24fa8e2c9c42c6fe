//! The host application behind the three example servers (`axum_server`, `actix_server`,
//! `hyper_server`): the demo clients and user, the sign-in, consent and device verification
//! pages with their sessions and CSRF tokens, the protected resource, and [`DemoApp::handle`],
//! which serves every route.
//!
//! It is framework-agnostic, like grantflow itself: [`HttpRequest`] in, [`HttpResponse`] out.
//! What each example adds is only the adapter between its framework and those two types, so
//! the three servers behave the same by construction, and the end-to-end suite
//! (`tests/it/example_servers.rs`) checks that over real HTTP.
//!
//! Everything here is what a host application writes around grantflow: grantflow is the
//! protocol engine and has no login system, sessions or pages of its own.

mod authorize;
mod device;
mod pages;
mod session;
mod users;

use std::net::SocketAddr;
use std::sync::Arc;

use grantflow::{
    AttemptLimiter as _, BearerGuard, Client, ClientSecret, ClientType, GrantType, HttpRequest,
    HttpResponse, MemoryAttemptLimiter, MemoryClientRegistry, MemoryDeviceStore, MemoryTokenStore,
    Method, Outcome, Scope, Server, Status, Subject, Throttle,
};

use self::session::Sessions;
use self::users::Users;

/// The routes every example serves, with the path each is mounted at.
pub(crate) const ROUTES: [(&str, Route); 8] = [
    ("/.well-known/oauth-authorization-server", Route::Metadata),
    ("/authorize", Route::Authorize),
    ("/token", Route::Token),
    ("/device_authorization", Route::DeviceAuthorization),
    ("/device", Route::DeviceVerification),
    ("/revoke", Route::Revoke),
    ("/introspect", Route::Introspect),
    ("/api/data", Route::ApiData),
];

/// The largest request body an adapter reads; anything longer is answered with
/// [`body_too_large`] without being read to the end. grantflow refuses forms over 16 KiB
/// itself (`FormLimits`), so this only keeps a hostile client from making the adapter
/// buffer megabytes.
pub(crate) const BODY_LIMIT: usize = 64 * 1024;

/// The scope `GET /api/data` needs.
const API_SCOPE: &str = "read:data";

/// One of the [`ROUTES`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Route {
    /// RFC 8414 metadata: every other endpoint is discovered from it.
    Metadata,
    /// The authorization endpoint, with the sign-in and consent page.
    Authorize,
    /// The token endpoint.
    Token,
    /// The device authorization endpoint (RFC 8628 §3.1).
    DeviceAuthorization,
    /// The device verification page (RFC 8628 §3.3).
    DeviceVerification,
    /// Token revocation (RFC 7009).
    Revoke,
    /// Token introspection (RFC 7662).
    Introspect,
    /// The protected resource, guarded by the bearer guard.
    ApiData,
}

impl Route {
    /// The path this route is mounted at.
    pub(crate) fn path(self) -> &'static str {
        ROUTES
            .iter()
            .find(|(_, route)| *route == self)
            .map_or("/", |(path, _)| path)
    }
}

/// The demo authorization server: grantflow's [`Server`] on the memory stores, plus the
/// host's own parts. Cheap to clone.
#[derive(Clone, Debug)]
pub(crate) struct DemoApp {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    server: Server,
    guard: BearerGuard,
    api_scope: Scope,
    users: Arc<Users>,
    sessions: Sessions,
    /// Sign-in attempts per user name on the pages (the password grant has its own).
    sign_in_limiter: MemoryAttemptLimiter,
}

impl DemoApp {
    /// The demo server for a listener bound to `addr`: the issuer is `http://` plus the
    /// address, so every URL in the metadata points back at this listener.
    ///
    /// # Errors
    /// When the configuration is refused (it is not: the demo registry is valid).
    pub(crate) fn new(addr: SocketAddr) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        let issuer = format!("http://{addr}");
        let users = Arc::new(Users::demo());
        let server = Server::builder(
            issuer,
            Arc::new(demo_registry()?),
            Arc::new(MemoryTokenStore::new()),
        )
        // A loopback demo without TLS. A deployment keeps the default (https only, SEC-01).
        .dangerous(|d| d.allow_http_issuer())
        .device_store(Arc::new(MemoryDeviceStore::new()))
        .scopes_supported("profile read:data write:data")
        // Legacy clients only: enabled here for `demo-legacy`, the one client registered
        // with the password grant (PW-02).
        .password_grant(users.clone())
        .build()?;
        let guard = server.bearer_guard().realm("demo-api")?;
        Ok(Self {
            inner: Arc::new(Inner {
                guard,
                api_scope: Scope::parse(API_SCOPE)?,
                users,
                sessions: Sessions::new(server.issuer()),
                sign_in_limiter: MemoryAttemptLimiter::new(5, std::time::Duration::from_secs(300)),
                server,
            }),
        })
    }

    /// Serves one request to `route`. Every outcome is a response: protocol errors are the
    /// RFC responses grantflow renders, storage faults are logged and answered with
    /// `server_error`, and nothing panics.
    pub(crate) async fn handle(&self, route: Route, request: HttpRequest) -> HttpResponse {
        let server = &self.inner.server;
        let response = match route {
            Route::Metadata => server.serve_metadata(&request, route.path()),
            Route::Authorize => authorize::handle(self, &request).await,
            Route::Token => answer(server.token(&request).await),
            Route::DeviceAuthorization => answer(server.device_authorization(&request).await),
            Route::DeviceVerification => device::handle(self, &request).await,
            Route::Revoke => answer(server.revoke(&request).await),
            Route::Introspect => answer(server.introspect(&request).await),
            Route::ApiData => self.api_data(&request).await,
        };
        // Method, path and status only: queries and bodies carry codes and secrets.
        tracing::info!(
            method = ?request.method(),
            path = route.path(),
            status = response.status.as_u16(),
        );
        response
    }

    /// `GET /api/data`: the protected resource, for tokens with scope `read:data`.
    async fn api_data(&self, request: &HttpRequest) -> HttpResponse {
        if request.method() != Method::Get {
            return HttpResponse::new(Status::METHOD_NOT_ALLOWED).with_header("allow", "GET");
        }
        match self.inner.guard.check(request, &self.inner.api_scope).await {
            Ok(Ok(token)) => {
                let body = serde_json::json!({
                    "message": "Hello from the protected resource",
                    "client_id": token.client_id.as_str(),
                    "subject": token.subject.as_ref().map(|s| s.as_str()),
                    "scope": token.scope.as_str(),
                });
                HttpResponse::new(Status::OK)
                    .with_header("content-type", "application/json")
                    .with_header("cache-control", "no-store")
                    .with_body(body.to_string().into_bytes())
            }
            // 401 or 403 with the exact `WWW-Authenticate` challenge (RFC 6750 §3).
            Ok(Err(refusal)) => refusal,
            Err(fault) => answer(Err(fault)),
        }
    }
}

impl DemoApp {
    /// Signs the form's user in, throttled per user name: the session ends and a signed-in
    /// one with a new id and CSRF token takes its place.
    ///
    /// # Errors
    /// The message to show on the form again.
    async fn sign_in(
        &self,
        session: &session::Session,
        form: &pages::PostedForm,
    ) -> Result<(session::Session, Subject), &'static str> {
        let (Some(name), Some(password)) = (form.username.as_deref(), form.password.as_deref())
        else {
            return Err("Enter your user name and password.");
        };
        let limiter = &self.inner.sign_in_limiter;
        let key = format!("sign-in:{name}");
        let now = std::time::SystemTime::now();
        const LOCKED_OUT: &str = "Too many attempts. Wait a few minutes, then try again.";
        const UNAVAILABLE: &str = "Signing in is not possible right now. Try again later.";
        let failed = |error: grantflow::StorageError| {
            tracing::error!(%error, "sign-in limiter failed");
            UNAVAILABLE
        };
        // The limiter's contract: skip the check of a locked-out name, and answer an
        // outcome only if the limiter allows it (so concurrent guesses get at most the
        // limit of answers).
        if limiter.check(&key, now).await.map_err(failed)? != Throttle::Allow {
            return Err(LOCKED_OUT);
        }
        let subject = self.inner.users.verify(name, password);
        let outcome = if subject.is_some() {
            Outcome::Success
        } else {
            Outcome::Failure
        };
        if limiter.record(&key, outcome, now).await.map_err(failed)? != Throttle::Allow {
            return Err(LOCKED_OUT);
        }
        let Some(subject) = subject else {
            tracing::info!("sign-in refused");
            return Err("Wrong user name or password.");
        };
        tracing::info!(subject = subject.as_str(), "signed in");
        let signed_in = self.inner.sessions.sign_in(session, subject.clone());
        Ok((signed_in, subject))
    }

    /// A page's POST, with the session it belongs to.
    ///
    /// # Errors
    /// The page to answer with: a malformed form, or, without a live session or with a
    /// wrong CSRF token, 403 and nothing done (SEC-03).
    fn posted_form(
        &self,
        request: &HttpRequest,
    ) -> Result<(pages::PostedForm, session::Session), HttpResponse> {
        let form = pages::PostedForm::parse(request)?;
        match self.inner.sessions.find(request) {
            Some(session) if session.csrf_matches(form.csrf_token.as_deref()) => {
                Ok((form, session))
            }
            _ => Err(form_expired()),
        }
    }
}

/// The answer to a form without a live session or with a wrong CSRF token (SEC-03).
fn form_expired() -> HttpResponse {
    pages::message(
        Status::FORBIDDEN,
        "This form has expired",
        "The form was not sent from this site, or it is too old. Go back, reload the page \
         and try again.",
    )
}

/// An endpoint's result as a response: a storage fault is logged (never with a secret:
/// grantflow's errors carry none) and answered with `server_error` or
/// `temporarily_unavailable`.
fn answer(result: Result<HttpResponse, grantflow::Error>) -> HttpResponse {
    result.unwrap_or_else(|fault| {
        tracing::error!(error = %fault, "endpoint failed");
        fault.to_response()
    })
}

/// The answer to a path no route serves.
pub(crate) fn not_found() -> HttpResponse {
    pages::message(
        Status::NOT_FOUND,
        "Not found",
        "There is no page at this address.",
    )
}

/// The answer to a body longer than [`BODY_LIMIT`].
pub(crate) fn body_too_large() -> HttpResponse {
    pages::message(
        Status::CONTENT_TOO_LARGE,
        "Request too large",
        "The request body is larger than this server accepts.",
    )
}

/// The address to listen on: `ADDR` from the environment, else `127.0.0.1:8080`.
///
/// # Errors
/// When `ADDR` is not a socket address such as `127.0.0.1:9000`.
pub(crate) fn address() -> Result<SocketAddr, Box<dyn std::error::Error + Send + Sync>> {
    let addr = std::env::var("ADDR").unwrap_or_else(|_| "127.0.0.1:8080".to_owned());
    addr.parse()
        .map_err(|e| format!("ADDR={addr:?} is not an address like 127.0.0.1:8080: {e}").into())
}

/// Logs to stderr; `RUST_LOG` sets the level (default `info`).
pub(crate) fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .init();
}

/// What to print once listening: where, and how to try it.
pub(crate) fn banner(framework: &str, addr: SocketAddr) -> String {
    let base = format!("http://{addr}");
    format!(
        "grantflow demo authorization server ({framework}) listening on {base}\n\
         \n\
         Metadata:  curl {base}/.well-known/oauth-authorization-server\n\
         A token:   curl -u demo-service:demo-service-secret -d grant_type=client_credentials \
         -d scope=read:data {base}/token\n\
         Use it:    curl -H \"Authorization: Bearer <access_token>\" {base}/api/data\n\
         Sign in:   open {base}/authorize?response_type=code&client_id=demo-spa\
         &redirect_uri=http%3A%2F%2F127.0.0.1%3A3000%2Fcallback&scope=profile\
         &code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256\n\
         \x20          as alice / alice-password (the README walks through every grant)\n\
         \n\
         This is a demo: plain http on loopback, memory stores, one user."
    )
}

/// The demo registry (listed in the README).
fn demo_registry() -> Result<MemoryClientRegistry, Box<dyn std::error::Error + Send + Sync>> {
    let secret = |s: &str| ClientSecret::from_presented(s.to_owned());
    let registry = MemoryClientRegistry::new();
    registry.insert(
        Client::builder("demo-service", ClientType::Confidential)
            .name("Demo back-end service")
            .secret(&secret("demo-service-secret"))
            .grant_type(GrantType::CLIENT_CREDENTIALS)
            .allowed_scope("read:data write:data")
            // A request without `scope` gets this one (SC-03).
            .default_scope("read:data")
            .introspection(true)
            .build()?,
    )?;
    registry.insert(
        Client::builder("demo-web", ClientType::Confidential)
            .name("Demo web application")
            .secret(&secret("demo-web-secret"))
            .redirect_uri("http://localhost:3000/callback")
            .grant_type(GrantType::AUTHORIZATION_CODE)
            .grant_type(GrantType::REFRESH_TOKEN)
            .allowed_scope("profile read:data")
            .build()?,
    )?;
    registry.insert(
        Client::builder("demo-spa", ClientType::Public)
            .name("Demo single-page app")
            // Any loopback port (RFC 8252 §7.3).
            .redirect_uri("http://127.0.0.1/callback")
            .grant_type(GrantType::AUTHORIZATION_CODE)
            .grant_type(GrantType::REFRESH_TOKEN)
            .allowed_scope("profile read:data")
            .build()?,
    )?;
    registry.insert(
        Client::builder("demo-tv", ClientType::Public)
            .name("Demo TV")
            .grant_type(GrantType::DEVICE_CODE)
            .allowed_scope("profile read:data")
            .default_scope("profile")
            .build()?,
    )?;
    registry.insert(
        Client::builder("demo-legacy", ClientType::Confidential)
            .name("Demo legacy application")
            .secret(&secret("demo-legacy-secret"))
            .grant_type(GrantType::PASSWORD)
            .allowed_scope("profile read:data")
            .build()?,
    )?;
    Ok(registry)
}
