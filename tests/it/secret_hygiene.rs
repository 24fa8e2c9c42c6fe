//! Secret hygiene (issue 9; DESIGN decisions 5 and 13, ER-05, TE-10, PW-03): stores and
//! limiters only ever see digests, and no response or error carries a secret.
//!
//! A full run of every flow (client credentials, code + PKCE, refresh, device, password,
//! revocation, introspection, the bearer guard) goes through recording wrappers around the
//! memory stores and the limiters. Every argument they receive is written out field by
//! field (not through `Debug`, which could hide a raw value), and none may contain the text
//! of a secret that crossed the wire: client secrets, codes, verifiers, access and refresh
//! tokens, device codes, passwords. Every digest key they receive must be the digest of a
//! value the server issued or was presented.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use crate::support::harness::json as body;
use crate::support::harness::post_form as form;
use crate::support::hostile::*;
use async_trait::async_trait;
use grantflow::authorize::AuthorizeError;
use grantflow::clock::ManualClock;
use grantflow::device::EnteredUserCode;
use grantflow::limiter::{AttemptKey, AttemptLimiter, MemoryAttemptLimiter, Outcome, Throttle};
use grantflow::pkce::CodeChallenge;
use grantflow::secret::TokenHash;
use grantflow::store::{
    AuthorizationGrant, DeviceDecision, DeviceInsert, DevicePolling, DeviceRecord,
    DeviceRedemption, DeviceStore, GrantId, Insert, Redemption, RefreshLookup, Rotation,
    TokenRecord, TokenStore,
};
use grantflow::*;

/// What the stores and limiters were given.
#[derive(Debug, Default)]
struct Seen {
    /// Field-by-field dumps of every argument.
    text: Mutex<Vec<String>>,
    /// Every digest key.
    keys: Mutex<Vec<TokenHash>>,
}

impl Seen {
    fn text(&self, text: String) {
        self.text.lock().unwrap().push(text);
    }

    fn key(&self, key: &TokenHash) {
        self.keys.lock().unwrap().push(*key);
    }
}

fn token_record(r: &TokenRecord) -> String {
    format!(
        "token {:?} {} {} {} {:?} {:?}",
        r.kind,
        r.grant_id,
        r.client_id.as_str(),
        r.scope,
        r.subject.as_ref().map(Subject::as_str),
        r.audience
    )
}

fn device_record(r: &DeviceRecord) -> String {
    format!(
        "device {} {} {} {} {:?}",
        r.grant_id,
        r.client_id.as_str(),
        r.scope,
        r.user_code,
        r.state
    )
}

#[derive(Debug)]
struct RecordingTokens(Arc<Seen>, MemoryTokenStore);

#[async_trait]
impl TokenStore for RecordingTokens {
    async fn insert(&self, tokens: Vec<(TokenHash, TokenRecord)>) -> Result<Insert, StorageError> {
        for (key, record) in &tokens {
            self.0.key(key);
            self.0.text(token_record(record));
        }
        self.1.insert(tokens).await
    }

    async fn find(&self, token: &TokenHash) -> Result<Option<TokenRecord>, StorageError> {
        self.0.key(token);
        self.1.find(token).await
    }

    async fn revoke(&self, token: &TokenHash) -> Result<Option<TokenRecord>, StorageError> {
        self.0.key(token);
        self.1.revoke(token).await
    }

    async fn revoke_grant(
        &self,
        grant: &GrantId,
        until: SystemTime,
    ) -> Result<usize, StorageError> {
        self.0.text(format!("revoke_grant {grant}"));
        self.1.revoke_grant(grant, until).await
    }

    async fn find_refresh(&self, token: &TokenHash) -> Result<Option<RefreshLookup>, StorageError> {
        self.0.key(token);
        self.1.find_refresh(token).await
    }

    async fn rotate(
        &self,
        old: &TokenHash,
        now: SystemTime,
        successors: Vec<(TokenHash, TokenRecord)>,
    ) -> Result<Rotation, StorageError> {
        self.0.key(old);
        for (key, record) in &successors {
            self.0.key(key);
            self.0.text(token_record(record));
        }
        self.1.rotate(old, now, successors).await
    }
}

#[derive(Debug)]
struct RecordingCodes(Arc<Seen>, MemoryCodeStore);

