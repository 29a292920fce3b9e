//! A dry run's plan, a page at a time: creates with their document, updates as a field-by-field
//! diff against what Entra holds, adoptions, deletes, disables, member adds and removes;
//! filtered by kind and operation and searched by name, in the database.

use axum::{
    Extension,
    extract::{Path, Query, State},
    response::{IntoResponse, Response},
};
use engine::{Operation, PlanSubject, RemoteRef};
use model::RunId;
use serde::Deserialize;
use serde_json::Value;

use super::{PLAN_PER_PAGE, not_found, run_id, store_error};
use crate::AppState;
use crate::console::{Page, failure, render, session::Session};

/// One property of a create, or one change of an update.
struct Field {
    property: String,
    before: Option<String>,
    after: String,
}

/// One operation as the page shows it.
struct Step {
    name: &'static str,
    /// What it does, in a sentence.
    summary: String,
    /// A create's document, or an update's changes.
    fields: Vec<Field>,
    diff: bool,
}

struct PlanRow {
    kind: &'static str,
    name: String,
    steps: Vec<Step>,
}

#[derive(askama::Template)]
#[template(path = "console/plan.html")]
struct Plan {
    page: Page,
    run: RunId,
    items: Vec<PlanRow>,
    next: Option<i64>,
    kind: String,
    operation: String,
    q: String,
}

impl Plan {
    fn operations(&self) -> &'static [&'static str] {
        &Operation::NAMES
    }
}

#[derive(Deserialize)]
pub struct PlanQuery {
    after: Option<i64>,
    kind: Option<String>,
    operation: Option<String>,
    q: Option<String>,
}

fn value_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

fn remote_text(reference: &RemoteRef) -> String {
    match reference {
        RemoteRef::Linked { id } => id.as_str().to_owned(),
        RemoteRef::Planned { kind, object } => {
            format!("the {} {object} this plan creates", kind.as_str())
        }
    }
}

/// A document's properties, passwords hidden (its `Serialize` hides them).
fn document_fields(document: &impl serde::Serialize) -> Vec<Field> {
    match serde_json::to_value(document) {
        Ok(Value::Object(properties)) => properties
            .iter()
            .map(|(property, value)| Field {
                property: property.clone(),
                before: None,
                after: value_text(value),
            })
            .collect(),
        _ => Vec::new(),
    }
}

fn step(operation: &Operation) -> Step {
    let mut shown = Step {
        name: operation.name(),
        summary: String::new(),
        fields: Vec::new(),
        diff: false,
    };
    match operation {
        Operation::Create { kind, document } => {
            shown.summary = format!("create the {} with this document", kind.as_str());
            shown.fields = document_fields(document);
        }
        Operation::Recreate {
            kind,
            previous,
            document,
        } => {
            shown.summary = format!(
                "create the {} again (Entra no longer has {}) with this document",
                kind.as_str(),
                previous.as_str()
            );
            shown.fields = document_fields(document);
        }
        Operation::Adopt { kind, remote_id } => {
            shown.summary = format!(
                "link the existing Entra {} {}",
                kind.as_str(),
                remote_id.as_str()
            );
        }
        Operation::Update {
            kind,
            remote_id,
            changes,
        } => {
            shown.summary = format!(
                "update the Entra {} {}: {} field(s) differ",
                kind.as_str(),
                remote_id.as_str(),
                changes.len()
            );
            shown.diff = true;
            shown.fields = changes
                .iter()
                .map(|change| Field {
                    property: change.property.clone(),
                    before: Some(
                        change
                            .before
                            .as_ref()
                            .map_or_else(|| "(not set)".to_owned(), value_text),
                    ),
                    after: value_text(&change.after),
                })
                .collect();
        }
        Operation::Delete { kind, remote_id } => {
            shown.summary = format!("delete the Entra {} {}", kind.as_str(), remote_id.as_str());
        }
        Operation::Disable { remote_id } => {
            shown.summary = format!(
                "disable the Entra user {} (accountEnabled = false)",
                remote_id.as_str()
            );
        }
        Operation::Unlink { kind, remote_id } => {
            shown.summary = format!(
                "forget the link to the Entra {} {} (it stays in Entra)",
                kind.as_str(),
                remote_id.as_str()
            );
        }
        Operation::AddMembers { group, members } => {
            shown.summary = format!(
                "add {} member(s) to {}: {}",
                members.len(),
                remote_text(group),
                members
                    .iter()
                    .map(remote_text)
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        Operation::RemoveMember { group, member } => {
            shown.summary = format!(
                "remove the member {} from {}",
                member.as_str(),
                group.as_str()
            );
        }
    }
    shown
}

fn subject_of(text: &str) -> Option<PlanSubject> {
    match text {
        "user" => Some(PlanSubject::User),
        "group" => Some(PlanSubject::Group),
        "members" => Some(PlanSubject::Members),
        _ => None,
    }
}

pub async fn plan(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Path(run): Path<String>,
    Query(query): Query<PlanQuery>,
) -> Response {
    let Some(id) = run_id(&run) else {
        return not_found(&session, "such run");
    };
    if let Err(error) = state.store.get_run(id).await {
        return store_error(&session, error, "such run");
    }
    let kind = query.kind.unwrap_or_default();
    let operation = query.operation.unwrap_or_default();
    let q = query.q.unwrap_or_default().trim().to_owned();
    let filter = store::PlanFilter {
        subject: subject_of(&kind),
        operation: Operation::NAMES
            .iter()
            .copied()
            .find(|name| *name == operation),
        name: Some(q.clone()).filter(|q| !q.is_empty()),
    };
    let items = match state
        .store
        .find_plan_items(id, &filter, query.after.unwrap_or(0), PLAN_PER_PAGE)
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
            kind: item.subject.as_str(),
            name: item.object_name,
            steps: item.operations.iter().map(step).collect(),
        })
        .collect();
    render(&Plan {
        page: Page::of(&session),
        run: id,
        items,
        next,
        kind,
        operation,
        q,
    })
    .into_response()
}
