//! Saved connection tables: `netstat -an` / `-ano` on Windows 2000 to 11 (English and
//! Japanese), `netstat -an` / `-tan` and `ss -tan` on Linux, `netstat -an` on macOS and the
//! BSDs (port after a dot). One parser reads them all: each row is recognised by its shape,
//! so a file that mixes dialects, or a console paste with prompts, still reads.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use crate::source::utf16le_text;
use crate::words;

/// The dialect a table was written in (from its header, else its rows).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// `netstat -an` / `-ano` on Windows 2000 to 11, English or Japanese.
    Windows,
    /// `netstat -an` / `-tan` on Linux.
    LinuxNetstat,
    /// `ss -tan` on Linux.
    Ss,
    /// `netstat -an` on macOS and the BSDs.
    Bsd,
}

impl Dialect {
    /// Name as written in outputs.
    pub fn name(self) -> &'static str {
        match self {
            Dialect::Windows => "netstat-windows",
            Dialect::LinuxNetstat => "netstat-linux",
            Dialect::Ss => "ss",
            Dialect::Bsd => "netstat-bsd",
        }
    }
}

/// One TCP row of a table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    /// None for a wildcard local address (`0.0.0.0`, `*`, `[::]`).
    pub local: Endpoint,
    pub remote: Endpoint,
    /// The row's state (None when the row has no state column).
    pub state: Option<TcpState>,
    /// Whether the socket listens (the `LISTEN` / `LISTENING` state).
    pub listening: bool,
    /// 1-based line in the decoded text.
    pub line: u64,
}

/// A TCP state, one value for each dialect's spellings (`LISTENING` and `LISTEN`,
/// `SYN_RECV`, `SYN_RCVD` and `SYN-RECV`, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TcpState {
    Closed,
    Listen,
    SynSent,
    SynReceived,
    Established,
    FinWait1,
    FinWait2,
    CloseWait,
    Closing,
    LastAck,
    TimeWait,
    /// Windows: a control block being deleted.
    DeleteTcb,
    /// Windows: bound, neither listening nor connected.
    Bound,
    /// `ss`: a socket that is not connected.
    Unconn,
    /// A word in the state column that is none of the above.
    Unknown,
}

impl TcpState {
    /// Name as written in outputs: upper case with `_`.
    pub fn name(self) -> &'static str {
        match self {
            TcpState::Closed => "CLOSED",
            TcpState::Listen => "LISTEN",
            TcpState::SynSent => "SYN_SENT",
            TcpState::SynReceived => "SYN_RECEIVED",
            TcpState::Established => "ESTABLISHED",
            TcpState::FinWait1 => "FIN_WAIT_1",
            TcpState::FinWait2 => "FIN_WAIT_2",
            TcpState::CloseWait => "CLOSE_WAIT",
            TcpState::Closing => "CLOSING",
            TcpState::LastAck => "LAST_ACK",
            TcpState::TimeWait => "TIME_WAIT",
            TcpState::DeleteTcb => "DELETE_TCB",
            TcpState::Bound => "BOUND",
            TcpState::Unconn => "UNCONN",
            TcpState::Unknown => "UNKNOWN",
        }
    }

    /// The state a netstat or `ss` column names, in any dialect's spelling and case.
    pub fn parse(word: &str) -> TcpState {
        let mut upper = [0u8; 16];
        let Some(buf) = upper.get_mut(..word.len()) else {
            return TcpState::Unknown;
        };
        for (u, b) in buf.iter_mut().zip(word.bytes()) {
            *u = if b == b'-' {
                b'_'
            } else {
                b.to_ascii_uppercase()
            };
        }
        match &*buf {
            b"CLOSED" | b"CLOSE" => TcpState::Closed,
            b"LISTEN" | b"LISTENING" => TcpState::Listen,
            b"SYN_SENT" => TcpState::SynSent,
            b"SYN_RECEIVED" | b"SYN_RECV" | b"SYN_RCVD" => TcpState::SynReceived,
            b"ESTABLISHED" | b"ESTAB" => TcpState::Established,
            b"FIN_WAIT_1" | b"FIN_WAIT1" => TcpState::FinWait1,
            b"FIN_WAIT_2" | b"FIN_WAIT2" => TcpState::FinWait2,
            b"CLOSE_WAIT" => TcpState::CloseWait,
            b"CLOSING" => TcpState::Closing,
            b"LAST_ACK" => TcpState::LastAck,
            b"TIME_WAIT" => TcpState::TimeWait,
            b"DELETE_TCB" => TcpState::DeleteTcb,
            b"BOUND" => TcpState::Bound,
            b"UNCONN" => TcpState::Unconn,
            _ => TcpState::Unknown,
        }
    }
}

