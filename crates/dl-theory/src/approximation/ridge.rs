//! One hidden layer in `d` dimensions: the target as a sum of **ridge functions**, each ridge
//! profile approximated by a 1-D construction.
//!
//! A one-hidden-layer network is a sum of ridge functions `c act(w . x + b)`, so every
//! constructive proof of universality in `d > 1` goes through ridge functions (Hornik 1991;
//! Leshno, Lin, Pinkus & Schocken 1993; Chen, Chen & Liu 1992). The one certified here:
//!
//! 1. the certified cosine approximation `T` of [`crate::approximation::fourier`];
//! 2. each product of cosines is a sum of ridge cosines,
//!    `prod_i cos(pi j_i t_i) = 2^-(r-1) sum_{signs} cos(pi (j_1 t_1 +- j_2 t_2 +- ...))`
//!    (`r` the number of non-zero `j_i`), so `T(t) = beta_0 + sum_p g_p(p . t)` with one
//!    **profile** `g_p(s) = sum_m a_{p,m} cos(pi m s)` per primitive integer direction `p`;
//! 3. each profile, a 1-D trigonometric polynomial with Lipschitz constant
//!    `pi sum_m m |a_{p,m}|` and second-derivative bound `pi^2 sum_m m^2 |a_{p,m}|`, is
//!    approximated on its range by the activation's 1-D construction (the sigmoid staircase,
//!    the ReLU-family interpolant) within its share `e_p` of the budget; for `sin` every
//!    ridge cosine is one unit, exactly;
//! 4. profiles whose whole amplitude `sum_m |a_{p,m}|` fits in a dropping budget are left
//!    out (their amplitude enters the certificate).
//!
//! The shares minimise the total width: a staircase needs `c_p / e_p` units
//! (`c_p = range_p Lambda_p / (2 (1 - theta))`), so `e_p ~ sqrt(c_p)`; an interpolant needs
//! `c_p e_p^(-1/2)`, so `e_p ~ c_p^(2/3)`. The split between the cosine approximation and the
//! profiles, and the dropping budget, are chosen among a few candidates by the width they
//! give. The certificate is the sum of every stage's bound.

use std::collections::BTreeMap;

use dl_layers::Activation;

use crate::approximation::certificate::Certificate;
use crate::approximation::construction::{Budget, Construction1d, check_width};
use crate::approximation::error::{ApproximationError, Result};
use crate::approximation::fourier::{CosineSeries, cosine_series, jackson_degree};
use crate::approximation::modulus::Modulus;
use crate::approximation::network::ShallowNetwork;
use crate::approximation::piecewise_linear::{RampKind, interpolation_width, ramp_interpolation};
use crate::approximation::rounding::{DoubleDouble, UNIT_ROUNDOFF, activation_lipschitz, gamma};
use crate::approximation::sigmoidal::Sigmoidal;
use crate::approximation::staircase::{sigmoid_staircase, staircase_width};
use crate::approximation::target::Target;

/// One ridge profile `g_p(s) = sum_m a_m cos(pi m s)` along the primitive direction `p`.
#[derive(Clone, Debug, PartialEq)]
pub struct RidgeProfile {
    /// The primitive integer direction (first non-zero entry positive).
    pub direction: Vec<i64>,
    /// `(m, a_m)` pairs.
    pub terms: Vec<(u64, f64)>,
}

impl RidgeProfile {
    /// `sum_m |a_m|`: the sup of the profile's oscillating part.
    pub fn amplitude(&self) -> f64 {
        self.terms.iter().map(|(_, a)| a.abs()).sum()
    }

    /// `pi sum_m m |a_m|`: its Lipschitz constant.
    pub fn lipschitz(&self) -> f64 {
        std::f64::consts::PI * self.terms.iter().map(|(m, a)| *m as f64 * a.abs()).sum::<f64>()
    }

    /// `pi^2 sum_m m^2 |a_m|`: its second-derivative bound.
    pub fn second_derivative(&self) -> f64 {
        std::f64::consts::PI.powi(2) * self.terms.iter().map(|(m, a)| (*m as f64).powi(2) * a.abs()).sum::<f64>()
    }

