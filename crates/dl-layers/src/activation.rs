//! Activations as modules, each a thin wrapper over the differentiable `Var` method.

use dl_autodiff::Var;
use dl_tensor::Element;

use crate::error::Result;
use crate::kind::LayerKind;
use crate::module::Module;

/// An elementwise activation function.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Activation {
    /// `max(0, x)`.
    Relu,
    /// Slope for negative inputs (PyTorch's default 0.01).
    LeakyRelu(f64),
    /// `alpha (e^x - 1)` for negative inputs (PyTorch's default alpha 1).
    Elu(f64),
    /// The exact GELU, `x Phi(x)`.
    Gelu,
    /// The logistic `σ(x) = 1 / (1 + e^{−x})`, evaluated stably.
    Sigmoid,
    /// `tanh x`.
    Tanh,
    /// `log(1 + e^x)` (PyTorch's `beta = 1`), evaluated stably.
    Softplus,
    /// The error function `erf x = (2/√π) ∫₀ˣ e^{−t²} dt` (its Gaussian kernel is Williams'
    /// closed-form arcsine).
    Erf,
    /// `sin x` (its Gaussian kernel `E[sin u sin v] = e^{−(q₁+q₂)/2} sinh q₁₂` is closed-form).
    Sin,
    /// `x` itself: a linear network, and the piecewise-linear case with no kinks.
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
    /// The elementwise function applied in `forward`.
    pub f: Activation,
}

impl Act {
    /// The module applying `f`.
    pub fn new(f: Activation) -> Self {
        Act { f }
    }
    /// `max(0, x)`.
    pub fn relu() -> Self {
        Self::new(Activation::Relu)
    }
    /// `x` for `x ≥ 0`, `slope · x` below (PyTorch's default slope is 0.01).
    pub fn leaky_relu(slope: f64) -> Self {
        Self::new(Activation::LeakyRelu(slope))
    }
    /// `x` for `x > 0`, `alpha (e^x − 1)` below (PyTorch's default alpha is 1).
    pub fn elu(alpha: f64) -> Self {
        Self::new(Activation::Elu(alpha))
    }
    /// The exact GELU `x Φ(x)`, `Φ` the standard normal CDF (not the tanh approximation).
    pub fn gelu() -> Self {
        Self::new(Activation::Gelu)
    }
    /// The logistic `σ(x) = 1 / (1 + e^{−x})`.
    pub fn sigmoid() -> Self {
        Self::new(Activation::Sigmoid)
    }
    /// `tanh x`.
    pub fn tanh() -> Self {
        Self::new(Activation::Tanh)
    }
    /// `log(1 + e^x)`, a smooth ReLU.
    pub fn softplus() -> Self {
        Self::new(Activation::Softplus)
    }
    /// The error function `erf x`.
    pub fn erf() -> Self {
        Self::new(Activation::Erf)
    }
    /// `sin x`.
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
