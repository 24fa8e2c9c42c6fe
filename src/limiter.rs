//! Brute-force protection for secret checks (TE-10): a pluggable limiter of attempts, with
//! an in-memory default.

use std::collections::hash_map::RandomState;
use std::fmt;
use std::hash::BuildHasher;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;

use crate::error::StorageError;
use crate::hash::DigestMap;

/// Whether an attempt may go ahead.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Throttle {
    /// Check the credential.
    Allow,
    /// Refuse without checking; the caller may retry after this long.
    Deny {
        /// How long until attempts are allowed again.
        retry_after: Duration,
    },
}

/// Limits guesses of a secret per key (RFC 6749 §2.3.1: the server MUST protect
/// secret-based client authentication against brute force, TE-10).
///
/// # Contract
/// [`attempt`](Self::attempt) counts the attempt **before** the secret is checked and, in
/// the same atomic step, says whether the key still has attempts left. An attempt whose
/// secret then proves right calls [`record_success`](Self::record_success), which takes
/// back that one attempt, and only that one. So the count is the failures plus the
/// attempts in flight: concurrent guesses cannot slip past the limit between a check and a
/// later "record failure" (a check-then-record design lets every request in flight
/// through), and the real client's successes never wipe out an attacker's failures on the
/// same key.
///
/// Keys name what is guessed, prefixed by kind: the token endpoint uses
/// `client:<client_id>`. Implement the trait over a shared store (an atomic increment in
/// Redis, an `UPDATE … RETURNING` in PostgreSQL) when several instances must share counts.
#[async_trait]
pub trait AttemptLimiter: Send + Sync + fmt::Debug {
    /// Counts one attempt for `key` at `now` and says whether it may go ahead.
    ///
    /// # Errors
    /// [`StorageError`] for a backend failure.
    async fn attempt(&self, key: &str, now: SystemTime) -> Result<Throttle, StorageError>;

    /// Records that an attempt for `key` succeeded, which takes that attempt back off the
    /// count (failures stay counted).
    ///
    /// # Errors
    /// [`StorageError`] for a backend failure.
    async fn record_success(&self, key: &str, now: SystemTime) -> Result<(), StorageError>;
}

/// The in-memory [`AttemptLimiter`]: at most `max_attempts` attempts per key in a fixed
/// window, not counting those that succeeded; once they are used up, attempts are refused
/// until the window ends.
///
/// Defaults: 10 attempts per 60-second window, tracking at most 100,000 keys. Keys are kept
/// as 64-bit digests under a per-process random seed, so tracking a key allocates nothing
/// and an attacker cannot aim collisions. When the table is full, windows that have ended
/// are dropped first; if none has, new keys go untracked rather than the table growing.
///
/// ```
/// # fn block_on<F: std::future::Future>(f: F) -> F::Output {
/// #     let mut f = std::pin::pin!(f);
/// #     let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
/// #     loop { if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) { return v; } }
/// # }
/// use std::time::{Duration, SystemTime};
/// use grantflow::{AttemptLimiter, MemoryAttemptLimiter, Throttle};
///
/// let limiter = MemoryAttemptLimiter::new(3, Duration::from_secs(60));
/// let now = SystemTime::now();
/// for _ in 0..3 {
///     assert_eq!(block_on(limiter.attempt("client:c1", now))?, Throttle::Allow);
/// }
/// assert!(matches!(block_on(limiter.attempt("client:c1", now))?, Throttle::Deny { .. }));
/// let later = now + Duration::from_secs(60);
/// assert_eq!(block_on(limiter.attempt("client:c1", later))?, Throttle::Allow);
/// # Ok::<(), grantflow::StorageError>(())
/// ```
#[derive(Debug)]
pub struct MemoryAttemptLimiter {
    max_attempts: u32,
    window: Duration,
    capacity: usize,
    seed: RandomState,
    entries: Mutex<DigestMap<u64, Window>>,
}

#[derive(Debug, Clone, Copy)]
struct Window {
    started: SystemTime,
    attempts: u32,
}

impl MemoryAttemptLimiter {
    /// A limiter allowing `max_attempts` unsuccessful attempts per key in each `window`.
    /// `max_attempts` is at least 1 and `window` at most one day (larger values are
    /// clamped), so window arithmetic can never overflow.
    pub fn new(max_attempts: u32, window: Duration) -> Self {
        Self {
            max_attempts: max_attempts.max(1),
            window: window.min(Duration::from_secs(86_400)),
            capacity: 100_000,
            seed: RandomState::new(),
            entries: Mutex::default(),
        }
    }

