//! `scan --partial` and `merge`: the map and reduce sides of a scan spread over machines.
//! Whatever the grouping of the inputs and the shape of the merges, the merged outputs are
//! the bytes one scan of all the inputs writes.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::wormtrace;
use proptest::prelude::*;

/// The bundled sample evidence: logs (plain and gzipped), an error log, a capture, connection
/// tables, two mounted volumes, a volume with a hive, and loose host evidence.
fn samples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("samples")
}

/// The units a scan may be split into: each file, except that a host's folder stays whole
/// (its evidence makes one verdict together).
fn units() -> Vec<PathBuf> {
    let root = samples();
    let mut units: Vec<PathBuf> = ["README.md", "apache/access_log.1.gz", "apache/error_log"]
        .iter()
        .chain(&[
            "iis/web1/ex010804.log",
            "iis/web2/in010805.log",
            "iis/web3/ex010804.log",
        ])
        .chain(&[
            "network/dmz.pcap",
            "network/web05.netstat.txt",
            "network/web06.netstat.txt",
        ])
        .chain(&["host/web01", "host/web02", "host/web03", "host/web05"])
        .map(|p| root.join(p))
        .collect();
    units.sort();
    units
}

fn run_ok(args: &[&str], stdin: Option<&Path>) -> std::process::Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_wormtrace"));
    command.args(args).env("NO_COLOR", "1").env("LANG", "C");
    if let Some(file) = stdin {
        command.stdin(Stdio::from(std::fs::File::open(file).expect("stdin file")));
    }
    let out = command.output().expect("binary runs");
    assert!(
        out.status.code().is_some_and(|c| c <= 2),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// `scan --partial` of one group into `out`; the group's first unit goes through standard
/// input with `--source` when `piped` (as Spark hands a file's bytes to the binary).
fn partial_of(group: &[PathBuf], piped: bool, out: &Path) {
    let out_arg = out.display().to_string();
    let mut args = vec!["scan", "--partial", "--quiet", "-o", &out_arg];
    let names: Vec<String> = group.iter().map(|p| p.display().to_string()).collect();
    let mut stdin = None;
    let source;
    match group.first() {
        Some(first) if piped && first.is_file() => {
            source = names[0].clone();
            args.extend(["--source", &source, "-"]);
            args.extend(names[1..].iter().map(String::as_str));
            stdin = Some(first.as_path());
        }
        _ => args.extend(names.iter().map(String::as_str)),
    }
    let result = run_ok(&args, stdin);
    assert_eq!(
        result.status.code(),
        Some(0),
        "--partial exits 0 with findings"
    );
}

/// Merges `parts` into one partial result at `out`.
fn merge_partial(parts: &[PathBuf], out: &Path) {
    let out_arg = out.display().to_string();
    let mut args = vec!["merge", "--partial", "--quiet", "-o", &out_arg];
    let names: Vec<String> = parts.iter().map(|p| p.display().to_string()).collect();
    args.extend(names.iter().map(String::as_str));
    assert_eq!(run_ok(&args, None).status.code(), Some(0));
}

/// The outputs compared: JSONL, CSV and the summary.
const FORMATS: [&str; 3] = ["jsonl", "csv", "summary"];

fn outputs_of(command: &str, paths: &[PathBuf], dir: &Path) -> Vec<Vec<u8>> {
    FORMATS
        .iter()
        .map(|format| {
            let out = dir.join(format!("{command}.{format}"));
            let out_arg = out.display().to_string();
            let mut args = vec![command, "--quiet", "--lang", "en", "--format", format];
            args.extend(["-o", &out_arg]);
            let names: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
            args.extend(names.iter().map(String::as_str));
            run_ok(&args, None);
            std::fs::read(&out).expect("output written")
        })
        .collect()
}

/// The first line where two outputs differ, each side cut to 300 characters.
fn first_difference(a: &[u8], b: &[u8]) -> String {
    let (a, b) = (String::from_utf8_lossy(a), String::from_utf8_lossy(b));
    let cut = |l: &str| l.chars().take(300).collect::<String>();
    let (mut left, mut right) = (a.lines(), b.lines());
    for n in 1.. {
        match (left.next(), right.next()) {
            (None, None) => break,
            (l, r) if l != r => {
                return format!(
                    "line {n}:\n{}\n{}",
                    cut(l.unwrap_or("(end)")),
                    cut(r.unwrap_or("(end)"))
                )
            }
            _ => {}
        }
    }
    "the same lines".into()
}

/// Merges `parts` in the shape `shape` picks: while more than `final_width` remain, the
/// next `width` (cycling through `shape`) at position `at` become one.
fn merge_tree(mut parts: Vec<PathBuf>, shape: &[(usize, usize)], dir: &Path) -> Vec<PathBuf> {
    let mut step = 0;
    while parts.len() > 2 {
        let (at, width) = shape[step % shape.len()];
        let width = 2 + width % (parts.len() - 1);
        let at = at % (parts.len() - width + 1);
        let merged = dir.join(format!("merged-{step}.part"));
        merge_partial(&parts[at..at + width], &merged);
        parts.splice(at..at + width, [merged]);
        step += 1;
    }
    parts
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 6, ..ProptestConfig::default() })]

    #[test]
    fn merging_partial_results_in_any_grouping_order_and_shape_equals_one_scan(
        group_of in prop::collection::vec(0usize..4, 13),
        order in Just((0..13usize).collect::<Vec<_>>()).prop_shuffle(),
        shape in prop::collection::vec((0usize..8, 0usize..4), 1..6),
        piped in any::<bool>(),
    ) {
        let dir = tempfile::tempdir().expect("temp dir");
        let units = units();
        let mut groups: Vec<Vec<PathBuf>> = vec![Vec::new(); 4];
        for &i in &order {
            groups[group_of[i]].push(units[i].clone());
        }
        let mut parts = Vec::new();
        for (g, group) in groups.iter().enumerate().filter(|(_, g)| !g.is_empty()) {
            let part = dir.path().join(format!("group-{g}.part"));
            partial_of(group, piped, &part);
            parts.push(part);
        }
        parts.reverse();
        let merged = merge_tree(parts, &shape, dir.path());
        let one_scan = outputs_of("scan", &[samples()], dir.path());
        let merge = outputs_of("merge", &merged, dir.path());
        for ((format, scan), merge) in FORMATS.iter().zip(&one_scan).zip(&merge) {
            prop_assert!(scan == merge, "{format} differs: {}", first_difference(scan, merge));
        }
    }
}

