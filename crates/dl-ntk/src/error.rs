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
    Shape {
        /// The operation that failed (e.g. `"empirical NTK"`), first in the message.
        op: &'static str,
        /// Which arguments disagree and what was required of them.
        what: String,
        /// The shape of the first argument named in `what`.
        left: Vec<usize>,
        /// The shape of the second argument named in `what`.
        right: Vec<usize>,
    },
    /// An argument outside its domain (a negative time, a non-positive learning rate, ...).
    #[error("{op}: {name} = {value} is invalid: {requirement}")]
    InvalidArgument {
        /// The operation that failed (e.g. `"empirical NTK"`), first in the message.
        op: &'static str,
        /// The argument's name (e.g. `"t"`, `"learning_rate"`).
        name: &'static str,
        /// The rejected value.
        value: f64,
        /// The condition it violates (e.g. `"must be finite and positive"`).
        requirement: &'static str,
    },
    /// A network layer the analytic (infinite-width) kernel or the structured path cannot take.
    #[error("{op}: layer {index} ({layer}) is not supported: {reason}")]
    UnsupportedLayer {
        /// The operation that failed (e.g. `"empirical NTK"`), first in the message.
        op: &'static str,
        /// The layer's position in the network (0-based).
        index: usize,
        /// A short description of the layer, e.g. `Dense(512, sigma_w2 = 2, sigma_b2 = 0)`.
        layer: String,
        /// Why it cannot be taken (e.g. an activation without a closed-form kernel map).
        reason: String,
    },
    /// The memory budget cannot hold even the smallest piece of work.
    #[error("{op}: the memory budget of {budget} bytes is too small: {detail}")]
    Budget {
        /// The operation that failed (e.g. `"empirical NTK"`), first in the message.
        op: &'static str,
        /// The memory budget that was given, in bytes.
        budget: usize,
        /// The size of the smallest piece of work, in bytes, and what it consists of.
        detail: String,
    },
    /// A non-finite value appeared in an input or a result.
    #[error("{op}: {detail}")]
    NonFinite {
        /// The operation that failed (e.g. `"empirical NTK"`), first in the message.
        op: &'static str,
        /// Which input or result holds the non-finite value (and, for matrices, where).
        detail: String,
    },
    /// A decomposition failed.
    #[error("{op}: {detail}")]
    LinearAlgebra {
        /// The operation that failed (e.g. `"empirical NTK"`), first in the message.
        op: &'static str,
        /// Which decomposition failed and why (e.g. no positive eigenvalue).
        detail: String,
    },
    /// A file of a tile store (a manifest or a tile) is unreadable, malformed or does not match
    /// the store it belongs to; names the file and the field.
    #[error("{op}: {path}: {field}: {detail}")]
    Store {
        /// The operation that failed (e.g. `"TileStore::open"`), first in the message.
        op: &'static str,
        /// The file (or directory) concerned.
        path: std::path::PathBuf,
        /// The field that is wrong (a manifest key such as `"n"`, or `"checksum"`, `"shape"`, `"file"`).
        field: String,
        /// What was found and what was expected.
        detail: String,
    },
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
