//! Writes wormtrace's sample evidence: small, realistic web-server logs with benign
//! traffic, external Code Red / Code Red II / Nimda sources, and internal hosts spreading
//! Code Red II with its locality bias. Only the request lines published in advisories are
//! used; nothing beyond them.
//!
//! Deterministic: the same seed writes the same bytes.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::Parser;
use flate2::{write::GzEncoder, Compression};
use wormtrace_gen::host;
use wormtrace_gen::requests::{code_red_query, Rng, NIMDA};
use wormtrace_gen::weblogs::{self, WebFormat};

/// Command-line options.
#[derive(Parser)]
#[command(about = "Write wormtrace's sample evidence")]
struct Options {
    /// Folder to write into (created if missing).
    #[arg(long, default_value = "samples")]
    out: PathBuf,
    /// Random seed.
    #[arg(long, default_value_t = 2001)]
    seed: u64,
    /// Instead of the samples, write one large benchmark log to this file.
    #[arg(long, value_name = "FILE")]
    big: Option<PathBuf>,
    /// Size of the benchmark log in bytes (approximate, whole lines).
    #[arg(long, default_value_t = 1_000_000_000)]
    bytes: u64,
    /// With --big: write this many log files of equal size into the folder --big names.
    #[arg(long, default_value_t = 1)]
    files: u64,
    /// Layout of the benchmark file: w3c or ncsa (logs), pcap (a capture), or a load
    /// balancer, CDN, proxy or JSON format by its wormtrace name (aws-alb, cloudfront,
    /// haproxy, nginx-json, ...; iis10 for IIS 10 with custom fields).
    #[arg(long, default_value = "w3c")]
    layout: String,
    /// Write the load balancer, CDN, proxy and JSON samples (the same requests in every
    /// format) into this folder, instead of the samples.
    #[arg(long, value_name = "DIR")]
    modern: Option<PathBuf>,
    /// Benign traffic of the benchmark log: `plain` (a few static pages) or `busy` (Index
    /// Server queries in 0.16% of lines, `/scripts/` paths, `cmd.exe` in query strings,
    /// mixed case and many 404s: text the prefilter must look at and the rules reject).
    #[arg(long, default_value = "plain")]
    mix: String,
    /// With --big: write the hostile case of this name instead of a log (hits, x-run, code-red-flood,
    /// netstat, reg, metabase, listing, flows, code-red-capture), about --bytes long.
    #[arg(long, value_name = "CASE")]
    hostile: Option<String>,
}

/// Lines between injected attacks in a benchmark log (per family).
const EVERY_CODE_RED_II: u64 = 10_000;
const EVERY_CODE_RED: u64 = 25_000;
const EVERY_NIMDA: u64 = 100_000;

/// Lines between benign Index Server queries in the busy mix (0.16%).
const BUSY_EVERY_IDQ: u64 = 625;

/// A benign request of the busy mix: stem, query, status, and the family the rules give it.
fn busy_request(rng: &mut Rng, n: u64) -> (String, Option<String>, u16, Option<&'static str>) {
    if n % BUSY_EVERY_IDQ == 17 {
        let query = "CiRestriction=annual+report&CiMaxRecordsPerPage=10&CiScope=/";
        // The Index Server rule flags any .idq request, at low confidence.
        return (
            "/query.idq".into(),
            Some(query.into()),
            200,
            Some("iis-exploit"),
        );
    }
    let status = if rng.below(10) < 3 { 404 } else { 200 };
    let (stem, query) = *rng.pick(&BUSY_PAGES);
    (stem.to_string(), query.map(String::from), status, None)
}

/// How a benchmark log is written.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Layout {
    W3c,
    Ncsa,
    Modern(WebFormat),
}

