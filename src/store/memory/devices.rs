//! [`MemoryDeviceStore`]: device authorization requests held in memory.

use std::collections::VecDeque;
use std::fmt;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;

use crate::error::StorageError;
use crate::hash::DigestMap;
use crate::secret::TokenHash;
use crate::store::{
    DeviceDecision, DeviceInsert, DevicePolling, DeviceRecord, DeviceRedemption, DeviceState,
    DeviceStore,
};
use crate::types::ClientId;

/// How many purgeable records an insert removes at most: bounded work per request, while
/// purging still outpaces inserting.
const PURGE_PER_INSERT: usize = 4;

/// A [`DeviceStore`] held in memory, for single-instance deployments.
///
/// Bounded in every direction:
/// - at most `capacity` records (default 100,000); when full, inserts fail with a
///   transient [`StorageError`], which the client sees as `503 temporarily_unavailable`,
///   instead of the table growing under a flood of device authorization requests;
/// - expired records are kept for `retention` (default 5 minutes) so that late polls get
///   `expired_token` rather than `invalid_grant`, then purged incrementally: every insert
///   removes at most a few of the oldest purgeable records, found through an expiry
///   queue, so no request pauses for a time that grows with the store.
///   [`DeviceStore::purge_expired`] removes all purgeable records at once, for a timer.
///
/// ```
/// # fn block_on<F: std::future::Future>(f: F) -> F::Output {
/// #     let mut f = std::pin::pin!(f);
/// #     let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
/// #     loop { if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) { return v; } }
/// # }
/// use std::time::{Duration, SystemTime};
/// use grantflow::*;
/// use grantflow::secret::DeviceCode;
/// use grantflow::store::{DeviceInsert, DeviceRecord, DeviceState, DeviceStore as _, GrantId};
///
/// let store = MemoryDeviceStore::new().with_capacity(10_000);
/// let code = DeviceCode::generate();
/// let now = SystemTime::now();
/// let record = DeviceRecord::new(
///     GrantId::generate(), ClientId::new("tv")?, Scope::parse("profile")?,
///     "WDJBMJHT".to_owned(), now, now + Duration::from_secs(600), Duration::from_secs(5),
/// );
/// assert_eq!(block_on(store.insert(code.hash(), record))?, DeviceInsert::Inserted);
/// let (hash, found) = block_on(store.find_by_user_code("WDJBMJHT"))?.ok_or("not found")?;
/// assert!(hash == code.hash() && found.state == DeviceState::Pending);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct MemoryDeviceStore {
    capacity: usize,
    retention: Duration,
    inner: Mutex<DeviceTables>,
}

/// The key of a user code in the secondary index: a 64-bit Fx-style fingerprint, so the
/// index holds no strings. Two codes with one fingerprint are harmless: an insert then sees
/// the code as taken and the server draws another, and a lookup compares the record's own
/// user code. Only server-generated codes are inserted; typed input is only looked up, so
/// it cannot lengthen probe chains.
fn fingerprint(user_code: &str) -> u64 {
    let mut hash = user_code.len() as u64;
    for chunk in user_code.as_bytes().chunks(8) {
        let mut word = [0u8; 8];
        word[..chunk.len()].copy_from_slice(chunk);
        hash = (hash.rotate_left(5) ^ u64::from_le_bytes(word))
            .wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    hash
}

/// Device code digest bytes. Plain comparison is fine for a map of digests of
/// server-generated codes: a timing difference tells how many leading bytes of a SHA-256
/// output match, which does not help to find a code (the same argument as for a database
/// index on token digests).
type Digest = [u8; 32];

#[derive(Default)]
struct DeviceTables {
    records: DigestMap<Digest, DeviceRecord>,
    by_user_code: DigestMap<u64, Digest>,
    /// (purge time = expiry + retention, device code digest), ordered by purge time. With
    /// one lifetime for all codes, new entries go at the back in O(1).
    purge_queue: VecDeque<(SystemTime, Digest)>,
}

impl fmt::Debug for DeviceTables {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // User codes are live credentials while pending: only counts are shown.
        f.debug_struct("DeviceTables")
            .field("records", &self.records.len())
            .field("user_codes", &self.by_user_code.len())
            .finish()
    }
}

impl DeviceTables {
    /// Removes a record and, if it still holds it, its user code. Returns whether there
    /// was a record.
    fn remove(&mut self, digest: &Digest) -> bool {
        let Some(record) = self.records.remove(digest) else {
            return false;
        };
        let key = fingerprint(&record.user_code);
        match self.by_user_code.remove(&key) {
            // A newer request took the code over after this one expired: give it back.
            Some(holder) if holder != *digest => {
                self.by_user_code.insert(key, holder);
            }
            _ => {}
        }
        true
    }

