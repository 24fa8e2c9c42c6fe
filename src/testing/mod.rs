//! A conformance suite for store implementations (feature `testing`): the contracts of
//! [`TokenStore`], [`CodeStore`], [`SingleUseStore`], [`PushedRequestStore`], [`DeviceStore`], [`ClientRegistry`],
//! [`RegistrationStore`]
//! and [`AttemptLimiter`] as executable checks, including the concurrency races that single use
//! and brute-force limits depend on.
//!
//! The in-memory stores and the PostgreSQL stores pass it; run it against your own
//! backend from a test:
//!
//! ```no_run
//! # async fn run() -> Result<(), grantflow::testing::Failures> {
//! use std::sync::Arc;
//! use grantflow::testing::Conformance;
//! use grantflow::{MemoryClientRegistry, MemoryCodeStore, MemoryDeviceStore, MemoryTokenStore};
//!
//! // In a `#[tokio::test(flavor = "multi_thread")]`: the races spawn tasks.
//! let report = Conformance::new()
//!     .token_store(Arc::new(MemoryTokenStore::new()))
//!     .code_store(Arc::new(MemoryCodeStore::new()))
//!     .device_store(Arc::new(MemoryDeviceStore::new()))
//!     .client_registry(Arc::new(MemoryClientRegistry::new()))
//!     .run()
//!     .await?;
//! assert!(report.skipped.is_empty());
//! # Ok(()) }
//! ```
//!
//! # What it checks
//! Each check has a name ([`Conformance::checks`]); leave one out with
//! [`Conformance::skip`]. They cover digests as keys and exact read-back of records,
//! the grant id on every artifact, atomic single use, revocation by grant with its
//! tombstone, expiry and purge, and races of
//! [`concurrency`](Conformance::concurrency) tasks (64 by default) started together:
//! redemptions of one code or device code, consumptions of one single-use key or pushed request, and rotations of one refresh token give exactly
//! one winner, inserts and rotations racing a revocation of their grant leave no live
//! token, concurrent decisions, polls and user-code claims are compare-and-sets. For attempt
//! limiters: the lockout after the limit of failures (for every outcome, with its
//! `retry_after`, until the window ends), successes that count nothing, and concurrent
//! failures answered no more often than the limit. For registration stores (dynamic client
//! registration): lookups by token digest and by `client_id`, duplicates refused, token
//! rotation that retires the old token, replacement, deletion, and concurrent rotations of
//! one token with exactly one winner; for token stores, also the revocation of every token of
//! a deleted client. For key-set stores (feature `jwt`): exact
//! read-back, the schedule a new key imposes on its algorithm, refusals that change
//! nothing, purge, and concurrent introductions that leave one signing key at a time.
//!
//! Pass a store more than once (two handles on one database, with separate connection
//! pools) and every check spreads its calls over the handles, as over two instances.
//!
//! # Data it writes
//! Every key is random and every record is dated in 2001 or 2002, and the suite purges only
//! up to such dates: it can run against a database that also holds live data, which it
//! never touches. Records it leaves behind are purged by the next run (or any purge).
//!
//! # Requirements on the backend
//! Times read back exactly to the microsecond (the suite writes whole microseconds); device
//! requests are retained for late polls for less than a day after expiry; the stores are
//! reachable from the threads of a Tokio runtime, which the suite needs for its races (a
//! multi-threaded one makes them run truly in parallel).

mod clients;
mod codes;
mod devices;
#[cfg(feature = "jwt")]
mod keys;
mod limiters;
mod pushed;
mod registrations;
mod single_use;
mod tokens;

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;

use crate::error::StorageError;
use crate::limiter::AttemptLimiter;
use crate::secret::{TokenHash, random_secret};
use crate::store::{
    ClientRegistry, CodeStore, DeviceStore, PushedRequestStore, RegistrationStore, SingleUseStore,
    TokenStore,
};
use crate::types::{Client, ClientId, ResourceUri, Resources};

/// Registers clients in a registry under test. [`ClientRegistry`] only looks clients up;
/// the suite needs to put its own in first.
#[async_trait]
pub trait ClientRegistrar: Send + Sync {
    /// Registers `client` (its `client_id` is fresh and random).
    ///
    /// # Errors
    /// [`StorageError`] when it could not be stored.
    async fn register(&self, client: Client) -> Result<(), StorageError>;
}

