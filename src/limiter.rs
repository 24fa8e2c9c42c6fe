//! Brute-force protection for secret checks (TE-10): a pluggable limiter of attempts, with
//! an in-memory default.

use std::collections::hash_map::RandomState;
use std::fmt;
use std::hash::BuildHasher;
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
/// Defaults: 10 attempts per 60-second window, tracking at most 100,000 keys.
///
/// # A full table never stops counting
/// Keys are kept as 64-bit digests under a per-process random seed in a fixed table of
/// 8-way buckets (20 bytes a key, allocated zeroed on first use, so untouched parts cost
/// no resident memory). A key always gets a slot in its bucket: an empty one, one whose
/// window has ended, or else the one holding the fewest counted attempts (the oldest of
/// those), which is the entry whose loss gives a guesser least. So a flood of fresh keys
/// cannot make the limiter fail open: new keys are still counted, and to push out a key
/// that has `n` failures an attacker must first fill its bucket, which the seed keeps
/// them from finding, with keys of at least `n` attempts each; in practice that means
/// filling the whole table, `capacity × n` requests for `n` more guesses.
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
pub struct MemoryAttemptLimiter {
    max_attempts: u32,
    /// The window length in nanoseconds (at most a day).
    window: u64,
    buckets: usize,
    seed: RandomState,
    table: Mutex<Table>,
}

/// Slots per bucket: one cache line of digests.
const WAYS: usize = 8;

/// The slots, as parallel arrays (zeroed allocations: pages the hash never touches stay
/// unmapped). Slot `i` belongs to bucket `i / WAYS`.
#[derive(Default)]
struct Table {
    /// The key's digest; 0 marks an empty slot.
    keys: Vec<u64>,
    /// When the key's window started, in nanoseconds since the Unix epoch.
    started: Vec<u64>,
    /// Attempts counted in the window.
    attempts: Vec<u32>,
}

impl MemoryAttemptLimiter {
    /// A limiter allowing `max_attempts` unsuccessful attempts per key in each `window`.
    /// `max_attempts` is at least 1 and `window` at most one day (larger values are
    /// clamped), so window arithmetic can never overflow.
    pub fn new(max_attempts: u32, window: Duration) -> Self {
        let window = window.min(Duration::from_secs(86_400));
        Self {
            max_attempts: max_attempts.max(1),
            window: u64::try_from(window.as_nanos()).unwrap_or(u64::MAX),
            buckets: 100_000 / WAYS,
            seed: RandomState::new(),
            table: Mutex::default(),
        }
    }

    /// Sets how many keys are tracked at once (rounded up to a multiple of 8, at least 8).
    /// Default: 100,000, 2 MB once every slot is in use.
    #[must_use]
    pub fn with_capacity(mut self, capacity: usize) -> Self {
        self.buckets = capacity.div_ceil(WAYS).max(1);
        self
    }

    /// The key's digest (never 0, the empty mark) and the first slot of its bucket.
    fn locate(&self, key: &str) -> (u64, usize) {
        let digest = self.seed.hash_one(key).max(1);
        // Maps the digest onto 0..buckets by its high bits (a multiply, no division).
        let bucket = ((u128::from(digest) * self.buckets as u128) >> 64) as usize;
        (digest, bucket * WAYS)
    }
}

/// `time` in nanoseconds since the Unix epoch; earlier times count as the epoch and times
/// past the year 2554 as the end of time, where every window has ended.
fn nanos(time: SystemTime) -> u64 {
    time.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |since| {
            u64::try_from(since.as_nanos()).unwrap_or(u64::MAX)
        })
}

impl Default for MemoryAttemptLimiter {
    fn default() -> Self {
        Self::new(10, Duration::from_secs(60))
    }
}

