//! Findings: one record per rule hit, with what a responder needs to act on it.

use serde::Serialize;

use crate::detect::sigma::matcher::parse_ip;
use crate::detect::sigma::Rule;
use crate::record::{Field, LogFormat, Record};

/// Built-in families, most specific first: when several match one line, the first wins.
pub const FAMILY_PRECEDENCE: [&str; 5] = [
    "code-red-ii",
    "code-red",
    "nimda",
    "code-red-unknown",
    "iis-exploit",
];

/// Family given to hits of rules that name none (third-party Sigma rules).
pub const OTHER_FAMILY: &str = "sigma";

/// Families that only a worm sends: a host of ours sending them is likely infected.
pub fn is_worm_family(family: &str) -> bool {
    matches!(
        family,
        "code-red-ii" | "code-red" | "nimda" | "code-red-unknown"
    )
}

fn is_code_red_family(family: &str) -> bool {
    family.starts_with("code-red")
}

/// What the status code says about the attacked server (Code Red families only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Exposure {
    /// 404: the server had no `.ida` mapping.
    NoMapping,
    /// 200: the mapping was there and the server answered, so it was patched.
    Patched,
    /// Anything else (or no status): the server may have been vulnerable.
    Unknown,
    /// Seen in an Apache error log: Apache cannot be infected by this request.
    NotIis,
}

impl Exposure {
    /// From the logged status.
    pub fn from_status(status: Option<&str>) -> Exposure {
        match status {
            Some("404") => Exposure::NoMapping,
            Some("200") => Exposure::Patched,
            _ => Exposure::Unknown,
        }
    }

    /// Name as written in outputs.
    pub fn name(self) -> &'static str {
        match self {
            Exposure::NoMapping => "no-mapping",
            Exposure::Patched => "patched",
            Exposure::Unknown => "unknown",
            Exposure::NotIis => "not-iis",
        }
    }
}

/// One rule hit on one line.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// `log` here; host findings say `host`.
    pub evidence_kind: &'static str,
    pub family: String,
    pub rule_id: String,
    pub rule_title: String,
    pub level: &'static str,
    pub confidence: String,
    pub path: String,
    /// 1-based physical line in the decompressed input.
    pub line: u64,
    /// Byte offset of the line in the decompressed input.
    pub offset: u64,
    pub format: &'static str,
    pub time: Option<String>,
    pub client_ip: Option<String>,
    pub server: Option<String>,
    pub method: Option<String>,
    pub uri: Option<String>,
    pub status: Option<String>,
    pub exposure: Option<Exposure>,
    /// The line as text (decoded for display only), shortened when long.
    pub evidence: String,
    /// Captures only: the frame of the request's first byte (also in `line`), the client's
    /// port, the server's port, and the flow as `client:port -> server:port`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub frame: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_port: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_port: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flow: Option<String>,
}

/// Where a line sits in its input.
#[derive(Debug, Clone, Copy)]
pub struct LinePosition<'p> {
    pub path: &'p str,
    pub line: u64,
    pub offset: u64,
}

/// Longest URI kept in a finding (Code Red's is 375 characters; a megabyte-long one is not
/// worth repeating whole).
pub const URI_CHARS: usize = 4096;

/// Longest evidence text kept in a finding.
pub const EVIDENCE_CHARS: usize = 600;

impl Finding {
    /// Builds the finding for `rule` matching `record`.
    pub fn new(rule: &Rule, record: &Record, at: LinePosition) -> Finding {
        let family = rule
            .family
            .clone()
            .unwrap_or_else(|| OTHER_FAMILY.to_string());
        let status = record.get(Field::Status).map(display_text);
        let exposure = is_code_red_family(&family).then(|| match record.format {
            LogFormat::ApacheError => Exposure::NotIis,
            _ => Exposure::from_status(status.as_deref()),
        });
        Finding {
            kind: "finding",
            evidence_kind: "log",
            confidence: rule
                .confidence
                .clone()
                .unwrap_or_else(|| "medium".to_string()),
            rule_id: rule.id.clone(),
            rule_title: rule.title.clone(),
            level: rule.level.name(),
            family,
            path: at.path.to_string(),
            line: at.line,
            offset: at.offset,
            format: record.format.name(),
            time: record.time.clone(),
            client_ip: record
                .get(Field::ClientIp)
                .and_then(parse_ip)
                .map(|ip| ip.to_string()),
            server: server_of(record),
            method: record.get(Field::Method).map(display_text),
            uri: record
                .full_uri()
                .map(|u| shorten(&display_text(u), URI_CHARS)),
            status,
            exposure,
            evidence: shorten(&display_text(record.line), EVIDENCE_CHARS),
            frame: None,
            client_port: None,
            server_port: None,
            flow: None,
        }
    }
}

