//! `norm-batch-size`: test accuracy against batch size for batch, group and layer norm
//! (Wu and He, 2018, figure 1).
//!
//! The network configuration and the `Trainer` run are those of `norm-training-curves`
//! (group norm with 8 groups; the last incomplete batch of each epoch dropped). Every run
//! sees the same number of examples (a fixed number of epochs), with the learning rate
//! scaled linearly with the batch size (`0.05 B / 32`, Goyal et al. 2017), so that only
//! the batch size changes. Accuracy is measured in evaluation mode.
//!
//! What to expect: batch norm's statistics come from the batch, so at small batches they
//! are noisy in training and differ from the running statistics used at test time; its
//! accuracy falls as the batch shrinks. Group and layer norm compute per-example statistics
//! and are insensitive to the batch size.

use serde_json::json;

use crate::context::RunContext;
use crate::error::ExperimentError;
use crate::experiment::Experiment;
use crate::experiments::init::init_training::Digits;
use crate::experiments::norm::norm_common::{Init, Norm, Sgd, norm_mlp, train};
use crate::metrics::{Metrics, num};
use crate::plot::{LineChart, Scale, SeriesKind};

/// Accuracy against batch size for batch, group and layer norm.
pub struct NormBatchSize;

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
        let epochs = size.pick(3, 10);
        let batch_sizes: Vec<usize> = size.pick(vec![2, 4, 16, 64], vec![2, 4, 8, 16, 32, 64, 128]);
        let norms = [Norm::Batch, Norm::Group(8), Norm::Layer];
        let data = Digits::load(ctx.seed())?;
        let n_train = data.train.len();
        let mut m = Metrics::new();
        m.config("width", width);
        m.config("depth", depth);
        m.config("epochs", epochs);
        m.config("base_lr_at_batch_32", 0.05);
        m.config("batch_sizes", json!(batch_sizes));
        m.table("runs", &["norm", "batch_size", "lr", "steps", "test_accuracy", "diverged"]);
        let mut chart =
            LineChart::new("Test accuracy vs batch size (same epochs, linearly scaled lr)", "batch size", "accuracy")
                .scales(Scale::Log2, Scale::Linear);
        let total = (norms.len() * batch_sizes.len()) as u64;
        let mut done = 0;
        for (k, norm) in norms.into_iter().enumerate() {
            let mut points = Vec::new();
            for &b in &batch_sizes {
                let lr = 0.05 * b as f64 / 32.0;
                let steps = epochs * (n_train / b); // whole epochs of full batches
                let net = norm_mlp(norm, width, depth, Init::Pytorch, ctx.seed())?;
                let run =
                    train(net, &data, Sgd { lr, batch_size: b, steps, eval_every: steps }, ctx.seed().wrapping_add(1))?;
                let acc = run.final_accuracy();
                m.push_row(
                    "runs",
                    vec![json!(norm.name()), json!(b), num(lr), json!(steps), num(acc), json!(run.diverged)],
                )?;
                m.scalar(&format!("{}_accuracy_batch_{b}", norm.name()), acc);
                points.push((b as f64, acc));
                done += 1;
                ctx.progress(done, total);
            }
            chart.add(norm.name(), SeriesKind::Line, k, points);
        }
        ctx.figure("accuracy_vs_batch_size", &chart)?;
        Ok(m)
    }
}
