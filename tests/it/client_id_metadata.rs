//! Client ID metadata documents: a `client_id` that is an `https` URL resolved through the
//! host's fetcher, validated, cached, and used like a registered client.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use grantflow::authorize::AuthorizeError;
use grantflow::fetch::{FetchError, FetchRequest, FetchResponse, Fetcher};
use grantflow::{Client, ClientType, ConfigError, GrantType, MemoryTokenStore, Server, Status};

use crate::support::authz::*;

const DOC_URL: &str = "https://app.example/client.json";

/// A fetcher over canned responses, recording every URL it was asked for. A URL with no
/// response fails as an unreachable host would.
#[derive(Debug, Default)]
struct Stub {
    responses: Mutex<HashMap<String, FetchResponse>>,
    requested: Mutex<Vec<String>>,
}

impl Stub {
    fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    fn serve(&self, url: &str, response: FetchResponse) {
        self.responses
            .lock()
            .unwrap()
            .insert(url.to_owned(), response);
    }

    fn serve_json(&self, url: &str, document: &serde_json::Value, cache_control: &str) {
        self.serve(
            url,
            FetchResponse::new(200, document.to_string().into_bytes())
                .with_content_type("application/json")
                .with_cache_control(cache_control),
        );
    }

    fn requested(&self) -> Vec<String> {
        self.requested.lock().unwrap().clone()
    }
}

#[async_trait::async_trait]
impl Fetcher for Stub {
    async fn fetch(&self, request: &FetchRequest) -> Result<FetchResponse, FetchError> {
        self.requested
            .lock()
            .unwrap()
            .push(request.url().to_owned());
        assert_eq!(request.max_bytes(), 5 * 1024);
        self.responses
            .lock()
            .unwrap()
            .get(request.url())
            .cloned()
            .ok_or_else(|| FetchError::new("unreachable"))
    }
}

/// A public client's document for `url`.
fn public_document(url: &str) -> serde_json::Value {
    serde_json::json!({
        "client_id": url,
        "client_name": "Example Agent",
        "client_uri": "https://app.example",
        "logo_uri": "https://app.example/logo.png",
        "redirect_uris": ["https://app.example/cb", "http://127.0.0.1/cb"],
        "grant_types": ["authorization_code", "refresh_token"],
        "token_endpoint_auth_method": "none",
        "scope": "read write",
    })
}

fn harness_over(stub: &Arc<Stub>) -> Harness {
    let fetcher: Arc<dyn Fetcher> = stub.clone();
    harness_with(|b| b.fetcher(fetcher).client_id_metadata_documents(true))
}

fn query(client_id: &str, extra: &str) -> String {
    format!(
        "response_type=code&client_id={}&redirect_uri={}&scope=read&{PKCE}{extra}",
        enc(client_id),
        enc("https://app.example/cb")
    )
}

/// The request was refused locally: no redirect anywhere.
#[track_caller]
fn assert_local_error(result: Result<grantflow::authorize::PendingAuthorization, AuthorizeError>) {
    match result {
        Err(AuthorizeError::Rejected(e)) => {
            assert_eq!(e.code().as_str(), "invalid_request", "{e:?}");
        }
        other => panic!("expected a local error, got {other:?}"),
    }
}

#[test]
fn cm_01_feature_off_url_client_id_is_unknown() {
    let h = harness();
    assert_local_error(h.authorize(&query(DOC_URL, "")));
}

#[test]
fn cm_02_v_cimd_url_forms() {
    for (url, accepted) in [
        ("https://app.example.com/oauth/client.json", true),
        ("https://app.example.com:8443/c", true),
        ("http://app.example.com/c", false),
        ("https://app.example.com", false),
        ("https://app.example.com/", false),
        ("https://app.example.com/a/../c", false),
        ("https://app.example.com/./c", false),
        ("https://app.example.com/a/%2E%2E/c", false),
        ("https://app.example.com/c#x", false),
        ("https://user:pw@app.example.com/c", false),
        ("https://app.example.com/c?v=1", false),
        ("https://APP.example.com/c", false),
    ] {
        let stub = Stub::new();
        stub.serve_json(url, &public_document(url), "max-age=600");
        let h = harness_over(&stub);
        let result = h.authorize(&query(url, ""));
        if accepted {
            assert!(result.is_ok(), "{url}: {result:?}");
            assert_eq!(stub.requested(), [url]);
        } else {
            assert_local_error(result);
            assert!(stub.requested().is_empty(), "{url} was fetched");
        }
    }
}

