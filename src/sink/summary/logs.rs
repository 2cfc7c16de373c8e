//! The summary's evidence tables: who attacked, which servers were attacked and what their
//! answers say, and attempts per day.

use std::io::{self, Write};

use super::SummarySink;
use crate::i18n::group_digits;
use crate::model::{Evidence, Role, Verdict};

fn families(v: &Verdict) -> String {
    v.families
        .iter()
        .map(|(f, n)| format!("{f}:{n}"))
        .collect::<Vec<_>>()
        .join(",")
}

impl<W: Write> SummarySink<W> {
    /// Outside sources (and outside scanners), most attempts first.
    pub(super) fn attackers(&mut self, verdicts: &[Verdict]) -> io::Result<()> {
        let rows: Vec<Vec<String>> = verdicts
            .iter()
            .filter(|v| matches!(v.role, Role::Source | Role::Scanner))
            .map(|v| {
                let peers = v
                    .source
                    .as_ref()
                    .map_or_else(|| "-".to_string(), |s| group_digits(s.peers));
                vec![
                    v.subject.clone(),
                    families(v),
                    group_digits(v.evidence_count),
                    peers,
                    self.time(v.first_seen),
                    self.time(v.last_seen),
                ]
            })
            .collect();
        if rows.is_empty() {
            return Ok(());
        }
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
            rows,
        )
    }

    /// Our attacked servers with every answer counted: the columns add up to the attempts.
    pub(super) fn servers(&mut self, verdicts: &[Verdict]) -> io::Result<()> {
        let rows: Vec<Vec<String>> = verdicts
            .iter()
            .filter_map(|v| Some((v, v.host.as_ref()?.served.as_ref()?)))
            .map(|(v, s)| {
                let st = &s.statuses;
                vec![
                    v.subject.clone(),
                    self.messages.text(&format!("state-{}", v.state.name())),
                    group_digits(st.total()),
                    group_digits(st.not_found),
                    group_digits(st.success),
                    group_digits(st.other),
                    group_digits(st.none),
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
                "col-404",
                "col-2xx",
                "col-other-status",
                "col-no-status",
            ],
            rows,
        )
    }

    /// Attempts per day and family, in the summary's zone.
    pub(super) fn timeline(&mut self) -> io::Result<()> {
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

    /// The correlation rules that held: for whom, how much, when.
    pub(super) fn correlation_section(&mut self) -> io::Result<()> {
        if self.correlations.is_empty() {
            return Ok(());
        }
        let zone = self.options.tz;
        let rows: Vec<Vec<String>> = self
            .correlations
            .iter()
            .filter_map(|f| match &f.evidence {
                Evidence::Correlation(c) => Some(vec![
                    f.rule_title.clone(),
                    c.group_text(),
                    format!("{} {}", c.kind, c.metric),
                    c.start.in_zone(zone),
                    c.end.in_zone(zone),
                ]),
                _ => None,
            })
            .collect();
        self.heading("section-correlations")?;
        let headers = [
            "col-rule",
            "col-group",
            "col-measure",
            "col-first",
            "col-last",
        ];
        self.table(&headers, rows)?;
        let more = self.correlations_total - self.correlations.len() as u64;
        if more > 0 {
            let text = self.messages.get("more-rows", &[("count", more.into())]);
            writeln!(self.out, "  {text}")?;
        }
        Ok(())
    }
}