    /// `[s_lo, s_hi]`: the range of `p . t` for `t` in the unit cube.
    pub fn range(&self) -> (f64, f64) {
        let lo: i64 = self.direction.iter().map(|&p| p.min(0)).sum();
        let hi: i64 = self.direction.iter().map(|&p| p.max(0)).sum();
        (lo as f64, hi as f64)
    }

    /// `g_p(s)` in f64.
    pub fn eval(&self, s: f64) -> f64 {
        self.terms.iter().map(|(m, a)| a * (std::f64::consts::PI * *m as f64 * s).cos()).sum()
    }

    /// A bound on `|eval(s) - g_p(s)|` on the range: the sum's rounding and the rounding of
    /// the arguments `pi m s`.
    pub fn evaluation_error(&self) -> f64 {
        let (lo, hi) = self.range();
        let s_max = lo.abs().max(hi.abs());
        gamma(self.terms.len() + 4) * self.amplitude() + 4.0 * UNIT_ROUNDOFF * self.lipschitz() * s_max
    }
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 { a } else { gcd(b, a % b) }
}

/// Splits a cosine series into its constant and its ridge profiles (step 2 of the module
/// documentation), in a deterministic order (by direction).
pub fn ridge_profiles(series: &CosineSeries) -> (f64, Vec<RidgeProfile>) {
    let d = series.dim();
    let n1 = series.degree + 1;
    let mut constant = 0.0;
    let mut profiles: BTreeMap<Vec<i64>, BTreeMap<u64, f64>> = BTreeMap::new();
    let mut j = vec![0usize; d];
    for (flat, &beta) in series.coefficients.iter().enumerate() {
        let mut rest = flat;
        for i in (0..d).rev() {
            j[i] = rest % n1;
            rest /= n1;
        }
        let nonzero: Vec<usize> = (0..d).filter(|&i| j[i] != 0).collect();
        if nonzero.is_empty() {
            constant += beta;
            continue;
        }
        if beta == 0.0 {
            continue;
        }
        let r = nonzero.len();
        let share = beta / 2f64.powi(r as i32 - 1);
        let g = nonzero.iter().fold(0u64, |acc, &i| gcd(acc, j[i] as u64));
        for signs in 0..(1u64 << (r - 1)) {
            let mut v = vec![0i64; d];
            for (k, &i) in nonzero.iter().enumerate() {
                let negative = k > 0 && (signs >> (k - 1)) & 1 == 1;
                let ji = (j[i] as u64 / g) as i64;
                v[i] = if negative { -ji } else { ji };
            }
            *profiles.entry(v).or_default().entry(g).or_insert(0.0) += share;
        }
    }
    let profiles = profiles
        .into_iter()
        .map(|(direction, terms)| RidgeProfile {
            direction,
            terms: terms.into_iter().filter(|(_, a)| *a != 0.0).collect(),
        })
        .filter(|p| !p.terms.is_empty())
        .collect();
    (constant, profiles)
}

/// How the hidden activation builds a profile.
#[derive(Clone, Copy, Debug)]
enum Method {
    Staircase(Sigmoidal),
    Ramp(RampKind),
    Sine,
}

impl Method {
    fn of(act: Activation) -> Option<Self> {
        if let Some(s) = Sigmoidal::of(act) {
            return Some(Method::Staircase(s));
        }
        if let Some(r) = RampKind::of(act) {
            return Some(Method::Ramp(r));
        }
        matches!(act, Activation::Sin).then_some(Method::Sine)
    }
}

