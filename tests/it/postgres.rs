//! The PostgreSQL stores against a real server: the conformance suite, two `Server`
//! instances over one database (AC-04, RT-05, DG-11 across instances), restarts, and storage
//! faults mapped to `server_error` / `temporarily_unavailable` with nothing half-written.
//!
//! Needs `--features postgres,testing` and `DATABASE_URL` (an empty database, or one
//! migrated by grantflow). Without `DATABASE_URL` every test says that it did not run; the
//! connection-refused test needs no server and always runs.

#[cfg(all(feature = "postgres", feature = "testing"))]
pub(crate) mod pg {
    use std::io::Write as _;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::{Duration, SystemTime};

    use async_trait::async_trait;

    use grantflow::device::EnteredUserCode;
    use grantflow::limiter::AttemptLimiter as _;
    use grantflow::limiter::{AttemptKey, Outcome, Throttle};
    use grantflow::postgres::PgStores;
    use grantflow::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
    use grantflow::secret::TokenHash;
    use grantflow::store::{
        AuthorizationGrant, DeviceDecision, DeviceInsert, DevicePolling, DeviceRecord,
        DeviceRedemption, DeviceStore, Redemption,
    };
    use grantflow::testing::Conformance;
    use grantflow::{
        Client, ClientId, ClientSecret, ClientType, CodeStore, Error, GrantType, HttpRequest,
        HttpResponse, Method, Scope, Server, Status, StorageError, Subject,
    };
    use serde_json::Value;

    use crate::support::harness::basic_header as basic;
    use crate::support::harness::post_form as form;
    use crate::support::harness::{CHALLENGE, ISSUER, VERIFIER, json};
    use crate::support::race::race_async;

    const RS_SECRET: &str = "resource-server-secret";
    const CC_SECRET: &str = "backend-secret";
    /// The attempt limiters' window in these tests.
    const LIMITER_WINDOW: Duration = Duration::from_secs(60);
    /// Concurrent requests per race, split over the two instances.
    const RACE: usize = 64;

    /// Writes past the test harness's output capture, so the line shows in `cargo test`.
    fn say(line: &str) {
        let _ = writeln!(std::io::stderr().lock(), "{line}");
    }

    /// `DATABASE_URL`, or `None` after saying that `test` did not run.
    pub(crate) fn database_url(test: &str) -> Option<String> {
        match std::env::var("DATABASE_URL") {
            Ok(url) if !url.is_empty() => Some(url),
            _ => {
                say(&format!(
                    "postgres: {test} did not run: DATABASE_URL is not set (see the README)"
                ));
                None
            }
        }
    }

    /// A migrated pool of its own: one per instance.
    pub(crate) async fn pool(url: &str) -> PgPool {
        let pool = PgPoolOptions::new()
            .max_connections(8)
            .connect(url)
            .await
            .expect("DATABASE_URL reachable");
        PgStores::migrate(&pool).await.expect("migrations apply");
        pool
    }

    /// The clients of one test, with ids of their own so tests and runs never collide.
    struct Clients {
        app: String,
        tv: String,
        rs: String,
        backend: String,
    }

    impl Clients {
        fn new() -> Self {
            let tag = TokenHash::of(&format!("{:?}", std::time::SystemTime::now())).to_hex();
            let id = |name: &str| format!("{name}-{}", &tag[..12]);
            Self {
                app: id("app"),
                tv: id("tv"),
                rs: id("rs"),
                backend: id("backend"),
            }
        }

        async fn register(&self, stores: &PgStores) {
            let registry = stores.clients();
            let clients = [
                Client::builder(&self.app, ClientType::Public)
                    .redirect_uri("http://127.0.0.1/cb")
                    .grant_type(GrantType::AUTHORIZATION_CODE)
                    .grant_type(GrantType::REFRESH_TOKEN)
                    .allowed_scope("read write")
                    .build(),
                Client::builder(&self.tv, ClientType::Public)
                    .grant_type(GrantType::DEVICE_CODE)
                    .grant_type(GrantType::REFRESH_TOKEN)
                    .allowed_scope("profile")
                    .default_scope("profile")
                    .build(),
                Client::builder(&self.rs, ClientType::Confidential)
                    .secret(&ClientSecret::from_presented(RS_SECRET.to_owned()))
                    .grant_type(GrantType::CLIENT_CREDENTIALS)
                    .introspection(true)
                    .build(),
                Client::builder(&self.backend, ClientType::Confidential)
                    .secret(&ClientSecret::from_presented(CC_SECRET.to_owned()))
                    .grant_type(GrantType::CLIENT_CREDENTIALS)
                    .allowed_scope("read")
                    .default_scope("read")
                    .build(),
            ];
            for client in clients {
                registry
                    .insert(&client.expect("fixture client"))
                    .await
                    .expect("registered");
            }
        }
    }

    /// One instance: a `Server` over its own pool.
    fn server(stores: &PgStores) -> Server {
        counted_server(stores, &Winners::default())
    }

    /// How many redemptions won at the store, over every instance that shares it.
    #[derive(Debug, Default, Clone)]
    struct Winners {
        codes: Arc<AtomicUsize>,
        devices: Arc<AtomicUsize>,
    }

    /// A code store that counts winning redemptions.
    #[derive(Debug)]
    struct CountedCodes(Arc<dyn CodeStore>, Arc<AtomicUsize>);

