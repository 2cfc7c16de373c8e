//! One large plain file scanned by several threads: the file is cut into chunks at line
//! starts, each chunk is scanned on its own, and the results are joined in file order with
//! line numbers and offsets made global, so the output is the same bytes as a one-thread scan.
//!
//! W3C logs carry state from line to line (the `#Fields` layout, the `#Date`). A chunk after
//! the first does not know the state in force at its start, so it keeps its candidate and
//! directive lines instead of parsing them; the join replays them in order with the state the
//! chunks before it left. Candidate lines are rare (the prefilter passes few), so the replay
//! is cheap; a chunk that would keep too much is scanned again once its start state is known.
//! The SHA-256 of the whole file is computed on its own thread meanwhile.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::ops::Range;
use std::os::unix::fs::FileExt;
use std::path::Path;

use rayon::prelude::*;

use super::lines::{detect_line, LineScanner, LineStats, Recording};
use super::{choose_format, InputReport, ScanOptions};
use crate::detect::{Detector, Prefilter};
use crate::finding::LinePosition;
use crate::model::Finding;
use crate::record::{LogFormat, Parser};
use crate::source::{
    describe_io, digest_of_file, open_read_only, Compression, Counted, Digest, HashChoice,
    Severity, Side,
};

/// Files smaller than this are scanned the usual way (the default of
/// [`ScanOptions::split_min_bytes`]).
pub const MIN_SPLIT_BYTES: u64 = 64 << 20;
/// Chunks per thread, so a slow chunk does not leave the other threads idle.
const CHUNKS_PER_THREAD: u64 = 4;
/// Bytes looked at to judge the file.
const HEAD_BYTES: usize = 64 * 1024;

/// What one chunk gave.
struct ChunkResult {
    range: Range<u64>,
    stats: LineStats,
    findings: Vec<Finding>,
    /// Recording chunks: their kept lines; direct chunks: None.
    recording: Option<Recording>,
    /// The parser's state at the chunk's end (direct chunks).
    parser: Parser,
    error: Option<io::Error>,
}

/// Scans `path` in chunks (in parallel when threads allow) when it is a large plain-text
/// log; None when it should be scanned the usual way.
pub fn scan_split(
    path: &Path,
    detector: &Detector,
    options: &ScanOptions,
    label: &str,
) -> Option<InputReport> {
    // A stat first: most inputs are small, and opening each one twice costs more.
    if std::fs::metadata(path).ok()?.len() < options.split_min_bytes.max(1) {
        return None;
    }
    let file = open_read_only(path).ok()?;
    let size = file.metadata().ok()?.len();
    let format = splittable_format(&file, detector, options)?;
    let min_chunk = (options.split_min_bytes / 4).max(1);
    let ranges = chunk_ranges(&file, size, options.threads as u64, min_chunk).ok()?;
    let mut report = InputReport::new(label.to_string());
    report.format = Some(format);
    let scan = || scan_chunks(path, &ranges, format, detector, options, label);
    let hash = || digest_of_file(&file, size);
    let (digest, parts) = if options.hash == HashChoice::None {
        let digest = Ok(Digest { sha256: None, size });
        (digest, scan())
    } else if options.threads > 1 {
        // The hash is one task among the chunks: a third thread on two cores ran slower.
        rayon::join(hash, scan)
    } else {
        // One worker still hashes on a thread of its own: SHA-256 of a large file costs
        // about as much as scanning it.
        std::thread::scope(|scope| {
            let hashing = scope.spawn(hash);
            let parts = scan();
            let digest = hashing
                .join()
                .unwrap_or_else(|_| Err(io::Error::other("hashing thread failed")));
            (digest, parts)
        })
    };
    join_chunks(parts, path, format, detector, options, &mut report);
    match digest {
        Ok(d) => report.digest = Some(d),
        Err(e) => {
            let detail = describe_io(&e);
            let reason = format!("cannot hash: {detail}");
            report.said(
                reason,
                Severity::Error,
                "problem-cannot-hash",
                &[("detail", detail)],
            );
        }
    }
    Some(report)
}

/// The format to scan a file as, if it can be split: plain (not compressed) text that is not
/// a capture or table; W3C only when the prefilter passes few lines (else replay would hold
/// the whole chunk).
fn splittable_format(file: &File, detector: &Detector, options: &ScanOptions) -> Option<LogFormat> {
    let mut head = vec![0; HEAD_BYTES];
    let n = file.read_at(&mut head, 0).ok()?;
    head.truncate(n);
    if Compression::sniff(&head) != Compression::None
        || super::network::sniff(&head, options).is_some()
    {
        return None;
    }
    let format = choose_format(&head, options)?;
    let stateful = Parser::for_format(format).wants_directives();
    (!stateful || matches!(detector.prefilter(), Prefilter::Atoms(_))).then_some(format)
}

