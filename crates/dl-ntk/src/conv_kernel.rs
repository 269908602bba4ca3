//! The infinite-channel NNGP and NTK of a convolutional network with global average
//! pooling (Novak et al. 2019, "Bayesian deep convolutional networks with many channels are
//! Gaussian processes"; Arora et al. 2019, "On exact computation with an infinitely wide
//! neural net", the CNTK with GAP). The derivation is in `docs/ntk.md`, section 7.
//!
//! As the channel counts grow, each channel of a convolutional layer's pre-activations is
//! a centred Gaussian process over (input, pixel) pairs, independent across channels. Its
//! covariance `Sigma_{ij}(x, x')` between pixel `i` of `x` and pixel `j` of `x'` (and the
//! tangent kernel `Theta_{ij}`) follow, for a 'same'-padded stride-1 convolution with a
//! patch of `|patch| = k` offsets `d`,
//!
//! ```text
//! Sigma^0_{ij}(x, x')  = x_{:,i} . x'_{:,j} / C_0                          (channel inner product)
//! Sigma^{l+1}_{ij}     = sigma_w2 / k sum_d E[phi(u_{i+d}) phi(u'_{j+d})] + sigma_b2
//! Theta^{l+1}_{ij}     = Sigma^{l+1}_{ij} + sigma_w2 / k sum_d E[phi'(u_{i+d}) phi'(u'_{j+d})] Theta^l_{i+d, j+d}
//! ```
//!
//! where terms with `i + d` or `j + d` outside the image are zero (zero padding), and
//! `(u_{i+d}, u'_{j+d})` is Gaussian with the layer-`l` variances of those two pixels and
//! covariance `Sigma^l_{i+d, j+d}`. As in the fully connected case the code splits this
//! into an activation step on the pixel-pair matrix (the same entrywise map as
//! [`crate::activation_map`]) and a convolution step, the *shifted patch sum*
//! `S(M)_{ij} = sum_d M_{i+d, j+d}`:
//!
//! - NTK parameterisation: `Sigma' = (sigma_w2 / k) S(Sigma) + sigma_b2`,
//!   `Theta' = (sigma_w2 / k) S(Theta) + Sigma'`;
//! - standard parameterisation: `Sigma'` the same, `Theta' = (sigma_w2 / k) S(Theta) + C S(Sigma) + 1`
//!   (the gradient with respect to the raw weights, `C` input channels; a 1 x 1 filter gives
//!   the dense layer's `n_in K + 1`).
//!
//! Global average pooling `z_c = (1/P) sum_i a_{c,i}` is linear, so the pooled kernels are
//! the means over all `P^2` pixel pairs, `K = (1/P^2) sum_{ij} Sigma_{ij}` and likewise
//! `Theta`; after it the representation is a vector of channels and the dense recursion of
//! [`crate::layer`] takes over.
//!
//! **Cost.** The recursion of one pair of examples keeps two `P x P` matrices; a
//! convolution step costs `O(P^2 k)` and an activation step `O(P^2)`, so the kernel of `n`
//! examples costs `O(n^2 P^2 k)` per layer in time (pairs spread over rayon's pool, each
//! computed by the same arithmetic whatever the thread count) and only `O(P^2)` per thread
//! in memory besides the `n x n` result. The pixel variances of every example, which every
//! pair needs, come first from the `n` self pairs.

use dl_init::Activation;
use dl_tensor::Tensor;
use ndarray::{Array2, ArrayView2, Axis, s};
use rayon::prelude::*;

use crate::activation_map::{KernelState, check_variances, map_matrix};
use crate::error::{NtkError, Result};
use crate::layer::{KernelLayer, Parameterisation};
use crate::matrix::a_bt;

/// The image grid, `h x w` pixels (a 1-D signal of length `L` is `1 x L`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Grid {
    h: usize,
    w: usize,
}

impl Grid {
    fn pixels(&self) -> usize {
        self.h * self.w
    }
}

/// The offsets `0..len` of `i` for which `i + d` stays in `0..len`.
fn valid(len: usize, d: isize) -> std::ops::Range<usize> {
    let lo = (-d).max(0) as usize;
    let hi = (len as isize - d).clamp(0, len as isize) as usize;
    lo..hi.max(lo)
}

