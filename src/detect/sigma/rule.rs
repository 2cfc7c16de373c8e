//! Loading a Sigma rule (YAML) into a compiled, evaluable form.

use std::collections::HashMap;

use regex::bytes::RegexBuilder;
use yaml_rust2::{Yaml, YamlLoader};

use super::any_of::AnyOf;
use super::condition::{self, Expr};
use super::matcher::{Compare, LiteralKind, Matcher, Target};
use super::run_prefix::RunPrefix;
use super::value::{self, SigmaString};
use crate::record::{Field, LogFormat, Record};

/// Severity levels of Sigma, lowest first.
pub use crate::model::Level;

/// A rule that could not be loaded: file, line and what construct failed.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{file}:{line}: {message}")]
pub struct RuleError {
    /// Rule file (or `builtin:NAME`).
    pub file: String,
    /// 1-based line of the construct, as near as can be told.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

/// Values for `%name%` placeholders of the `expand` modifier.
#[derive(Debug, Clone, Default)]
pub struct Placeholders(pub HashMap<String, Vec<String>>);

impl Placeholders {
    /// Reads a YAML mapping of placeholder name to a value or list of values.
    pub fn parse(text: &str) -> Result<Placeholders, String> {
        let docs = YamlLoader::load_from_str(text).map_err(|e| e.to_string())?;
        let mut map = HashMap::new();
        if let Some(hash) = docs.first().and_then(Yaml::as_hash) {
            for (k, v) in hash {
                let values = match v {
                    Yaml::Array(items) => items.iter().filter_map(scalar_text).collect(),
                    other => scalar_text(other).into_iter().collect(),
                };
                map.insert(scalar_text(k).unwrap_or_default(), values);
            }
        }
        Ok(Placeholders(map))
    }
}

/// Where a rule applies (`logsource`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogSource {
    pub category: Option<String>,
    pub product: Option<String>,
    pub service: Option<String>,
    /// wormtrace's `any-text` attribute: the rule also runs on text of no known log format
    /// (notes, pasted lines), where others do not.
    pub any_text: bool,
}

const WEB_PRODUCTS: [&str; 3] = ["apache", "iis", "nginx"];

impl LogSource {
    /// Whether lines of `format` fall under this logsource.
    pub fn covers(&self, format: LogFormat) -> bool {
        if self.is_network() {
            return false;
        }
        if format == LogFormat::Text {
            return self.any_text;
        }
        let products = format.products();
        let product_ok = |p: &str| products.is_empty() || products.contains(&p);
        let product_matches = self.product.as_deref().is_none_or(product_ok);
        let service_matches = match self.service.as_deref() {
            None => true,
            Some(s @ ("access" | "error")) => format.service().is_none_or(|f| f == s),
            Some(product) => product_ok(product),
        };
        product_matches && service_matches
    }
}

impl LogSource {
    /// Whether the rule is about network connections (`category: network_connection`): it
    /// runs on the connections of captures and connection tables, never on log lines.
    pub fn is_network(&self) -> bool {
        self.category.as_deref() == Some(NETWORK_CATEGORY)
    }
}

/// Sigma's category of network connection events.
pub const NETWORK_CATEGORY: &str = "network_connection";

/// One value group of a detection item: any of its variants may match.
#[derive(Debug, Clone)]
pub struct ValueGroup(pub Vec<Matcher>);

/// `field|modifiers: values`.
#[derive(Debug, Clone)]
pub struct Item {
    /// Where it looks.
    pub target: Target,
    /// One group per listed value.
    pub groups: Vec<ValueGroup>,
    /// `all`: every group must match (otherwise one is enough).
    pub all: bool,
    /// Without `all`: the groups' values searched for in one pass, when there are many.
    pub any: Option<Box<AnyOf>>,
}

/// A named search identifier of the detection.
#[derive(Debug, Clone)]
pub enum Selection {
    /// Keywords: any of these matches the raw line (searched for in one pass when many).
    Keywords(Vec<ValueGroup>, Option<Box<AnyOf>>),
    /// Maps: any map whose items all match.
    Maps(Vec<Vec<Item>>),
}

