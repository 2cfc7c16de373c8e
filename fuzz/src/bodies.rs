//! What each fuzz target does with its bytes. Shared by the targets in `fuzz_targets/` and by
//! `tests/fuzz_regressions.rs`, which replays every input in `fuzz/regressions/<target>/`
//! through the same function, so a crash found once stays fixed. Every parser and decoder
//! of evidence is reached: format sniffing, the decoders, the line loop with all
//! log formats, the Sigma loader and condition parser, hives, `.reg` exports, metabases,
//! listings, PE versions, connection tables, pcap/pcapng with reassembly, and small gzip
//! files decoded whole (against the streaming decoder).
#![allow(dead_code)]

use std::sync::OnceLock;

use wormtrace::detect::pack::{load_rules, RuleOptions};
use wormtrace::detect::sigma::{condition, Placeholders, Rule};
use wormtrace::detect::Detector;
use wormtrace::net::capture::{http, read_capture, CaptureItem, CaptureOptions};
use wormtrace::record::{detect_format, LogFormat, ParseContext, Parser};
use wormtrace::scan::{scan_reader, ScanOptions};

/// The built-in rules, compiled once per process.
fn detector() -> &'static Detector {
    static DETECTOR: OnceLock<Detector> = OnceLock::new();
    DETECTOR.get_or_init(|| {
        let loaded = load_rules(&RuleOptions::default());
        // With its correlations: the spreading one decides which SYNs and rows count.
        Detector::new(loaded.rules)
            .with_correlations(loaded.correlations)
            .0
    })
}

const FORMATS: [LogFormat; LogFormat::ALL.len()] = LogFormat::ALL;

/// A whole input: compression sniffed and decoded, then a capture, a table or a log found by
/// its first bytes, and scanned. The first byte picks a format hint (or none).
pub fn scan_input(data: &[u8]) {
    let (hint, repeats, bytes) = match data.split_first() {
        Some((&first, rest)) => (
            FORMATS
                .get(usize::from(first) % (FORMATS.len() + 1))
                .copied(),
            // A small limit too, so that short inputs reach the counting of repeats.
            u64::from(first / 64),
            rest,
        ),
        None => (None, 0, data),
    };
    let options = ScanOptions {
        format_hint: hint,
        max_line: 4096,
        repeats,
        ..ScanOptions::default()
    };
    let mut reader = bytes;
    let mut written = 0u64;
    let report = scan_reader(&mut reader, "fuzz", detector(), &options, &mut |_| {
        written += 1
    });
    let omitted: u64 = report.repeats.iter().map(|r| r.omitted).sum();
    assert_eq!(report.findings, written + omitted);
    assert!(report
        .repeats
        .iter()
        .all(|r| r.written == repeats && r.first_line <= r.last_line));
}

/// One line through every log parser (W3C with the directives a log may carry first) and
/// the rules, and the format sniffer over it as a head.
pub fn log_line(data: &[u8]) {
    let _ = detect_format(data);
    let ctx = ParseContext::builtin(chrono::FixedOffset::east_opt(9 * 3600).expect("offset"));
    let mut hits = Vec::new();
    for format in FORMATS {
        let mut parser = Parser::for_format(format);
        for line in data.split(|&b| b == b'\n') {
            if line.first() == Some(&b'#') && parser.wants_directives() {
                parser.observe_directive(line, &ctx);
                continue;
            }
            let record = parser.parse(line, &ctx);
            detector().matching_rules(&record, &mut hits);
        }
    }
}

/// A Sigma rule file, and its condition text on its own.
pub fn sigma_rule(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(rule) = Rule::parse("fuzz.yml", text, &Placeholders::default()) {
        let _ = Detector::new(vec![rule]);
    }
    // The same text as a rule file of several documents, correlations among them, resolved
    // and evaluated over one finding of each base rule.
    let mut loaded = wormtrace::detect::pack::LoadedRules::default();
    loaded.add_file("fuzz.yml", text, &Placeholders::default());
    if !loaded.rules.is_empty() {
        let (detector, _) = Detector::new(loaded.rules).with_correlations(loaded.correlations);
        correlate_one_finding_each(&detector);
    }
    let names = [
        "selection".to_string(),
        "filter".to_string(),
        "keywords".to_string(),
    ];
    let _ = condition::parse(text, &names);
}

