//! The reverse-mode engine: fan-out accumulation, no_grad, detach, retaining and freeing
//! the tape, VJPs of non-scalar outputs, and the errors of bad input.

use dl_autodiff::{AutodiffError, BackwardOptions, Var, backward_with, grad, no_grad};
use dl_tensor::{Tensor, Tolerance, assert_close, seeded_rng};

fn leaf(v: &[f64], s: &[usize]) -> Var<f64> {
    Var::leaf(Tensor::from_vec(v.to_vec(), s).unwrap(), true)
}

#[test]
fn fan_out_accumulates_over_every_path() {
    // y = sum(a*b + a*c + exp(a)) with a used three times: dy/da = b + c + exp(a)
    let a = leaf(&[0.5, -1.0, 2.0], &[3]);
    let b = leaf(&[1.0, 2.0, 3.0], &[3]);
    let c = Var::constant(Tensor::from_vec(vec![-4.0, 0.0, 0.25], &[3]).unwrap());
    let y = a.mul(&b).unwrap().add(&a.mul(&c).unwrap()).unwrap().add(&a.exp().unwrap()).unwrap().sum_all().unwrap();
    let g = y.backward().unwrap();
    let expect: Vec<f64> = [0.5f64, -1.0, 2.0]
        .iter()
        .zip([1.0, 2.0, 3.0])
        .zip([-4.0, 0.0, 0.25])
        .map(|((a, b), c)| b + c + a.exp())
        .collect();
    assert_close(g.get(&a).unwrap(), &Tensor::from_vec(expect, &[3]).unwrap(), Tolerance::default_for::<f64>());
    assert_eq!(g.get(&b).unwrap().to_vec(), vec![0.5, -1.0, 2.0]);
    assert!(g.get(&c).is_none(), "constants get no gradient");
}

#[test]
fn a_diamond_graph_accumulates_before_propagating() {
    // h = 2x; y = h*h + h: dy/dx = (2h + 1) * 2 = 8x + 2
    let x = leaf(&[1.5], &[1]);
    let h = x.mul_scalar(2.0).unwrap();
    let y = h.mul(&h).unwrap().add(&h).unwrap().sum_all().unwrap();
    assert_eq!(y.backward().unwrap().get(&x).unwrap().to_vec(), vec![14.0]);
}

#[test]
fn no_grad_and_detach_cut_the_graph() {
    let x = leaf(&[2.0], &[1]);
    let y = no_grad(|| x.mul(&x)).unwrap();
    assert!(!y.requires_grad());
    assert!(matches!(y.sum_all().unwrap().backward(), Err(AutodiffError::NotDifferentiable)));
    // detach: y = x * stop_gradient(x) has dy/dx = x, not 2x
    let z = x.mul(&x.detach()).unwrap().sum_all().unwrap();
    assert_eq!(z.backward().unwrap().get(&x).unwrap().to_vec(), vec![2.0]);
    // the mode is restored after no_grad, even when it returns an error
    let _ = no_grad(|| x.matmul(&x));
    assert!(dl_autodiff::is_grad_enabled());
}

#[test]
fn non_scalar_outputs_need_a_cotangent_of_their_shape() {
    let x = leaf(&[1.0, 2.0, 3.0], &[3]);
    let y = x.mul_scalar(3.0).unwrap();
    let err = y.backward().unwrap_err();
    assert!(matches!(err, AutodiffError::NonScalarWithoutCotangent { ref shape, .. } if shape == &[3]));
    assert!(err.to_string().contains("[3]") && err.to_string().contains("vjp"), "{err}");
    let bad = Tensor::<f64>::ones(&[2]);
    let err = y.vjp(&bad).unwrap_err();
    assert_eq!(err, AutodiffError::CotangentShape { expected: vec![3], got: vec![2] });
    assert!(err.to_string().contains("[3]") && err.to_string().contains("[2]"));
    // J^T u for y = 3x is 3u
    let u = Tensor::from_vec(vec![1.0, -1.0, 0.5], &[3]).unwrap();
    assert_eq!(y.vjp(&u).unwrap().get(&x).unwrap().to_vec(), vec![3.0, -3.0, 1.5]);
}

#[test]
fn the_tape_is_freed_after_backward_unless_retained() {
    let x = leaf(&[1.0, 2.0], &[2]);
    let y = x.exp().unwrap().sum_all().unwrap();
    let g1 = backward_with(&y, None, BackwardOptions::retain()).unwrap();
    let g2 = y.backward().unwrap(); // retained: works, then frees
    assert_eq!(g1.get(&x).unwrap(), g2.get(&x).unwrap());
    let err = y.backward().unwrap_err();
    assert!(matches!(err, AutodiffError::TapeFreed { op: "sum" }), "{err:?}");
    assert!(err.to_string().contains("retain_graph"));
}

