//! Discovery: list the tenant once per full sync into the snapshot, then link the in-scope
//! directory objects that already exist remotely (users by email, groups by name). Discovery
//! changes nothing remotely.

use model::{GroupId, UserId};
use serde::Serialize;
use serde_json::Value;

use crate::compare::select;
use crate::outcome::{SyncError, escalate};
use crate::ports::{
    Directory, Link, Links, Properties, RemoteId, RemoteKind, RemoteObject, SnapshotEntry, Target,
};
use crate::scope::{group_in_scope, user_in_scope};
use crate::sync::ProviderSync;

/// How many directory objects discovery reads per page.
const PAGE: u32 = 500;

/// What discovery found.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct DiscoveryReport {
    pub remote_users: u64,
    pub remote_groups: u64,
    /// Links made (in a dry run: that would be made).
    pub users_linked: u64,
    pub groups_linked: u64,
    /// Directory objects that several remote objects match: none of them is linked.
    pub ambiguous: Vec<Ambiguity>,
}

/// A directory object that several remote objects answer to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Ambiguity {
    pub kind: RemoteKind,
    pub object: uuid::Uuid,
    /// The email or group name matched.
    pub key: String,
    pub candidates: Vec<RemoteId>,
}

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

impl<D: Directory, L: Links, T: Target> ProviderSync<'_, D, L, T> {
    /// Lists the tenant into the snapshot (every page once), then links what matches.
    pub async fn discover(
        &self,
        progress: &(dyn Fn(DiscoveryProgress) + Send + Sync),
    ) -> Result<DiscoveryReport, SyncError> {
        let mut report = DiscoveryReport::default();
        let started = Self::now();
        self.links.begin_snapshot(self.provider.id).await?;
        report.remote_users = self.list_into_snapshot(RemoteKind::User, progress).await?;
        report.remote_groups = self.list_into_snapshot(RemoteKind::Group, progress).await?;
        self.links
            .finish_snapshot(self.provider.id, started)
            .await?;
        self.link_users(&mut report).await?;
        self.link_groups(&mut report).await?;
        Ok(report)
    }

    async fn list_into_snapshot(
        &self,
        kind: RemoteKind,
        progress: &(dyn Fn(DiscoveryProgress) + Send + Sync),
    ) -> Result<u64, SyncError> {
        let mut count = 0;
        let mut next: Option<String> = None;
        loop {
            let page = match self.target.list(kind, select(kind), next.as_deref()).await {
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
            self.links
                .add_to_snapshot(self.provider.id, kind, &entries)
                .await?;
            progress(DiscoveryProgress::Listed { kind, count });
            match page.next {
                Some(token) => next = Some(token),
                None => return Ok(count),
            }
        }
    }

    async fn link_users(&self, report: &mut DiscoveryReport) -> Result<(), SyncError> {
        let mut after: Option<UserId> = None;
        loop {
            let page = self.directory.users_page(after, PAGE).await?;
            let Some(last) = page.last() else {
                return Ok(());
            };
            after = Some(last.id);
            for user in &page {
                let Some(email) = &user.email else { continue };
                if !user_in_scope(self.directory, &self.provider.settings, user).await? {
                    continue;
                }
                let key = email.as_str().to_lowercase();
                if self
                    .try_link(RemoteKind::User, user.id.as_uuid(), key, report)
                    .await?
                {
                    report.users_linked += 1;
                }
            }
        }
    }

    async fn link_groups(&self, report: &mut DiscoveryReport) -> Result<(), SyncError> {
        let mut after: Option<GroupId> = None;
        loop {
            let page = self.directory.groups_page(after, PAGE).await?;
            let Some(last) = page.last() else {
                return Ok(());
            };
            after = Some(last.id);
            for group in &page {
                if !group_in_scope(&self.provider.settings, group) {
                    continue;
                }
                let key = group.name.as_str().to_lowercase();
                if self
                    .try_link(RemoteKind::Group, group.id.as_uuid(), key, report)
                    .await?
                {
                    report.groups_linked += 1;
                }
            }
        }
    }

    /// The snapshot's objects matching `key` that no directory object is linked to.
    pub(crate) async fn unlinked_matches(
        &self,
        kind: RemoteKind,
        key: &str,
    ) -> Result<Vec<RemoteObject>, SyncError> {
        let provider = self.provider.id;
        let mut candidates = Vec::new();
        for remote in self.links.snapshot_matching(provider, kind, key).await? {
            if self
                .links
                .link_to_remote(provider, kind, &remote.id)
                .await?
                .is_none()
            {
                candidates.push(remote);
            }
        }
        Ok(candidates)
    }

    /// Links `object` to the one unlinked remote object matching `key`. Already linked objects
    /// keep their link; several candidates are reported, never guessed between.
    async fn try_link(
        &self,
        kind: RemoteKind,
        object: uuid::Uuid,
        key: String,
        report: &mut DiscoveryReport,
    ) -> Result<bool, SyncError> {
        let provider = self.provider.id;
        if self.links.link(provider, kind, object).await?.is_some() {
            return Ok(false);
        }
        let mut candidates: Vec<RemoteId> = self
            .unlinked_matches(kind, &key)
            .await?
            .into_iter()
            .map(|remote| remote.id)
            .collect();
        match candidates.len() {
            0 => Ok(false),
            1 => {
                if !self.dry_run() {
                    let remote_id = candidates.remove(0);
                    // Linked "before" the snapshot: the next reconcile compares the document
                    // with what discovery read, and PATCHes only what differs.
                    let link = Link {
                        provider,
                        kind,
                        object,
                        remote_id,
                        written: Properties::new(),
                        synced_at: chrono::DateTime::<chrono::Utc>::UNIX_EPOCH,
                    };
                    self.links.save_link(&link).await?;
                }
                Ok(true)
            }
            _ => {
                candidates.sort();
                report.ambiguous.push(Ambiguity {
                    kind,
                    object,
                    key,
                    candidates,
                });
                Ok(false)
            }
        }
    }
}
