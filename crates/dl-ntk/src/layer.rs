//! [`KernelLayer`]: one layer described once, with both of its meanings side by side —
//! the finite layer it builds ([`KernelLayer::finite`], for sampling a network) and the
//! map it applies to the infinite-width kernels (`KernelLayer::kernel_map`, crate-internal) — so that
//! the two cannot drift apart (neural-tangents' `(init_fn, apply_fn, kernel_fn)` triple).
//!
//! **Dense**, `h = W a + b` over `n_in` inputs. With the per-unit covariance of the
//! inputs `K(x, x') = a(x) . a(x') / n_in`:
//!
//! - NTK parameterisation (Jacot et al. 2018), `h = (sigma_w / sqrt(n_in)) W a + sigma_b b`,
//!   `W, b ~ N(0, 1)`:
//!   `K' = sigma_w2 K + sigma_b2`, `Theta' = sigma_w2 Theta + K'`;
//! - standard parameterisation, `W ~ N(0, sigma_w2 / n_in)`, `b ~ N(0, sigma_b2)`, the
//!   gradient taken with respect to `W` and `b` themselves:
//!   `K' = sigma_w2 K + sigma_b2`, `Theta' = sigma_w2 Theta + n_in K + 1`
//!   (the `n_in K = a . a'` term grows with the width; neural-tangents' convention).
//!
//! **Activation** `phi`: `K' = E[phi(u) phi(v)]`, `Theta' = Theta E[phi'(u) phi'(v)]`
//! (see [`crate::activation_map`]).
//!
//! **Conv** (stride 1, 'same' zero padding, odd filter) and **GlobalAvgPool**: the same two
//! maps over pixel-pair matrices, then the mean over pixel pairs (see
//! [`crate::conv_kernel`]); the finite layer is [`crate::conv::NtkConv`] and dl-layers'
//! [`GlobalAvgPool`]. `Theta` here is the kernel of the layer's output with
//! respect to all parameters below it; the backward factor `sigma_w2 E[phi' phi']` of the
//! classical recursion appears as the product of an activation step and a dense step.

use dl_init::Activation;
use dl_layers::{Act, GlobalAvgPool, Linear};
use dl_tensor::{Tensor, TensorRng};
use ndarray::Axis;
use rayon::prelude::*;

use crate::activation_map::{KernelState, apply_activation};
use crate::conv::NtkConv;
use crate::error::{NtkError, Result, non_negative};

/// How the weights enter the network and its gradient.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Parameterisation {
    /// `h = (sigma_w / sqrt(n_in)) W a + sigma_b b`, `W, b ~ N(0, 1)` (Jacot et al. 2018).
    Ntk,
    /// `h = W a + b`, `W ~ N(0, sigma_w2 / n_in)`, `b ~ N(0, sigma_b2)`.
    Standard,
}

/// A layer with a finite counterpart and an infinite-width kernel map.
#[derive(Clone, Debug)]
pub enum KernelLayer {
    /// A fully connected layer of `width` units.
    Dense {
        /// The number of output units `n_out` (the next layer's `n_in`).
        width: usize,
        /// The weight variance `sigma_w²`: the weights act as `N(0, sigma_w² / n_in)` under
        /// either [`Parameterisation`].
        sigma_w2: f64,
        /// The bias variance `sigma_b²`: the bias acts as `N(0, sigma_b²)`.
        sigma_b2: f64,
    },
    /// An elementwise activation.
    Activation(Activation),
    /// A convolution to `channels` channels, stride 1, 'same' zero padding; `filter` is
    /// `[k]` (1-D, inputs `(N, C, L)`) or `[kh, kw]` (2-D, inputs `(N, C, H, W)`), odd sizes.
    Conv {
        /// The number of output channels.
        channels: usize,
        /// The filter size per spatial axis: `[k]` or `[kh, kw]`, each odd.
        filter: Vec<usize>,
        /// The weight variance `sigma_w²`, divided by the fan-in `n_in = C_in · (filter taps)`.
        sigma_w2: f64,
        /// The bias variance `sigma_b²`: the bias acts as `N(0, sigma_b²)`.
        sigma_b2: f64,
    },
    /// The mean over all spatial positions, `(N, C, ...) -> (N, C)`.
    GlobalAvgPool,
}

/// A finite layer built from a [`KernelLayer`].
pub enum FiniteLayer {
    /// A dense layer (dl-layers' [`Linear`]).
    Dense(Linear<f64>),
    /// An activation (dl-layers' [`Act`]).
    Activation(Act),
    /// A convolution (dl-layers' `Conv1d` / `Conv2d` underneath).
    Conv(NtkConv),
    /// Global average pooling (dl-layers' [`GlobalAvgPool`]).
    GlobalAvgPool(GlobalAvgPool),
}