/// An address and port as a table writes them; `*` parts are None.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Endpoint {
    pub ip: Option<IpAddr>,
    pub port: Option<u16>,
}

impl Endpoint {
    /// As a socket address, when both parts are known.
    pub fn socket(&self) -> Option<SocketAddr> {
        Some(SocketAddr::new(self.ip?, self.port?))
    }
}

/// A whole table.
#[derive(Debug, Clone, Default)]
pub struct Table {
    pub dialect: Option<Dialect>,
    pub connections: Vec<Connection>,
    /// TCP rows read.
    pub rows: u64,
    /// Other rows understood (UDP, UNIX sockets).
    pub other_rows: u64,
    /// Rows that look like connection rows but could not be read (host names, cut columns).
    pub unreadable_rows: u64,
}

/// Header phrases, lower case, that mark a saved connection table, with the dialect they
/// announce (None: the rows decide).
const HEADER_MARKS: [(&str, Option<Dialect>); 7] = [
    ("active connections", Some(Dialect::Windows)),
    ("アクティブな接続", Some(Dialect::Windows)),
    ("ローカル アドレス", Some(Dialect::Windows)),
    ("active internet connections", None),
    ("local address:port", Some(Dialect::Ss)),
    ("peer address:port", Some(Dialect::Ss)),
    ("foreign address", None),
];

/// [`decode`] taking the bytes: UTF-8 without a mark becomes the text without a copy (a
/// table can be 64 MB).
pub fn decode_owned(bytes: Vec<u8>) -> String {
    if bytes.starts_with(&[0xff, 0xfe]) || bytes.starts_with(b"\xef\xbb\xbf") {
        return decode(&bytes);
    }
    String::from_utf8(bytes).unwrap_or_else(|e| crate::finding::display_text(e.as_bytes()))
}

/// Decodes saved netstat output: UTF-16 (PowerShell redirection), UTF-8, or CP932
/// (a Japanese console).
pub fn decode(bytes: &[u8]) -> String {
    if bytes.starts_with(&[0xff, 0xfe]) {
        return utf16le_text(&bytes[2..]);
    }
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    crate::finding::display_text(bytes)
}

/// Bytes of an input's start looked at (UTF-16 doubles them).
const SNIFF_BYTES: usize = 8 * 1024;

