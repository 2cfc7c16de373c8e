//! The terminal summary, built around decisions: one line that says what the case comes to,
//! one table of our hosts with their verdict and first step, one "what to do" list grouped
//! by verdict, then the details per host, the attackers, the attacked servers, attempts per
//! day, the inputs and what could not be read. Times are shown in one zone (`--tz`).

mod hosts;
mod logs;

pub(crate) use hosts::{headline, steps};

use std::collections::BTreeMap;
use std::io::{self, Write};

use chrono::FixedOffset;
use fluent_bundle::FluentValue;

use super::escape::terminal;
use super::{RunTotals, Sink};
use crate::i18n::{Lang, Messages};
use crate::model::{Evidence, Finding, Timestamp, Verdict};
use crate::model::{Problem, Severity};

/// Rows shown per table before "and N more".
const MAX_ROWS: usize = 20;

/// How the summary looks.
#[derive(Debug, Clone, Copy)]
pub struct SummaryOptions {
    pub lang: Lang,
    /// ANSI colours (only on a terminal, never with NO_COLOR).
    pub color: bool,
    /// Columns to wrap prose to (the terminal's width); `None` leaves lines whole.
    pub width: Option<usize>,
    /// The zone every time is shown in.
    pub tz: FixedOffset,
}

/// Writes a human summary at the end of the run.
pub struct SummarySink<W: Write> {
    out: W,
    options: SummaryOptions,
    messages: Messages,
    /// Attempts per day (in the summary's zone) per family.
    per_day: BTreeMap<String, BTreeMap<String, u64>>,
    /// Host traces, by id, for the details (a host has a handful).
    traces: BTreeMap<u64, Finding>,
    verdicts: Vec<Verdict>,
    problems: Vec<Problem>,
    /// Correlation findings (the first [`MAX_ROWS`]) and how many there were.
    correlations: Vec<Finding>,
    correlations_total: u64,
    /// The run was asked not to hash its inputs.
    unhashed: bool,
    /// `--repeats`, as the inputs' records give it (0 until one has repeats).
    repeats_limit: u64,
}

impl<W: Write> SummarySink<W> {
    /// Writes to `out`.
    pub fn new(out: W, options: SummaryOptions) -> Self {
        SummarySink {
            out,
            options,
            messages: Messages::new(options.lang),
            per_day: BTreeMap::new(),
            traces: BTreeMap::new(),
            verdicts: Vec::new(),
            problems: Vec::new(),
            correlations: Vec::new(),
            correlations_total: 0,
            unhashed: false,
            repeats_limit: 0,
        }
    }

