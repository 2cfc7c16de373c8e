//! What one host's evidence holds: files at the known places (with their hashes), registry
//! keys, metabase entries, idq.dll's version. Every file read is recorded with its SHA-256.

use std::io::{self, Read};
use std::path::Path;

use serde::Serialize;

use super::evidence::{head_text, Evidence, EvidenceKind};
use super::listing::{Listed, ListingReader};
use super::metabase::{read_metabase, MetabaseError, MetabaseFacts};
use super::pe_version::{read_pe, FileVersion};
use super::places::{component_matches, path_is_place, Role, PLACES};
use super::registry::{load_hive, RegExportReader, RegFileError, RegTree};
use super::volume::{Lookup, Volume};
use crate::source::{
    decompressed, each_text_line, open_counted, read_whole, text_stream, Digest, HashChoice, Input,
    Problem, Severity,
};

/// Largest file read whole: hives of a 2001 server are a few MB, today's up to ~200 MB.
const MAX_FILE: u64 = 512 << 20;

/// Files at known places kept per host (Nimda leaves a `readme.eml` in every web folder; a
/// listing naming millions is counted, not kept).
const MAX_FILE_FACTS: usize = 10_000;

/// Hands every line of some text to the function it is given.
type EachLine<'a> = dyn FnMut(&mut dyn FnMut(&str)) -> io::Result<u64> + 'a;

/// Longest line of text evidence read (the rest of a longer line is passed over).
const MAX_TEXT_LINE: usize = 1 << 20;

/// A file found at a known place, on a volume or in a listing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileFact {
    pub role: Role,
    /// Where it is: the path on disk, or the Windows path a listing gave.
    pub location: String,
    /// The evidence it came from (the file itself, or the listing).
    pub evidence: String,
    pub size: u64,
    /// SHA-256 when the file itself was read (not for listings).
    pub sha256: Option<String>,
}

/// idq.dll as found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdqFact {
    pub location: String,
    pub version: Option<FileVersion>,
    /// PE link time, else file modification time (seconds since 1970).
    pub built: Option<u32>,
}

/// Everything known about one host.
#[derive(Debug, Clone, Default)]
pub struct HostFacts {
    pub files: Vec<FileFact>,
    pub registry: RegTree,
    pub metabases: Vec<(String, MetabaseFacts)>,
    /// IIS 5 `MetaBase.bin` files seen but not parsed.
    pub metabase_bins: Vec<String>,
    pub idq: Vec<IdqFact>,
    /// `shell=` lines of system.ini: (file, line).
    pub shell_lines: Vec<(String, String)>,
    /// Whether an `inetpub` folder was seen (IIS installed).
    pub inetpub_seen: bool,
    /// Whether a volume with a Windows directory was read (absence of files means something).
    pub windows_volume: bool,
    pub inputs: Vec<(String, String, Digest)>,
    pub problems: Vec<Problem>,
}

/// Options of the sweep.
#[derive(Debug, Clone, Copy, Default)]
pub struct SweepOptions {
    /// Walk `inetpub` and `Program Files` for other copies of cmd.exe.
    pub deep: bool,
    /// Whether exports, metabases and listings are hashed as they are read (`--hash`).
    /// Files found on a volume are always hashed: their digests are part of the findings.
    pub hash: HashChoice,
}

impl HostFacts {
    /// Reads one piece of evidence into the facts.
    pub fn gather(&mut self, evidence: &Evidence, options: SweepOptions) {
        let path = &evidence.path;
        match evidence.kind {
            EvidenceKind::Volume => self.gather_volume(&Volume::new(path), options),
            EvidenceKind::MetabaseBin => self.metabase_bins.push(label(path)),
            kind @ (EvidenceKind::RegExport | EvidenceKind::Metabase | EvidenceKind::Listing) => {
                self.gather_text(kind, path, kind.name(), options.hash)
            }
            kind => {
                if let Some((bytes, _)) = self.read(path, kind.name()) {
                    match decompressed(bytes, MAX_FILE) {
                        Ok(content) => self.gather_file(kind, path, &content),
                        Err(e) => self.problems.push(Problem::io(label(path), &e)),
                    }
                }
            }
        }
    }

