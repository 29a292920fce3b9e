//! Runs: one recorded full sync (or dry run) of a provider, what started it and how it ended.

use std::{fmt, str::FromStr};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{ProviderId, RunId};

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
    /// What happened, by outcome (`created`, `updated`, `unchanged`, …) and request kind.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub counts: serde_json::Map<String, serde_json::Value>,
    /// Why the run stopped, for a stopped run.
    pub error: Option<String>,
}

text_enum!(Trigger { Create => "create", Save => "save", Schedule => "schedule", Manual => "manual" });
text_enum!(RunStatus { Running => "running", Succeeded => "succeeded", Partial => "partial", Stopped => "stopped", AwaitingApproval => "awaiting_approval" });
