//! Pushed authorization requests (RFC 9126): the endpoint, the `request_uri` at the
//! authorization endpoint, single use at approval, the policy switches and the metadata
//! (EX-01 to EX-03, JR-01, JR-11, JR-13, FP-16, MD-06), and client assertions at the
//! endpoint (CA-05, CA-10) made by an independent JWT library. The example servers' `/par`
//! is driven over plain HTTP in `example_servers.rs`: neither the `oauth2` crate nor
//! `openidconnect` supports pushed requests.

use std::sync::Arc;
use std::time::Duration;

use grantflow::authorize::{AuthorizeError, PendingAuthorization};
use grantflow::jose::{Algorithm, JwkSet};
use grantflow::store::{MemoryPushedRequestStore, PushedRequestStore};
use grantflow::*;
use serde_json::Value;

use crate::client_assertion::{Keys, assertion_params, es256, good_claims};
use crate::support::authz::{
    CONF_SECRET, Harness, PKCE, assert_location_error, basic, block_on, clients, enc, json,
    location_param, post_form, redirect_error, register, rejected,
};
use crate::support::harness::ISSUER;
use crate::support::race::{race, runtime};
use crate::support::token::assert_error;

const PREFIX: &str = "urn:ietf:params:oauth:request_uri:";

/// A harness with pushed requests on (over the returned store), adjusted by `configure`.
fn par_with(
    configure: impl FnOnce(ServerBuilder) -> ServerBuilder,
) -> (Harness, Arc<MemoryPushedRequestStore>) {
    let store = Arc::new(MemoryPushedRequestStore::new());
    let h = Harness::builder(clients()).build(|b| configure(b.pushed_authorization(store.clone())));
    (h, store)
}

fn par() -> (Harness, Arc<MemoryPushedRequestStore>) {
    par_with(|b| b)
}

/// `POST /par` with `body`, as `conf` with `client_secret_basic`.
fn push_conf(h: &Harness, body: &str) -> HttpResponse {
    let request = post_form(body).with_header("authorization", basic("conf", CONF_SECRET));
    block_on(h.server.pushed_authorization(&request)).unwrap()
}

/// `POST /par` with `body` as it is (a public client sends its `client_id`).
fn push(h: &Harness, body: &str) -> HttpResponse {
    block_on(h.server.pushed_authorization(&post_form(body))).unwrap()
}

/// A good request of `conf`.
fn conf_request() -> String {
    format!(
        "response_type=code&redirect_uri={}&scope=read&state=s-par&{PKCE}",
        enc("https://conf.example.com/cb?tenant=a")
    )
}

/// The `request_uri` of a 201 response, after checking the response.
#[track_caller]
fn request_uri(response: &HttpResponse) -> String {
    assert_eq!(
        response.status.as_u16(),
        201,
        "{:?}",
        String::from_utf8_lossy(&response.body)
    );
    assert_eq!(response.header("content-type"), Some("application/json"));
    assert_eq!(response.header("cache-control"), Some("no-store"));
    let body = json(response);
    body["request_uri"].as_str().unwrap().to_owned()
}

fn authorize_with(
    h: &Harness,
    client_id: &str,
    uri: &str,
) -> Result<PendingAuthorization, AuthorizeError> {
    h.authorize(&format!("client_id={client_id}&request_uri={}", enc(uri)))
}

#[track_caller]
fn approve_code(pending: PendingAuthorization) -> String {
    let response =
        block_on(pending.approve(Subject::new("alice"), Scope::parse("read").unwrap())).unwrap();
    location_param(&response, "code").expect("a code")
}

// ---------------------------------------------------------------------------------------
// EX-01: the endpoint
// ---------------------------------------------------------------------------------------

