//! The figures a port-80 scan verdict carries: where the targets lie, how well each
//! target-picking model explains that, and the busiest window of a capture.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};

use serde::{Deserialize, Serialize};

use super::finding::ScanSource;

/// Counts of targets by where they lie relative to the source (IPv4 only).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
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

    /// The three cells, nearest first.
    pub fn cells(&self) -> [u64; 3] {
        [self.same_16, self.same_8, self.elsewhere]
    }
}

fn shared_octets(a: Ipv4Addr, b: Ipv4Addr) -> usize {
    let (a, b) = (a.octets(), b.octets());
    a.iter().zip(b.iter()).take_while(|(x, y)| x == y).count()
}

/// How well one model explains the observed locality.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelFit {
    pub model: String,
    /// G statistic (2 degrees of freedom).
    pub g: f64,
    /// Chance of a G this large if the model were true.
    pub p_value: f64,
    pub fits: bool,
}

/// Which target-picking model explains a scan best.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BestModel {
    CodeRedIi,
    Uniform,
    Neither,
}

impl BestModel {
    /// The word outputs use.
    pub fn name(self) -> &'static str {
        match self {
            BestModel::CodeRedIi => "code-red-ii",
            BestModel::Uniform => "uniform",
            BestModel::Neither => "neither",
        }
    }
}

/// The comparison of both models on one source's targets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LocalityFit {
    /// `code-red-ii`, `uniform`, or `neither` when both are rejected.
    pub best: BestModel,
    /// log10 of the likelihood ratio Code Red II : uniform (positive favours Code Red II).
    pub log10_likelihood_ratio: f64,
    pub code_red_ii: ModelFit,
    pub uniform: ModelFit,
}

impl LocalityFit {
    /// The p-value of the best model (with `neither`, the larger of the two).
    pub fn best_p_value(&self) -> f64 {
        match self.best {
            BestModel::CodeRedIi => self.code_red_ii.p_value,
            BestModel::Uniform => self.uniform.p_value,
            BestModel::Neither => self.code_red_ii.p_value.max(self.uniform.p_value),
        }
    }
}

/// The busiest window of a capture.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct WindowPeak {
    pub seconds: i64,
    pub distinct_targets: u64,
    /// Unix seconds of the window's first and last SYN.
    pub start: i64,
    pub end: i64,
}

/// What captures or tables say of one address's outbound port-80 traffic.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScanDetail {
    /// The address.
    pub address: IpAddr,
    /// The host a connection table was taken on (None for captures).
    pub host: Option<String>,
    /// Where the figures came from.
    pub source: ScanSource,
    /// Whether it scans like a worm (at the threshold of distinct targets).
    pub spreading: bool,
    /// Family the locality points to: `code-red-ii`, `code-red` (uniform) or `port-80-scan`.
    pub likely_family: Option<String>,
    /// Distinct targets that make a source `spreading`.
    pub threshold: u64,
    /// Outbound port-80 connections (tables) or SYNs (captures).
    pub connections: u64,
    /// Distinct port-80 targets in all.
    pub distinct_targets: u64,
    /// More targets were seen than are remembered.
    pub targets_capped: bool,
    /// Connections by state (tables).
    pub states: BTreeMap<String, u64>,
    pub locality: Locality,
    /// None: too few targets for a fit.
    pub fit: Option<LocalityFit>,
    /// The busiest window (captures).
    pub window: Option<WindowPeak>,
    /// First and last SYN (captures).
    pub first_seen: Option<super::Timestamp>,
    pub last_seen: Option<super::Timestamp>,
    /// The inputs the figures came from.
    pub paths: Vec<String>,
}
