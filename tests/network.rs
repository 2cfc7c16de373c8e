//! Network evidence on generated captures and connection tables: every capture layout and
//! link type, IPv6, TCP reassembly cases, SYN scans with both target-picking models, the
//! netstat dialects, and the verdicts.

mod common;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;

use common::{host_verdict, of_type, scan_jsonl, scans, wormtrace, write};
use serde_json::Value;
use wormtrace_gen::net::{
    benign_request, by_time, code_red_request, http_exchange, netstat_table, nimda_request,
    packets, pick_target, scan_syns, write_capture, Delivery, Layout, Link, Packet, Picking,
    TableDialect,
};
use wormtrace_gen::requests::Rng;

/// The built-in spreading correlation (`rules/port_80_scan.yml`): scan findings carry its id.
const SPREADING_RULE_ID: &str = "ed30bcea-72ed-45ed-a762-c8d96ff1b0be";

const LAYOUTS: [Layout; 6] = [
    Layout::Pcap {
        big_endian: false,
        nanos: false,
    },
    Layout::Pcap {
        big_endian: true,
        nanos: false,
    },
    Layout::Pcap {
        big_endian: false,
        nanos: true,
    },
    Layout::Pcap {
        big_endian: true,
        nanos: true,
    },
    Layout::PcapNg {
        big_endian: false,
        nanos: false,
    },
    Layout::PcapNg {
        big_endian: true,
        nanos: true,
    },
];

const LINKS: [Link; 5] = [
    Link::Ethernet,
    Link::Vlan(42),
    Link::Sll,
    Link::Sll2,
    Link::Raw,
];

fn sock(text: &str) -> SocketAddr {
    text.parse().unwrap()
}

fn code_red_ii_exchange(
    client: &str,
    server: &str,
    delivery: Delivery,
    t0: u32,
) -> Vec<(u32, Vec<u8>)> {
    let request = code_red_request('X', "www.example.test");
    http_exchange(sock(client), sock(server), &request, delivery, t0)
}

fn capture_file(dir: &Path, name: &str, layout: Layout, packets: &[Packet]) -> std::path::PathBuf {
    write(dir, name, &write_capture(layout, packets))
}

fn findings(records: &[Value]) -> Vec<&Value> {
    of_type(records, "finding")
}

#[test]
fn every_layout_and_link_type_gives_the_code_red_ii_finding() {
    let dir = tempfile::tempdir().unwrap();
    for (li, layout) in LAYOUTS.iter().enumerate() {
        for (ki, link) in LINKS.iter().enumerate() {
            let timed =
                code_red_ii_exchange("10.1.2.3:1025", "192.0.2.80:80", Delivery::default(), 5);
            let path = capture_file(
                dir.path(),
                &format!("c{li}-{ki}.cap"),
                *layout,
                &packets(timed, *link, 0),
            );
            let (code, records) = scan_jsonl(&[&path], &[]);
            let f = findings(&records);
            assert_eq!(code, 1, "{layout:?} {link:?}");
            assert_eq!(f.len(), 1, "{layout:?} {link:?}: {records:?}");
            let f = f[0];
            assert_eq!(f["family"], "code-red-ii");
            assert_eq!(f["evidence_kind"], "network");
            assert_eq!(f["client_ip"], "10.1.2.3");
            assert_eq!(f["client_port"], 1025);
            assert_eq!(f["server"], "192.0.2.80");
            assert_eq!(f["server_port"], 80);
            assert_eq!(f["line"], 4, "the frame of the request's first byte");
            assert_eq!(f["frame"], 4);
            assert_eq!(f["flow"], "10.1.2.3:1025 -> 192.0.2.80:80");
            assert_eq!(f["time"], "2001-08-05T08:26:45Z");
            assert_eq!(f["status"], "404", "from the server's answer");
            assert_eq!(f["exposure"], "no-mapping");
            let format = if matches!(layout, Layout::Pcap { .. }) {
                "pcap"
            } else {
                "pcapng"
            };
            assert_eq!(f["format"], format);
            let input = &of_type(&records, "input")[0];
            assert_eq!(input["format"], format);
            assert_eq!(input["lines"], 7, "frames");
        }
    }
}

