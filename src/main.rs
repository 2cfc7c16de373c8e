//! The `wormtrace` command line: parses the arguments, runs the command, prints what went
//! wrong and exits with the run's status.

use std::process::ExitCode;

use clap::Parser;
use wormtrace::run::{args::Cli, execute};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match execute(cli) {
        Ok(status) => ExitCode::from(status as u8),
        Err(e) if e.is_broken_pipe() => ExitCode::from(0),
        Err(e) => {
            let e = anyhow::Error::from(e);
            let text = format!("{e:#}");
            eprintln!("wormtrace: {}", wormtrace::sink::escape::terminal(&text));
            ExitCode::from(2)
        }
    }
}
