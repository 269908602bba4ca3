//! **Orthogonal** and **delta-orthogonal** weights.
//!
//! *Orthogonal* (Saxe, McClelland and Ganguli 2014): draw a Gaussian matrix `A`, factor
//! `A = Q R` (Householder QR in f64), and flip the sign of each column of `Q` by the sign of
//! `R_jj`. Without the flip `Q` depends on the QR algorithm's sign convention (Householder
//! makes `Q_00` always negative, say); with it, `Q` is distributed by Haar measure on the
//! orthogonal group (Mezzadri 2007), which is what PyTorch's `orthogonal_` does too. A
//! weight of shape `(rows, cols...)` is flattened to `rows x cols` (`cols` the product of
//! the rest): for `rows <= cols` its rows are orthonormal, `W W^T = I`; for `rows > cols`
//! its columns are, `W^T W = I`. Every singular value is 1 (times the gain), so a deep
//! linear network with such weights keeps the norm of every signal and every gradient:
//! dynamical isometry.
//!
//! *Delta-orthogonal* (Xiao et al. 2018, Algorithm 1): a convolution kernel
//! `(out, in, k1, k2, ...)` that is zero except at its centre tap, where it is an
//! orthogonal `out x in` matrix `H` with `H^T H = I` (so `out >= in`). With stride 1 and
//! padding `k / 2` (odd k), the convolution maps the input vector at every position `p`
//! to `H x_p`, so `||conv(x)|| = ||x||` exactly (zero padding never enters: only the
//! centre tap is non-zero).
//!
//! ```
//! use dl_init::orthogonal::{orthogonal, delta_orthogonal};
//! use dl_tensor::seeded_rng;
//! let w = orthogonal::<f64>(&[3, 5], 1.0, &mut seeded_rng(0))?;      // W W^T = I_3
//! let v = w.to_vec();
//! let dot = |i: usize, j: usize| (0..5).map(|k| v[i * 5 + k] * v[j * 5 + k]).sum::<f64>();
//! assert!((dot(0, 0) - 1.0).abs() < 1e-12 && dot(0, 1).abs() < 1e-12);
//! let k = delta_orthogonal::<f32>(&[8, 4, 3, 3], 1.0, &mut seeded_rng(1))?;
//! assert_eq!(k.to_vec()[0], 0.0);                                        // only the centre tap
//! # Ok::<(), dl_init::InitError>(())
//! ```

use dl_tensor::random::standard_normal_f64;
use dl_tensor::{Element, Tensor, TensorRng};

use crate::error::{InitError, Result, positive};

/// The thin QR factorisation of a tall `m x n` matrix (`m >= n`, row-major) by Householder
/// reflections: returns `Q` (`m x n`, orthonormal columns, row-major) and the diagonal of
/// `R`. Reflection k maps column k below the diagonal onto `alpha_k e_k` with
/// `alpha_k = -sign(x_0) ||x||` (no cancellation), so `R_kk = alpha_k`.
pub fn householder_qr(a: &[f64], m: usize, n: usize) -> (Vec<f64>, Vec<f64>) {
    assert!(m >= n && a.len() == m * n, "householder_qr: internal invariant, a tall m x n matrix");
    let mut r = a.to_vec();
    let mut reflectors: Vec<Vec<f64>> = Vec::with_capacity(n);
    let mut diag = Vec::with_capacity(n);
    for k in 0..n {
        let x: Vec<f64> = (k..m).map(|i| r[i * n + k]).collect();
        let norm = x.iter().map(|v| v * v).sum::<f64>().sqrt();
        let alpha = if x[0] >= 0.0 { -norm } else { norm };
        let mut v = x;
        v[0] -= alpha;
        let vnorm = v.iter().map(|t| t * t).sum::<f64>().sqrt();
        if vnorm > 0.0 {
            v.iter_mut().for_each(|t| *t /= vnorm);
            // R[k.., k..] -= 2 v (v^T R[k.., k..])
            for j in k..n {
                let dot: f64 = (k..m).map(|i| v[i - k] * r[i * n + j]).sum();
                for i in k..m {
                    r[i * n + j] -= 2.0 * v[i - k] * dot;
                }
            }
        }
        diag.push(alpha);
        reflectors.push(v);
    }
    // Q = H_0 H_1 ... H_{n-1} [I_n; 0], applied right to left.
    let mut q = vec![0.0; m * n];
    for j in 0..n {
        q[j * n + j] = 1.0;
    }
    for k in (0..n).rev() {
        let v = &reflectors[k];
        for j in 0..n {
            let dot: f64 = (k..m).map(|i| v[i - k] * q[i * n + j]).sum();
            for i in k..m {
                q[i * n + j] -= 2.0 * v[i - k] * dot;
            }
        }
    }
    (q, diag)
}

