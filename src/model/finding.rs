//! The one finding type: what every kind of evidence reports, with the fields common to all
//! and what is particular to each kind in [`Evidence`].

use std::net::IpAddr;

use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};

use super::states::{Confidence, EvidenceKind, Exposure, Level};
use super::time::Timestamp;

/// Where findings go as they are made: producers hand each one on at once, so no input
/// holds its findings in memory.
pub type FindingOut<'a> = dyn FnMut(Finding) + 'a;

/// One rule hit or host check that fired.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// 1-based position in the run's output, given when the run emits it (0 before): the
    /// id verdicts link their evidence by.
    pub id: u64,
    /// `code-red-ii`, `nimda`, ... (a user rule's own family, or `sigma`).
    pub family: String,
    pub rule_id: String,
    pub rule_title: String,
    pub level: Level,
    pub confidence: Confidence,
    /// The evidence file: log, capture, table, hive, export or listing.
    pub path: String,
    /// When it happened, where the evidence says.
    #[serde(with = "super::time::exact")]
    pub time: Option<Timestamp>,
    /// What is particular to the kind of evidence.
    pub evidence: Evidence,
    /// What the loaded correlation rules need from this finding (not written out, but carried
    /// in partial results for the merge's correlations).
    pub correlate: Vec<CorrelationTag>,
}

/// A base finding's part in one correlation rule: which rule of its list it matched, and the
/// values of the correlation's group-by fields (then its measured field), as the line had them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CorrelationTag {
    /// Index of the correlation among those loaded.
    pub correlation: usize,
    /// Index of the base rule in the correlation's `rules`.
    pub slot: usize,
    pub values: Vec<Option<String>>,
}

/// What a finding saw, by kind of evidence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Evidence {
    /// A request, from a log line or reassembled from a capture.
    Request(Box<RequestEvidence>),
    /// A trace on a host: a file, a registry value or a metabase node.
    Trace(TraceEvidence),
    /// An address scanning port 80, from captures or connection tables.
    Scan(ScanEvidence),
    /// A Sigma correlation rule that held over the findings of its base rules.
    Correlation(Box<CorrelationEvidence>),
}

/// When and for whom a correlation held, and on which findings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CorrelationEvidence {
    /// The correlation type (`event_count`, `value_count`, ...).
    pub kind: String,
    /// The `group-by` fields and their values (lower-cased, as they were compared).
    pub group: Vec<(String, String)>,
    /// The largest measure over the windows that held (a count, a sum, a percentile...).
    pub metric: f64,
    /// The first finding of the first window and the end of the last window that held.
    #[serde(with = "super::time::exact_one")]
    pub start: Timestamp,
    #[serde(with = "super::time::exact_one")]
    pub end: Timestamp,
    /// Windows (one per base finding time) in which the condition held.
    pub windows: u64,
    /// Ids of the base findings in those windows (at most [`MAX_LINKED_FINDINGS`]), and how
    /// many there were.
    pub findings: Vec<u64>,
    pub findings_total: u64,
    /// The figures in one line.
    pub text: String,
}

impl CorrelationEvidence {
    /// `c-ip=192.0.2.7 cs-host=www`: the group in one line.
    pub fn group_text(&self) -> String {
        let parts: Vec<String> = self.group.iter().map(|(k, v)| format!("{k}={v}")).collect();
        parts.join(" ")
    }
}

/// Base finding ids one correlation finding lists.
pub const MAX_LINKED_FINDINGS: usize = 1_000;

/// A request seen in a log or on the wire.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestEvidence {
    /// 1-based physical line (captures: the frame of the request's first byte).
    pub line: u64,
    /// Byte offset of the line in the decompressed input.
    pub offset: u64,
    /// The format the input was read as (`iis-w3c`, `pcap`, ...).
    pub format: String,
    pub client_ip: Option<IpAddr>,
    /// The server's address, else its name, as the evidence gives it.
    pub server: Option<String>,
    /// The server's name when the line gives its address as well (`cs-host`,
    /// `s-computername` beside `s-ip`): it ties the name to the address.
    pub server_name: Option<String>,
    pub method: Option<String>,
    pub uri: Option<String>,
    pub status: Option<String>,
    /// What the answer says about the server, for request kinds whose answer tells.
    pub exposure: Option<Exposure>,
    /// The line as text, shortened when long.
    pub text: String,
    /// Captures only: where on the wire.
    pub wire: Option<Wire>,
    /// What a proxy header said, when the request came through proxies that logged one.
    pub proxy: Option<ProxyEvidence>,
}

