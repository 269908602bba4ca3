//! `ntk-cnn-gap`: the infinite-channel kernels of a convolutional network with global
//! average pooling (the CNN-GP of Novak et al. 2019 and the CNTK with GAP of Arora et al.
//! 2019) on the 8x8 digits, 3 (-1) against 8 (+1), images `(1, 8, 8)`.
//!
//! The architecture is `[Conv2d(C, 3x3, same) - ReLU] x 2 - GlobalAvgPool - Dense(1)` in
//! the NTK parameterisation (`sigma_w2 = 2`, `sigma_b2 = 0.1`).
//!
//! 1. Finite against infinite channels: for each channel count `C`, the empirical NTK at
//!    initialisation of a few random finite CNNs (dl-layers convolutions, batched Jacobian
//!    path) against the analytic CNTK of the same images: the relative Frobenius error
//!    (median and mean over the networks; single networks' errors are heavy-tailed, so the
//!    median is the one fitted) and its log-log slope against `C` (theory: -1/2).
//! 2. What the convolutional prior buys: the test error of kernel regression (the
//!    infinitely wide network trained to convergence) with the CNTK against the fully
//!    connected NTK of `[Dense - ReLU] x 2 - Dense(1)` on the flattened images, for growing
//!    training sets.

use dl_init::Activation;
use dl_ntk::predict::kernel_regression;
use dl_ntk::{Architecture, OutputKernel, Parameterisation, empirical_ntk};
use dl_tensor::{Tensor, seeded_rng};

use crate::context::RunContext;
use crate::error::ExperimentError;
use crate::experiment::Experiment;
use crate::experiments::ntk::ntk_common::{Binary, digits_binary, fail, log_log_slope, relative_error, sign_error};
use crate::metrics::{Metrics, num};
use crate::plot::{LineChart, Scale, SeriesKind};

/// The convolutional kernels against finite CNNs and against the fully connected NTK.
pub struct NtkCnnGap;

/// The top-left `(rows, cols)` block of a matrix.
fn block(t: &Tensor<f64>, rows: usize, cols: usize) -> Result<Tensor<f64>, ExperimentError> {
    let (v, n) = (t.to_vec(), t.shape()[1]);
    Ok(Tensor::from_vec((0..rows).flat_map(|i| v[i * n..i * n + cols].to_vec()).collect(), &[rows, cols])?)
}

/// The first `n` images of a `(N, 64)` batch as `(n, 1, 8, 8)`.
fn images(x: &Tensor<f64>, n: usize) -> Result<Tensor<f64>, ExperimentError> {
    Ok(x.narrow(0, 0, n)?.contiguous().reshape(&[n, 1, 8, 8])?)
}

