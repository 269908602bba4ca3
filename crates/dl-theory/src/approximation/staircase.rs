//! Cybenko's construction made explicit: a continuous function on `[a, b]` as a staircase of
//! steep sigmoids, with a certified sup-norm error (Cybenko 1989 proved density without a
//! construction; the staircase is the constructive 1-D argument behind it, e.g. Chen, Chen &
//! Liu 1992).
//!
//! With `N` cells of width `h = (b - a) / N`, knots `t_i = a + i h`, thresholds at the cell
//! midpoints `s_i = (t_{i-1} + t_i) / 2` and a sigmoidal step `u` of steepness `k`,
//!
//! ```text
//! N(x) = f(t_0) + sum_{i=1}^{N} (f(t_i) - f(t_{i-1})) u(k (x - s_i)).
//! ```
//!
//! For `x` in cell `i` the network is a convex combination of `f(t_{i-1})` and `f(t_i)`
//! (the far knot weighted at most 1/2) plus the tails of the other units, so for a concave
//! modulus `omega` (derivation in `docs/approximation.md`):
//!
//! ```text
//! |N(x) - f(x)| <= omega(h/2)                                   (discretisation)
//!                + 2 max_i |f(t_i) - f(t_{i-1})| (T(k h/2) + (1/(k h)) int_{k h/2}^inf T)   (tails)
//! ```
//!
//! **Width.** `N = ceil((b - a) / (2 delta))` with `delta` the largest distance at which
//! `omega(delta) <= (1 - theta) eps` (`theta` the tail fraction, 1/8 by default):
//! `N = ceil(L (b - a) / (2 (1 - theta) eps))` for a Lipschitz target.
//! **Steepness.** The smallest `k` (by doubling, then bisection) at which the tail term is
//! at most `theta eps` (less the small share kept for the stored parameters).

use crate::approximation::certificate::CertificateTerm;
use crate::approximation::construction::{
    Budget, Construction1d, PARAMETER_SHARE, ceil_width, check_width, position_slack, uniform_knots,
};
use crate::approximation::error::{ApproximationError, Result};
use crate::approximation::modulus::Modulus;
use crate::approximation::rounding::{DoubleDouble, UNIT_ROUNDOFF, two_sum};
use crate::approximation::sigmoidal::Sigmoidal;

/// The number of steps the staircase needs on `[a, b]` for a discretisation error
/// `omega(h/2) <= e_disc`.
pub(crate) fn staircase_width(op: &'static str, modulus: &Modulus, a: f64, b: f64, e_disc: f64) -> Result<usize> {
    let slack = position_slack(a, b);
    let Some(delta) = modulus.largest_delta_within(e_disc, b - a)? else {
        return Ok(usize::MAX);
    };
    let half = delta - 2.0 * slack;
    if half <= 0.0 {
        return Err(ApproximationError::Precision { op, eps: e_disc, rounding: slack, reserve: delta });
    }
    Ok(ceil_width((b - a) / (2.0 * half)))
}