#[async_trait]
impl ClientRegistrar for crate::MemoryClientRegistry {
    async fn register(&self, client: Client) -> Result<(), StorageError> {
        self.insert(client).map_err(StorageError::new)
    }
}

/// Which store a check needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Area {
    Tokens,
    Codes,
    SingleUse,
    Pushed,
    Devices,
    Clients,
    Registrations,
    Limiters,
    #[cfg(feature = "jwt")]
    KeySets,
}

/// Declares every check once, in the order they run: its name, the store it needs and the
/// function that runs it. Gives `CHECKS` and `run_check`.
macro_rules! checks {
    ($($(#[$attr:meta])* $name:literal, $area:ident => $check:path;)*) => {
        /// Every check, in the order they run.
        const CHECKS: &[(&str, Area)] = &[$($(#[$attr])* ($name, Area::$area),)*];

        async fn run_check(name: &str, ctx: &Ctx<'_>) -> Outcome {
            match name {
                $($(#[$attr])* $name => $check(ctx).await,)*
                _ => Err(format!("no check named {name}")),
            }
        }
    };
}

checks! {
    "tokens.round_trip", Tokens => tokens::round_trip;
    "tokens.revoke", Tokens => tokens::revoke;
    "tokens.revoke_grant", Tokens => tokens::revoke_grant;
    "tokens.rotate", Tokens => tokens::rotate;
    "tokens.purge", Tokens => tokens::purge;
    "tokens.race.rotate", Tokens => tokens::race_rotate;
    "tokens.race.insert_vs_revoke_grant", Tokens => tokens::race_insert_vs_revoke_grant;
    "tokens.race.rotate_vs_revoke_grant", Tokens => tokens::race_rotate_vs_revoke_grant;
    "tokens.revoke_client", Tokens => tokens::revoke_client;
    "codes.redeem_once", Codes => codes::redeem_once;
    "codes.purge", Codes => codes::purge;
    "codes.race.redeem", Codes => codes::race_redeem;
    "single_use.consume_once", SingleUse => single_use::consume_once;
    "single_use.purge", SingleUse => single_use::purge;
    "single_use.race.consume", SingleUse => single_use::race_consume;
    "pushed.consume_once", Pushed => pushed::consume_once;
    "pushed.purge", Pushed => pushed::purge;
    "pushed.race.consume", Pushed => pushed::race_consume;
    "devices.round_trip", Devices => devices::round_trip;
    "devices.user_code", Devices => devices::user_code;
    "devices.decide", Devices => devices::decide;
    "devices.poll", Devices => devices::poll;
    "devices.redeem", Devices => devices::redeem;
    "devices.purge", Devices => devices::purge;
    "devices.race.redeem", Devices => devices::race_redeem;
    "devices.race.decide", Devices => devices::race_decide;
    "devices.race.poll", Devices => devices::race_poll;
    "devices.race.user_code", Devices => devices::race_user_code;
    "clients.round_trip", Clients => clients::round_trip;
    "registrations.lifecycle", Registrations => registrations::lifecycle;
    "registrations.race.update", Registrations => registrations::race_update;
    "limiters.lockout", Limiters => limiters::lockout;
    "limiters.successes", Limiters => limiters::successes;
    "limiters.race.failures", Limiters => limiters::race_failures;
    #[cfg(feature = "jwt")] "keys.round_trip", KeySets => keys::round_trip;
    #[cfg(feature = "jwt")] "keys.schedule", KeySets => keys::schedule;
    #[cfg(feature = "jwt")] "keys.end", KeySets => keys::end;
    #[cfg(feature = "jwt")] "keys.purge", KeySets => keys::purge;
    #[cfg(feature = "jwt")] "keys.race.introduce", KeySets => keys::race_introduce;
}

/// The stores under test and how to run the suite. See the [module docs](self).
#[derive(Clone)]
pub struct Conformance {
    tokens: Vec<Arc<dyn TokenStore>>,
    codes: Vec<Arc<dyn CodeStore>>,
    single_use: Vec<Arc<dyn SingleUseStore>>,
    pushed: Vec<Arc<dyn PushedRequestStore>>,
    devices: Vec<Arc<dyn DeviceStore>>,
    clients: Vec<Arc<dyn ClientRegistry>>,
    registrar: Option<Arc<dyn ClientRegistrar>>,
    registrations: Vec<Arc<dyn RegistrationStore>>,
    limiters: Vec<Arc<dyn AttemptLimiter>>,
    #[cfg(feature = "jwt")]
    key_sets: Vec<Arc<dyn crate::jose::KeySetStore>>,
    /// The policy every limiter under test was built with: failures per window, window.
    limiter_policy: (u32, Duration),
    tasks: usize,
    skip: Vec<String>,
}

impl fmt::Debug for Conformance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut f = f.debug_struct("Conformance");
        f.field("token_stores", &self.tokens.len())
            .field("code_stores", &self.codes.len())
            .field("single_use_stores", &self.single_use.len())
            .field("pushed_request_stores", &self.pushed.len())
            .field("device_stores", &self.devices.len())
            .field("client_registries", &self.clients.len())
            .field("registration_stores", &self.registrations.len())
            .field("attempt_limiters", &self.limiters.len());
        #[cfg(feature = "jwt")]
        f.field("key_set_stores", &self.key_sets.len());
        f.field("tasks", &self.tasks)
            .field("skip", &self.skip)
            .finish()
    }
}

impl Default for Conformance {
    fn default() -> Self {
        Self::new()
    }
}

impl Conformance {
    /// A suite with no store yet; checks of a kind of store not given are skipped.
    pub fn new() -> Self {
        Self {
            tokens: Vec::new(),
            codes: Vec::new(),
            single_use: Vec::new(),
            pushed: Vec::new(),
            devices: Vec::new(),
            clients: Vec::new(),
            registrar: None,
            registrations: Vec::new(),
            limiters: Vec::new(),
            #[cfg(feature = "jwt")]
            key_sets: Vec::new(),
            limiter_policy: (1, Duration::from_secs(60)),
            tasks: 64,
            skip: Vec::new(),
        }
    }

    /// Adds a handle on the token store under test. Several handles must reach the same
    /// backend (as instances do); the checks spread their calls over them.
    #[must_use]
    pub fn token_store(mut self, store: Arc<dyn TokenStore>) -> Self {
        self.tokens.push(store);
        self
    }

    /// Adds a handle on the code store under test (see [`token_store`](Self::token_store)).
    #[must_use]
    pub fn code_store(mut self, store: Arc<dyn CodeStore>) -> Self {
        self.codes.push(store);
        self
    }

    /// Adds a handle on the single-use store under test (see
    /// [`token_store`](Self::token_store)).
    #[must_use]
    pub fn single_use_store(mut self, store: Arc<dyn SingleUseStore>) -> Self {
        self.single_use.push(store);
        self
    }

    /// Adds a handle on the pushed authorization request store under test (see
    /// [`token_store`](Self::token_store)).
    #[must_use]
    pub fn pushed_request_store(mut self, store: Arc<dyn PushedRequestStore>) -> Self {
        self.pushed.push(store);
        self
    }

    /// Adds a handle on the device store under test (see
    /// [`token_store`](Self::token_store)).
    #[must_use]
    pub fn device_store(mut self, store: Arc<dyn DeviceStore>) -> Self {
        self.devices.push(store);
        self
    }

    /// Adds a handle on the client registry under test. The first one given also
    /// registers the suite's clients (see [`token_store`](Self::token_store)).
    #[must_use]
    pub fn client_registry<R>(mut self, registry: Arc<R>) -> Self
    where
        R: ClientRegistry + ClientRegistrar + 'static,
    {
        if self.registrar.is_none() {
            self.registrar = Some(registry.clone());
        }
        self.clients.push(registry);
        self
    }

    /// Adds a handle on the registration store under test (dynamic client registration;
    /// see [`token_store`](Self::token_store)). It must write the clients that the
    /// [`client_registry`](Self::client_registry) handles read: its checks need both.
    #[must_use]
    pub fn registration_store(mut self, store: Arc<dyn RegistrationStore>) -> Self {
        self.registrations.push(store);
        self
    }

    /// Adds a handle on the attempt limiter under test, built to allow `max_attempts`
    /// failures per key in each `window` (whole seconds, at least 2): the checks hold it to
    /// that policy. Every handle must share one policy and one backend (see
    /// [`token_store`](Self::token_store)); the last policy given counts.
    #[must_use]
    pub fn attempt_limiter(
        mut self,
        limiter: Arc<dyn AttemptLimiter>,
        max_attempts: u32,
        window: Duration,
    ) -> Self {
        self.limiters.push(limiter);
        self.limiter_policy = (max_attempts.max(1), window.max(Duration::from_secs(2)));
        self
    }

    /// Adds a handle on the key-set store under test (feature `jwt`; see
    /// [`token_store`](Self::token_store)). The checks write only key sets of their own,
    /// under fresh random names.
    #[cfg(feature = "jwt")]
    #[must_use]
    pub fn key_set_store(mut self, store: Arc<dyn crate::jose::KeySetStore>) -> Self {
        self.key_sets.push(store);
        self
    }

    /// How many tasks each race starts at once. Default: 64; at least 2.
    #[must_use]
    pub fn concurrency(mut self, tasks: usize) -> Self {
        self.tasks = tasks.max(2);
        self
    }

    /// Leaves the check named `check` out (it is reported as skipped), for example
    /// `codes.purge` for a store whose records expire on their own.
    #[must_use]
    pub fn skip(mut self, check: &str) -> Self {
        self.skip.push(check.to_owned());
        self
    }

    /// The names of every check, in the order they run.
    pub fn checks() -> impl Iterator<Item = &'static str> {
        CHECKS.iter().map(|(name, _)| *name)
    }

    /// Runs every check, one after the other, and reports all of them.
    ///
    /// # Errors
    /// [`Failures`] listing every check that failed, with what it found.
    pub async fn run(&self) -> Result<Report, Failures> {
        let mut report = Report {
            passed: Vec::new(),
            skipped: Vec::new(),
        };
        let mut failures = Vec::new();
        for (index, (name, area)) in CHECKS.iter().enumerate() {
            let present = match area {
                Area::Tokens => !self.tokens.is_empty(),
                Area::Codes => !self.codes.is_empty(),
                Area::SingleUse => !self.single_use.is_empty(),
                Area::Pushed => !self.pushed.is_empty(),
                Area::Devices => !self.devices.is_empty(),
                Area::Clients => !self.clients.is_empty() && self.registrar.is_some(),
                Area::Registrations => !self.registrations.is_empty() && !self.clients.is_empty(),
                Area::Limiters => !self.limiters.is_empty(),
                #[cfg(feature = "jwt")]
                Area::KeySets => !self.key_sets.is_empty(),
            };
            if !present || self.skip.iter().any(|s| s == name) {
                report.skipped.push(*name);
                continue;
            }
            let ctx = Ctx {
                suite: self,
                base: base_time(index),
            };
            match run_check(name, &ctx).await {
                Ok(()) => report.passed.push(*name),
                Err(message) => failures.push(Failure {
                    check: name,
                    message,
                }),
            }
        }
        if failures.is_empty() {
            Ok(report)
        } else {
            Err(Failures {
                failures,
                passed: report.passed,
            })
        }
    }
}

/// What a successful run did.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Report {
    /// The checks that passed.
    pub passed: Vec<&'static str>,
    /// The checks left out: skipped on request, or for a kind of store not given.
    pub skipped: Vec<&'static str>,
}

/// The checks that failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub struct Failures {
    /// Each failed check with what it found.
    pub failures: Vec<Failure>,
    /// The checks that passed.
    pub passed: Vec<&'static str>,
}

impl fmt::Display for Failures {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} store conformance check(s) failed:",
            self.failures.len()
        )?;
        for failure in &self.failures {
            write!(f, "\n  {}: {}", failure.check, failure.message)?;
        }
        Ok(())
    }
}