    /// Queues `digest` for purging at `at`, keeping the queue ordered.
    fn schedule(&mut self, at: SystemTime, digest: Digest) {
        let position = match self.purge_queue.back() {
            Some((last, _)) if *last > at => self.purge_queue.partition_point(|(t, _)| *t <= at),
            _ => self.purge_queue.len(),
        };
        self.purge_queue.insert(position, (at, digest));
    }

    /// Purges up to `limit` records whose purge time is at or before `now`.
    fn purge(&mut self, now: SystemTime, limit: usize) -> usize {
        let mut purged = 0;
        while purged < limit {
            match self.purge_queue.front() {
                Some((at, _)) if *at <= now => {}
                _ => break,
            }
            let Some((_, digest)) = self.purge_queue.pop_front() else {
                break;
            };
            if self.remove(&digest) {
                purged += 1;
            }
        }
        purged
    }
}

impl MemoryDeviceStore {
    /// An empty store with the default capacity (100,000 records) and retention of
    /// expired records (5 minutes).
    pub fn new() -> Self {
        Self {
            capacity: 100_000,
            retention: Duration::from_secs(300),
            inner: Mutex::default(),
        }
    }

    /// Sets the most records held at once. Default: 100,000.
    #[must_use]
    pub fn with_capacity(mut self, capacity: usize) -> Self {
        self.capacity = capacity;
        self
    }

    /// Sets how long expired records are kept so late polls get `expired_token` rather
    /// than `invalid_grant`. Default: 5 minutes.
    #[must_use]
    pub fn with_retention(mut self, retention: Duration) -> Self {
        self.retention = retention;
        self
    }

    /// How many records the store holds (live, and expired ones not yet purged).
    pub fn len(&self) -> usize {
        self.lock().records.len()
    }

    /// Whether the store holds no record.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> MutexGuard<'_, DeviceTables> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Default for MemoryDeviceStore {
    fn default() -> Self {
        Self::new()
    }
}

#[async_trait]
impl DeviceStore for MemoryDeviceStore {
    async fn insert(
        &self,
        device_code: TokenHash,
        record: DeviceRecord,
    ) -> Result<DeviceInsert, StorageError> {
        let mut tables = self.lock();
        // The new record's creation time stands for "now": the store needs no clock.
        let now = record.created_at;
        tables.purge(now, PURGE_PER_INSERT);
        let digest = *device_code.as_bytes();
        let key = fingerprint(&record.user_code);
        if let Some(holder) = tables.by_user_code.get(&key) {
            if tables
                .records
                .get(holder)
                .is_some_and(|r| !r.is_expired(now))
            {
                return Ok(DeviceInsert::UserCodeTaken);
            }
            // The holder expired: it keeps its record (for late polls) but not the code.
        }
        if tables.records.len() >= self.capacity {
            return Err(StorageError::transient("device store full"));
        }
        let purge_at = record
            .expires_at
            .checked_add(self.retention)
            .unwrap_or(record.expires_at);
        tables.schedule(purge_at, digest);
        tables.by_user_code.insert(key, digest);
        tables.records.insert(digest, record);
        Ok(DeviceInsert::Inserted)
    }

    async fn find_by_user_code(
        &self,
        user_code: &str,
    ) -> Result<Option<(TokenHash, DeviceRecord)>, StorageError> {
        let tables = self.lock();
        Ok(tables
            .by_user_code
            .get(&fingerprint(user_code))
            .and_then(|digest| {
                tables
                    .records
                    .get(digest)
                    .filter(|record| record.user_code == user_code)
                    .map(|record| (TokenHash::from_bytes(*digest), record.clone()))
            }))
    }

    async fn find(&self, device_code: &TokenHash) -> Result<Option<DeviceRecord>, StorageError> {
        Ok(self.lock().records.get(device_code.as_bytes()).cloned())
    }

    async fn decide(
        &self,
        device_code: &TokenHash,
        decision: DeviceDecision,
        now: SystemTime,
    ) -> Result<bool, StorageError> {
        let mut tables = self.lock();
        let Some(record) = tables.records.get_mut(device_code.as_bytes()) else {
            return Ok(false);
        };
        if record.state != DeviceState::Pending || record.is_expired(now) {
            return Ok(false);
        }
        record.state = match decision {
            DeviceDecision::Approve { subject, scope } => DeviceState::Approved { subject, scope },
            DeviceDecision::Deny => DeviceState::Denied,
        };
        Ok(true)
    }

