//! `entrasync bench scim`: inbound SCIM over real HTTP on loopback, against the real
//! `server::app` in this process, printing JSON (progress goes to standard error):
//! 1. `POST /Users` latency (2,000 creates by default) on SQLite, and on PostgreSQL with
//!    `--postgres-url`, beside the admin API's `POST /api/v1/users` on the same store;
//! 2. an HR load through `/Bulk` (10,000 users in 50 groups, 3 groups each by default) in
//!    requests of at most 1,000 operations: wall time, requests, operations per second, and
//!    the store's counts checked afterwards;
//! 3. `filter=userName eq "…"` at a directory of 100,000 users (and at a tenth of it), beside a
//!    filter no index answers (`userName co "…"`);
//! 4. the time from a SCIM `POST /Users` to the user existing in the Graph emulator, idle,
//!    with the sync workers running in-process as `serve` runs them.

mod bulk;
mod creates;
mod direct;
mod lookups;

use std::{path::Path, process::ExitCode, time::Duration};

use anyhow::{Context, bail};
use clap::Args;
use serde_json::{Value, json};
use server::{AppState, app, bootstrap_admin_token};
use store::{ConnectOptions, NewApiToken, Store, TokenKind, redact_url};

#[derive(Args)]
pub struct BenchScim {
    /// Users created one at a time over SCIM, and as many over the admin API (1 to 100,000).
    #[arg(long, default_value_t = 2000)]
    creates: u64,
    /// Users loaded through `/Bulk` (1 to 100,000).
    #[arg(long, default_value_t = 10_000)]
    bulk_users: u64,
    /// Groups of the `/Bulk` load; each user is in 3 of them (1 to 1,000).
    #[arg(long, default_value_t = 50)]
    bulk_groups: u64,
    /// Size of the directory the filters are timed at (10 to 1,000,000).
    #[arg(long, default_value_t = 100_000)]
    lookup_users: u64,
    /// `userName eq` lookups timed at each size (1 to 10,000).
    #[arg(long, default_value_t = 200)]
    lookups: u64,
    /// Unindexed filters (`userName co`) timed at each size (1 to 100).
    #[arg(long, default_value_t = 5)]
    scans: u64,
    /// Users created over SCIM and timed until they exist in the emulated Entra (1 to 1,000).
    #[arg(long, default_value_t = 50)]
    direct_users: u64,
    /// Also time the creates on PostgreSQL: each run makes a new schema `es_bench_scim_…` and
    /// leaves it for inspection.
    #[arg(long)]
    postgres_url: Option<String>,
}

/// `value` within `range`, saying so on standard error when it was not.
fn clamped(flag: &str, value: u64, range: std::ops::RangeInclusive<u64>) -> u64 {
    let kept = value.clamp(*range.start(), *range.end());
    if kept != value {
        eprintln!("bench scim: --{flag} {value} is outside {range:?}; using {kept}");
    }
    kept
}

pub async fn bench_scim(args: BenchScim) -> anyhow::Result<ExitCode> {
    let creates = clamped("creates", args.creates, 1..=100_000);
    let bulk_users = clamped("bulk-users", args.bulk_users, 1..=100_000);
    let bulk_groups = clamped("bulk-groups", args.bulk_groups, 1..=1000);
    let lookup_users = clamped("lookup-users", args.lookup_users, 10..=1_000_000);
    let lookups = clamped("lookups", args.lookups, 1..=10_000);
    let scans = clamped("scans", args.scans, 1..=100);
    let direct_users = clamped("direct-users", args.direct_users, 1..=1000);
    if let Some(url) = &args.postgres_url
        && !url.starts_with("postgres")
    {
        bail!("--postgres-url must be a postgres:// URL");
    }
    let dir = tempfile::tempdir().context("temporary directory")?;

    eprintln!("bench scim: 1/4 {creates} creates over SCIM and over the admin API (SQLite)");
    let sqlite = creates::latency(&sqlite_store(dir.path(), "creates").await?, creates).await?;
    let postgres = match &args.postgres_url {
        Some(url) => {
            eprintln!("bench scim: 1/4 {creates} creates on PostgreSQL");
            Some(creates::latency(&postgres_store(url, "creates").await?, creates).await?)
        }
        None => None,
    };

    eprintln!("bench scim: 2/4 {bulk_users} users in {bulk_groups} groups through /Bulk");
    let bulk = bulk::load(
        &sqlite_store(dir.path(), "bulk").await?,
        bulk_users,
        bulk_groups,
    )
    .await?;

    eprintln!("bench scim: 3/4 filters at a directory of {lookup_users} users");
    let store = sqlite_store(dir.path(), "lookups").await?;
    let lookups = lookups::latency(&store, lookup_users, lookups, scans).await?;

    eprintln!("bench scim: 4/4 {direct_users} SCIM creates until they exist in Entra");
    let direct = direct::latency(&sqlite_store(dir.path(), "direct").await?, direct_users).await?;

    let report = json!({
        "benchmark": "scim",
        "post_users": {"sqlite": sqlite, "postgres": postgres},
        "bulk_load": bulk,
        "filter_lookups": lookups,
        "scim_write_to_entra": direct,
    });
    crate::output::print_json(&report);
    Ok(ExitCode::SUCCESS)
}

