//! `entrasync demo`: the whole product on a fresh machine, with no tenant and no configuration.
//! A local Graph emulator (with Microsoft's throttling on a compressed clock), a sample
//! directory, a provider with the default mappings, its dry-run plan, the full sync, a handful
//! of changes synced directly, and a summary checked against the emulator's state.

mod sample;

use std::{
    collections::BTreeMap,
    process::ExitCode,
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use clap::Args;
use graph_emulator::{Emulator, EmulatorConfig, Knobs, RunningEmulator, TenantSize};
use model::{
    OutcomeKind, ProviderId, ProviderSettings, RunStatus, Schedule, Trigger, UserKind, UserPatch,
};
use runner::{GraphOverride, Runner, RunnerOptions};
use serde_json::{Value, json};
use server::install_default_mappings;
use store::{ProviderCredential, Store};

use crate::commands::sync::SyncProgress;

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// How many people the sample directory holds.
    #[arg(long, default_value_t = 2000)]
    people: usize,
    /// Print the final summary as JSON (the rest goes to standard error).
    #[arg(long)]
    json: bool,
    /// Afterwards, keep the demo's server and emulator running and print the web console's
    /// address and a sign-in token (until Ctrl-C).
    #[arg(long)]
    console: bool,
}

const DOMAIN: &str = "contoso.onmicrosoft.com";

/// Prints a line of the demo's story: to standard output, or to standard error when standard
/// output carries the JSON summary.
macro_rules! say {
    ($json:expr, $($arg:tt)*) => {
        if $json { eprintln!($($arg)*) } else { println!($($arg)*) }
    };
}

