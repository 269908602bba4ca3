//! `gemm-throughput`: GFLOP/s of `Tensor::matmul` in f32 and f64 against matrix size.
//!
//! For each n, two n x n standard normal matrices are multiplied repeatedly (after one
//! warm-up product) until both a minimum time and a minimum repetition count are reached;
//! the best time gives the throughput 2 n^3 / t. These are measured timings, so the
//! experiment is not snapshot-tested.
//!
//! Every repetition is timed on the wall clock and on the process's processor clock (all
//! threads, see [`crate::timing`]): `gflops` is the wall-clock throughput of the whole
//! machine, `gflops_per_core` the work per processor-second, which waiting for a shared
//! processor does not dilute. The claims use the latter.
//!
//! Claims (measured timings, one run: the best of the repetitions is the statistic, so no
//! spread over seeds is given; the matrices' values do not change the work):
//!
//! - a fused multiply-add on a SIMD register does twice as many f32 as f64 operations (16
//!   against 8 lanes with AVX-512, 8 against 4 with AVX2), so a compute-bound GEMM runs f32
//!   at about twice the f64 rate: the ratio at the largest `n` is within [1.6, 2.4]
//!   (partly: [1.3, 2.7]);
//! - a packed, blocked GEMM is compute-bound once `n` is large (Goto & van de Geijn 2008):
//!   the f32 throughput at the largest `n` is at least 80% of the best over all `n`
//!   (partly: 60%).

use std::hint::black_box;
use std::time::Instant;

use dl_tensor::{Element, Tensor, TensorRng};
use serde_json::json;

use crate::claims::{Claim, Criterion, Measured};
use crate::context::RunContext;
use crate::error::ExperimentError;
use crate::experiment::Experiment;
use crate::metrics::{Metrics, num};
use crate::plot::{LineChart, Scale, SeriesKind};
use crate::timing::{Stopwatch, cpu_clock_name};

/// GEMM throughput against matrix size, f32 and f64.
pub struct GemmThroughput;

/// Timing of one (n, dtype) point.
struct Timing {
    best: f64,
    median: f64,
    /// The smallest processor time of a repetition.
    best_cpu: f64,
    reps: usize,
}

