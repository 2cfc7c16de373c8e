//! Records: one parsed log line, with its values placed on the Sigma webserver taxonomy.
//!
//! Parsers borrow from the line buffer; nothing is copied unless a value must change
//! (IIS `+` for spaces in header fields).

mod apache_error;
mod aws_elb;
pub mod connection;
mod detect;
pub mod field;
mod haproxy;
mod iis_native;
pub mod json;
pub mod mapping;
mod ncsa;
mod text;
mod time;
mod w3c;

use std::borrow::Cow;
use std::cell::OnceCell;

use chrono::FixedOffset;

pub use connection::NetworkConnection;
pub use detect::{detect_format, FormatGuess};
pub use field::{Field, ALL_FIELDS, FIELD_COUNT, WEB_FIELD_COUNT};
pub use mapping::FieldMap;
pub use w3c::{W3cLayout, DIRECTIVE_PARTS};

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
    /// AWS Application Load Balancer access log.
    AwsAlb,
    /// AWS Classic Load Balancer (ELB) access log.
    AwsElb,
    /// Amazon CloudFront standard log (tab-separated W3C).
    CloudFront,
    /// HAProxy `option httplog`.
    HaProxy,
    /// nginx `log_format ... escape=json`.
    NginxJson,
    /// Caddy's structured access log.
    CaddyJson,
    /// Traefik's JSON access log.
    TraefikJson,
    /// Envoy's JSON access log (the keys Istio's default layout uses).
    EnvoyJson,
    /// Google Cloud HTTP(S) Load Balancing request log (Cloud Logging JSON).
    GcpLb,
    /// Azure Front Door access log (diagnostic JSON).
    AzureFrontDoor,
    /// Azure Application Gateway access log (diagnostic JSON).
    AzureAppGateway,
    /// JSON lines in a layout the user maps with `--mapping`.
    Json,
}

