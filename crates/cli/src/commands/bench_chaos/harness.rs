//! One scenario's world: the Graph emulator (in this process), the `serve` nodes (child
//! processes) sharing one database and key, the admin API, and the steps every scenario takes
//! (fill the directory, create the provider, wait for full syncs, converge, compare).

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::Context;
use graph_emulator::{Emulator, EmulatorConfig, Knobs, RunningEmulator, TenantSize};
use model::{Run, RunStatus};
use secrecy::ExposeSecret;
use serde_json::{Value, json};

use super::{
    api::Api,
    compare::{Comparison, compare},
    disturb::dump,
    node::{Cluster, Node},
};
use crate::commands::{bench_directory::SampleDirectory, bench_stats::round};

/// What every scenario of one benchmark run shares.
pub struct Settings {
    pub sample: SampleDirectory,
    pub lease: Duration,
    pub time_scale: f64,
    pub tenant_size: TenantSize,
    pub kills: u32,
    pub probes: usize,
    pub plan_every: Duration,
    pub sync_timeout: Duration,
    pub converge_timeout: Duration,
    pub database_url: String,
}

/// Where the nodes keep the directory.
pub enum Database {
    /// A SQLite file in the scenario's directory.
    Sqlite,
    /// A new schema of this PostgreSQL database.
    Postgres,
}

pub struct Harness<'a> {
    pub settings: &'a Settings,
    pub dir: tempfile::TempDir,
    pub emulator: RunningEmulator,
    pub cluster: Cluster,
    pub nodes: Vec<Node>,
    pub api: Arc<Api>,
    /// The database as reported (no password).
    pub database: String,
}

/// Graph as it always is: Microsoft's throttling on the compressed clock, reads that trail
/// writes by a second, faults drawn from the scenario's seed.
pub fn graph_as_usual(settings: &Settings, seed: u64) -> Knobs {
    Knobs {
        throttle: true,
        tenant_size: settings.tenant_size,
        read_lag_ms: 1000,
        fault_seed: Some(seed),
        ..Knobs::default()
    }
}

impl<'a> Harness<'a> {
    /// The scenario's world with `nodes` nodes, not started yet; the API talks to the first.
    pub async fn new(
        settings: &'a Settings,
        knobs: Knobs,
        database: Database,
        nodes: usize,
        label: &str,
    ) -> anyhow::Result<Self> {
        let dir = tempfile::Builder::new()
            .prefix(&format!("entrasync-chaos-{label}-"))
            .tempdir()
            .context("a directory for the scenario")?;
        let emulator = Emulator::start(EmulatorConfig {
            time_scale: settings.time_scale,
            knobs,
            ..EmulatorConfig::default()
        })
        .await
        .context("starting the Graph emulator")?;
        let (_, key) = store::SecretKey::generate()?;
        let token = format!("es_chaos_{}", uuid::Uuid::new_v4().simple());
        let mut env = vec![
            ("ENTRASYNC_ADMIN_TOKEN", token.clone()),
            ("ENTRASYNC_SECRET_KEY", key.expose_secret().to_owned()),
            ("ENTRASYNC_GRAPH_URL", emulator.base_url().to_owned()),
            ("ENTRASYNC_LOGIN_URL", emulator.login_url().to_owned()),
            (
                "ENTRASYNC_GRAPH_TIME_SCALE",
                settings.time_scale.to_string(),
            ),
            (
                "ENTRASYNC_WORK_LEASE_SECONDS",
                settings.lease.as_secs().max(1).to_string(),
            ),
            ("ENTRASYNC_WORKERS", "true".to_owned()),
        ];
        let shown = match database {
            Database::Sqlite => {
                let path = dir.path().join("entrasync.db");
                env.push((
                    "ENTRASYNC_DATABASE_URL",
                    format!("sqlite://{}", path.display()),
                ));
                format!("sqlite ({})", path.display())
            }
            Database::Postgres => {
                let schema = format!("es_chaos_{}", uuid::Uuid::new_v4().simple());
                let shown = format!(
                    "postgres ({}, schema {schema})",
                    store::redact_url(&settings.database_url)
                );
                // Made (and migrated) here, so that the nodes, started together, find it ready
                // and a database that refuses us is named plainly.
                let options = store::ConnectOptions {
                    schema: Some(schema.clone()),
                    ..store::ConnectOptions::new(&settings.database_url)
                };
                store::Store::connect_with(&options)
                    .await
                    .with_context(|| format!("the two-nodes scenario cannot open {shown}"))?
                    .close()
                    .await;
                env.push(("ENTRASYNC_DATABASE_URL", settings.database_url.clone()));
                env.push(("ENTRASYNC_DATABASE_SCHEMA", schema));
                shown
            }
        };
        let cluster = Cluster {
            exe: std::env::current_exe().context("the entrasync binary")?,
            dir: dir.path().to_owned(),
            env,
        };
        let nodes = (0..nodes.max(1))
            .map(|n| Node::new(&cluster, &format!("node{n}")))
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(Self {
            settings,
            api: Arc::new(Api::new(&nodes[0].url(), &token)?),
            dir,
            emulator,
            cluster,
            nodes,
            database: shown,
        })
    }