/// The staircase of `unit` steps approximating `g` on `[a, b]` within `budget.eps` in exact
/// arithmetic (see the module documentation).
pub(crate) fn sigmoid_staircase(
    op: &'static str,
    unit: Sigmoidal,
    g: &dyn Fn(f64) -> Result<f64>,
    a: f64,
    b: f64,
    modulus: &Modulus,
    budget: Budget,
) -> Result<Construction1d> {
    let theta = budget.tail_fraction;
    let e_disc = (1.0 - theta) * budget.eps;
    let e_tail = theta * budget.eps * (1.0 - PARAMETER_SHARE);
    let e_param = theta * budget.eps * PARAMETER_SHARE;
    let mut n = staircase_width(op, modulus, a, b, e_disc)?;
    check_width(
        op,
        budget.requested,
        n,
        1,
        budget.max_width,
        "raise eps or max_width (the staircase needs omega(h/2) <= (1 - theta) eps)",
    )?;
    let slack = position_slack(a, b);
    // the knot positions are rounded: grow n until the measured half-cells pass
    let (knots, thresholds, rho) = loop {
        let t = uniform_knots(a, b, n);
        let s: Vec<f64> = (1..=n).map(|i| t[i - 1] + 0.5 * (t[i] - t[i - 1])).collect();
        let rho = (1..=n).map(|i| (t[i] - s[i - 1]).max(s[i - 1] - t[i - 1])).fold(0.0, f64::max);
        let rho = rho * (1.0 + 4.0 * UNIT_ROUNDOFF) + slack;
        if modulus.eval(rho) <= e_disc || n == 0 {
            break (t, s, rho);
        }
        n += 1;
        check_width(op, budget.requested, n, 1, budget.max_width, "raise eps or max_width")?;
    };
    let values: Vec<f64> = knots.iter().map(|&t| g(t)).collect::<Result<_>>()?;
    // steps and the exact error of each stored difference
    let mut steps = Vec::with_capacity(n);
    let mut step_errors = 0.0;
    for i in 1..=n {
        let (d, e) = two_sum(values[i], -values[i - 1]);
        steps.push(d);
        step_errors += e.abs();
    }
    let c_max = steps.iter().fold(0.0f64, |m, d| m.max(d.abs())) * (1.0 + UNIT_ROUNDOFF);
    // distances from a cell's ends to its threshold, and between thresholds
    let a_min = (1..=n)
        .map(|i| (knots[i] - thresholds[i - 1]).min(thresholds[i - 1] - knots[i - 1]))
        .fold(f64::INFINITY, f64::min)
        * (1.0 - 4.0 * UNIT_ROUNDOFF)
        - slack;
    let g_min = (1..n).map(|i| thresholds[i] - thresholds[i - 1]).fold(f64::INFINITY, f64::min)
        * (1.0 - 4.0 * UNIT_ROUNDOFF)
        - 2.0 * slack;
    if a_min <= 0.0 || (n > 1 && g_min <= 0.0) {
        return Err(ApproximationError::Precision {
            op,
            eps: budget.requested,
            rounding: slack,
            reserve: a_min.max(0.0),
        });
    }
    let g_min = if n > 1 { g_min } else { f64::INFINITY };
    let tails = |k: f64| 2.0 * c_max * unit.tail_sum(k * a_min, k * g_min);
    let k = if c_max == 0.0 {
        1.0 / a_min
    } else {
        let mut hi = 1.0 / a_min;
        while tails(hi) > e_tail {
            hi *= 2.0;
            if !hi.is_finite() {
                return Err(ApproximationError::Numerical {
                    op,
                    detail: "no finite steepness meets the tail budget".into(),
                });
            }
        }
        let mut lo = hi / 2.0;
        for _ in 0..60 {
            let mid = 0.5 * (lo + hi);
            if tails(mid) <= e_tail {
                hi = mid;
            } else {
                lo = mid;
            }
        }
        hi
    };
    // units: act(k x - k s_i) with output weight step / (hi - lo); bias makes the left limit f(t_0)
    let (lo_act, hi_act) = unit.limits();
    let scale = hi_act - lo_act; // 1 or 2: dividing by it is exact
    let outputs: Vec<f64> = steps.iter().map(|d| d / scale).collect();
    let biases: Vec<f64> = thresholds.iter().map(|s| -k * s).collect();
    let mut sum_out = DoubleDouble::new(0.0);
    for &c in &outputs {
        sum_out = sum_out.plus(c);
    }
    // c_0 = f(t_0) - lo * sum_i c_i
    let mut c0 = DoubleDouble::new(values[0]);
    c0 = c0.plus_dd(DoubleDouble { hi: -lo_act * sum_out.hi, lo: -lo_act * sum_out.lo });
    let output_bias = c0.value();
    // V_0 = c_0 + lo sum_i c_i (exact reals) against f(t_0)
    let v0 = DoubleDouble::new(output_bias).plus_dd(DoubleDouble { hi: lo_act * sum_out.hi, lo: lo_act * sum_out.lo });
    let e0 = v0.minus(values[0]).abs();
    let parameters =
        (e0 + step_errors * (1.0 + 1e-6)) * (1.0 + 1e-6) + (n as f64) * UNIT_ROUNDOFF * UNIT_ROUNDOFF * c_max;
    if parameters > e_param {
        return Err(ApproximationError::Precision {
            op,
            eps: budget.requested,
            rounding: parameters,
            reserve: e_param,
        });
    }
    let tail_sum = if c_max == 0.0 { 0.0 } else { unit.tail_sum(k * a_min, k * g_min) };
    Ok(Construction1d {
        activation: unit.activation(),
        weights: vec![k; n],
        biases,
        outputs,
        output_bias,
        terms: vec![
            CertificateTerm { name: "step discretisation omega(h/2)", value: modulus.eval(rho) },
            CertificateTerm { name: "sigmoid tails", value: if c_max == 0.0 { 0.0 } else { tails(k) } },
            CertificateTerm { name: "stored parameters", value: parameters },
        ],
        knot_error_gain: 1.0 + 4.0 * tail_sum,
        spacing: (b - a) / n as f64,
        steepness: k,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::approximation::network::ShallowNetwork;

    fn build(unit: Sigmoidal, f: fn(f64) -> f64, l: f64, eps: f64) -> (Construction1d, ShallowNetwork) {
        let m = Modulus::lipschitz(l).unwrap();
        let g = |x: f64| Ok(f(x));
        let c = sigmoid_staircase(
            "test",
            unit,
            &g,
            0.0,
            1.0,
            &m,
            Budget { eps, tail_fraction: 0.125, max_width: 1 << 20, requested: eps },
        )
        .unwrap();
        let mut net = ShallowNetwork::constant(unit.activation(), 1, c.output_bias);
        for i in 0..c.width() {
            net.push_unit(&[c.weights[i]], c.biases[i], c.outputs[i]);
        }
        (c, net)
    }

    #[test]
    fn width_follows_the_lipschitz_formula() {
        // N = ceil(L (b - a) / (2 (1 - theta) eps)) = ceil(3 / (2 * 0.875 * 0.01)) = 172
        let (c, _) = build(Sigmoidal::Logistic, |x| 3.0 * x, 3.0, 0.01);
        assert_eq!(c.width(), 172);
        assert!(c.exact_bound() <= 0.01);
    }

    #[test]
    fn certified_in_exact_terms_for_every_unit() {
        for unit in [Sigmoidal::Logistic, Sigmoidal::Tanh, Sigmoidal::Erf] {
            let (c, net) = build(unit, |x| (x - 0.3).abs(), 1.0, 0.02);
            let bound = c.exact_bound();
            // a dense grid plus the thresholds and knots themselves
            let mut worst = 0.0f64;
            for i in 0..=20_000 {
                let x = i as f64 / 20_000.0;
                worst = worst.max((net.eval_direct(&[x]) - (x - 0.3).abs()).abs());
            }
            assert!(worst <= bound, "{unit:?}: measured {worst} above the bound {bound}");
            // the discretisation term is omega(h/2) = h/2 and the measured error reaches most of it
            assert!(worst > 0.5 * c.spacing / 2.0, "{unit:?}: {worst} vs h/2 = {}", c.spacing / 2.0);
        }
    }
}
