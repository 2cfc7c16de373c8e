use super::evaluate::Correlator;
use super::*;
use crate::detect::sigma::{yaml_documents, Placeholders};
use crate::model::{CorrelationTag, Evidence, Finding};

fn load(text: &str) -> (Vec<Rule>, Vec<CorrelationRule>, Vec<RuleError>) {
    let mut loaded = crate::detect::pack::LoadedRules::default();
    loaded.add_file("t.yml", text, &Placeholders::default());
    (loaded.rules, loaded.correlations, loaded.errors)
}

fn base(name: &str) -> String {
    format!(
        "title: {name}\nname: {name}\nlogsource:\n  category: webserver\ndetection:\n  sel:\n    cs-uri-stem|contains: {name}\n  condition: sel\n"
    )
}

/// The specification's own examples, with base rules named as they name them.
#[test]
fn the_specifications_examples_load() {
    let spec = [
        "title: Many failed logins\nid: 0e95725d-7320-415d-80f7-004da920fc11\ncorrelation:\n    type: event_count\n    rules:\n        - failed_login\n    group-by:\n        - c-ip\n    timespan: 1h\n    condition:\n        gte: 100\n",
        "title: Failed login\nid: 0e95725d-7320-415d-80f7-004da920fc12\ncorrelation:\n    type: value_count\n    rules:\n        - failed_login\n    group-by:\n        - c-ip\n        - s-ip\n    timespan: 1d\n    condition:\n        field: cs-username\n        gte: 100\n",
        "title: recon\ncorrelation:\n    type: temporal\n    rules:\n        - recon_cmd_a\n        - recon_cmd_b\n        - recon_cmd_c\n    group-by:\n        - c-ip\n        - cs-username\n    timespan: 5m\n",
        "title: then success\ncorrelation:\n    type: temporal_ordered\n    rules:\n        - failed_login\n        - recon_cmd_a\n    group-by:\n        - cs-username\n    timespan: 1h\n",
        "title: A computer spawned a processes name in the last 24h than 1% of all the processes.\ncorrelation:\n    type: value_percentile\n    rules: \n        - failed_login\n    group-by:\n        - s-ip\n    timespan: 24h\n    condition:\n        field: sc-bytes\n        percentile: 1\n        lte: 1\n",
        "title: aliases\ncorrelation:\n    type: temporal\n    rules:\n        - failed_login\n        - recon_cmd_a\n    group-by:\n        - internal_ip\n    timespan: 10s\n    aliases:\n        internal_ip:\n            failed_login: s-ip\n            recon_cmd_a: c-ip\n",
    ];
    let mut text = ["failed_login", "recon_cmd_a", "recon_cmd_b", "recon_cmd_c"]
        .map(base)
        .join("---\n");
    for example in spec {
        text.push_str("---\n");
        text.push_str(example);
    }
    let (rules, correlations, errors) = load(&text);
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!((rules.len(), correlations.len()), (4, 6));
    assert_eq!(correlations[0].timespan, 3_600);
    assert_eq!(correlations[0].condition, vec![(CompareOp::Gte, 100.0)]);
    assert_eq!(correlations[1].field.as_deref(), Some("cs-username"));
    assert_eq!(
        correlations[2].condition,
        vec![(CompareOp::Gte, 3.0)],
        "all three"
    );
    assert_eq!(correlations[4].percentile, Some(1.0));
    let (resolved, errors) = resolve(correlations, &rules);
    assert!(errors.is_empty(), "{errors:?}");
    let aliased = &resolved[5];
    assert_eq!(
        aliased.bases,
        vec![
            Base::Rule {
                index: 0,
                fields: vec![Field::ServerIp]
            },
            Base::Rule {
                index: 1,
                fields: vec![Field::ClientIp]
            }
        ]
    );
}

