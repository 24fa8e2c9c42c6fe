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
mod logout;
mod pages;
mod session;
mod users;

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use grantflow::device::DeviceVerifier;
use grantflow::guard::{BearerGuard, GuardRejection, ResourceMetadata};
use grantflow::jose::{Algorithm, JwtAccessTokens, KeySet, MemoryKeySetStore, SigningKey};
use grantflow::limiter::{
    AttemptKey, AttemptLimiter as _, MemoryAttemptLimiter, Outcome, Throttle,
};
use grantflow::registration::OpenRegistration;
use grantflow::store::MemoryPushedRequestStore;
use grantflow::{
    Client, ClientSecret, ClientType, ErrorCode, GrantType, HttpRequest, HttpResponse,
    MemoryClientRegistry, MemoryDeviceStore, MemoryTokenStore, Method, OAuthError, Scope, Server,
    Status, Subject,
};

use self::session::{Csrf, Flash, Sessions};
use self::users::Users;

/// The routes every example serves, with the path each is mounted at.
pub(crate) const ROUTES: [(&str, Route); 15] = [
    ("/.well-known/oauth-authorization-server", Route::Metadata),
    (
        "/.well-known/oauth-protected-resource/api/data",
        Route::ResourceMetadata,
    ),
    (
        "/.well-known/openid-configuration",
        Route::OpenIdConfiguration,
    ),
    ("/jwks", Route::Jwks),
    ("/userinfo", Route::UserInfo),
    ("/logout", Route::EndSession),
    ("/authorize", Route::Authorize),
    ("/token", Route::Token),
    ("/par", Route::PushedAuthorization),
    ("/register", Route::Register),
    ("/device_authorization", Route::DeviceAuthorization),
    ("/device", Route::DeviceVerification),
    ("/revoke", Route::Revoke),
    ("/introspect", Route::Introspect),
    ("/api/data", Route::ApiData),
];

/// Where each dynamically registered client's configuration endpoint is mounted: this
/// prefix and the `client_id` (RFC 7592 §3). Adapters route paths under it to
/// [`DemoApp::client_configuration`].
pub(crate) const CLIENT_CONFIGURATION_PREFIX: &str = "/register/";

/// The largest request body an adapter reads; anything longer is answered 413 without
/// being read to the end (see [`DemoApp::read_body`]). grantflow refuses forms over 16 KiB
/// itself (`FormLimits`), so this only keeps a hostile client from making the adapter
/// buffer megabytes.
pub(crate) const BODY_LIMIT: usize = 64 * 1024;

/// The scope `GET /api/data` needs.
const API_SCOPE: &str = "read:data";

/// Failed sign-ins allowed per user name from one client address in
/// [`SIGN_IN_WINDOW`]: a stranger elsewhere cannot lock the user out.
const SIGN_IN_ATTEMPTS_PER_NAME: u32 = 5;
/// Failed sign-ins allowed from one client address in [`SIGN_IN_WINDOW`], whatever the
/// user names: one address cannot try a password on every account.
const SIGN_IN_ATTEMPTS_PER_ADDRESS: u32 = 20;
/// The window of both sign-in limits.
const SIGN_IN_WINDOW: Duration = Duration::from_secs(5 * 60);
/// Device authorization requests allowed from one client address per
/// [`DEVICE_REQUEST_WINDOW`]. The window is the device code's lifetime, so one address
/// holds at most about this many pending requests in the device store.
const DEVICE_REQUESTS_PER_ADDRESS: u32 = 20;
/// The window of the device authorization limit: the default device code lifetime.
const DEVICE_REQUEST_WINDOW: Duration = Duration::from_secs(10 * 60);
/// Client registrations allowed from one client address per [`REGISTRATION_WINDOW`].
const REGISTRATIONS_PER_ADDRESS: u32 = 20;
/// Client registrations allowed from everyone together per [`REGISTRATION_WINDOW`].
const REGISTRATIONS_IN_ALL: u32 = 1000;
/// The window of both registration limits.
const REGISTRATION_WINDOW: Duration = Duration::from_secs(60 * 60);
/// The most dynamically registered clients the demo holds: a flood of registrations
/// ends at this bound (503) rather than at the end of memory.
const MAX_REGISTERED_CLIENTS: usize = 10_000;

