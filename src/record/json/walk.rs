//! A byte-level pull reader for one JSON object a line: it hands every scalar to a callback
//! with its dotted key path, without building a tree. Strings stay borrowed from the line;
//! only those a layout wants are unescaped.
//!
//! Evidence is hostile and often not strict JSON: nginx writes raw bytes above 0x7F and, with
//! its default escaping, `\xHH`. Bytes are never required to be UTF-8, `\xHH` is read as the
//! byte, and a malformed line gives what was read before the fault.

use std::borrow::Cow;

use crate::record::hex_byte;

/// Nesting deeper than this ends the walk (logs nest three or four levels).
const MAX_DEPTH: usize = 32;

/// A scalar as it sits in the line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scalar<'a> {
    /// The bytes between the quotes, and whether they hold a backslash escape.
    Text { raw: &'a [u8], escaped: bool },
    /// A number, `true` or `false`, as written.
    Plain(&'a [u8]),
}

impl<'a> Scalar<'a> {
    /// The value with escapes decoded (borrowed when there were none).
    pub fn value(self) -> Cow<'a, [u8]> {
        match self {
            Scalar::Text { raw, escaped: true } => Cow::Owned(unescape(raw)),
            Scalar::Text { raw, .. } | Scalar::Plain(raw) => Cow::Borrowed(raw),
        }
    }
}

/// The line was not a complete JSON object (what came before the fault was still reported).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Malformed;

/// Walks the object on `line`, calling `each(path, scalar)` for every non-null scalar.
/// The path joins keys with `.` in ASCII lower case; elements of an array share the array's
/// path (a header logged as `["a", "b"]` gives two scalars on one path).
pub fn walk<'a>(line: &'a [u8], each: &mut dyn FnMut(&[u8], Scalar<'a>)) -> Result<(), Malformed> {
    let mut walker = Walker {
        s: line,
        i: 0,
        path: Vec::with_capacity(64),
        each,
    };
    walker.skip_ws();
    if walker.peek() != Some(b'{') {
        return Err(Malformed);
    }
    walker.value(0)
}

struct Walker<'a, 'f> {
    s: &'a [u8],
    i: usize,
    path: Vec<u8>,
    each: &'f mut dyn FnMut(&[u8], Scalar<'a>),
}

impl<'a> Walker<'a, '_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\r' | b'\n')) {
            self.i += 1;
        }
    }

    fn expect(&mut self, byte: u8) -> Result<(), Malformed> {
        self.skip_ws();
        if self.peek() == Some(byte) {
            self.i += 1;
            Ok(())
        } else {
            Err(Malformed)
        }
    }

    fn value(&mut self, depth: usize) -> Result<(), Malformed> {
        if depth > MAX_DEPTH {
            return Err(Malformed);
        }
        self.skip_ws();
        match self.peek().ok_or(Malformed)? {
            b'{' => self.object(depth + 1),
            b'[' => self.array(depth + 1),
            b'"' => {
                let (raw, escaped) = self.string()?;
                (self.each)(&self.path, Scalar::Text { raw, escaped });
                Ok(())
            }
            _ => {
                let raw = self.plain()?;
                if raw != b"null" {
                    (self.each)(&self.path, Scalar::Plain(raw));
                }
                Ok(())
            }
        }
    }

    fn object(&mut self, depth: usize) -> Result<(), Malformed> {
        self.i += 1;
        self.skip_ws();
        if self.peek() == Some(b'}') {
            self.i += 1;
            return Ok(());
        }
        loop {
            self.skip_ws();
            if self.peek() != Some(b'"') {
                return Err(Malformed);
            }
            let (key, escaped) = self.string()?;
            self.expect(b':')?;
            let before = self.path.len();
            if before > 0 {
                self.path.push(b'.');
            }
            let key = if escaped {
                Cow::Owned(unescape(key))
            } else {
                Cow::Borrowed(key)
            };
            self.path.extend(key.iter().map(u8::to_ascii_lowercase));
            let result = self.value(depth);
            self.path.truncate(before);
            result?;
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(b'}') => {
                    self.i += 1;
                    return Ok(());
                }
                _ => return Err(Malformed),
            }
        }
    }

    fn array(&mut self, depth: usize) -> Result<(), Malformed> {
        self.i += 1;
        self.skip_ws();
        if self.peek() == Some(b']') {
            self.i += 1;
            return Ok(());
        }
        loop {
            self.value(depth)?;
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(b']') => {
                    self.i += 1;
                    return Ok(());
                }
                _ => return Err(Malformed),
            }
        }
    }

    /// The bytes of the string at the cursor (on its opening quote), and whether it has
    /// escapes; the cursor moves past the closing quote.
    fn string(&mut self) -> Result<(&'a [u8], bool), Malformed> {
        let start = self.i + 1;
        let mut at = start;
        let mut escaped = false;
        loop {
            let next = memchr::memchr2(b'"', b'\\', &self.s[at..]).ok_or(Malformed)?;
            at += next;
            if self.s[at] == b'"' {
                self.i = at + 1;
                return Ok((&self.s[start..at], escaped));
            }
            escaped = true;
            at += 2;
            if at > self.s.len() {
                return Err(Malformed);
            }
        }
    }

    /// A number, `true`, `false` or `null`: up to the next delimiter.
    fn plain(&mut self) -> Result<&'a [u8], Malformed> {
        let start = self.i;
        while let Some(b) = self.peek() {
            if matches!(b, b',' | b'}' | b']' | b' ' | b'\t' | b'\r' | b'\n') {
                break;
            }
            self.i += 1;
        }
        if self.i == start {
            return Err(Malformed);
        }
        Ok(&self.s[start..self.i])
    }
}

