//! [`MemoryTokenStore`]: access and refresh tokens held in memory.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;

use crate::error::StorageError;
use crate::hash::DigestMap;
use crate::secret::TokenHash;
use crate::store::memory::slot_index::SlotIndex;
use crate::store::{
    Insert, OpenIdContext, RefreshLookup, RotatedOut, Rotation, TokenKind, TokenRecord, TokenStore,
};
use crate::types::{Actor, ClientId, GrantId, Resources, Scope, Subject};

/// How many expired records an insert purges at most, so no insert pauses for a time that
/// grows with the store, while purging still outpaces issuing.
const PURGE_PER_INSERT: usize = 4;

/// One past the highest slot number.
const NONE: u32 = u32::MAX;

/// A token store held in memory.
///
/// Lookups are constant time (a hash map keyed by digest). Expired records are purged
/// incrementally: every insert removes at most a few of the oldest expired records, found
/// through an expiry queue, so the store stays bounded by the number of live tokens
/// without a pause proportional to its size. [`TokenStore::purge_expired`] removes all
/// expired records at once, for hosts that want to run it from a timer.
///
/// # Memory
///
/// Records are kept compact: in a slab of fixed-size, cache-line aligned slots (times as
/// integer nanoseconds; the client id, scope and subject as shared reference-counted
/// strings, each distinct scope stored once; the rarer audience and OpenID context out of line), found through
/// two open-addressing indexes of 8 bytes per bucket, one from the digest's first 64 bits
/// to the slot (the full digest is confirmed in the slot) and one from the grant id to its
/// slots. With one million live access tokens, each from its own grant (the client
/// credentials case), the store uses about 195 bytes of resident memory per token;
/// `cargo bench --bench memory_scaling` measures it from ten thousand to a million tokens,
/// with the lookup time and the purge pauses at each size.
///
/// ```
/// # fn block_on<F: std::future::Future>(f: F) -> F::Output {
/// #     let mut f = std::pin::pin!(f);
/// #     let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
/// #     loop { if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) { return v; } }
/// # }
/// use std::time::{Duration, SystemTime};
/// use grantflow::*;
/// use grantflow::secret::AccessToken;
/// use grantflow::store::{GrantId, TokenKind, TokenRecord, TokenStore as _};
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

/// One stored record: 128 bytes, aligned to cache lines so a record spans two lines,
/// never three.
#[repr(align(64))]
struct Slot {
    hash: TokenHash,
    grant_id: GrantId,
    client_id: ClientId,
    scope: Scope,
    subject: Option<Subject>,
    /// Audience and out-of-range times: absent for most tokens.
    extra: Option<Box<Extra>>,
    /// Nanoseconds since the Unix epoch, saturated.
    issued_at: u64,
    /// Nanoseconds since the Unix epoch, saturated.
    expires_at: u64,
    kind: TokenKind,
}

/// The rarer parts of a record.
struct Extra {
    audience: Resources,
    /// The OpenID Connect context of a token of an OpenID grant.
    openid: Option<Arc<OpenIdContext>>,
    /// A delegated token's actor chain.
    actor: Option<Actor>,
    /// The thumbprint of the DPoP key the token is bound to.
    dpop_jkt: Option<String>,
    /// The exact times when they do not fit the nanosecond fields (before 1970 or after
    /// 2554), so that a record always reads back as it was written.
    exact_times: Option<Box<(SystemTime, SystemTime)>>,
}

/// Nanoseconds since the Unix epoch: 0 before it, `u64::MAX` after 2554.
fn saturating_nanos(time: SystemTime) -> u64 {
    match time.duration_since(UNIX_EPOCH) {
        Ok(since) => u64::try_from(since.as_nanos()).unwrap_or(u64::MAX),
        Err(_) => 0,
    }
}

/// Whether `time` is exactly representable as nanoseconds since the epoch in a `u64`.
fn fits(time: SystemTime) -> bool {
    time.duration_since(UNIX_EPOCH)
        .is_ok_and(|since| u64::try_from(since.as_nanos()).is_ok_and(|n| n < u64::MAX))
}

impl Slot {
    fn new(hash: TokenHash, record: TokenRecord) -> Self {
        let exact_times = if fits(record.issued_at) && fits(record.expires_at) {
            None
        } else {
            Some(Box::new((record.issued_at, record.expires_at)))
        };
        let extra = if record.audience.is_empty()
            && record.openid.is_none()
            && exact_times.is_none()
            && record.actor.is_none()
            && record.dpop_jkt.is_none()
        {
            None
        } else {
            Some(Box::new(Extra {
                audience: record.audience,
                openid: record.openid,
                actor: record.actor,
                dpop_jkt: record.dpop_jkt,
                exact_times,
            }))
        };
        Self {
            hash,
            grant_id: record.grant_id,
            client_id: record.client_id,
            scope: record.scope,
            subject: record.subject,
            extra,
            issued_at: saturating_nanos(record.issued_at),
            expires_at: saturating_nanos(record.expires_at),
            kind: record.kind,
        }
    }

