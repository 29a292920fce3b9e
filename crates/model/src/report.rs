//! What a run did (or, for a dry run, would do), as a typed value: counts by outcome, the
//! discovery it read, its members, held deletes and what it cost in Graph requests. It is
//! serialised once, where it is stored; everyone else reads its fields.

use std::collections::BTreeMap;
use std::{fmt, str::FromStr};

use crate::RunStatus;
use serde::{Deserialize, Serialize};

/// Which kind of remote object (an Entra user or group).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum RemoteKind {
    User,
    Group,
}

text_enum!(RemoteKind { User => "user", Group => "group" });

/// What reconciling one object came to, as a run counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum OutcomeKind {
    Created,
    /// Created again after Entra confirmed the linked object was gone.
    Recreated,
    /// An existing remote object was linked (and brought in line).
    Adopted,
    Updated,
    Unchanged,
    /// A mapping skipped it.
    Skipped,
    /// Several unlinked remote objects match it: none is linked, none is created (its state
    /// names the candidates).
    Ambiguous,
    /// Not in scope and not linked: nothing to do.
    OutOfScope,
    Deleted,
    Disabled,
    /// The link was dropped; the remote object stays.
    Unlinked,
    /// Entra refused it, or it ran out of retries.
    Failed,
    /// A delete or disable held by accidental-delete protection.
    Held,
    /// A group's members (or one membership) were reconciled.
    Members,
    /// A dry run's object with operations to do.
    Planned,
}

text_enum!(OutcomeKind {
    Created => "created", Recreated => "recreated", Adopted => "adopted", Updated => "updated",
    Unchanged => "unchanged", Skipped => "skipped", Ambiguous => "ambiguous",
    OutOfScope => "out_of_scope",
    Deleted => "deleted", Disabled => "disabled", Unlinked => "unlinked", Failed => "failed",
    Held => "held", Members => "members", Planned => "planned",
});

/// What discovery read of the tenant.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DiscoveryCounts {
    pub remote_users: u64,
    pub remote_groups: u64,
}

/// Membership changes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MemberCounts {
    pub added: u64,
    pub removed: u64,
    /// Members Entra refused, or groups whose members ran out of retries.
    pub failed: u64,
}

/// Deletes and disables held by accidental-delete protection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HeldDeletes {
    /// How many deletes and disables wait for an administrator's decision.
    pub count: u64,
    /// The provider's threshold they exceeded.
    pub threshold: u32,
}

/// See the module documentation. Every field is optional on the way in, so that reports
/// written by an older version still read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RunReport {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discovery: Option<DiscoveryCounts>,
    /// Objects by what was (or, in a dry run, would be) done to them.
    #[serde(default)]
    pub outcomes: BTreeMap<OutcomeKind, u64>,
    #[serde(default)]
    pub members: MemberCounts,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub held: Option<HeldDeletes>,
    /// Graph requests by route (`POST /groups`), as the client counted them.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub requests: BTreeMap<String, u64>,
    /// Time spent waiting because Graph throttled (429 and pacing), in milliseconds.
    #[serde(default)]
    pub throttle_wait_ms: u64,
}

impl RunReport {
    /// How many objects came to `kind`.
    pub fn count(&self, kind: OutcomeKind) -> u64 {
        self.outcomes.get(&kind).copied().unwrap_or(0)
    }

    /// Counts one more object as `kind`.
    pub fn add(&mut self, kind: OutcomeKind, by: u64) {
        if by > 0 {
            *self.outcomes.entry(kind).or_insert(0) += by;
        }
    }

    /// How a run that went to its end with this report ended: awaiting approval when deletes
    /// are held, partial when something failed, else succeeded.
    pub fn status(&self) -> RunStatus {
        if self.held.is_some() {
            RunStatus::AwaitingApproval
        } else if self.count(OutcomeKind::Failed) > 0 || self.members.failed > 0 {
            RunStatus::Partial
        } else {
            RunStatus::Succeeded
        }
    }

    /// Graph requests of every route.
    pub fn total_requests(&self) -> u64 {
        self.requests.values().sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_follows_the_report() {
        let mut report = RunReport::default();
        assert_eq!(report.status(), RunStatus::Succeeded);
        report.members.failed = 1;
        assert_eq!(report.status(), RunStatus::Partial);
        report.held = Some(HeldDeletes {
            count: 9,
            threshold: 5,
        });
        assert_eq!(report.status(), RunStatus::AwaitingApproval);
    }

    #[test]
    fn outcome_counts_serialise_by_name() {
        let mut report = RunReport::default();
        report.add(OutcomeKind::OutOfScope, 2);
        report.add(OutcomeKind::Created, 0);
        let json = serde_json::to_value(&report).unwrap_or_default();
        assert_eq!(json["outcomes"], serde_json::json!({"out_of_scope": 2}));
        let back: RunReport = serde_json::from_value(json).unwrap_or_default();
        assert_eq!(back, report);
    }

    #[test]
    fn an_empty_object_reads_as_an_empty_report() {
        let report: Option<RunReport> = serde_json::from_str("{}").ok();
        assert_eq!(report, Some(RunReport::default()));
    }
}
