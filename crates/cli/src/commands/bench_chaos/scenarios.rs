//! The three scenarios. Each runs its syncs under its chaos, converges, and reports what Entra
//! holds against the directory, with its runs, its latency samples and what the chaos did.

use std::{collections::HashSet, time::Duration, time::Instant};

use clap::ValueEnum;
use graph_emulator::Knobs;
use serde_json::{Value, json};

use super::{
    changes::Changes,
    disturb::{Probes, probe_latency, request_plans, storms},
    harness::{Database, Harness, Settings, graph_as_usual},
    rng::Rng,
};
use crate::commands::bench_stats::{percentiles, round};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Scenario {
    /// One node on SQLite; 10 % faults (half after the write), storms, two full syncs with a
    /// batch of changes during the second.
    Faults,
    /// One node on SQLite, SIGKILLed at seeded points of the initial full sync and restarted.
    Kill,
    /// Two nodes on PostgreSQL; the one running the full sync is SIGKILLed mid-sync.
    TwoNodes,
}

impl Scenario {
    pub fn name(self) -> &'static str {
        match self {
            Scenario::Faults => "faults",
            Scenario::Kill => "kill",
            Scenario::TwoNodes => "two-nodes",
        }
    }
}

/// What a scenario found: the numbers the verdict is made of, and the whole report.
pub struct Outcome {
    pub duplicates: u64,
    pub lost: u64,
    pub stuck: u64,
    pub report: Value,
}

/// Runs `scenario` with `seed`. An error (the scenario could not be carried out) is part of
/// the report; the scenario's directory (database, node logs) is kept when anything is wrong.
pub async fn run(scenario: Scenario, seed: u64, settings: &Settings, keep: bool) -> Outcome {
    let label = format!("{}-{seed}", scenario.name());
    let knobs = knobs(scenario, settings, seed);
    let (database, nodes) = match scenario {
        Scenario::Faults | Scenario::Kill => (Database::Sqlite, 1),
        Scenario::TwoNodes => (Database::Postgres, 2),
    };
    let mut report = json!({"scenario": scenario.name(), "seed": seed});
    let outcome = match Harness::new(settings, knobs.clone(), database, nodes, &label).await {
        Err(error) => failed(error),
        Ok(mut h) => {
            let outcome = drive(scenario, seed, &mut h).await.unwrap_or_else(failed);
            for node in &mut h.nodes {
                node.kill();
            }
            let passed = outcome.duplicates == 0
                && outcome.lost == 0
                && outcome.stuck == 0
                && outcome.report.get("error").is_none();
            if keep || !passed {
                report["kept"] = json!(h.dir.keep().display().to_string());
            }
            outcome
        }
    };
    report["knobs"] = json!(knobs);
    if let (Some(into), Value::Object(from)) = (report.as_object_mut(), outcome.report) {
        into.extend(from);
    }
    Outcome { report, ..outcome }
}

/// A scenario that could not be carried out: its report is the error.
fn failed(error: anyhow::Error) -> Outcome {
    Outcome {
        duplicates: 0,
        lost: 0,
        stuck: 0,
        report: json!({"error": format!("{error:#}")}),
    }
}

/// The emulator's knobs for the scenario: Graph as usual, and for `faults`, 10 % faults.
fn knobs(scenario: Scenario, settings: &Settings, seed: u64) -> Knobs {
    let usual = graph_as_usual(settings, seed);
    match scenario {
        Scenario::Faults => Knobs {
            error_rate: 0.025,
            reset_rate: 0.025,
            post_write_fault_rate: 0.05,
            // A lost answer that hangs does so briefly, then the connection is cut.
            hang_ms: 3000,
            ..usual
        },
        Scenario::Kill | Scenario::TwoNodes => usual,
    }
}

/// The scenario's own steps share these.
struct Steps<'h, 'a> {
    h: &'h mut Harness<'a>,
    seed: u64,
    rng: Rng,
    /// Users no change touches, for the latency probes (those not probed yet).
    probe_targets: Vec<u64>,
    /// All of them.
    probe_users: HashSet<u64>,
    /// When the provider was created (its first full sync queued).
    created: Instant,
    latency: Vec<f64>,
    timed_out: u64,
    details: serde_json::Map<String, Value>,
}

impl Steps<'_, '_> {
    /// Times up to the configured number of direct changes while a full sync runs.
    async fn probe(&mut self, label: &str) -> anyhow::Result<()> {
        let probes = probe_latency(
            &self.h.api,
            &self.h.emulator(),
            &mut self.probe_targets,
            self.h.settings.probes,
            &mut self.rng,
            label,
        )
        .await?;
        self.record(probes);
        Ok(())
    }

