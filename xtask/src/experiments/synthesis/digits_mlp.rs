//! `digits-mlp`: an MLP trained from a JSON configuration on the 8x8 handwritten digits,
//! with the training loop's monitors: learning curves, per-layer gradient norms and
//! activation statistics, and the sharpness (top Hessian eigenvalue of the training loss,
//! by power iteration on Hessian-vector products).
//!
//! Data: the 1797 digits split 50/50 by class (`digits_split(0.5, seed)`), standardised
//! with training statistics. Reference points on such splits: scikit-learn's
//! `MLPClassifier` reaches 97.6% test accuracy, an RBF SVM 98.7%; the issue asks for at
//! least 97.5% at full size. The test set is evaluated after every epoch for the curves
//! only: nothing (no epoch, no hyperparameter) is selected on it.
//!
//! Claim, over replicate seeds (3 at full size; each draws the split, the network and the
//! shuffling): the test accuracy reaches 97.5% (scikit-learn's MLPClassifier reaches 97.6%
//! on such splits); partly from 96%. The monitors' figures show replicate 0 (the run seed);
//! the learning curves show the test curve's mean and spread over the replicates.
//!
//! This file also holds the helpers the other training experiments (`digits-cnn`,
//! `mnist1d-table`) share: building and training from JSON, and drawing the history.

use dl_framework::data::{Dataset, Standardizer, digits_split};
use dl_framework::train::{ActivationStatsMonitor, GradientStatsMonitor, SharpnessMonitor};
use dl_framework::{FrameworkError, History, NetworkConfig, TrainConfig, Trainer};
use dl_layers::Module;
use serde_json::Value;
use serde_json::json;

use crate::claims::{Claim, Criterion, Measured};
use crate::context::RunContext;
use crate::error::ExperimentError;
use crate::experiment::{Experiment, Size};
use crate::metrics::{Metrics, num};
use crate::plot::{LineChart, Scale, SeriesKind};
use crate::replicates::par_map;

/// The MLP on the digits.
pub struct DigitsMlp;

/// A framework error as an experiment error, keeping its type (the message names the
/// field, path or layer).
pub(crate) fn fw(e: FrameworkError) -> ExperimentError {
    ExperimentError::Framework(e)
}

/// The digits split 50/50 by class and standardised with the training half's statistics;
/// at quick size, the first `quick_train` training and `quick_test` test examples.
pub(crate) fn digits_data(
    size: Size,
    seed: u64,
    quick_train: usize,
    quick_test: usize,
) -> Result<(Dataset<f32>, Dataset<f32>), ExperimentError> {
    let split = digits_split::<f32>(0.5, seed).map_err(|e| fw(e.into()))?;
    let scaler = Standardizer::fit(split.train.features()).map_err(|e| fw(e.into()))?;
    let train = scaler.apply(&split.train).map_err(|e| fw(e.into()))?;
    let test = scaler.apply(&split.test).map_err(|e| fw(e.into()))?;
    if size == Size::Full {
        return Ok((train, test));
    }
    let take =
        |d: &Dataset<f32>, n: usize| d.subset(&(0..n.min(d.len())).collect::<Vec<_>>()).map_err(|e| fw(e.into()));
    Ok((take(&train, quick_train)?, take(&test, quick_test)?))
}

/// What a training run left (plain data, so runs can be made on other threads).
pub(crate) struct Trained {
    pub history: History,
    pub steps: u64,
    pub test_loss: f64,
    pub test_accuracy: f64,
    pub parameters: usize,
}

/// A network configuration (JSON text) with its `"seed"` replaced by `seed`.
pub(crate) fn with_seed(net_json: &str, seed: u64) -> Result<String, ExperimentError> {
    let mut v: Value = serde_json::from_str(net_json).map_err(|e| ExperimentError::Invalid(e.to_string()))?;
    v["seed"] = seed.into();
    Ok(v.to_string())
}

