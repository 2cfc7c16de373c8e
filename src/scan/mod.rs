//! A scan: each input opened, its format found, its lines run through the detector.
//! Inputs are scanned in parallel and reported in input order, so output never depends
//! on the thread count.

mod directives;
mod lines;
mod network;
mod ordered;
pub mod range;
mod records;
pub mod repeats;
mod split;
pub use split::MIN_SPLIT_BYTES;

use std::cell::Cell;
use std::collections::BTreeMap;
use std::io::{self, Read};
use std::sync::Arc;

use chrono::FixedOffset;

use crate::detect::Detector;
use crate::model::{Finding, FindingOut};
use crate::record::{detect_format, FieldMap, FormatGuess, LogFormat, ParseContext, Parser};
use crate::source::{
    self, describe_io, Compression, Digest, Input, Problem, ProblemKind, Severity,
};
pub use lines::{replay_kept, LineStats, RecordedLine};
pub use network::NetworkInput;
use ordered::Delivery;
pub use records::{each_record, Parsed};

/// Bytes looked at to guess an input's format.
const SNIFF_BYTES: usize = 64 * 1024;

/// How to scan.
#[derive(Debug, Clone)]
pub struct ScanOptions {
    /// Skip detection and read every input as this format.
    pub format_hint: Option<LogFormat>,
    /// Offset for formats that log local time without one.
    pub local_offset: FixedOffset,
    /// Longest part of a line that is kept and evaluated.
    pub max_line: usize,
    /// Worker threads.
    pub threads: usize,
    /// Report every rule that hit a line, not only the most specific built-in family.
    pub all_hits: bool,
    /// Host names given to connection tables with `--host` (by input label).
    pub host_names: BTreeMap<String, String>,
    /// Sliding window for SYNs in captures, in seconds (`--spread-window`; None: the
    /// spreading correlation's timespan).
    pub spread_window_secs: Option<i64>,
    /// Plain files at least this large are scanned in chunks, in parallel when threads allow.
    pub split_min_bytes: u64,
    /// Where the bytes read are counted for a progress display.
    pub progress: Option<std::sync::Arc<source::Progress>>,
    /// Whether inputs are hashed as they are read.
    pub hash: source::HashChoice,
    /// Bytes read at most from an input that is not a regular file (None: the default of
    /// [`source::stream_cap`]).
    pub max_bytes: Option<u64>,
    /// Times kept (`--since`/`--until`): lines outside are not checked.
    pub window: crate::model::TimeWindow,
    /// Native fields to the taxonomy: the built-in mapping, with a user's JSON layout
    /// (`--mapping`) when one was given.
    pub field_map: std::sync::Arc<FieldMap>,
    /// Which address of a proxied request is the client (`--client-from`,
    /// `--trusted-proxy`).
    pub client: std::sync::Arc<crate::model::ClientPolicy>,
    /// Whether a regular file whose first bytes are host evidence (a hive, a `.reg` export,
    /// a metabase, a `dir` listing) is left unread and reported as such, for the host sweep
    /// ([`InputReport::host_evidence`]). The scan looks at each file's first bytes anyway;
    /// a separate look beforehand opened and decoded every file twice.
    pub claim_host_evidence: bool,
    /// Findings of one kind written per input (`--repeats`; 0: all); the rest are counted.
    pub repeats: u64,
}

impl ScanOptions {
    /// What the parsers need from these options.
    pub fn parse_context(&self) -> ParseContext<'_> {
        ParseContext {
            map: &self.field_map,
            local_offset: self.local_offset,
            client: &self.client,
        }
    }
}

impl Default for ScanOptions {
    fn default() -> Self {
        ScanOptions {
            format_hint: None,
            local_offset: FixedOffset::east_opt(0).expect("zero offset"),
            max_line: 1 << 20,
            threads: 1,
            all_hits: false,
            host_names: BTreeMap::new(),
            spread_window_secs: None,
            split_min_bytes: split::MIN_SPLIT_BYTES,
            progress: None,
            hash: source::HashChoice::Sha256,
            max_bytes: None,
            window: crate::model::TimeWindow::default(),
            field_map: std::sync::Arc::new(FieldMap::builtin().clone()),
            client: std::sync::Arc::default(),
            claim_host_evidence: false,
            repeats: repeats::DEFAULT_REPEATS,
        }
    }
}

