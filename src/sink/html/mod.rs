//! The HTML report (`--report report.html`, `report CASE --format html`): one self-contained
//! page for the people who act on the result. Its first screen gives the decision: one line
//! for the whole case, then one card per host of ours, most urgent first, with the steps for
//! its state. Charts (inline SVG, each with its table) and sortable tables follow.
//!
//! Every string from the evidence goes through maud's escaping into text or attribute
//! context; none is ever put into a script, a style or a URL. The page loads nothing: a
//! Content-Security-Policy allows only its own inline style and script, by hash.

mod charts;
mod tables;

use std::collections::BTreeMap;
use std::io::{self, Write};

use base64::Engine;
use chrono::FixedOffset;
use maud::{html, Markup, PreEscaped, DOCTYPE};
use sha2::{Digest, Sha256};

use super::summary::{headline, steps};
use super::{RunInfo, RunTotals, Sink};
use crate::i18n::{Lang, Messages};
use crate::model::{Evidence, Finding, InputRecord, Problem, State, Verdict};

const STYLE: &str = include_str!("style.css");
const SCRIPT: &str = include_str!("script.js");

/// Finding rows the page holds; the case file holds the rest.
pub const MAX_FINDING_ROWS: usize = 2_000;

/// How the report reads.
#[derive(Debug, Clone, Copy)]
pub struct HtmlOptions {
    pub lang: Lang,
    /// The zone times and hours are shown in.
    pub tz: FixedOffset,
}

/// Gathers the run's events and writes the page at the end.
pub struct HtmlSink<W: Write> {
    out: W,
    options: HtmlOptions,
    messages: Messages,
    run: RunInfo,
    inputs: Vec<InputRecord>,
    findings: Vec<Finding>,
    findings_total: u64,
    /// Request findings per hour (in the report's zone) per family.
    hours: BTreeMap<i64, BTreeMap<String, u64>>,
    traces: Vec<Finding>,
    verdicts: Vec<Verdict>,
    problems: Vec<Problem>,
}

impl<W: Write> HtmlSink<W> {
    /// Writes the page to `out` when the run ends.
    pub fn new(out: W, options: HtmlOptions) -> Self {
        HtmlSink {
            out,
            options,
            messages: Messages::new(options.lang),
            run: RunInfo::default(),
            inputs: Vec::new(),
            findings: Vec::new(),
            findings_total: 0,
            hours: BTreeMap::new(),
            traces: Vec::new(),
            verdicts: Vec::new(),
            problems: Vec::new(),
        }
    }

    /// A catalog text (headers that name the zone get it as `$zone`).
    fn t(&self, key: &str) -> String {
        self.messages.get(key, &[("zone", self.zone().into())])
    }

    fn state_word(&self, state: State) -> String {
        self.t(&format!("state-{}", state.name()))
    }

    fn page(&self, totals: &RunTotals) -> Markup {
        let lang = match self.options.lang {
            Lang::Ja => "ja",
            Lang::En => "en",
        };
        let policy = format!(
            "default-src 'none'; style-src '{}'; script-src '{}'; img-src 'none'; base-uri 'none'; form-action 'none'",
            csp_hash(STYLE),
            csp_hash(SCRIPT)
        );
        html! {
            (DOCTYPE)
            html lang=(lang) {
                head {
                    meta charset="utf-8";
                    meta http-equiv="Content-Security-Policy" content=(policy);
                    meta name="viewport" content="width=device-width, initial-scale=1";
                    title { (self.t("report-title")) }
                    style { (PreEscaped(STYLE)) }
                }
                body {
                    (self.header())
                    main {
                        (self.conclusion(totals))
                        (self.cards())
                        (self.charts())
                        (self.tables())
                    }
                    script { (PreEscaped(SCRIPT)) }
                }
            }
        }
    }

    fn header(&self) -> Markup {
        let started = self
            .run
            .started
            .map(|t| t.in_zone(self.options.tz))
            .unwrap_or_default();
        html! {
            header {
                h1 { (self.t("report-title")) }
                div.meta {
                    "wormtrace " (self.run.version) " · "
                    (self.t("report-rules")) " " code { (self.run.rule_pack_sha256) } " · "
                    (self.t("report-started")) " " (started)
                }
            }
        }
    }