fn big_line(rng: &mut Rng, n: u64, layout: Layout, busy: bool) -> (String, Option<&'static str>) {
    let (stem, query, family): (String, Option<String>, Option<&'static str>) =
        if n % EVERY_CODE_RED_II == 7 {
            (
                "/default.ida".into(),
                Some(code_red_query('X')),
                Some("code-red-ii"),
            )
        } else if n % EVERY_CODE_RED == 11 {
            (
                "/default.ida".into(),
                Some(code_red_query('N')),
                Some("code-red"),
            )
        } else if n % EVERY_NIMDA == 13 {
            (NIMDA[4].into(), Some("/c+dir".into()), Some("nimda"))
        } else if busy {
            let (stem, query, status, family) = busy_request(rng, n);
            return finish_line(rng, n, layout, (stem, query, family), status);
        } else {
            (rng.pick(&PAGES).to_string(), None, None)
        };
    let status = if family.is_some() { 404 } else { 200 };
    finish_line(rng, n, layout, (stem, query, family), status)
}

/// The log line for a request.
fn finish_line(
    rng: &mut Rng,
    n: u64,
    layout: Layout,
    (stem, query, family): (String, Option<String>, Option<&'static str>),
    status: u16,
) -> (String, Option<&'static str>) {
    let second = (n / 40) as u32;
    let client = format!("203.0.{}.{}", rng.below(250), 1 + rng.below(250));
    let agent = rng.pick(&AGENTS);
    if let Layout::Modern(format) = layout {
        let target = match &query {
            Some(q) => format!("{stem}?{q}"),
            None => stem,
        };
        let request = weblogs::Request {
            secs: weblogs::SAMPLE_START + i64::from(second),
            client,
            xff: None,
            method: "GET",
            target,
            status,
            user_agent: "Mozilla/4.0 (compatible; MSIE 5.5; Windows NT 5.0)",
            host: "www.example.jp",
            server: "10.1.0.10",
            nonce: rng.next_u64(),
        };
        return (format!("{}\n", format.line(&request)), family);
    }
    let line = if layout == Layout::Ncsa {
        let target = match &query {
            Some(q) => format!("{stem}?{q}"),
            None => stem,
        };
        format!("{client} - - [04/Aug/2001:{} +0900] \"GET {target} HTTP/1.0\" {status} 2326 \"-\" \"{}\"\n", clock(second), agent.replace('+', " "))
    } else {
        format!(
            "2001-08-04 {} {client} - 10.1.0.10 80 GET {stem} {} {status} {agent}\r\n",
            clock(second),
            query.as_deref().unwrap_or("-")
        )
    };
    (line, family)
}

fn write_big(path: &Path, options: &Options) -> Result<()> {
    if options.layout == "pcap" {
        return write_big_capture(path, options);
    }
    let layout = match options.layout.as_str() {
        "w3c" => Layout::W3c,
        "ncsa" => Layout::Ncsa,
        other => Layout::Modern(
            WebFormat::from_name(other).with_context(|| format!("no layout {other:?}"))?,
        ),
    };
    let mut log = BigLog {
        rng: Rng(options.seed.max(1)),
        layout,
        busy: options.mix == "busy",
        n: 0,
        written: 0,
        counts: std::collections::BTreeMap::new(),
    };
    if options.files <= 1 {
        log.write_file(path, options.bytes)?;
    } else {
        // A folder of equal files, as a month of daily logs from many sites would be.
        fs::create_dir_all(path)?;
        let each = options.bytes / options.files;
        for i in 0..options.files {
            log.write_file(&path.join(format!("ex{i:05}.log")), each)?;
        }
    }
    println!(
        "{{\"bytes\": {}, \"lines\": {}, \"files\": {}, \"injected\": {:?}}}",
        log.written,
        log.n,
        options.files.max(1),
        log.counts
    );
    Ok(())
}

/// Benchmark log lines, numbered across files so attacks fall at the same places.
struct BigLog {
    rng: Rng,
    layout: Layout,
    busy: bool,
    n: u64,
    written: u64,
    counts: std::collections::BTreeMap<&'static str, u64>,
}

impl BigLog {
    fn write_file(&mut self, path: &Path, bytes: u64) -> Result<()> {
        let file = File::create(path).with_context(|| format!("creating {}", path.display()))?;
        let mut out = io::BufWriter::with_capacity(1 << 20, file);
        let mut written = 0u64;
        let header = match self.layout {
            Layout::W3c => "#Software: Microsoft Internet Information Services 5.0\r\n#Version: 1.0\r\n#Date: 2001-08-04 00:00:00\r\n#Fields: date time c-ip cs-username s-ip s-port cs-method cs-uri-stem cs-uri-query sc-status cs(User-Agent)\r\n",
            Layout::Ncsa => "",
            Layout::Modern(format) => format.header(),
        };
        out.write_all(header.as_bytes())?;
        written += header.len() as u64;
        while written < bytes {
            let (line, family) = big_line(&mut self.rng, self.n, self.layout, self.busy);
            out.write_all(line.as_bytes())?;
            written += line.len() as u64;
            if let Some(f) = family {
                *self.counts.entry(f).or_insert(0) += 1;
            }
            self.n += 1;
        }
        out.flush()?;
        self.written += written;
        Ok(())
    }
}

/// Exchanges between injected requests in a benchmark capture (per family), and between
/// bursts of a Code Red II scan.
const CAPTURE_EVERY_CODE_RED_II: u64 = 50;
const CAPTURE_EVERY_CODE_RED: u64 = 130;
const CAPTURE_EVERY_NIMDA: u64 = 500;
const CAPTURE_EVERY_SCAN_BURST: u64 = 1000;

/// A benchmark capture: page requests with 8 KiB answers, attacks and scan bursts at fixed
/// intervals; prints the injected counts.
fn write_big_capture(path: &Path, options: &Options) -> Result<()> {
    use std::net::{Ipv4Addr, SocketAddr};
    use wormtrace_gen::net::{
        benign_request, code_red_request, http_exchange_answered, nimda_request, packets,
        pcap_header, pcap_record, scan_syns, Delivery, Link, Picking,
    };
    let mut rng = Rng(options.seed.max(1));
    let mut out = io::BufWriter::with_capacity(
        1 << 20,
        File::create(path).with_context(|| format!("creating {}", path.display()))?,
    );
    let header = pcap_header(Link::Ethernet, false, false);
    out.write_all(&header)?;
    let mut written = header.len() as u64;
    let mut counts = std::collections::BTreeMap::new();
    let answer = [
        b"HTTP/1.1 200 OK\r\nContent-Length: 8192\r\n\r\n".as_slice(),
        &[b'a'; 8192],
    ]
    .concat();
    let server: SocketAddr = "10.1.0.10:80".parse()?;
    let mut n = 0u64;
    while written < options.bytes {
        let client = SocketAddr::new(
            Ipv4Addr::new(192, 168, (n >> 8) as u8, (n as u8).max(1)).into(),
            1024 + (n % 60_000) as u16,
        );
        let (request, family) = if n % CAPTURE_EVERY_CODE_RED_II == 7 {
            (code_red_request('X', "10.1.0.10"), Some("code-red-ii"))
        } else if n % CAPTURE_EVERY_CODE_RED == 11 {
            (code_red_request('N', "10.1.0.10"), Some("code-red"))
        } else if n % CAPTURE_EVERY_NIMDA == 13 {
            (
                nimda_request((n / CAPTURE_EVERY_NIMDA) as usize, "10.1.0.10"),
                Some("nimda"),
            )
        } else {
            {
                let page: &&str = rng.pick(&PAGES);
                (benign_request(page, "www"), None)
            }
        };
        let delivery = Delivery {
            segments: 1 + (n % 3) as usize,
            ..Delivery::default()
        };
        let mut timed =
            http_exchange_answered(client, server, &request, delivery, &answer, n as u32);
        if n % CAPTURE_EVERY_SCAN_BURST == 500 {
            timed.extend(scan_syns(
                &mut rng,
                Ipv4Addr::new(10, 1, 7, 40),
                Picking::CodeRedII,
                30,
                100,
                n as u32,
            ));
            *counts.entry("scan-syn").or_insert(0u64) += 30;
        }
        for p in packets(timed, Link::Ethernet, 0) {
            let record = pcap_record(&p, false, false);
            out.write_all(&record)?;
            written += record.len() as u64;
        }
        if let Some(f) = family {
            *counts.entry(f).or_insert(0u64) += 1;
        }
        n += 1;
    }
    out.flush()?;
    println!("{{\"bytes\": {written}, \"exchanges\": {n}, \"injected\": {counts:?}}}");
    Ok(())
}

const PAGES: [&str; 8] = [
    "/",
    "/index.htm",
    "/products/index.htm",
    "/images/logo.gif",
    "/css/site.css",
    "/search.asp",
    "/news/2001/08.htm",
    "/contact.htm",
];
/// Benign requests of the busy mix: paths under `/scripts/`, `cmd.exe` and `.ida`-like text
/// in query strings, and mixed case, all of which the rules must reject.
const BUSY_PAGES: [(&str, Option<&str>); 12] = [
    ("/", None),
    ("/Default.htm", None),
    ("/scripts/counter.exe", Some("page=home")),
    ("/Scripts/forms/order.asp", Some("item=42")),
    ("/scripts/search.pl", Some("q=cmd.exe+switches")),
    (
        "/kb/article.asp",
        Some("id=Q217098&topic=/winnt/system32/cmd.exe"),
    ),
    ("/help/index.asp", Some("q=default.ida+file")),
    ("/images/logo.gif", None),
    ("/news/2001/08.htm", None),
    ("/products/Search.asp", Some("q=root.exe")),
    ("/downloads/tools.htm", None),
    ("/css/site.css", None),
];
const AGENTS: [&str; 3] = [
    "Mozilla/4.0+(compatible;+MSIE+5.5;+Windows+98)",
    "Mozilla/4.0+(compatible;+MSIE+6.0;+Windows+NT+5.0)",
    "Mozilla/5.0+(X11;+U;+Linux+i686;+en-US;+rv:0.9.2)",
];

/// One request to put in a log.
struct Hit {
    second: u32,
    client: String,
    method: &'static str,
    stem: String,
    query: Option<String>,
    status: u16,
}

fn clock(second: u32) -> String {
    format!(
        "{:02}:{:02}:{:02}",
        second / 3600 % 24,
        second / 60 % 60,
        second % 60
    )
}

fn benign(rng: &mut Rng, count: usize, start: u32) -> Vec<Hit> {
    (0..count)
        .map(|i| Hit {
            second: start + i as u32 * 37,
            client: format!("203.0.113.{}", 1 + rng.below(200)),
            method: "GET",
            stem: rng.pick(&PAGES).to_string(),
            query: None,
            status: 200,
        })
        .collect()
}

fn worm(second: u32, client: &str, letter: char, status: u16) -> Hit {
    Hit {
        second,
        client: client.to_string(),
        method: "GET",
        stem: "/default.ida".into(),
        query: Some(code_red_query(letter)),
        status,
    }
}

fn nimda(second: u32, client: &str) -> Vec<Hit> {
    NIMDA
        .iter()
        .enumerate()
        .map(|(i, stem)| Hit {
            second: second + i as u32,
            client: client.into(),
            method: "GET",
            stem: stem.to_string(),
            query: Some("/c+dir".into()),
            status: 404,
        })
        .collect()
}

/// Attack traffic seen by one of our servers.
fn attacks(server_index: u32) -> Vec<Hit> {
    let mut hits = vec![
        worm(3_600 + server_index * 11, "198.51.100.23", 'N', 404),
        worm(7_300 + server_index * 13, "198.51.100.77", 'X', 404),
        worm(9_100, "192.0.2.150", 'X', 404),
    ];
    // Internal hosts spreading Code Red II: each hits several of our servers.
    for (n, infected) in ["10.1.5.23", "10.1.7.40"].iter().enumerate() {
        for k in 0..3 {
            hits.push(worm(
                20_000 + n as u32 * 900 + k * 120 + server_index,
                infected,
                'X',
                404,
            ));
        }
    }
    hits.extend(nimda(30_000 + server_index * 7, "192.0.2.66"));
    hits
}

fn w3c_log(rng: &mut Rng, server_ip: &str, server_index: u32) -> String {
    let mut hits = benign(rng, 120, 60);
    hits.extend(attacks(server_index));
    hits.sort_by_key(|h| h.second);
    let (first, second) = hits.split_at(hits.len() / 2);
    let mut out = String::new();
    out.push_str("#Software: Microsoft Internet Information Services 5.0\r\n#Version: 1.0\r\n#Date: 2001-08-04 00:00:49\r\n");
    out.push_str("#Fields: time c-ip cs-method cs-uri-stem sc-status \r\n");
    for h in first {
        out.push_str(&format!(
            "{} {} {} {} {}\r\n",
            clock(h.second),
            h.client,
            h.method,
            h.stem,
            h.status
        ));
    }
    // IIS writes a new header block when logging options change: the layout changes here.
    out.push_str("#Software: Microsoft Internet Information Services 5.0\r\n#Version: 1.0\r\n#Date: 2001-08-04 12:00:00\r\n");
    out.push_str("#Fields: date time c-ip cs-username s-ip s-port cs-method cs-uri-stem cs-uri-query sc-status cs(User-Agent)\r\n");
    for h in second {
        let agent = if h.stem == "/default.ida" || h.query.is_some() {
            "-"
        } else {
            rng.pick(&AGENTS)
        };
        out.push_str(&format!(
            "2001-08-04 {} {} - {server_ip} 80 {} {} {} {} {agent}\r\n",
            clock(h.second),
            h.client,
            h.method,
            h.stem,
            h.query.as_deref().unwrap_or("-"),
            h.status
        ));
    }
    out
}

fn iis_native_log(rng: &mut Rng) -> String {
    let mut hits = benign(rng, 60, 120);
    hits.extend(attacks(2));
    hits.sort_by_key(|h| h.second);
    hits.iter()
        .map(|h| {
            format!(
                "{}, -, 8/5/01, {}, W3SVC1, WEB2, 10.1.0.11, 15, 312, 4096, {}, 0, {}, {}, {},\r\n",
                h.client,
                clock(h.second),
                h.status,
                h.method,
                h.stem,
                h.query.as_deref().unwrap_or("-")
            )
        })
        .collect()
}

fn ncsa_log(rng: &mut Rng) -> String {
    let mut hits = benign(rng, 150, 30);
    hits.extend(
        attacks(3)
            .into_iter()
            .filter(|h| !h.client.starts_with("10.1.7")),
    );
    hits.sort_by_key(|h| h.second);
    hits.iter()
        .map(|h| {
            let target = match &h.query {
                Some(q) => format!("{}?{q}", h.stem),
                None => h.stem.clone(),
            };
            let agent = if h.query.is_some() { "-".to_string() } else { rng.pick(&AGENTS).replace('+', " ") };
            // Code Red's line really has two spaces before the version in some logs.
            let space = if h.stem == "/default.ida" { "  " } else { " " };
            format!(
                "10.2.0.5 {} - - [06/Aug/2001:{} +0900] \"{} {target}{space}HTTP/1.0\" {} {} \"-\" \"{agent}\"\n",
                h.client,
                clock(h.second),
                h.method,
                h.status,
                if h.status == 200 { 2326 } else { 290 }
            )
        })
        .collect()
}

fn apache_error_log() -> String {
    let mut out = String::new();
    for (i, client) in ["198.51.100.23", "198.51.100.77", "10.1.5.23"]
        .iter()
        .enumerate()
    {
        out.push_str(&format!("[Mon Aug  6 0{}:13:17 2001] [error] [client {client}] File does not exist: /var/www/html/default.ida\n", i + 1));
    }
    out.push_str("[Mon Aug  6 05:01:02 2001] [error] [client 198.51.100.23] Client sent malformed Host header\n");
    out.push_str("[Mon Aug  6 06:00:00 2001] [notice] caught SIGTERM, shutting down\n");
    out
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))
}

