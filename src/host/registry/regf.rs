//! A read-only reader of the registry's `regf` hive format, written for hostile files:
//! every offset and count is checked against the bytes, lists are bounded by what the
//! file can hold, and nothing recurses more than a fixed depth. It reads only what the
//! checks need: keys by path, their values and their subkeys.
//!
//! Layout (Windows NT 4 to 11 write the same cells): a 4 KiB base block whose root cell
//! offset is relative to the first hive bin at 0x1000; cells start with a signed size
//! (negative when allocated); `nk` key nodes point to a subkey list (`lf`, `lh`, `li`, or
//! an `ri` index of those) and to a value list of `vk` offsets; large data (hive 1.4+)
//! sits in `db` segment lists.

/// Where the hive bins start in the file.
const BINS_START: usize = 0x1000;
/// `ri` indexes hold leaf lists, and a damaged file must not make them recurse.
const MAX_INDEX_DEPTH: u8 = 2;
/// Values larger than this are not read (no check needs more).
const MAX_VALUE_BYTES: usize = 1 << 20;

/// Why a hive could not be opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegfError {
    #[error("no regf signature")]
    NoSignature,
    #[error("the base block is cut short")]
    Truncated,
    #[error("the root key cell is damaged")]
    BadRoot,
}

/// An opened hive: its bytes and its root key.
pub struct Regf<'a> {
    bytes: &'a [u8],
    root: KeyNode,
}

/// A key node's fields that the reader follows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyNode {
    /// The key's name as stored.
    pub name: String,
    subkey_count: u32,
    subkey_list: u32,
    value_count: u32,
    value_list: u32,
}

/// One value: name, registry type number and raw data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawValue {
    /// The value's name (empty for the default value).
    pub name: String,
    /// The registry type (`REG_SZ` = 1, `REG_DWORD` = 4, ...).
    pub kind: u32,
    /// The data bytes, at most 1 MiB.
    pub data: Vec<u8>,
}

impl<'a> Regf<'a> {
    /// Opens a hive held in memory.
    pub fn open(bytes: &'a [u8]) -> Result<Self, RegfError> {
        if !bytes.starts_with(b"regf") {
            return Err(RegfError::NoSignature);
        }
        let root_offset = u32_at(bytes, 36).ok_or(RegfError::Truncated)?;
        let mut hive = Regf {
            bytes,
            root: KeyNode::empty(),
        };
        hive.root = hive.key_node(root_offset).ok_or(RegfError::BadRoot)?;
        Ok(hive)
    }

    /// The root key.
    pub fn root(&self) -> &KeyNode {
        &self.root
    }

    /// The key at `path` below the root (`\`-separated, any case), if present.
    pub fn key(&self, path: &str) -> Option<KeyNode> {
        let mut node = self.root.clone();
        for part in path.split('\\').filter(|p| !p.is_empty()) {
            node = self
                .subkeys(&node)
                .into_iter()
                .find(|k| same_name(&k.name, part))?;
        }
        Some(node)
    }

    /// The direct subkeys of `key`, in stored order; damaged entries are left out.
    pub fn subkeys(&self, key: &KeyNode) -> Vec<KeyNode> {
        if key.subkey_count == 0 {
            return Vec::new();
        }
        let mut offsets = Vec::new();
        self.list_offsets(key.subkey_list, 0, &mut offsets);
        offsets
            .into_iter()
            .filter_map(|o| self.key_node(o))
            .collect()
    }

    /// The values of `key`; damaged entries are left out.
    pub fn values(&self, key: &KeyNode) -> Vec<RawValue> {
        let Some(list) = self.cell(key.value_list) else {
            return Vec::new();
        };
        // A count larger than its list cell can hold is a damaged count, not a reason to read on.
        let count = (key.value_count as usize).min(list.len() / 4);
        (0..count)
            .filter_map(|i| u32_at(list, i * 4))
            .filter_map(|o| self.value(o))
            .collect()
    }

