//! `wormtrace merge`: partial results of `scan --partial` replayed into one case, or into
//! one merged partial result (merges can be stacked in any tree shape).
//!
//! Each partial result lists its inputs in path order, so the merge streams them: it holds
//! one line per partial result, takes the input with the smallest path among them, and
//! replays that input's findings and part before looking again. Memory does not grow with
//! the findings; only the swept hosts (a few per case) are held, to put them in order.

use std::io::{self, BufRead, BufReader};
use std::path::PathBuf;

use super::args::MergeArgs;
use super::case::{Case, CaseEvents, Sinks};
use super::console::Console;
use super::partial::{
    host_order, path_order, same_settings, PartialError, PartialHeader, PartialLine, PartialReader,
    PartialWriter,
};
use super::scan::{
    internal_or_default, judge, open_sinks, read_inventory, run_info, summary_options,
};
use super::{check_outputs, detector_for, lang_from_env, output_writer, ExitStatus, RunError};
use crate::net::spread::SpreadOptions;
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
        match self.reader.peek() {
            Ok(line) => Ok(line),
            Err(e) => Err(RunError::Partial {
                path: self.path.clone(),
                source: e,
            }),
        }
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
    if args.partial {
        let out = output_writer(args.outputs.output.as_deref())?;
        let mut writer = PartialWriter::begin(out, header);
        replay(&mut sources, &mut console, &mut writer)?;
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
    replay(&mut sources, &mut console, &mut case)?;
    let spread = SpreadOptions {
        threshold: header.spread_threshold.max(1),
        window_secs: header.spread_window.max(1),
    };
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
    let o = &args.outputs;
    let stix = o.iocs.as_ref().map(|f| crate::sink::iocs::ioc_paths(f).1);
    let outputs: Vec<&std::path::Path> = [&o.output, &o.case, &o.report, &o.iocs, &stix]
        .into_iter()
        .flatten()
        .map(PathBuf::as_path)
        .collect();
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

/// Replays the partial results into `events` in the order one scan makes them: planning
/// problems (by path), each input's findings and part (inputs by path), then the hosts.
fn replay(
    sources: &mut [Source],
    console: &mut Console,
    events: &mut dyn CaseEvents,
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
    problems.iter().for_each(|p| console.problem(p));
    events.problems(problems);
    while let Some(next) = next_input(sources)? {
        replay_input(&mut sources[next], console, events)?;
    }
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
        host.problems.iter().for_each(|p| console.problem(p));
        events.host(host);
    }
    Ok(())
}

/// The source whose next input comes first in path order (the first source on a tie, so
/// one input split by mistake over two results stays whole in each).
fn next_input(sources: &mut [Source]) -> Result<Option<usize>, RunError> {
    let mut best: Option<(usize, String)> = None;
    for (i, source) in sources.iter_mut().enumerate() {
        let Some(key) = source.peek()?.and_then(PartialLine::input_key) else {
            continue;
        };
        let earlier = best
            .as_ref()
            .is_none_or(|(_, b)| path_order(key, b) == std::cmp::Ordering::Less);
        if earlier {
            best = Some((i, key.to_string()));
        }
    }
    Ok(best.map(|(i, _)| i))
}

/// One input of one source: its findings, then its part.
fn replay_input(
    source: &mut Source,
    console: &mut Console,
    events: &mut dyn CaseEvents,
) -> Result<(), RunError> {
    loop {
        match source.take()? {
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
    }
}
