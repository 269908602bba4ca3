//! The NTK of a network against dl-ntk's naive Jacobian on an f64 copy; its spectrum
//! against the kernel's trace; signal propagation of a wide network against mean field;
//! the whole report on the digits.

use std::collections::BTreeMap;

use dl_framework::analysis::{
    AnalysisOptions, TheoreticalReport, network_ntk, ntk_spectrum, signal_propagation, theoretical_analysis,
};
use dl_framework::data::digits_split;
use dl_framework::{Network, NetworkConfig};
use dl_layers::Module;
use dl_ntk::{OutputKernel, empirical_ntk_naive};
use dl_tensor::compare::{Tolerance, assert_close};
use dl_tensor::{Tensor, seeded_rng};

const MLP: &str = r#"{"input_shape": [5], "seed": 3, "layers": [
    {"type": "dense", "units": 12, "activation": "relu"}, {"type": "dense", "units": 9, "activation": "tanh"}, {"type": "dense", "units": 3}]}"#;

fn copies() -> (Network<f32>, Network<f64>) {
    let cfg = NetworkConfig::from_json(MLP).unwrap();
    let (a, b) = (cfg.build::<f32>().unwrap(), cfg.build::<f64>().unwrap());
    let state: BTreeMap<String, Tensor<f64>> = a.state_dict().into_iter().map(|(k, v)| (k, v.cast())).collect();
    b.load_state_dict(&state).unwrap();
    (a, b)
}

#[test]
fn the_f32_kernel_matches_dl_ntk_on_an_f64_copy() {
    let (n32, n64) = copies();
    let x = Tensor::<f64>::randn(&[6, 5], &mut seeded_rng(1));
    for output in [OutputKernel::Full, OutputKernel::Trace, OutputKernel::DiagonalBlocks] {
        let reference = empirical_ntk_naive(&n64, &x, None, output).unwrap().kernel;
        let ours64 = network_ntk(&n64, &x, output, 1 << 26).unwrap();
        let ours32 = network_ntk(&n32, &x.cast::<f32>(), output, 1 << 26).unwrap();
        // f64: the same arithmetic (dl-ntk's batched path) up to summation order
        assert_close(&ours64, &reference, Tolerance::new(1e-12, 1e-12));
        // f32: Jacobian entries carry relative errors ~1e-7 (a few roundings per layer);
        // a kernel entry sums ~200 products, so 1e-5 of the kernel's scale
        let scale = reference.to_vec().iter().fold(0.0f64, |m, v| m.max(v.abs()));
        assert_close(&ours32, &reference, Tolerance::new(1e-5, 1e-5 * scale));
    }
    let err = network_ntk(&n32, &x.cast::<f32>(), OutputKernel::Full, 100).unwrap_err();
    assert!(err.to_string().contains("budget"), "{err}");
}

#[test]
fn the_spectrum_sums_to_the_trace_and_sets_the_stable_learning_rate() {
    let (_, n64) = copies();
    let x = Tensor::<f64>::randn(&[7, 5], &mut seeded_rng(2));
    let theta = network_ntk(&n64, &x, OutputKernel::Full, 1 << 26).unwrap();
    let s = ntk_spectrum(&theta, 7, 3).unwrap();
    assert_eq!(s.eigenvalues.len(), 21);
    let v = theta.to_vec();
    let trace: f64 = (0..21).map(|i| v[i * 21 + i]).sum();
    // the eigensolver's backward error is ~1e-15 of the largest eigenvalue per entry
    let close = |a: f64, b: f64, tol: Tolerance| assert!(tol.accepts(a, b), "{a} vs {b}");
    close(s.eigenvalues.iter().sum::<f64>(), trace, Tolerance::new(1e-12, 0.0));
    close(s.mean_diagonal, trace / 21.0, Tolerance::new(1e-14, 0.0));
    close(s.max_stable_learning_rate, 2.0 * 7.0 / s.eigenvalues[0], Tolerance::new(1e-15, 0.0));
    assert!(s.eigenvalues.windows(2).all(|w| w[0] >= w[1]));
    // lambda_max >= the largest diagonal entry (Rayleigh quotient at a unit vector)
    assert!(s.eigenvalues[0] >= (0..21).map(|i| v[i * 21 + i]).fold(0.0, f64::max) * (1.0 - 1e-12));
}

fn wide(init: &str, width: usize) -> Network<f64> {
    NetworkConfig::from_json(&format!(
        r#"{{"input_shape": [20], "seed": 1, "init": {init}, "layers": [
        {{"type": "dense", "units": {width}, "activation": "tanh"}},
        {{"type": "dense", "units": {width}, "activation": "tanh"}},
        {{"type": "dense", "units": {width}, "activation": "tanh"}},
        {{"type": "dense", "units": 2}}]}}"#
    ))
    .unwrap()
    .build::<f64>()
    .unwrap()
}

