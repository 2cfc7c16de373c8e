//! Writes real registry hives (`regf`, format 1.3 as Windows 2000 writes it) from a list of
//! keys and values, so the host tests need no hive from outside the repository and no
//! `hivexsh`. The layout is the one documented for the format: a 4 KiB base block with its
//! XOR checksum, then one hive bin holding an `sk` security cell, `nk` key nodes, `lh`
//! subkey lists sorted by upper-cased name, value lists and `vk` values.

use std::collections::BTreeMap;

use crate::host::{RegKeySpec, RegValue};

const BIN_HEADER: usize = 0x20;
/// 2001-08-04 00:00 UTC as a Windows FILETIME, stamped on every key.
const FILETIME_2001: u64 = 126_411_264_000_000_000;

#[derive(Default)]
struct Node {
    name: String,
    values: Vec<(String, RegValue)>,
    /// By upper-cased name: Windows keeps subkey lists in that order.
    children: BTreeMap<String, Node>,
}

impl Node {
    fn child(&mut self, name: &str) -> &mut Node {
        self.children
            .entry(name.to_uppercase())
            .or_insert_with(|| Node {
                name: name.to_string(),
                ..Node::default()
            })
    }
}

/// A hive whose root holds `keys` (paths below the root, e.g. `Select` or
/// `ControlSet001\Services\W3SVC`). Keys named twice are merged.
pub fn hive(keys: &[RegKeySpec]) -> Vec<u8> {
    let mut root = Node {
        name: "ROOT".into(),
        ..Node::default()
    };
    for (path, values) in keys {
        let mut node = &mut root;
        for part in path.split('\\').filter(|p| !p.is_empty()) {
            node = node.child(part);
        }
        node.values
            .extend(values.iter().map(|(n, v)| (n.to_string(), v.clone())));
    }
    let mut bins = Bins::default();
    let security = bins.security_cell(count_keys(&root));
    let root_offset = bins.key(&root, 0, security, true);
    let bins = bins.finish();
    let mut file = base_block(root_offset, bins.len() as u32);
    file.extend_from_slice(&bins);
    file
}

fn count_keys(node: &Node) -> u32 {
    1 + node.children.values().map(count_keys).sum::<u32>()
}

/// Cells laid out one after another in a single hive bin.
struct Bins {
    bytes: Vec<u8>,
}

impl Default for Bins {
    fn default() -> Self {
        Bins {
            bytes: vec![0; BIN_HEADER],
        }
    }
}

impl Bins {
    /// Adds an allocated cell and returns its offset from the start of the bins.
    fn cell(&mut self, data: &[u8]) -> u32 {
        let offset = self.bytes.len() as u32;
        let size = (4 + data.len()).div_ceil(8) * 8;
        self.bytes
            .extend_from_slice(&(-(size as i32)).to_le_bytes());
        self.bytes.extend_from_slice(data);
        self.bytes.resize(offset as usize + size, 0);
        offset
    }

    fn patch32(&mut self, cell: u32, field: usize, value: u32) {
        let at = cell as usize + 4 + field;
        self.bytes[at..at + 4].copy_from_slice(&value.to_le_bytes());
    }

    /// One security cell shared by every key, pointing to itself as its list.
    fn security_cell(&mut self, references: u32) -> u32 {
        // The smallest self-relative descriptor: revision 1, control SE_SELF_RELATIVE.
        let descriptor = [
            1u8, 0, 0, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        ];
        let mut sk = b"sk\0\0".to_vec();
        sk.extend_from_slice(&[0; 8]);
        sk.extend_from_slice(&references.to_le_bytes());
        sk.extend_from_slice(&(descriptor.len() as u32).to_le_bytes());
        sk.extend_from_slice(&descriptor);
        let offset = self.cell(&sk);
        self.patch32(offset, 4, offset);
        self.patch32(offset, 8, offset);
        offset
    }

    /// Writes a key node, then its values and subkeys, and links them into it.
    fn key(&mut self, node: &Node, parent: u32, security: u32, root: bool) -> u32 {
        let (name, compressed) = stored_name(&node.name);
        let mut nk = vec![0u8; 76];
        nk[..2].copy_from_slice(b"nk");
        let flags: u16 = if root { 0x2c } else { 0x20 };
        let flags = if compressed { flags } else { flags & !0x20 };
        nk[2..4].copy_from_slice(&flags.to_le_bytes());
        nk[4..12].copy_from_slice(&FILETIME_2001.to_le_bytes());
        put(&mut nk, 16, parent);
        for field in [28, 32, 40, 48] {
            put(&mut nk, field, u32::MAX);
        }
        put(&mut nk, 44, security);
        nk[72..74].copy_from_slice(&(name.len() as u16).to_le_bytes());
        nk.extend_from_slice(&name);
        let offset = self.cell(&nk);
        if !node.values.is_empty() {
            let values: Vec<u32> = node.values.iter().map(|(n, v)| self.value(n, v)).collect();
            self.patch32(offset, 36, values.len() as u32);
            let list = self.cell(
                &values
                    .iter()
                    .flat_map(|v| v.to_le_bytes())
                    .collect::<Vec<_>>(),
            );
            self.patch32(offset, 40, list);
            let longest = node
                .values
                .iter()
                .map(|(n, _)| n.len() * 2)
                .max()
                .unwrap_or(0);
            self.patch32(offset, 60, longest as u32);
        }
        if !node.children.is_empty() {
            let mut lh = b"lh".to_vec();
            lh.extend_from_slice(&(node.children.len() as u16).to_le_bytes());
            for child in node.children.values() {
                let child_offset = self.key(child, offset, security, false);
                lh.extend_from_slice(&child_offset.to_le_bytes());
                lh.extend_from_slice(&name_hash(&child.name).to_le_bytes());
            }
            self.patch32(offset, 20, node.children.len() as u32);
            let list = self.cell(&lh);
            self.patch32(offset, 28, list);
            let longest = node
                .children
                .values()
                .map(|c| c.name.len() * 2)
                .max()
                .unwrap_or(0);
            self.patch32(offset, 52, longest as u32);
        }
        offset
    }

