//! The directives a stretch of a W3C log leaves in force, found without parsing its lines.
//!
//! A W3C parser's state is the last `#Fields` line and the last `#Date` line it met. When
//! every line is a candidate (some rule has no literal to search for), a chunk cannot keep
//! its lines for a replay: it would keep the whole chunk. Instead each chunk before the last
//! is first searched for its directive lines, which costs a byte search (`#` is rare in
//! these logs), and every chunk then starts with the state the chunks before it leave.

use std::fs::File;
use std::io;
use std::ops::Range;
use std::os::unix::fs::FileExt;

use super::lines::trimmed_line;
use crate::record::{ParseContext, Parser, DIRECTIVE_PARTS};

/// Bytes read at a time, besides the unfinished line kept from the read before.
const READ_SIZE: usize = 256 * 1024;

/// The last directive line of each part of a parser's state in a stretch of a log, as the
/// line scanner would see it (cut to `max_line`, trimmed).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct LastDirectives([Option<Vec<u8>>; DIRECTIVE_PARTS]);

impl LastDirectives {
    /// Applies the stretch's directives to `parser`, which then has the state in force at
    /// the stretch's end if it had the state in force at its start.
    pub fn apply_to(&self, parser: &mut Parser, ctx: &ParseContext) {
        for line in self.0.iter().flatten() {
            parser.observe_directive(line, ctx);
        }
    }

    /// Keeps `line` if it is a directive that sets a part of `parser`'s state.
    fn see(&mut self, line: &[u8], parser: &Parser) {
        if let Some(part) = parser.directive_part(line) {
            self.0[part] = Some(line.to_vec());
        }
    }
}

/// The directives `range` of `file` leaves in force for `parser`'s format; `range` starts
/// at a line start. Lines are cut to `max_line` bytes, as the scanner cuts them.
pub fn last_directives(
    file: &File,
    range: Range<u64>,
    parser: &Parser,
    max_line: usize,
) -> io::Result<LastDirectives> {
    last_directives_reading(file, range, parser, max_line, READ_SIZE)
}

/// [`last_directives`], reading `read_size` bytes at a time (tests read a few).
fn last_directives_reading(
    file: &File,
    range: Range<u64>,
    parser: &Parser,
    max_line: usize,
    read_size: usize,
) -> io::Result<LastDirectives> {
    let max_line = max_line.max(1);
    let mut last = LastDirectives::default();
    let mut buf = vec![0u8; max_line + read_size.max(1)];
    let (mut at, mut tail, mut skipping) = (range.start, 0usize, false);
    loop {
        let want = (buf.len() - tail).min((range.end.saturating_sub(at)) as usize);
        let n = match want {
            0 => 0,
            _ => file.read_at(&mut buf[tail..tail + want], at)?,
        };
        if n == 0 {
            if !skipping {
                see_line(&buf[..tail], parser, max_line, &mut last);
            }
            return Ok(last);
        }
        at += n as u64;
        let mut data = &buf[..tail + n];
        if skipping {
            match memchr::memchr(b'\n', data) {
                None => {
                    tail = 0;
                    continue;
                }
                Some(newline) => {
                    data = &data[newline + 1..];
                    skipping = false;
                }
            }
        }
        let rest = match memchr::memrchr(b'\n', data) {
            Some(newline) => {
                see_region(&data[..=newline], parser, max_line, &mut last);
                &data[newline + 1..]
            }
            None => data,
        };
        // An over-long line is judged on its start, and the rest of it passed over.
        if rest.len() >= max_line {
            see_line(rest, parser, max_line, &mut last);
            skipping = true;
            tail = 0;
        } else {
            tail = rest.len();
            let from = rest.as_ptr() as usize - buf.as_ptr() as usize;
            buf.copy_within(from..from + tail, 0);
        }
    }
}

/// Looks at the lines of `region` (whole lines, the last ending in a newline) that start
/// with `#`, after the NULs a crash may leave at a line's start.
fn see_region(region: &[u8], parser: &Parser, max_line: usize, last: &mut LastDirectives) {
    let mut pos = 0;
    while let Some(found) = memchr::memchr(b'#', &region[pos..]) {
        let mark = pos + found;
        let line_start = region[..mark]
            .iter()
            .rposition(|&b| b != 0)
            .map_or(0, |p| p + 1);
        let line_end = memchr::memchr(b'\n', &region[mark..]).map_or(region.len(), |e| mark + e);
        if line_start == 0 || region[line_start - 1] == b'\n' {
            see_line(&region[line_start..line_end], parser, max_line, last);
        }
        pos = line_end + 1;
        if pos >= region.len() {
            break;
        }
    }
}

