//! Escaping of evidence strings for each medium, in one place for every sink:
//! - the terminal: control characters, bidi overrides and invisible characters become visible
//!   escapes (`\x1b`, `\u{202e}`), so a log line cannot move the cursor, retitle the window,
//!   ring the bell or reorder what is shown;
//! - CSV: a cell that a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, tab, carriage
//!   return first) gets a leading `'`, as OWASP recommends; cells are always quoted;
//! - JSON: U+2028, U+2029 and U+0085 are written as `\u` escapes, so line-splitting readers
//!   see one record per line;
//! - HTML is escaped by the template engine (maud) in the report.

use std::borrow::Cow;
use std::fmt::Write as _;

use crate::words::{self, word_of};

/// Whether `c` must not reach a terminal as it is.
fn unsafe_for_terminal(c: char) -> bool {
    c.is_control() && c != '\n'
        || matches!(c,
            '\u{200b}'..='\u{200f}'   // zero-width space, joiners, LRM/RLM
            | '\u{202a}'..='\u{202e}' // bidi embeddings and overrides
            | '\u{2060}'..='\u{2064}' // word joiner and invisible operators
            | '\u{2066}'..='\u{2069}' // bidi isolates
            | '\u{061c}'              // Arabic letter mark
            | '\u{feff}'              // zero-width no-break space
        )
}

/// Text for a terminal: every unsafe character as a visible escape (`\x1b`, `\u{202e}`);
/// a backslash stays as it is (paths are full of them).
pub fn terminal(text: &str) -> Cow<'_, str> {
    if !text.chars().any(unsafe_for_terminal) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if !unsafe_for_terminal(c) {
            out.push(c);
        } else if (c as u32) < 0x80 {
            let _ = write!(out, "\\x{:02x}", c as u32);
        } else {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        }
    }
    Cow::Owned(out)
}

/// A CSV cell a spreadsheet will not run: formula triggers get a leading `'`. So does a cell
/// whose leading quotes come before a trigger (`'=`), so that removing one quote from every
/// cell for which [`csv_cell_needs_quote`] holds after it gives the text back.
pub fn csv_cell(text: String) -> String {
    if csv_cell_needs_quote(&text) {
        format!("'{text}")
    } else {
        text
    }
}

/// Whether a text, past its leading quotes, starts with a formula trigger.
pub fn csv_cell_needs_quote(text: &str) -> bool {
    text.trim_start_matches('\'')
        .starts_with(['=', '+', '-', '@', '\t', '\r'])
}

/// Writes `text` to `out` as a JSON string, quotes included: the escapes serde_json writes
/// (`\"`, `\\`, `\n` and the other short ones, `\u00XX` for the other control characters),
/// and U+2028, U+2029 and U+0085 as `\u` escapes too.
pub fn json_string(out: &mut Vec<u8>, text: &str) {
    let bytes = text.as_bytes();
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    // Bytes from `run` on need no escape and are copied in one piece when the run ends.
    let mut run = 0;
    let mut from = 0;
    while let Some(at) = next_to_look_at(bytes, from) {
        let (width, escape) = json_escape_at(&bytes[at..]);
        if let Some(escape) = escape {
            out.extend_from_slice(&bytes[run..at]);
            escape.write(out);
            run = at + width;
        }
        from = at + width;
    }
    out.extend_from_slice(&bytes[run..]);
    out.push(b'"');
}

/// The first byte at or after `from` that may need an escape: a control character, `"`, `\\`,
/// or a byte that is not ASCII (possibly the start of a line breaker). Plain ASCII (most of
/// URIs and log lines) is passed over eight bytes at a time. It may stop at a plain byte (a
/// borrow in the word arithmetic), which costs a look and nothing else; it never passes over
/// one that needs an escape.
fn next_to_look_at(bytes: &[u8], mut from: usize) -> Option<usize> {
    while let Some(word) = bytes.get(from..from + 8) {
        let marks = bytes_to_look_at(word_of(word));
        if marks != 0 {
            return Some(words::first_marked(from, marks));
        }
        from += 8;
    }
    let left = bytes.len() - from;
    if left == 0 {
        return None;
    }
    // The last word of a long string overlaps the one before it: its first bytes are left out.
    if let Some(last) = bytes.len().checked_sub(8) {
        let marks = bytes_to_look_at(word_of(&bytes[last..])) & (u64::MAX << (8 * (8 - left)));
        return (marks != 0).then(|| words::first_marked(last, marks));
    }
    let plain = |&b: &u8| (0x20..0x80).contains(&b) && b != b'"' && b != b'\\';
    bytes[from..]
        .iter()
        .position(|b| !plain(b))
        .map(|p| from + p)
}

/// The high bit of each byte of `word` (little-endian) that is a control character, `"`, `\\`
/// or not ASCII. Every such byte is marked; a plain byte above a marked one may be marked too
/// (a borrow carries on).
fn bytes_to_look_at(word: u64) -> u64 {
    words::below(word, 0x20)
        | words::equal_to(word, b'"')
        | words::equal_to(word, b'\\')
        | words::not_ascii(word)
}