#[test]
fn ipv6_with_vlan_and_sll2() {
    let dir = tempfile::tempdir().unwrap();
    for link in [
        Link::Vlan(7),
        Link::QinQ(5, 7),
        Link::Sll,
        Link::Sll2,
        Link::Raw,
        Link::Null,
    ] {
        let timed = code_red_ii_exchange(
            "[2001:db8::10]:1044",
            "[2001:db8:1::80]:80",
            Delivery::default(),
            0,
        );
        let path = capture_file(dir.path(), "v6.pcap", LAYOUTS[0], &packets(timed, link, 0));
        let (_, records) = scan_jsonl(&[&path], &[]);
        let f = findings(&records);
        assert_eq!(f.len(), 1, "{link:?}");
        assert_eq!(f[0]["client_ip"], "2001:db8::10");
        assert_eq!(f[0]["flow"], "[2001:db8::10]:1044 -> [2001:db8:1::80]:80");
    }
}

#[test]
fn reassembly_cases_all_give_one_finding_per_request() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        Delivery {
            segments: 1,
            ..Delivery::default()
        },
        Delivery {
            segments: 3,
            ..Delivery::default()
        },
        Delivery {
            segments: 40,
            ..Delivery::default()
        },
        Delivery {
            segments: 3,
            reorder: true,
            ..Delivery::default()
        },
        Delivery {
            segments: 40,
            reorder: true,
            retransmit: true,
            ..Delivery::default()
        },
        Delivery {
            segments: 5,
            overlap: true,
            ..Delivery::default()
        },
        Delivery {
            segments: 7,
            overlap: true,
            reorder: true,
            retransmit: true,
            ..Delivery::default()
        },
        Delivery {
            segments: 1,
            no_handshake: true,
            ..Delivery::default()
        },
        Delivery {
            segments: 4,
            no_handshake: true,
            ..Delivery::default()
        },
    ];
    for (i, delivery) in cases.iter().enumerate() {
        let timed = code_red_ii_exchange("10.1.2.3:2000", "192.0.2.80:80", *delivery, 1);
        let path = capture_file(
            dir.path(),
            &format!("r{i}.pcapng"),
            LAYOUTS[4],
            &packets(timed, Link::Ethernet, 0),
        );
        let (_, records) = scan_jsonl(&[&path], &[]);
        let f = findings(&records);
        assert_eq!(f.len(), 1, "{delivery:?}: {f:?}");
        assert_eq!(f[0]["family"], "code-red-ii", "{delivery:?}");
        let uri = f[0]["uri"].as_str().unwrap();
        assert_eq!(
            uri.len(),
            "/default.ida?".len() + 362,
            "{delivery:?}: the whole query"
        );
    }
}

#[test]
fn many_flows_interleaved_over_several_pcapng_interfaces() {
    let dir = tempfile::tempdir().unwrap();
    let mut all = Vec::new();
    for i in 0..16u16 {
        let client = format!("10.1.0.{}:{}", i + 1, 3000 + i);
        let request = nimda_request(i as usize, "www");
        let delivery = Delivery {
            segments: 3,
            ..Delivery::default()
        };
        let timed = http_exchange(sock(&client), sock("192.0.2.80:80"), &request, delivery, 2);
        let link = if i % 2 == 0 {
            Link::Ethernet
        } else {
            Link::Sll
        };
        all.extend(packets(timed, link, (i % 2) as usize));
    }
    let code_red = code_red_request('N', "www");
    let timed = http_exchange(
        sock("198.51.100.9:4000"),
        sock("192.0.2.80:80"),
        &code_red,
        Delivery {
            segments: 2,
            ..Delivery::default()
        },
        2,
    );
    all.extend(packets(timed, Link::Raw, 2));
    let path = capture_file(dir.path(), "multi.pcapng", LAYOUTS[4], &by_time(all));
    let (_, records) = scan_jsonl(&[&path], &[]);
    let f = findings(&records);
    let count = |family: &str| f.iter().filter(|x| x["family"] == family).count();
    assert_eq!(count("nimda"), 16, "{f:?}");
    assert_eq!(count("code-red"), 1);
    let verdicts = of_type(&records, "verdict");
    let source = verdicts
        .iter()
        .find(|v| v["subject"] == "198.51.100.9")
        .unwrap();
    assert_eq!(source["role"], "source");
}

