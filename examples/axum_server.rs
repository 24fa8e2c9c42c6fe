//! A complete OAuth 2.1 authorization server on axum: metadata, authorization code with
//! PKCE (sign-in and consent pages), client credentials, refresh, device authorization,
//! the opt-in password grant, revocation, introspection and a protected resource.
//!
//! ```sh
//! cargo run --example axum_server            # listens on 127.0.0.1:8080
//! ACCESS_TOKENS=jwt cargo run --example axum_server   # JWT access tokens, verified offline
//! ADDR=127.0.0.1:9000 cargo run --example axum_server
//! METRICS_ADDR=127.0.0.1:9100 cargo run --example axum_server   # Prometheus metrics on loopback
//! ```
//!
//! The README lists the demo clients and walks through every grant with `curl`. All of
//! the host application (pages, sessions, the demo registry) is in `examples/demo/`, shared
//! with the actix-web and hyper examples; this file is only the adapter between axum and
//! grantflow's `HttpRequest` / `HttpResponse`, using the crate's `http` feature, and the
//! router is served through `examples/connections/` (shared with the hyper example) for its
//! timeouts and connection cap.

#[path = "demo/mod.rs"]
mod demo;

#[path = "connections/mod.rs"]
mod connections;

use std::net::SocketAddr;

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Path, Request, State};
use axum::response::Response;
use axum::routing::any;
use grantflow::HttpRequest;
use hyper::service::Service as _;
use hyper_util::service::TowerToHyperService;

pub(crate) use demo::{AccessTokens, Limits};
use demo::{DemoApp, Route};

/// The adapter: axum's request in, the demo app's answer out.
async fn handle(app: DemoApp, route: Route, peer: SocketAddr, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let read = axum::body::to_bytes(body, demo::BODY_LIMIT);
    let response = match app.read_body(route, read).await {
        Ok(body) => {
            let request = HttpRequest::from_http_parts(&parts, body.to_vec());
            app.handle(route, peer.ip(), request).await
        }
        Err(refusal) => refusal,
    };
    response.into_http().map(Body::from)
}

/// The adapter for a client's configuration endpoint, named by `client_id`.
async fn configure_client(app: DemoApp, client_id: String, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let read = axum::body::to_bytes(body, demo::BODY_LIMIT);
    let response = match app.read_body(Route::Register, read).await {
        Ok(body) => {
            let request = HttpRequest::from_http_parts(&parts, body.to_vec());
            app.client_configuration(&client_id, request).await
        }
        Err(refusal) => refusal,
    };
    response.into_http().map(Body::from)
}

/// Serves the demo authorization server on `listener` within `limits`, issuing `tokens`,
/// until the process ends.
///
/// # Errors
/// When the listener fails.
pub(crate) async fn serve(
    listener: std::net::TcpListener,
    limits: Limits,
    tokens: AccessTokens,
) -> std::io::Result<()> {
    let app = DemoApp::new(listener.local_addr()?, limits, tokens)
        .await
        .map_err(std::io::Error::other)?;
    let mut router = Router::new();
    for (path, route) in demo::ROUTES {
        router = router.route(
            path,
            any(
                move |State(app): State<DemoApp>,
                      ConnectInfo(peer): ConnectInfo<SocketAddr>,
                      request: Request| handle(app, route, peer, request),
            ),
        );
    }
    // Each registered client's configuration endpoint (RFC 7592): the path names the client.
    router = router.route(
        &format!("{}{{client_id}}", demo::CLIENT_CONFIGURATION_PREFIX),
        any(
            |State(app): State<DemoApp>, Path(client_id): Path<String>, request: Request| {
                configure_client(app, client_id, request)
            },
        ),
    );
    let router = router
        .fallback(|| async { demo::not_found().into_http().map(Body::from) })
        .with_state(app);
    // Not `axum::serve`: it sets no timer, so a half-sent request head would hold its
    // connection for ever. The router runs under hyper with a head timeout instead.
    connections::serve(listener, limits, move |peer| {
        let router = TowerToHyperService::new(router.clone());
        hyper::service::service_fn(move |mut request: hyper::Request<hyper::body::Incoming>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            router.call(request)
        })
    })
    .await
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    demo::init_tracing();
    demo::init_metrics()?;
    let listener = std::net::TcpListener::bind(demo::address()?)?;
    let tokens = AccessTokens::from_env();
    println!("{}", demo::banner("axum", listener.local_addr()?, tokens));
    serve(listener, Limits::default(), tokens).await?;
    Ok(())
}
