//! Monitors against independent computations: the Hessian of softmax regression written
//! out by hand (its eigenvalues by Jacobi rotations), gradients and activations by loops.

use dl_framework::data::Dataset;
use dl_framework::train::{
    ActivationStatsMonitor, GradientStatsMonitor, Loss, LossAccuracyMonitor, LossHessian, SharpnessMonitor,
    top_hessian_eigenvalue,
};
use dl_framework::{Network, NetworkConfig, TrainConfig, Trainer};
use dl_layers::Module;
use dl_tensor::compare::{Tolerance, assert_close_slices};
use dl_tensor::{Tensor, seeded_rng};
use rand::RngExt;

const N: usize = 20;
const D: usize = 4;
const C: usize = 3;

fn data() -> Dataset<f64> {
    let mut rng = seeded_rng(4);
    let x = Tensor::<f64>::randn(&[N, D], &mut rng);
    let labels = (0..N).map(|_| rng.random_range(0..C)).collect();
    Dataset::classification(x, labels, C).unwrap()
}

fn logistic() -> Network<f64> {
    NetworkConfig::from_json(r#"{"input_shape": [4], "seed": 2, "layers": [{"type": "dense", "units": 3}]}"#)
        .unwrap()
        .build()
        .unwrap()
}

/// Logits, softmax probabilities, and the Hessian of the mean cross-entropy with respect to
/// theta = (W row-major, b), by hand: with x~ = (x, 1) and p = softmax(W x + b),
/// H = (1/N) sum_n (diag(p_n) - p_n p_n^T) (x) x~_n x~_n^T.
type Matrix = Vec<Vec<f64>>;

fn by_hand(net: &Network<f64>, data: &Dataset<f64>) -> (Matrix, Matrix, Matrix) {
    let p = net.parameters();
    let (w, b) = (p[0].param.value().to_vec(), p[1].param.value().to_vec());
    let x = data.features().to_vec();
    let dim = C * D + C;
    let idx = |c: usize, i: usize| if i < D { c * D + i } else { C * D + c }; // i == D is the bias
    let mut h = vec![vec![0.0; dim]; dim];
    let (mut logits, mut probs) = (Vec::new(), Vec::new());
    for n in 0..N {
        let xt: Vec<f64> = x[n * D..(n + 1) * D].iter().copied().chain([1.0]).collect();
        let z: Vec<f64> = (0..C).map(|c| (0..D).map(|i| w[c * D + i] * xt[i]).sum::<f64>() + b[c]).collect();
        let m = z.iter().fold(f64::MIN, |a, &v| a.max(v));
        let s: f64 = z.iter().map(|v| (v - m).exp()).sum();
        let pr: Vec<f64> = z.iter().map(|v| (v - m).exp() / s).collect();
        for c in 0..C {
            for d in 0..C {
                let a = if c == d { pr[c] } else { 0.0 } - pr[c] * pr[d];
                for i in 0..=D {
                    for j in 0..=D {
                        h[idx(c, i)][idx(d, j)] += a * xt[i] * xt[j] / N as f64;
                    }
                }
            }
        }
        logits.push(z);
        probs.push(pr);
    }
    (logits, probs, h)
}

/// Eigenvalues of a symmetric matrix by cyclic Jacobi rotations (Golub & Van Loan, sec. 8.5).
#[allow(clippy::needless_range_loop)] // the rotation is clearest with explicit indices
fn jacobi_eigenvalues(mut a: Vec<Vec<f64>>) -> Vec<f64> {
    let n = a.len();
    for _sweep in 0..100 {
        let off: f64 = (0..n)
            .flat_map(|i| (0..n).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| a[i][j] * a[i][j])
            .sum();
        if off < 1e-30 {
            break;
        }
        for p in 0..n {
            for q in p + 1..n {
                if a[p][q].abs() < 1e-300 {
                    continue;
                }
                let theta = (a[q][q] - a[p][p]) / (2.0 * a[p][q]);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let (c, s) = (1.0 / (t * t + 1.0).sqrt(), t / (t * t + 1.0).sqrt());
                for k in 0..n {
                    let (akp, akq) = (a[k][p], a[k][q]);
                    a[k][p] = c * akp - s * akq;
                    a[k][q] = s * akp + c * akq;
                }
                for k in 0..n {
                    let (apk, aqk) = (a[p][k], a[q][k]);
                    a[p][k] = c * apk - s * aqk;
                    a[q][k] = s * apk + c * aqk;
                }
            }
        }
    }
    (0..n).map(|i| a[i][i]).collect()
}

#[test]
fn hessian_vector_products_match_the_hessian_written_out() {
    let (net, d) = (logistic(), data());
    let (_, _, h) = by_hand(&net, &d);
    let hess = LossHessian::new(&net, d.features(), d.labels().unwrap(), &Loss::default()).unwrap();
    let mut rng = seeded_rng(8);
    let v: Vec<Tensor<f64>> = hess.shapes().iter().map(|s| Tensor::randn(s, &mut rng)).collect();
    let flat_v: Vec<f64> = v.iter().flat_map(|t| t.to_vec()).collect();
    let hv: Vec<f64> = hess.hvp(&v).unwrap().iter().flat_map(|t| t.to_vec()).collect();
    let expected: Vec<f64> = h.iter().map(|row| row.iter().zip(&flat_v).map(|(a, b)| a * b).sum()).collect();
    // both sides sum N * 15 products in f64 in different orders: 1e-12 relative is ample
    assert_close_slices(&hv, &expected, Tolerance::new(1e-12, 1e-14));
}

#[test]
fn power_iteration_finds_the_top_eigenvalue() {
    let (net, d) = (logistic(), data());
    let (_, _, h) = by_hand(&net, &d);
    let eig = jacobi_eigenvalues(h);
    let top = eig.iter().fold(0.0f64, |a, &b| if b.abs() > a.abs() { b } else { a });
    assert!(eig.iter().all(|&e| e > -1e-12), "the softmax-regression Hessian is PSD: {eig:?}");
    let hess = LossHessian::new(&net, d.features(), d.labels().unwrap(), &Loss::default()).unwrap();
    let p = top_hessian_eigenvalue(&hess, 2000, 1e-13, &mut seeded_rng(1)).unwrap();
    assert!(p.converged);
    // stopping at a relative change of 1e-13 leaves an error below 1e-13 r / (1 - r) for the
    // convergence ratio r = (lambda_2 / lambda_1)^2; 1e-8 holds for r up to 0.9999
    assert!((p.eigenvalue - top).abs() <= 1e-8 * top, "power iteration {} vs Jacobi {top}", p.eigenvalue);
}

#[test]
#[allow(clippy::needless_range_loop)]
fn the_trainer_runs_monitors_on_schedule_with_values_that_match_direct_computations() {
    let d = data();
    let net = logistic();
    let (logits, probs, h) = by_hand(&net, &d);
    let eig = jacobi_eigenvalues(h);
    let top = eig.iter().fold(0.0f64, |a, &b| a.max(b));
    // the gradient of the mean cross-entropy: dL/dW_ci = (1/N) sum_n (p_nc - [y_n = c]) x_ni
    let x = d.features().to_vec();
    let labels = d.labels().unwrap();
    let mut gw = [0.0; C * D];
    for n in 0..N {
        for c in 0..C {
            let r = probs[n][c] - f64::from(u8::from(labels[n] == c));
            for i in 0..D {
                gw[c * D + i] += r * x[n * D + i] / N as f64;
            }
        }
    }
    let gw_norm = gw.iter().map(|g| g * g).sum::<f64>().sqrt();
    let flat: Vec<f64> = logits.concat();
    let mean = flat.iter().sum::<f64>() / flat.len() as f64;
    let std = (flat.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / flat.len() as f64).sqrt();

    // one batch per epoch holding all 20 examples: the monitors at step 0 see the initial network
    let cfg =
        TrainConfig::from_json(r#"{"epochs": 4, "batch_size": 20, "optimizer": {"kind": "sgd", "lr": 0.1}}"#).unwrap();
    let mut t = Trainer::new(net, cfg)
        .unwrap()
        .with_monitor(SharpnessMonitor { every: 2, max_iterations: 2000, tol: 1e-13, seed: 0, probe: None })
        .with_monitor(GradientStatsMonitor { every: 1 })
        .with_monitor(ActivationStatsMonitor { every: 3 })
        .with_monitor(LossAccuracyMonitor { data: d.clone(), prefix: "probe".into(), every: 4 });
    t.fit(&d, None).unwrap();
    let hist = t.history();
    assert_eq!(
        hist.series("sharpness").iter().map(|p| p.0).collect::<Vec<_>>(),
        vec![1, 3],
        "steps 0 and 2 (recorded after them)"
    );
    assert_eq!(hist.series("activation_std/0").iter().map(|p| p.0).collect::<Vec<_>>(), vec![1, 4]);
    assert_eq!(hist.series("grad_norm/0.weight").len(), 4);
    // the batch is a permutation of the data: sums in another order, so f64 rounding only
    let tol = Tolerance::new(1e-10, 1e-13);
    assert_close_slices(&[hist.series("sharpness")[0].1], &[top], Tolerance::new(1e-8, 0.0));
    assert_close_slices(&[hist.series("grad_norm/0.weight")[0].1], &[gw_norm], tol);
    assert_close_slices(
        &[hist.series("activation_mean/0")[0].1, hist.series("activation_std/0")[0].1],
        &[mean, std],
        tol,
    );
    assert_eq!(hist.series("activation_zero_fraction/0")[0].1, 0.0);
    // the probe loss at step 0 is the loss on the whole (unshuffled) data: the same as the step's
    assert_close_slices(&[hist.series("probe_loss")[0].1], &[hist.series("train_loss")[0].1], tol);
}
