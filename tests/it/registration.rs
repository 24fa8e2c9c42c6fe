//! Dynamic client registration (RFC 7591) and management (RFC 7592) through
//! `Server::register` and `Server::client_configuration`: every DR rule of the checklist,
//! hostile metadata, admission policies (open and rate limited, initial access tokens), the
//! bounded memory registry, and a registered client completing the code flow.

use std::sync::Arc;
use std::time::Duration;

use grantflow::limiter::MemoryAttemptLimiter;
use grantflow::random::SeededRandom;
use grantflow::registration::{
    Admission, AdmissionRequest, InitialAccessTokens, OpenRegistration, RegistrationPolicy,
};
use grantflow::secret::TokenHash;
use grantflow::store::RegistrationStore as _;
use grantflow::*;
use serde_json::{Value, json};

use crate::support::authz::{Harness, block_on, clients, enc, json as body_json, post_form};
use crate::support::harness::ISSUER;

const REDIRECT: &str = "https://app.example.net/cb";

/// A server with registration open (100 a minute) over the fixture registry, adjusted by
/// `configure`.
fn open_with(configure: impl FnOnce(ServerBuilder) -> ServerBuilder) -> Harness {
    let registry = clients();
    Harness::builder(registry.clone())
        .build(|b| configure(b.client_registration(registry, open_policy(100))))
}

fn open() -> Harness {
    open_with(|b| b)
}

fn open_policy(per_minute: u32) -> Arc<OpenRegistration> {
    Arc::new(OpenRegistration::new(Arc::new(MemoryAttemptLimiter::new(
        per_minute,
        Duration::from_secs(60),
    ))))
}

/// `POST /register` with a JSON body.
fn post_json(body: &str) -> HttpRequest {
    HttpRequest::new(Method::Post)
        .with_header("content-type", "application/json")
        .with_body(body.as_bytes().to_vec())
}

fn register(h: &Harness, body: &Value) -> HttpResponse {
    block_on(h.server.register(&post_json(&body.to_string()))).unwrap()
}

fn configure(h: &Harness, client_id: &str, request: HttpRequest) -> HttpResponse {
    block_on(h.server.client_configuration(client_id, &request)).unwrap()
}

fn bearer(request: HttpRequest, token: &str) -> HttpRequest {
    request.with_header("authorization", format!("Bearer {token}"))
}

/// A public code-flow client.
fn public_app() -> Value {
    json!({
        "redirect_uris": [REDIRECT],
        "token_endpoint_auth_method": "none",
        "client_name": "Example App",
        "logo_uri": "https://app.example.net/logo.png",
        "scope": "read",
    })
}

/// Registers `body`, expects 201, returns the client information.
#[track_caller]
fn registered(h: &Harness, body: &Value) -> Value {
    let response = register(h, body);
    assert_eq!(
        response.status,
        Status::CREATED,
        "{:?}",
        body_json(&response)
    );
    body_json(&response)
}

/// DR-11: a registration error: 400, the code, JSON, `no-store`, an ER-02 description.
#[track_caller]
fn assert_refused(response: &HttpResponse, error: &str) {
    assert_eq!(
        response.status,
        Status::BAD_REQUEST,
        "{:?}",
        body_json(response)
    );
    let body = body_json(response);
    assert_eq!(body["error"], error, "{body}");
    assert_eq!(response.header("content-type"), Some("application/json"));
    assert_eq!(response.header("cache-control"), Some("no-store"));
    if let Some(description) = body["error_description"].as_str() {
        assert!(
            crate::support::harness::is_er02(description),
            "{description}"
        );
    }
}

#[track_caller]
fn assert_challenge(response: &HttpResponse, challenge: &str) {
    assert_eq!(response.status, Status::UNAUTHORIZED);
    assert_eq!(response.header("www-authenticate"), Some(challenge));
    assert_eq!(response.header("cache-control"), Some("no-store"));
}

/// The registered client `id`, as the server's registry holds it.
#[track_caller]
fn find(h: &Harness, id: &str) -> Arc<Client> {
    block_on(h.clients.find(&ClientId::new(id).unwrap()))
        .unwrap()
        .expect("a registered client")
}

fn token_of(info: &Value) -> &str {
    info["registration_access_token"].as_str().unwrap()
}

fn id_of(info: &Value) -> &str {
    info["client_id"].as_str().unwrap()
}