/// How often the monitors run (in steps); `None` for no monitors.
#[derive(Clone, Copy)]
pub(crate) struct MonitorEvery {
    pub stats: u64,
    pub sharpness: u64,
}

/// Builds the network from `net_json`, trains it under `train_json` (the test set recorded
/// after each epoch as `val_*`), and evaluates it on `test`.
pub(crate) fn train_from_json(
    net_json: &str,
    train_json: &str,
    train: &Dataset<f32>,
    test: &Dataset<f32>,
    monitors: Option<MonitorEvery>,
) -> Result<Trained, ExperimentError> {
    let net = NetworkConfig::from_json(net_json).and_then(|c| c.build::<f32>()).map_err(fw)?;
    let parameters = net.num_parameters();
    let mut trainer = Trainer::new(net, TrainConfig::from_json(train_json).map_err(fw)?).map_err(fw)?;
    if let Some(every) = monitors {
        trainer = trainer
            .with_monitor(GradientStatsMonitor { every: every.stats })
            .with_monitor(ActivationStatsMonitor { every: every.stats })
            .with_monitor(SharpnessMonitor {
                every: every.sharpness,
                max_iterations: 50,
                tol: 1e-3,
                seed: 0,
                probe: None,
            });
    }
    trainer.fit(train, Some(test)).map_err(fw)?;
    let (test_loss, test_accuracy) = trainer.evaluate(test).map_err(fw)?;
    Ok(Trained {
        history: trainer.history().clone(),
        steps: trainer.step_count(),
        test_loss,
        test_accuracy,
        parameters,
    })
}

/// Points of a history series, with the step as x.
pub(crate) fn points(h: &History, name: &str) -> Vec<(f64, f64)> {
    h.series(name).into_iter().map(|(s, v)| (s as f64, v)).collect()
}

/// The mean of each run of `k` consecutive points (per-step losses are noisy).
pub(crate) fn smooth(p: &[(f64, f64)], k: usize) -> Vec<(f64, f64)> {
    p.chunks(k.max(1)).map(|c| (c[c.len() - 1].0, c.iter().map(|q| q.1).sum::<f64>() / c.len() as f64)).collect()
}

/// Learning curves (loss and accuracy against steps): the training curves of the first run,
/// the test curves' mean and spread over all runs (one per replicate seed).
pub(crate) fn learning_curves(
    ctx: &mut RunContext,
    name: &str,
    title: &str,
    histories: &[&History],
    smooth_k: usize,
) -> Result<(), ExperimentError> {
    let h = histories[0];
    let over = |key: &str| histories.iter().map(|h| points(h, key)).collect::<Vec<_>>();
    let mut loss =
        LineChart::new(&format!("{title}: loss"), "step", "cross-entropy").scales(Scale::Linear, Scale::Log10);
    loss.add("train (minibatch, smoothed)", SeriesKind::Line, 0, smooth(&points(h, "train_loss"), smooth_k));
    loss.add_over_seeds("test (each epoch)", SeriesKind::Line, 1, &over("val_loss"));
    ctx.figure(&format!("{name}_loss"), &loss)?;
    let mut acc = LineChart::new(&format!("{title}: accuracy"), "step", "accuracy");
    acc.add("train (minibatch, smoothed)", SeriesKind::Line, 0, smooth(&points(h, "train_accuracy"), smooth_k));
    acc.add_over_seeds("test (each epoch)", SeriesKind::Line, 1, &over("val_accuracy"));
    ctx.figure(&format!("{name}_accuracy"), &acc)
}

