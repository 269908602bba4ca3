//! The ReLU family: piecewise-linear interpolation as a one-hidden-layer network, exact for
//! ReLU and smoothed for softplus and ELU.
//!
//! With knots `t_0 < ... < t_N` (spacing `h`), values `v_i = f(t_i)`, slopes
//! `m_i = (v_i - v_{i-1}) / (t_i - t_{i-1})`,
//!
//! ```text
//! P(x) = v_0 + m_1 relu(x - t_0) + sum_{i=1}^{N-1} (m_{i+1} - m_i) relu(x - t_i)
//! ```
//!
//! is the piecewise-linear interpolant: it equals `v_i` at every knot and is linear between
//! them. Its error on a cell is at most
//!
//! ```text
//! min( omega(h/2),  M2 h^2 / 8 )          (M2 >= sup |f''|)
//! ```
//!
//! (the first by concavity of `omega`, the second the classical interpolation remainder), so
//! `N = O(eps^-1/2)` units suffice for a `C^2` target: the `O(N^-2)` rate.
//!
//! **Softplus and ELU** replace `relu(z)` by `rho(z) = act(k z) / k` with `k` a power of two
//! (so the scaled parameters are exact in f64):
//!
//! - softplus: `0 <= rho(z) - relu(z) = log(1 + e^{-k|z|}) / k`, summed over the knots
//!   `<= (2 c_max / k) (log 2 + pi^2 / (12 k h))` with `c_max` the largest slope change;
//! - ELU(alpha): `rho(z) - relu(z) = alpha (e^{kz} - 1) / k` for `z < 0`, 0 otherwise, summed
//!   `<= (alpha / k) sum_i |c_i|`.
//!
//! The first unit (the initial slope) is moved to `t_0 - (b - a)`, where on the domain it is
//! linear up to `e^{-k (b - a)}`, and the bias absorbs the shift.

use dl_layers::Activation;

use crate::approximation::certificate::CertificateTerm;
use crate::approximation::construction::{
    Budget, Construction1d, PARAMETER_SHARE, ceil_width, check_width, position_slack, uniform_knots,
};
use crate::approximation::error::{ApproximationError, Result};
use crate::approximation::modulus::Modulus;
use crate::approximation::rounding::{DoubleDouble, UNIT_ROUNDOFF, two_sum};

/// Which member of the ReLU family.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum RampKind {
    Relu,
    Softplus,
    Elu(f64),
}

impl RampKind {
    pub fn of(act: Activation) -> Option<Self> {
        match act {
            Activation::Relu => Some(RampKind::Relu),
            Activation::Softplus => Some(RampKind::Softplus),
            Activation::Elu(a) if a.is_finite() && a > 0.0 => Some(RampKind::Elu(a)),
            _ => None,
        }
    }

    fn activation(self) -> Activation {
        match self {
            RampKind::Relu => Activation::Relu,
            RampKind::Softplus => Activation::Softplus,
            RampKind::Elu(a) => Activation::Elu(a),
        }
    }
}

/// The interpolation error bound for spacing `h`.
fn interpolation_bound(modulus: &Modulus, m2: Option<f64>, h: f64) -> f64 {
    let by_modulus = modulus.eval(h / 2.0);
    match m2 {
        Some(m2) => by_modulus.min(m2 * h * h / 8.0),
        None => by_modulus,
    }
}

/// Number of cells for an interpolation error `<= e_interp` on `[a, b]`.
pub(crate) fn interpolation_width(modulus: &Modulus, m2: Option<f64>, a: f64, b: f64, e_interp: f64) -> Result<usize> {
    let slack = position_slack(a, b);
    let by_modulus = match modulus.largest_delta_within(e_interp, b - a)? {
        Some(delta) => 2.0 * (delta - 2.0 * slack),
        None => 0.0,
    };
    let by_m2 = match m2 {
        Some(m2) if m2 > 0.0 => (8.0 * e_interp / m2).sqrt() - 4.0 * slack,
        Some(_) => b - a,
        None => 0.0,
    };
    let h = by_modulus.max(by_m2);
    if h <= 0.0 {
        return Ok(usize::MAX);
    }
    Ok(ceil_width((b - a) / h))
}

