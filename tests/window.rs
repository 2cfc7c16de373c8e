//! `--since` / `--until`: lines outside the window are not checked, lines without a time
//! are checked and counted, and a split file gives what one pass gives.

mod common;
use common::*;

/// An IIS log with Code Red II at three times, plus a benign line in the window.
fn iis_log() -> String {
    let q = worm_query('X');
    format!(
        "#Software: Microsoft Internet Information Services 5.0\r\n\
         #Fields: date time c-ip cs-method cs-uri-stem cs-uri-query sc-status\r\n\
         2001-08-03 23:59:59 192.0.2.1 GET /default.ida {q} 404\r\n\
         2001-08-04 00:00:00 192.0.2.2 GET /default.ida {q} 404\r\n\
         2001-08-04 12:00:00 192.0.2.3 GET /index.htm - 200\r\n\
         2001-08-04 23:59:59 192.0.2.4 GET /default.ida {q} 404\r\n\
         2001-08-05 00:00:00 192.0.2.5 GET /default.ida {q} 404\r\n"
    )
}

fn clients(records: &[serde_json::Value]) -> Vec<String> {
    of_type(records, "finding")
        .iter()
        .map(|f| f["client_ip"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn a_date_window_keeps_that_day_and_counts_what_it_left_out() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "ex010804.log", iis_log().as_bytes());
    let (code, records) = scan_jsonl(
        &[&path],
        &["--since", "2001-08-04", "--until", "2001-08-04"],
    );
    assert_eq!(code, 1);
    assert_eq!(clients(&records), vec!["192.0.2.2", "192.0.2.4"]);
    let input = of_type(&records, "input")[0];
    assert_eq!(
        input["lines_outside_window"], 2,
        "two candidate lines left out"
    );
    assert_eq!(input["lines_without_time"], 0);
    let summary = of_type(&records, "summary")[0];
    assert_eq!(summary["lines_outside_window"], 2);
    let text = |lang: &str| {
        let out = wormtrace(&[
            "scan",
            "--lang",
            lang,
            "--since",
            "2001-08-04",
            path.to_str().unwrap(),
        ]);
        String::from_utf8(out.stdout).unwrap()
    };
    assert!(text("en").contains("Time window (--since/--until): 1 candidate lines"));
    assert!(text("ja").contains("範囲外の候補行・リクエスト 1 件"));
    // An RFC 3339 bound is a moment, compared across offsets: 09:00 in Tokyo is midnight UTC.
    let (_, records) = scan_jsonl(&[&path], &["--since", "2001-08-04T09:00:00+09:00"]);
    assert_eq!(
        clients(&records),
        vec!["192.0.2.2", "192.0.2.4", "192.0.2.5"]
    );
    let (_, records) = scan_jsonl(&[&path], &["--until", "2001-08-04T00:00:00Z"]);
    assert_eq!(clients(&records), vec!["192.0.2.1", "192.0.2.2"]);
    // Nothing left in the window: nothing found.
    let (code, records) = scan_jsonl(&[&path], &["--since", "2002-01-01"]);
    assert_eq!((code, clients(&records).len()), (0, 0));
    // Without a window the records carry no window counts.
    let (_, records) = scan_jsonl(&[&path], &[]);
    assert_eq!(clients(&records).len(), 4);
    assert!(of_type(&records, "input")[0]
        .get("lines_outside_window")
        .is_none());
}

#[test]
fn lines_without_a_time_are_checked_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "GET /default.ida?{} HTTP/1.0\nGET /index.htm HTTP/1.0\nGET /default.ida?{} HTTP/1.0\n",
        worm_query('X'),
        worm_query('N')
    );
    let path = write(dir.path(), "requests.txt", text.as_bytes());
    let (code, records) = scan_jsonl(&[&path], &["--since", "2001-08-04"]);
    assert_eq!(code, 1);
    assert_eq!(of_type(&records, "finding").len(), 2);
    let input = of_type(&records, "input")[0];
    assert_eq!(input["format"], "request-lines");
    assert_eq!(input["lines_without_time"], 2);
    assert_eq!(input["lines_outside_window"], 0);
}

#[test]
fn a_split_file_gives_the_window_of_one_pass() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = String::new();
    for day in 1..=28 {
        log.push_str(&iis_log().replace("2001-08-04", &format!("2001-09-{day:02}")));
    }
    let path = write(dir.path(), "ex0109.log", log.as_bytes());
    let window = ["--since", "2001-09-10", "--until", "2001-09-19"];
    let one = wormtrace(
        &[
            &[
                "scan",
                "--format",
                "jsonl",
                "-j",
                "1",
                path.to_str().unwrap(),
            ][..],
            &window,
        ]
        .concat(),
    );
    let split = wormtrace(
        &[
            &[
                "scan",
                "--format",
                "jsonl",
                "-j",
                "2",
                "--split-min-bytes",
                "4096",
                path.to_str().unwrap(),
            ][..],
            &window,
        ]
        .concat(),
    );
    let without_run = |out: &[u8]| -> Vec<String> {
        String::from_utf8(out.to_vec())
            .unwrap()
            .lines()
            .filter(|l| !l.contains("\"type\":\"run\""))
            .map(str::to_string)
            .collect()
    };
    assert_eq!(without_run(&one.stdout), without_run(&split.stdout));
    let text = String::from_utf8(one.stdout).unwrap();
    // Ten days inside with two Code Red II lines each; every block's August lines are out.
    assert_eq!(text.matches("\"type\":\"finding\"").count(), 10 * 2);
    assert!(
        text.contains("\"lines_outside_window\":92"),
        "18 days x 2 + 28 x 2"
    );
}

#[test]
fn bad_bounds_are_refused_with_the_forms_that_work() {
    let out = wormtrace(&["scan", "--since", "04/Aug/2001", "samples"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("RFC 3339") && err.contains("2001-08-04"),
        "{err}"
    );
}