/// The limits every connection and the session table are held to. A deployment must keep
/// limits like these, whatever the framework: without a head timeout, a client that sends
/// half a request head and waits ("slowloris") holds its connection for ever, and enough of
/// them exhaust the server's sockets.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Limits {
    /// How long a client has to send a request head, counted from the connection's
    /// opening or the end of the previous response: also how long an idle kept-alive
    /// connection stays open.
    pub(crate) head_timeout: Duration,
    /// How long a client has to send the whole body once the head is in: an unfinished
    /// body is answered 408 and the connection closed.
    pub(crate) body_timeout: Duration,
    /// The most connections served at once; further ones wait in the listen backlog
    /// until one closes.
    pub(crate) max_connections: usize,
    /// The most sessions of visitors who have not signed in (anyone can start one with a
    /// request). A full table drops the oldest anonymous sessions, never a signed-in one.
    pub(crate) anonymous_sessions: usize,
    /// The most sessions one user keeps signed in; signing in once more ends that user's
    /// oldest. Signed-in sessions are so bounded by the number of users, and one user's
    /// sign-ins never end another user's session.
    pub(crate) sessions_per_user: usize,
}

impl Default for Limits {
    /// 10 s for a head, 10 s for a body of at most [`BODY_LIMIT`], 1,024 connections,
    /// 100,000 anonymous sessions, 16 sessions per user.
    fn default() -> Self {
        Self {
            head_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(10),
            max_connections: 1024,
            anonymous_sessions: 100_000,
            sessions_per_user: 16,
        }
    }
}

/// One of the [`ROUTES`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Route {
    /// RFC 8414 metadata: every other endpoint is discovered from it.
    Metadata,
    /// The JWK Set of the signing keys (`jwks_uri`): ID tokens, and access tokens in JWT
    /// mode.
    Jwks,
    /// The authorization endpoint, with the sign-in and consent page.
    Authorize,
    /// The token endpoint.
    Token,
    /// The pushed authorization request endpoint (RFC 9126).
    PushedAuthorization,
    /// Dynamic client registration (RFC 7591), open and rate limited.
    Register,
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
    /// RFC 9728 metadata of [`ApiData`](Self::ApiData): where a client that got a 401
    /// there finds the authorization server.
    ResourceMetadata,
    /// OpenID Connect discovery.
    OpenIdConfiguration,
    /// The OpenID Connect UserInfo endpoint.
    UserInfo,
    /// RP-initiated logout (`end_session_endpoint`), with its confirmation page.
    EndSession,
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

/// The format of the access tokens the demo issues: `ACCESS_TOKENS=jwt` in the environment
/// for JWT access tokens (RFC 9068), anything else (or nothing) for opaque ones.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AccessTokens {
    /// Opaque tokens, checked at `/api/data` in the token store.
    Opaque,
    /// JWT access tokens signed with an ES256 key generated at startup (next to the RS256
    /// key of ID tokens), published at `/jwks`, and verified offline at `/api/data`.
    Jwt,
}

impl AccessTokens {
    /// The format `ACCESS_TOKENS` names: `jwt`, or else `opaque`.
    pub(crate) fn from_env() -> Self {
        match std::env::var("ACCESS_TOKENS") {
            Ok(value) if value.eq_ignore_ascii_case("jwt") => Self::Jwt,
            _ => Self::Opaque,
        }
    }
}

/// How long the demo's access tokens live in JWT mode: a resource server that verifies
/// them offline accepts a revoked one until it expires, so they are kept short.
const JWT_ACCESS_TOKEN_TTL: Duration = Duration::from_secs(600);