    fn times(&self) -> (SystemTime, SystemTime) {
        match self.extra.as_ref().and_then(|e| e.exact_times.as_deref()) {
            Some(times) => *times,
            None => (
                UNIX_EPOCH + Duration::from_nanos(self.issued_at),
                UNIX_EPOCH + Duration::from_nanos(self.expires_at),
            ),
        }
    }

    fn is_expired(&self, now: SystemTime) -> bool {
        now >= self.times().1
    }

    fn to_record(&self) -> TokenRecord {
        let (issued_at, expires_at) = self.times();
        let audience = self
            .extra
            .as_ref()
            .map_or_else(Resources::empty, |e| e.audience.clone());
        let openid = self.extra.as_ref().and_then(|e| e.openid.clone());
        let actor = self.extra.as_ref().and_then(|e| e.actor.clone());
        let dpop_jkt = self.extra.as_ref().and_then(|e| e.dpop_jkt.clone());
        TokenRecord {
            kind: self.kind,
            grant_id: self.grant_id,
            client_id: self.client_id.clone(),
            subject: self.subject.clone(),
            scope: self.scope.clone(),
            issued_at,
            expires_at,
            audience,
            openid,
            actor,
            dpop_jkt,
        }
    }

    fn into_record(self) -> TokenRecord {
        let (issued_at, expires_at) = self.times();
        let (audience, openid, actor, dpop_jkt) = self.extra.map_or_else(
            || (Resources::empty(), None, None, None),
            |e| (e.audience, e.openid, e.actor, e.dpop_jkt),
        );
        TokenRecord {
            kind: self.kind,
            grant_id: self.grant_id,
            client_id: self.client_id,
            subject: self.subject,
            scope: self.scope,
            issued_at,
            expires_at,
            audience,
            openid,
            actor,
            dpop_jkt,
        }
    }
}

/// The first 64 bits of a digest: uniformly random, as the digests are.
fn hash_key(hash: &TokenHash) -> u64 {
    let bytes = hash.as_bytes();
    u64::from_le_bytes([
        bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7],
    ])
}

/// The first 64 bits of a grant id (random too).
fn grant_key(grant: &GrantId) -> u64 {
    let bytes = grant.as_bytes();
    u64::from_le_bytes([
        bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7],
    ])
}

#[derive(Default)]
struct TokenTables {
    /// The records; `None` marks a free slot (listed in `free`).
    slots: Vec<Option<Slot>>,
    free: Vec<u32>,
    /// Digest prefix → slot; the full digest is confirmed against the slot.
    index: SlotIndex,
    /// Grant id prefix → every slot of that grant (a multimap).
    by_grant: SlotIndex,
    /// (expiry in nanoseconds, slot), soonest first. Entries of removed records stay until
    /// they come up, and are then skipped.
    expiry: BinaryHeap<Reverse<(u64, u32)>>,
    len: usize,
    /// Refresh tokens rotated out, remembered until the old token's expiry so that their
    /// reuse is recognised ([RFC 9700 §4.14.2]).
    ///
    /// [RFC 9700 §4.14.2]: https://www.rfc-editor.org/rfc/rfc9700#section-4.14.2
    rotated: DigestMap<TokenHash, RotatedOut>,
    /// (expiry in nanoseconds, digest) of the rotated-out markers, soonest first.
    rotated_expiry: BinaryHeap<Reverse<(u64, [u8; 32])>>,
    /// Revoked grants (tombstones) → until when, in nanoseconds: records of these grants
    /// are refused ([RFC 6749 §4.1.2]).
    ///
    /// [RFC 6749 §4.1.2]: https://www.rfc-editor.org/rfc/rfc6749#section-4.1.2
    revoked: DigestMap<GrantId, u64>,
    /// (until, grant) of the tombstones, soonest first, one entry per tombstone: a
    /// tombstone extended by a later revocation is re-queued when its old entry comes up.
    revoked_expiry: BinaryHeap<Reverse<(u64, [u8; 16])>>,
    /// One shared copy of each scope the records carry: tokens mostly repeat a few scopes,
    /// so a record holds a reference instead of its own string (less memory, and a lookup
    /// touches a string that is already in the cache). Bounded: scopes past
    /// [`INTERNED_SCOPES`] are stored as they come.
    scopes: HashSet<Scope>,
    /// The scope interned last: a run of tokens with one scope costs a comparison, not a
    /// hash.
    last_scope: Option<Scope>,
}

