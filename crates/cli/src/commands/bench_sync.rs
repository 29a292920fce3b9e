//! `entrasync bench sync`: the Entra ID provider against the Graph emulator (run as a child
//! process, with Microsoft-level throttling on a compressed clock), printing JSON:
//! - the initial full sync of a generated directory (10,000 users, 500 groups, 50,000
//!   memberships by default): write requests against the floor (one per object, one per 20
//!   members) and against a one-call-per-object-and-member client, time, peak memory;
//! - a second full sync with nothing changed: writes (zero) and reads against the pages there are;
//! - direct-sync latency from the API write to the emulator receiving the request (idle system,
//!   no throttling): p50 and p99.

use std::{
    net::TcpListener,
    process::{ExitCode, Stdio},
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use clap::Args;
use model::{ProviderId, ProviderSettings, Schedule};
use runner::{GraphOverride, Quiet, Runner, RunnerOptions};
use serde_json::{Value, json};
use server::{AppState, app, bootstrap_admin_token, install_default_mappings};
use store::{ProviderCredential, Store};

use super::bench::{current_rss_mib, peak_rss_mib};
use super::bench_directory::{DOMAIN, SampleDirectory};
use super::bench_stats::{percentiles, round};

#[derive(Args)]
pub struct BenchSync {
    #[arg(long, default_value_t = 10_000)]
    users: u64,
    #[arg(long, default_value_t = 500)]
    groups: u64,
    #[arg(long, default_value_t = 50_000)]
    memberships: u64,
    /// How much faster than real time the emulator's throttling clock runs.
    #[arg(long, default_value_t = 60.0)]
    time_scale: f64,
    /// Tenant size for the emulator's throttling (s, m or l).
    #[arg(long, default_value = "m")]
    tenant_size: String,
    /// Direct syncs timed one after another.
    #[arg(long, default_value_t = 200)]
    latency_samples: usize,
}

pub async fn bench_sync(args: BenchSync) -> anyhow::Result<ExitCode> {
    let dir = tempfile::tempdir().context("temporary directory")?;
    let emulator = EmulatorProcess::start(&args).await?;
    let store = Store::connect(&format!(
        "sqlite://{}",
        dir.path().join("bench.db").display()
    ))
    .await?;
    install_default_mappings(&store).await?;
    let token = bootstrap_admin_token(&store, None)
        .await?
        .context("a new database gets a token")?;
    let started = Instant::now();
    fill_directory(&store, &args).await?;
    let fill_seconds = started.elapsed().as_secs_f64();

    let (secret_key, _) = store::SecretKey::generate()?;
    let secret_key = Arc::new(secret_key);
    let provider = store
        .create_provider(
            "bench",
            settings(&store, &emulator.tenant_id, &emulator.client_id).await?,
            &ProviderCredential::ClientSecret(emulator.client_secret.clone().into()),
            &secret_key,
            ProviderId::new(),
        )
        .await?;
    let runner = Arc::new(Runner::new(
        store.clone(),
        secret_key.clone(),
        Some(GraphOverride {
            login_url: emulator.url.clone(),
            graph_url: format!("{}/v1.0", emulator.url),
            time_scale: args.time_scale,
        }),
        RunnerOptions::default(),
        "bench",
    ));

    // 1. The initial full sync (queued by the provider's creation).
    let rss_before = current_rss_mib();
    let before = emulator.counters().await?;
    let clock = Instant::now();
    let first = runner
        .full_sync_once(&Quiet)
        .await?
        .context("the provider's creation queued a full sync")?;
    let first_seconds = clock.elapsed().as_secs_f64();
    let after_first = emulator.counters().await?;
    let peak_rss = peak_rss_mib();
    let state = emulator.state().await?;
    let remote_users = state["users"].as_array().map_or(0, Vec::len) as u64;
    let remote_groups = state["groups"].as_array().map_or(0, Vec::len) as u64;
    let remote_members: u64 = state["groups"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|g| g["members"].as_array().map_or(0, Vec::len) as u64)
        .sum();
    let writes = delta(&after_first, &before, "writes");
    let floor = args.users + args.groups + member_requests_floor(&store).await?;
    let naive = args.users + args.groups + args.memberships;

    // 2. A dry run of the synced tenant: what planning costs, beside the full sync below
    // that reads the same and writes nothing.
    let clock = Instant::now();
    let plan = runner
        .plan(provider.id, model::Trigger::Manual, &Quiet)
        .await?;
    let plan_seconds = clock.elapsed().as_secs_f64();
    let after_plan = emulator.counters().await?;
    let plan_reads = delta(&after_plan, &after_first, "requests")
        - delta(&after_plan, &after_first, "writes")
        - delta(&after_plan, &after_first, "tokensIssued");

    // 3. Nothing changed: a second full sync.
    store
        .request_full_sync(provider.id, model::Trigger::Manual)
        .await?;
    let clock = Instant::now();
    let second = runner
        .full_sync_once(&Quiet)
        .await?
        .context("a full sync was queued")?;
    let second_seconds = clock.elapsed().as_secs_f64();
    let after_second = emulator.counters().await?;
    let second_reads = delta(&after_second, &after_plan, "requests")
        - delta(&after_second, &after_plan, "writes")
        - delta(&after_second, &after_plan, "tokensIssued");
    let pages = args.users.div_ceil(999) + args.groups.div_ceil(999) + args.groups;

    // 4. Direct-sync latency through the real API, idle, no throttling.
    emulator
        .set_knobs(json!({"throttle": false}))
        .await
        .context("turning throttling off")?;
    let latency = direct_sync_latency(&store, secret_key, &token, runner, &emulator, &args).await?;

    let report = json!({
        "directory": {"users": args.users, "groups": args.groups, "memberships": args.memberships,
            "fill_seconds": round(fill_seconds)},
        "emulator": {"throttling": format!("tenant size {}", args.tenant_size), "time_scale": args.time_scale},
        "initial_full_sync": {
            "status": first.status,
            "seconds": round(first_seconds),
            "write_requests": writes,
            "floor_writes": floor,
            "ratio_to_floor": round(writes as f64 / floor as f64),
            "baseline_one_call_per_object_and_member": naive,
            "ratio_to_baseline": round(writes as f64 / naive as f64),
            "throttled_429": delta(&after_first, &before, "throttled"),
            "requests_by_route": by_route_delta(&after_first, &before),
            "remote": {"users": remote_users, "groups": remote_groups, "memberships": remote_members},
            "report": first.report,
            "rss_mib_before": rss_before,
            "peak_rss_mib": peak_rss,
        },
        "dry_run_of_the_synced_tenant": {
            "status": plan.status,
            "seconds": round(plan_seconds),
            "read_requests": plan_reads,
            "write_requests": delta(&after_plan, &after_first, "writes"),
            "throttled_429": delta(&after_plan, &after_first, "throttled"),
            "report": plan.report,
        },
        "second_full_sync_unchanged": {
            "status": second.status,
            "seconds": round(second_seconds),
            "write_requests": delta(&after_second, &after_plan, "writes"),
            // Refused requests are sent again: they count among the reads.
            "throttled_429": delta(&after_second, &after_plan, "throttled"),
            "read_requests": second_reads,
            "pages_of_users_groups_and_members": pages,
            "requests_by_route": by_route_delta(&after_second, &after_plan),
        },
        "direct_sync_latency_ms": latency,
    });
    println!("{}", serde_json::to_string_pretty(&report)?);
    emulator.stop();
    Ok(ExitCode::SUCCESS)
}

/// The default mappings, the schedule paused: only what a bench asks for runs.
pub(crate) async fn settings(
    store: &Store,
    tenant_id: &str,
    client_id: &str,
) -> anyhow::Result<ProviderSettings> {
    let find = |name: &'static str| async move {
        store
            .find_mapping_by_name(name)
            .await?
            .map(|m| m.id)
            .with_context(|| format!("the {name} mapping"))
    };
    let mut settings = ProviderSettings::new(
        tenant_id,
        client_id,
        vec![find(mapping::DEFAULT_USER_MAPPING_NAME).await?],
        vec![find(mapping::DEFAULT_GROUP_MAPPING_NAME).await?],
    );
    settings.schedule = Schedule {
        cron: "0 0 1 1 *".into(),
        paused: true,
    };
    Ok(settings)
}

