//! SYNs to port 80 per source, in bounded memory. Almost every source of a capture is an
//! ordinary client that reaches one or two servers, so a source starts as a few remembered
//! targets and only becomes a full [`Tally`] (with its sliding window) at its fifth distinct
//! target. What a small source holds from before a pause longer than the window can never
//! count towards the threshold, so it starts over after one; such sources are dropped every
//! half window, and their number is capped besides.

use std::collections::BTreeMap;
use std::hash::BuildHasher;
use std::net::IpAddr;

use super::places::Places;

use crate::net::spread::Tally;

/// Distinct targets a source may have before it gets a full tally.
const SMALL_TARGETS: usize = 4;
/// Small sources kept at once; beyond, the ones idle longest are dropped.
const MAX_SMALL_SOURCES: usize = 250_000;

#[derive(Debug, Default)]
struct Small {
    /// The first target (first reached at `first`), in place; the others with the time of
    /// their first SYN, boxed. Nearly every source of a capture reaches one server, so the
    /// box is seldom made and an arena entry is 72 bytes (four targets in place made it 176;
    /// every sweep moves the entries kept, and a capture of many sources touches them all).
    first_target: Option<IpAddr>,
    // Boxed for its size in place (8 bytes, not 24), not for where its elements live.
    #[allow(clippy::box_collection)]
    more: Option<Box<Vec<(IpAddr, i64)>>>,
    /// SYNs seen (stopping at 2^32 - 1: 240 GB of SYNs from one source to at most four
    /// targets), and times of the first and last one.
    syns: u32,
    first: i64,
    last: i64,
}

/// Port-80 SYNs per source.
#[derive(Debug)]
pub struct SynTracker {
    window: i64,
    /// Where each small source is in `small`.
    index: SourceIndex,
    /// Small sources in the order they came, compacted at each sweep. Kept apart from the
    /// index so that a new source is appended rather than written into a random slot of a
    /// table of wide entries (a cache miss on every new source of a capture of many).
    small: Arena,
    full: BTreeMap<IpAddr, Tally>,
    last_sweep: i64,
}

impl SynTracker {
    /// A tracker with a sliding window of `window` seconds.
    pub fn new(window: i64) -> Self {
        SynTracker {
            window,
            index: SourceIndex::default(),
            small: Vec::new(),
            full: BTreeMap::new(),
            last_sweep: i64::MIN,
        }
    }

    /// Brings the index word where the lookup of `source` starts into the cache.
    pub fn prefetch(&self, source: IpAddr) {
        self.index.places.prefetch(self.index.hash(source));
    }

    /// Counts one SYN from `source` to `target` at `secs`.
    pub fn syn(&mut self, source: IpAddr, target: IpAddr, secs: i64) {
        if let Some(tally) = self.full.get_mut(&source) {
            tally.add_syn(source, target, secs, self.window);
            return;
        }
        // Also when the capture's clock stands still: the cap holds whatever the stamps say.
        // Every half window: the fewer sources kept, the fewer cache misses for each one looked
        // up (a quarter window made the sweeps themselves cost more than they saved).
        let full = self.small.len() >= MAX_SMALL_SOURCES;
        if full || secs >= self.last_sweep.saturating_add((self.window / 2).max(1)) {
            self.sweep(secs);
        }
        let at = self.index.get_or_insert(source, &mut self.small);
        let small = &mut self.small[at].1;
        if small.syns == 0 || small.last < secs.saturating_sub(self.window) {
            // New, or back after a pause longer than the window: the sweep's rule, whenever
            // the sweep comes.
            *small = Small {
                first: secs,
                ..Small::default()
            };
        }
        small.syns = small.syns.saturating_add(1);
        small.last = secs;
        match small.first_target {
            None => {
                small.first_target = Some(target);
                return;
            }
            Some(first) if first == target => return,
            Some(_) => {}
        }
        let more = small.more.get_or_insert_default();
        if more.iter().any(|(t, _)| *t == target) {
            return;
        }
        if more.len() < SMALL_TARGETS - 1 {
            more.push((target, secs));
            return;
        }
        // Outgrown: the entry is left without SYNs, which the next sweep drops.
        let small = std::mem::take(small);
        self.index.remove(source, at);
        let tally = promote(source, small, target, secs, self.window);
        self.full.insert(source, tally);
    }

    /// Drops small sources idle for longer than the window; then, over the cap, the ones
    /// idle longest.
    fn sweep(&mut self, now: i64) {
        self.last_sweep = now;
        let cutoff = now.saturating_sub(self.window);
        self.small.retain(|(_, s)| s.syns > 0 && s.last >= cutoff);
        if self.small.len() >= MAX_SMALL_SOURCES {
            let mut by_age: Vec<(i64, IpAddr)> =
                self.small.iter().map(|(ip, s)| (s.last, *ip)).collect();
            by_age.sort_unstable();
            let excess = self.small.len() - MAX_SMALL_SOURCES / 2;
            let newest_dropped = by_age[excess - 1];
            self.small.retain(|(ip, s)| (s.last, *ip) > newest_dropped);
        }
        self.index.rebuild(&self.small);
    }

    /// The full tallies (sources with more than a handful of targets), by source.
    pub fn into_tallies(self) -> BTreeMap<IpAddr, Tally> {
        self.full
    }
}

