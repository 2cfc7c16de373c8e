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
        }
    }
}