/// A compiled Sigma rule with the metadata wormtrace keeps.
#[derive(Debug, Clone)]
pub struct Rule {
    pub id: String,
    /// Sigma's `name`: how correlation rules may refer to it.
    pub name: Option<String>,
    pub title: String,
    pub status: Option<String>,
    pub level: Level,
    pub description: Option<String>,
    pub tags: Vec<String>,
    pub references: Vec<String>,
    pub falsepositives: Vec<String>,
    pub fields: Vec<String>,
    /// wormtrace's `family` attribute (absent on third-party rules).
    pub family: Option<String>,
    /// wormtrace's `confidence` attribute: high, medium or low.
    pub confidence: Option<String>,
    /// Where the rule came from.
    pub source: String,
    /// SHA-256 of the rule file's text.
    pub source_sha256: String,
    pub logsource: LogSource,
    /// Field names the rule uses that web-server logs never have.
    pub unknown_fields: Vec<String>,
    /// Names of the detection's search identifiers, in file order.
    pub selection_names: Vec<String>,
    pub(crate) selections: Vec<Selection>,
    pub(crate) condition: Expr,
}

impl Rule {
    /// Loads one rule from YAML text of one document.
    pub fn parse(source: &str, text: &str, placeholders: &Placeholders) -> Result<Rule, RuleError> {
        let docs = yaml_documents(source, text)?;
        match docs.as_slice() {
            [doc] => Rule::from_document(source, text, doc, placeholders),
            [] => Err(error_at(source, text, "", "empty file".into())),
            _ => Err(error_at(
                source,
                text,
                "---",
                "several YAML documents: load them with pack::parse_file".into(),
            )),
        }
    }

    /// Loads one rule from a parsed YAML document of `text`.
    pub fn from_document(
        source: &str,
        text: &str,
        doc: &Yaml,
        placeholders: &Placeholders,
    ) -> Result<Rule, RuleError> {
        let fail = |needle: &str, message: String| error_at(source, text, needle, message);
        let title = doc["title"]
            .as_str()
            .ok_or_else(|| fail("", "missing 'title'".into()))?;
        let mut logsource = read_logsource(&doc["logsource"]).map_err(|m| fail("logsource", m))?;
        logsource.any_text = match &doc["any-text"] {
            Yaml::BadValue => false,
            other => other
                .as_bool()
                .ok_or_else(|| fail("any-text", "takes true or false".into()))?,
        };
        let detection = doc["detection"]
            .as_hash()
            .ok_or_else(|| fail("detection", "missing 'detection' map".into()))?;
        let mut names = Vec::new();
        let mut selections = Vec::new();
        let mut unknown_fields = Vec::new();
        let mut conditions = Vec::new();
        for (key, node) in detection {
            let name = key.as_str().unwrap_or_default();
            match name {
                "condition" => {
                    conditions = condition_texts(node).map_err(|m| fail("condition", m))?
                }
                "timeframe" => {
                    return Err(fail(
                        "timeframe",
                        "'timeframe' (correlation) is not supported".into(),
                    ))
                }
                _ => {
                    let sel = compile_selection(node, placeholders, &mut unknown_fields).map_err(
                        |(needle, m)| {
                            fail(
                                if needle.is_empty() { name } else { &needle },
                                format!("{name}: {m}"),
                            )
                        },
                    )?;
                    names.push(name.to_string());
                    selections.push(sel);
                }
            }
        }
        let condition = compile_condition(&conditions, &names).map_err(|m| fail("condition", m))?;
        let level = match doc["level"].as_str() {
            None => Level::Medium,
            Some(l) => {
                Level::parse(l).ok_or_else(|| fail("level", format!("unknown level '{l}'")))?
            }
        };
        Ok(Rule {
            id: doc["id"].as_str().unwrap_or(title).to_string(),
            name: doc["name"].as_str().map(str::to_string),
            title: title.to_string(),
            status: doc["status"].as_str().map(str::to_string),
            level,
            description: doc["description"].as_str().map(str::to_string),
            tags: string_list(&doc["tags"]),
            references: string_list(&doc["references"]),
            falsepositives: string_list(&doc["falsepositives"]),
            fields: string_list(&doc["fields"]),
            family: doc["family"].as_str().map(str::to_string),
            confidence: doc["confidence"].as_str().map(str::to_string),
            source: source.to_string(),
            source_sha256: crate::source::Digest::of_bytes(text.as_bytes())
                .sha256
                .unwrap_or_default(),
            logsource,
            unknown_fields,
            selection_names: names,
            selections,
            condition,
        })
    }

