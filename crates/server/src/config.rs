//! Configuration: defaults that work with no file at all, a TOML file over them, and
//! `ENTRASYNC_*` environment variables over both. A bad value is reported with its key and where
//! it came from (the file or the variable).

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
};

use figment::{
    Figment,
    providers::{Env, Format, Toml},
};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

/// Where the configuration file is looked for when none is named.
pub const DEFAULT_CONFIG_FILE: &str = "entrasync.toml";
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8480";
pub const DEFAULT_DATABASE_URL: &str = "sqlite://entrasync.db";
pub const ENV_PREFIX: &str = "ENTRASYNC_";

/// Every setting, with its default.
#[derive(Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address the admin API listens on.
    pub listen: SocketAddr,
    /// `sqlite://PATH` (the default, a file in the working directory) or `postgres://…`.
    pub database_url: String,
    /// PostgreSQL only: the schema that holds entrasync's tables.
    pub database_schema: Option<String>,
    /// An admin API token to accept (besides the ones the database holds), at least 32
    /// characters. Each start stores it under one fixed identity, replacing the value configured
    /// before (which stops working); unset, that identity is removed. When no admin token is
    /// left that can be used, `serve` creates one and prints it once.
    pub admin_token: Option<SecretString>,
    /// Largest request body the API accepts, in bytes.
    pub max_body_bytes: usize,
    /// `text` or `json` log lines.
    pub log_format: LogFormat,
    /// The key that seals provider credentials at rest (32 bytes, base64). When unset, the key
    /// is read from `secret_key_file`, which is created on first use.
    pub secret_key: Option<SecretString>,
    /// Where the secret key is kept when `secret_key` is not set.
    pub secret_key_file: PathBuf,
    /// Admin commands: the server to talk to (default: `http://` + `listen`).
    pub server_url: Option<String>,
    /// Admin commands: the API token to send.
    pub token: Option<SecretString>,
    /// Graph's v1.0 root for every provider, instead of its cloud's (the emulator:
    /// `http://127.0.0.1:8490/v1.0`). Set together with `login_url`.
    pub graph_url: Option<String>,
    /// The login root for every provider, instead of its cloud's (the emulator:
    /// `http://127.0.0.1:8490`).
    pub login_url: Option<String>,
    /// With `graph_url`: how much faster than real time the emulator's throttling clock runs
    /// (its `--time-scale`), so that pacing keeps up.
    pub graph_time_scale: f64,
    /// Whether `serve` runs the sync workers and schedules (an API-only node says false).
    pub workers: bool,
    /// How long a node's claim on a piece of sync work holds: when a node dies, another takes
    /// its work over this long after its last renewal.
    pub work_lease_seconds: u64,
    /// How many days runs and their plans are kept.
    pub run_retention_days: u64,
    /// Also serve `/metrics` here, without a token (for a Prometheus on a private network).
    /// On `listen`, `/metrics` needs an admin token.
    pub metrics_listen: Option<SocketAddr>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: DEFAULT_LISTEN
                .parse()
                .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 8480))),
            database_url: DEFAULT_DATABASE_URL.to_owned(),
            database_schema: None,
            admin_token: None,
            max_body_bytes: 4 * 1024 * 1024,
            log_format: LogFormat::Text,
            secret_key: None,
            secret_key_file: PathBuf::from(DEFAULT_SECRET_KEY_FILE),
            server_url: None,
            token: None,
            graph_url: None,
            login_url: None,
            graph_time_scale: 1.0,
            workers: true,
            work_lease_seconds: 60,
            run_retention_days: 90,
            metrics_listen: None,
        }
    }
}

// By hand, so that the database URL's password stays out of a `{:?}` (the secrets are
// `SecretString`s, which redact themselves). Every field is named: a new one must be added here.
impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let Config {
            listen,
            database_url,
            database_schema,
            admin_token,
            max_body_bytes,
            log_format,
            secret_key,
            secret_key_file,
            server_url,
            token,
            graph_url,
            login_url,
            graph_time_scale,
            workers,
            work_lease_seconds,
            run_retention_days,
            metrics_listen,
        } = self;
        f.debug_struct("Config")
            .field("listen", listen)
            .field("database_url", &store::redact_url(database_url))
            .field("database_schema", database_schema)
            .field("admin_token", admin_token)
            .field("max_body_bytes", max_body_bytes)
            .field("log_format", log_format)
            .field("secret_key", secret_key)
            .field("secret_key_file", secret_key_file)
            .field("server_url", server_url)
            .field("token", token)
            .field("graph_url", graph_url)
            .field("login_url", login_url)
            .field("graph_time_scale", graph_time_scale)
            .field("workers", workers)
            .field("work_lease_seconds", work_lease_seconds)
            .field("run_retention_days", run_retention_days)
            .field("metrics_listen", metrics_listen)
            .finish()
    }
}

