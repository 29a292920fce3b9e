//! `entrasync sync --provider NAME`: one full sync of one provider, in this process, then exit
//! (0 succeeded, 2 finished with failed objects or deletes awaiting approval, 1 stopped). A progress bar on a terminal, a
//! summary at the end.

use std::{process::ExitCode, sync::Arc, time::Duration};

use anyhow::{Context, bail};
use clap::Args;
use engine::DiscoveryProgress;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use model::{RunStatus, Trigger};
use runner::{Observer, Runner};
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
}

pub async fn run(settings: &Settings, args: SyncArgs) -> anyhow::Result<ExitCode> {
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
    let provider = match args.provider.parse::<uuid::Uuid>() {
        Ok(id) => Some(store.get_provider(id.into()).await?),
        Err(_) => store.find_provider_by_name(&args.provider).await?,
    };
    let Some(provider) = provider else {
        bail!("no provider has the id or name {:?}", args.provider);
    };
    if !provider.settings.enabled {
        bail!(
            "provider {:?} is paused (enabled = false); enable it first",
            provider.name
        );
    }
    let runner = Runner::new(
        store.clone(),
        Arc::new(secret_key),
        config.graph_override()?,
        config.runner_options(),
        node_name(),
    );
    if args.dry_run {
        let progress = SyncProgress::new();
        let run = runner.plan(provider.id, Trigger::Manual, &progress).await?;
        progress.bar.finish_and_clear();
        return finish(settings, &store, &provider.name, run).await;
    }
    // Asking for a sync by hand is the administrator's "try again": it clears a stopped state.
    store.set_provider_health(provider.id, None).await?;
    store
        .request_full_sync(provider.id, Trigger::Manual)
        .await?;
    let progress = SyncProgress::new();
    let item = loop {
        if let Some(item) = store
            .claim_full_sync_of(provider.id, runner.owner(), runner.options().lease)
            .await?
        {
            break item;
        }
        progress.message("another node is running this provider's full sync; waiting for it");
        tokio::time::sleep(Duration::from_secs(1)).await;
    };
    let run = runner.run_full_sync(&item, &progress).await?;
    progress.bar.finish_and_clear();
    finish(settings, &store, &provider.name, run).await
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
        "counts": run.counts,
        "error": run.error,
    });
    match settings.output {
        OutputFormat::Json => print_json(&summary),
        OutputFormat::Table => {
            let mut flat = serde_json::Map::new();
            for (key, value) in summary.as_object().into_iter().flatten() {
                match value {
                    Value::Object(counts) => {
                        for (name, count) in counts {
                            flat.insert(name.clone(), count.clone());
                        }
                    }
                    other => {
                        flat.insert(key.clone(), other.clone());
                    }
                }
            }
            print_object(OutputFormat::Table, &Value::Object(flat));
        }
    }
    store.close().await;
    Ok(match run.status {
        RunStatus::Succeeded => ExitCode::SUCCESS,
        // Some objects failed, or deletes beyond the threshold wait for approval: not done.
        RunStatus::Partial | RunStatus::AwaitingApproval => ExitCode::from(2),
        RunStatus::Running | RunStatus::Stopped => ExitCode::FAILURE,
    })
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

    fn members(&self, done: u64) {
        self.bar.set_message(format!("members of {done} groups"));
    }
}
