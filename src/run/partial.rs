//! Partial results: what `wormtrace scan --partial` writes and `wormtrace merge` reads.
//!
//! A partial result is JSON Lines of the case's own events, before the case numbers and
//! judges them: a header with the settings the case depends on, the problems found while
//! planning, then each input's findings followed by its input part (records, the tallies of
//! captures and tables, problems), then the swept hosts, then an end line with counts. The
//! merge replays the events of many partial results, inputs in path order, into one case:
//! the ids, tallies, correlations and verdicts come out as one scan of all the inputs would
//! have made them. A result without its end line was cut short (a task that died), and the
//! merge refuses it rather than count part of an input.

use std::io::{self, BufRead, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::case::{CaseEvents, InputPart};
use crate::host::HostReport;
use crate::model::{Finding, Problem};
use crate::scan::range::RangeReport;
use crate::sink::RuleInfo;
use crate::source::HashChoice;

/// The version of the partial format; a merge reads only its own.
pub const PARTIAL_FORMAT: u32 = 1;

/// What every partial result of one merge must share: the case's settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PartialHeader {
    /// [`PARTIAL_FORMAT`].
    pub wormtrace_partial: u32,
    /// The version of wormtrace that wrote it.
    pub version: String,
    /// SHA-256 of the built-in rule pack, and the rules loaded (their correlations run at
    /// the merge, so the merge must load the same).
    pub rule_pack_sha256: String,
    pub rules: Vec<RuleInfo>,
    pub input_hash: HashChoice,
    /// `--internal` (empty: the default ranges).
    pub internal: Vec<String>,
    pub spread_threshold: u64,
    pub spread_window: i64,
    /// How lines were read, for the merge to read the kept lines of W3C ranges the same way.
    pub reading: ReadingSettings,
}

/// The reading options a merge needs to replay the kept lines of ranges.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReadingSettings {
    /// `--local-offset`, as `+09:00`.
    pub local_offset: String,
    /// `--client-from`: `peer` or `xff`.
    pub client_from: String,
    pub trusted_proxy: Vec<String>,
    pub all_hits: bool,
    pub since: Option<crate::model::Timestamp>,
    pub until: Option<crate::model::Timestamp>,
    pub max_line: usize,
    /// `--repeats` (partial results of an older version: the default).
    #[serde(default = "default_repeats")]
    pub repeats: u64,
}

fn default_repeats() -> u64 {
    crate::scan::repeats::DEFAULT_REPEATS
}

/// The counts of a finished partial result.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartialEnd {
    pub inputs: u64,
    pub findings: u64,
    pub hosts: u64,
}

/// One line of a partial result.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PartialLine {
    Begin(PartialHeader),
    Problems {
        #[serde(with = "crate::model::problems_whole")]
        problems: Vec<Problem>,
    },
    Finding(Box<Finding>),
    Input(Box<InputPart>),
    /// Where the lines of one range of a file begin: its findings follow (numbered from the
    /// range's start), then its [`PartialLine::Range`].
    RangeStart {
        path: String,
        start: u64,
    },
    Host(Box<HostReport>),
    /// One byte range of a large plain file (`scan --partial --range`).
    Range(Box<RangeReport>),
    /// The digest of a file scanned in ranges, from a task that only hashed it.
    Digest(DigestPart),
    End(PartialEnd),
}

/// The SHA-256 and size of a file scanned in ranges (`scan --partial --digest-only`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DigestPart {
    pub path: String,
    pub sha256: Option<String>,
    pub size: u64,
}

impl PartialLine {
    /// What orders an input's lines among those of other results: the input's path (its
    /// findings and its part name it), then where a range starts (a digest comes after the
    /// ranges of its file).
    pub fn input_key(&self) -> Option<(&str, u64)> {
        match self {
            PartialLine::Finding(f) => Some((&f.path, 0)),
            PartialLine::Input(part) => Some((&part.record.path, 0)),
            PartialLine::RangeStart { path, start } => Some((path, *start)),
            PartialLine::Digest(digest) => Some((&digest.path, u64::MAX)),
            _ => None,
        }
    }
}

