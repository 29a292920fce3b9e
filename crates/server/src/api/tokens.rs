//! API tokens: list, create (the token is answered once), revoke. Neither a token nor its
//! hash is ever shown again.

use axum::{Json, extract::State, http::StatusCode};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use store::{ApiToken, NewApiToken, Store, TokenKind};
use utoipa::ToSchema;
use uuid::Uuid;

use super::keys::{ListQuery, next_after, page};
use crate::{
    AppState, auth,
    error::{ApiError, ErrorBody},
    extract::{ApiJson, ApiPath, ApiQuery},
};

/// The longest lifetime a token can be given (ten years); for no expiry, leave it out.
const MAX_EXPIRES_IN_DAYS: u32 = 3650;

/// A token to make.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTokenInput {
    /// Unique regardless of case; used to revoke it.
    pub name: String,
    /// Days until it stops being accepted, 1 to 3650; without it, it never expires.
    #[schema(minimum = 1, maximum = 3650)]
    pub expires_in_days: Option<u32>,
    /// Which API it opens: `admin` (the default) or `scim` (`/scim/v2` only, for one SCIM
    /// client: name it after the client).
    #[serde(default = "admin_kind")]
    #[schema(value_type = String, example = "scim")]
    pub kind: TokenKind,
}

fn admin_kind() -> TokenKind {
    TokenKind::Admin
}

/// A stored token. The token itself is shown only by the answer that made it.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenInfo {
    pub id: Uuid,
    pub name: String,
    /// Which API it opens: `admin` (`/api/v1`) or `scim` (`/scim/v2`).
    #[schema(value_type = String, example = "admin")]
    pub kind: TokenKind,
    pub created_at: DateTime<Utc>,
    /// When it stops being accepted; absent: never.
    pub expires_at: Option<DateTime<Utc>>,
    /// Whether it is past its expiry (and refused).
    pub expired: bool,
    /// Its last accepted use, to the minute; absent: never used.
    pub last_used_at: Option<DateTime<Utc>>,
    /// The configured `admin_token`: each start stores the configured value again.
    pub configured: bool,
}

impl TokenInfo {
    fn new(token: ApiToken, now: DateTime<Utc>) -> Self {
        Self {
            expired: token.is_expired(now),
            configured: token.is_configured(),
            id: token.id,
            name: token.name,
            kind: token.kind,
            created_at: token.created_at,
            expires_at: token.expires_at,
            last_used_at: token.last_used_at,
        }
    }
}

/// A token just made, with the token itself: the only time it is shown.
#[derive(Serialize, ToSchema)]
pub struct CreatedToken {
    #[serde(flatten)]
    pub info: TokenInfo,
    /// The token, for `Authorization: Bearer <token>`. Keep it: it cannot be shown again.
    pub token: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TokenPage {
    pub items: Vec<TokenInfo>,
    /// Pass as `after` to get the next page; absent on the last page.
    pub next_after: Option<Uuid>,
}

/// The token named by `key`: its id, or its name (regardless of case).
async fn resolve_token(store: &Store, key: &str) -> Result<ApiToken, ApiError> {
    if let Ok(id) = key.parse::<Uuid>() {
        return Ok(store.get_api_token(id).await?);
    }
    let found = store.find_api_token_by_name(key).await?;
    found.ok_or_else(|| {
        // Someone who pasted the token itself is not shown it again (nor are the logs).
        if key.starts_with(auth::TOKEN_PREFIX) {
            ApiError::not_found(
                "no API token has that id or name: name a token by its id or name, not by the \
                 token itself",
            )
        } else {
            ApiError::not_found(format!("no API token has the id or name {key:?}"))
        }
    })
}

/// List API tokens (never the tokens themselves).
#[utoipa::path(get, path = "/tokens", tag = "tokens", params(ListQuery),
    responses((status = 200, body = TokenPage)))]
pub async fn list_tokens(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<TokenPage>, ApiError> {
    let page = page(query.after, query.limit)?;
    let tokens = state.store.list_api_tokens(page).await?;
    let next_after = next_after(&tokens, page, |token| token.id);
    let now = Utc::now();
    let items = tokens
        .into_iter()
        .map(|token| TokenInfo::new(token, now))
        .collect();
    Ok(Json(TokenPage { items, next_after }))
}

/// Make an API token (admin, or for one SCIM client). The answer holds the token, once.
#[utoipa::path(post, path = "/tokens", tag = "tokens", request_body = NewTokenInput,
    responses((status = 201, body = CreatedToken), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn create_token(
    State(state): State<AppState>,
    ApiJson(input): ApiJson<NewTokenInput>,
) -> Result<(StatusCode, Json<CreatedToken>), ApiError> {
    let now = Utc::now();
    let expires_at = match input.expires_in_days {
        None => None,
        Some(days @ 1..=MAX_EXPIRES_IN_DAYS) => Some(now + Duration::days(i64::from(days))),
        Some(_) => {
            return Err(ApiError::validation(
                "expires_in_days",
                format!(
                    "expires_in_days must be between 1 and {MAX_EXPIRES_IN_DAYS}; leave it out \
                     for a token that does not expire"
                ),
            ));
        }
    };
    let token = auth::generate_token();
    let stored = state
        .store
        .create_api_token(NewApiToken {
            name: &input.name,
            kind: input.kind,
            secret: &token,
            expires_at,
        })
        .await?;
    tracing::info!(token = %stored.id, name = %stored.name, kind = %stored.kind, "API token created");
    Ok((
        StatusCode::CREATED,
        Json(CreatedToken {
            info: TokenInfo::new(stored, now),
            token,
        }),
    ))
}

/// Revoke an API token: it is refused from now on. The configured `admin_token` can be revoked
/// too, but the next start stores it again while it stays configured.
#[utoipa::path(delete, path = "/tokens/{token}", tag = "tokens",
    params(("token" = String, Path, description = "The token's id or name (not the token itself)")),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn revoke_token(
    State(state): State<AppState>,
    ApiPath(key): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    let token = resolve_token(&state.store, &key).await?;
    state.store.revoke_api_token(token.id).await?;
    tracing::info!(token = %token.id, name = %token.name, "API token revoked");
    Ok(StatusCode::NO_CONTENT)
}
