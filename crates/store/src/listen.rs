//! Other nodes' directory writes, heard at once on PostgreSQL: every transaction that appends
//! change records notifies `entrasync_changes` at commit (a trigger, migration 0012, with the
//! schema as payload), and a store that waits for changes listens and rings its own wake-up,
//! as a write of its own process does. The workers' poll stays as the fallback: a lost
//! connection costs latency only, until the listener is back.

use std::sync::{Arc, Once, Weak};
use std::time::Duration;

use sqlx::postgres::{PgListener, PgPool};
use tokio::sync::Notify;

const CHANNEL: &str = "entrasync_changes";
/// How often a quiet listener checks that its store is still open.
const CHECK_EVERY: Duration = Duration::from_secs(5);
/// The pause before listening again after the connection failed.
const RETRY_AFTER: Duration = Duration::from_secs(2);

/// The listener of one store, started once.
pub(crate) struct OtherNodes {
    pool: PgPool,
    schema: String,
    started: Once,
}

impl OtherNodes {
    pub(crate) fn new(pool: PgPool, schema: String) -> Self {
        Self {
            pool,
            schema,
            started: Once::new(),
        }
    }

    /// Starts listening (once) and ringing `wake` at each of this schema's commits.
    pub(crate) fn listen(&self, wake: &Arc<Notify>) {
        self.started.call_once(|| {
            tokio::spawn(changes_of_other_nodes(
                self.pool.clone(),
                self.schema.clone(),
                Arc::downgrade(wake),
            ));
        });
    }
}

/// Listens until the store is gone (its wake-up dropped) or its pool closed.
async fn changes_of_other_nodes(pool: PgPool, schema: String, wake: Weak<Notify>) {
    while !pool.is_closed() && wake.strong_count() > 0 {
        let mut listener = match PgListener::connect_with(&pool).await {
            Ok(listener) => listener,
            Err(error) => {
                tracing::warn!(%error, "cannot listen for other nodes' writes; polling meanwhile");
                tokio::time::sleep(RETRY_AFTER).await;
                continue;
            }
        };
        if let Err(error) = listener.listen(CHANNEL).await {
            tracing::warn!(%error, "cannot listen for other nodes' writes; polling meanwhile");
            tokio::time::sleep(RETRY_AFTER).await;
            continue;
        }
        loop {
            match tokio::time::timeout(CHECK_EVERY, listener.try_recv()).await {
                Ok(Ok(Some(notification))) => {
                    if notification.payload() == schema {
                        let Some(wake) = wake.upgrade() else { return };
                        wake.notify_one();
                    }
                }
                // The connection was lost: missed notifications only cost a poll; listen anew.
                Ok(Ok(None)) => {
                    if let Some(wake) = wake.upgrade() {
                        wake.notify_one();
                    }
                }
                Ok(Err(error)) => {
                    tracing::warn!(%error, "listening for other nodes' writes failed; again shortly");
                    tokio::time::sleep(RETRY_AFTER).await;
                    break;
                }
                Err(_quiet) => {}
            }
            if pool.is_closed() || wake.strong_count() == 0 {
                return;
            }
        }
    }
}
