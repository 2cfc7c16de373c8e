//! Frames of a pcap or pcapng file: pcap in both byte orders with micro- or nanosecond
//! stamps, pcapng with any number of sections and interfaces (each with its own link type
//! and stamp resolution). Read with `pcap-parser` through a bounded, growing buffer.

use std::io::Read;

use pcap_parser::pcapng::Block;
use pcap_parser::{create_reader, PcapBlockOwned, PcapError};
use thiserror::Error;

/// The capture file kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaptureKind {
    /// libpcap's format (either byte order, micro- or nanosecond stamps).
    Pcap,
    /// pcapng.
    PcapNg,
}

impl CaptureKind {
    /// From the first four bytes (None: not a capture).
    pub fn sniff(head: &[u8]) -> Option<CaptureKind> {
        let magic: [u8; 4] = head.get(..4)?.try_into().ok()?;
        match magic {
            [0xd4, 0xc3, 0xb2, 0xa1]
            | [0xa1, 0xb2, 0xc3, 0xd4]
            | [0x4d, 0x3c, 0xb2, 0xa1]
            | [0xa1, 0xb2, 0x3c, 0x4d] => Some(CaptureKind::Pcap),
            [0x0a, 0x0d, 0x0d, 0x0a] => Some(CaptureKind::PcapNg),
            _ => None,
        }
    }

    /// Name as written in outputs.
    pub fn name(self) -> &'static str {
        match self {
            CaptureKind::Pcap => "pcap",
            CaptureKind::PcapNg => "pcapng",
        }
    }
}

/// One captured frame.
#[derive(Debug, Clone, Copy)]
pub struct Frame<'d> {
    /// 1-based, counting every packet block of the file (as Wireshark numbers them).
    pub number: u64,
    /// Seconds and nanoseconds since 1970 (0 when the block carries no stamp).
    pub secs: i64,
    pub nanos: u32,
    /// The link-layer header type (LINKTYPE_*).
    pub link_type: i32,
    pub data: &'d [u8],
}

/// Why a capture could not be read on (frames before the error were delivered).
#[derive(Debug, Error)]
pub enum CaptureError {
    /// The magic number is neither pcap's nor pcapng's.
    #[error("not a pcap or pcapng file")]
    NotACapture,
    /// The file ends inside a block.
    #[error("capture is truncated after frame {0}")]
    Truncated(u64),
    /// A block could not be parsed.
    #[error("capture is corrupt after frame {frame}: {reason}")]
    Corrupt {
        /// Frames read before it.
        frame: u64,
        /// The parser's complaint.
        reason: String,
    },
    /// A block claims more than [`MAX_BLOCK`] bytes.
    #[error("a block after frame {0} is larger than {MAX_BLOCK} bytes")]
    BlockTooLarge(u64),
    /// The underlying reader failed.
    #[error("read error after frame {0}")]
    Read(u64),
}

/// Buffer the reader starts with.
const START_BUFFER: usize = 1 << 20;
/// Largest block accepted: snap lengths top out at 256 KiB, so this leaves room for odd writers.
pub const MAX_BLOCK: usize = 16 << 20;

/// One interface of a pcapng section.
#[derive(Debug, Clone, Copy)]
struct Interface {
    link_type: i32,
    /// Stamp units per second.
    resolution: u64,
    offset_secs: i64,
}

#[derive(Debug, Default)]
struct State {
    frames: u64,
    /// pcap: the file's link type and whether stamps are nanoseconds.
    legacy: Option<(i32, bool)>,
    interfaces: Vec<Interface>,
}

