//! One large plain file scanned by several threads: the file is cut into chunks at line
//! starts, each chunk is scanned on its own, and the results are joined in file order with
//! line numbers and offsets made global, so the output is the same bytes as a one-thread scan.
//!
//! W3C logs carry state from line to line (the `#Fields` layout, the `#Date`). A chunk after
//! the first does not know the state in force at its start, so it keeps its candidate and
//! directive lines instead of parsing them; the join replays them in order with the state the
//! chunks before it left. Candidate lines are rare (the prefilter passes few), so the replay
//! is cheap; a chunk that would keep too much is scanned again once its start state is known.
//! When every line is a candidate (a rule without literals), the chunks are first searched
//! for their directive lines instead ([`super::directives`]), and each starts with the state
//! in force at its start. The SHA-256 of the whole file is computed on its own thread
//! meanwhile.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::ops::Range;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::Arc;

use super::directives::{last_directives, LastDirectives};
use super::lines::{replay_kept, LineScanner, LineStats, Recording};
use super::ordered::{self, Delivery};
use super::repeats::{FullKinds, Repeated};
use super::{choose_format, InputReport, ScanOptions};
use crate::detect::{Detector, Prefilter};
use crate::model::{Finding, FindingOut};
use crate::record::{LogFormat, Parser};
use crate::source::{
    describe_io, digest_of_file, open_read_only, Compression, Counted, Digest, HashChoice,
    Severity, Side,
};

/// Files smaller than this are scanned the usual way (the default of
/// [`ScanOptions::split_min_bytes`]).
pub const MIN_SPLIT_BYTES: u64 = 64 << 20;
/// A log where more than one line in this many is a candidate has its chunks' start states
/// searched for, not its candidate lines kept (see [`dense_candidates`]).
const DENSE_SHARE: usize = 16;
/// Chunks per thread, so a slow chunk does not leave the other threads idle.
const CHUNKS_PER_THREAD: u64 = 4;
/// Bytes looked at to judge the file.
const HEAD_BYTES: usize = 64 * 1024;

/// Work on a split file: its digest, or one chunk (with its index).
enum Task {
    Hash,
    Chunk(usize, Range<u64>),
}

/// What a task gave.
enum Done {
    Digest(io::Result<Digest>),
    Chunk(ChunkResult),
}

/// What one chunk gave besides the findings it handed on.
struct ChunkResult {
    range: Range<u64>,
    stats: LineStats,
    /// Recording chunks: their kept lines; direct chunks: None.
    recording: Option<Recording>,
    /// The parser's state at the chunk's end (direct chunks).
    parser: Parser,
    error: Option<io::Error>,
    /// Findings counted past `--repeats` (lines numbered from the chunk's start).
    repeats: Vec<Repeated>,
}

/// A file opened for reading, with its path and size.
pub struct WholeFile<'a> {
    /// Where the file is (chunks are opened again from it).
    pub path: &'a Path,
    /// The open file.
    pub file: &'a File,
    /// Its size when opened.
    pub size: u64,
}

