//! Plans: what a dry run found a real run would do, object by object, kept with the run.

use model::RunId;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::types::Json;
use uuid::Uuid;

use crate::{Result, Store};

/// Plan items written per statement.
const ROWS_PER_STATEMENT: usize = 200;

/// One directory object's part of a plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanItem {
    /// Its position in the plan.
    pub seq: i64,
    /// `user`, `group` or `members` (a group's membership).
    pub object_kind: String,
    pub object_id: Uuid,
    /// The username or group name.
    pub object_name: String,
    /// The remote operations, in order.
    pub operations: Value,
}

#[derive(sqlx::FromRow)]
struct PlanRow {
    seq: i64,
    object_kind: String,
    object_id: Uuid,
    object_name: String,
    operations: Json<Value>,
}

impl Store {
    /// Appends items to the run's plan (their `seq` must grow).
    pub async fn add_plan_items(&self, run: RunId, items: &[PlanItem]) -> Result<()> {
        for chunk in items.chunks(ROWS_PER_STATEMENT) {
            write_pool!(self, pool, _d => {
                let mut builder = sqlx::QueryBuilder::new(
                    "INSERT INTO plan_items (run_id, seq, object_kind, object_id, object_name, \
                     operations) ",
                );
                builder.push_values(chunk, |mut row, item| {
                    row.push_bind(run.as_uuid())
                        .push_bind(item.seq)
                        .push_bind(item.object_kind.clone())
                        .push_bind(item.object_id)
                        .push_bind(item.object_name.clone())
                        .push_bind(Json(item.operations.clone()));
                });
                builder.build().execute(pool).await?;
            });
        }
        Ok(())
    }

    /// Up to `limit` items of the run's plan after position `after`, in order.
    pub async fn plan_items(&self, run: RunId, after: i64, limit: u32) -> Result<Vec<PlanItem>> {
        let rows: Vec<PlanRow> = read_pool!(self, pool, _d => {
            sqlx::query_as(
                "SELECT seq, object_kind, object_id, object_name, operations FROM plan_items \
                 WHERE run_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
            )
            .bind(run.as_uuid())
            .bind(after)
            .bind(i64::from(limit.clamp(1, 1000)))
            .fetch_all(pool)
            .await?
        });
        Ok(rows
            .into_iter()
            .map(|row| PlanItem {
                seq: row.seq,
                object_kind: row.object_kind,
                object_id: row.object_id,
                object_name: row.object_name,
                operations: row.operations.0,
            })
            .collect())
    }
}
