//! Host sweep: Code Red II and Nimda traces and the MS01-033 patch state of a Windows host,
//! from a mounted volume, offline hives, `.reg` exports, an IIS metabase or a saved `dir`
//! listing. Stages: [`evidence`] (what a path is) → [`facts`] (what it holds) →
//! [`checks`] (findings) → [`verdict`] (one per host).

pub mod checks;
pub mod evidence;
pub mod facts;
pub mod listing;
pub mod metabase;
pub mod pe_version;
pub mod places;
pub mod registry;
pub mod verdict;
pub mod volume;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use checks::{trace_findings, unpatched_finding};
use evidence::{classify, Evidence, EvidenceKind};
pub use facts::{HostFacts, SweepOptions};
use verdict::disk_detail;

use crate::model::{self, DiskDetail, Finding, InputRecord, InputTag, State};
use crate::source::{Listings, Problem};

/// One host to sweep: a name given by the user (or none) and its evidence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostSpec {
    pub name: Option<String>,
    pub evidence: Vec<Evidence>,
}

/// Everything the sweep of one host gives.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct HostReport {
    /// The name it is known by: `--host`, else ComputerName, else the folder.
    pub host: String,
    /// Whether that name was given with `--host`.
    pub named_by_user: bool,
    /// Other names the evidence gives (ComputerName, metabase host headers).
    pub names: Vec<String>,
    /// Addresses the evidence gives (interfaces in the SYSTEM hive or export, bindings).
    pub addresses: Vec<std::net::IpAddr>,
    pub inputs: Vec<InputRecord>,
    pub findings: Vec<Finding>,
    pub disk: DiskDetail,
    #[serde(with = "crate::model::problems_whole")]
    pub problems: Vec<Problem>,
}

/// Sweeps one host.
pub fn sweep(spec: &HostSpec, options: SweepOptions) -> HostReport {
    let mut facts = HostFacts::default();
    for evidence in &spec.evidence {
        facts.gather(evidence, options);
    }
    let host = spec
        .name
        .clone()
        .or_else(|| computer_name(&facts))
        .unwrap_or_else(|| fallback_name(spec));
    let mut traces = trace_findings(&facts);
    let disk = disk_detail(&facts, &traces);
    if disk.state == State::Exposed {
        let p = &disk.patch;
        traces.push(unpatched_finding(
            p.evidence.clone().unwrap_or_default(),
            p.evidence.clone().unwrap_or_default(),
            p.detail.clone(),
        ));
    }
    let (names, addresses) = identity(&facts);
    HostReport {
        inputs: facts
            .inputs
            .iter()
            .map(|(path, role, digest)| InputRecord {
                kind: InputTag::Input,
                evidence_kind: model::EvidenceKind::Host,
                host: Some(host.clone()),
                path: path.clone(),
                role: Some(role.clone()),
                sha256: digest.sha256.clone(),
                size: Some(digest.size),
                stream: None,
            })
            .collect(),
        findings: traces.into_iter().map(|t| t.into_finding(&host)).collect(),
        named_by_user: spec.name.is_some(),
        host,
        names,
        addresses,
        disk,
        problems: facts.problems,
    }
}

/// Names and addresses the host's own evidence gives: ComputerName, the interfaces'
/// `IPAddress` and `DhcpIPAddress` under the current control set, and the web sites'
/// bindings.
fn identity(facts: &HostFacts) -> (Vec<String>, Vec<std::net::IpAddr>) {
    let mut names: Vec<String> = computer_name(facts).into_iter().collect();
    let mut addresses = Vec::new();
    let interfaces = r"Services\Tcpip\Parameters\Interfaces";
    // An export holds the interface keys, not always their parent: look under each control
    // set the current one can be (as exported, or by number).
    let control_set = match facts.registry.current_control_set() {
        Some(n) => format!(r"HKLM\SYSTEM\ControlSet{n:03}"),
        None => r"HKLM\SYSTEM\ControlSet001".to_string(),
    };
    let roots = [
        format!(
            r"{}\{interfaces}",
            crate::host::registry::CURRENT_CONTROL_SET
        ),
        format!(r"{control_set}\{interfaces}"),
    ];
    for root in &roots {
        for key in facts.registry.keys_under(root) {
            for value in ["IPAddress", "DhcpIPAddress"] {
                if let Some(v) = key.value(value) {
                    let text = v.data.as_text();
                    let parsed = text
                        .split(['\n', ' '])
                        .filter_map(|a| a.trim().parse::<std::net::IpAddr>().ok());
                    addresses.extend(parsed);
                }
            }
        }
    }
    for (_, metabase) in &facts.metabases {
        for binding in &metabase.bindings {
            match binding.parse() {
                Ok(address) => addresses.push(address),
                Err(_) => names.push(binding.to_ascii_lowercase()),
            }
        }
    }
    // Unconfigured interfaces say 0.0.0.0; that names no host.
    addresses.retain(|a: &std::net::IpAddr| !a.is_unspecified());
    addresses.sort();
    addresses.dedup();
    names.sort();
    names.dedup();
    (names, addresses)
}

