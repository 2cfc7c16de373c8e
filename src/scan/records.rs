//! Every line of an input as a parsed record, without detection: for exporting logs in
//! taxonomy fields and for checking the parsers against other tools.

use std::io::{self, BufRead, BufReader, Read};

use super::{choose_format, read_head, ScanOptions};
use crate::record::{LogFormat, Parser, Record};
use crate::source::{self, describe_io, Input, Problem, ProblemKind, Severity};

/// Calls `on_record` with the line number and record of every log line of `input`
/// (directives and empty lines give none). Returns the format read as (None when the
/// input was not read as a log) and what went wrong.
pub fn each_record(
    input: &Input,
    options: &ScanOptions,
    on_record: &mut dyn FnMut(u64, &Record),
) -> (Option<LogFormat>, Vec<Problem>) {
    let problem = |reason: String, severity| Problem::other(input.label(), reason, severity);
    let mut opened = match source::open(input) {
        Ok(o) => o,
        Err(e) => {
            let reason = format!("cannot open: {}", describe_io(&e));
            return (None, vec![problem(reason, Severity::Error)]);
        }
    };
    let mut problems = Vec::new();
    let format = match read_records(&mut opened.reader, options, on_record) {
        Ok(format) => format,
        Err(e) => {
            problems.push(problem(
                format!("read error: {}", describe_io(&e)),
                Severity::Error,
            ));
            None
        }
    };
    if format.is_none() && problems.is_empty() {
        problems.push(Problem::of(
            input.label(),
            ProblemKind::Binary,
            Severity::Skipped,
        ));
    }
    if let Err(e) = opened.finish() {
        let reason = format!("cannot read to the end: {}", describe_io(&e));
        problems.push(problem(reason, Severity::Error));
    }
    (format, problems)
}

fn read_records(
    reader: &mut dyn Read,
    options: &ScanOptions,
    on_record: &mut dyn FnMut(u64, &Record),
) -> io::Result<Option<LogFormat>> {
    let head = read_head(reader)?;
    let Some(format) = choose_format(&head, options) else {
        return Ok(None);
    };
    let ctx = options.parse_context();
    let mut parser = Parser::for_format(format);
    let mut lines = BufReader::new(head.as_slice().chain(reader));
    let mut buf = Vec::new();
    let mut number = 0;
    loop {
        buf.clear();
        if lines.read_until(b'\n', &mut buf)? == 0 {
            return Ok(Some(format));
        }
        number += 1;
        let raw = buf.strip_suffix(b"\n").unwrap_or(&buf);
        if let Some(record) = super::lines::parse_line(&mut parser, &ctx, raw) {
            on_record(number, &record);
        }
    }
}
