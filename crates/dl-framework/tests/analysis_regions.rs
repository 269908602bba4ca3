//! Linear regions against independent counts: Telgarsky's sawtooth (2^k regions by
//! construction), dense sampling of activation patterns, and the hyperplane-arrangement
//! bound for one layer on the plane.

use std::collections::BTreeMap;

use dl_framework::analysis::{AnalysisError, line_regions, plane_regions, sampled_line_regions};
use dl_framework::{Network, NetworkConfig};
use dl_layers::Module;
use dl_tensor::{Tensor, seeded_rng};

/// The tent map g(x) = 2 relu(x) - 4 relu(x - 1/2) on [0, 1], composed k times: k hidden
/// layers of two ReLU units each compute (g^j(x), g^j(x) - 1/2), the output 2 u - 4 v.
/// g^k has 2^k linear pieces on [0, 1] (Telgarsky 2016), each with its own pattern.
fn sawtooth(k: usize) -> Network<f64> {
    let mut layers = vec![r#"{"type": "dense", "units": 2, "activation": "relu"}"#.to_string(); k];
    layers.push(r#"{"type": "dense", "units": 1}"#.into());
    let json = format!(r#"{{"input_shape": [1], "layers": [{}]}}"#, layers.join(","));
    let net = NetworkConfig::from_json(&json).unwrap().build::<f64>().unwrap();
    let mut state = BTreeMap::new();
    let t = |v: Vec<f64>, s: &[usize]| Tensor::from_vec(v, s).unwrap();
    // layer 0: (x, x - 1/2)
    state.insert("0.weight".to_string(), t(vec![1.0, 1.0], &[2, 1]));
    state.insert("0.bias".to_string(), t(vec![0.0, -0.5], &[2]));
    for j in 1..k {
        // (g, g - 1/2) from g = 2 u - 4 v
        state.insert(format!("{}.weight", 2 * j), t(vec![2.0, -4.0, 2.0, -4.0], &[2, 2]));
        state.insert(format!("{}.bias", 2 * j), t(vec![0.0, -0.5], &[2]));
    }
    state.insert(format!("{}.weight", 2 * k), t(vec![2.0, -4.0], &[1, 2]));
    state.insert(format!("{}.bias", 2 * k), t(vec![0.0], &[1]));
    net.load_state_dict(&state).unwrap();
    net
}

#[test]
fn the_sawtooth_of_depth_k_has_two_to_the_k_regions() {
    for k in 1..=6 {
        let net = sawtooth(k);
        let r = line_regions(&net, &[0.0], &[1.0], 10_000).unwrap();
        assert_eq!(r.regions, 1 << k, "depth {k}");
        // the boundaries are the dyadic points j / 2^k
        for (j, t) in r.boundaries.iter().enumerate() {
            assert!((t - (j + 1) as f64 / (1 << k) as f64).abs() < 1e-12, "depth {k}: boundary {j} at {t}");
        }
        // sanity of the construction itself: the output is the k-fold tent map
        let y = net
            .forward(&dl_autodiff::Var::constant(Tensor::from_vec(vec![0.3], &[1, 1]).unwrap()))
            .unwrap()
            .value()
            .to_vec()[0];
        let mut g = 0.3;
        for _ in 0..k {
            g = if g < 0.5 { 2.0 * g } else { 2.0 - 2.0 * g };
        }
        assert!((y - g).abs() < 1e-12, "depth {k}: {y} vs {g}");
    }
}

fn random_net(seed: u64, act: &str) -> Network<f64> {
    NetworkConfig::from_json(&format!(
        r#"{{"input_shape": [3], "seed": {seed}, "layers": [
        {{"type": "dense", "units": 8, "activation": {act}}},
        {{"type": "dense", "units": 8, "activation": {act}}},
        {{"type": "dense", "units": 2}}]}}"#
    ))
    .unwrap()
    .build::<f64>()
    .unwrap()
}

