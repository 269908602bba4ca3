//! [`InitError`]: every failure of the mean-field and expectation code, carrying the
//! values that caused it. Nothing in this crate returns NaN in place of an error.

use thiserror::Error;

/// Errors of the Gaussian-expectation engine, the mean-field maps and the solvers on top.
#[derive(Clone, Debug, Error, PartialEq)]
pub enum InitError {
    /// A variance (or other parameter that must be positive / non-negative) is out of range.
    #[error("{name} must be {requirement}, got {value}")]
    InvalidParameter {
        /// The parameter's name as the caller knows it (`"sigma_w2"`, `"variance q"`, ...).
        name: &'static str,
        /// The condition it failed (`"positive and finite"`, `"non-negative and finite"`, `"finite"`).
        requirement: &'static str,
        /// The offending value.
        value: f64,
    },

    /// A 2x2 covariance that is not positive semi-definite (|q12| > sqrt(q1 q2)).
    #[error("invalid covariance: q1 = {q1}, q2 = {q2}, q12 = {q12} (need q1 > 0, q2 > 0 and q12^2 <= q1 q2)")]
    InvalidCovariance {
        /// Variance q¹ = E[(h¹)²] of the first pre-activation.
        q1: f64,
        /// Variance q² = E[(h²)²] of the second pre-activation.
        q2: f64,
        /// Covariance q¹² = E[h¹ h²] between them.
        q12: f64,
    },