#[test]
fn benign_traffic_alone_gives_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut all = Vec::new();
    for (i, page) in ["/", "/index.htm", "/images/logo.gif"].iter().enumerate() {
        let client = format!("192.168.1.{}:5000", i + 10);
        let timed = http_exchange(
            sock(&client),
            sock("192.0.2.80:80"),
            &benign_request(page, "www"),
            Delivery::default(),
            i as u32,
        );
        all.extend(packets(timed, Link::Ethernet, 0));
    }
    let path = capture_file(dir.path(), "benign.pcap", LAYOUTS[0], &by_time(all));
    let (code, records) = scan_jsonl(&[&path], &[]);
    assert_eq!(code, 0);
    assert!(findings(&records).is_empty());
    assert!(of_type(&records, "verdict").is_empty());
}

fn syn_scan(picking: Picking, source: Ipv4Addr, count: usize, seed: u64) -> Vec<Packet> {
    let mut rng = Rng(seed);
    packets(
        scan_syns(&mut rng, source, picking, count, 50, 10),
        Link::Ethernet,
        0,
    )
}

#[test]
fn syn_scans_are_spreading_and_the_locality_names_the_model() {
    let dir = tempfile::tempdir().unwrap();
    let mut all = syn_scan(Picking::CodeRedII, Ipv4Addr::new(10, 1, 2, 3), 3000, 7);
    all.extend(syn_scan(
        Picking::Uniform,
        Ipv4Addr::new(10, 9, 8, 7),
        3000,
        8,
    ));
    // A normal client: a few sites, never a scan.
    for i in 0..5u8 {
        let server = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, i + 1)), 80);
        let timed = http_exchange(
            sock("10.1.2.50:6000"),
            server,
            &benign_request("/", "x"),
            Delivery::default(),
            20 + u32::from(i),
        );
        all.extend(packets(timed, Link::Ethernet, 0));
    }
    let path = capture_file(dir.path(), "scan.pcap", LAYOUTS[0], &by_time(all));
    let (code, records) = scan_jsonl(&[&path], &["--spread-window", "60"]);
    assert_eq!(code, 1);
    let verdicts = scans(&records);
    assert_eq!(
        verdicts.len(),
        2,
        "the normal client gets no verdict: {verdicts:?}"
    );
    let crii = verdicts
        .iter()
        .find(|v| v["address"] == "10.1.2.3")
        .unwrap();
    assert_eq!(crii["spreading"], true);
    assert_eq!(host_verdict(&records, "10.1.2.3")["verdict"], "spreading");
    assert_eq!(crii["likely_family"], "code-red-ii");
    assert_eq!(crii["fit"]["best"], "code-red-ii");
    assert_eq!(crii["fit"]["code_red_ii"]["fits"], true);
    assert_eq!(crii["window"]["seconds"], 60);
    let peak = crii["window"]["distinct_targets"].as_u64().unwrap();
    assert!((2900..=3000).contains(&peak), "50 SYN/s for 60 s: {peak}");
    let uniform = verdicts
        .iter()
        .find(|v| v["address"] == "10.9.8.7")
        .unwrap();
    assert_eq!(uniform["likely_family"], "code-red");
    assert_eq!(uniform["fit"]["best"], "uniform");
    let scan_findings: Vec<&Value> = findings(&records)
        .into_iter()
        .filter(|f| f["rule_id"] == SPREADING_RULE_ID)
        .collect();
    assert_eq!(scan_findings.len(), 2);
    assert_eq!(scan_findings[0]["confidence"], "high");
    assert_eq!(scan_findings[0]["level"], "high");
}

#[test]
fn a_slow_scan_below_the_window_threshold_is_not_spreading() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = Rng(3);
    // 40 targets, one every 30 s: never 25 in a 5-minute window.
    let slow = packets(
        scan_syns(
            &mut rng,
            Ipv4Addr::new(10, 1, 2, 3),
            Picking::CodeRedII,
            40,
            1,
            0,
        ),
        Link::Ethernet,
        0,
    );
    let spaced: Vec<Packet> = slow
        .into_iter()
        .enumerate()
        .map(|(i, mut p)| {
            p.secs += i as u32 * 30;
            p
        })
        .collect();
    let path = capture_file(dir.path(), "slow.pcap", LAYOUTS[0], &spaced);
    let (code, records) = scan_jsonl(&[&path], &[]);
    assert_eq!(code, 0);
    assert!(of_type(&records, "verdict").is_empty());
}

