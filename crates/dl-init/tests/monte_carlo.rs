//! The mean-field maps against random finite networks (width 1000).
//!
//! Each test draws R = 8 independent networks h^{l+1} = W^l phi(h^l) + b^l with
//! W_ij ~ N(0, sigma_w2 / N), b_i ~ N(0, sigma_b2), N = 1000, and propagates three inputs:
//! x_a and x_b with |x|^2 / N = 1 and correlation c0, and x_a + eps u (a perturbation of
//! relative size 1e-6). Per layer it measures the length q = |h|^2 / N, the correlation
//! c = <h_a, h_b> / (|h_a| |h_b|), sigma_w2 mean_i phi'(h_a,i)^2 (the empirical chi_1 at
//! that layer) and the growth |dh^{l+1}|^2 / |dh^l|^2 of the perturbation, whose
//! expectation is also chi_1 (each unit of dh^{l+1} sums phi'(h_j) dh_j against fresh
//! weights).
//!
//! Tolerance: the replicate mean must lie within 6 standard errors (the sample standard
//! deviation over the 8 networks / sqrt(8)) of the mean-field value, plus 3 / N times its
//! size for the O(1/N) finite-width corrections to the mean (Yaida 2020) which the
//! standard error does not cover. With 7 degrees of freedom, |t| > 6 has probability
//! 5e-4 per comparison; the seeds are fixed, so the outcome is deterministic.

use dl_init::{Activation, MeanField};
use dl_tensor::{Tensor, TensorRng, seeded_rng};

const WIDTH: usize = 1000;
const REPLICATES: usize = 8;
const EPS: f64 = 1e-6;

/// Per-layer measurements of one network: (q_a, q_b, c, chi_1 from phi', perturbation growth).
struct Layer {
    q_a: f64,
    q_b: f64,
    c: f64,
    chi_1_derivative: f64,
    growth: f64,
}

fn column_dot(h: &[f64], i: usize, j: usize) -> f64 {
    (0..WIDTH).map(|r| h[r * 3 + i] * h[r * 3 + j]).sum()
}

/// Inputs as an (N, 3) tensor: x_a, x_b with correlation c0, and x_a + EPS u.
fn inputs(c0: f64, rng: &mut TensorRng) -> Tensor<f64> {
    let n = WIDTH as f64;
    let a = Tensor::<f64>::randn(&[WIDTH], rng).to_vec();
    let y = Tensor::<f64>::randn(&[WIDTH], rng).to_vec();
    let u = Tensor::<f64>::randn(&[WIDTH], rng).to_vec();
    let norm = |v: &[f64]| (v.iter().map(|x| x * x).sum::<f64>() / n).sqrt();
    let a: Vec<f64> = a.iter().map(|x| x / norm(&a)).collect();
    // Gram-Schmidt: y orthogonal to a, unit length; x_b = c0 a + sqrt(1 - c0^2) y.
    let proj = a.iter().zip(&y).map(|(p, q)| p * q).sum::<f64>() / n;
    let y: Vec<f64> = y.iter().zip(&a).map(|(q, p)| q - proj * p).collect();
    let y: Vec<f64> = y.iter().map(|x| x / norm(&y)).collect();
    let mut data = Vec::with_capacity(3 * WIDTH);
    for r in 0..WIDTH {
        data.extend([a[r], c0 * a[r] + (1.0 - c0 * c0).sqrt() * y[r], a[r] + EPS * u[r]]);
    }
    Tensor::from_vec(data, &[WIDTH, 3]).unwrap()
}

/// One random network of `depth` layers on the three inputs.
fn run_network(act: &Activation, sigma_w2: f64, sigma_b2: f64, c0: f64, depth: usize, seed: u64) -> Vec<Layer> {
    let mut rng = seeded_rng(seed);
    let x = inputs(c0, &mut rng);
    let mut layers = Vec::with_capacity(depth);
    let mut post = x;
    let mut previous_delta: Option<f64> = None;
    for _ in 0..depth {
        let w = Tensor::<f64>::randn(&[WIDTH, WIDTH], &mut rng).mul_scalar((sigma_w2 / WIDTH as f64).sqrt());
        let b = Tensor::<f64>::randn(&[WIDTH, 1], &mut rng).mul_scalar(sigma_b2.sqrt());
        let h = w.matmul(&post).unwrap().add(&b).unwrap();
        let hv = h.to_vec();
        let n = WIDTH as f64;
        let (qa, qb, ab) = (column_dot(&hv, 0, 0), column_dot(&hv, 1, 1), column_dot(&hv, 0, 1));
        let delta: f64 = (0..WIDTH).map(|r| (hv[r * 3 + 2] - hv[r * 3]).powi(2)).sum();
        let chi_1_derivative = sigma_w2 * (0..WIDTH).map(|r| act.dphi(hv[r * 3]).powi(2)).sum::<f64>() / n;
        layers.push(Layer {
            q_a: qa / n,
            q_b: qb / n,
            c: ab / (qa * qb).sqrt(),
            chi_1_derivative,
            growth: previous_delta.map_or(f64::NAN, |d| delta / d),
        });
        previous_delta = Some(delta);
        post = h.map(|v| act.phi(v));
    }
    layers
}