/// Width (and exponent `r` of `width ~ c e^-r`) a profile needs within `e`.
fn profile_width(method: Method, p: &RidgeProfile, e: f64, theta: f64) -> Result<usize> {
    let (a, b) = p.range();
    match method {
        Method::Staircase(_) => {
            staircase_width("ridge", &Modulus::Lipschitz(p.lipschitz()), a, b, (1.0 - theta) * e * (1.0 - 1e-9))
        }
        Method::Ramp(kind) => {
            let share = if matches!(kind, RampKind::Relu) { 0.0 } else { theta };
            interpolation_width(
                &Modulus::Lipschitz(p.lipschitz()),
                Some(p.second_derivative()),
                a,
                b,
                (1.0 - share) * e * (1.0 - 1.0 / 1024.0) * (1.0 - 1e-9),
            )
        }
        Method::Sine => Ok(p.terms.len()),
    }
}

/// The share `e_p` of `budget` for each kept profile: proportional to `c_p^(1/(1+r))`.
fn shares(method: Method, kept: &[&RidgeProfile], budget: f64, theta: f64) -> Vec<f64> {
    let weight = |p: &RidgeProfile| -> f64 {
        let (a, b) = p.range();
        match method {
            Method::Staircase(_) => ((b - a) * p.lipschitz() / (2.0 * (1.0 - theta))).sqrt(),
            Method::Ramp(_) => ((b - a) * (p.second_derivative() / 8.0).sqrt()).powf(2.0 / 3.0),
            Method::Sine => 1.0,
        }
    };
    let w: Vec<f64> = kept.iter().map(|p| weight(p).max(1e-300)).collect();
    let total: f64 = w.iter().sum();
    w.iter().map(|x| budget * x / total).collect()
}

/// The plan for one split: which profiles are kept, their shares, and the total width.
struct Plan {
    series: CosineSeries,
    constant: f64,
    kept: Vec<RidgeProfile>,
    shares: Vec<f64>,
    dropped_amplitude: f64,
    dropped: usize,
    width: usize,
}

/// Plans the construction for a cosine budget `e_cos` and profile budget `e_profiles`.
fn plan(
    op: &'static str,
    method: Method,
    target: &Target<'_>,
    eps: f64,
    (e_cos, e_profiles): (f64, f64),
    theta: f64,
    work_limit: u128,
) -> Result<Option<Plan>> {
    let Some(n) = jackson_degree(target, e_cos, 1 << 24)? else {
        return Ok(None);
    };
    let series = cosine_series(op, target, n, eps, work_limit)?;
    let e_profiles = e_profiles - series.coefficient_rounding;
    if e_profiles <= 0.0 {
        return Ok(None);
    }
    let (constant, profiles) = ridge_profiles(&series);
    let mut order: Vec<usize> = (0..profiles.len()).collect();
    order.sort_by(|&a, &b| profiles[a].amplitude().total_cmp(&profiles[b].amplitude()).then(a.cmp(&b)));
    let mut best: Option<(usize, usize, f64, Vec<f64>)> = None; // (width, dropped count, dropped amplitude, shares)
    for drop_fraction in [0.0, 1.0 / 16.0, 1.0 / 8.0, 1.0 / 4.0, 1.0 / 2.0] {
        let drop_budget = drop_fraction * e_profiles;
        let mut dropped = 0;
        let mut amplitude = 0.0;
        while dropped < order.len() && amplitude + profiles[order[dropped]].amplitude() <= drop_budget {
            amplitude += profiles[order[dropped]].amplitude();
            dropped += 1;
        }
        let kept: Vec<&RidgeProfile> = order[dropped..].iter().map(|&i| &profiles[i]).collect();
        let budget = e_profiles - amplitude;
        let sh = shares(method, &kept, budget, theta);
        let mut width = 0usize;
        for (p, &e) in kept.iter().zip(&sh) {
            width = width.saturating_add(profile_width(method, p, e, theta)?);
        }
        if best.as_ref().is_none_or(|b| width < b.0) {
            best = Some((width, dropped, amplitude, sh));
        }
    }
    let (width, dropped, dropped_amplitude, shares) = best.expect("at least one candidate");
    let kept = order[dropped..].iter().map(|&i| profiles[i].clone()).collect();
    Ok(Some(Plan { series, constant, kept, shares, dropped_amplitude, dropped, width }))
}

