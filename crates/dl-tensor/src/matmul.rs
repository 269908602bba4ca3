//! Matrix multiplication, 2-D and batched with broadcast batch dimensions.
//!
//! `a` of shape `(..., m, k)` times `b` of shape `(..., k, n)` gives `(..., m, n)`, where the
//! leading "batch" dimensions broadcast as in NumPy's `matmul`. Every product runs through
//! `matrixmultiply`'s packed GEMM kernels (AVX-512 where the CPU has it), which accept
//! arbitrary strides, so transposed views are multiplied without a copy.
//!
//! Parallelism sits above the kernel, on rayon's pool: batches are spread across threads,
//! and a single large product is split into bands of rows. A given output element is
//! always the same dot product accumulated in the same order (the kernel blocks the `k`
//! dimension identically for every band), so results are bit-identical whatever the
//! thread count.

use ndarray::{ArrayD, ArrayView2, ArrayViewD, ArrayViewMut2, Axis, Ix2, IxDyn};
use rayon::prelude::*;

use crate::element::Element;
use crate::error::{Result, TensorError};
use crate::shape::broadcast_shapes;
use crate::tensor::Tensor;

/// Multiply-adds below which a product stays on the calling thread. Splitting a product
/// costs a hand-off to another thread and packs the right operand once per band; inside a
/// network step (operands just written by the calling thread) that made a 128x256x256
/// product slower on two threads than on one, so the split starts at 2^24.
const PARALLEL_FLOPS: usize = 1 << 24;
/// Smallest band of rows (or columns) worth giving a thread.
const MIN_ROWS_PER_BAND: usize = 32;

/// C = A B for 2-D views, written into `c` (overwritten), splitting rows or columns across
/// threads when the product is large.
///
/// A band of rows multiplies its rows of A by all of B, so every band packs the whole of B;
/// a band of columns packs the whole of A. The split goes along the longer side of C, which
/// duplicates the packing of the smaller operand: for a layer's `(128, 784) x (784, 512)`
/// product, column bands pack A (100k entries) twice instead of B (400k entries). Column
/// bands are whole multiples of 16 columns, the width of the widest micro-kernel.
pub fn gemm_into<T: Element>(a: ArrayView2<T>, b: ArrayView2<T>, mut c: ArrayViewMut2<T>) {
    let (m, k) = a.dim();
    let n = b.dim().1;
    debug_assert_eq!(b.dim().0, k);
    debug_assert_eq!(c.dim(), (m, n));
    let threads = rayon::current_num_threads();
    if m * n * k < PARALLEL_FLOPS || threads < 2 {
        gemm_serial(a, b, c);
        return;
    }
    // Splitting rows repacks all of B in every band, splitting columns all of A: split
    // the dimension whose other operand is the smaller one to pack twice.
    if m >= n && m >= 2 * MIN_ROWS_PER_BAND {
        let bands = threads.min(m / MIN_ROWS_PER_BAND);
        let rows = m.div_ceil(bands);
        let a_bands: Vec<_> = a.axis_chunks_iter(Axis(0), rows).collect();
        let c_bands: Vec<_> = c.axis_chunks_iter_mut(Axis(0), rows).collect();
        a_bands.into_par_iter().zip(c_bands).for_each(|(ab, cb)| gemm_serial(ab, b, cb));
    } else if n >= 2 * MIN_ROWS_PER_BAND {
        let bands = threads.min(n / MIN_ROWS_PER_BAND);
        let cols = n.div_ceil(bands).next_multiple_of(16);
        let b_bands: Vec<_> = b.axis_chunks_iter(Axis(1), cols).collect();
        let c_bands: Vec<_> = c.axis_chunks_iter_mut(Axis(1), cols).collect();
        b_bands.into_par_iter().zip(c_bands).for_each(|(bb, cb)| gemm_serial(a, bb, cb));
    } else {
        gemm_serial(a, b, c);
    }
}

