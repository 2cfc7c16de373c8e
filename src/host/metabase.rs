//! The IIS 6 metabase (`MetaBase.xml`): virtual directories Code Red II adds (`c`, `d`) and
//! whether the `.ida` / `.idq` script maps that expose MS01-033 are present.

use serde::Serialize;

/// What a metabase says.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct MetabaseFacts {
    /// `c` and `d` virtual directories under a site root: (location, access flags, path).
    pub drive_vdirs: Vec<DriveVdir>,
    /// Locations whose `ScriptMaps` map `.ida` or `.idq`.
    pub ida_maps: Vec<String>,
    /// Whether any `ScriptMaps` property was seen at all.
    pub has_script_maps: bool,
    /// Addresses and host names the web sites are bound to (`ServerBindings`
    /// `ip:port:hostname`; an empty part means all).
    pub bindings: Vec<String>,
}

/// A `c` or `d` virtual directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DriveVdir {
    pub location: String,
    pub access_flags: Option<String>,
    pub path: Option<String>,
}

/// Entries of each list a metabase gives that are kept (a real one has a handful).
pub const MAX_ENTRIES: usize = 1_000;

/// Why a metabase could not be read.
#[derive(Debug, thiserror::Error)]
pub enum MetabaseError {
    #[error("{0}")]
    Xml(#[from] quick_xml::Error),
    #[error("{0}")]
    Attribute(#[from] quick_xml::events::attributes::AttrError),
    #[error("the document ends inside an element")]
    Unclosed,
}

/// Reads a `MetaBase.xml` document, one element at a time (no tree is built, so a large
/// file takes no more memory than a small one).
pub fn parse_metabase(text: &str) -> Result<MetabaseFacts, MetabaseError> {
    read_metabase(text.as_bytes())
}

/// [`parse_metabase`] from a stream of UTF-8 bytes.
pub fn read_metabase(source: impl std::io::BufRead) -> Result<MetabaseFacts, MetabaseError> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_reader(source);
    let mut facts = MetabaseFacts::default();
    let mut depth = 0usize;
    let mut buf = Vec::new();
    loop {
        buf.clear();
        match reader.read_event_into(&mut buf)? {
            Event::Start(element) => {
                depth += 1;
                facts.add_element(&element)?;
            }
            Event::Empty(element) => facts.add_element(&element)?,
            Event::End(_) => depth = depth.saturating_sub(1),
            Event::Eof if depth > 0 => return Err(MetabaseError::Unclosed),
            Event::Eof => return Ok(facts),
            _ => {}
        }
    }
}

/// The attributes of an element that the checks read, unescaped (borrowed where they hold no
/// escape).
#[derive(Default)]
struct Wanted<'e> {
    location: Option<std::borrow::Cow<'e, str>>,
    access_flags: Option<std::borrow::Cow<'e, str>>,
    path: Option<std::borrow::Cow<'e, str>>,
    server_bindings: Option<std::borrow::Cow<'e, str>>,
    script_maps: Option<std::borrow::Cow<'e, str>>,
}

impl<'e> Wanted<'e> {
    /// One pass over the attributes (each lookup by name walked them all again, and a
    /// metabase of many sites is nothing but attributes). The first of a name counts; an
    /// attribute that cannot be read is an error, as before.
    fn of(element: &'e quick_xml::events::BytesStart) -> Result<Self, MetabaseError> {
        let mut wanted = Wanted::default();
        for attribute in element.attributes() {
            let attribute = attribute?;
            let slot = match attribute.key.as_ref() {
                b"Location" => &mut wanted.location,
                b"AccessFlags" => &mut wanted.access_flags,
                b"Path" => &mut wanted.path,
                b"ServerBindings" => &mut wanted.server_bindings,
                b"ScriptMaps" => &mut wanted.script_maps,
                _ => continue,
            };
            if slot.is_none() {
                // Borrowed from the element unless the value held escapes.
                *slot = Some(attribute.unescape_value()?);
            }
        }
        Ok(wanted)
    }
}

impl MetabaseFacts {
    fn add_element(
        &mut self,
        element: &quick_xml::events::BytesStart,
    ) -> Result<(), MetabaseError> {
        let wanted = Wanted::of(element)?;
        let location = wanted.location.as_deref().unwrap_or_default().trim();
        if is_drive_vdir(location) && self.drive_vdirs.len() < MAX_ENTRIES {
            self.drive_vdirs.push(DriveVdir {
                location: location.to_string(),
                access_flags: wanted.access_flags.map(|a| a.into_owned()),
                path: wanted.path.map(|p| p.into_owned()),
            });
        }
        let room = MAX_ENTRIES.saturating_sub(self.bindings.len());
        if let Some(bindings) = wanted.server_bindings.as_deref().filter(|_| room > 0) {
            self.bindings
                .extend(binding_names(bindings).into_iter().take(room));
        }
        if let Some(maps) = &wanted.script_maps {
            self.has_script_maps = true;
            if maps_ida(maps) && self.ida_maps.len() < MAX_ENTRIES {
                self.ida_maps.push(location.to_string());
            }
        }
        Ok(())
    }
}

