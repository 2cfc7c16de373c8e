//! From a frame to a TCP segment: link layers Ethernet (with VLAN tags), Linux cooked
//! (SLL and SLL2), raw IP and BSD loopback; IPv4 and IPv6. Parsed with `etherparse` in its
//! lax mode, so frames cut short by a snap length still give what they hold.

use std::net::{IpAddr, SocketAddr};

use etherparse::{EtherType, LaxNetSlice, LaxSlicedPacket, TransportSlice};

/// LINKTYPE_* values read (tcpdump.org/linktypes.html).
pub mod link_types {
    pub const NULL: i32 = 0;
    pub const ETHERNET: i32 = 1;
    pub const RAW_BSD: i32 = 12;
    pub const RAW_OPENBSD: i32 = 14;
    pub const RAW: i32 = 101;
    pub const LOOP: i32 = 108;
    pub const LINUX_SLL: i32 = 113;
    pub const IPV4: i32 = 228;
    pub const IPV6: i32 = 229;
    pub const LINUX_SLL2: i32 = 276;
}

/// The TCP part of a frame.
#[derive(Debug, Clone, Copy)]
pub struct Segment<'d> {
    pub src: SocketAddr,
    pub dst: SocketAddr,
    pub seq: u32,
    pub syn: bool,
    pub ack: bool,
    pub fin: bool,
    pub rst: bool,
    pub payload: &'d [u8],
}

/// What a frame was, when it was not a TCP segment that could be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skip {
    /// A link type not read.
    LinkType,
    /// Not IP, or IP but not TCP (UDP, ICMP, ...).
    NotTcp,
    /// A later IP fragment: its TCP header is in another frame.
    Fragment,
    /// Headers cut or damaged.
    Malformed,
}

/// Decodes the TCP segment in a frame.
pub fn tcp_segment(link_type: i32, data: &[u8]) -> Result<Segment<'_>, Skip> {
    use link_types::*;
    let packet = match link_type {
        ETHERNET => LaxSlicedPacket::from_ethernet(data).map_err(|_| Skip::Malformed)?,
        LINUX_SLL => cooked(data, 16, 14)?,
        LINUX_SLL2 => cooked(data, 20, 0)?,
        RAW | RAW_BSD | RAW_OPENBSD | IPV4 | IPV6 => {
            LaxSlicedPacket::from_ip(data).map_err(|_| Skip::Malformed)?
        }
        NULL | LOOP => loopback(data)?,
        _ => return Err(Skip::LinkType),
    };
    segment_of(&packet)
}

/// Linux cooked headers: the protocol (an EtherType) sits at `proto_at`.
fn cooked(data: &[u8], header_len: usize, proto_at: usize) -> Result<LaxSlicedPacket<'_>, Skip> {
    let proto = data.get(proto_at..proto_at + 2).ok_or(Skip::Malformed)?;
    let rest = data.get(header_len..).ok_or(Skip::Malformed)?;
    let ether_type = EtherType(u16::from_be_bytes([proto[0], proto[1]]));
    Ok(LaxSlicedPacket::from_ether_type(ether_type, rest))
}

/// BSD loopback: a 4-byte address family in the writer's byte order, then IP.
fn loopback(data: &[u8]) -> Result<LaxSlicedPacket<'_>, Skip> {
    let rest = data.get(4..).ok_or(Skip::Malformed)?;
    LaxSlicedPacket::from_ip(rest).map_err(|_| Skip::Malformed)
}

fn segment_of<'d>(packet: &LaxSlicedPacket<'d>) -> Result<Segment<'d>, Skip> {
    let (src, dst, fragmented) = match &packet.net {
        Some(LaxNetSlice::Ipv4(ip)) => {
            let h = ip.header();
            (
                IpAddr::V4(h.source_addr()),
                IpAddr::V4(h.destination_addr()),
                h.fragments_offset().value() > 0,
            )
        }
        Some(LaxNetSlice::Ipv6(ip)) => {
            let h = ip.header();
            (
                IpAddr::V6(h.source_addr()),
                IpAddr::V6(h.destination_addr()),
                ip.is_payload_fragmented(),
            )
        }
        _ => return Err(Skip::NotTcp),
    };
    match &packet.transport {
        Some(TransportSlice::Tcp(tcp)) => Ok(Segment {
            src: SocketAddr::new(src, tcp.source_port()),
            dst: SocketAddr::new(dst, tcp.destination_port()),
            seq: tcp.sequence_number(),
            syn: tcp.syn(),
            ack: tcp.ack(),
            fin: tcp.fin(),
            rst: tcp.rst(),
            payload: tcp.payload(),
        }),
        Some(_) => Err(Skip::NotTcp),
        None if fragmented => Err(Skip::Fragment),
        None if packet.stop_err.is_some() => Err(Skip::Malformed),
        None => Err(Skip::NotTcp),
    }
}
