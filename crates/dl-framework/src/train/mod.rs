//! The training loop: epochs of seeded, shuffled minibatches; an optimiser with a
//! learning-rate schedule and gradient clipping; loss and accuracy; validation; early
//! stopping; monitors every N steps; divergence detection; checkpoints that resume bit
//! for bit; a history exported to JSON and CSV. The equations and the guarantees are in
//! `docs/training.md`.
//!
//! | file | holds |
//! | --- | --- |
//! | `trainer` | [`Trainer`]: `fit`, `train_step`, `evaluate`, `save_checkpoint`, `resume` |
//! | [`TrainConfig`] (here) | the serde configuration of a run, validated field by field |
//! | [`crate::loss`] (re-exported) | [`Loss`], [`accuracy`] and [`evaluate`] |
//! | `monitor` | the [`Monitor`] trait and the loss/accuracy, gradient, activation and sharpness monitors |
//! | `ntk_monitor` | [`NtkMonitor`]: empirical-NTK drift and kernel-target alignment on a probe batch |
//! | `sharpness` | [`LossHessian`] (exact Hessian-vector products of the loss) and [`top_hessian_eigenvalue`] (power iteration) |
//! | `divergence` | [`first_non_finite_activation`]; the report types ([`DivergenceReport`]: the step and the first layer or parameter where a NaN or infinity appeared) are in [`crate::divergence`], re-exported |
//! | [`crate::history`] (re-exported) | [`History`]: records, JSON and CSV |
//! | `progress` | an indicatif bar on a terminal, plain lines otherwise |
//! | `resume` | [`ResumePolicy`] and [`config_changes`]: the fields in which a resumed run's configuration differs from its checkpoint's |

mod divergence;
mod monitor;
mod ntk_monitor;
mod progress;
mod resume;
mod sharpness;
mod trainer;

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

pub use crate::divergence::{DivergenceReport, DivergenceSite, non_finite_kind};
pub use crate::history::{History, Record};
pub use crate::loss::{Loss, accuracy, evaluate};
pub use divergence::first_non_finite_activation;
pub use monitor::{
    ActivationStatsMonitor, GradientStatsMonitor, LossAccuracyMonitor, Monitor, MonitorContext, SharpnessMonitor,
    activation_statistics,
};
pub use ntk_monitor::{NtkMonitor, target_matrix};
pub use resume::{ConfigChange, ResumePolicy, config_changes};
pub use sharpness::{LossHessian, PowerIteration, top_hessian_eigenvalue};
pub use trainer::{FitOutcome, StepMetrics, Trainer};

use crate::error::{FrameworkError, Result};
use crate::optim::{AdamConfig, LrSchedule, RmsPropConfig, SgdConfig};

/// Which optimiser, with its hyperparameters: `{"kind": "sgd", "lr": 0.1, "momentum": 0.9}`,
/// `{"kind": "adam", "lr": 1e-3}`, `{"kind": "rmsprop", ...}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum OptimizerConfig {
    /// [`crate::optim::Sgd`].
    Sgd(SgdConfig),
    /// [`crate::optim::Adam`] (AdamW with `decoupled_weight_decay`).
    Adam(AdamConfig),
    /// [`crate::optim::RmsProp`].
    #[serde(rename = "rmsprop")]
    RmsProp(RmsPropConfig),
}

/// Early stopping on the validation loss.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EarlyStoppingConfig {
    /// Stop after this many epochs without an improvement of at least `min_delta`.
    pub patience: usize,
    /// The smallest decrease of the validation loss that counts as an improvement.
    #[serde(default)]
    pub min_delta: f64,
    /// Put back the parameters of the best epoch at the end.
    #[serde(default = "yes")]
    pub restore_best: bool,
}

fn yes() -> bool {
    true
}
fn one() -> u64 {
    1
}
fn constant() -> LrSchedule {
    LrSchedule::Constant
}

/// A training run's configuration.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainConfig {
    /// Passes over the training set.
    pub epochs: usize,
    /// Examples per minibatch.
    pub batch_size: usize,
    /// Seed of the shuffling generator.
    #[serde(default)]
    pub seed: u64,
    /// The optimiser.
    pub optimizer: OptimizerConfig,
    /// The learning rate at step t is `schedule.lr_at(optimizer lr, t)`.
    #[serde(default = "constant")]
    pub schedule: LrSchedule,
    /// Clip the joint gradient norm to this value before each step.
    #[serde(default)]
    pub clip_grad_norm: Option<f64>,
    /// The objective.
    #[serde(default)]
    pub loss: Loss,
    /// Early stopping on the validation loss (needs a validation set).
    #[serde(default)]
    pub early_stopping: Option<EarlyStoppingConfig>,
    /// Record the step's loss, accuracy, learning rate and gradient norm every this many steps.
    #[serde(default = "one")]
    pub log_every: u64,
    /// Check every layer's output and every gradient for NaN and infinity every this many
    /// steps (default 1: every step). The loss is checked at every step whatever this is,
    /// and no checkpoint ever holds a non-finite parameter; on the steps in between, a
    /// non-finite value is reported where it reaches the loss instead of at the first
    /// layer it appeared in. The full check reads every activation and gradient once,
    /// about 2-3% of a 784-512-512-10 MLP step on one thread; PyTorch makes no such check
    /// unless anomaly detection is on.
    #[serde(default = "one")]
    pub finite_check_every: u64,
    /// Stop (without finishing the run) once this many optimiser steps have been taken in
    /// total; a later `fit` continues from there. Used to interrupt and resume.
    #[serde(default)]
    pub max_steps: Option<u64>,
    /// Skip a last batch smaller than `batch_size`.
    #[serde(default)]
    pub drop_last: bool,
    /// Show a progress bar (plain lines when stderr is not a terminal).
    #[serde(default)]
    pub progress: bool,
    /// Where checkpoints (`checkpoint.ckpt`) and the history (`history.json`, `history.csv`) go.
    #[serde(default)]
    pub output_dir: Option<PathBuf>,
    /// Write a checkpoint every this many steps (and at the end of every epoch) when
    /// `output_dir` is set.
    #[serde(default)]
    pub checkpoint_every: Option<u64>,
    /// The most memory, in bytes, that a training step may take (parameters, gradients,
    /// optimiser state and one batch's activations); absent: the machine's available
    /// memory. [`Trainer::new`] refuses a batch size that would exceed it, naming the layer
    /// whose activations are largest and the bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_limit_bytes: Option<u64>,
    /// Fields that may differ from the checkpoint's configuration when resuming
    /// (fine-tuning): training fields by their path (`"optimizer.lr"`, `"batch_size"`,
    /// `"schedule"` for the whole schedule) and network fields under `network.`
    /// (`"network.layers[2].p"`). Without them, resuming with another configuration is an
    /// error naming every differing field; see [`ResumePolicy`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allow_config_changes: Vec<String>,
}

