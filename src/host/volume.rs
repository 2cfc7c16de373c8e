//! A mounted Windows volume (or a copy of its tree): finds the known places without walking
//! the tree, never through a link, and, under `--deep`, walks `inetpub` and `Program Files`
//! within bounds for other copies of cmd.exe.

use std::path::{Path, PathBuf};

use super::places::{component_matches, Place, WINDOWS_DIR_NAMES};
use crate::source::{list_dir, list_subdirs, EntryKind, Problem, Severity};

/// Names at a root that make a directory a Windows volume.
const VOLUME_MARKERS: [&str; 4] = ["winnt", "windows", "inetpub", "program files"];

/// Most entries a `--deep` walk visits, so a huge or hostile tree cannot hold the run.
pub const DEEP_WALK_LIMIT: usize = 2_000_000;
/// Deepest folder a `--deep` walk enters.
const DEEP_WALK_DEPTH: usize = 40;

/// Whether `dir` looks like the root of a Windows volume.
pub fn is_volume_root(dir: &Path) -> bool {
    // Unsorted and folders only: a folder of 100,000 logs is not sorted just to be ruled out.
    list_subdirs(dir).is_ok_and(|subdirs| marks_a_volume(&subdirs))
}

/// Whether a folder with these subfolders is the root of a Windows volume.
pub fn marks_a_volume(subdirs: &[std::ffi::OsString]) -> bool {
    subdirs.iter().any(|name| {
        let name = name.to_string_lossy();
        VOLUME_MARKERS.iter().any(|m| component_matches(&name, m))
    })
}

/// The result of looking for a place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    Found(PathBuf),
    Missing,
    /// A folder on the way could not be listed, or was a link: the answer is unknown.
    Unreadable(Problem),
}

/// One mounted volume.
#[derive(Debug, Clone)]
pub struct Volume {
    pub root: PathBuf,
}

impl Volume {
    /// The volume at `root`.
    pub fn new(root: &Path) -> Self {
        Volume {
            root: root.to_path_buf(),
        }
    }

    /// Every file at `place` (several when, say, both `WINNT` and `Windows` exist).
    pub fn find(&self, place: &Place) -> Vec<Lookup> {
        let mut out = Vec::new();
        self.descend(&self.root, place.components, &mut out);
        if out.is_empty() {
            out.push(Lookup::Missing);
        }
        out
    }

    fn descend(&self, dir: &Path, rest: &[&str], out: &mut Vec<Lookup>) {
        let Some((wanted, deeper)) = rest.split_first() else {
            return;
        };
        let entries = match list_dir(dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return,
            Err(e) => {
                out.push(Lookup::Unreadable(Problem::io(
                    dir.display().to_string(),
                    &e,
                )));
                return;
            }
        };
        for entry in entries {
            let name = entry.name.to_string_lossy();
            if !component_matches(&name, wanted) {
                continue;
            }
            let path = dir.join(&entry.name);
            match (entry.kind, deeper.is_empty()) {
                (EntryKind::File, true) => out.push(Lookup::Found(path)),
                (EntryKind::Dir, false) => self.descend(&path, deeper, out),
                (EntryKind::Link, _) => out.push(Lookup::Unreadable(problem(
                    &path,
                    "a link: not followed (it could lead out of the volume)",
                    "problem-volume-link",
                    &[],
                ))),
                _ => {}
            }
        }
    }

    /// Regular files under the given top-level folders that `wanted(name, size)` keeps,
    /// visited without following links, at most [`DEEP_WALK_LIMIT`] entries in all.
    pub fn walk_files(
        &self,
        tops: &[&str],
        problems: &mut Vec<Problem>,
        wanted: impl Fn(&str, u64) -> bool,
    ) -> Vec<PathBuf> {
        let mut found = Vec::new();
        let mut visited = 0usize;
        let roots: Vec<PathBuf> = list_dir(&self.root)
            .map(|entries| {
                entries
                    .into_iter()
                    .filter(|e| {
                        e.kind == EntryKind::Dir
                            && tops
                                .iter()
                                .any(|t| component_matches(&e.name.to_string_lossy(), t))
                    })
                    .map(|e| self.root.join(e.name))
                    .collect()
            })
            .unwrap_or_default();
        // Our own walk, not walkdir: its listings would update the folders' access times.
        let mut stack: Vec<(PathBuf, usize)> = roots.into_iter().map(|r| (r, 0)).collect();
        while let Some((dir, depth)) = stack.pop() {
            let entries = match list_dir(&dir) {
                Ok(e) => e,
                Err(e) => {
                    problems.push(Problem::io(dir.display().to_string(), &e));
                    continue;
                }
            };
            // Pushed in reverse so that folders are visited in name order.
            for entry in entries.into_iter().rev() {
                visited += 1;
                if visited > DEEP_WALK_LIMIT {
                    let reason = format!("--deep stopped after {DEEP_WALK_LIMIT} entries");
                    let args = [("count", DEEP_WALK_LIMIT.to_string())];
                    problems.push(problem(&self.root, &reason, "problem-deep-limit", &args));
                    return found;
                }
                let path = dir.join(&entry.name);
                match entry.kind {
                    EntryKind::Dir if depth + 1 < DEEP_WALK_DEPTH => stack.push((path, depth + 1)),
                    EntryKind::File => {
                        let name = entry.name.to_string_lossy();
                        let size = std::fs::symlink_metadata(&path).map(|m| m.len());
                        if size.is_ok_and(|size| wanted(&name, size)) {
                            found.push(path);
                        }
                    }
                    _ => {}
                }
            }
        }
        found
    }

    /// Whether the volume has a Windows directory.
    pub fn has_windows_dir(&self) -> bool {
        WINDOWS_DIR_NAMES.iter().any(|w| self.find_dir(w))
    }

    /// Whether the root holds a folder named `name` (any case, or its short name).
    pub fn find_dir(&self, name: &str) -> bool {
        list_dir(&self.root).is_ok_and(|entries| {
            entries.iter().any(|e| {
                e.kind == EntryKind::Dir && component_matches(&e.name.to_string_lossy(), name)
            })
        })
    }
}

fn problem(path: &Path, reason: &str, key: &str, args: &[(&str, String)]) -> Problem {
    Problem::said(
        path.display().to_string(),
        reason,
        Severity::Error,
        key,
        args,
    )
}

#[cfg(test)]
mod tests {
    use super::super::places::PLACES;
    use super::*;

    #[test]
    fn finds_places_in_any_case_and_short_names_and_skips_links() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let msadc = root.join("PROGRA~1/COMMON~1/System/msadc");
        std::fs::create_dir_all(&msadc).unwrap();
        std::fs::write(msadc.join("ROOT.EXE"), b"x").unwrap();
        std::fs::create_dir_all(root.join("WinNT/System32")).unwrap();
        std::fs::write(root.join("WinNT/System32/CMD.EXE"), b"x").unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink("/", root.join("Inetpub")).unwrap();
        let volume = Volume::new(root);
        assert!(is_volume_root(root));
        assert!(volume.has_windows_dir());
        assert_eq!(
            volume.find(&PLACES[1]),
            vec![Lookup::Found(msadc.join("ROOT.EXE"))]
        );
        assert_eq!(
            volume.find(&PLACES[4]),
            vec![Lookup::Found(root.join("WinNT/System32/CMD.EXE"))]
        );
        #[cfg(unix)]
        assert!(matches!(volume.find(&PLACES[0])[0], Lookup::Unreadable(_)));
        assert_eq!(volume.find(&PLACES[3]), vec![Lookup::Missing]);
    }
}
