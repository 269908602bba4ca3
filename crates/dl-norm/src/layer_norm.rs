//! Layer normalisation (Ba, Kiros and Hinton, 2016): per sample, over the trailing
//! `normalized_shape` axes, with an elementwise scale and shift of that shape.
//!
//! ```text
//! y = gamma ⊙ (x - mu) / sqrt(var + eps) + beta,   mu, var over the last k axes of x
//! ```
//!
//! The statistics never involve other samples, so training and evaluation behave the same
//! and any batch size (one included) works. The normalisation is the
//! [`Normalize`](crate::primitive::Normalize) primitive over the `(1, leading, trailing)`
//! view; the scale and shift, laid out along the *reduced* axes, are ordinary broadcasting
//! `Var` operations.

use dl_autodiff::Var;
use dl_layers::{LayerError, LayerKind, Module, NormKind, Param, Result, join_name};
use dl_tensor::{Element, Tensor};

use crate::apply::Statistics;
use crate::running::{affine_from_tensors, check_normalized_shape, filled};
use crate::spec::Normalizer;

/// Layer norm over the trailing axes `normalized_shape`.
pub struct LayerNorm<T: Element> {
    /// The trailing shape `(D_1, ..., D_k)` normalised over; the input must end with it.
    pub normalized_shape: Vec<usize>,
    /// `eps`, added to the variance before the square root (numerical stability).
    pub eps: f64,
    /// `(weight, bias)` of shape `normalized_shape`, initially ones and zeros.
    pub affine: Option<(Param<T>, Param<T>)>,
    training: bool,
}

impl<T: Element> LayerNorm<T> {
    /// PyTorch's defaults: `eps = 1e-5`, elementwise affine. An empty shape or a zero
    /// extent is an error.
    pub fn new(normalized_shape: &[usize]) -> Result<Self> {
        check_normalized_shape(&format!("LayerNorm({normalized_shape:?})"), normalized_shape)?;
        let affine = Some((filled(normalized_shape, 1.0), filled(normalized_shape, 0.0)));
        Ok(LayerNorm { normalized_shape: normalized_shape.to_vec(), eps: 1e-5, affine, training: true })
    }

    /// A layer with the given elementwise `weight` and `bias`; the normalised shape is the
    /// weight's, and the bias must have it. `eps = 1e-5`.
    pub fn from_tensors(weight: Tensor<T>, bias: Tensor<T>) -> Result<Self> {
        let shape = weight.shape().to_vec();
        let layer = format!("LayerNorm({shape:?})");
        check_normalized_shape(&layer, &shape)?;
        let affine = Some(affine_from_tensors(&layer, weight, bias, None)?);
        Ok(LayerNorm { normalized_shape: shape, eps: 1e-5, affine, training: true })
    }
    /// Sets `eps` (checked, with the input, at the first forward pass).
    pub fn with_eps(mut self, eps: f64) -> Self {
        self.eps = eps;
        self
    }
    /// Without the learnable elementwise scale and shift.
    pub fn without_affine(mut self) -> Self {
        self.affine = None;
        self
    }
}

/// Checks that `shape` ends with `trailing` (shared by layer norm and RMS norm).
pub(crate) fn check_trailing(layer: String, trailing: &[usize], shape: &[usize]) -> Result<()> {
    let k = trailing.len();
    if k == 0 || shape.len() < k || shape[shape.len() - k..] != *trailing {
        return Err(LayerError::layer(
            layer,
            format!(
                "an input (..., {}) ending in the normalised shape {trailing:?}",
                trailing.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", ")
            ),
            shape,
        ));
    }
    Ok(())
}

impl<T: Element> Module<T> for LayerNorm<T> {
    fn describe(&self) -> String {
        format!("LayerNorm({:?})", self.normalized_shape)
    }
    fn kind(&self) -> LayerKind {
        LayerKind::Norm(NormKind::Layer)
    }
    fn forward(&self, x: &Var<T>) -> Result<Var<T>> {
        check_trailing(self.describe(), &self.normalized_shape, x.shape())?;
        let normalizer = Normalizer::layer_norm(self.normalized_shape.len(), self.eps);
        let xhat = normalizer.apply(&self.describe(), x, Statistics::Batch, None)?.output;
        Ok(match &self.affine {
            Some((w, b)) => xhat.mul(&w.var())?.add(&b.var())?,
            None => xhat,
        })
    }
    fn visit_parameters(&self, prefix: &str, f: &mut dyn FnMut(&str, &Param<T>)) {
        if let Some((w, b)) = &self.affine {
            f(&join_name(prefix, "weight"), w);
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
