//! Hostile evidence for the memory and throughput bounds (issue 14): inputs that are small
//! on disk or in number but expand into many findings, rows, keys, flows or long runs. Each
//! writer streams to `out`, so a case of any size is written in constant memory. Requests are
//! the published ones (`/default.ida` with its `X` or `N` run); bodies are harmless.

use std::io::{self, Write};
use std::net::{Ipv4Addr, SocketAddr};

use crate::net::{pcap_header, pcap_record, tcp_packet, Flags, Link, Packet};
use crate::requests::{code_red_query, TAIL};

/// The cases, by name.
pub const CASES: [&str; 10] = [
    "hits",
    "x-run",
    "code-red-flood",
    "netstat",
    "reg",
    "metabase",
    "listing",
    "flows",
    "flows-burst",
    "code-red-capture",
];

/// Writes about `bytes` of the case `name` to `out`. Unknown names are an error.
pub fn write_case(name: &str, bytes: u64, out: &mut dyn Write) -> io::Result<()> {
    match name {
        "hits" => many_hits(out, bytes),
        "x-run" => x_runs(out, bytes),
        "code-red-flood" => code_red_flood(out, bytes),
        "netstat" => many_local_addresses(out, bytes),
        "reg" => big_reg_export(out, bytes),
        "metabase" => big_metabase(out, bytes),
        "listing" => big_listing(out, bytes),
        "flows" => many_open_flows(out, bytes, 100),
        "flows-burst" => many_open_flows(out, bytes, 1_000_000),
        "code-red-capture" => code_red_capture(out, bytes),
        other => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "no hostile case named {other} (cases: {})",
                CASES.join(", ")
            ),
        )),
    }
}

/// Writes lines from `line(n)` until about `bytes` were written.
fn lines_until(out: &mut dyn Write, bytes: u64, line: impl Fn(u64) -> String) -> io::Result<()> {
    let mut written = 0u64;
    let mut n = 0u64;
    while written < bytes {
        let text = line(n);
        out.write_all(text.as_bytes())?;
        written += text.len() as u64;
        n += 1;
    }
    Ok(())
}

/// Every line a finding: the shortest Code Red probe, over and over (compresses ~1000:1).
fn many_hits(out: &mut dyn Write, bytes: u64) -> io::Result<()> {
    lines_until(out, bytes, |_| "GET /a.ida HTTP/1.0\n".to_string())
}

/// NCSA lines whose `/default.ida` query is a run of 4,000 to 8,000 `X` or `N`: the prefilter
/// and the rules see a long run of the same byte on every line.
fn x_runs(out: &mut dyn Write, bytes: u64) -> io::Result<()> {
    lines_until(out, bytes, |n| {
        let letter = if n % 2 == 0 { "X" } else { "N" };
        let run = letter.repeat(4_000 + (n % 5) as usize * 1_000);
        format!(
            "192.0.2.{} - - [04/Aug/2001:10:00:{:02} +0900] \"GET /default.ida?{run}{TAIL} HTTP/1.0\" 404 205\n",
            n % 250 + 1,
            n % 60
        )
    })
}

/// An NCSA log of a server the worms found in August 2001: the published Code Red and Code
/// Red II requests (224 `N` or `X`, the whole tail) from 762 clients, a second apart, so no
/// line repeats the one before and each is parsed and judged: the heaviest realistic load
/// per byte.
fn code_red_flood(out: &mut dyn Write, bytes: u64) -> io::Result<()> {
    const NETWORKS: [[u8; 3]; 3] = [[192, 0, 2], [198, 51, 100], [203, 0, 113]];
    lines_until(out, bytes, |n| {
        let [a, b, c] = NETWORKS[(n % 3) as usize];
        let client = Ipv4Addr::new(a, b, c, (n / 3 % 254 + 1) as u8);
        let letter = if n % 4 == 0 { 'X' } else { 'N' };
        let (day, second) = (4 + n / 86_400 % 24, n % 86_400);
        let (h, m, s) = (second / 3600, second / 60 % 60, second % 60);
        format!(
            "{client} - - [{day:02}/Aug/2001:{h:02}:{m:02}:{s:02} +0900] \"GET /default.ida?{} HTTP/1.0\" 404 205\n",
            code_red_query(letter)
        )
    })
}

