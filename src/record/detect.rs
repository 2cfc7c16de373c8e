//! Which format a file holds, guessed from its first lines.

use super::LogFormat;

/// Outcome of looking at the start of an input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormatGuess {
    /// A text log of this format.
    Log(LogFormat),
    /// Not text: too many control bytes near the start.
    Binary,
}

const SAMPLE_LINES: usize = 50;

/// Vote slot of an Apache error message without its prefix (counted as an error-log line
/// only when such lines are the majority).
const FRAGMENT: usize = 5;

/// Vote slot of a bare HTTP request line (a request log only when most lines are).
const REQUEST: usize = 6;

/// The format each vote slot stands for (slot [`FRAGMENT`] counts for the error log).
const SLOT_FORMATS: [LogFormat; 12] = [
    LogFormat::NcsaCombined,
    LogFormat::NcsaCommon,
    LogFormat::IisNative,
    LogFormat::ApacheError,
    LogFormat::IisW3c,
    LogFormat::ApacheError,
    LogFormat::RequestLines,
    LogFormat::AwsAlb,
    LogFormat::AwsElb,
    LogFormat::HaProxy,
    LogFormat::CloudFront,
    LogFormat::Json,
];

/// NUL runs at least this long are what a crashed server leaves in a preallocated log file,
/// not data: format detection looks past them.
const NUL_RUN: usize = 16;

/// The bytes without runs of [`NUL_RUN`] or more NULs.
fn without_nul_runs(head: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    // Built once: a searcher per call was a visible share on folders of many small files.
    static NUL_RUN_FINDER: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
        std::sync::LazyLock::new(|| memchr::memmem::Finder::new(&[0u8; NUL_RUN]));
    if NUL_RUN_FINDER.find(head).is_none() {
        return std::borrow::Cow::Borrowed(head);
    }
    let mut out = Vec::with_capacity(head.len());
    for chunk in head.split_inclusive(|&b| b != 0) {
        // Each chunk is a run of NULs followed by one other byte (or only NULs at the end).
        let nuls = chunk.iter().take_while(|&&b| b == 0).count();
        if nuls < NUL_RUN {
            out.extend_from_slice(&chunk[..nuls]);
        }
        out.extend_from_slice(&chunk[nuls..]);
    }
    std::borrow::Cow::Owned(out)
}

/// Guesses the format from the first bytes of the decompressed input. Runs of NULs (a crash
/// left them) are looked past, so such a log is read, not skipped as binary. JSON lines
/// give [`LogFormat::Json`]; which JSON layout they are is for the mapping to say
/// ([`super::json::choose_layout`]).
pub fn detect_format(head: &[u8]) -> FormatGuess {
    let stripped = without_nul_runs(head);
    // Only NULs: nothing of a log is left to read.
    let only_nuls = !head.is_empty() && stripped.is_empty();
    let head = stripped.as_ref();
    if only_nuls || looks_binary(head) {
        return FormatGuess::Binary;
    }
    let mut votes = [0usize; SLOT_FORMATS.len()];
    let lines = lines_of(head)
        .map(<[u8]>::trim_ascii)
        .filter(|l| !l.is_empty())
        .take(SAMPLE_LINES);
    let mut sampled = 0;
    for line in lines {
        if starts_with_ci(line, b"#Fields:") {
            let cloudfront = memchr::memmem::find(line, b"x-edge-location").is_some();
            return FormatGuess::Log(if cloudfront {
                LogFormat::CloudFront
            } else {
                LogFormat::IisW3c
            });
        }
        if starts_with_ci(line, b"#Software: Microsoft") {
            return FormatGuess::Log(LogFormat::IisW3c);
        }
        sampled += 1;
        if let Some(slot) = classify(line) {
            votes[slot] += 1;
        }
    }
    // Bare error messages and bare request lines make a log only when they are most of the
    // lines: a note that quotes one among its prose stays text.
    if votes[FRAGMENT] * 2 > sampled {
        votes[3] += votes[FRAGMENT];
    }
    votes[FRAGMENT] = 0;
    if votes[REQUEST] * 2 <= sampled {
        votes[REQUEST] = 0;
    }
    let (best, count) = votes
        .iter()
        .enumerate()
        .max_by_key(|(i, c)| (**c, usize::MAX - i))
        .expect("a slot per format");
    if *count == 0 {
        return FormatGuess::Log(LogFormat::Text);
    }
    FormatGuess::Log(SLOT_FORMATS[best])
}