    /// Sets how many keys are tracked at most (at least 1). Default: 100,000.
    #[must_use]
    pub fn with_capacity(mut self, capacity: usize) -> Self {
        self.capacity = capacity.max(1);
        self
    }

    /// When `window` ends. A clock so far in the future that the end cannot be
    /// represented counts as ended.
    fn window_end(&self, window: &Window) -> SystemTime {
        window
            .started
            .checked_add(self.window)
            .unwrap_or(window.started)
    }

    fn digest(&self, key: &str) -> u64 {
        self.seed.hash_one(key)
    }
}

impl Default for MemoryAttemptLimiter {
    fn default() -> Self {
        Self::new(10, Duration::from_secs(60))
    }
}

#[async_trait]
impl AttemptLimiter for MemoryAttemptLimiter {
    async fn attempt(&self, key: &str, now: SystemTime) -> Result<Throttle, StorageError> {
        let digest = self.digest(key);
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(window) = entries.get_mut(&digest) {
            let ends = self.window_end(window);
            if now >= ends {
                *window = Window {
                    started: now,
                    attempts: 1,
                };
            } else if window.attempts >= self.max_attempts {
                let retry_after = ends.duration_since(now).unwrap_or_default();
                return Ok(Throttle::Deny { retry_after });
            } else {
                window.attempts += 1;
            }
            return Ok(Throttle::Allow);
        }
        if entries.len() >= self.capacity {
            entries.retain(|_, w| w.attempts > 0 && now < self.window_end(w));
        }
        if entries.len() < self.capacity {
            entries.insert(
                digest,
                Window {
                    started: now,
                    attempts: 1,
                },
            );
        }
        Ok(Throttle::Allow)
    }

    async fn record_success(&self, key: &str, _now: SystemTime) -> Result<(), StorageError> {
        let digest = self.digest(key);
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        // The entry stays so a busy client does not insert and remove it on every request;
        // entries with no attempts left in them are the first dropped when the table is full.
        if let Some(window) = entries.get_mut(&digest) {
            window.attempts = window.attempts.saturating_sub(1);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::block_on;

    fn at(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1000 + secs)
    }

    #[test]
    fn te_10_attempts_are_counted_before_the_check_and_lock_out_until_the_window_ends() {
        let limiter = MemoryAttemptLimiter::new(2, Duration::from_secs(10));
        assert_eq!(
            block_on(limiter.attempt("k", at(0))).unwrap(),
            Throttle::Allow
        );
        assert_eq!(
            block_on(limiter.attempt("k", at(1))).unwrap(),
            Throttle::Allow
        );
        // Both attempts are still counted: a third, even concurrent, one is refused.
        assert_eq!(
            block_on(limiter.attempt("k", at(4))).unwrap(),
            Throttle::Deny {
                retry_after: Duration::from_secs(6)
            }
        );
        assert_eq!(
            block_on(limiter.attempt("other", at(4))).unwrap(),
            Throttle::Allow
        );
        assert_eq!(
            block_on(limiter.attempt("k", at(10))).unwrap(),
            Throttle::Allow
        );
    }

    #[test]
    fn te_10_success_clears_the_count() {
        let limiter = MemoryAttemptLimiter::new(2, Duration::from_secs(10));
        for _ in 0..10 {
            assert_eq!(
                block_on(limiter.attempt("k", at(0))).unwrap(),
                Throttle::Allow
            );
            block_on(limiter.record_success("k", at(0))).unwrap();
        }
    }

    #[test]
    fn capacity_bounds_the_table() {
        let limiter = MemoryAttemptLimiter::new(1, Duration::from_secs(10)).with_capacity(2);
        for key in ["a", "b", "c", "d"] {
            block_on(limiter.attempt(key, at(0))).unwrap();
        }
        assert_eq!(limiter.entries.lock().unwrap().len(), 2);
        // Untracked keys are not throttled; tracked ones are.
        assert_eq!(
            block_on(limiter.attempt("c", at(0))).unwrap(),
            Throttle::Allow
        );
        assert!(matches!(
            block_on(limiter.attempt("a", at(0))).unwrap(),
            Throttle::Deny { .. }
        ));
        // Once the windows have ended, new keys are tracked again.
        block_on(limiter.attempt("e", at(11))).unwrap();
        assert!(
            limiter
                .entries
                .lock()
                .unwrap()
                .contains_key(&limiter.digest("e"))
        );
    }
}
