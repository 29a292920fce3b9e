//! The overview: every provider, its health, last and next run, and its queue.

use axum::{
    Extension,
    extract::State,
    response::{IntoResponse, Response},
};
use model::{ProviderId, RunId, RunStatus};

use super::{PROVIDERS_SHOWN, age, when};
use crate::AppState;
use crate::console::{Page, failure, render, session::Session};

struct LastRun {
    id: RunId,
    status: RunStatus,
    when: String,
    trigger: String,
}

struct ProviderCard {
    id: ProviderId,
    name: String,
    health: &'static str,
    reason: Option<String>,
    awaiting_approval: bool,
    approval_run: Option<RunId>,
    last_run: Option<LastRun>,
    next_run: String,
    queued: u64,
    oldest: String,
}

#[derive(askama::Template)]
#[template(path = "console/overview.html")]
struct Overview {
    page: Page,
    providers: Vec<ProviderCard>,
}

pub async fn overview(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
) -> Response {
    match overview_cards(&state).await {
        Ok(providers) => render(&Overview {
            page: Page::of(&session),
            providers,
        })
        .into_response(),
        Err(error) => failure(&error.to_string()),
    }
}

async fn overview_cards(state: &AppState) -> Result<Vec<ProviderCard>, store::StoreError> {
    let store = &state.store;
    let now = store.now().await?;
    let mut cards = Vec::new();
    for provider in store
        .list_providers(store::Page::first(PROVIDERS_SHOWN))
        .await?
    {
        let sync = store.provider_state(provider.id).await?;
        let health = sync.health(provider.settings.enabled, now);
        let last_run = store
            .list_runs(provider.id, store::Page::first(1))
            .await?
            .into_iter()
            .next()
            .map(|run| LastRun {
                id: run.id,
                status: run.status,
                when: when(run.finished_at.unwrap_or(run.started_at)),
                trigger: run.trigger.to_string(),
            });
        let queues = store.queue_by_lane(provider.id).await?;
        let queued = queues.iter().map(|(_, depth, _)| depth).sum();
        let oldest = queues
            .iter()
            .filter_map(|(_, _, oldest)| *oldest)
            .min()
            .map_or_else(|| "nothing".to_owned(), |at| age((now - at).num_seconds()));
        cards.push(ProviderCard {
            id: provider.id,
            name: provider.name,
            health,
            reason: sync.health_reason,
            awaiting_approval: sync.approval_run.is_some(),
            approval_run: sync.approval_run,
            last_run,
            next_run: sync
                .next_run_at
                .map_or_else(|| "none scheduled".to_owned(), when),
            queued,
            oldest,
        });
    }
    Ok(cards)
}
