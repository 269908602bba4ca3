//! Tolerance comparison shared by every crate's tests.
//!
//! Two values agree when `|a - e| <= atol + rtol * |e|` (NumPy's `allclose` rule). The
//! defaults per dtype are chosen for results of a handful of rounding steps:
//!
//! | dtype | rtol | atol |
//! | --- | --- | --- |
//! | f32 | 1e-5 (~84 ulp) | 1e-6 |
//! | f64 | 1e-12 | 1e-14 |
//!
//! Tests that compare against an approximate oracle (finite differences, quadrature,
//! Monte Carlo) pass their own [`Tolerance`] and justify it next to the call. A failed
//! comparison reports the worst element: its index, both values and the error.

use crate::element::Element;
use crate::tensor::Tensor;

/// A relative-plus-absolute tolerance.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Tolerance {
    /// Relative tolerance: |a − e| ≤ atol + rtol·|e|.
    pub rtol: f64,
    /// Absolute tolerance: the error allowed when the expected value is 0.
    pub atol: f64,
}

impl Tolerance {
    /// `|a - e| <= atol + rtol * |e|`.
    pub const fn new(rtol: f64, atol: f64) -> Self {
        Tolerance { rtol, atol }
    }

    /// The documented default for `T` (see the module table).
    pub fn default_for<T: Element>() -> Self {
        if T::DTYPE == "f32" { Tolerance::new(1e-5, 1e-6) } else { Tolerance::new(1e-12, 1e-14) }
    }

    /// Whether one pair agrees. NaN agrees only with NaN, infinities only with themselves.
    pub fn accepts(&self, actual: f64, expected: f64) -> bool {
        if actual.is_nan() || expected.is_nan() {
            return actual.is_nan() && expected.is_nan();
        }
        if actual.is_infinite() || expected.is_infinite() {
            return actual == expected;
        }
        (actual - expected).abs() <= self.atol + self.rtol * expected.abs()
    }
}

/// The worst disagreement found by [`compare`].
#[derive(Clone, Debug, PartialEq)]
pub struct Mismatch {
    /// Flat index of the worst element.
    pub index: usize,
    /// The actual value at `index`.
    pub actual: f64,
    /// The expected value at `index`.
    pub expected: f64,
    /// `|actual - expected| / (atol + rtol * |expected|)`: above 1 fails.
    pub ratio: f64,
    /// How many elements fail the tolerance.
    pub count: usize,
    /// How many elements were compared.
    pub len: usize,
}

impl std::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} of {} elements differ; worst at index {}: actual {:e}, expected {:e} (error {:e}, {:.3}x the tolerance)",
            self.count,
            self.len,
            self.index,
            self.actual,
            self.expected,
            (self.actual - self.expected).abs(),
            self.ratio
        )
    }
}

/// Compares two equally long sequences element by element.
pub fn compare(actual: &[f64], expected: &[f64], tol: Tolerance) -> Result<(), Mismatch> {
    assert_eq!(actual.len(), expected.len(), "compare: lengths differ");
    let mut worst: Option<Mismatch> = None;
    let mut count = 0;
    for (i, (&a, &e)) in actual.iter().zip(expected).enumerate() {
        if tol.accepts(a, e) {
            continue;
        }
        count += 1;
        let ratio = if a.is_finite() && e.is_finite() {
            (a - e).abs() / (tol.atol + tol.rtol * e.abs())
        } else {
            f64::INFINITY
        };
        if worst.as_ref().is_none_or(|w| ratio > w.ratio) {
            worst = Some(Mismatch { index: i, actual: a, expected: e, ratio, count: 0, len: actual.len() });
        }
    }
    match worst {
        None => Ok(()),
        Some(mut w) => {
            w.count = count;
            Err(w)
        }
    }
}

/// Panics with the worst element if two tensors differ in shape or beyond `tol`.
#[track_caller]
pub fn assert_close<T: Element>(actual: &Tensor<T>, expected: &Tensor<T>, tol: Tolerance) {
    assert_eq!(actual.shape(), expected.shape(), "assert_close: shapes differ");
    let a: Vec<f64> = actual.to_vec().into_iter().map(T::to_f64_exact).collect();
    let e: Vec<f64> = expected.to_vec().into_iter().map(T::to_f64_exact).collect();
    if let Err(m) = compare(&a, &e, tol) {
        panic!("assert_close failed: {m}");
    }
}

/// Panics with the worst element if two slices differ beyond `tol`.
#[track_caller]
pub fn assert_close_slices(actual: &[f64], expected: &[f64], tol: Tolerance) {
    if let Err(m) = compare(actual, expected, tol) {
        panic!("assert_close failed: {m}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_the_worst_element() {
        let tol = Tolerance::new(1e-3, 0.0);
        let m = compare(&[1.0, 2.01, 3.1], &[1.0, 2.0, 3.0], tol).unwrap_err();
        assert_eq!((m.index, m.count), (2, 2));
        assert!(compare(&[1.0005], &[1.0], tol).is_ok());
        assert!(compare(&[f64::NAN], &[1.0], tol).is_err());
        assert!(compare(&[f64::INFINITY], &[f64::INFINITY], tol).is_ok());
    }
}