/// The demo authorization server: grantflow's [`Server`] on the memory stores, plus the
/// host's own parts. Cheap to clone.
#[derive(Clone, Debug)]
pub(crate) struct DemoApp {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    server: Server,
    /// The device verification page's side of the device grant.
    device: DeviceVerifier,
    /// The guard of `/api/data`, which publishes its metadata.
    guard: BearerGuard,
    /// The same guard without published metadata, for routes of an adapter's own: the
    /// metadata describes `/api/data`, so a challenge elsewhere must not point to it.
    own_routes_guard: BearerGuard,
    api_scope: Scope,
    users: Arc<Users>,
    sessions: Sessions,
    limits: Limits,
    /// Failed sign-ins on the pages per user name and client address (the password
    /// grant has its own limiter).
    sign_in_per_name: MemoryAttemptLimiter,
    /// Failed sign-ins on the pages per client address.
    sign_in_per_address: MemoryAttemptLimiter,
    /// Device authorization requests per client address.
    device_requests: MemoryAttemptLimiter,
    /// Client registrations per client address.
    registrations: MemoryAttemptLimiter,
}

impl DemoApp {
    /// The demo server for a listener bound to `addr`: the issuer is `http://` plus the
    /// address, so every URL in the metadata points back at this listener. With
    /// [`AccessTokens::Jwt`], a signing key is generated now, access tokens are JWTs for
    /// the resource `<issuer>/api/data`, and `/api/data` verifies them offline.
    ///
    /// # Errors
    /// When the configuration is refused (it is not: the demo registry is valid).
    pub(crate) async fn new(
        addr: SocketAddr,
        limits: Limits,
        tokens: AccessTokens,
    ) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        let issuer = format!("http://{addr}");
        // The resource identifier of `/api/data` is its exact URL (RFC 9728 §3.3): tokens
        // asked for with `resource=<it>` are good there and nowhere else.
        let api_resource = format!("{issuer}{}", Route::ApiData.path());
        let users = Arc::new(Users::demo());
        // The server's signing keys, one per algorithm: RS256, which every relying party
        // supports, for ID tokens; ES256, the key set's default and far cheaper to sign
        // with, for JWT access tokens. One instance: the key set's store is in memory, and
        // the first keys sign at once. A deployment of several instances shares the store
        // (`PgKeySetStore`) and loads the same private keys on each
        // (`SigningKey::from_pkcs8`, from a KMS or its secret store).
        let keys = KeySet::builder(&issuer, Arc::new(MemoryKeySetStore::new())).build()?;
        for algorithm in [Algorithm::Rs256, Algorithm::Es256] {
            keys.bootstrap(
                Arc::new(SigningKey::generate(algorithm)?),
                SystemTime::now(),
            )
            .await?;
        }
        let clients = Arc::new(demo_registry()?.with_registration_limit(MAX_REGISTERED_CLIENTS));
        let mut builder = Server::builder(
            issuer.as_str(),
            clients.clone(),
            Arc::new(MemoryTokenStore::new()),
        )
        .signing_keys(keys);
        if tokens == AccessTokens::Jwt {
            builder = builder
                .jwt_access_tokens(JwtAccessTokens::new(&api_resource))
                .access_token_ttl(JWT_ACCESS_TOKEN_TTL);
        }
        let server = builder
            // A loopback demo without TLS. A deployment keeps the default (https only, SEC-01).
            .dangerous(|d| d.allow_http_issuer())
            .device_store(Arc::new(MemoryDeviceStore::new()))
            // Pushed authorization requests (RFC 9126) at /par, for any client.
            .pushed_authorization(Arc::new(MemoryPushedRequestStore::new()))
            // Dynamic client registration (RFC 7591, RFC 7592) at /register, open: at most
            // 1,000 an hour in all, and 20 an hour per address (`admit_per_address`).
            .client_registration(
                clients,
                Arc::new(OpenRegistration::new(Arc::new(MemoryAttemptLimiter::new(
                    REGISTRATIONS_IN_ALL,
                    REGISTRATION_WINDOW,
                )))),
            )
            .scopes_supported("profile email read:data write:data")
            // An OpenID Provider: ID tokens, UserInfo and discovery, alice's claims from the
            // demo directory.
            .openid_provider(users.clone())
            // RP-initiated logout: the confirmation page at /logout.
            .end_session_endpoint(&format!("{issuer}{}", Route::EndSession.path()))
            // Legacy clients only: enabled here for `demo-legacy`, the one client registered
            // with the password grant (PW-02).
            .password_grant(users.clone())
            // A public client id ships in every copy of the app, so anyone can present it: the
            // revocation endpoint must not tell them whether someone else's token is live.
            .revocation_hides_foreign_tokens(true)
            // `demo-spa` runs in a browser on its own (loopback) origin: it may call /token and
            // /revoke from the origin of its redirect URI, and read the metadata.
            .cors(true)
            .resource(&api_resource)
            .build()?;
        let guard = match tokens {
            AccessTokens::Opaque => server.bearer_guard(),
            AccessTokens::Jwt => server.jwt_bearer_guard(&api_resource).await?,
        };
        let own_routes_guard = guard.realm("demo-api")?.resource(&api_resource)?;
        let guard = own_routes_guard.clone().publish_metadata(
            ResourceMetadata::new()
                .scopes_supported(API_SCOPE)
                .resource_name("grantflow demo API"),
        )?;
        let device = server
            .device_verifier()
            .ok_or("the device grant is enabled above")?;
        Ok(Self {
            inner: Arc::new(Inner {
                device,
                guard,
                own_routes_guard,
                api_scope: Scope::parse(API_SCOPE)?,
                users,
                sessions: Sessions::new(
                    server.issuer(),
                    limits.anonymous_sessions,
                    limits.sessions_per_user,
                ),
                limits,
                sign_in_per_name: MemoryAttemptLimiter::new(
                    SIGN_IN_ATTEMPTS_PER_NAME,
                    SIGN_IN_WINDOW,
                ),
                sign_in_per_address: MemoryAttemptLimiter::new(
                    SIGN_IN_ATTEMPTS_PER_ADDRESS,
                    SIGN_IN_WINDOW,
                ),
                device_requests: MemoryAttemptLimiter::new(
                    DEVICE_REQUESTS_PER_ADDRESS,
                    DEVICE_REQUEST_WINDOW,
                ),
                registrations: MemoryAttemptLimiter::new(
                    REGISTRATIONS_PER_ADDRESS,
                    REGISTRATION_WINDOW,
                ),
                server,
            }),
        })
    }

    /// Serves one request to `route` from a client at `peer`. Every outcome is a
    /// response: protocol errors are the RFC responses grantflow renders, storage faults
    /// are logged and answered with `server_error`, and nothing panics.
    ///
    /// `peer` keys the per-address limits. Behind a reverse proxy it is the proxy's
    /// address: pass the client's address from the proxy's header instead, and trust that
    /// header only on connections from the proxy.
    pub(crate) async fn handle(
        &self,
        route: Route,
        peer: IpAddr,
        request: HttpRequest,
    ) -> HttpResponse {
        let server = &self.inner.server;
        let response = match route {
            Route::Metadata => server.serve_metadata(&request, route.path()),
            Route::Jwks => answer(server.jwks(&request).await),
            Route::Authorize => authorize::handle(self, peer, &request).await,
            Route::Token => answer(server.token(&request).await),
            Route::PushedAuthorization => answer(server.pushed_authorization(&request).await),
            Route::DeviceAuthorization => match self
                .admit_per_address(&self.inner.device_requests, "device-authorization", peer)
                .await
            {
                Ok(()) => answer(server.device_authorization(&request).await),
                Err(refusal) => refusal,
            },
            Route::Register => match self
                .admit_per_address(&self.inner.registrations, "registration", peer)
                .await
            {
                Ok(()) => answer(server.register(&request).await),
                Err(refusal) => refusal,
            },
            Route::DeviceVerification => device::handle(self, peer, &request).await,
            Route::Revoke => answer(server.revoke(&request).await),
            Route::Introspect => answer(server.introspect(&request).await),
            Route::ApiData => self.api_data(&request).await,
            Route::ResourceMetadata => self.inner.guard.serve_metadata(&request, route.path()),
            Route::OpenIdConfiguration => server
                .serve_openid_configuration(&request, route.path())
                .unwrap_or_else(not_found),
            Route::UserInfo => answer(server.userinfo(&request).await),
            Route::EndSession => logout::handle(self, &request).await,
        };
        // Method, path and status only: queries and bodies carry codes and secrets.
        tracing::info!(
            method = ?request.method(),
            path = route.path(),
            status = response.status.as_u16(),
        );
        response
    }

    /// Reads a request body for `route` through `read`, the framework's own body reader
    /// stopping at [`BODY_LIMIT`], within the body deadline.
    ///
    /// # Errors
    /// The answer when the body is too long (413) or does not arrive in time (408): JSON
    /// at the token-style endpoints, a page elsewhere, and either way the connection
    /// closes, so the rest of the body is never read.
    pub(crate) async fn read_body<B, E>(
        &self,
        route: Route,
        read: impl Future<Output = Result<B, E>>,
    ) -> Result<B, HttpResponse> {
        let refusal = match tokio::time::timeout(self.inner.limits.body_timeout, read).await {
            Ok(Ok(body)) => return Ok(body),
            // Longer than the limit (or the connection broke, and nobody reads the answer).
            Ok(Err(_)) => body_refused(
                route,
                Status::CONTENT_TOO_LARGE,
                "Request too large",
                "The request body is larger than this server accepts.",
            ),
            Err(_elapsed) => body_refused(
                route,
                Status::REQUEST_TIMEOUT,
                "Request timed out",
                "The request body did not arrive in time.",
            ),
        };
        Err(refusal.with_header("connection", "close"))
    }

    /// A client's configuration endpoint (RFC 7592), at [`CLIENT_CONFIGURATION_PREFIX`]
    /// followed by `client_id`: read, update or delete a dynamically registered client
    /// with its registration access token.
    pub(crate) async fn client_configuration(
        &self,
        client_id: &str,
        request: HttpRequest,
    ) -> HttpResponse {
        let response = answer(
            self.inner
                .server
                .client_configuration(client_id, &request)
                .await,
        );
        tracing::info!(
            method = ?request.method(),
            path = CLIENT_CONFIGURATION_PREFIX,
            status = response.status.as_u16(),
        );
        response
    }

    /// Counts a request of `kind` from `peer` in `limiter`: device authorization requests
    /// (the public `demo-tv` id ships in every device, so without a per-address limit
    /// anyone could fill the device store for everyone) and client registrations.
    ///
    /// # Errors
    /// 429 with `Retry-After` once the address has used up its requests.
    async fn admit_per_address(
        &self,
        limiter: &MemoryAttemptLimiter,
        kind: &str,
        peer: IpAddr,
    ) -> Result<(), HttpResponse> {
        let key = AttemptKey::custom(kind, &address_key(peer));
        // A rate limit, not a credential check: every request counts, recorded as the
        // one outcome the limiter counts.
        let counted = limiter
            .record(&key, Outcome::Failure, SystemTime::now())
            .await;
        match counted {
            Ok(Throttle::Deny { retry_after }) => {
                let mut refusal = OAuthError::new(ErrorCode::TEMPORARILY_UNAVAILABLE)
                    .with_description("too many requests from this address, retry later")
                    .to_response();
                refusal.status = Status::TOO_MANY_REQUESTS;
                Err(refusal.with_header("retry-after", retry_after.as_secs().max(1).to_string()))
            }
            Ok(_) => Ok(()),
            Err(error) => Err(answer(Err(error.into()))),
        }
    }

    /// The bearer guard of the protected resource, without its published metadata, and the
    /// scope it requires: for an adapter that guards routes of its own (the actix-web
    /// middleware).
    #[allow(
        dead_code,
        reason = "only the actix-web adapter guards routes of its own"
    )]
    pub(crate) fn api_guard(&self) -> (&BearerGuard, &Scope) {
        (&self.inner.own_routes_guard, &self.inner.api_scope)
    }

    /// `GET /api/data`: the protected resource, for tokens with scope `read:data`.
    async fn api_data(&self, request: &HttpRequest) -> HttpResponse {
        // HEAD is answered as GET; the framework sends the headers without the body.
        if !matches!(request.method(), Method::Get | Method::Head) {
            return HttpResponse::new(Status::METHOD_NOT_ALLOWED).with_header("allow", "GET, HEAD");
        }
        match self.inner.guard.check(request, &self.inner.api_scope).await {
            Ok(token) => {
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
            Err(GuardRejection::Fault(fault)) => answer(Err(fault)),
            // 401 or 403 with the exact `WWW-Authenticate` challenge (RFC 6750 §3).
            Err(refusal) => refusal.into_response(),
        }
    }
}

