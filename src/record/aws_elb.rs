//! AWS load balancer access logs: Application Load Balancer and Classic Load Balancer.
//! Space-separated fields, some in double quotes; which field is which comes from the
//! positions in `mappings/fields.yml`. Fields AWS appends in later versions are ignored,
//! and a line of an older version simply has fewer.

use std::borrow::Cow;

use super::json::set_url;
use super::mapping::Slot;
use super::{time, Field, LogFormat, ParseContext, Record};
use crate::model::Timestamp;

/// Parses one line of an ALB (`aws-alb`) or Classic ELB (`aws-elb`) log.
pub fn parse<'a>(line: &'a [u8], format: LogFormat, ctx: &ParseContext) -> Record<'a> {
    let mut record = Record::new(line, format);
    let slots = ctx.map.positions(format);
    for (slot, value) in slots.iter().zip(Tokens::new(line.trim_ascii_end())) {
        match slot {
            Some(Slot::Field(field)) => record.set(*field, value),
            Some(Slot::RequestLine) => set_request(&mut record, value),
            Some(Slot::RequestTarget) => record.set_uri(value),
            Some(Slot::RequestUrl) => set_url(&mut record, Cow::Borrowed(value)),
            // A later time (ALB's request_creation_time after its response time) wins
            // when it can be read: it is when the request came in.
            Some(Slot::Timestamp) => {
                if let Some(t) = time::any(value, ctx.local_offset) {
                    record.time = Some(Timestamp(t));
                }
            }
            None => {}
        }
    }
    record
}

/// `METHOD scheme://host:port/target HTTP/x.y`, as the balancers log the request: the
/// method and version around an absolute URL. A TCP listener's `- - -` sets nothing.
fn set_request<'a>(record: &mut Record<'a>, request: &'a [u8]) {
    let mut parts = request.splitn(2, |&b| b == b' ');
    let method = parts.next().unwrap_or_default();
    if method == b"-" {
        return;
    }
    let rest = parts.next().unwrap_or_default();
    record.set(Field::Method, method);
    let (url, version) = match memchr::memrchr(b' ', rest) {
        Some(sp) if rest[sp + 1..].starts_with(b"HTTP/") => (&rest[..sp], &rest[sp + 1..]),
        _ => (rest, &b""[..]),
    };
    record.set(Field::Version, version);
    if !url.is_empty() && url != b"-" {
        set_url(record, Cow::Borrowed(url));
    }
}

/// The fields of a line: runs of non-spaces, or text in double quotes (which may hold
/// spaces, and quotes that are not followed by a space or the end).
struct Tokens<'a> {
    rest: &'a [u8],
}

impl<'a> Tokens<'a> {
    fn new(line: &'a [u8]) -> Self {
        Tokens { rest: line }
    }
}

