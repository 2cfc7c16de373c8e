//! JSON access logs, one object a line: a layout from the mapping file says which keys tell
//! the layout apart and where each taxonomy field sits (dotted paths into nested objects).

mod walk;

use std::borrow::Cow;

use yaml_rust2::Yaml;

pub use walk::{unescape, walk, Malformed, Scalar};

use super::mapping::{MappingError, Slot};
use super::{time, Field, LogFormat, ParseContext, Record};
use crate::model::Timestamp;

/// How many paths one slot may be looked for under (first listed wins).
const MAX_PATHS_PER_SLOT: usize = 8;

/// One JSON layout: paths to slots, and the paths whose presence identifies it.
#[derive(Debug, Clone)]
pub struct JsonLayout {
    /// The format lines of this layout are read as.
    pub format: LogFormat,
    /// Lower-case dotted paths that must all be present for a line to be of this layout
    /// (empty: any object).
    detect: Vec<Vec<u8>>,
    /// Lower-case dotted path, its slot and its rank among the slot's paths.
    paths: Vec<(Vec<u8>, Slot, u8)>,
}

impl JsonLayout {
    /// Reads a layout: `detect: [paths]`, `timestamp: path(s)`, `fields: {slot: path(s)}`.
    pub fn from_yaml(format: LogFormat, node: &Yaml) -> Result<JsonLayout, MappingError> {
        let name = format.name();
        let err = |what: String| MappingError(format!("{name}: {what}"));
        if node.as_hash().is_none() {
            return Err(err("expected a mapping with `fields`".into()));
        }
        let detect = strings(&node["detect"])
            .into_iter()
            .map(|p| p.to_ascii_lowercase().into_bytes())
            .collect();
        let mut paths = Vec::new();
        add_paths(&mut paths, Slot::Timestamp, &node["timestamp"]);
        let fields = node["fields"]
            .as_hash()
            .ok_or_else(|| err("expected `fields:` as a mapping".into()))?;
        for (slot_name, where_) in fields {
            let slot_name = slot_name.as_str().unwrap_or_default();
            let slot = Slot::from_name(slot_name)
                .ok_or_else(|| err(format!("unknown field {slot_name:?}")))?;
            if strings(where_).is_empty() {
                return Err(err(format!(
                    "{slot_name}: expected a path or a list of paths"
                )));
            }
            add_paths(&mut paths, slot, where_);
        }
        Ok(JsonLayout {
            format,
            detect,
            paths,
        })
    }

    /// How well a line's paths fit this layout: None when a detect path is missing, else
    /// the number of detect paths (more is more specific).
    pub fn fit(&self, present: &[Vec<u8>]) -> Option<usize> {
        self.detect
            .iter()
            .all(|d| present.contains(d))
            .then_some(self.detect.len())
    }

    fn slot_of(&self, path: &[u8]) -> Option<(Slot, u8)> {
        self.paths
            .iter()
            .find(|(p, _, _)| p == path)
            .map(|(_, slot, rank)| (*slot, *rank))
    }

    /// Parses one line of this layout (never fails: what cannot be read stays unset).
    pub fn parse<'a>(&self, line: &'a [u8], ctx: &ParseContext) -> Record<'a> {
        let mut record = Record::new(line, self.format);
        let mut found = Found::default();
        // A malformed line still gives the values read before the fault.
        let _ = walk(line, &mut |path, scalar| {
            if let Some((slot, rank)) = self.slot_of(path) {
                found.offer(slot, rank, scalar.value());
            }
        });
        found.apply(&mut record, ctx);
        if memchr::memchr(b'\\', line).is_some() {
            record.set_decoded_line(unescape(line));
        }
        record
    }
}

