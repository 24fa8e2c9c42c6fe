//! Cross-cutting security rules that are about the library (CHECKLIST §21): SEC-01 (TLS
//! everywhere, refused in configuration outside a named dev switch), SEC-06 (every
//! parameter is untrusted: validated, bounded, encoded on output) and SEC-07 (one client
//! type per `client_id`, and the type decides PKCE, authentication and refresh).
//!
//! SEC-02..SEC-05 are about HTML pages (anti-framing headers, CSRF on the server's own
//! forms, 303 after a form POST, no third-party resources): the host renders those pages,
//! and their tests are in the examples' end-to-end suite. The library's part of SEC-04
//! (`see_other`, 303 for a POSTed authorization request) is tested in
//! `authorize_endpoint.rs` (`az_01_post_behaves_like_get_and_answers_303`, which names it). SEC-06 is also checked at scale by `hostile_corpus.rs`.

use std::sync::Arc;

use crate::support::hostile::*;
use grantflow::authorize::{AuthorizeError, RedirectUri};
use grantflow::*;

fn builder(issuer: &str) -> ServerBuilder {
    Server::builder(
        issuer,
        Arc::new(MemoryClientRegistry::new()),
        Arc::new(MemoryTokenStore::new()),
    )
}

/// SEC-01: an `http` issuer, or any `http` endpoint URL the server publishes or sends
/// devices to, is a startup error unless `dangerous().allow_http_issuer()` is called, and
/// then only together with an `http` issuer for local development.
#[test]
fn sec_01_plain_http_configuration_is_refused_without_the_dev_switch() {
    assert!(matches!(
        builder("http://as.example.com").build(),
        Err(ConfigError::Issuer(_))
    ));
    assert!(matches!(
        builder("ftp://as.example.com")
            .dangerous(|d| d.allow_http_issuer())
            .build(),
        Err(ConfigError::Issuer(_))
    ));
    let https = "https://as.example.com";
    let devices = || Arc::new(MemoryDeviceStore::new());
    type Configure = Box<dyn Fn(ServerBuilder) -> ServerBuilder>;
    let http_settings: [(&str, Configure); 6] = [
        (
            "authorization_endpoint",
            Box::new(|b| b.authorization_endpoint("http://as.example.com/authorize")),
        ),
        (
            "token_endpoint",
            Box::new(|b| b.token_endpoint("http://as.example.com/token")),
        ),
        (
            "revocation_endpoint",
            Box::new(|b| b.revocation_endpoint("http://as.example.com/revoke")),
        ),
        (
            "introspection_endpoint",
            Box::new(|b| b.introspection_endpoint("http://as.example.com/introspect")),
        ),
        (
            "device_verification_uri",
            Box::new(move |b| {
                b.device_store(devices())
                    .device_verification_uri("http://as.example.com/device")
            }),
        ),
        (
            "device_authorization_endpoint",
            Box::new(move |b| {
                b.device_store(devices())
                    .device_authorization_endpoint("http://as.example.com/device_authorization")
            }),
        ),
    ];
    for (name, configure) in &http_settings {
        assert!(
            configure(builder(https)).build().is_err(),
            "{name} accepted http with an https issuer"
        );
    }
    // The dev switch: an http issuer on loopback, with http endpoints, builds.
    let dev = builder("http://127.0.0.1:8080")
        .dangerous(|d| d.allow_http_issuer())
        .token_endpoint("http://127.0.0.1:8080/token")
        .build()
        .expect("dev mode");
    assert_eq!(dev.issuer(), "http://127.0.0.1:8080");
    // Redirect URIs: http only to loopback literals (RU-08), whatever the server's mode.
    for uri in ["http://client.example.com/cb", "http://10.0.0.1/cb"] {
        assert!(RedirectUri::parse(uri).is_err(), "{uri}");
    }
    for uri in [
        "http://127.0.0.1/cb",
        "http://[::1]:8080/cb",
        "http://localhost/cb",
    ] {
        assert!(RedirectUri::parse(uri).is_ok(), "{uri}");
    }
}

