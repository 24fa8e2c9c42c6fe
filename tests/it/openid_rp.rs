//! The example servers (axum, actix-web, hyper) judged by an independent OpenID relying
//! party, the `openidconnect` crate (version 4), over real loopback HTTP: discovery with
//! the JWKS, the code flow with PKCE and a nonce, the ID token verified by the crate
//! (signature against the published keys, `iss`, `aud`, `exp`, `nonce`, `at_hash`),
//! UserInfo, a refresh with a new ID token, and RP-initiated logout through the crate's
//! end-session URL. The test plays the browser on the demo's sign-in, consent and logout
//! pages; the demo's `prompt` and `max_age` handling is checked the same way.
//!
//! Every scenario runs against all three servers with the same assertions.

use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreIdToken, CoreTokenResponse};
use openidconnect::{
    AccessTokenHash, AuthorizationCode, ClaimsVerificationError, ClientId, CsrfToken,
    EndpointMaybeSet, EndpointNotSet, EndpointSet, IssuerUrl, LogoutRequest, Nonce,
    OAuth2TokenResponse as _, PkceCodeChallenge, PkceCodeVerifier, PostLogoutRedirectUrl,
    ProviderMetadataWithLogout, RedirectUrl, Scope, SubjectIdentifier, TokenResponse as _,
};

use crate::support::e2e::*;

/// One test per scenario and framework: `axum::<scenario>`, `actix::<scenario>`,
/// `hyper::<scenario>`.
macro_rules! on_every_framework {
    ($($scenario:ident)*) => {
        on_every_framework!(@one axum Axum [$($scenario)*]);
        on_every_framework!(@one actix Actix [$($scenario)*]);
        on_every_framework!(@one hyper Hyper [$($scenario)*]);
    };
    (@one $module:ident $framework:ident [$($scenario:ident)*]) => {
        mod $module {
            $(
                #[tokio::test]
                async fn $scenario() {
                    let demo = crate::support::e2e::Demo::start(
                        crate::support::e2e::Framework::$framework,
                    )
                    .await;
                    super::$scenario(&demo).await;
                }
            )*
        }
    };
}

on_every_framework! {
    oi_09_oi_11_oi_12_oi_14_oi_20_oi_21_relying_party_signs_in_and_refreshes
    oi_04_oi_10_relying_party_refuses_a_tampered_id_token_and_a_wrong_nonce
    oi_22_oi_23_logout_asks_ends_the_session_and_returns_with_state
    oi_22_oi_23_logout_without_a_valid_hint_never_redirects
    oi_02_oi_03_prompt_login_and_max_age_ask_for_a_fresh_sign_in
    oi_21_md_07_every_advertised_member_is_backed
}

/// The relying party: `demo-spa` (a public client), every endpoint from discovery.
type RelyingParty = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// Where `demo-spa` registered to land after logging out (exact, port included).
const SIGNED_OUT: &str = "http://127.0.0.1:3000/signed-out";

/// The provider's discovery document and JWKS, fetched and checked by the crate (the
/// document's `issuer` must equal the issuer it was asked for), and a client for
/// `demo-spa` built from it.
async fn discover(demo: &Demo) -> (ProviderMetadataWithLogout, RelyingParty) {
    let issuer = IssuerUrl::new(demo.base.clone()).expect("an issuer URL");
    let metadata = ProviderMetadataWithLogout::discover_async(issuer, &demo.http)
        .await
        .expect("OI-21: the relying party accepts the discovery document and its JWKS");
    let client = CoreClient::from_provider_metadata(
        metadata.clone(),
        ClientId::new("demo-spa".to_owned()),
        None,
    )
    .set_redirect_uri(RedirectUrl::new(SPA_REDIRECT.to_owned()).expect("a URL"));
    (metadata, client)
}

