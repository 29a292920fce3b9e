//! `entrasync bench chaos`: the sync engine under the conditions production brings, proven
//! end to end. Real `serve` nodes (child processes of this one) sync a generated directory
//! (10,000 users, 500 groups, 50,000 memberships by default) to the Graph emulator with
//! Microsoft's throttling, while dry runs are requested during every full sync, and per
//! scenario: 10 % faults (half of them after the write was applied), 429 storms and a batch of
//! changes during a second full sync (`faults`); SIGKILLs at seeded points of the initial full
//! sync, with restarts (`kill`); two nodes on PostgreSQL, the one running the full sync killed
//! mid-sync (`two-nodes`). Each scenario then converges (faults off) and Entra is compared with
//! the directory. One JSON document: per scenario and seed, duplicates, lost objects and
//! memberships, stuck runs, direct-sync latency, time to converge; and the totals. The exit
//! status is 0 only when there are no duplicates, nothing lost and nothing stuck anywhere.

mod api;
mod changes;
mod compare;
mod disturb;
mod harness;
mod node;
mod rng;
mod scenarios;

use std::{process::ExitCode, time::Duration};

use anyhow::{Context, bail};
use clap::Args;
use graph_emulator::TenantSize;
use serde_json::json;

use self::harness::Settings;
use self::scenarios::Scenario;
use super::bench_directory::SampleDirectory;

#[derive(Args)]
pub struct BenchChaos {
    #[arg(long, default_value_t = 10_000)]
    users: u64,
    #[arg(long, default_value_t = 500)]
    groups: u64,
    #[arg(long, default_value_t = 50_000)]
    memberships: u64,
    /// How many seeds to run each scenario with (1, 2, … n).
    #[arg(long, default_value_t = 3)]
    seeds: u64,
    /// Run with these seeds instead (repeatable), e.g. to replay a finding.
    #[arg(long = "seed", value_name = "SEED")]
    seed_list: Vec<u64>,
    /// Which scenarios to run (all by default).
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = [Scenario::Faults, Scenario::Kill, Scenario::TwoNodes])]
    scenarios: Vec<Scenario>,
    /// PostgreSQL for the two-nodes scenario (each run makes a schema `es_chaos_…` and leaves
    /// it). Default: DATABASE_URL, else postgres://postgres@127.0.0.1:5432/test.
    #[arg(long)]
    database_url: Option<String>,
    /// The nodes' work lease (`work_lease_seconds`): a killed node's work is taken over after it.
    #[arg(long, default_value_t = 5)]
    lease_seconds: u64,
    /// How much faster than real time the emulator's throttling clock runs (the nodes are told).
    #[arg(long, default_value_t = 60.0)]
    time_scale: f64,
    /// Tenant size for the emulator's throttling (auto, s, m or l).
    #[arg(long, default_value = "auto")]
    tenant_size: TenantSize,
    /// SIGKILLs in the kill scenario.
    #[arg(long, default_value_t = 5)]
    kills: u32,
    /// Direct changes timed during each full sync.
    #[arg(long, default_value_t = 10)]
    latency_probes: usize,
    /// How often a dry run is asked for again while a full sync runs, in seconds.
    #[arg(long, default_value_t = 15)]
    plan_every_seconds: u64,
    /// How long the full syncs of a scenario may run before it moves on to converge anyway.
    #[arg(long, default_value_t = 3600)]
    sync_timeout_seconds: u64,
    /// How long a scenario may take to converge once the faults are off.
    #[arg(long, default_value_t = 600)]
    converge_timeout_seconds: u64,
    /// Keep every scenario's directory (database, node logs), not only those that failed.
    #[arg(long)]
    keep: bool,
}

