//! Stored providers: settings as JSON, the credential sealed (see [`crate::secrets`]).

use model::{CredentialKind, Provider, ProviderId, ProviderSettings, Trigger};
use serde_json::Value;
use sqlx::types::Json;

use crate::{
    Dialect, Page, Result, Store, StoreError,
    error::is_unique_violation,
    rows::now,
    secrets::{ProviderCredential, SecretKey},
};

#[derive(sqlx::FromRow)]
struct ProviderRow {
    id: uuid::Uuid,
    name: String,
    settings: Json<Value>,
    credential_kind: String,
    created_at: chrono::DateTime<chrono::Utc>,
    updated_at: chrono::DateTime<chrono::Utc>,
}

impl TryFrom<ProviderRow> for Provider {
    type Error = StoreError;
    fn try_from(row: ProviderRow) -> Result<Self> {
        let corrupt = |what: String| StoreError::Corrupt(format!("provider {}: {what}", row.id));
        Ok(Provider {
            id: ProviderId::from_uuid(row.id),
            settings: serde_json::from_value(row.settings.0.clone())
                .map_err(|err| corrupt(err.to_string()))?,
            credential: row.credential_kind.parse().map_err(corrupt)?,
            name: row.name,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

macro_rules! select_providers {
    ($tail:literal) => {
        concat!(
            "SELECT id, name, settings, credential_kind, created_at, updated_at FROM providers ",
            $tail
        )
    };
}

const SELECT_BY_ID: &str = select_providers!("WHERE id = $1");
const SELECT_BY_ID_FOR_UPDATE: &str = select_providers!("WHERE id = $1 FOR UPDATE");
const SELECT_BY_KEY: &str = select_providers!("WHERE name_key = $1");
const LIST: &str = select_providers!("WHERE id > $1 ORDER BY id LIMIT $2");

fn name_key(name: &str) -> String {
    name.to_lowercase()
}

fn name_taken(name: &str) -> StoreError {
    StoreError::Conflict {
        field: "name",
        message: format!("a provider named {name:?} already exists"),
    }
}

fn settings_json(settings: &ProviderSettings) -> Result<Value> {
    serde_json::to_value(settings)
        .map_err(|err| StoreError::Corrupt(format!("provider settings: {err}")))
}

fn sealed(key: &SecretKey, id: ProviderId, credential: &ProviderCredential) -> Result<Vec<u8>> {
    key.seal(&credential.to_plaintext(), id.as_uuid().as_bytes())
        .map_err(|err| StoreError::Config(err.to_string()))
}

/// A change to a stored provider; absent parts stay.
#[derive(Debug, Default)]
pub struct ProviderUpdate {
    pub name: Option<String>,
    pub settings: Option<ProviderSettings>,
    pub credential: Option<ProviderCredential>,
}

impl Store {
    /// Stores a new provider with its credential sealed under `key`, its sync state, and a
    /// queued full sync (trigger `create`).
    pub async fn create_provider(
        &self,
        name: &str,
        settings: ProviderSettings,
        credential: &ProviderCredential,
        key: &SecretKey,
        id: ProviderId,
    ) -> Result<Provider> {
        model::check_plain_name(name)?;
        settings.validate()?;
        let at = now();
        // The queued full sync and the schedule go by the store's clock, as every node's do.
        let clock = self.now().await?;
        let provider = Provider {
            id,
            name: name.to_owned(),
            settings,
            credential: credential.kind(),
            created_at: at,
            updated_at: at,
        };
        let sealed = sealed(key, id, credential)?;
        let settings = settings_json(&provider.settings)?;
        write_pool!(self, pool, dialect => {
            let mut tx = pool.begin_write().await?;
            check_references!(tx, dialect, &provider.settings);
            sqlx::query(
                "INSERT INTO providers (id, name, name_key, settings, credential_kind, credential, \
                 created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(id.as_uuid())
            .bind(&provider.name)
            .bind(name_key(&provider.name))
            .bind(Json(&settings))
            .bind(provider.credential.as_str())
            .bind(&sealed)
            .bind(at)
            .bind(at)
            .execute(&mut *tx)
            .await
            .map_err(|err| {
                if is_unique_violation(&err) {
                    name_taken(&provider.name)
                } else {
                    err.into()
                }
            })?;
            save_provider_state!(tx, &provider, Trigger::Create, clock);
            tx.commit().await?;
        });
        Ok(provider)
    }

    pub async fn get_provider(&self, id: ProviderId) -> Result<Provider> {
        let row: Option<ProviderRow> = read_pool!(self, pool, _d => {
            sqlx::query_as(SELECT_BY_ID).bind(id.as_uuid()).fetch_optional(pool).await?
        });
        row.ok_or_else(|| StoreError::not_found("provider", id))?
            .try_into()
    }

    /// The provider with this name, compared regardless of case.
    pub async fn find_provider_by_name(&self, name: &str) -> Result<Option<Provider>> {
        let row: Option<ProviderRow> = read_pool!(self, pool, _d => {
            sqlx::query_as(SELECT_BY_KEY).bind(name_key(name)).fetch_optional(pool).await?
        });
        row.map(Provider::try_from).transpose()
    }

    pub async fn list_providers(&self, page: Page) -> Result<Vec<Provider>> {
        let rows: Vec<ProviderRow> = read_pool!(self, pool, _d => {
            sqlx::query_as(LIST)
                .bind(page.lower_bound())
                .bind(page.sql_limit())
                .fetch_all(pool)
                .await?
        });
        rows.into_iter().map(Provider::try_from).collect()
    }

    /// The provider's credential, opened with `key`.
    pub async fn provider_credential(
        &self,
        id: ProviderId,
        key: &SecretKey,
    ) -> Result<ProviderCredential> {
        let row: Option<(String, Vec<u8>)> = read_pool!(self, pool, _d => {
            sqlx::query_as("SELECT credential_kind, credential FROM providers WHERE id = $1")
                .bind(id.as_uuid())
                .fetch_optional(pool)
                .await?
        });
        let (kind, sealed) = row.ok_or_else(|| StoreError::not_found("provider", id))?;
        let kind: CredentialKind = kind.parse().map_err(StoreError::Corrupt)?;
        let plaintext = key
            .open(&sealed, id.as_uuid().as_bytes())
            .map_err(|err| StoreError::Config(err.to_string()))?;
        ProviderCredential::from_plaintext(kind, &plaintext)
            .ok_or_else(|| StoreError::Corrupt(format!("provider {id}: unreadable credential")))
    }

    /// Changes a provider. Returns it, and whether anything changed. Every save, even one that
    /// changes nothing, makes the provider active again when it is enabled (clearing an unhealthy
    /// state), recomputes its schedule, and queues a full sync (trigger `save`).
    pub async fn update_provider(
        &self,
        id: ProviderId,
        update: ProviderUpdate,
        key: &SecretKey,
    ) -> Result<(Provider, bool)> {
        if let Some(settings) = &update.settings {
            settings.validate()?;
        }
        let sealed = update
            .credential
            .as_ref()
            .map(|credential| sealed(key, id, credential))
            .transpose()?;
        let clock = self.now().await?;
        let result = write_pool!(self, pool, dialect => {
            let mut tx = pool.begin_write().await?;
            let select = match dialect {
                Dialect::Sqlite => SELECT_BY_ID,
                Dialect::Postgres => SELECT_BY_ID_FOR_UPDATE,
            };
            let row: Option<ProviderRow> = sqlx::query_as(select)
                .bind(id.as_uuid())
                .fetch_optional(&mut *tx)
                .await?;
            let mut provider =
                Provider::try_from(row.ok_or_else(|| StoreError::not_found("provider", id))?)?;
            let before = provider.clone();
            if let Some(name) = update.name {
                provider.name = name;
            }
            if let Some(settings) = update.settings {
                provider.settings = settings;
            }
            if let Some(credential) = &update.credential {
                provider.credential = credential.kind();
            }
            let changed = provider != before || sealed.is_some();
            if provider.settings != before.settings {
                check_references!(tx, dialect, &provider.settings);
            }
            if changed {
                provider.updated_at = now();
                let settings = settings_json(&provider.settings)?;
                sqlx::query(
                    "UPDATE providers SET name = $2, name_key = $3, settings = $4, \
                     credential_kind = $5, credential = COALESCE($6, credential), updated_at = $7 \
                     WHERE id = $1",
                )
                .bind(id.as_uuid())
                .bind(&provider.name)
                .bind(name_key(&provider.name))
                .bind(Json(&settings))
                .bind(provider.credential.as_str())
                .bind(sealed.as_deref())
                .bind(provider.updated_at)
                .execute(&mut *tx)
                .await
                .map_err(|err| {
                    if is_unique_violation(&err) {
                        name_taken(&provider.name)
                    } else {
                        err.into()
                    }
                })?;
            }
            save_provider_state!(tx, &provider, Trigger::Save, clock);
            tx.commit().await?;
            (provider, changed)
        });
        Ok(result)
    }

    pub async fn delete_provider(&self, id: ProviderId) -> Result<()> {
        let deleted = write_pool!(self, pool, _d => {
            sqlx::query("DELETE FROM providers WHERE id = $1")
                .bind(id.as_uuid())
                .execute(pool)
                .await?
                .rows_affected()
        });
        if deleted == 0 {
            return Err(StoreError::not_found("provider", id));
        }
        Ok(())
    }
}
