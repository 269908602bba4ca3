//! Runs a selection of experiments: output directories, `metrics.json` and `run.json`,
//! progress (bars on a terminal, plain lines with elapsed time and an estimate of the
//! remainder otherwise), failure capture, and finally the index report, which also lists
//! the experiments an earlier run left in the output directory (`--only` into an existing
//! folder keeps them), marked with their commit and time.

use std::any::Any;
use std::fs;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::time::Instant;

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use serde_json::{Value, json};

use crate::context::{LineProgress, RunContext};
use crate::error::{ExperimentError, RunError};
use crate::experiment::{Experiment, Size};
use crate::fsio::{ensure_writable_dir, write_atomic};
use crate::metrics::Metrics;
use crate::report::write_index;
use crate::stamp::{RunStamp, current_commit, now_utc};

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
    /// `Some` for an experiment this run did not make, found on disk from an earlier run.
    pub earlier: Option<EarlierRun>,
}

/// An experiment's results left in the output directory by an earlier run.
#[derive(Clone, Debug, PartialEq)]
pub struct EarlierRun {
    /// Its `run.json` (absent for results written before stamps existed).
    pub stamp: Option<RunStamp>,
    /// Whether it was made at another commit than the current checkout's (or an unknown one).
    pub stale: bool,
}

impl EarlierRun {
    /// `from an earlier run (stale: commit 0123456789ab, 2026-01-02T03:04:05Z, quick, seed 0)`.
    pub fn describe(&self) -> String {
        match &self.stamp {
            None => "from an earlier run (stale: no run.json, commit and time unknown)".to_string(),
            Some(s) => format!(
                "from an earlier run ({}commit {}, {}, {}, seed {})",
                if self.stale { "stale: " } else { "same " },
                s.short_commit(),
                s.time_utc,
                s.size,
                s.seed
            ),
        }
    }
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
    let records = run_experiments(experiments, opts)?;
    let listed = with_earlier_results(&records, &opts.out, &current_commit());
    let index = write_index(&opts.out, opts, &listed)?;
    let failed: Vec<String> = records.iter().filter(|r| r.status != Status::Ok).map(|r| r.id.to_string()).collect();
    if failed.is_empty() {
        Ok(records)
    } else {
        Err(RunError::ExperimentsFailed { failed, total: records.len(), index })
    }
}

/// Runs `experiments` in order and writes each one's `metrics.json`, `run.json` and figures
/// under `opts.out`, without the index: the records of every experiment, failed ones
/// included. The error is only for an unusable output directory.
pub fn run_experiments(experiments: &[&dyn Experiment], opts: &RunOptions) -> Result<Vec<Record>, RunError> {
    check_out_is_a_directory(&opts.out)?;
    ensure_writable_dir(&opts.out).map_err(|source| RunError::OutDir { path: opts.out.clone(), source })?;
    let commit = current_commit();
    let started = Instant::now();
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
        let record = run_one(*exp, opts, sub.clone(), &commit);
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
            // elapsed so far, and the remainder estimated from the mean time per experiment
            let elapsed = started.elapsed().as_secs_f64();
            let left = elapsed / (i + 1) as f64 * (experiments.len() - i - 1) as f64;
            println!("      {line}; run elapsed {elapsed:.1} s, about {left:.1} s left");
        }
        overall.inc(1);
        records.push(record);
    }
    overall.finish_and_clear();
    Ok(records)
}

/// `--out` must name a directory (or a path that can become one): a file there, or a file
/// where a parent directory should be, is an error that says so.
fn check_out_is_a_directory(out: &std::path::Path) -> Result<(), RunError> {
    for ancestor in out.ancestors().filter(|a| !a.as_os_str().is_empty()) {
        if let Ok(meta) = fs::metadata(ancestor) {
            if meta.is_dir() {
                return Ok(());
            }
            return Err(RunError::OutIsAFile { path: out.to_path_buf(), file: ancestor.to_path_buf() });
        }
    }
    Ok(())
}

