//! Small gzip files decoded in one call each, with one decoder kept per thread.
//!
//! Object stores hold load-balancer logs as many gzip files of a few KiB. Streaming each
//! through zlib set up a fresh inflate state (a zeroed 32 KiB window and tables) per file,
//! and inflating a whole buffer at once is about twice as fast as streaming it (libdeflate
//! against zlib-rs, see BENCHMARKS.md). Anything this path does not finish cleanly (corrupt
//! or truncated data, trailing bytes that are not a gzip member, output past the cap) is
//! left to the streaming decoder from the first byte, so what a damaged file yields and
//! the error it ends with stay the same.

use std::cell::RefCell;
use std::io::{self, Read};
use std::ptr::NonNull;

use libdeflate_sys as sys;

/// Stored files up to this size are read whole and decoded in one call.
pub const STORED_LIMIT: usize = 256 << 10;

/// Decoded bytes one file may take on this path; a file that inflates past it (a
/// compression bomb, a very repetitive log) is streamed instead, in bounded memory.
pub const DECODED_LIMIT: usize = 8 << 20;

/// The gzip header flag saying a CRC-16 of the header follows it (RFC 1952, FHCRC).
const HEADER_CRC_FLAG: u8 = 0x02;

/// The first output buffer when the trailer's size hint is missing or unusable.
const FIRST_GUESS: usize = 64 << 10;

/// A libdeflate decompressor, owned and freed by this thread.
struct Decompressor(NonNull<sys::libdeflate_decompressor>);

impl Decompressor {
    fn new() -> Option<Self> {
        // SAFETY: allocation has no preconditions; a null result is handled.
        NonNull::new(unsafe { sys::libdeflate_alloc_decompressor() }).map(Decompressor)
    }
}

impl Drop for Decompressor {
    fn drop(&mut self) {
        // SAFETY: the pointer came from libdeflate_alloc_decompressor and is freed once.
        unsafe { sys::libdeflate_free_decompressor(self.0.as_ptr()) }
    }
}

/// How one member's decoding went.
enum Member {
    /// Stored bytes the member took.
    Decoded { used: usize },
    /// The output needs more room than it was given.
    NeedsRoom,
    /// Not a valid gzip member (or a failed check sum or size).
    Bad,
}

impl Decompressor {
    /// Decodes the gzip member at the start of `stored` into `out`'s spare capacity.
    fn member(&mut self, stored: &[u8], out: &mut Vec<u8>) -> Member {
        let spare = out.spare_capacity_mut();
        let (mut used, mut wrote) = (0usize, 0usize);
        // SAFETY: the input and output pointers and lengths describe live, disjoint
        // buffers; libdeflate writes at most `spare.len()` bytes and reports how many.
        let result = unsafe {
            sys::libdeflate_gzip_decompress_ex(
                self.0.as_ptr(),
                stored.as_ptr().cast(),
                stored.len(),
                spare.as_mut_ptr().cast(),
                spare.len(),
                &mut used,
                &mut wrote,
            )
        };
        match result {
            sys::libdeflate_result_LIBDEFLATE_SUCCESS => {
                // SAFETY: libdeflate initialised `wrote` bytes of the spare capacity.
                unsafe { out.set_len(out.len() + wrote) };
                Member::Decoded { used }
            }
            sys::libdeflate_result_LIBDEFLATE_INSUFFICIENT_SPACE => Member::NeedsRoom,
            _ => Member::Bad,
        }
    }
}

