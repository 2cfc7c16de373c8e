//! SYNs to port 80 per source, in bounded memory. Almost every source of a capture is an
//! ordinary client that reaches one or two servers, so a source starts as a few remembered
//! targets and only becomes a full [`Tally`] (with its sliding window) at its fifth distinct
//! target. Small sources idle for longer than the window can never reach the threshold with
//! what they hold, so they are dropped; their number is capped besides.

use std::collections::BTreeMap;
use std::net::IpAddr;

use crate::net::spread::Tally;

/// Distinct targets a source may have before it gets a full tally.
const SMALL_TARGETS: usize = 4;
/// Small sources kept at once; beyond, the ones idle longest are dropped.
const MAX_SMALL_SOURCES: usize = 250_000;

#[derive(Debug, Default)]
struct Small {
    /// Targets with the time of their first SYN.
    targets: Vec<(IpAddr, i64)>,
    /// SYNs seen, and times of the first and last one.
    syns: u64,
    first: i64,
    last: i64,
}

/// Port-80 SYNs per source.
#[derive(Debug)]
pub struct SynTracker {
    window: i64,
    small: foldhash::HashMap<IpAddr, Small>,
    full: BTreeMap<IpAddr, Tally>,
    last_sweep: i64,
}

impl SynTracker {
    /// A tracker with a sliding window of `window` seconds.
    pub fn new(window: i64) -> Self {
        SynTracker {
            window,
            small: foldhash::HashMap::default(),
            full: BTreeMap::new(),
            last_sweep: i64::MIN,
        }
    }

    /// Counts one SYN from `source` to `target` at `secs`.
    pub fn syn(&mut self, source: IpAddr, target: IpAddr, secs: i64) {
        if let Some(tally) = self.full.get_mut(&source) {
            tally.add_syn(source, target, secs, self.window);
            return;
        }
        if secs >= self.last_sweep.saturating_add(self.window) {
            self.sweep(secs);
        }
        let small = self.small.entry(source).or_insert_with(|| Small {
            first: secs,
            ..Small::default()
        });
        small.syns += 1;
        small.last = secs;
        if small.targets.iter().any(|(t, _)| *t == target) {
            return;
        }
        if small.targets.len() < SMALL_TARGETS {
            small.targets.push((target, secs));
            return;
        }
        let small = self.small.remove(&source).unwrap_or_default();
        let tally = promote(source, small, target, secs, self.window);
        self.full.insert(source, tally);
    }

    /// Drops small sources idle for longer than the window; then, over the cap, the ones
    /// idle longest.
    fn sweep(&mut self, now: i64) {
        self.last_sweep = now;
        let cutoff = now.saturating_sub(self.window);
        self.small.retain(|_, s| s.last >= cutoff);
        if self.small.len() > MAX_SMALL_SOURCES {
            let mut by_age: Vec<(i64, IpAddr)> =
                self.small.iter().map(|(ip, s)| (s.last, *ip)).collect();
            by_age.sort_unstable();
            let excess = self.small.len() - MAX_SMALL_SOURCES / 2;
            for (_, ip) in by_age.into_iter().take(excess) {
                self.small.remove(&ip);
            }
        }
    }

    /// The full tallies (sources with more than a handful of targets), by source.
    pub fn into_tallies(self) -> BTreeMap<IpAddr, Tally> {
        self.full
    }
}

/// A full tally from a small source and the SYN that outgrew it, replayed in time order so
/// the window sees each target when it was first hit.
fn promote(source: IpAddr, small: Small, target: IpAddr, secs: i64, window: i64) -> Tally {
    let mut tally = Tally::default();
    for (t, at) in &small.targets {
        tally.add_syn(source, *t, *at, window);
    }
    tally.add_syn(source, target, secs, window);
    // SYNs repeated to the same targets while small still count as connections (`syns` includes the one that outgrew it).
    tally.connections = small.syns;
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
}