    /// Whether the record matches (the logsource is the caller's to check).
    pub fn matches(&self, record: &Record) -> bool {
        // Each selection is evaluated once however often the condition names it; up to 64
        // of them (every rule seen so far) the answers are kept in two words, not a Vec
        // allocated per candidate line.
        if self.selections.len() <= 64 {
            let (mut known, mut held) = (0u64, 0u64);
            return self.condition.eval(&mut |i| {
                let bit = 1u64 << i;
                if known & bit == 0 {
                    known |= bit;
                    if self.selections[i].matches(record) {
                        held |= bit;
                    }
                }
                held & bit != 0
            });
        }
        let mut cache: Vec<Option<bool>> = vec![None; self.selections.len()];
        self.condition
            .eval(&mut |i| *cache[i].get_or_insert_with(|| self.selections[i].matches(record)))
    }

    /// The selections, for prefilter analysis.
    pub fn selections(&self) -> &[Selection] {
        &self.selections
    }

    /// The compiled condition.
    pub fn condition(&self) -> &Expr {
        &self.condition
    }
}

impl ValueGroup {
    fn matches(&self, target: &Target, record: &Record) -> bool {
        self.0.iter().any(|m| m.test(target, record))
    }
}

impl Item {
    fn matches(&self, record: &Record) -> bool {
        if self.all {
            self.groups.iter().all(|g| g.matches(&self.target, record))
        } else if let Some(any) = &self.any {
            any.matches(&self.groups, &self.target, record)
        } else {
            self.groups.iter().any(|g| g.matches(&self.target, record))
        }
    }
}

impl Selection {
    fn matches(&self, record: &Record) -> bool {
        match self {
            Selection::Keywords(groups, Some(any)) => any.matches(groups, &Target::Line, record),
            Selection::Keywords(groups, None) => {
                groups.iter().any(|g| g.matches(&Target::Line, record))
            }
            Selection::Maps(maps) => maps
                .iter()
                .any(|items| items.iter().all(|i| i.matches(record))),
        }
    }
}

fn read_logsource(node: &Yaml) -> Result<LogSource, String> {
    let get = |k: &str| node[k].as_str().map(str::to_ascii_lowercase);
    let ls = LogSource {
        category: get("category"),
        product: get("product"),
        service: get("service"),
        any_text: false,
    };
    let web_category = ls.category.as_deref() == Some("webserver");
    // SigmaHQ's Apache and nginx error-log rules name the server as the service.
    let web_product = [&ls.product, &ls.service]
        .iter()
        .any(|p| p.as_deref().is_some_and(|p| WEB_PRODUCTS.contains(&p)));
    if ls.is_network() {
        return Ok(ls);
    }
    match (&ls.category, web_category || web_product) {
        (_, true) if ls.category.is_none() || web_category => Ok(ls),
        (Some(c), _) => Err(format!(
            "logsource category '{c}' is neither a web-server log nor network connections (want 'webserver' or 'network_connection')"
        )),
        (None, _) => Err("logsource names no web-server category or product".into()),
    }
}

fn condition_texts(node: &Yaml) -> Result<Vec<String>, String> {
    match node {
        Yaml::String(s) => Ok(vec![s.clone()]),
        Yaml::Array(items) => items
            .iter()
            .map(|i| {
                i.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| "condition list holds a non-string".to_string())
            })
            .collect(),
        _ => Err("condition must be a string or a list of strings".into()),
    }
}

fn compile_condition(texts: &[String], names: &[String]) -> Result<Expr, String> {
    if texts.is_empty() {
        return Err("missing 'condition'".into());
    }
    let mut parts = Vec::new();
    for text in texts {
        if text.contains('|') {
            return Err(format!(
                "aggregation in condition '{text}' is not supported"
            ));
        }
        parts.push(condition::parse(text, names)?);
    }
    Ok(if parts.len() == 1 {
        parts.remove(0)
    } else {
        Expr::Or(parts)
    })
}

type CompileError = (String, String);