/// A Windows `netstat -an` table in which every row has a local address of its own.
fn many_local_addresses(out: &mut dyn Write, bytes: u64) -> io::Result<()> {
    out.write_all(
        b"\r\nActive Connections\r\n\r\n  Proto  Local Address          Foreign Address        State\r\n",
    )?;
    lines_until(out, bytes, |n| {
        let local = Ipv4Addr::from(0x0a00_0000 + n as u32);
        let remote = Ipv4Addr::from(0xc000_0200 + (n % 250) as u32);
        format!("  TCP    {local}:1025    {remote}:80    SYN_SENT\r\n")
    })
}

/// A REGEDIT4 export of a whole SOFTWARE hive: many keys the checks never read, one that
/// they do.
fn big_reg_export(out: &mut dyn Write, bytes: u64) -> io::Result<()> {
    out.write_all(b"REGEDIT4\r\n\r\n[HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\InetStp]\r\n\"MajorVersion\"=dword:00000005\r\n\r\n")?;
    lines_until(out, bytes, |n| {
        format!("[HKEY_LOCAL_MACHINE\\SOFTWARE\\Classes\\.ext{n}]\r\n@=\"file{n}\"\r\n\"Content Type\"=\"application/x-{n}\"\r\n\r\n")
    })
}

/// An IIS 6 `MetaBase.xml` with one virtual directory per site, for many sites.
fn big_metabase(out: &mut dyn Write, bytes: u64) -> io::Result<()> {
    out.write_all(b"<?xml version=\"1.0\"?>\r\n<configuration xmlns=\"urn:microsoft-catalog:XML_Metabase_V64_0\">\r\n<MBProperty>\r\n")?;
    lines_until(out, bytes, |n| {
        format!("<IIsWebVirtualDir Location=\"/LM/W3SVC/{n}/ROOT/app\" AccessFlags=\"AccessRead | AccessScript\" Path=\"d:\\sites\\{n}\\app\"/>\r\n<IIsWebServer Location=\"/LM/W3SVC/{n}\" ServerBindings=\":80:site{n}.example.jp\"/>\r\n")
    })?;
    out.write_all(b"</MBProperty>\r\n</configuration>\r\n")
}

/// `dir /s /a` of a web server Nimda went through: a `readme.eml` in every folder.
fn big_listing(out: &mut dyn Write, bytes: u64) -> io::Result<()> {
    lines_until(out, bytes, |n| {
        format!(" Directory of C:\\Inetpub\\wwwroot\\d{n}\r\n\r\n08/04/2001  11:22 AM    <DIR>          .\r\n09/18/2001  09:01 AM            79,360 readme.eml\r\n08/04/2001  11:22 AM             2,048 index{n}.htm\r\n               2 File(s)         81,408 bytes\r\n\r\n")
    })
}

/// A capture of many TCP flows that each send the start of a request head and never finish
/// it, so reassembly holds state for every one: `per_second` new flows each second (100 keep
/// about 12,000 open at once; a million open more than the flow table holds, as a SYN flood).
fn many_open_flows(out: &mut dyn Write, bytes: u64, per_second: u32) -> io::Result<()> {
    out.write_all(&pcap_header(Link::Ethernet, false, false))?;
    let mut written = 24u64;
    let mut n = 0u32;
    while written < bytes {
        let client =
            SocketAddr::from((Ipv4Addr::from(0xc633_0000 + n), 1024 + (n % 60_000) as u16));
        let server = SocketAddr::from((Ipv4Addr::new(10, 1, 1, 1), 80));
        let head = format!("GET /index{n}.htm HTTP/1.0\r\nHost: www.example.jp\r\nUser-Agent: ");
        for (seq, flags, payload) in [
            (
                1000,
                Flags {
                    syn: true,
                    ..Flags::default()
                },
                &b""[..],
            ),
            (
                1001,
                Flags {
                    ack: Some(1),
                    ..Flags::default()
                },
                head.as_bytes(),
            ),
        ] {
            let at = stamp(n, per_second);
            written += write_packet(out, at, (client, server), seq, flags, payload)?;
        }
        n += 1;
    }
    Ok(())
}

