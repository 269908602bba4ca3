//! Implicit regularisation: which of the many zero-loss solutions gradient descent finds,
//! when nothing in the objective asks for one.
//!
//! **Under-determined least squares** ([`least_squares_gradient_descent`]): for
//! `L(x) = (1 / 2n) ‖A x − b‖²` with `A` of shape `(n, p)`, `p > n`, every gradient
//! `(1/n) Aᵀ (A x − b)` lies in the row space of `A`. Started from `x_0`, gradient descent with
//! step `η < 2n / σ_1²` therefore converges to `x_∞ = A⁺ b + (I − A⁺A) x_0`: from `x_0 = 0`,
//! to the **minimum-norm solution** `A⁺ b`. In the right singular basis the error of
//! direction `i` shrinks by `1 − η σ_i² / n` per step (a closed form the tests check).
//!
//! **Matrix factorisation** (Gunasekar, Woodworth, Bhojanapalli, Neyshabur & Srebro 2017,
//! "Implicit regularization in matrix factorization", Conjecture and Fig. 2): for
//! measurements `y_i = ⟨A_i, X*⟩` of a symmetric `X*` and the factorised model `W = U Uᵀ`
//! with a full `d × d` factor `U` (no rank constraint), gradient descent on
//! `(1 / 2m) Σ (⟨A_i, U Uᵀ⟩ − y_i)²` from `U_0 = α I` converges, as `α → 0` and the step size
//! shrinks, to the positive semi-definite solution of **minimum nuclear norm** (= trace):
//! `min tr(X)` subject to `⟨A_i, X⟩ = y_i`, `X ⪰ 0`. [`factorised_gradient_descent`] runs the
//! descent; [`min_trace_psd`] solves the convex problem independently (ADMM) and certifies
//! it with a dual bound; [`nuclear_norm`] and [`effective_rank`] measure the results.
//!
//! **Separable logistic regression** (Soudry, Hoffer, Nacson, Gunasekar & Srebro 2018,
//! "The implicit bias of gradient descent on separable data", Theorem 3): on linearly
//! separable data, gradient descent on `L(w) = (1/n) Σ log(1 + exp(−y_i wᵀ x_i))` with a
//! small enough step has `‖w(t)‖ → ∞` while `w(t) = ŵ log t + ρ(t)` with `ρ` bounded, where
//! `ŵ` is the hard-margin SVM solution ([`crate::svm`]). The direction converges to
//! `ŵ / ‖ŵ‖` only logarithmically: the angle falls like `1 / log t`.
//! [`separable_logistic_gradient_descent`] runs it and records `w(t)` at chosen steps.
//!
//! | file | holds |
//! | --- | --- |
//! | `least_squares_gd` | [`least_squares_gradient_descent`], [`LeastSquaresGd`], [`LeastSquaresGdRun`] |
//! | `logistic` | [`separable_logistic_gradient_descent`], [`LogisticGd`], [`LogisticRecord`], [`angle_between`], [`log_spaced_steps`] |
//! | `sensing` | [`SensingOperator`]: Gaussian sensing or matrix completion, `⟨A_i, X⟩` and its adjoint |
//! | `factorised` | [`factorised_gradient_descent`], [`FactorisedGd`], [`FactorisedGdRun`] |
//! | `min_trace` | [`min_trace_psd`], [`AdmmOptions`], [`MinTraceSolution`] |
//! | `spectral` | [`nuclear_norm`], [`effective_rank`] |
//!
//! ```
//! use dl_tensor::{Tensor, seeded_rng};
//! use dl_theory::implicit_regularisation::{LeastSquaresGd, least_squares_gradient_descent};
//!
//! let mut rng = seeded_rng(0);
//! let a = Tensor::<f64>::randn(&[10, 40], &mut rng);   // 10 equations, 40 unknowns
//! let b = Tensor::<f64>::randn(&[10], &mut rng);
//! let run = least_squares_gradient_descent(&a, &b, None, &LeastSquaresGd { learning_rate: None, steps: 2000, record_every: 100 })?;
//! let last = run.records.last().unwrap();
//! assert!(last.distance_to_min_norm < 1e-12);           // GD from zero found A⁺ b
//! # Ok::<(), dl_theory::implicit_regularisation::ImplicitRegularisationError>(())
//! ```

mod factorised;
mod least_squares_gd;
mod logistic;
mod min_trace;
mod sensing;
mod spectral;

pub use factorised::{FactorisedGd, FactorisedGdRun, FactorisedRecord, factorised_gradient_descent};
pub use least_squares_gd::{GdRecord, LeastSquaresGd, LeastSquaresGdRun, least_squares_gradient_descent};
pub use logistic::{LogisticGd, LogisticRecord, angle_between, log_spaced_steps, separable_logistic_gradient_descent};
pub use min_trace::{AdmmOptions, MinTraceSolution, min_trace_psd};
pub use sensing::SensingOperator;
pub use spectral::{effective_rank, nuclear_norm};

use crate::least_squares::LeastSquaresError;

/// What went wrong in an implicit-regularisation computation.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ImplicitRegularisationError {
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
    /// An argument outside its domain.
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
    /// An iteration produced a non-finite value (a step size too large for the problem).
    #[error("{op}: diverged at step {step}: {detail}")]
    Diverged {
        /// The operation.
        op: &'static str,
        /// The step at which a non-finite value appeared.
        step: usize,
        /// What became non-finite, and the likely cause.
        detail: String,
    },
    /// A linear-algebra step failed.
    #[error(transparent)]
    LeastSquares(#[from] LeastSquaresError),
}

/// Shorthand for results of this module.
pub type Result<T> = std::result::Result<T, ImplicitRegularisationError>;

/// An [`ImplicitRegularisationError::InvalidArgument`].
pub(crate) fn invalid(
    op: &'static str,
    name: &'static str,
    value: impl ToString,
    requirement: impl ToString,
) -> ImplicitRegularisationError {
    ImplicitRegularisationError::InvalidArgument {
        op,
        name,
        value: value.to_string(),
        requirement: requirement.to_string(),
    }
}

/// Checks an optional step size: finite and positive when given.
pub(crate) fn check_learning_rate(op: &'static str, lr: Option<f64>) -> Result<()> {
    match lr {
        Some(v) if !(v.is_finite() && v > 0.0) => Err(invalid(op, "learning_rate", v, "must be finite and positive")),
        _ => Ok(()),
    }
}
