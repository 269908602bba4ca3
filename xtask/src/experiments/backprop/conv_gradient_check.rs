//! `conv-gradient-check`: the worst error of the explicit convolution backward over the
//! configuration grid stride {1, 2} x padding {0, 1, 2} x dilation {1, 2} x groups {1, C} x
//! input sizes {odd, even}.
//!
//! For each configuration, `L = <u, conv(x, w)>` with Gaussian `x`, `w`, `u` in f64; the
//! explicit backward (`dl_layers::conv2d`, im2col / col2im GEMMs) gives `dL/dx` and `dL/dw`,
//! compared with
//!
//! - reverse-mode autodiff through `dl_layers::reference::conv2d_generic` (padding, window
//!   taps by `index_select`, a grouped `matmul`: no im2col, no hand-written backward);
//! - central finite differences of the direct-loop convolution
//!   `dl_layers::reference::conv2d_direct`. `L` is linear in `x` (and in `w`), so the
//!   central difference has no truncation error: with step `h` it differs from the exact
//!   derivative by rounding only, about `eps |L| / h`.
//!
//! The error of a configuration is `max_i |g_i - r_i| / max_i |r_i|` over both gradients.
//! These are rounding errors, whose exact digits depend on the CPU's GEMM kernel, so the
//! metrics pin their order of magnitude (`ceil(log10(error))`, with exact agreement shown
//! as -inf → -20) and whether every configuration is below the stated tolerance; the figure
//! shows the values themselves.
//!
//! Claims (deterministic given the seed): the explicit backward is the adjoint of the
//! forward convolution in every configuration, so it agrees with both references to
//! rounding: the worst error's decade is at most `log10(TOLERANCE) = -9`. The tolerance
//! depends on the sizes through the finite differences' rounding `eps |L| / h`, with `|L|`
//! of order `sqrt(outputs x taps)`; [`ConvGradientCheck::assumptions`] checks that this
//! estimate (at five standard deviations) stays below the tolerance at both sizes.

use dl_autodiff::{Var, vjp};
use dl_layers::reference::{conv2d_direct, conv2d_generic};
use dl_layers::{ConvGeometry, LayerError, conv2d};
use dl_tensor::{Tensor, Window};
use serde_json::json;

use crate::claims::{Claim, Criterion, Measured};
use crate::context::RunContext;
use crate::error::ExperimentError;
use crate::experiment::{Assumption, Experiment, Size};
use crate::metrics::{Metrics, num};
use crate::plot::{LineChart, Scale, SeriesKind};

/// The explicit convolution backward against autodiff and finite differences.
pub struct ConvGradientCheck;

/// Central-difference step: large, because the loss is linear in each argument.
const FD_STEP: f64 = 1e-3;
/// A configuration passes when both errors are below this (rounding of O(100)-term sums in
/// f64 is ~1e-15 relative; the finite differences add eps |L| / h ~ 1e-12).
const TOLERANCE: f64 = 1e-9;

fn layer_err(e: LayerError) -> ExperimentError {
    ExperimentError::Invalid(format!("dl-layers: {e}"))
}

/// `max |a - r| / max |r|`.
fn rel_err(a: &[f64], r: &[f64]) -> f64 {
    let scale = r.iter().fold(0.0f64, |m, v| m.max(v.abs())).max(f64::MIN_POSITIVE);
    a.iter().zip(r).fold(0.0f64, |m, (x, y)| m.max((x - y).abs())) / scale
}

fn decade(err: f64) -> f64 {
    if err == 0.0 { -20.0 } else { err.log10().ceil() }
}

/// `<u, conv_direct(x, w)>`.
fn loss_direct(x: &Tensor<f64>, w: &Tensor<f64>, u: &[f64], g: &ConvGeometry) -> Result<f64, ExperimentError> {
    let y = conv2d_direct(x, w, g).map_err(layer_err)?;
    Ok(y.to_vec().iter().zip(u).map(|(a, b)| a * b).sum())
}

