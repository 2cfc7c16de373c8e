//! The merge's side of files scanned in ranges: the ranges of one file joined in file order,
//! as the local join of [`crate::scan`] joins chunks. Findings get their line numbers from
//! the lines of the ranges before them; the kept lines of W3C ranges are replayed with the
//! `#Fields` state the ranges before left; a gap between ranges is a problem (those bytes
//! were read by no task). The joined file becomes one input part, with the digest a hashing
//! task gave, if any.

use std::sync::Arc;

use chrono::FixedOffset;

use super::case::{CaseEvents, InputPart};
use super::partial::{DigestPart, ReadingSettings};
use crate::detect::Detector;
use crate::model::{ClientFrom, ClientPolicy, Finding, TimeWindow};
use crate::record::{LogFormat, Parser};
use crate::scan::range::RangeReport;
use crate::scan::repeats::RepeatFilter;
use crate::scan::{replay_kept, InputReport, ScanOptions};
use crate::source::{Compression, Digest, HashChoice, Severity};

/// The scan options a merge replays kept lines with, from the partial results' header.
pub fn replay_options(reading: &ReadingSettings) -> ScanOptions {
    let offset = reading
        .local_offset
        .parse::<FixedOffset>()
        .unwrap_or_else(|_| FixedOffset::east_opt(0).expect("zero offset"));
    ScanOptions {
        local_offset: offset,
        all_hits: reading.all_hits,
        max_line: reading.max_line,
        repeats: reading.repeats,
        window: TimeWindow {
            since: reading.since,
            before: reading.until,
        },
        client: Arc::new(ClientPolicy {
            from: ClientFrom::from_name(&reading.client_from).unwrap_or_default(),
            trusted: reading
                .trusted_proxy
                .iter()
                .filter_map(|n| n.parse().ok())
                .collect(),
        }),
        ..ScanOptions::default()
    }
}

/// The ranges of one file, joined as they come in file order.
pub struct RangeJoin<'a> {
    detector: &'a Detector,
    options: &'a ScanOptions,
    hash: HashChoice,
    /// The parser's state where the next range starts (None before the first range).
    parser: Option<(LogFormat, Parser)>,
    next_start: u64,
    lines_before: u64,
    size: Option<u64>,
    digest: Option<DigestPart>,
    report: InputReport,
    /// The file's findings per kind, as one scan of it counts them (`--repeats`).
    repeats: RepeatFilter,
}

impl<'a> RangeJoin<'a> {
    /// A join of the ranges of `path`.
    pub fn new(
        path: String,
        detector: &'a Detector,
        options: &'a ScanOptions,
        hash: HashChoice,
    ) -> Self {
        RangeJoin {
            detector,
            options,
            hash,
            parser: None,
            next_start: 0,
            lines_before: 0,
            size: None,
            digest: None,
            report: InputReport::new(path),
            repeats: RepeatFilter::new(options.repeats),
        }
    }

    /// The file being joined.
    pub fn path(&self) -> &str {
        &self.report.path
    }

    /// One direct finding of the range being joined, numbered from the file's start.
    pub fn finding(&mut self, mut finding: Finding, events: &mut dyn CaseEvents) {
        if let Some(r) = finding.request_mut() {
            r.line += self.lines_before;
        }
        self.report.findings += 1;
        self.repeats.pass(finding, &mut |f| events.finding(f));
    }

    /// The digest a hashing task gave for the file.
    pub fn digest(&mut self, digest: DigestPart) {
        self.digest = Some(digest);
    }

    /// Adds one range (after its direct findings): its kept lines are replayed, its figures
    /// added.
    pub fn range(&mut self, range: RangeReport, events: &mut dyn CaseEvents) {
        if range.start > self.next_start {
            self.gap(self.next_start, range.start);
        }
        self.next_start = self.next_start.max(range.end);
        self.size = range.size.or(self.size);
        if self.parser.is_none() {
            let format = range.format.as_deref().and_then(LogFormat::from_name);
            self.parser = format.map(|f| (f, Parser::for_format(f)));
        }
        if let Some(kept) = range.kept {
            self.replay(kept, range.start, events);
        }
        for mut repeated in range.repeats {
            repeated.shift_lines(self.lines_before);
            self.report.findings += repeated.omitted;
            self.repeats.absorb(repeated);
        }
        self.report.stats.add(&range.stats);
        self.lines_before += range.stats.lines;
        self.report.problems.extend(range.problems);
    }

    /// Runs a range's kept lines (numbered from `start`) with the state the ranges before it
    /// left.
    fn replay(
        &mut self,
        kept: Vec<crate::scan::RecordedLine>,
        start: u64,
        events: &mut dyn CaseEvents,
    ) {
        let Some((_, parser)) = &mut self.parser else {
            return;
        };
        let mut found = 0;
        let repeats = &mut self.repeats;
        let mut out = |f: Finding| {
            found += 1;
            repeats.pass(f, &mut |f| events.finding(f));
        };
        replay_kept(
            kept,
            parser,
            (self.detector, self.options),
            (&self.report.path, self.lines_before, start),
            &mut self.report.stats,
            &mut out,
        );
        self.report.findings += found;
    }

    fn gap(&mut self, from: u64, to: u64) {
        let reason = format!("bytes {from} to {to} were in no range: those lines were not read");
        let args = [("from", from.to_string()), ("to", to.to_string())];
        self.report
            .said(reason, Severity::Error, "problem-range-gap", &args);
    }

    /// The joined file as one input part.
    pub fn finish(mut self) -> InputPart {
        self.report.repeats = std::mem::take(&mut self.repeats).into_repeats();
        let size = self.digest.as_ref().map(|d| d.size).or(self.size);
        if let Some(size) = size.filter(|&s| s > self.next_start) {
            self.gap(self.next_start, size);
        }
        self.report.format = self.parser.as_ref().map(|(f, _)| *f);
        self.report.compression = Compression::None;
        self.report.windowed = self.options.window.is_set();
        self.report.note_long_lines(self.options.max_line);
        self.report.note_nuls();
        let sha256 = self.digest.and_then(|d| d.sha256);
        if sha256.is_none() && self.hash == HashChoice::Sha256 {
            let reason = "scanned in ranges, and no hashing task's digest was merged: no SHA-256";
            self.report.said(
                reason.into(),
                Severity::Skipped,
                "problem-range-unhashed",
                &[],
            );
        }
        self.report.digest = Some(Digest {
            sha256,
            size: size.unwrap_or(self.next_start),
        });
        InputPart::of(self.report)
    }
}