impl DemoApp {
    /// Signs the form's user in: the session ends and a signed-in one with a new id and
    /// CSRF token takes its place.
    ///
    /// Failed attempts are limited per user name and client address together, so that
    /// nobody can lock a user out from elsewhere, and per client address, so that one
    /// address cannot try a password on every account. (A real deployment adds what
    /// only it can: a second factor, or a challenge after a few failures.)
    ///
    /// # Errors
    /// A 303 back to `this_page`, which shows why and keeps the user name.
    async fn sign_in(
        &self,
        peer: IpAddr,
        session: &session::Session,
        form: &pages::PostedForm,
        this_page: &str,
    ) -> Result<(session::Session, Subject), HttpResponse> {
        let username = form.username.clone().unwrap_or_default();
        let refuse = |message: &'static str| {
            let flash = Flash::SignInFailed {
                message,
                username: username.clone(),
            };
            self.inner.sessions.flash(session, flash);
            pages::see_other(this_page)
        };
        let (Some(name), Some(password)) = (form.username.as_deref(), form.password.as_deref())
        else {
            return Err(refuse("Enter your user name and password."));
        };
        const LOCKED_OUT: &str = "Too many attempts. Wait a few minutes, then try again.";
        const UNAVAILABLE: &str = "Signing in is not possible right now. Try again later.";
        let from = address_key(peer);
        // An address has no spaces, so the name after the first one is unambiguous.
        let limits = [
            (
                &self.inner.sign_in_per_name,
                AttemptKey::custom("sign-in", &format!("{from} {name}")),
            ),
            (
                &self.inner.sign_in_per_address,
                AttemptKey::custom("sign-in-from", &from),
            ),
        ];
        let now = SystemTime::now();
        let failed = |error: grantflow::StorageError| {
            tracing::error!(%error, "sign-in limiter failed");
            refuse(UNAVAILABLE)
        };
        // The limiter's contract: skip the check when locked out, and answer an outcome
        // only if every limiter allows it (so concurrent guesses get at most the limit
        // of answers).
        for (limiter, key) in &limits {
            if limiter.check(key, now).await.map_err(failed)? != Throttle::Allow {
                return Err(refuse(LOCKED_OUT));
            }
        }
        let subject = self.inner.users.verify(name, password);
        let outcome = if subject.is_some() {
            Outcome::Success
        } else {
            Outcome::Failure
        };
        let mut allowed = true;
        for (limiter, key) in &limits {
            allowed &= limiter.record(key, outcome, now).await.map_err(failed)? == Throttle::Allow;
        }
        if !allowed {
            return Err(refuse(LOCKED_OUT));
        }
        let Some(subject) = subject else {
            tracing::info!("sign-in refused");
            return Err(refuse("Wrong user name or password."));
        };
        tracing::info!(subject = subject.as_str(), "signed in");
        let signed_in = self.inner.sessions.sign_in(session, subject.clone());
        Ok((signed_in, subject))
    }

    /// A page's POST, with the session it belongs to. `current_page` names the page of
    /// the flow to go back to, from the form.
    ///
    /// # Errors
    /// The page to answer with, nothing done: a malformed form; a form of this browser
    /// that went out of date when the user signed in or out elsewhere (another tab): a
    /// 303 to `current_page`, which says so; any other form without the session's CSRF
    /// token: 403 (SEC-03).
    fn posted_form(
        &self,
        request: &HttpRequest,
        current_page: impl FnOnce(&pages::PostedForm) -> String,
    ) -> Result<(pages::PostedForm, session::Session), HttpResponse> {
        let form = pages::PostedForm::parse(request)?;
        let session = self.inner.sessions.find(request);
        let csrf = session
            .as_ref()
            .map_or(Csrf::Invalid, |s| s.csrf(form.csrf_token.as_deref()));
        match (csrf, session) {
            (Csrf::Valid, Some(session)) => Ok((form, session)),
            (Csrf::Superseded, Some(session)) => {
                self.inner.sessions.flash(
                    &session,
                    Flash::Notice(
                        "You signed in or out in another tab or window, so that page was out \
                         of date and nothing was sent. Check this page and try again.",
                    ),
                );
                Err(pages::see_other(&current_page(&form)))
            }
            _ => Err(form_expired(&current_page(&form))),
        }
    }
}

