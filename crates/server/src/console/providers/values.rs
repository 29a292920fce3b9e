//! A provider's settings as the form shows them (names, not ids; lists one per line), and the
//! posted form turned into the API's `ProviderInput`: the API then validates and saves it, so
//! the console has no rule of its own.

use model::{Cloud, GroupDeleteAction, GroupScope, Provider, ProviderSettings, UserDeleteAction};
use secrecy::SecretString;
use store::Store;

use crate::api::providers::{
    CertificateInput, GroupScopeInput, ProviderInput, ScheduleInput, UserScopeInput,
};
use crate::console::form::{Fields, Problem};

/// Every setting of the form, as text the inputs hold.
pub struct Values {
    pub name: String,
    pub tenant_id: String,
    pub client_id: String,
    pub cloud: String,
    pub user_mappings: String,
    pub group_mappings: String,
    pub filter_group: String,
    pub exclude_service_accounts: bool,
    pub selected_groups: bool,
    pub groups: String,
    pub user_delete_action: String,
    pub group_delete_action: String,
    pub dry_run: bool,
    pub discovery: bool,
    pub remove_unmanaged_members: bool,
    pub delete_threshold: String,
    pub delete_window_minutes: String,
    pub cron: String,
    pub schedule_paused: bool,
    pub enabled: bool,
}

/// The choices of each `<select>`, as (value, label).
pub const CLOUDS: &[(&str, &str)] = &[
    ("global", "Global (graph.microsoft.com)"),
    ("us_government", "US Government L4"),
    ("us_government_dod", "US Government L5 (DoD)"),
    ("china", "China (21Vianet)"),
];
pub const USER_DELETE_ACTIONS: &[(&str, &str)] = &[
    ("delete", "Delete the Entra user"),
    ("suspend", "Disable the Entra user (accountEnabled = false)"),
    ("do_nothing", "Leave it; only the link goes"),
];
pub const GROUP_DELETE_ACTIONS: &[(&str, &str)] = &[
    ("delete", "Delete the Entra group"),
    ("do_nothing", "Leave it; only the link goes"),
];

fn snake<T: serde::Serialize>(value: T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|value| value.as_str().map(str::to_owned))
        .unwrap_or_default()
}

impl Values {
    /// A new provider's form: the defaults `ProviderSettings::new` gives, with the default
    /// mappings named (the schedule is derived from the provider's id once it has one).
    pub fn defaults() -> Self {
        let settings = ProviderSettings::new(String::new(), String::new(), vec![], vec![]);
        let mut values = Self::of_settings("", &settings);
        values.user_mappings = mapping::DEFAULT_USER_MAPPING_NAME.to_owned();
        values.group_mappings = mapping::DEFAULT_GROUP_MAPPING_NAME.to_owned();
        values.cron = String::new();
        values
    }

    fn of_settings(name: &str, settings: &ProviderSettings) -> Self {
        Self {
            name: name.to_owned(),
            tenant_id: settings.tenant_id.clone(),
            client_id: settings.client_id.clone(),
            cloud: snake(settings.cloud),
            user_mappings: String::new(),
            group_mappings: String::new(),
            filter_group: String::new(),
            exclude_service_accounts: settings.user_scope.exclude_service_accounts,
            selected_groups: matches!(settings.group_scope, GroupScope::Selected { .. }),
            groups: String::new(),
            user_delete_action: snake(settings.user_delete_action),
            group_delete_action: snake(settings.group_delete_action),
            dry_run: settings.dry_run,
            discovery: settings.discovery,
            remove_unmanaged_members: settings.remove_unmanaged_members,
            delete_threshold: settings.delete_threshold.to_string(),
            delete_window_minutes: settings.delete_window_minutes.to_string(),
            cron: settings.schedule.cron.clone(),
            schedule_paused: settings.schedule.paused,
            enabled: settings.enabled,
        }
    }

    /// A saved provider's form, mappings and groups by name.
    pub async fn of(store: &Store, provider: &Provider) -> Result<Self, store::StoreError> {
        let settings = &provider.settings;
        let mut values = Self::of_settings(&provider.name, settings);
        let mut names = Vec::new();
        for id in &settings.user_mappings {
            names.push(store.get_mapping(*id).await?.name);
        }
        values.user_mappings = names.join("\n");
        names.clear();
        for id in &settings.group_mappings {
            names.push(store.get_mapping(*id).await?.name);
        }
        values.group_mappings = names.join("\n");
        if let Some(group) = settings.user_scope.filter_group {
            values.filter_group = store.get_group(group).await?.name.to_string();
        }
        if let GroupScope::Selected { groups } = &settings.group_scope {
            names.clear();
            for id in groups {
                names.push(store.get_group(*id).await?.name.to_string());
            }
            values.groups = names.join("\n");
        }
        Ok(values)
    }

