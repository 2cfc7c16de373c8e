//! `--repeats`: past the limit, findings of one kind (rule, client, server, status) in one
//! input are counted and not written; the verdicts and totals count every one of them.

mod common;

use std::fmt::Write as _;

use common::{of_type, scan_jsonl, worm_query, write};
use serde_json::Value;

#[test]
fn a_flood_of_one_probe_writes_the_first_and_counts_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = "GET /a.ida HTTP/1.0\n".repeat(1000);
    text.push_str("GET /scripts/root.exe?/c+dir HTTP/1.0\n");
    let log = write(dir.path(), "flood.log", text.as_bytes());
    let (code, records) = scan_jsonl(&[&log], &[]);
    assert_eq!(code, 1);
    let findings = of_type(&records, "finding");
    assert_eq!(findings.len(), 101);
    assert_eq!(findings[99]["line"], 100);
    assert_eq!(findings[100]["line"], 1001);
    let input = &of_type(&records, "input")[0];
    assert_eq!(input["findings"], 1001);
    assert_eq!(input["findings_omitted"], 900);
    let repeat = &input["repeats"][0];
    assert_eq!(input["repeats"].as_array().unwrap().len(), 1);
    assert_eq!(
        (&repeat["written"], &repeat["omitted"]),
        (&Value::from(100), &Value::from(900))
    );
    assert_eq!(
        (&repeat["first_line"], &repeat["last_line"]),
        (&Value::from(101), &Value::from(1000))
    );
    let verdict = &of_type(&records, "verdict")[0];
    assert_eq!(verdict["evidence_count"], 1001);
    let summary = &of_type(&records, "summary")[0];
    assert_eq!(
        (&summary["findings"], &summary["findings_omitted"]),
        (&Value::from(1001), &Value::from(900))
    );
    // --repeats 0 writes them all.
    let (_, all) = scan_jsonl(&[&log], &["--repeats", "0"]);
    assert_eq!(of_type(&all, "finding").len(), 1001);
    assert!(of_type(&all, "input")[0].get("findings_omitted").is_none());
}

/// Probes from a few clients at changing times with changing answers: the kinds repeat,
/// the lines never do.
fn probes(lines: usize) -> String {
    let mut text = String::new();
    for n in 0..lines {
        let status = if n % 5 == 0 { 200 } else { 404 };
        writeln!(
            text,
            "192.0.2.{} - - [05/Aug/2001:{:02}:{:02}:{:02} +0900] \"GET /default.ida?{} HTTP/1.0\" {status} 0",
            n % 3 + 1,
            n / 3600 % 24,
            n / 60 % 60,
            n % 60,
            worm_query('N')
        )
        .unwrap();
    }
    text
}

fn without_ids(mut verdict: Value) -> Value {
    verdict.as_object_mut().unwrap().remove("evidence");
    verdict
}

#[test]
fn verdicts_and_totals_are_the_same_whatever_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    let log = write(dir.path(), "access_log", probes(600).as_bytes());
    let (_, all) = scan_jsonl(&[&log], &["--repeats", "0"]);
    let (_, few) = scan_jsonl(&[&log], &["--repeats", "2"]);
    // Three clients, each with answers 200 and 404: six kinds, two findings each written.
    assert_eq!(of_type(&few, "finding").len(), 12);
    let verdicts = |records: &[Value]| -> Vec<Value> {
        of_type(records, "verdict")
            .into_iter()
            .map(|v| without_ids(v.clone()))
            .collect()
    };
    assert_eq!(verdicts(&all), verdicts(&few));
    let input = &of_type(&few, "input")[0];
    assert_eq!(input["findings"], 600);
    assert_eq!(input["findings_omitted"], 588);
    let repeats = input["repeats"].as_array().unwrap();
    assert_eq!(repeats.len(), 6);
    let omitted: u64 = repeats.iter().map(|r| r["omitted"].as_u64().unwrap()).sum();
    assert_eq!(omitted, 588);
    // The repeats' times span their kind's lines after the first two.
    assert!(repeats
        .iter()
        .all(|r| r["first_time"].as_str() < r["last_time"].as_str()));
    assert_eq!(of_type(&all, "summary")[0]["findings"], 600);
    assert_eq!(of_type(&few, "summary")[0]["findings"], 600);
}

#[test]
fn the_summary_says_what_was_counted_and_not_written() {
    let dir = tempfile::tempdir().unwrap();
    let log = write(dir.path(), "access_log", probes(300).as_bytes());
    let out = common::wormtrace(&["scan", "--repeats", "10", log.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Of these findings, 240 repeated"), "{text}");
    assert!(text.contains("more than 10 times"), "{text}");
}

#[test]
fn identical_lines_with_nul_blocks_have_every_block_counted() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = Vec::new();
    for _ in 0..300 {
        bytes.extend(std::iter::repeat_n(0u8, 64));
        bytes.extend_from_slice(b"GET /a.ida HTTP/1.0\n");
    }
    let log = write(dir.path(), "flood.log", &bytes);
    let (_, records) = scan_jsonl(&[&log], &[]);
    let problems = of_type(&records, "problem");
    let reason = problems[0]["reason"].as_str().unwrap();
    assert!(
        reason.contains("19200 NUL bytes in 300 block(s)"),
        "{reason}"
    );
}
