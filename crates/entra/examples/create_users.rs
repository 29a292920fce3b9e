//! Benchmark (not a test): create 5,000 users in `$batch`es against the emulator under
//! Microsoft-level throttling (time scale 60) with 10 % injected 5xx, then check the tenant
//! holds exactly those 5,000 users — none lost, none twice — and print JSON with the wall time
//! and the emulator's request counters.
//!
//! `cargo run --release -p entra --example create_users`

use std::collections::HashSet;
use std::time::{Duration, Instant};

use engine::{Properties, RemoteKind, TargetError};
use entra::EntraTarget;
use futures::StreamExt;
use graph_emulator::{Emulator, EmulatorConfig, Knobs};
use msgraph::{ClientConfig, Credential, Endpoints, GraphClient, PacingConfig, RetryPolicy};
use serde_json::json;

const USERS: usize = 5_000;
const TIME_SCALE: f64 = 60.0;
/// Batches in flight at once.
const CONCURRENCY: usize = 12;

fn user(i: usize) -> Properties {
    let alias = format!("bench.user{i:05}");
    json!({"accountEnabled": true, "displayName": format!("Bench User {i}"), "mailNickname": alias,
           "userPrincipalName": format!("{alias}@contoso.onmicrosoft.com"),
           "passwordProfile": {"password": "Bench!Passw0rd-long-and-random", "forceChangePasswordNextSignIn": false}})
    .as_object()
    .cloned()
    .unwrap_or_default()
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let emu = Emulator::start(EmulatorConfig {
        time_scale: TIME_SCALE,
        knobs: Knobs {
            throttle: true,
            error_rate: 0.10,
            ..Knobs::default()
        },
        ..EmulatorConfig::default()
    })
    .await?;
    let graph = GraphClient::new(
        ClientConfig::new(
            Endpoints::custom(emu.login_url(), emu.base_url()),
            emu.tenant_id(),
            emu.client_id(),
            Credential::secret(emu.client_secret().unwrap_or_default()),
        )
        // Graph's pace, replayed at the emulator's clock speed.
        .with_pacing(PacingConfig::default().scaled(TIME_SCALE))
        .with_retry(RetryPolicy {
            base_delay: Duration::from_millis(50),
            max_delay: Duration::from_secs(10),
            ..RetryPolicy::default()
        })
        .with_timeout(Duration::from_secs(30)),
    )?;
    let target = EntraTarget::new(graph);
    let all: Vec<Properties> = (0..USERS).map(user).collect();

    let started = Instant::now();
    let mut todo: Vec<usize> = (0..USERS).collect();
    let mut passes = 0;
    let mut last_errors: Vec<String> = Vec::new();
    // Codes of the results that stayed transient and went to a later pass.
    let mut deferred: std::collections::BTreeMap<String, u64> = Default::default();
    // What the engine would do: items that stayed transient are tried again in a later pass.
    while !todo.is_empty() && passes < 5 {
        passes += 1;
        let chunks: Vec<Vec<usize>> = todo.chunks(20).map(<[usize]>::to_vec).collect();
        let target = &target;
        let all = &all;
        let outcomes: Vec<(usize, Result<(), TargetError>)> = futures::stream::iter(chunks)
            .map(|chunk| async move {
                let props: Vec<Properties> = chunk.iter().map(|&i| all[i].clone()).collect();
                let results = target.create_many(RemoteKind::User, &props).await;
                chunk
                    .into_iter()
                    .zip(results)
                    .map(|(i, r)| (i, r.map(drop)))
                    .collect::<Vec<_>>()
            })
            .buffer_unordered(CONCURRENCY)
            .flat_map(futures::stream::iter)
            .collect()
            .await;
        todo.clear();
        last_errors.clear();
        for (i, r) in outcomes {
            match r {
                Ok(()) => {}
                Err(TargetError::Transient { failure, .. }) => {
                    *deferred.entry(failure.code).or_default() += 1;
                    todo.push(i);
                }
                Err(e) => last_errors.push(format!("user {i}: {e}")),
            }
        }
    }
    let wall = started.elapsed();

    let dump = emu.dump();
    let upns: Vec<String> = dump["users"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|u| u["userPrincipalName"].as_str().map(str::to_lowercase))
                .collect()
        })
        .unwrap_or_default();
    let unique: HashSet<&String> = upns.iter().collect();
    let expected: HashSet<String> = all
        .iter()
        .filter_map(|p| p["userPrincipalName"].as_str().map(str::to_lowercase))
        .collect();
    let missing = expected.iter().filter(|u| !unique.contains(u)).count();
    let counters = emu.counters();
    let metrics = target.graph().metrics();
    let round_trips: u64 = metrics
        .requests
        .iter()
        .filter(|(route, _)| !route.ends_with("$batch item"))
        .flat_map(|(_, by_status)| by_status.values())
        .sum();
    let report = json!({
        "users_requested": USERS,
        "users_in_tenant": upns.len(),
        "distinct_upns": unique.len(),
        "missing": missing,
        "duplicates": upns.len() - unique.len(),
        "ok": upns.len() == USERS && unique.len() == USERS && missing == 0,
        "passes": passes,
        "unresolved": todo.len(),
        "deferred_to_next_pass": deferred,
        "errors": last_errors,
        "wall_ms": wall.as_millis() as u64,
        "emulated_seconds": wall.as_secs_f64() * TIME_SCALE,
        "time_scale": TIME_SCALE,
        "concurrency": CONCURRENCY,
        "emulator": counters,
        "client": {
            "requests_incl_batch_items": metrics.total_requests(),
            "http_round_trips": round_trips,
            "by_route": metrics.requests,
            "retries": metrics.retries,
            "throttled": metrics.throttled,
            "throttle_wait_ms": metrics.throttle_wait.as_millis() as u64,
            "pacing_wait_ms": metrics.pacing_wait.as_millis() as u64,
        },
    });
    println!("{}", serde_json::to_string_pretty(&report)?);
    emu.shutdown().await;
    if report["ok"] == json!(true) {
        Ok(())
    } else {
        Err("the tenant does not hold exactly the 5,000 users".into())
    }
}
