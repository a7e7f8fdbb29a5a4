//! E-mail addresses, in one normal form decided here rather than in SQL (whose `lower()`
//! folds only ASCII on SQLite and all of Unicode on PostgreSQL): stored, compared and
//! indexed as they are, so that both backends agree on which two addresses are one.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// An e-mail address: trimmed and lowercased (Unicode's lowercase, the same on every
/// backend). Hosts, payers and attendees are all known by one, and the platforms compare
/// them without case.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct Email(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("`{0}` is not an e-mail address")]
pub struct BadEmail(String);

impl FromStr for Email {
    type Err = BadEmail;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        match s.split_once('@') {
            Some((local, domain))
                if !local.is_empty()
                    && domain.contains('.')
                    && !s.contains(char::is_whitespace) =>
            {
                Ok(Email(s.to_lowercase()))
            }
            _ => Err(BadEmail(s.to_owned())),
        }
    }
}

impl TryFrom<String> for Email {
    type Error = BadEmail;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<Email> for String {
    fn from(email: Email) -> String {
        email.0
    }
}

impl Email {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_trimmed_lowercased_and_checked() {
        assert_eq!(" Host@Example.com".parse::<Email>().unwrap().as_str(), "host@example.com");
        // Beyond ASCII too, where SQLite's lower() would have left the capital.
        assert_eq!("ÅSE@Example.no".parse::<Email>().unwrap().as_str(), "åse@example.no");
        assert!("host".parse::<Email>().is_err());
        assert!("@example.com".parse::<Email>().is_err());
        assert!("a b@example.com".parse::<Email>().is_err());
    }
}
