//! Entra ID providers: create, read, update, delete. Credentials are write-only: accepted on
//! create and update, sealed at rest, never returned. Mappings and groups are named by id or
//! name and stored by id.

use axum::{Json, extract::State, http::StatusCode};
use model::{
    Cloud, GroupDeleteAction, GroupId, GroupScope, MappingId, MappingKind, Provider, ProviderId,
    ProviderSettings, Schedule, UserDeleteAction, UserScope,
};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use store::{ProviderCredential, ProviderUpdate, Store};
use utoipa::ToSchema;
use uuid::Uuid;

use super::keys::{ListQuery, next_after, page, resolve_group};
use crate::{
    AppState,
    error::{ApiError, ErrorBody},
    extract::{ApiJson, ApiPath, ApiQuery},
};

/// A certificate credential: the certificate and its private key, both PEM.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CertificateInput {
    pub certificate_pem: String,
    /// Write-only. Held as a secret, so that no `{:?}` of a request can show it.
    #[schema(value_type = String, format = Password, write_only)]
    pub private_key_pem: SecretString,
}

/// A user scope, groups named by id or name.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserScopeInput {
    /// Only the direct members of this group (id or name).
    pub filter_group: Option<String>,
    #[serde(default)]
    pub exclude_service_accounts: bool,
}

