//! The command line's arguments, as clap derives them. The run reads them directly, so
//! `main` only parses and dispatches.

use std::path::PathBuf;

use chrono::FixedOffset;
use clap::{Args, Parser, Subcommand, ValueEnum};
use ipnet::IpNet;

use crate::detect::sigma::Level;
use crate::i18n::Lang;
use crate::model::{ClientFrom, ClientPolicy};
use crate::record::LogFormat;
use crate::scan::MIN_SPLIT_BYTES;

/// `--version` and `-V`: the version, the commit it was built from, the build date, and the
/// built-in rule pack (file count and SHA-256), so a report can name exactly what made it.
pub const LONG_VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("WORMTRACE_GIT_COMMIT"),
    ", built ",
    env!("WORMTRACE_BUILD_DATE"),
    ")\nrule pack: ",
    env!("WORMTRACE_RULE_FILES"),
    " built-in rules, sha256 ",
    env!("WORMTRACE_RULES_SHA256"),
);

const MAIN_HELP: &str = "\
Examples:
  wormtrace scan /var/log/iis                  every log under a folder
  wormtrace scan --lang ja ex010804.log.gz     a summary in Japanese
  wormtrace scan /mnt/web01                    a mounted Windows volume
  wormtrace scan --host web05=web05.netstat.txt dmz.pcap
  zcat access.log.gz | wormtrace scan -        standard input

Exit codes: 0 nothing found, 1 findings, 2 nothing found but some input was skipped or
unreadable (or a usage error).";

/// Hunts the traces that Code Red, Code Red II, Nimda and other IIS-era web worms leave.
///
/// wormtrace reads web-server logs (IIS, Apache, NCSA; plain or compressed), Windows host
/// evidence (a mounted volume, registry hives, .reg exports, MetaBase.xml, dir listings),
/// connection tables (netstat, ss) and packet captures (pcap, pcapng). It tells which hosts
/// attacked you, which of your own hosts are infected or can be, and what to do next.
#[derive(Parser)]
#[command(
    name = "wormtrace",
    version = LONG_VERSION,
    long_version = LONG_VERSION,
    about,
    long_about,
    after_help = MAIN_HELP,
    max_term_width = 100
)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

impl Cli {
    /// Reads `-o -` as standard output, as most command-line tools do: without this, a
    /// responder piping a scan into `jq` would get a file named `-` and an empty pipe.
    pub fn with_dash_as_stdout(mut self) -> Cli {
        let output = match &mut self.command {
            Command::Scan(args) => &mut args.outputs.output,
            Command::Merge(args) => &mut args.outputs.output,
            Command::Parse(args) => &mut args.output,
            Command::Report(args) => &mut args.output,
            Command::Rules(_) | Command::Completions { .. } | Command::Man => return self,
        };
        output.take_if(|path| path.as_os_str() == "-");
        self
    }
}

const SCAN_HELP: &str = "\
Examples:
  wormtrace scan samples                        the bundled sample evidence
  wormtrace scan -j4 --format jsonl -o out.jsonl /evidence/logs
  wormtrace scan --internal 203.0.113.0/24 --lang ja logs/
  wormtrace scan --host WEB01=/mnt/c,/mnt/d     C: and D: of one server, one verdict
  wormtrace scan --iocs iocs dmz.pcap           also write address lists and STIX 2.1
  wormtrace scan -                              read standard input

Exit codes: 0 nothing found and every input read; 1 findings; 2 nothing found but some input
was skipped or unreadable, or a usage error.";

const PARSE_HELP: &str = "\
Each log line, capture request or connection-table row becomes one JSON object with its
taxonomy fields (the names the Sigma rules use).

Examples:
  wormtrace parse ex010804.log | jq .fields
  wormtrace parse dmz.pcap web05.netstat.txt

Exit codes: 0 every input read; 2 some input was skipped or unreadable.";

const RULES_HELP: &str = "\
Examples:
  wormtrace rules list
  wormtrace rules check my-rules/
  wormtrace rules stats --rules sigma/rules/web

Exit codes: 0 success; 2 a rule file is invalid or no rules loaded.";

