//! Indicators of compromise: the addresses that attacked us and our own hosts that are
//! infected, as a plain list (one address per line, for firewalls and block lists) and as a
//! STIX 2.1 bundle (one indicator per address, for threat-intelligence platforms).
//!
//! Output is deterministic: object ids are UUIDv5 of what they describe, and `created` /
//! `modified` are the latest evidence time of the case (the run's start time only when no
//! evidence carries a time).

use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, Write};
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use chrono::{DateTime, FixedOffset, SecondsFormat, Utc};
use serde_json::{json, Value};
use uuid::Uuid;

use super::atomic::AtomicFile;
use super::{RunTotals, Sink};
use crate::model::{Role, State, Verdict};

/// Namespace of wormtrace's STIX ids (a fixed random UUID).
const NAMESPACE: Uuid = Uuid::from_u128(0x6f1c_2b4e_93a7_4d0e_b8a1_52c9_0e7d_4f31);

/// Why an address is an indicator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum IocRole {
    /// It sent worm or exploit requests to us.
    Attacker,
    /// A host of ours that is spreading a worm.
    Infected,
}

impl IocRole {
    fn label(self) -> &'static str {
        match self {
            IocRole::Attacker => "attacker",
            IocRole::Infected => "infected-host",
        }
    }
}

/// One address with what is known of it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Indicator {
    /// Families seen (sorted).
    pub families: BTreeSet<String>,
    pub first_seen: Option<DateTime<FixedOffset>>,
    pub last_seen: Option<DateTime<FixedOffset>>,
}

/// The indicators of a case, by role and address.
#[derive(Debug, Clone, Default)]
pub struct IocSet {
    indicators: BTreeMap<(IocRole, IpAddr), Indicator>,
}

impl IocSet {
    /// Adds (or merges into) the indicator of `address` in `role`.
    pub fn add(
        &mut self,
        role: IocRole,
        address: IpAddr,
        families: impl IntoIterator<Item = String>,
        seen: [Option<DateTime<FixedOffset>>; 2],
    ) {
        let entry = self.indicators.entry((role, address)).or_default();
        entry.families.extend(families);
        let [first, last] = seen;
        entry.first_seen = [entry.first_seen, first].into_iter().flatten().min();
        entry.last_seen = [entry.last_seen, last].into_iter().flatten().max();
    }

    /// Whether nothing was found.
    pub fn is_empty(&self) -> bool {
        self.indicators.is_empty()
    }

    /// One address per line, each once, in address order (IPv4 before IPv6).
    pub fn write_plain(&self, out: &mut dyn Write) -> io::Result<()> {
        let addresses: BTreeSet<IpAddr> = self.indicators.keys().map(|(_, a)| *a).collect();
        for address in addresses {
            writeln!(out, "{address}")?;
        }
        Ok(())
    }

    /// A STIX 2.1 bundle: wormtrace's identity, then one indicator per address and role.
    pub fn stix_bundle(&self, fallback_time: DateTime<Utc>) -> Value {
        let (head, identity) = self.stix_head(fallback_time);
        let mut objects = vec![identity];
        objects.extend(self.stix_indicators(&head));
        json!({
            "type": "bundle",
            "id": head.bundle_id,
            "objects": objects,
        })
    }

    /// The bundle of [`IocSet::stix_bundle`], written one object at a time (the same bytes
    /// as `serde_json::to_writer_pretty`), so a large set is never held as JSON values.
    pub fn write_stix(&self, out: &mut dyn Write, fallback_time: DateTime<Utc>) -> io::Result<()> {
        let (head, identity) = self.stix_head(fallback_time);
        write!(
            out,
            "{{\n  \"id\": {},\n  \"objects\": [",
            serde_json::to_string(&head.bundle_id)?
        )?;
        let objects = std::iter::once(identity).chain(self.stix_indicators(&head));
        for (i, object) in objects.enumerate() {
            out.write_all(if i == 0 { b"\n    " } else { b",\n    " })?;
            let text = serde_json::to_string_pretty(&object)?;
            out.write_all(text.replace('\n', "\n    ").as_bytes())?;
        }
        out.write_all(b"\n  ],\n  \"type\": \"bundle\"\n}")
    }

