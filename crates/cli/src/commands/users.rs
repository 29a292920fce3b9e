use std::process::ExitCode;

use clap::{Args, Subcommand};
use serde_json::{Map, Value, json};

use crate::{
    client::segment,
    output::{print_list, print_object},
    settings::Settings,
};

#[derive(Subcommand)]
pub enum UserCommand {
    /// Create a user.
    Add(UserAdd),
    /// List users (filters narrow the list).
    List(UserList),
    /// Show one user (by id or username).
    Show { user: String },
    /// Change some fields of a user.
    Update(UserUpdate),
    /// Delete a user (and its memberships).
    Delete { user: String },
}

#[derive(Args)]
pub struct UserAdd {
    pub username: String,
    /// Display name (default: the username).
    #[arg(long)]
    pub name: Option<String>,
    #[arg(long)]
    pub email: Option<String>,
    /// internal, external, service_account or internal_service_account.
    #[arg(long)]
    pub kind: Option<String>,
    /// Create the user inactive.
    #[arg(long)]
    pub inactive: bool,
    /// Attributes as a JSON object, e.g. '{"department":"R&D"}'.
    #[arg(long)]
    pub attributes: Option<String>,
}

#[derive(Args)]
pub struct UserList {
    /// Username contains (case-insensitive).
    #[arg(long)]
    pub username: Option<String>,
    /// Email contains (case-insensitive).
    #[arg(long)]
    pub email: Option<String>,
    #[arg(long)]
    pub kind: Option<String>,
    /// true: active users only; false: inactive ones only.
    #[arg(long)]
    pub active: Option<bool>,
    /// How many to show.
    #[arg(long, default_value_t = 100)]
    pub limit: u32,
    /// Show the next page: the last id of the previous one.
    #[arg(long)]
    pub after: Option<String>,
}

#[derive(Args)]
pub struct UserUpdate {
    pub user: String,
    #[arg(long)]
    pub username: Option<String>,
    #[arg(long)]
    pub name: Option<String>,
    #[arg(long, conflicts_with = "no_email")]
    pub email: Option<String>,
    /// Remove the email.
    #[arg(long)]
    pub no_email: bool,
    #[arg(long)]
    pub kind: Option<String>,
    #[arg(long)]
    pub active: Option<bool>,
    /// Replace the attributes with this JSON object.
    #[arg(long)]
    pub attributes: Option<String>,
}

pub const USER_COLUMNS: [&str; 6] = ["id", "username", "name", "email", "kind", "is_active"];

pub async fn run(settings: &Settings, command: UserCommand) -> anyhow::Result<ExitCode> {
    let client = settings.client()?;
    match command {
        UserCommand::Add(args) => {
            let mut body = Map::new();
            body.insert("username".into(), json!(args.username));
            insert_some(&mut body, "name", args.name.map(Value::from));
            insert_some(&mut body, "email", args.email.map(Value::from));
            insert_some(&mut body, "kind", args.kind.map(Value::from));
            if args.inactive {
                body.insert("is_active".into(), json!(false));
            }
            insert_some(&mut body, "attributes", parse_attributes(args.attributes)?);
            let user: Value = client.post("/api/v1/users", &body).await?;
            print_object(settings.output, &user);
        }
        UserCommand::List(args) => {
            let mut query = vec![format!("limit={}", args.limit)];
            let mut push = |key: &str, value: Option<String>| {
                if let Some(value) = value {
                    query.push(format!("{key}={}", segment(&value)));
                }
            };
            push("username", args.username);
            push("email", args.email);
            push("kind", args.kind);
            push("active", args.active.map(|active| active.to_string()));
            push("after", args.after);
            let page: Value = client
                .get(&format!("/api/v1/users?{}", query.join("&")))
                .await?;
            let items = page["items"].as_array().cloned().unwrap_or_default();
            print_list(settings.output, &items, &USER_COLUMNS);
            if let (Some(next), crate::output::OutputFormat::Table) =
                (page["next_after"].as_str(), settings.output)
            {
                eprintln!("more: --after {next}");
            }
        }
        UserCommand::Show { user } => {
            let user: Value = client
                .get(&format!("/api/v1/users/{}", segment(&user)))
                .await?;
            print_object(settings.output, &user);
        }
        UserCommand::Update(args) => {
            let mut body = Map::new();
            insert_some(&mut body, "username", args.username.map(Value::from));
            insert_some(&mut body, "name", args.name.map(Value::from));
            insert_some(&mut body, "email", args.email.map(Value::from));
            if args.no_email {
                body.insert("email".into(), Value::Null);
            }
            insert_some(&mut body, "kind", args.kind.map(Value::from));
            insert_some(&mut body, "is_active", args.active.map(Value::from));
            insert_some(&mut body, "attributes", parse_attributes(args.attributes)?);
            if body.is_empty() {
                anyhow::bail!("nothing to change: name at least one field to update");
            }
            let user: Value = client
                .patch(&format!("/api/v1/users/{}", segment(&args.user)), &body)
                .await?;
            print_object(settings.output, &user);
        }
        UserCommand::Delete { user } => {
            client
                .delete(&format!("/api/v1/users/{}", segment(&user)))
                .await?;
            eprintln!("deleted user {user}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn insert_some(body: &mut Map<String, Value>, key: &str, value: Option<Value>) {
    if let Some(value) = value {
        body.insert(key.to_owned(), value);
    }
}

pub fn parse_attributes(text: Option<String>) -> anyhow::Result<Option<Value>> {
    text.map(|text| {
        serde_json::from_str::<Value>(&text)
            .map_err(|err| anyhow::anyhow!("--attributes is not valid JSON: {err}"))
    })
    .transpose()
}
