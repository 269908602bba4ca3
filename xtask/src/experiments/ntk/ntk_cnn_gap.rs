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
//!
//! Replicates: each replicate seed (3 at full size, 1 at quick) draws the images and its
//! own random CNNs (3 per channel count; the median is fitted per replicate). The first
//! version fitted the median of 8 networks on one split. Claims: the kernel error's slope
//! against the channel count is -1/2 within 0.1 (partly 0.2; Novak et al. 2019, the
//! central limit theorem over channels), and the CNTK's test error is at most the MLP
//! NTK's, averaged over the training sizes (Arora et al. 2019: CNTK-GAP against the fully
//! connected NTK on CIFAR-10).

use dl_init::Activation;
use dl_ntk::predict::kernel_regression;
use dl_ntk::{Architecture, OutputKernel, Parameterisation, empirical_ntk};
use dl_tensor::{Tensor, seeded_rng};
use serde_json::json;

use crate::claims::{Claim, Criterion, Measured, mean_and_spread};
use crate::context::{RunContext, derive_seed};
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
        let networks = 3;
        let n_kernel = size.pick(6, 16);
        let train_sizes: Vec<usize> = size.pick(vec![16, 32, 64], vec![16, 32, 64, 128, 256]);
        let n_test = size.pick(64, 100);
        let seeds = ctx.replicate_seeds(size.pick(1, 3));
        let mut m = Metrics::new();
        m.config("digits", "3 (-1) against 8 (+1), 8x8 images, centred and scaled to x . x / 64 = 1");
        m.config("architecture", "[Conv2d(C, 3x3, same) - ReLU] x 2 - GlobalAvgPool - Dense(1), NTK parameterisation, sigma_w2 = 2, sigma_b2 = 0.1");
        m.config("mlp_architecture", "[Dense - ReLU] x 2 - Dense(1), same variances");
        m.config("channels", channels.clone());
        m.config("networks_per_channel_count", networks);
        m.config("kernel_images", n_kernel);
        m.config("train_sizes", train_sizes.clone());
        m.config("n_test", n_test);
        m.config("replicate_seeds", json!(seeds));
        let mut runs = Vec::with_capacity(seeds.len());
        for (r, &seed) in seeds.iter().enumerate() {
            ctx.message(format!("replicate {r}"));
            runs.push(replicate(&channels, networks, n_kernel, &train_sizes, n_test, seed)?);
            ctx.progress(r as u64 + 1, seeds.len() as u64);
        }
        m.table(
            "kernel_error",
            &[
                "channels",
                "relative_frobenius_error_median",
                "relative_frobenius_error_mean",
                "relative_frobenius_error_std",
                "median_over_replicates_mean",
                "median_over_replicates_sd",
            ],
        );
        for (i, &c) in channels.iter().enumerate() {
            let errs = &runs[0].errors[i];
            let (mean, std) = mean_and_spread(errs);
            let (mm, ms) = mean_and_spread(&runs.iter().map(|r| r.median_curve[i].1).collect::<Vec<_>>());
            m.push_row(
                "kernel_error",
                vec![num(c as f64), num(runs[0].median_curve[i].1), num(mean), num(std), num(mm), num(ms)],
            )?;
        }
        let slopes = Measured::over_seeds(&runs.iter().map(|r| log_log_slope(&r.median_curve)).collect::<Vec<_>>());
        m.scalar("kernel_error_slope", slopes.mean);
        m.scalar("kernel_error_slope_spread", slopes.spread);
        m.scalar(
            "kernel_error_at_most_channels",
            mean_and_spread(&runs.iter().map(|r| r.median_curve[channels.len() - 1].1).collect::<Vec<_>>()).0,
        );
        let mut chart =
            LineChart::new("Empirical CNN NTK against the analytic CNTK", "channels C", "relative Frobenius error")
                .scales(Scale::Log2, Scale::Log10);
        let medians: Vec<Vec<(f64, f64)>> = runs.iter().map(|r| r.median_curve.clone()).collect();
        chart.add_over_seeds(
            &format!("median over {networks} networks (slope {:.2})", slopes.mean),
            SeriesKind::Line,
            0,
            &medians,
        );
        let c0 = (channels[0] as f64, mean_and_spread(&medians.iter().map(|c| c[0].1).collect::<Vec<_>>()).0);
        chart.add(
            "1 / sqrt(C)",
            SeriesKind::Line,
            1,
            channels.iter().map(|&c| (c as f64, c0.1 * (c0.0 / c as f64).sqrt())).collect(),
        );
        ctx.figure("kernel_error", &chart)?;

        m.table("test_error", &["n_train", "kernel", "test_error", "test_error_mean_over_replicates"]);
        for (i, &n) in train_sizes.iter().enumerate() {
            for (k, name) in ["cntk", "mlp_ntk"].into_iter().enumerate() {
                let mean = mean_and_spread(&runs.iter().map(|r| r.test_errors[k][i]).collect::<Vec<_>>()).0;
                m.push_row("test_error", vec![num(n as f64), name.into(), num(runs[0].test_errors[k][i]), num(mean)])?;
            }
        }
        let last = train_sizes.len() - 1;
        m.scalar(
            "test_error_cntk_at_largest_n",
            mean_and_spread(&runs.iter().map(|r| r.test_errors[0][last]).collect::<Vec<_>>()).0,
        );
        m.scalar(
            "test_error_mlp_ntk_at_largest_n",
            mean_and_spread(&runs.iter().map(|r| r.test_errors[1][last]).collect::<Vec<_>>()).0,
        );
        let mut chart =
            LineChart::new("Kernel regression (t = infinity) on digits 3 vs 8", "training points n", "test error")
                .scales(Scale::Log2, Scale::Linear);
        for (k, name) in ["CNTK with GAP", "MLP NTK"].into_iter().enumerate() {
            let curves: Vec<Vec<(f64, f64)>> = runs
                .iter()
                .map(|r| train_sizes.iter().zip(&r.test_errors[k]).map(|(&n, &e)| (n as f64, e)).collect())
                .collect();
            chart.add_over_seeds(name, SeriesKind::Line, k, &curves);
        }
        ctx.figure("test_error", &chart)?;
        m.claim(
            Claim::new(
                "cntk-converges-with-channels",
                "the empirical NTK of a random CNN with global average pooling converges to the analytic CNTK as the \
                 channel count grows, with fluctuations of order 1 / sqrt(C)",
                "Novak et al. 2019, 'Bayesian deep convolutional networks with many channels are Gaussian processes'; \
                 Arora et al. 2019, 'On exact computation with an infinitely wide neural net' (CNTK)",
            )
            .measured("fitted slope of log median relative Frobenius error against log C", slopes)
            .criterion(Criterion::within(-0.5, 0.1))
            .partly_if(Criterion::within(-0.5, 0.2)),
        )?;
        let advantage: Vec<f64> = runs
            .iter()
            .map(|r| {
                r.test_errors[1].iter().zip(&r.test_errors[0]).map(|(mlp, cnn)| mlp - cnn).sum::<f64>()
                    / train_sizes.len() as f64
            })
            .collect();
        m.claim(
            Claim::new(
                "convolutional-prior-helps",
                "the convolutional kernel's prior (locality, weight sharing, pooling) gives kernel regression a test \
                 error no larger than the fully connected NTK's",
                "Arora et al. 2019, table 1 (CNTK-GAP against the fully connected NTK on CIFAR-10); Novak et al. 2019",
            )
            .measured(
                "MLP-NTK test error minus CNTK test error, averaged over the training sizes",
                Measured::over_seeds(&advantage),
            )
            .criterion(Criterion::at_least(0.0))
            .note("two classes of 8x8 digits are easy for both kernels: the paper's gap is on CIFAR-10"),
        )?;
        Ok(m)
    }
}

