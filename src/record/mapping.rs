//! The field mapping file (`mappings/fields.yml`): native log fields onto the Sigma taxonomy.

use std::collections::HashMap;

use yaml_rust2::{Yaml, YamlLoader};

use super::field::Field;
use super::json::JsonLayout;
use super::LogFormat;

const BUILTIN_MAPPING: &str = include_str!("../../mappings/fields.yml");

/// Number of positions in an IIS native log line.
pub const IIS_NATIVE_COLUMNS: usize = 15;

/// Where a native value goes: a taxonomy field, or a value the parser takes apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    /// A taxonomy field, as logged.
    Field(Field),
    /// A whole request line (`GET /x?y HTTP/1.1`): method, stem, query and version.
    RequestLine,
    /// A request target (`/x?y`): stem and query.
    RequestTarget,
    /// An absolute URL (`https://host:443/x?y`): host, stem and query.
    RequestUrl,
    /// The time of the request (RFC 3339, epoch seconds or milliseconds, NCSA stamp).
    Timestamp,
}

impl Slot {
    /// The slot a mapping file names: a taxonomy field, or `request-line`,
    /// `request-target`, `request-url`, `timestamp`.
    pub fn from_name(name: &str) -> Option<Slot> {
        match name {
            "request-line" => Some(Slot::RequestLine),
            "request-target" => Some(Slot::RequestTarget),
            "request-url" => Some(Slot::RequestUrl),
            "timestamp" => Some(Slot::Timestamp),
            _ => web_field(name).map(Slot::Field),
        }
    }
}

/// A web-server taxonomy field by name: logs are never mapped onto the `network_connection`
/// fields, which only connections fill (in lower case, as [`super::Record::get_lower`]
/// relies on).
fn web_field(name: &str) -> Option<Field> {
    Field::from_name(name).filter(|f| !f.is_network())
}

/// A part of an NCSA line, by its Apache `LogFormat` directive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NcsaPart {
    /// `%v`, the virtual host some configurations put first.
    VirtualHost,
    /// `%h`, the client.
    Client,
    /// `%u`, the authenticated user.
    User,
    /// `%t`, the bracketed time (its date and clock).
    Time,
    /// `%r`, the request line.
    Request,
    /// `%>s`, the final status.
    Status,
    /// `%b`, the bytes sent.
    Bytes,
    /// `%{Referer}i`.
    Referer,
    /// `%{User-agent}i`.
    UserAgent,
}

impl NcsaPart {
    const ALL: [NcsaPart; 9] = [
        NcsaPart::VirtualHost,
        NcsaPart::Client,
        NcsaPart::User,
        NcsaPart::Time,
        NcsaPart::Request,
        NcsaPart::Status,
        NcsaPart::Bytes,
        NcsaPart::Referer,
        NcsaPart::UserAgent,
    ];

    /// The directive the mapping file names it by.
    pub fn directive(self) -> &'static str {
        match self {
            NcsaPart::VirtualHost => "%v",
            NcsaPart::Client => "%h",
            NcsaPart::User => "%u",
            NcsaPart::Time => "%t",
            NcsaPart::Request => "%r",
            NcsaPart::Status => "%>s",
            NcsaPart::Bytes => "%b",
            NcsaPart::Referer => "%{Referer}i",
            NcsaPart::UserAgent => "%{User-agent}i",
        }
    }
}

/// Native field name to taxonomy field, for every format the record stage parses.
#[derive(Debug, Clone)]
pub struct FieldMap {
    w3c: HashMap<String, Field>,
    iis_native: [Option<Field>; IIS_NATIVE_COLUMNS],
    /// By [`NcsaPart`], looked up for every NCSA line (no string hashing there).
    ncsa: [Vec<Field>; NcsaPart::ALL.len()],
    apache_client: Option<Field>,
    aws_alb: Vec<Option<Slot>>,
    aws_elb: Vec<Option<Slot>>,
    json: Vec<JsonLayout>,
}

