//! One byte range of a large plain log scanned on its own (`scan --partial --range`): the
//! map side of a file cut across machines, as [`super::split`] cuts one across threads.
//!
//! A range holds the lines that start inside it. Their numbers are counted from the range's
//! start: only the merge knows how many lines the ranges before it held. A W3C range cannot
//! know the `#Fields` layout in force at its start either, so it keeps its candidate and
//! directive lines instead of parsing them, and the merge replays them in file order, as
//! the local join does. Other formats give their findings at once.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};

use serde::{Deserialize, Serialize};

use super::lines::{LineScanner, LineStats, RecordedLine, Recording};
use super::split::{next_line_start, read_head_at, splittable_format_of};
use super::ScanOptions;
use crate::detect::Detector;
use crate::model::{Finding, FindingOut, Problem};
use crate::record::{LogFormat, Parser};
use crate::source::{describe_io, open_read_only, Input, Severity};

/// Kept lines a W3C range may carry to its merge: beyond, the range is refused with a
/// problem (candidate lines are rare; a file of nothing else should be scanned whole).
pub const MAX_KEPT_BYTES: usize = 64 << 20;

/// `--range START:END`: the lines that start at or after START and before END.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteRange {
    pub start: u64,
    pub end: u64,
}

impl ByteRange {
    /// Parses `START:END`.
    pub fn parse(text: &str) -> Result<ByteRange, String> {
        let (start, end) = text
            .split_once(':')
            .ok_or_else(|| format!("expected START:END, not {text:?}"))?;
        let number = |t: &str| {
            t.trim()
                .parse::<u64>()
                .map_err(|_| format!("not a byte offset: {t:?}"))
        };
        let range = ByteRange {
            start: number(start)?,
            end: number(end)?,
        };
        if range.end < range.start {
            return Err(format!("the range ends before it starts: {text}"));
        }
        Ok(range)
    }
}

/// What one range gave besides its findings (which went to `out` with range-relative line
/// numbers and file offsets).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RangeReport {
    /// The file's name in findings.
    pub path: String,
    /// Where the range's lines start and end in the file.
    pub start: u64,
    pub end: u64,
    /// The file's size, when the range was read from the file itself.
    pub size: Option<u64>,
    /// The format read as (None: the range could not be read as a log).
    pub format: Option<String>,
    pub stats: LineStats,
    /// W3C: candidate and directive lines, numbered from the range's start.
    pub kept: Option<Vec<RecordedLine>>,
    /// Findings counted past `--repeats`, lines numbered from the range's start (partial
    /// results of an older version have none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub repeats: Vec<super::repeats::Repeated>,
    #[serde(with = "crate::model::problems_whole")]
    pub problems: Vec<Problem>,
}

impl RangeReport {
    fn new(path: String, range: ByteRange) -> Self {
        RangeReport {
            path,
            start: range.start,
            end: range.end,
            size: None,
            format: None,
            stats: LineStats::default(),
            kept: None,
            repeats: Vec::new(),
            problems: Vec::new(),
        }
    }

    fn problem(&mut self, reason: String, key: &str, args: &[(&str, String)]) {
        let path = self.path.clone();
        let problem = Problem::said(path, reason, Severity::Error, key, args);
        self.problems.push(problem);
    }
}

