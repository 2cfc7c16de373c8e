//! A faster test for regular expressions of the shape `^A B* REST`: a start, then a run of
//! one class, then a rest that cannot begin with a member of that class. The shortened Code
//! Red rules are such (`^X[X.…]*%u9090...`); on a request padded with 8 KB of `X` the lazy
//! DFA walks the run a byte at a time, a quarter of a capture's scan. As the rest cannot
//! start inside the run, the run can only end where its class ends: it is passed over with
//! a table lookup per byte and the rest is run anchored there, seeing the whole haystack
//! (look-arounds keep their context).

use regex_automata::{meta, Anchored, Input};
use regex_syntax::hir::{Class, Hir, HirKind, Look};

/// The single-byte members of a class (a table) and its ranges of characters beyond ASCII
/// (matched as UTF-8).
#[derive(Debug, Clone)]
struct CharSet {
    bytes: [bool; 256],
    wide: Vec<(char, char)>,
}

impl CharSet {
    fn empty() -> CharSet {
        CharSet {
            bytes: [false; 256],
            wide: Vec::new(),
        }
    }

    /// The set a one-character literal or a class matches (None for anything else).
    fn of(hir: &Hir) -> Option<CharSet> {
        let mut set = CharSet::empty();
        match hir.kind() {
            HirKind::Literal(lit) => {
                let text = std::str::from_utf8(&lit.0).ok()?;
                let mut chars = text.chars();
                let c = chars.next()?;
                if chars.next().is_some() {
                    return None;
                }
                set.add_char(c);
            }
            HirKind::Class(Class::Unicode(class)) => {
                for range in class.iter() {
                    for b in (range.start()..=range.end().min('\x7f')).map(|c| c as u8) {
                        set.bytes[usize::from(b)] = true;
                    }
                    if range.end() > '\x7f' {
                        set.wide.push((range.start().max('\u{80}'), range.end()));
                    }
                }
            }
            HirKind::Class(Class::Bytes(class)) => {
                for range in class.iter() {
                    for b in range.start()..=range.end() {
                        set.bytes[usize::from(b)] = true;
                    }
                }
            }
            _ => return None,
        }
        Some(set)
    }

    fn add_char(&mut self, c: char) {
        match u8::try_from(c) {
            Ok(b) if b.is_ascii() => self.bytes[usize::from(b)] = true,
            _ => self.wide.push((c, c)),
        }
    }

    /// Length of the member that starts at `pos`, if one does.
    fn len_at(&self, hay: &[u8], pos: usize) -> Option<usize> {
        let b = *hay.get(pos)?;
        if self.bytes[usize::from(b)] {
            return Some(1);
        }
        if b.is_ascii() || self.wide.is_empty() {
            return None;
        }
        let (c, len) = utf8_char_at(&hay[pos..])?;
        self.wide
            .iter()
            .any(|(lo, hi)| (*lo..=*hi).contains(&c))
            .then_some(len)
    }
}

/// Whether every match of `hir` (a literal or a class) begins with a byte that no member
/// of `run` begins with: then a run can only end where its class ends. Multi-byte members of
/// a run begin with bytes over 0x7f, so a rest beginning there is only taken when the run
/// has none.
fn begins_outside(hir: &Hir, run: &CharSet) -> bool {
    let outside = |b: u8| !run.bytes[usize::from(b)] && (b.is_ascii() || run.wide.is_empty());
    match hir.kind() {
        HirKind::Literal(lit) => lit.0.first().is_some_and(|b| outside(*b)),
        _ => CharSet::of(hir).is_some_and(|first| {
            first.wide.is_empty() && (0..=255u8).all(|b| !first.bytes[usize::from(b)] || outside(b))
        }),
    }
}

/// The character a valid UTF-8 sequence at the start of `bytes` encodes, and its length.
fn utf8_char_at(bytes: &[u8]) -> Option<(char, usize)> {
    let len = match bytes.first()? {
        0xc2..=0xdf => 2,
        0xe0..=0xef => 3,
        0xf0..=0xf4 => 4,
        _ => return None,
    };
    let c = std::str::from_utf8(bytes.get(..len)?)
        .ok()?
        .chars()
        .next()?;
    Some((c, len))
}

/// What the haystack must start with: literal bytes or one character of a class.
#[derive(Debug, Clone)]
enum Lead {
    Bytes(Vec<u8>),
    Class(Box<CharSet>),
}

impl Lead {
    fn of(hir: &Hir) -> Option<Lead> {
        match hir.kind() {
            HirKind::Literal(lit) => Some(Lead::Bytes(lit.0.to_vec())),
            _ => CharSet::of(hir).map(|set| Lead::Class(Box::new(set))),
        }
    }

    fn len_at(&self, hay: &[u8], pos: usize) -> Option<usize> {
        match self {
            Lead::Bytes(b) => hay.get(pos..)?.starts_with(b).then_some(b.len()),
            Lead::Class(set) => set.len_at(hay, pos),
        }
    }
}