/// The lines of `text`, found with `memchr` (a byte-by-byte split cost more than the rest of
/// detection on folders of many small files).
fn lines_of(text: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = Some(text);
    std::iter::from_fn(move || {
        let current = rest?;
        match memchr::memchr(b'\n', current) {
            Some(end) => {
                rest = Some(&current[end + 1..]);
                Some(&current[..end])
            }
            None => {
                rest = None;
                Some(current)
            }
        }
    })
}

fn looks_binary(head: &[u8]) -> bool {
    let sample = &head[..head.len().min(4096)];
    if sample.is_empty() {
        return false;
    }
    // Counted in u8 lanes over chunks of 255 so the compiler can use vector instructions: on
    // folders of many small files a byte-at-a-time count was most of format detection.
    let control: usize = sample
        .chunks(255)
        .map(|chunk| {
            chunk
                .iter()
                .fold(0u8, |count, &b| count + u8::from(is_control(b))) as usize
        })
        .sum();
    control * 20 > sample.len()
}

/// Control characters that text logs do not hold (tab, line ends, form feed and escape are
/// allowed).
fn is_control(b: u8) -> bool {
    (b < 0x09) | ((b.wrapping_sub(0x0e) < 0x12) & (b != 0x1b))
}

fn classify(line: &[u8]) -> Option<usize> {
    if let Some(slot) = classify_modern(line) {
        return Some(slot);
    }
    if let Some(stamp) = memchr::memmem::find(line, b" [") {
        let after = &line[stamp + 2..];
        let is_ncsa_stamp = after.len() > 11
            && after[..2].iter().any(u8::is_ascii_digit)
            && memchr::memchr(b'/', &after[..6]).is_some();
        if is_ncsa_stamp && memchr::memmem::find(after, b"] \"").is_some() {
            let quotes = memchr::memchr_iter(b'"', after).count();
            return Some(if quotes >= 6 { 0 } else { 1 });
        }
    }
    if line.ends_with(b",") && memchr::memmem::find_iter(line, b", ").count() >= 13 {
        return Some(2);
    }
    if line.first() == Some(&b'[')
        && line
            .get(1..4)
            .is_some_and(|d| d.iter().all(u8::is_ascii_alphabetic))
    {
        return Some(3);
    }
    if is_apache_error_fragment(line) {
        return Some(FRAGMENT);
    }
    if super::text::starts_with_request(line) {
        return Some(REQUEST);
    }
    if line.first() != Some(&b'#') && looks_w3c_data(line) {
        return Some(4);
    }
    None
}

/// Load balancer, CDN, proxy and JSON lines.
fn classify_modern(line: &[u8]) -> Option<usize> {
    if line.first() == Some(&b'{') && line.last() == Some(&b'}') {
        return Some(11);
    }
    if line.len() > 20 && line[10] == b'\t' && is_shape_date(&line[..10]) {
        return Some(10);
    }
    let first_space = memchr::memchr(b' ', line)?;
    let (first, rest) = (&line[..first_space], &line[first_space + 1..]);
    const ALB_TYPES: [&[u8]; 6] = [b"http", b"https", b"h2", b"grpcs", b"ws", b"wss"];
    if ALB_TYPES.contains(&first) && is_iso_time(rest) {
        return Some(7);
    }
    if is_iso_time(line) && memchr::memchr(b'"', line).is_some() {
        return Some(8);
    }
    is_haproxy(line).then_some(9)
}

