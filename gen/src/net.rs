//! Packet captures and connection tables for tests, samples and benchmarks.
//!
//! Every address is from a private or documentation range, every request line is one
//! published in advisories (facts.md 2) with a harmless body, and everything goes into files:
//! nothing is sent on any network.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use etherparse::PacketBuilder;

use crate::requests::{code_red_query, Rng, NIMDA};

/// A link layer to wrap IP packets in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Link {
    Ethernet,
    /// Ethernet with one 802.1Q tag.
    Vlan(u16),
    /// Ethernet with an 802.1ad outer tag and an 802.1Q inner tag.
    QinQ(u16, u16),
    /// BSD loopback (a 4-byte address family in little-endian order).
    Null,
    /// Linux cooked v1.
    Sll,
    /// Linux cooked v2.
    Sll2,
    /// Raw IP.
    Raw,
}

impl Link {
    /// Its LINKTYPE_* value.
    pub fn link_type(self) -> u16 {
        match self {
            Link::Ethernet | Link::Vlan(_) | Link::QinQ(..) => 1,
            Link::Null => 0,
            Link::Sll => 113,
            Link::Sll2 => 276,
            Link::Raw => 101,
        }
    }

    /// Wraps an IP packet.
    pub fn frame(self, ip: &[u8]) -> Vec<u8> {
        let ether_type: u16 = if ip.first().is_some_and(|b| b >> 4 == 6) {
            0x86dd
        } else {
            0x0800
        };
        let mut out = Vec::with_capacity(ip.len() + 24);
        const DST: [u8; 6] = [0x02, 0, 0, 0, 0, 0x01];
        const SRC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x02];
        match self {
            Link::Ethernet => {
                out.extend(DST.iter().chain(&SRC));
                out.extend(ether_type.to_be_bytes());
            }
            Link::Vlan(id) => {
                out.extend(DST.iter().chain(&SRC));
                out.extend(0x8100u16.to_be_bytes());
                out.extend((id & 0x0fff).to_be_bytes());
                out.extend(ether_type.to_be_bytes());
            }
            Link::QinQ(outer, inner) => {
                out.extend(DST.iter().chain(&SRC));
                out.extend(0x88a8u16.to_be_bytes());
                out.extend((outer & 0x0fff).to_be_bytes());
                out.extend(0x8100u16.to_be_bytes());
                out.extend((inner & 0x0fff).to_be_bytes());
                out.extend(ether_type.to_be_bytes());
            }
            Link::Null => {
                let family: u32 = if ether_type == 0x86dd { 24 } else { 2 };
                out.extend(family.to_le_bytes());
            }
            Link::Sll => {
                out.extend(0u16.to_be_bytes()); // packet type: to us
                out.extend(1u16.to_be_bytes()); // ARPHRD_ETHER
                out.extend(6u16.to_be_bytes());
                out.extend(SRC.iter().chain(&[0, 0]));
                out.extend(ether_type.to_be_bytes());
            }
            Link::Sll2 => {
                out.extend(ether_type.to_be_bytes());
                out.extend(0u16.to_be_bytes());
                out.extend(2u32.to_be_bytes()); // interface index
                out.extend(1u16.to_be_bytes());
                out.push(0);
                out.push(6);
                out.extend(SRC.iter().chain(&[0, 0]));
            }
            Link::Raw => {}
        }
        out.extend_from_slice(ip);
        out
    }
}

/// TCP flags of a segment.
#[derive(Debug, Clone, Copy, Default)]
pub struct Flags {
    pub syn: bool,
    pub ack: Option<u32>,
    pub fin: bool,
    pub rst: bool,
}

/// An IP packet holding one TCP segment, checksums filled in.
pub fn tcp_packet(
    src: SocketAddr,
    dst: SocketAddr,
    seq: u32,
    flags: Flags,
    payload: &[u8],
) -> Vec<u8> {
    let ip = match (src.ip(), dst.ip()) {
        (IpAddr::V4(s), IpAddr::V4(d)) => PacketBuilder::ipv4(s.octets(), d.octets(), 64),
        (IpAddr::V6(s), IpAddr::V6(d)) => PacketBuilder::ipv6(s.octets(), d.octets(), 64),
        _ => panic!("mixed address families"),
    };
    let mut tcp = ip.tcp(src.port(), dst.port(), seq, 65_535);
    if flags.syn {
        tcp = tcp.syn();
    }
    if let Some(a) = flags.ack {
        tcp = tcp.ack(a);
    }
    if flags.fin {
        tcp = tcp.fin();
    }
    if flags.rst {
        tcp = tcp.rst();
    }
    if !payload.is_empty() {
        tcp = tcp.psh();
    }
    let mut out = Vec::new();
    tcp.write(&mut out, payload).expect("writing to a Vec");
    out
}

