//! Bytes read so far, counted where they are read and shared with whoever shows progress.
//! One relaxed atomic add per read call (reads are 256 KiB to 1 MiB), so counting costs
//! nothing measurable.

use std::io::{self, Read};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Stored bytes (as on disk) and decoded bytes (after decompression) read so far.
#[derive(Debug, Default)]
pub struct Progress {
    stored: AtomicU64,
    decoded: AtomicU64,
}

impl Progress {
    /// Adds decoded bytes that did not pass through a [`Counted`] reader (a small file
    /// decoded whole).
    pub fn add_decoded(&self, n: u64) {
        self.decoded.fetch_add(n, Ordering::Relaxed);
    }

    /// Stored bytes read so far.
    pub fn stored(&self) -> u64 {
        self.stored.load(Ordering::Relaxed)
    }

    /// Decoded bytes read so far.
    pub fn decoded(&self) -> u64 {
        self.decoded.load(Ordering::Relaxed)
    }
}

/// Which count a reader adds to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// Bytes as stored.
    Stored,
    /// Bytes after decompression.
    Decoded,
    /// A plain file: stored and decoded bytes are the same.
    Both,
}

/// A reader that adds what passes through it to a [`Progress`].
pub struct Counted<R> {
    inner: R,
    progress: Arc<Progress>,
    side: Side,
}

impl<R> Counted<R> {
    /// Counts what `inner` yields on `side`.
    pub fn new(inner: R, progress: Arc<Progress>, side: Side) -> Self {
        Counted {
            inner,
            progress,
            side,
        }
    }
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let n64 = n as u64;
        if self.side != Side::Decoded {
            self.progress.stored.fetch_add(n64, Ordering::Relaxed);
        }
        if self.side != Side::Stored {
            self.progress.decoded.fetch_add(n64, Ordering::Relaxed);
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_each_side() {
        let progress = Arc::new(Progress::default());
        let mut sink = Vec::new();
        Counted::new(&b"abcd"[..], progress.clone(), Side::Stored)
            .read_to_end(&mut sink)
            .unwrap();
        Counted::new(&b"abcdef"[..], progress.clone(), Side::Decoded)
            .read_to_end(&mut sink)
            .unwrap();
        Counted::new(&b"xy"[..], progress.clone(), Side::Both)
            .read_to_end(&mut sink)
            .unwrap();
        assert_eq!((progress.stored(), progress.decoded()), (6, 8));
    }
}
