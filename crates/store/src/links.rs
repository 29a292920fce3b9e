//! The engine's [`Links`] port: which remote object each directory object is, per provider, and
//! the snapshot of the tenant that discovery reads.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use engine::{
    Link, Links, LocalError, Properties, RemoteId, RemoteKind, RemoteObject, SnapshotEntry,
};
use model::ProviderId;
use sqlx::types::Json;
use uuid::Uuid;

use crate::{Page, Result, Store, StoreError, changes::ROWS_PER_STATEMENT};

impl From<StoreError> for LocalError {
    fn from(err: StoreError) -> Self {
        LocalError::new(err)
    }
}

pub(crate) fn remote_kind(kind: &str) -> Result<RemoteKind> {
    match kind {
        "user" => Ok(RemoteKind::User),
        "group" => Ok(RemoteKind::Group),
        other => Err(StoreError::Corrupt(format!(
            "unknown object kind {other:?}"
        ))),
    }
}

macro_rules! select_links {
    ($tail:literal) => {
        concat!(
            "SELECT provider_id, kind, object_id, remote_id, written, synced_at FROM links ",
            $tail
        )
    };
}

#[derive(sqlx::FromRow)]
struct LinkRow {
    provider_id: Uuid,
    kind: String,
    object_id: Uuid,
    remote_id: String,
    written: Json<Properties>,
    synced_at: DateTime<Utc>,
}

impl TryFrom<LinkRow> for Link {
    type Error = StoreError;
    fn try_from(row: LinkRow) -> Result<Self> {
        Ok(Link {
            provider: ProviderId::from_uuid(row.provider_id),
            kind: remote_kind(&row.kind)?,
            object: row.object_id,
            remote_id: RemoteId::new(row.remote_id),
            written: row.written.0,
            synced_at: row.synced_at,
        })
    }
}

#[derive(sqlx::FromRow)]
struct SnapshotRow {
    remote_id: String,
    properties: Json<Properties>,
}

impl From<SnapshotRow> for RemoteObject {
    fn from(row: SnapshotRow) -> Self {
        RemoteObject {
            id: RemoteId::new(row.remote_id),
            properties: row.properties.0,
        }
    }
}

impl Store {
    /// One keyset page of the provider's links of `kind`, in object id order.
    pub async fn list_links(
        &self,
        provider: ProviderId,
        kind: RemoteKind,
        page: Page,
    ) -> Result<Vec<Link>> {
        let rows: Vec<LinkRow> = read_pool!(self, pool, _d => {
            sqlx::query_as(select_links!(
                "WHERE provider_id = $1 AND kind = $2 AND object_id > $3 ORDER BY object_id LIMIT $4"
            ))
            .bind(provider.as_uuid())
            .bind(kind.as_str())
            .bind(page.lower_bound())
            .bind(page.sql_limit())
            .fetch_all(pool)
            .await?
        });
        rows.into_iter().map(Link::try_from).collect()
    }

    pub async fn count_links(&self, provider: ProviderId, kind: RemoteKind) -> Result<u64> {
        let count: i64 = read_pool!(self, pool, _d => {
            sqlx::query_scalar("SELECT COUNT(*) FROM links WHERE provider_id = $1 AND kind = $2")
                .bind(provider.as_uuid())
                .bind(kind.as_str())
                .fetch_one(pool)
                .await?
        });
        Ok(count.unsigned_abs())
    }
}

// The port's methods, in the store's error type; `impl Links` below adapts them.
impl Store {
    async fn find_link(
        &self,
        provider: ProviderId,
        kind: RemoteKind,
        object: Uuid,
    ) -> Result<Option<Link>> {
        let row: Option<LinkRow> = read_pool!(self, pool, _d => {
            sqlx::query_as(select_links!(
                "WHERE provider_id = $1 AND kind = $2 AND object_id = $3"
            ))
            .bind(provider.as_uuid())
            .bind(kind.as_str())
            .bind(object)
            .fetch_optional(pool)
            .await?
        });
        row.map(Link::try_from).transpose()
    }

