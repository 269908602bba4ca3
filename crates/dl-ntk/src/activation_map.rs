//! The activation step of the infinite-width recursions over whole kernel matrices.
//!
//! For a representation whose pre-activations are a centred Gaussian process with
//! covariance `q12 = K(x, x')` and variances `q1 = K(x, x)`, `q2 = K(x', x')`, an
//! elementwise `phi` maps
//!
//! ```text
//! K'(x, x')     = E[phi(u) phi(v)]                  (u, v) ~ N(0, [[q1, q12], [q12, q2]])
//! Theta'(x, x') = Theta(x, x') E[phi'(u) phi'(v)]
//! ```
//!
//! The expectations come from dl-init's Gaussian-expectation engine
//! ([`dl_init::gaussian_expectation_pair`]: closed forms where known, Gauss–Hermite /
//! adaptive quadrature otherwise). For ReLU, leaky ReLU and erf the closed forms are
//! written out here once more, vectorised over a whole row, because a 4000 x 4000 kernel
//! calls them 16 million times per layer:
//!
//! - ReLU, the arc-cosine kernels (Cho & Saul 2009), with `s = sqrt(q1 q2 - q12^2)` and
//!   `theta = atan2(s, q12)`: `E[phi phi] = (s + (pi - theta) q12) / (2 pi)` and
//!   `E[phi' phi'] = (pi - theta) / (2 pi)`;
//! - leaky ReLU with slope a: `a q12 + (1 - a)^2 K1` and `a + (1 - a)^2 K0`;
//! - erf (Williams 1997): `(2/pi) asin(2 q12 / sqrt((1 + 2 q1)(1 + 2 q2)))` and
//!   `(4/pi) / sqrt((1 + 2 q1)(1 + 2 q2) - 4 q12^2)`.
//!
//! **The diagonal.** `E[phi' phi']` of ReLU is `(pi - theta) / (2 pi)` with
//! `theta ~ sqrt(2 (1 - c))` near `c = 1`: a relative error of 1e-16 in `q12` against
//! `sqrt(q1 q2)` becomes an angle of 1.5e-8. An example's entry with itself must therefore
//! be computed from exactly the numbers its variance is: the input kernel's diagonal is the
//! variance vector (not a GEMM entry; bitwise-identical rows of two input sets get it too),
//! and every layer maps the two by the same arithmetic, so `q12 = q1 = q2` exactly, `s = 0`
//! and `theta = 0`.
//!
//! Rows are spread over rayon's pool; every entry is computed by the same arithmetic
//! whatever the thread count, so the result is bit-identical on any number of threads.
//! For a kernel of a set with itself only the upper triangle is computed; the caller
//! mirrors it once after the last layer.

use std::f64::consts::PI;

use dl_init::{Activation, gaussian_expectation_pair};
use ndarray::{Array2, Axis};
use rayon::prelude::*;

use crate::error::{NtkError, Result};

/// The kernels of one representation of two input sets.
#[derive(Clone, Debug)]
pub(crate) struct KernelState {
    /// NNGP covariance `K(x_i, x'_j)` per unit, `(N1, N2)`.
    pub nngp: Array2<f64>,
    /// NTK `Theta(x_i, x'_j)` per unit, `(N1, N2)`.
    pub ntk: Array2<f64>,
    /// `K(x_i, x_i)`.
    pub var1: Vec<f64>,
    /// `K(x'_j, x'_j)`.
    pub var2: Vec<f64>,
    /// The number of units (the fan-in of the next dense layer).
    pub width: usize,
    /// The second set is the first: the matrices are symmetric, and only their upper
    /// triangles are kept up to date (mirrored once at the end by the caller).
    pub symmetric: bool,
}

/// ReLU pair at one entry (see the module documentation), written as
/// `s / (2 pi) + (1 - theta / pi) q12 / 2` and `(1 - theta / pi) / 2`: at `theta = 0` (an
/// example with itself) exactly `q / 2` and `1 / 2`, the values dl-init's closed form gives
/// the variance vector, so the diagonal and the variances stay equal through every layer.
#[inline]
fn relu_entry(q1q2: f64, q12: f64) -> (f64, f64) {
    let s = (q1q2 - q12 * q12).max(0.0).sqrt();
    let theta = s.atan2(q12);
    let open = 1.0 - theta / PI;
    (s / (2.0 * PI) + 0.5 * open * q12, 0.5 * open)
}

/// erf pair at one entry, given `d = (1 + 2 q1)(1 + 2 q2)`.
#[inline]
fn erf_entry(d: f64, q12: f64) -> (f64, f64) {
    let arg = (2.0 * q12 / d.sqrt()).clamp(-1.0, 1.0);
    (2.0 / PI * arg.asin(), 4.0 / PI / (d - 4.0 * q12 * q12).max(f64::MIN_POSITIVE).sqrt())
}

