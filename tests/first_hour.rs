//! What a new user meets in the first hour: inputs that never vanish (links, skipped files,
//! the exit code), words in both languages (plurals, separators, wrapping), the version,
//! help, completions and the man page.

mod common;

use std::os::unix::fs::symlink;
use std::path::Path;
use std::process::{Command, Output};

use common::{of_type, scan_jsonl, worm_query, wormtrace, write};

fn wormtrace_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_wormtrace"));
    cmd.args(args).env("NO_COLOR", "1").env("LANG", "C");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("binary runs")
}

fn text(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).unwrap()
}

/// One Code Red II line per target, from one internal source.
fn attack_log(dir: &Path, name: &str, lines: usize) -> std::path::PathBuf {
    let mut log =
        String::from("#Fields: date time c-ip s-ip cs-method cs-uri-stem cs-uri-query sc-status\n");
    for i in 0..lines {
        log.push_str(&format!(
            "2001-08-04 10:{:02}:{:02} 198.51.100.7 10.1.0.{} GET /default.ida {} 404\n",
            (i / 60) % 60,
            i % 60,
            i % 250 + 1,
            worm_query('X')
        ));
    }
    write(dir, name, log.as_bytes())
}

#[test]
fn links_inside_folders_are_reported_with_their_target_not_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let real = dir.path().join("real");
    let logs = dir.path().join("logs");
    std::fs::create_dir_all(&real).unwrap();
    std::fs::create_dir_all(&logs).unwrap();
    attack_log(&real, "ex010804.log", 1);
    symlink("../real/ex010804.log", logs.join("ex010804.log")).unwrap();
    let logs_arg = logs.display().to_string();

    let out = wormtrace(&["scan", "-q", &logs_arg]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "a run that read nothing is not clean"
    );
    let summary = text(&out);
    assert!(summary.contains("Not read in full"), "{summary}");
    assert!(
        summary.contains("symbolic link to ../real/ex010804.log"),
        "{summary}"
    );
    assert!(
        !summary.contains("No Code Red-family traces found"),
        "{summary}"
    );
    assert!(out.stderr.is_empty(), "--quiet prints nothing on stderr");

    let (code, records) = scan_jsonl(&[&logs], &["--follow"]);
    assert_eq!(code, 1);
    assert_eq!(of_type(&records, "finding").len(), 1);
    assert!(of_type(&records, "problem").is_empty());
}

#[test]
fn link_loops_end_and_a_linked_folder_argument_is_read_once() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    std::fs::create_dir_all(logs.join("sub")).unwrap();
    attack_log(&logs, "a.log", 2);
    symlink("..", logs.join("sub/up")).unwrap();
    let (code, records) = scan_jsonl(&[&logs], &["--follow"]);
    assert_eq!(code, 1);
    assert_eq!(
        of_type(&records, "finding").len(),
        2,
        "the loop adds nothing"
    );
    let problems = of_type(&records, "problem");
    assert_eq!(problems.len(), 1);
    assert!(problems[0]["reason"]
        .as_str()
        .unwrap()
        .contains("loops back"));

    let linked = dir.path().join("linked");
    symlink("logs", &linked).unwrap();
    let (code, records) = scan_jsonl(&[&linked], &[]);
    assert_eq!(code, 1);
    assert_eq!(of_type(&records, "finding").len(), 2);
    let inputs = of_type(&records, "input");
    assert_eq!(inputs.len(), 1);
    assert!(inputs[0]["path"]
        .as_str()
        .unwrap()
        .starts_with(&linked.display().to_string()));
    // The link back up is the only problem: no false error for the folder itself.
    assert_eq!(of_type(&records, "problem").len(), 1);
}

#[test]
fn a_skipped_input_alone_exits_2_and_is_listed_in_the_summary_language() {
    let dir = tempfile::tempdir().unwrap();
    let blob = write(
        dir.path(),
        "blob.bin",
        &[0u8, 1, 2, 0xff, 0, 0, 7, 0].repeat(64),
    );
    let arg = blob.display().to_string();
    let out = wormtrace(&["scan", "-q", &arg]);
    assert_eq!(out.status.code(), Some(2));
    let summary = text(&out);
    assert!(summary.contains("this is not a clean result"), "{summary}");
    assert!(summary.contains("blob.bin  skipped"), "{summary}");
    let out = wormtrace(&["scan", "-q", "--lang", "ja", &arg]);
    let summary = text(&out);
    assert!(summary.contains("読み切れなかったもの"), "{summary}");
    assert!(summary.contains("対象外"), "{summary}");
    assert!(summary.contains("バイナリデータ"), "{summary}");
    // parse agrees on the exit code.
    assert_eq!(wormtrace(&["parse", "-q", &arg]).status.code(), Some(2));
}