#[test]
fn dr_01_post_with_a_json_object_only() {
    let h = open();
    let get = HttpRequest::new(Method::Get);
    let response = block_on(h.server.register(&get)).unwrap();
    assert_eq!(response.status, Status::METHOD_NOT_ALLOWED);
    assert_eq!(response.header("allow"), Some("POST"));
    let form = post_form("redirect_uris=https%3A%2F%2Fapp.example.net%2Fcb");
    assert_refused(
        &block_on(h.server.register(&form)).unwrap(),
        "invalid_client_metadata",
    );
    let deep = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
    let nested = format!("{{\"client_name\":{deep}}}");
    for body in [
        "[]",
        "\"x\"",
        "{",
        "",
        "null",
        &deep,
        &nested,
        "{\"a\":1,\"a\":2",
    ] {
        assert_refused(
            &block_on(h.server.register(&post_json(body))).unwrap(),
            "invalid_client_metadata",
        );
    }
    let latin1 = HttpRequest::new(Method::Post)
        .with_header("content-type", "application/json; charset=latin1")
        .with_body(public_app().to_string().into_bytes());
    assert_refused(
        &block_on(h.server.register(&latin1)).unwrap(),
        "invalid_client_metadata",
    );
    let big = post_json(&format!(
        "{{\"client_name\":\"{}\"}}",
        "x".repeat(17 * 1024)
    ));
    assert_refused(
        &block_on(h.server.register(&big)).unwrap(),
        "invalid_client_metadata",
    );
    // Off by default: 404, and no member in the metadata.
    let off = Harness::builder(clients()).build(|b| b);
    let response = block_on(off.server.register(&post_json(&public_app().to_string()))).unwrap();
    assert_eq!(response.status, Status::NOT_FOUND);
    let response = block_on(
        off.server
            .client_configuration("x", &HttpRequest::new(Method::Get)),
    )
    .unwrap();
    assert_eq!(response.status, Status::NOT_FOUND);
}

#[test]
fn dr_02_initial_access_token_errors_follow_rfc_6750() {
    let registry = clients();
    let h = Harness::builder(registry.clone()).build(|b| {
        b.client_registration(
            registry,
            Arc::new(InitialAccessTokens::new().token("iat-7f3a0c2e9b1d4a58")),
        )
    });
    let request = post_json(&public_app().to_string());
    let realm = format!("Bearer realm=\"{ISSUER}\"");
    assert_challenge(&block_on(h.server.register(&request)).unwrap(), &realm);
    let wrong = bearer(request.clone(), "iat-wrong");
    assert_challenge(
        &block_on(h.server.register(&wrong)).unwrap(),
        &format!(
            "{realm}, error=\"invalid_token\", error_description=\"the token is not valid here\""
        ),
    );
    let basic = request
        .clone()
        .with_header("authorization", "Basic aWF0LTdmM2EwYzJlOWIxZDRhNTg6");
    assert_challenge(&block_on(h.server.register(&basic)).unwrap(), &realm);
    let good = bearer(request, "iat-7f3a0c2e9b1d4a58");
    let response = block_on(h.server.register(&good)).unwrap();
    assert_eq!(response.status, Status::CREATED);
    // Never accepted at a resource server: it is no access token.
    let guard = h.server.bearer_guard();
    let api = bearer(HttpRequest::new(Method::Get), "iat-7f3a0c2e9b1d4a58");
    let denied = block_on(guard.check(&api, &Scope::empty())).unwrap_err();
    assert_eq!(denied.into_response().status, Status::UNAUTHORIZED);
    // A policy sees the validated metadata and may refuse it.
    #[derive(Debug)]
    struct NoLogos;
    #[async_trait::async_trait]
    impl RegistrationPolicy for NoLogos {
        async fn admit(&self, r: &AdmissionRequest<'_>) -> Result<Admission, StorageError> {
            assert!(format!("{r:?}").contains("AdmissionRequest"));
            Ok(match r.metadata().logo_uri() {
                Some(_) => Admission::Refuse("logos are not accepted"),
                None => Admission::Admit,
            })
        }
    }
    let registry = clients();
    let h = Harness::builder(registry.clone())
        .build(|b| b.client_registration(registry, Arc::new(NoLogos)));
    let response = register(&h, &public_app());
    assert_refused(&response, "invalid_client_metadata");
    assert_eq!(
        body_json(&response)["error_description"],
        "logos are not accepted"
    );
}