/// A group scope: `{"mode": "all"}` or `{"mode": "selected", "groups": [id or name, …]}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(tag = "mode", rename_all = "snake_case", deny_unknown_fields)]
pub enum GroupScopeInput {
    All,
    Selected { groups: Vec<String> },
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduleInput {
    /// Cron, five fields, UTC (default: every 4 hours at a minute derived from the provider).
    pub cron: Option<String>,
    pub paused: Option<bool>,
}

/// A provider to create, or the fields of one to change (absent fields stay; on create they
/// take their defaults). Give the credential as `client_secret` or `certificate`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProviderInput {
    pub name: Option<String>,
    /// The tenant id (GUID) or its initial domain.
    pub tenant_id: Option<String>,
    /// The app registration's application (client) id.
    pub client_id: Option<String>,
    pub cloud: Option<Cloud>,
    /// Write-only. Held as a secret, so that no `{:?}` of a request can show it.
    #[schema(value_type = Option<String>, format = Password, write_only)]
    pub client_secret: Option<SecretString>,
    /// Write-only.
    pub certificate: Option<CertificateInput>,
    /// User mappings in order, by id or name (default: the default user mapping).
    pub user_mappings: Option<Vec<String>>,
    /// Group mappings in order, by id or name (default: the default group mapping).
    pub group_mappings: Option<Vec<String>>,
    pub user_scope: Option<UserScopeInput>,
    pub group_scope: Option<GroupScopeInput>,
    pub user_delete_action: Option<UserDeleteAction>,
    pub group_delete_action: Option<GroupDeleteAction>,
    pub dry_run: Option<bool>,
    pub discovery: Option<bool>,
    /// Also remove remote members that are not linked to any directory user (default false).
    pub remove_unmanaged_members: Option<bool>,
    /// Accidental-delete protection: a full sync that would delete or disable more objects than
    /// this waits for approval (default 500; 0: no limit).
    pub delete_threshold: Option<u32>,
    /// The rolling window, in minutes, over which direct syncs' deletes and disables count
    /// against the threshold (1 to 10,080; default 60).
    pub delete_window_minutes: Option<u32>,
    pub schedule: Option<ScheduleInput>,
    pub enabled: Option<bool>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProviderPage {
    pub items: Vec<Provider>,
    /// Pass as `after` to get the next page; absent on the last page.
    pub next_after: Option<Uuid>,
}

/// The provider named by `key`: its id, or its name (regardless of case).
pub async fn resolve_provider(store: &Store, key: &str) -> Result<Provider, ApiError> {
    if let Ok(id) = key.parse::<Uuid>() {
        return Ok(store.get_provider(id.into()).await?);
    }
    store
        .find_provider_by_name(key)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no provider has the id or name {key:?}")))
}

fn credential(input: &mut ProviderInput) -> Result<Option<ProviderCredential>, ApiError> {
    match (input.client_secret.take(), input.certificate.take()) {
        (Some(_), Some(_)) => Err(ApiError::validation(
            "certificate",
            "give either client_secret or certificate, not both",
        )),
        (Some(secret), None) if secret.expose_secret().is_empty() => Err(ApiError::validation(
            "client_secret",
            "client_secret must not be empty",
        )),
        (Some(secret), None) => Ok(Some(ProviderCredential::ClientSecret(secret))),
        (None, Some(certificate)) => {
            if !certificate.certificate_pem.contains("BEGIN CERTIFICATE") {
                return Err(ApiError::validation(
                    "certificate.certificate_pem",
                    "certificate_pem must be a PEM certificate (-----BEGIN CERTIFICATE-----)",
                ));
            }
            if !certificate
                .private_key_pem
                .expose_secret()
                .contains("PRIVATE KEY")
            {
                return Err(ApiError::validation(
                    "certificate.private_key_pem",
                    "private_key_pem must be a PEM private key",
                ));
            }
            Ok(Some(ProviderCredential::Certificate {
                certificate_pem: certificate.certificate_pem,
                private_key_pem: certificate.private_key_pem,
            }))
        }
        (None, None) => Ok(None),
    }
}

async fn resolve_mappings(
    store: &Store,
    field: &str,
    kind: MappingKind,
    keys: &[String],
) -> Result<Vec<MappingId>, ApiError> {
    let mut ids = Vec::with_capacity(keys.len());
    for (index, key) in keys.iter().enumerate() {
        let at = || format!("{field}[{index}]");
        let mapping = match key.parse::<Uuid>() {
            Ok(id) => store.get_mapping(id.into()).await.map_err(ApiError::from),
            Err(_) => store.find_mapping_by_name(key).await?.ok_or_else(|| {
                ApiError::not_found(format!("no mapping has the id or name {key:?}"))
            }),
        }
        .map_err(|err| err.with_field(at()))?;
        if mapping.kind != kind {
            return Err(ApiError::validation(
                at(),
                format!(
                    "mapping {:?} maps {}s, not {kind}s",
                    mapping.name, mapping.kind
                ),
            ));
        }
        ids.push(mapping.id);
    }
    Ok(ids)
}

async fn resolve_groups(
    store: &Store,
    field: &str,
    keys: &[String],
) -> Result<Vec<GroupId>, ApiError> {
    let mut ids = Vec::with_capacity(keys.len());
    for (index, key) in keys.iter().enumerate() {
        let group = resolve_group(store, key)
            .await
            .map_err(|err| err.with_field(format!("{field}[{index}]")))?;
        ids.push(group.id);
    }
    Ok(ids)
}

/// Applies the input's settings over `settings`, resolving names to ids.
async fn apply_settings(
    store: &Store,
    input: ProviderInput,
    settings: &mut ProviderSettings,
) -> Result<(), ApiError> {
    if let Some(tenant_id) = input.tenant_id {
        settings.tenant_id = tenant_id;
    }
    if let Some(client_id) = input.client_id {
        settings.client_id = client_id;
    }
    if let Some(cloud) = input.cloud {
        settings.cloud = cloud;
    }
    if let Some(keys) = input.user_mappings {
        settings.user_mappings =
            resolve_mappings(store, "user_mappings", MappingKind::User, &keys).await?;
    }
    if let Some(keys) = input.group_mappings {
        settings.group_mappings =
            resolve_mappings(store, "group_mappings", MappingKind::Group, &keys).await?;
    }
    if let Some(scope) = input.user_scope {
        let filter_group = match &scope.filter_group {
            Some(key) => Some(
                resolve_group(store, key)
                    .await
                    .map_err(|err| err.with_field("user_scope.filter_group"))?
                    .id,
            ),
            None => None,
        };
        settings.user_scope = UserScope {
            filter_group,
            exclude_service_accounts: scope.exclude_service_accounts,
        };
    }
    if let Some(scope) = input.group_scope {
        settings.group_scope = match scope {
            GroupScopeInput::All => GroupScope::All,
            GroupScopeInput::Selected { groups } => GroupScope::Selected {
                groups: resolve_groups(store, "group_scope.groups", &groups).await?,
            },
        };
    }
    if let Some(action) = input.user_delete_action {
        settings.user_delete_action = action;
    }
    if let Some(action) = input.group_delete_action {
        settings.group_delete_action = action;
    }
    if let Some(dry_run) = input.dry_run {
        settings.dry_run = dry_run;
    }
    if let Some(discovery) = input.discovery {
        settings.discovery = discovery;
    }
    if let Some(remove) = input.remove_unmanaged_members {
        settings.remove_unmanaged_members = remove;
    }
    if let Some(window) = input.delete_window_minutes {
        settings.delete_window_minutes = window;
    }
    if let Some(threshold) = input.delete_threshold {
        settings.delete_threshold = threshold;
    }
    if let Some(schedule) = input.schedule {
        if let Some(cron) = schedule.cron {
            settings.schedule.cron = cron;
        }
        if let Some(paused) = schedule.paused {
            settings.schedule.paused = paused;
        }
    }
    if let Some(enabled) = input.enabled {
        settings.enabled = enabled;
    }
    Ok(())
}

async fn default_mapping(
    store: &Store,
    name: &str,
    field: &str,
) -> Result<Vec<MappingId>, ApiError> {
    match store.find_mapping_by_name(name).await? {
        Some(mapping) => Ok(vec![mapping.id]),
        None => Err(ApiError::validation(
            field,
            format!("the default mapping {name:?} is gone: name the mappings to use"),
        )),
    }
}

/// List providers.
#[utoipa::path(get, path = "/providers", tag = "providers", params(ListQuery),
    responses((status = 200, body = ProviderPage)))]