fn gzip(text: &str) -> io::Result<Vec<u8>> {
    let mut enc = GzEncoder::new(Vec::new(), Compression::default());
    enc.write_all(text.as_bytes())?;
    enc.finish()
}

fn main() -> Result<()> {
    let options = Options::parse();
    if let Some(big) = &options.big {
        if let Some(case) = &options.hostile {
            let mut out = io::BufWriter::new(
                File::create(big).with_context(|| format!("creating {}", big.display()))?,
            );
            wormtrace_gen::hostile::write_case(case, options.bytes, &mut out)?;
            return Ok(out.flush()?);
        }
        return write_big(big, &options);
    }
    if let Some(dir) = &options.modern {
        let requests = weblogs::sample_requests();
        for format in WebFormat::ALL {
            write_file(
                &dir.join(format.file_name()),
                format.log(&requests).as_bytes(),
            )?;
        }
        return Ok(());
    }
    let mut rng = Rng(options.seed.max(1));
    let out = &options.out;
    write_file(
        &out.join("iis/web1/ex010804.log"),
        w3c_log(&mut rng, "10.1.0.10", 0).as_bytes(),
    )?;
    write_file(
        &out.join("iis/web3/ex010804.log"),
        w3c_log(&mut rng, "10.2.0.7", 1).as_bytes(),
    )?;
    write_file(
        &out.join("iis/web2/in010805.log"),
        iis_native_log(&mut rng).as_bytes(),
    )?;
    write_file(
        &out.join("apache/access_log.1.gz"),
        &gzip(&ncsa_log(&mut rng))?,
    )?;
    write_file(&out.join("apache/error_log"), apache_error_log().as_bytes())?;
    write_host_samples(&out.join("host"))?;
    write_network_samples(&out.join("network"), &mut rng)?;
    let mut readme = File::create(out.join("README.md"))?;
    writeln!(
        readme,
        "Sample evidence written by `cargo run -p wormtrace-gen -- --out samples` (seed {}).",
        options.seed
    )?;
    writeln!(readme, "Addresses are from documentation (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24) and private ranges.")?;
    writeln!(
        readme,
        "Internal hosts 10.1.5.23 and 10.1.7.40 spread Code Red II; the rest attack from outside."
    )?;
    writeln!(readme, "`host/web01` is the C: drive of a compromised Windows 2000 server, `host/web02` a patched one, `host/web03` registry exports and a `dir` listing of a compromised one, `host/web05` the C: drive (with its SYSTEM hive) of the compromised server whose netstat and logs are in the samples too. Their .exe and .dll files are dummy text or empty PE images, not programs.")?;
    writeln!(readme, "`network/web05.netstat.txt` is `netstat -ano` of an infected server (10.1.5.23, Code Red II scanning), `network/web06.netstat.txt` a quiet one saved on a Japanese console (CP932); `network/dmz.pcap` holds Code Red II, Code Red and Nimda requests, benign pages and a Code Red II SYN scan from 10.1.7.40.")?;
    Ok(())
}

