//! The `wormtrace` command line: argument parsing, wiring of the pipeline, exit codes.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use chrono::FixedOffset;
use clap::{Args, Parser, Subcommand, ValueEnum};
use ipnet::IpNet;

use wormtrace::detect::pack::{load_rules, rule_files, RuleOptions};
use wormtrace::detect::sigma::{Level, Placeholders, Rule};
use wormtrace::detect::Detector;
use wormtrace::host::{claim_host_files, plan_hosts, sweep, volume_roots, HostSpec, SweepOptions};
use wormtrace::i18n::{Lang, Messages};
use wormtrace::net::is_network_file;
use wormtrace::net::spread::{SpreadFinding, SpreadOptions, SpreadTallies};
use wormtrace::record::LogFormat;
use wormtrace::scan::{each_record, scan_all, ScanOptions, MIN_SPLIT_BYTES};
use wormtrace::sink::{
    CsvSink, JsonSink, JsonlSink, RecordLine, RunTotals, Sink, SummaryOptions, SummarySink,
};
use wormtrace::source::{expand_inputs, expand_inputs_except, Severity};
use wormtrace::verdict::{default_internal, Aggregator};

/// Hunts the traces of Code Red, Code Red II, Nimda and other IIS-era attacks in web-server logs.
#[derive(Parser)]
#[command(name = "wormtrace", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Scan logs (files, folders, `-` for standard input) and give a verdict per host.
    Scan(ScanArgs),
    /// List, check and measure detection rules.
    #[command(subcommand)]
    Rules(RulesCommand),
    /// Print every log line as a record in Sigma taxonomy fields (JSON Lines), no detection.
    Parse(ParseArgs),
}

#[derive(Args)]
struct ParseArgs {
    /// Files or folders to read; `-` reads standard input.
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,
    #[command(flatten)]
    reading: ReadingArgs,
    /// Write the records to this file.
    #[arg(long, short, value_name = "FILE")]
    output: Option<PathBuf>,
}

/// How inputs are read, shared by `scan` and `parse`.
#[derive(Args)]
struct ReadingArgs {
    /// Read every input as this format instead of detecting it
    /// (iis-w3c, iis-native, ncsa-common, ncsa-combined, apache-error, text).
    #[arg(long, value_name = "FORMAT", value_parser = parse_format)]
    format_hint: Option<LogFormat>,
    /// UTC offset of logs that write local time without one (IIS native, Apache error), e.g. +09:00.
    #[arg(long, value_name = "OFFSET", default_value = "+00:00", value_parser = parse_offset)]
    local_offset: FixedOffset,
}

#[derive(Args, Clone)]
struct RuleArgs {
    /// Add Sigma rules from this file or folder (repeatable).
    #[arg(long = "rules", value_name = "PATH")]
    rules: Vec<PathBuf>,
    /// Do not load the built-in Code Red family rules.
    #[arg(long)]
    no_builtin: bool,
    /// Drop rules below this level.
    #[arg(long, value_name = "LEVEL", default_value = "informational", value_parser = parse_level)]
    min_level: Level,
    /// YAML file of values for `%placeholder%`s of the `expand` modifier.
    #[arg(long, value_name = "FILE")]
    placeholders: Option<PathBuf>,
}

#[derive(Copy, Clone, PartialEq, Eq, ValueEnum)]
enum OutputFormat {
    /// A readable verdict with tables and advice (default).
    Summary,
    /// One JSON object per line.
    Jsonl,
    /// One JSON document.
    Json,
    /// Findings as CSV.
    Csv,
}