/// The answer to a form without a live session or with a wrong CSRF token (SEC-03), with
/// a link to start the page again.
fn form_expired(current_page: &str) -> HttpResponse {
    pages::page(
        Status::FORBIDDEN,
        "This form has expired",
        &format!(
            "<p>The form was not sent from this site, or it is too old, so nothing was done.</p>\
             <p><a href=\"{}\">Open the page again</a></p>",
            pages::escape(current_page)
        ),
    )
}

/// The part of a client address one client controls, as a limiter key: the whole IPv4
/// address, or the /64 prefix of an IPv6 address (one subscriber usually holds a whole
/// /64, so keying on full addresses would give them 2^64 keys).
fn address_key(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
}

/// The answer to a request body refused with `status`: token-style endpoints answer in
/// JSON, `invalid_request` (RFC 6749 §5.2), so their clients can read it; pages with a page.
fn body_refused(route: Route, status: Status, title: &str, text: &'static str) -> HttpResponse {
    match route {
        Route::Token
        | Route::PushedAuthorization
        | Route::DeviceAuthorization
        | Route::Revoke
        | Route::Introspect => {
            let mut response = OAuthError::new(ErrorCode::INVALID_REQUEST)
                .with_description(text)
                .to_response();
            response.status = status;
            response
        }
        _ => pages::message(status, title, text),
    }
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

/// With `METRICS_ADDR` set (a loopback address such as `127.0.0.1:9000`), publishes the
/// server's metrics for Prometheus at `http://METRICS_ADDR/metrics`. Refuses any other
/// address: metrics describe the server's traffic and belong on a private interface.
///
/// # Errors
/// When `METRICS_ADDR` is not a loopback socket address, or the exporter cannot start.
pub(crate) fn init_metrics() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let Ok(addr) = std::env::var("METRICS_ADDR") else {
        return Ok(());
    };
    let addr: SocketAddr = addr
        .parse()
        .map_err(|e| format!("METRICS_ADDR={addr:?} is not an address like 127.0.0.1:9000: {e}"))?;
    if !addr.ip().is_loopback() {
        return Err(format!("METRICS_ADDR={addr} is not a loopback address").into());
    }
    metrics_exporter_prometheus::PrometheusBuilder::new()
        .with_http_listener(addr)
        .install()?;
    grantflow::observe::describe_metrics();
    Ok(())
}

