//! Every family in every format, the `#Fields` change, and the real-log traps.

mod common;
use common::*;

fn families(records: &[serde_json::Value]) -> Vec<(u64, String, String)> {
    of_type(records, "finding")
        .iter()
        .map(|f| {
            (
                f["line"].as_u64().unwrap(),
                f["family"].as_str().unwrap().to_string(),
                f["confidence"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn iis_w3c_with_fields_change_and_header_date() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "#Software: Microsoft Internet Information Services 5.0\r\n#Date: 2001-08-04 00:00:00\r\n#Fields: time c-ip cs-method cs-uri-stem sc-status  \r\n\
         10:00:00 192.0.2.1 GET /default.ida 404\r\n\
         \r\n\
         #Fields: date time c-ip s-ip cs-method cs-uri-stem cs-uri-query sc-status\r\n\
         2001-08-05 11:00:00 10.1.5.23 10.1.0.10 GET /default.ida {} 404\r\n\
         2001-08-05 11:00:01 198.51.100.9 10.1.0.10 GET /default.ida {} 500\r\n\
         2001-08-05 11:00:02 198.51.100.9 10.1.0.10 GET /index.htm - 200",
        worm_query('X'),
        worm_query('N')
    );
    let path = write(dir.path(), "ex010804.log", text.as_bytes());
    let (code, records) = scan_jsonl(&[&path], &[]);
    assert_eq!(code, 1);
    let found = of_type(&records, "finding");
    assert_eq!(
        families(&records),
        vec![
            (4, "code-red-unknown".into(), "medium".into()),
            (7, "code-red-ii".into(), "high".into()),
            (8, "code-red".into(), "high".into())
        ]
    );
    assert_eq!(found[0]["time"], "2001-08-04T10:00:00Z");
    assert_eq!(found[0]["server"], serde_json::Value::Null);
    assert_eq!(found[1]["client_ip"], "10.1.5.23");
    assert_eq!(found[1]["server"], "10.1.0.10");
    assert_eq!(found[1]["time"], "2001-08-05T11:00:00Z");
    assert_eq!(found[1]["exposure"], "no-mapping");
    assert_eq!(found[2]["exposure"], "unknown");
    assert_eq!(found[1]["format"], "iis-w3c");
    let input = of_type(&records, "input")[0];
    assert_eq!(input["lines"], 9);
    assert_eq!(input["format"], "iis-w3c");
}

#[test]
fn ncsa_iis_native_apache_error_and_text() {
    let dir = tempfile::tempdir().unwrap();
    let ncsa = format!(
        "www.example.jp 192.0.2.10 - - [4/Aug/2001:13:45:01 +0900] \"GET /default.ida?{}  HTTP/1.0\" 404 290 \"-\" \"-\"\n\
         192.0.2.11 - John Smith [04/Aug/2001:13:45:02 +0900] \"GET /scripts/..%255c../winnt/system32/cmd.exe?/c+dir\" 404 300\n",
        worm_query('X')
    );
    let native = format!("192.0.2.12, -, 8/4/01, 13:45:01, W3SVC1, WEB1, 10.1.2.3, 10, 400, 200, 200, 0, GET, /default.ida, {},\r\n", worm_query('N'));
    let error = "[Sat Aug  4 05:13:17 2001] [error] [client 192.0.2.13] File does not exist: /var/www/default.ida\n\
                 [Sat Aug 04 05:13:18.123 2001] [core:error] [pid 9] [client 192.0.2.14:4444] AH00128: File does not exist: /srv/default.ida\n\
                 [Sat Aug  4 05:13:19 2001] [error] [client 192.0.2.13] Client sent malformed Host header\n";
    let text = format!(
        "fw01 deny tcp 192.0.2.15 -> 10.0.0.1:80 payload \"GET /default.ida?{}\"\n",
        worm_query('X')
    );
    let paths = [
        write(dir.path(), "access.log", ncsa.as_bytes()),
        write(dir.path(), "in010804.log", native.as_bytes()),
        write(dir.path(), "error.log", error.as_bytes()),
        write(dir.path(), "firewall.txt", text.as_bytes()),
    ];
    let refs: Vec<&std::path::Path> = paths.iter().map(|p| p.as_path()).collect();
    let (_, records) = scan_jsonl(&refs, &["--local-offset", "+09:00"]);
    let found = of_type(&records, "finding");
    let summary: Vec<(String, String, String)> = found
        .iter()
        .map(|f| {
            (
                f["format"].as_str().unwrap().into(),
                f["family"].as_str().unwrap().into(),
                f["client_ip"].as_str().unwrap_or("-").into(),
            )
        })
        .collect();
    let expect = |a: &str, b: &str, c: &str| (a.to_string(), b.to_string(), c.to_string());
    assert_eq!(
        summary,
        vec![
            expect("ncsa-combined", "code-red-ii", "192.0.2.10"),
            expect("ncsa-common", "nimda", "192.0.2.11"),
            expect("iis-native", "code-red", "192.0.2.12"),
            expect("apache-error", "code-red-unknown", "192.0.2.13"),
            expect("apache-error", "code-red-unknown", "192.0.2.14"),
            expect("apache-error", "code-red-unknown", "192.0.2.13"),
            expect("text", "code-red-ii", "-"),
        ]
    );
    assert_eq!(found[0]["server"], "www.example.jp");
    assert_eq!(found[0]["time"], "2001-08-04T13:45:01+09:00");
    assert_eq!(found[2]["exposure"], "patched");
    assert_eq!(found[2]["time"], "2001-08-04T13:45:01+09:00");
    assert_eq!(found[3]["exposure"], "not-iis");
    assert_eq!(found[5]["confidence"], "low");
}

#[test]
fn format_hint_overrides_detection() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "odd.log",
        b"10:00:00 192.0.2.1 GET /default.ida 404\n",
    );
    let (_, records) = scan_jsonl(&[&path], &["--format-hint", "iis-w3c"]);
    let found = of_type(&records, "finding");
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["format"], "iis-w3c");
    assert_eq!(found[0]["client_ip"], "192.0.2.1");
}

