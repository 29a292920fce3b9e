//! `entrasync bench import`: imports a generated directory (by default 100,000 users, 500
//! groups, 3 memberships per user) through the real API into a fresh database, and prints the
//! rate, the peak memory and the memory along the way as JSON. The baseline, measured in the
//! same run, is the naive path: one record per request and per transaction.

use std::{
    fs::File,
    io::{BufWriter, Write},
    path::Path,
    process::ExitCode,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use anyhow::Context;
use clap::{Args, Subcommand};
use serde_json::json;
use server::{AppState, app, bootstrap_admin_token};
use store::{ConnectOptions, Store, redact_url};

use super::bench_stats::round;
use super::import::{Format, ImportSummary, import_file};
use crate::client::ApiClient;

#[derive(Subcommand)]
pub enum BenchCommand {
    /// Bulk import through the API (see `entrasync bench import --help`).
    Import(BenchImport),
    /// The Entra ID provider against the throttled emulator (see `entrasync bench sync --help`).
    Sync(super::bench_sync::BenchSync),
    /// The sync under faults, storms, kills and two nodes, checked for duplicates, lost
    /// objects and stuck runs (see `entrasync bench chaos --help`).
    Chaos(super::bench_chaos::BenchChaos),
    /// Inbound SCIM: create latency beside the admin API, a `/Bulk` load, filter lookups at a
    /// large directory and the time to Entra (see `entrasync bench scim --help`).
    Scim(super::bench_scim::BenchScim),
    /// Time the web console's pages at a directory of 10,000 users, server side, beside the
    /// admin API's answers with the same data.
    Console(super::bench_console::BenchConsole),
}

#[derive(Args)]
pub struct BenchImport {
    #[arg(long, default_value_t = 100_000)]
    users: u64,
    #[arg(long, default_value_t = 500)]
    groups: u64,
    #[arg(long, default_value_t = 3)]
    memberships_per_user: u64,
    #[arg(long, default_value_t = 1000)]
    batch_size: usize,
    /// Records imported one per request for the baseline.
    #[arg(long, default_value_t = 2000)]
    baseline_records: u64,
    /// Database to import into (default: a new SQLite file in a temporary directory). For
    /// PostgreSQL each run makes two new schemas, `es_bench_baseline_…` and `es_bench_main_…`,
    /// and leaves them for inspection.
    #[arg(long)]
    database_url: Option<String>,
}

pub async fn run(command: BenchCommand) -> anyhow::Result<ExitCode> {
    match command {
        BenchCommand::Import(args) => bench_import(args).await,
        BenchCommand::Sync(args) => super::bench_sync::bench_sync(args).await,
        BenchCommand::Chaos(args) => super::bench_chaos::bench_chaos(args).await,
        BenchCommand::Scim(args) => super::bench_scim::bench_scim(args).await,
        BenchCommand::Console(args) => super::bench_console::bench_console(args).await,
    }
}

async fn bench_import(args: BenchImport) -> anyhow::Result<ExitCode> {
    let dir = tempfile::tempdir().context("temporary directory")?;
    let file = dir.path().join("directory.jsonl");
    let records = write_directory(&file, &args).context("writing the sample file")?;
    let baseline_file = dir.path().join("baseline.jsonl");
    write_prefix(&file, &baseline_file, args.baseline_records)?;

    // Baseline: one record per request, into its own database.
    let (baseline_client, baseline_store) = start_server(&args, dir.path(), "baseline").await?;
    let baseline =
        import_file(&baseline_client, &baseline_file, Format::JsonLines, 1, None).await?;
    baseline_store.close().await;

    let (client, store) = start_server(&args, dir.path(), "main").await?;
    let done = Arc::new(AtomicU64::new(0));
    let sampler = tokio::spawn(sample_memory(Arc::clone(&done), records));
    let summary = import_file(
        &client,
        &file,
        Format::JsonLines,
        args.batch_size,
        Some(done),
    )
    .await?;
    // The last batch marked every record done, so the sampler takes its last quarter and ends.
    let samples = sampler.await.unwrap_or_default();
    let counts = store.counts().await?;
    store.close().await;

    let rate = |s: &ImportSummary| s.records as f64 / s.seconds.max(f64::EPSILON);
    let report = json!({
        "benchmark": "import",
        "backend": if args.database_url.as_deref().is_some_and(|u| u.starts_with("postgres")) { "postgres" } else { "sqlite" },
        "records": summary.records,
        "batch_size": args.batch_size,
        "seconds": round(summary.seconds),
        "records_per_second": rate(&summary).round(),
        "users_per_second": (counts.users as f64 / summary.seconds.max(f64::EPSILON)).round(),
        "failed": summary.failed,
        "directory": counts,
        "peak_rss_mib": peak_rss_mib(),
        "rss_mib_by_progress": samples,
        "baseline": {
            "description": "one record per request and per transaction",
            "records": baseline.records,
            "seconds": round(baseline.seconds),
            "records_per_second": rate(&baseline).round(),
        },
        "speedup_over_baseline": round(rate(&summary) / rate(&baseline).max(f64::EPSILON)),
    });
    crate::output::print_json(&report);
    Ok(
        if summary.failed == 0 && counts.users == args.users as i64 {
            ExitCode::SUCCESS
        } else {
            eprintln!("error: the import did not land every record");
            ExitCode::FAILURE
        },
    )
}

async fn start_server(
    args: &BenchImport,
    dir: &Path,
    name: &str,
) -> anyhow::Result<(ApiClient, Store)> {
    let options = match &args.database_url {
        Some(url) => ConnectOptions {
            schema: url
                .starts_with("postgres")
                .then(|| format!("es_bench_{name}_{}", uuid::Uuid::new_v4().simple())),
            ..ConnectOptions::new(url)
        },
        None => ConnectOptions::new(format!(
            "sqlite://{}",
            dir.join(format!("{name}.db")).display()
        )),
    };
    let store = Store::connect_with(&options)
        .await
        .with_context(|| format!("cannot open the database {}", redact_url(&options.url)))?;
    let token = bootstrap_admin_token(&store, None)
        .await?
        .context("a new database gets a token")?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    // A throw-away key: the benchmark stores no provider.
    let (secret_key, _) = store::SecretKey::generate()?;
    let router = app(AppState::new(store.clone(), secret_key), 64 * 1024 * 1024);
    tokio::spawn(async move { axum::serve(listener, router).await });
    Ok((ApiClient::new(&format!("http://{address}"), &token)?, store))
}

/// Groups, then users, then memberships, one JSON record per line. Returns the record count.
fn write_directory(path: &Path, args: &BenchImport) -> anyhow::Result<u64> {
    let mut out = BufWriter::new(File::create(path)?);
    let mut count = 0;
    for g in 0..args.groups {
        writeln!(
            out,
            "{}",
            json!({"type": "group", "name": format!("Group {g:04}")})
        )?;
        count += 1;
    }
    for u in 0..args.users {
        let record = json!({
            "type": "user",
            "username": format!("user{u:07}"),
            "name": format!("User {u}"),
            "email": format!("user{u:07}@example.com"),
            "kind": if u % 100 == 0 { "service_account" } else { "internal" },
            "is_active": u % 50 != 0,
            "attributes": {"department": format!("Dept {}", u % 40)},
        });
        writeln!(out, "{record}")?;
        count += 1;
    }
    if args.groups > 0 {
        for u in 0..args.users {
            for k in 0..args.memberships_per_user.min(args.groups) {
                let group = (u * 7 + k * 131) % args.groups;
                let group = (group + k) % args.groups;
                writeln!(
                    out,
                    "{}",
                    json!({"type": "membership", "group": format!("Group {group:04}"), "user": format!("user{u:07}")})
                )?;
                count += 1;
            }
        }
    }
    out.flush()?;
    Ok(count)
}

/// The first `records` lines of `from` (groups and users come first, so the baseline imports
/// objects, the costlier kind of record).
fn write_prefix(from: &Path, to: &Path, records: u64) -> anyhow::Result<()> {
    use std::io::BufRead;
    let reader = std::io::BufReader::new(File::open(from)?);
    let mut out = BufWriter::new(File::create(to)?);
    for line in reader.lines().take(records as usize) {
        writeln!(out, "{}", line?)?;
    }
    out.flush()?;
    Ok(())
}

/// Resident memory when the import passes each quarter of the records: flat memory shows as
/// four close numbers.
async fn sample_memory(done: Arc<AtomicU64>, total: u64) -> serde_json::Value {
    let mut samples = serde_json::Map::new();
    let mut next_quarter = 1;
    loop {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let progress = done.load(Ordering::Relaxed);
        while next_quarter <= 4 && progress * 4 >= total * next_quarter {
            samples.insert(format!("{}%", next_quarter * 25), json!(current_rss_mib()));
            next_quarter += 1;
        }
        if next_quarter > 4 {
            return serde_json::Value::Object(samples);
        }
    }
}

fn status_field_kib(field: &str) -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

pub(crate) fn peak_rss_mib() -> Option<f64> {
    status_field_kib("VmHWM:").map(|kib| round(kib / 1024.0))
}

pub(crate) fn current_rss_mib() -> Option<f64> {
    status_field_kib("VmRSS:").map(|kib| round(kib / 1024.0))
}