/// Both addresses of a proxied request: the one that connected, and the header the proxies
/// wrote. `client_ip` beside them is the one `--client-from` chose.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProxyEvidence {
    /// The address that connected to the server or balancer that wrote the log.
    pub peer_ip: Option<IpAddr>,
    /// The `X-Forwarded-For` header as logged (shortened when long).
    pub forwarded_for: String,
}

/// Where a captured request travelled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Wire {
    pub frame: u64,
    pub client_port: u16,
    pub server_port: u16,
    /// `client:port -> server:port`.
    pub flow: String,
}

/// A trace on a host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TraceEvidence {
    /// The host's name.
    pub host: String,
    /// Check id (`root-exe`, `sfc-disable`, ...); the catalogs say why it matters
    /// (`why-<check>`).
    pub check: String,
    /// The file (on disk or in a listing), registry value or metabase node.
    pub location: String,
    /// What was found there.
    pub observed: String,
    pub sha256: Option<String>,
}

/// Where a scan's figures were counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ScanSource {
    /// Port-80 SYNs in packet captures.
    Capture,
    /// Outbound port-80 connections in connection tables.
    Netstat,
}

impl ScanSource {
    /// The word outputs use.
    pub fn name(self) -> &'static str {
        match self {
            ScanSource::Capture => "capture",
            ScanSource::Netstat => "netstat",
        }
    }

    /// The source a word names.
    pub fn from_name(word: &str) -> Option<ScanSource> {
        match word {
            "capture" => Some(ScanSource::Capture),
            "netstat" => Some(ScanSource::Netstat),
            _ => None,
        }
    }
}

/// An address scanning port 80.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScanEvidence {
    pub subject: IpAddr,
    /// The host a connection table was taken on.
    pub host: Option<String>,
    pub source: ScanSource,
    /// The inputs the figures came from.
    pub paths: Vec<String>,
    /// The figures in one line.
    pub text: String,
}

impl Finding {
    /// The kind of evidence it came from.
    pub fn evidence_kind(&self) -> EvidenceKind {
        match &self.evidence {
            Evidence::Request(r) if r.wire.is_none() => EvidenceKind::Log,
            Evidence::Request(_) | Evidence::Scan(_) => EvidenceKind::Network,
            Evidence::Trace(_) => EvidenceKind::Host,
            // Made from request findings; what they came from is in the linked findings.
            Evidence::Correlation(_) => EvidenceKind::Log,
        }
    }

    /// The request, for findings that saw one.
    pub fn request(&self) -> Option<&RequestEvidence> {
        match &self.evidence {
            Evidence::Request(r) => Some(r),
            _ => None,
        }
    }

    /// The request, mutable.
    pub fn request_mut(&mut self) -> Option<&mut RequestEvidence> {
        match &mut self.evidence {
            Evidence::Request(r) => Some(r),
            _ => None,
        }
    }

    /// Sets the status from an answer seen elsewhere (captures), and what it says.
    pub fn set_status(&mut self, status: &str, exposure: Option<Exposure>) {
        if let Some(r) = self.request_mut() {
            r.status = Some(status.to_string());
            r.exposure = exposure;
        }
    }
}

/// A finding as JSON writes it, with the text of its `why` (host traces) in the output's
/// language. The field names and their order are those wormtrace has always written.
pub struct FindingRecord<'a> {
    pub finding: &'a Finding,
    /// Why a host trace matters, from the catalog.
    pub why: Option<&'a str>,
}

