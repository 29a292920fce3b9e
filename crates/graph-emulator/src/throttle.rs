//! Graph's identity throttling (graph-contract.md §7.2): per app+tenant token buckets of
//! resource units (S 3,500 / M 5,000 / L 8,000 per 10 s) and writes (3,000 per 150 s), the
//! tenant's write bucket that every app shares (18,000 per 5 min), request costs by method and
//! route, 429 with a fractional `Retry-After` and the throttle headers naming the scope that
//! refused; and 429 storms (`storm_rate`), refusals that no quota explains, with seconds of
//! `Retry-After`.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::auth::bearer::Caller;
use crate::config::TenantSize;
use crate::error::{GraphError, msg};
use crate::odata::Query;
use crate::state::AppState;

const RU_WINDOW_SECS: f64 = 10.0;
const WRITE_QUOTA: f64 = 3000.0;
const WRITE_WINDOW_SECS: f64 = 150.0;
/// Writes the tenant takes from all its apps together.
const TENANT_WRITE_QUOTA: f64 = 18_000.0;
const TENANT_WRITE_WINDOW_SECS: f64 = 300.0;

/// A token bucket in emulated time: full at start, refilled continuously.
#[derive(Debug, Clone)]
struct Bucket {
    capacity: f64,
    level: f64,
    per_sec: f64,
    last: f64,
}

impl Bucket {
    fn new(capacity: f64, window: f64, now: f64) -> Self {
        Self {
            capacity,
            level: capacity,
            per_sec: capacity / window,
            last: now,
        }
    }

    fn refill(&mut self, now: f64) {
        let elapsed = (now - self.last).max(0.0);
        self.level = (self.level + elapsed * self.per_sec).min(self.capacity);
        self.last = now;
    }

    /// Emulated seconds until `cost` fits, 0 when it fits now.
    fn wait_for(&self, cost: f64) -> f64 {
        if self.level >= cost {
            0.0
        } else {
            (cost - self.level) / self.per_sec
        }
    }

    fn resize(&mut self, capacity: f64, window: f64) {
        if (self.capacity - capacity).abs() > f64::EPSILON {
            // A bigger tenant gets the extra room at once; a smaller one loses it.
            self.level = (self.level + capacity - self.capacity).clamp(0.0, capacity);
            self.capacity = capacity;
            self.per_sec = capacity / window;
        }
    }
}

#[derive(Debug, Clone)]
struct AppBuckets {
    ru: Bucket,
    writes: Bucket,
}

/// Buckets per application id (the tenant is fixed), and the tenant's own.
#[derive(Debug, Default)]
pub struct Throttle {
    apps: HashMap<String, AppBuckets>,
    /// Made at the first write.
    tenant_writes: Option<Bucket>,
}

/// Which limit refused a request (what `x-ms-throttle-scope` names).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// The app+tenant pair's resource units.
    AppResourceUnits,
    /// The app+tenant pair's writes.
    AppWrites,
    /// The tenant's writes, shared by every app.
    TenantWrites,
}

/// What one request costs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cost {
    pub ru: u32,
    pub writes: u32,
}

/// Cost of a request by method, route template (as matched, with `/v1.0`) and query options.
pub fn cost(method: &Method, template: &str, query: &Query) -> Cost {
    let path = template.trim_start_matches("/v1.0/");
    let write = !matches!(*method, Method::GET | Method::HEAD);
    let base: i64 = match (write, path) {
        (false, "users") => 2,
        (false, "groups/{id}/members") => 3,
        _ => 1,
    };
    let mut ru = base;
    if query.select.is_some() {
        ru -= 1;
    }
    if query.expand {
        ru += 1;
    }
    if query.top.is_some_and(|t| t < 20) {
        ru -= 1;
    }
    Cost {
        ru: ru.max(1) as u32,
        writes: u32::from(write),
    }
}

/// Resource-unit quota per 10 s for a size class (Auto from the current user count).
pub fn ru_quota(size: TenantSize, users: usize) -> f64 {
    let size = match size {
        TenantSize::Auto if users < 50 => TenantSize::S,
        TenantSize::Auto if users <= 500 => TenantSize::M,
        TenantSize::Auto => TenantSize::L,
        s => s,
    };
    match size {
        TenantSize::S | TenantSize::Auto => 3500.0,
        TenantSize::M => 5000.0,
        TenantSize::L => 8000.0,
    }
}

