//! `.reg` exports: REGEDIT4 (ANSI code page) and "Windows Registry Editor Version 5.00"
//! (UTF-16LE with a byte-order mark, as regedit and `reg export` write it).

use super::{RegData, RegTree};
use crate::finding::display_text;
use crate::host::evidence::{head_text, utf16le_text};

/// Why a file is not a `.reg` export wormtrace can read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RegFileError {
    #[error("not a registry export (no REGEDIT4 or \"Windows Registry Editor\" header)")]
    NoHeader,
}

/// Parses an export into keys. Lines that cannot be understood are skipped and counted in
/// the returned number, so one damaged line does not lose the rest of the file.
pub fn parse_reg_export(bytes: &[u8], source: &str) -> Result<(RegTree, usize), RegFileError> {
    let text = decode(bytes);
    let mut lines = logical_lines(&text).into_iter();
    let header = lines.next().unwrap_or_default();
    let unicode = if header == "REGEDIT4" {
        false
    } else if header.starts_with("Windows Registry Editor Version") {
        true
    } else {
        return Err(RegFileError::NoHeader);
    };
    let mut tree = RegTree::default();
    let mut current: Option<String> = None;
    let mut skipped = 0;
    for line in lines {
        if line.is_empty() || line.starts_with(';') {
            continue;
        }
        if let Some(key) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            current = (!key.starts_with('-')).then(|| key.to_string());
            if let Some(path) = &current {
                tree.key_mut(path, source);
            }
            continue;
        }
        let parsed = current
            .as_ref()
            .and_then(|key| parse_value_line(&line, unicode).map(|v| (key, v)));
        match parsed {
            Some((key, Some((name, data)))) => tree.key_mut(key, source).set(&name, data),
            Some((_, None)) => {} // a deletion (`"name"=-`)
            None => skipped += 1,
        }
    }
    Ok((tree, skipped))
}

/// UTF-16LE with BOM (version 5), UTF-8 with or without BOM, else the ANSI code page.
fn decode(bytes: &[u8]) -> String {
    if bytes.starts_with(&[0xff, 0xfe]) {
        return head_text(bytes);
    }
    display_text(bytes.strip_prefix(&[0xef, 0xbb, 0xbf]).unwrap_or(bytes))
}

/// Lines with `\` continuations joined and surrounding blanks trimmed.
fn logical_lines(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut pending = String::new();
    for raw in text.lines() {
        let line = raw.trim();
        match line.strip_suffix('\\') {
            Some(head) if !pending.is_empty() || line.contains('=') => pending.push_str(head),
            _ => {
                pending.push_str(line);
                out.push(std::mem::take(&mut pending));
            }
        }
    }
    if !pending.is_empty() {
        out.push(pending);
    }
    out
}

type NamedData = Option<(String, RegData)>;

/// `"name"=data` or `@=data`; `Some(None)` for a deletion, `None` when unreadable.
fn parse_value_line(line: &str, unicode: bool) -> Option<NamedData> {
    let (name, rest) = if let Some(rest) = line.strip_prefix('@') {
        (String::new(), rest)
    } else {
        let (name, used) = quoted(line)?;
        (name, &line[used..])
    };
    let data = rest.trim_start().strip_prefix('=')?.trim();
    if data == "-" {
        return Some(None);
    }
    parse_data(data, unicode).map(|d| Some((name, d)))
}

/// A `"..."` string with `\\` and `\"` escapes at the start of `text`: its content and
/// how many bytes it took.
fn quoted(text: &str) -> Option<(String, usize)> {
    let mut chars = text.char_indices();
    if chars.next()?.1 != '"' {
        return None;
    }
    let mut out = String::new();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => out.push(chars.next()?.1),
            '"' => return Some((out, i + 1)),
            c => out.push(c),
        }
    }
    None
}

