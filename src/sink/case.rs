//! The case file (`--case case.sqlite`): everything a run gives, in one SQLite database that
//! every output can be rendered from again (`wormtrace report`). It is written under a
//! temporary name in one transaction and renamed into place at the end, so a failed run leaves
//! no half-written case.

use std::io;
use std::path::{Path, PathBuf};

use rusqlite::{params, Connection};

use super::{RunInfo, RunTotals, Sink};
use crate::model::{Evidence, Finding, InputRecord, Verdict};
use crate::model::{Problem, ProblemKind};

/// The tables and the indexes for the questions a responder asks.
pub const SCHEMA: &str = "
CREATE TABLE run (
    version TEXT, arguments TEXT, started TEXT, finished TEXT,
    rule_pack_sha256 TEXT, totals TEXT, input_hash TEXT NOT NULL DEFAULT 'sha256'
);
CREATE TABLE rules (
    id TEXT, title TEXT, level TEXT, family TEXT, source TEXT, source_sha256 TEXT
);
CREATE TABLE inputs (
    seq INTEGER PRIMARY KEY, after_finding INTEGER NOT NULL, evidence_kind TEXT NOT NULL,
    host TEXT, path TEXT NOT NULL, role TEXT, sha256 TEXT, size INTEGER, compression TEXT,
    format TEXT, decompressed_bytes INTEGER, lines INTEGER, findings INTEGER,
    record TEXT NOT NULL
);
CREATE TABLE findings (
    id INTEGER PRIMARY KEY, evidence_kind TEXT NOT NULL, family TEXT NOT NULL,
    rule_id TEXT NOT NULL, rule_title TEXT NOT NULL, level TEXT NOT NULL,
    confidence TEXT NOT NULL, path TEXT NOT NULL, time TEXT, time_utc TEXT,
    line INTEGER, offset INTEGER, format TEXT, client_ip TEXT, server TEXT, server_name TEXT,
    method TEXT, uri TEXT, status TEXT, exposure TEXT, evidence TEXT,
    frame INTEGER, client_port INTEGER, server_port INTEGER, flow TEXT,
    host TEXT, check_id TEXT, location TEXT, observed TEXT, sha256 TEXT,
    subject TEXT, scan_source TEXT, paths TEXT, peer_ip TEXT, forwarded_for TEXT
);
CREATE TABLE verdicts (
    seq INTEGER PRIMARY KEY, subject TEXT NOT NULL, role TEXT NOT NULL,
    verdict TEXT NOT NULL, evidence_count INTEGER NOT NULL, first_seen TEXT, last_seen TEXT,
    record TEXT NOT NULL
);
CREATE TABLE hosts (verdict_seq INTEGER NOT NULL, name TEXT, address TEXT);
CREATE TABLE verdict_evidence (
    verdict_seq INTEGER NOT NULL, evidence_kind TEXT NOT NULL, finding_id INTEGER NOT NULL
);
CREATE TABLE problems (
    seq INTEGER PRIMARY KEY, path TEXT NOT NULL, reason TEXT NOT NULL, severity TEXT NOT NULL,
    kind TEXT, target TEXT, evidence_kind TEXT
);
CREATE INDEX findings_family ON findings (family);
CREATE INDEX findings_client_ip ON findings (client_ip);
CREATE INDEX findings_server ON findings (server);
CREATE INDEX findings_time ON findings (time_utc);
CREATE INDEX verdicts_verdict ON verdicts (verdict);
CREATE INDEX hosts_address ON hosts (address);
CREATE INDEX hosts_name ON hosts (name);
CREATE INDEX verdict_evidence_finding ON verdict_evidence (finding_id);
";

/// Writes the case file.
pub struct CaseSink {
    target: PathBuf,
    temporary: PathBuf,
    db: Option<Connection>,
    findings: u64,
    inputs: u64,
    verdicts: u64,
    problems: u64,
}

fn to_io(e: rusqlite::Error) -> io::Error {
    io::Error::other(e)
}

impl CaseSink {
    /// Starts a case at a temporary name beside `target`.
    pub fn create(target: &Path) -> io::Result<CaseSink> {
        if std::fs::metadata(target).is_ok_and(|m| !m.is_file()) {
            return Err(io::Error::other("a case file must be a regular file"));
        }
        let name = target
            .file_name()
            .map_or_else(|| "case".into(), |n| n.to_string_lossy().into_owned());
        let temporary =
            target.with_file_name(format!(".{name}.wormtrace-{}.tmp", std::process::id()));
        let _ = std::fs::remove_file(&temporary);
        let db = Connection::open(&temporary).map_err(to_io)?;
        // One transaction, no journal: the file is renamed into place only when complete.
        db.execute_batch("PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; BEGIN;")
            .map_err(to_io)?;
        db.execute_batch(SCHEMA).map_err(to_io)?;
        Ok(CaseSink {
            target: target.to_path_buf(),
            temporary,
            db: Some(db),
            findings: 0,
            inputs: 0,
            verdicts: 0,
            problems: 0,
        })
    }