/// Whether ASCII text holds a word every table has: its English header marks hold
/// `address` or `connection`, its rows `tcp` or `udp`. Every log passes here, so the
/// searchers are built once.
fn has_any_clue(lower: &[u8]) -> bool {
    static CLUES: std::sync::OnceLock<[memchr::memmem::Finder<'static>; 4]> =
        std::sync::OnceLock::new();
    let clues = CLUES
        .get_or_init(|| ["address", "connection", "tcp", "udp"].map(memchr::memmem::Finder::new));
    clues.iter().any(|f| f.find(lower).is_some())
}

/// Whether `head` is ASCII text (not UTF-16: no NUL) naming none of the clue words. Most logs
/// are, and this answer needs no decoded copy of them.
fn plain_ascii_without_clue(head: &[u8]) -> bool {
    if !head.is_ascii() || memchr::memchr(0, head).is_some() {
        return false;
    }
    let mut lower = [0u8; SNIFF_BYTES];
    let lower = &mut lower[..head.len()];
    lower.copy_from_slice(head);
    lower.make_ascii_lowercase();
    !has_any_clue(lower)
}

/// Whether the start of an input is a saved connection table.
pub fn looks_like_netstat(head: &[u8]) -> bool {
    // Headers and the first rows sit at the top; looking further only slows every log down.
    let head = &head[..head.len().min(SNIFF_BYTES)];
    if plain_ascii_without_clue(head) {
        return false;
    }
    let text = decode(head);
    // The marks are ASCII lower case or Japanese, which has no case.
    let lower = text.to_ascii_lowercase();
    if lower.is_ascii() && !has_any_clue(lower.as_bytes()) {
        return false;
    }
    let has = |mark: &str| memchr::memmem::find(lower.as_bytes(), mark.as_bytes()).is_some();
    if HEADER_MARKS.iter().any(|(mark, _)| has(mark)) {
        return true;
    }
    // Rows without a header still name their protocol: without `tcp` or `udp` there is no
    // row to look for (parsing a hundred lines of every log cost more than detecting its
    // format).
    if !has("tcp") && !has("udp") {
        return false;
    }
    let rows = text
        .lines()
        .take(100)
        .filter(|l| parse_row(l).is_some())
        .count();
    rows >= 3
        && rows * 2
            >= text
                .lines()
                .take(100)
                .filter(|l| !l.trim().is_empty())
                .count()
}

/// Parses a whole table, keeping every row (for small tables and tests; a scan uses
/// [`each_row`], which keeps none).
pub fn parse(text: &str) -> Table {
    let mut connections = Vec::new();
    let mut table = each_row(text, &mut |c, _, _| connections.push(c));
    table.connections = connections;
    table
}

/// Hands each TCP row of a table to `on_row` with its text and the table's dialect, in order;
/// the table returned has no rows, only its dialect and counts.
pub fn each_row(text: &str, on_row: &mut dyn FnMut(Connection, &str, Dialect)) -> Table {
    let lower_head: String = text.chars().take(4096).collect::<String>().to_lowercase();
    let mut table = Table {
        dialect: HEADER_MARKS
            .iter()
            .find(|(mark, _)| lower_head.contains(mark))
            .and_then(|(_, d)| *d),
        ..Table::default()
    };
    for (n, line) in lines(text).enumerate() {
        match parse_row(line) {
            Some(Row::Tcp(mut c, dialect)) => {
                c.line = n as u64 + 1;
                let dialect = *table.dialect.get_or_insert(dialect);
                table.rows += 1;
                on_row(c, line, dialect);
            }
            Some(Row::Other) => table.other_rows += 1,
            Some(Row::Unreadable) => table.unreadable_rows += 1,
            None => {}
        }
    }
    table
}

/// The lines of `text` as `str::lines` gives them, found with memchr: `lines` looks for
/// each line end a character at a time, a tenth of the instructions of reading a table.
fn lines(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = text;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let Some(end) = memchr::memchr(b'\n', rest.as_bytes()) else {
            return Some(std::mem::take(&mut rest));
        };
        let line = &rest[..end];
        rest = &rest[end + 1..];
        Some(line.strip_suffix('\r').unwrap_or(line))
    })
}

/// Hands each listening TCP row of a table to `on_row`. Only lines that spell `LISTEN` (in
/// upper or lower case) are parsed: a table's other rows are read once, by [`each_row`].
pub fn each_listening_row(text: &str, on_row: &mut dyn FnMut(Connection)) {
    for mark in ["ISTEN", "isten"] {
        let finder = memchr::memmem::Finder::new(mark);
        let mut from = 0;
        while let Some(at) = finder.find(&text.as_bytes()[from..]) {
            let at = from + at;
            let start = memchr::memrchr(b'\n', &text.as_bytes()[..at]).map_or(0, |n| n + 1);
            let end = memchr::memchr(b'\n', &text.as_bytes()[at..]).map_or(text.len(), |n| at + n);
            if let Some(Row::Tcp(c, _)) = parse_row(&text[start..end]) {
                if c.listening {
                    on_row(c);
                }
            }
            from = end;
        }
    }
}

enum Row {
    Tcp(Connection, Dialect),
    /// UDP, UNIX sockets and the like: a row, but nothing to count.
    Other,
    /// A TCP row whose addresses could not be read.
    Unreadable,
}

/// Words a row is read from: the longest dialect has six before its process column, after
/// up to two socket words (BSD).
const ROW_WORDS: usize = 10;

/// The first [`ROW_WORDS`] words of a line, without allocating (every line of a table is
/// split twice, and every log line once while inputs are sniffed).
struct Words<'l> {
    words: [&'l str; ROW_WORDS],
    len: usize,
}

