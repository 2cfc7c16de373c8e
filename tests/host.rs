//! Host sweep on generated evidence: volumes, real binary hives (written by the generator;
//! `hives_agree_with_hivex` checks them against hivex), .reg exports in both encodings,
//! MetaBase.xml, dir listings.

mod common;

use std::path::{Path, PathBuf};

use common::{of_type, scan_jsonl, wormtrace, write};
use serde_json::Value;
use wormtrace_gen::host::{
    infected_listing, metabase_xml, pe_with_version, reg_export, volume_files, write_tree,
    RegKeySpec, RegValue, Volume, JAN_2001, JUN_2001,
};

/// Builds a real hive at `out` holding `keys`, written by the generator.
fn build_hive(out: &Path, keys: &[RegKeySpec]) {
    std::fs::write(out, wormtrace_gen::regf::hive(keys)).unwrap();
}

fn infected_system() -> Vec<RegKeySpec> {
    vec![
        ("Select", vec![("Current", RegValue::Dword(1))]),
        (
            r"ControlSet001\Control\ComputerName\ComputerName",
            vec![("ComputerName", RegValue::Sz("WEB01"))],
        ),
        (
            r"ControlSet001\Services\W3SVC\Parameters\Virtual Roots",
            vec![
                ("/", RegValue::Sz(r"c:\inetpub\wwwroot,,201")),
                ("/Scripts", RegValue::Sz(r"c:\inetpub\scripts,,217")),
                (
                    "/MSADC",
                    RegValue::Sz(r"c:\program files\common files\system\msadc,,205"),
                ),
                ("/C", RegValue::Sz(r"c:\,,217")),
                ("/D", RegValue::Sz(r"d:\,,217")),
            ],
        ),
        // A stale control set that must not be read.
        (
            r"ControlSet002\Services\W3SVC\Parameters\Virtual Roots",
            vec![("/MSADC", RegValue::Sz(r"c:\x,,217"))],
        ),
    ]
}

fn software(sp: &'static str, sfc: u32) -> Vec<RegKeySpec> {
    vec![
        (
            r"Microsoft\Windows NT\CurrentVersion",
            vec![
                ("CurrentVersion", RegValue::Sz("5.0")),
                ("CSDVersion", RegValue::Sz(sp)),
            ],
        ),
        (
            r"Microsoft\Windows NT\CurrentVersion\Winlogon",
            vec![("SFCDisable", RegValue::Dword(sfc))],
        ),
    ]
}

fn volume(dir: &Path, name: &str, kind: Volume) -> PathBuf {
    let root = dir.join(name);
    write_tree(&root, &volume_files(kind)).unwrap();
    root
}

fn add_hives(root: &Path, system: &[RegKeySpec], software: &[RegKeySpec]) {
    let config = root.join("WINNT/system32/config");
    std::fs::create_dir_all(&config).unwrap();
    build_hive(&config.join("SYSTEM"), system);
    build_hive(&config.join("software"), software);
}

fn verdicts(records: &[Value]) -> Vec<&Value> {
    of_type(records, "verdict")
        .into_iter()
        .filter(|v| v["role"] == "host")
        .collect()
}

fn checks(records: &[Value]) -> Vec<String> {
    let mut c: Vec<String> = of_type(records, "finding")
        .iter()
        .map(|f| {
            format!(
                "{}/{}",
                f["check"].as_str().unwrap(),
                f["confidence"].as_str().unwrap()
            )
        })
        .collect();
    c.sort();
    c
}

#[test]
fn generated_pe_files_carry_their_version_and_link_time() {
    let pe = pe_with_version([5, 0, 2195, 3645], JUN_2001);
    let facts = wormtrace::host::pe_version::read_pe(&pe).expect("a PE file");
    assert_eq!(facts.version.unwrap().to_string(), "5.0.2195.3645");
    assert_eq!(facts.linked, JUN_2001);
}

