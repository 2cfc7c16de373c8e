//! `idq.dll`'s file version and link time, from its PE headers and version resource, and
//! what they say about MS01-033.
//!
//! The reader is our own: every field is read through a bounds-checked little-endian read
//! of the byte slice. A PE library that casts headers in place as structs met misaligned
//! and out-of-range tables in hostile files (found twice by fuzzing), and all we need is
//! four numbers from a fixed path through the resource tree.

use serde::Serialize;

/// A four-part file version such as 5.0.2195.3645.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct FileVersion(pub [u16; 4]);

impl std::fmt::Display for FileVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let [a, b, c, d] = self.0;
        write!(f, "{a}.{b}.{c}.{d}")
    }
}

/// What the PE file says about itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeFacts {
    pub version: Option<FileVersion>,
    /// Link time, seconds since 1970 (UTC).
    pub linked: u32,
}

/// Little-endian reads that answer `None` past the end instead of panicking.
struct Bytes<'a>(&'a [u8]);

impl Bytes<'_> {
    fn u16(&self, at: usize) -> Option<u16> {
        let b = self.0.get(at..at.checked_add(2)?)?;
        Some(u16::from_le_bytes([b[0], b[1]]))
    }

    fn u32(&self, at: usize) -> Option<u32> {
        let b = self.0.get(at..at.checked_add(4)?)?;
        Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
}

/// PE32 and PE32+ optional-header magics.
const PE32: u16 = 0x10b;
const PE32_PLUS: u16 = 0x20b;
/// The resource table is the third data directory.
const RESOURCE_DIRECTORY: usize = 2;
/// Resource type of a version resource.
const RT_VERSION: u32 = 16;
/// `VS_FIXEDFILEINFO.dwSignature`.
const FIXED_INFO_SIGNATURE: u32 = 0xfeef_04bd;

/// Reads the file version and link time; `None` when the bytes are not a PE file. A PE
/// file without a readable version resource gives its link time and no version.
pub fn read_pe(bytes: &[u8]) -> Option<PeFacts> {
    let file = Bytes(bytes);
    if file.u16(0)? != u16::from_le_bytes(*b"MZ") {
        return None;
    }
    let nt = file.u32(0x3c)? as usize;
    if file.u32(nt)? != u32::from_le_bytes(*b"PE\0\0") {
        return None;
    }
    let coff = nt + 4;
    let linked = file.u32(coff + 4)?;
    let optional = coff + 20;
    let directories = match file.u16(optional)? {
        PE32 => optional + 96,
        PE32_PLUS => optional + 112,
        _ => return None,
    };
    let sections = Sections {
        table: optional + usize::from(file.u16(coff + 16)?),
        count: usize::from(file.u16(coff + 2)?),
    };
    let version = version_resource(&file, directories, &sections);
    Some(PeFacts { version, linked })
}

/// The section table, for turning addresses in the loaded image into file offsets.
struct Sections {
    table: usize,
    count: usize,
}

impl Sections {
    fn file_offset(&self, file: &Bytes, rva: u32) -> Option<usize> {
        (0..self.count).find_map(|i| {
            let header = self.table.checked_add(i * 40)?;
            let size = file.u32(header + 8)?.max(file.u32(header + 16)?);
            let start = file.u32(header + 12)?;
            let raw = file.u32(header + 20)?;
            let inside = rva.checked_sub(start).filter(|&d| d < size)?;
            (raw as usize).checked_add(inside as usize)
        })
    }
}

/// The file version in the first version resource: type 16, then the first name and the
/// first language, then `VS_VERSIONINFO`'s fixed part.
fn version_resource(file: &Bytes, directories: usize, sections: &Sections) -> Option<FileVersion> {
    let root_rva = file.u32(directories + RESOURCE_DIRECTORY * 8)?;
    let root = sections.file_offset(file, root_rva)?;
    let names = subdirectory(file, root, root, Some(RT_VERSION))?;
    let languages = subdirectory(file, root, names, None)?;
    let leaf = first_entry(file, root, languages, None)?;
    if leaf.is_directory {
        return None;
    }
    let data_rva = file.u32(leaf.offset)?;
    let size = file.u32(leaf.offset + 4)? as usize;
    let data = sections.file_offset(file, data_rva)?;
    let info = file.0.get(data..data.checked_add(size)?)?;
    fixed_file_version(info)
}

/// A resource directory entry: where it points (from the resource root) and to what.
struct Entry {
    offset: usize,
    is_directory: bool,
}

/// The entry with `id` (or the first entry) of the directory at `directory`.
fn first_entry(file: &Bytes, root: usize, directory: usize, id: Option<u32>) -> Option<Entry> {
    let named = usize::from(file.u16(directory + 12)?);
    let ids = usize::from(file.u16(directory + 14)?);
    (0..named + ids).find_map(|i| {
        let entry = directory + 16 + i * 8;
        let name = file.u32(entry)?;
        if id.is_some_and(|id| name != id) {
            return None;
        }
        let target = file.u32(entry + 4)?;
        Some(Entry {
            offset: root.checked_add((target & 0x7fff_ffff) as usize)?,
            is_directory: target & 0x8000_0000 != 0,
        })
    })
}

