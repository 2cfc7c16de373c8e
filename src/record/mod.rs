//! Records: one parsed log line, with its values placed on the Sigma webserver taxonomy.
//!
//! Parsers borrow from the line buffer; nothing is copied unless a value must change
//! (IIS `+` for spaces in header fields).

mod apache_error;
mod detect;
pub mod field;
mod iis_native;
pub mod mapping;
mod ncsa;
mod text;
mod time;
mod w3c;

use std::borrow::Cow;
use std::cell::OnceCell;

use chrono::FixedOffset;

pub use detect::{detect_format, FormatGuess};
pub use field::{Field, ALL_FIELDS, FIELD_COUNT};
pub use mapping::FieldMap;
pub use w3c::W3cLayout;

/// The log formats wormtrace reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LogFormat {
    /// IIS W3C extended (`#Fields:` directives).
    IisW3c,
    /// IIS native (comma-separated, IIS 4-6).
    IisNative,
    /// NCSA common log format (Apache, nginx), optionally with a leading virtual host.
    NcsaCommon,
    /// NCSA combined: common plus referer and user agent.
    NcsaCombined,
    /// Apache error log (1.3, 2.2, 2.4).
    ApacheError,
    /// Unrecognised text, scanned line by line.
    Text,
    /// Bare HTTP request lines (`GET /path HTTP/1.0`), one a line, as a request dump or a
    /// capture's request heads hold them.
    RequestLines,
}

impl LogFormat {
    /// Name used in findings and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            LogFormat::IisW3c => "iis-w3c",
            LogFormat::IisNative => "iis-native",
            LogFormat::NcsaCommon => "ncsa-common",
            LogFormat::NcsaCombined => "ncsa-combined",
            LogFormat::ApacheError => "apache-error",
            LogFormat::Text => "text",
            LogFormat::RequestLines => "request-lines",
        }
    }

    /// Every format (what `--format-hint` names).
    pub const ALL: [LogFormat; 7] = [
        LogFormat::IisW3c,
        LogFormat::IisNative,
        LogFormat::NcsaCommon,
        LogFormat::NcsaCombined,
        LogFormat::ApacheError,
        LogFormat::RequestLines,
        LogFormat::Text,
    ];

    /// Parses a name given with `--format-hint`.
    pub fn from_name(name: &str) -> Option<LogFormat> {
        LogFormat::ALL.into_iter().find(|f| f.name() == name)
    }

    /// The Sigma `logsource` products whose rules apply to this format (empty: any).
    pub fn products(self) -> &'static [&'static str] {
        match self {
            LogFormat::IisW3c | LogFormat::IisNative => &["iis"],
            LogFormat::NcsaCommon | LogFormat::NcsaCombined => &["apache", "nginx"],
            LogFormat::ApacheError => &["apache"],
            LogFormat::Text | LogFormat::RequestLines => &[],
        }
    }

    /// The Sigma `logsource` service of this format (None: any).
    pub fn service(self) -> Option<&'static str> {
        match self {
            LogFormat::ApacheError => Some("error"),
            LogFormat::Text => None,
            _ => Some("access"),
        }
    }
}

/// One log line and its taxonomy values.
#[derive(Debug)]
pub struct Record<'a> {
    /// The whole physical line, without its line ending.
    pub line: &'a [u8],
    /// Format the line was parsed as.
    pub format: LogFormat,
    /// Time of the request, when the line has one.
    pub time: Option<crate::model::Timestamp>,
    values: [Option<Cow<'a, [u8]>>; FIELD_COUNT],
    lowered: [OnceCell<Vec<u8>>; FIELD_COUNT],
    line_lowered: OnceCell<Vec<u8>>,
    full_uri: OnceCell<Option<Vec<u8>>>,
    full_uri_lowered: OnceCell<Option<Vec<u8>>>,
}

impl<'a> Record<'a> {
    /// An empty record for `line`.
    pub fn new(line: &'a [u8], format: LogFormat) -> Self {
        Record {
            line,
            format,
            time: None,
            values: Default::default(),
            lowered: Default::default(),
            line_lowered: OnceCell::new(),
            full_uri: OnceCell::new(),
            full_uri_lowered: OnceCell::new(),
        }
    }

    /// Sets a field; `-` and empty values (the logs' "no value") are left unset.
    pub fn set(&mut self, field: Field, value: &'a [u8]) {
        if value.is_empty() || value == b"-" {
            return;
        }
        let value = if field.plus_means_space() && value.contains(&b'+') {
            Cow::Owned(
                value
                    .iter()
                    .map(|&b| if b == b'+' { b' ' } else { b })
                    .collect(),
            )
        } else {
            Cow::Borrowed(value)
        };
        self.values[field.index()] = Some(value);
    }

    /// The value of a field as logged.
    pub fn get(&self, field: Field) -> Option<&[u8]> {
        self.values[field.index()].as_deref()
    }

    /// The value of a field in ASCII lower case (computed once).
    pub fn get_lower(&self, field: Field) -> Option<&[u8]> {
        let value = self.get(field)?;
        Some(self.lowered[field.index()].get_or_init(|| value.to_ascii_lowercase()))
    }

    /// The whole line in ASCII lower case (computed once).
    pub fn line_lower(&self) -> &[u8] {
        self.line_lowered
            .get_or_init(|| self.line.to_ascii_lowercase())
    }

    /// [`Record::full_uri`] in ASCII lower case (computed once).
    pub fn full_uri_lower(&self) -> Option<&[u8]> {
        self.full_uri_lowered
            .get_or_init(|| self.full_uri().map(<[u8]>::to_ascii_lowercase))
            .as_deref()
    }

