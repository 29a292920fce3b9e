//! Approving or rejecting held deletes, through the runner as the API does.

use axum::{
    Extension,
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use model::ProviderId;
use uuid::Uuid;

use super::{not_found, store_error};
use crate::AppState;
use crate::console::{
    Message, Page, failure, render,
    session::{CheckedForm, Session},
};

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
