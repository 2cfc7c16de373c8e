//! A list of alternative values tested in one pass.
//!
//! SigmaHQ's keyword rules and many of its field tests list dozens of `contains` values
//! (`SQL Injection Strings In URI` has 40), and a line matches when any of them is in it. Each
//! value's own search costs a pass over the line; on a busy log those rules' atoms hold on a
//! quarter of the lines, where the rules matched nothing and their passes were the largest
//! part of the time. The caseless `contains` values of a list are put into one Aho-Corasick
//! automaton, which looks for all of them at once; the other values are tested one by one.

use aho_corasick::AhoCorasick;

use super::matcher::{any_text_seen, LiteralKind, Matcher, Target};
use super::rule::ValueGroup;
use crate::record::Record;

/// Values from which one search for them all is built.
const MIN_NEEDLES: usize = 4;

/// The alternatives of a list of value groups: any value of any group may match.
#[derive(Debug, Clone)]
pub struct AnyOf {
    /// The caseless `contains` values, searched for together (ASCII case ignored).
    contains: AhoCorasick,
    /// Where the other values are: (group, value within the group).
    rest: Vec<(usize, usize)>,
}

impl AnyOf {
    /// The search for `groups`, when they hold enough caseless `contains` values.
    pub fn new(groups: &[ValueGroup]) -> Option<Box<AnyOf>> {
        let mut needles: Vec<&[u8]> = Vec::new();
        let mut rest = Vec::new();
        for (g, group) in groups.iter().enumerate() {
            for (m, matcher) in group.0.iter().enumerate() {
                match matcher {
                    Matcher::Literal {
                        kind: LiteralKind::Contains,
                        needle,
                        cased: false,
                        ..
                    } => needles.push(needle),
                    _ => rest.push((g, m)),
                }
            }
        }
        if needles.len() < MIN_NEEDLES {
            return None;
        }
        let contains = AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .build(needles)
            .ok()?;
        Some(Box::new(AnyOf { contains, rest }))
    }

    /// Whether some value of `groups` (the groups this search was built from) matches the
    /// record at `target`, as testing each value in turn would say.
    pub fn matches(&self, groups: &[ValueGroup], target: &Target, record: &Record) -> bool {
        any_text_seen(target, record, &mut |text, _| self.contains.is_match(text))
            || self
                .rest
                .iter()
                .any(|&(g, m)| groups[g].0[m].test(target, record))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::sigma::value::SigmaString;
    use crate::record::{Field, LogFormat};

    fn groups(values: &[(&str, LiteralKind, bool)]) -> Vec<ValueGroup> {
        values
            .iter()
            .map(|(v, kind, cased)| {
                let m = Matcher::from_string(SigmaString::parse(v), *kind, *cased).unwrap();
                ValueGroup(vec![m])
            })
            .collect()
    }

    fn one_by_one(groups: &[ValueGroup], target: &Target, record: &Record) -> bool {
        groups
            .iter()
            .any(|g| g.0.iter().any(|m| m.test(target, record)))
    }

    #[test]
    fn one_search_says_what_testing_each_value_says() {
        use LiteralKind::*;
        let groups = groups(&[
            ("=select", Contains, false),
            ("UNION", Contains, false),
            ("@@version", Contains, false),
            ("1=1#", Contains, false),
            ("Cased", Contains, true),
            ("/admin*.php", Contains, false),
            ("/login", StartsWith, false),
        ]);
        let any = AnyOf::new(&groups).expect("five caseless contains values");
        let query = Target::Field(Field::UriQuery);
        let lines: &[&[u8]] = &[
            b"GET /a.asp id=1+Union+all 200",
            b"GET /a.asp id=2 200",
            b"GET /x cased 200",
            b"GET /x Cased 200",
            b"GET /admin/x.php - 200",
            b"GET /login?u=@@VERSION 200",
            b"GET /b.asp ?q=SELECT 404",
            b"",
        ];
        for &line in lines {
            let text = String::from_utf8_lossy(line);
            let mut parts = line.split(|&b| b == b' ');
            let mut record = Record::new(line, LogFormat::IisW3c);
            for field in [Field::Method, Field::UriStem, Field::UriQuery] {
                record.set(field, parts.next().unwrap_or_default());
            }
            for target in [&Target::Line, &query, &Target::Field(Field::UriStem)] {
                assert_eq!(
                    any.matches(&groups, target, &record),
                    one_by_one(&groups, target, &record),
                    "{text:?} at {target:?}"
                );
            }
        }
    }

    #[test]
    fn few_contains_values_are_tested_one_by_one() {
        let groups = groups(&[
            ("a", LiteralKind::Contains, false),
            ("b", LiteralKind::Contains, false),
            ("c", LiteralKind::Contains, true),
        ]);
        assert!(AnyOf::new(&groups).is_none());
    }
}
