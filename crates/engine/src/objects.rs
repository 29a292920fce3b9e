//! Reconciling one user or group: create, adopt, update only what differs, or apply the delete
//! action when it is gone from the directory or out of scope.

use model::{Group, GroupDeleteAction, GroupId, User, UserDeleteAction, UserId};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::compare::{differences, merged, select, writable};
use crate::outcome::{FieldChange, Operation, Outcome, SyncError, escalate};
use crate::ports::{
    Anchor, Directory, Link, Links, Properties, RemoteId, RemoteKind, RemoteObject, Target,
    TargetError,
};
use crate::scope::{group_in_scope, user_in_scope};
use crate::sync::{Documented, Known, ProviderSync};

/// A directory object that exists and is in scope.
#[derive(Clone, Copy)]
enum Present<'a> {
    User(&'a User),
    Group(&'a Group),
}

impl Present<'_> {
    fn kind(self) -> RemoteKind {
        match self {
            Present::User(_) => RemoteKind::User,
            Present::Group(_) => RemoteKind::Group,
        }
    }

    fn object(self) -> Uuid {
        match self {
            Present::User(user) => user.id.as_uuid(),
            Present::Group(group) => group.id.as_uuid(),
        }
    }

    /// What discovery matches it by: a user's email, a group's name, lower-cased.
    fn match_key(self) -> Option<String> {
        match self {
            Present::User(user) => user
                .email
                .as_ref()
                .map(|email| email.as_str().to_lowercase()),
            Present::Group(group) => Some(group.name.as_str().to_lowercase()),
        }
    }
}

/// What to do remotely when a linked object leaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Leave {
    Delete,
    Disable,
    Unlink,
}

