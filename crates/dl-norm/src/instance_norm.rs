//! Instance normalisation (Ulyanov, Vedaldi and Lempitsky, 2016): per sample and per
//! channel, over the spatial axes of `(N, C, H, W)`.
//!
//! ```text
//! y = gamma_c (x - mu_{n,c}) / sqrt(var_{n,c} + eps) + beta_c
//! ```
//!
//! PyTorch's defaults are kept: no affine map and no running statistics. With
//! `track_running_stats`, training updates per-channel running statistics with the
//! batch-averaged instance statistics (PyTorch's rule: the mean over `n` of each instance's
//! mean and unbiased variance), and evaluation normalises every instance with them. A
//! training input with one spatial element has no variance: that is an error, as in PyTorch.

use dl_autodiff::Var;
use dl_layers::{LayerError, LayerKind, Module, NormKind, Param, Result, join_name};
use dl_tensor::{Element, Tensor, cst};

use crate::apply::Statistics;
use crate::group_norm::per_channel;
use crate::running::{RunningStats, affine_from_tensors, check_channels, filled};
use crate::spec::Normalizer;

/// The options of [`InstanceNorm2d::new`] (PyTorch's defaults: `eps = 1e-5`, momentum 0.1,
/// no affine map, no running statistics).
///
/// ```
/// use dl_norm::{InstanceNorm2d, InstanceNormOptions};
/// let norm = InstanceNorm2d::<f32>::new(8, InstanceNormOptions::default().affine(true).track_running_stats(true))?;
/// assert!(norm.affine.is_some() && norm.running.is_some());
/// # Ok::<(), dl_layers::LayerError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct InstanceNormOptions {
    /// A learnable per-channel scale and shift.
    pub affine: bool,
    /// Track per-channel running statistics (used in evaluation mode).
    pub track_running_stats: bool,
    /// The weight of a new batch in the running statistics (`None`: cumulative average).
    pub momentum: Option<f64>,
    /// Added to the variance.
    pub eps: f64,
}

impl Default for InstanceNormOptions {
    fn default() -> Self {
        InstanceNormOptions { affine: false, track_running_stats: false, momentum: Some(0.1), eps: 1e-5 }
    }
}

impl InstanceNormOptions {
    /// With or without the affine map.
    pub fn affine(mut self, on: bool) -> Self {
        self.affine = on;
        self
    }
    /// With or without running statistics.
    pub fn track_running_stats(mut self, on: bool) -> Self {
        self.track_running_stats = on;
        self
    }
    /// The momentum of the running statistics.
    pub fn momentum(mut self, momentum: Option<f64>) -> Self {
        self.momentum = momentum;
        self
    }
    /// The `eps` added to the variance.
    pub fn eps(mut self, eps: f64) -> Self {
        self.eps = eps;
        self
    }
}

/// Instance norm over `(N, C, H, W)` inputs.
pub struct InstanceNorm2d<T: Element> {
    /// The number of channels `C` (axis 1 of the `(N, C, H, W)` input).
    pub num_features: usize,
    /// `eps`, added to the variance before the square root (numerical stability).
    pub eps: f64,
    /// `(weight, bias)` per channel, when built with `affine`.
    pub affine: Option<(Param<T>, Param<T>)>,
    /// Per-channel running statistics, when built with `track_running_stats`.
    pub running: Option<RunningStats<T>>,
    training: bool,
}

impl<T: Element> InstanceNorm2d<T> {
    /// A layer over `num_features` channels with `options` (zero channels, or a momentum
    /// outside [0, 1], is an error).
    pub fn new(num_features: usize, options: InstanceNormOptions) -> Result<Self> {
        let name = format!("InstanceNorm2d({num_features})");
        check_channels(&name, "num_features", num_features)?;
        let affine = options.affine.then(|| (filled(&[num_features], 1.0), filled(&[num_features], 0.0)));
        let running = if options.track_running_stats {
            Some(RunningStats::new(&name, num_features, options.momentum)?)
        } else {
            None
        };
        Ok(InstanceNorm2d { num_features, eps: options.eps, affine, running, training: true })
    }

