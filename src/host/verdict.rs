//! What a host's own evidence says: compromised, exposed, mitigated, patched, not-iis or
//! unknown, with the patch state and its reason. The case joins this with what logs and
//! the network say of the same host.

use super::checks::HostFinding;
use super::facts::{HostFacts, IdqFact};
use super::pe_version::{judge_idq, IdqState};
use super::registry::RegTree;
use crate::model::{DiskDetail, PatchState, PatchStatus, ScriptMaps, State};

const CURRENT_VERSION: &str = r"HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion";
const NT4_HOTFIX: &str = r"HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion\Hotfix";
const W2K_UPDATES: &str = r"HKLM\SOFTWARE\Microsoft\Updates\Windows 2000";

/// The patch state from idq.dll's version (which wins, being the file that is fixed) or
/// the registry.
pub fn patch_state(facts: &HostFacts) -> PatchState {
    let reg = &facts.registry;
    let os = reg
        .key(CURRENT_VERSION)
        .and_then(|k| k.value("CurrentVersion"))
        .map(|v| v.data.as_text());
    let sp = reg
        .key(CURRENT_VERSION)
        .and_then(|k| k.value("CSDVersion"))
        .map(|v| v.data.as_text());
    let mut state = PatchState {
        state: PatchStatus::Unknown,
        reason_code: "patch-no-evidence".into(),
        detail: String::new(),
        evidence: None,
        os_version: os.clone(),
        service_pack: sp.clone(),
        idq_version: None,
    };
    if let Some((idq, judged, code)) = deciding_idq(&facts.idq) {
        state.idq_version = idq.version.map(|v| v.to_string());
        state.evidence = Some(idq.location.clone());
        state.detail = state.idq_version.clone().unwrap_or_default();
        state.reason_code = code.into();
        state.state = match judged {
            IdqState::Patched => PatchStatus::Patched,
            IdqState::Vulnerable => PatchStatus::Unpatched,
            IdqState::Unknown => PatchStatus::Unknown,
        };
        if judged != IdqState::Unknown {
            return state;
        }
    }
    if let Some(key) = hotfix_key(reg) {
        state.state = PatchStatus::Patched;
        state.reason_code = "patch-hotfix-key".into();
        state.detail = key.clone();
        state.evidence = reg.key(&key).map(|k| k.source.clone());
        return state;
    }
    let Some(os) = os else {
        return state;
    };
    state.evidence = reg.key(CURRENT_VERSION).map(|k| k.source.clone());
    let sp_number = sp.as_deref().and_then(service_pack_number).unwrap_or(0);
    state.detail = format!("{os} {}", sp.clone().unwrap_or_default())
        .trim()
        .to_string();
    let (status, code) = match os.trim() {
        "5.0" if sp_number >= 3 => (PatchStatus::Patched, "patch-w2k-sp3"),
        "5.0" => (PatchStatus::Unpatched, "patch-w2k-no-hotfix"),
        "4.0" if has_key(reg, &format!(r"{NT4_HOTFIX}\Q246009")) => {
            (PatchStatus::Unpatched, "patch-nt4-no-hotfix")
        }
        "4.0" => (PatchStatus::Unpatched, "patch-nt4-needs-sp6a"),
        v if v.split('.').next().and_then(|m| m.parse::<u32>().ok()) >= Some(6)
            || v == "5.1"
            || v == "5.2" =>
        {
            (PatchStatus::Patched, "patch-later-windows")
        }
        _ => (PatchStatus::Unknown, "patch-unknown-os"),
    };
    state.state = status;
    state.reason_code = code.into();
    state
}

/// The system32 idq.dll if present (dllcache only holds spare copies), judged.
fn deciding_idq(idq: &[IdqFact]) -> Option<(&IdqFact, IdqState, &'static str)> {
    let in_cache = |f: &IdqFact| f.location.to_ascii_lowercase().contains("dllcache");
    let best = idq
        .iter()
        .filter(|f| f.version.is_some())
        .min_by_key(|f| in_cache(f))?;
    let (state, code) = judge_idq(best.version?, best.built);
    Some((best, state, code))
}

fn has_key(reg: &RegTree, path: &str) -> bool {
    reg.key(path).is_some()
}

/// The Q300972 key, NT 4.0 or Windows 2000 style (any service-pack folder).
fn hotfix_key(reg: &RegTree) -> Option<String> {
    let nt4 = format!(r"{NT4_HOTFIX}\Q300972");
    if let Some(k) = reg.key(&nt4) {
        return Some(k.path.clone());
    }
    reg.keys_under(W2K_UPDATES)
        .find(|k| {
            k.path
                .rsplit('\\')
                .next()
                .is_some_and(|last| last.eq_ignore_ascii_case("Q300972"))
        })
        .map(|k| k.path.clone())
}

/// `Service Pack 2` → 2.
fn service_pack_number(text: &str) -> Option<u32> {
    text.split_whitespace()
        .last()?
        .trim_end_matches(['a', 'A'])
        .parse()
        .ok()
}

