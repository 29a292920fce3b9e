//! Discovery: list the tenant once into a snapshot of its own. Nothing is linked here: the
//! planner adopts, object by object, what the snapshot matches (users by email, groups by
//! name), so that a plan and a run decide alike. Discovery changes nothing remotely.

use model::{DiscoveryCounts, Provider};
use serde_json::Value;

use crate::compare::select;
use crate::local::{Snapshot, SnapshotEntry, SnapshotPurpose};
use crate::outcome::{SyncError, escalate};
use crate::ports::{Fence, Snapshots, TargetRead};
use crate::remote::{RemoteKind, RemoteObject};

/// Progress of a discovery, for a progress bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiscoveryProgress {
    /// This many remote objects of `kind` listed so far.
    Listed { kind: RemoteKind, count: u64 },
}

/// The keys a remote object is matched by: users by `mail` and `userPrincipalName`, groups by
/// `displayName`, lower-cased.
pub fn match_keys(kind: RemoteKind, object: &RemoteObject) -> Vec<String> {
    let names: &[&str] = match kind {
        RemoteKind::User => &["mail", "userPrincipalName"],
        RemoteKind::Group => &["displayName"],
    };
    let mut keys: Vec<String> = names
        .iter()
        .filter_map(|name| object.properties.get(*name).and_then(Value::as_str))
        .map(str::to_lowercase)
        .collect();
    keys.dedup();
    keys
}

/// Lists every remote user and group into a new snapshot (every page once). A full sync's
/// (`SnapshotPurpose::Sync`) becomes the provider's current snapshot when complete; a plan's
/// stays private. A snapshot left half-written (an error, a lost claim) is never used.
pub async fn discover<S, R, F>(
    provider: &Provider,
    store: &S,
    target: &R,
    fence: &F,
    purpose: SnapshotPurpose,
    progress: &(dyn Fn(DiscoveryProgress) + Send + Sync),
) -> Result<(Snapshot, DiscoveryCounts), SyncError>
where
    S: Snapshots,
    R: TargetRead,
    F: Fence,
{
    let snapshot = store.begin_snapshot(provider.id, purpose).await?;
    let listed = async {
        let remote_users =
            list_into(store, target, fence, snapshot, RemoteKind::User, progress).await?;
        let remote_groups =
            list_into(store, target, fence, snapshot, RemoteKind::Group, progress).await?;
        // A node that lost its claim while listing must not make its listing current.
        if !fence.holds() {
            return Err(SyncError::LeaseLost);
        }
        Ok(DiscoveryCounts {
            remote_users,
            remote_groups,
        })
    }
    .await;
    match listed {
        Ok(counts) => Ok((store.finish_snapshot(snapshot).await?, counts)),
        Err(error) => {
            if let Err(dropped) = store.drop_snapshot(snapshot).await {
                tracing::warn!(error = %dropped, %snapshot, "a half-written snapshot was not dropped");
            }
            Err(error)
        }
    }
}

async fn list_into<S: Snapshots, R: TargetRead, F: Fence>(
    store: &S,
    target: &R,
    fence: &F,
    snapshot: crate::local::SnapshotId,
    kind: RemoteKind,
    progress: &(dyn Fn(DiscoveryProgress) + Send + Sync),
) -> Result<u64, SyncError> {
    let mut count = 0;
    let mut next: Option<String> = None;
    loop {
        if !fence.holds() {
            return Err(SyncError::LeaseLost);
        }
        let page = match target.list(kind, select(kind), next.as_deref()).await {
            Ok(page) => page,
            Err(error) => {
                escalate(error)?;
                return Err(SyncError::NotReady(format!(
                    "Entra refused to list {kind}s"
                )));
            }
        };
        let entries: Vec<SnapshotEntry> = page
            .objects
            .into_iter()
            .map(|object| SnapshotEntry {
                keys: match_keys(kind, &object),
                object,
            })
            .collect();
        count += entries.len() as u64;
        store.add_to_snapshot(snapshot, kind, &entries).await?;
        progress(DiscoveryProgress::Listed { kind, count });
        match page.next {
            Some(token) => next = Some(token),
            None => return Ok(count),
        }
    }
}
