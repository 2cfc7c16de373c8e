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

/// Whether serialised JSON holds U+2028, U+2029 or U+0085, which [`json_line_safe`] escapes.
pub fn has_line_breakers(json: &[u8]) -> bool {
    // Their UTF-8 starts with E2 or C2, bytes a JSON line rarely holds: look for those only.
    memchr::memchr2_iter(0xe2, 0xc2, json).any(|i| {
        let rest = &json[i..];
        rest.starts_with(&[0xe2, 0x80, 0xa8])
            || rest.starts_with(&[0xe2, 0x80, 0xa9])
            || rest.starts_with(&[0xc2, 0x85])
    })
}

/// Serialised JSON with U+2028, U+2029 and U+0085 escaped (they only occur inside strings,
/// where `\u` escapes mean the same).
pub fn json_line_safe(mut bytes: Vec<u8>) -> Vec<u8> {
    if !has_line_breakers(&bytes) {
        return bytes;
    }
    let text = String::from_utf8(std::mem::take(&mut bytes))
        .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
    text.replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029")
        .replace('\u{0085}', "\\u0085")
        .into_bytes()
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

    #[test]
    fn line_separators_are_escaped_in_json() {
        let raw = serde_json::to_vec(&"a\u{2028}b\u{2029}c\u{85}d").unwrap();
        let safe = json_line_safe(raw);
        assert_eq!(
            String::from_utf8(safe.clone()).unwrap(),
            r#""a\u2028b\u2029c\u0085d""#
        );
        let back: String = serde_json::from_slice(&safe).unwrap();
        assert_eq!(back, "a\u{2028}b\u{2029}c\u{85}d");
    }
}