/// The most distinct scopes [`TokenTables`] shares.
const INTERNED_SCOPES: usize = 4096;

impl std::fmt::Debug for TokenTables {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenTables")
            .field("records", &self.len)
            .field("rotated_out", &self.rotated.len())
            .field("revoked_grants", &self.revoked.len())
            .finish()
    }
}

impl TokenTables {
    fn slot(&self, index: u32) -> Option<&Slot> {
        self.slots.get(index as usize).and_then(Option::as_ref)
    }

    /// The slot holding `hash`.
    fn lookup(&self, hash: &TokenHash) -> Option<u32> {
        self.index.find(hash_key(hash), |index| {
            self.slot(index).is_some_and(|s| s.hash == *hash)
        })
    }

    /// Whether `count` more slots can be allocated (slot numbers are `u32`).
    fn has_room(&self, count: usize) -> bool {
        let fresh = count.saturating_sub(self.free.len());
        self.slots.len().saturating_add(fresh) < NONE as usize
    }

    fn insert(&mut self, hash: TokenHash, mut record: TokenRecord) {
        // A 256-bit collision is not going to happen; keep the tables right anyway.
        if let Some(old) = self.lookup(&hash) {
            self.remove_at(old);
        }
        match &self.last_scope {
            Some(last) if last.as_str() == record.scope.as_str() => record.scope = last.clone(),
            _ => {
                match self.scopes.get(&record.scope) {
                    Some(shared) => record.scope = shared.clone(),
                    None if self.scopes.len() < INTERNED_SCOPES => {
                        self.scopes.insert(record.scope.clone());
                    }
                    None => {}
                }
                self.last_scope = Some(record.scope.clone());
            }
        }
        let slot = Slot::new(hash, record);
        let index = match self.free.pop() {
            Some(index) => index,
            None => {
                self.slots.push(None);
                // `has_room` was checked by the caller, so this fits.
                u32::try_from(self.slots.len() - 1).unwrap_or(NONE - 1)
            }
        };
        self.index.insert(hash_key(&hash), index);
        self.by_grant.insert(grant_key(&slot.grant_id), index);
        self.expiry.push(Reverse((slot.expires_at, index)));
        if let Some(place) = self.slots.get_mut(index as usize) {
            *place = Some(slot);
        }
        self.len += 1;
    }

    /// Removes the record in slot `index`.
    fn remove_at(&mut self, index: u32) -> Option<TokenRecord> {
        let slot = self.slots.get_mut(index as usize)?.take()?;
        self.index.remove(hash_key(&slot.hash), index);
        self.by_grant.remove(grant_key(&slot.grant_id), index);
        self.free.push(index);
        self.len -= 1;
        Some(slot.into_record())
    }

    fn remove(&mut self, hash: &TokenHash) -> Option<TokenRecord> {
        let index = self.lookup(hash)?;
        self.remove_at(index)
    }

