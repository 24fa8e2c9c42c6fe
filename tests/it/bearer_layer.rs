//! The bearer guard as a tower layer: through an axum router with the `TokenInfo`
//! extractor, and around a bare hyper-style `service_fn`, over the token store and over
//! the offline JWT guard (`BearerGuard::jwt`); the exact RFC 6750 challenges (BT-05..BT-07)
//! and 503, not 401, when the token store fails.

use std::convert::Infallible;
use std::sync::Arc;

use axum::body::Body;
use grantflow::guard::{BearerLayer, TokenInfo};
use grantflow::{Scope, Server};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use tower::{ServiceBuilder, ServiceExt};

use crate::jwt_access_tokens::DEFAULT_AUD;
use crate::observability::DownStore;
use crate::support::resource::*;

fn scope(text: &str) -> Scope {
    Scope::parse(text).unwrap()
}

fn get(token: Option<&str>) -> http::Request<Body> {
    let mut request = http::Request::get("/me");
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    request.body(Body::empty()).unwrap()
}

/// A router whose `/me` answers with the client and scope of the token.
fn router(server: &Server, required: &str) -> axum::Router {
    async fn me(token: TokenInfo) -> String {
        format!("{} {}", token.client_id, token.scope)
    }
    axum::Router::new()
        .route("/me", axum::routing::get(me))
        .layer(BearerLayer::new(server.bearer_guard(), scope(required)))
}

async fn call(router: axum::Router, request: http::Request<Body>) -> (u16, String, String) {
    let response = router.oneshot(request).await.unwrap();
    let status = response.status().as_u16();
    let challenge = response
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, challenge, String::from_utf8(body.to_vec()).unwrap())
}

#[test]
fn bt_05_07_the_axum_layer_answers_with_the_exact_challenges() {
    let h = Harness::new();
    let token = h.cc_token(BACKEND, "read");
    let realm = "realm=\"https://as.example.com\"";
    block_on(async {
        let (status, _, body) = call(router(&h.server, "read"), get(Some(&token))).await;
        assert_eq!((status, body.as_str()), (200, "backend read"));

        let (status, challenge, body) = call(router(&h.server, "read"), get(None)).await;
        assert_eq!(status, 401);
        assert_eq!(challenge, format!("Bearer {realm}"));
        assert!(body.is_empty());

        let (status, challenge, _) =
            call(router(&h.server, "read"), get(Some("not-a-real-token"))).await;
        assert_eq!(status, 401);
        assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");

        let (status, challenge, _) = call(router(&h.server, "write"), get(Some(&token))).await;
        assert_eq!(status, 403);
        assert!(
            challenge.contains("error=\"insufficient_scope\", scope=\"write\""),
            "{challenge}"
        );
    });
}

#[test]
fn the_layer_answers_503_not_401_when_the_token_store_fails() {
    let server = Server::builder("https://as.example.com", registry(), Arc::new(DownStore))
        .build()
        .unwrap();
    block_on(async {
        let (status, challenge, _) = call(router(&server, "read"), get(Some("abc"))).await;
        assert_eq!(status, 503);
        assert!(challenge.is_empty());
    });
}

#[test]
fn the_layer_wraps_a_bare_hyper_service() {
    let h = Harness::new();
    let token = h.cc_token(BACKEND, "read");
    let service = ServiceBuilder::new()
        .layer(BearerLayer::new(h.server.bearer_guard(), scope("read")))
        .service_fn(|request: http::Request<Full<Bytes>>| async move {
            let info = request.extensions().get::<TokenInfo>().cloned().unwrap();
            Ok::<_, Infallible>(http::Response::new(Full::new(Bytes::from(
                info.client_id.to_string(),
            ))))
        });
    let request = |token: Option<&str>| {
        let mut request = http::Request::get("/");
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        request.body(Full::new(Bytes::new())).unwrap()
    };
    block_on(async {
        let ok = service
            .clone()
            .oneshot(request(Some(&token)))
            .await
            .unwrap();
        assert_eq!(ok.status(), 200);
        let body = ok.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(&body[..], b"backend");
        let refused = service.clone().oneshot(request(None)).await.unwrap();
        assert_eq!(refused.status(), 401);
        assert!(refused.headers().contains_key("www-authenticate"));
    });

    let down = Server::builder("https://as.example.com", registry(), Arc::new(DownStore))
        .build()
        .unwrap();
    let service = ServiceBuilder::new()
        .layer(BearerLayer::new(down.bearer_guard(), scope("read")))
        .service_fn(|_: http::Request<Full<Bytes>>| async move {
            Ok::<_, Infallible>(http::Response::new(Full::new(Bytes::new())))
        });
    let response = block_on(service.oneshot(request(Some("abc")))).unwrap();
    assert_eq!(response.status(), 503);
}

/// A server issuing JWT access tokens by default, and its key set.
struct JwtServer(Harness, grantflow::jose::KeySet);

impl std::ops::Deref for JwtServer {
    type Target = Harness;
    fn deref(&self) -> &Harness {
        &self.0
    }
}

