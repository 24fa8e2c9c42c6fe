//! The core of the test harness: the values every test server shares, a `block_on` for the
//! memory stores, [`Harness`] (the one builder of test servers) and the request and
//! response helpers every area uses.
//!
//! Each area of `tests/support/` adds its fixture clients and its flows to
//! `Harness<Area>`; the fuzz crate in `fuzz/` includes this file and `hostile.rs` by path.

use std::borrow::Cow;
use std::future::Future;
use std::marker::PhantomData;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use grantflow::clock::{Clock as _, ManualClock};
use grantflow::secret::TokenHash;
use grantflow::store::{TokenRecord, TokenStore};
use grantflow::{
    ClientBuilder, ClientRegistry, HttpRequest, HttpResponse, MemoryClientRegistry,
    MemoryCodeStore, MemoryDeviceStore, MemoryTokenStore, Method, Server, ServerBuilder,
};
use serde_json::Value;

/// The issuer (and so the default Basic and Bearer realm) of every test server.
pub const ISSUER: &str = "https://as.example.com";

/// The start of every test, in seconds since the epoch: 2023-11-14T22:13:20Z.
pub const START: u64 = 1_700_000_000;

/// A PKCE verifier: RFC 7636 Appendix B.
pub const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
/// The S256 challenge of [`VERIFIER`] (RFC 7636 Appendix B).
pub const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

/// The form content type.
pub const FORM: &str = "application/x-www-form-urlencoded";

/// The start of every test, [`START`], as a time.
pub fn t0() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(START)
}

/// `time` in whole seconds since the epoch, as JWT claims count it.
pub fn secs(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_secs()
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

/// A server on memory stores and a [`ManualClock`] at [`t0`], with the stores held here so
/// a test can check what was (or was not) stored. `A` names the area whose fixture clients
/// and flows the harness has (`Harness<Device>` has the device clients and `poll`, ...);
/// every area's harness comes from [`Harness::builder`].
#[derive(Debug)]
pub struct Harness<A> {
    /// The server under test.
    pub server: Server,
    /// Its clock; tests move it.
    pub clock: ManualClock,
    /// The fixture clients (behind whatever registry the area gives the server).
    pub clients: Arc<MemoryClientRegistry>,
    /// Its token store.
    pub tokens: Arc<MemoryTokenStore>,
    /// Its code store.
    pub codes: Arc<MemoryCodeStore>,
    /// Its device store, when the device grant is on.
    devices: Option<Arc<MemoryDeviceStore>>,
    area: PhantomData<A>,
}

/// Puts a [`Harness`] together: see [`Harness::builder`].
#[derive(Debug)]
#[must_use = "a harness builder does nothing until `build` is called"]
pub struct HarnessBuilder<A> {
    clients: Arc<MemoryClientRegistry>,
    registry: Option<Arc<dyn ClientRegistry>>,
    tokens: Arc<MemoryTokenStore>,
    token_store: Option<Arc<dyn TokenStore>>,
    devices: Option<Arc<MemoryDeviceStore>>,
    area: PhantomData<A>,
}

impl<A> Harness<A> {
    /// A harness over `clients`: a server at [`ISSUER`] on a fresh token store and code
    /// store, with a [`ManualClock`] at [`t0`]; the device grant is off unless
    /// [`HarnessBuilder::device_store`] gives it a store.
    pub fn builder(clients: Arc<MemoryClientRegistry>) -> HarnessBuilder<A> {
        HarnessBuilder {
            clients,
            registry: None,
            tokens: Arc::new(MemoryTokenStore::new()),
            token_store: None,
            devices: None,
            area: PhantomData,
        }
    }

    /// Calls the token endpoint; memory stores never fail, so an `Err` fails the test.
    #[track_caller]
    pub fn token<R: ToRequest + ?Sized>(&self, request: &R) -> HttpResponse {
        block_on(self.server.token(&request.to_request())).expect("memory stores never fail")
    }

    /// The current time of the server's clock.
    pub fn now(&self) -> SystemTime {
        self.clock.now()
    }

    /// The device store; fails the test if the device grant is off.
    #[track_caller]
    pub fn devices(&self) -> &Arc<MemoryDeviceStore> {
        self.devices
            .as_ref()
            .expect("this harness has the device grant on")
    }

    /// How many records the token store holds.
    pub fn stored(&self) -> usize {
        self.tokens.len()
    }

    /// The stored record of `token`, looked up by its digest.
    pub fn record(&self, token: &str) -> Option<TokenRecord> {
        block_on(self.tokens.find(&TokenHash::of(token))).expect("memory store")
    }

    /// Whether the token store still holds `token`.
    pub fn is_live(&self, token: &str) -> bool {
        self.record(token).is_some()
    }
}

impl<A> HarnessBuilder<A> {
    /// Gives the server `registry` in front of the fixture clients (by default the server
    /// reads the fixture registry itself).
    pub fn client_registry(mut self, registry: Arc<dyn ClientRegistry>) -> Self {
        self.registry = Some(registry);
        self
    }

    /// Holds `tokens` as the harness's token store and gives the server `store`, a wrapper
    /// in front of it (one that parks or fails some calls); by default the server is given
    /// a fresh token store itself.
    pub fn token_store(
        mut self,
        tokens: Arc<MemoryTokenStore>,
        store: Arc<dyn TokenStore>,
    ) -> Self {
        self.tokens = tokens;
        self.token_store = Some(store);
        self
    }

    /// Turns the device grant on, over `devices`.
    pub fn device_store(mut self, devices: Arc<MemoryDeviceStore>) -> Self {
        self.devices = Some(devices);
        self
    }

    /// The harness, its server builder adjusted by `configure` last. Fails the test on a
    /// configuration error.
    #[track_caller]
    pub fn build(self, configure: impl FnOnce(ServerBuilder) -> ServerBuilder) -> Harness<A> {
        let clock = ManualClock::new(t0());
        let tokens = self.tokens;
        let codes = Arc::new(MemoryCodeStore::new());
        let registry: Arc<dyn ClientRegistry> = match self.registry {
            Some(registry) => registry,
            None => self.clients.clone(),
        };
        let token_store: Arc<dyn TokenStore> = match self.token_store {
            Some(store) => store,
            None => tokens.clone(),
        };
        let mut builder = Server::builder(ISSUER, registry, token_store)
            .clock(Arc::new(clock.clone()))
            .code_store(codes.clone());
        if let Some(devices) = &self.devices {
            builder = builder.device_store(devices.clone());
        }
        let server = configure(builder)
            .build()
            .expect("a valid test server configuration");
        Harness {
            server,
            clock,
            clients: self.clients,
            tokens,
            codes,
            devices: self.devices,
            area: PhantomData,
        }
    }
}

/// A registry of the fixture `clients`; fails the test if one is invalid or registered
/// twice.
#[track_caller]
pub fn register(clients: impl IntoIterator<Item = ClientBuilder>) -> MemoryClientRegistry {
    let registry = MemoryClientRegistry::new();
    for client in clients {
        registry
            .insert(client.build().expect("a valid fixture client"))
            .expect("unique fixture client ids");
    }
    registry
}

/// What [`Harness::token`] sends: a request as it is, or a form body posted without
/// credentials.
pub trait ToRequest {
    /// The request to send.
    fn to_request(&self) -> Cow<'_, HttpRequest>;
}

impl ToRequest for HttpRequest {
    fn to_request(&self) -> Cow<'_, HttpRequest> {
        Cow::Borrowed(self)
    }
}

