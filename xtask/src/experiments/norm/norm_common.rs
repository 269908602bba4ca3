//! Shared by the normalisation experiments: deep ReLU MLPs on the digits, described as
//! dl-framework [`NetworkConfig`]s with a chosen normalisation after every hidden dense
//! layer, and trained by dl-framework's [`Trainer`] with plain minibatch SGD; test accuracy
//! is measured in evaluation mode (batch norm on its running statistics) by a
//! [`LossAccuracyMonitor`] during the run and by [`Trainer::evaluate`] at the end.
//!
//! The network is `depth` blocks `dense(width) -> norm -> relu`, then `dense(10)`. Two
//! initialisations:
//!
//! - [`Init::Pytorch`]: PyTorch's default linear initialisation (uniform, variance
//!   `1 / (3 fan_in)`). Without normalisation the forward signal of a deep ReLU net then
//!   shrinks by about `1/6` per layer, so depth alone makes it hard to train; each
//!   normaliser restores unit scale.
//! - [`Init::He`]: the configuration's `critical` scheme for ReLU at `sigma_b2 = 0`, whose
//!   critical point is `sigma_w2 = 2`: `W ~ N(0, 2 / fan_in)`, `b = 0`, He et al. (2015).
//!   At this scale a deep ReLU net keeps its signal without normalisation, so it trains.

use dl_framework::train::LossAccuracyMonitor;
use dl_framework::{FrameworkError, Network, NetworkConfig, TrainConfig, Trainer};
use serde_json::{Value, json};

use crate::error::ExperimentError;
use crate::experiments::init::init_training::Digits;
use crate::experiments::synthesis::digits_mlp::fw;

/// The normalisation after each hidden dense layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Norm {
    /// No normalisation: `dense -> relu`.
    None,
    /// Batch norm (Ioffe & Szegedy 2015): each unit standardised over the batch, running
    /// statistics in evaluation mode.
    Batch,
    /// Layer norm (Ba et al. 2016): each example standardised over its hidden units.
    Layer,
    /// Group norm with this many groups of the hidden units.
    Group(usize),
    /// RMS norm (Zhang & Sennrich 2019): each example divided by the root mean square of its
    /// hidden units, no centring.
    Rms,
}

impl Norm {
    /// The five variants compared in the experiments (group norm with 8 groups).
    pub const ALL: [Norm; 5] = [Norm::None, Norm::Batch, Norm::Layer, Norm::Group(8), Norm::Rms];

    /// The short name used in tables, plots and JSON keys (`"none"`, `"batch"`, ...; group
    /// norm is `"group"` whatever its group count).
    pub fn name(self) -> &'static str {
        match self {
            Norm::None => "none",
            Norm::Batch => "batch",
            Norm::Layer => "layer",
            Norm::Group(_) => "group",
            Norm::Rms => "rms",
        }
    }

    /// The configuration entry of the layer (PyTorch's defaults; RMS norm with `eps = 1e-6`).
    fn entry(self) -> Option<Value> {
        match self {
            Norm::None => None,
            Norm::Batch => Some(json!({"type": "batch_norm"})),
            Norm::Layer => Some(json!({"type": "layer_norm"})),
            Norm::Group(g) => Some(json!({"type": "group_norm", "groups": g})),
            Norm::Rms => Some(json!({"type": "rms_norm", "eps": 1e-6})),
        }
    }
}

/// How the dense layers are initialised (see the module documentation).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Init {
    /// PyTorch's default: U(-1/√fan_in, 1/√fan_in) weights and biases, variance
    /// `1 / (3 fan_in)`.
    Pytorch,
    /// He et al. (2015), the critical point of ReLU: `W ~ N(0, 2 / fan_in)`, `b = 0`.
    He,
}

/// The configuration of `depth` blocks `dense(width) -> norm -> relu` on the 64 pixels,
/// then `dense(10)`; parameters drawn from `seed`.
pub fn norm_mlp_config(
    norm: Norm,
    width: usize,
    depth: usize,
    init: Init,
    seed: u64,
) -> Result<NetworkConfig, ExperimentError> {
    let mut layers = Vec::new();
    for _ in 0..depth {
        layers.push(json!({"type": "dense", "units": width}));
        layers.extend(norm.entry());
        layers.push(json!({"type": "activation", "function": "relu"}));
    }
    layers.push(json!({"type": "dense", "units": 10}));
    let init = match init {
        Init::Pytorch => json!({"scheme": "pytorch"}),
        Init::He => json!({"scheme": "critical", "activation": "relu", "sigma_b2": 0.0}),
    };
    let cfg = json!({"input_shape": [64], "layers": layers, "init": init, "seed": seed});
    NetworkConfig::from_json(&cfg.to_string()).map_err(fw)
}

