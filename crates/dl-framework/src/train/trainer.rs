//! [`Trainer`]: the loop itself.
//!
//! One step on a minibatch `(X, y)` at step `t` (counted from 0):
//!
//! ```text
//! lr_t   = schedule(lr_0, t)
//! L      = loss(f(X; theta), y)                     forward, every layer's output kept
//! g      = dL/dtheta                                backward
//!          stop if any layer's output, L or any g is not finite   (DivergenceReport;
//!          layers and g every `finite_check_every` steps, L always)
//!          monitors due at t observe (theta, X, y, L, g, activations)
//! g      = g ⊙ m                                    under pruning masks m
//! g      = g min(1, c / (|g| + 1e-6))                if clip_grad_norm = c
//! theta  = optimiser(theta, g, lr_t lambda_p)       lambda_p the parameter's learning-rate factor
//! theta  = theta ⊙ m                                under pruning masks m
//! ```
//!
//! **Masks** ([`Trainer::set_masks`], lottery tickets): the gradient of a pruned weight is
//! zeroed before the optimiser sees it (so its norm, clipping and monitors see the masked
//! gradient), and the weight is set back to exactly zero after every step, so neither
//! momentum nor Adam's moment estimates nor weight decay can revive it. The masks are part
//! of the checkpoint. **Learning-rate factors** come from the network's parameterisation
//! ([`Network::lr_factor`]: 1 except under `mup` / `abc`): the SGD factor under SGD, the
//! Adam factor under Adam and RMSprop. **A lazy model** (`lazy_scale` alpha) is trained on
//! `L / alpha^2`; the loss recorded is `L` itself, the loss of the scaled output.
//!
//! An epoch visits the training set once in the order of a permutation drawn from the
//! shuffling generator; validation and early stopping run after each epoch. The state that
//! determines the rest of the run (parameters, optimiser buffers, the shuffling generator
//! at the start of the epoch and the position in it, the dropout generators, early
//! stopping) is what a checkpoint holds, which is why resuming reproduces the
//! uninterrupted run bit for bit.

use std::collections::BTreeMap;
use std::path::PathBuf;

use dl_autodiff::Var;
use dl_layers::{Module, commit_step, parameters_for_step};
use dl_tensor::{Element, MemoryLimit, Tensor, TensorRng, cst, seeded_rng};
use dl_theory::lottery::MaskSet;

use super::divergence::first_non_finite_activation;
use super::monitor::{Monitor, MonitorContext};
use super::progress::Progress;
use super::{OptimizerConfig, TrainConfig, hyperparameter_error};
use crate::checkpoint::{EarlyStoppingState, RngState};
use crate::data::Dataset;
use crate::divergence::{DivergenceReport, DivergenceSite, non_finite_kind};
use crate::error::{FrameworkError, Result};
use crate::history::History;
use crate::loss::{accuracy, evaluate};
use crate::network::Network;
use crate::optim::{self, Adam, Optimizer, RmsProp, Sgd, clip_grad_norm};

mod restore;

/// What one step measured.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StepMetrics {
    /// The minibatch loss before the update.
    pub loss: f64,
    /// The minibatch accuracy before the update.
    pub accuracy: f64,
    /// The learning rate used.
    pub lr: f64,
    /// The joint gradient norm before clipping (NaN on steps that neither log nor clip).
    pub grad_norm: f64,
}

/// How a call to [`Trainer::fit`] ended.
#[derive(Clone, Debug, PartialEq)]
pub struct FitOutcome {
    /// Optimiser steps taken in total.
    pub steps: u64,
    /// Epochs completed in total.
    pub epochs: usize,
    /// Whether early stopping ended the run.
    pub stopped_early: bool,
    /// The epoch of the best validation loss, if validation ran.
    pub best_epoch: Option<usize>,
    /// Whether the run is complete (false when `max_steps` interrupted it).
    pub finished: bool,
}

