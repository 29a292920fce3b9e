//! Property mappings in the console: the list, and one mapping's editor. Saving goes through
//! the API's rules (an expression that does not compile is refused, with its line and column,
//! and the line is marked in the source); "try it" evaluates what is in the editor, unsaved,
//! against a chosen user or group and shows the Graph document, the skip or the error.

use axum::{
    Extension,
    extract::{Path, Query, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use mapping::{Mapping, MappingKind, SourcePosition, TryReport};
use model::{NewPropertyMapping, PropertyMapping, PropertyMappingPatch};
use serde::Deserialize;
use uuid::Uuid;

use super::{
    Message, Page, failure,
    form::{Fields, Problem, Refused, problem_for},
    message_page, render,
    session::{CheckedForm, Session},
};
use crate::{AppState, api};

/// Mappings per page of the list.
const PER_PAGE: u32 = 100;

struct Row {
    id: Uuid,
    name: String,
    kind: MappingKind,
    lines: usize,
}

#[derive(askama::Template)]
#[template(path = "console/mappings.html")]
struct List {
    page: Page,
    mappings: Vec<Row>,
    next: Option<Uuid>,
}

#[derive(Deserialize)]
pub struct After {
    after: Option<Uuid>,
}

pub async fn list(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Query(query): Query<After>,
) -> Response {
    let page = match query.after {
        Some(after) => store::Page::after(after, PER_PAGE),
        None => store::Page::first(PER_PAGE),
    };
    match state.store.list_mappings(None, page).await {
        Ok(mappings) => {
            let next = (mappings.len() == PER_PAGE as usize)
                .then(|| mappings.last().map(|m| m.id.as_uuid()))
                .flatten();
            render(&List {
                page: Page::of(&session),
                mappings: mappings
                    .into_iter()
                    .map(|m| Row {
                        id: m.id.as_uuid(),
                        lines: m.expression.lines().count(),
                        name: m.name,
                        kind: m.kind,
                    })
                    .collect(),
                next,
            })
            .into_response()
        }
        Err(error) => failure(&error.to_string()),
    }
}

/// One line of the expression, as the editor's listing shows it when a position is known.
struct SourceLine {
    number: usize,
    text: String,
    marked: bool,
}

/// What "try it" found.
pub(super) enum Tried {
    Document(String),
    Skip(String),
    Error(String),
}

#[derive(askama::Template)]
#[template(path = "console/mapping.html")]
struct Editor {
    page: Page,
    /// `None` for a mapping not yet saved.
    id: Option<Uuid>,
    name: String,
    kind: MappingKind,
    expression: String,
    subject: String,
    problem: Option<Problem>,
    /// The expression, numbered, with the line at fault marked (after an error with a position).
    listing: Vec<SourceLine>,
    position: Option<String>,
    tried: Option<Tried>,
    saved: bool,
}

impl Editor {
    fn problem_for(&self, input: &str) -> Option<&str> {
        problem_for(&self.problem, input)
    }

    fn subject_label(&self) -> &'static str {
        match self.kind {
            MappingKind::User => "user (username or id)",
            MappingKind::Group => "group (name or id)",
        }
    }

    fn is_user(&self) -> bool {
        self.kind == MappingKind::User
    }

    fn new(page: Page, mapping: Option<&PropertyMapping>, kind: MappingKind) -> Self {
        Self {
            page,
            id: mapping.map(|m| m.id.as_uuid()),
            name: mapping.map(|m| m.name.clone()).unwrap_or_default(),
            kind: mapping.map_or(kind, |m| m.kind),
            expression: mapping.map(|m| m.expression.clone()).unwrap_or_default(),
            subject: String::new(),
            problem: None,
            listing: Vec::new(),
            position: None,
            tried: None,
            saved: false,
        }
    }

    /// Numbers the expression and marks `position`'s line.
    fn mark(&mut self, position: Option<SourcePosition>) {
        let Some(position) = position else { return };
        let marked = usize::try_from(position.line).unwrap_or(0);
        self.position = Some(position.to_string());
        self.listing = self
            .expression
            .lines()
            .enumerate()
            .map(|(index, text)| SourceLine {
                number: index + 1,
                text: text.to_owned(),
                marked: index + 1 == marked,
            })
            .collect();
    }
}

#[derive(Deserialize)]
pub struct NewQuery {
    kind: Option<MappingKind>,
}

pub async fn new_form(
    Extension(session): Extension<Session>,
    Query(query): Query<NewQuery>,
) -> Response {
    let kind = query.kind.unwrap_or(MappingKind::User);
    render(&Editor::new(Page::of(&session), None, kind)).into_response()
}

#[derive(Deserialize)]
pub struct SavedQuery {
    saved: Option<bool>,
}

pub async fn edit_form(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Path(mapping): Path<String>,
    Query(query): Query<SavedQuery>,
) -> Response {
    let mapping = match load(&state, &session, &mapping).await {
        Ok(mapping) => mapping,
        Err(response) => return response,
    };
    let mut editor = Editor::new(Page::of(&session), Some(&mapping), mapping.kind);
    editor.saved = query.saved.unwrap_or(false);
    render(&editor).into_response()
}

async fn load(state: &AppState, session: &Session, key: &str) -> Result<PropertyMapping, Response> {
    match api::mappings::resolve_mapping(&state.store, key).await {
        Ok(mapping) => Ok(mapping),
        Err(error) if error.status == StatusCode::NOT_FOUND => Err((
            StatusCode::NOT_FOUND,
            render(&Message {
                page: Page::of(session),
                title: "Not found".into(),
                message: "There is no such mapping.".into(),
                back: "/console/mappings".into(),
            }),
        )
            .into_response()),
        Err(error) => Err(failure(&error.message)),
    }
}

/// The editor as posted: what the admin typed, kept whether it is saved or only tried.
fn posted(page: Page, id: Option<Uuid>, kind: MappingKind, fields: &Fields) -> Editor {
    let mut editor = Editor::new(page, None, kind);
    editor.id = id;
    editor.name = fields.text("name");
    editor.expression = fields.raw("expression").replace("\r\n", "\n");
    editor.subject = fields.text("subject");
    editor
}

pub async fn create(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    CheckedForm(fields): CheckedForm,
) -> Response {
    let kind = match fields.choice::<MappingKind>("kind") {
        Ok(kind) => kind,
        Err(problem) => {
            let mut editor = posted(Page::of(&session), None, MappingKind::User, &fields);
            editor.problem = Some(problem);
            return (StatusCode::BAD_REQUEST, render(&editor)).into_response();
        }
    };
    let mut editor = posted(Page::of(&session), None, kind, &fields);
    match fields.text("intent").as_str() {
        "save" => {}
        "try" => return try_it(&state, editor).await,
        _ => return unknown_intent(editor),
    }
    let new = NewPropertyMapping {
        name: editor.name.clone(),
        kind,
        expression: editor.expression.clone(),
    };
    match api::mappings::create(&state, new).await {
        Ok(mapping) => {
            Redirect::to(&format!("/console/mappings/{}?saved=true", mapping.id)).into_response()
        }
        Err(error) if error.status.is_server_error() => failure(&error.message),
        Err(error) => {
            let status = error.status;
            editor.problem = Some(error.into());
            position_of_compile_error(&state, &mut editor);
            (status, render(&editor)).into_response()
        }
    }
}

pub async fn save(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Path(mapping): Path<String>,
    CheckedForm(fields): CheckedForm,
) -> Response {
    let current = match load(&state, &session, &mapping).await {
        Ok(mapping) => mapping,
        Err(response) => return response,
    };
    let mut editor = posted(
        Page::of(&session),
        Some(current.id.as_uuid()),
        current.kind,
        &fields,
    );
    match fields.text("intent").as_str() {
        "save" => {}
        "try" => return try_it(&state, editor).await,
        _ => return unknown_intent(editor),
    }
    let patch = PropertyMappingPatch {
        name: Some(editor.name.clone()),
        expression: Some(editor.expression.clone()),
    };
    match api::mappings::update(&state, &current, patch).await {
        Ok(mapping) => {
            Redirect::to(&format!("/console/mappings/{}?saved=true", mapping.id)).into_response()
        }
        Err(error) if error.status.is_server_error() => failure(&error.message),
        Err(error) => {
            let status = error.status;
            editor.problem = Some(error.into());
            position_of_compile_error(&state, &mut editor);
            (status, render(&editor)).into_response()
        }
    }
}

/// Neither "save" nor "try": nothing is done, the editor is shown again.
fn unknown_intent(mut editor: Editor) -> Response {
    editor.problem = Some(Problem {
        field: None,
        message: "press Save or Try it: nothing was saved".into(),
    });
    (StatusCode::BAD_REQUEST, render(&editor)).into_response()
}

/// The API refused the expression: compile it here once more for the position to mark (the
/// API's message already names it; the listing shows it).
fn position_of_compile_error(state: &AppState, editor: &mut Editor) {
    if editor.problem_for("expression").is_none() {
        return;
    }
    let mapping = Mapping::new(&editor.name, editor.kind, &editor.expression);
    if let Err(error) = state.mapper.compile(&mapping) {
        editor.mark(error.position);
    }
}

/// Evaluates the editor's expression, unsaved, against the chosen user or group.
async fn try_it(state: &AppState, mut editor: Editor) -> Response {
    if editor.subject.is_empty() {
        editor.problem = Some(Problem::at(
            "subject",
            format!("name the {} to try the mapping on", editor.subject_label()),
        ));
        return (StatusCode::BAD_REQUEST, render(&editor)).into_response();
    }
    let test = api::mappings::MappingTest {
        mappings: Vec::new(),
        expression: Some(editor.expression.clone()),
        user: editor.is_user().then(|| editor.subject.clone()),
        group: (!editor.is_user()).then(|| editor.subject.clone()),
        provider: None,
        link: None,
    };
    match api::mappings::try_mappings(state, test).await {
        Ok(report) => {
            let (tried, position) = describe(report);
            editor.mark(position);
            editor.tried = Some(tried);
            render(&editor).into_response()
        }
        Err(error) => match Refused::from(error) {
            Refused::Failure(detail) => failure(&detail),
            Refused::Form(mut problem, status) => {
                // The subject is the only thing of the try the API can fail to find.
                problem.field = Some("subject".into());
                editor.problem = Some(problem);
                (status, render(&editor)).into_response()
            }
        },
    }
}

/// A try's report as the page shows it, and the position to mark, if any.
pub(super) fn describe(report: TryReport) -> (Tried, Option<SourcePosition>) {
    match report {
        TryReport::Document { document } => (
            Tried::Document(serde_json::to_string_pretty(&document).unwrap_or_default()),
            None,
        ),
        TryReport::Skip { mapping, reason } => (
            Tried::Skip(match reason {
                Some(reason) => format!("skipped by mapping {mapping:?}: {reason}"),
                None => format!("skipped by mapping {mapping:?}"),
            }),
            None,
        ),
        TryReport::NoMappings => (Tried::Skip("no mappings to evaluate".into()), None),
        TryReport::CompileError { error } => {
            let position = error.position;
            (Tried::Error(error.to_string()), position)
        }
        TryReport::MappingError { error } => {
            let position = error.position;
            (Tried::Error(error.to_string()), position)
        }
        TryReport::WrongKind { message } => (Tried::Error(message), None),
    }
}

pub async fn delete(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Path(mapping): Path<String>,
    CheckedForm(fields): CheckedForm,
) -> Response {
    let mapping = match load(&state, &session, &mapping).await {
        Ok(mapping) => mapping,
        Err(response) => return response,
    };
    if let Err(problem) = fields.confirmed() {
        return message_page(
            &session,
            StatusCode::BAD_REQUEST,
            "Not deleted",
            problem.message,
            format!("/console/mappings/{}", mapping.id),
        );
    }
    match state.store.delete_mapping(mapping.id).await {
        Ok(()) => Redirect::to("/console/mappings").into_response(),
        Err(store::StoreError::InUse { message }) => (
            StatusCode::CONFLICT,
            render(&Message {
                page: Page::of(&session),
                title: "Still in use".into(),
                message,
                back: format!("/console/mappings/{}", mapping.id),
            }),
        )
            .into_response(),
        Err(error) => failure(&error.to_string()),
    }
}
