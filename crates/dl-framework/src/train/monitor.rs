//! Monitors: measurements the training loop takes every N steps.
//!
//! A [`Monitor`] sees a [`MonitorContext`] after the backward pass of a step and before the
//! optimiser changes anything: the network (in evaluation mode, so a monitor's own forward
//! passes draw no dropout masks and leave the run's random streams untouched), the batch,
//! its loss, every layer's output and every parameter's gradient. It returns named values,
//! which go into the [`History`](super::History) at that step.
//!
//! Built here: [`LossAccuracyMonitor`] (loss and accuracy on a fixed dataset),
//! [`GradientStatsMonitor`] (per-parameter gradient norms and their ratio to the weight
//! norm), [`ActivationStatsMonitor`] (per-layer mean, standard deviation, fraction of
//! zeros), [`SharpnessMonitor`] (top Hessian eigenvalue); beside this file,
//! [`NtkMonitor`](super::NtkMonitor) (empirical-NTK drift and kernel-target alignment on a
//! probe batch, against the kernel at initialisation).

use dl_autodiff::Var;
use dl_layers::Module;
use dl_tensor::{Element, Tensor, seeded_rng};

use super::sharpness::{LossHessian, top_hessian_eigenvalue};
use crate::data::Dataset;
use crate::error::Result;
use crate::loss::{Loss, evaluate, labels_of};
use crate::network::Network;

/// What a monitor sees at a step.
pub struct MonitorContext<'a, T: Element> {
    /// Optimiser steps completed before this one.
    pub step: u64,
    /// The epoch (from 0).
    pub epoch: usize,
    /// The network, in evaluation mode, with the parameters of this step.
    pub network: &'a Network<T>,
    /// This step's minibatch.
    pub batch: &'a Dataset<T>,
    /// The minibatch loss.
    pub loss: f64,
    /// The objective.
    pub objective: &'a Loss,
    /// The output of every layer on the batch (training mode), in order.
    pub activations: &'a [Var<T>],
    /// `(name, gradient)` of every trainable parameter, in the network's order.
    pub grads: &'a [(String, Tensor<T>)],
}