/// A network, an optimiser and the state of a training run.
pub struct Trainer<T: Element> {
    network: Network<T>,
    optimizer: Box<dyn Optimizer<T>>,
    config: TrainConfig,
    base_lr: f64,
    shuffle_rng: TensorRng,
    epoch_start_rng: RngState,
    step: u64,
    epoch: usize,
    batch_in_epoch: usize,
    early: EarlyStoppingState,
    best_params: Option<BTreeMap<String, Tensor<T>>>,
    finished: bool,
    stopped_early: bool,
    history: History,
    monitors: Vec<Box<dyn Monitor<T>>>,
    last_checkpoint: Option<PathBuf>,
    masks: Option<MaskSet>,
    /// Whether the optimiser is adaptive (Adam, RMSprop): which learning-rate factor applies.
    adaptive: bool,
}

fn optim_config_error(e: optim::OptimError) -> FrameworkError {
    hyperparameter_error("optimizer", e)
}

/// Refuses a training run whose parameters, gradients, optimiser state and one batch's
/// activations (`batch` examples) would exceed the configured memory limit, naming the
/// layer with the largest activations (before any batch is allocated).
fn check_training_memory<T: Element>(network: &Network<T>, config: &TrainConfig, batch: usize) -> Result<()> {
    let footprints = network.footprints();
    if footprints.is_empty() {
        return Ok(());
    }
    let size = std::mem::size_of::<T>() as u64;
    let batch = batch as u64;
    let sum = |f: &dyn Fn(&crate::config::LayerFootprint) -> u64| {
        footprints.iter().try_fold(0u64, |a, (_, fp)| a.checked_add(f(fp)))
    };
    let input = dl_tensor::shape::checked_numel(network.input_shape()).map(|n| n as u64);
    let per_parameter = 2 + config.optimizer.buffers_per_parameter(); // value, gradient, optimiser buffers
    let workspace = footprints.iter().map(|(_, f)| f.workspace).max().unwrap_or(0);
    let elements = (|| {
        let state = sum(&|f| f.state)?.checked_mul(per_parameter)?;
        let per_example = sum(&|f| f.activations)?.checked_add(input?)?.checked_add(workspace)?;
        state.checked_add(per_example.checked_mul(batch)?)
    })();
    let (largest, fp) = footprints.iter().max_by_key(|(_, f)| f.activations).expect("not empty");
    let largest_bytes = fp.activations.saturating_mul(batch).saturating_mul(size);
    let what = format!(
        "training with batches of {batch} examples (parameters, gradients and optimiser state, and one batch's activations, the largest those of {largest}: {largest_bytes} bytes)"
    );
    MemoryLimit::from_option(config.memory_limit_bytes)
        .check(what, elements.and_then(|e| e.checked_mul(size)))
        .map_err(|e| FrameworkError::config("batch_size", e.to_string()))
}

impl<T: Element> Trainer<T> {
    /// A trainer for `network` under `config` (validated; errors name the field).
    pub fn new(network: Network<T>, config: TrainConfig) -> Result<Self> {
        config.validate()?;
        let (optimizer, base_lr): (Box<dyn Optimizer<T>>, f64) = match config.optimizer {
            OptimizerConfig::Sgd(c) => (Box::new(Sgd::new(c).map_err(optim_config_error)?), c.lr),
            OptimizerConfig::Adam(c) => (Box::new(Adam::new(c).map_err(optim_config_error)?), c.lr),
            OptimizerConfig::RmsProp(c) => (Box::new(RmsProp::new(c).map_err(optim_config_error)?), c.lr),
        };
        let shuffle_rng = seeded_rng(config.seed);
        let epoch_start_rng = RngState::of(&shuffle_rng);
        let adaptive = !matches!(config.optimizer, OptimizerConfig::Sgd(_));
        Ok(Trainer {
            network,
            optimizer,
            config,
            base_lr,
            shuffle_rng,
            epoch_start_rng,
            step: 0,
            epoch: 0,
            batch_in_epoch: 0,
            early: EarlyStoppingState::default(),
            best_params: None,
            finished: false,
            stopped_early: false,
            history: History::default(),
            monitors: Vec::new(),
            last_checkpoint: None,
            masks: None,
            adaptive,
        })
    }

