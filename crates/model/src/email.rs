use std::fmt;

use serde::{Deserialize, Serialize};

use crate::ValidationError;

const MAX_EMAIL_LEN: usize = 254;
const MAX_LOCAL_LEN: usize = 64;

/// An email address in the dot-atom form that mail systems and Entra ID accept
/// (`local@domain.tld`). Stored as given; compared case-insensitively where it links objects.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(value_type = String, format = "email", example = "alice@example.com"))]
pub struct Email(String);

impl Email {
    pub fn parse(value: impl Into<String>) -> Result<Self, ValidationError> {
        let value = value.into();
        match problem(&value) {
            None => Ok(Self(value)),
            Some(why) => Err(ValidationError::new(
                "email",
                format!("{value:?} is not a valid email address: {why}"),
            )),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The part after the `@`.
    pub fn domain(&self) -> &str {
        self.0.rsplit_once('@').map_or("", |(_, domain)| domain)
    }
}

fn is_atext(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c)
}

fn problem(value: &str) -> Option<&'static str> {
    if value.len() > MAX_EMAIL_LEN {
        return Some("longer than 254 characters");
    }
    let Some((local, domain)) = value.split_once('@') else {
        return Some("no '@'");
    };
    if local.is_empty() {
        return Some("nothing before the '@'");
    }
    if local.len() > MAX_LOCAL_LEN {
        return Some("more than 64 characters before the '@'");
    }
    if local
        .split('.')
        .any(|atom| atom.is_empty() || !atom.chars().all(is_atext))
    {
        return Some("the part before the '@' has a character or dot that is not allowed");
    }
    if domain.is_empty() {
        return Some("nothing after the '@'");
    }
    let labels: Vec<&str> = domain.split('.').collect();
    if labels.len() < 2 {
        return Some("the domain has no dot");
    }
    for label in labels {
        if label.is_empty() || label.len() > 63 {
            return Some("the domain has an empty or over-long label");
        }
        if !label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            || label.starts_with('-')
            || label.ends_with('-')
        {
            return Some("the domain has a character that is not allowed");
        }
    }
    None
}

impl TryFrom<String> for Email {
    type Error = ValidationError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(value)
    }
}

impl From<Email> for String {
    fn from(value: Email) -> String {
        value.0
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
    fn accepts_ordinary_addresses() {
        for ok in [
            "alice@example.com",
            "o'brien@contoso.onmicrosoft.com",
            "first.last+tag@mail.example.co.uk",
            "X_Y@EXAMPLE.ORG",
        ] {
            assert!(Email::parse(ok).is_ok(), "{ok}");
        }
        assert_eq!(
            Email::parse("a@b.example.com").expect("valid").domain(),
            "b.example.com"
        );
    }

    #[test]
    fn refuses_malformed_addresses_naming_the_field() {
        for bad in [
            "",
            "alice",
            "@example.com",
            "alice@",
            "alice@localhost",
            "al ice@example.com",
            "alice@@example.com",
            ".alice@example.com",
            "a..b@example.com",
            "alice@-example.com",
            "alice@example..com",
            "alice@exa_mple.com",
        ] {
            let err = Email::parse(bad).expect_err(bad);
            assert_eq!(err.field, "email", "{bad}");
        }
        let long = format!("{}@example.com", "a".repeat(65));
        assert!(Email::parse(long).is_err());
    }
}
