//! The console's pages: the overview of every provider, a provider's runs, one run (with its
//! held deletes to approve or reject), a dry run's plan. They read through the store and act
//! through the runner, as the API does; every list is a page.

mod decisions;
mod export;
mod overview;
mod plan;
mod runs;

pub use decisions::{approve, reject};
pub use export::export;
pub use overview::overview;
pub use plan::plan;
pub use runs::{run, runs};

use axum::{
    http::StatusCode,
    response::{IntoResponse, Response},
};
use chrono::{DateTime, Utc};
use model::RunId;
use uuid::Uuid;

use super::{Message, Page, failure, render, session::Session};

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

fn run_id(text: &str) -> Option<RunId> {
    text.parse::<Uuid>().ok().map(RunId::from_uuid)
}
