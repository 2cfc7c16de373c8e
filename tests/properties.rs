//! Invariants over generated inputs (proptest): a file scanned in chunks gives what one pass
//! gives, reassembly does not depend on the order segments arrive in, and each medium's
//! escaping keeps the text (JSON and CSV give it back, the terminal shows nothing unsafe).

mod common;

use std::net::SocketAddr;

use proptest::prelude::*;
use wormtrace::detect::pack::{load_rules, RuleOptions};
use wormtrace::detect::Detector;
use wormtrace::model::Finding;
use wormtrace::net::capture::reassembly::{At, Limits, Reassembler};
use wormtrace::scan::{scan_input, scan_reader, InputReport, ScanOptions};
use wormtrace::sink::escape;
use wormtrace::source::{HashChoice, Input};

/// One line of a generated W3C log: a layout change, a benign request or an attack.
#[derive(Debug, Clone)]
enum Line {
    Fields(bool),
    Benign(u8),
    Attack(u8),
}

fn line_strategy() -> impl Strategy<Value = Line> {
    prop_oneof![
        1 => any::<bool>().prop_map(Line::Fields),
        12 => any::<u8>().prop_map(Line::Benign),
        3 => any::<u8>().prop_map(Line::Attack),
    ]
}

/// The text of a log: two layouts that put the URI in different columns, so a chunk that
/// guessed the layout wrong would give other findings.
fn render(lines: &[Line]) -> String {
    let mut text =
        String::from("#Fields: date time c-ip cs-method cs-uri-stem cs-uri-query sc-status\n");
    let mut wide = false;
    for line in lines {
        let (stem, query) = match line {
            Line::Fields(w) => {
                wide = *w;
                text.push_str(if wide {
                    "#Fields: date time s-ip c-ip cs-username cs-method cs-uri-stem cs-uri-query sc-status\n"
                } else {
                    "#Fields: date time c-ip cs-method cs-uri-stem cs-uri-query sc-status\n"
                });
                continue;
            }
            Line::Benign(n) => (format!("/page{n}.htm"), "-".to_string()),
            Line::Attack(n) if n % 2 == 0 => ("/default.ida".to_string(), common::worm_query('X')),
            Line::Attack(n) => (format!("/scripts/root{n}.exe"), "/c+dir".to_string()),
        };
        let client = match line {
            Line::Benign(n) | Line::Attack(n) => format!("198.51.100.{n}"),
            Line::Fields(_) => unreachable!(),
        };
        if wide {
            text.push_str(&format!(
                "2001-08-04 10:00:00 10.1.0.10 {client} - GET {stem} {query} 404\n"
            ));
        } else {
            text.push_str(&format!(
                "2001-08-04 10:00:00 {client} GET {stem} {query} 404\n"
            ));
        }
    }
    text
}

fn findings(path: &std::path::Path, options: &ScanOptions, detector: &Detector) -> Vec<Finding> {
    let mut out = Vec::new();
    scan_input(
        &Input::File(path.to_path_buf()),
        detector,
        options,
        &mut |f| out.push(f),
    );
    out
}

/// How a small gzip file is stored: its members, and damage after them.
#[derive(Debug, Clone)]
enum Stored {
    /// The text cut into this many members.
    Members(usize),
    /// Cut off this many bytes before its end.
    Truncated(usize),
    /// Followed by bytes that are not a gzip member.
    Trailing(Vec<u8>),
    /// One byte at this share of its length changed.
    Flipped(u8),
}

fn stored_strategy() -> impl Strategy<Value = Stored> {
    prop_oneof![
        4 => (1usize..5).prop_map(Stored::Members),
        1 => (1usize..64).prop_map(Stored::Truncated),
        1 => proptest::collection::vec(any::<u8>(), 1..24).prop_map(Stored::Trailing),
        1 => any::<u8>().prop_map(Stored::Flipped),
    ]
}

fn gzip_members(text: &[u8], members: usize) -> Vec<u8> {
    use std::io::Write;
    let size = text.len().div_ceil(members.max(1)).max(1);
    let mut stored = Vec::new();
    for part in text.chunks(size) {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(part).unwrap();
        stored.extend(e.finish().unwrap());
    }
    stored
}

fn store(text: &[u8], how: &Stored) -> Vec<u8> {
    let mut stored = gzip_members(text, if let Stored::Members(n) = how { *n } else { 1 });
    match how {
        Stored::Members(_) => {}
        Stored::Truncated(n) => stored.truncate(stored.len().saturating_sub(*n).max(2)),
        Stored::Trailing(junk) => stored.extend_from_slice(junk),
        Stored::Flipped(at) => {
            let i = 10 + (stored.len() - 10) * usize::from(*at) / 256;
            stored[i] ^= 0x5a;
        }
    }
    stored
}

/// What a scan told of one input, without its digest (a stream has none).
fn told(report: InputReport, findings: Vec<Finding>) -> impl PartialEq + std::fmt::Debug {
    let reasons: Vec<String> = report.problems.into_iter().map(|p| p.reason).collect();
    (
        report.stats,
        report.format,
        report.findings,
        reasons,
        findings,
    )
}

