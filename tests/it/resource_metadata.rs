//! Protected resource metadata (RFC 9728) published by the bearer guard: PR-01..PR-07,
//! PR-11.

use std::time::Duration;

use crate::support::authz::*;
use grantflow::guard::{BearerGuard, GuardRejection, ResourceMetadata};
use grantflow::*;

const MCP: &str = "https://api.example.com/mcp";
const MCP_METADATA: &str = "https://api.example.com/.well-known/oauth-protected-resource/mcp";

fn published(h: &Harness, resource: &str, metadata: ResourceMetadata) -> BearerGuard {
    h.server
        .bearer_guard()
        .resource(resource)
        .unwrap()
        .publish_metadata(metadata)
        .unwrap()
}

fn serve(guard: &BearerGuard, method: Method, path: &str, query: Option<&str>) -> HttpResponse {
    let mut request = HttpRequest::new(method);
    if let Some(query) = query {
        request = request.with_query(query);
    }
    guard.serve_metadata(&request, path)
}

fn refusal(guard: &BearerGuard, request: &HttpRequest, required: &str) -> HttpResponse {
    match block_on(guard.check(request, &Scope::parse(required).unwrap())) {
        Err(GuardRejection::Refused(response)) => response,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn pr_01_pr_02_the_document_says_what_the_guard_does() {
    let h = harness_with(|b| b.resource(MCP));
    let metadata = ResourceMetadata::new()
        .scopes_supported("read write")
        .resource_name("Example MCP server")
        .resource_documentation("https://api.example.com/docs");
    let guard = published(&h, MCP, metadata.clone());
    let document = json(&serve(
        &guard,
        Method::Get,
        "/.well-known/oauth-protected-resource/mcp",
        None,
    ));
    assert_eq!(
        document,
        serde_json::json!({
            "resource": MCP,
            "authorization_servers": [ISSUER],
            "bearer_methods_supported": ["header"],
            "scopes_supported": ["read", "write"],
            "resource_name": "Example MCP server",
            "resource_documentation": "https://api.example.com/docs",
        })
    );
    // Body tokens on: "body" is listed; "query" never is.
    let with_body = guard.form_body_tokens(true);
    let document = json(&serve(
        &with_body,
        Method::Get,
        "/.well-known/oauth-protected-resource/mcp",
        None,
    ));
    assert_eq!(
        document["bearer_methods_supported"],
        serde_json::json!(["header", "body"])
    );
    // Optional members absent, never empty.
    let bare = published(&h, MCP, ResourceMetadata::new().scopes_supported(""));
    let document = json(&serve(
        &bare,
        Method::Get,
        "/.well-known/oauth-protected-resource/mcp",
        None,
    ));
    assert_eq!(
        document.as_object().unwrap().keys().collect::<Vec<_>>(),
        [
            "authorization_servers",
            "bearer_methods_supported",
            "resource"
        ]
    );
}

#[test]
fn pr_01_malformed_members_are_configuration_errors() {
    let h = harness();
    let guard = || h.server.bearer_guard().resource(MCP).unwrap();
    for metadata in [
        ResourceMetadata::new().scopes_supported("bad\"scope"),
        ResourceMetadata::new().resource_name(""),
        ResourceMetadata::new().resource_name("evil\u{202e}name"),
        ResourceMetadata::new().resource_documentation("http://api.example.com/docs"),
        ResourceMetadata::new().resource_tos_uri("javascript:alert(1)"),
        ResourceMetadata::new().resource_policy_uri("https://api.example.com/p#x"),
        ResourceMetadata::new().max_age(Duration::from_secs(86_401)),
    ] {
        assert!(
            guard().publish_metadata(metadata.clone()).is_err(),
            "{metadata:?}"
        );
    }
    // No resource identifier, nothing to publish.
    assert!(
        h.server
            .bearer_guard()
            .publish_metadata(ResourceMetadata::new())
            .is_err()
    );
}

#[test]
fn pr_03_pr_04_location_is_derived_from_the_one_identifier() {
    let h = harness();
    for (resource, path, query) in [
        (MCP, "/.well-known/oauth-protected-resource/mcp", None),
        (
            "https://api.example.com/",
            "/.well-known/oauth-protected-resource",
            None,
        ),
        (
            "https://api.example.com",
            "/.well-known/oauth-protected-resource",
            None,
        ),
        (
            "https://api.example.com:8443/t1/?tenant=a",
            "/.well-known/oauth-protected-resource/t1/",
            Some("tenant=a"),
        ),
    ] {
        let guard = published(&h, resource, ResourceMetadata::new());
        assert_eq!(guard.metadata_path(), Some(path), "{resource}");
        let response = serve(&guard, Method::Get, path, query);
        assert_eq!(response.status, Status::OK, "{resource}");
        // PR-04: `resource` is the identifier, code point for code point.
        assert_eq!(json(&response)["resource"], resource);
    }
    let guard = published(&h, MCP, ResourceMetadata::new());
    assert_eq!(guard.metadata_url(), Some(MCP_METADATA));
    // Other paths, and other methods.
    assert_eq!(
        serve(
            &guard,
            Method::Get,
            "/.well-known/oauth-protected-resource",
            None
        )
        .status,
        Status::NOT_FOUND
    );
    assert_eq!(
        serve(
            &guard,
            Method::Get,
            "/.well-known/oauth-protected-resource/MCP",
            None
        )
        .status,
        Status::NOT_FOUND
    );
    let post = serve(
        &guard,
        Method::Post,
        "/.well-known/oauth-protected-resource/mcp",
        None,
    );
    assert_eq!(post.status, Status::METHOD_NOT_ALLOWED);
    assert_eq!(post.header("allow"), Some("GET, HEAD"));
    let head = serve(
        &guard,
        Method::Head,
        "/.well-known/oauth-protected-resource/mcp",
        None,
    );
    assert_eq!(head.status, Status::OK);
    assert!(head.body.is_empty());
    // Without published metadata: 404.
    let unpublished = h.server.bearer_guard().resource(MCP).unwrap();
    assert_eq!(unpublished.metadata_url(), None);
    assert_eq!(
        serve(
            &unpublished,
            Method::Get,
            "/.well-known/oauth-protected-resource/mcp",
            None
        )
        .status,
        Status::NOT_FOUND
    );
}

#[test]
fn pr_06_every_401_and_403_challenge_points_to_the_metadata() {
    let h = harness_with(|b| b.resource(MCP));
    let guard = published(&h, MCP, ResourceMetadata::new());
    let pointer = format!("resource_metadata=\"{MCP_METADATA}\"");
    // No token: 401, the pointer and no error (BT-05).
    let none = refusal(&guard, &HttpRequest::new(Method::Get), "");
    assert_eq!(none.status.as_u16(), 401);
    let challenge = none.header("www-authenticate").unwrap();
    assert!(challenge.starts_with("Bearer "), "{challenge}");
    assert!(challenge.contains(&pointer), "{challenge}");
    assert!(!challenge.contains("error="), "{challenge}");
    // An unknown token: 401 invalid_token with the pointer.
    let unknown = refusal(&guard, &bearer("not-a-token"), "");
    assert_eq!(unknown.status.as_u16(), 401);
    let challenge = unknown.header("www-authenticate").unwrap();
    assert!(challenge.contains("error=\"invalid_token\"") && challenge.contains(&pointer));
    // Too little scope: 403 with the pointer.
    let response = h.token_basic(
        "cc",
        CONF_SECRET,
        &format!(
            "grant_type=client_credentials&scope=read&resource={}",
            enc(MCP)
        ),
    );
    let token = json(&response)["access_token"].as_str().unwrap().to_owned();
    let forbidden = refusal(&guard, &bearer(&token), "admin");
    assert_eq!(forbidden.status.as_u16(), 403);
    assert!(challenge_of(&forbidden).contains(&pointer));
    // The token for this resource passes.
    assert!(block_on(guard.check(&bearer(&token), &Scope::parse("read").unwrap())).is_ok());
    // A malformed request is 400 without the pointer.
    let twice = HttpRequest::new(Method::Get)
        .with_header("authorization", "Bearer a")
        .with_header("authorization", "Bearer b");
    let bad = refusal(&guard, &twice, "");
    assert_eq!(bad.status.as_u16(), 400);
    assert!(!challenge_of(&bad).contains("resource_metadata"));
    // A guard without published metadata sends no pointer.
    let quiet = h.server.bearer_guard().resource(MCP).unwrap();
    let none = refusal(&quiet, &HttpRequest::new(Method::Get), "");
    assert!(!challenge_of(&none).contains("resource_metadata"));
}

#[test]
fn pr_07_the_document_may_be_cached_for_an_hour_by_default() {
    let h = harness();
    let guard = published(&h, MCP, ResourceMetadata::new());
    let response = serve(
        &guard,
        Method::Get,
        "/.well-known/oauth-protected-resource/mcp",
        None,
    );
    assert_eq!(response.header("cache-control"), Some("max-age=3600"));
    assert_eq!(response.header("content-type"), Some("application/json"));
    let guard = published(
        &h,
        MCP,
        ResourceMetadata::new().max_age(Duration::from_secs(60)),
    );
    let response = serve(
        &guard,
        Method::Get,
        "/.well-known/oauth-protected-resource/mcp",
        None,
    );
    assert_eq!(response.header("cache-control"), Some("max-age=60"));
}

#[test]
fn pr_11_resource_identifiers_are_https_urls() {
    let h = harness();
    for bad in [
        "http://api.example.com/mcp",
        "https://api.example.com/mcp#x",
        "urn:example:api",
        "/mcp",
        "https:api.example.com",
    ] {
        assert!(h.server.bearer_guard().resource(bad).is_err(), "{bad}");
    }
    // http only where the server allows an http issuer (local development).
    let local = Server::builder(
        "http://127.0.0.1:8080",
        clients(),
        std::sync::Arc::new(MemoryTokenStore::new()),
    )
    .dangerous(|d| d.allow_http_issuer())
    .build()
    .unwrap();
    assert!(
        local
            .bearer_guard()
            .resource("http://127.0.0.1:8080/api/data")
            .is_ok()
    );
}
