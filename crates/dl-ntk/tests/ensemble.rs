//! The infinite ensemble (mean and covariance over initialisations at time t) against
//! independent computations: closed forms at t = 0 (the prior) and t = infinity (the GP
//! posterior, kernel regression), a direct implementation with a Taylor matrix exponential
//! and Gauss–Jordan inverses at intermediate times, the time convention of multiple
//! outputs, and Monte Carlo over ensembles of finite wide networks trained by gradient
//! descent.

use dl_autodiff::Var;
use dl_init::Activation;
use dl_layers::Module;
use dl_ntk::ensemble::{
    EnsembleDynamics, EnsembleOptions, LossNormalisation, Regime, TestKernels, gradient_descent_mse_ensemble,
};
use dl_ntk::predict::{GradientFlow, nngp_posterior, nngp_posterior_full};
use dl_ntk::train::train_full_batch_gd;
use dl_ntk::{AnalyticKernels, Architecture, NtkError, Parameterisation};
use dl_tensor::compare::{Tolerance, assert_close_slices};
use dl_tensor::{Tensor, seeded_rng};
use ndarray::{Array2, Ix2};

fn m(t: &Tensor<f64>) -> Array2<f64> {
    t.view().to_owned().into_dimensionality::<Ix2>().unwrap()
}

