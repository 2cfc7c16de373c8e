//! Every record of an input, without detection: log lines, request heads reassembled from
//! captures, and rows of connection tables. For exporting evidence in taxonomy fields and for
//! checking the parsers against other tools (`wormtrace parse`).

use std::io::{self, BufRead, BufReader, Read};

use super::network::{sniff, NetworkKind, MAX_TABLE};
use super::{choose_format, with_head, ScanOptions};
use crate::net::capture::{http, read_capture, CaptureItem, CaptureOptions, Request};
use crate::net::host_from_path;
use crate::net::netstat::{self, Connection};
use crate::record::{Parser, Record};
use crate::source::{self, describe_io, Input, Problem, ProblemKind, Severity};

/// One item of an input, as `wormtrace parse` prints it.
pub enum Parsed<'a> {
    /// A log line (1-based physical line number).
    Line { line: u64, record: &'a Record<'a> },
    /// A request head reassembled from a capture, as the rules see it.
    Request {
        format: &'static str,
        request: &'a Request,
        record: &'a Record<'a>,
    },
    /// A SYN without ACK of a capture, as a `network_connection` record (with its frame's
    /// time): what the spreading correlation's rules look at.
    Syn {
        format: &'static str,
        frame: u64,
        record: &'a Record<'a>,
    },
    /// A TCP row of a connection table, taken on `host`.
    Row {
        format: &'static str,
        host: &'a str,
        connection: &'a Connection,
        raw: &'a str,
    },
}

/// Calls `on_item` with every record of `input`: log lines (directives and empty lines give
/// none), capture requests or table rows. Returns what went wrong; an input that is none of
/// these is reported as skipped.
pub fn each_record(
    input: &Input,
    options: &ScanOptions,
    on_item: &mut dyn FnMut(Parsed),
) -> Vec<Problem> {
    let problem = |what: &str, key: &str, e: &io::Error| {
        let detail = describe_io(e);
        let reason = format!("{what}: {detail}");
        Problem::said(
            input.label(),
            reason,
            Severity::Error,
            key,
            &[("detail", detail)],
        )
    };
    let mut opened = match source::open(input) {
        Ok(o) => o,
        Err(e) => return vec![problem("cannot open", "problem-cannot-open", &e)],
    };
    let mut problems = Vec::new();
    let label = input.label();
    match read_items(&mut opened.reader, &label, options, on_item) {
        Ok(true) => {}
        Ok(false) => problems.push(Problem::of(label, ProblemKind::Binary, Severity::Skipped)),
        Err(e) => problems.push(problem("read error", "problem-read-failed", &e)),
    }
    if let Err(e) = opened.finish() {
        problems.push(problem("cannot read to the end", "problem-unfinished", &e));
    }
    problems
}

/// Reads the items; false when the input is no evidence `parse` reads. A read error in the
/// first bytes keeps the items before it.
fn read_items(
    reader: &mut (dyn Read + Send),
    label: &str,
    options: &ScanOptions,
    on_item: &mut dyn FnMut(Parsed),
) -> io::Result<bool> {
    with_head((reader, None), options, |head, rest| {
        read_items_after(head, rest, label, options, on_item)
    })
}

fn read_items_after(
    head: Vec<u8>,
    reader: &mut (dyn Read + Send),
    label: &str,
    options: &ScanOptions,
    on_item: &mut dyn FnMut(Parsed),
) -> io::Result<bool> {
    match sniff(&head, options) {
        Some(NetworkKind::Capture(kind)) => {
            let format = kind.name();
            let mut print = |item: CaptureItem<'_>| {
                match item {
                    CaptureItem::Request(request) => {
                        http::with_request_record(request, |record, _| {
                            on_item(Parsed::Request {
                                format,
                                request,
                                record,
                            })
                        });
                    }
                    CaptureItem::Syn {
                        frame,
                        secs,
                        nanos,
                        connection,
                    } => {
                        let mut record = connection.record();
                        record.time = crate::net::timestamp_nanos(secs, nanos);
                        on_item(Parsed::Syn {
                            format,
                            frame,
                            record: &record,
                        });
                    }
                }
                Vec::new()
            };
            let capture = CaptureOptions::default();
            let mut none = |_| {};
            let report = read_capture(
                head.as_slice().chain(reader),
                capture,
                &mut print,
                &mut none,
            );
            return match report.error {
                Some(e) => Err(io::Error::new(io::ErrorKind::InvalidData, e.to_string())),
                None => Ok(true),
            };
        }
        Some(NetworkKind::Table) => return table_rows(head, reader, label, options, on_item),
        None => {}
    }
    let Some(format) = choose_format(&head, options) else {
        return Ok(false);
    };
    let ctx = options.parse_context();
    let mut parser = Parser::for_format(format);
    let mut lines = BufReader::new(head.as_slice().chain(reader));
    let mut buf = Vec::new();
    let mut number = 0;
    loop {
        buf.clear();
        if lines.read_until(b'\n', &mut buf)? == 0 {
            return Ok(true);
        }
        number += 1;
        let raw = buf.strip_suffix(b"\n").unwrap_or(&buf);
        if let Some(record) = super::lines::parse_line(&mut parser, &ctx, raw) {
            on_item(Parsed::Line {
                line: number,
                record: &record,
            });
        }
    }
}

fn table_rows(
    mut bytes: Vec<u8>,
    reader: &mut (dyn Read + Send),
    label: &str,
    options: &ScanOptions,
    on_item: &mut dyn FnMut(Parsed),
) -> io::Result<bool> {
    reader.take(MAX_TABLE).read_to_end(&mut bytes)?;
    let text = netstat::decode_owned(bytes);
    let host = options
        .host_names
        .get(label)
        .cloned()
        .unwrap_or_else(|| host_from_path(label));
    netstat::each_row(&text, &mut |connection, raw, dialect| {
        on_item(Parsed::Row {
            format: dialect.name(),
            host: &host,
            connection: &connection,
            raw: raw.trim_end_matches('\r'),
        });
    });
    Ok(true)
}