impl LogFormat {
    /// Whether lines of this format, once detected, rule out a saved connection table: each
    /// needs a shape (a quoted request, a W3C date, a JSON object) no table row has.
    pub fn excludes_tables(self) -> bool {
        matches!(
            self,
            LogFormat::IisW3c
                | LogFormat::NcsaCombined
                | LogFormat::NcsaCommon
                | LogFormat::AwsAlb
                | LogFormat::AwsElb
                | LogFormat::CloudFront
                | LogFormat::HaProxy
                | LogFormat::Json
        )
    }

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
            LogFormat::AwsAlb => "aws-alb",
            LogFormat::AwsElb => "aws-elb",
            LogFormat::CloudFront => "cloudfront",
            LogFormat::HaProxy => "haproxy",
            LogFormat::NginxJson => "nginx-json",
            LogFormat::CaddyJson => "caddy-json",
            LogFormat::TraefikJson => "traefik-json",
            LogFormat::EnvoyJson => "envoy-json",
            LogFormat::GcpLb => "gcp-lb",
            LogFormat::AzureFrontDoor => "azure-frontdoor",
            LogFormat::AzureAppGateway => "azure-appgw",
            LogFormat::Json => "json",
        }
    }

    /// Every format (what `--format-hint` names).
    pub const ALL: [LogFormat; 19] = [
        LogFormat::IisW3c,
        LogFormat::IisNative,
        LogFormat::NcsaCommon,
        LogFormat::NcsaCombined,
        LogFormat::ApacheError,
        LogFormat::AwsAlb,
        LogFormat::AwsElb,
        LogFormat::CloudFront,
        LogFormat::HaProxy,
        LogFormat::NginxJson,
        LogFormat::CaddyJson,
        LogFormat::TraefikJson,
        LogFormat::EnvoyJson,
        LogFormat::GcpLb,
        LogFormat::AzureFrontDoor,
        LogFormat::AzureAppGateway,
        LogFormat::Json,
        LogFormat::RequestLines,
        LogFormat::Text,
    ];

    /// Whether lines of this format are JSON objects read through a mapping layout.
    pub fn is_json(self) -> bool {
        matches!(
            self,
            LogFormat::NginxJson
                | LogFormat::CaddyJson
                | LogFormat::TraefikJson
                | LogFormat::EnvoyJson
                | LogFormat::GcpLb
                | LogFormat::AzureFrontDoor
                | LogFormat::AzureAppGateway
                | LogFormat::Json
        )
    }

    /// Parses a name given with `--format-hint`.
    pub fn from_name(name: &str) -> Option<LogFormat> {
        LogFormat::ALL.into_iter().find(|f| f.name() == name)
    }

    /// The Sigma `logsource` products whose rules apply to this format (empty: any). Load
    /// balancers, CDNs and proxies say nothing of the server behind them, so every web
    /// product's rules apply to their logs.
    pub fn products(self) -> &'static [&'static str] {
        match self {
            LogFormat::IisW3c | LogFormat::IisNative => &["iis"],
            LogFormat::NcsaCommon | LogFormat::NcsaCombined => &["apache", "nginx"],
            LogFormat::ApacheError => &["apache"],
            _ => &[],
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

// Every field has a bit in `Record::plus_pending`.
const _: () = assert!(FIELD_COUNT <= 32);

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
    /// One bit per field (by index) whose value as set still has IIS's `+` for a space.
    plus_pending: u32,
    /// Those values with each `+` made a space, made when first read: most lines are read
    /// only for the fields the rules test, and a copy per line of every user agent would
    /// cost an allocation each.
    spaced: [OnceCell<Vec<u8>>; field::PLUS_FIELDS.len()],
    /// Lower-cased web-server fields; network fields are lower case as set.
    lowered: [OnceCell<Vec<u8>>; WEB_FIELD_COUNT],
    line_lowered: OnceCell<Vec<u8>>,
    decoded_line: Option<Vec<u8>>,
    decoded_lowered: OnceCell<Vec<u8>>,
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
            plus_pending: 0,
            spaced: Default::default(),
            lowered: Default::default(),
            line_lowered: OnceCell::new(),
            decoded_line: None,
            decoded_lowered: OnceCell::new(),
            full_uri: OnceCell::new(),
            full_uri_lowered: OnceCell::new(),
        }
    }

    /// Sets a field; `-` and empty values (the logs' "no value") are left unset.
    pub fn set(&mut self, field: Field, value: &'a [u8]) {
        self.set_cow(field, Cow::Borrowed(value));
    }

    /// [`Record::set`] for a value the parser may have had to decode. An address written
    /// with its port (`192.0.2.1:4711`, `[2001:db8::1]:443`, as load balancers log the
    /// peer) keeps only the address.
    pub fn set_cow(&mut self, field: Field, value: Cow<'a, [u8]>) {
        if value.is_empty() || value.as_ref() == b"-" {
            return;
        }
        let value = match value {
            Cow::Borrowed(v) if matches!(field, Field::ClientIp | Field::ServerIp) => {
                Cow::Borrowed(without_port(v))
            }
            Cow::Owned(v) if matches!(field, Field::ClientIp | Field::ServerIp) => {
                Cow::Owned(without_port(&v).to_vec())
            }
            other => other,
        };
        let bit = 1u32 << field.index();
        match field.plus_slot() {
            Some(slot) if memchr::memchr(b'+', &value).is_some() => {
                self.plus_pending |= bit;
                self.spaced[slot] = OnceCell::new();
            }
            _ => self.plus_pending &= !bit,
        }
        self.values[field.index()] = Some(value);
    }

    /// Sets a field only when the line gave it no value yet.
    pub fn set_if_unset(&mut self, field: Field, value: Cow<'a, [u8]>) {
        if self.get(field).is_none() {
            self.set_cow(field, value);
        }
    }

    /// Gives the record the line with the format's escapes decoded (JSON `\/`, HAProxy
    /// `#22`, CloudFront `%20`): literal search and keyword rules look at it as well as at
    /// the line as written.
    pub fn set_decoded_line(&mut self, decoded: Vec<u8>) {
        if decoded.as_slice() != self.line {
            self.decoded_line = Some(decoded);
        }
    }

    /// The line with its escapes decoded, when the format has escapes and the line used them.
    pub fn decoded_line(&self) -> Option<&[u8]> {
        self.decoded_line.as_deref()
    }

    /// [`Record::decoded_line`] in ASCII lower case (computed once).
    pub fn decoded_line_lower(&self) -> Option<&[u8]> {
        let decoded = self.decoded_line.as_deref()?;
        Some(
            self.decoded_lowered
                .get_or_init(|| decoded.to_ascii_lowercase()),
        )
    }

    /// The value of a field as logged (with `+` read as a space in the header fields that
    /// IIS writes that way).
    pub fn get(&self, field: Field) -> Option<&[u8]> {
        let value = self.values[field.index()].as_deref()?;
        if self.plus_pending & (1 << field.index()) == 0 {
            return Some(value);
        }
        let slot = field.plus_slot()?;
        Some(self.spaced[slot].get_or_init(|| {
            value
                .iter()
                .map(|&b| if b == b'+' { b' ' } else { b })
                .collect()
        }))
    }

    /// The value of a field in ASCII lower case (computed once).
    pub fn get_lower(&self, field: Field) -> Option<&[u8]> {
        let value = self.get(field)?;
        match self.lowered.get(field.index()) {
            Some(cell) => Some(cell.get_or_init(|| value.to_ascii_lowercase())),
            None => Some(value),
        }
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
                        let s = s.unwrap_or_default();
                        let mut uri = Vec::with_capacity(s.len() + 1 + q.len());
                        uri.extend_from_slice(s);
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

    /// [`Record::set_uri`] for a target a parser may have had to decode.
    pub fn set_uri_cow(&mut self, target: Cow<'a, [u8]>) {
        let target = match target {
            Cow::Borrowed(target) => return self.set_uri(target),
            Cow::Owned(target) => target,
        };
        match memchr::memchr(b'?', &target) {
            Some(q) => {
                self.set_cow(Field::UriQuery, Cow::Owned(target[q + 1..].to_vec()));
                let mut stem = target;
                stem.truncate(q);
                self.set_cow(Field::UriStem, Cow::Owned(stem));
            }
            None => self.set_cow(Field::UriStem, Cow::Owned(target)),
        }
    }

    /// [`Record::set_request_line`] for a request line a parser may have had to decode.
    pub fn set_request_line_cow(&mut self, request: Cow<'a, [u8]>) {
        let request = match request {
            Cow::Borrowed(request) => return self.set_request_line(request),
            Cow::Owned(request) => request,
        };
        let mut parsed = Record::new(&request, self.format);
        parsed.set_request_line(&request);
        for field in [
            Field::Method,
            Field::UriStem,
            Field::UriQuery,
            Field::Version,
        ] {
            if let Some(value) = parsed.get(field) {
                self.set_cow(field, Cow::Owned(value.to_vec()));
            }
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

/// One level of `<marker>XX` decoding (CloudFront's `%20`, HAProxy's `#22`): anything else,
/// a bad escape included, stays as it is. Borrowed when there is no marker.
pub(crate) fn hex_escapes_decoded(value: &[u8], marker: u8) -> Cow<'_, [u8]> {
    if memchr::memchr(marker, value).is_none() {
        return Cow::Borrowed(value);
    }
    let mut out = Vec::with_capacity(value.len());
    let mut i = 0;
    while i < value.len() {
        let hex = value.get(i + 1..i + 3);
        match hex.and_then(hex_byte) {
            Some(byte) if value[i] == marker => {
                out.push(byte);
                i += 3;
            }
            _ => {
                out.push(value[i]);
                i += 1;
            }
        }
    }
    Cow::Owned(out)
}

/// Two hex digits as a byte (None unless both are hex digits).
pub(crate) fn hex_byte(digits: &[u8]) -> Option<u8> {
    let [high, low] = digits else {
        return None;
    };
    let value = |d: u8| (d as char).to_digit(16);
    Some((value(*high)? * 16 + value(*low)?) as u8)
}

/// An address without the `:port` a load balancer logs after it; a bare IPv6 address (more
/// than one colon, no brackets) is left as it is.
fn without_port(value: &[u8]) -> &[u8] {
    if value.first() == Some(&b'[') {
        return match memchr::memchr(b']', value) {
            Some(close) => &value[1..close],
            None => value,
        };
    }
    match memchr::memchr(b':', value) {
        Some(colon) if memchr::memrchr(b':', value) == Some(colon) => &value[..colon],
        _ => value,
    }
}

/// Appends `value` to a raw key with its length first, so that no two lists of parts run
/// together into the same bytes (see [`Parser::raw_key`]).
fn key_part(key: &mut Vec<u8>, value: &[u8]) {
    key.extend_from_slice(&(value.len() as u32).to_le_bytes());
    key.extend_from_slice(value);
}

/// What a parser needs besides the line.
#[derive(Debug, Clone, Copy)]
pub struct ParseContext<'m> {
    /// Native-to-taxonomy field names.
    pub map: &'m FieldMap,
    /// Offset of formats that log local time without saying which (IIS native, Apache error).
    pub local_offset: FixedOffset,
    /// Which address of a proxied request is its client.
    pub client: &'m crate::model::ClientPolicy,
}

impl ParseContext<'static> {
    /// The built-in mapping, with the peer as the client, at `local_offset` (for parsing
    /// without a scan's options).
    pub fn builtin(local_offset: FixedOffset) -> Self {
        ParseContext {
            map: FieldMap::builtin(),
            local_offset,
            client: crate::model::ClientPolicy::peer_only(),
        }
    }
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
    /// AWS ALB or Classic ELB (the format says which positions apply).
    AwsBalancer(LogFormat),
    /// CloudFront: W3C in tabs, with the `#Fields` layout in force.
    CloudFront(W3cLayout),
    /// HAProxy HTTP log.
    HaProxy,
    /// JSON lines read through the mapping's layout for the format.
    Json(LogFormat),
}