/// The shared sample directory, imported 1,000 records per transaction.
async fn fill_directory(store: &Store, args: &BenchSync) -> anyhow::Result<()> {
    let sample = SampleDirectory {
        users: args.users,
        groups: args.groups,
        memberships: args.memberships,
    };
    let mut batch = Vec::with_capacity(1000);
    for record in sample.records() {
        batch.push(record?);
        if batch.len() == 1000 {
            store.import(std::mem::take(&mut batch)).await?;
        }
    }
    store.import(batch).await?;
    Ok(())
}

/// Graph's token lifetime (3,599 s) in the emulator's time, at `time_scale`.
fn token_lifetime_seconds(time_scale: f64) -> u64 {
    (3599.0 * time_scale.max(1.0)).min(365.0 * 24.0 * 3600.0) as u64
}

/// The fewest member-add requests the directory's groups need: 20 members per request, counted
/// group by group (a group is created empty, its members added after).
async fn member_requests_floor(store: &Store) -> anyhow::Result<u64> {
    use engine::Directory;
    let mut requests = 0;
    let mut after = None;
    loop {
        let page = store.groups_page(after, 500).await?;
        let Some(last) = page.last() else {
            return Ok(requests);
        };
        after = Some(last.id);
        for group in &page {
            requests += store.member_count(group.id).await?.div_ceil(20);
        }
    }
}

