//! Rule priorities, with Falco's names and spellings.

use std::fmt;
use std::str::FromStr;

/// A rule's priority (Falco calls it priority in rules and severity in syslog), from the most
/// to the least severe. The discriminant is Falco's number, which is also the syslog severity.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Priority {
    /// `Emergency` (syslog 0).
    Emergency = 0,
    /// `Alert` (1).
    Alert = 1,
    /// `Critical` (2).
    Critical = 2,
    /// `Error` (3).
    Error = 3,
    /// `Warning` (4).
    Warning = 4,
    /// `Notice` (5).
    Notice = 5,
    /// `Informational` (6); rules may write `info`.
    Informational = 6,
    /// `Debug` (7).
    Debug = 7,
}

/// A priority that is none of Falco's names.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown priority `{0}`")]
pub struct UnknownPriority(pub String);

impl Priority {
    /// Every priority, most severe first.
    pub const ALL: [Priority; 8] = [
        Priority::Emergency,
        Priority::Alert,
        Priority::Critical,
        Priority::Error,
        Priority::Warning,
        Priority::Notice,
        Priority::Informational,
        Priority::Debug,
    ];

    /// The name alerts print: `Warning`, `Informational` ...
    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Emergency => "Emergency",
            Priority::Alert => "Alert",
            Priority::Critical => "Critical",
            Priority::Error => "Error",
            Priority::Warning => "Warning",
            Priority::Notice => "Notice",
            Priority::Informational => "Informational",
            Priority::Debug => "Debug",
        }
    }

    /// The short name Falco's summaries use, upper-cased there (`INFO` for `Informational`).
    pub fn short(self) -> &'static str {
        match self {
            Priority::Informational => "Info",
            p => p.as_str(),
        }
    }

    /// The syslog severity (`LOG_EMERG` = 0 ... `LOG_DEBUG` = 7).
    pub fn syslog_severity(self) -> u8 {
        self as u8
    }

    /// Parses a priority as rules files and `falco.yaml` write it: any case of the names, and
    /// `info` for `Informational` (Falco's `parse_priority`, which compares with `strcasecmp`
    /// and accepts `info` as the one legacy alias).
    pub fn parse(text: &str) -> Result<Priority, UnknownPriority> {
        Priority::ALL
            .into_iter()
            .find(|p| {
                text.eq_ignore_ascii_case(p.as_str())
                    || (*p == Priority::Informational && text.eq_ignore_ascii_case("info"))
            })
            .ok_or_else(|| UnknownPriority(text.to_owned()))
    }
}

impl fmt::Display for Priority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Priority {
    type Err = UnknownPriority;

    fn from_str(s: &str) -> Result<Priority, UnknownPriority> {
        Priority::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_falco_spellings() {
        assert_eq!(Priority::parse("WARNING"), Ok(Priority::Warning));
        assert_eq!(Priority::parse("warning"), Ok(Priority::Warning));
        assert_eq!(Priority::parse("Warning"), Ok(Priority::Warning));
        assert_eq!(Priority::parse("INFO"), Ok(Priority::Informational));
        assert_eq!(Priority::parse("info"), Ok(Priority::Informational));
        assert_eq!(Priority::parse("Informational"), Ok(Priority::Informational));
        assert_eq!(Priority::parse("informational"), Ok(Priority::Informational));
        assert_eq!(Priority::parse("emergency"), Ok(Priority::Emergency));
        assert_eq!(Priority::parse("DEBUG"), Ok(Priority::Debug));
        // Only `info` is an alias: no `warn`, `err`, `crit`, no surrounding blanks.
        for bad in ["warn", "err", "crit", "inf", " info", "", "informationa"] {
            assert_eq!(Priority::parse(bad), Err(UnknownPriority(bad.to_owned())), "{bad}");
        }
        assert_eq!(UnknownPriority("x".into()).to_string(), "unknown priority `x`");
    }

    #[test]
    fn prints_long_names_in_severity_order() {
        assert_eq!(Priority::Informational.to_string(), "Informational");
        assert_eq!("info".parse::<Priority>().unwrap().to_string(), "Informational");
        assert!(Priority::Emergency < Priority::Debug);
        assert_eq!(Priority::Warning.syslog_severity(), 4);
        let names: Vec<&str> = Priority::ALL.iter().map(|p| p.as_str()).collect();
        assert_eq!(
            names,
            [
                "Emergency",
                "Alert",
                "Critical",
                "Error",
                "Warning",
                "Notice",
                "Informational",
                "Debug"
            ]
        );
    }
}
