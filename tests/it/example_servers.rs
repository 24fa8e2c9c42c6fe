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
/// `hyper::<scenario>`.
macro_rules! on_every_framework {
    ($($scenario:ident)*) => {
        on_every_framework!(@one axum Axum $($scenario)*);
        on_every_framework!(@one actix Actix $($scenario)*);
        on_every_framework!(@one hyper Hyper $($scenario)*);
    };
    (@one $module:ident $framework:ident $($scenario:ident)*) => {
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
        }
    };
}

on_every_framework! {
    md_01_md_04_metadata_discovers_every_endpoint
    pk_01_code_flow_with_pkce_then_refresh
    te_06_confidential_client_code_flow_with_basic_auth
    cc_01_cc_02_client_credentials
    dg_09_device_flow_with_the_verification_page
    dg_11_denied_device_request
    pw_02_password_grant_for_the_opted_in_client_only
    rv_06_in_04_revocation_and_introspection
    te_09_wrong_client_secret_is_401_with_a_basic_challenge
    az_02_az_03_unverified_clients_and_redirect_uris_are_never_redirected
    ac_01_ac_02_replayed_code_is_refused_and_revokes_its_tokens
    rt_06_reused_refresh_token_revokes_the_grant
    im_01_implicit_is_refused_with_a_redirect_after_sign_in
    pk_02_missing_pkce_is_refused
    az_07_error_redirects_wait_for_the_sign_in
    az_08_deny_redirects_access_denied
    bt_05_bt_06_bt_07_bearer_guard_at_the_api
    sec_02_pages_forbid_framing
    sec_03_forms_without_the_csrf_token_are_refused
    sec_04_form_posts_answer_303
    sec_05_pages_load_nothing_from_elsewhere
    st_02_sec_06_state_is_escaped_on_pages_and_exact_in_redirects
    dg_07_dg_08_device_page_confirms_and_refuses_bad_codes
    unknown_paths_and_oversized_bodies
    az_10_no_cors_on_the_authorization_endpoint
    logs_carry_no_secret
}