impl<'l> Words<'l> {
    /// The first words of `line`, split at ASCII blanks as `split_ascii_whitespace` splits
    /// (the iterator's overhead was a fifth of reading a table; this passes over eight bytes
    /// at a time).
    fn of(line: &'l str) -> Words<'l> {
        let mut got = Words {
            words: [""; ROW_WORDS],
            len: 0,
        };
        let bytes = line.as_bytes();
        let mut at = 0;
        while got.len < ROW_WORDS {
            at = past_blanks(bytes, at);
            if at == bytes.len() {
                break;
            }
            let start = at;
            at = next_blank(bytes, at);
            // Blanks are ASCII, so both ends are character boundaries.
            got.words[got.len] = &line[start..at];
            got.len += 1;
        }
        got
    }

    fn all(&self) -> &[&'l str] {
        &self.words[..self.len]
    }
}

/// The first position from `at` that is not an ASCII blank (or the end).
fn past_blanks(bytes: &[u8], mut at: usize) -> usize {
    // Runs of spaces a word at a time: the first byte that is not a space ends them (a tab
    // or line end is then passed a byte at a time).
    while let Some(word) = words::word_at(bytes, at) {
        let other = words::differs_from(word, b' ');
        if other == 0 {
            at += 8;
            continue;
        }
        at = words::first_marked(at, other);
        if !bytes[at].is_ascii_whitespace() {
            return at;
        }
        at += 1;
    }
    while at < bytes.len() && bytes[at].is_ascii_whitespace() {
        at += 1;
    }
    at
}

/// The first ASCII blank from `at` (or the end).
fn next_blank(bytes: &[u8], mut at: usize) -> usize {
    // Blanks are all below 0x21: the first byte below it in a word is found exactly.
    while let Some(word) = words::word_at(bytes, at) {
        let low = words::below(word, 0x21);
        if low == 0 {
            at += 8;
            continue;
        }
        at = words::first_marked(at, low);
        if bytes[at].is_ascii_whitespace() {
            return at;
        }
        at += 1;
    }
    while at < bytes.len() && !bytes[at].is_ascii_whitespace() {
        at += 1;
    }
    at
}

fn parse_row(line: &str) -> Option<Row> {
    let words = Words::of(line);
    let mut tokens = words.all();
    // FreeBSD `netstat -A` puts the socket's address first, macOS `netstat -An` that and a
    // flow hash: hex words before the protocol.
    for _ in 0..2 {
        match tokens.split_first() {
            Some((first, rest)) if is_socket_word(first) => tokens = rest,
            _ => break,
        }
    }
    let first = *tokens.first()?;
    if !could_start_row(first) {
        return None;
    }
    match first {
        "TCP" => windows_row(tokens),
        "UDP" => Some(Row::Other),
        _ if is_unix_proto(first) => unix_row(tokens),
        _ if first.starts_with("udp") || first.starts_with("u_") || first == "unix" => {
            Some(Row::Other)
        }
        _ if ss_state(first).is_some() => ss_row(tokens),
        _ => None,
    }
}

/// A kernel address or flow hash as BSD tables print them (8 to 16 hex digits).
fn is_socket_word(word: &str) -> bool {
    (8..=16).contains(&word.len()) && word.bytes().all(|b| b.is_ascii_hexdigit())
}

fn could_start_row(first: &str) -> bool {
    matches!(
        first.as_bytes().first(),
        Some(b'T' | b'U' | b't' | b'u' | b'E' | b'S' | b'F' | b'C' | b'L')
    ) && first.len() <= 10
}

fn is_unix_proto(token: &str) -> bool {
    matches!(token, "tcp" | "tcp4" | "tcp6" | "tcp46")
}

/// `TCP  local  foreign  [state]  [pid]`.
fn windows_row(tokens: &[&str]) -> Option<Row> {
    if tokens.len() < 3 {
        return None;
    }
    let state = tokens.get(3).map(|s| TcpState::parse(s));
    Some(connection_row(
        tokens[1],
        tokens[2],
        state,
        Dialect::Windows,
    ))
}

/// `tcp  recv-q  send-q  local  foreign  state` (Linux and BSD netstat), or
/// `tcp  state  recv-q  send-q  local  peer` (ss with a Netid column).
fn unix_row(tokens: &[&str]) -> Option<Row> {
    if let Some(state) = tokens.get(1).and_then(|t| ss_state(t)) {
        return ss_fields(&tokens[1..])
            .map(|(l, r)| connection_row(l, r, Some(state), Dialect::Ss));
    }
    if tokens.len() < 5 {
        return None;
    }
    let state = tokens.get(5).map(|s| TcpState::parse(s));
    let dialect = if is_bsd_address(tokens[3]) {
        Dialect::Bsd
    } else {
        Dialect::LinuxNetstat
    };
    Some(connection_row(tokens[3], tokens[4], state, dialect))
}

/// `state  recv-q  send-q  local  peer  [process]` (ss without a Netid column).
fn ss_row(tokens: &[&str]) -> Option<Row> {
    let state = ss_state(tokens[0])?;
    let (local, remote) = ss_fields(tokens)?;
    Some(connection_row(local, remote, Some(state), Dialect::Ss))
}

fn ss_fields<'t>(tokens: &[&'t str]) -> Option<(&'t str, &'t str)> {
    let numeric = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
    if tokens.len() < 5 || !numeric(tokens[1]) || !numeric(tokens[2]) {
        return None;
    }
    Some((tokens[3], tokens[4]))
}

