//! Registry evidence, from offline hives or `.reg` exports, as one tree of the keys the
//! checks read. Key paths are kept as `HKLM\SYSTEM\...` / `HKLM\SOFTWARE\...` whatever the
//! source, so every check reads both kinds of evidence the same way.

mod hive;
mod reg_file;
pub mod regf;

use std::collections::BTreeMap;

pub use hive::{load_hive, HiveError};
pub use reg_file::{parse_reg_export, RegExportReader, RegFileError};

/// A value's data, as far as the checks need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegData {
    String(String),
    Dword(u32),
    MultiString(Vec<String>),
    Binary(Vec<u8>),
}

impl RegData {
    /// The data as text (strings as they are, numbers in decimal).
    pub fn as_text(&self) -> String {
        match self {
            RegData::String(s) => s.clone(),
            RegData::Dword(d) => d.to_string(),
            RegData::MultiString(v) => v.join("\n"),
            RegData::Binary(b) => b.iter().map(|x| format!("{x:02x}")).collect(),
        }
    }

    /// A DWORD, or a string holding a number (regedit writes some numbers as strings).
    pub fn as_u32(&self) -> Option<u32> {
        match self {
            RegData::Dword(d) => Some(*d),
            RegData::String(s) => {
                let s = s.trim();
                match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
                    Some(hex) => u32::from_str_radix(hex, 16).ok(),
                    None => s.parse().ok(),
                }
            }
            _ => None,
        }
    }
}

/// One value with its name as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegValue {
    pub name: String,
    pub data: RegData,
}

/// Values kept per key.
pub const MAX_VALUES_PER_KEY: usize = 4_096;

/// One key: its path as written, its values, and the evidence file it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegKey {
    pub path: String,
    pub source: String,
    values: BTreeMap<String, RegValue>,
}

impl RegKey {
    /// A key with no values.
    pub fn new(path: &str, source: &str) -> Self {
        RegKey {
            path: path.to_string(),
            source: source.to_string(),
            values: BTreeMap::new(),
        }
    }

    /// Sets a value (names are case-insensitive, as in the registry). A key keeps at most
    /// [`MAX_VALUES_PER_KEY`] values: the checks read a few by name.
    pub fn set(&mut self, name: &str, data: RegData) {
        let key = name.to_lowercase();
        if self.values.len() >= MAX_VALUES_PER_KEY && !self.values.contains_key(&key) {
            return;
        }
        self.values.insert(
            key,
            RegValue {
                name: name.to_string(),
                data,
            },
        );
    }

    /// The value named `name`, any case.
    pub fn value(&self, name: &str) -> Option<&RegValue> {
        self.values.get(&name.to_lowercase())
    }

    /// All values, by lower-cased name.
    pub fn values(&self) -> impl Iterator<Item = &RegValue> {
        self.values.values()
    }
}

/// Registry keys from any number of hives and exports.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RegTree {
    keys: BTreeMap<String, RegKey>,
}

/// The control set a `CurrentControlSet` path reads when only `ControlSetNNN` exists.
pub const CURRENT_CONTROL_SET: &str = r"HKLM\SYSTEM\CurrentControlSet";

impl RegTree {
    /// The key at `path` (any case), created empty if missing.
    pub fn key_mut(&mut self, path: &str, source: &str) -> &mut RegKey {
        let path = normalize_root(path);
        self.keys
            .entry(path.to_lowercase())
            .or_insert_with(|| RegKey::new(&path, source))
    }

    /// The key at `path`, any case.
    pub fn key(&self, path: &str) -> Option<&RegKey> {
        self.keys.get(&normalize_root(path).to_lowercase())
    }

