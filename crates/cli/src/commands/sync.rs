//! `entrasync sync --provider NAME`: one full sync of one provider, in this process, then exit
//! (0 succeeded, 2 finished with failed objects or deletes awaiting approval, 1 stopped). A progress bar on a terminal, a
//! summary at the end.

use std::{process::ExitCode, sync::Arc, time::Duration};

use anyhow::{Context, bail};
use clap::Args;
use engine::DiscoveryProgress;
use engine::Item;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use model::{RunStatus, Trigger};
use runner::{ObjectSync, Observer, Runner};
use serde_json::{Value, json};
use store::{ConnectOptions, Store, redact_url};

use crate::commands::serve::{init_logging, node_name};
use crate::output::{OutputFormat, print_json, print_object};
use crate::settings::Settings;

#[derive(Debug, Args)]
pub struct SyncArgs {
    /// The provider to sync (name or id).
    #[arg(long, value_name = "NAME")]
    provider: String,
    /// Plan only: list what the sync would do, write nothing to Entra, link nothing.
    #[arg(long)]
    dry_run: bool,
    /// Sync only this user (username or id), now, and print what was sent and answered.
    #[arg(long, value_name = "USERNAME", conflicts_with_all = ["group", "dry_run"])]
    user: Option<String>,
    /// Sync only this group (name or id), now, and print what was sent and answered.
    #[arg(long, value_name = "NAME", conflicts_with = "dry_run")]
    group: Option<String>,
}

/// `entrasync sync-ignoring-dry-run`: one object, written to Entra even when the provider is in
/// dry-run mode.
#[derive(Debug, Args)]
pub struct ObjectArgs {
    /// The provider (name or id).
    #[arg(long, value_name = "NAME")]
    provider: String,
    /// The user (username or id).
    #[arg(
        long,
        value_name = "USERNAME",
        conflicts_with = "group",
        required_unless_present = "group"
    )]
    user: Option<String>,
    /// The group (name or id).
    #[arg(long, value_name = "NAME")]
    group: Option<String>,
}

/// Syncs one object even when the provider is in dry-run mode.
pub async fn run_ignoring_dry_run(
    settings: &Settings,
    args: ObjectArgs,
) -> anyhow::Result<ExitCode> {
    let (store, runner, provider) = open(settings, &args.provider).await?;
    let object = object_ref(&store, args.user.as_deref(), args.group.as_deref()).await?;
    let done = runner
        .sync_object_ignoring_dry_run(provider.id, object)
        .await?;
    print_object_sync(settings, &done);
    store.close().await;
    Ok(object_exit(&done))
}

pub async fn run(settings: &Settings, args: SyncArgs) -> anyhow::Result<ExitCode> {
    if args.user.is_some() || args.group.is_some() {
        let (store, runner, provider) = open(settings, &args.provider).await?;
        let object = object_ref(&store, args.user.as_deref(), args.group.as_deref()).await?;
        let done = runner.sync_object(provider.id, object).await?;
        print_object_sync(settings, &done);
        store.close().await;
        return Ok(object_exit(&done));
    }
    let (store, runner, provider) = open(settings, &args.provider).await?;
    if !provider.settings.enabled {
        bail!(
            "provider {:?} is paused (enabled = false); enable it first",
            provider.name
        );
    }
    if args.dry_run {
        let progress = SyncProgress::new();
        let run = runner.plan(provider.id, Trigger::Manual, &progress).await?;
        progress.bar.finish_and_clear();
        return finish(settings, &store, &provider.name, run).await;
    }
    // Asking for a sync by hand is the administrator's "try again": it clears a stopped state.
    // Queued and claimed here in one step, so that another node cannot take it over.
    let progress = SyncProgress::new();
    let run = loop {
        if let Some(run) = runner.sync_now(provider.id, &progress).await? {
            break run;
        }
        progress.message("another node is running this provider's full sync; waiting for it");
        tokio::time::sleep(Duration::from_secs(1)).await;
    };
    progress.bar.finish_and_clear();
    finish(settings, &store, &provider.name, run).await
}

/// The store, a runner over it, and the provider named `key`.
async fn open(
    settings: &Settings,
    key: &str,
) -> anyhow::Result<(Store, Arc<Runner>, model::Provider)> {
    let config = &settings.config;
    init_logging(config.log_format);
    let options = ConnectOptions {
        schema: config.database_schema.clone(),
        ..ConnectOptions::new(&config.database_url)
    };
    let database = redact_url(&config.database_url);
    let store = Store::connect_with(&options)
        .await
        .with_context(|| format!("cannot open the database {database}"))?;
    let (secret_key, _) = server::secret_key::load_or_create(config)
        .context("cannot load the secret key for provider credentials")?;
    let provider = match key.parse::<uuid::Uuid>() {
        Ok(id) => Some(store.get_provider(id.into()).await?),
        Err(_) => store.find_provider_by_name(key).await?,
    };
    let Some(provider) = provider else {
        bail!("no provider has the id or name {key:?}");
    };
    let runner = Arc::new(Runner::new(
        store.clone(),
        Arc::new(secret_key),
        config.graph_override()?,
        config.runner_options(),
        node_name(),
    ));
    Ok((store, runner, provider))
}