impl<D: Directory, L: Links, T: Target> ProviderSync<'_, D, L, T> {
    /// Brings the remote user in line with the directory user `id` (or applies the delete
    /// action when the user is gone or out of scope).
    pub async fn reconcile_user(&self, id: UserId) -> Result<Outcome, SyncError> {
        let kind = RemoteKind::User;
        let link = self
            .links
            .link(self.provider.id, kind, id.as_uuid())
            .await?;
        match self.directory.user(id).await? {
            Some(user) if user_in_scope(self.directory, &self.provider.settings, &user).await? => {
                self.reconcile_present(Present::User(&user), link).await
            }
            _ => self.leave(kind, id.as_uuid(), link).await,
        }
    }

    /// Brings the remote group in line with the directory group `id` (or applies the delete
    /// action when the group is gone or out of scope).
    pub async fn reconcile_group(&self, id: GroupId) -> Result<Outcome, SyncError> {
        let kind = RemoteKind::Group;
        let link = self
            .links
            .link(self.provider.id, kind, id.as_uuid())
            .await?;
        match self.directory.group(id).await? {
            Some(group) if group_in_scope(&self.provider.settings, &group) => {
                self.reconcile_present(Present::Group(&group), link).await
            }
            _ => self.leave(kind, id.as_uuid(), link).await,
        }
    }

    /// An object in the directory and in scope: create it, adopt it, or bring it in line.
    async fn reconcile_present(
        &self,
        present: Present<'_>,
        link: Option<Link>,
    ) -> Result<Outcome, SyncError> {
        let kind = present.kind();
        let Some(link) = link else {
            let key = present.match_key();
            if let Some(reason) = self.ambiguity(kind, key.as_deref()).await? {
                return Ok(Outcome::Skipped { reason });
            }
            if let Some(remote) = self.planned_adoption(kind, key).await? {
                let value = serde_json::Value::Object(remote.properties.clone());
                return match self.document(present, Some(&value)).await? {
                    Documented::Document(document) => Ok(plan_adoption(kind, remote, &document)),
                    Documented::Skipped(reason) => Ok(Outcome::Skipped { reason }),
                };
            }
            return match self.document(present, None).await? {
                Documented::Document(document) => {
                    self.create(kind, present.object(), document).await
                }
                Documented::Skipped(reason) => Ok(Outcome::Skipped { reason }),
            };
        };
        let known = self.known(&link).await?;
        if let Known::Gone = known {
            return match self.document(present, None).await? {
                Documented::Document(document) => self.recreate(link, document).await,
                Documented::Skipped(reason) => Ok(Outcome::Skipped { reason }),
            };
        }
        match self.document(present, Some(&known.as_value(&link))).await? {
            Documented::Document(document) => self.update(link, &known, document).await,
            Documented::Skipped(reason) => Ok(Outcome::Skipped { reason }),
        }
    }

    async fn document(
        &self,
        present: Present<'_>,
        link: Option<&serde_json::Value>,
    ) -> Result<Documented, SyncError> {
        match present {
            Present::User(user) => self.user_document(user, link).await,
            Present::Group(group) => self.group_document(group, link).await,
        }
    }

    /// When discovery found several unlinked remote objects matching this object, it linked
    /// none; creating yet another would make it worse. The reason to skip it, if so.
    async fn ambiguity(
        &self,
        kind: RemoteKind,
        key: Option<&str>,
    ) -> Result<Option<String>, SyncError> {
        let (true, Some(key)) = (self.provider.settings.discovery, key) else {
            return Ok(None);
        };
        if self
            .links
            .snapshot_taken_at(self.provider.id)
            .await?
            .is_none()
        {
            return Ok(None);
        }
        let matches = self.unlinked_matches(kind, key).await?;
        Ok((matches.len() > 1).then(|| {
            let ids: Vec<&str> = matches.iter().map(|remote| remote.id.as_str()).collect();
            format!(
                "{} {kind}s in Entra match {key:?} ({}): link the right one by hand \
                 (entrasync link add), or tell them apart in Entra",
                matches.len(),
                ids.join(", ")
            )
        }))
    }

    /// In a dry run, the remote object discovery would have linked (a real run links it during
    /// discovery; a dry run links nothing): the one unlinked snapshot object matching `key`.
    pub(crate) async fn planned_adoption(
        &self,
        kind: RemoteKind,
        key: Option<String>,
    ) -> Result<Option<RemoteObject>, SyncError> {
        let (true, true, Some(key)) = (self.dry_run(), self.provider.settings.discovery, key)
        else {
            return Ok(None);
        };
        if self
            .links
            .snapshot_taken_at(self.provider.id)
            .await?
            .is_none()
        {
            return Ok(None);
        }
        let mut matches = self.unlinked_matches(kind, &key).await?;
        Ok(if matches.len() == 1 {
            matches.pop()
        } else {
            None
        })
    }

    async fn create(
        &self,
        kind: RemoteKind,
        object: Uuid,
        document: Properties,
    ) -> Result<Outcome, SyncError> {
        if self.dry_run() {
            return Ok(Outcome::Planned {
                operations: vec![Operation::Create {
                    document: redacted(&document),
                }],
            });
        }
        match self.target.create(kind, &document).await {
            Ok(remote) => {
                self.save(kind, object, remote.id.clone(), writable(&document))
                    .await?;
                Ok(Outcome::Created {
                    remote_id: remote.id,
                })
            }
            Err(TargetError::AlreadyExists { failure }) => {
                match self.adopt_existing(kind, object, &document).await? {
                    Some(outcome) => Ok(outcome),
                    None => Ok(Outcome::Rejected { failure }),
                }
            }
            Err(error) => escalate(error),
        }
    }

    /// After a create answered "already exists": find the object by the document's unique
    /// properties and link it, unless another directory object holds it. `None` when no single
    /// unlinked object answers.
    async fn adopt_existing(
        &self,
        kind: RemoteKind,
        object: Uuid,
        document: &Properties,
    ) -> Result<Option<Outcome>, SyncError> {
        for anchor in anchors(kind, document) {
            let found = match self.target.find(kind, &anchor, select(kind)).await {
                Ok(found) => found,
                Err(error) => return escalate(error).map(Some),
            };
            let [remote]: [RemoteObject; 1] = match found.try_into() {
                Ok(one) => one,
                Err(_) => continue,
            };
            if let Some(other) = self
                .links
                .link_to_remote(self.provider.id, kind, &remote.id)
                .await?
                && other.object != object
            {
                return Ok(None);
            }
            let patch = differences(
                kind,
                document,
                crate::compare::Baseline::Read {
                    remote: &remote.properties,
                    written: &Properties::new(),
                },
            );
            if !patch.is_empty()
                && let Err(error) = self.target.update(kind, &remote.id, &patch).await
            {
                return escalate(error).map(Some);
            }
            let written = merged(&remote.properties, &writable(document));
            self.save(kind, object, remote.id.clone(), written).await?;
            return Ok(Some(Outcome::Adopted {
                remote_id: remote.id,
                changed: patch.keys().cloned().collect(),
            }));
        }
        Ok(None)
    }

    async fn recreate(&self, link: Link, document: Properties) -> Result<Outcome, SyncError> {
        if self.dry_run() {
            return Ok(Outcome::Planned {
                operations: vec![Operation::Recreate {
                    previous: link.remote_id,
                    document: redacted(&document),
                }],
            });
        }
        self.links
            .remove_link(self.provider.id, link.kind, link.object)
            .await?;
        Ok(match self.create(link.kind, link.object, document).await? {
            Outcome::Created { remote_id } => Outcome::Recreated { remote_id },
            other => other,
        })
    }

    async fn update(
        &self,
        link: Link,
        known: &Known,
        document: Properties,
    ) -> Result<Outcome, SyncError> {
        let patch = differences(link.kind, &document, known.baseline(&link));
        if patch.is_empty() {
            return Ok(Outcome::Unchanged);
        }
        if self.dry_run() {
            let changes = field_changes(&patch, &known.as_value(&link));
            return Ok(Outcome::Planned {
                operations: vec![Operation::Update {
                    remote_id: link.remote_id,
                    changes,
                }],
            });
        }
        match self.target.update(link.kind, &link.remote_id, &patch).await {
            Ok(()) => {
                let written = merged(&link.written, &writable(&document));
                self.save(link.kind, link.object, link.remote_id.clone(), written)
                    .await?;
                Ok(Outcome::Updated {
                    remote_id: link.remote_id,
                    changed: patch.keys().cloned().collect(),
                })
            }
            Err(TargetError::NotFound { .. }) => {
                // Deleted in Entra since we last looked: create it again (with a fresh
                // document: a create needs what an update leaves out, such as a password).
                let fresh = self.document_for_create(link.kind, link.object).await?;
                match fresh {
                    Documented::Document(document) => self.recreate(link, document).await,
                    Documented::Skipped(reason) => Ok(Outcome::Skipped { reason }),
                }
            }
            Err(error) => escalate(error),
        }
    }

    async fn document_for_create(
        &self,
        kind: RemoteKind,
        object: Uuid,
    ) -> Result<Documented, SyncError> {
        match kind {
            RemoteKind::User => match self.directory.user(UserId::from_uuid(object)).await? {
                Some(user) => self.document(Present::User(&user), None).await,
                None => Ok(Documented::Skipped("the user was deleted".into())),
            },
            RemoteKind::Group => match self.directory.group(GroupId::from_uuid(object)).await? {
                Some(group) => self.document(Present::Group(&group), None).await,
                None => Ok(Documented::Skipped("the group was deleted".into())),
            },
        }
    }

    /// The object left the directory or the scope: apply the delete action to its link.
    async fn leave(
        &self,
        kind: RemoteKind,
        object: Uuid,
        link: Option<Link>,
    ) -> Result<Outcome, SyncError> {
        let Some(link) = link else {
            return Ok(Outcome::OutOfScope);
        };
        let settings = &self.provider.settings;
        let action = match kind {
            RemoteKind::User => match settings.user_delete_action {
                UserDeleteAction::Delete => Leave::Delete,
                UserDeleteAction::Suspend => Leave::Disable,
                UserDeleteAction::DoNothing => Leave::Unlink,
            },
            RemoteKind::Group => match settings.group_delete_action {
                GroupDeleteAction::Delete => Leave::Delete,
                GroupDeleteAction::DoNothing => Leave::Unlink,
            },
        };
        let remote_id = link.remote_id.clone();
        let operation = match action {
            Leave::Delete => Operation::Delete {
                remote_id: remote_id.clone(),
            },
            Leave::Disable => Operation::Disable {
                remote_id: remote_id.clone(),
            },
            Leave::Unlink => Operation::Unlink {
                remote_id: remote_id.clone(),
            },
        };
        if self.dry_run() {
            return Ok(Outcome::Planned {
                operations: vec![operation],
            });
        }
        if self.hold_deletes && action != Leave::Unlink {
            return Ok(Outcome::Held {
                operations: vec![operation],
            });
        }
        let done = match action {
            Leave::Delete => self.target.delete(kind, &remote_id).await,
            Leave::Disable => {
                let mut patch = Properties::new();
                patch.insert("accountEnabled".into(), Value::Bool(false));
                self.target.update(kind, &remote_id, &patch).await
            }
            Leave::Unlink => Ok(()),
        };
        match done {
            // Gone already is as good as done; only then does the link go.
            Ok(()) | Err(TargetError::NotFound { .. }) => {}
            Err(error) => return escalate(error),
        }
        self.links
            .remove_link(self.provider.id, kind, object)
            .await?;
        Ok(match action {
            Leave::Delete => Outcome::Deleted { remote_id },
            Leave::Disable => Outcome::Disabled { remote_id },
            Leave::Unlink => Outcome::Unlinked { remote_id },
        })
    }

    pub(crate) async fn save(
        &self,
        kind: RemoteKind,
        object: Uuid,
        remote_id: RemoteId,
        written: Properties,
    ) -> Result<(), SyncError> {
        let link = Link {
            provider: self.provider.id,
            kind,
            object,
            remote_id,
            written,
            synced_at: Self::now(),
        };
        Ok(self.links.save_link(&link).await?)
    }
}

