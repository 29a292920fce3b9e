//! PATCH paths (RFC 7644 §3.5.2): `PATH = attrPath / valuePath [subAttr]`.

use std::fmt;

use crate::filter::parser::Parser;
use crate::{AttrPath, Filter, ScimError};

/// `attr`, or `attr[filter]`, or `attr[filter].sub`.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchPath {
    pub attr: AttrPath,
    /// The value filter selecting elements of the multi-valued attribute `attr`.
    pub filter: Option<Filter>,
    /// The sub-attribute after the value filter (`emails[type eq "work"].value`).
    pub sub: Option<String>,
}

/// Parses a PATCH path; anything malformed is `invalidPath`, saying what was expected where.
pub fn parse_path(text: &str) -> Result<PatchPath, ScimError> {
    Parser::new(text)
        .and_then(Parser::patch_path)
        .map(|(attr, filter, sub)| PatchPath { attr, filter, sub })
        .map_err(|err| err.into_path_error(text))
}

impl fmt::Display for PatchPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.attr)?;
        if let Some(filter) = &self.filter {
            write!(f, "[{filter}]")?;
        }
        if let Some(sub) = &self.sub {
            write!(f, ".{sub}")?;
        }
        Ok(())
    }
}
