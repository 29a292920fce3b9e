//! Realism knobs applied to Graph traffic: latency with jitter, connection resets, hangs
//! (transport level, outer requests only) and 500/503/504 answers (per request, batch items
//! included, as Graph can fail single items of a batch).

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rand::Rng;

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
    let (delay, roll_hang, roll_reset) = {
        let mut rng = rand::rng();
        let jitter = if knobs.jitter_ms > 0 {
            rng.random_range(0..=knobs.jitter_ms)
        } else {
            0
        };
        (
            knobs.latency_ms + jitter,
            rng.random::<f64>() < knobs.hang_rate,
            rng.random::<f64>() < knobs.reset_rate,
        )
    };
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
    let pick = {
        let mut rng = rand::rng();
        (rng.random::<f64>() < rate).then(|| rng.random_range(0..3u8))
    };
    let Some(pick) = pick else {
        return next.run(req).await;
    };
    state.counters.faults.fetch_add(1, Ordering::Relaxed);
    let err = match pick {
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
    };
    err.into_response()
}
