//! Type properties: dyn-compatible plug-in traits, a `Send + Sync + Clone + Debug` server
//! with `Send` futures, and `Debug` output that never contains secret text.

use std::fmt::Debug;

use crate::support::hostile;
use crate::support::race::runtime;
use crate::support::token::*;
use grantflow::clock::Clock;
use grantflow::grant::GrantHandler;
use grantflow::limiter::AttemptLimiter;
use grantflow::secret::{AccessToken, AuthorizationCode, CodeVerifier, RefreshToken, TokenHash};
use grantflow::store::TokenStore;
use grantflow::{
    Client, ClientRegistry, ClientSecret, ClientType, GrantType, HttpRequest, Server, TokenIssuer,
};

/// Every plug-in trait is usable as a trait object (DESIGN decision 1).
#[allow(dead_code, reason = "compiling it is the test")]
fn _obj(
    _: &dyn ClientRegistry,
    _: &dyn TokenStore,
    _: &dyn AttemptLimiter,
    _: &dyn TokenIssuer,
    _: &dyn Clock,
    _: &dyn GrantHandler,
    _: (
        &dyn grantflow::store::RegistrationStore,
        &dyn grantflow::registration::RegistrationPolicy,
    ),
) {
}

fn assert_send<T: Send>(_: &T) {}
fn assert_traits<T: Send + Sync + Clone + Debug + 'static>() {}

#[test]
fn server_is_send_sync_clone_debug() {
    assert_traits::<Server>();
    assert_traits::<grantflow::HttpResponse>();
    assert_traits::<HttpRequest>();
    fn send_sync<T: Send + Sync>() {}
    send_sync::<grantflow::Error>();
    send_sync::<grantflow::StorageError>();
}

#[test]
fn token_future_is_send() {
    let h = Harness::new();
    let request = backend_cc();
    let future = h.server.token(&request);
    assert_send(&future);
    // And it still works after the check.
    assert_token(&block_on(future).unwrap(), "read");
}

#[test]
fn registration_futures_are_send() {
    let h = Harness::new();
    let request = HttpRequest::new(grantflow::Method::Post);
    assert_send(&h.server.register(&request));
    assert_send(&h.server.client_configuration("dcr_x", &request));
}

#[test]
fn server_futures_run_on_a_multi_thread_runtime() {
    let h = Harness::new();
    let runtime = runtime(2);
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let server = h.server.clone();
            runtime.spawn(async move { server.token(&backend_cc()).await })
        })
        .collect();
    for task in tasks {
        assert_token(&runtime.block_on(task).unwrap().unwrap(), "read");
    }
    assert_eq!(h.stored(), 8);
}

/// Asserts that `value`'s Debug output contains none of `secrets`.
#[track_caller]
fn assert_redacted(value: &dyn Debug, secrets: &[&str]) {
    let shown = format!("{value:?}");
    let pretty = format!("{value:#?}");
    for secret in secrets {
        assert!(!shown.contains(secret), "{secret:?} leaks in {shown}");
        assert!(!pretty.contains(secret), "{secret:?} leaks in {pretty}");
    }
}

#[test]
fn debug_of_http_request_hides_credentials_and_body() {
    let secret = "body-secret-Qx81";
    let request = backend(format!(
        "grant_type=client_credentials&client_secret={secret}&refresh_token=rt-Zz9&code=cd-77"
    ))
    .with_query("client_secret=query-secret-K2");
    let header = basic(BACKEND.0, BACKEND.1);
    let token68 = header.strip_prefix("Basic ").unwrap();
    assert_redacted(
        &request,
        &[
            secret,
            BACKEND.1,
            token68,
            "rt-Zz9",
            "cd-77",
            "query-secret-K2",
            "client_credentials",
        ],
    );
}

#[test]
fn debug_of_a_token_response_hides_the_token() {
    let h = Harness::new();
    let response = h.token(&backend_cc());
    let token = assert_token(&response, "read");
    assert_redacted(&response, &[&token]);
    // Nor the stored record, nor the store, nor the server.
    let record = h.record(&token).unwrap();
    assert_redacted(&record, &[&token]);
    assert_redacted(&*h.tokens, &[&token, &TokenHash::of(&token).to_hex()]);
    assert_redacted(
        &h.server,
        &[&token, BACKEND.1, &TokenHash::of(&token).to_hex()],
    );
}