#[test]
fn dr_03_dr_09_unknown_members_and_software_statements_are_dropped() {
    let h = open();
    let mut body = public_app();
    body["foo"] = json!("bar");
    body["software_statement"] = json!("eyJhbGciOiJub25lIn0.e30.");
    let info = registered(&h, &body);
    assert!(info.get("foo").is_none() && info.get("software_statement").is_none());
    let mut typed = public_app();
    typed["grant_types"] = json!("authorization_code");
    assert_refused(&register(&h, &typed), "invalid_client_metadata");
}

#[test]
fn dr_04_dr_11_hostile_redirect_uris_are_invalid_redirect_uri() {
    let h = open();
    for uri in [
        "https://app.example.net/cb#x",
        "javascript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "file:///etc/passwd",
        "http://app.example.net/cb",
        "/cb",
    ] {
        let mut body = public_app();
        body["redirect_uris"] = json!([uri]);
        assert_refused(&register(&h, &body), "invalid_redirect_uri");
    }
    let mut missing = public_app();
    missing.as_object_mut().unwrap().remove("redirect_uris");
    assert_refused(&register(&h, &missing), "invalid_redirect_uri");
    let mut native = public_app();
    native["redirect_uris"] = json!(["http://127.0.0.1/cb", "net.example.app:/cb"]);
    registered(&h, &native);
}

#[test]
fn dr_05_grant_and_response_types_agree_and_are_served() {
    let h = open();
    for (grants, responses) in [
        (json!(["client_credentials"]), json!(["code"])),
        (json!(["authorization_code"]), json!([])),
        (json!(["implicit"]), json!(["token"])),
        (json!(["password"]), Value::Null),
        // Not enabled on this server.
        (
            json!(["urn:ietf:params:oauth:grant-type:device_code"]),
            Value::Null,
        ),
    ] {
        let mut body = json!({"redirect_uris": [REDIRECT], "grant_types": grants});
        if !responses.is_null() {
            body["response_types"] = responses;
        }
        assert_refused(&register(&h, &body), "invalid_client_metadata");
    }
    let info = registered(&h, &json!({"redirect_uris": [REDIRECT]}));
    assert_eq!(info["grant_types"], json!(["authorization_code"]));
    assert_eq!(info["response_types"], json!(["code"]));
    assert_eq!(info["token_endpoint_auth_method"], "client_secret_basic");
}

#[test]
fn dr_06_one_supported_authentication_method() {
    let h = open();
    for body in [
        json!({"token_endpoint_auth_method": "none", "grant_types": ["client_credentials"]}),
        json!({"token_endpoint_auth_method": "private_key_jwt", "grant_types": ["client_credentials"]}),
        json!({"token_endpoint_auth_method": "client_secret_jwt", "grant_types": ["client_credentials"]}),
        json!({"token_endpoint_auth_method": "tls_client_auth", "grant_types": ["client_credentials"]}),
    ] {
        assert_refused(&register(&h, &body), "invalid_client_metadata");
    }
}

#[test]
fn dr_07_jwks_and_jwks_uri_never_both_and_public_keys_only() {
    let h = open_with(|b| b.private_key_jwt(true));
    let key =
        json!({"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"});
    let base = json!({"token_endpoint_auth_method": "private_key_jwt", "grant_types": ["client_credentials"]});
    let mut both = base.clone();
    both["jwks"] = json!({"keys": [key]});
    both["jwks_uri"] = json!("https://app.example.net/jwks");
    assert_refused(&register(&h, &both), "invalid_client_metadata");
    let mut private = base.clone();
    let mut secret_key = key.clone();
    secret_key["d"] = json!("nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A");
    private["jwks"] = json!({"keys": [secret_key]});
    assert_refused(&register(&h, &private), "invalid_client_metadata");
    // Without a fetcher the server cannot read a jwks_uri.
    let mut remote = base.clone();
    remote["jwks_uri"] = json!("https://app.example.net/jwks");
    assert_refused(&register(&h, &remote), "invalid_client_metadata");
    let mut inline = base;
    inline["jwks"] = json!({"keys": [key]});
    let info = registered(&h, &inline);
    assert!(info.get("client_secret").is_none());
    assert_eq!(info["jwks"]["keys"][0]["x"], key["x"]);
}

