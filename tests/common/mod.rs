//! Helpers shared by the command-line tests.
#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output};

pub const TAIL: &str = "%u9090%u6858%ucbd3%u7801%u9090%u6858%ucbd3%u7801%u9090%u6858%ucbd3%u7801%u9090%u9090%u8190%u00c3%u0003%u8b00%u531b%u53ff%u0078%u0000%u00=a";

/// The Code Red (N) or Code Red II (X) query as published.
pub fn worm_query(letter: char) -> String {
    format!("{}{TAIL}", letter.to_string().repeat(224))
}

/// The SigmaHQ web rules, a corpus kept outside the repository: `WORMTRACE_SIGMA_DIR`
/// names it (`.ci/run` sets it). Only tests marked `#[ignore]` call this.
pub fn sigma_corpus() -> String {
    std::env::var("WORMTRACE_SIGMA_DIR")
        .expect("WORMTRACE_SIGMA_DIR names the SigmaHQ web rules folder (see .ci/run)")
}

/// Runs `wormtrace` with arguments and no colour.
pub fn wormtrace(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_wormtrace"))
        .args(args)
        .env("NO_COLOR", "1")
        .env("LANG", "C")
        .output()
        .expect("binary runs")
}

/// Runs a JSONL scan and returns (exit code, parsed records).
pub fn scan_jsonl(paths: &[&Path], extra: &[&str]) -> (i32, Vec<serde_json::Value>) {
    let mut args = vec!["scan", "--format", "jsonl", "--quiet"];
    args.extend_from_slice(extra);
    let owned: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    args.extend(owned.iter().map(String::as_str));
    let out = wormtrace(&args);
    let records = String::from_utf8(out.stdout)
        .expect("UTF-8 output")
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect();
    (out.status.code().expect("exit code"), records)
}

/// Records of one `type`.
pub fn of_type<'a>(records: &'a [serde_json::Value], kind: &str) -> Vec<&'a serde_json::Value> {
    records.iter().filter(|r| r["type"] == kind).collect()
}

/// Writes `content` to `dir/name` and returns the path.
pub fn write(dir: &Path, name: &str, content: &[u8]) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, content).expect("temp file written");
    path
}

/// Every scan's figures (captures and connection tables), from the verdicts that carry them.
pub fn scans(records: &[serde_json::Value]) -> Vec<serde_json::Value> {
    of_type(records, "verdict")
        .iter()
        .filter_map(|v| v["host"]["scans"].as_array())
        .flatten()
        .cloned()
        .collect()
}

/// The verdict about a host known by `name_or_address` (its subject, a name or an address).
pub fn host_verdict<'a>(records: &'a [serde_json::Value], key: &str) -> &'a serde_json::Value {
    of_type(records, "verdict")
        .into_iter()
        .find(|v| {
            v["role"] == "host"
                && (v["subject"] == key
                    || v["host"]["addresses"]
                        .as_array()
                        .is_some_and(|a| a.iter().any(|x| x == key))
                    || v["host"]["names"]
                        .as_array()
                        .is_some_and(|a| a.iter().any(|x| x == key)))
        })
        .unwrap_or_else(|| panic!("no host verdict for {key}: {records:#?}"))
}
