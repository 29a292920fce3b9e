//! Property mappings: CRUD (an expression that does not compile cannot be saved) and "try it",
//! which evaluates mappings against a directory user or group without touching anything.

use std::sync::Arc;

use axum::{Json, extract::State, http::StatusCode};
use mapping::{
    Context, GroupInput, Mapper, Mapping, MappingKind, ProviderContext, Subject, TryReport,
    UserInput,
};
use model::{NewPropertyMapping, PropertyMapping, PropertyMappingPatch};
use serde::{Deserialize, Serialize};
use store::Store;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::keys::{collect_all, next_after, page, resolve_group, resolve_user};
use crate::{
    AppState,
    error::{ApiError, ErrorBody},
    extract::{ApiJson, ApiPath, ApiQuery},
};

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct MappingListQuery {
    /// Return the mappings after this id (the `next_after` of the previous page).
    after: Option<Uuid>,
    /// Page size, 1 to 1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<u32>,
    /// Only mappings of this kind.
    kind: Option<MappingKind>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MappingPage {
    pub items: Vec<PropertyMapping>,
    /// Pass as `after` to get the next page; absent on the last page.
    pub next_after: Option<Uuid>,
}

/// The mapping named by `key`: its id, or its name (regardless of case).
pub(crate) async fn resolve_mapping(store: &Store, key: &str) -> Result<PropertyMapping, ApiError> {
    if let Ok(id) = key.parse::<Uuid>() {
        return Ok(store.get_mapping(id.into()).await?);
    }
    store
        .find_mapping_by_name(key)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no mapping has the id or name {key:?}")))
}

/// Refuses an expression that does not compile, with the line and column of the problem.
fn check_compiles(mapper: &Mapper, mapping: &Mapping) -> Result<(), ApiError> {
    mapper
        .compile(mapping)
        .map(drop)
        .map_err(|err| ApiError::validation("expression", err.to_string()))
}

/// List mappings.
#[utoipa::path(get, path = "/mappings", tag = "mappings", params(MappingListQuery),
    responses((status = 200, body = MappingPage), (status = 400, body = ErrorBody)))]
pub async fn list_mappings(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<MappingListQuery>,
) -> Result<Json<MappingPage>, ApiError> {
    let page = page(query.after, query.limit)?;
    let items = state.store.list_mappings(query.kind, page).await?;
    let next_after = next_after(&items, page, |mapping| mapping.id.as_uuid());
    Ok(Json(MappingPage { items, next_after }))
}

/// Create a mapping. Its expression must compile.
#[utoipa::path(post, path = "/mappings", tag = "mappings", request_body = NewPropertyMapping,
    responses((status = 201, body = PropertyMapping), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn create_mapping(
    State(state): State<AppState>,
    ApiJson(new): ApiJson<NewPropertyMapping>,
) -> Result<(StatusCode, Json<PropertyMapping>), ApiError> {
    Ok((StatusCode::CREATED, Json(create(&state, new).await?)))
}

/// Saves a new mapping whose expression compiles: what the API and the console both do.
pub(crate) async fn create(
    state: &AppState,
    new: NewPropertyMapping,
) -> Result<PropertyMapping, ApiError> {
    new.validate().map_err(store::StoreError::from)?;
    check_compiles(
        &state.mapper,
        &Mapping::new(&new.name, new.kind, &new.expression),
    )?;
    Ok(state.store.create_mapping(new).await?)
}

/// Get a mapping by id or name.
#[utoipa::path(get, path = "/mappings/{mapping}", tag = "mappings",
    params(("mapping" = String, Path, description = "The mapping's id or name")),
    responses((status = 200, body = PropertyMapping), (status = 404, body = ErrorBody)))]
pub async fn get_mapping(
    State(state): State<AppState>,
    ApiPath(key): ApiPath<String>,
) -> Result<Json<PropertyMapping>, ApiError> {
    Ok(Json(resolve_mapping(&state.store, &key).await?))
}

