//! `wormtrace merge`: partial results of `scan --partial` replayed into one case, or into
//! one merged partial result (merges can be stacked in any tree shape).
//!
//! Each partial result lists its inputs in path order, so the merge streams them: it holds
//! one line per partial result, takes the input with the smallest path among them, and
//! replays that input's findings and part before looking again. Memory does not grow with
//! the findings; only the swept hosts (a few per case) are held, to put them in order.

use std::io::{self, BufRead, BufReader, Write};
use std::path::PathBuf;

use super::args::MergeArgs;
use super::case::{Case, CaseEvents, Sinks};
use super::console::Console;
use super::partial::{
    host_order, path_order, same_settings, PartialError, PartialHeader, PartialLine, PartialReader,
    PartialWriter,
};
use super::ranges::{replay_options, RangeJoin};
use super::scan::{
    internal_or_default, judge, open_sinks, read_inventory, run_info, summary_options,
};
use super::{check_outputs, detector_for, lang_from_env, output_writer, ExitStatus, RunError};
use crate::detect::Detector;
use crate::net::spread::SpreadOptions;
use crate::scan::ScanOptions;
use crate::source::HashChoice;
use crate::verdict::Aggregator;

/// One partial result being read, with the name errors give it.
struct Source {
    path: PathBuf,
    reader: PartialReader<Box<dyn BufRead>>,
}

impl Source {
    fn failed(&self, source: PartialError) -> RunError {
        RunError::Partial {
            path: self.path.clone(),
            source,
        }
    }

    fn peek(&mut self) -> Result<Option<&PartialLine>, RunError> {
        let path = &self.path;
        self.reader.peek().map_err(|source| RunError::Partial {
            path: path.clone(),
            source,
        })
    }

    fn take(&mut self) -> Result<Option<PartialLine>, RunError> {
        self.reader.take().map_err(|e| self.failed(e))
    }
}

pub(super) fn run_merge(args: MergeArgs) -> Result<ExitStatus, RunError> {
    let lang = args.summary.lang.unwrap_or_else(lang_from_env);
    let mut console = Console::new(args.quiet, lang);
    check_merge_outputs(&args)?;
    let (detector, rule_errors) = detector_for(&args.rules, args.quiet)?;
    let inventory = read_inventory(args.inventory.as_deref())?;
    let (mut sources, header) = open_sources(&args.partials)?;
    let info = run_info(&detector, header.input_hash);
    if info.rules != header.rules || info.rule_pack_sha256 != header.rule_pack_sha256 {
        return Err(RunError::Partial {
            path: args.partials[0].clone(),
            source: PartialError::Settings {
                what: "the rules (give merge the --rules the scans had)",
            },
        });
    }
    let options = replay_options(&header.reading);
    let mut ctx = Replay {
        console: &mut console,
        detector: &detector,
        options,
        hash: header.input_hash,
    };
    if args.partial {
        let out = output_writer(args.outputs.output.as_deref())?;
        let mut writer = PartialWriter::begin(out, header);
        replay(&mut sources, &mut ctx, &mut writer)?;
        writer.finish()?;
        return Ok(ExitStatus::Clean);
    }
    let internal: Vec<ipnet::IpNet> = header
        .internal
        .iter()
        .filter_map(|n| n.parse().ok())
        .collect();
    let summary = summary_options(lang, args.summary.tz);
    let sinks = Sinks::new(open_sinks(&args.outputs, args.quiet, summary)?);
    let mut case = Case::begin(
        sinks,
        &info,
        Aggregator::new(internal_or_default(&internal)),
    );
    case.correlate(detector.correlations().to_vec());
    replay(&mut sources, &mut ctx, &mut case)?;
    let spread = SpreadOptions::of(
        detector.spreading(),
        Some(header.spread_threshold),
        Some(header.spread_window),
    );
    judge(case, &spread, inventory, rule_errors)
}

fn check_merge_outputs(args: &MergeArgs) -> Result<(), RunError> {
    if args
        .partials
        .iter()
        .filter(|p| p.as_os_str() == "-")
        .count()
        > 1
    {
        return Err(RunError::Partial {
            path: PathBuf::from("-"),
            source: PartialError::Read(io::Error::other("standard input named twice")),
        });
    }
    let outputs = args.outputs.paths();
    let outputs: Vec<&std::path::Path> = outputs.iter().map(PathBuf::as_path).collect();
    let inputs: Vec<&std::path::Path> = args.partials.iter().map(PathBuf::as_path).collect();
    check_outputs(&outputs, &inputs)
}

