//! Request paths on the memory stores, `HttpRequest` in, run a given number of times: a
//! target for callgrind, whose instruction counts do not vary from run to run as times do
//! on a shared VM.
//!
//! ```sh
//! cargo bench --bench instructions --no-run     # prints the binary's path
//! valgrind --tool=callgrind <binary> 4000
//! valgrind --tool=callgrind <binary> 6000
//! valgrind --tool=callgrind <binary> guard 4000
//! valgrind --tool=callgrind <binary> guard 6000
//! ```
//!
//! `(Ir(6000) - Ir(4000)) / 2000` is the cost of one request at steady state. Without a
//! mode, the path is a client credentials request: the clock advances 1 ms per request and
//! tokens live 1 s, so after the first thousand requests the token store holds about a
//! thousand live tokens and purges as it goes. `guard` is the bearer guard of a resource
//! server with its own resource identifier, checking one of a thousand live access tokens
//! restricted to that resource. See `benches/README.md` for the figures.
//! With the argument `sink`, the client credentials server has an audit sink that does
//! nothing, and its delivery task runs after each request. `registration` registers a
//! public client per request (open registration, a registry bounded far above the count).

#![allow(missing_docs, reason = "a benchmark binary")]

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, UNIX_EPOCH};

use grantflow::clock::ManualClock;
use grantflow::observe::{AuditEvent, AuditSink};
use grantflow::resource::{ResourceUri, Resources};
use grantflow::{
    Client, ClientSecret, ClientType, GrantType, HttpRequest, MemoryClientRegistry,
    MemoryTokenStore, Method, Server, StorageError,
};

/// An audit sink that takes every event and does nothing with it.
#[derive(Debug)]
struct Noop;

#[async_trait::async_trait]
impl AuditSink for Noop {
    async fn record(&self, _: &AuditEvent) -> Result<(), StorageError> {
        Ok(())
    }
}

/// The memory stores never wait, so one poll finishes every request.
fn block_on<F: std::future::Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(value) = future.as_mut().poll(&mut cx) {
            return value;
        }
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // `cargo bench` passes `--bench`; the request count is the first number, if any.
    let requests = std::env::args()
        .skip(1)
        .find_map(|arg| arg.parse::<usize>().ok())
        .unwrap_or(1000);
    if std::env::args().any(|arg| arg == "guard") {
        return guard(requests);
    }
    if std::env::args().any(|arg| arg == "registration") {
        return registration(requests);
    }
    let sink = std::env::args().any(|arg| arg == "sink");
    let clock = ManualClock::new(UNIX_EPOCH + Duration::from_secs(1_700_000_000));
    let clients = Arc::new(MemoryClientRegistry::new());
    clients.insert(
        Client::builder("s6BhdRkqt3", ClientType::Confidential)
            .secret(&ClientSecret::from_presented("gX1fBat3bV".to_owned()))
            .grant_type(GrantType::CLIENT_CREDENTIALS)
            .allowed_scope("read:data write:data")
            .build()?,
    )?;
    let builder = Server::builder(
        "https://as.example.com",
        clients,
        Arc::new(MemoryTokenStore::new()),
    )
    .clock(Arc::new(clock.clone()))
    .access_token_ttl(Duration::from_secs(1));
    let server = if sink {
        builder.audit_sink(Arc::new(Noop)).build()?
    } else {
        builder.build()?
    };
    let mut delivery: Option<Pin<Box<dyn Future<Output = ()>>>> = server
        .audit_delivery()
        .map(|delivery| Box::pin(delivery.run()) as Pin<Box<dyn Future<Output = ()>>>);
    for _ in 0..requests {
        clock.advance(Duration::from_millis(1));
        let request = HttpRequest::new(Method::Post)
            .with_header("content-type", "application/x-www-form-urlencoded")
            .with_header("authorization", "Basic czZCaGRSa3F0MzpnWDFmQmF0M2JW")
            .with_body("grant_type=client_credentials&scope=read%3Adata");
        let response = block_on(server.token(std::hint::black_box(&request)))?;
        if response.status.as_u16() != 200 {
            return Err(format!("status {}", response.status.as_u16()).into());
        }
        if let Some(delivery) = &mut delivery {
            let _ = delivery
                .as_mut()
                .poll(&mut Context::from_waker(Waker::noop()));
        }
    }
    println!("{requests} client credentials requests");
    Ok(())
}

