//! `entrasync mapping …`: manage property mappings and try them on directory objects.

use std::{path::PathBuf, process::ExitCode};

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use serde_json::{Map, Value, json};

use super::users::insert_some;
use crate::{
    client::segment,
    output::{OutputFormat, print_json, print_list, print_object},
    settings::Settings,
};

#[derive(Subcommand)]
pub enum MappingCommand {
    /// Save a mapping (it must compile).
    Add(MappingAdd),
    /// List mappings.
    List {
        /// Only mappings of this kind: user or group.
        #[arg(long)]
        kind: Option<String>,
        #[arg(long, default_value_t = 100)]
        limit: u32,
        #[arg(long)]
        after: Option<String>,
    },
    /// Show one mapping, expression included (by id or name).
    Show { mapping: String },
    /// Rename a mapping or change its expression.
    Update(MappingUpdate),
    /// Delete a mapping.
    Delete { mapping: String },
    /// Evaluate mappings against a user or group and show the Graph document (writes nothing).
    Test(MappingTest),
}

/// An expression, from the command line or a file.
#[derive(Args)]
#[group(multiple = false)]
pub struct Source {
    /// The expression itself.
    #[arg(long)]
    expression: Option<String>,
    /// A file holding the expression (`-` for standard input).
    #[arg(long, value_name = "FILE")]
    file: Option<PathBuf>,
}

impl Source {
    fn read(&self) -> anyhow::Result<Option<String>> {
        match (&self.expression, &self.file) {
            (Some(expression), _) => Ok(Some(expression.clone())),
            (None, Some(path)) if path.as_os_str() == "-" => {
                let mut text = String::new();
                std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)
                    .context("reading the expression from standard input")?;
                Ok(Some(text))
            }
            (None, Some(path)) => std::fs::read_to_string(path)
                .map(Some)
                .with_context(|| format!("cannot read {}", path.display())),
            (None, None) => Ok(None),
        }
    }
}

#[derive(Args)]
pub struct MappingAdd {
    name: String,
    /// user or group.
    #[arg(long)]
    kind: String,
    #[command(flatten)]
    source: Source,
}

#[derive(Args)]
pub struct MappingUpdate {
    mapping: String,
    #[arg(long)]
    name: Option<String>,
    #[command(flatten)]
    source: Source,
}

#[derive(Args)]
pub struct MappingTest {
    /// A stored mapping to evaluate (id or name; repeat to merge several, in order).
    #[arg(long = "mapping", value_name = "MAPPING")]
    mappings: Vec<String>,
    /// Or an unsaved expression.
    #[command(flatten)]
    source: Source,
    /// The user to map (id or username).
    #[arg(long, conflicts_with = "group", required_unless_present = "group")]
    user: Option<String>,
    /// The group to map (id or name).
    #[arg(long)]
    group: Option<String>,
    /// What `link` holds, as JSON (default: `()`, as when the object is created).
    #[arg(long, value_name = "JSON")]
    link: Option<String>,
    /// What `provider` holds, as a JSON object (default: {"name": "test"}).
    #[arg(long, value_name = "JSON")]
    provider: Option<String>,
}

const MAPPING_COLUMNS: [&str; 4] = ["id", "name", "kind", "updated_at"];

