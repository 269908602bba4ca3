//! `autodiff-cost`: the cheap-gradient principle and the cost of forward mode, measured.
//!
//! Reverse mode computes the whole gradient of a scalar loss for a small constant times
//! the cost of the loss itself (Griewank and Walther 2008, the "cheap gradient
//! principle"): for an MLP the backward pass does two GEMMs per layer for the forward's
//! one, so value-and-gradient should cost about 3x the loss. Forward mode pushes one
//! tangent direction per pass: one JVP costs about 2-3x the loss, so a full gradient by
//! forward mode would cost that times the number of parameters.
//!
//! The experiment times, for the reference MLP of `dl_autodiff::mlp` (ReLU, softmax
//! cross-entropy, f32, batch 128): the loss alone (no tape), value and gradient, and one
//! JVP along a random parameter direction, against depth (width 256) and against width
//! (depth 4), and reports the two ratios. Measured timings: not snapshot-tested.

use std::hint::black_box;
use std::time::Instant;

use dl_autodiff::mlp::Mlp;
use dl_autodiff::{Var, jvp, no_grad};
use dl_tensor::{Tensor, TensorRng};
use serde_json::json;

use crate::context::RunContext;
use crate::error::ExperimentError;
use crate::experiment::Experiment;
use crate::metrics::{Metrics, num};
use crate::plot::{LineChart, Scale, SeriesKind};

/// Cost of gradients and JVPs relative to the loss.
pub struct AutodiffCost;

const BATCH: usize = 128;
const INPUT: usize = 64;
const CLASSES: usize = 10;

/// Median seconds of `f` over enough repetitions to fill `min_seconds`.
fn median_seconds(
    min_seconds: f64,
    mut f: impl FnMut() -> Result<(), ExperimentError>,
) -> Result<f64, ExperimentError> {
    f()?; // warm-up
    let mut times = Vec::new();
    let start = Instant::now();
    while times.len() < 5 || (start.elapsed().as_secs_f64() < min_seconds && times.len() < 10_000) {
        let t0 = Instant::now();
        f()?;
        times.push(t0.elapsed().as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
    Ok(times[times.len() / 2])
}

/// (loss, value-and-grad, jvp) median seconds for one architecture.
fn time_mlp(sizes: &[usize], min_seconds: f64, rng: &mut TensorRng) -> Result<(f64, f64, f64), ExperimentError> {
    let mlp = Mlp::<f32>::new(sizes, rng)?;
    let x = Var::constant(Tensor::<f32>::randn(&[BATCH, INPUT], rng));
    let labels: Vec<usize> = (0..BATCH).map(|i| (i * 7) % CLASSES).collect();
    let values: Vec<Tensor<f32>> = mlp.params.iter().map(|p| p.value().clone()).collect();
    let direction: Vec<Tensor<f32>> = values.iter().map(|v| Tensor::randn(v.shape(), rng)).collect();
    let loss = median_seconds(min_seconds, || {
        black_box(no_grad(|| mlp.loss(&x, &labels))?);
        Ok(())
    })?;
    let grad = median_seconds(min_seconds, || {
        black_box(mlp.value_and_grad(&x, &labels)?);
        Ok(())
    })?;
    let forward = median_seconds(min_seconds, || {
        black_box(jvp(|ps: &[Var<f32>]| Mlp::loss_with(ps, &x, &labels), &values, &direction)?);
        Ok(())
    })?;
    Ok((loss, grad, forward))
}

impl Experiment for AutodiffCost {
    fn id(&self) -> &'static str {
        "autodiff-cost"
    }
    fn title(&self) -> &'static str {
        "Cost of a gradient (reverse mode) and of a JVP (forward mode) relative to the loss, against depth and width"
    }
    fn section(&self) -> &'static str {
        "02 backpropagation"
    }
    fn deterministic(&self) -> bool {
        false
    }

    fn run(&self, ctx: &mut RunContext) -> Result<Metrics, ExperimentError> {
        let size = ctx.size();
        let depths: Vec<usize> = size.pick(vec![1, 2, 4], vec![1, 2, 4, 8, 16, 32]);
        let widths: Vec<usize> = size.pick(vec![32, 64, 128], vec![32, 64, 128, 256, 512, 1024]);
        let min_seconds = size.pick(0.02, 0.5);
        let mut m = Metrics::new();
        m.config("batch", BATCH);
        m.config("input", INPUT);
        m.config("classes", CLASSES);
        m.config("dtype", "f32");
        m.config("depths_at_width_256", json!(depths));
        m.config("widths_at_depth_4", json!(widths));
        m.config("statistic", "median seconds; ratios are to the loss computed without a tape");
        m.table("cost", &["sweep", "depth", "width", "loss_seconds", "grad_over_loss", "jvp_over_loss"]);
        let mut rng = ctx.rng();
        let total = (depths.len() + widths.len()) as u64;
        let mut done = 0;
        let mut curves: [Vec<Vec<(f64, f64)>>; 2] = [vec![Vec::new(), Vec::new()], vec![Vec::new(), Vec::new()]];
        let mut all_ratios = Vec::new();
        for (sweep, points) in [("depth", &depths), ("width", &widths)] {
            for &p in points {
                let (depth, width) = if sweep == "depth" { (p, 256) } else { (4, p) };
                ctx.message(format!("depth {depth}, width {width}"));
                let mut sizes = vec![INPUT];
                sizes.extend(std::iter::repeat_n(width, depth));
                sizes.push(CLASSES);
                let (loss, grad, fwd) = time_mlp(&sizes, min_seconds, &mut rng)?;
                let (rg, rj) = (grad / loss, fwd / loss);
                all_ratios.push(rg);
                m.push_row("cost", vec![json!(sweep), json!(depth), json!(width), num(loss), num(rg), num(rj)])?;
                let k = usize::from(sweep == "width");
                curves[k][0].push((p as f64, rg));
                curves[k][1].push((p as f64, rj));
                done += 1;
                ctx.progress(done, total);
            }
        }
        m.scalar("max_grad_over_loss", all_ratios.iter().copied().fold(0.0, f64::max));
        m.scalar("min_grad_over_loss", all_ratios.iter().copied().fold(f64::INFINITY, f64::min));
        for (k, (axis, fig)) in
            [("hidden layers (width 256)", "cost_vs_depth"), ("width (4 hidden layers)", "cost_vs_width")]
                .into_iter()
                .enumerate()
        {
            let mut chart =
                LineChart::new("MLP, batch 128: time relative to the loss alone", axis, "time / time(loss)")
                    .scales(Scale::Log2, Scale::Linear);
            chart.add("value and gradient (reverse mode)", SeriesKind::Line, 0, curves[k][0].clone());
            chart.add("one JVP (forward mode)", SeriesKind::Line, 1, curves[k][1].clone());
            ctx.figure(fig, &chart)?;
        }
        Ok(m)
    }
}