impl TrainConfig {
    /// Parses JSON; errors carry the field path.
    pub fn from_json(text: &str) -> Result<Self> {
        crate::config::parse_json(text)
    }

    /// Reads and parses a JSON file; errors name the path and the field
    /// (`train.json: optimizer.lr: invalid type: ...`).
    pub fn from_file(path: impl AsRef<std::path::Path>) -> Result<Self> {
        crate::config::parse_file(path.as_ref())
    }

    /// The configuration as pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a training configuration is plain data")
    }

    /// Checks every value [`Trainer::new`] checks (the optimiser's hyperparameters
    /// included); errors name the field to its leaf (`optimizer.lr`, `schedule.then.gamma`).
    pub fn validate(&self) -> Result<()> {
        crate::config::check_positive("epochs", self.epochs)?;
        crate::config::check_positive("batch_size", self.batch_size)?;
        if self.log_every == 0 {
            return Err(FrameworkError::config("log_every", "must be positive"));
        }
        if self.finite_check_every == 0 {
            return Err(FrameworkError::config("finite_check_every", "must be positive"));
        }
        if self.checkpoint_every == Some(0) {
            return Err(FrameworkError::config("checkpoint_every", "must be positive"));
        }
        if let Some(c) = self.clip_grad_norm
            && !(c.is_finite() && c > 0.0)
        {
            return Err(FrameworkError::config("clip_grad_norm", format!("must be a finite positive norm, got {c}")));
        }
        if let Some(e) = &self.early_stopping {
            crate::config::check_positive("early_stopping.patience", e.patience)?;
            if !(e.min_delta.is_finite() && e.min_delta >= 0.0) {
                return Err(FrameworkError::config(
                    "early_stopping.min_delta",
                    format!("must be finite and >= 0, got {}", e.min_delta),
                ));
            }
        }
        self.optimizer.validate()?;
        validate_schedule(&self.schedule, "schedule")?;
        self.loss.validate()?;
        for (i, field) in self.allow_config_changes.iter().enumerate() {
            if field.trim().is_empty() {
                return Err(FrameworkError::config(format!("allow_config_changes[{i}]"), "must name a field"));
            }
        }
        Ok(())
    }
}

impl OptimizerConfig {
    /// The base learning rate.
    pub fn lr(&self) -> f64 {
        match self {
            OptimizerConfig::Sgd(c) => c.lr,
            OptimizerConfig::Adam(c) => c.lr,
            OptimizerConfig::RmsProp(c) => c.lr,
        }
    }

    /// Checks the hyperparameters (as the optimiser's constructor does); errors name the
    /// field as `optimizer.<name>`.
    pub fn validate(&self) -> Result<()> {
        let r = match *self {
            OptimizerConfig::Sgd(c) => crate::optim::Sgd::<f64>::new(c).map(drop),
            OptimizerConfig::Adam(c) => crate::optim::Adam::<f64>::new(c).map(drop),
            OptimizerConfig::RmsProp(c) => crate::optim::RmsProp::<f64>::new(c).map(drop),
        };
        r.map_err(|e| hyperparameter_error("optimizer", e))
    }

    /// How many buffers per parameter the optimiser keeps (for memory estimates).
    pub fn buffers_per_parameter(&self) -> u64 {
        match self {
            OptimizerConfig::Sgd(c) => u64::from(c.momentum != 0.0),
            OptimizerConfig::Adam(_) => 2,
            OptimizerConfig::RmsProp(c) => 1 + u64::from(c.centered) + u64::from(c.momentum != 0.0),
        }
    }
}

/// An optimiser or schedule error as a configuration error at `prefix.<field>`.
pub(crate) fn hyperparameter_error(prefix: &str, e: crate::optim::OptimError) -> FrameworkError {
    match e {
        crate::optim::OptimError::Hyperparameter { field, value, reason } => {
            FrameworkError::config(format!("{prefix}.{field}"), format!("{reason}, got {value}"))
        }
        other => FrameworkError::config(prefix, other.to_string()),
    }
}

/// Validates a schedule, naming nested fields to the leaf (`schedule.then.gamma`).
fn validate_schedule(schedule: &LrSchedule, prefix: &str) -> Result<()> {
    match schedule {
        LrSchedule::Warmup { steps, then } => {
            if *steps == 0 {
                return Err(FrameworkError::config(format!("{prefix}.steps"), "warm-up needs at least one step"));
            }
            validate_schedule(then, &format!("{prefix}.then"))
        }
        other => other.validate().map_err(|e| hyperparameter_error(prefix, e)),
    }
}
