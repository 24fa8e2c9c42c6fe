//! Brute-force protection for secret checks
//! ([RFC 6749 §2.3.1](https://www.rfc-editor.org/rfc/rfc6749#section-2.3.1),
//! [RFC 8628 §5.1](https://www.rfc-editor.org/rfc/rfc8628#section-5.1)): the pluggable
//! [`AttemptLimiter`] and its in-memory implementation, [`MemoryAttemptLimiter`]. The
//! server puts one in front of client secrets, one in front of user-code entry and one in
//! front of the password grant; each can be replaced on the
//! [`ServerBuilder`](crate::ServerBuilder).

// The in-memory limiter lives in store/memory/limiter.rs and the PostgreSQL one in
// store/postgres/limiter.rs, next to the other stores of their backend.

use std::fmt;
use std::future::Future;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;

use crate::error::StorageError;

pub use crate::store::memory::MemoryAttemptLimiter;

/// Whether an attempt may go ahead, or its outcome be answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Throttle {
    /// Go ahead: check the credential, or answer the outcome.
    Allow,
    /// The key is locked out: refuse, whatever the credential; the caller may retry after
    /// this long.
    Deny {
        /// How long until attempts are allowed again.
        retry_after: Duration,
    },
}

/// How a checked attempt ended, for [`AttemptLimiter::record`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// The credential was right.
    Success,
    /// The credential was wrong (or, for user codes, any entry: every one counts).
    Failure,
}

/// Limits guesses of a secret per key (RFC 6749 §2.3.1: the server MUST protect
/// secret-based client authentication against brute force, TE-10).
///
/// # Contract
/// Before checking a credential the server asks [`check`](Self::check), and skips the check
/// of a key that is locked out. After the check it [`record`](Self::record)s the outcome and
/// answers as `record` says: `Allow` answers the outcome (the token, or the failure);
/// `Deny` refuses exactly as a locked-out key is refused, whether the credential was right
/// or wrong. `record` decides in one atomic step per key:
/// - a [`Failure`](Outcome::Failure) is counted, and allowed, only while the key has fewer
///   than the limit counted in its window; once the limit is reached, every outcome is
///   denied until the window ends;
/// - a [`Success`](Outcome::Success) counts nothing and is allowed unless the limit is
///   reached.
///
/// So however many guesses run at once, at most the limit of them get a meaningful answer
/// in a window, and the locked-out answer teaches a guesser nothing (a right secret gets it
/// too). Successes never wipe out an attacker's failures on the same key, and a client's
/// own concurrent requests never throttle each other: only failures count, not requests in
/// flight.
///
/// Keys name what is guessed, prefixed by kind: `client:<client_id>` at the token
/// endpoint, `password:<username>` for the password grant, `user_code:<who>` for user-code
/// entry. Implement the trait over a shared store (an atomic increment in Redis, an upsert
/// in PostgreSQL as [`PgAttemptLimiter`] does) when several instances must share counts.
///
/// [`PgAttemptLimiter`]: https://docs.rs/grantflow/latest/grantflow/struct.PgAttemptLimiter.html
#[async_trait]
pub trait AttemptLimiter: Send + Sync + fmt::Debug {
    /// Whether `key` is locked out at `now`: [`Throttle::Deny`] once its failures in the
    /// current window have reached the limit. Counts nothing.
    ///
    /// # Errors
    /// [`StorageError`] for a backend failure.
    async fn check(&self, key: &str, now: SystemTime) -> Result<Throttle, StorageError>;

    /// Records the outcome of a check of `key` and says whether it may be answered (see
    /// the contract above).
    ///
    /// # Errors
    /// [`StorageError`] for a backend failure.
    async fn record(
        &self,
        key: &str,
        outcome: Outcome,
        now: SystemTime,
    ) -> Result<Throttle, StorageError>;
}

/// What [`limited`] lets the server answer.
pub(crate) enum Limited<T> {
    /// What the check found, to answer as it is.
    Answer(T),
    /// Refused as locked out, whatever the check found (or without a check); attempts are
    /// accepted again after this long.
    Throttled(Duration),
}

/// The server's side of the [`AttemptLimiter`] contract, for every credential it checks:
/// `verify` runs only if `key` is not locked out, and what it found comes back only if the
/// limiter lets its [`Outcome`] be answered.
pub(crate) async fn limited<T, E>(
    limiter: &dyn AttemptLimiter,
    key: &str,
    now: SystemTime,
    verify: impl Future<Output = Result<(Outcome, T), E>>,
) -> Result<Limited<T>, E>
where
    E: From<StorageError>,
{
    if let Throttle::Deny { retry_after } = limiter.check(key, now).await? {
        return Ok(Limited::Throttled(retry_after));
    }
    let (outcome, found) = verify.await?;
    Ok(match limiter.record(key, outcome, now).await? {
        Throttle::Allow => Limited::Answer(found),
        Throttle::Deny { retry_after } => Limited::Throttled(retry_after),
    })
}
