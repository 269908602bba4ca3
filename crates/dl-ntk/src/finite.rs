//! [`FiniteMlp`]: a random finite network sampled from an [`Architecture`], built from
//! dl-layers' [`Linear`] and [`Act`](dl_layers::Act), and usable as any [`Module`].
//!
//! Besides `forward`, it exposes what the structured empirical NTK needs
//! ([`FiniteMlp::forward_recording`]): the input `a_{l-1}` of every dense layer, the
//! pre-activation variable `h_l` it produces, and the scales `(c_w, c_b)` with which a
//! per-example gradient of its weight and bias enters the kernel:
//! `<dh/dW, dh'/dW> + <dh/db, dh'/db> = c_w a . a' + c_b`
//! (`c_w = sigma_w2 / n_in`, `c_b = sigma_b2` in the NTK parameterisation; `1, 1` in the
//! standard one).

use dl_autodiff::Var;
use dl_layers::{Linear, Module, Param, join_name};
use dl_tensor::{Tensor, TensorRng, cst};

use crate::analytic::Architecture;
use crate::error::Result;
use crate::layer::FiniteLayer;

/// A finite fully connected network (see the module documentation).
pub struct FiniteMlp {
    layers: Vec<FiniteLayer>,
    output_scale: f64,
    in_dim: usize,
    training: bool,
}

/// One dense layer's record from [`FiniteMlp::forward_recording`].
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

impl FiniteMlp {
    pub(crate) fn sample(arch: &Architecture, in_dim: usize, rng: &mut TensorRng) -> Result<Self> {
        let mut layers = Vec::with_capacity(arch.layers().len());
        let mut width = in_dim;
        for (i, l) in arch.layers().iter().enumerate() {
            layers.push(l.finite(i, width, arch.parameterisation(), rng)?);
            width = l.output_width(width);
        }
        Ok(FiniteMlp { layers, output_scale: arch.output_scale(), in_dim, training: true })
    }

    /// The layers, in order.
    pub fn layers(&self) -> &[FiniteLayer] {
        &self.layers
    }

    /// The output multiplier `alpha`.
    pub fn output_scale(&self) -> f64 {
        self.output_scale
    }

    /// The input dimension.
    pub fn in_dim(&self) -> usize {
        self.in_dim
    }

    /// The forward pass, keeping every dense layer's input and output (see the module
    /// documentation). Returns the network's output `alpha h_L` and the records.
    pub fn forward_recording(&self, x: &Var<f64>) -> Result<(Var<f64>, Vec<DenseRecord>)> {
        let mut a = x.clone();
        let mut records = Vec::new();
        for layer in &self.layers {
            a = match layer {
                FiniteLayer::Dense(linear) => {
                    let h = linear.forward(&a)?;
                    records.push(DenseRecord { input: a.value().clone(), output: h.clone(), gradient_scales: gradient_scales(linear) });
                    h
                }
                FiniteLayer::Activation(act) => act.forward(&a)?,
            };
        }
        let out = if self.output_scale == 1.0 { a } else { a.mul_scalar(cst(self.output_scale))? };
        Ok((out, records))
    }
}

impl Module<f64> for FiniteMlp {
    fn describe(&self) -> String {
        let parts: Vec<String> = self
            .layers
            .iter()
            .map(|l| match l {
                FiniteLayer::Dense(d) => d.describe(),
                FiniteLayer::Activation(a) => Module::<f64>::describe(a),
            })
            .collect();
        format!("FiniteMlp[{}]", parts.join(", "))
    }
    fn forward(&self, x: &Var<f64>) -> dl_layers::Result<Var<f64>> {
        let mut a = x.clone();
        for layer in &self.layers {
            a = match layer {
                FiniteLayer::Dense(d) => d.forward(&a)?,
                FiniteLayer::Activation(f) => f.forward(&a)?,
            };
        }
        if self.output_scale == 1.0 { Ok(a) } else { Ok(a.mul_scalar(cst(self.output_scale))?) }
    }
    fn visit_parameters(&self, prefix: &str, f: &mut dyn FnMut(&str, &Param<f64>)) {
        for (i, layer) in self.layers.iter().enumerate() {
            if let FiniteLayer::Dense(d) = layer {
                d.visit_parameters(&join_name(prefix, &i.to_string()), f);
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
