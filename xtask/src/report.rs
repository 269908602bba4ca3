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

/// The one-line status text of a record (`ok`, `FAILED: ...`, or `ok, from an earlier
/// run (stale: commit ..., time, size, seed)` for results this run did not make).
pub fn status_text(r: &Record) -> String {
    match (&r.status, &r.earlier) {
        (Status::Ok, Some(e)) => format!("ok, {}", e.describe()),
        (Status::Ok, None) => "ok".to_string(),
        (Status::Failed(msg), _) => format!("FAILED: {msg}"),
    }
}

/// The processor seconds of a record, or `—` where the platform does not report them.
pub fn cpu_text(r: &Record) -> String {
    r.cpu_seconds.map_or_else(|| "—".to_string(), |c| format!("{c:.2}"))
}

/// Summary line of the run: size, seed and counts.
pub fn run_summary(opts: &RunOptions, records: &[Record]) -> String {
    let failed = records.iter().filter(|r| r.status != Status::Ok).count();
    let earlier = records.iter().filter(|r| r.earlier.is_some()).count();
    let kept = if earlier > 0 { format!(" (of which {earlier} from earlier runs, marked)") } else { String::new() };
    format!(
        "Size: {}, seed: {}, experiments: {}{kept}, failed: {}.",
        opts.size.as_str(),
        opts.seed,
        records.len(),
        failed
    )
}

/// One row of the claims table: a claim of one experiment, as `metrics.json` carries it.
#[derive(Clone, Debug, PartialEq)]
pub struct ClaimRow {
    /// The experiment's id (the anchor the row links to).
    pub experiment: &'static str,
    /// The claim's id.
    pub id: String,
    /// The statement.
    pub statement: String,
    /// Paper, figure or equation.
    pub source: String,
    /// What was measured.
    pub quantity: String,
    /// The criterion for `reproduced`, as text.
    pub criterion: String,
    /// `mean ± spread (n seeds)` or the value.
    pub measured: String,
    /// `reproduced`, `partly` or `not reproduced`.
    pub verdict: String,
    /// The experiment's remark, if any.
    pub note: String,
}

/// Every claim of every record that has a document, in report order.
pub fn claim_rows(records: &[Record]) -> Vec<ClaimRow> {
    let text = |c: &Value, k: &str| c.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    let mut rows = Vec::new();
    for r in records {
        let Some(claims) = r.document.as_ref().and_then(|d| d.get("claims")).and_then(Value::as_array) else {
            continue;
        };
        for c in claims {
            rows.push(ClaimRow {
                experiment: r.id,
                id: text(c, "id"),
                statement: text(c, "statement"),
                source: text(c, "source"),
                quantity: text(c, "quantity"),
                criterion: text(c, "criterion"),
                measured: text(c, "measured"),
                verdict: text(c, "verdict"),
                note: text(c, "note"),
            });
        }
    }
    rows
}

/// Counts of the verdicts: `reproduced: a, partly: b, not reproduced: c`.
pub fn verdict_summary(rows: &[ClaimRow]) -> String {
    let count = |v: &str| rows.iter().filter(|r| r.verdict == v).count();
    format!(
        "Claims: {}; reproduced: {}, partly: {}, not reproduced: {}.",
        rows.len(),
        count("reproduced"),
        count("partly"),
        count("not reproduced")
    )
}

/// The Markdown index.
pub fn index_markdown(opts: &RunOptions, records: &[Record]) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# Experiment results\n\n{}\n", run_summary(opts, records));
    let claims = claim_rows(records);
    let _ = writeln!(s, "## Claims\n\n{}\n", verdict_summary(&claims));
    let _ = writeln!(s, "| experiment | claim | source | measured quantity | criterion | measured | verdict | note |");
    let _ = writeln!(s, "| --- | --- | --- | --- | --- | --- | --- | --- |");
    for c in &claims {
        let _ = writeln!(
            s,
            "| [{e}](#{e}) | {} | {} | {} | {} | {} | **{}** | {} |",
            md_escape(&c.statement),
            md_escape(&c.source),
            md_escape(&c.quantity),
            md_escape(&c.criterion),
            md_escape(&c.measured),
            md_escape(&c.verdict),
            md_escape(&c.note),
            e = c.experiment
        );
    }
    let _ = writeln!(s, "\n## Experiments\n");
    let _ =
        writeln!(s, "| id | section | title | status | seconds | cpu seconds |\n| --- | --- | --- | --- | --- | --- |");
    for r in records {
        let _ = writeln!(
            s,
            "| [{id}](#{id}) | {} | {} | {} | {:.2} | {} |",
            r.section,
            md_escape(r.title),
            md_escape(&status_text(r)),
            r.seconds,
            cpu_text(r),
            id = r.id
        );
    }
    for r in records {
        let _ = writeln!(
            s,
            "\n## {}\n\n{} ({}). Status: {}.\n",
            r.id,
            md_escape(r.title),
            r.section,
            md_escape(&status_text(r))
        );
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
