//! A compact hash index from 64-bit keys to slot numbers, for the memory token store.
//!
//! Each bucket is one `u64`: the low 32 bits of the key above the slot number. Keys are
//! uniformly random (prefixes of SHA-256 digests and of random grant ids), so the low key
//! bits pick the bucket directly; the stored bits let the table find an entry's home
//! bucket again without looking at the slot, and filter out nearly every probe of a
//! different key. The table does not own the keys: a hit on the stored bits is confirmed
//! by the caller, against the slot. Several entries may share a key, so it serves both
//! as a unique index (digest → slot) and as a multimap (grant → its slots).
//!
//! Linear probing with backward-shift deletion: no tombstones, and every entry whose home
//! is `h` lies in the run of occupied buckets that starts at `h`. At most 80% full;
//! 8 bytes per bucket.

/// An empty bucket.
const EMPTY: u64 = u64::MAX;

/// The most buckets (the stored key bits must cover the bucket number).
const MAX_BUCKETS: usize = 1 << 32;

#[derive(Default)]
pub(super) struct SlotIndex {
    buckets: Vec<u64>,
    len: usize,
}

fn low_bits(key: u64) -> u32 {
    // Truncation is the point: the low half of a uniformly random key.
    (key & 0xffff_ffff) as u32
}

fn entry(key: u64, slot: u32) -> u64 {
    (u64::from(low_bits(key)) << 32) | u64::from(slot)
}

fn entry_slot(entry: u64) -> u32 {
    (entry & 0xffff_ffff) as u32
}

fn entry_bits(entry: u64) -> u32 {
    (entry >> 32) as u32
}

