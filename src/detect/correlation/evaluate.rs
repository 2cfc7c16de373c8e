//! Evaluation of correlation rules over the findings of their base rules, in event time.
//!
//! Each base finding that carries a [`CorrelationTag`] becomes a compact event. At the end of
//! the run the events of each correlation are put in time order and walked once: a group's
//! window holds the events of the last `timespan` seconds (`[t - timespan, t]`, both ends
//! included, every event at `t` in it), and a group whose newest event is older than that is
//! dropped, so the walk's state is bounded by what one timespan holds. Every distinct event
//! time of a group closes one window; the condition is checked on it, as pySigma's SQL
//! backends do. Windows that hold and overlap are merged into one finding.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;

use super::{Base, CompareOp, Correlation, CorrelationKind};
use crate::model::{
    Confidence, CorrelationEvidence, Evidence, Finding, Timestamp, MAX_LINKED_FINDINGS,
};

/// Base findings kept for correlation in all (about 100 bytes each, their group shared with
/// the other events of the group, so that the run stays within its memory bound); beyond it
/// they are counted, not evaluated.
pub const MAX_EVENTS: usize = 500_000;

/// One base finding as a correlation sees it.
#[derive(Debug, Clone)]
struct Event {
    /// Milliseconds since 1970.
    at: i64,
    id: u64,
    slot: usize,
    /// Group-by values, lower-cased (Sigma compares them without case).
    group: Arc<[String]>,
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
    /// Each distinct group once: events of one group share it.
    groups: HashSet<Arc<[String]>>,
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
            groups: HashSet::new(),
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
            let group: Option<Arc<[String]>> = tag.values[..groups.min(tag.values.len())]
                .iter()
                .map(|v| v.as_ref().map(|v| v.to_ascii_lowercase()))
                .collect();
            let Some(group) = group.filter(|g| g.len() == groups) else {
                self.dropped += 1;
                continue;
            };
            let group = match self.groups.get(&group) {
                Some(shared) => shared.clone(),
                None => {
                    self.groups.insert(group.clone());
                    group
                }
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

    /// Hands the findings of every correlation that held to `emit`, which gives each its id:
    /// correlations in the order they were resolved (one counted by another comes first),
    /// each one's findings in time order. The windows that held in a correlation are the
    /// events of the correlations that count it.
    pub fn finish(mut self, emit: &mut dyn FnMut(Finding) -> u64) {
        let mut held: Vec<Vec<Alert>> = Vec::new();
        for (index, mut events) in std::mem::take(&mut self.events).into_iter().enumerate() {
            let correlation = &self.correlations[index];
            events.extend(events_of_correlations_below(correlation, &held));
            events.sort_by_key(|e| (e.at, e.id));
            let counted = self.correlations.iter().any(|c| {
                c.bases
                    .iter()
                    .any(|b| matches!(b, Base::Correlation { index: i, .. } if *i == index))
            });
            let (episodes, windows) = walk(correlation, &events, counted);
            let mut ids = vec![0; episodes.len()];
            let mut paths = vec![0; episodes.len()];
            for episode in episodes {
                let serial = episode.serial;
                paths[serial] = episode.paths.first().copied().unwrap_or(0);
                ids[serial] = emit(self.finding(correlation, episode));
            }
            held.push(
                windows
                    .into_iter()
                    .map(|w| Alert {
                        at: w.end,
                        finding: ids[w.serial],
                        path: paths[w.serial],
                        group: w.group,
                    })
                    .collect(),
            );
        }
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

/// One window that held, in the correlations that count it: an event at its end.
#[derive(Debug)]
struct Alert {
    at: i64,
    /// The id of the finding its episode became.
    finding: u64,
    path: u32,
    group: Arc<[String]>,
}

/// A window that held, and the episode (by serial) it belongs to.
#[derive(Debug)]
struct Window {
    serial: usize,
    end: i64,
    group: Arc<[String]>,
}

/// The windows that held in the correlations `correlation` counts, as its events.
fn events_of_correlations_below(correlation: &Correlation, held: &[Vec<Alert>]) -> Vec<Event> {
    let groups = correlation.rule.group_by.len();
    let mut events = Vec::new();
    for (slot, base) in correlation.bases.iter().enumerate() {
        let Base::Correlation { index, positions } = base else {
            continue;
        };
        for alert in held.get(*index).into_iter().flatten() {
            let value_of = |p: &usize| alert.group.get(*p).cloned();
            let group: Option<Arc<[String]>> = positions[..groups].iter().map(value_of).collect();
            let Some(group) = group else {
                continue;
            };
            events.push(Event {
                at: alert.at,
                id: alert.finding,
                slot,
                group,
                value: positions.get(groups).and_then(value_of),
                path: alert.path,
            });
        }
    }
    events
}

/// Overlapping windows of one group that held.
#[derive(Debug)]
struct Episode {
    /// Order of creation, by which its windows name it.
    serial: usize,
    group: Arc<[String]>,
    start: i64,
    end: i64,
    metric: f64,
    windows: u64,
    findings: Vec<u64>,
    findings_total: u64,
    paths: Vec<u32>,
}

/// A group's events of the last timespan, what they measure, and the episode it is in.
#[derive(Debug, Default)]
struct GroupState {
    window: VecDeque<usize>,
    tally: Tally,
    episode: Option<Episode>,
    /// Base finding ids already counted in the episode (the newest is enough: windows move
    /// forward).
    last_linked: Option<usize>,
}

/// Walks one correlation's events in time order; gives its episodes in order.
/// With `keep_windows`, also the windows that held (for the correlations that count this one).
fn walk(
    correlation: &Correlation,
    events: &[Event],
    keep_windows: bool,
) -> (Vec<Episode>, Vec<Window>) {
    let span_ms = correlation.rule.timespan.saturating_mul(1000);
    let mut groups: HashMap<&[String], GroupState> = HashMap::new();
    let mut episodes = Vec::new();
    let mut windows = Vec::new();
    let mut serial = 0;
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
            state.tally.add(correlation, &events[i], 1);
            i += 1;
        }
        touched.sort();
        for key in touched {
            let state = groups.get_mut(key).expect("just added");
            while let Some(&first) = state.window.front() {
                if events[first].at >= at.saturating_sub(span_ms) {
                    break;
                }
                state.window.pop_front();
                state.tally.add(correlation, &events[first], -1);
            }
            let held = state
                .tally
                .measure(correlation, events, &state.window)
                .filter(|&m| holds(correlation, m));
            match held {
                Some(metric) => {
                    // A window that does not reach back into the episode starts a new one.
                    let first = state.window.front().map_or(at, |&f| events[f].at);
                    if state.episode.as_ref().is_some_and(|e| first > e.end) {
                        episodes.extend(state.episode.take());
                    }
                    if state.episode.is_none() {
                        serial += 1;
                    }
                    let episode = extend_episode(state, events, at, metric, serial - 1);
                    if keep_windows {
                        windows.push(Window {
                            serial: episode,
                            end: at,
                            group: events[state.window[0]].group.clone(),
                        });
                    }
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
            sweep(
                &mut groups,
                events,
                at.saturating_sub(span_ms),
                &mut episodes,
            );
        }
    }
    sweep(&mut groups, events, i64::MAX, &mut episodes);
    episodes.sort_by(|a, b| (a.start, &a.group).cmp(&(b.start, &b.group)));
    (episodes, windows)
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

/// Adds the window closing at `at` to the group's episode (a new one numbered `serial` when
/// there is none); gives the episode's serial.
fn extend_episode(
    state: &mut GroupState,
    events: &[Event],
    at: i64,
    metric: f64,
    serial: usize,
) -> usize {
    let window_start = state.window.front().map_or(at, |&f| events[f].at);
    let episode = state.episode.get_or_insert_with(|| Episode {
        serial,
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
    // Only the events the episode has not linked yet: the newest ones, at the window's end.
    let new = state
        .window
        .iter()
        .rev()
        .take_while(|&&e| state.last_linked.is_none_or(|last| e > last))
        .count();
    for &e in state.window.range(state.window.len() - new..) {
        episode.findings_total += 1;
        // Windows of a correlation below share their finding's id: list it once.
        if episode.findings.len() < MAX_LINKED_FINDINGS
            && episode.findings.last() != Some(&events[e].id)
        {
            episode.findings.push(events[e].id);
        }
        if !episode.paths.contains(&events[e].path) && episode.paths.len() < 8 {
            episode.paths.push(events[e].path);
        }
    }
    state.last_linked = state.window.back().copied();
    episode.serial
}

/// Whether every comparison of the condition holds for `metric`.
fn holds(correlation: &Correlation, metric: f64) -> bool {
    correlation
        .rule
        .condition
        .iter()
        .all(|&(op, bound): &(CompareOp, f64)| op.holds(metric, bound))
}

/// What a group's window measures, kept up to date as events enter and leave it, so that
/// each window costs the events that moved, not the whole window.
#[derive(Debug, Default)]
struct Tally {
    /// `value_count`: each value (ASCII lower-cased) and how many events have it.
    values: HashMap<String, u32>,
    /// `temporal`: events per rule of the list.
    slots: Vec<u32>,
    /// Sums: the numbers in the window, their exact sum while all are whole, and how many
    /// are not whole (then the sum is worked out afresh, so no rounding piles up).
    numbers: u64,
    whole_sum: i128,
    fractional: u64,
    /// Percentiles: each number (as an ordered key) and how many events have it.
    sorted: std::collections::BTreeMap<u64, u32>,
    /// `temporal_ordered`: the times of each rule's events, oldest first.
    slot_times: Vec<VecDeque<i64>>,
}

impl Tally {
    /// Counts `event` in (`sign` 1) or out (`sign` -1) of the window.
    fn add(&mut self, correlation: &Correlation, event: &Event, sign: i32) {
        match correlation.rule.kind {
            CorrelationKind::ValueCount => {
                if let Some(v) = &event.value {
                    let key = v.to_ascii_lowercase();
                    let n = self.values.entry(key.clone()).or_default();
                    *n = n.saturating_add_signed(sign);
                    if *n == 0 {
                        self.values.remove(&key);
                    }
                }
            }
            CorrelationKind::Temporal => {
                if self.slots.len() <= event.slot {
                    self.slots.resize(event.slot + 1, 0);
                }
                self.slots[event.slot] = self.slots[event.slot].saturating_add_signed(sign);
            }
            CorrelationKind::ValueSum | CorrelationKind::ValueAvg => {
                if let Some(n) = number(event.value.as_deref()) {
                    self.numbers = self.numbers.saturating_add_signed(i64::from(sign));
                    if n.fract() == 0.0 && n.abs() < 1e30 {
                        self.whole_sum += i128::from(sign) * n as i128;
                    } else {
                        self.fractional = self.fractional.saturating_add_signed(i64::from(sign));
                    }
                }
            }
            CorrelationKind::ValueMedian | CorrelationKind::ValuePercentile => {
                if let Some(n) = number(event.value.as_deref()) {
                    let count = self.sorted.entry(ordered_key(n)).or_default();
                    *count = count.saturating_add_signed(sign);
                    if *count == 0 {
                        self.sorted.remove(&ordered_key(n));
                    }
                }
            }
            CorrelationKind::TemporalOrdered => {
                if self.slot_times.len() <= event.slot {
                    self.slot_times.resize(event.slot + 1, VecDeque::new());
                }
                let times = &mut self.slot_times[event.slot];
                // Events leave the window oldest first, so the one leaving is at the front.
                if sign > 0 {
                    times.push_back(event.at);
                } else {
                    times.pop_front();
                }
            }
            CorrelationKind::EventCount => {}
        }
    }

    /// The window's measure (None when there is nothing to measure: no number for a sum).
    fn measure(
        &self,
        correlation: &Correlation,
        events: &[Event],
        window: &VecDeque<usize>,
    ) -> Option<f64> {
        let in_window = || window.iter().map(|&i| &events[i]);
        match correlation.rule.kind {
            CorrelationKind::EventCount => Some(window.len() as f64),
            CorrelationKind::ValueCount => Some(self.values.len() as f64),
            CorrelationKind::Temporal => Some(self.slots.iter().filter(|&&n| n > 0).count() as f64),
            CorrelationKind::TemporalOrdered => {
                Some(ordered_slots(correlation.bases.len(), &self.slot_times) as f64)
            }
            CorrelationKind::ValueSum | CorrelationKind::ValueAvg => {
                if self.numbers == 0 {
                    return None;
                }
                let sum = if self.fractional == 0 {
                    self.whole_sum as f64
                } else {
                    in_window().filter_map(|e| number(e.value.as_deref())).sum()
                };
                Some(match correlation.rule.kind {
                    CorrelationKind::ValueSum => sum,
                    _ => sum / self.numbers as f64,
                })
            }
            CorrelationKind::ValueMedian => self.percentile(50.0),
            CorrelationKind::ValuePercentile => {
                self.percentile(correlation.rule.percentile.unwrap_or(50.0))
            }
        }
    }

    /// The `p`th percentile with linear interpolation between the two nearest ranks.
    fn percentile(&self, p: f64) -> Option<f64> {
        let total: u64 = self.sorted.values().map(|&n| u64::from(n)).sum();
        if total == 0 {
            return None;
        }
        let position = (total - 1) as f64 * p / 100.0;
        let low_rank = position.floor() as u64;
        let fraction = position - low_rank as f64;
        let mut seen = 0u64;
        let mut low = None;
        for (&key, &n) in &self.sorted {
            let value = from_ordered_key(key);
            let next = seen + u64::from(n);
            if low.is_none() && low_rank < next {
                low = Some(value);
                if low_rank + 1 < next {
                    return Some(value);
                }
            } else if let Some(low) = low {
                return Some(low * (1.0 - fraction) + value * fraction);
            }
            seen = next;
        }
        low
    }
}

/// An f64 as a key whose order is the numbers' order.
fn ordered_key(n: f64) -> u64 {
    let bits = n.to_bits();
    if bits >> 63 == 1 {
        !bits
    } else {
        bits | 1 << 63
    }
}

fn from_ordered_key(key: u64) -> f64 {
    let bits = if key >> 63 == 1 {
        key & !(1 << 63)
    } else {
        !key
    };
    f64::from_bits(bits)
}

/// A finite number written in the field (`123`, `1.5`); anything else is no value.
fn number(text: Option<&str>) -> Option<f64> {
    text?.trim().parse::<f64>().ok().filter(|n| n.is_finite())
}

/// The most rules of the list seen in their order within the window: each one's first
/// event strictly after the one chosen before it (a subset may leave rules out).
fn ordered_slots(slots: usize, times: &[VecDeque<i64>]) -> usize {
    // Longest chain over the list's order: best[k] = earliest end time of a chain of k+1 rules.
    let mut best: Vec<i64> = Vec::new();
    for slot in 0..slots {
        let Some(slot_times) = times.get(slot).filter(|t| !t.is_empty()) else {
            continue;
        };
        let mut next = best.clone();
        for (k, &end) in std::iter::once(&i64::MIN).chain(best.iter()).enumerate() {
            let first_after = slot_times.partition_point(|&t| t <= end);
            if let Some(&t) = slot_times.get(first_after) {
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
