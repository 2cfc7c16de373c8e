//! Hosts of ours, known by their names and addresses, and the one verdict per host that joins
//! what the logs, the disk and the network say about it.
//!
//! Names and addresses are linked wherever some evidence puts them together: `--host` and the
//! inventory, the SYSTEM hive's ComputerName and interface addresses, the metabase's
//! bindings, a connection table's host and its local addresses, and a log line's `s-ip`
//! beside its `cs-host` or `s-computername`. Each connected group is one host.

mod inventory;

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

pub use inventory::{parse_inventory, InventoryEntry, InventoryError};

use crate::model::{
    DiskDetail, EvidenceKind, HostDetail, Role, ScanDetail, ServedDetail, SourceDetail, State,
    Verdict, VerdictTag,
};
use crate::verdict::{merge_served, source_detail, SourceTally, Tally, TargetTally};

/// A name or an address that identifies a host.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Key {
    /// A host name, lower-cased (or `log:<folder>` for a server known only by its logs).
    Name(String),
    Address(IpAddr),
}

impl Key {
    /// A name or an address, as text gives it. Host names are compared without case; a
    /// `log:` folder keeps its case (paths are case-sensitive).
    pub fn of(text: &str) -> Key {
        let text = text.trim();
        match text.parse::<IpAddr>() {
            Ok(a) => Key::Address(a),
            Err(_) if text.starts_with("log:") => Key::Name(text.to_string()),
            Err(_) => Key::Name(text.to_lowercase()),
        }
    }
}

/// Names and addresses linked into hosts (union-find).
#[derive(Debug, Default)]
pub struct Identities {
    index: BTreeMap<Key, usize>,
    parent: Vec<usize>,
}

impl Identities {
    fn id(&mut self, key: &Key) -> usize {
        if let Some(&i) = self.index.get(key) {
            return i;
        }
        let i = self.parent.len();
        self.parent.push(i);
        self.index.insert(key.clone(), i);
        i
    }

    fn root(&self, mut i: usize) -> usize {
        while self.parent[i] != i {
            i = self.parent[i];
        }
        i
    }

    /// Notes that `key` names a host.
    pub fn add(&mut self, key: &Key) {
        self.id(key);
    }

    /// Notes that `a` and `b` name the same host.
    pub fn link(&mut self, a: &Key, b: &Key) {
        let (a, b) = (self.id(a), self.id(b));
        let (ra, rb) = (self.root(a), self.root(b));
        if ra != rb {
            // The smaller root wins, so the grouping does not depend on the order of links.
            let (keep, join) = (ra.min(rb), ra.max(rb));
            self.parent[join] = keep;
        }
    }

    /// The host `key` belongs to, if it was noted.
    pub fn host_of(&self, key: &Key) -> Option<usize> {
        self.index.get(key).map(|&i| self.root(i))
    }

    /// Every host with its keys.
    pub fn hosts(&self) -> BTreeMap<usize, Vec<Key>> {
        let mut out: BTreeMap<usize, Vec<Key>> = BTreeMap::new();
        for (key, &i) in &self.index {
            out.entry(self.root(i)).or_default().push(key.clone());
        }
        out
    }
}

/// What the host sweep said of one host.
#[derive(Debug, Clone)]
pub struct SweptHost {
    pub name: String,
    /// Named with `--host` (wins as the host's name).
    pub named_by_user: bool,
    pub names: Vec<String>,
    pub addresses: Vec<IpAddr>,
    pub disk: DiskDetail,
    pub families: BTreeMap<String, u64>,
    /// Ids of its trace findings.
    pub findings: Vec<u64>,
}

/// A scanning address from captures or tables, with the id of its finding if it spreads.
#[derive(Debug, Clone)]
pub struct Scan {
    pub detail: ScanDetail,
    pub finding: Option<u64>,
}

