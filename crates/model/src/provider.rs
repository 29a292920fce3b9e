//! An Entra ID provider's settings: which tenant, which app, which directory objects (scope),
//! which mappings, what to do on deletes, and when to sync. Credentials are not part of these
//! settings: they are written separately, stored encrypted, and never read back.

use std::{fmt, str::FromStr};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{GroupId, MappingId, ValidationError};

/// The Microsoft cloud the tenant lives in (its login and Graph hosts).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Cloud {
    #[default]
    Global,
    UsGovernment,
    UsGovernmentDod,
    China,
}

/// What happens remotely to a user that was deleted or left scope.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum UserDeleteAction {
    /// Delete the remote user.
    #[default]
    Delete,
    /// Keep it, with `accountEnabled = false`.
    Suspend,
    /// Leave it alone; only the link goes.
    DoNothing,
}

/// What happens remotely to a group that was deleted or left scope.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum GroupDeleteAction {
    #[default]
    Delete,
    DoNothing,
}

/// Which users a provider syncs. Inactive users are in scope (synced disabled).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserScope {
    /// Only the direct members of this group, when set.
    #[serde(default)]
    pub filter_group: Option<GroupId>,
    /// Leave out both kinds of service account.
    #[serde(default)]
    pub exclude_service_accounts: bool,
}

/// Which groups a provider syncs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case", deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum GroupScope {
    /// Every group.
    #[default]
    All,
    /// Only these groups.
    Selected { groups: Vec<GroupId> },
}

/// When full syncs run: a cron expression (minute hour day-of-month month day-of-week, UTC).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Schedule {
    pub cron: String,
    /// A paused schedule runs nothing; direct syncs go on.
    #[serde(default)]
    pub paused: bool,
}

impl Schedule {
    /// The cron expression must parse (five fields, UTC).
    pub fn validate(&self) -> Result<(), ValidationError> {
        self.cron.parse::<croner::Cron>().map(drop).map_err(|err| {
            ValidationError::new(
                "schedule.cron",
                format!(
                    "schedule {:?} is not a cron expression (minute hour day month weekday): {err}",
                    self.cron
                ),
            )
        })
    }

    /// The first time after `after` at which the schedule fires (none when paused or never).
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        if self.paused {
            return None;
        }
        let cron: croner::Cron = self.cron.parse().ok()?;
        cron.find_next_occurrence(&after, false).ok()
    }

    /// Every 4 hours, at a minute derived from the provider's id, so that providers created
    /// together do not all sync at the same minute.
    pub fn default_for(id: crate::ProviderId) -> Self {
        let minute = id
            .as_uuid()
            .as_bytes()
            .iter()
            .fold(0_u32, |acc, byte| (acc * 31 + u32::from(*byte)) % 60);
        Self {
            cron: format!("{minute} */4 * * *"),
            paused: false,
        }
    }
}

/// How the provider authenticates to Entra ID (the secret itself is never shown).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum CredentialKind {
    ClientSecret,
    Certificate,
}

impl CredentialKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CredentialKind::ClientSecret => "client_secret",
            CredentialKind::Certificate => "certificate",
        }
    }
}

impl FromStr for CredentialKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "client_secret" => Ok(CredentialKind::ClientSecret),
            "certificate" => Ok(CredentialKind::Certificate),
            other => Err(format!("unknown credential kind {other:?}")),
        }
    }
}

/// Everything about a provider except its credential's value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProviderSettings {
    /// The tenant: its id (a GUID) or its initial domain (`contoso.onmicrosoft.com`).
    pub tenant_id: String,
    /// The app registration's application (client) id, a GUID.
    pub client_id: String,
    pub cloud: Cloud,
    /// User mappings, evaluated in this order.
    pub user_mappings: Vec<MappingId>,
    /// Group mappings, evaluated in this order.
    pub group_mappings: Vec<MappingId>,
    pub user_scope: UserScope,
    pub group_scope: GroupScope,
    pub user_delete_action: UserDeleteAction,
    pub group_delete_action: GroupDeleteAction,
    /// Plan only: nothing is written to Entra.
    pub dry_run: bool,
    /// Link existing remote objects (users by email, groups by name) before creating any.
    pub discovery: bool,
    /// Also remove remote members that no directory object is linked to (by default they stay:
    /// members added in Entra by hand are not ours to remove).
    #[serde(default)]
    pub remove_unmanaged_members: bool,
    /// Accidental-delete protection: a full sync that would delete or disable more objects than
    /// this does none of it and waits for an administrator's approval (0: no limit).
    #[serde(default = "default_delete_threshold")]
    pub delete_threshold: u32,
    /// The rolling window over which direct syncs' deletes and disables are counted against
    /// the threshold, in minutes (1 to 10,080, a week).
    #[serde(default = "default_delete_window_minutes")]
    pub delete_window_minutes: u32,
    pub schedule: Schedule,
    /// A paused provider syncs nothing at all.
    pub enabled: bool,
}

