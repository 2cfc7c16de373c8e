//! A shift-or search for many literals at once, after Hyperscan's FDR: for rule sets with
//! more literals than the regex crate's SIMD search takes (64), where its lazy DFA ran at
//! about 0.6 GB/s on this machine.
//!
//! Literals go into 8 buckets. For a start position `i`, lane `j` of a 64-bit state says
//! which buckets cannot have a literal whose bytes `j` and `j+1` are the text's bytes `i+j`
//! and `i+j+1` (a 12-bit hash of the pair indexes one table of 4096 words, 32 KiB). One
//! shift and one OR per byte combine the 8 lanes, so the top lane tells, 8 bytes later, which
//! buckets may hold a literal starting at `i`; those literals are then compared in full.
//! Lanes past a literal's end allow anything, so short literals work too.
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
    /// Each bucket's literals, ordered by first byte (in lower case).
    buckets: [Vec<Probe>; BUCKETS],
    /// `first[bucket][b]..first[bucket][b + 1]`: where the bucket's literals that start with
    /// byte `b` lie in `buckets[bucket]`, so a candidate is compared only with those.
    first: [Box<[u32; 257]>; BUCKETS],
    literals: Vec<Vec<u8>>,
}

/// A literal of a bucket: its first 8 bytes as a word and the mask that ignores ASCII case
/// in it (one comparison rules out most literals that share a candidate's first byte), kept
/// beside its id so that a candidate reads one array.
#[derive(Debug, Clone, Copy)]
struct Probe {
    word: u64,
    mask: u64,
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
        let first = std::array::from_fn(|b| {
            buckets[b].sort_by_key(|&i| (literals[i][0], i));
            let mut starts = Box::new([0u32; 257]);
            for byte in 0..=256usize {
                starts[byte] = buckets[b]
                    .iter()
                    .take_while(|&&i| usize::from(literals[i][0]) < byte)
                    .count() as u32;
            }
            starts
        });
        let mut table = Box::new([u64::MAX; DOMAIN]);
        for (bucket, members) in buckets.iter().enumerate() {
            for &i in members {
                allow(&mut table[..], bucket, &literals[i]);
            }
        }
        let buckets = buckets.map(|members| {
            members
                .into_iter()
                .map(|id| {
                    let (word, mask) = super::teddy::probe_of(&literals[id]);
                    Probe { word, mask, id }
                })
                .collect()
        });
        Fdr {
            table,
            buckets,
            first,
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
        let byte = usize::from(text[start].to_ascii_lowercase());
        let word = text
            .get(start..start + 8)
            .map(|w| u64::from_le_bytes(w.try_into().unwrap_or_default()));
        let mut remaining = buckets;
        while remaining != 0 {
            let b = remaining.trailing_zeros() as usize;
            remaining &= remaining - 1;
            let range = self.first[b][byte] as usize..self.first[b][byte + 1] as usize;
            let Some(members) = self.buckets[b].get(range) else {
                continue;
            };
            for m in members {
                if word.is_some_and(|w| w & m.mask != m.word) {
                    continue;
                }
                let i = m.id;
                if accept.wanted(i) && self.matches_at(text, start, i) && accept.found(start, i) {
                    return Some(i);
                }
            }
        }
        None
    }
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
    fn rejected_matches_are_passed_over() {
        let literals = vec![b"search".to_vec(), b"root.exe".to_vec()];
        let fdr = Fdr::new(&literals);
        let text = b"GET /search.asp x /scripts/ROOT.exe?/c+dir 200 ......";
        let mut only_root = |_, i: usize| i == 1;
        assert_eq!(fdr.find(text, 0, &mut only_root), Some((27, 1)));
    }
}
