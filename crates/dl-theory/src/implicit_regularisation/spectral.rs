//! Spectral measures of a matrix: the nuclear norm and the effective rank.

use dl_tensor::Tensor;

use super::{Result, invalid};
use crate::least_squares::Svd;
use crate::least_squares::matrix::matrix;

/// The nuclear norm `‖X‖_* = Σ σ_i(X)` (the trace of a positive semi-definite matrix).
///
/// Errors: a non-matrix, empty or non-finite input.
pub fn nuclear_norm(x: &Tensor<f64>) -> Result<f64> {
    let op = "nuclear_norm";
    let m = matrix(op, "the matrix", x)?;
    Ok(Svd::new(op, m.view())?.s.iter().sum())
}

/// The effective rank of Roy & Vetterli (2007): `exp(−Σ p_i ln p_i)` with
/// `p_i = σ_i / Σ_j σ_j`. It is `r` for a matrix with `r` equal non-zero singular values,
/// and varies continuously in between.
///
/// Errors: a non-matrix, empty or non-finite input, or the zero matrix.
pub fn effective_rank(x: &Tensor<f64>) -> Result<f64> {
    let op = "effective_rank";
    let m = matrix(op, "the matrix", x)?;
    let s = Svd::new(op, m.view())?.s;
    let total: f64 = s.iter().sum();
    if total == 0.0 {
        return Err(invalid(op, "the matrix", "0", "the zero matrix has no effective rank"));
    }
    let entropy: f64 = s.iter().map(|v| v / total).filter(|&p| p > 0.0).map(|p| -p * p.ln()).sum();
    Ok(entropy.exp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values() {
        // diag(3, -4) has singular values 4 and 3
        let d = Tensor::from_vec(vec![3.0, 0.0, 0.0, -4.0], &[2, 2]).unwrap();
        assert!((nuclear_norm(&d).unwrap() - 7.0).abs() < 1e-14);
        let eye = Tensor::<f64>::eye(5);
        assert!((effective_rank(&eye).unwrap() - 5.0).abs() < 1e-13);
        let rank_one = Tensor::from_vec(vec![1.0, 2.0, 2.0, 4.0], &[2, 2]).unwrap();
        assert!((effective_rank(&rank_one).unwrap() - 1.0).abs() < 1e-13);
        // p = (4/7, 3/7): exp(H)
        let h = -(4.0f64 / 7.0) * (4.0f64 / 7.0).ln() - (3.0f64 / 7.0) * (3.0f64 / 7.0).ln();
        assert!((effective_rank(&d).unwrap() - h.exp()).abs() < 1e-13);
        assert!(effective_rank(&Tensor::zeros(&[2, 2])).is_err());
        assert!(nuclear_norm(&Tensor::zeros(&[3])).is_err());
    }
}
