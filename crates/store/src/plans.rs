//! Plans, kept with their run: what a dry run found a real run would do, object by object, and
//! the deletes accidental-delete protection holds. The engine's [`Plans`] port.

use std::collections::HashMap;

use engine::{LocalError, PlanItem, PlanSubject, Planned, Plans, RemoteKind};
use model::RunId;
use sqlx::types::Json;
use uuid::Uuid;

use crate::{Result, Store, StoreError};

/// Which items of a plan to show: of one kind, naming an object, holding an operation.
#[derive(Debug, Clone, Default)]
pub struct PlanFilter {
    pub subject: Option<PlanSubject>,
    /// A case-insensitive substring of the object's name.
    pub name: Option<String>,
    /// An operation's name, as `Operation::name` gives it.
    pub operation: Option<&'static str>,
}

/// The plan items after `$2` of run `$1`, of kind `$3`, whose name holds `$4` (a `LIKE`
/// pattern on the folded name), holding an operation `$5` (a `LIKE` pattern on the names
/// between commas), at most `$6`; each filter may be null.
const FIND_PLAN_ITEMS: &str = "SELECT seq, object_kind, object_id, object_name, operations \
     FROM plan_items WHERE run_id = $1 AND seq > $2 \
       AND ($3 IS NULL OR object_kind = $3) \
       AND ($4 IS NULL OR name_key LIKE $4 ESCAPE '\\') \
       AND ($5 IS NULL OR operation_names LIKE $5 ESCAPE '\\') \
     ORDER BY seq LIMIT $6";

/// What a plan item is found by: its folded name, and its operations' names between commas.
pub(crate) fn filter_columns(item: &PlanItem) -> (String, String) {
    let mut names = String::from(",");
    for operation in &item.operations {
        names.push_str(operation.name());
        names.push(',');
    }
    (item.object_name.to_lowercase(), names)
}

/// Plan items written per statement.
pub(crate) const ROWS_PER_STATEMENT: usize = 200;

#[derive(sqlx::FromRow)]
struct PlanRow {
    seq: i64,
    object_kind: String,
    object_id: Uuid,
    object_name: String,
    operations: Json<Vec<engine::Operation>>,
}

pub(crate) fn subject_text(subject: PlanSubject) -> &'static str {
    subject.as_str()
}

fn subject_of(text: &str) -> Result<PlanSubject> {
    match text {
        "user" => Ok(PlanSubject::User),
        "group" => Ok(PlanSubject::Group),
        "members" => Ok(PlanSubject::Members),
        other => Err(StoreError::Corrupt(format!(
            "unknown plan item kind {other:?}"
        ))),
    }
}

impl TryFrom<PlanRow> for PlanItem {
    type Error = StoreError;
    fn try_from(row: PlanRow) -> Result<Self> {
        Ok(PlanItem {
            seq: row.seq,
            subject: subject_of(&row.object_kind)?,
            object_id: row.object_id,
            object_name: row.object_name,
            operations: row.operations.0,
        })
    }
}

/// Appends `$items` to run `$run`'s plan in the open transaction or on the pool `$on`.
macro_rules! insert_plan_items {
    ($on:expr, $run:expr, $items:expr) => {{
        let run: model::RunId = $run;
        let items: &[engine::PlanItem] = $items;
        for chunk in items.chunks($crate::plans::ROWS_PER_STATEMENT) {
            let mut builder = sqlx::QueryBuilder::new(
                "INSERT INTO plan_items (run_id, seq, object_kind, object_id, object_name, \
                 operations, name_key, operation_names) ",
            );
            builder.push_values(chunk, |mut row, item| {
                let (name_key, operation_names) = $crate::plans::filter_columns(item);
                row.push_bind(run.as_uuid())
                    .push_bind(item.seq)
                    .push_bind($crate::plans::subject_text(item.subject))
                    .push_bind(item.object_id)
                    .push_bind(item.object_name.clone())
                    .push_bind(sqlx::types::Json(item.operations.clone()))
                    .push_bind(name_key)
                    .push_bind(operation_names);
            });
            builder.build().execute($on).await?;
        }
    }};
}

pub(crate) use insert_plan_items;

impl Store {
    /// Appends items to the run's plan (their `seq` must grow).
    pub async fn add_plan_items(&self, run: RunId, items: &[PlanItem]) -> Result<()> {
        write_pool!(self, pool, _d => {
            insert_plan_items!(pool, run, items);
        });
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
        rows.into_iter().map(PlanItem::try_from).collect()
    }

