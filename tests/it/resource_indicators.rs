//! Resource indicators (RFC 8707) through the endpoints: RI-01..RI-12, PR-09, PR-10; and
//! with JWT access tokens (RFC 9068): `aud`, refresh, and the offline guard (RI-11, PR-06).

use crate::support::authz::*;
use crate::support::resource::judge;
use grantflow::guard::GuardRejection;
use grantflow::*;

/// A resource that understands only `read`.
const CAL: &str = "https://cal.example.com/";
/// A resource that takes any scope.
const CONTACTS: &str = "https://contacts.example.com/";

/// The code-flow harness with [`CAL`] and [`CONTACTS`] registered, and the resource
/// servers `rs-cal` / `rs-contacts` that may introspect, each for its own resource.
fn ri_harness(configure: impl FnOnce(ServerBuilder) -> ServerBuilder) -> Harness {
    let h = harness_with(|b| configure(b.resource_with_scopes(CAL, "read").resource(CONTACTS)));
    for (id, resource) in [("rs-cal", CAL), ("rs-contacts", CONTACTS)] {
        add_service(&h, id, |b| {
            b.introspection(true).resource_audience(resource)
        });
    }
    h
}

/// Registers confidential client `id` (secret [`CONF_SECRET`], client credentials, scope
/// `read write`), adjusted by `configure`.
fn add_service(h: &Harness, id: &str, configure: impl FnOnce(ClientBuilder) -> ClientBuilder) {
    let builder = Client::builder(id, ClientType::Confidential)
        .secret(&ClientSecret::from_presented(CONF_SECRET.to_owned()))
        .grant_type(GrantType::CLIENT_CREDENTIALS)
        .allowed_scope("read write");
    h.clients
        .insert(configure(builder).build().unwrap())
        .unwrap();
}

fn authorize_query(client_id: &str, scope: &str, resources: &[&str]) -> String {
    let query = format!(
        "response_type=code&client_id={client_id}&scope={}&state=s1&{PKCE}",
        enc(scope)
    );
    with_resources(&query, resources)
}

fn with_resources(body: &str, resources: &[&str]) -> String {
    let mut body = body.to_owned();
    for resource in resources {
        body.push_str("&resource=");
        body.push_str(&enc(resource));
    }
    body
}

/// A code of `app` for alice, approving `scope` for `resources`.
fn code(h: &Harness, scope: &str, resources: &[&str]) -> String {
    h.code_with(&authorize_query("app", scope, resources))
}

fn exchange(h: &Harness, code: &str, resources: &[&str]) -> HttpResponse {
    h.token(&with_resources(
        &format!(
            "grant_type=authorization_code&code={code}&client_id=app&code_verifier={VERIFIER}"
        ),
        resources,
    ))
}

fn refresh(h: &Harness, refresh_token: &str, resources: &[&str]) -> HttpResponse {
    h.token(&with_resources(
        &format!("grant_type=refresh_token&refresh_token={refresh_token}&client_id=app"),
        resources,
    ))
}

fn audience(h: &Harness, token: &str) -> Vec<String> {
    h.record(token)
        .expect("a stored token")
        .audience
        .iter()
        .map(str::to_owned)
        .collect()
}

fn introspect(h: &Harness, caller: &str, token: &str) -> serde_json::Value {
    let response = block_on(
        h.server.introspect(
            &post_form(format!("token={token}"))
                .with_header("authorization", basic(caller, CONF_SECRET)),
        ),
    )
    .unwrap();
    assert_eq!(response.status, Status::OK);
    json(&response)
}

fn guard_status(h: &Harness, resource: &str, token: &str) -> u16 {
    let guard = h.server.bearer_guard().resource(resource).unwrap();
    status_at(&guard, token, "")
}