/// Inverse by Gauss–Jordan elimination with partial pivoting (independent of faer).
fn inverse(a: &Array2<f64>) -> Array2<f64> {
    let n = a.nrows();
    let mut aug = Array2::<f64>::zeros((n, 2 * n));
    for i in 0..n {
        for j in 0..n {
            aug[[i, j]] = a[[i, j]];
        }
        aug[[i, n + i]] = 1.0;
    }
    for col in 0..n {
        let pivot_row = (col..n).max_by(|&r, &s| aug[[r, col]].abs().total_cmp(&aug[[s, col]].abs())).unwrap();
        for j in 0..2 * n {
            aug.swap([col, j], [pivot_row, j]);
        }
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
    aug.slice(ndarray::s![.., n..]).to_owned()
}

/// e^{-a} for a symmetric a by scaling and squaring a degree-20 Taylor polynomial
/// (independent of the eigendecomposition the library uses).
fn expm_neg(a: &Array2<f64>) -> Array2<f64> {
    let n = a.nrows();
    let norm = a.iter().map(|v| v.abs()).sum::<f64>();
    let s = (norm.max(1.0).log2().ceil() as i32 + 4).max(0);
    let b = a * (-1.0 / 2f64.powi(s));
    let mut term = Array2::<f64>::eye(n);
    let mut sum = Array2::<f64>::eye(n);
    for k in 1..=20 {
        term = term.dot(&b) / k as f64;
        sum += &term;
    }
    for _ in 0..s {
        sum = sum.dot(&sum);
    }
    sum
}

struct Problem {
    x: Tensor<f64>,
    xs: Tensor<f64>,
    y: Tensor<f64>,
    arch: Architecture,
    train: AnalyticKernels,
    cross: AnalyticKernels,
    test: AnalyticKernels,
}

fn problem(outputs: usize) -> Problem {
    let mut rng = seeded_rng(11);
    let x = Tensor::<f64>::randn(&[7, 3], &mut rng);
    let xs = Tensor::<f64>::randn(&[4, 3], &mut rng);
    let y = Tensor::<f64>::randn(&[7, outputs], &mut rng);
    let arch = Architecture::mlp(2, 1, Activation::Erf, 1.6, 0.1, outputs, Parameterisation::Ntk).unwrap();
    let train = arch.kernels(&x, None).unwrap();
    let cross = arch.kernels(&xs, Some(&x)).unwrap();
    let test = arch.kernels(&xs, None).unwrap();
    Problem { x, xs, y, arch, train, cross, test }
}

/// The reference: A = G_*x G^{-1} (I - e^{-tau G}), mean A Y and
/// Sigma = K** + A K A^T - A K_x* - K_*x A^T, written out with the Taylor exponential and
/// the Gauss–Jordan inverse.
fn reference(p: &Problem, regime: Regime, tau: f64) -> (Array2<f64>, Array2<f64>) {
    let (k, kx, kss, y) = (m(&p.train.nngp), m(&p.cross.nngp), m(&p.test.nngp), m(&p.y));
    let (g, gx) = match regime {
        Regime::Nngp => (k.clone(), kx.clone()),
        Regime::Ntk => (m(&p.train.ntk), m(&p.cross.ntk)),
    };
    let n = g.nrows();
    let a = gx.dot(&inverse(&g)).dot(&(Array2::<f64>::eye(n) - expm_neg(&(&g * tau))));
    let cov = &kss + &a.dot(&k).dot(&a.t()) - a.dot(&kx.t()) - kx.dot(&a.t());
    (a.dot(&y), cov)
}

fn test_kernels(p: &Problem) -> TestKernels {
    TestKernels { test_train: p.cross.clone(), nngp_test_test: Some(p.test.nngp.clone()) }
}

/// At intermediate times both regimes agree with the written-out formula. The kernels have
/// condition numbers ~1e3-1e4 and the reference inverts them explicitly: 1e-8 relative to
/// the scale of the entries (K** ~ 1).
#[test]
fn mean_and_covariance_match_the_direct_formula_at_every_time() {
    let p = problem(2);
    let eta = 0.7;
    let dynamics =
        EnsembleDynamics::new(&p.train, &p.y, EnsembleOptions { learning_rate: eta, ..EnsembleOptions::default() })
            .unwrap();
    let test = test_kernels(&p);
    for regime in [Regime::Nngp, Regime::Ntk] {
        for t in [0.5, 5.0, 50.0, 500.0] {
            let got = dynamics.predict_test(regime, t, &test, true).unwrap();
            let (mean, cov) = reference(&p, regime, eta * t / 7.0);
            let tol = Tolerance::new(1e-8, 1e-8);
            assert_close_slices(&got.mean.to_vec(), mean.as_slice().unwrap(), tol);
            assert_close_slices(&got.covariance.unwrap().to_vec(), cov.as_slice().unwrap(), tol);
        }
    }
}

/// t = 0 is the prior (mean 0, covariance K**); t = infinity is the GP posterior without
/// noise for the NNGP (against `nngp_posterior_full`, a Cholesky solve) and, for the NTK,
/// mean Theta_*x Theta^{-1} Y and covariance K** + B K B^T - B K_x* - K_*x B^T with
/// B = Theta_*x Theta^{-1} (Lee et al. 2019, eq. 16), with the Gauss–Jordan inverse.
#[test]
fn the_prior_at_zero_and_the_posterior_at_infinity() {
    let p = problem(2);
    let dynamics = EnsembleDynamics::new(&p.train, &p.y, EnsembleOptions::default()).unwrap();
    let test = test_kernels(&p);
    for regime in [Regime::Nngp, Regime::Ntk] {
        let prior = dynamics.predict_test(regime, 0.0, &test, true).unwrap();
        assert!(prior.mean.to_vec().iter().all(|&v| v == 0.0));
        assert_close_slices(&prior.covariance.unwrap().to_vec(), &p.test.nngp.to_vec(), Tolerance::new(1e-14, 1e-15));
    }
    let tol = Tolerance::new(1e-8, 1e-9);
    let post = nngp_posterior_full(&p.train.nngp, &p.cross.nngp, &p.test.nngp, &p.y, 0.0).unwrap();
    let inf = dynamics.predict_test(Regime::Nngp, f64::INFINITY, &test, true).unwrap();
    assert_close_slices(&inf.mean.to_vec(), &post.mean.to_vec(), tol);
    assert_close_slices(&inf.covariance.unwrap().to_vec(), &post.covariance.unwrap().to_vec(), tol);
    let (k, kx, kss) = (m(&p.train.nngp), m(&p.cross.nngp), m(&p.test.nngp));
    let b = m(&p.cross.ntk).dot(&inverse(&m(&p.train.ntk)));
    let cov = &kss + &b.dot(&k).dot(&b.t()) - b.dot(&kx.t()) - kx.dot(&b.t());
    let inf = dynamics.predict_test(Regime::Ntk, f64::INFINITY, &test, true).unwrap();
    assert_close_slices(&inf.mean.to_vec(), b.dot(&m(&p.y)).as_slice().unwrap(), tol);
    assert_close_slices(&inf.covariance.unwrap().to_vec(), cov.as_slice().unwrap(), tol);
    // The NTK posterior is not the NNGP one: the two covariances differ by O(1).
    let nngp_var = post.variance.to_vec();
    assert!((0..4).any(|i| (cov[[i, i]] - nngp_var[i]).abs() > 1e-3), "{cov:?} vs {nngp_var:?}");
}

/// On the training points: mean (I - E) Y and covariance E K E, the same as the test path
/// with X* = X; at t = infinity the mean interpolates Y with no spread left. The NTK mean
/// is GradientFlow's prediction from f_0 = 0.
#[test]
fn training_points_and_the_single_network_flow_agree() {
    let p = problem(2);
    let eta = 0.7;
    let opts = EnsembleOptions { learning_rate: eta, ..EnsembleOptions::default() };
    let dynamics = EnsembleDynamics::new(&p.train, &p.y, opts).unwrap();
    let same = TestKernels { test_train: p.train.clone(), nngp_test_test: Some(p.train.nngp.clone()) };
    let flow = GradientFlow::new(&p.train.ntk, &p.y, None, eta).unwrap();
    for regime in [Regime::Nngp, Regime::Ntk] {
        for t in [0.0, 3.0, 30.0, f64::INFINITY] {
            let train = dynamics.predict_train(regime, t, true).unwrap();
            let test = dynamics.predict_test(regime, t, &same, true).unwrap();
            // The test path forms K** + A K A^T - ... with entries ~1 that cancel to E K E.
            let tol = Tolerance::new(1e-9, 1e-9);
            assert_close_slices(&train.mean.to_vec(), &test.mean.to_vec(), tol);
            assert_close_slices(&train.covariance.unwrap().to_vec(), &test.covariance.unwrap().to_vec(), tol);
            if regime == Regime::Ntk {
                assert_close_slices(&train.mean.to_vec(), &flow.predict_train(t).unwrap().to_vec(), tol);
            }
        }
        let done = dynamics.predict_train(regime, f64::INFINITY, true).unwrap();
        assert_close_slices(&done.mean.to_vec(), &p.y.to_vec(), Tolerance::new(1e-9, 1e-10));
        assert!(done.covariance.unwrap().to_vec().iter().all(|v| v.abs() < 1e-9));
    }
}

/// Multiple outputs: every output column has the same covariance, and the time convention
/// is stated. Ours divides the loss by n (a sum over outputs); neural-tangents' by n k (a
/// mean over entries), so their time k t is our time t. Checked against forward-Euler
/// integration of neural-tangents' ODE df/dt = -(eta / (n k)) Theta (f - Y).
#[test]
fn multi_output_time_convention() {
    let k = 3;
    let p = problem(k);
    let eta = 0.7;
    let ours =
        EnsembleDynamics::new(&p.train, &p.y, EnsembleOptions { learning_rate: eta, ..Default::default() }).unwrap();
    let theirs = EnsembleDynamics::new(
        &p.train,
        &p.y,
        EnsembleOptions { learning_rate: eta, normalisation: LossNormalisation::PerEntry, ..Default::default() },
    )
    .unwrap();
    assert!((theirs.time_scale() * k as f64 / ours.time_scale() - 1.0).abs() < 1e-15);
    let test = test_kernels(&p);
    let t = 12.0;
    for regime in [Regime::Nngp, Regime::Ntk] {
        let a = ours.predict_test(regime, t, &test, true).unwrap();
        let b = theirs.predict_test(regime, k as f64 * t, &test, true).unwrap();
        let tol = Tolerance::new(1e-12, 1e-13);
        assert_close_slices(&a.mean.to_vec(), &b.mean.to_vec(), tol);
        assert_close_slices(&a.covariance.unwrap().to_vec(), &b.covariance.unwrap().to_vec(), tol);
        // at equal times the two conventions differ
        let c = theirs.predict_test(regime, t, &test, false).unwrap();
        assert!(a.mean.to_vec().iter().zip(c.mean.to_vec()).any(|(x, y)| (x - y).abs() > 1e-3));
    }
    // Euler on neural-tangents' ODE (train and test outputs together), dt = 1e-3: the error
    // is O(dt) relative to the change, well inside 1e-3.
    let (th, cr, y) = (m(&p.train.ntk), m(&p.cross.ntk), m(&p.y));
    let n = 7.0;
    let (steps, t_end) = (12_000, 12.0);
    let dt = t_end / steps as f64;
    let (mut f, mut fs) = (Array2::<f64>::zeros((7, k)), Array2::<f64>::zeros((4, k)));
    for _ in 0..steps {
        let r = &f - &y;
        fs = fs - cr.dot(&r) * (eta / (n * k as f64) * dt);
        f = f - th.dot(&r) * (eta / (n * k as f64) * dt);
    }
    let b = theirs.predict_test(Regime::Ntk, t_end, &test, false).unwrap();
    assert_close_slices(&b.mean.to_vec(), fs.as_slice().unwrap(), Tolerance::new(1e-3, 1e-4));
}

/// The one-call interface computes the kernels itself and gives the same numbers as the
/// kernel-level dynamics; bad input is an error naming the argument.
#[test]
fn one_call_from_an_architecture() {
    let p = problem(2);
    let opts = EnsembleOptions { learning_rate: 0.5, diag_reg: 1e-6, ..Default::default() };
    let ens = gradient_descent_mse_ensemble(&p.arch, &p.x, &p.y, opts).unwrap();
    let out = ens.predict(&[0.0, 4.0, f64::INFINITY], Some(&p.xs), true).unwrap();
    assert_eq!((out.nngp.len(), out.ntk.len()), (3, 3));
    let dynamics = EnsembleDynamics::new(&p.train, &p.y, opts).unwrap();
    let test = test_kernels(&p);
    for (regime, got) in [(Regime::Nngp, &out.nngp), (Regime::Ntk, &out.ntk)] {
        for g in got {
            let e = dynamics.predict_test(regime, g.time, &test, true).unwrap();
            assert_eq!(g.mean.to_vec(), e.mean.to_vec());
            assert_eq!(g.covariance.as_ref().unwrap().to_vec(), e.covariance.unwrap().to_vec());
        }
    }
    let on_train = ens.predict_regime(Regime::Ntk, &[2.0], None, false).unwrap();
    assert_eq!(on_train[0].mean.shape(), &[7, 2]);
    assert!(on_train[0].covariance.is_none());
    // errors
    let bad_y = Tensor::<f64>::zeros(&[7, 3]);
    let e = gradient_descent_mse_ensemble(&p.arch, &p.x, &bad_y, opts).err().unwrap().to_string();
    assert!(e.contains("y_train") && e.contains("[7, 3]"), "{e}");
    let e = ens.predict(&[-1.0], Some(&p.xs), false).unwrap_err();
    assert!(matches!(e, NtkError::InvalidArgument { name: "t", .. }), "{e}");
    let no_cov = TestKernels { test_train: p.cross.clone(), nngp_test_test: None };
    let e = dynamics.predict_test(Regime::Ntk, 1.0, &no_cov, true).unwrap_err().to_string();
    assert!(e.contains("nngp_test_test"), "{e}");
    let wrong = TestKernels { test_train: p.test.clone(), nngp_test_test: None };
    let e = dynamics.predict_test(Regime::Ntk, 1.0, &wrong, false).unwrap_err().to_string();
    assert!(e.contains("[4, 4]") && e.contains("(4, 7)"), "{e}");
    let e = EnsembleDynamics::new(&p.train, &p.y, EnsembleOptions { learning_rate: 0.0, ..Default::default() })
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("learning_rate"), "{e}");
}

