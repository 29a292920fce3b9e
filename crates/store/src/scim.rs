//! What inbound SCIM needs of the directory: each object's SCIM record (the client's
//! `externalId` and the client that created it), and writes that read the object, let the
//! caller decide, and write the outcome in one transaction with its change records. A SCIM
//! PATCH or PUT is decided against the row as it is inside that transaction, so two clients
//! writing one object never lose each other's change.

use std::collections::{BTreeSet, HashMap};

use model::{ChangeOp, Group, GroupId, NewGroup, NewUser, ObjectKind, User, UserId};
use uuid::Uuid;

use crate::{
    Dialect, Result, Store, StoreError,
    changes::PendingChange,
    error::is_unique_violation,
    groups::group_name_taken,
    rows::{GroupRow, UserRow, now},
    users::username_taken,
};

/// What SCIM keeps beside a directory object.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScimRecord {
    /// The client's own id for the object, as it sent it.
    pub external_id: Option<String>,
    /// The SCIM client (its token's name) that created the object; none when it was made
    /// otherwise (the admin API, an import).
    pub client: Option<String>,
}

/// A user with its SCIM record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScimUser {
    pub user: User,
    pub record: ScimRecord,
}

/// A group with its SCIM record and its members (every one: SCIM writes replace and compare
/// whole member lists).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScimGroup {
    pub group: Group,
    pub record: ScimRecord,
    pub members: Vec<UserId>,
}

/// The longest `externalId` kept.
pub const MAX_EXTERNAL_ID_CHARS: usize = 1024;

fn check_external_id(record: &ScimRecord) -> Result<()> {
    if let Some(id) = &record.external_id
        && (id.chars().count() > MAX_EXTERNAL_ID_CHARS || id.contains('\0'))
    {
        return Err(model::ValidationError::new(
            "externalId",
            format!("externalId must be at most {MAX_EXTERNAL_ID_CHARS} characters, without NUL"),
        )
        .into());
    }
    Ok(())
}

macro_rules! upsert_record {
    ($tx:expr, $table:literal, $column:literal, $id:expr, $record:expr) => {{
        let record: &ScimRecord = $record;
        sqlx::query(concat!(
            "INSERT INTO ",
            $table,
            " (",
            $column,
            ", external_id, client) VALUES ($1, $2, $3) ON CONFLICT (",
            $column,
            ") DO UPDATE SET external_id = excluded.external_id"
        ))
        .bind($id)
        .bind(record.external_id.as_deref())
        .bind(record.client.as_deref())
        .execute(&mut *$tx)
        .await?
    }};
}

macro_rules! select_record {
    ($conn:expr, $table:literal, $column:literal, $id:expr) => {{
        let row: Option<(Option<String>, Option<String>)> = sqlx::query_as(concat!(
            "SELECT external_id, client FROM ",
            $table,
            " WHERE ",
            $column,
            " = $1"
        ))
        .bind($id)
        .fetch_optional(&mut *$conn)
        .await?;
        row.map(|(external_id, client)| ScimRecord {
            external_id,
            client,
        })
        .unwrap_or_default()
    }};
}

/// Adds `$users` to `$group` in the open transaction (each must exist); returns the change
/// records.
macro_rules! insert_members {
    ($tx:expr, $group:expr, $users:expr, $at:expr) => {{
        let mut changes = Vec::new();
        for user in $users {
            let exists: Option<i32> = sqlx::query_scalar("SELECT 1 FROM users WHERE id = $1")
                .bind(user.as_uuid())
                .fetch_optional(&mut *$tx)
                .await?;
            if exists.is_none() {
                return Err(StoreError::not_found("user", user));
            }
            let inserted = sqlx::query(
                "INSERT INTO memberships (group_id, user_id) VALUES ($1, $2) \
                 ON CONFLICT (group_id, user_id) DO NOTHING",
            )
            .bind($group.as_uuid())
            .bind(user.as_uuid())
            .execute(&mut *$tx)
            .await?
            .rows_affected();
            if inserted > 0 {
                changes.push(PendingChange::membership(
                    ChangeOp::Add,
                    $group.as_uuid(),
                    user.as_uuid(),
                    $at,
                ));
            }
        }
        changes
    }};
}

