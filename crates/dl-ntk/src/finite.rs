//! [`FiniteNetwork`]: a random finite network sampled from an [`Architecture`], built from
//! dl-layers' [`Linear`], [`Act`](dl_layers::Act), convolutions ([`crate::conv::NtkConv`])
//! and [`GlobalAvgPool`](dl_layers::GlobalAvgPool), and usable as any [`Module`].
//!
//! Besides `forward`, it exposes what the structured empirical NTK needs
//! ([`FiniteNetwork::forward_recording`]): the input `a_{l-1}` of every dense layer, the
//! pre-activation variable `h_l` it produces, and the scales `(c_w, c_b)` with which a
//! per-example gradient of its weight and bias enters the kernel:
//! `<dh/dW, dh'/dW> + <dh/db, dh'/db> = c_w a . a' + c_b`
//! (`c_w = sigma_w2 / n_in`, `c_b = sigma_b2` in the NTK parameterisation; `1, 1` in the
//! standard one).

use dl_autodiff::Var;
use dl_layers::{LayerKind, Linear, Module, Param, join_name};
use dl_tensor::{Tensor, TensorRng, cst};

use crate::analytic::Architecture;
use crate::error::{NtkError, Result};
use crate::layer::FiniteLayer;

/// A finite network (see the module documentation).
pub struct FiniteNetwork {
    layers: Vec<FiniteLayer>,
    output_scale: f64,
    in_dim: usize,
    training: bool,
}

/// One dense layer's record from [`FiniteNetwork::forward_recording`].
pub struct DenseRecord {
    /// The layer's input `a_{l-1}`, `(N, n_in)`.
    pub input: Tensor<f64>,
    /// The layer's output variable `h_l`, `(N, n_out)`.
    pub output: Var<f64>,
    /// `(c_w, c_b)`: see the module documentation.
    pub gradient_scales: (f64, f64),
}

/// The scales `(c_w, c_b)` of a dense layer.
fn gradient_scales(linear: &Linear<f64>) -> (f64, f64) {
    match linear.ntk_scales() {
        Some((w, b)) => (w * w, b * b),
        None => (1.0, 1.0),
    }
}

impl FiniteNetwork {
    pub(crate) fn sample(arch: &Architecture, in_dim: usize, rng: &mut TensorRng) -> Result<Self> {
        let mut layers = Vec::with_capacity(arch.layers().len());
        let mut width = in_dim;
        for (i, l) in arch.layers().iter().enumerate() {
            layers.push(l.finite(i, width, arch.parameterisation(), rng)?);
            width = l.output_width(width);
        }
        Ok(FiniteNetwork { layers, output_scale: arch.output_scale(), in_dim, training: true })
    }

    /// The layers, in order.
    pub fn layers(&self) -> &[FiniteLayer] {
        &self.layers
    }

    /// The output multiplier `alpha`.
    pub fn output_scale(&self) -> f64 {
        self.output_scale
    }

    /// The input dimension (input channels, for a convolutional network).
    pub fn in_dim(&self) -> usize {
        self.in_dim
    }

    /// The first layer the structured (layer-wise dense) empirical NTK cannot take, with its
    /// position: a convolution or a pooling. `None` for a dense network.
    pub fn first_non_dense(&self) -> Option<(usize, String)> {
        self.layers.iter().enumerate().find_map(|(i, l)| match l {
            FiniteLayer::Conv(c) => Some((i, c.describe())),
            FiniteLayer::GlobalAvgPool(p) => Some((i, Module::<f64>::describe(p))),
            _ => None,
        })
    }

    /// The forward pass, keeping every dense layer's input and output (see the module
    /// documentation). Returns the network's output `alpha h_L` and the records.
    /// Errors (naming the layer) on a convolutional network, whose per-example gradients are
    /// not outer products.
    pub fn forward_recording(&self, x: &Var<f64>) -> Result<(Var<f64>, Vec<DenseRecord>)> {
        let mut a = x.clone();
        let mut records = Vec::new();
        for layer in &self.layers {
            a = match layer {
                FiniteLayer::Dense(linear) => {
                    let h = linear.forward(&a)?;
                    records.push(DenseRecord {
                        input: a.value().clone(),
                        output: h.clone(),
                        gradient_scales: gradient_scales(linear),
                    });
                    h
                }
                FiniteLayer::Activation(act) => act.forward(&a)?,
                FiniteLayer::Conv(_) | FiniteLayer::GlobalAvgPool(_) => {
                    let (index, layer) = self.first_non_dense().expect("this layer is not dense");
                    return Err(NtkError::UnsupportedLayer {
                        op: "FiniteNetwork::forward_recording",
                        index,
                        layer,
                        reason: "the structured path covers dense networks only; use empirical_ntk_batched (or empirical_ntk, which chooses)".into(),
                    });
                }
            };
        }
        let out = if self.output_scale == 1.0 { a } else { a.mul_scalar(cst(self.output_scale))? };
        Ok((out, records))
    }
}

impl Module<f64> for FiniteNetwork {
    fn describe(&self) -> String {
        let parts: Vec<String> = self
            .layers
            .iter()
            .map(|l| match l {
                FiniteLayer::Dense(d) => d.describe(),
                FiniteLayer::Activation(a) => Module::<f64>::describe(a),
                FiniteLayer::Conv(c) => c.describe(),
                FiniteLayer::GlobalAvgPool(p) => Module::<f64>::describe(p),
            })
            .collect();
        format!("FiniteNetwork[{}]", parts.join(", "))
    }
    fn kind(&self) -> LayerKind {
        LayerKind::Sequential { len: self.layers.len() }
    }
    fn forward(&self, x: &Var<f64>) -> dl_layers::Result<Var<f64>> {
        let mut a = x.clone();
        for layer in &self.layers {
            a = match layer {
                FiniteLayer::Dense(d) => d.forward(&a)?,
                FiniteLayer::Activation(f) => f.forward(&a)?,
                FiniteLayer::Conv(c) => c.forward(&a)?,
                FiniteLayer::GlobalAvgPool(p) => p.forward(&a)?,
            };
        }
        if self.output_scale == 1.0 { Ok(a) } else { Ok(a.mul_scalar(cst(self.output_scale))?) }
    }
    fn visit_parameters(&self, prefix: &str, f: &mut dyn FnMut(&str, &Param<f64>)) {
        for (i, layer) in self.layers.iter().enumerate() {
            match layer {
                FiniteLayer::Dense(d) => d.visit_parameters(&join_name(prefix, &i.to_string()), f),
                FiniteLayer::Conv(c) => c.visit_parameters(&join_name(prefix, &i.to_string()), f),
                FiniteLayer::Activation(_) | FiniteLayer::GlobalAvgPool(_) => {}
            }
        }
    }
    fn set_training(&mut self, training: bool) {
        self.training = training;
    }
    fn is_training(&self) -> bool {
        self.training
    }
}
