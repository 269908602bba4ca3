//! dl-ntk against neural-tangents (`../shared/peers/peer_ntk.py`), the same three cases:
//!
//! - `analytic_ntk/4000`: the 4000 x 4000 NTK of `[Dense(512, W_std 1.5, b_std 0.05) -
//!   ReLU] x 3 - Dense(1)` for inputs in R^100 (`kernel_fn(x, None, 'ntk')`);
//! - `empirical_ntk/400/structured`: the empirical NTK (trace over outputs) of 400 points
//!   for a sampled width-512 depth-3 ReLU MLP of the same architecture
//!   (`nt.empirical_ntk_fn`); `.../100/batched_64MiB` is the generic Jacobian path under a
//!   64 MiB budget, whose peak Jacobian bytes are printed to stderr; `.../100/batched_1GiB`
//!   and `.../400/batched_4GiB` the same path with a budget that holds every Jacobian row
//!   at once (0.46 and 1.8 GB), as neural-tangents' Jacobian contraction does;
//! - `kernel_regression/2000x500`: the t = infinity prediction from 2000 training points
//!   on 500 test points with `diag_reg = 1e-4`, including both kernels and the solve
//!   (`nt.predict.gradient_descent_mse_ensemble`).
//!
//! Run with `RAYON_NUM_THREADS=1` (or 2) next to `peer_ntk.py --threads 1` (or 2). Ours is
//! f64, the peer's default f32.

use criterion::{Criterion, criterion_group, criterion_main};
use dl_init::Activation;
use dl_ntk::predict::kernel_regression;
use dl_ntk::{Architecture, OutputKernel, Parameterisation, empirical_ntk_batched, empirical_ntk_structured};
use dl_tensor::{Tensor, seeded_rng};
use std::hint::black_box;

fn arch() -> Architecture {
    Architecture::mlp(3, 512, Activation::Relu, 1.5 * 1.5, 0.05 * 0.05, 1, Parameterisation::Ntk)
        .expect("valid architecture")
}

fn analytic(c: &mut Criterion) {
    let arch = arch();
    let x = Tensor::<f64>::randn(&[4000, 100], &mut seeded_rng(0));
    let mut g = c.benchmark_group("ntk");
    g.sample_size(10);
    g.bench_function("analytic_ntk/4000", |b| b.iter(|| black_box(arch.kernels(&x, None).unwrap())));
    g.finish();
}

fn empirical(c: &mut Criterion) {
    let arch = arch();
    let mut rng = seeded_rng(1);
    let net = arch.sample(100, &mut rng).unwrap();
    let x400 = Tensor::<f64>::randn(&[400, 100], &mut rng);
    let x100 = Tensor::<f64>::randn(&[100, 100], &mut rng);
    let mut g = c.benchmark_group("ntk");
    g.sample_size(10);
    g.bench_function("empirical_ntk/400/structured", |b| {
        b.iter(|| black_box(empirical_ntk_structured(&net, &x400, None, OutputKernel::Trace).unwrap()))
    });
    let budget = 64 << 20;
    g.bench_function("empirical_ntk/100/batched_64MiB", |b| {
        b.iter(|| black_box(empirical_ntk_batched(&net, &x100, None, OutputKernel::Trace, budget).unwrap()))
    });
    g.bench_function("empirical_ntk/100/batched_1GiB", |b| {
        b.iter(|| black_box(empirical_ntk_batched(&net, &x100, None, OutputKernel::Trace, 1 << 30).unwrap()))
    });
    g.bench_function("empirical_ntk/400/batched_4GiB", |b| {
        b.iter(|| black_box(empirical_ntk_batched(&net, &x400, None, OutputKernel::Trace, 4 << 30).unwrap()))
    });
    g.finish();
    let k = empirical_ntk_batched(&net, &x100, None, OutputKernel::Trace, budget).unwrap();
    let s = empirical_ntk_structured(&net, &x400, None, OutputKernel::Trace).unwrap();
    eprintln!(
        "empirical NTK: {} parameters; batched path on 100 points: peak Jacobian bytes {} (budget {budget}, full Jacobian {}); structured path on 400 points: peak bytes {}",
        k.parameters,
        k.peak_bytes,
        100 * k.parameters * 8,
        s.peak_bytes
    );
}

fn regression(c: &mut Criterion) {
    let arch = arch();
    let mut rng = seeded_rng(2);
    let xtr = Tensor::<f64>::randn(&[2000, 100], &mut rng);
    let ytr = Tensor::<f64>::randn(&[2000, 1], &mut rng);
    let xte = Tensor::<f64>::randn(&[500, 100], &mut rng);
    let mut g = c.benchmark_group("ntk");
    g.sample_size(10);
    g.bench_function("kernel_regression/2000x500", |b| {
        b.iter(|| {
            let train = arch.kernels(&xtr, None).unwrap().ntk;
            let cross = arch.kernels(&xte, Some(&xtr)).unwrap().ntk;
            black_box(kernel_regression(&train, &cross, &ytr, 1e-4).unwrap())
        })
    });
    g.finish();
}

criterion_group!(benches, analytic, empirical, regression);
criterion_main!(benches);
