//! Apache error logs: `[stamp] [level] [client addr] message` (2.4 adds module, pid and port).

use super::{time, LogFormat, ParseContext, Record};
use crate::model::Timestamp;

/// Parses one error-log line; the message stays in the raw line for keyword rules.
pub fn parse<'a>(line: &'a [u8], ctx: &ParseContext) -> Record<'a> {
    let mut record = Record::new(line, LogFormat::ApacheError);
    let mut rest = line.trim_ascii();
    let mut first = true;
    while let Some(inner_end) = rest
        .strip_prefix(b"[")
        .and_then(|r| memchr::memchr(b']', r))
    {
        let inner = &rest[1..=inner_end];
        if first {
            record.time = time::apache_error(inner, ctx.local_offset).map(Timestamp);
            first = false;
        } else if let Some(client) = inner.strip_prefix(b"client ") {
            if let Some(field) = ctx.map.apache_client() {
                record.set(field, strip_port(client.trim_ascii()));
            }
        }
        rest = rest[inner_end + 2..].trim_ascii_start();
    }
    record
}

/// `1.2.3.4:5678` to `1.2.3.4`; IPv6 (`[::1]:80` or bare `::1`) is kept whole unless bracketed.
fn strip_port(client: &[u8]) -> &[u8] {
    if let Some(v6) = client.strip_prefix(b"[") {
        return v6.split(|&b| b == b']').next().unwrap_or(v6);
    }
    match memchr::memchr_iter(b':', client).count() {
        1 => &client[..memchr::memchr(b':', client).unwrap_or(client.len())],
        _ => client,
    }
}

#[cfg(test)]
mod tests {
    use super::super::Field;
    use super::*;
    use chrono::FixedOffset;

    fn ctx() -> ParseContext<'static> {
        ParseContext::builtin(FixedOffset::east_opt(0).unwrap())
    }

    #[test]
    fn apache_13_and_24_lines() {
        let r = parse(b"[Wed Aug  1 05:13:17 2001] [error] [client 192.0.2.4] File does not exist: /var/www/default.ida", &ctx());
        assert_eq!(r.get(Field::ClientIp), Some(&b"192.0.2.4"[..]));
        assert_eq!(
            r.time.map(|t| t.rfc3339()).as_deref(),
            Some("2001-08-01T05:13:17Z")
        );
        let r = parse(b"[Wed Aug 01 05:13:17.123456 2001] [core:info] [pid 42] [client 192.0.2.5:4567] AH00128: File does not exist: /srv/default.ida", &ctx());
        assert_eq!(r.get(Field::ClientIp), Some(&b"192.0.2.5"[..]));
        let r = parse(
            b"[Wed Aug 01 05:13:17 2001] [error] [client 2001:db8::1] x",
            &ctx(),
        );
        assert_eq!(r.get(Field::ClientIp), Some(&b"2001:db8::1"[..]));
    }
}