/// The answer to one admission check.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// Admitted; the fraction of the RU quota consumed after this request.
    Admitted { used_fraction: f64 },
    /// Refused; emulated seconds to wait and which limit was hit.
    Throttled { wait: f64, limit: Limit },
}

impl Throttle {
    pub fn admit(&mut self, app: &str, cost: Cost, ru_capacity: f64, now: f64) -> Verdict {
        let b = self
            .apps
            .entry(app.to_owned())
            .or_insert_with(|| AppBuckets {
                ru: Bucket::new(ru_capacity, RU_WINDOW_SECS, now),
                writes: Bucket::new(WRITE_QUOTA, WRITE_WINDOW_SECS, now),
            });
        let tenant = self
            .tenant_writes
            .get_or_insert_with(|| Bucket::new(TENANT_WRITE_QUOTA, TENANT_WRITE_WINDOW_SECS, now));
        b.ru.resize(ru_capacity, RU_WINDOW_SECS);
        b.ru.refill(now);
        b.writes.refill(now);
        tenant.refill(now);
        let (ru, writes) = (f64::from(cost.ru), f64::from(cost.writes));
        let waits = [
            (b.ru.wait_for(ru), Limit::AppResourceUnits),
            (
                if writes > 0.0 {
                    b.writes.wait_for(writes)
                } else {
                    0.0
                },
                Limit::AppWrites,
            ),
            (
                if writes > 0.0 {
                    tenant.wait_for(writes)
                } else {
                    0.0
                },
                Limit::TenantWrites,
            ),
        ];
        // The limit that keeps the request out longest is the one named.
        if let Some((wait, limit)) = waits
            .into_iter()
            .filter(|(wait, _)| *wait > 0.0)
            .max_by(|a, b| a.0.total_cmp(&b.0))
        {
            return Verdict::Throttled { wait, limit };
        }
        b.ru.level -= ru;
        b.writes.level -= writes;
        tenant.level -= writes;
        Verdict::Admitted {
            used_fraction: 1.0 - b.ru.level / b.ru.capacity,
        }
    }

    pub fn reset(&mut self) {
        self.apps.clear();
        self.tenant_writes = None;
    }
}

/// Route-layer middleware (inside auth): charges the request, refuses it with 429 when over.
pub async fn throttle(State(state): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let template = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned())
        .unwrap_or_default();
    // The $batch envelope is free: each item is charged when it is dispatched.
    if template == "/v1.0/$batch" {
        return next.run(req).await;
    }
    let query = Query::parse(req.uri().query()).unwrap_or_default();
    let cost = cost(req.method(), &template, &query);
    let knobs = state.knobs();
    let app = req
        .extensions()
        .get::<Caller>()
        .map(|c| c.app_id.clone())
        .unwrap_or_default();
    if state.dice.roll(|r| r.chance(knobs.storm_rate)) {
        let retry = Duration::from_millis(knobs.storm_retry_after_ms).as_secs_f64();
        return throttled(&state, &app, retry.max(0.001), Limit::AppResourceUnits);
    }
    let mut used_fraction = 0.0;
    if knobs.throttle {
        let users = state.dir().live_users();
        let quota = ru_quota(knobs.tenant_size, users);
        let verdict = state.throttle().admit(&app, cost, quota, state.clock.now());
        match verdict {
            Verdict::Throttled { wait, limit } => {
                let retry = state.clock.to_real_secs(wait).max(0.001);
                return throttled(&state, &app, retry, limit);
            }
            Verdict::Admitted { used_fraction: f } => used_fraction = f,
        }
    }
    state
        .counters
        .resource_units
        .fetch_add(u64::from(cost.ru), Ordering::Relaxed);
    state
        .counters
        .writes
        .fetch_add(u64::from(cost.writes), Ordering::Relaxed);
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    h.insert("x-ms-resource-unit", HeaderValue::from(cost.ru));
    // Graph only sends the percentage once 80 % of the limit is consumed.
    if used_fraction > 0.8
        && let Ok(v) = HeaderValue::from_str(&format!("{used_fraction:.2}"))
    {
        h.insert("x-ms-throttle-limit-percentage", v);
    }
    resp
}

