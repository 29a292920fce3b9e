//! The planner: gathers the facts about one item (the directory object, its scope, its link,
//! what Entra was seen to hold, the mapped document) and asks [`crate::decide`] what to do.
//! It reads only: it is given the target as [`TargetRead`] and the links as [`LinksRead`], so
//! a plan cannot write anything, by construction.

use std::collections::HashMap;
use std::future::Future;
use std::time::Duration;

use mapping::Mapped;
use model::{Group, GroupId, Provider, User, UserId};
use serde_json::Value;
use uuid::Uuid;

use crate::compare::select;
use crate::decide::{self, Seen};
use crate::local::{Item, Link, LocalError, Snapshot};
use crate::outcome::{Outcome, SyncError, escalate};
use crate::plan::{Document, ItemPlan, Planned};
use crate::ports::{Directory, Evaluator, LinksRead, Snapshots, TargetRead};
use crate::remote::{RemoteKind, RemoteObject, TargetError};
use crate::scope::{group_in_scope, user_in_scope};

mod members;

/// How long after our last write a 404 is taken for replication lag rather than a deletion:
/// Graph may not show an object it made a moment ago.
pub const REPLICATION_GRACE: Duration = Duration::from_secs(5 * 60);

/// Remote objects a dry run's plan makes before a later step refers to them (none in a real
/// run: by its membership step, what it made is linked).
pub trait PlannedRemotes: Send + Sync {
    fn planned(
        &self,
        kind: RemoteKind,
        object: Uuid,
    ) -> impl Future<Output = Result<Option<Planned>, LocalError>> + Send;

    /// [`PlannedRemotes::planned`] of several objects at once: only those planned appear.
    fn planned_of(
        &self,
        kind: RemoteKind,
        objects: &[Uuid],
    ) -> impl Future<Output = Result<HashMap<Uuid, Planned>, LocalError>> + Send;
}

/// A real run: nothing is planned ahead.
#[derive(Debug, Clone, Copy, Default)]
pub struct NothingPlanned;

impl PlannedRemotes for NothingPlanned {
    async fn planned(&self, _: RemoteKind, _: Uuid) -> Result<Option<Planned>, LocalError> {
        Ok(None)
    }

    async fn planned_of(
        &self,
        _: RemoteKind,
        _: &[Uuid],
    ) -> Result<HashMap<Uuid, Planned>, LocalError> {
        Ok(HashMap::new())
    }
}

/// See the module documentation.
pub struct Planner<'a, S, R, E> {
    pub provider: &'a Provider,
    pub store: &'a S,
    pub target: &'a R,
    pub evaluator: &'a E,
    /// What to compare with: a full sync's own snapshot, the provider's current one for direct
    /// syncs, or none (compare with what was written).
    pub snapshot: Option<Snapshot>,
    /// How long after our last write a 404 is taken for replication lag (normally
    /// [`REPLICATION_GRACE`]).
    pub grace: Duration,
}

/// A directory object that exists and is in scope.
#[derive(Clone, Copy)]
enum Present<'a> {
    User(&'a User),
    Group(&'a Group),
}

impl Present<'_> {
    fn item(self) -> Item {
        match self {
            Present::User(user) => Item::User(user.id),
            Present::Group(group) => Item::Group(group.id),
        }
    }

    fn kind(self) -> RemoteKind {
        match self {
            Present::User(_) => RemoteKind::User,
            Present::Group(_) => RemoteKind::Group,
        }
    }

    fn name(self) -> String {
        match self {
            Present::User(user) => user.username.as_str().to_owned(),
            Present::Group(group) => group.name.as_str().to_owned(),
        }
    }

    /// What discovery matches it by: a user's email, a group's name, lower-cased.
    fn match_key(self) -> Option<String> {
        match self {
            Present::User(user) => user.email.as_ref().map(|e| e.as_str().to_lowercase()),
            Present::Group(group) => Some(group.name.as_str().to_lowercase()),
        }
    }
}