/// The status of `token` at `guard`, for `required`.
fn status_at(guard: &grantflow::guard::BearerGuard, token: &str, required: &str) -> u16 {
    match block_on(guard.check(&bearer(token), &Scope::parse(required).unwrap())) {
        Ok(_) => 200,
        Err(GuardRejection::Refused(response)) => response.status.as_u16(),
        Err(fault) => panic!("no fault expected: {fault}"),
    }
}

fn cc(h: &Harness, client: &str, body: &str) -> HttpResponse {
    h.token_basic(client, CONF_SECRET, body)
}

/// A client credentials request of `client` for `read` at `resources`.
fn cc_read(h: &Harness, client: &str, resources: &[&str]) -> HttpResponse {
    let body = with_resources("grant_type=client_credentials&scope=read", resources);
    cc(h, client, &body)
}

/// The refresh token of a token response.
fn refresh_token_of(response: &HttpResponse) -> String {
    json(response)["refresh_token"].as_str().unwrap().to_owned()
}

#[test]
fn ri_02_ri_05_repeated_resources_belong_to_the_grant_and_are_shown_at_consent() {
    let h = ri_harness(|b| b);
    let pending = h
        .authorize(&authorize_query("app", "read", &[CAL, CONTACTS, CAL]))
        .expect("repeated resource is no repeated-parameter error");
    let shown: Vec<&str> = pending.requested_resources().iter().collect();
    assert_eq!(shown, [CAL, CONTACTS]);
    // Any other repeated parameter is still refused.
    let repeated = format!("{}&scope=write", authorize_query("app", "read", &[CAL]));
    let response = redirect_error(h.authorize(&repeated));
    assert_location_error(&response, "invalid_request");
    // The code stands for exactly those resources.
    let response = h.approve(pending, "alice", "read");
    let code = location_param(&response, "code").unwrap();
    let granted = block_on(h.codes.redeem(&grantflow::secret::TokenHash::of(&code))).unwrap();
    let grantflow::store::Redemption::Redeemed(grant) = granted else {
        panic!("a first redemption, got {granted:?}");
    };
    assert_eq!(grant.resources.iter().collect::<Vec<_>>(), [CAL, CONTACTS]);
}

#[test]
fn ri_01_ri_03_ri_12_bad_resources_at_authorize_are_redirect_invalid_target() {
    let h = ri_harness(|b| b);
    for bad in [
        "/relative",
        "https://cal.example.com/#frag",
        "https://unknown.example/",
        // Compared exactly: no trailing-slash normalisation.
        "https://cal.example.com",
        "HTTPS://cal.example.com/",
    ] {
        let response = redirect_error(h.authorize(&authorize_query("app", "read", &[bad])));
        assert_eq!(response.status.as_u16(), 302, "{bad}");
        assert_eq!(
            location_param(&response, "error").as_deref(),
            Some("invalid_target"),
            "{bad}"
        );
        assert_eq!(location_param(&response, "state").as_deref(), Some("s1"));
        assert_eq!(location_param(&response, "iss").as_deref(), Some(ISSUER));
    }
    // A scope the resource does not define, with it alone, is refused too (RI-03).
    let response = redirect_error(h.authorize(&authorize_query("app", "write", &[CAL])));
    assert_location_error(&response, "invalid_target");
}

#[test]
fn ri_03_a_client_limited_to_some_resources_cannot_name_others() {
    let h = ri_harness(|b| b);
    add_service(&h, "limited", |b| b.allowed_resource(CONTACTS));
    let refused = cc_read(&h, "limited", &[CAL]);
    assert_token_error(&refused, 400, "invalid_target");
    let ok = cc_read(&h, "limited", &[CONTACTS]);
    assert_eq!(ok.status, Status::OK);
}