    fn record(&mut self, probes: Probes) {
        self.latency.extend(probes.samples_ms);
        self.timed_out += probes.timed_out;
    }

    fn note(&mut self, key: &str, value: Value) {
        self.details.insert(key.to_owned(), value);
    }

    /// Waits for the initial full sync (all its runs) to end, and notes how long it took.
    async fn initial_sync_ends(&mut self) {
        self.h.until_full_syncs_end(1).await;
        let seconds = round(self.created.elapsed().as_secs_f64());
        self.note("initial_sync_seconds", json!(seconds));
    }

    /// `faults`: the initial full sync, then a second one with the batch of changes made while
    /// it runs; latency probes during both.
    async fn faults(&mut self) -> anyhow::Result<()> {
        self.probe("initial").await?;
        self.initial_sync_ends().await;
        self.h.api.request_sync().await?;
        let second = Instant::now();
        until_full_syncs_started(self.h, 2).await?;
        let sample = self.h.settings.sample;
        let changes = Changes::pick(&sample, &mut self.rng, &self.probe_users);
        let mut probe_rng = Rng::new(self.seed, "probes");
        let (emulator, label) = (self.h.emulator(), self.seed.to_string());
        let mut targets = std::mem::take(&mut self.probe_targets);
        let (applied, probes) = tokio::join!(
            changes.apply(&self.h.api, &sample, &mut self.rng, &label),
            probe_latency(
                &self.h.api,
                &emulator,
                &mut targets,
                self.h.settings.probes,
                &mut probe_rng,
                "second",
            ),
        );
        self.note("changes", serde_json::to_value(applied?)?);
        self.record(probes?);
        self.h.until_full_syncs_end(2).await;
        self.note(
            "second_sync_seconds",
            json!(round(second.elapsed().as_secs_f64())),
        );
        Ok(())
    }

    /// `kill`: SIGKILLs and restarts during the initial full sync.
    async fn kill(&mut self) -> anyhow::Result<()> {
        let kills = kill_and_restart(self.h, &mut self.rng).await?;
        self.note("kills", kills);
        self.initial_sync_ends().await;
        Ok(())
    }

    /// `two-nodes`: the node running the full sync is killed; the survivor finishes it alone
    /// and serves direct syncs meanwhile (the probes).
    async fn two_nodes(&mut self) -> anyhow::Result<()> {
        let kill = kill_the_full_sync_holder(self.h, &mut self.rng).await?;
        self.note("kill", kill);
        self.probe("survivor").await?;
        self.initial_sync_ends().await;
        Ok(())
    }
}

async fn drive(scenario: Scenario, seed: u64, h: &mut Harness<'_>) -> anyhow::Result<Outcome> {
    let settings = h.settings;
    let mut rng = Rng::new(seed, scenario.name());
    h.start_nodes().await?;
    let began = Instant::now();
    let plans = request_plans(h.api.clone(), settings.plan_every);
    let storms = (scenario == Scenario::Faults)
        .then(|| storms(h.emulator(), Rng::new(seed, "storms"), settings.lease));
    let probe_targets: Vec<u64> = rng
        .permutation(settings.sample.users)
        .into_iter()
        .take(4 * settings.probes)
        .collect();
    h.fill_and_create_provider().await?;
    let created = Instant::now();
    h.until_a_full_sync_runs().await?;
    let mut steps = Steps {
        h,
        seed,
        rng,
        probe_users: probe_targets.iter().copied().collect(),
        probe_targets,
        created,
        latency: Vec::new(),
        timed_out: 0,
        details: serde_json::Map::new(),
    };
    match scenario {
        Scenario::Faults => steps.faults().await?,
        Scenario::Kill => steps.kill().await?,
        Scenario::TwoNodes => steps.two_nodes().await?,
    }
    let Steps {
        h,
        latency,
        timed_out,
        details,
        ..
    } = steps;
    let storms = match storms {
        Some(storms) => serde_json::to_value(storms.stop().await?)?,
        None => Value::Null,
    };
    let plans = plans.stop().await?;
    let convergence = h.converge().await;
    let comparison = h.compare().await?;
    let (stuck, runs) = h.runs().await?;
    let mut latency_report = percentiles(&latency);
    latency_report["timed_out"] = json!(timed_out);
    let mut report = json!({
        "backend": h.database,
        "nodes": h.nodes.len(),
        "size": {"users": settings.sample.users, "groups": settings.sample.groups,
            "memberships": settings.sample.memberships},
        "lease_seconds": settings.lease.as_secs(),
        "passed": comparison.duplicates.total == 0 && comparison.lost.total == 0 && stuck == 0,
        "duplicates": comparison.duplicates,
        "lost": comparison.lost,
        "stuck": stuck,
        "directory": comparison.directory,
        "entra": comparison.entra,
        "convergence": convergence,
        "direct_sync_latency_ms": if scenario == Scenario::Kill {
            json!("not measured: the node is being killed")
        } else {
            latency_report
        },
        "plans": plans,
        "storms": storms,
        "runs": runs,
        "graph": h.graph_counters(),
        "total_seconds": round(began.elapsed().as_secs_f64()),
    });
    if let Some(into) = report.as_object_mut() {
        into.extend(details);
    }
    Ok(Outcome {
        duplicates: comparison.duplicates.total,
        lost: comparison.lost.total,
        stuck,
        report,
    })
}

