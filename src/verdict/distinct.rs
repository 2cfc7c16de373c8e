//! Distinct counts in bounded memory: exact up to [`EXACT_CAP`] values, then estimated with
//! a HyperLogLog sketch (2^12 one-byte registers, standard error about 1.6%).
//!
//! The sketch hashes with FNV-1a and a SplitMix64 finaliser, fixed functions, so the estimate
//! is the same on every run and machine. Sketches merge by taking the larger register, so a
//! union of tallies (a host with several addresses, or partial scans joined later) estimates
//! the union, not the sum.

use std::collections::BTreeSet;

/// Values counted exactly (and kept, as a sample for locality shares) before the estimate.
pub const EXACT_CAP: usize = 1_000;
/// log2 of the number of registers.
const PRECISION: u32 = 12;
const REGISTERS: usize = 1 << PRECISION;

/// A set of strings that stops growing at [`EXACT_CAP`] and counts on by estimate.
#[derive(Debug, Clone, Default)]
pub struct Distinct {
    /// The first values met (all of them while the count is exact).
    exact: BTreeSet<String>,
    /// Every value met, once there were more than [`EXACT_CAP`].
    sketch: Option<Box<[u8; REGISTERS]>>,
}

impl Distinct {
    /// Counts `value`.
    pub fn insert(&mut self, value: &str) {
        if let Some(sketch) = &mut self.sketch {
            add(sketch, value);
            return;
        }
        // Most values were seen before: no copy of them is made.
        if self.exact.contains(value) {
            return;
        }
        if self.exact.len() < EXACT_CAP {
            self.exact.insert(value.to_string());
            return;
        }
        let mut sketch = Box::new([0u8; REGISTERS]);
        self.exact.iter().for_each(|v| add(&mut sketch, v));
        add(&mut sketch, value);
        self.sketch = Some(sketch);
    }

    /// Adds every value `other` counted.
    pub fn merge(&mut self, other: &Distinct) {
        match &other.sketch {
            None => other.exact.iter().for_each(|v| self.insert(v)),
            Some(theirs) => {
                let mine = self.sketch.get_or_insert_with(|| {
                    let mut s = Box::new([0u8; REGISTERS]);
                    self.exact.iter().for_each(|v| add(&mut s, v));
                    s
                });
                mine.iter_mut()
                    .zip(theirs.iter())
                    .for_each(|(m, t)| *m = (*m).max(*t));
                for v in &other.exact {
                    if self.exact.len() >= EXACT_CAP {
                        break;
                    }
                    self.exact.insert(v.clone());
                }
            }
        }
    }

    /// How many distinct values were met (estimated once [`Distinct::is_estimate`]).
    pub fn len(&self) -> u64 {
        match &self.sketch {
            None => self.exact.len() as u64,
            Some(sketch) => estimate(sketch).max(self.exact.len() as u64),
        }
    }

    /// Whether nothing was counted.
    pub fn is_empty(&self) -> bool {
        self.exact.is_empty()
    }

    /// Whether [`Distinct::len`] is an estimate.
    pub fn is_estimate(&self) -> bool {
        self.sketch.is_some()
    }

    /// The values kept: all of them while exact, else the first [`EXACT_CAP`] in order.
    pub fn kept(&self) -> &BTreeSet<String> {
        &self.exact
    }
}

fn hash(value: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in value.as_bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    // SplitMix64's finaliser: FNV alone leaves the top bits poorly mixed for short keys.
    h = (h ^ (h >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h = (h ^ (h >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

fn add(sketch: &mut [u8; REGISTERS], value: &str) {
    let h = hash(value);
    let index = (h >> (64 - PRECISION)) as usize;
    let rest = (h << PRECISION) | (1 << (PRECISION - 1));
    let rank = rest.leading_zeros() as u8 + 1;
    sketch[index] = sketch[index].max(rank);
}

/// The HyperLogLog estimate, with linear counting for small counts.
fn estimate(sketch: &[u8; REGISTERS]) -> u64 {
    let m = REGISTERS as f64;
    let sum: f64 = sketch.iter().map(|&r| 2f64.powi(-i32::from(r))).sum();
    let alpha = 0.7213 / (1.0 + 1.079 / m);
    let raw = alpha * m * m / sum;
    let zeros = sketch.iter().filter(|&&r| r == 0).count();
    let value = if raw <= 2.5 * m && zeros > 0 {
        m * (m / zeros as f64).ln()
    } else {
        raw
    };
    value.round() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counted(n: usize, prefix: &str) -> Distinct {
        let mut d = Distinct::default();
        (0..n).for_each(|i| d.insert(&format!("{prefix}{i}")));
        d
    }

    #[test]
    fn exact_up_to_the_cap_then_within_a_few_percent() {
        let d = counted(EXACT_CAP, "10.0.0.");
        assert_eq!((d.len(), d.is_estimate()), (EXACT_CAP as u64, false));
        let mut again = d.clone();
        again.insert("10.0.0.5");
        assert!(!again.is_estimate(), "a value already met is not a new one");
        for n in [EXACT_CAP + 1, 20_000, 1_000_000] {
            let d = counted(n, "192.0.2.");
            assert!(d.is_estimate());
            let error = (d.len() as f64 - n as f64).abs() / n as f64;
            assert!(error < 0.05, "{n} values estimated as {}", d.len());
            assert_eq!(d.kept().len(), EXACT_CAP);
        }
    }

    #[test]
    fn merging_estimates_the_union_not_the_sum() {
        let a = counted(30_000, "a");
        let mut both = a.clone();
        both.merge(&a);
        assert_eq!(both.len(), a.len());
        let mut union = a.clone();
        union.merge(&counted(30_000, "b"));
        let error = (union.len() as f64 - 60_000.0).abs() / 60_000.0;
        assert!(error < 0.05, "union estimated as {}", union.len());
        let mut small = counted(10, "c");
        small.merge(&a);
        assert!(small.is_estimate() && small.len() >= a.len());
    }
}
