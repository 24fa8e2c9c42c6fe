//! `Server::register` and `Server::client_configuration` end to end on the memory registry:
//! never a panic or 5xx, every refusal a 400 RFC 7591 error with `no-store`; an accepted
//! body gives 201 with a generated `client_id` (`dcr_`, never the one sent), no member the
//! server does not know, and a registration access token that reads (rotating it), updates
//! with the registered metadata, and deletes the client (DR-01, DR-03..DR-07, DR-10..DR-15).
//! The second half of the input is sent as an update of a registered client.
#![no_main]

use std::sync::Arc;
use std::time::Duration;

use grantflow::limiter::MemoryAttemptLimiter;
use grantflow::registration::OpenRegistration;
use grantflow::{
    ClientId, ClientRegistry as _, HttpRequest, HttpResponse, MemoryClientRegistry,
    MemoryTokenStore, Method, Server,
};
use grantflow_fuzz::block_on;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

/// Every member a client information response may hold.
const KNOWN: [&str; 26] = [
    "client_id",
    "client_id_issued_at",
    "client_secret",
    "client_secret_expires_at",
    "registration_access_token",
    "registration_client_uri",
    "redirect_uris",
    "token_endpoint_auth_method",
    "grant_types",
    "response_types",
    "client_name",
    "client_uri",
    "logo_uri",
    "tos_uri",
    "policy_uri",
    "scope",
    "contacts",
    "jwks",
    "jwks_uri",
    "software_id",
    "software_version",
    "token_endpoint_auth_signing_alg",
    "id_token_signed_response_alg",
    "userinfo_signed_response_alg",
    "subject_type",
    "post_logout_redirect_uris",
];

fn server() -> (Server, Arc<MemoryClientRegistry>) {
    let clients = Arc::new(MemoryClientRegistry::new().with_registration_limit(4));
    let limiter = MemoryAttemptLimiter::new(1000, Duration::from_secs(60));
    let server = Server::builder(
        "https://as.example.com",
        clients.clone(),
        Arc::new(MemoryTokenStore::new()),
    )
    .private_key_jwt(true)
    .client_registration(
        clients.clone(),
        Arc::new(OpenRegistration::new(Arc::new(limiter))),
    )
    .build()
    .expect("a valid configuration");
    (server, clients)
}

fn json_request(method: Method, body: &[u8], token: Option<&str>) -> HttpRequest {
    let request = HttpRequest::new(method)
        .with_header("content-type", "application/json")
        .with_body(body.to_vec());
    match token {
        Some(token) => request.with_header("authorization", format!("Bearer {token}")),
        None => request,
    }
}

/// A refusal: 400 with an RFC 7591 §3.2.2 code, JSON and `no-store`.
fn check_refusal(response: &HttpResponse) {
    assert_eq!(response.status.as_u16(), 400, "{response:?}");
    assert_eq!(response.header("cache-control"), Some("no-store"));
    let body: Value = serde_json::from_slice(&response.body).expect("a JSON error");
    let error = body["error"].as_str().expect("an error code");
    assert!(
        ["invalid_client_metadata", "invalid_redirect_uri"].contains(&error),
        "{error}"
    );
}

fuzz_target!(|input: (&[u8], &[u8])| {
    let (body, update) = input;
    let (server, clients) = server();
    let created = block_on(server.register(&json_request(Method::Post, body, None)))
        .expect("memory stores never fail");
    if created.status.as_u16() != 201 {
        check_refusal(&created);
        assert_eq!(clients.registrations(), 0);
        return;
    }
    assert_eq!(created.header("cache-control"), Some("no-store"));
    let info: Value = serde_json::from_slice(&created.body).expect("JSON");
    let object = info.as_object().expect("an object");
    for member in object.keys() {
        assert!(KNOWN.contains(&member.as_str()), "echoed {member}");
    }
    let id = info["client_id"].as_str().expect("a client_id");
    assert!(id.starts_with("dcr_") && id.len() == 26, "{id}");
    let sent: Option<Value> = serde_json::from_slice(body).ok();
    assert_ne!(
        sent.as_ref().and_then(|s| s["client_id"].as_str()),
        Some(id)
    );
    let client_id = ClientId::new(id).expect("a valid id");
    assert!(
        block_on(clients.find(&client_id))
            .expect("memory")
            .is_some()
    );
    let token = info["registration_access_token"].as_str().expect("a token");
    // Read rotates the token.
    let read =
        block_on(server.client_configuration(id, &json_request(Method::Get, b"", Some(token))))
            .expect("memory");
    assert_eq!(read.status.as_u16(), 200);
    let read: Value = serde_json::from_slice(&read.body).expect("JSON");
    let token = read["registration_access_token"]
        .as_str()
        .expect("a new token")
        .to_owned();
    // The registered metadata, sent back as an update, is accepted.
    let mut same = read.as_object().expect("an object").clone();
    for member in [
        "registration_access_token",
        "registration_client_uri",
        "client_secret_expires_at",
        "client_id_issued_at",
    ] {
        same.remove(member);
    }
    let again = block_on(server.client_configuration(
        id,
        &json_request(
            Method::Put,
            Value::Object(same).to_string().as_bytes(),
            Some(&token),
        ),
    ))
    .expect("memory");
    assert_eq!(again.status.as_u16(), 200, "{again:?}");
    let again: Value = serde_json::from_slice(&again.body).expect("JSON");
    let mut token = again["registration_access_token"]
        .as_str()
        .expect("a token")
        .to_owned();
    // The fuzzer's update: accepted (and the token rotates) or refused (and nothing changes).
    let updated =
        block_on(server.client_configuration(id, &json_request(Method::Put, update, Some(&token))))
            .expect("memory");
    if updated.status.as_u16() == 200 {
        let updated: Value = serde_json::from_slice(&updated.body).expect("JSON");
        assert_eq!(updated["client_id"], id);
        token = updated["registration_access_token"]
            .as_str()
            .expect("a token")
            .to_owned();
    } else {
        check_refusal(&updated);
    }
    let deleted =
        block_on(server.client_configuration(id, &json_request(Method::Delete, b"", Some(&token))))
            .expect("memory");
    assert_eq!(deleted.status.as_u16(), 204);
    assert!(
        block_on(clients.find(&client_id))
            .expect("memory")
            .is_none()
    );
    assert_eq!(clients.registrations(), 0);
});