#[test]
fn pe32_plus_files_and_every_cut_of_a_pe_file() {
    use wormtrace::host::pe_version::read_pe;
    let pe = pe_with_version([5, 0, 2195, 3645], JUN_2001);
    // The same image as PE32+: another magic, and data directories 16 bytes further on.
    let mut plus = pe.clone();
    let optional = 0x44 + 20;
    plus[optional..optional + 2].copy_from_slice(&0x20bu16.to_le_bytes());
    let resource = optional + 96 + 2 * 8;
    let entry: Vec<u8> = plus[resource..resource + 8].to_vec();
    plus[resource + 16..resource + 24].copy_from_slice(&entry);
    plus[resource..resource + 8].fill(0);
    let facts = read_pe(&plus).expect("a PE32+ file");
    assert_eq!(facts.version.unwrap().to_string(), "5.0.2195.3645");
    // A PE32 reading of the PE32+ layout finds no resource table: link time, no version.
    plus[optional..optional + 2].copy_from_slice(&0x10bu16.to_le_bytes());
    assert_eq!(read_pe(&plus).unwrap().version, None);
    // Cut before the end of its version resource, a file gives at most its link time; cut
    // after, the version. Never a panic.
    let signature = pe
        .windows(4)
        .position(|w| w == 0xfeef_04bdu32.to_le_bytes())
        .unwrap();
    let resource_end = signature + 52;
    for cut in 0..pe.len() {
        let facts = read_pe(&pe[..cut]);
        let version = facts.and_then(|f| f.version);
        assert_eq!(version.is_some(), cut >= resource_end, "cut at {cut}");
    }
    // A version resource whose signature is wrong is not read as a version.
    let mut unsigned = pe.clone();
    unsigned[signature] ^= 1;
    assert_eq!(read_pe(&unsigned).unwrap().version, None);
}

#[test]
fn infected_volume_with_hives_is_compromised() {
    let dir = tempfile::tempdir().unwrap();
    let root = volume(dir.path(), "c", Volume::Infected);
    add_hives(
        &root,
        &infected_system(),
        &software("Service Pack 2", 0xffff_ff9d),
    );
    let (code, records) = scan_jsonl(&[&root], &[]);
    assert_eq!(code, 1);
    let v = verdicts(&records);
    assert_eq!(v.len(), 1);
    assert_eq!(v[0]["subject"], "WEB01", "host named from ComputerName");
    assert_eq!(v[0]["verdict"], "compromised");
    assert_eq!(v[0]["host"]["disk"]["patch"]["state"], "unpatched");
    assert_eq!(v[0]["host"]["disk"]["patch"]["reason_code"], "idq-w2k-old");
    assert_eq!(v[0]["host"]["disk"]["patch"]["os_version"], "5.0");
    assert_eq!(
        checks(&records),
        vec![
            "root-exe/high",
            "root-exe/high",
            "root-explorer/high",
            "sfc-disable/high",
            "vroot-drive/high",
            "vroot-drive/high",
            "vroot-mask/high",
        ]
    );
    let finding = of_type(&records, "finding")
        .into_iter()
        .find(|f| f["check"] == "vroot-mask")
        .unwrap()
        .clone();
    assert_eq!(finding["evidence_kind"], "host");
    assert!(finding["location"]
        .as_str()
        .unwrap()
        .ends_with(r"ControlSet001\Services\W3SVC\Parameters\Virtual Roots\/Scripts"));
    assert!(!finding["why"].as_str().unwrap().is_empty());
    let inputs = of_type(&records, "input");
    let hive = inputs
        .iter()
        .find(|i| i["path"].as_str().unwrap().ends_with("SYSTEM"))
        .unwrap();
    assert_eq!(hive["sha256"].as_str().unwrap().len(), 64);
    assert_eq!(
        hive["size"],
        std::fs::metadata(root.join("WINNT/system32/config/SYSTEM"))
            .unwrap()
            .len()
    );
}

