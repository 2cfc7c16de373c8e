//! Eight bytes at a time: the word arithmetic that lets a scanner pass over plain bytes
//! without looking at each (JSON escaping, netstat rows). Words are little-endian, so the
//! lowest marked byte of a word is the first in the text.

const ONES: u64 = u64::from_le_bytes([0x01; 8]);
const HIGHS: u64 = u64::from_le_bytes([0x80; 8]);

/// The eight bytes at `at`, when there are eight.
pub fn word_at(bytes: &[u8], at: usize) -> Option<u64> {
    let eight = bytes.get(at..at + 8)?;
    Some(u64::from_le_bytes(eight.try_into().ok()?))
}

/// Eight bytes as a word (zero when `bytes` is not eight long).
pub fn word_of(bytes: &[u8]) -> u64 {
    u64::from_le_bytes(bytes.try_into().unwrap_or_default())
}

/// The high bit of each byte below `limit` (at most 0x80). The lowest marked byte is exact;
/// a byte above it may be marked too (the subtraction's borrow carries on).
pub fn below(word: u64, limit: u8) -> u64 {
    word.wrapping_sub(ONES * u64::from(limit)) & !word & HIGHS
}

/// The high bit of each byte equal to `byte`, with the same caveat as [`below`].
pub fn equal_to(word: u64, byte: u8) -> u64 {
    below(word ^ (ONES * u64::from(byte)), 1)
}

/// The high bit of each byte that is not ASCII.
pub fn not_ascii(word: u64) -> u64 {
    word & HIGHS
}

/// Where the first marked byte of the word at `at` is.
pub fn first_marked(at: usize, marks: u64) -> usize {
    at + (marks.trailing_zeros() / 8) as usize
}

/// Each byte of `word` that differs from `byte`, as a nonzero byte (exact, no carries).
pub fn differs_from(word: u64, byte: u8) -> u64 {
    word ^ (ONES * u64::from(byte))
}

/// The high bit of each byte equal to `byte`, exactly: every such byte is marked, and no
/// other (no borrow crosses a byte, unlike [`equal_to`]).
pub fn each_equal_to(word: u64, byte: u8) -> u64 {
    let x = word ^ (ONES * u64::from(byte));
    // Per byte: the low seven bits plus 0x7F reach the high bit unless they are all zero.
    !(((x & !HIGHS).wrapping_add(!HIGHS)) | x | !HIGHS)
}

/// Where each `byte` of `bytes` is, in order: a split into fields that looks at a word at a
/// time, and costs a few instructions per separator (memchr's set-up per call is more than
/// that for fields a dozen bytes long).
pub fn positions(bytes: &[u8], byte: u8) -> Positions<'_> {
    Positions {
        bytes,
        byte,
        next_word: 0,
        word: 0,
        marks: 0,
    }
}

/// The iterator of [`positions`].
#[derive(Debug, Clone)]
pub struct Positions<'b> {
    bytes: &'b [u8],
    byte: u8,
    /// Where the next word to load starts.
    next_word: usize,
    /// Where the word whose marks are left starts.
    word: usize,
    marks: u64,
}

impl Iterator for Positions<'_> {
    type Item = usize;

    fn next(&mut self) -> Option<usize> {
        while self.marks == 0 {
            let at = self.next_word;
            let rest = self.bytes.get(at..).filter(|r| !r.is_empty())?;
            let word = word_at(self.bytes, at).unwrap_or_else(|| {
                // The last bytes, filled out with a byte that is not the one looked for.
                let mut eight = [!self.byte; 8];
                eight[..rest.len()].copy_from_slice(rest);
                u64::from_le_bytes(eight)
            });
            self.marks = each_equal_to(word, self.byte);
            self.word = at;
            self.next_word = at + 8;
        }
        let position = first_marked(self.word, self.marks);
        self.marks &= self.marks - 1;
        Some(position)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn the_first_mark_is_the_first_byte_that_qualifies(
            bytes in proptest::array::uniform8(any::<u8>()), limit in 1u8..=0x80, byte: u8
        ) {
            let word = word_of(&bytes);
            let first_below = bytes.iter().position(|&b| b < limit);
            let marks = below(word, limit);
            prop_assert_eq!((marks != 0).then(|| first_marked(0, marks)), first_below);
            let first_equal = bytes.iter().position(|&b| b == byte);
            let marks = equal_to(word, byte);
            prop_assert_eq!((marks != 0).then(|| first_marked(0, marks)), first_equal);
            let first_other = bytes.iter().position(|&b| b != byte);
            let other = differs_from(word, byte);
            prop_assert_eq!((other != 0).then(|| first_marked(0, other)), first_other);
            let every: Vec<usize> = (0..8).filter(|&i| bytes[i] == byte).collect();
            let marks = each_equal_to(word, byte);
            let marked: Vec<usize> = (0..8).filter(|&i| marks >> (i * 8) & 0xFF != 0).collect();
            prop_assert_eq!(marked, every);
            prop_assert_eq!(marks & !HIGHS, 0);
        }

        #[test]
        fn positions_are_every_place_of_the_byte_in_order(
            bytes in proptest::collection::vec(prop_oneof![Just(b' '), Just(0u8), Just(0xFFu8), any::<u8>()], 0..80),
            byte in prop_oneof![Just(b' '), Just(0u8), Just(0xFFu8), any::<u8>()],
        ) {
            let expected: Vec<usize> = (0..bytes.len()).filter(|&i| bytes[i] == byte).collect();
            prop_assert_eq!(positions(&bytes, byte).collect::<Vec<_>>(), expected);
        }
    }
}