    /// Trains under pruning masks from now on: the masked parameters' pruned entries are
    /// set to exactly zero now, their gradients are zeroed before every step and the
    /// entries are zeroed again after it. Every mask must name a trainable parameter of the
    /// network and have its shape (the error names the parameter and both shapes); nothing
    /// changes otherwise. Replaces any earlier masks.
    pub fn set_masks(&mut self, masks: MaskSet) -> Result<()> {
        let params = self.network.parameters();
        let shapes: Vec<(String, Vec<usize>)> =
            params.iter().filter(|p| p.param.requires_grad()).map(|p| (p.name.clone(), p.param.shape())).collect();
        masks.check_shapes("Trainer::set_masks", shapes.iter().map(|(n, s)| (n.as_str(), s.as_slice())))?;
        for p in &params {
            if let Some(mask) = masks.get(&p.name) {
                let mut v = p.param.value();
                mask.apply_in_place("Trainer::set_masks", &p.name, &mut v)?;
                p.param.set(v)?;
            }
        }
        self.masks = Some(masks);
        Ok(())
    }

    /// Sets `max_steps` (see [`TrainConfig::max_steps`]): the next [`Trainer::fit`] stops
    /// once this many optimiser steps have been taken in total, or runs to the end with
    /// `None`. Training in chunks this way (evaluate, continue) takes the same steps as one
    /// uninterrupted run.
    pub fn set_max_steps(&mut self, max_steps: Option<u64>) {
        self.config.max_steps = max_steps;
    }

    /// The pruning masks training runs under, if any.
    pub fn masks(&self) -> Option<&MaskSet> {
        self.masks.as_ref()
    }

    /// Trains without masks from now on (the pruned weights stay zero until updated).
    pub fn clear_masks(&mut self) {
        self.masks = None;
    }

    /// Adds a monitor (builder style).
    pub fn with_monitor(mut self, monitor: impl Monitor<T> + 'static) -> Self {
        self.monitors.push(Box::new(monitor));
        self
    }

    /// The network.
    pub fn network(&self) -> &Network<T> {
        &self.network
    }

    /// The network, mutably (to switch modes, say).
    pub fn network_mut(&mut self) -> &mut Network<T> {
        &mut self.network
    }

    /// Everything recorded so far.
    pub fn history(&self) -> &History {
        &self.history
    }

    /// The configuration.
    pub fn config(&self) -> &TrainConfig {
        &self.config
    }

    /// Optimiser steps taken.
    pub fn step_count(&self) -> u64 {
        self.step
    }

    /// Epochs completed.
    pub fn epochs_completed(&self) -> usize {
        self.epoch
    }

    /// The checkpoint file inside `output_dir`.
    pub fn checkpoint_path(&self) -> Option<PathBuf> {
        self.config.output_dir.as_ref().map(|d| d.join("checkpoint.ckpt"))
    }

    /// Checks that `data` fits the network: features `(N, ...input_shape)`, class labels,
    /// and as many classes as the network has outputs.
    pub fn check_data(&self, data: &Dataset<T>, what: &str) -> Result<()> {
        self.network.check_input(data.features().shape()).map_err(|e| match e {
            // one prefix: "data does not fit the network: training set: the network takes ..."
            FrameworkError::DataMismatch(m) => FrameworkError::DataMismatch(format!("{what}: {m}")),
            other => other,
        })?;
        let Some(classes) = data.num_classes() else {
            return Err(FrameworkError::DataMismatch(format!(
                "{what}: the classification loss needs class labels, got regression targets"
            )));
        };
        let outputs: usize = self.network.output_shape().iter().product();
        if self.network.output_shape().len() != 1 || classes > outputs {
            return Err(FrameworkError::DataMismatch(format!(
                "{what}: {classes} classes, but the network's output has per-example shape {:?}",
                self.network.output_shape()
            )));
        }
        Ok(())
    }