impl ToRequest for str {
    fn to_request(&self) -> Cow<'_, HttpRequest> {
        Cow::Owned(post_form(self))
    }
}

impl ToRequest for String {
    fn to_request(&self) -> Cow<'_, HttpRequest> {
        self.as_str().to_request()
    }
}

// ---------------------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------------------

/// Form-url-encodes `s` (the WHATWG serializer: `+` for a space, `%XX` for the rest).
pub fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// `Basic base64(formenc(id) ":" formenc(secret))`, as RFC 6749 §2.3.1 says.
pub fn basic_header(id: &str, secret: &str) -> String {
    format!(
        "Basic {}",
        STANDARD.encode(format!("{}:{}", enc(id), enc(secret)))
    )
}

/// `POST` with the form content type and `body`.
pub fn post_form(body: impl AsRef<[u8]>) -> HttpRequest {
    HttpRequest::new(Method::Post)
        .with_header("Content-Type", FORM)
        .with_body(body.as_ref().to_vec())
}

/// A `GET` with `Authorization: Bearer <token>`.
pub fn bearer(token: &str) -> HttpRequest {
    HttpRequest::new(Method::Get).with_header("authorization", format!("Bearer {token}"))
}

// ---------------------------------------------------------------------------------------
// Responses
// ---------------------------------------------------------------------------------------

/// The JSON body of `response`; fails the test if it has none.
#[track_caller]
pub fn json(response: &HttpResponse) -> Value {
    serde_json::from_slice(&response.body).expect("a JSON body")
}

/// The response's `WWW-Authenticate` challenge; fails the test if it has none.
#[track_caller]
pub fn challenge_of(response: &HttpResponse) -> &str {
    response.header("www-authenticate").expect("a challenge")
}

/// Whether `s` uses only the `error` / `error_description` characters of RFC 6749 §5.2
/// (`%x20-21 / %x23-5B / %x5D-7E`, ER-02).
pub fn is_er02(s: &str) -> bool {
    s.chars()
        .all(|c| matches!(c, '\x20'..='\x21' | '\x23'..='\x5b' | '\x5d'..='\x7e'))
}

/// A token-style error: exactly `status` and `error`, and the token-style headers.
#[track_caller]
pub fn assert_token_error(response: &HttpResponse, status: u16, error: &str) {
    assert_eq!(
        response.status.as_u16(),
        status,
        "{:?}",
        String::from_utf8_lossy(&response.body)
    );
    assert_eq!(json(response)["error"], error, "{:?}", json(response));
    assert_token_headers(response);
}

/// TE-12 / ER-03: the headers of every token-style response.
#[track_caller]
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
