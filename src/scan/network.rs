//! The network inputs of a scan: packet captures and saved connection tables, found by their
//! first bytes and read by [`crate::net`].

use std::io::{self, Read};

use super::{InputReport, ScanOptions};
use crate::detect::Detector;
use crate::model::FindingOut;
use crate::net::capture::{scan_capture, CaptureKind, CaptureOptions};
use crate::net::netstat;
use crate::net::spread::{SpreadOptions, Subject, Tally};
use crate::net::{host_from_path, netstat_tallies, MAX_LOCAL_ADDRESSES};
use crate::record::FormatGuess;
use crate::source::Severity;

/// What a network input gave besides findings.
#[derive(Debug, Clone, Default)]
pub struct NetworkInput {
    /// `pcap`, `pcapng`, `netstat-windows`, `netstat-linux`, `netstat-bsd` or `ss`.
    pub kind: &'static str,
    /// The host a table was taken on.
    pub host: Option<String>,
    /// Frames (captures) or TCP rows (tables).
    pub units: u64,
    /// Reassembled request heads (captures).
    pub requests: u64,
    pub tallies: Vec<(Subject, Tally)>,
}

/// Largest connection table read (larger input is cut, with a problem): a real table is a
/// few kilobytes, and the bytes and their decoded text are held together while it is read.
pub(crate) const MAX_TABLE: u64 = 64 << 20;

/// The kind of network evidence `head` starts, if any.
pub enum NetworkKind {
    Capture(CaptureKind),
    Table,
}

/// Recognises a capture by its magic, a table by its header or rows.
pub fn sniff(head: &[u8], options: &ScanOptions) -> Option<NetworkKind> {
    sniff_after(head, options, None)
}

/// [`sniff`] when the log format `head` looks like is known already: lines of a format that
/// cannot be a connection table's skip the table test (on folders of many small logs it
/// cost as much as detecting the format).
pub fn sniff_after(
    head: &[u8],
    options: &ScanOptions,
    guess: Option<FormatGuess>,
) -> Option<NetworkKind> {
    if let Some(kind) = CaptureKind::sniff(head) {
        return Some(NetworkKind::Capture(kind));
    }
    let surely_log = matches!(guess, Some(FormatGuess::Log(f)) if f.excludes_tables());
    (options.format_hint.is_none() && !surely_log && netstat::looks_like_netstat(head))
        .then_some(NetworkKind::Table)
}

/// Reads a capture to its end.
pub fn scan_capture_input(
    head: Vec<u8>,
    reader: &mut (dyn Read + Send),
    kind: CaptureKind,
    detector: &Detector,
    options: &ScanOptions,
    report: &mut InputReport,
    out: &mut FindingOut<'_>,
) {
    let mut counted = CountingReader {
        inner: head.as_slice().chain(reader),
        bytes: 0,
    };
    let spreading = detector.spreading();
    let capture_options = CaptureOptions {
        window_secs: SpreadOptions::of(spreading, None, options.spread_window_secs).window_secs,
        spreading: spreading.cloned(),
        all_hits: options.all_hits,
        window: options.window,
        client: options.client.clone(),
        ..CaptureOptions::default()
    };
    let got = scan_capture(
        &mut counted,
        kind,
        detector,
        &report.path,
        capture_options,
        out,
    );
    report.stats.bytes = counted.bytes;
    report.stats.lines = got.frames;
    report.stats.outside_window = got.outside_window;
    report.windowed = options.window.is_set();
    if let Some(e) = got.error {
        let reason = format!("{e}; findings before that point are kept");
        let args = [("detail", e.to_string())];
        report.said(reason, Severity::Error, "problem-capture-damaged", &args);
    }
    if got.evicted_flows + got.cut_heads > 0 {
        let reason = format!(
            "memory limits: {} flow(s) closed early, {} request head(s) cut",
            got.evicted_flows, got.cut_heads
        );
        let args = [
            ("flows", got.evicted_flows.to_string()),
            ("heads", got.cut_heads.to_string()),
        ];
        report.said(reason, Severity::Skipped, "problem-capture-limits", &args);
    }
    if detector.spreading().is_none() {
        no_spreading_rule(report);
    }
    report.network = Some(NetworkInput {
        kind: kind.name(),
        host: None,
        units: got.frames,
        requests: got.requests,
        tallies: got.tallies,
    });
}

/// Reads a saved connection table.
pub fn scan_table_input(
    head: Vec<u8>,
    reader: &mut (dyn Read + Send),
    detector: &Detector,
    options: &ScanOptions,
    report: &mut InputReport,
) -> io::Result<()> {
    let mut bytes = head;
    reader.take(MAX_TABLE).read_to_end(&mut bytes)?;
    report.stats.bytes = bytes.len() as u64;
    if bytes.len() as u64 >= MAX_TABLE {
        let reason = format!("connection table cut at {MAX_TABLE} bytes");
        let args = [("bytes", MAX_TABLE.to_string())];
        report.said(reason, Severity::Skipped, "problem-table-cut", &args);
    }
    let text = netstat::decode_owned(bytes);
    let host = options
        .host_names
        .get(&report.path)
        .cloned()
        .unwrap_or_else(|| host_from_path(&report.path));
    report.stats.lines = line_count(&text);
    let got = netstat_tallies(&text, &host, detector.spreading());
    if detector.spreading().is_none() {
        no_spreading_rule(report);
    }
    if got.table.unreadable_rows > 0 {
        let reason = format!(
            "{} TCP row(s) not read (names instead of numbers: save `netstat -an`)",
            got.table.unreadable_rows
        );
        let args = [("count", got.table.unreadable_rows.to_string())];
        report.said(reason, Severity::Skipped, "problem-table-rows", &args);
    }
    if got.table.rows + got.table.other_rows + got.table.unreadable_rows == 0 {
        let reason = "no row of the connection table was understood".to_string();
        report.said(reason, Severity::Skipped, "problem-table-no-rows", &[]);
    }
    if got.rows_past_limit > 0 {
        let reason = format!(
            "{} row(s) not tallied: the table has more than {MAX_LOCAL_ADDRESSES} local addresses",
            got.rows_past_limit
        );
        let args = [
            ("count", got.rows_past_limit.to_string()),
            ("max", MAX_LOCAL_ADDRESSES.to_string()),
        ];
        report.said(reason, Severity::Skipped, "problem-table-addresses", &args);
    }
    report.network = Some(NetworkInput {
        kind: got.table.dialect.map_or("netstat", |d| d.name()),
        units: got.table.rows,
        requests: 0,
        tallies: got.tallies,
        host: Some(host),
    });
    Ok(())
}

/// Lines of a text, as `str::lines` counts them.
fn line_count(text: &str) -> u64 {
    let breaks = memchr::memchr_iter(b'\n', text.as_bytes()).count() as u64;
    breaks + u64::from(!text.is_empty() && !text.ends_with('\n'))
}

/// Says that connections were not counted (`--no-builtin` without a spreading correlation,
/// or one dropped by `--min-level`): the input is not clean, only not judged for spreading.
fn no_spreading_rule(report: &mut InputReport) {
    let reason = "no spreading correlation is loaded: connections were not counted".to_string();
    report.said(reason, Severity::Skipped, "problem-no-spreading-rule", &[]);
}

/// Counts the bytes a capture reader takes.
struct CountingReader<R> {
    inner: R,
    bytes: u64,
}

impl<R: Read> Read for CountingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.bytes += n as u64;
        Ok(n)
    }
}