    fn db(&self) -> io::Result<&Connection> {
        self.db
            .as_ref()
            .ok_or_else(|| io::Error::other("case already written"))
    }
}

impl Drop for CaseSink {
    fn drop(&mut self) {
        if self.db.take().is_some() {
            let _ = std::fs::remove_file(&self.temporary);
        }
    }
}

fn json<T: serde::Serialize>(value: &T) -> io::Result<String> {
    serde_json::to_string(value).map_err(io::Error::from)
}

impl Sink for CaseSink {
    fn begin(&mut self, run: &RunInfo) -> io::Result<()> {
        let db = self.db()?;
        db.execute(
            "INSERT INTO run (version, arguments, started, rule_pack_sha256, input_hash) \
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                run.version,
                json(&run.arguments)?,
                run.started.map(|t| t.rfc3339()),
                run.rule_pack_sha256,
                run.input_hash.name()
            ],
        )
        .map_err(to_io)?;
        let mut insert = db
            .prepare("INSERT INTO rules VALUES (?1, ?2, ?3, ?4, ?5, ?6)")
            .map_err(to_io)?;
        for r in &run.rules {
            insert
                .execute(params![
                    r.id,
                    r.title,
                    r.level,
                    r.family,
                    r.source,
                    r.source_sha256
                ])
                .map_err(to_io)?;
        }
        Ok(())
    }

    fn input(&mut self, input: &InputRecord) -> io::Result<()> {
        self.inputs += 1;
        let stream = input.stream.as_ref();
        self.db()?
            .prepare_cached(
                "INSERT INTO inputs VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
            )
            .and_then(|mut s| {
                s.execute(params![
                    self.inputs,
                    self.findings,
                    input.evidence_kind.name(),
                    input.host,
                    input.path,
                    input.role,
                    input.sha256,
                    input.size,
                    stream.map(|s| s.compression.clone()),
                    stream.and_then(|s| s.format.clone()),
                    stream.map(|s| s.decompressed_bytes),
                    stream.map(|s| s.lines),
                    stream.map(|s| s.findings),
                    json(input).unwrap_or_default(),
                ])
            })
            .map_err(to_io)?;
        Ok(())
    }

    fn finding(&mut self, f: &Finding) -> io::Result<()> {
        self.findings = self.findings.max(f.id);
        insert_finding(self.db()?, f).map_err(to_io)
    }

    fn verdict(&mut self, v: &Verdict) -> io::Result<()> {
        self.verdicts += 1;
        let seq = self.verdicts;
        let db = self.db()?;
        db.prepare_cached("INSERT INTO verdicts VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)")
            .and_then(|mut s| {
                s.execute(params![
                    seq,
                    v.subject,
                    v.role.name(),
                    v.state.name(),
                    v.evidence_count,
                    v.first_seen.map(|t| t.rfc3339()),
                    v.last_seen.map(|t| t.rfc3339()),
                    json(v).unwrap_or_default(),
                ])
            })
            .map_err(to_io)?;
        if let Some(h) = &v.host {
            let mut insert = db
                .prepare_cached("INSERT INTO hosts VALUES (?1, ?2, ?3)")
                .map_err(to_io)?;
            for name in &h.names {
                insert
                    .execute(params![seq, name, None::<String>])
                    .map_err(to_io)?;
            }
            for address in &h.addresses {
                insert
                    .execute(params![seq, None::<String>, address.to_string()])
                    .map_err(to_io)?;
            }
        }
        let mut link = db
            .prepare_cached("INSERT INTO verdict_evidence VALUES (?1, ?2, ?3)")
            .map_err(to_io)?;
        for (kind, ids) in &v.evidence {
            for id in ids {
                link.execute(params![seq, kind.name(), id]).map_err(to_io)?;
            }
        }
        Ok(())
    }

    fn problem(&mut self, p: &Problem) -> io::Result<()> {
        self.problems += 1;
        let (kind, target) = problem_kind_columns(&p.kind);
        self.db()?
            .execute(
                "INSERT INTO problems VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    self.problems,
                    p.path,
                    p.reason,
                    p.severity.name(),
                    kind,
                    target,
                    p.evidence_kind.map(|k| k.name())
                ],
            )
            .map_err(to_io)?;
        Ok(())
    }

    fn finish(&mut self, totals: &RunTotals) -> io::Result<()> {
        let finished = chrono::Utc::now().fixed_offset();
        let db = self
            .db
            .take()
            .ok_or_else(|| io::Error::other("case already written"))?;
        db.execute(
            "UPDATE run SET finished = ?1, totals = ?2",
            params![crate::model::Timestamp(finished).rfc3339(), json(totals)?],
        )
        .map_err(to_io)?;
        db.execute_batch("COMMIT;").map_err(to_io)?;
        db.close().map_err(|(_, e)| to_io(e))?;
        std::fs::File::open(&self.temporary)?.sync_all()?;
        std::fs::rename(&self.temporary, &self.target)
    }
}

