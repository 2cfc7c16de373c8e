//! NCSA common and combined logs (Apache, nginx), with or without a leading virtual host.

use super::mapping::NcsaPart;
use super::{key_part, time, Field, LogFormat, ParseContext, Record};
use crate::model::Timestamp;

/// Parses `[%v] %h %l %u %t "%r" %>s %b ["%{Referer}i" "%{User-agent}i"]`.
pub fn parse<'a>(line: &'a [u8], ctx: &ParseContext) -> Record<'a> {
    let line_trimmed = line.trim_ascii_end();
    let mut record = Record::new(line, LogFormat::NcsaCommon);
    let Some(open) = timestamp_start(line_trimmed) else {
        return record;
    };
    set_identity(&mut record, &line_trimmed[..open], ctx);
    let Some(close) = memchr::memchr(b']', &line_trimmed[open..]).map(|c| open + c) else {
        return record;
    };
    let stamp = &line_trimmed[open + 1..close];
    record.time = time::ncsa(stamp).map(Timestamp);
    set_all(
        &mut record,
        ctx.map.ncsa(NcsaPart::Time),
        &split_stamp(stamp),
    );
    let rest = line_trimmed[close + 1..].trim_ascii_start();
    let Some(after_request) = set_request(&mut record, rest, ctx) else {
        return record;
    };
    set_tail(&mut record, after_request, ctx);
    record
}

/// Writes to `key` the raw parts of `line` that decide the values of `fields` (either set;
/// see
/// [`super::W3cLayout::raw_key`]): the request, the status, and the bytes, referer and user
/// agent where `fields` come from them, and whether the line is combined. False when one of
/// `fields` comes from before the request (virtual host, client, user, time), or the line
/// has no timestamp and request to go by.
pub fn raw_key(line: &[u8], fields: [&[Field]; 2], ctx: &ParseContext, key: &mut Vec<u8>) -> bool {
    let read = |part: NcsaPart| {
        let mapped = ctx.map.ncsa(part);
        mapped
            .iter()
            .any(|f| fields.iter().any(|set| set.contains(f)))
    };
    let before_request = [
        NcsaPart::VirtualHost,
        NcsaPart::Client,
        NcsaPart::User,
        NcsaPart::Time,
    ];
    if before_request.into_iter().any(read) {
        return false;
    }
    let line = line.trim_ascii_end();
    let Some(open) = timestamp_start(line) else {
        return false;
    };
    let Some(close) = memchr::memchr(b']', &line[open..]).map(|c| open + c) else {
        return false;
    };
    // As `parse` reads the line from here on.
    let Some(body) = line[close + 1..].trim_ascii_start().strip_prefix(b"\"") else {
        return false;
    };
    let end = request_end(body);
    key_part(key, &body[..end]);
    let tail = body.get(end + 1..).unwrap_or_default().trim_ascii_start();
    let mut words = tail.splitn(3, |&b| b == b' ');
    key_part(key, words.next().unwrap_or_default());
    let bytes = words.next().unwrap_or_default();
    if read(NcsaPart::Bytes) {
        key_part(key, bytes);
    }
    let quoted = words.next().and_then(referer_and_agent);
    key.push(u8::from(quoted.is_some()));
    if let Some((referer, agent)) = quoted {
        if read(NcsaPart::Referer) {
            key_part(key, referer);
        }
        if read(NcsaPart::UserAgent) {
            key_part(key, agent);
        }
    }
    true
}

/// Position of the `[` that opens `%t` (`[dd/Mon/yyyy:...`).
fn timestamp_start(line: &[u8]) -> Option<usize> {
    memchr::memchr_iter(b'[', line)
        .find(|&i| i > 0 && line[i - 1] == b' ' && line.get(i + 1).is_some_and(u8::is_ascii_digit))
}

fn set_identity<'a>(record: &mut Record<'a>, head: &'a [u8], ctx: &ParseContext) {
    // The first four words are all the layout needs (a user name runs on to the stamp).
    let mut tokens: [&[u8]; 4] = [&[]; 4];
    let mut count = 0;
    for (slot, word) in tokens
        .iter_mut()
        .zip(head.split(|&b| b == b' ').filter(|t| !t.is_empty()))
    {
        *slot = word;
        count += 1;
    }
    let tokens = &tokens[..count];
    if tokens.len() < 3 {
        if let Some(host) = tokens.first() {
            set_all(record, ctx.map.ncsa(NcsaPart::Client), &[host]);
        }
        return;
    }
    // With a leading %v the ident ("-", nearly always) moves from the second to the third place.
    let has_vhost = tokens.len() >= 4 && tokens[1] != b"-" && tokens[2] == b"-";
    let (host_at, user_at) = if has_vhost { (1, 3) } else { (0, 2) };
    if has_vhost {
        set_all(record, ctx.map.ncsa(NcsaPart::VirtualHost), &[tokens[0]]);
    }
    set_all(record, ctx.map.ncsa(NcsaPart::Client), &[tokens[host_at]]);
    // A user name may hold spaces: it runs from its first token to the timestamp.
    let user_start = tokens[user_at].as_ptr() as usize - head.as_ptr() as usize;
    set_all(
        record,
        ctx.map.ncsa(NcsaPart::User),
        &[head[user_start..].trim_ascii()],
    );
}

