//! Graph's eventual consistency for reads, as the `read_lag_ms` knob shows it.
//!
//! Entra ID answers reads from replicas that trail the one a write went to. Graph's docs say
//! so on the user and group pages ("this request might have replication delays for users that
//! were recently created, updated, or deleted") and in the advanced-query notes. For a few
//! seconds after a write, then, a client may not see its own change. A [`ReadLag`] is that
//! trailing replica at one instant: every request takes one before it reads the directory,
//! and asks it which objects it may see.
//!
//! Uniqueness checks (userPrincipalName, uniqueName, Microsoft 365 mailNickname) do not go
//! through it. Graph enforces them where the write lands, so a second create with the same key
//! conflicts at once, even while reads still miss the first object.

use std::time::{Duration, Instant};

use serde_json::{Map, Value};

use crate::directory::DirObject;

/// What a replica trailing by `lag` sees at the moment the request came in.
#[derive(Debug, Clone, Copy)]
pub struct ReadLag {
    lag: Duration,
    now: Instant,
}

impl ReadLag {
    pub fn new(lag: Duration) -> Self {
        Self {
            lag,
            now: Instant::now(),
        }
    }

    /// Whether this view hides anything at all (a zero lag is the strongly consistent
    /// directory, and lets callers skip work).
    pub fn is_active(&self) -> bool {
        !self.lag.is_zero()
    }

    /// Did something that happened at `at` happen too recently for this replica to know?
    pub fn hides(&self, at: Instant) -> bool {
        self.is_active() && self.now.saturating_duration_since(at) < self.lag
    }

    /// Created so recently that the replica has not seen it yet.
    pub fn is_fresh(&self, o: &DirObject) -> bool {
        self.hides(o.created_at)
    }

    /// Deleted so recently that the replica still has it.
    pub fn is_recently_deleted(&self, o: &DirObject) -> bool {
        o.deleted_at.is_some_and(|at| self.hides(at))
    }

    /// Is the object part of collection reads (`GET /users`, `/groups`, their pages, `$filter`
    /// and `$count`)? A fresh object is missing, as Graph warns for list and filter reads right
    /// after a create. A deleted one is still there until its deletion has replicated.
    pub fn lists(&self, o: &DirObject) -> bool {
        !self.is_fresh(o) && (!o.deleted || self.is_recently_deleted(o))
    }

    /// Can a request address the object by key (`GET`, `PATCH`, `DELETE` of `/{kind}/{key}`)?
    /// A fresh object answers 404 `Request_ResourceNotFound`, as Graph does for a few seconds
    /// after a create. A deleted one answers 404 at once: only collection reads are modelled
    /// as trailing a delete, so that a client never gets to update an object it deleted.
    pub fn addresses(&self, o: &DirObject) -> bool {
        !o.deleted && !self.is_fresh(o)
    }
}

/// A deleted object is only read while the lag hides its deletion, and then the replica has
/// it as it was before: not deleted. Clears the `deletedDateTime` the delete stamped.
pub fn as_before_deletion(o: &DirObject, props: &mut Map<String, Value>) {
    if o.deleted && props.contains_key("deletedDateTime") {
        props.insert("deletedDateTime".into(), Value::Null);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_zero_lag_hides_nothing() {
        let lag = ReadLag::new(Duration::ZERO);
        assert!(!lag.is_active());
        assert!(!lag.hides(Instant::now()));
    }

    #[test]
    fn only_recent_moments_are_hidden() {
        let lag = ReadLag::new(Duration::from_secs(60));
        assert!(lag.hides(Instant::now()));
        if let Some(long_ago) = Instant::now().checked_sub(Duration::from_secs(120)) {
            assert!(!lag.hides(long_ago));
        }
    }
}