impl ProviderSettings {
    /// A provider of this tenant and app with these mappings, and every other setting at its
    /// default: everything in scope, `delete` on both delete actions, no dry run, discovery on,
    /// the default threshold and window, a full sync every 4 hours, enabled.
    pub fn new(
        tenant_id: impl Into<String>,
        client_id: impl Into<String>,
        user_mappings: Vec<crate::MappingId>,
        group_mappings: Vec<crate::MappingId>,
    ) -> Self {
        Self {
            tenant_id: tenant_id.into(),
            client_id: client_id.into(),
            cloud: Cloud::Global,
            user_mappings,
            group_mappings,
            user_scope: UserScope::default(),
            group_scope: GroupScope::All,
            user_delete_action: UserDeleteAction::Delete,
            group_delete_action: GroupDeleteAction::Delete,
            dry_run: false,
            discovery: true,
            remove_unmanaged_members: false,
            delete_threshold: DEFAULT_DELETE_THRESHOLD,
            delete_window_minutes: DEFAULT_DELETE_WINDOW_MINUTES,
            schedule: Schedule {
                cron: "0 */4 * * *".into(),
                paused: false,
            },
            enabled: true,
        }
    }

    pub fn validate(&self) -> Result<(), ValidationError> {
        check_tenant(&self.tenant_id)?;
        if uuid::Uuid::parse_str(&self.client_id).is_err() {
            return Err(ValidationError::new(
                "client_id",
                format!(
                    "client_id {:?} is not an application id (a GUID such as 00000000-0000-0000-0000-000000000000)",
                    self.client_id
                ),
            ));
        }
        if !(1..=MAX_DELETE_WINDOW_MINUTES).contains(&self.delete_window_minutes) {
            return Err(ValidationError::new(
                "delete_window_minutes",
                format!(
                    "delete_window_minutes must be 1 to {MAX_DELETE_WINDOW_MINUTES} (a week), not {}",
                    self.delete_window_minutes
                ),
            ));
        }
        self.schedule.validate()
    }

    /// The rolling window of accidental-delete protection.
    pub fn delete_window(&self) -> std::time::Duration {
        let minutes = self
            .delete_window_minutes
            .clamp(1, MAX_DELETE_WINDOW_MINUTES);
        std::time::Duration::from_secs(u64::from(minutes) * 60)
    }
}

fn check_tenant(tenant: &str) -> Result<(), ValidationError> {
    let is_domain = tenant.contains('.')
        && tenant.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
    if uuid::Uuid::parse_str(tenant).is_ok() || is_domain {
        Ok(())
    } else {
        Err(ValidationError::new(
            "tenant_id",
            format!("tenant_id {tenant:?} is neither a tenant id (GUID) nor a domain"),
        ))
    }
}

/// Deletes plus disables a full sync may do without approval, unless the provider says
/// otherwise (as Entra Connect's default).
pub const DEFAULT_DELETE_THRESHOLD: u32 = 500;

fn default_delete_threshold() -> u32 {
    DEFAULT_DELETE_THRESHOLD
}

/// The window over which direct syncs' deletes and disables count against the threshold.
pub const DEFAULT_DELETE_WINDOW_MINUTES: u32 = 60;

/// The longest window: a week.
pub const MAX_DELETE_WINDOW_MINUTES: u32 = 7 * 24 * 60;

fn default_delete_window_minutes() -> u32 {
    DEFAULT_DELETE_WINDOW_MINUTES
}