impl SlotIndex {
    /// How many entries the index holds.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.len
    }

    fn mask(&self) -> usize {
        self.buckets.len().wrapping_sub(1)
    }

    fn home(&self, bits: u32) -> usize {
        bits as usize & self.mask()
    }

    /// The slots stored under `key`, in probe order, for the caller to confirm.
    pub(super) fn candidates(&self, key: u64) -> impl Iterator<Item = u32> + '_ {
        let bits = low_bits(key);
        let mask = self.mask();
        let mut position = if self.buckets.is_empty() {
            None
        } else {
            Some(self.home(bits))
        };
        std::iter::from_fn(move || {
            loop {
                let at = position?;
                let entry = *self.buckets.get(at)?;
                if entry == EMPTY {
                    position = None;
                    return None;
                }
                position = Some((at + 1) & mask);
                if entry_bits(entry) == bits {
                    return Some(entry_slot(entry));
                }
            }
        })
    }

    /// The first slot under `key` that `confirm` accepts.
    pub(super) fn find(&self, key: u64, mut confirm: impl FnMut(u32) -> bool) -> Option<u32> {
        self.candidates(key).find(|slot| confirm(*slot))
    }

    /// Adds `slot` under `key`.
    pub(super) fn insert(&mut self, key: u64, slot: u32) {
        if (self.len + 1) * 5 > self.buckets.len() * 4 && self.buckets.len() < MAX_BUCKETS {
            self.grow();
        }
        self.place(entry(key, slot));
        self.len += 1;
    }

    fn place(&mut self, entry: u64) {
        let mask = self.mask();
        let mut at = self.home(entry_bits(entry));
        while let Some(bucket) = self.buckets.get_mut(at) {
            if *bucket == EMPTY {
                *bucket = entry;
                return;
            }
            at = (at + 1) & mask;
        }
    }

    /// Makes room for `additional` more entries without growing.
    pub(super) fn reserve(&mut self, additional: usize) {
        let wanted = (self.len + additional).saturating_mul(5) / 4 + 1;
        let size = wanted.next_power_of_two().clamp(16, MAX_BUCKETS);
        if size > self.buckets.len() {
            self.resize(size);
        }
    }

    fn grow(&mut self) {
        let size = (self.buckets.len() * 2).clamp(16, MAX_BUCKETS);
        self.resize(size);
    }

    fn resize(&mut self, size: usize) {
        let old = std::mem::replace(&mut self.buckets, vec![EMPTY; size]);
        for entry in old.into_iter().filter(|e| *e != EMPTY) {
            self.place(entry);
        }
    }

    /// Removes the entry of `slot` under `key`, if present.
    pub(super) fn remove(&mut self, key: u64, slot: u32) -> bool {
        let wanted = entry(key, slot);
        let mask = self.mask();
        if self.buckets.is_empty() {
            return false;
        }
        let mut at = self.home(low_bits(key));
        loop {
            match self.buckets.get(at) {
                Some(&e) if e == wanted => break,
                Some(&e) if e != EMPTY => at = (at + 1) & mask,
                _ => return false,
            }
        }
        // Backward shift: move later entries of the run into the hole when their home
        // allows it, so no tombstone is needed.
        let mut hole = at;
        let mut next = (hole + 1) & mask;
        while let Some(&e) = self.buckets.get(next) {
            if e == EMPTY {
                break;
            }
            let home = self.home(entry_bits(e));
            // Distance from home to `next` versus to `hole`, both walking forward.
            if (next.wrapping_sub(home) & mask) >= (next.wrapping_sub(hole) & mask) {
                if let Some(bucket) = self.buckets.get_mut(hole) {
                    *bucket = e;
                }
                hole = next;
            }
            next = (next + 1) & mask;
        }
        if let Some(bucket) = self.buckets.get_mut(hole) {
            *bucket = EMPTY;
        }
        self.len -= 1;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn behaves_like_a_multimap(ops in proptest::collection::vec((0..3u8, 0..64u64, 0..40u32), 1..400)) {
            let mut index = SlotIndex::default();
            let mut model: Vec<(u64, u32)> = Vec::new();
            for (op, key, slot) in ops {
                // Keys collide in their low bits often, to exercise runs and wrap-around.
                let key = key.wrapping_mul(0x1_0000_0010);
                match op {
                    0 | 1 => {
                        if !model.contains(&(key, slot)) {
                            index.insert(key, slot);
                            model.push((key, slot));
                        }
                    }
                    _ => {
                        let removed = index.remove(key, slot);
                        let position = model.iter().position(|e| *e == (key, slot));
                        prop_assert_eq!(removed, position.is_some());
                        if let Some(p) = position {
                            model.swap_remove(p);
                        }
                    }
                }
                prop_assert_eq!(index.len(), model.len());
                for &(k, s) in &model {
                    prop_assert!(index.candidates(k).any(|c| c == s));
                }
            }
        }
    }

    #[test]
    fn reserved_room_takes_its_entries_without_growing() {
        let mut index = SlotIndex::default();
        index.reserve(10_000);
        let buckets = index.buckets.len();
        for n in 0..10_000u32 {
            index.insert(u64::from(n).wrapping_mul(0x9e37_79b9_7f4a_7c15), n);
        }
        assert_eq!(index.buckets.len(), buckets);
        assert!(index.find(0x9e37_79b9_7f4a_7c15, |s| s == 1).is_some());
    }

    #[test]
    fn finds_after_growth_and_removal() {
        let mut index = SlotIndex::default();
        for n in 0..10_000u32 {
            index.insert(u64::from(n).wrapping_mul(0x9e37_79b9_7f4a_7c15), n);
        }
        for n in (0..10_000u32).step_by(2) {
            assert!(index.remove(u64::from(n).wrapping_mul(0x9e37_79b9_7f4a_7c15), n));
        }
        for n in 0..10_000u32 {
            let key = u64::from(n).wrapping_mul(0x9e37_79b9_7f4a_7c15);
            assert_eq!(index.find(key, |s| s == n).is_some(), n % 2 == 1);
        }
        assert_eq!(index.len(), 5_000);
    }
}
