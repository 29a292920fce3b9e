//! `entrasync emulator`: the local Microsoft Graph emulator on its own, for trying mappings and
//! dry runs offline. It prints what a client needs (base URL, tenant, client id and secret) and
//! runs until interrupted.

use std::{path::PathBuf, process::ExitCode, time::Duration};

use anyhow::{Context, bail};
use clap::Args;
use graph_emulator::{Emulator, EmulatorConfig, Knobs, TenantSize, config};

/// The port `entrasync emulator` listens on when none is given.
pub const DEFAULT_PORT: u16 = 8490;

#[derive(Args)]
pub struct EmulatorArgs {
    /// Port on 127.0.0.1 (0: any free port).
    #[arg(long, default_value_t = DEFAULT_PORT)]
    port: u16,
    #[arg(long, default_value = config::DEFAULT_TENANT_ID)]
    tenant_id: String,
    #[arg(long, default_value = config::DEFAULT_CLIENT_ID)]
    client_id: String,
    /// The app's client secret.
    #[arg(long, env = "ENTRASYNC_EMULATOR_CLIENT_SECRET", hide_env_values = true,
          default_value = config::DEFAULT_CLIENT_SECRET)]
    client_secret: String,
    /// Also accept client assertions signed by this certificate's key (PEM).
    #[arg(long, value_name = "PEM_FILE")]
    certificate: Option<PathBuf>,
    /// A verified domain of the tenant (repeatable; the first is the default domain).
    #[arg(long = "domain", value_name = "DOMAIN")]
    domains: Vec<String>,
    /// Apply Graph's identity throttling, for a tenant of this size: auto (from the user count),
    /// s, m or l. `--throttle` alone means auto.
    #[arg(long, num_args = 0..=1, default_missing_value = "auto", value_name = "SIZE")]
    throttle: Option<TenantSize>,
    /// Emulated seconds per real second: 60 replays Graph's 150-second write quota in 2.5 s.
    #[arg(long, default_value_t = 1.0)]
    time_scale: f64,
    /// Latency added to every Graph request, in milliseconds.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Fraction (0 to 1) of Graph requests answered with a 500, 503 or 504.
    #[arg(long, default_value_t = 0.0)]
    error_rate: f64,
    /// For this long after a create, referencing the new object fails as in Graph.
    #[arg(long, default_value_t = 0)]
    replication_lag_ms: u64,
    /// Fraction (0 to 1) of successful writes that are applied and then answered with a 5xx,
    /// a connection reset or a hang (the answer of a committed write is lost).
    #[arg(long, default_value_t = 0.0)]
    post_write_fault_rate: f64,
    /// Reads trail writes by this long: fresh objects are missing from lists, filters and
    /// delta and are 404s by id; deleted ones stay listed.
    #[arg(long, default_value_t = 0)]
    read_lag_ms: u64,
    /// Seed for the fault decisions, so that a run's faults can be replayed.
    #[arg(long, value_name = "SEED")]
    fault_seed: Option<u64>,
    /// Access-token lifetime in emulated seconds (Graph's 3,599 by default; under
    /// `--time-scale 60` a token then lasts one real minute).
    #[arg(long, default_value_t = 3599)]
    token_lifetime_seconds: u64,
}

/// A year of emulated time: enough for a real hour at any time scale a bench uses.
const MAX_TOKEN_LIFETIME_SECONDS: u64 = 365 * 24 * 3600;

