//! Criterion benchmarks of the authorization code flow on the memory stores, whole request
//! path (`HttpRequest` in, `HttpResponse` out): the authorize step (validation up to the
//! pending value), approve (issue a code), the code exchange with PKCE S256 for a public
//! client, a refresh with rotation, and a token exchange (RFC 8693) of the resulting opaque
//! access token for an opaque access token by a confidential client, by delegation (target
//! of issue 20: at most 1.5× the refresh with rotation).
//!
//! Run with `cargo bench --bench authorization_code`. Target (issue 3): each under 2.5 µs
//! median on a 2-core machine.
//!
//! The stateful steps use `iter_custom` in batches of 1,000: the inputs of a batch (pending
//! requests, codes, refresh tokens) are prepared untimed, then only the step itself is
//! timed. Between batches the clock moves two seconds and the expired one-second records
//! of the previous batch are purged, untimed, so the stores stay at a steady size of a few
//! thousand records. (In a long-running server each insert also purges about one expired
//! record; that removal is not in these figures.)

#![allow(
    missing_docs,
    reason = "criterion's macros generate undocumented items"
)]

use std::hint::black_box;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant, SystemTime};

use async_trait::async_trait;
use criterion::{Criterion, criterion_group, criterion_main};
use grantflow::authorize::PendingAuthorization;
use grantflow::clock::{Clock as _, ManualClock};
use grantflow::grant::{Exchange, ExchangeDecision, ExchangePolicy, Issuance, TokenExchange};
use grantflow::store::TokenStore as _;
use grantflow::{
    Client, ClientSecret, ClientType, GrantType, HttpRequest, MemoryClientRegistry,
    MemoryCodeStore, MemoryTokenStore, Method, Scope, Server, StorageError, Subject,
};

/// Delegation for every exchange.
#[derive(Debug)]
struct Delegate;

