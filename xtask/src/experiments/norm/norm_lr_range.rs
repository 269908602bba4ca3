//! `norm-lr-range`: the range of learning rates over which a deep MLP on the digits trains,
//! with each normalisation and with none.
//!
//! The network configuration and the `Trainer` run are those of `norm-training-curves`,
//! but with He-initialised dense layers (the `critical` scheme of ReLU, `N(0, 2 / fan_in)`),
//! so that the unnormalised network keeps its signal and can train at all; for each
//! normalisation, plain SGD runs for a fixed number of steps at learning rates on a log
//! grid (factor ~3.16). A run *trains* when it does not diverge (the trainer stops on a
//! non-finite loss, activation or gradient) and its test accuracy (eval mode) reaches 0.8
//! (quick size: 0.5, fewer steps). Reported: accuracy per learning rate, and the smallest
//! and largest learning rate that trains and the width of that range in decades.
//!
//! What to expect (Ioffe and Szegedy 2015, section 3.3; Santurkar et al. 2018): batch norm
//! makes each layer's output invariant to the scale of its weights, so it tolerates larger
//! rates and trains over a wider range than the unnormalised net.
//!
//! Claims, over replicate seeds (3 at full size; each draws the split, every network and the
//! shuffling): batch norm's trainable range is wider than the unnormalised one's by at least
//! one grid step (half a decade; partly: not narrower); so is that of each of layer, group
//! and RMS norm, which make a layer invariant to the scale of its weights as well (Ba et
//! al. 2016, section 5; Zhang & Sennrich 2019).

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

/// Learning-rate range over which each normalisation trains.
pub struct NormLrRange;

impl Experiment for NormLrRange {
    fn id(&self) -> &'static str {
        "norm-lr-range"
    }
    fn title(&self) -> &'static str {
        "Learning-rate range over which a deep MLP trains, per normalisation"
    }
    fn section(&self) -> &'static str {
        "04 normalisation"
    }
    fn run(&self, ctx: &mut RunContext) -> Result<Metrics, ExperimentError> {
        let size = ctx.size();
        let (width, depth) = (64, 8);
        let steps = size.pick(150, 1000);
        let threshold = size.pick(0.5, 0.8);
        let exponents: Vec<i32> = size.pick((-5..=2).collect(), (-7..=3).collect());
        let lrs: Vec<f64> = exponents.iter().map(|&e| 10f64.powf(e as f64 / 2.0)).collect();
        let seeds = ctx.replicate_seeds(size.pick(1, 3));
        let mut m = Metrics::new();
        m.config("width", width);
        m.config("depth", depth);
        m.config("steps", steps);
        m.config("batch_size", 32);
        m.config("init", "critical relu, sigma_b2 = 0 (he normal)");
        m.config("accuracy_threshold", threshold);
        m.config("learning_rates", json!(lrs));
        m.config("replicate_seeds", json!(seeds));
        let mut jobs: Vec<(u64, Norm, f64)> = Vec::new();
        for &s in &seeds {
            for n in Norm::ALL {
                jobs.extend(lrs.iter().map(|&lr| (s, n, lr)));
            }
        }
        ctx.message("training every normalisation at every learning rate");
        let runs = par_map(ctx, &jobs, |&(seed, norm, lr)| {
            let data = Digits::load(seed)?;
            let opt = Sgd { lr, batch_size: 32, steps, eval_every: steps, decay_every: None };
            let run = train(norm_mlp(norm, width, depth, Init::He, seed)?, &data, opt, seed.wrapping_add(1))?;
            Ok((run.final_accuracy(), run.diverged))
        })?;
        let at = |r: usize, k: usize, j: usize| runs[(r * Norm::ALL.len() + k) * lrs.len() + j];
        // the trainable range of (replicate, norm) in decades
        let decades = |r: usize, k: usize| -> (Option<f64>, Option<f64>, f64) {
            let trains: Vec<f64> = (0..lrs.len())
                .filter(|&j| {
                    let (acc, diverged) = at(r, k, j);
                    !diverged && acc >= threshold
                })
                .map(|j| lrs[j])
                .collect();
            let (lo, hi) = (trains.first().copied(), trains.last().copied());
            let d = match (lo, hi) {
                (Some(a), Some(b)) => (b / a).log10(),
                _ => 0.0,
            };
            (lo, hi, d)
        };
        m.table("runs", &["norm", "lr", "test_accuracy", "diverged"]);
        m.table("range", &["norm", "min_lr", "max_lr", "decades", "decades_mean", "decades_sd"]);
        let mut chart =
            LineChart::new("Test accuracy after a fixed budget vs learning rate", "learning rate", "accuracy")
                .scales(Scale::Log10, Scale::Linear);
        for (k, norm) in Norm::ALL.into_iter().enumerate() {
            for (j, &lr) in lrs.iter().enumerate() {
                let (acc, diverged) = at(0, k, j);
                m.push_row("runs", vec![json!(norm.name()), num(lr), num(acc), json!(diverged)])?;
            }
            let (lo, hi, d) = decades(0, k);
            let over = Measured::over_seeds(&(0..seeds.len()).map(|r| decades(r, k).2).collect::<Vec<_>>());
            let cell = |v: Option<f64>| v.map_or(json!(null), num);
            m.push_row(
                "range",
                vec![json!(norm.name()), cell(lo), cell(hi), num(d), num(over.mean), num(over.spread)],
            )?;
            m.scalar(&format!("{}_trainable_decades", norm.name()), over.mean);
            let curves: Vec<Vec<(f64, f64)>> = (0..seeds.len())
                .map(|r| lrs.iter().enumerate().map(|(j, &lr)| (lr, at(r, k, j).0)).collect())
                .collect();
            chart.add_over_seeds(norm.name(), SeriesKind::Line, k, &curves);
        }
        ctx.figure("accuracy_vs_lr", &chart)?;
        let widening = |k: usize| (0..seeds.len()).map(|r| decades(r, k).2 - decades(r, 0).2).collect::<Vec<_>>();
        let others: Vec<f64> = (0..seeds.len())
            .map(|r| (2..Norm::ALL.len()).map(|k| decades(r, k).2 - decades(r, 0).2).fold(f64::INFINITY, f64::min))
            .collect();
        m.claim(
            Claim::new(
                "batch-norm-widens-lr-range",
                "batch norm makes each layer's output invariant to the scale of its weights, so a deep net trains over \
                 a wider range of learning rates than without normalisation",
                "Ioffe & Szegedy 2015, section 3.3; Santurkar et al. 2018",
            )
            .measured("trainable range with batch norm minus without, in decades", Measured::over_seeds(&widening(1)))
            .criterion(Criterion::at_least(0.5))
            .partly_if(Criterion::at_least(0.0))
            .note("0.5 decade is one step of the learning-rate grid"),
        )?;
        m.claim(
            Claim::new(
                "other-normalisers-widen-lr-range",
                "layer, group and RMS norm make a layer invariant to the scale of its weights too, and widen the \
                 trainable range of learning rates as well",
                "Ba, Kiros & Hinton 2016, section 5; Wu & He 2018; Zhang & Sennrich 2019",
            )
            .measured("smallest widening over layer, group and RMS norm, in decades", Measured::over_seeds(&others))
            .criterion(Criterion::at_least(0.5))
            .partly_if(Criterion::at_least(0.0))
            .note("0.5 decade is one step of the learning-rate grid"),
        )?;
        Ok(m)
    }
}
