//! API tokens on both backends: names, expiry, revocation, the configured token's fixed
//! identity, other kinds, and the migration of the rows older versions wrote.

mod common;

use std::{borrow::Cow, path::Path};

use chrono::{Duration, Utc};
use sqlx::{Connection, migrate::Migrator};
use store::{
    Authentication, CONFIGURED_ADMIN_TOKEN_NAME, ConnectOptions, NewApiToken, Page, Store,
    StoreError, TokenKind,
};

use common::TestStore;

const SECRET: &str = "es_first_token_0123456789abcdefghijklmnopqrstu";
const OTHER_SECRET: &str = "es_second_token_0123456789abcdefghijklmnopqrst";

fn admin<'a>(name: &'a str, secret: &'a str) -> NewApiToken<'a> {
    NewApiToken {
        name,
        kind: TokenKind::Admin,
        secret,
        expires_at: None,
    }
}

async fn accepted(store: &Store, secret: &str) -> bool {
    matches!(
        store
            .authenticate(secret, TokenKind::Admin)
            .await
            .expect("authenticate"),
        Authentication::Accepted(_)
    )
}

/// Where a test database is: a SQLite URL, or a PostgreSQL URL and schema.
struct Db {
    url: String,
    schema: Option<String>,
}

impl From<&TestStore> for Db {
    fn from(t: &TestStore) -> Self {
        Db {
            url: t.url.clone(),
            schema: t.schema.clone(),
        }
    }
}

/// Runs `sql` on a test database over a connection of its own (the store hides its pools).
async fn execute(t: &Db, sql: &str) {
    match &t.schema {
        None => {
            let mut conn = sqlx::SqliteConnection::connect(&t.url)
                .await
                .expect("connect");
            sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned()))
                .execute(&mut conn)
                .await
                .expect("execute");
        }
        Some(schema) => {
            let mut conn = sqlx::PgConnection::connect(&t.url).await.expect("connect");
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                "SET search_path TO \"{schema}\"; {sql}"
            )))
            .execute(&mut conn)
            .await
            .expect("execute");
        }
    }
}

both_backends!(tokens_are_named_listed_and_revoked, |t| {
    let store = &t.store;
    let created = store
        .create_api_token(admin("ci", SECRET))
        .await
        .expect("create");
    assert_eq!(
        (created.name.as_str(), created.kind, created.expires_at),
        ("ci", TokenKind::Admin, None)
    );
    assert!(accepted(store, SECRET).await);

    let taken = store
        .create_api_token(admin("CI", OTHER_SECRET))
        .await
        .expect_err("names are unique regardless of case");
    assert!(
        matches!(taken, StoreError::Conflict { field: "name", .. }),
        "{taken}"
    );
    let reserved = store
        .create_api_token(admin("Admin (Configured)", OTHER_SECRET))
        .await
        .expect_err("the configured token's name is kept for it");
    assert!(
        matches!(reserved, StoreError::Conflict { .. }),
        "{reserved}"
    );
    let blank = store
        .create_api_token(admin(" ", OTHER_SECRET))
        .await
        .expect_err("a blank name");
    assert!(matches!(blank, StoreError::Invalid(_)), "{blank}");

    let listed = store.list_api_tokens(Page::first(100)).await.expect("list");
    assert_eq!(
        listed.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(),
        ["ci"]
    );
    let found = store
        .find_api_token_by_name("Ci")
        .await
        .expect("find")
        .expect("found regardless of case");
    assert_eq!(found.id, created.id);

    store.revoke_api_token(created.id).await.expect("revoke");
    assert_eq!(
        store
            .authenticate(SECRET, TokenKind::Admin)
            .await
            .expect("authenticate"),
        Authentication::Unknown,
        "a revoked token is refused"
    );
    let again = store
        .revoke_api_token(created.id)
        .await
        .expect_err("already revoked");
    assert!(matches!(again, StoreError::NotFound { .. }), "{again}");
    store
        .create_api_token(admin("ci", OTHER_SECRET))
        .await
        .expect("a revoked token's name is free again");
});