    #[async_trait]
    impl CodeStore for CountedCodes {
        async fn insert(
            &self,
            code: TokenHash,
            grant: AuthorizationGrant,
        ) -> Result<(), StorageError> {
            self.0.insert(code, grant).await
        }
        async fn redeem(&self, code: &TokenHash) -> Result<Redemption, StorageError> {
            let outcome = self.0.redeem(code).await?;
            if matches!(outcome, Redemption::Redeemed(_)) {
                self.1.fetch_add(1, Ordering::SeqCst);
            }
            Ok(outcome)
        }
    }

    /// A device store that counts winning redemptions.
    #[derive(Debug)]
    struct CountedDevices(Arc<dyn DeviceStore>, Arc<AtomicUsize>);

    #[async_trait]
    impl DeviceStore for CountedDevices {
        async fn insert(
            &self,
            code: TokenHash,
            record: DeviceRecord,
        ) -> Result<DeviceInsert, StorageError> {
            self.0.insert(code, record).await
        }
        async fn find_by_user_code(
            &self,
            code: &str,
        ) -> Result<Option<(TokenHash, DeviceRecord)>, StorageError> {
            self.0.find_by_user_code(code).await
        }
        async fn find(&self, code: &TokenHash) -> Result<Option<DeviceRecord>, StorageError> {
            self.0.find(code).await
        }
        async fn decide(
            &self,
            code: &TokenHash,
            decision: DeviceDecision,
            now: SystemTime,
        ) -> Result<bool, StorageError> {
            self.0.decide(code, decision, now).await
        }
        async fn record_poll(
            &self,
            code: &TokenHash,
            client: &ClientId,
            seen: DevicePolling,
            next: DevicePolling,
        ) -> Result<bool, StorageError> {
            self.0.record_poll(code, client, seen, next).await
        }
        async fn redeem(
            &self,
            code: &TokenHash,
            client: &ClientId,
        ) -> Result<DeviceRedemption, StorageError> {
            let outcome = self.0.redeem(code, client).await?;
            if matches!(outcome, DeviceRedemption::Redeemed(_)) {
                self.1.fetch_add(1, Ordering::SeqCst);
            }
            Ok(outcome)
        }
    }

    /// An instance whose winning redemptions are counted in `winners`.
    fn counted_server(stores: &PgStores, winners: &Winners) -> Server {
        Server::builder(ISSUER, stores.clients(), stores.tokens())
            .code_store(Arc::new(CountedCodes(
                stores.codes(),
                winners.codes.clone(),
            )))
            .device_store(Arc::new(CountedDevices(
                stores.devices(),
                winners.devices.clone(),
            )))
            .build()
            .expect("server config")
    }

    fn field(response: &HttpResponse, name: &str) -> String {
        json(response)[name]
            .as_str()
            .unwrap_or_else(|| panic!("no {name} in {response:?}"))
            .to_owned()
    }

    /// A fresh authorization code for the app, issued by `server`.
    async fn code(server: &Server, clients: &Clients) -> String {
        let query = format!(
            "response_type=code&client_id={}&scope=read&redirect_uri=http%3A%2F%2F127.0.0.1%3A4000%2Fcb\
             &code_challenge={CHALLENGE}&code_challenge_method=S256&state=s",
            clients.app
        );
        let pending = server
            .authorize(&HttpRequest::new(Method::Get).with_query(query))
            .await
            .expect("valid authorization request");
        let response = pending
            .approve(Subject::new("alice"), Scope::parse("read").expect("scope"))
            .await
            .expect("approved");
        let location = url::Url::parse(response.header("location").expect("redirect"))
            .expect("absolute redirect");
        location
            .query_pairs()
            .find(|(k, _)| k == "code")
            .map(|(_, v)| v.into_owned())
            .expect("code in the redirect")
    }

    fn exchange(clients: &Clients, code: &str) -> HttpRequest {
        form(format!(
            "grant_type=authorization_code&code={code}&client_id={}\
             &redirect_uri=http%3A%2F%2F127.0.0.1%3A4000%2Fcb&code_verifier={VERIFIER}",
            clients.app
        ))
    }

    fn refresh(clients: &Clients, token: &str) -> HttpRequest {
        form(format!(
            "grant_type=refresh_token&refresh_token={token}&client_id={}",
            clients.app
        ))
    }

    fn device_poll(clients: &Clients, device_code: &str) -> HttpRequest {
        form(format!(
            "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code\
             &device_code={device_code}&client_id={}",
            clients.tv
        ))
    }

    /// Starts a device request of `tv` at `server`: (device code, user code).
    async fn start_device(server: &Server, clients: &Clients) -> (String, String) {
        let started = server
            .device_authorization(&form(format!("client_id={}", clients.tv)))
            .await
            .expect("device authorization");
        assert_eq!(started.status, Status::OK, "{started:?}");
        (field(&started, "device_code"), field(&started, "user_code"))
    }

    /// Approves `user_code` at `server` for alice.
    async fn approve_device(server: &Server, user_code: &str) {
        let verifier = server.device_verifier().expect("the device grant is on");
        let pending = verifier.verify(EnteredUserCode::new(user_code), "session:alice");
        let scope = Scope::parse("profile").expect("scope");
        let approval = pending
            .await
            .expect("pending request")
            .approve(Subject::new("alice"), scope);
        approval.await.expect("approved");
    }

    /// Whether `token` introspects as active at `server`.
    async fn is_active(server: &Server, clients: &Clients, token: &str) -> bool {
        let request = form(format!("token={token}"))
            .with_header("authorization", basic(&clients.rs, RS_SECRET));
        let response = server.introspect(&request).await.expect("introspection");
        assert_eq!(response.status, Status::OK, "{response:?}");
        json(&response)["active"] == Value::Bool(true)
    }

