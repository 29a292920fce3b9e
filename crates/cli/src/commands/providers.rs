//! `entrasync provider …`: manage Entra ID providers. Credentials are read from files or the
//! environment, never from a command-line value (which other users could see in the process
//! list), and never printed.

use std::{path::PathBuf, process::ExitCode};

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use serde_json::{Map, Value, json};

use super::users::insert_some;
use crate::{
    client::segment,
    output::{print_list, print_object},
    settings::Settings,
};

/// Where `--client-secret-from-env` reads the secret.
const SECRET_ENV: &str = "ENTRASYNC_CLIENT_SECRET";

#[derive(Subcommand)]
pub enum ProviderCommand {
    /// Create a provider (it starts with the default mappings unless told otherwise).
    Add {
        name: String,
        #[command(flatten)]
        settings: ProviderSettingsArgs,
    },
    /// List providers.
    List {
        #[arg(long, default_value_t = 100)]
        limit: u32,
        #[arg(long)]
        after: Option<String>,
    },
    /// Show one provider (by id or name); its credential is never shown.
    Show { provider: String },
    /// Change a provider: only the settings given change.
    Update {
        provider: String,
        /// Rename it.
        #[arg(long)]
        name: Option<String>,
        #[command(flatten)]
        settings: ProviderSettingsArgs,
    },
    /// Delete a provider (nothing changes in Entra).
    Delete { provider: String },
    /// Where a provider stands: health, last run, next scheduled run, queued work.
    Status { provider: String },
    /// Queue a full sync on the server now (it also clears a stopped state).
    Sync { provider: String },
    /// Approve the deletes that accidental-delete protection holds (they proceed now).
    Approve { provider: String },
    /// Reject the held deletes: the links go, the objects stay in Entra, the provider resumes.
    Reject { provider: String },
    /// The provider's runs, newest first.
    Runs {
        provider: String,
        #[arg(long, default_value_t = 20)]
        limit: u32,
    },
    /// One run: its counts and the objects that failed (with `--plan`, a dry run's plan; with
    /// `--output json`, all of it, to export).
    Run {
        /// The run's id, or `latest` (with `--provider`).
        run: String,
        /// With `latest`: whose latest run.
        #[arg(long, value_name = "NAME")]
        provider: Option<String>,
        #[arg(long)]
        plan: bool,
    },
}

