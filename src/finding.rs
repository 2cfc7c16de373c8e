//! Findings from rule hits: a rule and the record it matched become a model [`Finding`],
//! with what the server's answer says for the kind of request it was.

use crate::detect::sigma::matcher::parse_ip;
use crate::detect::sigma::Rule;
use crate::model::{
    ClientPolicy, Confidence, Evidence, Exposure, Finding, ProxyEvidence, RequestEvidence,
};
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

/// Longest `X-Forwarded-For` header kept in a finding.
pub const FORWARDED_CHARS: usize = 512;

/// Builds the finding for `rule` matching `record`; `client` says which address of a
/// proxied request is its source.
pub fn request_finding(
    rule: &Rule,
    record: &Record,
    at: LinePosition,
    client: &ClientPolicy,
) -> Finding {
    let family = rule
        .family
        .clone()
        .unwrap_or_else(|| OTHER_FAMILY.to_string());
    let status = record.get(Field::Status).map(display_text);
    let uri = record
        .full_uri()
        .map(|u| shorten(&display_cow(u), URI_CHARS));
    let kind = RequestKind::of(&family, uri.as_deref());
    let exposure = match record.format {
        // An Apache server answered: whatever the worm, the IIS flaws were not there.
        LogFormat::ApacheError if kind == RequestKind::CodeRed || family == "nimda" => {
            Some(Exposure::NotIis)
        }
        _ => kind.exposure(status.as_deref()),
    };
    let peer_ip = record.get(Field::ClientIp).and_then(parse_ip);
    let forwarded = record.get(Field::ForwardedFor).map(display_text);
    let request = RequestEvidence {
        line: at.line,
        offset: at.offset,
        format: record.format.name().to_string(),
        client_ip: client.client(peer_ip, forwarded.as_deref()),
        server: server_of(record).or_else(|| object_store_target(at.path)),
        server_name: server_name(record),
        method: record.get(Field::Method).map(display_text),
        uri,
        status,
        exposure,
        text: shorten(&display_cow(record.line), EVIDENCE_CHARS),
        wire: None,
        proxy: forwarded.map(|header| ProxyEvidence {
            peer_ip,
            forwarded_for: shorten(&header, FORWARDED_CHARS),
        }),
    };
    Finding {
        id: 0,
        confidence: rule_confidence(rule),
        rule_id: rule.id.clone(),
        rule_title: rule.title.clone(),
        level: rule.level,
        family,
        path: at.path.to_string(),
        time: record.time,
        evidence: Evidence::Request(Box::new(request)),
        correlate: Vec::new(),
    }
}

/// Gives a finding the status of an answer seen on the wire, and what it says of the server.
pub fn set_answer(finding: &mut Finding, status: &str) {
    let uri = finding.request().and_then(|r| r.uri.clone());
    let exposure = RequestKind::of(&finding.family, uri.as_deref()).exposure(Some(status));
    finding.set_status(status, exposure);
}

/// What kind of request a finding saw, for reading the server's answer (facts.md 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestKind {
    /// `.ida` requests of the Code Red families: the answer tells whether the mapping was
    /// there and patched.
    CodeRed,
    /// Requests for the backdoor Code Red II leaves (`root.exe`, `/c/`, `/d/`).
    Backdoor,
    /// Directory traversals to `cmd.exe`.
    Traversal,
    /// Anything else: the answer says nothing this tool reads.
    Other,
}

impl RequestKind {
    /// The kind of a request of `family` for `uri`.
    pub fn of(family: &str, uri: Option<&str>) -> RequestKind {
        if is_code_red_family(family) {
            return RequestKind::CodeRed;
        }
        let Some(uri) = uri else {
            return RequestKind::Other;
        };
        let path = uri.split('?').next().unwrap_or(uri).to_ascii_lowercase();
        if path.ends_with("/root.exe") || path.starts_with("/c/") || path.starts_with("/d/") {
            RequestKind::Backdoor
        } else if path.contains("..") && path.contains("cmd.exe") {
            RequestKind::Traversal
        } else {
            RequestKind::Other
        }
    }

    /// What an answer with `status` says of the server.
    pub fn exposure(self, status: Option<&str>) -> Option<Exposure> {
        let success = status.is_some_and(|s| s.len() == 3 && s.starts_with('2'));
        match self {
            RequestKind::CodeRed => Some(Exposure::from_status(status)),
            RequestKind::Backdoor if success => Some(Exposure::Backdoor),
            RequestKind::Traversal if success || status == Some("502") => Some(Exposure::Traversal),
            _ => None,
        }
    }
}

