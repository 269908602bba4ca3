//! The error type of every fallible autodiff operation.
//!
//! Policy (the workspace's, see `docs/ARCHITECTURE.md`): whatever can fail on its inputs
//! returns [`Result`]. Tensor errors pass through unchanged inside
//! [`AutodiffError::Tensor`]; the other variants are the autodiff engine's own.

use dl_tensor::TensorError;

/// What went wrong while building, differentiating or checking a computation.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AutodiffError {
    /// A tensor operation failed (shape mismatch, bad axis, index out of bounds, ...).
    #[error(transparent)]
    Tensor(#[from] TensorError),
    /// `backward` was called on an output with more than one element and no cotangent.
    #[error(
        "backward: the output has shape {shape:?} ({numel} elements); backward without a cotangent needs a scalar output, use `vjp(output, cotangent)` for a non-scalar one"
    )]
    NonScalarWithoutCotangent {
        /// Shape of the output.
        shape: Vec<usize>,
        /// Its number of elements (more than one).
        numel: usize,
    },
    /// The cotangent given to a VJP does not have the output's shape.
    #[error("vjp: the cotangent must have the output's shape {expected:?}, got {got:?}")]
    CotangentShape {
        /// Shape of the output, which the cotangent must match.
        expected: Vec<usize>,
        /// Shape of the cotangent that was given.
        got: Vec<usize>,
    },
    /// The tape under this output was freed by an earlier backward pass.
    #[error(
        "backward: the tape node of `{op}` was freed by an earlier backward pass; pass `retain_graph: true` to the first backward to differentiate twice"
    )]
    TapeFreed {
        /// Name of the recorded op whose tape node was freed.
        op: &'static str,
    },
    /// `backward` on a value that no recorded op connects to a leaf requiring gradients.
    #[error(
        "backward: the output does not require gradients (it is a constant, was computed under `no_grad`, or was detached)"
    )]
    NotDifferentiable,
    /// A primitive's VJP returned a gradient of the wrong shape or count (a bug in that primitive).
    #[error("{op}: the VJP rule returned {detail}")]
    BadVjp {
        /// Name of the primitive whose VJP rule misbehaved.
        op: &'static str,
        /// What the rule returned instead (wrong count, or which gradient had which shape).
        detail: String,
    },
    /// A primitive's JVP returned a tangent whose shape is not the output's.
    #[error("{op}: the JVP rule returned a tangent of shape {got:?}, the output has shape {expected:?}")]
    BadJvp {
        /// Name of the primitive whose JVP rule misbehaved.
        op: &'static str,
        /// Shape of the op's output, which the tangent must have.
        expected: Vec<usize>,
        /// Shape of the tangent the rule returned.
        got: Vec<usize>,
    },
    /// An argument that the operation cannot honour.
    #[error("{op}: {detail}")]
    InvalidArgument {
        /// The operation that failed (as named in the message).
        op: &'static str,
        /// What is wrong with the argument.
        detail: String,
    },
}

impl AutodiffError {
    pub(crate) fn invalid(op: &'static str, detail: impl Into<String>) -> Self {
        AutodiffError::InvalidArgument { op, detail: detail.into() }
    }
}

/// Result with [`AutodiffError`].
pub type Result<T, E = AutodiffError> = std::result::Result<T, E>;