/// The plan for an object discovery would adopt: link it, then PATCH what differs.
fn plan_adoption(kind: RemoteKind, remote: RemoteObject, document: &Properties) -> Outcome {
    let patch = differences(
        kind,
        document,
        crate::compare::Baseline::Read {
            remote: &remote.properties,
            written: &Properties::new(),
        },
    );
    let mut operations = vec![Operation::Adopt {
        remote_id: remote.id.clone(),
    }];
    if !patch.is_empty() {
        operations.push(Operation::Update {
            remote_id: remote.id,
            changes: field_changes(&patch, &Value::Object(remote.properties)),
        });
    }
    Outcome::Planned { operations }
}

/// Each property of `patch` with what `baseline` holds for it.
fn field_changes(patch: &Properties, baseline: &Value) -> Vec<FieldChange> {
    patch
        .iter()
        .map(|(property, after)| FieldChange {
            property: property.clone(),
            before: baseline.get(property).cloned(),
            after: after.clone(),
        })
        .collect()
}

/// The unique properties to find an object by after a create said it exists.
fn anchors(kind: RemoteKind, document: &Properties) -> Vec<Anchor> {
    let text = |name: &str| {
        document
            .get(name)
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let mut anchors = Vec::new();
    match kind {
        RemoteKind::User => {
            if let Some(upn) = text("userPrincipalName") {
                anchors.push(Anchor::UserPrincipalName(upn));
            }
            if let Some(nickname) = text("mailNickname") {
                anchors.push(Anchor::MailNickname(nickname));
            }
        }
        RemoteKind::Group => {
            if let Some(nickname) = text("mailNickname") {
                anchors.push(Anchor::MailNickname(nickname));
            }
            if let Some(name) = text("displayName") {
                anchors.push(Anchor::DisplayName(name));
            }
        }
    }
    anchors
}

/// The document as a plan shows it: passwords replaced by a marker.
pub fn redacted(document: &Properties) -> Properties {
    let mut out = document.clone();
    if let Some(Value::Object(profile)) = out.get_mut("passwordProfile")
        && profile.contains_key("password")
    {
        profile.insert("password".into(), json!("(random, not shown)"));
    }
    out
}