    fn diverged(&self, site: DivergenceSite, kind: &'static str, loss: f64) -> FrameworkError {
        let report = DivergenceReport {
            step: self.step,
            epoch: self.epoch,
            site,
            kind,
            loss,
            last_checkpoint: self.last_checkpoint.clone(),
        };
        FrameworkError::Diverged(Box::new(report))
    }

    /// One optimiser step on `batch`.
    pub fn train_step(&mut self, batch: &Dataset<T>) -> Result<StepMetrics> {
        self.check_data(batch, "minibatch")?;
        if self.step == u64::MAX {
            return Err(FrameworkError::config(
                "max_steps",
                "the step counter is at u64::MAX: no further step can be counted",
            ));
        }
        let labels = batch.labels().expect("checked by check_data");
        let lr = self.config.schedule.lr_at(self.base_lr, self.step);
        self.optimizer.set_lr(lr);
        let x = Var::constant(batch.features().clone());
        let outputs = self.network.forward_traced(&x)?;
        let logits = outputs.last().expect("a network has at least one layer").clone();
        let loss = self.config.loss.apply(&logits, labels)?;
        let loss_value = loss.value().item()?.to_f64_exact();
        // Every layer's output is checked, not only the loss: a ReLU maps NaN to 0, so a
        // NaN can vanish before the loss sees it.
        let full_check = self.step.is_multiple_of(self.config.finite_check_every);
        if let Some((site, kind)) = full_check.then(|| first_non_finite_activation(&self.network, &outputs)).flatten() {
            return Err(self.diverged(site, kind, loss_value));
        }
        if !loss_value.is_finite() {
            let kind = if loss_value.is_nan() { "NaN" } else { "infinity" };
            return Err(self.diverged(DivergenceSite::Loss, kind, loss_value));
        }
        let acc = accuracy(logits.value(), labels);
        // the lazy model's objective is L / alpha^2 (Chizat et al. 2019); L is what is recorded
        let objective = match self.network.lazy_scale() {
            Some(alpha) => loss.mul_scalar(cst(1.0 / (alpha * alpha)))?,
            None => loss.clone(),
        };
        let grads = objective.backward()?;
        drop(objective);
        let mut named_grads: Vec<(String, Tensor<T>)> = self
            .network
            .parameters()
            .into_iter()
            .filter(|p| p.param.requires_grad())
            .map(|p| {
                // Standard layout once here (a linear layer's weight gradient arrives as a
                // transposed view), so the checks and the optimiser read plain slices.
                let g = p.param.grad(&grads).map(Tensor::contiguous).unwrap_or_else(|| Tensor::zeros(&p.param.shape()));
                (p.name, g)
            })
            .collect();
        if let Some(masks) = &self.masks {
            for (name, g) in named_grads.iter_mut() {
                if let Some(mask) = masks.get(name) {
                    mask.apply_in_place("Trainer::train_step", name, g)?;
                }
            }
        }
        if let Some((name, kind)) =
            named_grads.iter().filter(|_| full_check).find_map(|(n, g)| non_finite_kind(g).map(|k| (n, k)))
        {
            return Err(self.diverged(DivergenceSite::Gradient { param: name.clone() }, kind, loss_value));
        }
        let mut observed = Vec::new();
        if self.monitors.iter().any(|m| self.step.is_multiple_of(m.every().max(1))) {
            self.network.eval();
            let ctx = MonitorContext {
                step: self.step,
                epoch: self.epoch,
                network: &self.network,
                batch,
                loss: loss_value,
                objective: &self.config.loss,
                activations: &outputs,
                grads: &named_grads,
            };
            let mut result = Ok(());
            for m in self.monitors.iter_mut().filter(|m| self.step.is_multiple_of(m.every().max(1))) {
                match m.observe(&ctx) {
                    Ok(v) => observed.extend(v),
                    Err(e) => {
                        result = Err(e);
                        break;
                    }
                }
            }
            self.network.train();
            result?;
        }
        drop((outputs, logits, loss));
        let log_now = self.step.is_multiple_of(self.config.log_every);
        let mut step_params = parameters_for_step(&self.network, &grads);
        drop(grads);
        for (p, (_, g)) in step_params.iter_mut().zip(named_grads) {
            p.grad = g; // the same parameters in the same order, gradients in standard layout
        }
        let grad_norm = match self.config.clip_grad_norm {
            Some(max) => clip_grad_norm(&mut step_params.iter_mut().map(|p| &mut p.grad).collect::<Vec<_>>(), max),
            None if log_now => step_params
                .iter()
                .map(|p| p.grad.to_vec().iter().map(|v| v.to_f64_exact().powi(2)).sum::<f64>())
                .sum::<f64>()
                .sqrt(),
            None => f64::NAN,
        };
        let stepped = {
            let (network, adaptive) = (&self.network, self.adaptive);
            let mut ps: Vec<optim::Param<'_, T>> = step_params
                .iter_mut()
                .map(|p| {
                    let lr_scale = network.lr_factor(&p.name, adaptive);
                    optim::Param::new(&p.name, &mut p.value, &p.grad).with_lr_scale(lr_scale)
                })
                .collect();
            self.optimizer.step(&mut ps)
        };
        if let Some(masks) = &self.masks {
            for p in step_params.iter_mut() {
                if let Some(mask) = masks.get(&p.name) {
                    mask.apply_in_place("Trainer::train_step", &p.name, &mut p.value)?;
                }
            }
        }
        commit_step(step_params)?; // always put the values back, even if the optimiser refused
        stepped?;
        self.step += 1;
        if log_now {
            let values = [("train_loss", loss_value), ("train_accuracy", acc), ("lr", lr), ("grad_norm", grad_norm)];
            self.history.log(self.step, self.epoch, values.into_iter().map(|(k, v)| (k.to_string(), v)));
        }
        if !observed.is_empty() {
            self.history.log(self.step, self.epoch, observed);
        }
        Ok(StepMetrics { loss: loss_value, accuracy: acc, lr, grad_norm })
    }