/// One packet of a capture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet {
    pub secs: u32,
    pub nanos: u32,
    /// Interface index (pcapng); pcap files have one link type.
    pub interface: usize,
    pub link: Link,
    /// The IP packet (the link header is added when the file is written).
    pub ip: Vec<u8>,
}

/// Capture file layouts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    Pcap { big_endian: bool, nanos: bool },
    PcapNg { big_endian: bool, nanos: bool },
}

/// Writes packets as a capture file. pcap takes the link of the first packet; pcapng gets
/// one interface per distinct (interface, link) pair, in order of first use.
pub fn write_capture(layout: Layout, packets: &[Packet]) -> Vec<u8> {
    match layout {
        Layout::Pcap { big_endian, nanos } => pcap(big_endian, nanos, packets),
        Layout::PcapNg { big_endian, nanos } => pcapng(big_endian, nanos, packets),
    }
}

struct Out {
    bytes: Vec<u8>,
    big_endian: bool,
}

impl Out {
    fn u16(&mut self, v: u16) {
        let b = if self.big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        };
        self.bytes.extend(b);
    }
    fn u32(&mut self, v: u32) {
        let b = if self.big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        };
        self.bytes.extend(b);
    }
}

fn pcap(big_endian: bool, nanos: bool, packets: &[Packet]) -> Vec<u8> {
    let link = packets.first().map_or(Link::Ethernet, |p| p.link);
    let mut bytes = pcap_header(link, big_endian, nanos);
    for p in packets {
        bytes.extend(pcap_record(p, big_endian, nanos));
    }
    bytes
}

/// The global header of a pcap file.
pub fn pcap_header(link: Link, big_endian: bool, nanos: bool) -> Vec<u8> {
    let mut out = Out {
        bytes: Vec::new(),
        big_endian,
    };
    out.u32(if nanos { 0xa1b2_3c4d } else { 0xa1b2_c3d4 });
    out.u16(2);
    out.u16(4);
    out.u32(0);
    out.u32(0);
    out.u32(262_144);
    out.u32(u32::from(link.link_type()));
    out.bytes
}

/// One packet record of a pcap file.
pub fn pcap_record(p: &Packet, big_endian: bool, nanos: bool) -> Vec<u8> {
    let mut out = Out {
        bytes: Vec::new(),
        big_endian,
    };
    let frame = p.link.frame(&p.ip);
    out.u32(p.secs);
    out.u32(if nanos { p.nanos } else { p.nanos / 1000 });
    out.u32(frame.len() as u32);
    out.u32(frame.len() as u32);
    out.bytes.extend(frame);
    out.bytes
}

fn pcapng(big_endian: bool, nanos: bool, packets: &[Packet]) -> Vec<u8> {
    let mut out = Out {
        bytes: Vec::new(),
        big_endian,
    };
    // Section header: type, length, byte-order magic, version 1.0, section length unknown.
    out.u32(0x0a0d_0d0a);
    out.u32(28);
    out.u32(0x1a2b_3c4d);
    out.u16(1);
    out.u16(0);
    out.u32(u32::MAX);
    out.u32(u32::MAX);
    out.u32(28);
    let mut interfaces: Vec<(usize, Link)> = Vec::new();
    for p in packets {
        if !interfaces.contains(&(p.interface, p.link)) {
            interfaces.push((p.interface, p.link));
            interface_block(&mut out, p.link, nanos);
        }
    }
    for p in packets {
        let id = interfaces
            .iter()
            .position(|i| *i == (p.interface, p.link))
            .unwrap_or(0);
        let frame = p.link.frame(&p.ip);
        let padded = frame.len().div_ceil(4) * 4;
        let len = 32 + padded as u32;
        let ticks = if nanos {
            u64::from(p.secs) * 1_000_000_000 + u64::from(p.nanos)
        } else {
            u64::from(p.secs) * 1_000_000 + u64::from(p.nanos / 1000)
        };
        out.u32(6);
        out.u32(len);
        out.u32(id as u32);
        out.u32((ticks >> 32) as u32);
        out.u32(ticks as u32);
        out.u32(frame.len() as u32);
        out.u32(frame.len() as u32);
        out.bytes.extend(&frame);
        out.bytes.resize(out.bytes.len() + padded - frame.len(), 0);
        out.u32(len);
    }
    out.bytes
}

