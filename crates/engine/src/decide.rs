//! The decisions, pure: from what the directory wants (a document or a skip), the link, and
//! what Entra was seen to hold, the operations that bring Entra in line. No I/O happens here;
//! the planner gathers the facts, the executor applies what is decided.

use std::collections::HashSet;

use model::{GroupDeleteAction, ProviderSettings, UserDeleteAction};

use crate::compare::{Baseline, differences, merged};
use crate::local::Link;
use crate::outcome::Outcome;
use crate::plan::{Document, Operation, RemoteRef, Step, field_changes};
use crate::remote::{Properties, RemoteId, RemoteKind, RemoteObject};

/// What Entra holds for a linked object, as far as the planner knows.
#[derive(Debug, Clone, PartialEq)]
pub enum Seen {
    /// Read after our last write (by discovery, or a GET): compare with it.
    Read(Properties),
    /// Nothing read since our last write: compare with what we wrote.
    Written,
}

impl Seen {
    fn baseline<'a>(&'a self, link: &'a Link) -> Baseline<'a> {
        match self {
            Seen::Read(remote) => Baseline::Read {
                remote,
                written: &link.written,
            },
            Seen::Written => Baseline::Written(&link.written),
        }
    }

    /// What a mapping sees as `link`, and what a plan shows as "before": the remote attributes
    /// as best known.
    pub fn as_known(&self, link: &Link) -> Properties {
        match self {
            Seen::Read(remote) => merged(&link.written, remote),
            Seen::Written => link.written.clone(),
        }
    }
}

/// An object that exists in the directory, is in scope, and is not linked: create it.
pub fn create(kind: RemoteKind, document: Document) -> Step {
    Step::Apply(vec![Operation::Create { kind, document }])
}

/// An object that is not linked, and that exactly one unlinked remote object matches: link
/// that one, then PATCH what differs from what was read of it.
pub fn adopt(kind: RemoteKind, candidate: &RemoteObject, document: &Document) -> Step {
    let patch = differences(
        kind,
        document.properties(),
        Baseline::Read {
            remote: &candidate.properties,
            written: &Properties::new(),
        },
    );
    let mut operations = vec![Operation::Adopt {
        kind,
        remote_id: candidate.id.clone(),
    }];
    if !patch.is_empty() {
        operations.push(Operation::Update {
            kind,
            remote_id: candidate.id.clone(),
            changes: field_changes(&patch, &candidate.properties),
        });
    }
    Step::Apply(operations)
}

/// A linked object: PATCH the properties whose wanted value differs from what Entra holds, or
/// nothing at all.
pub fn update(link: &Link, seen: &Seen, document: &Document) -> Step {
    let patch = differences(link.kind, document.properties(), seen.baseline(link));
    if patch.is_empty() {
        return Step::Nothing(Outcome::Unchanged);
    }
    Step::Apply(vec![Operation::Update {
        kind: link.kind,
        remote_id: link.remote_id.clone(),
        changes: field_changes(&patch, &seen.as_known(link)),
    }])
}

/// A linked object that Entra confirmed is gone (a GET by id answered 404): create it again.
pub fn recreate(link: &Link, document: Document) -> Step {
    Step::Apply(vec![Operation::Recreate {
        kind: link.kind,
        previous: link.remote_id.clone(),
        document,
    }])
}

/// An object gone from the directory or out of scope: its delete action, when it is linked.
pub fn leave(link: Option<&Link>, settings: &ProviderSettings) -> Step {
    let Some(link) = link else {
        return Step::Nothing(Outcome::OutOfScope);
    };
    let (kind, remote_id) = (link.kind, link.remote_id.clone());
    let operation = match kind {
        RemoteKind::User => match settings.user_delete_action {
            UserDeleteAction::Delete => Operation::Delete { kind, remote_id },
            UserDeleteAction::Suspend => Operation::Disable { remote_id },
            UserDeleteAction::DoNothing => Operation::Unlink { kind, remote_id },
        },
        RemoteKind::Group => match settings.group_delete_action {
            GroupDeleteAction::Delete => Operation::Delete { kind, remote_id },
            GroupDeleteAction::DoNothing => Operation::Unlink { kind, remote_id },
        },
    };
    Step::Apply(vec![operation])
}

/// One membership, given whether it is wanted and both remote objects.
pub fn membership(wanted: bool, group: RemoteRef, member: RemoteRef) -> Step {
    match (wanted, group, member) {
        (true, group, member) => Step::Apply(vec![Operation::AddMembers {
            group,
            members: vec![member],
        }]),
        (false, RemoteRef::Linked { id: group }, RemoteRef::Linked { id: member }) => {
            Step::Apply(vec![Operation::RemoveMember { group, member }])
        }
        // Nothing of ours remotely to remove.
        (false, _, _) => Step::Nothing(Outcome::Unchanged),
    }
}