fn compile_selection(
    node: &Yaml,
    ph: &Placeholders,
    unknown: &mut Vec<String>,
) -> Result<Selection, CompileError> {
    match node {
        Yaml::Hash(map) => Ok(Selection::Maps(vec![compile_map(map, ph, unknown)?])),
        Yaml::Array(items)
            if items.iter().all(|i| matches!(i, Yaml::Hash(_))) && !items.is_empty() =>
        {
            let maps = items
                .iter()
                .map(|i| compile_map(i.as_hash().expect("checked above"), ph, unknown))
                .collect::<Result<_, _>>()?;
            Ok(Selection::Maps(maps))
        }
        Yaml::Array(items) => {
            let groups: Vec<ValueGroup> =
                items.iter().map(keyword_group).collect::<Result<_, _>>()?;
            Ok(keywords(groups))
        }
        scalar => Ok(keywords(vec![keyword_group(scalar)?])),
    }
}

/// A keyword selection, its values searched for in one pass when there are many.
fn keywords(groups: Vec<ValueGroup>) -> Selection {
    let any = AnyOf::new(&groups);
    Selection::Keywords(groups, any)
}

fn keyword_group(value: &Yaml) -> Result<ValueGroup, CompileError> {
    let text = scalar_text(value)
        .ok_or_else(|| (String::new(), "keywords must be plain values".to_string()))?;
    let matcher = Matcher::from_string(SigmaString::parse(&text), LiteralKind::Contains, false)
        .map_err(|e| (text.clone(), e.to_string()))?;
    Ok(ValueGroup(vec![matcher]))
}

fn compile_map(
    map: &yaml_rust2::yaml::Hash,
    ph: &Placeholders,
    unknown: &mut Vec<String>,
) -> Result<Vec<Item>, CompileError> {
    map.iter()
        .map(|(k, v)| {
            let key = k
                .as_str()
                .ok_or_else(|| (String::new(), "field names must be strings".to_string()))?;
            compile_item(key, v, ph, unknown).map_err(|m| (key.to_string(), m))
        })
        .collect()
}

/// What the modifiers of one item ask for.
#[derive(Default)]
struct Modifiers<'k> {
    kind: Option<LiteralKind>,
    all: bool,
    cased: bool,
    regex_flags: Option<String>,
    cidr: bool,
    exists: bool,
    compare: Option<Compare>,
    fieldref: bool,
    expand: bool,
    transforms: Vec<&'k str>,
    /// No field (`'|all': [...]`): a keyword, found anywhere in the line unless a
    /// modifier says where.
    keyword: bool,
}

fn read_modifiers<'k>(names: &[&'k str]) -> Result<Modifiers<'k>, String> {
    let mut m = Modifiers::default();
    for &name in names {
        match name {
            "contains" => m.kind = Some(LiteralKind::Contains),
            "startswith" => m.kind = Some(LiteralKind::StartsWith),
            "endswith" => m.kind = Some(LiteralKind::EndsWith),
            "all" => m.all = true,
            "cased" => m.cased = true,
            "re" => m.regex_flags = Some(String::new()),
            "i" | "m" | "s" => match m.regex_flags.as_mut() {
                Some(flags) => flags.push_str(name),
                None => return Err(format!("modifier '{name}' only goes after 're'")),
            },
            "cidr" => m.cidr = true,
            "exists" => m.exists = true,
            "lt" => m.compare = Some(Compare::Less),
            "lte" => m.compare = Some(Compare::LessOrEqual),
            "gt" => m.compare = Some(Compare::Greater),
            "gte" => m.compare = Some(Compare::GreaterOrEqual),
            "fieldref" => m.fieldref = true,
            "expand" => m.expand = true,
            "base64" | "base64offset" | "utf16le" | "utf16be" | "utf16" | "wide" | "windash" => {
                m.transforms.push(name)
            }
            other => return Err(format!("modifier '{other}' is not supported")),
        }
    }
    Ok(m)
}

fn target_for(name: &str, unknown: &mut Vec<String>) -> Target {
    if name.is_empty() {
        return Target::Line;
    }
    match Field::from_name(name) {
        Some(f) => Target::Field(f),
        None => {
            if !unknown.iter().any(|u| u == name) {
                unknown.push(name.to_string());
            }
            Target::Missing(name.to_string())
        }
    }
}

