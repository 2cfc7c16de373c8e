//! Detection: Sigma rules kept as data, compiled together behind one literal prefilter.
//!
//! Every rule yields atoms (see [`sigma::atoms`]); one caseless multi-literal search over the
//! raw buffer (Teddy for up to 64 atoms, a shift-or search beyond) finds candidate lines, so
//! lines no rule can match are never parsed.

pub mod correlation;
mod fdr;
pub mod memo;
pub mod pack;
pub mod sigma;
pub mod spreading;
mod teddy;

use crate::model::{CorrelationTag, Finding};
use crate::record::{LogFormat, Record};
use sigma::atoms::{rule_atoms, Atom, AtomSet};
use sigma::Rule;

/// How candidate lines are found.
#[derive(Debug, Clone, Copy)]
pub enum Prefilter<'d> {
    /// No rule is loaded: no line is a candidate.
    Nothing,
    /// A line is a candidate when this finds an atom in it, ignoring ASCII case.
    Atoms(&'d AtomSearcher),
    /// Some rule has no atoms: every line is a candidate.
    Everything,
}

/// All loaded rules, compiled together.
#[derive(Debug)]
pub struct Detector {
    rules: Vec<Rule>,
    atoms: Vec<Option<AtomSet>>,
    /// The search over every rule's atoms (also when some rule has none).
    searcher: Option<AtomSearcher>,
    /// Per literal id of the searcher: the rules with that atom.
    literal_rules: Vec<Vec<usize>>,
    slow_rules: Vec<usize>,
    /// Correlation rules over these rules.
    correlations: Vec<correlation::Correlation>,
    /// Per rule: the correlations it is a base of (correlation, slot, fields to keep).
    bases: Vec<Vec<(usize, usize, Vec<crate::record::Field>)>>,
    /// The correlation over network connections, when one is loaded.
    spreading: Option<spreading::Spreading>,
    /// Per rule: how specific its hits are (see [`crate::finding::keep_most_specific_rules`]).
    ranks: Vec<crate::finding::Specificity>,
    /// Per rule: the log formats its logsource covers, one bit per format (`1 << format`),
    /// so no strings are compared per line.
    coverage: Vec<u32>,
    /// Per log format: the fields its rules read (see [`memo`]).
    reads: memo::FieldsRead,
}

impl Detector {
    /// Compiles the rules' atoms into the prefilter and the per-line rule index.
    pub fn new(rules: Vec<Rule>) -> Detector {
        let atoms: Vec<Option<AtomSet>> = rules.iter().map(rule_atoms).collect();
        let mut patterns: Vec<Atom> = Vec::new();
        let mut atom_rules: Vec<Vec<usize>> = Vec::new();
        let mut slow_rules = Vec::new();
        for (rule_index, set) in atoms.iter().enumerate() {
            // Network rules see connections, never lines.
            if rules[rule_index].logsource.is_network() {
                continue;
            }
            let Some(set) = set else {
                slow_rules.push(rule_index);
                continue;
            };
            for atom in set {
                let slot = match patterns.iter().position(|p| p == atom) {
                    Some(slot) => slot,
                    None => {
                        patterns.push(atom.clone());
                        atom_rules.push(Vec::new());
                        patterns.len() - 1
                    }
                };
                atom_rules[slot].push(rule_index);
            }
        }
        let searcher = (!patterns.is_empty()).then(|| AtomSearcher::new(&patterns));
        let literal_rules = match &searcher {
            Some(searcher) => searcher
                .texts
                .iter()
                .map(|text| {
                    let mut rules: Vec<usize> = patterns
                        .iter()
                        .zip(&atom_rules)
                        .filter(|(p, _)| p.text.eq_ignore_ascii_case(text))
                        .flat_map(|(_, r)| r.iter().copied())
                        .collect();
                    rules.sort_unstable();
                    rules.dedup();
                    rules
                })
                .collect(),
            None => Vec::new(),
        };
        let bases = vec![Vec::new(); rules.len()];
        let ranks = rules.iter().map(crate::finding::rule_specificity).collect();
        let coverage = rules
            .iter()
            .map(|rule| {
                LogFormat::ALL
                    .iter()
                    .filter(|&&format| rule.logsource.covers(format))
                    .fold(0, |bits, &format| bits | format_bit(format))
            })
            .collect::<Vec<u32>>();
        let reads = memo::FieldsRead::of(&rules, |i, format| coverage[i] & format_bit(format) != 0);
        Detector {
            rules,
            atoms,
            searcher,
            literal_rules,
            slow_rules,
            correlations: Vec::new(),
            bases,
            spreading: None,
            ranks,
            coverage,
            reads,
        }
    }