impl Finding {
    /// Sets the status from an answer seen elsewhere (captures), with what it says about
    /// the server for Code Red families.
    pub fn set_status(&mut self, status: &str) {
        if self.exposure.is_some() {
            self.exposure = Some(Exposure::from_status(Some(status)));
        }
        self.status = Some(status.to_string());
    }
}

fn server_of(record: &Record) -> Option<String> {
    if let Some(ip) = record.get(Field::ServerIp).and_then(parse_ip) {
        return Some(ip.to_string());
    }
    [Field::Host, Field::ComputerName]
        .into_iter()
        .find_map(|f| record.get(f))
        .map(|host| display_text(host).to_ascii_lowercase())
}

/// Bytes as text for display: UTF-8, else CP932 (Japanese Windows), else lossy UTF-8.
pub fn display_text(bytes: &[u8]) -> String {
    if let Ok(text) = std::str::from_utf8(bytes) {
        return text.to_string();
    }
    encoding_rs::SHIFT_JIS
        .decode_without_bom_handling_and_without_replacement(bytes)
        .map(|t| t.into_owned())
        .unwrap_or_else(|| String::from_utf8_lossy(bytes).into_owned())
}

pub fn shorten(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        None => text.to_string(),
        Some((cut, _)) => format!("{}…", &text[..cut]),
    }
}

/// Keeps, of the built-in families that hit one line, only the most specific family at its
/// highest confidence; third-party rule hits are all kept. Order is preserved.
pub fn keep_most_specific(findings: &mut Vec<Finding>) {
    let rank = |f: &Finding| FAMILY_PRECEDENCE.iter().position(|p| *p == f.family);
    let confidence_rank = |f: &Finding| match f.confidence.as_str() {
        "high" => 0,
        "medium" => 1,
        _ => 2,
    };
    let Some(best) = findings
        .iter()
        .filter_map(|f| rank(f).map(|r| (r, confidence_rank(f))))
        .min()
    else {
        return;
    };
    let mut kept_builtin = false;
    findings.retain(|f| match rank(f) {
        None => true,
        Some(r) if (r, confidence_rank(f)) == best && !kept_builtin => {
            kept_builtin = true;
            true
        }
        Some(_) => false,
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(family: &str, confidence: &str) -> Finding {
        Finding {
            kind: "finding",
            evidence_kind: "log",
            family: family.into(),
            rule_id: format!("{family}-{confidence}"),
            rule_title: String::new(),
            level: "high",
            confidence: confidence.into(),
            path: String::new(),
            line: 1,
            offset: 0,
            format: "text",
            time: None,
            client_ip: None,
            server: None,
            method: None,
            uri: None,
            status: None,
            exposure: None,
            evidence: String::new(),
            frame: None,
            client_port: None,
            server_port: None,
            flow: None,
        }
    }

    #[test]
    fn one_builtin_family_per_line() {
        let mut v = vec![
            finding("iis-exploit", "low"),
            finding("code-red-ii", "medium"),
            finding("sigma", "high"),
            finding("code-red-ii", "high"),
        ];
        keep_most_specific(&mut v);
        let ids: Vec<&str> = v.iter().map(|f| f.rule_id.as_str()).collect();
        assert_eq!(ids, vec!["sigma-high", "code-red-ii-high"]);
    }

    #[test]
    fn exposure_from_status() {
        assert_eq!(Exposure::from_status(Some("404")), Exposure::NoMapping);
        assert_eq!(Exposure::from_status(Some("200")), Exposure::Patched);
        assert_eq!(Exposure::from_status(Some("500")), Exposure::Unknown);
        assert_eq!(Exposure::from_status(None), Exposure::Unknown);
    }

    #[test]
    fn display_decodes_cp932_and_never_panics() {
        assert_eq!(display_text("攻撃".as_bytes()), "攻撃");
        assert_eq!(display_text(b"\x8dU\x8c\x82"), "攻撃");
        assert_eq!(display_text(b"\xff\xfe\xfd"), "\u{fffd}\u{fffd}\u{fffd}");
        assert_eq!(shorten("abcdef", 3), "abc…");
    }
}
