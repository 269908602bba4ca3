//! The fused loops over a row-major `(a, s, b)` array with one statistic per middle index.
//!
//! Each loop is written twice: for `b = 1` (batch norm on `(N, F)`: a statistic per
//! column) it walks the array row by row and accumulates a whole row into the per-column
//! accumulators, which is contiguous in memory and vectorises; for `b > 1` it reduces each
//! contiguous run of `b` values with eight independent partial sums (again vectorisable),
//! then adds the run's sum to its statistic. No transposes, no temporaries of the input's
//! size. Every loop visits the elements in one fixed order, so results do not depend on the
//! thread count.
//!
//! **Variance.** [`moments`] uses the *corrected two-pass* algorithm (Chan, Golub and
//! LeVeque, 1983, "Algorithms for computing the sample variance"): first the mean `mu`,
//! then, with `d = x - mu`,
//!
//! ```text
//! var = ( sum d^2 - (sum d)^2 / m ) / m
//! ```
//!
//! The second term cancels the rounding error of `mu` to first order, and `mu + (sum d)/m`
//! is the refined mean. Unlike
//! `E[x^2] - E[x]^2`, this stays accurate in f32 when the mean is large compared with the
//! spread (at mean 1e4 and unit variance, `E[x^2]` is 1e8, whose f32 rounding error alone
//! is ~4, larger than the variance).

use dl_tensor::Element;

use crate::spec::View;

/// Per-statistic mean and biased variance (for an uncentred reduction: zero and the mean
/// square).
#[derive(Clone, Debug, PartialEq)]
pub struct Moments<T> {
    /// The mean `mu_j` of each statistic `j` (all zero for an uncentred reduction).
    pub mean: Vec<T>,
    /// The biased variance `var_j = (1/m) sum (x_i - mu_j)^2` of each statistic `j` (the
    /// mean square for an uncentred reduction).
    pub var: Vec<T>,
}

/// Per-statistic `(sum_i f(x_i, u_i, c_j), sum_i g(...))`, where `f` returns both terms
/// and `c_j` is a per-statistic constant (a mean, or zero).
///
/// For `b = 1` the rows are taken four at a time, so that each pass over the `s`
/// accumulators (a load and a store each) adds four rows; this is what makes the
/// column-wise reduction run at memory speed. For `b > 1` each run of `b` values is reduced
/// with eight partial sums.
fn per_stat_sums<T: Element>(x: &[T], u: &[T], view: View, c: &[T], f: impl Fn(T, T, T) -> (T, T)) -> (Vec<T>, Vec<T>) {
    let View { s, b, .. } = view;
    let mut sf = vec![T::zero(); s];
    let mut sg = vec![T::zero(); s];
    if b == 1 {
        let (xq, uq) = (x.chunks_exact(4 * s), u.chunks_exact(4 * s));
        let (xr, ur) = (xq.remainder(), uq.remainder());
        for (xb, ub) in xq.zip(uq) {
            let (x0, x1, x2, x3) = (&xb[..s], &xb[s..2 * s], &xb[2 * s..3 * s], &xb[3 * s..4 * s]);
            let (u0, u1, u2, u3) = (&ub[..s], &ub[s..2 * s], &ub[2 * s..3 * s], &ub[3 * s..4 * s]);
            let (c, sf, sg) = (&c[..s], &mut sf[..s], &mut sg[..s]);
            for j in 0..s {
                let (f0, g0) = f(x0[j], u0[j], c[j]);
                let (f1, g1) = f(x1[j], u1[j], c[j]);
                let (f2, g2) = f(x2[j], u2[j], c[j]);
                let (f3, g3) = f(x3[j], u3[j], c[j]);
                sf[j] += (f0 + f1) + (f2 + f3);
                sg[j] += (g0 + g1) + (g2 + g3);
            }
        }
        for (xrow, urow) in xr.chunks_exact(s).zip(ur.chunks_exact(s)) {
            for j in 0..s {
                let (fv, gv) = f(xrow[j], urow[j], c[j]);
                sf[j] += fv;
                sg[j] += gv;
            }
        }
    } else {
        for (r, (xrun, urun)) in x.chunks_exact(b).zip(u.chunks_exact(b)).enumerate() {
            let j = r % s;
            let cj = c[j];
            let mut acc_f = [T::zero(); 8];
            let mut acc_g = [T::zero(); 8];
            let (xc, uc) = (xrun.chunks_exact(8), urun.chunks_exact(8));
            let (xrest, urest) = (xc.remainder(), uc.remainder());
            for (cx, cu) in xc.zip(uc) {
                for k in 0..8 {
                    let (fv, gv) = f(cx[k], cu[k], cj);
                    acc_f[k] += fv;
                    acc_g[k] += gv;
                }
            }
            let fold = |a: [T; 8]| ((a[0] + a[4]) + (a[2] + a[6])) + ((a[1] + a[5]) + (a[3] + a[7]));
            let (mut a, mut g) = (fold(acc_f), fold(acc_g));
            for (&xv, &uv) in xrest.iter().zip(urest) {
                let (fv, gv) = f(xv, uv, cj);
                a += fv;
                g += gv;
            }
            sf[j] += a;
            sg[j] += g;
        }
    }
    (sf, sg)
}

