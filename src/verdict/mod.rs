//! Request findings (logs and captures) tallied as they stream past: per source address (who
//! sent) and per attacked server (who was hit, and what its answers say). The case joins
//! these with the host and network evidence into verdicts.

mod distinct;

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use ipnet::IpNet;

pub use distinct::Distinct;

use crate::finding::is_worm_family;
use crate::model::{
    EvidenceKind, ExposureCounts, Finding, ServedDetail, SourceDetail, StatusCounts, Timestamp,
};

/// Private and local ranges: the default meaning of "our own networks".
pub const DEFAULT_INTERNAL: [&str; 6] = [
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "fc00::/7",
    "fe80::/10",
    "127.0.0.0/8",
];

/// The default internal networks.
pub fn default_internal() -> Vec<IpNet> {
    DEFAULT_INTERNAL
        .iter()
        .map(|n| n.parse().expect("valid built-in network"))
        .collect()
}

/// Finding ids a verdict keeps per kind of evidence; `evidence_count` still counts all.
pub const MAX_EVIDENCE_IDS: usize = 10_000;
/// Finding ids all tallies together keep (16 MB): beyond, verdicts still count their
/// findings but list no more ids.
pub const MAX_IDS_KEPT: u64 = 2_000_000;
/// Outside source addresses tallied one by one (the first met); the findings of later ones
/// are counted together, their number estimated.
pub const MAX_OUTSIDE_SOURCES: usize = 10_000;
/// Addresses of ours (inside `--internal`) tallied one by one as sources.
pub const MAX_INSIDE_SOURCES: usize = 20_000;
/// Names (Host headers) kept per server.
pub const MAX_NAMES_PER_TARGET: usize = 64;
/// Servers tallied one by one (names come from the logs, and so from attackers too).
pub const MAX_TARGETS: usize = 10_000;

/// What the findings about one subject add up to.
#[derive(Debug, Clone, Default)]
pub struct Tally {
    pub families: BTreeMap<String, u64>,
    pub count: u64,
    pub first: Option<Timestamp>,
    pub last: Option<Timestamp>,
    /// Distinct targets of a source, sources of a server.
    pub peers: Distinct,
    /// Ids of the findings, by kind of evidence (the first [`MAX_EVIDENCE_IDS`]).
    pub ids: BTreeMap<EvidenceKind, Vec<u64>>,
}

impl Tally {
    /// Counts `weight.count` findings like `finding`; its id is kept when `keep_id` (and
    /// this tally has room).
    pub fn add(
        &mut self,
        finding: &Finding,
        weight: Weight,
        peer: Option<&str>,
        keep_id: bool,
    ) -> bool {
        match self.families.get_mut(&finding.family) {
            Some(count) => *count += weight.count,
            None => {
                self.families.insert(finding.family.clone(), weight.count);
            }
        }
        self.count += weight.count;
        self.first = [self.first, weight.first].into_iter().flatten().min();
        self.last = [self.last, weight.last].into_iter().flatten().max();
        if let Some(p) = peer {
            self.peers.insert(p);
        }
        let ids = self.ids.entry(finding.evidence_kind()).or_default();
        let kept = weight.id.is_some() && keep_id && ids.len() < MAX_EVIDENCE_IDS;
        if kept {
            ids.push(finding.id);
        }
        kept
    }

    /// Adds another tally of the same subject.
    pub fn merge(&mut self, other: &Tally) {
        for (family, n) in &other.families {
            *self.families.entry(family.clone()).or_default() += n;
        }
        self.count += other.count;
        self.first = [self.first, other.first].into_iter().flatten().min();
        self.last = [self.last, other.last].into_iter().flatten().max();
        self.peers.merge(&other.peers);
        for (kind, ids) in &other.ids {
            let mine = self.ids.entry(*kind).or_default();
            mine.extend(ids.iter().take(MAX_EVIDENCE_IDS.saturating_sub(mine.len())));
        }
    }
}

/// How many findings one call to the tallies stands for: one finding (with its id), or the
/// findings of one kind past `--repeats` (no ids: they were not written).
#[derive(Debug, Clone, Copy)]
pub struct Weight {
    pub count: u64,
    pub first: Option<Timestamp>,
    pub last: Option<Timestamp>,
    /// Whether the finding has an id to link.
    pub id: Option<u64>,
}