/// The crate's authentication request for `client`: the code flow with PKCE, a random
/// `state` and nonce, scope `openid` plus `scopes`, and `extra` parameters. Returns the
/// URL, the state, the nonce and the PKCE verifier.
fn authentication_request(
    client: &RelyingParty,
    scopes: &[&str],
    extra: &[(&str, &str)],
) -> (url::Url, CsrfToken, Nonce, PkceCodeVerifier) {
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut request = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .set_pkce_challenge(challenge);
    for scope in scopes {
        request = request.add_scope(Scope::new((*scope).to_owned()));
    }
    for (name, value) in extra {
        request = request.add_extra_param(*name, *value);
    }
    let (url, state, nonce) = request.url();
    (url, state, nonce, verifier)
}

/// A sign-in through `browser`: [`authentication_request`] with `scopes` and `extra`,
/// the sign-in and consent pages, and the crate's code exchange. Returns the token
/// response and the nonce.
async fn sign_in_with(
    demo: &Demo,
    client: &RelyingParty,
    browser: &mut Browser<'_>,
    scopes: &[&str],
    extra: &[(&str, &str)],
) -> (CoreTokenResponse, Nonce) {
    let (url, state, nonce, verifier) = authentication_request(client, scopes, extra);
    let code = browser
        .authorization_code(url.as_str(), state.secret())
        .await;
    let tokens = client
        .exchange_code(AuthorizationCode::new(code))
        .expect("a token endpoint")
        .set_pkce_verifier(verifier)
        .request_async(&demo.http)
        .await
        .expect("OI-12: the code exchange succeeds");
    (tokens, nonce)
}

/// [`sign_in_with`] scope `openid email` and `extra`.
async fn sign_in(
    demo: &Demo,
    client: &RelyingParty,
    browser: &mut Browser<'_>,
    extra: &[(&str, &str)],
) -> (CoreTokenResponse, Nonce) {
    sign_in_with(demo, client, browser, &["email"], extra).await
}

/// The ID token of `tokens`, verified as the crate verifies it: the signature with a key
/// of the discovered JWKS (RS256, `demo-spa`'s algorithm), `iss`, `aud`, `exp`, `iat`, and
/// the nonce through `nonce`; then `at_hash` against the access token, as Core §3.1.3.8
/// has the client do.
fn verified<'t>(
    client: &RelyingParty,
    tokens: &'t CoreTokenResponse,
    nonce: impl openidconnect::NonceVerifier,
) -> &'t openidconnect::core::CoreIdTokenClaims {
    let id_token = tokens.id_token().expect("OI-12: an ID token");
    let verifier = client.id_token_verifier();
    let claims = id_token
        .claims(&verifier, nonce)
        .expect("the relying party accepts the ID token");
    let alg = id_token.signing_alg().expect("a signature algorithm");
    let key = id_token
        .signing_key(&verifier)
        .expect("OI-10: a published key");
    let expected = AccessTokenHash::from_token(tokens.access_token(), alg, key).expect("a hash");
    assert_eq!(claims.access_token_hash(), Some(&expected), "OI-11");
    claims
}

/// Seconds since the epoch, now.
fn now_seconds() -> i64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970");
    i64::try_from(now.as_secs()).expect("in range")
}