#[test]
fn dr_08_display_urls_are_https_and_reach_the_consent_page() {
    let h = open();
    for field in ["client_uri", "logo_uri", "tos_uri", "policy_uri"] {
        let mut body = public_app();
        body[field] = json!("http://app.example.net/x");
        assert_refused(&register(&h, &body), "invalid_client_metadata");
        body[field] = json!("javascript:alert(1)");
        assert_refused(&register(&h, &body), "invalid_client_metadata");
    }
    let info = registered(&h, &public_app());
    let id = id_of(&info);
    let pending = h
        .authorize(&format!(
            "response_type=code&client_id={id}&scope=read&{}",
            crate::support::authz::PKCE
        ))
        .expect("a registered client is authorized");
    assert_eq!(pending.client().name(), Some("Example App"));
    // Consent marks it: it registered itself, its name and logo are self-asserted.
    assert!(pending.is_unregistered_client() && pending.client().is_self_registered());
    let fixture = h
        .authorize(&format!(
            "response_type=code&client_id=app&scope=read&{}",
            crate::support::authz::PKCE
        ))
        .expect("a fixture client");
    assert!(!fixture.is_unregistered_client());
    assert_eq!(
        pending.client().logo_uri(),
        Some("https://app.example.net/logo.png")
    );
}

#[test]
fn dr_10_cc_04_cm_01_fp_22_the_client_information_response() {
    let h = open();
    let mut body = public_app();
    // A client cannot choose its identifier (or its secret): both are dropped.
    body["client_id"] = json!("alice");
    body["client_secret"] = json!("chosen-by-the-client");
    let response = register(&h, &body);
    assert_eq!(response.status, Status::CREATED);
    assert_eq!(response.header("content-type"), Some("application/json"));
    assert_eq!(response.header("cache-control"), Some("no-store"));
    let info = body_json(&response);
    let id = id_of(&info);
    assert!(id.starts_with("dcr_") && !id.starts_with("https://") && id != "alice");
    assert!(info.get("client_secret").is_none() && info.get("client_secret_expires_at").is_none());
    assert_eq!(info["client_id_issued_at"], crate::support::harness::START);
    assert_eq!(info["client_name"], "Example App");
    assert_eq!(info["grant_types"], json!(["authorization_code"]));
    assert_eq!(info["response_types"], json!(["code"]));
    assert_eq!(
        info["registration_client_uri"],
        format!("{ISSUER}/register/{id}")
    );
    assert_eq!(token_of(&info).len(), 43);
    // A confidential client gets a secret that never expires.
    let confidential = registered(
        &h,
        &json!({"grant_types": ["client_credentials"], "client_name": "Backend", "scope": "read"}),
    );
    let secret = confidential["client_secret"].as_str().unwrap();
    assert_eq!(secret.len(), 43);
    assert_eq!(confidential["client_secret_expires_at"], 0);
    assert_ne!(id_of(&confidential), id);
    let token = h.token_basic(
        id_of(&confidential),
        secret,
        "grant_type=client_credentials&scope=read",
    );
    assert_eq!(token.status, Status::OK, "{:?}", body_json(&token));
}

#[test]
fn dr_12_credentials_come_from_the_injected_randomness_and_are_stored_as_digests() {
    let seeded = |seed| {
        let registry = clients();
        Harness::builder(registry.clone()).build(|b| {
            b.random(Arc::new(SeededRandom::new(seed)))
                .client_registration(registry, open_policy(10))
        })
    };
    let body = json!({"grant_types": ["client_credentials"]});
    let (a, b) = (registered(&seeded(7), &body), registered(&seeded(7), &body));
    assert_eq!(a["client_id"], b["client_id"]);
    assert_eq!(a["client_secret"], b["client_secret"]);
    let h = seeded(8);
    let info = registered(&h, &body);
    let (id, secret, token) = (
        id_of(&info),
        info["client_secret"].as_str().unwrap(),
        token_of(&info),
    );
    let client = find(&h, id);
    assert_eq!(client.secret_hashes(), [TokenHash::of(secret)]);
    let found = block_on(h.clients.find_by_token(&TokenHash::of(token))).unwrap();
    assert_eq!(found.unwrap().client.id().as_str(), id);
    assert!(!format!("{:?}", h.clients).contains(secret));
    // A token is good only at its own client's URL.
    let other = registered(&h, &body);
    let response = configure(
        &h,
        id_of(&other),
        bearer(HttpRequest::new(Method::Get), token),
    );
    assert_challenge(
        &response,
        &format!(
            "Bearer realm=\"{ISSUER}\", error=\"invalid_token\", error_description=\"the token is not valid here\""
        ),
    );
}

