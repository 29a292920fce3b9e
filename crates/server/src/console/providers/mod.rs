//! A provider in the console: create one, read and edit every setting (the API's validation,
//! the field at fault named beside its input; the credential write-only), and act on it: sync
//! now, dry run now, pause and resume.

mod values;

use axum::{
    Extension,
    extract::{Path, Query, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use model::{Provider, ProviderId};
use serde::Deserialize;
use uuid::Uuid;

use super::{
    Message, Page, failure,
    form::{Fields, Problem, Refused, input_id, problem_for},
    render,
    session::{CheckedForm, Session},
};
use crate::{AppState, api, error::ApiError};
use values::{CLOUDS, GROUP_DELETE_ACTIONS, USER_DELETE_ACTIONS, Values};

#[derive(askama::Template)]
#[template(path = "console/provider.html")]
struct ProviderPage {
    page: Page,
    /// `None` for a provider not yet created.
    provider: Option<Saved>,
    values: Values,
    problem: Option<Problem>,
    notice: Option<&'static str>,
}

/// What the page of a saved provider shows beside its settings.
struct Saved {
    id: ProviderId,
    name: String,
    health: &'static str,
}

impl ProviderPage {
    fn problem_for(&self, input: &str) -> Option<&str> {
        problem_for(&self.problem, input)
    }

    fn id_of(&self, input: &str) -> String {
        input_id(input)
    }

    fn clouds(&self) -> &'static [(&'static str, &'static str)] {
        CLOUDS
    }

    fn user_delete_actions(&self) -> &'static [(&'static str, &'static str)] {
        USER_DELETE_ACTIONS
    }

    fn group_delete_actions(&self) -> &'static [(&'static str, &'static str)] {
        GROUP_DELETE_ACTIONS
    }
}

#[derive(Deserialize)]
pub struct Notice {
    notice: Option<String>,
}

/// The sentence an action's redirect asks the page to show (only these: nothing posted is
/// ever reflected).
fn notice(query: &Notice) -> Option<&'static str> {
    Some(match query.notice.as_deref()? {
        "created" => "Created. Its first full sync is queued.",
        "saved" => "Saved. A full sync is queued to bring Entra in step with the new settings.",
        "sync" => "A full sync is queued.",
        "paused" => "Paused: nothing is synced until it is resumed.",
        "resumed" => "Resumed: a full sync is queued.",
        _ => return None,
    })
}

fn provider_id(text: &str) -> Option<ProviderId> {
    text.parse::<Uuid>().ok().map(ProviderId::from_uuid)
}

fn not_found(session: &Session) -> Response {
    (
        StatusCode::NOT_FOUND,
        render(&Message {
            page: Page::of(session),
            title: "Not found".into(),
            message: "There is no such provider here.".into(),
            back: "/console".into(),
        }),
    )
        .into_response()
}

async fn load(state: &AppState, session: &Session, text: &str) -> Result<Provider, Response> {
    let Some(id) = provider_id(text) else {
        return Err(not_found(session));
    };
    match state.store.get_provider(id).await {
        Ok(provider) => Ok(provider),
        Err(store::StoreError::NotFound { .. }) => Err(not_found(session)),
        Err(error) => Err(failure(&error.to_string())),
    }
}

async fn saved(state: &AppState, provider: &Provider) -> Result<Saved, store::StoreError> {
    let now = state.store.now().await?;
    let sync = state.store.provider_state(provider.id).await?;
    Ok(Saved {
        id: provider.id,
        name: provider.name.clone(),
        health: sync.health(provider.settings.enabled, now),
    })
}

pub async fn new_form(Extension(session): Extension<Session>) -> Response {
    render(&ProviderPage {
        page: Page::of(&session),
        provider: None,
        values: Values::defaults(),
        problem: None,
        notice: None,
    })
    .into_response()
}

/// The form again, with what was posted and the problem beside its input.
fn refused(
    session: &Session,
    provider: Option<Saved>,
    fields: &Fields,
    problem: Problem,
    status: StatusCode,
) -> Response {
    (
        status,
        render(&ProviderPage {
            page: Page::of(session),
            provider,
            values: Values::posted(fields),
            problem: Some(problem),
            notice: None,
        }),
    )
        .into_response()
}

