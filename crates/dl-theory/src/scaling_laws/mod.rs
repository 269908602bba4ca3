//! Scaling laws: fitting `L(N) = a N^(−α) + c` to losses measured over model or data sizes,
//! with bootstrap confidence intervals and an extrapolation check (the method of Kaplan,
//! McCandlish, Henighan, Brown, Chess, Child, Gray, Radford, Wu & Amodei 2020, "Scaling laws
//! for neural language models", Section 3 and Fig. 1, with the irreducible term of
//! Henighan et al. 2020).
//!
//! **The fit** ([`fit_power_law`]): non-linear least squares on the *log* of the loss,
//! `min_{a>0, α, c≥0} Σ_i (ln L_i − ln(a N_i^(−α) + c))²`, because measured losses span
//! decades and their seed-to-seed noise is roughly proportional to the loss. It starts from
//! a profile over `α` (for fixed `α` the model is linear in `(a, c)`; a weighted linear
//! least-squares solve with weights `1 / L_i²`, the first-order version of the log
//! residual, gives `(a, c)`) and is polished by [`levenberg_marquardt`] in the parameters
//! `(ln a, α, c)` with `c` kept non-negative.
//!
//! **Confidence intervals** ([`bootstrap_power_law`]): percentile bootstrap (Efron &
//! Tibshirani 1993, Ch. 13). Each replicate resamples either the **seeds** (at every size,
//! the per-seed losses with replacement, then their mean) or the **points** (the sizes
//! with replacement), refits, and records the parameters and the predictions at chosen
//! sizes; the interval is the pair of empirical quantiles at `(1 ∓ level) / 2`.
//!
//! **Extrapolation** ([`extrapolation_check`]): fit on all sizes but the largest, predict the
//! held-back one, and report the relative error and whether the observed mean falls in the
//! bootstrap interval of the prediction.
//!
//! | file | holds |
//! | --- | --- |
//! | `levenberg_marquardt` | [`levenberg_marquardt`], [`LmOptions`], [`LmResult`] (Marquardt scaling, Nielsen's damping update, box bounds) |
//! | `power_law` | [`PowerLaw`], [`fit_power_law`], [`PowerLawFitOptions`] |
//! | `bootstrap` | [`bootstrap_power_law`], [`BootstrapOptions`], [`Resampling`], [`Interval`], [`PowerLawBootstrap`], [`quantile`] |
//! | `extrapolation` | [`extrapolation_check`], [`ExtrapolationCheck`] |
//!
//! ```
//! use dl_theory::scaling_laws::{PowerLawFitOptions, fit_power_law};
//!
//! let n = [1e2, 1e3, 1e4, 1e5, 1e6];
//! let loss: Vec<f64> = n.iter().map(|&x: &f64| 3.0 * x.powf(-0.3) + 0.5).collect();
//! let fit = fit_power_law(&n, &loss, &PowerLawFitOptions::default())?;
//! assert!((fit.alpha - 0.3).abs() < 1e-6 && (fit.c - 0.5).abs() < 1e-6);
//! assert!(fit_power_law(&n[..2], &loss[..2], &PowerLawFitOptions::default()).is_err()); // 2 points, 3 parameters
//! # Ok::<(), dl_theory::scaling_laws::ScalingLawError>(())
//! ```

mod bootstrap;
mod extrapolation;
mod levenberg_marquardt;
mod power_law;

pub use bootstrap::{BootstrapOptions, Interval, PowerLawBootstrap, Resampling, bootstrap_power_law, quantile};
pub use extrapolation::{ExtrapolationCheck, extrapolation_check};
pub use levenberg_marquardt::{Evaluation, LmOptions, LmResult, levenberg_marquardt};
pub use power_law::{PowerLaw, PowerLawFitOptions, fit_power_law};

/// What went wrong in a scaling-law fit.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ScalingLawError {
    /// Two arguments whose lengths must agree do not.
    #[error("{op}: {what}: lengths {left} and {right} differ")]
    Length {
        /// The operation.
        op: &'static str,
        /// What had to agree.
        what: String,
        /// The first length.
        left: usize,
        /// The second length.
        right: usize,
    },
    /// An argument outside its domain (fewer points than parameters, a non-positive size).
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
    /// The fit did not produce finite parameters.
    #[error("{op}: the fit failed: {detail}")]
    FitFailed {
        /// The operation.
        op: &'static str,
        /// What happened.
        detail: String,
    },
}

/// Shorthand for results of this module.
pub type Result<T> = std::result::Result<T, ScalingLawError>;

/// An [`ScalingLawError::InvalidArgument`].
pub(crate) fn invalid(
    op: &'static str,
    name: &'static str,
    value: impl ToString,
    requirement: impl ToString,
) -> ScalingLawError {
    ScalingLawError::InvalidArgument { op, name, value: value.to_string(), requirement: requirement.to_string() }
}
