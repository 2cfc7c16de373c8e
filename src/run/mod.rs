//! The run as a library: what `wormtrace scan`, `parse` and `rules` do, callable from tests
//! without spawning the binary. `main` parses arguments, calls [`execute`] and prints.

pub mod args;
mod case;
mod console;
mod merge;
mod parse;
pub mod partial;
mod ranges;
pub mod records;
mod report;
mod rules;
mod scan;

use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::detect::pack::{load_rules, RuleOptions};
use crate::detect::sigma::Placeholders;
use crate::detect::Detector;
use crate::i18n::Lang;
use args::{Cli, Command, RuleArgs};
use clap::CommandFactory;

/// How a run ended, as the process exit code says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// Nothing found, and every input was read.
    Clean = 0,
    /// Findings.
    Found = 1,
    /// Nothing found, and some input was skipped or could not be read (or rules failed).
    Incomplete = 2,
}

/// Why a run stopped before its end.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("no rules loaded")]
    NoRules,
    #[error("{path}: {message}")]
    Placeholders { path: PathBuf, message: String },
    #[error("inventory {path}: {message}")]
    Inventory { path: PathBuf, message: String },
    #[error("mapping {path}: {message}")]
    Mapping { path: PathBuf, message: String },
    #[error("--format-hint json reads a JSON layout of your own: give it with --mapping FILE")]
    JsonWithoutMapping,
    #[error("case {path}: {message}")]
    Case { path: PathBuf, message: String },
    #[error("--format {0} needs -o FILE")]
    NeedsOutput(&'static str),
    #[error("{output} is {input}, which is being read: an output never replaces evidence")]
    OutputIsInput { output: PathBuf, input: PathBuf },
    #[error(
        "{output} lies inside {input}, which is being read: write outputs outside the evidence"
    )]
    OutputInsideInput { output: PathBuf, input: PathBuf },
    #[error("--range reads one input, not {0}")]
    RangeInputs(usize),
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: io::Error },
    #[error("{path}: {source}")]
    Partial {
        path: PathBuf,
        source: partial::PartialError,
    },
    #[error("cannot create {path}: {source}")]
    CreateOutput { path: PathBuf, source: io::Error },
    #[error("writing output: {0}")]
    Write(#[from] io::Error),
}

impl RunError {
    /// A reader that went away (`| head`) ends the run quietly.
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, RunError::Write(e) if e.kind() == io::ErrorKind::BrokenPipe)
    }
}

/// Runs one command.
pub fn execute(cli: Cli) -> Result<ExitStatus, RunError> {
    match cli.with_dash_as_stdout().command {
        Command::Scan(args) => scan::run_scan(*args),
        Command::Rules(cmd) => rules::run_rules(cmd),
        Command::Parse(args) => parse::run_parse(args),
        Command::Merge(args) => merge::run_merge(*args),
        Command::Report(args) => report::run_report(args),
        Command::Completions { shell } => {
            let mut out = io::stdout().lock();
            clap_complete::generate(shell, &mut Cli::command(), "wormtrace", &mut out);
            out.flush()?;
            Ok(ExitStatus::Clean)
        }
        Command::Man => {
            let mut out = io::stdout().lock();
            clap_mangen::Man::new(Cli::command()).render(&mut out)?;
            out.flush()?;
            Ok(ExitStatus::Clean)
        }
    }
}