impl Store {
    /// Creates a user and its SCIM record, with its change record, in one transaction.
    pub async fn scim_create_user(&self, new: NewUser, record: ScimRecord) -> Result<ScimUser> {
        new.validate()?;
        check_external_id(&record)?;
        let at = now();
        let user = User {
            id: UserId::new(),
            name: new.display_name(),
            username: new.username,
            email: new.email,
            is_active: new.is_active,
            kind: new.kind,
            attributes: new.attributes,
            created_at: at,
            updated_at: at,
        };
        write_pool!(self, pool, _d => {
            let mut tx = pool.begin_write().await?;
            insert_user!(tx, &user).map_err(|err| {
                if is_unique_violation(&err) {
                    username_taken(user.username.as_str())
                } else {
                    err.into()
                }
            })?;
            upsert_record!(tx, "scim_users", "user_id", user.id.as_uuid(), &record);
            append_changes!(
                tx,
                &[PendingChange::object(ObjectKind::User, ChangeOp::Create, user.id.as_uuid(), at)]
            );
            tx.commit().await?;
            self.ring_changed();
        });
        Ok(ScimUser { user, record })
    }

    /// The user with its SCIM record.
    pub async fn scim_user(&self, id: UserId) -> Result<ScimUser> {
        let user = self.get_user(id).await?;
        let record = read_pool!(self, pool, _d => {
            let mut conn = pool.acquire().await?;
            select_record!(conn, "scim_users", "user_id", id.as_uuid())
        });
        Ok(ScimUser { user, record })
    }

    /// The SCIM records of these users (those without one are left out).
    pub async fn scim_user_records(&self, ids: &[UserId]) -> Result<HashMap<UserId, ScimRecord>> {
        let ids: Vec<Uuid> = ids.iter().map(|id| id.as_uuid()).collect();
        let found = self.records("scim_users", "user_id", &ids).await?;
        Ok(found
            .into_iter()
            .map(|(id, record)| (UserId::from_uuid(id), record))
            .collect())
    }

    /// The records of `table` (keyed by `column`) for these ids, 500 ids a query.
    async fn records(
        &self,
        table: &'static str,
        column: &'static str,
        ids: &[Uuid],
    ) -> Result<HashMap<Uuid, ScimRecord>> {
        let mut found = HashMap::new();
        for chunk in ids.chunks(500) {
            let rows: Vec<(Uuid, Option<String>, Option<String>)> = read_pool!(self, pool, _d => {
                let mut query = sqlx::QueryBuilder::new(format!(
                    "SELECT {column}, external_id, client FROM {table} WHERE {column} IN ("
                ));
                let mut list = query.separated(", ");
                for id in chunk {
                    list.push_bind(*id);
                }
                query.push(")");
                query.build_query_as().fetch_all(pool).await?
            });
            for (id, external_id, client) in rows {
                found.insert(
                    id,
                    ScimRecord {
                        external_id,
                        client,
                    },
                );
            }
        }
        Ok(found)
    }

    /// The users whose SCIM `externalId` is exactly this (an index look-up).
    pub async fn users_by_external_id(&self, external_id: &str) -> Result<Vec<UserId>> {
        let ids: Vec<Uuid> = read_pool!(self, pool, _d => {
            sqlx::query_scalar("SELECT user_id FROM scim_users WHERE external_id = $1 ORDER BY user_id")
                .bind(external_id)
                .fetch_all(pool)
                .await?
        });
        Ok(ids.into_iter().map(UserId::from_uuid).collect())
    }

    /// The groups whose SCIM `externalId` is exactly this (an index look-up).
    pub async fn groups_by_external_id(&self, external_id: &str) -> Result<Vec<GroupId>> {
        let ids: Vec<Uuid> = read_pool!(self, pool, _d => {
            sqlx::query_scalar("SELECT group_id FROM scim_groups WHERE external_id = $1 ORDER BY group_id")
                .bind(external_id)
                .fetch_all(pool)
                .await?
        });
        Ok(ids.into_iter().map(GroupId::from_uuid).collect())
    }