    /// Sends `request(i)` to instance `i % 2`, all at once, and returns the responses.
    async fn split_race(
        servers: [&Server; 2],
        request: impl Fn(usize) -> HttpRequest,
    ) -> Vec<HttpResponse> {
        race_async(RACE, |i| {
            let (server, request) = (servers[i % 2].clone(), request(i));
            async move { server.token(&request).await.expect("no storage fault") }
        })
        .await
    }

    /// At most one 200 (returned); every other response a 400 whose error is one of
    /// `losers`.
    fn at_most_one_success(responses: &[HttpResponse], losers: &[&str]) -> Option<HttpResponse> {
        let successes: Vec<_> = responses
            .iter()
            .filter(|r| r.status == Status::OK)
            .collect();
        assert!(
            successes.len() <= 1,
            "{} successes of {RACE}",
            successes.len()
        );
        for response in responses.iter().filter(|r| r.status != Status::OK) {
            assert_eq!(response.status, Status::BAD_REQUEST, "{response:?}");
            let error = field(response, "error");
            assert!(losers.contains(&error.as_str()), "unexpected error {error}");
        }
        successes.first().map(|r| (*r).clone())
    }

    /// Two instances: separate pools over one database, one set of clients, winning
    /// redemptions counted over both.
    async fn two_instances(url: &str) -> (Server, Server, Clients, Winners) {
        let (a, b) = (
            PgStores::new(pool(url).await),
            PgStores::new(pool(url).await),
        );
        let clients = Clients::new();
        clients.register(&a).await;
        let winners = Winners::default();
        (
            counted_server(&a, &winners),
            counted_server(&b, &winners),
            clients,
            winners,
        )
    }