/// Central differences of `<u, conv_direct>` with respect to every element of `x` (which = 0)
/// or `w` (which = 1).
fn finite_differences(
    x: &Tensor<f64>,
    w: &Tensor<f64>,
    u: &[f64],
    g: &ConvGeometry,
    which: usize,
) -> Result<Vec<f64>, ExperimentError> {
    let base = if which == 0 { x } else { w };
    let shape = base.shape().to_vec();
    let v = base.to_vec();
    let mut out = Vec::with_capacity(v.len());
    for k in 0..v.len() {
        let eval = |delta: f64| -> Result<f64, ExperimentError> {
            let mut p = v.clone();
            p[k] += delta;
            let p = Tensor::from_vec(p, &shape)?;
            if which == 0 { loss_direct(&p, w, u, g) } else { loss_direct(x, &p, u, g) }
        };
        out.push((eval(FD_STEP)? - eval(-FD_STEP)?) / (2.0 * FD_STEP));
    }
    Ok(out)
}

/// Batch, channels in and out, and the two input sizes of `size`.
fn dims(size: Size) -> ((usize, usize, usize), [(usize, usize); 2]) {
    (size.pick((1, 2, 4), (2, 4, 8)), size.pick([(5, 7), (6, 4)], [(11, 13), (12, 10)]))
}

/// Kernel height and width.
const KERNEL: (usize, usize) = (3, 2);

/// The largest expected rounding error of the finite differences over the grid, relative to
/// a gradient of size 1: `5 eps sqrt(outputs x taps) / h` (`|L|` is a sum of `outputs x
/// taps` products of standard normal numbers, of typical size the square root of their
/// count; five standard deviations of margin).
fn fd_rounding_estimate(size: Size) -> f64 {
    let ((n, c, o), inputs) = dims(size);
    let (kh, kw) = KERNEL;
    let mut worst = 0.0f64;
    for &(h, w) in &inputs {
        // the largest output: stride 1, padding 2, dilation 1; the most taps: groups 1
        let (ho, wo) = (h + 4 - kh + 1, w + 4 - kw + 1);
        let terms = (n * o * ho * wo * c * kh * kw) as f64;
        worst = worst.max(5.0 * f64::EPSILON * terms.sqrt() / FD_STEP);
    }
    worst
}