#[test]
fn counts_take_plurals_in_english_and_separators_in_both_languages() {
    let dir = tempfile::tempdir().unwrap();
    let one = attack_log(dir.path(), "one.log", 1);
    let out = wormtrace(&["scan", "--lang", "en", &one.display().to_string()]);
    let summary = text(&out);
    assert!(
        summary.contains("(one attempt from one source)"),
        "{summary}"
    );
    assert!(summary.contains("Scanned one input:"), "{summary}");
    assert!(summary.contains("one finding."), "{summary}");
    assert!(!summary.contains("(s)"), "{summary}");

    let many = attack_log(dir.path(), "many.log", 1234);
    let arg = many.display().to_string();
    let summary = text(&wormtrace(&["scan", "--lang", "en", &arg]));
    assert!(
        summary.contains("(1,234 attempts from one source)"),
        "{summary}"
    );
    assert!(summary.contains("1,234 findings."), "{summary}");
    let summary = text(&wormtrace(&["scan", "--lang", "ja", &arg]));
    assert!(summary.contains("試行 1,234 回"), "{summary}");
    assert!(summary.contains("検出 1,234 件"), "{summary}");
}

/// Columns a line takes on a terminal (CJK characters take two).
fn columns(line: &str) -> usize {
    line.chars()
        .map(|c| if (c as u32) >= 0x1100 { 2 } else { 1 })
        .sum()
}

#[test]
fn prose_wraps_to_the_terminal_width_in_both_languages() {
    let dir = tempfile::tempdir().unwrap();
    let log = attack_log(dir.path(), "ex.log", 3);
    let arg = log.display().to_string();
    for lang in ["en", "ja"] {
        let out = wormtrace_env(&["scan", "--lang", lang, &arg], &[("COLUMNS", "50")]);
        let summary = text(&out);
        let advice = summary
            .split_once(if lang == "en" {
                "\nWhat to do\n"
            } else {
                "\n対処\n"
            })
            .unwrap()
            .1;
        let advice = advice.split("\n\n").next().unwrap();
        assert!(advice.lines().count() > 2, "{advice}");
        for line in advice.lines().chain(summary.lines().take(2)) {
            assert!(
                columns(line) <= 50,
                "{lang}: {line:?} is {} columns",
                columns(line)
            );
        }
        // Without a width, a step stays on one line.
        let unwrapped = text(&wormtrace_env(&["scan", "--lang", lang, &arg], &[]));
        let first_step = unwrapped
            .lines()
            .find(|l| l.starts_with("    1. "))
            .unwrap();
        assert!(columns(first_step) > 50);
    }
}

#[test]
fn version_completions_and_man_page() {
    let out = wormtrace(&["--version"]);
    let version = text(&out);
    assert!(
        version.starts_with(&format!("wormtrace {}", env!("CARGO_PKG_VERSION"))),
        "{version}"
    );
    assert!(version.contains("commit "), "{version}");
    assert!(version.contains("built 20"), "{version}");
    assert!(version.contains("built-in rules, sha256 "), "{version}");
    let bash = text(&wormtrace(&["completions", "bash"]));
    assert!(
        bash.contains("_wormtrace()") && bash.contains("--follow"),
        "{bash}"
    );
    let man = text(&wormtrace(&["man"]));
    assert!(man.contains(".TH wormtrace 1"), "{man}");
    assert!(man.contains("Exit codes"), "{man}");
}

#[test]
fn help_says_what_each_command_reads_with_examples_and_exit_codes() {
    let help = text(&wormtrace(&["scan", "--help"]));
    for needle in [
        "Examples:",
        "Exit codes:",
        "registry",
        "netstat",
        "pcap",
        "<PATH>...",
    ] {
        assert!(help.contains(needle), "scan --help lacks {needle}: {help}");
    }
    let help = text(&wormtrace(&["parse", "--help"]));
    assert!(
        help.contains("capture") && help.contains("Exit codes:"),
        "{help}"
    );
    let help = text(&wormtrace(&["rules", "--help"]));
    assert!(help.contains("Examples:"), "{help}");
}

