use std::{str::FromStr, time::Duration};

use sqlx::{
    Connection,
    postgres::{PgConnectOptions, PgPoolOptions},
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous},
};

use crate::{Backend, Result, Store, StoreError};

/// The SQL dialect of the backend, for the few statements that differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

/// How to reach the database.
#[derive(Debug, Clone)]
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
    })
}

async fn open_postgres(url: &str, max_connections: u32, schema: Option<&str>) -> Result<Store> {
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
    Ok(Store {
        backend: Backend::Postgres(pool),
    })
}

/// The URL with any password replaced by `***`, for messages and logs.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (authority, tail) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    match authority.rsplit_once('@') {
        Some((credentials, host)) => match credentials.split_once(':') {
            Some((user, _password)) => format!("{scheme}://{user}:***@{host}{tail}"),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::redact_url;

    #[test]
    fn passwords_never_reach_messages() {
        assert_eq!(
            redact_url("postgres://app:s3cret@db.example:5432/entrasync"),
            "postgres://app:***@db.example:5432/entrasync"
        );
        assert_eq!(
            redact_url("postgres://app@db/entrasync"),
            "postgres://app@db/entrasync"
        );
        assert_eq!(redact_url("sqlite://entrasync.db"), "sqlite://entrasync.db");
    }
}
