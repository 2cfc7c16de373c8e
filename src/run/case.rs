//! The case as it is built: every result of the producers becomes events for the sinks,
//! findings get their ids in the order they are emitted, and what the verdicts need is
//! tallied on the way. At the end the case judges one verdict per host.

use std::io;

use crate::detect::correlation::evaluate::Correlator;
use crate::detect::correlation::Correlation;
use crate::host::HostReport;
use crate::identity::{judge, CaseFacts, InventoryEntry, Scan, SweptHost};
use crate::model::Severity;
use crate::model::{
    Evidence, EvidenceKind, Finding, InputRecord, InputTag, State, StreamFacts, Verdict,
};
use crate::net::spread::{
    scan_finding, SpreadOptions, SpreadTallies, Subject, Tally as SpreadTally,
};
use crate::scan::repeats::Repeated;
use crate::scan::InputReport;
use crate::sink::{RunInfo, RunTotals, Sink};
use crate::source::Problem;
use crate::verdict::{Aggregator, Overflow};

/// The sinks, fed one event at a time; the first write error is kept and ends the run.
pub struct Sinks {
    sinks: Vec<Box<dyn Sink>>,
    error: Option<io::Error>,
}

impl Sinks {
    /// Feeds `sinks`.
    pub fn new(sinks: Vec<Box<dyn Sink>>) -> Self {
        Sinks { sinks, error: None }
    }

    /// Gives one event to every sink.
    pub fn each(&mut self, mut event: impl FnMut(&mut dyn Sink) -> io::Result<()>) {
        if self.error.is_some() {
            return;
        }
        for sink in self.sinks.iter_mut() {
            if let Err(e) = event(sink.as_mut()) {
                self.error = Some(e);
                return;
            }
        }
    }

    /// The first write error, if any.
    pub fn result(&mut self) -> io::Result<()> {
        self.error.take().map_or(Ok(()), Err)
    }
}

/// A case being built from a run's results.
pub struct Case {
    pub sinks: Sinks,
    next_id: u64,
    aggregator: Aggregator,
    totals: RunTotals,
    problems: Vec<Problem>,
    facts: CaseFacts,
    spread: SpreadTallies,
    correlator: Correlator,
    /// Correlation findings: id and the values of their group.
    correlated: Vec<(u64, Vec<String>)>,
}

impl Case {
    /// A case whose events go to `sinks`, starting with `begin`.
    pub fn begin(mut sinks: Sinks, info: &RunInfo, aggregator: Aggregator) -> Case {
        sinks.each(|s| s.begin(info));
        Case {
            sinks,
            next_id: 0,
            aggregator,
            totals: RunTotals::default(),
            problems: Vec::new(),
            facts: CaseFacts::default(),
            spread: SpreadTallies::default(),
            correlator: Correlator::new(Vec::new()),
            correlated: Vec::new(),
        }
    }

    /// Evaluates these correlation rules over the run's findings when the case is judged.
    pub fn correlate(&mut self, correlations: Vec<Correlation>) {
        self.correlator = Correlator::new(correlations);
    }

    /// Problems found before any input was read (paths that do not exist, links).
    pub fn problems(&mut self, problems: Vec<Problem>) {
        self.problems.extend(problems);
    }

    fn emit(&mut self, mut finding: Finding) -> u64 {
        self.next_id += 1;
        finding.id = self.next_id;
        self.sinks.each(|s| s.finding(&finding));
        self.aggregator.add(&finding);
        if !self.correlator.is_empty() {
            self.correlator.observe(&finding);
        }
        self.next_id
    }

