//! The **fixed point of the length map**, q* = L(q*), with its three edge cases named
//! instead of rounded into numbers (Poole et al. 2016; Schoenholz et al. 2017).
//!
//! Iterating L(q) = sigma_w2 E[phi(sqrt(q) z)^2] + sigma_b2 from an input variance q0 ends in
//! one of four ways:
//!
//! | outcome | when | example |
//! | --- | --- | --- |
//! | [`LengthFixedPoint::Positive`] | a fixed point q* > 0 on the side iteration moves to | tanh with sigma_b2 > 0 |
//! | [`LengthFixedPoint::Zero`] | L(0) = 0 and L(q) < q all the way down: the signal dies, q* = 0 | tanh with sigma_w2 <= 1, sigma_b2 = 0 |
//! | [`LengthFixedPoint::EveryQ`] | L(q) = q around q0: every variance is a fixed point | ReLU at sigma_w2 = 2, sigma_b2 = 0 |
//! | [`InitError::LengthMapDiverges`] | L(q) > q up to [`Q_MAX`]: no finite fixed point | ReLU at sigma_w2 = 2, sigma_b2 > 0 (q^l = q0 + l sigma_b2) |
//!
//! **Zero at criticality.** For tanh at sigma_w2 = 1 (erf at pi / 4) without bias,
//! L(q) = q - 2 q^2 + O(q^3): q^l decays to 0 only like 1 / (2 l), and below q ~ 1e-16 the
//! difference L(q) - q is smaller than the rounding of L(q). A search that accepts a sign
//! change there reports a spurious q* ~ 2^-56. Where L(0) = 0 the search therefore accepts
//! a sign change of L(q) - q only when it is resolved (|L(q) - q| > 1e-14 q); an unresolved
//! one is rounding of a map that is the identity to first order, and q* = 0.
//!
//! **Divergence with a bias.** For ReLU at sigma_w2 = 2, L(q) - q = sigma_b2 exactly. The
//! difference is computed as (sigma_w2 E[phi^2] - q) + sigma_b2, the bias added after the
//! cancellation, so it is not lost to rounding of q (at q = 1e12 one ulp is 1.2e-4), and
//! only a sign change of L(q) - q ends the upward search: a fixed point is never accepted
//! because |L(q) - q| is small relative to q.
//!
//! **Every q.** For positively homogeneous activations (ReLU, leaky ReLU, linear) L(q) / q
//! does not depend on q; at the critical sigma_w2 without bias every variance is kept.
//! [`MeanField::q_star`] then fails with [`InitError::FixedPointNotUnique`] rather than
//! returning its starting point; [`MeanField::q_star_from`] returns the q0 it is given (the
//! variance the iterates keep), and [`MeanField::chi_1`] is still defined when chi_1 is the
//! same at every fixed point (it is sigma_w2 / 2 for ReLU).
//!
//! ```
//! use dl_init::{Activation, InitError, LengthFixedPoint, MeanField};
//! // tanh at LeCun's sigma_w2 = 1 without bias: the signal dies, q* = 0 exactly.
//! let mf = MeanField::new(Activation::Tanh, 1.0, 0.0)?;
//! assert_eq!(mf.length_fixed_point()?, LengthFixedPoint::Zero);
//! assert_eq!(mf.q_star()?, 0.0);
//! // ReLU at He's sigma_w2 = 2: every q is a fixed point, chi_1 = 1 at all of them.
//! let he = MeanField::new(Activation::Relu, 2.0, 0.0)?;
//! assert!(matches!(he.q_star(), Err(InitError::FixedPointNotUnique { .. })));
//! assert_eq!(he.q_star_from(3.5)?, 3.5);
//! assert_eq!(he.chi_1()?, 1.0);
//! // ... and with a bias q grows by sigma_b2 per layer: no fixed point.
//! let biased = MeanField::new(Activation::Relu, 2.0, 1e-4)?;
//! assert!(matches!(biased.q_star(), Err(InitError::LengthMapDiverges { .. })));
//! # Ok::<(), dl_init::InitError>(())
//! ```

use crate::error::{InitError, Result, positive};
use crate::gaussian::second_moment_phi;
use crate::mean_field::MeanField;
use crate::roots::brent;