/// `S(M)_{ij} = sum_d M_{i+d, j+d}` over the centred `kh x kw` patch, zero outside the
/// grid (see the module documentation).
fn shifted_patch_sum(m: &Array2<f64>, grid: Grid, kh: usize, kw: usize) -> Array2<f64> {
    let Grid { h, w } = grid;
    let mut out = Array2::zeros(m.dim());
    let (ry, rx) = ((kh / 2) as isize, (kw / 2) as isize);
    for dy in -ry..=ry {
        for dx in -rx..=rx {
            let (ys, xs) = (valid(h, dy), valid(w, dx));
            for yi in ys.clone() {
                for xi in xs.clone() {
                    let src_row = m.row(((yi as isize + dy) as usize) * w + (xi as isize + dx) as usize);
                    let src = src_row.as_slice().expect("rows of a standard-layout matrix are contiguous");
                    let mut dst_row = out.row_mut(yi * w + xi);
                    let dst = dst_row.as_slice_mut().expect("rows of a standard-layout matrix are contiguous");
                    for yj in ys.clone() {
                        let d0 = yj * w;
                        let s0 = (yj as isize + dy) as usize * w;
                        let (lo, hi) = (xs.start, xs.end);
                        let src =
                            &src[(s0 as isize + lo as isize + dx) as usize..(s0 as isize + hi as isize + dx) as usize];
                        for (o, v) in dst[d0 + lo..d0 + hi].iter_mut().zip(src) {
                            *o += v;
                        }
                    }
                }
            }
        }
    }
    out
}

/// The variances of an example's pixels before each activation step, in order.
type PixelVariances = Vec<Vec<f64>>;

/// An example with itself: its pixel variances and its pooled kernels.
struct SelfPair {
    variances: PixelVariances,
    nngp: f64,
    ntk: f64,
}

/// The NNGP and NTK of one pair of examples over all pixel pairs, `P x P` each.
struct PixelPairs {
    sigma: Array2<f64>,
    theta: Array2<f64>,
    /// The channel count of the current representation.
    channels: usize,
}

impl PixelPairs {
    /// `Sigma^0 = X_a^T X_b / C_0` from the `(C_0, P)` images, `Theta^0 = 0`.
    fn input(xa: ArrayView2<'_, f64>, xb: ArrayView2<'_, f64>) -> Self {
        let c0 = xa.nrows();
        let mut sigma = a_bt(xa.t(), xb.t());
        sigma /= c0 as f64;
        let theta = Array2::zeros(sigma.dim());
        PixelPairs { sigma, theta, channels: c0 }
    }

    /// The convolution step (see the module documentation).
    fn conv(
        &mut self,
        grid: Grid,
        filter: &[usize],
        channels: usize,
        sigma_w2: f64,
        sigma_b2: f64,
        param: Parameterisation,
    ) {
        let (kh, kw) = match filter {
            [k] => (1, *k),
            [kh, kw] => (*kh, *kw),
            _ => (1, 1),
        };
        let scale = sigma_w2 / (kh * kw) as f64;
        let s_sigma = shifted_patch_sum(&self.sigma, grid, kh, kw);
        let s_theta = shifted_patch_sum(&self.theta, grid, kh, kw);
        let c_in = self.channels as f64;
        ndarray::Zip::from(&mut self.sigma).and(&mut self.theta).and(&s_sigma).and(&s_theta).for_each(
            |k, t, &sk, &st| {
                let k_new = scale * sk + sigma_b2;
                *t = match param {
                    Parameterisation::Ntk => scale * st + k_new,
                    Parameterisation::Standard => scale * st + c_in * sk + 1.0,
                };
                *k = k_new;
            },
        );
        self.channels = channels;
    }

    /// The mean over all pixel pairs: global average pooling.
    fn pooled(&self) -> (f64, f64) {
        (self.sigma.mean().unwrap_or(0.0), self.theta.mean().unwrap_or(0.0))
    }
}

