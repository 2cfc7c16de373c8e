//! Sigma correlation rules (specification 2.x, and the further types pySigma knows):
//! `event_count`, `value_count`, `temporal`, `temporal_ordered`, `value_sum`, `value_avg`,
//! `value_percentile` and `value_median`, grouped by taxonomy fields, over the findings of
//! their base rules in event time. Loading is here; the evaluation is in [`evaluate`].

pub mod evaluate;

use std::collections::BTreeMap;

use yaml_rust2::Yaml;

use super::sigma::{error_at, Level, Rule, RuleError};
use crate::record::Field;

/// The correlation types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CorrelationKind {
    EventCount,
    ValueCount,
    Temporal,
    TemporalOrdered,
    ValueSum,
    ValueAvg,
    ValuePercentile,
    ValueMedian,
}

impl CorrelationKind {
    /// Every type, as the specification names them.
    pub const ALL: [CorrelationKind; 8] = [
        CorrelationKind::EventCount,
        CorrelationKind::ValueCount,
        CorrelationKind::Temporal,
        CorrelationKind::TemporalOrdered,
        CorrelationKind::ValueSum,
        CorrelationKind::ValueAvg,
        CorrelationKind::ValuePercentile,
        CorrelationKind::ValueMedian,
    ];

    /// The specification's name (`event_count`, ...).
    pub fn name(self) -> &'static str {
        match self {
            CorrelationKind::EventCount => "event_count",
            CorrelationKind::ValueCount => "value_count",
            CorrelationKind::Temporal => "temporal",
            CorrelationKind::TemporalOrdered => "temporal_ordered",
            CorrelationKind::ValueSum => "value_sum",
            CorrelationKind::ValueAvg => "value_avg",
            CorrelationKind::ValuePercentile => "value_percentile",
            CorrelationKind::ValueMedian => "value_median",
        }
    }

    fn from_name(name: &str) -> Option<CorrelationKind> {
        CorrelationKind::ALL.into_iter().find(|k| k.name() == name)
    }

    /// Whether the type measures a field (`condition.field`).
    pub fn needs_field(self) -> bool {
        !matches!(
            self,
            CorrelationKind::EventCount
                | CorrelationKind::Temporal
                | CorrelationKind::TemporalOrdered
        )
    }

    fn is_temporal(self) -> bool {
        matches!(
            self,
            CorrelationKind::Temporal | CorrelationKind::TemporalOrdered
        )
    }
}

/// A comparison of the condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    Gt,
    Gte,
    Lt,
    Lte,
    Eq,
    Neq,
}

impl CompareOp {
    fn from_name(name: &str) -> Option<CompareOp> {
        Some(match name {
            "gt" => CompareOp::Gt,
            "gte" => CompareOp::Gte,
            "lt" => CompareOp::Lt,
            "lte" => CompareOp::Lte,
            "eq" => CompareOp::Eq,
            "neq" => CompareOp::Neq,
            _ => return None,
        })
    }

    /// Whether `value` passes against `bound`.
    pub fn holds(self, value: f64, bound: f64) -> bool {
        match self {
            CompareOp::Gt => value > bound,
            CompareOp::Gte => value >= bound,
            CompareOp::Lt => value < bound,
            CompareOp::Lte => value <= bound,
            CompareOp::Eq => value == bound,
            CompareOp::Neq => value != bound,
        }
    }
}

/// A loaded correlation rule, before its references are resolved.
#[derive(Debug, Clone)]
pub struct CorrelationRule {
    pub id: String,
    pub title: String,
    pub name: Option<String>,
    pub level: Level,
    /// wormtrace's `family` and `confidence` attributes, as on detection rules.
    pub family: Option<String>,
    pub confidence: Option<String>,
    pub kind: CorrelationKind,
    /// The rules it correlates, by id or name, in order (the order counts for
    /// `temporal_ordered`).
    pub rules: Vec<String>,
    pub group_by: Vec<String>,
    /// Seconds.
    pub timespan: i64,
    /// Every comparison must hold (a range is two).
    pub condition: Vec<(CompareOp, f64)>,
    /// The measured field (`condition.field`).
    pub field: Option<String>,
    /// `value_percentile`: which percentile (0-100).
    pub percentile: Option<f64>,
    /// Alias → (rule name or id → field).
    pub aliases: BTreeMap<String, BTreeMap<String, String>>,
    /// Where it came from.
    pub source: String,
}