impl EmulatorArgs {
    fn config(&self) -> anyhow::Result<EmulatorConfig> {
        if !(self.time_scale.is_finite() && self.time_scale >= 0.0) {
            bail!("--time-scale must be a number of at least 0");
        }
        if !(0.0..=1.0).contains(&self.error_rate) {
            bail!("--error-rate must be between 0 and 1");
        }
        if !(0.0..=1.0).contains(&self.post_write_fault_rate) {
            bail!("--post-write-fault-rate must be between 0 and 1");
        }
        if !(60..=MAX_TOKEN_LIFETIME_SECONDS).contains(&self.token_lifetime_seconds) {
            bail!("--token-lifetime-seconds must be between 60 and {MAX_TOKEN_LIFETIME_SECONDS}");
        }
        let mut config = EmulatorConfig {
            port: self.port,
            tenant_id: self.tenant_id.clone(),
            client_id: self.client_id.clone(),
            client_secret: Some(self.client_secret.clone()),
            time_scale: self.time_scale,
            token_lifetime: Duration::from_secs(self.token_lifetime_seconds),
            knobs: Knobs {
                throttle: self.throttle.is_some(),
                tenant_size: self.throttle.unwrap_or_default(),
                latency_ms: self.latency_ms,
                error_rate: self.error_rate,
                replication_lag_ms: self.replication_lag_ms,
                post_write_fault_rate: self.post_write_fault_rate,
                read_lag_ms: self.read_lag_ms,
                fault_seed: self.fault_seed,
                ..Knobs::default()
            },
            ..EmulatorConfig::default()
        };
        if !self.domains.is_empty() {
            config.verified_domains = self.domains.clone();
        }
        if let Some(path) = &self.certificate {
            let pem = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read the certificate {}", path.display()))?;
            config = config.with_certificate_pem(pem);
        }
        Ok(config)
    }
}

pub async fn run(args: EmulatorArgs) -> anyhow::Result<ExitCode> {
    let config = args.config()?;
    let emulator = Emulator::start(config)
        .await
        .context("cannot start the Graph emulator")?;
    println!("Microsoft Graph emulator");
    println!("  Graph base URL   {}", emulator.base_url());
    println!("  token endpoint   {}", emulator.token_url());
    println!("  tenant id        {}", emulator.tenant_id());
    println!("  client id        {}", emulator.client_id());
    if let Some(secret) = emulator.client_secret() {
        // The emulator's own, made-up credentials: printing them is the point.
        println!("  client secret    {secret}");
    }
    println!(
        "  domains          {}",
        emulator.verified_domains().join(", ")
    );
    println!(
        "  inspection       {}/_emulator/counters (also: state, knobs, reset, seed)",
        emulator.login_url()
    );
    println!("Press Ctrl-C to stop.");
    tokio::signal::ctrl_c()
        .await
        .context("waiting for Ctrl-C")?;
    tokio::time::timeout(Duration::from_secs(5), emulator.shutdown())
        .await
        .ok();
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: EmulatorArgs,
    }

    fn knobs(flags: &[&str]) -> anyhow::Result<Knobs> {
        let cli = Cli::try_parse_from(std::iter::once("emulator").chain(flags.iter().copied()))?;
        Ok(cli.args.config()?.knobs)
    }

    #[test]
    fn harshness_flags_reach_the_knobs() {
        let set = knobs(&[
            "--post-write-fault-rate",
            "0.2",
            "--read-lag-ms",
            "1500",
            "--fault-seed",
            "7",
        ])
        .expect("valid flags");
        assert_eq!(set.post_write_fault_rate, 0.2);
        assert_eq!(set.read_lag_ms, 1500);
        assert_eq!(set.fault_seed, Some(7));
        let unset = knobs(&[]).expect("defaults");
        assert_eq!(
            (
                unset.post_write_fault_rate,
                unset.read_lag_ms,
                unset.fault_seed
            ),
            (0.0, 0, None)
        );
        assert!(knobs(&["--post-write-fault-rate", "1.5"]).is_err());
    }

    fn config(flags: &[&str]) -> anyhow::Result<EmulatorConfig> {
        let cli = Cli::try_parse_from(std::iter::once("emulator").chain(flags.iter().copied()))?;
        cli.args.config()
    }

    #[test]
    fn the_token_lifetime_is_graphs_unless_set_and_is_clamped() {
        let lifetime = |flags: &[&str]| config(flags).map(|c| c.token_lifetime.as_secs());
        assert_eq!(lifetime(&[]).expect("default"), 3599);
        assert_eq!(
            lifetime(&["--token-lifetime-seconds", "215940"]).expect("set"),
            215_940
        );
        assert!(lifetime(&["--token-lifetime-seconds", "59"]).is_err());
        assert!(lifetime(&["--token-lifetime-seconds", "99999999999"]).is_err());
    }
}
