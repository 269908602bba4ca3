//! Solving with a kernel matrix: Cholesky, falling back to a clipped eigendecomposition.
//!
//! Kernel regression and the NNGP posterior need `K^{-1} B` for a symmetric positive
//! semi-definite `K`. Deep networks in the ordered phase make `K` nearly singular (every
//! pair of inputs becomes almost perfectly correlated, so `K` approaches a multiple of the
//! all-ones matrix). [`SymmetricSolver`] therefore:
//!
//! 1. adds the requested ridge `diag_reg` to the diagonal (none by default);
//! 2. tries the Cholesky factorisation `K = L L^T` (faer); it is accepted when it succeeds
//!    and its smallest pivot satisfies `L_ii^2 >= rcond * max_i K_ii`;
//! 3. otherwise takes the eigendecomposition `K = V diag(lambda) V^T` and inverts only the
//!    eigenvalues above `rcond * lambda_max` (the others are *clipped*: their inverse is
//!    set to 0, which is the Moore–Penrose pseudo-inverse of the clipped matrix).
//!
//! Which path was taken is reported by [`SymmetricSolver::method`], so a caller can see
//! that a regularisation happened. Non-finite input is an error, never a NaN result.

use faer::Side;
use faer::linalg::solvers::{Llt, Solve};
use ndarray::{Array2, ArrayView2};

use crate::error::{NtkError, Result, non_negative};
use crate::matrix::{a_b, finite, from_faer, to_faer};

/// Relative size below which a pivot or an eigenvalue is treated as zero.
pub const DEFAULT_RCOND: f64 = 1e-12;

/// How a [`SymmetricSolver`] inverts its matrix.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum SolveMethod {
    /// Cholesky succeeded with every pivot above the threshold.
    Cholesky,
    /// Eigendecomposition; `clipped` eigenvalues at or below `threshold` were dropped.
    EigenClipped {
        /// How many eigenvalues were at or below `threshold` (their inverse set to 0, a
        /// pseudo-inverse on the remaining eigenspace).
        clipped: usize,
        /// The cut-off `rcond · λ_max`, with `λ_max` the largest eigenvalue.
        threshold: f64,
    },
}

enum Factor {
    Cholesky(Llt<f64>),
    /// Eigenvectors and the clipped inverse eigenvalues.
    Eigen {
        vectors: Array2<f64>,
        inverse: Vec<f64>,
    },
}

/// `K^{-1}` applied to right-hand sides, for a symmetric positive semi-definite `K`.
pub struct SymmetricSolver {
    factor: Factor,
    method: SolveMethod,
    n: usize,
}

impl SymmetricSolver {
    /// Factorises `k + diag_reg I` (see the module documentation). `op` names the caller in
    /// errors.
    pub fn new(op: &'static str, k: ArrayView2<'_, f64>, diag_reg: f64) -> Result<Self> {
        Self::with_rcond(op, k, diag_reg, DEFAULT_RCOND)
    }

    /// As [`SymmetricSolver::new`] with an explicit relative threshold.
    pub fn with_rcond(op: &'static str, k: ArrayView2<'_, f64>, diag_reg: f64, rcond: f64) -> Result<Self> {
        non_negative(op, "diag_reg", diag_reg)?;
        finite(op, "the kernel matrix", k)?;
        let n = k.nrows();
        if n == 0 || k.ncols() != n {
            return Err(NtkError::Shape {
                op,
                what: "the kernel must be square and non-empty".into(),
                left: vec![k.nrows(), k.ncols()],
                right: vec![],
            });
        }
        let mut m = to_faer(k);
        for i in 0..n {
            m[(i, i)] += diag_reg;
        }
        let max_diag = (0..n).map(|i| m[(i, i)]).fold(0.0_f64, f64::max);
        if let Ok(llt) = m.llt(Side::Lower) {
            let l = llt.L();
            let min_pivot2 = (0..n).map(|i| l[(i, i)] * l[(i, i)]).fold(f64::INFINITY, f64::min);
            if min_pivot2 >= rcond * max_diag && min_pivot2.is_finite() {
                return Ok(SymmetricSolver { factor: Factor::Cholesky(llt), method: SolveMethod::Cholesky, n });
            }
        }
        let eig = m.self_adjoint_eigen(Side::Lower).map_err(|e| NtkError::LinearAlgebra {
            op,
            detail: format!("the eigendecomposition of the {n}x{n} kernel failed: {e:?}"),
        })?;
        let s = eig.S().column_vector();
        let lambda_max = (0..n).map(|i| s[i]).fold(0.0_f64, f64::max);
        if lambda_max <= 0.0 {
            return Err(NtkError::LinearAlgebra {
                op,
                detail: format!("the {n}x{n} kernel has no positive eigenvalue (largest {lambda_max:e})"),
            });
        }
        let threshold = rcond * lambda_max;
        let inverse: Vec<f64> = (0..n).map(|i| if s[i] > threshold { 1.0 / s[i] } else { 0.0 }).collect();
        let clipped = inverse.iter().filter(|&&x| x == 0.0).count();
        let vectors = from_faer(eig.U());
        Ok(SymmetricSolver {
            factor: Factor::Eigen { vectors, inverse },
            method: SolveMethod::EigenClipped { clipped, threshold },
            n,
        })
    }

