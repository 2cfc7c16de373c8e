//! The one input record: a file (or standard input) read as evidence, with its SHA-256 and
//! size as stored, and what it was read as.

use serde::{Deserialize, Serialize};

use super::states::EvidenceKind;

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
}
