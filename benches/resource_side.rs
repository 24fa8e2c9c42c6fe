//! Criterion benchmarks of the resource side with one million live access tokens in the
//! memory store: a whole introspection request and the bearer guard.
//!
//! Run with `cargo bench --bench resource_side`. Targets (issue 5), on a 2-core machine:
//! under 1.5 µs median for an introspection request (`client_secret_basic` caller
//! authentication included), under 0.5 µs median for the bearer guard.

#![allow(
    missing_docs,
    reason = "criterion's macros generate undocumented items"
)]

use std::hint::black_box;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, SystemTime};

use criterion::{Criterion, criterion_group, criterion_main};
use grantflow::guard::{GuardRejection, TokenInfo};
use grantflow::secret::AccessToken;
use grantflow::store::{GrantId, TokenKind, TokenRecord, TokenStore as _};
use grantflow::{
    Client, ClientId, ClientSecret, ClientType, GrantType, HttpRequest, MemoryClientRegistry,
    MemoryTokenStore, Method, Scope, Server,
};

/// How many live access tokens the store holds.
const LIVE_TOKENS: usize = 1_000_000;

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

/// How many distinct tokens the "spread" benchmarks cycle through, so that lookups miss
/// the CPU caches as they would under real traffic.
const SPREAD: usize = 65_536;

/// A server whose store holds [`LIVE_TOKENS`] live access tokens; returns [`SPREAD`] of
/// them, evenly spread over the store.
fn server() -> (Server, Vec<String>) {
    let clients = Arc::new(MemoryClientRegistry::new());
    clients
        .insert(
            Client::builder("resource-server", ClientType::Confidential)
                .secret(&ClientSecret::from_presented("rs-secret".to_owned()))
                .grant_type(GrantType::CLIENT_CREDENTIALS)
                .introspection(true)
                .build()
                .expect("valid client"),
        )
        .expect("new client");
    let tokens = Arc::new(MemoryTokenStore::new());
    let client_id = ClientId::new("backend").expect("valid id");
    let now = SystemTime::now();
    let expires = now + Duration::from_secs(3600);
    let mut probes = Vec::with_capacity(SPREAD);
    let mut batch = Vec::with_capacity(1000);
    for n in 0..LIVE_TOKENS {
        let token = AccessToken::generate();
        if n % (LIVE_TOKENS / SPREAD) == 0 && probes.len() < SPREAD {
            probes.push(token.expose_secret().to_owned());
        }
        // One scope allocation per token, as the token endpoint makes.
        let scope = Scope::parse("read write").expect("valid scope");
        let record = TokenRecord::new(
            TokenKind::Access,
            GrantId::generate(),
            client_id.clone(),
            scope,
            now,
            expires,
        );
        batch.push((token.hash(), record));
        if batch.len() == batch.capacity() {
            block_on(tokens.insert(std::mem::take(&mut batch))).expect("stored");
            batch.reserve(1000);
        }
    }
    assert_eq!(tokens.len(), LIVE_TOKENS);
    let server = Server::builder("https://as.example.com", clients, tokens)
        .build()
        .expect("valid configuration");
    (server, probes)
}

fn resource_side(c: &mut Criterion) {
    let (server, tokens) = server();
    let token = &tokens[tokens.len() / 2];
    let mut group = c.benchmark_group("resource_side_1m_tokens");

    // "resource-server:rs-secret"
    let introspection = HttpRequest::new(Method::Post)
        .with_header("content-type", "application/x-www-form-urlencoded")
        .with_header(
            "authorization",
            "Basic cmVzb3VyY2Utc2VydmVyOnJzLXNlY3JldA==",
        )
        .with_body(format!("token={token}&token_type_hint=access_token"));
    let response = block_on(server.introspect(&introspection)).expect("no storage fault");
    assert!(response.body.starts_with(br#"{"active":true"#));
    group.bench_function("introspect_active_token", |b| {
        b.iter(|| block_on(server.introspect(black_box(&introspection))).expect("no fault"));
    });

    let guard = server.bearer_guard();
    let required = Scope::parse("read").expect("valid scope");
    let bearer =
        HttpRequest::new(Method::Get).with_header("authorization", format!("Bearer {token}"));
    assert!(block_on(guard.check(&bearer, &required)).is_ok());
    group.bench_function("bearer_guard_valid_token", |b| {
        b.iter(|| no_fault(block_on(guard.check(black_box(&bearer), &required))));
    });
    let spread: Vec<HttpRequest> = tokens
        .iter()
        .map(|t| HttpRequest::new(Method::Get).with_header("authorization", format!("Bearer {t}")))
        .collect();
    let mut next = 0;
    group.bench_function("bearer_guard_spread_tokens", |b| {
        b.iter(|| {
            next = (next + 1) % spread.len();
            no_fault(block_on(guard.check(black_box(&spread[next]), &required)))
        });
    });
    group.finish();
}

/// The guard's answer, which must not be a storage fault.
fn no_fault(checked: Result<TokenInfo, GuardRejection>) -> Result<TokenInfo, GuardRejection> {
    if let Err(GuardRejection::Fault(error)) = &checked {
        panic!("no fault: {error}");
    }
    checked
}

criterion_group!(benches, resource_side);
criterion_main!(benches);
