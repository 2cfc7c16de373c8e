//! SHA-256 and size of the bytes an input stores, computed as they are read.

use std::io::{self, Read};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::thread::JoinHandle;

use sha2::{Digest as _, Sha256};

/// SHA-256 (hex) and size in bytes of one input as stored.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Digest {
    /// None when the run was asked not to hash (`--hash none`).
    pub sha256: Option<String>,
    pub size: u64,
}

/// Whether the stored bytes of logs, captures and tables are hashed as they are read.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    serde::Serialize,
    serde::Deserialize,
    clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum HashChoice {
    /// SHA-256 of every input (chain of custody).
    #[default]
    Sha256,
    /// Sizes only: for evidence already hashed at acquisition.
    None,
}

impl HashChoice {
    /// The name used on the command line and in outputs.
    pub fn name(self) -> &'static str {
        match self {
            HashChoice::Sha256 => "sha256",
            HashChoice::None => "none",
        }
    }
}

/// Bytes hashed on the reading thread before hashing moves to a helper thread: small
/// inputs are not worth a thread, large ones would spend half their time in SHA-256.
const INLINE_LIMIT: u64 = 4 << 20;
/// Chunks in flight to the helper thread (bounds memory to this many read sizes).
const CHUNKS_IN_FLIGHT: usize = 4;

/// A reader that hashes everything read through it.
pub struct HashingReader<R> {
    inner: R,
    size: u64,
    hasher: Hasher,
    /// The inner reader said end of input (reading on would only say it again).
    ended: bool,
    /// Where the input ends, when known ([`HashingReader::ending_at`]).
    end_at: Option<u64>,
}

/// Where the hashing happens.
enum Hasher {
    /// Counting only.
    Off,
    Inline(Sha256),
    Helper {
        chunks: SyncSender<Vec<u8>>,
        spare: Receiver<Vec<u8>>,
        done: JoinHandle<Sha256>,
    },
    Finished(Option<String>),
}

impl Hasher {
    fn update(&mut self, bytes: &[u8], size_so_far: u64) {
        if let Hasher::Inline(h) = self {
            if size_so_far < INLINE_LIMIT {
                h.update(bytes);
                return;
            }
            let h = std::mem::take(h);
            *self = Hasher::helper(h);
        }
        if let Hasher::Helper { chunks, spare, .. } = self {
            let mut chunk = spare.try_recv().unwrap_or_default();
            chunk.clear();
            chunk.extend_from_slice(bytes);
            // A send fails only if the helper died; finish() then reports its panic.
            let _ = chunks.send(chunk);
        }
    }

    fn helper(mut hasher: Sha256) -> Hasher {
        let (chunks, incoming) = sync_channel::<Vec<u8>>(CHUNKS_IN_FLIGHT);
        let (give_back, spare) = sync_channel::<Vec<u8>>(CHUNKS_IN_FLIGHT + 1);
        let done = std::thread::spawn(move || {
            for chunk in incoming {
                hasher.update(&chunk);
                let _ = give_back.try_send(chunk);
            }
            hasher
        });
        Hasher::Helper {
            chunks,
            spare,
            done,
        }
    }

    fn finish(&mut self) -> Option<String> {
        let hasher = std::mem::replace(self, Hasher::Finished(None));
        let hex_digest = match hasher {
            Hasher::Off => None,
            Hasher::Inline(h) => Some(hex(&h.finalize())),
            Hasher::Helper { chunks, done, .. } => {
                drop(chunks);
                match done.join() {
                    Ok(h) => Some(hex(&h.finalize())),
                    Err(_) => Some(String::from("(hashing failed)")),
                }
            }
            Hasher::Finished(d) => d,
        };
        *self = Hasher::Finished(hex_digest.clone());
        hex_digest
    }
}

impl<R: Read> HashingReader<R> {
    /// Wraps `inner`, hashing what is read through it.
    pub fn new(inner: R) -> Self {
        Self::with_choice(inner, HashChoice::Sha256)
    }

    /// Wraps `inner`; with [`HashChoice::None`] it only counts the bytes.
    pub fn with_choice(inner: R, choice: HashChoice) -> Self {
        let hasher = match choice {
            HashChoice::Sha256 => Hasher::Inline(Sha256::new()),
            HashChoice::None => Hasher::Off,
        };
        HashingReader {
            inner,
            size: 0,
            hasher,
            ended: false,
            end_at: None,
        }
    }

    /// Ends the input once `size` bytes are read (a regular file's size when it was opened,
    /// when above zero): the read that would only say "end of file" is not made. A log that
    /// grows while it is read is read up to where it was when opened (or as far as the read
    /// that reached that point went), and the size and digest recorded are of those bytes.
    pub fn ending_at(mut self, size: Option<u64>) -> Self {
        self.end_at = size.filter(|&n| n > 0);
        self
    }