#[test]
fn ri_04_default_resource_or_required_resource() {
    let h = ri_harness(|b| b.default_resource(CONTACTS));
    let pending = h.authorize(&authorize_query("app", "read", &[])).unwrap();
    assert_eq!(
        pending.requested_resources().iter().collect::<Vec<_>>(),
        [CONTACTS]
    );
    let h = ri_harness(|b| b.require_resource(true));
    let response = redirect_error(h.authorize(&authorize_query("app", "read", &[])));
    assert_location_error(&response, "invalid_target");
    let response = cc(&h, "cc", "grant_type=client_credentials&scope=read");
    assert_token_error(&response, 400, "invalid_target");
    // Without either, no resource means a token without audience.
    let h = ri_harness(|b| b);
    let (access, _) = h.tokens_for("app", "read");
    assert!(audience(&h, &access).is_empty());
    // The settings are checked when the server is built.
    let clients = clients();
    let build = |configure: fn(ServerBuilder) -> ServerBuilder| {
        configure(Server::builder(
            ISSUER,
            clients.clone(),
            std::sync::Arc::new(MemoryTokenStore::new()),
        ))
        .build()
        .err()
    };
    assert!(build(|b| b.resource(CAL).default_resource(CONTACTS)).is_some());
    assert!(build(|b| b.require_resource(true)).is_some());
    assert!(build(|b| b.resource(CAL).default_resource(CAL).require_resource(true)).is_some());
    assert!(build(|b| b.resource("http://cal.example.com/")).is_some());
    assert!(build(|b| b.resource("https://cal.example.com/#x")).is_some());
}

#[test]
fn ri_06_ri_09_code_redeemed_for_one_granted_resource_narrows_the_scope() {
    let h = ri_harness(|b| b);
    let code = code(&h, "read write", &[CAL, CONTACTS]);
    let response = exchange(&h, &code, &[CAL]);
    assert_eq!(response.status, Status::OK, "{:?}", json(&response));
    let body = json(&response);
    // CAL understands only `read`: the access token is narrowed and says so.
    assert_eq!(body["scope"], "read");
    let access = body["access_token"].as_str().unwrap();
    let refresh_token = body["refresh_token"].as_str().unwrap();
    assert_eq!(audience(&h, access), [CAL]);
    // The refresh token keeps the whole grant.
    let kept = h.record(refresh_token).unwrap();
    assert_eq!(kept.audience.iter().collect::<Vec<_>>(), [CAL, CONTACTS]);
    assert_eq!(kept.scope.as_str(), "read write");
}

#[test]
fn ri_06_a_resource_outside_the_grant_is_invalid_target() {
    let h = ri_harness(|b| b);
    let code = code(&h, "read", &[CAL]);
    assert_token_error(&exchange(&h, &code, &[CONTACTS]), 400, "invalid_target");
    // A grant without resources gives no token for one either.
    let code = self::code(&h, "read", &[]);
    assert_token_error(&exchange(&h, &code, &[CAL]), 400, "invalid_target");
}

#[test]
fn ri_07_refresh_narrows_to_granted_resources_and_never_widens() {
    let h = ri_harness(|b| b);
    let code = code(&h, "read", &[CAL, CONTACTS]);
    let body = json(&exchange(&h, &code, &[CAL]));
    let refresh_token = body["refresh_token"].as_str().unwrap().to_owned();
    // Widening is refused, and the refresh token survives the refusal.
    let widened = refresh(&h, &refresh_token, &["https://unknown.example/"]);
    assert_token_error(&widened, 400, "invalid_target");
    assert!(h.is_live(&refresh_token));
    // The other granted resource is still reachable after a rotation.
    let response = refresh(&h, &refresh_token, &[CONTACTS]);
    assert_eq!(response.status, Status::OK, "{:?}", json(&response));
    let body = json(&response);
    assert_eq!(
        audience(&h, body["access_token"].as_str().unwrap()),
        [CONTACTS]
    );
    let rotated = body["refresh_token"].as_str().unwrap();
    let response = refresh(&h, rotated, &[CAL]);
    assert_eq!(response.status, Status::OK);
    assert_eq!(
        audience(&h, json(&response)["access_token"].as_str().unwrap()),
        [CAL]
    );
}