/// What the ridge construction reports besides the network.
#[derive(Clone, Debug, PartialEq)]
pub struct RidgeReport {
    /// Degree of the cosine approximation per axis.
    pub fourier_degree: usize,
    /// Ridge profiles kept (one 1-D construction each).
    pub profiles: usize,
    /// Ridge profiles dropped (their amplitude is in the certificate).
    pub dropped: usize,
}

/// Builds the certified one-hidden-layer network of the module documentation within `eps`,
/// `reserve` of it kept for f64 evaluation.
pub(crate) fn ridge_construction(
    op: &'static str,
    act: Activation,
    target: &Target<'_>,
    (eps, reserve): (f64, f64),
    theta: f64,
    max_width: usize,
    work_limit: u128,
) -> Result<(ShallowNetwork, Certificate, RidgeReport)> {
    let method = Method::of(act).ok_or_else(|| ApproximationError::Unsupported {
        op,
        detail: format!("no ridge construction for {act:?}; supported: Sigmoid, Tanh, Erf, Relu, Softplus, Elu, Sin"),
    })?;
    let budget = eps - reserve;
    // the split between the cosine approximation and the profiles: the narrowest of a few
    let splits: &[f64] = if matches!(method, Method::Sine) { &[0.9] } else { &[0.3, 0.5, 0.7] };
    let mut best: Option<Plan> = None;
    let mut last_err = None;
    for &split in splits {
        match plan(op, method, target, eps, (split * budget, (1.0 - split) * budget), theta, work_limit) {
            Ok(Some(p)) => {
                if best.as_ref().is_none_or(|b| p.width < b.width) {
                    best = Some(p);
                }
            }
            Ok(None) => {}
            Err(e) => last_err = Some(e),
        }
    }
    let Some(plan) = best else {
        return Err(last_err.unwrap_or(ApproximationError::TooLarge {
            op,
            argument: "eps",
            value: eps,
            width: usize::MAX,
            bytes: u128::MAX,
            limit: max_width,
            hint: "the cosine approximation cannot reach this eps with degree <= 2^24".into(),
        }));
    };
    check_width(
        op,
        eps,
        plan.width,
        target.dim(),
        max_width,
        "raise eps or max_width (one hidden layer in d > 1 needs many ridge units)",
    )?;
    let d = target.dim();
    let (lo, hi) = (target.lo(), target.hi());
    let lengths: Vec<f64> = (0..d).map(|i| hi[i] - lo[i]).collect();
    let mut net = ShallowNetwork::constant(act, d, 0.0);
    let mut bias = DoubleDouble::new(plan.constant);
    let mut profile_bound = 0.0;
    let mut lift_error = 0.0;
    let l_act = activation_lipschitz(act);
    for (p, &e) in plan.kept.iter().zip(&plan.shares) {
        let (s_lo, s_hi) = p.range();
        let eta = p.evaluation_error();
        let units: Construction1d = match method {
            Method::Sine => sine_units(p),
            Method::Staircase(unit) => {
                let g = |s: f64| Ok(p.eval(s));
                let b = Budget { eps: e * (1.0 - 1e-9), tail_fraction: theta, max_width, requested: eps };
                sigmoid_staircase(op, unit, &g, s_lo, s_hi, &Modulus::Lipschitz(p.lipschitz()), b)?
            }
            Method::Ramp(kind) => {
                let g = |s: f64| Ok(p.eval(s));
                let b = Budget { eps: e * (1.0 - 1e-9), tail_fraction: theta, max_width, requested: eps };
                let m = Modulus::Lipschitz(p.lipschitz());
                ramp_interpolation(op, kind, &g, (s_lo, s_hi), &m, Some(p.second_derivative()), b)?
            }
        };
        let gain = if matches!(method, Method::Sine) { 0.0 } else { units.knot_error_gain };
        profile_bound += units.exact_bound() + gain * eta;
        bias = bias.plus(units.output_bias);
        // lift act(w s + b), s = sum_i p_i (x_i - lo_i) / L_i, to act(W . x + B)
        for u in 0..units.width() {
            let (w, b, c) = (units.weights[u], units.biases[u], units.outputs[u]);
            let weights: Vec<f64> = (0..d).map(|i| w * p.direction[i] as f64 / lengths[i]).collect();
            let shift: f64 = (0..d).map(|i| w * p.direction[i] as f64 * lo[i] / lengths[i]).sum();
            let xs: f64 = (0..d).map(|i| weights[i].abs() * lo[i].abs().max(hi[i].abs())).sum();
            let shift_mag: f64 = (0..d).map(|i| (w * p.direction[i] as f64 * lo[i] / lengths[i]).abs()).sum();
            lift_error += l_act * c.abs() * (2.0 * UNIT_ROUNDOFF * xs + gamma(d + 3) * (b.abs() + shift_mag));
            net.push_unit(&weights, b - shift, c);
        }
    }
    net.output_bias = bias.value();
    let bias_rounding = bias.minus(net.output_bias).abs();
    let mut cert = Certificate::new(eps);
    cert.push("cosine approximation (Jackson)", plan.series.jackson);
    cert.push("cosine coefficients rounding", plan.series.coefficient_rounding);
    cert.push("dropped ridge profiles", plan.dropped_amplitude * (1.0 + 1e-12));
    cert.push("ridge profiles (1-D constructions)", profile_bound * (1.0 + 1e-9));
    cert.push("stored parameters", (lift_error + bias_rounding) * (1.0 + 1e-6));
    let rounding = net.rounding_bound(lo, hi);
    cert.push("f64 evaluation", rounding);
    if !cert.holds() {
        return Err(ApproximationError::Precision { op, eps, rounding: cert.total() - (eps - reserve), reserve });
    }
    let report = RidgeReport { fourier_degree: plan.series.degree, profiles: plan.kept.len(), dropped: plan.dropped };
    Ok((net, cert, report))
}

