//! `wormtrace rules list|check|stats`.

use std::io::{self, Write};
use std::path::PathBuf;

use super::args::RulesCommand;
use super::{detector_for, ExitStatus, RunError};
use crate::detect::correlation::resolve;
use crate::detect::pack::{load_rules, rule_files, LoadedRules, RuleOptions};
use crate::detect::sigma::{LogSource, Placeholders};
use crate::detect::spreading::take_spreading;
use crate::detect::Detector;
use crate::record::LogFormat;

pub(super) fn run_rules(cmd: RulesCommand) -> Result<ExitStatus, RunError> {
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
            for c in detector.correlations() {
                let r = &c.rule;
                writeln!(
                    out,
                    "{:<36}  {:<8}  {:<16}  {} (correlation: {}, {} s)",
                    r.id,
                    r.level.name(),
                    r.family.as_deref().unwrap_or("-"),
                    r.title,
                    r.kind.name(),
                    r.timespan
                )?;
            }
            if let Some(s) = detector.spreading() {
                writeln!(
                    out,
                    "{:<36}  {:<8}  {:<16}  {} (correlation: value_count over connections, {} s)",
                    s.id,
                    s.level.name(),
                    "-",
                    s.title,
                    s.window_secs
                )?;
            }
            Ok(ExitStatus::Clean)
        }
        RulesCommand::Check { paths } => check_rules(&paths),
        RulesCommand::Stats(args) => {
            let (detector, _) = detector_for(&args, false)?;
            print_stats(&detector)?;
            Ok(ExitStatus::Clean)
        }
    }
}

fn check_rules(paths: &[PathBuf]) -> Result<ExitStatus, RunError> {
    let mut errors = Vec::new();
    let files = rule_files(paths, &mut errors);
    let mut loaded = LoadedRules::default();
    for file in &files {
        let text = match std::fs::read_to_string(file) {
            Ok(t) => t,
            Err(e) => {
                println!("{}: error: {e}", file.display());
                continue;
            }
        };
        let before = loaded.rules.len();
        loaded.add_file(&file.display().to_string(), &text, &Placeholders::default());
        for rule in &loaded.rules[before..] {
            if !rule.unknown_fields.is_empty() {
                println!(
                    "{}: warning: fields outside the webserver taxonomy never match: {}",
                    file.display(),
                    rule.unknown_fields.join(", ")
                );
            }
        }
    }
    // Correlations may name the built-in rules as well as the ones checked.
    let mut known = load_rules(&RuleOptions::default()).rules;
    known.extend(loaded.rules.iter().cloned());
    let correlations = loaded.correlations.len();
    let (_, mut unresolved) = take_spreading(&mut loaded.correlations, &known);
    unresolved.extend(resolve(std::mem::take(&mut loaded.correlations), &known).1);
    let ok = loaded.rules.len() + correlations - unresolved.len();
    errors.extend(loaded.errors);
    errors.extend(unresolved);
    for e in &errors {
        println!("{e}");
    }
    println!(
        "{} valid, {}",
        counted(ok, "rule", "rules"),
        counted(errors.len(), "error", "errors")
    );
    Ok(if errors.is_empty() && !files.is_empty() {
        ExitStatus::Clean
    } else {
        ExitStatus::Incomplete
    })
}

fn print_stats(detector: &Detector) -> Result<(), RunError> {
    let mut out = io::stdout().lock();
    for (i, rule) in detector.rules().iter().enumerate() {
        match detector.atoms(i) {
            _ if rule.logsource.is_network() => writeln!(
                out,
                "{}  connections: counted by {}",
                rule.id,
                spreading_of(detector, rule)
            )?,
            Some(atoms) => {
                let shown: Vec<String> = atoms
                    .iter()
                    .map(|a| {
                        let text = shown_atom(&a.text);
                        if a.whole_value {
                            format!("={text}=")
                        } else {
                            text
                        }
                    })
                    .collect();
                writeln!(
                    out,
                    "{}  {}: {}",
                    rule.id,
                    counted(atoms.len(), "atom", "atoms"),
                    shown.join(" | ")
                )?;
            }
            None => writeln!(
                out,
                "{}  slow: no literal atoms, sees every line ({})",
                rule.id, rule.title
            )?,
        }
        writeln!(out, "    applies to: {}", applies_to(&rule.logsource))?;
    }
    let slow = detector.slow_rules().len();
    let rules = counted(detector.rules().len(), "rule", "rules");
    writeln!(out, "{rules}, {slow} slow")?;
    Ok(())
}

/// The spreading correlation that counts a network rule's matches, if any does.
fn spreading_of(detector: &Detector, rule: &crate::detect::sigma::Rule) -> String {
    detector
        .spreading()
        .filter(|s| s.bases().iter().any(|b| b.id == rule.id))
        .map_or("no spreading correlation (never used)".to_string(), |s| {
            format!(
                "'{}' ({} distinct DestinationIp per SourceIp in {} s)",
                s.title, s.threshold, s.window_secs
            )
        })
}

/// The inputs a rule runs on: the formats its logsource covers, by the names `--format-hint`
/// and the findings use.
fn applies_to(logsource: &LogSource) -> String {
    if logsource.is_network() {
        return "connections: SYNs in packet captures, rows of connection tables".to_string();
    }
    let formats = LogFormat::ALL;
    let covered: Vec<&str> = formats
        .iter()
        .filter(|&&f| logsource.covers(f))
        .map(|f| f.name())
        .collect();
    match covered.len() {
        0 => "nothing (its logsource names no format wormtrace reads)".to_string(),
        n if n == formats.len() => "every input".to_string(),
        n if n + 1 == formats.len() && !logsource.covers(LogFormat::Text) => {
            "every log format (not unrecognised text)".to_string()
        }
        _ => covered.join(", "),
    }
}

/// An atom as text; bytes outside printable ASCII as `\xNN` (raw-byte atoms are not UTF-8)
/// and a backslash as `\\`, so that the two cannot be confused.
fn shown_atom(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|&b| match b {
            b'\\' => "\\\\".to_string(),
            b' '..=b'~' => char::from(b).to_string(),
            _ => format!("\\x{b:02x}"),
        })
        .collect()
}

/// `1 rule`, `2 rules`: a count with its noun in the right number.
fn counted(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}