/// Chunk ranges that start at line starts and cover the file.
fn chunk_ranges(
    file: &File,
    size: u64,
    threads: u64,
    min_chunk: u64,
) -> io::Result<Vec<Range<u64>>> {
    let count = (threads * CHUNKS_PER_THREAD).min(size / min_chunk).max(1);
    let nominal = size / count;
    let mut starts = vec![0u64];
    for i in 1..count {
        let from = (i * nominal).max(*starts.last().unwrap_or(&0));
        match next_line_start(file, from, size)? {
            Some(s) if s > *starts.last().unwrap_or(&0) && s < size => starts.push(s),
            _ => {}
        }
    }
    let mut ranges: Vec<Range<u64>> = starts.windows(2).map(|w| w[0]..w[1]).collect();
    ranges.push(*starts.last().unwrap_or(&0)..size);
    Ok(ranges)
}

/// Offset just after the first newline at or after `from` (None: no newline before `size`).
fn next_line_start(file: &File, from: u64, size: u64) -> io::Result<Option<u64>> {
    let mut buf = vec![0u8; 64 * 1024];
    let mut at = from;
    while at < size {
        let n = file.read_at(&mut buf, at)?;
        if n == 0 {
            break;
        }
        if let Some(i) = memchr::memchr(b'\n', &buf[..n]) {
            return Ok(Some(at + i as u64 + 1));
        }
        at += n as u64;
    }
    Ok(None)
}

fn scan_chunks(
    path: &Path,
    ranges: &[Range<u64>],
    format: LogFormat,
    detector: &Detector,
    options: &ScanOptions,
    label: &str,
) -> Vec<ChunkResult> {
    let stateful = Parser::for_format(format).wants_directives();
    ranges
        .par_iter()
        .enumerate()
        .map(|(i, range)| {
            let record = stateful && i > 0;
            scan_chunk(
                path,
                range.clone(),
                Parser::for_format(format),
                record,
                detector,
                options,
                label,
            )
        })
        .collect()
}

fn scan_chunk(
    path: &Path,
    range: Range<u64>,
    parser: Parser,
    record: bool,
    detector: &Detector,
    options: &ScanOptions,
    label: &str,
) -> ChunkResult {
    let ctx = options.parse_context();
    let mut scanner = LineScanner::new(detector, parser, ctx, label, options);
    // Half the split size: 32 MiB of kept lines by default.
    let limit = (options.split_min_bytes / 2) as usize;
    scanner.recording = record.then(|| Recording::with_limit(limit));
    let mut findings = Vec::new();
    let opened = open_read_only(path).and_then(|mut f| {
        f.seek(SeekFrom::Start(range.start))?;
        Ok(f)
    });
    let (stats, error) = match opened {
        Ok(f) => {
            let reader = f.take(range.end - range.start);
            let mut reader: Box<dyn Read> = match &options.progress {
                Some(p) => Box::new(Counted::new(reader, p.clone(), Side::Both)),
                None => Box::new(reader),
            };
            let (stats, result) = scanner.run(Vec::new(), &mut reader, &mut findings);
            (stats, result.err())
        }
        Err(e) => (LineStats::default(), Some(e)),
    };
    ChunkResult {
        range,
        stats,
        findings,
        recording: scanner.recording.take(),
        parser: scanner.parser,
        error,
    }
}

/// Joins chunk results in file order: line numbers and offsets made global, kept lines
/// replayed with the state the chunks before left, over-full chunks scanned again.
fn join_chunks(
    parts: Vec<ChunkResult>,
    path: &Path,
    format: LogFormat,
    detector: &Detector,
    options: &ScanOptions,
    report: &mut InputReport,
) {
    let ctx = options.parse_context();
    let mut parser = Parser::for_format(format);
    let mut lines_before = 0u64;
    for part in parts {
        let part = match &part.recording {
            Some(r) if r.overflowed => {
                let label = report.path.clone();
                scan_chunk(
                    path,
                    part.range,
                    parser.clone(),
                    false,
                    detector,
                    options,
                    &label,
                )
            }
            _ => part,
        };
        match part.recording {
            Some(recording) => {
                let mut hits = Vec::new();
                for kept in recording.lines {
                    let position = LinePosition {
                        path: &report.path,
                        line: kept.line + lines_before,
                        offset: kept.offset + part.range.start,
                    };
                    let (detector, all_hits) = (detector, options.all_hits);
                    detect_line(
                        detector,
                        &mut parser,
                        &ctx,
                        &kept.bytes,
                        position,
                        all_hits,
                        &mut hits,
                        &mut report.findings,
                    );
                }
            }
            None => {
                parser = part.parser;
                report
                    .findings
                    .extend(part.findings.into_iter().map(|mut f| {
                        if let Some(r) = f.request_mut() {
                            r.line += lines_before;
                            r.offset += part.range.start;
                        }
                        f
                    }));
            }
        }
        lines_before += part.stats.lines;
        report.stats.bytes += part.stats.bytes;
        report.stats.lines += part.stats.lines;
        report.stats.long_lines += part.stats.long_lines;
        if let Some(e) = part.error {
            let (at, detail) = (part.range.start + part.stats.bytes, describe_io(&e));
            let reason =
                format!("read error at byte {at} ({detail}); findings before that point are kept");
            let args = [("bytes", at.to_string()), ("detail", detail)];
            report.said(reason, Severity::Error, "problem-read-error-at", &args);
        }
    }
    report.note_long_lines(options.max_line);
}
