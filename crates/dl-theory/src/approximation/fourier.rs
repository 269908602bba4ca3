//! Certified cosine approximation on a box: the Fejér–Korovkin kernel applied to samples of
//! the even extension of the target.
//!
//! Map each axis of `[lo, hi]` to `t in [0, 1]` and extend the target evenly to the torus of
//! period 2 (`f~(t) = f(|t|)` on `[-1, 1]`); the extension keeps every axis' modulus. With
//! `M` samples per unit length (`y_m = m / M`, `m = 0..2M-1`) and a non-negative cosine
//! kernel `K(t) = 1 + 2 sum_{j=1}^n rho_j cos(pi j t)` of degree `n < 2M - 1`, the sampled
//! convolution
//!
//! ```text
//! T(t) = (2M)^-d sum_m f~(y_m) prod_i K(t_i - y_{m_i})
//!      = sum_{j in [0, n]^d} beta_j prod_i cos(pi j_i t_i)
//! ```
//!
//! is a cosine polynomial with `beta_j = prod_i (e_{j_i} rho_{j_i}) C_j` (`e_0 = 1`,
//! `e_j = 2`, `C_j` the discrete cosine transform of the samples). Because the discrete
//! averages of `K` and of `sin^2(pi t / 2) K` are exact for these degrees, the
//! Korovkin-Jackson argument gives, for every `delta > 0` (derivation in
//! `docs/approximation.md`),
//!
//! ```text
//! |T(t) - f(t)| <= sum_i omega_i(L_i delta) (1 + delta* / delta),    delta* = sqrt((1 - rho_1) / 2),
//! ```
//!
//! with `L_i = hi_i - lo_i` (for a Lipschitz axis the bound is `Lambda_i L_i delta*`).
//!
//! **The kernel.** Fejér–Korovkin (Korovkin 1959; Fejér 1915): `K = |sum_{k=0}^n
//! sin((k+1) phi) e^{i k theta}|^2` normalised, `phi = pi / (n + 2)`, non-negative by
//! construction, with the largest possible `rho_1 = cos(phi)` among non-negative cosine
//! polynomials of degree `n`, so `delta* = sin(phi / 2) ~ pi / (2n)`. Its coefficients are
//!
//! ```text
//! rho_j = ((n - j + 1) cos(j phi) + sin((j + 1) phi) / sin(phi)) / (n + 2).
//! ```

use crate::approximation::error::{ApproximationError, Result, positive};
use crate::approximation::modulus::Modulus;
use crate::approximation::rounding::{UNIT_ROUNDOFF, gamma};
use crate::approximation::target::Target;

/// The Fejér–Korovkin coefficients `rho_0 = 1, rho_1 = cos(pi/(n+2)), ..., rho_n`.
pub fn fejer_korovkin(n: usize) -> Vec<f64> {
    let phi = std::f64::consts::PI / (n as f64 + 2.0);
    let s1 = phi.sin();
    (0..=n)
        .map(|j| {
            let jf = j as f64;
            (((n as f64) - jf + 1.0) * (jf * phi).cos() + ((jf + 1.0) * phi).sin() / s1) / (n as f64 + 2.0)
        })
        .collect()
}

/// `delta* = sqrt((1 - rho_1) / 2) = sin(pi / (2 (n + 2)))` for the Fejér–Korovkin kernel of
/// degree `n` (inflated by `1e-12` relative).
pub fn jackson_delta(n: usize) -> f64 {
    (std::f64::consts::PI / (2.0 * (n as f64 + 2.0))).sin() * (1.0 + 1e-12)
}

/// The per-axis Jackson bound `inf_delta omega(L delta) (1 + delta*/delta)`, taken over the
/// geometric grid `delta = delta* 2^(k/8)`, `|k| <= 320` (any `delta` gives a valid bound;
/// the grid only decides how close to the infimum it gets). Exact for Lipschitz moduli.
pub fn jackson_axis_bound(modulus: &Modulus, length: f64, n: usize) -> f64 {
    let ds = jackson_delta(n);
    if let Some(l) = modulus.lipschitz_constant() {
        return l * length * ds * (1.0 + 1e-12);
    }
    (-320..=320)
        .map(|k| ds * 2f64.powf(k as f64 / 8.0))
        .map(|d| modulus.eval(length * d) * (1.0 + ds / d))
        .fold(f64::INFINITY, f64::min)
        * (1.0 + 1e-12)
}

/// The Jackson bound summed over the axes of a target.
pub fn jackson_bound(target: &Target<'_>, n: usize) -> f64 {
    (0..target.dim()).map(|i| jackson_axis_bound(target.modulus(i), target.hi()[i] - target.lo()[i], n)).sum()
}

