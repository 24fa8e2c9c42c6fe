//! Criterion benchmarks of the OpenID Provider on the memory stores (feature `oidc`): the
//! code exchange of a confidential client with and without an ID token, and one RS256
//! signature of an ID token's claims by the key set, in the same run.
//!
//! Run with `cargo bench --bench openid`. Target (issue 17): the exchange with an ID token
//! costs at most the plain exchange plus 1.3 × one signature.
//!
//! Codes are made untimed in batches of 1,000; only the token request is timed. Between
//! batches the clock moves two seconds and the expired records are purged, untimed.

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
use grantflow::authorize::Authentication;
use grantflow::clock::{Clock as _, ManualClock};
use grantflow::jose::{Algorithm, Claims, JwtUse, KeySet, MemoryKeySetStore, SigningKey};
use grantflow::oidc::{ClaimsQuery, ClaimsSource};
use grantflow::store::TokenStore as _;
use grantflow::{
    Client, ClientSecret, ClientType, GrantType, HttpRequest, MemoryClientRegistry,
    MemoryCodeStore, MemoryTokenStore, Method, Server, StorageError, Subject,
};
use serde_json::{Map, Value};

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

const ISSUER: &str = "https://as.example.com";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
const BATCH: u64 = 1000;

/// No claims: the ID token of these requests releases none.
#[derive(Debug)]
struct NoClaims;

#[async_trait]
impl ClaimsSource for NoClaims {
    async fn claims(&self, _: &ClaimsQuery<'_>) -> Result<Map<String, Value>, StorageError> {
        Ok(Map::new())
    }
}

struct Bench {
    server: Server,
    clock: ManualClock,
    tokens: Arc<MemoryTokenStore>,
    codes: Arc<MemoryCodeStore>,
    keys: KeySet,
}

fn bench() -> Bench {
    let now = SystemTime::now();
    let clock = ManualClock::new(now);
    let tokens = Arc::new(MemoryTokenStore::new());
    let codes = Arc::new(MemoryCodeStore::new());
    let clients = Arc::new(MemoryClientRegistry::new());
    clients
        .insert(
            Client::builder("web", ClientType::Confidential)
                .secret(&ClientSecret::from_presented("web-secret".to_owned()))
                .redirect_uri("https://rp.example/cb")
                .grant_type(GrantType::AUTHORIZATION_CODE)
                .allowed_scope("openid read")
                .build()
                .expect("valid client"),
        )
        .expect("new client");
    let keys = KeySet::builder(ISSUER, Arc::new(MemoryKeySetStore::new()))
        .default_algorithm(Algorithm::Rs256)
        .build()
        .expect("valid key set");
    let key = Arc::new(SigningKey::generate(Algorithm::Rs256).expect("a key"));
    block_on(keys.bootstrap(key, now)).expect("bootstrapped");
    let server = Server::builder(ISSUER, clients, tokens.clone())
        .code_store(codes.clone())
        .clock(Arc::new(clock.clone()))
        .access_token_ttl(Duration::from_secs(1))
        .code_ttl(Duration::from_secs(1))
        .signing_keys(keys.clone())
        .openid_provider(Arc::new(NoClaims))
        .build()
        .expect("valid configuration");
    Bench {
        server,
        clock,
        tokens,
        codes,
        keys,
    }
}

impl Bench {
    fn code(&self, scope: &str) -> String {
        let query = format!(
            "response_type=code&client_id=web&redirect_uri=https%3A%2F%2Frp.example%2Fcb\
             &scope={scope}&nonce=n-0S6_WzA2Mj&code_challenge={CHALLENGE}&code_challenge_method=S256"
        );
        let pending = block_on(
            self.server
                .authorize(&HttpRequest::new(Method::Get).with_query(query)),
        )
        .expect("valid request");
        let granted = pending.requested_scope().clone();
        let authentication =
            Authentication::new(Subject::new("alice")).with_auth_time(self.clock.now());
        let response = block_on(pending.approve_authentication(authentication, granted))
            .expect("no storage fault");
        let location = response.header("location").expect("a redirect");
        let start = location.find("code=").expect("a code") + 5;
        let end = location[start..]
            .find('&')
            .map_or(location.len(), |i| start + i);
        location[start..end].to_owned()
    }

    /// Times `iters` code exchanges for `scope`, codes made untimed in batches.
    fn exchanges(&self, iters: u64, scope: &str) -> Duration {
        let mut total = Duration::ZERO;
        let mut left = iters;
        while left > 0 {
            let n = left.min(BATCH);
            left -= n;
            self.clock.advance(Duration::from_secs(2));
            let now = self.clock.now();
            block_on(self.tokens.purge_expired(now)).expect("memory store");
            self.codes.purge_expired(now);
            let requests: Vec<HttpRequest> = (0..n)
                .map(|_| {
                    let body = format!(
                        "grant_type=authorization_code&code={}&redirect_uri=https%3A%2F%2Frp.example%2Fcb\
                         &code_verifier={VERIFIER}",
                        self.code(scope)
                    );
                    HttpRequest::new(Method::Post)
                        .with_header("content-type", "application/x-www-form-urlencoded")
                        .with_header("authorization", "Basic d2ViOndlYi1zZWNyZXQ=")
                        .with_body(body.into_bytes())
                })
                .collect();
            let start = Instant::now();
            for request in &requests {
                let response = block_on(self.server.token(black_box(request))).expect("no fault");
                assert_eq!(response.status.as_u16(), 200);
                black_box(response);
            }
            total += start.elapsed();
        }
        total
    }
}

fn openid(c: &mut Criterion) {
    let bench = bench();
    let mut group = c.benchmark_group("openid");
    group.bench_function("code_exchange_plain", |b| {
        b.iter_custom(|iters| bench.exchanges(iters, "read"));
    });
    group.bench_function("code_exchange_with_id_token", |b| {
        b.iter_custom(|iters| bench.exchanges(iters, "openid"));
    });
    group.bench_function("rs256_id_token_signature", |b| {
        let now = bench.clock.now();
        let claims = Claims::new()
            .with_subject("alice")
            .with_audience(["web"])
            .with_issued_at(now)
            .with_expires_at(now + Duration::from_secs(300));
        b.iter(|| {
            block_on(bench.keys.sign(JwtUse::IdToken, black_box(&claims), now)).expect("signed")
        });
    });
    group.finish();
}

criterion_group!(benches, openid);
criterion_main!(benches);
