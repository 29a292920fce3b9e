//! `entrasync link …`: the links between directory objects and Entra objects of a provider.

use std::process::ExitCode;

use clap::{Args, Subcommand};
use serde_json::{Value, json};

use crate::{
    client::segment,
    output::{print_list, print_object},
    settings::Settings,
};

#[derive(Subcommand)]
pub enum LinkCommand {
    /// List the provider's links (users, or groups with --groups).
    List {
        #[arg(long, value_name = "NAME")]
        provider: String,
        #[arg(long)]
        groups: bool,
        #[arg(long, default_value_t = 100)]
        limit: u32,
    },
    /// Show one link, with what Entra holds now.
    Show(LinkTarget),
    /// Link a directory object to an existing Entra object by hand (read from Entra first).
    Add {
        #[command(flatten)]
        target: LinkTarget,
        /// The Entra object id.
        #[arg(long, value_name = "ID")]
        remote_id: String,
    },
    /// Remove a link. Local only: nothing changes in Entra.
    Remove(LinkTarget),
}

#[derive(Args)]
pub struct LinkTarget {
    #[arg(long, value_name = "NAME")]
    provider: String,
    /// The user (username or id).
    #[arg(
        long,
        value_name = "USERNAME",
        conflicts_with = "group",
        required_unless_present = "group"
    )]
    user: Option<String>,
    /// The group (name or id).
    #[arg(long, value_name = "NAME")]
    group: Option<String>,
}

impl LinkTarget {
    fn path(&self) -> String {
        let (kind, object) = match (&self.user, &self.group) {
            (Some(user), _) => ("users", user),
            (None, Some(group)) => ("groups", group),
            (None, None) => ("users", &String::new()),
        };
        format!(
            "/api/v1/providers/{}/links/{kind}/{}",
            segment(&self.provider),
            segment(object)
        )
    }
}

const COLUMNS: [&str; 4] = ["kind", "object_id", "remote_id", "synced_at"];

pub async fn run(settings: &Settings, command: LinkCommand) -> anyhow::Result<ExitCode> {
    let client = settings.client()?;
    match command {
        LinkCommand::List {
            provider,
            groups,
            limit,
        } => {
            let kind = if groups { "groups" } else { "users" };
            let page: Value = client
                .get(&format!(
                    "/api/v1/providers/{}/links/{kind}?limit={limit}",
                    segment(&provider)
                ))
                .await?;
            let items = page["items"].as_array().cloned().unwrap_or_default();
            print_list(settings.output, &items, &COLUMNS);
        }
        LinkCommand::Show(target) => {
            let link: Value = client.get(&target.path()).await?;
            print_object(settings.output, &link);
        }
        LinkCommand::Add { target, remote_id } => {
            let link: Value = client
                .put(&target.path(), &json!({ "remote_id": remote_id }))
                .await?;
            print_object(settings.output, &link);
        }
        LinkCommand::Remove(target) => {
            client.delete(&target.path()).await?;
            println!(
                "link removed (local only: nothing changed in Entra; the next sync may link the \
                 object again or create it)"
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
