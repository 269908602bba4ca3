//! Gauss–Hermite quadrature for the standard normal: nodes z_i and probability weights
//! p_i with E[f(z)] ~ sum_i p_i f(z_i), z ~ N(0, 1), exact when f is a polynomial of
//! degree at most 2n - 1.
//!
//! The nodes are the roots of the Hermite polynomial H_n, i.e. the eigenvalues of its
//! Jacobi matrix (Golub & Welsch 1969). Each is bracketed by Sturm-sequence bisection on
//! that tridiagonal matrix (robust at every order: the asymptotic starting guesses of
//! Numerical Recipes' `gauher` let plain Newton skip roots beyond n ~ 200) and polished by
//! Newton's method on the three-term recurrence of the *orthonormal* Hermite polynomials
//! (which do not overflow for the orders allowed here). With the physicists' weight
//! e^{-x^2}, the weight of root x_i is 2 / (sqrt(2n) p_{n-1}(x_i))^2; the standard normal
//! rule is z_i = sqrt(2) x_i, p_i = w_i / sqrt(pi). Rules are computed once per order and
//! cached for the life of the process.
//!
//! ```
//! use dl_init::gauss_hermite::gauss_hermite;
//! let rule = gauss_hermite(10).unwrap();
//! // E[z^4] = 3 exactly for any order >= 3.
//! let m4: f64 = rule.nodes.iter().zip(&rule.weights).map(|(z, p)| p * z.powi(4)).sum();
//! assert!((m4 - 3.0).abs() < 1e-13);
//! ```

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use crate::error::{InitError, Result};

/// The largest order offered: beyond it the orthonormal recurrence overflows (its values
/// grow like e^{x^2/2} at the largest root x ~ sqrt(2n)).
pub const MAX_ORDER: usize = 512;

/// A Gauss–Hermite rule for the standard normal density.
#[derive(Clone, Debug, PartialEq)]
pub struct GaussHermiteRule {
    /// Number of nodes n.
    pub order: usize,
    /// Nodes z_i, in decreasing order.
    pub nodes: Vec<f64>,
    /// Probability weights p_i (they sum to 1).
    pub weights: Vec<f64>,
}

impl GaussHermiteRule {
    /// sum_i p_i f(z_i), an approximation of E[f(z)] for z ~ N(0, 1).
    pub fn expect(&self, mut f: impl FnMut(f64) -> f64) -> f64 {
        self.nodes.iter().zip(&self.weights).map(|(&z, &p)| p * f(z)).sum()
    }
}

/// The n-point rule (1 <= n <= [`MAX_ORDER`]), computed on first use and cached.
pub fn gauss_hermite(order: usize) -> Result<Arc<GaussHermiteRule>> {
    if order == 0 || order > MAX_ORDER {
        return Err(InitError::InvalidParameter {
            name: "Gauss-Hermite order",
            requirement: "between 1 and 512",
            value: order as f64,
        });
    }
    static CACHE: OnceLock<Mutex<HashMap<usize, Arc<GaussHermiteRule>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
    if let Some(rule) = cache.lock().unwrap_or_else(|e| e.into_inner()).get(&order) {
        return Ok(Arc::clone(rule));
    }
    let rule = Arc::new(compute(order)?);
    cache.lock().unwrap_or_else(|e| e.into_inner()).insert(order, Arc::clone(&rule));
    Ok(rule)
}

/// Orthonormal Hermite values (p_n(x), p_{n-1}(x)) by the three-term recurrence
/// p_j = x sqrt(2/j) p_{j-1} - sqrt((j-1)/j) p_{j-2}, p_0 = pi^{-1/4}.
fn hermite_pair(n: usize, x: f64) -> (f64, f64) {
    let mut p1 = std::f64::consts::PI.powf(-0.25);
    let mut p2 = 0.0;
    for j in 1..=n {
        let jf = j as f64;
        let p3 = p2;
        p2 = p1;
        p1 = x * (2.0 / jf).sqrt() * p2 - ((jf - 1.0) / jf).sqrt() * p3;
    }
    (p1, p2)
}

/// Number of eigenvalues below `x` of the Jacobi matrix of the Hermite weight e^{-x^2}
/// (zero diagonal, off-diagonal sqrt(k/2)), by the Sturm sequence of its LDL^T pivots.
fn count_below(n: usize, x: f64) -> usize {
    let mut count = 0;
    let mut d = -x;
    for k in 0..n {
        if k > 0 {
            d = -x - (k as f64 / 2.0) / d;
        }
        if d == 0.0 {
            d = -1e-300;
        }
        if d < 0.0 {
            count += 1;
        }
    }
    count
}

