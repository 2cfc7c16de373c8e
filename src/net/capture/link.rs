//! From a frame to a TCP segment: link layers Ethernet (with VLAN tags), Linux cooked
//! (SLL and SLL2), raw IP and BSD loopback; IPv4 and IPv6. Parsed with `etherparse` in its
//! lax mode, so frames cut short by a snap length still give what they hold.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
    // Nearly every frame of a web server's capture is Ethernet, IPv4 and TCP, whole: read it
    // directly (etherparse's general walk was an eighth of a capture's instructions).
    let common = match link_type {
        ETHERNET => ethernet_ipv4(data),
        RAW | RAW_BSD | RAW_OPENBSD | IPV4 => Some(data),
        _ => None,
    };
    if let Some(segment) = common.and_then(whole_ipv4_tcp) {
        return Ok(segment);
    }
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

/// The IPv4 packet of an Ethernet II frame without VLAN tags.
fn ethernet_ipv4(frame: &[u8]) -> Option<&[u8]> {
    const IPV4: [u8; 2] = [0x08, 0x00];
    (frame.get(12..14)? == IPV4).then(|| &frame[14..])
}

/// An IPv4 packet that is one whole TCP segment: version 4, not a fragment, every length
/// consistent and inside the bytes captured. Anything else (cut by a snap length, padded
/// lengths of zero, fragments, IPv6) is `None` and left to etherparse, which gives the same
/// segment for every packet this reads (a property test holds them equal).
fn whole_ipv4_tcp(ip: &[u8]) -> Option<Segment<'_>> {
    let (&first, _) = ip.split_first()?;
    let header_len = usize::from(first & 0x0f) * 4;
    let total_len = usize::from(u16::from_be_bytes([*ip.get(2)?, *ip.get(3)?]));
    let fragment = u16::from_be_bytes([*ip.get(6)?, *ip.get(7)?]) & 0x3fff;
    const TCP: u8 = 6;
    if first >> 4 != 4
        || header_len < 20
        || total_len < header_len
        || total_len > ip.len()
        || fragment != 0
        || ip[9] != TCP
    {
        return None;
    }
    let tcp = &ip[header_len..total_len];
    let data_offset = usize::from(*tcp.get(12)? >> 4) * 4;
    if data_offset < 20 || data_offset > tcp.len() {
        return None;
    }
    let address = |at: usize| Ipv4Addr::new(ip[at], ip[at + 1], ip[at + 2], ip[at + 3]);
    let port = |at: usize| u16::from_be_bytes([tcp[at], tcp[at + 1]]);
    let flags = tcp[13];
    Some(Segment {
        src: SocketAddr::new(IpAddr::V4(address(12)), port(0)),
        dst: SocketAddr::new(IpAddr::V4(address(16)), port(2)),
        seq: u32::from_be_bytes([tcp[4], tcp[5], tcp[6], tcp[7]]),
        syn: flags & 0x02 != 0,
        ack: flags & 0x10 != 0,
        fin: flags & 0x01 != 0,
        rst: flags & 0x04 != 0,
        payload: &tcp[data_offset..],
    })
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The segment etherparse reads from a frame.
    fn by_etherparse(link_type: i32, data: &[u8]) -> Result<Segment<'_>, Skip> {
        let packet = match link_type {
            link_types::ETHERNET => {
                LaxSlicedPacket::from_ethernet(data).map_err(|_| Skip::Malformed)?
            }
            _ => LaxSlicedPacket::from_ip(data).map_err(|_| Skip::Malformed)?,
        };
        segment_of(&packet)
    }

    /// An Ethernet frame of IPv4 and TCP around `payload`, with `options` words of IP options.
    fn frame(payload: &[u8], options: usize) -> Vec<u8> {
        let ip_len = 20 + 4 * options + 20 + payload.len();
        let mut f = vec![0u8; 12];
        f.extend_from_slice(&[0x08, 0x00]);
        f.push(0x45 + options as u8);
        f.push(0);
        f.extend_from_slice(&(ip_len as u16).to_be_bytes());
        f.extend_from_slice(&[0, 1, 0x40, 0, 64, 6, 0, 0, 192, 0, 2, 7, 198, 51, 100, 80]);
        f.extend(std::iter::repeat_n(1u8, 4 * options));
        f.extend_from_slice(&[
            0x04, 0xd2, 0, 80, 0, 0, 1, 0, 0, 0, 0, 0, 0x50, 0x18, 0xff, 0xff,
        ]);
        f.extend_from_slice(&[0, 0, 0, 0]);
        f.extend_from_slice(payload);
        f
    }

    #[test]
    fn a_whole_segment_is_read_directly() {
        let f = frame(b"GET / HTTP/1.0\r\n", 0);
        let direct = ethernet_ipv4(&f)
            .and_then(whole_ipv4_tcp)
            .expect("read directly");
        assert_eq!(direct.payload, b"GET / HTTP/1.0\r\n");
        assert_eq!(direct.src, "192.0.2.7:1234".parse().unwrap());
        assert_eq!(direct.dst, "198.51.100.80:80".parse().unwrap());
        assert!(direct.ack && !direct.syn && !direct.fin && !direct.rst);
        assert_eq!(Ok(direct), by_etherparse(link_types::ETHERNET, &f));
        // Ethernet padding after the IP packet is not payload.
        let mut padded = frame(b"x", 0);
        padded.extend_from_slice(&[0; 6]);
        assert_eq!(
            tcp_segment(link_types::ETHERNET, &padded).unwrap().payload,
            b"x"
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3000))]

        /// Headers with any byte changed and frames cut anywhere: whatever is read directly
        /// is what etherparse reads.
        #[test]
        fn frames_read_directly_are_read_as_etherparse_reads_them(
            payload in prop::collection::vec(any::<u8>(), 0..40),
            options in 0usize..3,
            changes in prop::collection::vec((0usize..80, any::<u8>()), 0..3),
            cut in any::<prop::sample::Index>(),
            raw in any::<bool>(),
        ) {
            let mut f = frame(&payload, options);
            for (at, byte) in changes {
                if let Some(b) = f.get_mut(at) {
                    *b = byte;
                }
            }
            f.truncate(cut.index(f.len() + 1));
            let (link_type, data) = if raw {
                (link_types::RAW, f.get(14..).unwrap_or_default())
            } else {
                (link_types::ETHERNET, &f[..])
            };
            let ip = if raw { Some(data) } else { ethernet_ipv4(data) };
            if let Some(direct) = ip.and_then(whole_ipv4_tcp) {
                prop_assert_eq!(Ok(direct), by_etherparse(link_type, data));
            }
            // The whole decode never fails where etherparse alone would not.
            prop_assert_eq!(tcp_segment(link_type, data), by_etherparse(link_type, data));
        }
    }
}
