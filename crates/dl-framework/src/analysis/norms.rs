//! Matrix norms for the spectral bound: the spectral norm by power iteration and the
//! `(2,1)` norm of the transpose.
//!
//! For `W` `(m, n)` (row `i` is the weight vector of output unit `i`):
//!
//! - `||W||_2 = sigma_max(W) = sqrt(lambda_max(W^T W))`, found by power iteration
//!   `v <- W^T W v / ||W^T W v||`, whose Rayleigh quotient `||W v||^2` converges to
//!   `sigma_max^2` at the rate `(sigma_2 / sigma_1)^{2k}`;
//! - `||W^T||_{2,1} = sum_i ||W_{i,:}||_2`: the `(p, q)` norm
//!   `||A||_{p,q} = || (||A_{:,1}||_p, ..., ||A_{:,n}||_p) ||_q` of `A = W^T`, whose columns
//!   are the rows of `W` (Bartlett, Foster and Telgarsky 2017, section 1.1).

use dl_tensor::{Tensor, seeded_rng};

use super::layers::AffineMap;

/// The result of [`spectral_norm`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SpectralNorm {
    /// `sigma_max(W)`.
    pub value: f64,
    /// Power-iteration steps taken.
    pub iterations: usize,
}

fn mat_vec(w: &AffineMap, v: &[f64]) -> Vec<f64> {
    (0..w.rows).map(|i| w.weight[i * w.cols..(i + 1) * w.cols].iter().zip(v).map(|(a, b)| a * b).sum()).collect()
}

fn mat_t_vec(w: &AffineMap, u: &[f64]) -> Vec<f64> {
    let mut out = vec![0.0; w.cols];
    for (i, ui) in u.iter().enumerate() {
        for (o, a) in out.iter_mut().zip(&w.weight[i * w.cols..(i + 1) * w.cols]) {
            *o += a * ui;
        }
    }
    out
}

fn norm2(v: &[f64]) -> f64 {
    v.iter().map(|x| x * x).sum::<f64>().sqrt()
}

/// `sigma_max(W)` by power iteration on `W^T W` from a Gaussian start drawn from a
/// generator seeded with `seed`, stopping when the estimate changes by less than
/// `rel_tol` (relative) or after `max_iterations`.
pub fn spectral_norm(w: &AffineMap, max_iterations: usize, rel_tol: f64, seed: u64) -> SpectralNorm {
    if w.rows == 0 || w.cols == 0 || w.weight.iter().all(|&x| x == 0.0) {
        return SpectralNorm { value: 0.0, iterations: 0 };
    }
    let mut rng = seeded_rng(seed);
    let mut v: Vec<f64> = Tensor::<f64>::randn(&[w.cols], &mut rng).to_vec();
    let n = norm2(&v);
    v.iter_mut().for_each(|x| *x /= n);
    let mut sigma = 0.0;
    for k in 1..=max_iterations.max(1) {
        let u = mat_vec(w, &v);
        let next = norm2(&u);
        let mut z = mat_t_vec(w, &u);
        let nz = norm2(&z);
        if nz == 0.0 {
            return SpectralNorm { value: next, iterations: k };
        }
        z.iter_mut().for_each(|x| *x /= nz);
        v = z;
        if (next - sigma).abs() <= rel_tol * next {
            return SpectralNorm { value: next, iterations: k };
        }
        sigma = next;
    }
    SpectralNorm { value: norm2(&mat_vec(w, &v)), iterations: max_iterations.max(1) }
}

/// `||W^T||_{2,1} = sum_i ||W_{i,:}||_2`.
pub fn norm_2_1_of_transpose(w: &AffineMap) -> f64 {
    (0..w.rows).map(|i| norm2(&w.weight[i * w.cols..(i + 1) * w.cols])).sum()
}

/// `||W||_F`.
pub fn frobenius_norm(w: &AffineMap) -> f64 {
    norm2(&w.weight)
}
