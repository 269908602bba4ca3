//! [`Target`]: the continuous function to approximate, its box domain and what is known
//! about it (a modulus of continuity per axis, optionally a bound on the second derivative).
//!
//! In `d` dimensions the moduli are per axis:
//!
//! ```text
//! |f(x) - f(y)| <= sum_i omega_i(|x_i - y_i|)      for x, y in [lo, hi]
//! ```
//!
//! (a function Lipschitz with constant `L` in the l1 norm has `omega_i(delta) = L delta`).
//! A target is a plain closure; every value it returns is checked to be finite where the
//! constructions evaluate it, and a NaN or an infinity is an error naming the point.

use std::fmt;

use crate::approximation::error::{ApproximationError, Result, non_negative};
use crate::approximation::modulus::Modulus;

/// The boxed closure of a target.
type TargetFn<'f> = Box<dyn Fn(&[f64]) -> f64 + 'f>;

/// A continuous target on a box, with its moduli of continuity.
pub struct Target<'f> {
    f: TargetFn<'f>,
    lo: Vec<f64>,
    hi: Vec<f64>,
    moduli: Vec<Modulus>,
    second_derivative_bound: Option<f64>,
}

impl fmt::Debug for Target<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Target")
            .field("lo", &self.lo)
            .field("hi", &self.hi)
            .field("moduli", &self.moduli)
            .field("second_derivative_bound", &self.second_derivative_bound)
            .finish()
    }
}

/// Checks a box: same lengths, finite `lo < hi` on every axis, at least one axis.
pub(crate) fn check_box(op: &'static str, lo: &[f64], hi: &[f64]) -> Result<()> {
    if lo.len() != hi.len() {
        return Err(ApproximationError::Dimension {
            op,
            what: "upper corner coordinates",
            expected: lo.len(),
            got: hi.len(),
        });
    }
    if lo.is_empty() {
        return Err(ApproximationError::Dimension { op, what: "domain dimension (at least 1)", expected: 1, got: 0 });
    }
    for (axis, (&a, &b)) in lo.iter().zip(hi).enumerate() {
        if !(a.is_finite() && b.is_finite() && a < b) {
            return Err(ApproximationError::InvalidDomain { op, axis, lo: a, hi: b });
        }
    }
    Ok(())
}

impl<'f> Target<'f> {
    /// A target on the box `[lo, hi]` (one entry per axis) with one modulus per axis, or a
    /// single modulus used for every axis.
    pub fn new(f: impl Fn(&[f64]) -> f64 + 'f, lo: &[f64], hi: &[f64], moduli: Vec<Modulus>) -> Result<Self> {
        const OP: &str = "Target::new";
        check_box(OP, lo, hi)?;
        let d = lo.len();
        let moduli = match moduli.len() {
            1 => vec![moduli[0].clone(); d],
            n if n == d => moduli,
            n => {
                return Err(ApproximationError::Dimension {
                    op: OP,
                    what: "moduli (one per axis, or one for all)",
                    expected: d,
                    got: n,
                });
            }
        };
        for m in &moduli {
            m.validate(OP)?;
        }
        Ok(Target { f: Box::new(f), lo: lo.to_vec(), hi: hi.to_vec(), moduli, second_derivative_bound: None })
    }

    /// A target on the interval `[lo, hi]`.
    ///
    /// ```
    /// use dl_theory::approximation::{Modulus, Target};
    /// let t = Target::new_1d(|x: f64| (x - 0.3).abs(), 0.0, 1.0, Modulus::lipschitz(1.0)?)?;
    /// assert_eq!(t.eval(&[0.5])?, 0.2);
    /// assert!(Target::new_1d(|x: f64| x, 1.0, 0.0, Modulus::lipschitz(1.0)?).is_err()); // inverted
    /// # Ok::<(), dl_theory::approximation::ApproximationError>(())
    /// ```
    pub fn new_1d(f: impl Fn(f64) -> f64 + 'f, lo: f64, hi: f64, modulus: Modulus) -> Result<Self> {
        Self::new(move |x: &[f64]| f(x[0]), &[lo], &[hi], vec![modulus])
    }

    /// Adds a bound `M2 >= sup |f''|` (1-D targets), which the piecewise-linear (ReLU family)
    /// constructions use for their `M2 h^2 / 8` certificate.
    pub fn with_second_derivative_bound(mut self, m2: f64) -> Result<Self> {
        non_negative("Target::with_second_derivative_bound", "second derivative bound", m2)?;
        self.second_derivative_bound = Some(m2);
        Ok(self)
    }

    /// The number of input coordinates.
    pub fn dim(&self) -> usize {
        self.lo.len()
    }

    /// Lower corner of the box.
    pub fn lo(&self) -> &[f64] {
        &self.lo
    }

    /// Upper corner of the box.
    pub fn hi(&self) -> &[f64] {
        &self.hi
    }

    /// The modulus of axis `i`.
    pub fn modulus(&self, axis: usize) -> &Modulus {
        &self.moduli[axis]
    }

    /// Every axis' modulus.
    pub fn moduli(&self) -> &[Modulus] {
        &self.moduli
    }

    /// The bound on `|f''|`, if one was given.
    pub fn second_derivative_bound(&self) -> Option<f64> {
        self.second_derivative_bound
    }

    /// `f(x)`, refusing a point of the wrong dimension and a non-finite value.
    pub fn eval(&self, x: &[f64]) -> Result<f64> {
        self.eval_in("Target::eval", x)
    }

    /// `f(x)` with `op` named in the error.
    pub(crate) fn eval_in(&self, op: &'static str, x: &[f64]) -> Result<f64> {
        if x.len() != self.dim() {
            return Err(ApproximationError::Dimension {
                op,
                what: "point coordinates",
                expected: self.dim(),
                got: x.len(),
            });
        }
        let v = (self.f)(x);
        if v.is_finite() { Ok(v) } else { Err(ApproximationError::NonFiniteTarget { op, point: x.to_vec(), value: v }) }
    }

    /// `f` at a 1-D point (the caller knows the target is 1-D).
    pub(crate) fn eval_1d(&self, op: &'static str, x: f64) -> Result<f64> {
        self.eval_in(op, &[x])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_bad_boxes_and_non_finite_values() {
        let m = Modulus::lipschitz(1.0).unwrap();
        let err = Target::new_1d(|x| x, 0.0, 0.0, m.clone()).unwrap_err().to_string();
        assert!(err.contains("[0, 0]"), "{err}");
        assert!(Target::new_1d(|x| x, f64::NAN, 1.0, m.clone()).is_err());
        let err = Target::new(|x: &[f64]| x[0], &[0.0, 0.0], &[1.0], vec![m.clone()]).unwrap_err().to_string();
        assert!(err.contains("expected 2, got 1"), "{err}");
        let err = Target::new(|x: &[f64]| x[0], &[0.0; 3], &[1.0; 3], vec![m.clone(), m.clone()]).unwrap_err();
        assert!(err.to_string().contains("moduli"), "{err}");
        let t = Target::new_1d(|x: f64| if x > 0.5 { f64::NAN } else { x }, 0.0, 1.0, m).unwrap();
        let err = t.eval(&[0.75]).unwrap_err().to_string();
        assert!(err.contains("NaN") && err.contains("0.75"), "{err}");
        assert!(t.eval(&[0.1, 0.2]).is_err());
    }
}