fn parse_records(path: &str) -> Vec<serde_json::Value> {
    let out = wormtrace(&["parse", path]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    text(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn parse_reads_captures_and_connection_tables_as_scan_does() {
    let (requests, syns): (Vec<_>, Vec<_>) = parse_records("samples/network/dmz.pcap")
        .into_iter()
        .partition(|r| r["flow"].is_string());
    // Each SYN without ACK is a connection record, as the spreading correlation sees it.
    assert!(syns.len() > 25, "{}", syns.len());
    assert!(syns.iter().all(|r| r["fields"]["Initiated"] == "true"
        && r["fields"]["SourceIp"].is_string()
        && r["frame"].is_u64()
        && r["time"].is_string()));
    let scanner = syns
        .iter()
        .filter(|r| r["fields"]["SourceIp"] == "10.1.7.40")
        .count();
    assert!(
        scanner >= 399,
        "the sample's scanner has 399 targets: {scanner}"
    );
    let (_, scanned) = scan_jsonl(&[Path::new("samples/network/dmz.pcap")], &[]);
    let findings: Vec<_> = of_type(&scanned, "finding")
        .into_iter()
        .filter(|f| f["flow"].is_string())
        .collect();
    assert!(findings.len() >= 3, "{findings:?}");
    // Every request the scan flagged is a record with the same frame, flow and URI.
    for f in &findings {
        let r = requests
            .iter()
            .find(|r| r["frame"] == f["line"])
            .unwrap_or_else(|| panic!("no record for frame {}", f["line"]));
        assert_eq!(r["format"], "pcap");
        assert_eq!(r["flow"], f["flow"]);
        assert_eq!(r["fields"]["c-ip"], f["client_ip"]);
        assert_eq!(r["fields"]["s-port"], "80");
        assert!(f["uri"]
            .as_str()
            .unwrap()
            .starts_with(r["fields"]["cs-uri-stem"].as_str().unwrap()));
    }
    assert!(requests
        .iter()
        .all(|r| r["complete"] == true && r["time"].is_string()));

    let table = "samples/network/web05.netstat.txt";
    let rows = parse_records(table);
    let tcp_rows = std::fs::read_to_string(table)
        .unwrap()
        .lines()
        .filter(|l| l.trim_start().starts_with("TCP"))
        .count();
    assert_eq!(rows.len(), tcp_rows);
    assert!(rows
        .iter()
        .all(|r| r["format"] == "netstat-windows" && r["host"] == "web05"));
    let syn = rows
        .iter()
        .find(|r| r["connection"]["state"] == "SYN_SENT")
        .expect("the sample table has outbound SYNs");
    assert_eq!(syn["connection"]["remote_port"], 80);
    assert_eq!(syn["connection"]["local_ip"], "10.1.5.23");
    assert!(syn["raw"].as_str().unwrap().contains("SYN_SENT"));
}

/// Every catalog key the code names for a problem, a state or a step is in both catalogs.
#[test]
fn every_message_key_the_code_names_is_in_both_catalogs() {
    fn sources(dir: &Path, out: &mut String) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                sources(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push_str(&std::fs::read_to_string(&path).unwrap());
            }
        }
    }
    let mut code = String::new();
    sources(Path::new("src"), &mut code);
    let keys: std::collections::BTreeSet<&str> = code
        .split('"')
        .filter(|s| {
            ["problem-", "todo-", "first-step-", "detail-", "headline-"]
                .iter()
                .any(|p| s.starts_with(p))
                && s.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                && !s.ends_with('-')
        })
        .collect();
    assert!(keys.len() > 40, "{keys:?}");
    for catalog in ["locales/en.ftl", "locales/ja.ftl"] {
        let text = format!("\n{}", std::fs::read_to_string(catalog).unwrap());
        for key in &keys {
            assert!(
                text.contains(&format!("\n{key} = ")),
                "{catalog} lacks {key}"
            );
        }
    }
}
