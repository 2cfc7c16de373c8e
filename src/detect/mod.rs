//! Detection: Sigma rules kept as data, compiled together behind one literal prefilter.
//!
//! Every rule yields atoms (see [`sigma::atoms`]); one multi-literal search over a lower-cased
//! copy of the buffer (the regex crate's for up to 64 atoms, a shift-or search beyond) finds
//! candidate lines, so lines no rule can match are never parsed.

mod fdr;
pub mod pack;
pub mod sigma;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use regex::bytes::Regex;

use crate::record::Record;
use sigma::atoms::{rule_atoms, Atom, AtomSet};
use sigma::Rule;

/// How candidate lines are found.
#[derive(Debug, Clone)]
pub enum Prefilter {
    /// No rule is loaded: no line is a candidate.
    Nothing,
    /// A line is a candidate when this finds an atom in it once in ASCII lower case.
    Atoms(AtomSearcher),
    /// Some rule has no atoms: every line is a candidate.
    Everything,
}

/// All loaded rules, compiled together.
#[derive(Debug)]
pub struct Detector {
    rules: Vec<Rule>,
    atoms: Vec<Option<AtomSet>>,
    prefilter: Prefilter,
    atom_index: Option<AhoCorasick>,
    atom_rules: Vec<Vec<usize>>,
    slow_rules: Vec<usize>,
}

impl Detector {
    /// Compiles the rules' atoms into the prefilter and the per-line rule index.
    pub fn new(rules: Vec<Rule>) -> Detector {
        let atoms: Vec<Option<AtomSet>> = rules.iter().map(rule_atoms).collect();
        let mut patterns: Vec<Atom> = Vec::new();
        let mut atom_rules: Vec<Vec<usize>> = Vec::new();
        let mut slow_rules = Vec::new();
        for (rule_index, set) in atoms.iter().enumerate() {
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
        let prefilter = if !slow_rules.is_empty() {
            Prefilter::Everything
        } else if patterns.is_empty() {
            Prefilter::Nothing
        } else {
            Prefilter::Atoms(AtomSearcher::new(&patterns))
        };
        let atom_index = (!patterns.is_empty()).then(|| {
            AhoCorasickBuilder::new()
                .ascii_case_insensitive(true)
                .match_kind(MatchKind::Standard)
                .build(patterns.iter().map(|a| &a.text))
                .expect("literal atoms always build")
        });
        Detector {
            rules,
            atoms,
            prefilter,
            atom_index,
            atom_rules,
            slow_rules,
        }
    }

    /// The loaded rules, in load order.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// The prefilter over raw bytes.
    pub fn prefilter(&self) -> &Prefilter {
        &self.prefilter
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
        if let Some(index) = &self.atom_index {
            for hit in index.find_overlapping_iter(record.line) {
                out.extend_from_slice(&self.atom_rules[hit.pattern().as_usize()]);
            }
        }
        out.sort_unstable();
        out.dedup();
        out.retain(|&i| {
            let rule = &self.rules[i];
            rule.logsource.covers(record.format) && rule.matches(record)
        });
    }
}

/// Finds atoms in lower-cased text: plain literals for speed (the regex crate's SIMD
/// literal search), then whole-value atoms checked for separators around them.
#[derive(Debug, Clone)]
pub struct AtomSearcher {
    regex: Regex,
    /// Over 64 atoms (where the regex crate leaves its SIMD search), a shift-or search over
    /// all but the last bytes of a buffer; the regex takes the tail.
    fdr: Option<Box<fdr::Fdr>>,
    /// Texts that count only as whole values.
    whole_only: Vec<Vec<u8>>,
}

/// Atoms from which the shift-or search takes over from the regex.
const FDR_FROM_ATOMS: usize = 65;

impl AtomSearcher {
    fn new(atoms: &[Atom]) -> AtomSearcher {
        let mut ordered: Vec<&Atom> = atoms.iter().collect();
        // Leftmost-first: at one position a plain atom is preferred, so rejecting a
        // whole-value match there never hides a plain one.
        ordered.sort_by_key(|a| a.whole_value);
        let mut whole_only: Vec<Vec<u8>> = ordered
            .iter()
            .filter(|a| a.whole_value)
            .map(|a| a.text.clone())
            .filter(|t| !atoms.iter().any(|a| !a.whole_value && &a.text == t))
            .collect();
        whole_only.sort();
        whole_only.dedup();
        let body: Vec<String> = ordered.iter().map(|a| escape(&a.text)).collect();
        let regex = Regex::new(&format!("(?-u:{})", body.join("|")))
            .expect("escaped literals always compile");
        let mut texts: Vec<Vec<u8>> = atoms.iter().map(|a| a.text.clone()).collect();
        texts.sort();
        texts.dedup();
        let usable = texts.len() >= FDR_FROM_ATOMS && texts.iter().all(|t| !t.is_empty());
        AtomSearcher {
            regex,
            fdr: usable.then(|| Box::new(fdr::Fdr::new(&texts))),
            whole_only,
        }
    }

    /// Start of the first atom at or after `from` in `lowered` (text in ASCII lower case).
    pub fn find_at(&self, lowered: &[u8], mut from: usize) -> Option<usize> {
        if let Some(fdr) = &self.fdr {
            let accept = |start: usize, len: usize| self.accepts(lowered, start, start + len);
            if let Some(start) = fdr.find_accepted(lowered, from, &accept) {
                return Some(start);
            }
            from = from.max(fdr::tail_start(lowered.len()));
        }
        loop {
            let m = self.regex.find_at(lowered, from)?;
            if self.accepts(lowered, m.start(), m.end()) {
                return Some(m.start());
            }
            from = m.start() + 1;
        }
    }

    fn accepts(&self, text: &[u8], start: usize, end: usize) -> bool {
        if self
            .whole_only
            .binary_search_by(|w| w.as_slice().cmp(&text[start..end]))
            .is_err()
        {
            return true;
        }
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
}

/// The atom as a regex matching its bytes exactly.
fn escape(text: &[u8]) -> String {
    text.iter()
        .map(|&b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("\\x{b:02x}")
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
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
        let re = |text: &[u8]| atoms.find_at(text, 0).is_some();
        assert!(re(b"get /default.ida?xxx"));
        assert!(
            !re(b"GET /DEFAULT.IDA?XXX"),
            "atoms are searched in lower case"
        );
        // The WebDAV rule's method is a whole value: a page called /search.asp is no candidate.
        assert!(re(b"1.2.3.4 search /x 200"));
        assert!(re(b"\"search /x http/1.0\""));
        assert!(!re(b"get /search.asp - 200"));
        assert!(!re(b"get /search q=1 200"));
        assert!(!re(b"GET /index.html HTTP/1.0"));
    }

    #[test]
    fn the_shift_or_search_finds_what_the_regex_finds() {
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
        assert!(with_fdr.fdr.is_some());
        let regex_only = AtomSearcher {
            fdr: None,
            ..with_fdr.clone()
        };
        let pieces: [&[u8]; 8] = [
            b"/search.asp ",
            b" search /",
            b"/x17/y",
            b"root.exe",
            b"a",
            b"b",
            b"zz ",
            b"\n",
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
                    with_fdr.find_at(&text, from),
                    regex_only.find_at(&text, from),
                    "{} from {from}",
                    String::from_utf8_lossy(&text)
                );
            }
        }
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
