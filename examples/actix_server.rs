//! The demo authorization server of `axum_server.rs`, on actix-web: the same endpoints,
//! pages and demo clients (see the README), served through a small adapter.
//!
//! ```sh
//! cargo run --example actix_server           # listens on 127.0.0.1:8080
//! ACCESS_TOKENS=jwt cargo run --example actix_server   # JWT access tokens, verified offline
//! ```
//!
//! actix-web has its own request and response types (not the `http` crate's), so the
//! conversion to and from grantflow's `HttpRequest` / `HttpResponse` is written out here:
//! `to_grantflow` and `to_actix` are the whole adapter. actix-web's own settings hold the
//! connections to the demo's `Limits` (head timeout, keep-alive, connections per worker).
//! `GET /api/whoami` shows the bearer guard as an actix-web middleware (`require_bearer`).
//! With `METRICS_ADDR=127.0.0.1:9100`, Prometheus metrics are served on that address.

#[path = "demo/mod.rs"]
mod demo;

use std::net::{IpAddr, Ipv4Addr};

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::KeepAlive;
use actix_web::http::StatusCode;
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::{Next, from_fn};
use actix_web::{App, HttpMessage, HttpServer, web};
use grantflow::guard::{GuardRejection, TokenInfo};
use grantflow::{HttpRequest, HttpResponse, Method, Status};

pub(crate) use demo::{AccessTokens, Limits};
use demo::{DemoApp, Route};

/// actix-web's request head and the collected body as a grantflow request: the method,
/// the raw query and every header, repeated ones included.
fn to_grantflow(request: &actix_web::HttpRequest, body: Vec<u8>) -> HttpRequest {
    let mut out = HttpRequest::new(Method::from_name(request.method().as_str())).with_body(body);
    if let Some(query) = request.uri().query() {
        out = out.with_query(query);
    }
    for (name, value) in request.headers() {
        // Every header as its bytes, readable or not: grantflow decides what a value that
        // is not visible ASCII means (an unreadable `Authorization` header is refused, not
        // skipped).
        out = out.with_header_bytes(name.as_str(), value.as_bytes());
    }
    out
}

/// A grantflow response as actix-web's, with credential-carrying headers (`Location` with
/// a code, the session cookie) marked sensitive. actix-web sets `Connection` itself, so
/// `Connection: close` becomes its `force_close`.
fn to_actix(response: HttpResponse) -> actix_web::HttpResponse {
    let status =
        StatusCode::from_u16(response.status.as_u16()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut out = actix_web::HttpResponse::build(status);
    for header in &response.headers {
        if header.name == "connection" {
            if header.value.eq_ignore_ascii_case("close") {
                out.force_close();
            }
            continue;
        }
        let name = HeaderName::from_bytes(header.name.as_bytes());
        if let (Ok(name), Ok(mut value)) = (name, HeaderValue::from_str(&header.value)) {
            value.set_sensitive(header.sensitive);
            out.append_header((name, value));
        }
    }
    out.body(response.body)
}

/// The adapter: actix-web's request in, the demo app's answer out.
async fn handle(
    app: web::Data<DemoApp>,
    route: Route,
    request: actix_web::HttpRequest,
    payload: web::Payload,
) -> actix_web::HttpResponse {
    let read = read_limited(payload);
    // A connection that is not TCP (a Unix socket) has no address; they share one key.
    let peer = request
        .peer_addr()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |addr| addr.ip());
    let response = match app.read_body(route, read).await {
        Ok(body) => {
            app.handle(route, peer, to_grantflow(&request, body.to_vec()))
                .await
        }
        Err(refusal) => refusal,
    };
    to_actix(response)
}

/// The request body, up to [`demo::BODY_LIMIT`]; `Err` when it is longer or broke off.
async fn read_limited(payload: web::Payload) -> Result<web::Bytes, ()> {
    match payload.to_bytes_limited(demo::BODY_LIMIT).await {
        Ok(Ok(body)) => Ok(body),
        Ok(Err(_)) | Err(_) => Err(()),
    }
}

