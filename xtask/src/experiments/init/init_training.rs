//! Shared by the initialisation experiments: the standardised digits, deep MLPs built from
//! `dl-layers` and `dl-init`'s [`PhiLayer`], and a plain minibatch SGD-with-momentum loop
//! written with `dl-autodiff` (softmax cross-entropy, test accuracy).
//!
//! The loop is deliberately minimal and fully determined by its seed: one ChaCha8 generator
//! shuffles the minibatches; the update is `v <- mu v + g`, `theta <- theta - lr v`. A loss
//! that becomes non-finite stops training and marks the run as diverged. It remains for the
//! networks a dl-framework configuration cannot describe (the designed, scaled-and-shifted
//! activations of `init-designed-activation`); networks it can describe are trained by
//! dl-framework's `Trainer` with the same update and the same [`Outcome`] ([`fit`]).

use dl_autodiff::{Var, no_grad};
use dl_framework::data::{Dataset, Standardizer, digits_split};
use dl_framework::{FrameworkError, Network, TrainConfig, Trainer};
use dl_init::{Activation, Initializer, PhiLayer, initialize};
use dl_layers::{Linear, Module, Sequential, cross_entropy};
use dl_tensor::{Tensor, TensorRng, seeded_rng};

use crate::error::ExperimentError;

/// Digits, split 75 / 25 by class (seeded), standardised with training statistics.
pub struct Digits {
    /// The training quarter's complement (75%), standardised with its own statistics.
    pub train: Dataset<f32>,
    /// The held-out 25%, standardised with the training statistics.
    pub test: Dataset<f32>,
}

fn data_err(e: impl std::fmt::Display) -> ExperimentError {
    ExperimentError::Invalid(format!("digits data: {e}"))
}

/// Maps a layer or autodiff error into the experiment's error (through dl-init's).
pub fn layer_err(e: impl Into<dl_init::InitError>) -> ExperimentError {
    ExperimentError::Init(e.into())
}

impl Digits {
    /// The embedded digits with the split seeded by `seed`.
    pub fn load(seed: u64) -> Result<Digits, ExperimentError> {
        let split = digits_split::<f32>(0.25, seed).map_err(data_err)?;
        let scaler = Standardizer::fit(split.train.features()).map_err(data_err)?;
        Ok(Digits {
            train: scaler.apply(&split.train).map_err(data_err)?,
            test: scaler.apply(&split.test).map_err(data_err)?,
        })
    }
}

/// `depth` hidden layers `Linear(width) + phi`, then (if `classes` is given) a
/// `Linear(classes)` read-out, all initialised by `init` from `rng`.
pub fn deep_mlp(
    inputs: usize,
    width: usize,
    depth: usize,
    classes: Option<usize>,
    act: &Activation,
    init: &Initializer,
    rng: &mut TensorRng,
) -> Result<Sequential<f32>, ExperimentError> {
    let mut net = Sequential::new();
    for l in 0..depth {
        net.push(Box::new(Linear::new(if l == 0 { inputs } else { width }, width, true, rng)));
        net.push(Box::new(PhiLayer::new(act.clone())?));
    }
    if let Some(c) = classes {
        net.push(Box::new(Linear::new(if depth == 0 { inputs } else { width }, c, true, rng)));
    }
    initialize(&net, init, rng)?;
    Ok(net)
}

/// Minibatch SGD with momentum.
#[derive(Clone, Copy, Debug)]
pub struct Sgd {
    /// Learning rate `η`.
    pub lr: f64,
    /// Momentum `μ` in PyTorch's form `v ← μ v + g`, `w ← w − η v`.
    pub momentum: f64,
    /// Examples per minibatch.
    pub batch_size: usize,
    /// Optimiser steps in all.
    pub steps: usize,
}

/// The result of one training run.
#[derive(Clone, Copy, Debug)]
pub struct Outcome {
    /// Mean training loss over the first 10 steps.
    pub first_loss: f64,
    /// Mean training loss over the last 10 steps.
    pub last_loss: f64,
    /// Accuracy on the whole training set after training (0 if diverged; NaN where not
    /// measured, in [`train`]).
    pub train_accuracy: f64,
    /// Accuracy on the test set after training (0 if diverged).
    pub test_accuracy: f64,
    /// Whether a non-finite loss, activation or gradient ended the run.
    pub diverged: bool,
}

