//! A shift-or search for many literals at once, after Hyperscan's FDR: for rule sets with
//! more literals than the regex crate's SIMD search takes (64), where its lazy DFA ran at
//! about 0.6 GB/s on this machine.
//!
//! Literals go into 8 buckets. For a start position `i`, lane `j` of a 64-bit state says
//! which buckets cannot have a literal whose bytes `j` and `j+1` are the text's bytes `i+j`
//! and `i+j+1` (a 12-bit hash of the pair indexes one table of 4096 words, 32 KiB). One
//! shift and one OR per byte combine the 8 lanes, so the top lane tells, 8 bytes later, which
//! buckets may hold a literal starting at `i`; those literals are then compared in full.
//! Lanes past a literal's end allow anything, so short literals work too. Only the literals
//! of those buckets that start with the text's first two bytes are compared, each first by
//! two masked 8-byte words.
//!
//! The search ignores ASCII case without a lower-cased copy of the text: a pair's first byte
//! is entered in both cases, and the second is looked at only by its low nibble, which both
//! cases of a letter share. Literals are then compared caselessly.

use super::Hits;

/// Buckets (one bit each in a lane).
const BUCKETS: usize = 8;
/// Bytes of a literal the table looks at.
const LANES: usize = 8;
/// Table size: the first byte and the low nibble of the next.
const DOMAIN: usize = 1 << 12;

fn domain_index(first: u8, next: u8) -> usize {
    usize::from(first) | (usize::from(next & 0x0f) << 8)
}

/// The compiled search.
#[derive(Debug, Clone)]
pub struct Fdr {
    /// Bit `8 * lane + bucket` set: that bucket has no literal with this pair at that lane.
    /// A fixed-size array, so an index masked to 12 bits needs no bounds check.
    table: Box<[u64; DOMAIN]>,
    /// Every literal's probe, ordered by [`start_key`] of its first two bytes.
    probes: Vec<Probe>,
    /// `starts[k]..starts[k + 1]`: where the literals whose start has key `k` lie in
    /// `probes`, so a candidate is compared only with those (keyed by the first byte alone,
    /// a candidate at a `/` was compared with every literal starting with `/` in its bucket).
    starts: Box<[u32; KEYS + 1]>,
    literals: Vec<Vec<u8>>,
}

/// Keys of a literal's first two bytes: the first in lower case, and the low 5 bits of the
/// next (which both cases of a letter share).
const KEYS: usize = 1 << 13;

fn start_key(first: u8, next: u8) -> usize {
    usize::from(first.to_ascii_lowercase()) | (usize::from(next & 0x1f) << 8)
}

/// A literal of a bucket: its first 8 bytes as a word and the mask that ignores ASCII case
/// in it (one comparison rules out most literals that share a candidate's first byte), then
/// its next 8 bytes the same way, kept beside its id so that a candidate reads one array.
/// The second word is for literals that share their start: SigmaHQ has twenty
/// `/scripts/..%c0%af../winnt/system32/cmd.exe` spellings, and every benign `/scripts/` URL
/// compared all twenty in full.
#[derive(Debug, Clone, Copy)]
struct Probe {
    word: u64,
    mask: u64,
    /// Bytes 8 to 15 (mask 0 where the literal is shorter, which lets any text through).
    word2: u64,
    mask2: u64,
    /// The bucket's bit.
    bucket: u8,
    id: usize,
}

impl Fdr {
    /// The first literal starting at or after `from` that `accept(start, id)` takes (`id`:
    /// its index among the literals given to [`Fdr::new`]), with its start.
    pub fn find(&self, text: &[u8], from: usize, accept: &mut dyn Hits) -> Option<(usize, usize)> {
        if let Some(found) = self.find_body(text, from, accept) {
            return Some(found);
        }
        // The last few starts, which the lanes do not reach, one by one.
        let tail = text.len().saturating_sub(LANES + 1).max(from);
        (tail..text.len()).find_map(|start| {
            self.verify(text, start, u8::MAX, accept)
                .map(|i| (start, i))
        })
    }

