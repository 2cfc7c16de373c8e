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
    let date = match fixed_date(date) {
        Some(d) => d,
        None => NaiveDate::parse_from_str(text(date)?, "%Y-%m-%d").ok()?,
    };
    let time = match fixed_time(time) {
        Some(t) => t,
        None => NaiveTime::parse_from_str(text(time)?, "%H:%M:%S").ok()?,
    };
    at(date.and_time(time), utc())
}

/// Digits at `bytes[range]` as a number (None if any is not a digit).
fn digits(bytes: &[u8], range: std::ops::Range<usize>) -> Option<u32> {
    bytes.get(range)?.iter().try_fold(0u32, |n, &b| {
        b.is_ascii_digit().then(|| n * 10 + u32::from(b - b'0'))
    })
}

/// `YYYY-MM-DD` exactly as written in nearly every log, without chrono's format parser
/// (which reads its format string anew on every call); anything else goes to chrono.
fn fixed_date(bytes: &[u8]) -> Option<NaiveDate> {
    if bytes.len() != 10 || bytes[4] != b'-' || bytes[7] != b'-' {
        return None;
    }
    let year = i32::try_from(digits(bytes, 0..4)?).ok()?;
    NaiveDate::from_ymd_opt(year, digits(bytes, 5..7)?, digits(bytes, 8..10)?)
}

/// `HH:MM:SS` exactly; anything else goes to chrono.
fn fixed_time(bytes: &[u8]) -> Option<NaiveTime> {
    if bytes.len() != 8 || bytes[2] != b':' || bytes[5] != b':' {
        return None;
    }
    NaiveTime::from_hms_opt(
        digits(bytes, 0..2)?,
        digits(bytes, 3..5)?,
        digits(bytes, 6..8)?,
    )
}

/// NCSA `%t` without brackets: `04/Aug/2001:13:45:01 +0900`.
pub fn ncsa(stamp: &[u8]) -> Option<DateTime<FixedOffset>> {
    match fixed_ncsa(stamp) {
        Some(t) => Some(t),
        None => DateTime::parse_from_str(text(stamp)?, "%d/%b/%Y:%H:%M:%S %z").ok(),
    }
}

const MONTHS: [&[u8; 3]; 12] = [
    b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
];

/// `DD/Mon/YYYY:HH:MM:SS +hhmm` exactly as Apache writes it; anything else goes to chrono.
fn fixed_ncsa(b: &[u8]) -> Option<DateTime<FixedOffset>> {
    let shape = b.len() == 26
        && b[2] == b'/'
        && b[6] == b'/'
        && b[11] == b':'
        && b[20] == b' '
        && matches!(b[21], b'+' | b'-');
    if !shape {
        return None;
    }
    let month = MONTHS.iter().position(|m| m[..] == b[3..6])? as u32 + 1;
    let date = NaiveDate::from_ymd_opt(
        i32::try_from(digits(b, 7..11)?).ok()?,
        month,
        digits(b, 0..2)?,
    )?;
    let time = fixed_time(&b[12..20])?;
    let (offset_hours, offset_minutes) = (digits(b, 22..24)?, digits(b, 24..26)?);
    if offset_minutes >= 60 {
        return None;
    }
    let minutes = i32::try_from(offset_hours * 60 + offset_minutes).ok()?;
    let sign = if b[21] == b'-' { -1 } else { 1 };
    let offset = FixedOffset::east_opt(sign * minutes * 60)?;
    at(date.and_time(time), offset)
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

/// A time as JSON logs and load balancers write it, whichever of these it is: RFC 3339 /
/// ISO 8601 with a zone (`2018-11-30T22:23:00.186641Z`), epoch seconds with or without a
/// fraction (Caddy's `ts`), epoch milliseconds, microseconds or nanoseconds (told apart by
/// size), an NCSA stamp (nginx's `$time_local`), or `YYYY-MM-DD HH:MM:SS` without a zone
/// (read at `offset`).
pub fn any(value: &[u8], offset: FixedOffset) -> Option<DateTime<FixedOffset>> {
    let text = text(value)?;
    let first = text.as_bytes().first()?;
    if first.is_ascii_digit() && text.len() >= 19 && text.as_bytes()[4] == b'-' {
        if let Ok(t) = DateTime::parse_from_rfc3339(text) {
            return Some(t);
        }
        let local = NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f")
            .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f"))
            .ok()?;
        return at(local, offset);
    }
    if text.len() > 20 && text.as_bytes()[2] == b'/' {
        return ncsa(value);
    }
    epoch(text)
}

/// Seconds, milliseconds, microseconds or nanoseconds since 1970, by magnitude.
fn epoch(text: &str) -> Option<DateTime<FixedOffset>> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let digits_only = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || !digits_only(whole) || !digits_only(fraction) || whole.len() > 19 {
        return None;
    }
    let number: u64 = whole.parse().ok()?;
    let (secs, nanos) = match whole.len() {
        0..=11 => {
            // ASCII digits only (checked above), so this cut is at a character boundary.
            let digits = &fraction[..fraction.len().min(9)];
            let scale = 10u32.pow(9 - digits.len() as u32);
            let nanos = if digits.is_empty() {
                0
            } else {
                digits.parse::<u32>().ok()? * scale
            };
            (number, nanos)
        }
        12..=14 => (number / 1_000, (number % 1_000) as u32 * 1_000_000),
        15..=17 => (number / 1_000_000, (number % 1_000_000) as u32 * 1_000),
        _ => (number / 1_000_000_000, (number % 1_000_000_000) as u32),
    };
    let utc = DateTime::from_timestamp(i64::try_from(secs).ok()?, nanos)?;
    Some(utc.fixed_offset())
}

