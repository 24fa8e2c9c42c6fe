//! PostgreSQL implementations of every store trait, for deployments of several instances
//! over one database. Behind the `postgres` feature.
//!
//! Single use is decided in SQL, never in process memory: a code redemption, a device-code
//! redemption and a refresh rotation are each one statement whose row lock gives exactly
//! one winner across any number of instances, and the losers learn which grant won so
//! their replay revokes it. Stores see digests only.

mod clients;
mod codes;
mod devices;
#[cfg(feature = "jwt")]
mod keys;
mod limiter;
mod pushed;
mod single_use;
mod tokens;

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sqlx::postgres::PgPool;

use crate::error::StorageError;
use crate::secret::TokenHash;
use crate::types::{ClientId, GrantId, ResourceUri, Resources, Scope};

pub use clients::PgClientRegistry;
pub use codes::PgCodeStore;
pub use devices::PgDeviceStore;
#[cfg(feature = "jwt")]
pub use keys::PgKeySetStore;
pub use limiter::PgAttemptLimiter;
pub use pushed::PgPushedRequestStore;
pub use single_use::PgSingleUseStore;
pub use tokens::PgTokenStore;

/// The schema migrations shipped with the crate, in order: (version, SQL).
const MIGRATIONS: &[(i32, &str)] = &[
    (1, include_str!("migrations/0001_initial.sql")),
    (2, include_str!("migrations/0002_attempts.sql")),
    (3, include_str!("migrations/0003_signing_keys.sql")),
    (4, include_str!("migrations/0004_access_token_format.sql")),
    (5, include_str!("migrations/0005_single_use.sql")),
    (6, include_str!("migrations/0006_openid.sql")),
    (7, include_str!("migrations/0007_resources.sql")),
    (8, include_str!("migrations/0008_pushed_requests.sql")),
    (9, include_str!("migrations/0009_registration.sql")),
    (10, include_str!("migrations/0010_dpop.sql")),
    (11, include_str!("migrations/0011_request_objects.sql")),
];

/// The advisory lock that serializes concurrent [`PgStores::migrate`] calls (instances
/// starting at once): the text `grantflow` as a number.
const MIGRATION_LOCK: i64 = 0x6772_616e_7466_6c6f;

/// How many expired rows one purge statement deletes at most: each statement stays short
/// (bounded locks and WAL), and a purge loops until nothing expired is left.
const PURGE_BATCH: i64 = 1000;

/// The PostgreSQL stores of one deployment, sharing one connection pool.
///
/// Every instance of the host's server builds its own `PgStores` (with its own pool) over
/// the same database; codes, tokens, device requests and clients are then shared, and every
/// single-use guarantee holds across instances. Apply the schema once at startup with
/// [`PgStores::migrate`]; safe to call from every instance at once.
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use grantflow::Server;
/// use grantflow::postgres::PgStores;
/// use grantflow::postgres::PgPoolOptions;
///
/// let pool = PgPoolOptions::new()
///     .max_connections(16)
///     .connect("postgres://grantflow@db.internal/grantflow")
///     .await?;
/// PgStores::migrate(&pool).await?;
/// let stores = PgStores::new(pool);
/// let server = Server::builder("https://as.example.com", stores.clients(), stores.tokens())
///     .code_store(stores.codes())
///     .single_use_store(stores.single_use())
///     .device_store(stores.devices())
///     .build()?;
/// // From a timer, now and then (each statement deletes at most 1,000 rows):
/// stores.purge_expired(std::time::SystemTime::now()).await?;
/// # let _ = server;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct PgStores {
    pool: PgPool,
    clients: Arc<PgClientRegistry>,
    codes: Arc<PgCodeStore>,
    tokens: Arc<PgTokenStore>,
    devices: Arc<PgDeviceStore>,
    single_use: Arc<PgSingleUseStore>,
    pushed_requests: Arc<PgPushedRequestStore>,
}

impl fmt::Debug for PgStores {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The pool's connect options hold the database password: never printed.
        f.debug_struct("PgStores").finish_non_exhaustive()
    }
}

impl PgStores {
    /// The stores over `pool`. The schema must be applied ([`migrate`](Self::migrate)).
    pub fn new(pool: PgPool) -> Self {
        Self {
            clients: Arc::new(PgClientRegistry::new(pool.clone())),
            codes: Arc::new(PgCodeStore::new(pool.clone())),
            tokens: Arc::new(PgTokenStore::new(pool.clone())),
            devices: Arc::new(PgDeviceStore::new(pool.clone())),
            single_use: Arc::new(PgSingleUseStore::new(pool.clone())),
            pushed_requests: Arc::new(PgPushedRequestStore::new(pool.clone())),
            pool,
        }
    }