/// Reads a `timespan` (`30s`, `5m`, `1h`, `2d`) as seconds.
pub fn parse_timespan(text: &str) -> Option<i64> {
    let text = text.trim();
    let unit = text.chars().last()?;
    let number: i64 = text[..text.len() - unit.len_utf8()].parse().ok()?;
    let scale = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3_600,
        'd' => 86_400,
        _ => return None,
    };
    number.checked_mul(scale).filter(|&s| s > 0)
}

impl CorrelationRule {
    /// Loads a correlation rule from a YAML document that has a `correlation` map.
    pub fn from_document(source: &str, text: &str, doc: &Yaml) -> Result<Self, RuleError> {
        let fail = |needle: &str, message: String| error_at(source, text, needle, message);
        let title = doc["title"]
            .as_str()
            .ok_or_else(|| fail("", "missing 'title'".into()))?;
        let body = &doc["correlation"];
        let kind_name = body["type"]
            .as_str()
            .ok_or_else(|| fail("correlation", "correlation: missing 'type'".into()))?;
        let kind = CorrelationKind::from_name(kind_name)
            .ok_or_else(|| fail("type", format!("unknown correlation type '{kind_name}'")))?;
        let rules = strings(&body["rules"]);
        if rules.is_empty() {
            return Err(fail("rules", "correlation: 'rules' names no rule".into()));
        }
        let timespan_text = scalar(&body["timespan"])
            .ok_or_else(|| fail("correlation", "correlation: missing 'timespan'".into()))?;
        let timespan = parse_timespan(&timespan_text).ok_or_else(|| {
            fail(
                "timespan",
                format!("timespan '{timespan_text}' is not a number and s, m, h or d"),
            )
        })?;
        let (condition, field, percentile) = read_condition(kind, &body["condition"], rules.len())
            .map_err(|m| fail("condition", m))?;
        let level = match doc["level"].as_str() {
            None => Level::Medium,
            Some(l) => {
                Level::parse(l).ok_or_else(|| fail("level", format!("unknown level '{l}'")))?
            }
        };
        Ok(CorrelationRule {
            id: doc["id"].as_str().unwrap_or(title).to_string(),
            title: title.to_string(),
            name: doc["name"].as_str().map(str::to_string),
            level,
            family: doc["family"].as_str().map(str::to_string),
            confidence: doc["confidence"].as_str().map(str::to_string),
            kind,
            rules,
            group_by: strings(&body["group-by"]),
            timespan,
            condition,
            field,
            percentile,
            aliases: read_aliases(&body["aliases"]),
            source: source.to_string(),
        })
    }
}

type Condition = (Vec<(CompareOp, f64)>, Option<String>, Option<f64>);

