use model::{MappingId, MappingKind, NewPropertyMapping, PropertyMapping, PropertyMappingPatch};

use crate::{Dialect, Page, Result, Store, StoreError, error::is_unique_violation, rows::now};

#[derive(sqlx::FromRow)]
struct MappingRow {
    id: uuid::Uuid,
    name: String,
    kind: String,
    expression: String,
    created_at: chrono::DateTime<chrono::Utc>,
    updated_at: chrono::DateTime<chrono::Utc>,
}

impl TryFrom<MappingRow> for PropertyMapping {
    type Error = StoreError;
    fn try_from(row: MappingRow) -> Result<Self> {
        Ok(PropertyMapping {
            id: MappingId::from_uuid(row.id),
            kind: row
                .kind
                .parse()
                .map_err(|err| StoreError::Corrupt(format!("mapping {}: {err}", row.id)))?,
            name: row.name,
            expression: row.expression,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

macro_rules! select_mappings {
    ($tail:literal) => {
        concat!(
            "SELECT id, name, kind, expression, created_at, updated_at FROM mappings ",
            $tail
        )
    };
}

const SELECT_BY_ID: &str = select_mappings!("WHERE id = $1");
const SELECT_BY_ID_FOR_UPDATE: &str = select_mappings!("WHERE id = $1 FOR UPDATE");
const SELECT_BY_KEY: &str = select_mappings!("WHERE name_key = $1");
const LIST: &str =
    select_mappings!("WHERE id > $1 AND ($2 IS NULL OR kind = $2) ORDER BY id LIMIT $3");

fn name_key(name: &str) -> String {
    name.to_lowercase()
}

fn name_taken(name: &str) -> StoreError {
    StoreError::Conflict {
        field: "name",
        message: format!("a mapping named {name:?} already exists"),
    }
}

impl Store {
    /// Stores a mapping. The caller has checked that its expression compiles.
    pub async fn create_mapping(&self, new: NewPropertyMapping) -> Result<PropertyMapping> {
        new.validate()?;
        let at = now();
        let mapping = PropertyMapping {
            id: MappingId::new(),
            name: new.name,
            kind: new.kind,
            expression: new.expression,
            created_at: at,
            updated_at: at,
        };
        write_pool!(self, pool, _d => {
            sqlx::query(
                "INSERT INTO mappings (id, name, name_key, kind, expression, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(mapping.id.as_uuid())
            .bind(&mapping.name)
            .bind(name_key(&mapping.name))
            .bind(mapping.kind.as_str())
            .bind(&mapping.expression)
            .bind(mapping.created_at)
            .bind(mapping.updated_at)
            .execute(pool)
            .await
            .map_err(|err| {
                if is_unique_violation(&err) {
                    name_taken(&mapping.name)
                } else {
                    err.into()
                }
            })?;
        });
        Ok(mapping)
    }

    /// Stores each of `mappings` whose name is not taken yet (the defaults, on start).
    pub async fn ensure_mappings(&self, mappings: &[NewPropertyMapping]) -> Result<()> {
        for new in mappings {
            if self.find_mapping_by_name(&new.name).await?.is_none() {
                match self.create_mapping(new.clone()).await {
                    Ok(_) | Err(StoreError::Conflict { .. }) => {}
                    Err(err) => return Err(err),
                }
            }
        }
        Ok(())
    }

    pub async fn get_mapping(&self, id: MappingId) -> Result<PropertyMapping> {
        let row: Option<MappingRow> = read_pool!(self, pool, _d => {
            sqlx::query_as(SELECT_BY_ID).bind(id.as_uuid()).fetch_optional(pool).await?
        });
        row.ok_or_else(|| StoreError::not_found("mapping", id))?
            .try_into()
    }

    /// The mapping with this name, compared regardless of case.
    pub async fn find_mapping_by_name(&self, name: &str) -> Result<Option<PropertyMapping>> {
        let row: Option<MappingRow> = read_pool!(self, pool, _d => {
            sqlx::query_as(SELECT_BY_KEY).bind(name_key(name)).fetch_optional(pool).await?
        });
        row.map(PropertyMapping::try_from).transpose()
    }

    /// One keyset page of mappings, optionally of one kind.
    pub async fn list_mappings(
        &self,
        kind: Option<MappingKind>,
        page: Page,
    ) -> Result<Vec<PropertyMapping>> {
        let rows: Vec<MappingRow> = read_pool!(self, pool, _d => {
            sqlx::query_as(LIST)
                .bind(page.lower_bound())
                .bind(kind.map(MappingKind::as_str))
                .bind(page.sql_limit())
                .fetch_all(pool)
                .await?
        });
        rows.into_iter().map(PropertyMapping::try_from).collect()
    }

    /// Applies a partial update. The caller has checked that a new expression compiles.
    pub async fn update_mapping(
        &self,
        id: MappingId,
        patch: PropertyMappingPatch,
    ) -> Result<PropertyMapping> {
        patch.validate()?;
        let mapping = write_pool!(self, pool, dialect => {
            let mut tx = pool.begin_write().await?;
            let select = match dialect {
                Dialect::Sqlite => SELECT_BY_ID,
                Dialect::Postgres => SELECT_BY_ID_FOR_UPDATE,
            };
            let row: Option<MappingRow> = sqlx::query_as(select)
                .bind(id.as_uuid())
                .fetch_optional(&mut *tx)
                .await?;
            let mut mapping =
                PropertyMapping::try_from(row.ok_or_else(|| StoreError::not_found("mapping", id))?)?;
            if patch.apply(&mut mapping) {
                mapping.updated_at = now();
                sqlx::query(
                    "UPDATE mappings SET name = $2, name_key = $3, expression = $4, updated_at = $5 \
                     WHERE id = $1",
                )
                .bind(id.as_uuid())
                .bind(&mapping.name)
                .bind(name_key(&mapping.name))
                .bind(&mapping.expression)
                .bind(mapping.updated_at)
                .execute(&mut *tx)
                .await
                .map_err(|err| {
                    if is_unique_violation(&err) {
                        name_taken(&mapping.name)
                    } else {
                        err.into()
                    }
                })?;
                tx.commit().await?;
            }
            mapping
        });
        Ok(mapping)
    }

    /// Refused (`InUse`) while a provider's lists name the mapping.
    pub async fn delete_mapping(&self, id: MappingId) -> Result<()> {
        let deleted = write_pool!(self, pool, dialect => {
            let mut tx = pool.begin_write().await?;
            let name: Option<String> =
                sqlx::query_scalar("SELECT name FROM mappings WHERE id = $1")
                    .bind(id.as_uuid())
                    .fetch_optional(&mut *tx)
                    .await?;
            let Some(name) = name else {
                return Err(StoreError::not_found("mapping", id));
            };
            let users = providers_using!(tx, dialect, &crate::references::Used::Mapping(id));
            if !users.is_empty() {
                return Err(StoreError::InUse {
                    message: format!(
                        "mapping {name:?} is used by the providers {users:?}; take it out of them first"
                    ),
                });
            }
            let deleted = sqlx::query("DELETE FROM mappings WHERE id = $1")
                .bind(id.as_uuid())
                .execute(&mut *tx)
                .await?
                .rows_affected();
            tx.commit().await?;
            deleted
        });
        if deleted == 0 {
            return Err(StoreError::not_found("mapping", id));
        }
        Ok(())
    }

    /// How many direct members a group has.
    pub async fn count_members(&self, group: model::GroupId) -> Result<i64> {
        let count: i64 = read_pool!(self, pool, _d => {
            sqlx::query_scalar("SELECT COUNT(*) FROM memberships WHERE group_id = $1")
                .bind(group.as_uuid())
                .fetch_one(pool)
                .await?
        });
        Ok(count)
    }
}
