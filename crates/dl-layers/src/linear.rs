//! The dense layer `y = x W^T + b` with `W (out, in)` (PyTorch's layout).
//!
//! Default initialisation is PyTorch's: `W` and `b` uniform on `[-1/sqrt(in), 1/sqrt(in)]`
//! (variance `1 / (3 in)`), drawn from an explicit generator.

use dl_autodiff::Var;
use dl_tensor::{Element, Tensor, TensorRng, cst};

use crate::error::{LayerError, Result};
use crate::module::{Module, Param, join_name};

/// A fully connected layer over inputs `(..., in_features)`.
pub struct Linear<T: Element> {
    pub weight: Param<T>,
    pub bias: Option<Param<T>>,
    pub in_features: usize,
    pub out_features: usize,
    training: bool,
}

impl<T: Element> Linear<T> {
    /// A layer with PyTorch's default initialisation drawn from `rng`.
    pub fn new(in_features: usize, out_features: usize, bias: bool, rng: &mut TensorRng) -> Self {
        let bound: T = cst(1.0 / (in_features.max(1) as f64).sqrt());
        let draw = |shape: &[usize], rng: &mut TensorRng| {
            Tensor::rand_uniform(shape, -bound, bound, rng).expect("a finite, non-empty range")
        };
        let weight = Param::new(draw(&[out_features, in_features], rng));
        let bias = if bias { Some(Param::new(draw(&[out_features], rng))) } else { None };
        Linear { weight, bias, in_features, out_features, training: true }
    }

    /// A layer with the given weight `(out, in)` and optional bias `(out)`.
    pub fn from_tensors(weight: Tensor<T>, bias: Option<Tensor<T>>) -> Result<Self> {
        if weight.ndim() != 2 {
            return Err(LayerError::layer("Linear::from_tensors", "a weight (out_features, in_features)", weight.shape()));
        }
        let (out_features, in_features) = (weight.shape()[0], weight.shape()[1]);
        if let Some(b) = &bias
            && b.shape() != [out_features]
        {
            return Err(LayerError::layer("Linear::from_tensors", format!("a bias of shape [{out_features}]"), b.shape()));
        }
        Ok(Linear { weight: Param::new(weight), bias: bias.map(Param::new), in_features, out_features, training: true })
    }
}

impl<T: Element> Module<T> for Linear<T> {
    fn describe(&self) -> String {
        format!("Linear({} -> {})", self.in_features, self.out_features)
    }
    fn forward(&self, x: &Var<T>) -> Result<Var<T>> {
        let s = x.shape();
        if s.is_empty() || s[s.len() - 1] != self.in_features {
            return Err(LayerError::layer(self.describe(), format!("an input (..., {})", self.in_features), s));
        }
        let wt = self.weight.var().t()?;
        Ok(match &self.bias {
            Some(b) => x.linear(&wt, &b.var())?,
            None => x.matmul(&wt)?,
        })
    }
    fn visit_parameters(&self, prefix: &str, f: &mut dyn FnMut(&str, &Param<T>)) {
        f(&join_name(prefix, "weight"), &self.weight);
        if let Some(b) = &self.bias {
            f(&join_name(prefix, "bias"), b);
        }
    }
    fn set_training(&mut self, training: bool) {
        self.training = training;
    }
    fn is_training(&self) -> bool {
        self.training
    }
}
