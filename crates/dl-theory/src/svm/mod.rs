//! The hard-margin linear support vector machine through the origin, solved exactly: the
//! reference direction that gradient descent on the logistic loss converges to on
//! separable data (Soudry, Hoffer, Nacson, Gunasekar & Srebro 2018).
//!
//! For examples `x_i ∈ ℝ^d` with labels `y_i ∈ {−1, +1}`, write `g_i = y_i x_i`.
//!
//! - **Primal**: `min ½ ‖w‖²` subject to `g_iᵀ w ≥ 1` for every `i`. Its solution `ŵ` has
//!   geometric margin `γ = 1 / ‖ŵ‖ = max_{‖u‖ = 1} min_i g_iᵀ u`.
//! - **Dual**: `max_α Σ α_i − ½ ‖Σ α_i g_i‖²` subject to `α ≥ 0` (no equality constraint:
//!   there is no bias term).
//! - **KKT conditions** (necessary and sufficient, the problem is convex):
//!   stationarity `w = Σ α_i g_i`; primal feasibility `g_iᵀ w ≥ 1`; dual feasibility
//!   `α_i ≥ 0`; complementary slackness `α_i (g_iᵀ w − 1) = 0`. At the optimum the duality
//!   gap `½‖w‖² − (Σ α_i − ½‖w‖²) = ‖w‖² − Σ α_i` is 0.
//!
//! **Solver** ([`hard_margin_svm`]): dual coordinate ascent (Hsieh, Chang, Lin, Keerthi &
//! Sundararajan 2008, with `C = ∞`): each step maximises the dual exactly in one coordinate,
//! `α_i ← max(0, α_i + (1 − g_iᵀ w) / ‖g_i‖²)`, and updates `w = Σ α_j g_j`; sweeps run
//! over `i = 1..n` in order, and the dual objective increases monotonically to its maximum.
//! After every sweep the iterate is **polished**: on the support set `S = {i : α_i > 0}` the
//! equalities `g_iᵀ w = 1` are solved exactly, `α_S = (G_S G_Sᵀ)⁺ 1` and `w = G_Sᵀ α_S`;
//! the polished point is accepted as soon as it satisfies every KKT condition to the
//! tolerance. The returned [`KktResiduals`] certify the solution; [`kkt_residuals`]
//! computes them for any candidate.
//!
//! ```
//! use dl_tensor::Tensor;
//! use dl_theory::svm::{SvmOptions, hard_margin_svm};
//!
//! // two points on each side of the line x1 = 0 (through the origin)
//! let x = Tensor::from_vec(vec![1.0, 0.5, 2.0, -1.0, -1.0, 0.3, -3.0, 1.0], &[4, 2])?;
//! let y = [1.0, 1.0, -1.0, -1.0];
//! let svm = hard_margin_svm(&x, &y, &SvmOptions::default())?;
//! assert!(svm.kkt.max() < 1e-12);
//! assert!((svm.margin - 1.0).abs() < 1e-12);          // the closest points sit at distance 1
//! assert_eq!(svm.support, vec![0, 2]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod solver;

pub use solver::{HardMarginSvm, KktResiduals, SvmOptions, hard_margin_svm, kkt_residuals};

use crate::least_squares::LeastSquaresError;

/// What went wrong while solving the SVM.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SvmError {
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
    /// No hyperplane through the origin separates the data.
    #[error("{op}: the data are not linearly separable through the origin: {detail}")]
    NotSeparable {
        /// The operation.
        op: &'static str,
        /// The evidence.
        detail: String,
    },
    /// The iteration budget ran out before the KKT conditions held.
    #[error(
        "{op}: no KKT point within {sweeps} sweeps (smallest largest-KKT-residual {residual:e}, tolerance {tolerance:e}); \
         data that are not separable through the origin, or barely so, end here too"
    )]
    NotConverged {
        /// The operation.
        op: &'static str,
        /// Sweeps made.
        sweeps: usize,
        /// The largest KKT residual reached.
        residual: f64,
        /// The tolerance asked for.
        tolerance: f64,
    },
    /// A least-squares step failed (non-finite input, shapes).
    #[error(transparent)]
    LeastSquares(#[from] LeastSquaresError),
}

/// Shorthand for results of this module.
pub type Result<T> = std::result::Result<T, SvmError>;