#[test]
fn dr_13_dr_16_read_rotates_the_registration_access_token() {
    let h = open();
    let info = registered(&h, &public_app());
    let (id, token) = (id_of(&info), token_of(&info));
    let realm = format!("Bearer realm=\"{ISSUER}\"");
    assert_challenge(&configure(&h, id, HttpRequest::new(Method::Get)), &realm);
    let read = configure(&h, id, bearer(HttpRequest::new(Method::Get), token));
    assert_eq!(read.status, Status::OK);
    assert_eq!(read.header("cache-control"), Some("no-store"));
    let current = body_json(&read);
    assert_eq!(current["client_id"], id);
    assert_eq!(current["client_name"], "Example App");
    assert_eq!(current["client_id_issued_at"], info["client_id_issued_at"]);
    let rotated = token_of(&current);
    assert_ne!(rotated, token);
    let stale = configure(&h, id, bearer(HttpRequest::new(Method::Get), token));
    assert_eq!(stale.status, Status::UNAUTHORIZED);
    let again = configure(&h, id, bearer(HttpRequest::new(Method::Get), rotated));
    assert_eq!(again.status, Status::OK);
    let patch = configure(
        &h,
        id,
        bearer(
            HttpRequest::new(Method::Other),
            token_of(&body_json(&again)),
        ),
    );
    assert_eq!(patch.status, Status::METHOD_NOT_ALLOWED);
    assert_eq!(patch.header("allow"), Some("GET, PUT, DELETE"));
}

#[test]
fn dr_14_update_replaces_the_metadata() {
    let h = open();
    let info = registered(&h, &public_app());
    let id = id_of(&info).to_owned();
    let mut token = token_of(&info).to_owned();
    let put = |token: &str, body: &Value| {
        configure(
            &h,
            &id,
            bearer(
                HttpRequest::new(Method::Put)
                    .with_header("content-type", "application/json")
                    .with_body(body.to_string().into_bytes()),
                token,
            ),
        )
    };
    let mut update = public_app();
    update["client_id"] = json!(id);
    update.as_object_mut().unwrap().remove("logo_uri");
    update["client_name"] = json!("Renamed");
    let response = put(&token, &update);
    assert_eq!(response.status, Status::OK, "{:?}", body_json(&response));
    let updated = body_json(&response);
    assert!(updated.get("logo_uri").is_none());
    assert_eq!(updated["client_name"], "Renamed");
    assert_eq!(find(&h, &id).logo_uri(), None);
    token = token_of(&updated).to_owned();
    for (member, value) in [
        ("registration_access_token", json!(token)),
        ("registration_client_uri", json!("https://x")),
        ("client_secret_expires_at", json!(0)),
        ("client_id_issued_at", json!(0)),
        ("client_secret", json!("a-new-secret")),
        ("client_id", json!("dcr_someone_else")),
    ] {
        let mut body = update.clone();
        body[member] = value;
        assert_refused(&put(&token, &body), "invalid_client_metadata");
    }
    let mut fragment = update.clone();
    fragment["redirect_uris"] = json!(["https://app.example.net/cb#x"]);
    assert_refused(&put(&token, &fragment), "invalid_redirect_uri");
    // Refused updates changed nothing and rotated nothing.
    assert_eq!(find(&h, &id).name(), Some("Renamed"));
    let mut confidential = update.clone();
    confidential["token_endpoint_auth_method"] = json!("client_secret_post");
    let response = put(&token, &confidential);
    assert_eq!(response.status, Status::OK);
    let moved = body_json(&response);
    let secret = moved["client_secret"].as_str().expect("a new secret");
    assert_eq!(moved["client_secret_expires_at"], 0);
    // The current secret may be sent back; it stays.
    let mut with_secret = confidential.clone();
    with_secret["client_secret"] = json!(secret);
    let response = put(token_of(&moved), &with_secret);
    assert_eq!(response.status, Status::OK);
    assert!(body_json(&response).get("client_secret").is_none());
    assert_eq!(find(&h, &id).secret_hashes(), [TokenHash::of(secret)]);
}