fn jwt_server() -> JwtServer {
    use crate::jwt_access_tokens::{bootstrapped, harness_with};
    let keys = bootstrapped();
    let h = harness_with(
        keys.clone(),
        grantflow::jose::JwtAccessTokens::new(DEFAULT_AUD),
    );
    JwtServer(h, keys)
}

/// The layer over a guard that verifies JWT access tokens offline
/// ([`BearerGuard::jwt`](grantflow::guard::BearerGuard::jwt)): the resource server knows
/// only the issuer, its audience and where the keys are.
fn jwt_layer(h: &JwtServer, audience: &str, required: &str) -> BearerLayer {
    use grantflow::guard::BearerGuard;
    use grantflow::jose::{AccessTokenVerifier, JwkSet, JwksSource, Validation};

    let (h, keys) = (&h.0, h.1.clone());
    let verifier = AccessTokenVerifier::new(
        Validation::access_token(ISSUER, audience),
        JwkSet::default(),
    )
    .unwrap();
    let guard = BearerGuard::jwt(verifier, Some(Arc::new(keys) as Arc<dyn JwksSource>))
        .clock(Arc::new(h.clock.clone()));
    BearerLayer::new(guard, scope(required))
}

/// BT-05..BT-07 with JWT access tokens verified offline, through axum: a valid token
/// passes with its information; an expired one and one for another audience get 401
/// `invalid_token`, a missing scope 403 `insufficient_scope`, each with the exact
/// challenge (the realm of a JWT guard is its audience).
#[test]
fn bt_05_07_the_axum_layer_over_the_offline_jwt_guard() {
    let h = jwt_server();
    let jwt_router = |audience: &str, required: &str| {
        async fn me(token: TokenInfo) -> String {
            format!("{} {}", token.client_id, token.scope)
        }
        axum::Router::new()
            .route("/me", axum::routing::get(me))
            .layer(jwt_layer(&h, audience, required))
    };
    let token = h.cc_token(BACKEND, "read");
    assert_eq!(token.split('.').count(), 3, "a JWT access token");
    let realm = format!("Bearer realm=\"{DEFAULT_AUD}\"");
    let invalid = format!(
        "{realm}, error=\"invalid_token\", error_description=\"the access token is not active\""
    );
    block_on(async {
        let (status, _, body) = call(jwt_router(DEFAULT_AUD, "read"), get(Some(&token))).await;
        assert_eq!((status, body.as_str()), (200, "backend read"));

        let (status, challenge, body) =
            call(jwt_router(DEFAULT_AUD, "write"), get(Some(&token))).await;
        assert_eq!(status, 403);
        assert_eq!(
            challenge,
            format!("{realm}, error=\"insufficient_scope\", scope=\"write\"")
        );
        assert!(body.is_empty());

        let other = "https://other-api.example.com";
        let (status, challenge, _) = call(jwt_router(other, "read"), get(Some(&token))).await;
        assert_eq!(status, 401);
        assert_eq!(
            challenge,
            format!(
                "Bearer realm=\"{other}\", error=\"invalid_token\", \
                 error_description=\"the access token is not active\""
            )
        );

        let (status, challenge, _) = call(jwt_router(DEFAULT_AUD, "read"), get(None)).await;
        assert_eq!((status, challenge.as_str()), (401, realm.as_str()));
    });
    // A token that has expired (beyond the verifier's 30 s of clock leeway), never seen
    // by the guard before.
    let expiring = h.cc_token(BACKEND, "read");
    h.advance(TTL + std::time::Duration::from_secs(31));
    block_on(async {
        let (status, challenge, _) =
            call(jwt_router(DEFAULT_AUD, "read"), get(Some(&expiring))).await;
        assert_eq!((status, challenge.as_str()), (401, invalid.as_str()));
    });
}

/// The same through a bare hyper-style `service_fn`: the token's information is in the
/// request extensions, refusals carry the exact challenge.
#[test]
fn bt_05_07_the_layer_over_the_offline_jwt_guard_wraps_a_bare_hyper_service() {
    let h = jwt_server();
    let token = h.cc_token(BACKEND, "read");
    let service = |required: &str| {
        ServiceBuilder::new()
            .layer(jwt_layer(&h, DEFAULT_AUD, required))
            .service_fn(|request: http::Request<Full<Bytes>>| async move {
                let info = request.extensions().get::<TokenInfo>().cloned().unwrap();
                let audience = info.audience.iter().collect::<Vec<_>>().join(" ");
                Ok::<_, Infallible>(http::Response::new(Full::new(Bytes::from(format!(
                    "{} {audience}",
                    info.client_id
                )))))
            })
    };
    let request = http::Request::get("/")
        .header("authorization", format!("Bearer {token}"))
        .body(Full::new(Bytes::new()))
        .unwrap();
    block_on(async {
        let ok = service("read").oneshot(request.clone()).await.unwrap();
        assert_eq!(ok.status(), 200);
        let body = ok.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(body, format!("backend {DEFAULT_AUD}"));
        let refused = service("read write").oneshot(request).await.unwrap();
        assert_eq!(refused.status(), 403);
        assert_eq!(
            refused.headers()["www-authenticate"],
            format!(
                "Bearer realm=\"{DEFAULT_AUD}\", error=\"insufficient_scope\", scope=\"read write\""
            )
        );
    });
}
