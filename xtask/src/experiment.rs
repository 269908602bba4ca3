//! The [`Experiment`] trait: what every chapter experiment provides to the runner.

use serde::{Deserialize, Serialize};

use crate::context::RunContext;
use crate::error::ExperimentError;
use crate::metrics::Metrics;

/// How large a run is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
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

/// A condition that an experiment's checks and claims assume about its own parameters at a
/// given size, computed from the parameters without running the experiment: a small initial
/// state that stays in tanh's linear range up to the longest lag, a rounding bound that
/// stays below a tolerance, a step count that reaches convergence.
///
/// The runner refuses to run an experiment whose assumptions fail at the requested size
/// (with the assumption's detail as the message), and `xtask/tests/experiments.rs` asserts
/// that every assumption of every registered experiment holds at both sizes, so that no
/// check can hold at quick size and fail at full size.
#[derive(Clone, Debug, PartialEq)]
pub struct Assumption {
    /// What is assumed, in words.
    pub name: String,
    /// Whether it holds for the parameters of the size asked.
    pub holds: bool,
    /// The numbers behind the verdict (the bound and the threshold it is compared with).
    pub detail: String,
}

impl Assumption {
    /// An assumption with its verdict and the numbers behind it.
    pub fn new(name: &str, holds: bool, detail: impl Into<String>) -> Self {
        Assumption { name: name.to_string(), holds, detail: detail.into() }
    }
}

/// One chapter experiment.
///
/// An experiment reads its size and seed from the [`RunContext`], calls the crates' public
/// API only, writes its figures through [`RunContext::figure`], and returns its
/// [`Metrics`] (named scalars, small tables, and the parameters that made them). The runner
/// writes `DIR/ID/metrics.json` from them, adding the id, size and seed.
///
/// It declares the claims it checks with [`Metrics::claim`] (see [`crate::claims`]; every
/// experiment declares at least one).
///
/// To add one: write a unit struct implementing this trait in a new file under
/// `xtask/src/experiments/<section>/` (listed in that folder's `mod.rs`), and add one line
/// to [`crate::registry::all`].
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
    /// The conditions its checks and claims assume about its parameters at `size` (see
    /// [`Assumption`]). An experiment whose checks hold only in a regime that its size
    /// parameters control (a lag, a depth, a step count) states that regime here; the
    /// default is none.
    fn assumptions(&self, _size: Size) -> Vec<Assumption> {
        Vec::new()
    }
    /// Runs the experiment at `ctx.size()` with `ctx.seed()`.
    fn run(&self, ctx: &mut RunContext) -> Result<Metrics, ExperimentError>;
}
