//! The example servers (axum, actix-web, hyper) end to end, over real loopback HTTP: every
//! grant through the `oauth2` crate (version 5) as a real client, a scripted browser for
//! the sign-in, consent and device pages, and raw requests for what a server must refuse.
//!
//! Every scenario runs against all three servers, each started on a free port inside the
//! test, with the same assertions: a behaviour that differs between them is a bug.

// Each example is a program of its own that includes the demo app (`examples/demo/`);
// including the three examples unchanged compiles three copies of it, one per server.
#![allow(clippy::duplicate_mod)]

#[path = "../../examples/actix_server.rs"]
#[allow(dead_code, reason = "the example's main is not used here")]
pub(crate) mod actix_server;
#[path = "../../examples/axum_server.rs"]
#[allow(dead_code, reason = "the example's main is not used here")]
pub(crate) mod axum_server;
#[path = "../../examples/hyper_server.rs"]
#[allow(dead_code, reason = "the example's main is not used here")]
pub(crate) mod hyper_server;

/// One test per scenario and framework: `axum::<scenario>`, `actix::<scenario>`,
/// `hyper::<scenario>`. The scenarios of `shared:` run against a server with the default
/// limits; those of `own_server:` start their own, with the limits they test.
macro_rules! on_every_framework {
    (shared: [$($scenario:ident)*] own_server: [$($own:ident)*]) => {
        on_every_framework!(@one axum Axum [$($scenario)*] [$($own)*]);
        on_every_framework!(@one actix Actix [$($scenario)*] [$($own)*]);
        on_every_framework!(@one hyper Hyper [$($scenario)*] [$($own)*]);
    };
    (@one $module:ident $framework:ident [$($scenario:ident)*] [$($own:ident)*]) => {
        mod $module {
            $(
                #[tokio::test]
                async fn $scenario() {
                    let demo = crate::support::e2e::Demo::start(
                        crate::support::e2e::Framework::$framework,
                    )
                    .await;
                    super::scenarios::$scenario(&demo).await;
                }
            )*
            $(
                #[tokio::test]
                async fn $own() {
                    super::scenarios::$own(crate::support::e2e::Framework::$framework).await;
                }
            )*
        }
    };
}

on_every_framework! {
shared: [
    md_01_md_04_metadata_discovers_every_endpoint
    pk_01_code_flow_with_pkce_then_refresh
    te_06_confidential_client_code_flow_with_basic_auth
    ex_01_ex_02_pushed_authorization_request_over_http
    dr_10_dr_13_dr_14_dr_15_registration_over_http
    cc_01_cc_02_client_credentials
    dg_09_device_flow_with_the_verification_page
    dg_11_denied_device_request
    pw_02_password_grant_for_the_opted_in_client_only
    rv_06_in_04_revocation_and_introspection
    rv_05_revocation_does_not_reveal_foreign_tokens
    te_09_wrong_client_secret_is_401_with_a_basic_challenge
    az_02_az_03_unverified_clients_and_redirect_uris_are_never_redirected
    ac_01_ac_02_replayed_code_is_refused_and_revokes_its_tokens
    rt_06_reused_refresh_token_revokes_the_grant
    im_01_implicit_is_refused_with_a_redirect_after_sign_in
    pk_02_missing_pkce_is_refused
    az_07_error_redirects_wait_for_the_sign_in
    az_08_deny_redirects_access_denied
    bt_05_bt_06_bt_07_bearer_guard_at_the_api
    pr_05_pr_06_ri_11_from_a_401_to_the_api_with_a_resource_bound_token
    sec_02_pages_forbid_framing
    sec_03_forms_without_the_csrf_token_are_refused
    sec_04_form_posts_answer_303
    sec_05_pages_load_nothing_from_elsewhere
    st_02_sec_06_state_is_escaped_on_pages_and_exact_in_redirects
    dg_07_dg_08_device_page_confirms_and_refuses_bad_codes
    unknown_paths_and_oversized_bodies
    over_limit_bodies_at_token_style_endpoints_answer_json
    az_10_no_cors_on_the_authorization_endpoint
    cors_for_the_browser_client
    logs_carry_no_secret
    enter_in_a_sign_in_form_never_approves
    stale_form_of_another_tab_leads_to_the_current_page
    strangers_cannot_lock_a_user_out_of_signing_in
    device_authorization_is_limited_per_address
    user_name_field_neither_capitalises_nor_corrects
    failed_sign_in_keeps_the_user_name_and_announces_why
    input_borders_contrast_at_least_three_to_one
    signed_in_pages_offer_a_way_to_sign_out
    device_done_link_claims_nothing
    pages_name_the_service
    error_pages_show_no_developer_strings
    head_answers_every_page_as_get_does
    oi_01_oi_12_oi_13_oi_20_oi_21_openid_sign_in
]
own_server: [
    stalled_requests_are_closed
    connections_beyond_the_cap_wait_for_a_free_one
    anonymous_sessions_never_push_out_signed_in_ones
]
}

/// The example servers in JWT mode (`ACCESS_TOKENS=jwt`), on every framework: a client
/// credentials token and a user token from the code flow verify with an independent JWT
/// library and the keys at `jwks_uri`, and `/api/data` verifies them offline.
mod jwt_mode {
    /// The JWT-mode scenario, and scenarios of the opaque mode that hold in JWT mode too
    /// (the guard's challenges, client credentials, revocation and introspection, the way
    /// from a 401 to a resource-bound token, logs without secrets), on one framework.
    macro_rules! jwt_mode {
        ($module:ident $framework:ident) => {
            mod $module {
                use crate::support::e2e::{Demo, Framework};

                #[tokio::test]
                async fn ex_07_ex_08_jwt_access_tokens() {
                    crate::example_servers::scenarios::ex_07_ex_08_jwt_access_tokens(
                        Framework::$framework,
                    )
                    .await;
                }

                #[tokio::test]
                async fn opaque_mode_scenarios_hold() {
                    use crate::example_servers::scenarios as s;
                    let demo = Demo::start_jwt(Framework::$framework).await;
                    s::bt_05_bt_06_bt_07_bearer_guard_at_the_api(&demo).await;
                    s::cc_01_cc_02_client_credentials(&demo).await;
                    s::rv_06_in_04_revocation_and_introspection(&demo).await;
                    s::md_01_md_04_metadata_discovers_every_endpoint(&demo).await;
                    s::pr_05_pr_06_ri_11_from_a_401_to_the_api_with_a_resource_bound_token(&demo)
                        .await;
                    s::logs_carry_no_secret(&demo).await;
                }
            }
        };
    }

    jwt_mode!(axum Axum);
    jwt_mode!(actix Actix);
    jwt_mode!(hyper Hyper);
}

mod scenarios {
    use oauth2::basic::{BasicErrorResponseType, BasicTokenType};
    use oauth2::{
        AuthorizationCode, CsrfToken, DeviceCodeErrorResponseType, PkceCodeChallenge,
        RequestTokenError, ResourceOwnerPassword, ResourceOwnerUsername, Scope,
        StandardDeviceAuthorizationResponse, StandardRevocableToken,
        TokenIntrospectionResponse as _, TokenResponse as _,
    };

    use std::time::Duration;

    use crate::support::e2e::*;

    fn scope(text: &str) -> Scope {
        Scope::new(text.to_owned())
    }

    /// The scope of a token response as a sorted list.
    fn scopes(tokens: &impl oauth2::TokenResponse) -> Vec<String> {
        let mut out: Vec<String> = tokens
            .scopes()
            .map(|s| s.iter().map(|s| s.to_string()).collect())
            .unwrap_or_default();
        out.sort();
        out
    }