/// Fraction of `data` classified correctly (argmax of the logits; a row with a non-finite
/// logit counts as wrong).
pub fn accuracy(net: &Sequential<f32>, data: &Dataset<f32>) -> Result<f64, ExperimentError> {
    let labels = data.labels().ok_or_else(|| ExperimentError::Invalid("digits have labels".into()))?;
    let logits = no_grad(|| net.forward(&Var::constant(data.features().clone()))).map_err(layer_err)?;
    let v = logits.value().to_vec();
    let c = logits.shape()[1];
    let correct = labels
        .iter()
        .enumerate()
        .filter(|&(i, &y)| {
            let row = &v[i * c..(i + 1) * c];
            let best = (0..c).fold(0, |b, k| if row[k] > row[b] { k } else { b });
            best == y && row.iter().all(|x| x.is_finite())
        })
        .count();
    Ok(correct as f64 / labels.len() as f64)
}

/// Trains `net` on `data.train` with `opt`, shuffling with a generator seeded by `seed`;
/// returns the losses and the test accuracy.
pub fn train(net: &Sequential<f32>, data: &Digits, opt: Sgd, seed: u64) -> Result<Outcome, ExperimentError> {
    let mut rng = seeded_rng(seed);
    let params = net.parameters();
    let mut velocity: Vec<Tensor<f32>> = params.iter().map(|p| Tensor::zeros(&p.param.shape())).collect();
    let mut losses = Vec::with_capacity(opt.steps);
    let (lr, mu) = (opt.lr as f32, opt.momentum as f32);
    'outer: loop {
        for batch in data.train.batches(opt.batch_size, Some(&mut rng)).map_err(data_err)? {
            if losses.len() == opt.steps {
                break 'outer;
            }
            let labels = batch.labels().expect("classification data");
            let loss =
                cross_entropy(&net.forward(&Var::constant(batch.features().clone())).map_err(layer_err)?, labels, 0.0)
                    .map_err(layer_err)?;
            let lv = loss.value().to_vec()[0] as f64;
            losses.push(lv);
            if !lv.is_finite() {
                break 'outer;
            }
            let grads = loss.backward().map_err(layer_err)?;
            drop(loss);
            for (p, v) in params.iter().zip(velocity.iter_mut()) {
                let Some(g) = p.param.grad(&grads) else { continue };
                v.array_mut().zip_mut_with(g.array(), |m, gi| *m = mu * *m + gi);
                p.param.update(|w| w.array_mut().zip_mut_with(v.array(), |wi, m| *wi -= lr * m));
            }
        }
    }
    let diverged = losses.last().is_none_or(|l| !l.is_finite());
    let mean = |s: &[f64]| s.iter().sum::<f64>() / s.len().max(1) as f64;
    let k = losses.len().min(10);
    Ok(Outcome {
        first_loss: mean(&losses[..k]),
        last_loss: mean(&losses[losses.len() - k..]),
        train_accuracy: f64::NAN,
        test_accuracy: accuracy(net, &data.test)?,
        diverged,
    })
}

/// Trains a configured `net` on `data.train` with `opt` in dl-framework's [`Trainer`] (SGD
/// with PyTorch's momentum, the same update as [`train`]; shuffling seeded by `seed`) and
/// evaluates it on `data.train` and `data.test`. A divergence (a non-finite loss, activation or gradient)
/// ends the run, marks it, and counts its test accuracy as 0.
pub fn fit(net: Network<f32>, data: &Digits, opt: Sgd, seed: u64) -> Result<Outcome, ExperimentError> {
    let per_epoch = data.train.len().div_ceil(opt.batch_size).max(1);
    let cfg = serde_json::json!({
        "epochs": opt.steps.div_ceil(per_epoch).max(1),
        "batch_size": opt.batch_size,
        "seed": seed,
        "optimizer": {"kind": "sgd", "lr": opt.lr, "momentum": opt.momentum},
        "max_steps": opt.steps,
        "log_every": 1,
    });
    let mut trainer = Trainer::new(net, TrainConfig::from_json(&cfg.to_string())?)?;
    let diverged = match trainer.fit(&data.train, None) {
        Ok(_) => false,
        Err(FrameworkError::Diverged(_)) => true,
        Err(e) => return Err(e.into()),
    };
    let losses: Vec<f64> = trainer.history().series("train_loss").into_iter().map(|(_, l)| l).collect();
    let mean = |s: &[f64]| s.iter().sum::<f64>() / s.len().max(1) as f64;
    let k = losses.len().min(10);
    let test_accuracy = if diverged { 0.0 } else { trainer.evaluate(&data.test)?.1 };
    let train_accuracy = if diverged { 0.0 } else { trainer.evaluate(&data.train)?.1 };
    Ok(Outcome {
        first_loss: mean(&losses[..k]),
        last_loss: mean(&losses[losses.len() - k..]),
        train_accuracy,
        test_accuracy,
        diverged,
    })
}
