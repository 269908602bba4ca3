//! dl-framework: the cost of a training step through the whole stack (configuration ->
//! network -> `Trainer::train_step`: forward with every layer's output kept, the
//! divergence checks, backward, the optimiser step).
//!
//! - `framework_mlp/{a,b}/train_step`: the MLPs of `../shared/peers/peer_mlp.py`
//!   ((a) 64-256-256-10, (b) 784-512-512-10, ReLU, batch 128, f32, mean softmax
//!   cross-entropy, SGD lr 0.01), comparable with torch's eager step; the peer-style line is
//!   printed twice, with the finiteness checks of every layer and gradient at every step
//!   (the default) and every 1000 steps (torch checks nothing);
//! - `framework_cnn/train_step`: the small CNN of `../shared/peers/peer_conv.py`
//!   (conv 3->32 3x3 pad 1, ReLU, max-pool 2, conv 32->64 3x3 pad 1, ReLU, max-pool 2,
//!   linear 4096->10, softmax cross-entropy, SGD lr 0.01) at batch 64 on 3x32x32 inputs.
//!
//! Run with `RAYON_NUM_THREADS=1` (or 2) beside the peers' `--threads 1` (or 2). As in the
//! autodiff bench, each case also prints the peers' statistic to stderr (`peer-style
//! median`): the median step of 20 warm-up steps and 3 rounds of 200 timed steps (100 for
//! the CNN, as `peer_conv.py` does).

use criterion::{Criterion, criterion_group, criterion_main};
use dl_benches::{SMALL_CNN, mlp_config};
use dl_framework::data::Dataset;
use dl_framework::{NetworkConfig, TrainConfig, Trainer};
use dl_tensor::{Tensor, seeded_rng};
use std::hint::black_box;
use std::time::Instant;

fn trainer(net: &str, classes: usize, example: &[usize], batch: usize) -> (Trainer<f32>, Dataset<f32>) {
    trainer_checking_every(net, classes, example, batch, 1)
}

/// A trainer whose layer and gradient finiteness checks run every `check_every` steps.
fn trainer_checking_every(
    net: &str,
    classes: usize,
    example: &[usize],
    batch: usize,
    check_every: u64,
) -> (Trainer<f32>, Dataset<f32>) {
    let net = NetworkConfig::from_json(net).and_then(|c| c.build::<f32>()).expect("a valid configuration");
    // log_every 1e9: the per-step record (and its gradient norm) is taken once, as a timing
    // loop has no use for it; the divergence checks still run every step.
    let cfg = TrainConfig::from_json(&format!(
        r#"{{"epochs": 1, "batch_size": 128, "log_every": 1000000000, "finite_check_every": {check_every}, "optimizer": {{"kind": "sgd", "lr": 0.01}}}}"#
    ))
    .expect("a valid configuration");
    let mut rng = seeded_rng(0);
    let mut shape = vec![batch];
    shape.extend_from_slice(example);
    let x = Tensor::randn(&shape, &mut rng);
    let labels = (0..batch).map(|i| (i * 7 + 3) % classes).collect();
    let data = Dataset::classification(x, labels, classes).expect("consistent data");
    (Trainer::new(net, cfg).expect("a valid configuration"), data)
}

/// The peers' timing: 20 (10 for the CNN) warm-up steps, then 3 rounds of `steps` steps
/// each timed on its own; returns the median over all steps and the per-round medians, ms.
fn peer_style_median(warmup: usize, steps: usize, mut step: impl FnMut()) -> (f64, [f64; 3]) {
    for _ in 0..warmup {
        step();
    }
    let mut all = Vec::with_capacity(3 * steps);
    let mut rounds = [0.0; 3];
    for r in &mut rounds {
        let mut times: Vec<f64> = (0..steps)
            .map(|_| {
                let t = Instant::now();
                step();
                t.elapsed().as_secs_f64() * 1e3
            })
            .collect();
        all.extend_from_slice(&times);
        times.sort_by(f64::total_cmp);
        *r = times[steps / 2];
    }
    all.sort_by(f64::total_cmp);
    (all[all.len() / 2], rounds)
}

fn threads() -> String {
    std::env::var("RAYON_NUM_THREADS").unwrap_or_else(|_| "unset".into())
}

/// Prints the peers' statistic for one case to stderr.
fn report(case: &str, median: f64, rounds: [f64; 3]) {
    eprintln!(
        "peer-style median: {case}, RAYON_NUM_THREADS={}: {median:.3} ms/step (rounds {:.3}/{:.3}/{:.3})",
        threads(),
        rounds[0],
        rounds[1],
        rounds[2]
    );
}

fn mlp(c: &mut Criterion) {
    for (name, sizes) in [("a", vec![64, 256, 256, 10]), ("b", vec![784, 512, 512, 10])] {
        let (mut t, batch) = trainer(&mlp_config(&sizes), 10, &sizes[..1], 128);
        let (median, r) = peer_style_median(20, 200, || {
            black_box(t.train_step(&batch).expect("a finite step"));
        });
        report(&format!("framework mlp ({name}) train step"), median, r);
        c.benchmark_group(format!("framework_mlp/{name}"))
            .bench_function("train_step", |b| b.iter(|| black_box(t.train_step(&batch).expect("a finite step"))));
        // The same step with the per-layer and per-gradient finiteness checks every 1000
        // steps instead of every step (the loss is still checked): the work of torch's step.
        let (mut t, batch) = trainer_checking_every(&mlp_config(&sizes), 10, &sizes[..1], 128, 1000);
        let (median, r) = peer_style_median(20, 200, || {
            black_box(t.train_step(&batch).expect("a finite step"));
        });
        report(&format!("framework mlp ({name}) train step, finite checks every 1000 steps"), median, r);
    }
}

fn cnn(c: &mut Criterion) {
    let (mut t, batch) = trainer(SMALL_CNN, 10, &[3, 32, 32], 64);
    let (median, r) = peer_style_median(10, 100, || {
        black_box(t.train_step(&batch).expect("a finite step"));
    });
    report("framework small CNN train step b64 32x32x3", median, r);
    let mut g = c.benchmark_group("framework_cnn");
    g.sample_size(20);
    g.bench_function("train_step", |b| b.iter(|| black_box(t.train_step(&batch).expect("a finite step"))));
}

criterion_group!(benches, mlp, cnn);
criterion_main!(benches);