async fn sqlite_store(dir: &Path, name: &str) -> anyhow::Result<Store> {
    let url = format!("sqlite://{}", dir.join(format!("{name}.db")).display());
    open(ConnectOptions::new(url)).await
}

async fn postgres_store(url: &str, name: &str) -> anyhow::Result<Store> {
    let schema = format!("es_bench_scim_{name}_{}", uuid::Uuid::new_v4().simple());
    eprintln!("bench scim: PostgreSQL schema {schema}");
    open(ConnectOptions {
        schema: Some(schema),
        ..ConnectOptions::new(url)
    })
    .await
}

async fn open(options: ConnectOptions) -> anyhow::Result<Store> {
    Store::connect_with(&options)
        .await
        .with_context(|| format!("cannot open the database {}", redact_url(&options.url)))
}

/// The real application on a loopback port, with a SCIM token and an admin token.
struct Node {
    base: String,
    http: reqwest::Client,
    scim_token: String,
    admin_token: String,
    /// The server's body limit: what `/Bulk` requests must fit in.
    max_body: usize,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Node {
    /// Serves `state` (its store a new database) with the body limit a default `serve` has.
    async fn start(state: AppState) -> anyhow::Result<Self> {
        let store = state.store.clone();
        let admin_token = bootstrap_admin_token(&store, None)
            .await?
            .context("a new database gets an admin token")?;
        let scim_token = format!("es_scim_bench_{}", uuid::Uuid::new_v4().simple());
        store
            .create_api_token(NewApiToken {
                name: "bench",
                kind: TokenKind::Scim,
                secret: &scim_token,
                expires_at: None,
            })
            .await
            .context("creating a SCIM token")?;
        let max_body = server::Config::default().max_body_bytes;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?;
        let service =
            app(state, max_body).into_make_service_with_connect_info::<std::net::SocketAddr>();
        let server = tokio::spawn(async move { axum::serve(listener, service).await });
        Ok(Self {
            base: format!("http://{address}"),
            // A stuck request ends the run with an error rather than hanging it.
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(600))
                .build()?,
            scim_token,
            admin_token,
            max_body,
            server,
        })
    }

    /// A SCIM request with the media type SCIM clients send; the status and the JSON answer.
    async fn scim(
        &self,
        method: reqwest::Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<String>,
    ) -> anyhow::Result<(u16, Value)> {
        let mut request = self
            .http
            .request(method, format!("{}/scim/v2{path}", self.base))
            .bearer_auth(&self.scim_token)
            .query(query);
        if let Some(body) = body {
            request = request
                .header("content-type", "application/scim+json")
                .body(body);
        }
        answer(request).await
    }

    /// An admin API `POST` of a body serialized already (as `scim` takes it: the clock
    /// measures the server, not our serializer).
    async fn admin_post(&self, path: &str, body: String) -> anyhow::Result<(u16, Value)> {
        answer(
            self.http
                .post(format!("{}/api/v1{path}", self.base))
                .bearer_auth(&self.admin_token)
                .header("content-type", "application/json")
                .body(body),
        )
        .await
    }

    fn stop(self) {
        self.server.abort();
    }
}

/// Sends `request` and reads its whole answer (the time a client waits includes the body).
async fn answer(request: reqwest::RequestBuilder) -> anyhow::Result<(u16, Value)> {
    let response = request.send().await?;
    let status = response.status().as_u16();
    let bytes = response.bytes().await?;
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap_or_else(|_| json!(String::from_utf8_lossy(&bytes)))
    };
    Ok((status, body))
}

/// Milliseconds since `clock`.
fn millis(clock: std::time::Instant) -> f64 {
    clock.elapsed().as_secs_f64() * 1000.0
}

/// One figure (`p50`, `p99`, `max`) of a `percentiles` value.
fn stat(percentiles: &Value, key: &str) -> Option<f64> {
    percentiles[key].as_f64()
}

/// Says on standard error that `done` of `total` are done, at each tenth.
fn progress(what: &str, done: u64, total: u64) {
    if total >= 10 && done > 0 && done.is_multiple_of(total / 10) {
        eprintln!("bench scim:   {what}: {done}/{total}");
    }
}
