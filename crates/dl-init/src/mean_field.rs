//! Mean-field signal propagation through a deep random network (Poole et al. 2016;
//! Schoenholz et al. 2017): the **length map** and its fixed point q*, the slope chi_1, and
//! the depth scale xi_q. The correlation map and c* are in [`crate::correlation_map`]; the
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
use crate::roots::brent;

/// An activation with weight and bias variances: one point of the mean-field phase diagram.
#[derive(Clone, Debug)]
pub struct MeanField {
    activation: Activation,
    sigma_w2: f64,
    sigma_b2: f64,
}

/// Fixed points are searched for in (0, Q_MAX]; beyond it the length map is said to diverge.
/// Rounding limits how far out a fixed point can be told from divergence: L(q) - q is
/// computed with an error of ~1e-16 q, which beyond 1e12 could swamp a bias of 1e-4.
pub const Q_MAX: f64 = 1e12;
/// |L(q) - q| at or below this fraction of q counts as zero (rounding in L).
const FIXED_POINT_RTOL: f64 = 1e-14;
/// Below Q_MIN a fixed point is reported as q* = 0 (the signal dies out).
pub const Q_MIN: f64 = 1e-280;

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

    /// The fixed point q* reached by iterating the length map from q0 = 1. See [`Self::q_star_from`].
    pub fn q_star(&self) -> Result<f64> {
        self.q_star_from(1.0)
    }

    /// The fixed point q* = L(q*) that iterating the length map from `q0` reaches.
    ///
    /// Instead of iterating (which slows down without bound near criticality: for ReLU with
    /// sigma_b2 = 0 the rate is sigma_w2 / 2), the root of L(q) - q is bracketed from q0 in
    /// the direction iteration moves (up if L(q0) > q0, down otherwise: for an increasing L
    /// the iterates move monotonically towards the first fixed point on that side) by
    /// steps of 4x up or 16x down, then found by Brent's method to 1e-14 relative
    /// (|L(q) - q| <= 1e-14 q counts as a fixed point: rounding in L). A fixed point below
    /// [`Q_MIN`] is reported as 0. Errors: [`InitError::LengthMapDiverges`] if L(q) > q up
    /// to [`Q_MAX`]; [`InitError::UnstableFixedPoint`] if |L'(q*)| > 1, where iteration
    /// would not converge.
    pub fn q_star_from(&self, q0: f64) -> Result<f64> {
        positive("q0", q0)?;
        let g = |q: f64| -> Result<f64> { Ok(self.length_map(q)? - q) };
        let g0 = g(q0)?;
        let q_star = if g0.abs() <= FIXED_POINT_RTOL * q0 {
            q0
        } else if g0 > 0.0 {
            let (mut lo, mut g_lo) = (q0, g0);
            loop {
                let hi = 4.0 * lo;
                let g_hi = g(hi)?;
                if g_hi.abs() <= FIXED_POINT_RTOL * hi {
                    break hi;
                }
                if g_hi < 0.0 {
                    break brent(g, lo, hi, g_lo, g_hi, 1e-14 * hi, "fixed point of the length map")?;
                }
                if hi > Q_MAX {
                    return Err(InitError::LengthMapDiverges {
                        activation: self.activation.name(),
                        sigma_w2: self.sigma_w2,
                        sigma_b2: self.sigma_b2,
                        q_last: hi,
                        q_next: g_hi + hi,
                    });
                }
                (lo, g_lo) = (hi, g_hi);
            }
        } else {
            let (mut hi, mut g_hi) = (q0, g0);
            loop {
                let lo = hi / 16.0;
                if lo < Q_MIN {
                    // L(q) < q all the way down: the only fixed point left is q = 0 (L(0) >= 0).
                    break 0.0;
                }
                let g_lo = g(lo)?;
                if g_lo >= 0.0 {
                    break brent(g, lo, hi, g_lo, g_hi, 1e-14 * lo, "fixed point of the length map")?;
                }
                (hi, g_hi) = (lo, g_lo);
            }
        };
        let slope = self.length_map_slope(q_star)?;
        if slope.abs() > 1.0 + 1e-9 {
            return Err(InitError::UnstableFixedPoint { what: "length map", point: q_star, slope });
        }
        Ok(q_star)
    }

    /// chi_1 = sigma_w2 E[phi'(sqrt(q*) z)^2] at the fixed point q* reached from q0 = 1.
    pub fn chi_1(&self) -> Result<f64> {
        self.chi_1_at(self.q_star()?)
    }

    /// The depth scale of the length map, xi_q = -1 / log |L'(q*)| (Schoenholz et al. 2017,
    /// eq. 5): q^l - q* ~ e^{-l / xi_q}. Infinite when L'(q*) = 1 to within 1e-12.
    pub fn xi_q(&self) -> Result<f64> {
        let slope = self.length_map_slope(self.q_star()?)?;
        Ok(depth_scale(slope))
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

    /// ReLU's length map is linear: L(q) = sigma_w2 q / 2 + sigma_b2.
    #[test]
    fn relu_fixed_points_are_exact() {
        let mf = MeanField::new(Activation::Relu, 1.0, 0.3).unwrap();
        assert!((mf.q_star().unwrap() - 0.6).abs() < 1e-14);
        assert!((mf.length_map_slope(0.6).unwrap() - 0.5).abs() < 1e-13);
        assert!((mf.xi_q().unwrap() - 1.0 / 2f64.ln()).abs() < 1e-11);
        // Below He's sigma_w2 = 2 with no bias the signal dies: q* = 0, chi_1 = sigma_w2 / 2.
        let mf = MeanField::new(Activation::Relu, 1.9, 0.0).unwrap();
        assert_eq!(mf.q_star().unwrap(), 0.0);
        assert!((mf.chi_1().unwrap() - 0.95).abs() < 1e-15);
        // At He's sigma_w2 = 2 every q is a fixed point: the one reached from q0 is q0.
        let mf = MeanField::new(Activation::Relu, 2.0, 0.0).unwrap();
        assert_eq!(mf.q_star_from(3.5).unwrap(), 3.5);
        // Above it, or at it with a bias, q grows without bound.
        for (w, b) in [(2.1, 0.0), (2.0, 0.1)] {
            let err = MeanField::new(Activation::Relu, w, b).unwrap().q_star().unwrap_err();
            assert!(matches!(err, InitError::LengthMapDiverges { .. }), "{err}");
            assert!(err.to_string().contains(&format!("sigma_w2 = {w}")), "{err}");
        }
    }

    /// tanh: q* solves q = sigma_w2 E[tanh^2] + sigma_b2; check against plain iteration and
    /// L'(q*) against a central difference of L (step 1e-5: error ~ 1e-10 h^-1 rounding + h^2).
    #[test]
    fn tanh_fixed_point_matches_iteration() {
        let mf = MeanField::new(Activation::Tanh, 1.8, 0.2).unwrap();
        let q_star = mf.q_star().unwrap();
        let iterates = mf.length_map_iterates(1.0, 200).unwrap();
        assert!((iterates[200] - q_star).abs() < 1e-12, "{} vs {q_star}", iterates[200]);
        assert!((mf.length_map(q_star).unwrap() - q_star).abs() < 1e-13);
        let h = 1e-5;
        let fd = (mf.length_map(q_star + h).unwrap() - mf.length_map(q_star - h).unwrap()) / (2.0 * h);
        let slope = mf.length_map_slope(q_star).unwrap();
        assert!((fd - slope).abs() < 1e-8, "{fd} vs {slope}");
        // Schoenholz et al.'s form with phi'' = -2 tanh sech^2 agrees with the Stein form.
        let phi_phi2 =
            crate::gaussian::expect_1d(|x| x.tanh() * -2.0 * x.tanh() * (1.0 - x.tanh().powi(2)), q_star).unwrap();
        let paper = mf.chi_1().unwrap() + 1.8 * phi_phi2;
        assert!((paper - slope).abs() < 1e-12, "{paper} vs {slope}");
    }

    #[test]
    fn bad_input_is_reported() {
        for (w, b) in [(0.0, 0.1), (-1.0, 0.1), (f64::NAN, 0.1), (1.0, -0.1), (1.0, f64::INFINITY)] {
            let err = MeanField::new(Activation::Tanh, w, b).unwrap_err();
            assert!(matches!(err, InitError::InvalidParameter { .. }), "{err}");
        }
        let err = MeanField::new(Activation::Tanh, 1.0, 0.0).unwrap().q_star_from(-2.0).unwrap_err();
        assert!(err.to_string().contains("-2"), "{err}");
    }
}
