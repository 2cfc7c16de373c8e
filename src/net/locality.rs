//! Where a scanning host's targets lie relative to itself, and which target-picking model
//! explains that best: Code Red II's (keep the own /16 with 3/8, the own /8 with 1/2, pick
//! anywhere with 1/8; facts.md 4) or uniform random (Code Red v1/v2).
//!
//! The fit is a G-test (log-likelihood ratio) over three cells: same /16, same /8 but not
//! the same /16, elsewhere. With three cells it has two degrees of freedom, where the
//! chi-square survival function is exactly `exp(-G / 2)`, so no statistics library is needed.

use std::net::{IpAddr, Ipv4Addr};

use serde::Serialize;

/// Counts of targets by where they lie relative to the source (IPv4 only).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Locality {
    pub same_16: u64,
    /// Same /8, other /16.
    pub same_8: u64,
    pub elsewhere: u64,
}

impl Locality {
    /// Counts `target` as seen from `source`; IPv6 pairs are not counted.
    pub fn add(&mut self, source: IpAddr, target: IpAddr) {
        if let (IpAddr::V4(s), IpAddr::V4(t)) = (source, target) {
            match shared_octets(s, t) {
                0 => self.elsewhere += 1,
                1 => self.same_8 += 1,
                _ => self.same_16 += 1,
            }
        }
    }

    /// Targets counted.
    pub fn total(&self) -> u64 {
        self.same_16 + self.same_8 + self.elsewhere
    }

    fn cells(&self) -> [u64; 3] {
        [self.same_16, self.same_8, self.elsewhere]
    }
}

fn shared_octets(a: Ipv4Addr, b: Ipv4Addr) -> usize {
    let (a, b) = (a.octets(), b.octets());
    a.iter().zip(b.iter()).take_while(|(x, y)| x == y).count()
}

/// A target-picking model: the chance of each locality cell.
#[derive(Debug, Clone, Copy)]
pub struct Model {
    pub name: &'static str,
    pub cells: [f64; 3],
}

/// Code Red II: 3/8 keep the /16, 1/2 keep the /8, 1/8 anywhere. The random octets of the
/// first two kinds may by chance repeat the source's, which the cells include.
pub const CODE_RED_II: Model = {
    let same_16 = 3.0 / 8.0 + 0.5 / 256.0 + 0.125 / 65536.0;
    let elsewhere = 0.125 * 255.0 / 256.0;
    Model {
        name: "code-red-ii",
        cells: [same_16, 1.0 - same_16 - elsewhere, elsewhere],
    }
};

/// Uniform random over the IPv4 space (Code Red v1 and v2).
pub const UNIFORM: Model = Model {
    name: "uniform",
    cells: [1.0 / 65536.0, 255.0 / 65536.0, 255.0 / 256.0],
};

/// Targets needed before a fit is given: below this the test has too little power.
pub const MIN_TARGETS_FOR_FIT: u64 = 20;

/// The p-value under which a model is said not to fit.
pub const FIT_ALPHA: f64 = 0.01;

/// How well one model explains the observed locality.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelFit {
    pub model: &'static str,
    /// G statistic (2 degrees of freedom).
    pub g: f64,
    /// Chance of a G this large if the model were true.
    pub p_value: f64,
    pub fits: bool,
}

/// The comparison of both models on one source's targets.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LocalityFit {
    /// `code-red-ii`, `uniform`, or `neither` when both are rejected.
    pub best: &'static str,
    /// log10 of the likelihood ratio Code Red II : uniform (positive favours Code Red II).
    pub log10_likelihood_ratio: f64,
    pub code_red_ii: ModelFit,
    pub uniform: ModelFit,
}

impl LocalityFit {
    /// The p-value of the best model (with `neither`, the larger of the two).
    pub fn best_p_value(&self) -> f64 {
        match self.best {
            "code-red-ii" => self.code_red_ii.p_value,
            "uniform" => self.uniform.p_value,
            _ => self.code_red_ii.p_value.max(self.uniform.p_value),
        }
    }
}

/// Fits both models; None when too few IPv4 targets were seen.
pub fn fit(observed: &Locality) -> Option<LocalityFit> {
    if observed.total() < MIN_TARGETS_FOR_FIT {
        return None;
    }
    let crii = model_fit(observed, &CODE_RED_II);
    let uniform = model_fit(observed, &UNIFORM);
    let llr = (log_likelihood(observed, &CODE_RED_II) - log_likelihood(observed, &UNIFORM))
        / std::f64::consts::LN_10;
    let best = match (crii.fits, uniform.fits) {
        (false, false) => "neither",
        _ if llr >= 0.0 => CODE_RED_II.name,
        _ => UNIFORM.name,
    };
    Some(LocalityFit {
        best,
        log10_likelihood_ratio: round(llr, 2),
        code_red_ii: crii,
        uniform,
    })
}