/// The network of [`norm_mlp_config`], built in f32.
pub fn norm_mlp(
    norm: Norm,
    width: usize,
    depth: usize,
    init: Init,
    seed: u64,
) -> Result<Network<f32>, ExperimentError> {
    norm_mlp_config(norm, width, depth, init, seed)?.build::<f32>().map_err(fw)
}

/// Plain minibatch SGD (no momentum).
#[derive(Clone, Copy, Debug)]
pub struct Sgd {
    /// The learning rate (before any decay).
    pub lr: f64,
    /// Examples per minibatch; the remainder of each epoch is dropped.
    pub batch_size: usize,
    /// Total number of SGD updates.
    pub steps: usize,
    /// Measure test accuracy every this many steps (and at the end).
    pub eval_every: usize,
    /// Divide the learning rate by 10 every this many steps (`None`: constant).
    pub decay_every: Option<usize>,
}

impl Sgd {
    /// The trainer's configuration: enough epochs for `steps` full batches (the remainder
    /// of each epoch is dropped: batch statistics need two examples), stopped at `steps`,
    /// the learning rate constant or divided by 10 every `decay_every` steps, the training
    /// loss logged at every step, shuffling seeded by `seed`.
    pub fn train_config(&self, train_len: usize, seed: u64) -> Result<TrainConfig, ExperimentError> {
        let per_epoch = (train_len / self.batch_size).max(1);
        let cfg = json!({
            "epochs": self.steps.div_ceil(per_epoch).max(1),
            "batch_size": self.batch_size,
            "seed": seed,
            "optimizer": {"kind": "sgd", "lr": self.lr},
            "schedule": match self.decay_every {
                Some(every) => json!({"kind": "step", "step_size": every.max(1), "gamma": 0.1}),
                None => json!({"kind": "constant"}),
            },
            "max_steps": self.steps,
            "drop_last": true,
            "log_every": 1,
        });
        TrainConfig::from_json(&cfg.to_string()).map_err(fw)
    }
}

/// What one run recorded.
#[derive(Clone, Debug, Default)]
pub struct Run {
    /// The training loss of every step.
    pub losses: Vec<f64>,
    /// `(step, test accuracy)` at every evaluation (the step counts the updates before it).
    pub accuracy: Vec<(usize, f64)>,
    /// The run diverged (a non-finite loss, activation or gradient stopped it).
    pub diverged: bool,
}

impl Run {
    /// Mean training loss over the last `k` steps.
    pub fn final_loss(&self, k: usize) -> f64 {
        let k = k.min(self.losses.len()).max(1);
        self.losses[self.losses.len().saturating_sub(k)..].iter().sum::<f64>() / k as f64
    }
    /// The last test accuracy (0 for a diverged run).
    pub fn final_accuracy(&self) -> f64 {
        if self.diverged { 0.0 } else { self.accuracy.last().map_or(0.0, |a| a.1) }
    }
    /// The losses averaged over consecutive windows of `w` steps: `(window end step, mean)`.
    pub fn smoothed(&self, w: usize) -> Vec<(f64, f64)> {
        self.losses
            .chunks(w.max(1))
            .enumerate()
            .map(|(i, c)| (((i * w.max(1)) + c.len()) as f64, c.iter().sum::<f64>() / c.len() as f64))
            .collect()
    }
}

/// Trains `net` on `data.train` with `opt` (shuffling seeded by `seed`) in a [`Trainer`].
/// Test accuracy is recorded every `opt.eval_every` steps by a monitor (which sees the
/// parameters after that many updates, in evaluation mode) and after the last step. A
/// divergence ends the run and marks it; any other error is returned.
pub fn train(net: Network<f32>, data: &Digits, opt: Sgd, seed: u64) -> Result<Run, ExperimentError> {
    let mut trainer = Trainer::new(net, opt.train_config(data.train.len(), seed)?).map_err(fw)?;
    if opt.eval_every < opt.steps {
        let every = opt.eval_every.max(1) as u64;
        trainer = trainer.with_monitor(LossAccuracyMonitor { data: data.test.clone(), prefix: "test".into(), every });
    }
    let diverged = match trainer.fit(&data.train, None) {
        Ok(_) => false,
        Err(FrameworkError::Diverged(_)) => true,
        Err(e) => return Err(fw(e)),
    };
    let h = trainer.history();
    let losses: Vec<f64> = h.series("train_loss").into_iter().map(|(_, l)| l).collect();
    // a monitor at step t (t updates done) is logged with the step that follows it, t + 1
    let mut accuracy: Vec<(usize, f64)> =
        h.series("test_accuracy").into_iter().map(|(s, a)| (s as usize - 1, a)).collect();
    if !diverged {
        let (_, acc) = trainer.evaluate(&data.test).map_err(fw)?;
        accuracy.push((trainer.step_count() as usize, acc));
    }
    Ok(Run { losses, accuracy, diverged })
}