/// `2018-07-02T22:23:00` at the start.
fn is_iso_time(text: &[u8]) -> bool {
    text.len() > 19 && is_shape_date(&text[..10]) && text[10] == b'T' && text[13] == b':'
}

fn is_shape_date(text: &[u8]) -> bool {
    text.len() == 10
        && text[4] == b'-'
        && text[7] == b'-'
        && text
            .iter()
            .enumerate()
            .all(|(i, b)| i == 4 || i == 7 || b.is_ascii_digit())
}

/// `client:port [06/Feb/2009:12:14:14.655] ` somewhere (an accept date with milliseconds,
/// where NCSA has a zone).
fn is_haproxy(line: &[u8]) -> bool {
    memchr::memmem::find_iter(line, b" [").any(|at| {
        let date = &line[at + 2..];
        let close = memchr::memchr(b']', date);
        let before = line[..at].rsplit(|&b| b == b' ').next().unwrap_or_default();
        date.len() > 24
            && date[2] == b'/'
            && close == Some(24)
            && date[20] == b'.'
            && memchr::memchr(b':', before).is_some()
    })
}

/// Apache error messages quoted without their `[date] [level] [client]` prefix, as mailing
/// lists and forum posts show them.
fn is_apache_error_fragment(line: &[u8]) -> bool {
    const MESSAGES: [&[u8]; 3] = [
        b"File does not exist: ",
        b"Invalid URI in request ",
        b"script not found or unable to stat: ",
    ];
    let message = match line.get(..2) {
        Some(b"AH") => line
            .iter()
            .position(|&b| b == b' ')
            .map_or(line, |space| &line[space + 1..]),
        _ => line,
    };
    MESSAGES.iter().any(|m| message.starts_with(m))
}

/// A W3C data line starts with `yyyy-mm-dd hh:mm:ss` (or just the time) and has no quotes.
fn looks_w3c_data(line: &[u8]) -> bool {
    let is_date = line.len() > 19
        && line[4] == b'-'
        && line[7] == b'-'
        && line[10] == b' '
        && line[13] == b':';
    is_date && memchr::memchr(b'"', line).is_none()
}

