//! One file cut into chunks and scanned by several threads gives the same bytes as one
//! thread, also when `#Fields` and `#Date` change near chunk edges, whether the chunks start
//! from the directives found before them (many candidate lines, or a rule without literals)
//! or keep their few candidate lines for a replay (scanned again past the recording limit),
//! and for stateless formats.

mod common;

use std::fmt::Write as _;
use std::path::Path;

use common::{worm_query, wormtrace, write};

/// A W3C log whose layout changes every `every` lines, alternating between a layout with a
/// date field and one that takes the date from `#Date`, with a Code Red II line every 7th line
/// and a Nimda line every 11th (of every 77 lines).
fn w3c_with_layout_changes(lines: usize, every: usize) -> String {
    w3c_log(lines, every, 0)
}

/// [`w3c_with_layout_changes`], where the lines before `sparse_until` hold only the Code Red
/// II line of every 77: few candidates, so the chunks keep theirs for a replay.
fn w3c_log(lines: usize, every: usize, sparse_until: usize) -> String {
    let mut out = String::new();
    for n in 0..lines {
        if n % every == 0 {
            let day = 1 + (n / every) % 28;
            if (n / every) % 2 == 0 {
                writeln!(out, "#Date: 2001-08-{day:02} 00:00:00\r").unwrap();
                out.push_str("#Fields: time c-ip cs-method cs-uri-stem cs-uri-query sc-status\r\n");
            } else {
                out.push_str(
                    "#Fields: date time s-ip c-ip cs-method cs-uri-stem cs-uri-query sc-status\r\n",
                );
            }
        }
        let (stem, query, status) = match n % 77 {
            x if n < sparse_until && x != 3 => ("/index.htm", "-".to_string(), "200"),
            x if x % 7 == 3 => ("/default.ida", worm_query('X'), "404"),
            x if x % 11 == 5 => ("/scripts/root.exe", "/c+dir".to_string(), "404"),
            _ => ("/index.htm", "-".to_string(), "200"),
        };
        let client = format!("198.51.100.{}", n % 250 + 1);
        let time = format!("{:02}:{:02}:{:02}", n / 3600 % 24, n / 60 % 60, n % 60);
        if (n / every) % 2 == 0 {
            writeln!(out, "{time} {client} GET {stem} {query} {status}\r").unwrap();
        } else {
            writeln!(
                out,
                "2001-08-05 {time} 10.1.0.10 {client} GET {stem} {query} {status}\r"
            )
            .unwrap();
        }
    }
    out
}