#[test]
fn dr_15_delete_invalidates_the_client_and_revokes_its_tokens() {
    let h = open();
    let mut body = public_app();
    body["grant_types"] = json!(["authorization_code", "refresh_token"]);
    let info = registered(&h, &body);
    let (id, token) = (id_of(&info).to_owned(), token_of(&info).to_owned());
    let (access, refresh) = h.tokens_for(&id, "read");
    assert!(h.is_live(&access) && h.is_live(&refresh));
    let response = configure(&h, &id, bearer(HttpRequest::new(Method::Delete), &token));
    assert_eq!(response.status, Status::NO_CONTENT);
    assert!(response.body.is_empty());
    assert!(!h.is_live(&access) && !h.is_live(&refresh));
    let again = configure(&h, &id, bearer(HttpRequest::new(Method::Get), &token));
    assert_eq!(again.status, Status::UNAUTHORIZED);
    let refreshed = h.refresh(&id, &refresh, None);
    assert_eq!(body_json(&refreshed)["error"], "invalid_client");
    let unknown = h.authorize(&format!(
        "response_type=code&client_id={id}&scope=read&{}",
        crate::support::authz::PKCE
    ));
    assert!(unknown.is_err());
    assert_eq!(h.clients.registrations(), 0);
}

#[test]
fn dr_17_open_registration_is_rate_limited_and_memory_is_bounded() {
    let registry = clients();
    let h = Harness::builder(registry.clone())
        .build(|b| b.client_registration(registry, open_policy(5)));
    for _ in 0..5 {
        registered(&h, &public_app());
    }
    let throttled = register(&h, &public_app());
    assert_eq!(throttled.status, Status::TOO_MANY_REQUESTS);
    assert!(throttled.header("retry-after").is_some());
    assert_eq!(h.clients.registrations(), 5);
    // Per source: another address still registers.
    let registry = clients();
    let per_source = Arc::new(
        OpenRegistration::new(Arc::new(MemoryAttemptLimiter::new(
            2,
            Duration::from_secs(60),
        )))
        .per_source("x-client-address"),
    );
    let h =
        Harness::builder(registry.clone()).build(|b| b.client_registration(registry, per_source));
    let from = |address: &str| {
        block_on(h.server.register(
            &post_json(&public_app().to_string()).with_header("x-client-address", address),
        ))
        .unwrap()
        .status
    };
    assert_eq!(
        [from("a"), from("a"), from("a")],
        [Status::CREATED, Status::CREATED, Status::TOO_MANY_REQUESTS]
    );
    assert_eq!(from("b"), Status::CREATED);
    // A bounded registry refuses beyond its bound, whatever the policy admits.
    let registry = Arc::new(MemoryClientRegistry::new().with_registration_limit(3));
    let h = Harness::builder(registry.clone())
        .build(|b| b.client_registration(registry, open_policy(1000)));
    let first = registered(&h, &public_app());
    for _ in 0..2 {
        registered(&h, &public_app());
    }
    for _ in 0..100 {
        let full = register(&h, &public_app());
        assert_eq!(full.status, Status::SERVICE_UNAVAILABLE);
        assert_eq!(body_json(&full)["error"], "temporarily_unavailable");
    }
    assert_eq!(h.clients.registrations(), 3);
    // A deletion makes room again.
    let deleted = configure(
        &h,
        id_of(&first),
        bearer(HttpRequest::new(Method::Delete), token_of(&first)),
    );
    assert_eq!(deleted.status, Status::NO_CONTENT);
    registered(&h, &public_app());
}

#[test]
fn dr_19_registration_endpoint_in_metadata_only_when_enabled() {
    let on = open_with(|b| b.registration_endpoint("https://as.example.com/connect/register"));
    let metadata = body_json(&on.server.metadata());
    assert_eq!(
        metadata["registration_endpoint"],
        "https://as.example.com/connect/register"
    );
    let info = registered(&on, &public_app());
    assert_eq!(
        info["registration_client_uri"],
        format!("https://as.example.com/connect/register/{}", id_of(&info))
    );
    let off = Harness::builder(clients()).build(|b| b);
    assert!(
        body_json(&off.server.metadata())
            .get("registration_endpoint")
            .is_none()
    );
    let refused = Server::builder(
        ISSUER,
        Arc::new(MemoryClientRegistry::new()),
        Arc::new(MemoryTokenStore::new()),
    )
    .registration_endpoint("https://as.example.com/r")
    .build();
    assert!(refused.is_err());
}

#[test]
fn dr_10_a_registered_public_client_completes_the_code_flow() {
    let h = open();
    let info = registered(&h, &public_app());
    let id = id_of(&info);
    let code = h.code_with(&format!(
        "response_type=code&client_id={id}&redirect_uri={}&scope=read&{}",
        enc(REDIRECT),
        crate::support::authz::PKCE
    ));
    let response = h.exchange(id, &code);
    assert_eq!(response.status, Status::OK, "{:?}", body_json(&response));
}
