//! RMS normalisation (Zhang and Sennrich, 2019): layer norm without centring and without a
//! shift, over the trailing `normalized_shape` axes.
//!
//! ```text
//! y = gamma ⊙ x / sqrt(mean(x^2) + eps),   the mean over the last k axes
//! ```
//!
//! It is the general [`Normalizer`] with `centred = false`: the closed-form backward drops
//! the `mean(g)` term (`x̄ = r (g - x̂ mean(g x̂))`). The default `eps` is the dtype's machine
//! epsilon, PyTorch's `nn.RMSNorm(eps=None)`.

use dl_autodiff::Var;
use dl_layers::{LayerKind, Module, NormKind, Param, Result, join_name};
use dl_tensor::{Element, Tensor};

use crate::apply::Statistics;
use crate::layer_norm::check_trailing;
use crate::running::{check_normalized_shape, filled};
use crate::spec::Normalizer;

/// RMS norm over the trailing axes `normalized_shape`, with an elementwise scale.
pub struct RmsNorm<T: Element> {
    /// The trailing shape `(D_1, ..., D_k)` normalised over; the input must end with it.
    pub normalized_shape: Vec<usize>,
    /// `eps`, added to the mean square before the square root.
    pub eps: f64,
    /// The scale `gamma` of shape `normalized_shape`, initially ones.
    pub weight: Option<Param<T>>,
    training: bool,
}

impl<T: Element> RmsNorm<T> {
    /// `eps` = machine epsilon of `T`, with a scale. An empty shape or a zero extent is an
    /// error.
    pub fn new(normalized_shape: &[usize]) -> Result<Self> {
        check_normalized_shape(&format!("RmsNorm({normalized_shape:?})"), normalized_shape)?;
        let weight = Some(filled(normalized_shape, 1.0));
        Ok(RmsNorm { normalized_shape: normalized_shape.to_vec(), eps: T::EPSILON_F64, weight, training: true })
    }

    /// A layer with the given elementwise scale `weight`; the normalised shape is its shape.
    pub fn from_tensors(weight: Tensor<T>) -> Result<Self> {
        let shape = weight.shape().to_vec();
        check_normalized_shape(&format!("RmsNorm({shape:?})"), &shape)?;
        Ok(RmsNorm { normalized_shape: shape, eps: T::EPSILON_F64, weight: Some(Param::new(weight)), training: true })
    }
    /// Sets `eps` (checked, with the input, at the first forward pass).
    pub fn with_eps(mut self, eps: f64) -> Self {
        self.eps = eps;
        self
    }
    /// Without the learnable scale.
    pub fn without_affine(mut self) -> Self {
        self.weight = None;
        self
    }
}

impl<T: Element> Module<T> for RmsNorm<T> {
    fn describe(&self) -> String {
        format!("RmsNorm({:?})", self.normalized_shape)
    }
    fn kind(&self) -> LayerKind {
        LayerKind::Norm(NormKind::Rms)
    }
    fn forward(&self, x: &Var<T>) -> Result<Var<T>> {
        check_trailing(self.describe(), &self.normalized_shape, x.shape())?;
        let normalizer = Normalizer::rms_norm(self.normalized_shape.len(), self.eps);
        let xhat = normalizer.apply(&self.describe(), x, Statistics::Batch, None)?.output;
        Ok(match &self.weight {
            Some(w) => xhat.mul(&w.var())?,
            None => xhat,
        })
    }
    fn visit_parameters(&self, prefix: &str, f: &mut dyn FnMut(&str, &Param<T>)) {
        if let Some(w) = &self.weight {
            f(&join_name(prefix, "weight"), w);
        }
    }
    fn set_training(&mut self, training: bool) {
        self.training = training;
    }
    fn is_training(&self) -> bool {
        self.training
    }
}
