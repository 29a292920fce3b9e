//! Scope: which directory objects a provider syncs.

use model::{Group, GroupScope, ProviderSettings, User};

use crate::local::LocalError;
use crate::ports::Directory;

/// Whether the user is in the provider's scope: not a service account when those are excluded,
/// and a direct member of the filter group when there is one. Inactive users are in scope (they
/// are synced disabled).
pub async fn user_in_scope<D: Directory>(
    directory: &D,
    settings: &ProviderSettings,
    user: &User,
) -> Result<bool, LocalError> {
    let scope = &settings.user_scope;
    if scope.exclude_service_accounts && user.kind.is_service_account() {
        return Ok(false);
    }
    match scope.filter_group {
        Some(group) => directory.is_member(group, user.id).await,
        None => Ok(true),
    }
}

/// Whether the group is in the provider's scope.
pub fn group_in_scope(settings: &ProviderSettings, group: &Group) -> bool {
    match &settings.group_scope {
        GroupScope::All => true,
        GroupScope::Selected { groups } => groups.contains(&group.id),
    }
}
