//! The **correlation map** of mean-field signal propagation (Poole et al. 2016; Schoenholz
//! et al. 2017): how the correlation c between the pre-activations of two inputs evolves
//! with depth, its stable fixed point c*, its slope chi_c there, and the depth scale xi_c.
//!
//! For two inputs whose pre-activations have variances q1, q2 and covariance q12 at layer l,
//! layer l + 1 has (the *covariance map*, also the NNGP recursion)
//!
//! ```text
//!   (q1, q2, q12) -> sigma_w2 E[phi(u1) phi(u2)] + sigma_b2,   (u1, u2) ~ N(0, [[q1, q12], [q12, q2]]).
//! ```
//!
//! With both lengths at q*, the correlation c = q12 / q* follows
//!
//! ```text
//!   C(c) = (sigma_w2 E[phi(u1) phi(u2)] + sigma_b2) / q*,   Corr(u1, u2) = c, Var = q*.
//! ```
//!
//! C(1) = 1 always, and by Price's theorem C'(c) = sigma_w2 E[phi'(u1) phi'(u2)], so
//! C'(1) = chi_1. Expanding phi in Hermite polynomials shows C is increasing and convex on
//! [0, 1] (its Taylor coefficients in c are non-negative), hence:
//!
//! - chi_1 <= 1 (ordered, or critical): c = 1 is the only fixed point in [0, 1] and attracts
//!   every c in [0, 1]: c* = 1, nearby inputs become identical.
//! - chi_1 > 1 (chaotic): c = 1 is unstable and exactly one stable fixed point c* < 1 lies
//!   in [0, 1) (C(0) >= 0 and C(c) < c just below 1): nearby inputs decorrelate to c*.
//!
//! The slope at the stable point, chi_c = C'(c*), sets the depth scale
//! xi_c = -1 / log(chi_c) (Schoenholz et al. 2017, eq. 9), infinite at criticality.

use crate::error::{InitError, Result, finite, non_negative};
use crate::gaussian::{expect_dphi_dphi, expect_phi_phi, mean_phi};
use crate::mean_field::{MeanField, depth_scale};
use crate::phase::PHASE_TOLERANCE;
use crate::roots::brent;

/// c* is found to this absolute tolerance.
const C_STAR_TOL: f64 = 1e-13;

/// The fixed points of the correlation map at q*.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CorrelationFixedPoint {
    /// The length fixed point q* the map is taken at.
    pub q_star: f64,
    /// The stable fixed point c* in [0, 1] (1 in the ordered phase).
    pub c_star: f64,
    /// The slope of the correlation map at c*: chi_c = sigma_w2 E[phi'(u1) phi'(u2)].
    pub chi_c: f64,
    /// The slope at the other fixed point c = 1, chi_1 (c = 1 is stable iff chi_1 <= 1).
    pub chi_1: f64,
}

impl CorrelationFixedPoint {
    /// The correlation depth scale xi_c = -1 / log(chi_c); infinite when |chi_c - 1| <= 1e-12.
    pub fn xi_c(&self) -> f64 {
        depth_scale(self.chi_c)
    }
}

fn check_correlation(c: f64) -> Result<f64> {
    finite("correlation c", c)?;
    if !(-1.0..=1.0).contains(&c) {
        return Err(InitError::InvalidParameter { name: "correlation c", requirement: "in [-1, 1]", value: c });
    }
    Ok(c)
}

impl MeanField {
    /// One layer of the covariance map for two inputs:
    /// (q1, q2, q12) -> (L(q1), L(q2), sigma_w2 E[phi(u1) phi(u2)] + sigma_b2).
    pub fn covariance_map(&self, q1: f64, q2: f64, q12: f64) -> Result<(f64, f64, f64)> {
        let cross = self.sigma_w2() * expect_phi_phi(self.activation(), q1, q2, q12)? + self.sigma_b2();
        Ok((self.length_map(q1)?, self.length_map(q2)?, cross))
    }

