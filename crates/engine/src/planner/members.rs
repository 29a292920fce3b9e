//! The planner's memberships: one membership after a change, or a whole group's members in
//! bulk (what Entra lists, against the directory's members in scope).

use std::collections::{HashMap, HashSet};

use model::{GroupId, UserId};
use uuid::Uuid;

use super::{PlannedRemotes, Planner};
use crate::decide;
use crate::local::{Item, LocalError};
use crate::outcome::{Outcome, SyncError, escalate};
use crate::plan::{ItemPlan, Planned, RemoteRef, Step};
use crate::ports::{Directory, Evaluator, LinksRead, Snapshots, TargetRead};
use crate::remote::{RemoteId, RemoteKind};
use crate::scope::{group_in_scope, user_in_scope};

/// How many directory members are read per page.
const MEMBER_PAGE: u32 = 500;

impl<S, R, E> Planner<'_, S, R, E>
where
    S: Directory + LinksRead + Snapshots,
    R: TargetRead,
    E: Evaluator,
{
    pub(super) async fn plan_membership(
        &self,
        group: GroupId,
        user: UserId,
        planned: &impl PlannedRemotes,
    ) -> Result<ItemPlan, SyncError> {
        let item = Item::Membership { group, user };
        if self.store.group(group).await?.is_none() {
            // The group itself is gone: its own reconcile deletes (or unlinks) it, members and
            // all; removing them one by one first would only cost requests.
            return Ok(ItemPlan::nothing(
                item,
                "(deleted group)".into(),
                Outcome::Unchanged,
            ));
        }
        let (wanted, name) = self.membership_wanted(group, user).await?;
        let group_ref = self
            .remote_ref(RemoteKind::Group, group.as_uuid(), planned)
            .await?;
        let user_ref = self
            .remote_ref(RemoteKind::User, user.as_uuid(), planned)
            .await?;
        let step = match (group_ref, user_ref) {
            (Some(group), Some(user)) => decide::membership(wanted, group, user),
            _ if wanted => {
                return Err(SyncError::NotReady(format!(
                    "group {group} or user {user} is not linked yet"
                )));
            }
            _ => Step::Nothing(Outcome::Unchanged),
        };
        Ok(ItemPlan {
            step,
            ..ItemPlan::nothing(item, name, Outcome::Unchanged)
        })
    }

    /// Whether `user` should be a remote member of `group` (both exist and are in scope, and
    /// the user is a direct member in the directory), and the group's name.
    async fn membership_wanted(
        &self,
        group: GroupId,
        user: UserId,
    ) -> Result<(bool, String), SyncError> {
        let settings = &self.provider.settings;
        let Some(group) = self.store.group(group).await? else {
            return Ok((false, "(deleted group)".to_owned()));
        };
        let name = group.name.as_str().to_owned();
        if !group_in_scope(settings, &group) {
            return Ok((false, name));
        }
        let Some(user) = self.store.user(user).await? else {
            return Ok((false, name));
        };
        let wanted = user_in_scope(self.store, settings, &user).await?
            && self.store.is_member(group.id, user.id).await?;
        Ok((wanted, name))
    }

    pub(super) async fn plan_members(
        &self,
        id: GroupId,
        planned: &impl PlannedRemotes,
    ) -> Result<ItemPlan, SyncError> {
        let item = Item::Members(id);
        let Some(group) = self.store.group(id).await? else {
            return Ok(ItemPlan::nothing(
                item,
                "(deleted)".into(),
                Outcome::OutOfScope,
            ));
        };
        let name = group.name.as_str().to_owned();
        if !group_in_scope(&self.provider.settings, &group) {
            return Ok(ItemPlan::nothing(item, name, Outcome::OutOfScope));
        }
        let Some(group_ref) = self
            .remote_ref(RemoteKind::Group, id.as_uuid(), planned)
            .await?
        else {
            let reason = "the group is not in Entra (its create failed or was skipped)".into();
            return Ok(ItemPlan::nothing(item, name, Outcome::Skipped { reason }));
        };
        let mut remote = match group_ref.remote_id() {
            Some(remote_id) => self.remote_members(remote_id).await?,
            None => HashSet::new(),
        };
        let mut wanted = Vec::new();
        let mut after = None;
        loop {
            let page = self.store.members_page(id, after, MEMBER_PAGE).await?;
            let Some(last) = page.last() else { break };
            after = Some(last.id);
            let mut in_scope = Vec::with_capacity(page.len());
            for user in &page {
                if user_in_scope(self.store, &self.provider.settings, user).await? {
                    in_scope.push(user.id.as_uuid());
                }
            }
            wanted.extend(self.remote_refs(&in_scope, planned).await?);
        }
        let wanted_ids: HashSet<&RemoteId> =
            wanted.iter().filter_map(RemoteRef::remote_id).collect();
        let mut removable = HashSet::new();
        let mut deleted = HashSet::new();
        for member in remote.iter().filter(|member| !wanted_ids.contains(member)) {
            let link = self
                .store
                .link_to_remote(self.provider.id, RemoteKind::User, member)
                .await?;
            // A member the plan deletes leaves every group with it; one it unlinks is no
            // longer ours.
            let ours = match &link {
                Some(link) => match planned.planned(RemoteKind::User, link.object).await? {
                    Some(Planned::Deleted) => {
                        deleted.insert(member.clone());
                        continue;
                    }
                    Some(Planned::Unlinked) => false,
                    Some(Planned::Remote(_)) | None => true,
                },
                None => false,
            };
            if ours || self.provider.settings.remove_unmanaged_members {
                removable.insert(member.clone());
            }
        }
        remote.retain(|member| !deleted.contains(member));
        let step = decide::members(group_ref, &wanted, &remote, |m| removable.contains(m));
        Ok(ItemPlan {
            step,
            ..ItemPlan::nothing(item, name, Outcome::Unchanged)
        })
    }

    /// The remote object of a directory object: its link, or what the plan makes of it.
    async fn remote_ref(
        &self,
        kind: RemoteKind,
        object: Uuid,
        planned: &impl PlannedRemotes,
    ) -> Result<Option<RemoteRef>, LocalError> {
        // What the plan makes of it first: a plan that creates an object again refers to the
        // new one, not to the gone one its link still names.
        match planned.planned(kind, object).await? {
            Some(Planned::Remote(remote)) => return Ok(Some(remote)),
            Some(Planned::Unlinked | Planned::Deleted) => return Ok(None),
            None => {}
        }
        Ok(self
            .link(kind, object)
            .await?
            .map(|link| RemoteRef::linked(link.remote_id)))
    }

    /// [`Self::remote_ref`] of a page of users, in two reads instead of two per user.
    async fn remote_refs(
        &self,
        users: &[Uuid],
        planned: &impl PlannedRemotes,
    ) -> Result<Vec<RemoteRef>, LocalError> {
        let planned = planned.planned_of(RemoteKind::User, users).await?;
        let unplanned: Vec<Uuid> = users
            .iter()
            .filter(|user| !planned.contains_key(user))
            .copied()
            .collect();
        let mut linked: HashMap<Uuid, RemoteId> = self
            .store
            .links_of(self.provider.id, RemoteKind::User, &unplanned)
            .await?
            .into_iter()
            .map(|link| (link.object, link.remote_id))
            .collect();
        Ok(users
            .iter()
            .filter_map(|user| match planned.get(user) {
                Some(Planned::Remote(remote)) => Some(remote.clone()),
                Some(Planned::Unlinked | Planned::Deleted) => None,
                None => linked.remove(user).map(RemoteRef::linked),
            })
            .collect())
    }

    async fn remote_members(&self, group: &RemoteId) -> Result<HashSet<RemoteId>, SyncError> {
        let mut members = HashSet::new();
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