/// Where the secret key is kept by default.
pub const DEFAULT_SECRET_KEY_FILE: &str = "entrasync.key";

const KEYS: [&str; 17] = [
    "run_retention_days",
    "metrics_listen",
    "graph_time_scale",
    "work_lease_seconds",
    "graph_url",
    "login_url",
    "workers",
    "secret_key",
    "secret_key_file",
    "listen",
    "database_url",
    "database_schema",
    "admin_token",
    "max_body_bytes",
    "log_format",
    "server_url",
    "token",
];

/// A configuration that cannot be used, with every problem found.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration:\n{}", .problems.join("\n"))]
pub struct ConfigError {
    pub problems: Vec<String>,
}

impl Config {
    /// Loads the configuration: defaults, then `file` (when given it must exist; when not given,
    /// `entrasync.toml` is read if present), then the environment.
    pub fn load(file: Option<&Path>) -> Result<Config, ConfigError> {
        Self::load_from(file, Env::prefixed(ENV_PREFIX).only(&KEYS))
    }

    fn load_from(file: Option<&Path>, env: Env) -> Result<Config, ConfigError> {
        let mut figment = Figment::new();
        match file {
            Some(path) if !path.exists() => {
                return Err(ConfigError {
                    problems: vec![format!(
                        "the configuration file {} does not exist",
                        path.display()
                    )],
                });
            }
            Some(path) => figment = figment.merge(Toml::file_exact(path)),
            None if Path::new(DEFAULT_CONFIG_FILE).exists() => {
                figment = figment.merge(Toml::file_exact(DEFAULT_CONFIG_FILE));
            }
            None => {}
        }
        let figment = figment.merge(env);
        let config = figment.extract::<Config>().map_err(|errors| ConfigError {
            problems: errors.into_iter().map(describe).collect(),
        })?;
        let problems = config.problems(&figment);
        if problems.is_empty() {
            Ok(config)
        } else {
            Err(ConfigError { problems })
        }
    }

    /// What the values say that their types cannot: one line per problem, like [`describe`]'s.
    fn problems(&self, figment: &Figment) -> Vec<String> {
        let mut problems = Vec::new();
        if let Some(problem) = self
            .admin_token
            .as_ref()
            .and_then(|token| crate::auth::token_problem(token.expose_secret()))
        {
            // The value itself is never repeated: it is a secret even when it is a bad one.
            problems.push(match figment.find_metadata("admin_token") {
                Some(metadata) => format!(
                    "  admin_token (from {}): {problem}",
                    origin(&["admin_token"], metadata)
                ),
                None => format!("  admin_token: {problem}"),
            });
        }
        problems
    }

    /// The URL admin commands talk to.
    pub fn server_url(&self) -> String {
        self.server_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", self.listen))
    }

    /// The runner's settings from this configuration.
    pub fn runner_options(&self) -> runner::RunnerOptions {
        runner::RunnerOptions {
            // Durations from input are clamped: a lease of a second to an hour, runs kept up to
            // ten years.
            lease: std::time::Duration::from_secs(self.work_lease_seconds.clamp(1, 3600)),
            run_retention: std::time::Duration::from_secs(
                self.run_retention_days
                    .clamp(1, 3650)
                    .saturating_mul(24 * 3600),
            ),
            ..runner::RunnerOptions::default()
        }
    }

    /// Where every provider's Graph lives when `graph_url` and `login_url` say (both or
    /// neither), rather than at its cloud.
    pub fn graph_override(&self) -> Result<Option<runner::GraphOverride>, ConfigError> {
        match (&self.graph_url, &self.login_url) {
            (None, None) => Ok(None),
            (Some(graph_url), Some(login_url)) => Ok(Some(runner::GraphOverride {
                graph_url: graph_url.clone(),
                login_url: login_url.clone(),
                time_scale: self.graph_time_scale,
            })),
            _ => Err(ConfigError {
                problems: vec![
                    "graph_url and login_url go together: set both (the emulator's) or neither"
                        .to_owned(),
                ],
            }),
        }
    }
}

/// Where the value at `path` came from: the file, or the environment variable.
fn origin<S: AsRef<str>>(path: &[S], metadata: &figment::Metadata) -> String {
    let parts: Vec<&str> = path.iter().map(AsRef::as_ref).collect();
    match &metadata.source {
        Some(source) => format!("{} in {source}", parts.join(".")),
        None if metadata.name.contains("environment") => format!(
            "environment variable {ENV_PREFIX}{}",
            parts.join("_").to_uppercase()
        ),
        None => metadata.name.to_string(),
    }
}

/// One line per problem: the key, where its value came from, and what is wrong.
fn describe(error: figment::Error) -> String {
    let key = error.path.join(".");
    let origin = error
        .metadata
        .as_ref()
        .map(|metadata| origin(&error.path, metadata));
    match (key.is_empty(), origin) {
        (false, Some(origin)) => format!("  {key} (from {origin}): {}", error.kind),
        (false, None) => format!("  {key}: {}", error.kind),
        (true, Some(origin)) => format!("  {origin}: {}", error.kind),
        (true, None) => format!("  {}", error.kind),
    }
}