pub async fn create(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    CheckedForm(fields): CheckedForm,
) -> Response {
    let created = async {
        let input = values::input(&fields)?;
        Ok::<_, Refused>(api::providers::create(&state, input).await?)
    };
    match created.await {
        Ok(provider) => {
            tracing::info!(provider = %provider.id, "provider created in the console");
            Redirect::to(&format!(
                "/console/providers/{}?notice=created",
                provider.id
            ))
            .into_response()
        }
        Err(Refused::Form(problem, status)) => refused(&session, None, &fields, problem, status),
        Err(Refused::Failure(detail)) => failure(&detail),
    }
}

pub async fn edit_form(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Path(provider): Path<String>,
    Query(query): Query<Notice>,
) -> Response {
    let provider = match load(&state, &session, &provider).await {
        Ok(provider) => provider,
        Err(response) => return response,
    };
    let shown = async {
        Ok::<_, store::StoreError>((
            saved(&state, &provider).await?,
            Values::of(&state.store, &provider).await?,
        ))
    };
    match shown.await {
        Ok((saved, values)) => render(&ProviderPage {
            page: Page::of(&session),
            provider: Some(saved),
            values,
            problem: None,
            notice: notice(&query),
        })
        .into_response(),
        Err(error) => failure(&error.to_string()),
    }
}

pub async fn save(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Path(provider): Path<String>,
    CheckedForm(fields): CheckedForm,
) -> Response {
    let current = match load(&state, &session, &provider).await {
        Ok(provider) => provider,
        Err(response) => return response,
    };
    let updated = async {
        let input = values::input(&fields)?;
        Ok::<_, Refused>(api::providers::update(&state, &current, input).await?)
    };
    match updated.await {
        Ok(provider) => {
            tracing::info!(provider = %provider.id, "provider saved in the console");
            Redirect::to(&format!("/console/providers/{}?notice=saved", provider.id))
                .into_response()
        }
        Err(Refused::Form(problem, status)) => match saved(&state, &current).await {
            Ok(saved) => refused(&session, Some(saved), &fields, problem, status),
            Err(error) => failure(&error.to_string()),
        },
        Err(Refused::Failure(detail)) => failure(&detail),
    }
}

/// A page saying why an action was refused.
fn action_refused(session: &Session, provider: ProviderId, error: ApiError) -> Response {
    if error.status.is_server_error() && error.status != StatusCode::SERVICE_UNAVAILABLE {
        return failure(&error.message);
    }
    (
        error.status,
        render(&Message {
            page: Page::of(session),
            title: "Not done".into(),
            message: error.message,
            back: format!("/console/providers/{provider}"),
        }),
    )
        .into_response()
}

pub async fn sync_now(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Path(provider): Path<String>,
    _form: CheckedForm,
) -> Response {
    let provider = match load(&state, &session, &provider).await {
        Ok(provider) => provider,
        Err(response) => return response,
    };
    match state.store.request_manual_sync(provider.id).await {
        Ok(()) => {
            Redirect::to(&format!("/console/providers/{}?notice=sync", provider.id)).into_response()
        }
        Err(error) => action_refused(&session, provider.id, error.into()),
    }
}

pub async fn plan_now(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Path(provider): Path<String>,
    _form: CheckedForm,
) -> Response {
    let provider = match load(&state, &session, &provider).await {
        Ok(provider) => provider,
        Err(response) => return response,
    };
    match api::sync::start_dry_run(&state, provider.id).await {
        Ok(run) => Redirect::to(&format!("/console/runs/{}", run.id)).into_response(),
        Err(error) => action_refused(&session, provider.id, error),
    }
}

pub async fn pause(
    state: State<AppState>,
    session: Extension<Session>,
    provider: Path<String>,
    _form: CheckedForm,
) -> Response {
    set_enabled(state, session, provider, false).await
}

pub async fn resume(
    state: State<AppState>,
    session: Extension<Session>,
    provider: Path<String>,
    _form: CheckedForm,
) -> Response {
    set_enabled(state, session, provider, true).await
}

/// Pausing is the API's `enabled: false`, saved through the same update.
async fn set_enabled(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Path(provider): Path<String>,
    enabled: bool,
) -> Response {
    let current = match load(&state, &session, &provider).await {
        Ok(provider) => provider,
        Err(response) => return response,
    };
    let input = api::providers::ProviderInput {
        enabled: Some(enabled),
        ..Default::default()
    };
    match api::providers::update(&state, &current, input).await {
        Ok(provider) => {
            let notice = if enabled { "resumed" } else { "paused" };
            Redirect::to(&format!(
                "/console/providers/{}?notice={notice}",
                provider.id
            ))
            .into_response()
        }
        Err(error) => action_refused(&session, current.id, error),
    }
}