/// Characters line-splitting JSON readers break lines at.
const LINE_BREAKERS: [char; 3] = ['\u{2028}', '\u{2029}', '\u{85}'];

fn unsafe_on_a_terminal(c: char) -> bool {
    (c.is_control() && c != '\n') || ('\u{202a}'..='\u{202e}').contains(&c)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn a_file_scanned_in_chunks_gives_what_one_pass_gives(
        lines in proptest::collection::vec(line_strategy(), 1..400),
        split in 256u64..4096,
        threads in 1usize..4,
    ) {
        let detector = Detector::new(load_rules(&RuleOptions::default()).rules);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ex010804.log");
        std::fs::write(&path, render(&lines)).unwrap();
        let whole = ScanOptions { hash: HashChoice::None, split_min_bytes: u64::MAX, ..ScanOptions::default() };
        let chunked = ScanOptions { threads, split_min_bytes: split, ..whole.clone() };
        let expected = findings(&path, &whole, &detector);
        prop_assert_eq!(findings(&path, &chunked, &detector), expected);
    }

    #[test]
    fn a_small_gzip_file_read_whole_tells_what_its_stream_tells(
        lines in proptest::collection::vec(line_strategy(), 1..300),
        how in stored_strategy(),
    ) {
        let detector = Detector::new(load_rules(&RuleOptions::default()).rules);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ex010804.log.gz");
        let stored = store(render(&lines).as_bytes(), &how);
        std::fs::write(&path, &stored).unwrap();
        let options = ScanOptions { hash: HashChoice::None, ..ScanOptions::default() };
        let label = path.display().to_string();
        let (mut from_file, mut from_stream) = (Vec::new(), Vec::new());
        let whole = scan_input(&Input::File(path.clone()), &detector, &options, &mut |f| from_file.push(f));
        let streamed = scan_reader(&mut stored.as_slice(), &label, &detector, &options, &mut |f| from_stream.push(f));
        prop_assert_eq!(told(whole, from_file), told(streamed, from_stream));
    }

    #[test]
    fn reassembly_does_not_depend_on_segment_order(
        cuts in proptest::collection::btree_set(1usize..300, 0..12),
        order in any::<proptest::sample::Index>(),
        twice in any::<bool>(),
    ) {
        let head = format!("GET /default.ida?{} HTTP/1.0\r\nHost: www\r\n\r\n", common::worm_query('N'));
        let bytes = head.as_bytes();
        let mut bounds: Vec<usize> = cuts.into_iter().filter(|&c| c < bytes.len()).collect();
        bounds.insert(0, 0);
        bounds.push(bytes.len());
        let mut pieces: Vec<(u32, &[u8])> = bounds
            .windows(2)
            .map(|w| (1001 + w[0] as u32, &bytes[w[0]..w[1]]))
            .collect();
        // A rotation and, at times, every piece sent twice: retransmissions out of order.
        let rotate = order.index(pieces.len());
        pieces.rotate_left(rotate);
        if twice {
            pieces.extend(pieces.clone());
        }
        let client: SocketAddr = "198.51.100.7:1025".parse().unwrap();
        let server: SocketAddr = "10.1.0.10:80".parse().unwrap();
        let mut r = Reassembler::new(Limits::default());
        let at = |frame| At { frame, secs: 997_000_000, nanos: 0 };
        r.segment(client, server, 1000, true, false, false, b"", at(1));
        for (i, (seq, piece)) in pieces.iter().enumerate() {
            r.segment(client, server, *seq, false, true, false, piece, at(i as u64 + 2));
        }
        let mut requests = r.take();
        r.finish(|request| requests.push(request));
        prop_assert_eq!(requests.len(), 1);
        prop_assert!(requests[0].complete);
        prop_assert_eq!(&requests[0].head[..], &bytes[..bytes.len() - 4]);
    }

    #[test]
    fn json_and_csv_give_the_text_back_and_the_terminal_shows_nothing_unsafe(text in "\\PC*|[\\x00-\\x1f\\u{2028}\\u{2029}\\u{85}\\u{202e}=+@-]{0,20}") {
        let mut json = Vec::new();
        escape::json_string(&mut json, &text);
        prop_assert!(!json.contains(&b'\n'));
        let json = String::from_utf8(json).unwrap();
        let breaks_lines = json.contains(LINE_BREAKERS);
        prop_assert!(!breaks_lines);
        prop_assert_eq!(serde_json::from_str::<String>(&json).unwrap(), text.clone());

        let cell = escape::csv_cell(text.clone());
        let back = match cell.strip_prefix('\'') {
            Some(rest) if escape::csv_cell_needs_quote(rest) => rest.to_string(),
            _ => cell.clone(),
        };
        prop_assert_eq!(back, text.clone());

        let unsafe_shown = escape::terminal(&text).chars().any(unsafe_on_a_terminal);
        prop_assert!(!unsafe_shown);
    }
}
