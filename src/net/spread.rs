//! Outbound port-80 activity per source address, from a connection table or from SYNs in a
//! capture, and the `spreading` verdict it gives: distinct targets against a threshold
//! (Zeek's former scan policy: 25 hosts in 5 minutes), with the targets' locality fitted
//! to Code Red II's and to uniform target picking.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::net::IpAddr;

use super::locality::fit;
use crate::detect::spreading::Spreading;
use crate::model::{
    BestModel, Confidence, Evidence, Finding, Level, Locality, LocalityFit, ScanDetail,
    ScanEvidence, WindowPeak,
};

/// How spreading is judged: the numbers and identity of the loaded spreading correlation
/// (see [`crate::detect::spreading`]), `--spread-threshold` / `--spread-window` over them.
#[derive(Debug, Clone)]
pub struct SpreadOptions {
    /// Distinct port-80 targets that make a source `spreading`.
    pub threshold: u64,
    /// Sliding window for captures, in seconds.
    pub window_secs: i64,
    /// The correlation's id, title and level: those of the findings it gives.
    pub rule_id: String,
    pub rule_title: String,
    pub level: Level,
}

impl SpreadOptions {
    /// The options of `spreading`, with the given threshold and window over its own. Without
    /// a spreading correlation nothing is counted, so nothing spreads.
    pub fn of(
        spreading: Option<&Spreading>,
        threshold: Option<u64>,
        window_secs: Option<i64>,
    ) -> SpreadOptions {
        let (own_threshold, own_window, rule_id, rule_title, level) = match spreading {
            Some(s) => (
                s.threshold,
                s.window_secs,
                s.id.clone(),
                s.title.clone(),
                s.level,
            ),
            None => (
                u64::MAX,
                1,
                String::new(),
                String::new(),
                Level::Informational,
            ),
        };
        SpreadOptions {
            threshold: threshold.unwrap_or(own_threshold).max(1),
            window_secs: window_secs.unwrap_or(own_window).max(1),
            rule_id,
            rule_title,
            level,
        }
    }
}

/// Distinct targets remembered per source; beyond it only connections are counted.
pub const MAX_TARGETS: usize = 100_000;

/// Where a tally's figures came from.
pub type SpreadSource = crate::model::ScanSource;

/// A capture source's sliding window. A partial result keeps only its peak: an input's
/// window ends with the input, and merging tallies keeps the larger peak.
#[derive(Debug, Default, Clone, serde::Serialize, serde::Deserialize)]
struct Window {
    #[serde(skip)]
    seen: VecDeque<(i64, IpAddr)>,
    #[serde(skip)]
    last: HashMap<IpAddr, i64>,
    peak: WindowPeak,
}

impl Window {
    fn add(&mut self, secs: i64, target: IpAddr, window: i64) {
        while let Some(&(t, ip)) = self.seen.front() {
            // Both ends are in the window, as in the other correlations (and pySigma's SQL).
            if secs.saturating_sub(t) <= window {
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
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
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
            match self.states.get_mut(s) {
                Some(n) => *n += 1,
                None => drop(self.states.insert(s.to_string(), 1)),
            }
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
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
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

    /// The figures of every subject worth a verdict: spreading ones first, then by subject
    /// (quiet capture sources are left out; every table address is kept).
    pub fn details(&self, options: &SpreadOptions) -> Vec<ScanDetail> {
        let mut out: Vec<ScanDetail> = self
            .tallies
            .iter()
            .map(|(subject, (tally, paths))| detail(subject, tally, paths, options))
            .filter(|d| d.spreading || d.source == SpreadSource::Netstat)
            .collect();
        out.sort_by_key(|d| !d.spreading);
        out
    }
}

fn detail(
    subject: &Subject,
    tally: &Tally,
    paths: &BTreeSet<String>,
    options: &SpreadOptions,
) -> ScanDetail {
    let distinct = tally.targets.len() as u64;
    let window = tally.peak();
    let measure = window.map_or(distinct, |w| w.distinct_targets);
    let spreading = measure >= options.threshold;
    let fit = fit(&tally.locality);
    ScanDetail {
        address: subject.address,
        host: subject.host.clone(),
        source: subject.source,
        spreading,
        likely_family: spreading.then(|| likely_family(fit.as_ref()).to_string()),
        threshold: options.threshold,
        connections: tally.connections,
        distinct_targets: distinct,
        targets_capped: tally.targets_capped,
        states: tally.states.clone(),
        locality: tally.locality,
        fit,
        window,
        first_seen: tally.first_secs.and_then(super::timestamp),
        last_seen: tally.last_secs.and_then(super::timestamp),
        paths: paths.iter().cloned().collect(),
    }
}

fn likely_family(fit: Option<&LocalityFit>) -> &'static str {
    match fit.map(|f| f.best) {
        Some(BestModel::CodeRedIi) => "code-red-ii",
        Some(BestModel::Uniform) => "code-red",
        _ => "port-80-scan",
    }
}

/// The finding a spreading address gives, so finding consumers see it too (None for
/// addresses that do not spread). It carries the spreading correlation's id, title and level.
pub fn scan_finding(d: &ScanDetail, options: &SpreadOptions) -> Option<Finding> {
    let family = d.likely_family.clone()?;
    let crii_fits = d
        .fit
        .as_ref()
        .is_some_and(|f| f.best == BestModel::CodeRedIi);
    Some(Finding {
        id: 0,
        family,
        rule_id: options.rule_id.clone(),
        rule_title: options.rule_title.clone(),
        level: options.level,
        confidence: if crii_fits {
            Confidence::High
        } else {
            Confidence::Medium
        },
        path: d.paths.join(" "),
        time: d.first_seen,
        evidence: Evidence::Scan(ScanEvidence {
            subject: d.address,
            host: d.host.clone(),
            source: d.source,
            paths: d.paths.clone(),
            text: spread_evidence(d),
        }),
        correlate: Vec::new(),
    })
}

/// `312 port-80 targets (140 in 300 s); /16 37%, /8 50%, elsewhere 13%; best fit code-red-ii (p 0.61)`.
pub fn spread_evidence(v: &ScanDetail) -> String {
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
        text.push_str(&format!(
            "; best fit {} (p {})",
            f.best.name(),
            f.best_p_value()
        ));
    }
    text
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
        // One SYN every 20 s: a 300 s window holds 16, both ends included (0 and 300).
        let peak = t.peak().unwrap();
        assert_eq!(peak.distinct_targets, 16);
        assert_eq!(peak.end - peak.start, 300);
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
        let v = tallies.details(&SpreadOptions::of(
            crate::detect::spreading::builtin().as_ref(),
            None,
            None,
        ));
        assert_eq!(v.len(), 1);
        assert!(v[0].spreading);
        assert_eq!(v[0].states["SYN_SENT"], 25);
    }
}