/// Everything the verdicts are made from.
#[derive(Debug, Default)]
pub struct CaseFacts {
    /// Request tallies per source, with whether each is one of our hosts spreading a worm.
    pub sources: Vec<SourceTally>,
    /// Request tallies per attacked server.
    pub targets: BTreeMap<String, TargetTally>,
    pub swept: Vec<SweptHost>,
    pub scans: Vec<Scan>,
    pub inventory: Vec<InventoryEntry>,
}

impl CaseFacts {
    /// Links every name to every address the evidence gives together.
    fn identities(&self, internal: &dyn Fn(&IpAddr) -> bool) -> Identities {
        let mut ids = Identities::default();
        for entry in &self.inventory {
            let name = Key::of(&entry.name);
            ids.add(&name);
            entry
                .addresses
                .iter()
                .for_each(|a| ids.link(&name, &Key::Address(*a)));
        }
        for host in &self.swept {
            let name = Key::of(&host.name);
            ids.add(&name);
            host.names.iter().for_each(|n| ids.link(&name, &Key::of(n)));
            host.addresses
                .iter()
                .for_each(|a| ids.link(&name, &Key::Address(*a)));
        }
        for scan in self
            .scans
            .iter()
            .filter(|s| is_ours(s, &self.sources, internal))
        {
            let address = Key::Address(scan.detail.address);
            ids.add(&address);
            if let Some(host) = &scan.detail.host {
                ids.link(&Key::of(host), &address);
            }
        }
        for (server, tally) in &self.targets {
            let key = Key::of(server);
            ids.add(&key);
            tally
                .also_known_as
                .iter()
                .for_each(|n| ids.link(&key, &Key::of(n)));
        }
        for source in self.sources.iter().filter(|s| s.spreading) {
            ids.add(&Key::Address(source.address));
        }
        ids
    }
}

/// A capture scanner outside our networks is an attacker, not a host of ours; table
/// addresses are always ours (the table was taken on our host).
fn is_ours(scan: &Scan, sources: &[SourceTally], internal: &dyn Fn(&IpAddr) -> bool) -> bool {
    scan.detail.host.is_some()
        || sources
            .iter()
            .find(|s| s.address == scan.detail.address)
            .map_or_else(|| internal(&scan.detail.address), |s| s.internal)
}

/// The verdicts of a case: one per host of ours (most urgent first), then the outside
/// sources (most evidence first).
pub fn judge(facts: &CaseFacts, internal: impl Fn(&IpAddr) -> bool) -> Vec<Verdict> {
    let ids = facts.identities(&internal);
    let mut hosts: BTreeMap<usize, HostBuilder> = BTreeMap::new();
    for (root, keys) in ids.hosts() {
        hosts.entry(root).or_default().keys = keys;
    }
    let host = |key: &Key| ids.host_of(key);
    for entry in &facts.inventory {
        if let Some(h) = host(&Key::of(&entry.name)).and_then(|h| hosts.get_mut(&h)) {
            h.preferred.push((0, entry.name.clone()));
            h.inventory_role = h.inventory_role.take().or(entry.role.clone());
        }
    }
    for swept in &facts.swept {
        if let Some(h) = host(&Key::of(&swept.name)).and_then(|h| hosts.get_mut(&h)) {
            h.add_swept(swept);
        }
    }
    for (server, tally) in &facts.targets {
        if let Some(h) = host(&Key::of(server)).and_then(|h| hosts.get_mut(&h)) {
            h.add_served(tally);
        }
    }
    let mut outside = Vec::new();
    for s in &facts.sources {
        let joined = s
            .spreading
            .then(|| host(&Key::Address(s.address)))
            .flatten();
        match joined.and_then(|h| hosts.get_mut(&h)) {
            Some(h) => h.add_sent(&s.address, &s.tally, s.internal),
            None => outside.push(source_verdict(&s.address, &s.tally, s.internal)),
        }
    }
    for scan in &facts.scans {
        match host(&Key::Address(scan.detail.address)).and_then(|h| hosts.get_mut(&h)) {
            Some(h) if is_ours(scan, &facts.sources, &internal) => h.add_scan(scan),
            _ => outside.push(scanner_verdict(scan)),
        }
    }
    let mut verdicts: Vec<Verdict> = hosts.into_values().map(HostBuilder::verdict).collect();
    verdicts.sort_by(|a, b| {
        (a.state, std::cmp::Reverse(a.evidence_count), &a.subject).cmp(&(
            b.state,
            std::cmp::Reverse(b.evidence_count),
            &b.subject,
        ))
    });
    outside.sort_by(|a, b| {
        (std::cmp::Reverse(a.evidence_count), &a.subject)
            .cmp(&(std::cmp::Reverse(b.evidence_count), &b.subject))
    });
    verdicts.extend(outside);
    verdicts
}

