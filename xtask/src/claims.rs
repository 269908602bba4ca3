//! Claims: what an experiment says it reproduces, and whether it did.
//!
//! Every experiment declares the claims it checks. A claim is a statement from the theory
//! or a paper ("the error falls like `N^(-1/2)`"), its source (paper, figure or equation),
//! the quantity measured, a criterion on that quantity, and the verdict computed from the
//! measurement. The runner writes the claims into `metrics.json` (so the snapshot tests pin
//! the verdicts as well as the numbers) and the report opens with a table of all of them.
//!
//! ## Measurements over seeds
//!
//! A claim that involves training or random initialisation is measured over several seeds
//! (at least 3 at full size; see [`crate::RunContext::replicate_seeds`]). [`Measured`] keeps
//! every value, their mean and their spread (the sample standard deviation; 0 for a single
//! value or a deterministic quantity).
//!
//! ## The verdict rule
//!
//! With `c` the criterion and `[mean - spread, mean + spread]` the band:
//!
//! - **reproduced**: every point of the band satisfies `c`;
//! - **partly**: the mean satisfies `c` but the band crosses its boundary, or the mean
//!   satisfies the looser criterion given with [`Claim::partly_if`];
//! - **not reproduced**: otherwise, and whenever the mean is not a finite number.
//!
//! The rule is fixed before the measurement: a criterion or a seed is never changed because
//! of the verdict it gives (see `docs/ARCHITECTURE.md`, "Claims").
//!
//! ```
//! use xtask::claims::{Claim, Criterion, Measured, Verdict};
//!
//! let slopes = [-0.52, -0.47, -0.50];
//! let claim = Claim::new("barron-rate", "the L2 error falls like n^(-1/2) in every dimension", "Barron 1993, Theorem 1")
//!     .measured("fitted slope of log L2 error against log n", Measured::over_seeds(&slopes))
//!     .criterion(Criterion::between(-0.6, -0.4))
//!     .partly_if(Criterion::between(-0.7, -0.3));
//! assert_eq!(claim.verdict(), Verdict::Reproduced);
//! ```

use std::fmt;

use serde::Serialize;
use serde_json::{Value, json};

use crate::error::ExperimentError;
use crate::metrics::{num, round_significant};

/// Whether a claim was reproduced.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum Verdict {
    /// The whole band of the measurement satisfies the criterion.
    #[serde(rename = "reproduced")]
    Reproduced,
    /// The mean satisfies the criterion but its spread crosses the boundary, or the mean
    /// satisfies only the looser criterion.
    #[serde(rename = "partly")]
    Partly,
    /// The mean fails the criterion (or is not finite).
    #[serde(rename = "not reproduced")]
    NotReproduced,
}

impl Verdict {
    /// `"reproduced"`, `"partly"` or `"not reproduced"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Reproduced => "reproduced",
            Verdict::Partly => "partly",
            Verdict::NotReproduced => "not reproduced",
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A measured quantity: one value, or one value per seed.
#[derive(Clone, Debug, PartialEq)]
pub struct Measured {
    /// Every value, in seed order.
    pub values: Vec<f64>,
    /// Their mean.
    pub mean: f64,
    /// Their sample standard deviation (`n - 1` in the denominator); 0 for one value.
    pub spread: f64,
}

impl Measured {
    /// A single value (a deterministic quantity, or one seed): spread 0.
    pub fn exact(value: f64) -> Self {
        Measured { values: vec![value], mean: value, spread: 0.0 }
    }

    /// Values measured over seeds: their mean and sample standard deviation. An empty slice
    /// gives a NaN mean (and so a `not reproduced` verdict).
    pub fn over_seeds(values: &[f64]) -> Self {
        let (mean, spread) = mean_and_spread(values);
        Measured { values: values.to_vec(), mean, spread }
    }

    /// Number of seeds (values).
    pub fn seeds(&self) -> usize {
        self.values.len()
    }

    /// `mean ± spread (n seeds)`, or the value alone when there is one.
    pub fn describe(&self) -> String {
        if self.values.len() <= 1 {
            short(self.mean)
        } else {
            format!("{} ± {} ({} seeds)", short(self.mean), short(self.spread), self.values.len())
        }
    }
}

/// The mean and the sample standard deviation (`n - 1` in the denominator) of `values`:
/// `(NaN, NaN)` for none, spread 0 for one.
pub fn mean_and_spread(values: &[f64]) -> (f64, f64) {
    let n = values.len();
    if n == 0 {
        return (f64::NAN, f64::NAN);
    }
    let mean = values.iter().sum::<f64>() / n as f64;
    let spread =
        if n > 1 { (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt() } else { 0.0 };
    (mean, spread)
}

/// A condition on a measured value.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Criterion {
    /// `value <= bound`.
    AtMost(f64),
    /// `value >= bound`.
    AtLeast(f64),
    /// `lo <= value <= hi`.
    Between(f64, f64),
}

impl Criterion {
    /// `value <= bound`.
    pub fn at_most(bound: f64) -> Self {
        Criterion::AtMost(bound)
    }

