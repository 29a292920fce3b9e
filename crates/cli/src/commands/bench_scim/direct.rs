//! From a SCIM write to Entra's answer, on an idle node: the Graph emulator in this process, a
//! provider against it, and the sync workers running beside the server as `serve` runs them.
//! Each user is created over SCIM, then the emulator is looked at every 2 ms until a user with
//! that userPrincipalName exists.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use graph_emulator::{Emulator, EmulatorConfig, RunningEmulator};
use model::ProviderId;
use runner::{GraphOverride, Quiet, Runner, RunnerOptions};
use serde_json::{Value, json};
use server::{AppState, install_default_mappings};
use store::{ProviderCredential, Store};

use super::{Node, creates::scim_user, millis};
use crate::commands::bench_stats::percentiles;

const POLL: Duration = Duration::from_millis(2);
/// Between two users: the workers are waiting for work again when the next write comes.
const IDLE: Duration = Duration::from_millis(100);
const TIMEOUT: Duration = Duration::from_secs(30);

pub async fn latency(store: &Store, users: u64) -> anyhow::Result<Value> {
    let emulator = Emulator::start(EmulatorConfig::default())
        .await
        .context("starting the Graph emulator")?;
    // The default mapping makes the email the userPrincipalName: it must be on a verified
    // domain for Entra to take it.
    let domain = emulator
        .verified_domains()
        .first()
        .context("the emulator has a verified domain")?
        .clone();
    install_default_mappings(store).await?;
    let (secret_key, _) = store::SecretKey::generate()?;
    let state = AppState::new(store.clone(), secret_key);
    let secret = emulator
        .client_secret()
        .context("the emulator takes a client secret")?;
    store
        .create_provider(
            "bench",
            super::super::bench_sync::settings(store, emulator.tenant_id(), emulator.client_id())
                .await?,
            &ProviderCredential::ClientSecret(secret.to_owned().into()),
            &state.secret_key,
            ProviderId::new(),
        )
        .await?;
    let runner = Arc::new(Runner::new(
        store.clone(),
        state.secret_key.clone(),
        Some(GraphOverride {
            login_url: emulator.login_url().to_owned(),
            graph_url: emulator.base_url().to_owned(),
            time_scale: 1.0,
        }),
        RunnerOptions::default(),
        "bench-scim",
    ));
    // The provider's creation queued a full sync (of an empty directory): it is done before
    // the clock starts, so that no sample waits for it.
    if let Some(run) = runner.full_sync_once(&Quiet).await?
        && run.status != model::RunStatus::Succeeded
    {
        bail!(
            "the provider's first full sync against the emulator ended {:?}",
            run.status
        );
    }
    let (stop, stopping) = tokio::sync::oneshot::channel::<()>();
    let workers = tokio::spawn(runner.clone().run(async {
        let _ = stopping.await;
    }));
    let node = Node::start(state.with_runner(runner)).await?;

    // The full sync above fetched the Graph token: no sample pays for it.
    let mut samples = Vec::with_capacity(users as usize);
    for n in 0..users {
        tokio::time::sleep(IDLE).await;
        samples.push(one(&node, &emulator, &domain, n).await?);
        super::progress("users in Entra", n + 1, users);
    }

    let _ = stop.send(());
    if tokio::time::timeout(Duration::from_secs(10), workers)
        .await
        .is_err()
    {
        eprintln!("bench scim: the sync workers did not stop within 10 s");
    }
    node.stop();
    emulator.shutdown().await;
    store.close().await;
    Ok(json!({
        "users": users,
        "ms": percentiles(&samples),
        "poll_every_ms": POLL.as_millis() as u64,
        "idle_between_users_ms": IDLE.as_millis() as u64,
    }))
}

/// Creates user `n` over SCIM; the milliseconds until Entra holds it.
async fn one(node: &Node, emulator: &RunningEmulator, domain: &str, n: u64) -> anyhow::Result<f64> {
    let upn = format!("direct{n:04}@{domain}");
    let body = scim_user(&upn, &upn, n).to_string();
    let clock = Instant::now();
    let (status, answer) = node
        .scim(reqwest::Method::POST, "/Users", &[], Some(body))
        .await?;
    if status != 201 {
        bail!("SCIM POST /Users answered {status}: {answer}");
    }
    loop {
        let tenant = emulator.dump();
        let there = tenant["users"].as_array().is_some_and(|users| {
            users
                .iter()
                .any(|user| user["userPrincipalName"].as_str() == Some(upn.as_str()))
        });
        if there {
            return Ok(millis(clock));
        }
        if clock.elapsed() > TIMEOUT {
            bail!("{upn} did not reach Entra within {} s", TIMEOUT.as_secs());
        }
        tokio::time::sleep(POLL).await;
    }
}
