//! dl-autodiff: the cost of gradients, measured.
//!
//! - `mlp_f32/{a,b}/train_step`: forward + backward + SGD of the MLPs of
//!   `../shared/peers/peer_mlp.py` ((a) 64-256-256-10, (b) 784-512-512-10, batch 128, ReLU,
//!   mean softmax cross-entropy, lr 0.01), comparable with torch's eager train step;
//! - `.../loss_only` (no recording) and `.../value_and_grad`: their ratio is the
//!   cheap-gradient constant (value-and-gradient time / loss time);
//! - `.../jvp_one_direction`: one forward-mode pass carrying a tangent for every parameter,
//!   the cost of a JVP per direction;
//! - `checkpoint/L{depth}/{plain,sqrt}`: value-and-gradient of a deep MLP without and with
//!   √L checkpointed segments (the extra compute); the activation bytes held at the peak
//!   are printed to stderr at start-up (O(L) vs O(√L)).
//!
//! Run with `RAYON_NUM_THREADS=1` (or 2) to match the peers' `--threads`.
//!
//! Criterion's figure is close to a mean. The peers report the *median* step of 20 warm-up
//! steps and 3 rounds of 200 timed steps, so the train-step cases also print that figure
//! (to stderr, `peer-style median`), measured the same way, for the ratio against
//! `../shared/peers/baseline.md`.

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use dl_autodiff::mlp::Mlp;
use dl_autodiff::mode::{peak_activation_bytes, reset_peak_activation_bytes};
use dl_autodiff::{Var, forward::jvp, no_grad};
use dl_tensor::{Tensor, seeded_rng};
use std::hint::black_box;
use std::time::Instant;

fn setup(sizes: &[usize], batch: usize) -> (Mlp<f32>, Var<f32>, Vec<usize>) {
    let mut rng = seeded_rng(0);
    let mlp = Mlp::<f32>::new(sizes, &mut rng).unwrap();
    let x = Var::constant(Tensor::randn(&[batch, sizes[0]], &mut rng));
    let classes = *sizes.last().unwrap();
    let labels = (0..batch).map(|i| (i * 7 + 3) % classes).collect();
    (mlp, x, labels)
}

/// The peers' timing: 20 warm-up steps, then 3 rounds of 200 steps each timed on its own;
/// returns the median over all 600 steps and the per-round medians, in ms.
fn peer_style_median(mut step: impl FnMut()) -> (f64, [f64; 3]) {
    for _ in 0..20 {
        step();
    }
    let mut all = Vec::with_capacity(600);
    let mut rounds = [0.0; 3];
    for r in &mut rounds {
        let mut times: Vec<f64> = (0..200)
            .map(|_| {
                let t = Instant::now();
                step();
                t.elapsed().as_secs_f64() * 1e3
            })
            .collect();
        all.extend_from_slice(&times);
        times.sort_by(f64::total_cmp);
        *r = times[100];
    }
    all.sort_by(f64::total_cmp);
    (all[300], rounds)
}

fn mlp(c: &mut Criterion) {
    for (name, sizes) in [("a_64-256-256-10", vec![64, 256, 256, 10]), ("b_784-512-512-10", vec![784, 512, 512, 10])] {
        let mut group = c.benchmark_group(format!("mlp_f32/{name}"));
        let (mut mlp, x, labels) = setup(&sizes, 128);
        let (median, rounds) = peer_style_median(|| {
            black_box(mlp.sgd_step(&x, &labels, 0.01).unwrap());
        });
        let threads = std::env::var("RAYON_NUM_THREADS").unwrap_or_else(|_| "all".into());
        eprintln!(
            "peer-style median: mlp ({name}) train step, RAYON_NUM_THREADS={threads}: {median:.3} ms/step (rounds {:.3}/{:.3}/{:.3})",
            rounds[0], rounds[1], rounds[2]
        );
        group.bench_function("train_step", |b| b.iter(|| black_box(mlp.sgd_step(&x, &labels, 0.01).unwrap())));
        group.bench_function("value_and_grad", |b| b.iter(|| black_box(mlp.value_and_grad(&x, &labels).unwrap())));
        group.bench_function("loss_only", |b| b.iter(|| black_box(no_grad(|| mlp.loss(&x, &labels)).unwrap())));
        let mut rng = seeded_rng(1);
        let values: Vec<Tensor<f32>> = mlp.params.iter().map(|p| p.value().clone()).collect();
        let dirs: Vec<Tensor<f32>> = values.iter().map(|v| Tensor::randn(v.shape(), &mut rng)).collect();
        group.bench_function("jvp_one_direction", |b| {
            b.iter(|| black_box(jvp(|ps: &[Var<f32>]| Mlp::loss_with(ps, &x, &labels), &values, &dirs).unwrap()))
        });
        group.finish();
    }
}

fn checkpointing(c: &mut Criterion) {
    let (width, batch) = (256, 64);
    eprintln!("checkpointing: peak activation bytes of value_and_grad, MLP width {width}, batch {batch}");
    eprintln!("{:>6} {:>14} {:>14} {:>8}", "depth", "plain", "sqrt(L) segs", "ratio");
    let mut group = c.benchmark_group("checkpoint");
    group.sample_size(20);
    for depth in [4usize, 16, 64] {
        let mut sizes = vec![width; depth + 1];
        *sizes.last_mut().unwrap() = 10;
        let (mlp, x, labels) = setup(&sizes, batch);
        let seg = (depth as f64).sqrt().ceil() as usize;
        let peak = |segment_len: usize| {
            reset_peak_activation_bytes();
            let loss = mlp.loss_checkpointed(&x, &labels, segment_len).unwrap();
            let g = loss.backward().unwrap();
            drop((loss, g));
            peak_activation_bytes()
        };
        let (plain, ck) = (peak(0), peak(seg));
        eprintln!("{depth:>6} {plain:>14} {ck:>14} {:>8.2}", plain as f64 / ck as f64);
        for (label, segment_len) in [("plain", 0), ("sqrt", seg)] {
            group.bench_with_input(BenchmarkId::new(format!("L{depth}"), label), &segment_len, |b, &s| {
                b.iter(|| {
                    let loss = mlp.loss_checkpointed(&x, &labels, s).unwrap();
                    black_box(loss.backward().unwrap())
                })
            });
        }
    }
    group.finish();
}

criterion_group!(benches, mlp, checkpointing);
criterion_main!(benches);