/// Whether IIS is installed: `Some(true)` on a sign of it, `Some(false)` when a SYSTEM hive
/// was read and has no W3SVC service, `None` when nothing tells.
pub fn iis_installed(facts: &HostFacts) -> Option<bool> {
    let reg = &facts.registry;
    let signs = facts.inetpub_seen
        || !facts.metabases.is_empty()
        || !facts.metabase_bins.is_empty()
        || reg.control_set_key(r"Services\W3SVC").is_some()
        || reg.control_set_key(r"Services\W3SVC\Parameters").is_some()
        || reg.key(r"HKLM\SOFTWARE\Microsoft\InetStp").is_some();
    if signs {
        Some(true)
    } else if reg.has_hive("system") && reg.current_control_set().is_some() {
        Some(false)
    } else {
        None
    }
}

/// What the metabase says of the `.ida` / `.idq` maps: `present`, `removed`, or `assumed`
/// (IIS 4 and 5 install them; their binary metabase is not read).
pub fn script_maps(facts: &HostFacts) -> ScriptMaps {
    if facts.metabases.iter().any(|(_, m)| !m.ida_maps.is_empty()) {
        ScriptMaps::Present
    } else if facts.metabases.iter().any(|(_, m)| m.has_script_maps) {
        ScriptMaps::Removed
    } else {
        ScriptMaps::Assumed
    }
}

/// Decides what the disk says from the traces, the patch state, IIS and the script maps.
pub fn decide(facts: &HostFacts, traces: &[HostFinding], patch: &PatchState) -> State {
    let iis = iis_installed(facts);
    let unpatched = patch.state == PatchStatus::Unpatched;
    if !traces.is_empty() {
        State::Compromised
    } else if iis == Some(false) {
        State::NotIis
    } else if patch.state == PatchStatus::Patched {
        State::Patched
    } else if unpatched && script_maps(facts) == ScriptMaps::Removed {
        State::Mitigated
    } else if unpatched && iis == Some(true) {
        State::Exposed
    } else {
        State::Unknown
    }
}

/// What the host's own evidence says.
pub fn disk_detail(facts: &HostFacts, traces: &[HostFinding]) -> DiskDetail {
    let patch = patch_state(facts);
    DiskDetail {
        state: decide(facts, traces, &patch),
        traces: traces
            .iter()
            .map(|t| format!("{}: {}", t.check, t.location))
            .collect(),
        iis: iis_installed(facts),
        script_maps: script_maps(facts),
        patch,
        unreadable: facts
            .problems
            .iter()
            .filter(|p| p.severity == crate::source::Severity::Error)
            .map(|p| format!("{}: {}", p.path, p.reason))
            .collect(),
        not_parsed: facts.metabase_bins.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::super::pe_version::FileVersion;
    use super::super::registry::RegData;
    use super::*;

    fn with_os(version: &str, sp: &str) -> HostFacts {
        let mut facts = HostFacts::default();
        let key = facts.registry.key_mut(CURRENT_VERSION, "SOFTWARE");
        key.set("CurrentVersion", RegData::String(version.into()));
        key.set("CSDVersion", RegData::String(sp.into()));
        facts
    }

    #[test]
    fn patch_state_from_registry_and_file() {
        assert_eq!(
            patch_state(&with_os("5.0", "Service Pack 2")).state,
            PatchStatus::Unpatched
        );
        assert_eq!(
            patch_state(&with_os("5.0", "Service Pack 3")).state,
            PatchStatus::Patched
        );
        assert_eq!(
            patch_state(&with_os("4.0", "Service Pack 6")).reason_code,
            "patch-nt4-needs-sp6a"
        );
        assert_eq!(patch_state(&with_os("5.2", "")).state, PatchStatus::Patched);
        let mut hotfix = with_os("5.0", "Service Pack 2");
        hotfix
            .registry
            .key_mut(&format!(r"{W2K_UPDATES}\SP3\Q300972"), "SOFTWARE");
        assert_eq!(patch_state(&hotfix).reason_code, "patch-hotfix-key");
        // The file wins over the key.
        hotfix.idq.push(IdqFact {
            location: "/v/WINNT/system32/idq.dll".into(),
            version: Some(FileVersion([5, 0, 2195, 1])),
            built: None,
        });
        assert_eq!(patch_state(&hotfix).state, PatchStatus::Unpatched);
        assert_eq!(
            patch_state(&HostFacts::default()).state,
            PatchStatus::Unknown
        );
    }

    #[test]
    fn verdict_order() {
        let mut facts = with_os("5.0", "Service Pack 1");
        let patch = patch_state(&facts);
        assert_eq!(decide(&facts, &[], &patch), State::Unknown);
        facts.inetpub_seen = true;
        assert_eq!(decide(&facts, &[], &patch), State::Exposed);
        facts.metabases.push((
            "m".into(),
            super::super::metabase::MetabaseFacts {
                has_script_maps: true,
                ..Default::default()
            },
        ));
        assert_eq!(decide(&facts, &[], &patch), State::Mitigated);
    }
}
