//! [`PgAttemptLimiter`]: brute-force counts in `grantflow_attempts`, shared by every
//! instance.

use std::fmt;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use sqlx::postgres::PgPool;

use super::{duration_ns, ns_duration, purge_in_batches, storage_error, to_ns};
use crate::error::StorageError;
use crate::limiter::{AttemptKey, AttemptLimiter, Outcome, Throttle};
use crate::secret::TokenHash;

/// An [`AttemptLimiter`] in PostgreSQL: the same contract and policy as
/// [`MemoryAttemptLimiter`](crate::limiter::MemoryAttemptLimiter) (at most `max_attempts` failures
/// per key in a fixed window, then a lockout until it ends), with the counts in the
/// database, so that N instances behind a load balancer allow `max_attempts` guesses per
/// window in all, not N times as many ([RFC 6749 §2.3.1], [RFC 6749 §4.3.2], [RFC 8628 §5.1]).
///
/// [`check`](AttemptLimiter::check), and [`record`](AttemptLimiter::record) of a success,
/// are one primary-key read each: a client's successful requests write nothing.
/// `record` of a failure is one upsert that counts it only while the key has failures
/// left; concurrent failures queue on the key's row, so no more than `max_attempts` of
/// them are ever answered in a window, across instances. Keys are stored as SHA-256
/// digests. Rows whose window has ended are deleted by
/// [`PgStores::purge_expired`](super::PgStores::purge_expired).
///
/// Make one per limiter with [`PgStores::attempt_limiter`](super::PgStores::attempt_limiter):
///
/// ```no_run
/// # async fn run(pool: grantflow::postgres::PgPool) -> Result<(), Box<dyn std::error::Error>> {
/// use std::time::Duration;
/// use grantflow::Server;
/// use grantflow::postgres::PgStores;
///
/// let stores = PgStores::new(pool);
/// let server = Server::builder("https://as.example.com", stores.clients(), stores.tokens())
///     // The server's default policies, with counts shared by every instance:
///     .attempt_limiter(stores.attempt_limiter(10, Duration::from_secs(60)))
///     .password_limiter(stores.attempt_limiter(5, Duration::from_secs(300)))
///     .user_code_limiter(stores.attempt_limiter(5, Duration::from_secs(600)))
///     .build()?;
/// # let _ = server;
/// # Ok(()) }
/// ```
///
/// [RFC 6749 §2.3.1]: https://www.rfc-editor.org/rfc/rfc6749#section-2.3.1
/// [RFC 6749 §4.3.2]: https://www.rfc-editor.org/rfc/rfc6749#section-4.3.2
/// [RFC 8628 §5.1]: https://www.rfc-editor.org/rfc/rfc8628#section-5.1
#[derive(Clone)]
pub struct PgAttemptLimiter {
    pool: PgPool,
    max_attempts: i32,
    window: Duration,
}

impl fmt::Debug for PgAttemptLimiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PgAttemptLimiter")
            .field("max_attempts", &self.max_attempts)
            .field("window", &self.window)
            .finish_non_exhaustive()
    }
}

impl PgAttemptLimiter {
    /// A limiter over `pool` allowing `max_attempts` failures per key in each `window`, clamped as by [`MemoryAttemptLimiter::new`](crate::limiter::MemoryAttemptLimiter::new):
    /// at least 1 attempt, at most a one-day window. The schema must be applied
    /// ([`PgStores::migrate`](super::PgStores::migrate)).
    pub fn new(pool: PgPool, max_attempts: u32, window: Duration) -> Self {
        Self {
            pool,
            max_attempts: i32::try_from(max_attempts.max(1)).unwrap_or(i32::MAX),
            window: window.min(Duration::from_secs(86_400)),
        }
    }

    /// Deletes the rows whose window ended at or before `now`, at most 1,000 per
    /// statement, and returns how many went. [`PgStores::purge_expired`] calls it.
    ///
    /// [`PgStores::purge_expired`]: super::PgStores::purge_expired
    ///
    /// # Errors
    /// [`StorageError`] for a backend failure.
    pub async fn purge_expired(&self, now: SystemTime) -> Result<usize, StorageError> {
        purge(&self.pool, now).await
    }
}