#[test]
fn nimda_raw_and_once_decoded_but_never_twice_decoded() {
    let dir = tempfile::tempdir().unwrap();
    let text = "#Fields: c-ip cs-method cs-uri-stem cs-uri-query sc-status\n\
                192.0.2.1 GET /scripts/..%255c../winnt/system32/cmd.exe /c+dir 404\n\
                192.0.2.1 GET /scripts/..%5c../winnt/system32/cmd.exe /c+dir 404\n\
                192.0.2.1 GET /scripts/..\\../winnt/system32/cmd.exe /c+dir 404\n\
                192.0.2.1 GET /MSADC/root.exe /c+dir 404\n\
                192.0.2.1 GET /iisadmpwd/..%c0%af../winnt/system32/cmd.exe /c+copy 404\n\
                192.0.2.1 GET /_vti_bin/_vti_aut/fp30reg.dll - 404\n\
                192.0.2.1 GET /NULL.IDA CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC=X 404\n";
    let path = write(dir.path(), "ex.log", text.as_bytes());
    let (_, records) = scan_jsonl(&[&path], &[]);
    let got: Vec<(u64, String)> = families(&records)
        .into_iter()
        .map(|(l, f, _)| (l, f))
        .collect();
    let want: Vec<(u64, String)> = vec![
        (2, "nimda"),
        (3, "nimda"),
        (4, "iis-exploit"),
        (5, "nimda"),
        (6, "iis-exploit"),
        (7, "iis-exploit"),
        (8, "iis-exploit"),
    ]
    .into_iter()
    .map(|(l, f)| (l, f.to_string()))
    .collect();
    assert_eq!(got, want);
}

#[test]
fn near_misses_do_not_fire_as_code_red() {
    let dir = tempfile::tempdir().unwrap();
    let urlscan = write(
        dir.path(),
        "urlscan.ini",
        b"[DenyExtensions]\n'.ida'\n.idq\nDenyUrlSequences=..\n",
    );
    let ncsa = write(
        dir.path(),
        "access.log",
        b"192.0.2.1 - - [04/Aug/2001:13:45:01 +0900] \"GET /scripts/mail.exe/photo.jpg HTTP/1.0\" 200 100\n\
          192.0.2.1 - - [04/Aug/2001:13:45:02 +0900] \"GET /query.idq?CiRestriction=%22wormtrace%22&CiMaxRecordsPerPage=10 HTTP/1.0\" 200 100\n",
    );
    let (_, records) = scan_jsonl(&[&urlscan, &ncsa], &[]);
    let found = of_type(&records, "finding");
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0]["family"], "iis-exploit");
    assert_eq!(found[0]["confidence"], "low");
    assert_eq!(found[0]["line"], 2);
}

