//! API tokens: who may call entrasync's APIs. Only a SHA-256 of each token is kept; the token
//! itself is shown once, by whoever made it.
//!
//! Every token has a kind, the API it opens ([`TokenKind::Admin`] or [`TokenKind::Scim`]), a name unique
//! regardless of case, an optional expiry and the time it was last used. The configured
//! `admin_token` lives under one fixed id, so that configuring another value replaces the old
//! one instead of adding to it.

use std::{fmt, str::FromStr};

use chrono::{DateTime, Duration, SubsecRound, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::{Page, Result, Store, StoreError, error::is_unique_violation, rows::now};

/// The stored form of an API token: its SHA-256, hex. Tokens are long random strings, so a
/// fast hash is enough; the token itself is never stored.
pub fn token_hash(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    digest.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// The name the configured `admin_token` is listed under. No other token may take it.
pub const CONFIGURED_ADMIN_TOKEN_NAME: &str = "admin (configured)";

/// The fixed id of the configured `admin_token`: each start overwrites this one row.
const CONFIGURED_ADMIN_TOKEN_ID: Uuid = Uuid::from_u128(1);

/// How stale `last_used_at` may get before a use is written down. Writing on every request
/// would put a write (and on SQLite an fsync) in front of every read of the API.
const LAST_USED_RESOLUTION: Duration = Duration::minutes(1);

/// Which API a token opens. A token opens only the API of its kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenKind {
    /// The admin REST API under `/api/v1`.
    Admin,
    /// Inbound SCIM under `/scim/v2`, for one SCIM client (its name is recorded on what it
    /// creates).
    Scim,
}

impl TokenKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenKind::Admin => "admin",
            TokenKind::Scim => "scim",
        }
    }
}

impl fmt::Display for TokenKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for TokenKind {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        match text {
            "admin" => Ok(TokenKind::Admin),
            "scim" => Ok(TokenKind::Scim),
            other => Err(format!("unknown token kind {other:?}")),
        }
    }
}

/// What is known of a stored token: everything but the token (and its hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApiToken {
    pub id: Uuid,
    pub name: String,
    pub kind: TokenKind,
    pub created_at: DateTime<Utc>,
    /// When it stops being accepted; never when absent.
    pub expires_at: Option<DateTime<Utc>>,
    /// Its last accepted use, to the minute; never used when absent.
    pub last_used_at: Option<DateTime<Utc>>,
}

impl ApiToken {
    pub fn is_expired(&self, at: DateTime<Utc>) -> bool {
        self.expires_at.is_some_and(|expires_at| expires_at <= at)
    }

    /// Whether this is the configured `admin_token` (which the next start writes again).
    pub fn is_configured(&self) -> bool {
        self.id == CONFIGURED_ADMIN_TOKEN_ID
    }
}

/// A token to store.
pub struct NewApiToken<'a> {
    pub name: &'a str,
    pub kind: TokenKind,
    /// The token itself; only its hash is stored.
    pub secret: &'a str,
    pub expires_at: Option<DateTime<Utc>>,
}

impl fmt::Debug for NewApiToken<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewApiToken")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("secret", &"***")
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// The outcome of presenting a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Authentication {
    /// A stored token of the kind asked for, not expired.
    Accepted(ApiToken),
    /// A stored token past its expiry.
    Expired(ApiToken),
    /// A stored token of another kind (as stored): it does not open this API.
    OtherKind { kind: String },
    /// No stored token has this value.
    Unknown,
}

#[derive(sqlx::FromRow)]
struct TokenRow {
    id: Uuid,
    name: String,
    kind: String,
    created_at: DateTime<Utc>,
    expires_at: Option<DateTime<Utc>>,
    last_used_at: Option<DateTime<Utc>>,
}

impl TryFrom<TokenRow> for ApiToken {
    type Error = StoreError;
    fn try_from(row: TokenRow) -> Result<Self> {
        Ok(ApiToken {
            kind: row
                .kind
                .parse()
                .map_err(|err| StoreError::Corrupt(format!("API token {}: {err}", row.id)))?,
            id: row.id,
            name: row.name,
            created_at: row.created_at,
            expires_at: row.expires_at,
            last_used_at: row.last_used_at,
        })
    }
}

macro_rules! select_tokens {
    ($tail:literal) => {
        concat!(
            "SELECT id, name, kind, created_at, expires_at, last_used_at FROM api_tokens ",
            $tail
        )
    };
}

const SELECT_BY_ID: &str = select_tokens!("WHERE id = $1");
const SELECT_BY_KEY: &str = select_tokens!("WHERE name_key = $1");
const SELECT_BY_HASH: &str = select_tokens!("WHERE token_hash = $1");
const LIST: &str = select_tokens!("WHERE id > $1 ORDER BY id LIMIT $2");