/// Mean and standard error over replicates.
fn mean_se(values: &[f64]) -> (f64, f64) {
    let r = values.len() as f64;
    let mean = values.iter().sum::<f64>() / r;
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (r - 1.0);
    (mean, (var / r).sqrt())
}

/// Returns |mean - theory| / SE for the report.
#[track_caller]
fn check(what: &str, layer: usize, values: &[f64], theory: f64) -> f64 {
    let (mean, se) = mean_se(values);
    let allowed = 6.0 * se + 3.0 / WIDTH as f64 * theory.abs();
    assert!(
        (mean - theory).abs() <= allowed,
        "{what} at layer {layer}: measured {mean:.6} +- {se:.2e} (SE), mean field {theory:.6}, allowed {allowed:.2e}"
    );
    (mean - theory).abs() / se
}

/// Runs R networks and compares every layer with the covariance map iterates.
fn compare(act: Activation, sigma_w2: f64, sigma_b2: f64, c0: f64, depth: usize, seed: u64) {
    let mf = MeanField::new(act.clone(), sigma_w2, sigma_b2).unwrap();
    let runs: Vec<Vec<Layer>> =
        (0..REPLICATES).map(|r| run_network(&act, sigma_w2, sigma_b2, c0, depth, seed * 100 + r as u64)).collect();
    // Layer 1 from the inputs (|x|^2 / N = 1): q = sigma_w2 + sigma_b2, q12 = sigma_w2 c0 + sigma_b2.
    let (mut q1, mut q2, mut q12) = (sigma_w2 + sigma_b2, sigma_w2 + sigma_b2, sigma_w2 * c0 + sigma_b2);
    let mut worst_t: f64 = 0.0;
    for l in 0..depth {
        let gather = |f: &dyn Fn(&Layer) -> f64| runs.iter().map(|run| f(&run[l])).collect::<Vec<f64>>();
        worst_t = worst_t.max(check("q_a", l + 1, &gather(&|x| x.q_a), q1));
        worst_t = worst_t.max(check("q_b", l + 1, &gather(&|x| x.q_b), q2));
        worst_t = worst_t.max(check("c", l + 1, &gather(&|x| x.c), q12 / (q1 * q2).sqrt()));
        let chi_1 = mf.chi_1_at(q1).unwrap();
        worst_t = worst_t.max(check("sigma_w2 mean phi'^2", l + 1, &gather(&|x| x.chi_1_derivative), chi_1));
        if l > 0 {
            // growth from layer l to l + 1 is chi_1 at layer l's variance.
            let chi_prev = mf.chi_1_at(runs_theory_q(&mf, sigma_w2 + sigma_b2, l - 1)).unwrap();
            worst_t = worst_t.max(check("perturbation growth", l + 1, &gather(&|x| x.growth), chi_prev));
        }
        (q1, q2, q12) = mf.covariance_map(q1, q2, q12).unwrap();
    }
    println!("{act} sigma_w2 = {sigma_w2}, sigma_b2 = {sigma_b2}: largest |measured - mean field| / SE = {worst_t:.2}");
}

/// The mean-field variance at layer index `l` (0-based) from the first layer's q.
fn runs_theory_q(mf: &MeanField, q_first: f64, l: usize) -> f64 {
    *mf.length_map_iterates(q_first, l).unwrap().last().unwrap()
}

/// Chaotic tanh: correlations fall towards c* < 1, chi_1 > 1.
#[test]
fn tanh_chaotic_networks_follow_the_maps() {
    compare(Activation::Tanh, 4.0, 0.1, 0.9, 12, 1);
}

/// Ordered tanh: correlations rise towards 1, chi_1 < 1.
#[test]
fn tanh_ordered_networks_follow_the_maps() {
    compare(Activation::Tanh, 1.2, 0.3, 0.2, 12, 2);
}

/// ReLU at He initialisation (critical; closed-form arc-cosine kernels).
#[test]
fn relu_he_networks_follow_the_maps() {
    compare(Activation::Relu, 2.0, 0.0, 0.3, 10, 3);
}

/// ELU (kinked, no closed form: the adaptive quadrature split at the kink).
#[test]
fn elu_networks_follow_the_maps() {
    compare(Activation::Elu(1.0), 1.5, 0.1, 0.3, 10, 4);
}
