//! Load balancer, CDN, proxy and JSON access logs: the same requests written in every
//! format (by `wormtrace_gen::weblogs`) give the same findings, clients and times; proxy
//! headers, zones and `parse` per format.

mod common;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use common::*;
use wormtrace_gen::weblogs::{sample_requests, Request, WebFormat, SAMPLE_CLIENT};

fn write_all(dir: &Path, requests: &[Request]) {
    for format in WebFormat::ALL {
        std::fs::write(dir.join(format.file_name()), format.log(requests)).unwrap();
    }
}

/// Per file name: (request index, family or rule title, client, time) of its findings.
type PerFile = BTreeMap<String, BTreeSet<(u64, String, String, String)>>;

fn per_file(records: &[serde_json::Value], key: &str) -> PerFile {
    let mut out = PerFile::new();
    for f in of_type(records, "finding") {
        let name = f["path"].as_str().unwrap().rsplit('/').next().unwrap();
        // Header lines come before the requests in two formats: count data lines only.
        let headers = WebFormat::ALL
            .into_iter()
            .find(|w| w.file_name() == name)
            .map_or(0, |w| w.header().lines().count() as u64);
        out.entry(name.to_string()).or_default().insert((
            f["line"].as_u64().unwrap() - headers - 1,
            f[key].as_str().unwrap().to_string(),
            f["client_ip"].as_str().unwrap_or_default().to_string(),
            f["time"].as_str().unwrap_or_default().to_string(),
        ));
    }
    out
}

#[test]
fn every_format_gives_the_same_findings_clients_and_times() {
    let dir = tempfile::tempdir().unwrap();
    write_all(dir.path(), &sample_requests());
    let (code, records) = scan_jsonl(&[dir.path()], &[]);
    assert_eq!(code, 1);
    let found = per_file(&records, "family");
    assert_eq!(found.len(), WebFormat::ALL.len(), "{found:?}");
    let want: BTreeSet<(u64, String, String, String)> = [
        (1, "code-red-ii", "2001-08-04T10:00:01Z"),
        (2, "nimda", "2001-08-04T10:00:02Z"),
    ]
    .into_iter()
    .map(|(i, f, t)| (i, f.to_string(), SAMPLE_CLIENT.to_string(), t.to_string()))
    .collect();
    for (file, got) in &found {
        assert_eq!(got, &want, "{file}");
    }
    let formats: BTreeSet<&str> = of_type(&records, "input")
        .iter()
        .filter_map(|i| i["format"].as_str())
        .collect();
    let named: BTreeSet<&str> = WebFormat::ALL.iter().map(|f| f.name()).collect();
    assert_eq!(formats, named, "each file read as its own format");
}

#[test]
#[ignore = "needs the SigmaHQ corpus outside the repository (WORMTRACE_SIGMA_DIR); .ci/run runs it"]
fn sigmahq_rules_fire_identically_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    write_all(dir.path(), &sample_requests());
    let corpus = sigma_corpus();
    let (_, records) = scan_jsonl(&[dir.path()], &["--rules", &corpus]);
    let found = per_file(&records, "rule_title");
    let mut files = found.values();
    let first = files.next().expect("findings").clone();
    assert!(
        first
            .iter()
            .any(|(i, title, _, _)| *i == 3 && title.contains("Log4j")),
        "the Log4Shell probe is found: {first:?}"
    );
    for (file, got) in &found {
        assert_eq!(got, &first, "{file} differs");
    }
    assert_eq!(found.len(), WebFormat::ALL.len());
}

/// A proxied copy of the samples: our proxy 10.0.0.9 connected, the header names a forged
/// first hop and the client its edge saw.
fn proxied() -> Vec<Request> {
    sample_requests()
        .into_iter()
        .map(|mut r| {
            r.client = "10.0.0.9".into();
            r.xff = Some("198.51.100.1, 203.0.113.9".into());
            r
        })
        .collect()
}

/// Client of the Code Red II finding per file.
fn clients(records: &[serde_json::Value]) -> BTreeMap<String, (String, String)> {
    of_type(records, "finding")
        .iter()
        .filter(|f| f["family"] == "code-red-ii")
        .map(|f| {
            let name = f["path"].as_str().unwrap().rsplit('/').next().unwrap();
            let header = f["forwarded_for"].as_str().unwrap_or("-").to_string();
            (
                name.to_string(),
                (f["client_ip"].as_str().unwrap().to_string(), header),
            )
        })
        .collect()
}

