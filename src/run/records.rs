//! Parsed records as JSON Lines (`wormtrace parse`): one object per log line, capture request
//! or connection-table row, with the Sigma taxonomy fields the rules read, for loading into
//! other tools.

use std::io::{self, Write};

use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;

use crate::net::netstat::{Endpoint, TcpState};
use crate::record::{Record, ALL_FIELDS};
use crate::scan::Parsed;

/// One parsed item as written. Log lines:
/// `{"type":"record","path":…,"line":…,"format":…,"time":…,"fields":{…},"raw":…}`; capture
/// requests add `frame`, `flow` and `complete` (`line` is the frame); a capture's SYNs
/// without ACK add `frame`, with the `network_connection` fields and an empty `raw`; table
/// rows carry `host` and `connection` instead of `fields`.
#[derive(Serialize)]
pub struct RecordLine<'r> {
    #[serde(rename = "type")]
    kind: &'static str,
    path: &'r str,
    line: u64,
    format: &'static str,
    time: Option<crate::model::Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    frame: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    flow: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    complete: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    host: Option<&'r str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    connection: Option<ConnectionFields<'r>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    fields: Option<Fields<'r>>,
    /// The line as logged, the request line, or the table row (bytes that are not UTF-8
    /// shown as U+FFFD).
    raw: String,
}

/// A table row's columns.
#[derive(Serialize)]
struct ConnectionFields<'r> {
    protocol: &'static str,
    local_ip: Option<String>,
    local_port: Option<u16>,
    remote_ip: Option<String>,
    remote_port: Option<u16>,
    state: &'r str,
}

fn ip(e: &Endpoint) -> Option<String> {
    e.ip.map(|ip| ip.to_string())
}

impl<'r> RecordLine<'r> {
    /// The output form of an item of `path`.
    pub fn new(path: &'r str, item: &Parsed<'r>) -> Self {
        let mut out = RecordLine {
            kind: "record",
            path,
            line: 0,
            format: "",
            time: None,
            frame: None,
            flow: None,
            complete: None,
            host: None,
            connection: None,
            fields: None,
            raw: String::new(),
        };
        match *item {
            Parsed::Line { line, record } => {
                out.line = line;
                out.with_record(record, record.line);
            }
            Parsed::Request {
                format,
                request,
                record,
            } => {
                out.line = request.frame;
                out.frame = Some(request.frame);
                out.flow = Some(format!("{} -> {}", request.client, request.server));
                out.complete = Some(request.complete);
                let head = record.line;
                let request_line = head.split(|&b| b == b'\n').next().unwrap_or(head);
                out.with_record(
                    record,
                    request_line.strip_suffix(b"\r").unwrap_or(request_line),
                );
                out.format = format;
            }
            Parsed::Syn {
                format,
                frame,
                record,
            } => {
                out.line = frame;
                out.frame = Some(frame);
                out.with_record(record, b"");
                out.format = format;
            }
            Parsed::Row {
                format,
                host,
                connection,
                raw,
            } => {
                out.line = connection.line;
                out.format = format;
                out.host = Some(host);
                out.connection = Some(ConnectionFields {
                    protocol: "tcp",
                    local_ip: ip(&connection.local),
                    local_port: connection.local.port,
                    remote_ip: ip(&connection.remote),
                    remote_port: connection.remote.port,
                    state: connection.state.map_or("", TcpState::name),
                });
                out.raw = raw.to_string();
            }
        }
        out
    }

    fn with_record(&mut self, record: &'r Record<'r>, raw: &[u8]) {
        self.format = record.format.name();
        self.time = record.time;
        self.fields = Some(Fields(record));
        self.raw = String::from_utf8_lossy(raw).into_owned();
    }

    /// Writes the record as one JSON line (line breakers in strings escaped).
    pub fn write_to(&self, out: &mut dyn Write) -> io::Result<()> {
        let mut line = Vec::with_capacity(self.raw.len() * 2 + 256);
        crate::sink::json_write::append_json(&mut line, self)?;
        line.push(b'\n');
        out.write_all(&line)
    }
}

/// The set fields of a record, in taxonomy order.
struct Fields<'r>(&'r Record<'r>);

impl Serialize for Fields<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        for field in ALL_FIELDS {
            if let Some(value) = self.0.get(field) {
                map.serialize_entry(field.name(), &String::from_utf8_lossy(value))?;
            }
        }
        map.end()
    }
}