#[test]
fn debug_of_secret_types_is_redacted() {
    let text = "the-secret-value-8c1f";
    assert_redacted(&ClientSecret::from_presented(text.into()), &[text]);
    assert_redacted(&AccessToken::from_presented(text.into()), &[text]);
    assert_redacted(&RefreshToken::from_presented(text.into()), &[text]);
    assert_redacted(&AuthorizationCode::from_presented(text.into()), &[text]);
    assert_redacted(&CodeVerifier::from_presented(text.into()), &[text]);
    // Generated values too.
    let generated = AccessToken::generate();
    assert_redacted(&generated, &[generated.expose_secret()]);
    let generated = ClientSecret::generate();
    assert_redacted(&generated, &[generated.expose_secret()]);
    // A digest shows a short prefix only, never the whole digest.
    let hash = TokenHash::of(text);
    assert_redacted(&hash, &[text, &hash.to_hex()]);
}

#[test]
fn debug_of_a_client_hides_its_secret_and_its_digest() {
    let secret = "client-secret-text-55aa";
    let client = Client::builder("debug-client", ClientType::Confidential)
        .secret(&ClientSecret::from_presented(secret.into()))
        .grant_type(GrantType::CLIENT_CREDENTIALS)
        .build()
        .unwrap();
    let digest = TokenHash::of(secret).to_hex();
    assert_redacted(&client, &[secret, &digest]);
    let registry = grantflow::MemoryClientRegistry::new();
    registry.insert(client).unwrap();
    assert_redacted(&registry, &[secret, &digest]);
}

#[test]
fn debug_of_the_server_hides_client_secrets() {
    let h = Harness::new();
    let mut secrets: Vec<&str> = V_BASIC_CLIENTS.iter().map(|(_, s)| *s).collect();
    secrets.extend([
        BACKEND.1,
        POSTER.1,
        OTHER.1,
        CASE.1,
        CODE_ONLY.1,
        NO_DEFAULT.1,
    ]);
    // `open sesame` and `123£` are short enough to be checked as given.
    assert_redacted(&h.server, &secrets);
    assert_redacted(&*h.clients, &secrets);
}

#[test]
fn errors_display_no_secret() {
    // The 401 for a wrong secret: neither the response nor the error path shows it.
    let h = Harness::new();
    let response = h.token(&basic_request(
        BACKEND.0,
        "presented-wrong-secret",
        cc_body(None),
    ));
    assert_redacted(&response, &["presented-wrong-secret"]);
    assert!(!String::from_utf8_lossy(&response.body).contains("presented-wrong-secret"));
}

/// Every other public type that holds a secret, or a value that grants access while it is
/// live (a pending user code, a code's PKCE challenge), prints none of it through `Debug`
/// (DESIGN decision 13).
#[test]
fn debug_of_every_other_secret_holding_type_is_redacted() {
    use grantflow::pkce::{CodeChallenge, PkceMethod};
    use grantflow::secret::{DeviceCode, ResourceOwnerPassword};
    use grantflow::store::{
        AuthorizationGrant, DeviceRecord, DeviceStore as _, GrantId, Redemption,
    };
    use grantflow::{ClientId, CodeStore as _, MemoryCodeStore, MemoryDeviceStore, Scope, Subject};
    use std::time::Duration;

    let text = "the-secret-value-8c1f";
    assert_redacted(&DeviceCode::from_presented(text.into()), &[text]);
    assert_redacted(&ResourceOwnerPassword::from_presented(text.into()), &[text]);
    let generated = DeviceCode::generate();
    assert_redacted(&generated, &[generated.expose_secret()]);

    // A code's grant and the code store hold the PKCE challenge and the code's digest.
    let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
    let code = grantflow::secret::AuthorizationCode::generate();
    let grant = AuthorizationGrant::new(
        GrantId::generate(),
        ClientId::new("app").unwrap(),
        Subject::new("alice"),
        Scope::parse("read").unwrap(),
        ISSUER,
        t0(),
        t0() + Duration::from_secs(60),
    )
    .with_challenge(CodeChallenge::new(PkceMethod::S256, challenge));
    assert_redacted(&grant, &[challenge]);
    assert_redacted(&grant.challenge, &[challenge]);
    let codes = MemoryCodeStore::new();
    block_on(codes.insert(code.hash(), grant.clone())).unwrap();
    let secrets = [code.expose_secret(), challenge, &code.hash().to_hex()];
    assert_redacted(&codes, &secrets);
    assert_redacted(&block_on(codes.redeem(&code.hash())).unwrap(), &secrets);
    assert_redacted(&Redemption::AlreadyUsed(grant), &secrets);

    // A pending device request's user code lets whoever types it approve the request.
    let user_code = "WDJBMJHT";
    let device_code = DeviceCode::generate();
    let record = DeviceRecord::new(
        GrantId::generate(),
        ClientId::new("tv").unwrap(),
        Scope::parse("read").unwrap(),
        user_code.to_owned(),
        t0(),
        t0() + Duration::from_secs(600),
        Duration::from_secs(5),
    );
    assert_redacted(&record, &[user_code]);
    // What a user typed on the verification page is the live code too.
    assert_redacted(
        &grantflow::device::EnteredUserCode::new(user_code),
        &[user_code],
    );
    let devices = MemoryDeviceStore::new();
    block_on(devices.insert(device_code.hash(), record)).unwrap();
    assert_redacted(
        &devices,
        &[
            user_code,
            device_code.expose_secret(),
            &device_code.hash().to_hex(),
        ],
    );
}