    /// The data of an allocated cell at a bins-relative offset, without its size field.
    fn cell(&self, offset: u32) -> Option<&'a [u8]> {
        if offset == u32::MAX {
            return None;
        }
        let start = BINS_START.checked_add(offset as usize)?;
        let size = i32::from_le_bytes(self.bytes.get(start..start + 4)?.try_into().ok()?);
        // Allocated cells have a negative size; a free cell is not data.
        let len = usize::try_from(size.checked_neg()?).ok()?;
        if len < 4 {
            return None;
        }
        self.bytes.get(start + 4..start + len)
    }

    fn key_node(&self, offset: u32) -> Option<KeyNode> {
        let cell = self.cell(offset)?;
        if cell.get(..2)? != b"nk" {
            return None;
        }
        let flags = u16_at(cell, 2)?;
        let name_len = u16_at(cell, 72)? as usize;
        let name = cell.get(76..76 + name_len)?;
        Some(KeyNode {
            name: stored_name(name, flags & 0x20 != 0),
            subkey_count: u32_at(cell, 20)?,
            subkey_list: u32_at(cell, 28)?,
            value_count: u32_at(cell, 36)?,
            value_list: u32_at(cell, 40)?,
        })
    }

    /// Collects key offsets from a subkey list, following `ri` indexes a bounded depth.
    fn list_offsets(&self, offset: u32, depth: u8, out: &mut Vec<u32>) {
        let Some(cell) = self.cell(offset) else {
            return;
        };
        let (Some(sig), Some(count)) = (cell.get(..2), u16_at(cell, 2)) else {
            return;
        };
        let count = count as usize;
        match sig {
            b"lf" | b"lh" => out.extend((0..count).filter_map(|i| u32_at(cell, 4 + i * 8))),
            b"li" => out.extend((0..count).filter_map(|i| u32_at(cell, 4 + i * 4))),
            b"ri" if depth < MAX_INDEX_DEPTH => {
                for i in 0..count {
                    if let Some(sub) = u32_at(cell, 4 + i * 4) {
                        self.list_offsets(sub, depth + 1, out);
                    }
                }
            }
            _ => {}
        }
    }

    fn value(&self, offset: u32) -> Option<RawValue> {
        let cell = self.cell(offset)?;
        if cell.get(..2)? != b"vk" {
            return None;
        }
        let name_len = u16_at(cell, 2)? as usize;
        let size = u32_at(cell, 4)?;
        let data_offset = u32_at(cell, 8)?;
        let kind = u32_at(cell, 12)?;
        let flags = u16_at(cell, 16)?;
        let name = stored_name(cell.get(20..20 + name_len)?, flags & 1 != 0);
        let data = if size & 0x8000_0000 != 0 {
            // Up to four bytes live in the offset field itself.
            let len = (size & 0x7fff_ffff).min(4) as usize;
            data_offset.to_le_bytes()[..len].to_vec()
        } else {
            self.value_data(data_offset, size as usize)?
        };
        Some(RawValue { name, kind, data })
    }

    fn value_data(&self, offset: u32, size: usize) -> Option<Vec<u8>> {
        let size = size.min(MAX_VALUE_BYTES);
        let cell = self.cell(offset)?;
        if cell.get(..2) == Some(b"db") && size > cell.len() {
            return self.big_data(cell, size);
        }
        Some(cell.get(..size.min(cell.len()))?.to_vec())
    }

    /// Data split into `db` segments (values over 16,344 bytes in hive format 1.4 and later).
    fn big_data(&self, db: &[u8], size: usize) -> Option<Vec<u8>> {
        let count = u16_at(db, 2)? as usize;
        let list = self.cell(u32_at(db, 4)?)?;
        let mut data = Vec::with_capacity(size.min(MAX_VALUE_BYTES));
        for i in 0..count.min(list.len() / 4) {
            let segment = self.cell(u32_at(list, i * 4)?)?;
            let want = (size - data.len()).min(segment.len());
            data.extend_from_slice(&segment[..want]);
            if data.len() >= size {
                break;
            }
        }
        Some(data)
    }
}

impl KeyNode {
    fn empty() -> Self {
        KeyNode {
            name: String::new(),
            subkey_count: 0,
            subkey_list: u32::MAX,
            value_count: 0,
            value_list: u32::MAX,
        }
    }
}

/// Registry names compare without regard to case, for non-ASCII letters too.
fn same_name(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b) || a.to_uppercase() == b.to_uppercase()
}

/// A key or value name: Latin-1 when the "compressed name" flag is set, else UTF-16LE.
fn stored_name(bytes: &[u8], compressed: bool) -> String {
    if compressed {
        bytes.iter().map(|&b| b as char).collect()
    } else {
        utf16le(bytes)
    }
}

pub use crate::source::utf16le_text as utf16le;

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(
        b.get(at..at.checked_add(2)?)?.try_into().ok()?,
    ))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(
        b.get(at..at.checked_add(4)?)?.try_into().ok()?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_files_without_a_signature_or_root() {
        assert_eq!(Regf::open(b"hello").err(), Some(RegfError::NoSignature));
        assert_eq!(Regf::open(b"regf").err(), Some(RegfError::Truncated));
        let mut block = b"regf".to_vec();
        block.resize(8192, 0);
        assert_eq!(Regf::open(&block).err(), Some(RegfError::BadRoot));
    }

    #[test]
    fn names_in_both_encodings() {
        assert_eq!(stored_name(b"Select", true), "Select");
        assert_eq!(stored_name(&[0xe9], true), "é");
        assert_eq!(stored_name(&[0x41, 0, 0x42, 0x30], false), "A\u{3042}");
    }
}