#[test]
fn a_truncated_capture_keeps_what_came_before() {
    let dir = tempfile::tempdir().unwrap();
    let mut all = packets(
        code_red_ii_exchange("10.1.2.3:1025", "192.0.2.80:80", Delivery::default(), 0),
        Link::Ethernet,
        0,
    );
    all.extend(packets(
        code_red_ii_exchange("10.1.2.4:1025", "192.0.2.80:80", Delivery::default(), 5),
        Link::Ethernet,
        0,
    ));
    let mut bytes = write_capture(LAYOUTS[0], &all);
    bytes.truncate(bytes.len() - 30);
    let path = write(dir.path(), "cut.pcap", &bytes);
    let (code, records) = scan_jsonl(&[&path], &[]);
    assert_eq!(code, 1);
    assert_eq!(
        findings(&records).len(),
        2,
        "the second request's head was complete"
    );
    let problems = of_type(&records, "problem");
    assert!(
        problems[0]["reason"]
            .as_str()
            .unwrap()
            .contains("truncated"),
        "{problems:?}"
    );
}

#[test]
fn compressed_captures_and_thread_counts_give_the_same_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let timed = code_red_ii_exchange(
        "10.1.2.3:1025",
        "192.0.2.80:80",
        Delivery {
            segments: 3,
            ..Delivery::default()
        },
        0,
    );
    let bytes = write_capture(LAYOUTS[4], &packets(timed, Link::Ethernet, 0));
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, &bytes).unwrap();
    write(dir.path(), "a.pcapng.gz", &gz.finish().unwrap());
    let scan = syn_scan(Picking::CodeRedII, Ipv4Addr::new(10, 1, 2, 3), 500, 1);
    capture_file(dir.path(), "b.pcap", LAYOUTS[1], &scan);
    let d = dir.path().display().to_string();
    let one = wormtrace(&["scan", "--format", "jsonl", "-q", "-j", "1", &d]);
    let two = wormtrace(&["scan", "--format", "jsonl", "-q", "-j", "2", &d]);
    assert_eq!(one.stdout, two.stdout);
    let text = String::from_utf8(one.stdout).unwrap();
    assert!(text.contains(SPREADING_RULE_ID));
    assert!(
        text.contains("\"compression\":\"gzip\",\"format\":\"pcapng\""),
        "{text}"
    );
}

fn crii_targets(source: Ipv4Addr, n: usize) -> Vec<IpAddr> {
    let mut rng = Rng(11);
    let mut seen = std::collections::BTreeSet::new();
    while seen.len() < n {
        seen.insert(IpAddr::V4(pick_target(
            &mut rng,
            source,
            Picking::CodeRedII,
        )));
    }
    seen.into_iter().collect()
}

#[test]
fn every_netstat_dialect_gives_the_spreading_verdict_and_ignores_inbound() {
    let dir = tempfile::tempdir().unwrap();
    let local: IpAddr = "10.1.2.3".parse().unwrap();
    let targets = crii_targets(Ipv4Addr::new(10, 1, 2, 3), 40);
    let inbound: Vec<IpAddr> = (1..=30)
        .map(|i| IpAddr::V4(Ipv4Addr::new(192, 0, 2, i)))
        .collect();
    let dialects = [
        (TableDialect::WindowsEn, "netstat-windows"),
        (TableDialect::WindowsJa, "netstat-windows"),
        (TableDialect::Linux, "netstat-linux"),
        (TableDialect::Ss, "ss"),
        (TableDialect::Bsd, "netstat-bsd"),
    ];
    for (dialect, kind) in dialects {
        let text = netstat_table(dialect, local, &targets, &inbound);
        let path = write(dir.path(), "web01.netstat.txt", text.as_bytes());
        let (code, records) = scan_jsonl(&[&path], &[]);
        assert_eq!(code, 1, "{dialect:?}");
        assert_eq!(of_type(&records, "input")[0]["format"], kind);
        let verdicts = of_type(&records, "verdict");
        assert_eq!(verdicts.len(), 1, "{dialect:?}: {verdicts:?}");
        assert_eq!(verdicts[0]["subject"], "web01");
        assert_eq!(verdicts[0]["verdict"], "spreading");
        let v = scans(&records);
        assert_eq!(v[0]["host"], "web01");
        assert_eq!(v[0]["address"], "10.1.2.3");
        assert_eq!(v[0]["spreading"], true);
        assert_eq!(
            v[0]["distinct_targets"], 40,
            "{dialect:?}: inbound :80 clients never count"
        );
        assert_eq!(v[0]["states"]["SYN_SENT"], 32);
        assert_eq!(v[0]["states"]["ESTABLISHED"], 8);
    }
}

