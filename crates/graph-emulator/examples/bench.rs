//! Loopback throughput of the emulator, with a trivial axum handler as the baseline measured by
//! the same client in the same run. Prints one JSON document.
//!
//! `cargo run --release -p graph-emulator --example bench [-- <seconds per round> <concurrency> <rounds>]`

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use graph_emulator::{Emulator, EmulatorConfig};
use serde_json::json;

type Error = Box<dyn std::error::Error + Send + Sync>;

type MakeRequest = Arc<dyn Fn() -> reqwest::RequestBuilder + Send + Sync>;

/// One benchmark case: a request builder run by `concurrency` workers for `secs`.
async fn measure(concurrency: usize, secs: f64, make: MakeRequest) -> Result<(f64, u64), Error> {
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (make, stop, done, failed) = (make.clone(), stop.clone(), done.clone(), failed.clone());
        tasks.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                match make().send().await {
                    Ok(r) if r.status().is_success() => {
                        let _ = r.bytes().await;
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                    _ => {
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_secs_f64(secs)).await;
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        t.await?;
    }
    let elapsed = started.elapsed().as_secs_f64();
    Ok((
        done.load(Ordering::Relaxed) as f64 / elapsed,
        failed.load(Ordering::Relaxed),
    ))
}

async fn baseline_server() -> Result<String, Error> {
    let app = axum::Router::new().route("/ping", axum::routing::get(|| async { "pong" }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(format!("http://{addr}/ping"))
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let mut args = std::env::args().skip(1);
    let secs: f64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(2.0);
    let concurrency: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(32);
    let rounds: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(3);

    let emu = Emulator::start(EmulatorConfig::default()).await?;
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .build()?;
    let token: serde_json::Value = http
        .post(emu.token_url())
        .form(&[
            ("client_id", emu.client_id()),
            ("client_secret", emu.client_secret().unwrap_or_default()),
            ("scope", "https://graph.microsoft.com/.default"),
            ("grant_type", "client_credentials"),
        ])
        .send()
        .await?
        .json()
        .await?;
    let token = token["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let users: Vec<serde_json::Value> = (0..1000)
        .map(|i| json!({"userPrincipalName": format!("bench{i}@contoso.onmicrosoft.com")}))
        .collect();
    let seeded = emu.seed(json!({ "users": users }))?;
    let user_id = seeded["users"][0]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();

    let ping = baseline_server().await?;
    let c = http.clone();
    let baseline: MakeRequest = Arc::new(move || c.get(&ping));
    let (c, t, url) = (
        http.clone(),
        token.clone(),
        format!("{}/users/{user_id}", emu.base_url()),
    );
    let get_user: MakeRequest = Arc::new(move || c.get(&url).bearer_auth(&t));
    let (c, t) = (http.clone(), token.clone());
    let url = format!("{}/users?$top=10&$select=id,displayName", emu.base_url());
    let list_users: MakeRequest = Arc::new(move || c.get(&url).bearer_auth(&t));
    let (c, t, url) = (
        http.clone(),
        token.clone(),
        format!("{}/users", emu.base_url()),
    );
    // UPNs must stay unique across rounds, so the sequence lives outside the workers.
    let seq = Arc::new(AtomicU64::new(0));
    let create_user: MakeRequest = Arc::new(move || {
        let i = seq.fetch_add(1, Ordering::Relaxed);
        c.post(&url).bearer_auth(&t).json(&json!({
            "accountEnabled": true, "displayName": format!("N {i}"), "mailNickname": format!("n{i}"),
            "userPrincipalName": format!("n{i}@contoso.onmicrosoft.com"),
            "passwordProfile": {"password": "Bench-Passw0rd!"}
        }))
    });
    let cases = [
        ("baseline_axum_plain_get", baseline),
        ("emulator_get_user_by_id", get_user),
        ("emulator_list_users_top10_select", list_users),
        ("emulator_create_user", create_user),
    ];
    // The machine is shared with other builds: interleave the cases over several rounds and
    // keep each case's best round, so a burst of foreign load hits all cases alike.
    let mut best = [0.0f64; 4];
    let mut failed = 0;
    for _ in 0..rounds {
        for (i, (_, make)) in cases.iter().enumerate() {
            let (rps, f) = measure(concurrency, secs, make.clone()).await?;
            best[i] = best[i].max(rps);
            failed += f;
        }
    }
    let mut results = serde_json::Map::new();
    for (i, (name, _)) in cases.iter().enumerate() {
        results.insert(format!("{name}_rps"), json!(best[i].round()));
    }
    let report = json!({
        "machine": { "cpus": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0) },
        "client": "reqwest 0.13, HTTP/1.1 keep-alive, same process and cores as the servers",
        "concurrency": concurrency,
        "seconds_per_round": secs,
        "rounds": rounds,
        "best_round_rps": results,
        "emulator_get_vs_baseline": (best[1] / best[0] * 100.0).round() / 100.0,
        "failed_requests": failed,
        "emulator_counters": emu.counters().requests,
    });
    println!("{}", serde_json::to_string_pretty(&report)?);
    emu.shutdown().await;
    Ok(())
}
