//! IIS W3C extended: space-separated values in the layout of the last `#Fields:` line.

use super::{hex_escapes_decoded, time, Field, FieldMap, LogFormat, Record};
use crate::model::Timestamp;

/// The layout in force: one optional taxonomy field per column, and the `#Date` fallback.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct W3cLayout {
    columns: Vec<Option<Field>>,
    header_date: Option<Vec<u8>>,
    /// CloudFront's dialect: tab-separated, header values URL-encoded.
    cloudfront: bool,
}

/// The 33 fields of a CloudFront standard log, used until a file names its own (lines cut
/// out of a log lose the header; older logs have fewer fields, which the header says).
const CLOUDFRONT_FIELDS: &[u8] = b"#Fields: date time x-edge-location sc-bytes c-ip cs-method cs(Host) cs-uri-stem sc-status cs(Referer) cs(User-Agent) cs-uri-query cs(Cookie) x-edge-result-type x-edge-request-id x-host-header cs-protocol cs-bytes time-taken x-forwarded-for ssl-protocol ssl-cipher x-edge-response-result-type cs-protocol-version fle-status fle-encrypted-fields c-port time-to-first-byte x-edge-detailed-result-type sc-content-type sc-content-len sc-range-start sc-range-end";

/// How many parts of a layout directives set (see [`W3cLayout::directive_part`]).
pub const DIRECTIVE_PARTS: usize = 2;

/// The part `#Fields:` sets; `#Date:` sets the other.
const FIELDS_PART: usize = 0;

/// The part of a layout a directive sets, and the text after its name; None for a
/// directive that sets none (or a line that is none).
fn directive(line: &[u8]) -> Option<(usize, &[u8])> {
    strip_prefix_ci(line, b"#Fields:")
        .map(|rest| (FIELDS_PART, rest))
        .or_else(|| strip_prefix_ci(line, b"#Date:").map(|rest| (1, rest)))
}

/// Layout IIS 5 writes by default, used until a file names its own.
const DEFAULT_FIELDS: &[u8] = b"#Fields: time c-ip cs-method cs-uri-stem sc-status";

/// The IIS 5 default layout, built once.
fn default_layout() -> &'static W3cLayout {
    static DEFAULT: std::sync::OnceLock<W3cLayout> = std::sync::OnceLock::new();
    DEFAULT.get_or_init(|| {
        let mut layout = W3cLayout::default();
        layout.observe_directive(DEFAULT_FIELDS, FieldMap::builtin());
        layout
    })
}

impl W3cLayout {
    /// The layout of a CloudFront standard log before its `#Fields` line is seen.
    pub fn cloudfront(map: &FieldMap) -> W3cLayout {
        let mut layout = W3cLayout {
            cloudfront: true,
            ..W3cLayout::default()
        };
        layout.observe_directive(CLOUDFRONT_FIELDS, map);
        layout
    }

    /// Which part of a layout the directive `line` sets: 0 the columns (`#Fields:`), 1 the
    /// `#Date:` fallback, None for one that changes nothing. A layout is thus the last line
    /// of each part, whatever came before (see [`DIRECTIVE_PARTS`]).
    pub fn directive_part(line: &[u8]) -> Option<usize> {
        directive(line).map(|(part, _)| part)
    }

    /// Updates the layout from a `#Fields:` or `#Date:` directive; other directives are ignored.
    pub fn observe_directive(&mut self, line: &[u8], map: &FieldMap) {
        match directive(line) {
            Some((FIELDS_PART, rest)) => {
                self.columns = rest
                    .split(|b| b.is_ascii_whitespace())
                    .filter(|t| !t.is_empty())
                    .map(|name| std::str::from_utf8(name).ok().and_then(|n| map.w3c(n)))
                    .collect();
            }
            Some((_, rest)) => {
                self.header_date = rest
                    .split(|b| b.is_ascii_whitespace())
                    .find(|t| !t.is_empty())
                    .map(<[u8]>::to_vec);
            }
            None => {}
        }
    }

    /// Whether a `#Fields` line has been seen.
    pub fn is_known(&self) -> bool {
        !self.columns.is_empty()
    }

