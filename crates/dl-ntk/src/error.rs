//! [`NtkError`]: every failure of the kernels and their predictions, naming the operation,
//! the argument and (for shapes) both shapes. Nothing in this crate returns NaN in place
//! of an error.

use dl_autodiff::AutodiffError;
use dl_init::InitError;
use dl_layers::LayerError;
use dl_tensor::TensorError;

/// What went wrong while computing a kernel or a prediction.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum NtkError {
    /// Two arguments whose shapes must agree do not.
    #[error("{op}: {what}: shapes {left:?} and {right:?} are incompatible")]
    Shape { op: &'static str, what: String, left: Vec<usize>, right: Vec<usize> },
    /// An argument outside its domain (a negative time, a non-positive learning rate, ...).
    #[error("{op}: {name} = {value} is invalid: {requirement}")]
    InvalidArgument { op: &'static str, name: &'static str, value: f64, requirement: &'static str },
    /// A network layer the analytic (infinite-width) kernel or the structured path cannot take.
    #[error("{op}: layer {index} ({layer}) is not supported: {reason}")]
    UnsupportedLayer { op: &'static str, index: usize, layer: String, reason: String },
    /// The memory budget cannot hold even the smallest piece of work.
    #[error("{op}: the memory budget of {budget} bytes is too small: {detail}")]
    Budget { op: &'static str, budget: usize, detail: String },
    /// A non-finite value appeared in an input or a result.
    #[error("{op}: {detail}")]
    NonFinite { op: &'static str, detail: String },
    /// A decomposition failed.
    #[error("{op}: {detail}")]
    LinearAlgebra { op: &'static str, detail: String },
    /// A tensor operation failed.
    #[error(transparent)]
    Tensor(#[from] TensorError),
    /// Differentiation failed.
    #[error(transparent)]
    Autodiff(#[from] AutodiffError),
    /// A layer rejected its input (the message names the layer and both shapes).
    #[error(transparent)]
    Layer(#[from] LayerError),
    /// A Gaussian expectation failed (the message names the activation and the variances).
    #[error(transparent)]
    Init(#[from] InitError),
}

/// Shorthand for results of this crate.
pub type Result<T> = std::result::Result<T, NtkError>;

/// Checks that a value is finite and non-negative.
pub(crate) fn non_negative(op: &'static str, name: &'static str, value: f64) -> Result<f64> {
    if value.is_finite() && value >= 0.0 {
        Ok(value)
    } else {
        Err(NtkError::InvalidArgument { op, name, value, requirement: "must be finite and non-negative" })
    }
}

/// Checks that a value is finite and positive.
pub(crate) fn positive(op: &'static str, name: &'static str, value: f64) -> Result<f64> {
    if value.is_finite() && value > 0.0 {
        Ok(value)
    } else {
        Err(NtkError::InvalidArgument { op, name, value, requirement: "must be finite and positive" })
    }
}
