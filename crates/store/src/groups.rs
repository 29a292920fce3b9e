use model::{ChangeOp, Group, GroupId, GroupName, GroupPatch, NewGroup, ObjectKind};
use uuid::Uuid;

use crate::{
    Dialect, GroupFilter, Page, Result, Store, StoreError,
    changes::PendingChange,
    error::is_unique_violation,
    page::contains_pattern,
    rows::{GroupRow, group_name_key, groups_from, now},
};

/// Inserts `$group` (a `&Group`) in the open transaction.
macro_rules! insert_group {
    ($tx:expr, $group:expr) => {{
        let group: &model::Group = $group;
        sqlx::query(
            "INSERT INTO groups (id, name, name_key, attributes, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(group.id.as_uuid())
        .bind(group.name.as_str())
        .bind($crate::rows::group_name_key(&group.name))
        .bind(sqlx::types::Json(group.attributes.as_map()))
        .bind(group.created_at)
        .bind(group.updated_at)
        .execute(&mut *$tx)
        .await
    }};
}

/// Writes every field of `$group` over its row in the open transaction.
macro_rules! update_group_row {
    ($tx:expr, $group:expr) => {{
        let group: &model::Group = $group;
        sqlx::query(
            "UPDATE groups SET name = $2, name_key = $3, attributes = $4, updated_at = $5 \
             WHERE id = $1",
        )
        .bind(group.id.as_uuid())
        .bind(group.name.as_str())
        .bind($crate::rows::group_name_key(&group.name))
        .bind(sqlx::types::Json(group.attributes.as_map()))
        .bind(group.updated_at)
        .execute(&mut *$tx)
        .await
    }};
}

const SELECT_GROUP: &str = concat!("SELECT ", group_columns!(), " FROM groups WHERE id = $1");
const SELECT_GROUP_FOR_UPDATE: &str = concat!(
    "SELECT ",
    group_columns!(),
    " FROM groups WHERE id = $1 FOR UPDATE"
);
const SELECT_GROUP_BY_KEY: &str = concat!(
    "SELECT ",
    group_columns!(),
    " FROM groups WHERE name_key = $1"
);
const LIST_GROUPS: &str = concat!(
    "SELECT ",
    group_columns!(),
    r" FROM groups WHERE id > $1
      AND ($2 IS NULL OR name_key LIKE $2 ESCAPE '\')
    ORDER BY id LIMIT $3"
);

pub(crate) fn group_name_taken(name: &str) -> StoreError {
    StoreError::Conflict {
        field: "name",
        message: format!("a group named {name:?} already exists"),
    }
}

impl Store {
    pub async fn create_group(&self, new: NewGroup) -> Result<Group> {
        let at = now();
        let group = Group {
            id: GroupId::new(),
            name: new.name,
            attributes: new.attributes,
            created_at: at,
            updated_at: at,
        };
        write_pool!(self, pool, _d => {
            let mut tx = pool.begin_write().await?;
            insert_group!(tx, &group).map_err(|err| {
                if is_unique_violation(&err) {
                    group_name_taken(group.name.as_str())
                } else {
                    err.into()
                }
            })?;
            append_changes!(
                tx,
                &[PendingChange::object(ObjectKind::Group, ChangeOp::Create, group.id.as_uuid(), at)]
            );
            tx.commit().await?;
            self.ring_changed();
        });
        Ok(group)
    }

    pub async fn get_group(&self, id: GroupId) -> Result<Group> {
        let row: Option<GroupRow> = read_pool!(self, pool, _d => {
            sqlx::query_as(SELECT_GROUP).bind(id.as_uuid()).fetch_optional(pool).await?
        });
        row.ok_or_else(|| StoreError::not_found("group", id))?
            .try_into()
    }

    /// The group with this name, compared regardless of case.
    pub async fn find_group_by_name(&self, name: &GroupName) -> Result<Option<Group>> {
        let row: Option<GroupRow> = read_pool!(self, pool, _d => {
            sqlx::query_as(SELECT_GROUP_BY_KEY)
                .bind(group_name_key(name))
                .fetch_optional(pool)
                .await?
        });
        row.map(Group::try_from).transpose()
    }

    /// One keyset page of groups, in id order.
    pub async fn list_groups(&self, filter: &GroupFilter, page: Page) -> Result<Vec<Group>> {
        let rows: Vec<GroupRow> = read_pool!(self, pool, _d => {
            sqlx::query_as(LIST_GROUPS)
                .bind(page.lower_bound())
                .bind(filter.name.as_deref().map(contains_pattern))
                .bind(page.sql_limit())
                .fetch_all(pool)
                .await?
        });
        groups_from(rows)
    }

    /// Applies a partial update; writes nothing when the patch changes nothing.
    pub async fn update_group(&self, id: GroupId, patch: GroupPatch) -> Result<Group> {
        let group = write_pool!(self, pool, dialect => {
            let mut tx = pool.begin_write().await?;
            let select = match dialect {
                Dialect::Sqlite => SELECT_GROUP,
                Dialect::Postgres => SELECT_GROUP_FOR_UPDATE,
            };
            let row: Option<GroupRow> = sqlx::query_as(select)
                .bind(id.as_uuid())
                .fetch_optional(&mut *tx)
                .await?;
            let mut group =
                Group::try_from(row.ok_or_else(|| StoreError::not_found("group", id))?)?;
            if patch.apply(&mut group) {
                group.updated_at = now();
                update_group_row!(tx, &group).map_err(|err| {
                    if is_unique_violation(&err) {
                        group_name_taken(group.name.as_str())
                    } else {
                        err.into()
                    }
                })?;
                append_changes!(
                    tx,
                    &[PendingChange::object(ObjectKind::Group, ChangeOp::Update, id.as_uuid(), group.updated_at)]
                );
                tx.commit().await?;
            self.ring_changed();
            }
            group
        });
        Ok(group)
    }

    /// Deletes the group and its memberships, recording a removal for each membership too
    /// (a user whose document reads its groups must be reconciled again).
    /// Refused (`InUse`) while a provider's scope names the group.
    pub async fn delete_group(&self, id: GroupId) -> Result<()> {
        write_pool!(self, pool, dialect => {
            let mut tx = pool.begin_write().await?;
            let name: Option<String> = sqlx::query_scalar("SELECT name FROM groups WHERE id = $1")
                .bind(id.as_uuid())
                .fetch_optional(&mut *tx)
                .await?;
            let Some(name) = name else {
                return Err(StoreError::not_found("group", id));
            };
            let users = providers_using!(tx, dialect, &crate::references::Used::Group(id));
            if !users.is_empty() {
                return Err(StoreError::InUse {
                    message: format!(
                        "group {name:?} is in the scope of the providers {users:?}; change their scope first"
                    ),
                });
            }
            let members: Vec<Uuid> =
                sqlx::query_scalar("SELECT user_id FROM memberships WHERE group_id = $1")
                    .bind(id.as_uuid())
                    .fetch_all(&mut *tx)
                    .await?;
            let deleted = sqlx::query("DELETE FROM groups WHERE id = $1")
                .bind(id.as_uuid())
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if deleted == 0 {
                return Err(StoreError::not_found("group", id));
            }
            let at = now();
            let mut changes: Vec<PendingChange> = members
                .into_iter()
                .map(|user| PendingChange::membership(ChangeOp::Remove, id.as_uuid(), user, at))
                .collect();
            changes.push(PendingChange::object(ObjectKind::Group, ChangeOp::Delete, id.as_uuid(), at));
            append_changes!(tx, &changes);
            tx.commit().await?;
            self.ring_changed();
        });
        Ok(())
    }
}
