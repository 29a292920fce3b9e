//! What the runner tells the metrics facade: runs by trigger and status, objects by outcome,
//! and the direct-sync lag. The server renders them at `/metrics`; labels are bounded (the
//! provider's id, kinds, outcomes), never a user's name.

use std::time::Duration;

use engine::{Item, Outcome};
use model::{ProviderId, Run};
use store::{Store, WorkItem};

/// A provider's Graph client's counts, for `/metrics`.
#[derive(Debug, Clone)]
pub struct GraphUsage {
    pub provider: ProviderId,
    pub metrics: msgraph::MetricsSnapshot,
}

fn kind_of(item: Item) -> &'static str {
    match item {
        Item::User(_) => "user",
        Item::Group(_) => "group",
        Item::Membership { .. } => "membership",
        Item::Members(_) => "members",
    }
}

pub(crate) fn run_finished(run: &Run) {
    metrics::counter!(
        "entrasync_runs_total",
        "provider" => run.provider_id.to_string(),
        "trigger" => run.trigger.to_string(),
        "status" => run.status.to_string(),
        "dry_run" => run.dry_run.to_string(),
    )
    .increment(1);
}

/// Counts the outcome; for a direct sync on its first try, also the time from when its change
/// was queued (within a feed interval of its commit) to Entra's answer. A retried item's due
/// time is the retry's, so it is left out of the lag rather than counted short.
pub(crate) async fn object_finished(store: &Store, item: &WorkItem, what: Item, outcome: &Outcome) {
    let provider = item.provider_id.to_string();
    metrics::counter!(
        "entrasync_objects_total",
        "provider" => provider.clone(),
        "kind" => kind_of(what),
        "outcome" => outcome.kind().as_str(),
    )
    .increment(1);
    if item.run_id.is_none()
        && item.attempts == 0
        && let Ok(now) = store.now().await
    {
        let lag = (now - item.run_at).to_std().unwrap_or(Duration::ZERO);
        metrics::histogram!("entrasync_direct_sync_lag_seconds", "provider" => provider)
            .record(lag.as_secs_f64());
    }
}