fn read_condition(
    kind: CorrelationKind,
    node: &Yaml,
    rule_count: usize,
) -> Result<Condition, String> {
    let mut comparisons = Vec::new();
    let mut field = None;
    let mut percentile = None;
    if let Some(map) = node.as_hash() {
        for (key, value) in map {
            let key = key.as_str().unwrap_or_default();
            match key {
                "field" => field = strings(value).into_iter().next(),
                "percentile" => percentile = number(value),
                _ => {
                    let op = CompareOp::from_name(key).ok_or_else(|| {
                        format!("unknown condition '{key}' (gt, gte, lt, lte, eq, neq)")
                    })?;
                    let bound =
                        number(value).ok_or_else(|| format!("condition '{key}' takes a number"))?;
                    comparisons.push((op, bound));
                }
            }
        }
    } else if !matches!(node, Yaml::BadValue) {
        return Err("condition must be a map such as 'gte: 10'".into());
    }
    if comparisons.is_empty() {
        if !kind.is_temporal() {
            return Err(format!(
                "{} needs a condition such as 'gte: 10'",
                kind.name()
            ));
        }
        // Temporal types without a condition ask for every rule to be seen.
        comparisons.push((CompareOp::Gte, rule_count as f64));
    }
    if kind.needs_field() && field.is_none() {
        return Err(format!("{} needs 'field' in its condition", kind.name()));
    }
    if kind == CorrelationKind::ValuePercentile {
        let p = percentile.ok_or("value_percentile needs 'percentile' in its condition")?;
        if !(0.0..=100.0).contains(&p) {
            return Err(format!("percentile {p} is not between 0 and 100"));
        }
    }
    Ok((comparisons, field, percentile))
}

fn read_aliases(node: &Yaml) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut aliases = BTreeMap::new();
    for (alias, mapping) in node.as_hash().into_iter().flatten() {
        let per_rule = mapping
            .as_hash()
            .into_iter()
            .flatten()
            .filter_map(|(rule, field)| Some((scalar(rule)?, scalar(field)?)))
            .collect();
        if let Some(alias) = scalar(alias) {
            aliases.insert(alias, per_rule);
        }
    }
    aliases
}

fn scalar(node: &Yaml) -> Option<String> {
    match node {
        Yaml::String(s) => Some(s.clone()),
        Yaml::Integer(i) => Some(i.to_string()),
        Yaml::Real(r) => Some(r.clone()),
        _ => None,
    }
}

