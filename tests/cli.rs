//! The command line end to end: verdicts, outputs, languages, exit codes, bad input.

mod common;
use common::*;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

fn w3c_attacks(dir: &Path) -> std::path::PathBuf {
    let mut text =
        String::from("#Fields: date time c-ip s-ip cs-method cs-uri-stem cs-uri-query sc-status\n");
    for (i, target) in ["10.1.0.10", "10.1.9.9", "10.7.0.1", "192.0.2.80"]
        .iter()
        .enumerate()
    {
        text.push_str(&format!(
            "2001-08-04 10:00:0{i} 10.1.5.23 {target} GET /default.ida {} 404\n",
            worm_query('X')
        ));
    }
    text.push_str(&format!(
        "2001-08-04 11:00:00 198.51.100.7 10.1.0.10 GET /default.ida {} 200\n",
        worm_query('N')
    ));
    write(dir, "ex010804.log", text.as_bytes())
}

#[test]
fn samples_give_the_infected_internal_hosts() {
    let out = wormtrace(&["scan", "samples"]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    // The decision first: what the case comes to, then one row per host of ours.
    assert!(
        text.starts_with("4 hosts of ours are infected or spreading a worm"),
        "{text}"
    );
    let table = text.split("What to do").next().unwrap();
    let row = |host: &str| {
        table
            .lines()
            .find(|l| l.trim_start().starts_with(host))
            .unwrap_or_else(|| panic!("no row for {host}: {table}"))
            .to_string()
    };
    assert!(
        row("WEB05").contains("10.1.5.23  compromised  logs, disk, network"),
        "{table}"
    );
    assert!(row("10.1.7.40").contains("spreading"), "{table}");
    assert!(row("web02").contains("patched"), "{table}");
    assert!(row("web06").contains("clean"), "{table}");
    // One "what to do", grouped by verdict.
    assert_eq!(text.matches("\nWhat to do\n").count(), 1, "{text}");
    assert!(
        text.contains("  compromised: WEB05, web03, web01"),
        "{text}"
    );
}

#[test]
fn the_web_server_seen_through_logs_disk_and_netstat_is_one_host() {
    let (code, records) = scan_jsonl(&[Path::new("samples")], &[]);
    assert_eq!(code, 1);
    let web05 = host_verdict(&records, "10.1.5.23");
    assert_eq!(web05["subject"], "WEB05");
    assert_eq!(web05["verdict"], "compromised");
    assert_eq!(
        web05["evidence_kind"],
        serde_json::json!(["log", "host", "network"])
    );
    let detail = &web05["host"];
    assert_eq!(detail["addresses"], serde_json::json!(["10.1.5.23"]));
    assert!(detail["names"]
        .as_array()
        .unwrap()
        .iter()
        .any(|n| n == "web05"));
    assert_eq!(
        detail["disk"]["verdict"]
            .as_str()
            .or(detail["disk"]["state"].as_str()),
        Some("compromised")
    );
    assert!(
        detail["sent"]["peers"].as_u64().unwrap() > 0,
        "it spreads in the logs"
    );
    assert_eq!(detail["scans"][0]["spreading"], true, "and in its netstat");
    // Every piece of evidence is linked by finding id, and each id names a finding of that kind.
    let findings: Vec<&serde_json::Value> = of_type(&records, "finding");
    for (kind, ids) in web05["evidence"].as_object().unwrap() {
        for id in ids.as_array().unwrap() {
            let f = findings.iter().find(|f| f["id"] == *id).unwrap();
            assert_eq!(f["evidence_kind"], *kind, "finding {id}");
        }
    }
    assert_eq!(web05["evidence"].as_object().unwrap().len(), 3);
    // No other verdict speaks of 10.1.5.23.
    let about: Vec<_> = of_type(&records, "verdict")
        .into_iter()
        .filter(|v| v.to_string().contains("\"10.1.5.23\""))
        .collect();
    assert_eq!(about.len(), 1, "{about:#?}");
}

#[test]
fn internal_sources_spread_with_locality_and_custom_networks() {
    let dir = tempfile::tempdir().unwrap();
    let path = w3c_attacks(dir.path());
    let (_, records) = scan_jsonl(&[&path], &[]);
    let verdicts = of_type(&records, "verdict");
    let host = host_verdict(&records, "10.1.5.23");
    assert_eq!(host["verdict"], "spreading");
    assert_eq!(host["role"], "host");
    assert_eq!(host["host"]["sent"]["peers"], 4);
    assert_eq!(host["host"]["sent"]["share_same_16"], 0.5);
    assert_eq!(host["host"]["sent"]["share_same_8"], 0.75);
    let outsider = verdicts
        .iter()
        .find(|v| v["subject"] == "198.51.100.7")
        .unwrap();
    assert_eq!(
        (&outsider["role"], &outsider["verdict"]),
        (&"source".into(), &"attacked".into())
    );
    let target = host_verdict(&records, "10.1.0.10");
    assert_eq!(target["host"]["served"]["exposure"]["patched"], 1);
    assert_eq!(target["host"]["served"]["exposure"]["no_mapping"], 1);
    assert_eq!(target["host"]["served"]["statuses"]["not_found"], 1);
    assert_eq!(target["host"]["served"]["statuses"]["success"], 1);
    // With our network declared as 198.51.100.0/24 only, 10.1.5.23 is an outsider.
    let (_, records) = scan_jsonl(&[&path], &["--internal", "198.51.100.0/24"]);
    let verdicts = of_type(&records, "verdict");
    let outsider = verdicts
        .iter()
        .find(|v| v["subject"] == "10.1.5.23")
        .unwrap();
    assert_eq!(
        (&outsider["role"], &outsider["verdict"]),
        (&"source".into(), &"attacked".into())
    );
    assert_eq!(
        host_verdict(&records, "198.51.100.7")["verdict"],
        "spreading"
    );
}

#[test]
fn japanese_summary() {
    let dir = tempfile::tempdir().unwrap();
    let path = w3c_attacks(dir.path());
    let out = wormtrace(&["scan", "--lang", "ja", path.to_str().unwrap()]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("感染を広げています"), "{text}");
    assert!(text.contains("対処"));
    let out = Command::new(env!("CARGO_BIN_EXE_wormtrace"))
        .args(["scan", path.to_str().unwrap()])
        .env("LANG", "ja_JP.UTF-8")
        .env_remove("LC_ALL")
        .output()
        .unwrap();
    assert!(String::from_utf8(out.stdout).unwrap().contains("拡散中"));
}

#[test]
fn json_and_csv_outputs_and_output_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = w3c_attacks(dir.path());
    let out = wormtrace(&["scan", "--format", "json", path.to_str().unwrap()]);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["findings"].as_array().unwrap().len(), 5);
    assert_eq!(doc["inputs"][0]["sha256"].as_str().unwrap().len(), 64);
    assert!(doc["verdicts"]
        .as_array()
        .unwrap()
        .iter()
        .any(|v| v["verdict"] == "spreading"));
    let out = wormtrace(&["scan", "--format", "csv", path.to_str().unwrap()]);
    let text = String::from_utf8(out.stdout).unwrap();
    let mut rows = csv::Reader::from_reader(text.as_bytes());
    assert_eq!(rows.headers().unwrap().get(0), Some("family"));
    let families: Vec<String> = rows.records().map(|r| r.unwrap()[0].to_string()).collect();
    assert_eq!(
        families,
        vec![
            "code-red-ii",
            "code-red-ii",
            "code-red-ii",
            "code-red-ii",
            "code-red"
        ]
    );
    let report = dir.path().join("out").with_extension("jsonl");
    let out_dir = tempfile::tempdir().unwrap();
    let report = out_dir.path().join(report.file_name().unwrap());
    let out = wormtrace(&[
        "scan",
        "--format",
        "jsonl",
        "-o",
        report.to_str().unwrap(),
        path.to_str().unwrap(),
    ]);
    assert!(String::from_utf8(out.stdout)
        .unwrap()
        .contains("One host of ours is infected or spreading a worm"));
    assert_eq!(
        std::fs::read_to_string(&report)
            .unwrap()
            .lines()
            .filter(|l| l.contains("\"finding\""))
            .count(),
        5
    );
}