/// Mean and biased variance per statistic (centred), or zero and the mean square
/// (uncentred, RMS norm); see the module docs for the variance algorithm.
pub fn moments<T: Element>(x: &[T], view: View, centred: bool) -> Moments<T> {
    let m = T::from_usize(view.count()).expect("a count is representable");
    let zeros = vec![T::zero(); view.s];
    if !centred {
        let (sq, _) = per_stat_sums(x, x, view, &zeros, |v, _, _| (v * v, T::zero()));
        return Moments { mean: zeros, var: sq.into_iter().map(|q| q / m).collect() };
    }
    let (sum, _) = per_stat_sums(x, x, view, &zeros, |v, _, _| (v, T::zero()));
    let mean: Vec<T> = sum.into_iter().map(|t| t / m).collect();
    let (sd, sd2) = per_stat_sums(x, x, view, &mean, |v, _, mu| {
        let d = v - mu;
        (d, d * d)
    });
    let var = sd.iter().zip(&sd2).map(|(&d, &d2)| ((d2 - d * d / m) / m).max(T::zero())).collect();
    // The same correction refines the mean: mu + mean(d) is the mean to first order in
    // the first pass's rounding error (and the variance above is about it).
    let mean = mean.iter().zip(&sd).map(|(&mu, &d)| mu + d / m).collect();
    Moments { mean, var }
}

/// Per-statistic `(sum u, sum u (x - shift))`: the two reductions of the backward pass.
pub fn cotangent_sums<T: Element>(u: &[T], x: &[T], view: View, shift: &[T]) -> (Vec<T>, Vec<T>) {
    per_stat_sums(x, u, view, shift, |xv, uv, c| (uv, uv * (xv - c)))
}

/// `out_i = p_j (x_i - c_j) + q_j` for `i` in statistic `j`: the forward output pass.
///
/// The shift `c_j` (the mean) is subtracted first: `x_i` and `c_j` are close, so the
/// difference is exact or nearly so, where `p x + (q - p c)` would cancel two large terms.
pub fn scale_shift<T: Element>(x: &[T], view: View, c: &[T], p: &[T], q: &[T]) -> Vec<T> {
    let View { s, b, .. } = view;
    let mut out = vec![T::zero(); x.len()];
    if b == 1 {
        let (c, p, q) = (&c[..s], &p[..s], &q[..s]);
        for (orow, xrow) in out.chunks_exact_mut(s).zip(x.chunks_exact(s)) {
            let (orow, xrow) = (&mut orow[..s], &xrow[..s]);
            for j in 0..s {
                orow[j] = p[j] * (xrow[j] - c[j]) + q[j];
            }
        }
    } else {
        for (r, (orun, xrun)) in out.chunks_exact_mut(b).zip(x.chunks_exact(b)).enumerate() {
            let (cj, pj, qj) = (c[r % s], p[r % s], q[r % s]);
            for (o, &v) in orun.iter_mut().zip(xrun) {
                *o = pj * (v - cj) + qj;
            }
        }
    }
    out
}