/// A measurement taken every [`Monitor::every`] steps.
pub trait Monitor<T: Element> {
    /// A short name, e.g. `"sharpness"`.
    fn name(&self) -> &str;
    /// Runs at steps 0, N, 2N, ... (counted before the step's update).
    fn every(&self) -> u64;
    /// The named values at this step.
    fn observe(&mut self, ctx: &MonitorContext<'_, T>) -> Result<Vec<(String, f64)>>;
}

fn norm<T: Element>(t: &Tensor<T>) -> f64 {
    t.to_vec().iter().map(|v| v.to_f64_exact().powi(2)).sum::<f64>().sqrt()
}

/// Loss and accuracy on a fixed dataset (say a validation subset), every `every` steps:
/// values `<prefix>_loss`, `<prefix>_accuracy`.
pub struct LossAccuracyMonitor<T: Element> {
    /// The dataset.
    pub data: Dataset<T>,
    /// Value-name prefix.
    pub prefix: String,
    /// Period in steps.
    pub every: u64,
}

impl<T: Element> Monitor<T> for LossAccuracyMonitor<T> {
    fn name(&self) -> &str {
        "loss_accuracy"
    }
    fn every(&self) -> u64 {
        self.every
    }
    fn observe(&mut self, ctx: &MonitorContext<'_, T>) -> Result<Vec<(String, f64)>> {
        let (l, a) = evaluate(ctx.network, &self.data, ctx.objective, 1024)?;
        Ok(vec![(format!("{}_loss", self.prefix), l), (format!("{}_accuracy", self.prefix), a)])
    }
}

/// Per parameter `p`: `grad_norm/p = |dL/dp|` and `grad_to_weight/p = |dL/dp| / |p|` (the
/// relative size of a plain gradient step, per unit learning rate).
pub struct GradientStatsMonitor {
    /// Period in steps.
    pub every: u64,
}

impl<T: Element> Monitor<T> for GradientStatsMonitor {
    fn name(&self) -> &str {
        "gradient_stats"
    }
    fn every(&self) -> u64 {
        self.every
    }
    fn observe(&mut self, ctx: &MonitorContext<'_, T>) -> Result<Vec<(String, f64)>> {
        let values: Vec<(String, Tensor<T>)> =
            ctx.network.parameters().into_iter().map(|p| (p.name, p.param.value())).collect();
        let mut out = Vec::new();
        for (name, g) in ctx.grads {
            let gn = norm(g);
            out.push((format!("grad_norm/{name}"), gn));
            if let Some((_, w)) = values.iter().find(|(n, _)| n == name) {
                out.push((format!("grad_to_weight/{name}"), gn / norm(w).max(f64::MIN_POSITIVE)));
            }
        }
        Ok(out)
    }
}

/// Per layer `i`, over the batch and every unit: `activation_mean/i`, `activation_std/i`
/// (population standard deviation) and `activation_zero_fraction/i` (the fraction of exact
/// zeros: dead ReLU units show here).
pub struct ActivationStatsMonitor {
    /// Period in steps.
    pub every: u64,
}

/// Mean, population standard deviation and fraction of exact zeros of `t`'s entries.
pub fn activation_statistics<T: Element>(t: &Tensor<T>) -> (f64, f64, f64) {
    let v = t.to_vec();
    let n = v.len().max(1) as f64;
    let mean = v.iter().map(|x| x.to_f64_exact()).sum::<f64>() / n;
    let var = v.iter().map(|x| (x.to_f64_exact() - mean).powi(2)).sum::<f64>() / n;
    let zeros = v.iter().filter(|x| x.to_f64_exact() == 0.0).count() as f64 / n;
    (mean, var.sqrt(), zeros)
}

impl<T: Element> Monitor<T> for ActivationStatsMonitor {
    fn name(&self) -> &str {
        "activation_stats"
    }
    fn every(&self) -> u64 {
        self.every
    }
    fn observe(&mut self, ctx: &MonitorContext<'_, T>) -> Result<Vec<(String, f64)>> {
        let mut out = Vec::new();
        for (i, h) in ctx.activations.iter().enumerate() {
            let (m, s, z) = activation_statistics(h.value());
            out.push((format!("activation_mean/{i}"), m));
            out.push((format!("activation_std/{i}"), s));
            out.push((format!("activation_zero_fraction/{i}"), z));
        }
        Ok(out)
    }
}

/// The top Hessian eigenvalue of the loss on the step's batch (or on a fixed probe set),
/// by power iteration (see [`top_hessian_eigenvalue`](super::top_hessian_eigenvalue)): values `sharpness` and
/// `sharpness_iterations`. The random start of each call is drawn from a generator seeded
/// by `seed` on stream `step`, so the run's own random streams are untouched.
pub struct SharpnessMonitor<T: Element> {
    /// Period in steps.
    pub every: u64,
    /// At most this many Hessian-vector products per call.
    pub max_iterations: usize,
    /// Relative tolerance on the eigenvalue.
    pub tol: f64,
    /// Seed of the random starts.
    pub seed: u64,
    /// A fixed dataset to measure on instead of the step's batch.
    pub probe: Option<Dataset<T>>,
}

impl<T: Element> Monitor<T> for SharpnessMonitor<T> {
    fn name(&self) -> &str {
        "sharpness"
    }
    fn every(&self) -> u64 {
        self.every
    }
    fn observe(&mut self, ctx: &MonitorContext<'_, T>) -> Result<Vec<(String, f64)>> {
        let data = self.probe.as_ref().unwrap_or(ctx.batch);
        let labels = labels_of(data, "the sharpness monitor")?;
        let h = LossHessian::new(ctx.network, data.features(), &labels, ctx.objective)?;
        let mut rng = seeded_rng(self.seed);
        rng.set_stream(ctx.step);
        let p = top_hessian_eigenvalue(&h, self.max_iterations, self.tol, &mut rng)?;
        Ok(vec![("sharpness".into(), p.eigenvalue), ("sharpness_iterations".into(), p.iterations as f64)])
    }
}