const MERGE_HELP: &str = "\
Partial results are JSON Lines that `wormtrace scan --partial` writes, one per task of a
scan spread over many machines (see spark/README.md). The merge replays them, inputs in path
order, into one case: the same findings, ids, verdicts and summary as one scan of all those
inputs. Give each input to one task only. A partial result cut short is refused.

Examples:
  wormtrace scan --partial -o a.part logs/2001-08/
  wormtrace scan --partial -o b.part logs/2001-09/
  wormtrace merge a.part b.part                       the summary of both
  wormtrace merge --partial a.part b.part -o ab.part  merge again later
  zcat access.log.gz | wormtrace scan --partial --source access.log.gz - > c.part

Exit codes: as the scan's (0 nothing found, 1 findings, 2 nothing found but some input was
not read, or a partial result cannot be merged); with --partial, 0 unless the merge failed.";

const REPORT_HELP: &str = "\
Examples:
  wormtrace scan --case case.sqlite /evidence
  wormtrace report case.sqlite                        the summary again
  wormtrace report case.sqlite --format jsonl -o case.jsonl
  wormtrace report case.sqlite --format iocs -o block.txt
  sqlite3 case.sqlite 'SELECT subject, verdict FROM verdicts'

Exit codes: as the scan's: 0 nothing found, 1 findings, 2 nothing found but some input was
not read (or the case file cannot be read).";

/// `wormtrace report`.
#[derive(Args)]
pub struct ReportArgs {
    /// The case file written by `scan --case`.
    #[arg(value_name = "CASE")]
    pub case: PathBuf,
    /// What to render.
    #[arg(long, value_enum, default_value = "summary")]
    pub format: ReportFormat,
    /// Write there instead of standard output (required for `iocs`; `-`: standard output).
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// How the summary reads.
    #[command(flatten)]
    pub summary: SummaryArgs,
}

/// The summary's language and time zone, shared by `scan` and `report`.
#[derive(Args)]
pub struct SummaryArgs {
    /// Language of the summary: ja or en (default from LC_ALL / LANG).
    #[arg(long, value_name = "LANG", value_parser = parse_lang)]
    pub lang: Option<Lang>,
    /// Show every time in the summary in this zone (default UTC), e.g. +09:00.
    #[arg(long, value_name = "OFFSET", default_value = "+00:00", value_parser = parse_offset)]
    pub tz: FixedOffset,
}

/// What `report` renders.
#[derive(Copy, Clone, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    /// The readable summary.
    Summary,
    /// JSON Lines.
    Jsonl,
    /// One JSON document.
    Json,
    /// Findings as CSV.
    Csv,
    /// Indicators: FILE (one address per line) and FILE.stix.json (STIX 2.1).
    Iocs,
    /// The HTML report.
    Html,
}

