//! Verdicts: findings aggregated per address, as sources (who sent) and targets (who was hit).

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use chrono::{DateTime, FixedOffset};
use ipnet::IpNet;
use serde::Serialize;

use crate::finding::{is_worm_family, Exposure, Finding};

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

/// Counts of Code Red attempts by what the status said about the target.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ExposureCounts {
    pub no_mapping: u64,
    pub patched: u64,
    pub unknown: u64,
}

/// One verdict record.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verdict {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub subject: String,
    /// `source` or `target`.
    pub role: &'static str,
    /// `spreading`, `attacked` or `exposed`.
    pub verdict: &'static str,
    pub internal: bool,
    pub families: BTreeMap<String, u64>,
    pub evidence_count: u64,
    pub first_seen: Option<String>,
    pub last_seen: Option<String>,
    /// Sources: distinct targets hit. Targets: distinct sources seen.
    pub peers: u64,
    /// Internal IPv4 sources: share of their targets in their own /16 and /8.
    pub share_same_16: Option<f64>,
    pub share_same_8: Option<f64>,
    /// Targets: what the status codes of Code Red attempts say.
    pub exposure: Option<ExposureCounts>,
}

#[derive(Debug, Default)]
struct Tally {
    families: BTreeMap<String, u64>,
    count: u64,
    first: Option<DateTime<FixedOffset>>,
    last: Option<DateTime<FixedOffset>>,
    peers: BTreeSet<String>,
    exposure: ExposureCounts,
}

impl Tally {
    fn add(&mut self, finding: &Finding, peer: Option<&str>) {
        *self.families.entry(finding.family.clone()).or_default() += 1;
        self.count += 1;
        if let Some(t) = finding
            .time
            .as_deref()
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        {
            self.first = Some(self.first.map_or(t, |f| f.min(t)));
            self.last = Some(self.last.map_or(t, |l| l.max(t)));
        }
        if let Some(p) = peer {
            self.peers.insert(p.to_string());
        }
        match finding.exposure {
            Some(Exposure::NoMapping) => self.exposure.no_mapping += 1,
            Some(Exposure::Patched) => self.exposure.patched += 1,
            Some(Exposure::Unknown) => self.exposure.unknown += 1,
            Some(Exposure::NotIis) | None => {}
        }
    }
}

/// Aggregates findings as they stream past.
#[derive(Debug)]
pub struct Aggregator {
    internal: Vec<IpNet>,
    sources: BTreeMap<String, Tally>,
    targets: BTreeMap<String, Tally>,
}

impl Aggregator {
    /// An aggregator that treats `internal` as our own networks.
    pub fn new(internal: Vec<IpNet>) -> Self {
        Aggregator {
            internal,
            sources: BTreeMap::new(),
            targets: BTreeMap::new(),
        }
    }

    /// Counts one finding.
    pub fn add(&mut self, finding: &Finding) {
        let target = target_name(finding);
        if let Some(source) = &finding.client_ip {
            self.sources
                .entry(source.clone())
                .or_default()
                .add(finding, Some(&target));
        }
        self.targets
            .entry(target)
            .or_default()
            .add(finding, finding.client_ip.as_deref());
    }

    fn is_internal(&self, subject: &str) -> bool {
        subject
            .parse::<IpAddr>()
            .is_ok_and(|ip| self.internal.iter().any(|n| n.contains(&ip)))
    }

    /// Verdicts: sources first (spreading hosts first, most evidence first), then targets.
    pub fn verdicts(&self) -> Vec<Verdict> {
        let mut sources: Vec<Verdict> = self
            .sources
            .iter()
            .map(|(s, t)| self.source_verdict(s, t))
            .collect();
        sort_by_urgency(&mut sources, "spreading");
        let mut targets: Vec<Verdict> = self
            .targets
            .iter()
            .map(|(s, t)| self.target_verdict(s, t))
            .collect();
        sort_by_urgency(&mut targets, "exposed");
        sources.extend(targets);
        sources
    }

    fn source_verdict(&self, subject: &str, tally: &Tally) -> Verdict {
        let internal = self.is_internal(subject);
        let spreading = internal && tally.families.keys().any(|f| is_worm_family(f));
        let (same_16, same_8) = if internal {
            locality(subject, &tally.peers)
        } else {
            (None, None)
        };
        base_verdict(
            subject,
            "source",
            if spreading { "spreading" } else { "attacked" },
            internal,
            tally,
            same_16,
            same_8,
        )
    }

