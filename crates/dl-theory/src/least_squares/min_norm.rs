//! The minimum-norm least-squares solution and ridge regression from one thin SVD
//! (equations in the module documentation of [`crate::least_squares`]).

use dl_tensor::Tensor;
use ndarray::{Array2, ArrayView2};

use super::decompose::Svd;
use super::matrix::{a_b, matrix, targets, to_tensor_shaped};
use super::{LeastSquaresError, Result};

/// The default relative cut-off of the pseudo-inverse for an `(n, p)` matrix:
/// `max(n, p) · ε` (LAPACK's `xGELSD` and NumPy's `lstsq` rule), `ε = 2⁻⁵²`.
pub fn default_rcond(n: usize, p: usize) -> f64 {
    n.max(p) as f64 * f64::EPSILON
}

/// The minimum-norm solution `x⁺ = A⁺ b` and what the pseudo-inverse kept.
#[derive(Clone, Debug, PartialEq)]
pub struct MinNormSolution {
    /// `x⁺`, shape `(p,)` for a vector `b`, `(p, k)` for a matrix `b`.
    pub coefficients: Tensor<f64>,
    /// Number of singular values above the cut-off.
    pub rank: usize,
    /// The relative cut-off used.
    pub rcond: f64,
    /// The absolute cut-off `rcond · σ_1`: singular values at or below it are treated as 0.
    pub cutoff: f64,
    /// The smallest singular value kept (`None` when `A = 0`).
    pub smallest_retained_singular_value: Option<f64>,
    /// Every singular value, non-increasing.
    pub singular_values: Vec<f64>,
}

/// A design matrix `A` factorised once (thin SVD), to solve for several right-hand sides
/// or ridge parameters.
#[derive(Clone, Debug, PartialEq)]
pub struct LeastSquares {
    svd: Svd,
    shape: [usize; 2],
}

impl LeastSquares {
    /// Factorises `a` of shape `(n, p)`.
    ///
    /// Errors: `a` not a non-empty matrix, a non-finite entry, an SVD failure.
    pub fn new(a: &Tensor<f64>) -> Result<Self> {
        let op = "LeastSquares::new";
        let a = matrix(op, "the design matrix", a)?;
        Self::from_array(op, a.view())
    }

    /// Factorises an `ndarray` matrix; `op` names the caller in errors.
    pub(crate) fn from_array(op: &'static str, a: ArrayView2<'_, f64>) -> Result<Self> {
        let svd = Svd::new(op, a)?;
        Ok(LeastSquares { svd, shape: [a.nrows(), a.ncols()] })
    }

    /// `[n, p]`.
    pub fn shape(&self) -> [usize; 2] {
        self.shape
    }

    /// The singular values, non-increasing.
    pub fn singular_values(&self) -> &[f64] {
        &self.svd.s
    }

    /// The decomposition itself.
    pub fn svd(&self) -> &Svd {
        &self.svd
    }

    /// The minimum-norm solution for `b` of shape `(n,)` or `(n, k)`, with relative cut-off
    /// `rcond` (default [`default_rcond`]).
    ///
    /// Errors: `b` of the wrong shape or non-finite, `rcond` outside `[0, 1)`.
    pub fn min_norm(&self, b: &Tensor<f64>, rcond: Option<f64>) -> Result<MinNormSolution> {
        let op = "LeastSquares::min_norm";
        let (b, as_vector) = targets(op, "the right-hand side", b, self.shape[0], &self.shape)?;
        let rcond = self.checked_rcond(op, rcond)?;
        let (x, rank, cutoff) = self.min_norm_array(b.view(), rcond);
        Ok(MinNormSolution {
            coefficients: to_tensor_shaped(x, as_vector),
            rank,
            rcond,
            cutoff,
            smallest_retained_singular_value: rank.checked_sub(1).map(|i| self.svd.s[i]),
            singular_values: self.svd.s.clone(),
        })
    }