pub async fn run(args: DemoArgs) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let quiet = args.json;
    let emulator = Emulator::start(EmulatorConfig {
        verified_domains: vec![DOMAIN.to_owned()],
        time_scale: 60.0,
        knobs: Knobs {
            throttle: true,
            tenant_size: TenantSize::M,
            ..Knobs::default()
        },
        ..EmulatorConfig::default()
    })
    .await
    .context("starting the Graph emulator")?;
    say!(
        quiet,
        "1. A local Microsoft Graph emulator is up at {} (tenant {DOMAIN}, Microsoft's throttling, clock x60).",
        emulator.base_url()
    );

    let dir = tempfile::tempdir().context("a temporary directory")?;
    let store = Store::connect(&format!(
        "sqlite://{}",
        dir.path().join("demo.db").display()
    ))
    .await
    .context("opening the demo database")?;
    install_default_mappings(&store).await?;
    let sample = sample::sample(args.people, DOMAIN).map_err(|e| anyhow::anyhow!("{e}"))?;
    let fill = Instant::now();
    for chunk in sample.records.chunks(1000) {
        store.import(chunk.to_vec()).await?;
    }
    say!(
        quiet,
        "2. Sample directory: {} users (3 service accounts, {} inactive), {} groups, {} memberships ({:.1} s).",
        sample.users,
        args.people / 60,
        sample.groups,
        sample.memberships,
        fill.elapsed().as_secs_f64()
    );

    let (key, encoded) = store::SecretKey::generate()?;
    let key = Arc::new(key);
    let settings = settings(&store, &emulator).await?;
    let provider = store
        .create_provider(
            "Contoso (demo)",
            settings,
            &ProviderCredential::ClientSecret(
                emulator
                    .client_secret()
                    .unwrap_or_default()
                    .to_owned()
                    .into(),
            ),
            &key,
            ProviderId::new(),
        )
        .await?;
    let runner = Arc::new(Runner::new(
        store.clone(),
        key,
        Some(GraphOverride {
            login_url: emulator.login_url().to_owned(),
            graph_url: emulator.base_url().to_owned(),
            time_scale: 60.0,
        }),
        RunnerOptions {
            idle_poll: Duration::from_millis(5),
            ..RunnerOptions::default()
        },
        "demo",
    ));
    say!(
        quiet,
        "3. Provider {:?}: default mappings, service accounts out of scope, users deleted in the directory are deleted in Entra.",
        provider.name
    );

    let progress = SyncProgress::new();
    let plan = runner.plan(provider.id, Trigger::Manual, &progress).await?;
    progress.bar.finish_and_clear();
    if plan.status != RunStatus::Succeeded {
        bail!("the dry run stopped: {}", plan.error.unwrap_or_default());
    }
    say!(
        quiet,
        "4. Dry run (nothing written): the plan creates {} users and groups, adds {} members, deletes {}; {} objects out of scope.",
        plan.report.count(OutcomeKind::Created),
        plan.report.members.added,
        plan.report.count(OutcomeKind::Deleted),
        plan.report.count(OutcomeKind::OutOfScope)
    );

    let progress = SyncProgress::new();
    let sync_started = Instant::now();
    let run = runner
        .full_sync_once(&progress)
        .await?
        .context("the provider's creation queued a full sync")?;
    progress.bar.finish_and_clear();
    say!(
        quiet,
        "5. Full sync {}: {} created, {} members added, in {:.1} s.",
        run.status,
        run.report.count(OutcomeKind::Created),
        run.report.members.added,
        sync_started.elapsed().as_secs_f64()
    );
    if run.status != RunStatus::Succeeded {
        bail!("the full sync did not succeed: {run:?}");
    }

    say!(
        quiet,
        "6. Changes in the directory, each synced right away:"
    );
    let demo = Changes {
        store: &store,
        runner: &runner,
        provider: provider.id,
        quiet,
    };
    demo.changes().await?;

    let summary = summary(&store, &runner, &emulator, provider.id, started).await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        println!(
            "7. In Entra now: {} users, {} groups, {} memberships (the directory expects {}, {}, {}).",
            summary["entra"]["users"],
            summary["entra"]["groups"],
            summary["entra"]["memberships"],
            summary["expected"]["users"],
            summary["expected"]["groups"],
            summary["expected"]["memberships"]
        );
        println!("   Requests sent: {}", summary["requests"]);
        println!(
            "   Done in {:.1} s.",
            summary["seconds"].as_f64().unwrap_or_default()
        );
    }
    let matched = summary["entra"] == summary["expected"];
    if args.console {
        let state = server::AppState::new(store.clone(), store::SecretKey::from_base64(&encoded)?)
            .with_runner(runner.clone());
        console(state, runner.clone(), &emulator).await?;
    }
    Ok(if matched {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Serves the console (and the API) over the demo's directory, with its runner's loops, until
/// Ctrl-C: a newcomer's first command ends in a browser.
async fn console(
    state: server::AppState,
    runner: Arc<Runner>,
    emulator: &RunningEmulator,
) -> anyhow::Result<()> {
    let token = server::auth::generate_token();
    state
        .store
        .create_api_token(store::NewApiToken {
            name: "demo console",
            kind: store::TokenKind::Admin,
            secret: &token,
            expires_at: Some(chrono::Utc::now() + chrono::Duration::days(1)),
        })
        .await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .context("a port for the console")?;
    let address = listener.local_addr()?;
    let app = server::app(state, 4 * 1024 * 1024)
        .into_make_service_with_connect_info::<std::net::SocketAddr>();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let loops = tokio::spawn(runner.run(async {
        let _ = stopped.await;
    }));
    println!(
        "\nThe console is at http://{address}/console (Graph emulator at {}).\nSign in with this token (it expires in a day):\n\n    {token}\n\nPress Ctrl-C to stop.",
        emulator.base_url()
    );
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .context("the console's server failed")?;
    let _ = stop.send(());
    let _ = loops.await;
    Ok(())
}

async fn settings(store: &Store, emulator: &RunningEmulator) -> anyhow::Result<ProviderSettings> {
    let find = |name: &'static str| async move {
        store
            .find_mapping_by_name(name)
            .await?
            .map(|m| m.id)
            .with_context(|| format!("the {name} mapping"))
    };
    let mut settings = ProviderSettings::new(
        emulator.tenant_id(),
        emulator.client_id(),
        vec![find(mapping::DEFAULT_USER_MAPPING_NAME).await?],
        vec![find(mapping::DEFAULT_GROUP_MAPPING_NAME).await?],
    );
    settings.user_scope.exclude_service_accounts = true;
    settings.schedule = Schedule {
        cron: "0 */4 * * *".into(),
        paused: true,
    };
    Ok(settings)
}

/// The handful of directory changes the demo makes, each shown as it lands.
struct Changes<'a> {
    store: &'a Store,
    runner: &'a Arc<Runner>,
    provider: ProviderId,
    quiet: bool,
}