impl Parser {
    /// A fresh parser for a format.
    pub fn for_format(format: LogFormat) -> Parser {
        match format {
            LogFormat::AwsAlb | LogFormat::AwsElb => Parser::AwsBalancer(format),
            LogFormat::CloudFront => Parser::CloudFront(W3cLayout::cloudfront(FieldMap::builtin())),
            LogFormat::HaProxy => Parser::HaProxy,
            json if json.is_json() => Parser::Json(json),
            LogFormat::IisW3c => Parser::IisW3c(W3cLayout::default()),
            LogFormat::IisNative => Parser::IisNative,
            LogFormat::NcsaCommon | LogFormat::NcsaCombined => Parser::Ncsa,
            LogFormat::ApacheError => Parser::ApacheError,
            LogFormat::RequestLines => Parser::RequestLines,
            _ => Parser::Text,
        }
    }

    /// Whether directive lines (`#...`) change this parser's state.
    pub fn wants_directives(&self) -> bool {
        matches!(self, Parser::IisW3c(_) | Parser::CloudFront(_))
    }

    /// Which part of this parser's state the directive `line` sets, if any: the state is the
    /// last directive of each part, so a stretch of a log passes on only those lines.
    pub fn directive_part(&self, line: &[u8]) -> Option<usize> {
        match self {
            Parser::IisW3c(_) | Parser::CloudFront(_) => W3cLayout::directive_part(line),
            _ => None,
        }
    }

