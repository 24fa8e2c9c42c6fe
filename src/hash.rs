//! One hasher for map keys that are already uniformly distributed: SHA-256 digests of
//! server-made secrets, random grant ids, keyed 64-bit digests. Folding their bytes is
//! enough; running SipHash over them again only costs time.
//!
//! Only the server chooses such keys (it inserts digests of values it generated), so no
//! one can aim colliding keys at a table; presented values are only looked up.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// Folds the key's bytes, eight at a time, into the hash.
#[derive(Default)]
pub(crate) struct DigestHasher(u64);

impl Hasher for DigestHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(word));
        }
    }

    fn write_u64(&mut self, value: u64) {
        self.0 = self.0.rotate_left(23) ^ value;
    }
}

/// A map keyed by already-uniform values.
pub(crate) type DigestMap<K, V> = HashMap<K, V, BuildHasherDefault<DigestHasher>>;

#[cfg(test)]
mod tests {
    use std::hash::BuildHasher;

    use super::*;
    use crate::secret::TokenHash;

    #[test]
    fn digests_spread_over_the_low_bits() {
        let build = BuildHasherDefault::<DigestHasher>::default();
        let mut buckets = [0u32; 64];
        for n in 0..6400u32 {
            let hash = build.hash_one(TokenHash::of(&n.to_string()));
            buckets[(hash % 64) as usize] += 1;
        }
        // 100 expected per bucket; a fold that lost entropy would pile keys up.
        assert!(
            buckets.iter().all(|&count| (50..=150).contains(&count)),
            "{buckets:?}"
        );
    }
}