#[test]
fn patched_unpatched_mitigated_and_not_iis() {
    let dir = tempfile::tempdir().unwrap();
    let patched = volume(dir.path(), "patched", Volume::Patched);
    let (code, records) = scan_jsonl(&[&patched], &[]);
    assert_eq!(
        (code, verdicts(&records)[0]["verdict"].clone()),
        (0, "patched".into())
    );
    assert!(checks(&records).is_empty());

    let exposed = volume(dir.path(), "exposed", Volume::Unpatched);
    let (code, records) = scan_jsonl(&[&exposed], &[]);
    assert_eq!(
        (code, verdicts(&records)[0]["verdict"].clone()),
        (1, "exposed".into())
    );
    assert_eq!(checks(&records), vec!["ms01-033-missing/medium"]);

    let mitigated = volume(dir.path(), "mitigated", Volume::Unpatched);
    let inetsrv = mitigated.join("WINNT/system32/inetsrv");
    std::fs::create_dir_all(&inetsrv).unwrap();
    write(
        &inetsrv,
        "MetaBase.xml",
        metabase_xml(false, false).as_bytes(),
    );
    let (_, records) = scan_jsonl(&[&mitigated], &[]);
    assert_eq!(verdicts(&records)[0]["verdict"], "mitigated");
    assert_eq!(
        verdicts(&records)[0]["host"]["disk"]["script_maps"],
        "removed"
    );

    write(
        &inetsrv,
        "MetaBase.xml",
        metabase_xml(true, true).as_bytes(),
    );
    let (_, records) = scan_jsonl(&[&mitigated], &[]);
    assert_eq!(verdicts(&records)[0]["verdict"], "compromised");
    assert_eq!(
        checks(&records),
        vec!["metabase-drive-vdir/high", "metabase-drive-vdir/high"]
    );

    // Patched but still mapped: the fix wins.
    let inetsrv = patched.join("WINNT/system32/inetsrv");
    std::fs::create_dir_all(&inetsrv).unwrap();
    write(
        &inetsrv,
        "MetaBase.xml",
        metabase_xml(true, false).as_bytes(),
    );
    let (code, records) = scan_jsonl(&[&patched], &[]);
    assert_eq!(
        (code, verdicts(&records)[0]["verdict"].clone()),
        (0, "patched".into())
    );
    assert_eq!(
        verdicts(&records)[0]["host"]["disk"]["script_maps"],
        "present"
    );

    // A D: volume alone, web content and no Windows folder: nothing settles the patch state.
    let d_only = dir.path().join("d-only");
    write_tree(
        &d_only,
        &[("Inetpub/wwwroot/index.htm".into(), b"ok".to_vec())],
    )
    .unwrap();
    let (code, records) = scan_jsonl(&[&d_only], &[]);
    assert_eq!(
        (code, verdicts(&records)[0]["verdict"].clone()),
        (0, "unknown".into())
    );
    let d_infected = volume(dir.path(), "d-infected", Volume::DataInfected);
    let (_, records) = scan_jsonl(&[&d_infected], &[]);
    assert_eq!(verdicts(&records)[0]["verdict"], "compromised");
    assert_eq!(
        checks(&records),
        vec!["root-exe/medium", "root-explorer/medium"]
    );

    let workstation = dir.path().join("ws");
    write_tree(
        &workstation,
        &[("WINNT/system32/cmd.exe".into(), b"x".to_vec())],
    )
    .unwrap();
    let system = vec![
        ("Select", vec![("Current", RegValue::Dword(1))]),
        (r"ControlSet001\Services\Tcpip", vec![]),
    ];
    add_hives(&workstation, &system, &software("Service Pack 2", 0));
    let (code, records) = scan_jsonl(&[&workstation], &[]);
    assert_eq!(
        (code, verdicts(&records)[0]["verdict"].clone()),
        (0, "not-iis".into())
    );
}

#[test]
fn nimda_traces() {
    let dir = tempfile::tempdir().unwrap();
    let root = volume(dir.path(), "n", Volume::Nimda);
    let (code, records) = scan_jsonl(&[&root], &[]);
    assert_eq!(code, 1);
    assert_eq!(verdicts(&records)[0]["verdict"], "compromised");
    assert_eq!(verdicts(&records)[0]["families"]["nimda"], 4);
    let summary = of_type(&records, "summary")[0];
    assert_eq!(
        (summary["hosts"].clone(), summary["host_findings"].clone()),
        (1.into(), 4.into())
    );
    assert_eq!(
        checks(&records),
        vec![
            "nimda-admin-dll/medium",
            "nimda-load-exe/medium",
            "nimda-readme-eml/medium",
            "nimda-system-ini/high"
        ]
    );
}

#[test]
fn c_and_d_of_one_server_give_one_verdict() {
    let dir = tempfile::tempdir().unwrap();
    let c = volume(dir.path(), "c", Volume::Patched);
    let d = volume(dir.path(), "d", Volume::DataInfected);
    let spec = format!("SRV={},{}", c.display(), d.display());
    let (code, records) = scan_jsonl(&[], &["--host", &spec]);
    assert_eq!(code, 1);
    let v = verdicts(&records);
    assert_eq!(v.len(), 1);
    assert_eq!(v[0]["subject"], "SRV");
    assert_eq!(v[0]["verdict"], "compromised");
    // root.exe on D: has the bytes of cmd.exe on C:.
    assert_eq!(
        checks(&records),
        vec!["root-exe/high", "root-explorer/high"]
    );
}

#[test]
fn odd_case_and_short_names() {
    let dir = tempfile::tempdir().unwrap();
    let root = volume(dir.path(), "odd", Volume::OddNames);
    let (_, records) = scan_jsonl(&[&root], &[]);
    assert_eq!(checks(&records), vec!["root-exe/high", "root-exe/high"]);
}