fn name_key(name: &str) -> String {
    name.to_lowercase()
}

fn name_taken(name: &str) -> StoreError {
    StoreError::Conflict {
        field: "name",
        message: format!("an API token named {name:?} already exists"),
    }
}

impl Store {
    /// Stores a new token. Its name must be free (regardless of case) and is checked like a
    /// provider's name.
    pub async fn create_api_token(&self, new: NewApiToken<'_>) -> Result<ApiToken> {
        model::check_plain_name(new.name)?;
        if name_key(new.name) == name_key(CONFIGURED_ADMIN_TOKEN_NAME) {
            return Err(StoreError::Conflict {
                field: "name",
                message: format!(
                    "the name {CONFIGURED_ADMIN_TOKEN_NAME:?} is kept for the configured admin_token"
                ),
            });
        }
        let token = ApiToken {
            id: Uuid::now_v7(),
            name: new.name.to_owned(),
            kind: new.kind,
            created_at: now(),
            // At the precision both backends keep, so that what is returned is what is read.
            expires_at: new.expires_at.map(|at| at.trunc_subsecs(6)),
            last_used_at: None,
        };
        write_pool!(self, pool, _d => {
            sqlx::query(
                "INSERT INTO api_tokens \
                 (id, name, name_key, kind, token_hash, created_at, expires_at, last_used_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, NULL)",
            )
            .bind(token.id)
            .bind(&token.name)
            .bind(name_key(&token.name))
            .bind(token.kind.as_str())
            .bind(token_hash(new.secret))
            .bind(token.created_at)
            .bind(token.expires_at)
            .execute(pool)
            .await
            .map_err(|err| {
                // The hash is unique too, but two random 256-bit tokens do not collide: a
                // uniqueness failure is the name.
                if is_unique_violation(&err) {
                    name_taken(&token.name)
                } else {
                    err.into()
                }
            })?;
        });
        Ok(token)
    }

    /// Stores `token` as an admin token named `name` that never expires, unless that token is
    /// stored already.
    pub async fn add_api_token(&self, name: &str, token: &str) -> Result<()> {
        if self.token_row_by_hash(token).await?.is_some() {
            return Ok(());
        }
        self.create_api_token(NewApiToken {
            name,
            kind: TokenKind::Admin,
            secret: token,
            expires_at: None,
        })
        .await
        .map(drop)
    }

    /// Makes `token` the configured admin token, replacing the one configured before (which
    /// stops being accepted); `None` removes it. A new value gets a new creation time and no
    /// last use; the same value keeps both.
    pub async fn set_configured_admin_token(&self, token: Option<&str>) -> Result<()> {
        let Some(token) = token else {
            write_pool!(self, pool, _d => {
                sqlx::query("DELETE FROM api_tokens WHERE id = $1")
                    .bind(CONFIGURED_ADMIN_TOKEN_ID)
                    .execute(pool)
                    .await?;
            });
            return Ok(());
        };
        write_pool!(self, pool, _d => {
            sqlx::query(
                "INSERT INTO api_tokens \
                 (id, name, name_key, kind, token_hash, created_at, expires_at, last_used_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, NULL, NULL) \
                 ON CONFLICT (id) DO UPDATE SET \
                   name = excluded.name, \
                   name_key = excluded.name_key, \
                   kind = excluded.kind, \
                   expires_at = NULL, \
                   created_at = CASE WHEN api_tokens.token_hash = excluded.token_hash \
                     THEN api_tokens.created_at ELSE excluded.created_at END, \
                   last_used_at = CASE WHEN api_tokens.token_hash = excluded.token_hash \
                     THEN api_tokens.last_used_at ELSE NULL END, \
                   token_hash = excluded.token_hash",
            )
            .bind(CONFIGURED_ADMIN_TOKEN_ID)
            .bind(CONFIGURED_ADMIN_TOKEN_NAME)
            .bind(name_key(CONFIGURED_ADMIN_TOKEN_NAME))
            .bind(TokenKind::Admin.as_str())
            .bind(token_hash(token))
            .bind(now())
            .execute(pool)
            .await
            .map_err(|err| {
                if is_unique_violation(&err) {
                    StoreError::Conflict {
                        field: "admin_token",
                        message: "the configured admin_token is already stored as another API \
                                  token: revoke that one or configure another value"
                            .to_owned(),
                    }
                } else {
                    err.into()
                }
            })?;
        });
        Ok(())
    }

