use super::*;
use crate::detect::pack::{LoadedRules, RuleOptions};
use crate::detect::sigma::Placeholders;

const BASE: &str = "title: Web connection
id: 11111111-1111-4111-8111-111111111111
name: web_connection
logsource:
    category: network_connection
detection:
    selection:
        Initiated: 'true'
        DestinationPort:
            - 80
            - 8080
    condition: selection
level: informational
";

fn correlation(body: &str) -> String {
    format!(
        "title: Scan
id: 22222222-2222-4222-8222-222222222222
correlation:
{body}
level: critical
---
{BASE}"
    )
}

const GOOD: &str = "    type: value_count
    rules: [web_connection]
    group-by: [SourceIp]
    timespan: 10m
    condition:
        field: DestinationIp
        gt: 49";

fn load(texts: &[&str]) -> (Option<Spreading>, Vec<RuleError>, usize) {
    let mut loaded = LoadedRules::default();
    for (i, text) in texts.iter().enumerate() {
        loaded.add_file(&format!("r{i}.yml"), text, &Placeholders::default());
    }
    assert!(loaded.errors.is_empty(), "{:?}", loaded.errors);
    let (found, errors) = take_spreading(&mut loaded.correlations, &loaded.rules);
    (found, errors, loaded.correlations.len())
}

fn connection(port: u16, initiated: bool) -> NetworkConnection {
    NetworkConnection {
        source: "10.0.0.1".parse().unwrap(),
        destination: "10.0.0.2".parse().unwrap(),
        port,
        initiated,
    }
}

#[test]
fn the_builtin_pack_states_25_targets_in_five_minutes_on_port_80() {
    let s = builtin().expect("the built-in pack has a spreading correlation");
    assert_eq!(
        (s.threshold, s.window_secs, s.level),
        (25, 300, Level::High)
    );
    assert_eq!(s.title, "Outbound port-80 scanning");
    assert!(s.counts(&connection(80, true)));
    assert!(!s.counts(&connection(80, false)));
    assert!(!s.counts(&connection(443, true)));
    // The built-in pack's other correlations (none today) stay with the general engine.
    let mut loaded = crate::detect::pack::load_rules(&RuleOptions::default());
    take_spreading(&mut loaded.correlations, &loaded.rules);
    assert!(loaded.correlations.is_empty());
}

#[test]
fn a_users_correlation_sets_the_numbers_and_the_ports() {
    let (found, errors, left) = load(&[&correlation(GOOD)]);
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(left, 0);
    let s = found.unwrap();
    // `gt: 49` is 50 or more.
    assert_eq!(
        (s.threshold, s.window_secs, s.level),
        (50, 600, Level::Critical)
    );
    assert!(s.counts(&connection(8080, true)));
    assert!(!s.counts(&connection(443, true)));
}

#[test]
fn other_shapes_over_connections_are_refused_with_the_reason() {
    for body in [
        GOOD.replace("value_count", "event_count"),
        GOOD.replace("group-by: [SourceIp]", "group-by: [DestinationIp]"),
        GOOD.replace(
            "group-by: [SourceIp]",
            "group-by: [SourceIp, DestinationPort]",
        ),
        GOOD.replace("field: DestinationIp", "field: DestinationPort"),
        GOOD.replace("gt: 49", "lt: 49"),
        GOOD.replace("gt: 49", "gte: 5\n        lte: 9"),
    ] {
        let (found, errors, _) = load(&[&correlation(&body)]);
        assert!(found.is_none(), "{body}");
        assert_eq!(errors.len(), 1, "{body}");
        assert!(errors[0].message.contains("value_count"), "{}", errors[0]);
    }
}

#[test]
fn a_second_spreading_correlation_and_a_mixed_one_are_errors() {
    let second = correlation(GOOD)
        .replacen("22222222-2222", "33333333-3333", 1)
        .replacen("title: Scan", "title: Scan again", 1)
        .split("---")
        .next()
        .unwrap()
        .to_string();
    let (found, errors, _) = load(&[&correlation(GOOD), &second]);
    assert_eq!(found.unwrap().title, "Scan");
    assert_eq!(errors.len(), 1);
    assert!(
        errors[0].message.contains("second spreading"),
        "{}",
        errors[0]
    );

    let web = "title: Web rule\nid: 44444444-4444-4444-8444-444444444444\nname: web\n\
               logsource:\n    category: webserver\ndetection:\n    s:\n        cs-uri-stem: /x\n    condition: s\n";
    let mixed = correlation(&GOOD.replace("[web_connection]", "[web_connection, web]"));
    let (found, errors, _) = load(&[&mixed, web]);
    assert!(found.is_none());
    assert!(errors[0].message.contains("mixes"), "{}", errors[0]);
}

#[test]
fn network_rules_never_see_log_lines() {
    let mut loaded = LoadedRules::default();
    loaded.add_file("r.yml", BASE, &Placeholders::default());
    let rule = &loaded.rules[0];
    assert!(rule.logsource.is_network());
    for format in crate::record::LogFormat::ALL {
        assert!(!rule.logsource.covers(format), "{format:?}");
    }
    let detector = crate::detect::Detector::new(loaded.rules);
    assert!(matches!(
        detector.prefilter(),
        crate::detect::Prefilter::Nothing
    ));
}

#[test]
fn a_rule_on_addresses_is_asked_each_time_and_a_port_rule_once_per_port() {
    let by_address = correlation(GOOD).replace(
        "        Initiated: 'true'\n",
        "        Initiated: 'true'\n        DestinationIp|cidr: 10.0.0.0/24\n",
    );
    let (found, errors, _) = load(&[&by_address]);
    assert!(errors.is_empty(), "{errors:?}");
    let s = found.unwrap();
    assert!(s.by_port.is_none());
    let mut elsewhere = connection(80, true);
    elsewhere.destination = "192.0.2.1".parse().unwrap();
    for _ in 0..2 {
        assert!(s.counts(&connection(80, true)));
        assert!(!s.counts(&elsewhere));
    }
    let (found, _, _) = load(&[&correlation(GOOD)]);
    let s = found.unwrap();
    assert!(s.by_port.is_some());
    for _ in 0..2 {
        assert!(s.counts(&connection(8080, true)));
        assert!(!s.counts(&connection(8080, false)));
        assert!(!s.counts(&connection(443, true)));
    }
}