    /// Emits the findings of the correlation rules that held, and says what was left out.
    fn finish_correlations(&mut self) {
        let correlator = std::mem::replace(&mut self.correlator, Correlator::new(Vec::new()));
        let (dropped, untimed) = (correlator.dropped, correlator.untimed);
        let mut correlated = Vec::new();
        correlator.finish(&mut |finding| {
            self.totals.findings += 1;
            let group = match &finding.evidence {
                Evidence::Correlation(c) => c.group.iter().map(|(_, v)| v.clone()).collect(),
                _ => Vec::new(),
            };
            let id = self.emit(finding);
            correlated.push((id, group));
            id
        });
        self.correlated = correlated;
        let mut note = |count: u64, key: &str, english: &str| {
            if count > 0 {
                let args = [("count", count.to_string())];
                let reason = english.replace("{count}", &count.to_string());
                let problem = Problem::said(
                    String::from("(case)"),
                    reason,
                    Severity::Skipped,
                    key,
                    &args,
                );
                self.problems.push(problem);
            }
        };
        note(
            untimed,
            "problem-correlation-untimed",
            "{count} finding(s) of correlated rules have no time and were left out of the correlations",
        );
        note(
            dropped,
            "problem-correlation-dropped",
            "{count} finding(s) of correlated rules were left out of the correlations (a group-by field was empty, or over the limit of findings kept)",
        );
    }

    /// One finding of the log, capture or table being scanned.
    pub fn finding(&mut self, finding: Finding) {
        self.totals.findings += 1;
        self.emit(finding);
    }

    /// One scanned log, capture or table, after its findings: its input record.
    pub fn input(&mut self, part: InputPart) {
        let InputPart {
            record,
            tallies,
            problems,
            repeats,
        } = part;
        self.totals.inputs += 1;
        for repeated in &repeats {
            self.totals.findings += repeated.omitted;
            self.totals.findings_omitted += repeated.omitted;
            let (first, last) = (repeated.first_time, repeated.last_time);
            self.aggregator
                .add_repeated(&repeated.sample, repeated.omitted, first, last);
        }
        if let Some(stream) = &record.stream {
            self.totals.bytes += stream.decompressed_bytes;
            self.totals.lines += stream.lines;
            let add = |total: &mut Option<u64>, n: Option<u64>| {
                if let Some(n) = n {
                    *total.get_or_insert(0) += n;
                }
            };
            add(
                &mut self.totals.lines_outside_window,
                stream.lines_outside_window,
            );
            add(
                &mut self.totals.lines_without_time,
                stream.lines_without_time,
            );
        }
        self.note_kind(record.evidence_kind);
        self.sinks.each(|s| s.input(&record));
        let kind = record.evidence_kind;
        if let Some(tallies) = tallies {
            self.spread.add(&record.path, tallies);
        }
        self.problems.extend(problems.into_iter().map(|mut p| {
            p.evidence_kind = Some(kind);
            p
        }));
    }

    /// One swept host: its trace findings, then its input records.
    pub fn host(&mut self, report: HostReport) {
        self.totals.hosts += 1;
        self.note_kind(EvidenceKind::Host);
        self.totals.host_findings += report.findings.len() as u64;
        let mut families = std::collections::BTreeMap::new();
        let mut ids = Vec::new();
        for finding in report.findings {
            *families.entry(finding.family.clone()).or_insert(0) += 1;
            ids.push(self.emit(finding));
        }
        for input in &report.inputs {
            self.sinks.each(|s| s.input(input));
        }
        self.problems
            .extend(report.problems.into_iter().map(|mut p| {
                p.evidence_kind = Some(EvidenceKind::Host);
                p
            }));
        self.facts.swept.push(SweptHost {
            name: report.host,
            named_by_user: report.named_by_user,
            names: report.names,
            addresses: report.addresses,
            disk: report.disk,
            families,
            findings: ids,
        });
    }

    fn note_kind(&mut self, kind: EvidenceKind) {
        if let Err(at) = self.totals.evidence_kind.binary_search(&kind) {
            self.totals.evidence_kind.insert(at, kind);
        }
    }