/// `out_i = p_j u_i + q_j (x_i - c_j) + r_j` for `i` in statistic `j`: the backward output pass.
pub fn scale_shift2<T: Element>(u: &[T], x: &[T], view: View, c: &[T], p: &[T], q: &[T], r: &[T]) -> Vec<T> {
    let View { s, b, .. } = view;
    let mut out = vec![T::zero(); x.len()];
    if b == 1 {
        let (c, p, q, r) = (&c[..s], &p[..s], &q[..s], &r[..s]);
        for ((orow, urow), xrow) in out.chunks_exact_mut(s).zip(u.chunks_exact(s)).zip(x.chunks_exact(s)) {
            let (orow, urow, xrow) = (&mut orow[..s], &urow[..s], &xrow[..s]);
            for j in 0..s {
                orow[j] = p[j] * urow[j] + q[j] * (xrow[j] - c[j]) + r[j];
            }
        }
    } else {
        for (k, ((orun, urun), xrun)) in
            out.chunks_exact_mut(b).zip(u.chunks_exact(b)).zip(x.chunks_exact(b)).enumerate()
        {
            let (cj, pj, qj, rj) = (c[k % s], p[k % s], q[k % s], r[k % s]);
            for ((o, &uv), &xv) in orun.iter_mut().zip(urun).zip(xrun) {
                *o = pj * uv + qj * (xv - cj) + rj;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use dl_tensor::{Tensor, seeded_rng};

    /// Direct loops over the index triple (i, j, k), in f64.
    fn reference(x: &[f64], v: View) -> (Vec<f64>, Vec<f64>) {
        let m = v.count() as f64;
        let at = |i: usize, j: usize, k: usize| x[(i * v.s + j) * v.b + k];
        let mut mean = vec![0.0; v.s];
        let mut var = vec![0.0; v.s];
        for j in 0..v.s {
            for i in 0..v.a {
                for k in 0..v.b {
                    mean[j] += at(i, j, k) / m;
                }
            }
            for i in 0..v.a {
                for k in 0..v.b {
                    var[j] += (at(i, j, k) - mean[j]).powi(2) / m;
                }
            }
        }
        (mean, var)
    }

    #[test]
    fn moments_match_direct_loops_for_both_layouts() {
        let mut rng = seeded_rng(1);
        for v in [View { a: 7, s: 5, b: 1 }, View { a: 3, s: 4, b: 19 }, View { a: 1, s: 2, b: 8 }] {
            let x = Tensor::<f64>::randn(&[v.numel()], &mut rng).to_vec();
            let got = moments(&x, v, true);
            let (mean, var) = reference(&x, v);
            // the same sums in a different order: a few ulps
            let tol = dl_tensor::Tolerance::default_for::<f64>();
            dl_tensor::assert_close(
                &Tensor::from_vec(got.mean, &[v.s]).unwrap(),
                &Tensor::from_vec(mean, &[v.s]).unwrap(),
                tol,
            );
            dl_tensor::assert_close(
                &Tensor::from_vec(got.var, &[v.s]).unwrap(),
                &Tensor::from_vec(var, &[v.s]).unwrap(),
                tol,
            );
        }
    }

    #[test]
    fn f32_variance_at_a_large_mean_stays_accurate() {
        let mut rng = seeded_rng(2);
        let v = View { a: 256, s: 4, b: 3 };
        let x64: Vec<f64> = Tensor::<f64>::randn(&[v.numel()], &mut rng).to_vec().iter().map(|z| 1e4 + z).collect();
        let x32: Vec<f32> = x64.iter().map(|&z| z as f32).collect();
        let x32_exact: Vec<f64> = x32.iter().map(|&z| z as f64).collect();
        let (_, var_ref) = reference(&x32_exact, v);
        let got = moments(&x32, v, true);
        for (j, (&g, &r)) in got.var.iter().zip(&var_ref).enumerate() {
            // The deviations x - mu of nearby f32 values are (nearly) exact; what remains is
            // the f32 rounding of d^2 and of 768-term sums (~1e-6 relative). 1e-4 leaves room
            // and is far below the naive formula's error.
            let rel = (g as f64 - r).abs() / r;
            assert!(rel < 1e-4, "statistic {j}: {g} vs {r}");
        }
        // The naive E[x^2] - E[x]^2 in f32 fails on the same data, so the test can fail.
        let m = v.count() as f32;
        let (sq, s1) = per_stat_sums(&x32, &x32, v, &[0.0; 4], |z, _, _| (z * z, z));
        let naive_rel = (sq[0] / m - (s1[0] / m).powi(2) - var_ref[0] as f32).abs() as f64 / var_ref[0];
        assert!(naive_rel > 1e-2, "naive relative error {naive_rel}");
    }
}
