//! Outbound port-80 activity per source address, from a connection table or from SYNs in a
//! capture, and the `spreading` verdict it gives: distinct targets against a threshold
//! (Zeek's former scan policy: 25 hosts in 5 minutes), with the targets' locality fitted
//! to Code Red II's and to uniform target picking.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::net::IpAddr;

use serde::Serialize;

use super::locality::{fit, Locality, LocalityFit};

/// How spreading is judged.
#[derive(Debug, Clone, Copy)]
pub struct SpreadOptions {
    /// Distinct port-80 targets that make a source `spreading`.
    pub threshold: u64,
    /// Sliding window for captures, in seconds.
    pub window_secs: i64,
}

impl Default for SpreadOptions {
    fn default() -> Self {
        SpreadOptions {
            threshold: 25,
            window_secs: 300,
        }
    }
}

/// Distinct targets remembered per source; beyond it only connections are counted.
pub const MAX_TARGETS: usize = 100_000;

/// Where a tally's figures came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SpreadSource {
    /// A saved connection table.
    Netstat,
    /// SYNs in a packet capture.
    Capture,
}

/// The busiest window of a capture.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct WindowPeak {
    pub seconds: i64,
    pub distinct_targets: u64,
    /// Unix seconds of the window's first and last SYN.
    pub start: i64,
    pub end: i64,
}

#[derive(Debug, Default, Clone)]
struct Window {
    seen: VecDeque<(i64, IpAddr)>,
    last: HashMap<IpAddr, i64>,
    peak: WindowPeak,
}

impl Window {
    fn add(&mut self, secs: i64, target: IpAddr, window: i64) {
        while let Some(&(t, ip)) = self.seen.front() {
            if secs.saturating_sub(t) < window {
                break;
            }
            self.seen.pop_front();
            if self.last.get(&ip) == Some(&t) {
                self.last.remove(&ip);
            }
        }
        if self.last.len() >= MAX_TARGETS && !self.last.contains_key(&target) {
            return;
        }
        if self.last.get(&target) != Some(&secs) {
            self.seen.push_back((secs, target));
            self.last.insert(target, secs);
        }
        let distinct = self.last.len() as u64;
        if distinct > self.peak.distinct_targets {
            self.peak = WindowPeak {
                seconds: window,
                distinct_targets: distinct,
                start: self.seen.front().map_or(secs, |s| s.0),
                end: secs,
            };
        }
    }
}

/// One source's outbound port-80 activity.
#[derive(Debug, Clone, Default)]
pub struct Tally {
    pub connections: u64,
    pub states: BTreeMap<String, u64>,
    pub targets: BTreeSet<IpAddr>,
    pub targets_capped: bool,
    pub locality: Locality,
    window: Option<Window>,
    pub first_secs: Option<i64>,
    pub last_secs: Option<i64>,
}

impl Tally {
    /// Counts one outbound attempt at `target` (its state, for tables; its time, for captures).
    pub fn add(&mut self, source: IpAddr, target: IpAddr, state: Option<&str>, secs: Option<i64>) {
        self.connections += 1;
        if let Some(s) = state {
            *self.states.entry(s.to_string()).or_default() += 1;
        }
        if !self.targets.contains(&target) {
            if self.targets.len() < MAX_TARGETS {
                self.targets.insert(target);
                self.locality.add(source, target);
            } else {
                self.targets_capped = true;
            }
        }
        if let Some(t) = secs {
            self.first_secs = Some(self.first_secs.map_or(t, |f| f.min(t)));
            self.last_secs = Some(self.last_secs.map_or(t, |l| l.max(t)));
        }
    }

    /// Counts one SYN at time `secs`, in a sliding window of `window` seconds.
    pub fn add_syn(&mut self, source: IpAddr, target: IpAddr, secs: i64, window: i64) {
        self.add(source, target, None, Some(secs));
        self.window
            .get_or_insert_with(Window::default)
            .add(secs, target, window);
    }

    /// Adds another tally of the same source (another file).
    pub fn merge(&mut self, other: Tally, source: IpAddr) {
        self.connections += other.connections;
        for (s, n) in other.states {
            *self.states.entry(s).or_default() += n;
        }
        for t in other.targets {
            if !self.targets.contains(&t) && self.targets.len() < MAX_TARGETS {
                self.targets.insert(t);
                self.locality.add(source, t);
            }
        }
        self.targets_capped |= other.targets_capped;
        self.first_secs = min_opt(self.first_secs, other.first_secs);
        self.last_secs = self.last_secs.max(other.last_secs);
        if let Some(w) = other.window {
            let mine = self.window.get_or_insert_with(Window::default);
            if w.peak.distinct_targets > mine.peak.distinct_targets {
                mine.peak = w.peak;
            }
        }
    }