#[test]
fn ex_01_fp_16_a_pushed_request_answers_201_and_leads_to_tokens() {
    let (h, store) = par();
    let response = push_conf(&h, &conf_request());
    let uri = request_uri(&response);
    let body = json(&response);
    assert_eq!(body.as_object().unwrap().len(), 2, "{body}");
    // FP-16: 90 s by default, under 600 s.
    assert_eq!(body["expires_in"], 90);
    // 256 random bits after the prefix, base64url.
    let random = uri.strip_prefix(PREFIX).expect("the RFC 9126 prefix");
    assert_eq!(random.len(), 43, "{uri}");
    assert!(
        random
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    );
    assert_eq!(store.len(), 1);

    let pending = authorize_with(&h, "conf", &uri).expect("the pushed request");
    assert_eq!(
        pending.redirect_uri(),
        "https://conf.example.com/cb?tenant=a"
    );
    assert_eq!(pending.state(), Some("s-par"));
    assert_eq!(pending.requested_scope().as_str(), "read");
    let code = approve_code(pending);
    let exchange = format!(
        "grant_type=authorization_code&code={code}&redirect_uri={}&code_verifier={}",
        enc("https://conf.example.com/cb?tenant=a"),
        crate::support::harness::VERIFIER,
    );
    let response = h.token_basic("conf", CONF_SECRET, &exchange);
    assert_eq!(response.status.as_u16(), 200, "{}", json(&response));
    assert!(store.is_empty(), "the pushed request is used up");
}

#[test]
fn ex_01_a_public_client_pushes_with_its_client_id() {
    let (h, _) = par();
    let uri = request_uri(&push(
        &h,
        &format!("client_id=app&response_type=code&scope=write&{PKCE}"),
    ));
    let pending = authorize_with(&h, "app", &uri).unwrap();
    assert_eq!(pending.requested_scope().as_str(), "write");
    assert_eq!(pending.redirect_uri(), "https://client.example.com/cb");
}

#[test]
fn ex_01_jr_14_request_uri_in_the_body_is_refused_and_unsigned_objects_are_invalid() {
    let (h, store) = par();
    let with_uri = format!(
        "{}&request_uri={}",
        conf_request(),
        enc(&format!("{PREFIX}x"))
    );
    assert_error(&push_conf(&h, &with_uri), 400, "invalid_request");
    let with_object = format!("{}&request=eyJhbGciOiJub25lIn0.e30.", conf_request());
    assert_error(&push_conf(&h, &with_object), 400, "invalid_request_object");
    assert!(store.is_empty());
}

#[test]
fn ex_01_ex_03_the_whole_request_is_validated_up_front_as_json_errors() {
    let (h, store) = par();
    let cases = [
        // A public client without PKCE.
        (
            "client_id=app&response_type=code".to_owned(),
            "invalid_request",
        ),
        // EX-03: redirect URI problems are invalid_request.
        (
            format!(
                "client_id=app&response_type=code&redirect_uri={}&{PKCE}",
                enc("https://evil.example/cb")
            ),
            "invalid_request",
        ),
        (
            format!("client_id=app&response_type=token&{PKCE}"),
            "unsupported_response_type",
        ),
        (
            format!("client_id=app&response_type=code&scope=admin&{PKCE}"),
            "invalid_scope",
        ),
        (
            format!("client_id=app&response_type=code&state=%01&{PKCE}"),
            "invalid_request",
        ),
        (
            format!("client_id=app&response_type=code&response_mode=fragment&{PKCE}"),
            "invalid_request",
        ),
    ];
    for (body, error) in cases {
        assert_error(&push(&h, &body), 400, error);
    }
    // A client that may not use the code flow.
    let request = post_form(format!("response_type=code&{PKCE}"))
        .with_header("authorization", basic("cc", CONF_SECRET));
    let response = block_on(h.server.pushed_authorization(&request)).unwrap();
    assert_error(&response, 400, "unauthorized_client");
    assert!(store.is_empty(), "nothing refused was stored");
}

#[test]
fn ex_01_the_client_is_authenticated_as_at_the_token_endpoint() {
    let (h, store) = par();
    let wrong = post_form(conf_request()).with_header("authorization", basic("conf", "wrong"));
    let response = block_on(h.server.pushed_authorization(&wrong)).unwrap();
    assert_error(&response, 401, "invalid_client");
    assert!(response.header("www-authenticate").is_some());
    // A confidential client cannot push as a public one.
    assert_error(
        &push(&h, &format!("client_id=conf&{}", conf_request())),
        401,
        "invalid_client",
    );
    // Credentials in the query are refused, and never stored.
    let mut in_query = post_form(conf_request()).with_query("client_secret=x");
    in_query = in_query.with_header("authorization", basic("conf", CONF_SECRET));
    assert_error(
        &block_on(h.server.pushed_authorization(&in_query)).unwrap(),
        400,
        "invalid_request",
    );
    assert!(store.is_empty());
}