    fn value(&mut self, name: &str, value: &RegValue) -> u32 {
        let (stored, compressed) = stored_name(name);
        let mut vk = vec![0u8; 20];
        vk[..2].copy_from_slice(b"vk");
        vk[2..4].copy_from_slice(&(stored.len() as u16).to_le_bytes());
        let (kind, data) = value_data(value);
        if data.len() <= 4 {
            // Small data lives in the offset field, flagged by the size's top bit.
            put(&mut vk, 4, 0x8000_0000 | data.len() as u32);
            let mut inline = [0u8; 4];
            inline[..data.len()].copy_from_slice(&data);
            vk[8..12].copy_from_slice(&inline);
        } else {
            let cell = self.cell(&data);
            put(&mut vk, 4, data.len() as u32);
            put(&mut vk, 8, cell);
        }
        put(&mut vk, 12, kind);
        vk[16..18].copy_from_slice(&u16::from(compressed).to_le_bytes());
        vk.extend_from_slice(&stored);
        self.cell(&vk)
    }

    /// Rounds the bin to whole 4 KiB pages, the rest one free cell, and writes its header.
    fn finish(mut self) -> Vec<u8> {
        let used = self.bytes.len();
        let size = used.div_ceil(0x1000).max(1) * 0x1000;
        if size > used {
            self.bytes
                .extend_from_slice(&((size - used) as i32).to_le_bytes());
            self.bytes.resize(size, 0);
        }
        self.bytes[..4].copy_from_slice(b"hbin");
        self.bytes[8..12].copy_from_slice(&(size as u32).to_le_bytes());
        self.bytes[20..28].copy_from_slice(&FILETIME_2001.to_le_bytes());
        self.bytes
    }
}

/// The 4 KiB base block: signature, sequence numbers, version 1.3, root cell, bins size and
/// the XOR checksum of its first 508 bytes.
fn base_block(root: u32, bins_size: u32) -> Vec<u8> {
    let mut block = vec![0u8; 0x1000];
    block[..4].copy_from_slice(b"regf");
    for (field, value) in [(4, 1), (8, 1), (20, 1), (24, 3), (28, 0), (32, 1), (44, 1)] {
        put(&mut block, field, value);
    }
    block[12..20].copy_from_slice(&FILETIME_2001.to_le_bytes());
    put(&mut block, 36, root);
    put(&mut block, 40, bins_size);
    let name: Vec<u8> = "wormtrace-gen"
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect();
    block[48..48 + name.len()].copy_from_slice(&name);
    let checksum = (0..127).fold(0u32, |x, i| {
        x ^ u32::from_le_bytes(block[i * 4..i * 4 + 4].try_into().unwrap())
    });
    let checksum = match checksum {
        0 => 1,
        u32::MAX => u32::MAX - 1,
        c => c,
    };
    put(&mut block, 508, checksum);
    block
}

/// The `lh` list's hash: each character upper-cased, times 37, summed.
fn name_hash(name: &str) -> u32 {
    name.chars().fold(0u32, |h, c| {
        let upper = c.to_uppercase().next().unwrap_or(c);
        h.wrapping_mul(37).wrapping_add(upper as u32)
    })
}

/// A name as stored: Latin-1 ("compressed") when it fits, else UTF-16LE.
fn stored_name(name: &str) -> (Vec<u8>, bool) {
    if name.chars().all(|c| (c as u32) < 0x100) {
        (name.chars().map(|c| c as u8).collect(), true)
    } else {
        (utf16(name), false)
    }
}

fn utf16(text: &str) -> Vec<u8> {
    text.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

/// The registry type and data bytes of a value.
fn value_data(value: &RegValue) -> (u32, Vec<u8>) {
    match value {
        RegValue::Sz(s) => (1, utf16(&format!("{s}\0"))),
        RegValue::Dword(d) => (4, d.to_le_bytes().to_vec()),
        RegValue::MultiSz(list) => {
            let mut text: String = list.iter().map(|s| format!("{s}\0")).collect();
            text.push('\0');
            (7, utf16(&text))
        }
    }
}

fn put(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_le_bytes());
}
