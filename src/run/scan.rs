//! `wormtrace scan`: plan the inputs, scan logs, captures and tables, sweep hosts, and build
//! the case: every result goes to the sinks as events, and the case judges one verdict per
//! host. Decides the exit status.

use std::collections::BTreeMap;
use std::io::{self, BufWriter, IsTerminal, Read, Write};
use std::path::PathBuf;

use super::args::{OutputArgs, OutputFormat, ScanArgs, LONG_VERSION};
use super::case::{Case, CaseEvents, InputPart, Sinks};
use super::console::Console;
use super::partial::{
    host_order, DigestPart, PartialHeader, PartialWriter, ReadingSettings, PARTIAL_FORMAT,
};
use super::{check_outputs, detector_for, lang_from_env, output_writer, ExitStatus, RunError};
use crate::detect::pack::builtin_pack;
use crate::detect::Detector;
use crate::host::{group_loose_evidence, plan_hosts, sweep, volume_roots, HostSpec, SweepOptions};
use crate::identity::{parse_inventory, InventoryEntry};
use crate::model::Timestamp;
use crate::net::is_network_file;
use crate::net::spread::SpreadOptions;
use crate::scan::range::{scan_range, ByteRange};
use crate::scan::{scan_all, ScanEvent, ScanOptions};
use crate::sink::atomic::AtomicFile;
use crate::sink::{
    CaseSink, CsvSink, HtmlOptions, HtmlSink, IocSink, JsonSink, JsonlSink, RuleInfo, RunInfo,
    Sink, SummaryOptions, SummarySink,
};
use crate::source::{expand, Problem, WalkOptions};
use crate::verdict::{default_internal, Aggregator};

pub(super) fn run_scan(args: ScanArgs) -> Result<ExitStatus, RunError> {
    let lang = args.summary.lang.unwrap_or_else(lang_from_env);
    let mut console = Console::new(args.quiet, lang);
    check_scan_outputs(&args)?;
    let (detector, rule_errors) = detector_for(&args.rules, args.quiet)?;
    let inventory = read_inventory(args.inventory.as_deref())?;
    let mut problems = Vec::new();
    let (mut inputs, hosts, host_names) = plan_inputs(&args, &mut problems);
    if args.partial {
        // Partial results are merged in path order: each one lists its inputs so.
        inputs.sort_by(|a, b| super::partial::path_order(&a.label(), &b.label()));
    }
    problems.iter().for_each(|p| console.problem(p));
    console.stdin_hint(&inputs);
    let field_map = super::field_map_for(&args.reading)?;
    let mut options = scan_options(&args, host_names, field_map);
    options.progress = console.start_progress(args.progress, &inputs);
    let plan = Plan {
        detector: &detector,
        options: &options,
        inputs: &inputs,
        hosts,
        deep: args.deep,
    };
    if args.partial {
        let out = output_writer(args.outputs.output.as_deref())?;
        let header = partial_header(&detector, &args);
        let mut writer = PartialWriter::begin(out, header);
        writer.problems(problems);
        if let Some(range) = args.range {
            let head = read_range_head(&args)?;
            partial_range(plan, range, head, &mut console, &mut writer)?;
        } else if args.digest_only {
            for input in plan.inputs {
                writer.digest(digest_part(input, args.hash)?);
            }
        } else {
            gather(plan, &mut console, &mut writer);
        }
        writer.finish()?;
        return Ok(ExitStatus::Clean);
    }
    let summary = summary_options(lang, args.summary.tz);
    let sinks = Sinks::new(open_sinks(&args.outputs, args.quiet, summary)?);
    let mut case = Case::begin(
        sinks,
        &run_info(&detector, args.hash),
        Aggregator::new(internal_or_default(&args.internal)),
    );
    case.problems(problems);
    case.correlate(detector.correlations().to_vec());
    gather(plan, &mut console, &mut case);
    let spread = spread_options(&detector, &args);
    judge(case, &spread, inventory, rule_errors)
}

/// What a scan reads: its inputs and hosts, with the rules and options to read them by.
struct Plan<'a> {
    detector: &'a Detector,
    options: &'a ScanOptions,
    inputs: &'a [crate::source::Input],
    hosts: Vec<HostSpec>,
    deep: bool,
}