    pub async fn start_nodes(&mut self) -> anyhow::Result<()> {
        for node in &mut self.nodes {
            node.start(&self.cluster).await?;
        }
        Ok(())
    }

    pub fn emulator(&self) -> Emulator {
        self.emulator.emulator().clone()
    }

    /// The sample directory through the import API, then the provider (its first full sync
    /// starts).
    pub async fn fill_and_create_provider(&self) -> anyhow::Result<()> {
        let records = self
            .settings
            .sample
            .records()
            .collect::<anyhow::Result<Vec<_>>>()?;
        self.api
            .import(records)
            .await
            .context("importing the directory")?;
        self.api.create_provider(&self.emulator).await
    }

    /// Graph writes the emulator has admitted so far.
    pub fn writes(&self) -> u64 {
        self.emulator.counters().writes
    }

    /// What the initial full sync writes at the least: one per object, one per 20 members.
    pub fn expected_writes(&self) -> u64 {
        let s = &self.settings.sample;
        s.users + s.groups + s.membership_count().div_ceil(20)
    }

    /// Waits (up to a minute) until a full sync runs.
    pub async fn until_a_full_sync_runs(&self) -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(Some(_)) = super::disturb::running_full_sync(&self.api).await {
                return Ok(());
            }
            if Instant::now() > deadline {
                anyhow::bail!("no full sync started within a minute");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until at least `count` full syncs have started and none is running (at most the
    /// sync timeout: a run that never ends is reported as stuck after convergence).
    pub async fn until_full_syncs_end(&self, count: usize) -> Duration {
        let began = Instant::now();
        while began.elapsed() < self.settings.sync_timeout {
            if let Ok(runs) = self.api.runs().await {
                let full: Vec<&Run> = runs.iter().filter(|r| !r.dry_run).collect();
                if full.len() >= count && full.iter().all(|r| r.status != RunStatus::Running) {
                    break;
                }
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        began.elapsed()
    }

    /// Faults off (throttling and read lag stay: that is Graph on a good day), then waits
    /// until nothing is queued and no run is running, for longer than a lease (so that work
    /// a dead node held, and a full sync whose run was swept, have been taken up again).
    pub async fn converge(&self) -> Value {
        let mut knobs = self.emulator.knobs();
        knobs.error_rate = 0.0;
        knobs.reset_rate = 0.0;
        knobs.hang_rate = 0.0;
        knobs.post_write_fault_rate = 0.0;
        knobs.storm_rate = 0.0;
        self.emulator.set_knobs(knobs);
        let began = Instant::now();
        let settle = self.settings.lease + Duration::from_secs(3);
        let mut quiet_since: Option<Instant> = None;
        let mut last = json!(null);
        // What convergence waited on: seconds with work queued, a full sync running, a dry run
        // running (a dry run the benchmark asked for counts: it must end too).
        let mut waited = [0.0_f64; 3];
        let mut tick = Instant::now();
        loop {
            let state = match (self.api.status().await, self.api.runs().await) {
                (Ok(status), Ok(runs)) => {
                    let queued = status["queued"].as_u64().unwrap_or(u64::MAX);
                    let running = |dry: bool| {
                        runs.iter()
                            .filter(|r| r.status == RunStatus::Running && r.dry_run == dry)
                            .count()
                    };
                    let (full, plans) = (running(false), running(true));
                    last = json!({"health": status["health"], "reason": status["reason"],
                        "queued": queued, "running_full_syncs": full, "running_dry_runs": plans});
                    Some([queued > 0, full > 0, plans > 0])
                }
                _ => None,
            };
            let step = tick.elapsed().as_secs_f64();
            tick = Instant::now();
            for (total, busy) in waited.iter_mut().zip(state.unwrap_or([false; 3])) {
                if busy {
                    *total += step;
                }
            }
            let waited_on = || {
                json!({"queued_seconds": round(waited[0]), "full_sync_seconds": round(waited[1]),
                    "dry_run_seconds": round(waited[2])})
            };
            if state.is_some_and(|busy| busy.iter().all(|b| !b)) {
                let since = *quiet_since.get_or_insert_with(Instant::now);
                if since.elapsed() >= settle {
                    return json!({"converged": true,
                        "seconds": round((since - began).as_secs_f64()),
                        "waited_on": waited_on(), "at_end": last});
                }
            } else {
                quiet_since = None;
            }
            if began.elapsed() > self.settings.converge_timeout {
                return json!({"converged": false,
                    "seconds": round(began.elapsed().as_secs_f64()),
                    "waited_on": waited_on(), "at_end": last});
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// Entra against the directory.
    pub async fn compare(&self) -> anyhow::Result<Comparison> {
        let users = self.api.users().await.context("listing directory users")?;
        let groups = self
            .api
            .groups()
            .await
            .context("listing directory groups")?;
        Ok(compare(&users, &groups, &dump(&self.emulator()).await?))
    }

    /// The provider's runs: counts by status for full syncs and dry runs, the stuck ones (still
    /// running), each full sync in short, how long each dry run took, and the first failures
    /// of every run that did not succeed.
    pub async fn runs(&self) -> anyhow::Result<(u64, Value)> {
        let runs = self.api.runs().await?;
        let tally = |dry: bool| {
            let mut by_status = serde_json::Map::new();
            for run in runs.iter().filter(|r| r.dry_run == dry) {
                let entry = by_status.entry(run.status.to_string()).or_insert(json!(0));
                *entry = json!(entry.as_u64().unwrap_or(0) + 1);
            }
            Value::Object(by_status)
        };
        let seconds = |r: &Run| {
            r.finished_at
                .map(|f| round((f - r.started_at).num_milliseconds() as f64 / 1000.0))
        };
        let stuck = runs
            .iter()
            .filter(|r| r.status == RunStatus::Running)
            .count() as u64;
        let mut full = Vec::new();
        let mut dry_runs = Vec::new();
        for run in runs.iter().rev() {
            let failures = match run.status {
                RunStatus::Partial | RunStatus::Stopped => self.api.failures(run.id, 5).await?,
                _ => Value::Null,
            };
            if run.dry_run {
                dry_runs.push(json!({"status": run.status, "seconds": seconds(run),
                    "failures": failures}));
                continue;
            }
            full.push(json!({
                "trigger": run.trigger,
                "status": run.status,
                "seconds": seconds(run),
                "outcomes": run.report.outcomes,
                "members": run.report.members,
                "error": run.error,
                "failures": failures,
            }));
        }
        Ok((
            stuck,
            json!({"full_syncs": tally(false), "dry_runs": tally(true), "stuck": stuck,
                "each_full_sync": full, "each_dry_run": dry_runs}),
        ))
    }

    /// The emulator's counters, in short.
    pub fn graph_counters(&self) -> Value {
        let c = self.emulator.counters();
        json!({"requests": c.requests, "writes": c.writes, "throttled_429": c.throttled,
            "faults_before_the_handler": c.faults, "faults_after_the_write": c.post_write_faults})
    }
}
