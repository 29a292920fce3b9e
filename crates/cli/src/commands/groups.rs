use std::process::ExitCode;

use clap::{Args, Subcommand};
use serde_json::{Map, Value, json};

use super::users::{USER_COLUMNS, insert_some, parse_attributes};
use crate::{
    client::segment,
    output::{OutputFormat, print_list, print_object},
    settings::Settings,
};

#[derive(Subcommand)]
pub enum GroupCommand {
    /// Create a group.
    Add {
        name: String,
        /// Attributes as a JSON object.
        #[arg(long)]
        attributes: Option<String>,
    },
    /// List groups.
    List {
        /// Name contains (case-insensitive).
        #[arg(long)]
        name: Option<String>,
        #[arg(long, default_value_t = 100)]
        limit: u32,
        /// Show the next page: the last id of the previous one.
        #[arg(long)]
        after: Option<String>,
    },
    /// Show one group (by id or name).
    Show { group: String },
    /// Rename a group or replace its attributes.
    Update {
        group: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        attributes: Option<String>,
    },
    /// Delete a group (and its memberships).
    Delete { group: String },
    /// Add users (ids or usernames) to a group.
    AddMember(MemberArgs),
    /// Remove users (ids or usernames) from a group.
    RemoveMember(MemberArgs),
    /// List a group's direct members.
    Members {
        group: String,
        #[arg(long, default_value_t = 100)]
        limit: u32,
        #[arg(long)]
        after: Option<String>,
    },
}

#[derive(Args)]
pub struct MemberArgs {
    pub group: String,
    #[arg(required = true)]
    pub users: Vec<String>,
}

const GROUP_COLUMNS: [&str; 3] = ["id", "name", "updated_at"];

pub async fn run(settings: &Settings, command: GroupCommand) -> anyhow::Result<ExitCode> {
    let client = settings.client()?;
    match command {
        GroupCommand::Add { name, attributes } => {
            let mut body = Map::new();
            body.insert("name".into(), json!(name));
            insert_some(&mut body, "attributes", parse_attributes(attributes)?);
            let group: Value = client.post("/api/v1/groups", &body).await?;
            print_object(settings.output, &group);
        }
        GroupCommand::List { name, limit, after } => {
            let mut path = format!("/api/v1/groups?limit={limit}");
            if let Some(name) = name {
                path.push_str(&format!("&name={}", segment(&name)));
            }
            if let Some(after) = after {
                path.push_str(&format!("&after={}", segment(&after)));
            }
            let page: Value = client.get(&path).await?;
            print_page(settings.output, &page, &GROUP_COLUMNS);
        }
        GroupCommand::Show { group } => {
            let group: Value = client
                .get(&format!("/api/v1/groups/{}", segment(&group)))
                .await?;
            print_object(settings.output, &group);
        }
        GroupCommand::Update {
            group,
            name,
            attributes,
        } => {
            let mut body = Map::new();
            insert_some(&mut body, "name", name.map(Value::from));
            insert_some(&mut body, "attributes", parse_attributes(attributes)?);
            if body.is_empty() {
                anyhow::bail!("nothing to change: pass --name or --attributes");
            }
            let group: Value = client
                .patch(&format!("/api/v1/groups/{}", segment(&group)), &body)
                .await?;
            print_object(settings.output, &group);
        }
        GroupCommand::Delete { group } => {
            client
                .delete(&format!("/api/v1/groups/{}", segment(&group)))
                .await?;
            eprintln!("deleted group {group}");
        }
        GroupCommand::AddMember(args) => {
            let result: Value = client
                .post(
                    &format!("/api/v1/groups/{}/members", segment(&args.group)),
                    &json!({ "users": args.users }),
                )
                .await?;
            print_membership(settings.output, &result, "added", "already_members");
        }
        GroupCommand::RemoveMember(args) => {
            let result: Value = client
                .post(
                    &format!("/api/v1/groups/{}/members/remove", segment(&args.group)),
                    &json!({ "users": args.users }),
                )
                .await?;
            print_membership(settings.output, &result, "removed", "not_members");
        }
        GroupCommand::Members {
            group,
            limit,
            after,
        } => {
            let mut path = format!("/api/v1/groups/{}/members?limit={limit}", segment(&group));
            if let Some(after) = after {
                path.push_str(&format!("&after={}", segment(&after)));
            }
            let page: Value = client.get(&path).await?;
            print_page(settings.output, &page, &USER_COLUMNS);
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn print_page(format: OutputFormat, page: &Value, columns: &[&str]) {
    let items = page["items"].as_array().cloned().unwrap_or_default();
    print_list(format, &items, columns);
    if let (Some(next), OutputFormat::Table) = (page["next_after"].as_str(), format) {
        eprintln!("more: --after {next}");
    }
}

fn print_membership(format: OutputFormat, result: &Value, changed: &str, unchanged: &str) {
    match format {
        OutputFormat::Json => crate::output::print_json(result),
        OutputFormat::Table => {
            let count = |key: &str| result[key].as_array().map_or(0, Vec::len);
            println!(
                "{}: {}, {}: {}",
                changed.replace('_', " "),
                count(changed),
                unchanged.replace('_', " "),
                count(unchanged)
            );
        }
    }
}