impl Experiment for NtkCnnGap {
    fn id(&self) -> &'static str {
        "ntk-cnn-gap"
    }
    fn title(&self) -> &'static str {
        "Convolutional NNGP and NTK with global average pooling: finite CNNs against infinite channels, and the CNTK against the MLP NTK"
    }
    fn section(&self) -> &'static str {
        "05 neural tangent kernel"
    }

    fn run(&self, ctx: &mut RunContext) -> Result<Metrics, ExperimentError> {
        let size = ctx.size();
        let channels: Vec<usize> = size.pick(vec![8, 32, 128], vec![8, 32, 128, 512]);
        let networks = size.pick(3, 8);
        let n_kernel = size.pick(6, 16);
        let train_sizes: Vec<usize> = size.pick(vec![16, 32, 64], vec![16, 32, 64, 128, 256]);
        let n_test = size.pick(64, 100);
        let n_max = *train_sizes.last().expect("sizes");
        let (sigma_w2, sigma_b2) = (2.0, 0.1);
        let data: Binary = digits_binary(3, 8, n_max, n_test, ctx.seed())?;
        let cnn = Architecture::cnn(2, 1, &[3, 3], Activation::Relu, sigma_w2, sigma_b2, 1, Parameterisation::Ntk)
            .map_err(fail)?;
        let mlp =
            Architecture::mlp(2, 1, Activation::Relu, sigma_w2, sigma_b2, 1, Parameterisation::Ntk).map_err(fail)?;
        let mut m = Metrics::new();
        m.config("digits", "3 (-1) against 8 (+1), 8x8 images, centred and scaled to x . x / 64 = 1");
        m.config("architecture", "[Conv2d(C, 3x3, same) - ReLU] x 2 - GlobalAvgPool - Dense(1), NTK parameterisation, sigma_w2 = 2, sigma_b2 = 0.1");
        m.config("mlp_architecture", "[Dense - ReLU] x 2 - Dense(1), same variances");
        m.config("channels", channels.clone());
        m.config("networks_per_channel_count", networks);
        m.config("kernel_images", n_kernel);
        m.config("train_sizes", train_sizes.clone());
        m.config("n_test", n_test);
        let steps = (channels.len() + train_sizes.len()) as u64;

        // 1. finite CNNs against the analytic CNTK
        let x = images(&data.x_train, n_kernel)?;
        let exact = cnn.kernels(&x, None).map_err(fail)?.ntk;
        m.table(
            "kernel_error",
            &[
                "channels",
                "relative_frobenius_error_median",
                "relative_frobenius_error_mean",
                "relative_frobenius_error_std",
            ],
        );
        let mut rng = seeded_rng(ctx.seed() ^ 0xc22);
        let mut curve = Vec::new();
        for (i, &c) in channels.iter().enumerate() {
            let finite =
                Architecture::cnn(2, c, &[3, 3], Activation::Relu, sigma_w2, sigma_b2, 1, Parameterisation::Ntk)
                    .map_err(fail)?;
            let mut errs = Vec::new();
            for _ in 0..networks {
                let net = finite.sample(1, &mut rng).map_err(fail)?;
                let emp = empirical_ntk(&net, &x, None, OutputKernel::Trace, 256 << 20).map_err(fail)?;
                errs.push(relative_error(&emp.kernel, &exact));
            }
            let mean = errs.iter().sum::<f64>() / errs.len() as f64;
            let std =
                (errs.iter().map(|e| (e - mean) * (e - mean)).sum::<f64>() / (errs.len() - 1).max(1) as f64).sqrt();
            errs.sort_by(f64::total_cmp);
            let mid = errs.len() / 2;
            let median = if errs.len() % 2 == 1 { errs[mid] } else { 0.5 * (errs[mid - 1] + errs[mid]) };
            m.push_row("kernel_error", vec![num(c as f64), num(median), num(mean), num(std)])?;
            curve.push((c as f64, median));
            ctx.progress(i as u64 + 1, steps);
        }
        let slope = log_log_slope(&curve);
        m.scalar("kernel_error_slope", slope);
        m.scalar("kernel_error_at_most_channels", curve.last().expect("rows").1);
        let mut chart =
            LineChart::new("Empirical CNN NTK against the analytic CNTK", "channels C", "relative Frobenius error")
                .scales(Scale::Log2, Scale::Log10);
        chart.add(&format!("median over {networks} networks (slope {slope:.2})"), SeriesKind::Line, 0, curve.clone());
        let c0 = curve[0];
        chart.add(
            "1 / sqrt(C)",
            SeriesKind::Line,
            1,
            channels.iter().map(|&c| (c as f64, c0.1 * (c0.0 / c as f64).sqrt())).collect(),
        );
        ctx.figure("kernel_error", &chart)?;

        // 2. kernel regression: CNTK against the fully connected NTK
        let (xtr_img, xte_img) = (images(&data.x_train, n_max)?, images(&data.x_test, n_test)?);
        let cnn_train = cnn.kernels(&xtr_img, None).map_err(fail)?.ntk;
        let cnn_cross = cnn.kernels(&xte_img, Some(&xtr_img)).map_err(fail)?.ntk;
        let mlp_train = mlp.kernels(&data.x_train, None).map_err(fail)?.ntk;
        let mlp_cross = mlp.kernels(&data.x_test, Some(&data.x_train)).map_err(fail)?.ntk;
        m.table("test_error", &["n_train", "kernel", "test_error"]);
        let (mut e_cnn, mut e_mlp) = (Vec::new(), Vec::new());
        for (i, &n) in train_sizes.iter().enumerate() {
            let y = data.y_train.narrow(0, 0, n)?.contiguous();
            for (name, train, cross, out) in
                [("cntk", &cnn_train, &cnn_cross, &mut e_cnn), ("mlp_ntk", &mlp_train, &mlp_cross, &mut e_mlp)]
            {
                let (pred, _) =
                    kernel_regression(&block(train, n, n)?, &block(cross, n_test, n)?, &y, 1e-6).map_err(fail)?;
                let err = sign_error(&pred, &data.y_test);
                m.push_row("test_error", vec![num(n as f64), name.into(), num(err)])?;
                out.push((n as f64, err));
            }
            ctx.progress((channels.len() + i) as u64 + 1, steps);
        }
        m.scalar("test_error_cntk_at_largest_n", e_cnn.last().expect("rows").1);
        m.scalar("test_error_mlp_ntk_at_largest_n", e_mlp.last().expect("rows").1);
        let mut chart =
            LineChart::new("Kernel regression (t = infinity) on digits 3 vs 8", "training points n", "test error")
                .scales(Scale::Log2, Scale::Linear);
        chart.add("CNTK with GAP", SeriesKind::Line, 0, e_cnn);
        chart.add("MLP NTK", SeriesKind::Line, 1, e_mlp);
        ctx.figure("test_error", &chart)?;
        Ok(m)
    }
}