    /// `value >= bound`.
    pub fn at_least(bound: f64) -> Self {
        Criterion::AtLeast(bound)
    }

    /// `lo <= value <= hi`.
    pub fn between(lo: f64, hi: f64) -> Self {
        Criterion::Between(lo, hi)
    }

    /// `target - tol <= value <= target + tol`.
    pub fn within(target: f64, tol: f64) -> Self {
        Criterion::Between(target - tol, target + tol)
    }

    /// Whether `x` satisfies the criterion (never for NaN).
    pub fn holds(&self, x: f64) -> bool {
        match *self {
            Criterion::AtMost(b) => x <= b,
            Criterion::AtLeast(b) => x >= b,
            Criterion::Between(lo, hi) => lo <= x && x <= hi,
        }
    }

    /// Whether every point of `[lo, hi]` satisfies the criterion.
    fn holds_on(&self, lo: f64, hi: f64) -> bool {
        self.holds(lo) && self.holds(hi)
    }

    /// The criterion as text: `≤ 1e-06`, `≥ 0.9`, `in [-0.6, -0.4]`.
    pub fn describe(&self) -> String {
        match *self {
            Criterion::AtMost(b) => format!("≤ {}", short(b)),
            Criterion::AtLeast(b) => format!("≥ {}", short(b)),
            Criterion::Between(lo, hi) => format!("in [{}, {}]", short(lo), short(hi)),
        }
    }
}

/// One claim an experiment checks. Build it with [`Claim::new`], then
/// [`Claim::measured`], [`Claim::criterion`] and optionally [`Claim::partly_if`] and
/// [`Claim::note`]; hand it to [`crate::Metrics::claim`].
#[derive(Clone, Debug, PartialEq)]
pub struct Claim {
    /// Short kebab-case name, unique within the experiment.
    pub id: String,
    /// What the theory or the paper says.
    pub statement: String,
    /// Where it comes from: paper, figure, equation.
    pub source: String,
    /// What was measured (the quantity the criterion is about).
    pub quantity: String,
    /// The measurement.
    pub measured: Option<Measured>,
    /// The condition for `reproduced`.
    pub criterion: Option<Criterion>,
    /// A looser condition on the mean for `partly`.
    pub partly: Option<Criterion>,
    /// Why a claim came out `partly` or `not reproduced`, or how the protocol differs from
    /// the paper's. Written before the verdict is known or stated as the likely reason.
    pub note: Option<String>,
}

impl Claim {
    /// A claim with its statement and source; the measurement and criterion follow.
    pub fn new(id: &str, statement: &str, source: &str) -> Self {
        Claim {
            id: id.to_string(),
            statement: statement.to_string(),
            source: source.to_string(),
            quantity: String::new(),
            measured: None,
            criterion: None,
            partly: None,
            note: None,
        }
    }

    /// What was measured and its value(s).
    pub fn measured(mut self, quantity: &str, measured: Measured) -> Self {
        self.quantity = quantity.to_string();
        self.measured = Some(measured);
        self
    }

    /// The criterion for `reproduced`.
    pub fn criterion(mut self, criterion: Criterion) -> Self {
        self.criterion = Some(criterion);
        self
    }

    /// A looser criterion: a mean that satisfies it (but not the main criterion) gives
    /// `partly`.
    pub fn partly_if(mut self, criterion: Criterion) -> Self {
        self.partly = Some(criterion);
        self
    }

    /// A remark shown beside the verdict (protocol differences, the likely reason for a
    /// failure).
    pub fn note(mut self, note: &str) -> Self {
        self.note = Some(note.to_string());
        self
    }

    /// The verdict by the rule of the module documentation. A claim without a measurement
    /// or a criterion is `not reproduced` ([`crate::Metrics::claim`] refuses it anyway).
    pub fn verdict(&self) -> Verdict {
        let (Some(m), Some(c)) = (&self.measured, &self.criterion) else {
            return Verdict::NotReproduced;
        };
        if !m.mean.is_finite() {
            return Verdict::NotReproduced;
        }
        let spread = if m.spread.is_finite() { m.spread } else { f64::INFINITY };
        if c.holds_on(m.mean - spread, m.mean + spread) {
            Verdict::Reproduced
        } else if c.holds(m.mean) || self.partly.is_some_and(|p| p.holds(m.mean)) {
            Verdict::Partly
        } else {
            Verdict::NotReproduced
        }
    }

