use axum::{Json, extract::State, http::StatusCode};
use serde_json::{Value, json};

use crate::{AppState, error::ApiError};

/// The process is up.
pub async fn healthz() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

/// The process can serve: its database answers, and its sync loops (when it runs them) are
/// alive: a loop that panicked is restarted, one that stopped ticking makes this fail.
pub async fn readyz(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    if let Err(err) = state.store.ping().await {
        tracing::warn!(error = %err, "readiness check failed");
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "the database is not reachable",
        ));
    }
    if let Some(runner) = &state.runner {
        let problems = runner.health().problems();
        if !problems.is_empty() {
            tracing::warn!(problems = ?problems, "readiness check failed");
            return Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                problems.join("; "),
            ));
        }
    }
    Ok(Json(json!({"status": "ready"})))
}
