//! Event time, typed: a moment with the UTC offset its evidence gave. It serialises as
//! RFC 3339 (`Z` for UTC), and text outputs show every time in one zone of the user's choice.

use std::fmt;

use chrono::{DateTime, FixedOffset, SecondsFormat};
use serde::Serialize;

/// A moment, with the offset the evidence recorded it in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub DateTime<FixedOffset>);

impl Timestamp {
    /// RFC 3339 with whole seconds, `Z` for UTC: the form JSON and CSV carry.
    pub fn rfc3339(&self) -> String {
        self.0.to_rfc3339_opts(SecondsFormat::Secs, true)
    }

    /// The same moment shown in `zone` (RFC 3339).
    pub fn in_zone(&self, zone: FixedOffset) -> String {
        self.0
            .with_timezone(&zone)
            .to_rfc3339_opts(SecondsFormat::Secs, true)
    }

    /// Parses RFC 3339.
    pub fn parse(text: &str) -> Option<Timestamp> {
        DateTime::parse_from_rfc3339(text).ok().map(Timestamp)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.rfc3339())
    }
}

impl Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.rfc3339())
    }
}

impl<'de> serde::Deserialize<'de> for Timestamp {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Timestamp::parse(&text).ok_or_else(|| serde::de::Error::custom("not an RFC 3339 time"))
    }
}

impl From<DateTime<FixedOffset>> for Timestamp {
    fn from(t: DateTime<FixedOffset>) -> Self {
        Timestamp(t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_is_z_and_zones_convert() {
        let t = Timestamp::parse("2001-08-04T10:00:00+09:00").unwrap();
        assert_eq!(t.rfc3339(), "2001-08-04T10:00:00+09:00");
        let utc = FixedOffset::east_opt(0).unwrap();
        assert_eq!(t.in_zone(utc), "2001-08-04T01:00:00Z");
        assert_eq!(
            serde_json::to_string(&t).unwrap(),
            "\"2001-08-04T10:00:00+09:00\""
        );
    }
}
