use model::{ChangeOp, NewUser, ObjectKind, User, UserId, UserPatch, username_key};

use crate::{
    Dialect, Page, Result, Store, StoreError, UserFilter,
    changes::PendingChange,
    error::is_unique_violation,
    page::contains_pattern,
    rows::{UserRow, now, users_from},
};

/// Inserts `$user` (a `&User`) in the open transaction.
macro_rules! insert_user {
    ($tx:expr, $user:expr) => {{
        let user: &model::User = $user;
        sqlx::query(
            "INSERT INTO users (id, username, username_key, name, email, email_key, is_active, \
             kind, attributes, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(user.id.as_uuid())
        .bind(user.username.as_str())
        .bind(user.username.key())
        .bind(&user.name)
        .bind(user.email.as_ref().map(|email| email.as_str()))
        .bind($crate::rows::email_key(user.email.as_ref()))
        .bind(user.is_active)
        .bind(user.kind.as_str())
        .bind(sqlx::types::Json(user.attributes.as_map()))
        .bind(user.created_at)
        .bind(user.updated_at)
        .execute(&mut *$tx)
        .await
    }};
}

/// Writes every field of `$user` over its row in the open transaction.
macro_rules! update_user_row {
    ($tx:expr, $user:expr) => {{
        let user: &model::User = $user;
        sqlx::query(
            "UPDATE users SET username = $2, username_key = $3, name = $4, email = $5, \
             email_key = $6, is_active = $7, kind = $8, attributes = $9, updated_at = $10 \
             WHERE id = $1",
        )
        .bind(user.id.as_uuid())
        .bind(user.username.as_str())
        .bind(user.username.key())
        .bind(&user.name)
        .bind(user.email.as_ref().map(|email| email.as_str()))
        .bind($crate::rows::email_key(user.email.as_ref()))
        .bind(user.is_active)
        .bind(user.kind.as_str())
        .bind(sqlx::types::Json(user.attributes.as_map()))
        .bind(user.updated_at)
        .execute(&mut *$tx)
        .await
    }};
}

const SELECT_USER: &str = concat!("SELECT ", user_columns!(), " FROM users WHERE id = $1");
const SELECT_USER_FOR_UPDATE: &str = concat!(
    "SELECT ",
    user_columns!(),
    " FROM users WHERE id = $1 FOR UPDATE"
);
const SELECT_USER_BY_KEY: &str = concat!(
    "SELECT ",
    user_columns!(),
    " FROM users WHERE username_key = $1"
);
const LIST_USERS: &str = concat!(
    "SELECT ",
    user_columns!(),
    r" FROM users WHERE id > $1
      AND ($2 IS NULL OR username_key LIKE $2 ESCAPE '\')
      AND ($3 IS NULL OR email_key LIKE $3 ESCAPE '\')
      AND ($4 IS NULL OR kind = $4)
      AND ($5 IS NULL OR is_active = $5)
    ORDER BY id LIMIT $6"
);

pub(crate) fn username_taken(username: &str) -> StoreError {
    StoreError::Conflict {
        field: "username",
        message: format!("a user named {username:?} already exists"),
    }
}

impl Store {
    pub async fn create_user(&self, new: NewUser) -> Result<User> {
        new.validate()?;
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
            append_changes!(
                tx,
                &[PendingChange::object(ObjectKind::User, ChangeOp::Create, user.id.as_uuid(), at)]
            );
            tx.commit().await?;
            self.ring_changed();
        });
        Ok(user)
    }

    pub async fn get_user(&self, id: UserId) -> Result<User> {
        let row: Option<UserRow> = read_pool!(self, pool, _d => {
            sqlx::query_as(SELECT_USER).bind(id.as_uuid()).fetch_optional(pool).await?
        });
        row.ok_or_else(|| StoreError::not_found("user", id))?
            .try_into()
    }

    /// The user with this username, compared regardless of case.
    pub async fn find_user_by_username(&self, username: &str) -> Result<Option<User>> {
        let row: Option<UserRow> = read_pool!(self, pool, _d => {
            sqlx::query_as(SELECT_USER_BY_KEY)
                .bind(username_key(username))
                .fetch_optional(pool)
                .await?
        });
        row.map(User::try_from).transpose()
    }

    /// One keyset page of users, in id order.
    pub async fn list_users(&self, filter: &UserFilter, page: Page) -> Result<Vec<User>> {
        let rows: Vec<UserRow> = read_pool!(self, pool, _d => {
            sqlx::query_as(LIST_USERS)
                .bind(page.lower_bound())
                .bind(filter.username.as_deref().map(contains_pattern))
                .bind(filter.email.as_deref().map(contains_pattern))
                .bind(filter.kind.map(|kind| kind.as_str()))
                .bind(filter.is_active)
                .bind(page.sql_limit())
                .fetch_all(pool)
                .await?
        });
        users_from(rows)
    }

    /// Applies a partial update. Nothing is written (and no change recorded) when the patch
    /// leaves the user as it was.
    pub async fn update_user(&self, id: UserId, patch: UserPatch) -> Result<User> {
        patch.validate()?;
        let user = write_pool!(self, pool, dialect => {
            let mut tx = pool.begin_write().await?;
            let select = match dialect {
                Dialect::Sqlite => SELECT_USER,
                Dialect::Postgres => SELECT_USER_FOR_UPDATE,
            };
            let row: Option<UserRow> = sqlx::query_as(select)
                .bind(id.as_uuid())
                .fetch_optional(&mut *tx)
                .await?;
            let mut user = User::try_from(row.ok_or_else(|| StoreError::not_found("user", id))?)?;
            if patch.apply(&mut user) {
                user.updated_at = now();
                update_user_row!(tx, &user).map_err(|err| {
                    if is_unique_violation(&err) {
                        username_taken(user.username.as_str())
                    } else {
                        err.into()
                    }
                })?;
                append_changes!(
                    tx,
                    &[PendingChange::object(ObjectKind::User, ChangeOp::Update, id.as_uuid(), user.updated_at)]
                );
                tx.commit().await?;
            self.ring_changed();
            }
            user
        });
        Ok(user)
    }

    /// Deletes the user and its memberships.
    pub async fn delete_user(&self, id: UserId) -> Result<()> {
        write_pool!(self, pool, _d => {
            let mut tx = pool.begin_write().await?;
            let deleted = sqlx::query("DELETE FROM users WHERE id = $1")
                .bind(id.as_uuid())
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if deleted == 0 {
                return Err(StoreError::not_found("user", id));
            }
            append_changes!(
                tx,
                &[PendingChange::object(ObjectKind::User, ChangeOp::Delete, id.as_uuid(), now())]
            );
            tx.commit().await?;
            self.ring_changed();
        });
        Ok(())
    }
}
