//! The spreading check as the rules state it: a `value_count` correlation of distinct
//! `DestinationIp` per `SourceIp` within a timespan, over `network_connection` rules. The
//! built-in pack's `port_80_scan.yml` holds the numbers (25 targets in 5 minutes, port 80).
//!
//! Connections are not findings, so the general correlation engine (which counts findings)
//! does not see them: the network readers ask [`Spreading::counts`] for each SYN or table
//! row, and the spread tally evaluates the window per source as it reads, in bounded memory,
//! with the targets' locality beside it.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;

use super::correlation::{CompareOp, CorrelationKind, CorrelationRule};
use super::sigma::matcher::Target;
use super::sigma::rule::Selection;
use super::sigma::{Level, Rule, RuleError};
use crate::record::{Field, NetworkConnection};

/// The loaded spreading correlation.
#[derive(Debug, Clone)]
pub struct Spreading {
    /// The correlation rule's id and title: those of the findings it gives.
    pub id: String,
    pub title: String,
    pub level: Level,
    /// Distinct destinations of one source that make it `spreading`.
    pub threshold: u64,
    /// The correlation's timespan, in seconds.
    pub window_secs: i64,
    bases: Arc<[Rule]>,
    /// When no rule looks at an address, the answer depends on the port and `Initiated`
    /// only: remembered per pair (0 not yet asked, 1 no, 2 yes), shared by every reader.
    by_port: Option<Arc<[AtomicU8]>>,
}

impl Spreading {
    /// Whether the connection is one the correlation counts (one of its rules matches).
    pub fn counts(&self, connection: &NetworkConnection) -> bool {
        let Some(by_port) = &self.by_port else {
            return self.matches(connection);
        };
        let slot = &by_port[usize::from(connection.port) * 2 + usize::from(connection.initiated)];
        match slot.load(Ordering::Relaxed) {
            0 => {
                let counted = self.matches(connection);
                slot.store(if counted { 2 } else { 1 }, Ordering::Relaxed);
                counted
            }
            known => known == 2,
        }
    }

    fn matches(&self, connection: &NetworkConnection) -> bool {
        let record = connection.record();
        self.bases.iter().any(|rule| rule.matches(&record))
    }

    /// The rules it counts.
    pub fn bases(&self) -> &[Rule] {
        &self.bases
    }
}

/// Takes the correlations over `network_connection` rules out of `correlations`. The first
/// that has the one shape wormtrace evaluates becomes the spreading check; every other is
/// returned as an error saying why.
pub fn take_spreading(
    correlations: &mut Vec<CorrelationRule>,
    rules: &[Rule],
) -> (Option<Spreading>, Vec<RuleError>) {
    let mut found: Option<Spreading> = None;
    let mut errors = Vec::new();
    let (network, others): (Vec<_>, Vec<_>) = std::mem::take(correlations)
        .into_iter()
        .partition(|c| refers_to_network_rules(c, rules));
    *correlations = others;
    for correlation in network {
        let fail = |message: String| RuleError {
            file: correlation.source.clone(),
            line: 1,
            message: format!("'{}': {message}", correlation.title),
        };
        match (&found, spreading_of(&correlation, rules)) {
            (None, Ok(spreading)) => found = Some(spreading),
            (Some(first), Ok(_)) => errors.push(fail(format!(
                "a second spreading correlation; '{}' is in effect (one at a time)",
                first.title
            ))),
            (_, Err(message)) => errors.push(fail(message)),
        }
    }
    (found, errors)
}

/// The built-in pack's spreading correlation.
pub fn builtin() -> Option<Spreading> {
    let mut loaded = super::pack::load_rules(&super::pack::RuleOptions::default());
    take_spreading(&mut loaded.correlations, &loaded.rules).0
}

/// Whether some rule names `SourceIp` or `DestinationIp` (keywords see an empty line, so
/// they depend on nothing).
fn looks_at_addresses(rules: &[Rule]) -> bool {
    let address = |t: &Target| matches!(t, Target::Field(Field::SourceIp | Field::DestinationIp));
    rules.iter().flat_map(|r| &r.selections).any(|s| match s {
        Selection::Keywords(..) => false,
        Selection::Maps(maps) => maps.iter().flatten().any(|item| address(&item.target)),
    })
}

fn referred<'r>(reference: &str, rules: &'r [Rule]) -> Option<&'r Rule> {
    rules
        .iter()
        .find(|r| r.id == reference)
        .or_else(|| rules.iter().find(|r| r.name.as_deref() == Some(reference)))
}

fn refers_to_network_rules(correlation: &CorrelationRule, rules: &[Rule]) -> bool {
    correlation
        .rules
        .iter()
        .filter_map(|r| referred(r, rules))
        .any(|r| r.logsource.is_network())
}

const SHAPE: &str = "over network connections wormtrace evaluates only 'value_count' of \
    DestinationIp grouped by SourceIp, with a 'gte' or 'gt' condition";

fn spreading_of(correlation: &CorrelationRule, rules: &[Rule]) -> Result<Spreading, String> {
    let is = |name: &str, field: Field| Field::from_name(name) == Some(field);
    let shape_ok = correlation.kind == CorrelationKind::ValueCount
        && correlation.aliases.is_empty()
        && matches!(correlation.group_by.as_slice(), [g] if is(g, Field::SourceIp))
        && correlation
            .field
            .as_deref()
            .is_some_and(|f| is(f, Field::DestinationIp));
    let threshold = match correlation.condition.as_slice() {
        [(CompareOp::Gte, n)] if n.is_finite() && *n >= 1.0 => n.ceil() as u64,
        [(CompareOp::Gt, n)] if n.is_finite() && *n >= 0.0 => n.floor() as u64 + 1,
        _ => return Err(SHAPE.to_string()),
    };
    if !shape_ok {
        return Err(SHAPE.to_string());
    }
    let mut bases = Vec::new();
    for reference in &correlation.rules {
        match referred(reference, rules) {
            Some(rule) if rule.logsource.is_network() => bases.push(rule.clone()),
            Some(rule) => {
                return Err(format!(
                    "mixes network connections with '{}', a web-server rule",
                    rule.title
                ))
            }
            None => return Err(format!("no loaded rule has the id or name '{reference}'")),
        }
    }
    let by_port =
        (!looks_at_addresses(&bases)).then(|| (0..2 * 65_536).map(|_| AtomicU8::new(0)).collect());
    Ok(Spreading {
        by_port,
        id: correlation.id.clone(),
        title: correlation.title.clone(),
        level: correlation.level,
        threshold,
        window_secs: correlation.timespan,
        bases: bases.into(),
    })
}

#[cfg(test)]
mod tests;