    fn target_verdict(&self, subject: &str, tally: &Tally) -> Verdict {
        let exposed = tally.exposure.unknown > 0;
        let mut v = base_verdict(
            subject,
            "target",
            if exposed { "exposed" } else { "attacked" },
            self.is_internal(subject),
            tally,
            None,
            None,
        );
        v.exposure = Some(tally.exposure.clone());
        v
    }
}

/// Verdicts of the `urgent` kind first, then most evidence first, then by subject.
fn sort_by_urgency(verdicts: &mut [Verdict], urgent: &str) {
    verdicts.sort_by(|a, b| {
        (b.verdict == urgent, b.evidence_count)
            .cmp(&(a.verdict == urgent, a.evidence_count))
            .then_with(|| a.subject.cmp(&b.subject))
    });
}

fn base_verdict(
    subject: &str,
    role: &'static str,
    verdict: &'static str,
    internal: bool,
    tally: &Tally,
    same_16: Option<f64>,
    same_8: Option<f64>,
) -> Verdict {
    Verdict {
        kind: "verdict",
        subject: subject.to_string(),
        role,
        verdict,
        internal,
        families: tally.families.clone(),
        evidence_count: tally.count,
        first_seen: tally.first.map(|t| t.to_rfc3339()),
        last_seen: tally.last.map(|t| t.to_rfc3339()),
        peers: tally.peers.len() as u64,
        share_same_16: same_16,
        share_same_8: same_8,
        exposure: None,
    }
}

/// The server a finding hit: its address or name, else the log it was found in.
pub fn target_name(finding: &Finding) -> String {
    finding
        .server
        .clone()
        .unwrap_or_else(|| format!("log:{}", finding.path))
}

/// Share of IPv4 targets in the source's own /16 and /8 (Code Red II favours both).
fn locality(source: &str, targets: &BTreeSet<String>) -> (Option<f64>, Option<f64>) {
    let Ok(IpAddr::V4(src)) = source.parse::<IpAddr>() else {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(family: &str, client: &str, server: &str, status: &str) -> Finding {
        Finding {
            kind: "finding",
            evidence_kind: "log",
            family: family.into(),
            rule_id: "r".into(),
            rule_title: "t".into(),
            level: "high",
            confidence: "high".into(),
            path: "x.log".into(),
            line: 1,
            offset: 0,
            format: "iis-w3c",
            time: Some("2001-08-04T10:00:00Z".into()),
            client_ip: Some(client.into()),
            server: Some(server.into()),
            method: None,
            uri: None,
            status: Some(status.into()),
            exposure: family
                .starts_with("code-red")
                .then(|| Exposure::from_status(Some(status))),
            evidence: String::new(),
            frame: None,
            client_port: None,
            server_port: None,
            flow: None,
        }
    }

    #[test]
    fn internal_worm_source_is_spreading_with_locality() {
        let mut agg = Aggregator::new(default_internal());
        agg.add(&finding("code-red-ii", "10.1.2.3", "10.1.9.9", "404"));
        agg.add(&finding("code-red-ii", "10.1.2.3", "10.7.9.9", "404"));
        agg.add(&finding("code-red-ii", "10.1.2.3", "192.0.2.80", "500"));
        agg.add(&finding("iis-exploit", "10.9.9.9", "10.1.9.9", "404"));
        agg.add(&finding("code-red", "198.51.100.7", "10.1.9.9", "200"));
        let v = agg.verdicts();
        let spreading: Vec<&Verdict> = v.iter().filter(|v| v.verdict == "spreading").collect();
        assert_eq!(spreading.len(), 1);
        assert_eq!(spreading[0].subject, "10.1.2.3");
        assert_eq!(spreading[0].peers, 3);
        assert_eq!(spreading[0].share_same_16, Some(0.333));
        assert_eq!(spreading[0].share_same_8, Some(0.667));
        let probe = v.iter().find(|v| v.subject == "10.9.9.9").unwrap();
        assert_eq!(probe.verdict, "attacked");
        let external = v.iter().find(|v| v.subject == "198.51.100.7").unwrap();
        assert_eq!((external.verdict, external.internal), ("attacked", false));
        let exposed = v.iter().find(|v| v.subject == "192.0.2.80").unwrap();
        assert_eq!((exposed.role, exposed.verdict), ("target", "exposed"));
        let hit = v.iter().find(|v| v.subject == "10.1.9.9").unwrap();
        assert_eq!(hit.verdict, "attacked");
        assert_eq!(
            hit.exposure,
            Some(ExposureCounts {
                no_mapping: 1,
                patched: 1,
                unknown: 0
            })
        );
    }
}