/// A document, or the outcome that says why there is none.
enum Wanted {
    Document(Document),
    Skipped(Outcome),
}

/// What a GET by id said of a linked object the planner could not otherwise see.
enum Confirmed {
    Present(crate::remote::Properties),
    Gone,
}

impl<S, R, E> Planner<'_, S, R, E>
where
    S: Directory + LinksRead + Snapshots,
    R: TargetRead,
    E: Evaluator,
{
    /// The plan for one item, in a real run.
    pub async fn plan(&self, item: Item) -> Result<ItemPlan, SyncError> {
        self.plan_with(item, &NothingPlanned).await
    }

    /// The plan for one item; memberships may refer to remote objects `planned` earlier.
    pub async fn plan_with(
        &self,
        item: Item,
        planned: &impl PlannedRemotes,
    ) -> Result<ItemPlan, SyncError> {
        match item {
            Item::User(id) => self.plan_user(id).await,
            Item::Group(id) => self.plan_group(id).await,
            Item::Membership { group, user } => self.plan_membership(group, user, planned).await,
            Item::Members(group) => self.plan_members(group, planned).await,
        }
    }

    async fn plan_user(&self, id: UserId) -> Result<ItemPlan, SyncError> {
        let link = self.link(RemoteKind::User, id.as_uuid()).await?;
        match self.store.user(id).await? {
            Some(user) if user_in_scope(self.store, &self.provider.settings, &user).await? => {
                self.plan_present(Present::User(&user), link).await
            }
            user => Ok(self.plan_leaving(
                Item::User(id),
                user.map(|user| user.username.as_str().to_owned()),
                link,
            )),
        }
    }

    async fn plan_group(&self, id: GroupId) -> Result<ItemPlan, SyncError> {
        let link = self.link(RemoteKind::Group, id.as_uuid()).await?;
        match self.store.group(id).await? {
            Some(group) if group_in_scope(&self.provider.settings, &group) => {
                self.plan_present(Present::Group(&group), link).await
            }
            group => Ok(self.plan_leaving(
                Item::Group(id),
                group.map(|group| group.name.as_str().to_owned()),
                link,
            )),
        }
    }

    /// Gone from the directory (`name` is `None`) or out of scope.
    fn plan_leaving(&self, item: Item, name: Option<String>, link: Option<Link>) -> ItemPlan {
        let step = decide::leave(link.as_ref(), &self.provider.settings);
        let name = name.unwrap_or_else(|| match &link {
            Some(link) => format!("(deleted) {}", link.remote_id),
            None => "(deleted)".to_owned(),
        });
        ItemPlan {
            item,
            name,
            link,
            seen: None,
            document: None,
            step,
        }
    }

    async fn plan_present(
        &self,
        present: Present<'_>,
        link: Option<Link>,
    ) -> Result<ItemPlan, SyncError> {
        let (item, name) = (present.item(), present.name());
        let Some(link) = link else {
            return self.plan_unlinked(present).await;
        };
        let seen = match self.seen(&link).await? {
            Some(seen) => seen,
            // The snapshot does not list it: ask Entra before anything is created again.
            None => match self.confirm(&link).await? {
                Ok(Confirmed::Present(properties)) => Seen::Read(properties),
                Ok(Confirmed::Gone) => {
                    return Ok(match self.document(present, None).await? {
                        Wanted::Document(document) => ItemPlan {
                            step: decide::recreate(&link, document.clone()),
                            document: Some(document),
                            item,
                            name,
                            link: Some(link),
                            seen: None,
                        },
                        Wanted::Skipped(outcome) => ItemPlan::nothing(item, name, outcome),
                    });
                }
                Err(outcome) => return Ok(ItemPlan::nothing(item, name, outcome)),
            },
        };
        let known = Value::Object(seen.as_known(&link));
        Ok(match self.document(present, Some(known)).await? {
            Wanted::Document(document) => ItemPlan {
                step: decide::update(&link, &seen, &document),
                document: Some(document),
                item,
                name,
                seen: match seen {
                    Seen::Read(properties) => Some(properties),
                    Seen::Written => None,
                },
                link: Some(link),
            },
            Wanted::Skipped(outcome) => ItemPlan {
                link: Some(link),
                ..ItemPlan::nothing(item, name, outcome)
            },
        })
    }

    /// Not linked: adopt the one unlinked remote object discovery matched, or create it; when
    /// several match, creating yet another would make it worse.
    async fn plan_unlinked(&self, present: Present<'_>) -> Result<ItemPlan, SyncError> {
        let (item, name, kind) = (present.item(), present.name(), present.kind());
        let mut candidates = match present.match_key() {
            Some(key) => self.unlinked_matches(kind, &key).await?,
            None => Vec::new(),
        };
        if candidates.len() > 1 {
            let outcome = Outcome::Ambiguous {
                kind,
                key: present.match_key().unwrap_or_default(),
                candidates: candidates.into_iter().map(|c| c.id).collect(),
            };
            return Ok(ItemPlan::nothing(item, name, outcome));
        }
        let candidate = candidates.pop();
        let link_value = candidate
            .as_ref()
            .map(|c| Value::Object(c.properties.clone()));
        Ok(match self.document(present, link_value).await? {
            Wanted::Document(document) => ItemPlan {
                step: match &candidate {
                    Some(candidate) => decide::adopt(kind, candidate, &document),
                    None => decide::create(kind, document.clone()),
                },
                document: Some(document),
                seen: candidate.map(|c| c.properties),
                item,
                name,
                link: None,
            },
            Wanted::Skipped(outcome) => ItemPlan::nothing(item, name, outcome),
        })
    }

    /// What the snapshot says Entra holds for a linked object: `None` when the snapshot was
    /// read after our last write and does not list it.
    async fn seen(&self, link: &Link) -> Result<Option<Seen>, LocalError> {
        let Some(snapshot) = self.snapshot else {
            return Ok(Some(Seen::Written));
        };
        if link.synced_at >= snapshot.taken_at {
            return Ok(Some(Seen::Written));
        }
        Ok(self
            .store
            .snapshot_object(snapshot.id, link.kind, &link.remote_id)
            .await?
            .map(|remote| Seen::Read(remote.properties)))
    }

    /// Asks Entra for a linked object by id. `Err(outcome)` when Entra refused the question.
    async fn confirm(&self, link: &Link) -> Result<Result<Confirmed, Outcome>, SyncError> {
        match self
            .target
            .get(link.kind, &link.remote_id, select(link.kind))
            .await
        {
            Ok(remote) => Ok(Ok(Confirmed::Present(remote.properties))),
            Err(TargetError::NotFound { .. }) if is_young(link, self.grace) => {
                Err(SyncError::transient(
                    "notReplicatedYet",
                    format!(
                        "Entra does not show {} {} yet, written at {}: not taken for deleted \
                     within {} minutes of a write (replication)",
                        link.kind,
                        link.remote_id,
                        link.synced_at,
                        self.grace.as_secs().div_ceil(60)
                    ),
                    Duration::from_secs(30),
                ))
            }
            Err(TargetError::NotFound { .. }) => Ok(Ok(Confirmed::Gone)),
            Err(error) => escalate(error).map(Err),
        }
    }

    /// After a write to the linked object answered 404: the plan once Entra was asked again.
    pub(crate) async fn replan_vanished(&self, plan: &ItemPlan) -> Result<ItemPlan, SyncError> {
        let Some(link) = &plan.link else {
            return Err(SyncError::NotReady(format!("{} is not linked", plan.item)));
        };
        let fresh = Planner {
            snapshot: None,
            ..*self
        };
        match fresh.confirm(link).await? {
            // Still there (the 404 was lag): plan against what the GET read.
            Ok(Confirmed::Present(_)) | Err(_) => Err(SyncError::transient(
                "notReplicatedYet",
                format!(
                    "Entra answered 404 to a write on {} {} but still shows it",
                    link.kind, link.remote_id
                ),
                Duration::from_secs(30),
            )),
            Ok(Confirmed::Gone) => {
                let present = match plan.item {
                    Item::User(id) => self.store.user(id).await?.map(Owned::User),
                    Item::Group(id) => self.store.group(id).await?.map(Owned::Group),
                    _ => None,
                };
                let Some(present) = present else {
                    return Ok(ItemPlan::nothing(
                        plan.item,
                        plan.name.clone(),
                        Outcome::OutOfScope,
                    ));
                };
                Ok(match self.document(present.as_present(), None).await? {
                    Wanted::Document(document) => ItemPlan {
                        step: decide::recreate(link, document.clone()),
                        document: Some(document),
                        seen: None,
                        ..plan.clone()
                    },
                    Wanted::Skipped(outcome) => {
                        ItemPlan::nothing(plan.item, plan.name.clone(), outcome)
                    }
                })
            }
        }
    }

    async fn link(&self, kind: RemoteKind, object: Uuid) -> Result<Option<Link>, LocalError> {
        self.store.link(self.provider.id, kind, object).await
    }

    /// The snapshot's objects matching `key` that no directory object is linked to (none
    /// without discovery or a snapshot).
    pub(crate) async fn unlinked_matches(
        &self,
        kind: RemoteKind,
        key: &str,
    ) -> Result<Vec<RemoteObject>, LocalError> {
        let (true, Some(snapshot)) = (self.provider.settings.discovery, self.snapshot) else {
            return Ok(Vec::new());
        };
        let mut candidates = Vec::new();
        for remote in self.store.snapshot_matching(snapshot.id, kind, key).await? {
            if self
                .store
                .link_to_remote(self.provider.id, kind, &remote.id)
                .await?
                .is_none()
            {
                candidates.push(remote);
            }
        }
        candidates.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(candidates)
    }

    async fn document(
        &self,
        present: Present<'_>,
        link: Option<Value>,
    ) -> Result<Wanted, SyncError> {
        let (mapped, kind) = match present {
            Present::User(user) => {
                let names = self.store.user_group_names(user.id).await?;
                (
                    self.evaluator.map_user(user, names, link).await?,
                    RemoteKind::User,
                )
            }
            Present::Group(group) => {
                let count = self.store.member_count(group.id).await?;
                (
                    self.evaluator.map_group(group, count, link).await?,
                    RemoteKind::Group,
                )
            }
        };
        Ok(wanted(mapped, kind))
    }
}