/// A Haar-distributed `rows x cols` matrix with orthonormal rows (`rows <= cols`) or
/// orthonormal columns (`rows > cols`), row-major, in f64.
pub fn haar_semi_orthogonal(rows: usize, cols: usize, rng: &mut TensorRng) -> Vec<f64> {
    let (m, n) = if rows >= cols { (rows, cols) } else { (cols, rows) };
    let a = standard_normal_f64(m * n, rng);
    let (mut q, diag) = householder_qr(&a, m, n);
    // Sign correction: Q <- Q diag(sign(R_jj)), which makes Q Haar-distributed.
    for i in 0..m {
        for (j, d) in diag.iter().enumerate() {
            if *d < 0.0 {
                q[i * n + j] = -q[i * n + j];
            }
        }
    }
    if rows >= cols {
        q
    } else {
        // Q is cols x rows with orthonormal columns; its transpose has orthonormal rows.
        (0..rows).flat_map(|i| (0..cols).map(move |j| (i, j))).map(|(i, j)| q[j * n + i]).collect()
    }
}

fn check_weight_shape(scheme: &str, shape: &[usize], min_dims: usize) -> Result<()> {
    if shape.len() < min_dims || shape.contains(&0) {
        return Err(InitError::scheme(
            scheme,
            format!("a weight of shape {shape:?}"),
            format!("need at least {min_dims} dimensions, all positive"),
        ));
    }
    Ok(())
}

/// An orthogonal weight of `shape` (flattened to `shape[0] x rest`) times `gain`.
/// Errors: fewer than 2 dimensions, a zero dimension, a gain that is not positive and finite.
pub fn orthogonal<T: Element>(shape: &[usize], gain: f64, rng: &mut TensorRng) -> Result<Tensor<T>> {
    check_weight_shape("orthogonal", shape, 2)?;
    positive("gain", gain)?;
    let rows = shape[0];
    let cols: usize = shape[1..].iter().product();
    let q = haar_semi_orthogonal(rows, cols, rng);
    Ok(Tensor::from_vec(q.into_iter().map(|v| T::from_f64_lossy(gain * v)).collect(), shape)?)
}