fn compile_item(
    key: &str,
    value: &Yaml,
    ph: &Placeholders,
    unknown: &mut Vec<String>,
) -> Result<Item, String> {
    let mut parts = key.split('|');
    let field = parts.next().unwrap_or_default();
    let modifier_names: Vec<&str> = parts.collect();
    let mut mods = read_modifiers(&modifier_names)?;
    mods.keyword = field.is_empty();
    let target = target_for(field, unknown);
    let values: Vec<&Yaml> = match value {
        Yaml::Array(items) if items.is_empty() => return Err("empty value list".into()),
        Yaml::Array(items) => items.iter().collect(),
        other => vec![other],
    };
    let groups: Vec<ValueGroup> = values
        .into_iter()
        .map(|v| compile_value(v, &mods, ph, unknown))
        .collect::<Result<_, _>>()?;
    let any = (!mods.all).then(|| AnyOf::new(&groups)).flatten();
    Ok(Item {
        target,
        groups,
        all: mods.all,
        any,
    })
}

fn compile_value(
    value: &Yaml,
    mods: &Modifiers,
    ph: &Placeholders,
    unknown: &mut Vec<String>,
) -> Result<ValueGroup, String> {
    if matches!(value, Yaml::Null) {
        return Ok(ValueGroup(vec![Matcher::Null]));
    }
    if mods.exists {
        let wanted = value.as_bool().ok_or("'exists' takes true or false")?;
        return Ok(ValueGroup(vec![Matcher::Exists(wanted)]));
    }
    let text = scalar_text(value).ok_or("values must be strings, numbers, booleans or null")?;
    let texts = if mods.expand {
        let lookup = |name: &str| ph.0.get(name).cloned();
        value::expand(&text, &lookup).map_err(|e| e.0)?
    } else {
        vec![text]
    };
    let mut matchers = Vec::new();
    for text in texts {
        matchers.extend(compile_text(&text, mods, unknown)?);
    }
    Ok(ValueGroup(matchers))
}

fn compile_text(
    text: &str,
    mods: &Modifiers,
    unknown: &mut Vec<String>,
) -> Result<Vec<Matcher>, String> {
    if let Some(flags) = &mods.regex_flags {
        let unicode = !names_high_bytes(text);
        let (i, m, s) = (
            flags.contains('i'),
            flags.contains('m'),
            flags.contains('s'),
        );
        let re = RegexBuilder::new(text)
            .unicode(unicode)
            .case_insensitive(i)
            .multi_line(m)
            .dot_matches_new_line(s)
            .build()
            .map_err(|e| format!("bad regular expression: {e}"))?;
        let run = regex_syntax::ParserBuilder::new()
            .unicode(unicode)
            .case_insensitive(i)
            .multi_line(m)
            .dot_matches_new_line(s)
            .utf8(false)
            .build()
            .parse(text)
            .ok()
            .and_then(|hir| RunPrefix::of(&hir))
            .map(Box::new);
        return Ok(vec![Matcher::Regex { re, run }]);
    }
    if mods.cidr {
        let net = text
            .trim()
            .parse()
            .map_err(|_| format!("'{text}' is not a CIDR network"))?;
        return Ok(vec![Matcher::Cidr(net)]);
    }
    if let Some(op) = mods.compare {
        let bound = text
            .trim()
            .parse()
            .map_err(|_| format!("'{text}' is not a number"))?;
        return Ok(vec![Matcher::Number(op, bound)]);
    }
    if mods.fieldref {
        return Ok(vec![Matcher::FieldRef(target_for(text, unknown))]);
    }
    let mut variants = vec![SigmaString::parse(text)];
    for transform in &mods.transforms {
        variants = apply_transform(transform, variants).map_err(|e| e.0)?;
    }
    let default_kind = if mods.keyword {
        LiteralKind::Contains
    } else {
        LiteralKind::Equals
    };
    let kind = mods.kind.unwrap_or(default_kind);
    variants
        .into_iter()
        .map(|v| Matcher::from_string(v, kind, mods.cased).map_err(|e| e.to_string()))
        .collect()
}

/// Whether a regex names a byte above `\x7F` (`\xC1`). Such a regex is compiled on bytes, as
/// PCRE reads it: web logs hold bytes that are not UTF-8 (Nimda's `C1 1C`), and in Unicode
/// mode the regex crate would read `\xC1` as the character U+00C1.
pub(crate) fn names_high_bytes(pattern: &str) -> bool {
    let mut rest = pattern;
    while let Some(at) = rest.find('\\') {
        let escape = &rest[at + 1..];
        let high = escape
            .strip_prefix('x')
            .and_then(|hex| hex.get(..2))
            .and_then(|hex| u8::from_str_radix(hex, 16).ok())
            .is_some_and(|b| b >= 0x80);
        if high {
            return true;
        }
        // Skip the escaped character, so that `\\x` is a backslash and an x.
        let skip = escape.chars().next().map_or(0, char::len_utf8);
        rest = &escape[skip..];
    }
    false
}

