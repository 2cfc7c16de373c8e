//! Sinks: where the results of a scan go. Each receives inputs (with their findings) in
//! input order, then the verdicts once at the end.

pub mod atomic;
mod csv_out;
pub mod iocs;
mod json_out;
mod records;
mod summary;

use std::io;

use serde::Serialize;

use crate::host::HostReport;
use crate::net::spread::{SpreadFinding, SpreadVerdict};
use crate::scan::InputReport;
use crate::source::Problem;
use crate::verdict::Verdict;

pub use csv_out::CsvSink;
pub use iocs::IocSink;
pub use json_out::{JsonSink, JsonlSink};
pub use records::RecordLine;
pub use summary::{SummaryOptions, SummarySink};

/// Totals of a run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RunTotals {
    pub inputs: u64,
    pub bytes: u64,
    pub lines: u64,
    pub findings: u64,
    /// Hosts swept and their findings (host evidence).
    pub hosts: u64,
    pub host_findings: u64,
    /// Sources found scanning port 80 (captures and connection tables).
    pub spreading: u64,
    pub problems: Vec<Problem>,
}

impl RunTotals {
    /// Adds one input's figures.
    pub fn add(&mut self, report: &InputReport) {
        self.inputs += 1;
        self.bytes += report.stats.bytes;
        self.lines += report.stats.lines;
        self.findings += report.findings.len() as u64;
        self.problems.extend(report.problems.iter().cloned());
    }
}

/// Receives a scan's results.
pub trait Sink {
    /// One input, after it was scanned.
    fn input(&mut self, report: &InputReport) -> io::Result<()>;
    /// One swept host, after the log inputs.
    fn host(&mut self, report: &HostReport) -> io::Result<()>;
    /// Outbound port-80 verdicts of captures and connection tables, after the hosts.
    fn spread(&mut self, findings: &[SpreadFinding], verdicts: &[SpreadVerdict]) -> io::Result<()>;
    /// The end of the run.
    fn finish(&mut self, verdicts: &[Verdict], totals: &RunTotals) -> io::Result<()>;
}

/// The `type: "input"` record: what was read, with its hash.
#[derive(Debug, Serialize)]
pub struct InputRecord<'r> {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub path: &'r str,
    pub sha256: Option<&'r str>,
    pub size: Option<u64>,
    pub compression: &'static str,
    pub format: Option<&'static str>,
    pub decompressed_bytes: u64,
    pub lines: u64,
    pub findings: usize,
}

impl<'r> InputRecord<'r> {
    /// The record for a scanned input.
    pub fn from_report(report: &'r InputReport) -> Self {
        InputRecord {
            kind: "input",
            path: &report.path,
            sha256: report.digest.as_ref().map(|d| d.sha256.as_str()),
            size: report.digest.as_ref().map(|d| d.size),
            compression: report.compression.name(),
            format: report
                .format
                .map(|f| f.name())
                .or(report.network.as_ref().map(|n| n.kind)),
            decompressed_bytes: report.stats.bytes,
            lines: report.stats.lines,
            findings: report.findings.len(),
        }
    }
}

/// The `type: "problem"` record.
#[derive(Debug, Serialize)]
pub struct ProblemRecord<'p> {
    #[serde(rename = "type")]
    pub kind: &'static str,
    #[serde(flatten)]
    pub problem: &'p Problem,
}
