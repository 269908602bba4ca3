//! [`PhiLayer`]: any built-in or designed [`Activation`] of this crate (including
//! `scale * phi(x) + shift` and SELU) as a differentiable [`Module`], so the activations
//! that the mean-field analysis designs (see [`crate::activation_design`]) can be put in a
//! network and trained. It is written with `Var` operations, so its gradient is exact.
//! A [`Activation::Custom`] holds only f64 closures, which autodiff cannot trace: it is an
//! error here.
//!
//! ```
//! use dl_autodiff::Var;
//! use dl_init::{Activation, phi_layer::PhiLayer};
//! use dl_layers::Module;
//! use dl_tensor::Tensor;
//! let shifted = PhiLayer::new(Activation::scaled(Activation::Tanh, 2.0, 0.5))?;
//! let y = Module::<f64>::forward(&shifted, &Var::constant(Tensor::zeros(&[1, 3])))?;
//! assert_eq!(y.value().to_vec(), vec![0.5; 3]);
//! assert!(PhiLayer::new(Activation::custom("cube", |x| x * x * x, |x| 3.0 * x * x)).is_err());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use dl_autodiff::Var;
use dl_layers::{LayerError, LayerKind, Module};
use dl_tensor::{Element, cst};

use crate::activation::{Activation, SELU_ALPHA, SELU_LAMBDA};
use crate::error::{InitError, Result};

/// An activation of this crate as a parameter-free layer.
#[derive(Clone, Debug)]
pub struct PhiLayer {
    act: Activation,
}

fn traceable(act: &Activation) -> bool {
    match act {
        Activation::Custom { .. } => false,
        Activation::Scaled { inner, .. } => traceable(inner),
        _ => true,
    }
}

/// phi(x) with differentiable `Var` operations.
fn apply<T: Element>(act: &Activation, x: &Var<T>) -> std::result::Result<Var<T>, dl_autodiff::AutodiffError> {
    Ok(match act {
        Activation::Relu => x.relu()?,
        Activation::LeakyRelu(a) => x.leaky_relu(cst(*a))?,
        Activation::Tanh => x.tanh()?,
        Activation::Erf => x.erf()?,
        Activation::Sigmoid => x.sigmoid()?,
        Activation::Softplus => x.softplus()?,
        Activation::Gelu => x.gelu()?,
        Activation::Elu(a) => x.elu(cst(*a))?,
        Activation::Selu => x.elu(cst(SELU_ALPHA))?.mul_scalar(cst(SELU_LAMBDA))?,
        Activation::Swish => x.mul(&x.sigmoid()?)?,
        Activation::Linear => x.clone(),
        Activation::Sin => x.sin()?,
        Activation::Scaled { inner, scale, shift } => {
            apply(inner, x)?.mul_scalar(cst(*scale))?.add_scalar(cst(*shift))?
        }
        Activation::Custom { .. } => unreachable!("PhiLayer::new rejects custom activations"),
    })
}

impl PhiLayer {
    /// The layer applying `act`. Errors for a custom activation (not traceable by autodiff).
    pub fn new(act: Activation) -> Result<Self> {
        if !traceable(&act) {
            return Err(InitError::scheme(
                "PhiLayer",
                act.name(),
                "a custom activation is an f64 closure that autodiff cannot differentiate; build it from built-ins with Activation::scaled",
            ));
        }
        Ok(PhiLayer { act })
    }

    /// The activation.
    pub fn activation(&self) -> &Activation {
        &self.act
    }
}

impl<T: Element> Module<T> for PhiLayer {
    fn describe(&self) -> String {
        self.act.name()
    }
    /// The dl-layers activation when it is one of them (ReLU, leaky ReLU, ELU, tanh, ...);
    /// SELU, swish and scaled activations are [`LayerKind::Other`].
    fn kind(&self) -> LayerKind {
        use dl_layers::Activation as L;
        let same = match self.act {
            Activation::Relu => L::Relu,
            Activation::LeakyRelu(s) => L::LeakyRelu(s),
            Activation::Tanh => L::Tanh,
            Activation::Erf => L::Erf,
            Activation::Sigmoid => L::Sigmoid,
            Activation::Softplus => L::Softplus,
            Activation::Gelu => L::Gelu,
            Activation::Elu(a) => L::Elu(a),
            Activation::Linear => L::Identity,
            Activation::Sin => L::Sin,
            Activation::Selu | Activation::Swish | Activation::Scaled { .. } | Activation::Custom { .. } => {
                return LayerKind::Other;
            }
        };
        LayerKind::Activation(same)
    }
    fn forward(&self, x: &Var<T>) -> std::result::Result<Var<T>, LayerError> {
        Ok(apply(&self.act, x)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dl_tensor::Tensor;
    use dl_tensor::compare::{Tolerance, assert_close_slices};

    /// Forward against `Activation::phi` and the gradient of sum(phi(x)) against
    /// `Activation::dphi`, pointwise. Both sides evaluate the same formulas in f64 by
    /// different code (Var primitives vs scalar functions): agreement to the f64 default
    /// tolerance.
    #[test]
    fn values_and_gradients_match_the_scalar_definitions() {
        let xs: Vec<f64> = (0..41).map(|i| -4.0 + 0.2 * i as f64 + 0.013).collect();
        let acts = [
            Activation::Relu,
            Activation::LeakyRelu(0.1),
            Activation::Tanh,
            Activation::Erf,
            Activation::Sigmoid,
            Activation::Softplus,
            Activation::Gelu,
            Activation::Elu(1.3),
            Activation::Selu,
            Activation::Swish,
            Activation::Linear,
            Activation::Sin,
            Activation::scaled(Activation::Tanh, 1.7, -0.3),
        ];
        for act in acts {
            let layer = PhiLayer::new(act.clone()).unwrap();
            let x = Var::leaf(Tensor::from_vec(xs.clone(), &[41]).unwrap(), true);
            let y = Module::<f64>::forward(&layer, &x).unwrap();
            let phi: Vec<f64> = xs.iter().map(|&v| act.phi(v)).collect();
            assert_close_slices(&y.value().to_vec(), &phi, Tolerance::default_for::<f64>());
            let grads = y.sum_all().unwrap().backward().unwrap();
            let dphi: Vec<f64> = xs.iter().map(|&v| act.dphi(v)).collect();
            assert_close_slices(&grads.get(&x).unwrap().to_vec(), &dphi, Tolerance::default_for::<f64>());
        }
    }
}