    /// Adds correlation rules over the loaded rules; those whose references or fields cannot
    /// be resolved are returned as errors.
    pub fn with_correlations(
        mut self,
        mut rules: Vec<correlation::CorrelationRule>,
    ) -> (Detector, Vec<sigma::RuleError>) {
        let (spreading, mut errors) = spreading::take_spreading(&mut rules, &self.rules);
        self.spreading = spreading;
        let (resolved, resolve_errors) = correlation::resolve(rules, &self.rules);
        errors.extend(resolve_errors);
        for (index, c) in resolved.iter().enumerate() {
            for (slot, base) in c.bases.iter().enumerate() {
                if let correlation::Base::Rule {
                    index: rule,
                    fields,
                } = base
                {
                    self.bases[*rule].push((index, slot, fields.clone()));
                }
            }
        }
        self.correlations = resolved;
        (self, errors)
    }

    /// The spreading correlation (over network connections), when one is loaded.
    pub fn spreading(&self) -> Option<&spreading::Spreading> {
        self.spreading.as_ref()
    }

    /// The correlation rules, resolved.
    pub fn correlations(&self) -> &[correlation::Correlation] {
        &self.correlations
    }

    /// Keeps the most specific built-in family's hit of a line (see
    /// [`crate::finding::keep_most_specific_rules`]), and every hit of a rule a correlation
    /// counts: a correlation sees all of its base rule's findings.
    pub fn keep_reported_hits(&self, hits: &mut Vec<usize>) {
        let counted: Vec<usize> = hits
            .iter()
            .copied()
            .filter(|&i| !self.bases[i].is_empty())
            .collect();
        crate::finding::keep_most_specific_rules(hits, &self.ranks);
        if !counted.is_empty() {
            hits.extend(counted);
            hits.sort_unstable();
            hits.dedup();
        }
    }

    /// Whether rule `rule` is a base of a loaded correlation (its findings are each counted).
    pub fn feeds_correlations(&self, rule: usize) -> bool {
        !self.bases[rule].is_empty()
    }

    /// Notes on a finding of rule `rule` what its correlations need from `record`.
    pub fn tag_for_correlations(&self, rule: usize, record: &Record, finding: &mut Finding) {
        for (correlation, slot, fields) in &self.bases[rule] {
            let values = fields
                .iter()
                .map(|&f| {
                    record
                        .get(f)
                        .map(|v| String::from_utf8_lossy(v).into_owned())
                })
                .collect();
            finding.correlate.push(CorrelationTag {
                correlation: *correlation,
                slot: *slot,
                values,
            });
        }
    }

    /// The fields the rules covering `format` read, when none of them reads the raw line:
    /// records that agree on these fields get the same rules' answer.
    pub fn fields_read(&self, format: LogFormat) -> Option<&[crate::record::Field]> {
        self.reads.for_format(format)
    }

