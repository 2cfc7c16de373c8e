//! IIS W3C extended: space-separated values in the layout of the last `#Fields:` line.

use super::{time, Field, FieldMap, LogFormat, Record};
use crate::model::Timestamp;

/// The layout in force: one optional taxonomy field per column, and the `#Date` fallback.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct W3cLayout {
    columns: Vec<Option<Field>>,
    header_date: Option<Vec<u8>>,
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
    /// Updates the layout from a `#Fields:` or `#Date:` directive; other directives are ignored.
    pub fn observe_directive(&mut self, line: &[u8], map: &FieldMap) {
        if let Some(rest) = strip_prefix_ci(line, b"#Fields:") {
            self.columns = rest
                .split(|b| b.is_ascii_whitespace())
                .filter(|t| !t.is_empty())
                .map(|name| std::str::from_utf8(name).ok().and_then(|n| map.w3c(n)))
                .collect();
        } else if let Some(rest) = strip_prefix_ci(line, b"#Date:") {
            self.header_date = rest
                .split(|b| b.is_ascii_whitespace())
                .find(|t| !t.is_empty())
                .map(<[u8]>::to_vec);
        }
    }

    /// Whether a `#Fields` line has been seen.
    pub fn is_known(&self) -> bool {
        !self.columns.is_empty()
    }

    /// Parses a data line in this layout.
    pub fn parse<'a>(&self, line: &'a [u8]) -> Record<'a> {
        let mut record = Record::new(line, LogFormat::IisW3c);
        let columns = if self.is_known() {
            &self.columns
        } else {
            &default_layout().columns
        };
        let values = line.trim_ascii_end().split(|&b| b == b' ');
        for (column, value) in columns.iter().zip(values) {
            if let Some(field) = column {
                record.set(*field, value);
            }
        }
        let date = record
            .get(Field::Date)
            .map(<[u8]>::to_vec)
            .or_else(|| self.header_date.clone());
        record.time = match (date, record.get(Field::Time)) {
            (Some(d), Some(t)) => time::w3c(&d, t).map(Timestamp),
            _ => None,
        };
        record
    }
}

fn strip_prefix_ci<'a>(line: &'a [u8], prefix: &[u8]) -> Option<&'a [u8]> {
    (line.len() >= prefix.len() && line[..prefix.len()].eq_ignore_ascii_case(prefix))
        .then(|| &line[prefix.len()..])
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
}