    async fn record_poll(
        &self,
        device_code: &TokenHash,
        client_id: &ClientId,
        seen: DevicePolling,
        next: DevicePolling,
    ) -> Result<bool, StorageError> {
        let mut tables = self.lock();
        let Some(record) = tables.records.get_mut(device_code.as_bytes()) else {
            return Ok(false);
        };
        if record.client_id != *client_id || DevicePolling::of(record) != seen {
            return Ok(false);
        }
        record.last_poll = next.last_poll;
        record.interval = next.interval;
        Ok(true)
    }

    async fn redeem(
        &self,
        device_code: &TokenHash,
        client_id: &ClientId,
    ) -> Result<DeviceRedemption, StorageError> {
        let mut tables = self.lock();
        let Some(record) = tables.records.get_mut(device_code.as_bytes()) else {
            return Ok(DeviceRedemption::NotApproved);
        };
        if record.client_id != *client_id {
            return Ok(DeviceRedemption::NotApproved);
        }
        match record.state {
            DeviceState::Approved { .. } => {
                let before = record.clone();
                record.state = DeviceState::Redeemed;
                Ok(DeviceRedemption::Redeemed(before))
            }
            DeviceState::Redeemed => Ok(DeviceRedemption::AlreadyRedeemed {
                grant_id: record.grant_id,
            }),
            DeviceState::Pending | DeviceState::Denied => Ok(DeviceRedemption::NotApproved),
        }
    }

    async fn purge_expired(&self, now: SystemTime) -> Result<usize, StorageError> {
        Ok(self.lock().purge(now, usize::MAX))
    }
}

#[cfg(test)]
mod tests {
    use std::time::UNIX_EPOCH;

    use super::*;
    use crate::test_support::block_on;
    use crate::types::{GrantId, Scope, Subject};

    fn at(s: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(s)
    }

    fn record(user_code: &str, created: u64, ttl: u64) -> DeviceRecord {
        DeviceRecord::new(
            GrantId::generate(),
            ClientId::new("tv").unwrap(),
            Scope::parse("a b").unwrap(),
            user_code.to_owned(),
            at(created),
            at(created + ttl),
            Duration::from_secs(5),
        )
    }

    fn hash(n: u32) -> TokenHash {
        TokenHash::of(&n.to_string())
    }

    fn tv() -> ClientId {
        ClientId::new("tv").unwrap()
    }

    #[test]
    fn user_code_is_unique_among_live_requests() {
        let store = MemoryDeviceStore::new();
        let insert = |n, created| block_on(store.insert(hash(n), record("BCDF", created, 10)));
        assert_eq!(insert(1, 0).unwrap(), DeviceInsert::Inserted);
        assert_eq!(insert(2, 5).unwrap(), DeviceInsert::UserCodeTaken);
        // Once the holder expired the code is free again; the old record stays for late polls.
        assert_eq!(insert(3, 10).unwrap(), DeviceInsert::Inserted);
        assert_eq!(
            block_on(store.find_by_user_code("BCDF"))
                .unwrap()
                .map(|(h, _)| h),
            Some(hash(3))
        );
        assert!(block_on(store.find(&hash(1))).unwrap().is_some());
    }

    #[test]
    fn state_changes_are_compare_and_set() {
        let store = MemoryDeviceStore::new();
        block_on(store.insert(hash(1), record("BCDF", 0, 100))).unwrap();
        let redeem = |client: &ClientId| block_on(store.redeem(&hash(1), client)).unwrap();
        // Not approved yet: nothing to redeem.
        assert_eq!(redeem(&tv()), DeviceRedemption::NotApproved);
        let approve = DeviceDecision::Approve {
            subject: Subject::new("alice"),
            scope: Scope::parse("a").unwrap(),
        };
        // Expired requests cannot be decided.
        assert!(!block_on(store.decide(&hash(1), approve.clone(), at(100))).unwrap());
        assert!(block_on(store.decide(&hash(1), approve.clone(), at(1))).unwrap());
        // Decided once only.
        assert!(!block_on(store.decide(&hash(1), DeviceDecision::Deny, at(2))).unwrap());
        // Another client cannot redeem it.
        let other = ClientId::new("other").unwrap();
        assert_eq!(redeem(&other), DeviceRedemption::NotApproved);
        let DeviceRedemption::Redeemed(before) = redeem(&tv()) else {
            panic!("first redemption must succeed")
        };
        assert!(matches!(before.state, DeviceState::Approved { .. }));
        assert_eq!(
            redeem(&tv()),
            DeviceRedemption::AlreadyRedeemed {
                grant_id: before.grant_id
            }
        );
        assert!(!block_on(store.decide(&hash(1), approve, at(3))).unwrap());
    }