#[test]
fn proxy_headers_peer_and_trusted_proxies() {
    let dir = tempfile::tempdir().unwrap();
    write_all(dir.path(), &proxied());
    // Formats whose logs carry the header (Front Door logs the client it took from it).
    let with_header = [
        "cloudfront.log",
        "nginx-json.log",
        "caddy-json.log",
        "traefik-json.log",
        "envoy-json.log",
        "azure-frontdoor.log",
        "iis10.log",
    ];
    let runs: [(&[&str], &str); 3] = [
        (&[], "10.0.0.9"),
        (&["--client-from", "xff"], "203.0.113.9"),
        (
            &["--client-from", "xff", "--trusted-proxy", "203.0.113.0/24"],
            "198.51.100.1",
        ),
    ];
    for (args, want) in runs {
        let (_, records) = scan_jsonl(&[dir.path()], args);
        let got = clients(&records);
        assert_eq!(got.len(), WebFormat::ALL.len(), "{args:?}");
        for (file, (client, header)) in &got {
            if !with_header.contains(&file.as_str()) {
                assert_eq!(client, "10.0.0.9", "{file} {args:?}: no header, the peer");
                continue;
            }
            assert_eq!(header, "198.51.100.1, 203.0.113.9", "{file}");
            assert_eq!(client, want, "{file} {args:?}");
        }
    }
    let (_, records) = scan_jsonl(&[&dir.path().join("nginx-json.log")], &[]);
    let finding = of_type(&records, "finding")[0].clone();
    assert_eq!(finding["peer_ip"], "10.0.0.9", "the finding keeps both");
}

#[test]
fn zones_are_taken_as_each_format_gives_them() {
    let dir = tempfile::tempdir().unwrap();
    write_all(dir.path(), &sample_requests());
    // HAProxy logs the proxy's local time without a zone: --local-offset says which. The
    // others carry UTC or an offset of their own, which the option does not change.
    let (_, records) = scan_jsonl(&[dir.path()], &["--local-offset", "+09:00"]);
    for f in of_type(&records, "finding") {
        if f["family"] != "code-red-ii" {
            continue;
        }
        let want = if f["format"] == "haproxy" {
            "2001-08-04T10:00:01+09:00"
        } else {
            "2001-08-04T10:00:01Z"
        };
        assert_eq!(f["time"], want, "{}", f["format"]);
    }
}

#[test]
fn parse_prints_taxonomy_records_for_each_format() {
    let dir = tempfile::tempdir().unwrap();
    write_all(dir.path(), &sample_requests());
    for format in WebFormat::ALL {
        let path = dir.path().join(format.file_name());
        let out = wormtrace(&["parse", &path.display().to_string()]);
        assert_eq!(out.status.code(), Some(0), "{format:?}");
        let records: Vec<serde_json::Value> = String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let data: Vec<&serde_json::Value> = records
            .iter()
            .filter(|r| r["fields"]["cs-uri-stem"].is_string())
            .collect();
        assert_eq!(data.len(), 5, "{format:?}");
        let nimda = &data[2]["fields"];
        assert_eq!(nimda["c-ip"], SAMPLE_CLIENT, "{format:?}");
        assert_eq!(
            nimda["cs-uri-stem"], "/scripts/..%c1%1c../winnt/system32/cmd.exe",
            "{format:?}"
        );
        assert_eq!(nimda["cs-uri-query"], "/c+dir", "{format:?}");
        assert_eq!(nimda["sc-status"], "404", "{format:?}");
        assert_eq!(data[2]["format"], format.name(), "{format:?}");
    }
}

#[test]
fn a_mapping_file_reads_a_json_layout_of_ones_own() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("app.log");
    let line = format!(
        "{{\"evt\":{{\"at\":\"2001-08-04T10:00:01Z\",\"url\":\"https://shop.example.jp/default.ida?{}\",\"code\":404}},\"peer\":\"192.0.2.7\"}}\n",
        worm_query('X')
    );
    std::fs::write(&log, line).unwrap();
    let mapping = dir.path().join("mapping.yml");
    std::fs::write(
        &mapping,
        "detect: [evt.url]\ntimestamp: evt.at\nfields:\n  c-ip: peer\n  request-url: evt.url\n  sc-status: evt.code\n",
    )
    .unwrap();
    let (code, records) = scan_jsonl(&[&log], &["--mapping", &mapping.display().to_string()]);
    assert_eq!(code, 1);
    let f = &of_type(&records, "finding")[0];
    assert_eq!(f["family"], "code-red-ii");
    assert_eq!(f["format"], "json");
    assert_eq!(f["client_ip"], "192.0.2.7");
    assert_eq!(f["server"], "shop.example.jp");
    // Without the mapping the layout is unknown: the file is text, whose rules need a
    // request line (`GET /...`) and find none in a JSON object holding only a URL.
    let (_, records) = scan_jsonl(&[&log], &[]);
    assert_eq!(of_type(&records, "input")[0]["format"], "text");
    assert!(of_type(&records, "finding").is_empty());
    let bad = dir.path().join("bad.yml");
    std::fs::write(&bad, "fields:\n  no-such-field: x\n").unwrap();
    let out = wormtrace(&[
        "scan",
        "-q",
        "--mapping",
        &bad.display().to_string(),
        &log.display().to_string(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no-such-field"));
}