    fn peak(&self) -> Option<WindowPeak> {
        self.window.as_ref().map(|w| w.peak)
    }
}

fn min_opt(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, y) => x.or(y),
    }
}

/// Who a tally is about.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Subject {
    pub source: SpreadSource,
    /// The host a connection table was taken on (None for captures).
    pub host: Option<String>,
    pub address: IpAddr,
}

/// Tallies of one or more inputs, merged by subject.
#[derive(Debug, Clone, Default)]
pub struct SpreadTallies {
    pub tallies: BTreeMap<Subject, (Tally, BTreeSet<String>)>,
}

impl SpreadTallies {
    /// Adds one input's tallies, read from `path`.
    pub fn add(&mut self, path: &str, tallies: Vec<(Subject, Tally)>) {
        for (subject, tally) in tallies {
            let address = subject.address;
            let entry = self.tallies.entry(subject).or_default();
            entry.0.merge(tally, address);
            entry.1.insert(path.to_string());
        }
    }

    /// Verdicts: spreading subjects first, then by subject.
    pub fn verdicts(&self, options: &SpreadOptions) -> Vec<SpreadVerdict> {
        let mut out: Vec<SpreadVerdict> = self
            .tallies
            .iter()
            .map(|(subject, (tally, paths))| verdict(subject, tally, paths, options))
            .filter(|v| v.verdict == "spreading" || v.source == SpreadSource::Netstat)
            .collect();
        out.sort_by_key(|v| v.verdict != "spreading");
        out
    }
}

/// The verdict on one source.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SpreadVerdict {
    /// `verdict`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// `network`.
    pub evidence_kind: &'static str,
    /// `scanner`.
    pub role: &'static str,
    /// The source address.
    pub subject: String,
    /// The host a connection table was taken on (None for captures).
    pub host: Option<String>,
    /// `spreading` or `not-spreading`.
    pub verdict: &'static str,
    /// Where the figures came from.
    pub source: SpreadSource,
    /// Family the locality points to: `code-red-ii`, `code-red` (uniform) or `port-80-scan`.
    pub likely_family: Option<&'static str>,
    /// Distinct targets that make a source `spreading`.
    pub threshold: u64,
    /// Outbound port-80 connections (tables) or SYNs (captures).
    pub connections: u64,
    /// Distinct port-80 targets in all.
    pub distinct_targets: u64,
    /// More targets were seen than are remembered ([`MAX_TARGETS`]).
    pub targets_capped: bool,
    /// Connections by state (tables).
    pub states: BTreeMap<String, u64>,
    /// Where the targets lie relative to the source.
    pub locality: Locality,
    /// How well each target-picking model explains the locality (None: too few targets).
    pub fit: Option<LocalityFit>,
    /// The busiest window (captures).
    pub window: Option<WindowPeak>,
    /// First and last SYN (captures), RFC 3339.
    pub first_seen: Option<String>,
    /// See `first_seen`.
    pub last_seen: Option<String>,
    /// The inputs the figures came from.
    pub paths: Vec<String>,
}

fn verdict(
    subject: &Subject,
    tally: &Tally,
    paths: &BTreeSet<String>,
    options: &SpreadOptions,
) -> SpreadVerdict {
    let distinct = tally.targets.len() as u64;
    let window = tally.peak();
    let measure = window.map_or(distinct, |w| w.distinct_targets);
    let spreading = measure >= options.threshold;
    let fit = fit(&tally.locality);
    SpreadVerdict {
        kind: "verdict",
        evidence_kind: "network",
        role: "scanner",
        subject: subject.address.to_string(),
        host: subject.host.clone(),
        verdict: if spreading {
            "spreading"
        } else {
            "not-spreading"
        },
        source: subject.source,
        likely_family: spreading.then(|| likely_family(fit.as_ref())),
        threshold: options.threshold,
        connections: tally.connections,
        distinct_targets: distinct,
        targets_capped: tally.targets_capped,
        states: tally.states.clone(),
        locality: tally.locality,
        fit,
        window,
        first_seen: tally.first_secs.map(super::rfc3339),
        last_seen: tally.last_secs.map(super::rfc3339),
        paths: paths.iter().cloned().collect(),
    }
}