    /// Whether a record of a grant with a tombstone still in force at `now` is among
    /// `records`.
    fn any_revoked<'a>(
        &self,
        mut records: impl Iterator<Item = &'a TokenRecord>,
        now: SystemTime,
    ) -> bool {
        if self.revoked.is_empty() {
            return false;
        }
        let now_nanos = saturating_nanos(now);
        records.any(|record| {
            self.revoked
                .get(&record.grant_id)
                .is_some_and(|until| *until > now_nanos)
        })
    }

    fn revoke_grant(&mut self, grant: &GrantId, until: SystemTime) -> usize {
        let until = saturating_nanos(until);
        match self.revoked.get_mut(grant) {
            // Its queue entry re-queues the tombstone when it comes up.
            Some(kept) => *kept = (*kept).max(until),
            None => {
                self.revoked.insert(*grant, until);
                self.revoked_expiry
                    .push(Reverse((until, *grant.as_bytes())));
            }
        }
        let matching: Vec<u32> = self
            .by_grant
            .candidates(grant_key(grant))
            .filter(|index| self.slot(*index).is_some_and(|s| s.grant_id == *grant))
            .collect();
        matching
            .into_iter()
            .filter(|index| self.remove_at(*index).is_some())
            .count()
    }

    /// Removes every record of `client`: a scan of the slab, for the rare deletion of a
    /// dynamically registered client.
    fn revoke_client(&mut self, client: &ClientId) -> usize {
        let matching: Vec<u32> = (0..self.slots.len())
            .filter_map(|index| u32::try_from(index).ok())
            .filter(|index| self.slot(*index).is_some_and(|s| s.client_id == *client))
            .collect();
        matching
            .into_iter()
            .filter(|index| self.remove_at(*index).is_some())
            .count()
    }

    /// Purges up to `limit` records whose expiry is at or before `now`.
    fn purge(&mut self, now: SystemTime, limit: usize) -> usize {
        let now_nanos = saturating_nanos(now);
        let mut purged = 0;
        while purged < limit {
            match self.expiry.peek() {
                Some(Reverse((expires_at, _))) if *expires_at <= now_nanos => {}
                _ => break,
            }
            let Some(Reverse((_, index))) = self.expiry.pop() else {
                break;
            };
            // The slot may have been freed or reused since; only an expired record goes.
            if self.slot(index).is_some_and(|s| s.is_expired(now)) {
                self.remove_at(index);
                purged += 1;
            }
        }
        while purged < limit {
            match self.rotated_expiry.peek() {
                Some(Reverse((expires_at, _))) if *expires_at <= now_nanos => {}
                _ => break,
            }
            let Some(Reverse((_, bytes))) = self.rotated_expiry.pop() else {
                break;
            };
            if self.rotated.remove(&TokenHash::from_bytes(bytes)).is_some() {
                purged += 1;
            }
        }
        while purged < limit {
            match self.revoked_expiry.peek() {
                Some(Reverse((until, _))) if *until <= now_nanos => {}
                _ => break,
            }
            let Some(Reverse((_, bytes))) = self.revoked_expiry.pop() else {
                break;
            };
            let grant = GrantId::from_bytes(bytes);
            match self.revoked.get(&grant) {
                Some(until) if *until <= now_nanos => {
                    self.revoked.remove(&grant);
                    purged += 1;
                }
                // Extended by a later revocation: queue it again at its new time.
                Some(until) => self.revoked_expiry.push(Reverse((*until, bytes))),
                None => {}
            }
        }
        purged
    }

    /// Replaces the active refresh token `old` by a rotated-out marker and stores the
    /// successors, all in one step under the store's lock.
    fn rotate(
        &mut self,
        old: &TokenHash,
        now: SystemTime,
        successors: Vec<(TokenHash, TokenRecord)>,
    ) -> Result<Rotation, StorageError> {
        if let Some(marker) = self.rotated.get(old) {
            return Ok(Rotation::AlreadyRotated(marker.clone()));
        }
        if self.any_revoked(successors.iter().map(|(_, r)| r), now) {
            return Ok(Rotation::GrantRevoked);
        }
        let Some(index) = self.lookup(old) else {
            return Ok(Rotation::NotFound);
        };
        if self.slot(index).map(|s| s.kind) != Some(TokenKind::Refresh) {
            return Ok(Rotation::NotFound);
        }
        if !self.has_room(successors.len()) {
            return Err(StorageError::transient("the memory token store is full"));
        }
        let Some(record) = self.remove_at(index) else {
            return Ok(Rotation::NotFound);
        };
        let marker = RotatedOut::new(record.grant_id, record.client_id, now, record.expires_at);
        self.rotated_expiry.push(Reverse((
            saturating_nanos(record.expires_at),
            *old.as_bytes(),
        )));
        self.rotated.insert(*old, marker);
        self.purge(now, PURGE_PER_INSERT * successors.len());
        for (hash, record) in successors {
            self.insert(hash, record);
        }
        Ok(Rotation::Rotated)
    }
}

