//! The summary's decisions: the headline, the table of our hosts, what to do per verdict,
//! and the details per host.

use std::io::{self, Write};

use fluent_bundle::FluentValue;

use super::SummarySink;
use crate::model::{
    DiskDetail, EvidenceKind, HostDetail, Role, ScanDetail, ServedDetail, SourceDetail, State,
    Verdict,
};
use crate::sink::RunTotals;

/// The steps for each state, in order: catalog keys.
pub fn steps(state: State) -> &'static [&'static str] {
    match state {
        State::Compromised => &[
            "todo-host-compromised-1",
            "todo-host-compromised-2",
            "todo-host-compromised-3",
            "todo-host-compromised-4",
            "todo-host-compromised-5",
        ],
        State::Spreading => &[
            "todo-spreading-1",
            "todo-net-spreading-2",
            "todo-spreading-2",
            "todo-spreading-4",
            "todo-spreading-5",
        ],
        State::Exposed => &[
            "todo-exposed-1",
            "todo-host-exposed-1",
            "todo-host-exposed-2",
            "todo-exposed-3",
        ],
        State::Mitigated => &["todo-host-mitigated-1", "todo-host-mitigated-2"],
        State::Attacked => &["todo-attacked-1", "todo-attacked-2"],
        State::Unknown => &["todo-host-unknown-1"],
        State::Patched | State::NotIis | State::Clean | State::NotSpreading => &[],
    }
}

fn color(state: State) -> &'static str {
    match state {
        State::Compromised | State::Spreading => "1;31",
        State::Exposed | State::Attacked | State::Unknown | State::Mitigated => "1;33",
        _ => "1;32",
    }
}

impl<W: Write> SummarySink<W> {
    /// One line that says what the whole case comes to.
    pub(super) fn headline(&mut self, verdicts: &[Verdict], totals: &RunTotals) -> io::Result<()> {
        let (key, state, args) = headline(verdicts, totals);
        let text = self.messages.get(key, &args);
        self.painted_paragraph(color(state), &text)?;
        if totals.findings > 0 {
            let note = self.messages.text("note-attempt");
            self.paragraph(&note, "", "")?;
        }
        Ok(())
    }

    fn state_word(&self, state: State) -> String {
        self.messages.text(&format!("state-{}", state.name()))
    }

    fn kinds(&self, v: &Verdict) -> String {
        v.evidence_kind
            .iter()
            .map(|k| self.messages.text(&format!("kind-{}", k.name())))
            .collect::<Vec<_>>()
            .join(&self.messages.text("list-comma"))
    }