/// Decodes JSON string escapes, and nginx's `\xHH`, into bytes. An escape that is not one
/// of these is kept as written; `\u` surrogates that do not pair become U+FFFD.
pub fn unescape(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        let Some(next) = memchr::memchr(b'\\', &raw[i..]) else {
            out.extend_from_slice(&raw[i..]);
            break;
        };
        out.extend_from_slice(&raw[i..i + next]);
        i += next;
        i += decode_escape(&raw[i..], &mut out);
    }
    out
}

/// Decodes the escape at the start of `at` (its backslash first) into `out`; returns the
/// bytes it took.
fn decode_escape(at: &[u8], out: &mut Vec<u8>) -> usize {
    let simple = match at.get(1) {
        Some(b'"') => Some(b'"'),
        Some(b'\\') => Some(b'\\'),
        Some(b'/') => Some(b'/'),
        Some(b'b') => Some(0x08),
        Some(b'f') => Some(0x0c),
        Some(b'n') => Some(b'\n'),
        Some(b'r') => Some(b'\r'),
        Some(b't') => Some(b'\t'),
        _ => None,
    };
    if let Some(byte) = simple {
        out.push(byte);
        return 2;
    }
    match at.get(1) {
        Some(b'x') => {
            if let Some(byte) = at.get(2..4).and_then(hex_byte) {
                out.push(byte);
                return 4;
            }
        }
        Some(b'u') => {
            if let Some((ch, used)) = unicode_escape(at) {
                let mut buf = [0u8; 4];
                out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                return used;
            }
        }
        _ => {}
    }
    out.push(b'\\');
    1
}

/// `\uXXXX`, or a surrogate pair `\uD8xx\uDCxx`, at the start of `at`.
fn unicode_escape(at: &[u8]) -> Option<(char, usize)> {
    let high = hex_u16(at.get(2..6)?)?;
    if !(0xD800..0xDC00).contains(&high) {
        let ch = char::from_u32(u32::from(high)).unwrap_or(char::REPLACEMENT_CHARACTER);
        return Some((ch, 6));
    }
    let low = at
        .get(6..8)
        .filter(|p| *p == b"\\u")
        .and_then(|_| hex_u16(at.get(8..12)?))
        .filter(|low| (0xDC00..0xE000).contains(low));
    match low {
        Some(low) => {
            let code = 0x10000 + ((u32::from(high) - 0xD800) << 10) + (u32::from(low) - 0xDC00);
            Some((char::from_u32(code)?, 12))
        }
        None => Some((char::REPLACEMENT_CHARACTER, 6)),
    }
}

fn hex_u16(digits: &[u8]) -> Option<u16> {
    u16::from_str_radix(std::str::from_utf8(digits).ok()?, 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scalars(line: &[u8]) -> (Vec<(String, String)>, Result<(), Malformed>) {
        let mut out = Vec::new();
        let result = walk(line, &mut |path, scalar| {
            out.push((
                String::from_utf8_lossy(path).into_owned(),
                String::from_utf8_lossy(&scalar.value()).into_owned(),
            ));
        });
        (out, result)
    }

    #[test]
    fn nested_paths_arrays_and_numbers() {
        let line = br#"{"ts":1.5,"request":{"remote_ip":"192.0.2.7","Headers":{"User-Agent":["a","b"]}},"status":404,"x":null,"ok":true}"#;
        let (got, result) = scalars(line);
        assert_eq!(result, Ok(()));
        let want = [
            ("ts", "1.5"),
            ("request.remote_ip", "192.0.2.7"),
            ("request.headers.user-agent", "a"),
            ("request.headers.user-agent", "b"),
            ("status", "404"),
            ("ok", "true"),
        ];
        let want: Vec<(String, String)> = want
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn escapes_are_decoded_and_raw_bytes_kept() {
        let line = b"{\"u\":\"\\/scripts\\/..\\u00c1\\x1c..\\\"q\\\"\",\"raw\":\"\xc1\x1c\",\"e\":\"\\ud83d\\ude00\\ud800x\"}";
        let (got, result) = scalars(line);
        assert_eq!(result, Ok(()));
        assert_eq!(
            got[0].1.as_bytes(),
            "/scripts/..\u{c1}\u{1c}..\"q\"".as_bytes()
        );
        let mut raw = Vec::new();
        walk(line, &mut |p, s| {
            if p == b"raw" {
                raw = s.value().into_owned();
            }
        })
        .unwrap();
        assert_eq!(raw, b"\xc1\x1c");
        assert_eq!(got[2].1, "\u{1F600}\u{FFFD}x");
        assert_eq!(unescape(b"a\\xC1\\x1Cb"), b"a\xc1\x1cb");
        assert_eq!(unescape(b"bad \\q and \\u12"), b"bad \\q and \\u12");
    }

    #[test]
    fn malformed_lines_give_what_came_before() {
        for line in [
            &b"{\"a\":\"1\",\"b\":"[..],
            b"{\"a\":\"1\" \"b\":2}",
            b"{\"a\":\"1\",\"b\":\"open",
            b"{\"a\":\"1\",\"b\":\"ends in \\",
            b"{\"a\":\"1\",[}",
        ] {
            let (got, result) = scalars(line);
            assert_eq!(result, Err(Malformed), "{}", String::from_utf8_lossy(line));
            assert_eq!(got.first().map(|g| g.1.as_str()), Some("1"));
        }
        assert_eq!(scalars(b"not json").1, Err(Malformed));
        let deep = format!("{}{}", "{\"a\":".repeat(10_000), "1");
        assert_eq!(scalars(deep.as_bytes()).1, Err(Malformed));
    }
}