/// A delta-orthogonal convolution kernel `(out, in, k1, ...)`: zero except the centre tap
/// `(k1 / 2, k2 / 2, ...)`, which is `gain` times an `out x in` matrix with orthonormal
/// columns (Xiao et al. 2018). Errors: fewer than 3 dimensions, a zero dimension,
/// `out < in` (then no `out x in` matrix preserves norms), a gain that is not positive.
pub fn delta_orthogonal<T: Element>(shape: &[usize], gain: f64, rng: &mut TensorRng) -> Result<Tensor<T>> {
    check_weight_shape("delta_orthogonal", shape, 3)?;
    positive("gain", gain)?;
    let (out, inp) = (shape[0], shape[1]);
    if out < inp {
        return Err(InitError::scheme(
            "delta_orthogonal",
            format!("a kernel of shape {shape:?}"),
            format!("needs out_channels >= in_channels to preserve norms, got {out} < {inp}"),
        ));
    }
    let h = haar_semi_orthogonal(out, inp, rng);
    let taps: usize = shape[2..].iter().product();
    // Row-major offset of the centre tap within one (out, in) slot's k1 x k2 x ... block.
    let mut centre = 0;
    for &k in &shape[2..] {
        centre = centre * k + k / 2;
    }
    let mut data = vec![T::zero(); out * inp * taps];
    for o in 0..out {
        for i in 0..inp {
            data[(o * inp + i) * taps + centre] = T::from_f64_lossy(gain * h[o * inp + i]);
        }
    }
    Ok(Tensor::from_vec(data, shape)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use dl_tensor::seeded_rng;

    fn gram(v: &[f64], rows: usize, cols: usize, of_rows: bool) -> Vec<f64> {
        let (n, len) = if of_rows { (rows, cols) } else { (cols, rows) };
        let at = |a: usize, k: usize| if of_rows { v[a * cols + k] } else { v[k * cols + a] };
        (0..n * n).map(|ij| (0..len).map(|k| at(ij / n, k) * at(ij % n, k)).sum()).collect()
    }

    /// W W^T = I (wide) and W^T W = I (tall) to 1e-12: Householder QR in f64 is backward
    /// stable, orthogonality error ~ n * 1e-16.
    #[test]
    fn rows_or_columns_are_orthonormal() {
        for &(rows, cols) in &[(7, 7), (5, 40), (40, 5), (64, 3 * 3 * 8)] {
            let w = orthogonal::<f64>(&[rows, cols], 1.0, &mut seeded_rng(3)).unwrap().to_vec();
            let g = gram(&w, rows, cols, rows <= cols);
            let n = rows.min(cols);
            for i in 0..n {
                for j in 0..n {
                    let e = if i == j { 1.0 } else { 0.0 };
                    assert!((g[i * n + j] - e).abs() < 1e-12, "{rows}x{cols} ({i},{j}): {}", g[i * n + j]);
                }
            }
        }
        // Q R reproduces A: check the factorisation itself on a 6 x 4 matrix.
        let a = standard_normal_f64(24, &mut seeded_rng(9));
        let (q, diag) = householder_qr(&a, 6, 4);
        // R = Q^T A is upper triangular with the returned diagonal.
        for i in 0..4 {
            for j in 0..4 {
                let rij: f64 = (0..6).map(|k| q[k * 4 + i] * a[k * 4 + j]).sum();
                if i > j {
                    assert!(rij.abs() < 1e-12);
                } else if i == j {
                    assert!((rij - diag[i]).abs() < 1e-12);
                }
            }
        }
    }

    /// The sign correction makes Q Haar: E[Q_00] = 0 for Haar O(3), and Var[Q_00] = 1/3, so
    /// the mean of 4000 draws has standard error sqrt(1/12000) ~ 0.0091; allow 5 of them.
    /// Without the correction Householder gives Q_00 < 0 always (mean ~ -0.5), which fails.
    #[test]
    fn sign_correction_makes_the_distribution_haar() {
        let mut rng = seeded_rng(5);
        let n = 4000;
        let (mut sum, mut sum2) = (0.0, 0.0);
        for _ in 0..n {
            let q = haar_semi_orthogonal(3, 3, &mut rng);
            sum += q[0];
            sum2 += q[0] * q[0];
        }
        let mean = sum / n as f64;
        assert!(mean.abs() < 5.0 * 0.0091, "mean Q_00 = {mean}");
        assert!((sum2 / n as f64 - 1.0 / 3.0).abs() < 0.02, "E[Q_00^2] = {}", sum2 / n as f64);
    }

    #[test]
    fn delta_orthogonal_is_orthogonal_at_the_centre_and_zero_elsewhere() {
        let shape = [6, 4, 3, 5];
        let k = delta_orthogonal::<f64>(&shape, 2.0, &mut seeded_rng(2)).unwrap().to_vec();
        let taps = 15;
        let centre = 5 + 2; // (1, 2) in a 3 x 5 block
        let mut h = vec![0.0; 24];
        for (idx, v) in k.iter().enumerate() {
            if idx % taps == centre {
                h[idx / taps] = *v / 2.0;
            } else {
                assert_eq!(*v, 0.0);
            }
        }
        let g = gram(&h, 6, 4, false);
        for i in 0..4 {
            for j in 0..4 {
                assert!((g[i * 4 + j] - if i == j { 1.0 } else { 0.0 }).abs() < 1e-12);
            }
        }
        let e = delta_orthogonal::<f64>(&[2, 4, 3, 3], 1.0, &mut seeded_rng(0)).unwrap_err().to_string();
        assert!(e.contains("2 < 4"), "{e}");
    }

    /// A Conv2d with a delta-orthogonal kernel (gain 1), stride 1 and padding k / 2 keeps
    /// the norm of every input: ||conv(x)|| = ||x|| to f64 rounding (1e-12 relative), and
    /// position by position y[:, p] = H x[:, p], checked by direct loops.
    #[test]
    fn delta_orthogonal_convolution_preserves_norms() {
        use dl_autodiff::Var;
        use dl_layers::{Conv2d, ConvOptions, Module};
        let mut rng = seeded_rng(8);
        let conv = Conv2d::<f64>::new(3, 5, (3, 3), ConvOptions::default().padding(1).bias(false), &mut rng).unwrap();
        conv.weight.set(delta_orthogonal(&[5, 3, 3, 3], 1.0, &mut rng).unwrap()).unwrap();
        let h: Vec<f64> = conv.weight.value().to_vec().iter().skip(4).step_by(9).copied().collect(); // centre taps, (5, 3)
        for _ in 0..3 {
            let x = Tensor::<f64>::randn(&[2, 3, 6, 7], &mut rng);
            let y = conv.forward(&Var::constant(x.clone())).unwrap().value().to_vec();
            let xv = x.to_vec();
            let norm = |v: &[f64]| v.iter().map(|t| t * t).sum::<f64>().sqrt();
            assert!((norm(&y) / norm(&xv) - 1.0).abs() < 1e-12, "{} vs {}", norm(&y), norm(&xv));
            for n in 0..2 {
                for p in 0..42 {
                    for o in 0..5 {
                        let direct: f64 = (0..3).map(|c| h[o * 3 + c] * xv[(n * 3 + c) * 42 + p]).sum();
                        assert!((y[(n * 5 + o) * 42 + p] - direct).abs() < 1e-12);
                    }
                }
            }
        }
        assert!(orthogonal::<f64>(&[3, 3], -1.0, &mut seeded_rng(0)).unwrap_err().to_string().contains("-1"));
        assert!(orthogonal::<f64>(&[3], 1.0, &mut seeded_rng(0)).is_err());
    }
}