/// A problem's kind as stored: its catalog key, and its arguments as a JSON object.
pub fn problem_kind_columns(kind: &ProblemKind) -> (Option<String>, Option<String>) {
    match kind.message() {
        Some((key, args)) => {
            let args: std::collections::BTreeMap<&str, &str> = args.into_iter().collect();
            (Some(key.to_string()), serde_json::to_string(&args).ok())
        }
        None => (None, None),
    }
}

fn insert_finding(db: &Connection, f: &Finding) -> rusqlite::Result<()> {
    let mut s = db.prepare_cached(
        "INSERT INTO findings VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14,
         ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28, ?29, ?30, ?31, ?32,
         ?33, ?34, ?35)",
    )?;
    let none = None::<String>;
    let (r, t, sc) = match &f.evidence {
        Evidence::Request(r) => (Some(r.as_ref()), None, None),
        Evidence::Trace(t) => (None, Some(t), None),
        Evidence::Scan(s) => (None, None, Some(s)),
        Evidence::Correlation(_) => (None, None, None),
    };
    let correlation = match &f.evidence {
        Evidence::Correlation(c) => Some(c.as_ref()),
        _ => None,
    };
    let wire = r.and_then(|r| r.wire.as_ref());
    let proxy = r.and_then(|r| r.proxy.as_ref());
    s.execute(params![
        f.id,
        f.evidence_kind().name(),
        f.family,
        f.rule_id,
        f.rule_title,
        f.level.name(),
        f.confidence.name(),
        f.path,
        f.time.map(|t| t.rfc3339()),
        f.time
            .map(|t| t.in_zone(chrono::FixedOffset::east_opt(0).expect("UTC"))),
        r.map(|r| r.line),
        r.map(|r| r.offset),
        r.map(|r| r.format.clone())
            .or(correlation.map(|c| format!("correlation:{}", c.kind))),
        r.and_then(|r| r.client_ip.map(|ip| ip.to_string())),
        r.and_then(|r| r.server.clone()),
        r.and_then(|r| r.server_name.clone()),
        r.and_then(|r| r.method.clone()),
        r.and_then(|r| r.uri.clone()),
        r.and_then(|r| r.status.clone()),
        r.and_then(|r| r.exposure.map(|e| e.name())),
        r.map(|r| r.text.clone())
            .or(sc.map(|s| s.text.clone()))
            .or(correlation.map(|c| c.text.clone())),
        wire.map(|w| w.frame),
        wire.map(|w| w.client_port),
        wire.map(|w| w.server_port),
        wire.map(|w| w.flow.clone()),
        t.map(|t| t.host.clone())
            .or(sc.and_then(|s| s.host.clone())),
        t.map(|t| t.check.clone()),
        t.map(|t| t.location.clone()),
        t.map(|t| t.observed.clone()),
        t.and_then(|t| t.sha256.clone()),
        sc.map(|s| s.subject.to_string()),
        sc.map(|s| s.source.name()),
        sc.map(|s| serde_json::to_string(&s.paths).unwrap_or_default())
            .or(correlation.map(correlation_payload))
            .or(none),
        proxy.and_then(|p| p.peer_ip.map(|ip| ip.to_string())),
        proxy.map(|p| p.forwarded_for.clone()),
    ])?;
    Ok(())
}

/// What a correlation finding holds besides its text, kept in the `paths` column so that
/// `report` gives it back whole.
fn correlation_payload(c: &crate::model::CorrelationEvidence) -> String {
    serde_json::json!({
        "group": c.group,
        "metric": c.metric,
        "start": c.start,
        "end": c.end,
        "windows": c.windows,
        "findings": c.findings,
        "findings_total": c.findings_total,
    })
    .to_string()
}
