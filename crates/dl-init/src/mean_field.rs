//! Mean-field signal propagation through a deep random network (Poole et al. 2016;
//! Schoenholz et al. 2017): the **length map** and its fixed point q*, the slope chi_1, and
//! the depth scale xi_q (the fixed point and its edge cases are in
//! [`crate::length_fixed_point`]). The correlation map and c* are in [`crate::correlation_map`]; the
//! phase, the critical line and critical initialisation in [`crate::phase`].
//!
//! A fully connected network h^{l+1} = W^l phi(h^l) + b^l with W_ij ~ N(0, sigma_w2 / N) and
//! b_i ~ N(0, sigma_b2) has, as the width N -> infinity, Gaussian pre-activations whose
//! variance q^l = E[(h_i^l)^2] follows the length map
//!
//! ```text
//!   q^{l+1} = L(q^l) = sigma_w2 E[phi(sqrt(q^l) z)^2] + sigma_b2,   z ~ N(0, 1).
//! ```
//!
//! Its fixed point q* = L(q*) is the variance every input settles to. The stability of
//! gradients and of the correlation map at c = 1 is governed by
//!
//! ```text
//!   chi_1 = sigma_w2 E[phi'(sqrt(q*) z)^2],
//! ```
//!
//! and q^l approaches q* like e^{-l / xi_q} with (Schoenholz et al. 2017, eq. 5)
//!
//! ```text
//!   xi_q^{-1} = -log(chi_1 + sigma_w2 E[phi''(sqrt(q*) z) phi(sqrt(q*) z)]) = -log L'(q*).
//! ```
//!
//! L'(q) is computed without phi'': by Stein's lemma E[u phi(u) phi'(u)] = q E[phi'^2 + phi phi'']
//! for u ~ N(0, q), so L'(q) = (sigma_w2 / q) E[u phi(u) phi'(u)]. This works for custom and
//! kinked activations alike (for ReLU, phi phi'' = relu(x) delta(x) = 0).
//!
//! ```
//! use dl_init::{Activation, MeanField};
//! // ReLU with sigma_w2 = 1.5, sigma_b2 = 0.1: L(q) = 0.75 q + 0.1, so q* = 0.4 and chi_1 = 0.75.
//! let mf = MeanField::new(Activation::Relu, 1.5, 0.1)?;
//! assert!((mf.q_star()? - 0.4).abs() < 1e-12);
//! assert!((mf.chi_1()? - 0.75).abs() < 1e-12);
//! # Ok::<(), dl_init::InitError>(())
//! ```

use crate::activation::Activation;
use crate::error::{InitError, Result, non_negative, positive};
use crate::gaussian::{second_moment_dphi, second_moment_phi, stein_moment};

/// An activation with weight and bias variances: one point of the mean-field phase diagram.
#[derive(Clone, Debug)]
pub struct MeanField {
    activation: Activation,
    sigma_w2: f64,
    sigma_b2: f64,
}

impl MeanField {
    /// Checks sigma_w2 > 0 and sigma_b2 >= 0, both finite.
    pub fn new(activation: Activation, sigma_w2: f64, sigma_b2: f64) -> Result<Self> {
        positive("sigma_w2", sigma_w2)?;
        non_negative("sigma_b2", sigma_b2)?;
        Ok(MeanField { activation, sigma_w2, sigma_b2 })
    }

    /// The activation.
    pub fn activation(&self) -> &Activation {
        &self.activation
    }

    /// The weight variance sigma_w2 (weights are N(0, sigma_w2 / fan_in)).
    pub fn sigma_w2(&self) -> f64 {
        self.sigma_w2
    }

    /// The bias variance sigma_b2.
    pub fn sigma_b2(&self) -> f64 {
        self.sigma_b2
    }

    /// The length map L(q) = sigma_w2 E[phi(sqrt(q) z)^2] + sigma_b2.
    pub fn length_map(&self, q: f64) -> Result<f64> {
        Ok(self.sigma_w2 * second_moment_phi(&self.activation, q)? + self.sigma_b2)
    }

    /// The slope L'(q) = chi_1(q) + sigma_w2 E[phi'' phi] = (sigma_w2 / q) E[u phi(u) phi'(u)].
    /// At q = 0 (reached only when phi(0) = 0 and sigma_b2 = 0) it is the limit
    /// sigma_w2 E[phi'(0)^2], with one-sided values averaged at a kink.
    pub fn length_map_slope(&self, q: f64) -> Result<f64> {
        non_negative("variance q", q)?;
        if q == 0.0 {
            if self.activation.phi(0.0) != 0.0 {
                return Err(InitError::Undefined(format!(
                    "the slope of the length map of {} at q = 0 needs phi''(0) since phi(0) = {}",
                    self.activation,
                    self.activation.phi(0.0)
                )));
            }
            return Ok(self.sigma_w2 * second_moment_dphi(&self.activation, 0.0)?);
        }
        Ok(self.sigma_w2 / q * stein_moment(&self.activation, q)?)
    }

    /// chi_1 at an arbitrary variance q: sigma_w2 E[phi'(sqrt(q) z)^2].
    pub fn chi_1_at(&self, q: f64) -> Result<f64> {
        Ok(self.sigma_w2 * second_moment_dphi(&self.activation, q)?)
    }

    /// q^0, q^1 = L(q^0), ..., q^depth: the variance of each layer for an input of variance q0.
    pub fn length_map_iterates(&self, q0: f64, depth: usize) -> Result<Vec<f64>> {
        non_negative("q0", q0)?;
        let mut out = vec![q0];
        for _ in 0..depth {
            let q = self.length_map(*out.last().unwrap_or(&q0))?;
            out.push(q);
        }
        Ok(out)
    }
}

/// -1 / log|slope|, infinite for |slope| within 1e-12 of 1, 0 for slope 0.
pub(crate) fn depth_scale(slope: f64) -> f64 {
    let s = slope.abs();
    if (s - 1.0).abs() <= 1e-12 { f64::INFINITY } else { -1.0 / s.ln() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_input_is_reported() {
        for (w, b) in [(0.0, 0.1), (-1.0, 0.1), (f64::NAN, 0.1), (1.0, -0.1), (1.0, f64::INFINITY)] {
            let err = MeanField::new(Activation::Tanh, w, b).unwrap_err();
            assert!(matches!(err, InitError::InvalidParameter { .. }), "{err}");
        }
    }
}
