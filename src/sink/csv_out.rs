//! CSV: one row per finding (verdicts and inputs are in the JSON outputs). Columns are only
//! ever added at the end, so readers that go by position keep working.

use std::io::{self, Write};

use super::{RunTotals, Sink};
use crate::host::HostReport;
use crate::net::spread::{SpreadFinding, SpreadVerdict};
use crate::scan::InputReport;
use crate::verdict::Verdict;

const HEADER: [&str; 21] = [
    "family",
    "rule_id",
    "rule_title",
    "level",
    "confidence",
    "path",
    "line",
    "offset",
    "format",
    "time",
    "client_ip",
    "server",
    "method",
    "uri",
    "status",
    "exposure",
    "evidence",
    "evidence_kind",
    "client_port",
    "server_port",
    "flow",
];

/// Writes findings as CSV rows under a header.
pub struct CsvSink<W: Write> {
    out: csv::Writer<W>,
    wrote_header: bool,
}

impl<W: Write> CsvSink<W> {
    /// Writes to `out`.
    pub fn new(out: W) -> Self {
        CsvSink {
            out: csv::Writer::from_writer(out),
            wrote_header: false,
        }
    }

    fn header(&mut self) -> io::Result<()> {
        if !self.wrote_header {
            self.out.write_record(HEADER)?;
            self.wrote_header = true;
        }
        Ok(())
    }
}

impl<W: Write> Sink for CsvSink<W> {
    fn input(&mut self, report: &InputReport) -> io::Result<()> {
        self.header()?;
        for f in &report.findings {
            let opt = |v: &Option<String>| v.clone().unwrap_or_default();
            self.out.write_record([
                f.family.clone(),
                f.rule_id.clone(),
                f.rule_title.clone(),
                f.level.to_string(),
                f.confidence.clone(),
                f.path.clone(),
                f.line.to_string(),
                f.offset.to_string(),
                f.format.to_string(),
                opt(&f.time),
                opt(&f.client_ip),
                opt(&f.server),
                opt(&f.method),
                opt(&f.uri),
                opt(&f.status),
                f.exposure.map(|e| e.name().to_string()).unwrap_or_default(),
                f.evidence.clone(),
                f.evidence_kind.to_string(),
                f.client_port.map(|p| p.to_string()).unwrap_or_default(),
                f.server_port.map(|p| p.to_string()).unwrap_or_default(),
                opt(&f.flow),
            ])?;
        }
        Ok(())
    }

    fn host(&mut self, report: &HostReport) -> io::Result<()> {
        self.header()?;
        for f in &report.findings {
            let mut row = vec![String::new(); HEADER.len()];
            row[0] = f.family.to_string();
            row[1] = f.check.to_string();
            row[2] = f.why.clone();
            row[3] = f.level.to_string();
            row[4] = f.confidence.to_string();
            row[5] = f.location.clone();
            row[8] = "host".to_string();
            row[17] = "host".to_string();
            row[11] = f.host.clone();
            row[16] = f.observed.clone();
            self.out.write_record(&row)?;
        }
        Ok(())
    }

    fn spread(&mut self, findings: &[SpreadFinding], _: &[SpreadVerdict]) -> io::Result<()> {
        self.header()?;
        for f in findings {
            let mut row = vec![String::new(); HEADER.len()];
            row[0] = f.family.to_string();
            row[1] = f.rule_id.to_string();
            row[2] = "Outbound port-80 scanning".to_string();
            row[3] = f.level.to_string();
            row[4] = f.confidence.to_string();
            row[5] = f.paths.join(" ");
            row[8] = "network".to_string();
            row[17] = "network".to_string();
            row[10] = f.subject.clone();
            row[11] = f.host.clone().unwrap_or_default();
            row[16] = f.evidence.clone();
            self.out.write_record(&row)?;
        }
        Ok(())
    }

    fn finish(&mut self, _: &[Verdict], _: &RunTotals) -> io::Result<()> {
        self.header()?;
        self.out.flush()
    }
}
