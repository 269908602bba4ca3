//! Shared by the normalisation experiments: deep ReLU MLPs on the digits with a chosen
//! normalisation after every hidden linear layer, and a plain minibatch SGD loop written
//! with `dl-autodiff` that switches the network to evaluation mode to measure accuracy.
//!
//! The network is `depth` blocks `Linear(width) -> Norm -> ReLU`, then `Linear(10)`, with
//! PyTorch's default linear initialisation (uniform, variance `1 / (3 fan_in)`). Without
//! normalisation the forward signal of such a deep ReLU net shrinks by about `1/6` per
//! layer, so depth alone makes it hard to train; each normaliser restores unit scale.
//!
//! (dl-framework's `Trainer` trains networks built from configurations, which cannot yet
//! contain normalisation layers; so these experiments use this small loop, like the
//! initialisation experiments do.)

use dl_autodiff::Var;
use dl_framework::data::Dataset;
use dl_init::{FanMode, Initializer, Scheme, initialize_selected};
use dl_layers::{Act, Linear, Module, Sequential, cross_entropy};
use dl_norm::{BatchNorm1d, GroupNorm, LayerNorm, RmsNorm};
use dl_tensor::{TensorRng, seeded_rng};

use super::init_training::{Digits, accuracy, layer_err};
use crate::error::ExperimentError;

/// The normalisation after each hidden linear layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Norm {
    None,
    Batch,
    Layer,
    /// Group norm with this many groups of the hidden units.
    Group(usize),
    Rms,
}

impl Norm {
    /// The five variants compared in the experiments (group norm with 8 groups).
    pub const ALL: [Norm; 5] = [Norm::None, Norm::Batch, Norm::Layer, Norm::Group(8), Norm::Rms];

    pub fn name(self) -> &'static str {
        match self {
            Norm::None => "none",
            Norm::Batch => "batch",
            Norm::Layer => "layer",
            Norm::Group(_) => "group",
            Norm::Rms => "rms",
        }
    }

    fn layer(self, width: usize) -> Result<Option<Box<dyn Module<f32>>>, ExperimentError> {
        Ok(match self {
            Norm::None => None,
            Norm::Batch => Some(Box::new(BatchNorm1d::<f32>::new(width))),
            Norm::Layer => Some(Box::new(LayerNorm::<f32>::new(&[width]))),
            Norm::Group(g) => Some(Box::new(GroupNorm::<f32>::new(g, width).map_err(layer_err)?)),
            Norm::Rms => Some(Box::new(RmsNorm::<f32>::new(&[width]).with_eps(1e-6))),
        })
    }
}

/// `depth` blocks `Linear(width) -> norm -> ReLU` on 64 inputs, then `Linear(10)`.
pub fn norm_mlp(norm: Norm, width: usize, depth: usize, rng: &mut TensorRng) -> Result<Sequential<f32>, ExperimentError> {
    let mut net = Sequential::new();
    for l in 0..depth {
        net.push(Box::new(Linear::new(if l == 0 { 64 } else { width }, width, true, rng)));
        if let Some(layer) = norm.layer(width)? {
            net.push(layer);
        }
        net.push(Box::new(Act::relu()));
    }
    net.push(Box::new(Linear::new(width, 10, true, rng)));
    Ok(net)
}

/// Re-initialises the linear layers of `net` with He's scheme (`N(0, 2 / fan_in)`, zero
/// biases; He et al. 2015), leaving normalisation parameters at 1 and 0. At this scale a
/// deep ReLU net keeps its signal without normalisation (mean-field critical), so it trains.
pub fn he_init(net: &Sequential<f32>, rng: &mut TensorRng) -> Result<(), ExperimentError> {
    let linear: Vec<String> = net
        .parameters()
        .into_iter()
        .filter(|p| p.param.shape().len() == 2)
        .flat_map(|p| [p.name.clone(), p.name.replace(".weight", ".bias")])
        .collect();
    let init = Initializer::new(Scheme::KaimingNormal { gain: 2f64.sqrt(), mode: FanMode::FanIn });
    initialize_selected(net, &init, |name| linear.iter().any(|n| n == name), rng)?;
    Ok(())
}

/// Plain minibatch SGD (no momentum).
#[derive(Clone, Copy, Debug)]
pub struct Sgd {
    pub lr: f64,
    pub batch_size: usize,
    pub steps: usize,
    /// Measure test accuracy every this many steps (and at the end).
    pub eval_every: usize,
}

/// What one run recorded.
#[derive(Clone, Debug, Default)]
pub struct Run {
    /// The training loss of every step.
    pub losses: Vec<f64>,
    /// `(step, test accuracy)` at every evaluation.
    pub accuracy: Vec<(usize, f64)>,
    /// The loss became non-finite (training stopped there).
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
        self.losses.chunks(w.max(1)).enumerate().map(|(i, c)| (((i * w.max(1)) + c.len()) as f64, c.iter().sum::<f64>() / c.len() as f64)).collect()
    }
}

fn data_err(e: impl std::fmt::Display) -> ExperimentError {
    ExperimentError::Invalid(format!("digits data: {e}"))
}

/// Test accuracy with the network in evaluation mode (running statistics), then back to
/// training mode.
pub fn eval_accuracy(net: &mut Sequential<f32>, test: &Dataset<f32>) -> Result<f64, ExperimentError> {
    net.eval();
    let acc = accuracy(net, test);
    net.train();
    acc
}

/// One SGD step on a batch: returns the loss before the step (NaN/inf are returned, not
/// stepped).
pub fn sgd_step(net: &Sequential<f32>, batch: &Dataset<f32>, lr: f64) -> Result<f64, ExperimentError> {
    let labels = batch.labels().ok_or_else(|| ExperimentError::Invalid("digits have labels".into()))?;
    let loss = cross_entropy(&net.forward(&Var::constant(batch.features().clone())).map_err(layer_err)?, labels, 0.0).map_err(layer_err)?;
    let lv = loss.value().to_vec()[0] as f64;
    if !lv.is_finite() {
        return Ok(lv);
    }
    let grads = loss.backward().map_err(layer_err)?;
    drop(loss);
    let lr = lr as f32;
    for p in net.parameters() {
        let Some(g) = p.param.grad(&grads) else { continue };
        let g = g.clone();
        p.param.update(|w| w.array_mut().zip_mut_with(g.array(), |wi, gi| *wi -= lr * gi));
    }
    Ok(lv)
}

/// Trains `net` on `data.train`, shuffled by a generator seeded with `seed`. Batches
/// smaller than 2 (the remainder of an epoch) are skipped: batch statistics need two
/// examples.
pub fn train(net: &mut Sequential<f32>, data: &Digits, opt: Sgd, seed: u64) -> Result<Run, ExperimentError> {
    let mut rng = seeded_rng(seed);
    let mut run = Run::default();
    'outer: loop {
        for batch in data.train.batches(opt.batch_size, Some(&mut rng)).map_err(data_err)? {
            if run.losses.len() == opt.steps {
                break 'outer;
            }
            if batch.len() < 2 {
                continue;
            }
            let lv = sgd_step(net, &batch, opt.lr)?;
            run.losses.push(lv);
            if !lv.is_finite() {
                run.diverged = true;
                break 'outer;
            }
            if run.losses.len() % opt.eval_every == 0 {
                run.accuracy.push((run.losses.len(), eval_accuracy(net, &data.test)?));
            }
        }
    }
    if !run.diverged && run.accuracy.last().is_none_or(|a| a.0 != run.losses.len()) {
        run.accuracy.push((run.losses.len(), eval_accuracy(net, &data.test)?));
    }
    Ok(run)
}
