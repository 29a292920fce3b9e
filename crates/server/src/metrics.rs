//! `/metrics` in Prometheus's text format. Counters the code increments as things happen (runs,
//! objects, HTTP requests), histograms (direct-sync lag, request durations), and gauges read at
//! each scrape from the store and this node's Graph clients (queues, health, last successful
//! sync, Graph requests and throttling). Labels are bounded: provider ids, kinds, outcomes,
//! route templates, statuses; never a user's name.

use std::sync::OnceLock;
use std::time::Instant;

use axum::{
    extract::{MatchedPath, Request, State},
    http::{HeaderValue, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::AppState;

/// The process's recorder, installed on first use (the metrics facade has one per process).
pub fn handle() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let builder = PrometheusBuilder::new()
            .set_buckets_for_metric(
                Matcher::Full("entrasync_direct_sync_lag_seconds".into()),
                &[0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0],
            )
            .and_then(|builder| {
                builder.set_buckets_for_metric(
                    Matcher::Full("entrasync_http_request_duration_seconds".into()),
                    &[0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0],
                )
            });
        let recorder = match builder {
            Ok(builder) => builder.build_recorder(),
            Err(error) => {
                tracing::warn!(%error, "metrics buckets could not be set; using summaries");
                PrometheusBuilder::new().build_recorder()
            }
        };
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("another metrics recorder is installed; /metrics shows only ours");
        }
        describe();
        handle
    })
}

fn describe() {
    use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    describe_counter!(
        "entrasync_runs_total",
        "Finished runs (full syncs and dry runs), by trigger and status."
    );
    describe_counter!(
        "entrasync_objects_total",
        "Objects reconciled, by kind and outcome."
    );
    describe_histogram!(
        "entrasync_direct_sync_lag_seconds",
        Unit::Seconds,
        "From a change being queued (within a feed interval of its commit) to Entra's answer, first tries of direct syncs."
    );
    describe_counter!(
        "entrasync_http_requests_total",
        "Requests to the admin API, SCIM and the rest, by route template and status."
    );
    describe_histogram!(
        "entrasync_http_request_duration_seconds",
        Unit::Seconds,
        "How long requests took to answer, by API."
    );
    describe_gauge!(
        "entrasync_queue_depth",
        "Queued work rows, by provider and lane."
    );
    describe_gauge!(
        "entrasync_queue_oldest_age_seconds",
        Unit::Seconds,
        "How long the oldest queued row of a provider and lane has been due."
    );
    describe_gauge!(
        "entrasync_last_successful_sync_timestamp_seconds",
        Unit::Seconds,
        "When the provider's last full sync that succeeded finished (Unix time)."
    );
    describe_gauge!(
        "entrasync_provider_health",
        "1 for the provider's current state (healthy, stopped, paused, dry_run, degraded, awaiting_approval), 0 for the others."
    );
    describe_gauge!(
        "entrasync_provider_info",
        "1, naming each provider's id and name."
    );
    describe_counter!(
        "entrasync_graph_requests_total",
        "Microsoft Graph requests this node sent, by provider, route and answer."
    );
    describe_counter!(
        "entrasync_graph_throttled_total",
        "Graph answers of 429 (throttled), by provider."
    );
    describe_counter!(
        "entrasync_graph_throttle_wait_seconds_total",
        Unit::Seconds,
        "Seconds spent waiting on Graph's throttling, by provider."
    );
}

/// Counts every request by API, route template (never the path itself: ids would make the
/// labels unbounded) and status.
pub async fn track(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |path| path.as_str().to_owned());
    let method = request.method().as_str().to_owned();
    let api = if route.starts_with("/scim/") {
        "scim"
    } else if route.starts_with("/api/") {
        "admin"
    } else {
        "other"
    };
    let started = Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    metrics::counter!("entrasync_http_requests_total", "api" => api, "route" => route, "method" => method, "status" => status)
        .increment(1);
    metrics::histogram!("entrasync_http_request_duration_seconds", "api" => api)
        .record(started.elapsed().as_secs_f64());
    response
}

/// The states `entrasync_provider_health` names.
const STATES: [&str; 6] = [
    "healthy",
    "stopped",
    "paused",
    "dry_run",
    "degraded",
    "awaiting_approval",
];

/// Reads the gauges that live in the store and in this node's Graph clients.
async fn refresh(state: &AppState) -> Result<(), store::StoreError> {
    let now = state.store.now().await?;
    let mut after = None;
    loop {
        let providers = state
            .store
            .list_providers(store::Page { after, limit: 100 })
            .await?;
        let Some(last) = providers.last() else {
            break;
        };
        after = Some(last.id.as_uuid());
        for provider in &providers {
            let id = provider.id.to_string();
            metrics::gauge!("entrasync_provider_info", "provider" => id.clone(), "name" => provider.name.clone()).set(1.0);
            for (lane, depth, oldest) in state.store.queue_by_lane(provider.id).await? {
                let age = oldest.map_or(0.0, |oldest| {
                    (now - oldest).to_std().map_or(0.0, |age| age.as_secs_f64())
                });
                metrics::gauge!("entrasync_queue_depth", "provider" => id.clone(), "lane" => lane.as_str())
                    .set(depth as f64);
                metrics::gauge!("entrasync_queue_oldest_age_seconds", "provider" => id.clone(), "lane" => lane.as_str())
                    .set(age);
            }
            if let Some(at) = state.store.last_successful_sync(provider.id).await? {
                metrics::gauge!("entrasync_last_successful_sync_timestamp_seconds", "provider" => id.clone())
                    .set(at.timestamp_micros() as f64 / 1e6);
            }
            let status = state
                .store
                .provider_state(provider.id)
                .await?
                .health(provider.settings.enabled, now);
            for name in STATES {
                metrics::gauge!("entrasync_provider_health", "provider" => id.clone(), "state" => name)
                    .set(if name == status { 1.0 } else { 0.0 });
            }
        }
    }
    if let Some(runner) = &state.runner {
        for usage in runner.graph_usage() {
            let id = usage.provider.to_string();
            for (route, outcomes) in &usage.metrics.requests {
                for (status, count) in outcomes {
                    metrics::counter!("entrasync_graph_requests_total", "provider" => id.clone(), "route" => route.clone(), "status" => status.clone())
                        .absolute(*count);
                }
            }
            metrics::counter!("entrasync_graph_throttled_total", "provider" => id.clone())
                .absolute(usage.metrics.throttled);
            metrics::counter!("entrasync_graph_throttle_wait_seconds_total", "provider" => id)
                .absolute(usage.metrics.throttle_wait.as_secs());
        }
    }
    Ok(())
}

/// `GET /metrics`.
pub async fn render(State(state): State<AppState>) -> Response {
    let handle = handle();
    if let Err(error) = refresh(&state).await {
        // The counters are still worth having; the gauges keep their last values.
        tracing::warn!(%error, "metrics from the store could not be read");
    }
    let mut response = (StatusCode::OK, handle.render()).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    response
}