#[test]
fn ri_08_ri_09_client_credentials_token_is_for_the_named_resource() {
    let h = ri_harness(|b| b);
    let response = cc_read(&h, "cc", &[CAL]);
    assert_eq!(response.status, Status::OK);
    let access = json(&response)["access_token"].as_str().unwrap().to_owned();
    assert_eq!(audience(&h, &access), [CAL]);
    // Introspection reports the audience to its resource server, and hides the token
    // from another one.
    let own = introspect(&h, "rs-cal", &access);
    assert_eq!(own["active"], true);
    assert_eq!(own["aud"], CAL);
    let other = introspect(&h, "rs-contacts", &access);
    assert_eq!(other, serde_json::json!({"active": false}));
}

#[test]
fn ri_10_one_resource_per_token_unless_the_client_opted_in() {
    let h = ri_harness(|b| b);
    let two = with_resources("grant_type=client_credentials&scope=read", &[CAL, CONTACTS]);
    assert_token_error(&cc(&h, "cc", &two), 400, "invalid_target");
    add_service(&h, "multi-aud", |b| {
        b.dangerous(|d| d.allow_multiple_audiences())
    });
    let response = cc(&h, "multi-aud", &two);
    assert_eq!(response.status, Status::OK);
    let access = json(&response)["access_token"].as_str().unwrap().to_owned();
    assert_eq!(
        introspect(&h, "rs-cal", &access)["aud"],
        serde_json::json!([CAL, CONTACTS])
    );
    // A code for two resources redeemed without naming one: not a two-audience token.
    let code = code(&h, "read", &[CAL, CONTACTS]);
    assert_token_error(&exchange(&h, &code, &[]), 400, "invalid_target");
}

#[test]
fn ri_11_pr_10_the_guard_accepts_only_tokens_for_its_own_resource() {
    let t1 = "https://api.example.com/t1/";
    let t2 = "https://api.example.com/t2/";
    let h = ri_harness(|b| b.resource(t1).resource(t2));
    let token = |resource: &str| {
        let response = cc_read(&h, "cc", &[resource]);
        json(&response)["access_token"].as_str().unwrap().to_owned()
    };
    let for_t1 = token(t1);
    assert_eq!(guard_status(&h, t1, &for_t1), 200);
    assert_eq!(guard_status(&h, t2, &for_t1), 401);
    assert_eq!(guard_status(&h, "https://api.example.com/t1", &for_t1), 401);
    // A guard without an identifier refuses audience-restricted tokens.
    let bare = h.server.bearer_guard();
    assert!(block_on(bare.check(&bearer(&for_t1), &Scope::empty())).is_err());
}

#[test]
fn ri_12_invalid_target_at_the_token_endpoint_is_a_400_json_error() {
    let h = ri_harness(|b| b);
    let response = cc_read(&h, "cc", &["urn:not:registered"]);
    assert_token_error(&response, 400, "invalid_target");
    assert_token_headers(&response);
    assert_eq!(h.stored(), 0);
}

