//! Literal atoms for the prefilter: for each rule, a set of byte strings such that every
//! line the rule can match contains at least one of them (ASCII case-folded).
//!
//! `None` means no such set is known: the rule must see every line ("slow rule").
//! `Some(empty)` means the rule can never match.

use regex_syntax::hir::literal::{ExtractKind, Extractor};

use super::condition::Expr;
use super::matcher::{LiteralKind, Matcher, Target};
use super::rule::{Item, Rule, Selection, ValueGroup};

/// Shortest atom worth searching for; shorter ones would make most lines candidates.
pub const MIN_ATOM_LEN: usize = 3;

/// A lower-case literal that a matching line must contain.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Atom {
    pub text: Vec<u8>,
    /// The literal is a whole field value: in the raw line it stands between separators,
    /// so `search` (the method) need not stop at `/search.asp`.
    pub whole_value: bool,
}

impl Atom {
    fn part(text: Vec<u8>) -> Atom {
        Atom {
            text,
            whole_value: false,
        }
    }

    /// Rough expected share of positions where it occurs: lower is more selective.
    fn cost(&self) -> f64 {
        if COMMON_TOKENS.contains(&self.text.as_slice()) {
            return if self.whole_value { 0.5 } else { 1.0 };
        }
        let rare = self.text.iter().filter(|b| !is_common_byte(**b)).count();
        let weight = self.text.len().min(16) + rare + if self.whole_value { 2 } else { 0 };
        0.5f64.powi(weight as i32)
    }
}

/// Tokens on nearly every web-server log line.
const COMMON_TOKENS: [&[u8]; 12] = [
    b"get",
    b"post",
    b"head",
    b"http",
    b"http/1.0",
    b"http/1.1",
    b"mozilla",
    b"html",
    b".htm",
    b".html",
    b"www",
    b"index",
];

fn is_common_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'/' | b'.' | b'-' | b':' | b' ' | b'_')
}

/// One of these appears (case-folded) in every line the rule matches.
pub type AtomSet = Vec<Atom>;

/// Atoms of a whole rule.
pub fn rule_atoms(rule: &Rule) -> Option<AtomSet> {
    expr_atoms(rule.condition(), rule.selections())
}

fn expr_atoms(expr: &Expr, selections: &[Selection]) -> Option<AtomSet> {
    match expr {
        Expr::Selection(i) => selection_atoms(&selections[*i]),
        Expr::Not(_) => None,
        Expr::And(parts) => best(parts.iter().map(|p| expr_atoms(p, selections))),
        Expr::Or(parts) => union(parts.iter().map(|p| expr_atoms(p, selections))),
    }
}

fn selection_atoms(selection: &Selection) -> Option<AtomSet> {
    match selection {
        Selection::Keywords(groups, _) => {
            union(groups.iter().map(|g| group_atoms(g, &Target::Line)))
        }
        Selection::Maps(maps) => union(maps.iter().map(|items| best(items.iter().map(item_atoms)))),
    }
}

fn item_atoms(item: &Item) -> Option<AtomSet> {
    let per_group = item.groups.iter().map(|g| group_atoms(g, &item.target));
    if item.all {
        best(per_group)
    } else {
        union(per_group)
    }
}

fn group_atoms(group: &ValueGroup, target: &Target) -> Option<AtomSet> {
    union(group.0.iter().map(|m| matcher_atoms(m, target)))
}

fn matcher_atoms(matcher: &Matcher, target: &Target) -> Option<AtomSet> {
    if let Target::Missing(_) = target {
        return match matcher {
            Matcher::Null | Matcher::Exists(false) => None,
            _ => Some(Vec::new()),
        };
    }
    match matcher {
        Matcher::Literal { needle, kind, .. } => longest_fragment(needle).map(|text| {
            let whole_value = *kind == LiteralKind::Equals
                && text.len() == needle.len()
                && matches!(target, Target::Field(_));
            vec![Atom { text, whole_value }]
        }),
        Matcher::Wildcard { pieces, .. } => best(
            pieces
                .iter()
                .map(|p| longest_fragment(p).map(|a| vec![Atom::part(a)])),
        ),
        Matcher::Regex { re, .. } => regex_atoms(re.as_str()),
        _ => None,
    }
}

/// Field values can differ from the raw line where IIS wrote `+` for a space, and the
/// query is matched with `?` before it; an atom must not span those bytes.
fn longest_fragment(needle: &[u8]) -> Option<Vec<u8>> {
    needle
        .split(|&b| matches!(b, b' ' | b'+' | b'?'))
        .max_by_key(|f| f.len())
        .filter(|f| f.len() >= MIN_ATOM_LEN)
        .map(<[u8]>::to_ascii_lowercase)
}

