//! Sigma string values: wildcards, escapes, and the value-changing modifiers
//! (`base64`, `base64offset`, `utf16le`/`utf16be`/`utf16`/`wide`, `windash`, `expand`).

use base64::Engine;

/// One piece of a Sigma string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    /// Bytes that must appear as they are (up to case).
    Literal(Vec<u8>),
    /// `*`: any run of bytes.
    AnyRun,
    /// `?`: any one character.
    AnyOne,
}

/// A Sigma string value as pieces.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SigmaString(pub Vec<Piece>);

impl SigmaString {
    /// Parses wildcards (`*`, `?`) and escapes (`\*`, `\?`, `\\`; any other `\` is literal).
    pub fn parse(text: &str) -> SigmaString {
        let mut pieces = Vec::new();
        let mut literal = Vec::new();
        let bytes = text.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'\\' if matches!(bytes.get(i + 1), Some(b'*' | b'?' | b'\\')) => {
                    literal.push(bytes[i + 1]);
                    i += 1;
                }
                b'*' | b'?' => {
                    if !literal.is_empty() {
                        pieces.push(Piece::Literal(std::mem::take(&mut literal)));
                    }
                    pieces.push(if bytes[i] == b'*' {
                        Piece::AnyRun
                    } else {
                        Piece::AnyOne
                    });
                }
                b => literal.push(b),
            }
            i += 1;
        }
        if !literal.is_empty() {
            pieces.push(Piece::Literal(literal));
        }
        SigmaString(pieces)
    }

    /// A string of plain bytes, with no wildcards.
    pub fn literal(bytes: Vec<u8>) -> SigmaString {
        if bytes.is_empty() {
            SigmaString(Vec::new())
        } else {
            SigmaString(vec![Piece::Literal(bytes)])
        }
    }

    /// The bytes when there is no wildcard in it.
    pub fn as_literal(&self) -> Option<Vec<u8>> {
        let mut out = Vec::new();
        for piece in &self.0 {
            match piece {
                Piece::Literal(b) => out.extend_from_slice(b),
                _ => return None,
            }
        }
        Some(out)
    }

    /// Surrounds with `*` as the `contains`/`startswith`/`endswith` modifiers do.
    pub fn wrap(mut self, run_before: bool, run_after: bool) -> SigmaString {
        if run_before && self.0.first() != Some(&Piece::AnyRun) {
            self.0.insert(0, Piece::AnyRun);
        }
        if run_after && self.0.last() != Some(&Piece::AnyRun) {
            self.0.push(Piece::AnyRun);
        }
        self
    }
}

/// Why a value modifier could not be applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValueError(pub String);

fn plain(value: &SigmaString, modifier: &str) -> Result<Vec<u8>, ValueError> {
    value
        .as_literal()
        .ok_or_else(|| ValueError(format!("'{modifier}' on a value with wildcards")))
}

/// `base64`: the value encoded.
pub fn base64(value: &SigmaString) -> Result<SigmaString, ValueError> {
    let bytes = plain(value, "base64")?;
    Ok(SigmaString::literal(
        base64::engine::general_purpose::STANDARD
            .encode(bytes)
            .into_bytes(),
    ))
}

/// `base64offset`: the three encodings of the value at byte offsets 0, 1 and 2 of a
/// base64 stream, cut to the characters that do not depend on the neighbouring bytes.
pub fn base64_offsets(value: &SigmaString) -> Result<Vec<SigmaString>, ValueError> {
    let bytes = plain(value, "base64offset")?;
    const START: [usize; 3] = [0, 2, 3];
    const END_CUT: [usize; 3] = [0, 3, 2];
    Ok((0..3)
        .map(|shift| {
            let mut padded = vec![b' '; shift];
            padded.extend_from_slice(&bytes);
            let encoded = base64::engine::general_purpose::STANDARD.encode(&padded);
            let end = encoded.len() - END_CUT[(bytes.len() + shift) % 3];
            SigmaString::literal(encoded.as_bytes()[START[shift]..end.max(START[shift])].to_vec())
        })
        .collect())
}

/// The UTF-16 encodings of `utf16le`, `utf16be`, `utf16` (little-endian with a byte-order mark) and `wide`.
pub fn utf16(value: &SigmaString, modifier: &str) -> Result<SigmaString, ValueError> {
    let bytes = plain(value, modifier)?;
    let text = String::from_utf8(bytes)
        .map_err(|_| ValueError(format!("'{modifier}' on invalid UTF-8")))?;
    let mut out = Vec::new();
    if modifier == "utf16" {
        out.extend_from_slice(&[0xff, 0xfe]);
    }
    for unit in text.encode_utf16() {
        let pair = if modifier == "utf16be" {
            unit.to_be_bytes()
        } else {
            unit.to_le_bytes()
        };
        out.extend_from_slice(&pair);
    }
    Ok(SigmaString::literal(out))
}

