//! [`ExpiryQueue`]: the digests of a memory store in the order they expire, so that purges
//! remove expired records a few at a time without scanning the store.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::SystemTime;

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