fn apply_transform(
    name: &str,
    values: Vec<SigmaString>,
) -> Result<Vec<SigmaString>, value::ValueError> {
    let mut out = Vec::new();
    for v in values {
        match name {
            "base64" => out.push(value::base64(&v)?),
            "base64offset" => out.extend(value::base64_offsets(&v)?),
            "windash" => out.extend(value::windash(&v)),
            utf => out.push(value::utf16(&v, utf)?),
        }
    }
    Ok(out)
}

fn scalar_text(value: &Yaml) -> Option<String> {
    match value {
        Yaml::String(s) => Some(s.clone()),
        Yaml::Integer(i) => Some(i.to_string()),
        Yaml::Real(r) => Some(r.clone()),
        Yaml::Boolean(b) => Some(b.to_string()),
        _ => None,
    }
}

fn string_list(node: &Yaml) -> Vec<String> {
    match node {
        Yaml::Array(items) => items.iter().filter_map(scalar_text).collect(),
        other => scalar_text(other).into_iter().collect(),
    }
}

/// The YAML documents of a rule file.
pub fn yaml_documents(source: &str, text: &str) -> Result<Vec<Yaml>, RuleError> {
    YamlLoader::load_from_str(text).map_err(|e| RuleError {
        file: source.to_string(),
        line: e.marker().line(),
        message: format!("not valid YAML: {}", e.info()),
    })
}

/// An error in `source`, at the line of the first `needle` in `text`.
pub fn error_at(source: &str, text: &str, needle: &str, message: String) -> RuleError {
    RuleError {
        file: source.to_string(),
        line: line_of(text, needle),
        message,
    }
}

