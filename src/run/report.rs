//! `wormtrace report CASE`: every output rendered again from the case file alone. The case's
//! events are replayed into the chosen sink in the order the scan emitted them, so the output
//! is the same bytes the scan wrote.

use crate::source::HashChoice;
use std::io::{self, IsTerminal};
use std::net::IpAddr;

use rusqlite::{Connection, OpenFlags, Row};

use super::args::{ReportArgs, ReportFormat};
use super::{lang_from_env, output_writer, ExitStatus, RunError};
use crate::model::{
    Confidence, CorrelationEvidence, Evidence, EvidenceKind, Exposure, Finding, InputRecord, Level,
    ProxyEvidence, RequestEvidence, ScanEvidence, ScanSource, Timestamp, TraceEvidence, Verdict,
    Wire,
};
use crate::sink::{
    CsvSink, HtmlOptions, HtmlSink, IocSink, JsonSink, JsonlSink, RunInfo, RunTotals, Sink,
    SummaryOptions, SummarySink,
};
use crate::source::{Problem, ProblemKind, Severity};

/// Why a case file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum CaseError {
    #[error("{0}")]
    Sql(#[from] rusqlite::Error),
    #[error("damaged record: {0}")]
    Json(#[from] serde_json::Error),
    #[error("damaged value in column {0}")]
    Value(&'static str),
}

pub(super) fn run_report(args: ReportArgs) -> Result<ExitStatus, RunError> {
    let failed = |e: CaseError| RunError::Case {
        path: args.case.clone(),
        message: e.to_string(),
    };
    if let Some(output) = &args.output {
        super::check_outputs(&[output.as_path()], &[args.case.as_path()])?;
    }
    let db = Connection::open_with_flags(&args.case, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|e| failed(e.into()))?;
    let mut sink: Box<dyn Sink> = match args.format {
        ReportFormat::Summary => Box::new(SummarySink::new(
            output_writer(args.output.as_deref())?,
            SummaryOptions {
                lang: args.summary.lang.unwrap_or_else(lang_from_env),
                color: args.output.is_none()
                    && io::stdout().is_terminal()
                    && std::env::var_os("NO_COLOR").is_none(),
                width: super::scan::summary_width(),
                tz: args.summary.tz,
            },
        )),
        ReportFormat::Jsonl => Box::new(JsonlSink::new(output_writer(args.output.as_deref())?)),
        ReportFormat::Json => Box::new(JsonSink::new(output_writer(args.output.as_deref())?)),
        ReportFormat::Csv => Box::new(CsvSink::new(output_writer(args.output.as_deref())?)),
        ReportFormat::Html => Box::new(HtmlSink::new(
            output_writer(args.output.as_deref())?,
            HtmlOptions {
                lang: args.summary.lang.unwrap_or_else(lang_from_env),
                tz: args.summary.tz,
            },
        )),
        ReportFormat::Iocs => {
            let file = args.output.clone().ok_or(RunError::NeedsOutput("iocs"))?;
            let started = chrono::Utc::now();
            Box::new(
                IocSink::new(&file, started).map_err(|source| RunError::CreateOutput {
                    path: file.clone(),
                    source,
                })?,
            )
        }
    };
    let totals = replay(&db, sink.as_mut()).map_err(|e| match e {
        ReplayError::Case(e) => failed(e),
        ReplayError::Write(e) => RunError::Write(e),
    })?;
    Ok(
        if totals.findings + totals.host_findings + totals.spreading > 0 {
            ExitStatus::Found
        } else if totals.problems > 0 {
            ExitStatus::Incomplete
        } else {
            ExitStatus::Clean
        },
    )
}

/// Reading the case or writing the output failed.
pub enum ReplayError {
    Case(CaseError),
    Write(io::Error),
}

impl From<CaseError> for ReplayError {
    fn from(e: CaseError) -> Self {
        ReplayError::Case(e)
    }
}

impl From<rusqlite::Error> for ReplayError {
    fn from(e: rusqlite::Error) -> Self {
        ReplayError::Case(e.into())
    }
}

impl From<io::Error> for ReplayError {
    fn from(e: io::Error) -> Self {
        ReplayError::Write(e)
    }
}

/// Feeds `sink` the case's events in the scan's order; returns the totals.
pub fn replay(db: &Connection, sink: &mut dyn Sink) -> Result<RunTotals, ReplayError> {
    let (info, totals) = run_row(db)?;
    sink.begin(&info)?;
    let inputs = inputs(db)?;
    let mut next_input = inputs.iter().peekable();
    let mut findings = db.prepare("SELECT * FROM findings ORDER BY id")?;
    let mut rows = findings.query([])?;
    while let Some(row) = rows.next()? {
        let finding = finding(row)?;
        while let Some((_, input)) = next_input.next_if(|(after, _)| *after < finding.id) {
            sink.input(input)?;
        }
        sink.finding(&finding)?;
    }
    for (_, input) in next_input {
        sink.input(input)?;
    }
    let mut verdicts = db.prepare("SELECT record FROM verdicts ORDER BY seq")?;
    let mut rows = verdicts.query([])?;
    while let Some(row) = rows.next()? {
        let text: String = row.get(0)?;
        let verdict: Verdict = serde_json::from_str(&text).map_err(CaseError::from)?;
        sink.verdict(&verdict)?;
    }
    let mut problems = db.prepare(
        "SELECT path, reason, severity, kind, target, evidence_kind FROM problems ORDER BY seq",
    )?;
    let mut rows = problems.query([])?;
    while let Some(row) = rows.next()? {
        sink.problem(&problem(row)?)?;
    }
    sink.finish(&totals)?;
    Ok(totals)
}

fn run_row(db: &Connection) -> Result<(RunInfo, RunTotals), CaseError> {
    let (version, arguments, started, sha, totals, input_hash): (
        String,
        String,
        Option<String>,
        String,
        String,
        String,
    ) = db.query_row(
        "SELECT version, arguments, started, rule_pack_sha256, totals, input_hash FROM run",
        [],
        |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
            ))
        },
    )?;
    let info = RunInfo {
        version,
        arguments: serde_json::from_str(&arguments)?,
        started: started.as_deref().and_then(Timestamp::parse),
        rule_pack_sha256: sha,
        rules: Vec::new(),
        input_hash: <HashChoice as clap::ValueEnum>::from_str(&input_hash, false)
            .unwrap_or_default(),
    };
    Ok((info, serde_json::from_str(&totals)?))
}

