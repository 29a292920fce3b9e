//! Plans: what a sync does remotely, as typed operations. The planner decides them (reading
//! only), the executor applies them; a dry run keeps them and applies nothing.

use serde::{Deserialize, Serialize, Serializer};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::compare::{CREATE_ONLY, writable};
use crate::local::{Item, Link};
use crate::remote::{Properties, RemoteId, RemoteKind};

/// A document: the Graph JSON a provider's mappings want for one object. Shown and stored with
/// its secrets (a new user's password) replaced by a marker; only the executor reads them.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(transparent)]
pub struct Document(Properties);

impl Document {
    pub fn new(properties: Properties) -> Self {
        Self(properties)
    }

    /// Every property, secrets included: what a create sends.
    pub fn properties(&self) -> &Properties {
        &self.0
    }

    /// Without the create-only properties: what an update sends and a link remembers.
    pub fn writable(&self) -> Properties {
        writable(&self.0)
    }

    /// As shown in plans: secrets replaced.
    pub fn redacted(&self) -> Properties {
        let mut out = self.0.clone();
        for name in CREATE_ONLY {
            if let Some(Value::Object(profile)) = out.get_mut(*name)
                && profile.contains_key("password")
            {
                profile.insert("password".into(), json!("(random, not shown)"));
            }
        }
        out
    }
}

impl Serialize for Document {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.redacted().serialize(serializer)
    }
}

/// A remote object an operation refers to: one that exists, or one the plan creates first.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "remote", rename_all = "snake_case")]
pub enum RemoteRef {
    Linked {
        id: RemoteId,
    },
    /// Created (or adopted) earlier in the same plan: it has no remote id yet.
    Planned {
        kind: RemoteKind,
        object: Uuid,
    },
}

impl RemoteRef {
    pub fn linked(id: RemoteId) -> Self {
        RemoteRef::Linked { id }
    }

    pub fn remote_id(&self) -> Option<&RemoteId> {
        match self {
            RemoteRef::Linked { id } => Some(id),
            RemoteRef::Planned { .. } => None,
        }
    }
}

/// What a plan does to a directory object's remote twin, as later steps of the same plan see
/// it (its membership step runs after its objects step).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Planned {
    /// It is made (created, or adopted) as this remote object.
    Remote(RemoteRef),
    /// Its link goes; the remote object stays (disabled, or left alone).
    Unlinked,
    /// The remote object is deleted.
    Deleted,
}

impl Planned {
    /// What `operations` (one object's plan) leave behind, if they change the object's link.
    pub fn of(kind: RemoteKind, object: Uuid, operations: &[Operation]) -> Option<Self> {
        operations
            .iter()
            .rev()
            .find_map(|operation| match operation {
                Operation::Create { .. } | Operation::Recreate { .. } => {
                    Some(Planned::Remote(RemoteRef::Planned { kind, object }))
                }
                Operation::Adopt { remote_id, .. } => {
                    Some(Planned::Remote(RemoteRef::linked(remote_id.clone())))
                }
                Operation::Delete { .. } => Some(Planned::Deleted),
                Operation::Disable { .. } | Operation::Unlink { .. } => Some(Planned::Unlinked),
                _ => None,
            })
    }
}

/// One property an update changes: what Entra holds (as far as we know) and what it will hold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldChange {
    pub property: String,
    pub before: Option<Value>,
    pub after: Value,
}

/// A remote operation a sync performs, or in a dry run would perform.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "operation", rename_all = "snake_case")]
pub enum Operation {
    /// Create the object with this document.
    Create {
        kind: RemoteKind,
        document: Document,
    },
    /// Link an existing remote object (an update may follow).
    Adopt {
        kind: RemoteKind,
        remote_id: RemoteId,
    },
    /// PATCH these properties (only those that differ).
    Update {
        kind: RemoteKind,
        remote_id: RemoteId,
        changes: Vec<FieldChange>,
    },
    /// Create again an object Entra confirmed is gone (a GET by id answered 404), and link it.
    Recreate {
        kind: RemoteKind,
        previous: RemoteId,
        document: Document,
    },
    /// Delete the remote object.
    Delete {
        kind: RemoteKind,
        remote_id: RemoteId,
    },
    /// Set `accountEnabled = false` on the remote user.
    Disable { remote_id: RemoteId },
    /// Forget the link, touch nothing remotely.
    Unlink {
        kind: RemoteKind,
        remote_id: RemoteId,
    },
    /// Add members to a group.
    AddMembers {
        group: RemoteRef,
        members: Vec<RemoteRef>,
    },
    /// Remove a member from a group.
    RemoveMember { group: RemoteId, member: RemoteId },
}

impl Operation {
    /// Every operation's name, as [`Operation::name`] gives it (and its JSON `operation` tag).
    pub const NAMES: [&'static str; 9] = [
        "create",
        "adopt",
        "update",
        "recreate",
        "delete",
        "disable",
        "unlink",
        "add_members",
        "remove_member",
    ];

