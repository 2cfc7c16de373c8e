//! Where a scanning host's targets lie relative to itself, and which target-picking model
//! explains that best: Code Red II's (keep the own /16 with 3/8, the own /8 with 1/2, pick
//! anywhere with 1/8; facts.md 4) or uniform random (Code Red v1/v2).
//!
//! The fit is a G-test (log-likelihood ratio) over three cells: same /16, same /8 but not
//! the same /16, elsewhere. With three cells it has two degrees of freedom, where the
//! chi-square survival function is exactly `exp(-G / 2)`, so no statistics library is needed.

use crate::model::BestModel;
pub use crate::model::{Locality, LocalityFit, ModelFit};

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
        (false, false) => BestModel::Neither,
        _ if llr >= 0.0 => BestModel::CodeRedIi,
        _ => BestModel::Uniform,
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
        model: model.name.to_string(),
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
        let src: std::net::IpAddr = "10.1.2.3".parse().unwrap();
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
        assert_eq!(f.best, BestModel::CodeRedIi);
        assert!(f.code_red_ii.fits && f.code_red_ii.p_value > 0.5);
        assert!(!f.uniform.fits);
        assert!(f.log10_likelihood_ratio > 100.0);
    }

    #[test]
    fn uniform_shape_fits_uniform() {
        let f = fit(&loc(0, 4, 996)).unwrap();
        assert_eq!(f.best, BestModel::Uniform);
        assert!(f.uniform.fits && !f.code_red_ii.fits);
    }

    #[test]
    fn a_shape_neither_model_gives_is_neither() {
        let f = fit(&loc(1000, 0, 0)).unwrap();
        assert_eq!(f.best, BestModel::Neither);
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