/// A complete sign-in judged by the crate: discovery, the code flow with PKCE and a
/// nonce, the ID token verified, UserInfo for the same `sub`, and a refresh whose new ID
/// token (no nonce) keeps `sub` and `auth_time`.
async fn oi_09_oi_11_oi_12_oi_14_oi_20_oi_21_relying_party_signs_in_and_refreshes(demo: &Demo) {
    let (metadata, client) = discover(demo).await;
    assert_eq!(metadata.issuer().as_str(), demo.base, "OI-21");
    assert!(!metadata.jwks().keys().is_empty(), "the JWKS was fetched");

    let mut browser = demo.browser();
    let before = now_seconds();
    let (tokens, nonce) = sign_in(demo, &client, &mut browser, &[]).await;
    let claims = verified(&client, &tokens, &nonce);
    assert_eq!(claims.subject().as_str(), "alice", "OI-09");
    assert_eq!(claims.issuer().as_str(), demo.base, "OI-09");
    assert_eq!(claims.audiences().len(), 1, "OI-09");
    assert_eq!(
        claims.nonce().map(|n| n.secret()),
        Some(nonce.secret()),
        "OI-04"
    );
    let auth_time = claims.auth_time().expect("OI-03: auth_time").timestamp();
    assert!(auth_time >= before - 1 && auth_time <= now_seconds());
    let amr: Vec<&str> = claims
        .auth_method_refs()
        .map(|refs| refs.iter().map(|r| r.as_str()).collect())
        .unwrap_or_default();
    assert_eq!(amr, ["pwd"], "OI-08");
    // The code flow releases scope claims at UserInfo, not in the ID token (OI-16).
    assert!(claims.email().is_none());

    // UserInfo through the crate, which checks that its `sub` is the ID token's.
    let userinfo: openidconnect::core::CoreUserInfoClaims = client
        .user_info(
            tokens.access_token().clone(),
            Some(SubjectIdentifier::new("alice".to_owned())),
        )
        .expect("OI-13: a UserInfo endpoint")
        .request_async(&demo.http)
        .await
        .expect("OI-14: UserInfo answers for the ID token's subject");
    assert_eq!(
        userinfo.email().map(|e| e.as_str()),
        Some("alice@example.com"),
        "OI-16"
    );
    assert_eq!(userinfo.email_verified(), Some(true));

    // A refresh through the crate: a new ID token, for the same user.
    let refreshed = client
        .exchange_refresh_token(tokens.refresh_token().expect("a refresh token"))
        .expect("a token endpoint")
        .request_async(&demo.http)
        .await
        .expect("the refresh succeeds");
    let again = verified(&client, &refreshed, |nonce: Option<&Nonce>| match nonce {
        None => Ok(()),
        Some(_) => Err("OI-20: a refreshed ID token carries no nonce".to_owned()),
    });
    assert_eq!(again.subject(), claims.subject(), "OI-20");
    assert_eq!(again.audiences(), claims.audiences(), "OI-20");
    assert_eq!(again.auth_time(), claims.auth_time(), "OI-20");
    assert_ne!(
        refreshed.access_token().secret(),
        tokens.access_token().secret()
    );
}

/// The crate refuses what it must: an ID token whose payload was altered after signing,
/// one whose signature was swapped for another token's, and an ID token checked against
/// another nonce than the request's.
async fn oi_04_oi_10_relying_party_refuses_a_tampered_id_token_and_a_wrong_nonce(demo: &Demo) {
    let (_, client) = discover(demo).await;
    let (tokens, nonce) = sign_in(demo, &client, &mut demo.browser(), &[]).await;
    verified(&client, &tokens, &nonce);
    let id_token = tokens.id_token().expect("an ID token");
    let verifier = client.id_token_verifier();

    // The wrong nonce: what an injected code from another sign-in looks like.
    let other = Nonce::new("n-another-sign-in".to_owned());
    assert!(
        matches!(
            id_token.claims(&verifier, &other),
            Err(ClaimsVerificationError::InvalidNonce(_))
        ),
        "OI-04"
    );

    // A payload changed after signing: `sub` rewritten to another user.
    let compact = id_token.to_string();
    let [header, payload, signature]: [&str; 3] = compact
        .split('.')
        .collect::<Vec<_>>()
        .try_into()
        .expect("a compact JWS");
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let mut claims: serde_json::Value =
        serde_json::from_slice(&b64.decode(payload).expect("base64url")).expect("JSON");
    claims["sub"] = "mallory".into();
    let forged_payload = b64.encode(claims.to_string());
    let tampered: CoreIdToken = format!("{header}.{forged_payload}.{signature}")
        .parse()
        .expect("still a well-formed ID token");
    assert!(
        matches!(
            tampered.claims(&verifier, &nonce),
            Err(ClaimsVerificationError::SignatureVerification(_))
        ),
        "OI-10: a tampered ID token is refused"
    );

    // A valid signature of another token on this payload.
    let (second, _) = sign_in(demo, &client, &mut demo.browser(), &[]).await;
    let second_signature = second
        .id_token()
        .expect("an ID token")
        .to_string()
        .rsplit('.')
        .next()
        .expect("a signature")
        .to_owned();
    let spliced: CoreIdToken = format!("{header}.{payload}.{second_signature}")
        .parse()
        .expect("still a well-formed ID token");
    assert!(
        matches!(
            spliced.claims(&verifier, &nonce),
            Err(ClaimsVerificationError::SignatureVerification(_))
        ),
        "OI-10: another token's signature is refused"
    );
}