    fn conclusion(&self, totals: &RunTotals) -> Markup {
        let (key, state, args) = headline(&self.verdicts, totals);
        let class = match state {
            State::Compromised | State::Spreading => "bad",
            State::Clean | State::Patched => "good",
            _ => "warn",
        };
        html! {
            p.conclusion.(class) #conclusion { (self.messages.get(key, &args)) }
            @if totals.findings > 0 { p.note { (self.t("note-attempt")) } }
            @if totals.findings_omitted > 0 { p.note #repeats { (self.repeats_note(totals)) } }
        }
    }

    /// What `--repeats` left unwritten, and how to write it all.
    fn repeats_note(&self, totals: &RunTotals) -> String {
        let repeats = self
            .inputs
            .iter()
            .flat_map(|i| i.stream.iter())
            .flat_map(|s| &s.repeats);
        let limit = repeats.map(|r| r.written).max().unwrap_or(0);
        let args = [
            ("omitted", totals.findings_omitted.into()),
            ("limit", limit.into()),
        ];
        self.messages.get("repeats-line", &args)
    }

    /// One card per host of ours, in the verdicts' order (most urgent first).
    fn cards(&self) -> Markup {
        let hosts: Vec<&Verdict> = self.verdicts.iter().filter(|v| v.is_host()).collect();
        html! {
            section #hosts {
                h2 { (self.t("section-decisions")) }
                div.cards {
                    @for v in &hosts {
                        (self.card(v))
                    }
                }
            }
        }
    }

    fn card(&self, v: &Verdict) -> Markup {
        let h = v.host.as_deref();
        let addresses: Vec<String> = h.map_or_else(Vec::new, |h| {
            h.addresses.iter().map(|a| a.to_string()).collect()
        });
        let names: Vec<&String> = h.map_or_else(Vec::new, |h| {
            h.names
                .iter()
                .filter(|n| !n.eq_ignore_ascii_case(&v.subject))
                .collect()
        });
        let kinds: Vec<String> = v
            .evidence_kind
            .iter()
            .map(|k| self.t(&format!("kind-{}", k.name())))
            .collect();
        html! {
            article.card.(v.state.name()) data-state=(v.state.name()) {
                h3 { (v.subject) }
                div.state { (self.state_word(v.state)) }
                @if !names.is_empty() {
                    div.addresses { @for (i, n) in names.iter().enumerate() { @if i > 0 { ", " } (n) } }
                }
                div.addresses { (self.t("col-addresses")) ": " @if addresses.is_empty() { "-" } @else { (addresses.join(", ")) } }
                div.kinds { (self.t("col-evidence")) ": " (kinds.join(&self.t("list-comma"))) }
                @let steps = steps(v.state);
                @if !steps.is_empty() {
                    ol { @for key in steps { li { (self.t(key)) } } }
                }
            }
        }
    }
}

/// `sha256-...` of an inline style or script, for the Content-Security-Policy.
fn csp_hash(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    format!(
        "sha256-{}",
        base64::engine::general_purpose::STANDARD.encode(digest)
    )
}

impl<W: Write> Sink for HtmlSink<W> {
    fn begin(&mut self, run: &RunInfo) -> io::Result<()> {
        self.run = run.clone();
        Ok(())
    }

    fn input(&mut self, input: &InputRecord) -> io::Result<()> {
        self.inputs.push(input.clone());
        Ok(())
    }

    fn finding(&mut self, f: &Finding) -> io::Result<()> {
        self.findings_total += 1;
        match &f.evidence {
            Evidence::Trace(_) => self.traces.push(f.clone()),
            Evidence::Request(_) => {
                if let Some(t) = f.time {
                    // Hours of the report's zone: shifted seconds, so labels read as local time.
                    let local = t.0.timestamp() + i64::from(self.options.tz.local_minus_utc());
                    let hour = local.div_euclid(3600);
                    *self
                        .hours
                        .entry(hour)
                        .or_default()
                        .entry(f.family.clone())
                        .or_default() += 1;
                }
            }
            Evidence::Scan(_) | Evidence::Correlation(_) => {}
        }
        if self.findings.len() < MAX_FINDING_ROWS {
            self.findings.push(f.clone());
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
        let page = self.page(totals).into_string();
        self.out.write_all(page.as_bytes())?;
        self.out.write_all(b"\n")?;
        self.out.flush()
    }
}