/// The commands.
#[derive(Subcommand)]
pub enum Command {
    /// Look for worm traces in logs, host evidence, connection tables and captures, and give
    /// a verdict per host.
    #[command(
        after_help = SCAN_HELP,
        override_usage = "wormtrace scan [OPTIONS] <PATH>...\n       wormtrace scan [OPTIONS] --host <NAME=PATH,...> [PATH]..."
    )]
    Scan(Box<ScanArgs>),
    /// List, check and measure detection rules.
    #[command(subcommand, after_help = RULES_HELP)]
    Rules(RulesCommand),
    /// Print logs, capture requests and connection-table rows as records in Sigma taxonomy
    /// fields (JSON Lines), without detection.
    #[command(after_help = PARSE_HELP)]
    Parse(ParseArgs),
    /// Merge partial results of `scan --partial` (from Spark tasks, say) into the case one
    /// scan of all their inputs would have made: verdicts, summary, JSONL/CSV, case file,
    /// report.
    #[command(after_help = MERGE_HELP)]
    Merge(Box<MergeArgs>),
    /// Render an output again from a case file (`scan --case`): the same bytes the scan wrote.
    #[command(after_help = REPORT_HELP)]
    Report(ReportArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions {
        /// The shell to complete for.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff) to standard output: `wormtrace man > wormtrace.1`.
    Man,
}

/// `wormtrace parse`.
#[derive(Args)]
pub struct ParseArgs {
    /// Logs, captures or connection tables: files, folders, or `-` for standard input.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// How inputs are read.
    #[command(flatten)]
    pub reading: ReadingArgs,
    /// Follow symbolic links inside folders (links named on the command line are always
    /// read).
    #[arg(long, short = 'L')]
    pub follow: bool,
    /// Write the records to this file instead of standard output (`-`: standard output).
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// No problem messages on standard error.
    #[arg(long, short)]
    pub quiet: bool,
}

/// How inputs are read, shared by `scan` and `parse`.
#[derive(Args)]
pub struct ReadingArgs {
    /// Read every input as this format instead of detecting it (iis-w3c, iis-native,
    /// ncsa-common, ncsa-combined, apache-error, aws-alb, aws-elb, cloudfront, haproxy,
    /// nginx-json, caddy-json, traefik-json, envoy-json, gcp-lb, azure-frontdoor,
    /// azure-appgw, json, request-lines, text).
    #[arg(long, value_name = "FORMAT", value_parser = parse_format)]
    pub format_hint: Option<LogFormat>,
    /// UTC offset of logs that write local time without one (IIS native, Apache error,
    /// HAProxy), e.g. +09:00.
    #[arg(long, value_name = "OFFSET", default_value = "+00:00", value_parser = parse_offset)]
    pub local_offset: FixedOffset,
    /// YAML layout of your own JSON access log (`detect`, `timestamp`, `fields`, as in
    /// mappings/fields.yml); JSON inputs it fits are read as the `json` format.
    #[arg(long, value_name = "FILE")]
    pub mapping: Option<PathBuf>,
    /// The source of a proxied request: the address that connected (peer), or the client
    /// the X-Forwarded-For header names (xff).
    #[arg(long, value_name = "FROM", default_value = "peer", value_parser = parse_client_from)]
    pub client_from: ClientFrom,
    /// A proxy of yours (repeatable): with --client-from xff, its addresses in
    /// X-Forwarded-For are hops, and the right-most address that is not one is the client.
    #[arg(long, value_name = "CIDR", value_parser = parse_net)]
    pub trusted_proxy: Vec<IpNet>,
}

impl ReadingArgs {
    /// The client policy these options give.
    pub fn client_policy(&self) -> ClientPolicy {
        ClientPolicy {
            from: self.client_from,
            trusted: self.trusted_proxy.clone(),
        }
    }
}

/// A network in CIDR notation, or one address.
fn parse_net(text: &str) -> Result<IpNet, String> {
    text.parse::<IpNet>()
        .or_else(|_| text.parse::<std::net::IpAddr>().map(IpNet::from))
        .map_err(|_| format!("expected a CIDR network or an address, not {text:?}"))
}

fn parse_client_from(text: &str) -> Result<ClientFrom, String> {
    ClientFrom::from_name(text).ok_or_else(|| format!("expected peer or xff, not {text:?}"))
}

/// Which detection rules to load.
#[derive(Args, Clone)]
pub struct RuleArgs {
    /// Add Sigma rules from this file or folder (repeatable).
    #[arg(long = "rules", value_name = "PATH")]
    pub rules: Vec<PathBuf>,
    /// Do not load the built-in rules (Code Red, Code Red II, Nimda, IIS exploits).
    #[arg(long)]
    pub no_builtin: bool,
    /// Drop rules below this level.
    #[arg(long, value_name = "LEVEL", default_value = "informational", value_parser = parse_level)]
    pub min_level: Level,
    /// YAML file of values for `%placeholder%`s of the `expand` modifier.
    #[arg(long, value_name = "FILE")]
    pub placeholders: Option<PathBuf>,
}

/// What `scan` writes.
#[derive(Copy, Clone, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// A readable verdict with tables and advice (default).
    Summary,
    /// One JSON object per line.
    Jsonl,
    /// One JSON document.
    Json,
    /// Findings as CSV.
    Csv,
}

