//! An index of places in an outside store (a slab, an arena), hashed by the keys kept there:
//! open addressing with linear probing over one array of 8-byte words, each a place and the
//! high half of its key's hash.
//!
//! Why not a standard hash table: a capture of a million new flows a second looks up a new
//! key for nearly every packet, and each lookup in a table larger than the cache is a miss.
//! Here the word a key probes first has a known address, so the caller can prefetch it while
//! the packet's other work goes on; hashbrown keeps that address to itself.

/// A word: the high half of the hash (never zero, see [`tag`]) above the place.
const EMPTY: u64 = 0;

/// The high half of a hash, made non-zero so that no word of a held place is `EMPTY`.
fn tag(hash: u64) -> u64 {
    (hash >> 32 | 1 << 31) << 32
}

/// Places by hash. The caller hashes keys and says, by place, whether a key matches.
#[derive(Debug, Default)]
pub(super) struct Places {
    words: Vec<u64>,
    len: usize,
}

impl Places {
    /// Places held.
    pub(super) fn len(&self) -> usize {
        self.len
    }

    /// Where the probe for `hash` starts: the word's index. The table is kept at most half
    /// full, so a probe seldom goes past the next word.
    fn home(&self, hash: u64) -> usize {
        ((tag(hash) >> 32) as usize) & (self.words.len() - 1)
    }

    /// Asks the processor to bring the word a probe for `hash` starts at into the cache.
    pub(super) fn prefetch(&self, hash: u64) {
        if self.words.is_empty() {
            return;
        }
        let word: *const u64 = &self.words[self.home(hash)];
        #[cfg(target_arch = "x86_64")]
        // SAFETY: a prefetch is only a hint; it reads nothing the program sees and cannot
        // fault, and the address is that of a word of `self.words`.
        unsafe {
            std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(word.cast());
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = word;
    }

    /// The place whose key has `hash` and for which `is_key` holds.
    pub(super) fn find(&self, hash: u64, is_key: impl Fn(u32) -> bool) -> Option<u32> {
        if self.words.is_empty() {
            return None;
        }
        let (want, mask) = (tag(hash), self.words.len() - 1);
        let mut at = self.home(hash);
        loop {
            let word = self.words[at];
            if word == EMPTY {
                return None;
            }
            if word & !0xffff_ffff == want && is_key(word as u32) {
                return Some(word as u32);
            }
            at = (at + 1) & mask;
        }
    }

    /// Adds `place` (not held yet) under `hash`. Growing needs no key hashed again: a
    /// word's home depends only on its tag.
    pub(super) fn insert(&mut self, hash: u64, place: u32) {
        if (self.len + 1) * 2 > self.words.len() {
            self.reserve(self.len + 1);
        }
        self.put(tag(hash) | u64::from(place));
        self.len += 1;
    }

    fn put(&mut self, word: u64) {
        let mask = self.words.len() - 1;
        let mut at = ((word >> 32) as usize) & mask;
        while self.words[at] != EMPTY {
            at = (at + 1) & mask;
        }
        self.words[at] = word;
    }

    /// Room for `n` places in all.
    fn reserve(&mut self, n: usize) {
        let want = (n.max(4) * 2).next_power_of_two();
        if want > self.words.len() {
            let mut words = vec![EMPTY; want];
            super::huge::advise(&mut words);
            let old = std::mem::replace(&mut self.words, words);
            old.into_iter()
                .filter(|&w| w != EMPTY)
                .for_each(|w| self.put(w));
        }
    }

    /// Takes `place` (held under `hash`) out.
    pub(super) fn remove(&mut self, hash: u64, place: u32) {
        if self.words.is_empty() {
            return;
        }
        let (word, mask) = (tag(hash) | u64::from(place), self.words.len() - 1);
        let mut at = self.home(hash);
        while self.words[at] != word {
            if self.words[at] == EMPTY {
                return;
            }
            at = (at + 1) & mask;
        }
        self.len -= 1;
        // Backward shift: later words of the run move into the hole when their home is not
        // between the hole and them, so that every probe still meets its word before EMPTY.
        let mut hole = at;
        loop {
            at = (at + 1) & mask;
            let next = self.words[at];
            if next == EMPTY {
                break;
            }
            let home = ((next >> 32) as usize) & mask;
            if (at.wrapping_sub(home) & mask) >= (at.wrapping_sub(hole) & mask) {
                self.words[hole] = next;
                hole = at;
            }
        }
        self.words[hole] = EMPTY;
    }

    /// Forgets every place, keeping the room.
    pub(super) fn clear(&mut self) {
        self.words.fill(EMPTY);
        self.len = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashMap;

    /// Hashes that crowd a few homes, so that runs form and wrap around the table's end.
    fn crowded(key: u32) -> u64 {
        u64::from(key % 5).wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ u64::from(key) << 40
    }

    proptest! {
        #[test]
        fn places_agree_with_a_map(ops in proptest::collection::vec((0u32..40, any::<bool>()), 0..300)) {
            let mut places = Places::default();
            let mut map: HashMap<u32, u32> = HashMap::new();
            // The store: place -> key.
            let mut keys: Vec<u32> = Vec::new();
            for (key, add) in ops {
                let found = places.find(crowded(key), |p| keys[p as usize] == key);
                prop_assert_eq!(found, map.get(&key).copied());
                match (add, found) {
                    (true, None) => {
                        keys.push(key);
                        let place = (keys.len() - 1) as u32;
                        places.insert(crowded(key), place);
                        map.insert(key, place);
                    }
                    (false, Some(place)) => {
                        places.remove(crowded(key), place);
                        map.remove(&key);
                    }
                    _ => {}
                }
                prop_assert_eq!(places.len(), map.len());
            }
            for (key, place) in &map {
                prop_assert_eq!(places.find(crowded(*key), |p| keys[p as usize] == *key), Some(*place));
            }
        }
    }

    #[test]
    fn room_is_kept_and_cleared() {
        let mut places = Places::default();
        places.reserve(1000);
        let room = places.words.len();
        for p in 0..1000 {
            places.insert(u64::from(p) << 32, p);
        }
        assert_eq!(places.words.len(), room);
        places.clear();
        assert_eq!((places.len(), places.find(5 << 32, |_| true)), (0, None));
        places.prefetch(7);
    }
}