    /// Which path factorised the matrix.
    pub fn method(&self) -> SolveMethod {
        self.method
    }

    /// The matrix's size.
    pub fn len(&self) -> usize {
        self.n
    }

    /// Whether the matrix is empty (never: construction rejects it).
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// `K^{-1} B` for `B` of shape `(n, m)`.
    pub fn solve(&self, b: ArrayView2<'_, f64>) -> Result<Array2<f64>> {
        if b.nrows() != self.n {
            return Err(NtkError::Shape {
                op: "SymmetricSolver::solve",
                what: "the right-hand side must have one row per kernel row".into(),
                left: vec![self.n, self.n],
                right: vec![b.nrows(), b.ncols()],
            });
        }
        Ok(match &self.factor {
            Factor::Cholesky(llt) => from_faer(llt.solve(to_faer(b)).as_ref()),
            Factor::Eigen { vectors, inverse } => {
                let mut c = a_b(vectors.t(), b);
                for (mut row, &inv) in c.rows_mut().into_iter().zip(inverse) {
                    row *= inv;
                }
                a_b(vectors.view(), c.view())
            }
        })
    }
}

/// The eigenvalues (ascending) and eigenvectors (columns) of a symmetric matrix.
pub fn symmetric_eigen(op: &'static str, k: ArrayView2<'_, f64>) -> Result<(Vec<f64>, Array2<f64>)> {
    finite(op, "the kernel matrix", k)?;
    let n = k.nrows();
    if k.ncols() != n {
        return Err(NtkError::Shape {
            op,
            what: "the kernel must be square".into(),
            left: vec![k.nrows(), k.ncols()],
            right: vec![],
        });
    }
    let eig = to_faer(k).self_adjoint_eigen(Side::Lower).map_err(|e| NtkError::LinearAlgebra {
        op,
        detail: format!("the eigendecomposition of the {n}x{n} kernel failed: {e:?}"),
    })?;
    let s = eig.S().column_vector();
    Ok(((0..n).map(|i| s[i]).collect(), from_faer(eig.U())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use dl_tensor::compare::{Tolerance, assert_close_slices};
    use ndarray::array;

    #[test]
    fn cholesky_solves_a_well_conditioned_system() {
        let k = array![[4.0, 1.0, 0.5], [1.0, 3.0, 0.2], [0.5, 0.2, 2.0]];
        let x = array![[1.0], [-2.0], [0.5]];
        let b = k.dot(&x);
        let s = SymmetricSolver::new("test", k.view(), 0.0).unwrap();
        assert_eq!(s.method(), SolveMethod::Cholesky);
        // condition number ~3: a few ulps of error amplified by 3
        assert_close_slices(
            s.solve(b.view()).unwrap().as_slice().unwrap(),
            x.as_slice().unwrap(),
            Tolerance::new(1e-13, 1e-14),
        );
    }

    #[test]
    fn a_singular_kernel_falls_back_to_clipped_eigen_and_gives_the_pseudo_inverse_solution() {
        // the all-ones matrix (the ordered-phase limit): rank one, eigenvalue 3 on (1,1,1)/sqrt 3
        let k = Array2::from_elem((3, 3), 1.0);
        let b = array![[3.0], [3.0], [3.0]];
        let s = SymmetricSolver::new("test", k.view(), 0.0).unwrap();
        match s.method() {
            SolveMethod::EigenClipped { clipped, .. } => assert_eq!(clipped, 2),
            m => panic!("expected the eigen fallback, got {m:?}"),
        }
        // pseudo-inverse of 11^T applied to 3*1 = 1 (the minimum-norm solution)
        let x = s.solve(b.view()).unwrap();
        assert_close_slices(x.as_slice().unwrap(), &[1.0, 1.0, 1.0], Tolerance::new(1e-12, 1e-12));
        assert!(x.iter().all(|v| v.is_finite()));
    }

    #[test]
    fn non_finite_and_badly_shaped_inputs_are_errors() {
        let k = array![[1.0, f64::NAN], [f64::NAN, 1.0]];
        let e = SymmetricSolver::new("kernel_regression", k.view(), 0.0).err().unwrap();
        assert!(e.to_string().contains("kernel_regression") && e.to_string().contains("non-finite"));
        let k = Array2::<f64>::eye(2);
        assert!(SymmetricSolver::new("t", k.view(), -1.0).is_err());
        let s = SymmetricSolver::new("t", k.view(), 0.0).unwrap();
        assert!(s.solve(Array2::zeros((3, 1)).view()).is_err());
    }
}
