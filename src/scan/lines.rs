//! The line loop: large reads, the prefilter over whole buffers, and only candidate lines
//! parsed. Line numbers count every physical line; lines longer than the cap are evaluated
//! on their first `max_line` bytes and the rest is counted, not kept.

use std::io::{self, Read};
use std::sync::Arc;

use super::repeats::{count_into, key_part, RepeatFilter, Repeated, Seen};
use super::ScanOptions;
use crate::detect::memo::{RawAnswers, RawLookup, RuleMemo};
use crate::detect::{AtomHit, Detector, Prefilter};
use crate::finding::{request_finding, LinePosition};
use crate::model::{FindingOut, TimeWindow, WindowCheck};
use crate::record::{ParseContext, Parser, Record};
use crate::source::aligned::{round_to_page, AlignedBuffer};

/// Bytes asked of each `read`.
const READ_SIZE: usize = 1 << 17;

/// Figures about one scanned input.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LineStats {
    /// Physical lines (a last line without newline counts).
    pub lines: u64,
    /// Decompressed bytes.
    pub bytes: u64,
    /// Lines longer than the cap.
    pub long_lines: u64,
    /// NULs in blocks of four or more (a crash left that part of the log unwritten), and the
    /// blocks.
    pub nul_bytes: u64,
    pub nul_blocks: u64,
    /// With `--since`/`--until`: lines the prefilter passed whose time fell outside the
    /// window (not checked), and those with no time (checked).
    pub outside_window: u64,
    pub untimed: u64,
}

impl LineStats {
    /// Adds the figures of a later part of the same input (a chunk or a range).
    pub fn add(&mut self, part: &LineStats) {
        self.lines += part.lines;
        self.bytes += part.bytes;
        self.long_lines += part.long_lines;
        self.nul_bytes += part.nul_bytes;
        self.nul_blocks += part.nul_blocks;
        self.outside_window += part.outside_window;
        self.untimed += part.untimed;
    }

    /// Counts where a checked line's time fell.
    pub fn count_window(&mut self, check: WindowCheck) {
        match check {
            WindowCheck::Inside => {}
            WindowCheck::Outside => self.outside_window += 1,
            WindowCheck::Untimed => self.untimed += 1,
        }
    }
}

/// Everything the loop needs besides the bytes.
pub struct LineScanner<'d> {
    pub detector: &'d Detector,
    pub parser: Parser,
    pub ctx: ParseContext<'d>,
    pub path: &'d str,
    pub max_line: usize,
    /// Report every rule that hit a line, not only the most specific built-in family.
    pub all_hits: bool,
    /// Times kept (`--since`/`--until`).
    pub window: TimeWindow,
    /// Where the times of checked lines fell.
    window_counts: LineStats,
    /// When set, candidate and directive lines are kept for later instead of parsed: a
    /// chunk in the middle of a W3C file does not know the `#Fields` layout in force.
    pub recording: Option<Recording>,
    /// NUL blocks met so far: bytes and blocks.
    nuls: (u64, u64),
    /// Lines cut to `max_line` before they were checked (lines that fit in one read).
    cut_lines: u64,
    /// The rules that hit the line being checked, and the count of findings per kind.
    scratch: LineScratch,
}

/// What [`detect_line`] keeps from line to line: the rules that hit the line being checked
/// (kept to spare an allocation per line), and the count of findings per kind
/// (`--repeats`).
#[derive(Debug, Default)]
pub struct LineScratch {
    hits: Vec<usize>,
    /// The rules' answers for values already judged.
    memo: RuleMemo,
    /// The rules' answers by the raw bytes of lines.
    raw_answers: RawAnswers,
    repeats: RepeatFilter,
    last: LastLine,
}

/// What the line checked last gave, when all of it was counted and nothing written: the
/// same bytes again give the same, and are counted without a search or a parse.
#[derive(Debug, Default)]
struct LastLine {
    counted: bool,
    /// The kinds of its findings, one after the other, and where each ends.
    keys: Vec<u8>,
    key_ends: Vec<usize>,
    time: Option<crate::model::Timestamp>,
    check: WindowCheck,
}

impl LastLine {
    /// Notes a line that matched no rule and had no time to check: the same bytes again count
    /// as it did, for nothing.
    fn count_as_quiet(&mut self) {
        self.counted = true;
        self.time = None;
        self.check = WindowCheck::Inside;
        self.keys.clear();
        self.key_ends.clear();
    }
}

