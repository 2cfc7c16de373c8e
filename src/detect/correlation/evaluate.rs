//! Evaluation of correlation rules over the findings of their base rules, in event time.
//!
//! Each base finding that carries a [`CorrelationTag`] becomes a compact event. At the end of
//! the run the events of each correlation are put in time order and walked once: a group's
//! window holds the events of the last `timespan` seconds (`[t - timespan, t]`, both ends
//! included, every event at `t` in it), and a group whose newest event is older than that is
//! dropped, so the walk's state is bounded by what one timespan holds. Every distinct event
//! time of a group closes one window; the condition is checked on it, as pySigma's SQL
//! backends do. Windows that hold and overlap are merged into one finding.

use std::collections::{HashMap, VecDeque};

use super::{CompareOp, Correlation, CorrelationKind};
use crate::model::{
    Confidence, CorrelationEvidence, Evidence, Finding, Timestamp, MAX_LINKED_FINDINGS,
};

/// Base findings kept for correlation in all; beyond it they are counted, not evaluated.
pub const MAX_EVENTS: usize = 2_000_000;

/// One base finding as a correlation sees it.
#[derive(Debug, Clone)]
struct Event {
    /// Milliseconds since 1970.
    at: i64,
    id: u64,
    slot: usize,
    /// Group-by values, lower-cased (Sigma compares them without case).
    group: Box<[String]>,
    value: Option<String>,
    path: u32,
}

/// Collects base findings as they come, and evaluates the correlations at the end.
#[derive(Debug)]
pub struct Correlator {
    correlations: Vec<Correlation>,
    events: Vec<Vec<Event>>,
    kept: usize,
    paths: Vec<String>,
    path_ids: HashMap<String, u32>,
    /// Base findings left out: over [`MAX_EVENTS`], or without a time or a group value.
    pub dropped: u64,
    pub untimed: u64,
}

impl Correlator {
    /// A correlator for `correlations` (the indexes base findings' tags refer to).
    pub fn new(correlations: Vec<Correlation>) -> Self {
        let events = correlations.iter().map(|_| Vec::new()).collect();
        Correlator {
            correlations,
            events,
            kept: 0,
            paths: Vec::new(),
            path_ids: HashMap::new(),
            dropped: 0,
            untimed: 0,
        }
    }

    /// Whether any correlation is loaded.
    pub fn is_empty(&self) -> bool {
        self.correlations.is_empty()
    }

    /// Takes note of a finding (after it got its id); findings of no base rule pass by.
    pub fn observe(&mut self, finding: &Finding) {
        for tag in &finding.correlate {
            let Some(correlation) = self.correlations.get(tag.correlation) else {
                continue;
            };
            let Some(at) = finding.time.map(|t| t.0.timestamp_millis()) else {
                self.untimed += 1;
                continue;
            };
            let groups = correlation.rule.group_by.len();
            let group: Option<Box<[String]>> = tag.values[..groups.min(tag.values.len())]
                .iter()
                .map(|v| v.as_ref().map(|v| v.to_ascii_lowercase()))
                .collect();
            let Some(group) = group.filter(|g| g.len() == groups) else {
                self.dropped += 1;
                continue;
            };
            if self.kept >= MAX_EVENTS {
                self.dropped += 1;
                continue;
            }
            self.kept += 1;
            let path = self.path_id(&finding.path);
            let value = tag.values.get(groups).cloned().flatten();
            self.events[tag.correlation].push(Event {
                at,
                id: finding.id,
                slot: tag.slot,
                group,
                value,
                path,
            });
        }
    }

    fn path_id(&mut self, path: &str) -> u32 {
        if let Some(&id) = self.path_ids.get(path) {
            return id;
        }
        let id = self.paths.len() as u32;
        self.paths.push(path.to_string());
        self.path_ids.insert(path.to_string(), id);
        id
    }

    /// The findings of every correlation that held, in time order.
    pub fn finish(mut self) -> Vec<Finding> {
        let mut out = Vec::new();
        for (index, mut events) in std::mem::take(&mut self.events).into_iter().enumerate() {
            events.sort_by_key(|e| (e.at, e.id));
            let correlation = &self.correlations[index];
            for episode in walk(correlation, &events) {
                out.push(self.finding(correlation, episode));
            }
        }
        out.sort_by(|a, b| (a.time, &a.rule_id).cmp(&(b.time, &b.rule_id)));
        out
    }