pub async fn run(settings: &Settings, command: MappingCommand) -> anyhow::Result<ExitCode> {
    let client = settings.client()?;
    match command {
        MappingCommand::Add(args) => {
            let expression = args
                .source
                .read()?
                .context("give the expression with --expression or --file")?;
            let body = json!({"name": args.name, "kind": args.kind, "expression": expression});
            let mapping: Value = client.post("/api/v1/mappings", &body).await?;
            print_object(settings.output, &mapping);
        }
        MappingCommand::List { kind, limit, after } => {
            let mut path = format!("/api/v1/mappings?limit={limit}");
            if let Some(kind) = kind {
                path.push_str(&format!("&kind={}", segment(&kind)));
            }
            if let Some(after) = after {
                path.push_str(&format!("&after={}", segment(&after)));
            }
            let page: Value = client.get(&path).await?;
            let items = page["items"].as_array().cloned().unwrap_or_default();
            print_list(settings.output, &items, &MAPPING_COLUMNS);
        }
        MappingCommand::Show { mapping } => {
            let mapping: Value = client
                .get(&format!("/api/v1/mappings/{}", segment(&mapping)))
                .await?;
            match settings.output {
                OutputFormat::Json => print_json(&mapping),
                OutputFormat::Table => {
                    println!(
                        "{} ({} mapping, id {})",
                        mapping["name"].as_str().unwrap_or_default(),
                        mapping["kind"].as_str().unwrap_or_default(),
                        mapping["id"].as_str().unwrap_or_default()
                    );
                    println!("{}", mapping["expression"].as_str().unwrap_or_default());
                }
            }
        }
        MappingCommand::Update(args) => {
            let mut body = Map::new();
            insert_some(&mut body, "name", args.name.map(Value::from));
            insert_some(
                &mut body,
                "expression",
                args.source.read()?.map(Value::from),
            );
            if body.is_empty() {
                bail!("nothing to change: pass --name, --expression or --file");
            }
            let mapping: Value = client
                .patch(
                    &format!("/api/v1/mappings/{}", segment(&args.mapping)),
                    &body,
                )
                .await?;
            print_object(settings.output, &mapping);
        }
        MappingCommand::Delete { mapping } => {
            client
                .delete(&format!("/api/v1/mappings/{}", segment(&mapping)))
                .await?;
            eprintln!("deleted mapping {mapping}");
        }
        MappingCommand::Test(args) => return test(settings, &client, args).await,
    }
    Ok(ExitCode::SUCCESS)
}

async fn test(
    settings: &Settings,
    client: &crate::client::ApiClient,
    args: MappingTest,
) -> anyhow::Result<ExitCode> {
    let mut body = Map::new();
    let expression = args.source.read()?;
    match (&expression, args.mappings.is_empty()) {
        (Some(_), false) => {
            bail!("give --mapping or an expression (--expression/--file), not both")
        }
        (None, true) => bail!("give the mappings to try with --mapping, --expression or --file"),
        _ => {}
    }
    if !args.mappings.is_empty() {
        body.insert("mappings".into(), json!(args.mappings));
    }
    insert_some(&mut body, "expression", expression.map(Value::from));
    insert_some(&mut body, "user", args.user.map(Value::from));
    insert_some(&mut body, "group", args.group.map(Value::from));
    let parse = |flag: &str, text: Option<String>| -> anyhow::Result<Option<Value>> {
        text.map(|text| {
            serde_json::from_str(&text).with_context(|| format!("{flag} is not valid JSON"))
        })
        .transpose()
    };
    insert_some(&mut body, "link", parse("--link", args.link)?);
    insert_some(&mut body, "provider", parse("--provider", args.provider)?);
    let report: Value = client.post("/api/v1/mapping-test", &body).await?;
    let failed = matches!(
        report["outcome"].as_str(),
        Some("compile_error" | "mapping_error" | "wrong_kind")
    );
    match settings.output {
        OutputFormat::Json => print_json(&report),
        OutputFormat::Table => print_report(&report),
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn print_report(report: &Value) {
    let text = |value: &Value| value.as_str().unwrap_or_default().to_owned();
    match report["outcome"].as_str() {
        Some("document") => print_json(&report["document"]),
        Some("skip") => match report["reason"].as_str() {
            Some(reason) => println!(
                "skipped by mapping {:?}: {reason}",
                text(&report["mapping"])
            ),
            None => println!("skipped by mapping {:?}", text(&report["mapping"])),
        },
        Some("no_mappings") => {
            println!("the mappings produced nothing: this object would not be synced")
        }
        Some("wrong_kind") => eprintln!("error: {}", text(&report["message"])),
        Some(_) => {
            let error = &report["error"];
            let position = match (
                error["position"]["line"].as_u64(),
                error["position"]["column"].as_u64(),
            ) {
                (Some(line), Some(column)) => format!(" (at line {line}, column {column})"),
                _ => String::new(),
            };
            eprintln!(
                "error: mapping {:?}: {}{position}",
                text(&error["mapping"]),
                text(&error["message"])
            );
        }
        None => print_json(report),
    }
}
