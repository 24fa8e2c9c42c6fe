//! The connection loop of the axum and hyper examples: hyper's HTTP/1.1 server with a
//! timer, so that a connection whose request head does not arrive in time is closed, and a
//! cap on the connections open at once.
//!
//! `axum::serve` sets no timer, so with it a client that sends half a request head and
//! waits holds its connection for ever ("slowloris"). Serving the router through this loop
//! instead is the fix for axum; the body deadline is the adapters' (see
//! `DemoApp::read_body`).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::body::{Body, Incoming};
use hyper::server::conn::http1;
use hyper::service::HttpService;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::sync::Semaphore;

use super::demo::Limits;

/// Serves HTTP/1.1 on `listener` until the process ends, one task per connection, each
/// with the service `service` makes for the client's address. Within `limits`: at most
/// `max_connections` at once (the next waits in the listen backlog until one closes), and
/// every request head, the first or the next one on a kept-alive connection, must arrive
/// within `head_timeout`, or the connection closes.
///
/// # Errors
/// When the listener cannot be set up.
pub(crate) async fn serve<S>(
    listener: std::net::TcpListener,
    limits: Limits,
    service: impl Fn(SocketAddr) -> S,
) -> std::io::Result<()>
where
    S: HttpService<Incoming> + Send + 'static,
    S::Future: Send,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    S::ResBody: Send + 'static,
    <S::ResBody as Body>::Data: Send,
    <S::ResBody as Body>::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    listener.set_nonblocking(true)?;
    let listener = tokio::net::TcpListener::from_std(listener)?;
    let permits = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.head_timeout);
    loop {
        // The semaphore is never closed.
        let Ok(permit) = Arc::clone(&permits).acquire_owned().await else {
            return Ok(());
        };
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            // Out of file descriptors and the like: wait a moment rather than spin.
            Err(error) => {
                tracing::warn!(%error, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let connection = http.serve_connection(TokioIo::new(stream), service(peer));
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, "connection closed with an error");
            }
            drop(permit);
        });
    }
}
