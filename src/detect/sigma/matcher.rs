//! Compiled value tests: what one Sigma value (after its modifiers) checks in a record.

use std::net::IpAddr;

use ipnet::IpNet;
use memchr::memmem::Finder;
use regex::bytes::{Regex, RegexBuilder};

use super::run_prefix::RunPrefix;

use super::value::{Piece, SigmaString};
use crate::record::{Field, Record};

/// Where a detection item looks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A taxonomy field.
    Field(Field),
    /// A field name outside the taxonomy: never present in web-server records.
    Missing(String),
    /// Unfielded keywords: the whole raw line.
    Line,
}

/// Literal comparisons, case-folded unless `cased`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LiteralKind {
    Equals,
    Contains,
    StartsWith,
    EndsWith,
}

/// Numeric comparisons of `lt`, `lte`, `gt`, `gte`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compare {
    Less,
    LessOrEqual,
    Greater,
    GreaterOrEqual,
}

/// One compiled value test.
#[derive(Debug, Clone)]
pub enum Matcher {
    /// A wildcard-free string (stored lower-cased unless `cased`).
    Literal {
        kind: LiteralKind,
        needle: Vec<u8>,
        cased: bool,
        /// For `contains`: the needle's searcher, built once (building one for each value
        /// tested cost more than the search).
        finder: Option<Box<ContainsSearch>>,
    },
    /// A Sigma string with wildcards, as an anchored regex; `pieces` are its literal parts.
    Wildcard { re: Regex, pieces: Vec<Vec<u8>> },
    /// A `re` value, with a faster test when it has the shape [`RunPrefix`] takes.
    Regex {
        re: Regex,
        run: Option<Box<RunPrefix>>,
    },
    /// `null`: the field is absent or empty.
    Null,
    /// `exists: true|false`.
    Exists(bool),
    /// `cidr`: the value is an address inside the network.
    Cidr(IpNet),
    /// `lt`/`lte`/`gt`/`gte`: the value read as a number.
    Number(Compare, f64),
    /// `fieldref`: equal (case-folded) to another field's value.
    FieldRef(Target),
}

/// How a `contains` needle is looked for.
#[derive(Debug, Clone)]
pub struct ContainsSearch {
    /// The whole needle, searched in the value (lower-cased unless the test is cased).
    whole: Finder<'static>,
    /// A caseless needle's longest stretch without ASCII letters (which case cannot change),
    /// and where it starts in the needle: it is searched in the raw value and the needle
    /// compared around each find, so no lower-cased copy of the value is made.
    anchor: Option<(usize, Finder<'static>)>,
}

/// Anchors shorter than this find too much to be worth it.
const SHORTEST_ANCHOR: usize = 3;

impl ContainsSearch {
    fn new(needle: &[u8], cased: bool) -> ContainsSearch {
        let anchor = (!cased)
            .then(|| longest_caseless_stretch(needle))
            .filter(|stretch| stretch.len() >= SHORTEST_ANCHOR)
            .map(|stretch| (stretch.start, Finder::new(&needle[stretch]).into_owned()));
        ContainsSearch {
            whole: Finder::new(needle).into_owned(),
            anchor,
        }
    }

    /// Whether `needle` (this search's, lower-cased unless cased) is in the value `raw`;
    /// `lower` gives the value lower-cased.
    fn contains<'r>(
        &self,
        raw: &[u8],
        needle: &[u8],
        cased: bool,
        lower: &dyn Fn() -> &'r [u8],
    ) -> bool {
        let Some((offset, anchor)) = &self.anchor else {
            return self.whole.find(if cased { raw } else { lower() }).is_some();
        };
        // Finds may overlap: each is tried, not only those `find_iter` would give.
        let mut from = 0;
        while let Some(hit) = raw.get(from..).and_then(|rest| anchor.find(rest)) {
            let at = from + hit;
            let around = at
                .checked_sub(*offset)
                .and_then(|start| raw.get(start..start + needle.len()));
            if around.is_some_and(|window| window.eq_ignore_ascii_case(needle)) {
                return true;
            }
            from = at + 1;
        }
        false
    }
}

/// The longest run of `needle` holding no ASCII letter.
fn longest_caseless_stretch(needle: &[u8]) -> std::ops::Range<usize> {
    let mut best = 0..0;
    let mut start = 0;
    for (i, b) in needle.iter().chain([&b'a']).enumerate() {
        if b.is_ascii_alphabetic() {
            if i - start > best.len() {
                best = start..i;
            }
            start = i + 1;
        }
    }
    best
}