    fn stix_head(&self, fallback_time: DateTime<Utc>) -> (StixHead, Value) {
        let created = self
            .indicators
            .values()
            .filter_map(|i| i.last_seen)
            .max()
            .map_or(fallback_time, |t| t.with_timezone(&Utc));
        let created = stix_time(created);
        let identity_id = format!(
            "identity--{}",
            Uuid::new_v5(&NAMESPACE, b"identity|wormtrace")
        );
        let identity = json!({
            "type": "identity",
            "spec_version": "2.1",
            "id": identity_id,
            "created": created,
            "modified": created,
            "name": "wormtrace",
            "identity_class": "system",
        });
        let mut ids = vec![identity_id.clone()];
        ids.extend(
            self.indicators
                .keys()
                .map(|(role, address)| format!("indicator--{}", indicator_id(*role, *address))),
        );
        let bundle_id = Uuid::new_v5(&NAMESPACE, ids.join("|").as_bytes());
        let head = StixHead {
            created,
            identity_id,
            bundle_id: format!("bundle--{bundle_id}"),
        };
        (head, identity)
    }

    fn stix_indicators<'s>(&'s self, head: &'s StixHead) -> impl Iterator<Item = Value> + 's {
        self.indicators.iter().map(|((role, address), indicator)| {
            indicator_object(*role, *address, indicator, &head.created, &head.identity_id)
        })
    }
}

/// What every object of a bundle shares.
struct StixHead {
    created: String,
    identity_id: String,
    bundle_id: String,
}

/// The stable id of the indicator of `address` in `role`.
fn indicator_id(role: IocRole, address: IpAddr) -> Uuid {
    Uuid::new_v5(
        &NAMESPACE,
        format!("indicator|{}|{address}", role.label()).as_bytes(),
    )
}

fn indicator_object(
    role: IocRole,
    address: IpAddr,
    indicator: &Indicator,
    created: &str,
    identity_id: &str,
) -> Value {
    let (object, pattern_type) = match address {
        IpAddr::V4(_) => ("ipv4-addr", "IPv4"),
        IpAddr::V6(_) => ("ipv6-addr", "IPv6"),
    };
    let families: Vec<&str> = indicator.families.iter().map(String::as_str).collect();
    let family_text = if families.is_empty() {
        "worm".to_string()
    } else {
        families.join(", ")
    };
    let (name, description, types) = match role {
        IocRole::Attacker => (
            format!("{family_text} requests from {address}"),
            format!("{pattern_type} address {address} sent {family_text} requests to our web servers."),
            "malicious-activity",
        ),
        IocRole::Infected => (
            format!("Infected host {address} ({family_text})"),
            format!("{pattern_type} address {address} is a host of ours spreading {family_text}: isolate it."),
            "compromised",
        ),
    };
    let id = indicator_id(role, address);
    let mut labels: Vec<String> = families.iter().map(|f| f.to_string()).collect();
    labels.push(role.label().to_string());
    let valid_from = indicator
        .first_seen
        .map_or_else(|| created.to_string(), |t| stix_time(t.with_timezone(&Utc)));
    let mut object = json!({
        "type": "indicator",
        "spec_version": "2.1",
        "id": format!("indicator--{id}"),
        "created_by_ref": identity_id,
        "created": created,
        "modified": created,
        "name": name,
        "description": description,
        "indicator_types": [types],
        "pattern": format!("[{object}:value = '{address}']"),
        "pattern_type": "stix",
        "valid_from": valid_from,
        "labels": labels,
    });
    if let (Some(first), Some(last)) = (indicator.first_seen, indicator.last_seen) {
        // STIX wants valid_until after valid_from: a single sighting gets one more second.
        let until = if last > first {
            last
        } else {
            first + chrono::Duration::seconds(1)
        };
        object["valid_until"] = json!(stix_time(until.with_timezone(&Utc)));
    }
    object
}

/// STIX timestamps: UTC, `Z`, millisecond precision.
fn stix_time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Where `--iocs FILE` writes: the plain list at FILE, the bundle beside it with the
/// extension `stix.json` (`block.txt` gives `block.stix.json`).
pub fn ioc_paths(file: &Path) -> (PathBuf, PathBuf) {
    (file.to_path_buf(), file.with_extension("stix.json"))
}

