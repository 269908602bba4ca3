//! `norm-landscape-smoothness`: the loss-landscape measures of Santurkar, Tsipras, Ilyas
//! and Madry (2018), "How does batch normalization help optimization?", section 3.1
//! (figure 4), for a deep MLP on the digits with and without batch norm.
//!
//! At checkpoints along a plain-SGD trajectory (learning rate `lr`), with parameters `w`,
//! a fixed measurement batch `B` of training examples and `g = ∇L_B(w)`, the loss and the
//! gradient are evaluated along the gradient direction at step sizes
//! `eta_k = lr · 2^k`, `k = -1..2` (half to four times the training step):
//!
//! - **loss variation**: `max_k L(w - eta_k g) - min_k L(w - eta_k g)`;
//! - **gradient predictiveness** (reported as its opposite, the change):
//!   `max_k ||∇L(w - eta_k g) - g||`;
//! - **effective beta-smoothness**: `max_k ||∇L(w - eta_k g) - g|| / (eta_k ||g||)`, the
//!   largest gradient Lipschitz ratio seen along the step.
//!
//! Both networks are 8 blocks `dense(64) [-> batch_norm] -> relu`, built from dl-framework
//! configurations with He-initialised dense layers (the `critical` scheme of ReLU), so the
//! unnormalised one trains too and the comparison is about the landscape, not about a
//! vanishing signal. They are trained by dl-framework's `Trainer`, one
//! [`Trainer::train_step`] at a time on the batches `Trainer::fit` would draw (the same
//! seeded shuffling, incomplete batches dropped); the measurements are taken between
//! steps. Batch norm runs in training mode (batch statistics of `B`), as in the paper;
//! the running statistics that these extra forward passes move are put back afterwards,
//! so measuring leaves the run unchanged.
//!
//! What to expect (Santurkar et al.): with batch norm, smaller loss variation, smaller
//! gradient change and a smaller effective beta along the trajectory.
//!
//! Claims, over replicate seeds (3 at full size; each draws the split, both networks and
//! the shuffling): each of the three measures, averaged along the trajectory, is smaller
//! with batch norm (ratio batch / none below 1 over the whole band of the replicates).

use dl_autodiff::Var;
use dl_framework::data::Dataset;
use dl_framework::{Network, Trainer};
use dl_layers::{Module, cross_entropy};
use dl_tensor::{Tensor, seeded_rng};
use serde_json::json;

use crate::claims::{Claim, Criterion, Measured};
use crate::context::RunContext;
use crate::error::ExperimentError;
use crate::experiment::Experiment;
use crate::experiments::init::init_training::{Digits, layer_err};
use crate::experiments::norm::norm_common::{Init, Norm, Sgd, norm_mlp};
use crate::experiments::synthesis::digits_mlp::fw;
use crate::metrics::{Metrics, num};
use crate::plot::{LineChart, Scale, SeriesKind};
use crate::replicates::par_map;

/// Santurkar et al.'s landscape smoothness measures with and without batch norm.
pub struct NormLandscapeSmoothness;

/// The loss and the flattened gradient of `net` on `batch` (in the network's current mode).
fn loss_and_grad(net: &Network<f32>, batch: &Dataset<f32>) -> Result<(f64, Vec<f64>), ExperimentError> {
    let labels = batch.labels().ok_or_else(|| ExperimentError::Invalid("digits have labels".into()))?;
    let loss = cross_entropy(&net.forward(&Var::constant(batch.features().clone())).map_err(layer_err)?, labels, 0.0)
        .map_err(layer_err)?;
    let lv = loss.value().to_vec()[0] as f64;
    let grads = loss.backward().map_err(layer_err)?;
    let mut flat = Vec::new();
    for p in net.parameters() {
        match p.param.grad(&grads) {
            Some(g) => flat.extend(g.to_vec().iter().map(|&v| v as f64)),
            None => flat.extend(std::iter::repeat_n(0.0, p.param.shape().iter().product())),
        }
    }
    Ok((lv, flat))
}

/// Sets every parameter to `w0 - eta g` (flattened `g`, in parameter order).
fn set_along(net: &Network<f32>, w0: &[Tensor<f32>], g: &[f64], eta: f64) -> Result<(), ExperimentError> {
    let mut offset = 0;
    for (p, w) in net.parameters().iter().zip(w0) {
        let n = w.numel();
        let moved: Vec<f32> =
            w.to_vec().iter().zip(&g[offset..offset + n]).map(|(&wi, &gi)| (wi as f64 - eta * gi) as f32).collect();
        p.param.set(Tensor::from_vec(moved, w.shape())?).map_err(layer_err)?;
        offset += n;
    }
    Ok(())
}