/// The monitors' figures: sharpness, per-parameter gradient norms, per-layer activation std.
pub(crate) fn monitor_figures(
    ctx: &mut RunContext,
    name: &str,
    title: &str,
    h: &History,
    lr: Option<f64>,
) -> Result<(), ExperimentError> {
    let mut sharp = LineChart::new(&format!("{title}: sharpness (top Hessian eigenvalue)"), "step", "lambda_max")
        .scales(Scale::Linear, Scale::Log10);
    sharp.add("lambda_max (power iteration)", SeriesKind::Line, 0, points(h, "sharpness"));
    if let Some(lr) = lr {
        let xs = points(h, "sharpness");
        if let (Some(a), Some(b)) = (xs.first(), xs.last()) {
            sharp.add("2 / lr", SeriesKind::Line, 1, vec![(a.0, 2.0 / lr), (b.0, 2.0 / lr)]);
        }
    }
    ctx.figure(&format!("{name}_sharpness"), &sharp)?;
    let names = h.names();
    let mut grads = LineChart::new(&format!("{title}: gradient norm per weight"), "step", "|dL/dW|")
        .scales(Scale::Linear, Scale::Log10);
    for (i, n) in names.iter().filter(|n| n.starts_with("grad_norm/") && n.ends_with("weight")).enumerate() {
        grads.add(n.trim_start_matches("grad_norm/"), SeriesKind::Line, i, points(h, n));
    }
    ctx.figure(&format!("{name}_gradient_norms"), &grads)?;
    let mut acts =
        LineChart::new(&format!("{title}: activation standard deviation per layer"), "step", "std of layer output");
    let mut layers: Vec<&String> = names.iter().filter(|n| n.starts_with("activation_std/")).collect();
    layers.sort_by_key(|n| n.trim_start_matches("activation_std/").parse::<usize>().unwrap_or(usize::MAX));
    for (i, n) in layers.into_iter().enumerate() {
        acts.add(&format!("layer {}", n.trim_start_matches("activation_std/")), SeriesKind::Line, i, points(h, n));
    }
    ctx.figure(&format!("{name}_activation_std"), &acts)
}

/// A digits classifier of `net_json` trained under the recipe of `train_json(epochs, train
/// length, seed)` once per replicate seed (in parallel, with the monitors): the split, the
/// network's parameters and the shuffling come from the seed. At quick size the data are
/// the first examples of the split (see [`digits_data`]); `images` reshapes them to
/// `(1, 8, 8)`.
pub(crate) fn train_replicates(
    ctx: &RunContext,
    net_json: &str,
    train_json: impl Fn(usize, u64) -> String + Sync,
    seeds: &[u64],
    images: bool,
    every: MonitorEvery,
) -> Result<Vec<Trained>, ExperimentError> {
    let size = ctx.size();
    par_map(ctx, seeds, |&seed| {
        let (train, test) = digits_data(size, seed, 256, 200)?;
        let (train, test) = if images { (as_images(&train)?, as_images(&test)?) } else { (train, test) };
        train_from_json(&with_seed(net_json, seed)?, &train_json(train.len(), seed), &train, &test, Some(every))
    })
}

/// The digits as `(N, 1, 8, 8)` images.
fn as_images(d: &Dataset<f32>) -> Result<Dataset<f32>, ExperimentError> {
    let x = d.features().reshape(&[d.len(), 1, 8, 8])?;
    d.with_features(x).map_err(|e| fw(e.into()))
}

/// The claim that a digits classifier reaches a reference test accuracy, over replicates.
pub(crate) fn accuracy_claim(
    m: &mut Metrics,
    id: &str,
    statement: &str,
    source: &str,
    runs: &[Trained],
    target: f64,
    partly: f64,
) -> Result<(), ExperimentError> {
    let acc: Vec<f64> = runs.iter().map(|t| t.test_accuracy).collect();
    let measured = Measured::over_seeds(&acc);
    m.scalar("test_accuracy_mean", measured.mean);
    m.scalar("test_accuracy_spread", measured.spread);
    m.claim(
        Claim::new(id, statement, source)
            .measured("test accuracy after the last epoch", measured)
            .criterion(Criterion::at_least(target))
            .partly_if(Criterion::at_least(partly)),
    )
}