/// The dl-layers activation that computes `act`, if there is one.
fn finite_activation(act: &Activation) -> Option<dl_layers::Activation> {
    use dl_layers::Activation as L;
    Some(match act {
        Activation::Relu => L::Relu,
        Activation::LeakyRelu(a) => L::LeakyRelu(*a),
        Activation::Tanh => L::Tanh,
        Activation::Erf => L::Erf,
        Activation::Sigmoid => L::Sigmoid,
        Activation::Softplus => L::Softplus,
        Activation::Gelu => L::Gelu,
        Activation::Elu(a) => L::Elu(*a),
        Activation::Sin => L::Sin,
        Activation::Linear => L::Identity,
        _ => return None,
    })
}

impl KernelLayer {
    /// A dense layer.
    pub fn dense(width: usize, sigma_w2: f64, sigma_b2: f64) -> Self {
        KernelLayer::Dense { width, sigma_w2, sigma_b2 }
    }

    /// A 1-D convolution with a filter of `k` taps.
    pub fn conv1d(channels: usize, k: usize, sigma_w2: f64, sigma_b2: f64) -> Self {
        KernelLayer::Conv { channels, filter: vec![k], sigma_w2, sigma_b2 }
    }

    /// A 2-D convolution with a `kh x kw` filter.
    pub fn conv2d(channels: usize, (kh, kw): (usize, usize), sigma_w2: f64, sigma_b2: f64) -> Self {
        KernelLayer::Conv { channels, filter: vec![kh, kw], sigma_w2, sigma_b2 }
    }

    /// A short description for error messages, e.g. `Dense(512, sigma_w2 = 2, sigma_b2 = 0)`.
    pub fn describe(&self) -> String {
        match self {
            KernelLayer::Dense { width, sigma_w2, sigma_b2 } => {
                format!("Dense({width}, sigma_w2 = {sigma_w2}, sigma_b2 = {sigma_b2})")
            }
            KernelLayer::Activation(a) => format!("Activation({a})"),
            KernelLayer::Conv { channels, filter, sigma_w2, sigma_b2 } => {
                let f: Vec<String> = filter.iter().map(|k| k.to_string()).collect();
                format!(
                    "Conv{}d({channels}, filter {}, sigma_w2 = {sigma_w2}, sigma_b2 = {sigma_b2})",
                    filter.len(),
                    f.join("x")
                )
            }
            KernelLayer::GlobalAvgPool => "GlobalAvgPool".into(),
        }
    }

    /// Checks the layer's parameters; `index` is its position, for the message.
    pub fn validate(&self, index: usize) -> Result<()> {
        let unsupported =
            |reason: String| NtkError::UnsupportedLayer { op: "KernelLayer", index, layer: self.describe(), reason };
        match self {
            KernelLayer::Dense { width, sigma_w2, sigma_b2 } => {
                if *width == 0 {
                    return Err(unsupported("a dense layer needs at least one unit".into()));
                }
                non_negative("KernelLayer::Dense", "sigma_w2", *sigma_w2)?;
                non_negative("KernelLayer::Dense", "sigma_b2", *sigma_b2)?;
            }
            KernelLayer::Conv { channels, filter, sigma_w2, sigma_b2 } => {
                if *channels == 0 {
                    return Err(unsupported("a convolution needs at least one channel".into()));
                }
                if filter.is_empty() || filter.len() > 2 || filter.iter().any(|k| k % 2 == 0) {
                    return Err(unsupported(format!(
                        "the filter {filter:?} must have one or two sizes, each odd (a centred 'same' window)"
                    )));
                }
                non_negative("KernelLayer::Conv", "sigma_w2", *sigma_w2)?;
                non_negative("KernelLayer::Conv", "sigma_b2", *sigma_b2)?;
            }
            KernelLayer::GlobalAvgPool => {}
            KernelLayer::Activation(act) => {
                // A jump in phi makes phi' a Dirac delta: E[phi' phi'] and the NTK do not exist.
                for k in act.kinks() {
                    let eps = 1e-9 * (1.0 + k.abs());
                    let jump = (act.phi(k + eps) - act.phi(k - eps)).abs();
                    if jump > 1e-6 {
                        return Err(unsupported(format!(
                            "phi jumps by {jump:.3e} at x = {k}: it is not differentiable there (phi' is a Dirac delta), so the NTK is undefined"
                        )));
                    }
                }
            }
        }
        Ok(())
    }