/// The crate's end-session URL (from the discovered `end_session_endpoint`, with the ID
/// token as hint, a registered `post_logout_redirect_uri` and `state`): the demo asks the
/// signed-in user to confirm, ends the session on confirmation, and sends the browser to
/// the registered URI with `state`. Afterwards there is no session: `prompt=none` gets
/// `login_required`.
async fn oi_22_oi_23_logout_asks_ends_the_session_and_returns_with_state(demo: &Demo) {
    let (metadata, client) = discover(demo).await;
    let end_session = metadata
        .additional_metadata()
        .end_session_endpoint
        .clone()
        .expect("OI-22: discovery advertises end_session_endpoint");
    assert_eq!(end_session.as_str(), demo.url("/logout"));

    let mut browser = demo.browser();
    let (tokens, nonce) = sign_in(demo, &client, &mut browser, &[]).await;
    verified(&client, &tokens, &nonce);
    let id_token = tokens.id_token().expect("an ID token");
    let state = CsrfToken::new_random();
    let logout = LogoutRequest::from(end_session)
        .set_id_token_hint(id_token)
        .set_post_logout_redirect_uri(
            PostLogoutRedirectUrl::new(SIGNED_OUT.to_owned()).expect("a URL"),
        )
        .set_state(state.clone())
        .http_get_url();

    // Following the link alone signs nobody out: a page asks first.
    let page = browser.open(logout.as_str()).await;
    assert_eq!(page.status, 200, "OI-22: {}", page.body);
    assert!(page.header("location").is_none());
    assert!(page.body.contains("Sign out?"), "{}", page.body);
    let (again, _) = sign_in(demo, &client, &mut browser, &[]).await;
    assert!(
        again.id_token().is_some(),
        "still signed in before confirming"
    );

    // Confirming: 303 to the registered URI with `state`, exactly.
    let page = browser.open(logout.as_str()).await;
    let done = browser.submit(&page, &[("decision", "continue")]).await;
    assert_eq!(done.status, 303, "SEC-04: {}", done.body);
    let location = done.location();
    assert_eq!(
        format!(
            "{}://{}{}",
            location.scheme(),
            location.authority(),
            location.path()
        ),
        SIGNED_OUT,
        "OI-23"
    );
    assert_eq!(
        query_param(&location, "state").as_deref(),
        Some(state.secret().as_str()),
        "OI-23"
    );

    // The session has ended: `prompt=none` cannot sign in silently.
    let (url, state, ..) = authentication_request(&client, &[], &[("prompt", "none")]);
    let reply = browser.open(url.as_str()).await;
    demo.assert_error_redirect(&reply, "login_required", Some(state.secret()));

    // The same logout link again, with nobody signed in: nothing to confirm, straight back.
    let reply = browser.open(logout.as_str()).await;
    assert_eq!(reply.status, 302, "{}", reply.body);
    assert_eq!(
        query_param(&reply.location(), "state").as_deref(),
        Some(state_of(&logout).as_str())
    );
}

