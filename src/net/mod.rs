//! Network evidence: saved connection tables (`netstat`, `ss`) and packet captures (pcap,
//! pcapng). Captures give request findings like log lines; both give per-source outbound
//! port-80 tallies, which [`spread`] turns into `spreading` verdicts with a locality fit.

pub mod capture;
pub mod locality;
pub mod netstat;
pub mod spread;

use std::collections::BTreeSet;
use std::net::IpAddr;

use chrono::DateTime;

use crate::detect::spreading::Spreading;
use crate::record::NetworkConnection;
use netstat::Table;
use spread::{SpreadSource, Subject, Tally};

/// Unix seconds and nanoseconds as a moment in UTC.
pub fn timestamp_nanos(secs: i64, nanos: u32) -> Option<crate::model::Timestamp> {
    DateTime::from_timestamp(secs, nanos).map(|t| crate::model::Timestamp(t.fixed_offset()))
}

/// Unix seconds as a moment in UTC.
pub fn timestamp(secs: i64) -> Option<crate::model::Timestamp> {
    DateTime::from_timestamp(secs, 0).map(|t| crate::model::Timestamp(t.fixed_offset()))
}

/// Each octet's decimal digits (left-aligned) and how many there are.
const OCTETS: [([u8; 3], u8); 256] = {
    let mut table = [([0u8; 3], 0u8); 256];
    let mut n = 0;
    while n < 256 {
        let (h, t, u) = ((n / 100) as u8, (n / 10 % 10) as u8, (n % 10) as u8);
        table[n] = if n >= 100 {
            ([b'0' + h, b'0' + t, b'0' + u], 3)
        } else if n >= 10 {
            ([b'0' + t, b'0' + u, 0], 2)
        } else {
            ([b'0' + u, 0, 0], 1)
        };
        n += 1;
    }
    table
};

/// Text of an address or port, written into a buffer on the stack: formatting addresses
/// through `Display` was a seventh of the instructions of a capture full of requests.
pub struct AddressText {
    bytes: [u8; 48],
    len: usize,
}

impl AddressText {
    /// `ip` as text (dotted quad, or IPv6 as `Display` writes it).
    pub fn ip(ip: IpAddr) -> Self {
        let mut text = AddressText {
            bytes: [0; 48],
            len: 0,
        };
        match ip {
            IpAddr::V4(v4) => {
                for (i, octet) in v4.octets().into_iter().enumerate() {
                    if i > 0 {
                        text.push(b'.');
                    }
                    let (digits, len) = OCTETS[usize::from(octet)];
                    text.bytes[text.len..text.len + 3].copy_from_slice(&digits);
                    text.len += usize::from(len);
                }
            }
            IpAddr::V6(v6) => {
                use std::io::Write;
                let mut rest = &mut text.bytes[..];
                // 39 characters at most, so it always fits.
                let _ = write!(rest, "{v6}");
                let left = rest.len();
                text.len = text.bytes.len() - left;
            }
        }
        text
    }

    /// `port` in decimal.
    pub fn port(port: u16) -> Self {
        let mut text = AddressText {
            bytes: [0; 48],
            len: 0,
        };
        text.decimal(u32::from(port));
        text
    }

    /// The text's bytes (ASCII).
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(self.as_bytes()).unwrap_or_default()
    }

    fn push(&mut self, b: u8) {
        self.bytes[self.len] = b;
        self.len += 1;
    }

    fn decimal(&mut self, n: u32) {
        let mut digits = [0u8; 10];
        let mut at = digits.len();
        let mut n = n;
        loop {
            at -= 1;
            digits[at] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        for &d in &digits[at..] {
            self.push(d);
        }
    }
}

/// The web port: a table row whose local port it is belongs to the host's own web server.
pub const WEB_PORT: u16 = 80;

/// Distinct local addresses of one table tallied (a host has a handful; a table with more is
/// a router's, or made to exhaust memory). Rows of further addresses are counted, not kept.
pub const MAX_LOCAL_ADDRESSES: usize = 4_096;
/// Listening sockets remembered per table (to tell inbound connections from outbound).
const MAX_LISTENING: usize = 65_536;

/// What one connection table gave.
#[derive(Debug, Default)]
pub struct TableTallies {
    /// Dialect, TCP rows and unreadable rows.
    pub table: Table,
    /// Per local address, its outbound connections to port 80.
    pub tallies: Vec<(Subject, Tally)>,
    /// Rows whose local address was past [`MAX_LOCAL_ADDRESSES`].
    pub rows_past_limit: u64,
}

