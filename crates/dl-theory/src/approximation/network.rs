//! [`ShallowNetwork`]: the parameters of a one-hidden-layer network
//!
//! ```text
//! N(x) = c_0 + sum_{i=1}^{width} c_i act(w_i . x + b_i)
//! ```
//!
//! as the constructions produce them, and its conversion to a dl-layers
//! `Sequential[Linear(d -> width), Act, Linear(width -> 1)]` that evaluates, differentiates and
//! trains like any other network. [`ShallowNetwork::eval_direct`] is an independent reference
//! (plain loops, scalar activation formulas) used by the tests to check the layers' forward.

use dl_layers::{Act, Activation, Linear, Sequential};
use dl_tensor::Tensor;

use crate::approximation::error::{ApproximationError, Result};
use crate::approximation::rounding::{NetworkView, evaluation_bound};

/// The parameters of `N(x) = c_0 + sum_i c_i act(w_i . x + b_i)`.
#[derive(Clone, Debug, PartialEq)]
pub struct ShallowNetwork {
    /// The hidden activation.
    pub activation: Activation,
    /// Input dimension `d`.
    pub dim: usize,
    /// Hidden weights `w_i`, `(width, d)` row-major (PyTorch's `(out, in)` layout).
    pub weights: Vec<f64>,
    /// Hidden biases `b_i`.
    pub biases: Vec<f64>,
    /// Output weights `c_i`.
    pub outputs: Vec<f64>,
    /// Output bias `c_0`.
    pub output_bias: f64,
}

/// `act(z)` in f64 by its textbook formula (the reference for the layers' evaluation).
pub fn activation_value(act: Activation, z: f64) -> f64 {
    match act {
        Activation::Sigmoid => {
            if z >= 0.0 {
                1.0 / (1.0 + (-z).exp())
            } else {
                let e = z.exp();
                e / (1.0 + e)
            }
        }
        Activation::Tanh => z.tanh(),
        Activation::Erf => libm::erf(z),
        Activation::Relu => z.max(0.0),
        Activation::Softplus => z.max(0.0) + (-z.abs()).exp().ln_1p(),
        Activation::Elu(alpha) => {
            if z > 0.0 {
                z
            } else {
                alpha * z.exp_m1()
            }
        }
        Activation::Sin => z.sin(),
        Activation::LeakyRelu(s) => {
            if z > 0.0 {
                z
            } else {
                s * z
            }
        }
        Activation::Gelu => 0.5 * z * (1.0 + libm::erf(z * std::f64::consts::FRAC_1_SQRT_2)),
        Activation::Identity => z,
    }
}

/// `act'(z)` in f64 (0 at the kink of ReLU-type activations).
pub fn activation_derivative(act: Activation, z: f64) -> f64 {
    match act {
        Activation::Sigmoid => {
            let s = activation_value(act, z);
            s * (1.0 - s)
        }
        Activation::Tanh => 1.0 - z.tanh().powi(2),
        Activation::Erf => 2.0 / std::f64::consts::PI.sqrt() * (-z * z).exp(),
        Activation::Relu => f64::from(u8::from(z > 0.0)),
        Activation::Softplus => activation_value(Activation::Sigmoid, z),
        Activation::Elu(alpha) => {
            if z > 0.0 {
                1.0
            } else {
                alpha * z.exp()
            }
        }
        Activation::Sin => z.cos(),
        Activation::LeakyRelu(s) => {
            if z > 0.0 {
                1.0
            } else {
                s
            }
        }
        Activation::Gelu => {
            let phi = (-0.5 * z * z).exp() / (2.0 * std::f64::consts::PI).sqrt();
            0.5 * (1.0 + libm::erf(z * std::f64::consts::FRAC_1_SQRT_2)) + z * phi
        }
        Activation::Identity => 1.0,
    }
}

impl ShallowNetwork {
    /// An empty network (width 0) computing the constant `output_bias`.
    pub fn constant(activation: Activation, dim: usize, output_bias: f64) -> Self {
        ShallowNetwork { activation, dim, weights: Vec::new(), biases: Vec::new(), outputs: Vec::new(), output_bias }
    }

    /// Number of hidden units.
    pub fn width(&self) -> usize {
        self.biases.len()
    }