    /// The activation returned a non-finite value, or the integral is not finite.
    #[error(
        "the expectation of {what} for activation {activation} is not finite at variance(s) {variances:?}: {detail}"
    )]
    NonFinite {
        /// The expectation being computed (`"phi(u)^2"`, `"phi'(u) phi'(v)"`, ...).
        what: &'static str,
        /// The activation's name ([`Activation::name`](crate::Activation::name)).
        activation: String,
        /// The Gaussian variance(s) of the integral: `[q]` in 1-D, `[q1, q2, q12]` in 2-D.
        variances: Vec<f64>,
        /// What went non-finite: the integrand at a point or the quadrature result.
        detail: String,
    },

    /// The Gaussian tail of the integrand does not decay: the expectation diverges.
    #[error(
        "the expectation of {what} for activation {activation} appears to diverge at variance(s) {variances:?}: \
         the integrand is still {tail:e} at |z| = {z_max} standard deviations"
    )]
    Diverges {
        /// The expectation being computed.
        what: &'static str,
        /// The activation's name.
        activation: String,
        /// The Gaussian variance(s) of the integral: `[q]` in 1-D, `[q1, q2, q12]` in 2-D.
        variances: Vec<f64>,
        /// The Gaussian-weighted integrand |h(±√q z_max)| pdf(z_max) at the truncation point.
        tail: f64,
        /// The truncation point of the quadrature, in standard deviations.
        z_max: f64,
    },

    /// Adaptive quadrature could not reach its tolerance.
    #[error(
        "quadrature of {what} did not converge: estimate {estimate:e} with error estimate {error:e} after {evaluations} evaluations"
    )]
    QuadratureNotConverged {
        /// The integral being computed.
        what: &'static str,
        /// The last estimate of the integral.
        estimate: f64,
        /// The quadrature's estimate of its absolute error.
        error: f64,
        /// Integrand evaluations spent before giving up.
        evaluations: usize,
    },

    /// The length map has no finite fixed point: q grows without bound.
    #[error(
        "the length map of {activation} at sigma_w2 = {sigma_w2}, sigma_b2 = {sigma_b2} has no finite fixed point: \
         q -> {q_last:e} maps to {q_next:e}, still growing"
    )]
    LengthMapDiverges {
        /// The activation's name.
        activation: String,
        /// Weight variance σ_w² (weights drawn with variance σ_w² / fan_in).
        sigma_w2: f64,
        /// Bias variance σ_b².
        sigma_b2: f64,
        /// The largest variance q bracketed before giving up (beyond [`Q_MAX`](crate::length_fixed_point::Q_MAX)).
        q_last: f64,
        /// Its image L(q_last) = σ_w² E[φ(√q_last z)²] + σ_b², still above q_last.
        q_next: f64,
    },

    /// Every variance near the starting point is a fixed point of the length map (L(q) = q
    /// over a whole range: ReLU at sigma_w2 = 2 without bias), so "the" fixed point q* does
    /// not exist.
    #[error(
        "the length map of {activation} at sigma_w2 = {sigma_w2}, sigma_b2 = {sigma_b2} has no unique fixed point: \
         L(q) = q at every q tested in [{q_low}, {q_high}], each variance is kept; q* is not unique \
         (give the input variance: q_star_from, analyze_from)"
    )]
    FixedPointNotUnique {
        /// The activation's name.
        activation: String,
        /// Weight variance σ_w².
        sigma_w2: f64,
        /// Bias variance σ_b².
        sigma_b2: f64,
        /// Lower end of the range of q tested, all found to be fixed points.
        q_low: f64,
        /// Upper end of that range.
        q_high: f64,
    },

    /// A fixed-point or root-finding procedure did not converge.
    #[error("{what} did not converge after {iterations} iterations: last iterate {last:e}, residual {residual:e}")]
    NotConverged {
        /// The procedure that failed (`"activation design (Newton)"`, a Gauss–Hermite node, ...).
        what: &'static str,
        /// Iterations performed.
        iterations: usize,
        /// The last iterate.
        last: f64,
        /// The residual at the last iterate (the procedure's own measure; NaN if none).
        residual: f64,
    },

    /// A fixed point exists but is unstable, so iterating the map does not converge to it.
    #[error(
        "{what}: the fixed point {point} is unstable (slope {slope} has magnitude above 1), iteration does not converge to it"
    )]
    UnstableFixedPoint {
        /// The map whose fixed point is unstable (`"correlation map"`, ...).
        what: &'static str,
        /// The fixed point (c* for the correlation map).
        point: f64,
        /// The map's slope at the fixed point (χ_c), of magnitude above 1.
        slope: f64,
    },

    /// No sigma_w2 makes chi_1 = 1 for this activation and bias variance.
    #[error("no critical sigma_w2 for {activation} at sigma_b2 = {sigma_b2}: {detail}")]
    NoCriticalPoint {
        /// The activation's name.
        activation: String,
        /// Bias variance σ_b² at which the critical σ_w² was sought.
        sigma_b2: f64,
        /// Why none exists (χ₁ ≥ 1 already at the smallest σ_w², the length map diverges, ...).
        detail: String,
    },

    /// A quantity is undefined for the given state (for example the correlation of units with q* = 0).
    #[error("{0}")]
    Undefined(String),

    /// An initialisation scheme cannot be applied to a parameter: names the scheme, the
    /// parameter (or layer) and what was wrong with it.
    #[error("{scheme} on {target}: {detail}")]
    Scheme {
        /// The scheme's name (`"fixup"`, or the weight scheme's name).
        scheme: String,
        /// The parameter or layer it was applied to.
        target: String,
        /// What was wrong (shape, fan, gain, ...).
        detail: String,
    },

    /// A layer of the network failed (shape errors name the layer and both shapes).
    #[error("layer error: {0}")]
    Layer(#[from] dl_layers::LayerError),

    /// An autodiff operation failed (a backward pass for gradient statistics, say).
    #[error("autodiff error: {0}")]
    Autodiff(#[from] dl_autodiff::AutodiffError),

    /// A tensor operation failed.
    #[error("tensor error: {0}")]
    Tensor(#[from] dl_tensor::TensorError),
}

impl InitError {
    /// A [`InitError::Scheme`] error.
    pub(crate) fn scheme(scheme: impl Into<String>, target: impl Into<String>, detail: impl Into<String>) -> Self {
        InitError::Scheme { scheme: scheme.into(), target: target.into(), detail: detail.into() }
    }
}

/// Shorthand for results of this crate.
pub type Result<T> = std::result::Result<T, InitError>;

/// Checks `value > 0` and finite.
pub(crate) fn positive(name: &'static str, value: f64) -> Result<f64> {
    if value > 0.0 && value.is_finite() {
        Ok(value)
    } else {
        Err(InitError::InvalidParameter { name, requirement: "positive and finite", value })
    }
}

/// Checks `value >= 0` and finite.
pub(crate) fn non_negative(name: &'static str, value: f64) -> Result<f64> {
    if value >= 0.0 && value.is_finite() {
        Ok(value)
    } else {
        Err(InitError::InvalidParameter { name, requirement: "non-negative and finite", value })
    }
}

/// Checks that a value is finite.
pub(crate) fn finite(name: &'static str, value: f64) -> Result<f64> {
    if value.is_finite() { Ok(value) } else { Err(InitError::InvalidParameter { name, requirement: "finite", value }) }
}
