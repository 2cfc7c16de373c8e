//! IIS native log format: 15 values separated by `, `, ending in a comma.

use super::mapping::IIS_NATIVE_COLUMNS;
use super::{time, Field, LogFormat, ParseContext, Record};
use crate::model::Timestamp;

/// Parses one IIS native line.
pub fn parse<'a>(line: &'a [u8], ctx: &ParseContext) -> Record<'a> {
    let mut record = Record::new(line, LogFormat::IisNative);
    let body = line.trim_ascii_end();
    let body = body.strip_suffix(b",").unwrap_or(body);
    let mut rest = body;
    for position in 0..IIS_NATIVE_COLUMNS {
        // The last value (parameters) keeps any ", " it contains.
        let (value, next) = if position + 1 == IIS_NATIVE_COLUMNS {
            (rest, &b""[..])
        } else {
            match memchr::memmem::find(rest, b", ") {
                Some(i) => (&rest[..i], &rest[i + 2..]),
                None => (rest, &b""[..]),
            }
        };
        if let Some(field) = ctx.map.iis_native(position) {
            record.set(field, value.trim_ascii());
        }
        rest = next;
    }
    record.time = match (record.get(Field::Date), record.get(Field::Time)) {
        (Some(d), Some(t)) => time::iis_native(d, t, ctx.local_offset).map(Timestamp),
        _ => None,
    };
    record
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::FixedOffset;

    #[test]
    fn fifteen_positions_and_local_time() {
        let ctx = ParseContext::builtin(FixedOffset::east_opt(9 * 3600).unwrap());
        let line = b"192.0.2.1, -, 8/4/01, 13:45:01, W3SVC1, WEB1, 10.1.2.3, 10, 400, 200, 404, 2, GET, /default.ida, NNNN%u9090=a,\r";
        let r = parse(line, &ctx);
        assert_eq!(r.get(Field::ClientIp), Some(&b"192.0.2.1"[..]));
        assert_eq!(r.get(Field::Username), None);
        assert_eq!(r.get(Field::ServerIp), Some(&b"10.1.2.3"[..]));
        assert_eq!(r.get(Field::ComputerName), Some(&b"WEB1"[..]));
        assert_eq!(r.get(Field::Status), Some(&b"404"[..]));
        assert_eq!(r.get(Field::Method), Some(&b"GET"[..]));
        assert_eq!(r.get(Field::UriStem), Some(&b"/default.ida"[..]));
        assert_eq!(r.get(Field::UriQuery), Some(&b"NNNN%u9090=a"[..]));
        assert_eq!(
            r.time.map(|t| t.rfc3339()).as_deref(),
            Some("2001-08-04T13:45:01+09:00")
        );
    }
}