#[async_trait]
impl CodeStore for RecordingCodes {
    async fn insert(&self, code: TokenHash, grant: AuthorizationGrant) -> Result<(), StorageError> {
        self.0.key(&code);
        self.0.text(format!(
            "code {} {} {:?} {:?} {} {} {}",
            grant.grant_id,
            grant.client_id.as_str(),
            grant.redirect_uri,
            grant.challenge.as_ref().map(CodeChallenge::as_str),
            grant.subject.as_str(),
            grant.scope,
            grant.issuer
        ));
        self.1.insert(code, grant).await
    }

    async fn redeem(&self, code: &TokenHash) -> Result<Redemption, StorageError> {
        self.0.key(code);
        self.1.redeem(code).await
    }
}

#[derive(Debug)]
struct RecordingDevices(Arc<Seen>, MemoryDeviceStore);

#[async_trait]
impl DeviceStore for RecordingDevices {
    async fn insert(
        &self,
        device_code: TokenHash,
        record: DeviceRecord,
    ) -> Result<DeviceInsert, StorageError> {
        self.0.key(&device_code);
        self.0.text(device_record(&record));
        self.1.insert(device_code, record).await
    }

    async fn find_by_user_code(
        &self,
        user_code: &str,
    ) -> Result<Option<(TokenHash, DeviceRecord)>, StorageError> {
        self.0.text(format!("find_by_user_code {user_code}"));
        self.1.find_by_user_code(user_code).await
    }

    async fn find(&self, device_code: &TokenHash) -> Result<Option<DeviceRecord>, StorageError> {
        self.0.key(device_code);
        self.1.find(device_code).await
    }

    async fn decide(
        &self,
        device_code: &TokenHash,
        decision: DeviceDecision,
        now: SystemTime,
    ) -> Result<bool, StorageError> {
        self.0.key(device_code);
        self.0.text(format!("decide {decision:?}"));
        self.1.decide(device_code, decision, now).await
    }

    async fn record_poll(
        &self,
        device_code: &TokenHash,
        client_id: &ClientId,
        seen: DevicePolling,
        next: DevicePolling,
    ) -> Result<bool, StorageError> {
        self.0.key(device_code);
        self.0.text(format!(
            "record_poll {} {seen:?} {next:?}",
            client_id.as_str()
        ));
        self.1.record_poll(device_code, client_id, seen, next).await
    }

    async fn redeem(
        &self,
        device_code: &TokenHash,
        client_id: &ClientId,
    ) -> Result<DeviceRedemption, StorageError> {
        self.0.key(device_code);
        self.0.text(format!("redeem {}", client_id.as_str()));
        self.1.redeem(device_code, client_id).await
    }
}

#[derive(Debug)]
struct RecordingLimiter(Arc<Seen>, MemoryAttemptLimiter);

#[async_trait]
impl AttemptLimiter for RecordingLimiter {
    async fn check(&self, key: &AttemptKey, now: SystemTime) -> Result<Throttle, StorageError> {
        self.0.text(format!("check {}", key.as_str()));
        self.1.check(key, now).await
    }

    async fn record(
        &self,
        key: &AttemptKey,
        outcome: Outcome,
        now: SystemTime,
    ) -> Result<Throttle, StorageError> {
        self.0.text(format!("record {} {outcome:?}", key.as_str()));
        self.1.record(key, outcome, now).await
    }
}

struct Recorded {
    server: Server,
    seen: Arc<Seen>,
    clock: ManualClock,
}

fn recorded() -> Recorded {
    let seen = Arc::new(Seen::default());
    let clock = ManualClock::new(t0());
    let limiter = || {
        Arc::new(RecordingLimiter(
            seen.clone(),
            MemoryAttemptLimiter::new(100, Duration::from_secs(60)),
        ))
    };
    let server = Server::builder(
        ISSUER,
        Arc::new(clients()),
        Arc::new(RecordingTokens(seen.clone(), MemoryTokenStore::new())),
    )
    .clock(Arc::new(clock.clone()))
    .code_store(Arc::new(RecordingCodes(
        seen.clone(),
        MemoryCodeStore::new(),
    )))
    .device_store(Arc::new(RecordingDevices(
        seen.clone(),
        MemoryDeviceStore::new(),
    )))
    .attempt_limiter(limiter())
    .user_code_limiter(limiter())
    .password_limiter(limiter())
    .password_grant(Arc::new(Users))
    .build()
    .unwrap();
    Recorded {
        server,
        seen,
        clock,
    }
}

fn basic(request: HttpRequest, id: &str, secret: &str) -> HttpRequest {
    use base64::Engine as _;
    let value = base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"));
    request.with_header("authorization", format!("Basic {value}"))
}