#[derive(Args)]
struct ScanArgs {
    /// Logs (files, folders, `-` for standard input) and host evidence (a mounted Windows
    /// volume, registry hives, .reg exports, MetaBase.xml, a saved `dir /s /a` listing).
    #[arg(required_unless_present = "hosts", value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// Evidence of one host: NAME=PATH[,PATH...] (C: and D: of one server give one verdict).
    #[arg(long = "host", value_name = "NAME=PATH,...", value_parser = parse_host)]
    hosts: Vec<(String, Vec<PathBuf>)>,
    /// On volumes, also walk inetpub and Program Files for copies of cmd.exe and readme.eml.
    #[arg(long)]
    deep: bool,
    #[command(flatten)]
    rules: RuleArgs,
    #[command(flatten)]
    reading: ReadingArgs,
    /// Output format.
    #[arg(long, value_enum, default_value = "summary")]
    format: OutputFormat,
    /// Write the output to this file (the summary still goes to the terminal).
    #[arg(long, short, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Language of the summary: ja or en (default from LC_ALL / LANG).
    #[arg(long, value_name = "LANG", value_parser = parse_lang)]
    lang: Option<Lang>,
    /// Our own networks (repeatable); default: the private and local ranges.
    #[arg(long, value_name = "CIDR")]
    internal: Vec<IpNet>,
    /// Distinct port-80 targets that make a source `spreading` (captures: within the window).
    #[arg(long, value_name = "N", default_value_t = 25)]
    spread_threshold: u64,
    /// Sliding window for port-80 SYNs in captures, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 300)]
    spread_window: i64,
    /// Worker threads (default: all cores).
    #[arg(long, short = 'j', value_name = "N")]
    threads: Option<usize>,
    /// Plain files at least this large are cut into chunks scanned in parallel (tests use
    /// small values to force many chunks).
    #[arg(long, value_name = "BYTES", default_value_t = MIN_SPLIT_BYTES, hide = true)]
    split_min_bytes: u64,
    /// Report every rule that hit a line, not only the most specific built-in family.
    #[arg(long)]
    all_hits: bool,
    /// Longest part of a line that is checked; the rest is counted.
    #[arg(long, value_name = "BYTES", default_value_t = 1 << 20)]
    max_line: usize,
    /// No progress or problem messages on standard error.
    #[arg(long, short)]
    quiet: bool,
}

#[derive(Subcommand)]
enum RulesCommand {
    /// Table of the loaded rules: id, title, level, family.
    List(RuleArgs),
    /// Validate rule files; errors name the file and line.
    Check {
        /// Rule files or folders.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// Prefilter atoms per rule, and rules that must see every line (slow).
    Stats(RuleArgs),
}

fn parse_level(s: &str) -> Result<Level, String> {
    Level::from_name(s)
        .ok_or_else(|| format!("unknown level '{s}' (informational, low, medium, high, critical)"))
}

fn parse_format(s: &str) -> Result<LogFormat, String> {
    LogFormat::from_name(s).ok_or_else(|| format!("unknown format '{s}'"))
}

fn parse_host(s: &str) -> Result<(String, Vec<PathBuf>), String> {
    wormtrace::host::parse_host_arg(s)
}

fn parse_lang(s: &str) -> Result<Lang, String> {
    Lang::from_code(s).ok_or_else(|| format!("unknown language '{s}' (ja or en)"))
}

fn parse_offset(s: &str) -> Result<FixedOffset, String> {
    s.parse::<FixedOffset>().or_else(|_| {
        if s == "Z" {
            Ok(FixedOffset::east_opt(0).expect("zero"))
        } else {
            Err(format!("'{s}' is not an offset like +09:00"))
        }
    })
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Scan(args) => run_scan(args),
        Command::Rules(cmd) => run_rules(cmd),
        Command::Parse(args) => run_parse(args),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) if is_broken_pipe(&e) => ExitCode::from(0),
        Err(e) => {
            eprintln!("wormtrace: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// A reader that went away (`| head`) is not an error worth reporting.
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
    })
}

fn rule_options(args: &RuleArgs) -> Result<RuleOptions> {
    let placeholders = match &args.placeholders {
        Some(path) => {
            let text =
                std::fs::read_to_string(path).with_context(|| format!("{}", path.display()))?;
            Placeholders::parse(&text)
                .map_err(anyhow::Error::msg)
                .with_context(|| format!("{}", path.display()))?
        }
        None => Placeholders::default(),
    };
    Ok(RuleOptions {
        builtin: !args.no_builtin,
        paths: args.rules.clone(),
        min_level: args.min_level,
        placeholders,
    })
}

