//! Authorization server metadata (RFC 8414): MD-01..MD-07, with the IM-03 and PK-13
//! metadata rules and the V-META vectors.

use std::sync::Arc;

use crate::support::resource::*;
use grantflow::metadata::well_known_url;
use grantflow::{
    ConfigError, HttpRequest, MemoryClientRegistry, MemoryTokenStore, Method, Server, ServerBuilder,
};
use serde_json::{Value, json};

const CODE: &str = "authorization_code";
const REFRESH: &str = "refresh_token";
const DEVICE: &str = "urn:ietf:params:oauth:grant-type:device_code";

fn builder(issuer: &str) -> ServerBuilder {
    let (clients, tokens) = (MemoryClientRegistry::new(), MemoryTokenStore::new());
    Server::builder(issuer, Arc::new(clients), Arc::new(tokens))
}

/// A server with the code (and refresh) grants, as after the authorization code issue.
fn code_server() -> Server {
    build_with(|| builder(ISSUER), &[CODE, REFRESH]).unwrap()
}

fn doc(server: &Server) -> Value {
    let response = server.metadata();
    assert_eq!(response.status.as_u16(), 200);
    assert_eq!(response.header("content-type"), Some("application/json"));
    json(&response)
}

fn strings(value: &Value) -> Vec<&str> {
    value
        .as_array()
        .expect("an array")
        .iter()
        .map(|v| v.as_str().expect("a string"))
        .collect()
}

/// Each member of the object `expected` is in `document`, with the same value.
#[track_caller]
fn assert_members(document: &Value, expected: Value) {
    for (member, value) in expected.as_object().expect("an object") {
        assert_eq!(&document[member], value, "{member}");
    }
}

/// MD-05: no member is `null` or an empty array.
fn assert_no_empty_members(document: &Value) {
    for (name, value) in document.as_object().expect("an object") {
        assert!(!value.is_null(), "{name} is null");
        if let Some(array) = value.as_array() {
            assert!(!array.is_empty(), "{name} is an empty array");
        }
    }
}

#[test]
fn md_01_v_meta_2_well_known_urls() {
    let expected = json!({
        "https://example.com": "https://example.com/.well-known/oauth-authorization-server",
        "https://example.com/issuer1": "https://example.com/.well-known/oauth-authorization-server/issuer1",
        "https://example.com/issuer1/": "https://example.com/.well-known/oauth-authorization-server/issuer1",
        "https://example.com:8443/": "https://example.com:8443/.well-known/oauth-authorization-server",
    });
    for (issuer, url) in expected.as_object().unwrap() {
        assert_eq!(&well_known_url(issuer).unwrap(), url);
    }
}

#[test]
fn md_01_head_on_metadata_answers_with_the_get_length() {
    let server = builder("https://as.example.com").build().unwrap();
    let path = server.metadata_path().to_owned();
    let get = server.serve_metadata(&HttpRequest::new(Method::Get), &path);
    let head = server.serve_metadata(&HttpRequest::new(Method::Head), &path);
    // RFC 9110 §9.3.2: the same headers as GET; the body is what tells the framework
    // the Content-Length to send, and the framework leaves it out.
    assert_eq!(head, get);
    assert!(!head.body.is_empty());
    for method in [Method::Post, Method::Other] {
        let refused = server.serve_metadata(&HttpRequest::new(method), &path);
        assert_eq!(refused.status.as_u16(), 405);
        assert_eq!(refused.header("allow"), Some("GET, HEAD"));
    }
}

