//! [`LotteryError`]: what can go wrong when masks are built, applied or pruned.

/// An error of the lottery-ticket tools. Every message names the operation, the parameter
/// and the offending values.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LotteryError {
    /// A mask and a parameter (or two masks) of different shapes.
    #[error("{op}: the mask of '{param}' has shape {mask:?} but the parameter has shape {tensor:?}")]
    Shape {
        /// The operation.
        op: &'static str,
        /// The parameter's name.
        param: String,
        /// The mask's shape.
        mask: Vec<usize>,
        /// The parameter's shape.
        tensor: Vec<usize>,
    },
    /// A mask names a parameter that is not there.
    #[error("{op}: no parameter '{param}' (the parameters are [{available}])")]
    UnknownParameter {
        /// The operation.
        op: &'static str,
        /// The missing name.
        param: String,
        /// The names that are there, comma separated.
        available: String,
    },
    /// A pruning rate outside [0, 1).
    #[error("{op}: {what} must lie in [0, 1), got {value}")]
    Rate {
        /// The operation.
        op: &'static str,
        /// Which rate (`rate`, `rate of 'fc.weight'`).
        what: String,
        /// The value given.
        value: f64,
    },
    /// A NaN among the weights to rank by magnitude.
    #[error("{op}: weight {index} of '{param}' is {value}: magnitudes of non-finite weights cannot be ranked")]
    NonFinite {
        /// The operation.
        op: &'static str,
        /// The parameter's name.
        param: String,
        /// The flat index of the bad weight.
        index: usize,
        /// The value.
        value: f64,
    },
    /// A mask given as numbers that are not all exactly 0 or 1, or an inconsistent mask.
    #[error("{op}: {detail}")]
    InvalidMask {
        /// The operation.
        op: &'static str,
        /// What is wrong.
        detail: String,
    },
}

/// `Result` with a [`LotteryError`].
pub type Result<T> = std::result::Result<T, LotteryError>;
