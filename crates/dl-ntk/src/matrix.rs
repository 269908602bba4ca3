//! Conversions between [`Tensor<f64>`] (the public currency) and the 2-D `ndarray` and
//! `faer` matrices the kernels are computed in, with the shape checks every entry point
//! shares.

use dl_tensor::Tensor;
use faer::Mat;
use ndarray::{Array2, ArrayView2, Axis, Ix2, s};
use rayon::prelude::*;

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

/// Errors unless every entry is finite; the error names the first non-finite entry in
/// row-major order. Large matrices are scanned by rows on rayon's pool (a pass over 128 MB
/// is memory-bound: one thread leaves half the bandwidth unused).
pub(crate) fn finite(op: &'static str, what: &str, v: ArrayView2<'_, f64>) -> Result<()> {
    #[allow(clippy::eq_op)] // `v - v` is the point: 0 for finite v, NaN otherwise
    let row_is_finite = |r: ndarray::ArrayView1<'_, f64>| match r.as_slice() {
        // v - v is 0 for a finite v and NaN otherwise; the sums over a row are 0 exactly
        // when every entry is finite, and eight running sums vectorise where a branch on
        // `is_finite` per entry does not
        Some(s) => {
            let mut lanes = [0.0f64; 8];
            let chunks = s.chunks_exact(8);
            let tail = chunks.remainder().iter().fold(0.0, |acc, &x| acc + (x - x));
            for c in chunks {
                for (l, &x) in lanes.iter_mut().zip(c) {
                    *l += x - x;
                }
            }
            tail == 0.0 && lanes.iter().all(|&l| l == 0.0)
        }
        None => r.iter().all(|x| x.is_finite()),
    };
    let all = if v.len() >= 1 << 16 {
        v.axis_iter(Axis(0)).into_par_iter().all(row_is_finite)
    } else {
        v.axis_iter(Axis(0)).all(row_is_finite)
    };
    if all {
        return Ok(());
    }
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

/// `a b^T` for short, very wide operands (blocks of Jacobian rows: a few examples by
/// hundreds of thousands of parameters), in parallel over fixed chunks of the shared
/// dimension: `sum_c a[:, c] b[:, c]^T` with the chunk products computed on rayon's pool and
/// added in chunk order. The chunks do not depend on the thread count, so neither do the
/// bits. A product this shape is memory-bound (each entry of `a` and `b` is used only
/// `b.nrows()` or `a.nrows()` times), and one thread reads at a fraction of the machine's
/// bandwidth; the row bands of [`a_bt`] cannot help, as there are too few rows to split.
pub(crate) fn a_bt_wide(a: ArrayView2<'_, f64>, b: ArrayView2<'_, f64>) -> Array2<f64> {
    const CHUNK: usize = 1 << 14;
    let k = a.ncols();
    if k < 2 * CHUNK {
        return a_bt(a, b);
    }
    let starts: Vec<usize> = (0..k).step_by(CHUNK).collect();
    let partials: Vec<Array2<f64>> = starts
        .par_iter()
        .map(|&c0| {
            let c1 = (c0 + CHUNK).min(k);
            a_bt(a.slice(s![.., c0..c1]), b.slice(s![.., c0..c1]))
        })
        .collect();
    let mut sum = Array2::zeros((a.nrows(), b.nrows()));
    for p in &partials {
        sum += p;
    }
    sum
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

#[cfg(test)]
mod tests {
    use super::*;
    use dl_tensor::compare::{Tolerance, assert_close_slices};
    use dl_tensor::seeded_rng;

    fn in_pool<R: Send>(threads: usize, f: impl FnOnce() -> R + Send) -> R {
        rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap().install(f)
    }

    fn random(rows: usize, cols: usize, seed: u64) -> Array2<f64> {
        let t = Tensor::<f64>::randn(&[rows, cols], &mut seeded_rng(seed));
        t.view().into_dimensionality::<Ix2>().unwrap().to_owned()
    }

    #[test]
    fn wide_product_matches_direct_loops_and_keeps_its_bits_across_thread_counts() {
        // 3 full chunks and a partial one, so the chunked path runs
        let (a, b) = (random(5, 3 * (1 << 14) + 77, 1), random(4, 3 * (1 << 14) + 77, 2));
        let mut naive = vec![0.0; 20];
        for i in 0..5 {
            for j in 0..4 {
                naive[i * 4 + j] = a.row(i).iter().zip(b.row(j)).map(|(x, y)| x * y).sum();
            }
        }
        let one = in_pool(1, || a_bt_wide(a.view(), b.view()));
        let two = in_pool(2, || a_bt_wide(a.view(), b.view()));
        // sums of ~5e4 products of unit normals: rounding of a few 1e-12 relative to the terms
        assert_close_slices(one.as_slice().unwrap(), &naive, Tolerance::new(1e-10, 1e-11));
        let bits = |m: &Array2<f64>| m.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&one), bits(&two));
    }

    #[test]
    fn parallel_mirror_copies_the_upper_triangle_exactly() {
        // above the parallel threshold (2^16 entries), with a partial last band of rows
        let m = random(300, 300, 3);
        let mut want = m.clone();
        for i in 0..300 {
            for j in 0..i {
                want[[i, j]] = m[[j, i]];
            }
        }
        for threads in [1, 2] {
            let mut got = m.clone();
            in_pool(threads, || crate::activation_map::mirror_upper(&mut got));
            assert_eq!(got, want, "{threads} threads");
        }
    }

    #[test]
    fn finiteness_check_names_the_first_bad_entry_of_a_large_matrix() {
        let mut m = random(400, 300, 4);
        assert!(finite("op", "K", m.view()).is_ok());
        m[[371, 5]] = f64::INFINITY;
        m[[372, 0]] = f64::NAN;
        for threads in [1, 2] {
            let e = in_pool(threads, || finite("op", "K", m.view())).unwrap_err().to_string();
            assert!(e.contains("inf at (371, 5)"), "{e}");
        }
    }
}