/// Fixed points are searched for in (0, Q_MAX]; beyond it the length map is said to diverge.
/// L(q) - q is computed with a rounding error of ~1e-16 q (more with quadrature), so beyond
/// 1e12 a fixed point held there only by a bias below 1e-4 could not be told from divergence.
pub const Q_MAX: f64 = 1e12;
/// Below Q_MIN a fixed point is reported as q* = 0 (the signal dies out).
pub const Q_MIN: f64 = 1e-280;
/// |L(q) - q| at or below this fraction of q is within the rounding of L (closed forms reach
/// ~1e-16, Gauss–Hermite quadrature ~1e-15 relative).
pub const FIXED_POINT_RTOL: f64 = 1e-14;

/// Where iterating the length map from a starting variance q0 ends (divergence is the
/// error [`InitError::LengthMapDiverges`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum LengthFixedPoint {
    /// A fixed point q* > 0 that iteration from q0 reaches (|L'(q*)| <= 1).
    Positive(f64),
    /// q* = 0, the degenerate fixed point: L(0) = 0 (phi(0) = 0 and sigma_b2 = 0) and
    /// L(q) < q between 0 and q0, so every input's pre-activations shrink to zero. The
    /// correlation between inputs (c*, chi_c, xi_c) is undefined there.
    Zero,
    /// L(q) = q at q0 / 4, q0 and 4 q0 (to [`FIXED_POINT_RTOL`]): every variance near q0 is a
    /// fixed point, so the one reached is q0 itself and q* is not unique.
    EveryQ {
        /// The starting variance, which iteration keeps.
        q0: f64,
    },
}

impl LengthFixedPoint {
    /// The variance the iterates settle at: q*, 0, or (for [`Self::EveryQ`]) q0 itself.
    pub fn reached(&self) -> f64 {
        match *self {
            LengthFixedPoint::Positive(q) => q,
            LengthFixedPoint::Zero => 0.0,
            LengthFixedPoint::EveryQ { q0 } => q0,
        }
    }

    /// q* when it does not depend on the starting point; `None` for [`Self::EveryQ`].
    pub fn unique(&self) -> Option<f64> {
        match *self {
            LengthFixedPoint::EveryQ { .. } => None,
            fp => Some(fp.reached()),
        }
    }

    /// True for the degenerate fixed point q* = 0.
    pub fn is_zero(&self) -> bool {
        matches!(self, LengthFixedPoint::Zero)
    }
}

impl MeanField {
    /// L(q) - q, computed as (sigma_w2 E[phi^2] - q) + sigma_b2 so that the bias survives
    /// the cancellation at large q.
    fn length_excess(&self, q: f64) -> Result<f64> {
        Ok((self.sigma_w2() * second_moment_phi(self.activation(), q)? - q) + self.sigma_b2())
    }

    /// Where iterating the length map from q0 = 1 ends. See [`Self::length_fixed_point_from`].
    pub fn length_fixed_point(&self) -> Result<LengthFixedPoint> {
        self.length_fixed_point_from(1.0)
    }