#[derive(Args)]
pub struct ProviderSettingsArgs {
    /// The tenant id (GUID) or its initial domain (contoso.onmicrosoft.com).
    #[arg(long)]
    tenant_id: Option<String>,
    /// The app registration's application (client) id.
    #[arg(long)]
    client_id: Option<String>,
    /// global, us_government, us_government_dod or china.
    #[arg(long)]
    cloud: Option<String>,
    /// Read the client secret from this file.
    #[arg(long, value_name = "FILE")]
    client_secret_file: Option<PathBuf>,
    /// Read the client secret from the ENTRASYNC_CLIENT_SECRET environment variable.
    #[arg(long)]
    client_secret_from_env: bool,
    /// Authenticate with this certificate (PEM) …
    #[arg(long, value_name = "FILE", requires = "private_key")]
    certificate: Option<PathBuf>,
    /// … and its private key (PEM).
    #[arg(long, value_name = "FILE", requires = "certificate")]
    private_key: Option<PathBuf>,
    /// A user mapping, by name or id (repeat, in order; replaces the list).
    #[arg(long = "user-mapping", value_name = "MAPPING")]
    user_mappings: Vec<String>,
    /// A group mapping, by name or id (repeat, in order; replaces the list).
    #[arg(long = "group-mapping", value_name = "MAPPING")]
    group_mappings: Vec<String>,
    /// Sync only the direct members of this group.
    #[arg(long, value_name = "GROUP", conflicts_with = "no_filter_group")]
    filter_group: Option<String>,
    /// Sync users regardless of group.
    #[arg(long)]
    no_filter_group: bool,
    /// Leave service accounts out (true or false).
    #[arg(long, value_name = "BOOL")]
    exclude_service_accounts: Option<bool>,
    /// Sync only these groups (repeat).
    #[arg(long = "group", value_name = "GROUP", conflicts_with = "all_groups")]
    groups: Vec<String>,
    /// Sync every group.
    #[arg(long)]
    all_groups: bool,
    /// delete, suspend or do_nothing.
    #[arg(long, value_name = "ACTION")]
    user_delete_action: Option<String>,
    /// delete or do_nothing.
    #[arg(long, value_name = "ACTION")]
    group_delete_action: Option<String>,
    /// Plan only, write nothing to Entra (true or false).
    #[arg(long, value_name = "BOOL")]
    dry_run: Option<bool>,
    /// Link existing Entra users and groups before creating any (true or false).
    #[arg(long, value_name = "BOOL")]
    discovery: Option<bool>,
    /// Also remove Entra group members that are not linked directory users (true or false).
    #[arg(long, value_name = "BOOL")]
    remove_unmanaged_members: Option<bool>,
    /// Accidental-delete protection: most deletes plus disables a full sync, or direct syncs
    /// within the window, may do without approval (default 500; 0: no limit).
    #[arg(long, value_name = "COUNT")]
    delete_threshold: Option<u32>,
    /// The rolling window, in minutes, over which direct syncs' deletes and disables count
    /// against the threshold (1 to 10080; default 60).
    #[arg(long, value_name = "MINUTES")]
    delete_window_minutes: Option<u32>,
    /// When full syncs run: cron, five fields, UTC.
    #[arg(long, value_name = "CRON")]
    schedule: Option<String>,
    /// Pause or resume the schedule (true or false).
    #[arg(long, value_name = "BOOL")]
    schedule_paused: Option<bool>,
    /// Enable or pause the provider (true or false).
    #[arg(long, value_name = "BOOL")]
    enabled: Option<bool>,
}

fn read_file(path: &PathBuf, what: &str) -> anyhow::Result<String> {
    std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the {what} {}", path.display()))
}

impl ProviderSettingsArgs {
    /// The API body for these settings. `current` is the provider being updated, whose user
    /// scope the flags change rather than replace.
    fn body(self, current: Option<&Value>) -> anyhow::Result<Map<String, Value>> {
        let mut body = Map::new();
        insert_some(&mut body, "tenant_id", self.tenant_id.map(Value::from));
        insert_some(&mut body, "client_id", self.client_id.map(Value::from));
        insert_some(&mut body, "cloud", self.cloud.map(Value::from));
        let secret = match (self.client_secret_file, self.client_secret_from_env) {
            (Some(_), true) => {
                bail!("give --client-secret-file or --client-secret-from-env, not both")
            }
            (Some(path), false) => Some(read_file(&path, "client secret file")?.trim().to_owned()),
            (None, true) => Some(
                std::env::var(SECRET_ENV).with_context(|| format!("{SECRET_ENV} is not set"))?,
            ),
            (None, false) => None,
        };
        insert_some(&mut body, "client_secret", secret.map(Value::from));
        if let (Some(certificate), Some(key)) = (self.certificate, self.private_key) {
            body.insert(
                "certificate".into(),
                json!({
                    "certificate_pem": read_file(&certificate, "certificate")?,
                    "private_key_pem": read_file(&key, "private key")?,
                }),
            );
        }
        if !self.user_mappings.is_empty() {
            body.insert("user_mappings".into(), json!(self.user_mappings));
        }
        if !self.group_mappings.is_empty() {
            body.insert("group_mappings".into(), json!(self.group_mappings));
        }
        if self.filter_group.is_some()
            || self.no_filter_group
            || self.exclude_service_accounts.is_some()
        {
            let scope = current.map(|provider| &provider["user_scope"]);
            let filter_group = if self.no_filter_group {
                Value::Null
            } else {
                self.filter_group
                    .map(Value::from)
                    .or_else(|| scope.map(|s| s["filter_group"].clone()))
                    .unwrap_or(Value::Null)
            };
            let exclude = self
                .exclude_service_accounts
                .or_else(|| scope.and_then(|s| s["exclude_service_accounts"].as_bool()))
                .unwrap_or(false);
            body.insert(
                "user_scope".into(),
                json!({"filter_group": filter_group, "exclude_service_accounts": exclude}),
            );
        }
        if self.all_groups {
            body.insert("group_scope".into(), json!({"mode": "all"}));
        } else if !self.groups.is_empty() {
            body.insert(
                "group_scope".into(),
                json!({"mode": "selected", "groups": self.groups}),
            );
        }
        insert_some(
            &mut body,
            "user_delete_action",
            self.user_delete_action.map(Value::from),
        );
        insert_some(
            &mut body,
            "group_delete_action",
            self.group_delete_action.map(Value::from),
        );
        insert_some(&mut body, "dry_run", self.dry_run.map(Value::from));
        insert_some(&mut body, "discovery", self.discovery.map(Value::from));
        insert_some(
            &mut body,
            "remove_unmanaged_members",
            self.remove_unmanaged_members.map(Value::from),
        );
        insert_some(
            &mut body,
            "delete_threshold",
            self.delete_threshold.map(Value::from),
        );
        insert_some(
            &mut body,
            "delete_window_minutes",
            self.delete_window_minutes.map(Value::from),
        );
        if self.schedule.is_some() || self.schedule_paused.is_some() {
            let mut schedule = Map::new();
            insert_some(&mut schedule, "cron", self.schedule.map(Value::from));
            insert_some(
                &mut schedule,
                "paused",
                self.schedule_paused.map(Value::from),
            );
            body.insert("schedule".into(), Value::Object(schedule));
        }
        insert_some(&mut body, "enabled", self.enabled.map(Value::from));
        Ok(body)
    }
}