#[test]
fn md_01_tenant_metadata_is_served_at_its_path_only() {
    let server = builder("https://as.example.com/t1").build().unwrap();
    assert_eq!(
        server.metadata_path(),
        "/.well-known/oauth-authorization-server/t1"
    );
    assert_eq!(
        server.metadata_url(),
        "https://as.example.com/.well-known/oauth-authorization-server/t1"
    );
    let get = HttpRequest::new(Method::Get);
    let response = server.serve_metadata(&get, "/.well-known/oauth-authorization-server/t1");
    assert_eq!(response.status.as_u16(), 200);
    assert_eq!(response.header("content-type"), Some("application/json"));
    assert_eq!(json(&response)["issuer"], "https://as.example.com/t1");
    // Unknown tenants and the bare well-known path: an ordinary 404.
    for other in [
        "/.well-known/oauth-authorization-server/t2",
        "/.well-known/oauth-authorization-server",
        "/t1/.well-known/oauth-authorization-server",
    ] {
        let response = server.serve_metadata(&get, other);
        assert_eq!(response.status.as_u16(), 404, "{other}");
    }
    let t1 = "/.well-known/oauth-authorization-server/t1";
    let head = server.serve_metadata(&HttpRequest::new(Method::Head), t1);
    assert_eq!(head.status.as_u16(), 200);
    // The GET answer, so that the framework sends its Content-Length without the body.
    assert_eq!(head, response);
    // Fetched by GET.
    let response = server.serve_metadata(&HttpRequest::new(Method::Post), t1);
    assert_eq!(response.status.as_u16(), 405);
    assert_eq!(response.header("allow"), Some("GET, HEAD"));
}

#[test]
fn md_02_issuer_is_identical_to_the_configured_one() {
    for issuer in [
        "https://as.example.com",
        "https://example.com/issuer1/",
        "https://example.com/issuer1",
    ] {
        let server = builder(issuer).build().unwrap();
        assert_eq!(doc(&server)["issuer"], issuer);
        // The URL the document is served from is built from that same issuer.
        assert_eq!(server.metadata_url(), well_known_url(issuer).unwrap());
    }
}

#[test]
fn md_02_issuer_must_be_https_without_query_or_fragment() {
    for issuer in [
        "http://as.example.com",
        "https://as.example.com?t=1",
        "https://as.example.com#x",
    ] {
        assert!(
            matches!(builder(issuer).build(), Err(ConfigError::Issuer(_))),
            "{issuer}"
        );
    }
}

#[test]
fn is_03_metadata_sets_the_iss_parameter_flag_and_iss_equals_the_issuer() {
    // Every authorization response carries `iss` (IS-01), so the flag is true; leaving it
    // out would tell clients the opposite.
    let document = doc(&builder(ISSUER).build().unwrap());
    assert_members(
        &document,
        json!({
            "authorization_response_iss_parameter_supported": true,
            "issuer": ISSUER,
        }),
    );
}

#[test]
fn md_03_required_members_are_present() {
    let server = build_with(|| builder(ISSUER).scopes_supported("write read"), &[CODE]).unwrap();
    let document = doc(&server);
    assert_members(
        &document,
        json!({
            "issuer": ISSUER,
            "authorization_endpoint": "https://as.example.com/authorize",
            "token_endpoint": "https://as.example.com/token",
            "response_types_supported": ["code"],
            "scopes_supported": ["read", "write"],
        }),
    );
    assert!(document.get("jwks_uri").is_none());
}

#[test]
fn md_04_defaults_that_would_be_wrong_are_explicit() {
    let document = doc(&code_server());
    let grant_types = strings(&document["grant_types_supported"]);
    assert!(grant_types.contains(&CODE));
    assert!(grant_types.contains(&"client_credentials"));
    assert!(!grant_types.contains(&"implicit"));
    assert!(!grant_types.contains(&"password"));
    assert_members(
        &document,
        json!({
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
            "response_modes_supported": ["query"],
            "code_challenge_methods_supported": ["S256"],
        }),
    );
}

#[test]
fn md_04_grant_types_follow_the_registered_handlers() {
    let h = Harness::new();
    let document = doc(&h.server);
    let listed = strings(&document["grant_types_supported"]);
    let registered: Vec<&str> = h.server.grant_types().collect();
    assert_eq!(listed, registered);
    assert!(listed.contains(&USER_GRANT));
}

