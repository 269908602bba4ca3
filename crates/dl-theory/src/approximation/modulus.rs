//! Moduli of continuity: how much a target may change over a distance.
//!
//! A function `f` on an interval has modulus of continuity `omega` when
//!
//! ```text
//! |f(x) - f(y)| <= omega(|x - y|)      for all x, y in the domain,
//! ```
//!
//! with `omega` non-decreasing and `omega(0+) = 0`. Every construction here also needs
//! `omega` **concave**: then it is subadditive, `omega(a + b) <= omega(a) + omega(b)`, and a
//! convex combination of values at two points is within `omega` of the weighted mean distance
//! (the step that keeps Cybenko's sigmoid staircase at `omega(h/2)` rather than `omega(h)`,
//! see `docs/approximation.md`). This costs nothing in generality: the least concave majorant
//! of any modulus on an interval is at most twice the modulus (Lorentz, *Approximation of
//! Functions*, 1966, §6.1), so a concave modulus always exists.
//!
//! Three forms are provided: Lipschitz `L delta`, Hölder `C delta^alpha` (`0 < alpha <= 1`;
//! `sqrt(x)` on `[0, 1]` has `C = 1, alpha = 1/2`), and any user-supplied concave function,
//! which is spot-checked (finite, non-negative, non-decreasing, midpoint-concave on a
//! geometric grid) before use.

use std::fmt;
use std::sync::Arc;

use crate::approximation::error::{ApproximationError, Result, positive};

/// A concave, non-decreasing modulus of continuity with `omega(0) = 0`.
#[derive(Clone)]
pub enum Modulus {
    /// `omega(delta) = L delta`.
    Lipschitz(f64),
    /// `omega(delta) = C delta^alpha` with `0 < alpha <= 1`.
    Holder {
        /// `C`.
        constant: f64,
        /// `alpha`.
        exponent: f64,
    },
    /// A user-supplied concave, non-decreasing function with `omega(0) = 0`.
    Concave(Arc<dyn Fn(f64) -> f64 + Send + Sync>),
}

impl fmt::Debug for Modulus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Modulus::Lipschitz(l) => write!(f, "Lipschitz({l})"),
            Modulus::Holder { constant, exponent } => write!(f, "Holder({constant} delta^{exponent})"),
            Modulus::Concave(_) => write!(f, "Concave(<fn>)"),
        }
    }
}

impl Modulus {
    /// `omega(delta) = L delta`; `L` must be finite and non-negative.
    pub fn lipschitz(l: f64) -> Result<Self> {
        let m = Modulus::Lipschitz(l);
        m.validate("Modulus::lipschitz")?;
        Ok(m)
    }

    /// `omega(delta) = C delta^alpha` with `C >= 0` finite and `0 < alpha <= 1`.
    pub fn holder(constant: f64, exponent: f64) -> Result<Self> {
        let m = Modulus::Holder { constant, exponent };
        m.validate("Modulus::holder")?;
        Ok(m)
    }

    /// A user-supplied concave modulus, spot-checked by [`Modulus::validate`].
    pub fn concave(omega: impl Fn(f64) -> f64 + Send + Sync + 'static) -> Result<Self> {
        let m = Modulus::Concave(Arc::new(omega));
        m.validate("Modulus::concave")?;
        Ok(m)
    }

    /// `omega(delta)` for `delta >= 0`.
    pub fn eval(&self, delta: f64) -> f64 {
        let delta = delta.max(0.0);
        match self {
            Modulus::Lipschitz(l) => l * delta,
            Modulus::Holder { constant, exponent } => {
                if delta == 0.0 {
                    0.0
                } else {
                    constant * delta.powf(*exponent)
                }
            }
            Modulus::Concave(f) => f(delta),
        }
    }

    /// The Lipschitz constant if the modulus is linear.
    pub fn lipschitz_constant(&self) -> Option<f64> {
        match self {
            Modulus::Lipschitz(l) => Some(*l),
            _ => None,
        }
    }

