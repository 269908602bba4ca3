//! **Designing activations for signal propagation**: choose the parameters of an activation
//! family so that a deep network is critical with a unit fixed point, as self-normalising
//! networks (Klambauer et al. 2017) and kernel shaping (Martens et al. 2021) do; and the
//! variance-preserving **gain** of any activation, computed from the Gaussian-expectation
//! engine rather than read from a table.
//!
//! ```
//! use dl_init::{Activation, activation_design::{gain, selu_parameters}};
//! assert!((gain(&Activation::Relu)? - 2f64.sqrt()).abs() < 1e-12);
//! let (lambda, alpha) = selu_parameters()?;
//! assert!((lambda - 1.0507009873554805).abs() < 1e-9 && (alpha - 1.6732632423543772).abs() < 1e-9);
//! # Ok::<(), dl_init::InitError>(())
//! ```

use crate::activation::Activation;
use crate::error::{InitError, Result, finite, positive};
use crate::gaussian::{mean_phi, second_moment_dphi, second_moment_phi};

/// A condition on an activation at pre-activation variance q (z ~ N(0, 1), u = sqrt(q) z)
/// in a network with weight variance sigma_w2 and bias variance sigma_b2.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Condition {
    /// q is a fixed point of the length map: sigma_w2 E[phi(u)^2] + sigma_b2 = q.
    FixedPoint,
    /// chi_1 at q equals the target: sigma_w2 E[phi'(u)^2] = target.
    Chi1(f64),
    /// The mean activation equals the target: E[phi(u)] = target.
    Mean(f64),
}

/// The network in which the conditions are imposed.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DesignTarget {
    /// Weight variance σ_w² (weights ~ N(0, σ_w² / fan_in)) of the network.
    pub sigma_w2: f64,
    /// Bias variance σ_b² of the network.
    pub sigma_b2: f64,
    /// The variance q at which the conditions hold (the intended q*).
    pub q: f64,
}

impl Default for DesignTarget {
    /// sigma_w2 = 1, sigma_b2 = 0, q* = 1.
    fn default() -> Self {
        DesignTarget { sigma_w2: 1.0, sigma_b2: 0.0, q: 1.0 }
    }
}

fn residual(act: &Activation, c: Condition, t: &DesignTarget) -> Result<f64> {
    Ok(match c {
        Condition::FixedPoint => t.sigma_w2 * second_moment_phi(act, t.q)? + t.sigma_b2 - t.q,
        Condition::Chi1(target) => t.sigma_w2 * second_moment_dphi(act, t.q)? - target,
        Condition::Mean(target) => mean_phi(act, t.q)? - target,
    })
}

/// Solves two conditions for two parameters of an activation family `family(p0, p1)` by
/// Newton's method in 2-D, with a central-difference Jacobian (step 1e-6 relative; the
/// engine's 1e-12 accuracy makes the Jacobian good to ~1e-6, enough for Newton to converge
/// to the engine's accuracy) and step halving when a step does not reduce the residual.
/// Converged when both residuals are below 1e-12.
pub fn solve_two_parameters(
    family: impl Fn(f64, f64) -> Activation,
    conditions: [Condition; 2],
    target: DesignTarget,
    initial: (f64, f64),
) -> Result<(f64, f64)> {
    positive("sigma_w2", target.sigma_w2)?;
    positive("q", target.q)?;
    finite("initial parameter", initial.0)?;
    finite("initial parameter", initial.1)?;
    let eval = |p: (f64, f64)| -> Result<[f64; 2]> {
        let act = family(p.0, p.1);
        Ok([residual(&act, conditions[0], &target)?, residual(&act, conditions[1], &target)?])
    };
    let norm = |r: [f64; 2]| r[0].hypot(r[1]);
    let mut p = initial;
    let mut r = eval(p)?;
    for _ in 0..100 {
        if r[0].abs() < 1e-12 && r[1].abs() < 1e-12 {
            return Ok(p);
        }
        let h0 = 1e-6 * p.0.abs().max(1.0);
        let h1 = 1e-6 * p.1.abs().max(1.0);
        let (rp, rm) = (eval((p.0 + h0, p.1))?, eval((p.0 - h0, p.1))?);
        let (sp, sm) = (eval((p.0, p.1 + h1))?, eval((p.0, p.1 - h1))?);
        let j = [
            [(rp[0] - rm[0]) / (2.0 * h0), (sp[0] - sm[0]) / (2.0 * h1)],
            [(rp[1] - rm[1]) / (2.0 * h0), (sp[1] - sm[1]) / (2.0 * h1)],
        ];
        let det = j[0][0] * j[1][1] - j[0][1] * j[1][0];
        if det == 0.0 || !det.is_finite() {
            return Err(InitError::NotConverged {
                what: "activation design (singular Jacobian)",
                iterations: 0,
                last: p.0,
                residual: norm(r),
            });
        }
        let d0 = (j[1][1] * r[0] - j[0][1] * r[1]) / det;
        let d1 = (-j[1][0] * r[0] + j[0][0] * r[1]) / det;
        let mut step = 1.0;
        loop {
            let trial = (p.0 - step * d0, p.1 - step * d1);
            if let Ok(rt) = eval(trial)
                && (norm(rt) < norm(r) || step < 1e-3)
            {
                (p, r) = (trial, rt);
                break;
            }
            step *= 0.5;
            if step < 1e-6 {
                return Err(InitError::NotConverged {
                    what: "activation design (line search)",
                    iterations: 0,
                    last: p.0,
                    residual: norm(r),
                });
            }
        }
    }
    Err(InitError::NotConverged { what: "activation design (Newton)", iterations: 100, last: p.0, residual: norm(r) })
}

