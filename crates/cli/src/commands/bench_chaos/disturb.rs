//! What runs beside a scenario's syncs: dry-run plans requested during every full sync, 429
//! storms, and direct changes whose time to reach Entra is measured. Each is a task stopped
//! through a watch channel; stopping it returns what it counted.

use std::{
    collections::HashSet,
    sync::Arc,
    time::{Duration, Instant},
};

use graph_emulator::Emulator;
use model::{RunId, RunStatus};
use serde::Serialize;
use serde_json::{Value, json};
use tokio::{sync::watch, task::JoinHandle};

use super::{api::Api, api::PlanRequest, rng::Rng};
use crate::commands::bench_directory::SampleDirectory;

/// A background task and the switch that stops it.
pub struct Background<T> {
    stop: watch::Sender<bool>,
    task: JoinHandle<T>,
}

impl<T: Send + 'static> Background<T> {
    pub fn spawn<F>(work: impl FnOnce(watch::Receiver<bool>) -> F) -> Self
    where
        F: std::future::Future<Output = T> + Send + 'static,
    {
        let (stop, stopped) = watch::channel(false);
        Self {
            stop,
            task: tokio::spawn(work(stopped)),
        }
    }

    /// Stops the task and returns what it made.
    pub async fn stop(self) -> anyhow::Result<T> {
        let _ = self.stop.send(true);
        Ok(self.task.await?)
    }
}

/// Sleeps for `pause`, or less when the stop switch is thrown; true when stopped.
async fn pause(stopped: &mut watch::Receiver<bool>, pause: Duration) -> bool {
    if *stopped.borrow() {
        return true;
    }
    tokio::select! {
        _ = stopped.changed() => true,
        () = tokio::time::sleep(pause) => *stopped.borrow(),
    }
}

/// Whether a full sync (not a dry run) of the provider is running now, and which.
pub async fn running_full_sync(api: &Api) -> anyhow::Result<Option<RunId>> {
    Ok(api
        .runs()
        .await?
        .into_iter()
        .find(|run| !run.dry_run && run.status == RunStatus::Running)
        .map(|run| run.id))
}

#[derive(Debug, Default, Serialize)]
pub struct PlanStats {
    /// Full syncs seen running.
    pub full_syncs_seen: u64,
    /// Of those, how many had a dry run requested while they ran.
    pub full_syncs_with_a_plan: u64,
    /// Dry runs started (202).
    pub plans_started: u64,
    /// Requests answered 409: a dry run was being made already.
    pub plans_already_running: u64,
    /// Requests that found no node to answer (a node being killed).
    pub unanswered: u64,
}

/// Asks for a dry run at once when a full sync is seen running, and again every `every` while
/// it runs (a 409 means one is still being made: it overlaps the sync all the same).
pub fn request_plans(api: Arc<Api>, every: Duration) -> Background<PlanStats> {
    Background::spawn(move |mut stopped| async move {
        let mut stats = PlanStats::default();
        let mut seen = HashSet::new();
        let mut planned = HashSet::new();
        let mut last: Option<Instant> = None;
        while !pause(&mut stopped, Duration::from_millis(250)).await {
            let Ok(Some(run)) = running_full_sync(&api).await else {
                continue;
            };
            seen.insert(run);
            let due = !planned.contains(&run) || last.is_none_or(|at| at.elapsed() >= every);
            if !due {
                continue;
            }
            match api.request_plan().await {
                Ok(PlanRequest::Started) => stats.plans_started += 1,
                Ok(PlanRequest::AlreadyRunning) => stats.plans_already_running += 1,
                Err(_) => {
                    stats.unanswered += 1;
                    continue;
                }
            }
            planned.insert(run);
            last = Some(Instant::now());
        }
        stats.full_syncs_seen = seen.len() as u64;
        stats.full_syncs_with_a_plan = planned.len() as u64;
        stats
    })
}

#[derive(Debug, Default, Serialize)]
pub struct StormStats {
    pub storms: u64,
    pub seconds: f64,
    /// The `Retry-After` of each storm, in milliseconds.
    pub retry_after_ms: Vec<u64>,
}