#[test]
fn cm_03_only_200_is_success_and_redirects_are_not_followed() {
    let stub = Stub::new();
    let h = harness_over(&stub);
    for status in [302, 404, 500] {
        let url = format!("https://app.example/{status}.json");
        let mut response =
            FetchResponse::new(status, public_document(&url).to_string().into_bytes())
                .with_content_type("application/json");
        if status == 302 {
            response = response.with_cache_control("max-age=600");
        }
        stub.serve(&url, response);
        assert_local_error(h.authorize(&query(&url, "")));
    }
    // The redirect's target was never requested: only the three document URLs were.
    assert_eq!(stub.requested().len(), 3);
    // An unreachable host is a local error too.
    assert_local_error(h.authorize(&query("https://down.example/c.json", "")));
}

#[test]
fn cm_04_special_use_address_literals_are_never_fetched() {
    let stub = Stub::new();
    let h = harness_over(&stub);
    for url in [
        "https://127.0.0.1/c.json",
        "https://[::1]/c.json",
        "https://10.0.0.5/c.json",
        "https://169.254.169.254/latest/meta-data",
        "https://localhost/c.json",
    ] {
        stub.serve_json(url, &public_document(url), "max-age=600");
        assert_local_error(h.authorize(&query(url, "")));
    }
    assert!(stub.requested().is_empty());
}

#[test]
fn cm_05_oversized_document_is_refused() {
    let stub = Stub::new();
    let mut document = public_document(DOC_URL);
    document["client_name"] = serde_json::Value::String("x".repeat(6 * 1024));
    stub.serve_json(DOC_URL, &document, "max-age=600");
    assert_local_error(harness_over(&stub).authorize(&query(DOC_URL, "")));
}

#[test]
fn cm_06_document_is_validated() {
    let refused = |document: serde_json::Value, content_type: &str| {
        let stub = Stub::new();
        stub.serve(
            DOC_URL,
            FetchResponse::new(200, document.to_string().into_bytes())
                .with_content_type(content_type),
        );
        assert_local_error(harness_over(&stub).authorize(&query(DOC_URL, "")));
    };
    let mut trailing_slash = public_document(DOC_URL);
    trailing_slash["client_id"] = format!("{DOC_URL}/").into();
    refused(trailing_slash, "application/json");
    let mut missing_id = public_document(DOC_URL);
    missing_id.as_object_mut().unwrap().remove("client_id");
    refused(missing_id, "application/json");
    let mut fragment = public_document(DOC_URL);
    fragment["redirect_uris"] = serde_json::json!(["https://app.example/cb#x"]);
    refused(fragment, "application/json");
    refused(public_document(DOC_URL), "text/html");
    refused(serde_json::json!([DOC_URL]), "application/json");
    // A `+json` type and unknown members are fine.
    let stub = Stub::new();
    let mut extra = public_document(DOC_URL);
    extra["software_statement_x"] = true.into();
    stub.serve(
        DOC_URL,
        FetchResponse::new(200, extra.to_string().into_bytes())
            .with_content_type("application/client-metadata+json; charset=utf-8"),
    );
    assert!(harness_over(&stub).authorize(&query(DOC_URL, "")).is_ok());
}

