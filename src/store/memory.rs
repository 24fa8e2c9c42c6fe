//! In-memory stores: the embedded default, real and tested, for single-instance
//! deployments (DESIGN decision 12).

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};
use std::time::SystemTime;

use async_trait::async_trait;

use crate::error::StorageError;
use crate::secret::TokenHash;
use crate::store::{
    ClientRegistry, RefreshLookup, RotatedOut, Rotation, TokenKind, TokenRecord, TokenStore,
};
use crate::types::{Client, ClientError, ClientId, GrantId};

/// A registry of clients held in memory.
///
/// ```
/// use grantflow::{Client, ClientError, ClientType, GrantType, MemoryClientRegistry};
///
/// let registry = MemoryClientRegistry::new();
/// let client = Client::builder("spa", ClientType::Public)
///     .grant_type(GrantType::AUTHORIZATION_CODE)
///     .redirect_uri("http://127.0.0.1/callback")
///     .build()?;
/// registry.insert(client.clone())?;
/// // SEC-07: one registration per client_id.
/// assert_eq!(registry.insert(client), Err(ClientError::Duplicate));
/// # Ok::<(), ClientError>(())
/// ```
#[derive(Debug, Default)]
pub struct MemoryClientRegistry {
    clients: RwLock<HashMap<ClientId, Arc<Client>>>,
}

impl MemoryClientRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers a new client.
    ///
    /// # Errors
    /// [`ClientError::Duplicate`] when the `client_id` is taken: a client is registered as
    /// exactly one client (SEC-07).
    pub fn insert(&self, client: Client) -> Result<(), ClientError> {
        let mut clients = self.clients.write().unwrap_or_else(PoisonError::into_inner);
        if clients.contains_key(client.id()) {
            return Err(ClientError::Duplicate);
        }
        clients.insert(client.id().clone(), Arc::new(client));
        Ok(())
    }

    /// Replaces the registration of an existing client, for example to add or retire a
    /// secret during rotation.
    ///
    /// # Errors
    /// [`ClientError::Unknown`] when no client has this `client_id`.
    pub fn replace(&self, client: Client) -> Result<(), ClientError> {
        let mut clients = self.clients.write().unwrap_or_else(PoisonError::into_inner);
        match clients.get_mut(client.id()) {
            Some(slot) => {
                *slot = Arc::new(client);
                Ok(())
            }
            None => Err(ClientError::Unknown),
        }
    }

    /// Removes a client and returns it. Tokens already issued to it stay in the token
    /// store until they expire or are revoked, but the client can no longer authenticate.
    pub fn remove(&self, client_id: &str) -> Option<Arc<Client>> {
        self.clients
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(client_id)
    }

    /// How many clients are registered.
    pub fn len(&self) -> usize {
        self.clients
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// Whether no client is registered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[async_trait]
impl ClientRegistry for MemoryClientRegistry {
    async fn find(&self, client_id: &str) -> Result<Option<Arc<Client>>, StorageError> {
        Ok(self
            .clients
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(client_id)
            .cloned())
    }
}

/// A hasher for keys that are already uniformly random (SHA-256 digests of server-made
/// tokens, random grant ids): it folds the key bytes instead of running SipHash over them.
/// Only the server creates keys, so nobody can choose colliding ones.
#[derive(Default)]
pub(crate) struct RandomKeyHasher(u64);

impl Hasher for RandomKeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.0 = self.0.rotate_left(23) ^ u64::from_le_bytes(word);
        }
    }
}

pub(crate) type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<RandomKeyHasher>>;

/// How many expired records an insert purges at most, so no insert pauses for a time that
/// grows with the store, while purging still outpaces issuing.
const PURGE_PER_INSERT: usize = 4;

/// A token store held in memory.
///
/// Lookups are constant time (a hash map keyed by digest). Expired records are purged
/// incrementally: every insert removes at most a few of the oldest expired records, found
/// through an expiry queue, so the store stays bounded by the number of live tokens
/// without a pause proportional to its size. [`TokenStore::purge_expired`] removes all
/// expired records at once, for hosts that want to run it from a timer.
///
/// ```
/// # fn block_on<F: std::future::Future>(f: F) -> F::Output {
/// #     let mut f = std::pin::pin!(f);
/// #     let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
/// #     loop { if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) { return v; } }
/// # }
/// use std::time::{Duration, SystemTime};
/// use grantflow::*;
///
/// let store = MemoryTokenStore::new();
/// let token = AccessToken::generate();
/// let now = SystemTime::now();
/// let record = TokenRecord::new(
///     TokenKind::Access, GrantId::generate(), ClientId::new("backend")?,
///     Scope::parse("read")?, now, now + Duration::from_secs(3600),
/// );
/// block_on(store.insert(vec![(token.hash(), record.clone())]))?;
/// assert_eq!(block_on(store.find(&token.hash()))?, Some(record));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Default)]
pub struct MemoryTokenStore {
    inner: Mutex<TokenTables>,
}

