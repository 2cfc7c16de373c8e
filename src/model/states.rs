//! The typed states of the model. Each serialises to the word the outputs have always used,
//! and each has a `name()` for text outputs; nothing compares these words as strings.

use serde::Serialize;

/// Writes `name()` wherever serde asks for the value.
macro_rules! named_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $word:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The word outputs use.
            pub fn name(self) -> &'static str {
                match self {
                    $($name::$variant => $word),+
                }
            }

            /// The value a word names.
            pub fn from_name(word: &str) -> Option<$name> {
                match word {
                    $($word => Some($name::$variant),)+
                    _ => None,
                }
            }
        }

        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.name())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let word = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                $name::from_name(&word).ok_or_else(|| {
                    serde::de::Error::custom(format!("unknown {}: {word}", stringify!($name)))
                })
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.name())
            }
        }
    };
}

named_enum!(
    /// Which kind of evidence a record comes from.
    EvidenceKind {
        /// Web-server logs.
        Log => "log",
        /// Disk, registry and IIS configuration of a host.
        Host => "host",
        /// Captures and connection tables.
        Network => "network",
    }
);

named_enum!(
    /// A rule's level, as Sigma names them (ordered: informational is lowest).
    Level {
        Informational => "informational",
        Low => "low",
        Medium => "medium",
        High => "high",
        Critical => "critical",
    }
);

named_enum!(
    /// How sure a finding is that it means what its family says (ordered: low is lowest).
    Confidence {
        Low => "low",
        Medium => "medium",
        High => "high",
    }
);

named_enum!(
    /// What a verdict is about.
    Role {
        /// An address that sent requests.
        Source => "source",
        /// A server that received them.
        Target => "target",
        /// A host of ours, judged from every kind of evidence about it.
        Host => "host",
        /// An address seen scanning port 80 (captures and connection tables).
        Scanner => "scanner",
    }
);

named_enum!(
    /// A verdict's state. Host verdicts take the first that applies, in this order: the
    /// order is the precedence rule (the most urgent state wins).
    State {
        /// Worm traces on the host itself, or a backdoor that answered.
        Compromised => "compromised",
        /// The host sends worm requests or scans port 80 like a worm.
        Spreading => "spreading",
        /// The host can be infected: it answered in a way that leaves infection possible, or
        /// runs IIS without the fix.
        Exposed => "exposed",
        /// The fix is missing, but the `.ida`/`.idq` mappings are removed.
        Mitigated => "mitigated",
        /// Attacked, with no sign that an attack worked.
        Attacked => "attacked",
        /// The fix is installed.
        Patched => "patched",
        /// No IIS on the host.
        NotIis => "not-iis",
        /// Checked, nothing found.
        Clean => "clean",
        /// A scanner table's address that does not scan.
        NotSpreading => "not-spreading",
        /// The evidence does not settle it.
        Unknown => "unknown",
    }
);

named_enum!(
    /// Whether MS01-033 is installed.
    PatchStatus {
        Patched => "patched",
        Unpatched => "unpatched",
        Unknown => "unknown",
    }
);

named_enum!(
    /// What an answer says about the attacked server.
    Exposure {
        /// 404 to a Code Red request: the server had no `.ida` mapping.
        NoMapping => "no-mapping",
        /// 200 to a Code Red request: the mapping was there and the server was patched.
        Patched => "patched",
        /// Any other answer, or none: the server may have been vulnerable.
        Unknown => "unknown",
        /// Seen in an Apache error log: Apache cannot be infected by this request.
        NotIis => "not-iis",
        /// A 2xx to a backdoor request (`root.exe`, `/c/`, `/d/`): the backdoor answered.
        Backdoor => "backdoor",
        /// A 2xx or 502 to a traversal: the server ran the command; infection is likely.
        Traversal => "traversal",
    }
);

impl Exposure {
    /// What a Code Red request's status says.
    pub fn from_status(status: Option<&str>) -> Exposure {
        match status {
            Some("404") => Exposure::NoMapping,
            Some("200") => Exposure::Patched,
            _ => Exposure::Unknown,
        }
    }
}

impl Level {
    /// Parses a Sigma level name, any case.
    pub fn parse(word: &str) -> Option<Level> {
        Level::from_name(&word.to_ascii_lowercase())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_round_trip_and_serialise() {
        for s in State::ALL {
            assert_eq!(State::from_name(s.name()), Some(*s));
        }
        assert_eq!(
            serde_json::to_string(&State::NotIis).unwrap(),
            "\"not-iis\""
        );
        assert_eq!(Level::parse("HIGH"), Some(Level::High));
        assert!(Confidence::High > Confidence::Low);
        assert!(
            State::Compromised < State::Spreading,
            "precedence is declaration order"
        );
    }
}
