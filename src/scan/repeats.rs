//! Repeats: past `--repeats` findings of one kind in one input, the rest are counted and not
//! written one by one. A kind is everything the verdicts read from a finding but its time:
//! the rule, the client, the server (address and name) and what its answer said. A log of
//! nine million identical probes would otherwise write nine million records that say nothing
//! the first hundred did not, at a few hundred nanoseconds each.
//!
//! Two filters of this type stand in a scan: one in each line scanner, keyed on the raw
//! fields of the line before a finding is built (so a repeat costs a lookup and not a
//! finding), and one per input keyed on the findings themselves, which also takes the
//! scanners' tallies. The written findings are the first `limit` of each kind in input order
//! whatever the chunks were: a finding among the first `limit` of its kind is among the first
//! `limit` of its (finer) raw key in its chunk, so the scanner passed it on.

use std::sync::{Arc, RwLock};

use serde::{Deserialize, Serialize};

use crate::model::{Finding, Repeat, Timestamp};

/// The default of `--repeats`: findings of one kind written per input.
pub const DEFAULT_REPEATS: u64 = 100;
/// Kinds a filter follows: past them, findings of new kinds are all written (memory stays
/// bounded, and nothing is lost).
pub const MAX_KINDS: usize = 4_096;

type KindMap = foldhash::HashMap<Box<[u8]>, Kind>;

/// The findings of one kind past the limit: one of them as a sample (what the verdicts count
/// by), how many, and where and when they were.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Repeated {
    pub sample: Finding,
    /// Findings of the kind written before these (the filter's limit).
    pub written: u64,
    pub omitted: u64,
    pub first_line: u64,
    pub last_line: u64,
    pub first_time: Option<Timestamp>,
    pub last_time: Option<Timestamp>,
}

impl Repeated {
    fn new(sample: Finding) -> Self {
        let line = sample.request().map_or(0, |r| r.line);
        Repeated {
            written: 0,
            omitted: 1,
            first_line: line,
            last_line: line,
            first_time: sample.time,
            last_time: sample.time,
            sample,
        }
    }

    /// Counts one more finding of the kind, at `line` and `time`.
    pub fn count(&mut self, line: u64, time: Option<Timestamp>) {
        self.omitted += 1;
        self.widen(line, line, time, time);
    }

    fn widen(&mut self, first: u64, last: u64, start: Option<Timestamp>, end: Option<Timestamp>) {
        self.first_line = self.first_line.min(first);
        self.last_line = self.last_line.max(last);
        self.first_time = [self.first_time, start].into_iter().flatten().min();
        self.last_time = [self.last_time, end].into_iter().flatten().max();
    }

    fn absorb(&mut self, other: &Repeated) {
        self.omitted += other.omitted;
        self.widen(
            other.first_line,
            other.last_line,
            other.first_time,
            other.last_time,
        );
    }

    /// Moves the lines by `lines` (a chunk's findings, numbered from the file's start).
    pub fn shift_lines(&mut self, lines: u64) {
        self.first_line += lines;
        self.last_line += lines;
        if let Some(r) = self.sample.request_mut() {
            r.line += lines;
        }
    }

    /// What an output says of them.
    pub fn summary(&self) -> Repeat {
        let request = self.sample.request();
        Repeat {
            rule_id: self.sample.rule_id.clone(),
            family: self.sample.family.clone(),
            client_ip: request.and_then(|r| r.client_ip),
            server: request.and_then(|r| r.server.clone()),
            server_name: request.and_then(|r| r.server_name.clone()),
            status: request.and_then(|r| r.status.clone()),
            exposure: request.and_then(|r| r.exposure),
            written: self.written,
            omitted: self.omitted,
            first_line: self.first_line,
            last_line: self.last_line,
            first_time: self.first_time,
            last_time: self.last_time,
        }
    }
}

#[derive(Debug, Default)]
struct Kind {
    written: u64,
    repeated: Option<Repeated>,
    /// In a scanner that consults [`FullKinds`]: the key of the findings of this (raw) kind.
    finding_key: Option<Box<[u8]>>,
}

/// The kinds whose first `limit` findings an input's filter has written, shared with the
/// scanners of the input's chunks: in input order every later finding of such a kind is
/// counted, so a chunk counts it at once instead of building it (with many kinds, each
/// chunk would otherwise build up to `limit` findings of every kind for the input's filter
/// to count). At most [`MAX_KINDS`] keys.
#[derive(Debug, Default)]
pub struct FullKinds(RwLock<foldhash::HashSet<Box<[u8]>>>);

impl FullKinds {
    fn contains(&self, key: &[u8]) -> bool {
        self.0.read().is_ok_and(|kinds| kinds.contains(key))
    }

    fn mark(&self, key: &[u8]) {
        if let Ok(mut kinds) = self.0.write() {
            kinds.insert(key.into());
        }
    }
}

impl Sharing {
    /// An input's filter has written `written` findings of the kind `key`.
    fn note_written(&self, written: u64, limit: u64, key: &[u8]) {
        if let Sharing::Marks(full) = self {
            if written == limit {
                full.mark(key);
            }
        }
    }

