//! The recurrent weight packed once per sequence, for the `T` small products of a time loop.
//!
//! Every step of the forward recurrence computes `(B, H) x (H, G H)` with the same right
//! operand `W_hh^T`, and every step of BPTT `(B, G H) x (G H, H)` with `W_hh`. A general
//! GEMM (`matrixmultiply`) copies ("packs") both operands into its kernel's layout at each
//! call; for these small products that repacking of the constant weight is a sixth of the
//! time. [`PackedRhs`] packs the constant operand `B (K, N)` once, into panels of
//! [`NR`] = 32 columns stored `k`-major (panel `p` holds `B[k][32 p .. 32 p + 32]` for
//! `k = 0 .. K`, zero-padded on the right), and [`PackedRhs::mul_add`] computes
//! `C += A B` for row-major `A (M, K)` panel by panel, in blocks of [`MR`] = 8 rows:
//!
//! ```text
//! for every panel p, every block of 8 rows r:   acc (8 x 32) = 0
//!     for k = 0 .. K:  acc[i][:] += A[r + i][k] * panel_p[k][:]      (16 fused multiply-adds)
//!     C[r + i][32 p ..] += acc[i][:]
//! ```
//!
//! the micro-kernel layout of Goto & van de Geijn (2008, "Anatomy of high-performance
//! matrix multiplication") with the packing of `B` hoisted out of the time loop. The 16
//! accumulators are AVX-512 registers; the kernel runs in f32 when the CPU has AVX-512F
//! (detected at run time). Otherwise (f64, or an older CPU) `mul_add` is the ordinary
//! [`gemm`] on the unpacked operand. Each entry of `C` is summed over `k` in order by one
//! thread, so the result does not depend on any thread count.

use std::any::TypeId;

use dl_tensor::Element;

use super::gemm::{Mat, gemm};

/// Columns per packed panel (two 16-lane f32 registers).
pub(crate) const NR: usize = 32;
/// Rows of `A` per register block.
pub(crate) const MR: usize = 8;

/// A constant right operand `B (K, N)`, packed for the AVX-512 kernel when it applies.
pub(crate) struct PackedRhs<'a, T> {
    b: Mat<'a, T>,
    k: usize,
    n: usize,
    /// `ceil(N / NR)` panels of `K x NR` f32 values; `None` when the kernel does not apply.
    panels: Option<Vec<f32>>,
}

/// `s` as f32 values when `T` is f32.
fn as_f32<T: Element>(s: &[T]) -> Option<&[f32]> {
    // SAFETY: T is f32 (same type id), so the cast is the identity.
    (TypeId::of::<T>() == TypeId::of::<f32>())
        .then(|| unsafe { std::slice::from_raw_parts(s.as_ptr().cast::<f32>(), s.len()) })
}

/// `s` as mutable f32 values when `T` is f32.
fn as_f32_mut<T: Element>(s: &mut [T]) -> Option<&mut [f32]> {
    // SAFETY: as in `as_f32`; the unique borrow passes to the result.
    (TypeId::of::<T>() == TypeId::of::<f32>())
        .then(|| unsafe { std::slice::from_raw_parts_mut(s.as_mut_ptr().cast::<f32>(), s.len()) })
}

/// Whether the CPU has AVX-512F (detected once at run time, then cached by std).
pub(crate) fn avx512_available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx512f")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

impl<'a, T: Element> PackedRhs<'a, T> {
    /// Packs `b` (read as `K x N`, transposed or not).
    pub fn new(b: Mat<'a, T>) -> Self {
        let (k, n) = b.dims();
        let panels = as_f32(b.data).filter(|_| avx512_available()).map(|data| {
            let (rs, cs) = b.strides();
            let mut panels = vec![0.0f32; n.div_ceil(NR) * k * NR];
            for (p, panel) in panels.chunks_exact_mut(k * NR).enumerate() {
                for (kk, row) in panel.chunks_exact_mut(NR).enumerate() {
                    for (j, v) in row.iter_mut().enumerate().take(n.saturating_sub(p * NR)) {
                        *v = data[kk * rs as usize + (p * NR + j) * cs as usize];
                    }
                }
            }
            panels
        });
        PackedRhs { b, k, n, panels }
    }