/// The time of flow `n` when `per_second` flows open each second: seconds after the
/// capture's start, and nanoseconds.
fn stamp(n: u32, per_second: u32) -> (u32, u32) {
    (
        n / per_second,
        (n % per_second) * (1_000_000_000 / per_second),
    )
}

/// A capture of Code Red requests whose `X` run is stretched to about 8 KB, each in a flow of
/// its own, answered by nothing.
fn code_red_capture(out: &mut dyn Write, bytes: u64) -> io::Result<()> {
    out.write_all(&pcap_header(Link::Ethernet, false, false))?;
    let mut written = 24u64;
    let mut n = 0u32;
    let request = format!(
        "GET /default.ida?{}{TAIL} HTTP/1.0\r\nContent-type: text/xml\r\nHost: www.example.jp\r\nContent-length: 4\r\n\r\ntest",
        "X".repeat(8_000)
    );
    while written < bytes {
        let client =
            SocketAddr::from((Ipv4Addr::from(0xc633_0000 + n), 1024 + (n % 60_000) as u16));
        let server = SocketAddr::from((Ipv4Addr::new(10, 1, 1, 1), 80));
        let mut seq = 1001u32;
        let mut segments = vec![(
            1000u32,
            Flags {
                syn: true,
                ..Flags::default()
            },
            &b""[..],
        )];
        for chunk in request.as_bytes().chunks(1460) {
            segments.push((
                seq,
                Flags {
                    ack: Some(1),
                    ..Flags::default()
                },
                chunk,
            ));
            seq += chunk.len() as u32;
        }
        segments.push((
            seq,
            Flags {
                ack: Some(1),
                fin: true,
                ..Flags::default()
            },
            &b""[..],
        ));
        for (seq, flags, payload) in segments {
            written += write_packet(out, stamp(n, 100), (client, server), seq, flags, payload)?;
        }
        n += 1;
    }
    Ok(())
}

/// Writes one packet stamped `at` (see [`stamp`]) as a pcap record; returns its length.
fn write_packet(
    out: &mut dyn Write,
    at: (u32, u32),
    (src, dst): (SocketAddr, SocketAddr),
    seq: u32,
    flags: Flags,
    payload: &[u8],
) -> io::Result<u64> {
    let record = pcap_record(&packet(at, src, dst, seq, flags, payload), false, false);
    out.write_all(&record)?;
    Ok(record.len() as u64)
}

fn packet(
    (secs, nanos): (u32, u32),
    src: SocketAddr,
    dst: SocketAddr,
    seq: u32,
    flags: Flags,
    payload: &[u8],
) -> Packet {
    Packet {
        secs: 997_000_000 + secs,
        nanos,
        interface: 0,
        link: Link::Ethernet,
        ip: tcp_packet(src, dst, seq, flags, payload),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_flood_repeats_no_line_and_comes_from_762_clients_of_both_families() {
        let mut out = Vec::new();
        write_case("code-red-flood", 3_000_000, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert!(
            lines.windows(2).all(|w| w[0] != w[1]),
            "a line repeats the one before"
        );
        let clients: std::collections::HashSet<&str> =
            lines.iter().map(|l| l.split(' ').next().unwrap()).collect();
        assert_eq!(clients.len(), 762);
        for letter in ['N', 'X'] {
            let query = code_red_query(letter);
            assert!(lines.iter().any(|l| l.contains(&query)), "{letter}");
        }
    }
}
