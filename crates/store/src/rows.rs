//! Row shapes as both backends return them, and their conversion into model types. Stored
//! values are parsed again on the way out, so a row edited by hand into something invalid is
//! reported, not passed on.

use chrono::{DateTime, SubsecRound, Utc};
use model::{Attributes, Email, Group, GroupId, GroupName, User, UserId, Username};
use serde_json::Value;
use sqlx::types::Json;
use uuid::Uuid;

use crate::StoreError;

/// The current time at the precision both backends keep (microseconds), so that what a write
/// returns equals what a later read returns.
pub(crate) fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

macro_rules! user_columns {
    () => {
        "id, username, name, email, is_active, kind, attributes, created_at, updated_at"
    };
}

macro_rules! group_columns {
    () => {
        "id, name, attributes, created_at, updated_at"
    };
}

#[derive(sqlx::FromRow)]
pub(crate) struct UserRow {
    pub id: Uuid,
    pub username: String,
    pub name: String,
    pub email: Option<String>,
    pub is_active: bool,
    pub kind: String,
    pub attributes: Json<Value>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl TryFrom<UserRow> for User {
    type Error = StoreError;
    fn try_from(row: UserRow) -> Result<Self, StoreError> {
        let corrupt =
            |err: model::ValidationError| StoreError::Corrupt(format!("user {}: {err}", row.id));
        Ok(User {
            id: UserId::from_uuid(row.id),
            username: Username::parse(row.username.clone()).map_err(corrupt)?,
            name: row.name.clone(),
            email: row
                .email
                .clone()
                .map(Email::parse)
                .transpose()
                .map_err(corrupt)?,
            is_active: row.is_active,
            kind: row.kind.parse().map_err(corrupt)?,
            attributes: Attributes::from_value(row.attributes.0.clone()).map_err(corrupt)?,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct GroupRow {
    pub id: Uuid,
    pub name: String,
    pub attributes: Json<Value>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl TryFrom<GroupRow> for Group {
    type Error = StoreError;
    fn try_from(row: GroupRow) -> Result<Self, StoreError> {
        let corrupt =
            |err: model::ValidationError| StoreError::Corrupt(format!("group {}: {err}", row.id));
        Ok(Group {
            id: GroupId::from_uuid(row.id),
            name: GroupName::parse(row.name.clone()).map_err(corrupt)?,
            attributes: Attributes::from_value(row.attributes.0.clone()).map_err(corrupt)?,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct ChangeRow {
    pub seq: i64,
    pub kind: String,
    pub op: String,
    pub object_id: Uuid,
    pub subject_id: Option<Uuid>,
    pub at: DateTime<Utc>,
}

/// Lower-cased email, the form lookups and filters compare.
pub(crate) fn email_key(email: Option<&Email>) -> Option<String> {
    email.map(|email| email.as_str().to_lowercase())
}

/// Case-folded group name: the form uniqueness is checked on.
pub(crate) fn group_name_key(name: &GroupName) -> String {
    name.as_str().to_lowercase()
}

pub(crate) fn users_from(rows: Vec<UserRow>) -> Result<Vec<User>, StoreError> {
    rows.into_iter().map(User::try_from).collect()
}

pub(crate) fn groups_from(rows: Vec<GroupRow>) -> Result<Vec<Group>, StoreError> {
    rows.into_iter().map(Group::try_from).collect()
}
