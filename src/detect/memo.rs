//! The rules' answer for a request already judged.
//!
//! Which rules match a record depends only on its format and the fields the rules of that
//! format read: the atom search over the line only narrows the rules to try, and a rule that
//! matches always has its atoms in the line. So where no rule of a format reads the raw line
//! (keywords), the answer for one set of field values holds for every line that repeats
//! them. A worm's flood is such lines: the same request from thousands of clients, at
//! thousands of times. A line whose values were judged before skips the atom listing and
//! the rules; it costs a key and a lookup.

use crate::record::{Field, LogFormat, Record, ALL_FIELDS};

use super::sigma::matcher::{Matcher, Target};
use super::sigma::rule::{Rule, Selection};

/// Answers kept before the memo starts again empty (each holds the key, at most
/// [`MAX_KEY`] bytes, and the matching rules).
const MAX_ANSWERS: usize = 1024;

/// Bytes of keys kept before the memo starts again empty: a memo holds at most this much
/// whatever the requests.
const MAX_KEY_BYTES: usize = 4 << 20;

/// Keys longer than this are not kept. A Code Red request is 8 KB of padding and tail.
const MAX_KEY: usize = 16 << 10;

/// What the rules of each format read: the fields, or nothing to go on when one of them reads
/// the raw line.
#[derive(Debug, Clone)]
pub struct FieldsRead(Vec<Option<Box<[Field]>>>);

impl FieldsRead {
    /// The fields read by the rules covering each format (`covers(rule, format)`).
    pub fn of(rules: &[Rule], covers: impl Fn(usize, LogFormat) -> bool) -> Self {
        let per_format = LogFormat::ALL
            .iter()
            .map(|&format| {
                let mut read = [false; ALL_FIELDS.len()];
                for (i, rule) in rules.iter().enumerate() {
                    if covers(i, format) && !note_fields_read(rule, &mut read) {
                        return None;
                    }
                }
                let fields: Vec<Field> =
                    ALL_FIELDS.into_iter().filter(|f| read[f.index()]).collect();
                Some(fields.into_boxed_slice())
            })
            .collect();
        FieldsRead(per_format)
    }

    /// The fields that decide the rules' answer for `format`, when no rule reads the line.
    pub fn for_format(&self, format: LogFormat) -> Option<&[Field]> {
        self.0.get(format as usize)?.as_deref()
    }
}

/// Marks the fields `rule` reads in `read`; false when it reads the raw line.
fn note_fields_read(rule: &Rule, read: &mut [bool; ALL_FIELDS.len()]) -> bool {
    let mut note = |target: &Target| match target {
        Target::Field(field) => {
            read[field.index()] = true;
            // A query test also sees the whole request target, stem included.
            if *field == Field::UriQuery {
                read[Field::UriStem.index()] = true;
            }
            true
        }
        Target::Missing(_) => true,
        Target::Line => false,
    };
    rule.selections().iter().all(|selection| match selection {
        Selection::Keywords(..) => false,
        Selection::Maps(maps) => maps.iter().flatten().all(|item| {
            note(&item.target)
                && item.groups.iter().flat_map(|g| &g.0).all(|m| match m {
                    Matcher::FieldRef(other) => note(other),
                    _ => true,
                })
        }),
    })
}

/// The rules' answers by key, bounded: at most [`MAX_ANSWERS`] answers and
/// [`MAX_KEY_BYTES`] of keys, after which it starts again empty. The key being built is kept
/// with it, so that a lookup and the keeping of its answer allocate nothing more.
#[derive(Debug, Default)]
struct Answers {
    answers: foldhash::HashMap<Box<[u8]>, Box<[usize]>>,
    /// Bytes of the keys in `answers`.
    key_bytes: usize,
    key: Vec<u8>,
}

impl Answers {
    /// The answer kept for the key built last.
    fn get(&self) -> Option<&[usize]> {
        self.answers
            .get(self.key.as_slice())
            .map(|answer| &**answer)
    }