#[test]
fn cm_07_shared_secret_documents_are_refused() {
    for (method, extra) in [
        (Some("client_secret_basic"), None),
        (Some("client_secret_post"), None),
        (Some("client_secret_jwt"), None),
        // Without a method the RFC 7591 default would be a shared secret.
        (None, None),
        (Some("none"), Some(("client_secret", "s3cr3t"))),
    ] {
        let stub = Stub::new();
        let mut document = public_document(DOC_URL);
        let object = document.as_object_mut().unwrap();
        match method {
            Some(method) => object.insert("token_endpoint_auth_method".into(), method.into()),
            None => object.remove("token_endpoint_auth_method"),
        };
        if let Some((name, value)) = extra {
            object.insert(name.into(), value.into());
        }
        stub.serve_json(DOC_URL, &document, "max-age=600");
        assert_local_error(harness_over(&stub).authorize(&query(DOC_URL, "")));
    }
}

#[test]
fn cm_07_private_key_jwt_document_client_must_authenticate() {
    let stub = Stub::new();
    let mut document = public_document(DOC_URL);
    document["token_endpoint_auth_method"] = "private_key_jwt".into();
    document["jwks"] = serde_json::json!({"keys":[{
        "kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
    }]});
    stub.serve_json(DOC_URL, &document, "max-age=600");
    let fetcher: Arc<dyn Fetcher> = stub.clone();
    let h = harness_with(|b| {
        b.fetcher(fetcher)
            .client_id_metadata_documents(true)
            .private_key_jwt(true)
    });
    let pending = h.authorize(&query(DOC_URL, "")).expect("a valid request");
    assert!(!pending.client().is_public());
    let code = location_param(&h.approve(pending, "alice", "read"), "code").unwrap();
    let response = h.exchange(DOC_URL, &code);
    assert_token_error(&response, 401, "invalid_client");
}

#[test]
fn cm_08_redirect_uris_come_only_from_the_document() {
    let stub = Stub::new();
    stub.serve_json(DOC_URL, &public_document(DOC_URL), "max-age=600");
    let h = harness_over(&stub);
    let with_redirect = |uri: &str| {
        format!(
            "response_type=code&client_id={}&redirect_uri={}&scope=read&{PKCE}",
            enc(DOC_URL),
            enc(uri)
        )
    };
    assert!(
        h.authorize(&with_redirect("http://127.0.0.1:5173/cb"))
            .is_ok()
    );
    assert_local_error(h.authorize(&with_redirect("https://evil.example/cb")));
    assert_local_error(h.authorize(&with_redirect("https://app.example/cb/")));
}

#[test]
fn cm_09_documents_are_cached_within_their_freshness() {
    let stub = Stub::new();
    stub.serve_json(DOC_URL, &public_document(DOC_URL), "max-age=600");
    let h = harness_over(&stub);
    assert!(h.authorize(&query(DOC_URL, "")).is_ok());
    h.clock.advance(Duration::from_secs(300));
    assert!(h.authorize(&query(DOC_URL, "")).is_ok());
    assert_eq!(stub.requested().len(), 1, "fetched again while fresh");
    h.clock.advance(Duration::from_secs(301));
    assert!(h.authorize(&query(DOC_URL, "")).is_ok());
    assert_eq!(
        stub.requested().len(),
        2,
        "an expired document is fetched again"
    );
}

#[test]
fn cm_09_errors_and_invalid_documents_are_not_cached() {
    let stub = Stub::new();
    stub.serve(
        DOC_URL,
        FetchResponse::new(500, Vec::new()).with_cache_control("max-age=600"),
    );
    let h = harness_over(&stub);
    assert_local_error(h.authorize(&query(DOC_URL, "")));
    let mut invalid = public_document(DOC_URL);
    invalid["redirect_uris"] = serde_json::json!(["javascript:alert(1)"]);
    stub.serve_json(DOC_URL, &invalid, "max-age=600");
    assert_local_error(h.authorize(&query(DOC_URL, "")));
    stub.serve_json(DOC_URL, &public_document(DOC_URL), "max-age=600");
    assert!(h.authorize(&query(DOC_URL, "")).is_ok());
    assert_eq!(stub.requested().len(), 3);
}

