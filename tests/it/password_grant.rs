//! The legacy password grant: PW-01..PW-04.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::support::authz::*;
use async_trait::async_trait;
use grantflow::grant::ResourceOwnerVerifier;
use grantflow::limiter::MemoryAttemptLimiter;
use grantflow::secret::ResourceOwnerPassword;
use grantflow::*;

/// Accepts alice / "correct horse"; remembers every password it was shown, to prove the
/// crate never keeps or echoes them.
#[derive(Debug, Default)]
struct Users {
    seen: Mutex<Vec<String>>,
}

#[async_trait]
impl ResourceOwnerVerifier for Users {
    async fn verify(
        &self,
        _client: &Client,
        username: &str,
        password: &ResourceOwnerPassword,
    ) -> Result<Option<Subject>, StorageError> {
        self.seen
            .lock()
            .unwrap()
            .push(password.expose_secret().to_owned());
        let ok = username == "alice" && password.expose_secret() == "correct horse";
        Ok(ok.then(|| Subject::new("user-42")))
    }
}

fn legacy_clients() -> Arc<MemoryClientRegistry> {
    let clients = clients();
    clients
        .insert(
            Client::builder("legacy", ClientType::Confidential)
                .secret(&ClientSecret::from_presented(CONF_SECRET.to_owned()))
                .grant_type(GrantType::PASSWORD)
                .grant_type(GrantType::REFRESH_TOKEN)
                .allowed_scope("read")
                .default_scope("read")
                .build()
                .unwrap(),
        )
        .unwrap();
    clients
}

/// The code flow harness with `legacy` registered and the password grant on, checked by
/// `users`.
fn server(users: Arc<Users>) -> Harness {
    let limiter = Arc::new(MemoryAttemptLimiter::new(5, Duration::from_secs(60)));
    Harness::builder(legacy_clients()).build(|b| b.attempt_limiter(limiter).password_grant(users))
}

fn password_request(client: &str, username: &str, password: &str) -> HttpRequest {
    post_form(format!(
        "grant_type=password&username={username}&password={}",
        enc(password)
    ))
    .with_header("authorization", basic(client, CONF_SECRET))
}

#[test]
fn pw_01_off_by_default() {
    let s = Harness::builder(legacy_clients()).build(|b| b);
    let response = s.token(&password_request("legacy", "alice", "correct horse"));
    assert_token_error(&response, 400, "unsupported_grant_type");
    assert!(s.server.warnings().is_empty());
    assert!(!s.server.grant_types().any(|g| g == "password"));
}

#[test]
fn pw_02_enabled_only_for_listed_clients_with_correct_credentials() {
    let s = server(Arc::default());
    let response = s.token(&password_request("legacy", "alice", "correct horse"));
    assert_eq!(response.status, Status::OK);
    let body = json(&response);
    assert_eq!(body["scope"], "read");
    assert!(body["refresh_token"].is_string());
    // A client not registered for the grant.
    let response = s.token(&password_request("conf", "alice", "correct horse"));
    assert_token_error(&response, 400, "unauthorized_client");
    // Wrong password, unknown user.
    let response = s.token(&password_request("legacy", "alice", "wrong"));
    assert_token_error(&response, 400, "invalid_grant");
    let response = s.token(&password_request("legacy", "mallory", "x"));
    assert_token_error(&response, 400, "invalid_grant");
    // The confidential client must authenticate.
    let request =
        post_form("grant_type=password&username=alice&password=correct+horse&client_id=legacy");
    assert_token_error(&s.token(&request), 401, "invalid_client");
    // Missing credentials.
    let request = post_form("grant_type=password&username=alice")
        .with_header("authorization", basic("legacy", CONF_SECRET));
    assert_token_error(&s.token(&request), 400, "invalid_request");
}

/// PW-03 with the default password limiter (only the client-secret limiter is replaced
/// here; `secret_hygiene.rs` repeats the check with every guard at its default).
#[test]
fn pw_03_failed_attempts_are_throttled_per_user_and_never_echoed() {
    let users = Arc::new(Users::default());
    let s = server(users.clone());
    for n in 0..5 {
        let response = s.token(&password_request("legacy", "alice", &format!("guess-{n}")));
        assert_token_error(&response, 400, "invalid_grant");
        assert!(!String::from_utf8_lossy(&response.body).contains("guess"));
    }
    // The 6th attempt is refused without reaching the verifier, even with the right password.
    let response = s.token(&password_request("legacy", "alice", "correct horse"));
    // Throttled, the status is still the code's (RFC 6749 §5.2): 400, with `Retry-After`.
    assert_token_error(&response, 400, "invalid_grant");
    assert!(response.header("retry-after").is_some());
    assert_eq!(users.seen.lock().unwrap().len(), 5);
    // Another user is not affected.
    let response = s.token(&password_request("legacy", "bob", "x"));
    assert_eq!(users.seen.lock().unwrap().len(), 6);
    assert_token_error(&response, 400, "invalid_grant");
    // The password never shows up in Debug output of the request or the secret.
    let request = password_request("legacy", "alice", "hunter2-secret");
    assert!(!format!("{request:?}").contains("hunter2"));
    // Passwords in the URL query are refused outright (TE-04).
    let request = post_form("grant_type=password&username=alice")
        .with_query("password=correct+horse")
        .with_header("authorization", basic("legacy", CONF_SECRET));
    assert_token_error(&s.token(&request), 400, "invalid_request");
}

#[test]
fn pw_04_enabling_the_grant_reports_a_deprecation_warning() {
    let s = server(Arc::default());
    let warnings = s.server.warnings();
    assert_eq!(warnings.len(), 1);
    assert!(warnings[0].contains("RFC 9700"));
}