/// A group's members: add the wanted ones Entra does not list (all of them for a group the
/// plan creates), remove the `removable` ones it lists that are not wanted.
pub fn members(
    group: RemoteRef,
    wanted: &[RemoteRef],
    remote: &HashSet<RemoteId>,
    removable: impl Fn(&RemoteId) -> bool,
) -> Step {
    let missing: Vec<RemoteRef> = wanted
        .iter()
        .filter(|member| member.remote_id().is_none_or(|id| !remote.contains(id)))
        .cloned()
        .collect();
    let wanted_ids: HashSet<&RemoteId> = wanted.iter().filter_map(RemoteRef::remote_id).collect();
    let mut extra: Vec<&RemoteId> = remote
        .iter()
        .filter(|member| !wanted_ids.contains(member) && removable(member))
        .collect();
    extra.sort();
    let mut operations = Vec::new();
    if !missing.is_empty() {
        operations.push(Operation::AddMembers {
            group: group.clone(),
            members: missing,
        });
    }
    if let RemoteRef::Linked { id: group } = &group {
        operations.extend(extra.into_iter().map(|member| Operation::RemoveMember {
            group: group.clone(),
            member: member.clone(),
        }));
    }
    if operations.is_empty() {
        Step::Nothing(Outcome::Unchanged)
    } else {
        Step::Apply(operations)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn props(value: serde_json::Value) -> Properties {
        value.as_object().cloned().unwrap_or_default()
    }

    fn link(written: serde_json::Value) -> Link {
        Link {
            provider: model::ProviderId::new(),
            kind: RemoteKind::User,
            object: uuid::Uuid::now_v7(),
            remote_id: RemoteId::new("r1"),
            written: props(written),
            synced_at: chrono::Utc::now(),
        }
    }

    #[test]
    fn an_unchanged_object_needs_nothing_and_a_hand_edit_is_put_back() {
        let link = link(json!({"displayName": "Ann"}));
        let document = Document::new(props(json!({"displayName": "Ann"})));
        assert_eq!(
            update(&link, &Seen::Written, &document),
            Step::Nothing(Outcome::Unchanged)
        );
        let edited = Seen::Read(props(json!({"displayName": "Anne (edited)"})));
        let Step::Apply(operations) = update(&link, &edited, &document) else {
            panic!("a hand edit is put back");
        };
        assert!(
            matches!(&operations[..], [Operation::Update { changes, .. }]
            if changes[0].before == Some(json!("Anne (edited)")) && changes[0].after == json!("Ann"))
        );
    }

    #[test]
    fn adoption_patches_only_what_differs_from_the_candidate() {
        let candidate = RemoteObject {
            id: RemoteId::new("r9"),
            properties: props(json!({"displayName": "Ann", "department": "Sales"})),
        };
        let same = Document::new(props(json!({"displayName": "Ann"})));
        assert!(matches!(adopt(RemoteKind::User, &candidate, &same),
            Step::Apply(ops) if matches!(&ops[..], [Operation::Adopt { .. }])));
        let other = Document::new(props(json!({"displayName": "Ann", "department": "IT"})));
        assert!(matches!(adopt(RemoteKind::User, &candidate, &other),
            Step::Apply(ops) if matches!(&ops[..], [Operation::Adopt { .. }, Operation::Update { .. }])));
    }

    #[test]
    fn delete_actions_decide_what_leaving_does() {
        let mut settings = model::ProviderSettings::new(
            "contoso.onmicrosoft.com",
            "0d7e9c4a-2b1f-4a6e-8c3d-5f6a7b8c9d0e",
            vec![],
            vec![],
        );
        assert_eq!(leave(None, &settings), Step::Nothing(Outcome::OutOfScope));
        let link = link(json!({}));
        settings.user_delete_action = UserDeleteAction::Suspend;
        assert!(matches!(leave(Some(&link), &settings),
            Step::Apply(ops) if matches!(&ops[..], [Operation::Disable { .. }])));
        settings.user_delete_action = UserDeleteAction::DoNothing;
        assert!(matches!(leave(Some(&link), &settings),
            Step::Apply(ops) if matches!(&ops[..], [Operation::Unlink { .. }])));
    }

    #[test]
    fn members_adds_the_missing_and_removes_only_removable_extras() {
        let group = RemoteRef::linked(RemoteId::new("g"));
        let wanted = [
            RemoteRef::linked(RemoteId::new("a")),
            RemoteRef::linked(RemoteId::new("b")),
            RemoteRef::Planned {
                kind: RemoteKind::User,
                object: uuid::Uuid::nil(),
            },
        ];
        let remote: HashSet<RemoteId> = ["a", "x", "y"].into_iter().map(RemoteId::new).collect();
        let Step::Apply(operations) = members(group, &wanted, &remote, |id| id.as_str() == "x")
        else {
            panic!("changes expected");
        };
        assert!(
            matches!(&operations[0], Operation::AddMembers { members, .. } if members.len() == 2)
        );
        assert!(
            matches!(&operations[1..], [Operation::RemoveMember { member, .. }] if member.as_str() == "x")
        );
        let planned_group = RemoteRef::Planned {
            kind: RemoteKind::Group,
            object: uuid::Uuid::nil(),
        };
        assert!(matches!(
            members(planned_group, &[], &HashSet::new(), |_| true),
            Step::Nothing(Outcome::Unchanged)
        ));
    }
}