/// A mapping file that does not have the expected shape.
#[derive(Debug, thiserror::Error)]
#[error("field mapping: {0}")]
pub struct MappingError(pub(crate) String);

impl FieldMap {
    /// The mapping shipped inside the binary.
    pub fn builtin() -> &'static FieldMap {
        static MAP: std::sync::OnceLock<FieldMap> = std::sync::OnceLock::new();
        MAP.get_or_init(|| {
            FieldMap::parse(BUILTIN_MAPPING).expect("the embedded mapping file is valid")
        })
    }

    /// Parses a mapping document.
    pub fn parse(text: &str) -> Result<FieldMap, MappingError> {
        let docs = YamlLoader::load_from_str(text).map_err(|e| MappingError(e.to_string()))?;
        let doc = docs.first().ok_or_else(|| MappingError("empty".into()))?;
        Ok(FieldMap {
            w3c: named_fields(&doc["iis-w3c"])?
                .into_iter()
                .map(|(k, v)| Ok((k.to_ascii_lowercase(), single(&k, v)?)))
                .collect::<Result<_, _>>()?,
            iis_native: iis_native_columns(&doc["iis-native"])?,
            ncsa: ncsa_parts(&doc["ncsa"])?,
            apache_client: named_fields(&doc["apache-error"])?
                .into_iter()
                .find(|(k, _)| k == "[client]")
                .and_then(|(_, v)| v.first().copied()),
            aws_alb: positions(&doc["aws-alb"], "aws-alb")?,
            aws_elb: positions(&doc["aws-elb"], "aws-elb")?,
            json: json_layouts(&doc["json"])?,
        })
    }

    /// This map with a user's JSON layout (`--mapping FILE`), tried before the built-in
    /// layouts and read as the `json` format.
    pub fn with_user_json(&self, text: &str) -> Result<FieldMap, MappingError> {
        let docs = YamlLoader::load_from_str(text).map_err(|e| MappingError(e.to_string()))?;
        let doc = docs.first().ok_or_else(|| MappingError("empty".into()))?;
        let layout = JsonLayout::from_yaml(LogFormat::Json, doc)?;
        let mut map = self.clone();
        map.json.retain(|l| l.format != LogFormat::Json);
        map.json.insert(0, layout);
        Ok(map)
    }

    /// The slot of each position of an ALB (`aws-alb`) or Classic ELB (`aws-elb`) line.
    pub fn positions(&self, format: LogFormat) -> &[Option<Slot>] {
        match format {
            LogFormat::AwsAlb => &self.aws_alb,
            LogFormat::AwsElb => &self.aws_elb,
            _ => &[],
        }
    }

    /// The JSON layouts, the user's first.
    pub fn json_layouts(&self) -> &[JsonLayout] {
        &self.json
    }

    /// The JSON layout read as `format`.
    pub fn json_layout(&self, format: LogFormat) -> Option<&JsonLayout> {
        self.json.iter().find(|l| l.format == format)
    }

    /// The taxonomy field for a W3C `#Fields` name.
    pub fn w3c(&self, native: &str) -> Option<Field> {
        self.w3c.get(&native.to_ascii_lowercase()).copied()
    }

    /// The taxonomy field at a position of an IIS native line.
    pub fn iis_native(&self, position: usize) -> Option<Field> {
        self.iis_native.get(position).copied().flatten()
    }

    /// The taxonomy fields a part of an NCSA line fills, in order.
    pub fn ncsa(&self, part: NcsaPart) -> &[Field] {
        &self.ncsa[part as usize]
    }

    /// The taxonomy field of the `[client ...]` part of an Apache error line.
    pub fn apache_client(&self) -> Option<Field> {
        self.apache_client
    }
}

fn parse_fields(names: &str) -> Result<Vec<Field>, MappingError> {
    names
        .split_whitespace()
        .map(|n| web_field(n).ok_or_else(|| MappingError(format!("unknown field {n:?}"))))
        .collect()
}