async fn direct_sync_latency(
    store: &Store,
    secret_key: Arc<store::SecretKey>,
    token: &str,
    runner: Arc<Runner>,
    emulator: &EmulatorProcess,
    args: &BenchSync,
) -> anyhow::Result<Value> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    let mut state = AppState::new(store.clone(), store::SecretKey::generate()?.0);
    state.secret_key = secret_key;
    let router = app(state, 4 * 1024 * 1024);
    let server = tokio::spawn(async move { axum::serve(listener, router).await });
    let workers = tokio::spawn(runner.run(std::future::pending()));
    let client = reqwest::Client::new();
    let mut samples = Vec::with_capacity(args.latency_samples);
    for n in 0..args.latency_samples {
        let writes = emulator.counters().await?["writes"].as_u64().unwrap_or(0);
        let clock = Instant::now();
        let response = client
            .post(format!("http://{address}/api/v1/users"))
            .bearer_auth(token)
            .json(&json!({"username": format!("late{n:05}"), "email": format!("late{n:05}@{DOMAIN}")}))
            .send()
            .await?;
        if !response.status().is_success() {
            bail!("creating a user through the API: {}", response.status());
        }
        loop {
            if emulator.counters().await?["writes"].as_u64().unwrap_or(0) > writes {
                break;
            }
            if clock.elapsed() > Duration::from_secs(30) {
                bail!("a direct sync did not reach the emulator within 30 s");
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        samples.push(clock.elapsed().as_secs_f64() * 1000.0);
    }
    workers.abort();
    server.abort();
    Ok(percentiles(&samples))
}

/// `entrasync emulator` in a child process, so that its memory is not counted as ours.
struct EmulatorProcess {
    child: std::process::Child,
    url: String,
    http: reqwest::Client,
    tenant_id: String,
    client_id: String,
    client_secret: String,
}

impl EmulatorProcess {
    async fn start(args: &BenchSync) -> anyhow::Result<Self> {
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let child = std::process::Command::new(std::env::current_exe()?)
            .args([
                "emulator",
                "--port",
                &port.to_string(),
                "--throttle",
                &args.tenant_size,
            ])
            .args([
                "--time-scale",
                &args.time_scale.to_string(),
                "--domain",
                DOMAIN,
                // A token lasts a real hour, as Graph's do: on the compressed clock it would
                // expire every minute, and the requests refused then would count as reads.
                "--token-lifetime-seconds",
                &token_lifetime_seconds(args.time_scale).to_string(),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("starting the emulator")?;
        let url = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(20);
        let info = loop {
            if let Ok(response) = http.get(format!("{url}/_emulator/info")).send().await
                && let Ok(info) = response.json::<Value>().await
            {
                break info;
            }
            if Instant::now() > deadline {
                bail!("the emulator did not start");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        let text = |key: &str, default: &str| info[key].as_str().unwrap_or(default).to_owned();
        Ok(Self {
            child,
            tenant_id: text("tenantId", graph_emulator::config::DEFAULT_TENANT_ID),
            client_id: text("clientId", graph_emulator::config::DEFAULT_CLIENT_ID),
            client_secret: text(
                "clientSecret",
                graph_emulator::config::DEFAULT_CLIENT_SECRET,
            ),
            url,
            http,
        })
    }

    async fn counters(&self) -> anyhow::Result<Value> {
        Ok(self
            .http
            .get(format!("{}/_emulator/counters", self.url))
            .send()
            .await?
            .json()
            .await?)
    }

    async fn state(&self) -> anyhow::Result<Value> {
        Ok(self
            .http
            .get(format!("{}/_emulator/state", self.url))
            .send()
            .await?
            .json()
            .await?)
    }

    async fn set_knobs(&self, knobs: Value) -> anyhow::Result<()> {
        self.http
            .patch(format!("{}/_emulator/knobs", self.url))
            .json(&knobs)
            .send()
            .await?
            .error_for_status()?;
        Ok(())
    }

    fn stop(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn delta(after: &Value, before: &Value, key: &str) -> u64 {
    after[key]
        .as_u64()
        .unwrap_or(0)
        .saturating_sub(before[key].as_u64().unwrap_or(0))
}

fn by_route_delta(after: &Value, before: &Value) -> Value {
    let mut out = serde_json::Map::new();
    for (route, count) in after["byRoute"].as_object().into_iter().flatten() {
        let was = before["byRoute"][route].as_u64().unwrap_or(0);
        let now = count.as_u64().unwrap_or(0);
        if now > was {
            out.insert(route.clone(), json!(now - was));
        }
    }
    Value::Object(out)
}
