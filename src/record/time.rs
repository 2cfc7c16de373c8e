//! Timestamps of each log format, as typed moments with the offset the log gives.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime};

fn text(bytes: &[u8]) -> Option<&str> {
    std::str::from_utf8(bytes).ok().map(str::trim)
}

fn at(local: NaiveDateTime, offset: FixedOffset) -> Option<DateTime<FixedOffset>> {
    local.and_local_timezone(offset).single()
}

fn utc() -> FixedOffset {
    FixedOffset::east_opt(0).expect("zero offset is valid")
}

/// W3C `date` (`2001-08-04`) and `time` (`13:45:01`), always UTC.
pub fn w3c(date: &[u8], time: &[u8]) -> Option<DateTime<FixedOffset>> {
    let date = NaiveDate::parse_from_str(text(date)?, "%Y-%m-%d").ok()?;
    let time = NaiveTime::parse_from_str(text(time)?, "%H:%M:%S").ok()?;
    at(date.and_time(time), utc())
}

/// NCSA `%t` without brackets: `04/Aug/2001:13:45:01 +0900`.
pub fn ncsa(stamp: &[u8]) -> Option<DateTime<FixedOffset>> {
    DateTime::parse_from_str(text(stamp)?, "%d/%b/%Y:%H:%M:%S %z").ok()
}

/// IIS native date (`8/4/01` or `08/04/2001`, month first) and time, local.
pub fn iis_native(date: &[u8], time: &[u8], offset: FixedOffset) -> Option<DateTime<FixedOffset>> {
    let mut parts = text(date)?.split('/');
    let month: u32 = parts.next()?.parse().ok()?;
    let day: u32 = parts.next()?.parse().ok()?;
    let year_text = parts.next()?;
    let mut year: i32 = year_text.parse().ok()?;
    if year_text.len() <= 2 {
        // IIS 4 wrote two-digit years; the logs this tool reads start in the late 1990s.
        year += if year < 70 { 2000 } else { 1900 };
    }
    let date = NaiveDate::from_ymd_opt(year, month, day)?;
    let time = NaiveTime::parse_from_str(text(time)?, "%H:%M:%S").ok()?;
    at(date.and_time(time), offset)
}

/// Apache error log stamp: `Wed Aug  1 05:13:17 2001` (2.4 adds fractions of a second), local.
pub fn apache_error(stamp: &[u8], offset: FixedOffset) -> Option<DateTime<FixedOffset>> {
    let words: Vec<&str> = text(stamp)?.split_whitespace().collect();
    let [_, month, day, clock, year] = words.as_slice() else {
        return None;
    };
    let clock = clock.split('.').next()?;
    let joined = format!("{day} {month} {year} {clock}");
    let local = NaiveDateTime::parse_from_str(&joined, "%d %b %Y %H:%M:%S").ok()?;
    at(local, offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn show(t: Option<DateTime<FixedOffset>>) -> Option<String> {
        t.map(|t| crate::model::Timestamp(t).rfc3339())
    }

    fn jst() -> FixedOffset {
        FixedOffset::east_opt(9 * 3600).unwrap()
    }

    #[test]
    fn each_format_gives_rfc3339() {
        assert_eq!(
            show(w3c(b"2001-08-04", b"13:45:01")).as_deref(),
            Some("2001-08-04T13:45:01Z")
        );
        assert_eq!(
            show(ncsa(b"04/Aug/2001:13:45:01 +0900")).as_deref(),
            Some("2001-08-04T13:45:01+09:00")
        );
        assert_eq!(
            show(iis_native(b"8/4/01", b"13:45:01", jst())).as_deref(),
            Some("2001-08-04T13:45:01+09:00")
        );
        assert_eq!(
            show(iis_native(b"08/04/2001", b"3:05:09", utc())).as_deref(),
            Some("2001-08-04T03:05:09Z")
        );
        assert_eq!(
            show(apache_error(b"Wed Aug  1 05:13:17 2001", utc())).as_deref(),
            Some("2001-08-01T05:13:17Z")
        );
        assert_eq!(
            show(apache_error(b"Wed Aug 01 05:13:17.123456 2001", jst())).as_deref(),
            Some("2001-08-01T05:13:17+09:00")
        );
    }

    #[test]
    fn garbage_gives_none() {
        assert_eq!(w3c(b"2001-13-04", b"13:45:01"), None);
        assert_eq!(ncsa(b"\xff\xfe"), None);
        assert_eq!(apache_error(b"", utc()), None);
    }
}
