//! Where rules come from: the built-in pack embedded at build time, and user folders.

use std::path::{Path, PathBuf};

use super::correlation::CorrelationRule;
use super::sigma::{error_at, yaml_documents, Level, Placeholders, Rule, RuleError};

include!(concat!(env!("OUT_DIR"), "/builtin_rules.rs"));

/// The built-in pack's identity for `--version` and reports: its SHA-256 and file count.
pub fn builtin_pack() -> (&'static str, usize) {
    (BUILTIN_PACK_SHA256, BUILTIN_RULES.len())
}

/// Which rules to load.
#[derive(Debug, Clone)]
pub struct RuleOptions {
    /// Load the built-in Code Red family pack.
    pub builtin: bool,
    /// Extra rule files or folders (searched recursively for `.yml`/`.yaml`).
    pub paths: Vec<PathBuf>,
    /// Drop rules below this level.
    pub min_level: Level,
    /// Values for the `expand` modifier.
    pub placeholders: Placeholders,
}

impl Default for RuleOptions {
    fn default() -> Self {
        RuleOptions {
            builtin: true,
            paths: Vec::new(),
            min_level: Level::Informational,
            placeholders: Placeholders::default(),
        }
    }
}

/// Rules that loaded, and the errors of those that did not.
#[derive(Debug, Default)]
pub struct LoadedRules {
    pub rules: Vec<Rule>,
    /// Correlation rules, their references not yet resolved.
    pub correlations: Vec<CorrelationRule>,
    pub errors: Vec<RuleError>,
}

/// Loads the rules the options ask for, in a stable order (built-in first, then by path).
pub fn load_rules(options: &RuleOptions) -> LoadedRules {
    let mut loaded = LoadedRules::default();
    if options.builtin {
        for (name, text) in BUILTIN_RULES {
            loaded.add_file(&format!("builtin:{name}"), text, &options.placeholders);
        }
    }
    for file in rule_files(&options.paths, &mut loaded.errors) {
        let source = file.display().to_string();
        match std::fs::read_to_string(&file) {
            Ok(text) => loaded.add_file(&source, &text, &options.placeholders),
            Err(e) => loaded.errors.push(RuleError {
                file: source,
                line: 0,
                message: e.to_string(),
            }),
        }
    }
    let min_level = options.min_level;
    loaded.correlations.retain(|c| c.level >= min_level);
    // A kept correlation's base rules are kept whatever their level: it needs them.
    let bases: Vec<&String> = loaded.correlations.iter().flat_map(|c| &c.rules).collect();
    let needed = |r: &Rule| {
        bases
            .iter()
            .any(|b| **b == r.id || r.name.as_ref() == Some(*b))
    };
    loaded.rules.retain(|r| r.level >= min_level || needed(r));
    loaded
}

impl LoadedRules {
    /// Every document of one rule file: detection rules and correlation rules (a file may
    /// hold a correlation and its base rules, as the specification's examples do).
    pub fn add_file(&mut self, source: &str, text: &str, placeholders: &Placeholders) {
        let docs = match yaml_documents(source, text) {
            Ok(docs) => docs,
            Err(e) => return self.errors.push(e),
        };
        if docs.is_empty() {
            return self
                .errors
                .push(error_at(source, text, "", "empty file".into()));
        }
        for doc in &docs {
            if !doc["correlation"].is_badvalue() {
                match CorrelationRule::from_document(source, text, doc) {
                    Ok(c) => self.correlations.push(c),
                    Err(e) => self.errors.push(e),
                }
            } else {
                match Rule::from_document(source, text, doc, placeholders) {
                    Ok(r) => self.rules.push(r),
                    Err(e) => self.errors.push(e),
                }
            }
        }
    }
}

/// Rule files under the given paths, sorted.
pub fn rule_files(paths: &[PathBuf], errors: &mut Vec<RuleError>) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for path in paths {
        for entry in walkdir::WalkDir::new(path).sort_by_file_name() {
            match entry {
                Ok(e) if e.file_type().is_file() && is_rule_file(e.path()) => {
                    files.push(e.into_path())
                }
                Ok(_) => {}
                Err(e) => errors.push(RuleError {
                    file: e.path().unwrap_or(path).display().to_string(),
                    line: 0,
                    message: e.to_string(),
                }),
            }
        }
    }
    files
}

fn is_rule_file(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("yml" | "yaml")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_pack_loads_cleanly_with_families() {
        let loaded = load_rules(&RuleOptions::default());
        assert!(loaded.errors.is_empty(), "{:?}", loaded.errors);
        assert!(loaded.rules.len() >= 14);
        // Network rules give no findings of their own: only the spreading correlation counts them.
        for rule in loaded.rules.iter().filter(|r| !r.logsource.is_network()) {
            let family = rule
                .family
                .as_deref()
                .expect("built-in rules name a family");
            assert!([
                "code-red",
                "code-red-ii",
                "code-red-unknown",
                "nimda",
                "iis-exploit"
            ]
            .contains(&family));
            assert!(rule.confidence.is_some());
            assert!(rule.tags.iter().any(|t| t == "attack.t1190"));
        }
    }

    #[test]
    fn min_level_filters() {
        let options = RuleOptions {
            min_level: Level::Critical,
            ..RuleOptions::default()
        };
        let loaded = load_rules(&options);
        assert!(loaded.rules.iter().all(|r| r.level == Level::Critical));
        assert!(!loaded.rules.is_empty());
    }
}
