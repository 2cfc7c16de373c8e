//! Checks: host facts in, findings out. Each finding names the exact file or registry
//! value, what was seen there, and why it matters.

use super::facts::{FileFact, HostFacts};
use super::places::Role;
use super::registry::RegData;
use crate::model::{Confidence, Evidence, Finding, Level, TraceEvidence};

/// `SFCDisable` as Code Red II sets it: Windows File Protection off, no prompt.
pub const SFC_DISABLE_WORM: u32 = 0xffff_ff9d;

const WINLOGON: &str = r"HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion\Winlogon";
const VIRTUAL_ROOTS: &str = r"Services\W3SVC\Parameters\Virtual Roots";

/// One host check that fired, before it knows its host's name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostFinding {
    /// Check id, e.g. `root-exe`.
    pub check: &'static str,
    pub family: &'static str,
    pub confidence: Confidence,
    /// The file (path on disk or in a listing) or registry value / metabase node.
    pub location: String,
    /// The evidence file it was read from.
    pub path: String,
    /// What was found there.
    pub observed: String,
    pub sha256: Option<String>,
}

impl HostFinding {
    fn new(check: &'static str, family: &'static str, confidence: &'static str) -> Self {
        HostFinding {
            check,
            family,
            confidence: Confidence::from_name(confidence).unwrap_or(Confidence::Medium),
            location: String::new(),
            path: String::new(),
            observed: String::new(),
            sha256: None,
        }
    }

    /// The model finding, on `host`. A worm trace is critical; a missing fix is high.
    pub fn into_finding(self, host: &str) -> Finding {
        let level = if self.family == "ms01-033" {
            Level::High
        } else {
            Level::Critical
        };
        Finding {
            id: 0,
            family: self.family.to_string(),
            rule_id: self.check.to_string(),
            rule_title: String::new(),
            level,
            confidence: self.confidence,
            path: self.path,
            time: None,
            evidence: Evidence::Trace(TraceEvidence {
                host: host.to_string(),
                check: self.check.to_string(),
                location: self.location,
                observed: self.observed,
                sha256: self.sha256,
            }),
            correlate: Vec::new(),
        }
    }

    fn at_file(mut self, file: &FileFact, observed: String) -> Self {
        self.location = file.location.clone();
        self.path = file.evidence.clone();
        self.sha256 = file.sha256.clone();
        self.observed = observed;
        self
    }

    fn at_key(mut self, location: String, path: &str, observed: String) -> Self {
        self.location = location;
        self.path = path.to_string();
        self.observed = observed;
        self
    }
}

/// Every trace of Code Red II and Nimda in the facts.
pub fn trace_findings(facts: &HostFacts) -> Vec<HostFinding> {
    let mut out = Vec::new();
    out.extend(root_exe(facts));
    out.extend(root_explorer(facts));
    out.extend(registry_traces(facts));
    out.extend(metabase_traces(facts));
    out.extend(nimda_files(facts));
    out.extend(nimda_shell(facts));
    out
}

fn files(facts: &HostFacts, role: Role) -> impl Iterator<Item = &FileFact> {
    facts.files.iter().filter(move |f| f.role == role)
}

fn root_exe(facts: &HostFacts) -> Vec<HostFinding> {
    let cmd: Vec<&FileFact> = files(facts, Role::CmdExe).collect();
    files(facts, Role::RootExe)
        .map(|f| {
            let same_bytes = f.sha256.is_some() && cmd.iter().any(|c| c.sha256 == f.sha256);
            let same_size = cmd.iter().any(|c| c.size == f.size);
            let (confidence, observed) = if same_bytes {
                ("high", "same bytes as the volume's cmd.exe".to_string())
            } else if f.sha256.is_none() && same_size {
                (
                    "medium",
                    format!("listed with cmd.exe's size ({} bytes)", f.size),
                )
            } else if cmd.is_empty() {
                (
                    "medium",
                    format!("{} bytes; no cmd.exe to compare with", f.size),
                )
            } else {
                ("medium", format!("{} bytes, differs from cmd.exe", f.size))
            };
            HostFinding::new("root-exe", "code-red-ii", confidence).at_file(f, observed)
        })
        .collect()
}

