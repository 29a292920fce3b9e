//! Anchors: how an object is found without its id — for lookups, and to resolve a create whose
//! outcome is unknown (did Graph make it before the connection broke?).

use engine::{Anchor, Properties, RemoteKind};
use msgraph::Kind;

pub(crate) fn kind(k: RemoteKind) -> Kind {
    match k {
        RemoteKind::User => Kind::User,
        RemoteKind::Group => Kind::Group,
    }
}

/// The property and value an anchor filters on.
pub(crate) fn filter(anchor: &Anchor) -> (&'static str, &str) {
    match anchor {
        Anchor::UserPrincipalName(v) => ("userPrincipalName", v),
        Anchor::Mail(v) => ("mail", v),
        Anchor::MailNickname(v) => ("mailNickname", v),
        Anchor::DisplayName(v) => ("displayName", v),
    }
}

/// The anchor a new object is looked up by when a create's outcome is unknown: the UPN for
/// users (unique in the tenant). Groups need none: they are upserted by their key.
pub(crate) fn of_new(kind: RemoteKind, properties: &Properties) -> Option<Anchor> {
    let text = |k: &str| {
        properties
            .get(k)
            .and_then(|v| v.as_str())
            .map(str::to_owned)
    };
    match kind {
        RemoteKind::User => text("userPrincipalName").map(Anchor::UserPrincipalName),
        RemoteKind::Group => text("mailNickname").map(Anchor::MailNickname),
    }
}
