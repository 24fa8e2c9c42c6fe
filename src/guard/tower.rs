//! The bearer guard as a [`tower_layer::Layer`] (feature `tower`), and [`TokenInfo`] as an
//! axum extractor (feature `axum`).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use super::{BearerGuard, GuardRejection, TokenInfo};
use crate::http::{HttpRequest, HttpResponse, Status};
use crate::types::Scope;

/// What a [`BearerLayer`] runs on each request: a check of the bearer token against a
/// required scope. [`BearerGuard`] (tokens of the server's token store) implements it; a
/// verifier of self-contained tokens implements it the same way and plugs into the same
/// layer.
pub trait BearerCheck: Clone + Send + Sync + 'static {
    /// Checks the bearer token of `request` for every token of `required`, as
    /// [`BearerGuard::check`] does.
    fn check_bearer<'a>(
        &'a self,
        request: &'a HttpRequest,
        required: &'a Scope,
    ) -> Pin<Box<dyn Future<Output = Result<TokenInfo, GuardRejection>> + Send + 'a>>;
}

impl BearerCheck for BearerGuard {
    fn check_bearer<'a>(
        &'a self,
        request: &'a HttpRequest,
        required: &'a Scope,
    ) -> Pin<Box<dyn Future<Output = Result<TokenInfo, GuardRejection>> + Send + 'a>> {
        Box::pin(self.check(request, required))
    }
}

/// A [`tower_layer::Layer`] that protects every request of the service it wraps with a
/// bearer token ([RFC 6750](https://www.rfc-editor.org/rfc/rfc6750)): an accepted token's
/// [`TokenInfo`] goes into the request's extensions for the handler; otherwise the layer
/// answers itself, and the inner service never sees the request:
///
/// - 401 or 400 with the exact `WWW-Authenticate: Bearer` challenge of
///   [`BearerGuard::check`] for a missing, malformed or inactive token
///   ([RFC 6750 §3](https://www.rfc-editor.org/rfc/rfc6750#section-3));
/// - 403 `insufficient_scope` naming the required scope
///   ([RFC 6750 §3.1](https://www.rfc-editor.org/rfc/rfc6750#section-3.1));
/// - 503 when the token store fails: the client is not told its token is bad when the
///   server could not tell (the fault is logged by the guard's span).
///
/// The layer reads the token from the `Authorization` header only; form-body tokens
/// ([`BearerGuard::form_body_tokens`]) would need the body, which belongs to the handler.
///
/// ```
/// # #[cfg(feature = "axum")] {
/// use grantflow::guard::{BearerLayer, TokenInfo};
/// use grantflow::{Scope, Server};
///
/// async fn profile(token: TokenInfo) -> String {
///     format!("hello {}", token.subject.map(|s| s.to_string()).unwrap_or_default())
/// }
///
/// fn routes(server: &Server) -> axum::Router {
///     let read = Scope::parse("profile").expect("a valid scope");
///     axum::Router::new()
///         .route("/profile", axum::routing::get(profile))
///         .layer(BearerLayer::new(server.bearer_guard(), read))
/// }
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct BearerLayer<G = BearerGuard> {
    guard: G,
    required: Arc<Scope>,
}

impl<G: BearerCheck> BearerLayer<G> {
    /// A layer that lets through requests whose token `guard` accepts with every scope
    /// token of `required` (an empty scope: any active token).
    pub fn new(guard: G, required: Scope) -> Self {
        Self {
            guard,
            required: Arc::new(required),
        }
    }
}

impl<S, G: Clone> tower_layer::Layer<S> for BearerLayer<G> {
    type Service = BearerService<S, G>;

    fn layer(&self, inner: S) -> Self::Service {
        BearerService {
            inner,
            guard: self.guard.clone(),
            required: Arc::clone(&self.required),
        }
    }
}

/// The service of a [`BearerLayer`].
#[derive(Debug, Clone)]
pub struct BearerService<S, G = BearerGuard> {
    inner: S,
    guard: G,
    required: Arc<Scope>,
}

impl<S, G, ReqBody, ResBody> tower_service::Service<http::Request<ReqBody>> for BearerService<S, G>
where
    S: tower_service::Service<http::Request<ReqBody>, Response = http::Response<ResBody>>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    G: BearerCheck,
    ReqBody: Send + 'static,
    ResBody: From<Vec<u8>>,
{
    type Response = http::Response<ResBody>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<ReqBody>) -> Self::Future {
        // The service that was polled ready serves this request; its clone serves the next.
        let ready = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, ready);
        let guard = self.guard.clone();
        let required = Arc::clone(&self.required);
        Box::pin(async move {
            let (mut parts, body) = request.into_parts();
            let head = HttpRequest::from_http_parts(&parts, Vec::new());
            match guard.check_bearer(&head, &required).await {
                Ok(info) => {
                    parts.extensions.insert(info);
                    inner.call(http::Request::from_parts(parts, body)).await
                }
                Err(GuardRejection::Refused(response)) => Ok(respond(response)),
                Err(GuardRejection::Fault(_)) => Ok(respond(
                    HttpResponse::new(Status::SERVICE_UNAVAILABLE)
                        .with_header("cache-control", "no-store"),
                )),
            }
        })
    }
}

/// `response` with the inner service's body type.
fn respond<B: From<Vec<u8>>>(response: HttpResponse) -> http::Response<B> {
    response.into_http().map(B::from)
}

/// The [`TokenInfo`] a [`BearerLayer`] put in the request's extensions. A route that is
/// not behind the layer has none, and answers 500: a wiring mistake, never a reason to
/// serve the request.
#[cfg(feature = "axum")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
impl<S: Send + Sync> axum_core::extract::FromRequestParts<S> for TokenInfo {
    type Rejection = http::StatusCode;

    async fn from_request_parts(
        parts: &mut http::request::Parts,
        _: &S,
    ) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<TokenInfo>()
            .cloned()
            .ok_or(http::StatusCode::INTERNAL_SERVER_ERROR)
    }
}
