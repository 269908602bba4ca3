//! The norms of the spectral bound against independent computations: power iteration
//! against the eigendecomposition of W^T W (faer, through dl-ntk) and closed forms; the
//! (2,1) norm against a direct loop over the columns of the transpose; the probed affine
//! map against the layer's parameters.

use dl_framework::NetworkConfig;
use dl_framework::analysis::{
    AffineMap, dense_stack, frobenius_norm, margin_bound, margins, norm_2_1_of_transpose, read_affine,
    spectral_complexity, spectral_norm,
};
use dl_layers::{Linear, Module};
use dl_ntk::predict::GradientFlow;
use dl_tensor::compare::{Tolerance, assert_close};

/// Scalar comparison with the shared helper.
fn close(actual: f64, expected: f64, tol: Tolerance) {
    assert!(tol.accepts(actual, expected), "{actual} vs {expected} ({tol:?})");
}
use dl_tensor::{Tensor, seeded_rng};

fn random_map(rows: usize, cols: usize, seed: u64) -> AffineMap {
    let mut rng = seeded_rng(seed);
    AffineMap { rows, cols, weight: Tensor::<f64>::randn(&[rows * cols], &mut rng).to_vec(), bias: vec![0.0; rows] }
}

/// sigma_max(W) from faer's symmetric eigendecomposition of W^T W (dl-ntk's solver).
fn sigma_max_by_eigen(w: &AffineMap) -> f64 {
    let wt = Tensor::from_vec(w.weight.clone(), &[w.rows, w.cols]).unwrap();
    let gram = wt.t().unwrap().matmul(&wt).unwrap();
    let flow = GradientFlow::new(&gram, &Tensor::zeros(&[w.cols, 1]), None, 1.0).unwrap();
    flow.eigenvalues().last().unwrap().sqrt()
}

#[test]
fn power_iteration_matches_the_eigendecomposition() {
    for (rows, cols, seed) in [(10, 7, 1), (7, 10, 2), (64, 32, 3), (1, 5, 4)] {
        let w = random_map(rows, cols, seed);
        let p = spectral_norm(&w, 10_000, 1e-14, 0);
        // the power iteration stops when the estimate moves by < 1e-14 relative; with a
        // spectral gap the error in sigma is of that order, the eigensolver's ~1e-15
        close(p.value, sigma_max_by_eigen(&w), Tolerance::new(1e-9, 0.0));
    }
}

#[test]
fn spectral_norm_closed_forms() {
    // diag(3, -5, 2) padded to 3x4: sigma_max = 5
    let mut w = AffineMap { rows: 3, cols: 4, weight: vec![0.0; 12], bias: vec![0.0; 3] };
    w.weight[0] = 3.0;
    w.weight[5] = -5.0;
    w.weight[10] = 2.0;
    close(spectral_norm(&w, 1000, 1e-15, 1).value, 5.0, Tolerance::new(1e-10, 0.0));
    // rank one u v^T: sigma_max = |u| |v|, reached in one step
    let (u, v) = ([1.0, 2.0, -2.0], [3.0, 4.0]);
    let w = AffineMap {
        rows: 3,
        cols: 2,
        weight: u.iter().flat_map(|a| v.iter().map(move |b| a * b)).collect(),
        bias: vec![0.0; 3],
    };
    close(spectral_norm(&w, 10, 1e-15, 1).value, 3.0 * 5.0, Tolerance::new(1e-14, 0.0));
    close(frobenius_norm(&w), 15.0, Tolerance::new(1e-14, 0.0));
}

#[test]
#[allow(clippy::needless_range_loop)] // the direct loop over indices is the point
fn the_2_1_norm_is_the_sum_of_the_column_norms_of_the_transpose() {
    let w = random_map(5, 9, 7);
    // build A = W^T explicitly and loop over its columns
    let mut a = vec![vec![0.0; w.rows]; w.cols];
    for i in 0..w.rows {
        for j in 0..w.cols {
            a[j][i] = w.weight[i * w.cols + j];
        }
    }
    let mut expected = 0.0;
    for col in 0..w.rows {
        let mut s = 0.0;
        for row in a.iter() {
            s += row[col] * row[col];
        }
        expected += f64::sqrt(s);
    }
    close(norm_2_1_of_transpose(&w), expected, Tolerance::new(1e-14, 0.0));
}