    /// Keeps `answer` for the key built last.
    fn keep(&mut self, answer: &[usize]) {
        if self.answers.len() >= MAX_ANSWERS || self.key_bytes + self.key.len() > MAX_KEY_BYTES {
            self.answers.clear();
            self.key_bytes = 0;
        }
        self.key_bytes += self.key.len();
        self.answers
            .insert(self.key.as_slice().into(), answer.into());
    }
}

/// Answers of the rules by key (format and the values read), for one scanner.
#[derive(Debug, Default)]
pub struct RuleMemo {
    answers: Answers,
}

/// What the memo knows of a record.
pub enum Remembered<'m> {
    /// The rules that matched the same values before.
    Answer(&'m [usize]),
    /// Not judged yet: give the answer to [`RuleMemo::keep`].
    Unknown,
    /// The record cannot be looked up (a rule reads its line, or its values are too long).
    NotKept,
}

impl RuleMemo {
    /// Looks `record` up, by the values of `fields` (see [`FieldsRead::for_format`]).
    pub fn recall(&mut self, record: &Record, fields: Option<&[Field]>) -> Remembered<'_> {
        let Some(fields) = fields else {
            return Remembered::NotKept;
        };
        let key = &mut self.answers.key;
        key.clear();
        key.push(record.format as u8);
        for &field in fields {
            match record.get(field) {
                // One more than the length, so that an absent field differs from an empty one.
                Some(value) => {
                    key.extend_from_slice(&(value.len() as u32 + 1).to_le_bytes());
                    key.extend_from_slice(value);
                }
                None => key.extend_from_slice(&0u32.to_le_bytes()),
            }
            if key.len() > MAX_KEY {
                return Remembered::NotKept;
            }
        }
        match self.answers.get() {
            Some(answer) => Remembered::Answer(answer),
            None => Remembered::Unknown,
        }
    }

    /// Keeps `answer` for the record last looked up with [`RuleMemo::recall`] and found
    /// [`Remembered::Unknown`].
    pub fn keep(&mut self, answer: &[usize]) {
        self.answers.keep(answer);
    }
}

/// The rules' answers by a key made of a line's raw bytes (see
/// [`crate::record::Parser::raw_key`]), where [`RuleMemo`] keys a built record. Most
/// candidate lines of a busy log hold an atom in a place no rule looks at (`cmd.exe` in a
/// query string, say), and repeat: such a line, once judged, costs a split into columns and
/// a lookup, not a record. A line the rules match still needs its record for the finding,
/// but not the rules.
#[derive(Debug, Default)]
pub struct RawAnswers {
    answers: Answers,
    /// Lines keyed in the current round, and how many of them the rules matched.
    keyed: u32,
    matched: u32,
    /// Lines still to pass without a key.
    resting: u32,
}

/// Lines of a round of [`RawAnswers`]: when most lines of a round are matched by the rules
/// (a worm's flood), keys save nothing (the record is built for the finding anyway) and cost
/// a second parse, so the next [`RESTING_LINES`] lines are judged through [`RuleMemo`].
const ROUND_LINES: u32 = 64;
const RESTING_LINES: u32 = 4096;

/// What [`RawAnswers`] knows of a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RawLookup {
    /// The same raw key was judged before; its answer was written out (empty: no rule).
    Known,
    /// Not known: [`RawAnswers::keep`] takes the rules' answer.
    Unknown,
    /// The line has no raw key (its parser has none, or the key is too long).
    NoKey,
}

impl RawAnswers {
    /// Looks a line up by the key `make` writes (false: the line has none), and on
    /// [`RawLookup::Known`] puts the rules that matched into `out`.
    pub fn check(
        &mut self,
        make: impl FnOnce(&mut Vec<u8>) -> bool,
        out: &mut Vec<usize>,
    ) -> RawLookup {
        if self.resting > 0 {
            self.resting -= 1;
            return RawLookup::NoKey;
        }
        let key = &mut self.answers.key;
        key.clear();
        if !make(key) || key.len() > MAX_KEY {
            return RawLookup::NoKey;
        }
        match self.answers.get() {
            Some(answer) => {
                out.clear();
                out.extend_from_slice(answer);
                self.note_judged(!out.is_empty());
                RawLookup::Known
            }
            None => RawLookup::Unknown,
        }
    }

