//! Users: the list (search by username or email, keyset pages), add, edit, delete.

use axum::{
    Extension,
    extract::{Path, Query, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use model::{NewUser, User, UserKind, UserPatch};
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use super::{PER_PAGE, attributes, attributes_text, not_found};
use crate::console::{
    Page, failure,
    form::{Fields, Problem, Refused, problem_for},
    message_page, render,
    session::{CheckedForm, Session},
};
use crate::{AppState, api, extract::from_value};

struct Row {
    id: Uuid,
    username: String,
    name: String,
    email: String,
    active: bool,
    kind: String,
}

#[derive(askama::Template)]
#[template(path = "console/users.html")]
struct List {
    page: Page,
    query: String,
    by_email: bool,
    users: Vec<Row>,
    next: Option<Uuid>,
}

#[derive(Deserialize)]
pub struct ListQuery {
    q: Option<String>,
    by: Option<String>,
    after: Option<Uuid>,
}

fn kind_name(kind: UserKind) -> String {
    serde_json::to_value(kind)
        .ok()
        .and_then(|value| value.as_str().map(str::to_owned))
        .unwrap_or_default()
}

pub async fn list(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Query(query): Query<ListQuery>,
) -> Response {
    let text = query.q.unwrap_or_default().trim().to_owned();
    let by_email = query.by.as_deref() == Some("email");
    let needle = Some(text.clone()).filter(|text| !text.is_empty());
    let filter = store::UserFilter {
        username: needle.clone().filter(|_| !by_email),
        email: needle.filter(|_| by_email),
        ..Default::default()
    };
    let page = match query.after {
        Some(after) => store::Page::after(after, PER_PAGE),
        None => store::Page::first(PER_PAGE),
    };
    let users = match state.store.list_users(&filter, page).await {
        Ok(users) => users,
        Err(error) => return failure(&error.to_string()),
    };
    let next = (users.len() == PER_PAGE as usize)
        .then(|| users.last().map(|user| user.id.as_uuid()))
        .flatten();
    render(&List {
        page: Page::of(&session),
        query: text,
        by_email,
        next,
        users: users
            .into_iter()
            .map(|user| Row {
                id: user.id.as_uuid(),
                username: user.username.to_string(),
                name: user.name,
                email: user.email.map(|e| e.to_string()).unwrap_or_default(),
                active: user.is_active,
                kind: kind_name(user.kind),
            })
            .collect(),
    })
    .into_response()
}

#[derive(askama::Template)]
#[template(path = "console/user.html")]
struct Form {
    page: Page,
    /// `None` for a user not yet created.
    id: Option<Uuid>,
    username: String,
    name: String,
    email: String,
    active: bool,
    kind: String,
    attributes: String,
    groups: Vec<(Uuid, String)>,
    more_groups: bool,
    problem: Option<Problem>,
    saved: bool,
}

impl Form {
    fn problem_for(&self, input: &str) -> Option<&str> {
        problem_for(&self.problem, input)
    }

    fn kinds(&self) -> Vec<String> {
        UserKind::ALL.into_iter().map(kind_name).collect()
    }

    fn blank(page: Page) -> Self {
        Self {
            page,
            id: None,
            username: String::new(),
            name: String::new(),
            email: String::new(),
            active: true,
            kind: kind_name(UserKind::default()),
            attributes: String::new(),
            groups: Vec::new(),
            more_groups: false,
            problem: None,
            saved: false,
        }
    }

    fn of(page: Page, user: User) -> Self {
        Self {
            id: Some(user.id.as_uuid()),
            username: user.username.to_string(),
            name: user.name,
            email: user.email.map(|e| e.to_string()).unwrap_or_default(),
            active: user.is_active,
            kind: kind_name(user.kind),
            attributes: attributes_text(&user.attributes),
            ..Self::blank(page)
        }
    }

    fn posted(page: Page, id: Option<Uuid>, fields: &Fields, problem: Problem) -> Self {
        Self {
            id,
            username: fields.text("username"),
            name: fields.text("name"),
            email: fields.text("email"),
            active: fields.checked("is_active"),
            kind: fields.text("kind"),
            attributes: fields.raw("attributes").to_owned(),
            problem: Some(problem),
            ..Self::blank(page)
        }
    }
}

/// The form as the API's JSON body (an empty email is none). A new user without a display
/// name gets its username's; an edited one gets what the box holds, so that clearing it is
/// refused by the API's rule rather than ignored.
fn body(fields: &Fields, editing: bool) -> Result<Value, Problem> {
    let name = if editing {
        Some(fields.text("name"))
    } else {
        fields.optional("name")
    };
    Ok(json!({
        "username": fields.text("username"),
        "name": name,
        "email": fields.optional("email"),
        "is_active": fields.checked("is_active"),
        "kind": fields.text("kind"),
        "attributes": attributes(fields.raw("attributes"))?,
    }))
}

pub async fn new_form(Extension(session): Extension<Session>) -> Response {
    render(&Form::blank(Page::of(&session))).into_response()
}

fn refused(
    session: &Session,
    id: Option<Uuid>,
    fields: &Fields,
    problem: Problem,
    status: StatusCode,
) -> Response {
    (
        status,
        render(&Form::posted(Page::of(session), id, fields, problem)),
    )
        .into_response()
}

pub async fn create(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    CheckedForm(fields): CheckedForm,
) -> Response {
    let created = async {
        let new: NewUser = from_value(body(&fields, false)?)?;
        state.store.create_user(new).await.map_err(Refused::from)
    };
    match created.await {
        Ok(user) => Redirect::to(&format!("/console/users/{}?saved=true", user.id)).into_response(),
        Err(Refused::Form(problem, status)) => refused(&session, None, &fields, problem, status),
        Err(Refused::Failure(detail)) => failure(&detail),
    }
}

/// The user named by `key` (id or username), or the page saying there is none.
async fn load(state: &AppState, session: &Session, key: &str) -> Result<User, Response> {
    match api::keys::resolve_user(&state.store, key).await {
        Ok(user) => Ok(user),
        Err(error) if error.status == StatusCode::NOT_FOUND => {
            Err(not_found(session, "user", "/console/users"))
        }
        Err(error) => Err(failure(&error.message)),
    }
}

#[derive(Deserialize)]
pub struct Saved {
    saved: Option<bool>,
}

pub async fn edit_form(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Path(user): Path<String>,
    Query(query): Query<Saved>,
) -> Response {
    let user = match load(&state, &session, &user).await {
        Ok(user) => user,
        Err(response) => return response,
    };
    let groups = match state
        .store
        .list_user_groups(user.id, store::Page::first(PER_PAGE))
        .await
    {
        Ok(groups) => groups,
        Err(error) => return failure(&error.to_string()),
    };
    let mut form = Form::of(Page::of(&session), user);
    form.more_groups = groups.len() == PER_PAGE as usize;
    form.groups = groups
        .into_iter()
        .map(|group| (group.id.as_uuid(), group.name.to_string()))
        .collect();
    form.saved = query.saved.unwrap_or(false);
    render(&form).into_response()
}

pub async fn save(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Path(user): Path<String>,
    CheckedForm(fields): CheckedForm,
) -> Response {
    let current = match load(&state, &session, &user).await {
        Ok(user) => user,
        Err(response) => return response,
    };
    let saved = async {
        let patch: UserPatch = from_value(body(&fields, true)?)?;
        state
            .store
            .update_user(current.id, patch)
            .await
            .map_err(Refused::from)
    };
    match saved.await {
        Ok(user) => Redirect::to(&format!("/console/users/{}?saved=true", user.id)).into_response(),
        Err(Refused::Form(problem, status)) => refused(
            &session,
            Some(current.id.as_uuid()),
            &fields,
            problem,
            status,
        ),
        Err(Refused::Failure(detail)) => failure(&detail),
    }
}

pub async fn delete(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Path(user): Path<String>,
    CheckedForm(fields): CheckedForm,
) -> Response {
    let user = match load(&state, &session, &user).await {
        Ok(user) => user,
        Err(response) => return response,
    };
    if let Err(problem) = fields.confirmed() {
        return message_page(
            &session,
            StatusCode::BAD_REQUEST,
            "Not deleted",
            problem.message,
            format!("/console/users/{}", user.id),
        );
    }
    match state.store.delete_user(user.id).await {
        Ok(()) => Redirect::to("/console/users").into_response(),
        Err(store::StoreError::NotFound { .. }) => not_found(&session, "user", "/console/users"),
        Err(error) => failure(&error.to_string()),
    }
}