/// The address and host name parts of `ServerBindings` entries (`10.1.5.23:80:www.example`),
/// one entry per line or word.
fn binding_names(bindings: &str) -> Vec<String> {
    bindings
        .split_whitespace()
        .flat_map(|entry| {
            let mut parts = entry.splitn(3, ':');
            let address = parts.next().unwrap_or("");
            let _port = parts.next();
            let name = parts.next().unwrap_or("");
            [address, name]
        })
        .filter(|p| !p.is_empty())
        .map(str::to_string)
        .collect()
}

/// `/LM/W3SVC/<site>/ROOT/c` or `/d`, any case.
fn is_drive_vdir(location: &str) -> bool {
    // Nearly every location of a large metabase ends otherwise: it is not split.
    if !location
        .trim_end_matches('/')
        .ends_with(['c', 'd', 'C', 'D'])
    {
        return false;
    }
    // Six parts at most are needed; more means no match (no vector per element).
    let mut parts = [""; 7];
    let mut count = 0;
    for part in location.trim_end_matches('/').split('/') {
        if count == parts.len() {
            return false;
        }
        parts[count] = part;
        count += 1;
    }
    matches!(
        &parts[..count],
        ["", lm, w3svc, _site, root, drive]
            if lm.eq_ignore_ascii_case("LM")
                && w3svc.eq_ignore_ascii_case("W3SVC")
                && root.eq_ignore_ascii_case("ROOT")
                && (drive.eq_ignore_ascii_case("c") || drive.eq_ignore_ascii_case("d"))
    )
}

/// Script maps are `extension,executable,flags,verbs` entries, one per line in the file;
/// XML turns those line breaks into spaces, so an entry starts wherever a word starts
/// with the extension.
fn maps_ida(maps: &str) -> bool {
    maps.split_whitespace().any(|word| {
        let ext = word.split(',').next().unwrap_or("");
        word.contains(',') && (ext.eq_ignore_ascii_case(".ida") || ext.eq_ignore_ascii_case(".idq"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drive_vdirs_and_maps() {
        let xml = r#"<?xml version="1.0"?>
<configuration xmlns="urn:microsoft-catalog:XML_Metabase_V64_0"><MBProperty>
<IIsWebServer Location="/LM/W3SVC/1" ServerBindings="10.1.5.23:80:www.example.jp
	:80:"/>
<IIsWebService Location="/LM/W3SVC" ScriptMaps=".asp,C:\WINDOWS\system32\inetsrv\asp.dll,5,GET,HEAD,POST
	.IDA,C:\WINDOWS\system32\idq.dll,7,GET,HEAD,POST"/>
<IIsWebVirtualDir Location="/LM/W3SVC/1/ROOT/c" AccessFlags="AccessRead | AccessExecute" Path="c:\"/>
<IIsWebVirtualDir Location="/LM/W3SVC/1/ROOT/cd" Path="c:\x"/>
<IIsWebVirtualDir Location="/LM/W3SVC/2/Root/D/" Path="d:\"/>
</MBProperty></configuration>"#;
        let facts = parse_metabase(xml).unwrap();
        let locations: Vec<&str> = facts
            .drive_vdirs
            .iter()
            .map(|v| v.location.as_str())
            .collect();
        assert_eq!(locations, vec!["/LM/W3SVC/1/ROOT/c", "/LM/W3SVC/2/Root/D/"]);
        assert_eq!(facts.ida_maps, vec!["/LM/W3SVC"]);
        assert!(facts.has_script_maps);
        assert_eq!(facts.bindings, vec!["10.1.5.23", "www.example.jp"]);
        assert!(parse_metabase("<a>").is_err());
    }

    #[test]
    fn attributes_are_read_in_any_order_with_escapes_and_bad_ones_are_errors() {
        let xml = r#"<MBProperty><IIsWebVirtualDir Path="c:\&amp;x" Other="1" AccessFlags="AccessRead &amp; Script" Location=" /LM/W3SVC/9/ROOT/c/ "/></MBProperty>"#;
        let facts = parse_metabase(xml).unwrap();
        assert_eq!(
            facts.drive_vdirs,
            vec![DriveVdir {
                location: "/LM/W3SVC/9/ROOT/c/".into(),
                access_flags: Some("AccessRead & Script".into()),
                path: Some(r"c:\&x".into()),
            }]
        );
        for bad in [
            r#"<a Location="/LM/W3SVC/1/ROOT/c" Location="/x"/>"#,
            r#"<a Location="/LM/W3SVC/1/ROOT/c" Path="&bogus;"/>"#,
            r#"<a Location="/LM/W3SVC/1/ROOT/c" Path=c/>"#,
        ] {
            assert!(parse_metabase(bad).is_err(), "{bad}");
        }
        // Longer or shorter locations are no drive folders.
        assert!(!is_drive_vdir("/LM/W3SVC/1/ROOT/c/x"));
        assert!(!is_drive_vdir("/LM/W3SVC/1/ROOT"));
        assert!(!is_drive_vdir("/LM/W3SVC/1/ROOT/c/x/y/z/w"));
    }
}