fn root_explorer(facts: &HostFacts) -> Vec<HostFinding> {
    let real: Vec<&FileFact> = files(facts, Role::WindowsExplorer).collect();
    files(facts, Role::RootExplorer)
        .map(|f| {
            let same = f.sha256.is_some() && real.iter().any(|r| r.sha256 == f.sha256);
            let (confidence, observed) = if same {
                (
                    "low",
                    "same bytes as the real Explorer in the Windows folder".into(),
                )
            } else if real.iter().any(|r| r.sha256.is_some()) && f.sha256.is_some() {
                ("high", format!("{} bytes, not the real Explorer", f.size))
            } else {
                ("medium", format!("{} bytes at the drive root", f.size))
            };
            HostFinding::new("root-explorer", "code-red-ii", confidence).at_file(f, observed)
        })
        .collect()
}

fn registry_traces(facts: &HostFacts) -> Vec<HostFinding> {
    let mut out = Vec::new();
    if let Some(key) = facts.registry.key(WINLOGON) {
        if let Some(v) = key.value("SFCDisable") {
            if v.data.as_u32() == Some(SFC_DISABLE_WORM) {
                out.push(
                    HostFinding::new("sfc-disable", "code-red-ii", "high").at_key(
                        format!(r"{}\{}", key.path, v.name),
                        &key.source,
                        "0xFFFFFF9D".into(),
                    ),
                );
            }
        }
    }
    let Some(key) = facts.registry.control_set_key(VIRTUAL_ROOTS) else {
        return out;
    };
    for v in key.values() {
        let name = v.name.trim_end_matches(',').to_ascii_lowercase();
        let data = v.data.as_text();
        let check = match name.as_str() {
            "/c" | "/d" => Some("vroot-drive"),
            "/scripts" | "/msadc" if mask_of(&v.data) == Some("217") => Some("vroot-mask"),
            _ => None,
        };
        if let Some(check) = check {
            out.push(HostFinding::new(check, "code-red-ii", "high").at_key(
                format!(r"{}\{}", key.path, v.name),
                &key.source,
                data,
            ));
        }
    }
    out
}

/// The access mask of a `Virtual Roots` value: `path,user,mask`.
fn mask_of(data: &RegData) -> Option<&str> {
    match data {
        RegData::String(s) => s.rsplit(',').next().map(str::trim),
        _ => None,
    }
}

fn metabase_traces(facts: &HostFacts) -> Vec<HostFinding> {
    facts
        .metabases
        .iter()
        .flat_map(|(source, mb)| {
            mb.drive_vdirs.iter().map(move |v| {
                let observed = format!(
                    "path {}, access {}",
                    v.path.as_deref().unwrap_or("-"),
                    v.access_flags.as_deref().unwrap_or("-")
                );
                HostFinding::new("metabase-drive-vdir", "code-red-ii", "high").at_key(
                    v.location.clone(),
                    source,
                    observed,
                )
            })
        })
        .collect()
}

fn nimda_files(facts: &HostFacts) -> Vec<HostFinding> {
    let checks = [
        (Role::AdminDll, "nimda-admin-dll"),
        (Role::LoadExe, "nimda-load-exe"),
        (Role::ReadmeEml, "nimda-readme-eml"),
    ];
    checks
        .iter()
        .flat_map(|(role, check)| {
            files(facts, *role).map(|f| {
                HostFinding::new(check, "nimda", "medium").at_file(f, format!("{} bytes", f.size))
            })
        })
        .collect()
}

fn nimda_shell(facts: &HostFacts) -> Vec<HostFinding> {
    facts
        .shell_lines
        .iter()
        .filter(|(_, line)| line.to_ascii_lowercase().contains("load.exe"))
        .map(|(path, line)| {
            HostFinding::new("nimda-system-ini", "nimda", "high").at_key(
                format!("{path} [boot] shell"),
                path,
                line.clone(),
            )
        })
        .collect()
}

/// The finding that an IIS host lacks MS01-033.
pub fn unpatched_finding(location: String, path: String, observed: String) -> HostFinding {
    HostFinding::new("ms01-033-missing", "ms01-033", "medium").at_key(location, &path, observed)
}