    /// The `error` of a failed `oauth2` token request.
    fn server_error<E: std::error::Error + 'static>(
        result: Result<
            impl std::fmt::Debug,
            RequestTokenError<E, oauth2::StandardErrorResponse<BasicErrorResponseType>>,
        >,
    ) -> BasicErrorResponseType {
        match result {
            Err(RequestTokenError::ServerResponse(response)) => response.error().clone(),
            other => panic!("expected an error response, got {other:?}"),
        }
    }

    /// A client credentials token of `demo-service` for `scope`.
    async fn service_token(demo: &Demo, wanted: &str) -> oauth2::basic::BasicTokenResponse {
        demo.oauth("demo-service", Some("demo-service-secret"), SPA_REDIRECT)
            .exchange_client_credentials()
            .add_scope(scope(wanted))
            .request_async(&demo.http)
            .await
            .expect("a token")
    }

    /// Signs in through the code flow with PKCE as `demo-spa` and returns its tokens.
    async fn spa_tokens(demo: &Demo) -> oauth2::basic::BasicTokenResponse {
        let client = demo.oauth("demo-spa", None, SPA_REDIRECT);
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let (url, state) = client
            .authorize_url(CsrfToken::new_random)
            .add_scope(scope("profile"))
            .add_scope(scope("read:data"))
            .set_pkce_challenge(challenge)
            .url();
        let code = demo
            .browser()
            .authorization_code(url.as_str(), state.secret())
            .await;
        client
            .exchange_code(AuthorizationCode::new(code))
            .set_pkce_verifier(verifier)
            .request_async(&demo.http)
            .await
            .expect("PK-01: the code exchange succeeds")
    }

    /// Whether `demo-service` sees `token` as active.
    async fn introspect_active(demo: &Demo, token: &oauth2::AccessToken) -> bool {
        demo.oauth("demo-service", Some("demo-service-secret"), SPA_REDIRECT)
            .introspect(token)
            .request_async(&demo.http)
            .await
            .expect("introspection answers")
            .active()
    }

    /// The example server is an OpenID Provider: discovery, a browser sign-in with PKCE
    /// and a nonce, an ID token a relying party verifies (`jsonwebtoken`, against the
    /// published JWKS), UserInfo, a refresh with a new ID token, and `prompt=none`
    /// without a session.
    pub(crate) async fn oi_01_oi_12_oi_13_oi_20_oi_21_openid_sign_in(demo: &Demo) {
        let discovery = demo.get("/.well-known/openid-configuration").await;
        assert_eq!(discovery.status, 200);
        let doc = discovery.json();
        assert_eq!(doc["issuer"], demo.base.as_str(), "OI-21");
        assert_eq!(doc["userinfo_endpoint"], demo.url("/userinfo").as_str());
        assert_eq!(doc["jwks_uri"], demo.url("/jwks").as_str());
        assert_eq!(doc["token_endpoint"], demo.metadata["token_endpoint"]);

        let client = demo.oauth("demo-spa", None, SPA_REDIRECT);
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let (url, state) = client
            .authorize_url(CsrfToken::new_random)
            .add_scope(scope("openid"))
            .add_scope(scope("email"))
            .add_extra_param("nonce", "n-0S6_WzA2Mj")
            .set_pkce_challenge(challenge)
            .url();
        let code = demo
            .browser()
            .authorization_code(url.as_str(), state.secret())
            .await;
        let reply = demo.spa_code_exchange(&code, verifier.secret()).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        let tokens = reply.json();
        let jwks_reply = demo.get("/jwks").await;
        assert_eq!(jwks_reply.status, 200);
        let jwks: jsonwebtoken::jwk::JwkSet =
            serde_json::from_str(&jwks_reply.body).expect("a JWK Set");
        let verify = |id_token: &str| {
            let header = jsonwebtoken::decode_header(id_token).expect("a JWS");
            assert_eq!(header.alg, jsonwebtoken::Algorithm::RS256, "OI-10");
            let jwk = jwks
                .find(header.kid.as_deref().expect("a kid"))
                .expect("the key is published")
                .clone();
            let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
            validation.set_audience(&["demo-spa"]);
            validation.set_issuer(&[demo.base.as_str()]);
            jsonwebtoken::decode::<serde_json::Map<String, serde_json::Value>>(
                id_token,
                &jsonwebtoken::DecodingKey::from_jwk(&jwk).expect("a usable key"),
                &validation,
            )
            .expect("the relying party accepts the ID token")
            .claims
        };
        let claims = verify(tokens["id_token"].as_str().expect("OI-12: an ID token"));
        assert_eq!(claims["sub"], "alice");
        assert_eq!(claims["nonce"], "n-0S6_WzA2Mj", "OI-04");
        assert_eq!(claims["amr"], serde_json::json!(["pwd"]));
        assert!(claims["auth_time"].is_u64() && claims["at_hash"].is_string());

        let info = demo
            .get_with_bearer("/userinfo", tokens["access_token"].as_str().expect("an AT"))
            .await;
        assert_eq!(info.status, 200, "OI-13: {}", info.body);
        assert_eq!(
            info.json(),
            serde_json::json!({"sub": "alice", "email": "alice@example.com", "email_verified": true})
        );

        let refreshed = demo
            .spa_refresh(tokens["refresh_token"].as_str().expect("an RT"))
            .await;
        assert_eq!(refreshed.status, 200, "{}", refreshed.body);
        let again = verify(refreshed.json()["id_token"].as_str().expect("OI-20"));
        assert_eq!(again["sub"], claims["sub"]);
        assert_eq!(again["auth_time"], claims["auth_time"]);
        assert!(again.get("nonce").is_none());

        // OI-02: prompt=none without a session.
        let reply = demo
            .get(&spa_authorize_path("&prompt=none").replace("scope=profile", "scope=openid"))
            .await;
        demo.assert_error_redirect(&reply, "login_required", Some("s-123"));
    }

    pub(crate) async fn md_01_md_04_metadata_discovers_every_endpoint(demo: &Demo) {
        let meta = &demo.metadata;
        assert_eq!(meta["issuer"], demo.base.as_str(), "MD-02");
        for (member, path) in [
            ("authorization_endpoint", "/authorize"),
            ("token_endpoint", "/token"),
            ("device_authorization_endpoint", "/device_authorization"),
            ("revocation_endpoint", "/revoke"),
            ("introspection_endpoint", "/introspect"),
        ] {
            assert_eq!(meta[member], demo.url(path).as_str(), "{member}");
        }
        assert_eq!(
            meta["response_types_supported"],
            serde_json::json!(["code"])
        );
        assert_eq!(
            meta["code_challenge_methods_supported"],
            serde_json::json!(["S256"])
        );
        assert_eq!(meta["authorization_response_iss_parameter_supported"], true);
        let grants = meta["grant_types_supported"]
            .as_array()
            .expect("grant types");
        for grant in [
            "authorization_code",
            "refresh_token",
            "client_credentials",
            "urn:ietf:params:oauth:grant-type:device_code",
            "password",
        ] {
            assert!(grants.iter().any(|g| g == grant), "{grant}");
        }
        // Served with GET only (MD-01).
        let post = demo
            .post_form("/.well-known/oauth-authorization-server", None, &[])
            .await;
        assert_eq!(post.status, 405);
    }

    pub(crate) async fn pk_01_code_flow_with_pkce_then_refresh(demo: &Demo) {
        let tokens = spa_tokens(demo).await;
        assert_eq!(tokens.token_type(), &BasicTokenType::Bearer);
        assert_eq!(scopes(&tokens), ["profile", "read:data"]);
        let data = demo
            .get_with_bearer("/api/data", tokens.access_token().secret())
            .await;
        assert_eq!(data.status, 200, "{}", data.body);
        assert_eq!(data.json()["subject"], "alice");
        assert_eq!(data.json()["client_id"], "demo-spa");

        // RT-04: a public client's refresh token rotates on every use.
        let client = demo.oauth("demo-spa", None, SPA_REDIRECT);
        let first = tokens.refresh_token().expect("a refresh token");
        let refreshed = client
            .exchange_refresh_token(first)
            .request_async(&demo.http)
            .await
            .expect("the refresh succeeds");
        let second = refreshed.refresh_token().expect("a rotated refresh token");
        assert_ne!(first.secret(), second.secret());
        assert_eq!(scopes(&refreshed), ["profile", "read:data"]);
        let data = demo
            .get_with_bearer("/api/data", refreshed.access_token().secret())
            .await;
        assert_eq!(data.status, 200);
    }

    pub(crate) async fn te_06_confidential_client_code_flow_with_basic_auth(demo: &Demo) {
        // `demo-web` authenticates with client_secret_basic, the oauth2 crate's default.
        let client = demo.oauth("demo-web", Some("demo-web-secret"), WEB_REDIRECT);
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let (url, state) = client
            .authorize_url(CsrfToken::new_random)
            .add_scope(scope("profile"))
            .set_pkce_challenge(challenge)
            .url();
        let mut browser = demo.browser();
        let reply = browser.sign_in_and_approve(url.as_str()).await;
        let location = reply.location();
        assert!(
            location
                .as_str()
                .starts_with("http://localhost:3000/callback?")
        );
        assert_eq!(
            query_param(&location, "state").as_deref(),
            Some(state.secret().as_str())
        );
        let code = query_param(&location, "code").expect("a code");
        let tokens = client
            .exchange_code(AuthorizationCode::new(code))
            .set_pkce_verifier(verifier)
            .request_async(&demo.http)
            .await
            .expect("the code exchange succeeds");
        assert_eq!(scopes(&tokens), ["profile"]);
        assert!(tokens.refresh_token().is_some());
        // The code is bound to demo-web: without the secret it is worthless (AC-06).
        let stolen = demo.oauth("demo-web", None, WEB_REDIRECT);
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let (url, _) = stolen
            .authorize_url(CsrfToken::new_random)
            .add_scope(scope("profile"))
            .set_pkce_challenge(challenge)
            .url();
        let reply = browser.sign_in_and_approve(url.as_str()).await;
        let code = query_param(&reply.location(), "code").expect("a code");
        let refused = stolen
            .exchange_code(AuthorizationCode::new(code))
            .set_pkce_verifier(verifier)
            .request_async(&demo.http)
            .await;
        assert_eq!(server_error(refused), BasicErrorResponseType::InvalidClient);
    }

    /// RFC 7591 and RFC 7592 over plain HTTP: a public client registers at `/register`
    /// (201, `no-store`), signs in through the `oauth2` crate with the `client_id` it got,
    /// reads its registration (the token rotates), updates it (PUT), deletes it (204), after
    /// which its tokens and its registration access token are dead.
    pub(crate) async fn dr_10_dr_13_dr_14_dr_15_registration_over_http(demo: &Demo) {
        let register = demo.url("/register");
        assert_eq!(demo.metadata["registration_endpoint"], register.as_str());
        let metadata = serde_json::json!({
            "client_name": "Registered over HTTP",
            "redirect_uris": [SPA_REDIRECT],
            "token_endpoint_auth_method": "none",
            "grant_types": ["authorization_code", "refresh_token"],
            "scope": "read:data",
            "application_type": "native",
        });
        let created = demo
            .send(
                demo.http
                    .post(&register)
                    .header("content-type", "application/json")
                    .body(metadata.to_string()),
            )
            .await;
        assert_eq!(created.status, 201, "{}", created.body);
        assert_eq!(created.header("cache-control"), Some("no-store"));
        let info = created.json();
        let client_id = info["client_id"].as_str().expect("a client_id").to_owned();
        let token = info["registration_access_token"].as_str().expect("a token");
        let uri = info["registration_client_uri"]
            .as_str()
            .expect("a URI")
            .to_owned();
        assert_eq!(uri, demo.url(&format!("/register/{client_id}")));
        assert!(info.get("application_type").is_none() && info.get("client_secret").is_none());
        // The registered client signs in like any other.
        let client = demo.oauth(&client_id, None, SPA_REDIRECT);
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let (url, state) = client
            .authorize_url(CsrfToken::new_random)
            .add_scope(Scope::new("read:data".into()))
            .set_pkce_challenge(challenge)
            .url();
        let code = demo
            .browser()
            .authorization_code(url.as_str(), state.secret())
            .await;
        let tokens = client
            .exchange_code(AuthorizationCode::new(code))
            .set_pkce_verifier(verifier)
            .request_async(&demo.http)
            .await
            .expect("the registered client gets tokens");
        let access = tokens.access_token().secret().to_owned();
        assert_eq!(demo.get_with_bearer("/api/data", &access).await.status, 200);
        // Read: 200, and the registration access token rotates.
        let read = demo.send(demo.http.get(&uri).bearer_auth(token)).await;
        assert_eq!(read.status, 200, "{}", read.body);
        let token = read.json()["registration_access_token"]
            .as_str()
            .expect("a new token")
            .to_owned();
        let missing = demo.send(demo.http.get(&uri)).await;
        assert_eq!(missing.status, 401);
        // Update: the complete metadata with a new name.
        let mut update = metadata.clone();
        update["client_id"] = serde_json::json!(client_id);
        update["client_name"] = serde_json::json!("Renamed over HTTP");
        let updated = demo
            .send(
                demo.http
                    .put(&uri)
                    .bearer_auth(&token)
                    .header("content-type", "application/json")
                    .body(update.to_string()),
            )
            .await;
        assert_eq!(updated.status, 200, "{}", updated.body);
        assert_eq!(updated.json()["client_name"], "Renamed over HTTP");
        let token = updated.json()["registration_access_token"]
            .as_str()
            .expect("a new token")
            .to_owned();
        // Delete: 204, then the token, the client and its tokens are gone.
        let deleted = demo.send(demo.http.delete(&uri).bearer_auth(&token)).await;
        assert_eq!(deleted.status, 204);
        let after = demo.send(demo.http.get(&uri).bearer_auth(&token)).await;
        assert_eq!(after.status, 401);
        assert_eq!(demo.get_with_bearer("/api/data", &access).await.status, 401);
    }

    /// RFC 9126 over plain HTTP (neither the `oauth2` crate nor `openidconnect` pushes
    /// requests): `demo-web` pushes its request to `/par` with its Basic credentials, the
    /// browser signs in with only `client_id` and `request_uri`, and the `oauth2` crate
    /// redeems the code. The same `request_uri` is refused afterwards.
    pub(crate) async fn ex_01_ex_02_pushed_authorization_request_over_http(demo: &Demo) {
        assert_eq!(
            demo.metadata["pushed_authorization_request_endpoint"],
            demo.url("/par").as_str()
        );
        assert_eq!(
            demo.metadata["require_pushed_authorization_requests"],
            false
        );
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let pushed = demo
            .post_form(
                "/par",
                Some(("demo-web", "demo-web-secret")),
                &[
                    ("response_type", "code"),
                    ("redirect_uri", WEB_REDIRECT),
                    ("scope", "profile"),
                    ("state", "s-par"),
                    ("code_challenge", challenge.as_str()),
                    ("code_challenge_method", "S256"),
                ],
            )
            .await;
        assert_eq!(pushed.status, 201, "{}", pushed.body);
        assert_eq!(pushed.header("cache-control"), Some("no-store"));
        let body = pushed.json();
        let request_uri = body["request_uri"].as_str().expect("a request_uri");
        assert!(request_uri.starts_with("urn:ietf:params:oauth:request_uri:"));
        assert_eq!(body["expires_in"], 90);
        let url = format!(
            "{}?client_id=demo-web&request_uri={}",
            demo.url("/authorize"),
            url::form_urlencoded::byte_serialize(request_uri.as_bytes()).collect::<String>()
        );
        let mut browser = demo.browser();
        let reply = browser.sign_in_and_approve(&url).await;
        let location = reply.location();
        assert!(
            location
                .as_str()
                .starts_with("http://localhost:3000/callback?")
        );
        assert_eq!(query_param(&location, "state").as_deref(), Some("s-par"));
        let code = query_param(&location, "code").expect("a code");
        let client = demo.oauth("demo-web", Some("demo-web-secret"), WEB_REDIRECT);
        let tokens = client
            .exchange_code(AuthorizationCode::new(code))
            .set_pkce_verifier(verifier)
            .request_async(&demo.http)
            .await
            .expect("the code exchange succeeds");
        assert_eq!(scopes(&tokens), ["profile"]);
        // Used once: the same request_uri is now an error page, never a redirect.
        let again = browser.open(&url).await;
        assert_eq!(again.status, 400, "{}", again.body);
        assert!(again.header("location").is_none());
        // Without client authentication, nothing is pushed.
        let anonymous = demo
            .post_form(
                "/par",
                None,
                &[("client_id", "demo-web"), ("response_type", "code")],
            )
            .await;
        assert_eq!(anonymous.status, 401);
    }

    pub(crate) async fn cc_01_cc_02_client_credentials(demo: &Demo) {
        let client = demo.oauth("demo-service", Some("demo-service-secret"), SPA_REDIRECT);
        let tokens = client
            .exchange_client_credentials()
            .add_scope(scope("read:data"))
            .request_async(&demo.http)
            .await
            .expect("a token");
        assert_eq!(scopes(&tokens), ["read:data"]);
        assert!(tokens.refresh_token().is_none(), "CC-02");
        let data = demo
            .get_with_bearer("/api/data", tokens.access_token().secret())
            .await;
        assert_eq!(data.status, 200);
        assert_eq!(data.json()["subject"], serde_json::Value::Null, "CC-04");
        // CC-03: nothing beyond the client's allowed scope.
        let refused = client
            .exchange_client_credentials()
            .add_scope(scope("profile"))
            .request_async(&demo.http)
            .await;
        assert_eq!(server_error(refused), BasicErrorResponseType::InvalidScope);
        // CC-01: a public client may not use it.
        let public = demo
            .post_token(&[
                ("grant_type", "client_credentials"),
                ("client_id", "demo-spa"),
            ])
            .await;
        assert!(
            [400, 401].contains(&public.status)
                && ["unauthorized_client", "invalid_client"].contains(&public.error().as_str()),
            "{}",
            public.body
        );
    }

    /// Device authorization, then the verification page, as far as the confirmation page.
    async fn device_request(
        demo: &Demo,
        browser: &mut Browser<'_>,
    ) -> (StandardDeviceAuthorizationResponse, Reply) {
        let client = demo.oauth("demo-tv", None, SPA_REDIRECT);
        let details: StandardDeviceAuthorizationResponse = client
            .exchange_device_code()
            .add_scope(scope("profile"))
            .request_async(&demo.http)
            .await
            .expect("DG-02: device codes");
        assert_eq!(
            details.verification_uri().url().as_str(),
            demo.url("/device")
        );
        let complete = details
            .verification_uri_complete()
            .expect("verification_uri_complete")
            .secret()
            .clone();
        // DG-08: the link prefills the code, and asks for the sign-in first.
        let page = browser.open(&complete).await;
        assert_eq!(page.status, 200);
        assert_eq!(
            page.input("user_code").as_deref(),
            Some(details.user_code().secret().as_str())
        );
        assert!(
            !page.body.contains("value=\"approve\""),
            "DG-08: nothing to approve yet"
        );
        let signed_in = browser.sign_in(&page, "approve").await;
        // Signing in only leads to the confirmation page, whatever was pressed (DG-08).
        let confirm = browser.follow(&signed_in).await;
        assert_eq!(confirm.status, 200, "{}", confirm.body);
        assert!(confirm.body.contains("Demo TV"), "{}", confirm.body);
        assert!(confirm.body.contains(details.user_code().secret().as_str()));
        assert!(confirm.body.contains("value=\"approve\""));
        (details, confirm)
    }

    pub(crate) async fn dg_09_device_flow_with_the_verification_page(demo: &Demo) {
        // DG-09: before the user answers, a poll hears "authorization_pending".
        let client = demo.oauth("demo-tv", None, SPA_REDIRECT);
        let waiting: StandardDeviceAuthorizationResponse = client
            .exchange_device_code()
            .request_async(&demo.http)
            .await
            .expect("device codes");
        fn poll(device_code: &str) -> [(&str, &str); 3] {
            [
                ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
                ("device_code", device_code),
                ("client_id", "demo-tv"),
            ]
        }
        let pending = demo.post_token(&poll(waiting.device_code().secret())).await;
        assert_eq!(pending.status, 400);
        assert_eq!(pending.error(), "authorization_pending");
        assert_eq!(pending.header("cache-control"), Some("no-store"));

        // Another device: the user approves first, so the device's first poll succeeds
        // (the oauth2 crate polls, waiting the interval between polls).
        let mut browser = demo.browser();
        let (details, confirm) = device_request(demo, &mut browser).await;
        let done = browser.submit(&confirm, &[("decision", "approve")]).await;
        assert_eq!(done.status, 303, "SEC-04");
        let page = browser.follow(&done).await;
        assert!(page.body.contains("Device connected"));
        let tokens = client
            .exchange_device_access_token(&details)
            .request_async(&demo.http, tokio::time::sleep, None)
            .await
            .expect("the device gets its tokens");
        assert_eq!(scopes(&tokens), ["profile"]);
        let data = demo
            .get_with_bearer("/api/data", tokens.access_token().secret())
            .await;
        assert_eq!(data.status, 403, "profile only: no read:data");
        // DG-11: the device code is used up (after the interval, or it is `slow_down`).
        let again = demo.post_token(&poll(details.device_code().secret())).await;
        assert!(
            ["invalid_grant", "slow_down"].contains(&again.error().as_str()),
            "{}",
            again.body
        );
    }

    pub(crate) async fn dg_11_denied_device_request(demo: &Demo) {
        let mut browser = demo.browser();
        let (details, confirm) = device_request(demo, &mut browser).await;
        let done = browser.submit(&confirm, &[("decision", "deny")]).await;
        assert_eq!(done.status, 303);
        let page = browser.follow(&done).await;
        assert!(page.body.contains("Request denied"));
        let client = demo.oauth("demo-tv", None, SPA_REDIRECT);
        let result = client
            .exchange_device_access_token(&details)
            .request_async(&demo.http, tokio::time::sleep, None)
            .await;
        match result {
            Err(RequestTokenError::ServerResponse(response)) => {
                assert_eq!(response.error(), &DeviceCodeErrorResponseType::AccessDenied);
            }
            other => panic!("expected access_denied, got {other:?}"),
        }
    }

    pub(crate) async fn pw_02_password_grant_for_the_opted_in_client_only(demo: &Demo) {
        let legacy = demo.oauth("demo-legacy", Some("demo-legacy-secret"), SPA_REDIRECT);
        let user = ResourceOwnerUsername::new(USER.0.to_owned());
        let tokens = legacy
            .exchange_password(&user, &ResourceOwnerPassword::new(USER.1.to_owned()))
            .add_scope(scope("read:data"))
            .request_async(&demo.http)
            .await
            .expect("PW-02: the opted-in client gets tokens");
        assert_eq!(scopes(&tokens), ["read:data"]);
        let data = demo
            .get_with_bearer("/api/data", tokens.access_token().secret())
            .await;
        assert_eq!(data.json()["subject"], "alice");
        let wrong = legacy
            .exchange_password(&user, &ResourceOwnerPassword::new("guess".to_owned()))
            .add_scope(scope("read:data"))
            .request_async(&demo.http)
            .await;
        assert_eq!(server_error(wrong), BasicErrorResponseType::InvalidGrant);
        // PW-02: any other client is refused.
        let web = demo.oauth("demo-web", Some("demo-web-secret"), WEB_REDIRECT);
        let refused = web
            .exchange_password(&user, &ResourceOwnerPassword::new(USER.1.to_owned()))
            .add_scope(scope("profile"))
            .request_async(&demo.http)
            .await;
        assert_eq!(
            server_error(refused),
            BasicErrorResponseType::UnauthorizedClient
        );
    }

    pub(crate) async fn rv_06_in_04_revocation_and_introspection(demo: &Demo) {
        let tokens = spa_tokens(demo).await;
        let service = demo.oauth("demo-service", Some("demo-service-secret"), SPA_REDIRECT);
        let info = service
            .introspect(tokens.access_token())
            .request_async(&demo.http)
            .await
            .expect("introspection");
        assert!(info.active(), "IN-04");
        assert_eq!(info.client_id().map(|c| c.as_str()), Some("demo-spa"));
        assert_eq!(info.sub(), Some("alice"));
        assert!(info.exp().is_some());
        // IN-02: a client that is not a resource server may not introspect.
        let web = demo.oauth("demo-web", Some("demo-web-secret"), WEB_REDIRECT);
        assert!(
            web.introspect(tokens.access_token())
                .request_async(&demo.http)
                .await
                .is_err()
        );

        // The owner revokes its refresh token: the whole grant goes (RV-02, RV-06).
        let spa = demo.oauth("demo-spa", None, SPA_REDIRECT);
        let refresh = tokens.refresh_token().expect("a refresh token").clone();
        spa.revoke_token(StandardRevocableToken::RefreshToken(refresh.clone()))
            .expect("an https revocation URL")
            .request_async(&demo.tls)
            .await
            .expect("RV-03: revocation answers 200");
        assert!(
            !introspect_active(demo, tokens.access_token()).await,
            "RV-06"
        );
        let inactive = demo
            .post_form(
                "/introspect",
                Some(("demo-service", "demo-service-secret")),
                &[("token", tokens.access_token().secret())],
            )
            .await;
        assert_eq!(inactive.body, r#"{"active":false}"#, "IN-03");
        let refused = spa
            .exchange_refresh_token(&refresh)
            .request_async(&demo.http)
            .await;
        assert_eq!(server_error(refused), BasicErrorResponseType::InvalidGrant);
        // RV-03: revoking an unknown token is a 200 too.
        let unknown = demo
            .post_form(
                "/revoke",
                None,
                &[("token", "no-such-token"), ("client_id", "demo-spa")],
            )
            .await;
        assert_eq!(unknown.status, 200);
    }

    pub(crate) async fn te_09_wrong_client_secret_is_401_with_a_basic_challenge(demo: &Demo) {
        let reply = demo
            .post_form(
                "/token",
                Some(("demo-service", "wrong-secret")),
                &[("grant_type", "client_credentials")],
            )
            .await;
        assert_eq!(reply.status, 401);
        assert_eq!(reply.error(), "invalid_client");
        assert!(reply.challenge().starts_with("Basic realm="));
        assert_eq!(reply.header("cache-control"), Some("no-store"), "TE-12");
        let client = demo.oauth("demo-service", Some("not-the-secret"), SPA_REDIRECT);
        let refused = client
            .exchange_client_credentials()
            .request_async(&demo.http)
            .await;
        assert_eq!(server_error(refused), BasicErrorResponseType::InvalidClient);
    }

    pub(crate) async fn az_02_az_03_unverified_clients_and_redirect_uris_are_never_redirected(
        demo: &Demo,
    ) {
        let evil = "https%3A%2F%2Fevil.example%2Fcb";
        let mut browser = demo.browser();
        for path in [
            format!(
                "/authorize?response_type=code&client_id=demo-spa&redirect_uri={evil}\
                 &code_challenge={CHALLENGE}&code_challenge_method=S256"
            ),
            format!(
                "/authorize?response_type=code&client_id=nobody&redirect_uri={evil}\
                 &code_challenge={CHALLENGE}&code_challenge_method=S256"
            ),
            // A port is free only for loopback literals (RU-06).
            format!(
                "/authorize?response_type=code&client_id=demo-web\
                 &redirect_uri=http%3A%2F%2Flocalhost%3A4000%2Fcallback\
                 &code_challenge={CHALLENGE}&code_challenge_method=S256"
            ),
        ] {
            let page = browser.open(&path).await;
            assert_eq!(page.status, 400, "{path}");
            assert!(page.header("location").is_none(), "{path}");
            assert!(!page.body.contains("evil.example"), "{path}");
            assert!(page.body.contains("not valid"));
            // Posting to it is refused the same way, before any sign-in.
            let csrf = browser
                .open(&spa_authorize_path(""))
                .await
                .input("csrf_token");
            let csrf = csrf.expect("a CSRF token");
            let posted = browser
                .post(
                    &path,
                    &[
                        ("csrf_token", csrf.as_str()),
                        ("username", USER.0),
                        ("password", USER.1),
                        ("decision", "approve"),
                    ],
                )
                .await;
            assert_eq!(posted.status, 400, "{path}");
            assert!(posted.header("location").is_none(), "{path}");
        }
    }

    pub(crate) async fn ac_01_ac_02_replayed_code_is_refused_and_revokes_its_tokens(demo: &Demo) {
        let mut browser = demo.browser();
        let code = browser
            .authorization_code(&demo.url(&spa_authorize_path("")), "s-123")
            .await;
        let first = demo.spa_code_exchange(&code, VERIFIER).await;
        assert_eq!(first.status, 200, "{}", first.body);
        let tokens = first.json();
        let replay = demo.spa_code_exchange(&code, VERIFIER).await;
        assert_eq!(replay.status, 400);
        assert_eq!(replay.error(), "invalid_grant", "AC-01");
        // AC-02: the tokens the code produced are revoked.
        let access =
            oauth2::AccessToken::new(tokens["access_token"].as_str().expect("at").to_owned());
        assert!(!introspect_active(demo, &access).await);
        let refresh = demo
            .spa_refresh(tokens["refresh_token"].as_str().expect("rt"))
            .await;
        assert_eq!(refresh.error(), "invalid_grant");
    }

    pub(crate) async fn rt_06_reused_refresh_token_revokes_the_grant(demo: &Demo) {
        let tokens = spa_tokens(demo).await;
        let client = demo.oauth("demo-spa", None, SPA_REDIRECT);
        let first = tokens.refresh_token().expect("rt");
        let rotated = client
            .exchange_refresh_token(first)
            .request_async(&demo.http)
            .await
            .expect("a refresh");
        let reuse = client
            .exchange_refresh_token(first)
            .request_async(&demo.http)
            .await;
        assert_eq!(
            server_error(reuse),
            BasicErrorResponseType::InvalidGrant,
            "RT-05"
        );
        let successor = client
            .exchange_refresh_token(rotated.refresh_token().expect("rt"))
            .request_async(&demo.http)
            .await;
        assert_eq!(
            server_error(successor),
            BasicErrorResponseType::InvalidGrant,
            "RT-06"
        );
        assert!(
            !introspect_active(demo, rotated.access_token()).await,
            "RT-06"
        );
    }

    pub(crate) async fn im_01_implicit_is_refused_with_a_redirect_after_sign_in(demo: &Demo) {
        let path = spa_authorize_path("").replace("response_type=code", "response_type=token");
        let mut browser = demo.browser();
        // AZ-07: before the sign-in, a page and no redirect.
        let page = browser.open(&path).await;
        assert_eq!(page.status, 200);
        assert!(page.header("location").is_none());
        let reply = browser.sign_in(&page, "continue").await;
        assert_eq!(reply.status, 303);
        demo.assert_error_redirect(&reply, "unsupported_response_type", Some("s-123"));
    }

    pub(crate) async fn pk_02_missing_pkce_is_refused(demo: &Demo) {
        let path = format!(
            "/authorize?response_type=code&client_id=demo-spa&scope=profile&state=p\
             &redirect_uri={}",
            url::form_urlencoded::byte_serialize(SPA_REDIRECT.as_bytes()).collect::<String>()
        );
        let reply = demo.browser().sign_in_and_approve(&path).await;
        assert_eq!(reply.status, 303);
        demo.assert_error_redirect(&reply, "invalid_request", Some("p"));
    }

    pub(crate) async fn az_07_error_redirects_wait_for_the_sign_in(demo: &Demo) {
        let path = spa_authorize_path("").replace("scope=profile+read%3Adata", "scope=admin");
        let mut browser = demo.browser();
        let page = browser.open(&path).await;
        assert_eq!(page.status, 200, "a sign-in page, not a redirect");
        assert!(page.header("location").is_none());
        assert!(page.input("username").is_some());
        let reply = browser.sign_in(&page, "continue").await;
        assert_eq!(reply.status, 303);
        demo.assert_error_redirect(&reply, "invalid_scope", Some("s-123"));
        // Signed in now, the same request redirects straight away.
        let again = browser.open(&path).await;
        assert_eq!(again.status, 302);
        demo.assert_error_redirect(&again, "invalid_scope", Some("s-123"));
    }

    pub(crate) async fn az_08_deny_redirects_access_denied(demo: &Demo) {
        let mut browser = demo.browser();
        let page = browser.open(&spa_authorize_path("")).await;
        let signed_in = browser.sign_in(&page, "continue").await;
        let consent = browser.follow(&signed_in).await;
        let reply = browser.submit(&consent, &[("decision", "deny")]).await;
        assert_eq!(reply.status, 303);
        demo.assert_error_redirect(&reply, "access_denied", Some("s-123"));
    }

    pub(crate) async fn bt_05_bt_06_bt_07_bearer_guard_at_the_api(demo: &Demo) {
        let pointer = format!(
            "resource_metadata=\"{}\"",
            demo.url("/.well-known/oauth-protected-resource/api/data")
        );
        let bare = format!("Bearer realm=\"demo-api\", {pointer}");
        let none = demo.get("/api/data").await;
        assert_eq!(none.status, 401);
        assert_eq!(
            none.header("www-authenticate"),
            Some(bare.as_str()),
            "BT-05"
        );
        let bad = demo.get_with_bearer("/api/data", "not-a-token").await;
        assert_eq!(bad.status, 401);
        assert!(bad.challenge().contains("error=\"invalid_token\""), "BT-06");
        // BT-03: a token in the query is ignored.
        let tokens = service_token(demo, "write:data").await;
        let token = tokens.access_token().secret();
        let query = demo.get(&format!("/api/data?access_token={token}")).await;
        assert_eq!(query.status, 401);
        assert_eq!(query.header("www-authenticate"), Some(bare.as_str()));
        // BT-07: a valid token without `read:data`.
        let narrow = demo.get_with_bearer("/api/data", token).await;
        assert_eq!(narrow.status, 403);
        assert!(narrow.header("www-authenticate").is_some_and(|c| {
            c.contains("error=\"insufficient_scope\"") && c.contains("scope=\"read:data\"")
        }));
    }

    /// The Model Context Protocol's way in: a client that knows only the resource's URL
    /// follows the 401's `resource_metadata` to the resource's metadata (RFC 9728), from
    /// there to the authorization server's (RFC 8414), signs in with PKCE and `resource`
    /// (RFC 8707), and gets a token good at that resource.
    pub(crate) async fn pr_05_pr_06_ri_11_from_a_401_to_the_api_with_a_resource_bound_token(
        demo: &Demo,
    ) {
        let api = demo.url("/api/data");
        let challenge = demo.get("/api/data").await;
        assert_eq!(challenge.status, 401);
        let header = challenge.header("www-authenticate").expect("a challenge");
        let (_, rest) = header
            .split_once("resource_metadata=\"")
            .expect("PR-06: the challenge points to the metadata");
        let metadata_url = rest.split('"').next().expect("a quoted URL");
        // PR-05: the document of the route's exact URL, at its well-known location.
        let path = metadata_url
            .strip_prefix(demo.base.as_str())
            .expect("on this server");
        let document = demo.get(path).await;
        assert_eq!(document.status, 200);
        assert_eq!(document.header("cache-control"), Some("max-age=3600"));
        let document = document.json();
        assert_eq!(document["resource"], api.as_str(), "PR-04");
        assert_eq!(
            document["bearer_methods_supported"],
            serde_json::json!(["header"])
        );
        assert_eq!(
            document["scopes_supported"],
            serde_json::json!(["read:data"])
        );
        let issuer = document["authorization_servers"][0]
            .as_str()
            .expect("an authorization server");
        assert_eq!(issuer, demo.base.as_str());
        let as_metadata = demo
            .get("/.well-known/oauth-authorization-server")
            .await
            .json();
        assert_eq!(as_metadata["issuer"], issuer);
        assert_eq!(
            as_metadata["protected_resources"],
            serde_json::json!([api]),
            "PR-09"
        );
        // Sign in for that resource.
        let client = demo.oauth("demo-spa", None, SPA_REDIRECT);
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let (url, state) = client
            .authorize_url(CsrfToken::new_random)
            .add_scope(scope("read:data"))
            .add_extra_param("resource", api.clone())
            .set_pkce_challenge(challenge)
            .url();
        // RI-05: the consent page names the resource.
        let mut browser = demo.browser();
        let path = url.as_str().strip_prefix(demo.base.as_str()).expect("here");
        let page = browser.open(path).await;
        let signed_in = browser.sign_in(&page, "continue").await;
        let consent = browser.follow(&signed_in).await;
        assert!(
            consent.body.contains(&format!("<code>{api}</code>")),
            "{}",
            consent.body
        );
        let code = demo
            .browser()
            .authorization_code(url.as_str(), state.secret())
            .await;
        let tokens = client
            .exchange_code(AuthorizationCode::new(code))
            .add_extra_param("resource", api.clone())
            .set_pkce_verifier(verifier)
            .request_async(&demo.http)
            .await
            .expect("RI-06: the code exchange for the granted resource succeeds");
        let token = tokens.access_token();
        let data = demo.get_with_bearer("/api/data", token.secret()).await;
        assert_eq!(data.status, 200, "RI-11: the token is good at its resource");
        // A resource the server does not know is refused with invalid_target.
        let refused = demo
            .oauth("demo-service", Some("demo-service-secret"), SPA_REDIRECT)
            .exchange_client_credentials()
            .add_scope(scope("read:data"))
            .add_extra_param("resource", demo.url("/api/other"))
            .request_async(&demo.http)
            .await;
        assert_eq!(
            server_error(refused),
            BasicErrorResponseType::Extension("invalid_target".to_owned())
        );
    }

    /// One of every kind of page the server renders.
    async fn every_page(demo: &Demo) -> Vec<(&'static str, Reply)> {
        let mut browser = demo.browser();
        let consent = browser.open(&spa_authorize_path("")).await;
        let expired = browser
            .post(&spa_authorize_path(""), &[("decision", "approve")])
            .await;
        let sign_in = browser
            .open(&spa_authorize_path("").replace("scope=profile+read%3Adata", "scope=admin"))
            .await;
        let rejected = browser
            .open("/authorize?response_type=code&client_id=nobody")
            .await;
        let device = browser.open("/device").await;
        let not_found = browser.open("/nowhere").await;
        let signed_out = browser.open("/logout").await;
        let logout_refused = browser
            .open(
                "/logout?client_id=demo-spa&post_logout_redirect_uri=http%3A%2F%2Fevil.example%2F",
            )
            .await;
        vec![
            ("consent", consent),
            ("form expired", expired),
            ("sign-in", sign_in),
            ("error", rejected),
            ("device", device),
            ("not found", not_found),
            ("signed out", signed_out),
            ("logout refused", logout_refused),
        ]
    }

    pub(crate) async fn sec_02_pages_forbid_framing(demo: &Demo) {
        for (name, page) in every_page(demo).await {
            assert!(
                page.header("content-type")
                    .is_some_and(|t| t.starts_with("text/html")),
                "{name}"
            );
            let csp = page.header("content-security-policy").unwrap_or("");
            assert!(csp.contains("frame-ancestors 'none'"), "{name}: {csp}");
            assert_eq!(page.header("x-frame-options"), Some("DENY"), "{name}");
        }
    }

    pub(crate) async fn sec_03_forms_without_the_csrf_token_are_refused(demo: &Demo) {
        let path = spa_authorize_path("");
        let mut browser = demo.browser();
        let page = browser.open(&path).await;
        let sign_in = sign_in_with(USER.1, "approve");
        // No token, a wrong token, and the right token without the session cookie.
        let mut attempts = vec![browser.post(&path, &sign_in).await];
        let mut wrong = vec![("csrf_token", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")];
        wrong.extend_from_slice(&sign_in);
        attempts.push(browser.post(&path, &wrong).await);
        let csrf = page.input("csrf_token").expect("a token");
        let mut right = vec![("csrf_token", csrf.as_str())];
        right.extend_from_slice(&sign_in);
        attempts.push(demo.browser().post(&path, &right).await);
        attempts.push(demo.browser().post("/device", &right).await);
        for reply in attempts {
            assert_eq!(reply.status, 403, "{}", reply.body);
            assert!(reply.header("location").is_none(), "no code is issued");
            assert!(reply.header("set-cookie").is_none(), "nobody is signed in");
        }
        // The same browser with the right token signs in, and then gets its code.
        let signed_in = browser.submit(&page, &sign_in).await;
        let consent = browser.follow(&signed_in).await;
        let reply = browser.submit(&consent, &[("decision", "approve")]).await;
        assert!(query_param(&reply.location(), "code").is_some());
    }

    pub(crate) async fn sec_04_form_posts_answer_303(demo: &Demo) {
        let path = spa_authorize_path("");
        let mut browser = demo.browser();
        // A failed sign-in: 303 back to the form, which says why, and no code.
        let page = browser.open(&path).await;
        let failed = browser
            .submit(&page, &sign_in_with("nope", "approve"))
            .await;
        assert_eq!(failed.status, 303);
        assert_eq!(failed.header("location"), Some(path.as_str()));
        let again = browser.follow(&failed).await;
        assert!(again.body.contains("Wrong user name or password."));
        assert!(again.input("password").is_some());
        // The successful sign-in: 303 to the consent page, whose approval is a 303 to the
        // client.
        let signed_in = browser.sign_in(&again, "continue").await;
        assert_eq!(signed_in.status, 303);
        assert_eq!(signed_in.header("location"), Some(path.as_str()));
        let consent = browser.follow(&signed_in).await;
        let approved = browser.submit(&consent, &[("decision", "approve")]).await;
        assert_eq!(approved.status, 303);
        assert!(query_param(&approved.location(), "code").is_some());
        // The device page's form as well.
        let device = browser.open("/device").await;
        let moved_on = browser.submit(&device, &[("user_code", "BCDF-GHJK")]).await;
        assert_eq!(moved_on.status, 303);
    }

    pub(crate) async fn sec_05_pages_load_nothing_from_elsewhere(demo: &Demo) {
        for (name, page) in every_page(demo).await {
            assert_eq!(
                page.header("referrer-policy"),
                Some("no-referrer"),
                "{name}"
            );
            let csp = page.header("content-security-policy").unwrap_or("");
            assert!(csp.starts_with("default-src 'none'"), "{name}: {csp}");
            for forbidden in ["<script", "<link", "<img", "<iframe", "src=", "url(", "://"] {
                assert!(
                    !page.body.contains(forbidden),
                    "{name} contains {forbidden}"
                );
            }
        }
    }

    pub(crate) async fn st_02_sec_06_state_is_escaped_on_pages_and_exact_in_redirects(demo: &Demo) {
        let state = "<script>alert(\"x\")</script>'&";
        let encoded: String = url::form_urlencoded::byte_serialize(state.as_bytes()).collect();
        let path = spa_authorize_path("").replace("state=s-123", &format!("state={encoded}"));
        let mut browser = demo.browser();
        let page = browser.open(&path).await;
        assert_eq!(page.status, 200);
        assert!(
            !page.body.contains("<script"),
            "ST-02: never unescaped on a page"
        );
        assert!(!page.body.contains("alert(\""));
        let code = browser.authorization_code(&path, state).await;
        assert!(!code.is_empty());
    }

    pub(crate) async fn dg_07_dg_08_device_page_confirms_and_refuses_bad_codes(demo: &Demo) {
        let mut browser = demo.browser();
        let page = browser.open("/device").await;
        let signed_in = browser
            .submit(
                &page,
                &[
                    ("username", USER.0),
                    ("password", USER.1),
                    ("user_code", "BCDF-GHJK"),
                ],
            )
            .await;
        let refused = browser.follow(&signed_in).await;
        assert!(refused.body.contains("not valid or has expired"));
        assert!(!refused.body.contains("value=\"approve\""));
        // DG-07: guessing is throttled per user (5 entries per 10 minutes by default).
        let mut last = refused;
        for _ in 0..6 {
            last = browser.open("/device?user_code=BCDF-GHJK").await;
        }
        assert_eq!(last.status, 429, "{}", last.body);
        assert!(last.header("retry-after").is_some());
    }

    pub(crate) async fn unknown_paths_and_oversized_bodies(demo: &Demo) {
        let missing = demo.get("/token/extra").await;
        assert_eq!(missing.status, 404);
        // Over the adapter's limit: refused without reading it all.
        let huge = vec![b'a'; 200 * 1024];
        let head = format!(
            "POST /token HTTP/1.1\r\nhost: {}\r\ncontent-type: application/x-www-form-urlencoded\r\n\
             content-length: {}\r\nconnection: close\r\n\r\n",
            demo.base.trim_start_matches("http://"),
            huge.len()
        );
        assert_eq!(demo.raw_status(&head, &huge).await, 413);
        // Within the adapter's limit but over grantflow's form limit: the RFC error.
        let big = "a".repeat(20 * 1024);
        let reply = demo
            .post_token(&[("grant_type", "client_credentials"), ("x", &big)])
            .await;
        assert_eq!(reply.status, 400);
        assert_eq!(reply.error(), "invalid_request");
        // TE-01: the token endpoint takes POST only.
        let get = demo.get("/token?grant_type=client_credentials").await;
        assert_eq!(get.status, 405);
    }

    /// The public `demo-spa` from a page on another loopback port: its preflight and token
    /// request are allowed, a stranger's origin is refused, the metadata is public.
    pub(crate) async fn cors_for_the_browser_client(demo: &Demo) {
        let spa = "http://127.0.0.1:5173";
        let no_credentials = |reply: &Reply| {
            assert!(
                !reply
                    .headers
                    .contains_key("access-control-allow-credentials")
            );
        };
        for path in ["/token", "/revoke"] {
            let preflight = demo
                .send(
                    demo.http
                        .request(reqwest::Method::OPTIONS, demo.url(path))
                        .header("origin", spa)
                        .header("access-control-request-method", "POST"),
                )
                .await;
            assert_eq!(preflight.status, 204, "{path}");
            assert_eq!(preflight.header("access-control-allow-origin"), Some(spa));
            no_credentials(&preflight);
        }
        let token = |origin: &'static str| {
            demo.http
                .post(demo.url("/token"))
                .header("origin", origin)
                .form(&[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", "not-a-token"),
                    ("client_id", "demo-spa"),
                ])
        };
        let allowed = demo.send(token(spa)).await;
        assert_eq!(allowed.status, 400);
        assert!(allowed.body.contains("invalid_grant"), "{}", allowed.body);
        assert_eq!(allowed.header("access-control-allow-origin"), Some(spa));
        assert!(allowed.header("vary").is_some_and(|v| v.contains("origin")));
        no_credentials(&allowed);
        let stranger = demo.send(token("https://evil.example")).await;
        assert_eq!(stranger.status, 400);
        assert!(
            stranger.body.contains("invalid_request"),
            "{}",
            stranger.body
        );
        assert_eq!(stranger.header("access-control-allow-origin"), None);
        let metadata = demo
            .send(
                demo.http
                    .get(demo.url("/.well-known/oauth-authorization-server"))
                    .header("origin", "https://anyone.example"),
            )
            .await;
        assert_eq!(metadata.header("access-control-allow-origin"), Some("*"));
    }

    pub(crate) async fn az_10_no_cors_on_the_authorization_endpoint(demo: &Demo) {
        for method in [reqwest::Method::GET, reqwest::Method::OPTIONS] {
            let reply = demo
                .send(
                    demo.http
                        .request(method.clone(), demo.url(&spa_authorize_path("")))
                        .header("origin", "https://spa.example"),
                )
                .await;
            assert!(
                !reply
                    .headers
                    .keys()
                    .any(|name| name.as_str().starts_with("access-control-")),
                "{method}: {:?}",
                reply.headers
            );
        }
    }

    pub(crate) async fn logs_carry_no_secret(demo: &Demo) {
        let mut secrets = vec![
            USER.1.to_owned(),
            "wrong-password-for-the-log-test".to_owned(),
            "demo-service-secret".to_owned(),
            VERIFIER.to_owned(),
        ];
        // A code flow, with a failed sign-in first.
        let mut browser = demo.browser();
        let page = browser.open(&spa_authorize_path("")).await;
        secrets.push(page.input("csrf_token").expect("a token"));
        let wrong = sign_in_with("wrong-password-for-the-log-test", "approve");
        let _ = browser.submit(&page, &wrong).await;
        let code = browser
            .authorization_code(&demo.url(&spa_authorize_path("")), "s-123")
            .await;
        let tokens = demo.spa_code_exchange(&code, VERIFIER).await.json();
        secrets.push(code);
        for member in ["access_token", "refresh_token"] {
            secrets.push(tokens[member].as_str().expect("a token").to_owned());
        }
        // A service token, a wrong secret and the protected resource.
        let service = demo
            .post_form(
                "/token",
                Some(("demo-service", "demo-service-secret")),
                &[("grant_type", "client_credentials")],
            )
            .await
            .json();
        let access = service["access_token"]
            .as_str()
            .expect("a token")
            .to_owned();
        let _ = demo.get_with_bearer("/api/data", &access).await;
        secrets.push(access);
        let _ = demo
            .post_form("/token", Some(("demo-service", "guessed-secret-xyz")), &[])
            .await;
        secrets.push("guessed-secret-xyz".to_owned());
        let logs = server_logs();
        assert!(logs.contains("path=\"/token\""), "the servers log: {logs}");
        for secret in secrets {
            assert!(!logs.contains(&secret), "a secret reached the logs");
        }
    }

    pub(crate) async fn rv_05_revocation_does_not_reveal_foreign_tokens(demo: &Demo) {
        // Another client revokes nothing, and (with `revocation_hides_foreign_tokens`) is
        // answered as for an unknown token: a public client id, which anyone can present,
        // cannot be used to learn whether someone else's token is live.
        let tokens = spa_tokens(demo).await;
        for token in [
            tokens.access_token().secret(),
            tokens.refresh_token().expect("a refresh token").secret(),
        ] {
            let foreign = demo
                .post_form(
                    "/revoke",
                    None,
                    &[("token", token), ("client_id", "demo-tv")],
                )
                .await;
            let unknown = demo
                .post_form(
                    "/revoke",
                    None,
                    &[("token", "no-such-token"), ("client_id", "demo-tv")],
                )
                .await;
            assert_eq!(foreign.status, 200, "{}", foreign.body);
            assert_eq!(foreign.body, unknown.body);
        }
        assert!(introspect_active(demo, tokens.access_token()).await);
    }

    /// The raw head of a form POST to `path` announcing `length` bytes of body.
    fn form_head(demo: &Demo, path: &str, length: usize) -> String {
        format!(
            "POST {path} HTTP/1.1\r\nhost: {}\r\n\
             content-type: application/x-www-form-urlencoded\r\ncontent-length: {length}\r\n\r\n",
            demo.address()
        )
    }

    pub(crate) async fn over_limit_bodies_at_token_style_endpoints_answer_json(demo: &Demo) {
        // Over the adapter's 64 KiB: refused without being read, in the endpoints' format.
        let huge = vec![b'a'; 200 * 1024];
        for path in ["/token", "/device_authorization", "/revoke", "/introspect"] {
            let reply = demo.raw(&form_head(demo, path, huge.len()), &huge).await;
            assert_eq!(reply.status, 413, "{path}");
            assert_eq!(
                reply.header("content-type"),
                Some("application/json"),
                "{path}"
            );
            assert_eq!(reply.header("cache-control"), Some("no-store"), "{path}");
            // The rest of the body is not read: the connection closes.
            assert_eq!(reply.header("connection"), Some("close"), "{path}");
            let json: serde_json::Value = serde_json::from_str(&reply.body)
                .unwrap_or_else(|e| panic!("{path}: not JSON ({e}): {}", reply.body));
            assert_eq!(json["error"], "invalid_request", "{path}");
        }
        // A page answers with a page.
        let reply = demo
            .raw(&form_head(demo, "/device", huge.len()), &huge)
            .await;
        assert_eq!(reply.status, 413);
        assert!(
            reply
                .header("content-type")
                .is_some_and(|t| t.starts_with("text/html"))
        );
    }

    /// Whether the server at `address` closes a connection on which `sent` was written
    /// and nothing more, within `bound`: what it answered before closing, or `None` if
    /// the connection is still open.
    async fn closed_within(address: String, sent: Vec<u8>, bound: Duration) -> Option<Vec<u8>> {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let mut stream = tokio::net::TcpStream::connect(address)
            .await
            .expect("connect");
        stream.write_all(&sent).await.expect("write");
        let mut answer = Vec::new();
        // A reset counts as closed too.
        match tokio::time::timeout(bound, stream.read_to_end(&mut answer)).await {
            Ok(_) => Some(answer),
            Err(_) => None,
        }
    }

    pub(crate) async fn stalled_requests_are_closed(framework: Framework) {
        // Limits of a second, so the test waits a second rather than the production
        // defaults' ten. (Not less: actix-web reads its clock every half second.)
        let limits = Limits {
            head_timeout: Duration::from_secs(1),
            body_timeout: Duration::from_secs(1),
            ..Limits::default()
        };
        let demo = Demo::start_with(framework, limits).await;
        let host = format!("host: {}\r\n", demo.address());
        let body_of = |path: &str| {
            let mut sent = form_head(&demo, path, 100);
            sent.push_str("grant_type=cli");
            sent
        };
        let cases = [
            // Half a head, then nothing (slowloris).
            (
                "half a head",
                format!("POST /token HTTP/1.1\r\n{host}content-type: applic"),
            ),
            ("nothing at all", String::new()),
            // A whole head and part of the body.
            ("half a body at /token", body_of("/token")),
            ("half a body at /authorize", body_of("/authorize")),
            ("half a body at /device", body_of("/device")),
            // A kept-alive connection that sends no next request.
            (
                "idle after a request",
                format!("GET /api/data HTTP/1.1\r\n{host}\r\n"),
            ),
        ];
        // All at once; the bound is far above the limits, so a slow machine passes, and a
        // server without them keeps the connections open for ever.
        let bound = Duration::from_secs(15);
        let waiting: Vec<_> = cases
            .iter()
            .map(|(_, sent)| {
                let sent = sent.clone().into_bytes();
                tokio::spawn(closed_within(demo.address().to_owned(), sent, bound))
            })
            .collect();
        for ((case, _), closed) in cases.iter().zip(waiting) {
            let answer = closed
                .await
                .expect("the task ends")
                .unwrap_or_else(|| panic!("{case}: still open after {bound:?}"));
            let reply = RawReply::parse(&answer);
            match *case {
                // hyper closes silently; actix-web answers 408 first.
                "half a head" | "nothing at all" => {
                    if let Some(reply) = reply {
                        assert_eq!(reply.status, 408, "{case}: {}", reply.body);
                    }
                }
                "idle after a request" => {
                    assert_eq!(reply.map(|r| r.status), Some(401), "{case}");
                }
                // 408, in the route's format.
                _ => {
                    let reply = reply.unwrap_or_else(|| panic!("{case}: no answer"));
                    assert_eq!(reply.status, 408, "{case}: {}", reply.body);
                    let content_type = reply.header("content-type").unwrap_or("");
                    if case.ends_with("/token") {
                        assert_eq!(content_type, "application/json", "{case}");
                        assert!(reply.body.contains("\"error\":\"invalid_request\""));
                    } else {
                        assert!(content_type.starts_with("text/html"), "{case}");
                    }
                }
            }
        }
        // The server still serves.
        assert_eq!(demo.get("/api/data").await.status, 401);
    }

    pub(crate) async fn connections_beyond_the_cap_wait_for_a_free_one(framework: Framework) {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let limits = Limits {
            head_timeout: Duration::from_millis(1500),
            max_connections: 2,
            ..Limits::default()
        };
        let demo = Demo::start_with(framework, limits).await;
        // Two connections that send nothing hold both places until their head timeout.
        let mut stalled = Vec::new();
        for _ in 0..2 {
            stalled.push(
                tokio::net::TcpStream::connect(demo.address())
                    .await
                    .expect("connect"),
            );
        }
        let mut third = tokio::net::TcpStream::connect(demo.address())
            .await
            .expect("the kernel queues the connection");
        let request = format!(
            "GET /api/data HTTP/1.1\r\nhost: {}\r\nconnection: close\r\n\r\n",
            demo.address()
        );
        third.write_all(request.as_bytes()).await.expect("write");
        let mut answer = Vec::new();
        let early =
            tokio::time::timeout(Duration::from_millis(300), third.read_to_end(&mut answer)).await;
        assert!(early.is_err(), "served beyond the cap: {answer:?}");
        // Once the stalled connections are closed, the third is served.
        tokio::time::timeout(Duration::from_secs(10), third.read_to_end(&mut answer))
            .await
            .expect("served once a place is free")
            .expect("read");
        assert_eq!(RawReply::parse(&answer).map(|r| r.status), Some(401));
        drop(stalled);
    }

    /// `fields` as a sign-in of the demo user with `password`.
    fn sign_in_with<'a>(password: &'a str, decision: &'a str) -> [(&'a str, &'a str); 3] {
        [
            ("username", USER.0),
            ("password", password),
            ("decision", decision),
        ]
    }

    pub(crate) async fn enter_in_a_sign_in_form_never_approves(demo: &Demo) {
        let path = spa_authorize_path("");
        let mut browser = demo.browser();
        let page = browser.open(&path).await;
        // The sign-in page decides nothing: its one button signs in.
        let forms = page.forms();
        assert_eq!(forms.len(), 1, "{}", page.body);
        assert!(forms[0].input_tag("password").is_some());
        assert_eq!(
            forms[0].buttons,
            [("decision".to_owned(), "continue".to_owned())]
        );
        // Enter in the password field (or a password manager's submit) signs in and
        // shows the consent page: no code.
        let entered = browser
            .press_enter(&page, &[("username", USER.0), ("password", USER.1)])
            .await;
        assert_eq!(entered.status, 303);
        assert_eq!(entered.header("location"), Some(path.as_str()));
        let consent = browser.follow(&entered).await;
        assert!(consent.has_button("approve"), "{}", consent.body);
        // The consent page has no field to press Enter in.
        for form in consent.forms() {
            for (name, _, tag) in &form.inputs {
                assert!(tag.contains("type=\"hidden\""), "{name}: {tag}");
            }
        }
        // A sign-in posted with `decision=approve` (an old page, a crafted form) only
        // signs in.
        let mut other = demo.browser();
        let page = other.open(&path).await;
        let crafted = other.submit(&page, &sign_in_with(USER.1, "approve")).await;
        assert_eq!(crafted.status, 303);
        assert_eq!(crafted.header("location"), Some(path.as_str()));
        // The device page likewise: its default button only moves on.
        let mut device = demo.browser();
        let page = device.open("/device?user_code=BCDF-GHJK").await;
        assert_eq!(
            page.forms()[0].buttons,
            [("decision".to_owned(), "continue".to_owned())]
        );
        let entered = device
            .press_enter(&page, &[("username", USER.0), ("password", USER.1)])
            .await;
        assert_eq!(entered.status, 303);
        assert_eq!(
            entered.header("location"),
            Some("/device?user_code=BCDF-GHJK")
        );
    }

    pub(crate) async fn stale_form_of_another_tab_leads_to_the_current_page(demo: &Demo) {
        let path = spa_authorize_path("");
        let mut browser = demo.browser();
        // Two tabs on the same sign-in page; the user signs in in the first.
        let tab_a = browser.open(&path).await;
        let tab_b = browser.open(&path).await;
        let signed_in = browser.sign_in(&tab_a, "continue").await;
        assert_eq!(signed_in.status, 303);
        // The second tab's form is out of date: no 403, the current page of the flow, a
        // message, and nothing done.
        let stale = browser.sign_in(&tab_b, "continue").await;
        assert_eq!(stale.status, 303, "{}", stale.body);
        assert_eq!(stale.header("location"), Some(path.as_str()));
        let current = browser.follow(&stale).await;
        assert_eq!(current.status, 200);
        assert!(current.body.contains("another tab"), "{}", current.body);
        assert!(current.has_button("approve"), "signed in: the consent page");
        // Signing out in one tab makes the other tab's consent form stale: nothing is
        // approved.
        let consent_b = current;
        let consent_a = browser.open(&path).await;
        let signed_out = browser
            .submit(&consent_a, &[("decision", "sign_out")])
            .await;
        assert_eq!(signed_out.status, 303);
        let stale = browser.submit(&consent_b, &[("decision", "approve")]).await;
        assert_eq!(stale.status, 303);
        assert_eq!(stale.header("location"), Some(path.as_str()), "no code");
        let current = browser.follow(&stale).await;
        assert!(current.body.contains("another tab"));
        assert!(
            current.input("password").is_some(),
            "signed out: the sign-in page"
        );
        // The device page too, keeping the code.
        let device = "/device?user_code=BCDF-GHJK";
        let mut browser = demo.browser();
        let tab_a = browser.open(device).await;
        let tab_b = browser.open(device).await;
        browser.sign_in(&tab_a, "continue").await;
        let stale = browser.sign_in(&tab_b, "continue").await;
        assert_eq!(stale.status, 303);
        assert_eq!(stale.header("location"), Some(device));
        assert!(browser.follow(&stale).await.body.contains("another tab"));
        // A form of no session of this browser is still refused (SEC-03).
        let forged = demo
            .browser()
            .post(&path, &[("csrf_token", "forged"), ("decision", "approve")])
            .await;
        assert_eq!(forged.status, 403);
    }

    /// Signs in on the sign-in page of `path` with `password` and returns the page the
    /// browser lands on.
    async fn sign_in_attempt(
        browser: &mut Browser<'_>,
        path: &str,
        name: &str,
        password: &str,
    ) -> Reply {
        let page = browser.open(path).await;
        let fields = [
            ("username", name),
            ("password", password),
            ("decision", "continue"),
        ];
        let reply = browser.submit(&page, &fields).await;
        browser.follow(&reply).await
    }

    pub(crate) async fn strangers_cannot_lock_a_user_out_of_signing_in(demo: &Demo) {
        let path = spa_authorize_path("");
        // A stranger guesses alice's password from another address until locked out.
        let mut stranger = demo.browser_from("127.0.0.2".parse().expect("an address"));
        for _ in 0..5 {
            let page = sign_in_attempt(&mut stranger, &path, USER.0, "a-guess").await;
            assert!(
                page.body.contains("Wrong user name or password."),
                "{}",
                page.body
            );
        }
        let page = sign_in_attempt(&mut stranger, &path, USER.0, "a-guess").await;
        assert!(page.body.contains("Too many attempts"), "{}", page.body);
        // Locked out means locked out, even with the right password.
        let page = sign_in_attempt(&mut stranger, &path, USER.0, USER.1).await;
        assert!(page.body.contains("Too many attempts"));
        assert!(!page.has_button("approve"));
        // alice, from her own address, is not locked out.
        let code = demo
            .browser()
            .authorization_code(&demo.url(&path), "s-123")
            .await;
        assert!(!code.is_empty());
        // One address trying a password on every account is stopped too.
        let mut sprayer = demo.browser_from("127.0.0.3".parse().expect("an address"));
        for n in 0..20 {
            let page = sign_in_attempt(&mut sprayer, &path, &format!("user{n}"), "a-guess").await;
            assert!(page.body.contains("Wrong user name or password."), "{n}");
        }
        let page = sign_in_attempt(&mut sprayer, &path, USER.0, USER.1).await;
        assert!(page.body.contains("Too many attempts"), "{}", page.body);
    }

    pub(crate) async fn anonymous_sessions_never_push_out_signed_in_ones(framework: Framework) {
        let limits = Limits {
            anonymous_sessions: 8,
            sessions_per_user: 4,
            ..Limits::default()
        };
        let demo = Demo::start_with(framework, limits).await;
        let mut alice = demo.browser();
        let page = alice.open("/device").await;
        let signed_in = alice.sign_in(&page, "continue").await;
        assert_eq!(signed_in.status, 303);
        let mut early = demo.browser();
        early.open("/device").await;
        // A flood of cookie-less requests, each starting an anonymous session.
        for _ in 0..50 {
            assert_eq!(demo.get("/device").await.status, 200);
        }
        // alice is still signed in.
        let page = alice.open("/device").await;
        assert!(page.header("set-cookie").is_none(), "the same session");
        assert!(page.input("password").is_none(), "{}", page.body);
        assert!(page.body.contains("Signed in as <strong>alice</strong>"));
        // The early anonymous session made room: its browser starts a new one.
        let again = early.open("/device").await;
        assert!(again.header("set-cookie").is_some());
        // alice's own sign-ins end only her own oldest sessions (4 here).
        for _ in 0..4 {
            let mut browser = demo.browser();
            let page = browser.open("/device").await;
            browser.sign_in(&page, "continue").await;
        }
        let page = alice.open("/device").await;
        assert!(
            page.input("password").is_some(),
            "alice's oldest session ended"
        );
    }

    pub(crate) async fn device_authorization_is_limited_per_address(demo: &Demo) {
        let request = [("client_id", "demo-tv")];
        for n in 0..20 {
            let reply = demo
                .post_form("/device_authorization", None, &request)
                .await;
            assert_eq!(reply.status, 200, "request {n}: {}", reply.body);
        }
        let refused = demo
            .post_form("/device_authorization", None, &request)
            .await;
        assert_eq!(refused.status, 429, "{}", refused.body);
        assert_eq!(refused.error(), "temporarily_unavailable");
        assert!(
            refused
                .header("retry-after")
                .is_some_and(|s| s.parse::<u64>().is_ok())
        );
        assert_eq!(refused.header("cache-control"), Some("no-store"));
        // Other addresses are not affected.
        let mut elsewhere = demo.browser_from("127.0.0.2".parse().expect("an address"));
        let reply = elsewhere.post("/device_authorization", &request).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
    }

    pub(crate) async fn user_name_field_neither_capitalises_nor_corrects(demo: &Demo) {
        let mut browser = demo.browser();
        for path in [spa_authorize_path(""), "/device".to_owned()] {
            let page = browser.open(&path).await;
            let form = &page.forms()[0];
            let tag = form.input_tag("username").expect("a user name field");
            for attribute in [
                "autocapitalize=\"none\"",
                "spellcheck=\"false\"",
                "autocorrect=\"off\"",
                "autocomplete=\"username\"",
            ] {
                assert!(tag.contains(attribute), "{path}: {attribute} in {tag}");
            }
        }
    }

    pub(crate) async fn failed_sign_in_keeps_the_user_name_and_announces_why(demo: &Demo) {
        let mut browser = demo.browser();
        for path in [spa_authorize_path(""), "/device".to_owned()] {
            let page = sign_in_attempt(&mut browser, &path, USER.0, "not-it").await;
            assert!(
                page.body
                    .contains("<p class=\"note\" role=\"alert\">Wrong user name or password.</p>"),
                "{}",
                page.body
            );
            assert_eq!(page.input("username").as_deref(), Some(USER.0), "{path}");
            assert_eq!(page.input("password").as_deref(), Some(""), "{path}");
            let form = &page.forms()[0];
            let password = form.input_tag("password").expect("a password field");
            assert!(password.contains("autofocus"), "{password}");
        }
    }

    /// The WCAG relative luminance of `#rrggbb`.
    fn luminance(hex: &str) -> f64 {
        let channel = |at: usize| {
            let value = f64::from(u8::from_str_radix(&hex[at..at + 2], 16).expect("hex")) / 255.0;
            if value <= 0.04045 {
                value / 12.92
            } else {
                ((value + 0.055) / 1.055).powf(2.4)
            }
        };
        0.2126 * channel(1) + 0.7152 * channel(3) + 0.0722 * channel(5)
    }

    pub(crate) async fn input_borders_contrast_at_least_three_to_one(demo: &Demo) {
        let page = demo.browser().open(&spa_authorize_path("")).await;
        let style = page.body.split("<style>").nth(1).expect("a stylesheet");
        let rule = |selector: &str| -> String {
            let start = style
                .find(&format!("{selector}{{"))
                .unwrap_or_else(|| panic!("{selector}"));
            style[start..].split('}').next().expect("a rule").to_owned()
        };
        // The form's background, then the input's border colour.
        let background = rule("main");
        assert!(background.contains("background:#fff;"), "{background}");
        let input = rule("input");
        let colour = input
            .split("border:1px solid ")
            .nth(1)
            .and_then(|rest| rest.get(..7))
            .expect("a solid border colour");
        let ratio = (1.0 + 0.05) / (luminance(colour) + 0.05);
        assert!(
            ratio >= 3.0,
            "WCAG 1.4.11: {colour} is {ratio:.2}:1 against white"
        );
    }

    pub(crate) async fn signed_in_pages_offer_a_way_to_sign_out(demo: &Demo) {
        let path = spa_authorize_path("");
        let mut browser = demo.browser();
        let page = browser.open(&path).await;
        let signed_in = browser.sign_in(&page, "continue").await;
        let consent = browser.follow(&signed_in).await;
        assert!(consent.body.contains("Signed in as <strong>alice</strong>"));
        assert!(consent.body.contains("Not you? Sign out"));
        let signed_out = browser.submit(&consent, &[("decision", "sign_out")]).await;
        assert_eq!(signed_out.status, 303);
        assert_eq!(signed_out.header("location"), Some(path.as_str()));
        assert!(signed_out.header("set-cookie").is_some(), "a new session");
        let page = browser.follow(&signed_out).await;
        assert!(
            page.input("password").is_some(),
            "signed out: {}",
            page.body
        );
        assert!(!page.body.contains("Signed in as"));
        // The device confirmation page, keeping the code.
        let mut browser = demo.browser();
        let (details, confirm) = device_request(demo, &mut browser).await;
        assert!(confirm.has_button("sign_out"));
        let signed_out = browser.submit(&confirm, &[("decision", "sign_out")]).await;
        let page = browser.follow(&signed_out).await;
        assert!(page.input("password").is_some());
        assert_eq!(
            page.input("user_code").as_deref(),
            Some(details.user_code().secret().as_str())
        );
    }

    pub(crate) async fn device_done_link_claims_nothing(demo: &Demo) {
        for link in ["/device?done=approved", "/device?done=denied"] {
            let page = demo.browser().open(link).await;
            assert_eq!(page.status, 200);
            assert!(!page.body.contains("Device connected"), "{link}");
            assert!(!page.body.contains("Request denied"), "{link}");
            assert!(page.body.contains("Connect a device"));
        }
        // The user who approved is told so, once.
        let mut browser = demo.browser();
        let (_, confirm) = device_request(demo, &mut browser).await;
        let done = browser.submit(&confirm, &[("decision", "approve")]).await;
        let location = done.header("location").expect("a Location").to_owned();
        assert!(!location.contains("approved"), "{location}");
        assert!(
            browser
                .follow(&done)
                .await
                .body
                .contains("Device connected")
        );
        assert!(
            !browser
                .open(&location)
                .await
                .body
                .contains("Device connected")
        );
    }

    /// One of every kind of page the server renders, as a signed-in user sees them too.
    async fn every_page_signed_in_too(demo: &Demo) -> Vec<(&'static str, Reply)> {
        let mut pages = every_page(demo).await;
        let mut browser = demo.browser();
        let page = browser.open(&spa_authorize_path("")).await;
        let failed = browser
            .submit(&page, &sign_in_with("not-it", "continue"))
            .await;
        pages.push(("failed sign-in", browser.follow(&failed).await));
        let signed_in = browser.sign_in(&page, "continue").await;
        pages.push(("consent", browser.follow(&signed_in).await));
        pages.push(("device code entry", browser.open("/device").await));
        pages.push(("logout confirmation", browser.open("/logout").await));
        pages.push((
            "device code refused",
            browser.open("/device?user_code=BCDF-GHJK").await,
        ));
        pages
    }

    pub(crate) async fn pages_name_the_service(demo: &Demo) {
        for (name, page) in every_page_signed_in_too(demo).await {
            let title = page
                .body
                .split("<title>")
                .nth(1)
                .and_then(|t| t.split("</title>").next())
                .unwrap_or("");
            assert!(title.ends_with("Grantflow Demo"), "{name}: {title}");
            assert!(
                page.body
                    .contains("<p class=\"service\">Grantflow Demo</p>"),
                "{name}"
            );
        }
    }

    pub(crate) async fn error_pages_show_no_developer_strings(demo: &Demo) {
        let evil = "https%3A%2F%2Fevil.example%2Fcb";
        for path in [
            "/authorize".to_owned(),
            "/authorize?response_type=code".to_owned(),
            "/authorize?client_id=nobody".to_owned(),
            "/authorize?client_id=demo-spa&client_id=demo-web".to_owned(),
            format!("/authorize?client_id=demo-spa&redirect_uri={evil}"),
            "/authorize?client_id=demo-web&state=%01".to_owned(),
        ] {
            let page = demo.browser().open(&path).await;
            assert_eq!(page.status, 400, "{path}");
            assert!(
                page.body.contains("This sign-in link is not valid"),
                "{path}"
            );
            let text = page.body.split("</style>").nth(1).unwrap_or(&page.body);
            for developer in [
                "client_id",
                "redirect_uri",
                "state",
                "required",
                "repeated",
                "unknown client",
                "invalid_request",
            ] {
                assert!(!text.contains(developer), "{path}: {developer} in {text}");
            }
        }
    }

    pub(crate) async fn head_answers_every_page_as_get_does(demo: &Demo) {
        let client = demo.oauth("demo-service", Some("demo-service-secret"), SPA_REDIRECT);
        let token = client
            .exchange_client_credentials()
            .request_async(&demo.http)
            .await
            .expect("a token");
        let mut browser = demo.browser();
        for (path, bearer) in [
            (spa_authorize_path(""), false),
            ("/authorize?client_id=nobody".to_owned(), false),
            ("/device".to_owned(), false),
            ("/device?user_code=BCDF-GHJK".to_owned(), false),
            ("/api/data".to_owned(), false),
            ("/api/data".to_owned(), true),
            ("/nowhere".to_owned(), false),
            // RFC 9110 §8.6: the metadata's HEAD sends the real Content-Length (MD-01).
            ("/.well-known/oauth-authorization-server".to_owned(), false),
        ] {
            let with_token = |request: reqwest::RequestBuilder| {
                if bearer {
                    request.bearer_auth(token.access_token().secret())
                } else {
                    request
                }
            };
            let get = browser.open(&path).await;
            let get = if bearer {
                demo.send(with_token(demo.http.get(demo.url(&path)))).await
            } else {
                get
            };
            let head = if bearer {
                demo.send(with_token(demo.http.head(demo.url(&path)))).await
            } else {
                browser.head(&path).await
            };
            assert_eq!(head.status, get.status, "{path}");
            assert_ne!(head.status, 405, "{path}");
            assert_eq!(
                head.header("content-type"),
                get.header("content-type"),
                "{path}"
            );
            assert_eq!(
                head.header("cache-control"),
                get.header("cache-control"),
                "{path}"
            );
            assert!(head.body.is_empty(), "{path}: {}", head.body);
            // RFC 9110 §8.6: a Content-Length on HEAD is the one GET would send (hyper
            // leaves out a length of zero, which the RFC allows).
            let length = get.body.len().to_string();
            let sent = head.header("content-length");
            if get.body.is_empty() {
                assert!(sent.is_none_or(|sent| sent == "0"), "{path}: {sent:?}");
            } else {
                assert_eq!(sent, Some(length.as_str()), "{path}");
            }
        }
    }

    /// Verifies `token` with `jsonwebtoken` and the key its `kid` names in the server's JWK
    /// Set (fetched from the metadata's `jwks_uri`); returns the claims.
    async fn judge(demo: &Demo, token: &str) -> serde_json::Value {
        let jwks = demo
            .http
            .get(demo.endpoint("jwks_uri"))
            .send()
            .await
            .expect("jwks");
        assert_eq!(jwks.status().as_u16(), 200);
        assert!(
            jwks.headers()
                .get("cache-control")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.contains("max-age=")),
            "JW-17"
        );
        let body = jwks.text().await.expect("a body");
        let set: jsonwebtoken::jwk::JwkSet = serde_json::from_str(&body).expect("a JWK Set");
        let header = jsonwebtoken::decode_header(token).expect("a JWS");
        assert_eq!(header.typ.as_deref(), Some("at+jwt"));
        let jwk = set
            .find(header.kid.as_deref().expect("a kid"))
            .expect("the kid is published");
        let mut validation = jsonwebtoken::Validation::new(header.alg);
        validation.set_issuer(&[demo.base.as_str()]);
        validation.set_audience(&[demo.url("/api/data")]);
        jsonwebtoken::decode::<serde_json::Value>(
            token,
            &jsonwebtoken::DecodingKey::from_jwk(jwk).expect("a usable key"),
            &validation,
        )
        .expect("the judge accepts the token")
        .claims
    }

    pub(crate) async fn ex_07_ex_08_jwt_access_tokens(framework: Framework) {
        let demo = Demo::start_jwt(framework).await;
        let tokens = service_token(&demo, "read:data").await;
        let token = tokens.access_token().secret();
        let claims = judge(&demo, token).await;
        assert_eq!(claims["client_id"], "demo-service");
        assert_eq!(claims["sub"], "demo-service", "RFC 9068 §2.2");
        assert_eq!(claims["scope"], "read:data");
        let data = demo.get_with_bearer("/api/data", token).await;
        assert_eq!(data.status, 200, "{}", data.body);
        assert_eq!(data.json()["subject"], serde_json::Value::Null, "CC-04");
        assert!(introspect_active(&demo, tokens.access_token()).await);

        // A user's token from the code flow.
        let user = spa_tokens(&demo).await;
        let claims = judge(&demo, user.access_token().secret()).await;
        assert_eq!(claims["client_id"], "demo-spa");
        assert_ne!(claims["sub"], "demo-spa");

        // EX-08: a token changed in transit, and an opaque-looking one, are 401
        // invalid_token; a valid token without the scope is 403.
        let mut tampered = token.clone();
        let at = tampered.rfind('.').expect("three parts") + 3;
        let flipped = if &tampered[at..=at] == "A" { "B" } else { "A" };
        tampered.replace_range(at..=at, flipped);
        for bad in [tampered.as_str(), "not-a-token"] {
            let refused = demo.get_with_bearer("/api/data", bad).await;
            assert_eq!(refused.status, 401);
            let challenge = refused.challenge();
            assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
        }
        let narrow = service_token(&demo, "write:data").await;
        let refused = demo
            .get_with_bearer("/api/data", narrow.access_token().secret())
            .await;
        assert_eq!(refused.status, 403);
    }
}

