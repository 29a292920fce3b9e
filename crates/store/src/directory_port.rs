//! The engine's [`Directory`] port over the store: users, groups and direct memberships, read
//! in keyset pages.

use engine::{Directory, LocalError};
use model::{Group, GroupId, User, UserId};
use uuid::Uuid;

use crate::{
    GroupFilter, Page, Result, Store, StoreError, UserFilter,
    memberships::LIST_MEMBERS,
    rows::{UserRow, users_from},
};

/// Group names read per round trip when collecting a user's groups.
const GROUP_NAMES_PER_PAGE: i64 = 1000;

fn page(after: Option<Uuid>, limit: u32) -> Page {
    match after {
        Some(after) => Page::after(after, limit),
        None => Page::first(limit),
    }
}

/// `None` for an object that is not there.
fn found<T>(result: Result<T>) -> Result<Option<T>> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(StoreError::NotFound { .. }) => Ok(None),
        Err(err) => Err(err),
    }
}

impl Store {
    /// Names of every group the user is a direct member of, in group id order (none for a user
    /// that is gone).
    async fn group_names_of(&self, user: UserId) -> Result<Vec<String>> {
        let mut names = Vec::new();
        let mut after = Uuid::nil();
        loop {
            let rows: Vec<(Uuid, String)> = read_pool!(self, pool, _d => {
                sqlx::query_as(
                    "SELECT g.id, g.name FROM memberships m JOIN groups g ON g.id = m.group_id \
                     WHERE m.user_id = $1 AND m.group_id > $2 ORDER BY m.group_id LIMIT $3",
                )
                .bind(user.as_uuid())
                .bind(after)
                .bind(GROUP_NAMES_PER_PAGE)
                .fetch_all(pool)
                .await?
            });
            let full = rows.len() as i64 == GROUP_NAMES_PER_PAGE;
            if let Some((last, _)) = rows.last() {
                after = *last;
            }
            names.extend(rows.into_iter().map(|(_, name)| name));
            if !full {
                return Ok(names);
            }
        }
    }

    async fn has_member(&self, group: GroupId, user: UserId) -> Result<bool> {
        let found: Option<i32> = read_pool!(self, pool, _d => {
            sqlx::query_scalar("SELECT 1 FROM memberships WHERE group_id = $1 AND user_id = $2")
                .bind(group.as_uuid())
                .bind(user.as_uuid())
                .fetch_optional(pool)
                .await?
        });
        Ok(found.is_some())
    }

    /// A page of the group's direct members; none for a group that is gone.
    async fn members_after(&self, group: GroupId, page: Page) -> Result<Vec<User>> {
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
}

impl Directory for Store {
    async fn user(&self, id: UserId) -> Result<Option<User>, LocalError> {
        Ok(found(self.get_user(id).await)?)
    }

    async fn group(&self, id: GroupId) -> Result<Option<Group>, LocalError> {
        Ok(found(self.get_group(id).await)?)
    }

    async fn user_group_names(&self, id: UserId) -> Result<Vec<String>, LocalError> {
        Ok(self.group_names_of(id).await?)
    }

    async fn member_count(&self, group: GroupId) -> Result<u64, LocalError> {
        Ok(self.count_members(group).await?.unsigned_abs())
    }

    async fn is_member(&self, group: GroupId, user: UserId) -> Result<bool, LocalError> {
        Ok(self.has_member(group, user).await?)
    }

    async fn users_page(&self, after: Option<UserId>, limit: u32) -> Result<Vec<User>, LocalError> {
        let page = page(after.map(|id| id.as_uuid()), limit);
        Ok(self.list_users(&UserFilter::default(), page).await?)
    }

    async fn groups_page(
        &self,
        after: Option<GroupId>,
        limit: u32,
    ) -> Result<Vec<Group>, LocalError> {
        let page = page(after.map(|id| id.as_uuid()), limit);
        Ok(self.list_groups(&GroupFilter::default(), page).await?)
    }

    async fn members_page(
        &self,
        group: GroupId,
        after: Option<UserId>,
        limit: u32,
    ) -> Result<Vec<User>, LocalError> {
        let page = page(after.map(|id| id.as_uuid()), limit);
        Ok(self.members_after(group, page).await?)
    }
}