    /// Its name: what the plan's JSON tags it with, and what a plan is filtered by.
    pub fn name(&self) -> &'static str {
        match self {
            Operation::Create { .. } => "create",
            Operation::Adopt { .. } => "adopt",
            Operation::Update { .. } => "update",
            Operation::Recreate { .. } => "recreate",
            Operation::Delete { .. } => "delete",
            Operation::Disable { .. } => "disable",
            Operation::Unlink { .. } => "unlink",
            Operation::AddMembers { .. } => "add_members",
            Operation::RemoveMember { .. } => "remove_member",
        }
    }

    /// A delete or a disable: what accidental-delete protection counts.
    pub fn is_destructive(&self) -> bool {
        matches!(self, Operation::Delete { .. } | Operation::Disable { .. })
    }

    /// Whether the operation writes to the remote (adopting and unlinking do not).
    pub fn writes_remotely(&self) -> bool {
        !matches!(self, Operation::Adopt { .. } | Operation::Unlink { .. })
    }
}

/// The PATCH body of an update.
pub(crate) fn patch_of(changes: &[FieldChange]) -> Properties {
    changes
        .iter()
        .map(|change| (change.property.clone(), change.after.clone()))
        .collect()
}

/// Each property of `patch` with what `baseline` holds for it.
pub(crate) fn field_changes(patch: &Properties, baseline: &Properties) -> Vec<FieldChange> {
    patch
        .iter()
        .map(|(property, after)| FieldChange {
            property: property.clone(),
            before: baseline.get(property).cloned(),
            after: after.clone(),
        })
        .collect()
}

/// What reconciling one item comes to, decided: nothing (and why), or operations to apply.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// In step already, skipped, or out of scope.
    Nothing(crate::Outcome),
    Apply(Vec<Operation>),
}

/// One item's plan, with what its executor needs besides the operations.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemPlan {
    pub item: Item,
    /// The username or group name (for a linked object gone from the directory, its remote
    /// id), as plans show it.
    pub name: String,
    /// The link the plan was made against (`None`: not linked).
    pub link: Option<Link>,
    /// What the remote object was seen to hold (discovery, or a GET), when it was read.
    pub seen: Option<Properties>,
    /// The mapped document, when the plan writes the object's properties.
    pub document: Option<Document>,
    pub step: Step,
}

impl ItemPlan {
    pub(crate) fn nothing(item: Item, name: String, outcome: crate::Outcome) -> Self {
        Self {
            item,
            name,
            link: None,
            seen: None,
            document: None,
            step: Step::Nothing(outcome),
        }
    }

    /// The operations (none when there is nothing to do).
    pub fn operations(&self) -> &[Operation] {
        match &self.step {
            Step::Nothing(_) => &[],
            Step::Apply(operations) => operations,
        }
    }
}

/// What a plan item is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlanSubject {
    User,
    Group,
    /// A group's members.
    Members,
}

impl PlanSubject {
    pub fn of(item: Item) -> Self {
        match item {
            Item::User(_) => PlanSubject::User,
            Item::Group(_) => PlanSubject::Group,
            Item::Membership { .. } | Item::Members(_) => PlanSubject::Members,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            PlanSubject::User => "user",
            PlanSubject::Group => "group",
            PlanSubject::Members => "members",
        }
    }
}

/// One directory object's part of a stored plan (a dry run's, or the deletes a run holds).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanItem {
    /// Its position in the plan.
    pub seq: i64,
    pub subject: PlanSubject,
    /// The user or group (for members, the group).
    pub object_id: Uuid,
    /// The username or group name.
    pub object_name: String,
    /// The remote operations, in order.
    pub operations: Vec<Operation>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_operations_name_is_its_json_tag() {
        let id = || RemoteId::new("r1");
        let document = Document::new(Default::default());
        let every = [
            Operation::Create {
                kind: RemoteKind::User,
                document: document.clone(),
            },
            Operation::Adopt {
                kind: RemoteKind::User,
                remote_id: id(),
            },
            Operation::Update {
                kind: RemoteKind::User,
                remote_id: id(),
                changes: vec![],
            },
            Operation::Recreate {
                kind: RemoteKind::Group,
                previous: id(),
                document,
            },
            Operation::Delete {
                kind: RemoteKind::User,
                remote_id: id(),
            },
            Operation::Disable { remote_id: id() },
            Operation::Unlink {
                kind: RemoteKind::Group,
                remote_id: id(),
            },
            Operation::AddMembers {
                group: RemoteRef::linked(id()),
                members: vec![],
            },
            Operation::RemoveMember {
                group: id(),
                member: id(),
            },
        ];
        let names: Vec<&str> = every.iter().map(Operation::name).collect();
        assert_eq!(names, Operation::NAMES);
        for operation in &every {
            let json = serde_json::to_value(operation).expect("JSON");
            assert_eq!(json["operation"], operation.name(), "{json}");
        }
    }

    #[test]
    fn documents_never_show_passwords() {
        let document = Document::new(
            json!({"displayName": "Ann", "passwordProfile": {"password": "s3cret!", "forceChangePasswordNextSignIn": true}})
                .as_object()
                .cloned()
                .unwrap_or_default(),
        );
        let shown = serde_json::to_string(&Operation::Create {
            kind: RemoteKind::User,
            document: document.clone(),
        })
        .unwrap_or_default();
        assert!(!shown.contains("s3cret!"), "{shown}");
        assert!(shown.contains("forceChangePasswordNextSignIn"), "{shown}");
        assert_eq!(
            document.properties()["passwordProfile"]["password"],
            json!("s3cret!")
        );
        assert!(!document.writable().contains_key("passwordProfile"));
    }
}
