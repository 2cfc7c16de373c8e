//! `.reg` exports: REGEDIT4 (ANSI code page) and "Windows Registry Editor Version 5.00"
//! (UTF-16LE with a byte-order mark, as regedit and `reg export` write it).

use super::hive::wanted_key;
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
    let mut reader = RegExportReader::new(source);
    decode(bytes).lines().for_each(|line| reader.line(line));
    reader.finish()
}

/// An export read one line at a time (see [`crate::source::each_text_line`]), keeping only
/// the keys the checks read.
pub struct RegExportReader {
    source: String,
    /// Told by the first line: Some(true) version 5, Some(false) REGEDIT4, None not yet.
    unicode: Option<bool>,
    refused: bool,
    pending: String,
    current: CurrentKey,
    /// The hive root last noted for a key the checks do not read (`HKLM\SOFTWARE`).
    noted_root: String,
    tree: RegTree,
    skipped: usize,
}

impl RegExportReader {
    /// A reader of the export at `source`.
    pub fn new(source: &str) -> Self {
        RegExportReader {
            source: source.to_string(),
            unicode: None,
            refused: false,
            pending: String::new(),
            current: CurrentKey::None,
            noted_root: String::new(),
            tree: RegTree::default(),
            skipped: 0,
        }
    }

    /// One physical line (without its line ending). A `\` at the end of a value line
    /// continues it on the next.
    pub fn line(&mut self, raw: &str) {
        if self.refused {
            return;
        }
        let line = raw.trim();
        match line.strip_suffix('\\') {
            Some(head) if !self.pending.is_empty() || line.contains('=') => {
                self.pending.push_str(head)
            }
            _ => {
                self.pending.push_str(line);
                let logical = std::mem::take(&mut self.pending);
                self.logical(&logical);
            }
        }
    }

    /// The keys read and the count of lines not understood.
    pub fn finish(mut self) -> Result<(RegTree, usize), RegFileError> {
        if !self.pending.is_empty() {
            let logical = std::mem::take(&mut self.pending);
            self.logical(&logical);
        }
        match (self.refused, self.unicode) {
            (false, Some(_)) => Ok((self.tree, self.skipped)),
            _ => Err(RegFileError::NoHeader),
        }
    }

    fn logical(&mut self, line: &str) {
        let Some(unicode) = self.unicode else {
            if line == "REGEDIT4" {
                self.unicode = Some(false);
            } else if line.starts_with("Windows Registry Editor Version") {
                self.unicode = Some(true);
            } else {
                self.refused = true;
            }
            return;
        };
        if line.is_empty() || line.starts_with(';') {
            return;
        }
        if let Some(key) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            return self.key_line(key);
        }
        match &self.current {
            CurrentKey::Wanted(key) => match parse_value_line(line, unicode) {
                Some(Some((name, data))) => self.tree.key_mut(key, &self.source).set(&name, data),
                Some(None) => {} // a deletion (`"name"=-`)
                None => self.skipped += 1,
            },
            // Most of a whole-hive export: checked, not kept.
            CurrentKey::Other if value_line_readable(line) => {}
            CurrentKey::Other | CurrentKey::None => self.skipped += 1,
        }
    }

    fn key_line(&mut self, key: &str) {
        self.current = CurrentKey::None;
        if key.starts_with('-') {
            return;
        }
        if wanted_key(key) {
            self.tree.key_mut(key, &self.source);
            self.current = CurrentKey::Wanted(key.to_string());
            return;
        }
        // Only the keys the checks read are kept (an export of a whole hive is hundreds of
        // MB); the hive it belongs to is still known to be present.
        let root = hive_root(key);
        if !root.eq_ignore_ascii_case(&self.noted_root) {
            self.tree.key_mut(root, &self.source);
            self.noted_root = root.to_string();
        }
        self.current = CurrentKey::Other;
    }
}

/// The key the value lines that follow belong to.
enum CurrentKey {
    /// No key yet, or a deleted one (`[-HKEY_...]`).
    None,
    /// A key the checks read, by its path.
    Wanted(String),
    /// A key they do not read.
    Other,
}

/// UTF-16LE with BOM (version 5), UTF-8 with or without BOM, else the ANSI code page.
fn decode(bytes: &[u8]) -> String {
    if bytes.starts_with(&[0xff, 0xfe]) {
        return head_text(bytes);
    }
    display_text(bytes.strip_prefix(&[0xef, 0xbb, 0xbf]).unwrap_or(bytes))
}

/// `HKEY_LOCAL_MACHINE\SYSTEM` of `HKEY_LOCAL_MACHINE\SYSTEM\...`: the first two parts of a
/// key path.
fn hive_root(path: &str) -> &str {
    let second = path
        .char_indices()
        .filter(|(_, c)| *c == '\\')
        .nth(1)
        .map_or(path.len(), |(i, _)| i);
    &path[..second]
}

type NamedData = Option<(String, RegData)>;

/// The name (quoted and escaped as written; empty for `@`) and the data of a value line.
fn value_parts(line: &str) -> Option<(&str, &str)> {
    let (name, rest) = match line.strip_prefix('@') {
        Some(rest) => ("", rest),
        None => line.split_at(quoted_len(line)?),
    };
    Some((name, rest.trim_start().strip_prefix('=')?.trim()))
}

/// `"name"=data` or `@=data`; `Some(None)` for a deletion, `None` when unreadable.
fn parse_value_line(line: &str, unicode: bool) -> Option<NamedData> {
    let (name, data) = value_parts(line)?;
    if data == "-" {
        return Some(None);
    }
    let name = match name {
        "" => String::new(),
        quoted_name => quoted(quoted_name)?.0,
    };
    parse_data(data, unicode).map(|d| Some((name, d)))
}

