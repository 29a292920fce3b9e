//! What the protocol layer needs to know about a resource type: which schema URNs address it,
//! which attributes compare case-exactly and which a client may not write. Everything else
//! (types, required attributes) is the server's to validate.

use std::borrow::Cow;

use crate::{ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA, USER_SCHEMA};

/// What every extension schema URN starts with (RFC 7643 §10.2.2 registers them there).
const EXTENSION_PREFIX: &str = "urn:ietf:params:scim:schemas:extension:";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResourceSchema {
    /// The core schema URN (`USER_SCHEMA` or `GROUP_SCHEMA`).
    pub core: &'static str,
    /// Extension schema URNs; their attributes live in an object under the URN's key.
    pub extensions: &'static [&'static str],
    /// Whether extensions not in `extensions` are accepted too ("open" extensions, the custom
    /// ones provisioning services send): a URN under `urn:ietf:params:scim:schemas:extension:`
    /// whose last segment is this resource type's name, the last segment of `core`
    /// (`…:extension:CustomExtensionName:2.0:User`). They resolve like listed ones.
    pub open_extensions: bool,
    /// Attributes compared case-exactly, as lower-case dotted paths ("id", "externalid", "meta.version").
    pub case_exact: &'static [&'static str],
    /// Attributes a client may not write, lower-case ("id", "meta", "groups").
    pub read_only: &'static [&'static str],
}

pub const USER: ResourceSchema = ResourceSchema {
    core: USER_SCHEMA,
    extensions: &[ENTERPRISE_USER_SCHEMA],
    // Entra, Okta and others send custom extensions of their own naming; the server keeps and
    // renders them, so PATCH and filters have to reach them.
    open_extensions: true,
    case_exact: &["id", "externalid", "meta.version"],
    // `groups` is computed from group membership (RFC 7643 §4.1.2).
    read_only: &["id", "meta", "groups"],
};

pub const GROUP: ResourceSchema = ResourceSchema {
    core: GROUP_SCHEMA,
    extensions: &[],
    // Closed: the server does not render extension objects of groups, so a PATCH of one would
    // start from nothing and overwrite what is kept.
    open_extensions: false,
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

    /// Whether `urn` names an extension schema of this resource type, listed or open (matched
    /// regardless of case): its attributes live in an object under that key of the resource.
    pub fn is_extension(&self, urn: &str) -> bool {
        self.extension(urn).is_some()
    }

    /// The extension `urn` names: a listed one spelled as this schema spells it, else an open
    /// one spelled as given.
    pub(crate) fn extension(&self, urn: &str) -> Option<Cow<'static, str>> {
        self.listed_extension(urn).map(Cow::Borrowed).or_else(|| {
            self.is_open_extension(urn)
                .then(|| Cow::Owned(urn.to_owned()))
        })
    }

    /// The listed extension `urn` names, as this schema spells it.
    pub(crate) fn listed_extension(&self, urn: &str) -> Option<&'static str> {
        self.extensions
            .iter()
            .copied()
            .find(|ext| ext.eq_ignore_ascii_case(urn))
    }

    /// Whether `urn` is an open extension of this resource type. Requiring the resource type's
    /// name as the last segment is what tells `…:2.0:User:worksiteId` (an attribute of the
    /// extension `…:2.0:User`) from `…:2.0:User` (the whole extension object), since a path's
    /// URN is everything up to its last ':' either way.
    pub(crate) fn is_open_extension(&self, urn: &str) -> bool {
        if !self.open_extensions || self.is_core(urn) {
            return false;
        }
        let Some(rest) = urn
            .get(..EXTENSION_PREFIX.len())
            .filter(|prefix| prefix.eq_ignore_ascii_case(EXTENSION_PREFIX))
            .and_then(|_| urn.get(EXTENSION_PREFIX.len()..))
        else {
            return false;
        };
        let resource_type = self.core.rsplit(':').next().unwrap_or(self.core);
        rest.rsplit_once(':').is_some_and(|(name, last)| {
            !name.is_empty() && last.eq_ignore_ascii_case(resource_type)
        })
    }

    pub(crate) fn is_core(&self, urn: &str) -> bool {
        self.core.eq_ignore_ascii_case(urn)
    }
}