/// Runs the layers before the pooling on one pair of examples. With `variances = None`
/// the pair is an example with itself: its pixel variances are read off the diagonal
/// before every activation and returned; otherwise `variances` holds those of each side.
fn run_pair(
    layers: &[KernelLayer],
    grid: Grid,
    param: Parameterisation,
    xa: ArrayView2<'_, f64>,
    xb: ArrayView2<'_, f64>,
    variances: Option<(&PixelVariances, &PixelVariances)>,
) -> Result<(PixelPairs, PixelVariances)> {
    let mut pp = PixelPairs::input(xa, xb);
    let mut own = Vec::new();
    let mut step = 0;
    for (index, layer) in layers.iter().enumerate() {
        match layer {
            KernelLayer::Conv { channels, filter, sigma_w2, sigma_b2 } => {
                pp.conv(grid, filter, *channels, *sigma_w2, *sigma_b2, param)
            }
            KernelLayer::Activation(act) => {
                let (va, vb) = match variances {
                    Some((a, b)) => (a[step].as_slice(), b[step].as_slice()),
                    None => {
                        own.push(pp.sigma.diag().to_vec());
                        (own[step].as_slice(), own[step].as_slice())
                    }
                };
                activation(index, layer, act, &mut pp, va, vb)?;
                step += 1;
            }
            other => {
                return Err(NtkError::UnsupportedLayer {
                    op: "analytic kernel",
                    index,
                    layer: other.describe(),
                    reason: "only convolutions and activations can come before GlobalAvgPool".into(),
                });
            }
        }
    }
    Ok((pp, own))
}

fn activation(
    index: usize,
    layer: &KernelLayer,
    act: &Activation,
    pp: &mut PixelPairs,
    va: &[f64],
    vb: &[f64],
) -> Result<()> {
    check_variances(va)?;
    check_variances(vb)?;
    map_matrix(act, &mut pp.sigma, &mut pp.theta, va, vb, false).map_err(|e| match e {
        NtkError::Init(inner) => NtkError::UnsupportedLayer {
            op: "analytic kernel",
            index,
            layer: layer.describe(),
            reason: format!("its Gaussian expectation failed: {inner}"),
        },
        other => other,
    })
}

/// The examples of a batch `(N, C, L)` or `(N, C, H, W)` as `(C, P)` matrices, with the grid.
fn images<'a>(
    op: &'static str,
    what: &str,
    x: &'a Tensor<f64>,
    rank: Option<usize>,
) -> Result<(Vec<ArrayView2<'a, f64>>, Grid)> {
    let shape = x.shape();
    let grid = match shape {
        [_, _, l] if rank != Some(2) => Grid { h: 1, w: *l },
        [_, _, h, w] if rank != Some(1) => Grid { h: *h, w: *w },
        _ => {
            let expected = match rank {
                Some(1) => "(N, C, L) for 1-D convolutions",
                Some(2) => "(N, C, H, W) for 2-D convolutions",
                _ => "(N, C, L) or (N, C, H, W)",
            };
            return Err(NtkError::Shape {
                op,
                what: format!("{what} must be {expected}"),
                left: shape.to_vec(),
                right: vec![],
            });
        }
    };
    if shape[0] == 0 || shape[1] == 0 || grid.pixels() == 0 {
        return Err(NtkError::Shape {
            op,
            what: format!("{what} needs at least one example, channel and pixel"),
            left: shape.to_vec(),
            right: vec![],
        });
    }
    let c = shape[1];
    let flat = x.view().into_shape_with_order((shape[0] * c, grid.pixels())).map_err(|_| NtkError::Shape {
        op,
        what: format!("{what} must be contiguous"),
        left: shape.to_vec(),
        right: vec![],
    })?;
    let views = (0..shape[0]).map(|n| flat.slice_move(s![n * c..(n + 1) * c, ..])).collect();
    Ok((views, grid))
}