    /// Appends a hidden unit `c act(w . x + b)`.
    pub fn push_unit(&mut self, w: &[f64], b: f64, c: f64) {
        debug_assert_eq!(w.len(), self.dim, "a unit's weight has one entry per input");
        self.weights.extend_from_slice(w);
        self.biases.push(b);
        self.outputs.push(c);
    }

    /// `N(x)` by direct loops and the scalar formula of the activation.
    pub fn eval_direct(&self, x: &[f64]) -> f64 {
        let d = self.dim;
        let mut y = self.output_bias;
        for i in 0..self.width() {
            let z: f64 = self.biases[i] + (0..d).map(|j| self.weights[i * d + j] * x[j]).sum::<f64>();
            y += self.outputs[i] * activation_value(self.activation, z);
        }
        y
    }

    /// The network as `Sequential[Linear(d -> width), Act, Linear(width -> 1)]` in f64.
    pub fn to_sequential(&self) -> Result<Sequential<f64>> {
        let width = self.width();
        if width == 0 {
            return Err(ApproximationError::Unsupported {
                op: "ShallowNetwork::to_sequential",
                detail: "a network of width 0 has no hidden layer to build".into(),
            });
        }
        let hidden = Linear::from_tensors(
            Tensor::from_vec(self.weights.clone(), &[width, self.dim])?,
            Some(Tensor::from_vec(self.biases.clone(), &[width])?),
        )?;
        let output = Linear::from_tensors(
            Tensor::from_vec(self.outputs.clone(), &[1, width])?,
            Some(Tensor::from_vec(vec![self.output_bias], &[1])?),
        )?;
        Ok(Sequential::new().with(hidden).with(Act::new(self.activation)).with(output))
    }

    /// The bound on the f64 evaluation error on the box `[lo, hi]` (see
    /// [`crate::approximation::rounding`]).
    pub fn rounding_bound(&self, lo: &[f64], hi: &[f64]) -> f64 {
        evaluation_bound(
            &NetworkView {
                activation: self.activation,
                dim: self.dim,
                weights: &self.weights,
                biases: &self.biases,
                outputs: &self.outputs,
                output_bias: self.output_bias,
            },
            lo,
            hi,
        )
    }

    /// Bytes of its f64 parameters.
    pub fn parameter_bytes(&self) -> usize {
        8 * (self.weights.len() + self.biases.len() + self.outputs.len() + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dl_autodiff::{Var, no_grad};
    use dl_layers::Module;
    use dl_tensor::compare::{Tolerance, assert_close_slices};

    #[test]
    fn derivatives_match_central_differences() {
        // step 1e-6: truncation O(h^2 f''') ~ 1e-12, rounding O(u / h) ~ 1e-10
        let acts = [
            Activation::Sigmoid,
            Activation::Tanh,
            Activation::Erf,
            Activation::Softplus,
            Activation::Elu(0.7),
            Activation::Sin,
            Activation::Gelu,
        ];
        for act in acts {
            for z in [-2.3, -0.4, 0.3, 1.7] {
                let fd = (activation_value(act, z + 1e-6) - activation_value(act, z - 1e-6)) / 2e-6;
                assert!((fd - activation_derivative(act, z)).abs() < 1e-8, "{act:?} at {z}: {fd}");
            }
        }
    }

    #[test]
    fn sequential_matches_direct_loops_for_every_activation() {
        let acts = [
            Activation::Sigmoid,
            Activation::Tanh,
            Activation::Erf,
            Activation::Relu,
            Activation::Softplus,
            Activation::Elu(1.0),
            Activation::Sin,
        ];
        for act in acts {
            let mut net = ShallowNetwork::constant(act, 2, 0.25);
            net.push_unit(&[1.5, -0.5], 0.1, 2.0);
            net.push_unit(&[-3.0, 0.25], -0.7, -1.0);
            net.push_unit(&[0.0, 4.0], 2.0, 0.5);
            let seq = net.to_sequential().unwrap();
            let xs = [0.3, -0.2, -1.0, 0.8, 0.0, 0.0];
            let y = no_grad(|| seq.forward(&Var::constant(Tensor::from_vec(xs.to_vec(), &[3, 2]).unwrap()))).unwrap();
            let direct: Vec<f64> = xs.chunks(2).map(|x| net.eval_direct(x)).collect();
            // three units, two inputs: a few roundings apart
            assert_close_slices(&y.value().to_vec(), &direct, Tolerance::default_for::<f64>());
        }
    }
}
