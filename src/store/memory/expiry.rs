//! [`ExpiryQueue`]: the digests of a memory store in the order they expire, so that purges
//! remove expired records a few at a time without scanning the store.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::SystemTime;

use crate::hash::DigestMap;
use crate::secret::TokenHash;

/// A min-heap of (expiry, digest). A digest may be queued more than once (a record replaced
/// with a later expiry): the store checks its own record when a digest comes due.
#[derive(Default)]
pub(super) struct ExpiryQueue(BinaryHeap<Reverse<(SystemTime, [u8; 32])>>);

impl ExpiryQueue {
    /// Queues `key` to come due at `at`.
    pub(super) fn push(&mut self, at: SystemTime, key: &TokenHash) {
        self.0.push(Reverse((at, *key.as_bytes())));
    }

    /// Removes and returns the earliest digest due at or before `now`, if any.
    pub(super) fn pop_due(&mut self, now: SystemTime) -> Option<TokenHash> {
        match self.0.peek() {
            Some(Reverse((at, _))) if *at <= now => {}
            _ => return None,
        }
        self.0
            .pop()
            .map(|Reverse((_, bytes))| TokenHash::from_bytes(bytes))
    }
}

/// Records keyed by digest, each with the time it expires (at or after which it is gone),
/// purged a few at a time in expiry order: the table of the single-use and pushed-request
/// stores.
pub(super) struct Expiring<V> {
    records: DigestMap<TokenHash, (SystemTime, V)>,
    queue: ExpiryQueue,
}

impl<V> Default for Expiring<V> {
    fn default() -> Self {
        Self {
            records: DigestMap::default(),
            queue: ExpiryQueue::default(),
        }
    }
}

impl<V> std::fmt::Debug for Expiring<V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Expiring")
            .field("records", &self.records.len())
            .finish()
    }
}

impl<V> Expiring<V> {
    /// Stores `value` under `key` until `expires_at`, replacing any earlier record.
    pub(super) fn insert(&mut self, key: &TokenHash, expires_at: SystemTime, value: V) {
        self.queue.push(expires_at, key);
        self.records.insert(*key, (expires_at, value));
    }

    /// The record under `key`, unless it expired by `now`.
    pub(super) fn live(&self, key: &TokenHash, now: SystemTime) -> Option<&V> {
        match self.records.get(key) {
            Some((at, value)) if now < *at => Some(value),
            _ => None,
        }
    }

    /// Removes the record under `key` if it is live at `now`; says whether it was.
    pub(super) fn take_live(&mut self, key: &TokenHash, now: SystemTime) -> bool {
        let live = self.live(key, now).is_some();
        if live {
            self.records.remove(key);
        }
        live
    }

    /// How many records are held, expired ones not yet purged included.
    pub(super) fn len(&self) -> usize {
        self.records.len()
    }

    /// Removes up to `limit` records expired by `now`, oldest first. A record replaced
    /// after it was queued has a later expiry and stays.
    pub(super) fn purge(&mut self, now: SystemTime, limit: usize) -> usize {
        let mut purged = 0;
        while purged < limit {
            let Some(key) = self.queue.pop_due(now) else {
                break;
            };
            if self.live(&key, now).is_none() && self.records.remove(&key).is_some() {
                purged += 1;
            }
        }
        purged
    }
}