    /// The loaded rules, in load order.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// The prefilter over raw bytes.
    pub fn prefilter(&self) -> Prefilter<'_> {
        match &self.searcher {
            _ if !self.slow_rules.is_empty() => Prefilter::Everything,
            None => Prefilter::Nothing,
            Some(searcher) => Prefilter::Atoms(searcher),
        }
    }

    /// Whether some rule could match a record whose line is `line`: a rule without atoms is
    /// loaded, or an atom occurs in the line (as the prefilter of a log scan decides which lines
    /// to parse). A record is not worth building otherwise.
    pub fn may_match(&self, line: &[u8]) -> bool {
        let searcher = match self.prefilter() {
            Prefilter::Nothing => return false,
            Prefilter::Everything => return true,
            Prefilter::Atoms(searcher) => searcher,
        };
        let mut from = 0;
        while let Some(hit) = searcher.find_at(line, from) {
            match hit {
                AtomHit::Atom(_) => return true,
                // A directive or NUL mark is no atom: look on after it.
                AtomHit::Directive(at) | AtomHit::Nul(at) => from = at + 1,
            }
        }
        false
    }

    /// The atoms of the rule at `index` (None: the rule is slow).
    pub fn atoms(&self, index: usize) -> Option<&AtomSet> {
        self.atoms[index].as_ref()
    }

    /// Indexes of rules without atoms.
    pub fn slow_rules(&self) -> &[usize] {
        &self.slow_rules
    }

    /// Puts the indexes of the rules that match `record` into `out`, in rule order.
    pub fn matching_rules(&self, record: &Record, out: &mut Vec<usize>) {
        out.clear();
        out.extend_from_slice(&self.slow_rules);
        if let Some(searcher) = &self.searcher {
            // The prefilter's own search lists the atoms of the line, overlapping ones too.
            searcher.each_literal(record.line, &mut |id| {
                out.extend_from_slice(&self.literal_rules[id]);
            });
            if let Some(decoded) = record.decoded_line() {
                searcher.each_literal(decoded, &mut |id| {
                    out.extend_from_slice(&self.literal_rules[id]);
                });
            }
        }
        out.sort_unstable();
        out.dedup();
        let format = format_bit(record.format);
        out.retain(|&i| self.coverage[i] & format != 0 && self.rules[i].matches(record));
    }
}

// Every format has a bit in a u32.
const _: () = assert!(LogFormat::ALL.len() <= 32);

impl Detector {
    /// [`Detector::matching_rules`], with the answer taken from `memo` when the rules judged
    /// the same values before (see [`memo`]).
    pub fn matching_rules_remembered(
        &self,
        record: &Record,
        out: &mut Vec<usize>,
        memo: &mut memo::RuleMemo,
    ) {
        match memo.recall(record, self.reads.for_format(record.format)) {
            memo::Remembered::Answer(answer) => {
                out.clear();
                out.extend_from_slice(answer);
            }
            memo::Remembered::Unknown => {
                self.matching_rules(record, out);
                memo.keep(out);
            }
            memo::Remembered::NotKept => self.matching_rules(record, out),
        }
    }
}

/// The bit of `format` in [`Detector::coverage`].
fn format_bit(format: LogFormat) -> u32 {
    1 << format as u32
}

/// Lines longer than this are looked at for runs of one byte before their literals are
/// listed.
const SQUEEZE_FROM: usize = 128;

/// `text` with every run of one byte longer than `keep` cut to `keep` bytes, when it is long
/// and has such a run (else `text` itself). A literal of at most `keep` bytes occurs in the
/// result exactly when it occurs in `text`: it cannot hold more of a run than `keep` bytes,
/// and a run cut to `keep` still holds any part of it a literal can. Code Red's thousands of
/// `X` would otherwise pass the nibble tables at every byte.
fn squeeze_runs<'t>(text: &'t [u8], keep: usize, out: &'t mut Vec<u8>) -> &'t [u8] {
    if text.len() < SQUEEZE_FROM || keep == 0 {
        return text;
    }
    // Most lines have no run longer than `keep`: they are looked at, never copied.
    let Some(first) = long_run_at(text, 0, keep) else {
        return text;
    };
    out.reserve(text.len());
    let mut copied_to = 0;
    let mut next = Some(first);
    while let Some((start, len)) = next {
        out.extend_from_slice(&text[copied_to..start + keep]);
        copied_to = start + len;
        next = long_run_at(text, copied_to, keep);
    }
    out.extend_from_slice(&text[copied_to..]);
    out
}

