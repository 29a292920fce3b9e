//! Persistence of the entrasync directory: users, groups, memberships, the change log (outbox)
//! and API tokens, on embedded SQLite (the default) or PostgreSQL (for several nodes), behind
//! one API.
//!
//! Both backends run the same SQL text wherever the dialects agree; each store method is written
//! once and expanded for both pools by the [`read_pool!`] / [`write_pool!`] macros. Every method
//! that changes the directory appends its change records in the same transaction.
//!
//! It also keeps the sync engine's state: links and snapshots (the engine's `Links` port, with
//! its `Directory` port over the directory), each provider's state and schedule, the work queue
//! fed from the change log, runs, and how each object last fared.

#[macro_use]
mod dispatch;
#[macro_use]
mod rows;
#[macro_use]
mod users;
#[macro_use]
mod groups;
#[macro_use]
mod work;
mod leases;
#[macro_use]
mod state;
mod changes;
mod connect;
mod counts;
mod directory_port;
mod error;
mod import;
mod links;
mod mappings;
mod memberships;
mod object_states;
mod page;
mod plans;
mod providers;
mod runs;
mod secrets;
mod tokens;

pub use connect::{ConnectOptions, Dialect, redact_url};
pub use counts::DirectoryCounts;
pub use error::StoreError;
pub use import::ImportOutcome;
pub use memberships::MembershipChange;
pub use object_states::{ObjectState, ObjectStatus};
pub use page::{GroupFilter, Page, UserFilter};
pub use plans::PlanItem;
pub use providers::ProviderUpdate;
pub use secrets::{ProviderCredential, SecretError, SecretKey};
pub use sqlx::Error as SqlxError;
pub use state::ProviderState;
pub use tokens::token_hash;
pub use work::{WorkItem, WorkKind};

/// The directory store. Cheap to clone: clones share the connection pools.
#[derive(Clone)]
pub struct Store {
    backend: Backend,
}

#[derive(Clone)]
enum Backend {
    /// SQLite allows one writer at a time; a single-connection write pool queues writers in the
    /// process instead of letting them fail with `SQLITE_BUSY`.
    Sqlite {
        read: sqlx::SqlitePool,
        write: sqlx::SqlitePool,
    },
    Postgres(sqlx::PgPool),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

impl Store {
    pub fn dialect(&self) -> Dialect {
        match self.backend {
            Backend::Sqlite { .. } => Dialect::Sqlite,
            Backend::Postgres(_) => Dialect::Postgres,
        }
    }

    /// Whether the database answers.
    pub async fn ping(&self) -> Result<()> {
        read_pool!(self, pool, _dialect => {
            sqlx::query("SELECT 1").execute(pool).await?;
        });
        Ok(())
    }

    /// Closes every connection; pending work finishes first.
    pub async fn close(&self) {
        match &self.backend {
            Backend::Sqlite { read, write } => {
                read.close().await;
                write.close().await;
            }
            Backend::Postgres(pool) => pool.close().await,
        }
    }
}
