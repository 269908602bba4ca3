//! What every 1-D construction returns ([`Construction1d`]) and the budget it is built
//! within ([`Budget`]); the knots shared by the staircase and the interpolants.

use dl_layers::Activation;

use crate::approximation::certificate::CertificateTerm;
use crate::approximation::error::{ApproximationError, Result, parameter_bytes};
use crate::approximation::rounding::UNIT_ROUNDOFF;

/// How much of the error budget a 1-D construction may use, and how wide it may get.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Budget {
    /// The bound the construction's exact-arithmetic terms must stay within.
    pub eps: f64,
    /// The fraction of `eps` given to smoothing (sigmoid tails, softplus/ELU deviation).
    pub tail_fraction: f64,
    /// The largest width allowed.
    pub max_width: usize,
    /// The accuracy the caller asked for (named in refusals).
    pub requested: f64,
}

/// Part of a budget's smoothing share kept for the stored-parameter term (`2^-10`).
pub(crate) const PARAMETER_SHARE: f64 = 1.0 / 1024.0;

/// A 1-D network in the variable `s` on `[a, b]`, `c_0 + sum_i c_i act(w_i s + b_i)`, with
/// the terms of its exact-arithmetic certificate (f64 evaluation is added by the caller,
/// once the network is assembled).
#[derive(Clone, Debug)]
pub(crate) struct Construction1d {
    pub activation: Activation,
    pub weights: Vec<f64>,
    pub biases: Vec<f64>,
    pub outputs: Vec<f64>,
    pub output_bias: f64,
    pub terms: Vec<CertificateTerm>,
    /// If every knot value is off by at most `eta`, the network moves by at most
    /// `knot_error_gain * eta`.
    pub knot_error_gain: f64,
    /// Knot spacing `h`.
    pub spacing: f64,
    /// Steepness (sigmoid slope `k`, or the softplus/ELU sharpness), 1 for ReLU.
    pub steepness: f64,
}

impl Construction1d {
    /// Sum of the exact-arithmetic terms.
    pub fn exact_bound(&self) -> f64 {
        self.terms.iter().map(|t| t.value).sum()
    }

    /// Number of hidden units.
    pub fn width(&self) -> usize {
        self.biases.len()
    }
}

/// The uniform knots `t_i = a + (b - a) i / n`, `i = 0..=n`, with `t_n = b` exactly
/// (non-decreasing in f64 because rounding is monotone).
pub(crate) fn uniform_knots(a: f64, b: f64, n: usize) -> Vec<f64> {
    let mut t: Vec<f64> = (0..=n).map(|i| a + (b - a) * (i as f64 / n as f64)).collect();
    t[n] = b;
    t
}

/// The slack for positions on `[a, b]`: a few ulps of the largest coordinate.
pub(crate) fn position_slack(a: f64, b: f64) -> f64 {
    8.0 * UNIT_ROUNDOFF * a.abs().max(b.abs()).max(b - a)
}

/// Refuses a width above the limit, naming `eps` and the bytes the parameters would take.
pub(crate) fn check_width(
    op: &'static str,
    eps: f64,
    width: usize,
    dim: usize,
    max_width: usize,
    hint: &str,
) -> Result<()> {
    if width > max_width {
        return Err(ApproximationError::TooLarge {
            op,
            argument: "eps",
            value: eps,
            width,
            bytes: parameter_bytes(width, dim),
            limit: max_width,
            hint: hint.to_string(),
        });
    }
    Ok(())
}

/// `ceil(x)` as a width, saturating at `usize::MAX` (for infinite or huge `x`).
pub(crate) fn ceil_width(x: f64) -> usize {
    if x.is_nan() || x >= usize::MAX as f64 { usize::MAX } else { x.ceil().max(1.0) as usize }
}