/// A stored provider.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Provider {
    pub id: crate::ProviderId,
    /// Unique (regardless of case).
    pub name: String,
    #[serde(flatten)]
    pub settings: ProviderSettings,
    /// How it authenticates; the secret or key itself is write-only.
    pub credential: CredentialKind,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl fmt::Display for Cloud {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Cloud::Global => "global",
            Cloud::UsGovernment => "us_government",
            Cloud::UsGovernmentDod => "us_government_dod",
            Cloud::China => "china",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> ProviderSettings {
        ProviderSettings::new(
            "contoso.onmicrosoft.com",
            "0d7e9c4a-2b1f-4a6e-8c3d-5f6a7b8c9d0e",
            vec![],
            vec![],
        )
    }

    #[test]
    fn the_delete_window_is_bounded() {
        assert!(settings().validate().is_ok());
        for bad in [0, MAX_DELETE_WINDOW_MINUTES + 1] {
            let settings = ProviderSettings {
                delete_window_minutes: bad,
                ..settings()
            };
            assert_eq!(
                settings.validate().expect_err("window").field,
                "delete_window_minutes"
            );
        }
        let settings: ProviderSettings = serde_json::from_value(serde_json::json!({
            "tenant_id": "contoso.onmicrosoft.com",
            "client_id": "0d7e9c4a-2b1f-4a6e-8c3d-5f6a7b8c9d0e",
            "cloud": "global", "user_mappings": [], "group_mappings": [],
            "user_scope": {}, "group_scope": {"mode": "all"},
            "user_delete_action": "delete", "group_delete_action": "delete",
            "dry_run": false, "discovery": true,
            "schedule": {"cron": "0 */4 * * *", "paused": false}, "enabled": true
        }))
        .expect("settings stored before the window existed");
        assert_eq!(
            settings.delete_window(),
            std::time::Duration::from_secs(3600)
        );
    }

    #[test]
    fn tenants_and_client_ids_are_checked() {
        assert!(settings().validate().is_ok());
        let guid_tenant = ProviderSettings {
            tenant_id: "8f3b2a5e-6c1d-4e7f-9a0b-1c2d3e4f5a6b".into(),
            ..settings()
        };
        assert!(guid_tenant.validate().is_ok());
        let bad_tenant = ProviderSettings {
            tenant_id: "not a tenant".into(),
            ..settings()
        };
        assert_eq!(
            bad_tenant.validate().expect_err("tenant").field,
            "tenant_id"
        );
        let bad_client = ProviderSettings {
            client_id: "my-app".into(),
            ..settings()
        };
        assert_eq!(
            bad_client.validate().expect_err("client").field,
            "client_id"
        );
    }

    #[test]
    fn default_schedules_spread_over_the_hour_and_stay_put() {
        let id = crate::ProviderId::new();
        let schedule = Schedule::default_for(id);
        assert_eq!(
            schedule,
            Schedule::default_for(id),
            "stable for one provider"
        );
        assert!(schedule.cron.ends_with(" */4 * * *"), "{}", schedule.cron);
        let minutes: std::collections::HashSet<String> = (0..50)
            .map(|_| Schedule::default_for(crate::ProviderId::new()).cron)
            .collect();
        assert!(
            minutes.len() > 10,
            "different providers get different minutes"
        );
    }

    #[test]
    fn schedules_must_be_cron_expressions() {
        let bad = ProviderSettings {
            schedule: Schedule {
                cron: "every four hours".into(),
                paused: false,
            },
            ..settings()
        };
        assert_eq!(bad.validate().expect_err("cron").field, "schedule.cron");
        let schedule = Schedule {
            cron: "15 */4 * * *".into(),
            paused: false,
        };
        let start = "2026-11-26T13:20:00Z"
            .parse::<DateTime<Utc>>()
            .expect("time");
        assert_eq!(
            schedule.next_after(start).map(|t| t.to_rfc3339()),
            Some("2026-11-26T16:15:00+00:00".to_owned())
        );
        let paused = Schedule {
            paused: true,
            ..schedule
        };
        assert_eq!(paused.next_after(start), None);
    }

    #[test]
    fn group_scope_reads_as_tagged_json() {
        let all: GroupScope = serde_json::from_str(r#"{"mode":"all"}"#).expect("all");
        assert_eq!(all, GroupScope::All);
        let selected: GroupScope = serde_json::from_str(
            r#"{"mode":"selected","groups":["01a2180d-cb19-77c8-a9e9-69f7d6497ad9"]}"#,
        )
        .expect("selected");
        assert!(matches!(selected, GroupScope::Selected { groups } if groups.len() == 1));
    }
}