/// The order of inputs in a merge, as a folder walk lists them: by path, one component at a
/// time (so `a/b` comes before `a.b`, as `a` does).
pub fn path_order(a: &str, b: &str) -> std::cmp::Ordering {
    Path::new(a).cmp(Path::new(b))
}

/// The order of swept hosts in a case: those named with `--host` by name, then the others
/// by the path of their first evidence.
pub fn host_order(a: &HostReport, b: &HostReport) -> std::cmp::Ordering {
    let key = |h: &HostReport| {
        let first = h.inputs.first().map_or(h.host.clone(), |i| i.path.clone());
        (
            !h.named_by_user,
            if h.named_by_user {
                h.host.clone()
            } else {
                first
            },
        )
    };
    let ((named_a, key_a), (named_b, key_b)) = (key(a), key(b));
    named_a
        .cmp(&named_b)
        .then_with(|| path_order(&key_a, &key_b))
}

/// Writes a partial result: [`CaseEvents`] as lines, then the end line on [`finish`].
///
/// [`finish`]: PartialWriter::finish
pub struct PartialWriter<W: Write> {
    out: W,
    /// Each line is made here, then written in one piece.
    line: Vec<u8>,
    counts: PartialEnd,
    error: Option<io::Error>,
}

impl<W: Write> PartialWriter<W> {
    /// Starts a partial result with its header.
    pub fn begin(out: W, header: PartialHeader) -> Self {
        let mut writer = PartialWriter {
            out,
            line: Vec::new(),
            counts: PartialEnd::default(),
            error: None,
        };
        writer.line(&PartialLine::Begin(header));
        writer
    }

    fn line(&mut self, line: &PartialLine) {
        if self.error.is_some() {
            return;
        }
        self.line.clear();
        let written = crate::sink::json_write::append_json(&mut self.line, line)
            .map_err(io::Error::from)
            .and_then(|()| {
                self.line.push(b'\n');
                self.out.write_all(&self.line)
            });
        if let Err(e) = written {
            self.error = Some(e);
        }
    }

    /// The start of one range of a large file (as asked), before its findings.
    pub fn range_start(&mut self, path: String, start: u64) {
        self.line(&PartialLine::RangeStart { path, start });
    }

    /// One range of a large file, after its findings.
    pub fn range(&mut self, report: RangeReport) {
        self.counts.inputs += 1;
        self.line(&PartialLine::Range(Box::new(report)));
    }

    /// The digest of a file scanned in ranges.
    pub fn digest(&mut self, digest: DigestPart) {
        self.counts.inputs += 1;
        self.line(&PartialLine::Digest(digest));
    }

    /// Writes the end line and flushes; the first write error, if any.
    pub fn finish(mut self) -> io::Result<W> {
        self.line(&PartialLine::End(self.counts));
        if let Some(e) = self.error {
            return Err(e);
        }
        self.out.flush()?;
        Ok(self.out)
    }
}

impl<W: Write> CaseEvents for PartialWriter<W> {
    fn problems(&mut self, problems: Vec<Problem>) {
        if !problems.is_empty() {
            self.line(&PartialLine::Problems { problems });
        }
    }

    fn finding(&mut self, finding: Finding) {
        self.counts.findings += 1;
        self.line(&PartialLine::Finding(Box::new(finding)));
    }

    fn input(&mut self, part: InputPart) {
        self.counts.inputs += 1;
        self.line(&PartialLine::Input(Box::new(part)));
    }

    fn host(&mut self, report: HostReport) {
        self.counts.hosts += 1;
        self.line(&PartialLine::Host(Box::new(report)));
    }
}