/// A password grant request of `conf` for alice with password `p`.
fn password(p: &str) -> HttpRequest {
    basic(
        form(format!("grant_type=password&username=alice&password={p}")),
        CONF.0,
        CONF.1,
    )
}

fn string(value: &serde_json::Value, name: &str) -> String {
    value[name]
        .as_str()
        .unwrap_or_else(|| panic!("no {name} in {value}"))
        .to_owned()
}

/// Every flow once, and a failure of each; returns every secret that crossed the wire.
fn every_flow(r: &Recorded) -> Vec<String> {
    let s = &r.server;
    let token = |request: &HttpRequest| block_on(s.token(request)).unwrap();
    let code_of = |redirect: &HttpResponse| {
        let location = url::Url::parse(redirect.header("location").unwrap()).unwrap();
        let code = location.query_pairs().find(|(n, _)| n == "code");
        code.unwrap().1.into_owned()
    };
    let mut secrets: Vec<String> = [CONF.1, POST.1, RS.1, VERIFIER, "correct horse"]
        .map(str::to_owned)
        .to_vec();
    // Client credentials, with Basic and with the secret in the body.
    let response = token(&basic(
        form("grant_type=client_credentials"),
        CONF.0,
        CONF.1,
    ));
    let cc = string(&body(&response), "access_token");
    let response = token(&form(format!(
        "grant_type=client_credentials&scope=read&client_id={}&client_secret={}",
        POST.0, POST.1
    )));
    assert_eq!(response.status, Status::OK);
    secrets.push(string(&body(&response), "access_token"));
    // Code + PKCE.
    let authorize = HttpRequest::new(Method::Get).with_query(format!(
        "response_type=code&client_id={SPA}&redirect_uri=http%3A%2F%2F127.0.0.1%3A5000%2Fcb\
         &state=xyz&code_challenge={CHALLENGE}&code_challenge_method=S256"
    ));
    let pending = block_on(s.authorize(&authorize)).unwrap();
    let granted = pending.requested_scope().clone();
    let redirect = block_on(pending.approve(Subject::new("alice"), granted)).unwrap();
    let code = code_of(&redirect);
    let exchange = format!(
        "grant_type=authorization_code&code={code}&code_verifier={VERIFIER}\
         &client_id={SPA}&redirect_uri=http%3A%2F%2F127.0.0.1%3A5000%2Fcb"
    );
    let tokens = body(&token(&form(&exchange)));
    let (access, refresh) = (
        string(&tokens, "access_token"),
        string(&tokens, "refresh_token"),
    );
    // The replay (AC-02), a refresh, and a reuse of the rotated-out refresh token (RT-06).
    token(&form(&exchange));
    let authorize = block_on(s.authorize(&authorize)).unwrap();
    let redirect =
        block_on(authorize.approve(Subject::new("alice"), Scope::parse("read").unwrap())).unwrap();
    let code2 = code_of(&redirect);
    let tokens2 = body(&token(&form(format!(
        "grant_type=authorization_code&code={code2}&code_verifier={VERIFIER}\
         &client_id={SPA}&redirect_uri=http%3A%2F%2F127.0.0.1%3A5000%2Fcb"
    ))));
    let refresh2 = string(&tokens2, "refresh_token");
    let rotated = body(&token(&form(format!(
        "grant_type=refresh_token&refresh_token={refresh2}&client_id={SPA}"
    ))));
    let (access3, refresh3) = (
        string(&rotated, "access_token"),
        string(&rotated, "refresh_token"),
    );
    token(&form(format!(
        "grant_type=refresh_token&refresh_token={refresh2}&client_id={SPA}"
    )));
    // Device grant: request, verification, approval, polls, replay.
    let device = body(
        &block_on(s.device_authorization(&form(format!("client_id={SPA}&scope=read")))).unwrap(),
    );
    let device_code = string(&device, "device_code");
    let user_code = string(&device, "user_code");
    let poll = form(format!(
        "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code\
         &device_code={device_code}&client_id={SPA}"
    ));
    token(&poll);
    let verifier = s.device_verifier().unwrap();
    let verify = |code| block_on(verifier.verify(EnteredUserCode::new(code), "session:1"));
    assert!(verify("BBBB-BBBB").is_err());
    let pending = verify(&user_code).unwrap();
    block_on(pending.approve(Subject::new("alice"), Scope::parse("read").unwrap())).unwrap();
    r.clock.advance(Duration::from_secs(10));
    let device_tokens = body(&token(&poll));
    let device_access = string(&device_tokens, "access_token");
    token(&poll);
    // Password grant: a wrong and a right password.
    token(&password("wrong-password-Xq"));
    let password_tokens = body(&token(&password("correct+horse")));
    secrets.push("wrong-password-Xq".to_owned());
    // Wrong client secrets, Basic and body.
    token(&basic(
        form("grant_type=client_credentials"),
        CONF.0,
        "wrong-secret-Basic",
    ));
    token(&form(format!(
        "grant_type=client_credentials&client_id={}&client_secret=wrong-secret-Body",
        POST.0
    )));
    secrets.extend(["wrong-secret-Basic", "wrong-secret-Body"].map(str::to_owned));
    // Introspection, the bearer guard, revocation.
    let introspect = |token: &str| basic(form(format!("token={token}")), RS.0, RS.1);
    block_on(s.introspect(&introspect(&cc))).unwrap();
    block_on(s.introspect(&introspect("unknown-token-Qz"))).unwrap();
    let bearer = HttpRequest::new(Method::Get).with_header(
        "authorization",
        format!("Bearer {}", string(&password_tokens, "access_token")),
    );
    assert!(block_on(s.bearer_guard().check(&bearer, &Scope::empty())).is_ok());
    let revoke = |token: &str| form(format!("token={token}&client_id={SPA}"));
    block_on(s.revoke(&revoke(&refresh3))).unwrap();
    block_on(s.revoke(&revoke("unknown-token-Qz"))).unwrap();
    secrets.extend([
        cc,
        code,
        code2,
        access,
        refresh,
        refresh2,
        access3,
        refresh3,
        device_code,
        device_access,
        string(&device_tokens, "refresh_token"),
        string(&tokens2, "access_token"),
        string(&password_tokens, "access_token"),
        string(&password_tokens, "refresh_token"),
        "unknown-token-Qz".to_owned(),
    ]);
    secrets
}

