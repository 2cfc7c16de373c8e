//! The optional host inventory (`--inventory FILE`): a CSV of `name,address[,role][,notes]`,
//! one row per address (a name may have several rows), with or without a header row.

use std::net::IpAddr;

/// One host of the inventory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InventoryEntry {
    pub name: String,
    pub addresses: Vec<IpAddr>,
    pub role: Option<String>,
    pub notes: Option<String>,
}

/// Why an inventory could not be read.
#[derive(Debug, thiserror::Error)]
pub enum InventoryError {
    #[error("line {line}: {message}")]
    Row { line: u64, message: String },
    #[error("{0}")]
    Csv(#[from] csv::Error),
}

/// Reads an inventory; rows of one name are merged in the order they come.
pub fn parse_inventory(text: &[u8]) -> Result<Vec<InventoryEntry>, InventoryError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .comment(Some(b'#'))
        .from_reader(text);
    let mut entries: Vec<InventoryEntry> = Vec::new();
    for (i, row) in reader.records().enumerate() {
        let row = row?;
        let line = row.position().map_or(i as u64 + 1, |p| p.line());
        let (name, address) = (row.get(0).unwrap_or(""), row.get(1).unwrap_or(""));
        if i == 0 && name.eq_ignore_ascii_case("name") && address.eq_ignore_ascii_case("address") {
            continue;
        }
        if name.is_empty() {
            return Err(InventoryError::Row {
                line,
                message: "no host name".into(),
            });
        }
        let address: IpAddr = address.parse().map_err(|_| InventoryError::Row {
            line,
            message: format!("'{address}' is not an IP address"),
        })?;
        let field = |n| {
            row.get(n)
                .filter(|v: &&str| !v.is_empty())
                .map(str::to_string)
        };
        match entries
            .iter_mut()
            .find(|e| e.name.eq_ignore_ascii_case(name))
        {
            Some(e) => {
                e.addresses.push(address);
                e.role = e.role.take().or_else(|| field(2));
                e.notes = e.notes.take().or_else(|| field(3));
            }
            None => entries.push(InventoryEntry {
                name: name.to_string(),
                addresses: vec![address],
                role: field(2),
                notes: field(3),
            }),
        }
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_of_one_name_merge_and_bad_rows_say_where() {
        let text = b"name,address,role,notes\nweb05,10.1.5.23,web,dmz\n# a comment\nWEB05,192.168.5.23\ndb1,10.2.0.9\n";
        let inv = parse_inventory(text).unwrap();
        assert_eq!(inv.len(), 2);
        assert_eq!(inv[0].addresses.len(), 2);
        assert_eq!(inv[0].role.as_deref(), Some("web"));
        assert_eq!(inv[1].role, None);
        let err = parse_inventory(b"web05,not-an-address\n").unwrap_err();
        assert!(err.to_string().starts_with("line 1:"), "{err}");
    }
}
