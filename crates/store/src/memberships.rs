use std::collections::BTreeSet;

use model::{ChangeOp, Group, GroupId, User, UserId};
use serde::Serialize;

use crate::{
    Page, Result, Store, StoreError,
    changes::PendingChange,
    rows::{GroupRow, UserRow, groups_from, now, users_from},
};

/// What a membership call did, user by user.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct MembershipChange {
    /// Users whose membership changed.
    pub changed: Vec<UserId>,
    /// Users that were already in the state asked for (already members, or not members).
    pub unchanged: Vec<UserId>,
}

pub(crate) const LIST_MEMBERS: &str = "SELECT u.id, u.username, u.name, u.email, u.is_active, \
     u.kind, u.attributes, u.created_at, u.updated_at FROM memberships m \
     JOIN users u ON u.id = m.user_id \
     WHERE m.group_id = $1 AND m.user_id > $2 ORDER BY m.user_id LIMIT $3";
const LIST_USER_GROUPS: &str = "SELECT g.id, g.name, g.attributes, g.created_at, g.updated_at \
     FROM memberships m JOIN groups g ON g.id = m.group_id \
     WHERE m.user_id = $1 AND m.group_id > $2 ORDER BY m.group_id LIMIT $3";

/// Fails the call with NotFound, inside the open transaction, when the group does not exist.
macro_rules! require_group {
    ($tx:expr, $group:expr) => {{
        let group: GroupId = $group;
        let exists: Option<i32> = sqlx::query_scalar("SELECT 1 FROM groups WHERE id = $1")
            .bind(group.as_uuid())
            .fetch_optional(&mut *$tx)
            .await?;
        if exists.is_none() {
            return Err(StoreError::not_found("group", group));
        }
    }};
}

/// One change record per user whose membership of `group` changed.
fn membership_changes(op: ChangeOp, group: GroupId, users: &[UserId]) -> Vec<PendingChange> {
    let at = now();
    users
        .iter()
        .map(|user| PendingChange::membership(op, group.as_uuid(), user.as_uuid(), at))
        .collect()
}

fn distinct(users: &[UserId]) -> Vec<UserId> {
    users
        .iter()
        .copied()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

impl Store {
    /// Adds users to a group, all or none: an unknown group or user fails the whole call.
    pub async fn add_members(&self, group: GroupId, users: &[UserId]) -> Result<MembershipChange> {
        let users = distinct(users);
        let mut outcome = MembershipChange::default();
        write_pool!(self, pool, _d => {
            let mut tx = pool.begin_write().await?;
            require_group!(tx, group);
            for user in &users {
                let user_exists: Option<i32> = sqlx::query_scalar("SELECT 1 FROM users WHERE id = $1")
                    .bind(user.as_uuid())
                    .fetch_optional(&mut *tx)
                    .await?;
                if user_exists.is_none() {
                    return Err(StoreError::not_found("user", user));
                }
                let inserted = sqlx::query(
                    "INSERT INTO memberships (group_id, user_id) VALUES ($1, $2) \
                     ON CONFLICT (group_id, user_id) DO NOTHING",
                )
                .bind(group.as_uuid())
                .bind(user.as_uuid())
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if inserted == 0 {
                    outcome.unchanged.push(*user);
                } else {
                    outcome.changed.push(*user);
                }
            }
            append_changes!(tx, &membership_changes(ChangeOp::Add, group, &outcome.changed));
            tx.commit().await?;
            self.ring_changed();
        });
        Ok(outcome)
    }

    /// Removes users from a group. Users that are not members (or do not exist) are reported as
    /// unchanged; an unknown group fails the call.
    pub async fn remove_members(
        &self,
        group: GroupId,
        users: &[UserId],
    ) -> Result<MembershipChange> {
        let users = distinct(users);
        let mut outcome = MembershipChange::default();
        write_pool!(self, pool, _d => {
            let mut tx = pool.begin_write().await?;
            require_group!(tx, group);
            for user in &users {
                let deleted = sqlx::query("DELETE FROM memberships WHERE group_id = $1 AND user_id = $2")
                    .bind(group.as_uuid())
                    .bind(user.as_uuid())
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                if deleted == 0 {
                    outcome.unchanged.push(*user);
                } else {
                    outcome.changed.push(*user);
                }
            }
            append_changes!(tx, &membership_changes(ChangeOp::Remove, group, &outcome.changed));
            tx.commit().await?;
            self.ring_changed();
        });
        Ok(outcome)
    }

    /// One keyset page of a group's direct members, in user id order.
    pub async fn list_members(&self, group: GroupId, page: Page) -> Result<Vec<User>> {
        self.get_group(group).await?;
        let rows: Vec<UserRow> = read_pool!(self, pool, _d => {
            sqlx::query_as(LIST_MEMBERS)
                .bind(group.as_uuid())
                .bind(page.lower_bound())
                .bind(page.sql_limit())
                .fetch_all(pool)
                .await?
        });
        users_from(rows)
    }

    /// One keyset page of the groups a user is a direct member of, in group id order.
    pub async fn list_user_groups(&self, user: UserId, page: Page) -> Result<Vec<Group>> {
        self.get_user(user).await?;
        let rows: Vec<GroupRow> = read_pool!(self, pool, _d => {
            sqlx::query_as(LIST_USER_GROUPS)
                .bind(user.as_uuid())
                .bind(page.lower_bound())
                .bind(page.sql_limit())
                .fetch_all(pool)
                .await?
        });
        groups_from(rows)
    }
}
