//! What a run's items came to, counted as each completes (in the transaction that completes
//! it): objects by outcome, and membership changes.

use engine::Tally;
use model::{MemberCounts, OutcomeKind, RunId};

use crate::{Result, Store, StoreError};

const ADDED: &str = "members.added";
const REMOVED: &str = "members.removed";
const FAILED: &str = "members.failed";

/// The counters one item's tally adds to, by name.
pub(crate) fn counters(tally: &Tally) -> Vec<(String, i64)> {
    let as_i64 = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
    let mut counters: Vec<(String, i64)> = tally
        .outcomes
        .iter()
        .map(|(kind, n)| (kind.as_str().to_owned(), as_i64(*n)))
        .collect();
    let members = tally.members;
    for (name, n) in [
        (ADDED, members.added),
        (REMOVED, members.removed),
        (FAILED, members.failed),
    ] {
        if n > 0 {
            counters.push((name.to_owned(), as_i64(n)));
        }
    }
    counters
}

/// Adds `$tally` to run `$run`'s counters in the open transaction.
macro_rules! add_tally {
    ($tx:expr, $run:expr, $tally:expr) => {{
        let run: model::RunId = $run;
        let counters = $crate::tally::counters($tally);
        if !counters.is_empty() {
            let mut insert = sqlx::QueryBuilder::new("INSERT INTO run_tally (run_id, name, value) ");
            insert.push_values(&counters, |mut row, (name, value)| {
                row.push_bind(run.as_uuid()).push_bind(name.as_str()).push_bind(*value);
            });
            insert.push(
                " ON CONFLICT (run_id, name) DO UPDATE SET value = run_tally.value + excluded.value",
            );
            insert.build().execute(&mut *$tx).await?;
        }
    }};
}

impl Store {
    /// What the run's items came to so far.
    pub async fn run_tally(&self, run: RunId) -> Result<Tally> {
        let rows: Vec<(String, i64)> = read_pool!(self, pool, _d => {
            sqlx::query_as("SELECT name, value FROM run_tally WHERE run_id = $1")
                .bind(run.as_uuid())
                .fetch_all(pool)
                .await?
        });
        let mut tally = Tally::default();
        let mut members = MemberCounts::default();
        for (name, value) in rows {
            let value = value.unsigned_abs();
            match name.as_str() {
                ADDED => members.added = value,
                REMOVED => members.removed = value,
                FAILED => members.failed = value,
                other => {
                    let kind: OutcomeKind = other.parse().map_err(StoreError::Corrupt)?;
                    tally.outcomes.insert(kind, value);
                }
            }
        }
        tally.members = members;
        Ok(tally)
    }
}