/// Runs the self pairs of a batch: pixel variances before every activation, and the pooled
/// kernels of each example with itself.
fn self_pairs(
    layers: &[KernelLayer],
    grid: Grid,
    param: Parameterisation,
    xs: &[ArrayView2<'_, f64>],
) -> Result<Vec<SelfPair>> {
    xs.par_iter()
        .map(|x| {
            let (pp, variances) = run_pair(layers, grid, param, *x, *x, None)?;
            let (k, t) = pp.pooled();
            Ok(SelfPair { variances, nngp: k, ntk: t })
        })
        .collect()
}

/// The kernels after global average pooling, as the state the dense recursion continues
/// from. `layers` are the layers before the pooling; `rank` the filters' spatial rank
/// (`None` if there is no convolution). `x2 = None` means `x2 = x1`.
pub(crate) fn pooled_state(
    layers: &[KernelLayer],
    param: Parameterisation,
    rank: Option<usize>,
    x1: &Tensor<f64>,
    x2: Option<&Tensor<f64>>,
) -> Result<KernelState> {
    let op = "Architecture::kernels";
    let (a, grid) = images(op, "x1", x1, rank)?;
    let b = match x2 {
        Some(t) => {
            if t.shape()[1..] != x1.shape()[1..] || t.ndim() != x1.ndim() {
                return Err(NtkError::Shape {
                    op,
                    what: "x1 and x2 must have the same channels and spatial shape".into(),
                    left: x1.shape().to_vec(),
                    right: t.shape().to_vec(),
                });
            }
            Some(images(op, "x2", t, rank)?.0)
        }
        None => None,
    };
    let self_a = self_pairs(layers, grid, param, &a)?;
    let self_b = match &b {
        Some(b) => Some(self_pairs(layers, grid, param, b)?),
        None => None,
    };
    let (bs, self_bs) = (b.as_ref().unwrap_or(&a), self_b.as_ref().unwrap_or(&self_a));
    let symmetric = x2.is_none();
    let (n1, n2) = (a.len(), bs.len());
    let mut nngp = Array2::zeros((n1, n2));
    let mut ntk = Array2::zeros((n1, n2));
    nngp.axis_iter_mut(Axis(0)).into_par_iter().zip(ntk.axis_iter_mut(Axis(0))).enumerate().try_for_each(
        |(i, (mut k_row, mut t_row))| -> Result<()> {
            let start = if symmetric { i } else { 0 };
            for j in start..n2 {
                let (k, t) = if symmetric && i == j {
                    (self_a[i].nngp, self_a[i].ntk)
                } else {
                    let (pp, _) = run_pair(
                        layers,
                        grid,
                        param,
                        a[i],
                        bs[j],
                        Some((&self_a[i].variances, &self_bs[j].variances)),
                    )?;
                    pp.pooled()
                };
                k_row[j] = k;
                t_row[j] = t;
            }
            Ok(())
        },
    )?;
    let channels = layers.iter().fold(x1.shape()[1], |c, l| l.output_width(c));
    Ok(KernelState {
        nngp,
        ntk,
        var1: self_a.iter().map(|s| s.nngp).collect(),
        var2: self_bs.iter().map(|s| s.nngp).collect(),
        width: channels,
        symmetric,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shifted patch sum against the definition written as direct loops over
    /// (i, j, d) with bounds checks: both are sums of the same few terms in different
    /// orders, exact to rounding.
    #[test]
    fn shifted_patch_sum_matches_direct_loops() {
        let grid = Grid { h: 3, w: 4 };
        let p = grid.pixels();
        let m = Array2::from_shape_fn((p, p), |(i, j)| ((i * 7 + j * 3) % 11) as f64 - 5.0);
        for (kh, kw) in [(1, 1), (1, 3), (3, 3), (3, 5)] {
            let got = shifted_patch_sum(&m, grid, kh, kw);
            for i in 0..p {
                for j in 0..p {
                    let (yi, xi, yj, xj) = ((i / 4) as isize, (i % 4) as isize, (j / 4) as isize, (j % 4) as isize);
                    let mut want = 0.0;
                    for dy in -(kh as isize / 2)..=(kh as isize / 2) {
                        for dx in -(kw as isize / 2)..=(kw as isize / 2) {
                            let inside = |y: isize, x: isize| (0..3).contains(&y) && (0..4).contains(&x);
                            if inside(yi + dy, xi + dx) && inside(yj + dy, xj + dx) {
                                want += m[[((yi + dy) * 4 + xi + dx) as usize, ((yj + dy) * 4 + xj + dx) as usize]];
                            }
                        }
                    }
                    assert!(
                        (got[[i, j]] - want).abs() <= 1e-12,
                        "({kh}x{kw}) entry ({i}, {j}): {} vs {want}",
                        got[[i, j]]
                    );
                }
            }
        }
    }
}
