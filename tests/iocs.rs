//! IOC export: the attacking sources and our infected hosts as a plain address list and as a
//! STIX 2.1 bundle; the bundle is checked with the OASIS `stix2` library when PyPI is there.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{worm_query, wormtrace, write};
use serde_json::Value;

/// A log with an outside attacker over IPv6, and one of our hosts spreading Code Red II.
fn case(dir: &Path) -> PathBuf {
    let mut log =
        String::from("#Fields: date time c-ip s-ip cs-method cs-uri-stem cs-uri-query sc-status\n");
    log.push_str(&format!(
        "2001-08-04 10:00:00 2001:db8::7 10.1.0.10 GET /default.ida {} 404\n",
        worm_query('N')
    ));
    for i in 0..3 {
        log.push_str(&format!(
            "2001-08-04 11:00:0{i} 10.1.5.23 10.1.0.{} GET /default.ida {} 404\n",
            20 + i,
            worm_query('X')
        ));
    }
    write(dir, "ex010804.log", log.as_bytes())
}

fn scan_iocs(log: &Path, out: &Path, threads: &str) -> (String, Value) {
    let status = wormtrace(&[
        "scan",
        "-q",
        "-j",
        threads,
        "--iocs",
        &out.display().to_string(),
        &log.display().to_string(),
    ])
    .status;
    assert_eq!(status.code(), Some(1));
    let plain = std::fs::read_to_string(out).unwrap();
    let bundle = std::fs::read_to_string(out.with_extension("stix.json")).unwrap();
    (plain, serde_json::from_str(&bundle).unwrap())
}

#[test]
fn attackers_and_infected_hosts_as_a_list_and_a_stix_bundle() {
    let dir = tempfile::tempdir().unwrap();
    let log = case(dir.path());
    let out = dir.path().join("block.txt");
    let (plain, bundle) = scan_iocs(&log, &out, "1");
    assert_eq!(plain, "10.1.5.23\n2001:db8::7\n");
    assert_eq!(bundle["type"], "bundle");
    let objects = bundle["objects"].as_array().unwrap();
    assert_eq!(objects[0]["type"], "identity");
    let indicator = |pattern: &str| {
        objects
            .iter()
            .find(|o| o["pattern"] == pattern)
            .unwrap_or_else(|| panic!("no indicator {pattern}"))
    };
    let attacker = indicator("[ipv6-addr:value = '2001:db8::7']");
    assert_eq!(attacker["indicator_types"][0], "malicious-activity");
    assert_eq!(
        attacker["labels"],
        serde_json::json!(["code-red", "attacker"])
    );
    assert_eq!(attacker["valid_from"], "2001-08-04T10:00:00.000Z");
    let infected = indicator("[ipv4-addr:value = '10.1.5.23']");
    assert_eq!(infected["indicator_types"][0], "compromised");
    assert_eq!(
        infected["labels"],
        serde_json::json!(["code-red-ii", "infected-host"])
    );
    assert_eq!(infected["valid_until"], "2001-08-04T11:00:02.000Z");
    assert_eq!(objects.len(), 3);
    // Same evidence, same bytes, whatever the thread count.
    let again = dir.path().join("again.txt");
    let (plain2, bundle2) = scan_iocs(&log, &again, "2");
    assert_eq!((plain, bundle), (plain2, bundle2));
}

#[test]
fn an_unwritable_ioc_path_fails_before_the_scan() {
    let dir = tempfile::tempdir().unwrap();
    let log = case(dir.path());
    let out = wormtrace(&[
        "scan",
        "--iocs",
        &dir.path()
            .join("no/such/dir/iocs.txt")
            .display()
            .to_string(),
        &log.display().to_string(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot create"));
    assert!(out.stdout.is_empty(), "nothing was scanned");
}

#[test]
#[ignore = "needs PyPI (the OASIS stix2 library in a virtualenv)"]
fn the_bundle_of_the_samples_passes_the_oasis_stix2_library() {
    let root = env!("CARGO_MANIFEST_DIR");
    let venv = Path::new(env!("CARGO_TARGET_TMPDIR")).join("stix-venv");
    let status = Command::new("bash")
        .arg(Path::new(root).join("tests/venv.sh"))
        .arg(&venv)
        .arg(Path::new(root).join("tests/stix/requirements.txt"))
        .status()
        .unwrap();
    assert!(status.success(), "could not install stix2 (needs PyPI)");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("iocs.txt");
    let status = wormtrace(&[
        "scan",
        "-q",
        "--iocs",
        &out.display().to_string(),
        "samples",
    ])
    .status;
    assert_eq!(status.code(), Some(1));
    for bundle in [out.with_extension("stix.json"), {
        let (_, _) = scan_iocs(&case(dir.path()), &dir.path().join("case.txt"), "1");
        dir.path().join("case.stix.json")
    }] {
        let checked = Command::new(venv.join("bin/python"))
            .arg(Path::new(root).join("tests/stix/validate.py"))
            .arg(&bundle)
            .output()
            .unwrap();
        let summary: Value = serde_json::from_slice(&checked.stdout)
            .unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&checked.stderr)));
        assert!(checked.status.success(), "{summary}");
        assert_eq!(summary["valid"], true, "{summary}");
        assert!(summary["indicators"].as_u64().unwrap() >= 2, "{summary}");
    }
}
