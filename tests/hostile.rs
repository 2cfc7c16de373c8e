//! Hostile evidence against the outputs: an output never replaces or joins the evidence, and
//! attacker strings are escaped for the terminal, CSV and JSON Lines.

mod common;

use std::path::Path;

use common::{worm_query, wormtrace, write};

const FIELDS: &str =
    "#Fields: date time c-ip s-ip cs-method cs-uri-stem cs-uri-query sc-status cs-host\n";

fn log_line(method: &str, host: &str) -> String {
    format!(
        "2001-08-04 10:00:00 198.51.100.7 10.1.0.10 {method} /default.ida {} 404 {host}\n",
        worm_query('X')
    )
}

#[test]
fn an_output_never_replaces_or_joins_the_evidence() {
    let dir = tempfile::tempdir().unwrap();
    let log = write(
        dir.path(),
        "a.log",
        format!("{FIELDS}{}", log_line("GET", "www")).as_bytes(),
    );
    let before = std::fs::read(&log).unwrap();
    let log_arg = log.to_str().unwrap();
    let link = dir.path().join("link.jsonl");
    std::os::unix::fs::symlink(&log, &link).unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    let inside = dir.path().join("report.html");
    for args in [
        vec!["scan", "-q", "-o", log_arg, log_arg],
        vec![
            "scan",
            "-q",
            "--format",
            "jsonl",
            "-o",
            link.to_str().unwrap(),
            log_arg,
        ],
        vec!["scan", "-q", "--case", log_arg, log_arg],
        vec![
            "scan",
            "-q",
            "--report",
            inside.to_str().unwrap(),
            dir.path().to_str().unwrap(),
        ],
        vec!["parse", "-o", log_arg, log_arg],
    ] {
        let out = wormtrace(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("being read"), "{args:?}: {err}");
    }
    assert_eq!(
        std::fs::read(&log).unwrap(),
        before,
        "the evidence is untouched"
    );
    assert!(!inside.exists());
    // Beside the evidence is fine when it is not inside a folder being read.
    let ok = elsewhere.path().join("out.jsonl");
    let out = wormtrace(&[
        "scan",
        "-q",
        "--format",
        "jsonl",
        "-o",
        ok.to_str().unwrap(),
        log_arg,
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(ok.exists());
}

#[test]
fn terminal_sequences_from_the_evidence_are_shown_not_obeyed() {
    let dir = tempfile::tempdir().unwrap();
    let host = "evil\x1b]0;pwned\x07\x1b[2Jx\u{202e}gpj";
    let name = "log\x1b[31m.log";
    let log = write(
        dir.path(),
        name,
        format!("{FIELDS}{}", log_line("GET", host)).as_bytes(),
    );
    write(dir.path(), "blob\x1b[2J.bin", &[0u8, 1, 2, 3].repeat(100));
    let out = wormtrace(&["scan", dir.path().to_str().unwrap()]);
    let text = String::from_utf8(out.stdout).unwrap();
    let err = String::from_utf8(out.stderr).unwrap();
    for stream in [&text, &err] {
        assert!(
            !stream.contains('\x1b') && !stream.contains('\x07') && !stream.contains('\u{202e}'),
            "{stream:?}"
        );
    }
    // (host names are compared without case, so the log's name is lower-cased)
    assert!(
        text.contains(r"evil\x1b]0;pwned\x07\x1b[2jx\u{202e}gpj"),
        "{text}"
    );
    assert!(err.contains(r"blob\x1b[2J.bin"), "{err}");
    assert!(log.exists());
}

#[test]
fn csv_cells_cannot_run_as_formulas_and_json_lines_stay_lines() {
    let dir = tempfile::tempdir().unwrap();
    let body = format!(
        "{FIELDS}{}",
        log_line("=cmd|'/C+calc'!A0", "-x\u{2028}y\u{85}z")
    );
    let log = write(dir.path(), "ex.log", body.as_bytes());
    let out = wormtrace(&["scan", "-q", "--format", "csv", log.to_str().unwrap()]);
    let csv_text = String::from_utf8(out.stdout).unwrap();
    let mut rows = csv::Reader::from_reader(csv_text.as_bytes());
    let headers = rows.headers().unwrap().clone();
    let row = rows.records().next().unwrap().unwrap();
    let column = |name: &str| {
        row.get(headers.iter().position(|h| h == name).unwrap())
            .unwrap()
            .to_string()
    };
    assert_eq!(column("method"), "'=cmd|'/C+calc'!A0");
    assert!(
        csv_text.lines().all(|l| l.starts_with('"')),
        "every cell quoted: {csv_text}"
    );

    let out = wormtrace(&["scan", "-q", "--format", "jsonl", log.to_str().unwrap()]);
    let jsonl = String::from_utf8(out.stdout).unwrap();
    assert!(!jsonl.contains('\u{2028}') && !jsonl.contains('\u{85}'));
    assert!(
        jsonl.contains(r"\u2028") && jsonl.contains(r"\u0085"),
        "{jsonl}"
    );
    // Split on every Unicode line break, each piece is still a whole record.
    for line in jsonl
        .split(['\n', '\u{2028}', '\u{2029}', '\u{85}'])
        .filter(|l| !l.is_empty())
    {
        serde_json::from_str::<serde_json::Value>(line).unwrap();
    }
    let _ = Path::new(".");
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

#[test]
fn a_decode_error_in_the_first_bytes_keeps_what_came_before() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "{FIELDS}{}{}",
        log_line("GET", "www"),
        log_line("GET", "www")
    );
    let mut junk_after = gzip(text.as_bytes());
    junk_after.extend_from_slice(b"this is not a gzip member");
    let mut cut = gzip(text.as_bytes());
    cut.truncate(cut.len() - 6);
    for (name, bytes) in [("junk.log.gz", junk_after), ("cut.log.gz", cut)] {
        let path = write(dir.path(), name, &bytes);
        let (code, records) = common::scan_jsonl(&[&path], &[]);
        assert_eq!(code, 1, "{name}");
        assert_eq!(
            common::of_type(&records, "finding").len(),
            2,
            "{name}: {records:?}"
        );
        let problems = common::of_type(&records, "problem");
        assert_eq!(problems.len(), 1, "{name}");
        assert!(problems[0]["reason"]
            .as_str()
            .unwrap()
            .contains("findings before that point are kept"));
    }
}

#[test]
fn a_fifo_named_as_a_path_is_read_once_whole() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("log.fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    // Longer than any sniffing head, so a double read would lose findings.
    let mut text = String::from(FIELDS);
    for _ in 0..200 {
        text.push_str(&log_line("GET", "www"));
    }
    let writer = {
        let (fifo, text) = (fifo.clone(), text.clone());
        std::thread::spawn(move || std::fs::write(fifo, text).unwrap())
    };
    let (code, records) = common::scan_jsonl(&[&fifo], &["--repeats", "0"]);
    writer.join().unwrap();
    assert_eq!(code, 1);
    assert_eq!(common::of_type(&records, "finding").len(), 200);
    let input = &common::of_type(&records, "input")[0];
    assert_eq!(input["size"], text.len());
}

#[test]
fn an_output_to_a_device_or_fifo_is_written_there_not_replaced() {
    use std::os::unix::fs::FileTypeExt;
    let dir = tempfile::tempdir().unwrap();
    let log = write(
        dir.path(),
        "ex.log",
        format!("{FIELDS}{}", log_line("GET", "www")).as_bytes(),
    );
    let out_dir = tempfile::tempdir().unwrap();
    let fifo = out_dir.path().join("out.fifo");
    assert!(std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    // The reading end is opened first, without blocking, so a run that never opens the FIFO
    // fails this test instead of hanging it. The output (a few KB) fits the pipe's buffer.
    let mut reader = {
        use std::os::unix::fs::OpenOptionsExt;
        std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(0o4000)
            .open(&fifo)
            .unwrap()
    };
    let args = [
        "scan",
        "-q",
        "--format",
        "jsonl",
        "-o",
        fifo.to_str().unwrap(),
        log.to_str().unwrap(),
    ];
    let out = wormtrace(&args);
    assert_eq!(out.status.code(), Some(1));
    let mut text = String::new();
    let _ = std::io::Read::read_to_string(&mut reader, &mut text);
    assert!(
        text.lines().any(|l| l.contains("\"type\":\"summary\"")),
        "{text}"
    );
    assert!(
        std::fs::metadata(&fifo).unwrap().file_type().is_fifo(),
        "still a FIFO, not replaced by a file"
    );
    assert_eq!(
        std::fs::read_dir(out_dir.path()).unwrap().count(),
        1,
        "no temporary file left"
    );
}

#[test]
fn a_closed_pipe_ends_every_format_the_same_quiet_way() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from(FIELDS);
    for _ in 0..20_000 {
        text.push_str(&log_line("GET", "www"));
    }
    let log = write(dir.path(), "big.log", text.as_bytes());
    for format in ["jsonl", "csv"] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_wormtrace"))
            .args(["scan", "-q", "--format", format, log.to_str().unwrap()])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut first = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut first)
            .unwrap();
        // The reader goes away after one line, as `| head -1` does.
        let out = child.wait_with_output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{format}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.stderr.is_empty(), "{format}: quietly");
    }
}