#[test]
fn bad_correlations_say_why() {
    let cases = [
        ("correlation:\n  type: nearby\n  rules: [a]\n  timespan: 1m\n", "unknown correlation type"),
        ("correlation:\n  type: event_count\n  rules: [a]\n  timespan: 1 hour\n  condition: {gte: 1}\n", "timespan"),
        ("correlation:\n  type: event_count\n  rules: [a]\n  timespan: 1m\n", "needs a condition"),
        ("correlation:\n  type: value_count\n  rules: [a]\n  timespan: 1m\n  condition: {gte: 2}\n", "needs 'field'"),
        ("correlation:\n  type: value_percentile\n  rules: [a]\n  timespan: 1m\n  condition: {field: sc-bytes, gte: 2}\n", "percentile"),
        ("correlation:\n  type: event_count\n  rules: []\n  timespan: 1m\n  condition: {gte: 2}\n", "names no rule"),
    ];
    for (body, want) in cases {
        let (_, _, errors) = load(&format!("title: c\n{body}"));
        assert!(
            errors.iter().any(|e| e.message.contains(want)),
            "{want}: {errors:?}"
        );
    }
    let (rules, correlations, _) = load(&format!(
        "{}---\ntitle: c\ncorrelation:\n  type: event_count\n  rules: [nosuch]\n  group-by: [c-ip]\n  timespan: 1m\n  condition: {{gte: 2}}\n---\ntitle: d\ncorrelation:\n  type: event_count\n  rules: [a]\n  group-by: [no-such-field]\n  timespan: 1m\n  condition: {{gte: 2}}\n",
        base("a")
    ));
    let (_, errors) = resolve(correlations, &rules);
    assert!(errors[0].message.contains("no loaded rule"), "{errors:?}");
    assert!(errors[1].message.contains("taxonomy"), "{errors:?}");
    assert_eq!(parse_timespan("90m"), Some(5_400));
    assert_eq!(parse_timespan("0s"), None);
}

/// A resolved correlation of `kind` over `slots` base rules, grouped by c-ip, measuring
/// sc-bytes (or cs-uri-stem for value_count).
fn correlation(
    kind: CorrelationKind,
    slots: usize,
    timespan: i64,
    condition: Vec<(CompareOp, f64)>,
) -> Correlation {
    let field = match kind {
        CorrelationKind::ValueCount => Some("cs-uri-stem".to_string()),
        k if k.needs_field() => Some("sc-bytes".to_string()),
        _ => None,
    };
    Correlation {
        rule: CorrelationRule {
            id: "c1".into(),
            title: "c".into(),
            name: None,
            level: Level::High,
            family: None,
            confidence: None,
            kind,
            rules: (0..slots).map(|i| format!("r{i}")).collect(),
            group_by: vec!["c-ip".into()],
            timespan,
            condition,
            field,
            percentile: Some(90.0),
            aliases: BTreeMap::new(),
            source: "t".into(),
        },
        bases: (0..slots)
            .map(|index| Base::Rule {
                index,
                fields: vec![Field::ClientIp],
            })
            .collect(),
    }
}

/// A base finding at `secs` (after 2001-09-18T00:00:00Z) of slot `slot` from `client`.
fn event(id: u64, secs: i64, slot: usize, client: &str, value: &str) -> Finding {
    let mut f = crate::finding::tests_support::finding("nimda", crate::model::Confidence::High);
    f.id = id;
    f.time = Some(crate::model::Timestamp(
        chrono::DateTime::from_timestamp(1_000_771_200 + secs, 0)
            .unwrap()
            .fixed_offset(),
    ));
    f.correlate.push(CorrelationTag {
        correlation: 0,
        slot,
        values: vec![Some(client.to_string()), Some(value.to_string())],
    });
    f
}

/// (group, metric, windows, linked ids) of each correlation finding.
fn run(c: Correlation, events: &[Finding]) -> Vec<(String, f64, u64, Vec<u64>)> {
    let mut correlator = Correlator::new(vec![c]);
    events.iter().for_each(|e| correlator.observe(e));
    let mut found = Vec::new();
    correlator.finish(&mut |f| {
        found.push(f);
        found.len() as u64
    });
    found
        .into_iter()
        .map(|f| match f.evidence {
            Evidence::Correlation(c) => (c.group_text(), c.metric, c.windows, c.findings),
            _ => unreachable!(),
        })
        .collect()
}

#[test]
fn event_count_window_boundaries_are_inclusive() {
    let c = || {
        correlation(
            CorrelationKind::EventCount,
            1,
            10,
            vec![(CompareOp::Gte, 3.0)],
        )
    };
    // Three events exactly 10 s apart end to end: one window holds them all.
    let inside = [
        event(1, 0, 0, "A", ""),
        event(2, 5, 0, "A", ""),
        event(3, 10, 0, "A", ""),
    ];
    assert_eq!(
        run(c(), &inside),
        vec![("c-ip=a".into(), 3.0, 1, vec![1, 2, 3])]
    );
    // One second more and no window holds three.
    let outside = [
        event(1, 0, 0, "A", ""),
        event(2, 5, 0, "A", ""),
        event(3, 11, 0, "A", ""),
    ];
    assert_eq!(run(c(), &outside), vec![]);
    // Events of one time all belong to the window that time closes.
    let same = [
        event(1, 7, 0, "A", ""),
        event(2, 7, 0, "A", ""),
        event(3, 7, 0, "A", ""),
    ];
    assert_eq!(
        run(c(), &same),
        vec![("c-ip=a".into(), 3.0, 1, vec![1, 2, 3])]
    );
}

