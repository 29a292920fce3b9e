//! Accidental-delete protection, as Entra Connect has it, for full and direct syncs alike.
//! Every delete and disable asks [`Protection::reserve_delete`] first: within the provider's
//! threshold over its rolling window it goes ahead, beyond it it is held. A full sync counts
//! what it would delete or disable before it touches anything, and holds all of it when that
//! is over the threshold. An administrator approves (the held ones go ahead) or rejects (their
//! links go, the remote objects stay).

use model::{HeldDeletes, Provider, RunId};
use uuid::Uuid;

use crate::decide;
use crate::local::{Item, LocalError};
use crate::outcome::SyncError;
use crate::plan::{PlanItem, PlanSubject, Step};
use crate::ports::{Directory, Links, LinksRead, Protection, WorkQueue};
use crate::remote::RemoteKind;
use crate::scope::{group_in_scope, user_in_scope};
use crate::visit::PAGE;

/// Why a decision on held deletes could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ApprovalError {
    #[error("no deletes await approval for this provider")]
    NothingAwaits,
    #[error(transparent)]
    Local(#[from] LocalError),
}

/// The linked objects that left (gone from the directory or out of scope) whose delete action
/// deletes or disables them, one page of links of `kind` after `after`; and where the next
/// page starts (`None`: this was the last).
pub async fn leaving_page<S: Directory + LinksRead>(
    provider: &Provider,
    store: &S,
    kind: RemoteKind,
    after: Option<Uuid>,
) -> Result<(Vec<PlanItem>, Option<Uuid>), LocalError> {
    let links = store.links_page(provider.id, kind, after, PAGE).await?;
    let next = (links.len() >= PAGE as usize)
        .then(|| links.last().map(|link| link.object))
        .flatten();
    let mut leaving = Vec::new();
    for link in links {
        let (stays, name) = match kind {
            RemoteKind::User => match store.user(model::UserId::from_uuid(link.object)).await? {
                Some(user) => (
                    user_in_scope(store, &provider.settings, &user).await?,
                    user.username.as_str().to_owned(),
                ),
                None => (false, format!("(deleted) {}", link.remote_id)),
            },
            RemoteKind::Group => match store.group(model::GroupId::from_uuid(link.object)).await? {
                Some(group) => (
                    group_in_scope(&provider.settings, &group),
                    group.name.as_str().to_owned(),
                ),
                None => (false, format!("(deleted) {}", link.remote_id)),
            },
        };
        if stays {
            continue;
        }
        if let Step::Apply(operations) = decide::leave(Some(&link), &provider.settings)
            && operations.iter().any(|op| op.is_destructive())
        {
            leaving.push(PlanItem {
                seq: 0,
                subject: match kind {
                    RemoteKind::User => PlanSubject::User,
                    RemoteKind::Group => PlanSubject::Group,
                },
                object_id: link.object,
                object_name: name,
                operations,
            });
        }
    }
    Ok((leaving, next))
}

/// Walks every leaving object, a page at a time.
struct Leaving<'a, S> {
    provider: &'a Provider,
    store: &'a S,
    kind: Option<RemoteKind>,
    after: Option<Uuid>,
}

impl<'a, S: Directory + LinksRead> Leaving<'a, S> {
    fn new(provider: &'a Provider, store: &'a S) -> Self {
        Self {
            provider,
            store,
            kind: Some(RemoteKind::User),
            after: None,
        }
    }

    async fn next_page(&mut self) -> Result<Option<Vec<PlanItem>>, LocalError> {
        while let Some(kind) = self.kind {
            let (items, next) = leaving_page(self.provider, self.store, kind, self.after).await?;
            self.after = next;
            if next.is_none() {
                self.kind = match kind {
                    RemoteKind::User => Some(RemoteKind::Group),
                    RemoteKind::Group => None,
                };
            }
            if !items.is_empty() {
                return Ok(Some(items));
            }
        }
        Ok(None)
    }
}

/// Before a full sync touches anything: holds all its deletes and disables under `run` when
/// they are more than the threshold. What is held (now, or by an earlier run still awaiting a
/// decision), if anything.
pub async fn protect<S>(
    provider: &Provider,
    store: &S,
    run: RunId,
) -> Result<Option<HeldDeletes>, SyncError>
where
    S: Directory + LinksRead + Protection,
{
    let threshold = provider.settings.delete_threshold;
    let pending = store.approval_run(provider.id).await?;
    if threshold == 0 && pending.is_none() {
        return Ok(None);
    }
    let mut count = 0_u64;
    let mut walk = Leaving::new(provider, store);
    while let Some(page) = walk.next_page().await? {
        count += page.len() as u64;
    }
    if pending.is_none() && count <= u64::from(threshold) {
        return Ok(None);
    }
    if pending.is_none() {
        // The list an administrator decides on, kept with the run.
        let mut seq = 0;
        let mut walk = Leaving::new(provider, store);
        while let Some(mut page) = walk.next_page().await? {
            for item in &mut page {
                seq += 1;
                item.seq = seq;
            }
            store.hold_deletes(provider.id, run, &page).await?;
        }
        tracing::warn!(provider = %provider.name, %run, deletes = count, threshold,
            "deletes exceed the threshold: none is done until an administrator approves");
    }
    Ok(Some(HeldDeletes { count, threshold }))
}

/// Approves the held deletes: the provider may go past its threshold by as many, and they are
/// queued now. Returns how many.
pub async fn approve<S, Q>(provider: &Provider, store: &S, queue: &Q) -> Result<u64, ApprovalError>
where
    S: Directory + LinksRead + Protection,
    Q: WorkQueue,
{
    let Some(run) = store.approval_run(provider.id).await? else {
        return Err(ApprovalError::NothingAwaits);
    };
    let mut items = Vec::new();
    let mut walk = Leaving::new(provider, store);
    while let Some(page) = walk.next_page().await? {
        items.extend(
            page.iter()
                .map(|item| Item::of(kind_of(item.subject), item.object_id)),
        );
    }
    store.end_approval(provider.id, items.len() as u64).await?;
    for chunk in items.chunks(PAGE as usize) {
        queue.enqueue(provider.id, None, chunk).await?;
    }
    tracing::info!(provider = %provider.name, %run, approved = items.len(), "held deletes approved");
    Ok(items.len() as u64)
}

/// Rejects the held deletes: their links go (nothing is done remotely) and the provider
/// resumes. Returns how many links were dropped.
pub async fn reject<S>(provider: &Provider, store: &S) -> Result<u64, ApprovalError>
where
    S: Directory + Links + Protection,
{
    let Some(run) = store.approval_run(provider.id).await? else {
        return Err(ApprovalError::NothingAwaits);
    };
    // Collected first: unlinking while paging the links would skip some.
    let mut items = Vec::new();
    let mut walk = Leaving::new(provider, store);
    while let Some(page) = walk.next_page().await? {
        items.extend(page);
    }
    for item in &items {
        store
            .remove_link(provider.id, kind_of(item.subject), item.object_id)
            .await?;
    }
    store.end_approval(provider.id, 0).await?;
    tracing::info!(provider = %provider.name, %run, rejected = items.len(), "held deletes rejected");
    Ok(items.len() as u64)
}

fn kind_of(subject: PlanSubject) -> RemoteKind {
    match subject {
        PlanSubject::Group => RemoteKind::Group,
        PlanSubject::User | PlanSubject::Members => RemoteKind::User,
    }
}