    /// Writes to `key` the raw columns of `line` that [`W3cLayout::parse`] would put in one
    /// of `fields`, each with its length, and the `#Date` fallback when the date is one of
    /// them: two lines with the same key give records with the same values in those fields.
    /// False (and `key` untouched) for a layout not named by a `#Fields` line, or CloudFront's.
    pub fn raw_key(&self, line: &[u8], fields: &[Field], key: &mut Vec<u8>) -> bool {
        if self.cloudfront || !self.is_known() {
            return false;
        }
        let mask = fields.iter().fold(0u32, |mask, f| mask | 1 << f.index());
        let wanted = |column: &Option<Field>| column.is_some_and(|f| mask & 1 << f.index() != 0);
        if fields.contains(&Field::Date) {
            tagged_part(
                key,
                HEADER_DATE,
                self.header_date.as_deref().unwrap_or_default(),
            );
        }
        let Some(last) = self.columns.iter().rposition(wanted) else {
            return true;
        };
        let values = line.trim_ascii_end();
        let ends = crate::words::positions(values, b' ').chain(std::iter::once(values.len()));
        let mut start = 0;
        for (column, end) in self.columns[..=last].iter().zip(ends) {
            if let Some(field) = column.filter(|_| wanted(column)) {
                tagged_part(key, field.index() as u8, &values[start..end]);
            }
            start = end + 1;
        }
        true
    }

    /// Parses a data line in this layout.
    pub fn parse<'a>(&self, line: &'a [u8]) -> Record<'a> {
        if self.cloudfront {
            return self.parse_cloudfront(line);
        }
        let mut record = Record::new(line, LogFormat::IisW3c);
        let guessed;
        let columns = if self.is_known() {
            &self.columns
        } else {
            guessed = guess_columns(line);
            guessed.as_ref().unwrap_or(&default_layout().columns)
        };
        let values = line.trim_ascii_end();
        // Field ends found a word at a time rather than by a test of every byte.
        let ends = crate::words::positions(values, b' ').chain(std::iter::once(values.len()));
        let mut start = 0;
        for (column, end) in columns.iter().zip(ends) {
            if let Some(field) = column {
                record.set(*field, &values[start..end]);
            }
            start = end + 1;
        }
        let date = record.get(Field::Date).or(self.header_date.as_deref());
        record.time = match (date, record.get(Field::Time)) {
            (Some(d), Some(t)) => time::w3c(d, t).map(Timestamp),
            _ => None,
        };
        record
    }
}

impl W3cLayout {
    /// A CloudFront line: tab-separated values, and header values (user agent, referer,
    /// cookie) URL-encoded once more by CloudFront (a space is `%20`, a `%` is `%25`), which
    /// are decoded so that they read as the viewer sent them. The URI stem and query are
    /// kept as logged: they are the request target as received, encoded by the client.
    fn parse_cloudfront<'a>(&self, line: &'a [u8]) -> Record<'a> {
        let mut record = Record::new(line, LogFormat::CloudFront);
        let values = line.trim_ascii_end().split(|&b| b == b'\t');
        let mut decoded_any = false;
        for (column, value) in self.columns.iter().zip(values) {
            match column {
                Some(field @ (Field::UserAgent | Field::Referer | Field::Cookie)) => {
                    let value = hex_escapes_decoded(value, b'%');
                    decoded_any |= matches!(value, std::borrow::Cow::Owned(_));
                    record.set_cow(*field, value);
                }
                Some(field) => record.set(*field, value),
                None => {}
            }
        }
        record.time = match (record.get(Field::Date), record.get(Field::Time)) {
            (Some(d), Some(t)) => time::w3c(d, t).map(Timestamp),
            _ => None,
        };
        if decoded_any {
            let decoded = hex_escapes_decoded(line, b'%').into_owned();
            record.set_decoded_line(decoded);
        }
        record
    }
}

/// The tag of the `#Date` fallback in a raw key (fields are tagged with their index).
const HEADER_DATE: u8 = u8::MAX;

/// Appends `value` to a key tagged with the field it goes to, so that a later `#Fields` line
/// with the columns in another order gives other keys.
fn tagged_part(key: &mut Vec<u8>, tag: u8, value: &[u8]) {
    key.push(tag);
    super::key_part(key, value);
}

/// Methods a request line of the IIS era starts with (WebDAV's too).
const METHODS: [&[u8]; 12] = [
    b"GET",
    b"POST",
    b"HEAD",
    b"OPTIONS",
    b"PUT",
    b"DELETE",
    b"TRACE",
    b"SEARCH",
    b"PROPFIND",
    b"PROPPATCH",
    b"MKCOL",
    b"CONNECT",
];