fn starts_with_ci(line: &[u8], prefix: &[u8]) -> bool {
    line.len() >= prefix.len() && line[..prefix.len()].eq_ignore_ascii_case(prefix)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_format_is_recognised() {
        let cases: [(&[u8], LogFormat); 6] = [
            (b"#Software: Microsoft Internet Information Services 5.0\r\n#Version: 1.0\r\n", LogFormat::IisW3c),
            (b"\n\n#Fields: date time\n", LogFormat::IisW3c),
            (b"1.2.3.4 - - [04/Aug/2001:13:45:01 +0900] \"GET / HTTP/1.0\" 200 5 \"-\" \"x\"\n", LogFormat::NcsaCombined),
            (b"1.2.3.4 - - [04/Aug/2001:13:45:01 +0900] \"GET / HTTP/1.0\" 200 5\n", LogFormat::NcsaCommon),
            (b"1.2.3.4, -, 8/4/01, 13:45:01, W3SVC1, WEB1, 10.1.2.3, 10, 400, 200, 404, 2, GET, /default.ida, -,\n", LogFormat::IisNative),
            (b"[Wed Aug  1 05:13:17 2001] [error] [client 1.2.3.4] File does not exist: /x\n", LogFormat::ApacheError),
        ];
        for (head, want) in cases {
            assert_eq!(
                detect_format(head),
                FormatGuess::Log(want),
                "{}",
                String::from_utf8_lossy(head)
            );
        }
    }

    #[test]
    fn balancer_cdn_proxy_and_json_logs_are_recognised() {
        let cases: [(&[u8], LogFormat); 6] = [
            (br#"https 2018-07-02T22:23:00.186641Z app/my-lb/50dc6c495c0c9188 192.0.2.7:2817 10.0.0.1:80 0.086 0.048 0.037 200 200 0 57 "GET https://www.example.com:443/ HTTP/1.1" "curl/7.46.0" - -"#, LogFormat::AwsAlb),
            (br#"2015-05-13T23:39:43.945958Z my-loadbalancer 192.0.2.7:2817 10.0.0.1:80 0.000073 0.001048 0.000057 200 200 0 29 "GET http://www.example.com:80/ HTTP/1.1" "curl/7.38.0" - -"#, LogFormat::AwsElb),
            (b"#Version: 1.0\n#Fields: date time x-edge-location sc-bytes c-ip cs-method\n", LogFormat::CloudFront),
            (b"2019-12-04\t21:02:31\tLAX1\t392\t192.0.2.7\tGET\n", LogFormat::CloudFront),
            (br#"Feb  6 12:14:14 localhost haproxy[14389]: 10.0.1.2:33317 [06/Feb/2009:12:14:14.655] http-in static/srv1 10/0/30/69/109 200 2750 - - ---- 1/1/1/1/0 0/0 "GET / HTTP/1.1""#, LogFormat::HaProxy),
            (br#"{"remote_addr":"192.0.2.7","request":"GET / HTTP/1.1"}"#, LogFormat::Json),
        ];
        for (head, want) in cases {
            assert_eq!(
                detect_format(head),
                FormatGuess::Log(want),
                "{}",
                String::from_utf8_lossy(head)
            );
        }
    }

    #[test]
    fn bare_apache_error_messages_are_error_log_lines() {
        let quoted = b"File does not exist: /var/www/html/MSADC/root.exe\nFile does not exist: /var/www/html/c/winnt/system32/cmd.exe\n";
        assert_eq!(
            detect_format(quoted),
            FormatGuess::Log(LogFormat::ApacheError)
        );
        let ah = b"AH00126: Invalid URI in request GET /scripts/..%%35c../winnt/system32/cmd.exe?/c+dir HTTP/1.0\n";
        assert_eq!(detect_format(ah), FormatGuess::Log(LogFormat::ApacheError));
        let requests =
            b"GET /default.ida HTTP/1.0\nGET /scripts/root.exe?/c+dir HTTP/1.0\nHEAD / HTTP/1.0\n";
        assert_eq!(
            detect_format(requests),
            FormatGuess::Log(LogFormat::RequestLines)
        );
        let readme = b"Notes on our web server\n\nWe saw lines such as\n  File does not exist: /var/www/html/scripts/root.exe\nin the error log, which are worm probes.\nNothing else stood out.\n";
        assert_eq!(detect_format(readme), FormatGuess::Log(LogFormat::Text));
    }

    #[test]
    fn nul_runs_from_a_crash_do_not_make_a_log_binary() {
        let mut head = b"#Software: Microsoft Internet Information Services 5.0\n".to_vec();
        head.extend(std::iter::repeat_n(0u8, 8192));
        head.extend_from_slice(
            b"#Fields: date time c-ip cs-method cs-uri-stem\n2001-08-04 10:00:00 10.0.0.1 GET /\n",
        );
        assert_eq!(detect_format(&head), FormatGuess::Log(LogFormat::IisW3c));
        let mut ncsa = vec![0u8; 4096];
        ncsa.extend_from_slice(
            b"10.0.0.1 - - [04/Aug/2001:10:00:00 +0000] \"GET / HTTP/1.0\" 200 5\n",
        );
        assert_eq!(
            detect_format(&ncsa),
            FormatGuess::Log(LogFormat::NcsaCommon)
        );
        assert_eq!(
            detect_format(&[0u8; 4096]),
            FormatGuess::Binary,
            "only NULs"
        );
        assert_eq!(detect_format(b""), FormatGuess::Log(LogFormat::Text));
    }

    #[test]
    fn unknown_text_and_binary() {
        assert_eq!(
            detect_format(b"hello world\nfoo\n"),
            FormatGuess::Log(LogFormat::Text)
        );
        assert_eq!(detect_format(b""), FormatGuess::Log(LogFormat::Text));
        assert_eq!(
            detect_format(b"regf\x01\x00\x00\x00\x02\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"),
            FormatGuess::Binary
        );
    }
}
