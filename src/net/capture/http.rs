//! A reassembled request head as a record in the Sigma web taxonomy, so the same rules that
//! read log lines read the wire, and the findings it gives.

use crate::detect::Detector;
use crate::finding::{display_cow, request_finding, shorten, LinePosition};
use crate::model::ClientPolicy;
use crate::model::{Finding, Wire};
use crate::record::{Field, LogFormat, Record};

use super::reassembly::Request;

/// Header fields copied into the record.
const HEADERS: [(&[u8], Field); 5] = [
    (b"host", Field::Host),
    (b"user-agent", Field::UserAgent),
    (b"cookie", Field::Cookie),
    (b"referer", Field::Referer),
    (b"x-forwarded-for", Field::ForwardedFor),
];

/// The findings of one request (most specific built-in family only, unless `all_hits`).
pub fn request_findings(
    request: &Request,
    detector: &Detector,
    (path, format): (&str, &'static str),
    all_hits: bool,
    client: &ClientPolicy,
) -> Vec<Finding> {
    with_request_record(request, |record, request_line| {
        let mut hits = Vec::new();
        detector.matching_rules(record, &mut hits);
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
    let client_ip = request.client.ip().to_string();
    let server_ip = request.server.ip().to_string();
    let server_port = request.server.port().to_string();
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
        r.server = Some(request.server.ip().to_string());
        r.wire = Some(Wire {
            frame: request.frame,
            client_port: request.client.port(),
            server_port: request.server.port(),
            flow: format!("{} -> {}", request.client, request.server),
        });
        r.text = shorten(&display_cow(request_line), crate::finding::EVIDENCE_CHARS);
        if !request.complete {
            r.text.push_str(" [partial request]");
        }
    }
    f
}
