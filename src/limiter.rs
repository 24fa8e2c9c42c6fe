//! Brute-force protection for secret checks (TE-10): a pluggable limiter of failed
//! attempts, with an in-memory default.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;

use crate::error::StorageError;

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

/// Counts failed credential checks per key and refuses further attempts once a key has
/// failed too often (RFC 6749 §2.3.1: the server MUST protect secret-based client
/// authentication against brute force, TE-10).
///
/// Keys name what is being guessed, prefixed by kind: the token endpoint uses
/// `client:<client_id>`. Implement the trait over a shared store (Redis, PostgreSQL) when
/// several instances must share their counts.
#[async_trait]
pub trait AttemptLimiter: Send + Sync + fmt::Debug {
    /// Whether an attempt for `key` may go ahead at `now`.
    ///
    /// # Errors
    /// [`StorageError`] for a backend failure.
    async fn check(&self, key: &str, now: SystemTime) -> Result<Throttle, StorageError>;

    /// Records a failed attempt for `key`.
    ///
    /// # Errors
    /// [`StorageError`] for a backend failure.
    async fn record_failure(&self, key: &str, now: SystemTime) -> Result<(), StorageError>;

    /// Records a successful attempt for `key`, which clears its failures.
    ///
    /// # Errors
    /// [`StorageError`] for a backend failure.
    async fn record_success(&self, key: &str, now: SystemTime) -> Result<(), StorageError>;
}

/// The in-memory [`AttemptLimiter`]: at most `max_failures` failed attempts per key in a
/// fixed window; once reached, attempts are refused until the window ends.
///
/// Defaults: 10 failures per 60-second window, tracking at most 100,000 keys. Keys are only
/// recorded after a failed check of a *registered* client's secret, so the table is bounded
/// by the number of clients; when it is full, windows that have ended are dropped first, and
/// if none has, new keys go untracked rather than the table growing.
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
///     block_on(limiter.record_failure("client:c1", now))?;
/// }
/// assert!(matches!(block_on(limiter.check("client:c1", now))?, Throttle::Deny { .. }));
/// assert_eq!(block_on(limiter.check("client:c1", now + Duration::from_secs(60)))?, Throttle::Allow);
/// # Ok::<(), grantflow::StorageError>(())
/// ```
#[derive(Debug)]
pub struct MemoryAttemptLimiter {
    max_failures: u32,
    window: Duration,
    capacity: usize,
    entries: Mutex<HashMap<String, Window>>,
}

#[derive(Debug, Clone, Copy)]
struct Window {
    started: SystemTime,
    failures: u32,
}

impl MemoryAttemptLimiter {
    /// A limiter allowing `max_failures` failed attempts per key in each `window`.
    pub fn new(max_failures: u32, window: Duration) -> Self {
        Self {
            max_failures: max_failures.max(1),
            window,
            capacity: 100_000,
            entries: Mutex::default(),
        }
    }

    /// Sets how many keys are tracked at most. Default: 100,000.
    #[must_use]
    pub fn with_capacity(mut self, capacity: usize) -> Self {
        self.capacity = capacity;
        self
    }

    fn window_end(&self, window: &Window) -> SystemTime {
        window.started + self.window
    }
}

impl Default for MemoryAttemptLimiter {
    fn default() -> Self {
        Self::new(10, Duration::from_secs(60))
    }
}

#[async_trait]
impl AttemptLimiter for MemoryAttemptLimiter {
    async fn check(&self, key: &str, now: SystemTime) -> Result<Throttle, StorageError> {
        let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(match entries.get(key) {
            Some(w) if w.failures >= self.max_failures && now < self.window_end(w) => {
                Throttle::Deny {
                    retry_after: self.window_end(w).duration_since(now).unwrap_or_default(),
                }
            }
            _ => Throttle::Allow,
        })
    }

    async fn record_failure(&self, key: &str, now: SystemTime) -> Result<(), StorageError> {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(w) = entries.get_mut(key) {
            if now >= w.started + self.window {
                *w = Window {
                    started: now,
                    failures: 1,
                };
            } else {
                w.failures = w.failures.saturating_add(1);
            }
            return Ok(());
        }
        if entries.len() >= self.capacity {
            entries.retain(|_, w| now < w.started + self.window);
        }
        if entries.len() < self.capacity {
            entries.insert(
                key.to_owned(),
                Window {
                    started: now,
                    failures: 1,
                },
            );
        }
        Ok(())
    }

    async fn record_success(&self, key: &str, _now: SystemTime) -> Result<(), StorageError> {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if !entries.is_empty() {
            entries.remove(key);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::block_on;

    #[test]
    fn te_10_failures_lock_out_until_the_window_ends() {
        let limiter = MemoryAttemptLimiter::new(2, Duration::from_secs(10));
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1000);
        block_on(limiter.record_failure("k", t0)).unwrap();
        assert_eq!(block_on(limiter.check("k", t0)).unwrap(), Throttle::Allow);
        block_on(limiter.record_failure("k", t0 + Duration::from_secs(1))).unwrap();
        assert_eq!(
            block_on(limiter.check("k", t0 + Duration::from_secs(4))).unwrap(),
            Throttle::Deny {
                retry_after: Duration::from_secs(6)
            }
        );
        assert_eq!(
            block_on(limiter.check("other", t0)).unwrap(),
            Throttle::Allow
        );
        assert_eq!(
            block_on(limiter.check("k", t0 + Duration::from_secs(10))).unwrap(),
            Throttle::Allow
        );
    }

    #[test]
    fn success_clears_failures_and_capacity_bounds_the_table() {
        let limiter = MemoryAttemptLimiter::new(1, Duration::from_secs(10)).with_capacity(2);
        let t0 = SystemTime::UNIX_EPOCH;
        block_on(limiter.record_failure("a", t0)).unwrap();
        block_on(limiter.record_success("a", t0)).unwrap();
        assert_eq!(block_on(limiter.check("a", t0)).unwrap(), Throttle::Allow);
        for key in ["a", "b", "c", "d"] {
            block_on(limiter.record_failure(key, t0)).unwrap();
        }
        assert_eq!(limiter.entries.lock().unwrap().len(), 2);
        // Once the windows have ended, new keys are tracked again.
        block_on(limiter.record_failure("e", t0 + Duration::from_secs(11))).unwrap();
        assert!(limiter.entries.lock().unwrap().contains_key("e"));
    }
}