fn inputs(db: &Connection) -> Result<Vec<(u64, InputRecord)>, CaseError> {
    let mut s = db.prepare("SELECT after_finding, record FROM inputs ORDER BY seq")?;
    let rows = s.query_map([], |r| Ok((r.get::<_, u64>(0)?, r.get::<_, String>(1)?)))?;
    rows.map(|r| {
        let (after, text) = r?;
        Ok((after, serde_json::from_str(&text)?))
    })
    .collect()
}

fn word<T>(
    value: Option<String>,
    parse: impl Fn(&str) -> Option<T>,
    column: &'static str,
) -> Result<T, CaseError> {
    value
        .as_deref()
        .and_then(parse)
        .ok_or(CaseError::Value(column))
}

/// A finding rebuilt from its row, field for field.
fn finding(row: &Row) -> Result<Finding, CaseError> {
    let get_s = |name: &str| row.get::<_, Option<String>>(name);
    let kind = word(
        get_s("evidence_kind")?,
        EvidenceKind::from_name,
        "evidence_kind",
    )?;
    let evidence = if let Some(check) = get_s("check_id")? {
        Evidence::Trace(TraceEvidence {
            host: get_s("host")?.unwrap_or_default(),
            check,
            location: get_s("location")?.unwrap_or_default(),
            observed: get_s("observed")?.unwrap_or_default(),
            sha256: get_s("sha256")?,
        })
    } else if let Some(kind) = get_s("format")?
        .as_deref()
        .and_then(|f| f.strip_prefix("correlation:"))
    {
        let payload = get_s("paths")?.unwrap_or_default();
        correlation_evidence(kind, &payload, get_s("evidence")?.unwrap_or_default())?
    } else if let Some(subject) = get_s("subject")? {
        Evidence::Scan(ScanEvidence {
            subject: subject.parse().map_err(|_| CaseError::Value("subject"))?,
            host: get_s("host")?,
            source: word(get_s("scan_source")?, ScanSource::from_name, "scan_source")?,
            paths: serde_json::from_str(&get_s("paths")?.unwrap_or_else(|| "[]".into()))?,
            text: get_s("evidence")?.unwrap_or_default(),
        })
    } else {
        let frame: Option<u64> = row.get("frame")?;
        let wire = match (frame, kind) {
            (Some(frame), EvidenceKind::Network) => Some(Wire {
                frame,
                client_port: row.get("client_port")?,
                server_port: row.get("server_port")?,
                flow: get_s("flow")?.unwrap_or_default(),
            }),
            _ => None,
        };
        Evidence::Request(Box::new(RequestEvidence {
            line: row.get("line")?,
            offset: row.get("offset")?,
            format: get_s("format")?.unwrap_or_default(),
            client_ip: get_s("client_ip")?.and_then(|ip| ip.parse::<IpAddr>().ok()),
            server: get_s("server")?,
            server_name: get_s("server_name")?,
            method: get_s("method")?,
            uri: get_s("uri")?,
            status: get_s("status")?,
            exposure: get_s("exposure")?.as_deref().and_then(Exposure::from_name),
            text: get_s("evidence")?.unwrap_or_default(),
            wire,
            proxy: get_s("forwarded_for")?.map(|forwarded_for| ProxyEvidence {
                peer_ip: get_s("peer_ip")
                    .ok()
                    .flatten()
                    .and_then(|ip| ip.parse::<IpAddr>().ok()),
                forwarded_for,
            }),
        }))
    };
    Ok(Finding {
        id: row.get("id")?,
        family: row.get("family")?,
        rule_id: row.get("rule_id")?,
        rule_title: row.get("rule_title")?,
        level: word(get_s("level")?, Level::from_name, "level")?,
        confidence: word(get_s("confidence")?, Confidence::from_name, "confidence")?,
        path: row.get("path")?,
        time: get_s("time")?.as_deref().and_then(Timestamp::parse),
        evidence,
        correlate: Vec::new(),
    })
}