/// A state as `ss` spells it (which also tells an `ss` row from the others).
fn ss_state(token: &str) -> Option<TcpState> {
    match token {
        "ESTAB" | "SYN-SENT" | "SYN-RECV" | "FIN-WAIT-1" | "FIN-WAIT-2" | "TIME-WAIT"
        | "CLOSE-WAIT" | "LAST-ACK" | "LISTEN" | "CLOSING" | "UNCONN" => {
            Some(TcpState::parse(token))
        }
        _ => None,
    }
}

fn connection_row(local: &str, remote: &str, state: Option<TcpState>, dialect: Dialect) -> Row {
    match (parse_endpoint(local), parse_endpoint(remote)) {
        (Some(local), Some(remote)) => Row::Tcp(
            Connection {
                local,
                remote,
                listening: state == Some(TcpState::Listen),
                state,
                line: 0,
            },
            dialect,
        ),
        _ => Row::Unreadable,
    }
}

/// BSD writes `192.0.2.1.80` and `2001:db8::1.80`: the port follows the last dot, and the
/// part before it is an address or `*`.
fn is_bsd_address(token: &str) -> bool {
    !token.contains(':') && token.matches('.').count() == 4
        || token.rsplit_once('.').is_some_and(|(ip, port)| {
            ip.contains(':') && ip.parse::<IpAddr>().is_ok() && is_port(port)
        })
        || token.starts_with("*.")
}

fn is_port(text: &str) -> bool {
    text == "*" || text.parse::<u16>().is_ok()
}

/// Reads `[v6]:port`, `v4:port`, `v6:port` (Linux), `addr.port` (BSD), with `*` parts.
pub fn parse_endpoint(token: &str) -> Option<Endpoint> {
    ipv4_endpoint(token.as_bytes()).or_else(|| general_endpoint(token))
}

fn general_endpoint(token: &str) -> Option<Endpoint> {
    if let Some(rest) = token.strip_prefix('[') {
        let (ip, port) = rest.split_once("]:")?;
        let ip = ip.split('%').next()?;
        return endpoint(ip, port);
    }
    if let Some((ip, port)) = split_at_last(token, b':') {
        if let Some(e) = endpoint(ip, port) {
            return Some(e);
        }
    }
    let (ip, port) = split_at_last(token, b'.')?;
    endpoint(ip, port)
}

/// `text` around its last `byte` (ASCII). Tokens are a few bytes long: a plain loop costs
/// less than setting up a searcher, and this runs twice for every row of a table.
fn split_at_last(text: &str, byte: u8) -> Option<(&str, &str)> {
    let at = text.bytes().rposition(|b| b == byte)?;
    Some((&text[..at], &text[at + 1..]))
}

fn endpoint(ip: &str, port: &str) -> Option<Endpoint> {
    let port = match port {
        "*" => None,
        p => Some(p.parse::<u16>().ok()?),
    };
    let ip = match ip
        .bytes()
        .position(|b| b == b'%')
        .map_or(ip, |zone| &ip[..zone])
    {
        "*" | "" => None,
        text => {
            let ip = match dotted_quad(text.as_bytes()) {
                Some(v4) => IpAddr::V4(v4),
                None => text.parse().ok()?,
            };
            (!ip.is_unspecified()).then_some(canonical(ip))
        }
    };
    Some(Endpoint { ip, port })
}

