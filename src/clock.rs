//! Time, injected: the crate never reads the system clock except through a [`Clock`]
//! ([`SystemClock`] by default), so tests drive expiry with a [`ManualClock`] and nothing
//! sleeps.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

/// A source of the current time. Reading a clock is not I/O worth awaiting, so this is
/// synchronous.
pub trait Clock: Send + Sync + fmt::Debug {
    /// The current time.
    fn now(&self) -> SystemTime;
}

/// Until when a revoked grant's tombstone is kept: `now` plus `ttl` (the longest token
/// lifetime). A clock so near the end of representable time that the sum overflows (no
/// real clock) falls back to one day, then to `now`, rather than failing the revocation.
pub(crate) fn revoked_until(now: SystemTime, ttl: Duration) -> SystemTime {
    now.checked_add(ttl)
        .or_else(|| now.checked_add(Duration::from_secs(86_400)))
        .unwrap_or(now)
}

/// `now + ttl`, or an error when a clock set absurdly far in the future leaves no room for
/// the lifetime (nothing a request can cause, but no panic either).
pub(crate) fn expiry(now: SystemTime, ttl: Duration) -> Result<SystemTime, crate::ConfigError> {
    now.checked_add(ttl)
        .ok_or(crate::ConfigError::Setting("the clock is out of range"))
}

/// The operating system's wall clock. The default.
#[derive(Debug, Clone, Copy, Default)]
#[non_exhaustive]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// A clock that moves only when told to. Clones share the same time, so a test keeps one
/// handle and gives another to the server.
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use grantflow::clock::{Clock, ManualClock};
///
/// let clock = ManualClock::new(UNIX_EPOCH + Duration::from_secs(1_700_000_000));
/// let shared = clock.clone();
/// clock.advance(Duration::from_secs(61));
/// assert_eq!(shared.now(), UNIX_EPOCH + Duration::from_secs(1_700_000_061));
/// ```
#[derive(Debug, Clone)]
pub struct ManualClock(Arc<Mutex<SystemTime>>);

impl ManualClock {
    /// A clock stopped at `start`.
    pub fn new(start: SystemTime) -> Self {
        Self(Arc::new(Mutex::new(start)))
    }

    /// Moves the clock forward by `by`.
    ///
    /// # Panics
    /// Never: a step past the latest time the platform can represent stops as close to it
    /// as whole halvings of `by` allow (`SystemTime += Duration` would panic there).
    pub fn advance(&self, by: Duration) {
        let mut now = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut step = by;
        while !step.is_zero() {
            if let Some(later) = now.checked_add(step) {
                *now = later;
                if step == by {
                    return;
                }
            }
            step /= 2;
        }
    }

    /// Sets the clock to `to`.
    pub fn set(&self, to: SystemTime) {
        *self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = to;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> SystemTime {
        *self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_advance_never_overflows() {
        let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let clock = ManualClock::new(start);
        clock.advance(Duration::from_secs(61));
        assert_eq!(clock.now(), start + Duration::from_secs(61));
        // A hostile step (a fuzzed test harness, an absurd configuration) saturates
        // instead of panicking in `SystemTime + Duration`.
        clock.advance(Duration::MAX);
        let far = clock.now();
        assert!(far > start);
        clock.advance(Duration::MAX);
        assert!(clock.now() >= far);
        assert!(clock.now().checked_add(Duration::from_secs(1)).is_none());
    }
}
