//! Unrecognised text: the line is kept whole, and an HTTP request inside it is picked out
//! so that request rules still apply to logs of unknown layout.

use super::{LogFormat, Record};

const METHODS: [&[u8]; 8] = [
    b"GET ",
    b"POST ",
    b"HEAD ",
    b"SEARCH ",
    b"PUT ",
    b"OPTIONS ",
    b"PROPFIND ",
    b"DELETE ",
];

/// Parses a line of unknown layout.
pub fn parse(line: &[u8]) -> Record<'_> {
    parse_as(line, LogFormat::Text)
}

/// Parses a line of unknown layout or a bare request line, as `format`.
pub fn parse_as(line: &[u8], format: LogFormat) -> Record<'_> {
    let mut record = Record::new(line, format);
    if let Some(request) = find_request(line) {
        record.set_request_line(request);
    }
    record
}

/// A searcher for each method, built once (building one per line cost more than searching).
fn request_finders() -> &'static [(memchr::memmem::Finder<'static>, usize)] {
    static FINDERS: std::sync::OnceLock<Vec<(memchr::memmem::Finder<'static>, usize)>> =
        std::sync::OnceLock::new();
    FINDERS.get_or_init(|| {
        METHODS
            .iter()
            .map(|m| (memchr::memmem::Finder::new(*m), m.len()))
            .collect()
    })
}

/// Whether the line starts with `METHOD /`.
pub fn starts_with_request(line: &[u8]) -> bool {
    METHODS
        .iter()
        .any(|m| line.starts_with(m) && line.get(m.len()) == Some(&b'/'))
}

/// The first `METHOD /target [HTTP/x.y]` in the line, up to a closing quote or the line's end.
fn find_request(line: &[u8]) -> Option<&[u8]> {
    // A request line, and most lines of request dumps, start with the method.
    let start = if starts_with_request(line) {
        0
    } else {
        request_finders()
            .iter()
            .filter_map(|(finder, len)| {
                finder.find_iter(line).find(|&i| {
                    line.get(i + len) == Some(&b'/')
                        && (i == 0 || !line[i - 1].is_ascii_alphanumeric())
                })
            })
            .min()?
    };
    let rest = &line[start..];
    let end = memchr::memchr(b'"', rest).unwrap_or(rest.len());
    Some(&rest[..end])
}

#[cfg(test)]
mod tests {
    use super::super::Field;
    use super::*;

    #[test]
    fn request_inside_unknown_text_is_found() {
        let r =
            parse(b"Aug 4 fw01 drop src=192.0.2.1 \"GET /default.ida?NNNN=a HTTP/1.0\" len=400");
        assert_eq!(r.get(Field::UriStem), Some(&b"/default.ida"[..]));
        assert_eq!(r.get(Field::UriQuery), Some(&b"NNNN=a"[..]));
        assert_eq!(r.get(Field::ClientIp), None);
    }

    #[test]
    fn config_lines_are_not_requests() {
        let r = parse(b"DenyExtensions='.ida'");
        assert_eq!(r.get(Field::UriStem), None);
    }
}