    /// `rcond`, or the default, after checking it lies in `[0, 1)`.
    pub(crate) fn checked_rcond(&self, op: &'static str, rcond: Option<f64>) -> Result<f64> {
        let r = rcond.unwrap_or_else(|| default_rcond(self.shape[0], self.shape[1]));
        if !(r.is_finite() && (0.0..1.0).contains(&r)) {
            return Err(LeastSquaresError::InvalidArgument {
                op,
                name: "rcond",
                value: r,
                requirement: "must lie in [0, 1)",
            });
        }
        Ok(r)
    }

    /// `A⁺ b` for `b` of shape `(n, k)` (checked by the caller), with the rank and the
    /// absolute cut-off.
    pub(crate) fn min_norm_array(&self, b: ArrayView2<'_, f64>, rcond: f64) -> (Array2<f64>, usize, f64) {
        let cutoff = rcond * self.svd.s.first().copied().unwrap_or(0.0);
        let rank = self.svd.s.iter().filter(|&&s| s > cutoff).count();
        let x = self.filtered(b, |s| if s > cutoff { 1.0 / s } else { 0.0 });
        (x, rank, cutoff)
    }

    /// The ridge solution `argmin ‖A x − b‖² + λ ‖x‖²` for `b` of shape `(n,)` or `(n, k)`.
    /// `λ = 0` gives the pseudo-inverse without cut-off.
    ///
    /// Errors: `b` of the wrong shape or non-finite, `λ` negative or non-finite.
    pub fn ridge(&self, b: &Tensor<f64>, lambda: f64) -> Result<Tensor<f64>> {
        let op = "LeastSquares::ridge";
        let (b, as_vector) = targets(op, "the right-hand side", b, self.shape[0], &self.shape)?;
        check_lambda(op, lambda)?;
        Ok(to_tensor_shaped(self.ridge_array(b.view(), lambda), as_vector))
    }

    /// The ridge solution for `b` of shape `(n, k)` (checked by the caller).
    pub(crate) fn ridge_array(&self, b: ArrayView2<'_, f64>, lambda: f64) -> Array2<f64> {
        self.filtered(b, |s| if s > 0.0 { s / (s * s + lambda) } else { 0.0 })
    }

    /// `V diag(f(σ_i)) Uᵀ b`: the spectral filter `f` applied to `b`.
    pub(crate) fn filtered(&self, b: ArrayView2<'_, f64>, f: impl Fn(f64) -> f64) -> Array2<f64> {
        let mut utb = a_b(self.svd.u.t(), b);
        for (mut row, &s) in utb.rows_mut().into_iter().zip(&self.svd.s) {
            row *= f(s);
        }
        a_b(self.svd.v.view(), utb.view())
    }
}

/// Checks a ridge parameter: finite and non-negative.
pub(crate) fn check_lambda(op: &'static str, lambda: f64) -> Result<()> {
    if lambda.is_finite() && lambda >= 0.0 {
        Ok(())
    } else {
        Err(LeastSquaresError::InvalidArgument {
            op,
            name: "lambda",
            value: lambda,
            requirement: "must be finite and non-negative",
        })
    }
}

/// The minimum-norm solution of `A x ≈ b` for `a` of shape `(n, p)` and `b` of shape `(n,)`
/// or `(n, k)`, with relative cut-off `rcond` (default [`default_rcond`]).
///
/// Errors: shapes that disagree (both shapes named), non-finite entries, `rcond` outside
/// `[0, 1)`.
pub fn min_norm_solution(a: &Tensor<f64>, b: &Tensor<f64>, rcond: Option<f64>) -> Result<MinNormSolution> {
    let op = "min_norm_solution";
    let m = matrix(op, "the design matrix", a)?;
    targets(op, "the right-hand side", b, m.nrows(), a.shape())?;
    LeastSquares::from_array(op, m.view())?.min_norm(b, rcond)
}

/// The ridge solution `argmin ‖A x − b‖² + λ ‖x‖² = V diag(σ / (σ² + λ)) Uᵀ b`.
///
/// Errors: as [`min_norm_solution`], and `λ` negative or non-finite.
pub fn ridge_solution(a: &Tensor<f64>, b: &Tensor<f64>, lambda: f64) -> Result<Tensor<f64>> {
    let op = "ridge_solution";
    let m = matrix(op, "the design matrix", a)?;
    targets(op, "the right-hand side", b, m.nrows(), a.shape())?;
    check_lambda(op, lambda)?;
    LeastSquares::from_array(op, m.view())?.ridge(b, lambda)
}