#[test]
fn freeing_the_tape_releases_the_saved_activations() {
    let before = dl_autodiff::mode::live_activation_bytes();
    let x = Var::leaf(Tensor::<f64>::ones(&[1000]), true);
    let loss = x.exp().unwrap().tanh().unwrap().sum_all().unwrap();
    // exp and tanh outputs (1000 f64 each) and the scalar are held
    assert_eq!(dl_autodiff::mode::live_activation_bytes() - before, 2 * 8000 + 8);
    let g = loss.backward().unwrap();
    // only the loss itself (held by the caller) remains
    assert_eq!(dl_autodiff::mode::live_activation_bytes() - before, 8);
    drop((g, loss));
    assert_eq!(dl_autodiff::mode::live_activation_bytes(), before);
}

#[test]
fn grad_with_respect_to_intermediates() {
    let x = leaf(&[0.3, -0.7], &[2]);
    let h = x.sin().unwrap();
    let y = h.square().unwrap().sum_all().unwrap();
    let gs = grad(&y, None, &[&h, &x], BackwardOptions::default()).unwrap();
    let hv = h.value().to_vec();
    assert_eq!(gs[0].as_ref().unwrap().value().to_vec(), vec![2.0 * hv[0], 2.0 * hv[1]]);
    let gx = gs[1].as_ref().unwrap().value().to_vec();
    for (i, &xv) in [0.3f64, -0.7].iter().enumerate() {
        assert!((gx[i] - 2.0 * xv.sin() * xv.cos()).abs() < 1e-15);
    }
}

#[test]
fn value_mut_refuses_a_leaf_still_held_by_a_graph() {
    let mut w = leaf(&[1.0], &[1]);
    let y = w.mul_scalar(2.0).unwrap();
    assert!(w.value_mut().is_err());
    drop(y);
    w.value_mut().unwrap().array_mut()[[0]] = 5.0;
    assert_eq!(w.value().to_vec(), vec![5.0]);
}

#[test]
fn shape_errors_pass_through_with_the_op_name() {
    let a = Var::leaf(Tensor::<f32>::zeros(&[2, 3]), true);
    let b = Var::leaf(Tensor::<f32>::zeros(&[4, 5]), true);
    let msg = a.matmul(&b).unwrap_err().to_string();
    assert!(msg.contains("matmul") && msg.contains("[2, 3]") && msg.contains("[4, 5]"), "{msg}");
}

#[test]
fn f32_gradients_agree_with_f64() {
    let mut rng = seeded_rng(9);
    let x64 = Tensor::<f64>::randn(&[5, 4], &mut rng);
    let w64 = Tensor::<f64>::randn(&[4, 3], &mut rng);
    let run = |x: Var<f32>, w: Var<f32>| {
        x.matmul(&w)
            .unwrap()
            .gelu()
            .unwrap()
            .log_softmax(-1)
            .unwrap()
            .sum_all()
            .unwrap()
            .backward()
            .unwrap()
            .get(&w)
            .unwrap()
            .clone()
    };
    let g32 = run(Var::constant(x64.cast()), Var::leaf(w64.cast(), true));
    let w = Var::leaf(w64.clone(), true);
    let g64 = Var::constant(x64)
        .matmul(&w)
        .unwrap()
        .gelu()
        .unwrap()
        .log_softmax(-1)
        .unwrap()
        .sum_all()
        .unwrap()
        .backward()
        .unwrap()
        .get(&w)
        .unwrap()
        .clone();
    // f32 rounding through ~10 ops on values of order 1: relative error ~1e-6
    assert_close(&g32.cast::<f64>(), &g64, Tolerance::new(1e-4, 1e-5));
}

#[test]
fn very_long_chains_neither_overflow_the_stack_in_backward_nor_in_drop() {
    // 200k recorded ops in a chain: recursion per node would overflow a test thread's stack.
    let x = Var::leaf(Tensor::<f64>::scalar(1.0), true);
    let mut h = x.clone();
    for _ in 0..200_000 {
        h = h.mul_scalar(1.0).unwrap();
    }
    let g = h.backward().unwrap();
    assert_eq!(g.get(&x).unwrap().item().unwrap(), 1.0);
    let mut h = x.clone();
    for _ in 0..200_000 {
        h = h.add_scalar(0.0).unwrap();
    }
    drop(h); // never differentiated: dropped with its whole tape
}
