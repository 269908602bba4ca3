//! dl-tensor throughput: GEMM (f32, f64; n = 128..1024, reported in GFLOP/s as elements
//! of 2n^3 flops), elementwise, reduction and softmax.
//!
//! Mirrors `../shared/peers/peer_gemm.py`: C = A B on C-contiguous random n x n matrices.
//! Run with `RAYON_NUM_THREADS=1` (or 2) to match the peers' `--threads`.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use dl_tensor::{Element, Tensor, seeded_rng};
use std::hint::black_box;

fn gemm<T: Element>(c: &mut Criterion) {
    let mut group = c.benchmark_group(format!("gemm_{}", T::DTYPE));
    for n in [128usize, 256, 512, 1024] {
        let mut rng = seeded_rng(0);
        let a = Tensor::<T>::randn(&[n, n], &mut rng);
        let b = Tensor::<T>::randn(&[n, n], &mut rng);
        // Throughput::Elements counts flops, so criterion prints "Gelem/s" = GFLOP/s.
        group.throughput(Throughput::Elements(2 * (n as u64).pow(3)));
        if n >= 512 {
            group.sample_size(20);
        }
        group.bench_with_input(BenchmarkId::from_parameter(n), &n, |bench, _| {
            bench.iter(|| black_box(a.matmul(&b).unwrap()))
        });
    }
    group.finish();
}

fn elementwise(c: &mut Criterion) {
    let mut group = c.benchmark_group("elementwise_f32");
    let n = 1 << 20;
    let mut rng = seeded_rng(1);
    let x = Tensor::<f32>::randn(&[1024, 1024], &mut rng);
    let y = Tensor::<f32>::randn(&[1024, 1024], &mut rng);
    let row = Tensor::<f32>::randn(&[1024], &mut rng);
    group.throughput(Throughput::Elements(n));
    group.bench_function("add_same_shape", |b| b.iter(|| black_box(x.add(&y).unwrap())));
    group.bench_function("add_broadcast_row", |b| b.iter(|| black_box(x.add(&row).unwrap())));
    group.bench_function("exp", |b| b.iter(|| black_box(x.exp())));
    group.bench_function("tanh", |b| b.iter(|| black_box(x.tanh())));
    group.bench_function("relu", |b| b.iter(|| black_box(x.relu())));
    group.finish();
}

fn reductions(c: &mut Criterion) {
    let mut group = c.benchmark_group("reduce_f32");
    let mut rng = seeded_rng(2);
    let x = Tensor::<f32>::randn(&[1024, 1024], &mut rng);
    group.throughput(Throughput::Elements(1 << 20));
    group.bench_function("sum_all", |b| b.iter(|| black_box(x.sum_all())));
    group.bench_function("sum_axis0", |b| b.iter(|| black_box(x.sum_axes(&[0], false).unwrap())));
    group.bench_function("sum_axis1", |b| b.iter(|| black_box(x.sum_axes(&[1], false).unwrap())));
    group.bench_function("var_axis0", |b| b.iter(|| black_box(x.var_axes(&[0], 0, false).unwrap())));
    group.bench_function("softmax_last", |b| b.iter(|| black_box(x.softmax(-1).unwrap())));
    group.bench_function("logsumexp_last", |b| b.iter(|| black_box(x.logsumexp(&[-1], false).unwrap())));
    group.finish();
}

criterion_group!(benches, gemm::<f32>, gemm::<f64>, elementwise, reductions);
criterion_main!(benches);