fn interface_block(out: &mut Out, link: Link, nanos: bool) {
    // Interface description with one option, if_tsresol (code 9), then opt_endofopt.
    out.u32(1);
    out.u32(32);
    out.u16(link.link_type());
    out.u16(0);
    out.u32(262_144);
    out.u16(9);
    out.u16(1);
    out.bytes.extend([if nanos { 9 } else { 6 }, 0, 0, 0]);
    out.u16(0);
    out.u16(0);
    out.u32(32);
}

/// How a request is cut into segments and delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delivery {
    /// Segments the request is cut into (1 = one segment).
    pub segments: usize,
    /// Send the data segments last-first.
    pub reorder: bool,
    /// Send every data segment twice.
    pub retransmit: bool,
    /// Add segments that straddle each boundary (with the same bytes).
    pub overlap: bool,
    /// No handshake in the capture (it started mid-connection).
    pub no_handshake: bool,
}

impl Default for Delivery {
    fn default() -> Self {
        Delivery {
            segments: 1,
            reorder: false,
            retransmit: false,
            overlap: false,
            no_handshake: false,
        }
    }
}

/// A whole HTTP exchange: handshake, the request as `delivery` says, a short 404 answer,
/// and both FINs. Times start at `t0` (seconds) and step 1 ms.
pub fn http_exchange(
    client: SocketAddr,
    server: SocketAddr,
    request: &[u8],
    delivery: Delivery,
    t0: u32,
) -> Vec<(u32, Vec<u8>)> {
    let answer = b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n";
    http_exchange_answered(client, server, request, delivery, answer, t0)
}

/// As [`http_exchange`], with the given answer cut into 1448-byte segments.
pub fn http_exchange_answered(
    client: SocketAddr,
    server: SocketAddr,
    request: &[u8],
    delivery: Delivery,
    answer: &[u8],
    t0: u32,
) -> Vec<(u32, Vec<u8>)> {
    const ISN_C: u32 = 0x1000_0000;
    const ISN_S: u32 = 0x7000_0000;
    let mut out = Vec::new();
    let c_data = ISN_C.wrapping_add(1);
    let s_data = ISN_S.wrapping_add(1);
    if !delivery.no_handshake {
        let syn = Flags {
            syn: true,
            ..Flags::default()
        };
        out.push(tcp_packet(client, server, ISN_C, syn, b""));
        let syn_ack = Flags {
            syn: true,
            ack: Some(c_data),
            ..Flags::default()
        };
        out.push(tcp_packet(server, client, ISN_S, syn_ack, b""));
        let ack = Flags {
            ack: Some(s_data),
            ..Flags::default()
        };
        out.push(tcp_packet(client, server, c_data, ack, b""));
    }
    for (offset, piece) in data_segments(request, delivery) {
        let ack = Flags {
            ack: Some(s_data),
            ..Flags::default()
        };
        out.push(tcp_packet(
            client,
            server,
            c_data.wrapping_add(offset as u32),
            ack,
            piece,
        ));
    }
    let c_end = c_data.wrapping_add(request.len() as u32);
    let ack = Flags {
        ack: Some(c_end),
        ..Flags::default()
    };
    for (i, piece) in answer.chunks(1448).enumerate() {
        let seq = s_data.wrapping_add((i * 1448) as u32);
        out.push(tcp_packet(server, client, seq, ack, piece));
    }
    let s_end = s_data.wrapping_add(answer.len() as u32);
    let fin = Flags {
        fin: true,
        ack: Some(s_end),
        ..Flags::default()
    };
    out.push(tcp_packet(client, server, c_end, fin, b""));
    let fin = Flags {
        fin: true,
        ack: Some(c_end.wrapping_add(1)),
        ..Flags::default()
    };
    out.push(tcp_packet(server, client, s_end, fin, b""));
    out.into_iter()
        .enumerate()
        .map(|(i, p)| (t0 * 1000 + i as u32, p))
        .collect()
}

fn data_segments(request: &[u8], d: Delivery) -> Vec<(usize, &[u8])> {
    let n = d.segments.clamp(1, request.len().max(1));
    let size = request.len().div_ceil(n);
    let mut pieces: Vec<(usize, &[u8])> = request
        .chunks(size.max(1))
        .enumerate()
        .map(|(i, c)| (i * size, c))
        .collect();
    if d.overlap {
        let straddles: Vec<(usize, &[u8])> = (1..pieces.len())
            .map(|i| {
                let at = i * size;
                let from = at.saturating_sub(size / 2);
                let to = (at + size / 2).min(request.len());
                (from, &request[from..to])
            })
            .collect();
        let mut mixed = Vec::new();
        for (i, p) in pieces.into_iter().enumerate() {
            mixed.push(p);
            if let Some(s) = straddles.get(i) {
                mixed.push(*s);
            }
        }
        pieces = mixed;
    }
    if d.reorder {
        pieces.reverse();
    }
    if d.retransmit {
        pieces = pieces.into_iter().flat_map(|p| [p, p]).collect();
    }
    pieces
}