/// Whether [`parse_value_line`] would read the line, without building its value.
fn value_line_readable(line: &str) -> bool {
    let Some((_, data)) = value_parts(line) else {
        return false;
    };
    if data == "-" {
        return true;
    }
    if data.starts_with('"') {
        return quoted_len(data).is_some();
    }
    if let Some(hex) = data.strip_prefix("dword:") {
        return u32::from_str_radix(hex.trim(), 16).is_ok();
    }
    hex_data(data).is_some_and(|(_, hex)| hex_words(hex).all(|h| u8::from_str_radix(h, 16).is_ok()))
}

/// How many bytes the `"..."` string at the start of `text` takes with its quotes.
fn quoted_len(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    if bytes.first() != Some(&b'"') {
        return None;
    }
    let mut i = 1;
    while let Some(&b) = bytes.get(i) {
        match b {
            // The escaped character may be several bytes long; none of them is `"` or `\\`.
            b'\\' if i + 1 < bytes.len() => i += 2,
            b'\\' => return None,
            b'"' => return Some(i + 1),
            _ => i += 1,
        }
    }
    None
}

/// A `"..."` string with `\\` and `\"` escapes at the start of `text`: its content and
/// how many bytes it took.
fn quoted(text: &str) -> Option<(String, usize)> {
    let len = quoted_len(text)?;
    let mut out = String::with_capacity(len);
    let mut chars = text[1..len - 1].chars();
    while let Some(c) = chars.next() {
        // `quoted_len` saw a character after every `\`.
        out.push(if c == '\\' { chars.next()? } else { c });
    }
    Some((out, len))
}

fn parse_data(data: &str, unicode: bool) -> Option<RegData> {
    if data.starts_with('"') {
        return quoted(data).map(|(s, _)| RegData::String(s));
    }
    if let Some(hex) = data.strip_prefix("dword:") {
        return u32::from_str_radix(hex.trim(), 16).ok().map(RegData::Dword);
    }
    let (kind, hex) = hex_data(data)?;
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

/// `hex:...` (binary) or `hex(k):...`: the value kind and the hex part.
fn hex_data(data: &str) -> Option<(u32, &str)> {
    if let Some(hex) = data.strip_prefix("hex:") {
        return Some((3, hex));
    }
    let rest = data.strip_prefix("hex(")?;
    let (kind, hex) = rest.split_once("):")?;
    Some((u32::from_str_radix(kind, 16).ok()?, hex))
}

fn hex_words(hex: &str) -> impl Iterator<Item = &str> {
    hex.split(',').map(str::trim).filter(|h| !h.is_empty())
}

fn hex_bytes(hex: &str) -> Option<Vec<u8>> {
    hex_words(hex)
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
        let text = "Windows Registry Editor Version 5.00\r\n\r\n[HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\InetStp]\r\n\"Name\"=hex(2):25,00,77,00,\\\r\n  69,00,00,00\r\n\"Quote\"=\"a \\\"b\\\"\"\r\n@=\"default\"\r\n";
        let mut bytes = vec![0xff, 0xfe];
        for unit in text.encode_utf16() {
            bytes.extend_from_slice(&unit.to_le_bytes());
        }
        let (tree, skipped) = parse_reg_export(&bytes, "b.reg").unwrap();
        assert_eq!(skipped, 0);
        let key = tree
            .key(r"HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\InetStp")
            .unwrap();
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
    fn keys_the_checks_do_not_read_are_not_kept() {
        let mut text = String::from("REGEDIT4\n\n");
        for i in 0..1000 {
            text.push_str(&format!(
                "[HKEY_LOCAL_MACHINE\\SOFTWARE\\Classes\\.x{i}]\n@=\"v\"\n"
            ));
        }
        text.push_str(
            "[HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\InetStp]\n\"MajorVersion\"=dword:00000005\n",
        );
        let (tree, skipped) = parse_reg_export(text.as_bytes(), "big.reg").unwrap();
        assert_eq!(skipped, 0);
        assert!(tree.key(r"HKLM\SOFTWARE\Classes\.x1").is_none());
        assert!(tree.has_hive("software"));
        let inetstp = tree.key(r"HKLM\SOFTWARE\Microsoft\InetStp").unwrap();
        assert_eq!(
            inetstp.value("majorversion").unwrap().data,
            RegData::Dword(5)
        );
        assert_eq!(
            tree.keys_under("HKLM").count(),
            2,
            "the hive root and InetStp"
        );
    }

    #[test]
    fn unread_keys_still_count_their_unreadable_lines() {
        let text = "REGEDIT4\n\n[HKEY_LOCAL_MACHINE\\SOFTWARE\\Classes\\.x]\n\
            \"a\"=dword:0000000g\n\"b\"=hex(7):61,zz\n\"c\"=\"open\n\"d\\\"q\"=hex:01,02\n\
            @=\"v\"\n\"e\"=-\n\"f\"=dword:00000001\n\
            [HKEY_LOCAL_MACHINE\\SYSTEM\\Setup]\n\"g\"=what\n";
        let (tree, skipped) = parse_reg_export(text.as_bytes(), "x.reg").unwrap();
        assert_eq!(skipped, 4, "a, b, c and g");
        assert!(tree.has_hive("software") && tree.has_hive("system"));
        assert!(tree.key(r"HKLM\SOFTWARE\Classes\.x").is_none());
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
