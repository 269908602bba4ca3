//! Group normalisation (Wu and He, 2018): per sample and per group of `C / G` channels,
//! over the group's channels and the spatial axes.
//!
//! ```text
//! x viewed as (N, G, C/G, ...);   y = gamma_c (x - mu_{n,g}) / sqrt(var_{n,g} + eps) + beta_c
//! ```
//!
//! `G = 1` is layer norm over `(C, H, W)` (with a per-channel affine map) and `G = C` is
//! instance norm. The statistics are per sample, so training and evaluation agree and the
//! batch size does not matter, which is the point of the method.

use dl_autodiff::Var;
use dl_layers::{LayerError, LayerKind, Module, NormKind, Param, Result, join_name};
use dl_tensor::{Element, Tensor};

use crate::apply::Statistics;
use crate::running::{affine_from_tensors, filled};
use crate::spec::Normalizer;

/// Group norm with `groups` groups over `num_channels` channels (inputs `(N, C, ...)`).
pub struct GroupNorm<T: Element> {
    /// The number of groups `G`; it divides `num_channels`, each group holding `C / G` channels.
    pub groups: usize,
    /// The number of channels `C` (axis 1 of the input).
    pub num_channels: usize,
    /// `eps`, added to the variance before the square root (numerical stability).
    pub eps: f64,
    /// `(weight, bias)` per channel, initially ones and zeros.
    pub affine: Option<(Param<T>, Param<T>)>,
    training: bool,
}

impl<T: Element> GroupNorm<T> {
    /// PyTorch's defaults (`eps = 1e-5`, affine); the groups must divide the channels.
    pub fn new(groups: usize, num_channels: usize) -> Result<Self> {
        check_groups(groups, num_channels)?;
        let affine = Some((filled(&[num_channels], 1.0), filled(&[num_channels], 0.0)));
        Ok(GroupNorm { groups, num_channels, eps: 1e-5, affine, training: true })
    }

    /// A layer with `groups` groups and the given per-channel `weight` and `bias`
    /// (`(num_channels)` each; the channels come from the weight). `eps = 1e-5`.
    pub fn from_tensors(groups: usize, weight: Tensor<T>, bias: Tensor<T>) -> Result<Self> {
        if weight.ndim() != 1 {
            let layer = format!("GroupNorm({groups} groups)");
            return Err(LayerError::param_shape(layer, "weight", "(num_channels): 1 axis", weight.shape()));
        }
        let num_channels = weight.shape()[0];
        check_groups(groups, num_channels)?;
        let layer = format!("GroupNorm({groups} groups, {num_channels} channels)");
        let affine = Some(affine_from_tensors(&layer, weight, bias, None)?);
        Ok(GroupNorm { groups, num_channels, eps: 1e-5, affine, training: true })
    }
    /// Sets `eps` (checked, with the input, at the first forward pass).
    pub fn with_eps(mut self, eps: f64) -> Self {
        self.eps = eps;
        self
    }
    /// Without the learnable per-channel scale and shift.
    pub fn without_affine(mut self) -> Self {
        self.affine = None;
        self
    }
}

fn check_groups(groups: usize, num_channels: usize) -> Result<()> {
    if groups == 0 || num_channels == 0 || !num_channels.is_multiple_of(groups) {
        let layer = format!("GroupNorm({groups} groups, {num_channels} channels)");
        return Err(LayerError::config(
            layer,
            format!(
                "the number of groups ({groups}) must be at least 1 and divide the number of channels ({num_channels}, at least 1)"
            ),
        ));
    }
    Ok(())
}

/// `p (C)` reshaped to `(C, 1, ..., 1)`, broadcasting against `(N, C, ...)` of rank `rank`.
pub(crate) fn per_channel<T: Element>(p: &Param<T>, rank: usize) -> Result<Var<T>> {
    let mut shape = vec![1; rank.saturating_sub(1)];
    shape[0] = p.shape()[0];
    Ok(p.var().reshape(&shape)?)
}

impl<T: Element> Module<T> for GroupNorm<T> {
    fn describe(&self) -> String {
        format!("GroupNorm({} groups, {} channels)", self.groups, self.num_channels)
    }
    fn kind(&self) -> LayerKind {
        LayerKind::Norm(NormKind::Group)
    }
    fn forward(&self, x: &Var<T>) -> Result<Var<T>> {
        let s = x.shape();
        if s.len() < 2 || s[1] != self.num_channels {
            return Err(LayerError::layer(self.describe(), format!("an input (N, {}, ...)", self.num_channels), s));
        }
        let normalizer = Normalizer::group_norm(self.groups, self.eps);
        let xhat = normalizer.apply(&self.describe(), x, Statistics::Batch, None)?.output;
        Ok(match &self.affine {
            Some((w, b)) => xhat.mul(&per_channel(w, s.len())?)?.add(&per_channel(b, s.len())?)?,
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