/// Scans the inputs and sweeps the hosts, handing every result to `events` in order:
/// each input's findings then its part, then the hosts (in [`host_order`]).
fn gather(plan: Plan<'_>, console: &mut Console, events: &mut dyn CaseEvents) {
    let mut loose_evidence = Vec::new();
    // Reports come in input order: the n-th names the n-th input.
    let mut done = plan.inputs.iter();
    scan_all(
        plan.inputs,
        plan.detector,
        plan.options,
        |event| match event {
            ScanEvent::Finding(finding) => events.finding(finding),
            ScanEvent::Done(report) => {
                console.input_done(report.findings);
                let input = done.next();
                if let (Some(kind), Some(crate::source::Input::File(path))) =
                    (report.host_evidence, input)
                {
                    loose_evidence.push((path.clone(), kind));
                    return;
                }
                report.problems.iter().for_each(|p| console.problem(p));
                events.input(InputPart::of(report));
            }
        },
    );
    console.finish_progress();
    let mut hosts = plan.hosts;
    hosts.extend(group_loose_evidence(loose_evidence));
    let sweep_options = SweepOptions {
        deep: plan.deep,
        hash: plan.options.hash,
    };
    let mut reports: Vec<_> = hosts
        .iter()
        .map(|spec| sweep(spec, sweep_options))
        .collect();
    reports.sort_by(host_order);
    for report in reports {
        report.problems.iter().for_each(|p| console.problem(p));
        events.host(report);
    }
}

/// `--range`: one range of the one input named.
fn partial_range(
    plan: Plan<'_>,
    range: ByteRange,
    head: Option<Vec<u8>>,
    console: &mut Console,
    writer: &mut PartialWriter<Box<dyn Write>>,
) -> Result<(), RunError> {
    let [input] = plan.inputs else {
        return Err(RunError::RangeInputs(plan.inputs.len()));
    };
    writer.range_start(input.label(), range.start);
    let mut emit = |f| writer.finding(f);
    let report = scan_range(input, range, head, plan.detector, plan.options, &mut emit);
    report.problems.iter().for_each(|p| console.problem(p));
    writer.range(report);
    Ok(())
}

/// `--head FILE`: the first bytes of the log a range of standard input comes from.
fn read_range_head(args: &ScanArgs) -> Result<Option<Vec<u8>>, RunError> {
    let Some(path) = &args.head else {
        return Ok(None);
    };
    let mut head = Vec::new();
    crate::source::open_read_only(path)
        .and_then(|f| f.take(64 * 1024).read_to_end(&mut head))
        .map_err(|source| RunError::Read {
            path: path.clone(),
            source,
        })?;
    Ok(Some(head))
}

/// `--digest-only`: the SHA-256 and size of an input as stored.
fn digest_part(
    input: &crate::source::Input,
    hash: crate::source::HashChoice,
) -> Result<DigestPart, RunError> {
    let failed = |source| RunError::Read {
        path: PathBuf::from(input.label()),
        source,
    };
    let digest = crate::source::open_counted(input, None, hash)
        .and_then(crate::source::Opened::finish)
        .map_err(failed)?;
    Ok(DigestPart {
        path: input.label(),
        sha256: digest.sha256,
        size: digest.size,
    })
}

/// Judges a case and says how the run ended. A skipped input is as unread as a broken one:
/// a run that read less than it was given must not look clean.
pub(super) fn judge(
    case: Case,
    spread: &SpreadOptions,
    inventory: Vec<InventoryEntry>,
    rule_errors: usize,
) -> Result<ExitStatus, RunError> {
    let (mut sinks, totals) = case.finish(spread, inventory);
    sinks.result()?;
    let not_read = rule_errors as u64 + totals.problems;
    Ok(
        if totals.findings + totals.host_findings + totals.spreading > 0 {
            ExitStatus::Found
        } else if not_read > 0 {
            ExitStatus::Incomplete
        } else {
            ExitStatus::Clean
        },
    )
}

/// `--internal`, else the private and local ranges.
pub(super) fn internal_or_default(internal: &[ipnet::IpNet]) -> Vec<ipnet::IpNet> {
    if internal.is_empty() {
        default_internal()
    } else {
        internal.to_vec()
    }
}

/// How the summary is shown: language, colour on a terminal, width, zone.
pub(super) fn summary_options(lang: crate::i18n::Lang, tz: chrono::FixedOffset) -> SummaryOptions {
    SummaryOptions {
        lang,
        color: io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
        width: summary_width(),
        tz,
    }
}

