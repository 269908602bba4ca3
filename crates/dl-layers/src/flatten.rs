//! Flatten: `(N, d1, d2, ...)` to `(N, d1 d2 ...)`, keeping the batch axis.

use dl_autodiff::Var;
use dl_tensor::Element;

use crate::error::{LayerError, Result};
use crate::kind::LayerKind;
use crate::module::Module;

/// Flattens every axis after the first (PyTorch's `nn.Flatten()` default).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Flatten;

impl Flatten {
    /// The flatten layer (no parameters; the same in training and evaluation).
    pub fn new() -> Self {
        Flatten
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
    fn kind(&self) -> LayerKind {
        LayerKind::Flatten
    }
    fn forward(&self, x: &Var<T>) -> Result<Var<T>> {
        let s = x.shape();
        if s.is_empty() {
            return Err(LayerError::layer("Flatten", "an input with a batch axis (rank >= 1)", s));
        }
        let rest: usize = s[1..].iter().product();
        Ok(x.reshape(&[s[0], rest])?)
    }
}