    /// Up to `limit` items of the run's plan after position `after` that match `filter`, in
    /// order: the plan's own rows only, one page of them in memory.
    pub async fn find_plan_items(
        &self,
        run: RunId,
        filter: &PlanFilter,
        after: i64,
        limit: u32,
    ) -> Result<Vec<PlanItem>> {
        // Without a filter, the plain page (a planner need not weigh conditions that are off).
        if filter.subject.is_none() && filter.name.is_none() && filter.operation.is_none() {
            return self.plan_items(run, after, limit).await;
        }
        let rows: Vec<PlanRow> = read_pool!(self, pool, _d => {
            sqlx::query_as(FIND_PLAN_ITEMS)
                .bind(run.as_uuid())
                .bind(after)
                .bind(filter.subject.map(subject_text))
                .bind(filter.name.as_deref().map(crate::page::contains_pattern))
                .bind(
                    filter
                        .operation
                        .map(|name| format!("%,{},%", name.replace('_', "\\_"))),
                )
                .bind(i64::from(limit.clamp(1, 1000)))
                .fetch_all(pool)
                .await?
        });
        rows.into_iter().map(PlanItem::try_from).collect()
    }

    async fn find_planned(
        &self,
        run: RunId,
        kind: RemoteKind,
        object: Uuid,
    ) -> Result<Option<Planned>> {
        let subject = match kind {
            RemoteKind::User => PlanSubject::User,
            RemoteKind::Group => PlanSubject::Group,
        };
        let rows: Vec<PlanRow> = read_pool!(self, pool, _d => {
            sqlx::query_as(
                "SELECT seq, object_kind, object_id, object_name, operations FROM plan_items \
                 WHERE run_id = $1 AND object_id = $2 AND object_kind = $3 ORDER BY seq",
            )
            .bind(run.as_uuid())
            .bind(object)
            .bind(subject_text(subject))
            .fetch_all(pool)
            .await?
        });
        let mut planned = None;
        for row in rows {
            let item = PlanItem::try_from(row)?;
            if let Some(step) = Planned::of(kind, object, &item.operations) {
                planned = Some(step);
            }
        }
        Ok(planned)
    }

    async fn find_planned_of(
        &self,
        run: RunId,
        kind: RemoteKind,
        objects: &[Uuid],
    ) -> Result<HashMap<Uuid, Planned>> {
        let subject = match kind {
            RemoteKind::User => PlanSubject::User,
            RemoteKind::Group => PlanSubject::Group,
        };
        let mut planned = HashMap::new();
        for chunk in objects.chunks(IDS_PER_STATEMENT) {
            let rows: Vec<PlanRow> = read_pool!(self, pool, _d => {
                let mut query = sqlx::QueryBuilder::new(
                    "SELECT seq, object_kind, object_id, object_name, operations FROM plan_items \
                     WHERE run_id = ",
                );
                query.push_bind(run.as_uuid());
                query
                    .push(" AND object_kind = ")
                    .push_bind(subject_text(subject));
                query.push(" AND object_id IN (");
                let mut ids = query.separated(", ");
                for object in chunk {
                    ids.push_bind(*object);
                }
                ids.push_unseparated(") ORDER BY seq");
                query.build_query_as().fetch_all(pool).await?
            });
            // In plan order: a later item's word on an object is the last one, as in
            // `find_planned`.
            for row in rows {
                let item = PlanItem::try_from(row)?;
                if let Some(step) = Planned::of(kind, item.object_id, &item.operations) {
                    planned.insert(item.object_id, step);
                }
            }
        }
        Ok(planned)
    }
}

/// Ids bound per `IN (…)` list, well below both backends' limits on parameters.
const IDS_PER_STATEMENT: usize = 500;

impl Plans for Store {
    async fn add_plan_items(&self, run: RunId, items: &[PlanItem]) -> Result<(), LocalError> {
        Ok(Store::add_plan_items(self, run, items).await?)
    }

    async fn planned(
        &self,
        run: RunId,
        kind: RemoteKind,
        object: Uuid,
    ) -> Result<Option<Planned>, LocalError> {
        Ok(self.find_planned(run, kind, object).await?)
    }

    async fn planned_of(
        &self,
        run: RunId,
        kind: RemoteKind,
        objects: &[Uuid],
    ) -> Result<HashMap<Uuid, Planned>, LocalError> {
        Ok(self.find_planned_of(run, kind, objects).await?)
    }
}