#[test]
fn a_partial_result_cut_short_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let part = dir.path().join("a.part");
    partial_of(&[samples().join("iis")], false, &part);
    let whole = std::fs::read_to_string(&part).expect("partial");
    let cut: Vec<&str> = whole.lines().collect();
    let cut_path = dir.path().join("cut.part");
    std::fs::write(&cut_path, cut[..cut.len() - 1].join("\n")).expect("cut written");
    let out = wormtrace(&["merge", "--quiet", cut_path.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("did not finish"), "{stderr}");
    let ok = wormtrace(&["merge", "--quiet", part.to_str().expect("utf-8")]);
    assert_eq!(
        ok.status.code(),
        Some(1),
        "the whole result merges and has findings"
    );
}

#[test]
fn partial_results_of_other_settings_are_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (a, b) = (dir.path().join("a.part"), dir.path().join("b.part"));
    let iis = samples().join("iis").display().to_string();
    let apache = samples().join("apache").display().to_string();
    for (part, extra) in [(&a, "10.0.0.0/8"), (&b, "192.0.2.0/24")] {
        let out_arg = part.display().to_string();
        let path = if part == &a { &iis } else { &apache };
        let args = [
            "scan",
            "--partial",
            "-q",
            "--internal",
            extra,
            "-o",
            &out_arg,
            path,
        ];
        assert_eq!(wormtrace(&args).status.code(), Some(0));
    }
    let out = wormtrace(&[
        "merge",
        "-q",
        a.to_str().expect("a"),
        b.to_str().expect("b"),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--internal"));
    let fewer = [
        "merge",
        "-q",
        "--min-level",
        "critical",
        a.to_str().expect("a"),
    ];
    let rules = wormtrace(&fewer);
    assert_eq!(
        rules.status.code(),
        Some(2),
        "the merge must load the scans' rules"
    );
    assert!(String::from_utf8_lossy(&rules.stderr).contains("the rules"));
}

#[test]
fn standard_input_is_recorded_under_its_source_name() {
    let dir = tempfile::tempdir().expect("temp dir");
    let log = samples().join("iis/web1/ex010804.log");
    let part = dir.path().join("stdin.part");
    let out_arg = part.display().to_string();
    let args = [
        "scan",
        "--partial",
        "-q",
        "--source",
        "s3a://bucket/ex010804.log",
        "-o",
    ];
    let mut full: Vec<&str> = args.to_vec();
    full.extend([out_arg.as_str(), "-"]);
    run_ok(&full, Some(&log));
    let merged = wormtrace(&[
        "merge",
        "-q",
        "--format",
        "jsonl",
        part.to_str().expect("utf-8"),
    ]);
    let text = String::from_utf8_lossy(&merged.stdout);
    let inputs: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("\"type\":\"input\""))
        .collect();
    assert_eq!(inputs.len(), 1);
    assert!(
        inputs[0].contains("\"path\":\"s3a://bucket/ex010804.log\""),
        "{}",
        inputs[0]
    );
    let findings = text
        .lines()
        .filter(|l| l.contains("\"type\":\"finding\""))
        .count();
    assert!(findings > 0);
}

