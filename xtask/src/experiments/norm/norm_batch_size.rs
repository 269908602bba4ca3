//! `norm-batch-size`: test accuracy against batch size for batch, group and layer norm
//! (Wu and He, 2018, figure 1).
//!
//! The network configuration and the `Trainer` run are those of `norm-training-curves`
//! (group norm with 8 groups; the last incomplete batch of each epoch dropped). The protocol
//! is Wu and He's (section 4.1, "small batch sizes"): every run sees the same number of
//! epochs, the learning rate is scaled linearly with the batch size (`0.05 B / 32`, their
//! `0.1 N / 32`, after Goyal et al. 2017), and training runs to convergence under a step
//! schedule (the rate divided by 10 at 30%, 60% and 90% of training, as their 100 epochs
//! with decays at 30, 60 and 90). Accuracy is measured in evaluation mode.
//!
//! Protocol change (issue 18): the first version trained every batch size for 10 epochs at
//! a constant rate, so batch 128 took 100 steps (10 per epoch) and stopped far from
//! convergence; group norm then scored 0.29 there, a budget effect rather than a property of
//! group norm. Wu and He train to convergence, for 100 epochs; so does this experiment now
//! (at full size), with their step schedule: the largest batch takes 1000 steps, the smallest
//! 67 300. (A first try with 50 epochs left group norm at batch 128 with a final training
//! loss of 0.28 against 0.01 at batch 2, not converged, and a spread of 5.9 ± 3.2 points.)
//! The final training loss of every run is reported to show where each run ended.
//!
//! What to expect: batch norm's statistics come from the batch, so at small batches they
//! are noisy in training and differ from the running statistics used at test time; its
//! accuracy falls as the batch shrinks. Group and layer norm compute per-example statistics
//! and are insensitive to the batch size.
//!
//! Claims, over replicate seeds (3 at full size; each draws the split, the networks and the
//! shuffling): group norm's accuracy varies by less than 2 points across the batch sizes
//! (partly 5), so does layer norm's; batch norm's accuracy at batch 2 is at least 2 points
//! below its accuracy at batch 32 (partly: below it at all).

use serde_json::json;

use crate::claims::{Claim, Criterion, Measured};
use crate::context::RunContext;
use crate::error::ExperimentError;
use crate::experiment::Experiment;
use crate::experiments::init::init_training::Digits;
use crate::experiments::norm::norm_common::{Init, Norm, Sgd, norm_mlp, train};
use crate::metrics::{Metrics, num};
use crate::plot::{LineChart, Scale, SeriesKind};
use crate::replicates::par_map;

/// Accuracy against batch size for batch, group and layer norm.
pub struct NormBatchSize;

/// The learning rate at batch size 32 (scaled linearly with the batch size).
const BASE_LR: f64 = 0.05;

/// One run: test accuracy, final training loss (mean of the last epoch's steps), diverged.
#[derive(Clone, Copy)]
struct Outcome {
    accuracy: f64,
    final_loss: f64,
    diverged: bool,
}

