//! # xtask — the experiment runner
//!
//! `cargo xtask experiments` runs every chapter experiment registered in [`registry::all`]
//! and writes, under `--out DIR` (default `results/`):
//!
//! - `DIR/ID/metrics.json`: id, title, section, size, seed, the experiment's config, its
//!   named scalars and small tables, and its figure files;
//! - `DIR/ID/run.json`: the git commit and the UTC time the results were made
//!   ([`stamp::RunStamp`]), kept apart so `metrics.json` stays byte-identical per seed;
//! - `DIR/ID/*.svg`: one SVG per figure (plotters' SVG backend, no font library; see
//!   [`plot`] for the axes and the layout);
//! - `DIR/index.md` and a self-contained `DIR/index.html`, opening with the table of every
//!   claim and its verdict (see [`claims`]), then every experiment, with failed ones marked
//!   FAILED; written last, atomically. Results an earlier run left in `DIR` (say, before an
//!   `--only` run) stay listed, marked with their commit and time, and stale when that
//!   commit is not the current one.
//!
//! A run can be split into shares for job arrays: `--shard k/n` (or a scheduler's
//! `SLURM_ARRAY_TASK_ID` / `JOB_COMPLETION_INDEX`) runs the experiments [`shard::assign`]
//! gives share k and writes the share manifest [`manifest::ShareManifest`] instead of the
//! index; `cargo xtask merge DIR... --out DIR` ([`merge`]) checks the manifests and writes
//! what a single run writes. See `docs/scale-out.md`.
//!
//! Progress: bars on a terminal; otherwise plain lines (a line per experiment stage with
//! the elapsed time and an estimate of the remainder), so a piped or logged run shows it.
//!
//! `cargo test -p xtask` runs every experiment at [`Size::Quick`] and snapshot-tests the
//! metrics of the deterministic ones, rounded to [`metrics::SNAPSHOT_SIGNIFICANT_DIGITS`]
//! significant digits, and renders every figure to check that its text stays on the canvas.

pub mod claims;
pub mod cli;
pub mod context;
pub mod costs;
pub mod error;
pub mod experiment;
pub mod experiments;
pub mod fsio;
pub mod manifest;
pub mod merge;
pub mod metrics;
pub mod plot;
pub mod registry;
pub mod replicates;
pub mod report;
pub mod report_html;
pub mod runner;
pub mod shard;
pub mod share;
pub mod stamp;
pub mod timing;

pub use claims::{Claim, Criterion, Measured, Verdict};
pub use context::RunContext;
pub use error::{ExperimentError, RunError};
pub use experiment::{Assumption, Experiment, Size};
pub use metrics::{Metrics, Table, num, round_json, round_significant};
pub use plot::{Band, LineChart, Scale, SeriesKind};