fn norm2(v: &[f64]) -> f64 {
    v.iter().map(|x| x * x).sum::<f64>().sqrt()
}

/// The three measures at the current parameters.
#[derive(Clone, Copy)]
struct Smoothness {
    loss: f64,
    loss_variation: f64,
    gradient_change: f64,
    beta: f64,
}

/// The measures on `batch` in training mode; the parameters and the buffers (running
/// statistics) are restored before returning.
fn measure(net: &mut Network<f32>, batch: &Dataset<f32>, lr: f64) -> Result<Smoothness, ExperimentError> {
    let w0: Vec<Tensor<f32>> = net.parameters().iter().map(|p| p.param.value()).collect();
    let buffers0: Vec<Tensor<f32>> = net.buffers().iter().map(|b| b.param.value()).collect();
    net.train();
    let (loss, g) = loss_and_grad(net, batch)?;
    let gnorm = norm2(&g);
    let (mut lo, mut hi, mut change, mut beta) = (f64::INFINITY, f64::NEG_INFINITY, 0.0f64, 0.0f64);
    for k in -1..=2 {
        let eta = lr * 2f64.powi(k);
        set_along(net, &w0, &g, eta)?;
        let (l, gk) = loss_and_grad(net, batch)?;
        lo = lo.min(l);
        hi = hi.max(l);
        let diff: Vec<f64> = gk.iter().zip(&g).map(|(a, b)| a - b).collect();
        let d = norm2(&diff);
        change = change.max(d);
        beta = beta.max(d / (eta * gnorm));
    }
    for (p, w) in net.parameters().iter().zip(w0) {
        p.param.set(w).map_err(layer_err)?;
    }
    for (b, v) in net.buffers().iter().zip(buffers0) {
        b.param.set(v).map_err(layer_err)?;
    }
    Ok(Smoothness { loss, loss_variation: hi - lo, gradient_change: change, beta })
}

/// Step, learning rate, batch size, steps and measuring interval of one run.
#[derive(Clone, Copy)]
struct Schedule {
    width: usize,
    depth: usize,
    lr: f64,
    batch_size: usize,
    steps: usize,
    every: usize,
}

/// Trains the network of `norm` from `seed` and measures it every `every` steps: `(step,
/// measures)` along the trajectory.
fn trajectory(norm: Norm, s: Schedule, seed: u64) -> Result<Vec<(usize, Smoothness)>, ExperimentError> {
    let data = Digits::load(seed)?;
    let measure_batch = data
        .train
        .subset(&(0..256).collect::<Vec<_>>())
        .map_err(|e| ExperimentError::Invalid(format!("digits data: {e}")))?;
    let net = norm_mlp(norm, s.width, s.depth, Init::He, seed)?;
    let opt = Sgd { lr: s.lr, batch_size: s.batch_size, steps: s.steps, eval_every: s.steps, decay_every: None };
    let mut trainer = Trainer::new(net, opt.train_config(data.train.len(), seed.wrapping_add(1))?).map_err(fw)?;
    let mut shuffle = seeded_rng(seed.wrapping_add(1)); // the trainer's shuffling generator
    let mut out = Vec::new();
    let mut step = 0;
    loop {
        let batches = data
            .train
            .batches(s.batch_size, Some(&mut shuffle))
            .map_err(|e| ExperimentError::Invalid(format!("digits data: {e}")))?;
        for batch in batches.drop_last() {
            if step % s.every == 0 {
                out.push((step, measure(trainer.network_mut(), &measure_batch, s.lr)?));
            }
            if step == s.steps {
                return Ok(out);
            }
            trainer.train_step(&batch).map_err(|e| ExperimentError::Invalid(format!("{} norm: {e}", norm.name())))?;
            step += 1;
        }
    }
}