/// Applies `pair(q1, q2, q12) -> (E[phi phi], E[phi' phi'])` to every entry of `nngp`
/// (the upper triangle when `symmetric`), updating `nngp` to `E[phi phi]` and multiplying
/// `ntk` by `E[phi' phi']`; `var1[i]`, `var2[j]` are the variances of row `i` and column
/// `j`. Rows go to rayon's pool when the matrix is large; every entry is computed by the
/// same arithmetic either way.
fn map_entries<F>(
    nngp: &mut Array2<f64>,
    ntk: &mut Array2<f64>,
    var1: &[f64],
    var2: &[f64],
    symmetric: bool,
    pair: F,
) -> Result<()>
where
    F: Fn(f64, f64, f64) -> Result<(f64, f64)> + Sync,
{
    let row = |(i, (mut k_row, mut t_row)): (
        usize,
        (ndarray::ArrayViewMut1<'_, f64>, ndarray::ArrayViewMut1<'_, f64>),
    )|
     -> Result<()> {
        let start = if symmetric { i } else { 0 };
        let q1 = var1[i];
        let k_row = &mut k_row.as_slice_mut().expect("rows of a standard-layout matrix are contiguous")[start..];
        let t_row = &mut t_row.as_slice_mut().expect("rows of a standard-layout matrix are contiguous")[start..];
        for ((k, t), &q2) in k_row.iter_mut().zip(t_row.iter_mut()).zip(&var2[start..]) {
            let (kk, dd) = pair(q1, q2, *k)?;
            *k = kk;
            *t *= dd;
        }
        Ok(())
    };
    // below ~16k entries the pool's overhead outweighs the work (pixel-pair matrices)
    if nngp.len() >= 1 << 14 {
        nngp.axis_iter_mut(Axis(0)).into_par_iter().zip(ntk.axis_iter_mut(Axis(0))).enumerate().try_for_each(row)
    } else {
        nngp.axis_iter_mut(Axis(0)).zip(ntk.axis_iter_mut(Axis(0))).enumerate().try_for_each(row)
    }
}

/// Copies the upper triangle onto the lower one, in 64 x 64 tiles so that the transposed
/// reads stay in cache. Bands of 64 rows go to rayon's pool: band `b` writes only its own
/// rows' lower part, `m[i][j]` for `j < i`, and reads only entries above the diagonal,
/// `m[j][i]` with `j < i`, which no band writes; so the bands are independent and the
/// result is the same copy whatever the thread count.
pub(crate) fn mirror_upper(m: &mut Array2<f64>) {
    const TILE: usize = 64;
    let n = m.nrows();
    debug_assert_eq!(n, m.ncols());
    if n < 2 {
        return;
    }
    let data = m.as_slice_mut().expect("kernel matrices are in standard layout");
    // The reads of row band `b` reach into rows above it, so the bands cannot be handed out
    // as disjoint slices; `Shared` carries the base pointer across threads instead.
    struct Shared(*mut f64);
    // SAFETY: the bands write disjoint entries and read only entries nobody writes (above).
    unsafe impl Sync for Shared {}
    let base = Shared(data.as_mut_ptr());
    let band = |bi: usize| {
        let p = &base;
        for bj in (0..=bi).step_by(TILE) {
            for i in bi..(bi + TILE).min(n) {
                for j in bj..(bj + TILE).min(i) {
                    // SAFETY: i, j < n; (i, j) is below the diagonal in this band's rows,
                    // (j, i) above it (see the function's documentation).
                    unsafe { *p.0.add(i * n + j) = *p.0.add(j * n + i) };
                }
            }
        }
    };
    if n * n >= 1 << 16 {
        (0..n).into_par_iter().step_by(TILE).for_each(band);
    } else {
        (0..n).step_by(TILE).for_each(band);
    }
}

/// `E[phi(u)^2]` for `u ~ N(0, q)`: the new variance of a unit.
fn second_moment(act: &Activation, q: f64) -> Result<f64> {
    Ok(gaussian_expectation_pair(act, q, q, q)?.phi_phi)
}

/// Errors unless every variance is positive and finite (a unit with variance 0 has no
/// Gaussian law to take expectations over).
pub(crate) fn check_variances(vars: &[f64]) -> Result<()> {
    match vars.iter().find(|q| !(**q > 0.0 && q.is_finite())) {
        Some(&q) => Err(NtkError::InvalidArgument {
            op: "activation kernel map",
            name: "pre-activation variance",
            value: q,
            requirement: "must be positive and finite (an input of zero norm, or a pixel whose receptive field is all zero, with sigma_b2 = 0 has none)",
        }),
        None => Ok(()),
    }
}