/// One failed check.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Failure {
    /// The check's name.
    pub check: &'static str,
    /// What went wrong.
    pub message: String,
}

/// What a check returns: `Err` with a description of the broken contract.
type Outcome = Result<(), String>;

/// 2001-01-01T00:00:00Z, plus ten days per check, so that each check has its own window
/// and a purge by a later check only meets records of earlier ones.
fn base_time(index: usize) -> SystemTime {
    let days = 10 * u64::try_from(index).unwrap_or(0);
    UNIX_EPOCH + Duration::from_secs(978_307_200 + days * 86_400)
}

/// One check's view of the suite.
struct Ctx<'a> {
    suite: &'a Conformance,
    /// The start of the check's time window.
    base: SystemTime,
}

impl Ctx<'_> {
    /// `base + seconds`.
    fn at(&self, seconds: u64) -> SystemTime {
        self.base + Duration::from_secs(seconds)
    }

    fn tasks(&self) -> usize {
        self.suite.tasks
    }

    fn tokens(&self, i: usize) -> Arc<dyn TokenStore> {
        pick(&self.suite.tokens, i)
    }

    fn codes(&self, i: usize) -> Arc<dyn CodeStore> {
        pick(&self.suite.codes, i)
    }

    fn single_use(&self, i: usize) -> Arc<dyn SingleUseStore> {
        pick(&self.suite.single_use, i)
    }

    fn pushed(&self, i: usize) -> Arc<dyn PushedRequestStore> {
        pick(&self.suite.pushed, i)
    }

    fn devices(&self, i: usize) -> Arc<dyn DeviceStore> {
        pick(&self.suite.devices, i)
    }

    fn clients(&self, i: usize) -> Arc<dyn ClientRegistry> {
        pick(&self.suite.clients, i)
    }

    fn registrations(&self, i: usize) -> Arc<dyn RegistrationStore> {
        pick(&self.suite.registrations, i)
    }

    fn limiter(&self, i: usize) -> Arc<dyn AttemptLimiter> {
        pick(&self.suite.limiters, i)
    }

    #[cfg(feature = "jwt")]
    fn key_sets(&self, i: usize) -> Arc<dyn crate::jose::KeySetStore> {
        pick(&self.suite.key_sets, i)
    }

    fn policy(&self) -> (u32, Duration) {
        self.suite.limiter_policy
    }

    fn registrar(&self) -> Result<Arc<dyn ClientRegistrar>, String> {
        self.suite
            .registrar
            .clone()
            .ok_or_else(|| "no client registrar".to_owned())
    }
}

