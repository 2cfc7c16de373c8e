//! The summary's network section: hosts found scanning port 80 in captures and connection
//! tables, with the locality fit, and what to do.

use std::io::{self, Write};

use super::SummarySink;
use fluent_bundle::FluentValue;

use crate::net::spread::SpreadVerdict;

/// Advice steps shown when a host is spreading.
const SPREADING_STEPS: usize = 3;

impl<W: Write> SummarySink<W> {
    /// The verdict's figures in one line, in the summary's language.
    fn figures(&self, v: &SpreadVerdict) -> String {
        let text = |s: String| FluentValue::from(s);
        let mut parts = vec![self.messages.get(
            "net-figures-targets",
            &[("targets", v.distinct_targets.into())],
        )];
        if let Some(w) = &v.window {
            parts[0].push_str(&self.messages.get(
                "net-figures-window",
                &[
                    ("count", w.distinct_targets.into()),
                    ("seconds", text(w.seconds.to_string())),
                ],
            ));
        }
        let total = v.locality.total();
        if total > 0 {
            let pct = |n: u64| text((n * 100 / total).to_string());
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
            let p = f.best_p_value();
            parts.push(self.messages.get(
                "net-figures-fit",
                &[
                    ("model", text(f.best.to_string())),
                    ("p", text(p.to_string())),
                ],
            ));
        }
        parts.join(&self.messages.text("list-separator"))
    }

    pub(super) fn network_section(&mut self, verdicts: &[SpreadVerdict]) -> io::Result<()> {
        let spreading = verdicts.iter().filter(|v| v.verdict == "spreading").count();
        let (key, color, n) = if spreading > 0 {
            ("headline-net-spreading", "1;31", spreading)
        } else {
            ("headline-net-quiet", "1;32", verdicts.len())
        };
        let text = self.messages.get(key, &[("count", n.into())]);
        self.painted_paragraph(color, &text)?;
        self.heading("section-net")?;
        let rows: Vec<Vec<String>> = verdicts
            .iter()
            .map(|v| {
                vec![
                    v.host.clone().unwrap_or_else(|| "-".to_string()),
                    v.subject.clone(),
                    self.messages.text(&format!("net-verdict-{}", v.verdict)),
                    v.likely_family.unwrap_or("-").to_string(),
                    self.figures(v),
                ]
            })
            .collect();
        self.table(
            &[
                "col-host",
                "col-address",
                "col-verdict",
                "col-family",
                "col-figures",
            ],
            rows,
        )?;
        if spreading == 0 {
            return Ok(());
        }
        self.heading("section-todo")?;
        let texts: Vec<String> = (1..=SPREADING_STEPS)
            .map(|i| self.messages.text(&format!("todo-net-spreading-{i}")))
            .collect();
        self.steps(&texts)
    }
}