#[test]
fn cm_09_no_store_is_cached_for_the_floor_only() {
    let stub = Stub::new();
    stub.serve_json(DOC_URL, &public_document(DOC_URL), "no-store");
    let h = harness_over(&stub);
    assert!(h.authorize(&query(DOC_URL, "")).is_ok());
    h.clock.advance(Duration::from_secs(59));
    assert!(h.authorize(&query(DOC_URL, "")).is_ok());
    assert_eq!(stub.requested().len(), 1);
    h.clock.advance(Duration::from_secs(2));
    assert!(h.authorize(&query(DOC_URL, "")).is_ok());
    assert_eq!(stub.requested().len(), 2);
}

#[test]
fn cm_11_consent_learns_the_client_is_unregistered() {
    let stub = Stub::new();
    stub.serve_json(DOC_URL, &public_document(DOC_URL), "max-age=600");
    let h = harness_over(&stub);
    let pending = h.authorize(&query(DOC_URL, "")).unwrap();
    assert!(pending.is_unregistered_client());
    assert_eq!(pending.client_id_host(), Some("app.example"));
    assert_eq!(pending.client_name(), Some("Example Agent"));
    let document = pending.client().metadata_document().unwrap();
    assert_eq!(
        document.metadata().logo_uri(),
        Some("https://app.example/logo.png")
    );
    assert_eq!(
        document.metadata().client_uri(),
        Some("https://app.example")
    );
    let registered = h
        .authorize(&format!(
            "response_type=code&client_id=app&scope=read&{PKCE}"
        ))
        .unwrap();
    assert!(!registered.is_unregistered_client());
    assert_eq!(registered.client_id_host(), None);
}

#[test]
fn cm_12_metadata_advertises_support_only_when_on() {
    let on = json_map(&harness_over(&Stub::new()).server.metadata());
    assert_eq!(on["client_id_metadata_document_supported"], true);
    let off = json_map(&harness().server.metadata());
    assert!(!off.contains_key("client_id_metadata_document_supported"));
    let fetcher: Arc<dyn Fetcher> = Stub::new();
    let fetcher_only = harness_with(|b| b.fetcher(fetcher));
    assert!(
        !json_map(&fetcher_only.server.metadata())
            .contains_key("client_id_metadata_document_supported")
    );
    let refused = Server::builder(
        "https://as.example.com",
        clients(),
        Arc::new(MemoryTokenStore::new()),
    )
    .client_id_metadata_documents(true)
    .build();
    assert!(
        matches!(refused, Err(ConfigError::Setting(_))),
        "{refused:?}"
    );
}

#[test]
fn cm_13_a_registered_url_client_id_is_not_fetched() {
    let stub = Stub::new();
    let fetcher: Arc<dyn Fetcher> = stub.clone();
    let registry = Arc::new(register([Client::builder(DOC_URL, ClientType::Public)
        .grant_type(GrantType::AUTHORIZATION_CODE)
        .allowed_scope("read")
        .redirect_uri("https://app.example/cb")]));
    let h =
        Harness::builder(registry).build(|b| b.fetcher(fetcher).client_id_metadata_documents(true));
    let pending = h.authorize(&query(DOC_URL, "")).unwrap();
    assert!(!pending.is_unregistered_client());
    assert!(stub.requested().is_empty());
}

#[test]
fn cm_14_public_document_client_needs_pkce_and_completes_the_flow() {
    let stub = Stub::new();
    stub.serve_json(DOC_URL, &public_document(DOC_URL), "max-age=600");
    let h = harness_over(&stub);
    let without_pkce = format!(
        "response_type=code&client_id={}&redirect_uri={}&scope=read&state=s",
        enc(DOC_URL),
        enc("https://app.example/cb")
    );
    assert_location_error(
        &redirect_error(h.authorize(&without_pkce)),
        "invalid_request",
    );
    let code = h.code_with(&query(DOC_URL, ""));
    let response = h.exchange(&enc(DOC_URL), &code);
    assert_eq!(response.status, Status::OK, "{:?}", json(&response));
    assert!(json(&response)["refresh_token"].is_string());
    // The token endpoint found the client through the same cache: one fetch in all.
    assert_eq!(stub.requested().len(), 1);
}