    /// `c (M x N, row-major) += a b` for `a` read as `M x K` (not transposed).
    ///
    /// # Panics
    /// When the shapes disagree or a slice is shorter than its shape: the time loops pass
    /// buffers they sized themselves, so this is an internal invariant.
    pub fn mul_add(&self, c: &mut [T], a: Mat<'_, T>) {
        let m = a.rows;
        assert!(
            !a.transposed && a.cols == self.k && a.data.len() >= m * self.k && c.len() >= m * self.n,
            "mul_add: shapes disagree (internal invariant)"
        );
        match (&self.panels, as_f32(a.data), as_f32_mut(c)) {
            #[cfg(target_arch = "x86_64")]
            (Some(panels), Some(a32), Some(c32)) => {
                // SAFETY: the panels exist only when AVX-512F was detected; the assert above
                // bounds `a` (m x k) and `c` (m x n), and `panels` holds ceil(n / NR) k x NR panels.
                unsafe { avx512::gemm_packed(m, self.n, self.k, a32.as_ptr(), panels.as_ptr(), c32.as_mut_ptr()) }
            }
            _ => gemm(T::one(), c, a, self.b),
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod avx512 {
    use std::arch::x86_64::*;

    use super::{MR, NR};

    /// `c (m x n) += a (m x k) * B` with `B` packed in panels; row-major, rows of length `k` and `n`.
    ///
    /// # Safety
    /// AVX-512F is available; `a` points at `m k` values, `c` at `m n`, `panels` at
    /// `ceil(n / NR) k NR`.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn gemm_packed(m: usize, n: usize, k: usize, a: *const f32, panels: *const f32, c: *mut f32) {
        for p in 0..n.div_ceil(NR) {
            let cols = (n - p * NR).min(NR);
            // SAFETY (all blocks): panel p and the rows r .. r + R of a and c lie inside the
            // buffers the caller vouched for; columns past `cols` are masked off.
            unsafe {
                let panel = panels.add(p * k * NR);
                let c_p = c.add(p * NR);
                let mut r = 0;
                while r + MR <= m {
                    block::<MR>(k, n, cols, a.add(r * k), panel, c_p.add(r * n));
                    r += MR;
                }
                let (a_r, c_r) = (a.add(r * k), c_p.add(r * n));
                match m - r {
                    1 => block::<1>(k, n, cols, a_r, panel, c_r),
                    2 => block::<2>(k, n, cols, a_r, panel, c_r),
                    3 => block::<3>(k, n, cols, a_r, panel, c_r),
                    4 => block::<4>(k, n, cols, a_r, panel, c_r),
                    5 => block::<5>(k, n, cols, a_r, panel, c_r),
                    6 => block::<6>(k, n, cols, a_r, panel, c_r),
                    7 => block::<7>(k, n, cols, a_r, panel, c_r),
                    _ => {}
                }
            }
        }
    }

    /// `R` rows of `c` (the first `cols <= 32` columns from `c`) `+= a[R][k] panel[k][32]`.
    #[target_feature(enable = "avx512f")]
    #[inline]
    unsafe fn block<const R: usize>(k: usize, ldc: usize, cols: usize, a: *const f32, panel: *const f32, c: *mut f32) {
        let mut acc = [[_mm512_setzero_ps(); 2]; R];
        // SAFETY: see `gemm_packed`; masked loads and stores touch only the first `cols` lanes.
        unsafe {
            for kk in 0..k {
                let b0 = _mm512_loadu_ps(panel.add(kk * NR));
                let b1 = _mm512_loadu_ps(panel.add(kk * NR + 16));
                for (i, acc_i) in acc.iter_mut().enumerate() {
                    let av = _mm512_set1_ps(*a.add(i * k + kk));
                    acc_i[0] = _mm512_fmadd_ps(av, b0, acc_i[0]);
                    acc_i[1] = _mm512_fmadd_ps(av, b1, acc_i[1]);
                }
            }
            let lanes = |c: usize| -> __mmask16 { if c >= 16 { 0xFFFF } else { ((1u32 << c) - 1) as __mmask16 } };
            let (m0, m1) = (lanes(cols), lanes(cols.saturating_sub(16)));
            for (i, acc_i) in acc.iter().enumerate() {
                let row = c.add(i * ldc);
                let hi = row.wrapping_add(16);
                _mm512_mask_storeu_ps(row, m0, _mm512_add_ps(_mm512_maskz_loadu_ps(m0, row), acc_i[0]));
                _mm512_mask_storeu_ps(hi, m1, _mm512_add_ps(_mm512_maskz_loadu_ps(m1, hi), acc_i[1]));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dl_tensor::{Tensor, seeded_rng};

    /// `c + a b` by a direct triple loop in f64, the independent reference.
    fn reference(c: &[f32], a: &[f32], b: &[f32], m: usize, k: usize, n: usize) -> Vec<f64> {
        let mut out: Vec<f64> = c.iter().map(|&v| v as f64).collect();
        for i in 0..m {
            for j in 0..n {
                out[i * n + j] += (0..k).map(|l| a[i * k + l] as f64 * b[l * n + j] as f64).sum::<f64>();
            }
        }
        out
    }

    #[test]
    fn packed_product_matches_a_direct_loop_with_ragged_blocks_and_panels() {
        // m = 13 (a block of 8 and a tail of 5), n = 70 (two full panels and a tail of 6),
        // also n = 16 and 40 (a tail inside the first and second half of a panel), and B read
        // transposed.
        let mut rng = seeded_rng(5);
        for &(m, k, n) in &[(13, 37, 70), (8, 5, 16), (3, 64, 40), (32, 128, 512)] {
            let a = Tensor::<f32>::randn(&[m, k], &mut rng).to_vec();
            let b = Tensor::<f32>::randn(&[k, n], &mut rng).to_vec();
            let c0 = Tensor::<f32>::randn(&[m, n], &mut rng).to_vec();
            let bt: Vec<f32> = (0..n * k).map(|q| b[(q % k) * n + q / k]).collect();
            let want = reference(&c0, &a, &b, m, k, n);
            for packed in [PackedRhs::new(Mat::new(&b, k, n)), PackedRhs::new(Mat::new(&bt, n, k).t())] {
                let mut c = c0.clone();
                packed.mul_add(&mut c, Mat::new(&a, m, k));
                // f32 accumulation of k <= 128 products of size O(1): partial sums of size
                // ~sqrt(k) = 11 rounded k times at 6e-8 give errors ~1e-5, 2e-4 at the very
                // worst; a wrong index or a missed tail is off by O(1).
                let worst = c.iter().zip(&want).map(|(&g, &w)| (g as f64 - w).abs()).fold(0.0, f64::max);
                assert!(worst < 2e-4, "({m}, {k}, {n}): worst error {worst}");
            }
        }
    }

    #[test]
    fn f64_falls_back_to_the_general_gemm_exactly() {
        let a = [1.0, 2.0, 3.0, 4.0];
        let b = [0.5, -1.0, 2.0, 0.25, 1.0, 3.0];
        let packed = PackedRhs::new(Mat::new(&b[..], 2, 3));
        assert!(packed.panels.is_none());
        let mut c = [1.0f64; 6];
        packed.mul_add(&mut c, Mat::new(&a[..], 2, 2));
        // products of small integers and quarters are exact
        assert_eq!(
            c,
            [1.0 + 0.5 + 0.5, 1.0 - 1.0 + 2.0, 1.0 + 2.0 + 6.0, 1.0 + 1.5 + 1.0, 1.0 - 3.0 + 4.0, 1.0 + 6.0 + 12.0]
        );
    }
}
