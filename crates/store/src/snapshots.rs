//! The engine's [`Snapshots`] port: one snapshot of the tenant per discovery, written page by
//! page and never changed once finished. A full sync's becomes its provider's current snapshot
//! (and the older ones go); a plan's stays private and is dropped when the plan is made.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use engine::{
    LocalError, Properties, RemoteId, RemoteKind, RemoteObject, Snapshot, SnapshotEntry,
    SnapshotId, SnapshotPurpose, Snapshots,
};
use model::ProviderId;
use sqlx::types::Json;
use uuid::Uuid;

use crate::{Result, Store, StoreError, changes::ROWS_PER_STATEMENT};

#[derive(sqlx::FromRow)]
struct ObjectRow {
    remote_id: String,
    properties: Json<Properties>,
}

impl From<ObjectRow> for RemoteObject {
    fn from(row: ObjectRow) -> Self {
        RemoteObject {
            id: RemoteId::new(row.remote_id),
            properties: row.properties.0,
        }
    }
}

fn purpose_text(purpose: SnapshotPurpose) -> &'static str {
    match purpose {
        SnapshotPurpose::Sync => "sync",
        SnapshotPurpose::Plan => "plan",
    }
}

impl Store {
    async fn create_snapshot(
        &self,
        provider: ProviderId,
        purpose: SnapshotPurpose,
    ) -> Result<SnapshotId> {
        let id = SnapshotId::new();
        let started_at = self.now().await?;
        write_pool!(self, pool, _d => {
            sqlx::query(
                "INSERT INTO snapshots (id, provider_id, purpose, started_at, finished_at) \
                 VALUES ($1, $2, $3, $4, NULL)",
            )
            .bind(id.as_uuid())
            .bind(provider.as_uuid())
            .bind(purpose_text(purpose))
            .bind(started_at)
            .execute(pool)
            .await
            .map_err(|err| match &err {
                sqlx::Error::Database(db) if db.is_foreign_key_violation() => {
                    StoreError::not_found("provider", provider)
                }
                _ => err.into(),
            })?;
        });
        Ok(id)
    }