    /// Checks that the claim is complete: an id, a statement, a source, a quantity, a
    /// measurement and a criterion.
    pub fn validate(&self) -> Result<(), ExperimentError> {
        let missing = |what: &str| ExperimentError::Invalid(format!("claim {:?}: no {what}", self.id));
        if self.id.is_empty() {
            return Err(missing("id"));
        }
        if self.statement.is_empty() {
            return Err(missing("statement"));
        }
        if self.source.is_empty() {
            return Err(missing("source"));
        }
        if self.quantity.is_empty() || self.measured.is_none() {
            return Err(missing("measurement (call .measured)"));
        }
        if self.criterion.is_none() {
            return Err(missing("criterion (call .criterion)"));
        }
        Ok(())
    }

    /// The claim as it appears in `metrics.json`.
    pub fn to_json(&self) -> Value {
        let m = self.measured.clone().unwrap_or_else(|| Measured::over_seeds(&[]));
        json!({
            "id": self.id,
            "statement": self.statement,
            "source": self.source,
            "quantity": self.quantity,
            "criterion": self.criterion.map(|c| c.describe()),
            "partly_if": self.partly.map(|c| c.describe()),
            "mean": num(m.mean),
            "spread": num(m.spread),
            "seeds": m.values.len(),
            "values": m.values.iter().map(|&v| num(v)).collect::<Vec<_>>(),
            "measured": m.describe(),
            "verdict": self.verdict().as_str(),
            "note": self.note,
        })
    }
}

/// A number in 4 significant digits, in exponent notation outside [1e-3, 1e6).
fn short(x: f64) -> String {
    if !x.is_finite() {
        return format!("{x}");
    }
    let r = round_significant(x, 4);
    if r == 0.0 || (1e-3..1e6).contains(&r.abs()) { format!("{r}") } else { format!("{r:e}") }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claim(values: &[f64], c: Criterion) -> Claim {
        Claim::new("c", "s", "src").measured("q", Measured::over_seeds(values)).criterion(c)
    }

    #[test]
    fn mean_and_sample_spread() {
        let m = Measured::over_seeds(&[1.0, 2.0, 3.0, 4.0]);
        assert_eq!(m.mean, 2.5);
        // sample variance: (2.25 + 0.25 + 0.25 + 2.25) / 3 = 5/3
        assert!((m.spread - (5.0f64 / 3.0).sqrt()).abs() < 1e-15);
        assert_eq!(Measured::over_seeds(&[7.0]).spread, 0.0);
        assert!(Measured::over_seeds(&[]).mean.is_nan());
    }

    #[test]
    fn verdict_follows_the_band() {
        // band [0.9, 1.1] inside [0, 2]
        assert_eq!(claim(&[0.9, 1.1], Criterion::between(0.0, 2.0)).verdict(), Verdict::Reproduced);
        // mean 1, spread ~0.707: band crosses the bound 1.5
        assert_eq!(claim(&[0.5, 1.5], Criterion::at_most(1.5)).verdict(), Verdict::Partly);
        // mean fails
        assert_eq!(claim(&[2.0, 2.2], Criterion::at_most(1.0)).verdict(), Verdict::NotReproduced);
        // a looser criterion catches the mean
        let c = claim(&[1.2], Criterion::at_most(1.0)).partly_if(Criterion::at_most(1.5));
        assert_eq!(c.verdict(), Verdict::Partly);
        // a single exact value on the boundary holds
        assert_eq!(claim(&[1.0], Criterion::at_least(1.0)).verdict(), Verdict::Reproduced);
    }

    #[test]
    fn non_finite_or_incomplete_claims_are_not_reproduced() {
        assert_eq!(claim(&[f64::NAN], Criterion::at_least(0.0)).verdict(), Verdict::NotReproduced);
        assert_eq!(claim(&[], Criterion::at_least(0.0)).verdict(), Verdict::NotReproduced);
        let bare = Claim::new("x", "s", "src");
        assert_eq!(bare.verdict(), Verdict::NotReproduced);
        let err = bare.validate().unwrap_err().to_string();
        assert!(err.contains("claim \"x\"") && err.contains("measurement"), "{err}");
        let no_criterion = Claim::new("x", "s", "src").measured("q", Measured::exact(1.0));
        assert!(no_criterion.validate().unwrap_err().to_string().contains("criterion"));
    }

    #[test]
    fn json_carries_the_criterion_beside_the_measurement() {
        let c = claim(&[-0.52, -0.47, -0.5], Criterion::between(-0.6, -0.4)).note("protocol as in the paper");
        let v = c.to_json();
        assert_eq!(v["verdict"], "reproduced");
        assert_eq!(v["criterion"], "in [-0.6, -0.4]");
        assert_eq!(v["seeds"], 3);
        assert!(v["measured"].as_str().unwrap().contains("± "), "{}", v["measured"]);
        assert_eq!(v["note"], "protocol as in the paper");
    }
}