/// The loaded spreading correlation's numbers, the command line's over them.
fn spread_options(detector: &Detector, args: &ScanArgs) -> SpreadOptions {
    SpreadOptions::of(
        detector.spreading(),
        args.spread_threshold,
        args.spread_window,
    )
}

/// The settings a partial result carries for its merge.
fn partial_header(detector: &Detector, args: &ScanArgs) -> PartialHeader {
    let info = run_info(detector, args.hash);
    let spread = spread_options(detector, args);
    PartialHeader {
        wormtrace_partial: PARTIAL_FORMAT,
        version: info.version,
        rule_pack_sha256: info.rule_pack_sha256,
        rules: info.rules,
        input_hash: args.hash,
        internal: args.internal.iter().map(ToString::to_string).collect(),
        spread_threshold: spread.threshold,
        spread_window: spread.window_secs,
        reading: ReadingSettings {
            local_offset: args.reading.local_offset.to_string(),
            client_from: args.reading.client_from.name().to_string(),
            trusted_proxy: args
                .reading
                .trusted_proxy
                .iter()
                .map(ToString::to_string)
                .collect(),
            all_hits: args.all_hits,
            since: args.since,
            until: args.until,
            max_line: args.max_line,
            repeats: args.repeats,
        },
    }
}

/// Every output path of a scan, checked against every input path.
fn check_scan_outputs(args: &ScanArgs) -> Result<(), RunError> {
    let outputs = args.outputs.paths();
    let outputs: Vec<&std::path::Path> = outputs.iter().map(PathBuf::as_path).collect();
    let inputs: Vec<&std::path::Path> = args
        .paths
        .iter()
        .chain(args.hosts.iter().flat_map(|(_, paths)| paths))
        .map(PathBuf::as_path)
        .collect();
    check_outputs(&outputs, &inputs)
}

/// What the run is, for the sinks' `begin`: version, arguments, start, rules.
pub(super) fn run_info(detector: &Detector, input_hash: crate::source::HashChoice) -> RunInfo {
    let started = chrono::Utc::now().fixed_offset();
    RunInfo {
        version: LONG_VERSION.lines().next().unwrap_or_default().to_string(),
        arguments: std::env::args().collect(),
        started: Some(Timestamp(started)),
        rule_pack_sha256: builtin_pack().0.to_string(),
        rules: detector
            .rules()
            .iter()
            .map(|r| RuleInfo {
                id: r.id.clone(),
                title: r.title.clone(),
                level: r.level.name().to_string(),
                family: r.family.clone(),
                source: r.source.clone(),
                source_sha256: r.source_sha256.clone(),
            })
            .collect(),
        input_hash,
    }
}

pub(super) fn read_inventory(
    path: Option<&std::path::Path>,
) -> Result<Vec<InventoryEntry>, RunError> {
    let Some(path) = path else {
        return Ok(Vec::new());
    };
    let failed = |message: String| RunError::Inventory {
        path: path.to_path_buf(),
        message,
    };
    let bytes = std::fs::read(path).map_err(|e| failed(e.to_string()))?;
    parse_inventory(&bytes).map_err(|e| failed(e.to_string()))
}

/// `-j`, else every core.
fn thread_count(args: &ScanArgs) -> usize {
    args.threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

fn scan_options(
    args: &ScanArgs,
    host_names: BTreeMap<String, String>,
    field_map: std::sync::Arc<crate::record::FieldMap>,
) -> ScanOptions {
    ScanOptions {
        format_hint: args.reading.format_hint,
        local_offset: args.reading.local_offset,
        all_hits: args.all_hits,
        max_line: args.max_line,
        threads: thread_count(args),
        host_names,
        spread_window_secs: args.spread_window.map(|w| w.max(1)),
        split_min_bytes: args.split_min_bytes.max(1),
        progress: None,
        hash: args.hash,
        max_bytes: args.max_bytes,
        window: crate::model::TimeWindow {
            since: args.since,
            before: args.until,
        },
        field_map,
        client: std::sync::Arc::new(args.reading.client_policy()),
        claim_host_evidence: true,
        repeats: args.repeats,
    }
}

/// Columns the summary's prose wraps to: the terminal's width, else `COLUMNS`, else none
/// (a summary written to a file or pipe keeps whole lines).
pub(super) fn summary_width() -> Option<usize> {
    if io::stdout().is_terminal() {
        if let Some((terminal_size::Width(w), _)) = terminal_size::terminal_size() {
            return Some(usize::from(w));
        }
    }
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse::<usize>().ok())
        .filter(|&w| w > 0)
}