    async fn find_link_to_remote(
        &self,
        provider: ProviderId,
        kind: RemoteKind,
        remote: &RemoteId,
    ) -> Result<Option<Link>> {
        let row: Option<LinkRow> = read_pool!(self, pool, _d => {
            sqlx::query_as(select_links!(
                "WHERE provider_id = $1 AND kind = $2 AND remote_id = $3"
            ))
            .bind(provider.as_uuid())
            .bind(kind.as_str())
            .bind(remote.as_str())
            .fetch_optional(pool)
            .await?
        });
        row.map(Link::try_from).transpose()
    }

    /// Fails when another object of the provider is linked to the same remote object.
    async fn upsert_link(&self, link: &Link) -> Result<()> {
        write_pool!(self, pool, _d => {
            sqlx::query(
                "INSERT INTO links (provider_id, kind, object_id, remote_id, written, synced_at) \
                 VALUES ($1, $2, $3, $4, $5, $6) \
                 ON CONFLICT (provider_id, kind, object_id) DO UPDATE SET \
                 remote_id = excluded.remote_id, written = excluded.written, \
                 synced_at = excluded.synced_at",
            )
            .bind(link.provider.as_uuid())
            .bind(link.kind.as_str())
            .bind(link.object)
            .bind(link.remote_id.as_str())
            .bind(Json(&link.written))
            .bind(link.synced_at)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    async fn delete_link(
        &self,
        provider: ProviderId,
        kind: RemoteKind,
        object: Uuid,
    ) -> Result<()> {
        write_pool!(self, pool, _d => {
            sqlx::query("DELETE FROM links WHERE provider_id = $1 AND kind = $2 AND object_id = $3")
                .bind(provider.as_uuid())
                .bind(kind.as_str())
                .bind(object)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    async fn clear_snapshot(&self, provider: ProviderId) -> Result<()> {
        write_pool!(self, pool, _d => {
            let mut tx = pool.begin_write().await?;
            sqlx::query("DELETE FROM snapshot_objects WHERE provider_id = $1")
                .bind(provider.as_uuid())
                .execute(&mut *tx)
                .await?;
            sqlx::query("UPDATE provider_state SET snapshot_taken_at = NULL WHERE provider_id = $1")
                .bind(provider.as_uuid())
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// An object listed twice keeps what was read last.
    async fn insert_snapshot(
        &self,
        provider: ProviderId,
        kind: RemoteKind,
        entries: &[SnapshotEntry],
    ) -> Result<()> {
        // One row per remote id: a multi-row upsert may not touch a row twice.
        let mut last: HashMap<&str, usize> = HashMap::new();
        for (index, entry) in entries.iter().enumerate() {
            last.insert(entry.object.id.as_str(), index);
        }
        let entries: Vec<&SnapshotEntry> = entries
            .iter()
            .enumerate()
            .filter(|(index, entry)| last.get(entry.object.id.as_str()) == Some(index))
            .map(|(_, entry)| entry)
            .collect();
        write_pool!(self, pool, _d => {
            let mut tx = pool.begin_write().await?;
            for chunk in entries.chunks(ROWS_PER_STATEMENT) {
                let mut insert = sqlx::QueryBuilder::new(
                    "INSERT INTO snapshot_objects (provider_id, kind, remote_id, properties, key1, \
                     key2) ",
                );
                insert.push_values(chunk, |mut row, entry| {
                    row.push_bind(provider.as_uuid())
                        .push_bind(kind.as_str())
                        .push_bind(entry.object.id.as_str())
                        .push_bind(Json(&entry.object.properties))
                        .push_bind(entry.keys.first().map(String::as_str))
                        .push_bind(entry.keys.get(1).map(String::as_str));
                });
                insert.push(
                    " ON CONFLICT (provider_id, kind, remote_id) DO UPDATE SET \
                     properties = excluded.properties, key1 = excluded.key1, key2 = excluded.key2",
                );
                insert.build().execute(&mut *tx).await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    async fn mark_snapshot_taken(
        &self,
        provider: ProviderId,
        started_at: DateTime<Utc>,
    ) -> Result<()> {
        let updated = write_pool!(self, pool, _d => {
            sqlx::query("UPDATE provider_state SET snapshot_taken_at = $2 WHERE provider_id = $1")
                .bind(provider.as_uuid())
                .bind(started_at)
                .execute(pool)
                .await?
                .rows_affected()
        });
        if updated == 0 {
            return Err(StoreError::not_found("provider", provider));
        }
        Ok(())
    }

    async fn read_snapshot_taken_at(&self, provider: ProviderId) -> Result<Option<DateTime<Utc>>> {
        let taken: Option<Option<DateTime<Utc>>> = read_pool!(self, pool, _d => {
            sqlx::query_scalar("SELECT snapshot_taken_at FROM provider_state WHERE provider_id = $1")
                .bind(provider.as_uuid())
                .fetch_optional(pool)
                .await?
        });
        Ok(taken.flatten())
    }

    async fn find_snapshot_object(
        &self,
        provider: ProviderId,
        kind: RemoteKind,
        id: &RemoteId,
    ) -> Result<Option<RemoteObject>> {
        let row: Option<SnapshotRow> = read_pool!(self, pool, _d => {
            sqlx::query_as(
                "SELECT remote_id, properties FROM snapshot_objects \
                 WHERE provider_id = $1 AND kind = $2 AND remote_id = $3",
            )
            .bind(provider.as_uuid())
            .bind(kind.as_str())
            .bind(id.as_str())
            .fetch_optional(pool)
            .await?
        });
        Ok(row.map(RemoteObject::from))
    }

    async fn find_snapshot_matching(
        &self,
        provider: ProviderId,
        kind: RemoteKind,
        key: &str,
    ) -> Result<Vec<RemoteObject>> {
        let rows: Vec<SnapshotRow> = read_pool!(self, pool, _d => {
            sqlx::query_as(
                "SELECT remote_id, properties FROM snapshot_objects \
                 WHERE provider_id = $1 AND kind = $2 AND (key1 = $3 OR key2 = $3) \
                 ORDER BY remote_id",
            )
            .bind(provider.as_uuid())
            .bind(kind.as_str())
            .bind(key)
            .fetch_all(pool)
            .await?
        });
        Ok(rows.into_iter().map(RemoteObject::from).collect())
    }
}

impl Links for Store {
    async fn link(
        &self,
        provider: ProviderId,
        kind: RemoteKind,
        object: Uuid,
    ) -> Result<Option<Link>, LocalError> {
        Ok(self.find_link(provider, kind, object).await?)
    }

    async fn link_to_remote(
        &self,
        provider: ProviderId,
        kind: RemoteKind,
        remote: &RemoteId,
    ) -> Result<Option<Link>, LocalError> {
        Ok(self.find_link_to_remote(provider, kind, remote).await?)
    }

    /// Fails when another object of the provider is linked to the same remote object.
    async fn save_link(&self, link: &Link) -> Result<(), LocalError> {
        Ok(self.upsert_link(link).await?)
    }

    async fn remove_link(
        &self,
        provider: ProviderId,
        kind: RemoteKind,
        object: Uuid,
    ) -> Result<(), LocalError> {
        Ok(self.delete_link(provider, kind, object).await?)
    }

    async fn begin_snapshot(&self, provider: ProviderId) -> Result<(), LocalError> {
        Ok(self.clear_snapshot(provider).await?)
    }

    /// An object listed twice keeps what was read last.
    async fn add_to_snapshot(
        &self,
        provider: ProviderId,
        kind: RemoteKind,
        entries: &[SnapshotEntry],
    ) -> Result<(), LocalError> {
        Ok(self.insert_snapshot(provider, kind, entries).await?)
    }

    async fn finish_snapshot(
        &self,
        provider: ProviderId,
        started_at: DateTime<Utc>,
    ) -> Result<(), LocalError> {
        Ok(self.mark_snapshot_taken(provider, started_at).await?)
    }

    async fn snapshot_taken_at(
        &self,
        provider: ProviderId,
    ) -> Result<Option<DateTime<Utc>>, LocalError> {
        Ok(self.read_snapshot_taken_at(provider).await?)
    }

    async fn snapshot_object(
        &self,
        provider: ProviderId,
        kind: RemoteKind,
        id: &RemoteId,
    ) -> Result<Option<RemoteObject>, LocalError> {
        Ok(self.find_snapshot_object(provider, kind, id).await?)
    }

    async fn snapshot_matching(
        &self,
        provider: ProviderId,
        kind: RemoteKind,
        key: &str,
    ) -> Result<Vec<RemoteObject>, LocalError> {
        Ok(self.find_snapshot_matching(provider, kind, key).await?)
    }
}