#[test]
fn japanese_tables_in_cp932_and_utf16_and_named_hosts() {
    let dir = tempfile::tempdir().unwrap();
    let local: IpAddr = "10.1.2.3".parse().unwrap();
    let targets = crii_targets(Ipv4Addr::new(10, 1, 2, 3), 30);
    let text = netstat_table(TableDialect::WindowsJa, local, &targets, &[]);
    let (cp932, _, _) = encoding_rs::SHIFT_JIS.encode(&text);
    let a = write(dir.path(), "a.txt", &cp932);
    let utf16: Vec<u8> = [0xff, 0xfe]
        .into_iter()
        .chain(text.encode_utf16().flat_map(u16::to_le_bytes))
        .collect();
    let b = write(dir.path(), "b.txt", &utf16);
    let arg = format!("web09={}", b.display());
    let (code, records) = scan_jsonl(&[&a], &["--host", &arg]);
    assert_eq!(code, 1);
    let v = scans(&records);
    let hosts: Vec<&str> = v.iter().map(|v| v["host"].as_str().unwrap()).collect();
    assert_eq!(hosts, ["a", "web09"]);
    assert!(v.iter().all(|v| v["distinct_targets"] == 30));
}

/// `db01.txt`: a Linux table of 192.168.10.5 with 10 outbound port-80 targets.
fn quiet_table(dir: &Path) -> std::path::PathBuf {
    let local: IpAddr = "192.168.10.5".parse().unwrap();
    let targets = crii_targets(Ipv4Addr::new(192, 168, 10, 5), 10);
    let text = netstat_table(TableDialect::Linux, local, &targets, &[]);
    write(dir, "db01.txt", text.as_bytes())
}

#[test]
fn a_quiet_table_is_not_spreading_and_the_threshold_is_configurable() {
    let dir = tempfile::tempdir().unwrap();
    let path = quiet_table(dir.path());
    let (code, records) = scan_jsonl(&[&path], &[]);
    assert_eq!(code, 0);
    assert_eq!(host_verdict(&records, "db01")["verdict"], "clean");
    let v = scans(&records);
    assert_eq!(v[0]["spreading"], false);
    assert!(v[0]["fit"].is_null(), "too few targets for a fit");
    let (code, records) = scan_jsonl(&[&path], &["--spread-threshold", "10"]);
    assert_eq!(code, 1);
    assert_eq!(scans(&records)[0]["spreading"], true);
}

#[test]
fn locality_fit_on_tables_separates_the_models() {
    let dir = tempfile::tempdir().unwrap();
    let local = Ipv4Addr::new(10, 1, 2, 3);
    let crii = crii_targets(local, 400);
    let mut rng = Rng(5);
    let mut uniform = std::collections::BTreeSet::new();
    while uniform.len() < 400 {
        uniform.insert(IpAddr::V4(pick_target(&mut rng, local, Picking::Uniform)));
    }
    let uniform: Vec<IpAddr> = uniform.into_iter().collect();
    for (targets, best) in [(crii, "code-red-ii"), (uniform, "uniform")] {
        let text = netstat_table(TableDialect::WindowsEn, IpAddr::V4(local), &targets, &[]);
        let path = write(dir.path(), "h.txt", text.as_bytes());
        let (_, records) = scan_jsonl(&[&path], &[]);
        let v = scans(&records);
        assert_eq!(v[0]["fit"]["best"], best);
        assert!(
            v[0]["fit"]["log10_likelihood_ratio"]
                .as_f64()
                .unwrap()
                .abs()
                > 10.0
        );
    }
}