impl LineScratch {
    /// Scratch whose filter writes `repeats` findings of each kind (0: all).
    pub fn new(repeats: u64) -> Self {
        LineScratch {
            hits: Vec::new(),
            memo: RuleMemo::default(),
            raw_answers: RawAnswers::default(),
            repeats: RepeatFilter::new(repeats),
            last: LastLine::default(),
        }
    }

    /// Counts the line at `line`, the same bytes as the last one checked, as that one was
    /// counted.
    fn count_last_again(&mut self, line: u64) {
        let mut from = 0;
        for &end in &self.last.key_ends {
            let counted =
                self.repeats
                    .count_again(&self.last.keys[from..end], line, self.last.time);
            debug_assert!(counted, "a kind past the limit stays past it");
            from = end;
        }
    }
}

/// Lines kept by a scanner in recording mode, in order.
#[derive(Debug, Default)]
pub struct Recording {
    pub lines: Vec<RecordedLine>,
    bytes: usize,
    /// Bytes it may hold before it gives up (the chunk is then scanned again).
    limit: usize,
    /// More than `limit` bytes were met: the lines are incomplete.
    pub overflowed: bool,
}

/// A line kept for later, with its position relative to where the scanner started.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct RecordedLine {
    pub bytes: Vec<u8>,
    pub line: u64,
    pub offset: u64,
}

impl Recording {
    /// An empty recording that holds at most `limit` bytes.
    pub fn with_limit(limit: usize) -> Self {
        Recording {
            limit,
            ..Recording::default()
        }
    }

    fn keep(&mut self, raw: &[u8], line: u64, offset: u64) {
        // What a kept line costs besides its bytes, so that millions of short lines count too.
        const PER_LINE: usize = std::mem::size_of::<RecordedLine>() + 16;
        let cost = raw.len() + PER_LINE;
        if self.overflowed || self.bytes + cost > self.limit {
            self.overflowed = true;
            self.lines = Vec::new();
            return;
        }
        self.bytes += cost;
        self.lines.push(RecordedLine {
            bytes: raw.to_vec(),
            line,
            offset,
        });
    }
}

/// What the rules need besides the line: which rules, which hits to keep, which times.
#[derive(Clone, Copy)]
pub struct LineRules<'d> {
    pub detector: &'d Detector,
    /// Report every rule that hit a line, not only the most specific built-in family.
    pub all_hits: bool,
    pub window: TimeWindow,
}

/// One line through the parser, the time window and the rules: its findings go to `out`.
/// Says where the line's time fell (directives and empty lines are `Inside`).
pub fn detect_line(
    rules: LineRules,
    parser: &mut Parser,
    ctx: &ParseContext,
    raw: &[u8],
    position: LinePosition,
    scratch: &mut LineScratch,
    out: &mut FindingOut<'_>,
) -> WindowCheck {
    let LineRules {
        detector,
        all_hits,
        window,
    } = rules;
    let known = raw_answer(rules, (parser, ctx), raw, scratch);
    if known == RawLookup::Known && scratch.hits.is_empty() {
        scratch.last.count_as_quiet();
        return WindowCheck::Inside;
    }
    let Some(record) = parse_line(parser, ctx, raw) else {
        // A directive changes the parser: the same bytes again are parsed again.
        scratch.last.counted = false;
        return WindowCheck::Inside;
    };
    let check = window.check(record.time);
    let LineScratch {
        hits,
        memo,
        raw_answers,
        repeats,
        last,
    } = scratch;
    last.counted = true;
    last.time = record.time;
    last.check = check;
    last.keys.clear();
    last.key_ends.clear();
    if check == WindowCheck::Outside {
        return check;
    }
    match known {
        RawLookup::Known => {}
        RawLookup::Unknown => {
            detector.matching_rules(&record, hits);
            raw_answers.keep(hits);
        }
        RawLookup::NoKey => detector.matching_rules_remembered(&record, hits, memo),
    }
    if !all_hits {
        detector.keep_reported_hits(hits);
    }
    for &i in hits.iter() {
        let rule = &detector.rules()[i];
        // Findings a correlation counts are each handed on, not keyed.
        let keyed = !(repeats.is_off() || detector.feeds_correlations(i));
        let slot = if !keyed {
            None
        } else {
            line_kind(i, &record, repeats.key());
            match repeats.see() {
                Seen::Write => None,
                Seen::Repeat(slot) => Some(slot),
            }
        };
        match slot {
            // A repeat costs a count, not a finding.
            Some(Some(repeated)) => repeated.count(position.line, record.time),
            Some(empty) => count_into(empty, request_finding(rule, &record, position, ctx.client)),
            None => {
                last.counted = false;
                let mut finding = request_finding(rule, &record, position, ctx.client);
                detector.tag_for_correlations(i, &record, &mut finding);
                if keyed && repeats.consults() {
                    repeats.note_finding(&finding);
                }
                out(finding);
            }
        }
        if last.counted {
            last.keys.extend_from_slice(repeats.current_key());
            last.key_ends.push(last.keys.len());
        }
    }
    check
}

