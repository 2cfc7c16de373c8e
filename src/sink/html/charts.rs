//! The report's charts, drawn as inline SVG with the numbers beside them as a table: attempts
//! per hour and family, the top attacking sources, where each spreading host's targets lie
//! against Code Red II's and uniform picking, and each attacked server's answers.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;

use chrono::{DateTime, Utc};
use maud::{html, Markup};

use super::HtmlSink;
use crate::i18n::group_digits;
use crate::model::{Role, Verdict};

/// Bar colours for families, in order of first appearance.
const PALETTE: [&str; 8] = [
    "#b3261e", "#e8710a", "#1a73e8", "#8a5a00", "#12b5cb", "#9334e6", "#188038", "#5f6368",
];
/// Most hours drawn one bar each (a month); longer cases are drawn per day.
const MAX_HOURS: i64 = 24 * 31;
/// Sources in the top-sources chart.
const TOP_SOURCES: usize = 15;
const PLOT_HEIGHT: f64 = 160.0;

impl<W: Write> HtmlSink<W> {
    pub(super) fn charts(&self) -> Markup {
        html! {
            (self.hourly())
            (self.top_sources())
            (self.locality())
            (self.statuses())
        }
    }

    /// One bar per hour (per day for long cases) over the case's span, stacked by family.
    fn hourly(&self) -> Markup {
        let (Some(&first), Some(&last)) = (self.hours.keys().next(), self.hours.keys().next_back())
        else {
            return html! {};
        };
        let step = if last - first >= MAX_HOURS { 24 } else { 1 };
        let mut bars: BTreeMap<i64, BTreeMap<&str, u64>> = BTreeMap::new();
        let mut slot = first - first.rem_euclid(step);
        while slot <= last {
            bars.insert(slot, BTreeMap::new());
            slot += step;
        }
        for (hour, families) in &self.hours {
            let bar = bars.entry(hour - hour.rem_euclid(step)).or_default();
            for (family, n) in families {
                *bar.entry(family.as_str()).or_default() += n;
            }
        }
        let families: BTreeSet<&str> = bars.values().flat_map(|b| b.keys().copied()).collect();
        let colour =
            |f: &str| PALETTE[families.iter().position(|x| *x == f).unwrap_or(0) % PALETTE.len()];
        let max = bars
            .values()
            .map(|b| b.values().sum::<u64>())
            .max()
            .unwrap_or(1)
            .max(1);
        let width = 8.0;
        let label = |slot: i64| {
            DateTime::<Utc>::from_timestamp(slot * 3600, 0)
                .map(|t| {
                    t.format(if step == 1 {
                        "%Y-%m-%d %H:00"
                    } else {
                        "%Y-%m-%d"
                    })
                    .to_string()
                })
                .unwrap_or_default()
        };
        let svg_width = (bars.len() as f64 * width + 40.0).max(300.0);
        let title = self.t(if step == 1 {
            "chart-hourly"
        } else {
            "chart-daily"
        });
        html! {
            section #chart-hourly {
                h2 { (title) " (" (self.zone()) ")" }
                div.chart {
                    svg #hourly xmlns="http://www.w3.org/2000/svg" width=(svg_width) height=(PLOT_HEIGHT + 30.0)
                        viewBox={ "0 0 " (svg_width) " " (PLOT_HEIGHT + 30.0) } role="img" aria-labelledby="hourly-title" {
                        title #hourly-title { (title) }
                        @for (i, (slot, families_in)) in bars.iter().enumerate() {
                            @let total: u64 = families_in.values().sum();
                            g.bar data-hour=(label(*slot)) data-count=(total) {
                                @let mut top = PLOT_HEIGHT + 10.0;
                                @for (family, n) in families_in {
                                    @let h = *n as f64 / max as f64 * PLOT_HEIGHT;
                                    @let y = { top -= h; top };
                                    rect x=(20.0 + i as f64 * width) y=(y) width=(width - 1.0) height=(h)
                                        fill=(colour(family)) data-family=(family) data-count=(n) {
                                        title { (label(*slot)) " " (family) ": " (n) }
                                    }
                                }
                            }
                        }
                        line x1="20" y1=(PLOT_HEIGHT + 10.0) x2=(svg_width - 10.0) y2=(PLOT_HEIGHT + 10.0) stroke="#5f6368" {}
                        text x="20" y=(PLOT_HEIGHT + 26.0) font-size="10" { (label(first - first.rem_euclid(step))) }
                    }
                    table.sortable #hourly-table {
                        thead { tr { th { (self.t("col-hour")) } @for f in &families { th.num { (f) } } } }
                        tbody {
                            @for (slot, families_in) in bars.iter().filter(|(_, b)| !b.is_empty()) {
                                tr {
                                    td { (label(*slot)) }
                                    @for f in &families {
                                        td.num { (families_in.get(f).copied().unwrap_or(0)) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    fn top_sources(&self) -> Markup {
        let sources: Vec<&Verdict> = self
            .verdicts
            .iter()
            .filter(|v| matches!(v.role, Role::Source | Role::Scanner))
            .take(TOP_SOURCES)
            .collect();
        if sources.is_empty() {
            return html! {};
        }
        let max = sources
            .iter()
            .map(|v| v.evidence_count)
            .max()
            .unwrap_or(1)
            .max(1);
        let height = sources.len() as f64 * 18.0 + 10.0;
        html! {
            section #chart-sources {
                h2 { (self.t("chart-sources")) }
                div.chart {
                    svg xmlns="http://www.w3.org/2000/svg" width="520" height=(height) viewBox={ "0 0 520 " (height) } role="img" {
                        title { (self.t("chart-sources")) }
                        @for (i, v) in sources.iter().enumerate() {
                            @let w = v.evidence_count as f64 / max as f64 * 340.0;
                            text x="4" y=(i as f64 * 18.0 + 17.0) font-size="11" { (v.subject) }
                            rect x="150" y=(i as f64 * 18.0 + 6.0) width=(w.max(1.0)) height="13" fill="#b3261e" data-count=(v.evidence_count) {}
                            text x=(155.0 + w) y=(i as f64 * 18.0 + 17.0) font-size="11" { (group_digits(v.evidence_count)) }
                        }
                    }
                    table.sortable {
                        thead { tr { th { (self.t("col-source")) } th { (self.t("col-families")) } th.num { (self.t("col-attempts")) } } }
                        tbody {
                            @for v in &sources {
                                tr {
                                    td { (v.subject) }
                                    td { (v.families.keys().cloned().collect::<Vec<_>>().join(", ")) }
                                    td.num data-sort=(v.evidence_count) { (group_digits(v.evidence_count)) }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// Where each spreading host's targets lie, beside what Code Red II and uniform picking
    /// would give (Code Red II: 3/8 its own /16, 1/2 its own /8, 1/8 anywhere).
    fn locality(&self) -> Markup {
        let scans: Vec<(&Verdict, &crate::model::ScanDetail)> = self
            .verdicts
            .iter()
            .filter_map(|v| Some((v, v.host.as_ref()?)))
            .flat_map(|(v, h)| {
                h.scans
                    .iter()
                    .filter(|s| s.spreading && s.locality.total() > 0)
                    .map(move |s| (v, s))
            })
            .collect();
        if scans.is_empty() {
            return html! {};
        }
        let models: [(String, [f64; 3]); 2] = [
            (
                self.t("model-code-red-ii"),
                [3.0 / 8.0, 1.0 / 2.0, 1.0 / 8.0],
            ),
            (
                self.t("model-uniform"),
                [1.0 / 65536.0, 255.0 / 65536.0, 255.0 / 256.0],
            ),
        ];
        let cells = [
            self.t("loc-same16"),
            self.t("loc-same8"),
            self.t("loc-elsewhere"),
        ];
        html! {
            section #chart-locality {
                h2 { (self.t("chart-locality")) }
                @for (v, s) in &scans {
                    @let total = s.locality.total() as f64;
                    @let observed = s.locality.cells().map(|n| n as f64 / total);
                    @let rows = [(format!("{} ({})", v.subject, s.address), observed), models[0].clone(), models[1].clone()];
                    div.chart {
                        svg xmlns="http://www.w3.org/2000/svg" width="520" height="100" viewBox="0 0 520 100" role="img" {
                            title { (v.subject) }
                            @for (r, (name, shares)) in rows.iter().enumerate() {
                                text x="4" y=(r as f64 * 30.0 + 20.0) font-size="11" { (name) }
                                @for (c, (x, w)) in stack(shares, 200.0, 300.0).into_iter().enumerate() {
                                    rect x=(x) y=(r as f64 * 30.0 + 8.0) width=(w) height="16" fill=(PALETTE[c + 2]) {
                                        title { (cells[c]) ": " (format!("{:.0}%", shares[c] * 100.0)) }
                                    }
                                }
                            }
                        }
                        table {
                            thead { tr { th {} @for c in &cells { th.num { (c) } } } }
                            tbody {
                                @for (name, shares) in &rows {
                                    tr { td { (name) } @for share in shares { td.num { (format!("{:.1}%", share * 100.0)) } } }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// Each attacked server's answers: 404, 2xx, other, none.
    fn statuses(&self) -> Markup {
        let servers: Vec<(&Verdict, &crate::model::ServedDetail)> = self
            .verdicts
            .iter()
            .filter_map(|v| Some((v, v.host.as_ref()?.served.as_ref()?)))
            .collect();
        if servers.is_empty() {
            return html! {};
        }
        let max = servers
            .iter()
            .map(|(_, s)| s.statuses.total())
            .max()
            .unwrap_or(1)
            .max(1);
        let height = servers.len() as f64 * 18.0 + 10.0;
        let columns = [
            self.t("col-404"),
            self.t("col-2xx"),
            self.t("col-other-status"),
            self.t("col-no-status"),
        ];
        html! {
            section #chart-statuses {
                h2 { (self.t("chart-statuses")) }
                div.chart {
                    svg xmlns="http://www.w3.org/2000/svg" width="520" height=(height) viewBox={ "0 0 520 " (height) } role="img" {
                        title { (self.t("chart-statuses")) }
                        @for (i, (v, s)) in servers.iter().enumerate() {
                            @let st = &s.statuses;
                            text x="4" y=(i as f64 * 18.0 + 17.0) font-size="11" { (v.subject) }
                            @let counts = [st.not_found, st.success, st.other, st.none];
                            @let shares = counts.map(|n| n as f64 / max as f64);
                            @for (c, (x, w)) in stack(&shares, 150.0, 340.0).into_iter().enumerate() {
                                rect x=(x) y=(i as f64 * 18.0 + 6.0) width=(w) height="13" fill=(PALETTE[c + 2]) data-count=(counts[c]) {
                                    title { (columns[c]) ": " (counts[c]) }
                                }
                            }
                        }
                    }
                    table.sortable {
                        thead { tr { th { (self.t("col-server")) } th { (self.t("col-verdict")) } @for c in &columns { th.num { (c) } } } }
                        tbody {
                            @for (v, s) in &servers {
                                @let st = &s.statuses;
                                tr {
                                    td { (v.subject) }
                                    td { (self.state_word(v.state)) }
                                    @for n in [st.not_found, st.success, st.other, st.none] { td.num { (n) } }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// The zone's name for headings: `UTC` or `+09:00`.
    pub(super) fn zone(&self) -> String {
        if self.options.tz.local_minus_utc() == 0 {
            "UTC".to_string()
        } else {
            self.options.tz.to_string()
        }
    }
}

/// Segments of a stacked bar: `(x, width)` of each share, laid end to end from `start`.
fn stack(shares: &[f64], start: f64, scale: f64) -> Vec<(f64, f64)> {
    let mut x = start;
    shares
        .iter()
        .map(|share| {
            let segment = (x, share * scale);
            x += segment.1;
            segment
        })
        .collect()
}