/// 429 storms at seeded moments (5 to 20 s apart): every Graph request refused for 1 to 3 s,
/// with a `Retry-After` of half a second up to twice the lease (at most 10 s), so that a worker
/// honouring it outwaits its own claim unless the claim is renewed.
pub fn storms(emulator: Emulator, mut rng: Rng, lease: Duration) -> Background<StormStats> {
    Background::spawn(move |mut stopped| async move {
        let mut stats = StormStats::default();
        let longest = (lease.as_millis() as u64 * 2).clamp(1000, 10_000);
        loop {
            let calm = Duration::from_secs_f64(rng.between(5.0, 20.0));
            if pause(&mut stopped, calm).await {
                break;
            }
            let retry_after = 500 + rng.below(longest - 500);
            let length = Duration::from_secs_f64(rng.between(1.0, 3.0));
            let mut knobs = emulator.knobs();
            knobs.storm_rate = 1.0;
            knobs.storm_retry_after_ms = retry_after;
            emulator.set_knobs(knobs);
            let began = Instant::now();
            let stop = pause(&mut stopped, length).await;
            let mut knobs = emulator.knobs();
            knobs.storm_rate = 0.0;
            emulator.set_knobs(knobs);
            stats.storms += 1;
            stats.seconds += began.elapsed().as_secs_f64();
            stats.retry_after_ms.push(retry_after);
            if stop {
                break;
            }
        }
        stats.seconds = crate::commands::bench_stats::round(stats.seconds);
        stats
    })
}

/// Direct-sync latency during a full sync: a user already in Entra is renamed and disabled
/// through the API (a leaver, the case that must not wait), and the time until Entra shows
/// both is measured on the emulator itself.
#[derive(Debug, Default, Serialize)]
pub struct Probes {
    /// Milliseconds from the API's answer to Entra showing the change.
    pub samples_ms: Vec<f64>,
    /// Changes Entra did not show within the patience.
    pub timed_out: u64,
}

/// How long one probe waits for Entra.
const PROBE_PATIENCE: Duration = Duration::from_secs(180);

/// Makes up to `count` probes while a full sync runs, one after another, on users from
/// `targets` (users no other change of the scenario touches).
pub async fn probe_latency(
    api: &Api,
    emulator: &Emulator,
    targets: &mut Vec<u64>,
    count: usize,
    rng: &mut Rng,
    label: &str,
) -> anyhow::Result<Probes> {
    let mut probes = Probes::default();
    for k in 0..count {
        tokio::time::sleep(Duration::from_secs_f64(rng.between(1.0, 3.0))).await;
        if running_full_sync(api).await?.is_none() {
            break;
        }
        let tenant = dump(emulator).await?;
        let Some(position) = targets
            .iter()
            .position(|&u| remote_user(&tenant, &SampleDirectory::email(u)).is_some())
        else {
            continue;
        };
        let user = targets.remove(position);
        let name = format!("Probe {label}-{k}");
        api.patch_user(
            &SampleDirectory::username(user),
            json!({"name": name, "is_active": false}),
        )
        .await?;
        let changed = Instant::now();
        loop {
            let tenant = dump(emulator).await?;
            let arrived = remote_user(&tenant, &SampleDirectory::email(user)).is_some_and(|u| {
                u["displayName"] == json!(name) && u["accountEnabled"] == json!(false)
            });
            if arrived {
                probes
                    .samples_ms
                    .push(changed.elapsed().as_secs_f64() * 1000.0);
                break;
            }
            if changed.elapsed() > PROBE_PATIENCE {
                probes.timed_out += 1;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    Ok(probes)
}

/// The emulator's state, taken off the async workers (it copies the whole tenant).
pub async fn dump(emulator: &Emulator) -> anyhow::Result<Value> {
    let emulator = emulator.clone();
    Ok(tokio::task::spawn_blocking(move || emulator.dump()).await?)
}

fn remote_user<'a>(dump: &'a Value, upn: &str) -> Option<&'a Value> {
    dump["users"].as_array()?.iter().find(|u| {
        u["userPrincipalName"]
            .as_str()
            .is_some_and(|p| p.eq_ignore_ascii_case(upn))
    })
}
