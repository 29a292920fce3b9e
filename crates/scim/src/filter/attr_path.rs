//! `[URI ":"] ATTRNAME ["." subAttr]` (RFC 7644 §3.10, RFC 7643 §2.1).

use std::fmt;

use super::syntax_error::SyntaxError;
use crate::ScimError;

/// An attribute path: an optional schema URN, an attribute name and an optional sub-attribute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttrPath {
    pub urn: Option<String>,
    pub name: String,
    pub sub: Option<String>,
}

impl AttrPath {
    /// Parses `[URI ":"] ATTRNAME ["." subAttr]`; the URN is everything up to the last ':'.
    pub fn parse(text: &str) -> Result<AttrPath, ScimError> {
        let trimmed = text.trim();
        let lead = text.len() - text.trim_start().len();
        parse_at(trimmed).map_err(|err| err.shifted(lead).into_path_error(text))
    }

    /// "name.givenname": lower-case, dotted, without the URN, for comparisons with the lists
    /// of a `ResourceSchema`. Attribute names are ASCII by grammar, so ASCII folding is enough.
    pub fn key(&self) -> String {
        let mut key = self.name.to_ascii_lowercase();
        if let Some(sub) = &self.sub {
            key.push('.');
            key.push_str(&sub.to_ascii_lowercase());
        }
        key
    }
}

impl fmt::Display for AttrPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(urn) = &self.urn {
            write!(f, "{urn}:")?;
        }
        f.write_str(&self.name)?;
        if let Some(sub) = &self.sub {
            write!(f, ".{sub}")?;
        }
        Ok(())
    }
}

/// The parser behind [`AttrPath::parse`], with byte offsets relative to `text`, so that the
/// filter parser can report positions within the whole filter.
pub(crate) fn parse_at(text: &str) -> Result<AttrPath, SyntaxError> {
    if text.is_empty() {
        return Err(SyntaxError::new(0, "expected an attribute name"));
    }
    let (urn, rest, rest_at) = match text.rfind(':') {
        Some(colon) => (Some(&text[..colon]), &text[colon + 1..], colon + 1),
        None => (None, text, 0),
    };
    if let Some(urn) = urn {
        check_urn(urn)?;
    }
    let (name, sub) = match rest.find('.') {
        Some(dot) => (&rest[..dot], Some((&rest[dot + 1..], rest_at + dot + 1))),
        None => (rest, None),
    };
    check_name(name, rest_at)?;
    if let Some((sub, sub_at)) = sub {
        if let Some(dot) = sub.find('.') {
            return Err(SyntaxError::new(
                sub_at + dot,
                "expected the end of the path: an attribute has at most one sub-attribute",
            ));
        }
        check_name(sub, sub_at)?;
    }
    Ok(AttrPath {
        urn: urn.map(str::to_owned),
        name: name.to_owned(),
        sub: sub.map(|(sub, _)| sub.to_owned()),
    })
}

/// ATTRNAME = ALPHA *(nameChar); `$ref` is the one name outside that grammar (RFC 7643 §2.4,
/// e.g. `members.$ref`).
pub(crate) fn check_name(name: &str, at: usize) -> Result<(), SyntaxError> {
    if name.eq_ignore_ascii_case("$ref") {
        return Ok(());
    }
    let mut chars = name.char_indices();
    match chars.next() {
        None => return Err(SyntaxError::new(at, "expected an attribute name")),
        Some((_, first)) if first.is_ascii_alphabetic() => {}
        Some(_) => {
            return Err(SyntaxError::new(
                at,
                "expected an attribute name starting with a letter",
            ));
        }
    }
    for (index, c) in chars {
        if !(c.is_ascii_alphanumeric() || c == '-' || c == '_') {
            return Err(SyntaxError::new(
                at + index,
                format!("unexpected character {c:?} in attribute name"),
            ));
        }
    }
    Ok(())
}

/// Schema URNs (RFC 7643 §3) are made of letters, digits and a little punctuation; the
/// check only has to keep out what could not be one, the server decides which are known.
fn check_urn(urn: &str) -> Result<(), SyntaxError> {
    let mut chars = urn.char_indices();
    match chars.next() {
        Some((_, first)) if first.is_ascii_alphabetic() => {}
        _ => {
            return Err(SyntaxError::new(
                0,
                "expected a schema URN starting with a letter before ':'",
            ));
        }
    }
    for (index, c) in chars {
        if !(c.is_ascii_alphanumeric() || matches!(c, ':' | '.' | '-' | '_')) {
            return Err(SyntaxError::new(
                index,
                format!("unexpected character {c:?} in schema URN"),
            ));
        }
    }
    Ok(())
}
