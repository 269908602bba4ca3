//! Double descent: the test error of interpolating models peaks where the model just
//! barely fits the training set and falls again beyond it.
//!
//! **Random ReLU features** (Belkin, Hsu, Ma & Mandal 2019, PNAS, Fig. 2 and Section 3): the
//! features of an input `x ∈ ℝ^d` are `φ(x) = relu(W x / √d) ∈ ℝ^p` for a fixed random `W`
//! of shape `(p, d)` (rows `w_j ~ N(0, I_d)`), without intercept. With the training
//! feature matrix `Φ` of shape `(n, p)` and targets `Y` of shape `(n, k)`, the predictor is
//! `f(x) = βᵀ φ(x)` with the **minimum-norm least-squares** coefficients
//! `β = Φ⁺ Y` (pseudo-inverse through the SVD, relative cut-off `max(n, p) · ε` unless
//! stated: see [`crate::least_squares`]). For `p < n` this is ordinary least squares; for
//! `p ≥ n` it interpolates the training data (`Φ β = Y`) and, among interpolants, has the
//! least `‖β‖_F`. As `p → n` the smallest non-zero singular value of `Φ` falls towards 0,
//! `‖β‖` and the variance of the fit explode, and the test error peaks at `p = n`;
//! beyond it, more features mean a smaller-norm interpolant and a falling test error.
//!
//! Sweeping `p` over the nested feature sets "the first `p` rows of one `W`"
//! ([`RandomFeaturesProblem`]) traces the double-descent curve. **Optimally tuned ridge**
//! (`β_λ = argmin (1/n) ‖Φ β − Y‖² + λ ‖β‖²`, with `λ` chosen per `p` from a grid, on held-out
//! data or by the oracle test error) removes the peak (Nakkiran, Venkat, Kakade & Ma 2020,
//! "Optimal regularization can mitigate double descent", Theorem 1 and Fig. 1).
//!
//! **Label noise** for the deep double descent of trained networks (Nakkiran, Kaplun,
//! Bansal, Yang, Barak & Sutskever 2019, Section 3): with probability `p` a training label
//! is replaced by a uniformly random *incorrect* label, drawn once ([`corrupt_labels`]).
//!
//! **Curve shape** ([`double_descent_shape`]): the most prominent bump of a curve, for the
//! model-wise (test error against width) and epoch-wise (test error against epoch) curves.
//!
//! | file | holds |
//! | --- | --- |
//! | `random_features` | [`relu_random_features`], [`RandomFeaturesProblem`] (nested features, min-norm and ridge fits), [`random_relu_features_min_norm`] |
//! | `ridge` | [`RidgeFit`], [`RidgeSelection`], [`select_ridge`], [`log_grid`] |
//! | `label_noise` | [`corrupt_labels`], [`NoisyLabels`] |
//! | `curve` | [`double_descent_shape`], [`largest_rise`], [`argmax`] |
//!
//! ```
//! use dl_tensor::{Tensor, seeded_rng};
//! use dl_theory::double_descent::RandomFeaturesProblem;
//!
//! let mut rng = seeded_rng(0);
//! let (n, d) = (40, 5);
//! let x = Tensor::<f64>::randn(&[n, d], &mut rng);
//! let y = Tensor::<f64>::randn(&[n], &mut rng);
//! let x_test = Tensor::<f64>::randn(&[200, d], &mut rng);
//! let y_test = Tensor::<f64>::randn(&[200], &mut rng);
//! let w = Tensor::<f64>::randn(&[120, d], &mut rng);
//! let problem = RandomFeaturesProblem::new(&x, &y, &x_test, &y_test, &w)?;
//! let under = problem.min_norm(20, None)?;     // p < n: least squares
//! let over = problem.min_norm(120, None)?;     // p > n: interpolation
//! assert!(under.train_mse > 1e-3);
//! assert!(over.train_mse < 1e-20);
//! assert!(problem.min_norm(0, None).is_err()); // p = 0 is an error
//! # Ok::<(), dl_theory::double_descent::DoubleDescentError>(())
//! ```

mod curve;
mod label_noise;
mod random_features;
mod ridge;

pub use curve::{DoubleDescentShape, argmax, double_descent_shape, largest_rise};
pub use label_noise::{NoisyLabels, corrupt_labels};
pub use random_features::{
    RandomFeaturesFit, RandomFeaturesProblem, random_relu_features_min_norm, relu_random_features,
};
pub use ridge::{RidgeFit, RidgeSelection, log_grid, select_ridge};

use crate::least_squares::LeastSquaresError;

/// What went wrong in a double-descent computation.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DoubleDescentError {
    /// Two arguments whose shapes must agree do not.
    #[error("{op}: {what}: shapes {left:?} and {right:?} are incompatible")]
    Shape {
        /// The operation.
        op: &'static str,
        /// What had to agree.
        what: String,
        /// The first shape.
        left: Vec<usize>,
        /// The second shape.
        right: Vec<usize>,
    },
    /// An argument outside its domain (`p = 0`, a probability outside `[0, 1]`, ...).
    #[error("{op}: {name} = {value} is invalid: {requirement}")]
    InvalidArgument {
        /// The operation.
        op: &'static str,
        /// The argument.
        name: &'static str,
        /// Its value.
        value: String,
        /// What it must satisfy.
        requirement: String,
    },
    /// A non-finite value in an input.
    #[error("{op}: {detail}")]
    NonFinite {
        /// The operation.
        op: &'static str,
        /// Which argument, where, and the value.
        detail: String,
    },
    /// The least-squares solve failed (the message names the argument).
    #[error(transparent)]
    LeastSquares(#[from] LeastSquaresError),
}

/// Shorthand for results of this module.
pub type Result<T> = std::result::Result<T, DoubleDescentError>;

/// An [`DoubleDescentError::InvalidArgument`].
pub(crate) fn invalid(
    op: &'static str,
    name: &'static str,
    value: impl ToString,
    requirement: impl ToString,
) -> DoubleDescentError {
    DoubleDescentError::InvalidArgument { op, name, value: value.to_string(), requirement: requirement.to_string() }
}

/// Errors unless every value is finite; `what` names the argument.
pub(crate) fn finite_values(op: &'static str, what: &str, values: &[f64]) -> Result<()> {
    if let Some((i, v)) = values.iter().enumerate().find(|(_, v)| !v.is_finite()) {
        return Err(DoubleDescentError::NonFinite {
            op,
            detail: format!("{what} has the non-finite value {v} at {i}"),
        });
    }
    Ok(())
}