impl<'a> Iterator for Tokens<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        let rest = self.rest.trim_ascii_start();
        if rest.is_empty() {
            return None;
        }
        if rest[0] == b'"' {
            let body = &rest[1..];
            let close = memchr::memmem::find_iter(body, b"\"")
                .find(|&q| body.get(q + 1).is_none_or(|&b| b == b' '))
                .unwrap_or(body.len());
            self.rest = body.get(close + 1..).unwrap_or_default();
            return Some(&body[..close]);
        }
        let end = memchr::memchr(b' ', rest).unwrap_or(rest.len());
        self.rest = &rest[end..];
        Some(&rest[..end])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::FixedOffset;

    fn ctx() -> ParseContext<'static> {
        ParseContext::builtin(FixedOffset::east_opt(0).unwrap())
    }

    fn text(record: &Record, field: Field) -> Option<String> {
        record
            .get(field)
            .map(|v| String::from_utf8_lossy(v).into_owned())
    }

    #[test]
    fn alb_line_of_the_newest_version() {
        let line = br#"https 2018-07-02T22:23:00.186641Z app/my-loadbalancer/50dc6c495c0c9188 192.168.131.39:2817 10.0.0.1:80 0.086 0.048 0.037 200 404 0 57 "GET https://www.example.com:443/default.ida?NNNN=a HTTP/1.1" "curl/7.46.0" ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2 arn:aws:elasticloadbalancing:us-east-2:123456789012:targetgroup/my-targets/73e2d6bc24d8a067 "Root=1-58337281-1d84f3d73c47ec4e58577259" "www.example.com" "arn:aws:acm:us-east-2:123456789012:certificate/12345678-1234-1234-1234-123456789012" 1 2018-07-02T22:22:48.364000Z "authenticate,forward" "-" "-" "10.0.0.1:80" "200" "-" "-" TID_1234abcd5678ef90 "-" "-" "-""#;
        let r = parse(line, LogFormat::AwsAlb, &ctx());
        assert_eq!(text(&r, Field::ClientIp).as_deref(), Some("192.168.131.39"));
        assert_eq!(text(&r, Field::ServerIp).as_deref(), Some("10.0.0.1"));
        assert_eq!(text(&r, Field::Method).as_deref(), Some("GET"));
        assert_eq!(text(&r, Field::Host).as_deref(), Some("www.example.com"));
        assert_eq!(text(&r, Field::UriStem).as_deref(), Some("/default.ida"));
        assert_eq!(text(&r, Field::UriQuery).as_deref(), Some("NNNN=a"));
        assert_eq!(text(&r, Field::Version).as_deref(), Some("HTTP/1.1"));
        assert_eq!(
            text(&r, Field::Status).as_deref(),
            Some("404"),
            "the target's answer"
        );
        assert_eq!(text(&r, Field::UserAgent).as_deref(), Some("curl/7.46.0"));
        assert_eq!(
            text(&r, Field::ComputerName).as_deref(),
            Some("app/my-loadbalancer/50dc6c495c0c9188")
        );
        assert_eq!(
            r.time.map(|t| t.rfc3339()).as_deref(),
            Some("2018-07-02T22:22:48Z"),
            "request_creation_time"
        );
    }

    #[test]
    fn alb_line_of_2016_and_answers_from_the_balancer() {
        let line = br#"http 2016-08-10T22:08:42.945958Z app/my-lb/50dc6c495c0c9188 192.0.2.7:2817 - -1 -1 -1 403 - 34 366 "GET http://www.example.com:80/scripts/root.exe?/c+dir HTTP/1.1" "-" - -"#;
        let r = parse(line, LogFormat::AwsAlb, &ctx());
        assert_eq!(text(&r, Field::ServerIp), None);
        assert_eq!(text(&r, Field::Status).as_deref(), Some("403"));
        assert_eq!(text(&r, Field::UriQuery).as_deref(), Some("/c+dir"));
        assert_eq!(
            r.time.map(|t| t.rfc3339()).as_deref(),
            Some("2016-08-10T22:08:42Z")
        );
    }

    #[test]
    fn classic_elb_line_and_a_tcp_listener() {
        let line = br#"2015-05-13T23:39:43.945958Z my-loadbalancer 192.168.131.39:2817 10.0.0.1:80 0.000073 0.001048 0.000057 200 200 0 29 "GET http://www.example.com:80/scripts/..%c1%1c../winnt/system32/cmd.exe?/c+dir HTTP/1.1" "Mozilla/4.0 (compatible)" - -"#;
        let r = parse(line, LogFormat::AwsElb, &ctx());
        assert_eq!(text(&r, Field::ClientIp).as_deref(), Some("192.168.131.39"));
        assert_eq!(text(&r, Field::ServerIp).as_deref(), Some("10.0.0.1"));
        assert_eq!(
            text(&r, Field::UriStem).as_deref(),
            Some("/scripts/..%c1%1c../winnt/system32/cmd.exe")
        );
        assert_eq!(
            text(&r, Field::UserAgent).as_deref(),
            Some("Mozilla/4.0 (compatible)")
        );
        assert_eq!(
            text(&r, Field::ComputerName).as_deref(),
            Some("my-loadbalancer")
        );
        let tcp = br#"2015-05-13T23:39:43.945958Z my-loadbalancer 192.168.131.39:2817 10.0.0.1:80 0.001069 0.000028 0.000041 - - 82 305 "- - - " "-" - -"#;
        let r = parse(tcp, LogFormat::AwsElb, &ctx());
        assert_eq!(text(&r, Field::UriStem), None);
        assert_eq!(text(&r, Field::Method), None);
    }

    #[test]
    fn quotes_inside_a_quoted_field_and_cut_lines() {
        let tokens: Vec<&[u8]> = Tokens::new(br#"a "b c"d" e"#).collect();
        assert_eq!(tokens, [&b"a"[..], b"b c\"d", b"e"]);
        let tokens: Vec<&[u8]> = Tokens::new(br#"a "unterminated"#).collect();
        assert_eq!(tokens, [&b"a"[..], b"unterminated"]);
        let r = parse(
            b"https 2018-07-02T22:23:00Z app/x/1 192.0.2.1:1",
            LogFormat::AwsAlb,
            &ctx(),
        );
        assert_eq!(text(&r, Field::ClientIp).as_deref(), Some("192.0.2.1"));
    }
}