/// Whether the rules' answer for the data line `raw` is known from its raw bytes (it is then
/// in `scratch.hits`). Only without a time window: a line's time is then never needed
/// unless it has findings.
fn raw_answer(
    rules: LineRules,
    (parser, ctx): (&Parser, &ParseContext),
    raw: &[u8],
    scratch: &mut LineScratch,
) -> RawLookup {
    let line = trimmed_line(raw);
    let directive = line.first() == Some(&b'#') && parser.wants_directives();
    if rules.window.is_set() || line.is_empty() || directive {
        return RawLookup::NoKey;
    }
    let fields_of = |format| rules.detector.fields_read(format);
    scratch.raw_answers.check(
        |key| parser.raw_key(line, ctx, fields_of, key),
        &mut scratch.hits,
    )
}

/// The kind of rule `rule`'s finding on `record`, from the raw fields a finding's kind is
/// made of (see [`super::repeats`]): lines of one kind here give findings of one kind.
fn line_kind(rule: usize, record: &Record, key: &mut Vec<u8>) {
    use crate::record::Field;
    key.extend_from_slice(&(rule as u32).to_le_bytes());
    for field in [
        Field::ClientIp,
        Field::ForwardedFor,
        Field::ServerIp,
        Field::Host,
        Field::ComputerName,
        Field::Status,
    ] {
        key_part(key, record.get(field));
    }
    // The path of the request (what tells a backdoor request from others), not its query.
    let stem = record.get(Field::UriStem);
    key_part(
        key,
        stem.map(|s| s.split(|&b| b == b'?').next().unwrap_or(s)),
    );
}

/// Runs kept lines through `parser` and the rules, as the scanner that kept them would have:
/// the lines of a later part of an input (a chunk, a range), numbered from that part's start,
/// are moved by `lines_before` lines and `offset` bytes. Where their times fell is counted in
/// `stats`.
pub fn replay_kept(
    kept: Vec<RecordedLine>,
    parser: &mut Parser,
    (detector, options): (&Detector, &ScanOptions),
    (path, lines_before, offset): (&str, u64, u64),
    stats: &mut LineStats,
    out: &mut FindingOut<'_>,
) {
    let ctx = options.parse_context();
    let rules = LineRules {
        detector,
        all_hits: options.all_hits,
        window: options.window,
    };
    // The join's filter counts repeats: these findings are few (the kept lines of a chunk).
    let mut scratch = LineScratch::new(0);
    for line in kept {
        let position = LinePosition {
            path,
            line: line.line + lines_before,
            offset: line.offset + offset,
        };
        let check = detect_line(
            rules,
            parser,
            &ctx,
            &line.bytes,
            position,
            &mut scratch,
            out,
        );
        stats.count_window(check);
    }
}

/// Where the loop stands in the input.
struct Cursor {
    line: u64,
    offset: u64,
}

impl<'d> LineScanner<'d> {
    /// A scanner for lines of `parser`'s format, reporting findings against `path`.
    pub fn new(
        detector: &'d Detector,
        parser: Parser,
        ctx: ParseContext<'d>,
        path: &'d str,
        options: &ScanOptions,
    ) -> Self {
        LineScanner {
            detector,
            parser,
            ctx,
            path,
            max_line: options.max_line,
            all_hits: options.all_hits,
            window: options.window,
            window_counts: LineStats::default(),
            recording: None,
            nuls: (0, 0),
            cut_lines: 0,
            scratch: LineScratch::new(options.repeats),
        }
    }