/// How a JSON string writes one character.
enum JsonEscape {
    /// `\` and one letter.
    Short(u8),
    /// `\u` and four hex digits.
    Unicode(u16),
}

impl JsonEscape {
    fn write(self, out: &mut Vec<u8>) {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        match self {
            JsonEscape::Short(letter) => out.extend_from_slice(&[b'\\', letter]),
            JsonEscape::Unicode(code) => {
                out.extend_from_slice(b"\\u");
                for shift in [12, 8, 4, 0] {
                    out.push(HEX[usize::from((code >> shift) & 0xf)]);
                }
            }
        }
    }
}

/// The width of the character `rest` starts with (1 for a byte that does not start a line
/// breaker), and its escape if it needs one.
fn json_escape_at(rest: &[u8]) -> (usize, Option<JsonEscape>) {
    match rest {
        [b'"', ..] => (1, Some(JsonEscape::Short(b'"'))),
        [b'\\', ..] => (1, Some(JsonEscape::Short(b'\\'))),
        [0x08, ..] => (1, Some(JsonEscape::Short(b'b'))),
        [b'\t', ..] => (1, Some(JsonEscape::Short(b't'))),
        [b'\n', ..] => (1, Some(JsonEscape::Short(b'n'))),
        [0x0c, ..] => (1, Some(JsonEscape::Short(b'f'))),
        [b'\r', ..] => (1, Some(JsonEscape::Short(b'r'))),
        [c @ 0..0x20, ..] => (1, Some(JsonEscape::Unicode(u16::from(*c)))),
        [0xc2, 0x85, ..] => (2, Some(JsonEscape::Unicode(0x85))),
        [0xe2, 0x80, 0xa8, ..] => (3, Some(JsonEscape::Unicode(0x2028))),
        [0xe2, 0x80, 0xa9, ..] => (3, Some(JsonEscape::Unicode(0x2029))),
        _ => (1, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_escapes_are_visible_and_reversible_for_plain_text() {
        assert_eq!(terminal("web01"), "web01");
        assert_eq!(terminal(r"C:\WINNT"), r"C:\WINNT");
        assert_eq!(terminal("a\x1b]0;pwned\x07b"), r"a\x1b]0;pwned\x07b");
        assert_eq!(terminal("\x1b[2J"), r"\x1b[2J");
        assert_eq!(terminal("abc\u{202e}gpj.exe"), r"abc\u{202e}gpj.exe");
        assert_eq!(terminal("x\u{200b}y\u{9b}"), r"x\u{200b}y\u{9b}");
        assert_eq!(terminal("日本語\tok"), r"日本語\x09ok");
    }

    #[test]
    fn csv_formula_triggers_are_neutralised() {
        for bad in ["=HYPERLINK(\"x\")", "+1", "-2+3", "@SUM(A1)", "\tx", "\rx"] {
            assert!(csv_cell(bad.to_string()).starts_with('\''), "{bad}");
        }
        assert_eq!(csv_cell("GET".into()), "GET");
        assert_eq!(csv_cell("'=1".into()), "''=1");
        assert_eq!(csv_cell("'quoted".into()), "'quoted");
        assert_eq!(csv_cell(String::new()), "");
    }

    fn json(text: &str) -> String {
        let mut out = Vec::new();
        json_string(&mut out, text);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn line_separators_are_escaped_in_json() {
        let safe = json("a\u{2028}b\u{2029}c\u{85}d");
        assert_eq!(safe, r#""a\u2028b\u2029c\u0085d""#);
        let back: String = serde_json::from_str(&safe).unwrap();
        assert_eq!(back, "a\u{2028}b\u{2029}c\u{85}d");
    }

    /// serde_json's string, with the three line breakers escaped as well.
    fn serde_json_line_safe(text: &str) -> String {
        serde_json::to_string(text)
            .unwrap()
            .replace('\u{2028}', "\\u2028")
            .replace('\u{2029}', "\\u2029")
            .replace('\u{85}', "\\u0085")
    }

    #[test]
    fn json_strings_are_serde_jsons_at_every_position_of_a_word() {
        let specials = [
            "\"", "\\", "\n", "\u{1}", "\u{1f}", "\u{7f}", "\u{2028}", "\u{2029}", "\u{85}", "é",
            "日", "\u{2027}", "\u{84}",
        ];
        for special in specials {
            for at in 0..20 {
                let text = format!("{}{special}{}", "x".repeat(at), "y".repeat(19 - at));
                assert_eq!(json(&text), serde_json_line_safe(&text), "{text:?}");
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn json_strings_read_back_and_match_serde_json(text in "(\\PC|[\u{0}-\u{1f}\u{85}\u{2028}\u{2029}\"\\\\]){0,40}") {
            let written = json(&text);
            proptest::prop_assert_eq!(&written, &serde_json_line_safe(&text));
            let breakers = ['\u{2028}', '\u{2029}', '\u{85}', '\n'];
            proptest::prop_assert!(!written.contains(breakers), "{}", written);
            let back: String = serde_json::from_str(&written).unwrap();
            proptest::prop_assert_eq!(back, text);
        }
    }
}
