//! Event time, typed: a moment with the UTC offset its evidence gave. It serialises as
//! RFC 3339 (`Z` for UTC), and text outputs show every time in one zone of the user's choice.

use std::fmt;

use chrono::{DateTime, FixedOffset, NaiveDate, SecondsFormat, TimeZone};
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

/// Times with every fractional digit, for partial results (`scan --partial`): the outputs
/// write whole seconds, but windows and orders compare the exact moment.
pub mod exact {
    use super::Timestamp;
    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes an optional time with its fraction.
    pub fn serialize<S: Serializer>(time: &Option<Timestamp>, s: S) -> Result<S::Ok, S::Error> {
        match time {
            Some(t) => super::exact_one::serialize(t, s),
            None => s.serialize_none(),
        }
    }

    /// Reads an optional RFC 3339 time.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Timestamp>, D::Error> {
        Option::<Timestamp>::deserialize(d)
    }
}

/// [`exact`] for a time that is always there.
pub mod exact_one {
    use super::Timestamp;
    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes a time with its fraction.
    pub fn serialize<S: Serializer>(time: &Timestamp, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&time.0.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
    }

    /// Reads an RFC 3339 time.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Timestamp, D::Error> {
        Timestamp::deserialize(d)
    }
}

impl From<DateTime<FixedOffset>> for Timestamp {
    fn from(t: DateTime<FixedOffset>) -> Self {
        Timestamp(t)
    }
}

/// `--since` / `--until`: the moments a scan keeps. A bound given as a date covers that
/// whole day (UTC): `--since 2001-08-04` starts at its midnight, `--until 2001-08-04` ends
/// before the next one.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TimeWindow {
    /// Earliest moment kept.
    pub since: Option<Timestamp>,
    /// Moments kept are before this one (exclusive).
    pub before: Option<Timestamp>,
}

/// Where a line's time falls against a [`TimeWindow`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum WindowCheck {
    /// Inside the window, or no window was asked for.
    #[default]
    Inside,
    /// Outside: the line is not checked.
    Outside,
    /// A window was asked for and the line has no time: it is checked, and counted.
    Untimed,
}

impl TimeWindow {
    /// Whether a window was asked for.
    pub fn is_set(&self) -> bool {
        self.since.is_some() || self.before.is_some()
    }

    /// Where `time` falls.
    pub fn check(&self, time: Option<Timestamp>) -> WindowCheck {
        if !self.is_set() {
            return WindowCheck::Inside;
        }
        let Some(time) = time else {
            return WindowCheck::Untimed;
        };
        let after_start = self.since.is_none_or(|s| time >= s);
        let before_end = self.before.is_none_or(|b| time < b);
        if after_start && before_end {
            WindowCheck::Inside
        } else {
            WindowCheck::Outside
        }
    }

    /// Reads a `--since` bound: RFC 3339, or a date (its first moment, UTC).
    pub fn parse_since(text: &str) -> Result<Timestamp, String> {
        parse_bound(text, 0)
    }

    /// Reads an `--until` bound as the exclusive end: a date ends before the next day; an
    /// RFC 3339 time is kept itself (its end is one nanosecond later).
    pub fn parse_until(text: &str) -> Result<Timestamp, String> {
        match Timestamp::parse(text.trim()) {
            Some(t) => Ok(Timestamp(t.0 + chrono::Duration::nanoseconds(1))),
            None => parse_bound(text, 1),
        }
    }
}

fn parse_bound(text: &str, days_later: u64) -> Result<Timestamp, String> {
    let text = text.trim();
    if let Some(t) = Timestamp::parse(text) {
        return Ok(t);
    }
    let date = NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| {
        format!("'{text}' is neither an RFC 3339 time (2001-08-04T10:00:00+09:00) nor a date (2001-08-04)")
    })?;
    let day = date
        .checked_add_days(chrono::Days::new(days_later))
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .ok_or_else(|| format!("'{text}' is out of range"))?;
    let utc = FixedOffset::east_opt(0).expect("zero offset");
    let moment = utc
        .from_local_datetime(&day)
        .single()
        .ok_or_else(|| format!("'{text}' is out of range"))?;
    Ok(Timestamp(moment))
}

#[cfg(test)]
mod window_tests {
    use super::*;

    fn at(text: &str) -> Option<Timestamp> {
        Timestamp::parse(text)
    }

    #[test]
    fn dates_cover_whole_days_and_times_are_inclusive() {
        let window = TimeWindow {
            since: Some(TimeWindow::parse_since("2001-08-04").unwrap()),
            before: Some(TimeWindow::parse_until("2001-08-04").unwrap()),
        };
        assert_eq!(
            window.check(at("2001-08-04T00:00:00Z")),
            WindowCheck::Inside
        );
        assert_eq!(
            window.check(at("2001-08-04T23:59:59Z")),
            WindowCheck::Inside
        );
        assert_eq!(
            window.check(at("2001-08-05T00:00:00Z")),
            WindowCheck::Outside
        );
        assert_eq!(
            window.check(at("2001-08-03T23:59:59Z")),
            WindowCheck::Outside
        );
        // Offsets are compared as moments: 08:59 in Tokyo is 23:59 the day before in UTC.
        assert_eq!(
            window.check(at("2001-08-04T08:59:59+09:00")),
            WindowCheck::Outside
        );
        assert_eq!(window.check(None), WindowCheck::Untimed);
        let exact = TimeWindow {
            since: Some(TimeWindow::parse_since("2001-08-04T10:00:00+09:00").unwrap()),
            before: Some(TimeWindow::parse_until("2001-08-04T10:00:05+09:00").unwrap()),
        };
        assert_eq!(exact.check(at("2001-08-04T01:00:00Z")), WindowCheck::Inside);
        assert_eq!(exact.check(at("2001-08-04T01:00:05Z")), WindowCheck::Inside);
        assert_eq!(
            exact.check(at("2001-08-04T01:00:06Z")),
            WindowCheck::Outside
        );
        assert_eq!(
            exact.check(at("2001-08-04T00:59:59Z")),
            WindowCheck::Outside
        );
        assert_eq!(TimeWindow::default().check(None), WindowCheck::Inside);
        assert!(TimeWindow::parse_since("04/Aug/2001").is_err());
        assert!(TimeWindow::parse_until("2001-02-30").is_err());
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
