//! Forward mode and Jacobians: columns by JVP, rows by VJP, both against each other and
//! against a hand-derived Jacobian.

use dl_autodiff::forward::{JacobianMode, jacobian, jacobian_forward, jacobian_reverse, jvp};
use dl_autodiff::{Result, Var};
use dl_tensor::{Tensor, Tolerance, assert_close, seeded_rng};

#[test]
fn jacobian_of_softmax_is_diag_p_minus_p_pt() {
    let x = Tensor::<f64>::from_vec(vec![0.2, -1.0, 0.7, 1.5], &[4]).unwrap();
    let p = x.softmax(0).unwrap().to_vec();
    let mut expect = vec![0.0; 16];
    for i in 0..4 {
        for j in 0..4 {
            expect[i * 4 + j] = if i == j { p[i] } else { 0.0 } - p[i] * p[j];
        }
    }
    let expect = Tensor::from_vec(expect, &[4, 4]).unwrap();
    let f = |x: &Var<f64>| x.softmax(0);
    let tol = Tolerance::new(1e-14, 1e-16);
    assert_close(&jacobian_forward(f, &x).unwrap(), &expect, tol);
    assert_close(&jacobian_reverse(f, &x).unwrap(), &expect, tol);
}

#[test]
fn jacobian_picks_the_cheaper_mode_for_the_shape() {
    let mut rng = seeded_rng(4);
    let w = Var::constant(Tensor::<f64>::randn(&[3, 7], &mut rng));
    let wide = {
        let w = w.clone();
        move |x: &Var<f64>| -> Result<Var<f64>> { x.matmul(&w)?.tanh() }
    };
    let x = Tensor::<f64>::randn(&[1, 3], &mut rng);
    let (j, mode) = jacobian(&wide, &x).unwrap();
    assert_eq!(mode, JacobianMode::Forward); // 3 inputs, 7 outputs
    assert_eq!(j.shape(), &[1, 7, 1, 3]);
    assert_close(&j, &jacobian_reverse(&wide, &x).unwrap(), Tolerance::new(1e-14, 1e-16));
    let narrow = move |x: &Var<f64>| -> Result<Var<f64>> { x.matmul(&w.t()?)?.sin() };
    let x = Tensor::<f64>::randn(&[1, 7], &mut rng);
    let (j, mode) = jacobian(&narrow, &x).unwrap();
    assert_eq!(mode, JacobianMode::Reverse); // 7 inputs, 3 outputs
    assert_close(&j, &jacobian_forward(&narrow, &x).unwrap(), Tolerance::new(1e-14, 1e-16));
}

#[test]
fn jvp_of_several_inputs_is_the_sum_of_partial_jvps() {
    let mut rng = seeded_rng(5);
    let a = Tensor::<f64>::randn(&[3, 4], &mut rng);
    let b = Tensor::<f64>::randn(&[4, 2], &mut rng);
    let (ta, tb) = (Tensor::<f64>::randn(&[3, 4], &mut rng), Tensor::<f64>::randn(&[4, 2], &mut rng));
    let f = |xs: &[Var<f64>]| xs[0].matmul(&xs[1])?.exp();
    let (y, t) = jvp(f, &[a.clone(), b.clone()], &[ta.clone(), tb.clone()]).unwrap();
    // d exp(AB) = exp(AB) ⊙ (tA B + A tB)
    let expect = y.mul(&ta.matmul(&b).unwrap().add(&a.matmul(&tb).unwrap()).unwrap()).unwrap();
    assert_close(&t, &expect, Tolerance::new(1e-13, 1e-14));
    assert!(jvp(f, &[a], &[]).is_err());
}
