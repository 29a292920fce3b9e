use std::{process::ExitCode, sync::Arc};

use anyhow::Context;
use runner::Runner;
use server::{
    AppState, LogFormat, app, bootstrap_admin_token, install_default_mappings,
    secret_key::KeySource,
};
use store::{ConnectOptions, Store, redact_url};
use tracing_subscriber::{EnvFilter, fmt};

use crate::settings::Settings;

pub async fn run(settings: &Settings) -> anyhow::Result<ExitCode> {
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
    let new_token = bootstrap_admin_token(&store, config.admin_token.as_ref())
        .await
        .context("cannot set up the admin API token")?;

    install_default_mappings(&store)
        .await
        .context("cannot install the default property mappings")?;

    let (secret_key, key_source) = server::secret_key::load_or_create(config)
        .context("cannot load the secret key for provider credentials")?;

    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    let address = listener.local_addr().context("the listening address")?;
    // Standard output carries what a person (or a test) needs; logs go to standard error.
    say(format_args!(
        "entrasync is listening on http://{address} (database: {database})"
    ));
    if let Some(token) = new_token {
        say(format_args!(
            "Created an admin API token. It is shown only this once; keep it somewhere safe:\n\n    {token}\n\nUse it with: export ENTRASYNC_TOKEN={token}"
        ));
    }
    if key_source == KeySource::Created {
        say(format_args!(
            "Created the secret key that seals provider credentials: {}. Back it up; without it \
             stored credentials cannot be read. Several nodes must share it (secret_key).",
            config.secret_key_file.display()
        ));
    }
    tracing::info!(%address, %database, "serving the admin API");

    let graph = config.graph_override()?;
    let mut state = AppState::new(store.clone(), secret_key);
    let mut workers = None;
    let (stop_workers, workers_stopping) = tokio::sync::oneshot::channel::<()>();
    if config.workers {
        let runner = Arc::new(Runner::new(
            store.clone(),
            state.secret_key.clone(),
            graph,
            config.runner_options(),
            node_name(),
        ));
        // A node whose key cannot open the stored credentials would fail every item it took:
        // it refuses to take any, rather than stop the providers for every node.
        runner.verify_secret_key().await.context(
            "refusing to run sync workers: this node's secret key does not open the stored \
             provider credentials (give every node the same secret_key, or set workers = false)",
        )?;
        state = state.with_runner(runner.clone());
        tracing::info!("sync workers and schedules started");
        workers = Some(tokio::spawn(runner.run(async {
            let _ = workers_stopping.await;
        })));
    }
    if let Some(metrics_listen) = config.metrics_listen {
        let metrics = tokio::net::TcpListener::bind(metrics_listen)
            .await
            .with_context(|| format!("cannot listen on {metrics_listen} (metrics_listen)"))?;
        let address = metrics.local_addr().context("the metrics address")?;
        say(format_args!(
            "metrics are served on http://{address}/metrics"
        ));
        let router = server::metrics_app(state.clone());
        tokio::spawn(async move {
            if let Err(error) = axum::serve(metrics, router).await {
                tracing::error!(%error, "the metrics listener failed");
            }
        });
    }
    // With each peer's address: refused tokens are counted per client.
    let service = app(state, config.max_body_bytes)
        .into_make_service_with_connect_info::<std::net::SocketAddr>();
    axum::serve(listener, service)
        .with_graceful_shutdown(shutdown_signal())
        .await
        .context("the HTTP server failed")?;
    // Items in flight get a bounded time to finish; the rest are claimed again elsewhere when
    // their leases end.
    let _ = stop_workers.send(());
    if let Some(workers) = workers
        && let Err(error) = workers.await
    {
        tracing::warn!(%error, "the sync workers did not stop cleanly");
    }
    store.close().await;
    tracing::info!("stopped");
    Ok(ExitCode::SUCCESS)
}

/// A line for whoever started the server. Standard output may be closed by then (a supervisor
/// that stopped reading): that must not stop the server, so write errors are ignored.
fn say(line: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

/// Names this process in work leases.
pub fn node_name() -> String {
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "node".to_owned());
    format!(
        "{host}/{}/{}",
        std::process::id(),
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    )
}

pub fn init_logging(format: LogFormat) {
    let filter = EnvFilter::try_from_env("ENTRASYNC_LOG")
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=warn"));
    let builder = fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
