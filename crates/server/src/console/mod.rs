//! The web console under `/console`: server-rendered pages (askama templates, no script at
//! all), reading and acting through the same store and runner calls as the API. Every page
//! past sign-in needs a session (else: to sign-in), every form its CSRF token; answers carry
//! a strict Content-Security-Policy and may not be framed.

mod directory;
mod form;
mod mappings;
mod objects;
mod pages;
mod providers;
mod session;

use axum::{
    Router,
    extract::{DefaultBodyLimit, Request},
    http::{HeaderValue, Method, StatusCode, header},
    middleware::{self, Next},
    response::{Html, IntoResponse, Redirect, Response},
    routing::{MethodRouter, get, post},
};

use crate::AppState;

pub use session::SESSION_COOKIE;

/// What every page knows: whether someone is signed in, and the session's form token.
pub struct Page {
    pub signed_in: bool,
    pub csrf: String,
}

impl Page {
    pub fn anonymous() -> Self {
        Self {
            signed_in: false,
            csrf: String::new(),
        }
    }

    pub fn of(session: &session::Session) -> Self {
        Self {
            signed_in: true,
            csrf: session.csrf.clone(),
        }
    }
}

/// A page with a title and a sentence (refusals, outcomes of actions).
#[derive(askama::Template)]
#[template(path = "console/message.html")]
pub struct Message {
    pub page: Page,
    pub title: String,
    pub message: String,
    pub back: String,
}

/// A page with a sentence, answered with `status`.
pub fn message_page(
    session: &session::Session,
    status: StatusCode,
    title: &str,
    message: impl Into<String>,
    back: impl Into<String>,
) -> Response {
    (
        status,
        render(&Message {
            page: Page::of(session),
            title: title.into(),
            message: message.into(),
            back: back.into(),
        }),
    )
        .into_response()
}

/// A template as HTML; a template that cannot render is a page saying so.
pub fn render(template: &impl askama::Template) -> Html<String> {
    match template.render() {
        Ok(html) => Html(html),
        Err(error) => {
            tracing::error!(%error, "a console page could not be rendered");
            Html(
                "<!doctype html><title>entrasync</title><p>This page could not be shown.</p>"
                    .into(),
            )
        }
    }
}

/// Our own storage failed: said plainly, logged in full.
pub fn failure(detail: &str) -> Response {
    tracing::error!(error = %detail, "a console page failed");
    (
        StatusCode::SERVICE_UNAVAILABLE,
        render(&Message {
            page: Page::anonymous(),
            title: "Unavailable".into(),
            message: "The directory could not be reached; try again in a moment.".into(),
            back: "/console".into(),
        }),
    )
        .into_response()
}

