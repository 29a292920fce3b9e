use chrono::{DateTime, Utc};
use model::{ChangeOp, ChangeRecord, ObjectKind};
use uuid::Uuid;

use crate::{Result, Store, StoreError, rows::ChangeRow};

/// Rows per multi-row `INSERT`: 6 parameters each stays far below SQLite's and PostgreSQL's
/// limits on bound parameters.
pub(crate) const ROWS_PER_STATEMENT: usize = 500;

/// A change record about to be written; the sequence number is assigned at append time.
#[derive(Debug, Clone)]
pub(crate) struct PendingChange {
    pub kind: ObjectKind,
    pub op: ChangeOp,
    pub object_id: Uuid,
    pub subject_id: Option<Uuid>,
    pub at: DateTime<Utc>,
}

impl PendingChange {
    pub fn object(kind: ObjectKind, op: ChangeOp, object_id: Uuid, at: DateTime<Utc>) -> Self {
        Self {
            kind,
            op,
            object_id,
            subject_id: None,
            at,
        }
    }

    pub fn membership(op: ChangeOp, group: Uuid, user: Uuid, at: DateTime<Utc>) -> Self {
        Self {
            kind: ObjectKind::Membership,
            op,
            object_id: group,
            subject_id: Some(user),
            at,
        }
    }
}

impl Store {
    /// Change records with a sequence number above `after`, oldest first.
    pub async fn changes_after(&self, after: i64, limit: u32) -> Result<Vec<ChangeRecord>> {
        let rows: Vec<ChangeRow> = read_pool!(self, pool, _d => {
            sqlx::query_as(
                "SELECT seq, kind, op, object_id, subject_id, at FROM changes \
                 WHERE seq > $1 ORDER BY seq LIMIT $2",
            )
            .bind(after)
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await?
        });
        rows.into_iter().map(ChangeRecord::try_from).collect()
    }

    /// The highest sequence number handed out so far (0 before the first change).
    pub async fn last_change_seq(&self) -> Result<i64> {
        let seq: i64 = read_pool!(self, pool, _d => {
            sqlx::query_scalar("SELECT value FROM change_seq WHERE id = 1")
                .fetch_one(pool)
                .await?
        });
        Ok(seq)
    }
}

impl TryFrom<ChangeRow> for ChangeRecord {
    type Error = StoreError;
    fn try_from(row: ChangeRow) -> Result<Self> {
        Ok(ChangeRecord {
            seq: row.seq,
            kind: row.kind.parse().map_err(StoreError::Corrupt)?,
            op: row.op.parse().map_err(StoreError::Corrupt)?,
            object_id: row.object_id,
            subject_id: row.subject_id,
            at: row.at,
        })
    }
}

impl Store {
    /// Forgets change records every provider has already turned into work and that were
    /// written before `before` (the log is the outbox, not an archive). Returns how many.
    pub async fn prune_changes(&self, before: DateTime<Utc>) -> Result<u64> {
        let pruned = write_pool!(self, pool, _d => {
            sqlx::query(
                "DELETE FROM changes WHERE at < $1 \
                 AND seq <= COALESCE((SELECT MIN(change_cursor) FROM provider_state), \
                                     (SELECT value FROM change_seq WHERE id = 1))",
            )
            .bind(before)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(pruned)
    }
}