    /// Reads the user and its record inside a write transaction, asks `decide` what they
    /// should become, and writes that (only what differs, with a change record when the user
    /// itself changed). `decide` may refuse, which writes nothing: its error is the inner one.
    /// The id, kind and creation time stay what they were.
    pub async fn scim_modify_user<E>(
        &self,
        id: UserId,
        decide: impl FnOnce(&ScimUser) -> std::result::Result<ScimUser, E>,
    ) -> Result<std::result::Result<ScimUser, E>> {
        let modified = write_pool!(self, pool, dialect => {
            let mut tx = pool.begin_write().await?;
            let select = match dialect {
                Dialect::Sqlite => concat!("SELECT ", user_columns!(), " FROM users WHERE id = $1"),
                Dialect::Postgres => {
                    concat!("SELECT ", user_columns!(), " FROM users WHERE id = $1 FOR UPDATE")
                }
            };
            let row: Option<UserRow> = sqlx::query_as(select)
                .bind(id.as_uuid())
                .fetch_optional(&mut *tx)
                .await?;
            let user = User::try_from(row.ok_or_else(|| StoreError::not_found("user", id))?)?;
            let record = select_record!(tx, "scim_users", "user_id", id.as_uuid());
            let current = ScimUser { user, record };
            let mut wanted = match decide(&current) {
                Ok(wanted) => wanted,
                Err(refused) => return Ok(Err(refused)),
            };
            wanted.user.id = current.user.id;
            wanted.user.created_at = current.user.created_at;
            wanted.user.updated_at = current.user.updated_at;
            wanted.record.client = current.record.client.clone();
            let user_changed = wanted.user != current.user;
            let record_changed = wanted.record != current.record;
            if user_changed || record_changed {
                if user_changed {
                    model::UserPatch {
                        name: Some(wanted.user.name.clone()),
                        ..model::UserPatch::default()
                    }
                    .validate()?;
                }
                check_external_id(&wanted.record)?;
                // The version moves with any change, the SCIM record's too.
                wanted.user.updated_at = now().max(current.user.updated_at + chrono::Duration::microseconds(1));
                update_user_row!(tx, &wanted.user).map_err(|err| {
                    if is_unique_violation(&err) {
                        username_taken(wanted.user.username.as_str())
                    } else {
                        err.into()
                    }
                })?;
                if record_changed {
                    upsert_record!(tx, "scim_users", "user_id", id.as_uuid(), &wanted.record);
                }
                if user_changed {
                    append_changes!(
                        tx,
                        &[PendingChange::object(ObjectKind::User, ChangeOp::Update, id.as_uuid(), wanted.user.updated_at)]
                    );
                }
                tx.commit().await?;
                if user_changed {
                    self.ring_changed();
                }
            }
            wanted
        });
        Ok(Ok(modified))
    }

    /// Creates a group, its SCIM record and its members (each must exist), with their change
    /// records, in one transaction.
    pub async fn scim_create_group(
        &self,
        new: NewGroup,
        record: ScimRecord,
        members: &[UserId],
    ) -> Result<ScimGroup> {
        check_external_id(&record)?;
        let at = now();
        let group = Group {
            id: GroupId::new(),
            name: new.name,
            attributes: new.attributes,
            created_at: at,
            updated_at: at,
        };
        let members: Vec<UserId> = members
            .iter()
            .copied()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        write_pool!(self, pool, _d => {
            let mut tx = pool.begin_write().await?;
            insert_group!(tx, &group).map_err(|err| {
                if is_unique_violation(&err) {
                    group_name_taken(group.name.as_str())
                } else {
                    err.into()
                }
            })?;
            upsert_record!(tx, "scim_groups", "group_id", group.id.as_uuid(), &record);
            let mut changes = vec![PendingChange::object(ObjectKind::Group, ChangeOp::Create, group.id.as_uuid(), at)];
            changes.extend(insert_members!(tx, group.id, &members, at));
            append_changes!(tx, &changes);
            tx.commit().await?;
            self.ring_changed();
        });
        Ok(ScimGroup {
            group,
            record,
            members,
        })
    }

    /// The group with its SCIM record and every member's id.
    pub async fn scim_group(&self, id: GroupId) -> Result<ScimGroup> {
        read_pool!(self, pool, _d => {
            let mut conn = pool.acquire().await?;
            let row: Option<GroupRow> = sqlx::query_as(concat!("SELECT ", group_columns!(), " FROM groups WHERE id = $1"))
                .bind(id.as_uuid())
                .fetch_optional(&mut *conn)
                .await?;
            let group = Group::try_from(row.ok_or_else(|| StoreError::not_found("group", id))?)?;
            let record = select_record!(conn, "scim_groups", "group_id", id.as_uuid());
            let members: Vec<Uuid> = sqlx::query_scalar(
                "SELECT user_id FROM memberships WHERE group_id = $1 ORDER BY user_id",
            )
            .bind(id.as_uuid())
            .fetch_all(&mut *conn)
            .await?;
            Ok(ScimGroup {
                group,
                record,
                members: members.into_iter().map(UserId::from_uuid).collect(),
            })
        })
    }

