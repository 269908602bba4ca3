//! dl-layers: a convolution layer and recurrent layers, the cases of
//! `../shared/peers/peer_conv.py` and `../shared/peers/peer_rnn.py`, f32:
//!
//! - `conv2d_32x3x32x32_64_3x3/{fwd, fwd_bwd_w, fwd_bwd_wx}`: `Conv2d(3, 64, 3, padding 1)`
//!   with bias on a 32x3x32x32 input; forward without recording; forward + backward with a
//!   fixed random upstream gradient for (dW, db), and for (dW, db, dX);
//! - `rnn_T50_B32_I64_H128/{tanh, lstm}/{fwd, fwd_bwd}`: one layer, unidirectional, zero
//!   initial state; forward without recording; forward + BPTT with a fixed random upstream
//!   gradient on every output (the input needs no gradient).
//!
//! Run `RAYON_NUM_THREADS=1 cargo bench -p dl-benches --bench layers` beside
//! `peer_conv.py --threads 1` and `peer_rnn.py --threads 1` and compare the ratios.

use criterion::{Criterion, criterion_group, criterion_main};
use dl_autodiff::{Var, no_grad, vjp};
use dl_layers::{Conv2d, ConvOptions, Module, Recurrent};
use dl_tensor::{Tensor, seeded_rng};
use std::hint::black_box;

fn conv(c: &mut Criterion) {
    let mut rng = seeded_rng(0);
    let layer = Conv2d::<f32>::new(3, 64, (3, 3), ConvOptions::default().padding(1), &mut rng).unwrap();
    let xt = Tensor::<f32>::randn(&[32, 3, 32, 32], &mut rng);
    let gout = Tensor::<f32>::randn(&[32, 64, 32, 32], &mut rng);
    let x = Var::constant(xt.clone());
    let mut g = c.benchmark_group("conv2d_32x3x32x32_64_3x3");
    g.bench_function("fwd", |b| b.iter(|| black_box(no_grad(|| layer.forward(&x)).unwrap())));
    g.bench_function("fwd_bwd_w", |b| {
        b.iter(|| {
            let y = layer.forward(&x).unwrap();
            black_box(vjp(&y, &gout).unwrap())
        })
    });
    g.bench_function("fwd_bwd_wx", |b| {
        b.iter(|| {
            let xg = Var::leaf(xt.clone(), true);
            let y = layer.forward(&xg).unwrap();
            black_box(vjp(&y, &gout).unwrap())
        })
    });
    g.finish();
}

fn rnn(c: &mut Criterion) {
    let (t, batch, i, h) = (50, 32, 64, 128);
    let mut rng = seeded_rng(0);
    let x = Var::constant(Tensor::<f32>::randn(&[t, batch, i], &mut rng));
    let gout = Tensor::<f32>::randn(&[t, batch, h], &mut rng);
    let mut g = c.benchmark_group("rnn_T50_B32_I64_H128");
    for (name, layer) in
        [("tanh", Recurrent::<f32>::rnn_tanh(i, h, &mut rng)), ("lstm", Recurrent::<f32>::lstm(i, h, &mut rng))]
    {
        g.bench_function(format!("{name}/fwd"), |b| b.iter(|| black_box(no_grad(|| layer.forward(&x)).unwrap())));
        g.bench_function(format!("{name}/fwd_bwd"), |b| {
            b.iter(|| {
                let y = layer.forward(&x).unwrap();
                black_box(vjp(&y, &gout).unwrap())
            })
        });
    }
    g.finish();
}

criterion_group!(benches, conv, rnn);
criterion_main!(benches);
