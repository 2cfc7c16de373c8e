//! A network connection as a record of Sigma's `network_connection` taxonomy: a SYN of a
//! capture, or a row of a connection table. Rules of that category decide which of them the
//! spreading correlation counts.

use std::borrow::Cow;
use std::net::IpAddr;

use super::{Field, LogFormat, Record};

/// One connection attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NetworkConnection {
    pub source: IpAddr,
    pub destination: IpAddr,
    pub port: u16,
    /// Whether `source` opened it (see [`Field::Initiated`]).
    pub initiated: bool,
}

impl NetworkConnection {
    /// The taxonomy record rules match against. It has no line: keyword rules never match.
    pub fn record(&self) -> Record<'static> {
        let mut record = Record::new(b"", LogFormat::Text);
        let text = |v: String| Cow::Owned(v.into_bytes());
        record.set_cow(Field::SourceIp, text(self.source.to_string()));
        record.set_cow(Field::DestinationIp, text(self.destination.to_string()));
        record.set_cow(Field::DestinationPort, text(self.port.to_string()));
        let initiated = if self.initiated { "true" } else { "false" };
        record.set_cow(Field::Initiated, text(initiated.to_string()));
        record
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_connection_fills_the_network_fields_only() {
        let c = NetworkConnection {
            source: "10.0.0.1".parse().unwrap(),
            destination: "2001:db8::5".parse().unwrap(),
            port: 80,
            initiated: true,
        };
        let r = c.record();
        assert_eq!(r.get(Field::SourceIp), Some(&b"10.0.0.1"[..]));
        assert_eq!(r.get(Field::DestinationIp), Some(&b"2001:db8::5"[..]));
        assert_eq!(r.get(Field::DestinationPort), Some(&b"80"[..]));
        assert_eq!(r.get(Field::Initiated), Some(&b"true"[..]));
        assert_eq!(r.get(Field::ClientIp), None);
        assert!(r.line.is_empty());
    }
}