#[test]
fn a_log_with_a_block_of_nuls_from_a_crash_is_read_not_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = format!("{FIELDS}{}", log_line("GET", "www")).into_bytes();
    bytes.extend(std::iter::repeat_n(0u8, 64 * 1024));
    bytes.extend_from_slice(log_line("GET", "after").as_bytes());
    // After the restart, IIS writes a new header right behind the NULs, in another layout.
    bytes.extend(std::iter::repeat_n(0u8, 4096));
    bytes.extend_from_slice(b"#Software: Microsoft Internet Information Services 5.0\n");
    bytes.extend_from_slice(b"#Fields: time c-ip cs-method cs-uri-stem cs-uri-query sc-status\n");
    let restarted = format!(
        "11:00:00 198.51.100.9 GET /default.ida {} 404\n",
        worm_query('X')
    );
    bytes.extend_from_slice(restarted.as_bytes());
    let log = write(dir.path(), "ex010804.log", &bytes);
    let (code, records) = common::scan_jsonl(&[&log], &[]);
    assert_eq!(code, 1);
    let findings = common::of_type(&records, "finding");
    assert_eq!(
        findings.len(),
        3,
        "the lines before, between and after the NULs: {findings:?}"
    );
    assert_eq!(
        findings[2]["client_ip"], "198.51.100.9",
        "the new header is read"
    );
    assert_eq!(common::of_type(&records, "input")[0]["format"], "iis-w3c");
    let problems = common::of_type(&records, "problem");
    assert_eq!(problems.len(), 1, "{problems:?}");
    let reason = problems[0]["reason"].as_str().unwrap();
    assert!(
        reason.starts_with("69632 NUL bytes in 2 block(s)"),
        "{reason}"
    );
}

