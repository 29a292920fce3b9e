//! Links over the API: list a provider's links, show one with what Entra holds now, make one
//! by hand (the remote object is read first), remove one (local only).

use axum::{Json, extract::State, http::StatusCode};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::keys::{next_after, page, resolve_object};
use super::providers::resolve_provider;
use super::sync::node_runner;
use crate::{
    AppState,
    error::{ApiError, ErrorBody},
    extract::{ApiJson, ApiPath, ApiQuery},
};

/// A link: directory object `object_id` is remote object `remote_id` for the provider.
#[derive(Debug, Serialize, ToSchema)]
pub struct LinkView {
    /// `user` or `group`.
    pub kind: String,
    pub object_id: Uuid,
    pub remote_id: String,
    /// When we last wrote to the remote object (or linked it).
    pub synced_at: DateTime<Utc>,
    /// What we last wrote (create-only properties left out).
    #[schema(value_type = Object)]
    pub written: serde_json::Value,
    /// What Entra holds now (`GET` of one link only).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Object)]
    pub remote: Option<serde_json::Value>,
}

impl From<engine::Link> for LinkView {
    fn from(link: engine::Link) -> Self {
        Self {
            kind: link.kind.as_str().to_owned(),
            object_id: link.object,
            remote_id: link.remote_id.as_str().to_owned(),
            synced_at: link.synced_at,
            written: serde_json::Value::Object(link.written),
            remote: None,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LinkPage {
    pub items: Vec<LinkView>,
    pub next_after: Option<Uuid>,
}

/// A link to make by hand.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkInput {
    /// The remote object's id (an Entra object id).
    pub remote_id: String,
}

fn link_error(error: runner::LinkError) -> ApiError {
    use runner::LinkError;
    match error {
        LinkError::AlreadyLinked(_) | LinkError::RemoteTaken(..) => {
            ApiError::new(StatusCode::CONFLICT, "conflict", error.to_string())
        }
        LinkError::NoSuchRemote(..) | LinkError::NotLinked => {
            ApiError::not_found(error.to_string())
        }
        LinkError::Runner(runner::RunnerError::Busy(_)) => {
            ApiError::new(StatusCode::CONFLICT, "busy", error.to_string())
        }
        LinkError::Remote(_) => ApiError::unavailable(error.to_string()),
        LinkError::Runner(runner::RunnerError::Store(error)) => error.into(),
        other => {
            tracing::error!(error = %other, "link");
            ApiError::internal()
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct LinkQuery {
    pub after: Option<Uuid>,
    pub limit: Option<u32>,
}

/// The provider's links of one kind (`users` or `groups`).
#[utoipa::path(get, path = "/providers/{provider}/links/{kind}", tag = "links", params(
    ("provider" = String, Path, description = "The provider's id or name"),
    ("kind" = String, Path, description = "`users` or `groups`"), LinkQuery),
    responses((status = 200, body = LinkPage), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn list_links(
    State(state): State<AppState>,
    ApiPath((key, kind)): ApiPath<(String, String)>,
    ApiQuery(query): ApiQuery<LinkQuery>,
) -> Result<Json<LinkPage>, ApiError> {
    let provider = resolve_provider(&state.store, &key).await?;
    let kind = match kind.as_str() {
        "users" => engine::RemoteKind::User,
        "groups" => engine::RemoteKind::Group,
        _ => return Err(ApiError::validation("kind", "kind must be users or groups")),
    };
    let page = page(query.after, query.limit)?;
    let links = state.store.list_links(provider.id, kind, page).await?;
    let next_after = next_after(&links, page, |link| link.object);
    Ok(Json(LinkPage {
        items: links.into_iter().map(LinkView::from).collect(),
        next_after,
    }))
}

/// One link, with what Entra holds now.
#[utoipa::path(get, path = "/providers/{provider}/links/{kind}/{object}", tag = "links", params(
    ("provider" = String, Path, description = "The provider's id or name"),
    ("kind" = String, Path, description = "`users` or `groups`"),
    ("object" = String, Path, description = "The user's id or username, or the group's id or name")),
    responses((status = 200, body = LinkView), (status = 404, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn get_link(
    State(state): State<AppState>,
    ApiPath((key, kind, object)): ApiPath<(String, String, String)>,
) -> Result<Json<LinkView>, ApiError> {
    let provider = resolve_provider(&state.store, &key).await?;
    let (kind, object) = resolve_object(&state.store, &kind, &object).await?;
    let link = engine::LinksRead::link(&state.store, provider.id, kind, object)
        .await
        .map_err(|_| ApiError::internal())?
        .ok_or_else(|| ApiError::not_found("this object is not linked"))?;
    let remote_id = link.remote_id.clone();
    let mut view = LinkView::from(link);
    if let Some(runner) = state.runner.clone() {
        view.remote = Some(
            match runner.read_remote(provider.id, kind, &remote_id).await {
                Ok(remote) => serde_json::Value::Object(remote.properties),
                Err(error) => serde_json::json!({"error": error.to_string()}),
            },
        );
    }
    Ok(Json(view))
}

/// Link a directory object to an existing remote object by hand (it is read from Entra first).
#[utoipa::path(put, path = "/providers/{provider}/links/{kind}/{object}", tag = "links",
    request_body = LinkInput, params(
    ("provider" = String, Path, description = "The provider's id or name"),
    ("kind" = String, Path, description = "`users` or `groups`"),
    ("object" = String, Path, description = "The user's id or username, or the group's id or name")),
    responses((status = 201, body = LinkView), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn create_link(
    State(state): State<AppState>,
    ApiPath((key, kind, object)): ApiPath<(String, String, String)>,
    ApiJson(input): ApiJson<LinkInput>,
) -> Result<(StatusCode, Json<LinkView>), ApiError> {
    // An Entra object id is a GUID: anything else could name another resource in the URL.
    let remote_id = match input.remote_id.parse::<Uuid>() {
        Ok(id) => id.hyphenated().to_string(),
        Err(_) => {
            return Err(ApiError::validation(
                "remote_id",
                format!(
                    "remote_id {:?} is not an Entra object id (a GUID)",
                    input.remote_id
                ),
            ));
        }
    };
    let provider = resolve_provider(&state.store, &key).await?;
    let (kind, object) = resolve_object(&state.store, &kind, &object).await?;
    let runner = node_runner(&state)?;
    let (link, remote) = runner
        .link_by_hand(provider.id, kind, object, engine::RemoteId::new(remote_id))
        .await
        .map_err(link_error)?;
    let mut view = LinkView::from(link);
    view.remote = Some(serde_json::Value::Object(remote.properties));
    Ok((StatusCode::CREATED, Json(view)))
}

/// Remove a link (local only: nothing changes in Entra; the next sync may create the object
/// again, or discovery may link it again).
#[utoipa::path(delete, path = "/providers/{provider}/links/{kind}/{object}", tag = "links", params(
    ("provider" = String, Path, description = "The provider's id or name"),
    ("kind" = String, Path, description = "`users` or `groups`"),
    ("object" = String, Path, description = "The user's id or username, or the group's id or name")),
    responses((status = 204, description = "Removed"), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn delete_link(
    State(state): State<AppState>,
    ApiPath((key, kind, object)): ApiPath<(String, String, String)>,
) -> Result<StatusCode, ApiError> {
    let provider = resolve_provider(&state.store, &key).await?;
    let (kind, object) = resolve_object(&state.store, &kind, &object).await?;
    let runner = node_runner(&state)?;
    runner
        .unlink_by_hand(provider.id, kind, object)
        .await
        .map_err(link_error)?;
    Ok(StatusCode::NO_CONTENT)
}