/// This run's records, and after them, in registry order, a record for each registered
/// experiment this run did not make whose `metrics.json` is in `out` (an earlier run's),
/// marked stale unless its `run.json` names `commit`. The whole list is in registry order,
/// with experiments outside the registry (tests' own) after it.
pub fn with_earlier_results(records: &[Record], out: &std::path::Path, commit: &str) -> Vec<Record> {
    let registered = crate::registry::all();
    let position = |id: &str| registered.iter().position(|e| e.id() == id).unwrap_or(usize::MAX);
    let mut listed: Vec<Record> = records.to_vec();
    for exp in &registered {
        if records.iter().any(|r| r.id == exp.id()) {
            continue;
        }
        let dir = out.join(exp.id());
        let Some(doc) =
            fs::read_to_string(dir.join("metrics.json")).ok().and_then(|t| serde_json::from_str::<Value>(&t).ok())
        else {
            continue;
        };
        let figures = doc["figures"]
            .as_array()
            .map(|f| f.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
            .unwrap_or_default();
        let stamp = RunStamp::read(&dir);
        let stale = stamp.as_ref().is_none_or(|s| s.commit != commit || commit == "unknown");
        listed.push(Record {
            id: exp.id(),
            title: exp.title(),
            section: exp.section(),
            status: Status::Ok,
            seconds: stamp.as_ref().map_or(0.0, |s| s.seconds),
            cpu_seconds: None,
            document: Some(doc),
            figures,
            earlier: Some(EarlierRun { stamp, stale }),
        });
    }
    listed.sort_by_key(|r| position(r.id));
    listed
}

fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar())
}

fn run_one(exp: &dyn Experiment, opts: &RunOptions, bar: ProgressBar, commit: &str) -> Record {
    let dir = opts.out.join(exp.id());
    let start = Instant::now();
    let cpu_start = crate::timing::cpu_seconds();
    let mut figures = Vec::new();
    let result = (|| -> Result<Value, ExperimentError> {
        fs::create_dir_all(&dir).map_err(|source| ExperimentError::Io { path: dir.clone(), source })?;
        // A stale metrics.json from an earlier run must not pass for this run's output.
        let metrics_path = dir.join("metrics.json");
        let stamp_path = dir.join("run.json");
        for stale in [&metrics_path, &stamp_path] {
            match fs::remove_file(stale) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(ExperimentError::Io { path: stale.clone(), source: e });
                }
                _ => {}
            }
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
        if !opts.progress {
            ctx = ctx.with_lines(LineProgress::new(exp.id()));
        }
        let metrics = catch_unwind(AssertUnwindSafe(|| exp.run(&mut ctx)))
            .map_err(|payload| ExperimentError::Invalid(format!("panicked: {}", panic_message(&payload))))??;
        figures = ctx.figures().to_vec();
        let doc = metrics_document(exp, opts.size, opts.seed, &metrics, &figures);
        let text = serde_json::to_string_pretty(&doc).map_err(|e| ExperimentError::Invalid(e.to_string()))?;
        write_atomic(&metrics_path, text.as_bytes())
            .map_err(|source| ExperimentError::Io { path: metrics_path, source })?;
        let stamp = RunStamp {
            commit: commit.to_string(),
            time_utc: now_utc(),
            size: opts.size.as_str().to_string(),
            seed: opts.seed,
            seconds: start.elapsed().as_secs_f64(),
        };
        let text = serde_json::to_string_pretty(&stamp).map_err(|e| ExperimentError::Invalid(e.to_string()))?;
        write_atomic(&stamp_path, text.as_bytes())
            .map_err(|source| ExperimentError::Io { path: stamp_path, source })?;
        Ok(doc)
    })();
    let seconds = start.elapsed().as_secs_f64();
    let cpu_seconds = cpu_start.zip(crate::timing::cpu_seconds()).map(|(a, b)| b - a);
    let (status, document) = match result {
        Ok(doc) => (Status::Ok, Some(doc)),
        Err(e) => (Status::Failed(e.to_string()), None),
    };
    Record {
        id: exp.id(),
        title: exp.title(),
        section: exp.section(),
        status,
        seconds,
        cpu_seconds,
        document,
        figures,
        earlier: None,
    }
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