/// The `state` parameter of a logout URL.
fn state_of(url: &url::Url) -> String {
    query_param(url, "state").expect("a state")
}

/// Without an ID token of this server as hint there is no redirect: no hint, a tampered
/// hint, or an unregistered `post_logout_redirect_uri` each get a page without
/// `Location`, and a tampered hint signs nobody out. Without any hint, the user still
/// gets the confirmation page.
async fn oi_22_oi_23_logout_without_a_valid_hint_never_redirects(demo: &Demo) {
    let (metadata, client) = discover(demo).await;
    let end_session = metadata
        .additional_metadata()
        .end_session_endpoint
        .clone()
        .expect("an end_session_endpoint");
    let mut browser = demo.browser();
    let (tokens, _) = sign_in(demo, &client, &mut browser, &[]).await;
    let hint = tokens.id_token().expect("an ID token").to_string();
    let redirect = PostLogoutRedirectUrl::new(SIGNED_OUT.to_owned()).expect("a URL");

    // Only `client_id`: not enough to be sent anywhere.
    let no_hint = LogoutRequest::from(end_session.clone())
        .set_client_id(ClientId::new("demo-spa".to_owned()))
        .set_post_logout_redirect_uri(redirect.clone())
        .set_state(CsrfToken::new("xyz".to_owned()))
        .http_get_url();
    let page = browser.open(no_hint.as_str()).await;
    assert_eq!(page.status, 400, "OI-23: {}", page.body);
    assert!(page.header("location").is_none(), "OI-23");

    // A tampered hint (the signature of another token): an error page.
    let (other, _) = sign_in(demo, &client, &mut demo.browser(), &[]).await;
    let other = other.id_token().expect("an ID token").to_string();
    let (head, _) = hint.rsplit_once('.').expect("a JWS");
    let (_, other_signature) = other.rsplit_once('.').expect("a JWS");
    let forged = format!("{head}.{other_signature}");
    let forged_request = format!(
        "{}?id_token_hint={forged}&post_logout_redirect_uri={}&state=xyz",
        end_session.as_str(),
        url::form_urlencoded::byte_serialize(SIGNED_OUT.as_bytes()).collect::<String>()
    );
    let page = browser.open(&forged_request).await;
    assert_eq!(page.status, 400, "OI-22: {}", page.body);
    assert!(page.header("location").is_none(), "OI-23");

    // A valid hint with an unregistered URI: an error page.
    let unregistered = format!(
        "{}?id_token_hint={hint}&post_logout_redirect_uri={}&state=xyz",
        end_session.as_str(),
        url::form_urlencoded::byte_serialize(b"http://127.0.0.1:3000/elsewhere")
            .collect::<String>()
    );
    let page = browser.open(&unregistered).await;
    assert_eq!(page.status, 400, "OI-23: {}", page.body);
    assert!(page.header("location").is_none(), "OI-23");

    // Still signed in after all of these.
    let (still, _) = sign_in(demo, &client, &mut browser, &[]).await;
    assert!(still.id_token().is_some());

    // No hint at all: the confirmation page, and confirming signs out without a redirect.
    let page = browser.open(end_session.as_str()).await;
    assert_eq!(page.status, 200, "OI-22: {}", page.body);
    assert!(page.body.contains("Sign out?"), "OI-22: {}", page.body);
    let done = browser.submit(&page, &[("decision", "continue")]).await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert!(done.header("location").is_none(), "OI-23");
    assert!(done.body.contains("signed out"), "{}", done.body);
}