    /// Checks the modulus: a finite non-negative Lipschitz constant; `C >= 0` and
    /// `0 < alpha <= 1` for Hölder; for a user function, finite non-negative values that do
    /// not decrease and are midpoint-concave on the geometric grid `delta = 2^k`,
    /// `k = -40..=20` (relative slack `1e-12` for rounding).
    pub fn validate(&self, op: &'static str) -> Result<()> {
        let bad = |detail: String| Err(ApproximationError::InvalidModulus { op, detail });
        match self {
            Modulus::Lipschitz(l) => {
                if !(l.is_finite() && *l >= 0.0) {
                    return Err(ApproximationError::InvalidArgument {
                        op,
                        name: "lipschitz constant".into(),
                        value: *l,
                        requirement: "must be finite and non-negative",
                    });
                }
            }
            Modulus::Holder { constant, exponent } => {
                if !(constant.is_finite() && *constant >= 0.0) {
                    return Err(ApproximationError::InvalidArgument {
                        op,
                        name: "holder constant".into(),
                        value: *constant,
                        requirement: "must be finite and non-negative",
                    });
                }
                if !(exponent.is_finite() && *exponent > 0.0 && *exponent <= 1.0) {
                    return Err(ApproximationError::InvalidArgument {
                        op,
                        name: "holder exponent".into(),
                        value: *exponent,
                        requirement: "must lie in (0, 1] (a larger exponent is only possible for constants)",
                    });
                }
            }
            Modulus::Concave(f) => {
                let deltas: Vec<f64> = (-40..=20).map(|k| 2f64.powi(k)).collect();
                let values: Vec<f64> = deltas.iter().map(|&d| f(d)).collect();
                for (d, v) in deltas.iter().zip(&values) {
                    if !(v.is_finite() && *v >= 0.0) {
                        return bad(format!("returned {v} at delta = {d:e}; it must be finite and non-negative"));
                    }
                }
                for k in 1..values.len() {
                    if values[k] < values[k - 1] * (1.0 - 1e-12) {
                        return bad(format!(
                            "decreases: omega({:e}) = {:e} > omega({:e}) = {:e}",
                            deltas[k - 1],
                            values[k - 1],
                            deltas[k],
                            values[k]
                        ));
                    }
                }
                for k in 1..values.len() {
                    // concavity on [0, 2 delta] with omega(0) >= 0: omega(delta) >= omega(2 delta) / 2
                    if values[k - 1] < 0.5 * values[k] * (1.0 - 1e-12) {
                        return bad(format!(
                            "is not concave: omega({:e}) = {:e} < omega({:e}) / 2 = {:e}",
                            deltas[k - 1],
                            values[k - 1],
                            deltas[k],
                            0.5 * values[k]
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    /// The largest `delta` in `(0, delta_max]` with `omega(delta) <= e` (`e > 0`), or `None`
    /// if even the smallest positive double does not qualify. Closed form for Lipschitz and
    /// Hölder moduli (then checked against `eval`, stepping down by ulps if rounding pushed
    /// it over), bisection on the monotone function otherwise.
    pub fn largest_delta_within(&self, e: f64, delta_max: f64) -> Result<Option<f64>> {
        positive("Modulus::largest_delta_within", "e", e)?;
        positive("Modulus::largest_delta_within", "delta_max", delta_max)?;
        if self.eval(delta_max) <= e {
            return Ok(Some(delta_max));
        }
        let guess = match self {
            Modulus::Lipschitz(l) => e / l,
            Modulus::Holder { constant, exponent } => (e / constant).powf(1.0 / exponent),
            Modulus::Concave(_) => {
                // bisection on [lo, hi] with omega(lo) <= e < omega(hi)
                let mut hi = delta_max;
                let mut lo = delta_max;
                while self.eval(lo) > e {
                    lo *= 0.5;
                    if lo < f64::MIN_POSITIVE {
                        return Ok(None);
                    }
                }
                for _ in 0..200 {
                    let mid = 0.5 * (lo + hi);
                    if mid <= lo || mid >= hi {
                        break;
                    }
                    if self.eval(mid) <= e {
                        lo = mid;
                    } else {
                        hi = mid;
                    }
                }
                lo
            }
        };
        let mut delta = guess.min(delta_max);
        let mut steps = 0;
        while self.eval(delta) > e {
            delta *= 1.0 - 4.0 * f64::EPSILON;
            steps += 1;
            if steps > 64 || delta < f64::MIN_POSITIVE {
                return Ok(None);
            }
        }
        Ok(if delta > 0.0 { Some(delta) } else { None })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closed_forms_and_inverse() {
        let m = Modulus::lipschitz(2.0).unwrap();
        assert_eq!(m.eval(0.25), 0.5);
        let d = m.largest_delta_within(0.1, 10.0).unwrap().unwrap();
        assert!(m.eval(d) <= 0.1 && (d - 0.05).abs() < 1e-15);
        let h = Modulus::holder(1.0, 0.5).unwrap();
        let d = h.largest_delta_within(1e-3, 1.0).unwrap().unwrap();
        assert!(h.eval(d) <= 1e-3 && (d - 1e-6).abs() < 1e-18, "{d}");
        // capped at delta_max
        assert_eq!(m.largest_delta_within(100.0, 3.0).unwrap(), Some(3.0));
        // a custom concave modulus, inverted by bisection
        let c = Modulus::concave(|d: f64| d.sqrt() + d).unwrap();
        let d = c.largest_delta_within(0.5, 1.0).unwrap().unwrap();
        // sqrt(d) + d = 0.5 at d = ((sqrt(3) - 1) / 2)^2
        let exact = ((3f64.sqrt() - 1.0) / 2.0).powi(2);
        assert!(c.eval(d) <= 0.5 && (d - exact).abs() < 1e-12, "{d} vs {exact}");
    }

    #[test]
    fn bad_moduli_are_refused_with_their_values() {
        assert!(Modulus::lipschitz(f64::INFINITY).unwrap_err().to_string().contains("lipschitz constant = inf"));
        assert!(Modulus::lipschitz(-1.0).is_err());
        assert!(Modulus::holder(1.0, 1.5).unwrap_err().to_string().contains("holder exponent = 1.5"));
        let err = Modulus::concave(|d: f64| d * d).unwrap_err().to_string();
        assert!(err.contains("not concave"), "{err}");
        let err = Modulus::concave(|d: f64| 1.0 / (1.0 + d)).unwrap_err().to_string();
        assert!(err.contains("decreases"), "{err}");
        let err = Modulus::concave(|_d: f64| f64::NAN).unwrap_err().to_string();
        assert!(err.contains("NaN"), "{err}");
    }
}
