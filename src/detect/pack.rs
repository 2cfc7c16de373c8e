//! Where rules come from: the built-in pack embedded at build time, and user folders.

use std::path::{Path, PathBuf};

use super::sigma::{Level, Placeholders, Rule, RuleError};

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
    pub errors: Vec<RuleError>,
}

/// Loads the rules the options ask for, in a stable order (built-in first, then by path).
pub fn load_rules(options: &RuleOptions) -> LoadedRules {
    let mut loaded = LoadedRules::default();
    if options.builtin {
        for (name, text) in BUILTIN_RULES {
            loaded.push(Rule::parse(
                &format!("builtin:{name}"),
                text,
                &options.placeholders,
            ));
        }
    }
    for file in rule_files(&options.paths, &mut loaded.errors) {
        let source = file.display().to_string();
        match std::fs::read_to_string(&file) {
            Ok(text) => loaded.push(Rule::parse(&source, &text, &options.placeholders)),
            Err(e) => loaded.errors.push(RuleError {
                file: source,
                line: 0,
                message: e.to_string(),
            }),
        }
    }
    loaded.rules.retain(|r| r.level >= options.min_level);
    loaded
}

impl LoadedRules {
    fn push(&mut self, rule: Result<Rule, RuleError>) {
        match rule {
            Ok(r) => self.rules.push(r),
            Err(e) => self.errors.push(e),
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
        for rule in &loaded.rules {
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