#[test]
fn exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let clean = write(
        dir.path(),
        "clean.log",
        b"192.0.2.1 - - [04/Aug/2001:13:45:01 +0900] \"GET / HTTP/1.0\" 200 5\n",
    );
    let attacked = w3c_attacks(dir.path());
    let missing = dir.path().join("missing.log");
    assert_eq!(
        wormtrace(&["scan", clean.to_str().unwrap()]).status.code(),
        Some(0)
    );
    assert_eq!(
        wormtrace(&["scan", attacked.to_str().unwrap()])
            .status
            .code(),
        Some(1)
    );
    let out = wormtrace(&["scan", clean.to_str().unwrap(), missing.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("missing.log") && err.contains("no such file"),
        "{err}"
    );
    // Findings win over errors.
    assert_eq!(
        wormtrace(&[
            "scan",
            attacked.to_str().unwrap(),
            missing.to_str().unwrap()
        ])
        .status
        .code(),
        Some(1)
    );
}

#[test]
fn bad_inputs_are_reported_and_the_scan_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let line = format!(
        "192.0.2.1 - - [04/Aug/2001:13:45:01 +0900] \"GET /default.ida?{} HTTP/1.0\" 404 5\n",
        worm_query('X')
    );
    let mut body = String::new();
    for _ in 0..2000 {
        body.push_str(&line);
    }
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(body.as_bytes()).unwrap();
    let gz = enc.finish().unwrap();
    let truncated = write(dir.path(), "cut.log.gz", &gz[..gz.len() / 2]);
    let binary = write(
        dir.path(),
        "hive.dat",
        b"regf\x00\x00\x01\x00\x02\x00\x00\x00\x03\x00\x00\x00\x00\x00\x00\x00\x01\x02\x03\x04",
    );
    let mut long = vec![b'A'; 3 << 20];
    long.extend_from_slice(b"\n");
    long.extend_from_slice(line.as_bytes());
    let long_line = write(dir.path(), "long.log", &long);
    let dangling = dir.path().join("dangling.log");
    std::os::unix::fs::symlink(dir.path().join("nowhere"), &dangling).unwrap();
    let (code, records) = scan_jsonl(&[&truncated, &binary, &long_line, &dangling], &[]);
    assert_eq!(code, 1);
    let problems = of_type(&records, "problem");
    let reason = |name: &str| {
        problems
            .iter()
            .find(|p| p["path"].as_str().unwrap().ends_with(name))
            .map(|p| p["reason"].as_str().unwrap().to_string())
            .unwrap_or_default()
    };
    assert!(
        reason("cut.log.gz").contains("gzip data is corrupt or truncated"),
        "{problems:?}"
    );
    // A file with the hive signature goes to the host sweep, which says why it is unreadable.
    assert!(reason("hive.dat").contains("hive"), "{problems:?}");
    assert!(reason("long.log").contains("longer than"));
    assert!(reason("dangling.log").contains("no such file"));
    let findings = of_type(&records, "finding");
    let from_cut = findings
        .iter()
        .filter(|f| f["path"].as_str().unwrap().ends_with("cut.log.gz"))
        .count();
    assert!(from_cut > 100 && from_cut < 2000, "{from_cut}");
    let long_hit = findings
        .iter()
        .find(|f| f["path"].as_str().unwrap().ends_with("long.log"))
        .unwrap();
    assert_eq!(long_hit["line"], 2);
    assert_eq!(long_hit["offset"], (3 << 20) + 1);
}