impl Experiment for NormBatchSize {
    fn id(&self) -> &'static str {
        "norm-batch-size"
    }
    fn title(&self) -> &'static str {
        "Accuracy against batch size for batch, group and layer norm (Wu and He 2018)"
    }
    fn section(&self) -> &'static str {
        "04 normalisation"
    }
    fn run(&self, ctx: &mut RunContext) -> Result<Metrics, ExperimentError> {
        let size = ctx.size();
        let (width, depth) = (64, 8);
        let epochs = size.pick(3, 100);
        let batch_sizes: Vec<usize> = size.pick(vec![2, 4, 16, 64], vec![2, 4, 8, 16, 32, 64, 128]);
        let norms = [Norm::Batch, Norm::Group(8), Norm::Layer];
        let seeds = ctx.replicate_seeds(size.pick(1, 3));
        let n_train = Digits::load(ctx.seed())?.train.len();
        let mut m = Metrics::new();
        m.config("width", width);
        m.config("depth", depth);
        m.config("epochs", epochs);
        m.config("base_lr_at_batch_32", BASE_LR);
        m.config("lr_schedule", "divided by 10 at 30%, 60% and 90% of the steps");
        m.config("batch_sizes", json!(batch_sizes));
        m.config("replicate_seeds", json!(seeds));
        let mut jobs: Vec<(u64, Norm, usize)> = Vec::new();
        for &s in &seeds {
            for n in norms {
                jobs.extend(batch_sizes.iter().map(|&b| (s, n, b)));
            }
        }
        ctx.message("training every normalisation at every batch size");
        let runs = par_map(ctx, &jobs, |&(seed, norm, b)| {
            let data = Digits::load(seed)?;
            let lr = BASE_LR * b as f64 / 32.0;
            let per_epoch = data.train.len() / b; // whole epochs of full batches
            let steps = epochs * per_epoch;
            let opt = Sgd { lr, batch_size: b, steps, eval_every: steps, decay_every: Some((3 * steps).div_ceil(10)) };
            let run = train(norm_mlp(norm, width, depth, Init::Pytorch, seed)?, &data, opt, seed.wrapping_add(1))?;
            Ok(Outcome {
                accuracy: run.final_accuracy(),
                final_loss: run.final_loss(per_epoch),
                diverged: run.diverged,
            })
        })?;
        let at = |r: usize, k: usize, j: usize| runs[(r * norms.len() + k) * batch_sizes.len() + j];
        m.table(
            "runs",
            &[
                "norm",
                "batch_size",
                "lr",
                "steps",
                "test_accuracy_mean",
                "test_accuracy_sd",
                "final_train_loss",
                "diverged",
            ],
        );
        let mut chart = LineChart::new(
            "Test accuracy vs batch size (same epochs, linearly scaled lr, trained to convergence)",
            "batch size",
            "accuracy",
        )
        .scales(Scale::Log2, Scale::Linear);
        let accuracy = |r: usize, k: usize| (0..batch_sizes.len()).map(|j| at(r, k, j).accuracy).collect::<Vec<_>>();
        for (k, norm) in norms.into_iter().enumerate() {
            for (j, &b) in batch_sizes.iter().enumerate() {
                let acc = Measured::over_seeds(&(0..seeds.len()).map(|r| at(r, k, j).accuracy).collect::<Vec<_>>());
                let first = at(0, k, j);
                m.push_row(
                    "runs",
                    vec![
                        json!(norm.name()),
                        json!(b),
                        num(BASE_LR * b as f64 / 32.0),
                        json!(epochs * (n_train / b)),
                        num(acc.mean),
                        num(acc.spread),
                        num(first.final_loss),
                        json!(first.diverged),
                    ],
                )?;
                m.scalar(&format!("{}_accuracy_batch_{b}", norm.name()), acc.mean);
            }
            let curves: Vec<Vec<(f64, f64)>> = (0..seeds.len())
                .map(|r| batch_sizes.iter().zip(accuracy(r, k)).map(|(&b, a)| (b as f64, a)).collect())
                .collect();
            chart.add_over_seeds(norm.name(), SeriesKind::Line, k, &curves);
        }
        ctx.figure("accuracy_vs_batch_size", &chart)?;
        let spread = |k: usize| -> Vec<f64> {
            (0..seeds.len())
                .map(|r| {
                    let a = accuracy(r, k);
                    a.iter().copied().fold(f64::NEG_INFINITY, f64::max)
                        - a.iter().copied().fold(f64::INFINITY, f64::min)
                })
                .collect()
        };
        let range = format!("{}..{}", batch_sizes[0], batch_sizes[batch_sizes.len() - 1]);
        for (k, name, source) in [
            (1, "group", "Wu & He 2018, figure 1 and table 3 (ResNet-50 on ImageNet, 2 to 32 images per GPU)"),
            (2, "layer", "Ba, Kiros & Hinton 2016 (per-example statistics); Wu & He 2018, section 3"),
        ] {
            m.claim(
                Claim::new(
                    &format!("{name}-norm-insensitive-to-batch-size"),
                    &format!(
                        "{name} norm computes its statistics per example, so its accuracy does not depend on the batch \\
                         size: it varies by less than 2 points across batch sizes {range}"
                    ),
                    source,
                )
                .measured("max - min test accuracy over the batch sizes", Measured::over_seeds(&spread(k)))
                .criterion(Criterion::at_most(0.02))
                .partly_if(Criterion::at_most(0.05)),
            )?;
        }
        let small = 0;
        let reference = batch_sizes.iter().rposition(|&b| b <= 32).unwrap_or(batch_sizes.len() - 1);
        let drop: Vec<f64> =
            (0..seeds.len()).map(|r| at(r, 0, reference).accuracy - at(r, 0, small).accuracy).collect();
        m.claim(
            Claim::new(
                "batch-norm-degrades-at-small-batch",
                &format!(
                    "batch norm's statistics come from the batch: at batch {} they are noisy in training and differ \\
                     from the running statistics used at test time, so its accuracy falls below that at batch {}",
                    batch_sizes[small], batch_sizes[reference]
                ),
                "Wu & He 2018, figure 1 (BN error 23.6% at 32 images per GPU, 34.7% at 2); Ioffe 2017",
            )
            .measured(
                &format!(
                    "batch-norm accuracy at batch {} minus at batch {}",
                    batch_sizes[reference], batch_sizes[small]
                ),
                Measured::over_seeds(&drop),
            )
            .criterion(Criterion::at_least(0.02))
            .partly_if(Criterion::at_least(0.0))
            .note("2 points: the bound that counts as insensitive for group and layer norm"),
        )?;
        Ok(m)
    }
}
