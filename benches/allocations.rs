//! Heap allocations per request on every hot path, counted by a counting global allocator:
//! the whole request (`HttpRequest` in, `HttpResponse` out) on the memory stores, and the
//! `http` crate conversions an axum or hyper adapter adds around it.
//!
//! ```sh
//! cargo bench --bench allocations
//! ```
//!
//! Each path runs a few hundred times first (so the stores' tables have reached their size
//! and do not grow during the count), then the median count over 100 runs is reported.

#![allow(missing_docs, reason = "a benchmark binary")]

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll, Waker};

use grantflow::pkce::s256_challenge;
use grantflow::secret::CodeVerifier;
use grantflow::{
    Client, ClientSecret, ClientType, GrantType, HttpRequest, HttpResponse, MemoryClientRegistry,
    MemoryDeviceStore, MemoryTokenStore, Method, Scope, Server, Subject,
};

// The only unsafe code of the project: a counting wrapper around the system allocator, in
// this benchmark, never in the library (which forbids `unsafe`).
#[allow(unsafe_code)]
mod counting {
    use std::alloc::{GlobalAlloc, Layout, System};
    use std::sync::atomic::{AtomicUsize, Ordering};

    pub(crate) static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

    /// Counts heap allocations (and reallocations, which allocate anew).
    pub(crate) struct CountingAllocator;

    // SAFETY: forwards every call unchanged to the system allocator; only counts.
    unsafe impl GlobalAlloc for CountingAllocator {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
            // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract, passed on as is.
            unsafe { System.alloc(layout) }
        }

        unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
            // SAFETY: the caller upholds `GlobalAlloc::realloc`'s contract, passed on as is.
            unsafe { System.realloc(ptr, layout, new_size) }
        }

        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            // SAFETY: `ptr` came from `System.alloc` with this `layout`.
            unsafe { System.dealloc(ptr, layout) }
        }
    }
}

#[global_allocator]
static GLOBAL: counting::CountingAllocator = counting::CountingAllocator;

fn block_on<F: std::future::Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(value) = future.as_mut().poll(&mut cx) {
            return value;
        }
    }
}

/// The median number of allocations of `step` over 100 runs, after 300 untimed ones;
/// `prepare` makes each run's input without being counted.
fn count<I, O>(mut prepare: impl FnMut() -> I, mut step: impl FnMut(I) -> O) -> usize {
    for _ in 0..300 {
        let input = prepare();
        drop(step(input));
    }
    let mut counts: Vec<usize> = (0..100)
        .map(|_| {
            let input = prepare();
            let before = counting::ALLOCATIONS.load(Ordering::Relaxed);
            let output = step(input);
            let after = counting::ALLOCATIONS.load(Ordering::Relaxed);
            drop(output);
            after - before
        })
        .collect();
    counts.sort_unstable();
    counts[counts.len() / 2]
}

const SERVICE_BASIC: &str = "Basic c2VydmljZTpzZXJ2aWNlLXNlY3JldA==";
const REDIRECT: &str = "http%3A%2F%2F127.0.0.1%3A51004%2Fcallback";

fn server() -> Result<Server, Box<dyn std::error::Error>> {
    let clients = Arc::new(MemoryClientRegistry::new());
    clients.insert(
        Client::builder("service", ClientType::Confidential)
            .secret(&ClientSecret::from_presented("service-secret".to_owned()))
            .grant_type(GrantType::CLIENT_CREDENTIALS)
            .allowed_scope("read:data write:data")
            .introspection(true)
            .build()?,
    )?;
    clients.insert(
        Client::builder("app", ClientType::Public)
            .redirect_uri("http://127.0.0.1/callback")
            .grant_type(GrantType::AUTHORIZATION_CODE)
            .grant_type(GrantType::REFRESH_TOKEN)
            .allowed_scope("profile read:data")
            .build()?,
    )?;
    clients.insert(
        Client::builder("tv", ClientType::Public)
            .grant_type(GrantType::DEVICE_CODE)
            .allowed_scope("profile")
            .default_scope("profile")
            .build()?,
    )?;
    Ok(Server::builder(
        "https://as.example.com",
        clients,
        Arc::new(MemoryTokenStore::new()),
    )
    .device_store(Arc::new(MemoryDeviceStore::new()))
    .build()?)
}

fn form(body: String) -> HttpRequest {
    HttpRequest::new(Method::Post)
        .with_header("content-type", "application/x-www-form-urlencoded")
        .with_body(body)
}

fn token(server: &Server, request: &HttpRequest) -> HttpResponse {
    block_on(server.token(request)).unwrap_or_else(|e| e.to_response())
}

fn json_member(response: &HttpResponse, name: &str) -> String {
    serde_json::from_slice::<serde_json::Value>(&response.body)
        .ok()
        .and_then(|v| v[name].as_str().map(str::to_owned))
        .unwrap_or_default()
}

