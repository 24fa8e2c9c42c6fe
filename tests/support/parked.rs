//! A memory token store that parks its first `insert` or `rotate` until the test releases
//! it, so a test can run another request in the gap between a grant's redemption and the
//! storing of its tokens (the replay races of AC-02, DG-11 and RT-07).

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use async_trait::async_trait;
use grantflow::secret::TokenHash;
use grantflow::store::{GrantId, Insert, RefreshLookup, Rotation, TokenRecord, TokenStore};
use grantflow::{HttpRequest, HttpResponse, MemoryTokenStore, Server, StorageError};
use tokio::sync::oneshot;

use super::harness::HarnessBuilder;
use super::race::runtime;

/// Which call parks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Park {
    /// The first `insert`.
    Insert,
    /// The first `rotate`.
    Rotate,
}

/// The test's side of the gate: wait until the call is parked, then release it.
#[derive(Debug)]
pub(crate) struct Gate {
    /// Resolves once the parked call has arrived.
    pub(crate) parked: oneshot::Receiver<()>,
    /// Send to let the parked call go on.
    pub(crate) release: oneshot::Sender<()>,
}

impl Gate {
    /// Sends `first` to `server`'s token endpoint; once its call is parked, runs
    /// `meanwhile`, then releases the parked call: (the response to `first`, the output of
    /// `meanwhile`).
    pub(crate) fn interleave<T>(
        self,
        server: &Server,
        first: HttpRequest,
        meanwhile: impl Future<Output = T>,
    ) -> (HttpResponse, T) {
        let server = server.clone();
        runtime(2).block_on(async move {
            let first = tokio::spawn(async move { server.token(&first).await.unwrap() });
            self.parked.await.expect("the call parks");
            let output = meanwhile.await;
            self.release.send(()).expect("the parked call waits");
            (first.await.expect("the first request's task"), output)
        })
    }
}

impl<A> HarnessBuilder<A> {
    /// Gives the server a fresh token store whose first call of kind `park` waits at the
    /// returned gate.
    pub(crate) fn parked(self, park: Park) -> (Self, Gate) {
        let tokens = Arc::new(MemoryTokenStore::new());
        let (store, gate) = ParkedStore::new(Arc::clone(&tokens), park);
        (self.token_store(tokens, store), gate)
    }
}

/// The store's side of the gate.
type Parking = (oneshot::Sender<()>, oneshot::Receiver<()>);

/// A [`MemoryTokenStore`] whose first `insert` or `rotate` waits at a gate.
#[derive(Debug)]
pub(crate) struct ParkedStore {
    inner: Arc<MemoryTokenStore>,
    park: Park,
    parking: Mutex<Option<Parking>>,
}

impl ParkedStore {
    /// Wraps `inner`; the first call of kind `park` will wait at the returned gate.
    pub(crate) fn new(inner: Arc<MemoryTokenStore>, park: Park) -> (Arc<Self>, Gate) {
        let (parked_tx, parked_rx) = oneshot::channel();
        let (release_tx, release_rx) = oneshot::channel();
        let store = Self {
            inner,
            park,
            parking: Mutex::new(Some((parked_tx, release_rx))),
        };
        (
            Arc::new(store),
            Gate {
                parked: parked_rx,
                release: release_tx,
            },
        )
    }

    async fn wait_if(&self, call: Park) {
        if call != self.park {
            return;
        }
        let parking = self.parking.lock().unwrap().take();
        if let Some((parked, release)) = parking {
            parked.send(()).unwrap();
            release.await.unwrap();
        }
    }
}

#[async_trait]
impl TokenStore for ParkedStore {
    async fn insert(&self, tokens: Vec<(TokenHash, TokenRecord)>) -> Result<Insert, StorageError> {
        self.wait_if(Park::Insert).await;
        self.inner.insert(tokens).await
    }

    async fn find(&self, token: &TokenHash) -> Result<Option<TokenRecord>, StorageError> {
        self.inner.find(token).await
    }

    async fn revoke(&self, token: &TokenHash) -> Result<Option<TokenRecord>, StorageError> {
        self.inner.revoke(token).await
    }

    async fn revoke_grant(
        &self,
        grant: &GrantId,
        until: SystemTime,
    ) -> Result<usize, StorageError> {
        self.inner.revoke_grant(grant, until).await
    }

    async fn find_refresh(&self, token: &TokenHash) -> Result<Option<RefreshLookup>, StorageError> {
        self.inner.find_refresh(token).await
    }

    async fn rotate(
        &self,
        old: &TokenHash,
        now: SystemTime,
        successors: Vec<(TokenHash, TokenRecord)>,
    ) -> Result<Rotation, StorageError> {
        self.wait_if(Park::Rotate).await;
        self.inner.rotate(old, now, successors).await
    }
}
