//! The places on a Windows volume where the checks look, as data, and how a path on disk or
//! in a `dir` listing is matched against them: case-insensitively and through 8.3 short
//! names (`PROGRA~1`), as Windows itself resolves them.

/// What a file at a known place is to the checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// Code Red II's backdoor: a copy of cmd.exe in a script folder.
    RootExe,
    /// A trojan `explorer.exe` at a drive root.
    RootExplorer,
    /// The real command interpreter, to compare `root.exe` with.
    CmdExe,
    /// The real Explorer, to compare a drive-root `explorer.exe` with.
    WindowsExplorer,
    /// Nimda's copy of itself at a drive root.
    AdminDll,
    /// Nimda's copy of itself in system32.
    LoadExe,
    /// Nimda's mail file beside web pages.
    ReadmeEml,
    /// `system.ini`, whose `shell=` line Nimda changes.
    SystemIni,
    /// The Index Server ISAPI extension MS01-033 fixes.
    IdqDll,
    /// Offline hive `SYSTEM`.
    SystemHive,
    /// Offline hive `SOFTWARE`.
    SoftwareHive,
    /// IIS 6 metabase.
    MetabaseXml,
    /// IIS 4/5 binary metabase (not parsed).
    MetabaseBin,
}

/// Stands for the Windows directory (`WINNT` on NT 4.0 and 2000, `Windows` later).
pub const WINDIR: &str = "%windir%";

/// A known place: path components below the volume root.
#[derive(Debug, Clone, Copy)]
pub struct Place {
    pub role: Role,
    pub components: &'static [&'static str],
}

/// Every place the sweep checks without walking the tree.
pub const PLACES: [Place; 15] = [
    place(Role::RootExe, &["inetpub", "scripts", "root.exe"]),
    place(
        Role::RootExe,
        &[
            "program files",
            "common files",
            "system",
            "msadc",
            "root.exe",
        ],
    ),
    place(Role::RootExplorer, &["explorer.exe"]),
    place(Role::AdminDll, &["admin.dll"]),
    place(Role::CmdExe, &[WINDIR, "system32", "cmd.exe"]),
    place(Role::WindowsExplorer, &[WINDIR, "explorer.exe"]),
    place(Role::LoadExe, &[WINDIR, "system32", "load.exe"]),
    place(Role::ReadmeEml, &["inetpub", "wwwroot", "readme.eml"]),
    place(Role::SystemIni, &[WINDIR, "system.ini"]),
    place(Role::IdqDll, &[WINDIR, "system32", "idq.dll"]),
    place(Role::SystemHive, &[WINDIR, "system32", "config", "system"]),
    place(
        Role::SoftwareHive,
        &[WINDIR, "system32", "config", "software"],
    ),
    place(
        Role::MetabaseXml,
        &[WINDIR, "system32", "inetsrv", "metabase.xml"],
    ),
    place(
        Role::MetabaseBin,
        &[WINDIR, "system32", "inetsrv", "metabase.bin"],
    ),
    place(Role::IdqDll, &[WINDIR, "system32", "dllcache", "idq.dll"]),
];

const fn place(role: Role, components: &'static [&'static str]) -> Place {
    Place { role, components }
}

/// Names a volume's Windows directory may have.
pub const WINDOWS_DIR_NAMES: [&str; 2] = ["winnt", "windows"];

/// Whether a directory entry `name` is the component `wanted` (case-insensitive, or its
/// 8.3 short name; `%windir%` stands for any Windows directory name).
pub fn component_matches(name: &str, wanted: &str) -> bool {
    if wanted == WINDIR {
        return WINDOWS_DIR_NAMES.iter().any(|w| component_matches(name, w));
    }
    name.eq_ignore_ascii_case(wanted) || is_short_name_of(name, wanted)
}

/// `PROGRA~1` for `Program Files`, `COMMON~1` for `Common Files`: the first (up to six)
/// characters of the long name without spaces, `~` and a number, then the extension cut to
/// three characters. The number is not checked: it depends on what else the folder held.
pub fn is_short_name_of(short: &str, long: &str) -> bool {
    // Components are short, and this runs for each of every file a listing names: a byte
    // loop costs less than setting up memchr.
    if !short.bytes().any(|b| b == b'~') {
        return false;
    }
    let (short_base, short_ext) = split_ext(short);
    let Some((prefix, number)) = short_base.split_once('~') else {
        return false;
    };
    if prefix.is_empty() || number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let (long_base, long_ext) = split_ext(long);
    // A name that already fits 8.3 has no short alias.
    if long_base.len() <= 8 && long_ext.len() <= 3 && !long.contains(' ') {
        return false;
    }
    let squeezed: String = long_base
        .chars()
        .filter(|c| *c != ' ' && *c != '.')
        .collect();
    let wanted_ext: String = long_ext.chars().filter(|c| *c != ' ').take(3).collect();
    squeezed.len() > prefix.len()
        && squeezed
            .get(..prefix.len())
            .is_some_and(|p| p.eq_ignore_ascii_case(prefix))
        && short_ext.eq_ignore_ascii_case(&wanted_ext)
}

fn split_ext(name: &str) -> (&str, &str) {
    match name.rsplit_once('.') {
        Some((base, ext)) if !base.is_empty() => (base, ext),
        _ => (name, ""),
    }
}

/// Whether a Windows path's components (below the drive) are those of `place`.
pub fn path_is_place(components: &[&str], place: &Place) -> bool {
    // From the file name back: the name tells places apart, the folders above it are
    // shared by many (every file under `inetpub` matches its first component).
    components.len() == place.components.len()
        && components
            .iter()
            .zip(place.components)
            .rev()
            .all(|(name, wanted)| component_matches(name, wanted))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_and_short_names() {
        assert!(component_matches("PROGRA~1", "program files"));
        assert!(component_matches("Progra~2", "program files"));
        assert!(component_matches("COMMON~1", "common files"));
        assert!(component_matches("Program Files", "program files"));
        assert!(component_matches("WINNT", WINDIR));
        assert!(component_matches("Windows", WINDIR));
        assert!(component_matches("ROOT.EXE", "root.exe"));
        assert!(!component_matches("PROGRA~X", "program files"));
        assert!(!component_matches("progra~1", "programs"));
        assert!(!component_matches("INETPU~1", "inetpub"));
        assert!(!component_matches("~1", "program files"));
        assert!(!component_matches("root.exe.bak", "root.exe"));
    }

    #[test]
    fn windows_paths_against_places() {
        let msadc = PLACES[1];
        assert!(path_is_place(
            &["PROGRA~1", "COMMON~1", "System", "MSADC", "root.exe"],
            &msadc
        ));
        assert!(!path_is_place(
            &["PROGRA~1", "COMMON~1", "root.exe"],
            &msadc
        ));
    }
}