/// The server's name, when the line also gives its address.
fn server_name(record: &Record) -> Option<String> {
    record.get(Field::ServerIp).and_then(parse_ip)?;
    [Field::Host, Field::ComputerName]
        .into_iter()
        .find_map(|f| record.get(f))
        .map(|host| display_text(host).to_ascii_lowercase())
        .filter(|h| !h.is_empty() && h != "-")
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

/// The balancer or distribution a log file belongs to, from the name the service gave the
/// file, for lines that name no server themselves. ALB and Classic ELB:
/// `<account>_elasticloadbalancing_<region>_<id>_<end>_<ip>_<random>.log.gz`, where an ALB's
/// `app.<name>.<id>` is written `app/<name>/<id>` as its log lines write it. CloudFront:
/// `<distribution>.<YYYY-MM-DD-HH>.<unique>.gz`.
pub fn object_store_target(path: &str) -> Option<String> {
    let name = path.rsplit(['/', '\\']).next()?;
    let parts: Vec<&str> = name.split('_').collect();
    if parts.len() >= 5 && parts[1] == "elasticloadbalancing" {
        let id = parts[3];
        return Some(match id.strip_prefix("app.").or(id.strip_prefix("net.")) {
            Some(rest) => format!("{}/{}", &id[..3], rest.replacen('.', "/", 1)),
            None => id.to_string(),
        });
    }
    let mut dots = name.split('.');
    let distribution = dots.next()?;
    let hour = dots.next()?;
    let is_hour = hour.len() == 13
        && hour.bytes().enumerate().all(|(i, b)| match i {
            4 | 7 | 10 => b == b'-',
            _ => b.is_ascii_digit(),
        });
    let is_id = !distribution.is_empty()
        && distribution
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
    (is_hour && is_id && dots.next().is_some()).then(|| distribution.to_string())
}

/// Bytes as text for display: UTF-8, else CP932 (Japanese Windows), else lossy UTF-8.
pub fn display_text(bytes: &[u8]) -> String {
    display_cow(bytes).into_owned()
}

/// [`display_text`], borrowing the bytes when they are UTF-8 already.
pub fn display_cow(bytes: &[u8]) -> std::borrow::Cow<'_, str> {
    if let Ok(text) = std::str::from_utf8(bytes) {
        return text.into();
    }
    encoding_rs::SHIFT_JIS
        .decode_without_bom_handling_and_without_replacement(bytes)
        .unwrap_or_else(|| String::from_utf8_lossy(bytes))
}

/// At most `max_chars` characters of `text`, with `…` where it was cut.
pub fn shorten(text: &str, max_chars: usize) -> String {
    // A text of no more bytes than the limit has no more characters either.
    if text.len() <= max_chars {
        return text.to_string();
    }
    // ASCII up to the limit: the cut is at that byte, without walking the characters.
    if text.as_bytes()[..max_chars].is_ascii() {
        return format!("{}…", &text[..max_chars]);
    }
    match text.char_indices().nth(max_chars) {
        None => text.to_string(),
        Some((cut, _)) => format!("{}…", &text[..cut]),
    }
}

/// Keeps, of the built-in families that hit one line, only the most specific family at its
/// highest confidence; third-party rule hits are all kept. Order is preserved.
pub fn keep_most_specific(findings: &mut Vec<Finding>) {
    keep_most_specific_by(findings, |f| specificity(&f.family, f.confidence));
}

/// [`keep_most_specific`] on the rules that hit a line (indexes into `ranks`, each rule's
/// [`rule_specificity`]), before any finding is built: a long request hit by four rules is
/// then copied once, not four times.
pub fn keep_most_specific_rules(hits: &mut Vec<usize>, ranks: &[Specificity]) {
    if hits.len() > 1 {
        keep_most_specific_by(hits, |&i| ranks[i]);
    }
}

/// How specific a built-in family's hit is (lower is more), None for other families.
pub type Specificity = Option<(usize, std::cmp::Reverse<Confidence>)>;

/// How specific the hits of `rule` are (worked out once per rule, not per line).
pub fn rule_specificity(rule: &Rule) -> Specificity {
    let family = rule.family.as_deref().unwrap_or(OTHER_FAMILY);
    specificity(family, rule_confidence(rule))
}

fn specificity(family: &str, confidence: Confidence) -> Specificity {
    FAMILY_PRECEDENCE
        .iter()
        .position(|p| *p == family)
        .map(|r| (r, std::cmp::Reverse(confidence)))
}

fn keep_most_specific_by<T>(items: &mut Vec<T>, rank: impl Fn(&T) -> Specificity) {
    let Some(best) = items.iter().filter_map(&rank).min() else {
        return;
    };
    let mut kept_builtin = false;
    items.retain(|item| match rank(item) {
        None => true,
        Some(r) if r == best && !kept_builtin => {
            kept_builtin = true;
            true
        }
        Some(_) => false,
    });
}

/// The confidence a rule gives its findings (medium when it names none).
fn rule_confidence(rule: &Rule) -> Confidence {
    rule.confidence
        .as_deref()
        .and_then(Confidence::from_name)
        .unwrap_or(Confidence::Medium)
}

/// A request finding for tests elsewhere in the crate.
#[cfg(test)]
pub(crate) mod tests_support {
    use super::*;
    use crate::model::Level;