fn parse_data(data: &str, unicode: bool) -> Option<RegData> {
    if data.starts_with('"') {
        return quoted(data).map(|(s, _)| RegData::String(s));
    }
    if let Some(hex) = data.strip_prefix("dword:") {
        return u32::from_str_radix(hex.trim(), 16).ok().map(RegData::Dword);
    }
    let (kind, hex) = if let Some(hex) = data.strip_prefix("hex:") {
        (3, hex)
    } else {
        let rest = data.strip_prefix("hex(")?;
        let (kind, hex) = rest.split_once("):")?;
        (u32::from_str_radix(kind, 16).ok()?, hex)
    };
    let bytes = hex_bytes(hex)?;
    Some(match kind {
        2 => RegData::String(first_string(&text_of(&bytes, unicode))),
        7 => RegData::MultiString(
            text_of(&bytes, unicode)
                .split('\0')
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect(),
        ),
        4 if bytes.len() == 4 => RegData::Dword(u32::from_le_bytes(bytes.try_into().ok()?)),
        _ => RegData::Binary(bytes),
    })
}

fn hex_bytes(hex: &str) -> Option<Vec<u8>> {
    hex.split(',')
        .map(str::trim)
        .filter(|h| !h.is_empty())
        .map(|h| u8::from_str_radix(h, 16).ok())
        .collect()
}

/// String data stored as bytes: UTF-16LE in version 5 exports, the code page in REGEDIT4.
fn text_of(bytes: &[u8], unicode: bool) -> String {
    if unicode {
        utf16le_text(bytes)
    } else {
        display_text(bytes)
    }
}

fn first_string(text: &str) -> String {
    text.split('\0').next().unwrap_or_default().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    const V4: &str = "REGEDIT4\r\n\r\n[HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\W3SVC\\Parameters\\Virtual Roots]\r\n\"/C\"=\"c:\\\\,,217\"\r\n\"/Scripts\"=\"c:\\\\inetpub\\\\scripts,,217\"\r\n\r\n[HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\Winlogon]\r\n\"SFCDisable\"=dword:ffffff9d\r\n\"Multi\"=hex(7):61,00,62,00,00\r\n\"Path\"=hex(2):25,77,69,6e,64,69,72,25,00\r\n\"Broken\"=what\r\n\"Gone\"=-\r\n";

    #[test]
    fn regedit4_values() {
        let (tree, skipped) = parse_reg_export(V4.as_bytes(), "a.reg").unwrap();
        assert_eq!(skipped, 1);
        let vroots = tree
            .control_set_key(r"Services\W3SVC\Parameters\Virtual Roots")
            .unwrap();
        assert_eq!(
            vroots.value("/c").unwrap().data,
            RegData::String(r"c:\,,217".into())
        );
        let winlogon = tree
            .key(r"HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion\Winlogon")
            .unwrap();
        assert_eq!(
            winlogon.value("sfcdisable").unwrap().data,
            RegData::Dword(0xffff_ff9d)
        );
        assert_eq!(
            winlogon.value("Path").unwrap().data,
            RegData::String("%windir%".into())
        );
        assert!(winlogon.value("Gone").is_none());
        assert_eq!(winlogon.source, "a.reg");
    }

    #[test]
    fn version5_utf16_with_continuations() {
        let text = "Windows Registry Editor Version 5.00\r\n\r\n[HKEY_LOCAL_MACHINE\\SOFTWARE\\X]\r\n\"Name\"=hex(2):25,00,77,00,\\\r\n  69,00,00,00\r\n\"Quote\"=\"a \\\"b\\\"\"\r\n@=\"default\"\r\n";
        let mut bytes = vec![0xff, 0xfe];
        for unit in text.encode_utf16() {
            bytes.extend_from_slice(&unit.to_le_bytes());
        }
        let (tree, skipped) = parse_reg_export(&bytes, "b.reg").unwrap();
        assert_eq!(skipped, 0);
        let key = tree.key(r"HKEY_LOCAL_MACHINE\SOFTWARE\X").unwrap();
        assert_eq!(
            key.value("name").unwrap().data,
            RegData::String("%wi".into())
        );
        assert_eq!(
            key.value("quote").unwrap().data,
            RegData::String("a \"b\"".into())
        );
        assert_eq!(
            key.value("").unwrap().data,
            RegData::String("default".into())
        );
    }

    #[test]
    fn other_files_are_refused() {
        assert_eq!(
            parse_reg_export(b"hello\n", "c").unwrap_err(),
            RegFileError::NoHeader
        );
        assert_eq!(
            parse_reg_export(b"", "c").unwrap_err(),
            RegFileError::NoHeader
        );
    }
}