/// Like [`first_entry`], for an entry that must lead to a further directory.
fn subdirectory(file: &Bytes, root: usize, directory: usize, id: Option<u32>) -> Option<usize> {
    let entry = first_entry(file, root, directory, id)?;
    entry.is_directory.then_some(entry.offset)
}

/// `VS_VERSIONINFO` holds a header of three words, the UTF-16 key `VS_VERSION_INFO`, padding
/// to a 4-byte boundary, and then `VS_FIXEDFILEINFO`.
fn fixed_file_version(info: &[u8]) -> Option<FileVersion> {
    let info = Bytes(info);
    let mut at = 6;
    while info.u16(at)? != 0 {
        at += 2;
    }
    let fixed = (at + 2).next_multiple_of(4);
    if info.u32(fixed)? != FIXED_INFO_SIGNATURE {
        return None;
    }
    let most = info.u32(fixed + 8)?;
    let least = info.u32(fixed + 12)?;
    let high = |w: u32| (w >> 16) as u16;
    let low = |w: u32| (w & 0xffff) as u16;
    Some(FileVersion([
        high(most),
        low(most),
        high(least),
        low(least),
    ]))
}

/// What an idq.dll version says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdqState {
    Patched,
    Vulnerable,
    /// Not a version this check knows (a later Windows, say).
    Unknown,
}

/// First fixed Windows 2000 build (MS01-033).
const W2K_FIXED: FileVersion = FileVersion([5, 0, 2195, 3645]);
/// First fixed NT 4.0 build.
const NT4_FIXED: FileVersion = FileVersion([5, 0, 1782, 4]);
/// The NT 4.0 number that both the vulnerable January 2001 build and the first fix carry.
const NT4_AMBIGUOUS: FileVersion = FileVersion([5, 0, 1781, 3]);
/// 2001-05-01 00:00 UTC: a 5.0.1781.3 file built from then on is the fix.
const NT4_FIX_BUILT_FROM: u32 = 988_675_200;

/// Judges a version, using the build time to tell the two 5.0.1781.3 files apart.
/// `built` is the link time or, failing that, the file's modification time.
pub fn judge_idq(version: FileVersion, built: Option<u32>) -> (IdqState, &'static str) {
    let [major, minor, build, _] = version.0;
    if (major, minor) != (5, 0) {
        return (IdqState::Unknown, "idq-version-unknown");
    }
    if build >= 2195 {
        return if version >= W2K_FIXED {
            (IdqState::Patched, "idq-w2k-fixed")
        } else {
            (IdqState::Vulnerable, "idq-w2k-old")
        };
    }
    if version == NT4_AMBIGUOUS {
        return match built {
            Some(t) if t >= NT4_FIX_BUILT_FROM => (IdqState::Patched, "idq-nt4-1781-late"),
            Some(_) => (IdqState::Vulnerable, "idq-nt4-1781-early"),
            None => (IdqState::Unknown, "idq-nt4-1781-undated"),
        };
    }
    if version >= NT4_FIXED {
        (IdqState::Patched, "idq-nt4-fixed")
    } else {
        (IdqState::Vulnerable, "idq-nt4-old")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const JAN_2001: u32 = 979_000_000; // 2001-01-09
    const JUN_2001: u32 = 992_000_000; // 2001-06-08

    #[test]
    fn versions_and_the_1781_date_trap() {
        let v = |a, b, c, d| FileVersion([a, b, c, d]);
        assert_eq!(judge_idq(v(5, 0, 2195, 3645), None).0, IdqState::Patched);
        assert_eq!(judge_idq(v(5, 0, 2195, 1), None).0, IdqState::Vulnerable);
        assert_eq!(judge_idq(v(5, 0, 1782, 4), None).0, IdqState::Patched);
        assert_eq!(judge_idq(v(5, 0, 1781, 2), None).0, IdqState::Vulnerable);
        assert_eq!(
            judge_idq(v(5, 0, 1781, 3), Some(JAN_2001)).0,
            IdqState::Vulnerable
        );
        assert_eq!(
            judge_idq(v(5, 0, 1781, 3), Some(JUN_2001)).0,
            IdqState::Patched
        );
        assert_eq!(judge_idq(v(5, 0, 1781, 3), None).0, IdqState::Unknown);
        assert_eq!(judge_idq(v(6, 0, 3790, 0), None).0, IdqState::Unknown);
        assert_eq!(v(5, 0, 2195, 3645).to_string(), "5.0.2195.3645");
    }

    #[test]
    fn not_a_pe() {
        assert_eq!(read_pe(b"MZ not really"), None);
        assert_eq!(read_pe(b""), None);
    }
}