/// `a.b.c.d:port` with a numeric port, the form of nearly every row of a Windows or Linux
/// table, read without the general path's splits and parsers; None for anything else (which
/// the general path reads as it always did: a property test holds the two equal).
fn ipv4_endpoint(token: &[u8]) -> Option<Endpoint> {
    let (ip, len) = dotted_quad_prefix(token)?;
    let digits = token.get(len..)?.strip_prefix(b":")?;
    if digits.is_empty() || digits.len() > 5 {
        return None;
    }
    let mut port = 0u32;
    for &b in digits {
        port = port * 10 + digit(b)?;
    }
    Some(Endpoint {
        ip: (!ip.is_unspecified()).then_some(IpAddr::V4(ip)),
        port: Some(u16::try_from(port).ok()?),
    })
}

/// An IPv4 address in the form the standard parser accepts (four decimal octets of one to
/// three digits, none above 255, no leading zero); None for anything else, which is left to
/// the standard parser. Two addresses a row, a million rows a table.
fn dotted_quad(text: &[u8]) -> Option<Ipv4Addr> {
    let (ip, len) = dotted_quad_prefix(text)?;
    (len == text.len()).then_some(ip)
}

/// A dotted quad at the start of `text` (see [`dotted_quad`]), and its length.
fn dotted_quad_prefix(text: &[u8]) -> Option<(Ipv4Addr, usize)> {
    let mut octets = [0u8; 4];
    let mut at = 0;
    for (k, octet) in octets.iter_mut().enumerate() {
        if k > 0 {
            if text.get(at) != Some(&b'.') {
                return None;
            }
            at += 1;
        }
        let first = digit(*text.get(at)?)?;
        let mut value = first;
        at += 1;
        // Up to two more digits, after a first one that is not zero; a fourth digit leaves
        // no dot (or end) where one must be.
        for _ in 0..2 {
            match text.get(at).and_then(|&b| digit(b)) {
                Some(d) if first != 0 => {
                    value = value * 10 + d;
                    at += 1;
                }
                Some(_) => return None,
                None => break,
            }
        }
        *octet = u8::try_from(value).ok()?;
    }
    match text.get(at) {
        Some(b'0'..=b'9') => None,
        _ => Some((Ipv4Addr::from(octets), at)),
    }
}

fn digit(b: u8) -> Option<u32> {
    let d = b.wrapping_sub(b'0');
    (d < 10).then_some(u32::from(d))
}