fn rule_options(args: &RuleArgs) -> Result<RuleOptions, RunError> {
    let placeholders = match &args.placeholders {
        Some(path) => {
            let failed = |message: String| RunError::Placeholders {
                path: path.clone(),
                message,
            };
            let text = std::fs::read_to_string(path).map_err(|e| failed(e.to_string()))?;
            Placeholders::parse(&text).map_err(|e| failed(e.to_string()))?
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

fn detector_for(args: &RuleArgs, quiet: bool) -> Result<(Detector, usize), RunError> {
    let mut loaded = load_rules(&rule_options(args)?);
    if loaded.rules.is_empty() {
        return Err(RunError::NoRules);
    }
    let (detector, errors) =
        Detector::new(loaded.rules).with_correlations(std::mem::take(&mut loaded.correlations));
    loaded.errors.extend(errors);
    for e in &loaded.errors {
        if !quiet {
            let text = e.to_string();
            eprintln!(
                "wormtrace: rule not loaded: {}",
                crate::sink::escape::terminal(&text)
            );
        }
    }
    Ok((detector, loaded.errors.len()))
}

fn lang_from_env() -> Lang {
    let locale = ["LC_ALL", "LC_MESSAGES", "LANG"]
        .iter()
        .find_map(|k| std::env::var(k).ok().filter(|v| !v.is_empty()));
    Lang::from_locale(locale.as_deref())
}

/// Refuses output paths that are an input (same file, through any link) or lie inside a
/// folder being read: writing a report must never replace or add to the evidence.
fn check_outputs(outputs: &[&Path], inputs: &[&Path]) -> Result<(), RunError> {
    #[cfg(unix)]
    fn identity(m: &std::fs::Metadata) -> (u64, u64) {
        use std::os::unix::fs::MetadataExt;
        (m.dev(), m.ino())
    }
    #[cfg(not(unix))]
    fn identity(_: &std::fs::Metadata) -> (u64, u64) {
        (0, 0)
    }
    let inputs: Vec<(&Path, std::fs::Metadata)> = inputs
        .iter()
        .filter(|p| p.as_os_str() != "-")
        .filter_map(|p| Some((*p, std::fs::metadata(p).ok()?)))
        .collect();
    for output in outputs {
        if let Ok(meta) = std::fs::metadata(output) {
            let same = |m: &std::fs::Metadata| cfg!(unix) && identity(m) == identity(&meta);
            if let Some((input, _)) = inputs.iter().find(|(_, m)| same(m)) {
                return Err(RunError::OutputIsInput {
                    output: output.to_path_buf(),
                    input: input.to_path_buf(),
                });
            }
        }
        let parent = output
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let Ok(parent) = std::fs::canonicalize(parent) else {
            continue;
        };
        for (input, _) in inputs.iter().filter(|(_, m)| m.is_dir()) {
            if std::fs::canonicalize(input).is_ok_and(|dir| parent.starts_with(dir)) {
                return Err(RunError::OutputInsideInput {
                    output: output.to_path_buf(),
                    input: input.to_path_buf(),
                });
            }
        }
    }
    Ok(())
}

/// Standard output, or a file at `path` written under a temporary name and renamed when the
/// sink flushes at the end (a failed run leaves no half-written output).
fn output_writer(path: Option<&Path>) -> Result<Box<dyn Write>, RunError> {
    Ok(match path {
        Some(path) => Box::new(
            crate::sink::atomic::AtomicFile::create(path)
                .map_err(|source| RunError::CreateOutput {
                    path: path.to_path_buf(),
                    source,
                })?
                .committing(),
        ),
        None => Box::new(BufWriter::new(io::stdout())),
    })
}

/// The field mapping for a run: the built-in one, with the layout of `--mapping` when given.
fn field_map_for(
    reading: &args::ReadingArgs,
) -> Result<std::sync::Arc<crate::record::FieldMap>, RunError> {
    let builtin = crate::record::FieldMap::builtin();
    let Some(path) = &reading.mapping else {
        if reading.format_hint == Some(crate::record::LogFormat::Json) {
            return Err(RunError::JsonWithoutMapping);
        }
        return Ok(std::sync::Arc::new(builtin.clone()));
    };
    let failed = |message: String| RunError::Mapping {
        path: path.clone(),
        message,
    };
    let text = std::fs::read_to_string(path).map_err(|e| failed(e.to_string()))?;
    let map = builtin
        .with_user_json(&text)
        .map_err(|e| failed(e.to_string()))?;
    Ok(std::sync::Arc::new(map))
}
