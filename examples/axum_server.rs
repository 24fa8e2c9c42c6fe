//! A complete OAuth 2.1 authorization server on axum: metadata, authorization code with
//! PKCE (sign-in and consent pages), client credentials, refresh, device authorization,
//! the opt-in password grant, revocation, introspection and a protected resource.
//!
//! ```sh
//! cargo run --example axum_server            # listens on 127.0.0.1:8080
//! ADDR=127.0.0.1:9000 cargo run --example axum_server
//! ```
//!
//! The README lists the demo clients and walks through every grant with `curl`. All of
//! the host application (pages, sessions, the demo registry) is in `examples/demo/`, shared
//! with the actix-web and hyper examples; this file is only the adapter between axum and
//! grantflow's `HttpRequest` / `HttpResponse`, using the crate's `http` feature.

#[path = "demo/mod.rs"]
mod demo;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;
use axum::routing::any;
use grantflow::HttpRequest;

use demo::{DemoApp, Route};

/// The adapter: axum's request in, the demo app's answer out.
async fn handle(app: DemoApp, route: Route, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let response = match axum::body::to_bytes(body, demo::BODY_LIMIT).await {
        Ok(body) => {
            app.handle(route, HttpRequest::from_http_parts(&parts, body.to_vec()))
                .await
        }
        // Longer than the limit (or the connection broke, and nobody reads the answer).
        Err(_) => demo::body_too_large(),
    };
    response.into_http().map(Body::from)
}

/// Serves the demo authorization server on `listener` until the process ends.
///
/// # Errors
/// When the listener fails.
pub(crate) async fn serve(listener: std::net::TcpListener) -> std::io::Result<()> {
    let app = DemoApp::new(listener.local_addr()?).map_err(std::io::Error::other)?;
    let mut router = Router::new();
    for (path, route) in demo::ROUTES {
        router = router.route(
            path,
            any(move |State(app): State<DemoApp>, request: Request| handle(app, route, request)),
        );
    }
    let router = router
        .fallback(|| async { demo::not_found().into_http().map(Body::from) })
        .with_state(app);
    listener.set_nonblocking(true)?;
    axum::serve(tokio::net::TcpListener::from_std(listener)?, router).await
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    demo::init_tracing();
    let listener = std::net::TcpListener::bind(demo::address()?)?;
    println!("{}", demo::banner("axum", listener.local_addr()?));
    serve(listener).await?;
    Ok(())
}