#[test]
fn probing_reads_the_effective_weights_in_both_parameterisations() {
    let mut rng = seeded_rng(3);
    let lin = Linear::<f64>::new(6, 4, true, &mut rng);
    let m = read_affine(&lin, 6).unwrap();
    // f(e_j) - f(0) = (w_j + b) - b: one rounding of the sum, relative 1e-16 of |b|
    assert_close(
        &Tensor::from_vec(m.weight.clone(), &[4, 6]).unwrap(),
        &lin.weight.value(),
        Tolerance::new(1e-14, 1e-15),
    );
    assert_close(
        &Tensor::from_vec(m.bias.clone(), &[4]).unwrap(),
        &lin.bias.as_ref().unwrap().value(),
        Tolerance::new(0.0, 0.0),
    );
    let ntk = Linear::<f64>::ntk(6, 4, true, 1.5, 0.5, &mut rng).unwrap();
    let m = read_affine(&ntk, 6).unwrap();
    let scaled = ntk.weight.value().map(|w| w * 1.5 / 6f64.sqrt());
    assert_close(&Tensor::from_vec(m.weight, &[4, 6]).unwrap(), &scaled, Tolerance::new(1e-14, 1e-15));
}

#[test]
fn spectral_complexity_and_the_bound_follow_their_formulas() {
    let net = NetworkConfig::from_json(
        r#"{"input_shape": [5], "seed": 4, "layers": [{"type": "dense", "units": 7, "activation": "relu"}, {"type": "dense", "units": 6, "activation": "sigmoid"}, {"type": "dense", "units": 3}]}"#,
    )
    .unwrap()
    .build::<f64>()
    .unwrap();
    let blocks = dense_stack(&net).unwrap();
    let (layers, product, r_a) = spectral_complexity(&blocks, 5000, 0);
    let s: Vec<f64> = blocks.iter().map(sigma_max_by_eigen_block).collect();
    let rho = [1.0, 0.25, 1.0];
    let b21: Vec<f64> = blocks.iter().map(|b| norm_2_1_of_transpose(&b.affine)).collect();
    let expected_product = s[0] * s[1] * s[2] * rho.iter().product::<f64>();
    let expected = expected_product * (0..3).map(|i| (b21[i] / s[i]).powf(2.0 / 3.0)).sum::<f64>().powf(1.5);
    close(product, expected_product, Tolerance::new(1e-9, 0.0));
    close(r_a, expected, Tolerance::new(1e-9, 0.0));
    assert_eq!(layers.iter().map(|l| l.lipschitz).collect::<Vec<_>>(), rho);
    // margins of hand-written logits, and the bound at gamma = the 0.5 quantile
    let logits = [2.0, 1.0, 0.0, 0.0, 3.0, 1.0, 1.0, 1.5, 0.5, 0.2, 0.1, 0.0];
    let m = margins(&logits, 3, &[0, 1, 2, 0]);
    assert_eq!(m, vec![1.0, 2.0, -1.0, 0.1]);
    let b = margin_bound(layers, product, r_a, &m, 0.5, 10.0, 7, 0.05).unwrap();
    assert_eq!(b.gamma, 1.0); // sorted margins [-1, 0.1, 1, 2], index floor(0.5 * 4) = 2
    assert_eq!(b.margin_loss, 0.75);
    let n = 4.0f64;
    let rhs =
        0.75 + 8.0 / n + 72.0 * 10.0 * (14.0f64).ln() * n.ln() * r_a / n + 3.0 * ((20.0f64).ln() / (2.0 * n)).sqrt();
    close(b.bound, rhs, Tolerance::new(1e-12, 0.0));
    assert!(margin_bound(vec![], 1.0, 1.0, &[-1.0, -0.5], 0.1, 1.0, 2, 0.05).is_none());
}

fn sigma_max_by_eigen_block(b: &dl_framework::analysis::DenseBlock) -> f64 {
    sigma_max_by_eigen(&b.affine)
}

#[test]
fn dense_stack_names_the_layer_that_is_not_dense() {
    let net = NetworkConfig::from_json(
        r#"{"input_shape": [1, 8, 8], "layers": [{"type": "conv2d", "channels": 2, "kernel_size": 3, "activation": "relu"}, {"type": "flatten"}, {"type": "dense", "units": 3}]}"#,
    )
    .unwrap()
    .build::<f64>()
    .unwrap();
    assert!(dense_stack(&net).unwrap_err().contains("not flat"));
    let net = NetworkConfig::from_json(r#"{"input_shape": [4], "layers": [{"type": "dense", "units": 3}, {"type": "layer_norm"}, {"type": "dense", "units": 2}]}"#)
        .unwrap()
        .build::<f64>()
        .unwrap();
    let err = dense_stack(&net).unwrap_err();
    assert!(err.contains("layer 1 (LayerNorm"), "{err}");
    let _ = net.num_parameters();
}