fn regex_atoms(pattern: &str) -> Option<AtomSet> {
    let hir = regex_syntax::ParserBuilder::new()
        .utf8(false)
        .unicode(!super::rule::names_high_bytes(pattern))
        .build()
        .parse(pattern)
        .ok()?;
    [ExtractKind::Prefix, ExtractKind::Suffix]
        .into_iter()
        .filter_map(|kind| {
            let mut extractor = Extractor::new();
            extractor.kind(kind);
            let seq = extractor.extract(&hir);
            let literals = seq.literals()?;
            let atoms: Option<AtomSet> = literals
                .iter()
                .map(|l| longest_fragment(l.as_bytes()).map(Atom::part))
                .collect();
            atoms.filter(|a| !a.is_empty())
        })
        .map(dedup)
        .min_by_key(|a| a.len())
}

fn dedup(mut atoms: AtomSet) -> AtomSet {
    atoms.sort();
    atoms.dedup();
    atoms
}

/// OR: every part must give a set; the union is the rule's set.
fn union(parts: impl Iterator<Item = Option<AtomSet>>) -> Option<AtomSet> {
    let mut all = Vec::new();
    for part in parts {
        all.extend(part?);
    }
    Some(dedup(all))
}

/// AND: any one part's set will do; take the most selective.
fn best(parts: impl Iterator<Item = Option<AtomSet>>) -> Option<AtomSet> {
    parts
        .flatten()
        .map(|set| (set.iter().map(Atom::cost).sum::<f64>(), set))
        .min_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, set)| set)
}

#[cfg(test)]
mod tests {
    use super::super::rule::Placeholders;
    use super::*;

    fn parsed(detection: &str) -> Option<AtomSet> {
        let text =
            format!("title: t\nlogsource:\n  category: webserver\ndetection:\n{detection}\n");
        rule_atoms(&Rule::parse("t.yml", &text, &Placeholders::default()).unwrap())
    }

    /// The atoms' texts.
    fn atoms(detection: &str) -> Option<Vec<Vec<u8>>> {
        parsed(detection).map(|set| set.into_iter().map(|a| a.text).collect())
    }

    #[test]
    fn equal_values_are_whole_and_common_tokens_lose() {
        let method = parsed("  s:\n    cs-method: SEARCH\n  condition: s").unwrap();
        assert!(method[0].whole_value);
        let part = parsed("  s:\n    cs-method|contains: SEARCH\n  condition: s").unwrap();
        assert!(!part[0].whole_value);
        // `GET` is on every line; the keywords are rarer even though there are more of them.
        assert_eq!(
            atoms("  m:\n    cs-method: GET\n  k:\n    - '={{'\n    - '=${'\n  condition: m and k"),
            set(&["=${", "={{"])
        );
    }

    fn set(items: &[&str]) -> Option<Vec<Vec<u8>>> {
        Some(items.iter().map(|s| s.as_bytes().to_vec()).collect())
    }

    #[test]
    fn and_takes_the_best_or_takes_all() {
        assert_eq!(
            atoms("  s:\n    cs-method: GET\n    cs-uri-stem|endswith: '/Default.IDA'\n  condition: s"),
            set(&["/default.ida"])
        );
        assert_eq!(
            atoms("  a:\n    cs-uri-stem: '/root.exe'\n  b:\n    cs-uri-stem|contains: 'cmd.exe'\n  condition: a or b"),
            set(&["/root.exe", "cmd.exe"])
        );
    }

    #[test]
    fn negation_and_short_values_are_slow() {
        assert_eq!(
            atoms("  s:\n    cs-uri-stem: '/x'\n  condition: not s"),
            None
        );
        assert_eq!(atoms("  s:\n    sc-status: 4\n  condition: s"), None);
        assert_eq!(
            atoms("  s:\n    c-ip|cidr: 10.0.0.0/8\n  condition: s"),
            None
        );
    }

    #[test]
    fn fragments_avoid_spaces_plus_and_wildcards() {
        assert_eq!(
            atoms("  s:\n    cs-user-agent|contains: 'Mozilla/4.0 (compatible; Win32)'\n  condition: s"),
            set(&["(compatible;"])
        );
        assert_eq!(
            atoms("  s:\n    cs-uri-query: '*/config/keystore/*.js*'\n  condition: s"),
            set(&["/config/keystore/"])
        );
    }

    #[test]
    fn regexes_give_prefix_or_suffix_literals() {
        assert_eq!(
            atoms("  s:\n    cs-uri-stem|re: '(root|cmd)\\.exe'\n  condition: s"),
            set(&["cmd.exe", "root.exe"])
        );
        assert_eq!(
            atoms("  s:\n    cs-uri-stem|re: '.*\\.ida$'\n  condition: s"),
            set(&[".ida"])
        );
    }

    #[test]
    fn missing_fields_never_match() {
        assert_eq!(
            atoms("  s:\n    cs-content-type: x\n  condition: s"),
            Some(vec![])
        );
    }
}