/// Handle `i` modulo the number of handles (never called for an empty list: the check is
/// skipped).
fn pick<T: ?Sized>(handles: &[Arc<T>], i: usize) -> Arc<T> {
    Arc::clone(&handles[i % handles.len()])
}

/// A fresh random digest, as of a newly generated token.
fn fresh_hash() -> TokenHash {
    TokenHash::of(&random_secret(&crate::random::SystemRandom))
}

/// Two resources (with a query and a port, which must come back exactly), for records that
/// carry resources.
fn two_resources() -> Resources {
    [
        "https://rs.example.com:8443/api?tenant=a",
        "urn:example:resource",
    ]
    .into_iter()
    .filter_map(|r| ResourceUri::parse(r).ok())
    .collect()
}

/// A fresh client id, so runs never collide.
fn fresh_client(prefix: &str) -> Result<ClientId, String> {
    ClientId::new(&format!(
        "{prefix}-{}",
        &random_secret(&crate::random::SystemRandom)[..12]
    ))
    .map_err(|e| e.to_string())
}

/// Describes a storage failure as a check failure.
fn storage<T>(result: Result<T, StorageError>, what: &str) -> Result<T, String> {
    result.map_err(|e| {
        let cause = std::error::Error::source(&e).map_or_else(String::new, |c| format!(": {c}"));
        format!("{what} failed with a storage error{cause}")
    })
}