impl Experiment for NormLandscapeSmoothness {
    fn id(&self) -> &'static str {
        "norm-landscape-smoothness"
    }
    fn title(&self) -> &'static str {
        "Loss-landscape smoothness along the gradient with and without batch norm (Santurkar et al. 2018)"
    }
    fn section(&self) -> &'static str {
        "04 normalisation"
    }
    fn run(&self, ctx: &mut RunContext) -> Result<Metrics, ExperimentError> {
        let size = ctx.size();
        let sched = Schedule {
            width: 64,
            depth: 8,
            lr: 0.1,
            batch_size: 32,
            steps: size.pick(100, 1000),
            every: size.pick(25, 50),
        };
        let seeds = ctx.replicate_seeds(size.pick(1, 3));
        let mut m = Metrics::new();
        m.config("width", sched.width);
        m.config("depth", sched.depth);
        m.config("lr", sched.lr);
        m.config("batch_size", sched.batch_size);
        m.config("steps", sched.steps);
        m.config("measure_every", sched.every);
        m.config("measure_batch", 256);
        m.config("step_sizes", "lr * 2^k, k = -1..2");
        m.config("replicate_seeds", json!(seeds));
        let norms = [Norm::None, Norm::Batch];
        let jobs: Vec<(u64, Norm)> = seeds.iter().flat_map(|&s| norms.into_iter().map(move |n| (s, n))).collect();
        ctx.message("training with and without batch norm");
        let runs = par_map(ctx, &jobs, |&(seed, norm)| trajectory(norm, sched, seed))?;
        let at = |r: usize, k: usize| &runs[r * norms.len() + k];
        m.table("trajectory", &["norm", "step", "loss", "loss_variation", "gradient_change", "effective_beta"]);
        let mut charts = [
            LineChart::new("Loss variation along the gradient", "step", "max - min loss")
                .scales(Scale::Linear, Scale::Log10),
            LineChart::new("Gradient change along the gradient", "step", "max ||grad(w - eta g) - g||")
                .scales(Scale::Linear, Scale::Log10),
            LineChart::new("Effective beta-smoothness", "step", "max ||delta grad|| / ||delta w||")
                .scales(Scale::Linear, Scale::Log10),
        ];
        let pick = |s: &Smoothness, i: usize| [s.loss_variation, s.gradient_change, s.beta][i];
        let names = ["loss_variation", "gradient_change", "effective_beta"];
        // mean of each measure along the trajectory, per replicate and norm
        let mean_along = |r: usize, k: usize, i: usize| {
            let t = at(r, k);
            t.iter().map(|(_, s)| pick(s, i)).sum::<f64>() / t.len() as f64
        };
        for (k, norm) in norms.into_iter().enumerate() {
            for (step, s) in at(0, k) {
                m.push_row(
                    "trajectory",
                    vec![
                        json!(norm.name()),
                        json!(step),
                        num(s.loss),
                        num(s.loss_variation),
                        num(s.gradient_change),
                        num(s.beta),
                    ],
                )?;
            }
            for (i, name) in names.iter().enumerate() {
                let means = Measured::over_seeds(&(0..seeds.len()).map(|r| mean_along(r, k, i)).collect::<Vec<_>>());
                m.scalar(&format!("{}_mean_{name}", norm.name()), means.mean);
                let curves: Vec<Vec<(f64, f64)>> = (0..seeds.len())
                    .map(|r| at(r, k).iter().map(|(step, s)| (*step as f64, pick(s, i))).collect())
                    .collect();
                charts[i].add_over_seeds(norm.name(), SeriesKind::Line, k, &curves);
            }
        }
        for (name, chart) in names.iter().zip(&charts) {
            ctx.figure(name, chart)?;
        }
        let statements = [
            "batch norm makes the loss change less along the gradient direction (smaller loss variation over step \
             sizes lr/2 to 4 lr)",
            "batch norm makes the gradient more predictive: it changes less along the gradient direction",
            "batch norm lowers the effective beta-smoothness (gradient Lipschitz ratio) along the gradient direction",
        ];
        for (i, name) in names.iter().enumerate() {
            let ratios: Vec<f64> = (0..seeds.len()).map(|r| mean_along(r, 1, i) / mean_along(r, 0, i)).collect();
            m.claim(
                Claim::new(
                    &format!("batch-norm-smaller-{}", name.replace('_', "-")),
                    statements[i],
                    "Santurkar, Tsipras, Ilyas & Madry 2018, section 3.1, figure 4",
                )
                .measured(
                    &format!("mean {} along the trajectory, batch norm over none", name.replace('_', " ")),
                    Measured::over_seeds(&ratios),
                )
                .criterion(Criterion::at_most(1.0))
                .note("paper: VGG on CIFAR-10; here a depth-8 ReLU MLP on the digits, He initialisation"),
            )?;
        }
        Ok(m)
    }
}