/// `^A B* REST` taken apart (`A` a sequence of literals and one-character classes, maybe
/// empty) (see the module's documentation).
#[derive(Debug, Clone)]
pub struct RunPrefix {
    lead: Vec<Lead>,
    run: CharSet,
    rest: meta::Regex,
}

impl RunPrefix {
    /// The parts of a regular expression of that shape, parsed into `hir` with the flags it
    /// was compiled with; None when it has another shape.
    pub fn of(hir: &Hir) -> Option<RunPrefix> {
        let HirKind::Concat(parts) = hir.kind() else {
            return None;
        };
        if !matches!(parts.first()?.kind(), HirKind::Look(Look::Start)) {
            return None;
        }
        let at = parts
            .iter()
            .position(|p| matches!(p.kind(), HirKind::Repetition(_)))?;
        let (lead, rest) = (&parts[1..at], &parts[at + 1..]);
        let HirKind::Repetition(rep) = parts[at].kind() else {
            return None;
        };
        if rep.min != 0 || rep.max.is_some() || !rep.greedy {
            return None;
        }
        let run = CharSet::of(&rep.sub)?;
        if !rest
            .first()
            .is_some_and(|first| begins_outside(first, &run))
        {
            return None;
        }
        let rest = meta::Builder::new()
            .build_from_hir(&Hir::concat(rest.to_vec()))
            .ok()?;
        Some(RunPrefix {
            lead: lead.iter().map(Lead::of).collect::<Option<_>>()?,
            run,
            rest,
        })
    }

    /// Whether the expression matches `hay`.
    pub fn is_match(&self, hay: &[u8]) -> bool {
        let mut pos = 0;
        for lead in &self.lead {
            match lead.len_at(hay, pos) {
                Some(n) => pos += n,
                None => return false,
            }
        }
        loop {
            // Single bytes first, in a loop of their own: a run is mostly those.
            pos += hay[pos..]
                .iter()
                .take_while(|b| self.run.bytes[usize::from(**b)])
                .count();
            match self.run.len_at(hay, pos) {
                Some(n) => pos += n,
                None => break,
            }
        }
        let input = Input::new(hay)
            .range(pos..)
            .anchored(Anchored::Yes)
            .earliest(true);
        self.rest.is_match(input)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use regex::bytes::RegexBuilder;

    fn parse(pattern: &str, case_insensitive: bool) -> Hir {
        regex_syntax::ParserBuilder::new()
            .case_insensitive(case_insensitive)
            .utf8(false)
            .build()
            .parse(pattern)
            .unwrap()
    }

    const SHAPED: [&str; 7] = [
        "^[X.]*%",
        "^X[X.…]*%u9090%u6858",
        "^N[N.…]*%u9090",
        "^ab[cd]*e",
        r"^X*%\b",
        "^é[é.]*%u(9090|6858)$",
        "^X[^%]*%u",
    ];

    #[test]
    fn only_the_shape_is_taken() {
        for p in SHAPED {
            assert!(RunPrefix::of(&parse(p, true)).is_some(), "{p}");
        }
        for p in NOT_SHAPED {
            assert!(RunPrefix::of(&parse(p, true)).is_none(), "{p}");
        }
    }

    /// Near misses: a run that the rest may begin inside, or no run.
    const NOT_SHAPED: [&str; 7] = [
        "X[X.]*%",
        "^X[X.%]*%",
        "^X[X.]+%",
        "^X[X.]*?%",
        "^X[X.]*",
        "^X[X.]*[X%]",
        "^(X|YY)[X.]*%",
    ];

    fn haystack() -> impl Strategy<Value = Vec<u8>> {
        let pieces = prop_oneof![
            Just(b"X".to_vec()),
            Just(b"x".to_vec()),
            Just(b"N".to_vec()),
            Just(b".".to_vec()),
            Just("…".as_bytes().to_vec()),
            Just("é".as_bytes().to_vec()),
            Just(b"%u9090".to_vec()),
            Just(b"%u6858".to_vec()),
            Just(b"%".to_vec()),
            Just(b"ab".to_vec()),
            Just(b"c".to_vec()),
            Just(b"e".to_vec()),
            Just(vec![0xe2, 0x80]),
            Just(vec![0xff]),
        ];
        prop::collection::vec(pieces, 0..12).prop_map(|p| p.concat())
    }

    proptest! {
        #[test]
        fn agrees_with_the_regex(hay in haystack(), case_insensitive in any::<bool>()) {
            for p in SHAPED.iter().chain(&NOT_SHAPED) {
                let Some(fast) = RunPrefix::of(&parse(p, case_insensitive)) else {
                    continue;
                };
                let re = RegexBuilder::new(p)
                    .case_insensitive(case_insensitive)
                    .build()
                    .unwrap();
                prop_assert_eq!(fast.is_match(&hay), re.is_match(&hay), "{} on {:?}", p, hay);
            }
        }
    }
}