/// A W3C log whose `#Fields` layout changes twice, with Code Red II requests in each part,
/// and an NCSA log: the first needs the merge to replay kept lines with the layout the
/// ranges before left, the second gives its findings at once.
fn logs_to_cut(dir: &Path) -> Vec<PathBuf> {
    let query = common::worm_query('X');
    let mut w3c = String::new();
    let layouts = [
        "date time c-ip cs-method cs-uri-stem cs-uri-query sc-status",
        "date time cs-method cs-uri-stem cs-uri-query c-ip sc-status s-ip",
        "time c-ip sc-status cs-method cs-uri-stem cs-uri-query",
    ];
    for (part, layout) in layouts.iter().enumerate() {
        w3c.push_str(&format!("#Software: Microsoft Internet Information Services 5.0\n#Date: 2001-08-0{} 00:00:00\n#Fields: {layout}\n", part + 4));
        for n in 0..300 {
            let (stem, q) = if n % 97 == 13 {
                ("/default.ida", query.as_str())
            } else {
                ("/index.htm", "-")
            };
            let ip = format!("192.0.2.{}", n % 200);
            let line = match part {
                0 => format!(
                    "2001-08-04 00:{:02}:{:02} {ip} GET {stem} {q} 404",
                    n / 60,
                    n % 60
                ),
                1 => format!(
                    "2001-08-05 01:{:02}:{:02} GET {stem} {q} {ip} 404 10.0.0.5",
                    n / 60,
                    n % 60
                ),
                _ => format!("02:{:02}:{:02} {ip} 404 GET {stem} {q}", n / 60, n % 60),
            };
            w3c.push_str(&line);
            w3c.push('\n');
        }
    }
    let mut ncsa = String::new();
    for n in 0..800 {
        let target = if n % 101 == 7 {
            format!("/default.ida?{query}")
        } else {
            "/".into()
        };
        ncsa.push_str(&format!("198.51.100.{} - - [05/Aug/2001:08:{:02}:{:02} +0900] \"GET {target} HTTP/1.0\" 404 0\n", n % 250, n / 60 % 60, n % 60));
    }
    // Past --repeats: the merge counts the repeats of all ranges as one scan does.
    let mut probes = String::new();
    for n in 0..700 {
        probes.push_str(&format!("192.0.2.{} - - [05/Aug/2001:09:{:02}:{:02} +0900] \"GET /default.ida?{query} HTTP/1.0\" 404 0\n", n % 2 + 1, n / 60 % 60, n / 100));
    }
    // In path order, as a merge lists them.
    vec![
        common::write(dir, "access_log", ncsa.as_bytes()),
        common::write(dir, "ex010804.log", w3c.as_bytes()),
        common::write(dir, "probes_log", probes.as_bytes()),
    ]
}

/// Partial results of `file` cut at `cuts` (fractions of its size), through the file itself
/// or through standard input with the file's head; and one hashing task's.
fn ranges_of(file: &Path, cuts: &[u16], piped: bool, dir: &Path) -> Vec<PathBuf> {
    let bytes = std::fs::read(file).expect("log");
    let mut points: Vec<u64> = cuts
        .iter()
        .map(|&c| bytes.len() as u64 * u64::from(c) / 1000)
        .collect();
    points.extend([0, bytes.len() as u64]);
    points.sort_unstable();
    points.dedup();
    let name = file.display().to_string();
    let stem = file.file_name().and_then(|n| n.to_str()).expect("name");
    let mut parts = Vec::new();
    for (i, pair) in points.windows(2).enumerate() {
        let part = dir.join(format!("{stem}-{i}.part"));
        let out = part.display().to_string();
        let range = format!("{}:{}", pair[0], pair[1]);
        if piped {
            // Standard input carries a range from a line start to a line start.
            let start = line_start(&bytes, pair[0]);
            let end = line_start(&bytes, pair[1]);
            let slice = dir.join(format!("{stem}-{i}.bytes"));
            std::fs::write(&slice, &bytes[start as usize..end as usize]).expect("slice");
            let head = dir.join(format!("{stem}.head"));
            std::fs::write(&head, &bytes[..bytes.len().min(65536)]).expect("head");
            let range = format!("{start}:{end}");
            let head_arg = head.display().to_string();
            let args = [
                "scan",
                "--partial",
                "-q",
                "--range",
                &range,
                "--head",
                &head_arg,
                "--source",
                &name,
                "-o",
                &out,
                "-",
            ];
            run_ok(&args, Some(&slice));
        } else {
            run_ok(
                &[
                    "scan",
                    "--partial",
                    "-q",
                    "--range",
                    &range,
                    "-o",
                    &out,
                    &name,
                ],
                None,
            );
        }
        parts.push(part);
    }
    let digest = dir.join(format!("{stem}-digest.part"));
    let out = digest.display().to_string();
    run_ok(
        &[
            "scan",
            "--partial",
            "-q",
            "--digest-only",
            "-o",
            &out,
            &name,
        ],
        None,
    );
    parts.push(digest);
    parts
}