impl Matcher {
    /// Compiles a Sigma string for the given comparison; wildcards become a regex.
    pub fn from_string(
        value: SigmaString,
        kind: LiteralKind,
        cased: bool,
    ) -> Result<Matcher, regex::Error> {
        let wrapped = match kind {
            LiteralKind::Equals => value,
            LiteralKind::Contains => value.wrap(true, true),
            LiteralKind::StartsWith => value.wrap(false, true),
            LiteralKind::EndsWith => value.wrap(true, false),
        };
        if let Some((kind, needle)) = as_literal_test(&wrapped) {
            let needle = if cased {
                needle
            } else {
                needle.to_ascii_lowercase()
            };
            let finder = (kind == LiteralKind::Contains)
                .then(|| Box::new(ContainsSearch::new(&needle, cased)));
            return Ok(Matcher::Literal {
                kind,
                needle,
                cased,
                finder,
            });
        }
        let mut pattern = String::from(if cased { "(?s)^" } else { "(?is)^" });
        for piece in &wrapped.0 {
            match piece {
                Piece::Literal(bytes) => pattern.push_str(&escape_bytes(bytes)),
                Piece::AnyRun => pattern.push_str("(?-u:.)*"),
                Piece::AnyOne => pattern.push_str("(?:.|(?-u:.))"),
            }
        }
        pattern.push('$');
        let pieces = wrapped
            .0
            .into_iter()
            .filter_map(|p| match p {
                Piece::Literal(bytes) => Some(bytes),
                _ => None,
            })
            .collect();
        let re = RegexBuilder::new(&pattern).unicode(true).build()?;
        Ok(Matcher::Wildcard { re, pieces })
    }

    /// Tests a value that is present.
    fn test_value<'r>(&self, raw: &[u8], lower: &dyn Fn() -> &'r [u8]) -> bool {
        match self {
            Matcher::Literal {
                kind,
                needle,
                cased,
                finder,
            } => match finder {
                Some(finder) => finder.contains(raw, needle, *cased, lower),
                None if *cased => literal_test(*kind, raw, needle),
                // Anchored comparisons fold case byte by byte: no lower-cased copy is made.
                None => caseless_test(*kind, raw, needle),
            },
            Matcher::Regex { run: Some(run), .. } => run.is_match(raw),
            Matcher::Regex { re, .. } | Matcher::Wildcard { re, .. } => re.is_match(raw),
            Matcher::Null | Matcher::Exists(_) | Matcher::FieldRef(_) => false,
            Matcher::Cidr(net) => parse_ip(raw).is_some_and(|ip| net.contains(&ip)),
            Matcher::Number(op, bound) => parse_number(raw).is_some_and(|n| op.holds(n, *bound)),
        }
    }

    /// Tests this matcher on the record's value at `target`.
    pub fn test(&self, target: &Target, record: &Record) -> bool {
        let value = value_of(target, record);
        match self {
            Matcher::Null => value.is_none(),
            Matcher::Exists(wanted) => value.is_some() == *wanted,
            Matcher::FieldRef(other) => match (value, value_of(other, record)) {
                (Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
                _ => false,
            },
            _ => any_text_seen(target, record, &mut |text, lower| {
                self.test_value(text, lower)
            }),
        }
    }
}

/// A test of one text a value test sees, given the text and a function that gives it in
/// lower case.
pub type TextTest<'t, 'r> = &'t mut dyn FnMut(&'r [u8], &dyn Fn() -> &'r [u8]) -> bool;

/// Runs `test` on each text a value test at `target` sees, until one holds, with a function
/// that gives that text in lower case: the value if present; for keywords also the line with
/// its escapes decoded (JSON, HAProxy, CloudFront), where a request reads as the client sent
/// it; for `cs-uri-query` also the whole request target, since SigmaHQ rules put
/// path-and-query patterns there, and it has a path even without a query.
pub fn any_text_seen<'r>(target: &Target, record: &'r Record, test: TextTest<'_, 'r>) -> bool {
    if value_of(target, record).is_some_and(|raw| test(raw, &|| lower_of(target, record))) {
        return true;
    }
    if let (Target::Line, Some(decoded)) = (target, record.decoded_line()) {
        if test(decoded, &|| record.decoded_line_lower().unwrap_or_default()) {
            return true;
        }
    }
    target == &Target::Field(Field::UriQuery)
        && record
            .full_uri()
            .is_some_and(|uri| test(uri, &|| record.full_uri_lower().unwrap_or_default()))
}

/// The value at `target` in lower case, cached by the record.
fn lower_of<'r>(target: &Target, record: &'r Record) -> &'r [u8] {
    match target {
        Target::Field(f) => record.get_lower(*f).unwrap_or_default(),
        Target::Missing(_) => &[],
        Target::Line => record.line_lower(),
    }
}

fn value_of<'r>(target: &Target, record: &'r Record) -> Option<&'r [u8]> {
    match target {
        Target::Field(f) => record.get(*f),
        Target::Missing(_) => None,
        Target::Line => Some(record.line),
    }
}

