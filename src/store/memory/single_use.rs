//! [`MemorySingleUseStore`]: single-use records held in memory.

use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::SystemTime;

use async_trait::async_trait;

use super::expiry::Expiring;
use crate::error::StorageError;
use crate::secret::TokenHash;
use crate::store::{Consumption, SingleUseStore};

/// How many expired records a call purges at most: enough to outpace new records, small
/// enough that no call pauses for a time that grows with the store.
const PURGE_PER_CALL: usize = 4;

/// The in-memory [`SingleUseStore`], the default of
/// [`ServerBuilder`](crate::ServerBuilder).
///
/// [`consume`](SingleUseStore::consume) is atomic under one mutex. Each call purges a few
/// of the oldest expired records, so the store is bounded by the values accepted within
/// their lifetimes. Deployments of several instances must share one store
/// ([`ServerBuilder::single_use_store`](crate::ServerBuilder::single_use_store)): a value
/// accepted by one instance must be refused by every other.
///
/// ```
/// # fn block_on<F: std::future::Future>(f: F) -> F::Output {
/// #     let mut f = std::pin::pin!(f);
/// #     let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
/// #     loop { if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) { return v; } }
/// # }
/// use std::time::{Duration, SystemTime};
/// use grantflow::store::MemorySingleUseStore;
/// use grantflow::store::{Consumption, SingleUseKind, SingleUseStore};
///
/// let store = MemorySingleUseStore::new();
/// let key = SingleUseKind::ClientAssertion.key("s6BhdRkqt3", "id-1");
/// let now = SystemTime::now();
/// let until = now + Duration::from_secs(60);
/// assert_eq!(block_on(store.consume(&key, until, now))?, Consumption::First);
/// assert_eq!(block_on(store.consume(&key, until, now))?, Consumption::Replayed);
/// # Ok::<(), grantflow::StorageError>(())
/// ```
#[derive(Debug, Default)]
pub struct MemorySingleUseStore {
    inner: Mutex<Expiring<()>>,
}

impl MemorySingleUseStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many records the store holds, including expired ones not yet purged.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether the store holds no record.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> MutexGuard<'_, Expiring<()>> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[async_trait]
impl SingleUseStore for MemorySingleUseStore {
    async fn consume(
        &self,
        key: &TokenHash,
        expires_at: SystemTime,
        now: SystemTime,
    ) -> Result<Consumption, StorageError> {
        let mut tables = self.lock();
        tables.purge(now, PURGE_PER_CALL);
        if tables.live(key, now).is_some() {
            return Ok(Consumption::Replayed);
        }
        tables.insert(key, expires_at, ());
        Ok(Consumption::First)
    }

    async fn purge_expired(&self, now: SystemTime) -> Result<usize, StorageError> {
        Ok(self.lock().purge(now, usize::MAX))
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;
    use crate::store::SingleUseKind;
    use crate::test_support::block_on;

    fn at(seconds: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(seconds)
    }

    #[test]
    fn ca_05_a_record_expires_and_is_purged() {
        let store = MemorySingleUseStore::new();
        let key = SingleUseKind::ClientAssertion.key("c", "j");
        assert_eq!(
            block_on(store.consume(&key, at(60), at(0))).unwrap(),
            Consumption::First
        );
        assert_eq!(
            block_on(store.consume(&key, at(60), at(59))).unwrap(),
            Consumption::Replayed
        );
        // Expired: the value may be accepted again (its JWT would be refused as expired).
        assert_eq!(
            block_on(store.consume(&key, at(200), at(60))).unwrap(),
            Consumption::First
        );
        assert_eq!(block_on(store.purge_expired(at(100))).unwrap(), 0);
        assert_eq!(block_on(store.purge_expired(at(200))).unwrap(), 1);
        assert!(store.is_empty());
    }
}