    /// Creates or upgrades grantflow's tables (all named `grantflow_*`) to the schema this
    /// version of the crate uses, in one transaction. Concurrent calls, from instances that
    /// start together, wait for each other; a database already up to date is left as it
    /// is.
    ///
    /// It also checks, on the connection it migrates with, that `pool` runs at PostgreSQL's
    /// default isolation level, READ COMMITTED (give [`PgStores::new`] the same pool, so
    /// the check speaks for the stores), which the stores' single-statement atomicity relies on: at
    /// REPEATABLE READ or SERIALIZABLE, the losers of a race for one code or refresh token
    /// would fail with a serialization error (503) instead of being recognised as replays
    /// that revoke the grant ([RFC 6749 §4.1.2], [RFC 9700 §4.14.2]). Where the database or role
    /// defaults to a
    /// stricter level, give grantflow's pool its own: run
    /// `SET default_transaction_isolation = 'read committed'` in
    /// [`PgPoolOptions::after_connect`](sqlx::postgres::PgPoolOptions::after_connect).
    ///
    /// # Errors
    /// [`StorageError`] when the database cannot be reached or refuses the schema, when
    /// it was migrated by a newer version of grantflow than this one, or when connections
    /// default to an isolation level other than READ COMMITTED.
    ///
    /// [RFC 6749 §4.1.2]: https://www.rfc-editor.org/rfc/rfc6749#section-4.1.2
    /// [RFC 9700 §4.14.2]: https://www.rfc-editor.org/rfc/rfc9700#section-4.14.2
    pub async fn migrate(pool: &PgPool) -> Result<(), StorageError> {
        let mut tx = pool.begin().await.map_err(storage_error)?;
        let isolation: String =
            sqlx::query_scalar("SELECT current_setting('default_transaction_isolation')")
                .fetch_one(&mut *tx)
                .await
                .map_err(storage_error)?;
        if isolation != "read committed" {
            return Err(StorageError::new(format!(
                "grantflow's PostgreSQL stores need READ COMMITTED isolation, but the \
                 connections default to {isolation}: set default_transaction_isolation to \
                 'read committed' for grantflow's pool (PgPoolOptions::after_connect)"
            )));
        }
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(MIGRATION_LOCK)
            .execute(&mut *tx)
            .await
            .map_err(storage_error)?;
        sqlx::query(
            "CREATE TABLE IF NOT EXISTS grantflow_schema (\
             version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())",
        )
        .execute(&mut *tx)
        .await
        .map_err(storage_error)?;
        let current: Option<i32> = sqlx::query_scalar("SELECT max(version) FROM grantflow_schema")
            .fetch_one(&mut *tx)
            .await
            .map_err(storage_error)?;
        let current = current.unwrap_or(0);
        let newest = MIGRATIONS.last().map_or(0, |(version, _)| *version);
        if current > newest {
            return Err(StorageError::new(format!(
                "the database schema is version {current}, newer than this grantflow's {newest}"
            )));
        }
        for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > current) {
            // Several statements: the simple query protocol.
            sqlx::Executor::execute(&mut *tx, *sql)
                .await
                .map_err(storage_error)?;
            sqlx::query("INSERT INTO grantflow_schema (version) VALUES ($1)")
                .bind(version)
                .execute(&mut *tx)
                .await
                .map_err(storage_error)?;
        }
        tx.commit().await.map_err(storage_error)
    }

    /// The client registry, for [`Server::builder`](crate::Server::builder).
    pub fn clients(&self) -> Arc<PgClientRegistry> {
        Arc::clone(&self.clients)
    }

    /// The code store, for [`ServerBuilder::code_store`](crate::ServerBuilder::code_store).
    pub fn codes(&self) -> Arc<PgCodeStore> {
        Arc::clone(&self.codes)
    }

    /// The token store, for [`Server::builder`](crate::Server::builder).
    pub fn tokens(&self) -> Arc<PgTokenStore> {
        Arc::clone(&self.tokens)
    }

    /// The device store, for
    /// [`ServerBuilder::device_store`](crate::ServerBuilder::device_store).
    pub fn devices(&self) -> Arc<PgDeviceStore> {
        Arc::clone(&self.devices)
    }

    /// The single-use store (the `jti`s of client assertions), for
    /// [`ServerBuilder::single_use_store`](crate::ServerBuilder::single_use_store).
    pub fn single_use(&self) -> Arc<PgSingleUseStore> {
        Arc::clone(&self.single_use)
    }

    /// The pushed authorization request store, for
    /// [`ServerBuilder::pushed_authorization`](crate::ServerBuilder::pushed_authorization).
    pub fn pushed_requests(&self) -> Arc<PgPushedRequestStore> {
        Arc::clone(&self.pushed_requests)
    }

    /// The store of signing-key sets (feature `jwt`), for
    /// [`KeySet::builder`](crate::jose::KeySet::builder).
    #[cfg(feature = "jwt")]
    pub fn key_sets(&self) -> Arc<PgKeySetStore> {
        Arc::new(PgKeySetStore::new(self.pool.clone()))
    }

    /// An attempt limiter whose counts every instance shares: `max_attempts` unsuccessful
    /// attempts per key in each `window` (see [`PgAttemptLimiter`]). Give one to each of
    /// [`ServerBuilder::attempt_limiter`](crate::ServerBuilder::attempt_limiter),
    /// [`password_limiter`](crate::ServerBuilder::password_limiter) and
    /// [`user_code_limiter`](crate::ServerBuilder::user_code_limiter): their in-memory
    /// defaults count per instance, so N instances would allow N times the guesses.
    pub fn attempt_limiter(&self, max_attempts: u32, window: Duration) -> Arc<PgAttemptLimiter> {
        Arc::new(PgAttemptLimiter::new(
            self.pool.clone(),
            max_attempts,
            window,
        ))
    }

    /// Deletes what expired at or before `now` from every table (codes, tokens and
    /// rotated-out markers, grant tombstones, device requests past their retention,
    /// single-use records, attempt counts whose window ended, and with the `jwt` feature the
    /// records of signing keys removed from their key sets), in
    /// statements of at most 1,000 rows each, and returns how many records went. Run it
    /// from a timer; several instances may run it at once (they skip each other's rows).
    ///
    /// # Errors
    /// [`StorageError`] for a backend failure; what was purged before it stays purged.
    pub async fn purge_expired(&self, now: SystemTime) -> Result<usize, StorageError> {
        use crate::store::{
            CodeStore as _, DeviceStore as _, PushedRequestStore as _, SingleUseStore as _,
            TokenStore as _,
        };
        let purged = self.codes.purge_expired(now).await?
            + self.single_use.purge_expired(now).await?
            + self.pushed_requests.purge_expired(now).await?
            + self.tokens.purge_expired(now).await?
            + self.devices.purge_expired(now).await?
            + limiter::purge(&self.pool, now).await?;
        // A key set holds a handful of keys: one statement, no batches.
        #[cfg(feature = "jwt")]
        let purged = purged
            + crate::jose::KeySetStore::purge(&PgKeySetStore::new(self.pool.clone()), now).await?;
        Ok(purged)
    }
}

