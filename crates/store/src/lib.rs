//! Persistence of the entrasync directory: users, groups, memberships, the change log (outbox)
//! and API tokens, on embedded SQLite (the default) or PostgreSQL (for several nodes), behind
//! one API.
//!
//! Both backends run the same SQL text wherever the dialects agree; each store method is written
//! once and expanded for both pools by the [`read_pool!`] / [`write_pool!`] macros. Every method
//! that changes the directory appends its change records in the same transaction.
//!
//! It also keeps the sync engine's state behind the engine's ports (`Directory` over the
//! directory, `Links`, `Snapshots`, `Protection`, `Plans`), each provider's state and schedule,
//! the work queue fed from the change log with its fenced claims, runs with their leases and
//! tallies, and how each object last fared.

#[macro_use]
mod dispatch;
#[macro_use]
mod references;
#[macro_use]
mod rows;
#[macro_use]
mod users;
#[macro_use]
mod groups;
#[macro_use]
mod work;
#[macro_use]
mod tally;
#[macro_use]
mod object_states;
mod leases;
#[macro_use]
mod state;
mod changes;
mod clock;
mod connect;
mod counts;
mod directory_port;
mod error;
mod import;
mod links;
mod listen;
mod mappings;
mod memberships;
mod page;
mod plans;
pub use plans::PlanFilter;
mod protection;
mod providers;
mod runs;
mod scim;
mod secrets;
mod sessions;
mod snapshots;
mod tokens;

pub use connect::{ConnectOptions, Dialect, redact_url};
pub use counts::DirectoryCounts;
pub use error::StoreError;
pub use import::ImportOutcome;
pub use leases::Completion;
pub use memberships::MembershipChange;
pub use object_states::{ObjectState, ObjectStatus};
pub use page::{GroupFilter, Page, UserFilter};
pub use providers::ProviderUpdate;
pub use scim::{MAX_EXTERNAL_ID_CHARS, ScimGroup, ScimRecord, ScimUser};
pub use secrets::{ProviderCredential, SecretError, SecretKey};
pub use sessions::ConsoleSession;
pub use sqlx::Error as SqlxError;
pub use state::ProviderState;
pub use tokens::{
    ApiToken, Authentication, CONFIGURED_ADMIN_TOKEN_NAME, NewApiToken, TokenKind, token_hash,
};
pub use work::{ClaimToken, Lane, Work, WorkItem, WorkKind};

/// The directory store. Cheap to clone: clones share the connection pools.
#[derive(Clone)]
pub struct Store {
    backend: Backend,
    clock: std::sync::Arc<clock::Clock>,
    /// Rung after each directory write of this process, and on PostgreSQL after each of
    /// another node's (`listen.rs`), so that the workers pick the change up at once instead of
    /// at their next poll.
    changed: std::sync::Arc<tokio::sync::Notify>,
    /// On PostgreSQL, the listener for other nodes' writes, started by the first wait for one.
    other_nodes: Option<std::sync::Arc<listen::OtherNodes>>,
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

    /// Resolves after the next directory write made through this store (or at once when one was
    /// made since the last call).
    pub async fn directory_changed(&self) {
        // Only a process that waits for changes (one running workers) listens for other
        // nodes' writes, and it starts when it first waits.
        if let Some(other_nodes) = &self.other_nodes {
            other_nodes.listen(&self.changed);
        }
        self.changed.notified().await;
    }

    pub(crate) fn ring_changed(&self) {
        self.changed.notify_one();
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