fn strings(node: &Yaml) -> Vec<String> {
    match node {
        Yaml::String(s) => vec![s.clone()],
        Yaml::Array(items) => items
            .iter()
            .filter_map(|i| i.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    }
}

fn add_paths(paths: &mut Vec<(Vec<u8>, Slot, u8)>, slot: Slot, node: &Yaml) {
    for (rank, path) in strings(node)
        .into_iter()
        .take(MAX_PATHS_PER_SLOT)
        .enumerate()
    {
        paths.push((path.to_ascii_lowercase().into_bytes(), slot, rank as u8));
    }
}

/// The values a line gave, the best-ranked per slot; array elements on one path are
/// joined with `, ` (a header logged as a list).
#[derive(Default)]
struct Found<'a> {
    values: Vec<(Slot, u8, Cow<'a, [u8]>)>,
}

impl<'a> Found<'a> {
    fn offer(&mut self, slot: Slot, rank: u8, value: Cow<'a, [u8]>) {
        match self.values.iter_mut().find(|(s, _, _)| *s == slot) {
            None => self.values.push((slot, rank, value)),
            Some(kept) if rank < kept.1 => *kept = (slot, rank, value),
            Some(kept) if rank == kept.1 => {
                // Appended in place: a line of many elements must not copy the value each time.
                let joined = kept.2.to_mut();
                joined.extend_from_slice(b", ");
                joined.extend_from_slice(&value);
            }
            Some(_) => {}
        }
    }

    /// Fields first, then the values taken apart, which stand over the fields they fill
    /// (a request target as received is better evidence than a rewritten path).
    fn apply(self, record: &mut Record<'a>, ctx: &ParseContext) {
        let mut later = Vec::new();
        for (slot, _, value) in self.values {
            match slot {
                Slot::Field(field) => record.set_cow(field, value),
                other => later.push((other, value)),
            }
        }
        for (slot, value) in later {
            match slot {
                Slot::RequestLine => record.set_request_line_cow(value),
                Slot::RequestTarget => record.set_uri_cow(value),
                Slot::RequestUrl => set_url(record, value),
                Slot::Timestamp => {
                    record.time = time::any(&value, ctx.local_offset).map(Timestamp);
                }
                Slot::Field(_) => {}
            }
        }
    }
}

/// `scheme://host[:port]/path?query`: the host (when the line named none) and the target.
/// A value without `://` is taken as a target.
pub fn set_url<'a>(record: &mut Record<'a>, value: Cow<'a, [u8]>) {
    let Some(scheme_end) = memchr::memmem::find(&value, b"://") else {
        return record.set_uri_cow(value);
    };
    let authority_start = scheme_end + 3;
    let path_start = value[authority_start..]
        .iter()
        .position(|&b| b == b'/' || b == b'?')
        .map_or(value.len(), |p| authority_start + p);
    let authority = &value[authority_start..path_start];
    let host = host_of(authority);
    if !host.is_empty() {
        record.set_if_unset(Field::Host, Cow::Owned(host.to_vec()));
    }
    match value {
        Cow::Borrowed(v) => record.set_uri(&v[path_start..]),
        Cow::Owned(v) => record.set_uri_cow(Cow::Owned(v[path_start..].to_vec())),
    }
}

/// The host of an authority, without user information or port.
fn host_of(authority: &[u8]) -> &[u8] {
    let after_user = memchr::memrchr(b'@', authority).map_or(authority, |at| &authority[at + 1..]);
    if after_user.first() == Some(&b'[') {
        return memchr::memchr(b']', after_user).map_or(after_user, |end| &after_user[1..end]);
    }
    memchr::memchr(b':', after_user).map_or(after_user, |colon| &after_user[..colon])
}

/// A user's layout (`--mapping`) wins over any built-in one that also fits.
fn specificity(layout: &JsonLayout, detect_paths: usize) -> usize {
    if layout.format == LogFormat::Json {
        usize::MAX
    } else {
        detect_paths
    }
}

/// The lower-case dotted paths of the scalars on a line (for choosing its layout).
pub fn paths_of(line: &[u8]) -> Option<Vec<Vec<u8>>> {
    let mut paths: std::collections::HashSet<Vec<u8>> = std::collections::HashSet::new();
    walk(line, &mut |path, _| {
        if !paths.contains(path) {
            paths.insert(path.to_vec());
        }
    })
    .ok()?;
    Some(paths.into_iter().collect())
}

/// The layout that best fits the first JSON lines of an input: the one whose detect paths
/// are all present in most of them, the more specific winning a tie. None when no layout
/// fits (a JSON log of unknown layout: `--mapping` gives one).
pub fn choose_layout(head: &[u8], layouts: &[JsonLayout]) -> Option<LogFormat> {
    let mut votes = vec![0usize; layouts.len()];
    for line in head
        .split(|&b| b == b'\n')
        .map(<[u8]>::trim_ascii)
        .filter(|l| l.first() == Some(&b'{'))
        .take(20)
    {
        let Some(present) = paths_of(line) else {
            continue;
        };
        let best = layouts
            .iter()
            .enumerate()
            .filter_map(|(i, l)| l.fit(&present).map(|n| (specificity(l, n), usize::MAX - i)))
            .max();
        if let Some((_, rev)) = best {
            votes[usize::MAX - rev] += 1;
        }
    }
    let (best, count) = votes
        .iter()
        .enumerate()
        .max_by_key(|(i, c)| (**c, usize::MAX - i))?;
    (*count > 0).then(|| layouts[best].format)
}

#[cfg(test)]
mod tests;
