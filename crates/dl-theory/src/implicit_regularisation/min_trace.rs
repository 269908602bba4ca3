//! The minimum-trace positive semi-definite solution of linear measurements (equivalently,
//! the minimum nuclear norm over PSD matrices), by ADMM, with a certified lower bound from
//! its dual variable.
//!
//! Problem: `min tr(X)` subject to `⟨A_i, X⟩ = y_i` (`i = 1..m`) and `X ⪰ 0`.
//!
//! **ADMM** (Boyd, Parikh, Chu, Peleato & Eckstein 2011, Section 5) on the splitting
//! `f(X) = [A(X) = y]`, `g(Z) = tr(Z) + [Z ⪰ 0]`, `X = Z`, in scaled form:
//!
//! - `X ← P_affine(Z − U) = V − A*((A A*)⁻¹ (A(V) − y))` with `V = Z − U` (the Gram matrix
//!   `A A* = (⟨A_i, A_j⟩)` is factorised once by Cholesky);
//! - `Z ← prox_{g/ρ}(X + U) = Q diag(max(λ_i − 1/ρ, 0)) Qᵀ` from the eigendecomposition
//!   `X + U = Q diag(λ) Qᵀ`;
//! - `U ← U + X − Z`;
//!
//! with `ρ` balanced between the primal residual `‖X − Z‖` and the dual residual
//! `ρ ‖Z − Z_prev‖` (Boyd et al., Section 3.4.1: ×2 or ÷2 when one exceeds ten times the
//! other, `U` rescaled with it).
//!
//! **Certificate**. The dual is `max yᵀν` subject to `I − A*(ν) ⪰ 0`. With `ν` the
//! least-squares coefficients of `ρ U` on the measurement matrices (`A*(ν)` is the
//! projection of `ρU` onto their span; at the optimum `ρU = A*(ν*)` exactly) and
//! `S = I − A*(ν)`, every feasible `X' ⪰ 0` satisfies
//! `tr(X') = ⟨S, X'⟩ + yᵀν ≥ λ_min(S) tr(X') + yᵀν`, so
//! `tr(X') ≥ yᵀν / (1 + max(0, −λ_min(S)))`: a lower bound on the optimum that holds
//! whatever the iterate, and meets `tr(Z)` at convergence.

use dl_tensor::Tensor;
use faer::Side;
use faer::linalg::solvers::Solve;
use ndarray::{Array1, Array2};

use super::sensing::SensingOperator;
use super::{ImplicitRegularisationError, Result, invalid};
use crate::least_squares::matrix::{frobenius, from_faer, to_faer, to_tensor};
use crate::least_squares::symmetric_eigen;

/// Settings of [`min_trace_psd`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdmmOptions {
    /// The initial penalty `ρ` (then balanced).
    pub rho: f64,
    /// The most iterations.
    pub max_iterations: usize,
    /// Stop once the relative infeasibility `‖A(Z) − y‖ / ‖y‖` and the relative certified
    /// gap `(tr(Z) − bound) / tr(Z)` are both at most this.
    pub tolerance: f64,
}

impl Default for AdmmOptions {
    /// `ρ = 1`, 50 000 iterations, tolerance 1e-9.
    fn default() -> Self {
        AdmmOptions { rho: 1.0, max_iterations: 50_000, tolerance: 1e-9 }
    }
}

/// The solution and its certificate.
#[derive(Clone, Debug, PartialEq)]
pub struct MinTraceSolution {
    /// `Z`, positive semi-definite by construction.
    pub x: Tensor<f64>,
    /// `tr(Z)`.
    pub trace: f64,
    /// The certified lower bound on the optimal trace.
    pub lower_bound: f64,
    /// `(tr(Z) − lower_bound) / tr(Z)`.
    pub relative_gap: f64,
    /// `‖A(Z) − y‖ / ‖y‖`.
    pub infeasibility: f64,
    /// Iterations made.
    pub iterations: usize,
    /// Whether both tolerances were met.
    pub converged: bool,
}