/// The values the endpoints hand the host print no secret: a pending authorization (its
/// PKCE challenge), the redirect carrying a code (a sensitive `Location`), a pending
/// device authorization (its user code), and the request a grant handler sees.
#[test]
fn debug_of_endpoint_values_is_redacted() {
    use grantflow::grant::{Rejection, TokenGrant};
    use grantflow::{GrantRequest, Method, Scope, Subject};
    use std::sync::{Arc, Mutex};

    let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
    let h = Harness::new();
    let request = HttpRequest::new(Method::Get).with_query(format!(
        "response_type=code&client_id={SPA}&code_challenge={challenge}&code_challenge_method=S256&state=s"
    ));
    let pending = block_on(h.server.authorize(&request)).unwrap();
    assert_redacted(&pending, &[challenge]);
    let response =
        block_on(pending.approve(Subject::new("alice"), Scope::parse("read").unwrap())).unwrap();
    let location = response.header("location").unwrap().to_owned();
    let code = location
        .split("code=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap();
    assert_redacted(&response, &[code, &location]);

    // A grant handler sees a GrantRequest: its Debug leaves out every parameter value.
    #[derive(Debug, Default)]
    struct Spy(Mutex<Vec<String>>);
    #[async_trait::async_trait]
    impl GrantHandler for Spy {
        fn grant_type(&self) -> &str {
            "urn:example:spy"
        }
        async fn handle(&self, request: &GrantRequest<'_>) -> Result<TokenGrant, Rejection> {
            self.0
                .lock()
                .unwrap()
                .push(format!("{request:?} {request:#?}"));
            Ok(TokenGrant::new(request.requested_scope()?))
        }
    }
    let spy = Arc::new(Spy::default());
    let client = Client::builder("ext", ClientType::Confidential)
        .secret(&ClientSecret::from_presented("ext-secret-Lk2".into()))
        .grant_type(GrantType::new("urn:example:spy"))
        .allowed_scope("read")
        .default_scope("read");
    let h = Harness::builder(Arc::new(register([client]))).build(|b| b.grant_handler(spy.clone()));
    let response = h.token(&basic_request(
        "ext",
        "ext-secret-Lk2",
        "grant_type=urn%3Aexample%3Aspy&assertion=assertion-secret-9Q",
    ));
    assert_eq!(
        response.status.as_u16(),
        200,
        "{:?}",
        String::from_utf8_lossy(&response.body)
    );
    let shown = spy.0.lock().unwrap();
    assert_eq!(shown.len(), 1);
    assert!(!shown[0].contains("assertion-secret-9Q") && !shown[0].contains("ext-secret-Lk2"));

    // A pending device authorization hides the user code that would approve it.
    let world = hostile::World::new();
    let verifier = world.server.device_verifier().unwrap();
    let entered = grantflow::device::EnteredUserCode::new(hostile::USER_CODE);
    let pending = block_on(verifier.verify(entered, "session:1")).unwrap();
    assert_redacted(&pending, &[hostile::USER_CODE, "WDJB-MJHT"]);
}