/// `::ffff:192.0.2.1` as the IPv4 address it carries.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4096))]

        #[test]
        fn dotted_quads_read_as_the_standard_parser_reads_them(
            text in "[0-9.]{0,17}|[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}|[0-9a-f:.x ]{0,8}"
        ) {
            let std_v4 = match text.parse::<IpAddr>() {
                Ok(IpAddr::V4(v4)) => Some(v4),
                _ => None,
            };
            prop_assert_eq!(dotted_quad(text.as_bytes()), std_v4);
        }

        #[test]
        fn the_ipv4_endpoint_path_reads_as_the_general_one(
            text in "[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}:[0-9]{0,6}|[0-9.:*%a]{0,22}"
        ) {
            if let Some(fast) = ipv4_endpoint(text.as_bytes()) {
                let general = general_endpoint(&text);
                prop_assert_eq!(Some((fast.ip, fast.port)), general.map(|e| (e.ip, e.port)));
            }
        }

        #[test]
        fn words_split_as_split_ascii_whitespace_does(
            text in "[a \\t\\r\\n\\x0b\\x0c\\x01!é]{0,40}"
        ) {
            let words = Words::of(&text);
            let expected: Vec<&str> = text.split_ascii_whitespace().take(ROW_WORDS).collect();
            prop_assert_eq!(words.all(), expected.as_slice());
        }

        #[test]
        fn lines_split_as_str_lines_does(text in "[a\\r\\n]{0,12}") {
            prop_assert_eq!(lines(&text).collect::<Vec<_>>(), text.lines().collect::<Vec<_>>());
        }
    }

    fn ep(text: &str) -> (Option<String>, Option<u16>) {
        let e = parse_endpoint(text).unwrap();
        (e.ip.map(|i| i.to_string()), e.port)
    }

    #[test]
    fn endpoints_of_every_dialect() {
        let some = |s: &str| Some(s.to_string());
        assert_eq!(ep("192.0.2.1:80"), (some("192.0.2.1"), Some(80)));
        assert_eq!(ep("[2001:db8::1]:1025"), (some("2001:db8::1"), Some(1025)));
        assert_eq!(ep("[fe80::1%4]:139"), (some("fe80::1"), Some(139)));
        assert_eq!(ep("2001:db8::1:80"), (some("2001:db8::1"), Some(80)));
        assert_eq!(ep(":::80"), (None, Some(80)));
        assert_eq!(ep("::ffff:192.0.2.7:80"), (some("192.0.2.7"), Some(80)));
        assert_eq!(ep("192.0.2.1.49152"), (some("192.0.2.1"), Some(49152)));
        assert_eq!(ep("2001:db8::5.80"), (some("2001:db8::5"), Some(80)));
        assert_eq!(ep("*.80"), (None, Some(80)));
        assert_eq!(ep("*:*"), (None, None));
        assert_eq!(ep("0.0.0.0:0"), (None, Some(0)));
        assert_eq!(ep("[::]:*"), (None, None));
        assert!(parse_endpoint("web01:http").is_none());
    }

    #[test]
    fn states_have_one_spelling() {
        for (word, state) in [
            ("LISTENING", TcpState::Listen),
            ("listen", TcpState::Listen),
            ("SYN_SENT", TcpState::SynSent),
            ("SYN_RCVD", TcpState::SynReceived),
            ("syn_recv", TcpState::SynReceived),
            ("FIN_WAIT1", TcpState::FinWait1),
            ("CLOSE", TcpState::Closed),
            ("DELETE_TCB", TcpState::DeleteTcb),
            ("1234", TcpState::Unknown),
            ("ESTABLISHED_AND_A_LONG_TAIL", TcpState::Unknown),
        ] {
            assert_eq!(TcpState::parse(word), state, "{word}");
        }
        assert_eq!(ss_state("SYN-SENT"), Some(TcpState::SynSent));
        assert_eq!(ss_state("ESTAB").map(TcpState::name), Some("ESTABLISHED"));
        assert_eq!(ss_state("SYN_SENT"), None);
    }

    #[test]
    fn bsd_and_macos_rows_with_socket_columns() {
        let freebsd = "Active Internet connections\n\
            Socket           Proto Recv-Q Send-Q Local Address          Foreign Address        (state)\n\
            fffff80012345678 tcp4       0      0 10.1.5.23.1025         10.1.9.7.80            SYN_SENT\n";
        let macos = "Active Internet connections (including servers)\n\
            Socket           Flowhash Proto Recv-Q Send-Q  Local Address          Foreign Address        (state)\n\
            3f2d6e7a8b9c0d1e 4c1a5b3d tcp4       0      0  10.1.5.23.1026         10.1.9.8.80            SYN_SENT\n\
            3f2d6e7a8b9c0d2f 4c1a5b3e tcp46      0      0  *.80                   *.*                    LISTEN\n";
        for (text, remote, rows) in [(freebsd, "10.1.9.7", 1), (macos, "10.1.9.8", 2)] {
            let table = parse(text);
            assert_eq!(table.connections.len(), rows, "{text}");
            let c = &table.connections[0];
            assert_eq!(c.remote.ip, Some(remote.parse().unwrap()));
            assert_eq!(c.remote.port, Some(80));
            assert_eq!(c.state, Some(TcpState::SynSent));
            assert_eq!(table.dialect, Some(Dialect::Bsd));
        }
    }

    #[test]
    fn a_windows_row_with_pid() {
        let t = parse("  TCP    192.0.2.10:1031    198.51.100.7:80    SYN_SENT    1234\n");
        assert_eq!(t.dialect, Some(Dialect::Windows));
        let c = &t.connections[0];
        assert_eq!(c.state, Some(TcpState::SynSent));
        assert_eq!(c.remote.port, Some(80));
        assert_eq!(c.line, 1);
    }

    #[test]
    fn utf16_and_cp932_decode() {
        let text = "アクティブな接続\r\n";
        let utf16: Vec<u8> = [0xff, 0xfe]
            .into_iter()
            .chain(text.encode_utf16().flat_map(|u| u.to_le_bytes()))
            .collect();
        assert!(decode(&utf16).starts_with("アクティブな接続"));
        let (cp932, _, _) = encoding_rs::SHIFT_JIS.encode(text);
        assert!(looks_like_netstat(&cp932));
    }

    #[test]
    fn host_names_are_unreadable_rows_not_errors() {
        let t = parse("  TCP    web01:1031    remote-host:http    ESTABLISHED\n");
        assert_eq!(t.connections.len(), 0);
        assert_eq!(t.unreadable_rows, 1);
    }
}