/// The `--iocs` sink: gathers indicators from the verdicts and writes both files at the end.
pub struct IocSink {
    files: Option<(AtomicFile, AtomicFile)>,
    set: IocSet,
    started: DateTime<Utc>,
}

impl IocSink {
    /// Opens `file` and its `.stix.json` sibling under temporary names now, so a bad path
    /// fails before the scan; both take their names when the run ends.
    pub fn new(file: &Path, started: DateTime<Utc>) -> io::Result<Self> {
        let (plain, stix) = ioc_paths(file);
        Ok(IocSink {
            files: Some((AtomicFile::create(&plain)?, AtomicFile::create(&stix)?)),
            set: IocSet::default(),
            started,
        })
    }
}

impl Sink for IocSink {
    fn verdict(&mut self, v: &Verdict) -> io::Result<()> {
        let families = || v.families.keys().cloned().collect::<Vec<_>>();
        let seen = [v.first_seen.map(|t| t.0), v.last_seen.map(|t| t.0)];
        match v.role {
            Role::Source | Role::Scanner => {
                if let Ok(address) = v.subject.parse::<IpAddr>() {
                    self.set.add(IocRole::Attacker, address, families(), seen);
                }
            }
            Role::Host | Role::Target => {
                if matches!(v.state, State::Compromised | State::Spreading) {
                    for address in v.host.iter().flat_map(|h| &h.addresses) {
                        self.set.add(IocRole::Infected, *address, families(), seen);
                    }
                }
            }
        }
        Ok(())
    }

    fn finish(&mut self, _: &RunTotals) -> io::Result<()> {
        let Some((mut plain, mut stix)) = self.files.take() else {
            return Ok(());
        };
        self.set.write_plain(&mut plain)?;
        plain.commit()?;
        self.set.write_stix(&mut stix, self.started)?;
        stix.write_all(b"\n")?;
        stix.commit()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Option<DateTime<FixedOffset>> {
        DateTime::parse_from_rfc3339(s).ok()
    }

    #[test]
    fn one_address_once_in_the_list_and_one_indicator_per_role() {
        let mut set = IocSet::default();
        let a: IpAddr = "198.51.100.23".parse().unwrap();
        let b: IpAddr = "10.1.5.23".parse().unwrap();
        set.add(
            IocRole::Attacker,
            a,
            ["code-red".into()],
            [at("2001-08-04T01:00:00Z"), at("2001-08-04T02:00:00Z")],
        );
        set.add(
            IocRole::Attacker,
            a,
            ["nimda".into()],
            [at("2001-08-03T01:00:00Z"), None],
        );
        set.add(IocRole::Infected, b, ["code-red-ii".into()], [None, None]);
        let mut plain = Vec::new();
        set.write_plain(&mut plain).unwrap();
        assert_eq!(
            String::from_utf8(plain).unwrap(),
            "10.1.5.23\n198.51.100.23\n"
        );
        let started = DateTime::parse_from_rfc3339("2026-12-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let bundle = set.stix_bundle(started);
        let objects = bundle["objects"].as_array().unwrap();
        assert_eq!(objects.len(), 3);
        let attacker = &objects[1];
        assert_eq!(attacker["pattern"], "[ipv4-addr:value = '198.51.100.23']");
        assert_eq!(attacker["labels"], json!(["code-red", "nimda", "attacker"]));
        assert_eq!(attacker["valid_from"], "2001-08-03T01:00:00.000Z");
        assert_eq!(attacker["valid_until"], "2001-08-04T02:00:00.000Z");
        assert_eq!(attacker["created"], "2001-08-04T02:00:00.000Z");
        assert_eq!(objects[2]["indicator_types"], json!(["compromised"]));
        // Same content, same ids.
        assert_eq!(bundle, set.stix_bundle(started));
        // Written one object at a time, it is the same bytes as the whole bundle.
        let mut streamed = Vec::new();
        set.write_stix(&mut streamed, started).unwrap();
        let whole = serde_json::to_vec_pretty(&bundle).unwrap();
        assert_eq!(String::from_utf8(streamed), String::from_utf8(whole));
    }
}