#[test]
fn lines_cut_out_of_a_log_without_its_header_are_read_by_their_shape() {
    // `grep default.ida ex010804.log > hits.log`: IIS 5's full layout without `#Fields`.
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "2001-08-04 10:01:02 10.1.1.5 - 10.0.0.10 80 GET /default.ida {} 404 -\r\n\
         2001-08-04 10:01:05 10.1.1.6 - 10.0.0.10 80 GET /scripts/root.exe /c+dir 404 -\r\n",
        worm_query('X')
    );
    let log = write(dir.path(), "hits.log", text.as_bytes());
    let (code, records) = common::scan_jsonl(&[&log], &[]);
    assert_eq!(code, 1);
    let findings = common::of_type(&records, "finding");
    let got: Vec<(&str, &str, &str)> = findings
        .iter()
        .map(|f| {
            (
                f["family"].as_str().unwrap(),
                f["client_ip"].as_str().unwrap(),
                f["server"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("code-red-ii", "10.1.1.5", "10.0.0.10"),
            ("nimda", "10.1.1.6", "10.0.0.10")
        ]
    );
    assert_eq!(findings[0]["time"], "2001-08-04T10:01:02Z");
}

#[test]
fn a_utf16_log_is_decoded_and_read() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "{FIELDS}{}{}",
        log_line("GET", "www"),
        log_line("GET", "www")
    );
    let utf16: Vec<u8> = [0xff, 0xfe]
        .into_iter()
        .chain(
            text.replace('\n', "\r\n")
                .encode_utf16()
                .flat_map(u16::to_le_bytes),
        )
        .collect();
    let log = write(dir.path(), "ex010804.log", &utf16);
    let (code, records) = common::scan_jsonl(&[&log], &[]);
    assert_eq!(code, 1, "{records:?}");
    let findings = common::of_type(&records, "finding");
    assert_eq!(findings.len(), 2);
    assert_eq!(findings[0]["line"], 2);
    assert_eq!(findings[0]["family"], "code-red-ii");
    let input = &common::of_type(&records, "input")[0];
    assert_eq!(input["format"], "iis-w3c");
    assert_eq!(
        input["size"],
        utf16.len(),
        "the digest covers the stored bytes"
    );
}

#[test]
fn a_table_whose_rows_are_not_understood_is_not_reported_as_read() {
    let dir = tempfile::tempdir().unwrap();
    // FreeBSD `netstat -A`: read since the socket column is known.
    let freebsd = "Active Internet connections\n\
        Socket           Proto Recv-Q Send-Q Local Address          Foreign Address        (state)\n\
        fffff80012345678 tcp4       0      0 10.1.5.23.1025         10.1.9.7.80            SYN_SENT\n";
    let table = write(dir.path(), "bsd01.netstat.txt", freebsd.as_bytes());
    let (code, records) = common::scan_jsonl(&[&table], &[]);
    assert_eq!(code, 0, "{records:?}");
    assert_eq!(
        common::of_type(&records, "input")[0]["format"],
        "netstat-bsd"
    );
    // A layout nothing reads: a problem, and exit 2 rather than clean.
    let unknown = "Active Internet connections\nSocket Proto Recv-Q\nzzzz qqqq 0 0 a b c\n";
    let table = write(dir.path(), "odd01.netstat.txt", unknown.as_bytes());
    let (code, records) = common::scan_jsonl(&[&table], &[]);
    assert_eq!(code, 2, "{records:?}");
    let problems = common::of_type(&records, "problem");
    assert_eq!(
        problems[0]["reason"],
        "no row of the connection table was understood"
    );
}

