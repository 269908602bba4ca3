//! **LSUV**, layer-sequential unit-variance initialisation (Mishkin and Matas 2016,
//! Algorithm 1).
//!
//! 1. Pre-initialise every weight orthogonally (Saxe et al. 2014) and every bias to zero.
//! 2. For each layer with a weight, in order: run the batch through the network up to and
//!    including that layer, measure the variance `v` of its output (over all examples and
//!    units), and while `|v - 1| >= tol_var` and fewer than `max_iterations` rescalings have
//!    been made, set `W <- W / sqrt(v)` and measure again.
//!
//! A linear layer's output variance scales with the square of its weight, so one rescaling
//! lands at 1 up to rounding when the bias is zero; the loop matters when later changes
//! interact (a non-zero bias, say). The paper's settings are `tol_var = 0.1`,
//! `max_iterations = 10`; a layer that does not converge is reported, not an error (as in
//! the paper), while a layer whose output variance is zero or not finite is an error naming
//! it (no rescaling can fix it, and dividing would give NaN).
//!
//! ```
//! use dl_init::lsuv::{LsuvOptions, lsuv};
//! use dl_layers::{Act, Linear, Sequential};
//! use dl_tensor::{Tensor, seeded_rng};
//! let mut rng = seeded_rng(0);
//! let net = Sequential::<f64>::new()
//!     .with(Linear::new(32, 64, true, &mut rng)).with(Act::relu())
//!     .with(Linear::new(64, 64, true, &mut rng)).with(Act::relu())
//!     .with(Linear::new(64, 10, true, &mut rng));
//! let batch = Tensor::randn(&[128, 32], &mut rng);
//! let report = lsuv(&net, &batch, LsuvOptions::default(), &mut rng)?;
//! assert_eq!(report.len(), 3);
//! for layer in &report {
//!     assert!(layer.converged && (layer.variance_after - 1.0).abs() < 0.1);
//! }
//! # Ok::<(), dl_init::InitError>(())
//! ```

use dl_autodiff::{Var, no_grad};
use dl_layers::Sequential;
use dl_tensor::{Element, Tensor, TensorRng};

use crate::apply::{Initializer, initialize};
use crate::error::{InitError, Result, positive};
use crate::layerwise::{mean_var, weight_layer};
use crate::scheme::Scheme;

/// LSUV's settings.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LsuvOptions {
    /// Stop when `|Var - 1| < tol_var` (the paper's 0.1).
    pub tol_var: f64,
    /// At most this many rescalings per layer (the paper's 10).
    pub max_iterations: usize,
    /// Pre-initialise orthogonally (step 1); `false` keeps the current weights.
    pub orthogonal_preinit: bool,
}

impl Default for LsuvOptions {
    fn default() -> Self {
        LsuvOptions { tol_var: 0.1, max_iterations: 10, orthogonal_preinit: true }
    }
}

/// LSUV's record of one layer.
#[derive(Clone, Debug, PartialEq)]
pub struct LsuvLayer {
    /// Position in the `Sequential`.
    pub index: usize,
    /// The layer's description.
    pub layer: String,
    /// Output variance before this layer was rescaled (earlier layers already were).
    pub variance_before: f64,
    /// Output variance after.
    pub variance_after: f64,
    /// Number of rescalings made.
    pub iterations: usize,
    /// Whether `|variance_after - 1| < tol_var`.
    pub converged: bool,
}

