//! [`ApproximationError`]: every way a construction, a verification or a fit can refuse its
//! input. Each message names the function, the argument and the offending value, so a
//! caller sees what to change without reading the code.

use dl_layers::LayerError;
use dl_tensor::TensorError;

/// What went wrong in [`crate::approximation`].
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ApproximationError {
    /// A scalar argument outside its domain (`eps <= 0`, a non-finite Lipschitz constant, a
    /// tail fraction outside (0, 1), ...).
    #[error("{op}: {name} = {value} is invalid: {requirement}")]
    InvalidArgument {
        /// The function that refused.
        op: &'static str,
        /// The argument's name.
        name: String,
        /// Its value.
        value: f64,
        /// What it must satisfy.
        requirement: &'static str,
    },
    /// An empty, inverted or non-finite box `[lo, hi]`.
    #[error("{op}: the domain is invalid on axis {axis}: [{lo}, {hi}] (need finite lo < hi)")]
    InvalidDomain {
        /// The function that refused.
        op: &'static str,
        /// The offending coordinate.
        axis: usize,
        /// Lower end.
        lo: f64,
        /// Upper end.
        hi: f64,
    },
    /// Arguments whose lengths must agree do not (a point of the wrong dimension, one
    /// modulus per axis, ...).
    #[error("{op}: {what}: expected {expected}, got {got}")]
    Dimension {
        /// The function that refused.
        op: &'static str,
        /// What was counted.
        what: &'static str,
        /// The expected count.
        expected: usize,
        /// The count given.
        got: usize,
    },
    /// The target returned a non-finite value.
    #[error("{op}: the target returned {value} at x = {point:?}; a target must be finite on its whole domain")]
    NonFiniteTarget {
        /// The function that evaluated it.
        op: &'static str,
        /// Where.
        point: Vec<f64>,
        /// What it returned.
        value: f64,
    },
    /// A modulus of continuity that is not usable: negative, non-finite, decreasing, or not
    /// concave where it was sampled.
    #[error("{op}: the modulus of continuity {detail}")]
    InvalidModulus {
        /// The function that refused.
        op: &'static str,
        /// What failed, with the sampled values.
        detail: String,
    },
    /// The construction would need more hidden units (or more work) than the configured
    /// limit. Computed before anything is allocated.
    #[error(
        "{op}: {argument} = {value} needs a width of {width} hidden units ({bytes} bytes of f64 parameters); \
         the limit is max_width = {limit}: {hint}"
    )]
    TooLarge {
        /// The function that refused.
        op: &'static str,
        /// The argument responsible (usually `eps`).
        argument: &'static str,
        /// Its value.
        value: f64,
        /// The width the construction needs (saturated at `usize::MAX`).
        width: usize,
        /// The bytes of f64 parameters that width needs.
        bytes: u128,
        /// The configured limit.
        limit: usize,
        /// What to change.
        hint: String,
    },
    /// A construction step would take more work than the configured limit (the cosine
    /// transform of a very fine approximation). Computed before the work starts.
    #[error(
        "{op}: {argument} = {value} needs {work} multiply-adds ({detail}); the limit is work_limit = {limit}: raise {argument}"
    )]
    TooMuchWork {
        /// The function that refused.
        op: &'static str,
        /// The argument responsible.
        argument: &'static str,
        /// Its value.
        value: f64,
        /// The work needed.
        work: u128,
        /// The configured limit.
        limit: u128,
        /// What the work is.
        detail: String,
    },
    /// The construction is not available for this combination (an activation without a
    /// construction, a derivative bound that a construction requires but was not given).
    #[error("{op}: {detail}")]
    Unsupported {
        /// The function that refused.
        op: &'static str,
        /// Why.
        detail: String,
    },
    /// f64 rounding would use more than the reserved part of the error budget (`eps` too
    /// small relative to the target's size for double precision).
    #[error(
        "{op}: eps = {eps} is too small for f64 evaluation: the rounding bound is {rounding:e}, above the \
         reserved {reserve:e}"
    )]
    Precision {
        /// The function that refused.
        op: &'static str,
        /// The requested accuracy.
        eps: f64,
        /// The bound on the rounding error of the network's evaluation.
        rounding: f64,
        /// The part of `eps` reserved for rounding.
        reserve: f64,
    },
    /// A numerical step failed (a singular system, a decomposition).
    #[error("{op}: {detail}")]
    Numerical {
        /// The function that failed.
        op: &'static str,
        /// What failed.
        detail: String,
    },
    /// A tensor operation failed.
    #[error(transparent)]
    Tensor(#[from] TensorError),
    /// A layer rejected its input.
    #[error(transparent)]
    Layer(#[from] LayerError),
}

/// Shorthand for results of [`crate::approximation`].
pub type Result<T> = std::result::Result<T, ApproximationError>;

/// `value` if it is finite and positive, else an [`ApproximationError::InvalidArgument`].
pub(crate) fn positive(op: &'static str, name: &str, value: f64) -> Result<f64> {
    if value.is_finite() && value > 0.0 {
        Ok(value)
    } else {
        Err(ApproximationError::InvalidArgument {
            op,
            name: name.to_string(),
            value,
            requirement: "must be finite and positive",
        })
    }
}

/// `value` if it is finite and non-negative, else an [`ApproximationError::InvalidArgument`].
pub(crate) fn non_negative(op: &'static str, name: &str, value: f64) -> Result<f64> {
    if value.is_finite() && value >= 0.0 {
        Ok(value)
    } else {
        Err(ApproximationError::InvalidArgument {
            op,
            name: name.to_string(),
            value,
            requirement: "must be finite and non-negative",
        })
    }
}

/// Bytes of f64 parameters of a one-hidden-layer network of `width` units on `dim` inputs:
/// `width * (dim + 2) + 1` numbers (input weights, biases, output weights, output bias).
pub(crate) fn parameter_bytes(width: usize, dim: usize) -> u128 {
    (width as u128 * (dim as u128 + 2) + 1) * 8
}