/// Opens every partial result and checks that they share their settings.
fn open_sources(paths: &[PathBuf]) -> Result<(Vec<Source>, PartialHeader), RunError> {
    let mut sources = Vec::new();
    let mut first: Option<PartialHeader> = None;
    for path in paths {
        let failed = |source: PartialError| RunError::Partial {
            path: path.clone(),
            source,
        };
        let input: Box<dyn BufRead> = if path.as_os_str() == "-" {
            Box::new(io::stdin().lock())
        } else {
            let file =
                crate::source::open_read_only(path).map_err(|e| failed(PartialError::Read(e)))?;
            Box::new(BufReader::with_capacity(1 << 16, file))
        };
        let (reader, header) = PartialReader::open(input).map_err(failed)?;
        match &first {
            Some(f) => same_settings(f, &header).map_err(failed)?,
            None => first = Some(header),
        }
        sources.push(Source {
            path: path.clone(),
            reader,
        });
    }
    let header = first.ok_or_else(|| RunError::Partial {
        path: PathBuf::from("-"),
        source: PartialError::NoHeader,
    })?;
    Ok((sources, header))
}

/// What replaying needs besides the events' destination.
struct Replay<'a> {
    console: &'a mut Console,
    detector: &'a Detector,
    /// The reading options of the scans, for the kept lines of ranges.
    options: ScanOptions,
    hash: HashChoice,
}

/// Replays the partial results into `events` in the order one scan makes them: planning
/// problems (by path), each input's findings and part (inputs by path; the ranges of a file
/// joined), then the hosts.
fn replay(
    sources: &mut [Source],
    ctx: &mut Replay<'_>,
    events: &mut dyn MergeTarget,
) -> Result<(), RunError> {
    let mut problems = Vec::new();
    for source in sources.iter_mut() {
        while let Some(PartialLine::Problems { .. }) = source.peek()? {
            if let Some(PartialLine::Problems { problems: more }) = source.take()? {
                problems.extend(more);
            }
        }
    }
    problems.sort_by(|a, b| path_order(&a.path, &b.path));
    problems.iter().for_each(|p| ctx.console.problem(p));
    events.case().problems(problems);
    replay_inputs(sources, ctx, events)?;
    let mut hosts = Vec::new();
    for source in sources.iter_mut() {
        while let Some(PartialLine::Host(_)) = source.peek()? {
            if let Some(PartialLine::Host(host)) = source.take()? {
                hosts.push(*host);
            }
        }
        if source.peek()?.is_some() {
            return Err(source.failed(PartialError::Line {
                line: 0,
                message: "lines out of order (inputs must come before hosts)".into(),
            }));
        }
    }
    hosts.sort_by(host_order);
    for host in hosts {
        host.problems.iter().for_each(|p| ctx.console.problem(p));
        events.case().host(host);
    }
    Ok(())
}

/// Every input of every source, in path order; ranges of one file joined into one input.
fn replay_inputs(
    sources: &mut [Source],
    ctx: &mut Replay<'_>,
    events: &mut dyn MergeTarget,
) -> Result<(), RunError> {
    let Replay {
        console,
        detector,
        options,
        hash,
    } = ctx;
    let mut join: Option<RangeJoin<'_>> = None;
    while let Some((next, path)) = next_input(sources)? {
        if join.as_ref().is_some_and(|j| j.path() != path) {
            finish_join(join.take(), console, events.case());
        }
        let source = &mut sources[next];
        if let Some(writer) = events.passing_ranges() {
            if pass_range(source, writer)? {
                continue;
            }
        }
        let events = events.case();
        match source.take()? {
            Some(PartialLine::RangeStart { path, .. }) => {
                let j = join.get_or_insert_with(|| RangeJoin::new(path, detector, options, *hash));
                replay_range(source, j, events)?;
            }
            Some(PartialLine::Digest(digest)) => {
                // A digest of a file scanned whole elsewhere has nothing to join.
                if let Some(j) = join.as_mut() {
                    j.digest(digest);
                }
            }
            Some(first) => replay_input(first, source, console, events)?,
            None => {}
        }
    }
    finish_join(join, console, events.case());
    Ok(())
}