impl Weight {
    /// One written finding.
    pub fn one(finding: &Finding) -> Self {
        Weight {
            count: 1,
            first: finding.time,
            last: finding.time,
            id: Some(finding.id),
        }
    }
}

/// A server as the requests to it show it.
#[derive(Debug, Clone, Default)]
pub struct TargetTally {
    pub tally: Tally,
    pub served: ServedDetail,
    /// Names and addresses the logs give it together (`s-ip` beside `cs-host`).
    pub also_known_as: BTreeSet<String>,
}

/// What one source address sent.
#[derive(Debug, Clone)]
pub struct SourceTally {
    pub address: IpAddr,
    pub tally: Tally,
    /// One of ours sending worm requests.
    pub spreading: bool,
    /// Inside `--internal`.
    pub internal: bool,
}

/// Findings whose source or server was past the limits of what is tallied one by one.
#[derive(Debug, Clone, Default)]
pub struct Overflow {
    /// Outside sources past [`MAX_OUTSIDE_SOURCES`]: their findings and their number.
    pub outside_findings: u64,
    pub outside_sources: Distinct,
    /// Sources of ours past [`MAX_INSIDE_SOURCES`].
    pub inside_findings: u64,
    pub inside_sources: Distinct,
    /// Servers past [`MAX_TARGETS`].
    pub target_findings: u64,
    pub targets: Distinct,
    /// Ids not kept because [`MAX_IDS_KEPT`] was reached.
    pub ids_dropped: u64,
}

/// Aggregates request findings as they stream past, in memory bounded by the limits above.
#[derive(Debug)]
pub struct Aggregator {
    internal: Vec<IpNet>,
    sources: BTreeMap<IpAddr, Tally>,
    targets: BTreeMap<String, TargetTally>,
    inside_sources: usize,
    ids_kept: u64,
    overflow: Overflow,
}

impl Aggregator {
    /// An aggregator that treats `internal` as our own networks.
    pub fn new(internal: Vec<IpNet>) -> Self {
        Aggregator {
            internal,
            sources: BTreeMap::new(),
            targets: BTreeMap::new(),
            inside_sources: 0,
            ids_kept: 0,
            overflow: Overflow::default(),
        }
    }

    /// Counts one finding (findings that saw no request are not for this tally).
    pub fn add(&mut self, finding: &Finding) {
        self.add_weighted(finding, Weight::one(finding));
    }

    /// Counts `count` findings like `sample` that were not written (`--repeats`), the first
    /// and last of them at `first` and `last`.
    pub fn add_repeated(
        &mut self,
        sample: &Finding,
        count: u64,
        first: Option<Timestamp>,
        last: Option<Timestamp>,
    ) {
        let weight = Weight {
            count,
            first,
            last,
            id: None,
        };
        self.add_weighted(sample, weight);
    }

    fn add_weighted(&mut self, finding: &Finding, weight: Weight) {
        let Some(request) = finding.request() else {
            return;
        };
        let target = target_name(finding);
        if let Some(source) = request.client_ip {
            self.add_source(source, finding, weight, &target);
        }
        let source = request.client_ip.map(crate::net::AddressText::ip);
        if !self.targets.contains_key(&target) && self.targets.len() >= MAX_TARGETS {
            self.overflow.target_findings += weight.count;
            self.overflow.targets.insert(&target);
            return;
        }
        let keep_id = self.ids_kept < MAX_IDS_KEPT;
        let entry = self.targets.entry(target).or_default();
        let kept = entry.tally.add(
            finding,
            weight,
            source.as_ref().map(|s| s.as_str()),
            keep_id,
        );
        entry
            .served
            .statuses
            .add(request.status.as_deref(), weight.count);
        add_exposure(&mut entry.served, request.exposure, weight.count);
        if let Some(name) = &request.server_name {
            // Host headers come from the clients: a few names are the server's, thousands are
            // an attacker's noise.
            if entry.also_known_as.len() < MAX_NAMES_PER_TARGET {
                entry.also_known_as.insert(name.clone());
            }
        }
        self.count_id(kept, weight);
    }

