//! Printing results: a table for people, JSON for scripts.

use clap::ValueEnum;
use comfy_table::{Table, presets::UTF8_BORDERS_ONLY};
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Table,
    Json,
}

/// Prints a list of objects: the chosen columns as a table, or the objects as JSON.
pub fn print_list(format: OutputFormat, items: &[Value], columns: &[&str]) {
    match format {
        OutputFormat::Json => print_json(&Value::Array(items.to_vec())),
        OutputFormat::Table => {
            let mut table = Table::new();
            table.load_style(UTF8_BORDERS_ONLY).set_header(columns);
            for item in items {
                table.add_row(columns.iter().map(|column| cell(&item[*column])));
            }
            println!("{table}");
            println!("{} shown", items.len());
        }
    }
}

/// Prints one object: field by field, or as JSON.
pub fn print_object(format: OutputFormat, item: &Value) {
    match format {
        OutputFormat::Json => print_json(item),
        OutputFormat::Table => {
            let mut table = Table::new();
            table.load_style(UTF8_BORDERS_ONLY);
            if let Value::Object(fields) = item {
                for (key, value) in fields {
                    table.add_row(vec![key.clone(), cell(value)]);
                }
            }
            println!("{table}");
        }
    }
}

pub fn print_json(value: &Value) {
    match serde_json::to_string_pretty(value) {
        Ok(text) => println!("{text}"),
        Err(err) => eprintln!("error: cannot print JSON: {err}"),
    }
}

fn cell(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}