/// `windash`: the value with each option dash (`-` or `/` that starts a word) written
/// as `-`, `/`, en dash, em dash and horizontal bar.
pub fn windash(value: &SigmaString) -> Vec<SigmaString> {
    const DASHES: [&str; 5] = ["-", "/", "\u{2013}", "\u{2014}", "\u{2015}"];
    DASHES
        .iter()
        .map(|dash| {
            let pieces = value
                .0
                .iter()
                .map(|piece| match piece {
                    Piece::Literal(bytes) => {
                        Piece::Literal(replace_option_dashes(bytes, dash.as_bytes()))
                    }
                    other => other.clone(),
                })
                .collect();
            SigmaString(pieces)
        })
        .collect()
}

fn replace_option_dashes(bytes: &[u8], dash: &[u8]) -> Vec<u8> {
    let is_word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let mut out = Vec::with_capacity(bytes.len());
    for (i, &b) in bytes.iter().enumerate() {
        let starts_option = (b == b'-' || b == b'/')
            && (i == 0 || !is_word(bytes[i - 1]))
            && bytes.get(i + 1).is_some_and(|&n| is_word(n));
        if starts_option {
            out.extend_from_slice(dash);
        } else {
            out.push(b);
        }
    }
    out
}

/// `expand`: each `%name%` replaced by every value the placeholder file gives for it.
pub fn expand(
    text: &str,
    lookup: &dyn Fn(&str) -> Option<Vec<String>>,
) -> Result<Vec<String>, ValueError> {
    let Some(start) = text.find('%') else {
        return Ok(vec![text.to_string()]);
    };
    let Some(len) = text[start + 1..].find('%') else {
        return Ok(vec![text.to_string()]);
    };
    let name = &text[start + 1..start + 1 + len];
    let values = lookup(name).ok_or_else(|| {
        ValueError(format!(
            "placeholder %{name}% has no values (give them with --placeholders)"
        ))
    })?;
    let rest = expand(&text[start + len + 2..], lookup)?;
    Ok(values
        .iter()
        .flat_map(|v| {
            rest.iter()
                .map(move |r| format!("{}{v}{r}", &text[..start]))
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lit(s: &str) -> SigmaString {
        SigmaString::literal(s.as_bytes().to_vec())
    }

    #[test]
    fn wildcards_and_escapes() {
        let s = SigmaString::parse(r"a*b?c\*d\?e\\f\g");
        assert_eq!(
            s.0,
            vec![
                Piece::Literal(b"a".to_vec()),
                Piece::AnyRun,
                Piece::Literal(b"b".to_vec()),
                Piece::AnyOne,
                Piece::Literal(br"c*d?e\f\g".to_vec()),
            ]
        );
    }

    #[test]
    fn base64offset_matches_pysigma_output() {
        // Reference values from the Sigma specification's example ("/bin/bash").
        let got: Vec<Vec<u8>> = base64_offsets(&lit("/bin/bash"))
            .unwrap()
            .into_iter()
            .map(|s| s.as_literal().unwrap())
            .collect();
        assert_eq!(
            got,
            vec![
                b"L2Jpbi9iYXNo".to_vec(),
                b"9iaW4vYmFza".to_vec(),
                b"vYmluL2Jhc2".to_vec()
            ]
        );
    }

    #[test]
    fn utf16_and_base64() {
        assert_eq!(
            utf16(&lit("ab"), "utf16le").unwrap().as_literal().unwrap(),
            b"a\0b\0"
        );
        assert_eq!(
            utf16(&lit("ab"), "utf16be").unwrap().as_literal().unwrap(),
            b"\0a\0b"
        );
        assert_eq!(
            utf16(&lit("a"), "utf16").unwrap().as_literal().unwrap(),
            b"\xff\xfea\0"
        );
        assert_eq!(base64(&lit("cmd")).unwrap().as_literal().unwrap(), b"Y21k");
        assert!(base64(&SigmaString::parse("a*")).is_err());
    }

    #[test]
    fn windash_variants() {
        let v: Vec<Vec<u8>> = windash(&lit("net -user /x a-b"))
            .iter()
            .map(|s| s.as_literal().unwrap())
            .collect();
        assert_eq!(v[0], b"net -user -x a-b");
        assert_eq!(v[1], b"net /user /x a-b");
        assert_eq!(v[2], "net \u{2013}user \u{2013}x a-b".as_bytes());
        assert_eq!(v.len(), 5);
    }

    #[test]
    fn expand_placeholders() {
        let look = |n: &str| (n == "dirs").then(|| vec!["/a".to_string(), "/b".to_string()]);
        assert_eq!(expand("%dirs%/x", &look).unwrap(), vec!["/a/x", "/b/x"]);
        assert!(expand("%nope%", &look).unwrap_err().0.contains("nope"));
    }
}