#[test]
fn ex_03_get_is_405_and_a_disabled_endpoint_refuses() {
    let (h, _) = par();
    let get = HttpRequest::new(Method::Get).with_query(conf_request());
    let response = block_on(h.server.pushed_authorization(&get)).unwrap();
    assert_eq!(response.status.as_u16(), 405);
    assert_eq!(response.header("allow"), Some("POST"));
    let off = Harness::builder(clients()).build(|b| b);
    let request =
        post_form(conf_request()).with_header("authorization", basic("conf", CONF_SECRET));
    let response = block_on(off.server.pushed_authorization(&request)).unwrap();
    assert_error(&response, 400, "invalid_request");
    assert_eq!(off.server.pushed_authorization_request_endpoint(), None);
}

#[test]
fn ex_01_client_credentials_are_not_stored_with_the_request() {
    let store = Arc::new(MemoryPushedRequestStore::new());
    let h = Harness::builder(clients()).build(|b| b.pushed_authorization(store.clone()));
    let body = format!(
        "client_id=conf&client_secret={CONF_SECRET}&{}",
        conf_request()
    );
    let request = post_form(body);
    // conf is registered for client_secret_basic: the post method is refused...
    let response = block_on(h.server.pushed_authorization(&request)).unwrap();
    assert_error(&response, 401, "invalid_client");
    // ...so read a stored request of a client that does send its secret in the body.
    let registry = Arc::new(register([Client::builder(
        "post",
        ClientType::Confidential,
    )
    .secret(&ClientSecret::from_presented(CONF_SECRET.to_owned()))
    .auth_method(AuthMethod::ClientSecretPost)
    .grant_type(GrantType::AUTHORIZATION_CODE)
    .allowed_scope("read")
    .redirect_uri("https://post.example.com/cb")]));
    let h = Harness::builder(registry).build(|b| b.pushed_authorization(store.clone()));
    let body =
        format!("client_id=post&client_secret={CONF_SECRET}&response_type=code&scope=read&{PKCE}");
    let uri = request_uri(&push(&h, &body));
    let record = block_on(store.find(&grantflow::secret::TokenHash::of(&uri), h.now()))
        .unwrap()
        .expect("the stored request");
    assert_eq!(record.client_id.as_str(), "post");
    assert!(!record.parameters.contains(CONF_SECRET), "{record:?}");
    assert!(!record.parameters.contains("client_secret"));
    assert!(record.parameters.contains("code_challenge="));
}

// ---------------------------------------------------------------------------------------
// EX-02, JR-11, JR-13: the request_uri at the authorization endpoint
// ---------------------------------------------------------------------------------------

#[test]
fn ex_02_jr_13_another_client_cannot_use_the_request_uri() {
    let (h, store) = par();
    let uri = request_uri(&push(
        &h,
        &format!("client_id=app&response_type=code&{PKCE}"),
    ));
    let error = rejected(authorize_with(&h, "app2", &uri));
    assert_eq!(error.code().as_str(), "invalid_request_uri");
    // Nor without a client_id.
    let error = rejected(h.authorize(&format!("request_uri={}", enc(&uri))));
    assert_eq!(error.code().as_str(), "invalid_request");
    // The owner still can.
    assert!(authorize_with(&h, "app", &uri).is_ok());
    assert_eq!(store.len(), 1);
}

#[test]
fn ex_02_only_the_pushed_parameters_count() {
    let (h, _) = par();
    let uri = request_uri(&push(
        &h,
        &format!("client_id=app&response_type=code&scope=read&state=pushed&{PKCE}"),
    ));
    let query = format!(
        "client_id=app&request_uri={}&scope=write&state=query&response_type=token\
         &redirect_uri={}",
        enc(&uri),
        enc("https://evil.example/cb")
    );
    let pending = h.authorize(&query).expect("the query's extras are ignored");
    assert_eq!(pending.requested_scope().as_str(), "read");
    assert_eq!(pending.state(), Some("pushed"));
    assert_eq!(pending.redirect_uri(), "https://client.example.com/cb");
}