/// 1-based line of the first occurrence of `needle` (1 when not found or empty).
fn line_of(text: &str, needle: &str) -> usize {
    if needle.is_empty() {
        return 1;
    }
    text.find(needle)
        .map_or(1, |at| text[..at].matches('\n').count() + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(detection: &str) -> Result<Rule, RuleError> {
        let text = format!("title: t\nid: x\nlogsource:\n  category: webserver\ndetection:\n{detection}\nlevel: high\n");
        Rule::parse("test.yml", &text, &Placeholders::default())
    }

    fn record(stem: &'static [u8], query: &'static [u8]) -> Record<'static> {
        let mut r = Record::new(b"GET /scripts/root.exe /c+dir 404", LogFormat::IisW3c);
        r.set(Field::UriStem, stem);
        r.set(Field::UriQuery, query);
        r.set(Field::Status, b"404");
        r
    }

    #[test]
    fn maps_lists_and_conditions() {
        let r = rule("  sel:\n    cs-uri-stem|endswith:\n      - '/root.exe'\n      - '/cmd.exe'\n    sc-status: 404\n  filter:\n    cs-uri-query: null\n  condition: sel and not filter").unwrap();
        assert!(r.matches(&record(b"/scripts/root.exe", b"/c+dir")));
        assert!(!r.matches(&record(b"/scripts/root.exe", b"-")));
        assert!(!r.matches(&record(b"/index.html", b"/c+dir")));
    }

    #[test]
    fn all_and_keywords_and_list_of_maps() {
        let r =
            rule("  sel:\n    cs-uri-query|contains|all: ['/c', 'dir']\n  condition: sel").unwrap();
        assert!(r.matches(&record(b"/x", b"/c+dir")));
        assert!(!r.matches(&record(b"/x", b"/c+copy")));
        let r = rule("  keywords:\n    - 'ROOT.EXE'\n  condition: keywords").unwrap();
        assert!(r.matches(&record(b"/x", b"y")));
        let r =
            rule("  keywords:\n    '|all': ['root.exe', 'c+dir']\n  condition: keywords").unwrap();
        assert!(
            r.matches(&record(b"/x", b"y")),
            "modified keywords are found anywhere"
        );
        let r =
            rule("  keywords:\n    '|all': ['root.exe', 'nope']\n  condition: keywords").unwrap();
        assert!(!r.matches(&record(b"/x", b"y")));
        let r = rule("  sel:\n    - cs-uri-stem: '/nope'\n    - sc-status: 404\n  condition: sel")
            .unwrap();
        assert!(r.matches(&record(b"/x", b"y")));
    }

    #[test]
    fn unsupported_constructs_name_file_and_line() {
        let err = rule("  sel:\n    cs-uri-stem|base65: x\n  condition: sel").unwrap_err();
        assert_eq!(err.file, "test.yml");
        assert_eq!(err.line, 7);
        assert!(err.message.contains("base65"), "{err}");
        let err = rule("  sel:\n    cs-uri-stem: x\n  condition: sel | count() > 5").unwrap_err();
        assert!(err.message.contains("aggregation"));
        let err =
            rule("  sel:\n    cs-uri-stem: x\n  timeframe: 5m\n  condition: sel").unwrap_err();
        assert!(err.message.contains("timeframe"));
        let err = Rule::parse("p.yml", "title: t\nlogsource:\n  category: process_creation\ndetection:\n  s: x\n  condition: s\n", &Placeholders::default()).unwrap_err();
        assert!(err.message.contains("process_creation"));
        assert_eq!(err.line, 2);
    }

    #[test]
    fn regex_flags_and_unknown_fields() {
        let r = rule("  sel:\n    cs-uri-stem|re|i: '^/SCRIPTS/.*\\.EXE$'\n    cs-content-type: x\n  condition: sel").unwrap();
        assert_eq!(r.unknown_fields, vec!["cs-content-type".to_string()]);
        assert!(!r.matches(&record(b"/scripts/root.exe", b"")));
        let r =
            rule("  sel:\n    cs-uri-stem|re|i: '^/SCRIPTS/.*\\.EXE$'\n  condition: sel").unwrap();
        assert!(r.matches(&record(b"/scripts/root.exe", b"")));
        let r = rule("  sel:\n    cs-uri-stem|re: '^/SCRIPTS/'\n  condition: sel").unwrap();
        assert!(!r.matches(&record(b"/scripts/root.exe", b"")));
    }

    #[test]
    fn regexes_that_name_high_bytes_match_raw_bytes() {
        assert!(names_high_bytes(r"\.\.\xc1\x1c\.\."));
        assert!(
            !names_high_bytes(r"\\xc1"),
            "an escaped backslash, then xc1"
        );
        assert!(!names_high_bytes(r"\x41\x7f"));
        let r = rule(
            "  sel:\n    cs-uri-stem|re|i: '^/SCRIPTS/\\.\\.\\xc1\\x1c\\.\\./'\n  condition: sel",
        )
        .unwrap();
        assert!(r.matches(&record(b"/scripts/..\xc1\x1c../winnt", b"")));
        assert!(!r.matches(&record("/scripts/..\u{c1}\x1c../".as_bytes(), b"")));
        assert!(!r.matches(&record(br"/scripts/..\xc1\x1c../", b"")));
    }

    #[test]
    fn logsource_products_and_services() {
        let mut ls = LogSource {
            category: Some("webserver".into()),
            product: Some("iis".into()),
            service: None,
            any_text: false,
        };
        assert!(ls.covers(LogFormat::IisW3c));
        assert!(!ls.covers(LogFormat::NcsaCombined));
        assert!(!ls.covers(LogFormat::Text), "text only for any-text rules");
        assert!(
            ls.covers(LogFormat::RequestLines),
            "a request may go to any server"
        );
        ls.any_text = true;
        assert!(ls.covers(LogFormat::Text));
        let ls = LogSource {
            category: Some("webserver".into()),
            product: None,
            service: Some("error".into()),
            any_text: false,
        };
        assert!(ls.covers(LogFormat::ApacheError));
        assert!(!ls.covers(LogFormat::IisW3c));
        assert!(
            !ls.covers(LogFormat::RequestLines),
            "captures hold requests"
        );
        let ls = LogSource {
            category: Some("webserver".into()),
            product: None,
            service: None,
            any_text: false,
        };
        assert!(ls.covers(LogFormat::RequestLines));
        assert!(ls.covers(LogFormat::ApacheError));
        assert!(!ls.covers(LogFormat::Text));
        let ls = LogSource {
            category: Some("webserver".into()),
            product: None,
            service: Some("nginx".into()),
            any_text: false,
        };
        assert!(ls.covers(LogFormat::NcsaCommon));
        assert!(!ls.covers(LogFormat::IisNative));
    }
}
