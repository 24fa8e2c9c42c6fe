//! [`MemoryAttemptLimiter`]: the counts of failed attempts held in memory.

use std::collections::hash_map::RandomState;
use std::fmt;
use std::hash::BuildHasher;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;

use crate::error::StorageError;
use crate::limiter::{AttemptKey, AttemptLimiter, Outcome, Throttle};

/// The in-memory [`AttemptLimiter`]: at most `max_attempts` failures per key in a fixed
/// window; once they are used up, the key is locked out until the window ends.
///
/// Defaults: 10 attempts per 60-second window, tracking at most 100,000 keys.
///
/// # A full table never stops counting
/// Only failures take a slot. Keys are kept as 64-bit digests under a per-process random
/// seed in a fixed table of 8-way buckets (20 bytes a key, allocated zeroed on first use, so untouched parts cost
/// no resident memory). A key always gets a slot in its bucket: an empty one, one whose
/// window has ended, or else the one holding the fewest counted failures (the oldest of
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
/// use grantflow::ClientId;
/// use grantflow::limiter::{AttemptKey, AttemptLimiter, MemoryAttemptLimiter, Outcome, Throttle};
///
/// let limiter = MemoryAttemptLimiter::new(3, Duration::from_secs(60));
/// let key = AttemptKey::client(&ClientId::new("c1")?);
/// let now = SystemTime::now();
/// for _ in 0..3 {
///     assert_eq!(block_on(limiter.check(&key, now))?, Throttle::Allow);
///     // ... the secret proves wrong:
///     assert_eq!(block_on(limiter.record(&key, Outcome::Failure, now))?, Throttle::Allow);
/// }
/// // Locked out: not checked, and even the right secret is refused.
/// assert!(matches!(block_on(limiter.check(&key, now))?, Throttle::Deny { .. }));
/// let late_success = block_on(limiter.record(&key, Outcome::Success, now))?;
/// assert!(matches!(late_success, Throttle::Deny { .. }));
/// let later = now + Duration::from_secs(60);
/// assert_eq!(block_on(limiter.check(&key, later))?, Throttle::Allow);
/// # Ok::<(), Box<dyn std::error::Error>>(())
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
    /// A limiter allowing `max_attempts` failures per key in each `window`.
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

    /// Sets how many keys are tracked at once, rounded up to a multiple of 8, from 8 to
    /// 2^30. Default: 100,000, 2 MB once every slot is in use. Counts so far are dropped.
    #[must_use]
    pub fn with_capacity(mut self, capacity: usize) -> Self {
        self.buckets = capacity.clamp(WAYS, 1 << 30).div_ceil(WAYS);
        self.table = Mutex::default();
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

impl Table {
    /// The slot holding `digest` in the bucket starting at `first`, if any.
    fn find(&self, digest: u64, first: usize) -> Option<usize> {
        (first..first + WAYS).find(|&slot| self.keys.get(slot) == Some(&digest))
    }
}

impl MemoryAttemptLimiter {
    /// When the window of `slot` ends.
    fn ends(&self, table: &Table, slot: usize) -> u64 {
        table.started[slot].saturating_add(self.window)
    }

    /// `Deny` while the key in `slot` (if tracked) has used up its failures in a live
    /// window.
    fn lockout(&self, table: &Table, slot: Option<usize>, now: u64) -> Throttle {
        match slot {
            Some(slot) if table.attempts[slot] >= self.max_attempts => {
                let ends = self.ends(table, slot);
                if now < ends {
                    return Throttle::Deny {
                        retry_after: Duration::from_nanos(ends - now),
                    };
                }
                Throttle::Allow
            }
            _ => Throttle::Allow,
        }
    }

    /// Counts a failure of the key whose digest is `digest`, unless it is locked out.
    fn count_failure(&self, table: &mut Table, digest: u64, first: usize, now: u64) -> Throttle {
        if table.keys.is_empty() {
            let slots = self.buckets * WAYS;
            *table = Table {
                keys: vec![0; slots],
                started: vec![0; slots],
                attempts: vec![0; slots],
            };
        }
        if let Some(slot) = table.find(digest, first) {
            if now >= self.ends(table, slot) {
                table.started[slot] = now;
                table.attempts[slot] = 1;
                return Throttle::Allow;
            }
            let throttle = self.lockout(table, Some(slot), now);
            if throttle == Throttle::Allow {
                table.attempts[slot] += 1;
            }
            return throttle;
        }
        // A free slot (empty or window ended), else the one whose loss gives a guesser
        // least: the fewest failures, then the window that ends first.
        let cost = |slot: usize| {
            if table.keys[slot] == 0 || now >= self.ends(table, slot) {
                (0, 0)
            } else {
                (table.attempts[slot], table.started[slot])
            }
        };
        let slot = (first..first + WAYS)
            .min_by_key(|&slot| cost(slot))
            .unwrap_or(first);
        table.keys[slot] = digest;
        table.started[slot] = now;
        table.attempts[slot] = 1;
        Throttle::Allow
    }
}

#[async_trait]
impl AttemptLimiter for MemoryAttemptLimiter {
    async fn check(&self, key: &AttemptKey, now: SystemTime) -> Result<Throttle, StorageError> {
        let (digest, first) = self.locate(key.as_str());
        let table = self.table.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(self.lockout(&table, table.find(digest, first), nanos(now)))
    }

    async fn record(
        &self,
        key: &AttemptKey,
        outcome: Outcome,
        now: SystemTime,
    ) -> Result<Throttle, StorageError> {
        let (digest, first) = self.locate(key.as_str());
        let now = nanos(now);
        let mut table = self.table.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(match outcome {
            Outcome::Success => self.lockout(&table, table.find(digest, first), now),
            Outcome::Failure => self.count_failure(&mut table, digest, first, now),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::block_on;

    fn at(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1000 + secs)
    }

    /// `kind:value` as a key, or `test:<text>` for text without a kind.
    fn key(text: &str) -> AttemptKey {
        match text.split_once(':') {
            Some((kind, value)) => AttemptKey::custom(kind, value),
            None => AttemptKey::custom("test", text),
        }
    }

    fn check(limiter: &MemoryAttemptLimiter, text: &str, secs: u64) -> Throttle {
        block_on(limiter.check(&key(text), at(secs))).unwrap()
    }

    fn record(limiter: &MemoryAttemptLimiter, text: &str, outcome: Outcome, secs: u64) -> Throttle {
        block_on(limiter.record(&key(text), outcome, at(secs))).unwrap()
    }

    fn fail(limiter: &MemoryAttemptLimiter, key: &str, secs: u64) -> Throttle {
        record(limiter, key, Outcome::Failure, secs)
    }

    fn locked(throttle: Throttle) -> bool {
        matches!(throttle, Throttle::Deny { .. })
    }

    #[test]
    fn te_10_failures_lock_the_key_out_until_the_window_ends() {
        let limiter = MemoryAttemptLimiter::new(2, Duration::from_secs(10));
        assert_eq!(fail(&limiter, "k", 0), Throttle::Allow);
        assert_eq!(check(&limiter, "k", 1), Throttle::Allow);
        assert_eq!(fail(&limiter, "k", 1), Throttle::Allow);
        let lockout = Throttle::Deny {
            retry_after: Duration::from_secs(6),
        };
        assert_eq!(check(&limiter, "k", 4), lockout);
        // Outcomes of checks that were already running are refused too, right or wrong.
        assert_eq!(fail(&limiter, "k", 4), lockout);
        assert_eq!(record(&limiter, "k", Outcome::Success, 4), lockout);
        assert_eq!(check(&limiter, "other", 4), Throttle::Allow);
        assert_eq!(check(&limiter, "k", 10), Throttle::Allow);
        assert_eq!(fail(&limiter, "k", 10), Throttle::Allow);
    }

    #[test]
    fn te_10_concurrent_checks_get_at_most_the_limit_of_answers() {
        // Twenty guesses all pass `check` before any outcome is recorded (they run at
        // once): only two failures are answered, and the right guess among the rest is
        // refused like the wrong ones.
        let limiter = MemoryAttemptLimiter::new(2, Duration::from_secs(10));
        assert!((0..20).all(|_| check(&limiter, "k", 0) == Throttle::Allow));
        let answered = (0..19).filter(|_| fail(&limiter, "k", 0) == Throttle::Allow);
        assert_eq!(answered.count(), 2);
        assert!(locked(record(&limiter, "k", Outcome::Success, 0)));
    }

    #[test]
    fn te_10_successes_count_nothing_and_never_clear_failures() {
        let limiter = MemoryAttemptLimiter::new(2, Duration::from_secs(10));
        for _ in 0..100 {
            assert_eq!(record(&limiter, "k", Outcome::Success, 0), Throttle::Allow);
        }
        assert_eq!(tracked(&limiter), 0, "a success took a slot");
        assert_eq!(fail(&limiter, "k", 0), Throttle::Allow);
        assert_eq!(record(&limiter, "k", Outcome::Success, 0), Throttle::Allow);
        assert_eq!(fail(&limiter, "k", 0), Throttle::Allow);
        assert!(locked(check(&limiter, "k", 0)));
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
            fail(&limiter, &format!("key{n}"), 0);
        }
        assert_eq!(tracked(&limiter), 8);
    }

    #[test]
    fn capacity_is_clamped_and_may_change_after_use() {
        let limiter = MemoryAttemptLimiter::new(1, Duration::from_secs(10));
        fail(&limiter, "k", 0);
        let limiter = limiter.with_capacity(64);
        // Enough keys that every one of the eight buckets fills up.
        for n in 0..1000 {
            fail(&limiter, &format!("key{n}"), 0);
        }
        assert_eq!(tracked(&limiter), 64);
        let huge = MemoryAttemptLimiter::new(1, Duration::from_secs(10)).with_capacity(usize::MAX);
        assert!(format!("{huge:?}").contains("capacity: 1073741824"));
    }

    #[test]
    fn te_10_pw_03_dg_07_a_flood_of_new_keys_does_not_untrack_a_locked_out_one() {
        // One bucket of 8 slots: seven keys out of attempts, one slot left for the flood.
        let limiter = MemoryAttemptLimiter::new(5, Duration::from_secs(60)).with_capacity(8);
        let victims: Vec<String> = (0..7).map(|n| format!("password:victim{n}")).collect();
        for key in &victims {
            for _ in 0..5 {
                assert_eq!(fail(&limiter, key, 0), Throttle::Allow);
            }
        }
        for n in 0..10_000 {
            assert_eq!(
                fail(&limiter, &format!("password:flood{n}"), 1),
                Throttle::Allow
            );
        }
        assert!(victims.iter().all(|key| locked(check(&limiter, key, 2))));
        // The table is full of live windows, and a new key is still counted (no fail-open).
        for _ in 0..5 {
            assert_eq!(fail(&limiter, "password:new", 3), Throttle::Allow);
        }
        assert!(locked(check(&limiter, "password:new", 3)));
    }

    #[test]
    fn te_10_a_full_bucket_gives_up_the_entry_with_fewest_failures_then_the_oldest() {
        let limiter = MemoryAttemptLimiter::new(5, Duration::from_secs(60)).with_capacity(8);
        // Eight keys, k3 with the fewest failures (1), the others with 2.
        for n in 0..8u64 {
            let key = format!("k{n}");
            fail(&limiter, &key, n);
            if n != 3 {
                fail(&limiter, &key, n);
            }
        }
        fail(&limiter, "newcomer", 10);
        let untracked = |text: &str| {
            let (digest, first) = limiter.locate(key(text).as_str());
            limiter.table.lock().unwrap().find(digest, first).is_none()
        };
        assert!(untracked("k3"));
        assert!(
            (0..8)
                .filter(|&n| n != 3)
                .all(|n| !untracked(&format!("k{n}")))
        );
        // All at two failures now: the oldest (k0) goes next.
        fail(&limiter, "newcomer", 10);
        fail(&limiter, "second", 11);
        assert!(untracked("k0"));
        assert!(!untracked("newcomer"));
        // Ended windows are reused before any live one.
        fail(&limiter, "late", 65);
        assert!(untracked("k1"));
    }
}
