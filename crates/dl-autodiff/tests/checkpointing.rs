//! Gradient checkpointing: bit-identical gradients, and activation memory O(√L) instead of
//! O(L).

use dl_autodiff::Var;
use dl_autodiff::mlp::Mlp;
use dl_autodiff::mode::{live_activation_bytes, peak_activation_bytes, reset_peak_activation_bytes};
use dl_tensor::{Tensor, seeded_rng};

fn setup(depth: usize, width: usize, batch: usize) -> (Mlp<f32>, Var<f32>, Vec<usize>) {
    let mut rng = seeded_rng(7);
    let mut sizes = vec![width; depth + 1];
    *sizes.last_mut().unwrap() = 5;
    let mlp = Mlp::new(&sizes, &mut rng).unwrap();
    let x = Var::constant(Tensor::randn(&[batch, width], &mut rng));
    let labels = (0..batch).map(|i| i % 5).collect();
    (mlp, x, labels)
}

fn grads_and_peak(mlp: &Mlp<f32>, x: &Var<f32>, labels: &[usize], segment_len: usize) -> (Vec<Vec<u32>>, usize) {
    let base = live_activation_bytes();
    reset_peak_activation_bytes();
    let loss = mlp.loss_checkpointed(x, labels, segment_len).unwrap();
    let g = loss.backward().unwrap();
    let bits = mlp.params.iter().map(|p| g.get(p).unwrap().to_vec().iter().map(|v| v.to_bits()).collect()).collect();
    drop((g, loss));
    (bits, peak_activation_bytes() - base)
}

#[test]
fn checkpointed_gradients_are_bit_identical() {
    let (mlp, x, labels) = setup(9, 16, 8);
    let (plain, _) = grads_and_peak(&mlp, &x, &labels, 0);
    for seg in [1, 2, 3, 4, 9] {
        let (ck, _) = grads_and_peak(&mlp, &x, &labels, seg);
        assert_eq!(plain, ck, "segment length {seg}");
    }
}

#[test]
fn activation_memory_grows_as_depth_without_and_as_sqrt_depth_with_checkpointing() {
    let (width, batch) = (32, 16);
    let mut rows = Vec::new();
    for depth in [4usize, 16, 64] {
        let (mlp, x, labels) = setup(depth, width, batch);
        let seg = (depth as f64).sqrt().ceil() as usize;
        let (_, plain) = grads_and_peak(&mlp, &x, &labels, 0);
        let (_, ck) = grads_and_peak(&mlp, &x, &labels, seg);
        rows.push((depth, plain, ck));
    }
    // One layer's activations: the linear output and the relu output, batch x width f32.
    let layer = 2 * batch * width * 4;
    for &(depth, plain, ck) in &rows {
        // plain holds every layer's activations
        assert!(plain >= depth * layer - layer, "depth {depth}: plain {plain}");
        // checkpointed: ~√L segment boundaries + one recomputed segment of √L layers
        let seg = (depth as f64).sqrt().ceil() as usize;
        assert!(ck <= (2 * seg + 2) * layer, "depth {depth}: checkpointed {ck} > {}", (2 * seg + 2) * layer);
    }
    // growth from L = 16 to L = 64: x4 for plain, about x2 for checkpointed
    let (p16, c16) = (rows[1].1 as f64, rows[1].2 as f64);
    let (p64, c64) = (rows[2].1 as f64, rows[2].2 as f64);
    assert!(p64 / p16 > 3.5, "plain grew by {}", p64 / p16);
    assert!(c64 / c16 < 2.5, "checkpointed grew by {}", c64 / c16);
}

#[test]
fn checkpoint_inside_no_grad_just_runs_the_segment() {
    let (mlp, x, labels) = setup(4, 8, 4);
    let plain = dl_autodiff::no_grad(|| mlp.loss(&x, &labels)).unwrap();
    let ck = dl_autodiff::no_grad(|| mlp.loss_checkpointed(&x, &labels, 2)).unwrap();
    assert_eq!(plain.value().item().unwrap().to_bits(), ck.value().item().unwrap().to_bits());
    assert!(!ck.requires_grad());
}