const PROVIDER_COLUMNS: [&str; 6] = [
    "id",
    "name",
    "tenant_id",
    "credential",
    "dry_run",
    "enabled",
];

pub async fn run(settings: &Settings, command: ProviderCommand) -> anyhow::Result<ExitCode> {
    let client = settings.client()?;
    match command {
        ProviderCommand::Add {
            name,
            settings: args,
        } => {
            let mut body = args.body(None)?;
            body.insert("name".into(), Value::from(name));
            let provider: Value = client.post("/api/v1/providers", &body).await?;
            print_object(settings.output, &provider);
        }
        ProviderCommand::List { limit, after } => {
            let mut path = format!("/api/v1/providers?limit={limit}");
            if let Some(after) = after {
                path.push_str(&format!("&after={}", segment(&after)));
            }
            let page: Value = client.get(&path).await?;
            let items = page["items"].as_array().cloned().unwrap_or_default();
            print_list(settings.output, &items, &PROVIDER_COLUMNS);
        }
        ProviderCommand::Status { provider } => {
            let status: Value = client
                .get(&format!("/api/v1/providers/{}/status", segment(&provider)))
                .await?;
            print_object(settings.output, &status);
        }
        ProviderCommand::Sync { provider } => {
            let _: Value = client
                .post(
                    &format!("/api/v1/providers/{}/sync", segment(&provider)),
                    &serde_json::json!({}),
                )
                .await?;
            println!(
                "full sync of {provider} queued; `entrasync provider status {provider}` shows it"
            );
        }
        ProviderCommand::Approve { provider } => {
            let decision: Value = client
                .post(
                    &format!("/api/v1/providers/{}/approve", segment(&provider)),
                    &serde_json::json!({}),
                )
                .await?;
            println!(
                "approved: the deletes of {} objects proceed",
                decision["objects"]
            );
        }
        ProviderCommand::Reject { provider } => {
            let decision: Value = client
                .post(
                    &format!("/api/v1/providers/{}/reject", segment(&provider)),
                    &serde_json::json!({}),
                )
                .await?;
            println!(
                "rejected: {} objects were unlinked and stay in Entra; the provider resumes",
                decision["objects"]
            );
        }
        ProviderCommand::Runs { provider, limit } => {
            let page: Value = client
                .get(&format!(
                    "/api/v1/providers/{}/runs?limit={limit}",
                    segment(&provider)
                ))
                .await?;
            let items = page["items"].as_array().cloned().unwrap_or_default();
            print_list(
                settings.output,
                &items,
                &[
                    "id",
                    "trigger",
                    "dry_run",
                    "status",
                    "started_at",
                    "finished_at",
                    "error",
                ],
            );
        }
        ProviderCommand::Run {
            run,
            provider,
            plan,
        } => {
            let run = if run == "latest" {
                let provider =
                    provider.ok_or_else(|| anyhow::anyhow!("`latest` needs --provider NAME"))?;
                let page: Value = client
                    .get(&format!(
                        "/api/v1/providers/{}/runs?limit=1",
                        segment(&provider)
                    ))
                    .await?;
                page["items"][0]["id"]
                    .as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| anyhow::anyhow!("provider {provider:?} has no run yet"))?
            } else {
                run
            };
            let detail: Value = client
                .get(&format!("/api/v1/runs/{}", segment(&run)))
                .await?;
            if !plan {
                print_object(settings.output, &detail);
                return Ok(ExitCode::SUCCESS);
            }
            let mut items = Vec::new();
            let mut after = 0;
            loop {
                let page: Value = client
                    .get(&format!(
                        "/api/v1/runs/{}/plan?limit=1000&after={after}",
                        segment(&run)
                    ))
                    .await?;
                items.extend(page["items"].as_array().cloned().unwrap_or_default());
                match page["next_after"].as_i64() {
                    Some(next) => after = next,
                    None => break,
                }
            }
            match settings.output {
                crate::output::OutputFormat::Json => {
                    crate::output::print_json(&serde_json::json!({"run": detail, "plan": items}));
                }
                crate::output::OutputFormat::Table => {
                    let rows: Vec<Value> = items
                        .iter()
                        .map(|item| {
                            let operations: Vec<String> = item["operations"]
                                .as_array()
                                .into_iter()
                                .flatten()
                                .map(describe_operation)
                                .collect();
                            serde_json::json!({"object": item["object_kind"], "name": item["object_name"],
                                "operations": operations.join("; ")})
                        })
                        .collect();
                    print_list(settings.output, &rows, &["object", "name", "operations"]);
                }
            }
        }
        ProviderCommand::Show { provider } => {
            let provider: Value = client
                .get(&format!("/api/v1/providers/{}", segment(&provider)))
                .await?;
            print_object(settings.output, &provider);
        }
        ProviderCommand::Update {
            provider,
            name,
            settings: args,
        } => {
            let path = format!("/api/v1/providers/{}", segment(&provider));
            let current: Value = client.get(&path).await?;
            let mut body = args.body(Some(&current))?;
            insert_some(&mut body, "name", name.map(Value::from));
            if body.is_empty() {
                bail!("nothing to change: give at least one setting");
            }
            let provider: Value = client.patch(&path, &body).await?;
            print_object(settings.output, &provider);
        }
        ProviderCommand::Delete { provider } => {
            client
                .delete(&format!("/api/v1/providers/{}", segment(&provider)))
                .await?;
            eprintln!("deleted provider {provider} (nothing was changed in Entra)");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// One plan operation in a line: `create`, `update displayName, accountEnabled`, `add 3 members`.
fn describe_operation(operation: &Value) -> String {
    let kind = operation["operation"].as_str().unwrap_or("?");
    match kind {
        "update" => {
            let fields: Vec<&str> = operation["changes"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|change| change["property"].as_str())
                .collect();
            format!("update {}", fields.join(", "))
        }
        "add_members" => {
            let count = operation["members"].as_array().map_or(0, Vec::len)
                + operation["new_members"].as_array().map_or(0, Vec::len);
            format!("add {count} members")
        }
        "remove_member" => format!(
            "remove member {}",
            operation["member"].as_str().unwrap_or("")
        ),
        other => other.replace('_', " "),
    }
}