#[cfg(test)]
mod tests {
    use super::*;
    use dl_tensor::compare::{Tolerance, assert_close_slices};
    use dl_tensor::seeded_rng;

    use crate::least_squares::reference::gauss_solve;

    fn rows(a: &Tensor<f64>) -> Vec<Vec<f64>> {
        let (n, p) = (a.shape()[0], a.shape()[1]);
        let v = a.to_vec();
        (0..n).map(|i| v[i * p..(i + 1) * p].to_vec()).collect()
    }

    /// x = (AᵀA)⁻¹ Aᵀ b by direct loops and elimination.
    fn normal_equations(a: &Tensor<f64>, b: &[f64]) -> Vec<f64> {
        let r = rows(a);
        let p = r[0].len();
        let ata = (0..p).map(|i| (0..p).map(|j| r.iter().map(|row| row[i] * row[j]).sum()).collect()).collect();
        let atb = (0..p).map(|i| r.iter().zip(b).map(|(row, bi)| row[i] * bi).sum()).collect();
        gauss_solve(ata, atb)
    }

    /// x = Aᵀ (AAᵀ)⁻¹ b by direct loops and elimination.
    fn dual_formula(a: &Tensor<f64>, b: &[f64]) -> Vec<f64> {
        let r = rows(a);
        let (n, p) = (r.len(), r[0].len());
        let aat = (0..n).map(|i| (0..n).map(|j| (0..p).map(|k| r[i][k] * r[j][k]).sum()).collect()).collect();
        let z = gauss_solve(aat, b.to_vec());
        (0..p).map(|k| (0..n).map(|i| r[i][k] * z[i]).sum()).collect()
    }

    fn random(n: usize, p: usize, seed: u64) -> (Tensor<f64>, Tensor<f64>) {
        let mut rng = seeded_rng(seed);
        (Tensor::randn(&[n, p], &mut rng), Tensor::randn(&[n], &mut rng))
    }

    #[test]
    fn overdetermined_min_norm_is_the_normal_equations_solution() {
        let (a, b) = random(30, 8, 1);
        let sol = min_norm_solution(&a, &b, None).unwrap();
        assert_eq!(sol.rank, 8);
        // Gaussian 30x8: condition number of AᵀA ~ 10, so a few hundred ulps at most
        assert_close_slices(
            &sol.coefficients.to_vec(),
            &normal_equations(&a, &b.to_vec()),
            Tolerance::new(1e-11, 1e-13),
        );
    }

    #[test]
    fn underdetermined_min_norm_is_the_dual_formula_and_interpolates() {
        let (a, b) = random(8, 30, 2);
        let sol = min_norm_solution(&a, &b, None).unwrap();
        assert_eq!(sol.rank, 8);
        assert_close_slices(&sol.coefficients.to_vec(), &dual_formula(&a, &b.to_vec()), Tolerance::new(1e-11, 1e-13));
        let fit = a.matmul(&sol.coefficients.reshape(&[30, 1]).unwrap()).unwrap().to_vec();
        assert_close_slices(&fit, &b.to_vec(), Tolerance::new(1e-12, 1e-13));
    }

    #[test]
    fn rank_deficient_min_norm_lies_in_the_row_space() {
        // A = u vᵀ has rank 1; A⁺ b = v (uᵀ b) / (‖u‖² ‖v‖²)
        let u = [1.0, 2.0, -1.0];
        let v = [3.0, 0.0, 4.0, 1.0];
        let a = Tensor::from_vec(u.iter().flat_map(|ui| v.iter().map(move |vj| ui * vj)).collect(), &[3, 4]).unwrap();
        let b = Tensor::from_vec(vec![1.0, 1.0, 1.0], &[3]).unwrap();
        let sol = min_norm_solution(&a, &b, None).unwrap();
        assert_eq!(sol.rank, 1);
        let (uu, vv, ub) = (6.0, 26.0, 2.0);
        let expected: Vec<f64> = v.iter().map(|vj| vj * ub / (uu * vv)).collect();
        assert_close_slices(&sol.coefficients.to_vec(), &expected, Tolerance::new(1e-13, 1e-15));
        assert!(sol.singular_values[1] <= sol.cutoff);
    }