    /// Compiles non-empty `literals` (compared ignoring ASCII case).
    pub fn new(literals: &[Vec<u8>]) -> Fdr {
        let literals: Vec<Vec<u8>> = literals.iter().map(|l| l.to_ascii_lowercase()).collect();
        let mut order: Vec<usize> = (0..literals.len()).collect();
        // Literals of like length share a bucket, so a bucket of short (permissive)
        // literals does not make the long ones' buckets fire too.
        order.sort_by_key(|&i| (literals[i].len(), i));
        let per_bucket = literals.len().div_ceil(BUCKETS).max(1);
        let mut buckets: [Vec<usize>; BUCKETS] = Default::default();
        for (n, &i) in order.iter().enumerate() {
            buckets[n / per_bucket].push(i);
        }
        let mut table = Box::new([u64::MAX; DOMAIN]);
        for (bucket, members) in buckets.iter().enumerate() {
            for &i in members {
                allow(&mut table[..], bucket, &literals[i]);
            }
        }
        let (probes, starts) = index_probes(&literals, &buckets);
        Fdr {
            table,
            probes,
            starts,
            literals,
        }
    }

    /// Length of the literal `id`.
    pub fn literal_len(&self, id: usize) -> usize {
        self.literals[id].len()
    }

    fn matches_at(&self, text: &[u8], start: usize, i: usize) -> bool {
        let literal = &self.literals[i];
        text.get(start..start + literal.len())
            .is_some_and(|t| t.eq_ignore_ascii_case(literal))
    }

    /// The first position in `from..text.len() - 9` where the table lets a bucket through
    /// and `accept` takes one of that bucket's literals found there.
    fn find_body(&self, text: &[u8], from: usize, accept: &mut dyn Hits) -> Option<(usize, usize)> {
        let end = text.len().checked_sub(LANES + 1)?;
        if from >= end {
            return None;
        }
        // Prime the lanes with the pairs at from..from+7, one at a time.
        let mut state = u64::MAX;
        for p in from..from + LANES - 1 {
            state = (state << 8) | self.lookup(text[p], text[p + 1]);
        }
        // Then 8 positions a step: their 8 words are independent, so the loads overlap.
        // After a step, byte 7 + m of `acc` holds the buckets that start `p0 - m` rules out.
        let mut p0 = from + LANES - 1;
        while p0 + LANES < end + LANES - 1 {
            let word = u64::from_le_bytes(text[p0..p0 + 8].try_into().unwrap_or([0; 8]));
            let after = u64::from(text[p0 + 8]);
            let mut acc = u128::from(state) << 64;
            for k in 0..LANES {
                let pair = if k < LANES - 1 {
                    word >> (8 * k)
                } else {
                    (word >> 56) | (after << 8)
                };
                let entry = self.table[pair as usize & (DOMAIN - 1)];
                acc |= u128::from(entry) << (56 - 8 * k);
            }
            let ruled_out = (acc >> 56) as u64;
            if ruled_out != u64::MAX {
                for m in (0..LANES).rev() {
                    let maybe = !(ruled_out >> (8 * m)) as u8;
                    let start = p0 - m;
                    if maybe != 0 {
                        if let Some(i) = self.verify(text, start, maybe, accept) {
                            return Some((start, i));
                        }
                    }
                }
            }
            state = acc as u64;
            p0 += LANES;
        }
        // The last few positions, one at a time.
        for p in p0..end + LANES - 1 {
            state = (state << 8) | self.lookup(text[p], text[p + 1]);
            let maybe = !(state >> 56) as u8;
            let start = p + 1 - LANES;
            if maybe != 0 {
                if let Some(i) = self.verify(text, start, maybe, accept) {
                    return Some((start, i));
                }
            }
        }
        None
    }

    fn lookup(&self, first: u8, next: u8) -> u64 {
        self.table[domain_index(first, next)]
    }

