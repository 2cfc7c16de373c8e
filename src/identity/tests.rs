use super::*;
use crate::model::{PatchState, PatchStatus, ScanSource, ScriptMaps, Timestamp};
use crate::verdict::TargetTally;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn disk(state: State) -> DiskDetail {
    DiskDetail {
        state,
        traces: Vec::new(),
        patch: PatchState {
            state: PatchStatus::Unknown,
            reason_code: "patch-no-evidence".into(),
            detail: String::new(),
            evidence: None,
            os_version: None,
            service_pack: None,
            idq_version: None,
        },
        iis: Some(true),
        script_maps: ScriptMaps::Assumed,
        unreadable: Vec::new(),
        not_parsed: Vec::new(),
    }
}

fn scan(address: &str, host: Option<&str>, spreading: bool) -> Scan {
    Scan {
        detail: ScanDetail {
            address: ip(address),
            host: host.map(str::to_string),
            source: ScanSource::Netstat,
            spreading,
            likely_family: spreading.then(|| "code-red-ii".to_string()),
            threshold: 25,
            connections: 0,
            distinct_targets: 0,
            targets_capped: false,
            states: BTreeMap::new(),
            locality: Default::default(),
            fit: None,
            window: None,
            first_seen: None,
            last_seen: None,
            paths: vec!["t.txt".into()],
        },
        finding: spreading.then_some(7),
    }
}

fn served(statuses: &[(&str, u64)]) -> TargetTally {
    let mut t = TargetTally::default();
    for (status, n) in statuses {
        for _ in 0..*n {
            t.served.statuses.add(Some(status), 1);
        }
        t.tally.count += n;
        t.tally.ids.entry(EvidenceKind::Log).or_default().push(100);
    }
    t.tally.first = Timestamp::parse("2001-08-04T10:00:00Z");
    t
}

#[test]
fn one_host_from_disk_logs_and_netstat() {
    let mut facts = CaseFacts::default();
    facts.swept.push(SweptHost {
        name: "WEB05".into(),
        named_by_user: false,
        names: vec!["web05".into()],
        addresses: vec![ip("10.1.5.23")],
        disk: disk(State::Compromised),
        families: BTreeMap::from([("code-red-ii".into(), 2)]),
        findings: vec![3, 4],
    });
    facts
        .targets
        .insert("10.1.5.23".into(), served(&[("404", 2)]));
    facts.scans.push(scan("10.1.5.23", Some("web05"), true));
    facts.scans.push(scan("10.1.5.24", Some("web06"), false));
    let v = judge(&facts, |_| true);
    assert_eq!(v.len(), 2, "{v:#?}");
    let web05 = &v[0];
    assert_eq!(web05.subject, "WEB05");
    assert_eq!(web05.state, State::Compromised);
    assert_eq!(
        web05.evidence_kind,
        vec![EvidenceKind::Log, EvidenceKind::Host, EvidenceKind::Network]
    );
    assert_eq!(web05.evidence[&EvidenceKind::Host], vec![3, 4]);
    assert_eq!(web05.evidence[&EvidenceKind::Network], vec![7]);
    let detail = web05.host.as_ref().unwrap();
    assert_eq!(detail.addresses, vec![ip("10.1.5.23")]);
    assert!(detail.served.is_some() && detail.disk.is_some() && detail.scans.len() == 1);
    assert_eq!(v[1].subject, "web06");
    assert_eq!(v[1].state, State::Clean, "checked, nothing found");
}

#[test]
fn precedence_takes_the_most_urgent_state() {
    let state_of = |facts: CaseFacts| judge(&facts, |_| true)[0].state;
    let mut f = CaseFacts::default();
    f.targets.insert("10.0.0.1".into(), served(&[("404", 1)]));
    assert_eq!(state_of(f), State::Attacked);

    let mut f = CaseFacts::default();
    let mut t = served(&[("200", 1)]);
    t.served.backdoor_answered = 1;
    f.targets.insert("10.0.0.1".into(), t);
    f.scans.push(scan("10.0.0.1", None, true));
    assert_eq!(
        state_of(f),
        State::Compromised,
        "a backdoor that answered beats spreading"
    );

    let mut f = CaseFacts::default();
    let mut t = served(&[("502", 1)]);
    t.served.traversal_answered = 1;
    f.targets.insert("10.0.0.1".into(), t);
    assert_eq!(state_of(f), State::Exposed);

    let mut f = CaseFacts::default();
    f.swept.push(SweptHost {
        name: "h".into(),
        named_by_user: true,
        names: vec![],
        addresses: vec![ip("10.0.0.1")],
        disk: disk(State::Patched),
        families: BTreeMap::new(),
        findings: vec![],
    });
    f.targets.insert("10.0.0.1".into(), served(&[("404", 1)]));
    assert_eq!(state_of(f), State::Attacked, "attacked outranks patched");

    let mut f = CaseFacts::default();
    f.inventory.push(InventoryEntry {
        name: "db1".into(),
        addresses: vec![ip("10.2.0.9")],
        role: Some("database".into()),
        notes: None,
    });
    let v = judge(&f, |_| true);
    assert_eq!((v[0].state, v[0].subject.as_str()), (State::Unknown, "db1"));
}

#[test]
fn names_join_through_logs_inventory_and_tables() {
    let mut f = CaseFacts::default();
    let mut t = served(&[("404", 1)]);
    t.also_known_as.insert("www.example.jp".into());
    f.targets.insert("10.1.0.10".into(), t);
    f.targets
        .insert("www.example.jp".into(), served(&[("200", 1)]));
    f.inventory.push(InventoryEntry {
        name: "web01".into(),
        addresses: vec![ip("10.1.0.10"), ip("192.168.0.10")],
        role: None,
        notes: None,
    });
    f.scans.push(scan("192.168.0.10", Some("web01"), false));
    let v = judge(&f, |_| true);
    assert_eq!(v.len(), 1, "{v:#?}");
    assert_eq!(v[0].subject, "web01");
    let served = v[0].host.as_ref().unwrap().served.as_ref().unwrap();
    assert_eq!(served.statuses.total(), 2);
}
