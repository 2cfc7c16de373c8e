//! `wormtrace parse`: every record in the Sigma taxonomy, no detection.

use std::io::Write;

use super::args::ParseArgs;
use super::records::RecordLine;
use super::{check_outputs, output_writer, ExitStatus, RunError};
use crate::scan::{each_record, ScanOptions};
use crate::sink::escape::terminal;
use crate::source::{expand, WalkOptions};

pub(super) fn run_parse(args: ParseArgs) -> Result<ExitStatus, RunError> {
    if let Some(output) = &args.output {
        let inputs: Vec<&std::path::Path> = args.paths.iter().map(|p| p.as_path()).collect();
        check_outputs(&[output.as_path()], &inputs)?;
    }
    let mut problems = Vec::new();
    let walk = WalkOptions {
        follow: args.follow,
        ..WalkOptions::default()
    };
    let inputs = expand(&args.paths, walk, &mut problems);
    let options = ScanOptions {
        format_hint: args.reading.format_hint,
        local_offset: args.reading.local_offset,
        field_map: super::field_map_for(&args.reading)?,
        client: std::sync::Arc::new(args.reading.client_policy()),
        ..ScanOptions::default()
    };
    let mut out = output_writer(args.output.as_deref())?;
    let mut write_error = None;
    for input in &inputs {
        let label = input.label();
        let input_problems = each_record(input, &options, &mut |item| {
            if write_error.is_none() {
                write_error = RecordLine::new(&label, &item).write_to(&mut out).err();
            }
        });
        problems.extend(input_problems);
    }
    if let Some(e) = write_error {
        return Err(e.into());
    }
    out.flush()?;
    if !args.quiet {
        for p in &problems {
            eprintln!("wormtrace: {}: {}", terminal(&p.path), terminal(&p.reason));
        }
    }
    Ok(if !problems.is_empty() {
        ExitStatus::Incomplete
    } else {
        ExitStatus::Clean
    })
}