/// The purge of every limiter's rows (they share one table).
pub(super) async fn purge(pool: &PgPool, now: SystemTime) -> Result<usize, StorageError> {
    purge_in_batches(
        pool,
        "WITH gone AS (DELETE FROM grantflow_attempts WHERE key_hash IN (SELECT key_hash FROM \
         grantflow_attempts WHERE window_ends_ns <= $1 LIMIT $2 FOR UPDATE SKIP LOCKED) \
         RETURNING 1) SELECT count(*), count(*) FROM gone",
        to_ns(now),
    )
    .await
}

/// Counts a failure unless the key's window is live and used up (`$2` is now, `$3` the end
/// of a window starting now, `$4` the most failures). The upsert's `WHERE` leaves a
/// used-up row alone and returns nothing from `counted`; the second branch then reads when
/// that row's window ends. (It reads the statement's snapshot, which may be older than the
/// row the upsert saw: a row a concurrent first failure inserted is then invisible, and a
/// row another instance just moved to a new window still shows the old end. Either way
/// the caller is told to wait a whole window, the safe side.)
const COUNT_FAILURE: &str = "\
    WITH counted AS (\
        INSERT INTO grantflow_attempts AS a (key_hash, window_ends_ns, attempts) \
        VALUES ($1, $3, 1) \
        ON CONFLICT (key_hash) DO UPDATE SET \
            window_ends_ns = CASE WHEN a.window_ends_ns <= $2 THEN $3 ELSE a.window_ends_ns END, \
            attempts = CASE WHEN a.window_ends_ns <= $2 THEN 1 ELSE a.attempts + 1 END \
        WHERE a.window_ends_ns <= $2 OR a.attempts < $4 \
        RETURNING window_ends_ns) \
    SELECT true, window_ends_ns FROM counted \
    UNION ALL \
    SELECT false, window_ends_ns FROM grantflow_attempts \
    WHERE key_hash = $1 AND NOT EXISTS (SELECT 1 FROM counted)";

/// When the key's lockout ends, if it is locked out (`$2` now, `$3` the most failures).
const LOCKOUT: &str = "SELECT window_ends_ns FROM grantflow_attempts \
    WHERE key_hash = $1 AND window_ends_ns > $2 AND attempts >= $3";

impl PgAttemptLimiter {
    async fn lockout(&self, key: &str, now: i64) -> Result<Throttle, StorageError> {
        let ends: Option<i64> = sqlx::query_scalar(LOCKOUT)
            .bind(TokenHash::of(key).as_bytes().as_slice())
            .bind(now)
            .bind(self.max_attempts)
            .fetch_optional(&self.pool)
            .await
            .map_err(storage_error)?;
        Ok(match ends {
            Some(ends) => Throttle::Deny {
                retry_after: ns_duration(ends.saturating_sub(now)),
            },
            None => Throttle::Allow,
        })
    }

    async fn count_failure(&self, key: &str, now: i64) -> Result<Throttle, StorageError> {
        let row: Option<(bool, i64)> = sqlx::query_as(COUNT_FAILURE)
            .bind(TokenHash::of(key).as_bytes().as_slice())
            .bind(now)
            .bind(now.saturating_add(duration_ns(self.window)))
            .bind(self.max_attempts)
            .fetch_optional(&self.pool)
            .await
            .map_err(storage_error)?;
        Ok(match row {
            Some((true, _)) => Throttle::Allow,
            Some((false, ends)) if ends > now => Throttle::Deny {
                retry_after: ns_duration(ends - now),
            },
            _ => Throttle::Deny {
                retry_after: self.window,
            },
        })
    }
}

#[async_trait]
impl AttemptLimiter for PgAttemptLimiter {
    async fn check(&self, key: &AttemptKey, now: SystemTime) -> Result<Throttle, StorageError> {
        self.lockout(key.as_str(), to_ns(now)).await
    }

    async fn record(
        &self,
        key: &AttemptKey,
        outcome: Outcome,
        now: SystemTime,
    ) -> Result<Throttle, StorageError> {
        match outcome {
            Outcome::Success => self.lockout(key.as_str(), to_ns(now)).await,
            Outcome::Failure => self.count_failure(key.as_str(), to_ns(now)).await,
        }
    }
}
