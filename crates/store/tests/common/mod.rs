//! Opens a fresh store on each backend. SQLite lives in a temporary directory; PostgreSQL comes
//! from `DATABASE_URL` (default: the local server, trust auth, database `test`) and each test
//! gets a schema of its own. PostgreSQL is required: a test fails when it cannot reach it.

#![allow(dead_code)]

use std::time::{SystemTime, UNIX_EPOCH};

use sqlx::Connection;
use store::{ConnectOptions, Store};

pub const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

pub fn postgres_url() -> String {
    std::env::var("DATABASE_URL").unwrap_or_else(|_| DEFAULT_POSTGRES_URL.to_owned())
}

/// A store plus what keeps it alive (the SQLite file's directory).
pub struct TestStore {
    pub store: Store,
    pub url: String,
    pub schema: Option<String>,
    _dir: Option<tempfile::TempDir>,
}

pub async fn sqlite() -> TestStore {
    let dir = tempfile::tempdir().expect("temporary directory");
    let url = format!("sqlite://{}", dir.path().join("entrasync.db").display());
    let store = Store::connect(&url).await.expect("open SQLite store");
    TestStore {
        store,
        url,
        schema: None,
        _dir: Some(dir),
    }
}

pub async fn postgres() -> TestStore {
    let url = postgres_url();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    drop_stale_schemas(&url, now).await;
    let schema = format!("es_test_{now}_{}", uuid::Uuid::new_v4().simple());
    let options = ConnectOptions {
        schema: Some(schema.clone()),
        ..ConnectOptions::new(&url)
    };
    let store = Store::connect_with(&options).await.unwrap_or_else(|err| {
        panic!("PostgreSQL is required for this suite ({url}); start it or set DATABASE_URL: {err}")
    });
    TestStore {
        store,
        url,
        schema: Some(schema),
        _dir: None,
    }
}

/// Schemas of test runs more than an hour old are removed, so that aborted runs do not pile up.
async fn drop_stale_schemas(url: &str, now: u64) {
    let Ok(mut conn) = sqlx::PgConnection::connect(url).await else {
        return;
    };
    let schemas: Vec<String> = sqlx::query_scalar(
        "SELECT schema_name::text FROM information_schema.schemata WHERE schema_name LIKE 'es\\_test\\_%'",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap_or_default();
    for schema in schemas {
        let started: u64 = schema
            .split('_')
            .nth(2)
            .and_then(|s| s.parse().ok())
            .unwrap_or(u64::MAX);
        if now.saturating_sub(started) > 3600 && started != u64::MAX {
            let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                "DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"
            )))
            .execute(&mut conn)
            .await;
        }
    }
}

/// Defines one test per backend: `name::sqlite` and `name::postgres`.
#[macro_export]
macro_rules! both_backends {
    ($name:ident, |$store:ident| $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            async fn run($store: &$crate::common::TestStore) $body

            #[tokio::test]
            async fn sqlite() {
                let store = $crate::common::sqlite().await;
                run(&store).await;
            }

            #[tokio::test]
            async fn postgres() {
                let store = $crate::common::postgres().await;
                run(&store).await;
            }
        }
    };
}