fn gemm_serial<T: Element>(a: ArrayView2<T>, b: ArrayView2<T>, mut c: ArrayViewMut2<T>) {
    let (m, k) = a.dim();
    let n = b.dim().1;
    let (rsa, csa) = (a.strides()[0], a.strides()[1]);
    let (rsb, csb) = (b.strides()[0], b.strides()[1]);
    let (rsc, csc) = (c.strides()[0], c.strides()[1]);
    // SAFETY: the views describe valid m x k, k x n and m x n matrices with the given
    // strides; `c` is a unique mutable view, so it does not alias `a` or `b`.
    unsafe {
        T::gemm(m, k, n, T::one(), a.as_ptr(), rsa, csa, b.as_ptr(), rsb, csb, T::zero(), c.as_mut_ptr(), rsc, csc);
    }
}

/// The 2-D matrices of a `(batch..., r, c)` view, in row-major batch order (views, no copy).
fn matrices<T: Element>(v: ArrayViewD<'_, T>, lead: usize) -> Vec<ArrayView2<'_, T>> {
    let mut mats = vec![v];
    for _ in 0..lead {
        mats = mats
            .into_iter()
            .flat_map(|m| {
                let len = m.len_of(Axis(0));
                (0..len).map(move |i| m.clone().index_axis_move(Axis(0), i))
            })
            .collect();
    }
    mats.into_iter().map(|m| m.into_dimensionality::<Ix2>().expect("two trailing axes")).collect()
}

impl<T: Element> Tensor<T> {
    /// Matrix product with NumPy `matmul` semantics for inputs of rank >= 2.
    pub fn matmul(&self, other: &Self) -> Result<Self> {
        let (sa, sb) = (self.shape(), other.shape());
        if sa.len() < 2 || sb.len() < 2 {
            return Err(TensorError::ShapeMismatch {
                op: "matmul",
                lhs: sa.to_vec(),
                rhs: sb.to_vec(),
                dim: 0,
                detail: "both operands need at least 2 dimensions".into(),
            });
        }
        let (m, k) = (sa[sa.len() - 2], sa[sa.len() - 1]);
        let (k2, n) = (sb[sb.len() - 2], sb[sb.len() - 1]);
        if k != k2 {
            return Err(TensorError::ShapeMismatch {
                op: "matmul",
                lhs: sa.to_vec(),
                rhs: sb.to_vec(),
                dim: sa.len() - 1,
                detail: format!("inner dimensions differ: {k} (columns of the left) vs {k2} (rows of the right)"),
            });
        }
        let batch = broadcast_shapes("matmul", &sa[..sa.len() - 2], &sb[..sb.len() - 2])?;
        let nbatch: usize = batch.iter().product();
        let mut out_shape = batch.clone();
        out_shape.extend([m, n]);
        // Every element is written by the GEMM (beta = 0 does not read C).
        let n_out = out_shape.iter().product::<usize>();
        let mut out =
            ArrayD::from_shape_vec(IxDyn(&out_shape), crate::buffer_pool::take::<T>(n_out)).expect("length matches");
        if nbatch == 0 || m == 0 || n == 0 {
            return Ok(Tensor::from_ndarray(out));
        }

        let mut a_shape = batch.clone();
        a_shape.extend([m, k]);
        let mut b_shape = batch.clone();
        b_shape.extend([k, n]);
        let av = self.array().broadcast(IxDyn(&a_shape)).expect("checked");
        let bv = other.array().broadcast(IxDyn(&b_shape)).expect("checked");
        let a_mats = matrices(av, batch.len());
        let b_mats = matrices(bv, batch.len());
        let mut o3 = out.view_mut().into_shape_with_order((nbatch, m, n)).expect("fresh array");
        if nbatch == 1 {
            gemm_into(a_mats[0].view(), b_mats[0].view(), o3.index_axis_mut(Axis(0), 0));
        } else if nbatch * m * n * k >= PARALLEL_FLOPS {
            o3.axis_iter_mut(Axis(0))
                .into_par_iter()
                .enumerate()
                .for_each(|(i, c)| gemm_serial(a_mats[i].view(), b_mats[i].view(), c));
        } else {
            for (i, c) in o3.axis_iter_mut(Axis(0)).enumerate() {
                gemm_serial(a_mats[i].view(), b_mats[i].view(), c);
            }
        }
        Ok(Tensor::from_ndarray(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::seeded_rng;

    fn naive(a: &Tensor<f64>, b: &Tensor<f64>) -> Vec<f64> {
        let (m, k, n) = (a.shape()[0], a.shape()[1], b.shape()[1]);
        let (av, bv) = (a.to_vec(), b.to_vec());
        let mut c = vec![0.0; m * n];
        for i in 0..m {
            for j in 0..n {
                for p in 0..k {
                    c[i * n + j] += av[i * k + p] * bv[p * n + j];
                }
            }
        }
        c
    }

    #[test]
    fn matches_direct_loops_including_transposed_views() {
        let mut rng = seeded_rng(1);
        let a = Tensor::<f64>::randn(&[7, 5], &mut rng);
        let b = Tensor::<f64>::randn(&[5, 3], &mut rng);
        let c = a.matmul(&b).unwrap().to_vec();
        for (x, y) in c.iter().zip(naive(&a, &b)) {
            assert!((x - y).abs() < 1e-12);
        }
        let at = a.t().unwrap().contiguous().t().unwrap();
        assert_eq!(at.matmul(&b).unwrap().to_vec(), c);
    }

    #[test]
    fn batch_dimensions_broadcast() {
        let mut rng = seeded_rng(2);
        let a = Tensor::<f64>::randn(&[2, 1, 4, 3], &mut rng);
        let b = Tensor::<f64>::randn(&[5, 3, 2], &mut rng);
        let c = a.matmul(&b).unwrap();
        assert_eq!(c.shape(), &[2, 5, 4, 2]);
        for i in 0..2 {
            for j in 0..5 {
                let ai = Tensor::from_ndarray(a.array().index_axis(Axis(0), i).index_axis(Axis(0), 0).to_owned());
                let bj = Tensor::from_ndarray(b.array().index_axis(Axis(0), j).to_owned());
                let cij: Vec<f64> = c.array().index_axis(Axis(0), i).index_axis(Axis(0), j).iter().copied().collect();
                for (x, y) in cij.iter().zip(naive(&ai, &bj)) {
                    assert!((x - y).abs() < 1e-12);
                }
            }
        }
    }

    #[test]
    fn inner_dimension_mismatch_names_both_shapes() {
        let a = Tensor::<f32>::zeros(&[2, 3]);
        let b = Tensor::<f32>::zeros(&[4, 5]);
        let msg = a.matmul(&b).unwrap_err().to_string();
        assert!(msg.contains("matmul") && msg.contains("[2, 3]") && msg.contains("[4, 5]"), "{msg}");
    }

    #[test]
    fn bits_do_not_depend_on_thread_count() {
        let mut rng = seeded_rng(3);
        // 600 x 300 x 200 = 3.6e7 multiply-adds, above PARALLEL_FLOPS, so the split runs.
        let a = Tensor::<f32>::randn(&[600, 300], &mut rng);
        let b = Tensor::<f32>::randn(&[300, 200], &mut rng);
        const { assert!(600 * 300 * 200 >= PARALLEL_FLOPS) };
        let one = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
        let four = rayon::ThreadPoolBuilder::new().num_threads(4).build().unwrap();
        let c1 = one.install(|| a.matmul(&b).unwrap());
        let c4 = four.install(|| a.matmul(&b).unwrap());
        let bits = |t: &Tensor<f32>| t.to_vec().iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&c1), bits(&c4));
    }

    #[test]
    fn column_bands_keep_the_bits_and_match_direct_loops() {
        // 128 x 784 x 512, a dense layer's product: wider than tall, so it splits by columns
        // (in bands of 16-column multiples that do not divide 500 evenly below).
        let mut rng = seeded_rng(4);
        for (m, k, n) in [(128usize, 784usize, 512usize), (96, 700, 500)] {
            assert!(m * k * n >= PARALLEL_FLOPS && n > m);
            let a = Tensor::<f64>::randn(&[m, k], &mut rng);
            let b = Tensor::<f64>::randn(&[k, n], &mut rng);
            let pool = |t| rayon::ThreadPoolBuilder::new().num_threads(t).build().unwrap();
            let c1 = pool(1).install(|| a.matmul(&b).unwrap()).to_vec();
            for t in [2, 3] {
                let ct = pool(t).install(|| a.matmul(&b).unwrap()).to_vec();
                assert!(c1.iter().zip(&ct).all(|(x, y)| x.to_bits() == y.to_bits()), "{t} threads, {m}x{k}x{n}");
            }
            for (x, y) in c1.iter().zip(naive(&a, &b)) {
                assert!((x - y).abs() < 1e-10, "{x} vs {y}");
            }
        }
    }
}
