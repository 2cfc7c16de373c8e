//! The one input record: a file (or standard input) read as evidence, with its SHA-256 and
//! size as stored, and what it was read as.

use serde::{Deserialize, Serialize};

use std::net::IpAddr;

use super::states::{EvidenceKind, Exposure};
use super::time::Timestamp;

/// One input read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputRecord {
    /// `input`.
    #[serde(rename = "type")]
    pub kind: InputTag,
    pub evidence_kind: EvidenceKind,
    /// Host evidence: the host it belongs to.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub host: Option<String>,
    pub path: String,
    /// Host evidence: what the file is (hive, reg-export, root-exe, cmd-exe, idq-dll, ...).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub role: Option<String>,
    /// None when the input could not be read to its end.
    pub sha256: Option<String>,
    pub size: Option<u64>,
    /// Logs, captures and tables: how it was read.
    #[serde(flatten, default, skip_serializing_if = "Option::is_none")]
    pub stream: Option<StreamFacts>,
}

/// The constant `"input"` tag.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InputTag {
    #[default]
    Input,
}

/// How a log, capture or table was read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamFacts {
    /// `none`, `gzip`, `bzip2`, `zstd`.
    pub compression: String,
    /// The format it was read as (None: skipped).
    pub format: Option<String>,
    pub decompressed_bytes: u64,
    /// Lines (captures: frames).
    pub lines: u64,
    pub findings: u64,
    /// With `--since`/`--until`: lines the prefilter passed whose time was outside the
    /// window (not checked), and lines with no time (checked).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lines_outside_window: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lines_without_time: Option<u64>,
    /// Of `findings`, those past `--repeats` of their kind: counted in the verdicts, not
    /// written one by one (each kind is in `repeats`).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub findings_omitted: u64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub repeats: Vec<Repeat>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// Findings of one kind past `--repeats` in one input: what they share, how many were
/// written and how many only counted, and their first and last lines and times.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Repeat {
    pub rule_id: String,
    pub family: String,
    pub client_ip: Option<IpAddr>,
    pub server: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_name: Option<String>,
    pub status: Option<String>,
    /// What the answers said of the server, for requests whose answer tells.
    pub exposure: Option<Exposure>,
    pub written: u64,
    pub omitted: u64,
    /// Of the omitted ones (captures: frames).
    pub first_line: u64,
    pub last_line: u64,
    #[serde(with = "super::time::exact")]
    pub first_time: Option<Timestamp>,
    #[serde(with = "super::time::exact")]
    pub last_time: Option<Timestamp>,
}
