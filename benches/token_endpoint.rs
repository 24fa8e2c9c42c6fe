//! Criterion benchmarks of the token endpoint: the whole request path, `HttpRequest` in,
//! `HttpResponse` out, on the memory stores.
//!
//! Run with `cargo bench --bench token_endpoint`. Target (issue 2): a client credentials
//! request with `client_secret_basic` under 2 µs median on a 2-core machine. Allocations
//! per request are counted by `cargo bench --bench allocations`.

#![allow(
    missing_docs,
    reason = "criterion's macros generate undocumented items"
)]

use std::hint::black_box;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, UNIX_EPOCH};

use criterion::{Criterion, criterion_group, criterion_main};
use grantflow::clock::ManualClock;
use grantflow::{
    Client, ClientSecret, ClientType, GrantType, HttpRequest, MemoryClientRegistry,
    MemoryTokenStore, Method, Server,
};

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

/// A server whose clock the benchmark advances by 1 ms per request while tokens live 1 s, so
/// the store holds a steady ~1,000 live tokens and purges as it goes: the request path at a
/// steady state, not a store that grows for as long as criterion loops.
fn server(clock: &ManualClock) -> Server {
    let clients = Arc::new(MemoryClientRegistry::new());
    clients
        .insert(
            Client::builder("s6BhdRkqt3", ClientType::Confidential)
                .secret(&ClientSecret::from_presented("gX1fBat3bV".to_owned()))
                .grant_type(GrantType::CLIENT_CREDENTIALS)
                .allowed_scope("read:data write:data")
                .build()
                .expect("valid client"),
        )
        .expect("new client");
    Server::builder(
        "https://as.example.com",
        clients,
        Arc::new(MemoryTokenStore::new()),
    )
    .clock(Arc::new(clock.clone()))
    .access_token_ttl(Duration::from_secs(1))
    .build()
    .expect("valid configuration")
}

fn client_credentials_request() -> HttpRequest {
    HttpRequest::new(Method::Post)
        .with_header("content-type", "application/x-www-form-urlencoded")
        .with_header("authorization", "Basic czZCaGRSa3F0MzpnWDFmQmF0M2JW")
        .with_body("grant_type=client_credentials&scope=read%3Adata")
}

fn token_endpoint(c: &mut Criterion) {
    let clock = ManualClock::new(UNIX_EPOCH + Duration::from_secs(1_700_000_000));
    let server = server(&clock);
    let mut group = c.benchmark_group("token_endpoint");
    group.bench_function("client_credentials_basic", |b| {
        b.iter(|| {
            // The adapter's work is part of the path: building the request each time.
            clock.advance(Duration::from_millis(1));
            let request = client_credentials_request();
            let response = block_on(server.token(black_box(&request))).expect("no storage fault");
            assert_eq!(response.status.as_u16(), 200);
            response
        });
    });
    group.bench_function("invalid_client_unknown_client", |b| {
        let request = HttpRequest::new(Method::Post)
            .with_header("content-type", "application/x-www-form-urlencoded")
            .with_header("authorization", "Basic dW5rbm93bjp4")
            .with_body("grant_type=client_credentials");
        b.iter(|| block_on(server.token(black_box(&request))).expect("no storage fault"));
    });
    group.finish();
}

/// A server with open registration over a registry bounded at `REGISTRATIONS_PER_SERVER`.
const REGISTRATIONS_PER_SERVER: usize = 10_000;

fn registration_server() -> Server {
    use grantflow::limiter::MemoryAttemptLimiter;
    use grantflow::registration::OpenRegistration;
    let clients =
        Arc::new(MemoryClientRegistry::new().with_registration_limit(REGISTRATIONS_PER_SERVER));
    let limiter = MemoryAttemptLimiter::new(u32::MAX, Duration::from_secs(3600));
    Server::builder(
        "https://as.example.com",
        clients.clone(),
        Arc::new(MemoryTokenStore::new()),
    )
    .client_registration(clients, Arc::new(OpenRegistration::new(Arc::new(limiter))))
    .build()
    .expect("valid configuration")
}

/// One dynamic client registration (RFC 7591), `HttpRequest` in, 201 out: a public MCP-style
/// client with a loopback redirect URI. The registry is replaced by a fresh one, outside the
/// measured time, every 10,000 registrations, so it never fills up.
fn registration(c: &mut Criterion) {
    let body = br#"{"client_name":"My MCP client","redirect_uris":["http://127.0.0.1:3000/callback"],"token_endpoint_auth_method":"none","grant_types":["authorization_code","refresh_token"],"response_types":["code"],"scope":"read:data"}"#;
    let mut group = c.benchmark_group("registration");
    group.bench_function("register_public_client", |b| {
        b.iter_custom(|iterations| {
            let mut total = Duration::ZERO;
            let mut server = registration_server();
            for i in 0..iterations {
                if i > 0 && i % REGISTRATIONS_PER_SERVER as u64 == 0 {
                    server = registration_server();
                }
                let start = std::time::Instant::now();
                let request = HttpRequest::new(Method::Post)
                    .with_header("content-type", "application/json")
                    .with_body(&body[..]);
                let response =
                    block_on(server.register(black_box(&request))).expect("no storage fault");
                total += start.elapsed();
                assert_eq!(response.status.as_u16(), 201);
            }
            total
        });
    });
    group.finish();
}

criterion_group!(benches, token_endpoint, registration);
criterion_main!(benches);