/// Where a merge replays to: a case, or a merged partial result, which passes the ranges
/// of files on unjoined (the other ranges of a file may be in another branch of the merge).
trait MergeTarget {
    /// The case events.
    fn case(&mut self) -> &mut dyn CaseEvents;
    /// The partial result that takes ranges as they are, if this is one.
    fn passing_ranges(&mut self) -> Option<&mut PartialWriter<Box<dyn Write>>> {
        None
    }
}

impl MergeTarget for Case {
    fn case(&mut self) -> &mut dyn CaseEvents {
        self
    }
}

impl MergeTarget for PartialWriter<Box<dyn Write>> {
    fn case(&mut self) -> &mut dyn CaseEvents {
        self
    }
    fn passing_ranges(&mut self) -> Option<&mut PartialWriter<Box<dyn Write>>> {
        Some(self)
    }
}

/// Copies the next range or digest of `source` to `writer`; false when the next input is
/// a whole one.
fn pass_range(
    source: &mut Source,
    writer: &mut PartialWriter<Box<dyn Write>>,
) -> Result<bool, RunError> {
    match source.peek()? {
        Some(PartialLine::RangeStart { .. } | PartialLine::Digest(_)) => {}
        _ => return Ok(false),
    }
    loop {
        match source.take()? {
            Some(PartialLine::RangeStart { path, start }) => writer.range_start(path, start),
            Some(PartialLine::Finding(f)) => CaseEvents::finding(writer, *f),
            Some(PartialLine::Range(range)) => {
                writer.range(*range);
                return Ok(true);
            }
            Some(PartialLine::Digest(digest)) => {
                writer.digest(digest);
                return Ok(true);
            }
            _ => {
                return Err(source.failed(PartialError::Line {
                    line: 0,
                    message: "a range's start without its end".into(),
                }))
            }
        }
    }
}

fn finish_join(join: Option<RangeJoin<'_>>, console: &mut Console, events: &mut dyn CaseEvents) {
    if let Some(join) = join {
        let part = join.finish();
        part.problems.iter().for_each(|p| console.problem(p));
        events.input(part);
    }
}

/// One range of one source: its direct findings, then its report.
fn replay_range(
    source: &mut Source,
    join: &mut RangeJoin<'_>,
    events: &mut dyn CaseEvents,
) -> Result<(), RunError> {
    loop {
        match source.take()? {
            Some(PartialLine::Finding(f)) => join.finding(*f, events),
            Some(PartialLine::Range(range)) => {
                join.range(*range, events);
                return Ok(());
            }
            _ => {
                return Err(source.failed(PartialError::Line {
                    line: 0,
                    message: "a range's start without its end".into(),
                }))
            }
        }
    }
}

/// The source whose next input comes first (by path, then range start), and that path.
/// The first source wins a tie, so one input split by mistake over two results stays whole
/// in each.
fn next_input(sources: &mut [Source]) -> Result<Option<(usize, String)>, RunError> {
    let mut best: Option<(usize, String, u64)> = None;
    for (i, source) in sources.iter_mut().enumerate() {
        let Some((path, start)) = source.peek()?.and_then(PartialLine::input_key) else {
            continue;
        };
        let earlier = best.as_ref().is_none_or(|(_, p, s)| {
            path_order(path, p).then(start.cmp(s)) == std::cmp::Ordering::Less
        });
        if earlier {
            best = Some((i, path.to_string(), start));
        }
    }
    Ok(best.map(|(i, path, _)| (i, path)))
}

/// One input of one source: its findings (from `first`), then its part.
fn replay_input(
    first: PartialLine,
    source: &mut Source,
    console: &mut Console,
    events: &mut dyn CaseEvents,
) -> Result<(), RunError> {
    let mut line = Some(first);
    loop {
        match line.take() {
            Some(PartialLine::Finding(f)) => events.finding(*f),
            Some(PartialLine::Input(part)) => {
                part.problems.iter().for_each(|p| console.problem(p));
                events.input(*part);
                return Ok(());
            }
            _ => {
                return Err(source.failed(PartialError::Line {
                    line: 0,
                    message: "findings without the input they belong to".into(),
                }))
            }
        }
        line = source.take()?;
    }
}
