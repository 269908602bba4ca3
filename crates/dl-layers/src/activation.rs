//! Activations as modules, each a thin wrapper over the differentiable `Var` method.

use dl_autodiff::Var;
use dl_tensor::Element;

use crate::error::Result;
use crate::module::{Module, Param};

/// An elementwise activation function.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Activation {
    Relu,
    /// Slope for negative inputs (PyTorch's default 0.01).
    LeakyRelu(f64),
    /// `alpha (e^x - 1)` for negative inputs (PyTorch's default alpha 1).
    Elu(f64),
    /// The exact GELU, `x Phi(x)`.
    Gelu,
    Sigmoid,
    Tanh,
    Softplus,
    Erf,
    Sin,
    Identity,
}

impl Activation {
    /// Applies the function.
    pub fn apply<T: Element>(&self, x: &Var<T>) -> Result<Var<T>> {
        use dl_tensor::cst;
        Ok(match *self {
            Activation::Relu => x.relu()?,
            Activation::LeakyRelu(s) => x.leaky_relu(cst(s))?,
            Activation::Elu(a) => x.elu(cst(a))?,
            Activation::Gelu => x.gelu()?,
            Activation::Sigmoid => x.sigmoid()?,
            Activation::Tanh => x.tanh()?,
            Activation::Softplus => x.softplus()?,
            Activation::Erf => x.erf()?,
            Activation::Sin => x.sin()?,
            Activation::Identity => x.clone(),
        })
    }
}

/// An activation as a module (no parameters).
#[derive(Clone, Debug)]
pub struct Act {
    pub f: Activation,
    training: bool,
}

impl Act {
    pub fn new(f: Activation) -> Self {
        Act { f, training: true }
    }
    pub fn relu() -> Self {
        Self::new(Activation::Relu)
    }
    pub fn leaky_relu(slope: f64) -> Self {
        Self::new(Activation::LeakyRelu(slope))
    }
    pub fn elu(alpha: f64) -> Self {
        Self::new(Activation::Elu(alpha))
    }
    pub fn gelu() -> Self {
        Self::new(Activation::Gelu)
    }
    pub fn sigmoid() -> Self {
        Self::new(Activation::Sigmoid)
    }
    pub fn tanh() -> Self {
        Self::new(Activation::Tanh)
    }
    pub fn softplus() -> Self {
        Self::new(Activation::Softplus)
    }
    pub fn erf() -> Self {
        Self::new(Activation::Erf)
    }
    pub fn sin() -> Self {
        Self::new(Activation::Sin)
    }
}

impl<T: Element> Module<T> for Act {
    fn describe(&self) -> String {
        format!("{:?}", self.f)
    }
    fn forward(&self, x: &Var<T>) -> Result<Var<T>> {
        self.f.apply(x)
    }
    fn visit_parameters(&self, _prefix: &str, _f: &mut dyn FnMut(&str, &Param<T>)) {}
    fn set_training(&mut self, training: bool) {
        self.training = training;
    }
    fn is_training(&self) -> bool {
        self.training
    }
}