/// The scalars of one run: test accuracy and loss, steps, parameters, last monitor values.
pub(crate) fn run_scalars(m: &mut Metrics, prefix: &str, t: &Trained) {
    let h = &t.history;
    m.scalar(&format!("{prefix}test_accuracy"), t.test_accuracy);
    m.scalar(&format!("{prefix}test_loss"), t.test_loss);
    m.scalar(&format!("{prefix}steps"), t.steps as f64);
    m.scalar(&format!("{prefix}parameters"), t.parameters as f64);
    if let Some(v) = h.last("train_loss") {
        m.scalar(&format!("{prefix}final_train_loss"), v);
    }
    for key in ["sharpness", "activation_zero_fraction/1"] {
        if let Some(v) = h.last(key) {
            m.scalar(&format!("{prefix}final_{}", key.replace('/', "_layer_")), v);
        }
    }
}

const NET: &str = r#"{
  "input_shape": [64],
  "seed": 0,
  "layers": [
    {"type": "dense", "units": 256, "activation": "relu"},
    {"type": "dropout", "p": 0.3},
    {"type": "dense", "units": 256, "activation": "relu"},
    {"type": "dropout", "p": 0.3},
    {"type": "dense", "units": 10}
  ]
}"#;

impl Experiment for DigitsMlp {
    fn id(&self) -> &'static str {
        "digits-mlp"
    }
    fn title(&self) -> &'static str {
        "An MLP on the 8x8 digits from a JSON configuration: learning curves, gradient and activation statistics, sharpness"
    }
    fn section(&self) -> &'static str {
        "11 synthesis"
    }

    fn run(&self, ctx: &mut RunContext) -> Result<Metrics, ExperimentError> {
        let size = ctx.size();
        let seeds = ctx.replicate_seeds(size.pick(1, 3));
        let epochs = size.pick(3, 60);
        let lr = 1e-3;
        let train_json = |train_len: usize, seed: u64| {
            json!({
                "epochs": epochs, "batch_size": 32, "seed": seed,
                "optimizer": {"kind": "adam", "lr": lr, "weight_decay": 1e-4},
                "schedule": {"kind": "cosine", "t_max": epochs * train_len.div_ceil(32), "eta_min": 0.0},
                "loss": {"kind": "cross_entropy", "label_smoothing": 0.1}
            })
            .to_string()
        };
        let (train, test) = digits_data(size, ctx.seed(), 256, 200)?;
        let mut m = Metrics::new();
        m.config("network", serde_json::from_str::<serde_json::Value>(NET).expect("valid JSON"));
        m.config(
            "training",
            serde_json::from_str::<serde_json::Value>(&train_json(train.len(), ctx.seed())).expect("valid JSON"),
        );
        m.config("train_examples", train.len());
        m.config("test_examples", test.len());
        m.config("replicate_seeds", json!(seeds));
        m.config(
            "seeds",
            "each replicate seed draws the split, the network (its configuration's seed) and the shuffling",
        );
        ctx.message("training");
        let every = MonitorEvery { stats: size.pick(2, 20), sharpness: size.pick(4, 100) };
        let runs = train_replicates(ctx, NET, train_json, &seeds, false, every)?;
        run_scalars(&mut m, "", &runs[0]);
        m.scalar_value("reference_sklearn_mlp_accuracy", num(0.976));
        m.scalar_value("reference_rbf_svm_accuracy", num(0.987));
        accuracy_claim(
            &mut m,
            "reaches-reference-accuracy",
            "an MLP 64-256-256-10 trained with Adam reaches the test accuracy of a well-tuned MLP on a 50/50 split of \
             the 8x8 digits: at least 97.5%",
            "scikit-learn's MLPClassifier on such splits (97.6%; RBF SVM 98.7%); the issue's target 97.5%",
            &runs,
            0.975,
            0.96,
        )?;
        let histories: Vec<&History> = runs.iter().map(|t| &t.history).collect();
        learning_curves(ctx, "mlp", "MLP 64-256-256-10 on digits", &histories, size.pick(2, 28))?;
        monitor_figures(ctx, "mlp", "MLP on digits", &runs[0].history, None)?;
        Ok(m)
    }
}
