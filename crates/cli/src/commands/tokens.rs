//! `entrasync token …`: API tokens (the admin API's, and SCIM clients'). A new token is printed once; listings never
//! hold a token.

use std::process::ExitCode;

use clap::Subcommand;
use serde_json::{Map, Value, json};

use super::users::insert_some;
use crate::{
    client::segment,
    output::{OutputFormat, print_json, print_list},
    settings::Settings,
};

#[derive(Subcommand)]
pub enum TokenCommand {
    /// List API tokens (never the tokens themselves).
    List {
        #[arg(long, default_value_t = 100)]
        limit: u32,
        /// Show the next page: the last id of the previous one.
        #[arg(long)]
        after: Option<String>,
    },
    /// Make an API token and print it, once.
    Create {
        /// A name for it, unique regardless of case (to revoke it by). A SCIM token's name is
        /// recorded on every object its client creates: name it after the client.
        name: String,
        /// What it opens: `admin` (the admin API) or `scim` (`/scim/v2` only, for one SCIM
        /// client such as Okta or Entra's provisioning service).
        #[arg(long, default_value = "admin", value_parser = ["admin", "scim"])]
        kind: String,
        /// Days until it stops being accepted (1 to 3650; default: never).
        #[arg(long, value_name = "DAYS")]
        expires_in_days: Option<u32>,
    },
    /// Revoke an API token, by id or name: it is refused from now on.
    Revoke {
        /// Not `token`: that is the global `--token` the request is sent with.
        id_or_name: String,
    },
}

const TOKEN_COLUMNS: [&str; 7] = [
    "id",
    "name",
    "kind",
    "created_at",
    "expires_at",
    "expired",
    "last_used_at",
];

pub async fn run(settings: &Settings, command: TokenCommand) -> anyhow::Result<ExitCode> {
    let client = settings.client()?;
    match command {
        TokenCommand::List { limit, after } => {
            let mut path = format!("/api/v1/tokens?limit={limit}");
            if let Some(after) = after {
                path.push_str(&format!("&after={}", segment(&after)));
            }
            let page: Value = client.get(&path).await?;
            let items = page["items"].as_array().cloned().unwrap_or_default();
            print_list(settings.output, &items, &TOKEN_COLUMNS);
            if let (Some(next), OutputFormat::Table) =
                (page["next_after"].as_str(), settings.output)
            {
                eprintln!("more: --after {next}");
            }
        }
        TokenCommand::Create {
            name,
            kind,
            expires_in_days,
        } => {
            let mut body = Map::new();
            body.insert("name".into(), json!(name));
            body.insert("kind".into(), json!(kind));
            insert_some(
                &mut body,
                "expires_in_days",
                expires_in_days.map(Value::from),
            );
            let created: Value = client.post("/api/v1/tokens", &body).await?;
            match settings.output {
                OutputFormat::Json => print_json(&created),
                OutputFormat::Table => {
                    let expiry = match created["expires_at"].as_str() {
                        Some(at) => format!("it expires at {at}"),
                        None => "it does not expire".to_owned(),
                    };
                    println!(
                        "Created the {} token {} ({expiry}). It is shown only this once; keep \
                         it somewhere safe:\n\n    {}\n",
                        if created["kind"] == "scim" {
                            "SCIM"
                        } else {
                            "API"
                        },
                        created["name"],
                        created["token"].as_str().unwrap_or_default()
                    );
                }
            }
        }
        TokenCommand::Revoke { id_or_name } => {
            client
                .delete(&format!("/api/v1/tokens/{}", segment(&id_or_name)))
                .await?;
            eprintln!("revoked API token {id_or_name}");
        }
    }
    Ok(ExitCode::SUCCESS)
}