/// Connection tables and a capture: an infected server scanning port 80 with Code Red II's
/// locality, a quiet one, and a DMZ capture of attacks and a scan.
fn write_network_samples(dir: &Path, rng: &mut Rng) -> Result<()> {
    use std::net::{IpAddr, Ipv4Addr, SocketAddr};
    use wormtrace_gen::net::{
        benign_request, by_time, code_red_request, http_exchange, netstat_table, nimda_request,
        packets, pick_target, scan_syns, write_capture, Delivery, Layout, Link, Picking,
        TableDialect,
    };
    let infected = Ipv4Addr::new(10, 1, 5, 23);
    let mut targets = std::collections::BTreeSet::new();
    while targets.len() < 120 {
        targets.insert(IpAddr::V4(pick_target(rng, infected, Picking::CodeRedII)));
    }
    let targets: Vec<IpAddr> = targets.into_iter().collect();
    let clients: Vec<IpAddr> = (20..26)
        .map(|i| IpAddr::V4(Ipv4Addr::new(192, 0, 2, i)))
        .collect();
    let table = netstat_table(TableDialect::WindowsEn, infected.into(), &targets, &clients);
    write_file(&dir.join("web05.netstat.txt"), table.as_bytes())?;
    let quiet = netstat_table(
        TableDialect::WindowsJa,
        "10.1.5.24".parse()?,
        &targets[..3],
        &clients,
    );
    let (cp932, _, _) = encoding_rs::SHIFT_JIS.encode(&quiet);
    write_file(&dir.join("web06.netstat.txt"), &cp932)?;
    let server: SocketAddr = "10.1.0.10:80".parse()?;
    let split = |segments| Delivery {
        segments,
        ..Delivery::default()
    };
    let mut all = Vec::new();
    let mut exchange = |client: &str, request: Vec<u8>, delivery, t0| -> Result<()> {
        let timed = http_exchange(client.parse()?, server, &request, delivery, t0);
        all.extend(packets(timed, Link::Ethernet, 0));
        Ok(())
    };
    exchange(
        "203.0.113.7:3345",
        code_red_request('X', "10.1.0.10"),
        split(3),
        0,
    )?;
    exchange(
        "198.51.100.20:1210",
        code_red_request('N', "10.1.0.10"),
        split(2),
        5,
    )?;
    for i in 0..4 {
        exchange(
            &format!("203.0.113.44:{}", 2200 + i),
            nimda_request(i, "10.1.0.10"),
            split(1),
            10 + i as u32,
        )?;
    }
    for (i, page) in ["/", "/index.htm", "/products/index.htm"]
        .iter()
        .enumerate()
    {
        exchange(
            &format!("192.168.3.{}:4100", 10 + i),
            benign_request(page, "www"),
            split(1),
            20 + i as u32,
        )?;
    }
    all.extend(packets(
        scan_syns(
            rng,
            Ipv4Addr::new(10, 1, 7, 40),
            Picking::CodeRedII,
            400,
            40,
            30,
        ),
        Link::Ethernet,
        0,
    ));
    let capture = write_capture(
        Layout::Pcap {
            big_endian: false,
            nanos: false,
        },
        &by_time(all),
    );
    write_file(&dir.join("dmz.pcap"), &capture)
}

