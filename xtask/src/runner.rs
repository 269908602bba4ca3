//! Runs a selection of experiments: output directories, `metrics.json`, progress, failure
//! capture, and finally the index report.

use std::any::Any;
use std::fs;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::time::Instant;

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use serde_json::{Value, json};

use crate::context::RunContext;
use crate::error::{ExperimentError, RunError};
use crate::experiment::{Experiment, Size};
use crate::fsio::{ensure_writable_dir, write_atomic};
use crate::metrics::Metrics;
use crate::report::write_index;

/// What one invocation runs and where it writes.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// Quick or full.
    pub size: Size,
    /// Seed handed to every experiment.
    pub seed: u64,
    /// Output directory (`--out`).
    pub out: PathBuf,
    /// Draw progress bars (true only when the output is a terminal).
    pub progress: bool,
}

/// How one experiment ended.
#[derive(Clone, Debug, PartialEq)]
pub enum Status {
    /// It finished and its files were written.
    Ok,
    /// It returned an error, panicked, or its metrics could not be written.
    Failed(String),
}

/// The outcome of one experiment, as the index reports it.
#[derive(Clone, Debug)]
pub struct Record {
    /// Experiment id.
    pub id: &'static str,
    /// Title.
    pub title: &'static str,
    /// Seed section.
    pub section: &'static str,
    /// Ok or failed with a message.
    pub status: Status,
    /// Wall-clock seconds.
    pub seconds: f64,
    /// Processor seconds of the whole process (all threads) while the experiment ran, where
    /// the platform has a process clock (see [`crate::timing`]): on a shared machine the
    /// wall clock measures the neighbours as well, this does not.
    pub cpu_seconds: Option<f64>,
    /// The `metrics.json` document (absent when the experiment failed).
    pub document: Option<Value>,
    /// Figure file names inside `DIR/ID/`.
    pub figures: Vec<String>,
}

/// The experiments of `all` named in `only`, in registry order; all of them if `only` is
/// empty. An unknown id is an error listing the valid ones.
pub fn select<'a>(all: &'a [Box<dyn Experiment>], only: &[String]) -> Result<Vec<&'a dyn Experiment>, RunError> {
    for id in only {
        if !all.iter().any(|e| e.id() == id) {
            return Err(RunError::UnknownId {
                id: id.clone(),
                valid: all.iter().map(|e| e.id().to_string()).collect(),
            });
        }
    }
    Ok(all.iter().filter(|e| only.is_empty() || only.iter().any(|id| id == e.id())).map(|e| e.as_ref()).collect())
}

/// The `metrics.json` document: identity, size, seed, the experiment's config, scalars,
/// tables and claims (with their verdicts), and its figure files.
pub fn metrics_document(exp: &dyn Experiment, size: Size, seed: u64, metrics: &Metrics, figures: &[String]) -> Value {
    let mut doc = json!({
        "id": exp.id(),
        "title": exp.title(),
        "section": exp.section(),
        "size": size.as_str(),
        "seed": seed,
        "config": metrics.config,
        "scalars": metrics.scalars,
        "tables": metrics.tables,
        "figures": figures,
    });
    // An experiment without claims keeps the document it had before claims existed.
    if !metrics.claims.is_empty() {
        doc["claims"] = Value::Array(metrics.claims.iter().map(|c| c.to_json()).collect());
    }
    doc
}