    /// The request target as a client sent it: stem, and `?query` when there is one.
    pub fn full_uri(&self) -> Option<&[u8]> {
        self.full_uri
            .get_or_init(|| {
                let stem = self.get(Field::UriStem);
                let query = self.get(Field::UriQuery);
                match (stem, query) {
                    (None, None) => None,
                    (Some(s), None) => Some(s.to_vec()),
                    (s, Some(q)) => {
                        let mut uri = s.unwrap_or_default().to_vec();
                        uri.push(b'?');
                        uri.extend_from_slice(q);
                        Some(uri)
                    }
                }
            })
            .as_deref()
    }

    /// Splits a request target into stem and query at the first `?`.
    pub fn set_uri(&mut self, target: &'a [u8]) {
        match memchr::memchr(b'?', target) {
            Some(q) => {
                self.set(Field::UriStem, &target[..q]);
                self.set(Field::UriQuery, &target[q + 1..]);
            }
            None => self.set(Field::UriStem, target),
        }
    }

    /// Fills method, stem, query and version from an HTTP request line, tolerating
    /// doubled spaces, truncation and a missing `HTTP/x.y`.
    pub fn set_request_line(&mut self, request: &'a [u8]) {
        let request = request.trim_ascii();
        let Some(sp) = memchr::memchr(b' ', request) else {
            self.set(Field::Method, request);
            return;
        };
        self.set(Field::Method, &request[..sp]);
        let mut rest = request[sp + 1..].trim_ascii();
        if let Some(last_sp) = memchr::memrchr(b' ', rest) {
            let tail = &rest[last_sp + 1..];
            if tail.len() >= 5 && tail[..5].eq_ignore_ascii_case(b"HTTP/") {
                self.set(Field::Version, tail);
                rest = rest[..last_sp].trim_ascii();
            }
        }
        self.set_uri(rest);
    }
}

/// What a parser needs besides the line.
#[derive(Debug, Clone, Copy)]
pub struct ParseContext<'m> {
    /// Native-to-taxonomy field names.
    pub map: &'m FieldMap,
    /// Offset of formats that log local time without saying which (IIS native, Apache error).
    pub local_offset: FixedOffset,
}

/// A per-input parser: the format, plus the state a format carries from line to line.
#[derive(Debug, Clone)]
pub enum Parser {
    /// W3C extended with the `#Fields` layout in force.
    IisW3c(W3cLayout),
    /// IIS native.
    IisNative,
    /// NCSA common or combined.
    Ncsa,
    /// Apache error log.
    ApacheError,
    /// Bare request lines.
    RequestLines,
    /// Unrecognised text.
    Text,
}

impl Parser {
    /// A fresh parser for a format.
    pub fn for_format(format: LogFormat) -> Parser {
        match format {
            LogFormat::IisW3c => Parser::IisW3c(W3cLayout::default()),
            LogFormat::IisNative => Parser::IisNative,
            LogFormat::NcsaCommon | LogFormat::NcsaCombined => Parser::Ncsa,
            LogFormat::ApacheError => Parser::ApacheError,
            LogFormat::RequestLines => Parser::RequestLines,
            LogFormat::Text => Parser::Text,
        }
    }

    /// Whether directive lines (`#...`) change this parser's state.
    pub fn wants_directives(&self) -> bool {
        matches!(self, Parser::IisW3c(_))
    }

    /// Feeds a `#` directive line; W3C updates its layout, others ignore it.
    pub fn observe_directive(&mut self, line: &[u8], ctx: &ParseContext) {
        if let Parser::IisW3c(layout) = self {
            layout.observe_directive(line, ctx.map);
        }
    }

    /// Parses one line (never fails: what cannot be read stays unset).
    pub fn parse<'a>(&self, line: &'a [u8], ctx: &ParseContext) -> Record<'a> {
        match self {
            Parser::IisW3c(layout) => layout.parse(line),
            Parser::IisNative => iis_native::parse(line, ctx),
            Parser::Ncsa => ncsa::parse(line, ctx),
            Parser::ApacheError => apache_error::parse(line, ctx),
            Parser::RequestLines => text::parse_as(line, LogFormat::RequestLines),
            Parser::Text => text::parse(line),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_line_tolerates_real_world_deviations() {
        let mut r = Record::new(b"", LogFormat::Text);
        r.set_request_line(b"GET /default.ida?NNNN=a  HTTP/1.0");
        assert_eq!(r.get(Field::Method), Some(&b"GET"[..]));
        assert_eq!(r.get(Field::UriStem), Some(&b"/default.ida"[..]));
        assert_eq!(r.get(Field::UriQuery), Some(&b"NNNN=a"[..]));
        assert_eq!(r.get(Field::Version), Some(&b"HTTP/1.0"[..]));

        let mut r = Record::new(b"", LogFormat::Text);
        r.set_request_line(b"GET /default.ida?XXXX");
        assert_eq!(r.get(Field::UriQuery), Some(&b"XXXX"[..]));
        assert_eq!(r.get(Field::Version), None);
        assert_eq!(r.full_uri(), Some(&b"/default.ida?XXXX"[..]));
    }

    #[test]
    fn dash_is_no_value_and_plus_is_space_in_headers() {
        let mut r = Record::new(b"", LogFormat::IisW3c);
        r.set(Field::UriQuery, b"-");
        r.set(Field::UserAgent, b"Mozilla/4.0+(compatible)");
        assert_eq!(r.get(Field::UriQuery), None);
        assert_eq!(
            r.get(Field::UserAgent),
            Some(&b"Mozilla/4.0 (compatible)"[..])
        );
        assert_eq!(
            r.get_lower(Field::UserAgent),
            Some(&b"mozilla/4.0 (compatible)"[..])
        );
    }
}