/// The official MCP Rust SDK's OAuth client (`rmcp`, feature `auth`) as an independent
/// judge, against the axum example: from the 401 at `/api/data` it discovers the resource's
/// metadata (RFC 9728) from the challenge and the authorization server's (RFC 8414), signs
/// in with PKCE and `resource` (RFC 8707; the test plays the browser), exchanges the code
/// and calls the resource. The SDK registers itself at the demo's registration endpoint
/// (RFC 7591, a public client with its loopback redirect URI), which it found in the
/// authorization server metadata: every step is the SDK's own except the browser's sign-in.
mod mcp {
    use std::collections::HashMap;

    use rmcp::transport::auth::{AuthorizationRequest, OAuthState};

    use crate::support::e2e::*;

    #[tokio::test]
    async fn pr_05_pr_06_ri_06_ri_11_dr_10_the_mcp_sdk_goes_from_a_401_to_the_api() {
        let demo = Demo::start(Framework::Axum).await;
        let api = demo.url("/api/data");
        let refused = demo.get("/api/data").await;
        assert_eq!(refused.status, 401);
        let challenge = refused
            .header("www-authenticate")
            .expect("a challenge")
            .to_owned();
        let mut state = OAuthState::new(api.as_str(), None)
            .await
            .expect("an OAuth state");
        state
            .start_authorization(
                AuthorizationRequest::new(SPA_REDIRECT)
                    .with_scopes(["read:data"])
                    .with_client_name("grantflow MCP test")
                    .with_challenge(challenge),
            )
            .await
            .expect("discovery from the challenge");
        let url = state
            .get_authorization_url()
            .await
            .expect("an authorization URL");
        let params: HashMap<String, String> = url::Url::parse(&url)
            .expect("a URL")
            .query_pairs()
            .into_owned()
            .collect();
        assert!(url.starts_with(&demo.url("/authorize?")), "{url}");
        assert!(
            params["client_id"].starts_with("dcr_"),
            "DR-10: the SDK registered itself: {url}"
        );
        assert_eq!(params["resource"], api, "RI-06: the SDK names the resource");
        assert_eq!(params["code_challenge_method"], "S256");
        // The redirect back to the client, with `code`, `state` and `iss` (RFC 9207), which
        // the SDK checks against the discovered issuer.
        let approved = demo.browser().sign_in_and_approve(&url).await;
        assert_eq!(approved.status, 303);
        state
            .handle_callback_url(approved.location().as_str())
            .await
            .expect("the code exchange");
        let manager = state
            .into_authorization_manager()
            .expect("an authorized manager");
        let token = manager.get_access_token().await.expect("an access token");
        let data = demo.get_with_bearer("/api/data", &token).await;
        assert_eq!(data.status, 200, "RI-11: the token is good at the resource");
    }
}

/// The actix-web example's bearer middleware (`require_bearer`), the counterpart of the
/// tower layer: the exact challenges, and the token's information for the handler.
#[tokio::test]
async fn bt_05_07_the_actix_bearer_middleware() {
    use crate::support::e2e::*;
    let demo = Demo::start(Framework::Actix).await;
    let token = demo
        .post_form(
            "/token",
            Some(("demo-service", "demo-service-secret")),
            &[("grant_type", "client_credentials"), ("scope", "read:data")],
        )
        .await
        .json()["access_token"]
        .as_str()
        .expect("a token")
        .to_owned();
    let ok = demo.get_with_bearer("/api/whoami", &token).await;
    assert_eq!(ok.status, 200);
    assert_eq!(ok.json()["client_id"], "demo-service");
    assert_eq!(ok.json()["scope"], "read:data");
    let none = demo.get("/api/whoami").await;
    assert_eq!(none.status, 401);
    assert_eq!(
        none.header("www-authenticate"),
        Some("Bearer realm=\"demo-api\"")
    );
    let bad = demo.get_with_bearer("/api/whoami", "not-a-token").await;
    assert_eq!(bad.status, 401);
    assert!(bad.challenge().contains("invalid_token"));
}