#[test]
fn arrival_order_does_not_matter_and_groups_are_separate() {
    let c = || {
        correlation(
            CorrelationKind::EventCount,
            1,
            60,
            vec![(CompareOp::Gte, 2.0)],
        )
    };
    let events: Vec<Finding> = vec![
        event(1, 100, 0, "A", ""),
        event(2, 130, 0, "B", ""),
        event(3, 120, 0, "A", ""),
        event(4, 500, 0, "B", ""),
    ];
    let forward = run(c(), &events);
    let reversed: Vec<Finding> = events.iter().rev().cloned().collect();
    assert_eq!(forward, run(c(), &reversed));
    assert_eq!(forward, vec![("c-ip=a".into(), 2.0, 1, vec![1, 3])]);
}

#[test]
fn groups_expire_and_episodes_merge_overlapping_windows() {
    let c = || {
        correlation(
            CorrelationKind::EventCount,
            1,
            10,
            vec![(CompareOp::Gte, 2.0)],
        )
    };
    let mut events = Vec::new();
    // 10,000 quiet clients, one event each, far apart: their state is swept as time moves.
    for n in 0..10_000u64 {
        events.push(event(
            n + 10,
            (n * 20) as i64,
            0,
            &format!("10.0.{}.{}", n / 256, n % 256),
            "",
        ));
    }
    // A burst of one client: 5 events 3 s apart (four windows hold, one episode), then a
    // second burst much later (a second episode).
    for (i, t) in [0, 3, 6, 9, 12, 1_000, 1_002].iter().enumerate() {
        events.push(event(i as u64 + 1, *t, 0, "X", ""));
    }
    let got = run(c(), &events);
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(got[0], ("c-ip=x".into(), 4.0, 4, vec![1, 2, 3, 4, 5]));
    assert_eq!(got[1], ("c-ip=x".into(), 2.0, 1, vec![6, 7]));
}

#[test]
fn windows_that_do_not_overlap_are_separate_findings() {
    let c = correlation(
        CorrelationKind::EventCount,
        1,
        10,
        vec![(CompareOp::Gte, 2.0)],
    );
    // Two bursts of two events at one time each, far apart, with nothing in between: every
    // window holds, but they do not overlap.
    let events = [
        event(1, 0, 0, "A", ""),
        event(2, 0, 0, "A", ""),
        event(3, 500, 0, "A", ""),
        event(4, 500, 0, "A", ""),
    ];
    let got = run(c, &events);
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(got[1].3, vec![3, 4]);
}

#[test]
fn value_count_counts_distinct_values_without_case() {
    let c = correlation(
        CorrelationKind::ValueCount,
        1,
        10,
        vec![(CompareOp::Gte, 3.0)],
    );
    let events = [
        event(1, 0, 0, "A", "/scripts/root.exe"),
        event(2, 1, 0, "A", "/SCRIPTS/ROOT.EXE"),
        event(3, 2, 0, "A", "/msadc/root.exe"),
        event(4, 3, 0, "A", "/c/winnt/system32/cmd.exe"),
    ];
    let got = run(c, &events);
    assert_eq!(got.len(), 1);
    assert_eq!((got[0].1, got[0].2), (3.0, 1));
}

#[test]
fn temporal_needs_every_rule_and_ordered_needs_their_order() {
    let all = || vec![(CompareOp::Gte, 2.0)];
    let a_then_b = [event(1, 0, 0, "A", ""), event(2, 5, 1, "A", "")];
    let b_then_a = [event(1, 0, 1, "A", ""), event(2, 5, 0, "A", "")];
    let only_a = [event(1, 0, 0, "A", ""), event(2, 5, 0, "A", "")];
    let temporal = || correlation(CorrelationKind::Temporal, 2, 60, all());
    let ordered = || correlation(CorrelationKind::TemporalOrdered, 2, 60, all());
    assert_eq!(run(temporal(), &a_then_b).len(), 1);
    assert_eq!(run(temporal(), &b_then_a).len(), 1);
    assert_eq!(run(temporal(), &only_a).len(), 0);
    assert_eq!(run(ordered(), &a_then_b).len(), 1);
    assert_eq!(run(ordered(), &b_then_a).len(), 0);
    // Same second is not "after".
    let same = [event(1, 5, 0, "A", ""), event(2, 5, 1, "A", "")];
    assert_eq!(run(ordered(), &same).len(), 0);
    // Too far apart.
    let far = [event(1, 0, 0, "A", ""), event(2, 61, 1, "A", "")];
    assert_eq!(run(ordered(), &far).len(), 0);
}