#[test]
fn ex_02_an_expired_request_uri_is_a_local_error() {
    let (h, _) = par_with(|b| b.pushed_request_ttl(Duration::from_secs(30)));
    let response = push(&h, &format!("client_id=app&response_type=code&{PKCE}"));
    assert_eq!(json(&response)["expires_in"], 30);
    let uri = request_uri(&response);
    h.clock.advance(Duration::from_secs(29));
    let pending = authorize_with(&h, "app", &uri).expect("still live");
    h.clock.advance(Duration::from_secs(1));
    assert_eq!(
        rejected(authorize_with(&h, "app", &uri)).code().as_str(),
        "invalid_request_uri"
    );
    // A page loaded in time cannot approve after the expiry either.
    let error = block_on(pending.approve(Subject::new("alice"), Scope::parse("read").unwrap()))
        .expect_err("expired");
    assert_location_error(&error.into_response(), "invalid_request");
}

#[test]
fn ex_02_an_unknown_request_uri_is_a_local_error() {
    let (h, _) = par();
    let error = rejected(authorize_with(
        &h,
        "app",
        &format!("{PREFIX}not-issued-here"),
    ));
    assert_eq!(error.code().as_str(), "invalid_request_uri");
}

#[test]
fn jr_11_loading_uses_nothing_up_and_approval_consumes_once() {
    let (h, store) = par();
    let uri = request_uri(&push(
        &h,
        &format!("client_id=app&response_type=code&{PKCE}"),
    ));
    // A prefetch, then the real page load, then the page again after login.
    let prefetch = authorize_with(&h, "app", &uri).unwrap();
    let _reload = authorize_with(&h, "app", &uri).unwrap();
    let pending = authorize_with(&h, "app", &uri).unwrap();
    let code = approve_code(pending);
    assert!(!code.is_empty());
    assert!(store.is_empty());
    // Every later use fails: a second approval and a new page load.
    let error = block_on(prefetch.approve(Subject::new("mallory"), Scope::parse("read").unwrap()))
        .expect_err("already used");
    let response = error.into_response();
    assert_location_error(&response, "invalid_request");
    assert_eq!(location_param(&response, "code"), None);
    assert_eq!(
        rejected(authorize_with(&h, "app", &uri)).code().as_str(),
        "invalid_request_uri"
    );
}

#[test]
fn ex_02_64_concurrent_approvals_of_one_request_give_one_code() {
    let (h, _) = par();
    let uri = request_uri(&push(
        &h,
        &format!("client_id=app&response_type=code&{PKCE}"),
    ));
    let pendings: Vec<_> = (0..64)
        .map(|_| std::sync::Mutex::new(Some(authorize_with(&h, "app", &uri).unwrap())))
        .collect();
    let pendings = Arc::new(pendings);
    let outcomes = race(&runtime(4), 64, |i| {
        let pendings = Arc::clone(&pendings);
        async move {
            let pending = pendings[i].lock().unwrap().take().unwrap();
            pending
                .approve(Subject::new("alice"), Scope::parse("read").unwrap())
                .await
                .is_ok()
        }
    });
    assert_eq!(outcomes.iter().filter(|ok| **ok).count(), 1);
}

#[test]
fn ex_02_the_pushed_request_is_checked_again_against_the_registry() {
    let (h, _) = par();
    let uri = request_uri(&push(
        &h,
        &format!("client_id=app&response_type=code&scope=write&{PKCE}"),
    ));
    // The client loses the `write` scope in between.
    h.clients.remove("app");
    h.clients
        .insert(
            Client::builder("app", ClientType::Public)
                .grant_type(GrantType::AUTHORIZATION_CODE)
                .allowed_scope("read")
                .redirect_uri("https://client.example.com/cb")
                .build()
                .unwrap(),
        )
        .unwrap();
    let response = redirect_error(authorize_with(&h, "app", &uri));
    assert_location_error(&response, "invalid_scope");
}

// ---------------------------------------------------------------------------------------
// JR-01: request_uri values this server does not support
// ---------------------------------------------------------------------------------------