    /// Feeds a `#` directive line; W3C updates its layout, others ignore it.
    pub fn observe_directive(&mut self, line: &[u8], ctx: &ParseContext) {
        if let Parser::IisW3c(layout) | Parser::CloudFront(layout) = self {
            layout.observe_directive(line, ctx.map);
        }
    }

    /// The byte that starts an escape in this format's lines (JSON `\`, HAProxy `#`): a
    /// line holding it may match a rule only once decoded, so the literal prefilter must
    /// also pass such lines. CloudFront has none here although it URL-encodes header values:
    /// nearly every line holds a `%20` in its user agent, and a rule's literals never span
    /// a space (they are cut there), so they are found in the line as CloudFront writes it.
    pub fn escape_byte(&self) -> Option<u8> {
        match self {
            Parser::Json(_) => Some(b'\\'),
            Parser::HaProxy => Some(b'#'),
            _ => None,
        }
    }

    /// For a W3C log whose `#Fields` line was seen, and NCSA logs: writes to `key` the raw
    /// bytes of `line` that decide the values of the fields the rules read (`fields_of` gives
    /// them for a format), so that lines with equal keys get the same answer from the rules
    /// (see [`W3cLayout::raw_key`]). False for every other parser, and where the rules read
    /// the line itself: their records must be built to be compared.
    pub fn raw_key<'f>(
        &self,
        line: &[u8],
        ctx: &ParseContext,
        fields_of: impl Fn(LogFormat) -> Option<&'f [Field]>,
        key: &mut Vec<u8>,
    ) -> bool {
        match self {
            Parser::IisW3c(layout) => fields_of(LogFormat::IisW3c).is_some_and(|fields| {
                key.push(b'w');
                layout.raw_key(line, fields, key)
            }),
            // A line is common or combined by its end: the rules of both must be keyed alike.
            Parser::Ncsa => match (
                fields_of(LogFormat::NcsaCommon),
                fields_of(LogFormat::NcsaCombined),
            ) {
                (Some(common), Some(combined)) => {
                    key.push(b'n');
                    ncsa::raw_key(line, [common, combined], ctx, key)
                }
                _ => false,
            },
            _ => false,
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
            Parser::AwsBalancer(format) => aws_elb::parse(line, *format, ctx),
            Parser::CloudFront(layout) => layout.parse(line),
            Parser::HaProxy => haproxy::parse(line, ctx),
            Parser::Json(format) => match ctx.map.json_layout(*format) {
                Some(layout) => layout.parse(line, ctx),
                None => text::parse_as(line, *format),
            },
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
    fn hex_escapes_decode_once_and_leave_bad_ones() {
        assert_eq!(hex_escapes_decoded(b"a%20b%2520", b'%').as_ref(), b"a b%20");
        assert_eq!(
            hex_escapes_decoded(b"#22x#C1#1c#zz#", b'#').as_ref(),
            b"\"x\xc1\x1c#zz#"
        );
        assert!(matches!(
            hex_escapes_decoded(b"plain", b'%'),
            Cow::Borrowed(_)
        ));
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
        // A value set again replaces the decoded one; `+` stays in fields without the rule.
        r.set(Field::UserAgent, b"curl/8.0");
        assert_eq!(r.get(Field::UserAgent), Some(&b"curl/8.0"[..]));
        r.set(Field::Referer, b"a+b");
        r.set(Field::Referer, b"c+d");
        assert_eq!(r.get(Field::Referer), Some(&b"c d"[..]));
        r.set(Field::UriQuery, b"q=a+b");
        assert_eq!(r.get(Field::UriQuery), Some(&b"q=a+b"[..]));
    }

    #[test]
    fn every_field_that_reads_plus_as_space_has_a_slot() {
        for field in ALL_FIELDS {
            assert_eq!(
                field.plus_slot().is_some(),
                field.plus_means_space(),
                "{field:?}"
            );
        }
    }
}