fn detector_for(args: &RuleArgs, quiet: bool) -> Result<(Detector, usize)> {
    let loaded = load_rules(&rule_options(args)?);
    for e in &loaded.errors {
        if !quiet {
            eprintln!("wormtrace: rule not loaded: {e}");
        }
    }
    if loaded.rules.is_empty() {
        bail!("no rules loaded");
    }
    Ok((Detector::new(loaded.rules), loaded.errors.len()))
}

fn lang_from_env() -> Lang {
    let locale = ["LC_ALL", "LC_MESSAGES", "LANG"]
        .iter()
        .find_map(|k| std::env::var(k).ok().filter(|v| !v.is_empty()));
    Lang::from_locale(locale.as_deref())
}

fn run_scan(args: ScanArgs) -> Result<u8> {
    let (detector, rule_errors) = detector_for(&args.rules, args.quiet)?;
    let mut problems = Vec::new();
    let (inputs, hosts, host_names) = plan_inputs(&args, &mut problems);
    let show_progress = !args.quiet && io::stderr().is_terminal();
    for p in &problems {
        if !args.quiet {
            eprintln!("wormtrace: {}: {}", p.path, p.reason);
        }
    }
    let options = ScanOptions {
        format_hint: args.reading.format_hint,
        local_offset: args.reading.local_offset,
        all_hits: args.all_hits,
        max_line: args.max_line.max(1024),
        threads: args
            .threads
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())),
        host_names,
        spread_window_secs: args.spread_window.max(1),
        split_min_bytes: args.split_min_bytes.max(1),
    };
    let mut spread = SpreadTallies::default();
    let color = io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let summary_options = SummaryOptions {
        lang: args.lang.unwrap_or_else(lang_from_env),
        color,
    };
    let mut sinks = open_sinks(&args, summary_options)?;
    let mut aggregator = Aggregator::new(if args.internal.is_empty() {
        default_internal()
    } else {
        args.internal.clone()
    });
    let mut totals = RunTotals {
        problems: problems.clone(),
        ..RunTotals::default()
    };
    let mut sink_error: Option<io::Error> = None;
    let total_inputs = inputs.len();
    scan_all(&inputs, &detector, &options, |report| {
        for p in &report.problems {
            if !args.quiet {
                eprintln!("wormtrace: {}: {}", p.path, p.reason);
            }
        }
        report.findings.iter().for_each(|f| aggregator.add(f));
        totals.add(&report);
        if show_progress {
            eprint!(
                "\r\x1b[2K{}/{} inputs, {} MB, {} findings",
                totals.inputs,
                total_inputs,
                totals.bytes / 1_000_000,
                totals.findings
            );
        }
        for sink in sinks.iter_mut() {
            if let Err(e) = sink.input(&report) {
                sink_error.get_or_insert(e);
            }
        }
        if let Some(network) = report.network {
            spread.add(&report.path, network.tallies);
        }
    });
    if show_progress {
        eprint!("\r\x1b[2K");
    }
    if let Some(e) = sink_error {
        return Err(e).context("writing output");
    }
    let host_findings = sweep_hosts(&hosts, &args, &mut sinks, &mut totals)?;
    report_spread(&spread, &args, &mut sinks, &mut totals)?;
    let verdicts = aggregator.verdicts();
    for sink in sinks.iter_mut() {
        sink.finish(&verdicts, &totals).context("writing output")?;
    }
    let errors = rule_errors
        + totals
            .problems
            .iter()
            .filter(|p| p.severity == Severity::Error)
            .count();
    Ok(if totals.findings + host_findings + totals.spreading > 0 {
        1
    } else if errors > 0 {
        2
    } else {
        0
    })
}

