//! Membership: one member change (direct sync) or a whole group's members (full sync).

use std::collections::HashSet;

use model::{Group, GroupId, UserId};

use crate::outcome::{Operation, Outcome, SyncError, escalate};
use crate::ports::{Directory, Link, Links, RemoteId, RemoteKind, Target};
use crate::scope::{group_in_scope, user_in_scope};
use crate::sync::ProviderSync;

/// How many directory members a full sync reads per page.
const MEMBER_PAGE: u32 = 500;

/// What reconciling a group's members did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MembersReport {
    pub added: u64,
    pub removed: u64,
    /// Members refused by Entra (removed ones that could not be, and the like).
    pub failed: u64,
    /// Dry run: what would be done.
    pub planned: Vec<Operation>,
}

impl<D: Directory, L: Links, T: Target> ProviderSync<'_, D, L, T> {
    /// Brings one membership in line: after `user` joined or left `group` in the directory (or
    /// either changed scope), add or remove that one member remotely. Costs one request, never
    /// a read of the group.
    pub async fn reconcile_member(
        &self,
        group: GroupId,
        user: UserId,
    ) -> Result<Outcome, SyncError> {
        let provider = self.provider.id;
        let wanted = self.membership_wanted(group, user).await?;
        let group_link = self
            .links
            .link(provider, RemoteKind::Group, group.as_uuid())
            .await?;
        let user_link = self
            .links
            .link(provider, RemoteKind::User, user.as_uuid())
            .await?;
        let (Some(group_link), Some(user_link)) = (group_link, user_link) else {
            return if wanted {
                Err(SyncError::NotReady(format!(
                    "group {group} or user {user} is not linked yet"
                )))
            } else {
                // Nothing of ours remotely to remove.
                Ok(Outcome::Unchanged)
            };
        };
        let (group_remote, member) = (group_link.remote_id, user_link.remote_id);
        if self.dry_run() {
            let operation = if wanted {
                Operation::AddMembers {
                    group: group_remote,
                    members: vec![member],
                    new_members: Vec::new(),
                }
            } else {
                Operation::RemoveMember {
                    group: group_remote,
                    member,
                }
            };
            return Ok(Outcome::Planned {
                operations: vec![operation],
            });
        }
        let change = if wanted {
            self.target
                .add_members(&group_remote, std::slice::from_ref(&member))
                .await
        } else {
            self.target.remove_member(&group_remote, &member).await
        };
        match change {
            Ok(change) if change.changed.is_empty() => Ok(Outcome::Unchanged),
            Ok(_) if wanted => Ok(Outcome::MembersChanged {
                added: 1,
                removed: 0,
            }),
            Ok(_) => Ok(Outcome::MembersChanged {
                added: 0,
                removed: 1,
            }),
            Err(error) => escalate(error),
        }
    }

    /// Whether `user` should be a remote member of `group`: both exist, both are in scope, and
    /// the user is a direct member in the directory.
    async fn membership_wanted(&self, group: GroupId, user: UserId) -> Result<bool, SyncError> {
        let settings = &self.provider.settings;
        let Some(group) = self.directory.group(group).await? else {
            return Ok(false);
        };
        if !group_in_scope(settings, &group) {
            return Ok(false);
        }
        let Some(user) = self.directory.user(user).await? else {
            return Ok(false);
        };
        Ok(user_in_scope(self.directory, settings, &user).await?
            && self.directory.is_member(group.id, user.id).await?)
    }

    /// Brings a linked group's remote members in line with its directory members: the missing
    /// ones are added in bulk; remote members that are linked directory users no longer in the
    /// group are removed (unmanaged ones too when the provider says so).
    pub async fn reconcile_members(
        &self,
        group: &Group,
        link: &Link,
    ) -> Result<MembersReport, SyncError> {
        let mut report = MembersReport::default();
        let remote = self.remote_members(&link.remote_id).await?;
        let mut wanted = HashSet::new();
        let mut missing = Vec::new();
        // Dry run: in-scope members not linked yet, which a real run creates before this step.
        let mut new_members = Vec::new();
        let mut after = None;
        loop {
            let page = self
                .directory
                .members_page(group.id, after, MEMBER_PAGE)
                .await?;
            let Some(last) = page.last() else { break };
            after = Some(last.id);
            for user in &page {
                if !user_in_scope(self.directory, &self.provider.settings, user).await? {
                    continue;
                }
                let Some(user_link) = self
                    .links
                    .link(self.provider.id, RemoteKind::User, user.id.as_uuid())
                    .await?
                else {
                    if self.dry_run() {
                        new_members.push(user.username.as_str().to_owned());
                    }
                    continue;
                };
                if !remote.contains(&user_link.remote_id) {
                    missing.push(user_link.remote_id.clone());
                }
                wanted.insert(user_link.remote_id);
            }
        }
        let mut extra = Vec::new();
        for member in remote.difference(&wanted) {
            let ours = self
                .links
                .link_to_remote(self.provider.id, RemoteKind::User, member)
                .await?
                .is_some();
            if ours || self.provider.settings.remove_unmanaged_members {
                extra.push(member.clone());
            }
        }
        extra.sort();
        if self.dry_run() {
            if !missing.is_empty() || !new_members.is_empty() {
                report.added = (missing.len() + new_members.len()) as u64;
                report.planned.push(Operation::AddMembers {
                    group: link.remote_id.clone(),
                    members: missing,
                    new_members,
                });
            }
            report.removed = extra.len() as u64;
            report
                .planned
                .extend(extra.into_iter().map(|member| Operation::RemoveMember {
                    group: link.remote_id.clone(),
                    member,
                }));
            return Ok(report);
        }
        if !missing.is_empty() {
            match self.target.add_members(&link.remote_id, &missing).await {
                Ok(change) => report.added += change.changed.len() as u64,
                Err(error) => {
                    escalate(error)?;
                    report.failed += missing.len() as u64;
                }
            }
        }
        for member in extra {
            match self.target.remove_member(&link.remote_id, &member).await {
                Ok(change) => report.removed += change.changed.len() as u64,
                Err(error) => {
                    escalate(error)?;
                    report.failed += 1;
                }
            }
        }
        Ok(report)
    }

    async fn remote_members(&self, group: &RemoteId) -> Result<HashSet<RemoteId>, SyncError> {
        let mut members = HashSet::new();
        if group.as_str().is_empty() {
            // A group a dry run would create: it has no members yet.
            return Ok(members);
        }
        let mut next: Option<String> = None;
        loop {
            let page = match self.target.list_members(group, next.as_deref()).await {
                Ok(page) => page,
                Err(error) => {
                    escalate(error)?;
                    return Err(SyncError::NotReady(format!(
                        "the members of group {group} cannot be read"
                    )));
                }
            };
            members.extend(page.objects.into_iter().map(|object| object.id));
            match page.next {
                Some(token) => next = Some(token),
                None => return Ok(members),
            }
        }
    }
}

impl<D: Directory, L: Links, T: Target> ProviderSync<'_, D, L, T> {
    /// Reconciles the members of a group in scope, if it is linked. In a dry run, a group the
    /// run would adopt or create is planned as if it were linked (with no members yet when new).
    pub async fn reconcile_group_members(
        &self,
        group: &Group,
    ) -> Result<Option<MembersReport>, SyncError> {
        if !group_in_scope(&self.provider.settings, group) {
            return Ok(None);
        }
        let link = self
            .links
            .link(self.provider.id, RemoteKind::Group, group.id.as_uuid())
            .await?;
        let link = match link {
            Some(link) => link,
            None if self.dry_run() => {
                let key = Some(group.name.as_str().to_lowercase());
                let remote_id = match self.planned_adoption(RemoteKind::Group, key).await? {
                    Some(remote) => remote.id,
                    None => RemoteId::new(""),
                };
                Link {
                    provider: self.provider.id,
                    kind: RemoteKind::Group,
                    object: group.id.as_uuid(),
                    remote_id,
                    written: Default::default(),
                    synced_at: chrono::Utc::now(),
                }
            }
            None => return Ok(None),
        };
        self.reconcile_members(group, &link).await.map(Some)
    }
}
