//! Realism knobs applied to Graph traffic: latency with jitter, connection resets, hangs
//! (transport level, outer requests only) and 500/503/504 answers (per request, batch items
//! included, as Graph can fail single items of a batch), all before the handler runs; and
//! post-write faults, where the write is applied and then its answer is lost.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::GraphError;
use crate::state::AppState;

/// Marks a request dispatched from inside `$batch` (no transport faults, no added latency).
#[derive(Debug, Clone, Copy)]
pub struct BatchItem;

/// A response whose body fails immediately: hyper aborts the connection, and the client sees
/// a reset / incomplete message instead of an answer.
fn connection_reset() -> Response {
    let stream = futures::stream::once(async {
        Err::<axum::body::Bytes, std::io::Error>(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "emulated connection reset",
        ))
    });
    let mut resp = Response::new(Body::from_stream(stream));
    *resp.status_mut() = StatusCode::OK;
    resp
}

/// Outer layer on Graph routes: latency, then maybe a hang or a reset.
pub async fn transport(State(state): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    if req.extensions().get::<BatchItem>().is_some() {
        return next.run(req).await;
    }
    let knobs = state.knobs();
    let (delay, roll_hang, roll_reset) = state.dice.roll(|r| {
        (
            knobs.latency_ms.saturating_add(r.up_to(knobs.jitter_ms)),
            r.chance(knobs.hang_rate),
            r.chance(knobs.reset_rate),
        )
    });
    if delay > 0 {
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }
    if roll_hang {
        state.counters.faults.fetch_add(1, Ordering::Relaxed);
        tokio::time::sleep(Duration::from_millis(knobs.hang_ms)).await;
        return connection_reset();
    }
    if roll_reset {
        state.counters.faults.fetch_add(1, Ordering::Relaxed);
        return connection_reset();
    }
    next.run(req).await
}

/// Route layer: answers a share of requests with a transient server error.
pub async fn server_errors(
    State(state): State<Arc<AppState>>,
    req: Request,
    next: Next,
) -> Response {
    let rate = state.knobs().error_rate;
    if rate <= 0.0 {
        return next.run(req).await;
    }
    let pick = state
        .dice
        .roll(|r| r.chance(rate).then(|| r.below(SERVER_ERRORS)));
    let Some(pick) = pick else {
        return next.run(req).await;
    };
    state.counters.faults.fetch_add(1, Ordering::Relaxed);
    server_error(pick).into_response()
}

/// How many kinds of transient server error [`server_error`] can pick from.
const SERVER_ERRORS: u64 = 3;

/// The transient server errors Graph answers (500, 503 with `Retry-After`, 504), by index.
fn server_error(pick: u64) -> GraphError {
    match pick {
        0 => GraphError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "generalException",
            "General exception while processing.",
        ),
        1 => GraphError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "serviceNotAvailable",
            "The service is temporarily unavailable. Please retry later.",
        )
        .with_header("Retry-After", "1"),
        _ => GraphError::new(
            StatusCode::GATEWAY_TIMEOUT,
            "UnknownError",
            "The gateway did not receive a timely response from the upstream server.",
        ),
    }
}

/// Does this request change the directory? `POST`, `PATCH`, `PUT` and `DELETE` on Graph
/// routes, except the `$batch` envelope itself (its items are dispatched one by one and
/// judged on their own).
fn is_write(req: &Request) -> bool {
    let writes = matches!(
        *req.method(),
        Method::POST | Method::PATCH | Method::PUT | Method::DELETE
    );
    let envelope = req
        .extensions()
        .get::<MatchedPath>()
        .is_some_and(|m| m.as_str() == "/v1.0/$batch");
    writes && !envelope
}

/// How the answer of an applied write is lost.
#[derive(Debug, Clone, Copy)]
enum LostAnswer {
    /// A 500, 503 or 504 (by [`server_error`] index).
    ServerError(u64),
    /// The connection is cut at once.
    Reset,
    /// Nothing comes back for `hang_ms`, then the connection is cut (the client times out).
    HangThenReset,
}

impl LostAnswer {
    /// Outer requests can lose their answer in transport too; a `$batch` item can only come
    /// back as a failed item, since the envelope still arrives.
    fn pick(roll: &mut crate::dice::Roll<'_>, outer: bool) -> Self {
        let kinds = if outer {
            SERVER_ERRORS + 2
        } else {
            SERVER_ERRORS
        };
        match roll.below(kinds) {
            n if n < SERVER_ERRORS => LostAnswer::ServerError(n),
            n if n == SERVER_ERRORS => LostAnswer::Reset,
            _ => LostAnswer::HangThenReset,
        }
    }
}

/// Innermost route layer: runs a write, and for a share of the writes that succeeded, throws
/// the answer away and fails instead. Real Graph does this: a write is committed, then the
/// gateway times out or the connection drops, and the client cannot tell it from a write that
/// never happened. Only successful writes are picked, so each one counted in
/// `postWriteFaults` is a change that was applied although its caller saw a failure.
pub async fn after_write(State(state): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    if !is_write(&req) {
        return next.run(req).await;
    }
    let knobs = state.knobs();
    let outer = req.extensions().get::<BatchItem>().is_none();
    let resp = next.run(req).await;
    if !resp.status().is_success() {
        return resp;
    }
    let lost = state.dice.roll(|r| {
        r.chance(knobs.post_write_fault_rate)
            .then(|| LostAnswer::pick(r, outer))
    });
    let Some(lost) = lost else {
        return resp;
    };
    state
        .counters
        .post_write_faults
        .fetch_add(1, Ordering::Relaxed);
    match lost {
        LostAnswer::ServerError(n) => server_error(n).into_response(),
        LostAnswer::Reset => connection_reset(),
        LostAnswer::HangThenReset => {
            tokio::time::sleep(Duration::from_millis(knobs.hang_ms)).await;
            connection_reset()
        }
    }
}
