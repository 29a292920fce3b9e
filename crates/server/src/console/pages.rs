//! The console's pages: the overview of every provider, a provider's runs, one run (with its
//! held deletes to approve or reject), a dry run's plan. They read through the store and act
//! through the runner, as the API does; every list is a page.

use axum::{
    Extension,
    extract::{Path, Query, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use chrono::{DateTime, Utc};
use model::{ProviderId, Run, RunId, RunStatus};
use serde::Deserialize;
use uuid::Uuid;

use super::{
    Message, Page, failure, render,
    session::{CheckedForm, Session},
};
use crate::AppState;

/// Runs per page of a provider's runs.
const RUNS_PER_PAGE: u32 = 50;
/// Plan items per page.
const PLAN_PER_PAGE: u32 = 100;
/// Providers on the overview.
const PROVIDERS_SHOWN: u32 = 200;

fn when(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

fn age(seconds: i64) -> String {
    match seconds.max(0) {
        s if s < 120 => format!("{s} s"),
        s if s < 7200 => format!("{} min", s / 60),
        s => format!("{} h", s / 3600),
    }
}

fn not_found(session: &Session, what: &str) -> Response {
    (
        StatusCode::NOT_FOUND,
        render(&Message {
            page: Page::of(session),
            title: "Not found".into(),
            message: format!("There is no {what} here."),
            back: "/console".into(),
        }),
    )
        .into_response()
}

/// A store error as a page: a missing object is a 404, anything else our failure.
fn store_error(session: &Session, error: store::StoreError, what: &str) -> Response {
    match error {
        store::StoreError::NotFound { .. } => not_found(session, what),
        other => failure(&other.to_string()),
    }
}

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

fn run_id(text: &str) -> Option<RunId> {
    text.parse::<Uuid>().ok().map(RunId::from_uuid)
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

struct PlanRow {
    kind: String,
    name: String,
    operations: Vec<String>,
}

#[derive(askama::Template)]
#[template(path = "console/plan.html")]
struct Plan {
    page: Page,
    run: RunId,
    items: Vec<PlanRow>,
    next: Option<i64>,
}

#[derive(Deserialize)]
pub struct PlanAfter {
    after: Option<i64>,
}

pub async fn plan(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Path(run): Path<String>,
    Query(query): Query<PlanAfter>,
) -> Response {
    let Some(id) = run_id(&run) else {
        return not_found(&session, "such run");
    };
    if let Err(error) = state.store.get_run(id).await {
        return store_error(&session, error, "such run");
    }
    let items = match state
        .store
        .plan_items(id, query.after.unwrap_or(0), PLAN_PER_PAGE)
        .await
    {
        Ok(items) => items,
        Err(error) => return failure(&error.to_string()),
    };
    let next = (items.len() == PLAN_PER_PAGE as usize)
        .then(|| items.last().map(|item| item.seq))
        .flatten();
    let items = items
        .into_iter()
        .map(|item| PlanRow {
            kind: item.subject.as_str().to_owned(),
            name: item.object_name,
            operations: item
                .operations
                .iter()
                .map(|operation| serde_json::to_string(operation).unwrap_or_default())
                .collect(),
        })
        .collect();
    render(&Plan {
        page: Page::of(&session),
        run: id,
        items,
        next,
    })
    .into_response()
}

pub async fn approve(
    state: State<AppState>,
    session: Extension<Session>,
    provider: Path<String>,
    _form: CheckedForm,
) -> Response {
    decide(state, session, provider, true).await
}

pub async fn reject(
    state: State<AppState>,
    session: Extension<Session>,
    provider: Path<String>,
    _form: CheckedForm,
) -> Response {
    decide(state, session, provider, false).await
}

/// Approves or rejects the held deletes, as the API's approval does (through the runner).
async fn decide(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Path(provider): Path<String>,
    approve: bool,
) -> Response {
    let Ok(id) = provider.parse::<Uuid>().map(ProviderId::from_uuid) else {
        return not_found(&session, "such provider");
    };
    let Some(runner) = &state.runner else {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            render(&Message {
                page: Page::of(&session),
                title: "Not on this node".into(),
                message: "This node runs no sync workers: decide on a node that does.".into(),
                back: "/console".into(),
            }),
        )
            .into_response();
    };
    let decided = if approve {
        runner.approve_deletes(id).await
    } else {
        runner.reject_deletes(id).await
    };
    match decided {
        Ok(objects) => {
            tracing::info!(provider = %id, approve, objects, "held deletes decided in the console");
            Redirect::to("/console").into_response()
        }
        Err(runner::RunnerError::NothingAwaitsApproval) => (
            StatusCode::CONFLICT,
            render(&Message {
                page: Page::of(&session),
                title: "Nothing to decide".into(),
                message: "No deletes await approval for this provider (decided elsewhere?).".into(),
                back: "/console".into(),
            }),
        )
            .into_response(),
        Err(runner::RunnerError::Store(error)) => store_error(&session, error, "such provider"),
        Err(error) => failure(&error.to_string()),
    }
}

/// One CSV field, quoted (a quote inside is doubled).
fn csv_field(text: &str) -> String {
    format!("\"{}\"", text.replace('"', "\"\""))
}

/// The run as JSON (everything the API's `GET /runs/{run}` answers) or, as CSV, the objects
/// it could not sync (one per row, for a spreadsheet).
pub async fn export(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Path((run, format)): Path<(String, String)>,
) -> Response {
    let Some(id) = run_id(&run) else {
        return not_found(&session, "such run");
    };
    let detail = match crate::api::runs::run_detail(&state.store, id).await {
        Ok(detail) => detail,
        Err(error) => return store_error(&session, error, "such run"),
    };
    let attachment = |extension: &str| {
        format!(
            "attachment; filename=\"entrasync-run-{}.{extension}\"",
            detail.run.id
        )
    };
    match format.as_str() {
        "export.json" => {
            let body = serde_json::to_string_pretty(&detail).unwrap_or_default();
            (
                [
                    (
                        axum::http::header::CONTENT_TYPE,
                        "application/json".to_owned(),
                    ),
                    (axum::http::header::CONTENT_DISPOSITION, attachment("json")),
                ],
                body,
            )
                .into_response()
        }
        "export.csv" => {
            let mut body =
                String::from("kind,object_id,error_code,error_message,request_id,at\r\n");
            for failure in &detail.failures {
                let fields = [
                    failure.kind.clone(),
                    failure.object_id.to_string(),
                    failure.error_code.clone().unwrap_or_default(),
                    failure.error_message.clone().unwrap_or_default(),
                    failure.request_id.clone().unwrap_or_default(),
                    failure.at.to_rfc3339(),
                ];
                let row: Vec<String> = fields.iter().map(|field| csv_field(field)).collect();
                body.push_str(&row.join(","));
                body.push_str("\r\n");
            }
            (
                [
                    (
                        axum::http::header::CONTENT_TYPE,
                        "text/csv; charset=utf-8".to_owned(),
                    ),
                    (axum::http::header::CONTENT_DISPOSITION, attachment("csv")),
                ],
                body,
            )
                .into_response()
        }
        _ => not_found(&session, "such export"),
    }
}
