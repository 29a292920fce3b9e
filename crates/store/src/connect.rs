use std::{fmt, str::FromStr, time::Duration};

use sqlx::{
    Connection,
    postgres::{PgConnectOptions, PgPoolOptions},
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous},
};

use url::Url;

use crate::{Backend, Result, Store, StoreError};

/// The SQL dialect of the backend, for the few statements that differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

/// How to reach the database.
#[derive(Clone)]
pub struct ConnectOptions {
    /// `sqlite://PATH` (created when missing) or `postgres://…`.
    pub url: String,
    /// Connections in the pool (PostgreSQL) or in the read pool (SQLite).
    pub max_connections: u32,
    /// PostgreSQL only: keep every table in this schema (created when missing), so that one
    /// database can hold several installations.
    pub schema: Option<String>,
}

impl ConnectOptions {
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            max_connections: 8,
            schema: None,
        }
    }
}

// The URL may hold a password: a `{:?}` shows it redacted.
impl fmt::Debug for ConnectOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectOptions")
            .field("url", &redact_url(&self.url))
            .field("max_connections", &self.max_connections)
            .field("schema", &self.schema)
            .finish()
    }
}

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

impl Store {
    /// Opens the database at `url` and brings its schema up to date.
    pub async fn connect(url: &str) -> Result<Store> {
        Self::connect_with(&ConnectOptions::new(url)).await
    }

    pub async fn connect_with(options: &ConnectOptions) -> Result<Store> {
        let url = options.url.as_str();
        let store = if url.starts_with("sqlite:") {
            open_sqlite(url, options.max_connections).await?
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            open_postgres(url, options.max_connections, options.schema.as_deref()).await?
        } else {
            return Err(StoreError::Config(format!(
                "database URL {} must start with sqlite:// or postgres://",
                redact_url(url)
            )));
        };
        Ok(store)
    }
}

async fn open_sqlite(url: &str, max_connections: u32) -> Result<Store> {
    let options = SqliteConnectOptions::from_str(url)
        .map_err(|err| StoreError::Config(format!("{}: {err}", redact_url(url))))?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        // FULL: a commit is on disk before it is acknowledged, power loss included.
        .synchronous(SqliteSynchronous::Full)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(10));
    let in_memory = url.contains(":memory:") || url.contains("mode=memory");
    let write = SqlitePoolOptions::new()
        .max_connections(1)
        // An in-memory database lives as long as its one connection.
        .min_connections(u32::from(in_memory))
        .idle_timeout(None)
        .max_lifetime(None)
        .connect_with(options.clone())
        .await?;
    SQLITE_MIGRATIONS.run(&write).await?;
    let read = if in_memory {
        write.clone()
    } else {
        SqlitePoolOptions::new()
            .max_connections(max_connections.max(1))
            .connect_with(options.read_only(true))
            .await?
    };
    Ok(Store {
        backend: Backend::Sqlite { read, write },
        clock: Default::default(),
        changed: Default::default(),
        // One process holds a SQLite database: its own writes are all there are.
        other_nodes: None,
    })
}

async fn open_postgres(url: &str, max_connections: u32, schema: Option<&str>) -> Result<Store> {
    refuse_unread_credentials(url)?;
    let mut options = PgConnectOptions::from_str(url)
        .map_err(|err| StoreError::Config(format!("{}: {err}", redact_url(url))))?;
    if let Some(schema) = schema {
        if schema.is_empty()
            || !schema
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            return Err(StoreError::Config(format!(
                "schema {schema:?} must be letters, digits and underscores"
            )));
        }
        let mut admin = sqlx::PgConnection::connect_with(&options).await?;
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "CREATE SCHEMA IF NOT EXISTS \"{schema}\""
        )))
        .execute(&mut admin)
        .await?;
        admin.close().await?;
        options = options.options([("search_path", schema)]);
    }
    let pool = PgPoolOptions::new()
        .max_connections(max_connections.max(2))
        .acquire_timeout(Duration::from_secs(10))
        .connect_with(options)
        .await?;
    POSTGRES_MIGRATIONS.run(&pool).await?;
    let schema = match schema {
        Some(schema) => schema.to_owned(),
        None => {
            sqlx::query_scalar("SELECT current_schema()")
                .fetch_one(&pool)
                .await?
        }
    };
    Ok(Store {
        other_nodes: Some(std::sync::Arc::new(crate::listen::OtherNodes::new(
            pool.clone(),
            schema,
        ))),
        backend: Backend::Postgres(pool),
        clock: Default::default(),
        changed: Default::default(),
    })
}

/// Refuses a credential in a URL parameter that sqlx does not read: sqlx logs the value of
/// every parameter it does not know (`sslpassword`, say, or `Password`), so it would reach the
/// log in clear, and the connection would not use it anyway.
fn refuse_unread_credentials(url: &str) -> Result<()> {
    let Ok(parsed) = Url::parse(url) else {
        // sqlx refuses it too, with a message that holds no part of it.
        return Ok(());
    };
    for (key, _) in parsed.query_pairs() {
        if key != "password" && is_credential_parameter(&key) {
            let hint = if key == "sslpassword" {
                " (sqlx cannot open an encrypted client key: give `sslkey` an unencrypted key \
                 that only entrasync can read)"
            } else {
                ""
            };
            return Err(StoreError::Config(format!(
                "the database URL parameter `{key}` is not supported{hint}; remove it"
            )));
        }
    }
    Ok(())
}

