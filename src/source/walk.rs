//! Which files a scan reads: the paths named on the command line, and the trees under named
//! folders. Folders are listed without touching their access times ([`list_dir`]), in name
//! order. A symbolic link inside a folder is followed only with `--follow`; otherwise it is
//! reported as a skipped input with its target, so no input vanishes without a word. Links
//! that lead back into a folder being walked are reported as loops.

use std::path::{Path, PathBuf};

use super::files::{list_dir, EntryKind, Listings};
use super::{Input, Problem, ProblemKind, Severity};

/// Deeper trees than this are reported, not walked (a hostile tree must not exhaust the stack).
const MAX_DEPTH: usize = 256;

/// How folders are walked.
#[derive(Debug, Clone, Copy, Default)]
pub struct WalkOptions<'a> {
    /// Follow symbolic links found inside folders.
    pub follow: bool,
    /// Trees left out (host volumes found inside a folder of logs).
    pub skip: &'a [PathBuf],
    /// Folders listed already (by the look for volumes), taken instead of listing again.
    pub listed: Option<&'a Listings>,
}

/// Expands paths into inputs: `-` is standard input, a folder gives the files under it, and
/// anything else named (a file, a link to one, a FIFO or device) is read as given.
pub fn expand(paths: &[PathBuf], options: WalkOptions, problems: &mut Vec<Problem>) -> Vec<Input> {
    let mut walker = Walker {
        options,
        inputs: Vec::new(),
        problems,
        ancestors: Vec::new(),
    };
    for path in paths {
        if path.as_os_str() == "-" {
            walker.inputs.push(Input::Stdin(None));
            continue;
        }
        match std::fs::metadata(path) {
            Ok(meta) if meta.is_dir() => {
                // A folder named through a link is listed at its real place, but its files keep
                // the names the user gave.
                let real = std::fs::canonicalize(path).unwrap_or_else(|_| path.clone());
                walker.folder(path, &real, 0);
            }
            Ok(_) => walker.inputs.push(Input::File(path.clone())),
            Err(e) => walker
                .problems
                .push(Problem::io(path.display().to_string(), &e)),
        }
    }
    walker.inputs
}

struct Walker<'a, 'p> {
    options: WalkOptions<'a>,
    inputs: Vec<Input>,
    problems: &'p mut Vec<Problem>,
    /// Device and inode of the folders from the root down to the current one.
    ancestors: Vec<(u64, u64)>,
}

impl Walker<'_, '_> {
    fn folder(&mut self, shown: &Path, real: &Path, depth: usize) {
        if self.options.skip.iter().any(|s| s == shown) {
            return;
        }
        if depth > MAX_DEPTH {
            let reason = format!("more than {MAX_DEPTH} folders deep, not walked further");
            let args = [("depth", MAX_DEPTH.to_string())];
            let shown = shown.display().to_string();
            let problem =
                Problem::said(shown, reason, Severity::Skipped, "problem-too-deep", &args);
            self.problems.push(problem);
            return;
        }
        let kept = self.options.listed.and_then(|l| l.take_sorted(real));
        let entries = match kept.map_or_else(|| list_dir(real), Ok) {
            Ok(entries) => entries,
            Err(e) => {
                return self
                    .problems
                    .push(Problem::io(shown.display().to_string(), &e))
            }
        };
        self.ancestors.push(identity(real));
        for entry in entries {
            let shown = shown.join(&entry.name);
            match entry.kind {
                EntryKind::File => self.inputs.push(Input::File(shown)),
                EntryKind::Dir => self.folder(&shown, &real.join(&entry.name), depth + 1),
                EntryKind::Link => self.link(&shown, &real.join(&entry.name), depth),
                EntryKind::Other => self.skip(&shown, ProblemKind::NotRegularFile),
            }
        }
        self.ancestors.pop();
    }

