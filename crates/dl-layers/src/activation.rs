//! Activations as modules, each a thin wrapper over the differentiable `Var` method.

use dl_autodiff::Var;
use dl_tensor::Element;

use crate::error::Result;
use crate::kind::LayerKind;
use crate::module::Module;

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
    /// The function's name without its parameters: `"Relu"`, `"LeakyRelu"`, `"Elu"`, ...
    pub fn name(&self) -> &'static str {
        match self {
            Activation::Relu => "Relu",
            Activation::LeakyRelu(_) => "LeakyRelu",
            Activation::Elu(_) => "Elu",
            Activation::Gelu => "Gelu",
            Activation::Sigmoid => "Sigmoid",
            Activation::Tanh => "Tanh",
            Activation::Softplus => "Softplus",
            Activation::Erf => "Erf",
            Activation::Sin => "Sin",
            Activation::Identity => "Identity",
        }
    }

    /// The kinks of a piecewise-linear activation, where its slope changes: `Some([0])`
    /// for ReLU and a leaky ReLU of slope other than 1, `Some([])` for the identity (and a
    /// leaky ReLU of slope 1); `None` for a smooth function, which is not piecewise linear.
    pub fn kinks(&self) -> Option<Vec<f64>> {
        match *self {
            Activation::Relu => Some(vec![0.0]),
            Activation::LeakyRelu(1.0) => Some(vec![]),
            Activation::LeakyRelu(_) => Some(vec![0.0]),
            Activation::Identity => Some(vec![]),
            _ => None,
        }
    }

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

/// An activation as a module (no parameters; the same in training and evaluation).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Act {
    pub f: Activation,
}

impl Act {
    pub fn new(f: Activation) -> Self {
        Act { f }
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
    fn kind(&self) -> LayerKind {
        LayerKind::Activation(self.f)
    }
    fn forward(&self, x: &Var<T>) -> Result<Var<T>> {
        self.f.apply(x)
    }
}