    /// Whether any key was loaded.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Whether any key under `HKLM\<hive>` was loaded.
    pub fn has_hive(&self, hive: &str) -> bool {
        let prefix = format!(r"hklm\{}", hive.to_lowercase());
        self.keys.keys().any(|k| {
            k.strip_prefix(&prefix)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('\\'))
        })
    }

    /// Direct subkeys of `path` that were loaded, by their written name.
    pub fn subkeys(&self, path: &str) -> Vec<&RegKey> {
        let prefix = format!(r"{}\", normalize_root(path).to_lowercase());
        self.keys
            .range(prefix.clone()..)
            .take_while(|(k, _)| k.starts_with(&prefix))
            .filter(|(k, _)| !k[prefix.len()..].contains('\\'))
            .map(|(_, key)| key)
            .collect()
    }

    /// A key under the current control set (`rest` like `Services\W3SVC`): as exported
    /// (`CurrentControlSet`), else through `HKLM\SYSTEM\Select` `Current`, else the first
    /// `ControlSetNNN` that has it.
    pub fn control_set_key(&self, rest: &str) -> Option<&RegKey> {
        if let Some(key) = self.key(&format!(r"{CURRENT_CONTROL_SET}\{rest}")) {
            return Some(key);
        }
        if let Some(n) = self.current_control_set() {
            return self.key(&format!(r"HKLM\SYSTEM\ControlSet{n:03}\{rest}"));
        }
        (1..=9).find_map(|n| self.key(&format!(r"HKLM\SYSTEM\ControlSet{n:03}\{rest}")))
    }

    /// Every loaded key below `path`, at any depth.
    pub fn keys_under(&self, path: &str) -> impl Iterator<Item = &RegKey> {
        let prefix = format!(r"{}\", normalize_root(path).to_lowercase());
        self.keys
            .range(prefix.clone()..)
            .take_while(move |(k, _)| k.starts_with(&prefix))
            .map(|(_, key)| key)
    }

    /// `Select\Current`: the number of the control set the system booted with.
    pub fn current_control_set(&self) -> Option<u32> {
        self.key(r"HKLM\SYSTEM\Select")?
            .value("Current")?
            .data
            .as_u32()
    }

    /// Adds every key of `other` (later values win).
    pub fn merge(&mut self, other: RegTree) {
        for (k, key) in other.keys {
            match self.keys.get_mut(&k) {
                Some(existing) => existing.values.extend(key.values),
                None => {
                    self.keys.insert(k, key);
                }
            }
        }
    }
}

/// `HKEY_LOCAL_MACHINE\...` and `HKLM\...` both become `HKLM\...`.
fn normalize_root(path: &str) -> String {
    let path = path.trim_matches('\\');
    match path.split_once('\\') {
        Some((root, rest)) if root.eq_ignore_ascii_case("HKEY_LOCAL_MACHINE") => {
            format!(r"HKLM\{rest}")
        }
        None if path.eq_ignore_ascii_case("HKEY_LOCAL_MACHINE") => "HKLM".to_string(),
        _ => path.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_set_resolved_through_select() {
        let mut tree = RegTree::default();
        tree.key_mut(r"HKEY_LOCAL_MACHINE\SYSTEM\Select", "x")
            .set("Current", RegData::Dword(2));
        tree.key_mut(r"HKLM\SYSTEM\ControlSet001\Services\W3SVC", "x")
            .set("Start", RegData::Dword(1));
        tree.key_mut(r"HKLM\SYSTEM\ControlSet002\Services\W3SVC", "x")
            .set("Start", RegData::Dword(2));
        let key = tree.control_set_key(r"services\w3svc").unwrap();
        assert_eq!(key.value("start").unwrap().data, RegData::Dword(2));
        assert!(tree.has_hive("system"));
        assert!(!tree.has_hive("software"));
        let subkeys: Vec<&str> = tree
            .subkeys(r"HKLM\SYSTEM")
            .iter()
            .map(|k| k.path.as_str())
            .collect();
        assert_eq!(subkeys, vec![r"HKLM\SYSTEM\Select"]);
    }

    #[test]
    fn numbers_from_strings_and_dwords() {
        assert_eq!(RegData::Dword(7).as_u32(), Some(7));
        assert_eq!(
            RegData::String("0xFFFFFF9D".into()).as_u32(),
            Some(0xffff_ff9d)
        );
        assert_eq!(RegData::String(" 12 ".into()).as_u32(), Some(12));
        assert_eq!(RegData::Binary(vec![1]).as_u32(), None);
    }
}