fn model_fit(observed: &Locality, model: &Model) -> ModelFit {
    let g = g_statistic(observed, model);
    let p_value = (-g / 2.0).exp();
    ModelFit {
        model: model.name,
        g: round(g, 3),
        p_value: round_sig(p_value),
        fits: p_value >= FIT_ALPHA,
    }
}

/// G = 2 Σ O ln(O / E); empty cells add nothing.
fn g_statistic(observed: &Locality, model: &Model) -> f64 {
    let n = observed.total() as f64;
    let sum: f64 = observed
        .cells()
        .iter()
        .zip(model.cells)
        .filter(|(o, _)| **o > 0)
        .map(|(&o, p)| {
            let o = o as f64;
            o * (o / (n * p)).ln()
        })
        .sum();
    (2.0 * sum).max(0.0)
}

fn log_likelihood(observed: &Locality, model: &Model) -> f64 {
    observed
        .cells()
        .iter()
        .zip(model.cells)
        .map(|(&o, p)| o as f64 * p.ln())
        .sum()
}

fn round(x: f64, digits: i32) -> f64 {
    let scale = 10f64.powi(digits);
    (x * scale).round() / scale
}

/// Four significant digits, so tiny p-values stay readable and output stays stable.
fn round_sig(x: f64) -> f64 {
    if x == 0.0 || !x.is_finite() {
        return x;
    }
    let digits = 3 - x.abs().log10().floor() as i32;
    round(x, digits.min(300))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loc(same_16: u64, same_8: u64, elsewhere: u64) -> Locality {
        Locality {
            same_16,
            same_8,
            elsewhere,
        }
    }

    #[test]
    fn cells_are_counted_by_shared_prefix() {
        let src: IpAddr = "10.1.2.3".parse().unwrap();
        let mut l = Locality::default();
        for t in ["10.1.9.9", "10.7.0.1", "192.0.2.1", "10.1.2.4"] {
            l.add(src, t.parse().unwrap());
        }
        l.add(
            "2001:db8::1".parse().unwrap(),
            "2001:db8::2".parse().unwrap(),
        );
        assert_eq!(l, loc(2, 1, 1));
    }

    #[test]
    fn models_are_distributions() {
        for m in [CODE_RED_II, UNIFORM] {
            assert!(
                (m.cells.iter().sum::<f64>() - 1.0).abs() < 1e-12,
                "{}",
                m.name
            );
        }
        assert!((CODE_RED_II.cells[1] - 0.4985).abs() < 1e-3);
    }

    #[test]
    fn code_red_ii_shape_fits_code_red_ii() {
        let f = fit(&loc(375, 500, 125)).unwrap();
        assert_eq!(f.best, "code-red-ii");
        assert!(f.code_red_ii.fits && f.code_red_ii.p_value > 0.5);
        assert!(!f.uniform.fits);
        assert!(f.log10_likelihood_ratio > 100.0);
    }

    #[test]
    fn uniform_shape_fits_uniform() {
        let f = fit(&loc(0, 4, 996)).unwrap();
        assert_eq!(f.best, "uniform");
        assert!(f.uniform.fits && !f.code_red_ii.fits);
    }

    #[test]
    fn a_shape_neither_model_gives_is_neither() {
        let f = fit(&loc(1000, 0, 0)).unwrap();
        assert_eq!(f.best, "neither");
    }

    #[test]
    fn too_few_targets_give_no_fit() {
        assert!(fit(&loc(5, 5, 5)).is_none());
    }

    #[test]
    fn p_value_is_the_chi_square_2_survival() {
        // G for (40, 40, 20) against CRII, computed by hand.
        let observed = loc(40, 40, 20);
        let g = g_statistic(&observed, &CODE_RED_II);
        let expected: f64 = [40.0, 40.0, 20.0]
            .iter()
            .zip(CODE_RED_II.cells)
            .map(|(o, p)| 2.0 * o * (o / (100.0 * p)).ln())
            .sum();
        assert!((g - expected).abs() < 1e-9);
        assert!((model_fit(&observed, &CODE_RED_II).p_value - (-g / 2.0).exp()).abs() < 1e-3);
    }
}