    /// Scans `reader` to its end (or first read error), sending findings to `out`.
    /// `head` holds bytes already read from `reader` (for format detection).
    pub fn run(
        &mut self,
        head: Vec<u8>,
        reader: &mut dyn Read,
        out: &mut FindingOut<'_>,
    ) -> (LineStats, io::Result<()>) {
        // Reads land at `headroom`, a page-aligned spot (unaligned reads ran 3-4x slower
        // here); the unfinished line of the last read is moved to just before it.
        let headroom = round_to_page(self.max_line.max(READ_SIZE).max(head.len()));
        let mut window = AlignedBuffer::take(headroom + READ_SIZE);
        let (mut stats, result) = self.run_in(head, reader, out, window.as_mut_slice(), headroom);
        window.give_back();
        (stats.nul_bytes, stats.nul_blocks) = self.nuls;
        stats.long_lines += self.cut_lines;
        stats.outside_window = self.window_counts.outside_window;
        stats.untimed = self.window_counts.untimed;
        (stats, result)
    }

    /// Counts at once the findings of kinds the input's filter has filled (a chunk of a split
    /// input; see [`super::repeats::FullKinds`]).
    pub fn count_kinds_filled_in(&mut self, full: Arc<super::repeats::FullKinds>) {
        self.scratch.repeats.consult(full);
    }

    /// The kinds of findings this scanner counted past `--repeats` (lines numbered from
    /// where it started).
    pub fn take_repeats(&mut self) -> Vec<Repeated> {
        let limit = self.scratch.repeats.limit();
        std::mem::replace(&mut self.scratch.repeats, RepeatFilter::new(limit)).into_repeats()
    }

    fn run_in(
        &mut self,
        head: Vec<u8>,
        reader: &mut dyn Read,
        out: &mut FindingOut<'_>,
        buf: &mut [u8],
        headroom: usize,
    ) -> (LineStats, io::Result<()>) {
        let mut stats = LineStats {
            bytes: head.len() as u64,
            ..LineStats::default()
        };
        let mut tail = head.len();
        let mut cursor = Cursor { line: 1, offset: 0 };
        // The first read lands after the head's place: when it finds nothing more (a small
        // file read whole), the head is scanned where it is, without a copy.
        let mut first = Some(read_retrying(reader, &mut buf[headroom..]));
        if matches!(first, Some(Ok(0))) {
            self.finish_tail(&head, &mut cursor, &mut stats, out);
            return (stats, Ok(()));
        }
        buf[headroom - tail..headroom].copy_from_slice(&head);
        let mut skipping_long_line = false;
        loop {
            let read = first
                .take()
                .unwrap_or_else(|| read_retrying(reader, &mut buf[headroom..]));
            let n = *read.as_ref().unwrap_or(&0);
            stats.bytes += n as u64;
            let data = &buf[headroom - tail..headroom + n];
            if n == 0 {
                if skipping_long_line {
                    // The over-long line was the last, without a newline: it counts.
                    stats.lines += 1;
                } else {
                    self.finish_tail(data, &mut cursor, &mut stats, out);
                }
                return (stats, read.map(|_| ()));
            }
            let mut from = 0;
            if skipping_long_line {
                match memchr::memchr(b'\n', data) {
                    Some(nl) => {
                        skipping_long_line = false;
                        cursor.offset += nl as u64 + 1;
                        cursor.line += 1;
                        stats.lines += 1;
                        from = nl + 1;
                    }
                    None => {
                        cursor.offset += data.len() as u64;
                        tail = 0;
                        continue;
                    }
                }
            }
            let data = &data[from..];
            let kept = match memchr::memrchr(b'\n', data) {
                Some(last) => {
                    let newlines = self.scan_region(&data[..=last], &cursor, out);
                    cursor.line += newlines;
                    cursor.offset += last as u64 + 1;
                    stats.lines += newlines;
                    last + 1..data.len()
                }
                None if data.len() >= self.max_line => {
                    // An over-long line: judge its start, then pass over the rest.
                    self.scan_line(&data[..self.max_line], &cursor, out);
                    stats.long_lines += 1;
                    skipping_long_line = true;
                    cursor.offset += data.len() as u64;
                    data.len()..data.len()
                }
                None => 0..data.len(),
            };
            let start = headroom + n - data.len();
            tail = kept.len();
            buf.copy_within(start + kept.start..start + kept.end, headroom - tail);
        }
    }