fn number(node: &Yaml) -> Option<f64> {
    match node {
        Yaml::Integer(i) => Some(*i as f64),
        Yaml::Real(r) => r.parse().ok(),
        Yaml::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn strings(node: &Yaml) -> Vec<String> {
    match node {
        Yaml::Array(items) => items.iter().filter_map(scalar).collect(),
        other => scalar(other).into_iter().collect(),
    }
}

/// What one entry of a correlation's `rules` refers to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Base {
    /// A detection rule (its index among the loaded rules), and the taxonomy field of each
    /// `group-by` entry (aliases applied), then of the measured field when there is one.
    Rule { index: usize, fields: Vec<Field> },
    /// Another correlation (its index among the resolved ones), and where each `group-by`
    /// entry, then the measured field, sits in that correlation's own `group-by`: each of its
    /// windows that held is one event here, at the window's end.
    Correlation { index: usize, positions: Vec<usize> },
}

/// A correlation rule whose references point at loaded rules or other correlations.
#[derive(Debug, Clone)]
pub struct Correlation {
    pub rule: CorrelationRule,
    /// Per entry of `rules`, in order.
    pub bases: Vec<Base>,
}

/// Resolves each correlation's references (by id, else name) to the loaded detection rules
/// or to other correlations, and its group-by and measured fields to taxonomy fields (or to
/// the group of the correlation below). Returns the correlations in an order where each
/// comes after those it refers to; cycles and references to what did not load are errors.
pub fn resolve(
    correlations: Vec<CorrelationRule>,
    rules: &[Rule],
) -> (Vec<Correlation>, Vec<RuleError>) {
    let mut errors = Vec::new();
    let all_names: Vec<String> = correlations
        .iter()
        .flat_map(|c| names_of(c).map(str::to_string).collect::<Vec<_>>())
        .collect();
    let mut pending: Vec<CorrelationRule> = correlations;
    let mut resolved: Vec<Correlation> = Vec::new();
    // Each round resolves the correlations whose references are all loaded by now.
    loop {
        let mut progress = false;
        let mut waiting = Vec::new();
        for rule in pending {
            match resolve_one(&rule, rules, &resolved, &all_names) {
                Ok(Some(bases)) => {
                    resolved.push(Correlation { rule, bases });
                    progress = true;
                }
                Ok(None) => waiting.push(rule),
                Err(message) => errors.push(correlation_error(&rule, message)),
            }
        }
        pending = waiting;
        if pending.is_empty() || !progress {
            break;
        }
    }
    let known: Vec<String> = pending
        .iter()
        .flat_map(|c| names_of(c).map(str::to_string).collect::<Vec<_>>())
        .collect();
    for rule in pending {
        let reference = rule
            .rules
            .iter()
            .find(|r| known.contains(r))
            .cloned()
            .unwrap_or_default();
        let message = format!(
            "'{}': refers to '{reference}', a correlation that did not load or that refers back to this one",
            rule.title
        );
        errors.push(correlation_error(&rule, message));
    }
    (resolved, errors)
}

fn correlation_error(rule: &CorrelationRule, message: String) -> RuleError {
    RuleError {
        file: rule.source.clone(),
        line: 1,
        message,
    }
}

fn names_of(rule: &CorrelationRule) -> impl Iterator<Item = &str> {
    [Some(rule.id.as_str()), rule.name.as_deref()]
        .into_iter()
        .flatten()
}

/// The bases of `rule`, None while a correlation it names is not resolved yet.
fn resolve_one(
    rule: &CorrelationRule,
    rules: &[Rule],
    done: &[Correlation],
    correlations: &[String],
) -> Result<Option<Vec<Base>>, String> {
    let mut bases = Vec::new();
    let wanted: Vec<&String> = rule.group_by.iter().chain(&rule.field).collect();
    for reference in &rule.rules {
        let by_id = rules.iter().position(|r| r.id == *reference);
        let by_name = || {
            rules
                .iter()
                .position(|r| r.name.as_deref() == Some(reference))
        };
        if let Some(index) = by_id.or_else(by_name) {
            let fields = wanted
                .iter()
                .map(|name| field_for(rule, name, &rules[index]))
                .collect::<Result<Vec<_>, _>>()?;
            bases.push(Base::Rule { index, fields });
            continue;
        }
        if !correlations.contains(reference) {
            return Err(format!(
                "'{}': no loaded rule has the id or name '{reference}'",
                rule.title
            ));
        }
        let Some(index) = done
            .iter()
            .position(|c| names_of(&c.rule).any(|n| n == reference))
        else {
            return Ok(None);
        };
        let below = &done[index].rule;
        let positions = wanted
            .iter()
            .map(|name| position_in(rule, name, below))
            .collect::<Result<Vec<_>, _>>()?;
        bases.push(Base::Correlation { index, positions });
    }
    Ok(Some(bases))
}

/// Where `name` (through the aliases) sits in the `group-by` of the correlation `below`.
fn position_in(
    rule: &CorrelationRule,
    name: &str,
    below: &CorrelationRule,
) -> Result<usize, String> {
    let aliased = rule
        .aliases
        .get(name)
        .and_then(|per_rule| names_of(below).find_map(|key| per_rule.get(key)));
    let field = aliased.map_or(name, String::as_str);
    below
        .group_by
        .iter()
        .position(|g| g == field)
        .ok_or_else(|| {
            format!(
                "'{}': '{field}' is not in the group-by of '{}', the correlation it counts",
                rule.title, below.title
            )
        })
}

/// The taxonomy field `name` stands for in events of `base` (through the aliases).
fn field_for(rule: &CorrelationRule, name: &str, base: &Rule) -> Result<Field, String> {
    let aliased = rule.aliases.get(name).and_then(|per_rule| {
        [Some(base.id.as_str()), base.name.as_deref()]
            .into_iter()
            .flatten()
            .find_map(|key| per_rule.get(key))
    });
    let field_name = aliased.map_or(name, String::as_str);
    Field::from_name(field_name).ok_or_else(|| {
        format!(
            "'{}': '{field_name}' is not a web-server taxonomy field (c-ip, cs-host, cs-uri-stem, ...)",
            rule.title
        )
    })
}

#[cfg(test)]
mod tests;