#[derive(Default)]
struct TokenTables {
    records: FastMap<TokenHash, TokenRecord>,
    by_grant: FastMap<GrantId, Vec<TokenHash>>,
    /// Rotated-out refresh tokens, kept until their original expiry (RT-05, RT-06). Their
    /// entries in `expiry` are the ones pushed when the token was issued.
    rotated: FastMap<TokenHash, RotatedOut>,
    expiry: BinaryHeap<Reverse<(SystemTime, [u8; 32])>>,
}

impl std::fmt::Debug for TokenTables {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenTables")
            .field("records", &self.records.len())
            .field("grants", &self.by_grant.len())
            .field("rotated", &self.rotated.len())
            .finish()
    }
}

impl TokenTables {
    fn remove(&mut self, hash: &TokenHash) -> Option<TokenRecord> {
        let record = self.records.remove(hash)?;
        if let Some(hashes) = self.by_grant.get_mut(&record.grant_id) {
            hashes.retain(|h| h != hash);
            if hashes.is_empty() {
                self.by_grant.remove(&record.grant_id);
            }
        }
        Some(record)
    }

    fn insert_all(&mut self, tokens: Vec<(TokenHash, TokenRecord)>) {
        for (hash, record) in tokens {
            self.expiry
                .push(Reverse((record.expires_at, *hash.as_bytes())));
            self.by_grant.entry(record.grant_id).or_default().push(hash);
            if let Some(old) = self.records.insert(hash, record) {
                // A 256-bit collision is not going to happen; keep the index right anyway.
                if let Some(hashes) = self.by_grant.get_mut(&old.grant_id) {
                    hashes.retain(|h| *h != hash);
                }
            }
        }
    }

    /// Purges up to `limit` records whose expiry is at or before `now`.
    fn purge(&mut self, now: SystemTime, limit: usize) -> usize {
        let mut purged = 0;
        while purged < limit {
            match self.expiry.peek() {
                Some(Reverse((expires_at, _))) if *expires_at <= now => {}
                _ => break,
            }
            let Some(Reverse((_, bytes))) = self.expiry.pop() else {
                break;
            };
            let hash = TokenHash::from_bytes(bytes);
            // A record revoked earlier is already gone; only count what is removed now.
            if self.records.get(&hash).is_some_and(|r| r.is_expired(now)) {
                self.remove(&hash);
                purged += 1;
            } else if self.rotated.get(&hash).is_some_and(|m| m.expires_at <= now) {
                self.rotated.remove(&hash);
                purged += 1;
            }
        }
        purged
    }
}

impl MemoryTokenStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many records the store holds (live, and expired ones not yet purged).
    pub fn len(&self) -> usize {
        self.lock().records.len()
    }

    /// Whether the store holds no record.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> MutexGuard<'_, TokenTables> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[async_trait]
impl TokenStore for MemoryTokenStore {
    async fn insert(&self, tokens: Vec<(TokenHash, TokenRecord)>) -> Result<(), StorageError> {
        let mut tables = self.lock();
        // The newest issue time stands for "now": the store needs no clock of its own and
        // purges by the same time source as the server that issues.
        if let Some(now) = tokens.iter().map(|(_, r)| r.issued_at).max() {
            tables.purge(now, PURGE_PER_INSERT * tokens.len());
        }
        tables.insert_all(tokens);
        Ok(())
    }

    async fn find(&self, token: &TokenHash) -> Result<Option<TokenRecord>, StorageError> {
        Ok(self.lock().records.get(token).cloned())
    }

    async fn revoke(&self, token: &TokenHash) -> Result<Option<TokenRecord>, StorageError> {
        Ok(self.lock().remove(token))
    }

    async fn revoke_grant(&self, grant: &GrantId) -> Result<usize, StorageError> {
        let mut tables = self.lock();
        let Some(hashes) = tables.by_grant.remove(grant) else {
            return Ok(0);
        };
        let count = hashes
            .iter()
            .filter(|h| tables.records.remove(h).is_some())
            .count();
        Ok(count)
    }