/// Runs the detector's correlations over one finding of every base rule.
fn correlate_one_finding_each(detector: &Detector) {
    use wormtrace::detect::correlation::evaluate::Correlator;
    use wormtrace::detect::correlation::Base;
    use wormtrace::model::CorrelationTag;
    let mut correlator = Correlator::new(detector.correlations().to_vec());
    for (index, c) in detector.correlations().iter().enumerate() {
        for (slot, base) in c.bases.iter().enumerate() {
            let Base::Rule { fields, .. } = base else {
                continue;
            };
            let mut finding = finding_at(slot as u64 + 1);
            finding.correlate.push(CorrelationTag {
                correlation: index,
                slot,
                values: fields.iter().map(|_| Some("x".to_string())).collect(),
            });
            correlator.observe(&finding);
        }
    }
    let mut next = 0;
    correlator.finish(&mut |_| {
        next += 1;
        next
    });
}

/// A bare log finding with an id and a time.
fn finding_at(id: u64) -> wormtrace::model::Finding {
    use wormtrace::model::{Confidence, Evidence, Finding, Level, RequestEvidence, Timestamp};
    Finding {
        id,
        family: "sigma".into(),
        rule_id: "r".into(),
        rule_title: "r".into(),
        level: Level::High,
        confidence: Confidence::High,
        path: "fuzz.log".into(),
        time: Timestamp::parse("2001-08-04T10:00:00Z"),
        evidence: Evidence::Request(Box::new(RequestEvidence {
            line: id,
            offset: 0,
            format: "iis-w3c".into(),
            client_ip: None,
            server: None,
            server_name: None,
            method: None,
            uri: None,
            status: None,
            exposure: None,
            text: String::new(),
            wire: None,
            proxy: None,
        })),
        correlate: Vec::new(),
    }
}

/// The host evidence readers: a hive, a `.reg` export, a metabase, a listing, a PE file.
pub fn host_file(data: &[u8]) {
    use wormtrace::host::{listing, metabase, pe_version, registry};
    let _ = registry::load_hive(data, "fuzz");
    let _ = registry::parse_reg_export(data, "fuzz.reg");
    let text = String::from_utf8_lossy(data);
    let _ = metabase::parse_metabase(&text);
    let _ = metabase::read_metabase(data);
    listing::each_listed(&text, &mut |_| {});
    let _ = pe_version::read_pe(data);
}

/// A saved connection table: sniffing, decoding, every dialect, and the tallies.
pub fn netstat(data: &[u8]) {
    use wormtrace::net::{netstat, netstat_tallies};
    let _ = netstat::looks_like_netstat(data);
    let text = netstat::decode(data);
    let table = netstat::parse(&text);
    let tallies = netstat_tallies(&text, "fuzz", detector().spreading());
    assert_eq!(table.rows, tallies.table.rows);
}

/// A packet capture: frames, TCP reassembly, request heads through the rules, answers.
pub fn capture(data: &[u8]) {
    let detector = detector();
    let client = wormtrace::model::ClientPolicy::peer_only();
    let mut memo = wormtrace::detect::memo::RuleMemo::default();
    let mut on_item = |item: CaptureItem<'_>| match item {
        CaptureItem::Request(request) => {
            let rules = http::RequestRules {
                detector,
                memo: &mut memo,
                all_hits: false,
            };
            http::request_findings(request, rules, ("fuzz.pcap", "pcap"), client)
        }
        CaptureItem::Syn { .. } => Vec::new(),
    };
    let mut findings = 0u64;
    let report = read_capture(data, CaptureOptions::default(), &mut on_item, &mut |_| {
        findings += 1
    });
    assert_eq!(report.findings, findings);
}

/// A small gzip file decoded whole (libdeflate, in C) must give what the streaming decoder
/// gives. The one known difference: libdeflate decodes the length codes 286-287 and
/// distance codes 30-31 that RFC 1951 reserves (fixed-Huffman blocks can hold them) where
/// zlib stops; the member's CRC-32 and size must still match, and the stream's bytes before
/// it stopped must be where the whole decode has them.
pub fn whole_gzip(data: &[u8]) {
    use std::io::Read;
    let Some(whole) = wormtrace::source::whole_gzip::decode(data) else {
        return;
    };
    let mut stream = wormtrace::source::Compression::Gzip
        .decoder(data)
        .expect("a gzip decoder starts without reading");
    let mut streamed = Vec::new();
    match stream.read_to_end(&mut streamed) {
        Ok(_) => assert!(whole.unread() == streamed.as_slice(), "the bytes differ"),
        Err(e) => {
            let reserved = e.to_string().contains("corrupt deflate stream");
            assert!(reserved, "decoded whole, but the stream fails: {e}");
            assert!(
                whole.unread().starts_with(&streamed),
                "the stream's bytes differ"
            );
        }
    }
}