fn location_code(response: &HttpResponse) -> String {
    response
        .header("location")
        .and_then(|l| l.split("code=").nth(1))
        .and_then(|rest| rest.split('&').next())
        .unwrap_or_default()
        .to_owned()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let server = server()?;
    let client_credentials = || {
        form("grant_type=client_credentials&scope=read%3Adata".to_owned())
            .with_header("authorization", SERVICE_BASIC)
    };
    let access_token = json_member(&token(&server, &client_credentials()), "access_token");
    let verifier = CodeVerifier::generate();
    let challenge = s256_challenge(verifier.expose_secret());
    let authorize_query = format!(
        "response_type=code&client_id=app&redirect_uri={REDIRECT}&scope=profile&state=xyz\
         &code_challenge={challenge}&code_challenge_method=S256"
    );
    let authorize_request = || HttpRequest::new(Method::Get).with_query(authorize_query.clone());
    let approve_code = || {
        let pending = block_on(server.authorize(&authorize_request())).ok()?;
        let response =
            block_on(pending.approve(Subject::new("alice"), Scope::parse("profile").ok()?)).ok()?;
        Some(location_code(&response))
    };
    let exchange = |code: String| {
        form(format!(
            "grant_type=authorization_code&code={code}&client_id=app&redirect_uri={REDIRECT}\
             &code_verifier={}",
            verifier.expose_secret()
        ))
    };
    let refresh_token = || {
        let code = approve_code().unwrap_or_default();
        json_member(&token(&server, &exchange(code)), "refresh_token")
    };
    let device_code = || {
        let response = block_on(server.device_authorization(&form("client_id=tv".to_owned())));
        response
            .map(|r| json_member(&r, "device_code"))
            .unwrap_or_default()
    };
    let guard = server.bearer_guard();
    let read = Scope::parse("read:data")?;

    let rows: Vec<(&str, usize)> = vec![
        (
            "client credentials (client_secret_basic)",
            count(client_credentials, |r| token(&server, &r)),
        ),
        (
            "introspection (active token)",
            count(
                || {
                    form(format!("token={access_token}"))
                        .with_header("authorization", SERVICE_BASIC)
                },
                |r| block_on(server.introspect(&r)),
            ),
        ),
        (
            "bearer guard (valid token)",
            count(
                || {
                    HttpRequest::new(Method::Get)
                        .with_header("authorization", format!("Bearer {access_token}"))
                },
                |r| block_on(guard.check(&r, &read)),
            ),
        ),
        (
            "authorize (validation to the pending request)",
            count(authorize_request, |r| {
                block_on(server.authorize(&r)).is_ok()
            }),
        ),
        (
            "approve (issue the code, build the redirect)",
            count(
                || block_on(server.authorize(&authorize_request())).ok(),
                |pending| {
                    let pending = pending?;
                    block_on(pending.approve(Subject::new("alice"), Scope::parse("profile").ok()?))
                        .ok()
                },
            ),
        ),
        (
            "code exchange (PKCE S256, public client)",
            count(
                || exchange(approve_code().unwrap_or_default()),
                |r| token(&server, &r),
            ),
        ),
        (
            "refresh with rotation",
            count(
                || {
                    form(format!(
                        "grant_type=refresh_token&refresh_token={}&client_id=app",
                        refresh_token()
                    ))
                },
                |r| token(&server, &r),
            ),
        ),
        (
            "device authorization request",
            count(
                || form("client_id=tv".to_owned()),
                |r| block_on(server.device_authorization(&r)),
            ),
        ),
        (
            "device poll (pending)",
            count(
                || {
                    form(format!(
                        "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code\
                         &device_code={}&client_id=tv",
                        device_code()
                    ))
                },
                |r| token(&server, &r),
            ),
        ),
        (
            "adapter: http::Request parts -> HttpRequest (4 headers)",
            count(
                || {
                    http::Request::post("/token")
                        .header("host", "127.0.0.1")
                        .header("content-type", "application/x-www-form-urlencoded")
                        .header("authorization", SERVICE_BASIC)
                        .header("content-length", "48")
                        .body(())
                        .map(|r| r.into_parts().0)
                        .ok()
                },
                |parts| {
                    parts.map(|p| {
                        HttpRequest::from_http_parts(&p, b"grant_type=client_credentials".to_vec())
                    })
                },
            ),
        ),
        (
            "adapter: HttpResponse -> http::Response (token response)",
            count(
                || token(&server, &client_credentials()),
                HttpResponse::into_http,
            ),
        ),
    ];
    println!("allocations per request (median of 100, memory stores)\n");
    for (name, allocations) in rows {
        println!("{name:<58} {allocations:>4}");
    }
    Ok(())
}
