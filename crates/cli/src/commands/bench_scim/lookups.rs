//! `GET /Users?filter=userName eq "…"` (what Entra's provisioning service sends before every
//! create) at a large directory and at a tenth of it, beside `userName co "…"`, which finds
//! the same one user but no index answers: the first stays flat as the directory grows, the
//! second grows with it.

use std::time::Instant;

use anyhow::{anyhow, bail};
use model::{Email, ImportRecord, NewUser, Username};
use serde_json::{Value, json};
use server::AppState;
use store::{ImportOutcome, Store};

use super::{Node, millis, progress, stat};
use crate::commands::bench_directory::SampleDirectory;
use crate::commands::bench_stats::{percentiles, round};

/// Users per import transaction, as `bench import` sends them.
const BATCH: u64 = 1000;

pub async fn latency(store: &Store, users: u64, lookups: u64, scans: u64) -> anyhow::Result<Value> {
    let (secret_key, _) = store::SecretKey::generate()?;
    let node = Node::start(AppState::new(store.clone(), secret_key)).await?;
    // A fixed seed: two runs look up the same names.
    let mut rng = SplitMix(0x5CE1_u64);
    let mut sizes = vec![(users / 10).max(1), users];
    sizes.dedup();
    let (mut loaded, mut load_seconds) = (0, 0.0);
    let mut by_size = Vec::new();
    for size in sizes {
        let clock = Instant::now();
        load(store, loaded, size, users).await?;
        load_seconds += clock.elapsed().as_secs_f64();
        loaded = size;
        let indexed = time_filter(&node, "eq", size, lookups, &mut rng).await?;
        let scanned = time_filter(&node, "co", size, scans, &mut rng).await?;
        let ratio = stat(&scanned, "p50")
            .zip(stat(&indexed, "p50"))
            .map(|(scan, index)| round(scan / index.max(0.01)));
        by_size.push(json!({
            "users": size,
            "indexed_username_eq_ms": indexed,
            "baseline_unindexed_username_co_ms": scanned,
            "baseline_p50_over_indexed_p50": ratio,
        }));
    }
    node.stop();
    let counts = store.counts().await?;
    store.close().await;
    if counts.users != users as i64 {
        bail!(
            "the store holds {} users after loading {users}",
            counts.users
        );
    }
    Ok(json!({
        "directory_load": {
            "method": "the store's import (bench import's path), 1,000 users per transaction",
            "users": users,
            "seconds": round(load_seconds),
            "users_per_second": (users as f64 / load_seconds.max(f64::EPSILON)).round(),
        },
        "by_directory_size": by_size,
    }))
}

/// Imports the sample users `from..to` (of `total`, for progress).
async fn load(store: &Store, from: u64, to: u64, total: u64) -> anyhow::Result<()> {
    let mut start = from;
    while start < to {
        let end = (start + BATCH).min(to);
        let records = (start..end)
            .map(|u| {
                let mut user = NewUser::new(
                    Username::parse(SampleDirectory::username(u)).map_err(|e| anyhow!("{e}"))?,
                );
                user.name = Some(SampleDirectory::display_name(u));
                user.email =
                    Some(Email::parse(SampleDirectory::email(u)).map_err(|e| anyhow!("{e}"))?);
                Ok(ImportRecord::User(user))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let outcomes = store.import(records).await?;
        if let Some(failed) = outcomes
            .iter()
            .find(|outcome| !matches!(outcome, ImportOutcome::Created))
        {
            bail!("importing the lookup directory: {failed:?}");
        }
        for done in start + 1..=end {
            progress("users loaded", done, total);
        }
        start = end;
    }
    Ok(())
}

/// `times` lookups of random users among the first `size` with `userName <operator> "…"`,
/// each checked to find exactly that user.
async fn time_filter(
    node: &Node,
    operator: &str,
    size: u64,
    times: u64,
    rng: &mut SplitMix,
) -> anyhow::Result<Value> {
    let mut samples = Vec::with_capacity(times as usize);
    for _ in 0..times {
        let name = SampleDirectory::username(rng.below(size));
        let filter = format!("userName {operator} \"{name}\"");
        let clock = Instant::now();
        let (status, answer) = node
            .scim(reqwest::Method::GET, "/Users", &[("filter", &filter)], None)
            .await?;
        samples.push(millis(clock));
        if status != 200
            || answer["totalResults"] != 1
            || answer["Resources"][0]["userName"] != name
        {
            bail!("GET /Users?filter={filter} answered {status}: {answer}");
        }
    }
    Ok(percentiles(&samples))
}

/// SplitMix64: random enough to pick names, and seeded.
struct SplitMix(u64);

impl SplitMix {
    /// Uniform enough in `0..n` (`n` > 0).
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        (z ^ (z >> 31)) % n.max(1)
    }
}