    /// What was posted, shown again beside the problem it has.
    pub fn posted(fields: &Fields) -> Self {
        Self {
            name: fields.text("name"),
            tenant_id: fields.text("tenant_id"),
            client_id: fields.text("client_id"),
            cloud: fields.text("cloud"),
            user_mappings: fields.raw("user_mappings").to_owned(),
            group_mappings: fields.raw("group_mappings").to_owned(),
            filter_group: fields.text("user_scope.filter_group"),
            exclude_service_accounts: fields.checked("user_scope.exclude_service_accounts"),
            selected_groups: fields.text("group_scope") == "selected",
            groups: fields.raw("group_scope.groups").to_owned(),
            user_delete_action: fields.text("user_delete_action"),
            group_delete_action: fields.text("group_delete_action"),
            dry_run: fields.checked("dry_run"),
            discovery: fields.checked("discovery"),
            remove_unmanaged_members: fields.checked("remove_unmanaged_members"),
            delete_threshold: fields.text("delete_threshold"),
            delete_window_minutes: fields.text("delete_window_minutes"),
            cron: fields.text("schedule.cron"),
            schedule_paused: fields.checked("schedule.paused"),
            enabled: fields.checked("enabled"),
        }
    }
}

/// The group scope as chosen. "Only the groups named below" with none named would take every
/// synced group out of scope (and apply the delete action to each), so the form refuses it:
/// the API still takes an empty list from someone who means it.
fn group_scope(fields: &Fields) -> Result<GroupScopeInput, Problem> {
    match fields.text("group_scope").as_str() {
        "all" => Ok(GroupScopeInput::All),
        "selected" => {
            let groups = fields.lines("group_scope.groups");
            if groups.is_empty() {
                return Err(Problem::at(
                    "group_scope.groups",
                    "name at least one group, one per line, or choose every group",
                ));
            }
            Ok(GroupScopeInput::Selected { groups })
        }
        other => Err(Problem::at(
            "group_scope",
            format!("{other:?} is not a choice of group_scope"),
        )),
    }
}

/// The marker every provider form carries: only a form that has it says, by leaving a box
/// unticked, that the setting is off (a post without it could turn dry run off unseen).
pub const FORM_MARKER: &str = "provider-settings";

/// The posted form as the API's input: every setting given (the form shows them all); the
/// credential only when one was typed (it is write-only: blank keeps the stored one).
pub fn input(fields: &Fields) -> Result<ProviderInput, Problem> {
    if fields.raw("form") != FORM_MARKER {
        return Err(Problem {
            field: None,
            message: "this is not the provider form (open the page again and resend it)".into(),
        });
    }
    let certificate = match (
        fields.optional("certificate.certificate_pem"),
        fields.optional("certificate.private_key_pem"),
    ) {
        (None, None) => None,
        (certificate_pem, private_key_pem) => Some(CertificateInput {
            certificate_pem: certificate_pem.unwrap_or_default(),
            private_key_pem: SecretString::from(private_key_pem.unwrap_or_default()),
        }),
    };
    Ok(ProviderInput {
        name: Some(fields.text("name")),
        tenant_id: Some(fields.text("tenant_id")),
        client_id: Some(fields.text("client_id")),
        cloud: Some(fields.choice::<Cloud>("cloud")?),
        // Not trimmed: a secret is what was typed.
        client_secret: Some(fields.raw("client_secret"))
            .filter(|secret| !secret.is_empty())
            .map(|secret| SecretString::from(secret.to_owned())),
        certificate,
        user_mappings: Some(fields.lines("user_mappings")),
        group_mappings: Some(fields.lines("group_mappings")),
        user_scope: Some(UserScopeInput {
            filter_group: fields.optional("user_scope.filter_group"),
            exclude_service_accounts: fields.checked("user_scope.exclude_service_accounts"),
        }),
        group_scope: Some(group_scope(fields)?),
        user_delete_action: Some(fields.choice::<UserDeleteAction>("user_delete_action")?),
        group_delete_action: Some(fields.choice::<GroupDeleteAction>("group_delete_action")?),
        dry_run: Some(fields.checked("dry_run")),
        discovery: Some(fields.checked("discovery")),
        remove_unmanaged_members: Some(fields.checked("remove_unmanaged_members")),
        delete_threshold: fields.number("delete_threshold")?,
        delete_window_minutes: fields.number("delete_window_minutes")?,
        schedule: Some(ScheduleInput {
            cron: fields.optional("schedule.cron"),
            paused: Some(fields.checked("schedule.paused")),
        }),
        enabled: Some(fields.checked("enabled")),
    })
}