    /// Checks a presented token for an API of `kind`. An accepted use is written down as the
    /// token's last use (at most once a minute per token).
    pub async fn authenticate(&self, token: &str, kind: TokenKind) -> Result<Authentication> {
        let Some(row) = self.token_row_by_hash(token).await? else {
            return Ok(Authentication::Unknown);
        };
        // Compared as stored, so that a kind this version does not know (a token made by a
        // newer one) is refused like any other kind, not reported as a corrupt row.
        if row.kind != kind.as_str() {
            return Ok(Authentication::OtherKind { kind: row.kind });
        }
        let found = ApiToken::try_from(row)?;
        let at = now();
        if found.is_expired(at) {
            return Ok(Authentication::Expired(found));
        }
        if found
            .last_used_at
            .is_none_or(|used| at - used >= LAST_USED_RESOLUTION)
        {
            // Bookkeeping only: a failure to write it down must not refuse a valid token.
            if let Err(err) = self.record_token_use(found.id, at).await {
                tracing::warn!(token = %found.id, error = %err, "cannot record an API token's use");
            }
        }
        Ok(Authentication::Accepted(found))
    }

    /// Whether `token` is an admin token that is stored and not expired.
    pub async fn api_token_is_valid(&self, token: &str) -> Result<bool> {
        Ok(matches!(
            self.authenticate(token, TokenKind::Admin).await?,
            Authentication::Accepted(_)
        ))
    }

    /// Tokens in id order, a keyset page at a time.
    pub async fn list_api_tokens(&self, page: Page) -> Result<Vec<ApiToken>> {
        let rows: Vec<TokenRow> = read_pool!(self, pool, _d => {
            sqlx::query_as(LIST)
                .bind(page.lower_bound())
                .bind(page.sql_limit())
                .fetch_all(pool)
                .await?
        });
        rows.into_iter().map(ApiToken::try_from).collect()
    }

    pub async fn get_api_token(&self, id: Uuid) -> Result<ApiToken> {
        let row: Option<TokenRow> = read_pool!(self, pool, _d => {
            sqlx::query_as(SELECT_BY_ID).bind(id).fetch_optional(pool).await?
        });
        row.ok_or_else(|| StoreError::not_found("API token", id))?
            .try_into()
    }

    /// The token with this name, compared regardless of case.
    pub async fn find_api_token_by_name(&self, name: &str) -> Result<Option<ApiToken>> {
        let row: Option<TokenRow> = read_pool!(self, pool, _d => {
            sqlx::query_as(SELECT_BY_KEY).bind(name_key(name)).fetch_optional(pool).await?
        });
        row.map(ApiToken::try_from).transpose()
    }

    /// Deletes a token: it is refused from now on.
    pub async fn revoke_api_token(&self, id: Uuid) -> Result<()> {
        let deleted = write_pool!(self, pool, _d => {
            sqlx::query("DELETE FROM api_tokens WHERE id = $1")
                .bind(id)
                .execute(pool)
                .await?
                .rows_affected()
        });
        if deleted == 0 {
            return Err(StoreError::not_found("API token", id));
        }
        Ok(())
    }

    /// How many tokens of `kind` would be accepted now.
    pub async fn count_usable_api_tokens(&self, kind: TokenKind) -> Result<i64> {
        let count: i64 = read_pool!(self, pool, _d => {
            sqlx::query_scalar(
                "SELECT COUNT(*) FROM api_tokens \
                 WHERE kind = $1 AND (expires_at IS NULL OR expires_at > $2)",
            )
            .bind(kind.as_str())
            .bind(now())
            .fetch_one(pool)
            .await?
        });
        Ok(count)
    }

    /// How many tokens are stored, expired ones included.
    pub async fn count_api_tokens(&self) -> Result<i64> {
        let count: i64 = read_pool!(self, pool, _d => {
            sqlx::query_scalar("SELECT COUNT(*) FROM api_tokens").fetch_one(pool).await?
        });
        Ok(count)
    }

    async fn token_row_by_hash(&self, token: &str) -> Result<Option<TokenRow>> {
        Ok(read_pool!(self, pool, _d => {
            sqlx::query_as(SELECT_BY_HASH)
                .bind(token_hash(token))
                .fetch_optional(pool)
                .await?
        }))
    }

    async fn record_token_use(&self, id: Uuid, at: DateTime<Utc>) -> Result<()> {
        write_pool!(self, pool, _d => {
            sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE id = $2")
                .bind(at)
                .bind(id)
                .execute(pool)
                .await?;
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_token_never_shows_its_secret_in_debug() {
        let new = NewApiToken {
            name: "ci",
            kind: TokenKind::Admin,
            secret: "es_do_not_print_me",
            expires_at: None,
        };
        assert!(!format!("{new:?}").contains("do_not_print_me"));
    }

    #[test]
    fn kinds_read_back_as_written() {
        assert_eq!("admin".parse::<TokenKind>(), Ok(TokenKind::Admin));
        assert_eq!("scim".parse::<TokenKind>(), Ok(TokenKind::Scim));
        assert!("root".parse::<TokenKind>().is_err());
        assert_eq!(TokenKind::Admin.to_string(), "admin");
        assert_eq!(TokenKind::Scim.to_string(), "scim");
    }
}
