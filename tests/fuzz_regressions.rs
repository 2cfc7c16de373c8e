//! Inputs the fuzz targets once found trouble with (`fuzz/regressions/<target>/`), and the
//! seeds every target starts from, replayed through the targets' own code
//! (`fuzz/src/bodies.rs`): none may panic, and each target's own checks must hold.

#[path = "../fuzz/src/bodies.rs"]
mod bodies;

use std::path::Path;

type Body = fn(&[u8]);

const TARGETS: [(&str, Body); 7] = [
    ("scan_input", bodies::scan_input),
    ("log_line", bodies::log_line),
    ("sigma_rule", bodies::sigma_rule),
    ("host_file", bodies::host_file),
    ("netstat", bodies::netstat),
    ("capture", bodies::capture),
    ("whole_gzip", bodies::whole_gzip),
];

fn replay(dir: &Path, body: Body) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let mut n = 0;
    for entry in entries.flatten() {
        let bytes = std::fs::read(entry.path()).unwrap();
        body(&bytes);
        n += 1;
    }
    n
}

#[test]
fn saved_crash_inputs_stay_fixed() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/regressions");
    let replayed: usize = TARGETS
        .iter()
        .map(|(name, body)| replay(&root.join(name), *body))
        .sum();
    assert!(replayed > 0, "fuzz/regressions holds the inputs to replay");
}

#[test]
fn every_target_takes_the_edge_cases_of_its_input() {
    let cases: [&[u8]; 8] = [
        b"",
        b"\n",
        b"\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0",
        b"\xff\xfe#\0F\0i\0e\0l\0d\0s\0:\0",
        b"\x1f\x8b\x08\x00\x00\x00\x00\x00",
        b"\xd4\xc3\xb2\xa1\x02\x00\x04\x00",
        b"regf\x01\x00\x00\x00",
        b"#Fields: date time c-ip cs-uri-stem\n2001-08-04 10:00:00 10.0.0.1 /default.ida\n",
    ];
    for (_, body) in TARGETS {
        for case in cases {
            body(case);
        }
    }
}
