//! One verdict per host: the answers each kind of request reads, rotated logs as one server,
//! and the identity sources that join names and addresses (.reg interfaces, inventory,
//! `--host`), through the command line.

mod common;

use std::path::Path;

use common::{host_verdict, of_type, scan_jsonl, worm_query, wormtrace, write};
use wormtrace_gen::host::{reg_export, RegKeySpec, RegValue};

const FIELDS: &str = "#Fields: date time c-ip s-ip cs-method cs-uri-stem cs-uri-query sc-status\n";

fn line(time: &str, client: &str, server: &str, stem: &str, query: &str, status: &str) -> String {
    format!("2001-09-18 {time} {client} {server} GET {stem} {query} {status}\n")
}

#[test]
fn a_backdoor_that_answers_makes_the_target_compromised() {
    let dir = tempfile::tempdir().unwrap();
    for (stem, query) in [
        ("/scripts/root.exe", "/c+dir"),
        ("/MSADC/root.exe", "/c+dir"),
        ("/c/winnt/system32/cmd.exe", "/c+dir"),
        ("/d/winnt/system32/cmd.exe", "/c+dir"),
    ] {
        let log = format!(
            "{FIELDS}{}",
            line("10:00:00", "198.51.100.9", "10.3.0.1", stem, query, "200")
        );
        let path = write(dir.path(), "ex010918.log", log.as_bytes());
        let (code, records) = scan_jsonl(&[&path], &[]);
        assert_eq!(code, 1);
        let f = &of_type(&records, "finding")[0];
        assert_eq!(
            (f["family"].as_str(), f["exposure"].as_str()),
            (Some("nimda"), Some("backdoor")),
            "{stem}"
        );
        let host = host_verdict(&records, "10.3.0.1");
        assert_eq!(host["verdict"], "compromised", "{stem}");
        assert_eq!(host["host"]["served"]["backdoor_answered"], 1);
    }
    // A 404 to the same requests says the backdoor is not there: attacked only.
    let log = format!(
        "{FIELDS}{}",
        line(
            "10:00:00",
            "198.51.100.9",
            "10.3.0.1",
            "/scripts/root.exe",
            "/c+dir",
            "404"
        )
    );
    let path = write(dir.path(), "ex010918.log", log.as_bytes());
    let (_, records) = scan_jsonl(&[&path], &[]);
    assert_eq!(host_verdict(&records, "10.3.0.1")["verdict"], "attacked");
}

#[test]
fn a_traversal_answered_200_or_502_makes_the_target_exposed() {
    let dir = tempfile::tempdir().unwrap();
    for status in ["200", "502"] {
        let log = format!(
            "{FIELDS}{}",
            line(
                "10:00:00",
                "198.51.100.9",
                "10.3.0.2",
                "/scripts/..%255c../winnt/system32/cmd.exe",
                "/c+dir",
                status
            )
        );
        let path = write(dir.path(), "ex010918.log", log.as_bytes());
        let (_, records) = scan_jsonl(&[&path], &[]);
        let host = host_verdict(&records, "10.3.0.2");
        assert_eq!(host["verdict"], "exposed", "{status}");
        assert_eq!(host["host"]["served"]["traversal_answered"], 1);
        assert_eq!(of_type(&records, "finding")[0]["exposure"], "traversal");
    }
}

#[test]
fn statuses_of_every_family_are_counted_and_add_up() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = String::from(FIELDS);
    log.push_str(&line(
        "10:00:00",
        "198.51.100.9",
        "10.3.0.3",
        "/default.ida",
        &worm_query('X'),
        "404",
    ));
    log.push_str(&line(
        "10:00:01",
        "198.51.100.9",
        "10.3.0.3",
        "/scripts/root.exe",
        "/c+dir",
        "403",
    ));
    log.push_str(&line(
        "10:00:02",
        "198.51.100.9",
        "10.3.0.3",
        "/MSADC/root.exe",
        "/c+dir",
        "-",
    ));
    let path = write(dir.path(), "ex010918.log", log.as_bytes());
    let (_, records) = scan_jsonl(&[&path], &[]);
    let served = &host_verdict(&records, "10.3.0.3")["host"]["served"];
    let s = &served["statuses"];
    assert_eq!(
        (
            s["not_found"].as_u64(),
            s["other"].as_u64(),
            s["none"].as_u64()
        ),
        (Some(1), Some(1), Some(1))
    );
    assert_eq!(s["success"], 0);
    let text = String::from_utf8(wormtrace(&["scan", &path.display().to_string()]).stdout).unwrap();
    let row = text
        .lines()
        .find(|l| l.trim_start().starts_with("10.3.0.3") && l.contains("attacked  3"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(row.ends_with("3         1    0    1      1"), "{row:?}");
}

#[test]
fn rotated_logs_of_one_server_are_one_host() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("apache");
    std::fs::create_dir(&logs).unwrap();
    let ncsa = |day: u8| {
        format!(
            "198.51.100.{day} - - [0{day}/Aug/2001:10:00:00 +0000] \"GET /default.ida?{} HTTP/1.0\" 404 290\n",
            worm_query('N')
        )
    };
    write(&logs, "access_log", ncsa(4).as_bytes());
    write(&logs, "access_log.1", ncsa(5).as_bytes());
    write(&logs, "access_log.2", ncsa(6).as_bytes());
    let (_, records) = scan_jsonl(&[&logs], &[]);
    let hosts: Vec<_> = of_type(&records, "verdict")
        .into_iter()
        .filter(|v| v["role"] == "host")
        .collect();
    assert_eq!(hosts.len(), 1, "{hosts:#?}");
    assert_eq!(hosts[0]["subject"], format!("log:{}", logs.display()));
    assert_eq!(hosts[0]["host"]["served"]["statuses"]["not_found"], 3);
}

