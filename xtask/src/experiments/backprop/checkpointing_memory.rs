//! `checkpointing-memory`: activation memory of backpropagation against depth, with and
//! without gradient checkpointing (Chen et al. 2016, "Training deep nets with sublinear
//! memory cost").
//!
//! Plain reverse mode keeps every layer's activations until the backward pass reads them:
//! O(L) memory for L layers. Checkpointing keeps only the inputs of segments of s layers
//! and recomputes a segment's activations when the backward pass reaches it: O(L/s + s),
//! which is O(sqrt L) at s = sqrt L, for one extra forward pass. The experiment measures
//! the peak bytes held by recorded activations (`dl_autodiff::peak_activation_bytes`)
//! during loss + backward of the reference MLP, fits the exponent of peak bytes against
//! L on a log-log scale (expected: about 1 without, about 1/2 with checkpointing), and
//! checks that the gradients are bit-identical. Byte counts are deterministic, so the
//! numbers are snapshot-tested.
//!
//! Claims (deterministic: byte counts do not depend on the random weights): the fitted
//! exponent is 1 ± 0.1 without checkpointing and 1/2 ± 0.1 with segments of `sqrt L` (the
//! tolerance absorbs the additive constants of the first and last layers at small `L`, and
//! the rounding of `sqrt L` to a segment length); the checkpointed gradients are
//! bit-identical to the plain ones (recomputation repeats the same operations in the same
//! order).

use dl_autodiff::Var;
use dl_autodiff::mlp::Mlp;
use dl_autodiff::mode::{peak_activation_bytes, reset_peak_activation_bytes};
use dl_tensor::Tensor;
use serde_json::json;

use crate::claims::{Claim, Criterion, Measured};
use crate::context::RunContext;
use crate::error::ExperimentError;
use crate::experiment::Experiment;
use crate::metrics::{Metrics, num};
use crate::plot::{LineChart, Scale, SeriesKind};

/// Activation memory against depth, with and without checkpointing.
pub struct CheckpointingMemory;

/// Least-squares slope of log y against log x.
fn log_log_slope(points: &[(f64, f64)]) -> f64 {
    let pts: Vec<(f64, f64)> = points.iter().map(|&(x, y)| (x.ln(), y.ln())).collect();
    let n = pts.len() as f64;
    let (mx, my) = (pts.iter().map(|p| p.0).sum::<f64>() / n, pts.iter().map(|p| p.1).sum::<f64>() / n);
    let sxy: f64 = pts.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    let sxx: f64 = pts.iter().map(|p| (p.0 - mx).powi(2)).sum();
    sxy / sxx
}