#[cfg(unix)]
#[test]
fn links_are_not_followed_and_loops_end() {
    let dir = tempfile::tempdir().unwrap();
    let root = volume(dir.path(), "loops", Volume::Patched);
    std::os::unix::fs::symlink("..", root.join("Inetpub/wwwroot/loop")).unwrap();
    std::os::unix::fs::symlink("/", root.join("Program Files")).unwrap();
    // A copy of cmd.exe reachable only through a link out of the tree.
    let outside = dir.path().join("outside");
    write_tree(
        &outside,
        &[("scripts/root.exe".into(), wormtrace_gen::host::cmd_exe())],
    )
    .unwrap();
    std::fs::remove_dir_all(root.join("Inetpub/scripts")).unwrap();
    std::os::unix::fs::symlink(outside.join("scripts"), root.join("Inetpub/scripts")).unwrap();
    let (code, records) = scan_jsonl(&[&root], &["--deep"]);
    assert!(checks(&records).is_empty(), "nothing found through links");
    let problems = of_type(&records, "problem");
    assert!(problems
        .iter()
        .any(|p| p["reason"].as_str().unwrap().contains("not followed")));
    assert_eq!(code, 2, "an unfollowed link is reported as unread evidence");
}

#[test]
fn deep_walk_finds_other_copies_of_cmd_exe() {
    let dir = tempfile::tempdir().unwrap();
    let root = volume(dir.path(), "deep", Volume::Patched);
    write_tree(
        &root,
        &[(
            "Inetpub/wwwroot/x/tools/run.exe".into(),
            wormtrace_gen::host::cmd_exe(),
        )],
    )
    .unwrap();
    let (_, records) = scan_jsonl(&[&root], &[]);
    assert!(
        checks(&records).is_empty(),
        "without --deep only known places"
    );
    let (_, records) = scan_jsonl(&[&root], &["--deep"]);
    assert_eq!(checks(&records), vec!["root-exe/high"]);
}

#[test]
fn reg_exports_in_both_encodings() {
    let dir = tempfile::tempdir().unwrap();
    let case = dir.path().join("web02");
    std::fs::create_dir(&case).unwrap();
    let vroots: Vec<RegKeySpec> = vec![(
        r"SYSTEM\CurrentControlSet\Services\W3SVC\Parameters\Virtual Roots",
        vec![
            ("/C", RegValue::Sz(r"c:\,,217")),
            ("/Scripts", RegValue::Sz(r"c:\inetpub\scripts,,217")),
        ],
    )];
    let winlogon: Vec<RegKeySpec> = vec![(
        r"SOFTWARE\Microsoft\Windows NT\CurrentVersion\Winlogon",
        vec![("SFCDisable", RegValue::Dword(0xffff_ff9d))],
    )];
    let v5 = write(&case, "w3svc.reg", &reg_export(true, &vroots));
    let v4 = write(&case, "winlogon.reg", &reg_export(false, &winlogon));
    let (code, records) = scan_jsonl(&[&v5, &v4], &[]);
    assert_eq!(code, 1);
    let v = verdicts(&records);
    assert_eq!(v.len(), 1, "exports in one folder are one host");
    assert_eq!(v[0]["subject"], "web02");
    assert_eq!(
        checks(&records),
        vec!["sfc-disable/high", "vroot-drive/high", "vroot-mask/high"]
    );

    let hotfix: Vec<RegKeySpec> = vec![
        (
            r"SOFTWARE\Microsoft\Windows NT\CurrentVersion",
            vec![
                ("CurrentVersion", RegValue::Sz("5.0")),
                ("CSDVersion", RegValue::Sz("Service Pack 2")),
            ],
        ),
        (
            r"SOFTWARE\Microsoft\Updates\Windows 2000\SP3\Q300972",
            vec![("Description", RegValue::Sz("Q300972"))],
        ),
        (
            r"SYSTEM\CurrentControlSet\Services\W3SVC\Parameters",
            vec![],
        ),
    ];
    let fixed = write(dir.path(), "fixed.reg", &reg_export(true, &hotfix));
    let (code, records) = scan_jsonl(&[&fixed], &[]);
    assert_eq!(code, 0);
    assert_eq!(verdicts(&records)[0]["verdict"], "patched");
    assert_eq!(
        verdicts(&records)[0]["host"]["disk"]["patch"]["reason_code"],
        "patch-hotfix-key"
    );
}

#[test]
fn dir_listing_from_a_live_server() {
    let dir = tempfile::tempdir().unwrap();
    let listing = write(dir.path(), "web03-dir.txt", infected_listing().as_bytes());
    let (code, records) = scan_jsonl(&[&listing], &[]);
    assert_eq!(code, 1);
    assert_eq!(verdicts(&records)[0]["verdict"], "compromised");
    assert_eq!(
        checks(&records),
        vec!["root-exe/medium", "root-exe/medium", "root-explorer/medium"]
    );
    let f = &of_type(&records, "finding")[0];
    assert!(f["path"].as_str().unwrap().contains("web03-dir.txt:"));
}

