//! Conversions between [`Tensor<f64>`] (the public currency) and the 2-D `ndarray` and
//! `faer` matrices the kernels are computed in, with the shape checks every entry point
//! shares.

use dl_tensor::Tensor;
use faer::Mat;
use ndarray::{Array2, ArrayView2, Ix2};

use crate::error::{NtkError, Result};

/// A 2-D view of `t`, or an error naming `op` and `what` if `t` is not a matrix.
pub(crate) fn view2<'a>(op: &'static str, what: &str, t: &'a Tensor<f64>) -> Result<ArrayView2<'a, f64>> {
    t.view().into_dimensionality::<Ix2>().map_err(|_| NtkError::Shape {
        op,
        what: format!("{what} must be a matrix (2-D)"),
        left: t.shape().to_vec(),
        right: vec![],
    })
}

/// A square matrix view, or an error.
pub(crate) fn square<'a>(op: &'static str, what: &str, t: &'a Tensor<f64>) -> Result<ArrayView2<'a, f64>> {
    let v = view2(op, what, t)?;
    if v.nrows() != v.ncols() {
        return Err(NtkError::Shape {
            op,
            what: format!("{what} must be square"),
            left: t.shape().to_vec(),
            right: vec![],
        });
    }
    Ok(v)
}

/// Errors unless every entry is finite.
pub(crate) fn finite(op: &'static str, what: &str, v: ArrayView2<'_, f64>) -> Result<()> {
    if let Some(((i, j), x)) = v.indexed_iter().find(|(_, x)| !x.is_finite()) {
        return Err(NtkError::NonFinite { op, detail: format!("{what} has the non-finite entry {x} at ({i}, {j})") });
    }
    Ok(())
}

/// The tensor holding `a`.
pub(crate) fn to_tensor(a: Array2<f64>) -> Tensor<f64> {
    Tensor::from_ndarray(a.into_dyn())
}

/// A copy of `a` as a faer matrix.
pub(crate) fn to_faer(a: ArrayView2<'_, f64>) -> Mat<f64> {
    Mat::from_fn(a.nrows(), a.ncols(), |i, j| a[[i, j]])
}

/// A copy of a faer matrix as an ndarray.
pub(crate) fn from_faer(m: faer::MatRef<'_, f64>) -> Array2<f64> {
    Array2::from_shape_fn((m.nrows(), m.ncols()), |(i, j)| m[(i, j)])
}

/// `a b^T` through dl-tensor's GEMM (strided views, no copy of `b^T`).
pub(crate) fn a_bt(a: ArrayView2<'_, f64>, b: ArrayView2<'_, f64>) -> Array2<f64> {
    let mut c = Array2::zeros((a.nrows(), b.nrows()));
    dl_tensor::matmul::gemm_into(a, b.t(), c.view_mut());
    c
}

/// `a b` through dl-tensor's GEMM.
pub(crate) fn a_b(a: ArrayView2<'_, f64>, b: ArrayView2<'_, f64>) -> Array2<f64> {
    let mut c = Array2::zeros((a.nrows(), b.ncols()));
    dl_tensor::matmul::gemm_into(a, b, c.view_mut());
    c
}