#[test]
fn summary_names_the_spreading_host_in_japanese() {
    let dir = tempfile::tempdir().unwrap();
    let targets = crii_targets(Ipv4Addr::new(10, 1, 2, 3), 40);
    let text = netstat_table(
        TableDialect::WindowsEn,
        "10.1.2.3".parse().unwrap(),
        &targets,
        &[],
    );
    let path = write(dir.path(), "web01.txt", text.as_bytes());
    let out = wormtrace(&["scan", "--lang", "ja", &path.display().to_string()]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("拡散中"), "{text}");
    assert!(
        text.contains("web01") && text.contains("code-red-ii"),
        "{text}"
    );
    assert!(
        text.contains("ポート 80 の宛先 40 件"),
        "figures in Japanese: {text}"
    );
}

#[test]
fn damaged_stamps_and_garbage_after_the_header_never_panic() {
    let dir = tempfile::tempdir().unwrap();
    let timed = code_red_ii_exchange("10.1.2.3:1025", "192.0.2.80:80", Delivery::default(), 0);
    let mut bytes = write_capture(LAYOUTS[0], &packets(timed, Link::Ethernet, 0));
    // The first record's sub-second stamp (bytes 28..32) at its maximum.
    bytes[28..32].copy_from_slice(&u32::MAX.to_le_bytes());
    let path = write(dir.path(), "stamp.pcap", &bytes);
    let (code, records) = scan_jsonl(&[&path], &[]);
    assert_eq!(code, 1);
    assert_eq!(findings(&records).len(), 1);
    let mut garbage = bytes[..24].to_vec();
    garbage.extend((0..4096u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8));
    let path = write(dir.path(), "garbage.pcap", &garbage);
    let (code, records) = scan_jsonl(&[&path], &[]);
    assert_eq!(code, 2, "a damaged capture is an error: {records:?}");
    assert_eq!(of_type(&records, "problem").len(), 1);
}

#[test]
fn a_server_that_never_answers_leaves_the_exposure_unknown() {
    let dir = tempfile::tempdir().unwrap();
    let mut timed = code_red_ii_exchange("10.1.2.3:1025", "192.0.2.80:80", Delivery::default(), 0);
    // Handshake (3), the request (1), then the answer: drop it, as a hijacked server sends none.
    timed.remove(4);
    let path = capture_file(
        dir.path(),
        "silent.pcap",
        LAYOUTS[0],
        &packets(timed, Link::Ethernet, 0),
    );
    let (_, records) = scan_jsonl(&[&path], &[]);
    let f = findings(&records);
    assert_eq!(f.len(), 1);
    assert!(f[0]["status"].is_null());
    assert_eq!(f[0]["exposure"], "unknown");
    let target = host_verdict(&records, "192.0.2.80");
    assert_eq!(target["verdict"], "exposed");
    assert_eq!(target["host"]["served"]["exposure"]["unknown"], 1);
}

