//! The index report: `DIR/index.md` (links) and a self-contained `DIR/index.html` (every
//! figure inlined, every metric as a table). Both are written atomically after all
//! experiments have run, so a report on disk is always a complete one.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::error::RunError;
use crate::fsio::write_atomic;
use crate::metrics::round_significant;
use crate::report_html::index_html;
use crate::runner::{Record, RunOptions, Status};

/// Writes `index.md` and `index.html` into `out`; returns the path of `index.html`.
pub fn write_index(out: &Path, opts: &RunOptions, records: &[Record]) -> Result<PathBuf, RunError> {
    let md_path = out.join("index.md");
    write_atomic(&md_path, index_markdown(opts, records).as_bytes())
        .map_err(|source| RunError::Write { path: md_path, source })?;
    let html_path = out.join("index.html");
    write_atomic(&html_path, index_html(out, opts, records).as_bytes())
        .map_err(|source| RunError::Write { path: html_path.clone(), source })?;
    Ok(html_path)
}

/// A metric cell as short text: floats to 4 significant digits (full precision stays in
/// `metrics.json`), strings and integers as they are.
pub fn format_cell(v: &Value) -> String {
    match v {
        Value::Number(n) if n.is_f64() => {
            let x = round_significant(n.as_f64().unwrap_or(f64::NAN), 4);
            if x == 0.0 || (1e-3..1e6).contains(&x.abs()) { format!("{x}") } else { format!("{x:e}") }
        }
        Value::String(s) => s.clone(),
        Value::Null => "—".to_string(),
        other => other.to_string(),
    }
}

/// The one-line status text of a record.
pub fn status_text(r: &Record) -> String {
    match &r.status {
        Status::Ok => "ok".to_string(),
        Status::Failed(msg) => format!("FAILED: {msg}"),
    }
}

/// Summary line of the run: size, seed and counts.
pub fn run_summary(opts: &RunOptions, records: &[Record]) -> String {
    let failed = records.iter().filter(|r| r.status != Status::Ok).count();
    format!(
        "Size: {}, seed: {}, experiments: {}, failed: {}.",
        opts.size.as_str(),
        opts.seed,
        records.len(),
        failed
    )
}

/// The Markdown index.
pub fn index_markdown(opts: &RunOptions, records: &[Record]) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# Experiment results\n\n{}\n", run_summary(opts, records));
    let _ = writeln!(s, "| id | section | title | status | seconds |\n| --- | --- | --- | --- | --- |");
    for r in records {
        let _ = writeln!(
            s,
            "| [{id}](#{id}) | {} | {} | {} | {:.2} |",
            r.section,
            md_escape(r.title),
            md_escape(&status_text(r)),
            r.seconds,
            id = r.id
        );
    }
    for r in records {
        let _ = writeln!(s, "\n## {}\n\n{} ({}). Status: {}.\n", r.id, md_escape(r.title), r.section, md_escape(&status_text(r)));
        let Some(doc) = &r.document else { continue };
        let _ = writeln!(s, "[metrics.json]({}/metrics.json)\n", r.id);
        for fig in &r.figures {
            let _ = writeln!(s, "![{fig}]({}/{fig})\n", r.id);
        }
        for key in ["config", "scalars"] {
            if let Some(Value::Object(map)) = doc.get(key).filter(|m| m.as_object().is_some_and(|m| !m.is_empty())) {
                let _ = writeln!(s, "**{key}**\n\n| name | value |\n| --- | --- |");
                for (k, v) in map {
                    let _ = writeln!(s, "| {k} | {} |", md_escape(&format_cell(v)));
                }
                s.push('\n');
            }
        }
        if let Some(Value::Object(tables)) = doc.get("tables") {
            for (name, table) in tables {
                let _ = writeln!(s, "**table {name}**\n");
                let columns = column_names(table);
                let _ = writeln!(s, "| {} |", columns.join(" | "));
                let _ = writeln!(s, "|{}", " --- |".repeat(columns.len()));
                for row in table_rows(table) {
                    let cells: Vec<String> = row.iter().map(|c| md_escape(&format_cell(c))).collect();
                    let _ = writeln!(s, "| {} |", cells.join(" | "));
                }
                s.push('\n');
            }
        }
    }
    s
}

/// The column names of a serialised [`crate::metrics::Table`].
pub fn column_names(table: &Value) -> Vec<String> {
    table
        .get("columns")
        .and_then(Value::as_array)
        .map(|c| c.iter().map(|v| v.as_str().unwrap_or("?").to_string()).collect())
        .unwrap_or_default()
}

/// The rows of a serialised [`crate::metrics::Table`].
pub fn table_rows(table: &Value) -> Vec<Vec<Value>> {
    table
        .get("rows")
        .and_then(Value::as_array)
        .map(|rows| rows.iter().map(|r| r.as_array().cloned().unwrap_or_default()).collect())
        .unwrap_or_default()
}

fn md_escape(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}
