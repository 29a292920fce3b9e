//! What providers use, checked inside the transactions that could break it: a group in a
//! provider's scope or a mapping in its lists cannot be deleted (a vanished filter group would
//! put every user out of scope), and a provider cannot be saved naming a group or mapping that
//! is gone. On PostgreSQL the rows read are share-locked, so the check and the write they guard
//! cannot interleave with a concurrent save or delete.

use model::{GroupId, GroupScope, MappingId, ProviderSettings};

/// What a provider may name that another table holds.
pub(crate) enum Used {
    Group(GroupId),
    Mapping(MappingId),
}

impl Used {
    pub(crate) fn by(&self, settings: &ProviderSettings) -> bool {
        match self {
            Used::Group(group) => {
                settings.user_scope.filter_group == Some(*group)
                    || matches!(&settings.group_scope, GroupScope::Selected { groups } if groups.contains(group))
            }
            Used::Mapping(mapping) => {
                settings.user_mappings.contains(mapping)
                    || settings.group_mappings.contains(mapping)
            }
        }
    }
}

/// The names of the providers whose settings use `$used`, read in the open transaction (and,
/// on PostgreSQL, share-locked until it ends).
macro_rules! providers_using {
    ($tx:expr, $dialect:expr, $used:expr) => {{
        let used: &$crate::references::Used = $used;
        let select = match $dialect {
            $crate::Dialect::Sqlite => "SELECT name, settings FROM providers ORDER BY name",
            $crate::Dialect::Postgres => {
                "SELECT name, settings FROM providers ORDER BY name FOR SHARE"
            }
        };
        let rows: Vec<(String, sqlx::types::Json<serde_json::Value>)> =
            sqlx::query_as(select).fetch_all(&mut *$tx).await?;
        let mut names = Vec::new();
        for (name, sqlx::types::Json(settings)) in rows {
            let settings: model::ProviderSettings = serde_json::from_value(settings)
                .map_err(|err| $crate::StoreError::Corrupt(format!("provider {name}: {err}")))?;
            if used.by(&settings) {
                names.push(name);
            }
        }
        names
    }};
}

/// Fails the call when `$settings` names a group or mapping that does not exist, checked in
/// the open transaction (share-locking what it finds on PostgreSQL).
macro_rules! check_references {
    ($tx:expr, $dialect:expr, $settings:expr) => {{
        let settings: &model::ProviderSettings = $settings;
        let (group_sql, mapping_sql) = match $dialect {
            $crate::Dialect::Sqlite => (
                "SELECT id FROM groups WHERE id = $1",
                "SELECT id FROM mappings WHERE id = $1",
            ),
            $crate::Dialect::Postgres => (
                "SELECT id FROM groups WHERE id = $1 FOR SHARE",
                "SELECT id FROM mappings WHERE id = $1 FOR SHARE",
            ),
        };
        let mut groups: Vec<(uuid::Uuid, &'static str)> = Vec::new();
        if let Some(group) = settings.user_scope.filter_group {
            groups.push((group.as_uuid(), "user_scope.filter_group"));
        }
        if let model::GroupScope::Selected { groups: selected } = &settings.group_scope {
            groups.extend(selected.iter().map(|g| (g.as_uuid(), "group_scope.groups")));
        }
        for (group, field) in groups {
            let found: Option<uuid::Uuid> = sqlx::query_scalar(group_sql)
                .bind(group)
                .fetch_optional(&mut *$tx)
                .await?;
            if found.is_none() {
                return Err($crate::StoreError::Invalid(model::ValidationError::new(
                    field,
                    format!("group {group} does not exist (deleted meanwhile?)"),
                )));
            }
        }
        let mappings = settings
            .user_mappings
            .iter()
            .map(|m| (m, "user_mappings"))
            .chain(
                settings
                    .group_mappings
                    .iter()
                    .map(|m| (m, "group_mappings")),
            );
        for (mapping, field) in mappings {
            let found: Option<uuid::Uuid> = sqlx::query_scalar(mapping_sql)
                .bind(mapping.as_uuid())
                .fetch_optional(&mut *$tx)
                .await?;
            if found.is_none() {
                return Err($crate::StoreError::Invalid(model::ValidationError::new(
                    field,
                    format!("mapping {mapping} does not exist (deleted meanwhile?)"),
                )));
            }
        }
    }};
}
