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
use dl_tensor::{Element, cst};

use crate::apply::Statistics;
use crate::group_norm::per_channel;
use crate::running::{RunningStats, filled};
use crate::spec::Normalizer;

/// Instance norm over `(N, C, H, W)` inputs.
pub struct InstanceNorm2d<T: Element> {
    pub num_features: usize,
    pub eps: f64,
    /// `(weight, bias)` per channel, when built with `affine`.
    pub affine: Option<(Param<T>, Param<T>)>,
    /// Per-channel running statistics, when built with `track_running_stats`.
    pub running: Option<RunningStats<T>>,
    training: bool,
}

impl<T: Element> InstanceNorm2d<T> {
    /// `eps = 1e-5`, momentum 0.1 (PyTorch's defaults).
    pub fn new(num_features: usize, affine: bool, track_running_stats: bool) -> Self {
        let affine = affine.then(|| (filled(&[num_features], 1.0), filled(&[num_features], 0.0)));
        let running = track_running_stats.then(|| RunningStats::new("InstanceNorm2d", num_features, Some(0.1)).expect("0.1 is a valid momentum"));
        InstanceNorm2d { num_features, eps: 1e-5, affine, running, training: true }
    }
    pub fn with_eps(mut self, eps: f64) -> Self {
        self.eps = eps;
        self
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
                return Err(LayerError::layer(self.describe(), "more than 1 spatial element per channel when training", s));
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
