//! The terminal summary: a headline verdict, tables, and what to do next.

mod network;

use std::collections::BTreeMap;
use std::io::{self, Write};

use fluent_bundle::FluentValue;

use super::{RunTotals, Sink};
use crate::host::HostReport;
use crate::i18n::{group_digits, Lang, Messages};
use crate::net::spread::{SpreadFinding, SpreadVerdict};
use crate::scan::InputReport;
use crate::source::{Problem, Severity};
use crate::verdict::Verdict;

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
}

/// Writes a human summary at the end of the run.
pub struct SummarySink<W: Write> {
    out: W,
    options: SummaryOptions,
    messages: Messages,
    per_day: BTreeMap<String, BTreeMap<String, u64>>,
    hosts: Vec<HostReport>,
    spread: Vec<SpreadVerdict>,
}

impl<W: Write> SummarySink<W> {
    /// Writes to `out`.
    pub fn new(out: W, options: SummaryOptions) -> Self {
        SummarySink {
            out,
            options,
            messages: Messages::new(options.lang),
            per_day: BTreeMap::new(),
            hosts: Vec::new(),
            spread: Vec::new(),
        }
    }

    fn paint(&self, code: &str, text: &str) -> String {
        if self.options.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    /// Writes prose wrapped to the terminal's width (display width, so Japanese lines break
    /// between characters), `first` before the first line and `rest` before the others.
    fn paragraph(&mut self, text: &str, first: &str, rest: &str) -> io::Result<()> {
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

    /// A numbered list of advice, wrapped, continuation lines under the text.
    fn steps(&mut self, texts: &[String]) -> io::Result<()> {
        for (n, text) in texts.iter().enumerate() {
            let first = format!("  {}. ", n + 1);
            let rest = " ".repeat(first.len());
            self.paragraph(text, &first, &rest)?;
        }
        Ok(())
    }

    fn heading(&mut self, key: &str) -> io::Result<()> {
        let title = self.paint("1", &self.messages.text(key));
        writeln!(self.out, "\n{title}")
    }

    fn table(&mut self, headers: &[&str], rows: Vec<Vec<String>>) -> io::Result<()> {
        let total = rows.len();
        let shown: Vec<Vec<String>> = rows.into_iter().take(MAX_ROWS).collect();
        let header_texts: Vec<String> = headers.iter().map(|h| self.messages.text(h)).collect();
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
                .map(|(c, w)| format!("{c}{}", " ".repeat(w - display_width(c))))
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

    fn headline(&mut self, verdicts: &[Verdict], totals: &RunTotals) -> io::Result<()> {
        let count = |role: &str, verdict: &str| {
            verdicts
                .iter()
                .filter(|v| v.role == role && v.verdict == verdict)
                .count()
        };
        let sources = verdicts.iter().filter(|v| v.role == "source").count();
        let (key, color, args): (&str, &str, Vec<(&str, FluentValue)>) =
            if count("source", "spreading") > 0 {
                (
                    "headline-spreading",
                    "1;31",
                    vec![("count", count("source", "spreading").into())],
                )
            } else if count("target", "exposed") > 0 {
                (
                    "headline-exposed",
                    "1;33",
                    vec![("count", count("target", "exposed").into())],
                )
            } else if totals.findings == 0 && !totals.problems.is_empty() {
                (
                    "headline-incomplete",
                    "1;33",
                    vec![("unread", totals.problems.len().into())],
                )
            } else if totals.findings > 0 {
                (
                    "headline-attacked",
                    "1;33",
                    vec![
                        ("attempts", totals.findings.into()),
                        ("sources", sources.into()),
                    ],
                )
            } else {
                (
                    "headline-clean",
                    "1;32",
                    vec![("inputs", totals.inputs.into())],
                )
            };
        let text = self.messages.get(key, &args);
        self.painted_paragraph(color, &text)?;
        if totals.findings > 0 {
            let note = self.messages.text("note-attempt");
            self.paragraph(&note, "", "")?;
        }
        Ok(())
    }

    fn source_tables(&mut self, verdicts: &[Verdict]) -> io::Result<()> {
        let spreading: Vec<Vec<String>> = verdicts
            .iter()
            .filter(|v| v.role == "source" && v.verdict == "spreading")
            .map(|v| {
                vec![
                    v.subject.clone(),
                    families(v),
                    group_digits(v.evidence_count),
                    group_digits(v.peers),
                    share(v.share_same_16),
                    share(v.share_same_8),
                    time(&v.first_seen),
                    time(&v.last_seen),
                ]
            })
            .collect();
        if !spreading.is_empty() {
            self.heading("section-spreading")?;
            self.table(
                &[
                    "col-host",
                    "col-families",
                    "col-attempts",
                    "col-targets",
                    "col-same16",
                    "col-same8",
                    "col-first",
                    "col-last",
                ],
                spreading,
            )?;
        }
        let attackers: Vec<Vec<String>> = verdicts
            .iter()
            .filter(|v| v.role == "source" && v.verdict != "spreading")
            .map(|v| {
                vec![
                    v.subject.clone(),
                    families(v),
                    group_digits(v.evidence_count),
                    group_digits(v.peers),
                    time(&v.first_seen),
                    time(&v.last_seen),
                ]
            })
            .collect();
        if !attackers.is_empty() {
            self.heading("section-attackers")?;
            self.table(
                &[
                    "col-source",
                    "col-families",
                    "col-attempts",
                    "col-targets",
                    "col-first",
                    "col-last",
                ],
                attackers,
            )?;
        }
        Ok(())
    }

    fn target_table(&mut self, verdicts: &[Verdict]) -> io::Result<()> {
        let rows: Vec<Vec<String>> = verdicts
            .iter()
            .filter(|v| v.role == "target")
            .map(|v| {
                let e = v.exposure.clone().unwrap_or_default();
                let verdict = self.messages.text(&format!("verdict-{}", v.verdict));
                vec![
                    v.subject.clone(),
                    verdict,
                    group_digits(v.evidence_count),
                    group_digits(e.no_mapping),
                    group_digits(e.patched),
                    group_digits(e.unknown),
                ]
            })
            .collect();
        if rows.is_empty() {
            return Ok(());
        }
        self.heading("section-targets")?;
        self.table(
            &[
                "col-server",
                "col-verdict",
                "col-attempts",
                "col-nomap",
                "col-patched",
                "col-unknown",
            ],
            rows,
        )
    }

    fn timeline(&mut self) -> io::Result<()> {
        if self.per_day.is_empty() {
            return Ok(());
        }
        let mut families: Vec<String> = self
            .per_day
            .values()
            .flat_map(|m| m.keys().cloned())
            .collect();
        families.sort();
        families.dedup();
        let rows: Vec<Vec<String>> = self
            .per_day
            .iter()
            .map(|(day, counts)| {
                std::iter::once(day.clone())
                    .chain(
                        families
                            .iter()
                            .map(|f| group_digits(counts.get(f).copied().unwrap_or(0))),
                    )
                    .collect()
            })
            .collect();
        self.heading("section-timeline")?;
        let mut headers: Vec<&str> = vec!["col-day"];
        headers.extend(families.iter().map(String::as_str));
        self.table(&headers, rows)
    }

    fn advice(&mut self, verdicts: &[Verdict]) -> io::Result<()> {
        let has = |verdict: &str| verdicts.iter().any(|v| v.verdict == verdict);
        let mut keys: Vec<String> = Vec::new();
        if has("spreading") {
            keys.extend((1..=5).map(|i| format!("todo-spreading-{i}")));
        }
        if has("exposed") || has("spreading") {
            keys.extend((1..=3).map(|i| format!("todo-exposed-{i}")));
        }
        if has("attacked") {
            keys.extend((1..=2).map(|i| format!("todo-attacked-{i}")));
        }
        if keys.is_empty() {
            return Ok(());
        }
        self.heading("section-todo")?;
        let texts: Vec<String> = keys.iter().map(|k| self.messages.text(k)).collect();
        self.steps(&texts)
    }

    /// A headline: wrapped, then each line painted (escapes must not count as width).
    fn painted_paragraph(&mut self, color: &str, text: &str) -> io::Result<()> {
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
        let unread = totals.problems.len();
        if unread > 0 {
            let text = self
                .messages
                .get("problems-line", &[("count", unread.into())]);
            self.painted_paragraph("33", &text)?;
        }
        Ok(())
    }
}

impl<W: Write> Sink for SummarySink<W> {
    fn input(&mut self, report: &InputReport) -> io::Result<()> {
        for f in &report.findings {
            let day = f
                .time
                .as_deref()
                .map(|t| t.chars().take(10).collect())
                .unwrap_or_else(|| "-".to_string());
            *self
                .per_day
                .entry(day)
                .or_default()
                .entry(f.family.clone())
                .or_default() += 1;
        }
        Ok(())
    }

    fn host(&mut self, report: &HostReport) -> io::Result<()> {
        self.hosts.push(report.clone());
        Ok(())
    }

    fn spread(&mut self, _: &[SpreadFinding], verdicts: &[SpreadVerdict]) -> io::Result<()> {
        self.spread = verdicts.to_vec();
        Ok(())
    }

    fn finish(&mut self, verdicts: &[Verdict], totals: &RunTotals) -> io::Result<()> {
        let hosts = std::mem::take(&mut self.hosts);
        let spread = std::mem::take(&mut self.spread);
        let only_network = totals.findings == 0 && !spread.is_empty();
        // The most urgent news first: hosts of ours scanning the network, then the logs and
        // captures (which also name spreading hosts), then the host sweep.
        let scanning = spread.iter().any(|v| v.verdict == "spreading");
        if scanning {
            self.network_section(&spread)?;
            writeln!(self.out)?;
        }
        if (totals.inputs > 0 && !only_network) || (hosts.is_empty() && spread.is_empty()) {
            self.headline(verdicts, totals)?;
            self.source_tables(verdicts)?;
            self.target_table(verdicts)?;
            self.timeline()?;
            self.advice(verdicts)?;
            self.footer(totals)?;
        }
        if !hosts.is_empty() {
            if totals.inputs > 0 {
                writeln!(self.out)?;
            }
            self.host_sections(&hosts)?;
        }
        if !spread.is_empty() && !scanning {
            writeln!(self.out)?;
            self.network_section(&spread)?;
        }
        self.not_read_section(&totals.problems)?;
        self.out.flush()
    }
}

impl<W: Write> SummarySink<W> {
    fn host_sections(&mut self, hosts: &[HostReport]) -> io::Result<()> {
        self.host_headline(hosts)?;
        self.heading("section-hosts")?;
        let rows: Vec<Vec<String>> = hosts
            .iter()
            .map(|h| {
                let v = &h.verdict;
                let patch = self
                    .messages
                    .text(&format!("patch-state-{}", v.patch.state));
                vec![
                    h.host.clone(),
                    self.messages.text(&format!("host-verdict-{}", v.verdict)),
                    patch,
                    group_digits(v.evidence_count),
                ]
            })
            .collect();
        self.table(
            &["col-host", "col-verdict", "col-patch", "col-traces"],
            rows,
        )?;
        for h in hosts {
            self.host_detail(h)?;
        }
        self.host_advice(hosts)
    }

    fn host_headline(&mut self, hosts: &[HostReport]) -> io::Result<()> {
        let count = |verdict: &str| {
            hosts
                .iter()
                .filter(|h| h.verdict.verdict == verdict)
                .count()
        };
        let (key, color, n) = if count("compromised") > 0 {
            ("headline-host-compromised", "1;31", count("compromised"))
        } else if count("exposed") > 0 {
            ("headline-host-exposed", "1;33", count("exposed"))
        } else if count("unknown") > 0 {
            ("headline-host-unknown", "1;33", count("unknown"))
        } else {
            ("headline-host-clean", "1;32", hosts.len())
        };
        let text = self.messages.get(key, &[("count", n.into())]);
        self.painted_paragraph(color, &text)
    }

    fn host_detail(&mut self, h: &HostReport) -> io::Result<()> {
        let title = self.paint("1", &h.host);
        writeln!(self.out, "\n{title}")?;
        for f in &h.findings {
            let check = self.messages.text(&format!("check-{}", f.check));
            let why = self.messages.text(&format!("why-{}", f.check));
            writeln!(self.out, "  - {check} [{}]: {}", f.confidence, f.location)?;
            writeln!(self.out, "    {} / {why}", f.observed)?;
        }
        let p = &h.verdict.patch;
        let reason = self
            .messages
            .get(p.reason_code, &[("detail", p.detail.clone().into())]);
        let patch_label = self.messages.text("col-patch");
        writeln!(self.out, "  {patch_label}: {reason}")?;
        for problem in &h.verdict.unreadable {
            let label = self.messages.text("host-unreadable");
            writeln!(self.out, "  {label}: {problem}")?;
        }
        for path in &h.verdict.not_parsed {
            let text = self
                .messages
                .get("host-metabase-bin", &[("path", path.clone().into())]);
            writeln!(self.out, "  {text}")?;
        }
        Ok(())
    }

    fn host_advice(&mut self, hosts: &[HostReport]) -> io::Result<()> {
        let has = |verdict: &str| hosts.iter().any(|h| h.verdict.verdict == verdict);
        let plan: [(&str, usize); 4] = [
            ("compromised", 5),
            ("exposed", 3),
            ("mitigated", 2),
            ("unknown", 1),
        ];
        let keys: Vec<String> = plan
            .iter()
            .filter(|(v, _)| has(v))
            .flat_map(|(v, n)| (1..=*n).map(move |i| format!("todo-host-{v}-{i}")))
            .collect();
        if keys.is_empty() {
            return Ok(());
        }
        self.heading("section-todo")?;
        let texts: Vec<String> = keys.iter().map(|k| self.messages.text(k)).collect();
        self.steps(&texts)
    }

    /// Every input that was skipped or could not be read in full, in the summary's words,
    /// so a partial run never reads as a clean one (even with `--quiet`).
    fn not_read_section(&mut self, problems: &[Problem]) -> io::Result<()> {
        if problems.is_empty() {
            return Ok(());
        }
        self.heading("section-not-read")?;
        let rows: Vec<Vec<String>> = problems
            .iter()
            .map(|p| {
                let severity = match p.severity {
                    Severity::Error => "severity-error",
                    Severity::Skipped => "severity-skipped",
                };
                let reason = match p.kind.message() {
                    Some((key, Some(target))) => self
                        .messages
                        .get(key, &[("target", target.to_string().into())]),
                    Some((key, None)) => self.messages.text(key),
                    None => p.reason.clone(),
                };
                vec![p.path.clone(), self.messages.text(severity), reason]
            })
            .collect();
        self.table(&["col-input", "col-severity", "col-reason"], rows)
    }
}

fn families(v: &Verdict) -> String {
    v.families
        .iter()
        .map(|(f, n)| format!("{f}:{n}"))
        .collect::<Vec<_>>()
        .join(",")
}

fn share(x: Option<f64>) -> String {
    x.map_or_else(|| "-".to_string(), |x| format!("{:.0}%", x * 100.0))
}

fn time(t: &Option<String>) -> String {
    t.clone().unwrap_or_else(|| "-".to_string())
}

/// Terminal columns a string takes: East Asian wide characters take two.
fn display_width(text: &str) -> usize {
    text.chars()
        .map(|c| {
            let c = c as u32;
            let wide = (0x1100..=0x115f).contains(&c)
                || (0x2e80..=0xa4cf).contains(&c)
                || (0xac00..=0xd7a3).contains(&c)
                || (0xf900..=0xfaff).contains(&c)
                || (0xfe30..=0xfe4f).contains(&c)
                || (0xff00..=0xff60).contains(&c)
                || (0xffe0..=0xffe6).contains(&c);
            if wide {
                2
            } else {
                1
            }
        })
        .sum()
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