/// `prompt=login` and `max_age` with a live session: the sign-in page again (not the
/// consent page), and the new ID token's `auth_time` is the new sign-in's. `max_age`
/// longer than the session's age leaves the session alone. `prompt=none` with a session
/// older than `max_age` is `login_required`.
async fn oi_02_oi_03_prompt_login_and_max_age_ask_for_a_fresh_sign_in(demo: &Demo) {
    let (_, client) = discover(demo).await;
    let mut browser = demo.browser();
    let (tokens, nonce) = sign_in(demo, &client, &mut browser, &[]).await;
    let first = verified(&client, &tokens, &nonce)
        .auth_time()
        .expect("auth_time")
        .timestamp();

    // A session that is still fresh enough: the consent page directly.
    let consent_first = |extra: &[(&str, &str)]| authentication_request(&client, &[], extra).0;
    let page = browser
        .open(consent_first(&[("max_age", "3600")]).as_str())
        .await;
    assert!(page.has_button("approve"), "OI-03: {}", page.body);
    assert!(page.input("password").is_none());

    // auth_time is in seconds: let the next sign-in fall in a later second.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    for extra in [
        &[("prompt", "login")][..],
        &[("max_age", "0")][..],
        &[("prompt", "login consent"), ("max_age", "3600")][..],
    ] {
        // The sign-in page, although a session is live.
        let url = consent_first(extra);
        let page = browser.open(url.as_str()).await;
        assert_eq!(page.status, 200, "{extra:?}: {}", page.body);
        assert!(
            page.input("password").is_some() && !page.has_button("approve"),
            "OI-02/OI-03 {extra:?}: the sign-in page: {}",
            page.body
        );
        // A decision posted past the sign-in form is not taken: only a sign-in moves on.
        let skipped = browser.submit(&page, &[("decision", "approve")]).await;
        assert_eq!(skipped.status, 303);
        assert!(
            skipped
                .header("location")
                .is_some_and(|to| to.starts_with("/authorize?")),
            "{extra:?}: back to the sign-in page, no code"
        );

        // Signing in again, then the consent page, then a code: the crate checks the ID
        // token, whose auth_time is the new sign-in's.
        let (tokens, nonce) = sign_in(demo, &client, &mut browser, extra).await;
        let fresh = verified(&client, &tokens, &nonce)
            .auth_time()
            .expect("OI-03: auth_time")
            .timestamp();
        assert!(fresh > first, "OI-03 {extra:?}: {fresh} after {first}");
    }

    // `prompt=none` and a `max_age` the session is older than: no page, `login_required`.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let (url, state, ..) =
        authentication_request(&client, &[], &[("prompt", "none"), ("max_age", "1")]);
    let reply = browser.open(url.as_str()).await;
    demo.assert_error_redirect(&reply, "login_required", Some(state.secret()));
    // With a session young enough, `prompt=none` gets past the sign-in: the demo asks for
    // consent every time, so `consent_required`.
    let (url, state, ..) = authentication_request(&client, &[], &[("prompt", "none")]);
    let reply = browser.open(url.as_str()).await;
    demo.assert_error_redirect(&reply, "consent_required", Some(state.secret()));
}