    /// Mean loss and accuracy on `data` in evaluation mode (dropout off), without a graph.
    pub fn evaluate(&mut self, data: &Dataset<T>) -> Result<(f64, f64)> {
        self.check_data(data, "evaluation set")?;
        self.network.eval();
        let r = evaluate(&self.network, data, &self.config.loss, 1024);
        self.network.train();
        r
    }

    /// Trains until every epoch is done, early stopping ends the run, or `max_steps` is
    /// reached. With `output_dir` set, writes checkpoints on the way and the history at the
    /// end (also when training fails: what was recorded is kept).
    pub fn fit(&mut self, train: &Dataset<T>, valid: Option<&Dataset<T>>) -> Result<FitOutcome> {
        self.check_data(train, "training set")?;
        if let Some(v) = valid {
            self.check_data(v, "validation set")?;
        }
        if self.config.early_stopping.is_some() && valid.is_none() {
            return Err(FrameworkError::config("early_stopping", "needs a validation set"));
        }
        let bs = self.config.batch_size;
        let per_epoch = if self.config.drop_last { train.len() / bs } else { train.len().div_ceil(bs) };
        if per_epoch == 0 {
            return Err(FrameworkError::DataMismatch(format!(
                "a training set of {} examples gives no batch of {bs} (drop_last)",
                train.len()
            )));
        }
        check_training_memory(&self.network, &self.config, bs.min(train.len()))?;
        let total = (self.config.epochs as u64).saturating_mul(per_epoch as u64);
        let progress = Progress::new(self.config.progress, total, self.step.min(total));
        self.network.train();
        let result = self.run(train, valid, &progress);
        progress.finish();
        if let Some(dir) = self.config.output_dir.clone() {
            let written = self.history.write(&dir);
            if result.is_ok() {
                written?;
            }
        }
        result
    }

