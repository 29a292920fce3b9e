//! Importing a file in the console: JSON lines, one record each (`{"type": "user", …}`, as
//! `entrasync import` and the API take them). The upload is read as it arrives and imported a
//! batch at a time, each batch in one transaction as the API does it; the page names every
//! line that failed, with the field at fault.

use axum::{
    Extension,
    extract::{Multipart, State, multipart::MultipartRejection},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde_json::Value;

use crate::console::{
    Page, failure, render,
    session::{Session, forbidden, same},
};
use crate::{AppState, api};

/// The largest file the console takes.
pub const MAX_FILE_BYTES: usize = 64 * 1024 * 1024;
/// The longest line: one record.
const MAX_LINE_BYTES: usize = 1024 * 1024;
/// The failed lines the page lists (all are counted).
const PROBLEMS_SHOWN: usize = 500;

/// One line that did not import.
struct LineProblem {
    line: usize,
    field: Option<String>,
    message: String,
}

#[derive(Default)]
struct Totals {
    created: usize,
    updated: usize,
    unchanged: usize,
    failed: usize,
}

#[derive(askama::Template)]
#[template(path = "console/import.html")]
struct ImportPage {
    page: Page,
    file: Option<String>,
    totals: Totals,
    problems: Vec<LineProblem>,
    more_problems: usize,
    problem: Option<String>,
}

impl ImportPage {
    fn blank(page: Page) -> Self {
        Self {
            page,
            file: None,
            totals: Totals::default(),
            problems: Vec::new(),
            more_problems: 0,
            problem: None,
        }
    }
}

pub async fn form(Extension(session): Extension<Session>) -> Response {
    render(&ImportPage::blank(Page::of(&session))).into_response()
}

/// Records read but not yet imported, with their line numbers.
struct Importer<'a> {
    state: &'a AppState,
    batch: Vec<(usize, Value)>,
    totals: Totals,
    problems: Vec<LineProblem>,
}

impl Importer<'_> {
    fn fail(&mut self, line: usize, field: Option<String>, message: String) {
        self.totals.failed += 1;
        if self.problems.len() < PROBLEMS_SHOWN {
            self.problems.push(LineProblem {
                line,
                field,
                message,
            });
        }
    }

    async fn line(&mut self, number: usize, bytes: &[u8]) -> Result<(), Response> {
        let text = bytes.strip_suffix(b"\r").unwrap_or(bytes);
        if text.iter().all(u8::is_ascii_whitespace) {
            return Ok(());
        }
        match serde_json::from_slice::<Value>(text) {
            Ok(value) => self.batch.push((number, value)),
            Err(error) => self.fail(number, None, format!("not JSON: {error}")),
        }
        if self.batch.len() >= api::import::MAX_RECORDS_PER_CALL {
            self.flush().await?;
        }
        Ok(())
    }

    async fn flush(&mut self) -> Result<(), Response> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let (lines, records): (Vec<usize>, Vec<Value>) =
            std::mem::take(&mut self.batch).into_iter().unzip();
        let answer = api::import::import_records(&self.state.store, records)
            .await
            .map_err(|error| failure(&error.message))?;
        self.totals.created += answer.created;
        self.totals.updated += answer.updated;
        self.totals.unchanged += answer.unchanged;
        for (line, result) in lines.into_iter().zip(answer.results) {
            if result.outcome == "failed" {
                let message = result.message.unwrap_or_else(|| "failed".into());
                self.fail(line, result.field, message);
            }
        }
        Ok(())
    }
}

pub async fn upload(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    multipart: Result<Multipart, MultipartRejection>,
) -> Response {
    let Ok(mut multipart) = multipart else {
        return forbidden();
    };
    // The form puts its token first, so nothing of the file is read before it is checked.
    match multipart.next_field().await {
        Ok(Some(field)) if field.name() == Some("csrf") => match field.text().await {
            Ok(sent) if same(&session.csrf, &sent) => {}
            _ => return forbidden(),
        },
        _ => return forbidden(),
    }
    let page = Page::of(&session);
    let refuse = |page: Page, problem: String| {
        let mut shown = ImportPage::blank(page);
        shown.problem = Some(problem);
        (StatusCode::BAD_REQUEST, render(&shown)).into_response()
    };
    let mut field = match multipart.next_field().await {
        Ok(Some(field)) if field.name() == Some("file") => field,
        Ok(_) => return refuse(page, "Choose a file to import.".into()),
        Err(error) => return refuse(page, format!("The upload failed: {error}")),
    };
    let file = field.file_name().map(str::to_owned);
    let mut importer = Importer {
        state: &state,
        batch: Vec::new(),
        totals: Totals::default(),
        problems: Vec::new(),
    };
    let mut pending: Vec<u8> = Vec::new();
    let mut number = 0;
    loop {
        let chunk = match field.chunk().await {
            Ok(Some(chunk)) => chunk,
            Ok(None) => break,
            Err(error) => return refuse(page, format!("The upload failed: {error}")),
        };
        pending.extend_from_slice(&chunk);
        while let Some(end) = pending.iter().position(|byte| *byte == b'\n') {
            number += 1;
            let line: Vec<u8> = pending.drain(..=end).collect();
            if let Err(response) = importer.line(number, &line[..end]).await {
                return response;
            }
        }
        if pending.len() > MAX_LINE_BYTES {
            return refuse(
                page,
                format!(
                    "Line {} is longer than {} bytes: is this a JSON lines file?",
                    number + 1,
                    MAX_LINE_BYTES
                ),
            );
        }
    }
    if !pending.is_empty() {
        number += 1;
        if let Err(response) = importer.line(number, &pending).await {
            return response;
        }
    }
    if let Err(response) = importer.flush().await {
        return response;
    }
    tracing::info!(
        lines = number,
        created = importer.totals.created,
        failed = importer.totals.failed,
        "a file was imported in the console"
    );
    let more_problems = importer
        .totals
        .failed
        .saturating_sub(importer.problems.len());
    render(&ImportPage {
        page,
        file: Some(file.unwrap_or_else(|| "the file".into())),
        totals: importer.totals,
        problems: importer.problems,
        more_problems,
        problem: None,
    })
    .into_response()
}