#[test]
fn md_05_no_empty_arrays_in_any_configuration() {
    let servers = [
        builder(ISSUER).build().unwrap(),
        builder(ISSUER).scopes_supported("").build().unwrap(),
        code_server(),
        build_with(|| builder(ISSUER), &[DEVICE]).unwrap(),
        build_with(
            || {
                builder(ISSUER)
                    .scopes_supported("read")
                    .service_documentation("https://docs.example.com")
            },
            &[CODE, REFRESH, DEVICE],
        )
        .unwrap(),
    ];
    for server in &servers {
        assert_no_empty_members(&doc(server));
    }
    // Without scopes configured, scopes_supported is left out rather than [].
    assert!(doc(&servers[1]).get("scopes_supported").is_none());
}

#[test]
fn md_05_no_jwt_auth_methods_so_no_signing_alg_lists() {
    let document = doc(&code_server());
    for member in [
        "token_endpoint_auth_methods_supported",
        "revocation_endpoint_auth_methods_supported",
        "introspection_endpoint_auth_methods_supported",
    ] {
        let methods = strings(&document[member]);
        assert!(!methods.contains(&"private_key_jwt") && !methods.contains(&"client_secret_jwt"));
    }
    assert!(
        document
            .get("token_endpoint_auth_signing_alg_values_supported")
            .is_none()
    );
}

#[test]
fn md_06_code_flow_features_follow_the_built_in_code_grant_and_pkce_settings() {
    // The authorization code grant is built in, so every server advertises the code flow.
    let default = doc(&builder(ISSUER).build().unwrap());
    for member in [
        "authorization_endpoint",
        "response_types_supported",
        "response_modes_supported",
        "code_challenge_methods_supported",
        "authorization_response_iss_parameter_supported",
    ] {
        assert!(default.get(member).is_some(), "{member} missing");
    }
    assert_eq!(default["code_challenge_methods_supported"], json!(["S256"]));
    let plain = doc(&builder(ISSUER)
        .dangerous(|d| d.allow_plain_pkce())
        .build()
        .unwrap());
    assert_eq!(
        plain["code_challenge_methods_supported"],
        json!(["S256", "plain"])
    );
    let with = doc(&code_server());
    assert_members(
        &with,
        json!({
            "authorization_response_iss_parameter_supported": true,
            "authorization_endpoint": "https://as.example.com/authorize",
        }),
    );
}

#[test]
fn md_06_device_endpoint_appears_only_with_the_device_grant() {
    assert!(
        doc(&builder(ISSUER).build().unwrap())
            .get("device_authorization_endpoint")
            .is_none()
    );
    let document = doc(&build_with(|| builder(ISSUER), &[DEVICE]).unwrap());
    assert_eq!(
        document["device_authorization_endpoint"],
        "https://as.example.com/device_authorization"
    );
    assert!(strings(&document["grant_types_supported"]).contains(&DEVICE));
}