/// The full NNGP posterior covariance against the direct formula with noise (Gauss–Jordan
/// inverse of K + s I); its diagonal is `nngp_posterior`'s variance.
#[test]
fn full_nngp_posterior_covariance() {
    let p = problem(2);
    let s = 0.05;
    let post = nngp_posterior_full(&p.train.nngp, &p.cross.nngp, &p.test.nngp, &p.y, s).unwrap();
    let (k, kx, kss) = (m(&p.train.nngp), m(&p.cross.nngp), m(&p.test.nngp));
    let inv = inverse(&(&k + &(Array2::<f64>::eye(7) * s)));
    let cov = &kss - &kx.dot(&inv).dot(&kx.t());
    let tol = Tolerance::new(1e-10, 1e-12);
    assert_close_slices(&post.covariance.as_ref().unwrap().to_vec(), cov.as_slice().unwrap(), tol);
    assert_close_slices(&post.mean.to_vec(), kx.dot(&inv).dot(&m(&p.y)).as_slice().unwrap(), tol);
    let diag_only = Tensor::<f64>::from_vec(kss.diag().to_vec(), &[4]).unwrap();
    let post_diag = nngp_posterior(&p.train.nngp, &p.cross.nngp, &diag_only, &p.y, s).unwrap();
    assert_close_slices(&post_diag.variance.to_vec(), &post.variance.to_vec(), tol);
    assert!(post_diag.covariance.is_none());
    let e = nngp_posterior_full(&p.train.nngp, &p.cross.nngp, &p.train.nngp, &p.y, s).unwrap_err().to_string();
    assert!(e.contains("k_test_test") && e.contains("[7, 7]"), "{e}");
}