fn system_export(name: &'static str, address: &'static [&'static str]) -> Vec<u8> {
    let keys: Vec<RegKeySpec> = vec![
        (
            r"SYSTEM\CurrentControlSet\Control\ComputerName\ComputerName",
            vec![("ComputerName", RegValue::Sz(name))],
        ),
        (
            r"SYSTEM\CurrentControlSet\Services\Tcpip\Parameters\Interfaces\{0A}",
            vec![("IPAddress", RegValue::MultiSz(address))],
        ),
        (
            r"SYSTEM\CurrentControlSet\Services\W3SVC\Parameters\Virtual Roots",
            vec![("/C", RegValue::Sz(r"c:\,,217"))],
        ),
    ];
    reg_export(true, &keys)
}

#[test]
fn a_reg_export_names_the_host_and_its_address_and_joins_the_logs() {
    let dir = tempfile::tempdir().unwrap();
    let host = dir.path().join("export");
    std::fs::create_dir(&host).unwrap();
    write(&host, "system.reg", &system_export("WEB07", &["10.3.0.7"]));
    let log = format!(
        "{FIELDS}{}",
        line(
            "10:00:00",
            "198.51.100.9",
            "10.3.0.7",
            "/default.ida",
            &worm_query('X'),
            "404"
        )
    );
    let log = write(dir.path(), "ex010918.log", log.as_bytes());
    let (_, records) = scan_jsonl(&[&host, &log], &[]);
    let web07 = host_verdict(&records, "10.3.0.7");
    assert_eq!(web07["subject"], "WEB07");
    assert_eq!(web07["verdict"], "compromised", "the export's /C root");
    assert_eq!(web07["evidence_kind"], serde_json::json!(["log", "host"]));
    assert_eq!(
        of_type(&records, "verdict")
            .iter()
            .filter(|v| v["role"] == "host")
            .count(),
        1
    );
}

#[test]
fn the_inventory_names_hosts_and_lists_the_unchecked() {
    let dir = tempfile::tempdir().unwrap();
    let inventory = write(
        dir.path(),
        "hosts.csv",
        b"name,address,role,notes\nwww1,10.3.0.8,web,front\nwww1,192.168.3.8\ndb1,10.3.0.9,database\n",
    );
    let log = format!(
        "{FIELDS}{}",
        line(
            "10:00:00",
            "198.51.100.9",
            "192.168.3.8",
            "/default.ida",
            &worm_query('N'),
            "404"
        )
    );
    let log = write(dir.path(), "ex010918.log", log.as_bytes());
    let inv = inventory.display().to_string();
    let (_, records) = scan_jsonl(&[&log], &["--inventory", &inv]);
    let www1 = host_verdict(&records, "192.168.3.8");
    assert_eq!(www1["subject"], "www1");
    assert_eq!(www1["verdict"], "attacked");
    assert_eq!(www1["host"]["inventory_role"], "web");
    assert_eq!(
        www1["host"]["addresses"],
        serde_json::json!(["10.3.0.8", "192.168.3.8"])
    );
    let db1 = host_verdict(&records, "db1");
    assert_eq!(
        db1["verdict"], "unknown",
        "listed, but nothing about it was read"
    );
    let bad = write(dir.path(), "bad.csv", b"www1,not-an-address\n");
    let out = wormtrace(&[
        "scan",
        "--inventory",
        &bad.display().to_string(),
        &log.display().to_string(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("line 1"));
}

#[test]
fn a_host_name_given_on_the_command_line_wins() {
    let dir = tempfile::tempdir().unwrap();
    let host = dir.path().join("export");
    std::fs::create_dir(&host).unwrap();
    let export = write(&host, "system.reg", &system_export("WEB07", &["10.3.0.7"]));
    let arg = format!("frontdoor={}", export.display());
    let (_, records) = scan_jsonl(&[], &["--host", &arg]);
    let v = host_verdict(&records, "10.3.0.7");
    assert_eq!(v["subject"], "frontdoor");
    assert!(v["host"]["names"]
        .as_array()
        .unwrap()
        .iter()
        .any(|n| n == "web07"));
}

#[test]
fn output_is_the_same_for_any_thread_count() {
    let run = |threads: &str| {
        wormtrace(&["scan", "-q", "--format", "jsonl", "-j", threads, "samples"]).stdout
    };
    let one = run("1");
    assert!(!one.is_empty());
    assert_eq!(one, run("2"));
    assert_eq!(one, run("3"));
    let _ = Path::new("samples");
}