    fn run(&mut self, train: &Dataset<T>, valid: Option<&Dataset<T>>, progress: &Progress) -> Result<FitOutcome> {
        while self.epoch < self.config.epochs && !self.finished {
            if self.batch_in_epoch == 0 {
                self.epoch_start_rng = RngState::of(&self.shuffle_rng);
            }
            let mut rng = self.epoch_start_rng.restore();
            let mut batches = train.batches(self.config.batch_size, Some(&mut rng))?;
            if self.config.drop_last {
                batches = batches.drop_last();
            }
            self.shuffle_rng = rng;
            for batch in batches.skip(self.batch_in_epoch) {
                if self.config.max_steps.is_some_and(|m| self.step >= m) {
                    if self.batch_in_epoch == 0 {
                        // the epoch has not started: leave its permutation undrawn
                        self.shuffle_rng = self.epoch_start_rng.restore();
                    }
                    self.checkpoint_if_configured()?;
                    return Ok(self.outcome());
                }
                let m = self.train_step(&batch)?;
                self.batch_in_epoch += 1;
                progress.step(m.loss);
                if self.config.checkpoint_every.is_some_and(|every| self.step.is_multiple_of(every)) {
                    self.checkpoint_if_configured()?;
                }
            }
            self.batch_in_epoch = 0;
            self.epoch += 1;
            let mut line = format!("epoch {}/{}: step {}", self.epoch, self.config.epochs, self.step);
            if let Some(l) = self.history.last("train_loss") {
                line.push_str(&format!(", train loss {l:.4}"));
            }
            if let Some(v) = valid {
                let (l, a) = self.evaluate(v)?;
                self.history.log(
                    self.step,
                    self.epoch - 1,
                    [("val_loss".to_string(), l), ("val_accuracy".to_string(), a)],
                );
                line.push_str(&format!(", val loss {l:.4}, val accuracy {a:.4}"));
                self.early_stopping_update(l);
            }
            progress.epoch(&line);
            if self.epoch == self.config.epochs {
                self.finished = true;
            }
            if self.finished {
                self.finish()?;
            }
            self.checkpoint_if_configured()?;
        }
        Ok(self.outcome())
    }

    fn early_stopping_update(&mut self, val_loss: f64) {
        let Some(es) = &self.config.early_stopping else { return };
        let best = f64::from_bits(self.early.best_loss_bits);
        if val_loss < best - es.min_delta {
            self.early = EarlyStoppingState {
                best_loss_bits: val_loss.to_bits(),
                best_epoch: Some(self.epoch - 1),
                bad_epochs: 0,
            };
            if es.restore_best {
                self.best_params = Some(self.network.state_dict());
            }
        } else {
            self.early.bad_epochs += 1;
            if self.early.bad_epochs >= es.patience {
                self.finished = true;
                self.stopped_early = true;
            }
        }
    }

    fn finish(&mut self) -> Result<()> {
        let restore = self.config.early_stopping.as_ref().is_some_and(|e| e.restore_best);
        if restore && let Some(best) = self.best_params.take() {
            self.network.load_state_dict(&best)?;
        }
        Ok(())
    }

    fn outcome(&self) -> FitOutcome {
        FitOutcome {
            steps: self.step,
            epochs: self.epoch,
            stopped_early: self.stopped_early,
            best_epoch: self.early.best_epoch,
            finished: self.finished,
        }
    }
}