    /// Scans what is left at the end of the input: complete lines and a last line
    /// without a newline.
    fn finish_tail(
        &mut self,
        tail: &[u8],
        cursor: &mut Cursor,
        stats: &mut LineStats,
        out: &mut FindingOut<'_>,
    ) {
        if tail.is_empty() {
            return;
        }
        let newlines = self.scan_region(tail, cursor, out);
        let unterminated = u64::from(!tail.ends_with(b"\n"));
        cursor.line += newlines + unterminated;
        stats.lines += newlines + unterminated;
    }

    /// Scans complete lines (the region ends after a newline, or is the input's last line).
    /// Returns how many newlines the region holds.
    fn scan_region(&mut self, region: &[u8], at: &Cursor, out: &mut FindingOut<'_>) -> u64 {
        let mut walker = RegionWalker {
            region,
            counted_to: 0,
            line: at.line,
        };
        match self.detector.prefilter() {
            Prefilter::Nothing if !self.parser.wants_directives() => {}
            Prefilter::Everything | Prefilter::Nothing => {
                let mut start = 0;
                while start < region.len() {
                    let end =
                        memchr::memchr(b'\n', &region[start..]).map_or(region.len(), |e| start + e);
                    self.scan_span(region, start..end, &mut walker, at, out);
                    start = end + 1;
                }
            }
            Prefilter::Atoms(atoms) => {
                let wants_directives = self.parser.wants_directives();
                // A region starts at a line start: a directive there has no newline before it.
                let mut event = (wants_directives && region.first() == Some(&b'#')).then_some(0);
                let mut pos = 0;
                let mut search = CandidateSearch::new(atoms, self.parser.escape_byte());
                loop {
                    let start = match event.take() {
                        Some(start) => start,
                        None => match search.next(region, pos) {
                            None => break,
                            Some(AtomHit::Atom(at)) => at,
                            Some(AtomHit::Directive(at)) if wants_directives => at,
                            Some(AtomHit::Directive(at)) => {
                                pos = at;
                                continue;
                            }
                            Some(AtomHit::Nul(at)) => {
                                pos = self.pass_nul_block(region, at);
                                // IIS starts a new header after the block when it restarts.
                                if wants_directives && region.get(pos) == Some(&b'#') {
                                    event = Some(pos);
                                }
                                continue;
                            }
                        },
                    };
                    let line_start = memchr::memrchr(b'\n', &region[..start]).map_or(0, |p| p + 1);
                    let end =
                        memchr::memchr(b'\n', &region[start..]).map_or(region.len(), |e| start + e);
                    self.scan_span(region, line_start..end, &mut walker, at, out);
                    // From the newline itself: a directive's mark is that newline and its `#`.
                    pos = self.pass_same_lines(region, line_start..end, &mut walker);
                    if pos + 1 >= region.len() {
                        break;
                    }
                }
            }
        }
        walker.line_at(region.len()) - at.line
    }

    /// Counts the lines after the one at `span` that repeat its bytes exactly, when all that
    /// line gave was counted (`--repeats`): a flood of one request costs a comparison per
    /// line. Returns the newline of the last line counted.
    fn pass_same_lines(
        &mut self,
        region: &[u8],
        span: std::ops::Range<usize>,
        walker: &mut RegionWalker,
    ) -> usize {
        let mut end = span.end;
        let line = &region[span.clone()];
        // NUL blocks are counted where the search meets them: lines with NULs take that path.
        if !self.scratch.last.counted
            || line.len() > self.max_line
            || self.recording.is_some()
            || memchr::memchr(0, line).is_some()
        {
            return end;
        }
        let mut number = walker.line_at(span.start);
        while region.get(end + 1..end + 1 + line.len()) == Some(line)
            && region.get(end + 1 + line.len()) == Some(&b'\n')
        {
            number += 1;
            self.scratch.count_last_again(number);
            self.window_counts.count_window(self.scratch.last.check);
            end += 1 + line.len();
        }
        end
    }

    /// Counts the NUL block at `at` and returns where it ends.
    fn pass_nul_block(&mut self, region: &[u8], at: usize) -> usize {
        let end = region[at..]
            .iter()
            .position(|&b| b != 0)
            .map_or(region.len(), |e| at + e);
        self.nuls.0 += (end - at) as u64;
        self.nuls.1 += 1;
        end
    }

