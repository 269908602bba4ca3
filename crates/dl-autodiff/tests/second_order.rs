//! Hessian-vector products against analytic Hessians (a quadratic form and the logistic
//! regression loss) and against central differences of the gradient.

use dl_autodiff::hessian::{hessian, hvp, hvp_forward_over_reverse};
use dl_autodiff::{Result, Var};
use dl_tensor::{Tensor, Tolerance, assert_close, seeded_rng};

#[test]
fn quadratic_form_has_the_symmetrised_matrix_as_hessian() {
    // f(x) = 0.5 xᵀ A x with A not symmetric: H = (A + Aᵀ)/2, exactly.
    let mut rng = seeded_rng(1);
    let n = 6;
    let a = Tensor::<f64>::randn(&[n, n], &mut rng);
    let x = Tensor::<f64>::randn(&[n, 1], &mut rng);
    let v = Tensor::<f64>::randn(&[n, 1], &mut rng);
    let av = Var::constant(a.clone());
    let f = move |x: &Var<f64>| -> Result<Var<f64>> { x.t()?.matmul(&av.matmul(x)?)?.sum_all()?.mul_scalar(0.5) };
    let h_expect = a.add(&a.t().unwrap()).unwrap().mul_scalar(0.5);
    let hv_expect = h_expect.matmul(&v).unwrap();
    // both are short dot products of the same numbers: rounding only
    let tol = Tolerance::new(1e-12, 1e-13);
    let r = hvp(&f, &x, &v).unwrap();
    assert_close(&r.hvp, &hv_expect, tol);
    assert_close(&r.grad, &h_expect.matmul(&x).unwrap(), tol);
    assert_close(&hvp_forward_over_reverse(&f, &x, &v).unwrap().hvp, &hv_expect, tol);
    assert_close(&hessian(&f, &x).unwrap().reshape(&[n, n]).unwrap(), &h_expect, tol);
}

#[test]
fn logistic_regression_hessian_is_xt_diag_p_1_minus_p_x_over_n() {
    // L(w) = mean_i softplus(x_i·w) - y_i x_i·w, H = Xᵀ diag(p(1-p)) X / n with p = σ(Xw).
    let mut rng = seeded_rng(2);
    let (n, d) = (20, 4);
    let xm = Tensor::<f64>::randn(&[n, d], &mut rng);
    let y = Tensor::<f64>::bernoulli(&[n, 1], 0.5, &mut rng).unwrap();
    let w = Tensor::<f64>::randn(&[d, 1], &mut rng).mul_scalar(0.5);
    let (xv, yv) = (Var::constant(xm.clone()), Var::constant(y.clone()));
    let loss = move |w: &Var<f64>| -> Result<Var<f64>> {
        let z = xv.matmul(w)?;
        z.softplus()?.sub(&yv.mul(&z)?)?.mean_all()
    };
    let p = xm.matmul(&w).unwrap().sigmoid();
    let s = p.mul(&p.neg().add_scalar(1.0)).unwrap(); // (n, 1)
    let h_expect = xm.t().unwrap().matmul(&xm.mul(&s).unwrap()).unwrap().mul_scalar(1.0 / n as f64);
    let h = hessian(&loss, &w).unwrap().reshape(&[d, d]).unwrap();
    // same sums in a different order, plus sigmoid rounding: ~1e-15 relative
    assert_close(&h, &h_expect, Tolerance::new(1e-11, 1e-13));
    let v = Tensor::<f64>::randn(&[d, 1], &mut rng);
    assert_close(&hvp(&loss, &w, &v).unwrap().hvp, &h_expect.matmul(&v).unwrap(), Tolerance::new(1e-11, 1e-13));
}

#[test]
fn hvp_matches_central_differences_of_the_gradient_for_a_small_network() {
    // f(x) = sum(log_softmax(tanh(x W1) W2)[:, 0]) + 0.1 sum(gelu(x)^2), x of shape (3, 4)
    let mut rng = seeded_rng(3);
    let w1 = Var::constant(Tensor::<f64>::randn(&[4, 5], &mut rng));
    let w2 = Var::constant(Tensor::<f64>::randn(&[5, 3], &mut rng));
    let f = move |x: &Var<f64>| -> Result<Var<f64>> {
        let a = x.matmul(&w1)?.tanh()?.matmul(&w2)?.log_softmax(-1)?.narrow(1, 0, 1)?.sum_all()?;
        a.add(&x.gelu()?.square()?.sum_all()?.mul_scalar(0.1)?)
    };
    let x = Tensor::<f64>::randn(&[3, 4], &mut rng);
    let v = Tensor::<f64>::randn(&[3, 4], &mut rng);
    let r = hvp(&f, &x, &v).unwrap();
    // central difference of the gradient along v, step 1e-5: truncation ~h² |∇³f| ~ 1e-10,
    // rounding ~ε |∇f| / h ~ 1e-11; allow 1e-7.
    let h = 1e-5;
    let gp = hvp(&f, &x.add(&v.mul_scalar(h)).unwrap(), &v).unwrap().grad;
    let gm = hvp(&f, &x.sub(&v.mul_scalar(h)).unwrap(), &v).unwrap().grad;
    let fd = gp.sub(&gm).unwrap().mul_scalar(1.0 / (2.0 * h));
    assert_close(&r.hvp, &fd, Tolerance::new(1e-6, 1e-7));
    // the two exact methods agree to rounding
    assert_close(&hvp_forward_over_reverse(&f, &x, &v).unwrap().hvp, &r.hvp, Tolerance::new(1e-12, 1e-13));
}

#[test]
fn hvp_rejects_a_direction_of_another_shape_and_a_non_scalar_function() {
    let x = Tensor::<f64>::ones(&[3]);
    assert!(hvp(|x: &Var<f64>| x.sum_all(), &x, &Tensor::ones(&[2])).is_err());
    assert!(hvp(|x: &Var<f64>| x.exp(), &x, &Tensor::ones(&[3])).is_err());
}