#[test]
fn jr_01_request_uris_not_issued_by_par_are_not_supported() {
    let (h, _) = par();
    let front = format!("response_type=code&client_id=app&state=s1&{PKCE}");
    let remote = h.authorize(&format!(
        "{front}&request_uri={}",
        enc("https://rp.example/r.jwt")
    ));
    let response = redirect_error(remote);
    assert_location_error(&response, "request_uri_not_supported");
    assert_eq!(location_param(&response, "state").as_deref(), Some("s1"));
    let both = h.authorize(&format!(
        "{front}&request_uri={}&request=eyJhbGciOiJub25lIn0.e30.",
        enc("https://rp.example/r.jwt")
    ));
    // Both: a local error (the object is not read, so no redirect URI is trusted).
    assert_eq!(rejected(both).code().as_str(), "invalid_request");
    // A pushed request's reference beside a request object, or twice: local errors.
    let pushed = enc(&format!("{PREFIX}x"));
    let both = rejected(h.authorize(&format!(
        "client_id=app&request_uri={pushed}&request=eyJhbGciOiJub25lIn0.e30."
    )));
    assert_eq!(both.code().as_str(), "invalid_request");
    let twice = rejected(h.authorize(&format!(
        "client_id=app&request_uri={pushed}&request_uri={pushed}"
    )));
    assert_eq!(twice.code().as_str(), "invalid_request");
    // With pushed requests off, no request_uri is supported.
    let off = Harness::builder(clients()).build(|b| b);
    let response = redirect_error(off.authorize(&format!("{front}&request_uri={pushed}")));
    assert_location_error(&response, "request_uri_not_supported");
}

// ---------------------------------------------------------------------------------------
// EX-03: requiring pushed requests
// ---------------------------------------------------------------------------------------

#[test]
fn ex_03_a_server_that_requires_pushed_requests_refuses_plain_ones() {
    let (h, _) = par_with(|b| b.require_pushed_authorization_requests(true));
    let plain = h.authorize(&format!("response_type=code&client_id=app&state=s1&{PKCE}"));
    let response = redirect_error(plain);
    assert_location_error(&response, "invalid_request");
    assert_eq!(location_param(&response, "state").as_deref(), Some("s1"));
    // The pushed way works.
    let uri = request_uri(&push(
        &h,
        &format!("client_id=app&response_type=code&{PKCE}"),
    ));
    approve_code(authorize_with(&h, "app", &uri).unwrap());
}

#[test]
fn ex_03_a_client_registered_for_pushed_requests_only_refuses_plain_ones() {
    let registry = Arc::new(register([
        Client::builder("strict", ClientType::Public)
            .grant_type(GrantType::AUTHORIZATION_CODE)
            .allowed_scope("read")
            .redirect_uri("https://strict.example.com/cb")
            .require_pushed_authorization_requests(true),
        Client::builder("lax", ClientType::Public)
            .grant_type(GrantType::AUTHORIZATION_CODE)
            .allowed_scope("read")
            .redirect_uri("https://lax.example.com/cb"),
    ]));
    let store = Arc::new(MemoryPushedRequestStore::new());
    let h = Harness::builder(registry).build(|b| b.pushed_authorization(store));
    let plain = |client: &str| {
        h.authorize(&format!(
            "response_type=code&client_id={client}&scope=read&{PKCE}"
        ))
    };
    assert_location_error(&redirect_error(plain("strict")), "invalid_request");
    assert!(plain("lax").is_ok());
    let uri = request_uri(&push(
        &h,
        &format!("client_id=strict&response_type=code&scope=read&{PKCE}"),
    ));
    approve_code(authorize_with(&h, "strict", &uri).unwrap());
}

#[test]
fn ex_03_settings_without_the_endpoint_and_out_of_range_lifetimes_are_refused() {
    let build = |configure: fn(ServerBuilder) -> ServerBuilder| {
        configure(Server::builder(
            ISSUER,
            Arc::new(MemoryClientRegistry::new()),
            Arc::new(MemoryTokenStore::new()),
        ))
        .build()
    };
    assert!(build(|b| b.require_pushed_authorization_requests(true)).is_err());
    assert!(build(|b| b.pushed_request_ttl(Duration::from_secs(60))).is_err());
    assert!(
        build(|b| b
            .pushed_authorization(Arc::new(MemoryPushedRequestStore::new()))
            .pushed_request_ttl(Duration::from_secs(600)))
        .is_err()
    );
    assert!(
        build(|b| b
            .pushed_authorization(Arc::new(MemoryPushedRequestStore::new()))
            .pushed_request_ttl(Duration::from_secs(599)))
        .is_ok()
    );
    assert!(
        build(|b| b
            .pushed_authorization(Arc::new(MemoryPushedRequestStore::new()))
            .pushed_authorization_request_endpoint("http://as.example.com/par"))
        .is_err()
    );
}