/// The smallest degree `n` with `jackson_bound(n) <= e`, or `None` above `n_max`.
pub fn jackson_degree(target: &Target<'_>, e: f64, n_max: usize) -> Result<Option<usize>> {
    positive("jackson_degree", "e", e)?;
    if jackson_bound(target, 0) <= e {
        return Ok(Some(0));
    }
    let mut hi = 1usize;
    while jackson_bound(target, hi) > e {
        if hi >= n_max {
            return Ok(None);
        }
        hi = (hi * 2).min(n_max);
    }
    let mut lo = hi / 2; // bound(lo) > e or lo = 0 with bound(0) > e
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if jackson_bound(target, mid) <= e {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    Ok(Some(hi))
}

/// A cosine polynomial `T(t) = sum_{j in [0, n]^d} beta_j prod_i cos(pi j_i t_i)` on the
/// box, `t_i = (x_i - lo_i) / (hi_i - lo_i)`, with the terms of its certificate.
#[derive(Clone, Debug)]
pub struct CosineSeries {
    /// Lower corner of the box.
    pub lo: Vec<f64>,
    /// Upper corner of the box.
    pub hi: Vec<f64>,
    /// Degree `n` per axis.
    pub degree: usize,
    /// Coefficients `beta_j`, row-major over `j in [0, n]^d` (the last axis fastest).
    pub coefficients: Vec<f64>,
    /// The Jackson bound on `|T - f|` for the exact coefficients.
    pub jackson: f64,
    /// A bound on `sum_j |beta_j(computed) - beta_j(exact)|`, the rounding of the transform.
    pub coefficient_rounding: f64,
    /// Samples per unit length `M` (the transform used `2M` per period).
    pub samples: usize,
}

impl CosineSeries {
    /// The dimension.
    pub fn dim(&self) -> usize {
        self.lo.len()
    }

    /// `T(x)` by direct summation (a reference; cost `(n + 1)^d`).
    pub fn eval(&self, x: &[f64]) -> f64 {
        let d = self.dim();
        let n1 = self.degree + 1;
        let cosines: Vec<Vec<f64>> = (0..d)
            .map(|i| {
                let t = (x[i] - self.lo[i]) / (self.hi[i] - self.lo[i]);
                (0..n1).map(|j| (std::f64::consts::PI * j as f64 * t).cos()).collect()
            })
            .collect();
        let mut total = 0.0;
        for (flat, beta) in self.coefficients.iter().enumerate() {
            let mut rest = flat;
            let mut p = *beta;
            for i in (0..d).rev() {
                p *= cosines[i][rest % n1];
                rest /= n1;
            }
            total += p;
        }
        total
    }
}

/// The certified cosine approximation of degree `n` (see the module documentation). `eps`
/// is the caller's accuracy, named in a refusal; `work_limit` `(M + 1)^d (n + 1) d`, the transform's multiply-adds.
pub fn cosine_series(
    op: &'static str,
    target: &Target<'_>,
    n: usize,
    eps: f64,
    work_limit: u128,
) -> Result<CosineSeries> {
    let d = target.dim();
    let m = n / 2 + 2; // 2M > n + 1
    let work = (m as u128 + 1).pow(d as u32) * (n as u128 + 1) * d as u128;
    if work > work_limit {
        return Err(ApproximationError::TooMuchWork {
            op,
            argument: "eps",
            value: eps,
            work,
            limit: work_limit,
            detail: format!("the cosine transform of degree {n} in {d} dimension(s), (M + 1)^d (n + 1) d with M = {m}"),
        });
    }
    let (lo, hi) = (target.lo().to_vec(), target.hi().to_vec());
    let m1 = m + 1;
    // samples of the target at t = k / M, k = 0..=M on every axis (row-major, last axis fastest)
    let total = m1.pow(d as u32);
    let mut samples = Vec::with_capacity(total);
    let mut point = vec![0.0; d];
    let mut g_max = 0.0f64;
    for flat in 0..total {
        let mut rest = flat;
        for i in (0..d).rev() {
            let k = rest % m1;
            rest /= m1;
            point[i] = if k == m { hi[i] } else { lo[i] + (hi[i] - lo[i]) * (k as f64 / m as f64) };
        }
        let v = target.eval_in(op, &point)?;
        g_max = g_max.max(v.abs());
        samples.push(v);
    }
    // cos(pi r / M), r = 0..2M-1, indexed by (j k) mod 2M
    let table: Vec<f64> = (0..2 * m).map(|r| (std::f64::consts::PI * r as f64 / m as f64).cos()).collect();
    // transform axis by axis: C_j = (1/2M) [g_0 + (-1)^j g_M + 2 sum_{k=1}^{M-1} g_k cos(pi j k / M)]
    let mut data = samples;
    let mut shape = vec![m1; d];
    for axis in 0..d {
        let outer: usize = shape[..axis].iter().product();
        let inner: usize = shape[axis + 1..].iter().product();
        let mut next = vec![0.0; outer * (n + 1) * inner];
        for o in 0..outer {
            for j in 0..=n {
                let sign = if j % 2 == 0 { 1.0 } else { -1.0 };
                for q in 0..inner {
                    let at = |k: usize| data[(o * m1 + k) * inner + q];
                    let mut s = at(0) + sign * at(m);
                    for k in 1..m {
                        s += 2.0 * at(k) * table[(j * k) % (2 * m)];
                    }
                    next[(o * (n + 1) + j) * inner + q] = s / (2.0 * m as f64);
                }
            }
        }
        data = next;
        shape[axis] = n + 1;
    }
    let rho = fejer_korovkin(n);
    let weight = |j: usize| if j == 0 { rho[0] } else { 2.0 * rho[j] };
    let mut coefficients = data;
    let mut weight_sum = 0.0;
    for (flat, c) in coefficients.iter_mut().enumerate() {
        let mut rest = flat;
        let mut w = 1.0;
        for _ in 0..d {
            w *= weight(rest % (n + 1));
            rest /= n + 1;
        }
        *c *= w;
        weight_sum += w.abs();
    }
    // each transform sums 2M terms of size <= g_max with cosines off by <= u: gamma(M + 3)
    // per axis, then d + 1 multiplications by the weights
    let coefficient_rounding =
        gamma(d * (m + 4) + d + 2) * g_max * weight_sum * (1.0 + 1e-6) + 4.0 * UNIT_ROUNDOFF * f64::MIN_POSITIVE;
    Ok(CosineSeries {
        lo,
        hi,
        degree: n,
        coefficients,
        jackson: jackson_bound(target, n),
        coefficient_rounding,
        samples: m,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fejer_korovkin_coefficients_are_the_autocorrelation() {
        for n in [0, 1, 2, 5, 17] {
            let phi = std::f64::consts::PI / (n as f64 + 2.0);
            let c: Vec<f64> = (0..=n).map(|k| ((k as f64 + 1.0) * phi).sin()).collect();
            let norm: f64 = c.iter().map(|x| x * x).sum();
            let rho = fejer_korovkin(n);
            for j in 0..=n {
                let auto: f64 = (0..=n - j).map(|k| c[k] * c[k + j]).sum::<f64>() / norm;
                assert!((rho[j] - auto).abs() < 1e-13, "n {n} j {j}: {} vs {auto}", rho[j]);
            }
            if n >= 1 {
                assert!((rho[1] - phi.cos()).abs() < 1e-14);
            }
            // the kernel is non-negative (a squared modulus)
            for i in 0..400 {
                let t = -1.0 + i as f64 / 200.0;
                let k = 1.0 + 2.0 * (1..=n).map(|j| rho[j] * (std::f64::consts::PI * j as f64 * t).cos()).sum::<f64>();
                assert!(k >= -1e-12, "K({t}) = {k} for n = {n}");
            }
        }
    }

    #[test]
    fn the_series_of_a_cosine_polynomial_is_damped_by_rho() {
        // f(x, y) = cos(pi x) + 0.5 cos(2 pi y) cos(pi x): the transform is exact and T has
        // beta_(1,0) = rho_1, beta_(1,2) = 0.5 rho_1 rho_2
        let t = Target::new(
            |x: &[f64]| (std::f64::consts::PI * x[0]).cos() * (1.0 + 0.5 * (2.0 * std::f64::consts::PI * x[1]).cos()),
            &[0.0, 0.0],
            &[1.0, 1.0],
            vec![Modulus::lipschitz(5.0).unwrap()],
        )
        .unwrap();
        let n = 6;
        let s = cosine_series("test", &t, n, 1.0, u128::MAX).unwrap();
        let rho = fejer_korovkin(n);
        let at = |j0: usize, j1: usize| s.coefficients[j0 * (n + 1) + j1];
        assert!((at(1, 0) - rho[1]).abs() < 1e-14, "{}", at(1, 0));
        assert!((at(1, 2) - 0.5 * rho[1] * rho[2]).abs() < 1e-14, "{}", at(1, 2));
        let others: f64 = s.coefficients.iter().map(|c| c.abs()).sum::<f64>() - at(1, 0).abs() - at(1, 2).abs();
        assert!(others < 1e-13, "{others}");
    }

    #[test]
    fn jackson_bound_holds_for_a_kink() {
        let t = Target::new_1d(|x: f64| (x - 0.3).abs(), 0.0, 1.0, Modulus::lipschitz(1.0).unwrap()).unwrap();
        for n in [4, 16, 64] {
            let s = cosine_series("test", &t, n, 1.0, u128::MAX).unwrap();
            let worst = (0..=4000)
                .map(|i| i as f64 / 4000.0)
                .map(|x| (s.eval(&[x]) - (x - 0.3).abs()).abs())
                .fold(0.0, f64::max);
            assert!(worst <= s.jackson + s.coefficient_rounding, "n {n}: {worst} > {}", s.jackson);
            // and the bound is not vacuous: within a factor 4 of the measured error
            assert!(worst > s.jackson / 4.0, "n {n}: {worst} vs {}", s.jackson);
        }
    }
}