    /// An object listed twice keeps what was read last.
    async fn insert_snapshot_objects(
        &self,
        snapshot: SnapshotId,
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
            let open: Option<Uuid> = sqlx::query_scalar(
                "SELECT id FROM snapshots WHERE id = $1 AND finished_at IS NULL",
            )
            .bind(snapshot.as_uuid())
            .fetch_optional(&mut *tx)
            .await?;
            if open.is_none() {
                return Err(StoreError::Conflict {
                    field: "snapshot",
                    message: format!(
                        "snapshot {snapshot} is finished or gone: nothing may be added to it"
                    ),
                });
            }
            for chunk in entries.chunks(ROWS_PER_STATEMENT) {
                let mut insert = sqlx::QueryBuilder::new(
                    "INSERT INTO snapshot_objects (snapshot_id, kind, remote_id, properties, key1, \
                     key2) ",
                );
                insert.push_values(chunk, |mut row, entry| {
                    row.push_bind(snapshot.as_uuid())
                        .push_bind(kind.as_str())
                        .push_bind(entry.object.id.as_str())
                        .push_bind(Json(&entry.object.properties))
                        .push_bind(entry.keys.first().map(String::as_str))
                        .push_bind(entry.keys.get(1).map(String::as_str));
                });
                insert.push(
                    " ON CONFLICT (snapshot_id, kind, remote_id) DO UPDATE SET \
                     properties = excluded.properties, key1 = excluded.key1, key2 = excluded.key2",
                );
                insert.build().execute(&mut *tx).await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// Marks the snapshot finished; a full sync's becomes current, and the provider's older
    /// full-sync snapshots go (with their objects), in the same transaction.
    async fn close_snapshot(&self, snapshot: SnapshotId) -> Result<Snapshot> {
        let finished_at = self.now().await?;
        let row: Option<(Uuid, String, DateTime<Utc>)> = write_pool!(self, pool, _d => {
            let mut tx = pool.begin_write().await?;
            let row: Option<(Uuid, String, DateTime<Utc>)> = sqlx::query_as(
                "UPDATE snapshots SET finished_at = $2 WHERE id = $1 AND finished_at IS NULL \
                 RETURNING provider_id, purpose, started_at",
            )
            .bind(snapshot.as_uuid())
            .bind(finished_at)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some((provider, purpose, started_at)) = &row
                && purpose == "sync"
            {
                sqlx::query("UPDATE provider_state SET current_snapshot = $2 WHERE provider_id = $1")
                    .bind(provider)
                    .bind(snapshot.as_uuid())
                    .execute(&mut *tx)
                    .await?;
                // Only the older ones: a discovery begun since is still writing its own.
                sqlx::query(
                    "DELETE FROM snapshots WHERE provider_id = $1 AND purpose = 'sync' AND id <> $2 \
                     AND started_at < $3",
                )
                .bind(provider)
                .bind(snapshot.as_uuid())
                .bind(started_at)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            row
        });
        let (_, _, taken_at) = row.ok_or_else(|| StoreError::Conflict {
            field: "snapshot",
            message: format!("snapshot {snapshot} is finished or gone"),
        })?;
        Ok(Snapshot {
            id: snapshot,
            taken_at,
        })
    }

    async fn delete_snapshot(&self, snapshot: SnapshotId) -> Result<()> {
        write_pool!(self, pool, _d => {
            let mut tx = pool.begin_write().await?;
            sqlx::query(
                "UPDATE provider_state SET current_snapshot = NULL WHERE current_snapshot = $1",
            )
            .bind(snapshot.as_uuid())
            .execute(&mut *tx)
            .await?;
            sqlx::query("DELETE FROM snapshots WHERE id = $1")
                .bind(snapshot.as_uuid())
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// Forgets snapshots left unfinished (their discovery died) that started before `before`.
    pub async fn prune_snapshots(&self, before: DateTime<Utc>) -> Result<u64> {
        let pruned = write_pool!(self, pool, _d => {
            sqlx::query("DELETE FROM snapshots WHERE finished_at IS NULL AND started_at < $1")
                .bind(before)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(pruned)
    }

    async fn read_current_snapshot(&self, provider: ProviderId) -> Result<Option<Snapshot>> {
        let row: Option<(Uuid, DateTime<Utc>)> = read_pool!(self, pool, _d => {
            sqlx::query_as(
                "SELECT n.id, n.started_at FROM provider_state s \
                 JOIN snapshots n ON n.id = s.current_snapshot \
                 WHERE s.provider_id = $1 AND n.finished_at IS NOT NULL",
            )
            .bind(provider.as_uuid())
            .fetch_optional(pool)
            .await?
        });
        Ok(row.map(|(id, taken_at)| Snapshot {
            id: SnapshotId::from_uuid(id),
            taken_at,
        }))
    }

    async fn find_snapshot_object(
        &self,
        snapshot: SnapshotId,
        kind: RemoteKind,
        id: &RemoteId,
    ) -> Result<Option<RemoteObject>> {
        let row: Option<ObjectRow> = read_pool!(self, pool, _d => {
            sqlx::query_as(
                "SELECT remote_id, properties FROM snapshot_objects \
                 WHERE snapshot_id = $1 AND kind = $2 AND remote_id = $3",
            )
            .bind(snapshot.as_uuid())
            .bind(kind.as_str())
            .bind(id.as_str())
            .fetch_optional(pool)
            .await?
        });
        Ok(row.map(RemoteObject::from))
    }

    async fn find_snapshot_matching(
        &self,
        snapshot: SnapshotId,
        kind: RemoteKind,
        key: &str,
    ) -> Result<Vec<RemoteObject>> {
        let rows: Vec<ObjectRow> = read_pool!(self, pool, _d => {
            sqlx::query_as(
                "SELECT remote_id, properties FROM snapshot_objects \
                 WHERE snapshot_id = $1 AND kind = $2 AND (key1 = $3 OR key2 = $3) \
                 ORDER BY remote_id",
            )
            .bind(snapshot.as_uuid())
            .bind(kind.as_str())
            .bind(key)
            .fetch_all(pool)
            .await?
        });
        Ok(rows.into_iter().map(RemoteObject::from).collect())
    }
}

impl Snapshots for Store {
    async fn begin_snapshot(
        &self,
        provider: ProviderId,
        purpose: SnapshotPurpose,
    ) -> Result<SnapshotId, LocalError> {
        Ok(self.create_snapshot(provider, purpose).await?)
    }

    async fn add_to_snapshot(
        &self,
        snapshot: SnapshotId,
        kind: RemoteKind,
        entries: &[SnapshotEntry],
    ) -> Result<(), LocalError> {
        Ok(self
            .insert_snapshot_objects(snapshot, kind, entries)
            .await?)
    }

    async fn finish_snapshot(&self, snapshot: SnapshotId) -> Result<Snapshot, LocalError> {
        Ok(self.close_snapshot(snapshot).await?)
    }

    async fn drop_snapshot(&self, snapshot: SnapshotId) -> Result<(), LocalError> {
        Ok(self.delete_snapshot(snapshot).await?)
    }

    async fn current_snapshot(&self, provider: ProviderId) -> Result<Option<Snapshot>, LocalError> {
        Ok(self.read_current_snapshot(provider).await?)
    }

    async fn snapshot_object(
        &self,
        snapshot: SnapshotId,
        kind: RemoteKind,
        id: &RemoteId,
    ) -> Result<Option<RemoteObject>, LocalError> {
        Ok(self.find_snapshot_object(snapshot, kind, id).await?)
    }

    async fn snapshot_matching(
        &self,
        snapshot: SnapshotId,
        kind: RemoteKind,
        key: &str,
    ) -> Result<Vec<RemoteObject>, LocalError> {
        Ok(self.find_snapshot_matching(snapshot, kind, key).await?)
    }
}
