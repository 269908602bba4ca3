//! Embedding: a lookup table `(num_embeddings, dim)`; row `i` is the vector of token `i`.
//!
//! The lookup is `index_select(0, ids)` on the table, whose backward is the scatter-add
//! (`index_add`) of the output gradient into the rows used (repeated ids accumulate).
//! Initialisation is PyTorch's: standard normal.

use dl_autodiff::Var;
use dl_tensor::{Element, Tensor, TensorRng};

use crate::error::{LayerError, Result};
use crate::kind::LayerKind;
use crate::module::{Module, Param, join_name};

/// A table of `num_embeddings` vectors of size `dim`.
pub struct Embedding<T: Element> {
    /// The table `E`, `(num_embeddings, dim)`: token `i` maps to the row `E[i, :]`.
    pub weight: Param<T>,
    /// Vocabulary size `V`: valid ids are `0..V`.
    pub num_embeddings: usize,
    /// Embedding dimension `D`, the length of each vector (the output's last axis).
    pub dim: usize,
    training: bool,
}

impl<T: Element> Embedding<T> {
    /// A table drawn from N(0, 1).
    pub fn new(num_embeddings: usize, dim: usize, rng: &mut TensorRng) -> Self {
        Embedding {
            weight: Param::new(Tensor::randn(&[num_embeddings, dim], rng)),
            num_embeddings,
            dim,
            training: true,
        }
    }

    /// A table with the given vectors `(num_embeddings, dim)` (PyTorch's
    /// `Embedding.from_pretrained`, trainable); another shape is a [`LayerError::ParamShape`].
    pub fn from_tensors(weight: Tensor<T>) -> Result<Self> {
        if weight.ndim() != 2 {
            return Err(LayerError::param_shape(
                "Embedding",
                "weight",
                "(num_embeddings, dim): 2 axes",
                weight.shape(),
            ));
        }
        let (num_embeddings, dim) = (weight.shape()[0], weight.shape()[1]);
        Ok(Embedding { weight: Param::new(weight), num_embeddings, dim, training: true })
    }

    /// The vectors of `ids`, shaped `(shape..., dim)` where `shape` has `ids.len()` elements.
    pub fn lookup(&self, ids: &[usize], shape: &[usize]) -> Result<Var<T>> {
        if shape.iter().product::<usize>() != ids.len() {
            return Err(LayerError::config("Embedding", format!("{} ids cannot take the shape {shape:?}", ids.len())));
        }
        if let Some(&bad) = ids.iter().find(|&&i| i >= self.num_embeddings) {
            return Err(LayerError::config(
                "Embedding",
                format!("id {bad} is out of range for {} embeddings", self.num_embeddings),
            ));
        }
        let mut out = shape.to_vec();
        out.push(self.dim);
        Ok(self.weight.var().index_select(0, ids)?.reshape(&out)?)
    }
}

impl<T: Element> Module<T> for Embedding<T> {
    fn describe(&self) -> String {
        format!("Embedding({} x {})", self.num_embeddings, self.dim)
    }
    fn kind(&self) -> LayerKind {
        LayerKind::Embedding { num_embeddings: self.num_embeddings, dim: self.dim }
    }
    /// `x` holds token ids as whole numbers (any shape); the output appends `dim`.
    fn forward(&self, x: &Var<T>) -> Result<Var<T>> {
        let mut ids = Vec::with_capacity(x.value().numel());
        for v in x.value().to_vec() {
            let f = v.to_f64_exact();
            if !(f >= 0.0 && f.fract() == 0.0 && f < self.num_embeddings as f64) {
                let expected = format!("whole-number ids in 0..{} (found {f})", self.num_embeddings);
                return Err(LayerError::layer(self.describe(), expected, x.shape()));
            }
            ids.push(f as usize);
        }
        self.lookup(&ids, x.shape())
    }
    fn visit_parameters(&self, prefix: &str, f: &mut dyn FnMut(&str, &Param<T>)) {
        f(&join_name(prefix, "weight"), &self.weight);
    }
    fn set_training(&mut self, training: bool) {
        self.training = training;
    }
    fn is_training(&self) -> bool {
        self.training
    }
}
