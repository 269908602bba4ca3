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

use serde_json::json;

use crate::context::RunContext;
use crate::error::ExperimentError;
use crate::experiment::Experiment;
use crate::experiments::init::init_training::Digits;
use crate::experiments::norm::norm_common::{Init, Norm, Sgd, norm_mlp, train};
use crate::metrics::{Metrics, num};
use crate::plot::{LineChart, Scale, SeriesKind};

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
        let data = Digits::load(ctx.seed())?;
        let mut m = Metrics::new();
        m.config("width", width);
        m.config("depth", depth);
        m.config("steps", steps);
        m.config("batch_size", 32);
        m.config("init", "critical relu, sigma_b2 = 0 (he normal)");
        m.config("accuracy_threshold", threshold);
        m.config("learning_rates", json!(lrs));
        m.table("runs", &["norm", "lr", "test_accuracy", "diverged"]);
        m.table("range", &["norm", "min_lr", "max_lr", "decades"]);
        let mut chart =
            LineChart::new("Test accuracy after a fixed budget vs learning rate", "learning rate", "accuracy")
                .scales(Scale::Log10, Scale::Linear);
        let total = (Norm::ALL.len() * lrs.len()) as u64;
        let mut done = 0;
        for (k, norm) in Norm::ALL.into_iter().enumerate() {
            let mut points = Vec::new();
            let mut trains = Vec::new();
            for &lr in &lrs {
                let net = norm_mlp(norm, width, depth, Init::He, ctx.seed())?;
                let opt = Sgd { lr, batch_size: 32, steps, eval_every: steps };
                let run = train(net, &data, opt, ctx.seed().wrapping_add(1))?;
                let acc = run.final_accuracy();
                m.push_row("runs", vec![json!(norm.name()), num(lr), num(acc), json!(run.diverged)])?;
                points.push((lr, acc));
                if !run.diverged && acc >= threshold {
                    trains.push(lr);
                }
                done += 1;
                ctx.progress(done, total);
            }
            let (lo, hi) = (trains.first().copied(), trains.last().copied());
            let decades = match (lo, hi) {
                (Some(a), Some(b)) => (b / a).log10(),
                _ => 0.0,
            };
            let cell = |v: Option<f64>| v.map_or(json!(null), num);
            m.push_row("range", vec![json!(norm.name()), cell(lo), cell(hi), num(decades)])?;
            m.scalar(&format!("{}_trainable_decades", norm.name()), decades);
            chart.add(norm.name(), SeriesKind::Line, k, points);
        }
        ctx.figure("accuracy_vs_lr", &chart)?;
        Ok(m)
    }
}