impl Compare {
    fn holds(self, value: f64, bound: f64) -> bool {
        match self {
            Compare::Less => value < bound,
            Compare::LessOrEqual => value <= bound,
            Compare::Greater => value > bound,
            Compare::GreaterOrEqual => value >= bound,
        }
    }
}

fn as_literal_test(value: &SigmaString) -> Option<(LiteralKind, Vec<u8>)> {
    let pieces = &value.0;
    let (kind, inner) = match pieces.as_slice() {
        [Piece::AnyRun, inner @ .., Piece::AnyRun] if !inner.is_empty() => {
            (LiteralKind::Contains, inner)
        }
        [Piece::AnyRun, inner @ ..] if !inner.is_empty() => (LiteralKind::EndsWith, inner),
        [inner @ .., Piece::AnyRun] if !inner.is_empty() => (LiteralKind::StartsWith, inner),
        inner => (LiteralKind::Equals, inner),
    };
    SigmaString(inner.to_vec()).as_literal().map(|b| (kind, b))
}

fn literal_test(kind: LiteralKind, hay: &[u8], needle: &[u8]) -> bool {
    match kind {
        LiteralKind::Equals => hay == needle,
        LiteralKind::Contains => memchr::memmem::find(hay, needle).is_some(),
        LiteralKind::StartsWith => hay.starts_with(needle),
        LiteralKind::EndsWith => hay.ends_with(needle),
    }
}

/// [`literal_test`] ignoring ASCII case, for a lower-case `needle`.
fn caseless_test(kind: LiteralKind, hay: &[u8], needle: &[u8]) -> bool {
    let n = needle.len();
    match kind {
        LiteralKind::Equals => hay.eq_ignore_ascii_case(needle),
        LiteralKind::Contains => n == 0 || hay.windows(n).any(|w| w.eq_ignore_ascii_case(needle)),
        LiteralKind::StartsWith => hay.get(..n).is_some_and(|h| h.eq_ignore_ascii_case(needle)),
        LiteralKind::EndsWith => hay
            .len()
            .checked_sub(n)
            .is_some_and(|start| hay[start..].eq_ignore_ascii_case(needle)),
    }
}

/// Escapes bytes for a regex; bytes outside ASCII are matched as raw bytes.
pub fn escape_bytes(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(text) => regex::escape(text),
        Err(_) => bytes
            .iter()
            .map(|&b| {
                if b.is_ascii_alphanumeric() {
                    (b as char).to_string()
                } else {
                    format!("(?-u:\\x{b:02x})")
                }
            })
            .collect(),
    }
}

/// An address as logs write it: plain, `[v6]`, with a port, or with a zone id.
pub fn parse_ip(raw: &[u8]) -> Option<IpAddr> {
    let text = std::str::from_utf8(raw).ok()?.trim();
    if let Ok(ip) = text.parse() {
        return Some(ip);
    }
    let unbracketed = text
        .strip_prefix('[')
        .and_then(|t| t.split(']').next())
        .unwrap_or(text);
    let without_zone = unbracketed.split('%').next().unwrap_or(unbracketed);
    if let Ok(ip) = without_zone.parse() {
        return Some(ip);
    }
    let (host, _port) = text.rsplit_once(':')?;
    host.parse().ok()
}