    /// Whether a chunk's kind is one the input's filter has filled (it is then counted
    /// before the chunk has written `limit` of it).
    fn filled(&self, kind: &Kind) -> bool {
        match (self, &kind.finding_key) {
            (Sharing::Consults(full), Some(key)) => full.contains(key),
            _ => false,
        }
    }
}

/// How a filter shares what is full.
#[derive(Debug, Default)]
enum Sharing {
    #[default]
    None,
    /// The input's filter: notes the kinds it has written `limit` of.
    Marks(Arc<FullKinds>),
    /// A chunk's scanner: counts the findings of kinds the input's filter has filled.
    Consults(Arc<FullKinds>),
}

/// What to do with the next finding of a kind.
pub enum Seen<'f> {
    /// Write it.
    Write,
    /// Count it in this tally (None: it is the first repeat, and becomes the sample).
    Repeat(&'f mut Option<Repeated>),
}

/// The count of findings per kind in one input (or one chunk of it).
#[derive(Debug, Default)]
pub struct RepeatFilter {
    /// Findings of one kind written; 0 writes every finding.
    limit: u64,
    kinds: KindMap,
    /// The key of the finding being looked at (kept to spare an allocation per finding).
    key: Vec<u8>,
    sharing: Sharing,
}

impl RepeatFilter {
    /// A filter that writes `limit` findings of each kind (0: all of them).
    pub fn new(limit: u64) -> Self {
        RepeatFilter {
            limit,
            ..RepeatFilter::default()
        }
    }

    /// The input's filter, noting in `full` the kinds it has written `limit` of.
    pub fn marking(limit: u64, full: Arc<FullKinds>) -> Self {
        RepeatFilter {
            sharing: Sharing::Marks(full),
            ..RepeatFilter::new(limit)
        }
    }

    /// Makes this (a chunk scanner's) filter count the findings of kinds `full` holds.
    pub fn consult(&mut self, full: Arc<FullKinds>) {
        self.sharing = Sharing::Consults(full);
    }

    /// Whether [`RepeatFilter::note_finding`] is worth calling.
    pub fn consults(&self) -> bool {
        matches!(self.sharing, Sharing::Consults(_))
    }

    /// Notes the key of the finding just built for the kind last looked up, so that later
    /// lines of the kind can be checked against the input's full kinds.
    pub fn note_finding(&mut self, finding: &Finding) {
        // Only the kind's first written finding builds its key.
        if let Some(kind) = self.kinds.get_mut(self.key.as_slice()) {
            kind.finding_key.get_or_insert_with(|| {
                let mut key = Vec::new();
                finding_key(finding, &mut key);
                key.into_boxed_slice()
            });
        }
    }

    /// Whether the filter lets everything through.
    pub fn is_off(&self) -> bool {
        self.limit == 0
    }

    /// The buffer for the key of the next finding, emptied.
    pub fn key(&mut self) -> &mut Vec<u8> {
        self.key.clear();
        &mut self.key
    }

    /// The key of the last finding looked up.
    pub fn current_key(&self) -> &[u8] {
        &self.key
    }

    /// Counts one more finding of a kind already past the limit (false if it is not).
    pub fn count_again(&mut self, key: &[u8], line: u64, time: Option<Timestamp>) -> bool {
        match self.kinds.get_mut(key).and_then(|k| k.repeated.as_mut()) {
            Some(repeated) => {
                repeated.count(line, time);
                true
            }
            None => false,
        }
    }

    /// Looks up the kind whose key was put in [`RepeatFilter::key`], counting a written one.
    pub fn see(&mut self) -> Seen<'_> {
        if self.limit == 0 {
            return Seen::Write;
        }
        let RepeatFilter {
            limit,
            kinds,
            key,
            sharing,
        } = self;
        if !kinds.contains_key(key.as_slice()) {
            if kinds.len() >= MAX_KINDS {
                return Seen::Write;
            }
            // A new kind is written whatever the limit (at least 1): no second lookup.
            let kind = Kind {
                written: 1,
                ..Kind::default()
            };
            kinds.insert(key.clone().into_boxed_slice(), kind);
            sharing.note_written(1, *limit, key);
            return Seen::Write;
        }
        let kind = kinds.get_mut(key.as_slice()).expect("looked up above");
        if kind.written < *limit && !sharing.filled(kind) {
            kind.written += 1;
            sharing.note_written(kind.written, *limit, key);
            return Seen::Write;
        }
        Seen::Repeat(&mut kind.repeated)
    }

    /// Hands `finding` to `out` when it is among the first of its kind, else counts it.
    /// Findings the correlations need are always handed on: their windows count each one.
    pub fn pass(&mut self, finding: Finding, out: &mut crate::model::FindingOut<'_>) {
        if self.limit == 0 || !finding.correlate.is_empty() {
            return out(finding);
        }
        finding_key(&finding, self.key());
        match self.see() {
            Seen::Write => out(finding),
            Seen::Repeat(slot) => count_into(slot, finding),
        }
    }

    /// Adds the tally of a filter that stood before this one (a scanner's, a chunk's).
    pub fn absorb(&mut self, repeated: Repeated) {
        finding_key(&repeated.sample, self.key());
        // Past MAX_KINDS too: a tally is never dropped, and the scanners' kinds are few.
        let kind = self
            .kinds
            .entry(self.key.clone().into_boxed_slice())
            .or_default();
        match &mut kind.repeated {
            Some(r) => r.absorb(&repeated),
            None => kind.repeated = Some(repeated),
        }
    }

    /// The tallies of the kinds that went past the limit, in the order of their first repeat.
    pub fn into_repeats(self) -> Vec<Repeated> {
        let mut repeats: Vec<(Box<[u8]>, Repeated)> = self
            .kinds
            .into_iter()
            .filter_map(|(key, kind)| kind.repeated.map(|r| (key, r)))
            .collect();
        repeats.sort_by(|(a_key, a), (b_key, b)| (a.first_line, a_key).cmp(&(b.first_line, b_key)));
        let written = self.limit;
        repeats
            .into_iter()
            .map(|(_, r)| Repeated { written, ..r })
            .collect()
    }

    /// Findings of one kind written (what a repeat's summary says).
    pub fn limit(&self) -> u64 {
        self.limit
    }
}