/// What to print once listening: where, and how to try it.
pub(crate) fn banner(framework: &str, addr: SocketAddr, tokens: AccessTokens) -> String {
    let base = format!("http://{addr}");
    let format = match tokens {
        AccessTokens::Opaque => "opaque access tokens; ACCESS_TOKENS=jwt for JWTs",
        AccessTokens::Jwt => "JWT access tokens, keys at /jwks",
    };
    format!(
        "grantflow demo authorization server ({framework}, {format}) listening on {base}\n\
         \n\
         Metadata:  curl {base}/.well-known/oauth-authorization-server\n\
         A token:   curl -u demo-service:demo-service-secret -d grant_type=client_credentials \
         -d scope=read:data {base}/token\n\
         Use it:    curl -H \"Authorization: Bearer <access_token>\" {base}/api/data\n\
         \x20          (a 401 there points to {base}/.well-known/oauth-protected-resource/api/data)\n\
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
            .post_logout_redirect_uri("http://localhost:3000/signed-out")
            .grant_type(GrantType::AUTHORIZATION_CODE)
            .grant_type(GrantType::REFRESH_TOKEN)
            .allowed_scope("openid profile email read:data")
            .build()?,
    )?;
    registry.insert(
        Client::builder("demo-spa", ClientType::Public)
            .name("Demo single-page app")
            // Any loopback port (RFC 8252 §7.3).
            .redirect_uri("http://127.0.0.1/callback")
            // Exact, port included: unlike a redirect URI, no port is left open.
            .post_logout_redirect_uri("http://127.0.0.1:3000/signed-out")
            .grant_type(GrantType::AUTHORIZATION_CODE)
            .grant_type(GrantType::REFRESH_TOKEN)
            .allowed_scope("openid profile email read:data")
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
