//! Choosing the ridge parameter: a fit per `λ` on a grid, and the choice of one `λ` by the
//! held-out error or by the oracle test error.
//!
//! Nakkiran, Venkat, Kakade & Ma (2020) show that the *optimally tuned* ridge removes the
//! double-descent peak (their Theorem 1 for isotropic data; Fig. 1 and 2 empirically). The
//! optimum is over the population risk, which an experiment approximates either by the test
//! error itself (**oracle**: what the theorem assumes, optimistic as a generalisation
//! estimate) or by a held-out validation set disjoint from both training and test data
//! (**held-out**: an honest procedure).

use super::{DoubleDescentError, Result, invalid};

/// A ridge fit at one `λ`.
#[derive(Clone, Debug, PartialEq)]
pub struct RidgeFit {
    /// The ridge parameter of `(1/n) ‖Φ β − Y‖² + λ ‖β‖²`.
    pub lambda: f64,
    /// Training mean squared error.
    pub train_mse: f64,
    /// Test mean squared error.
    pub test_mse: f64,
    /// Held-out mean squared error, when a validation set was given.
    pub validation_mse: Option<f64>,
    /// Test classification error with `k ≥ 2` outputs.
    pub test_classification_error: Option<f64>,
    /// `‖β_λ‖_F`.
    pub coefficient_norm: f64,
}

/// How a `λ` is chosen from a path of ridge fits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RidgeSelection {
    /// The smallest test MSE (the optimum the theory assumes).
    Oracle,
    /// The smallest validation MSE (needs a validation set).
    HeldOut,
}

/// The fit of `path` chosen by `selection` (the first one on ties).
///
/// Errors: an empty path, or [`RidgeSelection::HeldOut`] on fits without a validation error.
pub fn select_ridge(path: &[RidgeFit], selection: RidgeSelection) -> Result<&RidgeFit> {
    let op = "select_ridge";
    if path.is_empty() {
        return Err(invalid(op, "path", "[]", "must hold at least one fit"));
    }
    let key = |f: &RidgeFit| -> Result<f64> {
        match selection {
            RidgeSelection::Oracle => Ok(f.test_mse),
            RidgeSelection::HeldOut => f.validation_mse.ok_or_else(|| {
                invalid(
                    op,
                    "selection",
                    "HeldOut",
                    "needs fits with a validation error (RandomFeaturesProblem::with_validation)",
                )
            }),
        }
    };
    let mut best = &path[0];
    let mut best_key = key(best)?;
    for f in &path[1..] {
        let k = key(f)?;
        if k < best_key {
            best = f;
            best_key = k;
        }
    }
    Ok(best)
}

/// `count` values spaced evenly in log10 between `lo` and `hi` inclusive (`count ≥ 2`).
///
/// Errors: non-positive or non-finite bounds, `lo ≥ hi`, `count < 2`.
pub fn log_grid(lo: f64, hi: f64, count: usize) -> Result<Vec<f64>> {
    let op = "log_grid";
    if !(lo.is_finite() && lo > 0.0) {
        return Err(invalid(op, "lo", lo, "must be finite and positive"));
    }
    if !(hi.is_finite() && hi > lo) {
        return Err(DoubleDescentError::InvalidArgument {
            op,
            name: "hi",
            value: hi.to_string(),
            requirement: format!("must be finite and above lo = {lo}"),
        });
    }
    if count < 2 {
        return Err(invalid(op, "count", count, "must be at least 2"));
    }
    let (a, b) = (lo.log10(), hi.log10());
    Ok((0..count).map(|i| 10f64.powf(a + (b - a) * i as f64 / (count - 1) as f64)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fit(lambda: f64, test: f64, val: Option<f64>) -> RidgeFit {
        RidgeFit {
            lambda,
            train_mse: 0.0,
            test_mse: test,
            validation_mse: val,
            test_classification_error: None,
            coefficient_norm: 1.0,
        }
    }

    #[test]
    fn selection_by_oracle_and_by_held_out_error() {
        let path = [fit(0.1, 3.0, Some(1.0)), fit(1.0, 2.0, Some(2.0)), fit(10.0, 2.5, Some(0.5))];
        assert_eq!(select_ridge(&path, RidgeSelection::Oracle).unwrap().lambda, 1.0);
        assert_eq!(select_ridge(&path, RidgeSelection::HeldOut).unwrap().lambda, 10.0);
        let no_val = [fit(0.1, 3.0, None)];
        let e = select_ridge(&no_val, RidgeSelection::HeldOut).unwrap_err().to_string();
        assert!(e.contains("validation"), "{e}");
        assert!(select_ridge(&[], RidgeSelection::Oracle).is_err());
    }

    #[test]
    fn log_grid_is_geometric_and_checks_its_bounds() {
        let g = log_grid(1e-4, 1.0, 5).unwrap();
        for (a, e) in g.iter().zip([1e-4, 1e-3, 1e-2, 1e-1, 1.0]) {
            assert!((a / e - 1.0).abs() < 1e-14, "{a} vs {e}");
        }
        assert!(log_grid(0.0, 1.0, 3).is_err());
        assert!(log_grid(1.0, 1.0, 3).is_err());
        assert!(log_grid(1.0, 2.0, 1).is_err());
    }
}
