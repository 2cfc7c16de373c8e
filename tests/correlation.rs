//! Sigma correlation rules from a user's folder, over the built-in rules' findings: the
//! examples of the issue, out-of-order inputs, the case file round trip, and `rules check`.

mod common;
use common::*;

// Nimda's sixteen request paths, as an IIS W3C log logs them (stem, then the query).
use wormtrace_gen::requests::NIMDA as NIMDA_STEMS;

/// "One client, 10 different Nimda URLs in 10 s" over the built-in Nimda request rule.
const NIMDA_BURST: &str = "title: One client tries many of Nimda's URLs within seconds
id: 6b1f2c1e-7f0a-4f7e-9a51-2d5c0b7e9a10
correlation:
    type: value_count
    rules:
        - 5ccd0d2d-cf19-41d2-94c9-0fe155924ece
    group-by:
        - c-ip
    timespan: 10s
    condition:
        field: cs-uri-stem
        gte: 10
level: critical
family: nimda
confidence: high
";

fn iis_log(lines: &[(String, &str, &str)]) -> String {
    let mut log = String::from(
        "#Software: Microsoft Internet Information Services 5.0\r\n#Fields: date time c-ip cs-method cs-uri-stem cs-uri-query sc-status\r\n",
    );
    for (time, client, stem) in lines {
        log.push_str(&format!(
            "2001-09-18 {time} {client} GET {stem} /c+dir 404\r\n"
        ));
    }
    log
}

fn correlations(records: &[serde_json::Value]) -> Vec<&serde_json::Value> {
    of_type(records, "finding")
        .into_iter()
        .filter(|f| f.get("correlation").is_some())
        .collect()
}

#[test]
fn a_burst_of_nimda_urls_from_one_client_is_one_correlation_finding() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules");
    std::fs::create_dir(&rules).unwrap();
    write(&rules, "mr_nimda_burst.yml", NIMDA_BURST.as_bytes());
    // 192.0.2.7 sends all sixteen within 8 s; 192.0.2.8 sends three.
    let mut lines: Vec<(String, &str, &str)> = NIMDA_STEMS
        .iter()
        .enumerate()
        .map(|(i, s)| (format!("09:00:0{}", i / 2), "192.0.2.7", *s))
        .collect();
    lines.extend(
        NIMDA_STEMS[..3]
            .iter()
            .map(|s| ("09:00:01".to_string(), "192.0.2.8", *s)),
    );
    let log = write(dir.path(), "ex010918.log", iis_log(&lines).as_bytes());
    let rules_arg = rules.to_str().unwrap();
    let (code, records) = scan_jsonl(&[&log], &["--rules", rules_arg]);
    assert_eq!(code, 1);
    let found = correlations(&records);
    assert_eq!(found.len(), 1, "{found:?}");
    let c = found[0];
    assert_eq!(c["correlation"], "value_count");
    assert_eq!(c["group"]["c-ip"], "192.0.2.7");
    assert_eq!(c["family"], "nimda");
    assert_eq!(c["level"], "critical");
    assert_eq!(c["metric"], 16.0);
    assert_eq!(c["window_start"], "2001-09-18T09:00:00Z");
    assert_eq!(c["window_end"], "2001-09-18T09:00:07Z");
    // The evidence links to the client's sixteen Nimda findings, by id.
    let nimda_ids: Vec<u64> = of_type(&records, "finding")
        .iter()
        .filter(|f| f["client_ip"] == "192.0.2.7")
        .map(|f| f["id"].as_u64().unwrap())
        .collect();
    let linked: Vec<u64> = c["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    assert_eq!(linked, nimda_ids);
    assert_eq!(c["findings_total"], 16);
    // The source's verdict lists the correlation finding with its own evidence.
    let verdict = of_type(&records, "verdict")
        .into_iter()
        .find(|v| v["subject"] == "192.0.2.7")
        .expect("a verdict for the source");
    let evidence: Vec<u64> = verdict["evidence"]["log"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    assert!(evidence.contains(&c["id"].as_u64().unwrap()), "{verdict}");
    assert_eq!(verdict["evidence_count"], 17);
    // The summary shows it, in both languages.
    let out = wormtrace(&[
        "scan",
        "--lang",
        "en",
        "--rules",
        rules_arg,
        log.to_str().unwrap(),
    ]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("Correlation rules that held"), "{text}");
    assert!(text.contains("c-ip=192.0.2.7"));
    let out = wormtrace(&[
        "scan",
        "--lang",
        "ja",
        "--rules",
        rules_arg,
        log.to_str().unwrap(),
    ]);
    assert!(String::from_utf8(out.stdout)
        .unwrap()
        .contains("成立した相関ルール"));
}

#[test]
fn inputs_out_of_time_order_give_the_event_time_answer() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules");
    std::fs::create_dir(&rules).unwrap();
    write(&rules, "mr_nimda_burst.yml", NIMDA_BURST.as_bytes());
    // The burst is cut across two logs, and the later log comes first on the command line.
    let first: Vec<(String, &str, &str)> = NIMDA_STEMS[..8]
        .iter()
        .map(|s| ("09:00:00".to_string(), "192.0.2.7", *s))
        .collect();
    let second: Vec<(String, &str, &str)> = NIMDA_STEMS[8..]
        .iter()
        .map(|s| ("09:00:04".to_string(), "192.0.2.7", *s))
        .collect();
    let early = write(dir.path(), "a-early.log", iis_log(&first).as_bytes());
    let late = write(dir.path(), "b-late.log", iis_log(&second).as_bytes());
    let rules_arg = rules.to_str().unwrap();
    let (_, records) = scan_jsonl(&[&late, &early], &["--rules", rules_arg]);
    let found = correlations(&records);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["metric"], 16.0);
    // Far apart in time, the two halves are not one burst.
    let later: Vec<(String, &str, &str)> = NIMDA_STEMS[8..]
        .iter()
        .map(|s| ("10:00:00".to_string(), "192.0.2.7", *s))
        .collect();
    let late = write(dir.path(), "b-late.log", iis_log(&later).as_bytes());
    let (_, records) = scan_jsonl(&[&late, &early], &["--rules", rules_arg]);
    assert_eq!(correlations(&records).len(), 0);
}