    fn add_source(&mut self, source: IpAddr, finding: &Finding, weight: Weight, target: &str) {
        let keep_id = self.ids_kept < MAX_IDS_KEPT;
        if let Some(tally) = self.sources.get_mut(&source) {
            let kept = tally.add(finding, weight, Some(target), keep_id);
            self.count_id(kept, weight);
            return;
        }
        let inside = self.is_internal(&source);
        let (room, overflow) = if inside {
            let room = self.inside_sources < MAX_INSIDE_SOURCES;
            let o = &mut self.overflow;
            (room, (&mut o.inside_findings, &mut o.inside_sources))
        } else {
            let room = self.sources.len() - self.inside_sources < MAX_OUTSIDE_SOURCES;
            let o = &mut self.overflow;
            (room, (&mut o.outside_findings, &mut o.outside_sources))
        };
        if !room {
            *overflow.0 += weight.count;
            overflow.1.insert(&source.to_string());
            return;
        }
        self.inside_sources += usize::from(inside);
        let mut tally = Tally::default();
        let kept = tally.add(finding, weight, Some(target), keep_id);
        self.sources.insert(source, tally);
        self.count_id(kept, weight);
    }

    fn count_id(&mut self, kept: bool, weight: Weight) {
        if kept {
            self.ids_kept += 1;
        } else if self.ids_kept >= MAX_IDS_KEPT && weight.id.is_some() {
            self.overflow.ids_dropped += 1;
        }
    }

    /// What went past the limits so far.
    pub fn overflow(&self) -> &Overflow {
        &self.overflow
    }

    /// Whether `address` is one of ours.
    pub fn is_internal(&self, address: &IpAddr) -> bool {
        self.internal.iter().any(|n| n.contains(address))
    }

    /// The internal networks.
    pub fn internal(&self) -> &[IpNet] {
        &self.internal
    }

    /// The tallies: per source address (with whether it is one of ours spreading a worm,
    /// and whether it is internal), and per server.
    pub fn into_parts(mut self) -> (Vec<SourceTally>, BTreeMap<String, TargetTally>) {
        let sources = std::mem::take(&mut self.sources)
            .into_iter()
            .map(|(address, tally)| SourceTally {
                address,
                spreading: self.is_spreading(&address, &tally),
                internal: self.is_internal(&address),
                tally,
            })
            .collect();
        (sources, self.targets)
    }

    /// Whether a source sent worm requests from inside: a likely infected host of ours.
    pub fn is_spreading(&self, address: &IpAddr, tally: &Tally) -> bool {
        self.is_internal(address) && tally.families.keys().any(|f| is_worm_family(f))
    }
}

fn add_exposure(served: &mut ServedDetail, exposure: Option<crate::model::Exposure>, n: u64) {
    use crate::model::Exposure;
    let counts: &mut ExposureCounts = &mut served.exposure;
    match exposure {
        Some(Exposure::NoMapping) => counts.no_mapping += n,
        Some(Exposure::Patched) => counts.patched += n,
        Some(Exposure::Unknown) => counts.unknown += n,
        Some(Exposure::Backdoor) => served.backdoor_answered += n,
        Some(Exposure::Traversal) => served.traversal_answered += n,
        Some(Exposure::NotIis) | None => {}
    }
}

/// What a source's tally says, with the share of its targets near it.
pub fn source_detail(address: &IpAddr, tally: &Tally, internal: bool) -> SourceDetail {
    let (same_16, same_8) = if internal {
        locality(address, tally.peers.kept())
    } else {
        (None, None)
    };
    SourceDetail {
        internal,
        peers: tally.peers.len(),
        share_same_16: same_16,
        share_same_8: same_8,
    }
}

/// The server a finding hit: its address or name, else the folder of the logs it was found
/// in (rotated and daily logs of one server share a folder), else standard input.
pub fn target_name(finding: &Finding) -> String {
    if let Some(server) = finding.request().and_then(|r| r.server.clone()) {
        return server;
    }
    // The path is a String, so its folder is text too (no lossy display, no formatting: this
    // runs for every finding tallied).
    let folder = std::path::Path::new(&finding.path)
        .parent()
        .and_then(|p| p.to_str());
    match folder {
        Some(folder) if !folder.is_empty() => ["log:", folder].concat(),
        _ if finding.path == "-" => "log:-".to_string(),
        _ => "log:.".to_string(),
    }
}