/// Runs `wormtrace` with `args`, feeding `input` on standard input; fails the test if it
/// has not ended after 60 seconds (an endless input must not keep it reading).
fn run_bounded(args: &[&str], input: Option<&[u8]>) -> std::process::Output {
    use std::io::Write as _;
    use std::process::{Command, Stdio};
    // Output to files: a full pipe nobody reads would stop the child before its end.
    let out_file = tempfile::tempfile().unwrap();
    let err_file = tempfile::tempfile().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_wormtrace"))
        .args(args)
        .env("LANG", "C")
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(out_file.try_clone().unwrap())
        .stderr(err_file.try_clone().unwrap())
        .spawn()
        .unwrap();
    if let Some(bytes) = input {
        let mut stdin = child.stdin.take().unwrap();
        let bytes = bytes.to_vec();
        // The scan stops reading at its cap: the writer then meets a closed pipe.
        std::thread::spawn(move || while stdin.write_all(&bytes).is_ok() {});
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            child.kill().unwrap();
            panic!("wormtrace {args:?} did not end");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let read = |mut f: std::fs::File| {
        use std::io::{Read, Seek};
        let mut bytes = Vec::new();
        f.seek(std::io::SeekFrom::Start(0)).unwrap();
        f.read_to_end(&mut bytes).unwrap();
        bytes
    };
    std::process::Output {
        status: child.wait().unwrap(),
        stdout: read(out_file),
        stderr: read(err_file),
    }
}

#[test]
fn endless_inputs_named_explicitly_end_with_a_problem() {
    let dir = tempfile::tempdir().unwrap();
    let link = dir.path().join("zero");
    std::os::unix::fs::symlink("/dev/zero", &link).unwrap();
    for path in ["/dev/zero", link.to_str().unwrap()] {
        let out = run_bounded(&["scan", "--format", "jsonl", "--quiet", path], None);
        assert_eq!(out.status.code(), Some(2), "{path}: not clean");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(stdout.contains("\"type\":\"problem\""), "{path}: {stdout}");
    }
    // An endless pipe of requests stops at --max-bytes, keeping what it found.
    let line = format!("GET /default.ida?{} HTTP/1.0\n", worm_query('N'));
    let args = [
        "scan",
        "--format",
        "jsonl",
        "--quiet",
        "--max-bytes",
        "1000000",
        "--repeats",
        "0",
        "-",
    ];
    let out = run_bounded(&args, Some(line.repeat(100).as_bytes()));
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let findings = stdout
        .lines()
        .filter(|l| l.contains("\"type\":\"finding\""))
        .count();
    // Every line read, the one cut at the cap too.
    assert_eq!(findings, 1_000_000usize.div_ceil(line.len()));
    assert!(
        stdout.contains("reading stopped after 1000000 bytes"),
        "{stdout}"
    );
}

#[test]
fn max_line_is_enforced_for_short_lines_and_a_long_last_line_counts() {
    let dir = tempfile::tempdir().unwrap();
    // An attack 3,000 bytes into a line, and one at its start; the last line has no newline
    // and is longer than the cap.
    let padded = format!(
        "GET /{} /default.ida?{}\n",
        "a".repeat(3000),
        worm_query('N')
    );
    let early = format!("GET /default.ida?{}\n", worm_query('N'));
    let last = format!("GET /default.ida?{}{}", worm_query('N'), "b".repeat(5000));
    let log = write(
        dir.path(),
        "notes.txt",
        format!("{padded}{early}{last}").as_bytes(),
    );
    let (code, records) = common::scan_jsonl(&[&log], &["--max-line", "1024"]);
    assert_eq!(code, 1);
    let lines: Vec<u64> = common::of_type(&records, "finding")
        .iter()
        .map(|f| f["line"].as_u64().unwrap())
        .collect();
    assert_eq!(lines, [2, 3], "only the start of each line is checked");
    let input = &common::of_type(&records, "input")[0];
    assert_eq!(input["lines"], 3, "the long last line counts");
    let problem = &common::of_type(&records, "problem")[0];
    assert_eq!(
        problem["reason"],
        "2 line(s) longer than 1024 bytes: only their start was checked"
    );
    let refused = wormtrace(&["scan", "--max-line", "100", log.to_str().unwrap()]);
    assert_eq!(refused.status.code(), Some(2), "below 1024 is refused");
}
