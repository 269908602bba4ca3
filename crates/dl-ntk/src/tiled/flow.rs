//! Gradient-flow predictions at a finite time on a tiled kernel, in memory bounded by a
//! budget in bytes.
//!
//! **Finite `t`: a Chebyshev polynomial.** The prediction of [`crate::predict::GradientFlow`]
//! needs `w = phi(K) r_0` with `phi(lambda) = (1 - e^{-a lambda}) / lambda`, `a = eta t / N`
//! (`phi(0) = a`). [`gradient_flow_tiled`] bounds the spectrum by Gershgorin's
//! `L = max_i sum_j |K_ij|` (one pass; `K` is positive semi-definite, so its spectrum lies
//! in `[0, L]`), expands `phi` on `[0, L]` in Chebyshev polynomials
//! `phi(lambda) ~ c_0 / 2 + sum_{k=1}^{d} c_k T_k(2 lambda / L - 1)` (coefficients by the
//! discrete cosine transform at `M` Chebyshev nodes, `M` doubled until the last half of
//! the coefficients is at rounding level), truncates at the smallest degree `d` with
//! `sum_{k>d} |c_k| <= tol sum_k |c_k|`, and evaluates the polynomial at `K` by Clenshaw's
//! recurrence `b_k = c_k r_0 + 2 T(b_{k+1}) - b_{k+2}`, `w = c_0 r_0 / 2 + T(b_1) - b_2` with
//! `T(v) = 2 K v / L - v`: `d` passes. Since `|T_k| <= 1` on `[-1, 1]`,
//! `||w - phi(K) r_0|| <= (sum_{k>d} |c_k|) ||r_0||`. The degree grows like
//! `sqrt(a L)` for large `a L` (that of `e^{-z}` on `[0, a L]`).

use dl_tensor::Tensor;
use ndarray::Array2;

use super::operator::TiledKernel;
use super::solve::{TiledFit, TiledMethod, TiledOptions};
use crate::error::{NtkError, Result, positive};
use crate::matrix::to_tensor;
use crate::predict::{check_time, flow_factor, targets};

/// The Chebyshev coefficients of `phi` on `[0, bound]` from `m` nodes (DCT-II; `c_0` not halved).
fn chebyshev_coefficients(a: f64, bound: f64, m: usize) -> Vec<f64> {
    let values: Vec<f64> = (0..m)
        .map(|j| {
            let theta = std::f64::consts::PI * (j as f64 + 0.5) / m as f64;
            flow_factor(a, 0.5 * bound * (1.0 + theta.cos()))
        })
        .collect();
    // cos(pi k (2j + 1) / (2m)) = table[k (2j + 1) mod 4m]
    let table: Vec<f64> = (0..4 * m).map(|s| (std::f64::consts::PI * s as f64 / (2 * m) as f64).cos()).collect();
    (0..m)
        .map(|k| {
            let s: f64 = values.iter().enumerate().map(|(j, v)| v * table[(k * (2 * j + 1)) % (4 * m)]).sum();
            2.0 * s / m as f64
        })
        .collect()
}

/// The gradient-flow coefficients `w = phi(K) r_0` at a finite time `t` (see the module
/// documentation), `r_0 = Y - f_0(X)` given as `residual` `(N, k)`; `f_t(X*) = f_0(X*) +
/// K(X*, X) w`. Working set: one pass and 5 vectors of `(N, k)`. `t = infinity` is an
/// error: use [`kernel_regression_tiled`](super::kernel_regression_tiled).
pub fn gradient_flow_tiled(
    kernel: &TiledKernel<'_>,
    residual: &Tensor<f64>,
    learning_rate: f64,
    t: f64,
    options: TiledOptions,
) -> Result<TiledFit> {
    let op = "gradient_flow_tiled";
    let n = kernel.n();
    let r0 = targets(op, "residual", residual, n)?;
    let k = r0.ncols();
    let working_set = kernel.check_budget(op, options.budget_bytes, 5, k, 0)?;
    positive(op, "learning_rate", learning_rate)?;
    positive(op, "tolerance", options.tolerance)?;
    let t = check_time(op, t)?;
    if t.is_infinite() {
        return Err(NtkError::InvalidArgument {
            op,
            name: "t",
            value: t,
            requirement: "must be finite here; t = infinity is kernel_regression_tiled",
        });
    }
    let a = learning_rate * t / n as f64;
    let bound = kernel.gershgorin_bound()?;
    if !(bound > 0.0 && bound.is_finite()) {
        return Err(NtkError::LinearAlgebra { op, detail: format!("the kernel's Gershgorin bound is {bound}") });
    }
    // coefficients: double the nodes until the last half is at rounding level
    let mut m = 32;
    let coeffs = loop {
        let c = chebyshev_coefficients(a, bound, m);
        let total: f64 = c.iter().map(|v| v.abs()).sum();
        let tail = c[m / 2..].iter().map(|v| v.abs()).fold(0.0, f64::max);
        if tail <= 1e-15 * total || m >= 1 << 14 {
            break c;
        }
        m *= 2;
    };
    let total: f64 = coeffs.iter().map(|v| v.abs()).sum();
    let mut degree = coeffs.len() - 1;
    let mut dropped = 0.0;
    while degree > 0 && dropped + coeffs[degree].abs() <= options.tolerance * total {
        dropped += coeffs[degree].abs();
        degree -= 1;
    }
    if degree > options.max_passes {
        return Err(NtkError::LinearAlgebra {
            op,
            detail: format!(
                "phi on [0, {bound:e}] with a = {a:e} needs a Chebyshev degree {degree} > max_passes = {} (a t that long is near t = infinity: use kernel_regression_tiled)",
                options.max_passes
            ),
        });
    }
    // Clenshaw with T(v) = 2 K v / L - v
    let t_of = |v: &Array2<f64>| -> Result<Array2<f64>> {
        let mut q = kernel.apply(v.view())?;
        q *= 2.0 / bound;
        q -= v;
        Ok(q)
    };
    let mut b2 = Array2::<f64>::zeros((n, k));
    let mut b1 = Array2::<f64>::zeros((n, k));
    let mut passes = 0;
    for kk in (1..=degree).rev() {
        let mut b = if kk == degree {
            Array2::zeros((n, k))
        } else {
            passes += 1;
            if let Some(f) = options.progress {
                f(passes, f64::NAN);
            }
            let mut tb = t_of(&b1)?;
            tb *= 2.0;
            tb
        };
        b.scaled_add(coeffs[kk], &r0);
        b -= &b2;
        b2 = std::mem::replace(&mut b1, b);
    }
    let mut w = if degree >= 1 {
        passes += 1;
        t_of(&b1)?
    } else {
        Array2::zeros((n, k))
    };
    w.scaled_add(0.5 * coeffs[0], &r0);
    w -= &b2;
    Ok(TiledFit {
        coefficients: to_tensor(w),
        method: TiledMethod::Chebyshev { degree, lambda_bound: bound, truncation: dropped + total * 1e-16 },
        passes: passes + 1,
        working_set,
    })
}