    /// Scans the line at `span` of the region, numbering it through the walker.
    fn scan_span(
        &mut self,
        region: &[u8],
        span: std::ops::Range<usize>,
        walker: &mut RegionWalker,
        at: &Cursor,
        out: &mut FindingOut<'_>,
    ) {
        let line = walker.line_at(span.start);
        let offset = at.offset + span.start as u64;
        self.scan_line(&region[span], &Cursor { line, offset }, out);
    }

    fn scan_line(&mut self, raw: &[u8], at: &Cursor, out: &mut FindingOut<'_>) {
        let raw = if raw.len() > self.max_line {
            self.cut_lines += 1;
            &raw[..self.max_line]
        } else {
            raw
        };
        if let Some(recording) = &mut self.recording {
            recording.keep(raw, at.line, at.offset);
            return;
        }
        let position = LinePosition {
            path: self.path,
            line: at.line,
            offset: at.offset,
        };
        let rules = LineRules {
            detector: self.detector,
            all_hits: self.all_hits,
            window: self.window,
        };
        let check = detect_line(
            rules,
            &mut self.parser,
            &self.ctx,
            raw,
            position,
            &mut self.scratch,
            out,
        );
        self.window_counts.count_window(check);
    }
}

/// The prefilter's next event, and for formats with escapes also the next line holding
/// the escape byte (a rule's literal may be there only once decoded). The atom hit found
/// last is kept while it lies ahead, so that lines full of escapes do not search the same
/// stretch for atoms again and again.
struct CandidateSearch<'d> {
    atoms: &'d crate::detect::AtomSearcher,
    escape: Option<u8>,
    atom: Option<Option<AtomHit>>,
}

impl<'d> CandidateSearch<'d> {
    fn new(atoms: &'d crate::detect::AtomSearcher, escape: Option<u8>) -> Self {
        CandidateSearch {
            atoms,
            escape,
            atom: None,
        }
    }

    fn next(&mut self, region: &[u8], pos: usize) -> Option<AtomHit> {
        let Some(escape) = self.escape else {
            return self.atoms.find_at(region, pos);
        };
        let stale = match self.atom {
            None => true,
            Some(Some(hit)) => hit_position(hit) <= pos,
            Some(None) => false,
        };
        if stale {
            self.atom = Some(self.atoms.find_at(region, pos));
        }
        let atom = self.atom.flatten();
        let limit = atom.map_or(region.len(), hit_position);
        let escaped = memchr::memchr(escape, &region[pos..limit]).map(|at| pos + at);
        match escaped {
            Some(at) => Some(AtomHit::Atom(at)),
            None => atom,
        }
    }
}

fn hit_position(hit: AtomHit) -> usize {
    match hit {
        AtomHit::Atom(at) | AtomHit::Directive(at) | AtomHit::Nul(at) => at,
    }
}

/// Parses one physical line (without its `\n`); directives update the parser and, like
/// empty lines, give no record.
pub fn parse_line<'l>(
    parser: &mut Parser,
    ctx: &ParseContext,
    raw: &'l [u8],
) -> Option<Record<'l>> {
    let line = trimmed_line(raw);
    if line.first() == Some(&b'#') && parser.wants_directives() {
        parser.observe_directive(line, ctx);
        return None;
    }
    if line.is_empty() {
        return None;
    }
    Some(parser.parse(line, ctx))
}

/// A physical line without its `\r`, and without the NULs a crash leaves before the first
/// line after them.
pub(super) fn trimmed_line(raw: &[u8]) -> &[u8] {
    let line = raw.strip_suffix(b"\r").unwrap_or(raw);
    match line.first() {
        Some(&0) => {
            let text = line.iter().position(|&b| b != 0).unwrap_or(line.len());
            &line[text..]
        }
        _ => line,
    }
}

/// Counts newlines lazily, so each byte of a region is counted once.
struct RegionWalker<'r> {
    region: &'r [u8],
    counted_to: usize,
    line: u64,
}

impl RegionWalker<'_> {
    /// Line number at byte `pos` (which must not go backwards).
    fn line_at(&mut self, pos: usize) -> u64 {
        let pos = pos.min(self.region.len());
        if pos > self.counted_to {
            self.line +=
                memchr::memchr_iter(b'\n', &self.region[self.counted_to..pos]).count() as u64;
            self.counted_to = pos;
        }
        self.line
    }
}

pub fn read_retrying(reader: &mut dyn Read, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        match reader.read(buf) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}