fn likely_family(fit: Option<&LocalityFit>) -> &'static str {
    match fit.map(|f| f.best) {
        Some("code-red-ii") => "code-red-ii",
        Some("uniform") => "code-red",
        _ => "port-80-scan",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn window_counts_distinct_targets_inside_it() {
        let mut t = Tally::default();
        let src = ip("10.0.0.1");
        for i in 0..30u8 {
            t.add_syn(src, ip(&format!("10.0.1.{i}")), i64::from(i) * 20, 300);
        }
        let peak = t.peak().unwrap();
        assert_eq!(peak.distinct_targets, 15);
        assert_eq!(peak.end - peak.start, 280);
        assert_eq!(t.targets.len(), 30);
    }

    #[test]
    fn repeated_syns_to_one_target_count_once() {
        let mut t = Tally::default();
        for s in 0..100 {
            t.add_syn(ip("10.0.0.1"), ip("10.0.0.2"), s, 300);
        }
        assert_eq!(t.peak().unwrap().distinct_targets, 1);
        assert_eq!(t.connections, 100);
    }

    #[test]
    fn threshold_decides_and_quiet_captures_give_no_verdict() {
        let subject = |source| Subject {
            source,
            host: None,
            address: ip("10.0.0.1"),
        };
        let mut tallies = SpreadTallies::default();
        let mut busy = Tally::default();
        for i in 0..25u8 {
            busy.add(
                ip("10.0.0.1"),
                ip(&format!("10.0.9.{i}")),
                Some("SYN_SENT"),
                None,
            );
        }
        tallies.add("a.txt", vec![(subject(SpreadSource::Netstat), busy)]);
        let mut quiet = Tally::default();
        quiet.add_syn(ip("10.0.0.1"), ip("10.0.0.9"), 0, 300);
        tallies.add("b.pcap", vec![(subject(SpreadSource::Capture), quiet)]);
        let v = tallies.verdicts(&SpreadOptions::default());
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].verdict, "spreading");
        assert_eq!(v[0].states["SYN_SENT"], 25);
    }
}

/// The finding a `spreading` verdict gives, so finding consumers see it too.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SpreadFinding {
    /// `finding`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// `network`.
    pub evidence_kind: &'static str,
    /// The verdict's `likely_family`.
    pub family: &'static str,
    /// [`SCAN_RULE_ID`].
    pub rule_id: &'static str,
    /// `high`.
    pub level: &'static str,
    /// `high` when Code Red II's locality fits, else `medium`.
    pub confidence: &'static str,
    /// The source address.
    pub subject: String,
    /// The host a connection table was taken on.
    pub host: Option<String>,
    /// Where the figures came from.
    pub source: SpreadSource,
    /// The inputs the figures came from.
    pub paths: Vec<String>,
    /// The figures in one line.
    pub evidence: String,
}

/// Rule id of scan-behaviour findings.
pub const SCAN_RULE_ID: &str = "wormtrace-port-80-scan";

impl SpreadFinding {
    /// The finding of a spreading verdict (None for other verdicts).
    pub fn of(v: &SpreadVerdict) -> Option<SpreadFinding> {
        let family = v.likely_family?;
        let crii_fits = v.fit.as_ref().is_some_and(|f| f.best == "code-red-ii");
        Some(SpreadFinding {
            kind: "finding",
            evidence_kind: "network",
            family,
            rule_id: SCAN_RULE_ID,
            level: "high",
            confidence: if crii_fits { "high" } else { "medium" },
            subject: v.subject.clone(),
            host: v.host.clone(),
            source: v.source,
            paths: v.paths.clone(),
            evidence: spread_evidence(v),
        })
    }
}

/// `312 port-80 targets (140 in 300 s); /16 37%, /8 50%, elsewhere 13%; best fit code-red-ii (p 0.61)`.
pub fn spread_evidence(v: &SpreadVerdict) -> String {
    let mut text = format!("{} port-80 targets", v.distinct_targets);
    if let Some(w) = &v.window {
        text.push_str(&format!(" ({} in {} s)", w.distinct_targets, w.seconds));
    }
    let total = v.locality.total();
    if total > 0 {
        let pct = |n: u64| n * 100 / total;
        text.push_str(&format!(
            "; /16 {}%, /8 {}%, elsewhere {}%",
            pct(v.locality.same_16),
            pct(v.locality.same_8),
            pct(v.locality.elsewhere)
        ));
    }
    if let Some(f) = &v.fit {
        text.push_str(&format!("; best fit {} (p {})", f.best, f.best_p_value()));
    }
    text
}
