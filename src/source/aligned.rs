//! Page-aligned read buffers: `read()` into a buffer 16 bytes off 64-byte alignment ran
//! 3-4x slower on this machine (perf-notes), and `Vec` gives no alignment.

/// Bytes of a memory page: the alignment of read buffers.
pub const PAGE: usize = 4096;

/// `n` rounded up to whole pages.
pub fn round_to_page(n: usize) -> usize {
    n.div_ceil(PAGE) * PAGE
}

/// A zeroed byte buffer whose start is page-aligned.
pub struct AlignedBuffer {
    storage: Vec<u8>,
    start: usize,
}

impl AlignedBuffer {
    /// A buffer of `len` usable bytes.
    pub fn new(len: usize) -> Self {
        let storage = vec![0; len + PAGE];
        let start = storage.as_ptr().align_offset(PAGE);
        AlignedBuffer { storage, start }
    }

    /// The usable bytes.
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        let len = self.storage.len() - PAGE;
        &mut self.storage[self.start..self.start + len]
    }
}