/// Looks at one physical line (without its newline) as the scanner judges it.
fn see_line(raw: &[u8], parser: &Parser, max_line: usize, last: &mut LastDirectives) {
    let judged = &raw[..raw.len().min(max_line)];
    last.see(trimmed_line(judged), parser);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{FieldMap, LogFormat};
    use proptest::prelude::*;
    use std::io::Write;

    fn directives_of(text: &[u8], max_line: usize) -> LastDirectives {
        directives_reading(text, max_line, READ_SIZE)
    }

    fn directives_reading(text: &[u8], max_line: usize, read_size: usize) -> LastDirectives {
        let mut file = tempfile::tempfile().unwrap();
        file.write_all(text).unwrap();
        let parser = Parser::for_format(LogFormat::IisW3c);
        let range = 0..text.len() as u64;
        last_directives_reading(&file, range, &parser, max_line, read_size).unwrap()
    }

    fn parts(last: &LastDirectives) -> Vec<Option<String>> {
        let text = |l: &[u8]| String::from_utf8_lossy(l).into_owned();
        last.0.iter().map(|l| l.as_deref().map(text)).collect()
    }

    #[test]
    fn the_last_fields_and_date_lines_are_kept() {
        let text = b"#Fields: a\n1 2\n#Date: 2001-08-04 00:00:00\r\n#Software: x\n3 4\n#Fields: b c\r\n5 6\n";
        let last = directives_of(text, 1 << 20);
        assert_eq!(
            parts(&last),
            [
                Some("#Fields: b c".into()),
                Some("#Date: 2001-08-04 00:00:00".into())
            ]
        );
    }

    #[test]
    fn only_a_line_start_after_nuls_counts_and_not_a_hash_inside_a_line() {
        let text = b"x #Fields: no\n\0\0\0#Fields: after-nuls\n#Date: d\nq\0#Date: no\n";
        let last = directives_of(text, 1 << 20);
        assert_eq!(
            parts(&last),
            [Some("#Fields: after-nuls".into()), Some("#Date: d".into())]
        );
    }

    #[test]
    fn lines_are_judged_on_their_first_max_line_bytes_across_reads() {
        let mut text = b"#Fields: kept\n".to_vec();
        // An over-long line longer than one read, whose cut start is a directive.
        text.extend(b"#Date: long ");
        text.extend(std::iter::repeat_n(b'x', 3 * READ_SIZE));
        text.extend(b"\n");
        text.extend(std::iter::repeat_n(b'y', 40));
        text.extend(b"#Fields: inside-a-line\n#Fields: last-without-newline");
        let last = directives_of(&text, 20);
        assert_eq!(
            parts(&last),
            [
                Some("#Fields: last-withou".into()),
                Some("#Date: long xxxxxxxx".into())
            ]
        );
    }

    /// What the scanner sees, the slow way: every physical line cut, trimmed and judged.
    fn naive(text: &[u8], max_line: usize) -> LastDirectives {
        let parser = Parser::for_format(LogFormat::IisW3c);
        let mut last = LastDirectives::default();
        let mut lines: Vec<&[u8]> = text.split(|&b| b == b'\n').collect();
        if text.ends_with(b"\n") {
            lines.pop();
        }
        for line in lines {
            last.see(trimmed_line(&line[..line.len().min(max_line)]), &parser);
        }
        last
    }

    /// Bytes that make directives, near-directives, NUL runs and line ends likely.
    fn hostile_text() -> impl Strategy<Value = Vec<u8>> {
        let piece = prop_oneof![
            Just(b"#Fields: a b\n".to_vec()),
            Just(b"#fields:x".to_vec()),
            Just(b"#Date: d\r\n".to_vec()),
            Just(b"#Software: s\n".to_vec()),
            Just(b"\0\0\0".to_vec()),
            Just(b"\n".to_vec()),
            Just(b"#".to_vec()),
            Just(b"GET /a 200".to_vec()),
            proptest::collection::vec(any::<u8>(), 0..12),
        ];
        proptest::collection::vec(piece, 0..60).prop_map(|pieces| pieces.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        #[test]
        fn the_search_keeps_what_judging_every_line_keeps(
            text in hostile_text(),
            max_line in 1usize..40,
            read_size in 1usize..64,
        ) {
            let expected = naive(&text, max_line);
            prop_assert_eq!(directives_reading(&text, max_line, read_size), expected);
        }
    }

    #[test]
    fn applying_a_stretch_gives_the_layout_in_force_at_its_end() {
        let map = FieldMap::builtin();
        let client = crate::model::ClientPolicy::default();
        let ctx = ParseContext {
            map,
            local_offset: chrono::FixedOffset::east_opt(0).unwrap(),
            client: &client,
        };
        let text = b"#Fields: time c-ip\n#Fields: date time c-ip cs-uri-stem\n";
        let mut read = Parser::for_format(LogFormat::IisW3c);
        for line in text.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            read.observe_directive(line, &ctx);
        }
        let mut applied = Parser::for_format(LogFormat::IisW3c);
        directives_of(text, 1 << 20).apply_to(&mut applied, &ctx);
        assert_eq!(format!("{applied:?}"), format!("{read:?}"));
    }
}