/// The log and network inputs, the hosts to sweep, and the host names of connection tables.
fn plan_inputs(
    args: &ScanArgs,
    problems: &mut Vec<Problem>,
) -> (
    Vec<crate::source::Input>,
    Vec<HostSpec>,
    BTreeMap<String, String>,
) {
    let (host_args, host_names, network_paths) = split_network_hosts(&args.hosts);
    let listings = crate::source::Listings::default();
    let (hosts, mut log_paths) = plan_hosts(&args.paths, &host_args, &listings, problems);
    log_paths.extend(network_paths);
    let skip = volume_roots(&hosts);
    let walk = WalkOptions {
        follow: args.follow,
        skip: &skip,
        listed: Some(&listings),
    };
    let mut inputs = expand(&log_paths, walk, problems);
    if let Some(name) = &args.source {
        for input in &mut inputs {
            if let crate::source::Input::Stdin(named) = input {
                *named = Some(name.clone());
            }
        }
    }
    (inputs, hosts, host_names)
}

/// Named evidence split by kind: `--host` entries for the host sweep, the host names of
/// captures and connection tables (by path), and those paths (scanned like logs).
type HostSplit = (
    Vec<(String, Vec<PathBuf>)>,
    BTreeMap<String, String>,
    Vec<PathBuf>,
);

fn split_network_hosts(named: &[(String, Vec<PathBuf>)]) -> HostSplit {
    let mut host_args = Vec::new();
    let mut names = BTreeMap::new();
    let mut network_paths = Vec::new();
    for (name, paths) in named {
        // Standard input cannot be looked at twice: it is taken as a table or capture (a log
        // read from it simply does not use the name).
        let (network, host): (Vec<PathBuf>, Vec<PathBuf>) = paths
            .iter()
            .cloned()
            .partition(|p| p.as_os_str() == "-" || is_stream(p) || is_network_file(p));
        let had_network = !network.is_empty();
        for p in network {
            names.insert(p.display().to_string(), name.clone());
            network_paths.push(p);
        }
        if !host.is_empty() || !had_network {
            host_args.push((name.clone(), host));
        }
    }
    (host_args, names, network_paths)
}

/// A pipe, FIFO or device named as a path: read once, as a table or capture like `-`.
fn is_stream(path: &std::path::Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| !m.is_file() && !m.is_dir())
}

pub(super) fn open_sinks(
    args: &OutputArgs,
    quiet: bool,
    summary: SummaryOptions,
) -> Result<Vec<Box<dyn Sink>>, RunError> {
    let stdout = || -> Box<dyn Write> { Box::new(BufWriter::new(io::stdout())) };
    let machine_out = output_writer(args.output.as_deref())?;
    let mut sinks: Vec<Box<dyn Sink>> = Vec::new();
    if let Some(file) = &args.case {
        let sink = CaseSink::create(file).map_err(|source| RunError::CreateOutput {
            path: file.clone(),
            source,
        })?;
        sinks.push(Box::new(sink));
    }
    if let Some(file) = &args.report {
        let out = AtomicFile::create(file).map_err(|source| RunError::CreateOutput {
            path: file.clone(),
            source,
        })?;
        let options = HtmlOptions {
            lang: summary.lang,
            tz: summary.tz,
        };
        sinks.push(Box::new(HtmlSink::new(out.committing(), options)));
    }
    if let Some(file) = &args.iocs {
        let sink =
            IocSink::new(file, chrono::Utc::now()).map_err(|source| RunError::CreateOutput {
                path: file.clone(),
                source,
            })?;
        sinks.push(Box::new(sink));
    }
    match args.format {
        OutputFormat::Summary => {
            sinks.push(Box::new(SummarySink::new(machine_out, summary)));
            return Ok(sinks);
        }
        OutputFormat::Jsonl => sinks.push(Box::new(JsonlSink::new(machine_out))),
        OutputFormat::Json => sinks.push(Box::new(JsonSink::new(machine_out))),
        OutputFormat::Csv => sinks.push(Box::new(CsvSink::new(machine_out))),
    }
    if args.output.is_some() && !quiet {
        sinks.push(Box::new(SummarySink::new(stdout(), summary)));
    }
    Ok(sinks)
}