both_backends!(expired_tokens_are_refused, |t| {
    let store = &t.store;
    let expired = store
        .create_api_token(NewApiToken {
            expires_at: Some(Utc::now() - Duration::seconds(1)),
            ..admin("yesterday", SECRET)
        })
        .await
        .expect("create");
    let current = store
        .create_api_token(NewApiToken {
            expires_at: Some(Utc::now() + Duration::days(1)),
            ..admin("today", OTHER_SECRET)
        })
        .await
        .expect("create");
    assert_eq!(
        store
            .authenticate(SECRET, TokenKind::Admin)
            .await
            .expect("authenticate"),
        Authentication::Expired(expired)
    );
    assert!(accepted(store, OTHER_SECRET).await);
    assert_eq!(
        store
            .count_usable_api_tokens(TokenKind::Admin)
            .await
            .expect("count"),
        1,
        "only {current:?} can be used"
    );
    assert_eq!(store.count_api_tokens().await.expect("count"), 2);
});

both_backends!(uses_are_recorded, |t| {
    let store = &t.store;
    let created = store
        .create_api_token(admin("ci", SECRET))
        .await
        .expect("create");
    assert_eq!(created.last_used_at, None);
    assert!(accepted(store, SECRET).await);
    let used = store.get_api_token(created.id).await.expect("get");
    let at = used.last_used_at.expect("the use is recorded");
    assert!(Utc::now() - at < Duration::seconds(30), "{at}");
});

both_backends!(the_configured_token_is_replaced_not_added, |t| {
    let store = &t.store;
    store
        .set_configured_admin_token(Some(SECRET))
        .await
        .expect("configure");
    assert!(accepted(store, SECRET).await);
    let first = store
        .find_api_token_by_name(CONFIGURED_ADMIN_TOKEN_NAME)
        .await
        .expect("find")
        .expect("listed under its name");
    assert!(first.is_configured());

    // The same value again (every restart): the same token, its history kept.
    store
        .set_configured_admin_token(Some(SECRET))
        .await
        .expect("configure again");
    let same = store
        .get_api_token(first.id)
        .await
        .expect("the same identity");
    assert_eq!(
        (same.created_at, same.last_used_at.is_some()),
        (first.created_at, true)
    );

    // Rotation: the old value stops working at once.
    store
        .set_configured_admin_token(Some(OTHER_SECRET))
        .await
        .expect("rotate");
    assert!(!accepted(store, SECRET).await, "the old value is revoked");
    assert!(accepted(store, OTHER_SECRET).await);
    let listed = store.list_api_tokens(Page::first(100)).await.expect("list");
    assert_eq!(listed.len(), 1, "one configured token, not two: {listed:?}");
    assert_eq!(listed[0].id, first.id);

    // A value that is already another token's is refused, and changes nothing.
    store
        .create_api_token(admin("ci", SECRET))
        .await
        .expect("create");
    let clash = store
        .set_configured_admin_token(Some(SECRET))
        .await
        .expect_err("held by another token");
    assert!(
        matches!(
            clash,
            StoreError::Conflict {
                field: "admin_token",
                ..
            }
        ),
        "{clash}"
    );
    assert!(accepted(store, OTHER_SECRET).await);

    // No longer configured: no longer accepted.
    store
        .set_configured_admin_token(None)
        .await
        .expect("unconfigure");
    assert!(!accepted(store, OTHER_SECRET).await);
    assert!(accepted(store, SECRET).await, "other tokens stay");
});

both_backends!(a_token_of_another_kind_does_not_open_the_admin_api, |t| {
    let hash = store::token_hash(SECRET);
    let id = match t.schema {
        None => "x'0192b3c4d5e67f008000000000000001'",
        Some(_) => "'0192b3c4-d5e6-7f00-8000-000000000001'",
    };
    execute(
        &Db::from(t),
        &format!(
            "INSERT INTO api_tokens (id, name, name_key, kind, token_hash, created_at) \
             VALUES ({id}, 'okta', 'okta', 'scim', '{hash}', '2026-12-01T00:00:00+00:00')"
        ),
    )
    .await;
    assert_eq!(
        t.store
            .authenticate(SECRET, TokenKind::Admin)
            .await
            .expect("authenticate"),
        Authentication::OtherKind {
            kind: "scim".to_owned()
        }
    );
});