/// Every member of the discovery document the examples publish, each with where its
/// behaviour is checked: a member added later fails this test until it is listed here
/// with its test. The members whose behaviour no other end-to-end test exercises are
/// exercised here.
const BACKED: [(&str, &str); 31] = [
    ("issuer", "the crate's discovery check, above"),
    ("authorization_endpoint", "every sign-in above"),
    ("token_endpoint", "every code exchange above"),
    ("jwks_uri", "every ID token verification above"),
    ("device_authorization_endpoint", "example_servers dg_09"),
    (
        "registration_endpoint",
        "example_servers dr_10_dr_13_dr_14_dr_15_registration_over_http; mcp",
    ),
    (
        "response_types_supported",
        "sign-ins above; example_servers im_01",
    ),
    (
        "response_modes_supported",
        "Browser::authorization_code reads the query",
    ),
    (
        "grant_types_supported",
        "example_servers pk_01 cc_01 dg_09 pw_02 rt_06",
    ),
    (
        "code_challenge_methods_supported",
        "sign-ins above; example_servers pk_02",
    ),
    (
        "token_endpoint_auth_methods_supported",
        "here; example_servers te_06",
    ),
    ("scopes_supported", "here"),
    ("revocation_endpoint", "example_servers rv_06"),
    (
        "revocation_endpoint_auth_methods_supported",
        "here; example_servers rv_06",
    ),
    ("introspection_endpoint", "example_servers rv_06_in_04"),
    (
        "introspection_endpoint_auth_methods_supported",
        "here; example_servers in_04",
    ),
    (
        "authorization_response_iss_parameter_supported",
        "Browser::authorization_code",
    ),
    ("userinfo_endpoint", "the UserInfo request above"),
    ("end_session_endpoint", "the logout scenarios above"),
    (
        "subject_types_supported",
        "`sub` is the local `alice` above",
    ),
    (
        "id_token_signing_alg_values_supported",
        "every ID token verification above",
    ),
    // The demo registers no client for signed UserInfo responses; the library's
    // `openid::oi_14_signed_userinfo` checks them.
    (
        "userinfo_signing_alg_values_supported",
        "openid oi_14_signed_userinfo",
    ),
    ("claims_supported", "the UserInfo request above"),
    (
        "protected_resources",
        "example_servers pr_05_pr_06_ri_11_from_a_401_to_the_api_with_a_resource_bound_token",
    ),
    ("claims_parameter_supported", "here"),
    ("request_parameter_supported", "here"),
    (
        "request_object_signing_alg_values_supported",
        "request_object jr_05_the_object_is_the_request_and_leads_to_tokens",
    ),
    ("request_uri_parameter_supported", "here"),
    (
        "pushed_authorization_request_endpoint",
        "example_servers ex_01_ex_02_pushed_authorization_request_over_http",
    ),
    (
        "require_pushed_authorization_requests",
        "example_servers ex_01_ex_02_pushed_authorization_request_over_http",
    ),
    (
        "prompt_values_supported",
        "here and the prompt scenario above",
    ),
];

