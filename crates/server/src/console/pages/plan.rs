//! A dry run's plan, a page at a time.

use axum::{
    Extension,
    extract::{Path, Query, State},
    response::{IntoResponse, Response},
};
use model::RunId;
use serde::Deserialize;

use super::{PLAN_PER_PAGE, not_found, run_id, store_error};
use crate::AppState;
use crate::console::{Page, failure, render, session::Session};

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