/// `wormtrace scan`.
#[derive(Args)]
pub struct ScanArgs {
    /// What to scan: web-server logs (plain, .gz, .bz2, .zst), a mounted Windows volume,
    /// registry hives, .reg exports, MetaBase.xml, saved `dir` listings, netstat/ss output,
    /// pcap/pcapng captures; files, folders (searched recursively), or `-` for standard input.
    #[arg(required_unless_present = "hosts", value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Evidence of one host: NAME=PATH[,PATH...] (C: and D: of one server give one verdict).
    #[arg(long = "host", value_name = "NAME=PATH,...", value_parser = parse_host)]
    pub hosts: Vec<(String, Vec<PathBuf>)>,
    /// On volumes, also walk inetpub and Program Files for copies of cmd.exe and readme.eml.
    #[arg(long)]
    pub deep: bool,
    /// Which rules to load.
    #[command(flatten)]
    pub rules: RuleArgs,
    /// How inputs are read.
    #[command(flatten)]
    pub reading: ReadingArgs,
    /// Follow symbolic links inside folders (links named on the command line are always
    /// read). Without it, each link found is reported as a skipped input.
    #[arg(long, short = 'L')]
    pub follow: bool,
    /// Where results go.
    #[command(flatten)]
    pub outputs: OutputArgs,
    /// How the summary reads.
    #[command(flatten)]
    pub summary: SummaryArgs,
    /// A CSV of our hosts, `name,address[,role][,notes]` (one row per address): names and
    /// addresses that belong together.
    #[arg(long, value_name = "FILE")]
    pub inventory: Option<PathBuf>,
    /// Our own networks (repeatable); default: the private and local ranges.
    #[arg(long, value_name = "CIDR")]
    pub internal: Vec<IpNet>,
    /// Distinct port-80 targets that make a source `spreading` (captures: within the
    /// window); default: the spreading correlation's condition (built-in: 25).
    #[arg(long, value_name = "N")]
    pub spread_threshold: Option<u64>,
    /// Sliding window for port-80 SYNs in captures, in seconds; default: the spreading
    /// correlation's timespan (built-in: 300).
    #[arg(long, value_name = "SECONDS")]
    pub spread_window: Option<i64>,
    /// Worker threads (default: all cores).
    #[arg(long, short = 'j', value_name = "N")]
    pub threads: Option<usize>,
    /// Plain files at least this large are cut into chunks scanned in parallel (tests use
    /// small values to force many chunks).
    #[arg(long, value_name = "BYTES", default_value_t = MIN_SPLIT_BYTES, hide = true)]
    pub split_min_bytes: u64,
    /// Report every rule that hit a line, not only the most specific built-in family.
    #[arg(long)]
    pub all_hits: bool,
    /// Findings of one kind (rule, client, server and status) written per input; past that
    /// they are counted, in the verdicts and the input's record, but not written one by one.
    /// 0 writes every finding.
    #[arg(long, value_name = "N", default_value_t = crate::scan::repeats::DEFAULT_REPEATS)]
    pub repeats: u64,
    /// `sha256`: record the SHA-256 of every log, capture and table read (chain of
    /// custody). `none`: sizes only, for evidence already hashed at acquisition (host
    /// evidence files are always hashed: their checks compare contents).
    #[arg(long, value_enum, value_name = "HOW", default_value = "sha256")]
    pub hash: crate::source::HashChoice,
    /// Longest part of a line that is checked (at least 1024); the rest is counted.
    #[arg(long, value_name = "BYTES", default_value_t = 1 << 20,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1024..))]
    pub max_line: usize,
    /// Check only lines at or after this time: RFC 3339 (2001-08-04T10:00:00+09:00), or a
    /// date (2001-08-04, from its first moment UTC). Lines without a time are checked and
    /// counted.
    #[arg(long, value_name = "TIME", value_parser = crate::model::TimeWindow::parse_since)]
    pub since: Option<crate::model::Timestamp>,
    /// Check only lines at or before this time: RFC 3339, or a date (through its last moment
    /// UTC).
    #[arg(long, value_name = "TIME", value_parser = crate::model::TimeWindow::parse_until)]
    pub until: Option<crate::model::Timestamp>,
    /// Stop reading an input that is not a regular file (standard input, a pipe, a device)
    /// after this many bytes, with a problem. Default: 1 GiB for devices (`/dev/zero` never
    /// ends), no limit for pipes and standard input.
    #[arg(long, value_name = "BYTES")]
    pub max_bytes: Option<u64>,
    /// The progress bar on standard error: `auto` shows it on a terminal.
    #[arg(long, value_enum, value_name = "WHEN", default_value = "auto")]
    pub progress: ProgressMode,
    /// No progress bar and no problem messages on standard error.
    #[arg(long, short)]
    pub quiet: bool,
    /// Write a partial result (JSON Lines) for `wormtrace merge` instead of judging the case:
    /// the map side of a scan spread over many machines. Exit 0 unless the run itself
    /// failed (findings and unread inputs are the merge's to report).
    #[arg(long, conflicts_with_all = ["report", "case", "iocs", "format"])]
    pub partial: bool,
    /// The name standard input is recorded under (a pipe carries no file name).
    #[arg(long, value_name = "NAME")]
    pub source: Option<String>,
    /// With --partial: scan only the lines that start in this byte range of one plain log
    /// (a file, or standard input carrying exactly those bytes from a line start to a line
    /// start); the merge joins the ranges of a file.
    #[arg(long, value_name = "START:END", requires = "partial",
          value_parser = crate::scan::range::ByteRange::parse)]
    pub range: Option<crate::scan::range::ByteRange>,
    /// With --range on standard input: a file holding the log's first bytes (at least its
    /// first lines), to tell its format by.
    #[arg(long, value_name = "FILE", requires = "range")]
    pub head: Option<PathBuf>,
    /// With --partial: only hash the input (a file scanned in ranges gets its SHA-256 so).
    #[arg(long, requires = "partial", conflicts_with = "range")]
    pub digest_only: bool,
}