#[test]
fn an_attacked_host_then_attacking_within_an_hour() {
    // The second example of the issue, as temporal_ordered over two user rules whose fields
    // differ (aliases): the host is the server in one and the client in the other.
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules");
    std::fs::create_dir(&rules).unwrap();
    let text = "title: Code Red II reaches one of our servers
name: attacked
logsource:
    category: webserver
detection:
    sel:
        cs-uri-stem|endswith: '/default.ida'
        c-ip|cidr: '198.51.100.0/24'
    condition: sel
---
title: One of our hosts sends Code Red II
name: attacking
logsource:
    category: webserver
detection:
    sel:
        cs-uri-stem|endswith: '/default.ida'
        c-ip|cidr: '10.0.0.0/8'
    condition: sel
---
title: Attacked, then attacking within an hour
correlation:
    type: temporal_ordered
    rules:
        - attacked
        - attacking
    group-by:
        - host
    aliases:
        host:
            attacked: s-ip
            attacking: c-ip
    timespan: 1h
level: critical
";
    write(&rules, "mr_attacked_then_attacking.yml", text.as_bytes());
    let q = worm_query('X');
    let log = format!(
        "#Software: Microsoft Internet Information Services 5.0\r\n#Fields: date time c-ip s-ip cs-method cs-uri-stem cs-uri-query sc-status\r\n\
         2001-08-04 10:00:00 198.51.100.9 10.1.0.10 GET /default.ida {q} 200\r\n\
         2001-08-04 10:40:00 10.1.0.10 192.0.2.55 GET /default.ida {q} 404\r\n\
         2001-08-04 10:41:00 10.1.0.11 192.0.2.56 GET /default.ida {q} 404\r\n"
    );
    let path = write(dir.path(), "ex010804.log", log.as_bytes());
    let rules_arg = rules.to_str().unwrap();
    let out = wormtrace(&["rules", "check", rules_arg]);
    let check = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{check}");
    assert!(check.contains("3 rules valid"), "{check}");
    let (_, records) = scan_jsonl(&[&path], &["--rules", rules_arg]);
    let found = correlations(&records);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0]["group"]["host"], "10.1.0.10");
    assert_eq!(found[0]["correlation"], "temporal_ordered");
    assert_eq!(found[0]["metric"], 2.0);
}

