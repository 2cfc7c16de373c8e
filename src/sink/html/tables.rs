//! The report's tables: findings (the first rows; the case file holds all), verdicts, host
//! traces with their patch state, inputs with their SHA-256, and what could not be read.
//! Each sorts by a click on its header and filters as you type.

use std::io::Write;

use maud::{html, Markup};

use super::HtmlSink;
use crate::i18n::group_digits;
use crate::model::{Evidence, Finding};

impl<W: Write> HtmlSink<W> {
    pub(super) fn tables(&self) -> Markup {
        html! {
            (self.findings_table())
            (self.verdicts_table())
            (self.traces_table())
            (self.inputs_table())
            (self.problems_table())
        }
    }

    fn filter(&self, table: &str) -> Markup {
        html! {
            input.filter type="search" data-table=(table) placeholder=(self.t("filter-placeholder"))
                aria-label=(self.t("filter-placeholder"));
        }
    }

    fn findings_table(&self) -> Markup {
        if self.findings.is_empty() {
            return html! {};
        }
        let shown = self.findings.len() as u64;
        html! {
            section #findings {
                h2 { (self.t("section-findings")) }
                @if self.findings_total > shown {
                    p.note {
                        (self.messages.get("findings-shown", &[
                            ("shown", shown.into()),
                            ("total", self.findings_total.into()),
                        ]))
                    }
                }
                (self.filter("findings-table"))
                table.sortable #findings-table {
                    thead { tr {
                        th.num { "id" } th { (self.t("col-time")) } th { (self.t("col-family")) }
                        th { (self.t("col-source")) } th { (self.t("col-server")) } th { (self.t("col-what")) }
                        th.num { (self.t("col-status")) } th { (self.t("col-where")) }
                    } }
                    tbody { @for f in &self.findings { (self.finding_row(f)) } }
                }
            }
        }
    }

    fn finding_row(&self, f: &Finding) -> Markup {
        let time = f
            .time
            .map(|t| t.in_zone(self.options.tz))
            .unwrap_or_default();
        let (source, server, what, status, place) = match &f.evidence {
            Evidence::Request(r) => (
                r.client_ip.map(|ip| ip.to_string()).unwrap_or_default(),
                r.server.clone().unwrap_or_default(),
                r.uri.clone().unwrap_or_else(|| r.text.clone()),
                r.status.clone().unwrap_or_default(),
                format!("{}:{}", f.path, r.line),
            ),
            Evidence::Trace(t) => (
                String::new(),
                t.host.clone(),
                format!("{}: {}", self.t(&format!("check-{}", t.check)), t.observed),
                String::new(),
                t.location.clone(),
            ),
            Evidence::Scan(s) => (
                s.subject.to_string(),
                s.host.clone().unwrap_or_default(),
                s.text.clone(),
                String::new(),
                s.paths.join(" "),
            ),
            Evidence::Correlation(c) => (
                c.group_text(),
                String::new(),
                format!("{}: {}", f.rule_title, c.text),
                String::new(),
                f.path.clone(),
            ),
        };
        html! {
            tr data-id=(f.id) {
                td.num { (f.id) } td { (time) } td { (f.family) } td { (source) } td { (server) }
                td.text { (what) } td.num { (status) } td.text { (place) }
            }
        }
    }

    fn verdicts_table(&self) -> Markup {
        html! {
            section #verdicts {
                h2 { (self.t("section-verdicts")) }
                (self.filter("verdicts-table"))
                table.sortable #verdicts-table {
                    thead { tr {
                        th { (self.t("col-subject")) } th { (self.t("col-role")) } th { (self.t("col-verdict")) }
                        th { (self.t("col-families")) } th.num { (self.t("col-attempts")) }
                        th { (self.t("col-first")) } th { (self.t("col-last")) }
                    } }
                    tbody {
                        @for v in &self.verdicts {
                            tr {
                                td { (v.subject) }
                                td { (self.t(&format!("role-{}", v.role.name()))) }
                                td { (self.state_word(v.state)) }
                                td { (v.families.iter().map(|(f, n)| format!("{f}:{n}")).collect::<Vec<_>>().join(", ")) }
                                td.num data-sort=(v.evidence_count) { (group_digits(v.evidence_count)) }
                                td { (v.first_seen.map(|t| t.in_zone(self.options.tz)).unwrap_or_default()) }
                                td { (v.last_seen.map(|t| t.in_zone(self.options.tz)).unwrap_or_default()) }
                            }
                        }
                    }
                }
            }
        }
    }

    fn traces_table(&self) -> Markup {
        let disks: Vec<_> = self
            .verdicts
            .iter()
            .filter_map(|v| Some((v, v.host.as_ref()?.disk.as_ref()?)))
            .collect();
        if disks.is_empty() {
            return html! {};
        }
        html! {
            section #traces {
                h2 { (self.t("section-hosts")) }
                table.sortable #traces-table {
                    thead { tr {
                        th { (self.t("col-host")) } th { (self.t("col-verdict")) } th { (self.t("col-patch")) }
                        th { (self.t("col-traces")) }
                    } }
                    tbody {
                        @for (v, d) in &disks {
                            tr {
                                td { (v.subject) }
                                td { (self.state_word(d.state)) }
                                td.text { (self.messages.get(&d.patch.reason_code, &[("detail", d.patch.detail.clone().into())])) }
                                td.text { @for t in &d.traces { div { (t) } } }
                            }
                        }
                    }
                }
            }
        }
    }

    fn inputs_table(&self) -> Markup {
        html! {
            section #inputs {
                h2 { (self.t("section-inputs")) }
                (self.filter("inputs-table"))
                table.sortable #inputs-table {
                    thead { tr {
                        th { (self.t("col-input")) } th { (self.t("col-evidence")) } th { (self.t("col-format")) }
                        th.num { (self.t("col-size")) } th { "SHA-256" }
                    } }
                    tbody {
                        @for i in &self.inputs {
                            tr {
                                td.text { (i.path) }
                                td { (self.t(&format!("kind-{}", i.evidence_kind.name()))) }
                                td { (i.stream.as_ref().and_then(|s| s.format.clone()).or(i.role.clone()).unwrap_or_default()) }
                                td.num data-sort=(i.size.unwrap_or(0)) { (i.size.map(group_digits).unwrap_or_default()) }
                                td { code { (i.sha256.clone().unwrap_or_default()) } }
                            }
                        }
                    }
                }
            }
        }
    }

    fn problems_table(&self) -> Markup {
        if self.problems.is_empty() {
            return html! {};
        }
        html! {
            section #problems {
                h2 { (self.t("section-not-read")) }
                table.sortable #problems-table {
                    thead { tr { th { (self.t("col-input")) } th { (self.t("col-severity")) } th { (self.t("col-reason")) } } }
                    tbody {
                        @for p in &self.problems {
                            tr {
                                td.text { (p.path) }
                                td { (self.t(&format!("severity-{}", p.severity.name()))) }
                                td.text { (self.messages.problem(p)) }
                            }
                        }
                    }
                }
            }
        }
    }
}
