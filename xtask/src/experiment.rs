//! The [`Experiment`] trait: what every chapter experiment provides to the runner.

use serde::Serialize;

use crate::context::RunContext;
use crate::error::ExperimentError;
use crate::metrics::Metrics;

/// How large a run is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Size {
    /// Seconds per experiment: what CI and `cargo test -p xtask` run.
    Quick,
    /// The size that reproduces the published figure.
    Full,
}

impl Size {
    /// `"quick"` or `"full"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Size::Quick => "quick",
            Size::Full => "full",
        }
    }

    /// Picks the quick or the full value of a parameter.
    pub fn pick<T>(self, quick: T, full: T) -> T {
        match self {
            Size::Quick => quick,
            Size::Full => full,
        }
    }
}

/// One chapter experiment.
///
/// An experiment reads its size and seed from the [`RunContext`], calls the crates' public
/// API only, writes its figures through [`RunContext::figure`], and returns its
/// [`Metrics`] (named scalars, small tables, and the parameters that made them). The runner
/// writes `DIR/ID/metrics.json` from them, adding the id, size and seed.
///
/// To add one: write a unit struct implementing this trait in a new file under
/// `xtask/src/experiments/`, and add one line to [`crate::registry::all`].
pub trait Experiment: Sync {
    /// Kebab-case identifier, unique in the registry; also the output sub-directory.
    fn id(&self) -> &'static str;
    /// One-line human title.
    fn title(&self) -> &'static str;
    /// The seed section it belongs to (e.g. `"foundations"`, `"02 backpropagation"`).
    fn section(&self) -> &'static str;
    /// True if the metrics depend only on the seed and size (the default), so they are
    /// snapshot-tested. Return false for measured timings: the test still runs the
    /// experiment but does not pin its numbers.
    fn deterministic(&self) -> bool {
        true
    }
    /// Runs the experiment at `ctx.size()` with `ctx.seed()`.
    fn run(&self, ctx: &mut RunContext) -> Result<Metrics, ExperimentError>;
}