#[test]
fn md_06_revocation_and_introspection_are_advertised_with_their_auth_methods() {
    let document = doc(&builder(ISSUER).build().unwrap());
    assert_members(
        &document,
        json!({
            "revocation_endpoint": "https://as.example.com/revoke",
            "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
            "introspection_endpoint": "https://as.example.com/introspect",
            "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        }),
    );
}

#[test]
fn md_06_endpoint_urls_are_configurable_and_checked() {
    let server = build_with(
        || {
            builder("https://as.example.com/tenant/")
                .authorization_endpoint("https://login.example.com/oauth/authorize")
                .token_endpoint("https://api.example.com/oauth/token")
                .revocation_endpoint("https://api.example.com/oauth/revoke")
                .introspection_endpoint("https://api.example.com/oauth/introspect")
                .device_authorization_endpoint("https://api.example.com/oauth/device")
        },
        &[CODE, DEVICE],
    )
    .unwrap();
    let document = doc(&server);
    assert_members(
        &document,
        json!({
            "issuer": "https://as.example.com/tenant/",
            "authorization_endpoint": "https://login.example.com/oauth/authorize",
            "token_endpoint": "https://api.example.com/oauth/token",
            "revocation_endpoint": "https://api.example.com/oauth/revoke",
            "introspection_endpoint": "https://api.example.com/oauth/introspect",
            "device_authorization_endpoint": "https://api.example.com/oauth/device",
        }),
    );
    // Defaults hang off the issuer without doubling its trailing slash.
    let document = doc(&builder("https://as.example.com/tenant/").build().unwrap());
    assert_eq!(
        document["token_endpoint"],
        "https://as.example.com/tenant/token"
    );
    for bad in [
        "http://api.example.com/token",
        "/token",
        "https://api.example.com/token#x",
    ] {
        assert!(
            matches!(
                builder(ISSUER).token_endpoint(bad).build(),
                Err(ConfigError::Setting(_))
            ),
            "{bad}"
        );
    }
    assert!(
        builder(ISSUER)
            .scopes_supported("bad\"scope")
            .build()
            .is_err()
    );
}

#[test]
fn md_07_v_meta_1_full_document() {
    let server = build_with(
        || {
            builder("https://as.example.com")
                .scopes_supported("read write")
                .service_documentation("https://as.example.com/docs")
        },
        &[CODE, REFRESH, DEVICE],
    )
    .unwrap();
    let mut document = doc(&server);
    // Grant types follow the server's registration order; compare them as a set.
    let mut grant_types = strings(&document["grant_types_supported"])
        .iter()
        .map(|s| s.to_string())
        .collect::<Vec<_>>();
    grant_types.sort();
    let mut expected_grants = vec![CODE, REFRESH, "client_credentials", DEVICE];
    expected_grants.sort_unstable();
    assert_eq!(grant_types, expected_grants);
    document["grant_types_supported"] = json!(null);
    assert_eq!(
        document,
        json!({
            "issuer": "https://as.example.com",
            "authorization_endpoint": "https://as.example.com/authorize",
            "token_endpoint": "https://as.example.com/token",
            "response_types_supported": ["code"],
            "request_parameter_supported": true,
            "request_uri_parameter_supported": false,
            "request_object_signing_alg_values_supported": ["ES256", "EdDSA", "RS256", "PS256"],
            "response_modes_supported": ["query"],
            "grant_types_supported": null,
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
            "scopes_supported": ["read", "write"],
            "revocation_endpoint": "https://as.example.com/revoke",
            "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
            "introspection_endpoint": "https://as.example.com/introspect",
            "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "device_authorization_endpoint": "https://as.example.com/device_authorization",
            "authorization_response_iss_parameter_supported": true,
            "service_documentation": "https://as.example.com/docs"
        })
    );
}

#[test]
fn md_07_published_metadata_agrees_with_the_server() {
    // The document is what the server actually does: its issuer, its grant types, and
    // the endpoints it serves. (No OIDC discovery document is served, so there is no
    // second document to disagree with.)
    let h = Harness::new();
    let document = doc(&h.server);
    assert_eq!(document["issuer"], h.server.issuer());
    assert_eq!(
        strings(&document["grant_types_supported"]),
        h.server.grant_types().collect::<Vec<_>>()
    );
    assert_eq!(h.server.metadata().body, h.server.metadata().body);
}

#[test]
fn im_03_metadata_does_not_suggest_implicit() {
    let document = doc(&code_server());
    assert_members(
        &document,
        json!({
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
        }),
    );
    assert!(!strings(&document["grant_types_supported"]).contains(&"implicit"));
}

#[test]
fn pk_13_metadata_lists_s256_only() {
    assert_eq!(
        doc(&code_server())["code_challenge_methods_supported"],
        json!(["S256"])
    );
}
