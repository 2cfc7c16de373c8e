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

/// Reads a `MetaBase.xml` document.
pub fn parse_metabase(text: &str) -> Result<MetabaseFacts, roxmltree::Error> {
    let doc = roxmltree::Document::parse(text)?;
    let mut facts = MetabaseFacts::default();
    for node in doc.descendants().filter(|n| n.is_element()) {
        let location = node.attribute("Location").unwrap_or("").trim();
        if is_drive_vdir(location) {
            facts.drive_vdirs.push(DriveVdir {
                location: location.to_string(),
                access_flags: node.attribute("AccessFlags").map(str::to_string),
                path: node.attribute("Path").map(str::to_string),
            });
        }
        if let Some(bindings) = node.attribute("ServerBindings") {
            facts.bindings.extend(binding_names(bindings));
        }
        if let Some(maps) = node.attribute("ScriptMaps") {
            facts.has_script_maps = true;
            if maps_ida(maps) {
                facts.ida_maps.push(location.to_string());
            }
        }
    }
    Ok(facts)
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
    let parts: Vec<&str> = location.trim_end_matches('/').split('/').collect();
    matches!(
        parts.as_slice(),
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
}