    fn paint(&self, code: &str, text: &str) -> String {
        if self.options.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    /// A time in the summary's zone.
    fn time(&self, t: Option<Timestamp>) -> String {
        t.map_or_else(|| "-".to_string(), |t| t.in_zone(self.options.tz))
    }

    /// The zone's name for headers: `UTC` or `+09:00`.
    /// The day of `time` in the summary's zone (`-`: no time).
    fn day(&self, time: Option<Timestamp>) -> String {
        time.map(|t| t.in_zone(self.options.tz).chars().take(10).collect())
            .unwrap_or_else(|| "-".to_string())
    }

    fn zone(&self) -> String {
        if self.options.tz.local_minus_utc() == 0 {
            "UTC".to_string()
        } else {
            self.options.tz.to_string()
        }
    }

    /// Writes prose wrapped to the terminal's width (display width, so Japanese lines break
    /// between characters), `first` before the first line and `rest` before the others.
    fn paragraph(&mut self, text: &str, first: &str, rest: &str) -> io::Result<()> {
        let text = &*terminal(text);
        let Some(width) = self.options.width else {
            return writeln!(self.out, "{first}{text}");
        };
        let options = textwrap::Options::new(width.max(20))
            .initial_indent(first)
            .subsequent_indent(rest);
        for line in textwrap::wrap(text, options) {
            writeln!(self.out, "{line}")?;
        }
        Ok(())
    }

    /// A headline: wrapped, then each line painted (escapes must not count as width).
    fn painted_paragraph(&mut self, color: &str, text: &str) -> io::Result<()> {
        let text = &*terminal(text);
        let lines: Vec<String> = match self.options.width {
            Some(width) => textwrap::wrap(text, width.max(20))
                .into_iter()
                .map(|l| l.into_owned())
                .collect(),
            None => vec![text.to_string()],
        };
        for line in lines {
            let painted = self.paint(color, &line);
            writeln!(self.out, "{painted}")?;
        }
        Ok(())
    }

    /// A numbered list, wrapped, continuation lines under the text.
    fn steps(&mut self, texts: &[String], indent: &str) -> io::Result<()> {
        for (n, text) in texts.iter().enumerate() {
            let first = format!("{indent}{}. ", n + 1);
            let rest = " ".repeat(first.len());
            self.paragraph(text, &first, &rest)?;
        }
        Ok(())
    }

    fn heading(&mut self, key: &str) -> io::Result<()> {
        let title = self.paint("1", &self.messages.text(key));
        writeln!(self.out, "\n{title}")
    }

    /// A table whose headers are catalog keys (given the zone as `$zone`).
    fn table(&mut self, headers: &[&str], rows: Vec<Vec<String>>) -> io::Result<()> {
        let zone = self.zone();
        let header_texts: Vec<String> = headers
            .iter()
            .map(|h| terminal(&self.messages.get(h, &[("zone", zone.clone().into())])).into_owned())
            .collect();
        let total = rows.len();
        // Cells hold evidence (names, paths, addresses): shown with visible escapes.
        let shown: Vec<Vec<String>> = rows
            .into_iter()
            .take(MAX_ROWS)
            .map(|row| row.iter().map(|c| terminal(c).into_owned()).collect())
            .collect();
        let mut widths: Vec<usize> = header_texts.iter().map(|h| display_width(h)).collect();
        for row in &shown {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(display_width(cell));
            }
        }
        let render = |cells: &[String]| -> String {
            let padded: Vec<String> = cells
                .iter()
                .zip(&widths)
                .map(|(c, w)| format!("{c}{}", " ".repeat(w.saturating_sub(display_width(c)))))
                .collect();
            format!("  {}", padded.join("  ").trim_end())
        };
        let header_line = self.paint("4", &render(&header_texts));
        writeln!(self.out, "{header_line}")?;
        for row in &shown {
            writeln!(self.out, "{}", render(row))?;
        }
        if total > MAX_ROWS {
            let more = self.messages.get(
                "more-rows",
                &[("count", FluentValue::from(total - MAX_ROWS))],
            );
            writeln!(self.out, "  {more}")?;
        }
        Ok(())
    }

    fn footer(&mut self, totals: &RunTotals) -> io::Result<()> {
        let line = self.messages.get(
            "inputs-line",
            &[
                ("inputs", totals.inputs.into()),
                ("bytes", totals.bytes.into()),
                ("lines", totals.lines.into()),
                ("findings", totals.findings.into()),
            ],
        );
        writeln!(self.out)?;
        self.paragraph(&line, "", "")?;
        if totals.findings_omitted > 0 {
            let args = [
                ("omitted", totals.findings_omitted.into()),
                ("limit", self.repeats_limit.into()),
            ];
            let line = self.messages.get("repeats-line", &args);
            self.paragraph(&line, "", "")?;
        }
        if self.unhashed {
            let line = self.messages.get("inputs-not-hashed", &[]);
            self.paragraph(&line, "", "")?;
        }
        if let Some(outside) = totals.lines_outside_window {
            let untimed = totals.lines_without_time.unwrap_or(0);
            let line = self.messages.get(
                "window-line",
                &[("outside", outside.into()), ("untimed", untimed.into())],
            );
            self.paragraph(&line, "", "")?;
        }
        if totals.hosts > 0 {
            let line = self.messages.get(
                "hosts-line",
                &[
                    ("hosts", totals.hosts.into()),
                    ("findings", totals.host_findings.into()),
                ],
            );
            self.paragraph(&line, "", "")?;
        }
        if totals.problems > 0 {
            let text = self
                .messages
                .get("problems-line", &[("count", totals.problems.into())]);
            self.painted_paragraph("33", &text)?;
        }
        Ok(())
    }

