//! Who the client of a proxied request is: the address that connected (the peer), or the
//! one a proxy header names.

use std::net::IpAddr;

use ipnet::IpNet;

/// Which address a verdict takes as a request's source (`--client-from`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ClientFrom {
    /// The address that connected to the server or balancer that wrote the log.
    #[default]
    Peer,
    /// The client the `X-Forwarded-For` header names.
    Xff,
}

impl ClientFrom {
    /// The word `--client-from` takes.
    pub fn name(self) -> &'static str {
        match self {
            ClientFrom::Peer => "peer",
            ClientFrom::Xff => "xff",
        }
    }

    /// Parses `peer` or `xff`.
    pub fn from_name(name: &str) -> Option<ClientFrom> {
        match name {
            "peer" => Some(ClientFrom::Peer),
            "xff" => Some(ClientFrom::Xff),
            _ => None,
        }
    }
}

/// How to pick the client of a request that came through proxies.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientPolicy {
    /// Peer or header.
    pub from: ClientFrom,
    /// Proxies of our own (`--trusted-proxy`): their addresses in the header are hops, not
    /// clients.
    pub trusted: Vec<IpNet>,
}

/// Longest `X-Forwarded-For` header walked (each hop appends one address; a header longer
/// than this is a client's invention).
const MAX_HOPS: usize = 64;

impl ClientPolicy {
    /// The default policy (the peer is the client), for contexts that take no options.
    pub fn peer_only() -> &'static ClientPolicy {
        static PEER: ClientPolicy = ClientPolicy {
            from: ClientFrom::Peer,
            trusted: Vec::new(),
        };
        &PEER
    }

    /// The client under this policy. With `peer`, the peer. With `xff`, the right-most
    /// address of the header that is not a trusted proxy, as proxies themselves choose it:
    /// each hop appends the address it saw, so only the addresses our own proxies wrote can
    /// be believed, and the first one from the right that is not ours is the client. When
    /// every address is trusted, the left-most is taken; a header with no address, or none,
    /// leaves the peer.
    pub fn client(&self, peer: Option<IpAddr>, forwarded: Option<&str>) -> Option<IpAddr> {
        if self.from == ClientFrom::Peer {
            return peer;
        }
        let Some(header) = forwarded else {
            return peer;
        };
        let hops: Vec<IpAddr> = header
            .split(',')
            .take(MAX_HOPS)
            .filter_map(|hop| parse_hop(hop.trim()))
            .collect();
        hops.iter()
            .rev()
            .find(|ip| !self.is_trusted(ip))
            .or(hops.first())
            .copied()
            .or(peer)
    }

    fn is_trusted(&self, ip: &IpAddr) -> bool {
        self.trusted.iter().any(|net| net.contains(ip))
    }
}

/// One hop of the header: an address, with or without a port or brackets.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    if let Ok(ip) = hop.parse() {
        return Some(ip);
    }
    if let Ok(socket) = hop.parse::<std::net::SocketAddr>() {
        return Some(socket.ip());
    }
    let (host, _port) = hop.rsplit_once(':')?;
    host.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn policy(from: ClientFrom, trusted: &[&str]) -> ClientPolicy {
        ClientPolicy {
            from,
            trusted: trusted.iter().map(|n| n.parse().unwrap()).collect(),
        }
    }

    #[test]
    fn peer_is_the_default() {
        let p = ClientPolicy::default();
        assert_eq!(
            p.client(Some(ip("10.0.0.5")), Some("203.0.113.9")),
            Some(ip("10.0.0.5"))
        );
    }

    #[test]
    fn xff_takes_the_rightmost_untrusted_hop() {
        let p = policy(ClientFrom::Xff, &["10.0.0.0/8"]);
        let peer = Some(ip("10.0.0.5"));
        // The client wrote a false first hop; our proxy 10.0.0.7 appended the real one.
        let header = "198.51.100.1, 203.0.113.9, 10.0.0.7";
        assert_eq!(p.client(peer, Some(header)), Some(ip("203.0.113.9")));
        let untrusted = policy(ClientFrom::Xff, &[]);
        assert_eq!(untrusted.client(peer, Some(header)), Some(ip("10.0.0.7")));
        assert_eq!(
            p.client(peer, Some("10.1.1.1, 10.2.2.2")),
            Some(ip("10.1.1.1")),
            "every hop trusted: the left-most"
        );
        assert_eq!(
            p.client(peer, Some("unknown, ")),
            peer,
            "no address: the peer"
        );
        assert_eq!(p.client(peer, None), peer);
        assert_eq!(
            p.client(peer, Some("[2001:db8::1]:4711, 192.0.2.1:80")),
            Some(ip("192.0.2.1"))
        );
        assert_eq!(p.client(peer, Some("2001:db8::1")), Some(ip("2001:db8::1")));
    }
}