/// What one replicate measures.
struct Replicate {
    /// Per channel count, the relative errors of the networks.
    errors: Vec<Vec<f64>>,
    /// `(C, median error)`.
    median_curve: Vec<(f64, f64)>,
    /// Test errors per training size: `[cntk, mlp_ntk]`.
    test_errors: [Vec<f64>; 2],
}

/// One replicate: images and random CNNs drawn from `seed`.
fn replicate(
    channels: &[usize],
    networks: usize,
    n_kernel: usize,
    train_sizes: &[usize],
    n_test: usize,
    seed: u64,
) -> Result<Replicate, ExperimentError> {
    let (sigma_w2, sigma_b2) = (2.0, 0.1);
    let n_max = *train_sizes.last().expect("sizes");
    let data: Binary = digits_binary(3, 8, n_max, n_test, seed)?;
    let cnn = Architecture::cnn(2, 1, &[3, 3], Activation::Relu, sigma_w2, sigma_b2, 1, Parameterisation::Ntk)
        .map_err(fail)?;
    let mlp = Architecture::mlp(2, 1, Activation::Relu, sigma_w2, sigma_b2, 1, Parameterisation::Ntk).map_err(fail)?;
    // 1. finite CNNs against the analytic CNTK
    let x = images(&data.x_train, n_kernel)?;
    let exact = cnn.kernels(&x, None).map_err(fail)?.ntk;
    let (mut errors, mut median_curve) = (Vec::new(), Vec::new());
    for &c in channels {
        let finite = Architecture::cnn(2, c, &[3, 3], Activation::Relu, sigma_w2, sigma_b2, 1, Parameterisation::Ntk)
            .map_err(fail)?;
        let mut rng = seeded_rng(derive_seed(seed, "channels", c as u64));
        let mut errs = Vec::new();
        for _ in 0..networks {
            let net = finite.sample(1, &mut rng).map_err(fail)?;
            let emp = empirical_ntk(&net, &x, None, OutputKernel::Trace, 256 << 20).map_err(fail)?;
            errs.push(relative_error(&emp.kernel, &exact));
        }
        let mut sorted = errs.clone();
        sorted.sort_by(f64::total_cmp);
        let mid = sorted.len() / 2;
        let median = if sorted.len() % 2 == 1 { sorted[mid] } else { 0.5 * (sorted[mid - 1] + sorted[mid]) };
        median_curve.push((c as f64, median));
        errors.push(errs);
    }
    // 2. kernel regression: CNTK against the fully connected NTK
    let (xtr_img, xte_img) = (images(&data.x_train, n_max)?, images(&data.x_test, n_test)?);
    let cnn_train = cnn.kernels(&xtr_img, None).map_err(fail)?.ntk;
    let cnn_cross = cnn.kernels(&xte_img, Some(&xtr_img)).map_err(fail)?.ntk;
    let mlp_train = mlp.kernels(&data.x_train, None).map_err(fail)?.ntk;
    let mlp_cross = mlp.kernels(&data.x_test, Some(&data.x_train)).map_err(fail)?.ntk;
    let mut test_errors = [Vec::new(), Vec::new()];
    for &n in train_sizes {
        let y = data.y_train.narrow(0, 0, n)?.contiguous();
        for (k, (train, cross)) in [(&cnn_train, &cnn_cross), (&mlp_train, &mlp_cross)].into_iter().enumerate() {
            let (pred, _) =
                kernel_regression(&block(train, n, n)?, &block(cross, n_test, n)?, &y, 1e-6).map_err(fail)?;
            test_errors[k].push(sign_error(&pred, &data.y_test));
        }
    }
    Ok(Replicate { errors, median_curve, test_errors })
}