fn scan(path: &Path, extra: &[&str]) -> Vec<u8> {
    let mut args = vec!["scan", "--format", "jsonl", "-q"];
    args.extend_from_slice(extra);
    let p = path.display().to_string();
    args.push(&p);
    let out = wormtrace(&args);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// The `input` record of a scan's JSON Lines.
fn input_record(out: &str) -> serde_json::Value {
    let input = out
        .lines()
        .find(|l| l.contains("\"type\":\"input\""))
        .unwrap();
    serde_json::from_str(input).unwrap()
}

fn assert_same_for_every_thread_count(path: &Path, split_min: &str) {
    let whole = scan(path, &["-j", "1", "--split-min-bytes", "999999999999"]);
    for threads in ["1", "2", "3", "5"] {
        let split = scan(path, &["-j", threads, "--split-min-bytes", split_min]);
        assert!(
            whole == split,
            "-j {threads} with chunks differs from one unsplit thread"
        );
    }
}

#[test]
fn w3c_chunks_with_layout_changes_give_the_same_output() {
    let dir = tempfile::tempdir().unwrap();
    let text = w3c_with_layout_changes(3000, 23);
    let path = write(dir.path(), "ex010805.log", text.as_bytes());
    // Chunks of ~16 KiB: dozens of them, each starting inside a layout section.
    assert_same_for_every_thread_count(&path, "65536");
    // Every finding points at its own line, with the time its layout gives.
    let out = String::from_utf8(scan(&path, &["-j", "3", "--split-min-bytes", "65536"])).unwrap();
    let lines: Vec<&str> = text.split('\n').collect();
    let mut count = 0;
    for record in out
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
    {
        if record["type"] != "finding" {
            continue;
        }
        count += 1;
        let n = record["line"].as_u64().unwrap() as usize;
        assert!(lines[n - 1].contains(record["client_ip"].as_str().unwrap()));
        let time = record["time"].as_str().unwrap();
        assert!(time.starts_with("2001-08-"), "{record}");
    }
    let expected = (0..3000)
        .filter(|n| n % 77 % 7 == 3 || n % 77 % 11 == 5)
        .count();
    assert_eq!(count, expected);
}

#[test]
fn sparse_candidates_are_kept_and_replayed_with_the_layout_before_them() {
    let dir = tempfile::tempdir().unwrap();
    let text = w3c_log(3000, 23, 3000);
    let path = write(dir.path(), "ex010806.log", text.as_bytes());
    assert_same_for_every_thread_count(&path, "16384");
}

#[test]
fn dense_candidates_after_a_sparse_head_overflow_the_recording_and_are_scanned_again() {
    let dir = tempfile::tempdir().unwrap();
    // The first 64 KiB (what the split judges the file by) hold few candidates; after them,
    // about a fifth of the lines are candidates: with a 4 KiB split size the recording limit
    // (2 KiB) is passed in those chunks, which are then scanned again from the known layout.
    let text = w3c_log(3000, 9, 1500);
    assert!(text.lines().take(1500).map(|l| l.len() + 1).sum::<usize>() > 65536);
    let path = write(dir.path(), "dense.log", text.as_bytes());
    assert_same_for_every_thread_count(&path, "4096");
}

#[test]
fn a_rule_without_literals_makes_every_line_a_candidate_and_chunks_still_agree() {
    let dir = tempfile::tempdir().unwrap();
    // `not` has no literal to search for: every line is judged, in every chunk.
    let rule = "title: Anything but a page\nid: 7b0d4c1e-0a6f-4a51-9e43-2f1c6d3b8a01\n\
        logsource:\n  category: webserver\ndetection:\n  page:\n    cs-uri-stem: '/index.htm'\n  \
        condition: not page\nlevel: low\n";
    let rules = write(dir.path(), "not-a-page.yml", rule.as_bytes());
    let text = w3c_with_layout_changes(2000, 23);
    let path = write(dir.path(), "ex010807.log", text.as_bytes());
    let rules = rules.display().to_string();
    let whole = scan(
        &path,
        &[
            "-j",
            "1",
            "--split-min-bytes",
            "999999999999",
            "--rules",
            &rules,
        ],
    );
    for threads in ["2", "3"] {
        let split = scan(
            &path,
            &[
                "-j",
                threads,
                "--split-min-bytes",
                "16384",
                "--rules",
                &rules,
            ],
        );
        assert!(whole == split, "-j {threads} with chunks differs");
    }
    let out = String::from_utf8(whole).unwrap();
    let by_rule = out
        .lines()
        .filter(|l| l.contains("Anything but a page"))
        .count();
    let attacks = (0..2000)
        .filter(|n| n % 77 % 7 == 3 || n % 77 % 11 == 5)
        .count();
    assert_eq!(
        by_rule, attacks,
        "the rule fires on each attack line, on no page"
    );
}

#[test]
fn stateless_formats_split_too() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::new();
    for n in 0..4000 {
        let (req, status) = if n % 13 == 4 {
            (
                format!("GET /default.ida?{} HTTP/1.0", worm_query('N')),
                404,
            )
        } else {
            ("GET /index.html HTTP/1.1".to_string(), 200)
        };
        writeln!(
            text,
            "192.0.2.{} - - [05/Aug/2001:10:{:02}:{:02} +0900] \"{req}\" {status} 1024 \"-\" \"Mozilla/4.0\"",
            n % 200 + 1,
            n / 60 % 60,
            n % 60
        )
        .unwrap();
    }
    let path = write(dir.path(), "access_log", text.as_bytes());
    assert_same_for_every_thread_count(&path, "32768");
}

#[test]
fn chunks_count_the_kinds_the_input_has_filled_alike_for_every_thread_count() {
    // 40 clients in two families, times changing: with two findings written per kind,
    // a chunk counts (unbuilt) the kinds the chunks joined before it filled.
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::new();
    for n in 0..3000 {
        let letter = if n % 3 == 0 { 'X' } else { 'N' };
        writeln!(
            text,
            "192.0.2.{} - - [05/Aug/2001:10:{:02}:{:02} +0900] \"GET /default.ida?{} HTTP/1.0\" 404 0",
            n % 40 + 1,
            n / 60 % 60,
            n % 60,
            worm_query(letter)
        )
        .unwrap();
    }
    let path = write(dir.path(), "access_log", text.as_bytes());
    let args = |threads: &'static str, split: &'static str| {
        ["-j", threads, "--split-min-bytes", split, "--repeats", "2"]
    };
    let whole = scan(&path, &args("1", "999999999999"));
    for threads in ["1", "2", "3"] {
        let split = scan(&path, &args(threads, "16384"));
        assert!(
            whole == split,
            "-j {threads} with chunks differs from one unsplit thread"
        );
    }
    let out = String::from_utf8(whole).unwrap();
    let input = input_record(&out);
    assert_eq!(input["findings"], 3000);
    // 40 clients, each sending both families: 80 kinds, two written each.
    let written = out
        .lines()
        .filter(|l| l.contains("\"type\":\"finding\""))
        .count();
    assert_eq!(written, 160);
}

#[test]
fn repeated_findings_are_counted_alike_in_chunks() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::new();
    for n in 0..3000 {
        // Runs of one line (counted without a parse) between probes whose times change.
        let second = if n % 400 < 200 { 0 } else { n % 60 };
        writeln!(
            text,
            "192.0.2.{} - - [05/Aug/2001:10:{:02}:{second:02} +0900] \"GET /default.ida?{} HTTP/1.0\" 404 0",
            n / 1000 + 1,
            n / 400,
            worm_query('N')
        )
        .unwrap();
    }
    let path = write(dir.path(), "access_log", text.as_bytes());
    assert_same_for_every_thread_count(&path, "16384");
    let out = String::from_utf8(scan(&path, &["-j", "2", "--split-min-bytes", "16384"])).unwrap();
    let input = input_record(&out);
    assert_eq!(input["findings"], 3000);
    assert_eq!(input["findings_omitted"], 2700);
}