/// Share of IPv4 targets in the source's own /16 and /8 (Code Red II favours both).
fn locality(source: &IpAddr, targets: &BTreeSet<String>) -> (Option<f64>, Option<f64>) {
    let IpAddr::V4(src) = source else {
        return (None, None);
    };
    let octets: Vec<[u8; 4]> = targets
        .iter()
        .filter_map(|t| t.parse::<std::net::Ipv4Addr>().ok())
        .map(|t| t.octets())
        .collect();
    if octets.is_empty() {
        return (None, None);
    }
    let s = src.octets();
    let total = octets.len() as f64;
    let same_16 = octets.iter().filter(|t| t[..2] == s[..2]).count() as f64 / total;
    let same_8 = octets.iter().filter(|t| t[0] == s[0]).count() as f64 / total;
    (Some(round3(same_16)), Some(round3(same_8)))
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// Sums the status counts of several servers (a host with several addresses).
pub fn merge_served(into: &mut ServedDetail, other: &ServedDetail) {
    let (a, b) = (&mut into.statuses, &other.statuses);
    *a = StatusCounts {
        not_found: a.not_found + b.not_found,
        success: a.success + b.success,
        other: a.other + b.other,
        none: a.none + b.none,
    };
    let (a, b) = (&mut into.exposure, &other.exposure);
    *a = ExposureCounts {
        no_mapping: a.no_mapping + b.no_mapping,
        patched: a.patched + b.patched,
        unknown: a.unknown + b.unknown,
    };
    into.backdoor_answered += other.backdoor_answered;
    into.traversal_answered += other.traversal_answered;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Confidence, Evidence, Exposure, Level, RequestEvidence};

    fn finding(
        family: &str,
        client: &str,
        server: &str,
        status: &str,
        exposure: Option<Exposure>,
    ) -> Finding {
        Finding {
            id: 1,
            family: family.into(),
            rule_id: "r".into(),
            rule_title: "t".into(),
            level: Level::High,
            confidence: Confidence::High,
            path: "logs/x.log".into(),
            time: Timestamp::parse("2001-08-04T10:00:00Z"),
            evidence: Evidence::Request(Box::new(RequestEvidence {
                line: 1,
                offset: 0,
                format: "iis-w3c".into(),
                client_ip: client.parse().ok(),
                server: (!server.is_empty()).then(|| server.to_string()),
                server_name: None,
                method: None,
                uri: None,
                status: Some(status.into()),
                exposure,
                text: String::new(),
                wire: None,
                proxy: None,
            })),
            correlate: Vec::new(),
        }
    }

    #[test]
    fn sources_and_servers_with_their_answers() {
        let mut agg = Aggregator::new(default_internal());
        let nomap = Some(Exposure::NoMapping);
        agg.add(&finding(
            "code-red-ii",
            "10.1.2.3",
            "10.1.9.9",
            "404",
            nomap,
        ));
        agg.add(&finding(
            "code-red-ii",
            "10.1.2.3",
            "10.7.9.9",
            "404",
            nomap,
        ));
        agg.add(&finding(
            "code-red-ii",
            "10.1.2.3",
            "192.0.2.80",
            "500",
            Some(Exposure::Unknown),
        ));
        agg.add(&finding(
            "nimda",
            "198.51.100.7",
            "10.1.9.9",
            "200",
            Some(Exposure::Backdoor),
        ));
        agg.add(&finding("nimda", "198.51.100.7", "", "404", None));
        let spreading: IpAddr = "10.1.2.3".parse().unwrap();
        let (sources, targets) = agg.into_parts();
        let source = sources.iter().find(|s| s.address == spreading).unwrap();
        assert!(source.spreading && source.internal);
        let outside = sources.iter().find(|s| s.address != spreading).unwrap();
        assert!(!outside.spreading && !outside.internal);
        let detail = source_detail(&spreading, &source.tally, true);
        assert_eq!(detail.peers, 3);
        assert_eq!(detail.share_same_16, Some(0.333));
        assert_eq!(detail.share_same_8, Some(0.667));
        let hit = &targets["10.1.9.9"].served;
        assert_eq!(hit.statuses.total(), 2);
        assert_eq!((hit.statuses.not_found, hit.statuses.success), (1, 1));
        assert_eq!(hit.backdoor_answered, 1);
        assert_eq!(hit.exposure.no_mapping, 1);
        assert!(
            targets.contains_key("log:logs"),
            "a log without a server is its folder"
        );
    }
}