    #[test]
    fn multi_output_solves_each_column() {
        let (a, _) = random(6, 10, 3);
        let mut rng = seeded_rng(4);
        let b = Tensor::<f64>::randn(&[6, 2], &mut rng);
        let x = min_norm_solution(&a, &b, None).unwrap().coefficients;
        assert_eq!(x.shape(), &[10, 2]);
        let bv = b.to_vec();
        for k in 0..2 {
            let col: Vec<f64> = (0..6).map(|i| bv[i * 2 + k]).collect();
            let xk: Vec<f64> = x.to_vec().chunks(2).map(|r| r[k]).collect();
            assert_close_slices(&xk, &dual_formula(&a, &col), Tolerance::new(1e-11, 1e-13));
        }
    }

    #[test]
    fn ridge_matches_the_regularised_normal_equations_and_tends_to_min_norm() {
        let (a, b) = random(10, 25, 5);
        let lambda = 0.7;
        let x = ridge_solution(&a, &b, lambda).unwrap().to_vec();
        // (AᵀA + λI) x = Aᵀ b, by elimination
        let r = rows(&a);
        let mut m: Vec<Vec<f64>> =
            (0..25).map(|i| (0..25).map(|j| r.iter().map(|row| row[i] * row[j]).sum()).collect()).collect();
        for (i, row) in m.iter_mut().enumerate() {
            row[i] += lambda;
        }
        let bv = b.to_vec();
        let rhs = (0..25).map(|i| r.iter().zip(&bv).map(|(row, bi)| row[i] * bi).sum()).collect();
        assert_close_slices(&x, &gauss_solve(m, rhs), Tolerance::new(1e-11, 1e-13));
        // λ -> 0: the ridge path ends at the minimum-norm solution, |x_λ - x⁺| = O(λ)
        let small = ridge_solution(&a, &b, 1e-10).unwrap().to_vec();
        let mn = min_norm_solution(&a, &b, None).unwrap().coefficients.to_vec();
        assert_close_slices(&small, &mn, Tolerance::new(1e-8, 1e-9));
    }

    #[test]
    fn bad_arguments_are_errors_that_name_them() {
        let (a, b) = random(4, 3, 6);
        let e = min_norm_solution(&a, &Tensor::zeros(&[5]), None).unwrap_err().to_string();
        assert!(e.contains("min_norm_solution") && e.contains("[4, 3]") && e.contains("[5]"), "{e}");
        let e = min_norm_solution(&Tensor::zeros(&[4]), &b, None).unwrap_err().to_string();
        assert!(e.contains("matrix (2-D)"), "{e}");
        let e = min_norm_solution(&a, &b, Some(1.5)).unwrap_err().to_string();
        assert!(e.contains("rcond = 1.5"), "{e}");
        let e = ridge_solution(&a, &b, -1.0).unwrap_err().to_string();
        assert!(e.contains("lambda = -1"), "{e}");
        let mut bad = a.to_vec();
        bad[5] = f64::INFINITY;
        let e = min_norm_solution(&Tensor::from_vec(bad, &[4, 3]).unwrap(), &b, None).unwrap_err().to_string();
        assert!(e.contains("non-finite") && e.contains("inf"), "{e}");
        assert!(min_norm_solution(&Tensor::zeros(&[0, 3]), &Tensor::zeros(&[0]), None).is_err());
    }

    #[test]
    fn the_zero_matrix_has_rank_zero_and_solution_zero() {
        let sol = min_norm_solution(&Tensor::zeros(&[3, 2]), &Tensor::ones(&[3]), None).unwrap();
        assert_eq!(sol.rank, 0);
        assert_eq!(sol.smallest_retained_singular_value, None);
        assert_eq!(sol.coefficients.to_vec(), vec![0.0, 0.0]);
    }
}
