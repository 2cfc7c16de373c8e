//! Evidence untouched: a scan of a case folder (logs and a volume copy, with `--deep`) leaves
//! the access time of every file and folder as it was, on a `strictatime` mount where any
//! read or listing would update it. The mount is a tmpfs in a mount namespace of the test's
//! own (`unshare -r -m`: a user namespace too, so no root is needed where user
//! namespaces are allowed), so nothing outside the test sees it.

mod common;

use std::process::Command;

/// Every path of the case, files and folders, as the script creates them.
const PATHS: [&str; 9] = [
    "case",
    "case/logs",
    "case/logs/w3svc1",
    "case/logs/w3svc1/ex010804.log",
    "case/c",
    "case/c/WINNT",
    "case/c/WINNT/system32",
    "case/c/Inetpub",
    "case/c/Inetpub/scripts/root.exe",
];

#[test]
#[ignore = "mounts a strictatime tmpfs in its own user and mount namespace (unshare -r -m), which some machines forbid; .ci/run runs it"]
fn a_scan_leaves_every_access_time_as_it_was_on_a_strictatime_mount() {
    let dir = tempfile::tempdir().unwrap();
    let log = format!(
        "#Fields: date time c-ip s-ip cs-method cs-uri-stem cs-uri-query sc-status\\n\
         2001-08-04 10:00:00 198.51.100.7 10.1.0.10 GET /default.ida {} 404\\n",
        common::worm_query('X')
    )
    .replace('%', "%%");
    let stat_all = format!("cd \"$DIR\" && stat -c '%X %n' {}", PATHS.join(" "));
    let script = format!(
        r#"set -eu
mount -t tmpfs -o strictatime tmpfs "$DIR"
mkdir -p "$DIR/case/logs/w3svc1" "$DIR/case/c/WINNT/system32" "$DIR/case/c/Inetpub/scripts" "$DIR/out"
printf '{log}' > "$DIR/case/logs/w3svc1/ex010804.log"
printf 'MZ' > "$DIR/case/c/WINNT/system32/cmd.exe"
printf 'MZ' > "$DIR/case/c/Inetpub/scripts/root.exe"
cd "$DIR" && touch -a -d '2001-08-04 00:00:00' {paths} case/c/Inetpub/scripts case/c/WINNT/system32/cmd.exe
{stat_all} > "$DIR/out/before"
"$WT" scan --deep --quiet --format jsonl -o "$DIR/out/result.jsonl" "$DIR/case" || test $? -eq 1
{stat_all} > "$DIR/out/after"
grep -q '"family":"code-red-ii"' "$DIR/out/result.jsonl"
grep -q '"type":"verdict"' "$DIR/out/result.jsonl"
diff "$DIR/out/before" "$DIR/out/after"
grep -c . "$DIR/out/before"
"#,
        paths = PATHS.join(" "),
    );
    let out = Command::new("unshare")
        .args(["-r", "-m", "--propagation", "private", "sh", "-c", &script])
        .env("DIR", dir.path())
        .env("WT", env!("CARGO_BIN_EXE_wormtrace"))
        .env("LANG", "C")
        .output()
        .expect("unshare runs");
    assert!(
        out.status.success(),
        "stdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        PATHS.len().to_string(),
        "every path was compared"
    );
}