/// Rename a mapping or change its expression (which must compile).
#[utoipa::path(patch, path = "/mappings/{mapping}", tag = "mappings", request_body = PropertyMappingPatch,
    params(("mapping" = String, Path, description = "The mapping's id or name")),
    responses((status = 200, body = PropertyMapping), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn update_mapping(
    State(state): State<AppState>,
    ApiPath(key): ApiPath<String>,
    ApiJson(patch): ApiJson<PropertyMappingPatch>,
) -> Result<Json<PropertyMapping>, ApiError> {
    let current = resolve_mapping(&state.store, &key).await?;
    Ok(Json(update(&state, &current, patch).await?))
}

/// Renames `current` or changes its expression (which must compile): what the API and the
/// console both do.
pub(crate) async fn update(
    state: &AppState,
    current: &PropertyMapping,
    patch: PropertyMappingPatch,
) -> Result<PropertyMapping, ApiError> {
    patch.validate().map_err(store::StoreError::from)?;
    if let Some(expression) = &patch.expression {
        let name = patch.name.as_deref().unwrap_or(&current.name);
        check_compiles(&state.mapper, &Mapping::new(name, current.kind, expression))?;
    }
    Ok(state.store.update_mapping(current.id, patch).await?)
}

/// Delete a mapping.
#[utoipa::path(delete, path = "/mappings/{mapping}", tag = "mappings",
    params(("mapping" = String, Path, description = "The mapping's id or name")),
    responses((status = 204), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn delete_mapping(
    State(state): State<AppState>,
    ApiPath(key): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    let mapping = resolve_mapping(&state.store, &key).await?;
    // Refused in the delete's own transaction while a provider's lists name the mapping.
    state.store.delete_mapping(mapping.id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// What to try: stored mappings or an unsaved expression, against one user or group.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MappingTest {
    /// Stored mappings (ids or names), evaluated in this order and merged, as a sync would.
    #[serde(default)]
    pub mappings: Vec<String>,
    /// An unsaved mapping's expression (instead of `mappings`); its kind is the subject's.
    pub expression: Option<String>,
    /// The user to map (id or username).
    pub user: Option<String>,
    /// The group to map (id or name).
    pub group: Option<String>,
    /// What `provider` holds: `name` and any settings (default: name "test").
    pub provider: Option<serde_json::Value>,
    /// What `link` holds: the remote object's attributes (default: `()`, as when creating).
    pub link: Option<serde_json::Value>,
}

/// Evaluate mappings against a user or group and show the document, the skip or the error.
/// Nothing is written anywhere.
#[utoipa::path(post, path = "/mapping-test", tag = "mappings", request_body = MappingTest,
    responses((status = 200, body = TryReport), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn test_mappings(
    State(state): State<AppState>,
    ApiJson(test): ApiJson<MappingTest>,
) -> Result<Json<TryReport>, ApiError> {
    Ok(Json(try_mappings(&state, test).await?))
}

/// Evaluates mappings against one user or group, writing nothing: what the API's and the
/// console's "try it" both do.
pub(crate) async fn try_mappings(
    state: &AppState,
    test: MappingTest,
) -> Result<TryReport, ApiError> {
    let kind = match (&test.user, &test.group) {
        (Some(_), None) => MappingKind::User,
        (None, Some(_)) => MappingKind::Group,
        _ => {
            return Err(ApiError::bad_request(
                "name exactly one of `user` and `group` to try the mappings on",
            ));
        }
    };
    let mappings = match (&test.expression, test.mappings.is_empty()) {
        (Some(expression), true) => vec![Mapping::new("(unsaved)", kind, expression)],
        (None, false) => {
            let mut mappings = Vec::with_capacity(test.mappings.len());
            for (index, key) in test.mappings.iter().enumerate() {
                let stored = resolve_mapping(&state.store, key)
                    .await
                    .map_err(|err| err.with_field(format!("mappings[{index}]")))?;
                mappings.push(Mapping::new(stored.name, stored.kind, stored.expression));
            }
            mappings
        }
        _ => {
            return Err(ApiError::bad_request(
                "give either `mappings` (stored ones) or an `expression`, not both",
            ));
        }
    };
    let provider = test.provider.unwrap_or_else(|| serde_json::json!({}));
    let provider_name = provider["name"].as_str().unwrap_or("test").to_owned();
    let store = &state.store;
    let report = match kind {
        MappingKind::User => {
            let user = resolve_user(store, test.user.as_deref().unwrap_or_default()).await?;
            let group_names = user_group_names(store, user.id).await?;
            run_blocking(state.mapper.clone(), move |mapper| {
                let provider = ProviderContext::new(&provider_name, &provider);
                let context = Context {
                    provider: &provider,
                    link: test.link.as_ref(),
                };
                let subject = Subject::User(UserInput {
                    user: &user,
                    group_names: &group_names,
                });
                mapper.try_mappings(&mappings, &subject, &context).into()
            })
            .await?
        }
        MappingKind::Group => {
            let group = resolve_group(store, test.group.as_deref().unwrap_or_default()).await?;
            let member_count = u64::try_from(store.count_members(group.id).await?).unwrap_or(0);
            run_blocking(state.mapper.clone(), move |mapper| {
                let provider = ProviderContext::new(&provider_name, &provider);
                let context = Context {
                    provider: &provider,
                    link: test.link.as_ref(),
                };
                let subject = Subject::Group(GroupInput {
                    group: &group,
                    member_count,
                });
                mapper.try_mappings(&mappings, &subject, &context).into()
            })
            .await?
        }
    };
    Ok(report)
}

/// Evaluation is CPU work bounded by the sandbox (up to a second): off the async workers.
async fn run_blocking(
    mapper: Arc<Mapper>,
    job: impl FnOnce(&Mapper) -> TryReport + Send + 'static,
) -> Result<TryReport, ApiError> {
    tokio::task::spawn_blocking(move || job(&mapper))
        .await
        .map_err(|err| {
            tracing::error!(error = %err, "mapping evaluation task failed");
            ApiError::internal()
        })
}

/// Every group the user is a direct member of, by name.
async fn user_group_names(store: &Store, user: model::UserId) -> Result<Vec<String>, ApiError> {
    let groups = collect_all(
        |page| store.list_user_groups(user, page),
        |group| group.id.as_uuid(),
    )
    .await?;
    Ok(groups.iter().map(|group| group.name.to_string()).collect())
}