impl Changes<'_> {
    async fn changes(&self) -> anyhow::Result<()> {
        let users = self
            .store
            .list_users(&store::UserFilter::default(), store::Page::first(6))
            .await?;
        let [a, b, c, d, e, ..] = users.as_slice() else {
            bail!("the sample directory is too small");
        };
        let engineering = self
            .store
            .find_group_by_name(&model::GroupName::parse("Engineering")?)
            .await?
            .context("the Engineering group")?;
        let rename = UserPatch {
            name: Some(format!("{} (renamed)", a.name)),
            ..UserPatch::default()
        };
        self.step(format!("rename {}", a.username), async {
            self.store.update_user(a.id, rename).await.map(drop)
        })
        .await?;
        let disable = UserPatch {
            is_active: Some(false),
            ..UserPatch::default()
        };
        self.step(format!("disable {}", b.username), async {
            self.store.update_user(b.id, disable).await.map(drop)
        })
        .await?;
        self.step(format!("delete {}", c.username), async {
            self.store.delete_user(c.id).await
        })
        .await?;
        let already = self
            .store
            .list_user_groups(d.id, store::Page::first(100))
            .await?;
        let (what, change) = if already.iter().any(|g| g.id == engineering.id) {
            (format!("remove {} from Engineering", d.username), true)
        } else {
            (format!("add {} to Engineering", d.username), false)
        };
        self.step(what, async {
            if change {
                self.store
                    .remove_members(engineering.id, &[d.id])
                    .await
                    .map(drop)
            } else {
                self.store
                    .add_members(engineering.id, &[d.id])
                    .await
                    .map(drop)
            }
        })
        .await?;
        let leave = UserPatch {
            kind: Some(UserKind::ServiceAccount),
            ..UserPatch::default()
        };
        self.step(
            format!("make {} a service account (leaves scope)", e.username),
            async { self.store.update_user(e.id, leave).await.map(drop) },
        )
        .await?;
        Ok(())
    }

    /// Makes one change, works until it has reached Entra, and says what was sent.
    async fn step(
        &self,
        what: String,
        change: impl std::future::Future<Output = Result<(), store::StoreError>>,
    ) -> anyhow::Result<()> {
        let runtime = self.runner.runtime(self.provider).await?;
        let before = runtime.target.graph().metrics().requests;
        let clock = Instant::now();
        change.await?;
        let left = self
            .runner
            .work_until_idle(self.provider, Duration::from_secs(30))
            .await?;
        if left > 0 {
            bail!("{what}: the direct sync did not finish within 30 s ({left} left)");
        }
        let elapsed = clock.elapsed();
        let after = runtime.target.graph().metrics().requests;
        let sent: Vec<String> = routes_delta(&before, &after)
            .into_iter()
            .filter(|(route, _)| !route.starts_with("POST /oauth2"))
            .map(|(route, n)| {
                if n == 1 {
                    route
                } else {
                    format!("{n} x {route}")
                }
            })
            .collect();
        say!(
            self.quiet,
            "   - {what}: {} ({} ms)",
            sent.join(", "),
            elapsed.as_millis()
        );
        Ok(())
    }
}

type Requests = BTreeMap<String, BTreeMap<String, u64>>;

fn routes_delta(before: &Requests, after: &Requests) -> Vec<(String, u64)> {
    let total = |map: &Requests, route: &str| -> u64 {
        map.get(route).map_or(0, |outcomes| outcomes.values().sum())
    };
    after
        .keys()
        .filter_map(|route| {
            let n = total(after, route).saturating_sub(total(before, route));
            (n > 0).then(|| (route.clone(), n))
        })
        .collect()
}

/// What Entra holds against what the directory says it should, and what it cost.
async fn summary(
    store: &Store,
    runner: &Runner,
    emulator: &RunningEmulator,
    provider: ProviderId,
    started: Instant,
) -> anyhow::Result<Value> {
    let state = emulator.dump();
    let list = |key: &str| state[key].as_array().cloned().unwrap_or_default();
    let remote_users = list("users");
    let remote_groups = list("groups");
    let memberships: usize = remote_groups
        .iter()
        .map(|g| g["members"].as_array().map_or(0, Vec::len))
        .sum();
    // The directory's side: users in scope (not service accounts), all groups, and the
    // memberships between them.
    let (mut users, mut expected_memberships) = (0_u64, 0_u64);
    let mut after = None;
    loop {
        let page = store
            .list_users(
                &store::UserFilter::default(),
                store::Page { after, limit: 1000 },
            )
            .await?;
        let Some(last) = page.last() else { break };
        after = Some(last.id.as_uuid());
        for user in &page {
            if !user.kind.is_service_account() {
                users += 1;
                expected_memberships += store
                    .list_user_groups(user.id, store::Page::first(1000))
                    .await?
                    .len() as u64;
            }
        }
    }
    let groups = store.counts().await?.groups;
    let runtime = runner.runtime(provider).await?;
    let metrics = runtime.target.graph().metrics();
    let mut requests = BTreeMap::new();
    for (route, outcomes) in &metrics.requests {
        requests.insert(route.clone(), outcomes.values().sum::<u64>());
    }
    Ok(json!({
        "entra": {"users": remote_users.len(), "groups": remote_groups.len(), "memberships": memberships},
        "expected": {"users": users, "groups": groups, "memberships": expected_memberships},
        "requests": requests,
        "requests_total": metrics.total_requests(),
        "throttled": metrics.throttled,
        "seconds": (started.elapsed().as_secs_f64() * 10.0).round() / 10.0,
    }))
}