    async fn purge_expired(&self, now: SystemTime) -> Result<usize, StorageError> {
        Ok(self.lock().purge(now, usize::MAX))
    }

    async fn find_refresh(&self, token: &TokenHash) -> Result<Option<RefreshLookup>, StorageError> {
        let tables = self.lock();
        if let Some(record) = tables.records.get(token) {
            return Ok(Some(RefreshLookup::Active(record.clone())));
        }
        Ok(tables
            .rotated
            .get(token)
            .map(|m| RefreshLookup::RotatedOut(m.clone())))
    }

    async fn rotate(
        &self,
        old: &TokenHash,
        now: SystemTime,
        successors: Vec<(TokenHash, TokenRecord)>,
    ) -> Result<Rotation, StorageError> {
        let mut tables = self.lock();
        if let Some(marker) = tables.rotated.get(old) {
            return Ok(Rotation::AlreadyRotated(marker.clone()));
        }
        if !tables
            .records
            .get(old)
            .is_some_and(|r| r.kind == TokenKind::Refresh)
        {
            return Ok(Rotation::NotFound);
        }
        let Some(record) = tables.remove(old) else {
            return Ok(Rotation::NotFound);
        };
        tables.rotated.insert(
            *old,
            RotatedOut::new(record.grant_id, record.client_id, now, record.expires_at),
        );
        tables.purge(now, PURGE_PER_INSERT * successors.len());
        tables.insert_all(successors);
        Ok(Rotation::Rotated)
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;
    use crate::store::TokenKind;
    use crate::test_support::block_on;
    use crate::types::Scope;

    fn record(grant: GrantId, issued: u64, ttl: u64) -> TokenRecord {
        let issued = UNIX_EPOCH + Duration::from_secs(issued);
        TokenRecord::new(
            TokenKind::Access,
            grant,
            ClientId::new("c").unwrap(),
            Scope::empty(),
            issued,
            issued + Duration::from_secs(ttl),
        )
    }

    fn hash(n: u32) -> TokenHash {
        TokenHash::of(&n.to_string())
    }

    #[test]
    fn expired_records_are_purged_incrementally_on_insert() {
        let store = MemoryTokenStore::new();
        for n in 0..100 {
            block_on(store.insert(vec![(hash(n), record(GrantId::generate(), 0, 10))])).unwrap();
        }
        assert_eq!(store.len(), 100);
        // Each later insert purges a bounded batch, never all 100 at once.
        block_on(store.insert(vec![(hash(1000), record(GrantId::generate(), 20, 10))])).unwrap();
        assert_eq!(store.len(), 100 - PURGE_PER_INSERT + 1);
        for n in 1001..1100 {
            block_on(store.insert(vec![(hash(n), record(GrantId::generate(), 20, 10))])).unwrap();
        }
        // Every expired record is gone; only the 100 live ones remain.
        assert_eq!(store.len(), 100);
        assert_eq!(store.lock().by_grant.len(), 100);
    }

    #[test]
    fn purge_expired_removes_everything_expired() {
        let store = MemoryTokenStore::new();
        for n in 0..10 {
            block_on(store.insert(vec![(
                hash(n),
                record(GrantId::generate(), 0, u64::from(n) + 1),
            )]))
            .unwrap();
        }
        let now = UNIX_EPOCH + Duration::from_secs(5);
        assert_eq!(block_on(store.purge_expired(now)).unwrap(), 5);
        assert_eq!(store.len(), 5);
    }

    #[test]
    fn revoke_grant_removes_every_token_of_the_grant() {
        let store = MemoryTokenStore::new();
        let grant = GrantId::generate();
        block_on(store.insert(vec![
            (hash(1), record(grant, 0, 10)),
            (hash(2), record(grant, 0, 10)),
        ]))
        .unwrap();
        block_on(store.insert(vec![(hash(3), record(GrantId::generate(), 0, 10))])).unwrap();
        assert_eq!(block_on(store.revoke_grant(&grant)).unwrap(), 2);
        assert_eq!(block_on(store.find(&hash(1))).unwrap(), None);
        assert!(block_on(store.find(&hash(3))).unwrap().is_some());
        assert!(block_on(store.revoke(&hash(3))).unwrap().is_some());
        assert!(store.is_empty());
    }
}