    /// The conformance suite, with each store given as two handles with separate pools
    /// (two instances): every check and race passes.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn ac_04_rt_05_dg_11_te_10_ca_05_postgres_stores_pass_the_conformance_suite() {
        let Some(url) = database_url("the conformance suite") else {
            return;
        };
        let (a, b) = (
            PgStores::new(pool(&url).await),
            PgStores::new(pool(&url).await),
        );
        let report = Conformance::new()
            .token_store(a.tokens())
            .token_store(b.tokens())
            .code_store(a.codes())
            .code_store(b.codes())
            .single_use_store(a.single_use())
            .single_use_store(b.single_use())
            .pushed_request_store(a.pushed_requests())
            .pushed_request_store(b.pushed_requests())
            .device_store(a.devices())
            .device_store(b.devices())
            .client_registry(a.clients())
            .client_registry(b.clients())
            .registration_store(a.clients())
            .registration_store(b.clients())
            .attempt_limiter(a.attempt_limiter(10, LIMITER_WINDOW), 10, LIMITER_WINDOW)
            .attempt_limiter(b.attempt_limiter(10, LIMITER_WINDOW), 10, LIMITER_WINDOW);
        #[cfg(feature = "jwt")]
        let report = report
            .key_set_store(a.key_sets())
            .key_set_store(b.key_sets());
        let report = report
            .run()
            .await
            .unwrap_or_else(|failures| panic!("{failures}"));
        assert!(report.skipped.is_empty(), "skipped: {:?}", report.skipped);
    }

    /// AC-04 across instances: 64 concurrent redemptions of one code, split over two
    /// instances, give exactly one winning redemption, never two token responses, and
    /// (AC-02) once the replays ran no token of the grant is live. The winner's tokens may
    /// be refused outright: its losers are replays, and a replay that revokes while the
    /// winner is between redeeming and storing wins (the tombstone of AC-02).
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn ac_04_concurrent_code_redemptions_across_instances_give_one_success() {
        let Some(url) = database_url("the code redemption race") else {
            return;
        };
        let (a, b, clients, winners) = two_instances(&url).await;
        let code = code(&a, &clients).await;
        let responses = split_race([&a, &b], |_| exchange(&clients, &code)).await;
        assert_eq!(
            winners.codes.load(Ordering::SeqCst),
            1,
            "winning redemptions"
        );
        if let Some(winner) = at_most_one_success(&responses, &["invalid_grant"]) {
            let access = field(&winner, "access_token");
            assert!(
                !is_active(&b, &clients, &access).await,
                "AC-02: a replay revokes"
            );
        }
    }

    /// RT-05 across instances: 64 concurrent refreshes with one refresh token give exactly
    /// one success; the rest are reuse (RT-06), which revokes the grant.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn rt_05_concurrent_refresh_rotations_across_instances_give_one_success() {
        let Some(url) = database_url("the refresh rotation race") else {
            return;
        };
        let (a, b, clients, _) = two_instances(&url).await;
        let code = code(&b, &clients).await;
        let tokens = a.token(&exchange(&clients, &code)).await.expect("exchange");
        let refresh_token = field(&tokens, "refresh_token");
        let responses = split_race([&a, &b], |_| refresh(&clients, &refresh_token)).await;
        // Losers learn of the rotation only from the winner's committed marker, so their
        // revocation comes after the winner stored its tokens: exactly one 200.
        let winner = at_most_one_success(&responses, &["invalid_grant"]).expect("one success");
        let access = field(&winner, "access_token");
        assert!(
            !is_active(&a, &clients, &access).await,
            "RT-06: reuse revokes"
        );
    }

    /// DG-11 across instances: a device request made at one instance and approved at the
    /// other; 64 concurrent polls over both give exactly one winning redemption and never
    /// two token responses (as for codes, a replay may revoke the winner's tokens).
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn dg_11_concurrent_device_redemptions_across_instances_give_one_success() {
        let Some(url) = database_url("the device code race") else {
            return;
        };
        let (a, b, clients, winners) = two_instances(&url).await;
        let (device_code, user_code) = start_device(&a, &clients).await;
        approve_device(&b, &user_code).await;
        let responses = split_race([&a, &b], |_| device_poll(&clients, &device_code)).await;
        assert_eq!(
            winners.devices.load(Ordering::SeqCst),
            1,
            "winning redemptions"
        );
        if let Some(winner) = at_most_one_success(&responses, &["invalid_grant", "slow_down"]) {
            let access = field(&winner, "access_token");
            let replay = b
                .token(&device_poll(&clients, &device_code))
                .await
                .expect("poll");
            assert_eq!(field(&replay, "error"), "invalid_grant");
            assert!(
                !is_active(&a, &clients, &access).await,
                "DG-11: a replay revokes"
            );
        }
    }

    /// A token issued by one instance is introspected by the other, revoked there, and
    /// then inactive at the first.
    /// CA-05 across instances: 64 concurrent token requests with one `private_key_jwt`
    /// assertion, split over two servers sharing one PostgreSQL single-use store (each with
    /// its own pool), give exactly one token.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn ca_05_64_concurrent_copies_of_one_assertion_across_instances_give_one_token() {
        use crate::client_assertion::{Keys, clients, es256, good_claims, replay_race};
        let Some(url) = database_url("the client assertion replay race") else {
            return;
        };
        let keys = Keys::new();
        let registry = Arc::new(crate::support::harness::register(clients(&keys)));
        let mut servers = Vec::new();
        for _ in 0..2 {
            let stores = PgStores::new(pool(&url).await);
            servers.push(
                Server::builder(ISSUER, registry.clone(), stores.tokens())
                    .single_use_store(stores.single_use())
                    .private_key_jwt(true)
                    .build()
                    .unwrap(),
            );
        }
        let assertion = es256(&keys.es256, &good_claims("pkj-client", SystemTime::now()));
        assert_eq!(replay_race(&servers, &assertion, RACE).await, (1, RACE - 1));
    }

    /// JR-04, JR-12: the PostgreSQL registry keeps a client's request object algorithm and
    /// its signed-request-objects-only flag (schema version 11).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn jr_12_the_registry_keeps_the_request_object_settings() {
        use grantflow::ClientRegistry as _;
        use grantflow::jose::{Algorithm, JwkSet};
        let Some(url) = database_url("the request object settings round trip") else {
            return;
        };
        PgStores::migrate(&pool(&url).await)
            .await
            .expect("migrated");
        let stores = PgStores::new(pool(&url).await);
        let keys = crate::client_assertion::Keys::new();
        let jwks = JwkSet::from_keys([keys.es256.public_key().clone()]).unwrap();
        let strict = format!("jar-strict-{}", rand::random::<u64>());
        let plain = format!("jar-plain-{}", rand::random::<u64>());
        let builder = |id: &str| {
            Client::builder(id, ClientType::Public)
                .redirect_uri("https://jar.example.com/cb")
                .grant_type(GrantType::AUTHORIZATION_CODE)
                .allowed_scope("read")
                .jwks(jwks.clone())
        };
        let registry = stores.clients();
        let strict_client = builder(&strict)
            .request_object_signing_alg(Algorithm::Es256)
            .require_signed_request_object(true)
            .build()
            .unwrap();
        registry.insert(&strict_client).await.expect("registered");
        registry
            .insert(&builder(&plain).build().unwrap())
            .await
            .expect("registered");
        let found = |id: String| {
            let registry = registry.clone();
            async move {
                registry
                    .find(&grantflow::ClientId::new(&id).unwrap())
                    .await
                    .expect("found")
                    .expect("registered")
            }
        };
        let strict = found(strict).await;
        assert_eq!(strict.request_object_signing_alg(), Some(Algorithm::Es256));
        assert!(strict.requires_signed_request_object());
        let plain = found(plain).await;
        assert_eq!(plain.request_object_signing_alg(), None);
        assert!(!plain.requires_signed_request_object());
    }

    /// EX-02 across instances: a request pushed at one instance is loaded at both, the
    /// PostgreSQL client registry keeps the client's pushed-requests-only flag, and of 64
    /// concurrent approvals split over the two instances exactly one gets a code.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn ex_02_a_pushed_request_is_used_once_across_instances() {
        let Some(url) = database_url("the pushed request race") else {
            return;
        };
        let (a, b) = (
            PgStores::new(pool(&url).await),
            PgStores::new(pool(&url).await),
        );
        PgStores::migrate(&pool(&url).await)
            .await
            .expect("migrated");
        let client = format!("par-app-{}", rand::random::<u64>());
        a.clients()
            .insert(
                &Client::builder(&client, ClientType::Public)
                    .redirect_uri("https://par.example.com/cb")
                    .grant_type(GrantType::AUTHORIZATION_CODE)
                    .allowed_scope("read")
                    .require_pushed_authorization_requests(true)
                    .build()
                    .expect("client"),
            )
            .await
            .expect("registered");
        let instance = |stores: &PgStores| {
            Server::builder(ISSUER, stores.clients(), stores.tokens())
                .code_store(stores.codes())
                .pushed_authorization(stores.pushed_requests())
                .build()
                .expect("server config")
        };
        let servers = [instance(&a), instance(&b)];
        let plain = format!(
            "response_type=code&client_id={client}&scope=read&code_challenge={CHALLENGE}\
             &code_challenge_method=S256"
        );
        let refused = servers[1]
            .authorize(&HttpRequest::new(Method::Get).with_query(plain.clone()))
            .await;
        assert!(
            matches!(
                refused,
                Err(grantflow::authorize::AuthorizeError::Redirect(_))
            ),
            "the registry kept require_pushed_authorization_requests: {refused:?}"
        );
        let pushed = servers[0]
            .pushed_authorization(&form(plain))
            .await
            .expect("pushed");
        assert_eq!(pushed.status.as_u16(), 201, "{pushed:?}");
        let uri = field(&pushed, "request_uri");
        let query = format!(
            "client_id={client}&request_uri={}",
            url::form_urlencoded::byte_serialize(uri.as_bytes()).collect::<String>()
        );
        let mut pendings = Vec::new();
        for i in 0..RACE {
            let request = HttpRequest::new(Method::Get).with_query(query.clone());
            let pending = servers[i % 2].authorize(&request).await.expect("loaded");
            pendings.push(std::sync::Mutex::new(Some(pending)));
        }
        let pendings = Arc::new(pendings);
        let outcomes = race_async(RACE, |i| {
            let pendings = Arc::clone(&pendings);
            async move {
                let pending = pendings[i].lock().unwrap().take().unwrap();
                pending
                    .approve(Subject::new("alice"), Scope::parse("read").unwrap())
                    .await
                    .is_ok()
            }
        })
        .await;
        assert_eq!(outcomes.iter().filter(|ok| **ok).count(), 1);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_token_from_one_instance_is_introspected_and_revoked_at_the_other() {
        let Some(url) = database_url("the cross-instance introspection test") else {
            return;
        };
        let (a, b, clients, _) = two_instances(&url).await;
        let backend = |body: String| {
            form(body).with_header("authorization", basic(&clients.backend, CC_SECRET))
        };
        let issued = a
            .token(&backend("grant_type=client_credentials".to_owned()))
            .await
            .expect("client credentials");
        let token = field(&issued, "access_token");
        assert!(is_active(&b, &clients, &token).await);
        let revoked = b.revoke(&backend(format!("token={token}"))).await;
        let revoked = revoked.expect("revocation");
        assert_eq!(revoked.status, Status::OK, "{revoked:?}");
        assert!(!is_active(&a, &clients, &token).await);
    }

    /// Stopping both instances (pools closed) and starting new ones loses nothing: an
    /// unredeemed code, a refresh token, an access token and an approved device request
    /// all work at the new instances.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn recreated_instances_lose_nothing() {
        let Some(url) = database_url("the restart test") else {
            return;
        };
        let clients = Clients::new();
        let (code, refresh_token, access, device_code) = {
            let (pool_a, pool_b) = (pool(&url).await, pool(&url).await);
            let (stores_a, stores_b) =
                (PgStores::new(pool_a.clone()), PgStores::new(pool_b.clone()));
            clients.register(&stores_a).await;
            let (a, b) = (server(&stores_a), server(&stores_b));
            let pending_code = code(&a, &clients).await;
            let tokens = b
                .token(&exchange(&clients, &code(&a, &clients).await))
                .await
                .expect("exchange");
            let (device_code, user_code) = start_device(&a, &clients).await;
            approve_device(&b, &user_code).await;
            pool_a.close().await;
            pool_b.close().await;
            (
                pending_code,
                field(&tokens, "refresh_token"),
                field(&tokens, "access_token"),
                device_code,
            )
        };
        let (a, b) = (
            server(&PgStores::new(pool(&url).await)),
            server(&PgStores::new(pool(&url).await)),
        );
        assert!(is_active(&a, &clients, &access).await);
        let exchanged = b.token(&exchange(&clients, &code)).await.expect("exchange");
        assert_eq!(exchanged.status, Status::OK, "{exchanged:?}");
        let refreshed = a
            .token(&refresh(&clients, &refresh_token))
            .await
            .expect("refresh");
        assert_eq!(refreshed.status, Status::OK, "{refreshed:?}");
        let polled = b
            .token(&device_poll(&clients, &device_code))
            .await
            .expect("poll");
        assert_eq!(polled.status, Status::OK, "{polled:?}");
    }

    /// An instance whose database refuses connections answers with a transient storage
    /// error: 503 `temporarily_unavailable`, nothing internal in the body. Needs no server.
    #[tokio::test]
    async fn connection_refused_is_temporarily_unavailable() {
        let options: PgConnectOptions = "postgres://grantflow@127.0.0.1:1/grantflow"
            .parse()
            .expect("options");
        let pool = PgPoolOptions::new()
            .acquire_timeout(Duration::from_millis(500))
            .connect_lazy_with(options);
        let stores = PgStores::new(pool);
        let server = server(&stores);
        let request = form("grant_type=client_credentials")
            .with_header("authorization", basic("backend", CC_SECRET));
        let error = server.token(&request).await.expect_err("no database");
        assert_transient(&error);
        let response = error.to_response();
        assert_eq!(response.status, Status::SERVICE_UNAVAILABLE);
        assert_eq!(response.body, br#"{"error":"temporarily_unavailable"}"#);
    }

    /// `Debug` of the stores and of a server over them never shows the connect options
    /// (which hold the database password). Needs no server.
    #[tokio::test]
    async fn debug_output_holds_no_database_password() {
        let pool = PgPoolOptions::new()
            .connect_lazy("postgres://grantflow:hunter2-db-password@127.0.0.1:1/grantflow")
            .expect("options");
        let stores = PgStores::new(pool);
        let shown = format!(
            "{stores:?} {:?} {:?} {:?} {:?} {:?} {:?}",
            stores.clients(),
            stores.codes(),
            stores.tokens(),
            stores.devices(),
            stores.attempt_limiter(10, Duration::from_secs(60)),
            server(&stores)
        );
        assert!(!shown.contains("hunter2"), "{shown}");
    }

    /// `error` is a transient storage fault.
    #[track_caller]
    fn assert_transient(error: &Error) {
        assert!(
            matches!(error, Error::Storage(e) if e.is_transient()),
            "{error:?}"
        );
    }

    /// A pool whose statements time out after 300 ms.
    async fn impatient_pool(url: &str) -> PgPool {
        let options: PgConnectOptions = url.parse().expect("DATABASE_URL");
        PgPoolOptions::new()
            .max_connections(2)
            .connect_with(options.options([("statement_timeout", "300ms")]))
            .await
            .expect("DATABASE_URL reachable")
    }

    /// Holds the row lock of `grant`'s row in `grantflow_grants` (which every insert and
    /// rotation of the grant's tokens takes) until the returned transaction ends.
    async fn lock_grant(pool: &PgPool, grant: &[u8]) -> sqlx::Transaction<'static, sqlx::Postgres> {
        let mut tx = pool.begin().await.expect("begin");
        sqlx::query(
            "INSERT INTO grantflow_grants (grant_id, revoked_until_ns, purge_ns) \
             VALUES ($1, NULL, 0) ON CONFLICT (grant_id) DO UPDATE SET purge_ns = grantflow_grants.purge_ns",
        )
        .bind(grant)
        .execute(&mut *tx)
        .await
        .expect("lock the grant row");
        tx
    }

    /// A statement timeout while the tokens of a code exchange are being stored (the grant
    /// row is locked elsewhere) is a transient storage error (503), and no token of the
    /// grant exists afterwards: a failed exchange issues nothing. A refresh that times out
    /// the same way changes nothing: the refresh token still works once the lock is gone.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_timed_out_exchange_or_rotation_leaves_nothing_half_written() {
        let Some(url) = database_url("the timeout test") else {
            return;
        };
        let admin = pool(&url).await;
        let stores = PgStores::new(admin.clone());
        let clients = Clients::new();
        clients.register(&stores).await;
        let normal = server(&stores);
        let impatient = server(&PgStores::new(impatient_pool(&url).await));

        let code = code(&normal, &clients).await;
        let (grant,): (Vec<u8>,) =
            sqlx::query_as("SELECT grant_id FROM grantflow_codes WHERE hash = $1")
                .bind(TokenHash::of(&code).as_bytes().as_slice())
                .fetch_one(&admin)
                .await
                .expect("the code is stored");
        let lock = lock_grant(&admin, &grant).await;
        let error = impatient
            .token(&exchange(&clients, &code))
            .await
            .expect_err("the insert times out");
        assert_transient(&error);
        assert_eq!(error.to_response().status, Status::SERVICE_UNAVAILABLE);
        lock.rollback().await.expect("rollback");
        let (tokens,): (i64,) =
            sqlx::query_as("SELECT count(*) FROM grantflow_tokens WHERE grant_id = $1")
                .bind(&grant)
                .fetch_one(&admin)
                .await
                .expect("count");
        assert_eq!(tokens, 0, "a failed exchange stored tokens");

        let tokens = normal
            .token(&exchange(&clients, &self::code(&normal, &clients).await))
            .await
            .expect("exchange");
        let refresh_token = field(&tokens, "refresh_token");
        let (grant,): (Vec<u8>,) =
            sqlx::query_as("SELECT grant_id FROM grantflow_tokens WHERE hash = $1")
                .bind(TokenHash::of(&refresh_token).as_bytes().as_slice())
                .fetch_one(&admin)
                .await
                .expect("the refresh token is stored");
        let lock = lock_grant(&admin, &grant).await;
        let error = impatient
            .token(&refresh(&clients, &refresh_token))
            .await
            .expect_err("the rotation times out");
        assert_transient(&error);
        lock.rollback().await.expect("rollback");
        let retried = normal
            .token(&refresh(&clients, &refresh_token))
            .await
            .expect("refresh");
        assert_eq!(
            retried.status,
            Status::OK,
            "the timed-out rotation changed something"
        );
    }

    /// Migrations are idempotent and safe when instances start at once.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_migrations_are_safe() {
        let Some(url) = database_url("the migration test") else {
            return;
        };
        let pool = pool(&url).await;
        let runs: Vec<_> = (0..4)
            .map(|_| {
                let pool = pool.clone();
                tokio::spawn(async move { PgStores::migrate(&pool).await })
            })
            .collect();
        for run in runs {
            run.await.expect("task").expect("migration");
        }
        let (version,): (i32,) = sqlx::query_as("SELECT max(version) FROM grantflow_schema")
            .fetch_one(&pool)
            .await
            .expect("schema table");
        assert_eq!(
            version, 11,
            "the newest migration, 0011_request_objects.sql"
        );
        let (format_applied,): (bool,) =
            sqlx::query_as("SELECT EXISTS (SELECT 1 FROM grantflow_schema WHERE version = 4)")
                .fetch_one(&pool)
                .await
                .expect("schema table");
        assert!(format_applied, "0004_access_token_format.sql was applied");
    }

    /// OI-19, OI-12, OI-20: a client's OpenID registration, and the OpenID context of a
    /// code and of a token, read back from PostgreSQL as they were written.
    #[tokio::test]
    async fn oi_openid_registration_and_contexts_round_trip() {
        use grantflow::ClientRegistry as _;
        use grantflow::store::{OpenIdContext, TokenKind, TokenRecord, TokenStore as _};
        let Some(url) = database_url("the OpenID round trip") else {
            return;
        };
        let stores = PgStores::new(pool(&url).await);
        let tag = TokenHash::of(&format!("{:?}", SystemTime::now())).to_hex();
        let id = format!("oidc-{}", &tag[..16]);
        let client = Client::builder(&id, ClientType::Confidential)
            .secret(&ClientSecret::from_presented("oidc-secret".to_owned()))
            .redirect_uri("https://a.example/cb")
            .grant_type(GrantType::AUTHORIZATION_CODE)
            .id_token_signing_alg("ES256")
            .userinfo_signing_alg("RS256")
            .subject_type(grantflow::SubjectType::Pairwise)
            .sector_identifier_uri(
                "https://sector.example/ids.json",
                r#"["https://a.example/cb"]"#,
            )
            .post_logout_redirect_uri("https://a.example/bye")
            .refresh_needs_offline_access(true)
            .scope_claims_in_id_token(true)
            .build()
            .expect("a valid client");
        stores.clients().insert(&client).await.expect("stored");
        let found = stores
            .clients()
            .find(client.id())
            .await
            .expect("read")
            .expect("found");
        assert_eq!(found.id_token_signing_alg(), "ES256");
        assert_eq!(found.userinfo_signing_alg(), Some("RS256"));
        assert_eq!(found.subject_type(), grantflow::SubjectType::Pairwise);
        assert_eq!(found.sector(), Some("sector.example"));
        assert_eq!(
            found.sector_identifier_uri(),
            client.sector_identifier_uri()
        );
        assert_eq!(
            found.post_logout_redirect_uris(),
            client.post_logout_redirect_uris()
        );
        assert!(found.refresh_needs_offline_access() && found.scope_claims_in_id_token());

        let now = SystemTime::now();
        let context = Arc::new(
            OpenIdContext::new("pairwise-\"sub\"")
                .with_nonce(Some("n-0S6_WzA2Mj"))
                .with_auth_time(Some(now))
                .with_acr(Some("urn:acr:silver"))
                .with_amr(["pwd", "otp"])
                .with_claims(Some(r#"{"id_token":{"email":null}}"#)),
        );
        let grant = AuthorizationGrant::new(
            grantflow::store::GrantId::generate(),
            client.id().clone(),
            Subject::new("alice"),
            Scope::parse("openid").expect("scope"),
            ISSUER,
            now,
            now + Duration::from_secs(60),
        )
        .with_openid(Some(Arc::clone(&context)));
        let code = TokenHash::of(&format!("code-{tag}"));
        stores
            .codes()
            .insert(code, grant.clone())
            .await
            .expect("code stored");
        match stores.codes().redeem(&code).await.expect("redeemed") {
            Redemption::Redeemed(back) => assert_eq!(back.openid, Some(Arc::clone(&context))),
            other => panic!("expected the grant, got {other:?}"),
        }
        let record = TokenRecord::new(
            TokenKind::Access,
            grant.grant_id,
            client.id().clone(),
            grant.scope.clone(),
            now,
            now + Duration::from_secs(60),
        )
        .with_openid(Some(Arc::new(context.without_nonce())));
        let token = TokenHash::of(&format!("token-{tag}"));
        stores
            .tokens()
            .insert(vec![(token, record.clone())])
            .await
            .expect("token stored");
        let back = stores
            .tokens()
            .find(&token)
            .await
            .expect("read")
            .expect("found");
        assert_eq!(back.openid, record.openid);
    }

    /// TX-11: a delegated token's `act` chain (three actors deep, one of them from a
    /// trusted issuer) is stored by PostgreSQL and read back exactly, on insert and on a
    /// refresh's rotation; a token without an actor reads back without one.
    #[tokio::test]
    async fn tx_11_delegated_token_round_trips_its_act_chain() {
        use grantflow::grant::Actor;
        use grantflow::store::{Rotation, TokenKind, TokenRecord, TokenStore as _};
        let Some(url) = database_url("the actor chain round trip") else {
            return;
        };
        let stores = PgStores::new(pool(&url).await);
        let tag = TokenHash::of(&format!("{:?}", SystemTime::now())).to_hex();
        let chain = Actor::new("service-c").acting_after(
            Actor::new("service-b")
                .acting_after(Actor::new("service-a").with_issuer("https://idp.example")),
        );
        let now = SystemTime::now();
        let grant_id = grantflow::store::GrantId::generate();
        let record = |kind| {
            TokenRecord::new(
                kind,
                grant_id,
                ClientId::new("svc").unwrap(),
                Scope::parse("read").unwrap(),
                now,
                now + Duration::from_secs(60),
            )
            .with_subject(Some(Subject::new("alice")))
        };
        let delegated = record(TokenKind::Access).with_actor(Some(chain.clone()));
        let plain = record(TokenKind::Refresh);
        let (d, p) = (
            TokenHash::of(&format!("act-{tag}")),
            TokenHash::of(&format!("plain-{tag}")),
        );
        stores
            .tokens()
            .insert(vec![(d, delegated.clone()), (p, plain)])
            .await
            .expect("a delegated token is stored");
        let back = stores
            .tokens()
            .find(&d)
            .await
            .expect("read")
            .expect("found");
        assert_eq!(back.actor, Some(chain.clone()));
        assert_eq!(
            back.actor.as_ref().map(Actor::to_json),
            Some(chain.to_json())
        );
        let back = stores
            .tokens()
            .find(&p)
            .await
            .expect("read")
            .expect("found");
        assert_eq!(back.actor, None);
        // Rotation stores successors with their actors too.
        let successor = TokenHash::of(&format!("next-{tag}"));
        let rotated = stores
            .tokens()
            .rotate(&p, now, vec![(successor, delegated)])
            .await
            .expect("rotated");
        assert!(matches!(rotated, Rotation::Rotated), "{rotated:?}");
        let back = stores
            .tokens()
            .find(&successor)
            .await
            .expect("read")
            .expect("found");
        assert_eq!(back.actor, Some(chain));
    }

    /// A key of this test run's own, so runs over one database never share counts.
    fn fresh_key(kind: &str) -> AttemptKey {
        let tag = TokenHash::of(&format!("{:?}", std::time::SystemTime::now())).to_hex();
        AttemptKey::custom(kind, &tag[..16])
    }

    /// The purge deletes attempt counts whose window has ended, and only those. (The
    /// limiter's contract itself, across two instances, is in the conformance suite.)
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn te_10_purge_deletes_ended_attempt_windows_only() {
        let Some(url) = database_url("the attempt purge test") else {
            return;
        };
        let admin = pool(&url).await;
        let stores = PgStores::new(admin.clone());
        let limiter = stores.attempt_limiter(3, LIMITER_WINDOW);
        let key = fresh_key("password");
        // Times long past, so that the purges meet no other test's live windows.
        let start = std::time::UNIX_EPOCH + Duration::from_secs(1_000_000_000);
        let recorded = limiter
            .record(&key, Outcome::Failure, start)
            .await
            .expect("record");
        assert_eq!(recorded, Throttle::Allow);
        let rows = || async {
            let (count,): (i64,) =
                sqlx::query_as("SELECT count(*) FROM grantflow_attempts WHERE key_hash = $1")
                    .bind(TokenHash::of(key.as_str()).as_bytes().as_slice())
                    .fetch_one(&admin)
                    .await
                    .expect("count");
            count
        };
        stores
            .purge_expired(start + LIMITER_WINDOW - Duration::from_secs(1))
            .await
            .expect("purge");
        assert_eq!(rows().await, 1, "a live window was purged");
        stores
            .purge_expired(start + LIMITER_WINDOW)
            .await
            .expect("purge");
        assert_eq!(rows().await, 0, "an ended window was kept");
    }

    /// TE-10 end to end: wrong client secrets sent to two instances that share a
    /// PostgreSQL limiter are throttled after ten in all, at both instances, and the
    /// right secret is refused while the client is throttled.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn te_10_secret_guessing_spread_over_instances_is_throttled() {
        let Some(url) = database_url("the cross-instance brute-force test") else {
            return;
        };
        let (a, b) = (
            PgStores::new(pool(&url).await),
            PgStores::new(pool(&url).await),
        );
        let clients = Clients::new();
        clients.register(&a).await;
        let instance = |stores: &PgStores| {
            Server::builder(ISSUER, stores.clients(), stores.tokens())
                .attempt_limiter(stores.attempt_limiter(10, Duration::from_secs(60)))
                .build()
                .expect("server config")
        };
        let servers = [instance(&a), instance(&b)];
        let request = |secret: &str| {
            form("grant_type=client_credentials")
                .with_header("authorization", basic(&clients.backend, secret))
        };
        for i in 0..10 {
            let response = servers[i % 2]
                .token(&request("wrong-secret"))
                .await
                .expect("token");
            assert_eq!(response.status, Status::UNAUTHORIZED, "guess {i}");
        }
        for server in &servers {
            let response = server.token(&request(CC_SECRET)).await.expect("token");
            // Throttled: still 401 with the challenge (RFC 6749 §5.2), and `Retry-After`.
            assert_eq!(response.status, Status::UNAUTHORIZED, "{response:?}");
            assert!(response.header("retry-after").is_some());
        }
    }

    /// Connections that default to a stricter isolation level than READ COMMITTED are
    /// refused at migration, where the losers of a redemption race would otherwise get
    /// serialization errors instead of replay detection (AC-02); a pool that sets READ
    /// COMMITTED for itself is accepted.
    #[tokio::test]
    async fn migrate_refuses_connections_that_are_not_read_committed() {
        let Some(url) = database_url("the isolation level test") else {
            return;
        };
        let options: PgConnectOptions = url.parse().expect("DATABASE_URL");
        let strict = PgPoolOptions::new()
            .max_connections(1)
            .connect_with(
                options
                    .clone()
                    .options([("default_transaction_isolation", "serializable")]),
            )
            .await
            .expect("DATABASE_URL reachable");
        let error = PgStores::migrate(&strict).await.expect_err("refused");
        let cause = std::error::Error::source(&error).map(ToString::to_string);
        assert!(
            cause
                .as_deref()
                .is_some_and(|c| c.contains("READ COMMITTED")),
            "{cause:?}"
        );
        assert!(!error.is_transient());
        let own = PgPoolOptions::new()
            .max_connections(1)
            .after_connect(|connection, _| {
                Box::pin(async move {
                    sqlx::Executor::execute(
                        connection,
                        "SET default_transaction_isolation = 'read committed'",
                    )
                    .await
                    .map(drop)
                })
            })
            .connect_with(options.options([("default_transaction_isolation", "serializable")]))
            .await
            .expect("DATABASE_URL reachable");
        PgStores::migrate(&own).await.expect("accepted");
    }
}

/// Without the features the PostgreSQL tests are not built; say so in the test output.
#[cfg(not(all(feature = "postgres", feature = "testing")))]
#[test]
#[ignore = "the PostgreSQL tests need `--features postgres,testing` and DATABASE_URL (see the README)"]
fn postgres_tests_did_not_run() {}