fn problem(row: &Row) -> Result<Problem, CaseError> {
    let key: Option<String> = row.get(3)?;
    let args: Option<String> = row.get(4)?;
    let args: std::collections::BTreeMap<String, String> =
        serde_json::from_str(args.as_deref().unwrap_or("{}"))?;
    let target = || args.get("target").cloned().unwrap_or_default();
    let kind = match key.as_deref() {
        Some("problem-link-not-followed") => ProblemKind::LinkNotFollowed { target: target() },
        Some("problem-link-loop") => ProblemKind::LinkLoop { target: target() },
        Some("problem-link-broken") => ProblemKind::LinkBroken { target: target() },
        Some("problem-not-regular") => ProblemKind::NotRegularFile,
        Some("problem-binary") => ProblemKind::Binary,
        Some("problem-not-found") => ProblemKind::NotFound,
        Some("problem-permission") => ProblemKind::PermissionDenied,
        Some(key) => ProblemKind::Said {
            key: key.to_string(),
            args: args.into_iter().collect(),
        },
        None => ProblemKind::Other,
    };
    Ok(Problem {
        path: row.get(0)?,
        reason: row.get(1)?,
        severity: word(row.get(2)?, Severity::from_name, "severity")?,
        kind,
        evidence_kind: row
            .get::<_, Option<String>>(5)?
            .as_deref()
            .and_then(EvidenceKind::from_name),
    })
}

/// A correlation finding's evidence from its case columns.
fn correlation_evidence(kind: &str, payload: &str, text: String) -> Result<Evidence, CaseError> {
    #[derive(serde::Deserialize)]
    struct Payload {
        group: Vec<(String, String)>,
        metric: f64,
        start: Timestamp,
        end: Timestamp,
        windows: u64,
        findings: Vec<u64>,
        findings_total: u64,
    }
    let p: Payload = serde_json::from_str(payload)?;
    Ok(Evidence::Correlation(Box::new(CorrelationEvidence {
        kind: kind.to_string(),
        group: p.group,
        metric: p.metric,
        start: p.start,
        end: p.end,
        windows: p.windows,
        findings: p.findings,
        findings_total: p.findings_total,
        text,
    })))
}
