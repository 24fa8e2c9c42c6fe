//! The client credentials request path, `HttpRequest` in, `HttpResponse` out, on the memory
//! stores, run a given number of times: a target for callgrind, whose instruction counts do
//! not vary from run to run as times do on a shared VM.
//!
//! ```sh
//! cargo bench --bench instructions --no-run     # prints the binary's path
//! valgrind --tool=callgrind <binary> 4000
//! valgrind --tool=callgrind <binary> 6000
//! ```
//!
//! `(Ir(6000) - Ir(4000)) / 2000` is the cost of one request at steady state: the clock
//! advances 1 ms per request and tokens live 1 s, so after the first thousand requests the
//! token store holds about a thousand live tokens and purges as it goes. With the argument
//! `sink`, the server has an audit sink that does nothing, and its delivery task runs after
//! each request. See `benches/README.md` for the figures.

#![allow(missing_docs, reason = "a benchmark binary")]

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, UNIX_EPOCH};

use grantflow::clock::ManualClock;
use grantflow::observe::{AuditEvent, AuditSink};
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
