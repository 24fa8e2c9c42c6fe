//! The demo authorization server of `axum_server.rs`, on bare hyper 1: the same endpoints,
//! pages and demo clients (see the README), with a path match instead of a router.
//!
//! ```sh
//! cargo run --example hyper_server           # listens on 127.0.0.1:8080
//! ACCESS_TOKENS=jwt cargo run --example hyper_server   # JWT access tokens, verified offline
//! METRICS_ADDR=127.0.0.1:9100 cargo run --example hyper_server   # Prometheus metrics on loopback
//! ```
//!
//! hyper uses the `http` crate's types, so the adapter is grantflow's `http` feature:
//! `HttpRequest::from_http_parts` and `HttpResponse::into_http`. The connection loop, with
//! its head timeout and connection cap, is `examples/connections/`, shared with axum.

#[path = "demo/mod.rs"]
mod demo;

#[path = "connections/mod.rs"]
mod connections;

use std::convert::Infallible;
use std::net::SocketAddr;

use grantflow::HttpRequest;
use http_body_util::{BodyExt as _, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::service::service_fn;

use demo::DemoApp;
pub(crate) use demo::{AccessTokens, Limits};

/// The adapter: hyper's request in, the demo app's answer out.
async fn handle(
    app: DemoApp,
    peer: SocketAddr,
    request: hyper::Request<Incoming>,
) -> Result<hyper::Response<Full<Bytes>>, Infallible> {
    let route = demo::ROUTES
        .iter()
        .find(|(path, _)| *path == request.uri().path())
        .map(|(_, route)| *route);
    let client_id = request
        .uri()
        .path()
        .strip_prefix(demo::CLIENT_CONFIGURATION_PREFIX)
        .filter(|id| !id.is_empty() && !id.contains('/'))
        .map(str::to_owned);
    let (parts, body) = request.into_parts();
    let response = match (route, client_id) {
        // A registered client's configuration endpoint (RFC 7592).
        (None, Some(client_id)) => {
            let read = Limited::new(body, demo::BODY_LIMIT).collect();
            match app.read_body(demo::Route::Register, read).await {
                Ok(body) => {
                    let request = HttpRequest::from_http_parts(&parts, body.to_bytes().to_vec());
                    app.client_configuration(&client_id, request).await
                }
                Err(refusal) => refusal,
            }
        }
        (None, None) => demo::not_found(),
        (Some(route), _) => {
            let read = Limited::new(body, demo::BODY_LIMIT).collect();
            match app.read_body(route, read).await {
                Ok(body) => {
                    let request = HttpRequest::from_http_parts(&parts, body.to_bytes().to_vec());
                    app.handle(route, peer.ip(), request).await
                }
                Err(refusal) => refusal,
            }
        }
    };
    Ok(response
        .into_http()
        .map(|body| Full::new(Bytes::from(body))))
}

/// Serves the demo authorization server on `listener` within `limits`, issuing `tokens`,
/// until the process ends: one task per connection, HTTP/1.1 with keep-alive (`examples/connections/`).
///
/// # Errors
/// When the listener cannot be set up.
pub(crate) async fn serve(
    listener: std::net::TcpListener,
    limits: Limits,
    tokens: AccessTokens,
) -> std::io::Result<()> {
    let app = DemoApp::new(listener.local_addr()?, limits, tokens)
        .await
        .map_err(std::io::Error::other)?;
    connections::serve(listener, limits, move |peer| {
        let app = app.clone();
        service_fn(move |request| handle(app.clone(), peer, request))
    })
    .await
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    demo::init_tracing();
    demo::init_metrics()?;
    let listener = std::net::TcpListener::bind(demo::address()?)?;
    let tokens = AccessTokens::from_env();
    println!("{}", demo::banner("hyper", listener.local_addr()?, tokens));
    serve(listener, Limits::default(), tokens).await?;
    Ok(())
}
