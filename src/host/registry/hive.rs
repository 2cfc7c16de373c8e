//! Offline registry hives (`regf` files such as `system32\config\SYSTEM`), read with our own
//! bounded reader ([`super::regf`]). Only the keys the checks need are copied out.

use super::regf::{utf16le, KeyNode, RawValue, Regf, RegfError};
use super::{RegData, RegTree};

/// Why a hive could not be read.
#[derive(Debug, thiserror::Error)]
pub enum HiveError {
    #[error("not a registry hive (no regf signature)")]
    NotAHive,
    #[error("hive could not be parsed: {0}")]
    Parse(#[from] RegfError),
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
const CONTROL_SET_KEYS: [(&str, usize); 5] = [
    (r"Services\Tcpip\Parameters\Interfaces", 1),
    (r"Services\W3SVC", 0),
    (r"Services\W3SVC\Parameters", 0),
    (r"Services\W3SVC\Parameters\Virtual Roots", 0),
    (r"Control\ComputerName\ComputerName", 0),
];

/// Whether the checks read the key at `path` (`HKLM\...` or `HKEY_LOCAL_MACHINE\...`, any
/// case): the keys [`load_hive`] copies, in any control set.
pub fn wanted_key(path: &str) -> bool {
    let lower = path.trim_matches('\\').to_lowercase();
    let rest = lower
        .strip_prefix("hkey_local_machine\\")
        .or_else(|| lower.strip_prefix("hklm\\"))
        .unwrap_or(&lower);
    if let Some(rest) = rest.strip_prefix("software\\") {
        return SOFTWARE_KEYS
            .iter()
            .any(|(k, depth)| within(rest, k, *depth));
    }
    let Some(rest) = rest.strip_prefix("system\\") else {
        return false;
    };
    if rest == "select" {
        return true;
    }
    let Some((set, rest)) = rest.split_once('\\') else {
        return false;
    };
    let is_set = set == "currentcontrolset"
        || set
            .strip_prefix("controlset")
            .is_some_and(|n| n.len() == 3 && n.bytes().all(|b| b.is_ascii_digit()));
    is_set
        && CONTROL_SET_KEYS
            .iter()
            .any(|(k, depth)| within(rest, k, *depth))
}

/// Whether `path` is `key` or lies at most `depth` levels below it (both lower case for
/// `path`; `key` any case).
fn within(path: &str, key: &str, depth: usize) -> bool {
    let Some(below) = path
        .get(..key.len())
        .filter(|head| head.eq_ignore_ascii_case(key))
        .map(|_| &path[key.len()..])
    else {
        return false;
    };
    below.is_empty() || below.starts_with('\\') && below.matches('\\').count() <= depth
}

/// Reads the keys the checks need from a hive's bytes. Which hive it is (SYSTEM or
/// SOFTWARE) is told by its content, not its file name.
pub fn load_hive(bytes: &[u8], source: &str) -> Result<RegTree, HiveError> {
    let hive = Regf::open(bytes).map_err(|e| match e {
        RegfError::NoSignature => HiveError::NotAHive,
        other => HiveError::Parse(other),
    })?;
    let mut tree = RegTree::default();
    let mut copier = Copier {
        hive: &hive,
        tree: &mut tree,
        source,
    };
    if hive.key("Select").is_some() {
        copier.copy("Select", r"HKLM\SYSTEM\Select", 0);
        for n in (1..=9).filter(|n| hive.key(&format!("ControlSet{n:03}")).is_some()) {
            for (rest, depth) in CONTROL_SET_KEYS {
                let from = format!(r"ControlSet{n:03}\{rest}");
                copier.copy(&from, &format!(r"HKLM\SYSTEM\{from}"), depth);
            }
        }
    } else if hive.key("Microsoft").is_some() {
        for (path, depth) in SOFTWARE_KEYS {
            copier.copy(path, &format!(r"HKLM\SOFTWARE\{path}"), depth);
        }
    } else {
        return Err(HiveError::UnknownHive);
    }
    Ok(tree)
}

struct Copier<'a, 'h> {
    hive: &'a Regf<'h>,
    tree: &'a mut RegTree,
    source: &'a str,
}

impl Copier<'_, '_> {
    fn copy(&mut self, from: &str, to: &str, depth: usize) {
        if let Some(node) = self.hive.key(from) {
            self.copy_node(&node, to, depth);
        }
    }

    fn copy_node(&mut self, node: &KeyNode, to: &str, depth: usize) {
        let key = self.tree.key_mut(to, self.source);
        for value in self.hive.values(node) {
            if let Some(data) = convert(&value) {
                key.set(&value.name, data);
            }
        }
        if depth == 0 {
            return;
        }
        for sub in self.hive.subkeys(node) {
            let sub_to = format!(r"{to}\{}", sub.name);
            self.copy_node(&sub, &sub_to, depth - 1);
        }
    }
}

/// Registry type numbers (winnt.h).
const REG_SZ: u32 = 1;
const REG_EXPAND_SZ: u32 = 2;
const REG_BINARY: u32 = 3;
const REG_DWORD: u32 = 4;
const REG_DWORD_BIG_ENDIAN: u32 = 5;
const REG_MULTI_SZ: u32 = 7;

fn convert(value: &RawValue) -> Option<RegData> {
    let dword = |bytes: [u8; 4], big: bool| {
        if big {
            u32::from_be_bytes(bytes)
        } else {
            u32::from_le_bytes(bytes)
        }
    };
    Some(match value.kind {
        REG_SZ | REG_EXPAND_SZ => {
            RegData::String(utf16le(&value.data).trim_end_matches('\0').to_string())
        }
        REG_MULTI_SZ => RegData::MultiString(
            utf16le(&value.data)
                .split('\0')
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect(),
        ),
        REG_DWORD | REG_DWORD_BIG_ENDIAN => RegData::Dword(dword(
            value.data.get(..4)?.try_into().ok()?,
            value.kind == REG_DWORD_BIG_ENDIAN,
        )),
        REG_BINARY => RegData::Binary(value.data.clone()),
        _ => return None,
    })
}

#[cfg(test)]
mod wanted_tests {
    use super::wanted_key;

    #[test]
    fn the_keys_the_checks_read_in_any_spelling() {
        for path in [
            r"HKEY_LOCAL_MACHINE\SYSTEM\CurrentControlSet\Services\W3SVC\Parameters\Virtual Roots",
            r"hklm\system\ControlSet002\Control\ComputerName\ComputerName",
            r"HKLM\SYSTEM\Select",
            r"HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion\Hotfix\Q300972",
            r"HKLM\SOFTWARE\Microsoft\Updates\Windows 2000\SP3\Q300972",
            r"HKLM\SYSTEM\CurrentControlSet\Services\Tcpip\Parameters\Interfaces\{1}",
        ] {
            assert!(wanted_key(path), "{path}");
        }
        for path in [
            r"HKLM\SOFTWARE\Classes\.txt",
            r"HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion\Hotfix\Q1\File 1",
            r"HKLM\SYSTEM\ControlSet01\Services\W3SVC",
            r"HKLM\SYSTEM\CurrentControlSet\Services\Tcpip\Parameters\Interfaces\{1}\x",
            r"HKCU\Software\Microsoft",
        ] {
            assert!(!wanted_key(path), "{path}");
        }
    }
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

    #[test]
    fn value_types_become_data() {
        let raw = |kind, data: &[u8]| RawValue {
            name: "v".into(),
            kind,
            data: data.to_vec(),
        };
        let sz: Vec<u8> = "5.0\0".encode_utf16().flat_map(u16::to_le_bytes).collect();
        assert_eq!(
            convert(&raw(REG_SZ, &sz)),
            Some(RegData::String("5.0".into()))
        );
        assert_eq!(
            convert(&raw(REG_DWORD, &[0x9d, 0xff, 0xff, 0xff])),
            Some(RegData::Dword(0xffff_ff9d))
        );
        assert_eq!(convert(&raw(REG_DWORD, &[1])), None);
        let multi: Vec<u8> = "a\0b\0\0"
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        assert_eq!(
            convert(&raw(REG_MULTI_SZ, &multi)),
            Some(RegData::MultiString(vec!["a".into(), "b".into()]))
        );
        assert_eq!(convert(&raw(11, &[0; 8])), None);
    }
}
