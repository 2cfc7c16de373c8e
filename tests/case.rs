//! The case file: `scan --case` writes everything to SQLite, and `report` renders every output
//! from it alone, byte for byte what the scan wrote. The README's queries answer the alert's
//! questions on the samples' case.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn run(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_wormtrace"));
    cmd.args(args)
        .env("NO_COLOR", "1")
        .env("LANG", "C")
        .env_remove("COLUMNS");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("binary runs")
}

/// Scans the samples into a case and returns its path.
fn samples_case(dir: &Path) -> PathBuf {
    let case = dir.join("case.sqlite");
    let out = run(
        &["scan", "-q", "--case", case.to_str().unwrap(), "samples"],
        &[],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(case.exists());
    let leftovers: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(
        leftovers.is_empty(),
        "no temporary file is left beside the case"
    );
    case
}

#[test]
fn report_renders_every_output_byte_for_byte_from_the_case_alone() {
    let dir = tempfile::tempdir().unwrap();
    let case = samples_case(dir.path());
    let case = case.to_str().unwrap();
    let cases: [(&[&str], &[&str]); 6] = [
        (&["--format", "jsonl"], &["--format", "jsonl"]),
        (&["--format", "json"], &["--format", "json"]),
        (&["--format", "csv"], &["--format", "csv"]),
        (&["--lang", "en"], &["--lang", "en"]),
        (
            &["--lang", "ja", "--tz", "+09:00"],
            &["--lang", "ja", "--tz", "+09:00"],
        ),
        (&["--lang", "en", "-j1"], &["--lang", "en"]),
    ];
    for (scan_args, report_args) in cases {
        let mut args = vec!["scan", "-q"];
        args.extend_from_slice(scan_args);
        args.push("samples");
        let scanned = run(&args, &[]);
        let mut args = vec!["report", case];
        args.extend_from_slice(report_args);
        let reported = run(&args, &[]);
        assert_eq!(
            reported.status.code(),
            scanned.status.code(),
            "{scan_args:?}"
        );
        assert!(!scanned.stdout.is_empty());
        assert!(
            scanned.stdout == reported.stdout,
            "{scan_args:?}: report differs from scan:\n{}\n---\n{}",
            String::from_utf8_lossy(&scanned.stdout),
            String::from_utf8_lossy(&reported.stdout)
        );
    }
    // The indicators too.
    let a = dir.path().join("scan-iocs.txt");
    let b = dir.path().join("report-iocs.txt");
    run(
        &["scan", "-q", "--iocs", a.to_str().unwrap(), "samples"],
        &[],
    );
    let out = run(
        &[
            "report",
            case,
            "--format",
            "iocs",
            "-o",
            b.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
    let stix = |p: &Path| {
        let v: serde_json::Value =
            serde_json::from_slice(&std::fs::read(p.with_extension("stix.json")).unwrap()).unwrap();
        v["objects"].as_array().unwrap().len()
    };
    assert_eq!(stix(&a), stix(&b));
}

/// The ```sql block of the README's case section, split into statements.
fn readme_queries() -> Vec<String> {
    let readme = std::fs::read_to_string("README.md").unwrap();
    let section = readme
        .split("<!-- case-queries -->")
        .nth(1)
        .expect("README marks its case queries");
    let block = section
        .split("```sql")
        .nth(1)
        .unwrap()
        .split("```")
        .next()
        .unwrap();
    block
        .split(';')
        .map(|q| {
            q.lines()
                .filter(|l| !l.trim_start().starts_with("--"))
                .collect::<Vec<_>>()
                .join("\n")
        })
        .filter(|q| !q.trim().is_empty())
        .collect()
}

#[test]
fn the_readme_queries_answer_the_alerts_questions() {
    let dir = tempfile::tempdir().unwrap();
    let case = samples_case(dir.path());
    let db = rusqlite::Connection::open(&case).unwrap();
    let queries = readme_queries();
    assert!(queries.len() >= 5, "{queries:?}");
    let answers: Vec<Vec<String>> = queries
        .iter()
        .map(|q| {
            let mut s = db.prepare(q).unwrap_or_else(|e| panic!("{q}: {e}"));
            let columns = s.column_count();
            s.query_map([], |r| {
                Ok((0..columns)
                    .map(|i| match r.get_ref(i).unwrap() {
                        rusqlite::types::ValueRef::Null => "NULL".to_string(),
                        rusqlite::types::ValueRef::Integer(n) => n.to_string(),
                        rusqlite::types::ValueRef::Real(x) => x.to_string(),
                        rusqlite::types::ValueRef::Text(t) => {
                            String::from_utf8_lossy(t).into_owned()
                        }
                        rusqlite::types::ValueRef::Blob(_) => "blob".into(),
                    })
                    .collect::<Vec<_>>()
                    .join("|"))
            })
            .unwrap()
            .map(|r| r.unwrap())
            .collect()
        })
        .collect();
    // 1. who attacked us
    assert!(
        answers[0].iter().any(|r| r.starts_with("192.0.2.66|")),
        "{:?}",
        answers[0]
    );
    // 2. which of our hosts are infected
    for host in ["WEB05|compromised", "10.1.7.40|spreading"] {
        assert!(
            answers[1].iter().any(|r| r.starts_with(host)),
            "{:?}",
            answers[1]
        );
    }
    // 3. which host has this address
    assert_eq!(answers[2], ["WEB05|compromised"]);
    // 4. the evidence behind WEB05: logs, disk and network
    let kinds: std::collections::BTreeSet<&str> = answers[3]
        .iter()
        .map(|r| r.split('|').nth(1).unwrap())
        .collect();
    assert_eq!(
        kinds.into_iter().collect::<Vec<_>>(),
        ["host", "log", "network"]
    );
    // 5. attempts per day
    assert!(
        answers[4]
            .iter()
            .any(|r| r.starts_with("2001-08-04|code-red-ii|")),
        "{:?}",
        answers[4]
    );
    // 6. what was read
    assert!(answers[5]
        .iter()
        .all(|r| r.split('|').nth(1).unwrap().len() == 64));
}

#[test]
#[ignore = "needs the sqlite3 command-line tool (Debian sqlite3)"]
fn the_case_opens_in_the_sqlite3_shell() {
    let dir = tempfile::tempdir().unwrap();
    let case = samples_case(dir.path());
    let out = Command::new("sqlite3")
        .arg(&case)
        .arg("SELECT COUNT(*) FROM findings; SELECT subject FROM verdicts WHERE verdict = 'compromised' ORDER BY seq LIMIT 1; PRAGMA integrity_check;")
        .output()
        .expect("sqlite3 runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].parse::<u64>().unwrap() > 100, "{text}");
    assert_eq!(lines[1], "WEB05");
    assert_eq!(lines[2], "ok");
}