/// Sample mean and covariance of the test outputs of `networks` finite networks trained by
/// full-batch gradient descent, recorded at each of `checkpoints` (steps). Both output
/// columns of a network serve as samples (they are independent at infinite width).
fn finite_ensemble(
    arch: &Architecture,
    (x, y, xs): (&Tensor<f64>, &Tensor<f64>, &Tensor<f64>),
    eta: f64,
    checkpoints: &[usize],
    networks: usize,
    readout_only: bool,
) -> Vec<(Array2<f64>, Array2<f64>)> {
    let mut rng = seeded_rng(2024);
    let steps = *checkpoints.last().unwrap();
    let mut samples: Vec<Vec<Array2<f64>>> = vec![Vec::new(); checkpoints.len()];
    for _ in 0..networks {
        let net = arch.sample(x.shape()[1], &mut rng).unwrap();
        if readout_only {
            let last = (arch.layers().len() - 1).to_string();
            for p in net.parameters() {
                p.param.set_requires_grad(p.name.starts_with(&format!("{last}.")));
            }
        }
        let record = |net: &dyn Module<f64>| m(net.forward(&Var::constant(xs.clone())).unwrap().value());
        let mut outs = Vec::new();
        if checkpoints[0] == 0 {
            outs.push(record(&net));
        }
        train_full_batch_gd(&net, x, y, eta, steps, |step, _| {
            if checkpoints.contains(&(step + 1)) {
                outs.push(record(&net));
            }
            Ok(())
        })
        .unwrap();
        for (c, o) in outs.into_iter().enumerate() {
            samples[c].push(o);
        }
    }
    samples
        .iter()
        .map(|outs| {
            let mut cols: Vec<Vec<f64>> = Vec::new();
            for o in outs {
                for c in 0..o.ncols() {
                    cols.push(o.column(c).to_vec());
                }
            }
            let r = cols.len() as f64;
            let dim = cols[0].len();
            let mut mean = Array2::<f64>::zeros((dim, 1));
            for c in &cols {
                for i in 0..dim {
                    mean[[i, 0]] += c[i] / r;
                }
            }
            // second moment about 0: the ensemble mean is predicted too, so compare the
            // covariance about the sample mean
            let mut cov = Array2::<f64>::zeros((dim, dim));
            for c in &cols {
                for i in 0..dim {
                    for j in 0..dim {
                        cov[[i, j]] += (c[i] - mean[[i, 0]]) * (c[j] - mean[[j, 0]]) / (r - 1.0);
                    }
                }
            }
            (mean, cov)
        })
        .collect()
}