/// Runs LSUV on `net` with the data `batch` (see the module documentation). Returns one
/// record per layer with a weight, in order.
pub fn lsuv<T: Element>(
    net: &Sequential<T>,
    batch: &Tensor<T>,
    opts: LsuvOptions,
    rng: &mut TensorRng,
) -> Result<Vec<LsuvLayer>> {
    positive("tol_var", opts.tol_var)?;
    if opts.orthogonal_preinit {
        initialize(net, &Initializer::new(Scheme::Orthogonal { gain: 1.0 }), rng)?;
    }
    no_grad(|| {
        let mut h = Var::constant(batch.clone());
        let mut report = Vec::new();
        for (index, child) in net.layers().iter().enumerate() {
            let Some(wl) = weight_layer(index, child.as_ref())? else {
                h = child.forward(&h)?;
                continue;
            };
            let mut out = child.forward(&h)?;
            let (_, variance_before) = mean_var(out.value());
            let mut variance = variance_before;
            let mut iterations = 0;
            loop {
                if !(variance > 0.0 && variance.is_finite()) {
                    return Err(InitError::scheme(
                        "LSUV",
                        format!("layer {index} ({})", wl.layer),
                        format!(
                            "output variance {variance:e} on the batch cannot be rescaled to 1 (iteration {iterations})"
                        ),
                    ));
                }
                if (variance - 1.0).abs() < opts.tol_var || iterations >= opts.max_iterations {
                    break;
                }
                let scale = T::from_f64_lossy(1.0 / variance.sqrt());
                wl.weight.update(|w| *w = w.mul_scalar(scale));
                iterations += 1;
                out = child.forward(&h)?;
                variance = mean_var(out.value()).1;
            }
            report.push(LsuvLayer {
                index,
                layer: wl.layer,
                variance_before,
                variance_after: variance,
                iterations,
                converged: (variance - 1.0).abs() < opts.tol_var,
            });
            h = out;
        }
        Ok(report)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use dl_layers::{Act, Linear, Module};
    use dl_tensor::seeded_rng;

    fn deep_tanh(depth: usize, rng: &mut TensorRng) -> Sequential<f64> {
        let mut net = Sequential::new();
        for _ in 0..depth {
            net.push(Box::new(Linear::new(48, 48, true, rng)));
            net.push(Box::new(Act::tanh()));
        }
        net
    }

    /// After LSUV, an independent forward pass through the whole network gives every
    /// weight layer's output variance within tol of 1 (checked by running the children by
    /// hand, not through the records).
    #[test]
    fn every_layer_has_unit_output_variance_afterwards() {
        let mut rng = seeded_rng(2);
        let net = deep_tanh(8, &mut rng);
        let batch = Tensor::<f64>::randn(&[200, 48], &mut rng).mul_scalar(5.0);
        let report = lsuv(&net, &batch, LsuvOptions::default(), &mut rng).unwrap();
        assert_eq!(report.len(), 8);
        let mut h = Var::constant(batch);
        for (i, child) in net.layers().iter().enumerate() {
            h = child.forward(&h).unwrap();
            if i % 2 == 0 {
                let v = mean_var(h.value()).1;
                assert!((v - 1.0).abs() < 0.1, "layer {i}: {v}");
                assert!((v - report[i / 2].variance_after).abs() < 1e-12);
            }
        }
        // Inputs of variance 25 through an orthogonal first layer: variance ~ 25 * 48/48.
        assert!(report[0].variance_before > 20.0 && report[0].iterations >= 1);
    }

    /// With zero biases one rescaling makes the variance exactly 1 (up to rounding):
    /// Var[W x / s] = Var[W x] / s^2.
    #[test]
    fn one_rescaling_suffices_for_a_linear_layer() {
        let mut rng = seeded_rng(3);
        let net = Sequential::<f64>::new().with(Linear::new(16, 16, true, &mut rng));
        let batch = Tensor::<f64>::randn(&[64, 16], &mut rng).mul_scalar(3.0);
        let opts = LsuvOptions { tol_var: 1e-9, ..Default::default() };
        let r = lsuv(&net, &batch, opts, &mut rng).unwrap();
        assert_eq!(r[0].iterations, 1);
        assert!((r[0].variance_after - 1.0).abs() < 1e-12);
    }

    /// A layer whose output is identically zero (all inputs zero, zero bias) is an error
    /// naming the layer and the variance, not NaN weights.
    #[test]
    fn a_dead_layer_is_an_error() {
        let mut rng = seeded_rng(0);
        let net = deep_tanh(2, &mut rng);
        let e = lsuv(&net, &Tensor::zeros(&[8, 48]), LsuvOptions::default(), &mut rng).unwrap_err().to_string();
        assert!(e.contains("layer 0") && e.contains("Linear(48 -> 48)") && e.contains("0e0"), "{e}");
        assert!(net.parameters().iter().all(|p| p.param.value().all_finite()));
        let bad = LsuvOptions { tol_var: -1.0, ..Default::default() };
        assert!(lsuv(&net, &Tensor::ones(&[8, 48]), bad, &mut rng).unwrap_err().to_string().contains("tol_var"));
    }
}
