//! The decompositions under every least-squares computation: the thin SVD and the
//! symmetric eigendecomposition, from faer, run sequentially (`Par::Seq`) so that a result
//! does not depend on the number of threads.

use faer::diag::Diag;
use faer::dyn_stack::{MemBuffer, MemStack};
use faer::linalg::evd::{ComputeEigenvectors, self_adjoint_evd, self_adjoint_evd_scratch};
use faer::linalg::svd::{ComputeSvdVectors, svd, svd_scratch};
use faer::{Mat, Par};
use ndarray::{Array2, ArrayView2};

use super::matrix::{from_faer, to_faer};
use super::{LeastSquaresError, Result};

/// The thin singular value decomposition `A = U Σ Vᵀ` of an `(n, p)` matrix: `U` is
/// `(n, k)`, `V` is `(p, k)` with `k = min(n, p)`, and the singular values are sorted in
/// non-increasing order.
#[derive(Clone, Debug, PartialEq)]
pub struct Svd {
    /// Left singular vectors, `(n, k)`.
    pub u: Array2<f64>,
    /// Singular values `σ_1 ≥ … ≥ σ_k ≥ 0`.
    pub s: Vec<f64>,
    /// Right singular vectors, `(p, k)`.
    pub v: Array2<f64>,
}

impl Svd {
    /// The thin SVD of `a`. `op` names the caller in errors.
    ///
    /// Errors: an empty matrix, a non-finite entry, or an SVD that does not converge.
    pub fn new(op: &'static str, a: ArrayView2<'_, f64>) -> Result<Self> {
        let (n, p) = a.dim();
        if n == 0 || p == 0 {
            return Err(LeastSquaresError::Shape {
                op,
                what: "the matrix must be non-empty".into(),
                left: vec![n, p],
                right: vec![],
            });
        }
        super::matrix::finite(op, "the matrix", a)?;
        let k = n.min(p);
        let m = to_faer(a);
        let mut u = Mat::<f64>::zeros(n, k);
        let mut v = Mat::<f64>::zeros(p, k);
        let mut s = Diag::<f64>::zeros(k);
        let par = Par::Seq;
        let scratch =
            svd_scratch::<f64>(n, p, ComputeSvdVectors::Thin, ComputeSvdVectors::Thin, par, Default::default());
        let mut buffer = MemBuffer::new(scratch);
        svd(
            m.as_ref(),
            s.as_mut(),
            Some(u.as_mut()),
            Some(v.as_mut()),
            par,
            MemStack::new(&mut buffer),
            Default::default(),
        )
        .map_err(|e| LeastSquaresError::Decomposition {
            op,
            detail: format!("the SVD of the {n}x{p} matrix did not converge: {e:?}"),
        })?;
        let sv = s.column_vector();
        Ok(Svd { u: from_faer(u.as_ref()), s: (0..k).map(|i| sv[i]).collect(), v: from_faer(v.as_ref()) })
    }

    /// The number of singular values above `rcond · σ_1`.
    pub fn rank(&self, rcond: f64) -> usize {
        let cutoff = rcond * self.s.first().copied().unwrap_or(0.0);
        self.s.iter().filter(|&&s| s > cutoff).count()
    }
}

/// The eigenvalues (ascending) and eigenvectors (columns) of a symmetric matrix, read from
/// its lower triangle. `op` names the caller in errors.
///
/// Errors: a non-square or empty matrix, a non-finite entry, no convergence.
pub fn symmetric_eigen(op: &'static str, a: ArrayView2<'_, f64>) -> Result<(Vec<f64>, Array2<f64>)> {
    let (n, c) = a.dim();
    if n == 0 || n != c {
        return Err(LeastSquaresError::Shape {
            op,
            what: "the matrix must be square and non-empty".into(),
            left: vec![n, c],
            right: vec![],
        });
    }
    super::matrix::finite(op, "the matrix", a)?;
    let m = to_faer(a);
    let mut u = Mat::<f64>::zeros(n, n);
    let mut s = Diag::<f64>::zeros(n);
    let par = Par::Seq;
    let scratch = self_adjoint_evd_scratch::<f64>(n, ComputeEigenvectors::Yes, par, Default::default());
    let mut buffer = MemBuffer::new(scratch);
    self_adjoint_evd(m.as_ref(), s.as_mut(), Some(u.as_mut()), par, MemStack::new(&mut buffer), Default::default())
        .map_err(|e| LeastSquaresError::Decomposition {
            op,
            detail: format!("the eigendecomposition of the {n}x{n} matrix did not converge: {e:?}"),
        })?;
    let sv = s.column_vector();
    Ok(((0..n).map(|i| sv[i]).collect(), from_faer(u.as_ref())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use dl_tensor::compare::{Tolerance, assert_close_slices};
    use ndarray::array;

    #[test]
    fn svd_reconstructs_the_matrix_and_has_orthonormal_factors() {
        let a = array![[3.0, 1.0, 2.0], [-1.0, 4.0, 0.5], [2.0, 2.0, 2.0], [0.0, 1.0, -3.0]];
        let d = Svd::new("test", a.view()).unwrap();
        assert!(d.s.windows(2).all(|w| w[0] >= w[1]));
        let mut us = d.u.clone();
        for (mut col, s) in us.columns_mut().into_iter().zip(&d.s) {
            col *= *s;
        }
        let back = us.dot(&d.v.t());
        // a handful of rounding steps on entries of size ~4
        assert_close_slices(back.as_slice().unwrap(), a.as_slice().unwrap(), Tolerance::new(1e-13, 1e-13));
        let utu = d.u.t().dot(&d.u);
        assert_close_slices(
            utu.as_slice().unwrap(),
            Array2::<f64>::eye(3).as_slice().unwrap(),
            Tolerance::new(0.0, 1e-14),
        );
        // the squared singular values are the eigenvalues of AᵀA (computed independently)
        let (ev, _) = symmetric_eigen("test", a.t().dot(&a).view()).unwrap();
        let mut s2: Vec<f64> = d.s.iter().map(|s| s * s).collect();
        s2.reverse();
        assert_close_slices(&s2, &ev, Tolerance::new(1e-12, 1e-12));
    }

    #[test]
    fn eigen_of_a_known_matrix() {
        // [[2, 1], [1, 2]] has eigenvalues 1 and 3 on (1, -1)/√2 and (1, 1)/√2
        let (ev, vecs) = symmetric_eigen("test", array![[2.0, 1.0], [1.0, 2.0]].view()).unwrap();
        assert_close_slices(&ev, &[1.0, 3.0], Tolerance::default_for::<f64>());
        assert!((vecs[[0, 1]].abs() - 0.5f64.sqrt()).abs() < 1e-15);
    }

    #[test]
    fn bad_inputs_are_errors() {
        let empty = Array2::<f64>::zeros((0, 3));
        assert!(Svd::new("test", empty.view()).unwrap_err().to_string().contains("[0, 3]"));
        let nan = array![[1.0, f64::NAN]];
        assert!(Svd::new("test", nan.view()).unwrap_err().to_string().contains("NaN"));
        assert!(symmetric_eigen("test", array![[1.0, 2.0]].view()).is_err());
    }
}