#[async_trait]
impl ExchangePolicy for Delegate {
    async fn decide(&self, _: &Exchange<'_>) -> Result<ExchangeDecision, StorageError> {
        Ok(Issuance::delegation().into())
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

const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const AUTHORIZE_QUERY: &str = "response_type=code&client_id=native-app&redirect_uri=http%3A%2F%2F127.0.0.1%3A51004%2Fcallback&scope=read&state=af0ifjsldkj&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256";

/// A server on a manual clock with one-second lifetimes, and handles on its stores.
struct Bench {
    server: Server,
    clock: ManualClock,
    tokens: Arc<MemoryTokenStore>,
    codes: Arc<MemoryCodeStore>,
}

/// How many operations are timed between two purges.
const BATCH: u64 = 1000;

impl Bench {
    /// Expires and purges the records of the previous batch (untimed), so the stores keep
    /// a steady size and capacity instead of growing and resizing in the timed loop.
    fn next_batch(&self) {
        self.clock.advance(Duration::from_secs(2));
        let now = self.clock.now();
        block_on(self.tokens.purge_expired(now)).expect("memory store");
        self.codes.purge_expired(now);
    }

    /// Times `iters` runs of `step`, in batches of [`BATCH`] whose inputs are made by
    /// `setup` (untimed) after the previous batch was purged.
    fn timed_in_batches<I, O>(
        &self,
        iters: u64,
        setup: impl Fn(&Server) -> I,
        step: impl Fn(&Server, I) -> O,
    ) -> Duration {
        let mut total = Duration::ZERO;
        let mut left = iters;
        while left > 0 {
            let n = left.min(BATCH);
            left -= n;
            self.next_batch();
            let inputs: Vec<I> = (0..n).map(|_| setup(&self.server)).collect();
            let start = Instant::now();
            for input in inputs {
                black_box(step(&self.server, black_box(input)));
            }
            total += start.elapsed();
        }
        total
    }
}

fn server() -> Bench {
    let clock = ManualClock::new(SystemTime::now());
    let tokens = Arc::new(MemoryTokenStore::new());
    let codes = Arc::new(MemoryCodeStore::new());
    let clients = Arc::new(MemoryClientRegistry::new());
    clients
        .insert(
            Client::builder("native-app", ClientType::Public)
                .redirect_uri("http://127.0.0.1/callback")
                .grant_type(GrantType::AUTHORIZATION_CODE)
                .grant_type(GrantType::REFRESH_TOKEN)
                .allowed_scope("read write")
                .build()
                .expect("valid client"),
        )
        .expect("new client");
    clients
        .insert(
            Client::builder("gateway", ClientType::Confidential)
                .secret(&ClientSecret::from_presented("gateway-secret".to_owned()))
                .grant_type(GrantType::new(TokenExchange::GRANT_TYPE))
                .allowed_scope("read write")
                .build()
                .expect("valid client"),
        )
        .expect("new client");
    let exchange = TokenExchange::new(tokens.clone()).policy(Arc::new(Delegate));
    let server = Server::builder("https://as.example.com", clients, tokens.clone())
        .grant_handler(Arc::new(exchange))
        .code_store(codes.clone())
        .clock(Arc::new(clock.clone()))
        .access_token_ttl(Duration::from_secs(1))
        .refresh_token_ttl(Duration::from_secs(1))
        .code_ttl(Duration::from_secs(1))
        .build()
        .expect("valid configuration");
    Bench {
        server,
        clock,
        tokens,
        codes,
    }
}

fn authorize_request() -> HttpRequest {
    HttpRequest::new(Method::Get).with_query(AUTHORIZE_QUERY)
}

fn pending(server: &Server) -> PendingAuthorization {
    block_on(server.authorize(&authorize_request())).expect("valid request")
}

/// Approves `pending`, which holds the server it came from (the timing harness passes the
/// server to every step).
fn approve(_: &Server, pending: PendingAuthorization) -> grantflow::HttpResponse {
    let scope = Scope::parse("read").expect("valid scope");
    block_on(pending.approve(Subject::new("alice"), scope)).expect("no storage fault")
}

fn code(server: &Server) -> String {
    let response = approve(server, pending(server));
    let location = response.header("location").expect("a redirect");
    let start = location.find("code=").expect("a code") + 5;
    let end = location[start..]
        .find('&')
        .map_or(location.len(), |i| start + i);
    location[start..end].to_owned()
}

fn exchange_request(code: &str) -> HttpRequest {
    HttpRequest::new(Method::Post)
        .with_header("content-type", "application/x-www-form-urlencoded")
        .with_body(format!(
            "grant_type=authorization_code&code={code}&client_id=native-app&code_verifier={VERIFIER}"
        ))
}

fn refresh_token(server: &Server) -> String {
    let response = block_on(server.token(&exchange_request(&code(server)))).expect("no fault");
    let body: serde_json::Value = serde_json::from_slice(&response.body).expect("json");
    body["refresh_token"]
        .as_str()
        .expect("a refresh token")
        .to_owned()
}

fn access_token(server: &Server) -> String {
    let response = block_on(server.token(&exchange_request(&code(server)))).expect("no fault");
    let body: serde_json::Value = serde_json::from_slice(&response.body).expect("json");
    body["access_token"]
        .as_str()
        .expect("an access token")
        .to_owned()
}

/// `gateway:gateway-secret` in HTTP Basic.
const GATEWAY_BASIC: &str = "Basic Z2F0ZXdheTpnYXRld2F5LXNlY3JldA==";

fn token_exchange_request(subject: &str) -> HttpRequest {
    HttpRequest::new(Method::Post)
        .with_header("content-type", "application/x-www-form-urlencoded")
        .with_header("authorization", GATEWAY_BASIC)
        .with_body(format!(
            "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Atoken-exchange\
             &subject_token={subject}\
             &subject_token_type=urn%3Aietf%3Aparams%3Aoauth%3Atoken-type%3Aaccess_token\
             &audience=orders-api"
        ))
}

fn refresh_request(token: &str) -> HttpRequest {
    HttpRequest::new(Method::Post)
        .with_header("content-type", "application/x-www-form-urlencoded")
        .with_body(format!(
            "grant_type=refresh_token&refresh_token={token}&client_id=native-app"
        ))
}

fn authorization_code(c: &mut Criterion) {
    let mut group = c.benchmark_group("authorization_code");
    group.sample_size(30);
    group.measurement_time(Duration::from_secs(3));

    let bench = server();
    let server = &bench.server;
    group.bench_function("authorize", |b| {
        b.iter(|| {
            // The adapter's work is part of the path: building the request each time.
            let request = authorize_request();
            block_on(server.authorize(black_box(&request))).expect("valid request")
        });
    });

    group.bench_function("approve", |b| {
        b.iter_custom(|iters| bench.timed_in_batches(iters, pending, approve));
    });

    group.bench_function("exchange_pkce_s256_public_client", |b| {
        b.iter_custom(|iters| {
            bench.timed_in_batches(iters, code, |server, code| {
                let request = exchange_request(&code);
                block_on(server.token(black_box(&request))).expect("no fault")
            })
        });
    });

    group.bench_function("refresh_with_rotation", |b| {
        b.iter_custom(|iters| {
            bench.timed_in_batches(iters, refresh_token, |server, token| {
                let request = refresh_request(&token);
                block_on(server.token(black_box(&request))).expect("no fault")
            })
        });
    });

    group.bench_function("token_exchange_opaque_delegation", |b| {
        b.iter_custom(|iters| {
            bench.timed_in_batches(iters, access_token, |server, subject| {
                let request = token_exchange_request(&subject);
                let response = block_on(server.token(black_box(&request))).expect("no fault");
                debug_assert_eq!(response.status.as_u16(), 200);
                response
            })
        });
    });
    group.finish();
}

criterion_group!(benches, authorization_code);
criterion_main!(benches);