/// A database as the version before tokens had names and kinds left it: the migrations up to
/// 0006 applied, then rows as that version wrote them.
async fn database_before_0007(t: &Db) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(match t.schema {
        None => "migrations/sqlite",
        Some(_) => "migrations/postgres",
    });
    let mut migrator = Migrator::new(dir).await.expect("migrations");
    let before: Vec<_> = migrator
        .migrations
        .iter()
        .filter(|migration| migration.version < 7)
        .cloned()
        .collect();
    assert_eq!(before.len(), 6);
    migrator.migrations = Cow::Owned(before);
    match &t.schema {
        None => {
            let pool = sqlx::SqlitePool::connect(&t.url).await.expect("connect");
            migrator.run(&pool).await.expect("migrate to 0006");
            pool.close().await;
        }
        Some(schema) => {
            let options: sqlx::postgres::PgConnectOptions = t.url.parse().expect("URL");
            let pool = sqlx::postgres::PgPoolOptions::new()
                .max_connections(1)
                .connect_with(options.options([("search_path", schema.as_str())]))
                .await
                .expect("connect");
            migrator.run(&pool).await.expect("migrate to 0006");
            pool.close().await;
        }
    }
    // Ids differ in their last byte only, written as each backend reads a UUID literal.
    let id = |last: &str| match t.schema {
        None => format!("x'0192b3c4d5e67f0080000000000000{last}'"),
        Some(_) => format!("'0192b3c4-d5e6-7f00-8000-0000000000{last}'"),
    };
    let rows = [
        (
            "01",
            "admin (generated)",
            "es_generated_long_enough_0123456789abcdef",
        ),
        // Two values configured one after the other: both were still accepted.
        ("02", "admin (configured)", "old-token-aaaa"),
        ("03", "admin (configured)", "new-token-bbbb"),
        ("04", "Backup", "es_backup_token_long_enough_0123456789ab"),
        ("05", "backup", "es_backup_token_long_enough_0123456789cd"),
    ];
    let values: Vec<String> = rows
        .iter()
        .map(|(last, name, token)| {
            format!(
                "({}, '{name}', '{}', '2026-11-01T00:00:00+00:00')",
                id(last),
                store::token_hash(token)
            )
        })
        .collect();
    execute(
        t,
        &format!(
            "INSERT INTO api_tokens (id, name, token_hash, created_at) VALUES {}",
            values.join(", ")
        ),
    )
    .await;
}

#[tokio::test]
async fn sqlite_tokens_of_older_versions_are_migrated() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let db = Db {
        url: format!("sqlite://{}?mode=rwc", dir.path().join("old.db").display()),
        schema: None,
    };
    check_migration(&db).await;
}

#[tokio::test]
async fn postgres_tokens_of_older_versions_are_migrated() {
    let url = common::postgres_url();
    let started = Utc::now().timestamp();
    // Named like the common schemas, so that a failed run's is cleaned up the same way.
    let schema = format!("es_test_{started}_{}", uuid::Uuid::new_v4().simple());
    let mut conn = sqlx::PgConnection::connect(&url).await.expect("PostgreSQL");
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE SCHEMA \"{schema}\"")))
        .execute(&mut conn)
        .await
        .expect("create schema");
    check_migration(&Db {
        url,
        schema: Some(schema.clone()),
    })
    .await;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "DROP SCHEMA \"{schema}\" CASCADE"
    )))
    .execute(&mut conn)
    .await
    .expect("drop schema");
}

async fn check_migration(t: &Db) {
    database_before_0007(t).await;
    // Opening the store runs the remaining migrations.
    let store = Store::connect_with(&ConnectOptions {
        schema: t.schema.clone(),
        ..ConnectOptions::new(&t.url)
    })
    .await
    .expect("migrate");
    let tokens = store.list_api_tokens(Page::first(100)).await.expect("list");
    let mut names: Vec<&str> = tokens.iter().map(|t| t.name.as_str()).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "Backup",
            "admin (generated)",
            "backup (0192b3c4d5e67f008000000000000005)"
        ],
        "the configured ones are dropped (the next start stores today's); a repeated name gets \
         the id"
    );
    assert!(tokens.iter().all(|t| t.kind == TokenKind::Admin));
    assert!(tokens.iter().all(|t| t.expires_at.is_none()));
    assert!(accepted(&store, "es_generated_long_enough_0123456789abcdef").await);
    assert!(accepted(&store, "es_backup_token_long_enough_0123456789cd").await);
    assert!(!accepted(&store, "old-token-aaaa").await);
    assert!(!accepted(&store, "new-token-bbbb").await);
    store
        .set_configured_admin_token(Some(SECRET))
        .await
        .expect("the configured token's name and id are free");
    assert!(accepted(&store, SECRET).await);
    store.close().await;
}