/// What replaces a secret in messages.
const MASK: &str = "***";

/// The database URL as messages and logs may show it: the password and every credential-bearing
/// query parameter (`password`, `sslpassword`, …) replaced by `***`. A URL that does not parse,
/// or that parses in a way that suggests an unescaped `/`, `?` or `#` in its password, shows only
/// its scheme, host and database, or less when even those are in doubt.
pub fn redact_url(url: &str) -> String {
    // SQLite URLs are file paths, which `url` would re-encode or refuse (spaces); only their
    // query could hold something secret.
    if url.starts_with("sqlite:") {
        return match url.split_once('?') {
            Some((path, query)) => format!("{path}?{}", redact_query(query).0),
            None => url.to_owned(),
        };
    }
    match Url::parse(url) {
        Ok(parsed) if !authority_cut_short(&parsed) => redact_parsed(url, parsed),
        _ => outline(url),
    }
}

/// An `@` after the authority means the user information most likely held an unescaped `/`,
/// `?` or `#`, which ended the authority early: `postgres://app:12/34@db/x` parses as host `app`,
/// port 12, database `34@db/x`, with the password in plain sight.
fn authority_cut_short(url: &Url) -> bool {
    url.path().contains('@')
        || url.query().is_some_and(|query| query.contains('@'))
        || url
            .fragment()
            .is_some_and(|fragment| fragment.contains('@'))
}

fn redact_parsed(original: &str, mut url: Url) -> String {
    let query = url.query().map(redact_query);
    let query_redacted = query.as_ref().is_some_and(|(_, redacted)| *redacted);
    if url.password().is_none() && !query_redacted && url.fragment().is_none() {
        // Nothing to hide: shown exactly as configured.
        return original.to_owned();
    }
    if url.password().is_some() {
        // Only URLs that cannot hold a password at all refuse one.
        let _ = url.set_password(Some(MASK));
    }
    if let Some((query, _)) = query {
        url.set_query(Some(&query));
    }
    // Nothing reads a fragment; it can only be a mistake, perhaps part of a password.
    url.set_fragment(None);
    url.to_string()
}

/// The query with the value of every credential-bearing parameter masked, each other pair left
/// exactly as written; and whether anything was masked.
fn redact_query(query: &str) -> (String, bool) {
    let mut redacted = false;
    let pairs: Vec<String> = query
        .split('&')
        .map(|pair| {
            let raw_key = pair.split_once('=').map_or(pair, |(key, _)| key);
            let key = url::form_urlencoded::parse(raw_key.as_bytes())
                .next()
                .map(|(key, _)| key.into_owned())
                .unwrap_or_default();
            if is_credential_parameter(&key) {
                redacted = true;
                format!("{raw_key}={MASK}")
            } else {
                pair.to_owned()
            }
        })
        .collect();
    (pairs.join("&"), redacted)
}

/// Whether a URL parameter may carry a secret: `password`, `sslpassword`, `passfile`, `pwd`,
/// anything naming a secret or a token, in any case and spelling (`ssl-password`).
fn is_credential_parameter(key: &str) -> bool {
    let key: String = key
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_ascii_lowercase();
    key.contains("pass") || key.contains("secret") || key.contains("token") || key == "pwd"
}

/// Scheme, host and database of a URL that cannot be trusted to parse. The query and fragment
/// are dropped whole (a password may sit there or run into them), and the host is taken after
/// the last `@` (a password may hold `@` and `/`); when that still leaves doubt, the host is
/// masked and the database left out.
fn outline(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return MASK.to_owned();
    };
    if scheme.is_empty()
        || !scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
    {
        return MASK.to_owned();
    }
    let masked = || format!("{scheme}://{MASK}");
    let head = rest.split(['?', '#']).next().unwrap_or_default();
    let (credentials, tail) = match head.rfind('@') {
        // Shown as `***@`, so that the reader knows something was there.
        Some(at) => (format!("{MASK}@"), &head[at + 1..]),
        // The `@` comes after a `?` or `#` that may belong to the password.
        None if rest.contains('@') => return masked(),
        None => (String::new(), head),
    };
    let (host, database) = tail.split_once('/').unwrap_or((tail, ""));
    if !looks_like_host(host) {
        return masked();
    }
    if database.is_empty() {
        format!("{scheme}://{credentials}{host}")
    } else {
        format!("{scheme}://{credentials}{host}/{database}")
    }
}

