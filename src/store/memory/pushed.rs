//! [`MemoryPushedRequestStore`]: pushed authorization requests held in memory.

use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::SystemTime;

use async_trait::async_trait;

use super::expiry::Expiring;
use crate::error::StorageError;
use crate::secret::TokenHash;
use crate::store::{PushedRequest, PushedRequestStore};

/// How many expired records a call purges at most.
const PURGE_PER_CALL: usize = 4;

/// The in-memory [`PushedRequestStore`].
///
/// [`consume`](PushedRequestStore::consume) is atomic under one mutex, and removes the
/// record. Each lookup purges a few expired records, so the store holds no more than the
/// requests pushed within one lifetime. Deployments of several instances must share one
/// store (such as `PgStores::pushed_requests`): a `request_uri` pushed at one instance
/// must be usable, once, at every other.
///
/// ```
/// # fn block_on<F: std::future::Future>(f: F) -> F::Output {
/// #     let mut f = std::pin::pin!(f);
/// #     let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
/// #     loop { if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) { return v; } }
/// # }
/// use std::time::{Duration, SystemTime};
/// use grantflow::ClientId;
/// use grantflow::secret::TokenHash;
/// use grantflow::store::{MemoryPushedRequestStore, PushedRequest, PushedRequestStore};
///
/// let store = MemoryPushedRequestStore::new();
/// let key = TokenHash::of("urn:ietf:params:oauth:request_uri:example");
/// let now = SystemTime::now();
/// let request = PushedRequest::new(
///     ClientId::new("app")?,
///     "response_type=code&client_id=app".to_owned(),
///     now + Duration::from_secs(90),
/// );
/// block_on(store.insert(&key, request))?;
/// assert!(block_on(store.find(&key, now))?.is_some());
/// assert!(block_on(store.consume(&key, now))?);
/// assert!(!block_on(store.consume(&key, now))?);
/// assert!(block_on(store.find(&key, now))?.is_none());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Default)]
pub struct MemoryPushedRequestStore {
    inner: Mutex<Expiring<PushedRequest>>,
}

impl MemoryPushedRequestStore {
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

    fn lock(&self) -> MutexGuard<'_, Expiring<PushedRequest>> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[async_trait]
impl PushedRequestStore for MemoryPushedRequestStore {
    async fn insert(&self, key: &TokenHash, request: PushedRequest) -> Result<(), StorageError> {
        self.lock().insert(key, request.expires_at, request);
        Ok(())
    }

    async fn find(
        &self,
        key: &TokenHash,
        now: SystemTime,
    ) -> Result<Option<PushedRequest>, StorageError> {
        let mut tables = self.lock();
        tables.purge(now, PURGE_PER_CALL);
        Ok(tables.live(key, now).cloned())
    }

    async fn consume(&self, key: &TokenHash, now: SystemTime) -> Result<bool, StorageError> {
        Ok(self.lock().take_live(key, now))
    }

    async fn purge_expired(&self, now: SystemTime) -> Result<usize, StorageError> {
        Ok(self.lock().purge(now, usize::MAX))
    }
}