/// SELU's (lambda, alpha): lambda * elu(x; alpha) with mean 0 and second moment 1 at
/// z ~ N(0, 1), the fixed point (mu, nu) = (0, 1) of Klambauer et al. (2017, eqs. 4-5) for
/// normalised weights (sum w = 0, sum w^2 = 1). In mean-field terms: E[phi(z)] = 0 and q* = 1
/// at sigma_w2 = 1, sigma_b2 = 0. Gives lambda = 1.0507..., alpha = 1.6732..., the
/// published constants.
pub fn selu_parameters() -> Result<(f64, f64)> {
    solve_two_parameters(
        |lambda, alpha| Activation::scaled(Activation::Elu(alpha), lambda, 0.0),
        [Condition::Mean(0.0), Condition::FixedPoint],
        DesignTarget::default(),
        (1.0, 1.5),
    )
}

/// (scale, shift) such that scale * inner(x) + shift is critical with unit fixed point at
/// sigma_w2 = 1, sigma_b2 = 0: chi_1 = E[phi'(z)^2] = 1 and q* = E[phi(z)^2] = 1.
/// The first condition fixes scale = 1 / sqrt(E[inner'(z)^2]); the second has a real
/// shift only if scale^2 Var[inner(z)] <= 1, otherwise Newton reports no convergence.
pub fn critical_unit_scale_shift(inner: &Activation) -> Result<(f64, f64)> {
    let scale0 = 1.0 / second_moment_dphi(inner, 1.0)?.sqrt();
    solve_two_parameters(
        |scale, shift| Activation::scaled(inner.clone(), scale, shift),
        [Condition::Chi1(1.0), Condition::FixedPoint],
        DesignTarget::default(),
        (scale0, 0.5),
    )
}

/// The variance-preserving gain 1 / sqrt(E[phi(z)^2]), z ~ N(0, 1): weights of variance
/// gain^2 / fan_in keep E[h^2] = 1 from layer to layer when pre-activations have unit
/// variance (sigma_w2 = gain^2 puts q* = 1 on the length map with sigma_b2 = 0). ReLU gives
/// sqrt(2), linear 1, tanh 1.5925..., where PyTorch's `calculate_gain` tabulates 5/3 for tanh
/// (a heuristic for keeping tanh out of saturation, not this fixed-point value), and 3/4
/// for SELU, whose value here is 1 by construction.
pub fn gain(act: &Activation) -> Result<f64> {
    let m2 = second_moment_phi(act, 1.0)?;
    if m2 > 0.0 {
        Ok(1.0 / m2.sqrt())
    } else {
        Err(InitError::Undefined(format!("the gain of {act} is undefined: E[phi(z)^2] = {m2}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::activation::{SELU_ALPHA, SELU_LAMBDA};

    /// The published SELU constants (Klambauer et al. 2017, eq. 14, to 16 digits), solved
    /// here from the two moment conditions; 1e-10 is the engine's accuracy times the
    /// condition number of the 2x2 system (~10).
    #[test]
    fn reproduces_selu_constants() {
        let (lambda, alpha) = selu_parameters().unwrap();
        assert!((lambda - SELU_LAMBDA).abs() < 1e-10, "lambda {lambda}");
        assert!((alpha - SELU_ALPHA).abs() < 1e-10, "alpha {alpha}");
        assert!((gain(&Activation::Selu).unwrap() - 1.0).abs() < 1e-10);
    }

    #[test]
    fn gains() {
        assert!((gain(&Activation::Relu).unwrap() - 2f64.sqrt()).abs() < 1e-14);
        assert!((gain(&Activation::Linear).unwrap() - 1.0).abs() < 1e-15);
        let g = gain(&Activation::Tanh).unwrap();
        assert!((g - 1.5925).abs() < 1e-4, "{g}");
        // Leaky ReLU: E[phi^2] = (1 + a^2) / 2, PyTorch's sqrt(2 / (1 + a^2)).
        let a: f64 = 0.01;
        assert!((gain(&Activation::LeakyRelu(a)).unwrap() - (2.0 / (1.0 + a * a)).sqrt()).abs() < 1e-14);
    }

    /// a tanh(x) + b made critical with unit fixed point: check both conditions afresh.
    #[test]
    fn critical_scaled_tanh() {
        let (scale, shift) = critical_unit_scale_shift(&Activation::Tanh).unwrap();
        let act = Activation::scaled(Activation::Tanh, scale, shift);
        let mf = crate::MeanField::new(act, 1.0, 0.0).unwrap();
        assert!((mf.length_map(1.0).unwrap() - 1.0).abs() < 1e-12);
        assert!((mf.chi_1_at(1.0).unwrap() - 1.0).abs() < 1e-12);
        assert!((mf.q_star().unwrap() - 1.0).abs() < 1e-10, "q* {}", mf.q_star().unwrap());
    }
}
