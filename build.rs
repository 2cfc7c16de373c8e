//! Embeds every rule file under `rules/` into the binary, in name order, and records what
//! `--version` reports: the git commit, the build date, and the rule pack's digest.

use std::{env, fs, path::Path, process::Command};

use sha2::{Digest, Sha256};

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out_dir = env::var("OUT_DIR").expect("cargo sets OUT_DIR");
    embed_rules(&root.join("rules"), Path::new(&out_dir));
    version_facts(root);
}

fn embed_rules(dir: &Path, out_dir: &Path) {
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut names: Vec<String> = fs::read_dir(dir)
        .expect("rules/ exists")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".yml") || n.ends_with(".yaml"))
        .collect();
    names.sort();
    let mut code = String::from("/// The built-in rule pack: (file name, YAML text).\npub static BUILTIN_RULES: &[(&str, &str)] = &[\n");
    let mut digest = Sha256::new();
    for name in &names {
        let path = dir.join(name);
        println!("cargo:rerun-if-changed={}", path.display());
        code.push_str(&format!(
            "    ({name:?}, include_str!({:?})),\n",
            path.display().to_string()
        ));
        // Name and text, each ended by NUL, so moving bytes between files changes the digest.
        digest.update(name.as_bytes());
        digest.update([0]);
        digest.update(fs::read(&path).expect("rule file readable"));
        digest.update([0]);
    }
    code.push_str("];\n");
    let hex: String = digest
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    code.push_str(&format!(
        "/// SHA-256 over the built-in rule files (name, NUL, text, NUL, in name order).\npub const BUILTIN_PACK_SHA256: &str = {hex:?};\n"
    ));
    fs::write(out_dir.join("builtin_rules.rs"), code).expect("OUT_DIR is writable");
    println!("cargo:rustc-env=WORMTRACE_RULES_SHA256={hex}");
    println!("cargo:rustc-env=WORMTRACE_RULE_FILES={}", names.len());
}

/// `WORMTRACE_GIT_COMMIT` and `WORMTRACE_BUILD_DATE` for `--version`; a build outside a git
/// checkout says `unknown`, and `SOURCE_DATE_EPOCH` fixes the date for reproducible builds.
fn version_facts(root: &Path) {
    let git_dir = root.join(".git");
    for watched in ["HEAD", "refs/heads", "packed-refs"] {
        if git_dir.join(watched).exists() {
            println!("cargo:rerun-if-changed={}", git_dir.join(watched).display());
        }
    }
    println!("cargo:rerun-if-env-changed=SOURCE_DATE_EPOCH");
    let commit = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(root)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|| "unknown".into());
    let secs = env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs())
        });
    println!("cargo:rustc-env=WORMTRACE_GIT_COMMIT={commit}");
    println!(
        "cargo:rustc-env=WORMTRACE_BUILD_DATE={}",
        civil_date(secs / 86_400)
    );
}

/// Days since 1970-01-01 as `YYYY-MM-DD` (Howard Hinnant's civil-from-days).
fn civil_date(days: u64) -> String {
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}