    fn verify(
        &self,
        text: &[u8],
        start: usize,
        buckets: u8,
        accept: &mut dyn Hits,
    ) -> Option<usize> {
        let word_at = |at: usize| {
            text.get(at..at + 8)
                .map(|w| u64::from_le_bytes(w.try_into().unwrap_or_default()))
        };
        let (word, word2) = (word_at(start), word_at(start + 8));
        let key = start_key(text[start], text.get(start + 1).copied().unwrap_or(0));
        let range = self.starts[key] as usize..self.starts[key + 1] as usize;
        for m in self.probes.get(range).unwrap_or_default() {
            if buckets & m.bucket == 0
                || word.is_some_and(|w| w & m.mask != m.word)
                || word2.is_some_and(|w| w & m.mask2 != m.word2)
            {
                continue;
            }
            let i = m.id;
            if accept.wanted(i) && self.matches_at(text, start, i) && accept.found(start, i) {
                return Some(i);
            }
        }
        None
    }
}

/// The probes of the literals in `buckets`, ordered by start key, and where each key's lie.
/// A one-byte literal is entered under every key of its byte.
fn index_probes(
    literals: &[Vec<u8>],
    buckets: &[Vec<usize>; BUCKETS],
) -> (Vec<Probe>, Box<[u32; KEYS + 1]>) {
    let mut keyed: Vec<(usize, Probe)> = Vec::new();
    for (bucket, members) in buckets.iter().enumerate() {
        for &id in members {
            let literal = &literals[id];
            let (word, mask) = super::teddy::probe_of(literal);
            let (word2, mask2) = super::teddy::probe_of(literal.get(8..).unwrap_or(&[]));
            let probe = Probe {
                word,
                mask,
                word2,
                mask2,
                bucket: 1 << bucket,
                id,
            };
            match literal.get(1) {
                Some(&next) => keyed.push((start_key(literal[0], next), probe)),
                None => keyed.extend((0..32u8).map(|next| (start_key(literal[0], next), probe))),
            }
        }
    }
    keyed.sort_by_key(|(key, probe)| (*key, probe.id));
    let mut starts = Box::new([0u32; KEYS + 1]);
    for key in 0..=KEYS {
        starts[key] = keyed.partition_point(|(k, _)| *k < key) as u32;
    }
    (keyed.into_iter().map(|(_, p)| p).collect(), starts)
}

