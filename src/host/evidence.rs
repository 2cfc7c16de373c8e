//! What a path given to `scan` is, as host evidence: a mounted volume, a hive, a `.reg`
//! export, an IIS metabase or a `dir` listing. Told by content, not by name, where the
//! content allows.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::listing::looks_like_listing;
use super::volume::is_volume_root;
use crate::finding::display_text;

/// Kinds of host evidence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum EvidenceKind {
    Volume,
    Hive,
    RegExport,
    Metabase,
    MetabaseBin,
    Listing,
}

impl EvidenceKind {
    /// Name as written in outputs.
    pub fn name(self) -> &'static str {
        match self {
            EvidenceKind::Volume => "volume",
            EvidenceKind::Hive => "hive",
            EvidenceKind::RegExport => "reg-export",
            EvidenceKind::Metabase => "metabase",
            EvidenceKind::MetabaseBin => "metabase-bin",
            EvidenceKind::Listing => "listing",
        }
    }
}

/// One piece of host evidence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evidence {
    pub kind: EvidenceKind,
    pub path: PathBuf,
}

/// Bytes read to tell what a file is.
const HEAD: u64 = 4096;

/// The kind of host evidence at `path`, or `None` (a log, or nothing wormtrace knows).
pub fn classify(path: &Path) -> Option<EvidenceKind> {
    let meta = std::fs::metadata(path).ok()?;
    if meta.is_dir() {
        return is_volume_root(path).then_some(EvidenceKind::Volume);
    }
    // A pipe, FIFO or device can be read once only: looking at it here would lose its first
    // bytes, so it is left to the scan, which reads it as a stream.
    if !meta.is_file() {
        return None;
    }
    // Through the decompressor: a hive or export may have been copied off a server gzipped.
    let head = crate::source::head_decoded(path, HEAD).ok()?;
    let name = path.file_name().map(|n| n.to_string_lossy().to_lowercase());
    sniff(&head, name.as_deref())
}

/// The kind told by a file's first bytes and its lower-cased name.
pub fn sniff(head: &[u8], name: Option<&str>) -> Option<EvidenceKind> {
    if head.starts_with(b"regf") {
        return Some(EvidenceKind::Hive);
    }
    if name == Some("metabase.bin") {
        return Some(EvidenceKind::MetabaseBin);
    }
    let text = head_text(head);
    let text = text.trim_start_matches('\u{feff}');
    if text.starts_with("REGEDIT4") || text.starts_with("Windows Registry Editor Version") {
        return Some(EvidenceKind::RegExport);
    }
    let metabase_markers = [
        "IIsWebService",
        "MBProperty",
        "IIS_Global",
        "IIsConfigObject",
    ];
    if text.contains("<configuration") && metabase_markers.iter().any(|m| text.contains(m)) {
        return Some(EvidenceKind::Metabase);
    }
    if name == Some("metabase.xml") {
        return Some(EvidenceKind::Metabase);
    }
    looks_like_listing(text).then_some(EvidenceKind::Listing)
}

/// Text of a head: UTF-16LE when it has the byte-order mark, else as logs are decoded.
pub fn head_text(bytes: &[u8]) -> String {
    match bytes.strip_prefix(&[0xff, 0xfe]) {
        Some(rest) => utf16le_text(rest),
        None => display_text(bytes),
    }
}

pub use crate::source::utf16le_text;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_by_content() {
        assert_eq!(sniff(b"regf\0\0", None), Some(EvidenceKind::Hive));
        assert_eq!(sniff(b"REGEDIT4\r\n", None), Some(EvidenceKind::RegExport));
        let mut v5 = vec![0xff, 0xfe];
        for u in "Windows Registry Editor Version 5.00".encode_utf16() {
            v5.extend_from_slice(&u.to_le_bytes());
        }
        assert_eq!(sniff(&v5, None), Some(EvidenceKind::RegExport));
        assert_eq!(
            sniff(b"<?xml?><configuration><MBProperty>", None),
            Some(EvidenceKind::Metabase)
        );
        assert_eq!(
            sniff(b"\0\x01", Some("metabase.bin")),
            Some(EvidenceKind::MetabaseBin)
        );
        assert_eq!(
            sniff(b" Directory of C:\\Inetpub\r\n", None),
            Some(EvidenceKind::Listing)
        );
        assert_eq!(sniff(b"#Software: Microsoft IIS 5.0\r\n", None), None);
    }
}
