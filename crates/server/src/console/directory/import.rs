//! Importing a file in the console: JSON lines, one record each (`{"type": "user", …}`, as
//! `entrasync import` and the API take them). The upload is read as it arrives and imported a
//! batch at a time, each batch in one transaction as the API does it; the page names every
//! line that failed, with the field at fault.

use axum::{
    Extension,
    extract::{Multipart, State, multipart::MultipartRejection},
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde_json::Value;

use crate::console::{
    Page, render,
    session::{Session, forbidden, same},
};
use crate::{AppState, api};

/// The largest file the console takes.
pub const MAX_FILE_BYTES: usize = 64 * 1024 * 1024;
/// The longest line: one record.
const MAX_LINE_BYTES: usize = 1024 * 1024;
/// The failed lines the page lists (all are counted).
const PROBLEMS_SHOWN: usize = 500;
/// The longest message shown for one line.
const MESSAGE_CHARS: usize = 300;
/// The longest form token accepted.
const TOKEN_BYTES: usize = 256;

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
    fn fail(&mut self, line: usize, field: Option<String>, mut message: String) {
        self.totals.failed += 1;
        // A message may repeat the line; a page of 500 of them stays small.
        if let Some((cut, _)) = message.char_indices().nth(MESSAGE_CHARS) {
            message.truncate(cut);
            message.push('…');
        }
        if self.problems.len() < PROBLEMS_SHOWN {
            self.problems.push(LineProblem {
                line,
                field,
                message,
            });
        }
    }

    async fn line(&mut self, number: usize, bytes: &[u8]) -> Result<(), String> {
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

    async fn flush(&mut self) -> Result<(), String> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let (lines, records): (Vec<usize>, Vec<Value>) =
            std::mem::take(&mut self.batch).into_iter().unzip();
        let answer = match api::import::import_records(&self.state.store, records).await {
            Ok(answer) => answer,
            Err(error) => {
                tracing::error!(error = %error.message, "a console import's batch failed");
                return Err(
                    "the directory could not take this batch (nothing of it was \
                            imported); try again in a moment"
                        .into(),
                );
            }
        };
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
    headers: HeaderMap,
    multipart: Result<Multipart, MultipartRejection>,
) -> Response {
    let Ok(mut multipart) = multipart else {
        return forbidden();
    };
    // The form puts its token first, so nothing of the file is read before it is checked.
    match multipart.next_field().await {
        Ok(Some(mut field)) if field.name() == Some("csrf") => {
            let mut sent = Vec::new();
            while let Ok(Some(chunk)) = field.chunk().await {
                sent.extend_from_slice(&chunk);
                if sent.len() > TOKEN_BYTES {
                    return forbidden();
                }
            }
            if !std::str::from_utf8(&sent).is_ok_and(|sent| same(&session.csrf, sent)) {
                return forbidden();
            }
        }
        _ => return forbidden(),
    }
    let page = Page::of(&session);
    let too_large = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<usize>().ok())
        .is_some_and(|length| length > MAX_FILE_BYTES);
    if too_large {
        return refuse(
            page,
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "The file is larger than {MAX_FILE_BYTES} bytes: import it with `entrasync import` instead."
            ),
        );
    }
    let mut field = match multipart.next_field().await {
        Ok(Some(field)) if field.name() == Some("file") => field,
        Ok(_) => {
            return refuse(
                page,
                StatusCode::BAD_REQUEST,
                "Choose a file to import.".into(),
            );
        }
        Err(error) => {
            return refuse(
                page,
                StatusCode::BAD_REQUEST,
                format!("The upload failed: {error}"),
            );
        }
    };
    let file = field.file_name().unwrap_or("the file").to_owned();
    let mut importer = Importer {
        state: &state,
        batch: Vec::new(),
        totals: Totals::default(),
        problems: Vec::new(),
    };
    let mut pending: Vec<u8> = Vec::new();
    let mut number = 0;
    let stopped = loop {
        let chunk = match field.chunk().await {
            Ok(Some(chunk)) => chunk,
            Ok(None) => break None,
            Err(error) => break Some((number + 1, format!("the upload broke off: {error}"))),
        };
        pending.extend_from_slice(&chunk);
        let mut start = 0;
        let mut failed = None;
        while let Some(at) = pending[start..].iter().position(|byte| *byte == b'\n') {
            number += 1;
            if let Err(reason) = importer.line(number, &pending[start..start + at]).await {
                failed = Some((number, reason));
                break;
            }
            start += at + 1;
        }
        pending.drain(..start);
        if failed.is_some() {
            break failed;
        }
        if pending.len() > MAX_LINE_BYTES {
            break Some((
                number + 1,
                format!(
                    "the line is longer than {MAX_LINE_BYTES} bytes (is this a JSON lines file)"
                ),
            ));
        }
    };
    let stopped = match stopped {
        // What was read whole before the line that stopped it still lands.
        Some(stop) => match importer.flush().await {
            Ok(()) => Some(stop),
            Err(reason) => Some((stop.0, reason)),
        },
        None => {
            let last = if pending.is_empty() {
                Ok(())
            } else {
                number += 1;
                importer.line(number, &pending).await
            };
            last.and(importer.flush().await)
                .err()
                .map(|reason| (number, reason))
        }
    };
    tracing::info!(
        lines = number,
        created = importer.totals.created,
        failed = importer.totals.failed,
        stopped = stopped.is_some(),
        "a file was imported in the console"
    );
    let more_problems = importer
        .totals
        .failed
        .saturating_sub(importer.problems.len());
    let status = if stopped.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    (
        status,
        render(&ImportPage {
            page,
            file: Some(file),
            totals: importer.totals,
            problems: importer.problems,
            more_problems,
            problem: stopped.map(|(line, reason)| {
                format!(
                    "Stopped at line {line}: {reason}. The lines before it were imported, as \
                     the totals below say."
                )
            }),
        }),
    )
        .into_response()
}

fn refuse(page: Page, status: StatusCode, problem: String) -> Response {
    let mut shown = ImportPage::blank(page);
    shown.problem = Some(problem);
    (status, render(&shown)).into_response()
}
