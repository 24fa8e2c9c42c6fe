//! The token endpoint over the PostgreSQL stores on loopback: client credentials and the
//! code exchange (PKCE S256, public client), whole request path (`HttpRequest` in,
//! `HttpResponse` out), at 1, 8 and 32 concurrent tasks, in requests per second, and the
//! database round trips per request.
//!
//! ```sh
//! DATABASE_URL=postgres://user@127.0.0.1:5432/db cargo bench --features postgres --bench postgres
//! ```
//!
//! A bounded custom harness rather than criterion: throughput under concurrency is the
//! figure, and each level runs a fixed number of requests (codes for the exchange are
//! issued untimed beforehand). Without `DATABASE_URL` (or the feature) it says so and
//! exits.
//!
//! Round trips are counted twice: store calls, through counting wrappers (every call on
//! these paths is one SQL statement, so one round trip once the connection has prepared
//! it), and, when the server has `pg_stat_statements` loaded, the statements it executed
//! on grantflow's tables per request.

#![allow(missing_docs, reason = "a benchmark binary")]

#[cfg(feature = "postgres")]
mod bench {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::time::{Duration, Instant, SystemTime};

    use async_trait::async_trait;
    use grantflow::postgres::PgStores;
    use grantflow::postgres::{PgPool, PgPoolOptions};
    use grantflow::secret::TokenHash;
    use grantflow::store::{
        AuthorizationGrant, GrantId, Insert, Redemption, RefreshLookup, Rotation, TokenRecord,
        TokenStore,
    };
    use grantflow::{
        Client, ClientId, ClientRegistry, ClientSecret, ClientType, CodeStore, GrantType,
        HttpRequest, Method, Scope, Server, Status, StorageError, Subject,
    };

    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
    /// `Basic base64("bench-backend:bench-secret")`.
    const BASIC: &str = "Basic YmVuY2gtYmFja2VuZDpiZW5jaC1zZWNyZXQ=";
    const LEVELS: [usize; 3] = [1, 8, 32];
    const CC_REQUESTS: usize = 4000;
    const EXCHANGES: usize = 2000;

    /// Store calls, all kinds together.
    #[derive(Debug, Default)]
    struct Calls(AtomicU64);

    impl Calls {
        fn count(&self) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
        fn take(&self) -> u64 {
            self.0.swap(0, Ordering::Relaxed)
        }
    }

    #[derive(Debug)]
    struct Counted<T: ?Sized>(Arc<T>, Arc<Calls>);

    #[async_trait]
    impl ClientRegistry for Counted<dyn ClientRegistry> {
        async fn find(&self, id: &ClientId) -> Result<Option<Arc<Client>>, StorageError> {
            self.1.count();
            self.0.find(id).await
        }
    }

    #[async_trait]
    impl CodeStore for Counted<dyn CodeStore> {
        async fn insert(
            &self,
            code: TokenHash,
            grant: AuthorizationGrant,
        ) -> Result<(), StorageError> {
            self.1.count();
            self.0.insert(code, grant).await
        }
        async fn redeem(&self, code: &TokenHash) -> Result<Redemption, StorageError> {
            self.1.count();
            self.0.redeem(code).await
        }
    }

    #[async_trait]
    impl TokenStore for Counted<dyn TokenStore> {
        async fn insert(
            &self,
            tokens: Vec<(TokenHash, TokenRecord)>,
        ) -> Result<Insert, StorageError> {
            self.1.count();
            self.0.insert(tokens).await
        }
        async fn find(&self, token: &TokenHash) -> Result<Option<TokenRecord>, StorageError> {
            self.1.count();
            self.0.find(token).await
        }
        async fn revoke(&self, token: &TokenHash) -> Result<Option<TokenRecord>, StorageError> {
            self.1.count();
            self.0.revoke(token).await
        }
        async fn revoke_grant(
            &self,
            grant: &GrantId,
            until: SystemTime,
        ) -> Result<usize, StorageError> {
            self.1.count();
            self.0.revoke_grant(grant, until).await
        }
        async fn find_refresh(
            &self,
            token: &TokenHash,
        ) -> Result<Option<RefreshLookup>, StorageError> {
            self.1.count();
            self.0.find_refresh(token).await
        }
        async fn rotate(
            &self,
            old: &TokenHash,
            now: SystemTime,
            successors: Vec<(TokenHash, TokenRecord)>,
        ) -> Result<Rotation, StorageError> {
            self.1.count();
            self.0.rotate(old, now, successors).await
        }
    }

    struct Setup {
        server: Server,
        pool: PgPool,
        /// Calls to the client registry, and to the code and token stores.
        lookups: Arc<Calls>,
        writes: Arc<Calls>,
        app: String,
        /// The same server with the client-secret limiter in PostgreSQL too.
        shared_limiter: Server,
    }

