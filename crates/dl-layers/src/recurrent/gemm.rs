//! Row-major matrices on plain slices and the one product the recurrences need,
//! `C = beta C + A^(T?) B^(T?)`, through the workspace's GEMM kernel
//! ([`Element::gemm`], `matrixmultiply`), and its row-banded parallel form for the large
//! products outside the time loops. The time loops of the explicit forward and
//! backward call it on slices of preallocated buffers, so a step allocates nothing.

use dl_tensor::Element;
use dl_tensor::matmul::gemm_into;
use ndarray::{ArrayView2, ArrayViewMut2, ShapeBuilder};

/// A row-major `rows x cols` matrix borrowed from a slice, optionally read transposed.
#[derive(Clone, Copy)]
pub(crate) struct Mat<'a, T> {
    pub data: &'a [T],
    pub rows: usize,
    pub cols: usize,
    pub transposed: bool,
}

impl<'a, T> Mat<'a, T> {
    /// The matrix `data` viewed as `rows x cols` (row-major).
    pub fn new(data: &'a [T], rows: usize, cols: usize) -> Self {
        Mat { data, rows, cols, transposed: false }
    }
    /// The transpose (a view: only the strides change).
    pub fn t(self) -> Self {
        Mat { transposed: !self.transposed, ..self }
    }
    /// `(rows, cols)` as read, after an optional transpose.
    pub(crate) fn dims(&self) -> (usize, usize) {
        if self.transposed { (self.cols, self.rows) } else { (self.rows, self.cols) }
    }
    /// `(row stride, column stride)` as read.
    pub(crate) fn strides(&self) -> (isize, isize) {
        if self.transposed { (1, self.cols as isize) } else { (self.cols as isize, 1) }
    }
}

/// `c (m x n, row-major) = beta c + a b`, for `a` read as `m x k` and `b` as `k x n`.
///
/// # Panics
/// When the slices are shorter than the stated shapes or the inner dimensions differ: every
/// caller in this crate passes buffers it sized itself, so this is an internal invariant.
pub(crate) fn gemm<T: Element>(beta: T, c: &mut [T], a: Mat<'_, T>, b: Mat<'_, T>) {
    let (m, k) = a.dims();
    let (kb, n) = b.dims();
    assert!(k == kb, "gemm: inner dimensions {k} and {kb} differ (internal invariant)");
    assert!(
        a.data.len() >= a.rows * a.cols && b.data.len() >= b.rows * b.cols && c.len() >= m * n,
        "gemm: a buffer is shorter than its shape (internal invariant)"
    );
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        c[..m * n].iter_mut().for_each(|v| *v = beta * *v);
        return;
    }
    let (rsa, csa) = a.strides();
    let (rsb, csb) = b.strides();
    // SAFETY: the asserts above guarantee that the three pointers with these strides
    // describe m x k, k x n and m x n matrices inside their slices, and `c` is a unique
    // borrow, so it aliases neither `a` nor `b`.
    unsafe {
        T::gemm(
            m,
            k,
            n,
            T::one(),
            a.data.as_ptr(),
            rsa,
            csa,
            b.data.as_ptr(),
            rsb,
            csb,
            beta,
            c.as_mut_ptr(),
            n as isize,
            1,
        );
    }
}

/// `c (m x n, row-major) = a b` (overwritten) for the large products outside the time loops
/// (the input projection of all steps, the weight gradients over all `(T B)` rows): through
/// dl-tensor's [`gemm_into`], which splits a large product into bands of rows on rayon's
/// pool. Every entry is the same dot product summed in the same order whatever the band, so
/// the result has the same bits for every thread count.
///
/// # Panics
/// As [`gemm`]: when a slice is shorter than its shape (an internal invariant).
pub(crate) fn gemm_parallel<T: Element>(c: &mut [T], a: Mat<'_, T>, b: Mat<'_, T>) {
    let (m, k) = a.dims();
    let (kb, n) = b.dims();
    assert!(k == kb, "gemm_parallel: inner dimensions {k} and {kb} differ (internal invariant)");
    if m == 0 || n == 0 || k == 0 {
        c[..m * n].iter_mut().for_each(|v| *v = T::zero());
        return;
    }
    let c = ArrayViewMut2::from_shape((m, n), &mut c[..m * n])
        .expect("gemm_parallel: c is shorter than m x n (internal invariant)");
    gemm_into(view(a), view(b), c);
}

/// `x` as an ndarray view (as read, after its optional transpose).
fn view<T>(x: Mat<'_, T>) -> ArrayView2<'_, T> {
    let (rs, cs) = x.strides();
    ArrayView2::from_shape(x.dims().strides((rs as usize, cs as usize)), &x.data[..x.rows * x.cols])
        .expect("gemm_parallel: a buffer is shorter than its shape (internal invariant)")
}

/// Adds every row of `rows` (`n` rows of `len`) into `out` (`len`): the bias gradient.
pub(crate) fn add_column_sums<T: Element>(out: &mut [T], rows: &[T], len: usize) {
    for row in rows.chunks_exact(len) {
        out.iter_mut().zip(row).for_each(|(o, &r)| *o += r);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gemm_matches_a_direct_triple_loop_in_every_transpose_combination() {
        // a: 2x3, b: 3x2 stored both ways round; the triple loop is the independent reference.
        let a = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let at = [1.0, 4.0, 2.0, 5.0, 3.0, 6.0];
        let b = [1.0, -1.0, 0.5, 2.0, -3.0, 0.25];
        let bt = [1.0, 0.5, -3.0, -1.0, 2.0, 0.25];
        let mut want = [0.0f64; 4];
        for i in 0..2 {
            for j in 0..2 {
                want[i * 2 + j] = (0..3).map(|l| a[i * 3 + l] * b[l * 2 + j]).sum();
            }
        }
        for (am, bm) in [
            (Mat::new(&a[..], 2, 3), Mat::new(&b[..], 3, 2)),
            (Mat::new(&at[..], 3, 2).t(), Mat::new(&b[..], 3, 2)),
            (Mat::new(&a[..], 2, 3), Mat::new(&bt[..], 2, 3).t()),
            (Mat::new(&at[..], 3, 2).t(), Mat::new(&bt[..], 2, 3).t()),
        ] {
            let mut c = [1.0; 4];
            gemm(2.0, &mut c, am, bm);
            for (got, w) in c.iter().zip(want) {
                assert_eq!(*got, 2.0 + w, "products of small integers and halves are exact");
            }
            let mut c = [7.0; 4];
            gemm_parallel(&mut c, am, bm);
            assert_eq!(c, want, "gemm_parallel overwrites c");
        }
    }
}