/// Calls a store method and awaits it, failing the check on a storage error that names
/// the method: `call!(ctx.tokens(0), revoke(&hash))`.
macro_rules! call {
    ($store:expr, $method:ident($($arg:expr),* $(,)?)) => {
        storage($store.$method($($arg),*).await, stringify!($method))?
    };
}
use call;

/// Fails the check with a message unless `cond` holds.
macro_rules! ensure {
    ($cond:expr, $($message:tt)+) => {
        if !$cond {
            return Err(format!($($message)+));
        }
    };
}
use ensure;

/// Fails unless exactly one of the `of` racing calls won.
fn exactly_one(winners: usize, of: usize, what: &str) -> Outcome {
    ensure!(winners == 1, "{winners} of {of} concurrent {what}");
    Ok(())
}

/// Starts `tasks` futures at once (each waits at a barrier until all are spawned) on the
/// current Tokio runtime and collects their outputs in order.
async fn race<T, F, Fut>(tasks: usize, make: F) -> Result<Vec<T>, String>
where
    F: Fn(usize) -> Fut,
    Fut: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let runtime = tokio::runtime::Handle::try_current()
        .map_err(|_| "the races need a Tokio runtime (use #[tokio::test])".to_owned())?;
    let barrier = Arc::new(tokio::sync::Barrier::new(tasks));
    let handles: Vec<_> = (0..tasks)
        .map(|i| {
            let call = make(i);
            let barrier = Arc::clone(&barrier);
            runtime.spawn(async move {
                barrier.wait().await;
                call.await
            })
        })
        .collect();
    let mut outputs = Vec::with_capacity(tasks);
    for handle in handles {
        outputs.push(
            handle
                .await
                .map_err(|e| format!("a racing task failed: {e}"))?,
        );
    }
    Ok(outputs)
}