impl<S, R, E> Clone for Planner<'_, S, R, E> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<S, R, E> Copy for Planner<'_, S, R, E> {}

/// A directory object read again.
enum Owned {
    User(User),
    Group(Group),
}

impl Owned {
    fn as_present(&self) -> Present<'_> {
        match self {
            Owned::User(user) => Present::User(user),
            Owned::Group(group) => Present::Group(group),
        }
    }
}

fn wanted(mapped: Mapped, kind: RemoteKind) -> Wanted {
    match mapped {
        Mapped::Document(document) => Wanted::Document(Document::new(document.into_map())),
        Mapped::Skip { mapping, reason } => Wanted::Skipped(Outcome::Skipped {
            reason: match reason {
                Some(reason) => format!("mapping {mapping:?} skipped it: {reason}"),
                None => format!("mapping {mapping:?} skipped it"),
            },
        }),
        Mapped::NoMappings => Wanted::Skipped(Outcome::Skipped {
            reason: format!("the provider's {kind} mappings produce nothing"),
        }),
    }
}

/// Whether we wrote the link so recently that Entra may not show the object yet.
fn is_young(link: &Link, grace: Duration) -> bool {
    let grace = chrono::Duration::from_std(grace).unwrap_or(chrono::Duration::MAX);
    chrono::Utc::now()
        .checked_sub_signed(grace)
        .is_none_or(|cutoff| link.synced_at > cutoff)
}