    fn gather_file(&mut self, kind: EvidenceKind, path: &Path, bytes: &[u8]) {
        let source = label(path);
        match kind {
            EvidenceKind::Hive => match load_hive(bytes, &source) {
                Ok(tree) => self.registry.merge(tree),
                Err(e) => self.said(path, e.to_string(), "problem-hive", &[]),
            },
            // Text evidence is read as a stream (`gather_text`), never whole.
            EvidenceKind::RegExport | EvidenceKind::Metabase | EvidenceKind::Listing => {}
            EvidenceKind::Volume | EvidenceKind::MetabaseBin => {}
        }
    }

    fn gather_volume(&mut self, volume: &Volume, options: SweepOptions) {
        self.windows_volume |= volume.has_windows_dir();
        self.inetpub_seen |= volume.find_dir("inetpub");
        for place in &PLACES {
            for lookup in volume.find(place) {
                match lookup {
                    Lookup::Found(path) => self.gather_place(place.role, &path),
                    Lookup::Missing => {}
                    Lookup::Unreadable(p) => self.problems.push(p),
                }
            }
        }
        if options.deep {
            self.deep_walk(volume);
        }
    }

    fn gather_place(&mut self, role: Role, path: &Path) {
        let kind = match role {
            Role::SystemHive | Role::SoftwareHive => Some(EvidenceKind::Hive),
            Role::MetabaseXml => {
                let hash = HashChoice::Sha256;
                self.gather_text(EvidenceKind::Metabase, path, role_name(role), hash);
                return;
            }
            Role::MetabaseBin => {
                self.metabase_bins.push(label(path));
                return;
            }
            _ => None,
        };
        let Some((bytes, digest)) = self.read(path, role_name(role)) else {
            return;
        };
        match (kind, role) {
            (Some(kind), _) => self.gather_file(kind, path, &bytes),
            (None, Role::IdqDll) => self.idq.push(idq_fact(path, &bytes)),
            (None, Role::SystemIni) => self.shell_lines.extend(shell_lines(path, &bytes)),
            (None, role) => self.files.push(FileFact {
                role,
                location: label(path),
                evidence: label(path),
                size: digest.size,
                sha256: digest.sha256,
            }),
        }
    }

    /// Other copies of cmd.exe (same size, then same hash) and Nimda's mail files.
    fn deep_walk(&mut self, volume: &Volume) {
        let cmd: Vec<(u64, String)> = self
            .files
            .iter()
            .filter(|f| f.role == Role::CmdExe)
            .filter_map(|f| f.sha256.clone().map(|h| (f.size, h)))
            .collect();
        let known: Vec<String> = self.files.iter().map(|f| f.location.clone()).collect();
        let mut problems = Vec::new();
        let candidates = volume.walk_files(
            &["inetpub", "program files"],
            &mut problems,
            |name, size| {
                cmd.iter().any(|(s, _)| *s == size) || name.eq_ignore_ascii_case("readme.eml")
            },
        );
        self.problems.extend(problems);
        for path in candidates {
            if known.contains(&label(&path)) {
                continue;
            }
            let is_eml = path
                .file_name()
                .is_some_and(|n| n.to_string_lossy().eq_ignore_ascii_case("readme.eml"));
            let role = if is_eml {
                Role::ReadmeEml
            } else {
                Role::RootExe
            };
            let Some((_, digest)) = self.read(&path, "deep-candidate") else {
                continue;
            };
            if is_eml || cmd.iter().any(|(_, h)| digest.sha256.as_ref() == Some(h)) {
                self.files.push(FileFact {
                    role,
                    location: label(&path),
                    evidence: label(&path),
                    size: digest.size,
                    sha256: digest.sha256,
                });
            }
        }
    }