#[test]
fn real_log_traps() {
    let dir = tempfile::tempdir().unwrap();
    // CRLF, IPv6 with a zone id, a masked client, a user name with spaces, no HTTP
    // version, a one-digit day, CP932 bytes, a NUL run, and no final newline.
    let mut text: Vec<u8> = Vec::new();
    text.extend_from_slice(b"fe80::1%eth0 - - [4/Aug/2001:13:45:01 +0900] \"GET /default.ida?XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX\" 400 -\r\n");
    text.extend_from_slice(b"192.0.2.x - Taro Yamada [4/Aug/2001:13:45:02 +0900] \"GET /default.ida?NNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNN\" 400 -\r\n");
    text.extend_from_slice(b"\0\0\0\0\0\0\0\0\r\n");
    text.extend_from_slice(b"192.0.2.7 - - [4/Aug/2001:13:45:03 +0900] \"GET /\x8dU\x8c\x82/root.exe?/c+dir HTTP/1.0\" 404 -");
    let path = write(dir.path(), "access_log", &text);
    let (_, records) = scan_jsonl(&[&path], &[]);
    let found = of_type(&records, "finding");
    assert_eq!(found.len(), 3, "{found:?}");
    assert_eq!(found[0]["family"], "code-red-ii");
    assert_eq!(found[0]["confidence"], "medium");
    assert_eq!(found[0]["client_ip"], "fe80::1");
    assert_eq!(found[1]["family"], "code-red");
    assert_eq!(found[1]["client_ip"], serde_json::Value::Null);
    assert_eq!(found[2]["line"], 4);
    assert!(found[2]["evidence"]
        .as_str()
        .unwrap()
        .contains("/攻撃/root.exe"));
    assert_eq!(of_type(&records, "input")[0]["lines"], 4);
}

#[test]
fn a_megabyte_long_request_is_found_and_its_uri_kept_short() {
    let dir = tempfile::tempdir().unwrap();
    let line = format!("GET /default.ida?{} HTTP/1.0\n", "X".repeat(2_000_000));
    let path = common::write(dir.path(), "long.log", line.as_bytes());
    let (code, records) = common::scan_jsonl(&[&path], &[]);
    assert_eq!(code, 1);
    let f = common::of_type(&records, "finding");
    assert_eq!(f[0]["family"], "code-red-ii");
    let uri = f[0]["uri"].as_str().unwrap();
    assert_eq!(uri.chars().count(), 4097, "4096 characters and an ellipsis");
}

/// The prefilter ignores case in the raw bytes, and a header block that follows a hit at
/// once (no line between) still changes the layout.
#[test]
fn upper_case_attacks_and_a_header_right_after_a_hit() {
    let dir = tempfile::tempdir().unwrap();
    let log = format!(
        "#Fields: date time c-ip cs-method cs-uri-stem cs-uri-query\r\n\
         2001-08-04 00:00:01 192.0.2.1 GET /DEFAULT.IDA {}\r\n\
         #Fields: date time cs-method cs-uri-stem cs-uri-query c-ip\r\n\
         2001-08-04 00:00:02 GET /Scripts/ROOT.EXE /c+dir 192.0.2.2\r\n\
         2001-08-04 00:00:03 GET /index.htm - 192.0.2.3\r\n",
        worm_query('X').to_uppercase()
    );
    let path = write(dir.path(), "ex010804.log", log.as_bytes());
    let (_, records) = scan_jsonl(&[&path], &[]);
    let clients: Vec<(String, String)> = of_type(&records, "finding")
        .iter()
        .map(|f| {
            (
                f["family"].as_str().unwrap().to_string(),
                f["client_ip"].as_str().unwrap_or("-").to_string(),
            )
        })
        .collect();
    assert_eq!(
        clients,
        vec![
            ("code-red-ii".to_string(), "192.0.2.1".to_string()),
            ("nimda".to_string(), "192.0.2.2".to_string()),
        ],
        "{records:?}"
    );
}
