//! Inputs that could not be read, or were passed over: a typed kind for the sinks to put into
//! words in their own language, and the English reason JSON and CSV carry.

use std::fmt;

/// An input that could not be read, or was passed over.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Problem {
    /// Path (or `-`).
    pub path: String,
    /// Why, in plain English words (the JSON and CSV field).
    pub reason: String,
    /// `error` (could not be read) or `skipped` (passed over, or not evidence wormtrace reads).
    pub severity: Severity,
    /// What happened, for sinks that word it in another language.
    #[serde(skip)]
    pub kind: ProblemKind,
    /// The kind of evidence the input was read as, when that was known.
    #[serde(skip)]
    pub evidence_kind: Option<super::EvidenceKind>,
}

/// How bad a problem is for the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The input (or part of it) could not be read.
    Error,
    /// The input was passed over: not evidence, a link not followed, over-long lines.
    Skipped,
}

/// What kept an input from being read in full.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum ProblemKind {
    /// A symbolic link inside a folder, not followed without `--follow`.
    LinkNotFollowed { target: String },
    /// A symbolic link back to a folder being walked.
    LinkLoop { target: String },
    /// A symbolic link whose target does not exist or cannot be reached.
    LinkBroken { target: String },
    /// A FIFO, socket or device inside a folder.
    NotRegularFile,
    /// Binary data that is no evidence wormtrace reads.
    Binary,
    /// No such file or directory.
    NotFound,
    /// Permission denied.
    PermissionDenied,
    /// Any other reason the catalogs word: its key (`problem-...`) and the figures it quotes.
    Said {
        key: String,
        args: Vec<(String, String)>,
    },
    /// A reason in English only.
    #[default]
    Other,
}

impl Severity {
    /// The word outputs use.
    pub fn name(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Skipped => "skipped",
        }
    }

    /// The severity a word names.
    pub fn from_name(word: &str) -> Option<Severity> {
        match word {
            "error" => Some(Severity::Error),
            "skipped" => Some(Severity::Skipped),
            _ => None,
        }
    }
}

impl ProblemKind {
    /// The message key of the catalogs and its arguments (None: English only).
    pub fn message(&self) -> Option<(&str, Vec<(&str, &str)>)> {
        fn target(t: &str) -> Vec<(&'static str, &str)> {
            vec![("target", t)]
        }
        Some(match self {
            ProblemKind::LinkNotFollowed { target: t } => ("problem-link-not-followed", target(t)),
            ProblemKind::LinkLoop { target: t } => ("problem-link-loop", target(t)),
            ProblemKind::LinkBroken { target: t } => ("problem-link-broken", target(t)),
            ProblemKind::NotRegularFile => ("problem-not-regular", Vec::new()),
            ProblemKind::Binary => ("problem-binary", Vec::new()),
            ProblemKind::NotFound => ("problem-not-found", Vec::new()),
            ProblemKind::PermissionDenied => ("problem-permission", Vec::new()),
            ProblemKind::Said { key, args } => (
                key.as_str(),
                args.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect(),
            ),
            ProblemKind::Other => return None,
        })
    }
}

impl fmt::Display for ProblemKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProblemKind::LinkNotFollowed { target } => {
                write!(f, "symbolic link to {target}, not followed (use --follow)")
            }
            ProblemKind::LinkLoop { target } => {
                write!(
                    f,
                    "symbolic link to {target} loops back to a folder being read"
                )
            }
            ProblemKind::LinkBroken { target } => {
                write!(f, "symbolic link to {target}, which cannot be reached")
            }
            ProblemKind::NotRegularFile => {
                f.write_str("not a regular file (FIFO, socket or device)")
            }
            ProblemKind::Binary => f.write_str("binary data, not a text log: skipped"),
            ProblemKind::NotFound => f.write_str("no such file or directory"),
            ProblemKind::PermissionDenied => f.write_str("permission denied"),
            ProblemKind::Said { key, .. } => f.write_str(key),
            ProblemKind::Other => f.write_str("unreadable"),
        }
    }
}

impl Problem {
    /// A problem of a known kind; its English reason is the kind's.
    pub fn of(path: impl Into<String>, kind: ProblemKind, severity: Severity) -> Problem {
        Problem {
            path: path.into(),
            reason: kind.to_string(),
            severity,
            kind,
            evidence_kind: None,
        }
    }

    /// A problem told in English words only.
    pub fn other(
        path: impl Into<String>,
        reason: impl Into<String>,
        severity: Severity,
    ) -> Problem {
        Problem {
            path: path.into(),
            reason: reason.into(),
            severity,
            kind: ProblemKind::Other,
            evidence_kind: None,
        }
    }

    /// A problem whose English `reason` is given, worded in other languages by the catalog
    /// entry `key` with `args`.
    pub fn said(
        path: impl Into<String>,
        reason: impl Into<String>,
        severity: Severity,
        key: &str,
        args: &[(&str, String)],
    ) -> Problem {
        Problem {
            path: path.into(),
            reason: reason.into(),
            severity,
            kind: ProblemKind::Said {
                key: key.to_string(),
                args: args
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.clone()))
                    .collect(),
            },
            evidence_kind: None,
        }
    }

    /// A problem from an I/O error, typed where the error kind is one the catalogs word.
    pub fn io(path: impl Into<String>, error: &std::io::Error) -> Problem {
        match error.kind() {
            std::io::ErrorKind::NotFound => {
                Problem::of(path, ProblemKind::NotFound, Severity::Error)
            }
            std::io::ErrorKind::PermissionDenied => {
                Problem::of(path, ProblemKind::PermissionDenied, Severity::Error)
            }
            _ => {
                let detail = error.to_string();
                Problem::said(
                    path,
                    detail.clone(),
                    Severity::Error,
                    "problem-io",
                    &[("detail", detail)],
                )
            }
        }
    }
}

/// Problems with every field (the outputs leave out the kind and the evidence kind), for
/// partial results: `#[serde(with = "crate::model::problems_whole")]` on a `Vec<Problem>`.
pub mod full {
    use super::{Problem, ProblemKind, Severity};
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    #[derive(Serialize, Deserialize)]
    struct Full {
        path: String,
        reason: String,
        severity: Severity,
        kind: ProblemKind,
        evidence_kind: Option<crate::model::EvidenceKind>,
    }

    /// Writes each problem whole.
    pub fn serialize<S: Serializer>(problems: &[Problem], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(problems.iter().map(|p| Full {
            path: p.path.clone(),
            reason: p.reason.clone(),
            severity: p.severity,
            kind: p.kind.clone(),
            evidence_kind: p.evidence_kind,
        }))
    }

    /// Reads problems written by [`serialize`].
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Problem>, D::Error> {
        let full = Vec::<Full>::deserialize(d)?;
        Ok(full
            .into_iter()
            .map(|f| Problem {
                path: f.path,
                reason: f.reason,
                severity: f.severity,
                kind: f.kind,
                evidence_kind: f.evidence_kind,
            })
            .collect())
    }
}
