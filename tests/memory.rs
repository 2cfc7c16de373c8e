//! Memory bounded by design (issue 14): inputs that used to take memory in proportion to what
//! they held (findings, rows, keys, sources) must leave the peak resident size of a scan far
//! below that. Each case is generated here by `wormtrace-gen`'s hostile writers, and the peak
//! is the child's maximum resident set size as the kernel reports it (`getrusage`).
//!
//! The sizes are small enough for a debug build and large enough that the old behaviour
//! went several times over the bound (the figures in each test).

mod common;

use std::io::Write;
use std::path::Path;
use std::process::Command;

use wormtrace_gen::hostile::write_case;

/// What any of these scans may take, in MB, in a debug build (a release build needs less).
const BOUND_MB: u64 = 64;

/// Runs `wormtrace scan` and returns (peak RSS of the scan in MB, exit code, stdout).
fn peak_scan(args: &[&str]) -> (u64, i32, String) {
    let before = children_peak_kb();
    let out = Command::new(env!("CARGO_BIN_EXE_wormtrace"))
        .arg("scan")
        .args(args)
        .env("NO_COLOR", "1")
        .env("LANG", "C")
        .output()
        .expect("binary runs");
    let peak = children_peak_kb();
    // The kernel keeps the largest child so far: a peak below an earlier child's is hidden,
    // which can only make this test pass less, never more, as long as every child is small.
    assert!(peak >= before);
    (
        peak / 1024,
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

fn children_peak_kb() -> u64 {
    // SAFETY: getrusage writes into the struct it is given and nothing else.
    unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        assert_eq!(libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage), 0);
        usage.ru_maxrss as u64
    }
}

fn generate(dir: &Path, name: &str, case: &str, bytes: u64) -> std::path::PathBuf {
    let path = dir.join(name);
    let mut out = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    write_case(case, bytes, &mut out).unwrap();
    out.flush().unwrap();
    path
}

fn count(stdout: &str, kind: &str) -> usize {
    let tag = format!("\"type\":\"{kind}\"");
    stdout.lines().filter(|l| l.contains(&tag)).count()
}

