//! Nimda in Apache error logs, Nimda's raw bytes, Code Red lines shortened by a person, and
//! the near misses that must not be taken for them.

mod common;
use common::*;

/// (family, confidence, client) of each finding, in line order.
fn found(records: &[serde_json::Value]) -> Vec<(String, String, String)> {
    of_type(records, "finding")
        .iter()
        .map(|f| {
            (
                f["family"].as_str().unwrap().to_string(),
                f["confidence"].as_str().unwrap().to_string(),
                f["client_ip"].as_str().unwrap_or("-").to_string(),
            )
        })
        .collect()
}

fn scan_text(name: &str, text: &[u8]) -> (i32, Vec<serde_json::Value>) {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), name, text);
    scan_jsonl(&[&path], &[])
}

/// Nimda's sixteen probes as an Apache error log has them: the path once decoded under the
/// document root (raw bytes escaped as `\xNN`), or the request when its escapes are invalid.
const NIMDA_ERROR_PATHS: [&str; 16] = [
    "File does not exist: {root}/scripts/root.exe",
    "File does not exist: {root}/MSADC/root.exe",
    "File does not exist: {root}/c/winnt/system32/cmd.exe",
    "File does not exist: {root}/d/winnt/system32/cmd.exe",
    "File does not exist: {root}/scripts/..%5c../winnt/system32/cmd.exe",
    "File does not exist: {root}/_vti_bin/..%5c../..%5c../..%5c../winnt/system32/cmd.exe",
    "File does not exist: {root}/_mem_bin/..%5c../..%5c../..%5c../winnt/system32/cmd.exe",
    "File does not exist: {root}/msadc/..%5c../..%5c../..%5c/..\\xc1\\x1c../..\\xc1\\x1c../..\\xc1\\x1c../winnt/system32/cmd.exe",
    "File does not exist: {root}/scripts/..\\xc1\\x1c../winnt/system32/cmd.exe",
    "found %2f (encoded '/') in URI (decoded='/scripts/..\\xc0/../winnt/system32/cmd.exe'), returning 404",
    "File does not exist: {root}/scripts/..\\xc0\\xaf../winnt/system32/cmd.exe",
    "File does not exist: {root}/scripts/..\\xc1\\x9c../winnt/system32/cmd.exe",
    "Invalid URI in request GET /scripts/..%%35%63../winnt/system32/cmd.exe?/c+dir HTTP/1.0",
    "Invalid URI in request GET /scripts/..%%35c../winnt/system32/cmd.exe?/c+dir HTTP/1.0",
    "File does not exist: {root}/scripts/..%5c../winnt/system32/cmd.exe",
    "File does not exist: {root}/scripts/..%2f../winnt/system32/cmd.exe",
];

/// The same messages as Apache 1.3, 2.2 and 2.4 write them, and bare.
fn nimda_error_log(version: &str) -> String {
    let mut log = String::new();
    for (n, message) in NIMDA_ERROR_PATHS.iter().enumerate() {
        let message = message.replace("{root}", "/var/www/html");
        let line = match version {
            "1.3" => format!("[Tue Sep 18 09:{n:02}:00 2001] [error] [client 192.0.2.7] {message}"),
            "2.2" => format!("[Tue Sep 18 09:{n:02}:00 2001] [error] [client 192.0.2.7] {message}"),
            "2.4" => {
                let code = if message.starts_with("Invalid") {
                    "AH00126"
                } else {
                    "AH00128"
                };
                format!("[Tue Sep 18 09:{n:02}:00.123456 2001] [core:info] [pid 4242:tid 140] [client 192.0.2.7:3345] {code}: {message}")
            }
            _ => message,
        };
        log.push_str(&line);
        log.push('\n');
    }
    log
}

#[test]
fn nimda_in_apache_error_logs_of_every_version_and_quoted_bare() {
    for version in ["1.3", "2.2", "2.4", "bare"] {
        let (code, records) = scan_text("error_log", nimda_error_log(version).as_bytes());
        assert_eq!(code, 1, "{version}");
        let client = if version == "bare" { "-" } else { "192.0.2.7" };
        let want = vec![
            (
                "nimda".to_string(),
                "medium".to_string(),
                client.to_string()
            );
            16
        ];
        assert_eq!(found(&records), want, "Apache {version}");
        assert_eq!(of_type(&records, "input")[0]["format"], "apache-error");
    }
}

#[test]
fn nimda_raw_bytes_in_an_iis_log() {
    let mut log = b"#Software: Microsoft Internet Information Services 5.0\r\n#Fields: date time c-ip cs-method cs-uri-stem cs-uri-query sc-status\r\n".to_vec();
    for stem in [
        &b"/scripts/..\xc1\x1c../winnt/system32/cmd.exe"[..],
        b"/scripts/..\xc0/../winnt/system32/cmd.exe",
        b"/scripts/..\xc0\xaf../winnt/system32/cmd.exe",
        b"/scripts/..\xc1\x9c../winnt/system32/cmd.exe",
        b"/msadc/..%5c../..%5c../..%5c/..\xc1\x1c../..\xc1\x1c../..\xc1\x1c../winnt/system32/cmd.exe",
    ] {
        log.extend_from_slice(b"2001-09-18 09:00:00 192.0.2.8 GET ");
        log.extend_from_slice(stem);
        log.extend_from_slice(b" /c+dir 404\r\n");
    }
    // The same bytes with another query are not Nimda's probe.
    log.extend_from_slice(b"2001-09-18 09:00:01 192.0.2.8 GET /scripts/..\xc1\x1c../winnt/system32/cmd.exe /c+ver 404\r\n");
    let (_, records) = scan_text("ex010918.log", &log);
    let nimda = found(&records)
        .into_iter()
        .filter(|(family, _, _)| family == "nimda")
        .count();
    assert_eq!(nimda, 5);
}

