//! JSON Lines and JSON documents, written from the model by [`super::json_write`].

use std::io::{self, Write};

use serde::Serialize;
use serde_json::ser::{CompactFormatter, Formatter};

use super::json_write::append_json;
use super::{ProblemRecord, RunTotals, Sink, SummaryRecord};
use crate::i18n::{Lang, Messages};
use crate::model::Problem;
use crate::model::{Evidence, Finding, FindingRecord, InputRecord, Verdict};

/// Writes values as JSON through one buffer kept between them (a run may write millions:
/// a fresh buffer each, grown as it fills, cost more than the serialising).
#[derive(Default)]
struct JsonBuffer(Vec<u8>);

impl JsonBuffer {
    /// Writes `value` to `out` as JSON safe for readers that split lines on U+2028 and
    /// friends.
    fn write<T: Serialize + ?Sized>(&mut self, out: &mut dyn Write, value: &T) -> io::Result<()> {
        self.0.clear();
        append_json(&mut self.0, value)?;
        out.write_all(&self.0)
    }
}

/// A finding as JSON with its `why` in English (the machine outputs' language).
pub fn finding_record<'a>(
    finding: &'a Finding,
    why: &'a mut Option<String>,
    en: &Messages,
) -> FindingRecord<'a> {
    *why = match &finding.evidence {
        Evidence::Trace(t) => Some(en.text(&format!("why-{}", t.check))),
        _ => None,
    };
    FindingRecord {
        finding,
        why: why.as_deref(),
    }
}

/// One JSON object per line, in event order: each input's findings then its `input` record,
/// the host evidence likewise, then the verdicts, the problems and a closing `summary`.
pub struct JsonlSink<W: Write> {
    out: W,
    en: Messages,
    buffer: JsonBuffer,
}

impl<W: Write> JsonlSink<W> {
    /// Writes to `out`.
    pub fn new(out: W) -> Self {
        JsonlSink {
            out,
            en: Messages::new(Lang::En),
            buffer: JsonBuffer::default(),
        }
    }

    fn line<T: Serialize>(&mut self, value: &T) -> io::Result<()> {
        self.buffer.write(&mut self.out, value)?;
        self.out.write_all(b"\n")
    }
}

impl<W: Write> Sink for JsonlSink<W> {
    fn input(&mut self, input: &InputRecord) -> io::Result<()> {
        self.line(input)
    }

    fn finding(&mut self, finding: &Finding) -> io::Result<()> {
        let mut why = None;
        let record = finding_record(finding, &mut why, &self.en);
        self.line(&record)
    }

    fn verdict(&mut self, verdict: &Verdict) -> io::Result<()> {
        self.line(verdict)
    }

    fn problem(&mut self, problem: &Problem) -> io::Result<()> {
        self.line(&ProblemRecord {
            kind: "problem",
            evidence_kind: problem.evidence_kind,
            problem,
        })
    }

    fn finish(&mut self, totals: &RunTotals) -> io::Result<()> {
        self.line(&SummaryRecord {
            kind: "summary",
            totals,
        })?;
        self.out.flush()
    }
}

/// One JSON document: `{"findings":[...],"inputs":[...],"verdicts":[...],"problems":[...],
/// "summary":{...}}`. Findings are streamed into their array as they come (serde writes each
/// value, serde_json's formatter the structure between them); the other lists are kept until
/// the end.
pub struct JsonSink<W: Write> {
    out: W,
    en: Messages,
    buffer: JsonBuffer,
    formatter: CompactFormatter,
    inputs: Vec<InputRecord>,
    verdicts: Vec<Verdict>,
    problems: Vec<Problem>,
    findings_written: u64,
    started: bool,
}

impl<W: Write> JsonSink<W> {
    /// Writes to `out`.
    pub fn new(out: W) -> Self {
        JsonSink {
            out,
            en: Messages::new(Lang::En),
            buffer: JsonBuffer::default(),
            formatter: CompactFormatter,
            inputs: Vec::new(),
            verdicts: Vec::new(),
            problems: Vec::new(),
            findings_written: 0,
            started: false,
        }
    }

    /// Opens the document and its `findings` array.
    fn start(&mut self) -> io::Result<()> {
        if !self.started {
            self.started = true;
            self.formatter.begin_object(&mut self.out)?;
            self.key("findings", true)?;
            self.formatter.begin_array(&mut self.out)?;
        }
        Ok(())
    }

    fn key(&mut self, key: &str, first: bool) -> io::Result<()> {
        self.formatter.begin_object_key(&mut self.out, first)?;
        self.buffer.write(&mut self.out, key)?;
        self.formatter.end_object_key(&mut self.out)?;
        self.formatter.begin_object_value(&mut self.out)
    }

    fn entry<T: Serialize>(&mut self, key: &str, value: &T) -> io::Result<()> {
        self.key(key, false)?;
        self.buffer.write(&mut self.out, value)?;
        self.formatter.end_object_value(&mut self.out)
    }
}

impl<W: Write> Sink for JsonSink<W> {
    fn input(&mut self, input: &InputRecord) -> io::Result<()> {
        self.inputs.push(input.clone());
        Ok(())
    }

    fn finding(&mut self, finding: &Finding) -> io::Result<()> {
        self.start()?;
        self.formatter
            .begin_array_value(&mut self.out, self.findings_written == 0)?;
        let mut why = None;
        let record = finding_record(finding, &mut why, &self.en);
        self.buffer.write(&mut self.out, &record)?;
        self.formatter.end_array_value(&mut self.out)?;
        self.findings_written += 1;
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
        self.start()?;
        self.formatter.end_array(&mut self.out)?;
        self.formatter.end_object_value(&mut self.out)?;
        let inputs = std::mem::take(&mut self.inputs);
        self.entry("inputs", &inputs)?;
        let verdicts = std::mem::take(&mut self.verdicts);
        self.entry("verdicts", &verdicts)?;
        let problems: Vec<ProblemRecord> = self
            .problems
            .iter()
            .map(|problem| ProblemRecord {
                kind: "problem",
                evidence_kind: problem.evidence_kind,
                problem,
            })
            .collect();
        let problems = serde_json::to_value(problems).map_err(io::Error::from)?;
        self.entry("problems", &problems)?;
        self.entry("summary", totals)?;
        self.formatter.end_object(&mut self.out)?;
        self.out.write_all(b"\n")?;
        self.out.flush()
    }
}
