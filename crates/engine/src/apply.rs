//! The executor: applies one item's plan to the target, and keeps the link in step with what
//! Entra holds. It decides nothing beyond what a write's answer forces (a create that finds
//! the object exists adopts it; a write that finds it gone hands it back to the planner).

use model::Provider;

use crate::compare::{Baseline, differences, merged, select};
use crate::local::{Item, NewLink, Reservation};
use crate::outcome::{Outcome, SyncError, escalate};
use crate::plan::{
    Document, ItemPlan, Operation, PlanItem, PlanSubject, RemoteRef, Step, patch_of,
};
use crate::ports::{DeleteRequest, Fence, Links, Protection, Target};
use crate::remote::{
    Anchor, CreateKey, Properties, RemoteId, RemoteKind, RemoteObject, TargetError,
};

/// What applying a plan came to.
#[derive(Debug, Clone, PartialEq)]
pub enum Applied {
    Done(Outcome),
    /// A write to the linked object answered 404: the planner must ask Entra again before
    /// anything is created again.
    Vanished,
}

/// See the module documentation.
pub struct Executor<'a, S, T, F> {
    pub provider: &'a Provider,
    pub store: &'a S,
    pub target: &'a T,
    pub fence: &'a F,
}

/// Member changes of one plan.
#[derive(Default)]
struct MemberCounts {
    added: u64,
    removed: u64,
    failed: u64,
}