/// Runs a purge statement again and again until it deletes less than a full batch. The
/// statement takes `$1` (now, in nanoseconds) and `$2` (the batch size), deletes at most
/// `$2` rows, and returns two counts: rows deleted, and how many of them are records the
/// caller reports.
async fn purge_in_batches(
    pool: &PgPool,
    sql: &'static str,
    now: i64,
) -> Result<usize, StorageError> {
    let mut total = 0usize;
    loop {
        let (deleted, counted): (i64, i64) = sqlx::query_as(sql)
            .bind(now)
            .bind(PURGE_BATCH)
            .fetch_one(pool)
            .await
            .map_err(storage_error)?;
        total = total.saturating_add(usize::try_from(counted).unwrap_or(0));
        if deleted < PURGE_BATCH {
            return Ok(total);
        }
    }
}

/// Maps a sqlx failure to a [`StorageError`]: transient (the client sees
/// `temporarily_unavailable`) for what passes on its own, such as a refused or broken
/// connection, an exhausted pool, a timeout, a serialization failure or deadlock, a server
/// shutting down or failing over; `server_error` for the rest.
pub(crate) fn storage_error(error: sqlx::Error) -> StorageError {
    if is_transient(&error) {
        StorageError::transient(error)
    } else {
        StorageError::new(error)
    }
}

fn is_transient(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => db.code().is_some_and(|code| is_transient_state(&code)),
        _ => false,
    }
}

/// Whether a SQLSTATE names a condition that passes: connection exceptions (class 08),
/// serialization failure and deadlock (40001, 40P01), insufficient resources (class 53),
/// lock not available (55P03), query canceled by `statement_timeout` (57014), the server
/// shutting down or starting (57P01..57P03), a read-only standby after failover (25006),
/// and I/O errors (58030).
fn is_transient_state(code: &str) -> bool {
    code.starts_with("08")
        || code.starts_with("53")
        || matches!(
            code,
            "40001" | "40P01" | "55P03" | "57014" | "57P01" | "57P02" | "57P03" | "25006" | "58030"
        )
}

/// A row that does not decode into the crate's types: the table was written by something
/// else, or damaged. Not transient.
fn corrupt(what: &'static str) -> StorageError {
    StorageError::new(format!("grantflow tables hold an invalid {what}"))
}

/// Nanoseconds since the Unix epoch, saturated to the `BIGINT` range (years 1677 to 2262).
fn to_ns(time: SystemTime) -> i64 {
    match time.duration_since(UNIX_EPOCH) {
        Ok(since) => i64::try_from(since.as_nanos()).unwrap_or(i64::MAX),
        Err(before) => i64::try_from(before.duration().as_nanos()).map_or(i64::MIN, |n| -n),
    }
}