#[test]
fn a_wide_network_follows_mean_field_and_is_critical_on_the_critical_line() {
    let x = Tensor::<f64>::randn(&[40, 20], &mut seeded_rng(5));
    let s =
        signal_propagation(&wide(r#"{"scheme": "critical", "activation": "tanh", "sigma_b2": 0.05}"#, 1024), &x, 0.05)
            .unwrap();
    assert!(s.not_applicable.is_none());
    assert_eq!(s.phase.as_deref(), Some("critical"), "{s:?}");
    // the output layer has 2 units: its q is a mean of 2 squares, too noisy to compare
    for l in &s.layers[..3] {
        // q^l_a is a mean over 1024 units of h^2, each ~ q chi^2_1: relative standard error
        // sqrt(2 / 1024) = 4.4% per input, ~0.7% for the mean over 40 inputs; the
        // read-off variances and the finite-width correlations add about as much; 5%
        // is several standard errors
        assert!(Tolerance::new(0.05, 0.0).accepts(l.q_measured, l.q_predicted), "{l:?}");
        assert!((l.c_measured - l.c_predicted).abs() < 0.05, "{l:?}");
    }
    // PyTorch's default draws W ~ U(-1/sqrt(N), 1/sqrt(N)): sigma_w2 = 1/3, deep in the ordered phase of tanh
    let s = signal_propagation(&wide(r#"{"scheme": "pytorch"}"#, 256), &x, 0.05).unwrap();
    assert_eq!(s.phase.as_deref(), Some("ordered"));
    assert!((s.sigma_w2.unwrap() - 1.0 / 3.0).abs() < 0.01, "{s:?}");
    // not applicable: a convolution
    let conv = NetworkConfig::from_json(r#"{"input_shape": [1, 6], "layers": [{"type": "conv1d", "channels": 2, "kernel_size": 3}, {"type": "flatten"}, {"type": "dense", "units": 2}]}"#)
        .unwrap()
        .build::<f64>()
        .unwrap();
    let s = signal_propagation(&conv, &Tensor::zeros(&[4, 1, 6]), 0.05).unwrap();
    assert!(s.not_applicable.unwrap().contains("not flat"));
}

#[test]
fn the_report_on_the_digits_is_complete_and_serialisable() {
    let split = digits_split::<f32>(0.5, 0).unwrap();
    let train = split.train.subset(&(0..120).collect::<Vec<_>>()).unwrap();
    let test = split.test.subset(&(0..60).collect::<Vec<_>>()).unwrap();
    let mut net = NetworkConfig::from_json(
        r#"{"input_shape": [64], "layers": [{"type": "dense", "units": 32, "activation": "relu"}, {"type": "dropout", "p": 0.2}, {"type": "dense", "units": 10}]}"#,
    )
    .unwrap()
    .build::<f32>()
    .unwrap();
    let opts = AnalysisOptions {
        line_pairs: 3,
        plane_resolution: 16,
        ntk_inputs: 6,
        signal_inputs: 20,
        ..AnalysisOptions::default()
    };
    let err = theoretical_analysis(&net, &train, Some(&test), &opts).unwrap_err();
    assert!(err.to_string().contains("layer 2 (Dropout(p = 0.2)) is in training mode"), "{err}");
    net.eval();
    let before = net.state_dict();
    let r = theoretical_analysis(&net, &train, Some(&test), &opts).unwrap();
    assert_eq!(net.state_dict(), before, "the analysis changes nothing");
    assert_eq!(r.expressivity.line_regions.len(), 3);
    assert_eq!(r.expressivity.neurons, 32);
    assert_eq!(r.expressivity.planes.len(), 1);
    assert_eq!(r.ntk.as_ref().unwrap().eigenvalues.len(), 60);
    assert!(r.bound.as_ref().unwrap().bound > 0.0);
    let g = &r.generalisation;
    assert!((g.error_gap.unwrap() - (g.train_accuracy.unwrap() - g.test_accuracy.unwrap())).abs() < 1e-15);
    let back: TheoreticalReport = serde_json::from_str(&r.to_json()).unwrap();
    assert_eq!(back.expressivity, r.expressivity);
    let text = r.summary();
    for part in ["expressivity", "signal propagation", "empirical NTK", "spectral bound", "observed"] {
        assert!(text.contains(part), "{text}");
    }
    // a smooth network: regions not applicable, the rest still computed
    let mut smooth = NetworkConfig::from_json(r#"{"input_shape": [64], "layers": [{"type": "dense", "units": 8, "activation": "gelu"}, {"type": "dense", "units": 10}]}"#)
        .unwrap()
        .build::<f32>()
        .unwrap();
    smooth.eval();
    let r = theoretical_analysis(&smooth, &train, None, &opts).unwrap();
    assert!(r.expressivity.not_applicable.unwrap().contains("layer 1 (Gelu)"));
    assert!(r.ntk.is_some() && r.bound.is_some() && r.generalisation.test_accuracy.is_none());
}