    /// One row per host of ours: name, addresses, verdict, evidence kinds, first step.
    pub(super) fn decisions(&mut self, verdicts: &[Verdict]) -> io::Result<()> {
        let rows: Vec<Vec<String>> = verdicts
            .iter()
            .filter(|v| v.is_host())
            .map(|v| {
                let addresses = v.host.as_ref().map_or_else(String::new, |h| {
                    h.addresses
                        .iter()
                        .map(|a| a.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                });
                let first_step = self
                    .messages
                    .text(&format!("first-step-{}", v.state.name()));
                vec![
                    v.subject.clone(),
                    if addresses.is_empty() {
                        "-".into()
                    } else {
                        addresses
                    },
                    self.state_word(v.state),
                    self.kinds(v),
                    first_step,
                ]
            })
            .collect();
        if rows.is_empty() {
            return Ok(());
        }
        self.heading("section-decisions")?;
        self.table(
            &[
                "col-host",
                "col-addresses",
                "col-verdict",
                "col-evidence",
                "col-first-step",
            ],
            rows,
        )
    }

    /// One "what to do" list, grouped by verdict state, each step once.
    pub(super) fn advice(&mut self, verdicts: &[Verdict]) -> io::Result<()> {
        let mut groups: Vec<(State, Vec<String>)> = Vec::new();
        for v in verdicts
            .iter()
            .filter(|v| v.is_host() && !steps(v.state).is_empty())
        {
            match groups.iter_mut().find(|(s, _)| *s == v.state) {
                Some((_, names)) => names.push(v.subject.clone()),
                None => groups.push((v.state, vec![v.subject.clone()])),
            }
        }
        groups.sort_by_key(|(s, _)| *s);
        if groups.is_empty() {
            return Ok(());
        }
        self.heading("section-todo")?;
        let mut shown: Vec<&str> = Vec::new();
        for (state, names) in groups {
            let keys: Vec<&str> = steps(state)
                .iter()
                .copied()
                .filter(|k| !shown.contains(k))
                .collect();
            if keys.is_empty() {
                continue;
            }
            shown.extend(&keys);
            let title = self.messages.get(
                "todo-group",
                &[
                    ("state", self.state_word(state).into()),
                    ("hosts", names.join(", ").into()),
                ],
            );
            let painted = self.paint(color(state), &super::terminal(&title));
            writeln!(self.out, "  {painted}")?;
            let texts: Vec<String> = keys.iter().map(|k| self.messages.text(k)).collect();
            self.steps(&texts, "    ")?;
        }
        Ok(())
    }

    /// What each kind of evidence said of each host.
    pub(super) fn host_details(&mut self, verdicts: &[Verdict]) -> io::Result<()> {
        let hosts: Vec<&Verdict> = verdicts.iter().filter(|v| v.is_host()).collect();
        if hosts.is_empty() {
            return Ok(());
        }
        self.heading("section-details")?;
        for v in hosts {
            let Some(h) = &v.host else { continue };
            let names = super::terminal(&names_line(v, h)).into_owned();
            let title = format!("{} — {}", self.paint("1", &names), self.state_word(v.state));
            writeln!(self.out, "\n  {title}")?;
            if let Some(served) = &h.served {
                self.served_lines(served)?;
            }
            if let Some(sent) = &h.sent {
                self.sent_line(v, sent)?;
            }
            if let Some(disk) = &h.disk {
                self.disk_lines(v, disk)?;
            }
            for scan in &h.scans {
                self.scan_line(scan)?;
            }
            if v.evidence_count == 0 && h.served.is_none() && h.disk.is_none() && h.scans.is_empty()
            {
                let text = self.messages.text("detail-nothing-checked");
                self.paragraph(&text, "    ", "      ")?;
            }
        }
        Ok(())
    }

    fn served_lines(&mut self, s: &ServedDetail) -> io::Result<()> {
        let st = &s.statuses;
        let text = self.messages.get(
            "detail-served",
            &[
                ("attempts", st.total().into()),
                ("sources", s.peers.into()),
                ("notfound", st.not_found.into()),
                ("success", st.success.into()),
                ("other", st.other.into()),
                ("none", st.none.into()),
            ],
        );
        self.labelled("kind-log", &text)?;
        for (key, n) in [
            ("detail-backdoor", s.backdoor_answered),
            ("detail-traversal", s.traversal_answered),
            ("detail-code-red-unknown", s.exposure.unknown),
        ] {
            if n > 0 {
                let text = self.messages.get(key, &[("count", n.into())]);
                self.paragraph(&text, "      ", "      ")?;
            }
        }
        Ok(())
    }

    fn sent_line(&mut self, v: &Verdict, sent: &SourceDetail) -> io::Result<()> {
        let pct = |x: Option<f64>| x.map_or("-".to_string(), |x| format!("{:.0}%", x * 100.0));
        let text = self.messages.get(
            "detail-sent",
            &[
                ("targets", sent.peers.into()),
                ("same16", pct(sent.share_same_16).into()),
                ("same8", pct(sent.share_same_8).into()),
                ("first", self.time(v.first_seen).into()),
                ("last", self.time(v.last_seen).into()),
            ],
        );
        self.labelled("kind-log", &text)
    }

    fn disk_lines(&mut self, v: &Verdict, disk: &DiskDetail) -> io::Result<()> {
        let ids = v
            .evidence
            .get(&EvidenceKind::Host)
            .cloned()
            .unwrap_or_default();
        let traces: Vec<_> = ids
            .iter()
            .filter_map(|id| self.traces.get(id).cloned())
            .collect();
        let state = self.state_word(disk.state);
        let text = self.messages.get("detail-disk", &[("state", state.into())]);
        self.labelled("kind-host", &text)?;
        for f in traces {
            if let crate::model::Evidence::Trace(t) = &f.evidence {
                let check = self.messages.text(&format!("check-{}", t.check));
                let why = self.messages.text(&format!("why-{}", t.check));
                let line = format!(
                    "{check} [{}]: {} ({})",
                    f.confidence, t.location, t.observed
                );
                self.paragraph(&line, "      - ", "        ")?;
                self.paragraph(&why, "        ", "        ")?;
            }
        }
        let p = &disk.patch;
        let reason = self
            .messages
            .get(&p.reason_code, &[("detail", p.detail.clone().into())]);
        let label = self.messages.text("col-patch");
        self.paragraph(&format!("{label}: {reason}"), "      ", "        ")?;
        for problem in &disk.unreadable {
            let label = self.messages.text("host-unreadable");
            self.paragraph(&format!("{label}: {problem}"), "      ", "        ")?;
        }
        for path in &disk.not_parsed {
            let text = self
                .messages
                .get("host-metabase-bin", &[("path", path.clone().into())]);
            self.paragraph(&text, "      ", "        ")?;
        }
        Ok(())
    }

    fn scan_line(&mut self, d: &ScanDetail) -> io::Result<()> {
        let verdict = if d.spreading {
            "net-verdict-spreading"
        } else {
            "net-verdict-not-spreading"
        };
        let text = format!(
            "{} {}: {}",
            d.address,
            self.messages.text(verdict),
            self.figures(d)
        );
        self.labelled("kind-network", &text)
    }

    /// `logs: ...` under a host.
    fn labelled(&mut self, kind: &str, text: &str) -> io::Result<()> {
        let label = self.messages.text(kind);
        self.paragraph(&format!("{label}: {text}"), "    ", "      ")
    }

    /// A scan's figures in one line, in the summary's language.
    pub(super) fn figures(&self, v: &ScanDetail) -> String {
        let mut parts = vec![self.messages.get(
            "net-figures-targets",
            &[("targets", v.distinct_targets.into())],
        )];
        if let Some(w) = &v.window {
            parts[0].push_str(&self.messages.get(
                "net-figures-window",
                &[
                    ("count", w.distinct_targets.into()),
                    ("seconds", w.seconds.to_string().into()),
                ],
            ));
        }
        let total = v.locality.total();
        if total > 0 {
            let pct = |n: u64| FluentValue::from((n * 100 / total).to_string());
            parts.push(self.messages.get(
                "net-figures-locality",
                &[
                    ("same16", pct(v.locality.same_16)),
                    ("same8", pct(v.locality.same_8)),
                    ("elsewhere", pct(v.locality.elsewhere)),
                ],
            ));
        }
        if let Some(f) = &v.fit {
            parts.push(self.messages.get(
                "net-figures-fit",
                &[
                    ("model", f.best.name().to_string().into()),
                    ("p", f.best_p_value().to_string().into()),
                ],
            ));
        }
        parts.join(&self.messages.text("list-separator"))
    }
}

/// `web05 (10.1.5.23, web05.example)`: the subject and what else it is known by.
fn names_line(v: &Verdict, h: &HostDetail) -> String {
    let others: Vec<String> = h
        .names
        .iter()
        .filter(|n| !n.eq_ignore_ascii_case(&v.subject))
        .cloned()
        .chain(
            h.addresses
                .iter()
                .map(|a| a.to_string())
                .filter(|a| *a != v.subject),
        )
        .collect();
    if others.is_empty() {
        v.subject.clone()
    } else {
        format!("{} ({})", v.subject, others.join(", "))
    }
}

/// What the whole case comes to: the catalog key of the headline, the state that colours it,
/// and its figures. The summary and the HTML report say the same.
pub fn headline(
    verdicts: &[Verdict],
    totals: &RunTotals,
) -> (
    &'static str,
    State,
    Vec<(&'static str, FluentValue<'static>)>,
) {
    let hosts: Vec<&Verdict> = verdicts.iter().filter(|v| v.is_host()).collect();
    let count = |states: &[State]| hosts.iter().filter(|v| states.contains(&v.state)).count();
    let infected = count(&[State::Compromised, State::Spreading]);
    let exposed = count(&[State::Exposed]);
    let attacks: u64 = verdicts
        .iter()
        .filter(|v| v.role == Role::Source)
        .map(|v| v.evidence_count)
        .sum();
    let sources = verdicts.iter().filter(|v| v.role == Role::Source).count();
    let any_findings = totals.findings + totals.host_findings > 0;
    if infected > 0 {
        (
            "headline-infected",
            State::Compromised,
            vec![("count", infected.into())],
        )
    } else if exposed > 0 {
        (
            "headline-hosts-exposed",
            State::Exposed,
            vec![("count", exposed.into())],
        )
    } else if attacks > 0 {
        (
            "headline-attacked",
            State::Attacked,
            vec![("attempts", attacks.into()), ("sources", sources.into())],
        )
    } else if !any_findings && totals.problems > 0 {
        (
            "headline-incomplete",
            State::Unknown,
            vec![("unread", totals.problems.into())],
        )
    } else if count(&[State::Unknown]) > 0 {
        let n = count(&[State::Unknown]);
        (
            "headline-host-unknown",
            State::Unknown,
            vec![("count", n.into())],
        )
    } else if totals.inputs == 0 && totals.hosts > 0 {
        (
            "headline-host-clean",
            State::Clean,
            vec![("count", totals.hosts.into())],
        )
    } else {
        (
            "headline-clean",
            State::Clean,
            vec![("inputs", totals.inputs.into())],
        )
    }
}