impl Serialize for FindingRecord<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let f = self.finding;
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("type", "finding")?;
        map.serialize_entry("id", &f.id)?;
        map.serialize_entry("evidence_kind", &f.evidence_kind())?;
        match &f.evidence {
            Evidence::Request(r) => {
                serialize_rule(&mut map, f)?;
                map.serialize_entry("line", &r.line)?;
                map.serialize_entry("offset", &r.offset)?;
                map.serialize_entry("format", &r.format)?;
                map.serialize_entry("time", &f.time)?;
                map.serialize_entry("client_ip", &r.client_ip)?;
                if let Some(proxy) = &r.proxy {
                    map.serialize_entry("peer_ip", &proxy.peer_ip)?;
                    map.serialize_entry("forwarded_for", &proxy.forwarded_for)?;
                }
                map.serialize_entry("server", &r.server)?;
                map.serialize_entry("method", &r.method)?;
                map.serialize_entry("uri", &r.uri)?;
                map.serialize_entry("status", &r.status)?;
                map.serialize_entry("exposure", &r.exposure)?;
                map.serialize_entry("evidence", &r.text)?;
                if let Some(w) = &r.wire {
                    map.serialize_entry("frame", &w.frame)?;
                    map.serialize_entry("client_port", &w.client_port)?;
                    map.serialize_entry("server_port", &w.server_port)?;
                    map.serialize_entry("flow", &w.flow)?;
                }
            }
            Evidence::Trace(t) => {
                map.serialize_entry("host", &t.host)?;
                map.serialize_entry("check", &t.check)?;
                map.serialize_entry("family", &f.family)?;
                map.serialize_entry("level", &f.level)?;
                map.serialize_entry("confidence", &f.confidence)?;
                map.serialize_entry("location", &t.location)?;
                map.serialize_entry("path", &f.path)?;
                map.serialize_entry("observed", &t.observed)?;
                map.serialize_entry("why", &self.why.unwrap_or_default())?;
                map.serialize_entry("sha256", &t.sha256)?;
            }
            Evidence::Scan(sc) => {
                map.serialize_entry("family", &f.family)?;
                map.serialize_entry("rule_id", &f.rule_id)?;
                map.serialize_entry("level", &f.level)?;
                map.serialize_entry("confidence", &f.confidence)?;
                map.serialize_entry("subject", &sc.subject)?;
                map.serialize_entry("host", &sc.host)?;
                map.serialize_entry("source", &sc.source)?;
                map.serialize_entry("paths", &sc.paths)?;
                map.serialize_entry("evidence", &sc.text)?;
            }
            Evidence::Correlation(c) => serialize_correlation(&mut map, f, c)?,
        }
        map.end()
    }
}

/// The rule's part of a request or correlation finding, in the order JSON has always had it.
fn serialize_rule<M: SerializeMap>(map: &mut M, f: &Finding) -> Result<(), M::Error> {
    map.serialize_entry("family", &f.family)?;
    map.serialize_entry("rule_id", &f.rule_id)?;
    map.serialize_entry("rule_title", &f.rule_title)?;
    map.serialize_entry("level", &f.level)?;
    map.serialize_entry("confidence", &f.confidence)?;
    map.serialize_entry("path", &f.path)
}

fn serialize_correlation<M: SerializeMap>(
    map: &mut M,
    f: &Finding,
    c: &CorrelationEvidence,
) -> Result<(), M::Error> {
    serialize_rule(map, f)?;
    map.serialize_entry("time", &f.time)?;
    map.serialize_entry("correlation", &c.kind)?;
    let group: serde_json::Map<String, serde_json::Value> = c
        .group
        .iter()
        .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
        .collect();
    map.serialize_entry("group", &group)?;
    map.serialize_entry("metric", &c.metric)?;
    map.serialize_entry("window_start", &c.start)?;
    map.serialize_entry("window_end", &c.end)?;
    map.serialize_entry("windows", &c.windows)?;
    map.serialize_entry("findings", &c.findings)?;
    map.serialize_entry("findings_total", &c.findings_total)?;
    map.serialize_entry("evidence", &c.text)
}