fn computer_name(facts: &HostFacts) -> Option<String> {
    facts
        .registry
        .control_set_key(r"Control\ComputerName\ComputerName")?
        .value("ComputerName")
        .map(|v| v.data.as_text())
        .filter(|n| !n.trim().is_empty())
}

/// A volume's folder name, or the folder holding loose evidence files.
fn fallback_name(spec: &HostSpec) -> String {
    let first = spec.evidence.first().map(|e| match e.kind {
        EvidenceKind::Volume => e.path.clone(),
        _ => e.path.parent().map(Path::to_path_buf).unwrap_or_default(),
    });
    first
        .and_then(|p| {
            std::fs::canonicalize(&p)
                .unwrap_or(p)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
        })
        .unwrap_or_else(|| "host".to_string())
}

/// `NAME=PATH[,PATH...]` as given to `--host`.
pub fn parse_host_arg(text: &str) -> Result<(String, Vec<PathBuf>), String> {
    let (name, paths) = text
        .split_once('=')
        .ok_or_else(|| format!("'{text}' is not NAME=PATH[,PATH...]"))?;
    let paths: Vec<PathBuf> = paths
        .split(',')
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .collect();
    if name.trim().is_empty() || paths.is_empty() {
        return Err(format!("'{text}' is not NAME=PATH[,PATH...]"));
    }
    Ok((name.trim().to_string(), paths))
}

/// Host evidence among the scan's paths, grouped into hosts, and the paths left for the
/// log scan. Each volume is a host of its own; loose evidence files (hives, exports,
/// metabases, listings) in one folder form one host. Named hosts take every path given.
/// The listings of folders given are kept in `listings`, for the walk of the logs.
pub fn plan_hosts(
    paths: &[PathBuf],
    named: &[(String, Vec<PathBuf>)],
    listings: &Listings,
    problems: &mut Vec<Problem>,
) -> (Vec<HostSpec>, Vec<PathBuf>) {
    let mut hosts = Vec::new();
    for (name, host_paths) in named {
        let evidence = host_paths
            .iter()
            .filter_map(|p| match classify(p) {
                Some(kind) => Some(Evidence {
                    kind,
                    path: p.clone(),
                }),
                None => {
                    problems.push(Problem::said(
                        p.display().to_string(),
                        "not host evidence (volume, hive, .reg export, metabase or dir listing)",
                        crate::source::Severity::Error,
                        "problem-not-host-evidence",
                        &[],
                    ));
                    None
                }
            })
            .collect();
        hosts.push(HostSpec {
            name: Some(name.clone()),
            evidence,
        });
    }
    let mut loose: BTreeMap<PathBuf, Vec<Evidence>> = BTreeMap::new();
    let mut logs = Vec::new();
    for path in paths {
        let is_dir = path.as_os_str() != "-" && path.is_dir();
        let kind = if is_dir {
            // One listing tells both whether the folder is a volume and what is below it.
            match volumes_in(path, listings) {
                Volumes::ThisFolder => Some(EvidenceKind::Volume),
                Volumes::Below(roots) => {
                    hosts.extend(roots.into_iter().map(|root| HostSpec {
                        name: None,
                        evidence: vec![Evidence {
                            kind: EvidenceKind::Volume,
                            path: root,
                        }],
                    }));
                    None
                }
            }
        } else {
            (path.as_os_str() != "-").then(|| classify(path)).flatten()
        };
        match kind {
            Some(EvidenceKind::Volume) => hosts.push(HostSpec {
                name: None,
                evidence: vec![Evidence {
                    kind: EvidenceKind::Volume,
                    path: path.clone(),
                }],
            }),
            Some(kind) => loose
                .entry(path.parent().map(Path::to_path_buf).unwrap_or_default())
                .or_default()
                .push(Evidence {
                    kind,
                    path: path.clone(),
                }),
            None => logs.push(path.clone()),
        }
    }
    hosts.extend(loose.into_values().map(|evidence| HostSpec {
        name: None,
        evidence,
    }));
    (hosts, logs)
}

/// How deep below a folder given to `scan` volumes are looked for.
const NESTED_VOLUME_DEPTH: usize = 4;

