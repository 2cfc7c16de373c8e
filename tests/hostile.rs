//! Hostile evidence against the outputs: an output never replaces or joins the evidence, and
//! attacker strings are escaped for the terminal, CSV and JSON Lines.

mod common;

use std::path::Path;

use common::{worm_query, wormtrace, write};

const FIELDS: &str =
    "#Fields: date time c-ip s-ip cs-method cs-uri-stem cs-uri-query sc-status cs-host\n";

fn log_line(method: &str, host: &str) -> String {
    format!(
        "2001-08-04 10:00:00 198.51.100.7 10.1.0.10 {method} /default.ida {} 404 {host}\n",
        worm_query('X')
    )
}

#[test]
fn an_output_never_replaces_or_joins_the_evidence() {
    let dir = tempfile::tempdir().unwrap();
    let log = write(
        dir.path(),
        "a.log",
        format!("{FIELDS}{}", log_line("GET", "www")).as_bytes(),
    );
    let before = std::fs::read(&log).unwrap();
    let log_arg = log.to_str().unwrap();
    let link = dir.path().join("link.jsonl");
    std::os::unix::fs::symlink(&log, &link).unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    let inside = dir.path().join("report.html");
    for args in [
        vec!["scan", "-q", "-o", log_arg, log_arg],
        vec![
            "scan",
            "-q",
            "--format",
            "jsonl",
            "-o",
            link.to_str().unwrap(),
            log_arg,
        ],
        vec!["scan", "-q", "--case", log_arg, log_arg],
        vec![
            "scan",
            "-q",
            "--report",
            inside.to_str().unwrap(),
            dir.path().to_str().unwrap(),
        ],
        vec!["parse", "-o", log_arg, log_arg],
    ] {
        let out = wormtrace(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("being read"), "{args:?}: {err}");
    }
    assert_eq!(
        std::fs::read(&log).unwrap(),
        before,
        "the evidence is untouched"
    );
    assert!(!inside.exists());
    // Beside the evidence is fine when it is not inside a folder being read.
    let ok = elsewhere.path().join("out.jsonl");
    let out = wormtrace(&[
        "scan",
        "-q",
        "--format",
        "jsonl",
        "-o",
        ok.to_str().unwrap(),
        log_arg,
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(ok.exists());
}

#[test]
fn terminal_sequences_from_the_evidence_are_shown_not_obeyed() {
    let dir = tempfile::tempdir().unwrap();
    let host = "evil\x1b]0;pwned\x07\x1b[2Jx\u{202e}gpj";
    let name = "log\x1b[31m.log";
    let log = write(
        dir.path(),
        name,
        format!("{FIELDS}{}", log_line("GET", host)).as_bytes(),
    );
    write(dir.path(), "blob\x1b[2J.bin", &[0u8, 1, 2, 3].repeat(100));
    let out = wormtrace(&["scan", dir.path().to_str().unwrap()]);
    let text = String::from_utf8(out.stdout).unwrap();
    let err = String::from_utf8(out.stderr).unwrap();
    for stream in [&text, &err] {
        assert!(
            !stream.contains('\x1b') && !stream.contains('\x07') && !stream.contains('\u{202e}'),
            "{stream:?}"
        );
    }
    // (host names are compared without case, so the log's name is lower-cased)
    assert!(
        text.contains(r"evil\x1b]0;pwned\x07\x1b[2jx\u{202e}gpj"),
        "{text}"
    );
    assert!(err.contains(r"blob\x1b[2J.bin"), "{err}");
    assert!(log.exists());
}

#[test]
fn csv_cells_cannot_run_as_formulas_and_json_lines_stay_lines() {
    let dir = tempfile::tempdir().unwrap();
    let body = format!(
        "{FIELDS}{}",
        log_line("=cmd|'/C+calc'!A0", "-x\u{2028}y\u{85}z")
    );
    let log = write(dir.path(), "ex.log", body.as_bytes());
    let out = wormtrace(&["scan", "-q", "--format", "csv", log.to_str().unwrap()]);
    let csv_text = String::from_utf8(out.stdout).unwrap();
    let mut rows = csv::Reader::from_reader(csv_text.as_bytes());
    let headers = rows.headers().unwrap().clone();
    let row = rows.records().next().unwrap().unwrap();
    let column = |name: &str| {
        row.get(headers.iter().position(|h| h == name).unwrap())
            .unwrap()
            .to_string()
    };
    assert_eq!(column("method"), "'=cmd|'/C+calc'!A0");
    assert!(
        csv_text.lines().all(|l| l.starts_with('"')),
        "every cell quoted: {csv_text}"
    );

    let out = wormtrace(&["scan", "-q", "--format", "jsonl", log.to_str().unwrap()]);
    let jsonl = String::from_utf8(out.stdout).unwrap();
    assert!(!jsonl.contains('\u{2028}') && !jsonl.contains('\u{85}'));
    assert!(
        jsonl.contains(r"\u2028") && jsonl.contains(r"\u0085"),
        "{jsonl}"
    );
    // Split on every Unicode line break, each piece is still a whole record.
    for line in jsonl
        .split(['\n', '\u{2028}', '\u{2029}', '\u{85}'])
        .filter(|l| !l.is_empty())
    {
        serde_json::from_str::<serde_json::Value>(line).unwrap();
    }
    let _ = Path::new(".");
}
