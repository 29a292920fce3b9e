//! A run exported: JSON, or its failures as CSV.

use axum::{
    Extension,
    extract::{Path, State},
    response::{IntoResponse, Response},
};

use super::{not_found, run_id, store_error};
use crate::AppState;
use crate::console::session::Session;

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
