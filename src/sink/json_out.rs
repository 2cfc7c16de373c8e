//! JSON Lines and JSON documents.

use std::io::{self, Write};

use super::{InputRecord, ProblemRecord, RunTotals, Sink};
use crate::host::HostReport;
use crate::net::spread::{SpreadFinding, SpreadVerdict};
use crate::scan::InputReport;
use crate::verdict::Verdict;

/// Keeps the kind of I/O errors (a closed pipe stays `BrokenPipe`).
fn to_io(e: serde_json::Error) -> io::Error {
    io::Error::from(e)
}

/// One JSON object per line: each input's findings then its `input` record, then the
/// verdicts, the problems and a closing `summary`.
pub struct JsonlSink<W: Write> {
    out: W,
}

impl<W: Write> JsonlSink<W> {
    /// Writes to `out`.
    pub fn new(out: W) -> Self {
        JsonlSink { out }
    }

    fn line<T: serde::Serialize>(&mut self, value: &T) -> io::Result<()> {
        serde_json::to_writer(&mut self.out, value).map_err(to_io)?;
        self.out.write_all(b"\n")
    }
}

impl<W: Write> Sink for JsonlSink<W> {
    fn input(&mut self, report: &InputReport) -> io::Result<()> {
        for finding in &report.findings {
            self.line(finding)?;
        }
        self.line(&InputRecord::from_report(report))
    }

    fn host(&mut self, report: &HostReport) -> io::Result<()> {
        for finding in &report.findings {
            self.line(finding)?;
        }
        for input in &report.inputs {
            self.line(input)?;
        }
        self.line(&report.verdict)
    }

    fn spread(&mut self, findings: &[SpreadFinding], verdicts: &[SpreadVerdict]) -> io::Result<()> {
        for finding in findings {
            self.line(finding)?;
        }
        for verdict in verdicts {
            self.line(verdict)?;
        }
        Ok(())
    }

    fn finish(&mut self, verdicts: &[Verdict], totals: &RunTotals) -> io::Result<()> {
        for verdict in verdicts {
            self.line(verdict)?;
        }
        for problem in &totals.problems {
            self.line(&ProblemRecord {
                kind: "problem",
                problem,
            })?;
        }
        self.line(&serde_json::json!({
            "type": "summary",
            "inputs": totals.inputs,
            "bytes": totals.bytes,
            "lines": totals.lines,
            "findings": totals.findings,
            "hosts": totals.hosts,
            "host_findings": totals.host_findings,
            "spreading": totals.spreading,
            "problems": totals.problems.len(),
        }))?;
        self.out.flush()
    }
}

/// One JSON document: `{"findings": [...], "inputs": [...], "verdicts": [...], "problems": [...], "summary": {...}}`.
/// Findings are streamed; the small lists are kept until the end.
pub struct JsonSink<W: Write> {
    out: W,
    inputs: Vec<serde_json::Value>,
    host_verdicts: Vec<serde_json::Value>,
    wrote_finding: bool,
    started: bool,
}

impl<W: Write> JsonSink<W> {
    /// Writes to `out`.
    pub fn new(out: W) -> Self {
        JsonSink {
            out,
            inputs: Vec::new(),
            host_verdicts: Vec::new(),
            wrote_finding: false,
            started: false,
        }
    }

    fn finding<T: serde::Serialize>(&mut self, finding: &T) -> io::Result<()> {
        self.start()?;
        if self.wrote_finding {
            self.out.write_all(b",")?;
        }
        serde_json::to_writer(&mut self.out, finding).map_err(to_io)?;
        self.wrote_finding = true;
        Ok(())
    }

    fn start(&mut self) -> io::Result<()> {
        if !self.started {
            self.out.write_all(b"{\"findings\":[")?;
            self.started = true;
        }
        Ok(())
    }
}

impl<W: Write> Sink for JsonSink<W> {
    fn input(&mut self, report: &InputReport) -> io::Result<()> {
        for finding in &report.findings {
            self.finding(finding)?;
        }
        self.inputs
            .push(serde_json::to_value(InputRecord::from_report(report)).map_err(to_io)?);
        Ok(())
    }

    fn host(&mut self, report: &HostReport) -> io::Result<()> {
        for finding in &report.findings {
            self.finding(finding)?;
        }
        for input in &report.inputs {
            self.inputs
                .push(serde_json::to_value(input).map_err(to_io)?);
        }
        self.host_verdicts
            .push(serde_json::to_value(&report.verdict).map_err(to_io)?);
        Ok(())
    }

    fn spread(&mut self, findings: &[SpreadFinding], verdicts: &[SpreadVerdict]) -> io::Result<()> {
        for finding in findings {
            self.finding(finding)?;
        }
        for verdict in verdicts {
            self.host_verdicts
                .push(serde_json::to_value(verdict).map_err(to_io)?);
        }
        Ok(())
    }

    fn finish(&mut self, verdicts: &[Verdict], totals: &RunTotals) -> io::Result<()> {
        self.start()?;
        let problems: Vec<ProblemRecord> = totals
            .problems
            .iter()
            .map(|problem| ProblemRecord {
                kind: "problem",
                problem,
            })
            .collect();
        let mut verdicts_json = serde_json::to_value(verdicts).map_err(to_io)?;
        if let Some(list) = verdicts_json.as_array_mut() {
            list.append(&mut self.host_verdicts);
        }
        let rest = serde_json::json!({
            "inputs": self.inputs,
            "verdicts": verdicts_json,
            "problems": problems,
            "summary": {"inputs": totals.inputs, "bytes": totals.bytes, "lines": totals.lines, "findings": totals.findings, "hosts": totals.hosts, "host_findings": totals.host_findings, "spreading": totals.spreading},
        });
        let text = serde_json::to_string(&rest).map_err(to_io)?;
        // Splice the remaining keys after the findings array: `],` + the object without its `{`.
        writeln!(self.out, "],{}", &text[1..])?;
        self.out.flush()
    }
}