fn split_stamp(stamp: &[u8]) -> [&[u8]; 2] {
    let date_end = memchr::memchr(b':', stamp).unwrap_or(stamp.len());
    let clock = stamp.get(date_end + 1..).unwrap_or_default();
    let clock_end = memchr::memchr(b' ', clock).unwrap_or(clock.len());
    [&stamp[..date_end], &clock[..clock_end]]
}

/// Reads `"%r"`; returns what follows its closing quote.
fn set_request<'a>(
    record: &mut Record<'a>,
    rest: &'a [u8],
    ctx: &ParseContext,
) -> Option<&'a [u8]> {
    let body = rest.strip_prefix(b"\"")?;
    let end = request_end(body);
    if ctx.map.ncsa(NcsaPart::Request).contains(&Field::Method) {
        record.set_request_line(&body[..end]);
    }
    Some(body.get(end + 1..).unwrap_or_default())
}

/// End of the quoted request: the quote followed by ` <status>`; unescaped quotes inside
/// the request (Apache 1.3 did not escape them) are passed over.
fn request_end(body: &[u8]) -> usize {
    let status_follows = |q: usize| {
        let after = &body[q + 1..];
        after.first() == Some(&b' ')
            && (after
                .get(1..4)
                .is_some_and(|d| d.iter().all(u8::is_ascii_digit))
                || after.get(1) == Some(&b'-'))
    };
    memchr::memchr_iter(b'"', body)
        .find(|&q| status_follows(q))
        .or_else(|| memchr::memchr(b'"', body))
        .unwrap_or(body.len())
}

fn set_tail<'a>(record: &mut Record<'a>, tail: &'a [u8], ctx: &ParseContext) {
    let tail = tail.trim_ascii_start();
    let mut words = tail.splitn(3, |&b| b == b' ');
    if let Some(status) = words.next() {
        set_all(record, ctx.map.ncsa(NcsaPart::Status), &[status]);
    }
    if let Some(bytes) = words.next() {
        set_all(record, ctx.map.ncsa(NcsaPart::Bytes), &[bytes]);
    }
    let Some(quoted) = words.next() else { return };
    let Some((referer, agent)) = referer_and_agent(quoted) else {
        return;
    };
    record.format = LogFormat::NcsaCombined;
    set_all(record, ctx.map.ncsa(NcsaPart::Referer), &[referer]);
    set_all(record, ctx.map.ncsa(NcsaPart::UserAgent), &[agent]);
}

fn referer_and_agent(quoted: &[u8]) -> Option<(&[u8], &[u8])> {
    let inner = quoted.trim_ascii().strip_prefix(b"\"")?;
    let split = memchr::memmem::find(inner, b"\" \"")?;
    let agent = &inner[split + 3..];
    let agent_end = memchr::memrchr(b'"', agent).unwrap_or(agent.len());
    Some((&inner[..split], &agent[..agent_end]))
}

