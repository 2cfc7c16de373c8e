//! CSV: one row per finding of every kind, filled by column name. Columns are only ever added
//! at the end, so readers that go by position keep working.

use std::io::{self, Write};

use super::{RunTotals, Sink};
use crate::i18n::{Lang, Messages};
use crate::model::{Evidence, Finding};

/// The columns, in order.
pub const HEADER: [&str; 24] = [
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
    "peer_ip",
    "forwarded_for",
    "id",
];

/// The value of `column` for a finding (empty where it does not apply). Host traces put the
/// check's reason in `rule_title`, the place in `path` and the host in `server`; scans put
/// the scanning address in `client_ip`, as the log findings of the same kind do.
pub fn cell(f: &Finding, column: &str, en: &Messages) -> String {
    let opt = |v: Option<&String>| v.cloned().unwrap_or_default();
    let common = match column {
        "family" => Some(f.family.clone()),
        "rule_id" => Some(f.rule_id.clone()),
        "level" => Some(f.level.name().to_string()),
        "confidence" => Some(f.confidence.name().to_string()),
        "time" => Some(f.time.map(|t| t.rfc3339()).unwrap_or_default()),
        "evidence_kind" => Some(f.evidence_kind().name().to_string()),
        "id" => Some(f.id.to_string()),
        _ => None,
    };
    if let Some(value) = common {
        return value;
    }
    match &f.evidence {
        Evidence::Request(r) => match column {
            "rule_title" => f.rule_title.clone(),
            "path" => f.path.clone(),
            "line" => r.line.to_string(),
            "offset" => r.offset.to_string(),
            "format" => r.format.to_string(),
            "client_ip" => r.client_ip.map(|ip| ip.to_string()).unwrap_or_default(),
            "peer_ip" => r
                .proxy
                .as_ref()
                .and_then(|p| p.peer_ip)
                .map(|ip| ip.to_string())
                .unwrap_or_default(),
            "forwarded_for" => r
                .proxy
                .as_ref()
                .map(|p| p.forwarded_for.clone())
                .unwrap_or_default(),
            "server" => opt(r.server.as_ref()),
            "method" => opt(r.method.as_ref()),
            "uri" => opt(r.uri.as_ref()),
            "status" => opt(r.status.as_ref()),
            "exposure" => r.exposure.map(|e| e.name().to_string()).unwrap_or_default(),
            "evidence" => r.text.clone(),
            "client_port" => r
                .wire
                .as_ref()
                .map(|w| w.client_port.to_string())
                .unwrap_or_default(),
            "server_port" => r
                .wire
                .as_ref()
                .map(|w| w.server_port.to_string())
                .unwrap_or_default(),
            "flow" => r.wire.as_ref().map(|w| w.flow.clone()).unwrap_or_default(),
            _ => String::new(),
        },
        Evidence::Trace(t) => match column {
            "rule_title" => en.text(&format!("why-{}", t.check)),
            "path" => t.location.clone(),
            "format" => "host".to_string(),
            "server" => t.host.clone(),
            "evidence" => t.observed.clone(),
            _ => String::new(),
        },
        Evidence::Correlation(c) => match column {
            "rule_title" => f.rule_title.clone(),
            "path" => f.path.clone(),
            "format" => "correlation".to_string(),
            "evidence" => c.text.clone(),
            _ => String::new(),
        },
        Evidence::Scan(s) => match column {
            "rule_title" => f.rule_title.clone(),
            "path" => s.paths.join(" "),
            "format" => "network".to_string(),
            "client_ip" => s.subject.to_string(),
            "server" => s.host.clone().unwrap_or_default(),
            "evidence" => s.text.clone(),
            _ => String::new(),
        },
    }
}

/// A CSV error as the I/O error it is, so a closed pipe stays `BrokenPipe` (and ends the run
/// quietly, as with the other formats).
fn io_error(e: csv::Error) -> io::Error {
    match e.into_kind() {
        csv::ErrorKind::Io(e) => e,
        other => io::Error::other(format!("{other:?}")),
    }
}

/// Writes findings as CSV rows under a header.
pub struct CsvSink<W: Write> {
    out: csv::Writer<W>,
    en: Messages,
    wrote_header: bool,
}

impl<W: Write> CsvSink<W> {
    /// Writes to `out`.
    pub fn new(out: W) -> Self {
        CsvSink {
            out: csv::WriterBuilder::new()
                .quote_style(csv::QuoteStyle::Always)
                .from_writer(out),
            en: Messages::new(Lang::En),
            wrote_header: false,
        }
    }

    fn header(&mut self) -> io::Result<()> {
        if !self.wrote_header {
            self.out.write_record(HEADER).map_err(io_error)?;
            self.wrote_header = true;
        }
        Ok(())
    }
}

impl<W: Write> Sink for CsvSink<W> {
    fn finding(&mut self, f: &Finding) -> io::Result<()> {
        self.header()?;
        let row: Vec<String> = HEADER
            .iter()
            .map(|c| super::escape::csv_cell(cell(f, c, &self.en)))
            .collect();
        self.out.write_record(&row).map_err(io_error)?;
        Ok(())
    }

    fn finish(&mut self, _: &RunTotals) -> io::Result<()> {
        self.header()?;
        self.out.flush()
    }
}