    /// Reads a listing's lines (given by `each_line`) into file facts.
    fn gather_listing(&mut self, source: &str, each_line: &mut EachLine<'_>) -> io::Result<()> {
        let mut reader = ListingReader::default();
        let mut past_limit = 0u64;
        let read = each_line(&mut |line| {
            reader.line(line, &mut |file| {
                let Some(role) = self.listed_role(file) else {
                    return;
                };
                if self.files.len() < MAX_FILE_FACTS {
                    self.files.push(FileFact {
                        role,
                        location: file.path(),
                        evidence: format!("{source}:{}", file.line),
                        size: file.size,
                        sha256: None,
                    });
                } else {
                    past_limit += 1;
                }
            })
        });
        if past_limit > 0 {
            let reason = format!(
                "{past_limit} more file(s) at known places not kept (limit {MAX_FILE_FACTS})"
            );
            let args = [
                ("count", past_limit.to_string()),
                ("max", MAX_FILE_FACTS.to_string()),
            ];
            let problem = Problem::said(
                source,
                reason,
                Severity::Skipped,
                "problem-listing-limit",
                &args,
            );
            self.problems.push(problem);
        }
        read.map(|_| ())
    }

    /// The role of a listed file, if it sits at a known place.
    fn listed_role(&mut self, file: &Listed) -> Option<Role> {
        /// Deeper paths than this are at no known place (the `readme.eml` check needs only
        /// the first and last components).
        const MAX_DEPTH: usize = 16;
        // `C:` (the root) or `C:\...`; nothing else is a path on a drive.
        if file.folder.len() != 2 && !file.folder.contains(":\\") {
            return None;
        }
        let mut components = [""; MAX_DEPTH];
        let mut depth = 0;
        let mut last = "";
        for (n, c) in file.components().enumerate() {
            if let Some(slot) = components.get_mut(n) {
                *slot = c;
            }
            depth = n + 1;
            last = c;
        }
        let under_inetpub = depth > 0 && component_matches(components[0], "inetpub");
        self.inetpub_seen |= under_inetpub;
        let eml_under_inetpub =
            depth > 1 && under_inetpub && last.eq_ignore_ascii_case("readme.eml");
        let at_place = match components.get(..depth) {
            Some(components) => PLACES.iter().find(|p| path_is_place(components, p)),
            None => None,
        };
        at_place
            .map(|p| p.role)
            .or(eml_under_inetpub.then_some(Role::ReadmeEml))
    }

    /// Reads text evidence (an export, a metabase, a listing) as a stream, never whole, and
    /// records it as an input with its digest; a read error keeps what came before it.
    fn gather_text(&mut self, kind: EvidenceKind, path: &Path, role: &str, hash: HashChoice) {
        let mut opened = match open_counted(&Input::File(path.to_path_buf()), None, hash) {
            Ok(o) => o,
            Err(e) => return self.problems.push(Problem::io(label(path), &e)),
        };
        let source = label(path);
        let mut limited = (&mut opened.reader).take(MAX_FILE);
        let read = match kind {
            EvidenceKind::Metabase => match text_stream(&mut limited).map(read_metabase) {
                Ok(Ok(facts)) => {
                    self.metabases.push((source.clone(), facts));
                    Ok(())
                }
                Ok(Err(MetabaseError::Xml(quick_xml::Error::Io(e)))) => {
                    Err(io::Error::new(e.kind(), e.to_string()))
                }
                Ok(Err(e)) => {
                    let reason = format!("metabase not parsed: {e}");
                    self.said(path, reason, "problem-metabase", &[]);
                    Ok(())
                }
                Err(e) => Err(e),
            },
            EvidenceKind::RegExport => {
                let mut reader = RegExportReader::new(&source);
                let read = each_text_line(&mut limited, MAX_TEXT_LINE, &mut |l| reader.line(l));
                self.gathered_export(path, reader.finish());
                read.map(|_| ())
            }
            _ => self.gather_listing(&source, &mut |on_line| {
                each_text_line(&mut limited, MAX_TEXT_LINE, on_line)
            }),
        };
        if let Err(e) = read {
            self.problems.push(Problem::io(source.clone(), &e));
        }
        if limited.limit() == 0 {
            let reason = format!("only the first {MAX_FILE} bytes were read");
            let args = [("bytes", MAX_FILE.to_string())];
            let problem = Problem::said(
                &source,
                reason,
                Severity::Skipped,
                "problem-host-file-cut",
                &args,
            );
            self.problems.push(problem);
        }
        match opened.finish() {
            Ok(digest) => self.inputs.push((source, role.to_string(), digest)),
            Err(e) => self.problems.push(Problem::io(source, &e)),
        }
    }