    /// Keeps `answer` for the line last looked up with [`RawAnswers::check`] and found
    /// [`RawLookup::Unknown`].
    pub fn keep(&mut self, answer: &[usize]) {
        self.answers.keep(answer);
        self.note_judged(!answer.is_empty());
    }

    /// Counts a keyed line, and rests when most of a round was matched.
    fn note_judged(&mut self, matched: bool) {
        self.keyed += 1;
        self.matched += u32::from(matched);
        if self.keyed == ROUND_LINES {
            if self.matched * 2 > ROUND_LINES {
                self.resting = RESTING_LINES;
            }
            self.keyed = 0;
            self.matched = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::pack::{load_rules, RuleOptions};
    use crate::detect::sigma::Placeholders;
    use crate::detect::Detector;

    fn web_rule(id: &str, detection: &str) -> Rule {
        let text = format!(
            "title: {id}\nid: {id}\nlogsource:\n  category: webserver\ndetection:\n{detection}\nlevel: high\n"
        );
        Rule::parse("test.yml", &text, &Placeholders::default()).unwrap()
    }

    /// A W3C record of `client` asking for `stem` with `query`, from `referer`.
    fn request<'a>(
        line: &'a [u8],
        client: &'a [u8],
        stem: &'a [u8],
        referer: &'a [u8],
    ) -> Record<'a> {
        let mut r = Record::new(line, LogFormat::IisW3c);
        r.set(Field::ClientIp, client);
        r.set(Field::UriStem, stem);
        r.set(Field::UriQuery, b"a=1");
        r.set(Field::Referer, referer);
        r
    }

    #[test]
    fn the_builtin_rules_of_access_logs_read_no_address_or_time_and_error_logs_are_not_kept() {
        let rules = load_rules(&RuleOptions::default()).rules;
        let detector = Detector::new(rules);
        let reads = &detector.reads;
        let fields = reads
            .for_format(LogFormat::IisW3c)
            .expect("no rule reads the line");
        assert!(fields.contains(&Field::UriStem) && fields.contains(&Field::UriQuery));
        for per_line in [Field::ClientIp, Field::Date, Field::Time] {
            assert!(!fields.contains(&per_line), "{per_line:?}");
        }
        // Error-log rules search the raw line (keywords).
        assert!(reads.for_format(LogFormat::ApacheError).is_none());
    }

    #[test]
    fn remembered_answers_are_the_rules_answers_whatever_field_a_rule_reads() {
        let detector = Detector::new(vec![
            web_rule("stem", "  s:\n    cs-uri-stem|endswith: '/x.dll'\n  condition: s"),
            web_rule(
                "network",
                "  s:\n    cs-uri-stem|endswith: '/x.dll'\n    c-ip|cidr: '192.0.2.0/24'\n  condition: s",
            ),
            web_rule(
                "same-as-referer",
                "  s:\n    cs-uri-stem|endswith: '/x.dll'\n    cs-uri-query|fieldref: cs-referer\n  condition: s",
            ),
            web_rule("query", "  s:\n    cs-uri-query|contains: '/x.dll?a'\n  condition: s"),
        ]);
        let mut memo = RuleMemo::default();
        let (mut plain, mut remembered) = (Vec::new(), Vec::new());
        let lines: [(&[u8], &[u8], &[u8]); 6] = [
            (b"192.0.2.7", b"/x.dll", b"a=1"),
            (b"198.51.100.9", b"/x.dll", b"a=1"),
            (b"192.0.2.7", b"/x.dll", b"-"),
            (b"198.51.100.9", b"/x.dll", b"a=1"),
            (b"192.0.2.7", b"/y/x.dll", b"a=1"),
            (b"192.0.2.7", b"/x.dll", b"a=1"),
        ];
        // Twice over, so that the second pass is answered from the memo.
        for (client, stem, referer) in lines.iter().chain(lines.iter()) {
            let line = [*client, b" GET ", *stem, b" /x.dll a=1"].concat();
            let record = request(&line, client, stem, referer);
            detector.matching_rules(&record, &mut plain);
            detector.matching_rules_remembered(&record, &mut remembered, &mut memo);
            assert_eq!(plain, remembered, "{}", String::from_utf8_lossy(&line));
        }
        assert!(memo.answers.answers.len() >= 4, "the memo was used");
    }