impl MemoryTokenStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty store with room for `records` records before any table grows.
    ///
    /// The tables grow by doubling, and a growing index is rebuilt in one step: at a
    /// million records that is a pause of some milliseconds for the insert that triggers
    /// it (purging never triggers one). A deployment that knows how many tokens it keeps
    /// live (issue rate × lifetime) can reserve them up front and never see that pause.
    ///
    /// ```
    /// use grantflow::MemoryTokenStore;
    ///
    /// // 100 tokens a second that live an hour.
    /// let store = MemoryTokenStore::with_capacity(100 * 3600);
    /// assert!(store.is_empty());
    /// ```
    pub fn with_capacity(records: usize) -> Self {
        let mut tables = TokenTables::default();
        tables.slots.reserve_exact(records);
        tables.index.reserve(records);
        tables.by_grant.reserve(records);
        tables.expiry.reserve(records);
        Self {
            inner: Mutex::new(tables),
        }
    }

    /// How many records the store holds (live, and expired ones not yet purged).
    pub fn len(&self) -> usize {
        self.lock().len
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
    async fn insert(&self, tokens: Vec<(TokenHash, TokenRecord)>) -> Result<Insert, StorageError> {
        let mut tables = self.lock();
        // The newest issue time stands for "now": the store needs no clock of its own and
        // purges by the same time source as the server that issues.
        let Some(now) = tokens.iter().map(|(_, r)| r.issued_at).max() else {
            return Ok(Insert::Stored);
        };
        tables.purge(now, PURGE_PER_INSERT * tokens.len());
        // AC-02: checked under the same lock as the write, so a concurrent revoke_grant
        // either removes these records afterwards or refuses them here.
        if tables.any_revoked(tokens.iter().map(|(_, r)| r), now) {
            return Ok(Insert::GrantRevoked);
        }
        if !tables.has_room(tokens.len()) {
            return Err(StorageError::transient("the memory token store is full"));
        }
        for (hash, record) in tokens {
            tables.insert(hash, record);
        }
        Ok(Insert::Stored)
    }

    async fn find(&self, token: &TokenHash) -> Result<Option<TokenRecord>, StorageError> {
        let tables = self.lock();
        Ok(tables
            .lookup(token)
            .and_then(|index| tables.slot(index))
            .map(Slot::to_record))
    }

    async fn revoke(&self, token: &TokenHash) -> Result<Option<TokenRecord>, StorageError> {
        Ok(self.lock().remove(token))
    }

    async fn revoke_grant(
        &self,
        grant: &GrantId,
        until: SystemTime,
    ) -> Result<usize, StorageError> {
        Ok(self.lock().revoke_grant(grant, until))
    }

    async fn purge_expired(&self, now: SystemTime) -> Result<usize, StorageError> {
        Ok(self.lock().purge(now, usize::MAX))
    }

    /// A scan of every record under the lock: linear in the number of live tokens (a few
    /// milliseconds per million), for the rare deletion of a registered client.
    async fn revoke_client(&self, client: &ClientId) -> Result<usize, StorageError> {
        Ok(self.lock().revoke_client(client))
    }

    async fn find_refresh(&self, token: &TokenHash) -> Result<Option<RefreshLookup>, StorageError> {
        let tables = self.lock();
        if let Some(slot) = tables.lookup(token).and_then(|index| tables.slot(index)) {
            return Ok(Some(RefreshLookup::Active(slot.to_record())));
        }
        Ok(tables
            .rotated
            .get(token)
            .map(|marker| RefreshLookup::RotatedOut(marker.clone())))
    }

    async fn rotate(
        &self,
        old: &TokenHash,
        now: SystemTime,
        successors: Vec<(TokenHash, TokenRecord)>,
    ) -> Result<Rotation, StorageError> {
        self.lock().rotate(old, now, successors)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;
    use crate::test_support::block_on;

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

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn ac_02_a_revoked_grant_refuses_later_inserts_until_its_tombstone_expires() {
        let store = MemoryTokenStore::new();
        let grant = GrantId::generate();
        // Revoked before its tokens arrive: nothing to remove, but the grant is revoked.
        assert_eq!(block_on(store.revoke_grant(&grant, at(100))).unwrap(), 0);
        let other = record(GrantId::generate(), 10, 10);
        let refused = block_on(store.insert(vec![
            (hash(1), other.clone()),
            (hash(2), record(grant, 10, 10)),
        ]));
        // All or nothing: the record of the other grant is not stored either.
        assert_eq!(refused.unwrap(), Insert::GrantRevoked);
        assert!(store.is_empty());
        assert_eq!(block_on(store.find(&hash(1))).unwrap(), None);
        // Still refused just before the tombstone's end.
        assert_eq!(
            block_on(store.insert(vec![(hash(2), record(grant, 99, 10))])).unwrap(),
            Insert::GrantRevoked
        );
        assert_eq!(store.lock().revoked.len(), 1);
        // At its end the tombstone is purged, and the grant's records are accepted.
        assert_eq!(
            block_on(store.insert(vec![(hash(2), record(grant, 100, 10))])).unwrap(),
            Insert::Stored
        );
        assert_eq!(store.lock().revoked.len(), 0);
        assert_eq!(store.lock().revoked_expiry.len(), 0);
        assert_eq!(store.len(), 1);
    }

    #[test]
    fn ac_02_a_revoked_grant_refuses_rotation_and_changes_nothing() {
        let store = MemoryTokenStore::new();
        let grant = GrantId::generate();
        let mut refresh = record(grant, 0, 50);
        refresh.kind = TokenKind::Refresh;
        block_on(store.insert(vec![(hash(1), refresh.clone())])).unwrap();
        // Successors of a revoked grant are refused, and the old token stays as it was.
        let other = GrantId::generate();
        block_on(store.revoke_grant(&other, at(100))).unwrap();
        let rotation =
            block_on(store.rotate(&hash(1), at(5), vec![(hash(2), record(other, 5, 10))]));
        assert_eq!(rotation.unwrap(), Rotation::GrantRevoked);
        // The old token is still active, nothing was stored.
        assert_eq!(block_on(store.find(&hash(1))).unwrap(), Some(refresh));
        assert_eq!(block_on(store.find(&hash(2))).unwrap(), None);
        // Revoking the token's own grant removes it: rotation finds nothing.
        assert_eq!(block_on(store.revoke_grant(&grant, at(100))).unwrap(), 1);
        assert_eq!(
            block_on(store.rotate(&hash(1), at(6), vec![(hash(3), record(grant, 6, 10))])).unwrap(),
            Rotation::GrantRevoked
        );
    }

    #[test]
    fn ac_02_tombstones_are_purged_incrementally_and_extended_once() {
        let store = MemoryTokenStore::new();
        let grant = GrantId::generate();
        // Revoked again and again (a replayed code): one tombstone, one queue entry,
        // extended to the latest end.
        for n in 0..50 {
            block_on(store.revoke_grant(&grant, at(100 + n))).unwrap();
        }
        for _ in 0..20 {
            block_on(store.revoke_grant(&GrantId::generate(), at(10))).unwrap();
        }
        assert_eq!(store.lock().revoked.len(), 21);
        assert_eq!(store.lock().revoked_expiry.len(), 21);
        // One insert at 120 purges a bounded batch of the 20 expired tombstones.
        block_on(store.insert(vec![(hash(1), record(GrantId::generate(), 120, 1000))])).unwrap();
        assert_eq!(store.lock().revoked.len(), 21 - PURGE_PER_INSERT);
        assert_eq!(
            block_on(store.purge_expired(at(120))).unwrap(),
            20 - PURGE_PER_INSERT
        );
        // The repeatedly revoked grant is still revoked until 149, then forgotten.
        assert_eq!(
            block_on(store.insert(vec![(hash(2), record(grant, 148, 10))])).unwrap(),
            Insert::GrantRevoked
        );
        assert_eq!(block_on(store.purge_expired(at(149))).unwrap(), 1);
        assert!(store.lock().revoked.is_empty());
        assert!(store.lock().revoked_expiry.is_empty());
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
        assert_eq!(store.lock().index.len(), 100);
        assert_eq!(store.lock().expiry.len(), 100);
    }

    #[test]
    fn rt_05_rotation_is_single_winner_and_the_marker_lives_until_expiry() {
        let store = MemoryTokenStore::new();
        let grant = GrantId::generate();
        let mut refresh = record(grant, 0, 100);
        refresh.kind = TokenKind::Refresh;
        block_on(store.insert(vec![(hash(1), refresh.clone())])).unwrap();
        let now = UNIX_EPOCH + Duration::from_secs(10);
        let mut successor = refresh.clone();
        successor.issued_at = now;
        let rotated = block_on(store.rotate(&hash(1), now, vec![(hash(2), successor.clone())]));
        assert_eq!(rotated.unwrap(), Rotation::Rotated);
        assert!(block_on(store.find(&hash(1))).unwrap().is_none());
        assert!(block_on(store.find(&hash(2))).unwrap().is_some());
        // A second rotation of the same token stores nothing and reports the marker.
        let again = block_on(store.rotate(&hash(1), now, vec![(hash(3), successor)])).unwrap();
        assert!(matches!(again, Rotation::AlreadyRotated(ref m) if m.grant_id == grant));
        assert!(block_on(store.find(&hash(3))).unwrap().is_none());
        assert!(matches!(
            block_on(store.find_refresh(&hash(1))).unwrap(),
            Some(RefreshLookup::RotatedOut(_))
        ));
        // Access tokens are not rotated.
        block_on(store.insert(vec![(hash(4), record(grant, 0, 100))])).unwrap();
        assert_eq!(
            block_on(store.rotate(&hash(4), now, Vec::new())).unwrap(),
            Rotation::NotFound
        );
        // The marker goes once the old token would have expired.
        let later = UNIX_EPOCH + Duration::from_secs(100);
        block_on(store.purge_expired(later)).unwrap();
        assert!(block_on(store.find_refresh(&hash(1))).unwrap().is_none());
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
        assert_eq!(block_on(store.revoke_grant(&grant, at(100))).unwrap(), 2);
        assert_eq!(block_on(store.find(&hash(1))).unwrap(), None);
        assert!(block_on(store.find(&hash(3))).unwrap().is_some());
        assert!(block_on(store.revoke(&hash(3))).unwrap().is_some());
        assert!(store.is_empty());
    }

    fn hash_with_prefix(prefix: u8, n: u8) -> TokenHash {
        let mut bytes = [prefix; 32];
        bytes[31] = n;
        TokenHash::from_bytes(bytes)
    }

    #[test]
    fn slot_is_compact() {
        assert_eq!(std::mem::size_of::<Slot>(), 128);
        assert_eq!(std::mem::size_of::<Option<Slot>>(), 128);
    }

    #[test]
    fn digests_sharing_a_prefix_are_kept_apart() {
        let store = MemoryTokenStore::new();
        let (a, b, c) = (
            hash_with_prefix(7, 1),
            hash_with_prefix(7, 2),
            hash_with_prefix(7, 3),
        );
        for h in [a, b, c] {
            block_on(store.insert(vec![(h, record(GrantId::generate(), 0, 10))])).unwrap();
        }
        for h in [a, b, c] {
            assert!(block_on(store.find(&h)).unwrap().is_some());
        }
        assert!(
            block_on(store.find(&hash_with_prefix(7, 4)))
                .unwrap()
                .is_none()
        );
        // Removing the first entry of the run leaves the others reachable.
        assert!(block_on(store.revoke(&a)).unwrap().is_some());
        assert!(block_on(store.find(&a)).unwrap().is_none());
        assert!(block_on(store.find(&b)).unwrap().is_some());
        assert!(block_on(store.revoke(&c)).unwrap().is_some());
        assert!(block_on(store.find(&b)).unwrap().is_some());
        assert_eq!(store.len(), 1);
    }

    #[test]
    fn grants_sharing_a_prefix_are_revoked_separately() {
        let store = MemoryTokenStore::new();
        let mut one = [9u8; 16];
        let mut two = [9u8; 16];
        one[15] = 1;
        two[15] = 2;
        let (one, two) = (GrantId::from_bytes(one), GrantId::from_bytes(two));
        block_on(store.insert(vec![
            (hash(1), record(one, 0, 10)),
            (hash(2), record(two, 0, 10)),
        ]))
        .unwrap();
        block_on(store.insert(vec![
            (hash(3), record(one, 0, 10)),
            (hash(4), record(two, 0, 10)),
        ]))
        .unwrap();
        // Revoke one token from the middle of the shared chain first.
        assert!(block_on(store.revoke(&hash(2))).unwrap().is_some());
        assert_eq!(block_on(store.revoke_grant(&one, at(100))).unwrap(), 2);
        assert!(block_on(store.find(&hash(4))).unwrap().is_some());
        assert_eq!(block_on(store.revoke_grant(&two, at(100))).unwrap(), 1);
        assert!(store.is_empty());
        assert_eq!(store.lock().by_grant.len(), 0);
    }

    #[test]
    fn reused_slots_are_not_purged_by_stale_queue_entries() {
        let store = MemoryTokenStore::new();
        block_on(store.insert(vec![(hash(1), record(GrantId::generate(), 0, 10))])).unwrap();
        block_on(store.revoke(&hash(1))).unwrap();
        // The new record reuses the slot and lives longer than the old queue entry.
        block_on(store.insert(vec![(hash(2), record(GrantId::generate(), 0, 100))])).unwrap();
        let purged = block_on(store.purge_expired(UNIX_EPOCH + Duration::from_secs(50))).unwrap();
        assert_eq!(purged, 0);
        assert!(block_on(store.find(&hash(2))).unwrap().is_some());
    }

    #[test]
    fn records_read_back_exactly() {
        let store = MemoryTokenStore::new();
        let before_epoch = UNIX_EPOCH - Duration::from_secs(5);
        let precise = UNIX_EPOCH + Duration::new(1_700_000_000, 123_456_789);
        let records = [
            record(GrantId::generate(), 1_700_000_000, 10_000),
            TokenRecord::new(
                TokenKind::Refresh,
                GrantId::generate(),
                ClientId::new("c").unwrap(),
                Scope::parse("a b").unwrap(),
                before_epoch,
                precise + Duration::new(86_400, 1),
            )
            .with_subject(Some(Subject::new("alice")))
            .with_audience(crate::types::Resources::one(
                crate::types::ResourceUri::parse("https://rs.example").unwrap(),
            )),
            TokenRecord::new(
                TokenKind::Access,
                GrantId::generate(),
                ClientId::new("c").unwrap(),
                Scope::empty(),
                precise,
                precise + Duration::from_secs(1),
            ),
            record(GrantId::generate(), 1_700_000_000, 10_000).with_openid(Some(Arc::new(
                OpenIdContext::new("pairwise").with_acr(Some("urn:acr:silver")),
            ))),
        ];
        for (n, r) in (0..).zip(&records) {
            block_on(store.insert(vec![(hash(n), r.clone())])).unwrap();
        }
        for (n, r) in (0..).zip(&records) {
            assert_eq!(block_on(store.find(&hash(n))).unwrap().as_ref(), Some(r));
        }
    }

    /// Operations of the model test, over a small key space so that they collide.
    #[derive(Debug, Clone)]
    enum Op {
        Insert { token: u8, grant: u8, ttl: u8 },
        Revoke(u8),
        RevokeGrant(u8),
        Purge(u8),
        Advance(u8),
    }

    fn op() -> impl proptest::strategy::Strategy<Value = Op> {
        use proptest::prelude::*;
        prop_oneof![
            4 => (0..40u8, 0..8u8, 1..20u8).prop_map(|(token, grant, ttl)| Op::Insert { token, grant, ttl }),
            2 => (0..40u8).prop_map(Op::Revoke),
            1 => (0..8u8).prop_map(Op::RevokeGrant),
            1 => (0..30u8).prop_map(Op::Purge),
            1 => (0..5u8).prop_map(Op::Advance),
        ]
    }

    /// Digests sharing prefixes in pairs, and grants sharing prefixes in pairs, so the
    /// index runs and shared grant keys are exercised.
    fn model_hash(token: u8) -> TokenHash {
        let mut bytes = [0u8; 32];
        bytes[0] = token / 2;
        bytes[31] = token;
        TokenHash::from_bytes(bytes)
    }

    fn model_grant(grant: u8) -> GrantId {
        let mut bytes = [0u8; 16];
        bytes[0] = grant / 2;
        bytes[15] = grant;
        GrantId::from_bytes(bytes)
    }

    proptest::proptest! {
        #[test]
        fn behaves_like_a_map(ops in proptest::collection::vec(op(), 1..120)) {
            let store = MemoryTokenStore::new();
            let mut model: HashMap<u8, TokenRecord> = HashMap::new();
            let mut revoked: HashMap<u8, u64> = HashMap::new();
            let mut now = 0u64;
            for op in ops {
                match op {
                    Op::Insert { token, grant, ttl } => {
                        let r = record(model_grant(grant), now, u64::from(ttl));
                        let outcome = block_on(store.insert(vec![(model_hash(token), r.clone())])).unwrap();
                        // A grant revoked until after now refuses its records (AC-02).
                        if revoked.get(&grant).is_some_and(|until| *until > now) {
                            proptest::prop_assert_eq!(outcome, Insert::GrantRevoked);
                        } else {
                            proptest::prop_assert_eq!(outcome, Insert::Stored);
                            // The store may purge expired records on insert; so does the
                            // model, loosely: only what the store reports gone may be gone.
                            model.insert(token, r);
                        }
                    }
                    Op::Revoke(token) => {
                        let got = block_on(store.revoke(&model_hash(token))).unwrap();
                        let want = model.remove(&token);
                        // A record the model holds may have been purged if it expired.
                        match (&got, &want) {
                            (Some(g), Some(w)) => proptest::prop_assert_eq!(g, w),
                            (None, Some(w)) => proptest::prop_assert!(w.is_expired(UNIX_EPOCH + Duration::from_secs(now))),
                            (Some(_), None) => proptest::prop_assert!(false, "revoked a record the model lacks"),
                            (None, None) => {}
                        }
                    }
                    Op::RevokeGrant(grant) => {
                        let id = model_grant(grant);
                        let until = now + 30;
                        let count = block_on(store.revoke_grant(&id, at(until))).unwrap();
                        let kept = revoked.entry(grant).or_insert(until);
                        *kept = (*kept).max(until);
                        let before = model.len();
                        model.retain(|_, r| r.grant_id != id);
                        proptest::prop_assert!(count <= before - model.len());
                    }
                    Op::Purge(at) => {
                        let at = UNIX_EPOCH + Duration::from_secs(now + u64::from(at));
                        block_on(store.purge_expired(at)).unwrap();
                        model.retain(|_, r| !r.is_expired(at));
                        let at = saturating_nanos(at) / 1_000_000_000;
                        revoked.retain(|_, until| *until > at);
                    }
                    Op::Advance(by) => now += u64::from(by),
                }
                // Every record the store holds is the model's; every live model record is
                // in the store.
                let clock = UNIX_EPOCH + Duration::from_secs(now);
                for token in 0..40u8 {
                    let found = block_on(store.find(&model_hash(token))).unwrap();
                    match (found, model.get(&token)) {
                        (Some(f), Some(m)) => proptest::prop_assert_eq!(&f, m),
                        (Some(_), None) => proptest::prop_assert!(false, "store holds a removed record"),
                        (None, Some(m)) => proptest::prop_assert!(m.is_expired(clock), "live record lost"),
                        (None, None) => {}
                    }
                }
                model.retain(|token, _| block_on(store.find(&model_hash(*token))).unwrap().is_some());
                proptest::prop_assert_eq!(store.len(), model.len());
            }
        }
    }
}
