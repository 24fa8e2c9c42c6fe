//! The demo authorization server of `axum_server.rs`, on bare hyper 1: the same endpoints,
//! pages and demo clients (see the README), with a path match instead of a router.
//!
//! ```sh
//! cargo run --example hyper_server           # listens on 127.0.0.1:8080
//! ```
//!
//! hyper uses the `http` crate's types, so the adapter is grantflow's `http` feature:
//! `HttpRequest::from_http_parts` and `HttpResponse::into_http`.

#[path = "demo/mod.rs"]
mod demo;

use std::convert::Infallible;
use std::time::Duration;

use grantflow::HttpRequest;
use http_body_util::{BodyExt as _, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;

use demo::DemoApp;

/// The adapter: hyper's request in, the demo app's answer out.
async fn handle(
    app: DemoApp,
    request: hyper::Request<Incoming>,
) -> Result<hyper::Response<Full<Bytes>>, Infallible> {
    let route = demo::ROUTES
        .iter()
        .find(|(path, _)| *path == request.uri().path())
        .map(|(_, route)| *route);
    let (parts, body) = request.into_parts();
    let response = match route {
        None => demo::not_found(),
        Some(route) => match Limited::new(body, demo::BODY_LIMIT).collect().await {
            Ok(body) => {
                let request = HttpRequest::from_http_parts(&parts, body.to_bytes().to_vec());
                app.handle(route, request).await
            }
            // Longer than the limit (or the connection broke, and nobody reads the answer).
            Err(_) => demo::body_too_large(),
        },
    };
    Ok(response
        .into_http()
        .map(|body| Full::new(Bytes::from(body))))
}

/// Serves the demo authorization server on `listener` until the process ends: one task
/// per connection, HTTP/1.1 with keep-alive.
///
/// # Errors
/// When the listener cannot be set up.
pub(crate) async fn serve(listener: std::net::TcpListener) -> std::io::Result<()> {
    let app = DemoApp::new(listener.local_addr()?).map_err(std::io::Error::other)?;
    listener.set_nonblocking(true)?;
    let listener = tokio::net::TcpListener::from_std(listener)?;
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            // Out of file descriptors and the like: wait a moment rather than spin.
            Err(error) => {
                tracing::warn!(%error, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request| handle(app.clone(), request));
            if let Err(error) = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await
            {
                tracing::debug!(%error, "connection closed with an error");
            }
        });
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    demo::init_tracing();
    let listener = std::net::TcpListener::bind(demo::address()?)?;
    println!("{}", demo::banner("hyper", listener.local_addr()?));
    serve(listener).await?;
    Ok(())
}