/// Where each small source is in the arena: 8-byte words of arena places, hashed by address
/// and compared with the address in the arena (see [`Places`]: the probe's first word can be
/// prefetched while the SYN's packet is reassembled).
#[derive(Debug, Default)]
struct SourceIndex {
    places: Places,
    hasher: foldhash::fast::RandomState,
}

type Arena = Vec<(IpAddr, Small)>;

impl SourceIndex {
    /// An address hashed as its bits (the derived hash goes through the enum).
    fn hash(&self, ip: IpAddr) -> u64 {
        match ip {
            IpAddr::V4(v4) => self.hasher.hash_one(v4.to_bits()),
            IpAddr::V6(v6) => self.hasher.hash_one(v6.to_bits()),
        }
    }

    /// The place of `ip` in `arena`, where it is appended when it has none.
    fn get_or_insert(&mut self, ip: IpAddr, arena: &mut Arena) -> usize {
        let hash = self.hash(ip);
        if let Some(at) = self.places.find(hash, |at| arena[at as usize].0 == ip) {
            return at as usize;
        }
        if arena.capacity() == 0 {
            arena.reserve(MAX_SMALL_SOURCES);
        }
        arena.push((ip, Small::default()));
        super::huge::on_growth(arena);
        self.places.insert(hash, (arena.len() - 1) as u32);
        arena.len() - 1
    }

    fn remove(&mut self, ip: IpAddr, at: usize) {
        self.places.remove(self.hash(ip), at as u32);
    }

    /// Indexes the arena anew (after it was compacted).
    fn rebuild(&mut self, arena: &Arena) {
        self.places.clear();
        for (at, (ip, _)) in arena.iter().enumerate() {
            self.places.insert(self.hash(*ip), at as u32);
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.places.len()
    }
}

/// A full tally from a small source and the SYN that outgrew it, replayed in time order so
/// the window sees each target when it was first hit.
fn promote(source: IpAddr, small: Small, target: IpAddr, secs: i64, window: i64) -> Tally {
    let mut tally = Tally::default();
    if let Some(first) = small.first_target {
        tally.add_syn(source, first, small.first, window);
    }
    for (t, at) in small.more.iter().flat_map(|more| more.iter()) {
        tally.add_syn(source, *t, *at, window);
    }
    tally.add_syn(source, target, secs, window);
    // SYNs repeated to the same targets while small still count as connections (`syns` includes the one that outgrew it).
    tally.connections = u64::from(small.syns);
    tally.first_secs = Some(small.first);
    tally
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn a_small_source_takes_72_bytes_of_the_arena() {
        assert!(std::mem::size_of::<(IpAddr, Small)>() <= 72);
    }

    #[test]
    fn ordinary_clients_stay_small_and_scanners_get_a_tally() {
        let mut t = SynTracker::new(300);
        for i in 0..1000u32 {
            let client = IpAddr::from((0xc0a8_0000u32 + i).to_be_bytes());
            t.syn(client, ip("192.0.2.80"), i64::from(i));
        }
        for i in 0..30u8 {
            t.syn(ip("10.1.2.3"), ip(&format!("10.1.9.{i}")), 2000);
        }
        let tallies = t.into_tallies();
        assert_eq!(tallies.len(), 1);
        let scanner = &tallies[&ip("10.1.2.3")];
        assert_eq!(scanner.targets.len(), 30);
        assert_eq!(scanner.connections, 30);
    }

    #[test]
    fn idle_small_sources_are_dropped() {
        let mut t = SynTracker::new(300);
        for i in 0..100u32 {
            let client = IpAddr::from((0xc0a8_0000u32 + i).to_be_bytes());
            t.syn(client, ip("192.0.2.80"), 0);
        }
        t.syn(ip("192.168.200.1"), ip("192.0.2.80"), 1000);
        assert_eq!(t.small.len(), 1);
    }

    #[test]
    fn a_source_back_after_a_pause_longer_than_the_window_starts_over() {
        let mut t = SynTracker::new(300);
        let source = ip("10.9.9.9");
        t.syn(ip("10.0.0.1"), ip("192.0.2.80"), 0);
        for i in 1..=4u8 {
            t.syn(source, ip(&format!("192.0.2.{i}")), 10);
        }
        // A sweep at 250 keeps the source (idle 240 s); none runs again before 325.
        t.syn(ip("10.0.0.2"), ip("192.0.2.80"), 250);
        t.syn(source, ip("192.0.2.5"), 320);
        assert!(
            t.into_tallies().is_empty(),
            "the four targets of 10 s count at 320 s"
        );
    }

    #[test]
    fn small_sources_stay_capped_when_the_clock_stands_still() {
        let mut t = SynTracker::new(300);
        for i in 0..(MAX_SMALL_SOURCES as u32 * 2) {
            let client = IpAddr::from((0x0a00_0000u32 + i).to_be_bytes());
            t.syn(client, ip("192.0.2.80"), 0);
        }
        assert!(t.small.len() <= MAX_SMALL_SOURCES);
        assert_eq!(t.index.len(), t.small.len());
        // The newest half is kept: a source seen last is still small, and counted once more.
        let last = IpAddr::from((0x0a00_0000u32 + MAX_SMALL_SOURCES as u32 * 2 - 1).to_be_bytes());
        t.syn(last, ip("192.0.2.81"), 0);
        let at = t.index.get_or_insert(last, &mut t.small);
        assert_eq!(t.index.len(), t.small.len(), "no source added");
        assert_eq!(t.small[at].1.syns, 2);
    }
}