async fn object_ref(
    store: &Store,
    user: Option<&str>,
    group: Option<&str>,
) -> anyhow::Result<Item> {
    if let Some(key) = user {
        let found = match key.parse::<uuid::Uuid>() {
            Ok(id) => Some(store.get_user(id.into()).await?),
            Err(_) => store.find_user_by_username(key).await?,
        };
        return found
            .map(|user| Item::User(user.id))
            .with_context(|| format!("no user has the id or username {key:?}"));
    }
    let key = group.context("name a --user or a --group")?;
    let found = match key.parse::<uuid::Uuid>() {
        Ok(id) => Some(store.get_group(id.into()).await?),
        Err(_) => {
            let name = model::GroupName::parse(key).map_err(|e| anyhow::anyhow!("{e}"))?;
            store.find_group_by_name(&name).await?
        }
    };
    found
        .map(|group| Item::Group(group.id))
        .with_context(|| format!("no group has the id or name {key:?}"))
}

/// Each exchange as `→ request` with what was sent, then `← answer`; or all of it as JSON.
fn print_object_sync(settings: &Settings, done: &ObjectSync) {
    if settings.output == OutputFormat::Json {
        print_json(&serde_json::to_value(done).unwrap_or(Value::Null));
        return;
    }
    for exchange in &done.exchanges {
        match &exchange.sent {
            Some(sent) => println!("-> {} {sent}", exchange.request),
            None => println!("-> {}", exchange.request),
        }
        println!("<- {}", exchange.answer);
    }
    match (&done.outcome, &done.error) {
        (Some(outcome), _) => println!(
            "outcome: {}",
            serde_json::to_string(outcome).unwrap_or_default()
        ),
        (None, Some(error)) => println!("not finished: {error} (queued; it will be retried)"),
        (None, None) => {}
    }
}

fn object_exit(done: &ObjectSync) -> ExitCode {
    match &done.outcome {
        Some(engine::Outcome::Rejected { .. }) => ExitCode::from(2),
        Some(_) => ExitCode::SUCCESS,
        None => ExitCode::FAILURE,
    }
}

/// Prints the run's summary and turns its status into the exit code.
async fn finish(
    settings: &Settings,
    store: &Store,
    provider: &str,
    run: model::Run,
) -> anyhow::Result<ExitCode> {
    let summary = json!({
        "provider": provider,
        "dry_run": run.dry_run,
        "run": run.id,
        "status": run.status,
        "seconds": run.finished_at.map(|end| (end - run.started_at).num_milliseconds() as f64 / 1000.0),
        "report": run.report,
        "error": run.error,
    });
    match settings.output {
        OutputFormat::Json => print_json(&summary),
        OutputFormat::Table => {
            print_object(OutputFormat::Table, &summary_table(&summary, &run.report));
        }
    }
    store.close().await;
    Ok(match run.status {
        RunStatus::Succeeded => ExitCode::SUCCESS,
        // Some objects failed, or deletes beyond the threshold wait for approval: not done.
        RunStatus::Partial | RunStatus::AwaitingApproval => ExitCode::from(2),
        RunStatus::Running | RunStatus::Stopped | RunStatus::Interrupted => ExitCode::FAILURE,
    })
}

/// The summary as one flat table: the run's fields, then what it did.
fn summary_table(summary: &Value, report: &model::RunReport) -> Value {
    let mut flat = serde_json::Map::new();
    for (key, value) in summary.as_object().into_iter().flatten() {
        if key != "report" {
            flat.insert(key.clone(), value.clone());
        }
    }
    if let Some(discovery) = &report.discovery {
        flat.insert("remote_users".into(), json!(discovery.remote_users));
        flat.insert("remote_groups".into(), json!(discovery.remote_groups));
    }
    for (kind, count) in &report.outcomes {
        flat.insert(kind.as_str().to_owned(), json!(count));
    }
    flat.insert("members_added".into(), json!(report.members.added));
    flat.insert("members_removed".into(), json!(report.members.removed));
    flat.insert("members_failed".into(), json!(report.members.failed));
    if let Some(held) = report.held {
        flat.insert("held_for_approval".into(), json!(held.count));
        flat.insert("delete_threshold".into(), json!(held.threshold));
    }
    flat.insert("graph_requests".into(), json!(report.total_requests()));
    flat.insert("throttled_wait_ms".into(), json!(report.throttle_wait_ms));
    Value::Object(flat)
}

/// A progress bar on standard error (drawn only on a terminal).
pub(crate) struct SyncProgress {
    pub(crate) bar: ProgressBar,
}

impl SyncProgress {
    pub(crate) fn new() -> Self {
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template("{spinner} {msg} [{bar:30}] {pos}/{len} ({eta} left)")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        bar.enable_steady_tick(Duration::from_millis(200));
        Self { bar }
    }

    pub(crate) fn message(&self, message: &str) {
        self.bar.set_message(message.to_owned());
    }
}

impl Observer for SyncProgress {
    fn discovery(&self, progress: DiscoveryProgress) {
        let DiscoveryProgress::Listed { kind, count } = progress;
        self.bar
            .set_message(format!("discovery: {count} Entra {kind}s listed"));
    }

    fn objects(&self, done: u64, total: u64) {
        self.bar.set_message("users and groups");
        if total > 0 {
            self.bar.set_length(total);
        }
        self.bar.set_position(done);
    }

    fn members(&self, done: u64, total: u64) {
        self.bar.set_message("members of groups");
        if total > 0 {
            self.bar.set_length(total);
        }
        self.bar.set_position(done);
    }
}