fn line_start(bytes: &[u8], at: u64) -> u64 {
    if at == 0 || at as usize >= bytes.len() || bytes[at as usize - 1] == b'\n' {
        return at.min(bytes.len() as u64);
    }
    bytes[at as usize..]
        .iter()
        .position(|&b| b == b'\n')
        .map_or(bytes.len() as u64, |i| at + i as u64 + 1)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 8, ..ProptestConfig::default() })]

    #[test]
    fn a_file_cut_in_ranges_anywhere_merges_to_one_scan_of_it(
        cuts in prop::collection::vec(1u16..1000, 1..6),
        piped in any::<bool>(),
        order in Just((0..30usize).collect::<Vec<_>>()).prop_shuffle(),
        shape in prop::collection::vec((0usize..8, 0usize..4), 1..4),
    ) {
        let dir = tempfile::tempdir().expect("temp dir");
        let logs = logs_to_cut(dir.path());
        let mut parts = Vec::new();
        for log in &logs {
            parts.extend(ranges_of(log, &cuts, piped, dir.path()));
        }
        let shuffled: Vec<PathBuf> = order.iter().filter_map(|&i| parts.get(i).cloned()).collect();
        let merged = merge_tree(shuffled, &shape, dir.path());
        let one_scan = outputs_of("scan", &logs, dir.path());
        let merge = outputs_of("merge", &merged, dir.path());
        for ((format, scan), merge) in FORMATS.iter().zip(&one_scan).zip(&merge) {
            prop_assert!(scan == merge, "{format} differs: {}", first_difference(scan, merge));
        }
    }
}

#[test]
fn a_missing_range_is_a_problem_not_a_clean_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let logs = logs_to_cut(dir.path());
    let parts = ranges_of(&logs[1], &[300, 600], false, dir.path());
    let kept: Vec<String> = parts
        .iter()
        .filter(|p| !p.display().to_string().ends_with("-1.part"))
        .map(|p| p.display().to_string())
        .collect();
    let mut args = vec!["merge", "-q", "--format", "jsonl"];
    args.extend(kept.iter().map(String::as_str));
    let out = wormtrace(&args);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("were in no range"), "{text}");
}

#[test]
fn the_merged_case_file_renders_what_the_scanned_one_does() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (iis, network) = (samples().join("iis"), samples().join("network"));
    let mut parts = Vec::new();
    for (n, path) in [&iis, &network].into_iter().enumerate() {
        let part = dir.path().join(format!("{n}.part"));
        partial_of(std::slice::from_ref(path), false, &part);
        parts.push(part.display().to_string());
    }
    let (scanned, merged) = (
        dir.path().join("scan.sqlite"),
        dir.path().join("merge.sqlite"),
    );
    let (scanned, merged) = (scanned.display().to_string(), merged.display().to_string());
    let (iis, network) = (iis.display().to_string(), network.display().to_string());
    let scan = [
        "scan",
        "-q",
        "--case",
        &scanned,
        "-o",
        "/dev/null",
        &iis,
        &network,
    ];
    assert_eq!(wormtrace(&scan).status.code(), Some(1));
    let merge = [
        "merge",
        "-q",
        "--case",
        &merged,
        "-o",
        "/dev/null",
        &parts[0],
        &parts[1],
    ];
    assert_eq!(wormtrace(&merge).status.code(), Some(1));
    let render = |case: &str| wormtrace(&["report", case, "--format", "jsonl"]).stdout;
    let (a, b) = (render(&scanned), render(&merged));
    assert!(!a.is_empty());
    assert!(a == b, "{}", first_difference(&a, &b));
}

#[test]
fn a_partial_result_into_a_closed_pipe_ends_quietly() {
    use std::io::BufRead;
    let mut child = Command::new(env!("CARGO_BIN_EXE_wormtrace"))
        .args(["scan", "--partial", "-q"])
        .arg(samples())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("binary runs");
    let mut first = String::new();
    let mut out = std::io::BufReader::new(child.stdout.take().expect("stdout"));
    out.read_line(&mut first).expect("a header line");
    assert!(first.starts_with("{\"begin\":"), "{first}");
    drop(out);
    let done = child.wait_with_output().expect("the run ends");
    assert_eq!(done.status.code(), Some(0));
    assert!(
        done.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
}