/// Clears the bucket's bit wherever `literal` allows the pair at a lane, in either case.
fn allow(table: &mut [u64], bucket: usize, literal: &[u8]) {
    for lane in 0..LANES {
        let bit = !(1u64 << (8 * lane + bucket));
        match (literal.get(lane), literal.get(lane + 1)) {
            (Some(&first), Some(&next)) => {
                for first in [first.to_ascii_lowercase(), first.to_ascii_uppercase()] {
                    table[domain_index(first, next)] &= bit;
                }
            }
            (Some(&first), None) => {
                for first in [first.to_ascii_lowercase(), first.to_ascii_uppercase()] {
                    for next in 0..16u8 {
                        table[domain_index(first, next)] &= bit;
                    }
                }
            }
            (None, _) => table.iter_mut().for_each(|w| *w &= bit),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(text: &[u8], from: usize, literals: &[Vec<u8>]) -> Option<usize> {
        (from..text.len()).find(|&i| {
            literals.iter().any(|l| {
                text.get(i..i + l.len())
                    .is_some_and(|t| t.eq_ignore_ascii_case(l))
            })
        })
    }

    /// A small deterministic generator (xorshift).
    fn next(state: &mut u64) -> u64 {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        *state
    }

    #[test]
    fn finds_what_a_naive_search_finds() {
        let literals: Vec<Vec<u8>> = [
            "a",
            "ab",
            "user",
            "search",
            "/default.ida",
            "xxxxxxxxxxxxxxxxxxxx",
            "%u9090",
            "/wp-content/plugins/wp2shell_",
            "cmd.exe",
            "..%255c",
            "=a",
            "qq",
            "/api/v2/x",
        ]
        .iter()
        .map(|s| s.as_bytes().to_vec())
        .chain((0..150).map(|i| format!("/lit{i:03}/path").into_bytes()))
        .collect();
        let fdr = Fdr::new(&literals);
        let alphabet = b"abcdeqrsux/.%25=_-0123456789 wplitpathABCQSUX";
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        for round in 0..300 {
            let len = 10 + (next(&mut seed) % 300) as usize;
            let mut text: Vec<u8> = (0..len)
                .map(|_| alphabet[(next(&mut seed) % alphabet.len() as u64) as usize])
                .collect();
            // Plant a literal now and then.
            if round % 3 == 0 && len > 40 {
                let l = &literals[(next(&mut seed) % literals.len() as u64) as usize];
                let at = (next(&mut seed) as usize) % (len - l.len().min(len));
                text[at..at + l.len().min(len - at)].copy_from_slice(&l[..l.len().min(len - at)]);
            }
            for from in [0, 1, 5, len / 2] {
                assert_eq!(
                    fdr.find(&text, from, &mut |_, _| true)
                        .map(|(start, _)| start),
                    naive(&text, from, &literals),
                    "round {round} from {from}: {}",
                    String::from_utf8_lossy(&text)
                );
            }
        }
    }

    #[test]
    fn literals_that_share_their_start_are_told_apart_in_any_case() {
        let spellings = ["%c0%af", "%c1%9c", "%255c", "%5c", "%2f", "%c0%2f", "%252f"];
        let mut literals: Vec<Vec<u8>> = spellings
            .iter()
            .map(|s| format!("/scripts/..{s}../winnt/system32/cmd.exe").into_bytes())
            .collect();
        literals.extend((0..60).map(|i| format!("/scripts/x{i}").into_bytes()));
        literals.push(b"/s".to_vec());
        let fdr = Fdr::new(&literals);
        let text =
            b"GET /scripts/menu.asp 200\nGET /SCRIPTS/..%255C../WinNT/system32/cmd.exe 404\n";
        let mut not_short = |_, i: usize| i != literals.len() - 1;
        assert_eq!(fdr.find(text, 0, &mut not_short), Some((30, 2)));
        assert_eq!(
            fdr.find(text, 0, &mut |_, _| true),
            Some((4, literals.len() - 1))
        );
        assert_eq!(fdr.find(&text[..60], 5, &mut not_short), None);
    }

    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config::with_cases(64))]

        /// Random literal sets over a small alphabet share starts, lengths and cases often,
        /// which is where the two-byte index and the two probe words could go wrong.
        #[test]
        fn any_literal_set_finds_what_a_naive_search_finds(
            literals in proptest::collection::vec("[aAbB/.%0-9]{1,20}", 65..200),
            text in "[aAbB/.%0-9 ]{0,400}",
            from in 0usize..40,
        ) {
            let literals: Vec<Vec<u8>> = literals.into_iter().map(String::into_bytes).collect();
            let fdr = Fdr::new(&literals);
            let lower: Vec<Vec<u8>> = literals.iter().map(|l| l.to_ascii_lowercase()).collect();
            let text = text.as_bytes();
            let from = from.min(text.len());
            let found = fdr.find(text, from, &mut |_, _| true);
            proptest::prop_assert_eq!(found.map(|(start, _)| start), naive(text, from, &lower));
            if let Some((start, id)) = found {
                let hit = &text[start..start + literals[id].len()];
                proptest::prop_assert!(hit.eq_ignore_ascii_case(&literals[id]));
            }
        }
    }

    #[test]
    fn rejected_matches_are_passed_over() {
        let literals = vec![b"search".to_vec(), b"root.exe".to_vec()];
        let fdr = Fdr::new(&literals);
        let text = b"GET /search.asp x /scripts/ROOT.exe?/c+dir 200 ......";
        let mut only_root = |_, i: usize| i == 1;
        assert_eq!(fdr.find(text, 0, &mut only_root), Some((27, 1)));
    }
}