    /// Judges the case: scan findings, then one verdict per host, the outside sources, the
    /// problems and the totals. Returns the totals.
    pub fn finish(
        mut self,
        spread: &SpreadOptions,
        inventory: Vec<InventoryEntry>,
    ) -> (Sinks, RunTotals) {
        self.finish_correlations();
        for detail in self.spread.details(spread) {
            let finding = scan_finding(&detail, spread).map(|f| self.emit(f));
            self.facts.scans.push(Scan { detail, finding });
        }
        self.facts.inventory = inventory;
        self.problems
            .extend(overflow_problems(self.aggregator.overflow()));
        let internal = self.aggregator.internal().to_vec();
        let aggregator = std::mem::replace(&mut self.aggregator, Aggregator::new(Vec::new()));
        (self.facts.sources, self.facts.targets) = aggregator.into_parts();
        let mut verdicts = judge(&self.facts, |a| internal.iter().any(|n| n.contains(a)));
        link_correlations(&mut verdicts, &self.correlated);
        self.totals.spreading = verdicts
            .iter()
            .filter(|v| v.is_host())
            .filter(|v| {
                v.host
                    .as_ref()
                    .is_some_and(|h| h.sent.is_some() || h.scans.iter().any(|s| s.spreading))
                    || v.state == State::Spreading
            })
            .count() as u64;
        for verdict in &verdicts {
            self.sinks.each(|s| s.verdict(verdict));
        }
        self.totals.problems = self.problems.len() as u64;
        for problem in &self.problems {
            self.sinks.each(|s| s.problem(problem));
        }
        let totals = self.totals.clone();
        self.sinks.each(|s| s.finish(&totals));
        (self.sinks, totals)
    }
}

/// One scanned log, capture or table as the case takes it: its input record, what a capture
/// or connection table tallied per source, and its problems. A partial result carries it
/// as it is.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct InputPart {
    pub record: InputRecord,
    /// Captures and tables: port-80 activity per source address.
    pub tallies: Option<Vec<(Subject, SpreadTally)>>,
    #[serde(with = "crate::model::problems_whole")]
    pub problems: Vec<Problem>,
    /// The kinds of findings past `--repeats`, each with a sample the verdicts count by
    /// (partial results of an older version have none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub repeats: Vec<Repeated>,
}

impl InputPart {
    /// The part of a scan's report the case uses.
    pub fn of(report: InputReport) -> InputPart {
        InputPart {
            record: input_record(&report),
            tallies: report.network.map(|n| n.tallies),
            problems: report.problems,
            repeats: report.repeats,
        }
    }
}

/// Where a run's results go, in the order the run makes them: a [`Case`] judged at the end,
/// or a partial result that `wormtrace merge` turns into the same case.
pub trait CaseEvents {
    /// Problems found before any input was read.
    fn problems(&mut self, problems: Vec<Problem>);
    /// One finding of the log, capture or table being scanned.
    fn finding(&mut self, finding: Finding);
    /// One scanned log, capture or table, after its findings.
    fn input(&mut self, part: InputPart);
    /// One swept host.
    fn host(&mut self, report: HostReport);
}

impl CaseEvents for Case {
    fn problems(&mut self, problems: Vec<Problem>) {
        Case::problems(self, problems);
    }
    fn finding(&mut self, finding: Finding) {
        Case::finding(self, finding);
    }
    fn input(&mut self, part: InputPart) {
        Case::input(self, part);
    }
    fn host(&mut self, report: HostReport) {
        Case::host(self, report);
    }
}