    fn link(&mut self, shown: &Path, real: &Path, depth: usize) {
        let target = std::fs::read_link(real)
            .map(|t| t.display().to_string())
            .unwrap_or_else(|_| "?".into());
        if !self.options.follow {
            return self.skip(shown, ProblemKind::LinkNotFollowed { target });
        }
        match std::fs::metadata(real) {
            Ok(meta) if meta.is_dir() => {
                if self.ancestors.contains(&identity(real)) {
                    return self.skip(shown, ProblemKind::LinkLoop { target });
                }
                let resolved = std::fs::canonicalize(real).unwrap_or_else(|_| real.to_path_buf());
                self.folder(shown, &resolved, depth + 1);
            }
            Ok(meta) if meta.is_file() => self.inputs.push(Input::File(shown.to_path_buf())),
            Ok(_) => self.skip(shown, ProblemKind::NotRegularFile),
            Err(_) => self.problems.push(Problem::of(
                shown.display().to_string(),
                ProblemKind::LinkBroken { target },
                Severity::Error,
            )),
        }
    }

    fn skip(&mut self, shown: &Path, kind: ProblemKind) {
        let problem = Problem::of(shown.display().to_string(), kind, Severity::Skipped);
        self.problems.push(problem);
    }
}

#[cfg(unix)]
fn identity(path: &Path) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path).map_or((0, 0), |m| (m.dev(), m.ino()))
}

#[cfg(not(unix))]
fn identity(path: &Path) -> (u64, u64) {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    std::fs::canonicalize(path).unwrap_or_default().hash(&mut h);
    (0, h.finish())
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn names(inputs: &[Input]) -> Vec<String> {
        inputs.iter().map(Input::label).collect()
    }

    #[test]
    fn links_inside_folders_are_reported_unless_followed_and_loops_end() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("logs/sub")).unwrap();
        std::fs::create_dir(root.join("elsewhere")).unwrap();
        std::fs::write(root.join("elsewhere/b.log"), b"x").unwrap();
        std::fs::write(root.join("logs/a.log"), b"x").unwrap();
        symlink("../elsewhere/b.log", root.join("logs/b.log")).unwrap();
        symlink("..", root.join("logs/sub/up")).unwrap();
        symlink("nowhere", root.join("logs/gone")).unwrap();
        let logs = root.join("logs");
        let mut problems = Vec::new();
        let plain = expand(
            std::slice::from_ref(&logs),
            WalkOptions::default(),
            &mut problems,
        );
        assert_eq!(names(&plain), [logs.join("a.log").display().to_string()]);
        let kinds: Vec<&ProblemKind> = problems.iter().map(|p| &p.kind).collect();
        assert_eq!(kinds.len(), 3, "{problems:?}");
        assert!(problems.iter().all(|p| p.severity == Severity::Skipped));
        assert!(
            problems[0].reason.contains("../elsewhere/b.log"),
            "{problems:?}"
        );

        let mut problems = Vec::new();
        let follow = WalkOptions {
            follow: true,
            ..WalkOptions::default()
        };
        let followed = expand(std::slice::from_ref(&logs), follow, &mut problems);
        assert_eq!(
            names(&followed),
            [logs.join("a.log"), logs.join("b.log")].map(|p| p.display().to_string())
        );
        assert!(
            matches!(problems[0].kind, ProblemKind::LinkBroken { .. }),
            "{problems:?}"
        );
        assert!(
            matches!(problems[1].kind, ProblemKind::LinkLoop { .. }),
            "{problems:?}"
        );
        assert_eq!(problems.len(), 2);
    }

    #[test]
    fn a_linked_folder_named_as_an_argument_is_walked_once_under_its_given_name() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("real")).unwrap();
        std::fs::write(dir.path().join("real/a.log"), b"x").unwrap();
        let link = dir.path().join("link");
        symlink("real", &link).unwrap();
        let mut problems = Vec::new();
        let inputs = expand(
            std::slice::from_ref(&link),
            WalkOptions::default(),
            &mut problems,
        );
        assert_eq!(names(&inputs), [link.join("a.log").display().to_string()]);
        assert!(problems.is_empty(), "{problems:?}");
    }
}
