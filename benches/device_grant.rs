//! Criterion benchmarks of the device authorization grant: the whole request path,
//! `HttpRequest` in, `HttpResponse` out, on the memory stores.
//!
//! Run with `cargo bench --bench device_grant`. Targets (issue 4): the device
//! authorization request and one poll that answers `authorization_pending`, each under
//! 2 µs median on a 2-core machine.

#![allow(
    missing_docs,
    reason = "criterion's macros generate undocumented items"
)]

use std::hint::black_box;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant, UNIX_EPOCH};

use criterion::{Criterion, criterion_group, criterion_main};
use grantflow::clock::ManualClock;
use grantflow::{
    Client, ClientType, GrantType, HttpRequest, MemoryClientRegistry, MemoryDeviceStore,
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

fn server(clock: &ManualClock, ttl: Duration) -> Server {
    let clients = Arc::new(MemoryClientRegistry::new());
    clients
        .insert(
            Client::builder("living-room-tv", ClientType::Public)
                .grant_type(GrantType::DEVICE_CODE)
                .allowed_scope("profile videos")
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
    // No retention: expired requests leave the store at once, so it stays at a steady
    // size while criterion loops.
    .device_store(Arc::new(
        MemoryDeviceStore::new().with_retention(Duration::ZERO),
    ))
    .device_code_ttl(ttl)
    .build()
    .expect("valid configuration")
}

fn form(body: String) -> HttpRequest {
    HttpRequest::new(Method::Post)
        .with_header("content-type", "application/x-www-form-urlencoded")
        .with_body(body)
}

fn device_code(server: &Server) -> String {
    let response = block_on(
        server.device_authorization(&form("client_id=living-room-tv&scope=profile".to_owned())),
    )
    .expect("no storage fault");
    let body: serde_json::Value = serde_json::from_slice(&response.body).expect("JSON");
    body["device_code"]
        .as_str()
        .expect("device_code")
        .to_owned()
}

fn device_grant(c: &mut Criterion) {
    let mut group = c.benchmark_group("device_grant");

    let clock = ManualClock::new(UNIX_EPOCH + Duration::from_secs(1_700_000_000));
    let authorization_server = server(&clock, Duration::from_secs(60));
    group.bench_function("device_authorization", |b| {
        b.iter(|| {
            // 10 ms per request keeps about 6,000 live requests in the store.
            clock.advance(Duration::from_millis(10));
            // The adapter's work is part of the path: building the request each time.
            let request = form("client_id=living-room-tv&scope=profile".to_owned());
            let response = block_on(authorization_server.device_authorization(black_box(&request)))
                .expect("no storage fault");
            assert_eq!(response.status.as_u16(), 200);
            response
        });
    });

    let clock = ManualClock::new(UNIX_EPOCH + Duration::from_secs(1_700_000_000));
    let poll_server = server(&clock, Duration::from_secs(1800));
    group.bench_function("poll_pending", |b| {
        b.iter_custom(|iterations| {
            let mut elapsed = Duration::ZERO;
            let mut done = 0;
            while done < iterations {
                // A fresh device code every 300 polls (untimed): 300 × 5 s stays
                // within its 1,800 s lifetime.
                let code = device_code(&poll_server);
                let body = format!(
                    "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code\
                     &device_code={code}&client_id=living-room-tv"
                );
                let batch = (iterations - done).min(300);
                let start = Instant::now();
                for _ in 0..batch {
                    // Each poll keeps the interval, so each answers authorization_pending.
                    clock.advance(Duration::from_secs(5));
                    let request = form(body.clone());
                    let response =
                        block_on(poll_server.token(black_box(&request))).expect("no storage fault");
                    debug_assert_eq!(response.status.as_u16(), 400);
                    black_box(response);
                }
                elapsed += start.elapsed();
                done += batch;
            }
            elapsed
        });
    });
    group.finish();
}

criterion_group!(benches, device_grant);
criterion_main!(benches);