impl<S, T, F> Executor<'_, S, T, F>
where
    S: Links + Protection,
    T: Target,
    F: Fence,
{
    pub async fn apply(&self, plan: &ItemPlan) -> Result<Applied, SyncError> {
        let operations = match &plan.step {
            Step::Nothing(outcome) => return Ok(Applied::Done(outcome.clone())),
            Step::Apply(operations) => operations,
        };
        // What the linked remote object holds as far as we know, as the operations move it.
        let mut linked: Option<Properties> = plan.link.as_ref().map(|link| link.written.clone());
        let mut outcome = Outcome::Unchanged;
        let mut members = MemberCounts::default();
        for operation in operations {
            let next = match operation {
                Operation::Create { kind, document } => {
                    let key = CreateKey::derive(self.provider.id, object_of(plan)?, None);
                    self.create(plan, *kind, document, &key, &mut linked)
                        .await?
                }
                Operation::Recreate {
                    kind,
                    previous,
                    document,
                } => {
                    let key = CreateKey::derive(self.provider.id, object_of(plan)?, Some(previous));
                    match self
                        .create(plan, *kind, document, &key, &mut linked)
                        .await?
                    {
                        Outcome::Created { remote_id } => Outcome::Recreated { remote_id },
                        other => other,
                    }
                }
                Operation::Adopt { kind, remote_id } => {
                    let written = plan.seen.clone().unwrap_or_default();
                    self.save(plan, *kind, remote_id, &written).await?;
                    linked = Some(written);
                    Outcome::Adopted {
                        remote_id: remote_id.clone(),
                        changed: Vec::new(),
                    }
                }
                Operation::Update {
                    kind,
                    remote_id,
                    changes,
                } => {
                    self.fenced()?;
                    let patch = patch_of(changes);
                    match self.target.update(*kind, remote_id, &patch).await {
                        Ok(()) => {}
                        Err(TargetError::NotFound { .. }) => return Ok(Applied::Vanished),
                        Err(error) => return escalate(error).map(Applied::Done),
                    }
                    let base = linked.clone().unwrap_or_default();
                    let written = merged(&base, &document_of(plan).writable());
                    self.save(plan, *kind, remote_id, &written).await?;
                    let changed: Vec<String> = patch.keys().cloned().collect();
                    match outcome {
                        Outcome::Adopted { remote_id, .. } => {
                            Outcome::Adopted { remote_id, changed }
                        }
                        _ => Outcome::Updated {
                            remote_id: remote_id.clone(),
                            changed,
                        },
                    }
                }
                Operation::Delete { .. } | Operation::Disable { .. } => {
                    match self.destructive(plan, operation).await? {
                        Some(done) => done,
                        None => continue,
                    }
                }
                Operation::Unlink { kind, remote_id } => {
                    self.store
                        .remove_link(self.provider.id, *kind, object_of(plan)?)
                        .await?;
                    Outcome::Unlinked {
                        remote_id: remote_id.clone(),
                    }
                }
                Operation::AddMembers {
                    group,
                    members: refs,
                } => {
                    let group = linked_id(group)?;
                    let ids = refs.iter().map(linked_id).collect::<Result<Vec<_>, _>>()?;
                    self.fenced()?;
                    match self.target.add_members(&group, &ids).await {
                        Ok(change) => members.added += change.changed.len() as u64,
                        Err(error) => {
                            escalate(error)?;
                            members.failed += ids.len() as u64;
                        }
                    }
                    continue;
                }
                Operation::RemoveMember { group, member } => {
                    self.fenced()?;
                    match self.target.remove_member(group, member).await {
                        Ok(change) => members.removed += change.changed.len() as u64,
                        Err(error) => {
                            escalate(error)?;
                            members.failed += 1;
                        }
                    }
                    continue;
                }
            };
            if let Outcome::Rejected { .. } | Outcome::Held { .. } = next {
                return Ok(Applied::Done(next));
            }
            outcome = next;
        }
        if matches!(plan.item, Item::Members(_) | Item::Membership { .. }) {
            outcome = if members.added + members.removed + members.failed == 0 {
                Outcome::Unchanged
            } else {
                Outcome::Members {
                    added: members.added,
                    removed: members.removed,
                    failed: members.failed,
                }
            };
        }
        Ok(Applied::Done(outcome))
    }

    fn fenced(&self) -> Result<(), SyncError> {
        if self.fence.holds() {
            Ok(())
        } else {
            Err(SyncError::LeaseLost)
        }
    }

    /// Creates the object (idempotently, by `key`) and links it. When Entra says it exists,
    /// finds it by its unique properties and adopts it.
    async fn create(
        &self,
        plan: &ItemPlan,
        kind: RemoteKind,
        document: &Document,
        key: &CreateKey,
        linked: &mut Option<Properties>,
    ) -> Result<Outcome, SyncError> {
        self.fenced()?;
        match self.target.create(kind, document.properties(), key).await {
            Ok(remote) => {
                let written = document.writable();
                self.save(plan, kind, &remote.id, &written).await?;
                *linked = Some(written);
                Ok(Outcome::Created {
                    remote_id: remote.id,
                })
            }
            Err(TargetError::AlreadyExists { failure }) => {
                self.adopt_existing(plan, kind, document, failure).await
            }
            Err(error) => escalate(error),
        }
    }

    /// After a create answered "already exists": find the object by the document's unique
    /// properties and link it, unless another directory object holds it.
    async fn adopt_existing(
        &self,
        plan: &ItemPlan,
        kind: RemoteKind,
        document: &Document,
        failure: crate::remote::RemoteFailure,
    ) -> Result<Outcome, SyncError> {
        let object = object_of(plan)?;
        let mut seen_any = false;
        for anchor in anchors(kind, document.properties()) {
            let found = match self.target.find(kind, &anchor, select(kind)).await {
                Ok(found) => found,
                Err(error) => return escalate(error),
            };
            seen_any |= !found.is_empty();
            let [remote]: [RemoteObject; 1] = match found.try_into() {
                Ok(one) => one,
                Err(_) => continue,
            };
            if let Some(other) = self
                .store
                .link_to_remote(self.provider.id, kind, &remote.id)
                .await?
                && other.object != object
            {
                return Ok(Outcome::Rejected { failure });
            }
            let patch = differences(
                kind,
                document.properties(),
                Baseline::Read {
                    remote: &remote.properties,
                    written: &Properties::new(),
                },
            );
            if !patch.is_empty() {
                self.fenced()?;
                if let Err(error) = self.target.update(kind, &remote.id, &patch).await {
                    return escalate(error);
                }
            }
            let written = merged(&remote.properties, &document.writable());
            self.save(plan, kind, &remote.id, &written).await?;
            return Ok(Outcome::Adopted {
                remote_id: remote.id,
                changed: patch.keys().cloned().collect(),
            });
        }
        if seen_any {
            return Ok(Outcome::Rejected { failure });
        }
        // Entra says it exists but shows nothing yet: our own earlier create, not replicated.
        Err(SyncError::transient(
            "notReplicatedYet",
            format!(
                "Entra says the {kind} exists ({failure}) but does not show it yet; trying again"
            ),
            std::time::Duration::from_secs(15),
        ))
    }

    /// A delete or a disable, if accidental-delete protection allows it now. `None`: the
    /// operation is not one of those.
    async fn destructive(
        &self,
        plan: &ItemPlan,
        operation: &Operation,
    ) -> Result<Option<Outcome>, SyncError> {
        let object = object_of(plan)?;
        let request = DeleteRequest {
            provider: self.provider,
            item: PlanItem {
                seq: 0,
                subject: PlanSubject::of(plan.item),
                object_id: object,
                object_name: plan.name.clone(),
                operations: vec![operation.clone()],
            },
        };
        if let Reservation::Held { run } = self.store.reserve_delete(&request).await? {
            return Ok(Some(Outcome::Held {
                run,
                operations: vec![operation.clone()],
            }));
        }
        self.fenced()?;
        let (kind, remote_id, done) = match operation {
            Operation::Delete { kind, remote_id } => {
                (*kind, remote_id, self.target.delete(*kind, remote_id).await)
            }
            Operation::Disable { remote_id } => {
                let mut patch = Properties::new();
                patch.insert("accountEnabled".into(), false.into());
                (
                    RemoteKind::User,
                    remote_id,
                    self.target
                        .update(RemoteKind::User, remote_id, &patch)
                        .await,
                )
            }
            _ => return Ok(None),
        };
        match done {
            // Gone already is as good as done; only then does the link go.
            Ok(()) | Err(TargetError::NotFound { .. }) => {}
            Err(error) => return escalate(error).map(Some),
        }
        self.store
            .remove_link(self.provider.id, kind, object)
            .await?;
        let remote_id = remote_id.clone();
        Ok(Some(match operation {
            Operation::Disable { .. } => Outcome::Disabled { remote_id },
            _ => Outcome::Deleted { remote_id },
        }))
    }

    async fn save(
        &self,
        plan: &ItemPlan,
        kind: RemoteKind,
        remote_id: &RemoteId,
        written: &Properties,
    ) -> Result<(), SyncError> {
        let link = NewLink {
            provider: self.provider.id,
            kind,
            object: object_of(plan)?,
            remote_id: remote_id.clone(),
            written: written.clone(),
        };
        Ok(self.store.save_link(&link).await?)
    }
}

/// The user or group a plan writes (memberships have none).
fn object_of(plan: &ItemPlan) -> Result<uuid::Uuid, SyncError> {
    plan.item
        .object()
        .map(|(_, object)| object)
        .ok_or_else(|| SyncError::NotReady(format!("{} names no object", plan.item)))
}

fn document_of(plan: &ItemPlan) -> Document {
    plan.document.clone().unwrap_or_default()
}

/// A remote object a membership write needs: it must exist by now.
fn linked_id(reference: &RemoteRef) -> Result<RemoteId, SyncError> {
    match reference {
        RemoteRef::Linked { id } => Ok(id.clone()),
        RemoteRef::Planned { kind, object } => Err(SyncError::NotReady(format!(
            "{kind} {object} is not in Entra yet"
        ))),
    }
}

/// The unique properties to find an object by after a create said it exists.
fn anchors(kind: RemoteKind, document: &Properties) -> Vec<Anchor> {
    let text = |name: &str| {
        document
            .get(name)
            .and_then(serde_json::Value::as_str)
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
