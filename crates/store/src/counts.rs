use serde::Serialize;

use crate::{Result, Store};

/// How many objects the directory holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct DirectoryCounts {
    pub users: i64,
    pub groups: i64,
    pub memberships: i64,
}

impl Store {
    pub async fn counts(&self) -> Result<DirectoryCounts> {
        let (users, groups, memberships): (i64, i64, i64) = read_pool!(self, pool, _d => {
            sqlx::query_as(
                "SELECT (SELECT COUNT(*) FROM users), (SELECT COUNT(*) FROM groups), \
                 (SELECT COUNT(*) FROM memberships)",
            )
            .fetch_one(pool)
            .await?
        });
        Ok(DirectoryCounts {
            users,
            groups,
            memberships,
        })
    }
}
