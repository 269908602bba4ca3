//! Linear measurements of a symmetric matrix, `X ↦ (⟨A_1, X⟩, …, ⟨A_m, X⟩)` with symmetric
//! `A_i` and `⟨A, X⟩ = tr(Aᵀ X)`: Gaussian matrix sensing, and matrix completion as the
//! special case of observed entries.

use dl_tensor::Tensor;
use dl_tensor::random::standard_normal_f64;
use ndarray::{Array1, Array2, ArrayView2};
use rand::Rng;

use super::{ImplicitRegularisationError, Result, invalid};
use crate::least_squares::matrix::{a_b, matrix};

/// `m` symmetric `d × d` measurement matrices, stored as the rows of an `(m, d²)` matrix
/// (row `i` is `A_i` flattened row-major), so that measuring is one matrix-vector product.
#[derive(Clone, Debug, PartialEq)]
pub struct SensingOperator {
    dim: usize,
    rows: Array2<f64>,
}

impl SensingOperator {
    /// Gaussian sensing: `A_i = (G_i + G_iᵀ) / 2` with the entries of `G_i` i.i.d. `N(0, 1)`
    /// (the symmetric Gaussian ensemble of Gunasekar et al. 2017, Section 5).
    ///
    /// Errors: `dim = 0` or `measurements = 0`.
    pub fn gaussian<R: Rng + ?Sized>(dim: usize, measurements: usize, rng: &mut R) -> Result<Self> {
        let op = "SensingOperator::gaussian";
        if dim == 0 {
            return Err(invalid(op, "dim", 0, "must be at least 1"));
        }
        if measurements == 0 {
            return Err(invalid(op, "measurements", 0, "must be at least 1"));
        }
        let mut rows = Array2::zeros((measurements, dim * dim));
        for mut row in rows.rows_mut() {
            let g = standard_normal_f64(dim * dim, rng);
            for j in 0..dim {
                for k in 0..dim {
                    row[j * dim + k] = 0.5 * (g[j * dim + k] + g[k * dim + j]);
                }
            }
        }
        Ok(SensingOperator { dim, rows })
    }

    /// Matrix completion: observing the entries `(j, k)` of a symmetric matrix, with
    /// `A = (e_j e_kᵀ + e_k e_jᵀ) / 2` so that `⟨A, X⟩ = X_jk`.
    ///
    /// Errors: `dim = 0`, no entry, an index `≥ dim`, an entry given twice (also as `(k, j)`).
    pub fn completion(dim: usize, entries: &[(usize, usize)]) -> Result<Self> {
        let op = "SensingOperator::completion";
        if dim == 0 {
            return Err(invalid(op, "dim", 0, "must be at least 1"));
        }
        if entries.is_empty() {
            return Err(invalid(op, "entries", "[]", "must observe at least one entry"));
        }
        let mut seen = std::collections::BTreeSet::new();
        let mut rows = Array2::zeros((entries.len(), dim * dim));
        for (i, &(j, k)) in entries.iter().enumerate() {
            if j >= dim || k >= dim {
                return Err(invalid(
                    op,
                    "entries",
                    format!("({j}, {k}) at {i}"),
                    format!("indices must be below dim = {dim}"),
                ));
            }
            if !seen.insert((j.min(k), j.max(k))) {
                return Err(invalid(
                    op,
                    "entries",
                    format!("({j}, {k}) at {i}"),
                    "each entry (or its transpose) may be observed once",
                ));
            }
            rows[[i, j * dim + k]] += 0.5;
            rows[[i, k * dim + j]] += 0.5;
        }
        Ok(SensingOperator { dim, rows })
    }