/// The resource identifier of the guarded API.
const RESOURCE: &str = "https://api.example.com/data";

/// `requests` bearer guard checks of a token restricted to [`RESOURCE`], by the guard of
/// that resource, among a thousand such live tokens.
fn guard(requests: usize) -> Result<(), Box<dyn std::error::Error>> {
    use grantflow::secret::AccessToken;
    use grantflow::store::{GrantId, TokenKind, TokenRecord, TokenStore as _};
    use grantflow::{ClientId, Scope};

    let clock = ManualClock::new(UNIX_EPOCH + Duration::from_secs(1_700_000_000));
    let now = grantflow::clock::Clock::now(&clock);
    let tokens = Arc::new(MemoryTokenStore::new());
    let client = ClientId::new("s6BhdRkqt3")?;
    let mut probe = None;
    let mut batch = Vec::new();
    for _ in 0..1000 {
        let token = AccessToken::generate();
        let record = TokenRecord::new(
            TokenKind::Access,
            GrantId::generate(),
            client.clone(),
            Scope::parse("read:data write:data")?,
            now,
            now + Duration::from_secs(3600),
        )
        .with_audience(Resources::one(ResourceUri::parse(RESOURCE)?));
        batch.push((token.hash(), record));
        probe.get_or_insert(token);
    }
    block_on(tokens.insert(batch))?;
    let server = Server::builder(
        "https://as.example.com",
        Arc::new(MemoryClientRegistry::new()),
        tokens,
    )
    .clock(Arc::new(clock.clone()))
    .build()?;
    let guard = server.bearer_guard().resource(RESOURCE)?;
    let probe = probe.ok_or("no token")?;
    let required = Scope::parse("read:data")?;
    for _ in 0..requests {
        let request = HttpRequest::new(Method::Get)
            .with_header("authorization", format!("Bearer {}", probe.expose_secret()));
        if block_on(guard.check(std::hint::black_box(&request), &required)).is_err() {
            return Err("the token was refused".into());
        }
    }
    println!("{requests} bearer guard checks");
    Ok(())
}

/// `requests` dynamic client registrations of a public client.
fn registration(requests: usize) -> Result<(), Box<dyn std::error::Error>> {
    use grantflow::limiter::MemoryAttemptLimiter;
    use grantflow::registration::OpenRegistration;
    let clients = Arc::new(MemoryClientRegistry::new().with_registration_limit(usize::MAX));
    let limiter = MemoryAttemptLimiter::new(u32::MAX, Duration::from_secs(3600));
    let server = Server::builder(
        "https://as.example.com",
        clients.clone(),
        Arc::new(MemoryTokenStore::new()),
    )
    .client_registration(clients, Arc::new(OpenRegistration::new(Arc::new(limiter))))
    .build()?;
    let body = br#"{"client_name":"My MCP client","redirect_uris":["http://127.0.0.1:3000/callback"],"token_endpoint_auth_method":"none","grant_types":["authorization_code","refresh_token"],"scope":"read:data"}"#;
    for _ in 0..requests {
        let request = HttpRequest::new(Method::Post)
            .with_header("content-type", "application/json")
            .with_body(&body[..]);
        let response = block_on(server.register(std::hint::black_box(&request)))?;
        if response.status.as_u16() != 201 {
            return Err(format!("registration answered {}", response.status.as_u16()).into());
        }
    }
    Ok(())
}