    /// A log finding of `family` with no line, time or addresses.
    pub(crate) fn finding(family: &str, confidence: Confidence) -> Finding {
        Finding {
            id: 0,
            family: family.into(),
            rule_id: format!("{family}-{}", confidence.name()),
            rule_title: String::new(),
            level: Level::High,
            confidence,
            path: String::new(),
            time: None,
            evidence: Evidence::Request(Box::new(RequestEvidence {
                line: 1,
                offset: 0,
                format: "text".into(),
                client_ip: None,
                server: None,
                server_name: None,
                method: None,
                uri: None,
                status: None,
                exposure: None,
                text: String::new(),
                wire: None,
                proxy: None,
            })),
            correlate: Vec::new(),
        }
    }
}

#[cfg(test)]
mod object_store_tests {
    use super::object_store_target;

    #[test]
    fn balancer_and_distribution_names_from_object_keys() {
        let alb = "logs/AWSLogs/123456789012/elasticloadbalancing/us-east-2/2018/07/02/123456789012_elasticloadbalancing_us-east-2_app.my-loadbalancer.50dc6c495c0c9188_20180702T2220Z_10.0.0.1_2et2e1mx.log.gz";
        assert_eq!(
            object_store_target(alb).as_deref(),
            Some("app/my-loadbalancer/50dc6c495c0c9188")
        );
        let elb = "123456789012_elasticloadbalancing_us-west-2_my-loadbalancer_20140215T2340Z_172.160.001.192_20sg8hgm.log";
        assert_eq!(object_store_target(elb).as_deref(), Some("my-loadbalancer"));
        let cf = "cf/E2EXAMPLE123.2019-12-04-21.abcd1234.gz";
        assert_eq!(object_store_target(cf).as_deref(), Some("E2EXAMPLE123"));
        for other in [
            "ex010804.log",
            "access.log.2019-12-04-21.gz",
            "a_b_c.log",
            "",
        ] {
            assert_eq!(object_store_target(other), None, "{other}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use super::tests_support::finding;

    #[test]
    fn one_builtin_family_per_line() {
        let mut v = vec![
            finding("iis-exploit", Confidence::Low),
            finding("code-red-ii", Confidence::Medium),
            finding("sigma", Confidence::High),
            finding("code-red-ii", Confidence::High),
        ];
        keep_most_specific(&mut v);
        let ids: Vec<&str> = v.iter().map(|f| f.rule_id.as_str()).collect();
        assert_eq!(ids, vec!["sigma-high", "code-red-ii-high"]);
    }

    #[test]
    fn each_kind_of_request_reads_its_answer() {
        let kind = |family, uri| RequestKind::of(family, Some(uri));
        let code_red = kind("code-red-ii", "/default.ida?XXXX");
        assert_eq!(code_red.exposure(Some("404")), Some(Exposure::NoMapping));
        assert_eq!(code_red.exposure(Some("200")), Some(Exposure::Patched));
        assert_eq!(code_red.exposure(None), Some(Exposure::Unknown));
        for uri in [
            "/scripts/root.exe?/c+dir",
            "/MSADC/root.exe?/c+dir",
            "/c/winnt/system32/cmd.exe?/c+dir",
            "/d/winnt/system32/cmd.exe?/c+dir",
        ] {
            let backdoor = kind("nimda", uri);
            assert_eq!(backdoor, RequestKind::Backdoor, "{uri}");
            assert_eq!(backdoor.exposure(Some("200")), Some(Exposure::Backdoor));
            assert_eq!(backdoor.exposure(Some("404")), None);
        }
        let traversal = kind("nimda", "/scripts/..%255c../winnt/system32/cmd.exe?/c+dir");
        assert_eq!(traversal, RequestKind::Traversal);
        assert_eq!(traversal.exposure(Some("200")), Some(Exposure::Traversal));
        assert_eq!(traversal.exposure(Some("502")), Some(Exposure::Traversal));
        assert_eq!(traversal.exposure(Some("500")), None);
        assert_eq!(
            kind("iis-exploit", "/index.html").exposure(Some("200")),
            None
        );
    }

    #[test]
    fn display_decodes_cp932_and_never_panics() {
        assert_eq!(display_text("攻撃".as_bytes()), "攻撃");
        assert_eq!(display_text(b"\x8dU\x8c\x82"), "攻撃");
        assert_eq!(display_text(b"\xff\xfe\xfd"), "\u{fffd}\u{fffd}\u{fffd}");
        assert_eq!(shorten("abcdef", 3), "abc…");
        assert_eq!(shorten("abc", 3), "abc");
        assert_eq!(shorten("攻撃です", 3), "攻撃で…");
        assert_eq!(shorten("ab攻撃", 3), "ab攻…");
        assert_eq!(shorten("攻撃", 3), "攻撃", "6 bytes, 2 characters");
    }
}