/// `sin` units for a profile: `cos(pi m s) = sin(pi m s + pi/2)`, one unit per term, exact.
fn sine_units(p: &RidgeProfile) -> Construction1d {
    let half_pi = std::f64::consts::FRAC_PI_2;
    let weights: Vec<f64> = p.terms.iter().map(|(m, _)| std::f64::consts::PI * *m as f64).collect();
    Construction1d {
        activation: Activation::Sin,
        biases: vec![half_pi; weights.len()],
        outputs: p.terms.iter().map(|(_, a)| *a).collect(),
        weights,
        output_bias: 0.0,
        terms: Vec::new(),
        knot_error_gain: 0.0,
        spacing: 0.0,
        steepness: 1.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profiles_reproduce_the_series() {
        let t = Target::new(
            |x: &[f64]| (2.0 * x[0] + x[1]).sin() + (x[0] * x[1]).cos(),
            &[0.0, -1.0],
            &[1.0, 0.5],
            vec![Modulus::lipschitz(3.0).unwrap()],
        )
        .unwrap();
        let series = cosine_series("test", &t, 9, 1.0, u128::MAX).unwrap();
        let (constant, profiles) = ridge_profiles(&series);
        for (x0, x1) in [(0.1, -0.9), (0.5, 0.0), (0.93, 0.41)] {
            let t0 = (x0 - 0.0) / 1.0;
            let t1 = (x1 + 1.0) / 1.5;
            let by_ridges: f64 = constant
                + profiles.iter().map(|p| p.eval(p.direction[0] as f64 * t0 + p.direction[1] as f64 * t1)).sum::<f64>();
            let direct = series.eval(&[x0, x1]);
            // two sums of ~200 terms of size <= 1: a few hundred ulps
            assert!((by_ridges - direct).abs() < 1e-12, "{by_ridges} vs {direct}");
        }
        // directions are primitive with a positive leading entry
        for p in &profiles {
            let g = p.direction.iter().fold(0u64, |a, &v| gcd(a, v.unsigned_abs()));
            assert_eq!(g, 1, "{:?}", p.direction);
            assert!(p.direction.iter().find(|&&v| v != 0).is_some_and(|&v| v > 0));
        }
    }
}