    /// Where iterating the length map from `q0` ends: a positive fixed point, the degenerate
    /// q* = 0, or every q (see the module documentation).
    ///
    /// Instead of iterating (which slows down without bound near criticality: for ReLU with
    /// sigma_b2 = 0 the rate is sigma_w2 / 2), the root of L(q) - q is bracketed from q0 in
    /// the direction iteration moves (up if L(q0) > q0, down otherwise: for an increasing L
    /// the iterates move monotonically towards the first fixed point on that side) by
    /// steps of 4x up or 16x down, then found by Brent's method to 1e-14 relative. Where
    /// L(0) = 0, a sign change of L(q) - q below the rounding of L is not a root (see the
    /// module documentation); a fixed point below [`Q_MIN`] is q* = 0.
    ///
    /// Errors: [`InitError::LengthMapDiverges`] if L(q) > q up to [`Q_MAX`];
    /// [`InitError::UnstableFixedPoint`] if |L'(q*)| > 1, where iteration would not converge.
    pub fn length_fixed_point_from(&self, q0: f64) -> Result<LengthFixedPoint> {
        positive("q0", q0)?;
        let zero_is_fixed = self.sigma_b2() == 0.0 && self.activation().phi(0.0) == 0.0;
        let resolved = |q: f64, g: f64| g.abs() > FIXED_POINT_RTOL * q;
        let g = |q: f64| self.length_excess(q);
        let g0 = g(q0)?;
        let fixed_point = if !resolved(q0, g0) {
            let (below, above) = (q0 / 4.0, 4.0 * q0);
            if !resolved(below, g(below)?) && !resolved(above, g(above)?) {
                return Ok(LengthFixedPoint::EveryQ { q0 });
            }
            LengthFixedPoint::Positive(q0)
        } else if g0 > 0.0 {
            let (mut lo, mut g_lo) = (q0, g0);
            loop {
                let hi = 4.0 * lo;
                let g_hi = g(hi)?;
                if g_hi == 0.0 {
                    break LengthFixedPoint::Positive(hi);
                }
                if g_hi < 0.0 {
                    let q = brent(g, lo, hi, g_lo, g_hi, 1e-14 * hi, "fixed point of the length map")?;
                    break LengthFixedPoint::Positive(q);
                }
                if hi > Q_MAX {
                    return Err(InitError::LengthMapDiverges {
                        activation: self.activation().name(),
                        sigma_w2: self.sigma_w2(),
                        sigma_b2: self.sigma_b2(),
                        q_last: hi,
                        q_next: g_hi + hi,
                    });
                }
                (lo, g_lo) = (hi, g_hi);
            }
        } else {
            // (hi, g_hi): the last point where L(q) < q is resolved.
            let (mut hi, mut g_hi) = (q0, g0);
            let mut lo = q0;
            loop {
                lo /= 16.0;
                if lo < Q_MIN {
                    // L(q) < q all the way down: the only fixed point left is q = 0 (L(0) >= 0).
                    break LengthFixedPoint::Zero;
                }
                let g_lo = g(lo)?;
                if g_lo < 0.0 {
                    (hi, g_hi) = (lo, g_lo);
                } else if resolved(lo, g_lo) || !zero_is_fixed {
                    let q = brent(g, lo, hi, g_lo, g_hi, 1e-14 * lo, "fixed point of the length map")?;
                    break LengthFixedPoint::Positive(q);
                }
                // else: L(lo) >= lo only by rounding of a map that is the identity to first order.
            }
        };
        let q_star = fixed_point.reached();
        let slope = self.length_map_slope(q_star)?;
        if slope.abs() > 1.0 + 1e-9 {
            return Err(InitError::UnstableFixedPoint { what: "length map", point: q_star, slope });
        }
        Ok(fixed_point)
    }

    /// The fixed point q* of the length map reached from q0 = 1.
    ///
    /// q* = 0 exactly for the degenerate fixed point. Errors where q* does not exist or is
    /// not unique: [`InitError::LengthMapDiverges`], [`InitError::FixedPointNotUnique`]
    /// (every q is a fixed point: use [`Self::q_star_from`] with the input's variance), and
    /// those of [`Self::length_fixed_point_from`].
    pub fn q_star(&self) -> Result<f64> {
        let fp = self.length_fixed_point()?;
        fp.unique().ok_or_else(|| self.not_unique(1.0))
    }

    /// The fixed point q* = L(q*) that iterating the length map from `q0` reaches: q0 itself
    /// where every q is a fixed point. See [`Self::length_fixed_point_from`].
    pub fn q_star_from(&self, q0: f64) -> Result<f64> {
        Ok(self.length_fixed_point_from(q0)?.reached())
    }

    /// The error for a length map with a fixed point at every q near `q0`.
    pub(crate) fn not_unique(&self, q0: f64) -> InitError {
        InitError::FixedPointNotUnique {
            activation: self.activation().name(),
            sigma_w2: self.sigma_w2(),
            sigma_b2: self.sigma_b2(),
            q_low: q0 / 4.0,
            q_high: 4.0 * q0,
        }
    }

