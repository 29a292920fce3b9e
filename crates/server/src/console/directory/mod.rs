//! The directory in the console: users, groups and their members, listed a keyset page at a
//! time with a search, added, edited and deleted; and an import file with its per-line
//! errors. Posted forms become the API's JSON bodies and are parsed by the same types, so a
//! field at fault is named as the API names it.

pub mod groups;
pub mod import;
pub mod users;

use axum::{
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde_json::Value;

use super::{Message, Page, form::Problem, render, session::Session};

/// Objects per page of a listing.
const PER_PAGE: u32 = 50;

/// The attributes textarea: empty is `{}`, else a JSON object.
fn attributes(text: &str) -> Result<Value, Problem> {
    if text.trim().is_empty() {
        return Ok(Value::Object(Default::default()));
    }
    match serde_json::from_str::<Value>(text) {
        Ok(value @ Value::Object(_)) => Ok(value),
        Ok(_) => Err(Problem::at(
            "attributes",
            "attributes must be a JSON object",
        )),
        Err(error) => Err(Problem::at(
            "attributes",
            format!("attributes are not JSON: {error}"),
        )),
    }
}

/// A stored attributes map, as the textarea shows it.
fn attributes_text(attributes: &model::Attributes) -> String {
    if attributes.as_map().is_empty() {
        return String::new();
    }
    serde_json::to_string_pretty(attributes.as_map()).unwrap_or_default()
}

fn not_found(session: &Session, what: &str, back: &str) -> Response {
    (
        StatusCode::NOT_FOUND,
        render(&Message {
            page: Page::of(session),
            title: "Not found".into(),
            message: format!("There is no such {what}."),
            back: back.into(),
        }),
    )
        .into_response()
}