impl Experiment for CheckpointingMemory {
    fn id(&self) -> &'static str {
        "checkpointing-memory"
    }
    fn title(&self) -> &'static str {
        "Gradient checkpointing: activation memory O(L) without, O(sqrt L) with sqrt(L)-layer segments"
    }
    fn section(&self) -> &'static str {
        "02 backpropagation"
    }

    fn run(&self, ctx: &mut RunContext) -> Result<Metrics, ExperimentError> {
        let depths: Vec<usize> = ctx.size().pick(vec![4, 9, 16, 25], vec![4, 9, 16, 25, 36, 64, 100]);
        let (batch, width) = (32, 64);
        let mut m = Metrics::new();
        m.config("depths", json!(depths));
        m.config("batch", batch);
        m.config("width", width);
        m.config("dtype", "f64");
        m.config("segment_length", "round(sqrt(L))");
        m.table(
            "memory",
            &["layers", "segment", "peak_bytes_plain", "peak_bytes_checkpointed", "ratio", "bit_identical"],
        );
        let mut rng = ctx.rng();
        let (mut plain_pts, mut ckpt_pts) = (Vec::new(), Vec::new());
        let (mut all_identical, mut identical_depths) = (true, 0usize);
        for (i, &depth) in depths.iter().enumerate() {
            let mut sizes = vec![width];
            sizes.extend(std::iter::repeat_n(width, depth - 1));
            sizes.push(10);
            let mlp = Mlp::<f64>::new(&sizes, &mut rng)?;
            let x = Var::constant(Tensor::<f64>::randn(&[batch, width], &mut rng));
            let labels: Vec<usize> = (0..batch).map(|i| i % 10).collect();
            let segment = (depth as f64).sqrt().round() as usize;
            let measure = |seg: usize| -> Result<(usize, Vec<Vec<u64>>), ExperimentError> {
                reset_peak_activation_bytes();
                let base = peak_activation_bytes();
                let loss = mlp.loss_checkpointed(&x, &labels, seg)?;
                let mut grads = loss.backward()?;
                let peak = peak_activation_bytes() - base;
                let bits = mlp
                    .params
                    .iter()
                    .map(|p| {
                        grads.take(p).map(|g| g.to_vec().iter().map(|v| v.to_bits()).collect()).unwrap_or_default()
                    })
                    .collect();
                Ok((peak, bits))
            };
            let (plain, g_plain) = measure(0)?;
            let (ckpt, g_ckpt) = measure(segment)?;
            let identical = g_plain == g_ckpt;
            all_identical &= identical;
            identical_depths += usize::from(identical);
            m.push_row(
                "memory",
                vec![
                    json!(depth),
                    json!(segment),
                    json!(plain),
                    json!(ckpt),
                    num(plain as f64 / ckpt as f64),
                    json!(identical),
                ],
            )?;
            plain_pts.push((depth as f64, plain as f64));
            ckpt_pts.push((depth as f64, ckpt as f64));
            ctx.progress(i as u64 + 1, depths.len() as u64);
        }
        let (plain_exp, ckpt_exp) = (log_log_slope(&plain_pts), log_log_slope(&ckpt_pts));
        m.scalar("exponent_plain", plain_exp);
        m.scalar("exponent_checkpointed", ckpt_exp);
        m.scalar_value("gradients_bit_identical", all_identical);
        m.claim(
            Claim::new(
                "plain-memory-linear",
                "plain reverse mode keeps every layer's activations until the backward pass: O(L) memory",
                "Chen, Xu, Zhang & Guestrin 2016, 'Training deep nets with sublinear memory cost', section 3",
            )
            .measured("fitted exponent of peak activation bytes against L (log-log)", Measured::exact(plain_exp))
            .criterion(Criterion::within(1.0, 0.1)),
        )?;
        m.claim(
            Claim::new(
                "checkpointed-memory-sqrt",
                "checkpointing with segments of sqrt(L) layers keeps O(L / s + s) = O(sqrt L) activations, for one \
                 extra forward pass",
                "Chen, Xu, Zhang & Guestrin 2016, section 3 (the sqrt(n) strategy)",
            )
            .measured("fitted exponent of peak activation bytes against L (log-log)", Measured::exact(ckpt_exp))
            .criterion(Criterion::within(0.5, 0.1)),
        )?;
        m.claim(
            Claim::new(
                "checkpointed-gradients-identical",
                "recomputing a segment's activations repeats the same operations, so checkpointing changes memory, \
                 not the gradient",
                "Chen et al. 2016, section 3; Griewank & Walther 2000 (revolve)",
            )
            .measured(
                "fraction of depths whose gradients are bit-identical",
                Measured::exact(identical_depths as f64 / depths.len() as f64),
            )
            .criterion(Criterion::at_least(1.0)),
        )?;
        let mut chart = LineChart::new("Peak activation memory of loss + backward", "layers L", "peak bytes")
            .scales(Scale::Log2, Scale::Log2);
        chart.add("plain reverse mode", SeriesKind::Line, 0, plain_pts);
        chart.add("checkpointed, segments of sqrt(L)", SeriesKind::Line, 1, ckpt_pts);
        ctx.figure("memory_vs_depth", &chart)?;
        Ok(m)
    }
}
