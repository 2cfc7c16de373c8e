//! Whole small files and directory listings, read the way evidence must be read: read-only,
//! without changing access times, never through a link.

use std::cell::RefCell;
use std::collections::HashMap;
use std::ffi::OsString;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use super::{open_read_only, Compression, Digest};

/// What a directory entry is, as the directory itself says (links are not followed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    File,
    Dir,
    Link,
    Other,
}

/// One entry of a directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirEntryInfo {
    pub name: OsString,
    pub kind: EntryKind,
}

/// Reads a whole file of at most `limit` bytes, with its digest. Larger files are refused
/// with `InvalidData` so that a hostile image cannot make us load gigabytes.
pub fn read_whole(path: &Path, limit: u64) -> io::Result<(Vec<u8>, Digest)> {
    let file = open_read_only(path)?;
    let mut bytes = Vec::new();
    file.take(limit + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("larger than {limit} bytes, not read"),
        ));
    }
    let digest = Digest::of_bytes(&bytes);
    Ok((bytes, digest))
}

/// The first `n` bytes of a file's content, decompressed when it is compressed (on this
/// thread: this is for telling what a file is, not for reading it).
pub fn head_decoded(path: &Path, n: u64) -> io::Result<Vec<u8>> {
    let mut file = BufReader::new(open_read_only(path)?);
    let compression = Compression::sniff(file.fill_buf()?);
    let mut reader = compression.decoder(file)?;
    // Into a buffer of the full size: `read_to_end` from empty starts with tiny reads, and
    // each one costs a decompressor call (a tenth of the time on folders of small files).
    let mut head = vec![0u8; usize::try_from(n).unwrap_or(usize::MAX).min(1 << 24)];
    // A damaged archive still gives what it decoded before the damage.
    let (filled, _damage) = super::fill(&mut reader, &mut head);
    head.truncate(filled);
    Ok(head)
}

/// The content of a whole file read by [`read_whole`]: as it is, or decompressed when its
/// first bytes say gzip, bzip2 or zstd (a hive or an export copied off a server compressed).
/// At most `limit` decoded bytes: a bomb is refused, not expanded.
pub fn decompressed(bytes: Vec<u8>, limit: u64) -> io::Result<Vec<u8>> {
    let compression = Compression::sniff(&bytes);
    if compression == Compression::None {
        return Ok(bytes);
    }
    let decoder = compression.decoder(&bytes[..])?;
    let mut out = Vec::new();
    decoder.take(limit + 1).read_to_end(&mut out)?;
    if out.len() as u64 > limit {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("larger than {limit} bytes once decompressed, not read"),
        ));
    }
    Ok(out)
}

/// The entries of a directory, sorted by name, without `.` and `..`.
pub fn list_dir(path: &Path) -> io::Result<Vec<DirEntryInfo>> {
    let mut entries = list_dir_unsorted(path)?;
    sort_by_name(&mut entries);
    Ok(entries)
}

fn sort_by_name(entries: &mut [DirEntryInfo]) {
    // Names in one folder are unique, so an unstable sort gives the one order, faster.
    entries.sort_unstable_by(|a, b| a.name.cmp(&b.name));
}

/// Folder listings made once and used twice: the look for volumes lists each folder given to
/// `scan`, and the walk then takes that listing instead of reading the folder again (on a
/// folder of 100,000 logs, each listing is about 50 ms of the kernel's time before any file
/// is read).
#[derive(Debug, Default)]
pub struct Listings(RefCell<HashMap<PathBuf, Vec<DirEntryInfo>>>);

impl Listings {
    /// Keeps the unsorted listing of the folder at `real` (its canonical path).
    pub fn keep(&self, real: PathBuf, entries: Vec<DirEntryInfo>) {
        self.0.borrow_mut().insert(real, entries);
    }

    /// The kept listing of the folder at `real`, sorted by name as [`list_dir`] gives it,
    /// or None when none was kept. A listing is handed out once.
    pub fn take_sorted(&self, real: &Path) -> Option<Vec<DirEntryInfo>> {
        let mut entries = self.0.borrow_mut().remove(real)?;
        sort_by_name(&mut entries);
        Some(entries)
    }
}