    #[test]
    fn record_poll_is_a_compare_and_set_of_the_owner_only() {
        let store = MemoryDeviceStore::new();
        block_on(store.insert(hash(1), record("BCDF", 0, 100))).unwrap();
        let fresh = DevicePolling::new(None, Duration::from_secs(5));
        let polled = DevicePolling::new(Some(at(2)), Duration::from_secs(10));
        let other = ClientId::new("other").unwrap();
        assert!(!block_on(store.record_poll(&hash(1), &other, fresh, polled)).unwrap());
        assert!(!block_on(store.record_poll(&hash(9), &tv(), fresh, polled)).unwrap());
        assert!(block_on(store.record_poll(&hash(1), &tv(), fresh, polled)).unwrap());
        // The state moved on: the same compare fails and changes nothing.
        let stale = DevicePolling::new(Some(at(3)), Duration::from_secs(5));
        assert!(!block_on(store.record_poll(&hash(1), &tv(), fresh, stale)).unwrap());
        let after = block_on(store.find(&hash(1))).unwrap().unwrap();
        assert_eq!(DevicePolling::of(&after), polled);
    }

    #[test]
    fn purge_is_incremental_and_respects_retention() {
        let store = MemoryDeviceStore::new().with_retention(Duration::from_secs(10));
        for n in 0..20 {
            block_on(store.insert(hash(n), record(&format!("C{n}"), 0, 10))).unwrap();
        }
        // Expired at 10 but retained until 20.
        block_on(store.insert(hash(100), record("X", 15, 10))).unwrap();
        assert_eq!(store.len(), 21);
        block_on(store.insert(hash(101), record("Y", 20, 10))).unwrap();
        assert_eq!(store.len(), 22 - PURGE_PER_INSERT);
        assert_eq!(
            block_on(store.purge_expired(at(20))).unwrap(),
            20 - PURGE_PER_INSERT
        );
        assert_eq!(store.len(), 2);
        assert_eq!(store.lock().by_user_code.len(), 2);
    }

    #[test]
    fn purge_queue_stays_ordered_when_lifetimes_differ() {
        let store = MemoryDeviceStore::new().with_retention(Duration::ZERO);
        block_on(store.insert(hash(1), record("A", 0, 100))).unwrap();
        block_on(store.insert(hash(2), record("B", 0, 10))).unwrap();
        block_on(store.insert(hash(3), record("C", 0, 50))).unwrap();
        let order: Vec<u64> = store
            .lock()
            .purge_queue
            .iter()
            .map(|(t, _)| t.duration_since(UNIX_EPOCH).unwrap().as_secs())
            .collect();
        assert_eq!(order, [10, 50, 100]);
        assert_eq!(block_on(store.purge_expired(at(50))).unwrap(), 2);
        assert!(block_on(store.find(&hash(1))).unwrap().is_some());
    }

    #[test]
    fn a_fingerprint_match_alone_finds_nothing() {
        let store = MemoryDeviceStore::new();
        block_on(store.insert(hash(1), record("BCDF", 0, 10))).unwrap();
        // Simulate another code sharing the fingerprint: the record's own code decides.
        let digest = *hash(1).as_bytes();
        store
            .lock()
            .by_user_code
            .insert(fingerprint("GHJK"), digest);
        assert_eq!(block_on(store.find_by_user_code("GHJK")).unwrap(), None);
        assert!(block_on(store.find_by_user_code("BCDF")).unwrap().is_some());
    }

    #[test]
    fn debug_leaves_the_user_code_out() {
        let shown = format!("{:?}", record("WDJBMJHT", 0, 10));
        assert!(!shown.contains("WDJBMJHT") && shown.contains("<redacted>"));
    }

    #[test]
    fn capacity_bounds_the_store() {
        let store = MemoryDeviceStore::new()
            .with_capacity(3)
            .with_retention(Duration::ZERO);
        for n in 0..3 {
            block_on(store.insert(hash(n), record(&format!("C{n}"), 0, 10))).unwrap();
        }
        let err = block_on(store.insert(hash(3), record("C3", 1, 10))).unwrap_err();
        assert!(err.is_transient());
        // After expiry the inserts purge their way back in.
        assert_eq!(
            block_on(store.insert(hash(4), record("C4", 10, 10))).unwrap(),
            DeviceInsert::Inserted
        );
        assert!(store.len() <= 3);
    }
}