#[test]
fn the_case_file_gives_correlation_findings_back_whole() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules");
    std::fs::create_dir(&rules).unwrap();
    write(&rules, "mr_nimda_burst.yml", NIMDA_BURST.as_bytes());
    let lines: Vec<(String, &str, &str)> = NIMDA_STEMS
        .iter()
        .map(|s| ("09:00:00".to_string(), "192.0.2.7", *s))
        .collect();
    let log = write(dir.path(), "ex010918.log", iis_log(&lines).as_bytes());
    let case = dir.path().join("case.db");
    let scan = wormtrace(&[
        "scan",
        "--format",
        "jsonl",
        "-q",
        "--rules",
        rules.to_str().unwrap(),
        "--case",
        case.to_str().unwrap(),
        log.to_str().unwrap(),
    ]);
    let report = wormtrace(&["report", case.to_str().unwrap(), "--format", "jsonl"]);
    let finding_lines = |out: &[u8]| -> Vec<String> {
        String::from_utf8(out.to_vec())
            .unwrap()
            .lines()
            .filter(|l| l.contains("\"correlation\""))
            .map(str::to_string)
            .collect()
    };
    let from_scan = finding_lines(&scan.stdout);
    assert_eq!(from_scan.len(), 1);
    assert_eq!(from_scan, finding_lines(&report.stdout));
}

#[test]
fn a_broken_correlation_is_reported_and_the_scan_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules");
    std::fs::create_dir(&rules).unwrap();
    write(
        &rules,
        "mr_broken.yml",
        b"title: broken\ncorrelation:\n  type: event_count\n  rules: [no-such-rule]\n  group-by: [c-ip]\n  timespan: 10s\n  condition: {gte: 2}\n",
    );
    let out = wormtrace(&["rules", "check", rules.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8(out.stdout)
        .unwrap()
        .contains("no-such-rule"));
    let log = write(
        dir.path(),
        "ex.log",
        iis_log(&[("09:00:00".into(), "192.0.2.7", NIMDA_STEMS[0])]).as_bytes(),
    );
    let out = wormtrace(&[
        "scan",
        "--format",
        "jsonl",
        "--rules",
        rules.to_str().unwrap(),
        log.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1), "the Nimda finding still counts");
    assert!(String::from_utf8(out.stderr)
        .unwrap()
        .contains("rule not loaded"));
}

#[test]
fn a_rule_a_correlation_counts_keeps_its_findings_when_a_finer_family_matches_too() {
    // Nimda's probes also match the generic shell-traversal rule (iis-exploit), whose hits
    // give way to the finer family; a correlation over that rule still sees every one.
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules");
    std::fs::create_dir(&rules).unwrap();
    let text = "title: Shell probes from one client
correlation:
    type: event_count
    rules:
        - 223e9820-7933-42f3-854a-b36eab856f09
    group-by:
        - c-ip
    timespan: 10s
    condition:
        gte: 4
";
    write(&rules, "mr_shell_probes.yml", text.as_bytes());
    let lines: Vec<(String, &str, &str)> = NIMDA_STEMS[..4]
        .iter()
        .map(|s| ("09:00:00".to_string(), "192.0.2.7", *s))
        .collect();
    let log = write(dir.path(), "ex010918.log", iis_log(&lines).as_bytes());
    let (_, without) = scan_jsonl(&[&log], &[]);
    let families = |records: &[serde_json::Value]| -> Vec<String> {
        of_type(records, "finding")
            .iter()
            .filter(|f| f.get("correlation").is_none())
            .map(|f| f["family"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(families(&without), vec!["nimda"; 4]);
    let (_, with) = scan_jsonl(&[&log], &["--rules", rules.to_str().unwrap()]);
    let mut got = families(&with);
    got.sort();
    assert_eq!(got, [vec!["iis-exploit"; 4], vec!["nimda"; 4]].concat());
    let found = correlations(&with);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["metric"], 4.0);
}