/// `name`, `name:port`, `[v6]` or `[v6]:port`: anything else is not shown.
fn looks_like_host(host: &str) -> bool {
    let (name, port) = match host.rsplit_once(':') {
        Some((name, port)) if !name.ends_with(':') && !name.is_empty() => (name, Some(port)),
        _ => (host, None),
    };
    let name_ok = match name.strip_prefix('[') {
        Some(v6) => v6.strip_suffix(']').is_some_and(|v6| {
            v6.chars()
                .all(|c| c.is_ascii_hexdigit() || matches!(c, ':' | '.'))
        }),
        None => name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '%')),
    };
    let port_ok =
        port.is_none_or(|port| !port.is_empty() && port.chars().all(|c| c.is_ascii_digit()));
    name_ok && port_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_in_the_authority_are_masked() {
        assert_eq!(
            redact_url("postgres://app:s3cret@db.example:5432/entrasync"),
            "postgres://app:***@db.example:5432/entrasync"
        );
        // `@` in a password: the last `@` ends the user information.
        assert_eq!(
            redact_url("postgres://app:p@ss@db/entrasync"),
            "postgres://app:***@db/entrasync"
        );
        assert_eq!(
            redact_url("postgres://app:p%2Fs%40s@db/entrasync?sslmode=require"),
            "postgres://app:***@db/entrasync?sslmode=require"
        );
    }

    #[test]
    fn credential_parameters_are_masked() {
        assert_eq!(
            redact_url("postgres://app@127.0.0.1:1/entrasync?password=hunter2"),
            "postgres://app@127.0.0.1:1/entrasync?password=***"
        );
        assert_eq!(
            redact_url(
                "postgres://app@db/x?sslmode=verify-full&sslpassword=hunter2&application_name=es"
            ),
            "postgres://app@db/x?sslmode=verify-full&sslpassword=***&application_name=es"
        );
        for key in [
            "Password",
            "pass%77ord",
            "ssl-password",
            "PWD",
            "auth_token",
        ] {
            let shown = redact_url(&format!("postgres://db/x?{key}=hunter2"));
            assert!(!shown.contains("hunter2"), "{key}: {shown}");
        }
        assert_eq!(
            redact_url("sqlite://data/entrasync.db?mode=rwc&password=hunter2"),
            "sqlite://data/entrasync.db?mode=rwc&password=***"
        );
    }

    #[test]
    fn a_password_with_a_slash_question_mark_or_hash_is_not_shown() {
        for (url, shown) in [
            // Cannot parse (`pa` is no port): the host after the last `@`.
            (
                "postgres://app:pa/ss@db/entrasync",
                "postgres://***@db/entrasync",
            ),
            // Parses, but as host `app`, port 12, database `34@db/entrasync`.
            (
                "postgres://app:12/34@db/entrasync",
                "postgres://***@db/entrasync",
            ),
            ("postgres://app:pa?ss@db/entrasync", "postgres://***"),
            ("postgres://app:12?34@db/entrasync", "postgres://***"),
            ("postgres://app:12#34@db/entrasync", "postgres://***"),
            (
                "postgres://app:p@s/s@db:5432/entrasync",
                "postgres://***@db:5432/entrasync",
            ),
            // No `@`: the would-be password is the "port"; nothing of it is shown.
            ("postgres://app:sec/ret", "postgres://***"),
            // An `@` in the query could end a password that holds a `?`: in doubt, masked.
            ("postgres://db:5432/x?password=p@ss", "postgres://***"),
            ("postgres://db:bad/x?password=p@ss", "postgres://***"),
        ] {
            assert_eq!(redact_url(url), shown, "{url}");
        }
    }

    #[test]
    fn urls_without_secrets_are_shown_as_written() {
        for url in [
            "postgres://app@db/entrasync",
            "postgres://db.example:5432/entrasync?sslmode=require",
            "postgresql:///entrasync?host=/var/run/postgresql",
            "sqlite://entrasync.db",
            "sqlite:///var/lib/entrasync/my directory/entrasync.db",
            "sqlite::memory:",
        ] {
            assert_eq!(redact_url(url), url);
        }
    }

    #[test]
    fn what_cannot_be_read_is_not_shown() {
        assert_eq!(redact_url("app:hunter2@db"), "***");
        assert_eq!(redact_url("not a URL with hunter2"), "***");
        assert_eq!(
            redact_url("postgres://app:hunter2@db bad/x"),
            "postgres://***"
        );
    }

    #[test]
    fn options_show_the_url_redacted() {
        let options = ConnectOptions::new("postgres://app:hunter2@db/entrasync");
        let shown = format!("{options:?}");
        assert!(
            !shown.contains("hunter2") && shown.contains("app:***@db"),
            "{shown}"
        );
    }

    #[test]
    fn credentials_sqlx_would_log_are_refused() {
        let err = refuse_unread_credentials("postgres://app@db/x?sslpassword=hunter2")
            .expect_err("refused");
        let text = err.to_string();
        assert!(
            text.contains("sslpassword") && !text.contains("hunter2"),
            "{text}"
        );
        assert!(refuse_unread_credentials("postgres://app@db/x?Password=hunter2").is_err());
        refuse_unread_credentials("postgres://app@db/x?password=hunter2&sslmode=require")
            .expect("sqlx reads `password`");
    }
}