/// SEC-06: `state` and `redirect_uri` are validated and bounded before anything is
/// echoed: an overlong or non-printable `state` and an unregistered or overlong
/// `redirect_uri` are local errors (no redirect), and markup in `state` goes out only
/// percent-encoded and comes back byte for byte.
#[test]
fn sec_06_state_and_redirect_uri_are_validated_bounded_and_encoded() {
    let world = World::new();
    let request = |extra: &str| {
        HttpRequest::new(Method::Get).with_query(format!(
            "response_type=code&client_id={SPA}&code_challenge={CHALLENGE}\
             &code_challenge_method=S256{extra}"
        ))
    };
    let local = |extra: &str| match block_on(world.server.authorize(&request(extra))) {
        Err(AuthorizeError::Rejected(error)) => error,
        other => panic!("{extra:.60}: expected a local error, got {other:?}"),
    };
    // Overlong and non-VSCHAR state (ST-03).
    local(&format!(
        "&state={}&redirect_uri=http%3A%2F%2F127.0.0.1%2Fcb",
        "s".repeat(10_000)
    ));
    local("&state=a%0Db&redirect_uri=http%3A%2F%2F127.0.0.1%2Fcb");
    local("&state=caf%C3%A9&redirect_uri=http%3A%2F%2F127.0.0.1%2Fcb");
    // Unregistered, injected and overlong redirect URIs.
    for uri in [
        "https://evil.example/cb",
        "http://127.0.0.1/cb%0D%0ALocation:%20https://evil.example",
        "http://127.0.0.1/cb\"><script>",
        "javascript:alert(1)",
    ] {
        let error = local(&format!(
            "&redirect_uri={}",
            url::form_urlencoded::byte_serialize(uri.as_bytes()).collect::<String>()
        ));
        assert!(
            error
                .description()
                .is_none_or(|d| !d.contains("evil") && !d.contains('<')),
            "{error:?}"
        );
    }
    local(&format!(
        "&redirect_uri=http%3A%2F%2F127.0.0.1%2F{}",
        "a".repeat(5000)
    ));
    // Markup in state: encoded on the way out, identical after decoding (ST-01, ST-02).
    let state = "<script>alert(\"x\")</script>' OR '1'='1";
    let encoded: String = url::form_urlencoded::byte_serialize(state.as_bytes()).collect();
    let pending = block_on(world.server.authorize(&request(&format!(
        "&state={encoded}&redirect_uri=http%3A%2F%2F127.0.0.1%3A4000%2Fcb"
    ))))
    .unwrap();
    assert_eq!(pending.state(), Some(state));
    let response = pending.deny();
    assert_redirect(&response, Some(state), false);
    let location = response.header("location").unwrap();
    assert!(
        !location.contains("<script>") && !location.contains('\''),
        "{location}"
    );
}

/// SEC-07: a `client_id` is registered as exactly one client type, and that type decides
/// how the client authenticates, whether PKCE is optional, and what it may be issued.
#[test]
fn sec_07_one_type_per_client_id_and_the_type_decides_the_rules() {
    let registry = MemoryClientRegistry::new();
    let public = Client::builder("app", ClientType::Public)
        .grant_type(GrantType::AUTHORIZATION_CODE)
        .redirect_uri("https://app.example/cb")
        .build()
        .unwrap();
    registry.insert(public).unwrap();
    // The same id again as a confidential client: refused, the first registration stays.
    let confidential = Client::builder("app", ClientType::Confidential)
        .secret(&ClientSecret::from_presented("s".into()))
        .grant_type(GrantType::CLIENT_CREDENTIALS)
        .build()
        .unwrap();
    assert_eq!(registry.insert(confidential), Err(ClientError::Duplicate));
    let found = block_on(registry.find(&ClientId::new("app").unwrap()))
        .unwrap()
        .unwrap();
    assert!(found.is_public());
    // A public client cannot hold a secret, use client credentials or be PKCE-exempt; a
    // confidential one must hold a secret and cannot use `none`.
    let secret = ClientSecret::from_presented("s".into());
    for builder in [
        Client::builder("p", ClientType::Public)
            .secret(&secret)
            .grant_type(GrantType::AUTHORIZATION_CODE),
        Client::builder("p", ClientType::Public).grant_type(GrantType::CLIENT_CREDENTIALS),
        Client::builder("p", ClientType::Public)
            .grant_type(GrantType::AUTHORIZATION_CODE)
            .dangerous(|d| d.allow_missing_pkce()),
        Client::builder("c", ClientType::Confidential).grant_type(GrantType::CLIENT_CREDENTIALS),
        Client::builder("c", ClientType::Confidential)
            .secret(&secret)
            .auth_method(AuthMethod::None)
            .grant_type(GrantType::CLIENT_CREDENTIALS),
    ] {
        assert!(builder.build().is_err());
    }
    // At the endpoints: the confidential client must authenticate (a bare client_id is
    // invalid_client), the public one must not try (a secret for it is invalid_client).
    let world = World::new();
    let token = |body: &str| {
        let request = HttpRequest::new(Method::Post)
            .with_header("content-type", "application/x-www-form-urlencoded")
            .with_body(body.to_owned());
        block_on(world.server.token(&request)).unwrap()
    };
    let response = token(&format!(
        "grant_type=client_credentials&client_id={}",
        POST.0
    ));
    assert_eq!(response.status.as_u16(), 401);
    let response = token(&format!(
        "grant_type=refresh_token&refresh_token={SPA_REFRESH_TOKEN}&client_id={SPA}&client_secret=x"
    ));
    assert_eq!(response.status.as_u16(), 401);
    let response = token(&format!(
        "grant_type=refresh_token&refresh_token={SPA_REFRESH_TOKEN}&client_id={SPA}"
    ));
    assert_eq!(response.status.as_u16(), 200);
    // And a public client always needs PKCE at the authorization endpoint.
    let request = HttpRequest::new(Method::Get).with_query(format!(
        "response_type=code&client_id={SPA}&redirect_uri=http%3A%2F%2F127.0.0.1%2Fcb&state=s"
    ));
    match block_on(world.server.authorize(&request)) {
        Err(AuthorizeError::Redirect(error)) => {
            assert_eq!(error.error().code(), &ErrorCode::INVALID_REQUEST);
        }
        other => panic!("{other:?}"),
    }
}