#[cfg(test)]
// figment's Jail fixes the closure's error type.
#[allow(clippy::result_large_err)]
mod tests {
    use figment::Jail;
    use secrecy::ExposeSecret;

    use super::*;

    #[test]
    fn works_with_no_file_and_no_environment() {
        Jail::expect_with(|_jail| {
            let config = Config::load(None).expect("defaults");
            assert_eq!(config.listen.to_string(), DEFAULT_LISTEN);
            assert_eq!(config.database_url, DEFAULT_DATABASE_URL);
            assert_eq!(config.server_url(), format!("http://{DEFAULT_LISTEN}"));
            Ok(())
        });
    }

    #[test]
    fn the_environment_overrides_the_file() {
        Jail::expect_with(|jail| {
            jail.create_file(
                DEFAULT_CONFIG_FILE,
                "database_url = \"postgres://db/entrasync\"\nadmin_token = \"t0ken-of-32-characters-or-more-0123\"",
            )?;
            jail.set_env("ENTRASYNC_DATABASE_URL", "sqlite://other.db");
            jail.set_env("ENTRASYNC_UNRELATED", "ignored");
            let config = Config::load(None).expect("valid");
            assert_eq!(config.database_url, "sqlite://other.db");
            assert_eq!(
                config
                    .admin_token
                    .as_ref()
                    .map(|t| t.expose_secret().to_owned()),
                Some("t0ken-of-32-characters-or-more-0123".to_owned())
            );
            Ok(())
        });
    }

    #[test]
    fn a_bad_value_names_its_key_and_where_it_came_from() {
        Jail::expect_with(|jail| {
            jail.create_file("bad.toml", "listen = \"not an address\"")?;
            let err = Config::load(Some(Path::new("bad.toml"))).expect_err("invalid");
            let text = err.to_string();
            assert!(
                text.contains("listen") && text.contains("bad.toml"),
                "{text}"
            );

            jail.create_file("typo.toml", "lsiten = \"127.0.0.1:1\"")?;
            let err = Config::load(Some(Path::new("typo.toml"))).expect_err("unknown key");
            assert!(err.to_string().contains("lsiten"), "{err}");

            jail.set_env("ENTRASYNC_MAX_BODY_BYTES", "lots");
            let err = Config::load(None).expect_err("invalid env");
            let text = err.to_string();
            assert!(text.contains("ENTRASYNC_MAX_BODY_BYTES"), "{text}");
            Ok(())
        });
    }

    #[test]
    fn a_short_admin_token_is_refused_by_key_and_source_without_its_value() {
        Jail::expect_with(|jail| {
            jail.create_file("short.toml", "admin_token = \"hunter2-but-short\"")?;
            let err = Config::load(Some(Path::new("short.toml"))).expect_err("too short");
            let text = err.to_string();
            assert!(
                text.contains("admin_token") && text.contains("short.toml"),
                "{text}"
            );
            assert!(text.contains("32 characters"), "{text}");
            assert!(!text.contains("hunter2"), "{text}");

            jail.set_env("ENTRASYNC_ADMIN_TOKEN", "hunter2-from-the-environment");
            let err = Config::load(None).expect_err("too short");
            let text = err.to_string();
            assert!(text.contains("ENTRASYNC_ADMIN_TOKEN"), "{text}");
            assert!(!text.contains("hunter2"), "{text}");

            jail.set_env(
                "ENTRASYNC_ADMIN_TOKEN",
                "a token with spaces that is long enough",
            );
            let err = Config::load(None).expect_err("spaces");
            assert!(err.to_string().contains("visible ASCII"), "{err}");

            jail.set_env(
                "ENTRASYNC_ADMIN_TOKEN",
                "es_0123456789abcdefghijklmnopqrstuvwxyz",
            );
            Config::load(None).expect("long enough");
            Ok(())
        });
    }

    #[test]
    fn debug_output_shows_no_secret() {
        let config = Config {
            database_url: "postgres://app:hunter2@db/entrasync?sslpassword=hunter3".to_owned(),
            admin_token: Some(SecretString::from("hunter4-0123456789abcdefghijklmnop")),
            secret_key: Some(SecretString::from("hunter5")),
            token: Some(SecretString::from("hunter6")),
            ..Config::default()
        };
        let shown = format!("{config:?}");
        assert!(!shown.contains("hunter"), "{shown}");
        assert!(shown.contains("postgres://app:***@db/entrasync"), "{shown}");
    }

    #[test]
    fn a_missing_named_file_is_an_error() {
        let err =
            Config::load(Some(Path::new("/nonexistent/entrasync.toml"))).expect_err("missing file");
        assert!(err.to_string().contains("does not exist"), "{err}");
    }
}