/// What one input gave.
#[derive(Debug, Clone)]
pub struct InputReport {
    pub path: String,
    /// SHA-256 and size as stored (None when the input could not be opened).
    pub digest: Option<Digest>,
    pub compression: Compression,
    /// Format read as (None when not read as a log).
    pub format: Option<LogFormat>,
    pub stats: LineStats,
    /// Findings made: those handed on (they went to the scan's consumer as they were made)
    /// and those in `repeats`.
    pub findings: u64,
    /// The kinds of findings past `--repeats`: counted, not handed on.
    pub repeats: Vec<repeats::Repeated>,
    pub problems: Vec<Problem>,
    /// Captures and connection tables: what they gave besides findings.
    pub network: Option<NetworkInput>,
    /// Read under `--since`/`--until`: its lines were checked against the window.
    pub windowed: bool,
    /// Host evidence, left for the host sweep (with [`ScanOptions::claim_host_evidence`]):
    /// nothing else in the report is set.
    pub host_evidence: Option<crate::host::evidence::EvidenceKind>,
}

impl InputReport {
    /// An empty report of the input named `path`.
    pub fn new(path: String) -> Self {
        InputReport {
            path,
            digest: None,
            compression: Compression::None,
            format: None,
            stats: LineStats::default(),
            findings: 0,
            repeats: Vec::new(),
            problems: Vec::new(),
            network: None,
            windowed: false,
            host_evidence: None,
        }
    }

    /// Reports lines that were only checked up to `max_line` bytes.
    pub fn note_long_lines(&mut self, max_line: usize) {
        if self.stats.long_lines > 0 {
            let reason = format!(
                "{} line(s) longer than {} bytes: only their start was checked",
                self.stats.long_lines, max_line
            );
            let args = [
                ("count", self.stats.long_lines.to_string()),
                ("max", max_line.to_string()),
            ];
            self.said(reason, Severity::Skipped, "problem-long-lines", &args);
        }
    }

    /// Reports blocks of NULs: part of the log was never written (a crash), so the log is
    /// read but not whole.
    pub fn note_nuls(&mut self) {
        let (bytes, blocks) = (self.stats.nul_bytes, self.stats.nul_blocks);
        if bytes > 0 {
            let reason = format!(
                "{bytes} NUL bytes in {blocks} block(s) skipped: a crash left that part of the log unwritten"
            );
            let args = [("bytes", bytes.to_string()), ("blocks", blocks.to_string())];
            self.said(reason, Severity::Skipped, "problem-nul-blocks", &args);
        }
    }

    /// A problem worded by the catalog entry `key` with `args` (`reason` in English).
    pub(crate) fn said(
        &mut self,
        reason: String,
        severity: Severity,
        key: &str,
        args: &[(&str, String)],
    ) {
        let problem = Problem::said(self.path.clone(), reason, severity, key, args);
        self.problems.push(problem);
    }
}

/// What a scan hands on as it goes, in input order.
pub enum ScanEvent {
    /// A finding, as soon as its input's turn has come.
    Finding(Finding),
    /// An input's report, after all its findings.
    Done(InputReport),
}

/// Scans every input, calling `on_event` with each input's findings and then its report,
/// inputs in order. Findings are handed on while the input is read, so memory does not grow
/// with the number of findings.
pub fn scan_all(
    inputs: &[Input],
    detector: &Detector,
    options: &ScanOptions,
    mut on_event: impl FnMut(ScanEvent),
) {
    ordered::in_order(
        inputs,
        options.threads,
        |input, out| scan_input(input, detector, options, out),
        |i, delivery| match delivery {
            Delivery::Event(f) => on_event(ScanEvent::Finding(f)),
            Delivery::Done(report) => on_event(ScanEvent::Done(report)),
            Delivery::Lost => on_event(ScanEvent::Done(lost_input(&inputs[i]))),
        },
    );
}

/// The report of an input whose scan failed inside wormtrace (a bug): never a clean one.
fn lost_input(input: &Input) -> InputReport {
    let mut report = InputReport::new(input.label());
    let reason = "an internal error stopped the reading; findings before it are kept".to_string();
    report.said(reason, Severity::Error, "problem-internal", &[]);
    report
}

