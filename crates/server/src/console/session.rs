//! Signing in and staying signed in. An admin token is exchanged for a session cookie
//! (HttpOnly, SameSite=Strict, Secure behind TLS, eight hours); the store keeps only its
//! SHA-256, and revoking the token ends the session. Every form carries its session's CSRF
//! token, and the sign-in form one of its own (a cookie it must match). Refused sign-ins are
//! slowed and counted with the API's refused tokens, per client address.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use axum::{
    Form,
    extract::{FromRequest, Request, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Redirect, Response},
};
use base64::Engine as _;
use rand::RngCore;
use serde::Deserialize;
use store::{Authentication, TokenKind};

use super::{Page, render};
use crate::AppState;

pub const SESSION_COOKIE: &str = "entrasync_session";
const SIGN_IN_COOKIE: &str = "entrasync_sign_in";
const SESSION_HOURS: i64 = 8;
/// How long a refused sign-in waits before it is answered: guessing gets slow.
const REFUSAL_DELAY: Duration = Duration::from_millis(400);

/// The session a request belongs to (set by [`require_session`]).
#[derive(Debug, Clone)]
pub struct Session {
    pub cookie: String,
    pub csrf: String,
}

fn random_secret() -> String {
    let mut bytes = [0_u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The value of cookie `name`.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

/// Whether the client reached us over TLS (a proxy in front says so).
fn over_tls(headers: &HeaderMap) -> bool {
    headers
        .get("x-forwarded-proto")
        .and_then(|value| value.to_str().ok())
        .is_some_and(|proto| proto.eq_ignore_ascii_case("https"))
}

fn set_cookie(headers: &HeaderMap, name: &str, value: &str, max_age: i64) -> HeaderValue {
    let secure = if over_tls(headers) { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{name}={value}; Path=/console; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("invalid=; Max-Age=0"))
}

/// Two secrets compared in constant time.
pub(super) fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0_u8, |diff, (x, y)| diff | (x ^ y))
            == 0
}

/// Console routes past sign-in: without an open session, to the sign-in page.
pub async fn require_session(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let Some(value) = cookie(request.headers(), SESSION_COOKIE).map(str::to_owned) else {
        return Redirect::to("/console/sign-in").into_response();
    };
    match state.store.console_session(&value).await {
        Ok(Some(open)) => {
            request.extensions_mut().insert(Session {
                cookie: value,
                csrf: open.csrf,
            });
            next.run(request).await
        }
        Ok(None) => Redirect::to("/console/sign-in").into_response(),
        Err(error) => super::failure(&error.to_string()),
    }
}

/// A posted form whose `csrf` field is its session's: only then does the handler run, with
/// the form's other fields.
pub struct CheckedForm(pub super::form::Fields);

impl<S: Send + Sync> FromRequest<S> for CheckedForm {
    type Rejection = Response;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let session = request.extensions().get::<Session>().cloned();
        let Ok(Form(mut fields)) =
            Form::<HashMap<String, String>>::from_request(request, state).await
        else {
            return Err(forbidden());
        };
        match (session, fields.remove("csrf")) {
            (Some(session), Some(sent)) if same(&session.csrf, &sent) => {
                Ok(Self(super::form::Fields::new(fields)))
            }
            _ => Err(forbidden()),
        }
    }
}

pub(super) fn forbidden() -> Response {
    let page = render(&super::Message {
        page: Page::anonymous(),
        title: "Refused".into(),
        message: "This form was not sent by this console (its security token is missing or \
                  stale). Open the page again and resend it."
            .into(),
        back: "/console".into(),
    });
    (StatusCode::FORBIDDEN, page).into_response()
}

#[derive(askama::Template)]
#[template(path = "console/sign_in.html")]
struct SignIn {
    page: Page,
    csrf: String,
    problem: Option<String>,
}

/// The sign-in page, with a fresh form token in a cookie of its own.
pub async fn sign_in_page(headers: HeaderMap) -> Response {
    sign_in_form(&headers, StatusCode::OK, None)
}

fn sign_in_form(headers: &HeaderMap, status: StatusCode, problem: Option<String>) -> Response {
    let csrf = random_secret();
    let mut response = (
        status,
        render(&SignIn {
            page: Page::anonymous(),
            csrf: csrf.clone(),
            problem,
        }),
    )
        .into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(headers, SIGN_IN_COOKIE, &csrf, 600),
    );
    response
}

#[derive(Deserialize)]
pub struct SignInForm {
    csrf: Option<String>,
    token: Option<String>,
}

pub async fn sign_in(State(state): State<AppState>, request: Request) -> Response {
    let headers = request.headers().clone();
    let address = crate::auth::client_address(&request);
    let Ok(Form(form)) = Form::<SignInForm>::from_request(request, &state).await else {
        return forbidden();
    };
    let expected = cookie(&headers, SIGN_IN_COOKIE);
    let genuine = matches!((expected, form.csrf.as_deref()), (Some(a), Some(b)) if same(a, b));
    if !genuine {
        return forbidden();
    }
    let token = form.token.unwrap_or_default();
    let refusal = match state
        .store
        .authenticate(token.trim(), TokenKind::Admin)
        .await
    {
        Ok(Authentication::Accepted(accepted)) => {
            return open_session(&state, &headers, accepted.id).await;
        }
        Ok(Authentication::Expired(_)) => "That token has expired.",
        Ok(Authentication::OtherKind { .. }) => {
            "That token does not open the console: sign in with an admin token."
        }
        Ok(Authentication::Unknown) => "That token is not valid.",
        Err(error) => return super::failure(&error.to_string()),
    };
    tokio::time::sleep(REFUSAL_DELAY).await;
    if let Some(wait) = state.sign_in_limiter.refuse(address, Instant::now()) {
        return sign_in_form(
            &headers,
            StatusCode::TOO_MANY_REQUESTS,
            Some(format!(
                "Too many refused sign-ins from this address; try again in {} s.",
                wait.as_secs()
            )),
        );
    }
    sign_in_form(&headers, StatusCode::UNAUTHORIZED, Some(refusal.to_owned()))
}

async fn open_session(state: &AppState, headers: &HeaderMap, token: uuid::Uuid) -> Response {
    let secret = random_secret();
    let expires_at = chrono::Utc::now() + chrono::Duration::hours(SESSION_HOURS);
    if let Err(error) = state
        .store
        .open_console_session(&secret, token, &random_secret(), expires_at)
        .await
    {
        return super::failure(&error.to_string());
    }
    tracing::info!(token = %token, "console sign-in");
    let mut response = Redirect::to("/console").into_response();
    let cookies = response.headers_mut();
    cookies.append(
        header::SET_COOKIE,
        set_cookie(headers, SESSION_COOKIE, &secret, SESSION_HOURS * 3600),
    );
    cookies.append(
        header::SET_COOKIE,
        set_cookie(headers, SIGN_IN_COOKIE, "", 0),
    );
    response
}

pub async fn sign_out(
    State(state): State<AppState>,
    axum::Extension(session): axum::Extension<Session>,
    headers: HeaderMap,
    _form: CheckedForm,
) -> Response {
    if let Err(error) = state.store.close_console_session(&session.cookie).await {
        return super::failure(&error.to_string());
    }
    let mut response = Redirect::to("/console/sign-in").into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(&headers, SESSION_COOKIE, "", 0),
    );
    response
}