#[test]
fn sums_averages_medians_and_percentiles() {
    let events = [
        event(1, 0, 0, "A", "100"),
        event(2, 1, 0, "A", "300"),
        event(3, 2, 0, "A", "not a number"),
        event(4, 3, 0, "A", "200"),
    ];
    let gte = |kind, bound| correlation(kind, 1, 60, vec![(CompareOp::Gte, bound)]);
    let metric = |kind, bound| run(gte(kind, bound), &events).first().map(|g| g.1);
    assert_eq!(metric(CorrelationKind::ValueSum, 600.0), Some(600.0));
    assert_eq!(metric(CorrelationKind::ValueSum, 601.0), None);
    assert_eq!(metric(CorrelationKind::ValueAvg, 200.0), Some(200.0));
    assert_eq!(metric(CorrelationKind::ValueMedian, 200.0), Some(200.0));
    // 90th percentile of 100, 200, 300: 280 by linear interpolation.
    assert_eq!(metric(CorrelationKind::ValuePercentile, 280.0), Some(280.0));
    // Numbers that are not whole are summed afresh: 0.1 + 0.2 + 0.3 within the window, after
    // 0.5 left it.
    let fractions = [
        event(1, 0, 0, "A", "0.5"),
        event(2, 100, 0, "A", "0.1"),
        event(3, 101, 0, "A", "0.2"),
        event(4, 102, 0, "A", "0.3"),
    ];
    let sum = correlation(
        CorrelationKind::ValueSum,
        1,
        60,
        vec![(CompareOp::Gte, 0.6)],
    );
    let got = run(sum, &fractions);
    assert_eq!(got.len(), 1);
    assert!((got[0].1 - 0.6).abs() < 1e-9, "{got:?}");
    // A range: both comparisons must hold.
    let range = correlation(
        CorrelationKind::EventCount,
        1,
        60,
        vec![(CompareOp::Gt, 2.0), (CompareOp::Lte, 3.0)],
    );
    let got = run(range, &events);
    assert_eq!(got.iter().map(|g| g.1).collect::<Vec<_>>(), vec![3.0]);
}

#[test]
fn findings_without_time_or_group_value_are_counted_not_used() {
    let c = correlation(
        CorrelationKind::EventCount,
        1,
        60,
        vec![(CompareOp::Gte, 1.0)],
    );
    let mut untimed = event(1, 0, 0, "A", "");
    untimed.time = None;
    let mut no_group = event(2, 0, 0, "A", "");
    no_group.correlate[0].values[0] = None;
    let mut correlator = Correlator::new(vec![c]);
    correlator.observe(&untimed);
    correlator.observe(&no_group);
    assert_eq!((correlator.untimed, correlator.dropped), (1, 1));
    let mut emitted = 0;
    correlator.finish(&mut |_| {
        emitted += 1;
        emitted
    });
    assert_eq!(emitted, 0);
}

#[test]
fn documents_of_one_file_may_mix_rules_and_correlations() {
    let text = format!(
        "{}---\ntitle: burst\ncorrelation:\n  type: event_count\n  rules: [a]\n  group-by: [c-ip]\n  timespan: 10s\n  condition:\n    gte: 2\n",
        base("a")
    );
    let docs = yaml_documents("t.yml", &text).unwrap();
    assert_eq!(docs.len(), 2);
    let (rules, correlations, errors) = load(&text);
    assert!(errors.is_empty());
    assert_eq!((rules.len(), correlations.len()), (1, 1));
}

#[test]
fn huge_timespans_and_times_before_1970_do_not_overflow() {
    let c = correlation(
        CorrelationKind::EventCount,
        1,
        i64::MAX / 86_400,
        vec![(CompareOp::Gte, 2.0)],
    );
    let events = [
        event(1, -2_000_000_000, 0, "A", ""),
        event(2, 0, 0, "A", ""),
    ];
    assert_eq!(run(c, &events).len(), 1);
    assert_eq!(
        parse_timespan("106751991167300d"),
        Some(106_751_991_167_300 * 86_400)
    );
    assert_eq!(parse_timespan("106751991167301d"), None);
}

