//! Gradient-flow predictions against direct integration, kernel regression, the NNGP
//! posterior and the bounds, and the errors on bad arguments.

use dl_init::Activation;
use dl_ntk::predict::{GradientFlow, arora_bound, kernel_regression, nngp_posterior};
use dl_ntk::{Architecture, Parameterisation, SolveMethod};
use dl_tensor::compare::{Tolerance, assert_close_slices};
use dl_tensor::{Tensor, seeded_rng};
use ndarray::{Array2, Ix2};

fn setup() -> (Tensor<f64>, Tensor<f64>, Tensor<f64>, Tensor<f64>) {
    let mut rng = seeded_rng(7);
    let x = Tensor::<f64>::randn(&[8, 3], &mut rng);
    let xs = Tensor::<f64>::randn(&[5, 3], &mut rng);
    let y = Tensor::<f64>::randn(&[8, 2], &mut rng);
    let arch = Architecture::mlp(2, 1, Activation::Relu, 2.0, 0.1, 1, Parameterisation::Ntk).unwrap();
    let train = arch.kernels(&x, None).unwrap().ntk;
    let cross = arch.kernels(&xs, Some(&x)).unwrap().ntk;
    let test = arch.kernels(&xs, None).unwrap().ntk;
    (train, cross, y, test)
}

fn m(t: &Tensor<f64>) -> Array2<f64> {
    t.view().to_owned().into_dimensionality::<Ix2>().unwrap()
}

#[test]
fn the_eigen_solution_matches_euler_integration_of_the_ode() {
    let (train, cross, y, _) = setup();
    let (th, cr, yv) = (m(&train), m(&cross), m(&y));
    let n = 8.0;
    let eta = 0.5;
    let flow = GradientFlow::new(&train, &y, None, eta).unwrap().with_test(&cross, None).unwrap();
    // df/dt = -(eta/n) Theta (f - y) on train; df*/dt = -(eta/n) Theta* (f - y) on test
    let (steps, t_end) = (200_000, 20.0);
    let dt = t_end / steps as f64;
    let (mut f, mut fs) = (Array2::<f64>::zeros((8, 2)), Array2::<f64>::zeros((5, 2)));
    for _ in 0..steps {
        let r = &f - &yv;
        let df = th.dot(&r) * (-eta / n * dt);
        fs = fs + cr.dot(&r) * (-eta / n * dt);
        f = f + df;
    }
    // forward Euler has a global error O(dt) = 1e-4 relative to the change
    let tol = Tolerance::new(1e-3, 1e-4);
    assert_close_slices(&flow.predict_train(t_end).unwrap().to_vec(), f.as_slice().unwrap(), tol);
    assert_close_slices(&flow.predict_test(t_end).unwrap().to_vec(), fs.as_slice().unwrap(), tol);
    // the loss decreases
    let losses: Vec<f64> = [0.0, 1.0, 10.0, 100.0].iter().map(|&t| flow.train_loss(t).unwrap()).collect();
    assert!(losses.windows(2).all(|w| w[1] < w[0]), "{losses:?}");
}

#[test]
fn infinite_time_is_kernel_regression() {
    let (train, cross, y, _) = setup();
    let flow = GradientFlow::new(&train, &y, None, 1.0).unwrap().with_test(&cross, None).unwrap();
    let (kr, method) = kernel_regression(&train, &cross, &y, 0.0).unwrap();
    assert_eq!(method, SolveMethod::Cholesky);
    // eigen and Cholesky solves of a kernel with condition number ~1e2-1e3
    assert_close_slices(&flow.predict_test(f64::INFINITY).unwrap().to_vec(), &kr.to_vec(), Tolerance::new(1e-9, 1e-11));
    // training points are interpolated
    assert_close_slices(&flow.predict_train(f64::INFINITY).unwrap().to_vec(), &y.to_vec(), Tolerance::new(1e-9, 1e-11));
    assert_eq!(flow.clipped_at_infinity(), 0);
}