    /// The SCIM records of these groups (those without one are left out).
    pub async fn scim_group_records(
        &self,
        ids: &[GroupId],
    ) -> Result<HashMap<GroupId, ScimRecord>> {
        let ids: Vec<Uuid> = ids.iter().map(|id| id.as_uuid()).collect();
        let found = self.records("scim_groups", "group_id", &ids).await?;
        Ok(found
            .into_iter()
            .map(|(id, record)| (GroupId::from_uuid(id), record))
            .collect())
    }

    /// Reads the group, its record and its members inside a write transaction, asks `decide`
    /// what they should become, and writes the difference (the group's row, its record, each
    /// membership added or removed) with its change records. `decide` may refuse, which writes
    /// nothing. A member added must exist.
    pub async fn scim_modify_group<E>(
        &self,
        id: GroupId,
        decide: impl FnOnce(&ScimGroup) -> std::result::Result<ScimGroup, E>,
    ) -> Result<std::result::Result<ScimGroup, E>> {
        let modified = write_pool!(self, pool, dialect => {
            let mut tx = pool.begin_write().await?;
            let select = match dialect {
                Dialect::Sqlite => concat!("SELECT ", group_columns!(), " FROM groups WHERE id = $1"),
                Dialect::Postgres => {
                    concat!("SELECT ", group_columns!(), " FROM groups WHERE id = $1 FOR UPDATE")
                }
            };
            let row: Option<GroupRow> = sqlx::query_as(select)
                .bind(id.as_uuid())
                .fetch_optional(&mut *tx)
                .await?;
            let group = Group::try_from(row.ok_or_else(|| StoreError::not_found("group", id))?)?;
            let record = select_record!(tx, "scim_groups", "group_id", id.as_uuid());
            let members: Vec<Uuid> = sqlx::query_scalar(
                "SELECT user_id FROM memberships WHERE group_id = $1 ORDER BY user_id",
            )
            .bind(id.as_uuid())
            .fetch_all(&mut *tx)
            .await?;
            let current = ScimGroup {
                group,
                record,
                members: members.into_iter().map(UserId::from_uuid).collect(),
            };
            let mut wanted = match decide(&current) {
                Ok(wanted) => wanted,
                Err(refused) => return Ok(Err(refused)),
            };
            wanted.group.id = current.group.id;
            wanted.group.created_at = current.group.created_at;
            wanted.group.updated_at = current.group.updated_at;
            wanted.record.client = current.record.client.clone();
            let before: BTreeSet<UserId> = current.members.iter().copied().collect();
            let after: BTreeSet<UserId> = wanted.members.iter().copied().collect();
            let added: Vec<UserId> = after.difference(&before).copied().collect();
            let removed: Vec<UserId> = before.difference(&after).copied().collect();
            let group_changed = wanted.group != current.group;
            let record_changed = wanted.record != current.record;
            wanted.members = after.into_iter().collect();
            if group_changed || record_changed || !added.is_empty() || !removed.is_empty() {
                check_external_id(&wanted.record)?;
                let at = now().max(current.group.updated_at + chrono::Duration::microseconds(1));
                // The version moves with any change, its members' too.
                wanted.group.updated_at = at;
                update_group_row!(tx, &wanted.group).map_err(|err| {
                    if is_unique_violation(&err) {
                        group_name_taken(wanted.group.name.as_str())
                    } else {
                        err.into()
                    }
                })?;
                if record_changed {
                    upsert_record!(tx, "scim_groups", "group_id", id.as_uuid(), &wanted.record);
                }
                let mut changes = Vec::new();
                if group_changed {
                    changes.push(PendingChange::object(ObjectKind::Group, ChangeOp::Update, id.as_uuid(), at));
                }
                changes.extend(insert_members!(tx, id, &added, at));
                for user in &removed {
                    sqlx::query("DELETE FROM memberships WHERE group_id = $1 AND user_id = $2")
                        .bind(id.as_uuid())
                        .bind(user.as_uuid())
                        .execute(&mut *tx)
                        .await?;
                    changes.push(PendingChange::membership(ChangeOp::Remove, id.as_uuid(), user.as_uuid(), at));
                }
                append_changes!(tx, &changes);
                tx.commit().await?;
                self.ring_changed();
            }
            wanted
        });
        Ok(Ok(modified))
    }
}