/// The columns of a data line seen without a `#Fields` header (lines cut out of a log with
/// `grep`, or a log whose header was lost), from its shape: the method is the first token
/// that is an HTTP method, the URI stem follows it, and the query after that unless it is
/// a status; the status is the first three-digit token after the stem; `YYYY-MM-DD` and
/// `HH:MM:SS` tokens are the date and time. Of the addresses, one after the method is the
/// client's (IIS 6 and later put `s-ip` first and `c-ip` after the request), else the
/// first one is the client's and the second the server's (IIS 5). None when no token is a
/// method: the IIS 5 default layout is used then.
fn guess_columns(line: &[u8]) -> Option<Vec<Option<Field>>> {
    let tokens: Vec<&[u8]> = line.trim_ascii_end().split(|&b| b == b' ').collect();
    let method = tokens.iter().position(|t| METHODS.contains(t))?;
    let mut columns = vec![None; tokens.len()];
    let mut set = |i: usize, field: Field| {
        if let Some(c) = columns.get_mut(i).filter(|c| c.is_none()) {
            *c = Some(field);
        }
    };
    set(method, Field::Method);
    set(method + 1, Field::UriStem);
    let status = (method + 2..tokens.len()).find(|&i| is_status(tokens[i]));
    if status != Some(method + 2) {
        set(method + 2, Field::UriQuery);
    }
    if let Some(i) = status {
        set(i, Field::Status);
    }
    if let Some(i) = tokens.iter().position(|t| is_shape(t, b"dddd-dd-dd")) {
        set(i, Field::Date);
    }
    if let Some(i) = tokens.iter().position(|t| is_shape(t, b"dd:dd:dd")) {
        set(i, Field::Time);
    }
    let is_ip =
        |t: &&[u8]| std::str::from_utf8(t).is_ok_and(|s| s.parse::<std::net::IpAddr>().is_ok());
    let before: Vec<usize> = (0..method).filter(|&i| is_ip(&tokens[i])).collect();
    match (method + 1..tokens.len()).find(|&i| is_ip(&tokens[i])) {
        Some(client) => {
            set(client, Field::ClientIp);
            if let Some(&server) = before.first() {
                set(server, Field::ServerIp);
            }
        }
        None => {
            if let Some(&client) = before.first() {
                set(client, Field::ClientIp);
            }
            if let Some(&server) = before.get(1) {
                set(server, Field::ServerIp);
            }
        }
    }
    Some(columns)
}

fn is_status(token: &[u8]) -> bool {
    token.len() == 3 && token.iter().all(u8::is_ascii_digit) && (b'1'..=b'5').contains(&token[0])
}

/// Whether `token` has the shape of `pattern` (`d` a digit, anything else itself).
fn is_shape(token: &[u8], pattern: &[u8]) -> bool {
    token.len() == pattern.len()
        && token.iter().zip(pattern).all(|(t, p)| {
            if *p == b'd' {
                t.is_ascii_digit()
            } else {
                t == p
            }
        })
}

fn strip_prefix_ci<'a>(line: &'a [u8], prefix: &[u8]) -> Option<&'a [u8]> {
    (line.len() >= prefix.len() && line[..prefix.len()].eq_ignore_ascii_case(prefix))
        .then(|| &line[prefix.len()..])
}

#[cfg(test)]
mod guess_tests {
    use super::*;

    fn fields(line: &str) -> Vec<(Field, String)> {
        let record = W3cLayout::default().parse(line.as_bytes());
        [
            Field::Date,
            Field::Time,
            Field::ClientIp,
            Field::ServerIp,
            Field::Method,
            Field::UriStem,
            Field::UriQuery,
            Field::Status,
        ]
        .into_iter()
        .filter_map(|f| {
            record
                .get(f)
                .map(|v| (f, String::from_utf8_lossy(v).into_owned()))
        })
        .collect()
    }