/// One host's verdict being put together.
#[derive(Debug, Default)]
struct HostBuilder {
    keys: Vec<Key>,
    /// Names by preference: 0 inventory and `--host`, 1 sweep, 2 tables, 3 logs.
    preferred: Vec<(u8, String)>,
    inventory_role: Option<String>,
    tally: Tally,
    served: Option<ServedDetail>,
    served_peers: crate::verdict::Distinct,
    sent: Option<SourceDetail>,
    disk: Option<DiskDetail>,
    scans: Vec<ScanDetail>,
}

impl HostBuilder {
    fn add_swept(&mut self, swept: &SweptHost) {
        let rank = if swept.named_by_user { 0 } else { 1 };
        self.preferred.push((rank, swept.name.clone()));
        for (family, n) in &swept.families {
            *self.tally.families.entry(family.clone()).or_default() += n;
        }
        self.tally.count += swept.findings.len() as u64;
        self.tally
            .ids
            .entry(EvidenceKind::Host)
            .or_default()
            .extend(&swept.findings);
        // Two sweeps of one host (say a volume and an export): the more urgent one speaks.
        let keep = self
            .disk
            .as_ref()
            .is_none_or(|d| swept.disk.state < d.state);
        if keep {
            self.disk = Some(swept.disk.clone());
        }
    }

    fn add_served(&mut self, target: &TargetTally) {
        self.tally.merge(&target.tally);
        self.served_peers.merge(&target.tally.peers);
        let served = self.served.get_or_insert_with(ServedDetail::default);
        merge_served(served, &target.served);
        served.peers = self.served_peers.len();
    }

    fn add_sent(&mut self, address: &IpAddr, tally: &Tally, internal: bool) {
        self.tally.merge(tally);
        self.sent = Some(source_detail(address, tally, internal));
    }

    fn add_scan(&mut self, scan: &Scan) {
        let d = &scan.detail;
        if let Some(host) = &d.host {
            self.preferred.push((2, host.clone()));
        }
        if let (Some(family), Some(id)) = (&d.likely_family, scan.finding) {
            *self.tally.families.entry(family.clone()).or_default() += 1;
            self.tally.count += 1;
            self.tally
                .ids
                .entry(EvidenceKind::Network)
                .or_default()
                .push(id);
        }
        self.tally.first = [self.tally.first, d.first_seen].into_iter().flatten().min();
        self.tally.last = [self.tally.last, d.last_seen].into_iter().flatten().max();
        self.scans.push(d.clone());
    }

    /// The precedence rule: the first state that applies.
    fn state(&self) -> State {
        let served = self.served.as_ref();
        let disk = self.disk.as_ref().map(|d| d.state);
        let scanning = self.scans.iter().any(|s| s.spreading);
        if disk == Some(State::Compromised) || served.is_some_and(|s| s.backdoor_answered > 0) {
            State::Compromised
        } else if self.sent.is_some() || scanning {
            State::Spreading
        } else if disk == Some(State::Exposed)
            || served.is_some_and(|s| s.exposure.unknown > 0 || s.traversal_answered > 0)
        {
            State::Exposed
        } else if disk == Some(State::Mitigated) {
            State::Mitigated
        } else if served.is_some() {
            State::Attacked
        } else if let Some(state @ (State::Patched | State::NotIis)) = disk {
            state
        } else if !self.scans.is_empty() && disk.is_none() {
            State::Clean
        } else {
            State::Unknown
        }
    }

