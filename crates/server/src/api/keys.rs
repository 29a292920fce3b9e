//! How the API names objects: a path segment is an id or, failing that, a username or group
//! name; list pages are keyset pages.

use model::{Group, GroupName, User};
use serde::{Deserialize, Serialize};
use store::{Page, Store};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::error::ApiError;

pub const DEFAULT_LIMIT: u32 = 100;

/// Paging parameters shared by every listing.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Return the objects after this id (the `next_after` of the previous page).
    pub after: Option<Uuid>,
    /// Page size, 1 to 1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
}

pub fn page(after: Option<Uuid>, limit: Option<u32>) -> Result<Page, ApiError> {
    let limit = limit.unwrap_or(DEFAULT_LIMIT);
    if limit == 0 || limit > Page::MAX_LIMIT {
        return Err(ApiError::validation(
            "limit",
            format!("limit must be between 1 and {}", Page::MAX_LIMIT),
        ));
    }
    Ok(match after {
        Some(after) => Page::after(after, limit),
        None => Page::first(limit),
    })
}

/// Every item of a keyset listing, page by page. Only for listings known to stay small (a
/// user's groups, the providers): large ones are streamed page by page instead.
pub async fn collect_all<T, F, Fut>(
    mut fetch: F,
    id: impl Fn(&T) -> Uuid,
) -> Result<Vec<T>, ApiError>
where
    F: FnMut(Page) -> Fut,
    Fut: std::future::Future<Output = Result<Vec<T>, store::StoreError>>,
{
    let mut items = Vec::new();
    let mut page = Page::first(Page::MAX_LIMIT);
    loop {
        let batch = fetch(page).await?;
        let next = next_after(&batch, page, &id);
        items.extend(batch);
        match next {
            Some(after) => page = Page::after(after, Page::MAX_LIMIT),
            None => return Ok(items),
        }
    }
}

/// The cursor for the next page: the last id when the page is full, else none.
pub fn next_after<T>(items: &[T], page: Page, id: impl Fn(&T) -> Uuid) -> Option<Uuid> {
    (items.len() >= page.limit as usize)
        .then(|| items.last().map(id))
        .flatten()
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserPage {
    pub items: Vec<User>,
    /// Pass as `after` to get the next page; absent on the last page.
    pub next_after: Option<Uuid>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct GroupPage {
    pub items: Vec<Group>,
    /// Pass as `after` to get the next page; absent on the last page.
    pub next_after: Option<Uuid>,
}

/// The user named by `key`: its id, or its username (regardless of case).
pub async fn resolve_user(store: &Store, key: &str) -> Result<User, ApiError> {
    if let Ok(id) = key.parse::<Uuid>() {
        return Ok(store.get_user(id.into()).await?);
    }
    store
        .find_user_by_username(key)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no user has the id or username {key:?}")))
}

/// The group named by `key`: its id, or its name (regardless of case).
pub async fn resolve_group(store: &Store, key: &str) -> Result<Group, ApiError> {
    if let Ok(id) = key.parse::<Uuid>() {
        return Ok(store.get_group(id.into()).await?);
    }
    let not_found = || ApiError::not_found(format!("no group has the id or name {key:?}"));
    let name = GroupName::parse(key).map_err(|_| not_found())?;
    store.find_group_by_name(&name).await?.ok_or_else(not_found)
}

/// The user or group a path names: `kind` is `users` or `groups`, `object` an id or a name.
pub async fn resolve_object(
    store: &Store,
    kind: &str,
    object: &str,
) -> Result<(engine::RemoteKind, Uuid), ApiError> {
    match kind {
        "users" => Ok((
            engine::RemoteKind::User,
            resolve_user(store, object).await?.id.as_uuid(),
        )),
        "groups" => Ok((
            engine::RemoteKind::Group,
            resolve_group(store, object).await?.id.as_uuid(),
        )),
        _ => Err(ApiError::validation("kind", "kind must be users or groups")),
    }
}

/// Where a directory object came from over SCIM, when a SCIM client wrote it.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ScimOrigin {
    /// The SCIM client (its token's name) that created the object; absent when the object was
    /// made otherwise and a SCIM client wrote it later.
    pub client: Option<String>,
    /// The client's own id for the object (`externalId`).
    pub external_id: Option<String>,
}

impl ScimOrigin {
    /// `None` for an object no SCIM client has written.
    pub fn of(record: store::ScimRecord) -> Option<Self> {
        (record != store::ScimRecord::default()).then_some(Self {
            client: record.client,
            external_id: record.external_id,
        })
    }
}

/// A user, with where it came from over SCIM.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct UserDetail {
    #[serde(flatten)]
    pub user: model::User,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scim: Option<ScimOrigin>,
}

/// A group, with where it came from over SCIM.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct GroupDetail {
    #[serde(flatten)]
    pub group: model::Group,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scim: Option<ScimOrigin>,
}
