//! Sinks: where the results of a run go. Every sink receives the same events, whatever the
//! evidence kind: `begin`, then each `input` and `finding` as they are made, the `verdict`s,
//! the `problem`s, and `finish`. A sink knows the model and the catalogs, never a producer.

pub mod atomic;
pub mod case;
mod csv_out;
pub mod escape;
pub mod html;
pub mod iocs;
mod json_out;
pub mod json_write;
mod summary;

use std::io;

use serde::Serialize;

use crate::model::Problem;
use crate::model::{Finding, InputRecord, Timestamp, Verdict};

pub use case::CaseSink;
pub use csv_out::CsvSink;
pub use html::{HtmlOptions, HtmlSink};
pub use iocs::IocSink;
pub use json_out::{JsonSink, JsonlSink};
pub use summary::{SummaryOptions, SummarySink};

/// What the run is: the first event every sink receives.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct RunInfo {
    /// `wormtrace --version`'s first line.
    pub version: String,
    /// The command line.
    pub arguments: Vec<String>,
    pub started: Option<Timestamp>,
    /// SHA-256 of the built-in rule pack, and the rules loaded.
    pub rule_pack_sha256: String,
    pub rules: Vec<RuleInfo>,
    /// Whether logs, captures and tables were hashed as they were read (`--hash`).
    #[serde(default)]
    pub input_hash: crate::source::HashChoice,
}

/// One loaded rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct RuleInfo {
    pub id: String,
    pub title: String,
    pub level: String,
    pub family: Option<String>,
    /// Where it came from (`builtin:NAME` or a path) and the SHA-256 of that file.
    pub source: String,
    pub source_sha256: String,
}

/// Totals of a run: the `summary` record.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct RunTotals {
    /// The kinds of evidence the run read.
    pub evidence_kind: Vec<crate::model::EvidenceKind>,
    /// Log, capture and table inputs read.
    pub inputs: u64,
    pub bytes: u64,
    pub lines: u64,
    /// Findings of those inputs, written or not.
    pub findings: u64,
    /// Of those, findings past `--repeats` of their kind: counted, not written.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub findings_omitted: u64,
    /// Hosts swept and their findings (host evidence).
    pub hosts: u64,
    pub host_findings: u64,
    /// Hosts of ours spreading a worm, by any kind of evidence.
    pub spreading: u64,
    /// Inputs skipped or not read in full.
    pub problems: u64,
    /// With `--since`/`--until`: lines (and capture requests) outside the window, not
    /// checked, and lines without a time, checked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lines_outside_window: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lines_without_time: Option<u64>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// Receives a run's events. Every method has a default that ignores the event.
pub trait Sink {
    /// The run starts.
    fn begin(&mut self, _run: &RunInfo) -> io::Result<()> {
        Ok(())
    }
    /// An input was read (after its findings).
    fn input(&mut self, _input: &InputRecord) -> io::Result<()> {
        Ok(())
    }
    /// A finding, with its id.
    fn finding(&mut self, _finding: &Finding) -> io::Result<()> {
        Ok(())
    }
    /// A verdict, after every finding.
    fn verdict(&mut self, _verdict: &Verdict) -> io::Result<()> {
        Ok(())
    }
    /// An input that was skipped or not read in full, after the verdicts.
    fn problem(&mut self, _problem: &Problem) -> io::Result<()> {
        Ok(())
    }
    /// The end of the run.
    fn finish(&mut self, _totals: &RunTotals) -> io::Result<()> {
        Ok(())
    }
}

/// The `type: "problem"` record.
#[derive(Debug, Serialize)]
pub struct ProblemRecord<'p> {
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The kind of evidence the input was read as (null when it was not read at all).
    pub evidence_kind: Option<crate::model::EvidenceKind>,
    #[serde(flatten)]
    pub problem: &'p Problem,
}

/// The `type: "summary"` record.
#[derive(Debug, Serialize)]
pub struct SummaryRecord<'t> {
    #[serde(rename = "type")]
    pub kind: &'static str,
    #[serde(flatten)]
    pub totals: &'t RunTotals,
}