/// Graph's 429: `Retry-After` in (fractional) real seconds and the throttle headers, naming
/// the scope and the limit that refused (`<Scope>/<Limit>/<AppId>/<TenantId>`).
fn throttled(state: &AppState, app: &str, retry: f64, limit: Limit) -> Response {
    let (scope, kind, info) = match limit {
        Limit::AppResourceUnits => (
            "Tenant_Application",
            "ReadWrite",
            "ResourceUnitLimitExceeded",
        ),
        Limit::AppWrites => ("Tenant_Application", "Write", "WriteLimitExceeded"),
        Limit::TenantWrites => ("Tenant", "Write", "WriteLimitExceeded"),
    };
    let scope = format!("{scope}/{kind}/{app}/{}", state.config.tenant_id);
    GraphError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "TooManyRequests",
        msg::THROTTLED,
    )
    .with_header("Retry-After", &format!("{retry:.3}"))
    .with_header("x-ms-throttle-scope", &scope)
    .with_header("x-ms-throttle-information", info)
    .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn costs_follow_the_table() {
        let q = |s: &str| Query::parse(Some(s)).expect("query");
        let none = Query::default();
        assert_eq!(
            cost(&Method::GET, "/v1.0/users", &none),
            Cost { ru: 2, writes: 0 }
        );
        assert_eq!(cost(&Method::GET, "/v1.0/users", &q("$select=id")).ru, 1);
        assert_eq!(cost(&Method::GET, "/v1.0/groups/{id}/members", &none).ru, 3);
        assert_eq!(
            cost(
                &Method::GET,
                "/v1.0/groups/{id}/members",
                &q("$top=5&$select=id")
            )
            .ru,
            1
        );
        assert_eq!(
            cost(&Method::POST, "/v1.0/users", &none),
            Cost { ru: 1, writes: 1 }
        );
        assert_eq!(
            cost(&Method::GET, "/v1.0/users/{id}", &q("$select=id")).ru,
            1
        );
    }

    #[test]
    fn write_quota_refuses_the_3001st_write_and_refills() {
        let mut t = Throttle::default();
        let w = Cost { ru: 1, writes: 1 };
        for _ in 0..3000 {
            // Plenty of RU so only the write quota can bite.
            assert!(matches!(
                t.admit("a", w, 1e9, 0.0),
                Verdict::Admitted { .. }
            ));
        }
        match t.admit("a", w, 1e9, 0.0) {
            Verdict::Throttled { wait, limit } => {
                assert_eq!(limit, Limit::AppWrites);
                assert!(
                    (wait - 0.05).abs() < 1e-9,
                    "one write refills in 150/3000 s"
                );
            }
            v => panic!("expected throttling, got {v:?}"),
        }
        assert!(matches!(
            t.admit("a", w, 1e9, 0.05),
            Verdict::Admitted { .. }
        ));
        assert!(
            matches!(t.admit("b", w, 1e9, 0.05), Verdict::Admitted { .. }),
            "per app"
        );
    }

    #[test]
    fn the_tenant_takes_18000_writes_in_5_minutes_from_all_its_apps() {
        let mut t = Throttle::default();
        let w = Cost { ru: 1, writes: 1 };
        // Seven apps of 3,000 writes each would be 21,000: the tenant stops them at 18,000.
        let mut admitted = 0;
        for app in 0..7 {
            for _ in 0..3000 {
                if matches!(
                    t.admit(&format!("app{app}"), w, 1e9, 0.0),
                    Verdict::Admitted { .. }
                ) {
                    admitted += 1;
                }
            }
        }
        assert_eq!(admitted, 18_000);
        match t.admit("app9", w, 1e9, 0.0) {
            Verdict::Throttled { wait, limit } => {
                assert_eq!(
                    limit,
                    Limit::TenantWrites,
                    "a fresh app meets the tenant's limit"
                );
                assert!((wait - 300.0 / 18_000.0).abs() < 1e-9, "{wait}");
            }
            v => panic!("expected throttling, got {v:?}"),
        }
        assert!(
            matches!(
                t.admit("app9", Cost { ru: 1, writes: 0 }, 1e9, 0.0),
                Verdict::Admitted { .. }
            ),
            "reads are not the tenant's write limit"
        );
    }

    #[test]
    fn tenant_size_sets_the_ru_quota() {
        assert_eq!(ru_quota(TenantSize::Auto, 10), 3500.0);
        assert_eq!(ru_quota(TenantSize::Auto, 100), 5000.0);
        assert_eq!(ru_quota(TenantSize::Auto, 501), 8000.0);
        assert_eq!(ru_quota(TenantSize::S, 10_000), 3500.0);
    }
}