#[test]
fn ri_08_device_authorization_resources_apply_to_the_grant() {
    let devices = std::sync::Arc::new(MemoryDeviceStore::new());
    let h = Harness::builder(clients())
        .device_store(devices.clone())
        .build(|b| b.resource(CONTACTS));
    h.clients
        .insert(
            Client::builder("tv", ClientType::Public)
                .grant_type(GrantType::DEVICE_CODE)
                .allowed_scope("read")
                .build()
                .unwrap(),
        )
        .unwrap();
    let start = |resources: &[&str]| {
        block_on(h.server.device_authorization(&post_form(with_resources(
            "client_id=tv&scope=read",
            resources,
        ))))
        .unwrap()
    };
    assert_token_error(&start(&[CAL]), 400, "invalid_target");
    let response = start(&[CONTACTS]);
    assert_eq!(response.status, Status::OK, "{:?}", json(&response));
    let user_code = json(&response)["user_code"]
        .as_str()
        .unwrap()
        .replace('-', "");
    let (_, record) = block_on(grantflow::store::DeviceStore::find_by_user_code(
        &*devices, &user_code,
    ))
    .unwrap()
    .expect("the pending request");
    assert_eq!(record.resources.iter().collect::<Vec<_>>(), [CONTACTS]);
    // The verification page shows them; the device's token is for them.
    let verifier = h.server.device_verifier().unwrap();
    let pending = block_on(verifier.verify(
        grantflow::device::EnteredUserCode::new(&user_code),
        "session:alice",
    ))
    .unwrap();
    assert_eq!(
        pending.requested_resources().iter().collect::<Vec<_>>(),
        [CONTACTS]
    );
    block_on(pending.approve(Subject::new("alice"), Scope::parse("read").unwrap())).unwrap();
    let device_code = json(&response)["device_code"].as_str().unwrap().to_owned();
    let tokens = h.token(&format!(
        "grant_type={}&device_code={device_code}&client_id=tv",
        enc("urn:ietf:params:oauth:grant-type:device_code")
    ));
    assert_eq!(tokens.status, Status::OK, "{:?}", json(&tokens));
    assert_eq!(
        audience(&h, json(&tokens)["access_token"].as_str().unwrap()),
        [CONTACTS]
    );
}

#[test]
fn pr_09_as_metadata_lists_the_protected_resources() {
    let h = ri_harness(|b| b);
    let document = json(&h.server.metadata());
    assert_eq!(
        document["protected_resources"],
        serde_json::json!([CAL, CONTACTS])
    );
    let plain = harness();
    assert!(
        json(&plain.server.metadata())
            .get("protected_resources")
            .is_none()
    );
}

// ---------------------------------------------------------------------------------------
// JWT access tokens (RFC 9068) for resources: `aud`, refresh and the offline guard
// ---------------------------------------------------------------------------------------

/// The `aud` of JWT access tokens not restricted to a resource.
const DEFAULT_AUD: &str = "https://default.example.com/";

/// The resource harness issuing JWT access tokens, signed by a fresh ES256 key.
fn jwt_harness() -> Harness {
    use grantflow::jose::{Algorithm, JwtAccessTokens, KeySet, MemoryKeySetStore, SigningKey};
    let keys = KeySet::builder(ISSUER, std::sync::Arc::new(MemoryKeySetStore::new()))
        .build()
        .unwrap();
    let signer = SigningKey::generate(Algorithm::Es256).unwrap();
    block_on(keys.bootstrap(std::sync::Arc::new(signer), start())).unwrap();
    let h = ri_harness(|b| {
        b.signing_keys(keys)
            .jwt_access_tokens(JwtAccessTokens::new(DEFAULT_AUD))
    });
    add_service(&h, "multi-aud", |b| {
        b.dangerous(|d| d.allow_multiple_audiences())
    });
    h
}

fn access_token(response: &HttpResponse) -> String {
    assert_eq!(response.status, Status::OK, "{:?}", json(response));
    json(response)["access_token"].as_str().unwrap().to_owned()
}

/// A client credentials access token of `client` for `read` at `resources`.
fn cc_token(h: &Harness, client: &str, resources: &[&str]) -> String {
    access_token(&cc_read(h, client, resources))
}

