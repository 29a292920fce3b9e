//! Bulk import: a batch of records applied in one transaction, each record with its own outcome,
//! so that one bad record is reported while the others still land. Reads and inserts go in
//! multi-row statements: a batch of a thousand records costs a handful of round trips.

use std::collections::{HashMap, HashSet};

use model::{
    ChangeOp, Group, GroupId, ImportRecord, MembershipRef, NewGroup, NewUser, ObjectKind, User,
    UserId,
};
use serde::Serialize;
use uuid::Uuid;

use crate::{
    Result, Store, StoreError,
    changes::{PendingChange, ROWS_PER_STATEMENT},
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

const SELECT_GROUP_BY_KEY: &str = concat!(
    "SELECT ",
    group_columns!(),
    " FROM groups WHERE name_key = $1"
);

/// The user a record describes, over the one already known (if any).
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

/// What the user records of a batch come to, worked out before anything is written.
#[derive(Default)]
struct UserPlan {
    /// Users to insert, in record order.
    inserts: Vec<User>,
    /// Existing users whose record changes them.
    updates: Vec<User>,
    /// Every user the batch names, by username key.
    ids: HashMap<String, Uuid>,
}

impl UserPlan {
    /// Decides each user record's fate against the users already stored (`stored`).
    fn new(
        records: Vec<(usize, NewUser)>,
        mut stored: HashMap<String, User>,
        outcomes: &mut [ImportOutcome],
    ) -> Self {
        let mut plan = UserPlan::default();
        let mut inserted: HashMap<String, usize> = HashMap::new();
        let mut updated: HashMap<String, usize> = HashMap::new();
        for (index, new) in records {
            let key = new.username.key();
            if let Some(&position) = inserted.get(&key) {
                // Named twice in one batch: the later record wins, still as one insert.
                let user = imported_user(new, Some(&plan.inserts[position]));
                if !same_user(&plan.inserts[position], &user) {
                    outcomes[index] = ImportOutcome::Updated;
                }
                plan.inserts[position] = user;
            } else if let Some(existing) = stored.get(&key) {
                let user = imported_user(new, Some(existing));
                if !same_user(existing, &user) {
                    outcomes[index] = ImportOutcome::Updated;
                    match updated.get(&key) {
                        Some(&position) => plan.updates[position] = user.clone(),
                        None => {
                            updated.insert(key.clone(), plan.updates.len());
                            plan.updates.push(user.clone());
                        }
                    }
                    stored.insert(key.clone(), user);
                }
            } else {
                let user = imported_user(new, None);
                plan.ids.insert(key.clone(), user.id.as_uuid());
                inserted.insert(key, plan.inserts.len());
                plan.inserts.push(user);
                outcomes[index] = ImportOutcome::Created;
            }
        }
        plan.ids.extend(
            stored
                .into_iter()
                .map(|(key, user)| (key, user.id.as_uuid())),
        );
        plan
    }
}

/// Reads the ids of the objects named by `keys` (`username_key` or `name_key` of `table`) in a
/// few `IN (…)` queries, into `known`; keys that name nothing are recorded as `None`.
macro_rules! resolve_keys {
    ($tx:expr, $select:literal, $keys:expr, $known:expr) => {{
        let keys: Vec<String> = $keys;
        let known: &mut HashMap<String, Option<Uuid>> = $known;
        for chunk in keys.chunks(ROWS_PER_STATEMENT) {
            let mut query = sqlx::QueryBuilder::new($select);
            let mut list = query.separated(", ");
            for key in chunk {
                list.push_bind(key.as_str());
            }
            query.push(")");
            let found: Vec<(Uuid, String)> = query.build_query_as().fetch_all(&mut *$tx).await?;
            for key in chunk {
                known.insert(key.clone(), None);
            }
            for (id, key) in found {
                known.insert(key, Some(id));
            }
        }
    }};
}

impl Store {
    /// Applies a batch of import records in one transaction. Users are matched by username and
    /// groups by name (regardless of case): a match is updated to what the record says. Users
    /// and groups are applied before memberships, so a membership may name an object that comes
    /// later in the same batch. The outcomes are in record order.
    pub async fn import(&self, records: Vec<ImportRecord>) -> Result<Vec<ImportOutcome>> {
        let mut outcomes = vec![ImportOutcome::Unchanged; records.len()];
        let mut users: Vec<(usize, NewUser)> = Vec::new();
        let mut groups: Vec<(usize, NewGroup)> = Vec::new();
        let mut memberships: Vec<(usize, MembershipRef)> = Vec::new();
        for (index, record) in records.into_iter().enumerate() {
            match record {
                ImportRecord::User(new) => match new.validate() {
                    Ok(()) => users.push((index, new)),
                    Err(err) => {
                        outcomes[index] = ImportOutcome::Failed {
                            message: err.to_string(),
                        }
                    }
                },
                ImportRecord::Group(new) => groups.push((index, new)),
                ImportRecord::Membership(membership) => memberships.push((index, membership)),
            }
        }
        let mut changes: Vec<PendingChange> = Vec::new();

        write_pool!(self, pool, _d => {
            let mut tx = pool.begin_write().await?;

            // Users: one read for the batch, multi-row inserts, an update per changed user.
            let keys: Vec<String> = users
                .iter()
                .map(|(_, new)| new.username.key())
                .collect::<HashSet<_>>()
                .into_iter()
                .collect();
            let mut stored: HashMap<String, User> = HashMap::new();
            for chunk in keys.chunks(ROWS_PER_STATEMENT) {
                let mut query = sqlx::QueryBuilder::new(concat!(
                    "SELECT ",
                    user_columns!(),
                    " FROM users WHERE username_key IN ("
                ));
                let mut list = query.separated(", ");
                for key in chunk {
                    list.push_bind(key.as_str());
                }
                query.push(")");
                let rows: Vec<UserRow> = query.build_query_as().fetch_all(&mut *tx).await?;
                for row in rows {
                    let user = User::try_from(row)?;
                    stored.insert(user.username.key(), user);
                }
            }
            let plan = UserPlan::new(users, stored, &mut outcomes);
            for chunk in plan.inserts.chunks(ROWS_PER_STATEMENT) {
                let mut insert = sqlx::QueryBuilder::new(
                    "INSERT INTO users (id, username, username_key, name, email, email_key, \
                     is_active, kind, attributes, created_at, updated_at) ",
                );
                insert.push_values(chunk, |mut row, user| {
                    row.push_bind(user.id.as_uuid())
                        .push_bind(user.username.as_str())
                        .push_bind(user.username.key())
                        .push_bind(user.name.as_str())
                        .push_bind(user.email.as_ref().map(|email| email.as_str()))
                        .push_bind(crate::rows::email_key(user.email.as_ref()))
                        .push_bind(user.is_active)
                        .push_bind(user.kind.as_str())
                        .push_bind(sqlx::types::Json(user.attributes.as_map()))
                        .push_bind(user.created_at)
                        .push_bind(user.updated_at);
                });
                insert.build().execute(&mut *tx).await?;
            }
            for user in &plan.updates {
                update_user_row!(tx, user)?;
            }
            changes.extend(plan.inserts.iter().map(|user| {
                PendingChange::object(ObjectKind::User, ChangeOp::Create, user.id.as_uuid(), user.updated_at)
            }));
            changes.extend(plan.updates.iter().map(|user| {
                PendingChange::object(ObjectKind::User, ChangeOp::Update, user.id.as_uuid(), user.updated_at)
            }));
            let mut user_ids: HashMap<String, Option<Uuid>> =
                plan.ids.into_iter().map(|(key, id)| (key, Some(id))).collect();

            // Groups: few per batch; one statement each.
            let mut group_ids: HashMap<String, Option<Uuid>> = HashMap::new();
            for (index, new) in groups {
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
                        if existing.name != group.name || existing.attributes != group.attributes =>
                    {
                        update_group_row!(tx, &group)?;
                        changes.push(PendingChange::object(ObjectKind::Group, ChangeOp::Update, group.id.as_uuid(), group.updated_at));
                        outcomes[index] = ImportOutcome::Updated;
                    }
                    Some(_) => {}
                }
                group_ids.insert(key, Some(group.id.as_uuid()));
            }

            // Memberships: resolve the names the batch has not seen, then multi-row inserts
            // that report which rows were new.
            let missing_users: Vec<String> = memberships
                .iter()
                .map(|(_, m)| m.user.key())
                .filter(|key| !user_ids.contains_key(key))
                .collect::<HashSet<_>>()
                .into_iter()
                .collect();
            resolve_keys!(tx, "SELECT id, username_key FROM users WHERE username_key IN (", missing_users, &mut user_ids);
            let missing_groups: Vec<String> = memberships
                .iter()
                .map(|(_, m)| group_name_key(&m.group))
                .filter(|key| !group_ids.contains_key(key))
                .collect::<HashSet<_>>()
                .into_iter()
                .collect();
            resolve_keys!(tx, "SELECT id, name_key FROM groups WHERE name_key IN (", missing_groups, &mut group_ids);

            let mut pairs: Vec<(usize, Uuid, Uuid)> = Vec::new();
            let mut seen: HashSet<(Uuid, Uuid)> = HashSet::new();
            for (index, membership) in memberships {
                let group = group_ids.get(&group_name_key(&membership.group)).copied().flatten();
                let user = user_ids.get(&membership.user.key()).copied().flatten();
                match (group, user) {
                    (Some(group), Some(user)) => {
                        // A pair named twice: the first record reports it.
                        if seen.insert((group, user)) {
                            pairs.push((index, group, user));
                        }
                    }
                    (None, _) => {
                        outcomes[index] = ImportOutcome::Failed {
                            message: format!("no group named {:?}", membership.group.as_str()),
                        }
                    }
                    (Some(_), None) => {
                        outcomes[index] = ImportOutcome::Failed {
                            message: format!("no user named {:?}", membership.user.as_str()),
                        }
                    }
                }
            }
            let at = now();
            for chunk in pairs.chunks(ROWS_PER_STATEMENT) {
                let mut insert = sqlx::QueryBuilder::new("INSERT INTO memberships (group_id, user_id) ");
                insert.push_values(chunk, |mut row, (_, group, user)| {
                    row.push_bind(*group).push_bind(*user);
                });
                insert.push(" ON CONFLICT (group_id, user_id) DO NOTHING RETURNING group_id, user_id");
                let added: HashSet<(Uuid, Uuid)> = insert
                    .build_query_as::<(Uuid, Uuid)>()
                    .fetch_all(&mut *tx)
                    .await?
                    .into_iter()
                    .collect();
                for (index, group, user) in chunk {
                    if added.contains(&(*group, *user)) {
                        outcomes[*index] = ImportOutcome::Created;
                        changes.push(PendingChange::membership(ChangeOp::Add, *group, *user, at));
                    }
                }
            }

            append_changes!(tx, &changes);
            tx.commit().await?;
            self.ring_changed();
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