/// Maps the state through `phi` (see the module documentation).
pub(crate) fn apply_activation(act: &Activation, state: &mut KernelState) -> Result<()> {
    check_variances(&state.var1)?;
    check_variances(&state.var2)?;
    let new_var1 = state.var1.iter().map(|&q| second_moment(act, q)).collect::<Result<Vec<_>>>()?;
    let new_var2 = if state.symmetric {
        new_var1.clone()
    } else {
        state.var2.iter().map(|&q| second_moment(act, q)).collect::<Result<Vec<_>>>()?
    };
    map_matrix(act, &mut state.nngp, &mut state.ntk, &state.var1, &state.var2, state.symmetric)?;
    state.var1 = new_var1;
    state.var2 = new_var2;
    Ok(())
}

/// The entrywise activation step on one pair of matrices (see the module documentation):
/// `nngp <- E[phi(u) phi(v)]`, `ntk <- ntk E[phi'(u) phi'(v)]`, with `Var u = var1[i]`,
/// `Var v = var2[j]` and `Cov(u, v) = nngp[i, j]`; only the upper triangle when
/// `symmetric`. The variances are not updated (the caller owns them).
pub(crate) fn map_matrix(
    act: &Activation,
    nngp: &mut Array2<f64>,
    ntk: &mut Array2<f64>,
    var1: &[f64],
    var2: &[f64],
    symmetric: bool,
) -> Result<()> {
    match act {
        Activation::Relu => map_entries(nngp, ntk, var1, var2, symmetric, |q1, q2, q12| Ok(relu_entry(q1 * q2, q12))),
        Activation::LeakyRelu(a) => {
            let (a, b) = (*a, (1.0 - a) * (1.0 - a));
            map_entries(nngp, ntk, var1, var2, symmetric, |q1, q2, q12| {
                let (k1, k0) = relu_entry(q1 * q2, q12);
                Ok((a * q12 + b * k1, a + b * k0))
            })
        }
        Activation::Erf => map_entries(nngp, ntk, var1, var2, symmetric, |q1, q2, q12| {
            Ok(erf_entry((1.0 + 2.0 * q1) * (1.0 + 2.0 * q2), q12))
        }),
        Activation::Linear => Ok(()),
        other => map_entries(nngp, ntk, var1, var2, symmetric, |q1, q2, q12| {
            // rounding can push |q12| a hair above sqrt(q1 q2); the engine rejects that
            let bound = (q1 * q2).sqrt();
            let p = gaussian_expectation_pair(other, q1, q2, q12.clamp(-bound, bound))?;
            Ok((p.phi_phi, p.dphi_dphi))
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dl_init::gaussian::quadrature_pair;
    use dl_tensor::compare::{Tolerance, assert_close_slices};
    use ndarray::array;

    fn state(nngp: Array2<f64>) -> KernelState {
        let var: Vec<f64> = nngp.diag().to_vec();
        let n = nngp.nrows();
        KernelState {
            ntk: Array2::from_elem((n, n), 2.0),
            nngp,
            var1: var.clone(),
            var2: var,
            width: 1,
            symmetric: true,
        }
    }

    /// The vectorised closed forms against dl-init's adaptive quadrature (an independent
    /// computation); the quadrature is converged to ~1e-10 relative, with ReLU's kink
    /// handled by splitting there.
    #[test]
    fn vectorised_closed_forms_match_quadrature() {
        let k = array![[1.3, 0.4, -0.7], [0.4, 0.8, 0.1], [-0.7, 0.1, 2.0]];
        for act in [Activation::Relu, Activation::LeakyRelu(0.2), Activation::Erf, Activation::Tanh] {
            let mut s = state(k.clone());
            apply_activation(&act, &mut s).unwrap();
            mirror_upper(&mut s.nngp);
            mirror_upper(&mut s.ntk);
            let (mut kk, mut tt) = (Vec::new(), Vec::new());
            for i in 0..3 {
                for j in 0..3 {
                    let p = quadrature_pair(&act, k[[i, i]], k[[j, j]], k[[i, j]]).unwrap();
                    kk.push(p.phi_phi);
                    tt.push(2.0 * p.dphi_dphi);
                }
            }
            let tol = Tolerance::new(1e-8, 1e-10);
            assert_close_slices(s.nngp.as_slice().unwrap(), &kk, tol);
            assert_close_slices(s.ntk.as_slice().unwrap(), &tt, tol);
            assert_close_slices(&s.var1, &(0..3).map(|i| kk[i * 4]).collect::<Vec<_>>(), tol);
        }
    }

    #[test]
    fn zero_variance_is_an_error_naming_it() {
        let mut s = state(array![[0.0, 0.0], [0.0, 1.0]]);
        let e = apply_activation(&Activation::Relu, &mut s).unwrap_err().to_string();
        assert!(e.contains("pre-activation variance") && e.contains("zero norm"), "{e}");
    }
}