#[test]
fn the_exact_count_matches_dense_sampling_of_activation_patterns() {
    let mut rng = seeded_rng(11);
    let mut compared = 0;
    for (seed, act) in [(1, r#""relu""#), (2, r#"{"leaky_relu": 0.1}"#), (3, r#""relu""#)] {
        let net = random_net(seed, act);
        for _ in 0..3 {
            let a = Tensor::<f64>::randn(&[3], &mut rng).to_vec().iter().map(|v| 2.0 * v).collect::<Vec<_>>();
            let b = Tensor::<f64>::randn(&[3], &mut rng).to_vec().iter().map(|v| 2.0 * v).collect::<Vec<_>>();
            let exact = line_regions(&net, &a, &b, 10_000).unwrap();
            // Sampling sees a region only if a sample falls in it: a lower bound that
            // reaches the exact count once the spacing (1/200000 of the segment) is below
            // the narrowest region. The narrowest gap between exact boundaries is checked
            // to be wider than two spacings, so the equality is what must hold.
            let samples = 200_001;
            let sampled = sampled_line_regions(&net, &a, &b, samples).unwrap();
            let narrowest = exact.boundaries.windows(2).map(|w| w[1] - w[0]).fold(1.0, f64::min);
            assert!(sampled <= exact.regions);
            if narrowest > 2.0 / (samples - 1) as f64 {
                assert_eq!(sampled, exact.regions, "{act}: boundaries {:?}", exact.boundaries);
                compared += 1;
            }
            assert!(exact.regions > 1, "a segment of length ~{} should cross some boundary", exact.length);
        }
    }
    assert!(compared >= 6, "only {compared} of 9 segments had every region wider than the spacing");
}

#[test]
fn a_smooth_activation_is_named_in_the_error() {
    let net = random_net(0, r#""tanh""#);
    let err = line_regions(&net, &[0.0; 3], &[1.0; 3], 100).unwrap_err();
    assert!(matches!(err, AnalysisError::NotPiecewiseLinear { .. }));
    assert!(err.to_string().contains("layer 1 (Tanh)"), "{err}");
    let err = line_regions(&random_net(0, r#""relu""#), &[0.0; 2], &[1.0; 3], 100).unwrap_err();
    assert!(err.to_string().contains("inputs of 3"), "{err}");
}

#[test]
fn dropout_in_training_mode_is_refused_and_allowed_in_evaluation() {
    let mut net = NetworkConfig::from_json(
        r#"{"input_shape": [2], "layers": [{"type": "dense", "units": 4, "activation": "relu"}, {"type": "dropout", "p": 0.5}, {"type": "dense", "units": 1}]}"#,
    )
    .unwrap()
    .build::<f64>()
    .unwrap();
    let err = line_regions(&net, &[0.0; 2], &[1.0; 2], 100).unwrap_err();
    assert!(err.to_string().contains("layer 2 (Dropout(p = 0.5))") && err.to_string().contains("eval"), "{err}");
    net.eval();
    assert!(line_regions(&net, &[-3.0; 2], &[3.0, -1.0], 100).unwrap().regions <= 5);
}

#[test]
fn plane_regions_respect_the_arrangement_bound_and_the_exact_rows() {
    // one hidden layer of n ReLU units on a 2-D input: the regions are the cells of an
    // arrangement of n lines, at most 1 + n + n (n - 1) / 2
    let n = 6;
    let net = NetworkConfig::from_json(&format!(
        r#"{{"input_shape": [2], "seed": 5, "layers": [{{"type": "dense", "units": {n}, "activation": "relu"}}, {{"type": "dense", "units": 1}}]}}"#
    ))
    .unwrap()
    .build::<f64>()
    .unwrap();
    let (x0, x1, x2) = ([-2.0, -2.0], [2.0, -2.0], [-2.0, 2.0]);
    let res = 81;
    let p = plane_regions(&net, &x0, &x1, &x2, res, 0.0).unwrap();
    assert!(p.distinct_patterns <= p.connected_regions);
    assert!(p.connected_regions <= 1 + n + n * (n - 1) / 2, "{p:?}");
    assert!(p.connected_regions >= 2);
    // the exact count (dl-theory's cell enumeration) bounds the grid's distinct patterns
    // from above and obeys the same arrangement bound
    assert!(p.distinct_patterns <= p.regions && p.regions <= 1 + n + n * (n - 1) / 2, "{p:?}");
    // each grid row sees at most the exact count along its line
    for row in (0..res).step_by(10) {
        let v = row as f64 / (res - 1) as f64;
        let a: Vec<f64> = (0..2).map(|j| x0[j] + v * (x2[j] - x0[j])).collect();
        let b: Vec<f64> = (0..2).map(|j| a[j] + (x1[j] - x0[j])).collect();
        let exact = line_regions(&net, &a, &b, 1000).unwrap().regions;
        let sampled = sampled_line_regions(&net, &a, &b, res).unwrap();
        assert!(sampled <= exact, "row {row}: {sampled} > {exact}");
    }
}

#[test]
fn f32_networks_count_the_same_regions_as_their_f64_copy() {
    let cfg = NetworkConfig::from_json(
        r#"{"input_shape": [4], "seed": 9, "layers": [{"type": "dense", "units": 16, "activation": "relu"}, {"type": "dense", "units": 16, "activation": "relu"}, {"type": "dense", "units": 3}]}"#,
    )
    .unwrap();
    let (n32, n64) = (cfg.build::<f32>().unwrap(), cfg.build::<f64>().unwrap());
    let state: BTreeMap<String, Tensor<f64>> = n32.state_dict().into_iter().map(|(k, v)| (k, v.cast())).collect();
    n64.load_state_dict(&state).unwrap();
    let (a, b) = ([-1.5, 0.5, 2.0, -1.0], [1.0, -2.0, -0.5, 1.5]);
    let (r32, r64) = (line_regions(&n32, &a, &b, 1000).unwrap(), line_regions(&n64, &a, &b, 1000).unwrap());
    // f32 rounding moves boundaries by ~1e-7; with boundaries further apart than that the
    // counts agree
    assert_eq!(r32.regions, r64.regions);
    for (x, y) in r32.boundaries.iter().zip(&r64.boundaries) {
        assert!((x - y).abs() < 1e-4, "{x} vs {y}");
    }
}