/// Scans one input, handing its findings to `out` (past `--repeats` of a kind, they are
/// counted in the report's `repeats`); never fails: what goes wrong becomes a problem in the
/// report.
pub fn scan_input(
    input: &Input,
    detector: &Detector,
    options: &ScanOptions,
    out: &mut FindingOut<'_>,
) -> InputReport {
    with_repeats(options.repeats, out, |out, full| {
        scan_input_to(input, detector, options, out, full)
    })
}

/// Runs `scan` with one input's repeat filter between it and `out`: the findings past
/// `limit` of a kind, and the tallies of the scanners, end in the report's `repeats`, and
/// `findings` counts them all.
fn with_repeats(
    limit: u64,
    out: &mut FindingOut<'_>,
    scan: impl FnOnce(&mut FindingOut<'_>, &Arc<repeats::FullKinds>) -> InputReport,
) -> InputReport {
    let mut found = 0u64;
    let full = Arc::new(repeats::FullKinds::default());
    let mut filter = repeats::RepeatFilter::marking(limit, full.clone());
    let mut counted = |f: Finding| {
        found += 1;
        filter.pass(f, out)
    };
    let mut report = scan(&mut counted, &full);
    // The scanners' tallies: findings counted before they were made.
    for repeated in std::mem::take(&mut report.repeats) {
        found += repeated.omitted;
        filter.absorb(repeated);
    }
    report.findings = found;
    report.repeats = filter.into_repeats();
    report
}

fn scan_input_to(
    input: &Input,
    detector: &Detector,
    options: &ScanOptions,
    out: &mut FindingOut<'_>,
    full: &Arc<repeats::FullKinds>,
) -> InputReport {
    let mut report = InputReport::new(input.label());
    let opened = match input {
        Input::File(path) => source::open_read_only(path).and_then(|file| {
            // One open and one stat serve both the split check and the usual read: on
            // folders of many small files each system call is a visible share of the time.
            let meta = file.metadata().ok();
            if let Some(size) = meta.as_ref().map(std::fs::Metadata::len) {
                let whole = split::WholeFile {
                    path,
                    file: &file,
                    size,
                };
                let label = &report.path;
                if let Some(report) = split::scan_split(whole, detector, options, label, out, full)
                {
                    return Ok(Err(report));
                }
            }
            source::open_counted_file(file, meta.as_ref(), options.progress.as_ref(), options.hash)
                .map(Ok)
        }),
        Input::Stdin(_) => {
            source::open_counted(input, options.progress.as_ref(), options.hash).map(Ok)
        }
    };
    let mut opened = match opened {
        Ok(Ok(o)) => o,
        Ok(Err(split_report)) => return split_report,
        Err(e) => {
            let detail = describe_io(&e);
            let reason = format!("cannot open: {detail}");
            report.said(
                reason,
                Severity::Error,
                "problem-cannot-open",
                &[("detail", detail)],
            );
            return report;
        }
    };
    report.compression = opened.compression;
    // A regular file has no cap (and was stat'ed when opened).
    let cap = if opened.regular_file {
        None
    } else {
        source::stream_cap(input, options.max_bytes)
    };
    // A small .gz decoded whole is scanned where it lies, not copied through buffers.
    let whole = opened.reader.take_whole(SNIFF_BYTES);
    let mut capped = (&mut opened.reader).take(cap.unwrap_or(u64::MAX));
    let claim = (options.claim_host_evidence && opened.regular_file)
        .then(|| file_name_lower(input))
        .flatten();
    let read_result = read_and_scan(
        (&mut capped, whole),
        (detector, options),
        claim.as_deref(),
        &mut report,
        out,
    );
    if report.host_evidence.is_some() {
        return report;
    }
    if let Err(e) = read_result {
        read_error(&e, &mut report);
    }
    if let Some(cap) = cap {
        if capped.limit() == 0 {
            let reason =
                format!("not a regular file: reading stopped after {cap} bytes (--max-bytes)");
            let args = [("bytes", cap.to_string())];
            report.said(reason, Severity::Skipped, "problem-max-bytes", &args);
        }
        // The rest may never end (a device): the digest covers what was read.
        report.digest = Some(opened.finish_here());
        return report;
    }
    match opened.finish() {
        Ok(d) => report.digest = Some(d),
        Err(e) => {
            let detail = describe_io(&e);
            let reason = format!("cannot read to the end: {detail}");
            report.said(
                reason,
                Severity::Error,
                "problem-unfinished",
                &[("detail", detail)],
            );
        }
    }
    report
}

/// Scans bytes from any reader (compressed or not) as an input named `label`: the same
/// sniffing, decoding and detection as a file, without opening or hashing one. For fuzzing
/// and for embedding wormtrace.
pub fn scan_reader(
    reader: &mut (dyn Read + Send),
    label: &str,
    detector: &Detector,
    options: &ScanOptions,
    out: &mut FindingOut<'_>,
) -> InputReport {
    let mut report = InputReport::new(label.to_string());
    let mut buffered = io::BufReader::new(reader);
    let decoded = match io::BufRead::fill_buf(&mut buffered) {
        Ok(head) => {
            report.compression = Compression::sniff(head);
            report.compression.decoder(buffered)
        }
        Err(e) => Err(e),
    };
    let mut decoded = match decoded {
        Ok(decoded) => decoded,
        Err(e) => {
            read_error(&e, &mut report);
            return report;
        }
    };
    with_repeats(options.repeats, out, |out, _| {
        let read = read_and_scan(
            (&mut *decoded, None),
            (detector, options),
            None,
            &mut report,
            out,
        );
        if let Err(e) = read {
            read_error(&e, &mut report);
        }
        report
    })
}

/// The file name of an input in lower case (host evidence is also told by name).
fn file_name_lower(input: &Input) -> Option<String> {
    match input {
        Input::File(path) => Some(
            path.file_name()
                .map(|n| n.to_string_lossy().to_lowercase())
                .unwrap_or_default(),
        ),
        Input::Stdin(_) => None,
    }
}

/// Bytes of the head that tell host evidence apart (as the host sweep's own look).
const HOST_SNIFF_BYTES: usize = 4096;

/// Reads and scans an input; with `claim` (the file name, when host evidence may be left
/// for the sweep) a head that is host evidence ends the read there.
fn read_and_scan(
    (reader, whole): (&mut (dyn Read + Send), Option<Vec<u8>>),
    (detector, options): (&Detector, &ScanOptions),
    claim: Option<&str>,
    report: &mut InputReport,
    out: &mut FindingOut<'_>,
) -> io::Result<()> {
    with_head((reader, whole), options, |head, rest| {
        let guess = options.format_hint.is_none().then(|| detect_format(&head));
        // Registry exports, metabase files and listings never take a log's shape.
        let surely_log = matches!(guess, Some(FormatGuess::Log(f)) if f.excludes_tables());
        if let Some(name) = claim.filter(|_| !surely_log) {
            let sniffed = &head[..head.len().min(HOST_SNIFF_BYTES)];
            report.host_evidence = crate::host::evidence::sniff(sniffed, Some(name));
            if report.host_evidence.is_some() {
                return Ok(());
            }
        }
        let context = (detector, options, guess);
        scan_head_and_rest(head, rest, context, report, out)
    })
}

/// Reads an input's first bytes and hands them, with a reader of the rest, to `then`, for
/// `scan` and `parse` alike.
/// - A read error inside the first bytes (a damaged .gz, say) keeps what came before it: the
///   head is handed on as the whole input, then the error is returned.
/// - UTF-16 text (PowerShell's Out-File) is decoded on the way, so lines and offsets count
///   the decoded text. Connection tables decode their own.
/// - `whole`, when given, is the whole input already in memory (the reader has nothing
///   left): it is the head, with no read or copy.
pub(crate) fn with_head<T>(
    (reader, whole): (&mut (dyn Read + Send), Option<Vec<u8>>),
    options: &ScanOptions,
    then: impl FnOnce(Vec<u8>, &mut (dyn Read + Send)) -> io::Result<T>,
) -> io::Result<T> {
    let (head, head_error) = match whole {
        Some(bytes) => (bytes, None),
        None => read_head(reader),
    };
    let mut nothing = io::empty();
    let reader: &mut (dyn Read + Send) = if head_error.is_some() {
        &mut nothing
    } else {
        reader
    };
    let utf16 = source::utf16_encoding(&head).filter(|_| network::sniff(&head, options).is_none());
    let (result, error) = match utf16 {
        Some(encoding) => {
            let mut decoded = source::Utf16Reader::new(head.as_slice().chain(reader), encoding);
            let (head, error) = read_head(&mut decoded);
            (then(head, &mut decoded), error)
        }
        None => (then(head, reader), None),
    };
    match head_error.or(error) {
        Some(e) => Err(e),
        None => result,
    }
}

/// Scans an input as network evidence or a log, given its first bytes, a reader of the rest,
/// and the format [`detect_format`] guessed for the head (None with a format hint).
fn scan_head_and_rest(
    head: Vec<u8>,
    reader: &mut (dyn Read + Send),
    (detector, options, guess): (&Detector, &ScanOptions, Option<FormatGuess>),
    report: &mut InputReport,
    out: &mut FindingOut<'_>,
) -> io::Result<()> {
    match network::sniff_after(&head, options, guess) {
        Some(network::NetworkKind::Capture(kind)) => {
            network::scan_capture_input(head, reader, kind, detector, options, report, out);
            return Ok(());
        }
        Some(network::NetworkKind::Table) => {
            return network::scan_table_input(head, reader, detector, options, report)
        }
        None => {}
    }
    let Some(format) = choose_format_after(&head, options, guess) else {
        report.stats.bytes = head.len() as u64;
        let path = report.path.clone();
        report
            .problems
            .push(Problem::of(path, ProblemKind::Binary, Severity::Skipped));
        return Ok(());
    };
    report.format = Some(format);
    report.windowed = options.window.is_set();
    let ctx = options.parse_context();
    let mut scanner = lines::LineScanner::new(
        detector,
        Parser::for_format(format),
        ctx,
        &report.path,
        options,
    );
    let (stats, result) = scanner.run(head, reader, out);
    report.stats = stats;
    report.repeats = scanner.take_repeats();
    report.note_long_lines(options.max_line);
    report.note_nuls();
    result
}

/// The format to read an input as: the hint, else what its first bytes look like
/// (None: binary data, not a log).
fn choose_format(head: &[u8], options: &ScanOptions) -> Option<LogFormat> {
    choose_format_after(head, options, None)
}

/// [`choose_format`] with the guess of [`detect_format`] when it was made already.
fn choose_format_after(
    head: &[u8],
    options: &ScanOptions,
    guess: Option<FormatGuess>,
) -> Option<LogFormat> {
    let format = match options.format_hint {
        Some(f) => f,
        None => match guess.unwrap_or_else(|| detect_format(head)) {
            FormatGuess::Log(f) => f,
            FormatGuess::Binary => return None,
        },
    };
    if format != LogFormat::Json || options.format_hint.is_some() {
        return Some(format);
    }
    // JSON of a layout no mapping knows is text of unknown layout: a request line inside is
    // still found, and the rules meant for such text run.
    Some(
        crate::record::json::choose_layout(head, options.field_map.json_layouts())
            .unwrap_or(LogFormat::Text),
    )
}

/// The first bytes of an input, and the error that stopped reading them early, if any (the
/// bytes read before an error are kept).
fn read_head(reader: &mut dyn Read) -> (Vec<u8>, Option<io::Error>) {
    thread_local! {
        static SCRATCH: Cell<Vec<u8>> = const { Cell::new(Vec::new()) };
    }
    // Read into this thread's zeroed buffer and copy out what came: a fresh 64 KiB vector
    // was zeroed and freed for every input, a visible share on folders of many small files.
    let mut scratch = SCRATCH.take();
    scratch.resize(SNIFF_BYTES, 0);
    let (filled, error) = source::fill(reader, &mut scratch);
    let head = scratch[..filled].to_vec();
    SCRATCH.set(scratch);
    (head, error)
}

fn read_error(e: &io::Error, report: &mut InputReport) {
    let (what, key) = match report.compression {
        Compression::None => ("read error".to_string(), "problem-read-error"),
        c => (
            format!("{} data is corrupt or truncated", c.name()),
            "problem-corrupt",
        ),
    };
    let (bytes, detail) = (report.stats.bytes, describe_io(e));
    let reason =
        format!("{what} after {bytes} bytes ({detail}); findings before that point are kept");
    let args = [
        ("compression", report.compression.name().to_string()),
        ("bytes", bytes.to_string()),
        ("detail", detail),
    ];
    report.said(reason, Severity::Error, key, &args);
}