thread_local! {
    static DECOMPRESSOR: RefCell<Option<Decompressor>> = const { RefCell::new(None) };
    /// The last output buffer given back, so a folder of files reuses one allocation.
    static SPARE_OUTPUT: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// The decoded bytes of `stored` (one or more whole gzip members and nothing after them),
/// or None when the streaming decoder should take the file instead.
pub fn decode(stored: &[u8]) -> Option<WholeDecoded> {
    let mut out = SPARE_OUTPUT.with(|s| std::mem::take(&mut *s.borrow_mut()));
    out.clear();
    let decoded = DECOMPRESSOR.with(|d| {
        let mut slot = d.borrow_mut();
        if slot.is_none() {
            *slot = Decompressor::new();
        }
        decode_members(slot.as_mut()?, stored, &mut out).then_some(())
    });
    match decoded {
        Some(()) => Some(WholeDecoded { bytes: out, at: 0 }),
        None => {
            give_back(out);
            None
        }
    }
}

fn decode_members(decompressor: &mut Decompressor, stored: &[u8], out: &mut Vec<u8>) -> bool {
    // No member at all is not a gzip file (the stream says so at its end).
    if stored.is_empty() {
        return false;
    }
    let mut rest = stored;
    let mut room = size_hint(stored);
    while !rest.is_empty() {
        // libdeflate skips a header's own check sum where the stream checks it: such a
        // member (rare) is left to the stream, so a damaged header is still reported.
        if rest
            .get(3)
            .is_some_and(|flags| flags & HEADER_CRC_FLAG != 0)
        {
            return false;
        }
        if out.capacity() - out.len() < room {
            out.reserve(room);
        }
        match decompressor.member(rest, out) {
            Member::Decoded { used } => rest = &rest[used..],
            Member::NeedsRoom => {
                // A member's size is known only once it is decoded: try again with twice
                // the room, up to the cap.
                let tried = out.capacity() - out.len();
                if out.len() + tried > DECODED_LIMIT {
                    return false;
                }
                room = (tried.max(FIRST_GUESS) * 2).min(DECODED_LIMIT - out.len() + 1);
            }
            Member::Bad => return false,
        }
        if out.len() > DECODED_LIMIT {
            return false;
        }
    }
    true
}

/// The output room to start with: the trailer's size of the last member (exact for the
/// usual one-member file), within the cap.
fn size_hint(stored: &[u8]) -> usize {
    let trailer = stored.len().checked_sub(4).map(|at| &stored[at..]);
    let isize = trailer.map_or(0, |t| u32::from_le_bytes([t[0], t[1], t[2], t[3]]) as usize);
    if isize == 0 || isize > DECODED_LIMIT {
        FIRST_GUESS
    } else {
        isize
    }
}

/// Largest output buffer a thread keeps for the next file: object-store logs decode to a
/// few KiB, and a thread must not hold 8 MiB after one large file.
const SPARE_LIMIT: usize = 1 << 20;

fn give_back(mut buffer: Vec<u8>) {
    if buffer.capacity() <= SPARE_LIMIT {
        buffer.clear();
        SPARE_OUTPUT.with(|s| {
            let mut spare = s.borrow_mut();
            if buffer.capacity() > spare.capacity() {
                *spare = buffer;
            }
        });
    }
}

/// A small file's decoded bytes, read like the stream they came from.
pub struct WholeDecoded {
    bytes: Vec<u8>,
    at: usize,
}

impl WholeDecoded {
    /// The bytes not yet read.
    pub fn unread(&self) -> &[u8] {
        &self.bytes[self.at..]
    }
}

impl WholeDecoded {
    /// The bytes, taken out, when none has been read yet and they number at most `limit`.
    pub fn take_unread(&mut self, limit: usize) -> Option<Vec<u8>> {
        (self.at == 0 && self.bytes.len() <= limit).then(|| std::mem::take(&mut self.bytes))
    }
}

impl Read for WholeDecoded {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let unread = self.unread();
        let n = unread.len().min(buf.len());
        buf[..n].copy_from_slice(&unread[..n]);
        self.at += n;
        Ok(n)
    }
}

impl Drop for WholeDecoded {
    fn drop(&mut self) {
        give_back(std::mem::take(&mut self.bytes));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::write::GzEncoder;
    use std::io::Write;

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut e = GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(bytes).unwrap();
        e.finish().unwrap()
    }

    fn streamed(stored: &[u8]) -> (Vec<u8>, bool) {
        let mut d = flate2::read::MultiGzDecoder::new(stored);
        let mut out = Vec::new();
        let failed = d.read_to_end(&mut out).is_err();
        (out, failed)
    }

    fn whole(stored: &[u8]) -> Option<Vec<u8>> {
        decode(stored).map(|mut w| {
            let mut out = Vec::new();
            w.read_to_end(&mut out).unwrap();
            out
        })
    }