fn ncsa_parts(node: &Yaml) -> Result<[Vec<Field>; NcsaPart::ALL.len()], MappingError> {
    let mut parts: [Vec<Field>; NcsaPart::ALL.len()] = Default::default();
    for (directive, fields) in named_fields(node)? {
        let part = NcsaPart::ALL
            .into_iter()
            .find(|p| p.directive() == directive)
            .ok_or_else(|| MappingError(format!("unknown NCSA directive {directive:?}")))?;
        parts[part as usize] = fields;
    }
    Ok(parts)
}

fn named_fields(node: &Yaml) -> Result<Vec<(String, Vec<Field>)>, MappingError> {
    let hash = node
        .as_hash()
        .ok_or_else(|| MappingError("expected a mapping".into()))?;
    hash.iter()
        .map(|(k, v)| {
            let key = k.as_str().unwrap_or_default().to_string();
            let names = v.as_str().unwrap_or_default();
            Ok((key, parse_fields(names)?))
        })
        .collect()
}

fn positions(node: &Yaml, name: &str) -> Result<Vec<Option<Slot>>, MappingError> {
    let list = node
        .as_vec()
        .ok_or_else(|| MappingError(format!("{name}: expected a list of positions")))?;
    list.iter()
        .map(|item| match item.as_str().unwrap_or_default() {
            "" => Ok(None),
            slot => Slot::from_name(slot)
                .map(Some)
                .ok_or_else(|| MappingError(format!("{name}: unknown field {slot:?}"))),
        })
        .collect()
}

fn json_layouts(node: &Yaml) -> Result<Vec<JsonLayout>, MappingError> {
    let Some(hash) = node.as_hash() else {
        return Ok(Vec::new());
    };
    hash.iter()
        .map(|(name, layout)| {
            let name = name.as_str().unwrap_or_default();
            let format = LogFormat::from_name(name)
                .filter(|f| f.is_json())
                .ok_or_else(|| MappingError(format!("json: no JSON format is named {name:?}")))?;
            JsonLayout::from_yaml(format, layout)
        })
        .collect()
}

fn single(key: &str, fields: Vec<Field>) -> Result<Field, MappingError> {
    match fields.as_slice() {
        [f] => Ok(*f),
        _ => Err(MappingError(format!("{key}: expected exactly one field"))),
    }
}

fn iis_native_columns(node: &Yaml) -> Result<[Option<Field>; IIS_NATIVE_COLUMNS], MappingError> {
    let list = node
        .as_vec()
        .filter(|l| l.len() == IIS_NATIVE_COLUMNS)
        .ok_or_else(|| MappingError("iis-native: expected 15 positions".into()))?;
    let mut out = [None; IIS_NATIVE_COLUMNS];
    for (slot, item) in out.iter_mut().zip(list) {
        let name = item.as_str().unwrap_or_default();
        *slot = parse_fields(name)?.first().copied();
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_mapping_covers_the_formats() {
        let map = FieldMap::builtin();
        assert_eq!(map.w3c("cs(User-Agent)"), Some(Field::UserAgent));
        assert_eq!(map.w3c("CS-URI-STEM"), Some(Field::UriStem));
        assert_eq!(map.w3c("x-custom"), None);
        assert_eq!(map.iis_native(0), Some(Field::ClientIp));
        assert_eq!(map.iis_native(11), None);
        assert_eq!(map.iis_native(14), Some(Field::UriQuery));
        assert_eq!(
            map.ncsa(NcsaPart::Request),
            &[
                Field::Method,
                Field::UriStem,
                Field::UriQuery,
                Field::Version
            ]
        );
        assert_eq!(map.apache_client(), Some(Field::ClientIp));
    }

    #[test]
    fn bad_mapping_is_an_error() {
        let err =
            FieldMap::parse("iis-w3c: {a: nosuch}\niis-native: []\nncsa: {}\napache-error: {}")
                .unwrap_err();
        assert!(err.to_string().contains("nosuch"));
        let unknown_directive = BUILTIN_MAPPING.replace("\"%v\":", "\"%Z\":");
        let err = FieldMap::parse(&unknown_directive).unwrap_err();
        assert!(err.to_string().contains("%Z"), "{err}");
    }
}
