//! The web console under `/console`: server-rendered pages (askama templates, no script at
//! all), reading and acting through the same store and runner calls as the API. Every page
//! past sign-in needs a session (else: to sign-in), every form its CSRF token; answers carry
//! a strict Content-Security-Policy and may not be framed.

mod objects;
mod pages;
mod session;

use axum::{
    Router,
    extract::Request,
    http::{HeaderValue, StatusCode, header},
    middleware::{self, Next},
    response::{Html, IntoResponse, Redirect, Response},
    routing::{get, post},
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

/// The routes past sign-in, as (method, path template): the test that every one of them
/// refuses a request without a session (and a form without its token) walks this list, and
/// [`routes`] builds the router from the same handlers.
pub const PROTECTED: &[(&str, &str)] = &[
    ("GET", "/console"),
    ("GET", "/console/providers/{provider}/runs"),
    ("GET", "/console/runs/{run}"),
    ("GET", "/console/runs/{run}/plan"),
    ("GET", "/console/runs/{run}/{export}"),
    ("GET", "/console/providers/{provider}/objects"),
    (
        "POST",
        "/console/providers/{provider}/objects/{kind}/{object}/sync",
    ),
    ("POST", "/console/providers/{provider}/approve"),
    ("POST", "/console/providers/{provider}/reject"),
    ("POST", "/console/sign-out"),
];

pub fn routes(state: AppState) -> Router<AppState> {
    let protected = Router::new()
        .route("/console", get(pages::overview))
        .route("/console/providers/{provider}/runs", get(pages::runs))
        .route("/console/runs/{run}", get(pages::run))
        .route("/console/runs/{run}/plan", get(pages::plan))
        .route("/console/runs/{run}/{export}", get(pages::export))
        .route(
            "/console/providers/{provider}/objects",
            get(objects::search),
        )
        .route(
            "/console/providers/{provider}/objects/{kind}/{object}/sync",
            post(objects::sync_now),
        )
        .route(
            "/console/providers/{provider}/approve",
            post(pages::approve),
        )
        .route("/console/providers/{provider}/reject", post(pages::reject))
        .route("/console/sign-out", post(session::sign_out))
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

/// No script may run, nothing may frame the console, nothing is cached or sniffed.
async fn secure_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
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