/// Per local address, the connections of one table that the spreading correlation counts,
/// read in two passes over its text (no row is kept). Every local address of the table gets
/// a tally, so a host with none still gets a `not-spreading` verdict; without a spreading
/// correlation no address does (the table is not judged). The first pass reads only the
/// rows that listen. A row counts as opened by the
/// host unless it listens on the row's local port or that port is the web port (its own
/// web server answering).
pub fn netstat_tallies(text: &str, host: &str, spreading: Option<&Spreading>) -> TableTallies {
    let Some(spreading) = spreading else {
        return TableTallies {
            table: netstat::each_row(text, &mut |_, _, _| {}),
            ..TableTallies::default()
        };
    };
    let mut listening: BTreeSet<(Option<IpAddr>, u16)> = BTreeSet::new();
    netstat::each_listening_row(text, &mut |c| {
        if let Some(port) = c.local.port {
            if listening.len() < MAX_LISTENING {
                listening.insert((c.local.ip, port));
            }
        }
    });
    let listens_on = |ip: IpAddr, port: u16| {
        port == WEB_PORT
            || listening.contains(&(Some(ip), port))
            || listening.contains(&(None, port))
    };
    // Looked up for every row (a million rows cost 300 instructions each in a BTreeMap);
    // sorted by address once at the end, as the output wants them.
    let mut tallies: foldhash::HashMap<IpAddr, Tally> = Default::default();
    let mut rows_past_limit = 0;
    let table = netstat::each_row(text, &mut |c, _, _| {
        let Some(local) = c.local.ip.filter(|ip| !ip.is_loopback()) else {
            return;
        };
        if tallies.len() >= MAX_LOCAL_ADDRESSES && !tallies.contains_key(&local) {
            rows_past_limit += 1;
            return;
        }
        let tally = tallies.entry(local).or_default();
        let (Some(remote), Some(port), Some(local_port)) =
            (c.remote.ip, c.remote.port, c.local.port)
        else {
            return;
        };
        let connection = NetworkConnection {
            source: local,
            destination: remote,
            port,
            initiated: !c.listening && !listens_on(local, local_port),
        };
        if remote != local && spreading.counts(&connection) {
            tally.add(local, remote, c.state.map(netstat::TcpState::name), None);
        }
    });
    let mut tallies: Vec<(IpAddr, Tally)> = tallies.into_iter().collect();
    tallies.sort_unstable_by_key(|&(address, _)| address);
    let tallies = tallies
        .into_iter()
        .map(|(address, tally)| {
            let subject = Subject {
                source: SpreadSource::Netstat,
                host: Some(host.to_string()),
                address,
            };
            (subject, tally)
        })
        .collect();
    TableTallies {
        table,
        tallies,
        rows_past_limit,
    }
}

/// Whether a file is network evidence (a capture or a connection table), judged by its
/// first bytes after decompression. Unreadable files are not.
pub fn is_network_file(path: &std::path::Path) -> bool {
    use std::io::Read;
    // Streams (pipes, FIFOs, devices) can be read once only; they are not looked at here.
    if !std::fs::metadata(path).is_ok_and(|m| m.is_file()) {
        return false;
    }
    let Ok(mut opened) = crate::source::open(&crate::source::Input::File(path.to_path_buf()))
    else {
        return false;
    };
    let mut head = Vec::new();
    if (&mut opened.reader)
        .take(64 * 1024)
        .read_to_end(&mut head)
        .is_err()
    {
        return false;
    }
    capture::CaptureKind::sniff(&head).is_some() || netstat::looks_like_netstat(&head)
}

/// The host a connection table came from when none was named: the file name without its
/// extension (`web01.netstat.txt` gives `web01`).
pub fn host_from_path(path: &str) -> String {
    let name = std::path::Path::new(path)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.to_string());
    match name.split_once('.') {
        Some((stem, _)) if !stem.is_empty() => stem.to_string(),
        _ => name,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_names_come_from_file_names() {
        assert_eq!(host_from_path("/case/web01.netstat.txt"), "web01");
        assert_eq!(host_from_path("-"), "-");
        assert_eq!(host_from_path(".hidden"), ".hidden");
    }

    const TABLE: &str = "  TCP    0.0.0.0:80        0.0.0.0:0          LISTENING\n\
             \x20 TCP    0.0.0.0:8080      0.0.0.0:0          LISTENING\n\
             \x20 TCP    10.1.1.5:80       10.1.9.9:80        ESTABLISHED\n\
             \x20 TCP    10.1.1.5:8080     10.1.9.8:80        ESTABLISHED\n\
             \x20 TCP    10.1.1.5:1030     10.1.9.7:80        SYN_SENT\n\
             \x20 TCP    127.0.0.1:1031    127.0.0.1:80       ESTABLISHED\n";

    #[test]
    fn inbound_web_connections_never_count() {
        let spreading = crate::detect::spreading::builtin();
        let got = netstat_tallies(TABLE, "web01", spreading.as_ref());
        assert_eq!((got.table.rows, got.rows_past_limit), (6, 0));
        assert_eq!(got.tallies.len(), 1);
        let (subject, tally) = &got.tallies[0];
        assert_eq!(subject.address.to_string(), "10.1.1.5");
        assert_eq!(tally.connections, 1);
        assert_eq!(tally.states["SYN_SENT"], 1);
    }

    #[test]
    fn without_a_spreading_correlation_a_table_is_read_but_not_judged() {
        let got = netstat_tallies(TABLE, "web01", None);
        assert_eq!(got.table.rows, 6);
        assert!(got.tallies.is_empty());
    }
}
