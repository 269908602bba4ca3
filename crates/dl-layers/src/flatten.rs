//! Flatten: `(N, d1, d2, ...)` to `(N, d1 d2 ...)`, keeping the batch axis.

use dl_autodiff::Var;
use dl_tensor::Element;

use crate::error::{LayerError, Result};
use crate::module::{Module, Param};

/// Flattens every axis after the first (PyTorch's `nn.Flatten()` default).
#[derive(Clone, Debug)]
pub struct Flatten {
    training: bool,
}

impl Flatten {
    pub fn new() -> Self {
        Flatten { training: true }
    }
}

impl Default for Flatten {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Element> Module<T> for Flatten {
    fn describe(&self) -> String {
        "Flatten".into()
    }
    fn forward(&self, x: &Var<T>) -> Result<Var<T>> {
        let s = x.shape();
        if s.is_empty() {
            return Err(LayerError::layer("Flatten", "an input with a batch axis (rank >= 1)", s));
        }
        let rest: usize = s[1..].iter().product();
        Ok(x.reshape(&[s[0], rest])?)
    }
    fn visit_parameters(&self, _prefix: &str, _f: &mut dyn FnMut(&str, &Param<T>)) {}
    fn set_training(&mut self, training: bool) {
        self.training = training;
    }
    fn is_training(&self) -> bool {
        self.training
    }
}