fn set_all<'a>(record: &mut Record<'a>, fields: &[Field], values: &[&'a [u8]]) {
    for (field, value) in fields.iter().zip(values) {
        record.set(*field, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::FixedOffset;

    fn ctx() -> ParseContext<'static> {
        ParseContext::builtin(FixedOffset::east_opt(0).unwrap())
    }

    #[test]
    fn combined_line_with_two_spaces_before_version() {
        let line = br#"192.0.2.9 - - [04/Aug/2001:13:45:01 +0900] "GET /default.ida?XXXX%u9090=a  HTTP/1.0" 404 283 "-" "-""#;
        let r = parse(line, &ctx());
        assert_eq!(r.format, LogFormat::NcsaCombined);
        assert_eq!(r.get(Field::ClientIp), Some(&b"192.0.2.9"[..]));
        assert_eq!(r.get(Field::UriStem), Some(&b"/default.ida"[..]));
        assert_eq!(r.get(Field::UriQuery), Some(&b"XXXX%u9090=a"[..]));
        assert_eq!(r.get(Field::Version), Some(&b"HTTP/1.0"[..]));
        assert_eq!(r.get(Field::Status), Some(&b"404"[..]));
        assert_eq!(r.get(Field::Referer), None);
        assert_eq!(
            r.time.map(|t| t.rfc3339()).as_deref(),
            Some("2001-08-04T13:45:01+09:00")
        );
    }

    #[test]
    fn vhost_user_with_spaces_and_quote_inside_request() {
        let line = br#"www.example.jp 198.51.100.4 - John Smith [4/Aug/2001:01:02:03 +0000] "GET /a"b HTTP/1.1" 200 5 "http://r/" "UA x""#;
        let r = parse(line, &ctx());
        assert_eq!(r.get(Field::Host), Some(&b"www.example.jp"[..]));
        assert_eq!(r.get(Field::ClientIp), Some(&b"198.51.100.4"[..]));
        assert_eq!(r.get(Field::Username), Some(&b"John Smith"[..]));
        assert_eq!(r.get(Field::UriStem), Some(&b"/a\"b"[..]));
        assert_eq!(r.get(Field::UserAgent), Some(&b"UA x"[..]));
        assert_eq!(r.get(Field::Referer), Some(&b"http://r/"[..]));
    }

    #[test]
    fn common_format_without_version_and_truncated() {
        let r = parse(
            br#"10.0.0.5 - - [04/Aug/2001:13:45:01 -0700] "GET /default.ida" 400 -"#,
            &ctx(),
        );
        assert_eq!(r.format, LogFormat::NcsaCommon);
        assert_eq!(r.get(Field::UriStem), Some(&b"/default.ida"[..]));
        assert_eq!(r.get(Field::Status), Some(&b"400"[..]));
        let r = parse(
            br#"10.0.0.5 - - [04/Aug/2001:13:45:01 -0700] "GET /default.ida?NNNNN"#,
            &ctx(),
        );
        assert_eq!(r.get(Field::UriQuery), Some(&b"NNNNN"[..]));
    }

    /// Lines made of pieces that vary in every part, some malformed.
    fn varied_lines() -> Vec<Vec<u8>> {
        let prefixes = [
            "192.0.2.9 - - ",
            "www.example.jp 198.51.100.4 - John Smith ",
            "10.0.0.5 - bob ",
            "",
        ];
        let stamps = [
            "[04/Aug/2001:13:45:01 +0900] ",
            "[4/Aug/2001:01:02:03 +0000]",
            "[x] ",
        ];
        let requests = [
            "\"GET /default.ida?NNNN HTTP/1.0\"",
            "\"GET /a\"b HTTP/1.1\"",
            "\"GET /scripts/x.asp?q=cmd.exe HTTP/1.0\"",
            "\"GET /default.ida\"",
            "GET /no-quote",
        ];
        let tails = [
            " 404 283 \"-\" \"-\"",
            " 200 5 \"http://r/\" \"UA x\"",
            " 200 6 \"http://r/\" \"UA y\"",
            " 400 -",
            " 200",
            "",
        ];
        let mut lines = Vec::new();
        for p in prefixes {
            for s in stamps {
                for r in requests {
                    for t in tails {
                        lines.push(format!("{p}{s}{r}{t}").into_bytes());
                    }
                }
            }
        }
        lines
    }

    #[test]
    fn lines_with_equal_raw_keys_have_equal_values_in_the_fields_read() {
        let ctx = ctx();
        let sets: [&[Field]; 3] = [
            &[
                Field::Method,
                Field::UriStem,
                Field::UriQuery,
                Field::Status,
            ],
            &[
                Field::UriStem,
                Field::UserAgent,
                Field::Referer,
                Field::BytesSent,
            ],
            &[Field::UriQuery],
        ];
        let lines = varied_lines();
        for fields in sets {
            let keyed: Vec<(Vec<u8>, &Vec<u8>)> = lines
                .iter()
                .filter_map(|line| {
                    let mut key = Vec::new();
                    raw_key(line, [fields, &[]], &ctx, &mut key).then_some((key, line))
                })
                .collect();
            assert!(keyed.len() > lines.len() / 3, "most lines have a key");
            let mut groups = 0;
            for (i, (key_a, a)) in keyed.iter().enumerate() {
                for (key_b, b) in &keyed[i + 1..] {
                    if key_a != key_b {
                        continue;
                    }
                    groups += 1;
                    let (ra, rb) = (parse(a, &ctx), parse(b, &ctx));
                    assert_eq!(ra.format, rb.format);
                    for &f in fields {
                        assert_eq!(ra.get(f), rb.get(f), "{f:?}: {a:?} / {b:?}");
                    }
                }
            }
            assert!(groups > 0, "some lines share a key");
        }
    }

    #[test]
    fn no_raw_key_for_fields_before_the_request_or_a_line_without_a_stamp() {
        let ctx = ctx();
        let line = br#"192.0.2.9 - - [04/Aug/2001:13:45:01 +0900] "GET / HTTP/1.0" 200 5"#;
        let mut key = Vec::new();
        for field in [Field::ClientIp, Field::Username, Field::Date, Field::Time] {
            // Read by the rules of either format.
            let fields = [&[Field::UriStem][..], &[field]];
            assert!(!raw_key(line, fields, &ctx, &mut key), "{field:?}");
        }
        let stem = [&[Field::UriStem][..], &[]];
        assert!(!raw_key(b"GET / HTTP/1.0", stem, &ctx, &mut key));
        assert!(raw_key(line, stem, &ctx, &mut key));
    }
}