#[test]
fn evidence_is_left_untouched_and_hashed() {
    let dir = tempfile::tempdir().unwrap();
    let path = w3c_attacks(dir.path());
    let before = std::fs::metadata(&path).unwrap();
    let (_, records) = scan_jsonl(&[dir.path()], &[]);
    let after = std::fs::metadata(&path).unwrap();
    assert_eq!(before.modified().unwrap(), after.modified().unwrap());
    assert_eq!(before.accessed().unwrap(), after.accessed().unwrap());
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    let input = of_type(&records, "input")[0];
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(input["size"], bytes.len());
    use sha2::Digest;
    let hex: String = sha2::Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(input["sha256"], hex);
}

#[test]
fn output_is_the_same_whatever_the_thread_count() {
    let one = wormtrace(&["scan", "--format", "jsonl", "-j", "1", "samples"]);
    let four = wormtrace(&["scan", "--format", "jsonl", "-j", "4", "samples"]);
    assert!(!one.stdout.is_empty());
    assert_eq!(one.stdout, four.stdout);
}

#[test]
fn standard_input() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_wormtrace"))
        .args(["scan", "--format", "jsonl", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let line = format!(
        "192.0.2.1 - - [04/Aug/2001:13:45:01 +0900] \"GET /default.ida?{} HTTP/1.0\" 404 5\n",
        worm_query('N')
    );
    child
        .stdin
        .take()
        .unwrap()
        .write_all(line.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("\"family\":\"code-red\"") && text.contains("\"path\":\"-\""));
}

#[test]
fn rules_commands() {
    let out = wormtrace(&["rules", "list"]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("code-red-ii") && text.contains("nimda"));
    let out = wormtrace(&["rules", "stats"]);
    let stats = String::from_utf8(out.stdout).unwrap();
    assert!(stats.contains(", 0 slow"));
    // Each rule is followed by the inputs it applies to.
    let applies = |id: &str| {
        let at = stats.find(id).unwrap_or_else(|| panic!("{id} in {stats}"));
        let line = stats[at..].lines().nth(1).unwrap().trim().to_string();
        line.strip_prefix("applies to: ").unwrap().to_string()
    };
    assert_eq!(
        applies("9d3f1c52-6a0e-4b7d-8e21-5c4a7b90d613"),
        "apache-error"
    );
    assert_eq!(
        applies("7a0a527a-8dc5-4a76-834f-eece61711925"),
        "every input"
    );
    assert_eq!(
        applies("4b195806-97df-4357-8430-685f15a652a6"),
        "every log format (not unrecognised text)"
    );
    assert!(
        stats.contains(r"/scripts/..\\xc1\\x1c../") && stats.contains(r"/scripts/..\xc1\x1c../"),
        "escaped text and raw bytes are told apart"
    );
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "bad.yml", b"title: bad\nlogsource:\n  category: webserver\ndetection:\n  sel:\n    cs-uri-stem|nosuch: x\n  condition: sel\n");
    let out = wormtrace(&["rules", "check", dir.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("bad.yml:6:") && text.contains("nosuch"),
        "{text}"
    );
    assert_eq!(
        wormtrace(&["rules", "check", "rules"]).status.code(),
        Some(0)
    );
}

#[test]
#[ignore = "needs the SigmaHQ corpus outside the repository (WORMTRACE_SIGMA_DIR)"]
fn every_sigmahq_web_rule_loads() {
    let corpus = common::sigma_corpus();
    let corpus = corpus.as_str();
    let out = wormtrace(&["rules", "check", corpus]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains(" 0 errors"), "{text}");
    let out = wormtrace(&["rules", "stats", "--rules", corpus]);
    assert!(String::from_utf8(out.stdout).unwrap().contains(", 0 slow"));
}

#[test]
fn parse_prints_taxonomy_fields_of_every_line() {
    let dir = tempfile::tempdir().unwrap();
    let log = w3c_attacks(dir.path());
    let out = wormtrace(&["parse", &log.display().to_string()]);
    assert_eq!(out.status.code(), Some(0));
    let records: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // Five requests; the #Fields directive gives no record but counts as line 1.
    assert_eq!(records.len(), 5);
    let first = &records[0];
    assert_eq!(first["line"], 2);
    assert_eq!(first["format"], "iis-w3c");
    assert_eq!(first["fields"]["c-ip"], "10.1.5.23");
    assert_eq!(first["fields"]["cs-uri-stem"], "/default.ida");
    assert_eq!(first["fields"]["sc-status"], "404");
    assert!(first["fields"].get("cs-user-agent").is_none());
    assert_eq!(first["time"], "2001-08-04T10:00:00Z");
}

#[test]
fn all_hits_keeps_every_rule_that_matched_a_line() {
    let dir = tempfile::tempdir().unwrap();
    let log = w3c_attacks(dir.path());
    let rules_of = |extra: &[&str]| {
        let (_, records) = scan_jsonl(&[&log], extra);
        of_type(&records, "finding")
            .iter()
            .filter(|f| f["line"] == 2)
            .map(|f| f["family"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(rules_of(&[]), ["code-red-ii"]);
    let all = rules_of(&["--all-hits"]);
    assert!(all.contains(&"code-red-ii".to_string()), "{all:?}");
    assert!(all.contains(&"iis-exploit".to_string()), "{all:?}");
}

#[test]
fn a_dash_as_output_is_standard_output_and_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let log = w3c_attacks(dir.path());
    let out = Command::new(env!("CARGO_BIN_EXE_wormtrace"))
        .current_dir(dir.path())
        .args(["scan", "--format", "jsonl", "--quiet", "-o", "-"])
        .arg(&log)
        .env("NO_COLOR", "1")
        .output()
        .expect("binary runs");
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let findings = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.contains("\"type\":\"finding\""))
        .count();
    assert_eq!(findings, 5);
    assert!(!dir.path().join("-").exists());
}
