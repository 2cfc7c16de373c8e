//! The summary's network section: hosts found scanning port 80 in captures and connection
//! tables, with the locality fit, and what to do.

use std::io::{self, Write};

use super::SummarySink;
use crate::net::spread::{spread_evidence, SpreadVerdict};

/// Advice steps shown when a host is spreading.
const SPREADING_STEPS: usize = 3;

impl<W: Write> SummarySink<W> {
    pub(super) fn network_section(&mut self, verdicts: &[SpreadVerdict]) -> io::Result<()> {
        let spreading = verdicts.iter().filter(|v| v.verdict == "spreading").count();
        let (key, color, n) = if spreading > 0 {
            ("headline-net-spreading", "1;31", spreading)
        } else {
            ("headline-net-quiet", "1;32", verdicts.len())
        };
        let text = self.messages.get(key, &[("count", n.into())]);
        let painted = self.paint(color, &text);
        writeln!(self.out, "{painted}")?;
        self.heading("section-net")?;
        let rows: Vec<Vec<String>> = verdicts
            .iter()
            .map(|v| {
                vec![
                    v.host.clone().unwrap_or_else(|| "-".to_string()),
                    v.subject.clone(),
                    self.messages.text(&format!("net-verdict-{}", v.verdict)),
                    v.likely_family.unwrap_or("-").to_string(),
                    spread_evidence(v),
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
        for i in 1..=SPREADING_STEPS {
            let text = self.messages.text(&format!("todo-net-spreading-{i}"));
            writeln!(self.out, "  {i}. {text}")?;
        }
        Ok(())
    }
}
