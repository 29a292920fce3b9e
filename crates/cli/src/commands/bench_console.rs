//! `entrasync bench console`: how long the web console's pages take to make at a directory
//! of 10,000 users (by default), server side, printing JSON (progress goes to standard error).
//! The real `server::app` serves a store holding the sample directory, a provider and a dry
//! run whose plan has an item per user; a signed-in client asks each page many times over
//! loopback and reads the time the server says it took (`Server-Timing`). Beside each page,
//! measured in the same run, its baseline: the admin API's JSON answer with the same data
//! (what no page can beat by much), and the stylesheet (the floor of any answer).

mod seed;
mod timing;

use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::Args;
use serde::Serialize;
use store::{ConnectOptions, Store, redact_url};

use timing::PageTiming;

/// What a page may take, server side, at its 99th percentile.
const BUDGET_MS: f64 = 50.0;

#[derive(Args)]
pub struct BenchConsole {
    /// Users in the directory (10 to 1,000,000); the plan has one item per user.
    #[arg(long, default_value_t = 10_000)]
    users: u64,
    /// Groups (1 to 10,000).
    #[arg(long, default_value_t = 200)]
    groups: u64,
    /// Memberships, spread evenly over the groups (0 to 5,000,000).
    #[arg(long, default_value_t = 30_000)]
    memberships: u64,
    /// Times each page is asked for, after a few unmeasured warm-up requests (1 to 10,000).
    #[arg(long, default_value_t = 50)]
    requests: u64,
    /// Run against PostgreSQL instead of SQLite: each run makes a new schema
    /// `es_bench_console_…` and leaves it for inspection.
    #[arg(long)]
    postgres_url: Option<String>,
}

/// The benchmark's JSON.
#[derive(Serialize)]
struct Report {
    benchmark: &'static str,
    backend: String,
    directory: seed::Seeded,
    requests_per_page: u64,
    budget_p99_ms: f64,
    /// Whether every page's p99 (server side) is within the budget.
    goal_met: bool,
    /// The slowest page by its p99, server side.
    slowest: Option<String>,
    pages: Vec<PageTiming>,
    /// Any answer's floor: the stylesheet, served from memory.
    baseline_stylesheet: PageTiming,
}

/// `value` within `range`, saying so on standard error when it was not.
fn clamped(flag: &str, value: u64, range: std::ops::RangeInclusive<u64>) -> u64 {
    let kept = value.clamp(*range.start(), *range.end());
    if kept != value {
        eprintln!("bench console: --{flag} {value} is outside {range:?}; using {kept}");
    }
    kept
}

pub async fn bench_console(args: BenchConsole) -> anyhow::Result<ExitCode> {
    let directory = crate::commands::bench_directory::SampleDirectory {
        users: clamped("users", args.users, 10..=1_000_000),
        groups: clamped("groups", args.groups, 1..=10_000),
        memberships: clamped("memberships", args.memberships, 0..=5_000_000),
    };
    let requests = clamped("requests", args.requests, 1..=10_000);
    let dir = tempfile::tempdir().context("temporary directory")?;
    let (options, backend) = match &args.postgres_url {
        Some(url) if !url.starts_with("postgres") => {
            bail!("--postgres-url must be a postgres:// URL")
        }
        Some(url) => {
            let schema = format!("es_bench_console_{}", uuid::Uuid::new_v4().simple());
            eprintln!("bench console: PostgreSQL schema {schema}");
            (
                ConnectOptions {
                    schema: Some(schema.clone()),
                    ..ConnectOptions::new(url)
                },
                format!("postgres (schema {schema})"),
            )
        }
        None => {
            let url = format!("sqlite://{}", dir.path().join("console.db").display());
            (ConnectOptions::new(url), "sqlite".to_owned())
        }
    };
    let store = Store::connect_with(&options)
        .await
        .with_context(|| format!("cannot open the database {}", redact_url(&options.url)))?;

    eprintln!(
        "bench console: 1/2 loading {} users, {} groups, {} memberships and a plan",
        directory.users, directory.groups, directory.memberships
    );
    let seeded = seed::seed(&store, directory).await?;

    eprintln!("bench console: 2/2 asking each page {requests} times");
    let console = timing::Console::start(store.clone()).await?;
    let mut pages = Vec::new();
    for page in seeded.pages() {
        pages.push(console.time(&page, requests).await?);
    }
    let baseline_stylesheet = console.time(&timing::Page::stylesheet(), requests).await?;
    console.stop();
    store.close().await;

    let slowest = pages
        .iter()
        .max_by(|a, b| a.server_p99().total_cmp(&b.server_p99()))
        .map(|page| page.page.clone());
    let report = Report {
        benchmark: "console",
        backend,
        goal_met: pages.iter().all(|page| page.server_p99() <= BUDGET_MS),
        slowest,
        directory: seeded,
        requests_per_page: requests,
        budget_p99_ms: BUDGET_MS,
        pages,
        baseline_stylesheet,
    };
    crate::output::print_json(&serde_json::to_value(&report)?);
    Ok(ExitCode::SUCCESS)
}