fn parse_number(raw: &[u8]) -> Option<f64> {
    std::str::from_utf8(raw).ok()?.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::LogFormat;

    fn record_with(field: Field, value: &'static [u8]) -> Record<'static> {
        let mut r = Record::new(b"the RAW line", LogFormat::Text);
        r.set(field, value);
        r
    }

    fn m(s: &str, kind: LiteralKind, cased: bool) -> Matcher {
        Matcher::from_string(SigmaString::parse(s), kind, cased).unwrap()
    }

    #[test]
    fn case_folding_and_cased() {
        let r = record_with(Field::UriStem, b"/Scripts/Root.EXE");
        let t = Target::Field(Field::UriStem);
        assert!(m("root.exe", LiteralKind::Contains, false).test(&t, &r));
        assert!(!m("root.exe", LiteralKind::Contains, true).test(&t, &r));
        assert!(m("Root.EXE", LiteralKind::EndsWith, true).test(&t, &r));
        assert!(m("/scripts/", LiteralKind::StartsWith, false).test(&t, &r));
        assert!(!m("/scripts/", LiteralKind::Equals, false).test(&t, &r));
    }

    proptest::proptest! {
        /// Comparing in place ignoring case agrees with comparing the lower-cased value.
        #[test]
        fn caseless_tests_agree_with_lowering(
            hay in proptest::collection::vec(proptest::sample::select(b"aAbB%9\xc4".to_vec()), 0..12),
            needle in proptest::collection::vec(proptest::sample::select(b"ab%9\xc4".to_vec()), 0..4),
        ) {
            let lower = hay.to_ascii_lowercase();
            for kind in [LiteralKind::Equals, LiteralKind::Contains, LiteralKind::StartsWith, LiteralKind::EndsWith] {
                proptest::prop_assert_eq!(
                    caseless_test(kind, &hay, &needle),
                    literal_test(kind, &lower, &needle),
                    "{:?}", kind
                );
            }
        }
    }

    #[test]
    fn caseless_contains_finds_what_lowering_finds() {
        let needles: [&[u8]; 6] = [
            b"%u9090%u6858",
            b"..%c1%1c..",
            b"%%%",
            b"%%%a",
            b"cmd.exe",
            b"9%u",
        ];
        // `%%%%A`: the anchor's first find fails and an overlapping one holds the needle.
        let hays: [&[u8]; 7] = [
            b"%%%%A",
            b"x%U9090%u6858y",
            b"/..%C1%1C../",
            b"%%%%",
            b"/CMD.EXE",
            b"%u9090%U685",
            b"99%U",
        ];
        for needle in needles {
            let search = ContainsSearch::new(needle, false);
            for hay in hays {
                let lower = hay.to_ascii_lowercase();
                let expected = memchr::memmem::find(&lower, needle).is_some();
                let got = search.contains(hay, needle, false, &|| &lower);
                assert_eq!(got, expected, "{needle:?} in {hay:?}");
            }
        }
        assert_eq!(longest_caseless_stretch(b"%u9090%u6858%ucbd3%u7801"), 2..7);
        assert_eq!(longest_caseless_stretch(b"cmd"), 0..0);
    }

    #[test]
    fn wildcards_compile_to_anchored_patterns() {
        let r = record_with(Field::UriStem, b"/a/b/cmd.exe");
        let t = Target::Field(Field::UriStem);
        assert!(m("/a/*/cmd.exe", LiteralKind::Equals, false).test(&t, &r));
        assert!(m("/a/?/CMD.exe", LiteralKind::Equals, false).test(&t, &r));
        assert!(!m("/a/?/cmd", LiteralKind::Equals, false).test(&t, &r));
    }

    #[test]
    fn query_patterns_also_see_the_whole_target() {
        let mut r = Record::new(b"", LogFormat::IisW3c);
        r.set(Field::UriStem, b"/default.ida");
        r.set(Field::UriQuery, b"XXXX");
        let t = Target::Field(Field::UriQuery);
        assert!(m("/default.ida?XXXX", LiteralKind::Contains, false).test(&t, &r));
        assert!(m("XXXX", LiteralKind::StartsWith, false).test(&t, &r));
        let mut no_query = Record::new(b"", LogFormat::IisW3c);
        no_query.set(Field::UriStem, b"/zimbraAdmin/x.jsp");
        assert!(m(".jsp", LiteralKind::EndsWith, false).test(&t, &no_query));
        assert!(!m("x.jsp", LiteralKind::StartsWith, false).test(&t, &no_query));
    }

    #[test]
    fn null_exists_cidr_numbers_fieldref() {
        let r = record_with(Field::ClientIp, b"10.1.2.3");
        let ip = Target::Field(Field::ClientIp);
        let q = Target::Field(Field::UriQuery);
        assert!(Matcher::Null.test(&q, &r));
        assert!(!Matcher::Null.test(&ip, &r));
        assert!(Matcher::Exists(true).test(&ip, &r));
        assert!(Matcher::Exists(false).test(&q, &r));
        assert!(Matcher::Cidr("10.0.0.0/8".parse().unwrap()).test(&ip, &r));
        assert!(!Matcher::Cidr("192.168.0.0/16".parse().unwrap()).test(&ip, &r));
        let s = record_with(Field::Status, b"404");
        let st = Target::Field(Field::Status);
        assert!(Matcher::Number(Compare::GreaterOrEqual, 400.0).test(&st, &s));
        assert!(!Matcher::Number(Compare::Less, 404.0).test(&st, &s));
        assert!(!Matcher::FieldRef(ip.clone()).test(&q, &r));
        assert!(Matcher::FieldRef(ip.clone()).test(&ip, &r));
        assert!(m("raw", LiteralKind::Contains, false).test(&Target::Line, &r));
    }

    #[test]
    fn addresses_in_log_spellings() {
        assert_eq!(parse_ip(b"[2001:db8::1]:80"), "2001:db8::1".parse().ok());
        assert_eq!(parse_ip(b"fe80::1%eth0"), "fe80::1".parse().ok());
        assert_eq!(parse_ip(b"192.0.2.1:4567"), "192.0.2.1".parse().ok());
        assert_eq!(parse_ip(b"x.x.x.x"), None);
    }
}