    #[test]
    fn one_member_decodes_as_the_stream_does() {
        let text = b"2001-08-04 00:00:00 GET /default.ida 404\n".repeat(500);
        assert_eq!(whole(&gzip(&text)).unwrap(), text);
    }

    #[test]
    fn every_member_of_a_concatenation_is_decoded() {
        // Equal members have equal trailers: only the bytes used tell where one ends.
        let member = gzip(b"GET /a 200\n");
        let stored = [member.clone(), member.clone(), gzip(b"")].concat();
        assert_eq!(whole(&stored).unwrap(), b"GET /a 200\nGET /a 200\n");
    }

    #[test]
    fn a_short_size_hint_only_costs_retries() {
        // The hint is the last member's size: here far less than the first member needs.
        let text: Vec<u8> = (0..300_000u32).map(|i| (i % 97) as u8).collect();
        let stored = [gzip(&text), gzip(b"small")].concat();
        assert_eq!(whole(&stored).unwrap(), [&text[..], b"small"].concat());
    }

    #[test]
    fn a_trailer_that_lies_about_the_size_is_left_to_the_stream() {
        let mut stored = gzip(b"GET /default.ida 404\n");
        let len = stored.len();
        stored[len - 4..].copy_from_slice(&1u32.to_le_bytes());
        assert!(whole(&stored).is_none());
        assert!(streamed(&stored).1);
    }

    #[test]
    fn damaged_or_trailing_bytes_go_to_the_stream() {
        let good = gzip(&b"GET /scripts/root.exe 404\n".repeat(100));
        let cut = &good[..good.len() - 9];
        assert!(whole(cut).is_none());
        assert!(streamed(cut).1);
        let mut padded = good.clone();
        padded.extend_from_slice(&[0; 16]);
        assert!(whole(&padded).is_none());
        let mut flipped = good.clone();
        let mid = flipped.len() / 2;
        flipped[mid] ^= 0x55;
        assert!(whole(&flipped).is_none());
    }

    #[test]
    fn a_member_with_a_header_check_sum_is_left_to_the_stream() {
        let member = gzip(b"GET /a 200\n");
        // The header with FHCRC set and a wrong CRC-16 after it: only the stream checks it.
        let mut stored = member[..10].to_vec();
        stored[3] |= HEADER_CRC_FLAG;
        stored.extend_from_slice(&[0xde, 0xad]);
        stored.extend_from_slice(&member[10..]);
        assert!(whole(&stored).is_none());
        assert!(streamed(&stored).1);
        let second = [member.clone(), stored].concat();
        assert!(whole(&second).is_none());
    }

    #[test]
    fn output_past_the_cap_is_left_to_the_stream() {
        let bomb = gzip(&vec![b'A'; DECODED_LIMIT + 1]);
        assert!(bomb.len() < STORED_LIMIT);
        assert!(whole(&bomb).is_none());
        let fits = gzip(&vec![b'A'; DECODED_LIMIT]);
        assert_eq!(whole(&fits).unwrap().len(), DECODED_LIMIT);
    }

    #[test]
    fn a_thread_keeps_a_small_buffer_only() {
        let small = gzip(&b"GET /a 200\n".repeat(1000));
        drop(decode(&small).unwrap());
        let kept = SPARE_OUTPUT.with(|s| s.borrow().capacity());
        assert!(kept > 0 && kept <= SPARE_LIMIT, "{kept}");
        drop(decode(&gzip(&vec![b'A'; 4 << 20])).unwrap());
        let kept = SPARE_OUTPUT.with(|s| s.borrow().capacity());
        assert!(kept <= SPARE_LIMIT, "{kept}");
    }

    #[test]
    fn no_bytes_are_no_gzip_file() {
        assert!(whole(b"").is_none());
        assert!(streamed(b"").1);
    }

    #[test]
    fn reads_hand_out_every_byte_once() {
        let text: Vec<u8> = (0..70_000u32).map(|i| (i % 251) as u8).collect();
        let mut w = decode(&gzip(&text)).unwrap();
        let mut out = Vec::new();
        let mut chunk = [0u8; 4093];
        loop {
            let n = w.read(&mut chunk).unwrap();
            if n == 0 {
                break;
            }
            out.extend_from_slice(&chunk[..n]);
        }
        assert_eq!(out, text);
    }
}