/// Scans one range of `input`: a file (whose line starts it finds itself), or standard input
/// carrying the bytes from a line start at `range.start` (those up to the line start at
/// `range.end` are read).
/// `head` is the file's first bytes when the input cannot give them (standard input).
pub fn scan_range(
    input: &Input,
    range: ByteRange,
    head: Option<Vec<u8>>,
    detector: &Detector,
    options: &ScanOptions,
    out: &mut FindingOut<'_>,
) -> RangeReport {
    let mut report = RangeReport::new(input.label(), range);
    let opened = match input {
        Input::File(path) => open_read_only(path).and_then(|file| file_range(file, range)),
        // Standard input may carry the rest of the file (a file descriptor at START): only
        // the range's bytes are read.
        Input::Stdin(_) => Ok(Opened {
            reader: Box::new(io::stdin().take(range.end - range.start)),
            head: None,
            range,
            size: None,
        }),
    };
    let opened = match opened {
        Ok(o) => o,
        Err(e) => {
            let detail = describe_io(&e);
            report.problem(
                format!("cannot open: {detail}"),
                "problem-cannot-open",
                &[("detail", detail)],
            );
            return report;
        }
    };
    (report.start, report.end, report.size) = (opened.range.start, opened.range.end, opened.size);
    let mut reader = opened.reader;
    // Standard input from the file's start holds its own head.
    let stream_head = match (&opened.head, &head, report.start) {
        (None, None, 0) => {
            let mut first = Vec::new();
            if let Err(e) = (&mut reader)
                .take(super::SNIFF_BYTES as u64)
                .read_to_end(&mut first)
            {
                let detail = describe_io(&e);
                report.problem(
                    format!("cannot read: {detail}"),
                    "problem-cannot-read",
                    &[("detail", detail)],
                );
                return report;
            }
            Some(first)
        }
        _ => None,
    };
    let Some(head) = opened.head.or(head).or_else(|| stream_head.clone()) else {
        let reason = "a range after the first needs the file's first bytes (--head FILE)";
        report.problem(reason.into(), "problem-range-head", &[]);
        return report;
    };
    let Some(format) = splittable_format_of(&head, detector, options) else {
        let reason = "not a plain log that can be read in ranges: scan the file whole";
        report.problem(reason.into(), "problem-range-unsplittable", &[]);
        return report;
    };
    report.format = Some(format.name().to_string());
    let stream = (stream_head.unwrap_or_default(), reader);
    scan_lines(stream, format, detector, options, &mut report, out);
    if report.start + report.stats.bytes != report.end && opened.size.is_some() {
        let bytes = report.stats.bytes;
        let reason = format!("read {bytes} bytes of the range: the file ended early");
        report.problem(
            reason,
            "problem-range-short",
            &[("bytes", bytes.to_string())],
        );
    }
    report.end = report.start + report.stats.bytes;
    report
}

fn scan_lines(
    (first, mut reader): (Vec<u8>, Box<dyn Read>),
    format: LogFormat,
    detector: &Detector,
    options: &ScanOptions,
    report: &mut RangeReport,
    out: &mut FindingOut<'_>,
) {
    let parser = Parser::for_format(format);
    let stateful = parser.wants_directives();
    let label = report.path.clone();
    let ctx = options.parse_context();
    let mut scanner = LineScanner::new(detector, parser, ctx, &label, options);
    scanner.recording = stateful.then(|| Recording::with_limit(MAX_KEPT_BYTES));
    let start = report.start;
    let mut emit = |mut f: Finding| {
        if let Some(r) = f.request_mut() {
            r.offset += start;
        }
        out(f)
    };
    let (stats, result) = scanner.run(first, &mut reader, &mut emit);
    report.stats = stats;
    report.repeats = scanner.take_repeats();
    if let Some(recording) = scanner.recording.take() {
        if recording.overflowed {
            let reason = format!(
                "more than {MAX_KEPT_BYTES} bytes of candidate lines in one range: scan the file whole"
            );
            let args = [("bytes", MAX_KEPT_BYTES.to_string())];
            report.problem(reason, "problem-range-kept", &args);
        } else {
            report.kept = Some(recording.lines);
        }
    }
    if let Err(e) = result {
        let detail = describe_io(&e);
        let at = report.start + report.stats.bytes;
        let reason =
            format!("read error at byte {at} ({detail}); findings before that point are kept");
        let args = [("bytes", at.to_string()), ("detail", detail)];
        report.problem(reason, "problem-read-error-at", &args);
    }
}

/// A range opened for reading: its bytes, the file's head and size when known.
struct Opened {
    reader: Box<dyn Read>,
    head: Option<Vec<u8>>,
    range: ByteRange,
    size: Option<u64>,
}

/// The range of a file moved to line starts: the lines that start inside it.
fn file_range(mut file: File, range: ByteRange) -> io::Result<Opened> {
    let size = file.metadata()?.len();
    let start = line_start_at(&file, range.start, size)?;
    let end = line_start_at(&file, range.end, size)?.max(start);
    let head = read_head_at(&file)?;
    file.seek(SeekFrom::Start(start))?;
    Ok(Opened {
        reader: Box::new(file.take(end - start)),
        head: Some(head),
        range: ByteRange { start, end },
        size: Some(size),
    })
}

/// The first line start at or after `at` (the file's size when none is left).
fn line_start_at(file: &File, at: u64, size: u64) -> io::Result<u64> {
    use std::os::unix::fs::FileExt;
    if at == 0 || at >= size {
        return Ok(at.min(size));
    }
    let mut before = [0u8; 1];
    file.read_exact_at(&mut before, at - 1)?;
    if before[0] == b'\n' {
        return Ok(at);
    }
    Ok(next_line_start(file, at, size)?.unwrap_or(size))
}
