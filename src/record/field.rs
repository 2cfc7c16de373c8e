//! The Sigma taxonomy fields wormtrace reads: the `webserver` fields every log format is
//! mapped onto, and the `network_connection` fields of a connection seen in a capture or a
//! connection table.

/// One field of the Sigma `webserver` taxonomy, `x-forwarded-for`, or one field of the
/// `network_connection` taxonomy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Field {
    Date,
    Time,
    ClientIp,
    Username,
    SiteName,
    ComputerName,
    ServerIp,
    ServerPort,
    Method,
    UriStem,
    UriQuery,
    Status,
    BytesSent,
    BytesReceived,
    TimeTaken,
    Version,
    Host,
    UserAgent,
    Cookie,
    Referer,
    /// The `X-Forwarded-For` header a proxy added (not in the Sigma taxonomy; load
    /// balancers, CDNs and IIS custom fields log it).
    ForwardedFor,
    /// `network_connection`: the address that opened the connection.
    SourceIp,
    /// `network_connection`: the address it was opened to.
    DestinationIp,
    /// `network_connection`: the port it was opened to.
    DestinationPort,
    /// `network_connection`: `true` when the source opened it (a SYN, or a table row of a
    /// port the host does not listen on), else `false`.
    Initiated,
}

/// Number of taxonomy fields; a record holds one slot per field.
pub const FIELD_COUNT: usize = 25;

/// Number of web-server fields (plus `x-forwarded-for`): they come first, the
/// `network_connection` fields after them.
pub const WEB_FIELD_COUNT: usize = 21;

/// Every field in taxonomy order.
/// The header fields where IIS writes `+` for a space.
pub const PLUS_FIELDS: [Field; 5] = [
    Field::UserAgent,
    Field::Referer,
    Field::Cookie,
    Field::Host,
    Field::ForwardedFor,
];

pub const ALL_FIELDS: [Field; FIELD_COUNT] = [
    Field::Date,
    Field::Time,
    Field::ClientIp,
    Field::Username,
    Field::SiteName,
    Field::ComputerName,
    Field::ServerIp,
    Field::ServerPort,
    Field::Method,
    Field::UriStem,
    Field::UriQuery,
    Field::Status,
    Field::BytesSent,
    Field::BytesReceived,
    Field::TimeTaken,
    Field::Version,
    Field::Host,
    Field::UserAgent,
    Field::Cookie,
    Field::Referer,
    Field::ForwardedFor,
    Field::SourceIp,
    Field::DestinationIp,
    Field::DestinationPort,
    Field::Initiated,
];

impl Field {
    /// The taxonomy name, as written in Sigma rules.
    pub fn name(self) -> &'static str {
        match self {
            Field::Date => "date",
            Field::Time => "time",
            Field::ClientIp => "c-ip",
            Field::Username => "cs-username",
            Field::SiteName => "s-sitename",
            Field::ComputerName => "s-computername",
            Field::ServerIp => "s-ip",
            Field::ServerPort => "s-port",
            Field::Method => "cs-method",
            Field::UriStem => "cs-uri-stem",
            Field::UriQuery => "cs-uri-query",
            Field::Status => "sc-status",
            Field::BytesSent => "sc-bytes",
            Field::BytesReceived => "cs-bytes",
            Field::TimeTaken => "time-taken",
            Field::Version => "cs-version",
            Field::Host => "cs-host",
            Field::UserAgent => "cs-user-agent",
            Field::Cookie => "cs-cookie",
            Field::Referer => "cs-referer",
            Field::ForwardedFor => "x-forwarded-for",
            Field::SourceIp => "SourceIp",
            Field::DestinationIp => "DestinationIp",
            Field::DestinationPort => "DestinationPort",
            Field::Initiated => "Initiated",
        }
    }

    /// Looks a taxonomy name up (case-insensitively, as Sigma field names are not cased).
    pub fn from_name(name: &str) -> Option<Field> {
        ALL_FIELDS
            .iter()
            .copied()
            .find(|f| f.name().eq_ignore_ascii_case(name))
    }

    /// Slot of this field inside a record.
    pub fn index(self) -> usize {
        self as usize
    }

    /// Header fields where IIS writes `+` for a space; matching sees them with spaces restored.
    pub fn plus_means_space(self) -> bool {
        self.plus_slot().is_some()
    }

    /// Where a field of [`PLUS_FIELDS`] keeps its value with spaces restored.
    pub fn plus_slot(self) -> Option<usize> {
        PLUS_FIELDS.iter().position(|&f| f == self)
    }

    /// Whether the field belongs to the `network_connection` taxonomy (no log line has it).
    pub fn is_network(self) -> bool {
        matches!(
            self,
            Field::SourceIp | Field::DestinationIp | Field::DestinationPort | Field::Initiated
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_indexes_match_order() {
        for (i, f) in ALL_FIELDS.iter().enumerate() {
            assert_eq!(f.index(), i);
            assert_eq!(Field::from_name(f.name()), Some(*f));
        }
        assert_eq!(Field::from_name("CS-URI-QUERY"), Some(Field::UriQuery));
        assert_eq!(Field::from_name("url"), None);
        for (i, f) in ALL_FIELDS.iter().enumerate() {
            assert_eq!(f.is_network(), i >= WEB_FIELD_COUNT, "{f:?}");
        }
    }
}
