//! The one verdict type: a decision about one subject (a host of ours, or an outside source),
//! with the figures behind it and the ids of the findings that support it.

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use super::network::ScanDetail;
use super::states::{EvidenceKind, PatchStatus, Role, State};
use super::time::Timestamp;

/// A decision about one subject.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    /// `verdict`.
    #[serde(rename = "type")]
    pub kind: VerdictTag,
    /// The kinds of evidence behind it.
    pub evidence_kind: Vec<EvidenceKind>,
    /// A host's name (or its address when nobody names it), or a source's address.
    pub subject: String,
    pub role: Role,
    /// The state (`verdict` in the outputs).
    #[serde(rename = "verdict")]
    pub state: State,
    /// Findings by family.
    pub families: BTreeMap<String, u64>,
    pub evidence_count: u64,
    pub first_seen: Option<Timestamp>,
    pub last_seen: Option<Timestamp>,
    /// Ids of the findings behind it, by kind of evidence.
    pub evidence: BTreeMap<EvidenceKind, Vec<u64>>,
    /// A source's figures.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub source: Option<SourceDetail>,
    /// A host's identity and what each kind of evidence said of it.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub host: Option<Box<HostDetail>>,
}

/// The constant `"verdict"` tag.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VerdictTag {
    #[default]
    Verdict,
}

/// What an address that sent requests did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceDetail {
    /// Inside `--internal`.
    pub internal: bool,
    /// Distinct targets it hit.
    pub peers: u64,
    /// IPv4: share of its targets in its own /16 and /8 (Code Red II favours both).
    pub share_same_16: Option<f64>,
    pub share_same_8: Option<f64>,
}

/// A host of ours: who it is, and what each kind of evidence said.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HostDetail {
    /// Names it goes by (`--host`, inventory, ComputerName, logs, tables), sorted.
    pub names: Vec<String>,
    /// Addresses it has (interfaces, bindings, logs, tables, inventory), sorted.
    pub addresses: Vec<IpAddr>,
    /// Its role in the inventory, if given.
    pub inventory_role: Option<String>,
    /// As a server in the logs and captures: how it was attacked and how it answered.
    pub served: Option<ServedDetail>,
    /// As a sender of worm requests (logs and captures).
    pub sent: Option<SourceDetail>,
    /// What its disk, registry and IIS configuration say.
    pub disk: Option<DiskDetail>,
    /// Outbound port-80 traffic in captures and connection tables, per address.
    pub scans: Vec<ScanDetail>,
}

/// How a server was attacked, and what its answers say.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServedDetail {
    /// Distinct sources.
    pub peers: u64,
    /// Attempts by answer: 404, 2xx, other, and none logged. They add up to the attempts.
    pub statuses: StatusCounts,
    /// Code Red attempts by what the answer says of the `.ida` mapping.
    pub exposure: ExposureCounts,
    /// Backdoor requests (`root.exe`, `/c/`, `/d/`) answered 2xx: the backdoor is there.
    pub backdoor_answered: u64,
    /// Traversals answered 2xx or 502: the server ran the command.
    pub traversal_answered: u64,
}

/// Attempts by the answer's status.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusCounts {
    pub not_found: u64,
    pub success: u64,
    pub other: u64,
    pub none: u64,
}

impl StatusCounts {
    /// Counts `n` answers with `status`.
    pub fn add(&mut self, status: Option<&str>, n: u64) {
        match status {
            Some("404") => self.not_found += n,
            Some(s) if s.starts_with('2') && s.len() == 3 => self.success += n,
            Some(_) => self.other += n,
            None => self.none += n,
        }
    }

    /// Every attempt.
    pub fn total(&self) -> u64 {
        self.not_found + self.success + self.other + self.none
    }
}

/// Code Red attempts by what the status said about the `.ida` mapping.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExposureCounts {
    pub no_mapping: u64,
    pub patched: u64,
    pub unknown: u64,
}

/// Whether MS01-033 is installed, and why we think so.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PatchState {
    pub state: PatchStatus,
    /// Message key of the reason (`patch-...` in the catalogs).
    pub reason_code: String,
    /// Figures the reason quotes (version, key, service pack).
    pub detail: String,
    /// Where the deciding fact was read.
    pub evidence: Option<String>,
    pub os_version: Option<String>,
    pub service_pack: Option<String>,
    pub idq_version: Option<String>,
}

/// What the metabase says of the `.ida` / `.idq` maps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ScriptMaps {
    Present,
    Removed,
    /// IIS 4 and 5 install them; their binary metabase is not read.
    Assumed,
}

/// What a host's disk, registry and configuration say.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiskDetail {
    /// What the disk alone says: compromised, exposed, mitigated, patched, not-iis, unknown.
    pub state: State,
    /// `check: location` of every trace.
    pub traces: Vec<String>,
    pub patch: PatchState,
    pub iis: Option<bool>,
    pub script_maps: ScriptMaps,
    /// Evidence that could not be read (path: reason).
    pub unreadable: Vec<String>,
    /// IIS 5 binary metabases seen but not parsed.
    pub not_parsed: Vec<String>,
}

impl Verdict {
    /// Whether it is about a host of ours.
    pub fn is_host(&self) -> bool {
        self.role == Role::Host
    }
}
