use axum::{Json, extract::State};
use model::{ImportRecord, MembershipRef, NewGroup, NewUser};
use serde::{Deserialize, Serialize};
use store::ImportOutcome;
use utoipa::ToSchema;

use crate::{
    AppState,
    error::{ApiError, ErrorBody},
    extract::{ApiJson, from_value},
};

/// Most records one import call may carry.
pub const MAX_RECORDS_PER_CALL: usize = 5000;

/// A batch of import records, applied in one transaction.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ImportRequest {
    /// Each record: `{"type": "user", …}`, `{"type": "group", …}` or
    /// `{"type": "membership", "group": NAME, "user": USERNAME}`.
    #[schema(value_type = Vec<ImportRecord>)]
    pub records: Vec<serde_json::Value>,
}

/// What happened to each record, in request order, and the totals.
#[derive(Debug, Serialize, ToSchema)]
pub struct ImportResponse {
    pub results: Vec<RecordResult>,
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub failed: usize,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RecordResult {
    /// `created`, `updated`, `unchanged` or `failed`.
    pub outcome: &'static str,
    /// Why the record failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The record field at fault, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

/// Import users, groups and memberships. Users are matched by username and groups by name; a
/// bad record is reported and the others still land.
#[utoipa::path(post, path = "/import", tag = "import", request_body = ImportRequest,
    responses((status = 200, body = ImportResponse), (status = 400, body = ErrorBody), (status = 413, body = ErrorBody)))]
pub async fn import(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<ImportRequest>,
) -> Result<Json<ImportResponse>, ApiError> {
    if request.records.len() > MAX_RECORDS_PER_CALL {
        return Err(ApiError::validation(
            "records",
            format!("at most {MAX_RECORDS_PER_CALL} records per call"),
        ));
    }
    Ok(Json(import_records(&state.store, request.records).await?))
}

/// Parses each record and imports the valid ones in one transaction, answering for every one
/// in order: what the API and the console's import both do.
pub(crate) async fn import_records(
    store: &store::Store,
    records: Vec<serde_json::Value>,
) -> Result<ImportResponse, ApiError> {
    let mut results: Vec<Option<RecordResult>> = Vec::with_capacity(records.len());
    let mut valid = Vec::new();
    for value in records {
        match parse_record(value) {
            Ok(record) => {
                valid.push(record);
                results.push(None);
            }
            Err(err) => results.push(Some(RecordResult {
                outcome: "failed",
                message: Some(err.message),
                field: err.field,
            })),
        }
    }
    let mut outcomes = store.import(valid).await?.into_iter();
    let results: Vec<RecordResult> = results
        .into_iter()
        .map(|result| {
            result.unwrap_or_else(|| match outcomes.next() {
                Some(ImportOutcome::Created) => RecordResult::ok("created"),
                Some(ImportOutcome::Updated) => RecordResult::ok("updated"),
                Some(ImportOutcome::Unchanged) | None => RecordResult::ok("unchanged"),
                Some(ImportOutcome::Failed { message }) => RecordResult {
                    outcome: "failed",
                    message: Some(message),
                    field: None,
                },
            })
        })
        .collect();
    let count = |outcome: &str| results.iter().filter(|r| r.outcome == outcome).count();
    Ok(ImportResponse {
        created: count("created"),
        updated: count("updated"),
        unchanged: count("unchanged"),
        failed: count("failed"),
        results,
    })
}

impl RecordResult {
    fn ok(outcome: &'static str) -> Self {
        Self {
            outcome,
            message: None,
            field: None,
        }
    }
}

/// Parses one record, naming the field at fault. (Going through the `type` tag by hand keeps
/// the field path, which serde loses inside an internally tagged enum.)
fn parse_record(value: serde_json::Value) -> Result<ImportRecord, ApiError> {
    let serde_json::Value::Object(mut fields) = value else {
        return Err(ApiError::bad_request("a record must be a JSON object"));
    };
    let kind = fields.remove("type");
    let rest = serde_json::Value::Object(fields);
    match kind.as_ref().and_then(|kind| kind.as_str()) {
        Some("user") => from_value::<NewUser>(rest).map(ImportRecord::User),
        Some("group") => from_value::<NewGroup>(rest).map(ImportRecord::Group),
        Some("membership") => from_value::<MembershipRef>(rest).map(ImportRecord::Membership),
        Some(other) => Err(ApiError::validation(
            "type",
            format!("unknown record type {other:?}; expected user, group or membership"),
        )),
        None => Err(ApiError::validation(
            "type",
            "a record needs a \"type\": user, group or membership",
        )),
    }
}
