//! The typed error of every fallible tensor operation.
//!
//! Policy (applied across the workspace, see `docs/ARCHITECTURE.md`): an operation whose
//! success depends on its inputs' shapes, axes, indices or values returns
//! [`Result<_, TensorError>`](Result); an operation that cannot fail (elementwise `exp`,
//! a full reduction) returns its value directly. Nothing panics on bad input.

use std::path::PathBuf;

/// What went wrong in a tensor operation. Every variant names the operation.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TensorError {
    /// Two shapes that must agree (or broadcast) do not.
    #[error("{op}: shapes {lhs:?} and {rhs:?} are incompatible at dimension {dim}: {detail}")]
    ShapeMismatch {
        /// The operation that failed (as named in the message).
        op: &'static str,
        /// Shape of the left operand.
        lhs: Vec<usize>,
        /// Shape of the right operand.
        rhs: Vec<usize>,
        /// The offending dimension (counted in the left-hand shape).
        dim: usize,
        /// Why the two extents at `dim` conflict.
        detail: String,
    },
    /// An axis outside `-ndim..ndim`, or given twice.
    #[error("{op}: axis {axis} is invalid for a tensor of shape {shape:?} ({detail})")]
    InvalidAxis {
        /// The operation that failed (as named in the message).
        op: &'static str,
        /// The axis as given (possibly negative, counted from the end).
        axis: isize,
        /// Shape of the tensor the axis was applied to.
        shape: Vec<usize>,
        /// Why the axis is rejected (out of range, repeated, ...).
        detail: String,
    },
    /// An index outside its axis.
    #[error("{op}: index {index} is out of bounds for axis {axis} of size {size} (shape {shape:?})")]
    IndexOutOfBounds {
        /// The operation that failed (as named in the message).
        op: &'static str,
        /// The offending index.
        index: usize,
        /// The (non-negative) axis it indexes.
        axis: usize,
        /// Extent of that axis; valid indices are `0..size`.
        size: usize,
        /// Shape of the indexed tensor.
        shape: Vec<usize>,
    },
    /// A shape argument that the op cannot honour (wrong element count, zero stride, ...).
    #[error("{op}: {detail} (shape {shape:?})")]
    InvalidArgument {
        /// The operation that failed (as named in the message).
        op: &'static str,
        /// Shape of the tensor (or the shape argument) involved.
        shape: Vec<usize>,
        /// What is wrong with the argument.
        detail: String,
    },
    /// Reading or writing a file failed; names the path.
    #[error("{op}: {path}: {detail}")]
    Io {
        /// The operation that failed (as named in the message).
        op: &'static str,
        /// The file being read or written.
        path: PathBuf,
        /// The underlying I/O or format error, as text.
        detail: String,
    },
    /// An allocation that would exceed the memory limit (or whose size overflows), refused
    /// before anything was allocated; see [`crate::memory`].
    #[error("{what}: needs {}, more than the memory limit of {limit}", needed(bytes))]
    TooLarge {
        /// What would have been allocated (`layers[2] (dense): parameters`, `npy::load: x.npy`).
        what: String,
        /// The bytes it would need; `None` when the size overflows 64 bits.
        bytes: Option<u64>,
        /// The limit, with its value and where it came from.
        limit: String,
    },
}

fn needed(bytes: &Option<u64>) -> String {
    match bytes {
        Some(b) => format!("{b} bytes ({})", crate::memory::human_bytes(*b)),
        None => format!("more than {} bytes (its size overflows)", u64::MAX),
    }
}

/// Result with [`TensorError`].
pub type Result<T, E = TensorError> = std::result::Result<T, E>;

impl TensorError {
    pub(crate) fn invalid(op: &'static str, shape: &[usize], detail: impl Into<String>) -> Self {
        TensorError::InvalidArgument { op, shape: shape.to_vec(), detail: detail.into() }
    }
}