impl Experiment for GemmThroughput {
    fn id(&self) -> &'static str {
        "gemm-throughput"
    }
    fn title(&self) -> &'static str {
        "GEMM throughput: GFLOP/s of f32 and f64 matmul against matrix size"
    }
    fn section(&self) -> &'static str {
        "foundations"
    }
    fn deterministic(&self) -> bool {
        false
    }

    fn run(&self, ctx: &mut RunContext) -> Result<Metrics, ExperimentError> {
        let size = ctx.size();
        let sizes: Vec<usize> = size.pick(vec![32, 64, 128], vec![64, 128, 256, 512, 1024]);
        let min_seconds = size.pick(0.02, 0.3);
        let min_reps = size.pick(3, 5);
        let mut m = Metrics::new();
        m.config("sizes", json!(sizes));
        m.config("min_seconds_per_point", min_seconds);
        m.config("min_repetitions", min_reps);
        m.config("statistic", "best of the repetitions; gflops = 2 n^3 / best_seconds / 1e9");
        m.config("available_parallelism", std::thread::available_parallelism().map_or(1, |p| p.get()));
        m.config("processor_clock", cpu_clock_name());
        m.table(
            "throughput",
            &[
                "n",
                "dtype",
                "gflops",
                "gflops_per_core",
                "best_seconds",
                "median_seconds",
                "best_cpu_seconds",
                "repetitions",
            ],
        );

        let mut rng = ctx.rng();
        let total = 2 * sizes.len() as u64;
        let mut curves: Vec<(&str, Vec<(f64, f64)>)> = vec![("f32", Vec::new()), ("f64", Vec::new())];
        let mut per_core: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
        for (i, &n) in sizes.iter().enumerate() {
            for (j, dtype) in ["f32", "f64"].into_iter().enumerate() {
                ctx.message(format!("n = {n}, {dtype}"));
                let t = match dtype {
                    "f32" => time_matmul::<f32>(n, min_seconds, min_reps, &mut rng)?,
                    _ => time_matmul::<f64>(n, min_seconds, min_reps, &mut rng)?,
                };
                let gflops = 2.0 * (n as f64).powi(3) / t.best / 1e9;
                let core = 2.0 * (n as f64).powi(3) / t.best_cpu / 1e9;
                m.push_row(
                    "throughput",
                    vec![
                        json!(n),
                        json!(dtype),
                        num(gflops),
                        num(core),
                        num(t.best),
                        num(t.median),
                        num(t.best_cpu),
                        json!(t.reps),
                    ],
                )?;
                curves[j].1.push((n as f64, gflops));
                per_core[j].push(core);
                ctx.progress((2 * i + j + 1) as u64, total);
            }
        }
        for (dtype, pts) in &curves {
            let peak = pts.iter().map(|p| p.1).fold(0.0, f64::max);
            m.scalar(&format!("peak_gflops_{dtype}"), peak);
        }
        let last = |k: usize| curves[k].1.last().map_or(f64::NAN, |p| p.1);
        let last_core = |k: usize| per_core[k].last().copied().unwrap_or(f64::NAN);
        let peak_core_f32 = per_core[0].iter().copied().fold(0.0, f64::max);
        m.scalar("f32_over_f64_at_largest_n", last(0) / last(1));
        m.scalar("f32_over_f64_per_core_at_largest_n", last_core(0) / last_core(1));
        m.claim(
            Claim::new(
                "f32-twice-f64",
                "a SIMD fused multiply-add processes twice as many f32 as f64 values (16 against 8 lanes with \
                 AVX-512), so a compute-bound GEMM runs f32 at about twice the f64 rate",
                "SIMD register width (Intel 64 and IA-32 optimization manual); Goto & van de Geijn 2008",
            )
            .measured(
                "f32 / f64 GFLOP per processor-second at the largest n (best repetitions)",
                Measured::exact(last_core(0) / last_core(1)),
            )
            .criterion(Criterion::between(1.6, 2.4))
            .partly_if(Criterion::between(1.3, 2.7))
            .note("measured processor times (not pinned by the snapshots); one run, the best of the repetitions"),
        )?;
        m.claim(
            Claim::new(
                "compute-bound-at-large-n",
                "a packed, cache-blocked GEMM is compute-bound once n is large: its throughput does not fall as the \
                 matrices outgrow the caches",
                "Goto & van de Geijn 2008, 'Anatomy of high-performance matrix multiplication'",
            )
            .measured(
                "f32 GFLOP per processor-second at the largest n over the best of all n",
                Measured::exact(last_core(0) / peak_core_f32),
            )
            .criterion(Criterion::at_least(0.8))
            .partly_if(Criterion::at_least(0.6))
            .note("measured processor times (not pinned by the snapshots); one run, the best of the repetitions"),
        )?;

        let mut chart =
            LineChart::new("Matmul throughput (n x n times n x n)", "n", "GFLOP/s").scales(Scale::Log2, Scale::Linear);
        for (k, (dtype, pts)) in curves.into_iter().enumerate() {
            chart.add(dtype, SeriesKind::Line, k, pts);
        }
        ctx.figure("gflops_vs_n", &chart)?;
        Ok(m)
    }
}

fn time_matmul<T: Element>(
    n: usize,
    min_seconds: f64,
    min_reps: usize,
    rng: &mut TensorRng,
) -> Result<Timing, ExperimentError> {
    let a = Tensor::<T>::randn(&[n, n], rng);
    let b = Tensor::<T>::randn(&[n, n], rng);
    let c = a.matmul(&b)?;
    if c.shape() != [n, n] {
        return Err(ExperimentError::Invalid(format!("matmul of {n}x{n} matrices gave shape {:?}", c.shape())));
    }
    let (mut times, mut cpu) = (Vec::new(), Vec::new());
    let start = Instant::now();
    while times.len() < min_reps || (start.elapsed().as_secs_f64() < min_seconds && times.len() < 100_000) {
        let watch = Stopwatch::start();
        black_box(a.matmul(black_box(&b))?);
        cpu.push(watch.cpu().max(1e-9));
        times.push(watch.wall().max(1e-9));
    }
    times.sort_by(f64::total_cmp);
    let best_cpu = cpu.iter().copied().fold(f64::INFINITY, f64::min);
    Ok(Timing { best: times[0], median: times[times.len() / 2], best_cpu, reps: times.len() })
}