pub async fn list_providers(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<ProviderPage>, ApiError> {
    let page = page(query.after, query.limit)?;
    let items = state.store.list_providers(page).await?;
    let next_after = next_after(&items, page, |provider| provider.id.as_uuid());
    Ok(Json(ProviderPage { items, next_after }))
}

/// Create a provider. `name`, `tenant_id`, `client_id` and a credential are required.
#[utoipa::path(post, path = "/providers", tag = "providers", request_body = ProviderInput,
    responses((status = 201, body = Provider), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn create_provider(
    State(state): State<AppState>,
    ApiJson(input): ApiJson<ProviderInput>,
) -> Result<(StatusCode, Json<Provider>), ApiError> {
    let provider = create(&state, input).await?;
    Ok((StatusCode::CREATED, Json(provider)))
}

/// Creates a provider from `input`: what the API and the console both do.
pub async fn create(state: &AppState, mut input: ProviderInput) -> Result<Provider, ApiError> {
    let store = &state.store;
    let required = |value: Option<String>, field: &str| {
        value.ok_or_else(|| ApiError::validation(field, format!("{field} is required")))
    };
    let name = required(input.name.take(), "name")?;
    let credential = credential(&mut input)?.ok_or_else(|| {
        ApiError::validation("client_secret", "give client_secret or certificate")
    })?;
    let id = ProviderId::new();
    let mut settings = ProviderSettings::new(
        required(input.tenant_id.take(), "tenant_id")?,
        required(input.client_id.take(), "client_id")?,
        Vec::new(),
        Vec::new(),
    );
    settings.schedule = Schedule::default_for(id);
    if input.user_mappings.is_none() {
        settings.user_mappings =
            default_mapping(store, mapping::DEFAULT_USER_MAPPING_NAME, "user_mappings").await?;
    }
    if input.group_mappings.is_none() {
        settings.group_mappings =
            default_mapping(store, mapping::DEFAULT_GROUP_MAPPING_NAME, "group_mappings").await?;
    }
    apply_settings(store, input, &mut settings).await?;
    Ok(store
        .create_provider(&name, settings, &credential, &state.secret_key, id)
        .await?)
}

/// Get a provider by id or name (its credential is never shown).
#[utoipa::path(get, path = "/providers/{provider}", tag = "providers",
    params(("provider" = String, Path, description = "The provider's id or name")),
    responses((status = 200, body = Provider), (status = 404, body = ErrorBody)))]
pub async fn get_provider(
    State(state): State<AppState>,
    ApiPath(key): ApiPath<String>,
) -> Result<Json<Provider>, ApiError> {
    Ok(Json(resolve_provider(&state.store, &key).await?))
}

/// Change a provider's settings, name or credential.
#[utoipa::path(patch, path = "/providers/{provider}", tag = "providers", request_body = ProviderInput,
    params(("provider" = String, Path, description = "The provider's id or name")),
    responses((status = 200, body = Provider), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn update_provider(
    State(state): State<AppState>,
    ApiPath(key): ApiPath<String>,
    ApiJson(input): ApiJson<ProviderInput>,
) -> Result<Json<Provider>, ApiError> {
    let current = resolve_provider(&state.store, &key).await?;
    Ok(Json(update(&state, &current, input).await?))
}

/// Applies `input` over `current`'s settings and saves them: what the API and the console
/// both do.
pub async fn update(
    state: &AppState,
    current: &Provider,
    mut input: ProviderInput,
) -> Result<Provider, ApiError> {
    let credential = credential(&mut input)?;
    let name = input.name.take();
    if let Some(name) = &name {
        model::check_plain_name(name).map_err(store::StoreError::from)?;
    }
    let mut settings = current.settings.clone();
    apply_settings(&state.store, input, &mut settings).await?;
    let update = ProviderUpdate {
        name,
        settings: Some(settings),
        credential,
    };
    let (provider, _changed) = state
        .store
        .update_provider(current.id, update, &state.secret_key)
        .await?;
    Ok(provider)
}

/// Delete a provider. Nothing is changed in Entra.
#[utoipa::path(delete, path = "/providers/{provider}", tag = "providers",
    params(("provider" = String, Path, description = "The provider's id or name")),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn delete_provider(
    State(state): State<AppState>,
    ApiPath(key): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    let provider = resolve_provider(&state.store, &key).await?;
    state.store.delete_provider(provider.id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_never_shows_a_credential() {
        let input: ProviderInput = crate::extract::parse_json(
            br#"{"name": "Contoso", "client_secret": "hunter2-client-secret",
                 "certificate": {"certificate_pem": "-----BEGIN CERTIFICATE-----",
                                 "private_key_pem": "hunter2-private-key"}}"#,
        )
        .expect("valid input");
        let shown = format!("{input:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(
            shown.contains("Contoso") && shown.contains("BEGIN CERTIFICATE"),
            "{shown}"
        );
        assert_eq!(
            input
                .client_secret
                .as_ref()
                .map(|secret| secret.expose_secret()),
            Some("hunter2-client-secret"),
            "the value itself is kept"
        );
    }
}
