//! The reassembler's table of flows: states in a slab, a narrow index from flow to slot, and
//! one activity word per slot.
//!
//! A burst of new flows fills the slab in order instead of scattering 200-byte entries over a
//! hash table (moving them on every growth). The index holds only slots (4 bytes, keys are
//! compared in the slab), so that for 200,000 flows it is about a megabyte and a new flow's
//! probe mostly stays in cache. Ranking flows by idleness reads a dense array of words rather
//! than every state.

use std::hash::BuildHasher;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use super::places::Places;

/// A flow: client then server, each address as 128 bits (an IPv4 address in the low 32) and
/// both ports in one word. Compared and hashed as plain words: the derived comparison and
/// hash of two socket addresses went through their enums field by field, and the flow table
/// looks up a key for every segment. Aligned to 8 bytes, not 16, so that with its state it
/// takes 8 bytes less in the slab.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(C, packed(8))]
pub(super) struct Key {
    client: u128,
    server: u128,
    ports: u32,
    /// Bit 0: the client's address is IPv6; bit 1: the server's.
    v6: u8,
}

impl Key {
    pub(super) fn new(client: SocketAddr, server: SocketAddr) -> Key {
        let bits = |a: SocketAddr| match a.ip() {
            IpAddr::V4(v4) => u128::from(v4.to_bits()),
            IpAddr::V6(v6) => v6.to_bits(),
        };
        Key {
            client: bits(client),
            server: bits(server),
            ports: u32::from(client.port()) << 16 | u32::from(server.port()),
            v6: u8::from(client.is_ipv6()) | u8::from(server.is_ipv6()) << 1,
        }
    }

    pub(super) fn client(&self) -> SocketAddr {
        address(self.client, self.v6 & 1 != 0, (self.ports >> 16) as u16)
    }

    pub(super) fn server(&self) -> SocketAddr {
        address(self.server, self.v6 & 2 != 0, self.ports as u16)
    }
}

fn address(bits: u128, v6: bool, port: u16) -> SocketAddr {
    let ip = if v6 {
        IpAddr::V6(Ipv6Addr::from_bits(bits))
    } else {
        IpAddr::V4(Ipv4Addr::from_bits(bits as u32))
    };
    SocketAddr::new(ip, port)
}

impl std::hash::Hash for Key {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        if self.v6 == 0 {
            state.write_u128(self.client << 64 | self.server << 32 | u128::from(self.ports));
        } else {
            state.write_u128(self.client);
            state.write_u128(self.server);
            state.write_u32(self.ports);
        }
    }
}

/// Where a flow's state lives in the slab.
pub(super) type Slot = u32;

/// The activity word of a free slot. A flow's word is its idle rank (high half) and the
/// count of flows opened before it (low half); a flow cannot have opened after 2^64 - 1
/// others, so no flow has this word.
const FREE: u128 = u128::MAX;

/// Flows by key, each with a state `S` and an activity word that orders flows by idleness
/// (the longest idle first, then in the order they opened).
#[derive(Debug)]
pub(super) struct FlowTable<S> {
    /// Each flow's slot, hashed by its key.
    index: Places,
    hasher: foldhash::fast::RandomState,
    slots: Vec<Option<(Key, S)>>,
    activity: Vec<u128>,
    free: Vec<Slot>,
    /// Flows the table will be asked to hold at most.
    bound: usize,
}

impl<S> Default for FlowTable<S> {
    fn default() -> Self {
        FlowTable::with_bound(0)
    }
}

/// A flow's place in the order of idleness: seconds as an unsigned word in the same order
/// (the sign bit flipped), then the flows opened before it.
fn activity_word(last_secs: i64, opened: u64) -> u128 {
    u128::from(last_secs as u64 ^ 1 << 63) << 64 | u128::from(opened)
}

/// The last second of activity an activity word holds.
pub(super) fn last_secs_of(word: u128) -> i64 {
    ((word >> 64) as u64 ^ 1 << 63) as i64
}

impl<S> FlowTable<S> {
    /// A table for at most about `bound` flows (more are held). The slab's room for `bound`
    /// is taken at the first flow and only the slots used are touched: growing it by
    /// doubling copied it over and over during a burst of new flows. The index grows by
    /// doubling (it moves words, hashing no key again).
    pub(super) fn with_bound(bound: usize) -> Self {
        FlowTable {
            index: Places::default(),
            hasher: foldhash::fast::RandomState::default(),
            slots: Vec::new(),
            activity: Vec::new(),
            free: Vec::new(),
            bound,
        }
    }

    /// Flows held.
    pub(super) fn len(&self) -> usize {
        self.index.len()
    }

    /// The slot of a flow held.
    pub(super) fn find(&self, key: &Key) -> Option<Slot> {
        let slots = &self.slots;
        let held = |slot: Slot| slots[slot as usize].as_ref().is_some_and(|(k, _)| k == key);
        self.index.find(self.hasher.hash_one(key), held)
    }

    /// Brings the index word where a lookup of `key` starts into the cache (see
    /// [`Places::prefetch`]).
    pub(super) fn prefetch(&self, key: &Key) {
        self.index.prefetch(self.hasher.hash_one(key));
    }