/// The input record of a scanned log, capture or table.
fn input_record(report: &InputReport) -> InputRecord {
    InputRecord {
        kind: InputTag::Input,
        evidence_kind: if report.network.is_some() {
            EvidenceKind::Network
        } else {
            EvidenceKind::Log
        },
        host: report.network.as_ref().and_then(|n| n.host.clone()),
        path: report.path.clone(),
        role: None,
        sha256: report.digest.as_ref().and_then(|d| d.sha256.clone()),
        size: report.digest.as_ref().map(|d| d.size),
        stream: Some(StreamFacts {
            compression: report.compression.name().to_string(),
            format: report
                .format
                .map(|f| f.name().to_string())
                .or(report.network.as_ref().map(|n| n.kind.to_string())),
            decompressed_bytes: report.stats.bytes,
            lines: report.stats.lines,
            findings: report.findings,
            lines_outside_window: report.windowed.then_some(report.stats.outside_window),
            lines_without_time: report.windowed.then_some(report.stats.untimed),
            findings_omitted: report.repeats.iter().map(|r| r.omitted).sum(),
            repeats: report.repeats.iter().map(Repeated::summary).collect(),
        }),
    }
}

/// Where the bounded tallies stopped listing sources, servers or ids one by one.
fn overflow_problems(o: &Overflow) -> Vec<Problem> {
    use crate::verdict::{MAX_IDS_KEPT, MAX_INSIDE_SOURCES, MAX_OUTSIDE_SOURCES, MAX_TARGETS};
    let mut problems = Vec::new();
    let mut note = |findings: u64, others: u64, max: usize, key: &str, english: &str| {
        if findings == 0 {
            return;
        }
        let reason = english
            .replace("{findings}", &findings.to_string())
            .replace("{others}", &others.to_string())
            .replace("{max}", &max.to_string());
        let args = [
            ("findings", findings.to_string()),
            ("others", others.to_string()),
            ("max", max.to_string()),
        ];
        let problem = Problem::said(CASE_PATH, reason, Severity::Skipped, key, &args);
        problems.push(problem);
    };
    note(
        o.outside_findings,
        o.outside_sources.len(),
        MAX_OUTSIDE_SOURCES,
        "problem-tally-outside",
        "{findings} findings from about {others} more outside sources are counted, not listed one by one (limit {max} sources)",
    );
    note(
        o.inside_findings,
        o.inside_sources.len(),
        MAX_INSIDE_SOURCES,
        "problem-tally-inside",
        "{findings} findings from about {others} more addresses of ours are counted, not judged one by one (limit {max} addresses)",
    );
    note(
        o.target_findings,
        o.targets.len(),
        MAX_TARGETS,
        "problem-tally-targets",
        "{findings} findings against about {others} more servers are counted, not judged one by one (limit {max} servers)",
    );
    note(
        o.ids_dropped,
        0,
        MAX_IDS_KEPT as usize,
        "problem-tally-ids",
        "{findings} finding ids are not listed in the verdicts (limit {max}); the findings themselves are all written",
    );
    problems
}

/// The path problems about the case as a whole carry.
const CASE_PATH: &str = "(case)";

/// Lists each correlation finding in the verdicts its group names: a host by one of its
/// addresses or names, a source by its address. The verdicts' states stay as the evidence
/// below them made them.
fn link_correlations(verdicts: &mut [Verdict], correlated: &[(u64, Vec<String>)]) {
    if correlated.is_empty() {
        return;
    }
    for verdict in verdicts {
        let mut names: Vec<String> = vec![verdict.subject.to_ascii_lowercase()];
        if let Some(host) = &verdict.host {
            names.extend(host.names.iter().map(|n| n.to_ascii_lowercase()));
            names.extend(host.addresses.iter().map(|a| a.to_string()));
        }
        let linked: Vec<u64> = correlated
            .iter()
            .filter(|(_, group)| group.iter().any(|v| names.contains(v)))
            .map(|(id, _)| *id)
            .collect();
        if linked.is_empty() {
            continue;
        }
        verdict.evidence_count += linked.len() as u64;
        let ids = verdict.evidence.entry(EvidenceKind::Log).or_default();
        ids.extend(linked);
        ids.sort_unstable();
        ids.dedup();
        if !verdict.evidence_kind.contains(&EvidenceKind::Log) {
            verdict.evidence_kind.push(EvidenceKind::Log);
            verdict.evidence_kind.sort();
        }
    }
}