/// Why a partial result cannot be merged.
#[derive(Debug, thiserror::Error)]
pub enum PartialError {
    #[error("line {line}: {message}")]
    Line { line: u64, message: String },
    #[error("cannot read: {0}")]
    Read(#[from] io::Error),
    #[error("not a partial result of this wormtrace (format {PARTIAL_FORMAT}): the first line is no header")]
    NoHeader,
    #[error("ends before its end line: the scan that wrote it did not finish")]
    Truncated,
    #[error("its end line counts {expected:?}, but the lines hold {found:?}")]
    Counts {
        expected: PartialEnd,
        found: PartialEnd,
    },
    #[error("was made with other settings than the first partial result ({what} differ)")]
    Settings { what: &'static str },
}

/// Reads the lines of one partial result in order, one at a time.
pub struct PartialReader<R: BufRead> {
    input: R,
    line_no: u64,
    buffer: String,
    /// The next line, read but not yet taken.
    peeked: Option<PartialLine>,
    counts: PartialEnd,
    ended: bool,
}

impl<R: BufRead> PartialReader<R> {
    /// Reads the header.
    pub fn open(input: R) -> Result<(Self, PartialHeader), PartialError> {
        let mut reader = PartialReader {
            input,
            line_no: 0,
            buffer: String::new(),
            peeked: None,
            counts: PartialEnd::default(),
            ended: false,
        };
        match reader.read_line()? {
            Some(PartialLine::Begin(header)) if header.wormtrace_partial == PARTIAL_FORMAT => {
                Ok((reader, header))
            }
            _ => Err(PartialError::NoHeader),
        }
    }

    fn read_line(&mut self) -> Result<Option<PartialLine>, PartialError> {
        loop {
            self.buffer.clear();
            if self.input.read_line(&mut self.buffer)? == 0 {
                return Ok(None);
            }
            self.line_no += 1;
            if self.buffer.trim().is_empty() {
                continue;
            }
            return serde_json::from_str(&self.buffer)
                .map(Some)
                .map_err(|e| PartialError::Line {
                    line: self.line_no,
                    message: e.to_string(),
                });
        }
    }

    /// The next line without taking it; None at the end line (checked) or the end of input.
    pub fn peek(&mut self) -> Result<Option<&PartialLine>, PartialError> {
        if self.peeked.is_none() && !self.ended {
            match self.read_line()? {
                Some(PartialLine::End(expected)) => {
                    if expected != self.counts {
                        return Err(PartialError::Counts {
                            expected,
                            found: self.counts,
                        });
                    }
                    self.ended = true;
                }
                Some(PartialLine::Begin(_)) => {
                    return Err(PartialError::Line {
                        line: self.line_no,
                        message: "a second header".into(),
                    })
                }
                Some(line) => self.peeked = Some(line),
                None => return Err(PartialError::Truncated),
            }
        }
        Ok(self.peeked.as_ref())
    }

    /// Takes the next line (after [`peek`](Self::peek) saw it).
    pub fn take(&mut self) -> Result<Option<PartialLine>, PartialError> {
        self.peek()?;
        let line = self.peeked.take();
        match &line {
            Some(PartialLine::Finding(_)) => self.counts.findings += 1,
            Some(PartialLine::Input(_) | PartialLine::Range(_) | PartialLine::Digest(_)) => {
                self.counts.inputs += 1
            }
            Some(PartialLine::Host(_)) => self.counts.hosts += 1,
            _ => {}
        }
        Ok(line)
    }
}

/// Checks that `other` was made with the settings of `first`.
pub fn same_settings(first: &PartialHeader, other: &PartialHeader) -> Result<(), PartialError> {
    let what = if first.rules != other.rules || first.rule_pack_sha256 != other.rule_pack_sha256 {
        "the rules"
    } else if first.internal != other.internal {
        "--internal"
    } else if (first.spread_threshold, first.spread_window)
        != (other.spread_threshold, other.spread_window)
    {
        "--spread-threshold or --spread-window"
    } else if first.input_hash != other.input_hash {
        "--hash"
    } else if first.reading != other.reading {
        "the reading options (--local-offset, --client-from, --trusted-proxy, --all-hits, --since, --until, --max-line)"
    } else {
        return Ok(());
    };
    Err(PartialError::Settings { what })
}