/// Solves `min tr(X)` subject to `A(X) = y`, `X ⪰ 0` (see the module documentation).
///
/// Errors: `y` of the wrong length or non-finite, linearly dependent measurement matrices
/// (a singular Gram matrix), bad options.
pub fn min_trace_psd(op: &SensingOperator, y: &[f64], options: &AdmmOptions) -> Result<MinTraceSolution> {
    let name = "min_trace_psd";
    let yv = op.check_values(name, y)?;
    if !(options.rho.is_finite() && options.rho > 0.0) {
        return Err(invalid(name, "rho", options.rho, "must be finite and positive"));
    }
    if !(options.tolerance.is_finite() && options.tolerance > 0.0) {
        return Err(invalid(name, "tolerance", options.tolerance, "must be finite and positive"));
    }
    let d = op.dim();
    let gram = to_faer(op.gram().view());
    let chol = gram.llt(Side::Lower).map_err(|e| ImplicitRegularisationError::InvalidArgument {
        op: name,
        name: "measurements",
        value: format!("{} matrices of size {d}x{d}", op.len()),
        requirement: format!(
            "the measurement matrices must be linearly independent (the Gram matrix is singular: {e:?})"
        ),
    })?;
    let solve_gram = |v: &Array1<f64>| -> Array1<f64> {
        let rhs = Array2::from_shape_vec((v.len(), 1), v.to_vec()).expect("column");
        from_faer(chol.solve(to_faer(rhs.view())).as_ref()).column(0).to_owned()
    };
    let y_norm = yv.dot(&yv).sqrt().max(f64::MIN_POSITIVE);
    let mut rho = options.rho;
    let mut z = Array2::<f64>::zeros((d, d));
    let mut u = Array2::<f64>::zeros((d, d));
    let mut best: Option<MinTraceSolution> = None;
    for it in 1..=options.max_iterations {
        let v = &z - &u;
        let nu = solve_gram(&(op.apply(v.view()) - &yv));
        let x = &v - &op.adjoint(&nu);
        let z_prev = z.clone();
        let (lambda, q) = symmetric_eigen(name, (&x + &u).view())?;
        let shrunk: Vec<f64> = lambda.iter().map(|l| (l - 1.0 / rho).max(0.0)).collect();
        z = reconstruct(&q, &shrunk);
        u = &u + &(&x - &z);
        let primal = frobenius((&x - &z).view());
        let dual = rho * frobenius((&z - &z_prev).view());
        if it % 10 == 0 || it == options.max_iterations {
            let sol = certify(name, op, &yv, y_norm, &z, &u, rho, it, &solve_gram, options.tolerance)?;
            let done = sol.converged || it == options.max_iterations;
            best = Some(sol);
            if done {
                break;
            }
        }
        // residual balancing; the scaled dual U = (1/ρ) × (unscaled dual) is rescaled
        if primal > 10.0 * dual {
            rho *= 2.0;
            u /= 2.0;
        } else if dual > 10.0 * primal {
            rho /= 2.0;
            u *= 2.0;
        }
    }
    Ok(best.expect("max_iterations >= 1 records a solution"))
}

/// `Q diag(s) Qᵀ`.
fn reconstruct(q: &Array2<f64>, s: &[f64]) -> Array2<f64> {
    let mut qs = q.clone();
    for (mut col, &v) in qs.columns_mut().into_iter().zip(s) {
        col *= v;
    }
    crate::least_squares::matrix::a_b(qs.view(), q.t())
}