/// Volumes and exports for the host sweep.
fn write_host_samples(dir: &Path) -> Result<()> {
    if dir.exists() {
        fs::remove_dir_all(dir).with_context(|| format!("{}", dir.display()))?;
    }
    host::write_tree(
        &dir.join("web01"),
        &host::volume_files(host::Volume::Infected),
    )?;
    host::write_tree(
        &dir.join("web02"),
        &host::volume_files(host::Volume::Patched),
    )?;
    let vroots: Vec<host::RegKeySpec> = vec![(
        r"SYSTEM\CurrentControlSet\Services\W3SVC\Parameters\Virtual Roots",
        vec![
            ("/", host::RegValue::Sz(r"c:\inetpub\wwwroot,,201")),
            ("/Scripts", host::RegValue::Sz(r"c:\inetpub\scripts,,217")),
            ("/C", host::RegValue::Sz(r"c:\,,217")),
            ("/D", host::RegValue::Sz(r"d:\,,217")),
        ],
    )];
    let winlogon: Vec<host::RegKeySpec> = vec![
        (
            r"SOFTWARE\Microsoft\Windows NT\CurrentVersion",
            vec![
                ("CurrentVersion", host::RegValue::Sz("5.0")),
                ("CSDVersion", host::RegValue::Sz("Service Pack 2")),
            ],
        ),
        (
            r"SOFTWARE\Microsoft\Windows NT\CurrentVersion\Winlogon",
            vec![("SFCDisable", host::RegValue::Dword(0xffff_ff9d))],
        ),
    ];
    // web05: the server whose netstat (network/web05.netstat.txt) and logs (it spreads
    // Code Red II from 10.1.5.23) are in the samples too; its SYSTEM hive names it and its
    // address, so all three kinds of evidence join into one host.
    let mut web05 = host::volume_files(host::Volume::Infected);
    let system: Vec<host::RegKeySpec> = vec![
        ("Select", vec![("Current", host::RegValue::Dword(1))]),
        (
            r"ControlSet001\Control\ComputerName\ComputerName",
            vec![("ComputerName", host::RegValue::Sz("WEB05"))],
        ),
        (
            r"ControlSet001\Services\Tcpip\Parameters\Interfaces\{6BA6D3E2-0A64-4D8B-9B6C-3E0B2A1C0005}",
            vec![("IPAddress", host::RegValue::MultiSz(&["10.1.5.23"]))],
        ),
        (
            r"ControlSet001\Services\W3SVC\Parameters\Virtual Roots",
            vec![
                ("/", host::RegValue::Sz(r"c:\inetpub\wwwroot,,201")),
                ("/Scripts", host::RegValue::Sz(r"c:\inetpub\scripts,,217")),
                ("/C", host::RegValue::Sz(r"c:\,,217")),
            ],
        ),
    ];
    web05.push((
        "WINNT/system32/config/SYSTEM".to_string(),
        wormtrace_gen::regf::hive(&system),
    ));
    host::write_tree(&dir.join("web05"), &web05)?;
    let web03 = dir.join("web03");
    write_file(&web03.join("w3svc.reg"), &host::reg_export(true, &vroots))?;
    write_file(
        &web03.join("winlogon.reg"),
        &host::reg_export(false, &winlogon),
    )?;
    write_file(
        &web03.join("dir-c.txt"),
        host::infected_listing().as_bytes(),
    )?;
    Ok(())
}
