//! The self-contained HTML index: one page with every figure's SVG inlined and every
//! metric as an HTML table; no external file is needed to view it.

use std::fmt::Write as _;
use std::path::Path;

use serde_json::Value;

use crate::report::{
    claim_rows, column_names, cpu_text, format_cell, run_summary, status_text, table_rows, verdict_summary,
};
use crate::runner::{Record, RunOptions, Status};

const STYLE: &str = "body{font-family:sans-serif;max-width:1000px;margin:2em auto;padding:0 1em;color:#222}\
table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:2px 8px;text-align:right}\
th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}.failed{color:#b00;font-weight:bold}\
.ok{color:#070}.reproduced{color:#070;font-weight:bold}.partly{color:#a60;font-weight:bold}\
.not-reproduced{color:#b00;font-weight:bold}td.text{text-align:left}figure{margin:1em 0}svg{max-width:100%;height:auto}";

/// The HTML index for `records`, reading each figure's SVG from `out/ID/FIGURE`.
pub fn index_html(out: &Path, opts: &RunOptions, records: &[Record]) -> String {
    let mut s = String::new();
    let _ = write!(
        s,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Experiment results</title>\
         <style>{STYLE}</style></head><body>\n<h1>Experiment results</h1>\n<p>{}</p>\n",
        escape(&run_summary(opts, records))
    );
    let claims = claim_rows(records);
    let _ = writeln!(s, "<h2>Claims</h2>\n<p>{}</p>", escape(&verdict_summary(&claims)));
    s.push_str(
        "<table><tr><th>experiment</th><th>claim</th><th>source</th><th>measured quantity</th>\
         <th>criterion</th><th>measured</th><th>verdict</th><th>note</th></tr>\n",
    );
    for c in &claims {
        let _ = writeln!(
            s,
            "<tr><td><a href=\"#{e}\">{e}</a></td><td class=\"text\">{}</td><td class=\"text\">{}</td>\
             <td class=\"text\">{}</td><td>{}</td><td>{}</td><td class=\"{}\">{}</td><td class=\"text\">{}</td></tr>",
            escape(&c.statement),
            escape(&c.source),
            escape(&c.quantity),
            escape(&c.criterion),
            escape(&c.measured),
            c.verdict.replace(' ', "-"),
            escape(&c.verdict),
            escape(&c.note),
            e = escape(c.experiment)
        );
    }
    s.push_str("</table>\n<h2>Experiments</h2>\n");
    s.push_str(
        "<table><tr><th>id</th><th>section</th><th>title</th><th>status</th><th>seconds</th><th>cpu seconds</th></tr>\n",
    );
    for r in records {
        let _ = writeln!(
            s,
            "<tr><td><a href=\"#{id}\">{id}</a></td><td>{}</td><td>{}</td><td class=\"{}\">{}</td><td>{:.2}</td><td>{}</td></tr>",
            escape(r.section),
            escape(r.title),
            status_class(r),
            escape(&status_text(r)),
            r.seconds,
            cpu_text(r),
            id = escape(r.id)
        );
    }
    s.push_str("</table>\n");
    for r in records {
        experiment_section(&mut s, out, r);
    }
    s.push_str("</body></html>\n");
    s
}

fn experiment_section(s: &mut String, out: &Path, r: &Record) {
    let _ = writeln!(
        s,
        "<section id=\"{id}\"><h2>{id}</h2><p>{} ({}). Status: <span class=\"{}\">{}</span></p>",
        escape(r.title),
        escape(r.section),
        status_class(r),
        escape(&status_text(r)),
        id = escape(r.id)
    );
    if let Some(doc) = &r.document {
        for fig in &r.figures {
            let svg = std::fs::read_to_string(out.join(r.id).join(fig))
                .map(|t| strip_xml_declaration(&t).to_string())
                .unwrap_or_else(|e| {
                    format!("<p class=\"failed\">cannot read {}: {}</p>", escape(fig), escape(&e.to_string()))
                });
            let _ = writeln!(s, "<figure>{svg}<figcaption>{}</figcaption></figure>", escape(fig));
        }
        for key in ["config", "scalars"] {
            if let Some(map) = doc.get(key).and_then(Value::as_object).filter(|m| !m.is_empty()) {
                let _ = writeln!(s, "<h3>{key}</h3><table><tr><th>name</th><th>value</th></tr>");
                for (k, v) in map {
                    let _ = writeln!(s, "<tr><td>{}</td><td>{}</td></tr>", escape(k), escape(&format_cell(v)));
                }
                s.push_str("</table>\n");
            }
        }
        if let Some(tables) = doc.get("tables").and_then(Value::as_object) {
            for (name, table) in tables {
                let _ = write!(s, "<h3>table {}</h3><table><tr>", escape(name));
                for c in column_names(table) {
                    let _ = write!(s, "<th>{}</th>", escape(&c));
                }
                s.push_str("</tr>\n");
                for row in table_rows(table) {
                    s.push_str("<tr>");
                    for c in &row {
                        let _ = write!(s, "<td>{}</td>", escape(&format_cell(c)));
                    }
                    s.push_str("</tr>\n");
                }
                s.push_str("</table>\n");
            }
        }
    }
    s.push_str("</section>\n");
}

fn status_class(r: &Record) -> &'static str {
    if r.status == Status::Ok { "ok" } else { "failed" }
}

fn strip_xml_declaration(svg: &str) -> &str {
    match (svg.trim_start().starts_with("<?xml"), svg.find("?>")) {
        (true, Some(end)) => &svg[end + 2..],
        _ => svg,
    }
}

/// Escapes text for HTML element content and attribute values.
pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}