/// The first run of one byte longer than `keep` at or after `from`: (start, length).
/// Such a run holds two equal neighbours at some multiple of `keep`, so only those spots
/// are looked at, and a run is measured only where they are equal.
fn long_run_at(text: &[u8], from: usize, keep: usize) -> Option<(usize, usize)> {
    let step = keep.max(1);
    let mut m = from.div_ceil(step) * step;
    while m + 1 < text.len() {
        if text[m] == text[m + 1] {
            let b = text[m];
            let start = from
                + text[from..m]
                    .iter()
                    .rposition(|&c| c != b)
                    .map_or(0, |p| p + 1);
            let end = m + text[m..]
                .iter()
                .position(|&c| c != b)
                .unwrap_or(text.len() - m);
            if end - start > keep {
                return Some((start, end - start));
            }
            m = end.div_ceil(step) * step;
            continue;
        }
        m += step;
    }
    None
}

/// What a literal search reports to, and asks.
pub trait Hits {
    /// Whether literal `id` is still worth comparing.
    fn wanted(&self, _id: usize) -> bool {
        true
    }
    /// Literal `id` was found at `start`: true takes it and ends the search.
    fn found(&mut self, start: usize, id: usize) -> bool;
    /// Whether each literal is wanted once at most (the search may then stop looking for
    /// the literals already found).
    fn once_each(&self) -> bool {
        false
    }
}

impl<F: FnMut(usize, usize) -> bool> Hits for F {
    fn found(&mut self, start: usize, id: usize) -> bool {
        self(start, id)
    }
}

/// Finds atoms in raw text, ignoring ASCII case, in one pass (no lower-cased copy): a caseless
/// Teddy for up to 64 literals, a caseless shift-or search beyond. Whole-value atoms are then
/// checked for separators around them. The same pass finds lines that start with `#` (W3C
/// directives), so a log with a header needs no second search.
#[derive(Debug, Clone)]
pub struct AtomSearcher {
    search: LiteralSearch,
    /// Per literal: it counts only as a whole value.
    whole_only: Vec<bool>,
    /// The literal that marks a line starting with `#`.
    directive: usize,
    /// The literals in id order (lower case): the atoms, then the directive and NUL marks.
    texts: Vec<Vec<u8>>,
    /// Length of the longest literal (what a run is cut to before a line's literals are
    /// listed); worked out once, not per candidate line.
    longest: usize,
}

/// The multi-literal search behind [`AtomSearcher`].
#[derive(Debug, Clone)]
enum LiteralSearch {
    Teddy(Box<teddy::Teddy>),
    Fdr(Box<fdr::Fdr>),
}

/// What [`AtomSearcher::find_at`] met first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AtomHit {
    /// An atom of some rule starts here.
    Atom(usize),
    /// A line starting with `#` starts here.
    Directive(usize),
    /// A run of NULs (a crash left part of a log unwritten) starts here.
    Nul(usize),
}

/// Literals from which the shift-or search takes over from Teddy (whose 8 buckets pass too
/// many positions beyond that).
const FDR_FROM_LITERALS: usize = 65;

/// The newline and `#` that start a directive line.
const DIRECTIVE_MARK: &[u8] = b"\n#";
/// NULs that start a block left by a crash (single NULs are left alone).
const NUL_MARK: &[u8] = b"\0\0\0\0";

impl AtomSearcher {
    fn new(atoms: &[Atom]) -> AtomSearcher {
        let mut texts: Vec<Vec<u8>> = atoms.iter().map(|a| a.text.to_ascii_lowercase()).collect();
        texts.sort();
        texts.dedup();
        // A text is whole-only when every atom with it is a whole value.
        let whole_only: Vec<bool> = texts
            .iter()
            .map(|t| {
                atoms
                    .iter()
                    .filter(|a| a.text.eq_ignore_ascii_case(t))
                    .all(|a| a.whole_value)
            })
            .chain([false, false])
            .collect();
        let directive = texts.len();
        texts.push(DIRECTIVE_MARK.to_vec());
        texts.push(NUL_MARK.to_vec());
        let search = if texts.len() >= FDR_FROM_LITERALS {
            LiteralSearch::Fdr(Box::new(fdr::Fdr::new(&texts)))
        } else {
            LiteralSearch::Teddy(Box::new(teddy::Teddy::new(&texts)))
        };
        AtomSearcher {
            search,
            whole_only,
            directive,
            longest: texts.iter().map(Vec::len).max().unwrap_or(0),
            texts,
        }
    }