    fn finding(&self, correlation: &Correlation, episode: Episode) -> Finding {
        let rule = &correlation.rule;
        let group: Vec<(String, String)> = rule
            .group_by
            .iter()
            .cloned()
            .zip(episode.group.iter().cloned())
            .collect();
        let mut paths: Vec<&str> = episode
            .paths
            .iter()
            .map(|&p| self.paths[p as usize].as_str())
            .collect();
        paths.dedup();
        let start = timestamp(episode.start);
        let end = timestamp(episode.end);
        let text = format!(
            "{} {} over {} finding(s) within {} s, {} window(s) held",
            rule.kind.name(),
            trim_number(episode.metric),
            episode.findings_total,
            rule.timespan,
            episode.windows
        );
        Finding {
            id: 0,
            family: rule
                .family
                .clone()
                .unwrap_or_else(|| crate::finding::OTHER_FAMILY.to_string()),
            rule_id: rule.id.clone(),
            rule_title: rule.title.clone(),
            level: rule.level,
            confidence: rule
                .confidence
                .as_deref()
                .and_then(Confidence::from_name)
                .unwrap_or(Confidence::Medium),
            path: paths.join(" "),
            time: Some(start),
            evidence: Evidence::Correlation(Box::new(CorrelationEvidence {
                kind: rule.kind.name().to_string(),
                group,
                metric: episode.metric,
                start,
                end,
                windows: episode.windows,
                findings: episode.findings,
                findings_total: episode.findings_total,
                text,
            })),
            correlate: Vec::new(),
        }
    }
}

fn timestamp(millis: i64) -> Timestamp {
    let utc = chrono::DateTime::from_timestamp_millis(millis).unwrap_or_default();
    Timestamp(utc.fixed_offset())
}

/// `25` rather than `25.0`; other measures as they are.
fn trim_number(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{}", value as i64)
    } else {
        format!("{value}")
    }
}

/// Overlapping windows of one group that held.
#[derive(Debug)]
struct Episode {
    group: Box<[String]>,
    start: i64,
    end: i64,
    metric: f64,
    windows: u64,
    findings: Vec<u64>,
    findings_total: u64,
    paths: Vec<u32>,
}

/// A group's events of the last timespan, and the episode it is in.
#[derive(Debug, Default)]
struct GroupState {
    window: VecDeque<usize>,
    episode: Option<Episode>,
    /// Base finding ids already counted in the episode (the newest is enough: windows move
    /// forward).
    last_linked: Option<usize>,
}

/// Walks one correlation's events in time order; gives its episodes in order.
fn walk(correlation: &Correlation, events: &[Event]) -> Vec<Episode> {
    let span_ms = correlation.rule.timespan.saturating_mul(1000);
    let mut groups: HashMap<&[String], GroupState> = HashMap::new();
    let mut episodes = Vec::new();
    let mut i = 0;
    let mut since_sweep = 0usize;
    while i < events.len() {
        let at = events[i].at;
        let mut touched: Vec<&[String]> = Vec::new();
        while i < events.len() && events[i].at == at {
            let state = groups.entry(&events[i].group).or_default();
            if state
                .window
                .back()
                .is_none_or(|&last| events[last].at != at)
            {
                touched.push(&events[i].group);
            }
            state.window.push_back(i);
            i += 1;
        }
        touched.sort();
        for key in touched {
            let state = groups.get_mut(key).expect("just added");
            while let Some(&first) = state.window.front() {
                if events[first].at >= at - span_ms {
                    break;
                }
                state.window.pop_front();
            }
            let held =
                measure(correlation, events, &state.window).filter(|&m| holds(correlation, m));
            match held {
                Some(metric) => {
                    // A window that does not reach back into the episode starts a new one.
                    let first = state.window.front().map_or(at, |&f| events[f].at);
                    if state.episode.as_ref().is_some_and(|e| first > e.end) {
                        episodes.extend(state.episode.take());
                    }
                    extend_episode(state, events, at, metric)
                }
                None => {
                    if let Some(done) = state.episode.take() {
                        episodes.push(done);
                    }
                }
            }
        }
        since_sweep += 1;
        if since_sweep >= 4096 {
            since_sweep = 0;
            sweep(&mut groups, events, at - span_ms, &mut episodes);
        }
    }
    sweep(&mut groups, events, i64::MAX, &mut episodes);
    episodes.sort_by(|a, b| (a.start, &a.group).cmp(&(b.start, &b.group)));
    episodes
}

/// Drops the groups with no event since `before`, closing their episodes.
fn sweep(
    groups: &mut HashMap<&[String], GroupState>,
    events: &[Event],
    before: i64,
    episodes: &mut Vec<Episode>,
) {
    groups.retain(|_, state| {
        let live = state
            .window
            .back()
            .is_some_and(|&last| events[last].at >= before);
        if !live {
            episodes.extend(state.episode.take());
        }
        live
    });
}

