//! Bulk import: a batch of records applied in one transaction, each record with its own outcome,
//! so that one bad record is reported while the others still land.

use std::collections::HashMap;

use model::{
    ChangeOp, Group, GroupId, ImportRecord, MembershipRef, NewGroup, NewUser, ObjectKind, User,
    UserId,
};
use serde::Serialize;
use uuid::Uuid;

use crate::{
    Result, Store, StoreError,
    changes::PendingChange,
    rows::{GroupRow, UserRow, group_name_key, now},
};

/// What importing one record did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum ImportOutcome {
    Created,
    Updated,
    Unchanged,
    Failed { message: String },
}

const SELECT_USER_BY_KEY: &str = concat!(
    "SELECT ",
    user_columns!(),
    " FROM users WHERE username_key = $1"
);
const SELECT_GROUP_BY_KEY: &str = concat!(
    "SELECT ",
    group_columns!(),
    " FROM groups WHERE name_key = $1"
);

/// The user a record describes, over the one already stored (if any).
fn imported_user(new: NewUser, existing: Option<&User>) -> User {
    let at = now();
    User {
        id: existing.map_or_else(UserId::new, |user| user.id),
        name: new.display_name(),
        username: new.username,
        email: new.email,
        is_active: new.is_active,
        kind: new.kind,
        attributes: new.attributes,
        created_at: existing.map_or(at, |user| user.created_at),
        updated_at: at,
    }
}

fn same_user(a: &User, b: &User) -> bool {
    a.username == b.username
        && a.name == b.name
        && a.email == b.email
        && a.is_active == b.is_active
        && a.kind == b.kind
        && a.attributes == b.attributes
}

fn imported_group(new: NewGroup, existing: Option<&Group>) -> Group {
    let at = now();
    Group {
        id: existing.map_or_else(GroupId::new, |group| group.id),
        name: new.name,
        attributes: new.attributes,
        created_at: existing.map_or(at, |group| group.created_at),
        updated_at: at,
    }
}

impl Store {
    /// Applies a batch of import records in one transaction. Users are matched by username and
    /// groups by name (regardless of case): a match is updated to what the record says. Users
    /// and groups are applied before memberships, so a membership may name an object that comes
    /// later in the same batch. The outcomes are in record order.
    pub async fn import(&self, records: Vec<ImportRecord>) -> Result<Vec<ImportOutcome>> {
        let mut outcomes = vec![ImportOutcome::Unchanged; records.len()];
        let mut memberships: Vec<(usize, MembershipRef)> = Vec::new();
        let mut changes: Vec<PendingChange> = Vec::new();
        // Ids of the objects this batch has seen, by lookup key, to spare repeated reads.
        let mut user_ids: HashMap<String, Option<Uuid>> = HashMap::new();
        let mut group_ids: HashMap<String, Option<Uuid>> = HashMap::new();

        write_pool!(self, pool, _d => {
            let mut tx = pool.begin().await?;
            for (index, record) in records.into_iter().enumerate() {
                match record {
                    ImportRecord::User(new) => {
                        if let Err(err) = new.validate() {
                            outcomes[index] = ImportOutcome::Failed { message: err.to_string() };
                            continue;
                        }
                        let key = new.username.key();
                        let row: Option<UserRow> = sqlx::query_as(SELECT_USER_BY_KEY)
                            .bind(&key)
                            .fetch_optional(&mut *tx)
                            .await?;
                        let existing = row.map(User::try_from).transpose()?;
                        let user = imported_user(new, existing.as_ref());
                        match existing {
                            None => {
                                insert_user!(tx, &user)?;
                                changes.push(PendingChange::object(ObjectKind::User, ChangeOp::Create, user.id.as_uuid(), user.updated_at));
                                outcomes[index] = ImportOutcome::Created;
                            }
                            Some(existing) if !same_user(&existing, &user) => {
                                update_user_row!(tx, &user)?;
                                changes.push(PendingChange::object(ObjectKind::User, ChangeOp::Update, user.id.as_uuid(), user.updated_at));
                                outcomes[index] = ImportOutcome::Updated;
                            }
                            Some(_) => {}
                        }
                        user_ids.insert(key, Some(user.id.as_uuid()));
                    }
                    ImportRecord::Group(new) => {
                        let key = group_name_key(&new.name);
                        let row: Option<GroupRow> = sqlx::query_as(SELECT_GROUP_BY_KEY)
                            .bind(&key)
                            .fetch_optional(&mut *tx)
                            .await?;
                        let existing = row.map(Group::try_from).transpose()?;
                        let group = imported_group(new, existing.as_ref());
                        match existing {
                            None => {
                                insert_group!(tx, &group)?;
                                changes.push(PendingChange::object(ObjectKind::Group, ChangeOp::Create, group.id.as_uuid(), group.updated_at));
                                outcomes[index] = ImportOutcome::Created;
                            }
                            Some(existing)
                                if existing.name != group.name
                                    || existing.attributes != group.attributes =>
                            {
                                update_group_row!(tx, &group)?;
                                changes.push(PendingChange::object(ObjectKind::Group, ChangeOp::Update, group.id.as_uuid(), group.updated_at));
                                outcomes[index] = ImportOutcome::Updated;
                            }
                            Some(_) => {}
                        }
                        group_ids.insert(key, Some(group.id.as_uuid()));
                    }
                    ImportRecord::Membership(membership) => memberships.push((index, membership)),
                }
            }

            let at = now();
            for (index, membership) in memberships {
                let group_key = group_name_key(&membership.group);
                if !group_ids.contains_key(&group_key) {
                    let id: Option<Uuid> = sqlx::query_scalar("SELECT id FROM groups WHERE name_key = $1")
                        .bind(&group_key)
                        .fetch_optional(&mut *tx)
                        .await?;
                    group_ids.insert(group_key.clone(), id);
                }
                let user_key = membership.user.key();
                if !user_ids.contains_key(&user_key) {
                    let id: Option<Uuid> = sqlx::query_scalar("SELECT id FROM users WHERE username_key = $1")
                        .bind(&user_key)
                        .fetch_optional(&mut *tx)
                        .await?;
                    user_ids.insert(user_key.clone(), id);
                }
                let (Some(Some(group)), Some(Some(user))) =
                    (group_ids.get(&group_key), user_ids.get(&user_key))
                else {
                    let missing = if matches!(group_ids.get(&group_key), Some(Some(_))) {
                        format!("no user named {:?}", membership.user.as_str())
                    } else {
                        format!("no group named {:?}", membership.group.as_str())
                    };
                    outcomes[index] = ImportOutcome::Failed { message: missing };
                    continue;
                };
                let inserted = sqlx::query(
                    "INSERT INTO memberships (group_id, user_id) VALUES ($1, $2) \
                     ON CONFLICT (group_id, user_id) DO NOTHING",
                )
                .bind(*group)
                .bind(*user)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if inserted > 0 {
                    changes.push(PendingChange::membership(ChangeOp::Add, *group, *user, at));
                    outcomes[index] = ImportOutcome::Created;
                }
            }

            append_changes!(tx, &changes);
            tx.commit().await?;
        });
        Ok(outcomes)
    }
}

impl From<StoreError> for ImportOutcome {
    fn from(err: StoreError) -> Self {
        ImportOutcome::Failed {
            message: err.to_string(),
        }
    }
}