#[test]
fn the_stable_learning_rate_separates_convergence_from_divergence() {
    let (train, _, y, _) = setup();
    let th = m(&train);
    let flow = GradientFlow::new(&train, &y, None, 1.0).unwrap();
    let eta_max = flow.max_stable_learning_rate();
    let run = |eta: f64| {
        let mut f = Array2::<f64>::zeros((8, 2));
        for _ in 0..3000 {
            let r = &f - &m(&y);
            f = f - th.dot(&r) * (eta / 8.0);
        }
        (&f - &m(&y)).iter().map(|v| v.abs()).fold(0.0, f64::max)
    };
    assert!(run(0.98 * eta_max) < 1e-3);
    assert!(run(1.02 * eta_max) > 1e3);
}

#[test]
fn nngp_posterior_and_arora_bound_match_the_direct_formulas() {
    let (train, cross, y, xs) = setup();
    let (k, c, yv) = (m(&train), m(&cross), m(&y));
    // direct inverse by Gauss-Jordan elimination, independent of faer
    let n = 8;
    let mut aug = Array2::<f64>::zeros((n, 2 * n));
    for i in 0..n {
        for j in 0..n {
            aug[[i, j]] = k[[i, j]] + if i == j { 0.01 } else { 0.0 };
        }
        aug[[i, n + i]] = 1.0;
    }
    for col in 0..n {
        let piv = aug[[col, col]];
        for j in 0..2 * n {
            aug[[col, j]] /= piv;
        }
        for r in 0..n {
            if r != col {
                let f = aug[[r, col]];
                for j in 0..2 * n {
                    aug[[r, j]] -= f * aug[[col, j]];
                }
            }
        }
    }
    let inv = aug.slice(ndarray::s![.., n..]).to_owned();
    let kss = m(&xs).diag().to_vec();
    let diag = Tensor::<f64>::from_vec(kss.clone(), &[5]).unwrap();
    let post = nngp_posterior(&train, &cross, &diag, &y, 0.01).unwrap();
    assert_close_slices(&post.mean.to_vec(), c.dot(&inv).dot(&yv).as_slice().unwrap(), Tolerance::new(1e-9, 1e-11));
    let var: Vec<f64> = (0..5).map(|i| kss[i] - c.row(i).dot(&inv.dot(&c.row(i)))).collect();
    assert_close_slices(&post.variance.to_vec(), &var, Tolerance::new(1e-9, 1e-11));
    assert!(post.variance.to_vec().iter().all(|&v| v > 0.0));
    // Arora: sqrt(2 y^T Theta^{-1} y / n) with a tiny ridge-free inverse
    let y1 = Tensor::<f64>::from_vec(yv.column(0).to_vec(), &[8, 1]).unwrap();
    let (b, _) = arora_bound(&train, &y1).unwrap();
    let sol = dl_ntk::SymmetricSolver::new("t", k.view(), 0.0).unwrap().solve(m(&y1).view()).unwrap();
    let direct = (2.0 * yv.column(0).dot(&sol.column(0)) / 8.0).sqrt();
    assert_close_slices(&[b], &[direct], Tolerance::new(1e-12, 0.0));
}

#[test]
fn bad_arguments_are_errors_that_say_which() {
    let (train, cross, y, _) = setup();
    let flow = GradientFlow::new(&train, &y, None, 1.0).unwrap().with_test(&cross, None).unwrap();
    let e = flow.predict_test(-1.0).unwrap_err().to_string();
    assert!(e.contains("t = -1") && e.contains("non-negative"), "{e}");
    let e = GradientFlow::new(&train, &y, None, 0.0).err().unwrap().to_string();
    assert!(e.contains("learning_rate"), "{e}");
    let bad_y = Tensor::<f64>::zeros(&[7, 2]);
    let e = GradientFlow::new(&train, &bad_y, None, 1.0).err().unwrap().to_string();
    assert!(e.contains("y_train") && e.contains("[7, 2]"), "{e}");
    let e = kernel_regression(&train, &y, &y, 0.0).unwrap_err().to_string();
    assert!(e.contains("theta_test_train"), "{e}");
}