#[test]
fn ri_09_ex_07_a_jwt_access_tokens_aud_is_its_resources() {
    let h = jwt_harness();
    // One resource: `aud` is that identifier, a string; introspection says the same.
    let for_cal = cc_token(&h, "cc", &[CAL]);
    assert_eq!(judge(&h.server, &for_cal, CAL)["aud"], CAL);
    assert_eq!(introspect(&h, "rs-cal", &for_cal)["aud"], CAL);
    // Several: an array, in the order named.
    let for_both = cc_token(&h, "multi-aud", &[CAL, CONTACTS]);
    assert_eq!(
        judge(&h.server, &for_both, CONTACTS)["aud"],
        serde_json::json!([CAL, CONTACTS])
    );
    // None: the default audience (RFC 9068 §3), and no audience in the record.
    let plain = cc_token(&h, "cc", &[]);
    assert_eq!(judge(&h.server, &plain, DEFAULT_AUD)["aud"], DEFAULT_AUD);
    assert!(audience(&h, &plain).is_empty());
}

#[test]
fn ri_06_ri_07_jwt_access_tokens_narrow_while_the_refresh_token_keeps_the_grant() {
    let h = jwt_harness();
    let code = code(&h, "read write", &[CAL, CONTACTS]);
    let response = exchange(&h, &code, &[CAL]);
    let access = access_token(&response);
    let claims = judge(&h.server, &access, CAL);
    assert_eq!(claims["aud"], CAL);
    // CAL understands only `read`.
    assert_eq!(claims["scope"], "read");
    let refresh_token = refresh_token_of(&response);
    assert_eq!(
        refresh_token.split('.').count(),
        1,
        "refresh tokens stay opaque"
    );
    let kept = h.record(&refresh_token).unwrap();
    assert_eq!(kept.audience.iter().collect::<Vec<_>>(), [CAL, CONTACTS]);
    assert_eq!(kept.scope.as_str(), "read write");
    // The other granted resource, then back: each access token for one of them, the
    // rotated refresh token still for both, with the whole scope.
    let response = refresh(&h, &refresh_token, &[CONTACTS]);
    let claims = judge(&h.server, &access_token(&response), CONTACTS);
    assert_eq!(claims["aud"], CONTACTS);
    assert_eq!(claims["scope"], "read write");
    let rotated = refresh_token_of(&response);
    let kept = h.record(&rotated).unwrap();
    assert_eq!(kept.audience.iter().collect::<Vec<_>>(), [CAL, CONTACTS]);
    assert_eq!(kept.scope.as_str(), "read write");
    let response = refresh(&h, &rotated, &[CAL]);
    assert_eq!(judge(&h.server, &access_token(&response), CAL)["aud"], CAL);
    // Widening stays refused.
    let rotated = refresh_token_of(&response);
    let widened = refresh(&h, &rotated, &["https://unknown.example/"]);
    assert_token_error(&widened, 400, "invalid_target");
}

#[test]
fn ri_11_the_offline_guard_accepts_only_tokens_for_its_own_resource() {
    let h = jwt_harness();
    let for_cal = cc_token(&h, "cc", &[CAL]);
    let for_contacts = cc_token(&h, "cc", &[CONTACTS]);
    let for_both = cc_token(&h, "multi-aud", &[CAL, CONTACTS]);
    let offline = |audience: &str, resource: &str| {
        block_on(h.server.jwt_bearer_guard(audience))
            .unwrap()
            .resource(resource)
            .unwrap()
    };
    let cal = offline(CAL, CAL);
    assert_eq!(status_at(&cal, &for_cal, "read"), 200);
    assert_eq!(status_at(&cal, &for_both, "read"), 200);
    assert_eq!(status_at(&cal, &for_contacts, "read"), 401);
    let contacts = offline(CONTACTS, CONTACTS);
    assert_eq!(status_at(&contacts, &for_both, "read"), 200);
    assert_eq!(status_at(&contacts, &for_cal, "read"), 401);
    // The guard's resource is checked besides the verifier's audience: both must be in
    // `aud`.
    let mismatched = offline(CAL, CONTACTS);
    assert_eq!(status_at(&mismatched, &for_cal, "read"), 401);
    assert_eq!(status_at(&mismatched, &for_both, "read"), 200);
    // What the guard reports: its own resource, no grant, the verified token.
    let info = block_on(cal.check(&bearer(&for_both), &Scope::parse("read").unwrap())).unwrap();
    assert_eq!(info.audience.iter().collect::<Vec<_>>(), [CAL]);
    assert_eq!(info.grant_id, None);
    assert!(info.jwt.is_some_and(|jwt| jwt.audience.len() == 2));
}