mod scenarios {
    use oauth2::basic::{BasicErrorResponseType, BasicTokenType};
    use oauth2::{
        AuthorizationCode, CsrfToken, DeviceCodeErrorResponseType, PkceCodeChallenge,
        RequestTokenError, ResourceOwnerPassword, ResourceOwnerUsername, Scope,
        StandardDeviceAuthorizationResponse, StandardRevocableToken,
        TokenIntrospectionResponse as _, TokenResponse as _,
    };

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
            .post_form(
                "/token",
                None,
                &[
                    ("grant_type", "client_credentials"),
                    ("client_id", "demo-spa"),
                ],
            )
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
        let poll = |device_code: &str| {
            [
                (
                    "grant_type",
                    "urn:ietf:params:oauth:grant-type:device_code".to_owned(),
                ),
                ("device_code", device_code.to_owned()),
                ("client_id", "demo-tv".to_owned()),
            ]
        };
        let fields = poll(waiting.device_code().secret());
        let fields: Vec<(&str, &str)> = fields.iter().map(|(n, v)| (*n, v.as_str())).collect();
        let pending = demo.post_form("/token", None, &fields).await;
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
        let fields = poll(details.device_code().secret());
        let fields: Vec<(&str, &str)> = fields.iter().map(|(n, v)| (*n, v.as_str())).collect();
        let again = demo.post_form("/token", None, &fields).await;
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
        assert!(
            reply
                .header("www-authenticate")
                .is_some_and(|c| c.starts_with("Basic realm="))
        );
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
        let exchange = [
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("client_id", "demo-spa"),
            ("redirect_uri", SPA_REDIRECT),
            ("code_verifier", VERIFIER),
        ];
        let first = demo.post_form("/token", None, &exchange).await;
        assert_eq!(first.status, 200, "{}", first.body);
        let tokens = first.json();
        let replay = demo.post_form("/token", None, &exchange).await;
        assert_eq!(replay.status, 400);
        assert_eq!(replay.error(), "invalid_grant", "AC-01");
        // AC-02: the tokens the code produced are revoked.
        let access =
            oauth2::AccessToken::new(tokens["access_token"].as_str().expect("at").to_owned());
        assert!(!introspect_active(demo, &access).await);
        let refresh = demo
            .post_form(
                "/token",
                None,
                &[
                    ("grant_type", "refresh_token"),
                    (
                        "refresh_token",
                        tokens["refresh_token"].as_str().expect("rt"),
                    ),
                    ("client_id", "demo-spa"),
                ],
            )
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
        let reply = browser.sign_in(&page, "deny").await;
        assert_eq!(reply.status, 303);
        demo.assert_error_redirect(&reply, "access_denied", Some("s-123"));
    }

    pub(crate) async fn bt_05_bt_06_bt_07_bearer_guard_at_the_api(demo: &Demo) {
        let none = demo.get("/api/data").await;
        assert_eq!(none.status, 401);
        assert_eq!(
            none.header("www-authenticate"),
            Some("Bearer realm=\"demo-api\""),
            "BT-05"
        );
        let bad = demo.get_with_bearer("/api/data", "not-a-token").await;
        assert_eq!(bad.status, 401);
        assert!(
            bad.header("www-authenticate")
                .is_some_and(|c| c.contains("error=\"invalid_token\"")),
            "BT-06"
        );
        // BT-03: a token in the query is ignored.
        let client = demo.oauth("demo-service", Some("demo-service-secret"), SPA_REDIRECT);
        let tokens = client
            .exchange_client_credentials()
            .add_scope(scope("write:data"))
            .request_async(&demo.http)
            .await
            .expect("a token");
        let token = tokens.access_token().secret();
        let query = demo.get(&format!("/api/data?access_token={token}")).await;
        assert_eq!(query.status, 401);
        assert_eq!(
            query.header("www-authenticate"),
            Some("Bearer realm=\"demo-api\"")
        );
        // BT-07: a valid token without `read:data`.
        let narrow = demo.get_with_bearer("/api/data", token).await;
        assert_eq!(narrow.status, 403);
        assert!(narrow.header("www-authenticate").is_some_and(|c| {
            c.contains("error=\"insufficient_scope\"") && c.contains("scope=\"read:data\"")
        }));
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
        vec![
            ("consent", consent),
            ("form expired", expired),
            ("sign-in", sign_in),
            ("error", rejected),
            ("device", device),
            ("not found", not_found),
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
        let sign_in = [
            ("username", USER.0),
            ("password", USER.1),
            ("decision", "approve"),
        ];
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
        // The same browser with the right token still gets its code.
        let reply = browser.submit(&page, &sign_in).await;
        assert!(query_param(&reply.location(), "code").is_some());
    }

    pub(crate) async fn sec_04_form_posts_answer_303(demo: &Demo) {
        let path = spa_authorize_path("");
        let mut browser = demo.browser();
        // A failed sign-in: 303 back to the form, which says why, and no code.
        let page = browser.open(&path).await;
        let failed = browser
            .submit(
                &page,
                &[
                    ("username", USER.0),
                    ("password", "nope"),
                    ("decision", "approve"),
                ],
            )
            .await;
        assert_eq!(failed.status, 303);
        assert_eq!(failed.header("location"), Some(path.as_str()));
        let again = browser.follow(&failed).await;
        assert!(again.body.contains("Wrong user name or password."));
        assert!(again.input("password").is_some());
        // The successful sign-in: 303 to the client.
        let approved = browser.sign_in(&again, "approve").await;
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
            .post_form(
                "/token",
                None,
                &[("grant_type", "client_credentials"), ("x", &big)],
            )
            .await;
        assert_eq!(reply.status, 400);
        assert_eq!(reply.error(), "invalid_request");
        // TE-01: the token endpoint takes POST only.
        let get = demo.get("/token?grant_type=client_credentials").await;
        assert_eq!(get.status, 405);
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
        let _ = browser
            .submit(
                &page,
                &[
                    ("username", USER.0),
                    ("password", "wrong-password-for-the-log-test"),
                    ("decision", "approve"),
                ],
            )
            .await;
        let code = browser
            .authorization_code(&demo.url(&spa_authorize_path("")), "s-123")
            .await;
        let tokens = demo
            .post_form(
                "/token",
                None,
                &[
                    ("grant_type", "authorization_code"),
                    ("code", code.as_str()),
                    ("client_id", "demo-spa"),
                    ("redirect_uri", SPA_REDIRECT),
                    ("code_verifier", VERIFIER),
                ],
            )
            .await
            .json();
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
}