/// The folders in a directory, in no particular order (cheaper than [`list_dir`] on folders
/// of many files, where sorting every name costs more than listing them).
pub fn list_subdirs(path: &Path) -> io::Result<Vec<OsString>> {
    Ok(subdir_names(&list_dir_unsorted(path)?))
}

/// The names of the folders among `entries`.
pub fn subdir_names(entries: &[DirEntryInfo]) -> Vec<OsString> {
    entries
        .iter()
        .filter(|e| e.kind == EntryKind::Dir)
        .map(|e| e.name.clone())
        .collect()
}

/// The entries of a directory in the order the file system gives them, without `.` and `..`.
#[cfg(target_os = "linux")]
pub fn list_dir_unsorted(path: &Path) -> io::Result<Vec<DirEntryInfo>> {
    use rustix::fs::{FileType, Mode, OFlags};
    use std::os::unix::ffi::OsStrExt;
    let base = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC | OFlags::NOFOLLOW;
    // Listing a directory updates its access time unless it was opened with O_NOATIME,
    // which only the owner (or root) may ask for.
    let fd = rustix::fs::open(path, base | OFlags::NOATIME, Mode::empty())
        .or_else(|_| rustix::fs::open(path, base, Mode::empty()))?;
    let mut dir = rustix::fs::Dir::read_from(&fd)?;
    let mut entries = Vec::new();
    while let Some(entry) = dir.read() {
        let entry = entry?;
        let name = entry.file_name().to_bytes();
        if name == b"." || name == b".." {
            continue;
        }
        let name = OsString::from(std::ffi::OsStr::from_bytes(name));
        let kind = match entry.file_type() {
            FileType::RegularFile => EntryKind::File,
            FileType::Directory => EntryKind::Dir,
            FileType::Symlink => EntryKind::Link,
            FileType::Unknown => kind_by_lstat(&path.join(&name)),
            _ => EntryKind::Other,
        };
        entries.push(DirEntryInfo { name, kind });
    }
    Ok(entries)
}

/// The entries of a directory in the order the file system gives them, without `.` and `..`.
#[cfg(not(target_os = "linux"))]
pub fn list_dir_unsorted(path: &Path) -> io::Result<Vec<DirEntryInfo>> {
    std::fs::read_dir(path)?
        .map(|e| {
            let e = e?;
            Ok(DirEntryInfo {
                kind: kind_by_lstat(&e.path()),
                name: e.file_name(),
            })
        })
        .collect()
}

fn kind_by_lstat(path: &Path) -> EntryKind {
    match std::fs::symlink_metadata(path).map(|m| m.file_type()) {
        Ok(t) if t.is_symlink() => EntryKind::Link,
        Ok(t) if t.is_dir() => EntryKind::Dir,
        Ok(t) if t.is_file() => EntryKind::File,
        _ => EntryKind::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_without_following_links_and_reads_with_a_limit() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("b.txt"), b"hello").unwrap();
        std::fs::create_dir(dir.path().join("a")).unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink("/etc", dir.path().join("c")).unwrap();
        let entries = list_dir(dir.path()).unwrap();
        let shown: Vec<(String, EntryKind)> = entries
            .iter()
            .map(|e| (e.name.to_string_lossy().into_owned(), e.kind))
            .collect();
        assert_eq!(shown[0], ("a".into(), EntryKind::Dir));
        assert_eq!(shown[1], ("b.txt".into(), EntryKind::File));
        #[cfg(unix)]
        assert_eq!(shown[2], ("c".into(), EntryKind::Link));
        let (bytes, digest) = read_whole(&dir.path().join("b.txt"), 5).unwrap();
        assert_eq!(bytes, b"hello");
        assert_eq!(digest.size, 5);
        assert!(digest.sha256.is_some_and(|h| h.starts_with("2cf24dba")));
        let err = read_whole(&dir.path().join("b.txt"), 4).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
    }

    #[test]
    fn decompressed_refuses_what_grows_past_the_limit() {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        io::Write::write_all(&mut gz, &[0u8; 4096]).unwrap();
        let packed = gz.finish().unwrap();
        assert_eq!(decompressed(packed.clone(), 4096).unwrap().len(), 4096);
        let err = decompressed(packed, 4095).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        assert_eq!(decompressed(b"plain".to_vec(), 1).unwrap(), b"plain");
    }
}