#[test]
fn pr_06_the_offline_guard_points_to_its_metadata() {
    use grantflow::guard::{BearerGuard, ResourceMetadata};
    use grantflow::jose::{AccessTokenVerifier, JwkSet, Validation};
    let h = jwt_harness();
    let cal_metadata = "https://cal.example.com/.well-known/oauth-protected-resource";
    let pointer = format!("resource_metadata=\"{cal_metadata}\"");
    let guard = block_on(h.server.jwt_bearer_guard(CAL))
        .unwrap()
        .resource(CAL)
        .unwrap()
        .publish_metadata(ResourceMetadata::new().scopes_supported("read"))
        .unwrap();
    assert_eq!(guard.metadata_url(), Some(cal_metadata));
    let challenge = |request: &HttpRequest, required: &str| -> (u16, String) {
        match block_on(guard.check(request, &Scope::parse(required).unwrap())) {
            Err(GuardRejection::Refused(response)) => (
                response.status.as_u16(),
                response.header("www-authenticate").unwrap().to_owned(),
            ),
            other => panic!("expected a refusal, got {other:?}"),
        }
    };
    // No token: 401 with the pointer and no error (BT-05).
    let (status, text) = challenge(&HttpRequest::new(Method::Get), "read");
    assert_eq!(status, 401);
    assert!(
        text.contains(&pointer) && !text.contains("error="),
        "{text}"
    );
    // A token for another resource: 401 invalid_token with the pointer.
    let for_contacts = cc_token(&h, "cc", &[CONTACTS]);
    let (status, text) = challenge(&bearer(&for_contacts), "read");
    assert_eq!(status, 401);
    assert!(
        text.contains("error=\"invalid_token\"") && text.contains(&pointer),
        "{text}"
    );
    // Too little scope: 403 with the pointer.
    let for_cal = cc_token(&h, "cc", &[CAL]);
    let (status, text) = challenge(&bearer(&for_cal), "write");
    assert_eq!(status, 403);
    assert!(text.contains(&pointer), "{text}");
    // The document names this server as the authorization server.
    let document = json(&guard.serve_metadata(
        &HttpRequest::new(Method::Get),
        "/.well-known/oauth-protected-resource",
    ));
    assert_eq!(document["resource"], CAL);
    assert_eq!(
        document["authorization_servers"],
        serde_json::json!([ISSUER])
    );

    // A resource server elsewhere: the verifier's issuer is the authorization server, and
    // an `http` identifier is refused next to an `https` one.
    let jwks = block_on(h.server.jwks(&HttpRequest::new(Method::Get))).unwrap();
    let verifier = AccessTokenVerifier::new(
        Validation::access_token(ISSUER, CAL),
        JwkSet::parse(&jwks.body).unwrap(),
    )
    .unwrap();
    let remote = BearerGuard::jwt(verifier, None);
    assert!(remote.clone().resource("http://cal.example.com/").is_err());
    let remote = remote
        .resource(CAL)
        .unwrap()
        .publish_metadata(ResourceMetadata::new())
        .unwrap();
    let document = json(&remote.serve_metadata(
        &HttpRequest::new(Method::Get),
        "/.well-known/oauth-protected-resource",
    ));
    assert_eq!(
        document["authorization_servers"],
        serde_json::json!([ISSUER])
    );
    let refused = block_on(remote.check(&HttpRequest::new(Method::Get), &Scope::empty()))
        .unwrap_err()
        .into_response();
    assert!(challenge_of(&refused).contains(&pointer));
}