impl Experiment for ConvGradientCheck {
    fn id(&self) -> &'static str {
        "conv-gradient-check"
    }
    fn title(&self) -> &'static str {
        "Convolution: explicit im2col backward against autodiff and finite differences over the configuration grid"
    }
    fn section(&self) -> &'static str {
        "02 specialised backprop"
    }

    fn assumptions(&self, size: Size) -> Vec<Assumption> {
        let estimate = fd_rounding_estimate(size);
        vec![Assumption::new(
            "the finite differences' rounding 5 eps sqrt(outputs x taps) / h stays below the tolerance",
            estimate <= TOLERANCE,
            format!("estimate {estimate:e} against tolerance {TOLERANCE:e}"),
        )]
    }

    fn run(&self, ctx: &mut RunContext) -> Result<Metrics, ExperimentError> {
        let size = ctx.size();
        let ((n, c, o), inputs) = dims(size);
        let (kh, kw) = KERNEL;
        let mut rng = ctx.rng();
        let mut m = Metrics::new();
        m.config("batch", n);
        m.config("in_channels", c);
        m.config("out_channels", o);
        m.config("kernel", json!([kh, kw]));
        m.config("inputs", json!(inputs));
        m.config("fd_step", FD_STEP);
        m.config("tolerance", TOLERANCE);
        m.config("error", "max_i |g_i - r_i| / max_i |r_i| over dL/dx and dL/dw; pinned as ceil(log10), exact = -20");
        m.table(
            "configurations",
            &[
                "stride",
                "padding",
                "dilation",
                "groups",
                "height",
                "width",
                "log10_err_vs_autodiff",
                "log10_err_vs_fd",
                "passed",
            ],
        );
        let (mut worst_ad, mut worst_fd, mut passed) = (0.0f64, 0.0f64, 0usize);
        let mut points_ad = Vec::new();
        let mut points_fd = Vec::new();
        let total = 2 * 3 * 2 * 2 * inputs.len();
        let mut idx = 0;
        for s in [1, 2] {
            for p in [0, 1, 2] {
                for d in [1, 2] {
                    for groups in [1, c] {
                        for &(h, wd) in &inputs {
                            let g = ConvGeometry {
                                h: Window::new(kh).stride(s).padding(p).dilation(d),
                                w: Window::new(kw).stride(s).padding(p).dilation(d),
                                groups,
                            };
                            let xt = Tensor::<f64>::randn(&[n, c, h, wd], &mut rng);
                            let wt = Tensor::<f64>::randn(&[o, c / groups, kh, kw], &mut rng);
                            let (x, w) = (Var::leaf(xt.clone(), true), Var::leaf(wt.clone(), true));
                            let y = conv2d(&x, &w, None, g)?;
                            let u = Tensor::<f64>::randn(y.shape(), &mut rng);
                            let ge = vjp(&y, &u)?;
                            let explicit = [
                                ge.get(&x).ok_or_else(|| ExperimentError::Invalid("no dx".into()))?.to_vec(),
                                ge.get(&w).ok_or_else(|| ExperimentError::Invalid("no dw".into()))?.to_vec(),
                            ];
                            let (xr, wr) = (Var::leaf(xt.clone(), true), Var::leaf(wt.clone(), true));
                            let yr = conv2d_generic(&xr, &wr, &g).map_err(layer_err)?;
                            let gr = vjp(&yr, &u)?;
                            let autodiff = [
                                gr.get(&xr).map(|t| t.to_vec()).unwrap_or_default(),
                                gr.get(&wr).map(|t| t.to_vec()).unwrap_or_default(),
                            ];
                            let uv = u.to_vec();
                            let fd =
                                [finite_differences(&xt, &wt, &uv, &g, 0)?, finite_differences(&xt, &wt, &uv, &g, 1)?];
                            let e_ad = rel_err(&explicit[0], &autodiff[0]).max(rel_err(&explicit[1], &autodiff[1]));
                            let e_fd = rel_err(&explicit[0], &fd[0]).max(rel_err(&explicit[1], &fd[1]));
                            let ok = e_ad < TOLERANCE && e_fd < TOLERANCE;
                            passed += usize::from(ok);
                            worst_ad = worst_ad.max(e_ad);
                            worst_fd = worst_fd.max(e_fd);
                            idx += 1;
                            points_ad.push((idx as f64, e_ad.max(1e-18)));
                            points_fd.push((idx as f64, e_fd.max(1e-18)));
                            m.push_row(
                                "configurations",
                                vec![
                                    json!(s),
                                    json!(p),
                                    json!(d),
                                    json!(groups),
                                    json!(h),
                                    json!(wd),
                                    num(decade(e_ad)),
                                    num(decade(e_fd)),
                                    json!(ok),
                                ],
                            )?;
                            ctx.progress(idx as u64, total as u64);
                        }
                    }
                }
            }
        }
        m.scalar("configurations", total as f64);
        m.scalar("passed", passed as f64);
        m.scalar("log10_worst_err_vs_autodiff", decade(worst_ad));
        m.scalar("log10_worst_err_vs_fd", decade(worst_fd));
        for (id, reference, worst) in [
            (
                "explicit-backward-matches-autodiff",
                "reverse-mode autodiff of a generic (im2col-free) convolution",
                worst_ad,
            ),
            ("explicit-backward-matches-finite-differences", "central differences of direct loops", worst_fd),
        ] {
            m.claim(
                Claim::new(
                    id,
                    &format!(
                        "the explicit im2col/col2im backward of a convolution is the adjoint of its forward for every \
                         stride, padding, dilation and grouping: it matches {reference} to rounding"
                    ),
                    "Chellapilla, Puri & Simard 2006 (convolution as an im2col GEMM); Dumoulin & Visin 2016, \
                     section 4 (the input gradient is a transposed convolution)",
                )
                .measured(
                    "decade of the worst relative error over the configuration grid, ceil(log10 err)",
                    Measured::exact(decade(worst)),
                )
                .criterion(Criterion::at_most(TOLERANCE.log10()))
                .note("decades, not digits: the digits of a rounding error depend on the CPU's GEMM kernel"),
            )?;
        }
        let mut chart = LineChart::new(
            "Explicit conv backward: relative error per configuration",
            "configuration (grid order)",
            "max |g - ref| / max |ref|",
        )
        .scales(Scale::Linear, Scale::Log10);
        chart.add("vs autodiff of generic ops", SeriesKind::Line, 0, points_ad);
        chart.add("vs central differences of direct loops", SeriesKind::Line, 1, points_fd);
        ctx.figure("conv_gradient_errors", &chart)?;
        Ok(m)
    }
}
