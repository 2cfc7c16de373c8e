//! Evidence sources: which inputs a scan reads, opened read-only, decompressed by magic
//! bytes, and hashed (SHA-256 and size of the bytes as stored) while they are read.

pub mod aligned;
mod files;
mod hashing;
pub mod progress;
mod text;
mod walk;
pub mod whole_gzip;

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

pub use crate::model::{Problem, ProblemKind, Severity};
pub use files::{
    decompressed, head_decoded, list_dir, list_dir_unsorted, list_subdirs, read_whole,
    subdir_names, DirEntryInfo, EntryKind, Listings,
};
pub use hashing::{digest_of_file, Digest, HashChoice, HashingReader};
pub use progress::{Counted, Progress, Side};
pub use text::{each_text_line, text_stream, utf16_encoding, utf16le_text, Utf16Reader};
pub use walk::{expand, WalkOptions};

/// One input of a scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// A file on disk.
    File(PathBuf),
    /// Standard input (`-`), with the name findings give it (`--source`, since a pipe
    /// from Spark carries no file name), else `-`.
    Stdin(Option<String>),
}

impl Input {
    /// How the input is named in findings and messages.
    pub fn label(&self) -> String {
        match self {
            Input::File(p) => p.display().to_string(),
            Input::Stdin(name) => name.clone().unwrap_or_else(|| "-".to_string()),
        }
    }
}

/// Compression found by magic bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Bzip2,
    Zstd,
}

impl Compression {
    /// Name used in input records.
    pub fn name(self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::Gzip => "gzip",
            Compression::Bzip2 => "bzip2",
            Compression::Zstd => "zstd",
        }
    }

    /// The compression `head` (the first bytes of an input) announces.
    pub fn sniff(head: &[u8]) -> Compression {
        if head.starts_with(&[0x1f, 0x8b]) {
            Compression::Gzip
        } else if head.starts_with(b"BZh") && head.get(3).is_some_and(|d| (b'1'..=b'9').contains(d))
        {
            Compression::Bzip2
        } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Compression::Zstd
        } else {
            Compression::None
        }
    }

    /// `inner` read through this compression's decoder (or as it is, for `None`).
    pub fn decoder<'a, R: BufRead + Send + 'a>(
        self,
        inner: R,
    ) -> io::Result<Box<dyn Read + Send + 'a>> {
        Ok(match self {
            Compression::None => Box::new(inner),
            Compression::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(inner)),
            Compression::Bzip2 => Box::new(bzip2::bufread::MultiBzDecoder::new(inner)),
            Compression::Zstd => Box::new(zstd::stream::read::Decoder::with_buffer(inner)?),
        })
    }
}

/// Expands paths into inputs with the default walk (links inside folders not followed).
pub fn expand_inputs(paths: &[PathBuf], problems: &mut Vec<Problem>) -> Vec<Input> {
    walk::expand(paths, WalkOptions::default(), problems)
}

/// Reads until `buf` is full or the input ends: the bytes read, and the error that stopped
/// reading early, if any (what came before it is in `buf`).
pub fn fill(reader: &mut dyn Read, buf: &mut [u8]) -> (usize, Option<io::Error>) {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return (filled, Some(e)),
        }
    }
    (filled, None)
}

/// An io error in plain words.
pub fn describe_io(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::NotFound => "no such file or directory".into(),
        io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => e.to_string(),
    }
}

/// An opened input's decompressed bytes: streamed, or already whole in memory.
pub enum Decoded {
    /// A small compressed file decoded in one call ([`whole_gzip`]).
    Whole(whole_gzip::WholeDecoded),
    /// Bytes read (and decoded) as they are asked for.
    Stream(Box<dyn Read + Send>),
}

impl Decoded {
    /// All the bytes, when they are whole in memory, none has been read, and they number at
    /// most `limit`: the caller scans them where they are instead of reading them through
    /// another buffer. What is left to read is then nothing.
    pub fn take_whole(&mut self, limit: usize) -> Option<Vec<u8>> {
        match self {
            Decoded::Whole(whole) => whole.take_unread(limit),
            Decoded::Stream(_) => None,
        }
    }
}

impl Read for Decoded {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Decoded::Whole(whole) => whole.read(buf),
            Decoded::Stream(stream) => stream.read(buf),
        }
    }
}

/// An opened input: decompressed bytes to read, and the stored bytes' digest.
pub struct Opened {
    /// Decompressed content.
    pub reader: Decoded,
    /// Compression found.
    pub compression: Compression,
    /// Whether the input is a regular file (which can be read again; a pipe cannot).
    pub regular_file: bool,
    raw: SharedRaw,
}

type SharedRaw = Arc<Mutex<HashingReader<Box<dyn Read + Send>>>>;

/// Lets the decompressor and [`Opened::finish`] read the same hashed stream.
struct SharedReader(SharedRaw);

impl Read for SharedReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).read(buf)
    }
}

/// Bytes a device is read for when `--max-bytes` is not given.
pub const DEVICE_CAP: u64 = 1 << 30;

/// How much of `input` may be read: `max_bytes` (or [`DEVICE_CAP`] for a device) when it is
/// not a regular file; None (no limit) for regular files, and for pipes and standard input
/// without `max_bytes`.
pub fn stream_cap(input: &Input, max_bytes: Option<u64>) -> Option<u64> {
    use std::os::unix::fs::FileTypeExt;
    let kind = match input {
        Input::Stdin(_) => return max_bytes,
        Input::File(path) => std::fs::metadata(path).ok()?.file_type(),
    };
    if kind.is_file() || kind.is_block_device() {
        None
    } else if kind.is_char_device() {
        Some(max_bytes.unwrap_or(DEVICE_CAP))
    } else {
        max_bytes
    }
}

