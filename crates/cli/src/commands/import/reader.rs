//! Reads import files record by record (never the whole file), each record with the line it
//! starts on, ready to send as the API's JSON records.

use std::{
    fs::File,
    io::{BufRead, BufReader, Read},
    path::Path,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
};

use anyhow::Context;
use serde_json::{Map, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    JsonLines,
}

impl Format {
    pub fn from_path(path: &Path) -> Self {
        match path.extension().and_then(|ext| ext.to_str()) {
            Some(ext) if ext.eq_ignore_ascii_case("csv") => Format::Csv,
            _ => Format::JsonLines,
        }
    }
}

/// One record of the file: its JSON form, or why it could not be read.
pub struct SourceRecord {
    pub line: u64,
    pub value: Result<Value, String>,
}

/// A record iterator that also tells how far into the file it has read.
pub struct Records {
    inner: Box<dyn Iterator<Item = SourceRecord>>,
    bytes: Arc<AtomicU64>,
}

impl Records {
    pub fn bytes_read(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }
}

impl Iterator for Records {
    type Item = SourceRecord;
    fn next(&mut self) -> Option<SourceRecord> {
        self.inner.next()
    }
}

struct CountingReader<R> {
    inner: R,
    bytes: Arc<AtomicU64>,
}

impl<R: Read> Read for CountingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.bytes.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

pub fn open(path: &Path, format: Format) -> anyhow::Result<Records> {
    let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let bytes = Arc::new(AtomicU64::new(0));
    let counting = CountingReader {
        inner: file,
        bytes: Arc::clone(&bytes),
    };
    let inner: Box<dyn Iterator<Item = SourceRecord>> = match format {
        Format::JsonLines => Box::new(json_lines(BufReader::new(counting))),
        Format::Csv => Box::new(csv_records(counting)?),
    };
    Ok(Records { inner, bytes })
}

fn json_lines<R: BufRead>(reader: R) -> impl Iterator<Item = SourceRecord> {
    reader.lines().enumerate().filter_map(|(index, line)| {
        let line_number = index as u64 + 1;
        let value = match line {
            Err(err) => Err(format!("cannot read the line: {err}")),
            Ok(text) if text.trim().is_empty() => return None,
            Ok(text) => serde_json::from_str::<Value>(&text)
                .map_err(|err| format!("not valid JSON: {err}"))
                .and_then(|value| {
                    if value.is_object() {
                        Ok(value)
                    } else {
                        Err("a record must be a JSON object".to_owned())
                    }
                }),
        };
        Some(SourceRecord {
            line: line_number,
            value,
        })
    })
}

fn csv_records<R: Read + 'static>(reader: R) -> anyhow::Result<impl Iterator<Item = SourceRecord>> {
    let mut csv = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(reader);
    let headers = csv
        .headers()
        .context("the CSV file has no header row")?
        .clone();
    let has_type = headers.iter().any(|header| header == "type");
    Ok(csv.into_records().map(move |row| match row {
        Err(err) => SourceRecord {
            line: err.position().map_or(0, |position| position.line()),
            value: Err(format!("cannot read the CSV row: {err}")),
        },
        Ok(row) => SourceRecord {
            line: row.position().map_or(0, |position| position.line()),
            value: csv_row(&headers, &row, has_type),
        },
    }))
}

/// A CSV row as a JSON record: empty cells are absent, `is_active` is a boolean, `attributes`
/// is JSON. Without a `type` column every row is a user.
fn csv_row(
    headers: &csv::StringRecord,
    row: &csv::StringRecord,
    has_type: bool,
) -> Result<Value, String> {
    if row.len() > headers.len() {
        return Err(format!(
            "{} cells, but the header names {} columns",
            row.len(),
            headers.len()
        ));
    }
    let mut record = Map::new();
    if !has_type {
        record.insert("type".into(), Value::from("user"));
    }
    for (header, cell) in headers.iter().zip(row.iter()) {
        if cell.is_empty() {
            continue;
        }
        let value = match header {
            "is_active" => Value::Bool(parse_bool(cell).ok_or_else(|| {
                format!("is_active: {cell:?} is not a boolean (true/false, yes/no, 1/0)")
            })?),
            "attributes" => serde_json::from_str(cell)
                .map_err(|err| format!("attributes: not valid JSON: {err}"))?,
            _ => Value::from(cell),
        };
        record.insert(header.to_owned(), value);
    }
    Ok(Value::Object(record))
}

fn parse_bool(text: &str) -> Option<bool> {
    match text.to_ascii_lowercase().as_str() {
        "true" | "yes" | "1" => Some(true),
        "false" | "no" | "0" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn read_all(content: &str, format: Format) -> Vec<(u64, Result<Value, String>)> {
        let mut file = tempfile::NamedTempFile::new().expect("temp file");
        file.write_all(content.as_bytes()).expect("write");
        open(file.path(), format)
            .expect("open")
            .map(|record| (record.line, record.value))
            .collect()
    }

    #[test]
    fn csv_rows_become_records_with_their_line_numbers() {
        let records = read_all(
            "type,username,name,email,is_active,attributes,group,user\n\
             user,alice,\"Liddell, Alice\",alice@example.com,yes,\"{\"\"dept\"\":\"\"R&D\"\"}\",,\n\
             group,,Engineering,,,,,\n\
             membership,,,,,,Engineering,alice\n\
             user,bob,,,maybe,,,\n",
            Format::Csv,
        );
        assert_eq!(records.len(), 4);
        assert_eq!(records[0].0, 2);
        let alice = records[0].1.as_ref().expect("alice");
        assert_eq!(alice["name"], "Liddell, Alice");
        assert_eq!(alice["is_active"], true);
        assert_eq!(alice["attributes"]["dept"], "R&D");
        assert!(alice.get("group").is_none(), "empty cells are absent");
        assert_eq!(
            records[2].1.as_ref().expect("membership")["group"],
            "Engineering"
        );
        assert_eq!(records[3].0, 5);
        assert!(
            records[3]
                .1
                .as_ref()
                .expect_err("bad boolean")
                .contains("is_active")
        );
    }

    #[test]
    fn csv_without_a_type_column_holds_users() {
        let records = read_all("username,email\ncarol,carol@example.com\n", Format::Csv);
        assert_eq!(records[0].1.as_ref().expect("user")["type"], "user");
    }

    #[test]
    fn json_lines_skip_blank_lines_and_report_bad_ones() {
        let records = read_all(
            "{\"type\":\"group\",\"name\":\"Ops\"}\n\n[1,2]\n{broken\n",
            Format::JsonLines,
        );
        let lines: Vec<u64> = records.iter().map(|(line, _)| *line).collect();
        assert_eq!(lines, [1, 3, 4]);
        assert!(records[0].1.is_ok());
        assert!(records[1].1.as_ref().expect_err("array").contains("object"));
        assert!(records[2].1.as_ref().expect_err("broken").contains("JSON"));
    }
}
