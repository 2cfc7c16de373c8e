//! Parsed records as JSON Lines (`wormtrace parse`): one object per log line with its
//! Sigma taxonomy fields, for loading into other tools.

use std::io::{self, Write};

use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;

use crate::record::{Record, ALL_FIELDS};

/// One parsed line as written: `{"type":"record","path":…,"line":…,"format":…,"time":…,"fields":{…},"raw":…}`.
#[derive(Serialize)]
pub struct RecordLine<'r> {
    #[serde(rename = "type")]
    kind: &'static str,
    path: &'r str,
    line: u64,
    format: &'static str,
    time: Option<&'r str>,
    fields: Fields<'r>,
    /// The line as logged (bytes that are not UTF-8 shown as U+FFFD).
    raw: String,
}

impl<'r> RecordLine<'r> {
    /// The output form of `record`, read from line `line` of `path`.
    pub fn new(path: &'r str, line: u64, record: &'r Record<'r>) -> Self {
        RecordLine {
            kind: "record",
            path,
            line,
            format: record.format.name(),
            time: record.time.as_deref(),
            fields: Fields(record),
            raw: String::from_utf8_lossy(record.line).into_owned(),
        }
    }

    /// Writes the record as one JSON line.
    pub fn write_to(&self, out: &mut dyn Write) -> io::Result<()> {
        serde_json::to_writer(&mut *out, self).map_err(io::Error::from)?;
        out.write_all(b"\n")
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