    /// Holds a new flow (not held yet), the `opened`-th flow seen, active at `secs`.
    pub(super) fn insert(&mut self, key: Key, state: S, secs: i64, opened: u64) -> Slot {
        debug_assert!(self.find(&key).is_none());
        let word = activity_word(secs, opened);
        let slot = match self.free.pop() {
            Some(slot) => {
                self.slots[slot as usize] = Some((key, state));
                self.activity[slot as usize] = word;
                slot
            }
            None => {
                if self.slots.is_empty() {
                    self.slots.reserve_exact(self.bound);
                    self.activity.reserve_exact(self.bound);
                }
                self.slots.push(Some((key, state)));
                self.activity.push(word);
                super::huge::on_growth(&mut self.slots);
                super::huge::on_growth(&mut self.activity);
                (self.slots.len() - 1) as Slot
            }
        };
        self.index.insert(self.hasher.hash_one(key), slot);
        slot
    }

    /// The state in a slot that holds a flow.
    pub(super) fn state_mut(&mut self, slot: Slot) -> &mut S {
        match &mut self.slots[slot as usize] {
            Some((_, state)) => state,
            None => unreachable!("slot {slot} holds no flow"),
        }
    }

    /// Marks the flow in `slot` active at `secs`.
    pub(super) fn touch(&mut self, slot: Slot, secs: i64) {
        let word = &mut self.activity[slot as usize];
        *word = activity_word(secs, *word as u64);
    }

    /// The order in which the flow in `slot` opened.
    pub(super) fn opened(&self, slot: Slot) -> u64 {
        self.activity[slot as usize] as u64
    }

    /// Takes a flow out.
    pub(super) fn remove(&mut self, key: &Key) -> Option<S> {
        let slot = self.find(key)?;
        self.remove_slot(slot).map(|(_, state)| state)
    }

    /// Takes the flow in `slot` out (with its key), if the slot holds one.
    pub(super) fn remove_slot(&mut self, slot: Slot) -> Option<(Key, S)> {
        let (key, state) = self.free_slot(slot)?;
        self.index.remove(self.hasher.hash_one(key), slot);
        Some((key, state))
    }

    fn free_slot(&mut self, slot: Slot) -> Option<(Key, S)> {
        let taken = self.slots.get_mut(slot as usize)?.take()?;
        self.activity[slot as usize] = FREE;
        self.free.push(slot);
        Some(taken)
    }

    /// The activity word of each flow held, beside its slot, in slot order.
    pub(super) fn activity(&self) -> impl Iterator<Item = (u128, Slot)> + '_ {
        self.activity
            .iter()
            .enumerate()
            .filter(|&(_, &word)| word != FREE)
            .map(|(slot, &word)| (word, slot as Slot))
    }

    /// Each flow held, with its slot, in slot order.
    pub(super) fn iter(&self) -> impl Iterator<Item = (Slot, &Key, &S)> + '_ {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(slot, held)| held.as_ref().map(|(key, s)| (slot as Slot, key, s)))
    }

    /// Empties the table, giving every slot as it was (`None` where free): closing the flows
    /// of a finished capture one key at a time looked each up in the index again.
    pub(super) fn take_all(&mut self) -> Vec<Option<(Key, S)>> {
        self.index.clear();
        self.activity.clear();
        self.free.clear();
        std::mem::take(&mut self.slots)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(port: u16) -> Key {
        Key::new(
            SocketAddr::new("192.0.2.1".parse().unwrap(), port),
            "198.51.100.5:80".parse().unwrap(),
        )
    }

    #[test]
    fn keys_give_back_their_addresses() {
        let c: SocketAddr = "[2001:db8::1]:4000".parse().unwrap();
        let s: SocketAddr = "192.0.2.9:80".parse().unwrap();
        let k = Key::new(c, s);
        assert_eq!((k.client(), k.server()), (c, s));
        assert_ne!(k, Key::new(s, c));
    }

    #[test]
    fn slots_are_reused_and_activity_orders_by_idleness_then_opening() {
        let mut t = FlowTable::default();
        let a = t.insert(key(1), 'a', 10, 0);
        let b = t.insert(key(2), 'b', 5, 1);
        let c = t.insert(key(3), 'c', 5, 2);
        t.touch(b, 20);
        let mut order: Vec<_> = t.activity().collect();
        order.sort_unstable();
        let slots: Vec<Slot> = order.iter().map(|&(_, s)| s).collect();
        assert_eq!(slots, [c, a, b]);
        assert_eq!(last_secs_of(order[0].0), 5);
        assert_eq!(t.opened(b), 1);

        assert_eq!(t.remove(&key(1)), Some('a'));
        assert_eq!(t.find(&key(1)), None);
        assert_eq!(t.remove_slot(a), None);
        let d = t.insert(key(4), 'd', -3, 3);
        assert_eq!(d, a, "a freed slot is used again");
        assert_eq!(last_secs_of(t.activity().next().unwrap().0), -3);
        assert_eq!(t.len(), 3);
        assert_eq!(t.remove_slot(c), Some((key(3), 'c')));
        assert_eq!(t.find(&key(3)), None);
        let held: Vec<char> = t.iter().map(|(_, _, &s)| s).collect();
        assert_eq!(held, ['d', 'b']);
        let all = t.take_all();
        assert_eq!(all.iter().flatten().count(), 2);
        assert_eq!(t.len(), 0);
        assert_eq!(t.activity().count(), 0);
    }
}