    /// Every input that was skipped or could not be read in full, in the summary's words,
    /// so a partial run never reads as a clean one (even with `--quiet`).
    fn not_read_section(&mut self) -> io::Result<()> {
        if self.problems.is_empty() {
            return Ok(());
        }
        self.heading("section-not-read")?;
        let rows: Vec<Vec<String>> = self
            .problems
            .iter()
            .map(|p| {
                let severity = match p.severity {
                    Severity::Error => "severity-error",
                    Severity::Skipped => "severity-skipped",
                };
                let reason = self.messages.problem(p);
                vec![p.path.clone(), self.messages.text(severity), reason]
            })
            .collect();
        self.table(&["col-input", "col-severity", "col-reason"], rows)
    }
}

impl<W: Write> Sink for SummarySink<W> {
    fn begin(&mut self, run: &super::RunInfo) -> io::Result<()> {
        self.unhashed = run.input_hash == crate::source::HashChoice::None;
        Ok(())
    }

    fn input(&mut self, input: &crate::model::InputRecord) -> io::Result<()> {
        for repeat in input.stream.iter().flat_map(|s| &s.repeats) {
            self.repeats_limit = self.repeats_limit.max(repeat.written);
            // Counted, not written: their day when they share one, else the days they span.
            let (first, last) = (self.day(repeat.first_time), self.day(repeat.last_time));
            let day = if first == last {
                first
            } else {
                format!("{first}..{last}")
            };
            let families = self.per_day.entry(day).or_default();
            *families.entry(repeat.family.clone()).or_default() += repeat.omitted;
        }
        Ok(())
    }

    fn finding(&mut self, f: &Finding) -> io::Result<()> {
        match &f.evidence {
            Evidence::Request(_) => {
                let day = self.day(f.time);
                *self
                    .per_day
                    .entry(day)
                    .or_default()
                    .entry(f.family.clone())
                    .or_default() += 1;
            }
            Evidence::Trace(_) => {
                self.traces.insert(f.id, f.clone());
            }
            Evidence::Correlation(_) => {
                self.correlations_total += 1;
                if self.correlations.len() < MAX_ROWS {
                    self.correlations.push(f.clone());
                }
            }
            Evidence::Scan(_) => {}
        }
        Ok(())
    }

    fn verdict(&mut self, verdict: &Verdict) -> io::Result<()> {
        self.verdicts.push(verdict.clone());
        Ok(())
    }

    fn problem(&mut self, problem: &Problem) -> io::Result<()> {
        self.problems.push(problem.clone());
        Ok(())
    }

    fn finish(&mut self, totals: &RunTotals) -> io::Result<()> {
        let verdicts = std::mem::take(&mut self.verdicts);
        self.headline(&verdicts, totals)?;
        self.decisions(&verdicts)?;
        self.advice(&verdicts)?;
        self.host_details(&verdicts)?;
        self.attackers(&verdicts)?;
        self.servers(&verdicts)?;
        self.timeline()?;
        self.correlation_section()?;
        self.footer(totals)?;
        self.not_read_section()?;
        self.out.flush()
    }
}

/// Terminal columns a string takes: East Asian wide characters take two.
fn display_width(text: &str) -> usize {
    unicode_width::UnicodeWidthStr::width(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wide_characters_take_two_columns() {
        assert_eq!(display_width("abc"), 3);
        assert_eq!(display_width("ホスト"), 6);
        assert_eq!(display_width("同一 /16"), 8);
    }
}
