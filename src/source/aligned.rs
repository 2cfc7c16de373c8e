//! Page-aligned read buffers: `read()` into a buffer 16 bytes off 64-byte alignment ran
//! 3-4x slower on this machine (perf-notes), and `Vec` gives no alignment.

/// Bytes of a memory page: the alignment of read buffers.
pub const PAGE: usize = 4096;

/// `n` rounded up to whole pages.
pub fn round_to_page(n: usize) -> usize {
    n.div_ceil(PAGE) * PAGE
}

thread_local! {
    static SPARE: std::cell::RefCell<Option<AlignedBuffer>> = const { std::cell::RefCell::new(None) };
}

/// A byte buffer whose start is page-aligned.
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

    /// Usable bytes.
    pub fn len(&self) -> usize {
        self.storage.len() - PAGE
    }

    /// Whether it has no usable bytes.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A buffer of at least `len` bytes: this thread's spare one when it is large enough
    /// (zeroing a fresh 2 MiB buffer for each of 10,000 small files was a fifth of the time).
    pub fn take(len: usize) -> AlignedBuffer {
        SPARE
            .with(|spare| spare.borrow_mut().take())
            .filter(|b| b.len() >= len)
            .unwrap_or_else(|| AlignedBuffer::new(len))
    }

    /// Keeps this buffer as the thread's spare.
    pub fn give_back(self) {
        SPARE.with(|spare| *spare.borrow_mut() = Some(self));
    }

    /// The usable bytes.
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        let len = self.storage.len() - PAGE;
        &mut self.storage[self.start..self.start + len]
    }
}
