//! HAProxy's HTTP log (`option httplog`), with or without the syslog prefix:
//! `client:port [accept_date] frontend backend/server timers status bytes cookie cookie
//! state conns queues [{captured request headers}] [{captured response headers}] "request"`
//! (https://docs.haproxy.org/2.8/configuration.html#8.2.3).
//!
//! HAProxy writes bytes outside 32-126, and `"`, `#`, `{`, `|`, `}`, as `#XX`; the request is
//! decoded so that rules see the bytes the client sent. Captured headers depend on the
//! configuration (which headers, in which order) and are not mapped.

use super::{hex_escapes_decoded, time, Field, LogFormat, ParseContext, Record};
use crate::model::Timestamp;

/// Parses one HAProxy HTTP log line.
pub fn parse<'a>(line: &'a [u8], ctx: &ParseContext) -> Record<'a> {
    let line_trimmed = line.trim_ascii_end();
    let mut record = Record::new(line, LogFormat::HaProxy);
    let Some(open) = accept_date_start(line_trimmed) else {
        return record;
    };
    let client = line_trimmed[..open - 1]
        .rsplit(|&b| b == b' ')
        .next()
        .unwrap_or_default();
    record.set(Field::ClientIp, client);
    let Some(close) = memchr::memchr(b']', &line_trimmed[open..]).map(|c| open + c) else {
        return record;
    };
    record.time = time::haproxy(&line_trimmed[open + 1..close], ctx.local_offset).map(Timestamp);
    let rest = &line_trimmed[close + 1..];
    let request_at = memchr::memchr(b'"', rest);
    let fields = &rest[..request_at.unwrap_or(rest.len())];
    set_fields(&mut record, fields);
    if let Some(at) = request_at {
        let request = &rest[at + 1..];
        let request = request.strip_suffix(b"\"").unwrap_or(request);
        record.set_request_line_cow(hex_escapes_decoded(request, b'#'));
    }
    if memchr::memchr(b'#', line).is_some() {
        record.set_decoded_line(hex_escapes_decoded(line, b'#').into_owned());
    }
    record
}

/// `frontend backend/server timers status bytes ...`: the names and the answer.
fn set_fields<'a>(record: &mut Record<'a>, fields: &'a [u8]) {
    let mut tokens = fields.split(|&b| b == b' ').filter(|t| !t.is_empty());
    let frontend = tokens.next().unwrap_or_default();
    record.set(Field::SiteName, frontend);
    let backend = tokens.next().unwrap_or_default();
    let server = backend
        .iter()
        .position(|&b| b == b'/')
        .map_or(&b""[..], |slash| &backend[slash + 1..]);
    if !server.starts_with(b"<") {
        record.set(Field::ComputerName, server);
    }
    let _timers = tokens.next();
    if let Some(status) = tokens.next().filter(|s| s.iter().all(u8::is_ascii_digit)) {
        record.set(Field::Status, status);
    }
    if let Some(bytes) = tokens.next() {
        record.set(Field::BytesSent, bytes.strip_prefix(b"+").unwrap_or(bytes));
    }
}

/// Position of the `[` that opens the accept date (`[06/Feb/2009:12:14:14.655]`).
fn accept_date_start(line: &[u8]) -> Option<usize> {
    memchr::memchr_iter(b'[', line).find(|&i| {
        i > 0
            && line[i - 1] == b' '
            && line
                .get(i + 1..i + 3)
                .is_some_and(|d| d.iter().all(u8::is_ascii_digit))
            && line.get(i + 3) == Some(&b'/')
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::FixedOffset;

    fn parsed(line: &[u8]) -> Record<'_> {
        let ctx = ParseContext::builtin(FixedOffset::east_opt(9 * 3600).unwrap());
        parse(line, &ctx)
    }

    fn text(record: &Record, field: Field) -> Option<String> {
        record
            .get(field)
            .map(|v| String::from_utf8_lossy(v).into_owned())
    }

    #[test]
    fn syslog_line_with_captures() {
        let line = br#"Feb  6 12:14:14 localhost haproxy[14389]: 10.0.1.2:33317 [06/Feb/2009:12:14:14.655] http-in static/srv1 10/0/30/69/109 404 2750 - - ---- 1/1/1/1/0 0/0 {1wt.eu} {} "GET /default.ida?NNNN HTTP/1.1""#;
        let r = parsed(line);
        assert_eq!(text(&r, Field::ClientIp).as_deref(), Some("10.0.1.2"));
        assert_eq!(text(&r, Field::SiteName).as_deref(), Some("http-in"));
        assert_eq!(text(&r, Field::ComputerName).as_deref(), Some("srv1"));
        assert_eq!(text(&r, Field::Status).as_deref(), Some("404"));
        assert_eq!(text(&r, Field::BytesSent).as_deref(), Some("2750"));
        assert_eq!(text(&r, Field::UriStem).as_deref(), Some("/default.ida"));
        assert_eq!(text(&r, Field::UriQuery).as_deref(), Some("NNNN"));
        assert_eq!(
            r.time.map(|t| t.rfc3339()).as_deref(),
            Some("2009-02-06T12:14:14+09:00"),
            "the proxy's local time, at --local-offset"
        );
    }

    #[test]
    fn stdout_line_escapes_and_no_server() {
        let line = br#"192.0.2.7:4711 [06/Feb/2009:12:14:14.655] fe be/<NOSRV> -1/-1/-1/-1/0 400 187 - - PR-- 1/1/0/0/0 0/0 "GET /scripts/..#C1#1C../winnt/system32/cmd.exe?/c+dir HTTP/1.0""#;
        let r = parsed(line);
        assert_eq!(text(&r, Field::ClientIp).as_deref(), Some("192.0.2.7"));
        assert_eq!(text(&r, Field::ComputerName), None);
        assert_eq!(
            r.get(Field::UriStem),
            Some(&b"/scripts/..\xc1\x1c../winnt/system32/cmd.exe"[..])
        );
        assert!(r
            .decoded_line()
            .is_some_and(|d| memchr::memmem::find(d, b"..\xc1\x1c..").is_some()));
        let bad = parsed(br#"192.0.2.7:4711 [06/Feb/2009:12:14:14.655] fe fe/<NOSRV> -1/-1/-1/-1/0 400 187 - - PR-- 1/1/0/0/0 0/0 "<BADREQ>""#);
        assert_eq!(text(&bad, Field::Status).as_deref(), Some("400"));
        assert_eq!(parsed(b"no date here").get(Field::ClientIp), None);
    }
}