#[test]
fn a_table_on_standard_input_takes_its_host_name_from_the_flag() {
    use std::io::Write;
    let targets = crii_targets(Ipv4Addr::new(10, 1, 2, 3), 30);
    let text = netstat_table(TableDialect::Ss, "10.1.2.3".parse().unwrap(), &targets, &[]);
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_wormtrace"))
        .args(["scan", "--format", "jsonl", "-q", "--host", "web07=-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    let records: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let web07 = host_verdict(&records, "web07");
    assert_eq!(web07["verdict"], "spreading");
    assert_eq!(web07["host"]["addresses"][0], "10.1.2.3");
}

#[test]
fn csv_rows_of_a_capture_carry_the_flow() {
    let dir = tempfile::tempdir().unwrap();
    let timed = code_red_ii_exchange("10.1.2.3:1025", "192.0.2.80:80", Delivery::default(), 0);
    let path = capture_file(
        dir.path(),
        "c.pcap",
        LAYOUTS[0],
        &packets(timed, Link::Ethernet, 0),
    );
    let out = wormtrace(&["scan", "--format", "csv", "-q", &path.display().to_string()]);
    let text = String::from_utf8(out.stdout).unwrap();
    let mut rows = csv::Reader::from_reader(text.as_bytes());
    let header: Vec<String> = rows.headers().unwrap().iter().map(str::to_string).collect();
    assert_eq!(
        &header[17..],
        [
            "evidence_kind",
            "client_port",
            "server_port",
            "flow",
            "peer_ip",
            "forwarded_for",
            "id"
        ]
    );
    let row = rows.records().next().unwrap().unwrap();
    let tail: Vec<&str> = row.iter().skip(17).collect();
    assert_eq!(
        tail,
        [
            "network",
            "1025",
            "80",
            "10.1.2.3:1025 -> 192.0.2.80:80",
            "",
            "",
            "1"
        ]
    );
    assert!(
        text.lines()
            .nth(1)
            .unwrap()
            .ends_with(r#","network","1025","80","10.1.2.3:1025 -> 192.0.2.80:80","","","1""#),
        "every cell quoted"
    );
}

#[test]
fn a_time_window_applies_to_capture_requests() {
    let dir = tempfile::tempdir().unwrap();
    // The generator's packets start at 2001-08-05T08:26:40Z; this request goes at 08:26:45.
    let timed = code_red_ii_exchange("10.1.2.3:1025", "192.0.2.80:80", Delivery::default(), 5);
    let path = capture_file(
        dir.path(),
        "w.pcap",
        LAYOUTS[0],
        &packets(timed, Link::Ethernet, 0),
    );
    let (code, records) = scan_jsonl(&[&path], &["--since", "2001-08-05T08:26:46Z"]);
    assert_eq!((code, findings(&records).len()), (0, 0), "{records:?}");
    assert_eq!(of_type(&records, "input")[0]["lines_outside_window"], 1);
    let (code, records) = scan_jsonl(&[&path], &["--until", "2001-08-05"]);
    assert_eq!((code, findings(&records).len()), (1, 1));
    assert_eq!(of_type(&records, "input")[0]["lines_outside_window"], 0);
}

/// A spreading correlation of one's own: 5 targets in 10 minutes (`--no-builtin`, so it is
/// the only one loaded).
const OWN_SPREADING: &str = "title: Five web servers
id: 6f1c2a53-9d0e-4f57-a3c1-2b8e4d7f9a10
correlation:
    type: value_count
    rules: [web_out]
    group-by: [SourceIp]
    timespan: 10m
    condition:
        field: DestinationIp
        gte: 5
level: medium
---
title: Web connection opened
id: 0b9e7d21-4c3a-4e8f-9d6b-7a1c5e2f3b48
name: web_out
logsource:
    category: network_connection
detection:
    selection:
        Initiated: 'true'
        DestinationPort: 80
    condition: selection
level: informational
";

#[test]
fn the_spreading_numbers_come_from_the_loaded_correlation() {
    let dir = tempfile::tempdir().unwrap();
    let table = quiet_table(dir.path());
    let rules = dir.path().join("rules");
    std::fs::create_dir(&rules).unwrap();
    write(&rules, "five.yml", OWN_SPREADING.as_bytes());
    let rules_arg = rules.display().to_string();

    // Ten targets: under the built-in 25, over the folder's 5.
    let (code, records) = scan_jsonl(&[&table], &["--no-builtin", "--rules", &rules_arg]);
    assert_eq!(code, 1);
    assert_eq!(host_verdict(&records, "db01")["verdict"], "spreading");
    let v = scans(&records);
    assert_eq!(
        (v[0]["threshold"].as_u64(), v[0]["spreading"].as_bool()),
        (Some(5), Some(true))
    );
    let finding = &of_type(&records, "finding")[0];
    assert_eq!(finding["rule_id"], "6f1c2a53-9d0e-4f57-a3c1-2b8e4d7f9a10");
    assert_eq!(finding["level"], "medium");
    // The command line still stands over the rule.
    let (code, records) = scan_jsonl(
        &[&table],
        &[
            "--no-builtin",
            "--rules",
            &rules_arg,
            "--spread-threshold",
            "11",
        ],
    );
    assert_eq!(code, 0);
    assert_eq!(scans(&records)[0]["threshold"], 11);

    // Without a spreading correlation the table is read, not judged, and says so.
    std::fs::remove_file(rules.join("five.yml")).unwrap();
    write(
        &rules,
        "web.yml",
        OWN_SPREADING.split("---").nth(1).unwrap().as_bytes(),
    );
    let (code, records) = scan_jsonl(&[&table], &["--no-builtin", "--rules", &rules_arg]);
    assert_eq!(code, 2, "{records:?}");
    assert!(scans(&records).is_empty());
    let problems = of_type(&records, "problem");
    assert!(
        problems.iter().any(|p| p["severity"] == "skipped"
            && p["reason"]
                .as_str()
                .unwrap()
                .contains("no spreading correlation")),
        "{problems:?}"
    );
}
