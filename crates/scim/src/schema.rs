//! What the protocol layer needs to know about a resource type: which schema URNs address it,
//! which attributes compare case-exactly and which a client may not write. Everything else
//! (types, required attributes) is the server's to validate.

use crate::{ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA, USER_SCHEMA};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResourceSchema {
    /// The core schema URN (`USER_SCHEMA` or `GROUP_SCHEMA`).
    pub core: &'static str,
    /// Extension schema URNs; their attributes live in an object under the URN's key.
    pub extensions: &'static [&'static str],
    /// Attributes compared case-exactly, as lower-case dotted paths ("id", "externalid", "meta.version").
    pub case_exact: &'static [&'static str],
    /// Attributes a client may not write, lower-case ("id", "meta", "groups").
    pub read_only: &'static [&'static str],
}

pub const USER: ResourceSchema = ResourceSchema {
    core: USER_SCHEMA,
    extensions: &[ENTERPRISE_USER_SCHEMA],
    case_exact: &["id", "externalid", "meta.version"],
    // `groups` is computed from group membership (RFC 7643 §4.1.2).
    read_only: &["id", "meta", "groups"],
};

pub const GROUP: ResourceSchema = ResourceSchema {
    core: GROUP_SCHEMA,
    extensions: &[],
    // Member ids are opaque identifiers, which RFC 7643 makes case-exact.
    case_exact: &["id", "externalid", "meta.version", "members.value"],
    read_only: &["id", "meta"],
};

impl ResourceSchema {
    pub(crate) fn is_case_exact(&self, key: &str) -> bool {
        self.case_exact.contains(&key)
    }

    pub(crate) fn is_read_only(&self, key: &str) -> bool {
        self.read_only.contains(&key)
    }

    /// The extension URN spelled as this schema spells it, when `urn` names one.
    pub(crate) fn extension(&self, urn: &str) -> Option<&'static str> {
        self.extensions
            .iter()
            .copied()
            .find(|ext| ext.eq_ignore_ascii_case(urn))
    }

    pub(crate) fn is_core(&self, urn: &str) -> bool {
        self.core.eq_ignore_ascii_case(urn)
    }
}