// ---------------------------------------------------------------------------------------
// MD-06: metadata
// ---------------------------------------------------------------------------------------

fn metadata(h: &Harness) -> Value {
    json(&h.server.metadata())
}

#[test]
fn md_06_metadata_advertises_the_endpoint_and_the_flag_only_when_on() {
    let off = Harness::builder(clients()).build(|b| b);
    let doc = metadata(&off);
    assert!(
        doc.get("pushed_authorization_request_endpoint").is_none(),
        "{doc}"
    );
    assert!(
        doc.get("require_pushed_authorization_requests").is_none(),
        "{doc}"
    );
    let (on, _) = par();
    let doc = metadata(&on);
    assert_eq!(
        doc["pushed_authorization_request_endpoint"],
        format!("{ISSUER}/par")
    );
    assert_eq!(doc["require_pushed_authorization_requests"], false);
    assert_eq!(
        on.server.pushed_authorization_request_endpoint(),
        Some(format!("{ISSUER}/par").as_str())
    );
    let (required, _) = par_with(|b| {
        b.require_pushed_authorization_requests(true)
            .pushed_authorization_request_endpoint("https://as.example.com/oauth/par")
    });
    let doc = metadata(&required);
    assert_eq!(
        doc["pushed_authorization_request_endpoint"],
        "https://as.example.com/oauth/par"
    );
    assert_eq!(doc["require_pushed_authorization_requests"], true);
}

// ---------------------------------------------------------------------------------------
// CA-05, CA-10: client assertions at the endpoint
// ---------------------------------------------------------------------------------------

/// A `private_key_jwt` client allowed the code flow and client credentials.
fn assertion_harness(keys: &Keys) -> Harness {
    let registry = Arc::new(register([Client::builder(
        "pkj-par",
        ClientType::Confidential,
    )
    .auth_method(AuthMethod::PrivateKeyJwt)
    .jwks(JwkSet::from_keys([keys.es256.public_key().clone()]).unwrap())
    .token_endpoint_auth_signing_alg(Algorithm::Es256)
    .grant_type(GrantType::AUTHORIZATION_CODE)
    .grant_type(GrantType::CLIENT_CREDENTIALS)
    .allowed_scope("read")
    .redirect_uri("https://pkj.example.com/cb")]));
    Harness::builder(registry).build(|b| {
        b.private_key_jwt(true)
            .pushed_authorization(Arc::new(MemoryPushedRequestStore::new()))
    })
}

#[test]
fn ca_05_ca_10_an_assertion_used_at_par_is_refused_at_the_token_endpoint() {
    let keys = Keys::new();
    let h = assertion_harness(&keys);
    let assertion = es256(&keys.es256, &good_claims("pkj-par", h.now()));
    let body = format!(
        "response_type=code&scope=read&{PKCE}&{}",
        assertion_params(&assertion)
    );
    let uri = request_uri(&push(&h, &body));
    assert!(authorize_with(&h, "pkj-par", &uri).is_ok());
    let token = post_form(format!(
        "grant_type=client_credentials&{}",
        assertion_params(&assertion)
    ));
    assert_error(&h.token(&token), 401, "invalid_client");
    // And at /par again.
    assert_error(&push(&h, &body), 401, "invalid_client");
}

#[test]
fn ca_10_an_assertion_for_the_par_url_is_refused_at_par() {
    let keys = Keys::new();
    let h = assertion_harness(&keys);
    let mut claims = good_claims("pkj-par", h.now());
    claims["aud"] = Value::from(format!("{ISSUER}/par"));
    let body = format!(
        "response_type=code&scope=read&{PKCE}&{}",
        assertion_params(&es256(&keys.es256, &claims))
    );
    assert_error(&push(&h, &body), 401, "invalid_client");
}
