//! `entrasync import FILE`: streams a CSV or JSON-lines file to the server in batches, each
//! batch one transaction, reporting every bad record with its line number while the rest land.

mod reader;

use std::{
    path::{Path, PathBuf},
    process::ExitCode,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::Context;
use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::{client::ApiClient, output::OutputFormat, settings::Settings};

pub use reader::Format;

#[derive(Args)]
pub struct ImportArgs {
    /// A `.csv` file (header row; columns type, username, name, email, is_active, kind,
    /// attributes, group, user) or a JSON-lines file (one object per line with a "type").
    pub file: PathBuf,
    /// The file's format (default: from its extension; JSON lines unless it ends in .csv).
    #[arg(long, value_enum)]
    pub format: Option<FormatArg>,
    /// Records per request (and per transaction).
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..=5000))]
    pub batch_size: u32,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum FormatArg {
    Csv,
    Jsonl,
}

/// Counts of one import.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct ImportSummary {
    pub records: u64,
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub failed: u64,
    pub seconds: f64,
}

#[derive(Deserialize)]
struct ImportResponse {
    results: Vec<RecordResult>,
}

#[derive(Deserialize)]
struct RecordResult {
    outcome: String,
    message: Option<String>,
    field: Option<String>,
}

pub async fn run(settings: &Settings, args: ImportArgs) -> anyhow::Result<ExitCode> {
    let client = settings.client()?;
    let format = match args.format {
        Some(FormatArg::Csv) => Format::Csv,
        Some(FormatArg::Jsonl) => Format::JsonLines,
        None => Format::from_path(&args.file),
    };
    let summary = import_file(&client, &args.file, format, args.batch_size as usize, None).await?;
    match settings.output {
        OutputFormat::Json => crate::output::print_json(&json!(summary)),
        OutputFormat::Table => println!(
            "{} records in {:.1}s: {} created, {} updated, {} unchanged, {} failed",
            summary.records,
            summary.seconds,
            summary.created,
            summary.updated,
            summary.unchanged,
            summary.failed
        ),
    }
    // A partly failed import is not a success for a script, though the good records landed.
    Ok(if summary.failed > 0 {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}

/// Imports `path` through the API. `done`, when given, counts the records handled so far.
pub async fn import_file(
    client: &ApiClient,
    path: &Path,
    format: Format,
    batch_size: usize,
    done: Option<Arc<AtomicU64>>,
) -> anyhow::Result<ImportSummary> {
    let started = Instant::now();
    let total_bytes = std::fs::metadata(path)
        .with_context(|| format!("cannot read {}", path.display()))?
        .len();
    let progress = progress_bar(total_bytes);
    let mut records = reader::open(path, format)?;
    let mut summary = ImportSummary::default();
    let mut batch: Vec<(u64, Value)> = Vec::with_capacity(batch_size);

    loop {
        let next = records.next();
        let at_end = next.is_none();
        if let Some(record) = next {
            summary.records += 1;
            match record.value {
                Ok(value) => batch.push((record.line, value)),
                Err(message) => {
                    summary.failed += 1;
                    report(&progress, format!("line {}: {message}", record.line));
                }
            }
        }
        if batch.len() >= batch_size || (at_end && !batch.is_empty()) {
            send_batch(client, &mut batch, &mut summary, &progress)
                .await
                .with_context(|| {
                    format!(
                        "the import stopped; the records before line {} were imported",
                        batch.first().map_or(0, |(line, _)| *line)
                    )
                })?;
            batch.clear();
            progress.set_position(records.bytes_read());
            if let Some(done) = &done {
                done.store(summary.records, Ordering::Relaxed);
            }
        }
        if at_end {
            break;
        }
    }
    progress.finish_and_clear();
    summary.seconds = started.elapsed().as_secs_f64();
    Ok(summary)
}

async fn send_batch(
    client: &ApiClient,
    batch: &mut [(u64, Value)],
    summary: &mut ImportSummary,
    progress: &ProgressBar,
) -> anyhow::Result<()> {
    let records: Vec<Value> = batch.iter_mut().map(|(_, value)| value.take()).collect();
    let answer: ImportResponse = client
        .post("/api/v1/import", &json!({ "records": records }))
        .await?;
    for ((line, _), result) in batch.iter().zip(answer.results) {
        match result.outcome.as_str() {
            "created" => summary.created += 1,
            "updated" => summary.updated += 1,
            "unchanged" => summary.unchanged += 1,
            _ => {
                summary.failed += 1;
                let message = result.message.unwrap_or_default();
                report(
                    progress,
                    match result.field {
                        Some(field) => format!("line {line}: {field}: {message}"),
                        None => format!("line {line}: {message}"),
                    },
                );
            }
        }
    }
    Ok(())
}

/// Prints a line above the progress bar, or plainly when no bar is drawn (no terminal).
fn report(progress: &ProgressBar, line: String) {
    if progress.is_hidden() {
        eprintln!("{line}");
    } else {
        progress.println(line);
    }
}

/// A bar over the file's bytes, drawn only when standard error is a terminal.
fn progress_bar(total_bytes: u64) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(total_bytes), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} importing [{bar:30}] {bytes}/{total_bytes} ({eta} left)",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}
