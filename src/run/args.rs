//! The command line's arguments, as clap derives them. The run reads them directly, so
//! `main` only parses and dispatches.

use std::path::PathBuf;

use chrono::FixedOffset;
use clap::{Args, Parser, Subcommand, ValueEnum};
use ipnet::IpNet;

use crate::detect::sigma::Level;
use crate::i18n::Lang;
use crate::record::LogFormat;
use crate::scan::MIN_SPLIT_BYTES;

/// Hunts the traces of Code Red, Code Red II, Nimda and other IIS-era attacks in web-server logs.
#[derive(Parser)]
#[command(name = "wormtrace", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Scan logs (files, folders, `-` for standard input) and give a verdict per host.
    Scan(ScanArgs),
    /// List, check and measure detection rules.
    #[command(subcommand)]
    Rules(RulesCommand),
    /// Print every log line as a record in Sigma taxonomy fields (JSON Lines), no detection.
    Parse(ParseArgs),
}

#[derive(Args)]
pub struct ParseArgs {
    /// Files or folders to read; `-` reads standard input.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub reading: ReadingArgs,
    /// Write the records to this file.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// How inputs are read, shared by `scan` and `parse`.
#[derive(Args)]
pub struct ReadingArgs {
    /// Read every input as this format instead of detecting it
    /// (iis-w3c, iis-native, ncsa-common, ncsa-combined, apache-error, text).
    #[arg(long, value_name = "FORMAT", value_parser = parse_format)]
    pub format_hint: Option<LogFormat>,
    /// UTC offset of logs that write local time without one (IIS native, Apache error), e.g. +09:00.
    #[arg(long, value_name = "OFFSET", default_value = "+00:00", value_parser = parse_offset)]
    pub local_offset: FixedOffset,
}

#[derive(Args, Clone)]
pub struct RuleArgs {
    /// Add Sigma rules from this file or folder (repeatable).
    #[arg(long = "rules", value_name = "PATH")]
    pub rules: Vec<PathBuf>,
    /// Do not load the built-in Code Red family rules.
    #[arg(long)]
    pub no_builtin: bool,
    /// Drop rules below this level.
    #[arg(long, value_name = "LEVEL", default_value = "informational", value_parser = parse_level)]
    pub min_level: Level,
    /// YAML file of values for `%placeholder%`s of the `expand` modifier.
    #[arg(long, value_name = "FILE")]
    pub placeholders: Option<PathBuf>,
}

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

#[derive(Args)]
pub struct ScanArgs {
    /// Logs (files, folders, `-` for standard input) and host evidence (a mounted Windows
    /// volume, registry hives, .reg exports, MetaBase.xml, a saved `dir /s /a` listing).
    #[arg(required_unless_present = "hosts", value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Evidence of one host: NAME=PATH[,PATH...] (C: and D: of one server give one verdict).
    #[arg(long = "host", value_name = "NAME=PATH,...", value_parser = parse_host)]
    pub hosts: Vec<(String, Vec<PathBuf>)>,
    /// On volumes, also walk inetpub and Program Files for copies of cmd.exe and readme.eml.
    #[arg(long)]
    pub deep: bool,
    #[command(flatten)]
    pub rules: RuleArgs,
    #[command(flatten)]
    pub reading: ReadingArgs,
    /// Output format.
    #[arg(long, value_enum, default_value = "summary")]
    pub format: OutputFormat,
    /// Write the output to this file (the summary still goes to the terminal).
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Language of the summary: ja or en (default from LC_ALL / LANG).
    #[arg(long, value_name = "LANG", value_parser = parse_lang)]
    pub lang: Option<Lang>,
    /// Our own networks (repeatable); default: the private and local ranges.
    #[arg(long, value_name = "CIDR")]
    pub internal: Vec<IpNet>,
    /// Distinct port-80 targets that make a source `spreading` (captures: within the window).
    #[arg(long, value_name = "N", default_value_t = 25)]
    pub spread_threshold: u64,
    /// Sliding window for port-80 SYNs in captures, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 300)]
    pub spread_window: i64,
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
    /// Longest part of a line that is checked; the rest is counted.
    #[arg(long, value_name = "BYTES", default_value_t = 1 << 20)]
    pub max_line: usize,
    /// No progress or problem messages on standard error.
    #[arg(long, short)]
    pub quiet: bool,
}

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
    Level::from_name(s)
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
