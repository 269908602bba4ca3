//! The spectrally-normalised margin bound of Bartlett, Foster and Telgarsky (2017).
//!
//! For a network `F(x) = sigma_L(A_L sigma_{L-1}(... sigma_1(A_1 x)))` with `rho_i`-Lipschitz
//! activations, the **spectral complexity** (their eq. 1.2, reference matrices `M_i = 0`) is
//!
//! ```text
//! R_A = ( prod_i rho_i ||A_i||_2 ) ( sum_i ( ||A_i^T||_{2,1} / ||A_i||_2 )^{2/3} )^{3/2}
//! ```
//!
//! and with probability at least `1 - delta` over an i.i.d. training set of `n` points
//! `X` (rows `x_i`), every such network with those norms satisfies (their Lemma A.8, the
//! fixed-norm form of Theorem 1.1)
//!
//! ```text
//! P[argmax_j F(x)_j != y] <= R_gamma + 8/n + 72 ||X||_F ln(2W) ln(n) R_A / (gamma n) + 3 sqrt(ln(1/delta) / (2n))
//! ```
//!
//! with `R_gamma` the fraction of training points whose margin `F(x)_y - max_{j != y} F(x)_j`
//! is at most `gamma`, and `W` the largest width. The bound is usually far above 1
//! (vacuous) for practical networks; what the paper shows is that `R_A / gamma`
//! tracks the generalisation gap (it grows with label noise). Biases are not part of the
//! paper's networks; here only the weight matrices enter `R_A` (the biases are reported
//! apart, not bounded).

use serde::{Deserialize, Serialize};

use super::layers::{DenseBlock, lipschitz_constant};
use super::norms::{frobenius_norm, norm_2_1_of_transpose, spectral_norm};

/// The norms of one weight matrix.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LayerNorms {
    /// The network layer index of the dense layer.
    pub layer: usize,
    /// `(rows, cols)`.
    pub shape: (usize, usize),
    /// `||A_i||_2`, by power iteration.
    pub spectral: f64,
    /// `||A_i^T||_{2,1}`.
    pub norm_2_1: f64,
    /// `||A_i||_F`.
    pub frobenius: f64,
    /// The Lipschitz constant `rho_i` of the activation after it (1 for the output layer).
    pub lipschitz: f64,
}

/// The spectral complexity and the margin bound it gives.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SpectralBound {
    /// Per weight matrix.
    pub layers: Vec<LayerNorms>,
    /// `prod_i rho_i ||A_i||_2`, the network's Lipschitz bound.
    pub lipschitz_product: f64,
    /// `R_A`.
    pub spectral_complexity: f64,
    /// The margin `gamma` used (the `margin_quantile` quantile of the training margins).
    pub gamma: f64,
    /// The quantile that chose `gamma`.
    pub margin_quantile: f64,
    /// `R_gamma`: the fraction of training points with margin at most `gamma`.
    pub margin_loss: f64,
    /// `||X||_F` of the training inputs.
    pub data_norm: f64,
    /// Training points `n`.
    pub n: usize,
    /// `delta`.
    pub delta: f64,
    /// The right-hand side of the bound on the test error.
    pub bound: f64,
    /// `R_A / gamma`, the margin-normalised complexity (the quantity the paper plots).
    pub normalised_complexity: f64,
}

/// `R_A` and the norms, from a network's dense blocks (`power_iterations` and `seed` for
/// the spectral norms).
pub fn spectral_complexity(blocks: &[DenseBlock], power_iterations: usize, seed: u64) -> (Vec<LayerNorms>, f64, f64) {
    let layers: Vec<LayerNorms> = blocks
        .iter()
        .enumerate()
        .map(|(i, b)| LayerNorms {
            layer: b.layer,
            shape: (b.affine.rows, b.affine.cols),
            spectral: spectral_norm(&b.affine, power_iterations, 1e-12, seed.wrapping_add(i as u64)).value,
            norm_2_1: norm_2_1_of_transpose(&b.affine),
            frobenius: frobenius_norm(&b.affine),
            lipschitz: b.activation.as_ref().map_or(1.0, lipschitz_constant),
        })
        .collect();
    let product: f64 = layers.iter().map(|l| l.lipschitz * l.spectral).product();
    let sum: f64 =
        layers.iter().map(|l| if l.spectral > 0.0 { (l.norm_2_1 / l.spectral).powf(2.0 / 3.0) } else { 0.0 }).sum();
    (layers.clone(), product, product * sum.powf(1.5))
}

/// The multiclass margins `F(x)_y - max_{j != y} F(x)_j` of logits `(n, C)` (row-major).
pub fn margins(logits: &[f64], classes: usize, labels: &[usize]) -> Vec<f64> {
    labels
        .iter()
        .enumerate()
        .map(|(i, &y)| {
            let row = &logits[i * classes..(i + 1) * classes];
            let other =
                row.iter().enumerate().filter(|(j, _)| *j != y).map(|(_, v)| *v).fold(f64::NEG_INFINITY, f64::max);
            row[y] - other
        })
        .collect()
}

/// The bound of the module docs at `gamma` = the `quantile` of the training margins (at
/// least the smallest positive margin, so `gamma > 0` whenever one point is classified
/// correctly). `None` when no training point has a positive margin.
#[allow(clippy::too_many_arguments)]
pub fn margin_bound(
    layers: Vec<LayerNorms>,
    lipschitz_product: f64,
    spectral_complexity: f64,
    margins: &[f64],
    quantile: f64,
    data_norm: f64,
    max_width: usize,
    delta: f64,
) -> Option<SpectralBound> {
    let n = margins.len();
    let mut sorted: Vec<f64> = margins.to_vec();
    sorted.sort_by(f64::total_cmp);
    let idx = ((quantile.clamp(0.0, 1.0) * n as f64).floor() as usize).min(n.saturating_sub(1));
    let smallest_positive = sorted.iter().copied().find(|&m| m > 0.0)?;
    let gamma = sorted.get(idx).copied().unwrap_or(0.0).max(smallest_positive);
    let margin_loss = margins.iter().filter(|&&m| m <= gamma).count() as f64 / n as f64;
    let nf = n as f64;
    let bound = margin_loss
        + 8.0 / nf
        + 72.0 * data_norm * (2.0 * max_width as f64).ln() * nf.ln() * spectral_complexity / (gamma * nf)
        + 3.0 * ((1.0 / delta).ln() / (2.0 * nf)).sqrt();
    Some(SpectralBound {
        layers,
        lipschitz_product,
        spectral_complexity,
        gamma,
        margin_quantile: quantile,
        margin_loss,
        data_norm,
        n,
        delta,
        bound,
        normalised_complexity: spectral_complexity / gamma,
    })
}