/// The adapter for a client's configuration endpoint, named by the path's `client_id`.
async fn configure_client(
    app: web::Data<DemoApp>,
    client_id: web::Path<String>,
    request: actix_web::HttpRequest,
    payload: web::Payload,
) -> actix_web::HttpResponse {
    let read = read_limited(payload);
    let response = match app.read_body(Route::Register, read).await {
        Ok(body) => {
            app.client_configuration(&client_id, to_grantflow(&request, body.to_vec()))
                .await
        }
        Err(refusal) => refusal,
    };
    to_actix(response)
}

/// The bearer guard as an actix-web middleware, what grantflow's tower `BearerLayer` is for
/// axum and hyper: the wrapped route runs only for a token with the demo API's scope, and
/// finds the token's `TokenInfo` in the request extensions (`web::ReqData`). Refusals get
/// the guard's exact `WWW-Authenticate` challenge; a failing token store gets 503, never a
/// 401 the client would act on.
async fn require_bearer(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let Some(app) = request.app_data::<web::Data<DemoApp>>().cloned() else {
        let refusal = to_actix(HttpResponse::new(Status::INTERNAL_SERVER_ERROR));
        return Ok(request.into_response(refusal).map_into_right_body());
    };
    let (guard, scope) = app.api_guard();
    // The guard reads the `Authorization` header only: the body stays the handler's.
    let head = to_grantflow(request.request(), Vec::new());
    let refusal = match guard.check(&head, scope).await {
        Ok(token) => {
            request.extensions_mut().insert(token);
            return next
                .call(request)
                .await
                .map(ServiceResponse::map_into_left_body);
        }
        Err(GuardRejection::Refused(challenge)) => challenge,
        Err(_) => HttpResponse::new(Status::SERVICE_UNAVAILABLE),
    };
    Ok(request
        .into_response(to_actix(refusal))
        .map_into_right_body())
}

/// `GET /api/whoami`, behind [`require_bearer`]: who the token belongs to.
async fn whoami(token: web::ReqData<TokenInfo>) -> actix_web::HttpResponse {
    actix_web::HttpResponse::Ok().json(serde_json::json!({
        "client_id": token.client_id.as_str(),
        "subject": token.subject.as_ref().map(|s| s.as_str()),
        "scope": token.scope.as_str(),
    }))
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
    let app = web::Data::new(app);
    // actix-web caps connections per worker thread: split the cap between the workers, at
    // least two each (a full worker resumes accepting only once two of its connections
    // have closed, so with one it would never resume).
    let workers = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .min(limits.max_connections / 2)
        .max(1);
    let server = HttpServer::new(move || {
        let mut service = App::new().app_data(app.clone());
        for (path, route) in demo::ROUTES {
            service = service.route(
                path,
                web::route().to(move |app, request, payload| handle(app, route, request, payload)),
            );
        }
        // Each registered client's configuration endpoint (RFC 7592).
        service = service.route(
            &format!("{}{{client_id}}", demo::CLIENT_CONFIGURATION_PREFIX),
            web::route().to(configure_client),
        );
        // A route of the host's own, guarded by the middleware rather than the demo app.
        service = service.service(
            web::resource("/api/whoami")
                .wrap(from_fn(require_bearer))
                .route(web::get().to(whoami)),
        );
        service.default_service(web::to(|| async { to_actix(demo::not_found()) }))
    })
    // A request head must arrive in time, and so must the next one on a kept-alive
    // connection; the body deadline is `DemoApp::read_body`'s.
    .client_request_timeout(limits.head_timeout)
    .keep_alive(KeepAlive::Timeout(limits.head_timeout))
    .workers(workers)
    .max_connections((limits.max_connections / workers).max(2))
    .listen(listener)?
    .run();
    server.await
}

#[actix_web::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    demo::init_tracing();
    demo::init_metrics()?;
    let listener = std::net::TcpListener::bind(demo::address()?)?;
    let tokens = AccessTokens::from_env();
    println!(
        "{}",
        demo::banner("actix-web", listener.local_addr()?, tokens)
    );
    serve(listener, Limits::default(), tokens).await?;
    Ok(())
}
