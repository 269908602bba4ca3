//! Kernel regression beyond memory: the analytic NTK of a 3-hidden-layer ReLU network on
//! `N` points computed as tiles on disk ([`dl_ntk::tiled::TileStore`]), then solved by
//! conjugate gradients streaming the tiles within a memory budget, and used to predict
//! `M` test points. Prints the time of the kernel and of the solve, the iterations, the
//! residual, the test error and the process's peak resident memory (VmHWM).
//!
//! ```text
//! nice -n 19 cargo run --release -p dl-ntk --example tiled_kernel -- \
//!     --n 30000 --tile 2000 --budget-gb 2 --dir /tmp/tiles [--shard k/n] [--t T] [--check]
//! ```
//!
//! Points lie on the unit sphere in 8 dimensions, targets are
//! `sin(3 x.u) + (x.v)^2 / 2`. `--shard k/n` computes one share of the tiles and stops (run
//! every share, on any machines sharing `--dir`, then once more without `--shard` to solve).
//! A re-run reuses the tiles already on disk. `--t T` also runs the gradient-flow prediction
//! at time `T` (Chebyshev, learning rate 1). `--check` compares with the in-memory solve
//! (`predict::kernel_regression`; only for an `N` whose kernel fits in memory).

use std::time::Instant;

use dl_init::Activation;
use dl_ntk::predict::kernel_regression;
use dl_ntk::tiled::{
    KernelKind, Shard, TileStore, TiledKernel, TiledMethod, TiledOptions, gradient_flow_tiled, kernel_regression_tiled,
    predict_tiled,
};
use dl_ntk::{Architecture, NtkError, Parameterisation, Result};
use dl_tensor::{Tensor, seeded_rng};

/// The example's settings (see the module documentation).
#[derive(Clone, Debug)]
pub struct Args {
    /// Training points.
    pub n: usize,
    /// Test points.
    pub m: usize,
    /// Tile size (points per block).
    pub tile: usize,
    /// The solver's memory budget in bytes.
    pub budget: usize,
    /// The tile store's directory.
    pub dir: std::path::PathBuf,
    /// Compute only this share of the tiles.
    pub shard: Option<Shard>,
    /// Also predict at this finite time.
    pub t: Option<f64>,
    /// Compare with the in-memory solve.
    pub check: bool,
    /// The relative ridge.
    pub diag_reg: f64,
}

/// What the example measured.
#[derive(Debug, Default)]
pub struct Summary {
    /// Tiles computed / reused.
    pub computed: usize,
    /// Tiles found on disk with matching checksums.
    pub reused: usize,
    /// Seconds to compute the tiles.
    pub kernel_seconds: f64,
    /// Seconds of the CG solve.
    pub solve_seconds: f64,
    /// CG iterations.
    pub iterations: usize,
    /// The recomputed relative residual.
    pub relative_residual: f64,
    /// Test MSE of the kernel-regression prediction.
    pub test_mse: f64,
    /// Test MSE of predicting 0 (the targets' scale).
    pub zero_mse: f64,
    /// Relative difference from the in-memory prediction (`--check`).
    pub in_memory_difference: Option<f64>,
    /// The solver's working set, bytes.
    pub working_set: usize,
}

/// `n` points on the sphere in 8 dimensions and their targets.
fn data(n: usize, seed: u64) -> (Tensor<f64>, Tensor<f64>) {
    let d = 8;
    let g = Tensor::<f64>::randn(&[n, d], &mut seeded_rng(seed)).to_vec();
    let mut x = Vec::with_capacity(n * d);
    let mut y = Vec::with_capacity(n);
    for row in g.chunks(d) {
        let norm = row.iter().map(|v| v * v).sum::<f64>().sqrt();
        let p: Vec<f64> = row.iter().map(|v| v / norm).collect();
        let (u, v) = (p[0] + p[1] - p[2], p[3] - p[4] + 0.5 * p[5]);
        y.push((3.0 * u / 3f64.sqrt()).sin() + 0.5 * v * v);
        x.extend(p);
    }
    (Tensor::from_vec(x, &[n, d]).expect("n d values"), Tensor::from_vec(y, &[n, 1]).expect("n values"))
}

fn mse(a: &Tensor<f64>, b: &Tensor<f64>) -> f64 {
    let (a, b) = (a.to_vec(), b.to_vec());
    a.iter().zip(&b).map(|(a, b)| (a - b).powi(2)).sum::<f64>() / a.len() as f64
}

/// The process's peak resident set (VmHWM), in bytes.
pub fn peak_rss() -> Option<usize> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    Some(line.split_whitespace().nth(1)?.parse::<usize>().ok()? * 1024)
}