    fn gathered_export(&mut self, path: &Path, result: Result<(RegTree, usize), RegFileError>) {
        match result {
            Ok((tree, skipped)) => {
                self.registry.merge(tree);
                if skipped > 0 {
                    let reason = format!("{skipped} line(s) of the export not understood");
                    let problem = Problem::said(
                        label(path),
                        reason,
                        Severity::Skipped,
                        "problem-reg-lines",
                        &[("count", skipped.to_string())],
                    );
                    self.problems.push(problem);
                }
            }
            Err(e) => self.said(path, e.to_string(), "problem-reg-export", &[]),
        }
    }

    /// Reads a whole file, recording it as an input, or a problem.
    fn read(&mut self, path: &Path, role: &str) -> Option<(Vec<u8>, Digest)> {
        match read_whole(path, MAX_FILE) {
            Ok((bytes, digest)) => {
                self.inputs
                    .push((label(path), role.to_string(), digest.clone()));
                Some((bytes, digest))
            }
            Err(e) => {
                self.problems.push(Problem::io(label(path), &e));
                None
            }
        }
    }

    /// An evidence file that could not be read: `reason` in English; the catalogs word it
    /// with `key`, given the English detail.
    fn said(&mut self, path: &Path, reason: String, key: &str, args: &[(&str, String)]) {
        let mut args = args.to_vec();
        args.push(("detail", reason.clone()));
        let problem = Problem::said(label(path), reason, Severity::Error, key, &args);
        self.problems.push(problem);
    }
}

fn label(path: &Path) -> String {
    path.display().to_string()
}

/// Name of a role in `input` records.
pub fn role_name(role: Role) -> &'static str {
    match role {
        Role::RootExe => "root-exe",
        Role::RootExplorer => "root-explorer",
        Role::CmdExe => "cmd-exe",
        Role::WindowsExplorer => "windows-explorer",
        Role::AdminDll => "admin-dll",
        Role::LoadExe => "load-exe",
        Role::ReadmeEml => "readme-eml",
        Role::SystemIni => "system-ini",
        Role::IdqDll => "idq-dll",
        Role::SystemHive | Role::SoftwareHive => "hive",
        Role::MetabaseXml => "metabase",
        Role::MetabaseBin => "metabase-bin",
    }
}

fn idq_fact(path: &Path, bytes: &[u8]) -> IdqFact {
    let pe = read_pe(bytes);
    let modified = std::fs::symlink_metadata(path)
        .ok()
        .and_then(|m| m.modified().ok())
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .and_then(|d| u32::try_from(d.as_secs()).ok());
    IdqFact {
        location: label(path),
        version: pe.and_then(|p| p.version),
        built: pe.map(|p| p.linked).filter(|t| *t != 0).or(modified),
    }
}

fn shell_lines(path: &Path, bytes: &[u8]) -> Vec<(String, String)> {
    head_text(bytes)
        .lines()
        .map(str::trim)
        .filter(|l| {
            l.split_once('=')
                .is_some_and(|(k, _)| k.trim().eq_ignore_ascii_case("shell"))
        })
        .map(|l| (label(path), l.to_string()))
        .collect()
}