impl Opened {
    /// The digest of the stored bytes read so far, without reading on (an endless device).
    pub fn finish_here(self) -> Digest {
        drop(self.reader);
        let mut raw = self.raw.lock().unwrap_or_else(|e| e.into_inner());
        raw.finish()
    }

    /// Reads what the decompressor left unread, so the digest covers every stored byte.
    pub fn finish(self) -> io::Result<Digest> {
        drop(self.reader);
        let mut raw = self.raw.lock().unwrap_or_else(|e| e.into_inner());
        // Most decoders read to the end already; `io::copy` zeroes its buffer first.
        if !raw.ended() {
            io::copy(&mut *raw, &mut io::sink())?;
        }
        Ok(raw.finish())
    }
}

/// Buffer between the stored bytes and the decompressor.
const READ_BUFFER: usize = 256 * 1024;

/// Opens an input read-only, without changing its access time where the system allows.
pub fn open(input: &Input) -> io::Result<Opened> {
    open_counted(input, None, HashChoice::Sha256)
}

/// [`open`], adding the stored and decoded bytes read to `progress`, and hashing them or not.
pub fn open_counted(
    input: &Input,
    progress: Option<&Arc<Progress>>,
    hash: HashChoice,
) -> io::Result<Opened> {
    match input {
        Input::File(path) => {
            let file = open_read_only(path)?;
            let meta = file.metadata().ok();
            open_counted_file(file, meta.as_ref(), progress, hash)
        }
        Input::Stdin(_) => counted(Box::new(io::stdin()), None, false, progress, hash),
    }
}

/// [`open_counted`] for a file the caller has opened (with [`open_read_only`]) and stat'ed.
pub fn open_counted_file(
    file: File,
    meta: Option<&std::fs::Metadata>,
    progress: Option<&Arc<Progress>>,
    hash: HashChoice,
) -> io::Result<Opened> {
    let regular = meta.is_some_and(std::fs::Metadata::is_file);
    counted(
        Box::new(file),
        meta.map(|m| m.len()),
        regular,
        progress,
        hash,
    )
}

fn counted(
    file: Box<dyn Read + Send>,
    stored_size: Option<u64>,
    regular_file: bool,
    progress: Option<&Arc<Progress>>,
    hash: HashChoice,
) -> io::Result<Opened> {
    let file: Box<dyn Read + Send> = match progress {
        Some(p) => Box::new(Counted::new(file, p.clone(), Side::Stored)),
        None => file,
    };
    let mut hashing = HashingReader::with_choice(file, hash);
    if regular_file {
        hashing = hashing.ending_at(stored_size);
    }
    let raw: SharedRaw = Arc::new(Mutex::new(hashing));
    // A small file needs no large buffer (object stores hold many files of a few KiB).
    let capacity = stored_size.map_or(READ_BUFFER, |n| (n as usize).clamp(8 << 10, READ_BUFFER));
    let mut buffered = BufReader::with_capacity(capacity, SharedReader(raw.clone()));
    let compression = Compression::sniff(buffered.fill_buf()?);
    let whole_file_read =
        regular_file && stored_size.is_some_and(|n| n == buffered.buffer().len() as u64);
    let whole = match compression {
        Compression::Gzip
            if whole_file_read && buffered.buffer().len() <= whole_gzip::STORED_LIMIT =>
        {
            whole_gzip::decode(buffered.buffer())
        }
        _ => None,
    };
    if let Some(decoded) = whole {
        if let Some(p) = progress {
            p.add_decoded(decoded.unread().len() as u64);
        }
        return Ok(Opened {
            reader: Decoded::Whole(decoded),
            compression,
            regular_file,
            raw,
        });
    }
    let reader = stream_of(buffered, compression, progress)?;
    Ok(Opened {
        reader: Decoded::Stream(reader),
        compression,
        regular_file,
        raw,
    })
}

/// The decoded bytes of an input read as a stream: through its decoder, on the scanning thread,
/// and counted on `progress`. A decoder on a thread of its own, a few blocks ahead, ran two to
/// three times slower on one 2-core machine and a fifth faster on another: on the scanning
/// thread the cost is the same everywhere (BENCHMARKS.md, "Compressed input").
fn stream_of(
    buffered: BufReader<SharedReader>,
    compression: Compression,
    progress: Option<&Arc<Progress>>,
) -> io::Result<Box<dyn Read + Send>> {
    let reader: Box<dyn Read + Send> = match compression {
        // Plain bytes are read straight into the scanner's buffer once the sniffed head is
        // handed over: through the buffer, every byte would be copied twice.
        Compression::None => {
            let head = buffered.buffer().to_vec();
            Box::new(io::Cursor::new(head).chain(buffered.into_inner()))
        }
        _ => compression.decoder(buffered)?,
    };
    Ok(match progress {
        Some(p) => Box::new(Counted::new(reader, p.clone(), Side::Decoded)),
        None => reader,
    })
}

/// Opens a file read-only, without changing its access time where the system allows.
#[cfg(target_os = "linux")]
pub fn open_read_only(path: &Path) -> io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    // O_NOATIME: reading evidence must not change its access time. Only the owner (or
    // root) may ask for it, so fall back to a plain read-only open.
    const O_NOATIME: i32 = 0o1_000_000;
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(O_NOATIME)
        .open(path)
        .or_else(|_| File::open(path))
}

/// Opens a file read-only.
#[cfg(not(target_os = "linux"))]
pub fn open_read_only(path: &Path) -> io::Result<File> {
    File::open(path)
}