/// Where a scan's or merge's results go.
#[derive(Args)]
pub struct OutputArgs {
    /// Also write the HTML report to this file: one self-contained page (open it offline).
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// Also write the whole case to this SQLite file (`wormtrace report` renders every output
    /// from it).
    #[arg(long, value_name = "FILE")]
    pub case: Option<PathBuf>,
    /// Also write indicators of the attacking sources and our infected hosts: FILE gets one
    /// address per line (for firewalls), FILE's name with the extension `stix.json` a STIX
    /// 2.1 bundle (`--iocs block.txt` writes block.txt and block.stix.json).
    #[arg(long, value_name = "FILE")]
    pub iocs: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "summary")]
    pub format: OutputFormat,
    /// Write the output to this file (the summary still goes to the terminal; `-`: standard
    /// output).
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

impl OutputArgs {
    /// Every file these options write (the STIX bundle beside `--iocs` too).
    pub fn paths(&self) -> Vec<PathBuf> {
        let stix = self
            .iocs
            .as_ref()
            .map(|f| crate::sink::iocs::ioc_paths(f).1);
        [&self.output, &self.case, &self.report, &self.iocs]
            .into_iter()
            .flatten()
            .cloned()
            .chain(stix)
            .collect()
    }
}

/// `wormtrace merge`.
#[derive(Args)]
pub struct MergeArgs {
    /// Partial results of `wormtrace scan --partial` (files, or `-` for standard input).
    #[arg(required = true, value_name = "PARTIAL")]
    pub partials: Vec<PathBuf>,
    /// Write the merged partial result (to merge again later) instead of judging the case.
    #[arg(long, conflicts_with_all = ["report", "case", "iocs", "format"])]
    pub partial: bool,
    /// The rules the partial results were made with (their correlations run here).
    #[command(flatten)]
    pub rules: RuleArgs,
    /// Where results go.
    #[command(flatten)]
    pub outputs: OutputArgs,
    /// How the summary reads.
    #[command(flatten)]
    pub summary: SummaryArgs,
    /// A CSV of our hosts, `name,address[,role][,notes]` (one row per address).
    #[arg(long, value_name = "FILE")]
    pub inventory: Option<PathBuf>,
    /// No problem messages on standard error.
    #[arg(long, short)]
    pub quiet: bool,
}

/// When to show the progress bar.
#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum ProgressMode {
    /// When standard error is a terminal.
    Auto,
    /// Always, even into a file (for measuring its cost).
    Always,
    /// Never.
    Never,
}

/// `wormtrace rules`.
#[derive(Subcommand)]
pub enum RulesCommand {
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
    Level::parse(s)
        .ok_or_else(|| format!("unknown level '{s}' (informational, low, medium, high, critical)"))
}

fn parse_format(s: &str) -> Result<LogFormat, String> {
    LogFormat::from_name(s).ok_or_else(|| format!("unknown format '{s}'"))
}

fn parse_host(s: &str) -> Result<(String, Vec<PathBuf>), String> {
    crate::host::parse_host_arg(s)
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
