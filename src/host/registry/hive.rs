//! Offline registry hives (`regf` files such as `system32\config\SYSTEM`), read with the
//! `notatin` parser. Only the keys the checks need are copied out.

use std::io::Cursor;
use std::panic::{catch_unwind, AssertUnwindSafe};

use notatin::cell_key_node::CellKeyNode;
use notatin::cell_value::CellValue;
use notatin::parser::Parser;
use notatin::parser_builder::ParserBuilder;

use super::{RegData, RegTree};

/// Why a hive could not be read.
#[derive(Debug, thiserror::Error)]
pub enum HiveError {
    #[error("not a registry hive (no regf signature)")]
    NotAHive,
    #[error("hive could not be parsed: {0}")]
    Parse(String),
    #[error("hive holds neither a SYSTEM nor a SOFTWARE tree (no Select or Microsoft key)")]
    UnknownHive,
}

/// Keys copied from a SOFTWARE hive, relative to its root, with how many levels of
/// subkeys to copy below each.
const SOFTWARE_KEYS: [(&str, usize); 5] = [
    (r"Microsoft\Windows NT\CurrentVersion", 0),
    (r"Microsoft\Windows NT\CurrentVersion\Winlogon", 0),
    (r"Microsoft\Windows NT\CurrentVersion\Hotfix", 1),
    (r"Microsoft\Updates\Windows 2000", 2),
    (r"Microsoft\InetStp", 0),
];

/// Keys copied from each control set of a SYSTEM hive.
const CONTROL_SET_KEYS: [(&str, usize); 4] = [
    (r"Services\W3SVC", 0),
    (r"Services\W3SVC\Parameters", 0),
    (r"Services\W3SVC\Parameters\Virtual Roots", 0),
    (r"Control\ComputerName\ComputerName", 0),
];

/// Reads the keys the checks need from a hive's bytes. Which hive it is (SYSTEM or
/// SOFTWARE) is told by its content, not its file name.
pub fn load_hive(bytes: &[u8], source: &str) -> Result<RegTree, HiveError> {
    if !bytes.starts_with(b"regf") {
        return Err(HiveError::NotAHive);
    }
    let data = bytes.to_vec();
    // A damaged or hostile hive must not end the run, even if the parser panics on it.
    catch_unwind(AssertUnwindSafe(|| load_parsed(data, source)))
        .unwrap_or_else(|_| Err(HiveError::Parse("the parser gave up on this file".into())))
}

fn load_parsed(data: Vec<u8>, source: &str) -> Result<RegTree, HiveError> {
    let mut parser = ParserBuilder::from_file(Cursor::new(data))
        .build()
        .map_err(|e| HiveError::Parse(e.to_string()))?;
    let mut tree = RegTree::default();
    let mut copier = Copier {
        parser: &mut parser,
        tree: &mut tree,
        source,
    };
    if copier.exists("Select") {
        copier.copy("Select", r"HKLM\SYSTEM\Select", 0);
        for n in copier.control_sets() {
            for (rest, depth) in CONTROL_SET_KEYS {
                let from = format!(r"ControlSet{n:03}\{rest}");
                copier.copy(&from, &format!(r"HKLM\SYSTEM\{from}"), depth);
            }
        }
    } else if copier.exists("Microsoft") {
        for (path, depth) in SOFTWARE_KEYS {
            copier.copy(path, &format!(r"HKLM\SOFTWARE\{path}"), depth);
        }
    } else {
        return Err(HiveError::UnknownHive);
    }
    Ok(tree)
}

struct Copier<'a> {
    parser: &'a mut Parser,
    tree: &'a mut RegTree,
    source: &'a str,
}

impl Copier<'_> {
    fn get(&mut self, path: &str) -> Option<CellKeyNode> {
        self.parser.get_key(path, false).ok().flatten()
    }

    fn exists(&mut self, path: &str) -> bool {
        self.get(path).is_some()
    }

    /// Numbers of the `ControlSetNNN` keys present.
    fn control_sets(&mut self) -> Vec<u32> {
        (1..=9)
            .filter(|n| self.exists(&format!("ControlSet{n:03}")))
            .collect()
    }

    fn copy(&mut self, from: &str, to: &str, depth: usize) {
        if let Some(mut node) = self.get(from) {
            self.copy_node(&mut node, to, depth);
        }
    }

    fn copy_node(&mut self, node: &mut CellKeyNode, to: &str, depth: usize) {
        let key = self.tree.key_mut(to, self.source);
        for value in node.value_iter() {
            if let Some(data) = convert(value.get_content().0) {
                key.set(&value.get_pretty_name(), data);
            }
        }
        if depth == 0 {
            return;
        }
        for mut sub in node.read_sub_keys(self.parser) {
            let sub_to = format!(r"{to}\{}", sub.key_name);
            self.copy_node(&mut sub, &sub_to, depth - 1);
        }
    }
}

fn convert(value: CellValue) -> Option<RegData> {
    Some(match value {
        CellValue::String(s) => RegData::String(s.trim_end_matches('\0').to_string()),
        CellValue::MultiString(v) => RegData::MultiString(v),
        CellValue::U32(d) => RegData::Dword(d),
        CellValue::I32(d) => RegData::Dword(d as u32),
        CellValue::Binary(b) => RegData::Binary(b),
        CellValue::U64(_) | CellValue::I64(_) | CellValue::None | CellValue::Error => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_what_is_not_a_hive() {
        assert!(matches!(load_hive(b"hello", "x"), Err(HiveError::NotAHive)));
        let mut truncated = b"regf".to_vec();
        truncated.resize(600, 0);
        assert!(load_hive(&truncated, "x").is_err());
    }
}