    /// The correlation map for two inputs of equal variance q:
    /// c -> (sigma_w2 E[phi(u1) phi(u2)] + sigma_b2) / L(q). At q = q* this is C(c) above.
    pub fn correlation_map(&self, q: f64, c: f64) -> Result<f64> {
        non_negative("variance q", q)?;
        check_correlation(c)?;
        if q == 0.0 {
            return Err(InitError::Undefined(format!(
                "the correlation map of {} is undefined at q = 0 (every input has collapsed to zero)",
                self.activation()
            )));
        }
        let next = self.length_map(q)?;
        // At c = 0 the two pre-activations are independent: E[phi(u1) phi(u2)] = E[phi(u)]^2,
        // a square (>= 0, and 0 exactly when E[phi(u)] is).
        let moment = if c == 0.0 {
            mean_phi(self.activation(), q)?.powi(2)
        } else {
            expect_phi_phi(self.activation(), q, q, c * q)?
        };
        Ok((self.sigma_w2() * moment + self.sigma_b2()) / next)
    }

    /// The slope of [`Self::correlation_map`] in c: sigma_w2 q E[phi'(u1) phi'(u2)] / L(q)
    /// (Price's theorem); at q = q* this is sigma_w2 E[phi'(u1) phi'(u2)].
    pub fn correlation_map_slope(&self, q: f64, c: f64) -> Result<f64> {
        non_negative("variance q", q)?;
        check_correlation(c)?;
        if q == 0.0 {
            return Err(InitError::Undefined("the correlation map is undefined at q = 0".into()));
        }
        let next = self.length_map(q)?;
        Ok(self.sigma_w2() * q * expect_dphi_dphi(self.activation(), q, q, c * q)? / next)
    }

    /// c^0 = c0, c^1, ..., c^depth for two inputs already at the fixed length q*.
    pub fn correlation_map_iterates(&self, c0: f64, depth: usize) -> Result<Vec<f64>> {
        let q_star = self.q_star()?;
        let mut out = vec![check_correlation(c0)?];
        for _ in 0..depth {
            let c = self.correlation_map(q_star, *out.last().unwrap_or(&c0))?.clamp(-1.0, 1.0);
            out.push(c);
        }
        Ok(out)
    }

    /// The stable fixed point c* of the correlation map at the q* reached from q0 = 1, with
    /// chi_c and chi_1. See [`Self::c_star_at`]; errors where q* does not exist, is not
    /// unique ([`InitError::FixedPointNotUnique`]) or is 0 ([`InitError::Undefined`]).
    pub fn c_star(&self) -> Result<CorrelationFixedPoint> {
        self.c_star_at(self.q_star()?)
    }

    /// The stable fixed point c* of the correlation map for inputs of length `q_star` (a
    /// fixed point of the length map, e.g. [`Self::q_star_from`] where every q is one).
    ///
    /// Ordered or critical (chi_1 <= 1 + [`PHASE_TOLERANCE`]): c* = 1. Chaotic: c* is the
    /// root of C(c) - c in [0, 1), bracketed by C(0) - 0 >= 0 and the first of
    /// c = 0.5, 0.9, 0.99, ... with C(c) < c, then found by Brent's method to 1e-13.
    ///
    /// **c* = 0.** C(0) = (sigma_w2 E[phi(u)]^2 + sigma_b2) / q* (independent inputs) is
    /// computed as that square, never below 0. When the root it leads to is below the 1e-13
    /// tolerance (Newton's step from 0, C(0) / (1 - C'(0)), is), c* = 0 is returned exactly:
    /// an endpoint root. For odd activations without bias (tanh, erf at sigma_b2 = 0 on the
    /// chaotic side) E[phi(u)] = 0 and c* = 0 is exact: C is odd and convex on [0, 1] with
    /// C(1) = 1, so 0 is its only fixed point below 1.
    pub fn c_star_at(&self, q_star: f64) -> Result<CorrelationFixedPoint> {
        non_negative("q*", q_star)?;
        if q_star == 0.0 {
            return Err(InitError::Undefined(format!(
                "c* is undefined for {} at sigma_w2 = {}, sigma_b2 = {}: q* = 0, every input collapses to zero",
                self.activation(),
                self.sigma_w2(),
                self.sigma_b2()
            )));
        }
        let chi_1 = self.chi_1_at(q_star)?;
        if chi_1 <= 1.0 + PHASE_TOLERANCE {
            return Ok(CorrelationFixedPoint { q_star, c_star: 1.0, chi_c: chi_1, chi_1 });
        }
        let g = |c: f64| -> Result<f64> { Ok(self.correlation_map(q_star, c)? - c) };
        let g_zero = g(0.0)?;
        let newton_from_zero = g_zero / (1.0 - self.correlation_map_slope(q_star, 0.0)?);
        let c_star = if (0.0..C_STAR_TOL).contains(&newton_from_zero) {
            0.0
        } else {
            let (mut lo, mut g_lo) = (0.0, g_zero);
            let mut delta = 0.5;
            loop {
                let hi = 1.0 - delta;
                let g_hi = g(hi)?;
                if g_hi < 0.0 {
                    break brent(g, lo, hi, g_lo, g_hi, C_STAR_TOL, "fixed point of the correlation map")?;
                }
                (lo, g_lo) = (hi, g_hi);
                delta *= if delta == 0.5 { 0.2 } else { 0.1 };
                if delta < C_STAR_TOL {
                    // C(c) >= c up to 1 - 1e-13: c* is 1 to within 1e-13.
                    break 1.0;
                }
            }
        };
        let chi_c = self.correlation_map_slope(q_star, c_star)?;
        if chi_c > 1.0 + PHASE_TOLERANCE {
            return Err(InitError::UnstableFixedPoint { what: "correlation map", point: c_star, slope: chi_c });
        }
        Ok(CorrelationFixedPoint { q_star, c_star, chi_c, chi_1 })
    }

