//! `entrasync`: serve the admin API, administer the directory, import it in bulk, run the
//! local Graph emulator.

mod client;
mod commands;
mod output;
mod settings;

use std::{path::PathBuf, process::ExitCode};

use clap::{Parser, Subcommand};

use crate::{commands::*, output::OutputFormat};

#[derive(Parser)]
#[command(
    name = "entrasync",
    version,
    about = "Keeps a Microsoft Entra ID tenant in step with an identity directory",
    propagate_version = true
)]
struct Cli {
    /// Configuration file (default: entrasync.toml in the working directory, when present).
    #[arg(long, global = true, env = "ENTRASYNC_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
    /// Admin commands: the server's URL (default: http:// + the configured listen address).
    #[arg(long, global = true, env = "ENTRASYNC_SERVER_URL", value_name = "URL")]
    server: Option<String>,
    /// Admin commands: the API token (default: ENTRASYNC_TOKEN or `token` in the config file).
    #[arg(long, global = true, env = "ENTRASYNC_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// How admin commands print their results.
    #[arg(long, short, global = true, value_enum, default_value_t = OutputFormat::Table)]
    output: OutputFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the admin API (creates and prints an admin token on the first start).
    Serve,
    /// The whole product on this machine, no tenant needed: an emulated tenant, a sample
    /// directory, a dry-run plan, a full sync, then direct syncs of a few changes.
    Demo(demo::DemoArgs),
    /// Manage directory users.
    #[command(subcommand)]
    User(users::UserCommand),
    /// Manage directory groups and their members.
    #[command(subcommand)]
    Group(groups::GroupCommand),
    /// Manage Entra ID providers.
    #[command(subcommand)]
    Provider(Box<providers::ProviderCommand>),
    /// Manage property mappings and try them on users and groups.
    #[command(subcommand)]
    Mapping(mappings::MappingCommand),
    /// Manage the admin API's tokens: list, create (printed once), revoke.
    #[command(subcommand)]
    Token(tokens::TokenCommand),
    /// Links between directory objects and Entra objects: list, show, add by hand, remove.
    #[command(subcommand)]
    Link(links::LinkCommand),
    /// Import users, groups and memberships from a CSV or JSON-lines file.
    Import(import::ImportArgs),
    /// Run one full sync of a provider now, in this process, and exit (0: succeeded, 2: some
    /// objects failed, 1: stopped).
    Sync(sync::SyncArgs),
    /// Sync one user or group now, writing to Entra even when the provider is in dry-run mode
    /// (prints what was sent and answered).
    SyncIgnoringDryRun(sync::ObjectArgs),
    /// Run the local Microsoft Graph emulator (for trying mappings and dry runs offline).
    Emulator(emulator::EmulatorArgs),
    /// Benchmarks (JSON on standard output).
    #[command(subcommand)]
    Bench(bench::BenchCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let settings = settings::Settings::load(
        cli.config.as_deref(),
        cli.server.clone(),
        cli.token.clone(),
        cli.output,
    )?;
    match cli.command {
        Command::Serve => serve::run(&settings).await,
        Command::Demo(args) => demo::run(args).await,
        Command::User(command) => users::run(&settings, command).await,
        Command::Group(command) => groups::run(&settings, command).await,
        Command::Provider(command) => providers::run(&settings, *command).await,
        Command::Mapping(command) => mappings::run(&settings, command).await,
        Command::Token(command) => tokens::run(&settings, command).await,
        Command::Link(command) => links::run(&settings, command).await,
        Command::Import(args) => import::run(&settings, args).await,
        Command::Sync(args) => sync::run(&settings, args).await,
        Command::SyncIgnoringDryRun(args) => sync::run_ignoring_dry_run(&settings, args).await,
        Command::Emulator(args) => emulator::run(args).await,
        Command::Bench(command) => bench::run(command).await,
    }
}
