//! Conversions between [`Tensor<f64>`] (the public currency) and the 2-D `ndarray` and
//! `faer` matrices the computations run on, with the shape and finiteness checks every
//! entry point of the research modules shares.

use dl_tensor::Tensor;
use faer::Mat;
use ndarray::{Array2, ArrayView2, Ix2};

use super::{LeastSquaresError, Result};

/// A copy of `t` as a matrix, or an error naming `op` and `what` if `t` is not 2-D, is
/// empty, or holds a non-finite entry.
pub(crate) fn matrix(op: &'static str, what: &str, t: &Tensor<f64>) -> Result<Array2<f64>> {
    let m = t.view().into_dimensionality::<Ix2>().map_err(|_| LeastSquaresError::Shape {
        op,
        what: format!("{what} must be a matrix (2-D)"),
        left: t.shape().to_vec(),
        right: vec![],
    })?;
    if m.is_empty() {
        return Err(LeastSquaresError::Shape {
            op,
            what: format!("{what} must be non-empty"),
            left: t.shape().to_vec(),
            right: vec![],
        });
    }
    finite(op, what, m.view())?;
    Ok(m.to_owned())
}

/// Right-hand sides for a system with `rows` equations: `(rows,)` becomes one column,
/// `(rows, k)` stays as it is. Returns the matrix and whether the input was a vector.
/// `other` is the shape of the matrix the targets belong to (for the error message).
pub(crate) fn targets(
    op: &'static str,
    what: &str,
    t: &Tensor<f64>,
    rows: usize,
    other: &[usize],
) -> Result<(Array2<f64>, bool)> {
    let mismatch = || LeastSquaresError::Shape {
        op,
        what: format!("{what} must have shape ({rows},) or ({rows}, k) with k >= 1"),
        left: other.to_vec(),
        right: t.shape().to_vec(),
    };
    let (m, was_vector) = match t.shape() {
        [n] if *n == rows => (t.view().into_shape_with_order((rows, 1)).map_err(|_| mismatch())?.to_owned(), true),
        [n, k] if *n == rows && *k >= 1 => {
            (t.view().into_dimensionality::<Ix2>().map_err(|_| mismatch())?.to_owned(), false)
        }
        _ => return Err(mismatch()),
    };
    finite(op, what, m.view())?;
    Ok((m, was_vector))
}

/// Errors unless every entry of `v` is finite.
pub(crate) fn finite(op: &'static str, what: &str, v: ArrayView2<'_, f64>) -> Result<()> {
    if let Some(((i, j), x)) = v.indexed_iter().find(|(_, x)| !x.is_finite()) {
        return Err(LeastSquaresError::NonFinite {
            op,
            detail: format!("{what} has the non-finite entry {x} at ({i}, {j})"),
        });
    }
    Ok(())
}

/// The tensor holding `a`.
pub(crate) fn to_tensor(a: Array2<f64>) -> Tensor<f64> {
    Tensor::from_ndarray(a.into_dyn())
}

/// The tensor holding `a` as a matrix, or as a vector when `as_vector` (one column).
pub(crate) fn to_tensor_shaped(a: Array2<f64>, as_vector: bool) -> Tensor<f64> {
    if as_vector {
        let n = a.nrows();
        Tensor::from_ndarray(a.into_shape_with_order(n).expect("one column").into_dyn())
    } else {
        to_tensor(a)
    }
}

/// A copy of `a` as a faer matrix.
pub(crate) fn to_faer(a: ArrayView2<'_, f64>) -> Mat<f64> {
    Mat::from_fn(a.nrows(), a.ncols(), |i, j| a[[i, j]])
}

/// A copy of a faer matrix as an ndarray.
pub(crate) fn from_faer(m: faer::MatRef<'_, f64>) -> Array2<f64> {
    Array2::from_shape_fn((m.nrows(), m.ncols()), |(i, j)| m[(i, j)])
}

/// `a b` through dl-tensor's GEMM (bit-identical whatever the thread count).
pub(crate) fn a_b(a: ArrayView2<'_, f64>, b: ArrayView2<'_, f64>) -> Array2<f64> {
    let mut c = Array2::zeros((a.nrows(), b.ncols()));
    dl_tensor::matmul::gemm_into(a, b, c.view_mut());
    c
}

/// The Frobenius (or Euclidean) norm.
pub(crate) fn frobenius(a: ArrayView2<'_, f64>) -> f64 {
    a.iter().map(|x| x * x).sum::<f64>().sqrt()
}