/// Waits (up to a minute) until `count` full syncs have started.
async fn until_full_syncs_started(h: &Harness<'_>, count: usize) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(runs) = h.api.runs().await
            && runs.iter().filter(|r| !r.dry_run).count() >= count
        {
            return Ok(());
        }
        if Instant::now() > deadline {
            anyhow::bail!("full sync {count} did not start within a minute");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until the emulator has admitted `writes` writes; false when the full syncs ended
/// first (there is nothing left to kill in the middle of).
async fn until_writes(h: &Harness<'_>, writes: u64) -> bool {
    let mut idle_since: Option<Instant> = None;
    let mut asked = Instant::now();
    loop {
        if h.writes() >= writes {
            return true;
        }
        // Only a while without any full sync running says it is over: a killed node's run
        // stays running until another claim or the sweep ends it.
        if asked.elapsed() >= Duration::from_millis(500) {
            asked = Instant::now();
            match super::disturb::running_full_sync(&h.api).await {
                Ok(None) => {
                    let since = *idle_since.get_or_insert_with(Instant::now);
                    if since.elapsed() > h.settings.lease + Duration::from_secs(10) {
                        return false;
                    }
                }
                _ => idle_since = None,
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// SIGKILLs the node at seeded points of the initial full sync (fractions of the writes it
/// makes, the first possibly during discovery) and restarts it each time: same database, same
/// key, same port.
async fn kill_and_restart(h: &mut Harness<'_>, rng: &mut Rng) -> anyhow::Result<Value> {
    let expected = h.expected_writes() as f64;
    let mut points: Vec<u64> = (0..h.settings.kills)
        .map(|_| (rng.between(0.0, 0.9) * expected) as u64)
        .collect();
    points.sort_unstable();
    let mut kills = Vec::new();
    for point in points {
        if !until_writes(h, point).await {
            kills.push(json!({"at_writes": point, "skipped": "the full sync had ended"}));
            continue;
        }
        let at = h.writes();
        let down = Duration::from_secs_f64(rng.between(0.0, 1.0));
        let node = &mut h.nodes[0];
        node.kill();
        tokio::time::sleep(down).await;
        let restarted = Instant::now();
        node.start(&h.cluster).await?;
        kills.push(
            json!({"at_writes": at, "down_seconds": round(down.as_secs_f64()),
            "restart_seconds": round(restarted.elapsed().as_secs_f64())}),
        );
    }
    Ok(json!({"expected_writes": expected, "points": kills}))
}

/// SIGKILLs, at a seeded point of the initial full sync, the node that runs it (its log says
/// so), and points the API at the survivor.
async fn kill_the_full_sync_holder(h: &mut Harness<'_>, rng: &mut Rng) -> anyhow::Result<Value> {
    let point = (rng.between(0.2, 0.6) * h.expected_writes() as f64) as u64;
    if !until_writes(h, point).await {
        return Ok(json!({"at_writes": point, "skipped": "the full sync had ended"}));
    }
    let running = super::disturb::running_full_sync(&h.api).await?;
    let found = running.and_then(|run| {
        let run = run.to_string();
        h.nodes.iter().position(|node| node.started_run(&run))
    });
    let holder = found.unwrap_or(0);
    let at = h.writes();
    h.nodes[holder].kill();
    let survivor = (holder + 1) % h.nodes.len();
    h.api.point_at(&h.nodes[survivor].url())?;
    Ok(json!({"at_writes": at, "killed": h.nodes[holder].name,
        "held_the_full_sync": found.is_some(), "survivor": h.nodes[survivor].name}))
}
