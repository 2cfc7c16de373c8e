//! `idq.dll`'s file version and link time, from its PE headers and version resource (read
//! with `pelite`), and what they say about MS01-033.

use pelite::pe32::{Pe as _, PeFile as PeFile32};
use pelite::pe64::{Pe as _, PeFile as PeFile64};
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

/// The same reads on a PE32 or a PE32+ view (two types with the same methods).
macro_rules! pe_facts {
    ($pe:expr) => {{
        let pe = $pe;
        let version = pe
            .resources()
            .ok()
            .and_then(|r| r.version_info().ok())
            .and_then(|v| v.fixed().map(|f| f.dwFileVersion));
        PeFacts {
            version: version.map(|v| FileVersion([v.Major, v.Minor, v.Patch, v.Build])),
            linked: pe.file_header().TimeDateStamp,
        }
    }};
}

/// Reads the file version and link time; `None` when the bytes are not a PE file, or one
/// whose headers sit where the PE reader would read them misaligned.
pub fn read_pe(bytes: &[u8]) -> Option<PeFacts> {
    if !headers_aligned(bytes) {
        return None;
    }
    // pelite reads headers in place as structs: the image must start 8-aligned.
    let mut buffer = vec![0u8; bytes.len() + 8];
    let at = buffer.as_ptr().align_offset(8);
    let image = &mut buffer[at..at + bytes.len()];
    image.copy_from_slice(bytes);
    if let Ok(pe) = PeFile32::from_bytes(image) {
        return Some(pe_facts!(pe));
    }
    PeFile64::from_bytes(image).ok().map(|pe| pe_facts!(pe))
}

/// Whether the NT headers and the section table start at offsets a multiple of 8 into the
/// file, as every linker writes them. pelite casts them in place, and a hostile file that
/// puts them elsewhere made it build a misaligned slice (found by fuzzing).
fn headers_aligned(bytes: &[u8]) -> bool {
    let u32_at = |at: usize| {
        bytes
            .get(at..at + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    };
    let u16_at = |at: usize| {
        bytes
            .get(at..at + 2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]))
    };
    let Some(nt) = u32_at(0x3c).map(|n| n as usize) else {
        return false;
    };
    let optional = u16_at(nt.saturating_add(20)).unwrap_or(1);
    nt % 8 == 0 && optional % 8 == 0
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
mod alignment_tests {
    use super::*;

    #[test]
    fn misplaced_headers_are_not_read() {
        let mut pe = vec![0u8; 512];
        pe[..2].copy_from_slice(b"MZ");
        pe[0x3c] = 0x40;
        pe[0x40..0x44].copy_from_slice(b"PE\0\0");
        pe[0x40 + 20] = 0xe1; // an optional header of an odd size
        assert!(!headers_aligned(&pe));
        assert!(read_pe(&pe).is_none());
        pe[0x40 + 20] = 0xe0;
        assert!(headers_aligned(&pe));
        pe[0x3c] = 0x41;
        assert!(!headers_aligned(&pe));
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