#[test]
fn findings_stream_from_a_small_gz_that_expands_to_many() {
    // Before: 0.7-1.6 KB a finding held until the input ended (over 200 MB here).
    let dir = tempfile::tempdir().unwrap();
    let gz = dir.path().join("hits.log.gz");
    let mut enc = flate2::write::GzEncoder::new(
        std::fs::File::create(&gz).unwrap(),
        flate2::Compression::best(),
    );
    write_case("hits", 6_000_000, &mut enc).unwrap();
    enc.finish().unwrap();
    assert!(std::fs::metadata(&gz).unwrap().len() < 50_000);
    let (mb, code, stdout) = peak_scan(&["-j", "2", "--repeats", "0", gz.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(stdout.contains("300,000 findings"), "{stdout}");
    assert!(mb < BOUND_MB, "peak {mb} MB");
}

#[test]
fn a_table_with_a_local_address_per_row_keeps_a_few_thousand() {
    // Before: 2.7 GB for a million addresses (about 280 MB here), one verdict address each.
    let dir = tempfile::tempdir().unwrap();
    let table = generate(dir.path(), "web01.netstat.txt", "netstat", 6_000_000);
    let (mb, code, stdout) = peak_scan(&["--format", "jsonl", table.to_str().unwrap()]);
    assert!(mb < BOUND_MB, "peak {mb} MB");
    assert_eq!(
        code, 2,
        "rows were left out and nothing was found: not clean"
    );
    let problem = stdout
        .lines()
        .find(|l| l.contains("\"type\":\"problem\""))
        .expect("the rows past the limit are reported");
    assert!(problem.contains("local addresses"), "{problem}");
    let verdict = stdout
        .lines()
        .find(|l| l.contains("\"type\":\"verdict\""))
        .unwrap();
    let v: serde_json::Value = serde_json::from_str(verdict).unwrap();
    assert_eq!(v["host"]["addresses"].as_array().unwrap().len(), 4_096);
}

#[test]
fn host_exports_metabases_and_listings_are_read_as_streams() {
    // Before: 16 times the size of a .reg export, 15 times a metabase, 5 times a listing
    // (over 100 MB each here).
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("export.reg", "reg", 20_000_000),
        ("MetaBase.xml", "metabase", 20_000_000),
        ("dir.txt", "listing", 20_000_000),
    ];
    for (name, case, bytes) in cases {
        let path = generate(dir.path(), name, case, bytes);
        let (mb, _, stdout) = peak_scan(&["--format", "jsonl", path.to_str().unwrap()]);
        assert!(mb < BOUND_MB, "{name}: peak {mb} MB");
        let input = stdout
            .lines()
            .find(|l| l.contains("\"type\":\"input\""))
            .unwrap_or_else(|| panic!("{name} is recorded as read"));
        assert!(input.contains("\"sha256\":\""), "{name}: {input}");
    }
}

#[test]
fn many_distinct_sources_are_tallied_up_to_a_limit_and_counted_beyond() {
    // Before: about 4 KB a source until the end (about 160 MB here) and a verdict each.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("access.log");
    let mut out = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    for i in 0..40_000u32 {
        let [_, b, c, d] = (0xc000_0000u32 + i).to_be_bytes();
        writeln!(
            out,
            "198.{b}.{c}.{d} - - [04/Aug/2001:10:00:00 +0900] \"GET /default.ida?NNNN HTTP/1.0\" 404 205"
        )
        .unwrap();
    }
    out.flush().unwrap();
    drop(out);
    let (mb, code, stdout) = peak_scan(&["--format", "jsonl", path.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(mb < BOUND_MB, "peak {mb} MB");
    assert_eq!(count(&stdout, "finding"), 40_000);
    let sources = stdout
        .lines()
        .filter(|l| l.contains("\"type\":\"verdict\"") && l.contains("\"role\":\"source\""))
        .count();
    assert_eq!(sources, 10_000);
    let problem = stdout
        .lines()
        .find(|l| l.contains("\"type\":\"problem\""))
        .expect("the sources past the limit are reported");
    assert!(problem.contains("30000 findings from about"), "{problem}");
}

#[test]
fn correlations_keep_a_bounded_number_of_base_findings() {
    // 625,000 findings of a rule a correlation counts: the correlation keeps 500,000 (a
    // release build peaks at 62 MB, against 11 MB without the correlation; 115 MB before
    // events of one group shared it) and counts the rest in a problem.
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access_log");
    let mut out = std::io::BufWriter::new(std::fs::File::create(&log).unwrap());
    for n in 0..625_000u32 {
        let (m, s) = (n / 60 % 60, n % 60);
        writeln!(
            out,
            "192.0.2.1 - - [04/Aug/2001:10:{m:02}:{s:02} +0900] \"GET /a.ida HTTP/1.0\" 404 0"
        )
        .unwrap();
    }
    out.flush().unwrap();
    drop(out);
    let rules = dir.path().join("rules");
    std::fs::create_dir(&rules).unwrap();
    std::fs::write(
        rules.join("mr_ida.yml"),
        "title: Many .ida requests\ncorrelation:\n  type: event_count\n  rules: [216ae84d-c95d-4bd5-8f3e-7565922d7ef3]\n  group-by: [cs-uri-stem]\n  timespan: 1h\n  condition: {gte: 1000}\n",
    )
    .unwrap();
    let (mb, code, stdout) = peak_scan(&[
        "--format",
        "summary",
        "--lang",
        "en",
        "--rules",
        rules.to_str().unwrap(),
        log.to_str().unwrap(),
    ]);
    assert_eq!(
        code, 1,
        "findings; the correlation left some out, which a problem says"
    );
    assert!(
        stdout.contains("125,000 finding(s) of correlated rules were left out"),
        "{stdout}"
    );
    assert!(mb < 2 * BOUND_MB, "peak {mb} MB");
}