#[test]
fn stores_and_limiters_only_ever_see_digests() {
    let r = recorded();
    let secrets = every_flow(&r);
    let text = r.seen.text.lock().unwrap();
    assert!(
        text.len() > 30,
        "the flows reached the stores: {}",
        text.len()
    );
    for line in text.iter() {
        for secret in &secrets {
            assert!(
                !line.contains(secret.as_str()),
                "{secret:?} reached a store: {line}"
            );
        }
    }
    // Every key is the digest of something that crossed the wire (an issued or presented
    // value), never anything else.
    let digests: Vec<TokenHash> = secrets.iter().map(|s| TokenHash::of(s)).collect();
    let keys = r.seen.keys.lock().unwrap();
    assert!(keys.len() > 20, "{}", keys.len());
    for key in keys.iter() {
        assert!(
            digests.contains(key),
            "a key that is no digest of a wire value: {key:?}"
        );
    }
}

/// ER-05, TE-10, PW-03: no refusal of any endpoint carries a presented secret, in its body,
/// its headers or its `Debug`; neither do the errors of the authorization and device
/// verification steps.
#[test]
fn er_05_no_response_or_error_carries_a_presented_secret() {
    let r = recorded();
    let s = &r.server;
    let secret = "presented-secret-Zk41";
    let positions = [
        "client_secret",
        "code",
        "code_verifier",
        "refresh_token",
        "password",
        "device_code",
        "token",
        "access_token",
        "client_assertion",
        "username",
        "scope",
        "state",
    ];
    let mut responses = Vec::new();
    for name in positions {
        for grant in [
            "client_credentials",
            "authorization_code",
            "refresh_token",
            "password",
            "urn:ietf:params:oauth:grant-type:device_code",
        ] {
            let body = format!("grant_type={grant}&{name}={secret}&client_id={SPA}");
            responses.push(block_on(s.token(&form(&body))).unwrap());
            responses.push(block_on(s.token(&basic(form(&body), CONF.0, secret))).unwrap());
            // Repeated, and in the query (TE-04).
            let repeated = format!("{body}&{name}={secret}");
            responses.push(block_on(s.token(&form(&repeated))).unwrap());
            responses.push(
                block_on(s.token(
                    &form("grant_type=client_credentials").with_query(format!("{name}={secret}")),
                ))
                .unwrap(),
            );
        }
        let body = format!("{name}={secret}&client_id={SPA}");
        responses.push(block_on(s.revoke(&form(&body))).unwrap());
        responses.push(block_on(s.introspect(&basic(form(&body), RS.0, secret))).unwrap());
        responses.push(block_on(s.device_authorization(&form(&body))).unwrap());
        let guard = s.bearer_guard().form_body_tokens(true);
        let request = form(format!("{name}={secret}"))
            .with_header("authorization", format!("Bearer {secret}"));
        responses.push(
            block_on(guard.check(&request, &Scope::empty()))
                .unwrap_err()
                .into_response(),
        );
        let query = format!(
            "response_type=code&client_id={SPA}&{name}={secret}&redirect_uri=https%3A%2F%2Fspa.example%2Fcb%3Ftenant%3Da"
        );
        match block_on(s.authorize(&HttpRequest::new(Method::Get).with_query(query))) {
            Err(AuthorizeError::Redirect(error)) => {
                let shown = format!("{error:?} {}", error.error());
                assert!(!shown.contains(secret), "{shown}");
                let response = error.into_response();
                // A secret sent as `state` is the client's own value, echoed by design.
                if name != "state" {
                    responses.push(response);
                }
            }
            Err(error) => {
                let shown = format!("{error:?} {error}");
                assert!(!shown.contains(secret), "{shown}");
            }
            Ok(pending) => assert!(!format!("{pending:?}").contains(secret) || name == "state"),
        }
    }
    let verifier = s.device_verifier().unwrap();
    let error = block_on(verifier.verify(EnteredUserCode::new(secret), secret)).unwrap_err();
    assert!(!format!("{error:?} {error}").contains(secret));
    assert!(responses.len() > 100);
    for response in &responses {
        let text = String::from_utf8_lossy(&response.body);
        assert!(!text.contains(secret), "{text}");
        for header in &response.headers {
            assert!(
                !header.value.contains(secret),
                "{}: {}",
                header.name,
                header.value
            );
        }
        assert!(!format!("{response:?}").contains(secret));
    }
}

