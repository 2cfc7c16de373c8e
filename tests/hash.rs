//! `--hash none`: the same findings and verdicts as with SHA-256, inputs recorded without a
//! digest, and the choice kept in the summary and the case file.

mod common;

use std::path::{Path, PathBuf};

use common::{of_type, scan_jsonl, worm_query, wormtrace};

fn samples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("samples")
}

/// Every record but the inputs, which differ by their digest.
fn without_inputs(records: &[serde_json::Value]) -> Vec<&serde_json::Value> {
    records.iter().filter(|r| r["type"] != "input").collect()
}

#[test]
fn without_hashing_the_findings_and_verdicts_are_the_same() {
    let (code, hashed) = scan_jsonl(&[&samples()], &["--hash", "sha256"]);
    let (code_none, unhashed) = scan_jsonl(&[&samples()], &["--hash", "none"]);
    assert_eq!((code, code_none), (1, 1));
    assert!(!of_type(&hashed, "finding").is_empty());
    assert_eq!(without_inputs(&hashed), without_inputs(&unhashed));
    let log_inputs = |records: &[serde_json::Value]| -> Vec<serde_json::Value> {
        of_type(records, "input")
            .into_iter()
            .filter(|i| i["evidence_kind"] == "log")
            .cloned()
            .collect()
    };
    let (hashed_logs, unhashed_logs) = (log_inputs(&hashed), log_inputs(&unhashed));
    assert!(!hashed_logs.is_empty());
    assert_eq!(hashed_logs.len(), unhashed_logs.len());
    for (h, u) in hashed_logs.iter().zip(&unhashed_logs) {
        assert_eq!(h["sha256"].as_str().map(str::len), Some(64), "{h}");
        assert!(u["sha256"].is_null(), "{u}");
        assert_eq!(h["size"], u["size"]);
        assert_eq!(h["findings"], u["findings"]);
    }
    // Exports and listings given as evidence follow the choice; files found on a volume keep
    // their digests, which the findings about them carry.
    for (records, hashed) in [(&hashed, true), (&unhashed, false)] {
        for role in ["listing", "reg-export", "root-exe"] {
            let inputs: Vec<_> = of_type(records, "input")
                .into_iter()
                .filter(|i| i["role"] == role)
                .collect();
            assert!(!inputs.is_empty(), "{role}");
            for i in inputs {
                let expected = hashed || role == "root-exe";
                assert_eq!(i["sha256"].is_string(), expected, "{i}");
            }
        }
    }
}

#[test]
fn a_split_log_is_not_hashed_either() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = String::from("#Fields: date time c-ip cs-method cs-uri-stem cs-uri-query\n");
    for i in 0..2000 {
        log.push_str(&format!(
            "2001-08-04 00:00:{:02} 192.0.2.{} GET /index.htm -\n",
            i % 60,
            i % 200
        ));
    }
    log.push_str(&format!(
        "2001-08-04 00:01:00 192.0.2.9 GET /default.ida {}\n",
        worm_query('X')
    ));
    let path = common::write(dir.path(), "ex010804.log", log.as_bytes());
    let split = ["--split-min-bytes", "4096", "-j2"];
    let (_, unhashed) = scan_jsonl(&[&path], &[&split[..], &["--hash", "none"]].concat());
    let (_, hashed) = scan_jsonl(&[&path], &split);
    let input = of_type(&unhashed, "input")[0];
    assert!(input["sha256"].is_null());
    assert_eq!(input["size"], log.len());
    assert_eq!(without_inputs(&hashed), without_inputs(&unhashed));
    assert_eq!(of_type(&unhashed, "finding").len(), 1);
}

#[test]
fn the_summary_and_the_case_file_say_the_inputs_were_not_hashed() {
    let dir = tempfile::tempdir().unwrap();
    let case = dir.path().join("case.sqlite");
    let out = wormtrace(&[
        "scan",
        "--hash",
        "none",
        "--case",
        case.to_str().unwrap(),
        samples().join("iis").to_str().unwrap(),
    ]);
    let summary = String::from_utf8_lossy(&out.stdout);
    assert!(summary.contains("not hashed"), "{summary}");
    let db = rusqlite::Connection::open(&case).unwrap();
    let choice: String = db
        .query_row("SELECT input_hash FROM run", [], |r| r.get(0))
        .unwrap();
    assert_eq!(choice, "none");
    let hashed: i64 = db
        .query_row(
            "SELECT count(*) FROM inputs WHERE sha256 IS NOT NULL",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(hashed, 0);
    // The summary rendered again from the case says so too.
    let again = wormtrace(&["report", case.to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&again.stdout).contains("not hashed"));
    // And a hashed run does not.
    let out = wormtrace(&["scan", samples().join("iis").to_str().unwrap()]);
    assert!(!String::from_utf8_lossy(&out.stdout).contains("not hashed"));
}
