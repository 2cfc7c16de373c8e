//! A reassembled request head as a record in the Sigma web taxonomy, so the same rules that
//! read log lines read the wire, and the findings it gives.

use crate::detect::memo::RuleMemo;
use crate::detect::Detector;
use crate::finding::{display_cow, request_finding, shorten, LinePosition};
use crate::model::ClientPolicy;
use crate::model::{Finding, Wire};
use crate::record::{Field, LogFormat, Record};
use std::net::SocketAddr;

use super::reassembly::Request;
use crate::net::AddressText;

/// Header fields copied into the record.
const HEADERS: [(&[u8], Field); 5] = [
    (b"host", Field::Host),
    (b"user-agent", Field::UserAgent),
    (b"cookie", Field::Cookie),
    (b"referer", Field::Referer),
    (b"x-forwarded-for", Field::ForwardedFor),
];

/// What judges a request: the rules, the answers they gave before, and whether every rule
/// that hit is reported (else only the most specific built-in family).
pub struct RequestRules<'r> {
    pub detector: &'r Detector,
    pub memo: &'r mut RuleMemo,
    pub all_hits: bool,
}

/// The findings of one request.
pub fn request_findings(
    request: &Request,
    rules: RequestRules,
    (path, format): (&str, &'static str),
    client: &ClientPolicy,
) -> Vec<Finding> {
    let RequestRules {
        detector,
        memo,
        all_hits,
    } = rules;
    // Most heads of a capture hold no atom: they are not made into records.
    if !detector.may_match(&request.head) {
        return Vec::new();
    }
    with_request_record(request, |record, request_line| {
        let mut hits = Vec::new();
        detector.matching_rules_remembered(record, &mut hits, memo);
        if !all_hits {
            detector.keep_reported_hits(&mut hits);
        }
        let at = LinePosition {
            path,
            line: request.frame,
            offset: 0,
        };
        hits.iter()
            .map(|&i| {
                let mut finding = request_finding(&detector.rules()[i], record, at, client);
                detector.tag_for_correlations(i, record, &mut finding);
                network_finding(finding, request, request_line, format)
            })
            .collect()
    })
}

/// Calls `use_record` with the request as a taxonomy record and its request line: client and
/// server address, server port, method, URI and the headers the rules read.
pub fn with_request_record<T>(
    request: &Request,
    use_record: impl FnOnce(&Record, &[u8]) -> T,
) -> T {
    let client_ip = AddressText::ip(request.client.ip());
    let server_ip = AddressText::ip(request.server.ip());
    let server_port = AddressText::port(request.server.port());
    let head = request.head.as_slice();
    // The request line of a padded request can be 8 KB: lines are found with memchr.
    let line_end = memchr::memchr(b'\n', head).unwrap_or(head.len());
    let request_line = &head[..line_end];
    let request_line = request_line.strip_suffix(b"\r").unwrap_or(request_line);
    let mut record = Record::new(head, LogFormat::RequestLines);
    record.time = super::super::timestamp(request.secs);
    record.set_request_line(request_line);
    record.set(Field::ClientIp, client_ip.as_bytes());
    record.set(Field::ServerIp, server_ip.as_bytes());
    record.set(Field::ServerPort, server_port.as_bytes());
    let mut start = line_end + 1;
    while start <= head.len() {
        let end = memchr::memchr(b'\n', &head[start..]).map_or(head.len(), |n| start + n);
        set_header(&mut record, &head[start..end]);
        start = end + 1;
    }
    use_record(&record, request_line)
}

fn set_header<'a>(record: &mut Record<'a>, line: &'a [u8]) {
    let Some(colon) = memchr::memchr(b':', line) else {
        return;
    };
    let name = line[..colon].trim_ascii();
    if let Some((_, field)) = HEADERS.iter().find(|(h, _)| name.eq_ignore_ascii_case(h)) {
        record.set(*field, line[colon + 1..].trim_ascii());
    }
}

fn network_finding(
    mut f: Finding,
    request: &Request,
    request_line: &[u8],
    format: &'static str,
) -> Finding {
    if let Some(r) = f.request_mut() {
        r.format = format.to_string();
        r.server = Some(AddressText::ip(request.server.ip()).as_str().to_string());
        r.wire = Some(Wire {
            frame: request.frame,
            client_port: request.client.port(),
            server_port: request.server.port(),
            flow: flow_text(request.client, request.server),
        });
        r.text = shorten(&display_cow(request_line), crate::finding::EVIDENCE_CHARS);
        if !request.complete {
            r.text.push_str(" [partial request]");
        }
    }
    f
}

/// `client -> server`, as `SocketAddr`'s `Display` writes them (IPv6 in brackets).
fn flow_text(client: SocketAddr, server: SocketAddr) -> String {
    let mut flow = String::with_capacity(48);
    for (i, end) in [client, server].into_iter().enumerate() {
        if i > 0 {
            flow.push_str(" -> ");
        }
        let ip = AddressText::ip(end.ip());
        let port = AddressText::port(end.port());
        if end.is_ipv6() {
            flow.push('[');
            flow.push_str(ip.as_str());
            flow.push(']');
        } else {
            flow.push_str(ip.as_str());
        }
        flow.push(':');
        flow.push_str(port.as_str());
    }
    flow
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flows_read_as_socket_addresses_do() {
        for (client, server) in [
            ("192.0.2.7:1034", "198.51.100.80:80"),
            ("0.0.0.0:0", "255.255.255.255:65535"),
            ("[2001:db8::7]:1034", "[::ffff:192.0.2.1]:80"),
            ("[fe80::1]:5", "10.0.0.1:8080"),
        ] {
            let (c, s): (SocketAddr, SocketAddr) =
                (client.parse().unwrap(), server.parse().unwrap());
            assert_eq!(flow_text(c, s), format!("{c} -> {s}"));
            assert_eq!(AddressText::ip(c.ip()).as_str(), c.ip().to_string());
            assert_eq!(AddressText::port(s.port()).as_str(), s.port().to_string());
        }
        for n in 0..=255u8 {
            let ip = std::net::IpAddr::from([n, 0, 255 - n, 9]);
            assert_eq!(AddressText::ip(ip).as_str(), ip.to_string());
        }
    }
}
