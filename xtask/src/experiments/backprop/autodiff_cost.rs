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
//!
//! Claims (measured timings; one run, medians over repetitions, the worst configuration):
//! value and gradient cost at most 5 times the loss (the cheap-gradient bound of Baur &
//! Strassen 1983 and Griewank & Walther 2008, chapter 4: a gradient costs a small constant
//! times the function, at most 5 with memory traffic counted); one JVP (value and one
//! tangent) costs at most 5 times the loss as well (Griewank & Walther 2008, chapter 3: the
//! tangent of each elementary operation is a few operations more; for a dense layer, three
//! GEMMs for the forward's one), so a gradient by forward mode costs that times the number
//! of parameters.

use std::hint::black_box;
use std::time::Instant;

use dl_autodiff::mlp::Mlp;
use dl_autodiff::{Var, jvp, no_grad};
use dl_tensor::{Tensor, TensorRng};
use serde_json::json;

use crate::claims::{Claim, Criterion, Measured};
use crate::context::RunContext;
use crate::error::ExperimentError;
use crate::experiment::Experiment;
use crate::metrics::{Metrics, num};
use crate::plot::{LineChart, Scale, SeriesKind};
use crate::timing::{Stopwatch, cpu_clock_name};

/// Cost of gradients and JVPs relative to the loss.
pub struct AutodiffCost;

const BATCH: usize = 128;
const INPUT: usize = 64;
const CLASSES: usize = 10;

/// Median processor seconds of each of `fs` (see [`crate::timing`]), timed in turn (one
/// call of each per round) until every one has run at least 5 times and the rounds have
/// filled `min_seconds` of wall time per function: processor time leaves out the waits a
/// shared machine adds, and a load that comes and goes falls on all of them alike.
fn median_seconds_interleaved<const N: usize>(
    min_seconds: f64,
    fs: [&dyn Fn() -> Result<(), ExperimentError>; N],
) -> Result<[f64; N], ExperimentError> {
    for f in &fs {
        f()?; // warm-up
    }
    let mut times: [Vec<f64>; N] = std::array::from_fn(|_| Vec::new());
    let start = Instant::now();
    while times[0].len() < 5 || (start.elapsed().as_secs_f64() < N as f64 * min_seconds && times[0].len() < 10_000) {
        for (f, t) in fs.iter().zip(times.iter_mut()) {
            let watch = Stopwatch::start();
            f()?;
            t.push(watch.cpu());
        }
    }
    Ok(times.map(|mut t| {
        t.sort_by(f64::total_cmp);
        t[t.len() / 2]
    }))
}

/// (loss, value-and-grad, jvp) median seconds for one architecture.
fn time_mlp(sizes: &[usize], min_seconds: f64, rng: &mut TensorRng) -> Result<(f64, f64, f64), ExperimentError> {
    let mlp = Mlp::<f32>::new(sizes, rng)?;
    let x = Var::constant(Tensor::<f32>::randn(&[BATCH, INPUT], rng));
    let labels: Vec<usize> = (0..BATCH).map(|i| (i * 7) % CLASSES).collect();
    let values: Vec<Tensor<f32>> = mlp.params.iter().map(|p| p.value().clone()).collect();
    let direction: Vec<Tensor<f32>> = values.iter().map(|v| Tensor::randn(v.shape(), rng)).collect();
    let loss = || -> Result<(), ExperimentError> {
        black_box(no_grad(|| mlp.loss(&x, &labels))?);
        Ok(())
    };
    let grad = || -> Result<(), ExperimentError> {
        black_box(mlp.value_and_grad(&x, &labels)?);
        Ok(())
    };
    let forward = || -> Result<(), ExperimentError> {
        black_box(jvp(|ps: &[Var<f32>]| Mlp::loss_with(ps, &x, &labels), &values, &direction)?);
        Ok(())
    };
    let [l, g, f] = median_seconds_interleaved(min_seconds, [&loss, &grad, &forward])?;
    Ok((l, g, f))
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
        m.config("clock", cpu_clock_name());
        m.config("depths_at_width_256", json!(depths));
        m.config("widths_at_depth_4", json!(widths));
        m.config(
            "statistic",
            "median processor seconds, the three computations timed in turn; ratios are to the loss computed without \
             a tape",
        );
        m.table("cost", &["sweep", "depth", "width", "loss_seconds", "grad_over_loss", "jvp_over_loss"]);
        let mut rng = ctx.rng();
        let total = (depths.len() + widths.len()) as u64;
        let mut done = 0;
        let mut curves: [Vec<Vec<(f64, f64)>>; 2] = [vec![Vec::new(), Vec::new()], vec![Vec::new(), Vec::new()]];
        let (mut all_ratios, mut jvp_ratios) = (Vec::new(), Vec::new());
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
                jvp_ratios.push(rj);
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
        let worst_jvp = jvp_ratios.iter().copied().fold(0.0, f64::max);
        m.scalar("max_jvp_over_loss", worst_jvp);
        m.claim(
            Claim::new(
                "cheap-gradient",
                "reverse mode computes the whole gradient of a scalar loss for a small constant times the cost of the \
                 loss itself, at most 5 (for an MLP: two backward GEMMs per layer for the forward's one, about 3)",
                "Baur & Strassen 1983; Griewank & Walther 2008, 'Evaluating derivatives', chapter 4 (cheap gradient \
                 principle)",
            )
            .measured(
                "largest time(value and gradient) / time(loss) over the depth and width sweeps",
                Measured::exact(all_ratios.iter().copied().fold(0.0, f64::max)),
            )
            .criterion(Criterion::at_most(5.0))
            .note("measured processor times (not pinned by the snapshots); medians over repetitions"),
        )?;
        m.claim(
            Claim::new(
                "jvp-small-constant",
                "forward mode pushes one tangent for a small constant times the cost of the loss, at most 5 (for a \
                 dense layer W x, W dx + dW x: three GEMMs for the forward's one), so a full gradient by forward \
                 mode costs that times the number of parameters",
                "Griewank & Walther 2008, 'Evaluating derivatives', chapter 3 (tangent mode complexity)",
            )
            .measured("largest time(one JVP) / time(loss) over the depth and width sweeps", Measured::exact(worst_jvp))
            .criterion(Criterion::at_most(5.0))
            .note("measured processor times (not pinned by the snapshots); medians over repetitions"),
        )?;
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
