//! Brent's method for a bracketed root (Brent 1973; as in Press et al., `zbrent`): inverse
//! quadratic interpolation and secant steps, falling back to bisection so that it never
//! converges more slowly than bisection. Used for q*, c* and the activation design.

use crate::error::{InitError, Result};

/// A root of `f` in [a, b] given f(a) and f(b) of opposite signs (or one of them zero),
/// to absolute tolerance `xtol` (plus a few ulps of the root).
pub(crate) fn brent(
    mut f: impl FnMut(f64) -> Result<f64>,
    a: f64,
    b: f64,
    fa: f64,
    fb: f64,
    xtol: f64,
    what: &'static str,
) -> Result<f64> {
    let (mut a, mut b, mut fa, mut fb) = (a, b, fa, fb);
    if fa == 0.0 {
        return Ok(a);
    }
    if fb == 0.0 {
        return Ok(b);
    }
    if fa.signum() == fb.signum() {
        return Err(InitError::NotConverged { what, iterations: 0, last: b, residual: fb });
    }
    let (mut c, mut fc) = (b, fb);
    let (mut d, mut e) = (b - a, b - a);
    const MAX_ITER: usize = 300;
    for _ in 0..MAX_ITER {
        if fb.signum() == fc.signum() {
            c = a;
            fc = fa;
            d = b - a;
            e = d;
        }
        if fc.abs() < fb.abs() {
            a = b;
            b = c;
            c = a;
            fa = fb;
            fb = fc;
            fc = fa;
        }
        let tol = 2.0 * f64::EPSILON * b.abs() + 0.5 * xtol;
        let xm = 0.5 * (c - b);
        if xm.abs() <= tol || fb == 0.0 {
            return Ok(b);
        }
        if e.abs() >= tol && fa.abs() > fb.abs() {
            let s = fb / fa;
            let (mut p, mut q);
            if a == c {
                p = 2.0 * xm * s;
                q = 1.0 - s;
            } else {
                let qq = fa / fc;
                let r = fb / fc;
                p = s * (2.0 * xm * qq * (qq - r) - (b - a) * (r - 1.0));
                q = (qq - 1.0) * (r - 1.0) * (s - 1.0);
            }
            if p > 0.0 {
                q = -q;
            }
            p = p.abs();
            let min1 = 3.0 * xm * q - (tol * q).abs();
            let min2 = (e * q).abs();
            if 2.0 * p < min1.min(min2) {
                e = d;
                d = p / q;
            } else {
                d = xm;
                e = d;
            }
        } else {
            d = xm;
            e = d;
        }
        a = b;
        fa = fb;
        b += if d.abs() > tol { d } else { tol.copysign(xm) };
        fb = f(b)?;
    }
    Err(InitError::NotConverged { what, iterations: MAX_ITER, last: b, residual: fb })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_roots() {
        let r = brent(|x| Ok(x * x - 2.0), 0.0, 2.0, -2.0, 2.0, 1e-15, "sqrt 2").unwrap();
        assert!((r - 2f64.sqrt()).abs() < 1e-15);
        let r = brent(|x| Ok(x.cos() - x), 0.0, 1.0, 1.0, 1f64.cos() - 1.0, 1e-14, "dottie").unwrap();
        assert!((r.cos() - r).abs() < 1e-14);
        assert!(brent(Ok, 1.0, 2.0, 1.0, 2.0, 1e-12, "no sign change").is_err());
    }
}
