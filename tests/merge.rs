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
            prop_assert!(scan == merge, "{format} differs:\n{}\n---\n{}",
                String::from_utf8_lossy(scan), String::from_utf8_lossy(merge));
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