pub async fn bench_chaos(args: BenchChaos) -> anyhow::Result<ExitCode> {
    if args.users == 0 {
        bail!("--users must be at least 1");
    }
    let seeds: Vec<u64> = if args.seed_list.is_empty() {
        (1..=args.seeds).collect()
    } else {
        args.seed_list.clone()
    };
    let settings = Settings {
        sample: SampleDirectory {
            users: args.users,
            groups: args.groups,
            memberships: args.memberships.min(args.users * args.groups),
        },
        lease: Duration::from_secs(args.lease_seconds.clamp(1, 3600)),
        time_scale: args.time_scale,
        tenant_size: args.tenant_size,
        kills: args.kills,
        probes: args.latency_probes,
        plan_every: Duration::from_secs(args.plan_every_seconds.max(1)),
        sync_timeout: Duration::from_secs(args.sync_timeout_seconds),
        converge_timeout: Duration::from_secs(args.converge_timeout_seconds),
        database_url: args
            .database_url
            .clone()
            .or_else(|| std::env::var("DATABASE_URL").ok())
            .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/test".to_owned()),
    };
    if args.scenarios.contains(&Scenario::TwoNodes) {
        check_postgres(&settings.database_url).await?;
    }

    let mut results = Vec::new();
    let (mut duplicates, mut lost, mut stuck, mut failed) = (0, 0, 0, 0);
    for &seed in &seeds {
        for &scenario in &args.scenarios {
            eprintln!("bench chaos: {} with seed {seed}…", scenario.name());
            let outcome = scenarios::run(scenario, seed, &settings, args.keep).await;
            match outcome.report["error"].as_str() {
                Some(error) => eprintln!(
                    "bench chaos: {} with seed {seed} could not run: {error}",
                    scenario.name()
                ),
                None => eprintln!(
                    "bench chaos: {} with seed {seed}: {} duplicates, {} lost, {} stuck",
                    scenario.name(),
                    outcome.duplicates,
                    outcome.lost,
                    outcome.stuck
                ),
            }
            duplicates += outcome.duplicates;
            lost += outcome.lost;
            stuck += outcome.stuck;
            if outcome.report.get("error").is_some() {
                failed += 1;
            }
            results.push(outcome.report);
        }
    }
    let passed = duplicates == 0 && lost == 0 && stuck == 0 && failed == 0;
    let report = json!({
        "benchmark": "chaos",
        "size": {"users": settings.sample.users, "groups": settings.sample.groups,
            "memberships": settings.sample.memberships},
        "seeds": seeds,
        "scenarios": results,
        "totals": {"runs": results.len(), "duplicates": duplicates, "lost": lost,
            "stuck": stuck, "scenarios_that_could_not_run": failed, "passed": passed},
    });
    crate::output::print_json(&report);
    Ok(if passed {
        ExitCode::SUCCESS
    } else {
        eprintln!(
            "error: chaos found {duplicates} duplicates, {lost} lost, {stuck} stuck runs; \
             {failed} scenarios could not run (see the JSON; failed scenarios' directories are kept)"
        );
        ExitCode::FAILURE
    })
}

/// The two-nodes scenario needs PostgreSQL: when no server answers at the URL's address, say
/// so plainly before anything else runs (the scenario itself reports any other refusal).
async fn check_postgres(url: &str) -> anyhow::Result<()> {
    let advice = || {
        format!(
            "the two-nodes scenario needs PostgreSQL, and none answers at {} (start it, pass \
             --database-url, or leave the scenario out with --scenarios faults,kill)",
            store::redact_url(url)
        )
    };
    let parsed = url::Url::parse(url).with_context(advice)?;
    let host = parsed.host_str().unwrap_or("127.0.0.1").to_owned();
    let port = parsed.port().unwrap_or(5432);
    let connect = tokio::net::TcpStream::connect((host.as_str(), port));
    match tokio::time::timeout(Duration::from_secs(5), connect).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(error)) => Err(anyhow::Error::new(error).context(advice())),
        Err(_) => Err(anyhow::anyhow!("{}: no answer within 5 s", advice())),
    }
}