#[test]
fn shortened_code_red_lines_are_medium_and_unedited_ones_high() {
    let tail = wormtrace_gen::requests::TAIL;
    let line = |query: &str| {
        format!("192.0.2.9 - - [04/Aug/2001:10:00:00 +0900] \"GET /default.ida?{query} HTTP/1.0\" 404 205\n")
    };
    let cases = [
        (worm_query('X'), "code-red-ii", "high"),
        (worm_query('N'), "code-red", "high"),
        (format!("XXXXXXXX...XXXX{tail}"), "code-red-ii", "medium"),
        (format!("NNNNNNNN...NNNN{tail}"), "code-red", "medium"),
        (format!("XXXXXXXX{tail}"), "code-red-ii", "medium"),
        (
            format!("{}{tail}", "X".repeat(100)),
            "code-red-ii",
            "medium",
        ),
        (format!("NNNN…NNNN{tail}"), "code-red", "medium"),
        ("XXXXXXXX...XXXX".to_string(), "code-red-unknown", "medium"),
        (String::new(), "code-red-unknown", "medium"),
        (format!("ABC{tail}"), "code-red-unknown", "medium"),
    ];
    for (query, family, confidence) in cases {
        let (_, records) = scan_text("access_log", line(&query).as_bytes());
        let got = found(&records);
        assert_eq!(got.len(), 1, "{query}");
        assert_eq!(
            (got[0].0.as_str(), got[0].1.as_str()),
            (family, confidence),
            "{query}"
        );
    }
}

#[test]
fn near_misses_are_not_nimda() {
    // A note that quotes an error-log line among its prose is text: error-log rules do not
    // run on it.
    let readme = b"Incident notes, web01\n\nThe error log had lines like this one:\n\
        File does not exist: /var/www/html/scripts/root.exe\n\
        We think these are worm probes. Nothing was served.\n";
    let (code, records) = scan_text("README.txt", readme);
    assert_eq!(of_type(&records, "input")[0]["format"], "text");
    assert_eq!(found(&records), vec![]);
    assert_eq!(code, 0);
    // URLScan's reject entries hold the raw URL, not a request line.
    let urlscan = b"[09-18-2001 - 09:00:00] Client at 192.0.2.7: URL contains sequence '..', which is disallowed. Request will be rejected.  Site Instance='1', Raw URL='/scripts/..%c1%1c../winnt/system32/cmd.exe'\n";
    let (_, records) = scan_text("urlscan.010918.log", urlscan);
    assert!(found(&records)
        .iter()
        .all(|(family, _, _)| family != "nimda"));
    // A traversal of another scanner reaches cmd.exe too, but is not one of the sixteen.
    let other = b"192.0.2.9 - - [18/Sep/2001:09:00:00 +0900] \"GET /scripts/..?..?..?../winnt/system32/cmd.exe?/c+dir HTTP/1.0\" 404 205\n";
    let (_, records) = scan_text("access_log", other);
    let families: Vec<String> = found(&records).into_iter().map(|f| f.0).collect();
    assert!(!families.contains(&"nimda".to_string()), "{families:?}");
    // A file that merely does not exist is not a probe.
    let plain = b"[Tue Sep 18 09:00:00 2001] [error] [client 192.0.2.7] File does not exist: /var/www/html/favicon.ico\n";
    let (code, records) = scan_text("error_log", plain);
    assert_eq!((code, found(&records)), (0, vec![]));
}

/// Lines whose raw columns matched no rule are not judged again (a busy log repeats them),
/// but a `#Fields` line that moves the columns makes the same bytes another request.
#[test]
fn a_quiet_line_is_judged_again_when_a_fields_line_moves_its_columns() {
    let quiet = "2001-08-04 00:00:00 192.0.2.7 GET /kb/a.asp /scripts/root.exe 200";
    let mut log =
        String::from("#Fields: date time c-ip cs-method cs-uri-stem cs-uri-query sc-status\n");
    // Twice: the second time from the memo of quiet lines; a third time after another line.
    for _ in 0..2 {
        log.push_str(quiet);
        log.push('\n');
    }
    log.push_str("2001-08-04 00:00:01 192.0.2.8 GET /index.htm - 200\n");
    log.push_str(quiet);
    log.push('\n');
    log.push_str("#Fields: date time c-ip cs-method cs-uri-query cs-uri-stem sc-status\n");
    log.push_str(quiet);
    log.push('\n');
    let (code, records) = scan_text("ex010804.log", log.as_bytes());
    assert_eq!(code, 1);
    let findings = of_type(&records, "finding");
    assert_eq!(findings.len(), 1, "{findings:?}");
    assert_eq!(findings[0]["line"], 7);
    assert_eq!(findings[0]["uri"], "/scripts/root.exe?/kb/a.asp");
}
