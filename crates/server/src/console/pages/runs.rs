//! A provider's runs, and one run with its held deletes and failures.

use axum::{
    Extension,
    extract::{Path, Query, State},
    response::{IntoResponse, Response},
};
use model::{ProviderId, Run, RunId, RunStatus};
use serde::Deserialize;
use uuid::Uuid;

use super::{RUNS_PER_PAGE, not_found, run_id, store_error, when};
use crate::AppState;
use crate::console::{Page, failure, render, session::Session};

struct RunRow {
    id: RunId,
    started: String,
    trigger: String,
    dry_run: bool,
    status: RunStatus,
    summary: String,
}

fn summary(run: &Run) -> String {
    let parts: Vec<String> = run
        .report
        .outcomes
        .iter()
        .map(|(outcome, count)| format!("{count} {outcome}"))
        .collect();
    if parts.is_empty() {
        "—".to_owned()
    } else {
        parts.join(", ")
    }
}

#[derive(askama::Template)]
#[template(path = "console/runs.html")]
struct Runs {
    page: Page,
    provider: String,
    provider_id: ProviderId,
    runs: Vec<RunRow>,
    next: Option<Uuid>,
}

#[derive(Deserialize)]
pub struct After {
    after: Option<String>,
}

pub async fn runs(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Path(provider): Path<String>,
    Query(query): Query<After>,
) -> Response {
    let Ok(id) = provider.parse::<Uuid>() else {
        return not_found(&session, "such provider");
    };
    let provider = match state.store.get_provider(ProviderId::from_uuid(id)).await {
        Ok(provider) => provider,
        Err(error) => return store_error(&session, error, "such provider"),
    };
    let after = query.after.and_then(|after| after.parse::<Uuid>().ok());
    let page = store::Page {
        after,
        limit: RUNS_PER_PAGE,
    };
    let found = match state.store.list_runs(provider.id, page).await {
        Ok(found) => found,
        Err(error) => return failure(&error.to_string()),
    };
    let next = (found.len() == RUNS_PER_PAGE as usize)
        .then(|| found.last().map(|run| run.id.as_uuid()))
        .flatten();
    let runs = found
        .iter()
        .map(|run| RunRow {
            id: run.id,
            started: when(run.started_at),
            trigger: run.trigger.to_string(),
            dry_run: run.dry_run,
            status: run.status,
            summary: summary(run),
        })
        .collect();
    render(&Runs {
        page: Page::of(&session),
        provider: provider.name,
        provider_id: provider.id,
        runs,
        next,
    })
    .into_response()
}

#[derive(askama::Template)]
#[template(path = "console/run.html")]
struct RunPage {
    page: Page,
    id: RunId,
    provider: String,
    provider_id: ProviderId,
    dry_run: bool,
    status: RunStatus,
    trigger: String,
    started: String,
    finished: String,
    error: Option<String>,
    throttle_wait: String,
    outcomes: Vec<(String, u64)>,
    requests: Vec<(String, u64)>,
    held: Vec<String>,
    threshold: u32,
    failures: Vec<(String, String, String, String)>,
}

pub async fn run(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Path(run): Path<String>,
) -> Response {
    let Some(id) = run_id(&run) else {
        return not_found(&session, "such run");
    };
    let store = &state.store;
    let run = match store.get_run(id).await {
        Ok(run) => run,
        Err(error) => return store_error(&session, error, "such run"),
    };
    let provider = match store.get_provider(run.provider_id).await {
        Ok(provider) => provider,
        Err(error) => return store_error(&session, error, "such provider"),
    };
    // What a run awaiting approval holds is its list of deletes and disables, each named as
    // Entra knows it (the directory object may be gone already).
    let held = if run.status == RunStatus::AwaitingApproval {
        match held_objects(store, &run).await {
            Ok(held) => held,
            Err(error) => return failure(&error.to_string()),
        }
    } else {
        Vec::new()
    };
    let failures = match store.run_failures(run.id, 100).await {
        Ok(failures) => failures
            .into_iter()
            .map(|state| {
                (
                    format!("{} {}", state.kind.as_str(), state.object_id),
                    state.error_code.unwrap_or_default(),
                    state.error_message.unwrap_or_default(),
                    state.request_id.unwrap_or_default(),
                )
            })
            .collect(),
        Err(error) => return failure(&error.to_string()),
    };
    render(&RunPage {
        page: Page::of(&session),
        id: run.id,
        provider: provider.name,
        provider_id: provider.id,
        dry_run: run.dry_run,
        status: run.status,
        trigger: run.trigger.to_string(),
        started: when(run.started_at),
        finished: run
            .finished_at
            .map_or_else(|| "still running".to_owned(), when),
        error: run.error.clone(),
        throttle_wait: format!("{:.1} s", run.report.throttle_wait_ms as f64 / 1000.0),
        outcomes: run
            .report
            .outcomes
            .iter()
            .map(|(outcome, count)| (outcome.to_string(), *count))
            .collect(),
        requests: run
            .report
            .requests
            .iter()
            .map(|(route, count)| (route.clone(), *count))
            .collect(),
        threshold: run.report.held.as_ref().map_or(0, |held| held.threshold),
        held,
        failures,
    })
    .into_response()
}

/// The held deletes and disables of an approval run, as "user Jane (jane@contoso.com):
/// delete".
async fn held_objects(store: &store::Store, run: &Run) -> Result<Vec<String>, store::StoreError> {
    let mut held = Vec::new();
    for item in store.plan_items(run.id, 0, 1000).await? {
        let kind = match item.subject {
            engine::PlanSubject::User => engine::RemoteKind::User,
            _ => engine::RemoteKind::Group,
        };
        let remote =
            match engine::LinksRead::link(store, run.provider_id, kind, item.object_id).await {
                Ok(Some(link)) => ["userPrincipalName", "displayName"]
                    .iter()
                    .find_map(|key| link.written.get(*key).and_then(|value| value.as_str()))
                    .map(|name| format!(" ({name} in Entra)"))
                    .unwrap_or_default(),
                _ => String::new(),
            };
        let actions: Vec<&str> = item
            .operations
            .iter()
            .map(|operation| match operation {
                engine::Operation::Delete { .. } => "delete",
                engine::Operation::Disable { .. } => "disable",
                _ => "change",
            })
            .collect();
        held.push(format!(
            "{} {}{remote}: {}",
            item.subject.as_str(),
            item.object_name,
            actions.join(", ")
        ));
    }
    Ok(held)
}