/// Runs `experiments` in order, writes each one's `metrics.json` and figures under
/// `opts.out`, then writes `index.md` and `index.html` (atomically, last).
///
/// Returns the records if every experiment succeeded; otherwise the index still lists
/// every experiment, marks the failed ones FAILED with their messages, and the result is
/// [`RunError::ExperimentsFailed`].
pub fn run(experiments: &[&dyn Experiment], opts: &RunOptions) -> Result<Vec<Record>, RunError> {
    ensure_writable_dir(&opts.out).map_err(|source| RunError::OutDir { path: opts.out.clone(), source })?;
    let multi = MultiProgress::new();
    let overall = if opts.progress {
        let bar = multi.add(ProgressBar::new(experiments.len() as u64));
        bar.set_style(style("experiments {bar:30} {pos}/{len} [{elapsed_precise}] {msg}"));
        bar
    } else {
        ProgressBar::hidden()
    };
    let mut records = Vec::with_capacity(experiments.len());
    for (i, exp) in experiments.iter().enumerate() {
        overall.set_message(exp.id());
        let sub = if opts.progress {
            let bar = multi.add(ProgressBar::new(1));
            bar.set_style(style("  {prefix} {bar:30} {pos}/{len} {msg}"));
            bar.set_prefix(exp.id());
            bar
        } else {
            println!("[{}/{}] {} ({}) ...", i + 1, experiments.len(), exp.id(), exp.section());
            ProgressBar::hidden()
        };
        let record = run_one(*exp, opts, sub.clone());
        sub.finish_and_clear();
        let line = match &record.status {
            Status::Ok => match record.cpu_seconds {
                Some(cpu) => format!("{}: ok in {:.2} s (cpu {cpu:.2} s)", exp.id(), record.seconds),
                None => format!("{}: ok in {:.2} s", exp.id(), record.seconds),
            },
            Status::Failed(msg) => format!("{}: FAILED after {:.2} s: {msg}", exp.id(), record.seconds),
        };
        if opts.progress {
            overall.println(line);
        } else {
            println!("      {line}");
        }
        overall.inc(1);
        records.push(record);
    }
    overall.finish_and_clear();
    let index = write_index(&opts.out, opts, &records)?;
    let failed: Vec<String> = records.iter().filter(|r| r.status != Status::Ok).map(|r| r.id.to_string()).collect();
    if failed.is_empty() {
        Ok(records)
    } else {
        Err(RunError::ExperimentsFailed { failed, total: records.len(), index })
    }
}

fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar())
}

fn run_one(exp: &dyn Experiment, opts: &RunOptions, bar: ProgressBar) -> Record {
    let dir = opts.out.join(exp.id());
    let start = Instant::now();
    let cpu_start = crate::timing::cpu_seconds();
    let mut figures = Vec::new();
    let result = (|| -> Result<Value, ExperimentError> {
        fs::create_dir_all(&dir).map_err(|source| ExperimentError::Io { path: dir.clone(), source })?;
        // A stale metrics.json from an earlier run must not pass for this run's output.
        let metrics_path = dir.join("metrics.json");
        match fs::remove_file(&metrics_path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(ExperimentError::Io { path: metrics_path, source: e });
            }
            _ => {}
        }
        if let Some(a) = exp.assumptions(opts.size).into_iter().find(|a| !a.holds) {
            return Err(ExperimentError::Invalid(format!(
                "at {} size its parameters leave the regime its checks assume: {} ({})",
                opts.size.as_str(),
                a.name,
                a.detail
            )));
        }
        let mut ctx = RunContext::new(opts.size, opts.seed, dir.clone(), bar);
        let metrics = catch_unwind(AssertUnwindSafe(|| exp.run(&mut ctx)))
            .map_err(|payload| ExperimentError::Invalid(format!("panicked: {}", panic_message(&payload))))??;
        figures = ctx.figures().to_vec();
        let doc = metrics_document(exp, opts.size, opts.seed, &metrics, &figures);
        let text = serde_json::to_string_pretty(&doc).map_err(|e| ExperimentError::Invalid(e.to_string()))?;
        write_atomic(&metrics_path, text.as_bytes())
            .map_err(|source| ExperimentError::Io { path: metrics_path, source })?;
        Ok(doc)
    })();
    let seconds = start.elapsed().as_secs_f64();
    let cpu_seconds = cpu_start.zip(crate::timing::cpu_seconds()).map(|(a, b)| b - a);
    let (status, document) = match result {
        Ok(doc) => (Status::Ok, Some(doc)),
        Err(e) => (Status::Failed(e.to_string()), None),
    };
    Record { id: exp.id(), title: exp.title(), section: exp.section(), status, seconds, cpu_seconds, document, figures }
}

fn panic_message(payload: &Box<dyn Any + Send>) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "non-string panic payload".to_string()
    }
}