    /// The digest of everything read; reading after this is not hashed.
    pub fn finish(&mut self) -> Digest {
        Digest {
            sha256: self.hasher.finish(),
            size: self.size,
        }
    }
}

impl<R> HashingReader<R> {
    /// Whether the inner reader has reached its end.
    pub fn ended(&self) -> bool {
        self.ended
    }
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.ended || buf.is_empty() {
            return Ok(0);
        }
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n], self.size);
        self.size += n as u64;
        self.ended = n == 0 || self.end_at.is_some_and(|end| self.size >= end);
        Ok(n)
    }
}

impl Digest {
    /// The digest of bytes already in memory.
    pub fn of_bytes(bytes: &[u8]) -> Digest {
        Digest {
            sha256: Some(hex(&Sha256::digest(bytes))),
            size: bytes.len() as u64,
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    // Built without `format!`: folders of many small files hash one input every few µs.
    let mut out = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

/// SHA-256 and size of the first `size` bytes of `file`, read with positioned reads (so the
/// file's own offset is left alone for other readers) into an aligned buffer.
pub fn digest_of_file(file: &std::fs::File, size: u64) -> io::Result<Digest> {
    use std::os::unix::fs::FileExt;
    const BLOCK: usize = 1 << 20;
    let mut buffer = super::aligned::AlignedBuffer::new(BLOCK);
    let buf = buffer.as_mut_slice();
    let mut hasher = Sha256::new();
    let mut at = 0u64;
    while at < size {
        let want = ((size - at) as usize).min(BLOCK);
        let n = match file.read_at(&mut buf[..want], at) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        hasher.update(&buf[..n]);
        at += n as u64;
    }
    Ok(Digest {
        sha256: Some(hex(&hasher.finalize())),
        size: at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_hashing_only_the_size_is_kept() {
        let mut r = HashingReader::with_choice(&b"abc"[..], HashChoice::None);
        io::copy(&mut r, &mut io::sink()).unwrap();
        assert_eq!(
            r.finish(),
            Digest {
                sha256: None,
                size: 3
            }
        );
    }

    /// Counts the reads made of it.
    struct CountedReads<'a>(&'a [u8], usize);

    impl Read for CountedReads<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            self.1 += 1;
            self.0.read(buf)
        }
    }

    #[test]
    fn a_file_of_known_size_ends_without_a_read_that_says_so() {
        let mut r = HashingReader::new(CountedReads(b"abcdef", 0)).ending_at(Some(6));
        io::copy(&mut r, &mut io::sink()).unwrap();
        assert!(r.ended());
        assert_eq!(
            r.inner.1, 1,
            "one read brought all six bytes, none asked for more"
        );
        assert_eq!(r.finish().size, 6);
    }

    #[test]
    fn a_size_of_zero_or_a_short_one_still_reads_to_the_end() {
        // Files under /proc say 0 bytes and hold more; a file may grow after its stat.
        for (end, expected) in [(Some(0), 6), (Some(2), 6), (None, 6)] {
            let mut r = HashingReader::new(CountedReads(b"abcdef", 0)).ending_at(end);
            let mut buf = [0u8; 16];
            while r.read(&mut buf).unwrap() > 0 {}
            assert_eq!(r.finish().size, expected, "ending at {end:?}");
        }
        // Grown past the size it was opened at: what that one read brought is kept.
        let mut r = HashingReader::new(CountedReads(b"abcdef", 0)).ending_at(Some(2));
        let mut small = [0u8; 3];
        assert_eq!(r.read(&mut small).unwrap(), 3);
        assert_eq!(r.read(&mut small).unwrap(), 0);
        assert_eq!(r.finish().size, 3);
    }

    #[test]
    fn digest_of_known_input() {
        let mut r = HashingReader::new(&b"abc"[..]);
        io::copy(&mut r, &mut io::sink()).unwrap();
        let d = r.finish();
        assert_eq!(d.size, 3);
        assert_eq!(
            d.sha256.as_deref(),
            Some("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        );
    }

    #[test]
    fn large_inputs_hash_the_same_on_the_helper_thread() {
        let data: Vec<u8> = (0..(INLINE_LIMIT as usize * 3))
            .map(|i| (i % 251) as u8)
            .collect();
        let mut r = HashingReader::new(&data[..]);
        let mut buf = vec![0; 100_000];
        while r.read(&mut buf).unwrap() > 0 {}
        let expected = Some(hex(&Sha256::digest(&data)));
        let d = r.finish();
        assert_eq!((d.sha256, d.size), (expected, data.len() as u64));
    }
}