    /// chi_1 at the fixed point reached from q0 = 1, with the fixed point. Where every q is
    /// a fixed point, chi_1 is returned if it is the same (to 1e-12 relative) at q0 / 4,
    /// q0 and 4 q0, as for every positively homogeneous activation; otherwise
    /// [`InitError::FixedPointNotUnique`].
    pub fn chi_1_at_fixed_point(&self) -> Result<(LengthFixedPoint, f64)> {
        let fp = self.length_fixed_point()?;
        let chi_1 = self.chi_1_at(fp.reached())?;
        if let LengthFixedPoint::EveryQ { q0 } = fp {
            for q in [q0 / 4.0, 4.0 * q0] {
                if (self.chi_1_at(q)? - chi_1).abs() > 1e-12 * chi_1.abs() {
                    return Err(self.not_unique(q0));
                }
            }
        }
        Ok((fp, chi_1))
    }

    /// chi_1 = sigma_w2 E[phi'(sqrt(q*) z)^2] at the fixed point q* reached from q0 = 1 (where
    /// every q is a fixed point: see [`Self::chi_1_at_fixed_point`]).
    pub fn chi_1(&self) -> Result<f64> {
        Ok(self.chi_1_at_fixed_point()?.1)
    }

    /// The depth scale of the length map, xi_q = -1 / log |L'(q*)| (Schoenholz et al. 2017,
    /// eq. 5): q^l - q* ~ e^{-l / xi_q}. Infinite when L'(q*) = 1 to within 1e-12 (at the
    /// degenerate q* = 0 of tanh at sigma_w2 = 1, where q^l ~ 1 / (2 l) decays slower than
    /// any exponential).
    pub fn xi_q(&self) -> Result<f64> {
        let slope = self.length_map_slope(self.q_star()?)?;
        Ok(crate::mean_field::depth_scale(slope))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::activation::Activation;
    use crate::gauss_hermite::gauss_hermite;

    /// ReLU's length map is linear, L(q) = sigma_w2 q / 2 + sigma_b2, so every outcome has a
    /// closed form: q* = sigma_b2 / (1 - sigma_w2 / 2) below 2, 0 without bias, every q at 2
    /// without bias, divergence at and above 2 with a bias (q^l = q0 + l sigma_b2 at 2).
    #[test]
    fn relu_fixed_points_against_the_closed_form() {
        let mf = MeanField::new(Activation::Relu, 1.0, 0.3).unwrap();
        assert!((mf.q_star().unwrap() - 0.6).abs() < 1e-14);
        assert!((mf.length_map_slope(0.6).unwrap() - 0.5).abs() < 1e-13);
        assert!((mf.xi_q().unwrap() - 1.0 / 2f64.ln()).abs() < 1e-11);
        // Close to 2 with a bias the fixed point is far out but finite: q* = sigma_b2 / 1e-6.
        let mf = MeanField::new(Activation::Relu, 2.0 - 2e-6, 1e-3).unwrap();
        let q = mf.q_star().unwrap();
        assert!((q / 1e3 - 1.0).abs() < 1e-8, "{q}");
        // Below He's sigma_w2 = 2 with no bias the signal dies: q* = 0, chi_1 = sigma_w2 / 2.
        let mf = MeanField::new(Activation::Relu, 1.9, 0.0).unwrap();
        assert_eq!(mf.length_fixed_point().unwrap(), LengthFixedPoint::Zero);
        assert!((mf.chi_1().unwrap() - 0.95).abs() < 1e-15);
        // At He's sigma_w2 = 2 every q is a fixed point: q_star says so, q_star_from keeps q0.
        let mf = MeanField::new(Activation::Relu, 2.0, 0.0).unwrap();
        for q0 in [1e-6, 1.0, 3.5, 1e6] {
            assert_eq!(mf.length_fixed_point_from(q0).unwrap(), LengthFixedPoint::EveryQ { q0 });
            assert_eq!(mf.q_star_from(q0).unwrap(), q0);
        }
        let err = mf.q_star().unwrap_err();
        assert!(matches!(err, InitError::FixedPointNotUnique { .. }), "{err}");
        assert!(err.to_string().contains("not unique") && err.to_string().contains("sigma_w2 = 2"), "{err}");
        assert_eq!(mf.chi_1().unwrap(), 1.0);
        assert!(mf.xi_q().is_err());
        // Above it, or at it with any bias (even 1e-10, far below one ulp of q at 1e12), q
        // grows without bound: divergence, not a fixed point near 1e12.
        for (w, b) in [(2.1, 0.0), (2.0, 0.1), (2.0, 1e-4), (2.0, 1e-10)] {
            let err = MeanField::new(Activation::Relu, w, b).unwrap().q_star().unwrap_err();
            assert!(matches!(err, InitError::LengthMapDiverges { .. }), "sigma_w2 {w}, sigma_b2 {b}: {err}");
            assert!(err.to_string().contains(&format!("sigma_w2 = {w}")), "{err}");
        }
        // Leaky ReLU is homogeneous too: every q at sigma_w2 = 2 / (1 + a^2).
        let a = 0.2;
        let mf = MeanField::new(Activation::LeakyRelu(a), 2.0 / (1.0 + a * a), 0.0).unwrap();
        assert!(matches!(mf.length_fixed_point().unwrap(), LengthFixedPoint::EveryQ { .. }));
        assert!((mf.chi_1().unwrap() - 1.0).abs() < 1e-15);
    }

    /// Brute force: the length map iterated 100000 times with its own order-256
    /// Gauss–Hermite rule. At the degenerate critical point q^l ~ 1 / (2 l) (tanh: L(q) =
    /// q - 2 q^2 + O(q^3); erf at pi/4: L(q) = asin(2q / (1 + 2q)) / 2 = q - 2 q^2 + O(q^3)),
    /// so q^100000 ~ 5e-6 and still falling as 1 / (2 l): the limit is 0, not a positive number.
    #[test]
    fn degenerate_fixed_point_at_criticality() {
        let rule = gauss_hermite(256).unwrap();
        let cases = [(Activation::Tanh, 1.0), (Activation::Erf, std::f64::consts::FRAC_PI_4)];
        for (act, w) in cases {
            let mf = MeanField::new(act.clone(), w, 0.0).unwrap();
            assert_eq!(mf.length_fixed_point().unwrap(), LengthFixedPoint::Zero, "{act}");
            assert_eq!(mf.q_star().unwrap(), 0.0);
            assert_eq!(mf.q_star_from(1e-12).unwrap(), 0.0);
            assert!((mf.chi_1().unwrap() - 1.0).abs() < 1e-15, "{act}: chi_1 {}", mf.chi_1().unwrap());
            assert_eq!(mf.xi_q().unwrap(), f64::INFINITY);
            let mut q = 1.0f64;
            let steps = 100_000;
            for _ in 0..steps {
                q = w * rule.expect(|z| act.phi(q.sqrt() * z).powi(2));
            }
            // 1 / (2 l) up to the log correction of the next order: within 10%.
            // 1 / q^{l+1} = 1 / q^l + 2 + O(q^l), so 2 l q^l = 1 + O(log(l) / l): within 1e-3
            // at l = 1e5 (measured: 5e-5 for tanh, 2e-5 for erf).
            assert!((q * 2.0 * steps as f64 - 1.0).abs() < 1e-3, "{act}: 2 l q^l = {}", q * 2.0 * steps as f64);
        }
        // Off criticality on the ordered side the decay is geometric, still q* = 0.
        assert_eq!(MeanField::new(Activation::Tanh, 0.5, 0.0).unwrap().q_star().unwrap(), 0.0);
        // With the smallest bias the fixed point is positive and resolved: tanh at
        // sigma_w2 = 1 has q* ~ sqrt(sigma_b2 / 2) (L(q) - q = sigma_b2 - 2 q^2 + O(q^3)).
        let mf = MeanField::new(Activation::Tanh, 1.0, 1e-12).unwrap();
        let q = mf.q_star().unwrap();
        assert!((q / (0.5e-12f64).sqrt() - 1.0).abs() < 1e-4, "{q}");
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
        // Chaotic without bias: a positive q*, reached by iteration too.
        let mf = MeanField::new(Activation::Tanh, 2.0, 0.0).unwrap();
        let q_star = mf.q_star().unwrap();
        let iterates = mf.length_map_iterates(1.0, 400).unwrap();
        assert!(q_star > 0.1 && (iterates[400] - q_star).abs() < 1e-12, "{} vs {q_star}", iterates[400]);
    }

    #[test]
    fn bad_input_is_reported() {
        let err = MeanField::new(Activation::Tanh, 1.0, 0.0).unwrap().q_star_from(-2.0).unwrap_err();
        assert!(err.to_string().contains("-2"), "{err}");
    }
}