/// Scans `path` in chunks (in parallel when threads allow) when it is a large plain-text
/// log, handing findings to `out` in file order; None when it should be scanned the usual
/// way.
pub fn scan_split(
    whole: WholeFile<'_>,
    detector: &Detector,
    options: &ScanOptions,
    label: &str,
    out: &mut FindingOut<'_>,
    full: &Arc<FullKinds>,
) -> Option<InputReport> {
    let WholeFile { path, file, size } = whole;
    if size < options.split_min_bytes.max(1) {
        return None;
    }
    let (format, replay) = splittable_format(file, detector, options)?;
    let min_chunk = (options.split_min_bytes / 4).max(1);
    let ranges = match (replay, options.threads) {
        // One thread gains nothing from chunks that need the directives searched first, but
        // one chunk still has the file hashed beside the scan, on its own reads.
        (false, 1) => std::iter::once(0..size).collect(),
        _ => chunk_ranges(file, size, options.threads as u64, min_chunk).ok()?,
    };
    let starts = match replay {
        true => None,
        // A read error here is met again, and reported, by the usual scan.
        false => Some(start_parsers(file, &ranges, format, options).ok()?),
    };
    let mut join = Join {
        path,
        label,
        format,
        detector,
        options,
        parser: Parser::for_format(format),
        lines_before: 0,
        report: InputReport::new(label.to_string()),
        full,
    };
    join.report.format = Some(format);
    join.report.windowed = options.window.is_set();
    let digest = if options.hash == HashChoice::None {
        join.scan_chunks(&ranges, starts.as_deref(), None, out);
        Ok(Digest { sha256: None, size })
    } else if options.threads > 1 {
        // SHA-256 of a large file costs about as much as scanning it: it is the first task
        // the workers take, so it runs beside the chunks without a thread of its own (a third
        // busy thread on two cores ran slower).
        join.scan_chunks(&ranges, starts.as_deref(), Some((file, size)), out)
            .unwrap_or_else(|| Err(io::Error::other("hashing failed")))
    } else {
        // One worker still hashes on a thread of its own.
        std::thread::scope(|scope| {
            let hashing = scope.spawn(|| digest_of_file(file, size));
            join.scan_chunks(&ranges, starts.as_deref(), None, out);
            hashing
                .join()
                .unwrap_or_else(|_| Err(io::Error::other("hashing thread failed")))
        })
    };
    let mut report = join.report;
    report.note_long_lines(options.max_line);
    report.note_nuls();
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

/// The format to scan a file as, if it can be split (plain text that is not a capture or
/// table), and whether its chunks keep their candidate lines for a replay. Where they cannot
/// (a W3C log with many candidate lines), the chunks' start states cost a search of the file
/// first, so one thread scans such a file as one chunk.
fn splittable_format(
    file: &File,
    detector: &Detector,
    options: &ScanOptions,
) -> Option<(LogFormat, bool)> {
    let head = read_head_at(file).ok()?;
    let format = plain_text_format(&head, options)?;
    let replay = replayable(format, detector)
        && (!Parser::for_format(format).wants_directives() || !dense_candidates(&head, detector));
    Some((format, replay))
}

/// Whether chunks after the first can keep their candidate lines for a replay with the state
/// the chunks before leave: the format has no state, or the prefilter passes few lines (else
/// a chunk would keep all of its lines).
fn replayable(format: LogFormat, detector: &Detector) -> bool {
    !Parser::for_format(format).wants_directives()
        || matches!(detector.prefilter(), Prefilter::Atoms(_))
}

/// Whether more than one line in [`DENSE_SHARE`] of the head may match a rule. The replay of
/// a chunk's kept lines runs on the joining thread, one chunk after another: for a log where
/// many lines are candidates (a worm's flood, rules with short literals) the search for
/// directives first, which lets every chunk judge its own lines, costs less.
fn dense_candidates(head: &[u8], detector: &Detector) -> bool {
    let complete = memchr::memrchr(b'\n', head).map_or(&head[..0], |last| &head[..last]);
    let (mut lines, mut candidates) = (0usize, 0usize);
    for line in complete.split(|&b| b == b'\n') {
        lines += 1;
        candidates += usize::from(line.first() != Some(&b'#') && detector.may_match(line));
    }
    candidates * DENSE_SHARE > lines
}

/// Each chunk's parser at its start: the directives found in the chunks before it applied in
/// order to a fresh parser. The chunks are searched on `-j` threads.
fn start_parsers(
    file: &File,
    ranges: &[Range<u64>],
    format: LogFormat,
    options: &ScanOptions,
) -> io::Result<Vec<Parser>> {
    let ctx = options.parse_context();
    let fresh = Parser::for_format(format);
    let mut parser = fresh.clone();
    let mut starts = vec![fresh.clone()];
    let before_last = &ranges[..ranges.len().saturating_sub(1)];
    let mut failed = None;
    ordered::in_order(
        before_last,
        options.threads,
        |range, _: &mut dyn FnMut(())| {
            last_directives(file, range.clone(), &fresh, options.max_line)
        },
        |_, delivery: Delivery<(), io::Result<LastDirectives>>| match delivery {
            Delivery::Done(Ok(last)) => {
                last.apply_to(&mut parser, &ctx);
                starts.push(parser.clone());
            }
            Delivery::Done(Err(e)) => failed = failed.take().or(Some(e)),
            Delivery::Lost => {
                failed = failed
                    .take()
                    .or(Some(io::Error::other("directive search failed")))
            }
            Delivery::Event(()) => {}
        },
    );
    match failed {
        Some(e) => Err(e),
        None => Ok(starts),
    }
}

/// The first bytes of a file, to judge it by.
pub(crate) fn read_head_at(file: &File) -> io::Result<Vec<u8>> {
    let mut head = vec![0; HEAD_BYTES];
    let n = file.read_at(&mut head, 0)?;
    head.truncate(n);
    Ok(head)
}

/// Whether a file with these first bytes can be cut into ranges that are scanned apart and
/// joined with replays ([`plain_text_format`], and [`replayable`]).
pub(crate) fn splittable_format_of(
    head: &[u8],
    detector: &Detector,
    options: &ScanOptions,
) -> Option<LogFormat> {
    plain_text_format(head, options).filter(|&format| replayable(format, detector))
}

/// The format of a file with these first bytes if it is plain (not compressed) text that is
/// not a capture, a connection table or host evidence.
fn plain_text_format(head: &[u8], options: &ScanOptions) -> Option<LogFormat> {
    let host_evidence = options.claim_host_evidence
        && crate::host::evidence::sniff(&head[..head.len().min(4096)], None).is_some();
    if Compression::sniff(head) != Compression::None
        || super::network::sniff(head, options).is_some()
        || host_evidence
    {
        return None;
    }
    choose_format(head, options)
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
pub(crate) fn next_line_start(file: &File, from: u64, size: u64) -> io::Result<Option<u64>> {
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

/// Joins chunk results in file order as they come: line numbers and offsets made global,
/// kept lines replayed with the state the chunks before left, over-full chunks scanned again.
struct Join<'a> {
    path: &'a Path,
    label: &'a str,
    format: LogFormat,
    detector: &'a Detector,
    options: &'a ScanOptions,
    /// The parser's state where the next chunk starts.
    parser: Parser,
    lines_before: u64,
    report: InputReport,
    /// The kinds the input's filter has filled (see [`FullKinds`]), which chunks count.
    full: &'a Arc<FullKinds>,
}

impl Join<'_> {
    /// Scans the chunks with `-j` threads, joining each as its turn comes; with `hash`, the
    /// file's digest is the first task, and is returned. With `starts` (each chunk's parser
    /// at its start) every chunk is scanned directly; without, the chunks of a stateful
    /// format after the first keep their candidate lines for a replay.
    fn scan_chunks(
        &mut self,
        ranges: &[Range<u64>],
        starts: Option<&[Parser]>,
        hash: Option<(&File, u64)>,
        out: &mut FindingOut<'_>,
    ) -> Option<io::Result<Digest>> {
        let stateful = Parser::for_format(self.format).wants_directives();
        let mut tasks: Vec<Task> = hash.iter().map(|_| Task::Hash).collect();
        tasks.extend(
            ranges
                .iter()
                .cloned()
                .enumerate()
                .map(|(i, r)| Task::Chunk(i, r)),
        );
        let (path, label, format) = (self.path, self.label, self.format);
        let (detector, options, full) = (self.detector, self.options, self.full);
        let mut digest = None;
        ordered::in_order(
            &tasks,
            options.threads,
            |task, emit| match task {
                Task::Hash => {
                    let (file, size) = hash.expect("a hash task only when hashing");
                    Done::Digest(digest_of_file(file, size))
                }
                Task::Chunk(i, range) => {
                    let (parser, record) = match starts {
                        Some(starts) => (starts[*i].clone(), false),
                        None => (Parser::for_format(format), stateful && *i > 0),
                    };
                    let part = scan_chunk(
                        (path, range.clone()),
                        parser,
                        record,
                        (detector, options, full),
                        label,
                        emit,
                    );
                    Done::Chunk(part)
                }
            },
            |i, delivery| match (delivery, &tasks[i]) {
                (Delivery::Event(finding), Task::Chunk(_, range)) => {
                    out(self.globally(finding, range.start))
                }
                (Delivery::Done(Done::Chunk(part)), _) => self.join(part, out),
                (Delivery::Done(Done::Digest(d)), _) => digest = Some(d),
                (Delivery::Lost, Task::Chunk(_, range)) => {
                    let at = range.start;
                    let reason = format!("an internal error stopped the reading at byte {at}");
                    let args = [("bytes", at.to_string())];
                    self.report
                        .said(reason, Severity::Error, "problem-internal-at", &args);
                }
                (Delivery::Event(_) | Delivery::Lost, Task::Hash) => {}
            },
        );
        digest
    }

    /// A direct chunk's finding, numbered from the file's start.
    fn globally(&self, mut finding: Finding, chunk_start: u64) -> Finding {
        if let Some(r) = finding.request_mut() {
            r.line += self.lines_before;
            r.offset += chunk_start;
        }
        finding
    }

    fn join(&mut self, part: ChunkResult, out: &mut FindingOut<'_>) {
        let part = match &part.recording {
            Some(r) if r.overflowed => {
                let start = part.range.start;
                let mut emit = |f: Finding| out(self.globally(f, start));
                let parser = self.parser.clone();
                let (path, label) = (self.path, self.label);
                let rules = (self.detector, self.options, self.full);
                scan_chunk((path, part.range), parser, false, rules, label, &mut emit)
            }
            _ => part,
        };
        match part.recording {
            Some(recording) => self.replay(recording, part.range.start, out),
            None => self.parser = part.parser,
        }
        let report = &mut self.report;
        for mut repeated in part.repeats {
            repeated.shift_lines(self.lines_before);
            report.repeats.push(repeated);
        }
        self.lines_before += part.stats.lines;
        report.stats.add(&part.stats);
        if let Some(e) = part.error {
            let (at, detail) = (part.range.start + part.stats.bytes, describe_io(&e));
            let reason =
                format!("read error at byte {at} ({detail}); findings before that point are kept");
            let args = [("bytes", at.to_string()), ("detail", detail)];
            report.said(reason, Severity::Error, "problem-read-error-at", &args);
        }
    }

    /// Runs a recording chunk's kept lines with the state the chunks before it left.
    fn replay(&mut self, recording: Recording, chunk_start: u64, out: &mut FindingOut<'_>) {
        replay_kept(
            recording.lines,
            &mut self.parser,
            (self.detector, self.options),
            (self.label, self.lines_before, chunk_start),
            &mut self.report.stats,
            out,
        );
    }
}

fn scan_chunk(
    (path, range): (&Path, Range<u64>),
    parser: Parser,
    record: bool,
    (detector, options, full): (&Detector, &ScanOptions, &Arc<FullKinds>),
    label: &str,
    out: &mut FindingOut<'_>,
) -> ChunkResult {
    let ctx = options.parse_context();
    let mut scanner = LineScanner::new(detector, parser, ctx, label, options);
    scanner.count_kinds_filled_in(full.clone());
    // Half the split size (32 MiB of kept lines by default), and never more than 32 MiB: a
    // chunk that keeps more is scanned again once its start state is known.
    let limit = ((options.split_min_bytes / 2) as usize).min(32 << 20);
    scanner.recording = record.then(|| Recording::with_limit(limit));
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
            let (stats, result) = scanner.run(Vec::new(), &mut reader, out);
            (stats, result.err())
        }
        Err(e) => (LineStats::default(), Some(e)),
    };
    ChunkResult {
        range,
        stats,
        recording: scanner.recording.take(),
        repeats: scanner.take_repeats(),
        parser: scanner.parser,
        error,
    }
}