/// The log and network inputs, the hosts to sweep, and the host names of connection tables.
fn plan_inputs(
    args: &ScanArgs,
    problems: &mut Vec<wormtrace::source::Problem>,
) -> (
    Vec<wormtrace::source::Input>,
    Vec<HostSpec>,
    BTreeMap<String, String>,
) {
    let (host_args, host_names, network_paths) = split_network_hosts(&args.hosts);
    let (mut hosts, mut log_paths) = plan_hosts(&args.paths, &host_args, problems);
    log_paths.extend(network_paths);
    let skip = volume_roots(&hosts);
    let walked = expand_inputs_except(&log_paths, &skip, problems);
    let (inputs, walked_hosts) = claim_host_files(walked);
    hosts.extend(walked_hosts);
    (inputs, hosts, host_names)
}

/// Gives the sinks the spreading verdicts of captures and tables, and counts them.
fn report_spread(
    spread: &SpreadTallies,
    args: &ScanArgs,
    sinks: &mut [Box<dyn Sink>],
    totals: &mut RunTotals,
) -> Result<()> {
    let options = SpreadOptions {
        threshold: args.spread_threshold.max(1),
        window_secs: args.spread_window.max(1),
    };
    let verdicts = spread.verdicts(&options);
    let findings: Vec<SpreadFinding> = verdicts.iter().filter_map(SpreadFinding::of).collect();
    totals.spreading = findings.len() as u64;
    if !verdicts.is_empty() {
        for sink in sinks.iter_mut() {
            sink.spread(&findings, &verdicts)
                .context("writing output")?;
        }
    }
    Ok(())
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
            .partition(|p| p.as_os_str() == "-" || is_network_file(p));
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

/// Sweeps each host and hands its report to the sinks; returns the number of findings.
fn sweep_hosts(
    hosts: &[HostSpec],
    args: &ScanArgs,
    sinks: &mut [Box<dyn Sink>],
    totals: &mut RunTotals,
) -> Result<u64> {
    let messages = Messages::new(Lang::En);
    let options = SweepOptions { deep: args.deep };
    let mut findings = 0;
    for spec in hosts {
        let report = sweep(spec, options, &messages);
        for p in &report.problems {
            if !args.quiet {
                eprintln!("wormtrace: {}: {}", p.path, p.reason);
            }
        }
        totals.problems.extend(report.problems.iter().cloned());
        findings += report.findings.len() as u64;
        totals.hosts += 1;
        totals.host_findings += report.findings.len() as u64;
        for sink in sinks.iter_mut() {
            sink.host(&report).context("writing output")?;
        }
    }
    Ok(findings)
}

fn run_parse(args: ParseArgs) -> Result<u8> {
    let mut problems = Vec::new();
    let inputs = expand_inputs(&args.paths, &mut problems);
    let options = ScanOptions {
        format_hint: args.reading.format_hint,
        local_offset: args.reading.local_offset,
        ..ScanOptions::default()
    };
    let mut out = output_writer(args.output.as_deref())?;
    let mut write_error = None;
    for input in &inputs {
        let label = input.label();
        let (_, input_problems) = each_record(input, &options, &mut |line, record| {
            if write_error.is_none() {
                write_error = RecordLine::new(&label, line, record)
                    .write_to(&mut out)
                    .err();
            }
        });
        problems.extend(input_problems);
    }
    if let Some(e) = write_error {
        return Err(e).context("writing output");
    }
    out.flush().context("writing output")?;
    for p in &problems {
        eprintln!("wormtrace: {}: {}", p.path, p.reason);
    }
    let failed = problems.iter().any(|p| p.severity == Severity::Error);
    Ok(if failed { 2 } else { 0 })
}

/// Standard output, or a new file at `path`, buffered.
fn output_writer(path: Option<&std::path::Path>) -> Result<Box<dyn Write>> {
    Ok(match path {
        Some(path) => Box::new(BufWriter::new(
            File::create(path).with_context(|| format!("cannot create {}", path.display()))?,
        )),
        None => Box::new(BufWriter::new(io::stdout())),
    })
}

fn open_sinks(args: &ScanArgs, summary: SummaryOptions) -> Result<Vec<Box<dyn Sink>>> {
    let stdout = || -> Box<dyn Write> { Box::new(BufWriter::new(io::stdout())) };
    let machine_out = output_writer(args.output.as_deref())?;
    let mut sinks: Vec<Box<dyn Sink>> = Vec::new();
    match args.format {
        OutputFormat::Summary => {
            sinks.push(Box::new(SummarySink::new(machine_out, summary)));
            return Ok(sinks);
        }
        OutputFormat::Jsonl => sinks.push(Box::new(JsonlSink::new(machine_out))),
        OutputFormat::Json => sinks.push(Box::new(JsonSink::new(machine_out))),
        OutputFormat::Csv => sinks.push(Box::new(CsvSink::new(machine_out))),
    }
    if args.output.is_some() && !args.quiet {
        sinks.push(Box::new(SummarySink::new(stdout(), summary)));
    }
    Ok(sinks)
}

fn run_rules(cmd: RulesCommand) -> Result<u8> {
    match cmd {
        RulesCommand::List(args) => {
            let (detector, _) = detector_for(&args, false)?;
            let mut out = io::stdout().lock();
            writeln!(out, "{:<36}  {:<8}  {:<16}  title", "id", "level", "family")?;
            for r in detector.rules() {
                writeln!(
                    out,
                    "{:<36}  {:<8}  {:<16}  {}",
                    r.id,
                    r.level.name(),
                    r.family.as_deref().unwrap_or("-"),
                    r.title
                )?;
            }
            Ok(0)
        }
        RulesCommand::Check { paths } => check_rules(&paths),
        RulesCommand::Stats(args) => {
            let (detector, _) = detector_for(&args, false)?;
            print_stats(&detector)?;
            Ok(0)
        }
    }
}

fn check_rules(paths: &[PathBuf]) -> Result<u8> {
    let mut errors = Vec::new();
    let files = rule_files(paths, &mut errors);
    let mut ok = 0;
    for file in &files {
        let text = match std::fs::read_to_string(file) {
            Ok(t) => t,
            Err(e) => {
                println!("{}: error: {e}", file.display());
                continue;
            }
        };
        match Rule::parse(&file.display().to_string(), &text, &Placeholders::default()) {
            Ok(rule) => {
                ok += 1;
                if !rule.unknown_fields.is_empty() {
                    println!(
                        "{}: warning: fields outside the webserver taxonomy never match: {}",
                        file.display(),
                        rule.unknown_fields.join(", ")
                    );
                }
            }
            Err(e) => errors.push(e),
        }
    }
    for e in &errors {
        println!("{e}");
    }
    println!("{ok} rule(s) valid, {} error(s)", errors.len());
    Ok(if errors.is_empty() && !files.is_empty() {
        0
    } else {
        2
    })
}

fn print_stats(detector: &Detector) -> Result<()> {
    let mut out = io::stdout().lock();
    for (i, rule) in detector.rules().iter().enumerate() {
        match detector.atoms(i) {
            Some(atoms) => {
                let shown: Vec<String> = atoms
                    .iter()
                    .map(|a| {
                        let text = String::from_utf8_lossy(&a.text);
                        if a.whole_value {
                            format!("={text}=")
                        } else {
                            text.into_owned()
                        }
                    })
                    .collect();
                writeln!(
                    out,
                    "{}  {} atom(s): {}",
                    rule.id,
                    atoms.len(),
                    shown.join(" | ")
                )?;
            }
            None => writeln!(
                out,
                "{}  slow: no literal atoms, sees every line ({})",
                rule.id, rule.title
            )?,
        }
    }
    let slow = detector.slow_rules().len();
    writeln!(out, "{} rule(s), {} slow", detector.rules().len(), slow)?;
    Ok(())
}
