//! Our hive writer and reader checked against hivex, the libguestfs hive library: hivex
//! must read the hives the generator writes, and our reader must read the hives hivex
//! writes. Both need `hivexsh` (Debian `libhivex-bin`); the second also needs a base hive
//! from outside the repository (`WORMTRACE_HIVE_BASE`, the libguestfs `minimal` image).
//! `.ci/run` installs and sets both.

use std::path::{Path, PathBuf};
use std::process::Command;

use wormtrace::host::registry::{load_hive, RegData};
use wormtrace_gen::host::{hivexsh_script, RegKeySpec, RegValue};

fn keys() -> Vec<RegKeySpec> {
    vec![
        ("Select", vec![("Current", RegValue::Dword(1))]),
        (
            r"ControlSet001\Control\ComputerName\ComputerName",
            vec![("ComputerName", RegValue::Sz("WEB01"))],
        ),
        (
            r"ControlSet001\Services\W3SVC\Parameters\Virtual Roots",
            vec![
                ("/C", RegValue::Sz(r"c:\,,217")),
                ("/Scripts", RegValue::Sz(r"c:\inetpub\scripts,,217")),
                ("Multi", RegValue::MultiSz(&["10.1.5.23", "10.1.5.24"])),
            ],
        ),
    ]
}

fn hivexsh(hive: &Path, script: &str) -> String {
    let out = Command::new("hivexsh")
        .arg(hive)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child.stdin.take().unwrap().write_all(script.as_bytes())?;
            child.wait_with_output()
        })
        .expect("hivexsh runs (Debian package libhivex-bin)");
    assert!(out.status.success(), "hivexsh failed on {}", hive.display());
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
#[ignore = "needs hivexsh (Debian libhivex-bin)"]
fn hivex_reads_the_hives_the_generator_writes() {
    let dir = tempfile::tempdir().unwrap();
    let hive = dir.path().join("SYSTEM");
    std::fs::write(&hive, wormtrace_gen::regf::hive(&keys())).unwrap();
    let listed = hivexsh(
        &hive,
        "cd Select\nlsval\ncd \\\nls\ncd ControlSet001\\Services\\W3SVC\\Parameters\\Virtual Roots\nlsval\n",
    );
    assert!(listed.contains("\"Current\"=dword:00000001"), "{listed}");
    assert!(listed.contains(r#""/C"="c:\\,,217""#), "{listed}");
    assert!(listed.contains("\"Multi\"=hex(7):"), "{listed}");
    assert!(listed.contains("ControlSet001\nSelect"), "{listed}");
}

fn base_hive() -> PathBuf {
    PathBuf::from(std::env::var_os("WORMTRACE_HIVE_BASE").expect(
        "WORMTRACE_HIVE_BASE names a base hive with only a root key (libguestfs hivex images/minimal)",
    ))
}

#[test]
#[ignore = "needs hivexsh and a base hive from outside the repository (WORMTRACE_HIVE_BASE)"]
fn our_reader_reads_what_hivex_writes_as_it_reads_our_own() {
    let dir = tempfile::tempdir().unwrap();
    let by_hivex = dir.path().join("by-hivex");
    std::fs::write(&by_hivex, std::fs::read(base_hive()).unwrap()).unwrap();
    let status = Command::new("hivexsh")
        .arg("-w")
        .arg(&by_hivex)
        .stdin(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child
                .stdin
                .take()
                .unwrap()
                .write_all(hivexsh_script(&keys()).as_bytes())?;
            child.wait()
        })
        .expect("hivexsh runs");
    assert!(status.success());
    let theirs = load_hive(&std::fs::read(&by_hivex).unwrap(), "x").unwrap();
    let ours = load_hive(&wormtrace_gen::regf::hive(&keys()), "x").unwrap();
    assert_eq!(theirs, ours);
    let roots = theirs
        .key(r"HKLM\SYSTEM\ControlSet001\Services\W3SVC\Parameters\Virtual Roots")
        .unwrap();
    assert_eq!(
        roots.value("multi").unwrap().data,
        RegData::MultiString(vec!["10.1.5.23".into(), "10.1.5.24".into()])
    );
}
