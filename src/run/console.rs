//! The run's standard error: problem messages, the hint when standard input is a terminal,
//! and the progress bar. Everything here is hidden by `--quiet`; the bar is shown only when
//! standard error is a terminal (or `--progress always`).

use std::io::{self, IsTerminal};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use indicatif::{HumanBytes, ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::args::ProgressMode;
use crate::i18n::{group_digits, Lang, Messages};
use crate::sink::escape::terminal;
use crate::source::{Input, Problem, Progress};

/// How often the bar reads the counters.
const TICK: Duration = Duration::from_millis(100);

/// Standard error during a run.
pub(super) struct Console {
    quiet: bool,
    messages: Messages,
    bar: Option<Bar>,
}

impl Console {
    /// A console in `lang`; `quiet` silences it.
    pub(super) fn new(quiet: bool, lang: Lang) -> Console {
        Console {
            quiet,
            messages: Messages::new(lang),
            bar: None,
        }
    }

    /// Says that evidence is awaited on standard input when a person, not a pipe, is there.
    pub(super) fn stdin_hint(&self, inputs: &[Input]) {
        if !self.quiet
            && inputs.iter().any(|i| matches!(i, Input::Stdin(_)))
            && io::stdin().is_terminal()
        {
            eprintln!("wormtrace: {}", self.messages.text("stdin-hint"));
        }
    }

    /// One problem, with its path, above the bar.
    pub(super) fn problem(&self, p: &Problem) {
        if self.quiet {
            return;
        }
        let line = format!(
            "wormtrace: {}: {}",
            terminal(&p.path),
            terminal(&self.messages.problem(p))
        );
        match &self.bar {
            Some(bar) => bar.view.suspend(|| eprintln!("{line}")),
            None => eprintln!("{line}"),
        }
    }

    /// Starts the bar over `inputs` when the mode and the terminal allow; returns the
    /// counters the scan adds to.
    pub(super) fn start_progress(
        &mut self,
        mode: ProgressMode,
        inputs: &[Input],
    ) -> Option<Arc<Progress>> {
        let show = match mode {
            ProgressMode::Never => false,
            ProgressMode::Always => true,
            ProgressMode::Auto => io::stderr().is_terminal(),
        };
        if self.quiet || !show || inputs.is_empty() {
            return None;
        }
        let bar = Bar::start(&self.messages, inputs, mode == ProgressMode::Always);
        let progress = bar.progress.clone();
        self.bar = Some(bar);
        Some(progress)
    }

    /// An input was scanned: the bar's count of inputs and findings moves.
    pub(super) fn input_done(&self, findings: u64) {
        if let Some(bar) = &self.bar {
            bar.inputs_done.fetch_add(1, Ordering::Relaxed);
            bar.findings.fetch_add(findings, Ordering::Relaxed);
        }
    }

    /// Clears the bar before the summary is written.
    pub(super) fn finish_progress(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.stop();
        }
    }
}

/// An indicatif bar fed by a thread that reads the scan's counters.
struct Bar {
    view: ProgressBar,
    progress: Arc<Progress>,
    inputs_done: Arc<AtomicU64>,
    findings: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    ticker: Option<JoinHandle<()>>,
}

impl Bar {
    fn start(messages: &Messages, inputs: &[Input], forced: bool) -> Bar {
        // Sizes are known for files, not for standard input: then the bar only counts.
        let total: Option<u64> = inputs
            .iter()
            .map(|i| match i {
                Input::File(p) => std::fs::metadata(p)
                    .ok()
                    .filter(|m| m.is_file())
                    .map(|m| m.len()),
                Input::Stdin(_) => None,
            })
            .sum();
        let words = (
            messages.text("progress-read"),
            messages.text("progress-decoded"),
            messages.text("progress-findings"),
        );
        let template = match total {
            Some(_) => format!(
                "{{wide_bar}} {{binary_bytes}}/{{binary_total_bytes}} {} ({{binary_bytes_per_sec}}, ETA {{eta}}) {{msg}}",
                words.0
            ),
            None => format!("{{spinner}} {{binary_bytes}} {} ({{binary_bytes_per_sec}}) {{msg}}", words.0),
        };
        let view = ProgressBar::with_draw_target(
            total,
            if forced {
                // `term()` hides itself off a terminal; `always` means always.
                ProgressDrawTarget::term_like_with_hz(Box::new(console::Term::stderr()), 10)
            } else {
                ProgressDrawTarget::stderr()
            },
        );
        view.set_style(
            ProgressStyle::with_template(&template)
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        let progress = Arc::new(Progress::default());
        let inputs_done = Arc::new(AtomicU64::new(0));
        let findings = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let ticker = {
            let (view, progress, done, found, stop) = (
                view.clone(),
                progress.clone(),
                inputs_done.clone(),
                findings.clone(),
                stop.clone(),
            );
            let count = inputs.len() as u64;
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let stored = progress.stored();
                    view.set_position(view.length().map_or(stored, |len| stored.min(len)));
                    view.set_message(format!(
                        "{}/{} · {} {} · {} {}",
                        group_digits(done.load(Ordering::Relaxed)),
                        group_digits(count),
                        words.1,
                        HumanBytes(progress.decoded()),
                        words.2,
                        group_digits(found.load(Ordering::Relaxed)),
                    ));
                    // Parked, not asleep: stop() wakes it at once instead of waiting a tick.
                    std::thread::park_timeout(TICK);
                }
            })
        };
        Bar {
            view,
            progress,
            inputs_done,
            findings,
            stop,
            ticker: Some(ticker),
        }
    }

    fn stop(mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.ticker.take() {
            t.thread().unpark();
            let _ = t.join();
        }
        self.view.finish_and_clear();
    }
}