    /// The operator of the given symmetric `d × d` matrices.
    ///
    /// Errors: no matrix, a matrix that is not square, of another size than the first, not
    /// symmetric (to 1e-12 relative to its largest entry), or non-finite.
    pub fn from_matrices(matrices: &[Tensor<f64>]) -> Result<Self> {
        let op = "SensingOperator::from_matrices";
        let first = matrices.first().ok_or_else(|| invalid(op, "matrices", "[]", "must hold at least one matrix"))?;
        let dim = first.shape().first().copied().unwrap_or(0);
        let mut rows = Array2::zeros((matrices.len(), dim * dim));
        for (i, t) in matrices.iter().enumerate() {
            let m = matrix(op, "a measurement matrix", t)?;
            if m.dim() != (dim, dim) {
                return Err(ImplicitRegularisationError::Shape {
                    op,
                    what: format!("measurement matrix {i} must be square and of the size of the first"),
                    left: first.shape().to_vec(),
                    right: t.shape().to_vec(),
                });
            }
            let scale = m.iter().fold(0.0f64, |a, v| a.max(v.abs()));
            let asym = (&m - &m.t()).iter().fold(0.0f64, |a, v| a.max(v.abs()));
            if asym > 1e-12 * scale {
                return Err(invalid(
                    op,
                    "matrices",
                    format!("matrix {i}"),
                    format!("must be symmetric (largest |A - Aᵀ| entry {asym:e})"),
                ));
            }
            rows.row_mut(i).assign(&Array1::from_iter(m.iter().cloned()));
        }
        Ok(SensingOperator { dim, rows })
    }

    /// The side `d` of the measured matrices.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// The number of measurements `m`.
    pub fn len(&self) -> usize {
        self.rows.nrows()
    }

    /// Whether there is no measurement (never: construction refuses it).
    pub fn is_empty(&self) -> bool {
        self.rows.nrows() == 0
    }

    /// The measurements `⟨A_i, X⟩` of a `d × d` matrix `x`.
    ///
    /// Errors: `x` not `d × d`, or non-finite.
    pub fn measure(&self, x: &Tensor<f64>) -> Result<Vec<f64>> {
        let op = "SensingOperator::measure";
        let m = matrix(op, "the measured matrix", x)?;
        if m.dim() != (self.dim, self.dim) {
            return Err(ImplicitRegularisationError::Shape {
                op,
                what: "the measured matrix must be d x d".into(),
                left: vec![self.dim, self.dim],
                right: x.shape().to_vec(),
            });
        }
        Ok(self.apply(m.view()).to_vec())
    }

    /// The squared operator norm `‖A‖² = λ_max(A A*)`, the largest eigenvalue of the Gram
    /// matrix `(⟨A_i, A_j⟩)`: `(1/m) ‖A‖²` bounds the curvature of `(1/2m) ‖A(X) − y‖²`, which
    /// sets the largest stable step of gradient descent on it.
    ///
    /// Errors: an eigendecomposition that does not converge.
    pub fn operator_norm_squared(&self) -> Result<f64> {
        let (ev, _) =
            crate::least_squares::symmetric_eigen("SensingOperator::operator_norm_squared", self.gram().view())?;
        Ok(ev.last().copied().unwrap_or(0.0))
    }

    /// `(⟨A_i, X⟩)_i` for a `d × d` view (checked by the caller).
    pub(crate) fn apply(&self, x: ArrayView2<'_, f64>) -> Array1<f64> {
        let flat = x.to_owned().into_shape_with_order((self.dim * self.dim, 1)).expect("d x d");
        a_b(self.rows.view(), flat.view()).into_shape_with_order(self.len()).expect("m x 1")
    }

    /// The adjoint `Σ ν_i A_i` (a symmetric `d × d` matrix).
    pub(crate) fn adjoint(&self, nu: &Array1<f64>) -> Array2<f64> {
        let col = nu.view().into_shape_with_order((1, self.len())).expect("1 x m");
        a_b(col, self.rows.view()).into_shape_with_order((self.dim, self.dim)).expect("d x d")
    }

    /// The Gram matrix `⟨A_i, A_j⟩`, `(m, m)`.
    pub(crate) fn gram(&self) -> Array2<f64> {
        a_b(self.rows.view(), self.rows.t())
    }