#[allow(clippy::too_many_arguments)]
fn certify(
    name: &'static str,
    op: &SensingOperator,
    y: &Array1<f64>,
    y_norm: f64,
    z: &Array2<f64>,
    u: &Array2<f64>,
    rho: f64,
    iterations: usize,
    solve_gram: &dyn Fn(&Array1<f64>) -> Array1<f64>,
    tolerance: f64,
) -> Result<MinTraceSolution> {
    let d = op.dim();
    let nu = solve_gram(&op.apply((u * rho).view()));
    let s = Array2::<f64>::eye(d) - op.adjoint(&nu);
    let (ev, _) = symmetric_eigen(name, s.view())?;
    let lambda_min = ev[0];
    let lower_bound = (y.dot(&nu) / (1.0 + (-lambda_min).max(0.0))).max(0.0);
    let trace = z.diag().sum();
    let r = op.apply(z.view()) - y;
    let infeasibility = r.dot(&r).sqrt() / y_norm;
    let relative_gap = if trace > 0.0 { (trace - lower_bound) / trace } else { 0.0 };
    Ok(MinTraceSolution {
        x: to_tensor(z.clone()),
        trace,
        lower_bound,
        relative_gap,
        infeasibility,
        iterations,
        converged: infeasibility <= tolerance && relative_gap.abs() <= tolerance,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use dl_tensor::seeded_rng;

    fn low_rank(d: usize, r: usize, seed: u64) -> Tensor<f64> {
        let mut rng = seeded_rng(seed);
        let v = Tensor::<f64>::randn(&[d, r], &mut rng);
        v.matmul(&v.transpose(0, 1).unwrap()).unwrap()
    }

    #[test]
    fn recovers_a_low_rank_matrix_from_enough_gaussian_measurements() {
        // rank 1 in 8x8 has 8 degrees of freedom; 30 measurements are far above the
        // recovery threshold, so the minimum-trace solution is the ground truth
        let x_star = low_rank(8, 1, 0);
        let op = SensingOperator::gaussian(8, 30, &mut seeded_rng(1)).unwrap();
        let y = op.measure(&x_star).unwrap();
        let sol = min_trace_psd(&op, &y, &AdmmOptions::default()).unwrap();
        assert!(sol.converged, "{sol:?}");
        let diff: f64 = sol.x.to_vec().iter().zip(x_star.to_vec()).map(|(a, b)| (a - b).powi(2)).sum::<f64>().sqrt();
        let norm: f64 = x_star.to_vec().iter().map(|a| a * a).sum::<f64>().sqrt();
        assert!(diff / norm < 1e-6, "relative distance to the ground truth {}", diff / norm);
    }

    #[test]
    fn the_certificate_bounds_every_feasible_psd_matrix() {
        // few measurements: the minimum-trace solution need not be the ground truth, but its
        // trace can never exceed the ground truth's (a feasible point), and the certified
        // bound lies below both
        let x_star = low_rank(6, 2, 2);
        let op = SensingOperator::gaussian(6, 9, &mut seeded_rng(3)).unwrap();
        let y = op.measure(&x_star).unwrap();
        let sol = min_trace_psd(&op, &y, &AdmmOptions::default()).unwrap();
        assert!(sol.converged, "{sol:?}");
        let tr_star: f64 = (0..6).map(|i| x_star.to_vec()[i * 7]).sum();
        assert!(sol.lower_bound <= tr_star * (1.0 + 1e-12));
        assert!(sol.trace <= tr_star * (1.0 + 1e-8), "{} vs ground truth {tr_star}", sol.trace);
        assert!(sol.infeasibility <= 1e-9 && sol.relative_gap <= 1e-9);
        // Z is positive semi-definite
        let (ev, _) =
            symmetric_eigen("test", ndarray::Array2::from_shape_vec((6, 6), sol.x.to_vec()).unwrap().view()).unwrap();
        assert!(ev[0] >= -1e-12 * ev[5]);
    }

    #[test]
    fn completion_of_a_diagonal_only_gives_the_observed_diagonal() {
        // observing only the diagonal: the minimum-trace PSD completion is diag(y) (the
        // trace is fixed; ADMM must still return a feasible PSD point)
        let op = SensingOperator::completion(3, &[(0, 0), (1, 1), (2, 2)]).unwrap();
        let sol = min_trace_psd(&op, &[1.0, 2.0, 3.0], &AdmmOptions::default()).unwrap();
        assert!((sol.trace - 6.0).abs() < 1e-8 && sol.infeasibility < 1e-9, "{sol:?}");
    }

    #[test]
    fn dependent_measurements_and_bad_options_are_errors() {
        let a = Tensor::from_vec(vec![1.0, 0.0, 0.0, 0.0], &[2, 2]).unwrap();
        let op = SensingOperator::from_matrices(&[a.clone(), a]).unwrap();
        let e = min_trace_psd(&op, &[1.0, 1.0], &AdmmOptions::default()).unwrap_err().to_string();
        assert!(e.contains("linearly independent"), "{e}");
        let op = SensingOperator::completion(2, &[(0, 0)]).unwrap();
        assert!(min_trace_psd(&op, &[1.0], &AdmmOptions { rho: -1.0, ..AdmmOptions::default() }).is_err());
        assert!(min_trace_psd(&op, &[1.0, 2.0], &AdmmOptions::default()).is_err());
    }
}