#[test]
fn nt4_idq_date_trap() {
    let dir = tempfile::tempdir().unwrap();
    for (name, linked, state) in [("jan", JAN_2001, "unpatched"), ("jun", JUN_2001, "patched")] {
        let root = volume(dir.path(), name, Volume::Patched);
        write(
            &root.join("WINNT/system32"),
            "idq.dll",
            &pe_with_version([5, 0, 1781, 3], linked),
        );
        let (_, records) = scan_jsonl(&[&root], &[]);
        assert_eq!(
            verdicts(&records)[0]["host"]["disk"]["patch"]["state"],
            state,
            "{name}"
        );
    }
}

#[test]
fn binary_metabase_is_named_not_parsed() {
    let dir = tempfile::tempdir().unwrap();
    let root = volume(dir.path(), "iis5", Volume::Patched);
    write(
        &root.join("WINNT/system32"),
        "inetsrv/MetaBase.bin".replace('/', "_").as_str(),
        b"",
    );
    std::fs::create_dir_all(root.join("WINNT/system32/inetsrv")).unwrap();
    write(
        &root.join("WINNT/system32/inetsrv"),
        "MetaBase.bin",
        b"\x01\x02binary",
    );
    let (_, records) = scan_jsonl(&[&root], &[]);
    let not_parsed = verdicts(&records)[0]["host"]["disk"]["not_parsed"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(not_parsed.len(), 1);
}

#[test]
fn sweeping_changes_no_timestamp() {
    let dir = tempfile::tempdir().unwrap();
    let root = volume(dir.path(), "ro", Volume::Infected);
    let probe = [
        root.join("Inetpub/scripts/root.exe"),
        root.join("Inetpub/scripts"),
        root.join("WINNT/system32/idq.dll"),
    ];
    let times = |p: &Path| {
        let m = std::fs::metadata(p).unwrap();
        (m.accessed().unwrap(), m.modified().unwrap())
    };
    // Age the access times so that relatime would update them on a read.
    for p in &probe {
        let old = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(997_000_000);
        let f = std::fs::File::open(p).unwrap();
        f.set_times(
            std::fs::FileTimes::new()
                .set_accessed(old)
                .set_modified(old),
        )
        .unwrap();
    }
    let before: Vec<_> = probe.iter().map(|p| times(p)).collect();
    let (code, _) = scan_jsonl(&[&root], &["--deep"]);
    assert_eq!(code, 1);
    let after: Vec<_> = probe.iter().map(|p| times(p)).collect();
    assert_eq!(before, after);
}

#[test]
fn summary_in_japanese_with_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let root = volume(dir.path(), "c", Volume::Infected);
    let out = wormtrace(&["scan", "--lang", "ja", &root.display().to_string()]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("侵害"), "{text}");
    assert!(text.contains("ネットワークから外して"), "{text}");
    assert!(text.contains("スクリプト フォルダーの root.exe"), "{text}");
    let out = wormtrace(&[
        "scan",
        "--lang",
        "en",
        &volume(dir.path(), "p", Volume::Patched)
            .display()
            .to_string(),
    ]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("No worm traces on the one host"), "{text}");
}

#[test]
fn hives_and_exports_copied_off_compressed() {
    let dir = tempfile::tempdir().unwrap();
    let case = dir.path().join("web01");
    std::fs::create_dir(&case).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, &wormtrace_gen::regf::hive(&infected_system())).unwrap();
    let hive = write(&case, "SYSTEM.gz", &gz.finish().unwrap());
    let winlogon: Vec<RegKeySpec> = vec![(
        r"SOFTWARE\Microsoft\Windows NT\CurrentVersion\Winlogon",
        vec![("SFCDisable", RegValue::Dword(0xffff_ff9d))],
    )];
    let export = zstd::encode_all(&reg_export(true, &winlogon)[..], 3).unwrap();
    let export = write(&case, "winlogon.reg.zst", &export);
    let (code, records) = scan_jsonl(&[&hive, &export], &[]);
    assert_eq!(code, 1);
    let v = verdicts(&records);
    assert_eq!(v.len(), 1, "one host: {records:?}");
    assert_eq!(v[0]["subject"], "WEB01", "named from the gzipped hive");
    let found = checks(&records);
    assert!(found.contains(&"vroot-mask/high".to_string()), "{found:?}");
    assert!(found.contains(&"sfc-disable/high".to_string()), "{found:?}");
}