    /// Checks measurement values `y` against the operator; `op` names the caller.
    pub(crate) fn check_values(&self, op: &'static str, y: &[f64]) -> Result<Array1<f64>> {
        if y.len() != self.len() {
            return Err(ImplicitRegularisationError::Shape {
                op,
                what: "the measurements must have one value per measurement matrix".into(),
                left: vec![self.len(), self.dim, self.dim],
                right: vec![y.len()],
            });
        }
        if let Some((i, v)) = y.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            return Err(ImplicitRegularisationError::NonFinite {
                op,
                detail: format!("the measurements have the non-finite value {v} at {i}"),
            });
        }
        Ok(Array1::from(y.to_vec()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dl_tensor::seeded_rng;

    #[test]
    fn measurements_are_inner_products_and_the_adjoint_is_their_transpose() {
        let mut rng = seeded_rng(0);
        let op = SensingOperator::gaussian(4, 6, &mut rng).unwrap();
        let x = Tensor::<f64>::randn(&[4, 4], &mut rng);
        let y = op.measure(&x).unwrap();
        // ⟨A_i, X⟩ by direct loops over the stored rows
        for (i, yi) in y.iter().enumerate() {
            let direct: f64 = (0..16).map(|k| op.rows[[i, k]] * x.to_vec()[k]).sum();
            assert!((yi - direct).abs() < 1e-13);
        }
        // ⟨A*(ν), X⟩ = ⟨ν, A(X)⟩
        let nu = Array1::from(Tensor::<f64>::randn(&[6], &mut rng).to_vec());
        let lhs: f64 = op.adjoint(&nu).iter().zip(x.to_vec()).map(|(a, b)| a * b).sum();
        let rhs: f64 = nu.iter().zip(&y).map(|(a, b)| a * b).sum();
        assert!((lhs - rhs).abs() < 1e-12 * lhs.abs().max(1.0));
        let a0 = op.adjoint(&Array1::from(vec![1.0, 0.0, 0.0, 0.0, 0.0, 0.0]));
        assert_eq!(a0, a0.t(), "measurement matrices are symmetric");
        // ‖A(X)‖² ≤ ‖A‖² ‖X‖_F² for every X, with equality for the top eigenvector's A*(ν)
        let norm2 = op.operator_norm_squared().unwrap();
        let ax: f64 = y.iter().map(|v| v * v).sum();
        let xx: f64 = x.to_vec().iter().map(|v| v * v).sum();
        assert!(ax <= norm2 * xx * (1.0 + 1e-12));
    }

    #[test]
    fn completion_reads_entries() {
        let op = SensingOperator::completion(3, &[(0, 1), (2, 2)]).unwrap();
        let x = Tensor::from_vec(vec![1.0, 2.0, 3.0, 2.0, 5.0, 6.0, 3.0, 6.0, 9.0], &[3, 3]).unwrap();
        assert_eq!(op.measure(&x).unwrap(), vec![2.0, 9.0]);
        assert!(SensingOperator::completion(3, &[(0, 1), (1, 0)]).unwrap_err().to_string().contains("once"));
        assert!(SensingOperator::completion(3, &[(0, 3)]).unwrap_err().to_string().contains("below dim = 3"));
    }

    #[test]
    fn bad_inputs_are_errors() {
        let mut rng = seeded_rng(1);
        assert!(SensingOperator::gaussian(0, 3, &mut rng).is_err());
        let op = SensingOperator::gaussian(3, 2, &mut rng).unwrap();
        assert!(op.measure(&Tensor::zeros(&[2, 2])).unwrap_err().to_string().contains("[3, 3] and [2, 2]"));
        let asym = Tensor::from_vec(vec![0.0, 1.0, 0.0, 0.0], &[2, 2]).unwrap();
        assert!(SensingOperator::from_matrices(&[asym]).unwrap_err().to_string().contains("symmetric"));
        assert!(op.check_values("test", &[1.0]).unwrap_err().to_string().contains("[2, 3, 3] and [1]"));
    }
}