    /// A layer with the given affine `(weight, bias)` and running statistics `(mean, var)`,
    /// each `(num_features)` (`None`: without); `num_features` comes from the first given
    /// tensor. `eps = 1e-5`, momentum 0.1 ([`Self::with_eps`], [`Self::with_momentum`]).
    pub fn from_tensors(
        affine: Option<(Tensor<T>, Tensor<T>)>,
        running: Option<(Tensor<T>, Tensor<T>)>,
    ) -> Result<Self> {
        let first = affine.as_ref().map(|a| &a.0).or(running.as_ref().map(|r| &r.0));
        let Some(first) = first else {
            return Err(LayerError::config(
                "InstanceNorm2d",
                "from_tensors needs the affine (weight, bias) or the running statistics (mean, var) to know the number of features",
            ));
        };
        if first.ndim() != 1 {
            let param = if affine.is_some() { "weight" } else { "running_mean" };
            return Err(LayerError::param_shape("InstanceNorm2d", param, "(num_features): 1 axis", first.shape()));
        }
        let num_features = first.shape()[0];
        let name = format!("InstanceNorm2d({num_features})");
        check_channels(&name, "num_features", num_features)?;
        let affine = affine.map(|(w, b)| affine_from_tensors(&name, w, b, Some(&[num_features]))).transpose()?;
        let running = running
            .map(|(m, v)| {
                if m.shape() != [num_features] {
                    return Err(LayerError::param_shape(&name, "running_mean", format!("[{num_features}]"), m.shape()));
                }
                RunningStats::from_tensors(&name, m, v, Some(0.1))
            })
            .transpose()?;
        Ok(InstanceNorm2d { num_features, eps: 1e-5, affine, running, training: true })
    }

    /// Sets `eps` (checked, with the input, at the first forward pass).
    pub fn with_eps(mut self, eps: f64) -> Self {
        self.eps = eps;
        self
    }

    /// Sets the momentum of the running statistics, keeping the statistics; an error
    /// without running statistics.
    pub fn with_momentum(mut self, momentum: Option<f64>) -> Result<Self> {
        let name = format!("InstanceNorm2d({})", self.num_features);
        match &mut self.running {
            Some(r) => r.set_momentum(&name, momentum)?,
            None => {
                return Err(LayerError::config(
                    name,
                    "the layer does not track running statistics, so it has no momentum",
                ));
            }
        }
        Ok(self)
    }
}

impl<T: Element> Module<T> for InstanceNorm2d<T> {
    fn describe(&self) -> String {
        format!("InstanceNorm2d({})", self.num_features)
    }
    fn kind(&self) -> LayerKind {
        LayerKind::Norm(NormKind::Instance)
    }
    fn forward(&self, x: &Var<T>) -> Result<Var<T>> {
        let s = x.shape();
        let c = self.num_features;
        if s.len() != 4 || s[1] != c {
            return Err(LayerError::layer(self.describe(), format!("an input (N, {c}, H, W)"), s));
        }
        let n = s[0];
        let normalizer = Normalizer::instance_norm(self.eps);
        let use_batch = self.training || self.running.is_none();
        let xhat = if use_batch {
            if s[2] * s[3] == 1 && self.training {
                return Err(LayerError::layer(
                    self.describe(),
                    "more than 1 spatial element per channel when training",
                    s,
                ));
            }
            let out = normalizer.apply(&self.describe(), x, Statistics::Batch, None)?;
            if self.training
                && let (Some(running), Some(batch)) = (&self.running, &out.batch)
            {
                // Average the (n, c) statistics over n; `update` makes each variance unbiased.
                let inv_n: T = cst(1.0 / n as f64);
                let mut mean = vec![T::zero(); c];
                let mut var = vec![T::zero(); c];
                for (k, (&mu, &v)) in batch.mean.iter().zip(&batch.var).enumerate() {
                    mean[k % c] += mu * inv_n;
                    var[k % c] += v * inv_n;
                }
                running.update(&self.describe(), &mean, &var, out.plan.view.count())?;
            }
            out.output
        } else {
            let (mean, var) = self.running.as_ref().expect("running statistics in evaluation mode").values();
            // statistic index n C + c uses channel c's running values
            let (mean, var) = (mean.repeat(n), var.repeat(n));
            normalizer.apply(&self.describe(), x, Statistics::Given { mean: &mean, var: &var }, None)?.output
        };
        Ok(match &self.affine {
            Some((w, b)) => xhat.mul(&per_channel(w, 4)?)?.add(&per_channel(b, 4)?)?,
            None => xhat,
        })
    }
    fn visit_parameters(&self, prefix: &str, f: &mut dyn FnMut(&str, &Param<T>)) {
        if let Some((w, b)) = &self.affine {
            f(&join_name(prefix, "weight"), w);
            f(&join_name(prefix, "bias"), b);
        }
    }
    fn visit_buffers(&self, prefix: &str, f: &mut dyn FnMut(&str, &Param<T>)) {
        if let Some(r) = &self.running {
            r.visit(prefix, f);
        }
    }
    fn set_training(&mut self, training: bool) {
        self.training = training;
    }
    fn is_training(&self) -> bool {
        self.training
    }
}