/// The request lines a capture carries, by family.
pub fn code_red_request(letter: char, host: &str) -> Vec<u8> {
    format!(
        "GET /default.ida?{} HTTP/1.0\r\nContent-type: text/xml\r\nHost: {host}\r\nContent-length: 4\r\n\r\ntest",
        code_red_query(letter)
    )
    .into_bytes()
}

/// One of Nimda's published requests.
pub fn nimda_request(index: usize, host: &str) -> Vec<u8> {
    format!(
        "GET {}?/c+dir HTTP/1.0\r\nHost: {host}\r\nConnection: close\r\n\r\n",
        NIMDA[index % NIMDA.len()]
    )
    .into_bytes()
}

/// A benign page request.
pub fn benign_request(path: &str, host: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: Mozilla/4.0 (compatible; MSIE 5.5)\r\n\r\n").into_bytes()
}

/// How a scanner picks targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Picking {
    /// Code Red II: 1/2 own /8, 3/8 own /16, 1/8 anywhere.
    CodeRedII,
    /// Uniform over the address space (Code Red v1/v2).
    Uniform,
}

/// Private and documentation networks used for targets outside the scanner's /8.
const ELSEWHERE: [(Ipv4Addr, u32); 5] = [
    (Ipv4Addr::new(172, 16, 0, 0), 12),
    (Ipv4Addr::new(192, 168, 0, 0), 16),
    (Ipv4Addr::new(192, 0, 2, 0), 24),
    (Ipv4Addr::new(198, 51, 100, 0), 24),
    (Ipv4Addr::new(203, 0, 113, 0), 24),
];

/// A target as `picking` would choose it from `source` (a 10.x address). Locality cells
/// follow the model exactly; addresses outside the scanner's /8 come from private and
/// documentation ranges so that no real address appears in a file.
pub fn pick_target(rng: &mut Rng, source: Ipv4Addr, picking: Picking) -> Ipv4Addr {
    let s = source.octets();
    let random = rng.next_u64() as u32;
    let r = random.to_be_bytes();
    let cell = match picking {
        Picking::CodeRedII => match rng.below(8) {
            0 => u32::from(r[0] == s[0]) + u32::from(r[0] == s[0] && r[1] == s[1]),
            1..=4 => 1 + u32::from(r[1] == s[1]),
            _ => 2,
        },
        Picking::Uniform => u32::from(r[0] == s[0]) + u32::from(r[0] == s[0] && r[1] == s[1]),
    };
    let host = |a: u8| a.clamp(1, 254);
    let target = match cell {
        2 => Ipv4Addr::new(s[0], s[1], r[2], host(r[3])),
        1 => Ipv4Addr::new(
            s[0],
            if r[1] == s[1] { r[1] ^ 1 } else { r[1] },
            r[2],
            host(r[3]),
        ),
        _ => {
            let (net, bits) = ELSEWHERE[rng.below(ELSEWHERE.len() as u64) as usize];
            let span = 1u32 << (32 - bits);
            let offset = (random % (span - 2)) + 1;
            Ipv4Addr::from(u32::from(net) + offset)
        }
    };
    if target == source {
        pick_target(rng, source, picking)
    } else {
        target
    }
}

/// `count` SYNs to port 80 from `source`, `per_second` a second from `t0`.
pub fn scan_syns(
    rng: &mut Rng,
    source: Ipv4Addr,
    picking: Picking,
    count: usize,
    per_second: u32,
    t0: u32,
) -> Vec<(u32, Vec<u8>)> {
    (0..count)
        .map(|i| {
            let target = pick_target(rng, source, picking);
            let src = SocketAddr::new(source.into(), 1024 + (i % 60_000) as u16);
            let dst = SocketAddr::new(target.into(), 80);
            let syn = Flags {
                syn: true,
                ..Flags::default()
            };
            let ms = t0 * 1000 + (i as u32 * 1000) / per_second.max(1);
            (ms, tcp_packet(src, dst, rng.next_u64() as u32, syn, b""))
        })
        .collect()
}

/// Packets from (millisecond, IP packet) pairs on one link and interface.
pub fn packets(timed: Vec<(u32, Vec<u8>)>, link: Link, interface: usize) -> Vec<Packet> {
    timed
        .into_iter()
        .map(|(ms, ip)| Packet {
            secs: 997_000_000 + ms / 1000,
            nanos: (ms % 1000) * 1_000_000,
            interface,
            link,
            ip,
        })
        .collect()
}