/// Counts `finding` in the tally `slot` (the first repeat of a kind becomes its sample).
pub fn count_into(slot: &mut Option<Repeated>, finding: Finding) {
    match slot {
        Some(r) => r.count(finding.request().map_or(0, |q| q.line), finding.time),
        None => *slot = Some(Repeated::new(finding)),
    }
}

/// Appends one part of a key: its length first, so that parts never run into each other.
pub fn key_part(key: &mut Vec<u8>, part: Option<&[u8]>) {
    match part {
        Some(bytes) => {
            key.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
            key.extend_from_slice(bytes);
        }
        None => key.extend_from_slice(&u32::MAX.to_le_bytes()),
    }
}

/// The kind of a finding: what the verdicts read from it but its time and id.
fn finding_key(finding: &Finding, key: &mut Vec<u8>) {
    key_part(key, Some(finding.rule_id.as_bytes()));
    key_part(key, Some(finding.family.as_bytes()));
    key.push(finding.evidence_kind() as u8);
    let Some(request) = finding.request() else {
        return;
    };
    let client = request.client_ip.map(crate::net::AddressText::ip);
    key_part(key, client.as_ref().map(|c| c.as_bytes()));
    key_part(key, request.server.as_deref().map(str::as_bytes));
    key_part(key, request.server_name.as_deref().map(str::as_bytes));
    key_part(key, request.status.as_deref().map(str::as_bytes));
    key.push(request.exposure.map_or(u8::MAX, |e| e as u8));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Confidence, Evidence, Level, RequestEvidence};

    fn probe(line: u64, client: &str) -> Finding {
        Finding {
            id: 0,
            family: "code-red".into(),
            rule_id: "r".into(),
            rule_title: "t".into(),
            level: Level::High,
            confidence: Confidence::High,
            path: "a.log".into(),
            time: None,
            evidence: Evidence::Request(Box::new(RequestEvidence {
                line,
                offset: 0,
                format: "ncsa".into(),
                client_ip: client.parse().ok(),
                server: None,
                server_name: None,
                method: Some("GET".into()),
                uri: Some("/default.ida".into()),
                status: Some("404".into()),
                exposure: None,
                text: String::new(),
                wire: None,
                proxy: None,
            })),
            correlate: Vec::new(),
        }
    }

    fn run(filter: &mut RepeatFilter, findings: Vec<Finding>) -> Vec<u64> {
        let mut written = Vec::new();
        for f in findings {
            filter.pass(f, &mut |f: Finding| written.push(f.request().unwrap().line));
        }
        written
    }

    #[test]
    fn the_first_of_each_kind_are_written_and_the_rest_counted() {
        let mut filter = RepeatFilter::new(2);
        let findings = (1..=6)
            .map(|n| probe(n, if n % 2 == 0 { "192.0.2.2" } else { "192.0.2.1" }))
            .collect();
        assert_eq!(run(&mut filter, findings), vec![1, 2, 3, 4]);
        let repeats = filter.into_repeats();
        let lines: Vec<_> = repeats.iter().map(|r| (r.first_line, r.omitted)).collect();
        assert_eq!(lines, vec![(5, 1), (6, 1)]);
    }

    #[test]
    fn a_scanner_tally_joins_the_inputs_and_limit_zero_writes_all() {
        let mut scanner = RepeatFilter::new(1);
        run(
            &mut scanner,
            (1..=4).map(|n| probe(n, "192.0.2.1")).collect(),
        );
        let mut input = RepeatFilter::new(1);
        run(&mut input, vec![probe(9, "192.0.2.1")]);
        scanner
            .into_repeats()
            .into_iter()
            .for_each(|r| input.absorb(r));
        let repeats = input.into_repeats();
        assert_eq!(repeats.len(), 1);
        assert_eq!((repeats[0].omitted, repeats[0].first_line), (3, 2));
        let mut off = RepeatFilter::new(0);
        assert_eq!(
            run(&mut off, (1..=4).map(|n| probe(n, "x")).collect()).len(),
            4
        );
    }
}
