//! Runs: one recorded full sync (or dry run) of a provider, what started it and how it ended.

use std::{fmt, str::FromStr};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{ProviderId, RunId, RunReport};

/// What started a full sync.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Trigger {
    /// The provider was created.
    Create,
    /// The provider was saved.
    Save,
    /// Its schedule came due.
    Schedule,
    /// An administrator asked for it (`entrasync sync`, the API).
    Manual,
    /// Direct syncs: the record of deletes that accidental-delete protection held while
    /// syncing changes one by one.
    Direct,
}

/// Where a run stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum RunStatus {
    Running,
    /// Every object in scope was reconciled.
    Succeeded,
    /// The run finished, but some objects failed (rejected, or out of retries).
    Partial,
    /// A mapping error or a fatal remote error stopped the run.
    Stopped,
    /// The run would delete or disable more objects than the provider's threshold: it did none
    /// of that, and waits for an administrator to approve or reject.
    AwaitingApproval,
    /// The node running it lost its claim (it died, hung, or another node took the run over):
    /// what it did is kept, the rest is left to the next run.
    Interrupted,
}

/// One recorded run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Run {
    pub id: RunId,
    pub provider_id: ProviderId,
    pub trigger: Trigger,
    pub dry_run: bool,
    pub status: RunStatus,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    /// What it did (or, for a dry run, would do).
    pub report: RunReport,
    /// Why the run stopped, for a stopped run.
    pub error: Option<String>,
}

text_enum!(Trigger { Create => "create", Save => "save", Schedule => "schedule", Manual => "manual", Direct => "direct" });
text_enum!(RunStatus { Running => "running", Succeeded => "succeeded", Partial => "partial", Stopped => "stopped", AwaitingApproval => "awaiting_approval", Interrupted => "interrupted" });