/// Calls `on_frame` with every frame, in file order. Returns the frame count.
pub fn read_frames<R: Read + Send>(
    reader: R,
    on_frame: &mut dyn FnMut(&Frame),
) -> Result<u64, CaptureError> {
    let mut pcap = create_reader(START_BUFFER, reader).map_err(|e| match e {
        PcapError::HeaderNotRecognized => CaptureError::NotACapture,
        PcapError::ReadError => CaptureError::Read(0),
        _ => CaptureError::Truncated(0),
    })?;
    let mut state = State::default();
    let mut capacity = START_BUFFER;
    loop {
        match pcap.next() {
            Ok((used, block)) => {
                state.block(block, on_frame);
                // Not `consume`: it moves the unread half of the buffer down each time the
                // reader passes the middle; `refill` moves only the block left unfinished.
                pcap.consume_noshift(used);
            }
            Err(PcapError::Eof) => return Ok(state.frames),
            Err(PcapError::Incomplete(_)) => refill(&mut *pcap, &state)?,
            Err(PcapError::BufferTooSmall) => {
                if capacity >= MAX_BLOCK || !pcap.grow(capacity * 2) {
                    return Err(CaptureError::BlockTooLarge(state.frames));
                }
                capacity *= 2;
                refill(&mut *pcap, &state)?;
            }
            Err(PcapError::UnexpectedEof) => return Err(CaptureError::Truncated(state.frames)),
            Err(e) => {
                return Err(CaptureError::Corrupt {
                    frame: state.frames,
                    reason: format!("{e:?}").chars().take(120).collect(),
                })
            }
        }
    }
}

fn refill(
    pcap: &mut dyn pcap_parser::traits::PcapReaderIterator,
    state: &State,
) -> Result<(), CaptureError> {
    pcap.refill().map_err(|_| CaptureError::Read(state.frames))
}

impl State {
    fn block(&mut self, block: PcapBlockOwned, on_frame: &mut dyn FnMut(&Frame)) {
        match block {
            PcapBlockOwned::LegacyHeader(h) => {
                self.legacy = Some((h.network.0, h.is_nanosecond_precision()));
            }
            PcapBlockOwned::Legacy(b) => {
                let (link_type, nanosecond) = self.legacy.unwrap_or((1, false));
                // Damaged stamps must not overflow: clamp to the second.
                let scale = if nanosecond { 1 } else { 1000 };
                let nanos = (u64::from(b.ts_usec) * scale).min(999_999_999) as u32;
                self.deliver(b.ts_sec as i64, nanos, link_type, b.data, on_frame);
            }
            PcapBlockOwned::NG(b) => self.ng_block(b, on_frame),
        }
    }

    fn ng_block(&mut self, block: Block, on_frame: &mut dyn FnMut(&Frame)) {
        match block {
            Block::SectionHeader(_) => self.interfaces.clear(),
            Block::InterfaceDescription(idb) => self.interfaces.push(Interface {
                link_type: idb.linktype.0,
                resolution: idb.ts_resolution().unwrap_or(1_000_000),
                offset_secs: idb.ts_offset(),
            }),
            Block::EnhancedPacket(epb) => {
                let Some(iface) = self.interfaces.get(epb.if_id as usize).copied() else {
                    self.frames += 1;
                    return;
                };
                let ticks = (u64::from(epb.ts_high) << 32) | u64::from(epb.ts_low);
                let secs = ((ticks / iface.resolution) as i64).saturating_add(iface.offset_secs);
                let frac = ticks % iface.resolution;
                let nanos =
                    (u128::from(frac) * 1_000_000_000 / u128::from(iface.resolution)) as u32;
                let data = &epb.data[..(epb.caplen as usize).min(epb.data.len())];
                self.deliver(secs, nanos, iface.link_type, data, on_frame);
            }
            Block::SimplePacket(spb) => {
                let link_type = self.interfaces.first().map_or(1, |i| i.link_type);
                self.deliver(0, 0, link_type, spb.data, on_frame);
            }
            _ => {}
        }
    }

    fn deliver(
        &mut self,
        secs: i64,
        nanos: u32,
        link_type: i32,
        data: &[u8],
        on_frame: &mut dyn FnMut(&Frame),
    ) {
        self.frames += 1;
        on_frame(&Frame {
            number: self.frames,
            secs,
            nanos,
            link_type,
            data,
        });
    }
}
