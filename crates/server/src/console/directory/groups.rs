//! Groups: the list (search by name, keyset pages), add, edit, delete, and their members (a
//! page at a time; add by username, remove).

use axum::{
    Extension,
    extract::{Path, Query, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use model::{Group, GroupPatch, NewGroup};
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use super::{PER_PAGE, attributes, attributes_text, not_found};
use crate::console::{
    Message, Page, failure,
    form::{Fields, Problem, Refused, problem_for},
    message_page, render,
    session::{CheckedForm, Session},
};
use crate::{AppState, api, extract::from_value};

#[derive(askama::Template)]
#[template(path = "console/groups.html")]
struct List {
    page: Page,
    query: String,
    groups: Vec<(Uuid, String)>,
    next: Option<Uuid>,
}

#[derive(Deserialize)]
pub struct ListQuery {
    q: Option<String>,
    after: Option<Uuid>,
}

fn page_of(after: Option<Uuid>) -> store::Page {
    match after {
        Some(after) => store::Page::after(after, PER_PAGE),
        None => store::Page::first(PER_PAGE),
    }
}

pub async fn list(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Query(query): Query<ListQuery>,
) -> Response {
    let text = query.q.unwrap_or_default().trim().to_owned();
    let filter = store::GroupFilter {
        name: Some(text.clone()).filter(|text| !text.is_empty()),
    };
    let groups = match state.store.list_groups(&filter, page_of(query.after)).await {
        Ok(groups) => groups,
        Err(error) => return failure(&error.to_string()),
    };
    let next = (groups.len() == PER_PAGE as usize)
        .then(|| groups.last().map(|group| group.id.as_uuid()))
        .flatten();
    render(&List {
        page: Page::of(&session),
        query: text,
        next,
        groups: groups
            .into_iter()
            .map(|group| (group.id.as_uuid(), group.name.to_string()))
            .collect(),
    })
    .into_response()
}

struct Member {
    id: Uuid,
    username: String,
    name: String,
}

#[derive(askama::Template)]
#[template(path = "console/group.html")]
struct Form {
    page: Page,
    /// `None` for a group not yet created.
    id: Option<Uuid>,
    name: String,
    attributes: String,
    member_count: i64,
    members: Vec<Member>,
    next_members: Option<Uuid>,
    member_problem: Option<Problem>,
    problem: Option<Problem>,
    saved: bool,
}

impl Form {
    fn problem_for(&self, input: &str) -> Option<&str> {
        problem_for(&self.problem, input)
    }

    fn blank(page: Page) -> Self {
        Self {
            page,
            id: None,
            name: String::new(),
            attributes: String::new(),
            member_count: 0,
            members: Vec::new(),
            next_members: None,
            member_problem: None,
            problem: None,
            saved: false,
        }
    }
}

fn body(fields: &Fields) -> Result<Value, Problem> {
    Ok(json!({
        "name": fields.text("name"),
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
    let form = Form {
        id,
        name: fields.text("name"),
        attributes: fields.raw("attributes").to_owned(),
        problem: Some(problem),
        ..Form::blank(Page::of(session))
    };
    (status, render(&form)).into_response()
}

pub async fn create(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    CheckedForm(fields): CheckedForm,
) -> Response {
    let created = async {
        let new: NewGroup = from_value(body(&fields)?)?;
        state.store.create_group(new).await.map_err(Refused::from)
    };
    match created.await {
        Ok(group) => {
            Redirect::to(&format!("/console/groups/{}?saved=true", group.id)).into_response()
        }
        Err(Refused::Form(problem, status)) => refused(&session, None, &fields, problem, status),
        Err(Refused::Failure(detail)) => failure(&detail),
    }
}

async fn load(state: &AppState, session: &Session, key: &str) -> Result<Group, Response> {
    match api::keys::resolve_group(&state.store, key).await {
        Ok(group) => Ok(group),
        Err(error) if error.status == StatusCode::NOT_FOUND => {
            Err(not_found(session, "group", "/console/groups"))
        }
        Err(error) => Err(failure(&error.message)),
    }
}

#[derive(Deserialize)]
pub struct GroupQuery {
    saved: Option<bool>,
    after: Option<Uuid>,
}

/// The group's page: its form and a page of its members.
async fn shown(
    state: &AppState,
    session: &Session,
    group: Group,
    after: Option<Uuid>,
) -> Result<Form, store::StoreError> {
    let members = state.store.list_members(group.id, page_of(after)).await?;
    let member_count = state.store.count_members(group.id).await?;
    let next_members = (members.len() == PER_PAGE as usize)
        .then(|| members.last().map(|user| user.id.as_uuid()))
        .flatten();
    Ok(Form {
        id: Some(group.id.as_uuid()),
        name: group.name.to_string(),
        attributes: attributes_text(&group.attributes),
        member_count,
        next_members,
        members: members
            .into_iter()
            .map(|user| Member {
                id: user.id.as_uuid(),
                username: user.username.to_string(),
                name: user.name,
            })
            .collect(),
        ..Form::blank(Page::of(session))
    })
}

pub async fn edit_form(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Path(group): Path<String>,
    Query(query): Query<GroupQuery>,
) -> Response {
    let group = match load(&state, &session, &group).await {
        Ok(group) => group,
        Err(response) => return response,
    };
    match shown(&state, &session, group, query.after).await {
        Ok(mut form) => {
            form.saved = query.saved.unwrap_or(false);
            render(&form).into_response()
        }
        Err(error) => failure(&error.to_string()),
    }
}

pub async fn save(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Path(group): Path<String>,
    CheckedForm(fields): CheckedForm,
) -> Response {
    let current = match load(&state, &session, &group).await {
        Ok(group) => group,
        Err(response) => return response,
    };
    let saved = async {
        let patch: GroupPatch = from_value(body(&fields)?)?;
        state
            .store
            .update_group(current.id, patch)
            .await
            .map_err(Refused::from)
    };
    match saved.await {
        Ok(group) => {
            Redirect::to(&format!("/console/groups/{}?saved=true", group.id)).into_response()
        }
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
    Path(group): Path<String>,
    CheckedForm(fields): CheckedForm,
) -> Response {
    let group = match load(&state, &session, &group).await {
        Ok(group) => group,
        Err(response) => return response,
    };
    if let Err(problem) = fields.confirmed() {
        return message_page(
            &session,
            StatusCode::BAD_REQUEST,
            "Not deleted",
            problem.message,
            format!("/console/groups/{}", group.id),
        );
    }
    match state.store.delete_group(group.id).await {
        Ok(()) => Redirect::to("/console/groups").into_response(),
        // A group in a provider's scope cannot go (checked inside the delete's transaction).
        Err(store::StoreError::InUse { message }) => (
            StatusCode::CONFLICT,
            render(&Message {
                page: Page::of(&session),
                title: "Still in use".into(),
                message,
                back: format!("/console/groups/{}", group.id),
            }),
        )
            .into_response(),
        Err(error) => failure(&error.to_string()),
    }
}

pub async fn add_member(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Path(group): Path<String>,
    CheckedForm(fields): CheckedForm,
) -> Response {
    let group = match load(&state, &session, &group).await {
        Ok(group) => group,
        Err(response) => return response,
    };
    let username = fields.text("username");
    let added = async {
        let user = api::keys::resolve_user(&state.store, &username)
            .await
            .map_err(|error| Refused::from(error.with_field("username")))?;
        state
            .store
            .add_members(group.id, &[user.id])
            .await
            .map_err(Refused::from)
    };
    match added.await {
        Ok(_) => Redirect::to(&format!("/console/groups/{}", group.id)).into_response(),
        Err(Refused::Form(problem, status)) => match shown(&state, &session, group, None).await {
            Ok(mut form) => {
                form.member_problem = Some(problem);
                (status, render(&form)).into_response()
            }
            Err(error) => failure(&error.to_string()),
        },
        Err(Refused::Failure(detail)) => failure(&detail),
    }
}

pub async fn remove_member(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Path((group, user)): Path<(String, String)>,
    _form: CheckedForm,
) -> Response {
    let group = match load(&state, &session, &group).await {
        Ok(group) => group,
        Err(response) => return response,
    };
    let user = match api::keys::resolve_user(&state.store, &user).await {
        Ok(user) => user,
        Err(error) if error.status == StatusCode::NOT_FOUND => {
            return not_found(&session, "user", &format!("/console/groups/{}", group.id));
        }
        Err(error) => return failure(&error.message),
    };
    match state.store.remove_members(group.id, &[user.id]).await {
        Ok(_) => Redirect::to(&format!("/console/groups/{}", group.id)).into_response(),
        Err(store::StoreError::NotFound { .. }) => not_found(&session, "group", "/console/groups"),
        Err(error) => failure(&error.to_string()),
    }
}
