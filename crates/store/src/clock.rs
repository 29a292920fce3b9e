//! The store's clock, shared by every node: leases, schedules, snapshot stamps and link
//! stamps compare times written by different nodes, so they all take time from the database.
//! On PostgreSQL this node's offset from the server's clock is measured (at most every 30 s,
//! with the round trip halved) and applied; SQLite is one machine's file, whose processes share
//! that machine's clock.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::{DateTime, SubsecRound, TimeDelta, Utc};

use crate::{Backend, Result, Store};

/// How long a measured offset is trusted.
const REMEASURE: Duration = Duration::from_secs(30);

#[derive(Default)]
pub(crate) struct Clock {
    /// The database's clock minus ours, and when that was measured.
    offset: Mutex<Option<(TimeDelta, Instant)>>,
}

impl Clock {
    fn cached(&self) -> Option<TimeDelta> {
        let offset = self
            .offset
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        offset.and_then(|(delta, at)| (at.elapsed() < REMEASURE).then_some(delta))
    }

    fn remember(&self, delta: TimeDelta) {
        *self
            .offset
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some((delta, Instant::now()));
    }
}

impl Store {
    /// Now, by the database's clock, at the precision both backends keep (microseconds).
    pub async fn now(&self) -> Result<DateTime<Utc>> {
        let Backend::Postgres(pool) = &self.backend else {
            return Ok(crate::rows::now());
        };
        let offset = match self.clock.cached() {
            Some(offset) => offset,
            None => {
                let before = Utc::now();
                let database: DateTime<Utc> = sqlx::query_scalar("SELECT clock_timestamp()")
                    .fetch_one(pool)
                    .await?;
                let after = Utc::now();
                let midpoint = before + (after - before) / 2;
                let offset = database - midpoint;
                self.clock.remember(offset);
                offset
            }
        };
        Ok((Utc::now() + offset).trunc_subsecs(6))
    }
}