/// Whether a folder given to `scan` is a volume's root, else the volume roots inside it (a
/// case folder holding `c/` and `d/` copies). Each folder is listed once, without touching
/// its access time, and links are not followed.
fn volumes_in(dir: &Path, listings: &Listings) -> Volumes {
    let mut found = Vec::new();
    let mut pending = vec![(dir.to_path_buf(), 0)];
    while let Some((folder, depth)) = pending.pop() {
        // Unsorted: the roots found are sorted at the end.
        let listed = if depth == 0 {
            top_subdirs(dir, listings)
        } else {
            crate::source::list_subdirs(&folder)
        };
        let Ok(subdirs) = listed else {
            continue;
        };
        if volume::marks_a_volume(&subdirs) {
            if depth == 0 {
                return Volumes::ThisFolder;
            }
            found.push(folder);
            continue;
        }
        if depth < NESTED_VOLUME_DEPTH {
            pending.extend(
                subdirs
                    .into_iter()
                    .map(|name| (folder.join(name), depth + 1)),
            );
        }
    }
    found.sort();
    Volumes::Below(found)
}

/// The subfolders of a folder given to `scan`; its whole listing is kept for the walk.
fn top_subdirs(dir: &Path, listings: &Listings) -> std::io::Result<Vec<std::ffi::OsString>> {
    let entries = crate::source::list_dir_unsorted(dir)?;
    let subdirs = crate::source::subdir_names(&entries);
    // The walk knows folders by their real place.
    if let Ok(real) = std::fs::canonicalize(dir) {
        listings.keep(real, entries);
    }
    Ok(subdirs)
}

/// Where the volumes of a folder given to `scan` are.
enum Volumes {
    /// The folder is itself a volume's root.
    ThisFolder,
    /// The volume roots inside it (none, for a folder of logs).
    Below(Vec<PathBuf>),
}

/// The volume roots among host specs, which the log walk must leave alone.
pub fn volume_roots(hosts: &[HostSpec]) -> Vec<PathBuf> {
    hosts
        .iter()
        .flat_map(|h| &h.evidence)
        .filter(|e| e.kind == EvidenceKind::Volume)
        .map(|e| e.path.clone())
        .collect()
}

/// Host evidence files found among the log inputs (a case folder often holds hives and
/// exports beside the logs), grouped by folder like loose files: one host each. The scan
/// tells them by their first bytes ([`crate::scan::ScanOptions::claim_host_evidence`]).
pub fn group_loose_evidence(found: Vec<(PathBuf, EvidenceKind)>) -> Vec<HostSpec> {
    let mut loose: BTreeMap<PathBuf, Vec<Evidence>> = BTreeMap::new();
    for (path, kind) in found {
        loose
            .entry(path.parent().map(Path::to_path_buf).unwrap_or_default())
            .or_default()
            .push(Evidence { kind, path });
    }
    loose
        .into_values()
        .map(|evidence| HostSpec {
            name: None,
            evidence,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::{expand, Input, WalkOptions};

    #[test]
    fn a_folder_of_logs_is_listed_once_and_walked_in_name_order() {
        let dir = tempfile::tempdir().unwrap();
        let logs = dir.path().join("logs");
        std::fs::create_dir_all(logs.join("sub")).unwrap();
        for name in ["c.log", "a.log", "b.log", "sub/x.log"] {
            std::fs::write(logs.join(name), b"GET / 200\n").unwrap();
        }
        let (listings, mut problems) = (Listings::default(), Vec::new());
        let paths = [logs.clone()];
        let (hosts, log_paths) = plan_hosts(&paths, &[], &listings, &mut problems);
        assert!(hosts.is_empty() && problems.is_empty());
        assert_eq!(log_paths, paths);
        // Written after the one listing: the walk that takes that listing does not see it.
        std::fs::write(logs.join("d.log"), b"GET / 200\n").unwrap();
        let walk = WalkOptions {
            listed: Some(&listings),
            ..WalkOptions::default()
        };
        let expected = ["a.log", "b.log", "c.log", "sub/x.log"];
        let expected: Vec<String> = expected
            .iter()
            .map(|n| logs.join(n).display().to_string())
            .collect();
        let walked = expand(&log_paths, walk, &mut problems);
        assert_eq!(
            walked.iter().map(Input::label).collect::<Vec<_>>(),
            expected
        );
        // A listing is taken once; the next walk reads the folder again.
        assert_eq!(expand(&log_paths, walk, &mut problems).len(), 5);
        assert!(problems.is_empty());
    }

    #[test]
    fn a_volume_given_as_a_folder_is_a_host_and_volumes_below_a_folder_are_found() {
        let dir = tempfile::tempdir().unwrap();
        let case = dir.path().join("case");
        std::fs::create_dir_all(case.join("c/WINNT/system32")).unwrap();
        std::fs::create_dir_all(case.join("logs")).unwrap();
        let (listings, mut problems) = (Listings::default(), Vec::new());
        let (hosts, logs) = plan_hosts(
            &[case.clone(), case.join("c")],
            &[],
            &listings,
            &mut problems,
        );
        let roots: Vec<&Path> = hosts.iter().map(|h| h.evidence[0].path.as_path()).collect();
        assert_eq!(roots, [case.join("c"), case.join("c")]);
        assert_eq!(logs, [case]);
    }
}