/// Sorts packets by time (stable: packets of one instant keep their order).
pub fn by_time(mut packets: Vec<Packet>) -> Vec<Packet> {
    packets.sort_by_key(|p| (p.secs, p.nanos));
    packets
}

/// A saved connection table in one dialect: `outbound` connections from `local` to port 80
/// of the given targets (state SYN_SENT), plus the host's own web server with `inbound`
/// clients.
pub fn netstat_table(
    dialect: TableDialect,
    local: IpAddr,
    targets: &[IpAddr],
    inbound: &[IpAddr],
) -> String {
    let mut rows = Vec::new();
    rows.push(row(dialect, (None, 80), (None, None), "LISTEN"));
    for (i, c) in inbound.iter().enumerate() {
        rows.push(row(
            dialect,
            (Some(local), 80),
            (Some(*c), Some(40_000 + i as u16)),
            "ESTABLISHED",
        ));
    }
    for (i, t) in targets.iter().enumerate() {
        let state = if i % 5 == 0 {
            "ESTABLISHED"
        } else {
            "SYN_SENT"
        };
        rows.push(row(
            dialect,
            (Some(local), 1030 + i as u16),
            (Some(*t), Some(80)),
            state,
        ));
    }
    format!("{}{}\n", dialect.header(), rows.join("\n"))
}

/// Connection-table dialects the generator writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableDialect {
    WindowsEn,
    WindowsJa,
    Linux,
    Ss,
    Bsd,
}

impl TableDialect {
    fn header(self) -> &'static str {
        match self {
            TableDialect::WindowsEn => "\r\nActive Connections\r\n\r\n  Proto  Local Address          Foreign Address        State           PID\r\n",
            TableDialect::WindowsJa => "\r\nアクティブな接続\r\n\r\n  プロトコル  ローカル アドレス      外部アドレス           状態\r\n",
            TableDialect::Linux => "Active Internet connections (servers and established)\nProto Recv-Q Send-Q Local Address           Foreign Address         State      \n",
            TableDialect::Ss => "State      Recv-Q Send-Q   Local Address:Port     Peer Address:Port  Process\n",
            TableDialect::Bsd => "Active Internet connections (including servers)\nProto Recv-Q Send-Q  Local Address          Foreign Address        (state)\n",
        }
    }
}

fn row(
    d: TableDialect,
    local: (Option<IpAddr>, u16),
    remote: (Option<IpAddr>, Option<u16>),
    state: &str,
) -> String {
    let l = address(d, local.0, Some(local.1));
    let r = address(d, remote.0, remote.1);
    match d {
        TableDialect::WindowsEn | TableDialect::WindowsJa => {
            let state = if state == "LISTEN" {
                "LISTENING"
            } else {
                state
            };
            let pid = if d == TableDialect::WindowsEn {
                "     1234"
            } else {
                ""
            };
            format!("  TCP    {l:<22} {r:<22} {state}{pid}")
        }
        TableDialect::Linux => format!("tcp        0      1 {l:<23} {r:<23} {state}"),
        TableDialect::Ss => {
            let state = match state {
                "ESTABLISHED" => "ESTAB",
                "SYN_SENT" => "SYN-SENT",
                s => s,
            };
            format!("{state:<10} 0      1      {l:>20} {r:>20}")
        }
        TableDialect::Bsd => format!("tcp4       0      0  {l:<22} {r:<22} {state}"),
    }
}

/// An address and port as the dialect writes them (Windows: `[v6]:port`, `0` for no port;
/// BSD: `addr.port`; `*` for a wildcard elsewhere).
fn address(d: TableDialect, ip: Option<IpAddr>, port: Option<u16>) -> String {
    let port_text = port.map_or("*".to_string(), |p| p.to_string());
    match d {
        TableDialect::WindowsEn | TableDialect::WindowsJa => match ip {
            Some(IpAddr::V6(v6)) => format!("[{v6}]:{}", port.unwrap_or(0)),
            Some(v4) => format!("{v4}:{}", port.unwrap_or(0)),
            None => format!("0.0.0.0:{}", port.unwrap_or(0)),
        },
        TableDialect::Bsd => format!(
            "{}.{port_text}",
            ip.map_or("*".to_string(), |i| i.to_string())
        ),
        TableDialect::Linux | TableDialect::Ss => {
            format!(
                "{}:{port_text}",
                ip.map_or("0.0.0.0".to_string(), |i| i.to_string())
            )
        }
    }
}
