//! Least squares through one singular value decomposition: the minimum-norm solution
//! (Moore–Penrose pseudo-inverse) and ridge regression.
//!
//! For a design matrix `A` of shape `(n, p)` with thin SVD `A = U Σ Vᵀ` (`σ_1 ≥ σ_2 ≥ … ≥ 0`):
//!
//! - **minimum-norm solution**: among all minimisers of `‖A x − b‖²`, the one of least
//!   `‖x‖₂` is `x⁺ = A⁺ b = V Σ⁺ Uᵀ b`, where `Σ⁺` inverts the singular values above the
//!   cut-off `σ_i > rcond · σ_1` and sets the others to zero. When `p < n` and `A` has full
//!   column rank it is the solution of the normal equations `AᵀA x = Aᵀ b`; when `p > n` and
//!   `A` has full row rank it interpolates (`A x⁺ = b`) and equals the dual formula
//!   `x⁺ = Aᵀ (A Aᵀ)⁻¹ b`.
//! - **ridge**: `x_λ = argmin ‖A x − b‖² + λ ‖x‖² = V diag(σ_i / (σ_i² + λ)) Uᵀ b`, which tends
//!   to `x⁺` as `λ → 0⁺`.
//!
//! The default relative cut-off is LAPACK's and NumPy's `lstsq` rule,
//! `rcond = max(n, p) · ε` with `ε = 2⁻⁵²` ([`default_rcond`]): singular values below it
//! are indistinguishable from rounding errors of the SVD itself.
//!
//! The decompositions run on faer with sequential parallelism, so the same input gives the
//! same bits whatever the thread count.
//!
//! | file | holds |
//! | --- | --- |
//! | `decompose` | [`Svd`] (thin, sequential) and [`symmetric_eigen`] |
//! | `min_norm` | [`LeastSquares`] (a factorised design matrix), [`MinNormSolution`], [`min_norm_solution`], [`ridge_solution`] |
//! | `matrix` | conversions between [`Tensor<f64>`](dl_tensor::Tensor) and `ndarray`, shape and finiteness checks |
//!
//! ```
//! use dl_tensor::Tensor;
//! use dl_theory::least_squares::min_norm_solution;
//!
//! // one equation, two unknowns: x1 + x2 = 2 has the minimum-norm solution (1, 1)
//! let a = Tensor::from_vec(vec![1.0, 1.0], &[1, 2])?;
//! let b = Tensor::from_vec(vec![2.0], &[1])?;
//! let sol = min_norm_solution(&a, &b, None)?;
//! assert_eq!(sol.rank, 1);
//! let x = sol.coefficients.to_vec();
//! assert!((x[0] - 1.0).abs() < 1e-15 && (x[1] - 1.0).abs() < 1e-15);
//! // shapes that disagree are an error naming both shapes
//! let err = min_norm_solution(&a, &Tensor::zeros(&[3]), None).unwrap_err();
//! assert!(err.to_string().contains("[1, 2]") && err.to_string().contains("[3]"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod decompose;
pub(crate) mod matrix;
mod min_norm;
#[cfg(test)]
pub(crate) mod reference;

pub use decompose::{Svd, symmetric_eigen};
pub use min_norm::{LeastSquares, MinNormSolution, default_rcond, min_norm_solution, ridge_solution};

use dl_tensor::TensorError;

/// What went wrong in a least-squares computation.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LeastSquaresError {
    /// Two arguments whose shapes must agree do not (or one has the wrong rank).
    #[error("{op}: {what}: shapes {left:?} and {right:?} are incompatible")]
    Shape {
        /// The operation.
        op: &'static str,
        /// What had to agree.
        what: String,
        /// The first shape.
        left: Vec<usize>,
        /// The second shape (empty when only one argument is involved).
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
        value: f64,
        /// What it must satisfy.
        requirement: &'static str,
    },
    /// A non-finite value in an input.
    #[error("{op}: {detail}")]
    NonFinite {
        /// The operation.
        op: &'static str,
        /// Which argument, where, and the value.
        detail: String,
    },
    /// A decomposition did not converge.
    #[error("{op}: {detail}")]
    Decomposition {
        /// The operation.
        op: &'static str,
        /// What failed.
        detail: String,
    },
    /// A tensor operation failed.
    #[error(transparent)]
    Tensor(#[from] TensorError),
}

/// Shorthand for results of this module.
pub type Result<T> = std::result::Result<T, LeastSquaresError>;