/// A server with the password grant and the default guards.
fn default_guards() -> Server {
    let tokens = Arc::new(MemoryTokenStore::new());
    let builder = Server::builder(ISSUER, Arc::new(clients()), tokens);
    let builder = builder.clock(Arc::new(ManualClock::new(t0())));
    builder.password_grant(Arc::new(Users)).build().unwrap()
}

/// TE-10 and PW-03 with the **default** guards: no limiter is configured, and guessing a
/// client secret or a password is throttled all the same.
#[test]
fn te_10_pw_03_default_guards_throttle_secret_and_password_guessing() {
    let server = default_guards();
    // TE-10: 100 wrong secrets in a minute are throttled (the checklist's test), and
    // then the right one is refused too.
    let mut statuses = Vec::new();
    for n in 0..100 {
        let request = basic(
            form("grant_type=client_credentials"),
            CONF.0,
            &format!("guess-{n}"),
        );
        let response = block_on(server.token(&request)).unwrap();
        // A throttled Basic attempt is still 401 with the challenge (RFC 6749 §5.2),
        // told apart by `Retry-After`.
        assert_eq!(response.status.as_u16(), 401);
        statuses.push(response.header("retry-after").is_some());
    }
    let verified = statuses.iter().filter(|throttled| !**throttled).count();
    assert!(verified <= 10, "{verified} guesses were checked");
    let right = basic(form("grant_type=client_credentials"), CONF.0, CONF.1);
    let response = block_on(server.token(&right)).unwrap();
    assert_eq!(response.status.as_u16(), 401);
    assert!(response.header("retry-after").is_some());
    // PW-03: 20 wrong passwords for one user are throttled (the checklist's test), then
    // the right password is refused too. A fresh server: `conf` itself is throttled above.
    let server = default_guards();
    let mut statuses = Vec::new();
    for n in 0..20 {
        let response = block_on(server.token(&password(&format!("guess-{n}")))).unwrap();
        // Throttled or not, `invalid_grant` is 400 (RFC 6749 §5.2); `Retry-After` tells.
        assert_eq!(response.status.as_u16(), 400);
        statuses.push(response.header("retry-after").is_some());
    }
    let checked = statuses.iter().filter(|throttled| !**throttled).count();
    assert!(
        checked <= 5,
        "{checked} password guesses were checked: {statuses:?}"
    );
    let response = block_on(server.token(&password("correct+horse"))).unwrap();
    assert_eq!(response.status.as_u16(), 400);
    assert!(response.header("retry-after").is_some());
    // Another user is unaffected.
    let bob = basic(
        form("grant_type=password&username=bob&password=x"),
        CONF.0,
        CONF.1,
    );
    assert_eq!(block_on(server.token(&bob)).unwrap().status.as_u16(), 400);
}