    /// The correlation depth scale xi_c = -1 / log(chi_c) at the stable c*.
    pub fn xi_c(&self) -> Result<f64> {
        Ok(self.c_star()?.xi_c())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Activation;

    /// ReLU's correlation map in closed form (Cho & Saul): with q* from sigma_b2 > 0 and
    /// sigma_w2 < 2 it is ordered, c* = 1 and chi_c = chi_1 = sigma_w2 / 2.
    #[test]
    fn relu_is_ordered_below_he() {
        let mf = MeanField::new(Activation::Relu, 1.5, 0.2).unwrap();
        let fp = mf.c_star().unwrap();
        assert_eq!(fp.c_star, 1.0);
        assert!((fp.chi_1 - 0.75).abs() < 1e-14);
        assert!((fp.xi_c() + 1.0 / 0.75f64.ln()).abs() < 1e-12);
        // The map at c = 1 is exactly 1.
        assert!((mf.correlation_map(fp.q_star, 1.0).unwrap() - 1.0).abs() < 1e-14);
    }

    /// Chaotic tanh: the Brent root agrees with plain iteration of the map, C(c*) = c*,
    /// chi_c < 1 and chi_1 > 1; chi_c matches a central difference of C (h = 1e-5).
    /// Here chi_c ~ 0.86, so 150 iterations from 0.9 leave |c - c*| ~ 0.86^150 * 0.6 ~ 1e-10.
    #[test]
    fn chaotic_tanh_fixed_point() {
        let mf = MeanField::new(Activation::Tanh, 4.0, 0.1).unwrap();
        let fp = mf.c_star().unwrap();
        assert!(fp.chi_1 > 1.0 && fp.chi_c < 1.0 && fp.c_star < 1.0 && fp.c_star > 0.0, "{fp:?}");
        assert!((mf.correlation_map(fp.q_star, fp.c_star).unwrap() - fp.c_star).abs() < 1e-12);
        let iterates = mf.correlation_map_iterates(0.9, 150).unwrap();
        assert!((iterates[150] - fp.c_star).abs() < 1e-8, "{} vs {}", iterates[150], fp.c_star);
        let h = 1e-5;
        let fd = (mf.correlation_map(fp.q_star, fp.c_star + h).unwrap()
            - mf.correlation_map(fp.q_star, fp.c_star - h).unwrap())
            / (2.0 * h);
        assert!((fd - fp.chi_c).abs() < 1e-7, "{fd} vs {}", fp.chi_c);
    }

    #[test]
    fn undefined_and_bad_input() {
        let mf = MeanField::new(Activation::Tanh, 0.5, 0.0).unwrap();
        assert!(matches!(mf.c_star(), Err(InitError::Undefined(_))));
        let mf = MeanField::new(Activation::Tanh, 1.5, 0.1).unwrap();
        assert!(mf.correlation_map(1.0, 1.2).unwrap_err().to_string().contains("1.2"));
    }
}