/// HAProxy's accept date, `06/Feb/2009:12:14:14.655`, local time of the proxy.
pub fn haproxy(stamp: &[u8], offset: FixedOffset) -> Option<DateTime<FixedOffset>> {
    let text = text(stamp)?;
    let local = NaiveDateTime::parse_from_str(text, "%d/%b/%Y:%H:%M:%S%.f").ok()?;
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
    fn json_and_balancer_times_of_every_kind() {
        let cases: [(&[u8], &str); 9] = [
            (b"2018-11-30T22:23:00.186641Z", "2018-11-30T22:23:00Z"),
            (b"2020-08-20T21:57:47.1234567Z", "2020-08-20T21:57:47Z"),
            (b"2001-08-04T13:45:01+09:00", "2001-08-04T13:45:01+09:00"),
            (b"1646861401.5241024", "2022-03-09T21:30:01Z"),
            (b"1646861401", "2022-03-09T21:30:01Z"),
            (b"1646861401524", "2022-03-09T21:30:01Z"),
            (b"1646861401524102400", "2022-03-09T21:30:01Z"),
            (b"04/Aug/2001:13:45:01 +0900", "2001-08-04T13:45:01+09:00"),
            (b"2001-08-04 13:45:01", "2001-08-04T13:45:01+09:00"),
        ];
        for (value, want) in cases {
            assert_eq!(
                show(any(value, jst())).as_deref(),
                Some(want),
                "{}",
                String::from_utf8_lossy(value)
            );
        }
        assert_eq!(
            show(haproxy(b"06/Feb/2009:12:14:14.655", jst())).as_deref(),
            Some("2009-02-06T12:14:14+09:00")
        );
        for bad in [
            &b""[..],
            b"-",
            b"abc",
            b"12.5.3",
            b"99999999999999999999999",
        ] {
            assert_eq!(any(bad, jst()), None, "{}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn the_fixed_w3c_forms_read_as_chrono_reads_them() {
        let chrono_w3c = |d: &str, t: &str| {
            let date = NaiveDate::parse_from_str(d.trim(), "%Y-%m-%d").ok()?;
            let time = NaiveTime::parse_from_str(t.trim(), "%H:%M:%S").ok()?;
            at(date.and_time(time), utc())
        };
        let dates = [
            "2001-08-04",
            "2000-02-29",
            "2001-02-29",
            "2001-13-01",
            "2001-00-10",
            "0000-01-01",
            "9999-12-31",
            "2001-8-4",
            " 2001-08-04",
            "2001/08/04",
            "2001-08-4x",
        ];
        let times = [
            "13:45:01", "00:00:00", "23:59:59", "24:00:00", "23:60:00", "23:59:60", "1:02:03",
            "13:45:1x", "13-45-01",
        ];
        for d in dates {
            for t in times {
                assert_eq!(w3c(d.as_bytes(), t.as_bytes()), chrono_w3c(d, t), "{d} {t}");
            }
        }
    }

    #[test]
    fn the_fixed_ncsa_form_reads_as_chrono_reads_it() {
        let chrono_ncsa = |t: &str| DateTime::parse_from_str(t.trim(), "%d/%b/%Y:%H:%M:%S %z").ok();
        let stamps = [
            "04/Aug/2001:13:45:01 +0900",
            "29/Feb/2000:00:00:00 -0000",
            "29/Feb/2001:00:00:00 +0000",
            "31/Dec/9999:23:59:59 -2359",
            "01/Jan/2001:24:00:00 +0000",
            "01/Jan/2001:23:59:60 +0000",
            "01/aug/2001:13:45:01 +0900",
            "01/AUG/2001:13:45:01 +0900",
            "1/Aug/2001:13:45:01 +0900",
            "01/Aug/2001:13:45:01 +2400",
            "01/Aug/2001:13:45:01 +0960",
            "01/Xyz/2001:13:45:01 +0900",
            "01/Aug/2001 13:45:01 +0900",
            "01/Aug/2001:13:45:01 0900",
            "00/Aug/2001:13:45:01 +0900",
            " 04/Aug/2001:13:45:01 +0900",
        ];
        for t in stamps {
            assert_eq!(ncsa(t.as_bytes()), chrono_ncsa(t), "{t}");
        }
    }

    #[test]
    fn garbage_gives_none() {
        assert_eq!(w3c(b"2001-13-04", b"13:45:01"), None);
        assert_eq!(ncsa(b"\xff\xfe"), None);
        assert_eq!(apache_error(b"", utc()), None);
    }
}
