//! dl-norm: batch norm, the case of `../shared/peers/peer_bn.py`.
//!
//! `BatchNorm1d(1024)` in training mode (batch statistics, running statistics updated) on a
//! 256x1024 f32 input that requires a gradient:
//!
//! - `batchnorm1d_256x1024/train_fwd`: the forward pass under `no_grad`;
//! - `batchnorm1d_256x1024/train_fwd_bwd`: forward, then backward of a fixed random
//!   upstream gradient into dX, dgamma and dbeta.
//!
//! Run with `RAYON_NUM_THREADS=1` beside `peer_bn.py --threads 1`. The peer's figure is the
//! median of 7 blocks' per-iteration means (blocks of at least 0.1 s after a 0.2 s warm-up);
//! the same figure is printed to stderr (`peer-style median`) for the ratio.

use criterion::{Criterion, criterion_group, criterion_main};
use dl_autodiff::{Var, no_grad};
use dl_layers::Module;
use dl_norm::BatchNorm1d;
use dl_tensor::{Tensor, seeded_rng};
use std::hint::black_box;
use std::time::Instant;

/// The peers' timing: 0.2 s of warm-up, then 7 blocks of at least 0.1 s; the median of the
/// blocks' per-iteration means, in ms.
fn peer_style_median(mut step: impl FnMut()) -> f64 {
    let start = Instant::now();
    while start.elapsed().as_secs_f64() < 0.2 {
        step();
    }
    let mut blocks: Vec<f64> = (0..7)
        .map(|_| {
            let (t, mut iters) = (Instant::now(), 0u32);
            while t.elapsed().as_secs_f64() < 0.1 {
                step();
                iters += 1;
            }
            t.elapsed().as_secs_f64() * 1e3 / iters as f64
        })
        .collect();
    blocks.sort_by(f64::total_cmp);
    blocks[3]
}

fn bench_batch_norm(c: &mut Criterion) {
    let mut rng = seeded_rng(0);
    let bn = BatchNorm1d::<f32>::new(1024).unwrap();
    let x = Var::leaf(Tensor::<f32>::randn(&[256, 1024], &mut rng), true);
    let g = Tensor::<f32>::randn(&[256, 1024], &mut rng);
    let fwd = || black_box(no_grad(|| bn.forward(&x)).unwrap());
    let fwd_bwd = || {
        let grads = bn.forward(&x).unwrap().vjp(&g).unwrap();
        black_box(grads);
    };
    eprintln!(
        "batchnorm1d 256x1024 train fwd: peer-style median {:.4} ms",
        peer_style_median(|| {
            fwd();
        })
    );
    eprintln!("batchnorm1d 256x1024 train fwd+bwd: peer-style median {:.4} ms", peer_style_median(fwd_bwd));
    let mut group = c.benchmark_group("batchnorm1d_256x1024");
    group.bench_function("train_fwd", |b| b.iter(fwd));
    group.bench_function("train_fwd_bwd", |b| b.iter(fwd_bwd));
    group.finish();
}

criterion_group!(benches, bench_batch_norm);
criterion_main!(benches);