    #[test]
    fn headerless_lines_of_each_iis_default_layout() {
        use Field::*;
        let iis5 = "2001-08-04 10:01:02 10.1.1.5 - 10.0.0.10 80 GET /default.ida NNNN 404 -";
        assert_eq!(
            fields(iis5),
            [
                (Date, "2001-08-04"),
                (Time, "10:01:02"),
                (ClientIp, "10.1.1.5"),
                (ServerIp, "10.0.0.10"),
                (Method, "GET"),
                (UriStem, "/default.ida"),
                (UriQuery, "NNNN"),
                (Status, "404"),
            ]
            .map(|(f, v)| (f, v.to_string()))
        );
        let iis6 = "2003-08-04 10:01:02 W3SVC1 10.0.0.10 GET /scripts/root.exe /c+dir 80 - 10.1.1.5 Mozilla 404 0 2";
        let got = fields(iis6);
        assert!(got.contains(&(ClientIp, "10.1.1.5".into())), "{got:?}");
        assert!(got.contains(&(ServerIp, "10.0.0.10".into())), "{got:?}");
        assert!(got.contains(&(UriQuery, "/c+dir".into())), "{got:?}");
        assert!(got.contains(&(Status, "404".into())), "{got:?}");
        let short = "10:01:02 10.1.1.5 GET /default.ida 404";
        let got = fields(short);
        assert!(got.contains(&(UriStem, "/default.ida".into())), "{got:?}");
        assert!(got.contains(&(Status, "404".into())), "{got:?}");
        assert!(!got.iter().any(|(f, _)| *f == UriQuery), "{got:?}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout(lines: &[&[u8]]) -> W3cLayout {
        let mut l = W3cLayout::default();
        for line in lines {
            l.observe_directive(line, FieldMap::builtin());
        }
        l
    }

    #[test]
    fn fields_line_sets_layout_and_trailing_spaces_are_harmless() {
        let l = layout(&[b"#Fields: date time c-ip cs-method cs-uri-stem cs-uri-query sc-status cs(User-Agent)  \r"]);
        let r =
            l.parse(b"2001-08-04 13:45:01 192.0.2.7 GET /default.ida XXXX=a 404 Mozilla/4.0+(x)\r");
        assert_eq!(r.get(Field::ClientIp), Some(&b"192.0.2.7"[..]));
        assert_eq!(r.get(Field::UriStem), Some(&b"/default.ida"[..]));
        assert_eq!(r.get(Field::UriQuery), Some(&b"XXXX=a"[..]));
        assert_eq!(r.get(Field::Status), Some(&b"404"[..]));
        assert_eq!(r.get(Field::UserAgent), Some(&b"Mozilla/4.0 (x)"[..]));
        assert_eq!(
            r.time.map(|t| t.rfc3339()).as_deref(),
            Some("2001-08-04T13:45:01Z")
        );
    }

    #[test]
    fn date_comes_from_header_when_no_date_field() {
        let l = layout(&[
            b"#Date: 2001-08-04 00:00:00",
            b"#Fields: time c-ip cs-method cs-uri-stem sc-status",
        ]);
        let r = l.parse(b"10:00:00 192.0.2.7 GET /default.ida 404");
        assert_eq!(
            r.time.map(|t| t.rfc3339()).as_deref(),
            Some("2001-08-04T10:00:00Z")
        );
        assert_eq!(r.get(Field::Status), Some(&b"404"[..]));
    }

    #[test]
    fn lines_before_any_fields_use_the_iis5_default() {
        let r = W3cLayout::default().parse(b"10:00:00 192.0.2.7 GET /x.htm 200");
        assert_eq!(r.get(Field::UriStem), Some(&b"/x.htm"[..]));
    }

    #[test]
    fn raw_keys_agree_when_the_fields_read_agree_and_differ_with_the_columns() {
        let map = FieldMap::builtin();
        let mut layout = W3cLayout::default();
        let fields = [Field::UriStem, Field::Status];
        let key = |layout: &W3cLayout, line: &[u8]| {
            let mut key = Vec::new();
            layout.raw_key(line, &fields, &mut key).then_some(key)
        };
        // No `#Fields` line yet: no key.
        assert_eq!(key(&layout, b"10:00:00 192.0.2.1 GET /a 200"), None);
        layout.observe_directive(b"#Fields: time c-ip cs-method cs-uri-stem sc-status", map);
        let a = key(&layout, b"10:00:00 192.0.2.1 GET /a 200").unwrap();
        // Another time and client: the same key; another stem or status: another.
        assert_eq!(
            key(
                &layout,
                b"11:30:00 198.51.100.2 GET /a 200 \r\n".trim_ascii_end()
            ),
            Some(a.clone())
        );
        assert_ne!(
            key(&layout, b"10:00:00 192.0.2.1 GET /b 200"),
            Some(a.clone())
        );
        assert_ne!(
            key(&layout, b"10:00:00 192.0.2.1 GET /a 404"),
            Some(a.clone())
        );
        // A short line lacks the status: its key says so.
        assert_ne!(key(&layout, b"10:00:00 192.0.2.1 GET /a"), Some(a.clone()));
        // The same bytes under columns in another order are another request.
        let mut moved = W3cLayout::default();
        moved.observe_directive(b"#Fields: time c-ip cs-method sc-status cs-uri-stem", map);
        assert_ne!(key(&moved, b"10:00:00 192.0.2.1 GET /a 200"), Some(a));
        assert!(!W3cLayout::cloudfront(map).raw_key(b"x", &fields, &mut Vec::new()));
    }
}