fn compute(n: usize) -> Result<GaussHermiteRule> {
    let nf = n as f64;
    let mut x = vec![0.0; n];
    let mut w = vec![0.0; n];
    let bound = (2.0 * nf + 1.0).sqrt() + 1.0;
    for i in 0..n.div_ceil(2) {
        // The root with n - 1 - i roots below it (the largest first), bracketed by Sturm
        // bisection (robust for every order), then polished by Newton.
        let k = n - 1 - i;
        let (mut lo, mut hi) = (0.0f64.min(-bound), bound);
        for _ in 0..200 {
            let mid = 0.5 * (lo + hi);
            if !(mid > lo && mid < hi) || hi - lo <= 1e-13 * hi.abs().max(1.0) {
                break;
            }
            if count_below(n, mid) > k {
                hi = mid;
            } else {
                lo = mid;
            }
        }
        let mut z = 0.5 * (lo + hi);
        let mut residual = f64::INFINITY;
        for _ in 0..3 {
            let (p, pm1) = hermite_pair(n, z);
            let step = p / ((2.0 * nf).sqrt() * pm1);
            if step.is_finite() && step.abs() < 1e-8 * z.abs().max(1.0) {
                z -= step;
            }
            residual = step.abs();
        }
        if !z.is_finite() || residual > 1e-10 * z.abs().max(1.0) {
            return Err(InitError::NotConverged {
                what: "Gauss-Hermite node (Sturm bisection and Newton polish)",
                iterations: 200,
                last: z,
                residual,
            });
        }
        let (_, pm1) = hermite_pair(n, z);
        let dp = (2.0 * nf).sqrt() * pm1;
        x[i] = z;
        x[n - 1 - i] = -z;
        w[i] = 2.0 / (dp * dp);
        w[n - 1 - i] = w[i];
    }
    if n % 2 == 1 {
        x[n / 2] = 0.0;
    }
    if x.windows(2).any(|p| p[0] <= p[1]) {
        return Err(InitError::NotConverged {
            what: "Gauss-Hermite nodes (roots not distinct and ordered)",
            iterations: 200,
            last: n as f64,
            residual: f64::NAN,
        });
    }
    let sqrt_pi = std::f64::consts::PI.sqrt();
    Ok(GaussHermiteRule {
        order: n,
        nodes: x.iter().map(|v| v * std::f64::consts::SQRT_2).collect(),
        weights: w.iter().map(|v| v / sqrt_pi).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (2k - 1)!! = E[z^{2k}].
    fn double_factorial(k: u32) -> f64 {
        (1..=k).map(|i| (2 * i - 1) as f64).product()
    }

    /// An n-point rule is exact for polynomials of degree <= 2n - 1; the moments up to
    /// degree 2n - 2 must therefore match to rounding (relative 1e-12 allows the ~n-term
    /// sums with terms up to the moment's size).
    #[test]
    fn moments_are_exact() {
        for n in [1usize, 2, 3, 5, 8, 13, 20, 40] {
            let rule = gauss_hermite(n).unwrap();
            assert_eq!(rule.nodes.len(), n);
            for k in 0..n as u32 {
                let m: f64 = rule.expect(|z| z.powi(2 * k as i32));
                let e = double_factorial(k);
                assert!((m - e).abs() <= 1e-12 * e, "n = {n}, E[z^{}] = {m}, expected {e}", 2 * k);
                let odd: f64 = rule.expect(|z| z.powi(2 * k as i32 + 1));
                assert!(odd.abs() <= 1e-12 * double_factorial(k + 1).max(1.0), "odd moment {odd}");
            }
        }
    }

    /// Large orders still give distinct roots and unit total weight, and integrate a smooth
    /// non-polynomial function (E[cos z] = e^{-1/2}) to rounding.
    #[test]
    fn large_orders() {
        for n in [64usize, 128, 256, 384, MAX_ORDER] {
            let rule = gauss_hermite(n).unwrap();
            let total: f64 = rule.weights.iter().sum();
            assert!((total - 1.0).abs() < 1e-13, "n = {n}: total weight {total}");
            let c = rule.expect(f64::cos);
            assert!((c - (-0.5f64).exp()).abs() < 1e-14, "n = {n}: E[cos z] = {c}");
            // The largest root lies below sqrt(2 (2n + 1)) (Szego's bound, probabilists' scale).
            assert!(rule.nodes[0] < (2.0 * (2.0 * n as f64 + 1.0)).sqrt());
        }
        assert!(gauss_hermite(0).is_err() && gauss_hermite(MAX_ORDER + 1).is_err());
    }
}