/// Computes (or resumes) the store and, unless `--shard` was given, solves and predicts.
pub fn run(args: &Args) -> Result<Summary> {
    let arch = Architecture::mlp(3, 1, Activation::Relu, 2.0, 0.1, 1, Parameterisation::Ntk)?;
    let (x, y) = data(args.n, 1);
    let (x_test, y_test) = data(args.m, 2);
    let mut s = Summary::default();
    let start = Instant::now();
    let report = TileStore::compute(&args.dir, &arch, &x, args.tile, args.shard.unwrap_or(Shard::WHOLE))?;
    s.kernel_seconds = start.elapsed().as_secs_f64();
    (s.computed, s.reused) = (report.computed, report.reused);
    println!(
        "kernel: N = {}, tile {}, {} tiles computed, {} reused, {:.1} s",
        args.n, args.tile, report.computed, report.reused, s.kernel_seconds
    );
    if args.shard.is_some() {
        return Ok(s);
    }
    let store = TileStore::open_for(&args.dir, &arch, &x, args.tile)?;
    let ntk = TiledKernel::new(&store, KernelKind::Ntk);
    let options = TiledOptions {
        tolerance: 1e-10,
        progress: Some(|i, r| {
            if i % 5 == 0 {
                eprintln!("  CG iteration {i}: relative residual {r:.2e}");
            }
        }),
        ..TiledOptions::with_budget(args.budget)
    };
    let start = Instant::now();
    let fit = kernel_regression_tiled(&ntk, &y, args.diag_reg, options)?;
    s.solve_seconds = start.elapsed().as_secs_f64();
    s.working_set = fit.working_set;
    if let TiledMethod::ConjugateGradient { iterations, relative_residual, ridge } = fit.method {
        (s.iterations, s.relative_residual) = (iterations, relative_residual);
        println!(
            "solve: CG, ridge {ridge:.3e}, {iterations} iterations ({} passes), relative residual {relative_residual:.2e}, {:.1} s, working set {} bytes of a {} byte budget (the kernel: {} bytes)",
            fit.passes,
            s.solve_seconds,
            fit.working_set,
            args.budget,
            8 * args.n * args.n
        );
    }
    let start = Instant::now();
    let pred = predict_tiled(&ntk, &arch, &x, &x_test, KernelKind::Ntk, &fit.coefficients, None, args.budget)?;
    (s.test_mse, s.zero_mse) = (mse(&pred, &y_test), mse(&Tensor::zeros(&[args.m, 1]), &y_test));
    println!(
        "predict: {} test points, {:.1} s, test MSE {:.3e} (predicting 0: {:.3e})",
        args.m,
        start.elapsed().as_secs_f64(),
        s.test_mse,
        s.zero_mse
    );
    if let Some(t) = args.t {
        let start = Instant::now();
        let flow = gradient_flow_tiled(&ntk, &y, 1.0, t, TiledOptions::with_budget(args.budget))?;
        let pred_t = predict_tiled(&ntk, &arch, &x, &x_test, KernelKind::Ntk, &flow.coefficients, None, args.budget)?;
        println!(
            "gradient flow at t = {t}: {:?}, {} passes, {:.1} s, test MSE {:.3e}",
            flow.method,
            flow.passes,
            start.elapsed().as_secs_f64(),
            mse(&pred_t, &y_test)
        );
    }
    if args.check {
        let k = arch.kernels(&x, None)?.ntk;
        let kx = arch.kernels(&x_test, Some(&x))?.ntk;
        let (want, _) = kernel_regression(&k, &kx, &y, args.diag_reg)?;
        let (a, b) = (pred.to_vec(), want.to_vec());
        let d = a.iter().zip(&b).map(|(a, b)| (a - b).powi(2)).sum::<f64>().sqrt();
        let diff = d / b.iter().map(|b| b * b).sum::<f64>().sqrt();
        println!("in-memory check: relative difference of the predictions {diff:.2e}");
        s.in_memory_difference = Some(diff);
    }
    Ok(s)
}

fn parse() -> Result<Args> {
    let bad = |name: &'static str| NtkError::InvalidArgument {
        op: "tiled_kernel",
        name,
        value: f64::NAN,
        requirement: "missing or malformed value",
    };
    let mut a = Args {
        n: 4000,
        m: 1000,
        tile: 2000,
        budget: 2 << 30,
        dir: std::env::temp_dir().join("dl-ntk-tiles"),
        shard: None,
        t: None,
        check: false,
        diag_reg: 1e-3,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = |name| it.next().ok_or_else(|| bad(name));
        match flag.as_str() {
            "--n" => a.n = value("--n")?.parse().map_err(|_| bad("--n"))?,
            "--m" => a.m = value("--m")?.parse().map_err(|_| bad("--m"))?,
            "--tile" => a.tile = value("--tile")?.parse().map_err(|_| bad("--tile"))?,
            "--budget-gb" => {
                let gb: f64 = value("--budget-gb")?.parse().map_err(|_| bad("--budget-gb"))?;
                a.budget = (gb * (1u64 << 30) as f64) as usize;
            }
            "--dir" => a.dir = value("--dir")?.into(),
            "--shard" => a.shard = Some(Shard::parse(&value("--shard")?)?),
            "--t" => a.t = Some(value("--t")?.parse().map_err(|_| bad("--t"))?),
            "--diag-reg" => a.diag_reg = value("--diag-reg")?.parse().map_err(|_| bad("--diag-reg"))?,
            "--check" => a.check = true,
            _ => return Err(bad("(unknown flag)")),
        }
    }
    Ok(a)
}

fn main() -> Result<()> {
    let args = parse()?;
    run(&args)?;
    if let Some(rss) = peak_rss() {
        println!("peak resident memory (VmHWM): {:.1} MB", rss as f64 / 1e6);
    }
    Ok(())
}