/// The discovery document holds exactly the [`BACKED`] members, and what no other
/// scenario exercises works: UserInfo by POST, the `claims` parameter (through the crate),
/// `request` and `request_uri` refused, every advertised scope granted, and
/// `prompt=consent` and `prompt=select_account` (the signed-in page offers another account).
async fn oi_21_md_07_every_advertised_member_is_backed(demo: &Demo) {
    let reply = demo.get("/.well-known/openid-configuration").await;
    assert_eq!(reply.status, 200);
    let document = reply.json();
    let mut published: Vec<&str> = document
        .as_object()
        .expect("a JSON object")
        .keys()
        .map(String::as_str)
        .collect();
    published.sort_unstable();
    let mut backed: Vec<&str> = BACKED.iter().map(|(member, _)| *member).collect();
    backed.sort_unstable();
    assert_eq!(
        published, backed,
        "OI-21: every advertised member is backed"
    );
    let list = |member: &str| -> Vec<String> {
        document[member]
            .as_array()
            .unwrap_or_else(|| panic!("{member} is an array"))
            .iter()
            .map(|v| v.as_str().expect("a string").to_owned())
            .collect()
    };
    assert_eq!(
        list("prompt_values_supported"),
        ["none", "login", "consent", "select_account"]
    );
    assert_eq!(document["request_parameter_supported"], true);
    assert_eq!(document["request_uri_parameter_supported"], false);
    assert_eq!(document["claims_parameter_supported"], true);

    // The authentication methods are the server's; each client uses the one it
    // registered (RFC 7591 §2). The demo registers its confidential clients for
    // `client_secret_basic` (example_servers te_06, cc_01, in_04), so the same secret in
    // the body is refused; `client_auth::te_07_client_secret_post_authenticates_a_post_client`
    // checks a client registered for `client_secret_post`.
    for member in [
        "token_endpoint_auth_methods_supported",
        "revocation_endpoint_auth_methods_supported",
        "introspection_endpoint_auth_methods_supported",
    ] {
        assert!(
            list(member).contains(&"client_secret_post".to_owned()),
            "{member}"
        );
    }
    let token = demo
        .post_form(
            "/token",
            None,
            &[
                ("client_id", "demo-service"),
                ("client_secret", "demo-service-secret"),
                ("grant_type", "client_credentials"),
            ],
        )
        .await;
    assert_eq!(
        token.status, 401,
        "TE-07: the registered method only: {}",
        token.body
    );

    // Every advertised scope can be granted to a client registered for it.
    let (_, client) = discover(demo).await;
    let mut browser = demo.browser();
    let scopes = list("scopes_supported");
    let user_scopes: Vec<&str> = scopes
        .iter()
        .map(String::as_str)
        .filter(|s| *s != "write:data")
        .collect();
    // The `claims` parameter: the e-mail address in the ID token too.
    let claims_request = [("claims", r#"{"id_token":{"email":{"essential":true}}}"#)];
    let (tokens, nonce) =
        sign_in_with(demo, &client, &mut browser, &user_scopes, &claims_request).await;
    let mut granted: Vec<String> = tokens
        .scopes()
        .map(|s| s.iter().map(|s| s.to_string()).collect())
        .unwrap_or_default();
    granted.sort();
    let mut wanted: Vec<String> = user_scopes.iter().map(|s| (*s).to_owned()).collect();
    wanted.sort();
    assert_eq!(granted, wanted, "scopes_supported");
    let claims = verified(&client, &tokens, &nonce);
    assert_eq!(
        claims.email().map(|e| e.as_str()),
        Some("alice@example.com"),
        "OI-17: the claims parameter"
    );
    let write = service_scope_granted(demo, "write:data").await;
    assert!(write, "scopes_supported: write:data");

    // UserInfo by POST (OI-13).
    let info = demo
        .send(
            demo.http
                .post(demo.url("/userinfo"))
                .bearer_auth(tokens.access_token().secret()),
        )
        .await;
    assert_eq!(info.status, 200, "OI-13: {}", info.body);
    assert_eq!(info.json()["sub"], "alice");

    // A `request_uri` not issued by PAR: not supported, and said so (to a signed-in user,
    // through the redirect). An unsigned `request` object: an error page, never a redirect
    // (nothing in it is trusted).
    let (url, state, ..) = authentication_request(
        &client,
        &[],
        &[("request_uri", "https://rp.example/request.jwt")],
    );
    let reply = browser.open(url.as_str()).await;
    demo.assert_error_redirect(&reply, "request_uri_not_supported", Some(state.secret()));
    let (url, ..) =
        authentication_request(&client, &[], &[("request", "eyJhbGciOiJub25lIn0.e30.")]);
    let reply = browser.open(url.as_str()).await;
    assert_eq!(reply.status, 400, "{}", reply.body);
    assert!(reply.header("location").is_none());

    // `prompt=consent`: the consent page (the demo asks every time); `select_account`:
    // the page for the signed-in user offers another account ("Not you? Sign out").
    for prompt in ["consent", "select_account"] {
        let (url, ..) = authentication_request(&client, &[], &[("prompt", prompt)]);
        let page = browser.open(url.as_str()).await;
        assert!(page.has_button("approve"), "OI-02 {prompt}: {}", page.body);
        assert!(page.has_button("sign_out"), "OI-02 {prompt}: {}", page.body);
    }
}

/// Whether `demo-service` gets `scope` through client credentials.
async fn service_scope_granted(demo: &Demo, scope: &str) -> bool {
    let reply = demo
        .post_form(
            "/token",
            Some(("demo-service", "demo-service-secret")),
            &[("grant_type", "client_credentials"), ("scope", scope)],
        )
        .await;
    reply.status == 200 && reply.json()["scope"] == scope
}
