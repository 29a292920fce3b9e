//! Finding one user or group (by name, email or Entra object id): its link, how its last sync
//! went and why it failed; and syncing it alone now, showing every exchange with Entra
//! (documents with their passwords hidden, as the API shows them).

use axum::{
    Extension,
    extract::{Path, Query, State},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use engine::{Item, LinksRead, RemoteId, RemoteKind};
use model::{GroupId, ProviderId, UserId};
use serde::Deserialize;
use uuid::Uuid;

use super::{
    Message, Page, failure,
    mappings::{Tried, describe},
    render,
    session::{CheckedForm, Session},
};
use crate::{AppState, api};

/// The most matches one search shows.
const MATCHES: u32 = 25;
/// The matches whose mapped document is shown.
const MAPPED_SHOWN: usize = 3;

struct Found {
    kind: &'static str,
    id: Uuid,
    name: String,
    remote: Option<String>,
    status: String,
    outcome: Option<String>,
    when: String,
    error: Option<String>,
    /// The SCIM client that created it, if one did.
    scim_client: Option<String>,
    /// What the provider's mappings make of it now.
    mapped: Tried,
}

#[derive(askama::Template)]
#[template(path = "console/objects.html")]
struct Objects {
    page: Page,
    provider: String,
    provider_id: ProviderId,
    query: String,
    searched: bool,
    found: Vec<Found>,
}

#[derive(Deserialize)]
pub struct Search {
    q: Option<String>,
}

fn provider_id(text: &str) -> Option<ProviderId> {
    text.parse::<Uuid>().ok().map(ProviderId::from_uuid)
}

fn missing(session: &Session) -> Response {
    (
        StatusCode::NOT_FOUND,
        render(&Message {
            page: Page::of(session),
            title: "Not found".into(),
            message: "There is no such provider or object here.".into(),
            back: "/console".into(),
        }),
    )
        .into_response()
}

pub async fn search(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Path(provider): Path<String>,
    Query(search): Query<Search>,
) -> Response {
    let Some(id) = provider_id(&provider) else {
        return missing(&session);
    };
    let provider = match state.store.get_provider(id).await {
        Ok(provider) => provider,
        Err(_) => return missing(&session),
    };
    let query = search.q.unwrap_or_default().trim().to_owned();
    let found = if query.is_empty() {
        Vec::new()
    } else {
        match matches(&state, &provider, &query).await {
            Ok(found) => found,
            Err(error) => return failure(&error),
        }
    };
    render(&Objects {
        page: Page::of(&session),
        provider: provider.name,
        provider_id: id,
        searched: !query.is_empty(),
        query,
        found,
    })
    .into_response()
}

/// Users whose username or email, and groups whose name, hold `query`; and the objects linked
/// to an Entra object of that id.
async fn matches(
    state: &AppState,
    provider: &model::Provider,
    query: &str,
) -> Result<Vec<Found>, String> {
    let store = &state.store;
    let provider_id = provider.id;
    let page = store::Page::first(MATCHES);
    let mut objects: Vec<(RemoteKind, Uuid, String)> = Vec::new();
    for filter in [
        store::UserFilter {
            username: Some(query.to_owned()),
            ..Default::default()
        },
        store::UserFilter {
            email: Some(query.to_owned()),
            ..Default::default()
        },
    ] {
        for user in store
            .list_users(&filter, page)
            .await
            .map_err(|e| e.to_string())?
        {
            objects.push((
                RemoteKind::User,
                user.id.as_uuid(),
                user.username.as_str().to_owned(),
            ));
        }
    }
    let groups = store
        .list_groups(
            &store::GroupFilter {
                name: Some(query.to_owned()),
            },
            page,
        )
        .await
        .map_err(|e| e.to_string())?;
    for group in groups {
        objects.push((
            RemoteKind::Group,
            group.id.as_uuid(),
            group.name.as_str().to_owned(),
        ));
    }
    // A directory id finds its object.
    if let Ok(id) = query.parse::<Uuid>() {
        if let Ok(user) = store.get_user(UserId::from_uuid(id)).await {
            objects.push((RemoteKind::User, id, user.username.as_str().to_owned()));
        }
        if let Ok(group) = store.get_group(GroupId::from_uuid(id)).await {
            objects.push((RemoteKind::Group, id, group.name.as_str().to_owned()));
        }
    }
    for kind in [RemoteKind::User, RemoteKind::Group] {
        if let Some(link) = store
            .link_to_remote(provider_id, kind, &RemoteId::new(query))
            .await
            .map_err(|e| e.to_string())?
        {
            let name = match kind {
                RemoteKind::User => store
                    .get_user(UserId::from_uuid(link.object))
                    .await
                    .map(|u| u.username.as_str().to_owned()),
                RemoteKind::Group => store
                    .get_group(GroupId::from_uuid(link.object))
                    .await
                    .map(|g| g.name.as_str().to_owned()),
            }
            .unwrap_or_else(|_| link.object.to_string());
            objects.push((kind, link.object, name));
        }
    }
    objects.sort_by_key(|(kind, id, _)| (kind.as_str(), *id));
    objects.dedup_by_key(|(kind, id, _)| (kind.as_str(), *id));
    let mut found = Vec::new();
    for (kind, id, name) in objects.into_iter().take(MATCHES as usize) {
        let link = store
            .link(provider_id, kind, id)
            .await
            .map_err(|e| e.to_string())?;
        // Evaluating mappings is CPU work (up to a second each): for the first few only.
        let mapped = if found.len() < MAPPED_SHOWN {
            mapped_now(state, provider, kind, id).await
        } else {
            Tried::Skip(format!(
                "open this {} alone (search for its id) to see its document",
                kind.as_str()
            ))
        };
        let recorded = store
            .object_state(provider_id, kind, id)
            .await
            .map_err(|e| e.to_string())?;
        let scim_client = match kind {
            RemoteKind::User => store
                .scim_user_records(&[UserId::from_uuid(id)])
                .await
                .map_err(|e| e.to_string())?
                .into_values()
                .next(),
            RemoteKind::Group => store
                .scim_group_records(&[GroupId::from_uuid(id)])
                .await
                .map_err(|e| e.to_string())?
                .into_values()
                .next(),
        }
        .and_then(|record| record.client);
        found.push(Found {
            mapped,
            scim_client,
            kind: kind.as_str(),
            id,
            name,
            remote: link.map(|link| link.remote_id.as_str().to_owned()),
            status: recorded.as_ref().map_or_else(
                || "never synced".to_owned(),
                |r| r.status.as_str().to_owned(),
            ),
            outcome: recorded.as_ref().map(|r| r.outcome.clone()),
            when: recorded.as_ref().map_or_else(String::new, |r| {
                r.last_attempt_at
                    .format("%Y-%m-%d %H:%M:%S UTC")
                    .to_string()
            }),
            error: recorded.and_then(|r| {
                r.error_message
                    .map(|message| match (r.error_code, r.request_id) {
                        (Some(code), Some(request)) => {
                            format!("{code}: {message} (request {request})")
                        }
                        (Some(code), None) => format!("{code}: {message}"),
                        _ => message,
                    })
            }),
        });
    }
    Ok(found)
}

/// The provider's mappings evaluated on the object now, as its next sync would (through the
/// same "try it" the API offers; nothing is written).
async fn mapped_now(
    state: &AppState,
    provider: &model::Provider,
    kind: RemoteKind,
    object: Uuid,
) -> Tried {
    let settings = &provider.settings;
    let ids = match kind {
        RemoteKind::User => &settings.user_mappings,
        RemoteKind::Group => &settings.group_mappings,
    };
    // The context a sync gives mappings: the provider's settings, under its name.
    let mut context = serde_json::to_value(settings).unwrap_or_default();
    if let Some(fields) = context.as_object_mut() {
        fields.insert("name".into(), provider.name.clone().into());
    }
    let test = api::mappings::MappingTest {
        mappings: ids.iter().map(|id| id.to_string()).collect(),
        expression: None,
        user: (kind == RemoteKind::User).then(|| object.to_string()),
        group: (kind == RemoteKind::Group).then(|| object.to_string()),
        provider: Some(context),
        link: None,
    };
    if test.mappings.is_empty() {
        return Tried::Skip("the provider has no mappings of this kind".into());
    }
    match api::mappings::try_mappings(state, test).await {
        Ok(report) => describe(report).0,
        // Our own failure is logged where it happened; the page only says so.
        Err(error) if error.status.is_server_error() => {
            Tried::Error("the document could not be made just now".into())
        }
        Err(error) => Tried::Error(error.message),
    }
}

#[derive(askama::Template)]
#[template(path = "console/synced.html")]
struct Synced {
    page: Page,
    provider_id: ProviderId,
    kind: String,
    name: String,
    outcome: String,
    error: Option<String>,
    exchanges: Vec<(String, Option<String>, String)>,
}

fn pretty(value: &serde_json::Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_default()
}

pub async fn sync_now(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Path((provider, kind, object)): Path<(String, String, String)>,
    _form: CheckedForm,
) -> Response {
    let (Some(provider), Ok(object)) = (provider_id(&provider), object.parse::<Uuid>()) else {
        return missing(&session);
    };
    let (item, name) = match kind.as_str() {
        "user" => match state.store.get_user(UserId::from_uuid(object)).await {
            Ok(user) => (Item::User(user.id), user.username.as_str().to_owned()),
            Err(_) => return missing(&session),
        },
        "group" => match state.store.get_group(GroupId::from_uuid(object)).await {
            Ok(group) => (Item::Group(group.id), group.name.as_str().to_owned()),
            Err(_) => return missing(&session),
        },
        _ => return missing(&session),
    };
    let Some(runner) = &state.runner else {
        return failure("this node runs no sync workers");
    };
    match runner.sync_object(provider, item).await {
        Ok(done) => render(&Synced {
            page: Page::of(&session),
            provider_id: provider,
            kind,
            name,
            outcome: done.outcome.as_ref().map_or_else(
                || "not finished".to_owned(),
                |outcome| outcome.kind().to_string(),
            ),
            error: done.error,
            exchanges: done
                .exchanges
                .iter()
                .map(|exchange| {
                    (
                        exchange.request.clone(),
                        exchange.sent.as_ref().map(pretty),
                        pretty(&exchange.answer),
                    )
                })
                .collect(),
        })
        .into_response(),
        Err(error) => (
            StatusCode::CONFLICT,
            render(&Message {
                page: Page::of(&session),
                title: "Not synced".into(),
                message: error.to_string(),
                back: format!("/console/providers/{provider}/objects?q={object}"),
            }),
        )
            .into_response(),
    }
}
