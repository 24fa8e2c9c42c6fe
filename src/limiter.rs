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
use crate::types::ClientId;

pub use crate::store::memory::MemoryAttemptLimiter;

/// What an [`AttemptLimiter`] counts guesses of: the kind of secret and whose it is,
/// written `<kind>:<value>`. The server builds one per credential it checks:
///
/// | guessed | key | built by |
/// |---|---|---|
/// | a client's secret ([RFC 6749 §2.3.1](https://www.rfc-editor.org/rfc/rfc6749#section-2.3.1)) | `client:<client_id>` | [`client`](Self::client) |
/// | a user's password, password grant ([RFC 6749 §4.3.2](https://www.rfc-editor.org/rfc/rfc6749#section-4.3.2)) | `password:<username>` | [`username`](Self::username) |
/// | user codes entered by one person ([RFC 8628 §5.1](https://www.rfc-editor.org/rfc/rfc8628#section-5.1)) | `user_code:<entered by>` | [`user_code_entry`](Self::user_code_entry) |
///
/// A limiter stores and compares [`as_str`](Self::as_str); the prefix keeps the kinds
/// apart when one limiter serves several.
///
/// ```
/// use grantflow::ClientId;
/// use grantflow::limiter::AttemptKey;
///
/// assert_eq!(AttemptKey::client(&ClientId::new("s6BhdRkqt3")?).as_str(), "client:s6BhdRkqt3");
/// assert_eq!(AttemptKey::user_code_entry("session:4f1c").as_str(), "user_code:session:4f1c");
/// # Ok::<(), grantflow::ClientError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct AttemptKey(String);

impl AttemptKey {
    /// The secret of the client `id`, checked at the token-style endpoints.
    pub fn client(id: &ClientId) -> Self {
        Self::custom("client", id.as_str())
    }

    /// The password of the user `username`, checked by the password grant.
    pub fn username(username: &str) -> Self {
        Self::custom("password", username)
    }

    /// The user codes entered by `entered_by` (a session, an account, an address) on the
    /// device verification page.
    pub fn user_code_entry(entered_by: &str) -> Self {
        Self::custom("user_code", entered_by)
    }

    /// A key of the host's own, for a host that limits checks of its own (a sign-in page)
    /// with an [`AttemptLimiter`]: `<kind>:<value>`. Use a `kind` other than the crate's
    /// (`client`, `password`, `user_code`) when the limiter is shared with the server.
    pub fn custom(kind: &str, value: &str) -> Self {
        let mut key = String::with_capacity(kind.len() + 1 + value.len());
        key.push_str(kind);
        key.push(':');
        key.push_str(value);
        Self(key)
    }

    /// The key as text, `<kind>:<value>`: what a limiter stores.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

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
/// secret-based client authentication against brute force, [RFC 6749 §2.3.1]).
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
/// Keys name what is guessed, prefixed by kind ([`AttemptKey`]). Implement the trait over a
/// shared store (an atomic increment in Redis, an upsert
/// in PostgreSQL as [`PgAttemptLimiter`] does) when several instances must share counts.
///
/// [`PgAttemptLimiter`]: https://docs.rs/grantflow/latest/grantflow/struct.PgAttemptLimiter.html
///
/// [RFC 6749 §2.3.1]: https://www.rfc-editor.org/rfc/rfc6749#section-2.3.1
#[async_trait]
pub trait AttemptLimiter: Send + Sync + fmt::Debug {
    /// Whether `key` is locked out at `now`: [`Throttle::Deny`] once its failures in the
    /// current window have reached the limit. Counts nothing.
    ///
    /// # Errors
    /// [`StorageError`] for a backend failure.
    async fn check(&self, key: &AttemptKey, now: SystemTime) -> Result<Throttle, StorageError>;

    /// Records the outcome of a check of `key` and says whether it may be answered (see
    /// the contract above).
    ///
    /// # Errors
    /// [`StorageError`] for a backend failure.
    async fn record(
        &self,
        key: &AttemptKey,
        outcome: Outcome,
        now: SystemTime,
    ) -> Result<Throttle, StorageError>;

    /// Whether the limiter's backend answers, for [`Server::health`](crate::Server::health).
    /// The default [`check`](Self::check)s a key of its own, which counts nothing (one
    /// round trip); override it with a cheaper ping if there is one.
    ///
    /// # Errors
    /// [`StorageError`] when the backend does not answer.
    async fn check_health(&self) -> Result<(), StorageError> {
        let probe = AttemptKey::custom("health", crate::store::HEALTH_PROBE);
        self.check(&probe, SystemTime::UNIX_EPOCH).await.map(|_| ())
    }
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
    key: &AttemptKey,
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