/// Monte Carlo: 200 networks of width 512 (ReLU, NTK parameterisation), trained by
/// full-batch gradient descent with a small step (eta lambda_max / n = 0.08: after k steps a
/// mode keeps (1 - x)^k of its residual instead of e^{-k x}, at most 1.2% of the residual
/// apart), against the predicted Gaussian at steps 0, 20 and 80, in both regimes (NNGP:
/// only the readout trained).
///
/// Both targets are one column repeated, so both outputs have the same predicted mean and
/// serve as samples: R = 400. A covariance entry then has standard error
/// sqrt((S_ii S_jj + S_ij^2) / R) and a mean sqrt(S_ii / R); the test allows 4 standard
/// errors plus 3% of sqrt(S_ii S_jj) for finite width and the discrete steps (the measured
/// worst is printed).
#[test]
fn covariance_matches_monte_carlo_over_trained_finite_networks() {
    let mut rng = seeded_rng(5);
    let (n, d, ms) = (6, 3, 3);
    let x = Tensor::<f64>::randn(&[n, d], &mut rng);
    let xs = Tensor::<f64>::randn(&[ms, d], &mut rng);
    // one target column repeated: both outputs then share one predicted mean
    let y1 = Tensor::<f64>::randn(&[n, 1], &mut rng).to_vec();
    let y = Tensor::<f64>::from_vec(y1.iter().flat_map(|&v| [v, v]).collect(), &[n, 2]).unwrap();
    let arch = Architecture::mlp(1, 512, Activation::Relu, 2.0, 0.1, 2, Parameterisation::Ntk).unwrap();
    let checkpoints = [0, 20, 80];
    for regime in [Regime::Ntk, Regime::Nngp] {
        let probe = gradient_descent_mse_ensemble(&arch, &x, &y, EnsembleOptions::default()).unwrap();
        let eta = 0.04 * probe.dynamics().max_stable_learning_rate(regime).unwrap();
        let ens =
            gradient_descent_mse_ensemble(&arch, &x, &y, EnsembleOptions { learning_rate: eta, ..Default::default() })
                .unwrap();
        let times: Vec<f64> = checkpoints.iter().map(|&c| c as f64).collect();
        let predicted = ens.predict_regime(regime, &times, Some(&xs), true).unwrap();
        let measured = finite_ensemble(&arch, (&x, &y, &xs), eta, &checkpoints, 200, regime == Regime::Nngp);
        let r = 400.0;
        for (g, (mean, cov)) in predicted.iter().zip(&measured) {
            let mut worst = 0.0f64;
            let (pm, pc) = (m(&g.mean), m(g.covariance.as_ref().unwrap()));
            for i in 0..ms {
                let se = (pc[[i, i]] / r).sqrt();
                let err = (mean[[i, 0]] - pm[[i, 0]]).abs();
                worst = worst.max(err / se);
                assert!(
                    err <= 4.0 * se + 0.03 * pc[[i, i]].sqrt(),
                    "{regime:?} t = {}: mean {i}: {} vs {}",
                    g.time,
                    mean[[i, 0]],
                    pm[[i, 0]]
                );
                for j in 0..ms {
                    let scale = (pc[[i, i]] * pc[[j, j]]).sqrt();
                    let se = ((pc[[i, i]] * pc[[j, j]] + pc[[i, j]].powi(2)) / r).sqrt();
                    let err = (cov[[i, j]] - pc[[i, j]]).abs();
                    worst = worst.max(err / se);
                    assert!(
                        err <= 4.0 * se + 0.03 * scale,
                        "{regime:?} t = {}: cov ({i}, {j}): Monte Carlo {} vs predicted {}",
                        g.time,
                        cov[[i, j]],
                        pc[[i, j]]
                    );
                }
            }
            println!("{regime:?} at step {}: worst |Monte Carlo - predicted| = {worst:.2} standard errors", g.time);
        }
        // The comparison has power: the same criterion rejects the prior covariance as a
        // prediction of the trained ensemble at step 80.
        let c0 = m(predicted[0].covariance.as_ref().unwrap());
        let (_, cov_trained) = &measured[2];
        let rejected = (0..ms).any(|i| {
            let se = (2.0 * c0[[i, i]] * c0[[i, i]] / r).sqrt();
            (cov_trained[[i, i]] - c0[[i, i]]).abs() > 4.0 * se + 0.03 * c0[[i, i]]
        });
        assert!(rejected, "{regime:?}: the trained ensemble is indistinguishable from the prior");
    }
}