impl fmt::Debug for MemoryAttemptLimiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryAttemptLimiter")
            .field("max_attempts", &self.max_attempts)
            .field("window", &Duration::from_nanos(self.window))
            .field("capacity", &(self.buckets * WAYS))
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl AttemptLimiter for MemoryAttemptLimiter {
    async fn attempt(&self, key: &str, now: SystemTime) -> Result<Throttle, StorageError> {
        let (digest, first) = self.locate(key);
        let now = nanos(now);
        let mut table = self.table.lock().unwrap_or_else(PoisonError::into_inner);
        if table.keys.is_empty() {
            let slots = self.buckets * WAYS;
            *table = Table {
                keys: vec![0; slots],
                started: vec![0; slots],
                attempts: vec![0; slots],
            };
        }
        let bucket = first..first + WAYS;
        let ends = |table: &Table, slot: usize| table.started[slot].saturating_add(self.window);
        if let Some(slot) = bucket.clone().find(|&slot| table.keys[slot] == digest) {
            let ends = ends(&table, slot);
            if now >= ends {
                table.started[slot] = now;
                table.attempts[slot] = 1;
            } else if table.attempts[slot] >= self.max_attempts {
                let retry_after = Duration::from_nanos(ends - now);
                return Ok(Throttle::Deny { retry_after });
            } else {
                table.attempts[slot] += 1;
            }
            return Ok(Throttle::Allow);
        }
        // A free slot (empty, window ended, or nothing counted), else the one whose loss
        // gives a guesser least: the fewest attempts, then the window that ends first.
        let cost = |slot: usize| {
            if table.keys[slot] == 0 || now >= ends(&table, slot) {
                (0, 0)
            } else {
                (table.attempts[slot], table.started[slot])
            }
        };
        let slot = bucket.min_by_key(|&slot| cost(slot)).unwrap_or(first);
        table.keys[slot] = digest;
        table.started[slot] = now;
        table.attempts[slot] = 1;
        Ok(Throttle::Allow)
    }

    async fn record_success(&self, key: &str, _now: SystemTime) -> Result<(), StorageError> {
        let (digest, first) = self.locate(key);
        let mut table = self.table.lock().unwrap_or_else(PoisonError::into_inner);
        // The entry stays so a busy client does not take and free a slot on every request;
        // a slot with nothing counted is the first reused.
        if let Some(slot) =
            (first..first + WAYS).find(|&slot| table.keys.get(slot) == Some(&digest))
        {
            table.attempts[slot] = table.attempts[slot].saturating_sub(1);
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

    /// The number of keys the limiter tracks now.
    fn tracked(limiter: &MemoryAttemptLimiter) -> usize {
        let table = limiter.table.lock().unwrap();
        table.keys.iter().filter(|&&key| key != 0).count()
    }

    #[test]
    fn capacity_bounds_the_table() {
        let limiter = MemoryAttemptLimiter::new(1, Duration::from_secs(10)).with_capacity(5);
        assert!(format!("{limiter:?}").contains("capacity: 8"));
        for n in 0..100 {
            block_on(limiter.attempt(&format!("key{n}"), at(0))).unwrap();
        }
        assert_eq!(tracked(&limiter), 8);
    }

    #[test]
    fn te_10_pw_03_dg_07_a_flood_of_new_keys_does_not_untrack_a_throttled_one() {
        // One bucket of 8 slots: seven keys out of attempts, one slot left for the flood.
        let limiter = MemoryAttemptLimiter::new(5, Duration::from_secs(60)).with_capacity(8);
        let throttled: Vec<String> = (0..7).map(|n| format!("password:victim{n}")).collect();
        for key in &throttled {
            for _ in 0..5 {
                assert_eq!(
                    block_on(limiter.attempt(key, at(0))).unwrap(),
                    Throttle::Allow
                );
            }
        }
        for n in 0..10_000 {
            let key = format!("password:flood{n}");
            assert_eq!(
                block_on(limiter.attempt(&key, at(1))).unwrap(),
                Throttle::Allow
            );
        }
        for key in &throttled {
            assert!(matches!(
                block_on(limiter.attempt(key, at(2))).unwrap(),
                Throttle::Deny { .. }
            ));
        }
        // The table is full of live windows, and a new key is still counted (no fail-open).
        for _ in 0..5 {
            assert_eq!(
                block_on(limiter.attempt("password:new", at(3))).unwrap(),
                Throttle::Allow
            );
        }
        assert!(matches!(
            block_on(limiter.attempt("password:new", at(3))).unwrap(),
            Throttle::Deny { .. }
        ));
    }

    #[test]
    fn te_10_a_full_bucket_gives_up_the_entry_with_fewest_attempts_then_the_oldest() {
        let limiter = MemoryAttemptLimiter::new(5, Duration::from_secs(60)).with_capacity(8);
        // Eight keys, the one at slot 3 with fewest attempts (1), the others with 2.
        for n in 0..8u64 {
            let key = format!("k{n}");
            block_on(limiter.attempt(&key, at(n))).unwrap();
            if n != 3 {
                block_on(limiter.attempt(&key, at(n))).unwrap();
            }
        }
        block_on(limiter.attempt("newcomer", at(10))).unwrap();
        let untracked = |key: &str| {
            let (digest, _) = limiter.locate(key);
            !limiter.table.lock().unwrap().keys.contains(&digest)
        };
        assert!(untracked("k3"));
        assert!(
            (0..8)
                .filter(|&n| n != 3)
                .all(|n| !untracked(&format!("k{n}")))
        );
        // All at two attempts now: the oldest (k0) goes next.
        block_on(limiter.attempt("newcomer", at(10))).unwrap();
        block_on(limiter.attempt("second", at(11))).unwrap();
        assert!(untracked("k0"));
        assert!(!untracked("newcomer"));
        // Ended windows are reused before any live one.
        block_on(limiter.attempt("late", at(65))).unwrap();
        assert!(untracked("k1"));
    }
}