/// The ramp construction for `kind` on `[a, b]` within `budget.eps` (exact arithmetic).
pub(crate) fn ramp_interpolation(
    op: &'static str,
    kind: RampKind,
    g: &dyn Fn(f64) -> Result<f64>,
    (a, b): (f64, f64),
    modulus: &Modulus,
    m2: Option<f64>,
    budget: Budget,
) -> Result<Construction1d> {
    let smoothing_share = if kind == RampKind::Relu { 0.0 } else { budget.tail_fraction };
    let e_interp = (1.0 - smoothing_share) * budget.eps * (1.0 - PARAMETER_SHARE);
    let e_smooth = smoothing_share * budget.eps;
    let e_param = budget.eps * PARAMETER_SHARE * (1.0 - smoothing_share);
    let mut n = interpolation_width(modulus, m2, a, b, e_interp)?;
    check_width(
        op,
        budget.requested,
        n,
        1,
        budget.max_width,
        "raise eps or max_width (interpolation needs min(omega(h/2), M2 h^2/8) <= eps)",
    )?;
    let slack = position_slack(a, b);
    let (knots, h_max) = loop {
        let t = uniform_knots(a, b, n);
        let h_max = (1..=n).map(|i| t[i] - t[i - 1]).fold(0.0, f64::max) * (1.0 + 4.0 * UNIT_ROUNDOFF) + 2.0 * slack;
        if interpolation_bound(modulus, m2, h_max) <= e_interp {
            break (t, h_max);
        }
        n += 1;
        check_width(op, budget.requested, n, 1, budget.max_width, "raise eps or max_width")?;
    };
    let h_min = (1..=n).map(|i| knots[i] - knots[i - 1]).fold(f64::INFINITY, f64::min) * (1.0 - 4.0 * UNIT_ROUNDOFF);
    let values: Vec<f64> = knots.iter().map(|&t| g(t)).collect::<Result<_>>()?;
    let slopes: Vec<f64> = (1..=n).map(|i| (values[i] - values[i - 1]) / (knots[i] - knots[i - 1])).collect();
    // coefficients: c_0 = m_1 (at t_0, or shifted left), c_i = m_{i+1} - m_i
    let mut coefs = Vec::with_capacity(n);
    coefs.push(slopes[0]);
    for i in 1..n {
        coefs.push(slopes[i] - slopes[i - 1]);
    }
    let c_max = coefs[1..].iter().fold(0.0f64, |m, c| m.max(c.abs()));
    let c_sum: f64 = coefs[1..].iter().map(|c| c.abs()).sum::<f64>() * (1.0 + 1e-9);
    let shift = b - a;
    let first_knot = if kind == RampKind::Relu { knots[0] } else { knots[0] - shift };
    // the smoothing term as a function of k (units with all |c| = 1 give the knot-error gain)
    let smoothing = |k: f64, c_max: f64, c_sum: f64, c_first: f64| -> f64 {
        match kind {
            RampKind::Relu => 0.0,
            RampKind::Softplus => {
                (2.0 * c_max / k) * (std::f64::consts::LN_2 + std::f64::consts::PI.powi(2) / (12.0 * k * h_min))
                    + c_first * (-k * shift * (1.0 - 4.0 * UNIT_ROUNDOFF)).exp().ln_1p() / k
            }
            RampKind::Elu(alpha) => alpha * c_sum / k,
        }
        .max(0.0)
            * (1.0 + 1e-9)
    };
    let k = if kind == RampKind::Relu {
        1.0
    } else {
        let mut k = 1.0f64;
        while smoothing(k, c_max, c_sum, coefs[0].abs()) > e_smooth {
            k *= 2.0;
            if k > 1e300 {
                return Err(ApproximationError::Numerical {
                    op,
                    detail: "no finite sharpness meets the smoothing budget".into(),
                });
            }
        }
        k
    };
    // units act(k x - k t_i) with outputs c_i / k (k a power of two: both exact)
    let mut unit_knots = knots[..n].to_vec();
    unit_knots[0] = first_knot;
    let weights = vec![k; n];
    let biases: Vec<f64> = unit_knots.iter().map(|t| -k * t).collect();
    let outputs: Vec<f64> = coefs.iter().map(|c| c / k).collect();
    // bias: v_0 - c_0 (t_0 - first_knot)
    let (gap_hi, gap_lo) = two_sum(knots[0], -first_knot);
    let bias_dd = DoubleDouble::new(values[0]).plus_product(-coefs[0], gap_hi).plus_product(-coefs[0], gap_lo);
    let output_bias = bias_dd.value();
    // the exact-real ReLU skeleton at the knots, by the recurrence V_i = V_{i-1} + S_i (t_i - t_{i-1})
    let mut v = DoubleDouble::new(output_bias).plus_product(coefs[0], gap_hi).plus_product(coefs[0], gap_lo);
    let mut knot_error = v.minus(values[0]).abs();
    let mut slope = DoubleDouble::new(0.0);
    let mut magnitude = 0.0;
    for i in 1..=n {
        slope = slope.plus(coefs[i - 1]);
        let (dt_hi, dt_lo) = two_sum(knots[i], -knots[i - 1]);
        v = v.plus_product(slope.hi, dt_hi).plus_product(slope.hi, dt_lo).plus_product(slope.lo, dt_hi);
        magnitude += (slope.hi * dt_hi).abs();
        knot_error = knot_error.max(v.minus(values[i]).abs());
    }
    // double-double recurrence: relative error ~ u^2 per step
    let parameters = knot_error * (1.0 + 1e-6)
        + 8.0 * (n as f64 + 1.0) * UNIT_ROUNDOFF * UNIT_ROUNDOFF * (magnitude + values[0].abs());
    if parameters > e_param {
        return Err(ApproximationError::Precision {
            op,
            eps: budget.requested,
            rounding: parameters,
            reserve: e_param,
        });
    }
    let smooth = smoothing(k, c_max, c_sum, coefs[0].abs());
    // knot errors eta move the skeleton by eta and the slope changes by <= 4 eta / h_min each
    let gain = 1.0 + smoothing(k, 4.0 / h_min, 4.0 * n as f64 / h_min, 2.0 / h_min);
    let mut terms = vec![CertificateTerm {
        name: "interpolation min(omega(h/2), M2 h^2/8)",
        value: interpolation_bound(modulus, m2, h_max),
    }];
    if kind != RampKind::Relu {
        terms.push(CertificateTerm { name: "smoothing of the ReLU kinks", value: smooth });
    }
    terms.push(CertificateTerm { name: "stored parameters", value: parameters });
    Ok(Construction1d {
        activation: kind.activation(),
        weights,
        biases,
        outputs,
        output_bias,
        terms,
        knot_error_gain: gain,
        spacing: (b - a) / n as f64,
        steepness: k,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::approximation::network::ShallowNetwork;

    fn build(kind: RampKind, eps: f64) -> (Construction1d, ShallowNetwork) {
        let m = Modulus::lipschitz(3.0).unwrap();
        let g = |x: f64| Ok((3.0 * x).sin());
        let budget = Budget { eps, tail_fraction: 0.125, max_width: 1 << 20, requested: eps };
        let c = ramp_interpolation("test", kind, &g, (0.0, 1.0), &m, Some(9.0), budget).unwrap();
        let mut net = ShallowNetwork::constant(kind.activation(), 1, c.output_bias);
        for i in 0..c.width() {
            net.push_unit(&[c.weights[i]], c.biases[i], c.outputs[i]);
        }
        (c, net)
    }

    #[test]
    fn relu_width_follows_the_second_derivative() {
        // h = sqrt(8 e / M2) with e = eps (1 - 2^-10): N = ceil(1 / h)
        let (c, _) = build(RampKind::Relu, 1e-4);
        let h = (8.0 * 1e-4 * (1.0 - 1.0 / 1024.0) / 9.0f64).sqrt();
        assert_eq!(c.width(), (1.0 / h).ceil() as usize);
    }

    #[test]
    fn every_ramp_stays_within_its_exact_bound() {
        for kind in [RampKind::Relu, RampKind::Softplus, RampKind::Elu(1.0)] {
            let (c, net) = build(kind, 1e-3);
            let worst = (0..=20_000)
                .map(|i| i as f64 / 20_000.0)
                .map(|x| (net.eval_direct(&[x]) - (3.0 * x).sin()).abs())
                .fold(0.0, f64::max);
            assert!(worst <= c.exact_bound(), "{kind:?}: {worst} > {}", c.exact_bound());
        }
    }
}