    /// The finite layer over `fan_in` inputs, its parameters drawn from `rng`.
    pub fn finite(
        &self,
        index: usize,
        fan_in: usize,
        param: Parameterisation,
        rng: &mut TensorRng,
    ) -> Result<FiniteLayer> {
        self.validate(index)?;
        match self {
            KernelLayer::Dense { width, sigma_w2, sigma_b2 } => {
                let (w_std, b_std) = (sigma_w2.sqrt(), sigma_b2.sqrt());
                let linear = match param {
                    Parameterisation::Ntk => Linear::ntk(fan_in, *width, true, w_std, b_std, rng)?,
                    Parameterisation::Standard => {
                        let w = Tensor::randn_scaled(&[*width, fan_in], 0.0, w_std / (fan_in as f64).sqrt(), rng)?;
                        let b = Tensor::randn_scaled(&[*width], 0.0, b_std, rng)?;
                        Linear::from_tensors(w, Some(b))?
                    }
                };
                Ok(FiniteLayer::Dense(linear))
            }
            KernelLayer::Conv { channels, filter, sigma_w2, sigma_b2 } => {
                Ok(FiniteLayer::Conv(NtkConv::sample(fan_in, *channels, filter, *sigma_w2, *sigma_b2, param, rng)?))
            }
            KernelLayer::GlobalAvgPool => Ok(FiniteLayer::GlobalAvgPool(GlobalAvgPool::new())),
            KernelLayer::Activation(act) => match finite_activation(act) {
                Some(f) => Ok(FiniteLayer::Activation(Act::new(f))),
                None => Err(NtkError::UnsupportedLayer {
                    op: "KernelLayer::finite",
                    index,
                    layer: self.describe(),
                    reason: "dl-layers has no finite activation for it (the analytic kernel still works)".into(),
                }),
            },
        }
    }

    /// The number of units (channels, for a spatial representation) after this layer,
    /// given `width` before it.
    pub fn output_width(&self, width: usize) -> usize {
        match self {
            KernelLayer::Dense { width: w, .. } => *w,
            KernelLayer::Conv { channels, .. } => *channels,
            KernelLayer::Activation(_) | KernelLayer::GlobalAvgPool => width,
        }
    }

    /// Maps the kernels of this layer's input to those of its output (see the module
    /// documentation for the equations).
    pub(crate) fn kernel_map(&self, index: usize, state: &mut KernelState, param: Parameterisation) -> Result<()> {
        self.validate(index)?;
        match self {
            KernelLayer::Dense { width, sigma_w2, sigma_b2 } => {
                let n_in = state.width as f64;
                let (w2, b2) = (*sigma_w2, *sigma_b2);
                let symmetric = state.symmetric;
                // row by row; only the upper triangle when the matrices are symmetric
                state
                    .nngp
                    .axis_iter_mut(Axis(0))
                    .into_par_iter()
                    .zip(state.ntk.axis_iter_mut(Axis(0)))
                    .enumerate()
                    .for_each(|(i, (mut k_row, mut t_row))| {
                        let start = if symmetric { i } else { 0 };
                        let k_row = &mut k_row.as_slice_mut().expect("rows of a standard-layout matrix are contiguous")
                            [start..];
                        let t_row = &mut t_row.as_slice_mut().expect("rows of a standard-layout matrix are contiguous")
                            [start..];
                        for (k, t) in k_row.iter_mut().zip(t_row.iter_mut()) {
                            let k_new = w2 * *k + b2;
                            *t = match param {
                                Parameterisation::Ntk => w2 * *t + k_new,
                                Parameterisation::Standard => w2 * *t + n_in * *k + 1.0,
                            };
                            *k = k_new;
                        }
                    });
                for v in state.var1.iter_mut().chain(state.var2.iter_mut()) {
                    *v = w2 * *v + b2;
                }
                state.width = *width;
            }
            KernelLayer::Activation(act) => apply_activation(act, state).map_err(|e| match e {
                NtkError::Init(inner) => NtkError::UnsupportedLayer {
                    op: "analytic kernel",
                    index,
                    layer: self.describe(),
                    reason: format!("its Gaussian expectation failed: {inner}"),
                },
                other => other,
            })?,
            KernelLayer::Conv { .. } | KernelLayer::GlobalAvgPool => {
                return Err(NtkError::UnsupportedLayer {
                    op: "analytic kernel",
                    index,
                    layer: self.describe(),
                    reason:
                        "it needs a spatial representation; Architecture::new puts convolutions before a GlobalAvgPool"
                            .into(),
                });
            }
        }
        Ok(())
    }
}