/// The inverse of [`to_ns`].
fn from_ns(ns: i64) -> SystemTime {
    let magnitude = Duration::from_nanos(ns.unsigned_abs());
    let time = if ns >= 0 {
        UNIX_EPOCH.checked_add(magnitude)
    } else {
        UNIX_EPOCH.checked_sub(magnitude)
    };
    time.unwrap_or(UNIX_EPOCH)
}

/// A duration in nanoseconds, saturated.
fn duration_ns(duration: Duration) -> i64 {
    i64::try_from(duration.as_nanos()).unwrap_or(i64::MAX)
}

/// A stored duration (never negative when the crate wrote it).
fn ns_duration(ns: i64) -> Duration {
    Duration::from_nanos(u64::try_from(ns).unwrap_or(0))
}

fn token_hash(bytes: &[u8]) -> Result<TokenHash, StorageError> {
    <[u8; 32]>::try_from(bytes)
        .map(TokenHash::from_bytes)
        .map_err(|_| corrupt("digest"))
}

fn grant_id(bytes: &[u8]) -> Result<GrantId, StorageError> {
    <[u8; 16]>::try_from(bytes)
        .map(GrantId::from_bytes)
        .map_err(|_| corrupt("grant id"))
}

fn client_id(text: &str) -> Result<ClientId, StorageError> {
    ClientId::new(text).map_err(|_| corrupt("client id"))
}

fn scope(text: &str) -> Result<Scope, StorageError> {
    Scope::parse(text).map_err(|_| corrupt("scope"))
}

/// Resources as stored: their identifiers separated by single spaces (an identifier has
/// none), like a scope; the empty set is the empty string.
fn resources_text(resources: &Resources) -> String {
    let mut text = String::new();
    for (i, resource) in resources.iter().enumerate() {
        if i > 0 {
            text.push(' ');
        }
        text.push_str(resource);
    }
    text
}

/// The resources of [`resources_text`], read back.
fn resources(text: &str) -> Result<Resources, StorageError> {
    text.split(' ')
        .filter(|r| !r.is_empty())
        .map(|r| ResourceUri::parse(r).map_err(|_| corrupt("resource")))
        .collect()
}

/// The `openid` column of a code or token row: the record's OpenID context, if any.
fn openid_from_row(
    row: &sqlx::postgres::PgRow,
) -> Result<Option<std::sync::Arc<crate::store::OpenIdContext>>, StorageError> {
    use sqlx::Row as _;
    row.try_get::<Option<&str>, _>("openid")
        .map_err(storage_error)?
        .map(|json| crate::store::OpenIdContext::from_json(json).map(std::sync::Arc::new))
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_round_trip_to_the_nanosecond_and_saturate() {
        for time in [
            UNIX_EPOCH,
            UNIX_EPOCH + Duration::new(1_700_000_000, 123_456_789),
            UNIX_EPOCH - Duration::new(5, 1),
        ] {
            assert_eq!(from_ns(to_ns(time)), time);
        }
        let far = UNIX_EPOCH + Duration::from_secs(400 * 365 * 86_400);
        assert_eq!(to_ns(far), i64::MAX);
        assert_eq!(duration_ns(Duration::MAX), i64::MAX);
        assert_eq!(ns_duration(-1), Duration::ZERO);
    }

    #[test]
    fn transient_states_are_the_passing_ones() {
        for code in [
            "40001", "40P01", "57014", "08006", "53300", "57P01", "25006",
        ] {
            assert!(is_transient_state(code), "{code}");
        }
        for code in ["23505", "42P01", "22001", "XX000"] {
            assert!(!is_transient_state(code), "{code}");
        }
        assert!(storage_error(sqlx::Error::PoolTimedOut).is_transient());
        assert!(!storage_error(sqlx::Error::PoolClosed).is_transient());
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        assert!(storage_error(sqlx::Error::Io(refused)).is_transient());
    }

    #[test]
    fn resources_round_trip_as_text() {
        let set = Resources::new([
            ResourceUri::parse("https://a.example/x?y=1").unwrap(),
            ResourceUri::parse("urn:b").unwrap(),
        ]);
        assert_eq!(resources_text(&set), "https://a.example/x?y=1 urn:b");
        assert_eq!(resources(&resources_text(&set)).unwrap(), set);
        assert_eq!(resources("").unwrap(), Resources::empty());
        assert!(resources("/relative").is_err());
    }

    #[test]
    fn migrations_are_numbered_in_order() {
        assert!(MIGRATIONS.windows(2).all(|w| w[0].0 < w[1].0));
        assert_eq!(MIGRATIONS.first().map(|m| m.0), Some(1));
    }
}