#[test]
fn one_group_with_a_hundred_thousand_events_in_one_window() {
    // Every measure is kept up to date as events come and go: a window of 100,000 events
    // costs the events that moved, so this finishes at once for every type.
    let events: Vec<Finding> = (0..100_000u64)
        .map(|n| {
            event(
                n + 1,
                (n / 10) as i64,
                (n % 2) as usize,
                "A",
                &(n % 1000).to_string(),
            )
        })
        .collect();
    for kind in CorrelationKind::ALL {
        let c = correlation(kind, 2, 86_400, vec![(CompareOp::Gte, 0.0)]);
        let got = run(c, &events);
        assert_eq!(got.len(), 1, "{kind:?}");
        assert_eq!(
            got[0].2, 10_000,
            "{kind:?}: a window at each distinct second"
        );
    }
}

#[test]
fn correlations_over_correlations_resolve_in_order_and_cycles_are_refused() {
    let text = format!(
        "{}---\ntitle: parent\nname: parent\ncorrelation:\n  type: event_count\n  rules: [child]\n  group-by: [client]\n  aliases: {{client: {{child: c-ip}}}}\n  timespan: 1h\n  condition: {{gte: 2}}\n---\ntitle: child\nname: child\ncorrelation:\n  type: event_count\n  rules: [a]\n  group-by: [c-ip, s-ip]\n  timespan: 10s\n  condition: {{gte: 3}}\n---\ntitle: loop one\nname: one\ncorrelation:\n  type: event_count\n  rules: [two]\n  group-by: [c-ip]\n  timespan: 1m\n  condition: {{gte: 1}}\n---\ntitle: loop two\nname: two\ncorrelation:\n  type: event_count\n  rules: [one]\n  group-by: [c-ip]\n  timespan: 1m\n  condition: {{gte: 1}}\n---\ntitle: wrong field\ncorrelation:\n  type: event_count\n  rules: [child]\n  group-by: [cs-host]\n  timespan: 1m\n  condition: {{gte: 1}}\n",
        base("a")
    );
    let (rules, correlations, errors) = load(&text);
    assert!(errors.is_empty(), "{errors:?}");
    let (resolved, errors) = resolve(correlations, &rules);
    let titles: Vec<&str> = resolved.iter().map(|c| c.rule.title.as_str()).collect();
    assert_eq!(
        titles,
        vec!["child", "parent"],
        "the one counted comes first"
    );
    assert_eq!(
        resolved[1].bases,
        vec![Base::Correlation {
            index: 0,
            positions: vec![0]
        }]
    );
    let messages: Vec<&str> = errors.iter().map(|e| e.message.as_str()).collect();
    assert_eq!(messages.len(), 3, "{messages:?}");
    assert!(messages
        .iter()
        .any(|m| m.contains("not in the group-by of 'child'")));
    assert!(
        messages
            .iter()
            .filter(|m| m.contains("refers back"))
            .count()
            == 2
    );
}

#[test]
fn a_correlation_counts_the_windows_of_the_one_below() {
    let child = correlation(
        CorrelationKind::EventCount,
        1,
        10,
        vec![(CompareOp::Gte, 2.0)],
    );
    let mut parent = correlation(
        CorrelationKind::EventCount,
        1,
        3_600,
        vec![(CompareOp::Gte, 3.0)],
    );
    parent.rule.id = "c2".into();
    parent.bases = vec![Base::Correlation {
        index: 0,
        positions: vec![0],
    }];
    // Client A: two bursts of two (windows that hold at 1, 2 and 501); client B: one window.
    let events = [
        event(1, 0, 0, "A", ""),
        event(2, 1, 0, "A", ""),
        event(3, 2, 0, "A", ""),
        event(4, 500, 0, "A", ""),
        event(5, 501, 0, "A", ""),
        event(6, 0, 0, "B", ""),
        event(7, 1, 0, "B", ""),
    ];
    let mut correlator = Correlator::new(vec![child, parent]);
    events.iter().for_each(|e| correlator.observe(e));
    let mut found = Vec::new();
    correlator.finish(&mut |f| {
        found.push(f);
        100 + found.len() as u64
    });
    let parents: Vec<&Finding> = found.iter().filter(|f| f.rule_id == "c2").collect();
    assert_eq!(found.len() - parents.len(), 3, "A twice, B once");
    assert_eq!(parents.len(), 1);
    let Evidence::Correlation(c) = &parents[0].evidence else {
        unreachable!()
    };
    assert_eq!((c.group_text().as_str(), c.metric), ("c-ip=a", 3.0));
    // It links the findings of A's two episodes below, once each.
    assert_eq!(c.findings, vec![101, 103]);
}