fn extend_episode(state: &mut GroupState, events: &[Event], at: i64, metric: f64) {
    let window_start = state.window.front().map_or(at, |&f| events[f].at);
    let episode = state.episode.get_or_insert_with(|| Episode {
        group: events[state.window[0]].group.clone(),
        start: window_start,
        end: at,
        metric,
        windows: 0,
        findings: Vec::new(),
        findings_total: 0,
        paths: Vec::new(),
    });
    episode.end = at;
    episode.metric = episode.metric.max(metric);
    episode.windows += 1;
    for &e in &state.window {
        if state.last_linked.is_some_and(|last| e <= last) {
            continue;
        }
        episode.findings_total += 1;
        if episode.findings.len() < MAX_LINKED_FINDINGS {
            episode.findings.push(events[e].id);
        }
        if !episode.paths.contains(&events[e].path) && episode.paths.len() < 8 {
            episode.paths.push(events[e].path);
        }
    }
    state.last_linked = state.window.back().copied();
}

/// Whether every comparison of the condition holds for `metric`.
fn holds(correlation: &Correlation, metric: f64) -> bool {
    correlation
        .rule
        .condition
        .iter()
        .all(|&(op, bound): &(CompareOp, f64)| op.holds(metric, bound))
}

/// The window's measure (None when there is nothing to measure: no number for a sum).
fn measure(correlation: &Correlation, events: &[Event], window: &VecDeque<usize>) -> Option<f64> {
    let in_window = || window.iter().map(|&i| &events[i]);
    let numbers = || -> Vec<f64> {
        in_window()
            .filter_map(|e| number(e.value.as_deref()))
            .collect()
    };
    match correlation.rule.kind {
        CorrelationKind::EventCount => Some(window.len() as f64),
        CorrelationKind::ValueCount => {
            let mut values: Vec<String> = in_window()
                .filter_map(|e| e.value.as_ref().map(|v| v.to_ascii_lowercase()))
                .collect();
            values.sort();
            values.dedup();
            Some(values.len() as f64)
        }
        CorrelationKind::Temporal => {
            let mut slots: Vec<usize> = in_window().map(|e| e.slot).collect();
            slots.sort_unstable();
            slots.dedup();
            Some(slots.len() as f64)
        }
        CorrelationKind::TemporalOrdered => {
            Some(ordered_slots(correlation.slots.len(), in_window()) as f64)
        }
        CorrelationKind::ValueSum => {
            let n = numbers();
            (!n.is_empty()).then(|| n.iter().sum())
        }
        CorrelationKind::ValueAvg => {
            let n = numbers();
            (!n.is_empty()).then(|| n.iter().sum::<f64>() / n.len() as f64)
        }
        CorrelationKind::ValueMedian => percentile(numbers(), 50.0),
        CorrelationKind::ValuePercentile => {
            percentile(numbers(), correlation.rule.percentile.unwrap_or(50.0))
        }
    }
}

/// A finite number written in the field (`123`, `1.5`); anything else is no value.
fn number(text: Option<&str>) -> Option<f64> {
    text?.trim().parse::<f64>().ok().filter(|n| n.is_finite())
}

/// The `p`th percentile with linear interpolation between the two nearest ranks.
fn percentile(mut values: Vec<f64>, p: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let position = (values.len() - 1) as f64 * p / 100.0;
    let low = position.floor() as usize;
    let fraction = position - low as f64;
    let high = values.get(low + 1).copied().unwrap_or(values[low]);
    Some(values[low] * (1.0 - fraction) + high * fraction)
}

/// The most rules of the list seen in their order within the window: each one's first
/// event strictly after the one chosen before it (a subset may leave rules out).
fn ordered_slots<'e>(slots: usize, window: impl Iterator<Item = &'e Event>) -> usize {
    let mut times: Vec<Vec<i64>> = vec![Vec::new(); slots];
    for e in window {
        if let Some(t) = times.get_mut(e.slot) {
            t.push(e.at);
        }
    }
    // Longest chain over the list's order: best[k] = earliest end time of a chain of k rules.
    let mut best: Vec<i64> = Vec::new();
    for slot_times in &times {
        let mut next = best.clone();
        for (k, &end) in std::iter::once(&i64::MIN).chain(best.iter()).enumerate() {
            if let Some(&t) = slot_times.iter().find(|&&t| t > end) {
                match next.get_mut(k) {
                    Some(existing) => *existing = (*existing).min(t),
                    None => next.push(t),
                }
            }
        }
        best = next;
    }
    best.len()
}