    /// The first atom or directive line at or after `from` in `text` (raw bytes). Hits on
    /// one line may come a few bytes out of order, but never before a hit on an earlier line.
    pub fn find_at(&self, text: &[u8], from: usize) -> Option<AtomHit> {
        let mut accept = |start: usize, id: usize| self.accepts(text, start, id);
        let (start, id) = match &self.search {
            LiteralSearch::Teddy(t) => t.find(text, from, &mut accept),
            LiteralSearch::Fdr(f) => f.find(text, from, &mut accept),
        }?;
        Some(if id == self.directive {
            AtomHit::Directive(start + 1)
        } else if id == self.directive + 1 {
            AtomHit::Nul(start)
        } else {
            AtomHit::Atom(start)
        })
    }

    /// Calls `each(id)` once for every literal found in `text` (whole-value or not; the
    /// directive and NUL marks left out), in one pass of the same search.
    fn each_literal(&self, text: &[u8], each: &mut dyn FnMut(usize)) {
        // Teddy passes over long runs of one byte itself; the shift-or search would test
        // every position of one, so it sees the runs cut short.
        let mut squeezed = Vec::new();
        let text = match &self.search {
            LiteralSearch::Teddy(_) => text,
            LiteralSearch::Fdr(_) => squeeze_runs(text, self.longest, &mut squeezed),
        };
        struct Listing<'e> {
            /// Literals found, as bits while they fit (no allocation per candidate line).
            seen_bits: u128,
            seen: Vec<bool>,
            directive: usize,
            each: &'e mut dyn FnMut(usize),
        }
        impl Hits for Listing<'_> {
            // A literal found once is not compared again: a run of 200 `X` would otherwise
            // compare the `XXXX...` literal at every one of its bytes.
            fn wanted(&self, id: usize) -> bool {
                match self.seen.get(id) {
                    Some(&seen) => !seen,
                    None => self.seen_bits & (1 << id) == 0,
                }
            }
            fn once_each(&self) -> bool {
                true
            }
            fn found(&mut self, _: usize, id: usize) -> bool {
                match self.seen.get_mut(id) {
                    Some(seen) => *seen = true,
                    None => self.seen_bits |= 1 << id,
                }
                if id < self.directive {
                    (self.each)(id);
                }
                false
            }
        }
        let count = self.texts.len();
        let mut listing = Listing {
            seen_bits: 0,
            seen: if count > 128 {
                vec![false; count]
            } else {
                Vec::new()
            },
            directive: self.directive,
            each,
        };
        match &self.search {
            LiteralSearch::Teddy(t) => t.find(text, 0, &mut listing),
            LiteralSearch::Fdr(f) => f.find(text, 0, &mut listing),
        };
    }

    fn accepts(&self, text: &[u8], start: usize, id: usize) -> bool {
        if !self.whole_only[id] {
            return true;
        }
        let end = start + self.literal_len(id);
        let before = start.checked_sub(1).map(|i| text[i]);
        let after = text.get(end).copied();
        before.is_none_or(|b| matches!(b, b'\n' | b' ' | b'\t' | b'\r' | b'"' | b',' | b'[' | b'?'))
            && after.is_none_or(|b| {
                matches!(
                    b,
                    b'\n' | b' ' | b'\t' | b'\r' | b'"' | b',' | b']' | b'?' | b':'
                )
            })
    }

    fn literal_len(&self, id: usize) -> usize {
        match &self.search {
            LiteralSearch::Teddy(t) => t.literal_len(id),
            LiteralSearch::Fdr(f) => f.literal_len(id),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn squeezed_runs_hold_exactly_the_literals_the_line_holds() {
        let line = format!(
            "GET /default.ida?{}%u9090=a {} x",
            "X".repeat(300),
            "N".repeat(150)
        );
        let mut out = Vec::new();
        let squeezed = squeeze_runs(line.as_bytes(), 8, &mut out).to_vec();
        assert!(
            squeezed.len() < 200,
            "{}",
            String::from_utf8_lossy(&squeezed)
        );
        let has = |text: &[u8], lit: &[u8]| text.windows(lit.len()).any(|w| w == lit);
        // Literals of at most 8 bytes (the `keep`), present and absent.
        for lit in [
            &b"XXXXXXXX"[..],
            b"XXX%u90",
            b"=a NNNN",
            b"NNNNNNNN",
            b"XXXN",
            b"?XXXXXXX",
        ] {
            assert_eq!(has(&squeezed, lit), has(line.as_bytes(), lit), "{lit:?}");
        }
        let short = b"GET /x";
        assert_eq!(squeeze_runs(short, 8, &mut Vec::new()), short);
        // Every run cut to at most `keep` bytes, nothing else changed.
        let reference = |text: &[u8], keep: usize| {
            let mut out = Vec::new();
            let mut i = 0;
            while i < text.len() {
                let run = text[i..].iter().take_while(|&&c| c == text[i]).count();
                out.extend(std::iter::repeat_n(text[i], run.min(keep)));
                i += run;
            }
            out
        };
        let mut seed = 7u64;
        for _ in 0..500 {
            let len = 128 + (seed % 300) as usize;
            let text: Vec<u8> = (0..len)
                .map(|_| {
                    seed = seed
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    b"aaaaaaaXb"[(seed >> 60) as usize % 9]
                })
                .collect();
            for keep in [1, 2, 3, 5] {
                let mut out = Vec::new();
                let squeezed = squeeze_runs(&text, keep, &mut out);
                assert_eq!(squeezed, reference(&text, keep).as_slice(), "{keep}");
            }
        }
    }
    use crate::record::{Field, LogFormat};
    use pack::{load_rules, RuleOptions};

    fn detector() -> Detector {
        Detector::new(load_rules(&RuleOptions::default()).rules)
    }

    #[test]
    fn builtin_pack_has_no_slow_rules_and_a_prefilter() {
        let d = detector();
        assert!(d.slow_rules().is_empty());
        let Prefilter::Atoms(atoms) = d.prefilter() else {
            panic!("expected atoms")
        };
        let re = |text: &[u8]| matches!(atoms.find_at(text, 0), Some(AtomHit::Atom(_)));
        assert!(re(b"get /default.ida?xxx"));
        assert!(re(b"GET /DEFAULT.IDA?XXX"), "atoms are searched caselessly");
        assert!(re(b"1.2.3.4 SEARCH /x 200"));
        assert_eq!(
            atoms.find_at(b"x\n#Fields: date\n", 0),
            Some(AtomHit::Directive(2))
        );
        // The WebDAV rule's method is a whole value: a page called /search.asp is no candidate.
        assert!(re(b"1.2.3.4 search /x 200"));
        assert!(re(b"\"search /x http/1.0\""));
        assert!(!re(b"get /search.asp - 200"));
        assert!(!re(b"get /search q=1 200"));
        assert!(!re(b"GET /index.html HTTP/1.0"));
    }

    /// The line of a hit (newlines before it).
    fn hit_line(text: &[u8], hit: Option<AtomHit>) -> Option<(usize, bool)> {
        hit.map(|h| match h {
            AtomHit::Atom(at) => (text[..at].iter().filter(|&&b| b == b'\n').count(), false),
            AtomHit::Directive(at) => (text[..at].iter().filter(|&&b| b == b'\n').count(), true),
            AtomHit::Nul(at) => (text[..at].iter().filter(|&&b| b == b'\n').count(), true),
        })
    }

    #[test]
    fn the_shift_or_search_finds_the_lines_teddy_finds() {
        let mut atoms: Vec<Atom> = (0..90)
            .map(|i| Atom {
                text: format!("/x{i:02}/y").into_bytes(),
                whole_value: false,
            })
            .collect();
        for (text, whole_value) in [("search", true), ("root.exe", false), ("ab", false)] {
            atoms.push(Atom {
                text: text.as_bytes().to_vec(),
                whole_value,
            });
        }
        let with_fdr = AtomSearcher::new(&atoms);
        assert!(matches!(with_fdr.search, LiteralSearch::Fdr(_)));
        let with_teddy = AtomSearcher {
            search: LiteralSearch::Teddy(Box::new(teddy::Teddy::new(&with_fdr.texts))),
            ..with_fdr.clone()
        };
        let pieces: [&[u8]; 10] = [
            b"/search.asp ",
            b" SEARCH /",
            b"/X17/y",
            b"root.exe",
            b"a",
            b"B",
            b"zz ",
            b"\n",
            b"\n#",
            b"#",
        ];
        let mut seed = 7u64;
        for round in 0..400 {
            let mut text = Vec::new();
            for _ in 0..(round % 40) {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                text.extend_from_slice(pieces[(seed % pieces.len() as u64) as usize]);
            }
            for from in 0..text.len().min(30) {
                assert_eq!(
                    hit_line(&text, with_fdr.find_at(&text, from)),
                    hit_line(&text, with_teddy.find_at(&text, from)),
                    "{} from {from}",
                    String::from_utf8_lossy(&text)
                );
            }
        }
    }

    #[test]
    fn a_line_may_match_when_an_atom_is_in_it_even_after_a_directive_or_nul_marks() {
        let d = detector();
        assert!(d.may_match(b"GET /default.ida?NNNN HTTP/1.0\r\nHost: x\r\n"));
        assert!(!d.may_match(b"GET /index.html HTTP/1.1\r\nHost: www\r\n"));
        assert!(d.may_match(b"x\n#Fields: date\n\0\0\0\0\0GET /scripts/root.exe?/c+dir"));
        assert!(!d.may_match(b"x\n#Fields: date\n\0\0\0\0\0GET /"));
        // A rule without atoms sees everything; no rule, nothing.
        let slow = sigma::Rule::parse(
            "slow.yml",
            "title: t\nid: s\nlogsource:\n  category: webserver\ndetection:\n  s:\n    cs-uri-stem|re: '.'\n  condition: s\nlevel: low\n",
            &sigma::Placeholders::default(),
        )
        .unwrap();
        assert!(Detector::new(vec![slow]).may_match(b"GET /"));
        assert!(!Detector::new(Vec::new()).may_match(b"GET /default.ida"));
    }

    #[test]
    fn matching_rules_checks_logsource_and_condition() {
        let d = detector();
        let line = b"[Wed Aug  1 05:13:17 2001] [error] [client 192.0.2.4] File does not exist: /var/www/default.ida";
        let mut out = Vec::new();
        d.matching_rules(&Record::new(line, LogFormat::ApacheError), &mut out);
        let titles: Vec<&str> = out.iter().map(|&i| d.rules()[i].title.as_str()).collect();
        assert_eq!(titles.len(), 1, "{titles:?}");
        assert!(titles[0].contains("Apache error"));
        // The same text in an access log is not an error-log trace.
        d.matching_rules(&Record::new(line, LogFormat::IisW3c), &mut out);
        assert!(out.is_empty());
        let mut r = Record::new(b"GET /scripts/root.exe /c+dir", LogFormat::IisW3c);
        r.set(Field::UriStem, b"/scripts/root.exe");
        r.set(Field::UriQuery, b"/c+dir");
        d.matching_rules(&r, &mut out);
        let families: Vec<&str> = out
            .iter()
            .filter_map(|&i| d.rules()[i].family.as_deref())
            .collect();
        assert_eq!(families, vec!["iis-exploit", "nimda"]);
    }
}