    fn evidence_kinds(&self) -> Vec<EvidenceKind> {
        let mut kinds: BTreeSet<EvidenceKind> = self.tally.ids.keys().copied().collect();
        if self.disk.is_some() {
            kinds.insert(EvidenceKind::Host);
        }
        if !self.scans.is_empty() {
            kinds.insert(EvidenceKind::Network);
        }
        let request_ids = [EvidenceKind::Log, EvidenceKind::Network]
            .iter()
            .any(|k| self.tally.ids.contains_key(k));
        if self.served.is_some() && !request_ids {
            kinds.insert(EvidenceKind::Log);
        }
        kinds.into_iter().collect()
    }

    fn verdict(mut self) -> Verdict {
        let names: Vec<String> = self
            .keys
            .iter()
            .filter_map(|k| match k {
                Key::Name(n) => Some(n.clone()),
                Key::Address(_) => None,
            })
            .collect();
        let addresses: Vec<IpAddr> = self
            .keys
            .iter()
            .filter_map(|k| match k {
                Key::Address(a) => Some(*a),
                Key::Name(_) => None,
            })
            .collect();
        for n in &names {
            let rank = if n.starts_with("log:") { 4 } else { 3 };
            self.preferred.push((rank, n.clone()));
        }
        self.preferred.sort();
        let subject = self
            .preferred
            .first()
            .map(|(_, n)| n.clone())
            .or_else(|| addresses.first().map(IpAddr::to_string))
            .unwrap_or_default();
        Verdict {
            kind: VerdictTag::Verdict,
            evidence_kind: self.evidence_kinds(),
            state: self.state(),
            subject,
            role: Role::Host,
            families: self.tally.families.clone(),
            evidence_count: self.tally.count,
            first_seen: self.tally.first,
            last_seen: self.tally.last,
            evidence: self.tally.ids.clone(),
            source: None,
            host: Some(Box::new(HostDetail {
                names,
                addresses,
                inventory_role: self.inventory_role,
                served: self.served,
                sent: self.sent,
                disk: self.disk,
                scans: self.scans,
            })),
        }
    }
}

fn source_verdict(address: &IpAddr, tally: &Tally, internal: bool) -> Verdict {
    Verdict {
        kind: VerdictTag::Verdict,
        evidence_kind: tally.ids.keys().copied().collect(),
        subject: address.to_string(),
        role: Role::Source,
        state: State::Attacked,
        families: tally.families.clone(),
        evidence_count: tally.count,
        first_seen: tally.first,
        last_seen: tally.last,
        evidence: tally.ids.clone(),
        source: Some(source_detail(address, tally, internal)),
        host: None,
    }
}

/// An outside address seen scanning port 80 in a capture.
fn scanner_verdict(scan: &Scan) -> Verdict {
    let d = &scan.detail;
    let mut families = BTreeMap::new();
    let mut evidence = BTreeMap::new();
    if let (Some(family), Some(id)) = (&d.likely_family, scan.finding) {
        families.insert(family.clone(), 1);
        evidence.insert(EvidenceKind::Network, vec![id]);
    }
    Verdict {
        kind: VerdictTag::Verdict,
        evidence_kind: vec![EvidenceKind::Network],
        subject: d.address.to_string(),
        role: Role::Scanner,
        state: if d.spreading {
            State::Spreading
        } else {
            State::NotSpreading
        },
        evidence_count: families.values().sum(),
        families,
        first_seen: d.first_seen,
        last_seen: d.last_seen,
        evidence,
        source: None,
        host: Some(Box::new(HostDetail {
            addresses: vec![d.address],
            scans: vec![d.clone()],
            ..HostDetail::default()
        })),
    }
}

#[cfg(test)]
mod tests;