    async fn setup(url: &str) -> Result<Setup, Box<dyn std::error::Error>> {
        let pool = PgPoolOptions::new()
            .max_connections(32)
            .connect(url)
            .await?;
        PgStores::migrate(&pool).await?;
        // For the statement counts; without the library preloaded this fails, and the
        // counts come from the store wrappers alone.
        let _ = sqlx::query("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
            .execute(&pool)
            .await;
        let stores = PgStores::new(pool.clone());
        let tag = &TokenHash::of(&format!("{:?}", SystemTime::now())).to_hex()[..8];
        let app = format!("bench-app-{tag}");
        let registry = stores.clients();
        registry
            .insert(
                &Client::builder(&app, ClientType::Public)
                    .redirect_uri("http://127.0.0.1/cb")
                    .grant_type(GrantType::AUTHORIZATION_CODE)
                    .grant_type(GrantType::REFRESH_TOKEN)
                    .allowed_scope("read")
                    .build()?,
            )
            .await?;
        // A fixed id for the Basic header: replaced when a previous run left it.
        let backend = Client::builder("bench-backend", ClientType::Confidential)
            .secret(&ClientSecret::from_presented("bench-secret".to_owned()))
            .grant_type(GrantType::CLIENT_CREDENTIALS)
            .allowed_scope("read")
            .default_scope("read")
            .build()?;
        if registry.insert(&backend).await.is_err() {
            registry.replace(&backend).await?;
        }
        let (lookups, writes) = (Arc::new(Calls::default()), Arc::new(Calls::default()));
        let clients: Arc<dyn ClientRegistry> = stores.clients();
        let codes: Arc<dyn CodeStore> = stores.codes();
        let tokens: Arc<dyn TokenStore> = stores.tokens();
        let builder = || {
            Server::builder(
                "https://as.example.com",
                Arc::new(Counted(clients.clone(), lookups.clone())),
                Arc::new(Counted(tokens.clone(), writes.clone())),
            )
            .code_store(Arc::new(Counted(codes.clone(), writes.clone())))
        };
        let server = builder().build()?;
        let shared_limiter = builder()
            .attempt_limiter(stores.attempt_limiter(10, Duration::from_secs(60)))
            .build()?;
        Ok(Setup {
            server,
            pool,
            lookups,
            writes,
            app,
            shared_limiter,
        })
    }

    fn client_credentials() -> HttpRequest {
        HttpRequest::new(Method::Post)
            .with_header("content-type", "application/x-www-form-urlencoded")
            .with_header("authorization", BASIC)
            .with_body("grant_type=client_credentials")
    }

    fn exchange(app: &str, code: &str) -> HttpRequest {
        HttpRequest::new(Method::Post)
            .with_header("content-type", "application/x-www-form-urlencoded")
            .with_body(format!(
                "grant_type=authorization_code&code={code}&client_id={app}\
                 &redirect_uri=http%3A%2F%2F127.0.0.1%3A4000%2Fcb&code_verifier={VERIFIER}"
            ))
    }

    async fn issue_code(setup: &Setup) -> Result<String, Box<dyn std::error::Error>> {
        let query = format!(
            "response_type=code&client_id={}&scope=read&redirect_uri=http%3A%2F%2F127.0.0.1%3A4000%2Fcb\
             &code_challenge={CHALLENGE}&code_challenge_method=S256",
            setup.app
        );
        let pending = setup
            .server
            .authorize(&HttpRequest::new(Method::Get).with_query(query))
            .await
            .map_err(|e| format!("{e:?}"))?;
        let response = pending
            .approve(Subject::new("alice"), Scope::parse("read")?)
            .await
            .map_err(|e| format!("{e:?}"))?;
        let location = url::Url::parse(response.header("location").ok_or("no redirect")?)?;
        Ok(location
            .query_pairs()
            .find(|(k, _)| k == "code")
            .map(|(_, v)| v.into_owned())
            .ok_or("no code")?)
    }

    /// Statements executed on grantflow's tables so far, if `pg_stat_statements` is loaded.
    async fn statements(pool: &PgPool) -> Option<i64> {
        sqlx::query_scalar::<_, Option<i64>>(
            "SELECT sum(calls)::int8 FROM pg_stat_statements WHERE query LIKE '%grantflow\\_%' \
             AND query NOT LIKE '%pg_stat_statements%'",
        )
        .fetch_one(pool)
        .await
        .ok()
        .flatten()
    }

    /// Runs `requests` through `tasks` concurrent tasks; returns requests per second.
    async fn run(server: &Server, requests: Vec<HttpRequest>, tasks: usize) -> Result<f64, String> {
        let total = requests.len();
        let queue = Arc::new(std::sync::Mutex::new(requests));
        let started = Instant::now();
        let workers: Vec<_> = (0..tasks)
            .map(|_| {
                let (server, queue) = (server.clone(), Arc::clone(&queue));
                tokio::spawn(async move {
                    loop {
                        let next = queue.lock().map_err(|e| e.to_string())?.pop();
                        let Some(request) = next else {
                            return Ok::<(), String>(());
                        };
                        let response =
                            server.token(&request).await.map_err(|e| format!("{e:?}"))?;
                        if response.status != Status::OK {
                            return Err(format!("{response:?}"));
                        }
                    }
                })
            })
            .collect();
        for worker in workers {
            worker.await.map_err(|e| e.to_string())??;
        }
        Ok(total as f64 / started.elapsed().as_secs_f64())
    }

    async fn round_trips(
        setup: &Setup,
        server: &Server,
        request: HttpRequest,
    ) -> Result<String, String> {
        setup.lookups.take();
        setup.writes.take();
        let before = statements(&setup.pool).await;
        let response = server.token(&request).await.map_err(|e| format!("{e:?}"))?;
        if response.status != Status::OK {
            return Err(format!("{response:?}"));
        }
        let after = statements(&setup.pool).await;
        let sql = match (before, after) {
            // The two `pg_stat_statements` reads themselves are not on grantflow's tables.
            (Some(b), Some(a)) => format!(", {} SQL statements (pg_stat_statements)", a - b),
            _ => String::new(),
        };
        Ok(format!(
            "{} client lookup(s) + {} code/token store call(s){sql}",
            setup.lookups.take(),
            setup.writes.take()
        ))
    }

    pub(crate) async fn main(url: String) -> Result<(), Box<dyn std::error::Error>> {
        let setup = setup(&url).await?;
        // Warm every connection's prepared statements before measuring.
        for _ in 0..64 {
            let code = issue_code(&setup).await?;
            setup.server.token(&exchange(&setup.app, &code)).await?;
            setup.server.token(&client_credentials()).await?;
            setup.shared_limiter.token(&client_credentials()).await?;
        }
        println!(
            "client credentials, per request: {}",
            round_trips(&setup, &setup.server, client_credentials()).await?
        );
        println!(
            "client credentials, shared limiter, per request: {}",
            round_trips(&setup, &setup.shared_limiter, client_credentials()).await?
        );
        let code = issue_code(&setup).await?;
        println!(
            "code exchange, per request: {}",
            round_trips(&setup, &setup.server, exchange(&setup.app, &code)).await?
        );
        for tasks in LEVELS {
            let requests = (0..CC_REQUESTS).map(|_| client_credentials()).collect();
            let rate = run(&setup.server, requests, tasks).await?;
            println!(
                "client credentials, {tasks:>2} tasks: {rate:>7.0} requests/s ({CC_REQUESTS} requests)"
            );
        }
        // Every response must be a 200: one client's concurrent requests never throttle
        // each other, whatever the limiter's latency.
        for tasks in LEVELS {
            let requests = (0..CC_REQUESTS).map(|_| client_credentials()).collect();
            let rate = run(&setup.shared_limiter, requests, tasks).await?;
            println!(
                "client credentials, shared limiter, {tasks:>2} tasks: {rate:>7.0} requests/s ({CC_REQUESTS} requests)"
            );
        }
        for tasks in LEVELS {
            let mut requests = Vec::with_capacity(EXCHANGES);
            for _ in 0..EXCHANGES {
                requests.push(exchange(&setup.app, &issue_code(&setup).await?));
            }
            let rate = run(&setup.server, requests, tasks).await?;
            println!(
                "code exchange,      {tasks:>2} tasks: {rate:>7.0} requests/s ({EXCHANGES} requests)"
            );
        }
        // Only what has expired: the database may hold live data of others.
        let purged = PgStores::new(setup.pool.clone())
            .purge_expired(SystemTime::now())
            .await?;
        println!("purged {purged} expired records (of earlier runs)");
        Ok(())
    }
}

fn main() {
    #[cfg(feature = "postgres")]
    {
        let Some(url) = std::env::var("DATABASE_URL").ok().filter(|u| !u.is_empty()) else {
            println!("postgres benchmark skipped: DATABASE_URL is not set");
            return;
        };
        let runtime = match tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
        {
            Ok(runtime) => runtime,
            Err(e) => {
                eprintln!("postgres benchmark: no runtime: {e}");
                std::process::exit(1);
            }
        };
        if let Err(e) = runtime.block_on(bench::main(url)) {
            eprintln!("postgres benchmark failed: {e}");
            std::process::exit(1);
        }
    }
    #[cfg(not(feature = "postgres"))]
    println!("postgres benchmark skipped: build with --features postgres");
}