/// The routes past sign-in: method, path template, handler. The router is built from this
/// table and the test that every route refuses a request without a session (and a form
/// without its token) walks [`protected_routes`], so a new route cannot forget either.
fn table() -> Vec<(Method, &'static str, MethodRouter<AppState>)> {
    vec![
        (Method::GET, "/console", get(pages::overview)),
        (
            Method::GET,
            "/console/providers/new",
            get(providers::new_form),
        ),
        (Method::POST, "/console/providers", post(providers::create)),
        (
            Method::GET,
            "/console/providers/{provider}",
            get(providers::edit_form),
        ),
        (
            Method::POST,
            "/console/providers/{provider}",
            post(providers::save),
        ),
        (
            Method::POST,
            "/console/providers/{provider}/sync",
            post(providers::sync_now),
        ),
        (
            Method::POST,
            "/console/providers/{provider}/plan",
            post(providers::plan_now),
        ),
        (
            Method::POST,
            "/console/providers/{provider}/pause",
            post(providers::pause),
        ),
        (
            Method::POST,
            "/console/providers/{provider}/resume",
            post(providers::resume),
        ),
        (
            Method::POST,
            "/console/providers/{provider}/approve",
            post(pages::approve),
        ),
        (
            Method::POST,
            "/console/providers/{provider}/reject",
            post(pages::reject),
        ),
        (
            Method::GET,
            "/console/providers/{provider}/runs",
            get(pages::runs),
        ),
        (Method::GET, "/console/runs/{run}", get(pages::run)),
        (Method::GET, "/console/runs/{run}/plan", get(pages::plan)),
        (
            Method::GET,
            "/console/runs/{run}/{export}",
            get(pages::export),
        ),
        (
            Method::GET,
            "/console/providers/{provider}/objects",
            get(objects::search),
        ),
        (
            Method::POST,
            "/console/providers/{provider}/objects/{kind}/{object}/sync",
            post(objects::sync_now),
        ),
        (Method::GET, "/console/mappings", get(mappings::list)),
        (
            Method::GET,
            "/console/mappings/new",
            get(mappings::new_form),
        ),
        (Method::POST, "/console/mappings", post(mappings::create)),
        (
            Method::GET,
            "/console/mappings/{mapping}",
            get(mappings::edit_form),
        ),
        (
            Method::POST,
            "/console/mappings/{mapping}",
            post(mappings::save),
        ),
        (
            Method::POST,
            "/console/mappings/{mapping}/delete",
            post(mappings::delete),
        ),
        (Method::GET, "/console/users", get(directory::users::list)),
        (
            Method::GET,
            "/console/users/new",
            get(directory::users::new_form),
        ),
        (
            Method::POST,
            "/console/users",
            post(directory::users::create),
        ),
        (
            Method::GET,
            "/console/users/{user}",
            get(directory::users::edit_form),
        ),
        (
            Method::POST,
            "/console/users/{user}",
            post(directory::users::save),
        ),
        (
            Method::POST,
            "/console/users/{user}/delete",
            post(directory::users::delete),
        ),
        (Method::GET, "/console/groups", get(directory::groups::list)),
        (
            Method::GET,
            "/console/groups/new",
            get(directory::groups::new_form),
        ),
        (
            Method::POST,
            "/console/groups",
            post(directory::groups::create),
        ),
        (
            Method::GET,
            "/console/groups/{group}",
            get(directory::groups::edit_form),
        ),
        (
            Method::POST,
            "/console/groups/{group}",
            post(directory::groups::save),
        ),
        (
            Method::POST,
            "/console/groups/{group}/delete",
            post(directory::groups::delete),
        ),
        (
            Method::POST,
            "/console/groups/{group}/members",
            post(directory::groups::add_member),
        ),
        (
            Method::POST,
            "/console/groups/{group}/members/{user}/remove",
            post(directory::groups::remove_member),
        ),
        (Method::GET, "/console/import", get(directory::import::form)),
        (
            Method::POST,
            "/console/import",
            post(directory::import::upload)
                .layer(DefaultBodyLimit::max(directory::import::MAX_FILE_BYTES)),
        ),
        (Method::POST, "/console/sign-out", post(session::sign_out)),
    ]
}

/// Every route past sign-in, as (method, path template).
pub fn protected_routes() -> Vec<(Method, &'static str)> {
    table()
        .into_iter()
        .map(|(method, path, _)| (method, path))
        .collect()
}

pub fn routes(state: AppState) -> Router<AppState> {
    let protected = table()
        .into_iter()
        .fold(Router::new(), |router, (_, path, handler)| {
            router.route(path, handler)
        })
        .layer(middleware::from_fn_with_state(
            state,
            session::require_session,
        ));
    Router::new()
        .route("/", get(|| async { Redirect::to("/console") }))
        .route(
            "/console/sign-in",
            get(session::sign_in_page).post(session::sign_in),
        )
        .route("/console/static/console.css", get(stylesheet))
        .merge(protected)
        .layer(middleware::from_fn(secure_headers))
}

async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=3600"),
        ],
        include_str!("../../static/console.css"),
    )
        .into_response()
}

/// No script may run, nothing may frame the console, nothing is cached or sniffed. Each
/// answer also says how long the server took to make it (`Server-Timing`), which a browser's
/// tools show and `entrasync bench console` reads.
async fn secure_headers(request: Request, next: Next) -> Response {
    let started = std::time::Instant::now();
    let mut response = next.run(request).await;
    let took = started.elapsed().as_secs_f64() * 1000.0;
    let headers = response.headers_mut();
    if let Ok(timing) = HeaderValue::from_str(&format!("app;dur={took:.3}")) {
        headers.insert("server-timing", timing);
    }
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; \
             frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}