    #[test]
    fn values_judged_are_found_again_and_long_values_are_not_kept() {
        let fields = [Field::UriStem, Field::Referer];
        let mut memo = RuleMemo::default();
        let mut absent = Record::new(b"x", LogFormat::IisW3c);
        absent.set_cow(Field::UriStem, std::borrow::Cow::Borrowed(b"/a"));
        assert!(matches!(
            memo.recall(&absent, Some(&fields)),
            Remembered::Unknown
        ));
        memo.keep(&[1]);
        assert!(matches!(
            memo.recall(&absent, Some(&fields)),
            Remembered::Answer([1])
        ));
        let long = vec![b'a'; MAX_KEY + 1];
        let mut huge = Record::new(b"x", LogFormat::IisW3c);
        huge.set(Field::UriStem, &long);
        assert!(matches!(
            memo.recall(&huge, Some(&fields)),
            Remembered::NotKept
        ));
        assert!(matches!(memo.recall(&absent, None), Remembered::NotKept));
    }

    #[test]
    fn the_keys_kept_stay_under_their_byte_bound() {
        let fields = [Field::UriStem];
        let mut memo = RuleMemo::default();
        for n in 0..2_000u32 {
            let value = format!("/{n}/{}", "X".repeat(MAX_KEY - 64));
            let mut record = Record::new(b"x", LogFormat::IisW3c);
            record.set(Field::UriStem, value.as_bytes());
            assert!(matches!(
                memo.recall(&record, Some(&fields)),
                Remembered::Unknown
            ));
            memo.keep(&[0]);
            let held: usize = memo.answers.answers.keys().map(|k| k.len()).sum();
            assert_eq!(held, memo.answers.key_bytes);
            assert!(held <= MAX_KEY_BYTES, "{held}");
        }
    }

    #[test]
    fn raw_answers_are_kept_and_rest_after_a_round_of_matched_lines() {
        let mut answers = RawAnswers::default();
        let mut out = Vec::new();
        let key = |k: u8| {
            move |key: &mut Vec<u8>| {
                key.push(k);
                true
            }
        };
        assert_eq!(answers.check(|_| false, &mut out), RawLookup::NoKey);
        assert_eq!(answers.check(key(1), &mut out), RawLookup::Unknown);
        answers.keep(&[]);
        assert_eq!(answers.check(key(2), &mut out), RawLookup::Unknown);
        answers.keep(&[3, 5]);
        assert_eq!(answers.check(key(1), &mut out), RawLookup::Known);
        assert!(out.is_empty());
        assert_eq!(answers.check(key(2), &mut out), RawLookup::Known);
        assert_eq!(out, [3, 5]);
        // Quiet lines keep keys on; a round where most lines were matched (a flood) rests.
        for _ in 0..ROUND_LINES * 3 {
            assert_eq!(answers.check(key(1), &mut out), RawLookup::Known);
        }
        let mut rounds = 0;
        while answers.check(key(2), &mut out) == RawLookup::Known {
            rounds += 1;
        }
        assert!(rounds < ROUND_LINES, "{rounds}");
        for _ in 1..RESTING_LINES {
            assert_eq!(answers.check(key(1), &mut out), RawLookup::NoKey);
        }
        assert_eq!(answers.check(key(1), &mut out), RawLookup::Known);
    }
}
